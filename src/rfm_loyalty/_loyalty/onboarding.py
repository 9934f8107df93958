"""Onboarding: how many new customers come back for a second purchase, and how fast.

A customer is *new* on their first purchase day ``d_1``; their *second
purchase* is their next purchase day ``d_2 > d_1`` (a second order on the
first day is the same visit). The time to the second purchase is
``T = d_2 - d_1`` days; a customer without a second purchase by ``as_of`` is
*censored* at ``A - d_1``: we only know that ``T`` is longer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.base import coded_orders, prepared
from rfm_loyalty._validation import Choice, Fraction, check, check_params
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.orders import Orders

__all__ = ["SecondPurchase", "kaplan_meier", "second_purchase"]

_CONSTRAINTS = {
    "by": Choice("D", "W", "M", "Q", "Y", example="M"),
    "confidence": Fraction(low_open=True, high_open=True, example=0.95),
}


@dataclass(frozen=True)
class SecondPurchase:
    """Second-purchase rates per acquisition cohort and the time-to-second-purchase curve.

    Attributes
    ----------
    cohorts : pandas.DataFrame
        Index ``cohort`` (period of the first purchase). Columns:
        ``new_customers`` (int64), then for each window ``w`` of
        ``within_days``: ``closed_{w}d`` (int64: customers whose window has
        closed, ``d_1 + w <= as_of``), ``repeat_{w}d`` (int64: of those, the
        ones with ``T <= w``) and ``rate_{w}d`` (float64: their share; NaN
        when no window has closed).
    overall : pandas.Series
        The same counts and rates over every cohort, plus ``km_{w}d``: the
        Kaplan-Meier share ``1 - S(w)`` over all new customers, censored ones
        included.
    curve : pandas.DataFrame
        Kaplan-Meier estimate of ``S(t) = P(T > t)``, one row per cohort and
        distinct duration (and ``t = 0``): ``cohort`` (text, ``"all"`` for
        everyone), ``days`` (int64), ``at_risk``, ``events``, ``censored``
        (int64), ``survival``, ``lower``, ``upper`` (float64: the
        confidence band), ``repurchased`` = 1 - survival and its band
        ``repurchased_lower``, ``repurchased_upper``.
    within_days : tuple of int
    by : str
    as_of : pandas.Timestamp
    confidence : float
    notes : tuple of str
        What the figures cannot show (censoring, the first cohort's warm-up).
    """

    cohorts: pd.DataFrame
    overall: pd.Series
    curve: pd.DataFrame
    within_days: tuple[int, ...]
    by: str
    as_of: pd.Timestamp
    confidence: float
    notes: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        parts = [f"Second purchase as of {self.as_of.date()} "
                 f"({int(self.overall['new_customers']):,} new customers)"]
        for w in self.within_days:
            parts.append(
                f"  within {w} days: {self.overall[f'rate_{w}d']:.1%} of "
                f"{int(self.overall[f'closed_{w}d']):,} with a closed window; "
                f"Kaplan-Meier {self.overall[f'km_{w}d']:.1%}"
            )
        parts.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(parts)


def second_purchase(
    orders: Orders | pd.DataFrame,
    *,
    within_days: Sequence[int] = (30, 60, 90),
    by: str = "M",
    as_of: Any = None,
    confidence: float = 0.95,
) -> SecondPurchase:
    """Share of new customers who buy again within 30/60/90 days, per acquisition cohort.

    Censoring: a customer acquired less than ``w`` days before ``as_of``
    could still buy again within ``w`` days, so the cohort share for ``w``
    counts only customers whose window has closed (``d_1 + w <= as_of``);
    the others are left out of both numerator and denominator, never counted
    as "did not come back". The Kaplan-Meier curve uses everyone: a customer
    without a second purchase is censored at ``as_of - d_1``.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders or order lines with the canonical names.
    within_days : sequence of int, default (30, 60, 90)
        The windows, in days (each >= 1, distinct).
    by : {"D", "W", "M", "Q", "Y"}, default "M"
        Length of an acquisition cohort (the period of ``d_1``).
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``.
    confidence : float, default 0.95
        Level of the Kaplan-Meier band (log(-log) transformed Greenwood
        variance, Kalbfleisch & Prentice 2002, so the band stays in [0, 1]).

    Returns
    -------
    SecondPurchase
        ``cohorts``, ``overall`` and ``curve``; see :class:`SecondPurchase`.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import second_purchase
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-01-25", "2024-01-20",
    ...                                   "2024-02-10", "2024-03-31"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 9.0]})
    >>> onboarding = second_purchase(frame, within_days=(30, 60))
    >>> onboarding.cohorts
             new_customers  closed_30d  repeat_30d  rate_30d  closed_60d  repeat_60d  rate_60d
    cohort
    2024-01              2           2           1       0.5           2           1       0.5
    2024-02              1           1           0       0.0           0           0       NaN
    """
    params = check_params("second_purchase", _CONSTRAINTS, {"by": by, "confidence": confidence})
    windows = _check_windows(within_days)
    orders = prepared(orders, as_of, "second_purchase")
    c = coded_orders(orders, "second_purchase")
    first_pos = np.flatnonzero(c.first_of_customer)
    first = c.pd_day[first_pos]
    has_second = np.r_[first_pos[1:] - first_pos[:-1] > 1, len(c.pd_day) - first_pos[-1] > 1]
    second = c.pd_day[np.minimum(first_pos + 1, len(c.pd_day) - 1)]
    event = has_second
    duration = np.where(event, second - first, c.as_of_day - first).astype(np.int64)

    period = _periods(first, params["by"])
    labels, cohort = np.unique(period, return_inverse=True)
    cohort_index = pd.PeriodIndex(
        pd.Series(labels).map(lambda o: pd.Period(ordinal=o, freq=params["by"])),
        name="cohort",
    )
    age = c.as_of_day - first
    columns: dict[str, Any] = {"new_customers": np.bincount(cohort).astype(np.int64)}
    overall: dict[str, Any] = {"new_customers": len(first)}
    for w in windows:
        closed = age >= w
        repeat = closed & event & (duration <= w)
        n_closed = np.bincount(cohort[closed], minlength=len(labels)).astype(np.int64)
        n_repeat = np.bincount(cohort[repeat], minlength=len(labels)).astype(np.int64)
        columns[f"closed_{w}d"] = n_closed
        columns[f"repeat_{w}d"] = n_repeat
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"rate_{w}d"] = np.where(n_closed > 0, n_repeat / n_closed, np.nan)
        overall[f"closed_{w}d"] = int(closed.sum())
        overall[f"repeat_{w}d"] = int(repeat.sum())
        overall[f"rate_{w}d"] = repeat.sum() / closed.sum() if closed.any() else np.nan
    cohorts = pd.DataFrame(columns, index=cohort_index)

    everyone = kaplan_meier(duration, event, confidence=params["confidence"])
    by_cohort = kaplan_meier(duration, event, group=cohort, confidence=params["confidence"])
    by_cohort.insert(0, "cohort", cohort_index.astype(str)[by_cohort.pop("group").to_numpy()])
    everyone.insert(0, "cohort", "all")
    curve = pd.concat([everyone.drop(columns="group"), by_cohort], ignore_index=True)
    for w in windows:
        at = everyone["days"].searchsorted(w, side="right") - 1
        overall[f"km_{w}d"] = float(everyone["repurchased"].iloc[at])
    notes = (
        "Rates count only customers whose window has closed by as_of; the Kaplan-Meier "
        "curve also uses the others, censored at as_of.",
        f"The first cohort ({cohort_index[0]}) also holds customers who bought before the "
        "data starts: their 'first' purchase may not be their first.",
    )
    return SecondPurchase(
        cohorts=cohorts, overall=pd.Series(overall, name="all", dtype="float64"), curve=curve,
        within_days=windows, by=params["by"], as_of=orders.as_of,
        confidence=params["confidence"], notes=notes,
    )


def _check_windows(within_days: Any) -> tuple[int, ...]:
    if isinstance(within_days, (int, np.integer)) and not isinstance(within_days, bool):
        within_days = (within_days,)
    if isinstance(within_days, (str, bytes)) or not isinstance(within_days, Sequence) or (
        len(within_days) == 0
    ):
        raise InvalidParameterError(
            "The 'within_days' parameter of second_purchase must be a non-empty sequence of "
            f"whole numbers of days >= 1. Got {within_days!r} instead; pass e.g. "
            "within_days=(30, 60, 90)."
        )
    from rfm_loyalty._validation import Days

    windows = tuple(check(w, Days(), name="within_days", owner="second_purchase")
                    for w in within_days)
    if len(set(windows)) != len(windows):
        raise InvalidParameterError(
            f"The 'within_days' parameter of second_purchase must not repeat a window. Got "
            f"{within_days!r} instead."
        )
    return tuple(sorted(windows))


def _periods(days: np.ndarray, by: str) -> np.ndarray:
    """Period ordinals of day numbers (each distinct day converted once)."""
    distinct, inverse = np.unique(days, return_inverse=True)
    stamps = pd.DatetimeIndex(distinct.astype("datetime64[D]").astype("datetime64[ns]"))
    return np.asarray(stamps.to_period(by).asi8, dtype=np.int64)[inverse]


def kaplan_meier(
    duration: np.ndarray,
    event: np.ndarray,
    *,
    group: np.ndarray | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan-Meier estimate of ``S(t) = P(T > t)`` per group, with its confidence band.

    ``S(t) = prod_{t_i <= t} (1 - d_i / n_i)`` over the distinct durations
    ``t_i`` (``n_i`` at risk: duration >= t_i; ``d_i`` events at t_i).
    Greenwood: ``V(t) = sum d_i / (n_i (n_i - d_i))``; the band is
    ``exp(-exp(log(-log S) +- z sqrt(V) / log S))``; it is 1 while ``S = 1``
    and 0 once ``S = 0``.

    Parameters
    ----------
    duration : array of int >= 0
    event : array of bool
        True: the event happened at ``duration``; False: censored there.
    group : array of int, optional
        Group code per row (0..G-1); default one group.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        ``group``, ``days``, ``at_risk``, ``events``, ``censored`` (int64),
        ``survival``, ``lower``, ``upper``, ``repurchased``,
        ``repurchased_lower``, ``repurchased_upper`` (float64); a row at
        ``days = 0`` for every group.

    Examples
    --------
    >>> from rfm_loyalty._loyalty.onboarding import kaplan_meier
    >>> km = kaplan_meier(np.array([2, 3, 3, 5]), np.array([True, True, False, False]))
    >>> km[["days", "at_risk", "events", "survival"]]
       days  at_risk  events  survival
    0     0        4       0      1.00
    1     2        4       1      0.75
    2     3        3       1      0.50
    3     5        1       0      0.50
    """
    duration = np.asarray(duration, dtype=np.int64)
    event = np.asarray(event, dtype=bool)
    group = np.zeros(len(duration), dtype=np.int64) if group is None else np.asarray(group)
    n_groups = int(group.max()) + 1 if len(group) else 0
    span = int(duration.max()) + 1 if len(duration) else 1
    # a zero-duration row per group, so that every curve starts at S(0) = 1
    key = np.r_[group.astype(np.int64) * span + duration, np.arange(n_groups) * span]
    pad = np.r_[np.ones(len(duration)), np.zeros(n_groups)]
    ev = np.r_[event, np.zeros(n_groups, dtype=bool)]
    keys, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=pad, minlength=len(keys)).astype(np.int64)
    events = np.bincount(inverse, weights=ev.astype(np.float64), minlength=len(keys))
    events = events.astype(np.int64)
    g = keys // span
    size = np.bincount(group, minlength=n_groups)
    table = pd.DataFrame({"group": g, "days": keys % span, "total": total, "events": events})
    removed_before = table.groupby("group")["total"].cumsum() - table["total"]
    at_risk = size[g] - removed_before.to_numpy()
    table["at_risk"] = at_risk
    table["censored"] = table["total"] - table["events"]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = 1.0 - events / at_risk
        table["survival"] = pd.Series(step).groupby(g).cumprod().to_numpy()
        increment = events / (at_risk * (at_risk - events))
        variance = pd.Series(increment).groupby(g).cumsum().to_numpy()
        s = table["survival"].to_numpy()
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        log_s = np.log(s)
        centre = np.log(-log_s)
        width = z * np.sqrt(variance) / log_s  # negative: log S < 0
        lower = np.exp(-np.exp(centre - width))
        upper = np.exp(-np.exp(centre + width))
    # the band collapses onto the estimate at both ends (as lifelines reports it)
    lower = np.where(s == 1.0, 1.0, np.where(s == 0.0, 0.0, lower))
    upper = np.where(s == 1.0, 1.0, np.where(s == 0.0, 0.0, upper))
    table["lower"], table["upper"] = lower, upper
    table["repurchased"] = 1.0 - s
    table["repurchased_lower"] = 1.0 - upper
    table["repurchased_upper"] = 1.0 - lower
    order = ["group", "days", "at_risk", "events", "censored", "survival", "lower", "upper",
             "repurchased", "repurchased_lower", "repurchased_upper"]
    out = table[order].astype({"at_risk": np.int64, "censored": np.int64, "days": np.int64})
    return out.reset_index(drop=True)
