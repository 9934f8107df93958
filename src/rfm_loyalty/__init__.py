"""rfm_loyalty: order histories to customer intelligence.

The flow is one direction: raw order lines -> ``prepare_orders`` (validate,
normalise, account for every row) -> ``rfm_table`` (one row per customer) ->
scores, segments, lifecycle cohorts, profitability, churn, models ->
``analyze`` -> export, plots, report.
"""

# export and report provide the views of Analysis (text, notebook, files, report)
from rfm_loyalty import export as export
from rfm_loyalty import report as report
from rfm_loyalty._version import __version__
from rfm_loyalty.analysis import Analysis, analyze
from rfm_loyalty.backtest import BacktestResult, backtest
from rfm_loyalty.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
    compare_models,
    customer_lifetime_value,
)
from rfm_loyalty.campaigns import Audience, CampaignLift, campaign_lift, select_audience
from rfm_loyalty.churn import churn_summary, churn_table, cohort_retention, customer_flow
from rfm_loyalty.concentration import ParetoResult, concentration_by, pareto
from rfm_loyalty.engines import EngineSource, from_duckdb, from_spark
from rfm_loyalty.exceptions import (
    BinningWarning,
    CampaignWarning,
    DataQualityError,
    DataQualityWarning,
    ModelFitError,
    ModelWarning,
    RFMError,
    SchemaError,
)
from rfm_loyalty.lifecycle import (
    ACTIONS,
    LIFECYCLE_LABELS,
    LifecycleRules,
    lifecycle_from_aggregates,
    lifecycle_labels,
)
from rfm_loyalty.loyalty import (
    LoyaltyIndicators,
    loyalty_indicators,
    loyalty_stages,
    loyalty_tables,
    loyalty_value_matrix,
    member_tiers,
    retention_scenario,
    second_purchase,
)
from rfm_loyalty.migration import MigrationResult, segment_migration
from rfm_loyalty.orders import (
    OrderColumns,
    Orders,
    QualityReport,
    prepare_orders,
    read_orders,
)
from rfm_loyalty.profitability import (
    TIER_ACTIONS,
    ProfitabilityResult,
    customer_profit,
    profit_tiers,
    profitability,
)
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import (
    SEGMENT_PRESETS,
    Segment,
    assign_segments,
    lint_segments,
    segment_summary,
)
from rfm_loyalty.stability import stability_size_grid
from rfm_loyalty.summary import btyd_summary, customer_aggregates, rfm_table

__all__ = [
    "ACTIONS",
    "LIFECYCLE_LABELS",
    "SEGMENT_PRESETS",
    "TIER_ACTIONS",
    "Analysis",
    "Audience",
    "BacktestResult",
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "BinningWarning",
    "CampaignLift",
    "CampaignWarning",
    "DataQualityError",
    "DataQualityWarning",
    "EngineSource",
    "GammaGammaModel",
    "LifecycleRules",
    "LoyaltyIndicators",
    "MigrationResult",
    "ModelFitError",
    "ModelWarning",
    "ModifiedBetaGeoModel",
    "OrderColumns",
    "Orders",
    "ParetoNBDModel",
    "ParetoResult",
    "ProfitabilityResult",
    "QualityReport",
    "RFMError",
    "RFMScorer",
    "SchemaError",
    "Segment",
    "ShiftedBetaGeometricModel",
    "__version__",
    "analyze",
    "assign_segments",
    "backtest",
    "btyd_summary",
    "campaign_lift",
    "churn_summary",
    "churn_table",
    "cohort_retention",
    "compare_models",
    "concentration_by",
    "customer_aggregates",
    "customer_flow",
    "customer_lifetime_value",
    "customer_profit",
    "from_duckdb",
    "from_spark",
    "lifecycle_from_aggregates",
    "lifecycle_labels",
    "lint_segments",
    "loyalty_indicators",
    "loyalty_stages",
    "loyalty_tables",
    "loyalty_value_matrix",
    "member_tiers",
    "pareto",
    "prepare_orders",
    "profit_tiers",
    "profitability",
    "read_orders",
    "retention_scenario",
    "rfm_table",
    "second_purchase",
    "segment_migration",
    "segment_summary",
    "select_audience",
    "stability_size_grid",
]
