"""The pieces :func:`~rfm_loyalty.analysis.analyze` joins: profit, models, label tables.

Each function calls the module that owns the figures (profitability, btyd,
segments, lifecycle, concentration) and shapes its output for the
:class:`~rfm_loyalty.analysis.Analysis`; nothing is computed here. The public
:class:`ModelResults` is re-exported by :mod:`rfm_loyalty.analysis`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._analysis_settings import AnalysisSettings
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.btyd import DAYS_PER_MONTH, BetaGeoModel, GammaGammaModel, fit_customer_models
from rfm_loyalty.churn import CHURN_SUMMARY_DTYPES, FLOW_DTYPES
from rfm_loyalty.concentration import ParetoResult, concentration_by
from rfm_loyalty.exceptions import InvalidParameterError, ModelFitError, ModelWarning
from rfm_loyalty.lifecycle import ACTIONS, LABELS_ZH, LifecycleRules
from rfm_loyalty.profitability import ProfitabilityResult, customer_profit, profitability
from rfm_loyalty.segments import OTHER, OTHER_ZH, Segment, segment_summary
from rfm_loyalty.summary import CustomerBase

#: Why an analysis of an engine source has no order-level tables (``Analysis.order_level_note``).
ENGINE_ORDER_LEVEL_NOTE = (
    "The orders were aggregated per customer inside the {engine} engine, so the parts that "
    "need every order are empty: churn (churn_summary per segment), retention (cohort "
    "retention), flow (customer flow) and the customers' median_gap_days and "
    "silence_in_gaps (NaN). The churned flag (recency_days > churn_days) is computed. For "
    "those tables, analyze a sample or a pre-filtered extract of the orders with pandas."
)


@dataclass(frozen=True, eq=False)
class ModelResults:
    """The fitted customer-base models of ``analyze(..., models=...)``.

    Attributes
    ----------
    chosen : str
        The purchase model whose ``p_alive``, ``expected_purchases`` and
        ``clv`` fill the customer table: of the models named, the fitted one
        with the lowest BIC (on ties, the first named).
    fitted : Mapping of str to model
        Every fitted model by name (``"bgnbd"``, ``"mbgnbd"``,
        ``"paretonbd"``, and ``"gamma_gamma"`` when the spend model fits);
        time unit: days.
    comparison : pandas.DataFrame
        :func:`~rfm_loyalty.btyd.compare_models` of the purchase models
        (log-likelihood, AIC, BIC, parameters, calibration fit) with a
        ``chosen`` (bool) column.
    bgnbd : BetaGeoModel or None
        The BG/NBD fit when ``"bgnbd"`` is among the models.
    gamma_gamma : GammaGammaModel or None
        Fitted Gamma-Gamma spend model; None when it could not be fitted
        (then ``note`` says why and ``clv`` is NaN).
    parameters : pandas.DataFrame
        One row per parameter of every fitted model: ``model`` (text: the
        model's name), ``parameter`` (text), ``estimate``,
        ``standard_error``, ``lower_95``, ``upper_95`` (float64), as the
        models' ``summary()`` gives them.
    horizon_months : int
        Horizon of ``expected_purchases`` and ``clv``.
    data : pandas.DataFrame
        The :func:`~rfm_loyalty.summary.btyd_summary` table the models were
        fitted on (days).
    note : str
        Empty, or why a model is missing.
    """

    chosen: str
    fitted: Mapping[str, Any]
    comparison: pd.DataFrame
    bgnbd: BetaGeoModel | None
    gamma_gamma: GammaGammaModel | None
    parameters: pd.DataFrame
    horizon_months: int
    data: pd.DataFrame
    note: str = ""



def check_profit_inputs(plan_kind: str, has_cost_column: bool | None,
                        settings: AnalysisSettings) -> None:
    """Refuse profit options the input cannot serve, before anything is read.

    ``has_cost_column`` is None when it is not known before reading (the
    columns are matched from the file's header).
    """
    margin, per_order = settings.margin, settings.cost_per_order
    if plan_kind == "engine" and settings.loyalty:
        raise InvalidParameterError(
            "analyze got loyalty=True with an engine source: the loyalty measures need every "
            "order, but the engine returns only per-customer aggregates. Analyze the orders "
            "as a pandas DataFrame (or a file) for loyalty."
        )
    if plan_kind == "engine":
        if per_order:
            raise InvalidParameterError(
                f"analyze got cost_per_order={per_order!r} with an engine source (from_duckdb/"
                "from_spark): a cost per order needs every order, but the engine returns only "
                "per-customer aggregates. Pass cost_per_order=0.0 (and use cost_per_customer "
                "and margin=), or analyze the orders as a pandas DataFrame."
            )
        if margin is None and settings.cost_per_customer:
            raise InvalidParameterError(
                f"analyze got cost_per_customer={settings.cost_per_customer!r} with an engine "
                "source but margin=None: profit from engine aggregates needs margin= (e.g. "
                "margin=0.3)."
            )
    if has_cost_column is None:
        return
    if margin is not None and has_cost_column:
        raise InvalidParameterError(
            f"analyze got margin={margin!r} but the orders name a cost column; profit would be "
            "defined twice. Leave margin=None to use the costs, or read the orders without "
            "OrderColumns(cost=...) to use the margin."
        )
    if margin is None and not has_cost_column and settings.needs_cost_input:
        raise InvalidParameterError(
            f"analyze got cost_per_order={per_order!r} and cost_per_customer="
            f"{settings.cost_per_customer!r} but no cost input: profit needs margin= (e.g. "
            "margin=0.3) or a cost column (OrderColumns(cost=...))."
        )


def profit_and_note(
    base: CustomerBase, settings: AnalysisSettings
) -> tuple[ProfitabilityResult | None, str, pd.Series | None]:
    """Return the profitability result, why it is missing ("" if not) and per-customer profit.

    In-memory orders: :func:`customer_profit` (every customer with an order,
    returns-only customers included). Engine source: ``margin *
    monetary_total - cost_per_customer`` over the customers with a purchase
    (the engine aggregates carry no cost sum and no count of return-only
    orders).
    """
    margin = settings.margin
    if base.has_orders:
        assert base.orders is not None
        if margin is None and "cost" not in base.orders.frame.columns:
            check_profit_inputs("orders", False, settings)  # cost to serve without a cost
            return None, _NO_COST_NOTE, None
        profit = customer_profit(base, margin=margin, cost_per_order=settings.cost_per_order,
                                 cost_per_customer=settings.cost_per_customer)
        return profitability(profit), "", profit
    if margin is None:
        has_cost = base.options.order_columns.cost is not None
        why = "its cost column is not aggregated by the engine" if has_cost else "margin=None"
        note = (
            f"No profitability: the orders were aggregated in an engine and {why}. Pass margin= "
            "(e.g. margin=0.3) for margin x monetary_total - cost_per_customer, or analyze the "
            "orders as a pandas DataFrame to use their cost column."
        )
        return None, note, None
    revenue = base.aggregates["monetary_total"].astype("float64")
    profit = (margin * revenue - settings.cost_per_customer).rename("profit")
    return profitability(profit), "", profit


def base_rows(base: CustomerBase, per_customer: pd.Series) -> np.ndarray:
    """Positions in ``per_customer`` of the base's customers with a purchase, in their order.

    ``customer_profit`` covers every customer with an order (in the order of
    ``base.customer_index``); the engine's profit covers the customers with a
    purchase already.
    """
    if base.has_orders and len(per_customer) == len(base.customer_index):
        return np.flatnonzero(base.buyer_row >= 0)
    return np.arange(len(per_customer))


def customer_ranks(
    revenue: ParetoResult, prof: ProfitabilityResult | None, profit_rows: np.ndarray | None,
    *, index: pd.Index,
) -> pd.DataFrame:
    """Each customer's rank in the revenue (and profit) ranking, with the share held to it.

    Read by position from the results' ``ranked_positions`` and curves: the
    same figures as :meth:`ParetoResult.customer_ranks`, in the customer
    table's order, without looking the customer ids up again.
    """
    columns: dict[str, np.ndarray] = {}
    for prefix, result, curve, rows in (
        ("revenue", revenue, revenue.curve["value_share"], None),
        ("profit", prof, None if prof is None else prof.whale["profit_share"], profit_rows),
    ):
        if result is None or curve is None:
            continue
        rank = np.empty(result.n_customers, dtype=np.int64)
        rank[result.ranked_positions] = np.arange(1, result.n_customers + 1)
        if rows is not None:
            rank = rank[rows]
        columns[f"{prefix}_rank"] = rank
        columns[f"{prefix}_cumulative_share"] = curve.to_numpy(dtype="float64")[rank]
    return pd.DataFrame(columns, index=index)


_NO_COST_NOTE = (
    "No profitability: the orders have no cost column and margin=None. Pass "
    "margin= (e.g. margin=0.3) or name a cost column with OrderColumns(cost=...)."
)


def empty_churn() -> pd.DataFrame:
    """Return an empty ``churn_summary`` table (index ``segment``): an engine has no orders."""
    return _empty(CHURN_SUMMARY_DTYPES, "segment")


def empty_flow() -> pd.DataFrame:
    """Return an empty ``customer_flow`` table (index ``period``): an engine has no orders."""
    return _empty(FLOW_DTYPES, "period")


def _empty(dtypes: dict[str, str], index: str) -> pd.DataFrame:
    columns = {name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()}
    return pd.DataFrame(columns, index=pd.Index([], dtype="object", name=index))


def empty_retention() -> pd.DataFrame:
    """Return an empty retention matrix: no cohort, only the ``cohort_size`` column."""
    return pd.DataFrame(
        {"cohort_size": pd.Series([], dtype="int64")}, index=pd.Index([], name="cohort")
    )


def fit_models(
    summary: pd.DataFrame, settings: AnalysisSettings
) -> tuple[ModelResults, pd.DataFrame] | None:
    """Fit and compare the purchase models and Gamma-Gamma; return them and the predictions.

    None (with a ModelWarning pointing at the caller of ``analyze``) when no
    purchase model can be fitted.
    """
    names = settings.models
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted, comparison, predictions = fit_customer_models(
                summary, models=names, horizon_days=settings.horizon_months * DAYS_PER_MONTH,
                discount_rate_monthly=settings.discount_rate_monthly,
            )
    except ModelFitError as exc:
        warn_user(f"analyze: no customer-base model could be fitted ({exc}); the customer "
                  "table has no p_alive, expected_purchases or clv.", ModelWarning)
        return None
    note = ""
    for item in caught:  # passed on; the Gamma-Gamma failure is also the note
        if "Gamma-Gamma" in str(item.message):
            note = str(item.message)
        warn_user(str(item.message), item.category)
    chosen = str(comparison.index[comparison["chosen"].to_numpy()][0])
    tables = [model.summary().assign(model=name) for name, model in fitted.items()]
    parameters = pd.concat(tables).rename_axis("parameter").reset_index()
    parameters = parameters[["model", "parameter", "estimate", "standard_error",
                             "lower_95", "upper_95"]]
    results = ModelResults(
        chosen=chosen, fitted=MappingProxyType(dict(fitted)), comparison=comparison,
        bgnbd=fitted.get("bgnbd"), gamma_gamma=fitted.get("gamma_gamma"),
        parameters=parameters, horizon_months=settings.horizon_months, data=summary,
        note=note,
    )
    return results, predictions


def _label_texts(rules: Sequence[Segment]) -> pd.DataFrame:
    first: dict[str, Segment] = {}
    for rule in rules:  # a dozen rules: the first rule of a name describes it
        first.setdefault(rule.name, rule)
    return pd.DataFrame(
        {
            "segment_zh": [r.name_zh or r.name for r in first.values()],
            "description": [r.description for r in first.values()],
            "segment_action": [r.action for r in first.values()],
            "action_zh": [r.action_zh or r.action for r in first.values()],
        },
        index=pd.Index(list(first), name="segment"),
    )


def segment_names_zh(customers: pd.DataFrame, rules: Sequence[Segment]) -> pd.Categorical:
    """Return the Chinese name of every customer's segment (the English one when none).

    Read from the segment column's categories, so one lookup per segment.
    """
    texts = _label_texts(rules)["segment_zh"].to_dict()
    texts.setdefault(OTHER, OTHER_ZH)
    segment = customers["segment"].cat
    names = [texts.get(str(c), str(c)) for c in segment.categories]
    # two segments translated alike keep apart by their English name
    names = [z if names.count(z) == 1 else f"{z} ({c})"
             for z, c in zip(names, segment.categories, strict=True)]
    return pd.Categorical.from_codes(segment.codes.to_numpy(), categories=pd.Index(names))


def _with_profit(summary: pd.DataFrame, customers: pd.DataFrame, by: str) -> pd.DataFrame:
    labels = customers[by]
    # A fresh categorical: concentration_by renames the categories Index it is
    # given, which would leak into the customer table's dtype.
    fresh = pd.Categorical.from_codes(
        labels.cat.codes.to_numpy(),
        dtype=pd.CategoricalDtype(list(labels.cat.categories), ordered=labels.cat.ordered),
    )
    # The customer table's ids are unique by construction: positions spare
    # concentration_by the check.
    frame = pd.DataFrame({by: fresh, "profit": customers["profit"].to_numpy()})
    shares = concentration_by(frame, by=by, revenue=None, profit="profit")
    # Align on the label text: joining two categorical indexes gives an object
    # index on pandas 2.2.
    shares = shares.set_axis([str(label) for label in shares.index])
    names = [str(label) for label in summary.index]
    out = summary.copy()
    for column in ("profit", "profit_share"):
        out[column] = shares[column].reindex(names).to_numpy()
    return out


def summarise_segments(
    customers: pd.DataFrame, rules: Sequence[Segment], has_profit: bool
) -> pd.DataFrame:
    """Return ``Analysis.segments``: the segment summary, profit, description and action."""
    table = segment_summary(customers, by="segment")
    if has_profit:
        table = _with_profit(table, customers, "segment")
    texts = _label_texts(rules)
    names = [str(s) for s in table.index]
    zh = texts["segment_zh"].reindex(names).to_numpy()
    table.insert(0, "segment_zh", [z if isinstance(z, str) else (OTHER_ZH if n == OTHER else n)
                                   for z, n in zip(zh, names, strict=True)])
    table["description"] = texts["description"].reindex(names).fillna("").to_numpy()
    table["action"] = texts["segment_action"].reindex(names).fillna("").to_numpy()
    table["action_zh"] = texts["action_zh"].reindex(names).fillna("").to_numpy()
    return table


def summarise_lifecycle(
    customers: pd.DataFrame, rules: LifecycleRules, has_profit: bool
) -> pd.DataFrame:
    """Return ``Analysis.lifecycle``: the cohort summary, profit, names, actions and rule."""
    table = segment_summary(customers, by="lifecycle")
    if has_profit:
        table = _with_profit(table, customers, "lifecycle")
    names = [str(s) for s in table.index]
    texts = rules.rule_texts()
    table.insert(0, "lifecycle_zh", [LABELS_ZH[n] for n in names])
    table["action"] = [ACTIONS[n].en for n in names]
    table["action_zh"] = [ACTIONS[n].zh for n in names]
    table["rule"] = [texts.get(n, "") for n in names]
    return table

