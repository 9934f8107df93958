"""Every loyalty view the inputs allow, in one call: per-customer columns and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from rfm_loyalty._loyalty.base import prepared
from rfm_loyalty._loyalty.indicators import loyalty_indicators
from rfm_loyalty._loyalty.matrix import value_matrix
from rfm_loyalty._loyalty.onboarding import second_purchase
from rfm_loyalty._loyalty.scenario import SCENARIO_CONSTRAINTS, project_retention
from rfm_loyalty._loyalty.stages import StageRules, stages_from_indicators
from rfm_loyalty._loyalty.survey import HealthRules, customer_health, nps
from rfm_loyalty._loyalty.tiers import member_tiers
from rfm_loyalty._validation import check_params, require_columns
from rfm_loyalty.orders import Orders

__all__ = ["LOYALTY_COLUMNS", "LoyaltyTables", "loyalty_tables"]

#: Every per-customer column ``loyalty_tables`` can add: name -> (dtype, meaning).
#: Columns whose input is absent are left out (``LoyaltyTables.missing``).
LOYALTY_COLUMNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "repeat_purchases": ("int64", "purchases - 1"),
        "repeat_purchase_days": ("int64", "purchase days - 1"),
        "active_months": ("int64", "distinct calendar months with a purchase"),
        "tenure_months": ("int64", "calendar months from the first purchase's to as_of's"),
        "active_month_share": ("float64", "active_months / tenure_months"),
        "mean_gap_days": ("float64", "mean gap between purchase days; NaN with one day"),
        "median_gap_days": ("float64", "median gap between purchase days; NaN with one day"),
        "gap_cv": ("float64", "std / mean of the gaps (population std); NaN with < 2 gaps"),
        "expected_next_purchase": ("datetime64[ns]", "last purchase + ceil(median gap); NaT"),
        "overdue_ratio": ("float64", "days since the last purchase / median gap"),
        "spend_recent": ("float64", "net spend in the last window_days"),
        "spend_prior": ("float64", "net spend in the window_days before that"),
        "spend_change": ("float64", "spend_recent - spend_prior"),
        "orders_recent": ("int64", "purchases in the last window"),
        "orders_prior": ("int64", "purchases in the window before"),
        "aov_recent": ("float64", "mean purchase amount in the last window; NaN without one"),
        "aov_prior": ("float64", "mean purchase amount in the window before"),
        "aov_change": ("float64", "aov_recent - aov_prior"),
        "monthly_spend_slope": ("float64", "least-squares slope of spend per 30-day block"),
        "distinct_products": ("int64", "products bought (needs product)"),
        "repurchased_products": ("int64", "products bought on 2+ purchases (needs product)"),
        "distinct_categories": ("int64", "categories bought (needs category)"),
        "categories_added": ("float64", "categories first bought in the last window"),
        "discount_spend_share": ("float64", "share of spend bought at a discount (needs price)"),
        "discount_order_share": ("float64", "share of purchases with a discount (needs price)"),
        "mean_discount_depth": ("float64", "1 - paid / list over the discounted lines"),
        "deal_dependent": ("bool", "almost every purchase discounted (needs price)"),
        "channels_used": ("int64", "distinct channels (needs channel)"),
        "main_channel": ("category", "channel with the most spend (needs channel)"),
        "loyalty_stage": ("category", "first_time / repeat / loyal / advocate"),
        "loyalty_stage_zh": ("text", "the stage's Chinese name"),
        "loyalty_stage_action": ("text", "the stage's action"),
        "loyalty_stage_action_zh": ("text", "the stage's action in Chinese"),
        "loyalty_index": ("float64", "behavioural loyalty index, 0-1"),
        "loyalty_cell": ("category", "true_friends / butterflies / barnacles / strangers"),
        "loyalty_cell_zh": ("text", "the cell's Chinese name"),
        "member_tier": ("category", "member tier (needs thresholds)"),
        "member_tier_zh": ("text", "the tier's Chinese name (needs thresholds)"),
        "member_tier_basis": ("float64", "spend, purchases or points of the tier window"),
        "to_next_tier": ("float64", "basis still needed for the next tier; NaN at the top"),
        "spend_to_next_tier": ("float64", "currency still needed for the next tier"),
        "nps_score": ("float64", "latest survey score 0-10 (needs survey)"),
        "nps_group": ("category", "promoter / passive / detractor (needs survey)"),
        "rhythm_ratio": ("float64", "overdue_ratio, or recency / the shop's median gap"),
        "spend_falling": ("bool", "spend_recent < (1 - spend_drop) x spend_prior"),
        "health": ("category", "green / yellow / red"),
        "health_zh": ("text", "the health level in Chinese"),
        "health_reason": ("text", "the rule that decided the health level"),
    }
)

#: Indicator columns the customer table already has under its own name.
_ALREADY = ("purchases", "purchase_days", "recency_days")


@dataclass(frozen=True)
class LoyaltyTables:
    """The loyalty views for ``analyze``: per-customer columns, tables, what is left out.

    Attributes
    ----------
    columns : pandas.DataFrame
        Indexed like the ``customers`` given; the columns of
        :data:`LOYALTY_COLUMNS` that the inputs allow, in that order, less
        those ``customers`` has already (``notes["columns"]`` names them).
    tables : Mapping[str, pandas.DataFrame]
        ``loyalty_stages`` (per stage), ``loyalty_value_matrix`` (per cell),
        ``second_purchase`` (per cohort), ``second_purchase_curve``
        (Kaplan-Meier), ``health`` (per level), ``retention_scenario``
        (per period), and with their inputs ``member_tiers`` (per tier) and
        ``nps`` (overall, per segment and lifecycle).
    missing : Mapping[str, str]
        Column or table -> why it is left out.
    notes : Mapping[str, tuple[str, ...]]
        Table -> caveats to show beside it (censoring, assumptions).
    params : Mapping[str, Any]
    """

    columns: pd.DataFrame
    tables: Mapping[str, pd.DataFrame]
    missing: Mapping[str, str]
    notes: Mapping[str, tuple[str, ...]]
    params: Mapping[str, Any]


def loyalty_tables(
    orders: Orders | pd.DataFrame,
    customers: pd.DataFrame,
    *,
    window_days: int = 90,
    within_days: Sequence[int] = (30, 60, 90),
    cohort_period: str = "M",
    stage_rules: StageRules | None = None,
    loyalty_split: float = 0.5,
    value_split: float = 0.5,
    thresholds: Mapping[str, float] | None = None,
    tier_basis: str = "spend_365d",
    survey: pd.DataFrame | None = None,
    referrals: Any = None,
    leads: pd.DataFrame | None = None,
    health_rules: HealthRules | None = None,
    uplift: float = 0.05,
    horizon_periods: int = 12,
    margin: float | None = None,
) -> LoyaltyTables:
    """Compute every loyalty view the inputs allow, for the customer table of an analysis.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        The orders the customer table was built from (same ``as_of``).
    customers : pandas.DataFrame
        The analysis' customer table (index ``customer_id``; ``segment``,
        ``lifecycle``; ``profit`` when a cost input was given, which then is
        the matrix's value instead of ``monetary_total``).
    window_days : int, default 90
        Trend windows of :func:`loyalty_indicators`.
    within_days, cohort_period
        Windows and cohort length of :func:`second_purchase`.
    stage_rules : StageRules, optional
    loyalty_split, value_split : float, default 0.5
        Split quantiles of :func:`loyalty_value_matrix`.
    thresholds : mapping, optional
        Member tiers (:func:`member_tiers`); without them no tier columns.
    tier_basis : str, default "spend_365d"
    survey, referrals, leads : optional
        As for :func:`loyalty_stages` (survey also gives NPS and health).
        Leads are counted in the stage table only: they have no row in the
        customer table.
    health_rules : HealthRules, optional
    uplift, horizon_periods, margin
        :func:`retention_scenario`; the horizon is cut to what the data
        show (noted). ``margin`` when the orders have no cost column.

    Returns
    -------
    LoyaltyTables
        ``columns`` (see :data:`LOYALTY_COLUMNS` for every name, dtype and
        meaning), ``tables``, ``missing``, ``notes``.

    Raises
    ------
    SchemaError
        ``customers`` lacks ``monetary_total``, or has customers the orders
        do not know.

    Examples
    --------
    >>> from rfm_loyalty import rfm_table
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> from rfm_loyalty.orders import prepare_orders
    >>> from rfm_loyalty.loyalty import loyalty_tables
    >>> orders = prepare_orders(load_sample_orders())
    >>> customers = rfm_table(orders)  # in analyze: Analysis.customers
    >>> views = loyalty_tables(orders, customers)
    >>> views.columns.index.equals(customers.index)
    True
    >>> sorted(views.tables)[:3]
    ['health', 'loyalty_stages', 'loyalty_value_matrix']
    >>> views.missing["member_tiers"]
    'needs tier thresholds: pass thresholds={...}'
    """
    owner = "loyalty_tables"
    require_columns(customers, ["monetary_total"], owner=owner,
                    hint="Pass the analysis' customer table (Analysis.customers).")
    orders = prepared(orders, None, owner)
    indicators = loyalty_indicators(orders, window_days=window_days)
    table = indicators.table
    unknown = customers.index.difference(table.index)
    if len(unknown):
        from rfm_loyalty.exceptions import SchemaError

        raise SchemaError(
            f"{owner}: {len(unknown):,} customers of the customer table have no purchase in "
            f"these orders (first: {unknown[0]!r}); pass the orders the table was made from."
        )
    missing: dict[str, str] = dict(indicators.missing)
    notes: dict[str, tuple[str, ...]] = {}
    tables: dict[str, pd.DataFrame] = {}
    parts = [table.drop(columns=list(_ALREADY))]

    rules = stage_rules if stage_rules is not None else StageRules()
    stages = stages_from_indicators(table, indicators.as_of, rules, referrals, survey, leads)
    tables["loyalty_stages"] = stages.summary
    for stage, reason in stages.missing.items():
        missing[f"loyalty_stage={stage}"] = reason
    parts.append(stages.customers.loc[table.index].rename(columns={
        "stage": "loyalty_stage", "stage_zh": "loyalty_stage_zh",
        "action": "loyalty_stage_action", "action_zh": "loyalty_stage_action_zh"}))

    value_name = "profit" if "profit" in customers.columns else "monetary_total"
    value = customers[value_name].rename("profit" if value_name == "profit" else "revenue")
    matrix = value_matrix(table.loc[customers.index], value, loyalty_split=loyalty_split,
                          value_split=value_split)
    tables["loyalty_value_matrix"] = matrix.cells
    notes["loyalty_value_matrix"] = (
        f"Value: {matrix.value_name}; long-term = loyalty_index > {matrix.loyalty_cutoff:.3f} "
        f"(quantile {loyalty_split:g}), high value = {matrix.value_name} > "
        f"{matrix.value_cutoff:,.2f} (quantile {value_split:g}).",
    )
    parts.append(matrix.customers[["loyalty_index", "cell", "cell_zh"]].rename(
        columns={"cell": "loyalty_cell", "cell_zh": "loyalty_cell_zh"}))

    if thresholds is None:
        missing["member_tiers"] = "needs tier thresholds: pass thresholds={...}"
    else:
        tiers = member_tiers(orders, thresholds=thresholds, basis=tier_basis)
        tables["member_tiers"] = tiers.summary
        parts.append(tiers.customers[["tier", "tier_zh", "basis", "to_next_tier",
                                      "spend_to_next_tier"]].rename(columns={
            "tier": "member_tier", "tier_zh": "member_tier_zh", "basis": "member_tier_basis"}))

    health = customer_health(indicators, survey=survey, rules=health_rules)
    if survey is None:
        missing["nps"] = "needs survey answers: pass survey= (customer_id, score 0-10, date)"
        missing["nps_score"] = missing["nps_group"] = missing["nps"]
    else:
        tables["nps"] = nps(survey, customers, as_of=indicators.as_of)
    parts.append(health)
    counts = health["health"].value_counts(sort=False)
    tables["health"] = pd.DataFrame({"customers": counts.astype("int64"),
                                     "share": counts / max(len(health), 1)})

    onboarding = second_purchase(orders, within_days=within_days, by=cohort_period)
    tables["second_purchase"] = onboarding.cohorts
    tables["second_purchase_curve"] = onboarding.curve
    notes["second_purchase"] = onboarding.notes

    scenario_params = check_params(
        owner, SCENARIO_CONSTRAINTS,
        {"uplift": uplift, "horizon_periods": horizon_periods, "period": "M",
         "margin": margin, "acquisition_cost": 0.0, "cohort_size": None},
    )
    scenario = project_retention(orders, scenario_params, cut_horizon=True)
    tables["retention_scenario"] = scenario.table
    notes["retention_scenario"] = scenario.assumptions

    columns = pd.concat([p.reindex(customers.index) for p in parts], axis=1)
    # a column the customer table has already (analyze's median_gap_days, the same
    # figure) is not repeated: the join would collide
    repeated = [c for c in columns.columns if c in customers.columns]
    if repeated:
        notes["columns"] = (f"already in the customer table, not repeated: {repeated}",)
    order = [c for c in LOYALTY_COLUMNS if c in columns.columns and c not in repeated]
    return LoyaltyTables(
        columns=columns[order], tables=MappingProxyType(tables),
        missing=MappingProxyType(missing), notes=MappingProxyType(notes),
        params=MappingProxyType({
            "window_days": window_days, "within_days": list(within_days),
            "cohort_period": cohort_period, "loyalty_split": loyalty_split,
            "value_split": value_split, "thresholds": None if thresholds is None
            else dict(thresholds), "tier_basis": tier_basis, "uplift": uplift,
            "horizon_periods": horizon_periods, "margin": margin}),
    )
