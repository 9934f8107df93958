"""Synthetic, seeded data: order lines, the bundled sample, model customers, campaigns.

``make_orders`` generates order lines, ``load_sample_orders`` is the bundled
sample, ``simulate_btyd`` draws customers from the models, and
``make_campaign_orders`` the orders after a campaign with a known effect.
"""

from rfm_loyalty.datasets._campaign import SimulatedCampaign, make_campaign_orders
from rfm_loyalty.datasets._generate import SAMPLE_PARAMS, load_sample_orders, make_orders
from rfm_loyalty.datasets._products import DISCOUNT_DEPTHS, add_products
from rfm_loyalty.datasets.simulate import (
    simulate_bgbb,
    simulate_btyd,
    simulate_paretonbd,
    simulate_sbg,
)

__all__ = [
    "DISCOUNT_DEPTHS",
    "SAMPLE_PARAMS",
    "SimulatedCampaign",
    "add_products",
    "load_sample_orders",
    "make_campaign_orders",
    "make_orders",
    "simulate_bgbb",
    "simulate_btyd",
    "simulate_paretonbd",
    "simulate_sbg",
]
