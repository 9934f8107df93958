"""Synthetic, seeded data: order lines (``make_orders``), the bundled sample, model customers."""

from rfm_loyalty.datasets._generate import SAMPLE_PARAMS, load_sample_orders, make_orders
from rfm_loyalty.datasets._products import DISCOUNT_DEPTHS, add_products
from rfm_loyalty.datasets.simulate import simulate_btyd

__all__ = [
    "DISCOUNT_DEPTHS",
    "SAMPLE_PARAMS",
    "add_products",
    "load_sample_orders",
    "make_orders",
    "simulate_btyd",
]
