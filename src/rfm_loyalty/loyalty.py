"""Loyalty: per-customer loyalty indicators, stages, the loyalty x value matrix and more.

From an order history (and, when given, a survey, referrals or a leads
table): the loyalty measures of the source material that orders can show,
every one a documented formula (``docs/loyalty.md``):

* :func:`loyalty_indicators`: repeat purchases, rhythm (gaps between purchase
  days, ``overdue_ratio``), spend trend, breadth (products, categories),
  price sensitivity (discounts) and channels, one row per customer. A
  measure whose input column is absent is left out with the reason.
"""

from __future__ import annotations

from rfm_loyalty._loyalty.indicators import MEASURE_COLUMNS, LoyaltyIndicators, loyalty_indicators

__all__ = [
    "MEASURE_COLUMNS",
    "LoyaltyIndicators",
    "loyalty_indicators",
]
