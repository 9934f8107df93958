"""Retention what-if: what a few more points of retention are worth on the shop's own data.

Reichheld & Sasser (1990), "Zero Defections: Quality Comes to Services"
(Harvard Business Review 68(5)), report that cutting defections by 5 points
lifted profits by 25% to 85% in the industries they studied. This projects
one acquisition cohort along the shop's own retention curve, now and with
retention raised, so that the claim can be checked on the data at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.base import prepared
from rfm_loyalty._validation import Amount, Choice, Fraction, Optional, Whole, check_params
from rfm_loyalty.churn import cohort_retention
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.orders import Orders

__all__ = ["RetentionScenario", "retention_scenario"]

SCENARIO_CONSTRAINTS: dict[str, Any] = {
    "uplift": Fraction(low_open=True, example=0.05),
    "horizon_periods": Whole(minimum=1, example=12),
    "period": Choice("W", "M", "Q", "Y", example="M"),
    "margin": Optional(Fraction(low_open=True)),
    "acquisition_cost": Amount(example=0.0),
    "cohort_size": Optional(Whole(minimum=1)),
}


@dataclass(frozen=True)
class RetentionScenario:
    """A cohort projected along its retention curve, now and with retention raised.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``periods_since_acquisition`` (0 .. horizon - 1):
        ``retention_now``, ``retention_scenario`` (float64: share of the
        cohort buying in the period), ``revenue_per_active`` (float64: mean
        net revenue of a buying customer in that period, observed),
        ``cohorts_observed`` (int64: complete cohorts behind the period),
        ``customers_now``, ``customers_scenario``, ``revenue_now``,
        ``revenue_scenario``, ``profit_now``, ``profit_scenario`` (float64;
        profit NaN without a cost column or ``margin``).
    summary : pandas.DataFrame
        Index ``customers`` (buying customer-periods), ``revenue``,
        ``profit``: columns ``now``, ``scenario``, ``change``, ``lift``
        (float64; ``lift = change / now``).
    assumptions : tuple of str
        What the projection assumes, in words.
    uplift : float
    horizon_periods : int
    period : str
    margin : float or None
        The margin used (from the cost column, or as given).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    assumptions: tuple[str, ...]
    uplift: float
    horizon_periods: int
    period: str
    margin: float | None

    def __str__(self) -> str:
        lift = float(self.summary.loc["profit", "lift"])  # type: ignore[arg-type]
        what = "profit" if np.isfinite(lift) else "revenue"
        value = lift if np.isfinite(lift) else float(
            self.summary.loc["revenue", "lift"])  # type: ignore[arg-type]
        lines = [
            f"Retention +{self.uplift * 100:g} points over {self.horizon_periods} periods "
            f"({self.period}): {what} per cohort {value:+.1%} "
            "(Reichheld & Sasser 1990 report +25% to +85% for 5 points).",
        ]
        lines += [f"  assumes: {a}" for a in self.assumptions]
        return "\n".join(lines)


def retention_scenario(
    orders: Orders | pd.DataFrame,
    *,
    uplift: float = 0.05,
    horizon_periods: int = 12,
    period: str = "M",
    margin: float | None = None,
    acquisition_cost: float = 0.0,
    cohort_size: int | None = None,
    as_of: Any = None,
) -> RetentionScenario:
    """Project a cohort's customers, revenue and profit now vs with retention raised.

    From :func:`~rfm_loyalty.churn.cohort_retention`: ``r_k`` is the share of
    a cohort buying in the k-th period after acquisition, pooled over the
    cohorts whose k-th period is complete by ``as_of`` (sum of buyers / sum
    of cohort sizes); ``s_k`` the mean net revenue of a buying customer in
    it. A cohort of ``N`` customers then has ``N r_k`` buyers and
    ``N r_k s_k`` revenue in period k. The scenario raises retention by
    ``uplift`` points in every period after the first: ``r'_k = min(r_k +
    uplift, 1)`` for ``k >= 1`` (``r_0 = 1``: everyone buys when acquired),
    with the same ``s_k``. Profit is ``margin * revenue``, minus
    ``acquisition_cost * N`` in period 0; the margin is the orders' own
    ``1 - cost / amount`` when they have a cost column, else ``margin``.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
    uplift : float, default 0.05
        Points of retention added (0.05: 5 points).
    horizon_periods : int, default 12
        Periods projected, from the acquisition period; at most the number
        of complete periods the data shows after acquisition.
    period : {"W", "M", "Q", "Y"}, default "M"
    margin : float, optional
        Gross margin (0-1) when the orders have no cost column.
    acquisition_cost : float, default 0.0
        Cost of acquiring one customer, in the orders' currency.
    cohort_size : int, optional
        Customers of the projected cohort; default the mean cohort size.
    as_of : date-like, optional

    Returns
    -------
    RetentionScenario

    Raises
    ------
    InvalidParameterError
        ``horizon_periods`` beyond what the data shows, or margin given
        although the orders have a cost column.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import retention_scenario
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-05", "2024-03-05",
    ...                                   "2024-01-10", "2024-02-01", "2024-03-02",
    ...                                   "2024-04-30"]),
    ...     "amount": 100.0})
    >>> what_if = retention_scenario(frame, horizon_periods=3, margin=0.3, uplift=0.1,
    ...                              cohort_size=300)
    >>> what_if.table[["retention_now", "retention_scenario", "cohorts_observed",
    ...                "profit_now"]]
                               retention_now  retention_scenario  cohorts_observed  profit_now
    periods_since_acquisition
    0                               1.000000            1.000000                 3      9000.0
    1                               0.666667            0.766667                 2      6000.0
    2                               0.333333            0.433333                 2      3000.0
    >>> what_if.summary.loc["profit"]
    now         18000.0
    scenario    19800.0
    change       1800.0
    lift            0.1
    Name: profit, dtype: float64
    """
    params = check_params(
        "retention_scenario", SCENARIO_CONSTRAINTS,
        {"uplift": uplift, "horizon_periods": horizon_periods, "period": period,
         "margin": margin, "acquisition_cost": acquisition_cost, "cohort_size": cohort_size},
    )
    return project_retention(prepared(orders, as_of, "retention_scenario"), params)


def project_retention(orders: Orders, params: dict[str, Any], *, cut_horizon: bool = False
                      ) -> RetentionScenario:
    """Body of :func:`retention_scenario` on checked parameters.

    With ``cut_horizon`` a horizon beyond what the data show is cut to it
    (and the assumptions say so) instead of raising.
    """
    freq = params["period"]
    buyers = cohort_retention(orders, period=freq, metric="customers")
    revenue = cohort_retention(orders, period=freq, metric="revenue")
    sizes = buyers.pop("cohort_size").to_numpy(dtype=np.float64)
    revenue = revenue.drop(columns="cohort_size")
    # the as_of period is complete only when as_of is its last day
    as_of_period = pd.Period(orders.as_of, freq=freq)
    complete_until = as_of_period if orders.as_of == as_of_period.end_time.normalize() else (
        as_of_period - 1)
    cohort_ord = pd.PeriodIndex(buyers.index).asi8
    offsets = np.arange(buyers.shape[1])
    complete = cohort_ord[:, None] + offsets[None, :] <= complete_until.ordinal
    counts = np.where(complete, buyers.to_numpy(), 0.0)
    money = np.where(complete, revenue.to_numpy(), 0.0)
    observed = complete.sum(axis=0)
    available = int((observed > 0).sum())
    horizon = params["horizon_periods"]
    cut_note: tuple[str, ...] = ()
    if horizon > available and cut_horizon:
        cut_note = (f"Horizon cut from {horizon} to the {available} periods the data show.",)
        horizon = available
    if horizon > available:
        raise InvalidParameterError(
            f"The 'horizon_periods' parameter of retention_scenario must be at most {available}: "
            f"the data show {available} complete {freq} periods from acquisition on (as_of "
            f"{orders.as_of.date()}). Got {horizon!r} instead; pass e.g. "
            f"horizon_periods={available}."
        )
    exposed = (complete * sizes[:, None]).sum(axis=0)[:horizon]
    active = counts.sum(axis=0)[:horizon]
    retention = active / exposed
    with np.errstate(invalid="ignore", divide="ignore"):
        per_active = np.where(active > 0, money.sum(axis=0)[:horizon] / active, 0.0)
    scenario = np.minimum(retention + params["uplift"], 1.0)
    scenario[0] = retention[0]

    used_margin, margin_note = _margin(orders, params["margin"])
    n = float(params["cohort_size"] or sizes.mean())
    table = pd.DataFrame(
        {
            "retention_now": retention,
            "retention_scenario": scenario,
            "revenue_per_active": per_active,
            "cohorts_observed": observed[:horizon].astype(np.int64),
            "customers_now": n * retention,
            "customers_scenario": n * scenario,
            "revenue_now": n * retention * per_active,
            "revenue_scenario": n * scenario * per_active,
        },
        index=pd.Index(range(horizon), name="periods_since_acquisition"),
    )
    acquisition = np.zeros(horizon)
    acquisition[0] = params["acquisition_cost"] * n
    factor = np.nan if used_margin is None else used_margin
    table["profit_now"] = factor * table["revenue_now"] - acquisition
    table["profit_scenario"] = factor * table["revenue_scenario"] - acquisition
    rows = {}
    for name in ("customers", "revenue", "profit"):
        now = float(table[f"{name}_now"].sum(skipna=False))
        then = float(table[f"{name}_scenario"].sum(skipna=False))
        rows[name] = (now, then, then - now, (then - now) / now if now > 0 else np.nan)
    summary = pd.DataFrame.from_dict(rows, orient="index",
                                     columns=["now", "scenario", "change", "lift"])
    assumptions = (
        f"One cohort of {n:,.0f} new customers (default: the mean cohort size), followed for "
        f"{horizon} {freq} periods from its acquisition period; no discounting.",
        "Retention per period is pooled over the complete cohort periods seen so far "
        "(later periods rest on fewer, older cohorts: see cohorts_observed).",
        f"The scenario adds {params['uplift'] * 100:g} points to the share of the cohort buying "
        "in every period after the first (capped at 100%); a retained customer spends what "
        "the observed buyers of that period spent.",
        margin_note,
        f"Acquisition cost {params['acquisition_cost']:,.2f} per customer, in period 0.",
        *cut_note,
    )
    return RetentionScenario(table=table, summary=summary, assumptions=assumptions,
                             uplift=params["uplift"], horizon_periods=horizon, period=freq,
                             margin=used_margin)


def _margin(orders: Orders, margin: float | None) -> tuple[float | None, str]:
    frame = orders.frame
    if "cost" in frame.columns:
        if margin is not None:
            raise InvalidParameterError(
                "retention_scenario: the orders have a cost column, so the margin comes from "
                f"it; leave margin unset. Got margin={margin!r}."
            )
        revenue = float(frame["amount"].sum())
        used = 1.0 - float(frame["cost"].sum()) / revenue if revenue > 0 else None
        return used, (f"Profit = {used:.1%} of revenue: the orders' own margin "
                      "(1 - cost / amount over all orders)." if used is not None
                      else "Profit not projected: the orders' net revenue is <= 0.")
    if margin is None:
        return None, ("Profit not projected: the orders have no cost column and no margin "
                      "was given (pass margin=).")
    return margin, f"Profit = {margin:.1%} of revenue (the margin given; an assumption)."
