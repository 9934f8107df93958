"""Backtest: score customers at a calibration date and see what they did next.

Everything that labels or predicts is computed from the orders on or before
``calibration_end`` only; the holdout window
``(calibration_end, calibration_end + holdout_days]`` is used only to
measure what happened. If the segments, lifecycle cohorts and
probability-alive mean anything, customers they rank higher buy again more
often in the holdout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import Days, Whole, check
from rfm_loyalty.btyd import BetaGeoModel
from rfm_loyalty.lifecycle import LifecycleRules, lifecycle_labels
from rfm_loyalty.orders import Orders, as_orders
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import assign_segments
from rfm_loyalty.summary import btyd_summary, customer_base, rfm_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rfm_loyalty.segments import Segment

__all__ = ["BacktestResult", "backtest"]

#: Scores whose ranking of "bought again in the holdout" is measured by AUC.
_AUC_SCORES = ("p_alive", "expected_purchases", "rfm_score")


@dataclass(frozen=True)
class BacktestResult:
    """Calibration-date scores against holdout behaviour, one table per view.

    Attributes
    ----------
    customers : pandas.DataFrame
        Index ``customer_id``: every customer with a purchase on or before
        ``calibration_end`` (customers first seen in the holdout are not
        scored). Columns:

        * ``recency_days, frequency, monetary_total`` (int64, int64,
          float64): from ``rfm_table`` at ``calibration_end``.
        * ``r_score, f_score, m_score, rfm_score`` (int64): RFM scores with
          edges learned at ``calibration_end``.
        * ``segment``, ``lifecycle`` (ordered category): labels at
          ``calibration_end``.
        * ``repeat_purchase_days`` (int64): the BG/NBD ``frequency`` at
          ``calibration_end`` (distinct purchase days - 1).
        * ``p_alive`` (float64): BG/NBD probability of being alive at
          ``calibration_end``.
        * ``expected_purchases`` (float64): BG/NBD expected purchase days
          in the holdout (``holdout_days`` days).
        * ``holdout_purchase_days`` (int64): distinct days with a purchase in
          the holdout, the unit the model predicts.
        * ``holdout_revenue`` (float64): net amount of the holdout orders
          (returns netted).
        * ``bought_again`` (bool): ``holdout_purchase_days > 0``.
    by_segment, by_lifecycle : pandas.DataFrame
        One row per label (index ``segment`` or ``lifecycle``, every label
        of the rules, in their order). Columns: ``customers`` (int64),
        ``repurchase_rate`` (float64, share with ``bought_again``),
        ``mean_holdout_revenue`` (float64), ``mean_holdout_purchase_days``
        (float64, actual), ``mean_expected_purchases`` (float64,
        predicted), ``mean_p_alive`` (float64). Means are NaN for a label
        without customers.
    auc : pandas.DataFrame
        Index ``score``: ``p_alive``, ``expected_purchases``, ``rfm_score``
        (over all scored customers) and ``p_alive_repeat_customers``
        (``p_alive`` over the customers with at least one repeat purchase
        day; BG/NBD gives everyone else p_alive = 1, so over all customers
        it ranks one-time buyers first). Columns ``auc`` (float64, ROC AUC
        for ``bought_again``; 0.5 is no better than chance, NaN when
        everybody or nobody bought again), ``customers`` and
        ``bought_again`` (int64): the population the AUC is computed on.
    calibration : pandas.DataFrame
        The standard BG/NBD calibration table (Fader, Hardie & Lee 2005,
        fig. 4). Index ``repeat_purchase_days`` (text: ``"0"``, ``"1"``, ...,
        ``"7+"``). Columns: ``customers`` (int64), ``actual_mean``
        and ``predicted_mean`` (float64, mean holdout purchase days, NaN for
        an empty group), ``actual_total`` and ``predicted_total`` (float64).
    model : BetaGeoModel
        The BG/NBD model fitted on ``btyd_summary`` at ``calibration_end``,
        in days.
    calibration_end, holdout_end : pandas.Timestamp
        Last day of the calibration data and of the holdout.
    holdout_days : int
        Length of the holdout in days.
    """

    customers: pd.DataFrame
    by_segment: pd.DataFrame
    by_lifecycle: pd.DataFrame
    auc: pd.DataFrame
    calibration: pd.DataFrame
    model: BetaGeoModel
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    holdout_days: int

    def __str__(self) -> str:
        customers = self.customers
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.model.params_.items())
        aucs = ", ".join(f"{k} {v:.3f}" for k, v in self.auc["auc"].items())
        return "\n".join(
            [
                f"Backtest: calibration to {self.calibration_end.date()}, holdout "
                f"{self.holdout_days} days to {self.holdout_end.date()}",
                f"  customers scored: {len(customers):,}; bought again: "
                f"{int(customers['bought_again'].sum()):,} "
                f"({customers['bought_again'].mean():.1%})",
                f"  ROC AUC for bought again: {aucs}",
                f"  BG/NBD (days): {params}",
            ]
        )


def _holdout_outcomes(prepared: Orders, start: pd.Timestamp, end: pd.Timestamp,
                      index: pd.Index) -> pd.DataFrame:
    """Purchase days and net revenue per customer with start < day <= end."""
    frame = prepared.frame
    day = frame["order_date"].dt.normalize()
    window = ((day > start) & (day <= end)).to_numpy()
    orders = pd.DataFrame(
        {
            "customer_id": frame["customer_id"].to_numpy()[window],
            "day": day.to_numpy()[window],
            "amount": frame["amount"].to_numpy()[window],
            "is_purchase": frame["is_purchase"].to_numpy(dtype=bool)[window],
        }
    )
    revenue = orders.groupby("customer_id", sort=False)["amount"].sum()
    purchases = orders[orders["is_purchase"]].drop_duplicates(["customer_id", "day"])
    days = purchases.groupby("customer_id", sort=False).size()
    return pd.DataFrame(
        {
            "holdout_purchase_days": days.reindex(index, fill_value=0).astype("int64"),
            "holdout_revenue": revenue.reindex(index, fill_value=0.0).astype("float64"),
        },
        index=index,
    )


def _by_label(customers: pd.DataFrame, label: str) -> pd.DataFrame:
    grouped = customers.groupby(label, observed=True, sort=False)
    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "repurchase_rate": grouped["bought_again"].mean(),
            "mean_holdout_revenue": grouped["holdout_revenue"].mean(),
            "mean_holdout_purchase_days": grouped["holdout_purchase_days"].mean(),
            "mean_expected_purchases": grouped["expected_purchases"].mean(),
            "mean_p_alive": grouped["p_alive"].mean(),
        }
    )
    order = list(customers[label].cat.categories)
    table = table.reindex(pd.Index(order, name=label))
    table["customers"] = table["customers"].fillna(0).astype("int64")
    return table.astype({c: "float64" for c in table.columns if c != "customers"})


def _auc(target: np.ndarray, score: np.ndarray) -> float:
    # AUC is undefined when everybody or nobody bought again
    if target.all() or not target.any():
        return float("nan")
    return float(roc_auc_score(target, score))


def _auc_table(customers: pd.DataFrame) -> pd.DataFrame:
    target = customers["bought_again"].to_numpy(dtype=bool)
    # BG/NBD gives p_alive = 1 to everyone without a repeat purchase (drop-out
    # can only follow a repeat purchase), so over all customers p_alive ranks
    # one-time buyers first; among repeat customers it is a real ranking.
    repeat = customers["repeat_purchase_days"].to_numpy() > 0
    rows = [(score, np.ones(len(target), dtype=bool)) for score in _AUC_SCORES]
    rows.append(("p_alive_repeat_customers", repeat))
    return pd.DataFrame(
        {
            "auc": [
                _auc(target[mask], customers[_score_column(name)].to_numpy(dtype="float64")[mask])
                for name, mask in rows
            ],
            "customers": [int(mask.sum()) for _, mask in rows],
            "bought_again": [int(target[mask].sum()) for _, mask in rows],
        },
        index=pd.Index([name for name, _ in rows], name="score"),
    ).astype({"customers": "int64", "bought_again": "int64"})


def _score_column(name: str) -> str:
    return "p_alive" if name == "p_alive_repeat_customers" else name


def _calibration_table(customers: pd.DataFrame, max_frequency: int) -> pd.DataFrame:
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    bucket = np.minimum(customers["repeat_purchase_days"].to_numpy(), max_frequency)
    actual = customers["holdout_purchase_days"].to_numpy(dtype="float64")
    predicted = customers["expected_purchases"].to_numpy(dtype="float64")
    n = np.bincount(bucket, minlength=max_frequency + 1)
    actual_total = np.bincount(bucket, weights=actual, minlength=max_frequency + 1)
    predicted_total = np.bincount(bucket, weights=predicted, minlength=max_frequency + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        actual_mean = np.where(n > 0, actual_total / np.maximum(n, 1), np.nan)
        predicted_mean = np.where(n > 0, predicted_total / np.maximum(n, 1), np.nan)
    return pd.DataFrame(
        {
            "customers": n.astype("int64"),
            "actual_mean": actual_mean,
            "predicted_mean": predicted_mean,
            "actual_total": actual_total,
            "predicted_total": predicted_total,
        },
        index=pd.Index(labels, name="repeat_purchase_days"),
    )


def backtest(
    orders: Orders | pd.DataFrame,
    *,
    calibration_end: pd.Timestamp | str,
    holdout_days: int,
    scorer: RFMScorer | None = None,
    segment_rules: str | Sequence[Segment] = "default",
    lifecycle_rules: LifecycleRules | None = None,
    max_frequency: int = 7,
) -> BacktestResult:
    """Score everyone at ``calibration_end`` and measure the following ``holdout_days``.

    At ``calibration_end``, from the orders on or before it: the RFM table,
    RFM scores (quantile edges learned on that table), segments, lifecycle
    cohorts, and a BG/NBD model fitted on ``btyd_summary`` (in days) giving
    ``p_alive`` and the expected purchase days in the next ``holdout_days``
    days. In the holdout, days ``calibration_end < day <= calibration_end +
    holdout_days``: each scored customer's purchase days, net revenue and
    whether they bought again.

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame; must cover the holdout
        (its ``as_of`` on or after ``calibration_end + holdout_days``).
    calibration_end : Timestamp or str
        Last day of the calibration period (the scoring date).
    holdout_days : int
        Length of the holdout in days (the BG/NBD horizon, in the same unit
        as ``btyd_summary`` in days).
    scorer : RFMScorer, optional
        Unfitted scorer whose configuration is used (cloned; default
        ``RFMScorer()``).
    segment_rules : str or sequence of Segment, default "default"
        Rules for ``assign_segments``.
    lifecycle_rules : LifecycleRules, optional
        Rules for ``lifecycle_labels``; default the seed rules.
    max_frequency : int, default 7
        The calibration table groups customers by repeat purchase days
        ``0 .. max_frequency - 1`` and ``max_frequency+``.

    Returns
    -------
    BacktestResult
        ``customers``, ``by_segment``, ``by_lifecycle``, ``auc``,
        ``calibration`` tables and the fitted ``model``; see
        :class:`BacktestResult` for every column.

    Raises
    ------
    ValueError
        If the holdout runs past the end of the data, or a parameter is
        invalid.
    rfm_loyalty.exceptions.ModelFitError
        If BG/NBD cannot be fitted on the calibration data (e.g. nobody has
        a repeat purchase yet).

    Examples
    --------
    >>> import warnings
    >>> from rfm_loyalty.datasets import make_orders
    >>> from rfm_loyalty.backtest import backtest
    >>> lines = make_orders(n_customers=300, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # tie-collapsed score bins on small data
    ...     result = backtest(lines, calibration_end=lines["order_date"].max()
    ...                       - pd.Timedelta(days=90), holdout_days=90)
    >>> result.auc.index.tolist()
    ['p_alive', 'expected_purchases', 'rfm_score', 'p_alive_repeat_customers']
    >>> result.calibration.index.tolist()
    ['0', '1', '2', '3', '4', '5', '6', '7+']
    >>> bool(result.customers["bought_again"].any())
    True
    """
    holdout_days = check(holdout_days, Days(example=90), name="holdout_days", owner="backtest")
    max_frequency = check(max_frequency, Whole(minimum=1, example=7), name="max_frequency",
                          owner="backtest")
    prepared = as_orders(orders)
    start = as_date(calibration_end, name="calibration_end")
    end = start + pd.Timedelta(days=holdout_days)
    if end > prepared.as_of:
        raise ValueError(
            f"The holdout of backtest ends on {end.date()} (calibration_end "
            f"{start.date()} + holdout_days={holdout_days}), after the last date of the "
            f"orders ({prepared.as_of.date()}): the holdout would be only partly observed. "
            "Use an earlier calibration_end or fewer holdout_days."
        )
    calibration = prepared.until(start)

    # one aggregation of the calibration orders serves every table below
    rules = lifecycle_rules if lifecycle_rules is not None else LifecycleRules()
    base = customer_base(calibration, window_days=rules.window_days)
    rfm = rfm_table(base)
    scores = clone(scorer if scorer is not None else RFMScorer()).fit_transform(rfm)
    segments = assign_segments(scores, segment_rules)["segment"]
    lifecycle = lifecycle_labels(base, rules=rules)["lifecycle"]
    summary = btyd_summary(base, time_unit="D")
    model = BetaGeoModel(time_unit="D").fit(summary)

    customers = rfm[["recency_days", "frequency", "monetary_total"]].copy()
    customers = customers.join(scores[["r_score", "f_score", "m_score", "rfm_score"]])
    customers["segment"] = segments.reindex(customers.index)
    customers["lifecycle"] = lifecycle.reindex(customers.index)
    customers["repeat_purchase_days"] = (
        summary["frequency"].reindex(customers.index).round().astype("int64")
    )
    customers["p_alive"] = model.p_alive(summary).reindex(customers.index).astype("float64")
    expected = model.expected_purchases(float(holdout_days), summary)
    customers["expected_purchases"] = expected.reindex(customers.index).astype("float64")
    customers = customers.join(_holdout_outcomes(prepared, start, end, customers.index))
    customers["bought_again"] = customers["holdout_purchase_days"] > 0

    return BacktestResult(
        customers=customers,
        by_segment=_by_label(customers, "segment"),
        by_lifecycle=_by_label(customers, "lifecycle"),
        auc=_auc_table(customers),
        calibration=_calibration_table(customers, int(max_frequency)),
        model=model,
        calibration_end=start,
        holdout_end=end,
        holdout_days=holdout_days,
    )
