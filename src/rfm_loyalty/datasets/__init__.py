"""Synthetic, seeded order data: ``make_orders`` and the bundled sample."""

from rfm_loyalty.datasets._generate import SAMPLE_PARAMS, load_sample_orders, make_orders

__all__ = ["SAMPLE_PARAMS", "load_sample_orders", "make_orders"]
