"""Loyalty: per-customer loyalty indicators, stages, the loyalty x value matrix and more.

From an order history (and, when given, a survey, referrals or a leads
table): the loyalty measures of the source material that orders can show,
every one a documented formula (``docs/loyalty.md``):

* :func:`loyalty_indicators`: repeat purchases, rhythm (gaps between purchase
  days, ``overdue_ratio``), spend trend, breadth (products, categories),
  price sensitivity (discounts) and channels, one row per customer. A
  measure whose input column is absent is left out with the reason.
* :func:`second_purchase`: onboarding, the share of new customers who buy
  again within 30/60/90 days per acquisition cohort (censoring-aware) and
  the Kaplan-Meier time-to-second-purchase curve.
"""

from __future__ import annotations

from rfm_loyalty._loyalty.indicators import MEASURE_COLUMNS, LoyaltyIndicators, loyalty_indicators
from rfm_loyalty._loyalty.matrix import (
    CELL_ACTIONS,
    CELL_NAMES_ZH,
    CELLS,
    LoyaltyValueMatrix,
    loyalty_index,
    loyalty_value_matrix,
)
from rfm_loyalty._loyalty.onboarding import SecondPurchase, second_purchase
from rfm_loyalty._loyalty.scenario import RetentionScenario, retention_scenario
from rfm_loyalty._loyalty.stages import (
    STAGE_ACTIONS,
    STAGE_NAMES_ZH,
    STAGES,
    LoyaltyStages,
    StageRules,
    loyalty_stages,
    stage_transitions,
)
from rfm_loyalty._loyalty.survey import (
    HEALTH_LEVELS,
    HEALTH_NAMES_ZH,
    HealthRules,
    customer_health,
    nps,
)
from rfm_loyalty._loyalty.tables import LOYALTY_COLUMNS, LoyaltyTables, loyalty_tables
from rfm_loyalty._loyalty.tiers import TIER_NAMES_ZH, MemberTiers, member_tiers, tier_transitions

__all__ = [
    "CELLS",
    "CELL_ACTIONS",
    "CELL_NAMES_ZH",
    "HEALTH_LEVELS",
    "HEALTH_NAMES_ZH",
    "LOYALTY_COLUMNS",
    "MEASURE_COLUMNS",
    "STAGES",
    "STAGE_ACTIONS",
    "STAGE_NAMES_ZH",
    "TIER_NAMES_ZH",
    "HealthRules",
    "LoyaltyIndicators",
    "LoyaltyStages",
    "LoyaltyTables",
    "LoyaltyValueMatrix",
    "MemberTiers",
    "RetentionScenario",
    "SecondPurchase",
    "StageRules",
    "customer_health",
    "loyalty_index",
    "loyalty_indicators",
    "loyalty_stages",
    "loyalty_tables",
    "loyalty_value_matrix",
    "member_tiers",
    "nps",
    "retention_scenario",
    "second_purchase",
    "stage_transitions",
    "tier_transitions",
]
