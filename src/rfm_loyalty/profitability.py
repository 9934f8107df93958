"""Customer profit, the whale curve, Sherden's 80/20/30 check and 20/60/20 tiers.

Revenue concentration (`rfm_loyalty.concentration.pareto`) can never show a
customer who costs more than they bring. Profit can: `customer_profit` turns
orders into profit per customer with a stated cost model, and `profitability`
measures it against the seeds' rules:

* "the top 20% of customers make 80% of the profit";
* Sherden's refinement (80/20/30): half of that profit is lost serving the
  bottom 30%, the unprofitable customers;
* the 20/60/20 tiers: profitable (invest), break-even (keep),
  resource-wasting (reduce cost-to-serve or let go).

Exact definitions, with a worked example, are in ``docs/profitability.md``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty._ranking import (
    cumulative_sums,
    customer_values,
    fmt_pct,
    rank_order,
    top_count,
)
from rfm_loyalty._validation import Amount, Choice, Fraction, Real, check
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.orders import Orders
from rfm_loyalty.summary import CustomerBase, customer_base

__all__ = [
    "TIER_ACTIONS",
    "TIER_LABELS",
    "ProfitabilityResult",
    "TierAction",
    "customer_profit",
    "profit_tiers",
    "profitability",
]

# Worst to best, so that an ordered comparison reads "at least break-even".
TIER_LABELS: tuple[str, str, str] = ("resource_wasting", "break_even", "profitable")
# Slack for comparisons of shares (ratios of floating-point sums).
_SHARE_EPS = 1e-12


@dataclass(frozen=True)
class TierAction:
    """A profit tier's name and what to do with its customers, in English and Chinese.

    Attributes
    ----------
    label : str
        The tier label used in the ``tiers`` Series.
    name_zh : str
        Chinese name of the tier.
    action : str
        Recommended action (English).
    action_zh : str
        Recommended action (Chinese).
    """

    label: str
    name_zh: str
    action: str
    action_zh: str


TIER_ACTIONS: Mapping[str, TierAction] = MappingProxyType(
    {
        "profitable": TierAction(
            "profitable",
            "价值顾客",
            "Invest: protect and grow them (service priority, loyalty benefits, "
            "retention budget first).",
            "重点投入：优先服务、会员权益，保留预算优先用于他们。",
        ),
        "break_even": TierAction(
            "break_even",
            "保本顾客",
            "Keep: serve at standard cost and try to move them up (second purchase, "
            "cross-sell, bigger baskets).",
            "保持：以标准成本服务，设法提升（复购、交叉销售、提高客单价）。",
        ),
        "resource_wasting": TierAction(
            "resource_wasting",
            "浪费资源顾客",
            "Reduce cost: cut the cost to serve them (cheaper channels, minimum order "
            "value, fees for returns) or let them go.",
            "降低服务成本（低成本渠道、最低订单金额、退货收费），或放弃。",
        ),
    }
)


_COST = Amount()
_MARGIN = Fraction(low_open=True, example=0.3)


def customer_profit(
    orders: Orders | pd.DataFrame | CustomerBase,
    *,
    margin: float | None = None,
    cost_per_order: float = 0.0,
    cost_per_customer: float = 0.0,
    as_of: Any = None,
) -> pd.Series:
    """Profit per customer under a stated cost model.

    ``profit = gross - cost_per_order * n_orders - cost_per_customer`` where
    ``gross`` is the sum of ``amount - cost`` over the customer's orders when
    the orders carry a cost column, else ``margin * `` the sum of amounts.
    ``n_orders`` counts every order, returns included (handling a return
    costs too).

    Parameters
    ----------
    orders : Orders, pandas.DataFrame or CustomerBase
        Prepared orders (`rfm_loyalty.orders.prepare_orders`), a DataFrame
        with the canonical column names, or a customer base.
    margin : float or None, default None
        Gross margin as a fraction of revenue, in (0, 1]. Required when the
        orders have no cost column; must be None when they have one.
    cost_per_order : float, default 0.0
        Cost to serve one order (handling, payment, packing), >= 0, in the
        orders' currency.
    cost_per_customer : float, default 0.0
        Fixed cost of keeping one customer over the period (account,
        marketing), >= 0, in the orders' currency.
    as_of : date-like, optional
        Analysis date; only orders on or before it count.

    Returns
    -------
    pandas.Series
        ``profit`` (float64, currency units), indexed by ``customer_id`` in
        sorted order: one entry for every customer with at least one order,
        including customers whose only orders are returns (they can be
        unprofitable, unlike in ``rfm_table`` which lists purchasers only).

    Raises
    ------
    SchemaError
        Neither a cost column nor ``margin``: revenue alone cannot show an
        unprofitable customer.
    ValueError
        ``margin`` outside (0, 1] or given together with a cost column; a
        negative or non-finite cost.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.orders import prepare_orders
    >>> raw = pd.DataFrame({
    ...     "customer_id": ["A", "A", "B", "B"],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-01",
    ...                                   "2024-01-10", "2024-01-20"]),
    ...     "amount": [200.0, 100.0, 80.0, -80.0],
    ...     "order_id": [1, 2, 3, 4]})
    >>> customer_profit(prepare_orders(raw), margin=0.3, cost_per_order=5.0,
    ...                 cost_per_customer=10.0)
    customer_id
    A    70.0
    B   -20.0
    Name: profit, dtype: float64
    """
    per_order = check(cost_per_order, _COST, name="cost_per_order", owner="customer_profit",
                      hint="in the orders' currency")
    per_customer = check(cost_per_customer, _COST, name="cost_per_customer",
                         owner="customer_profit", hint="in the orders' currency")
    if margin is not None:
        margin = check(margin, _MARGIN, name="margin", owner="customer_profit")
    base = customer_base(orders, as_of=as_of)
    frame = base.require_orders("customer_profit").frame
    has_cost = "cost" in frame.columns
    if margin is None and not has_cost:
        raise SchemaError(
            "customer_profit needs a cost input: the orders have no 'cost' column and "
            "margin=None. Revenue alone can never show an unprofitable customer. Pass "
            "margin= (gross margin as a fraction of revenue, e.g. margin=0.3), or prepare "
            "the orders with OrderColumns(cost=...) naming the cost column."
        )
    if margin is not None and has_cost:
        raise ValueError(
            f"customer_profit got margin={margin!r} but the orders already have a 'cost' "
            "column; profit would be defined twice. Pass margin=None to use the costs, or "
            "prepare the orders without cost= to use the margin."
        )
    # one bincount per sum over the base's customer codes: ids are not hashed again
    codes, index = base.order_customer, base.customer_index
    n = len(index)
    revenue = base.money(np.bincount(codes, weights=frame["amount"].to_numpy("float64"),
                                     minlength=n))
    gross: np.ndarray
    if has_cost:
        cost = np.bincount(codes, weights=frame["cost"].to_numpy("float64"), minlength=n)
        gross = revenue - cost
    else:
        assert margin is not None
        gross = margin * revenue
    n_orders = np.bincount(codes, minlength=n)
    profit = gross - per_order * n_orders - per_customer
    return pd.Series(profit.astype("float64"), index=index.rename("customer_id"), name="profit")


def profit_tiers(
    profit: pd.Series,
    *,
    by: Literal["rank", "sign"] = "rank",
    tiers: tuple[float, float, float] = (0.2, 0.6, 0.2),
    band: float = 0.0,
) -> pd.Series:
    """Label each customer ``profitable``, ``break_even`` or ``resource_wasting``.

    Parameters
    ----------
    profit : pandas.Series
        Profit per customer (e.g. from `customer_profit`).
    by : {"rank", "sign"}, default "rank"
        ``"rank"``: the ``ceil(tiers[0] * N)`` highest customers are
        profitable, the ``ceil(tiers[2] * N)`` lowest resource-wasting (capped
        so the two never overlap), the rest break-even. Equal profit always
        gives the same tier: a group of equal values that straddles a
        boundary goes to the break-even tier, so the outer tiers never exceed
        their nominal size. ``"sign"``: profitable above ``+band``,
        resource-wasting below ``-band``, break-even within the band.
    tiers : tuple of three floats, default (0.2, 0.6, 0.2)
        Fractions of customers (top, middle, bottom) for ``by="rank"``; each
        in [0, 1], summing to 1.
    band : float, default 0.0
        Half-width of the break-even band in currency units, >= 0, for
        ``by="sign"``.

    Returns
    -------
    pandas.Series
        ``tier``: ordered categorical with categories ``resource_wasting <
        break_even < profitable``, same index and order as ``profit``. Each
        tier's action is in ``TIER_ACTIONS``.

    Examples
    --------
    >>> import pandas as pd
    >>> profit = pd.Series([90.0, 40.0, 10.0, 10.0, -30.0], index=list("ABCDE"))
    >>> profit_tiers(profit).tolist()
    ['profitable', 'break_even', 'break_even', 'break_even', 'resource_wasting']
    >>> profit_tiers(profit, by="sign", band=10.0).tolist()
    ['profitable', 'profitable', 'break_even', 'break_even', 'resource_wasting']
    """
    values = customer_values(profit, "profit_tiers")
    fractions, band = _check_tier_options(by, tiers, band, owner="profit_tiers")
    codes = _tier_codes(values.to_numpy(), by, fractions, band)
    labels = pd.Categorical.from_codes(
        codes, dtype=pd.CategoricalDtype(list(TIER_LABELS), ordered=True)
    )
    return pd.Series(labels, index=values.index, name="tier")


def _tier_codes(
    values: np.ndarray, by: str, fractions: tuple[float, float, float], band: float,
    descending: np.ndarray | None = None,
) -> np.ndarray:
    """Tier code of each value (0 resource_wasting, 1 break_even, 2 profitable).

    ``descending`` (positions that sort the values largest first) spares a sort
    when the caller has one.
    """
    codes = np.ones(len(values), dtype="int8")
    if by == "sign":
        codes[values > band] = 2
        codes[values < -band] = 0
        return codes
    n = len(values)
    n_top = top_count(fractions[0], n)
    n_bottom = min(top_count(fractions[2], n), n - n_top)
    if descending is None:
        descending = np.argsort(values, kind="stable")[::-1]
    ranked = values[descending]
    # Position of the last of a group of equal values, counted from the top and
    # from the bottom (pandas' rank(method="max")), so that a group is in an
    # outer tier only when it fits in it entirely. Groups are runs of equal
    # values in the ranking: one pass, no search.
    first_of_group = np.empty(n, dtype=bool)
    first_of_group[:1] = True
    np.not_equal(ranked[1:], ranked[:-1], out=first_of_group[1:])
    starts = np.flatnonzero(first_of_group)
    group = np.cumsum(first_of_group) - 1
    from_top = np.append(starts[1:], n)[group]  # values >= this one
    from_bottom = n - starts[group]  # values <= this one
    ranked_codes = np.ones(n, dtype="int8")
    ranked_codes[from_top <= n_top] = 2
    ranked_codes[from_bottom <= n_bottom] = 0
    codes[descending] = ranked_codes
    return codes


_BY = Choice("rank", "sign")


def _check_tier_options(
    by: Any, tiers: Any, band: Any, *, owner: str
) -> tuple[tuple[float, float, float], float]:
    check(by, _BY, name="by", owner=owner)
    band = check(band, Amount(example=0.0), name="band", owner=owner, hint="in currency units")
    return _check_tiers(tiers), band


def _check_tiers(tiers: Any) -> tuple[float, float, float]:
    ok = isinstance(tiers, (tuple, list)) and len(tiers) == 3
    if ok:
        try:
            fractions = tuple(check(t, Fraction(), name="tiers", owner="profit_tiers")
                              for t in tiers)
        except ValueError:
            ok = False
        else:
            ok = abs(sum(fractions) - 1.0) <= 1e-9
    if not ok:
        raise ValueError(
            "The 'tiers' parameter must be three fractions (top, middle, bottom) in [0, 1] "
            f"summing to 1, e.g. (0.2, 0.6, 0.2). Got {tiers!r} instead."
        )
    return fractions[0], fractions[1], fractions[2]


@dataclass(frozen=True, eq=False)
class ProfitabilityResult:
    """Profit concentration, Sherden's 80/20/30 check and the profit tiers.

    Every share is a share of the total profit; when the total is <= 0 those
    shares are undefined, set to NaN, ``total_positive`` is False and
    ``message`` says why. ``unprofitable_share``, ``loss_share`` and the tiers
    stay defined.

    Attributes
    ----------
    n_customers : int
        N, the number of customers.
    total_profit : float
        Sum of all customers' profit.
    total_positive : bool
        Whether total_profit > 0.
    message : str
        Empty when total_positive, else the reason the shares are NaN.
    ranked : pandas.Series
        Profit (float64) largest first; equal values in customer-id order.
    whale : pandas.DataFrame
        The whale curve, N + 1 rows indexed by ``rank`` (int64, 0..N: the
        number of top customers included; row 0 is the origin). Columns
        ``customer_share`` (float64, rank / N), ``cumulative_profit``
        (float64, profit of the rank best customers) and ``profit_share``
        (float64, cumulative_profit / total_profit; NaN when the total <= 0).
        The last row's profit_share is exactly 1.0.
    whale_peak : float
        Highest profit_share (1.6 = the best customers make 160% of the total).
    whale_peak_at : float
        customer_share where the peak is first reached.
    top20_share : float
        Share of the total made by the ``ceil(top * N)`` most profitable
        customers (top = 0.2 by default; the name is Sherden's).
    bottom30_share : float
        Share of the total made by the ``min(ceil(bottom * N), N - ceil(top * N))``
        least profitable customers; negative when they lose money.
    erosion : float
        Share of the top group's profit that the bottom group erases:
        ``-bottom30_share / top20_share`` when bottom30_share < 0, else 0.
    unprofitable_share : float
        Fraction of customers with profit < 0.
    loss_share : float
        Sum of losses / sum of positive profits (NaN when no customer has a
        positive profit).
    holds_80_20 : bool
        ``abs(top20_share - 0.8) <= tolerance``.
    holds_80_20_30 : bool
        holds_80_20 and ``abs(erosion - 0.5) <= tolerance``.
    tiers : pandas.Series
        Tier per customer (see `profit_tiers`), in the input's order.
    tier_summary : pandas.DataFrame
        One row per tier, best first, indexed by ``tier``: ``n_customers``
        (int64), ``customer_share``, ``profit``, ``profit_share`` (float64;
        NaN when the total <= 0), ``name_zh``, ``action``, ``action_zh``
        (text).
    top, bottom, tier_fractions, by, band, tolerance
        The parameters used.
    ranked_positions : numpy.ndarray of int64
        Element i is the input position of the customer ranked i + 1
        (``profit.iloc[ranked_positions]`` is ``ranked``).
    """

    n_customers: int
    total_profit: float
    total_positive: bool
    message: str
    ranked: pd.Series
    whale: pd.DataFrame
    whale_peak: float
    whale_peak_at: float
    top20_share: float
    bottom30_share: float
    erosion: float
    unprofitable_share: float
    loss_share: float
    holds_80_20: bool
    holds_80_20_30: bool
    tiers: pd.Series
    tier_summary: pd.DataFrame
    top: float
    bottom: float
    tier_fractions: tuple[float, float, float]
    by: str
    band: float
    tolerance: float
    ranked_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64),
                                         repr=False)

    def _rows(self) -> list[tuple[str, str]]:
        top, bottom = f"{self.top:.0%}", f"{self.bottom:.0%}"
        tol = f"(±{self.tolerance * 100:g} pts)"
        yes_no = {True: "yes", False: "no"}
        rows = [
            (f"top {top} of customers make", fmt_pct(self.top20_share)),
            (f"bottom {bottom} of customers make", fmt_pct(self.bottom30_share)),
            (f"erosion of the top {top}'s profit", fmt_pct(self.erosion)),
            (
                "whale curve peak",
                "undefined"
                if not self.total_positive
                else f"{self.whale_peak:.1%} at {self.whale_peak_at:.1%} of customers",
            ),
            ("unprofitable customers", fmt_pct(self.unprofitable_share)),
            ("losses / positive profits", fmt_pct(self.loss_share)),
            (f"80/20 holds {tol}", yes_no[self.holds_80_20]),
            (f"80/20/30 holds {tol}", yes_no[self.holds_80_20_30]),
        ]
        for label, row in self.tier_summary.iterrows():
            verb = str(row["action"]).split(":", 1)[0]  # "Invest", "Keep", ...
            rows.append(
                (
                    f"tier {label}",
                    f"{row['n_customers']:,} customers ({fmt_pct(row['customer_share'])}), "
                    f"{fmt_pct(row['profit_share'])} of profit -> {verb}",
                )
            )
        return rows

    def _title(self) -> str:
        tiers = (
            "/".join(f"{t * 100:g}" for t in self.tier_fractions)
            if self.by == "rank"
            else f"band ±{self.band:g}"
        )
        return (
            f"Profitability of {self.n_customers:,} customers: total profit "
            f"{self.total_profit:,.2f}; tiers by {self.by} ({tiers})"
        )

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [self._title()]
        if self.message:
            lines.append(f"  NOTE: {self.message}")
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        note = f"<p><b>Note:</b> {html.escape(self.message)}</p>" if self.message else ""
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in self._rows()
        )
        caption = f"<caption>{html.escape(self._title())}</caption>"
        return f"<div><table>{caption}{body}</table>{note}</div>"


def profitability(
    profit: pd.Series,
    *,
    top: float = 0.2,
    bottom: float = 0.3,
    tiers: tuple[float, float, float] = (0.2, 0.6, 0.2),
    by: Literal["rank", "sign"] = "rank",
    band: float = 0.0,
    tolerance: float = 0.05,
) -> ProfitabilityResult:
    """Whale curve, Sherden's 80/20/30 check and 20/60/20 tiers of customer profit.

    Parameters
    ----------
    profit : pandas.Series
        Profit per customer, indexed by customer id (e.g. `customer_profit`).
        Missing or infinite values and repeated ids raise.
    top : float, default 0.2
        Fraction of customers in the top group (Sherden: 20%).
    bottom : float, default 0.3
        Fraction of customers in the bottom group (Sherden: 30%);
        ``top + bottom`` must be <= 1.
    tiers : tuple of three floats, default (0.2, 0.6, 0.2)
        Tier fractions for ``by="rank"`` (see `profit_tiers`).
    by : {"rank", "sign"}, default "rank"
        How tiers are assigned (see `profit_tiers`).
    band : float, default 0.0
        Break-even band in currency units for ``by="sign"``.
    tolerance : float, default 0.05
        Absolute tolerance, on the share scale, of the 80/20 and 80/20/30
        checks: the rules hold when ``top20_share`` is within it of 0.80 and
        ``erosion`` within it of 0.50. Two-sided on purpose: top customers
        making 150% of the profit is a whale curve, not the 80/20 rule.

    Returns
    -------
    ProfitabilityResult
        See its attributes; renders as text and in notebooks.

    Examples
    --------
    >>> import pandas as pd
    >>> profit = pd.Series([50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0,
    ...                     -10.0, -10.0, -20.0], index=list("ABCDEFGHIJ"))
    >>> result = profitability(profit)
    >>> result.top20_share, result.bottom30_share, result.erosion
    (0.8, -0.4, 0.5)
    >>> result.whale_peak, result.whale_peak_at
    (1.4, 0.7)
    >>> result.holds_80_20_30
    True
    >>> result.tiers.value_counts(sort=False).to_dict()
    {'resource_wasting': 1, 'break_even': 7, 'profitable': 2}
    """
    values = customer_values(profit, "profitability")
    top = check(top, Fraction(example=0.2), name="top", owner="profitability")
    bottom = check(bottom, Fraction(example=0.3), name="bottom", owner="profitability")
    if top + bottom > 1.0 + 1e-9:
        raise ValueError(
            f"profitability: top + bottom must be <= 1 so the groups do not overlap. Got "
            f"top={top!r}, bottom={bottom!r}."
        )
    tolerance = check(tolerance, Real(0.0, 1.0, closed="left", what="a tolerance in share points",
                                      example=0.05), name="tolerance", owner="profitability")
    fractions, band = _check_tier_options(by, tiers, band, owner="profitability")
    positions = rank_order(values)
    ranked = values.iloc[positions]
    sorted_profit = ranked.to_numpy()
    codes = _tier_codes(values.to_numpy(), by, fractions, band, descending=positions)
    tier_series = pd.Series(
        pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(TIER_LABELS),
                                                                   ordered=True)),
        index=values.index, name="tier",
    )
    n = len(ranked)
    cumulative = cumulative_sums(sorted_profit)
    total = float(cumulative[-1])
    total_positive = total > 0
    shares = cumulative / total if total_positive else np.full(n + 1, np.nan)
    whale = pd.DataFrame(
        {
            "customer_share": np.arange(n + 1, dtype="float64") / n,
            "cumulative_profit": cumulative,
            "profit_share": shares,
        },
        index=pd.RangeIndex(n + 1, name="rank"),
    )
    n_top = top_count(top, n)
    n_bottom = min(top_count(bottom, n), n - n_top)
    positive = float(sorted_profit[sorted_profit > 0].sum())
    losses = float(-sorted_profit[sorted_profit < 0].sum())
    if total_positive:
        message = ""
        peak_row = int(np.argmax(shares))
        whale_peak = float(shares[peak_row])
        whale_peak_at = float(whale["customer_share"].iloc[peak_row])
        top_share = float(shares[n_top])
        bottom_share = float(sorted_profit[n - n_bottom :].sum() / total)
        erosion = -bottom_share / top_share if bottom_share < 0 else 0.0
        holds_80_20 = abs(top_share - 0.8) <= tolerance + _SHARE_EPS
        holds_80_20_30 = holds_80_20 and abs(erosion - 0.5) <= tolerance + _SHARE_EPS
    else:
        message = (
            f"total profit is {total:,.2f} (<= 0): the customers lose money overall, so "
            "shares of the total (whale curve, top/bottom shares, erosion) are undefined "
            "and set to NaN; the 80/20 checks are False. Check the cost model."
        )
        whale_peak = whale_peak_at = top_share = bottom_share = erosion = math.nan
        holds_80_20 = holds_80_20_30 = False

    counts = tier_series.value_counts(sort=False)
    tier_profit = values.groupby(tier_series, observed=True, sort=False).sum()
    order = list(reversed(TIER_LABELS))  # best first for reading
    summary = pd.DataFrame(index=pd.Index(order, name="tier"))
    summary["n_customers"] = counts.reindex(order).fillna(0).astype("int64").to_numpy()
    summary["customer_share"] = summary["n_customers"] / n
    summary["profit"] = tier_profit.reindex(order).fillna(0.0).astype("float64").to_numpy()
    summary["profit_share"] = summary["profit"] / total if total_positive else np.nan
    summary["name_zh"] = [TIER_ACTIONS[t].name_zh for t in order]
    summary["action"] = [TIER_ACTIONS[t].action for t in order]
    summary["action_zh"] = [TIER_ACTIONS[t].action_zh for t in order]

    return ProfitabilityResult(
        n_customers=n,
        total_profit=total,
        total_positive=total_positive,
        message=message,
        ranked=ranked,
        whale=whale,
        whale_peak=whale_peak,
        whale_peak_at=whale_peak_at,
        top20_share=top_share,
        bottom30_share=bottom_share,
        erosion=erosion,
        unprofitable_share=float((sorted_profit < 0).sum() / n),
        loss_share=losses / positive if positive > 0 else math.nan,
        holds_80_20=bool(holds_80_20),
        holds_80_20_30=bool(holds_80_20_30),
        tiers=tier_series,
        tier_summary=summary,
        top=top,
        bottom=bottom,
        tier_fractions=_check_tiers(tiers),
        by=by,
        band=float(band),
        tolerance=float(tolerance),
        ranked_positions=positions,
    )
