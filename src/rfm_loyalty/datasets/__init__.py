"""Synthetic, seeded data: order lines (``make_orders``), the bundled sample, model customers."""

from rfm_loyalty.datasets._generate import SAMPLE_PARAMS, load_sample_orders, make_orders
from rfm_loyalty.datasets.simulate import (
    simulate_bgbb,
    simulate_btyd,
    simulate_paretonbd,
    simulate_sbg,
)

__all__ = [
    "SAMPLE_PARAMS",
    "load_sample_orders",
    "make_orders",
    "simulate_bgbb",
    "simulate_btyd",
    "simulate_paretonbd",
    "simulate_sbg",
]
