"""The pieces :func:`~rfm_loyalty.analysis.analyze` joins: profit, models, label tables.

Each function calls the module that owns the figures (profitability, btyd,
segments, lifecycle, concentration) and shapes its output for the
:class:`~rfm_loyalty.analysis.Analysis`; nothing is computed here. The public
:class:`ModelResults` is re-exported by :mod:`rfm_loyalty.analysis`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._schemas import SCHEMAS
from rfm_loyalty.btyd import DAYS_PER_MONTH, BetaGeoModel, GammaGammaModel, customer_lifetime_value
from rfm_loyalty.concentration import concentration_by
from rfm_loyalty.exceptions import ModelFitError, ModelWarning
from rfm_loyalty.lifecycle import ACTIONS, LABELS_ZH, LifecycleRules
from rfm_loyalty.orders import Orders
from rfm_loyalty.profitability import ProfitabilityResult, customer_profit, profitability
from rfm_loyalty.segments import SEGMENT_PRESETS, Segment, segment_summary

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
    """The fitted customer-base models of ``analyze(..., models=True)``.

    Attributes
    ----------
    bgnbd : BetaGeoModel
        Fitted BG/NBD purchase model (time unit: days).
    gamma_gamma : GammaGammaModel or None
        Fitted Gamma-Gamma spend model; None when it could not be fitted
        (then ``note`` says why and the customer table has no ``clv``).
    parameters : pandas.DataFrame
        One row per parameter: ``model`` (text: "bgnbd" or "gamma_gamma"),
        ``parameter`` (text), ``estimate``, ``standard_error``, ``lower_95``,
        ``upper_95`` (float64), as the models' ``summary()`` gives them.
    horizon_months : int
        Horizon of ``expected_purchases`` and ``clv``.
    data : pandas.DataFrame
        The :func:`~rfm_loyalty.summary.btyd_summary` table the models were
        fitted on (days).
    note : str
        Empty, or why a model is missing.
    """

    bgnbd: BetaGeoModel
    gamma_gamma: GammaGammaModel | None
    parameters: pd.DataFrame
    horizon_months: int
    data: pd.DataFrame
    note: str = ""



def profit_and_note(
    orders: Orders, margin: float | None, cost_per_order: float, cost_per_customer: float
) -> tuple[ProfitabilityResult | None, str, pd.Series | None]:
    """Return the profitability result, why it is missing ("" if not) and per-customer profit."""
    has_cost = "cost" in orders.frame.columns
    if margin is None and not has_cost:
        if cost_per_order or cost_per_customer:
            raise ValueError(
                "analyze got cost_per_order="
                f"{cost_per_order!r} and cost_per_customer={cost_per_customer!r} but no cost "
                "input: profit needs margin= (e.g. margin=0.3) or a cost column "
                "(OrderColumns(cost=...))."
            )
        note = (
            "No profitability: the orders have no cost column and margin=None. Pass "
            "margin= (e.g. margin=0.3) or name a cost column with OrderColumns(cost=...)."
        )
        return None, note, None
    profit = customer_profit(
        orders, margin=margin, cost_per_order=cost_per_order, cost_per_customer=cost_per_customer
    )
    return profitability(profit), "", profit


def check_engine_profit(
    *, has_cost_column: bool, margin: float | None, cost_per_order: float,
    cost_per_customer: float,
) -> tuple[float, float] | None:
    """Refuse profit options an engine source cannot serve; return (margin, cost) or None.

    Called before the engine runs, so a wrong option fails before a long scan.
    """
    if cost_per_order:
        raise ValueError(
            f"analyze got cost_per_order={cost_per_order!r} with an engine source (from_duckdb/"
            "from_spark): a cost per order needs every order, but the engine returns only "
            "per-customer aggregates. Pass cost_per_order=0.0 (and use cost_per_customer and "
            "margin=), or analyze the orders as a pandas DataFrame."
        )
    if margin is not None and has_cost_column:
        raise ValueError(
            f"analyze got margin={margin!r} but the engine source names a cost column; profit "
            "would be defined twice (as for a DataFrame). Make the source without "
            "OrderColumns(cost=...) to use the margin."
        )
    if margin is None:
        if cost_per_customer:
            raise ValueError(
                f"analyze got cost_per_customer={cost_per_customer!r} with an engine source but "
                "margin=None: profit from engine aggregates needs margin= (e.g. margin=0.3)."
            )
        return None
    return (_engine_fraction(margin, "margin"),
            _engine_fraction(cost_per_customer, "cost_per_customer", upper=math.inf))


def engine_profit_and_note(
    aggregates: pd.DataFrame, *, has_cost_column: bool, margin: float | None,
    cost_per_order: float, cost_per_customer: float,
) -> tuple[ProfitabilityResult | None, str, pd.Series | None]:
    """``profit_and_note`` for an engine source: margin-only profit from ``monetary_total``.

    The engine aggregates carry no cost sum and no order count per customer
    that includes return-only orders, so only ``margin * monetary_total -
    cost_per_customer`` can be computed, over the customers with a purchase.
    """
    checked = check_engine_profit(
        has_cost_column=has_cost_column, margin=margin, cost_per_order=cost_per_order,
        cost_per_customer=cost_per_customer,
    )
    if checked is None:
        why = (
            "its cost column is not aggregated by the engine"
            if has_cost_column else "margin=None"
        )
        note = (
            f"No profitability: the orders were aggregated in an engine and {why}. Pass margin= "
            "(e.g. margin=0.3) for margin x monetary_total - cost_per_customer, or analyze the "
            "orders as a pandas DataFrame to use their cost column."
        )
        return None, note, None
    rate, per_customer = checked
    profit = (rate * aggregates["monetary_total"].astype("float64") - per_customer).rename(
        "profit"
    )
    return profitability(profit), "", profit


def _engine_fraction(value: Any, name: str, *, upper: float = 1.0) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    number = float(value) if ok else math.nan
    low_ok = number > 0 if upper == 1.0 else number >= 0
    if not (math.isfinite(number) and low_ok and number <= upper):
        wanted = "a fraction in (0, 1], e.g. 0.3" if upper == 1.0 else "a finite amount >= 0"
        raise ValueError(f"The {name!r} parameter of analyze must be {wanted}. Got {value!r}.")
    return number


def empty_table(name: str, index: str) -> pd.DataFrame:
    """Return an empty ``Analysis`` table shaped like the exported table ``name``.

    The columns and dtypes are those of the export schema, the column
    ``index`` becomes the (empty) index, as the order-level modules return it.
    """
    dtypes = {"text": "object", "datetime": "datetime64[ns]"}
    columns = {
        c.name: pd.Series([], dtype=dtypes.get(c.dtype, c.dtype))
        for c in SCHEMAS[name].columns
    }
    return pd.DataFrame(columns).set_index(index)


def empty_retention() -> pd.DataFrame:
    """Return an empty retention matrix: no cohort, only the ``cohort_size`` column."""
    return pd.DataFrame(
        {"cohort_size": pd.Series([], dtype="int64")}, index=pd.Index([], name="cohort")
    )


def fit_models(
    summary: pd.DataFrame, horizon_months: int, discount_rate_monthly: float
) -> tuple[ModelResults, pd.DataFrame] | None:
    """Fit BG/NBD and Gamma-Gamma on a ``btyd_summary`` frame (days); return them and predictions.

    None (with a ModelWarning pointing at the caller of ``analyze``) when
    BG/NBD cannot be fitted.
    """
    try:
        bgnbd = BetaGeoModel(time_unit="D").fit(summary)
    except ModelFitError as exc:
        warnings.warn(f"analyze: the BG/NBD model could not be fitted ({exc}); the customer "
                      "table has no p_alive, expected_purchases or clv.", ModelWarning,
                      stacklevel=3)
        return None
    horizon_days = horizon_months * DAYS_PER_MONTH
    predictions = pd.DataFrame(
        {
            "p_alive": bgnbd.p_alive(summary),
            "expected_purchases": bgnbd.expected_purchases(horizon_days, summary),
        }
    )
    tables = [bgnbd.summary().assign(model="bgnbd")]
    note = ""
    gamma_gamma: GammaGammaModel | None
    try:
        gamma_gamma = GammaGammaModel().fit(summary)
    except ModelFitError as exc:
        gamma_gamma = None
        note = f"Gamma-Gamma not fitted, so no clv: {exc}"
    predictions["clv"] = np.nan
    if gamma_gamma is not None:
        predictions["clv"] = customer_lifetime_value(
            bgnbd, gamma_gamma, summary, months=horizon_months,
            discount_rate_monthly=discount_rate_monthly,
        )
        tables.append(gamma_gamma.summary().assign(model="gamma_gamma"))
    parameters = pd.concat(tables).rename_axis("parameter").reset_index()
    parameters = parameters[["model", "parameter", "estimate", "standard_error",
                             "lower_95", "upper_95"]]
    results = ModelResults(bgnbd, gamma_gamma, parameters, int(horizon_months), summary, note)
    return results, predictions


def _label_texts(segments: str | Sequence[Segment]) -> pd.DataFrame:
    rules = SEGMENT_PRESETS[segments] if isinstance(segments, str) else tuple(segments)
    first: dict[str, Segment] = {}
    for rule in rules:  # a dozen rules: the first rule of a name describes it
        first.setdefault(rule.name, rule)
    return pd.DataFrame(
        {
            "description": [r.description for r in first.values()],
            "segment_action": [r.action for r in first.values()],
        },
        index=pd.Index(list(first), name="segment"),
    )


def _with_profit(summary: pd.DataFrame, customers: pd.DataFrame, by: str) -> pd.DataFrame:
    labels = customers[by]
    # A fresh categorical: concentration_by renames the categories Index it is
    # given, which would leak into the customer table's dtype.
    fresh = pd.Categorical(labels.to_numpy(), categories=list(labels.cat.categories),
                           ordered=labels.cat.ordered)
    frame = pd.DataFrame({by: fresh, "profit": customers["profit"].to_numpy()},
                         index=customers.index)
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
    customers: pd.DataFrame, segments: str | Sequence[Segment], has_profit: bool
) -> pd.DataFrame:
    """Return ``Analysis.segments``: the segment summary, profit, description and action."""
    table = segment_summary(customers, by="segment")
    if has_profit:
        table = _with_profit(table, customers, "segment")
    texts = _label_texts(segments)
    names = [str(s) for s in table.index]
    table["description"] = texts["description"].reindex(names).fillna("").to_numpy()
    table["action"] = texts["segment_action"].reindex(names).fillna("").to_numpy()
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

