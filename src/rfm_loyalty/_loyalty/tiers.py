"""Member tiers (会员等级) by rolling spend, orders or points, and how members move between them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.base import coded_orders, prepared
from rfm_loyalty._loyalty.inputs import check_date
from rfm_loyalty._validation import Real, check
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.migration import MigrationResult, migration_from_labels
from rfm_loyalty.orders import Orders

__all__ = ["TIER_NAMES_ZH", "MemberTiers", "member_tiers", "tier_transitions"]

#: Chinese names of the usual tier names; pass ``names_zh=`` for others.
TIER_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"member": "普通会员", "silver": "银卡", "gold": "金卡", "platinum": "白金卡",
     "diamond": "钻石卡", "black": "黑卡"}
)
_BASIS = re.compile(r"^(spend|orders|points)_([1-9][0-9]*)d$")


@dataclass(frozen=True)
class MemberTiers:
    """Each customer's member tier, what the next tier needs, and the count per tier.

    Attributes
    ----------
    customers : pandas.DataFrame
        Index ``customer_id`` (customers with a purchase): ``basis``
        (float64: spend, purchases or points in the window), ``spend``
        (float64: net spend in the window), ``tier`` (ordered category, base
        tier first), ``tier_zh`` (text), ``next_tier`` (ordered category,
        NaN at the top), ``to_next_tier`` (float64: basis units still needed, NaN at the
        top), ``spend_to_next_tier`` (float64: currency still needed; for
        points ``to_next_tier / points_per_unit``; NaN for an orders basis and
        at the top).
    summary : pandas.DataFrame
        Index ``tier`` (every tier, base first): ``tier_zh``, ``threshold``
        (float64, 0 for the base tier), ``customers`` (int64),
        ``customer_share``, ``spend``, ``spend_share`` (float64; NaN when the
        total spend is <= 0), ``mean_basis`` (float64).
    thresholds : Mapping[str, float]
        Tier -> the basis it needs, ascending.
    basis : str
    window_days : int
    as_of : pandas.Timestamp
    """

    customers: pd.DataFrame
    summary: pd.DataFrame
    thresholds: Mapping[str, float]
    basis: str
    window_days: int
    as_of: pd.Timestamp


def _check(thresholds: Any, basis: Any, points_per_unit: Any, names_zh: Any, base_tier: Any,
           owner: str) -> tuple[dict[str, float], str, int, float, dict[str, str]]:
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise InvalidParameterError(
            f"The 'thresholds' parameter of {owner} must be a non-empty mapping of tier name to "
            f"the basis it needs. Got {thresholds!r} instead; pass e.g. "
            "thresholds={'silver': 1000, 'gold': 5000}."
        )
    checked = {}
    for name, value in thresholds.items():
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"The tier names in 'thresholds' of {owner} must be text. Got {name!r} instead."
            )
        checked[name] = check(value, Real(0.0, math.inf, closed="neither", what="a number"),
                              name=f"thresholds[{name!r}]", owner=owner)
    if len(set(checked.values())) != len(checked):
        raise InvalidParameterError(
            f"The 'thresholds' parameter of {owner} gives two tiers the same threshold: "
            f"{thresholds!r}. Every tier needs its own level."
        )
    if not isinstance(base_tier, str) or base_tier in checked:
        raise InvalidParameterError(
            f"The 'base_tier' parameter of {owner} must be a name (str) that is not in "
            f"thresholds. Got {base_tier!r} instead."
        )
    match = _BASIS.match(basis) if isinstance(basis, str) else None
    if match is None:
        raise InvalidParameterError(
            f"The 'basis' parameter of {owner} must be 'spend_<N>d', 'orders_<N>d' or "
            f"'points_<N>d' (N days back from as_of). Got {basis!r} instead; pass e.g. "
            "basis='spend_365d'."
        )
    rate = check(points_per_unit, Real(0.0, math.inf, closed="neither", what="a number"),
                 name="points_per_unit", owner=owner)
    zh = dict(TIER_NAMES_ZH)
    if names_zh is not None:
        if not isinstance(names_zh, Mapping):
            raise InvalidParameterError(
                f"The 'names_zh' parameter of {owner} must be a mapping of tier name to its "
                f"Chinese name. Got {names_zh!r} instead."
            )
        zh.update(names_zh)
    ordered = dict(sorted(checked.items(), key=lambda item: item[1]))
    return ordered, match.group(1), int(match.group(2)), rate, zh


def member_tiers(
    orders: Orders | pd.DataFrame,
    *,
    thresholds: Mapping[str, float],
    basis: str = "spend_365d",
    points_per_unit: float = 1.0,
    base_tier: str = "member",
    names_zh: Mapping[str, str] | None = None,
    as_of: Any = None,
) -> MemberTiers:
    """Give every customer a member tier from their rolling spend, orders or points.

    The window is the ``N`` days back from ``as_of`` (``0 <= as_of - day <
    N``). ``spend_<N>d``: net amount of the orders in it (returns reduce
    it); ``orders_<N>d``: purchases in it; ``points_<N>d``:
    ``floor(points_per_unit * spend)`` (0 when the spend is negative). A
    customer holds the highest tier whose threshold the basis reaches
    (``basis >= threshold``), else ``base_tier``.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
    thresholds : mapping of str to float
        Tier name -> basis needed (> 0), e.g. ``{"silver": 1000, "gold": 5000}``;
        no default, since it is a business rule in the orders' currency.
    basis : str, default "spend_365d"
    points_per_unit : float, default 1.0
        Points per unit of currency (``points_<N>d`` only).
    base_tier : str, default "member"
        The tier below the lowest threshold.
    names_zh : mapping of str to str, optional
        Chinese names, added to / overriding :data:`TIER_NAMES_ZH`
        (``member`` 普通会员, ``silver`` 银卡, ``gold`` 金卡, ...); a tier
        without one shows its own name.
    as_of : date-like, optional

    Returns
    -------
    MemberTiers

    Examples
    --------
    >>> from rfm_loyalty.loyalty import member_tiers
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c"],
    ...     "order_date": pd.to_datetime(["2023-01-10", "2024-06-01", "2024-03-01",
    ...                                   "2024-06-30"]),
    ...     "amount": [9000.0, 1200.0, 6000.0, 300.0]})
    >>> tiers = member_tiers(frame, thresholds={"silver": 1000, "gold": 5000})
    >>> tiers.customers[["basis", "tier", "tier_zh", "to_next_tier"]]
                  basis    tier tier_zh  to_next_tier
    customer_id
    a            1200.0  silver      银卡        3800.0
    b            6000.0    gold      金卡           NaN
    c             300.0  member    普通会员         700.0
    >>> tiers.summary[["threshold", "customers", "spend_share"]]
            threshold  customers  spend_share
    tier
    member        0.0          1     0.040000
    silver     1000.0          1     0.160000
    gold       5000.0          1     0.800000
    """
    owner = "member_tiers"
    ordered, kind, window, rate, zh = _check(thresholds, basis, points_per_unit, names_zh,
                                             base_tier, owner)
    prepared_orders = prepared(orders, as_of, owner)
    return _tiers(prepared_orders, ordered, kind, window, rate, zh, base_tier, basis)


def _tiers(orders: Orders, ordered: dict[str, float], kind: str, window: int, rate: float,
           zh: dict[str, str], base_tier: str, basis: str) -> MemberTiers:
    c = coded_orders(orders, "member_tiers")
    m = len(c.buyers)
    inside = (c.as_of_day - c.day) < window  # every order is on or before as_of
    rows = c.row[c.code[inside]]
    keep = rows >= 0
    rows = rows[keep]
    spend = np.bincount(rows, weights=c.amount[inside][keep], minlength=m)
    if kind == "spend":
        value = spend
    elif kind == "orders":
        value = np.bincount(rows[c.purchase[inside][keep]], minlength=m).astype(np.float64)
    else:
        value = np.floor(np.maximum(spend, 0.0) * rate)
    names = [base_tier, *ordered]
    levels = np.array([0.0, *ordered.values()])
    code = np.searchsorted(levels[1:], value, side="right")  # thresholds reached
    top = len(levels) - 1
    with np.errstate(invalid="ignore"):
        to_next = np.where(code < top, levels[np.minimum(code + 1, top)] - value, np.nan)
    if kind == "spend":
        spend_to_next = to_next
    elif kind == "points":
        spend_to_next = to_next / rate
    else:
        spend_to_next = np.full(m, np.nan)
    tier = pd.Categorical.from_codes(code, categories=pd.Index(names), ordered=True)
    next_names = pd.Categorical.from_codes(np.where(code < top, code, -1),
                                           categories=pd.Index(names[1:]), ordered=True)
    customers = pd.DataFrame(
        {"basis": value, "spend": spend, "tier": tier,
         "tier_zh": np.array([zh.get(n, n) for n in names], dtype=object)[code],
         "next_tier": next_names, "to_next_tier": to_next,
         "spend_to_next_tier": spend_to_next},
        index=c.index,
    )
    counts = np.bincount(code, minlength=len(names))
    sums = np.bincount(code, weights=spend, minlength=len(names))
    basis_sums = np.bincount(code, weights=value, minlength=len(names))
    total = float(spend.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        summary = pd.DataFrame(
            {
                "tier_zh": [zh.get(n, n) for n in names],
                "threshold": levels,
                "customers": counts.astype(np.int64),
                "customer_share": counts / max(m, 1),
                "spend": sums,
                "spend_share": sums / total if total > 0 else np.full(len(names), np.nan),
                "mean_basis": np.where(counts > 0, basis_sums / counts, np.nan),
            },
            index=pd.Index(names, name="tier"),
        )
    return MemberTiers(customers=customers, summary=summary,
                       thresholds=MappingProxyType(ordered), basis=basis, window_days=window,
                       as_of=orders.as_of)


def tier_transitions(
    orders: Orders | pd.DataFrame,
    from_date: Any,
    to_date: Any,
    *,
    thresholds: Mapping[str, float],
    basis: str = "spend_365d",
    points_per_unit: float = 1.0,
    base_tier: str = "member",
) -> MigrationResult:
    """Cross-tabulate each customer's tier at ``from_date`` against ``to_date``.

    Upgrades are above the diagonal, downgrades below; customers whose first
    purchase is after ``from_date`` form the row ``"not yet a customer"``
    (:func:`~rfm_loyalty.migration.segment_migration`'s table, ``by =
    "member_tier"``).

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
    from_date, to_date : date-like
        ``from_date < to_date``.
    thresholds, basis, points_per_unit, base_tier
        As for :func:`member_tiers`.

    Returns
    -------
    MigrationResult

    Examples
    --------
    >>> from rfm_loyalty.loyalty import tier_transitions
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                       "order_date": pd.to_datetime(["2024-01-10", "2024-05-01",
    ...                                                     "2024-02-01"]),
    ...                       "amount": [600.0, 600.0, 200.0]})
    >>> moves = tier_transitions(frame, "2024-02-28", "2024-05-01",
    ...                          thresholds={"silver": 1000})
    >>> moves.counts
    to_label            member  silver
    from_label
    member                   1       1
    silver                   0       0
    not yet a customer       0       0
    """
    owner = "tier_transitions"
    ordered, kind, window, rate, zh = _check(thresholds, basis, points_per_unit, None,
                                             base_tier, owner)
    start, end = check_date(from_date, "from_date"), check_date(to_date, "to_date")
    if not start < end:
        raise ValueError(
            f"tier_transitions needs from_date < to_date. Got from_date={from_date!r} and "
            f"to_date={to_date!r}; swap or change them."
        )
    at_end = prepared(orders, end, owner)
    labels = [
        _tiers(when, ordered, kind, window, rate, zh, base_tier, basis).customers["tier"]
        for when in (at_end.until(start), at_end)
    ]
    return migration_from_labels(labels[0], labels[1], from_date=start, to_date=end,
                                 by="member_tier")
