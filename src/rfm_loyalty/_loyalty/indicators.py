"""Per-customer loyalty indicators, in one vectorised pass over the orders.

Every column is one formula over the customer's purchase days
``d_1 < d_2 < ... < d_k`` (distinct calendar days with a purchase), their
orders and, when the orders name them, their lines' products, categories,
list prices and channels. ``A`` is the ``as_of`` day and ``W`` the window in
days. The formulas are in :func:`loyalty_indicators` and ``docs/loyalty.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.base import Coded, coded_orders, pair_key, prepared, sorted_unique
from rfm_loyalty._validation import Days, Fraction, Whole, check_params
from rfm_loyalty.orders import Orders

__all__ = ["MEASURE_COLUMNS", "LoyaltyIndicators", "loyalty_indicators"]

#: Days of one "month" of the spend slope: 30-day blocks counted back from as_of.
SLOPE_BLOCK_DAYS = 30

#: The columns of each measure that needs an optional order column, and that column.
MEASURE_COLUMNS: Mapping[str, tuple[tuple[str, ...], str]] = MappingProxyType(
    {
        "products": (("distinct_products", "repurchased_products"), "product"),
        "categories": (("distinct_categories", "categories_added"), "category"),
        "price": (
            ("discount_spend_share", "discount_order_share", "mean_discount_depth",
             "deal_dependent"),
            "list_price or discount",
        ),
        "channels": (("channels_used", "main_channel"), "channel"),
    }
)

_HOW_TO_NAME = {
    "products": "OrderColumns(product=...)",
    "categories": "OrderColumns(category=...)",
    "price": "OrderColumns(list_price=...) or OrderColumns(discount=...)",
    "channels": "OrderColumns(channel=...)",
}
_LINE_ROLE = {"products": "product", "categories": "category", "price": "list_amount",
              "channels": "channel"}

_CONSTRAINTS = {
    "window_days": Days(minimum=1, example=90),
    "discount_min_depth": Fraction(low_open=True, high_open=True, example=0.01),
    "deal_threshold": Fraction(low_open=True, example=0.8),
    "deal_min_orders": Whole(minimum=1, example=2),
}


@dataclass(frozen=True)
class LoyaltyIndicators:
    """The per-customer loyalty indicators and the measures left out.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per customer with a purchase (index ``customer_id``, sorted);
        columns as documented in :func:`loyalty_indicators`.
    missing : Mapping[str, str]
        Column -> why it is not in ``table`` (its input column is not named,
        or holds no value on any purchase line). Never a column of zeros.
    as_of : pandas.Timestamp
        The analysis date.
    params : Mapping[str, Any]
        The parameters of the call (``window_days``, ...).
    """

    table: pd.DataFrame
    missing: Mapping[str, str]
    as_of: pd.Timestamp
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [
            f"Loyalty indicators as of {self.as_of.date()}: {len(self.table):,} customers, "
            f"{self.table.shape[1]} columns (window {self.params.get('window_days')} days)."
        ]
        for column, reason in self.missing.items():
            lines.append(f"  left out {column}: {reason}")
        return "\n".join(lines)


def loyalty_indicators(
    orders: Orders | pd.DataFrame,
    *,
    as_of: Any = None,
    window_days: int = 90,
    discount_min_depth: float = 0.01,
    deal_threshold: float = 0.8,
    deal_min_orders: int = 2,
) -> LoyaltyIndicators:
    """Measure each customer's loyalty from their orders: repeat, rhythm, trend, breadth.

    Notation: ``d_1 < ... < d_k`` are the customer's purchase days (distinct
    calendar days with a purchase, an order with a positive net amount),
    ``g_i = d_{i+1} - d_i`` the ``k - 1`` gaps between them, ``A`` the
    ``as_of`` day, ``W = window_days``. An order is in the *recent* window
    when ``0 <= A - day < W`` and in the *prior* window when
    ``W <= A - day < 2W`` (two windows of W days each).

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders (``prepare_orders``/``read_orders``; with
        ``Orders.lines`` when product, category, list price, discount or
        channel columns are named), or order lines with the canonical names.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``.
    window_days : int, default 90
        Length ``W`` of the recent and the prior window.
    discount_min_depth : float, default 0.01
        A line is *discounted* when ``1 - amount / list_amount`` is at least
        this (1% off): rounding of prices is not a discount.
    deal_threshold : float, default 0.8
        ``deal_dependent`` when at least this share of the customer's
        purchases (with a known list price) had a discounted line.
    deal_min_orders : int, default 2
        ... and at least this many such purchases (one discounted purchase
        says nothing about a habit).

    Returns
    -------
    LoyaltyIndicators
        ``.table``: index ``customer_id`` (text, sorted), one row per
        customer with a purchase.

        =======================  ==============  ===================================================
        column                   dtype           formula
        =======================  ==============  ===================================================
        purchases                int64           orders that are purchases
        repeat_purchases         int64           purchases - 1
        recency_days             int64           A - d_k
        purchase_days            int64           k
        repeat_purchase_days     int64           k - 1
        active_months            int64           distinct calendar months with a purchase
        tenure_months            int64           calendar months from d_1's month to A's, inclusive
        active_month_share       float64         active_months / tenure_months
        mean_gap_days            float64         mean of g = (d_k - d_1) / (k - 1); NaN if k = 1
        median_gap_days          float64         median of g; NaN if k = 1
        gap_cv                   float64         std(g) / mean(g), population std; NaN if k < 3
        expected_next_purchase   datetime64[ns]  d_k + ceil(median_gap_days) days; NaT if k = 1
        overdue_ratio            float64         (A - d_k) / median_gap_days; NaN if k = 1
        spend_recent             float64         net amount of the orders in the recent window
        spend_prior              float64         net amount of the orders in the prior window
        spend_change             float64         spend_recent - spend_prior
        orders_recent            int64           purchases in the recent window
        orders_prior             int64           purchases in the prior window
        aov_recent               float64         amount of recent purchases / orders_recent (NaN: 0)
        aov_prior                float64         the same in the prior window
        aov_change               float64         aov_recent - aov_prior (NaN unless both exist)
        monthly_spend_slope      float64         least-squares slope of spend per 30-day block
        distinct_products        int64           products on purchase lines (needs product)
        repurchased_products     int64           products on 2+ purchases (needs product)
        distinct_categories      int64           categories on purchase lines (needs category)
        categories_added         float64         categories first bought in the recent window
        discount_spend_share     float64         discounted spend / spend with a list price
        discount_order_share     float64         purchases with a discount / with a list price
        mean_discount_depth      float64         1 - paid / list, over the discounted lines
        deal_dependent           bool            discount_order_share >= deal_threshold (see above)
        channels_used            int64           distinct channels on purchase lines (needs channel)
        main_channel             category        channel with the most purchase spend
        =======================  ==============  ===================================================

        Details: ``monthly_spend_slope`` fits ``spend_b = a + slope * t_b``
        over the customer's 30-day blocks ending on ``A`` (block 0 is
        ``0 <= A - day < 30``; ``t`` counts blocks forward in time from the
        block of ``d_1``; blocks without an order count as 0), in currency
        per 30 days; NaN with a single block. Spend in windows and blocks is
        net (returns reduce it). Product, category and channel measures read
        the lines with a positive amount of purchase orders (a missing value
        is not a product). ``categories_added`` counts the customer's
        categories whose first purchase is in the recent window, for
        customers whose first purchase is before it (NaN otherwise: there is
        no earlier basket to add to). Price measures read those lines with a
        known list amount > 0; ``mean_discount_depth`` is
        ``sum(list - paid) / sum(list)`` over the discounted lines (NaN
        without one). ``main_channel`` breaks ties by the channel's name.

        ``.missing``: each column left out -> the reason (the input column
        is not named, or has no value on any purchase line).

    Raises
    ------
    InvalidParameterError
        A parameter is out of range (before any work).
    TypeError
        ``orders`` is an engine source (the orders stay in the engine).

    Examples
    --------
    >>> from rfm_loyalty.loyalty import loyalty_indicators
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-31",
    ...                                   "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 30.0, 5.0]})
    >>> result = loyalty_indicators(frame, window_days=30)  # as_of: the last order, 2024-03-01
    >>> result.table[["repeat_purchase_days", "median_gap_days", "overdue_ratio",
    ...               "spend_recent", "spend_prior"]]
                 repeat_purchase_days  median_gap_days  overdue_ratio  spend_recent  spend_prior
    customer_id
    a                               2             15.0            2.0           0.0         50.0
    b                               0              NaN            NaN           5.0          0.0
    >>> sorted(result.missing)[:2]
    ['categories_added', 'channels_used']
    """
    params = check_params(
        "loyalty_indicators", _CONSTRAINTS,
        {"window_days": window_days, "discount_min_depth": discount_min_depth,
         "deal_threshold": deal_threshold, "deal_min_orders": deal_min_orders},
    )
    orders = prepared(orders, as_of, "loyalty_indicators")
    coded = coded_orders(orders, "loyalty_indicators")
    windows = _windows_and_slope(coded, params["window_days"])
    columns = {name: windows.pop(name) for name in ("purchases", "repeat_purchases")}
    columns.update(_rhythm(coded))
    columns.update(windows)
    missing: dict[str, str] = {}
    lines = orders.lines
    bought = _bought_lines(lines, coded) if lines is not None else None
    for measure, (names, _) in MEASURE_COLUMNS.items():
        values = None
        role = _LINE_ROLE[measure]
        if lines is None or role not in lines.columns:
            reason = (f"needs the {MEASURE_COLUMNS[measure][1]} column, which the orders do "
                      f"not name: pass {_HOW_TO_NAME[measure]}")
        else:
            assert bought is not None
            usable = _purchase_lines(lines, bought, coded, role)
            if usable is None:
                reason = (f"the {MEASURE_COLUMNS[measure][1]} column has no value on any "
                          "purchase line")
            else:
                values = _LINE_MEASURES[measure](usable, coded, params)
        if values is None:
            missing.update(dict.fromkeys(names, reason))
        else:
            columns.update(values)
    table = pd.DataFrame(columns, index=coded.index, copy=False)
    return LoyaltyIndicators(table=table, missing=MappingProxyType(missing),
                             as_of=orders.as_of, params=MappingProxyType(params))


# ---------------------------------------------------------------------------
# purchase days: repeat, months, gaps
# ---------------------------------------------------------------------------


def _rhythm(c: Coded) -> dict[str, Any]:
    # The distinct purchase days are sorted by customer then day, so every
    # per-customer figure is a sum over a contiguous run (reduceat) or a pick
    # at the run's ends: no scatter over millions of rows. Days and gaps are
    # int32 (days since 1970 and gaps between them fit), halving the memory
    # every pass reads.
    day = c.pd_day
    n_days = len(day)
    start = np.flatnonzero(c.first_of_customer)
    end = np.r_[start[1:] - 1, n_days - 1]
    first, last = day[start].astype(np.int64), day[end].astype(np.int64)
    k = end - start + 1

    month = _month_numbers(day)
    new_month = np.empty(n_days, dtype=np.uint8)
    new_month[0] = 1
    np.not_equal(month[1:], month[:-1], out=new_month[1:])
    new_month[start] = 1
    active_months = np.add.reduceat(new_month, start, dtype=np.int64)
    as_of_month = int(_month_numbers(np.array([c.as_of_day]))[0])
    tenure_months = (as_of_month - month[start] + 1).astype(np.int64)

    gaps_n = k - 1
    gap = np.empty(n_days, dtype=np.int32)  # gap[i] = day[i] - day[i - 1]; 0 at a first day
    gap[0] = 0
    np.subtract(day[1:], day[:-1], out=gap[1:])
    gap[start] = 0
    sum_sq = np.add.reduceat(np.square(gap, dtype=np.int64), start)  # exact in int64
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(gaps_n > 0, (last - first) / gaps_n, np.nan)
        std = np.sqrt(np.maximum(sum_sq / gaps_n - mean_gap**2, 0.0))
        gap_cv = np.where(gaps_n >= 2, std / mean_gap, np.nan)
    median_gap = _median_gap(gap, k)
    recency = c.as_of_day - last
    with np.errstate(invalid="ignore", divide="ignore"):
        overdue = recency / median_gap
    next_day = last + np.ceil(np.nan_to_num(median_gap)).astype(np.int64)
    expected = next_day.astype("datetime64[D]").astype("datetime64[ns]")
    expected[gaps_n == 0] = np.datetime64("NaT")
    return {
        "recency_days": recency.astype(np.int64),
        "purchase_days": k.astype(np.int64),
        "repeat_purchase_days": gaps_n.astype(np.int64),
        "active_months": active_months,
        "tenure_months": tenure_months,
        "active_month_share": active_months / tenure_months,
        "mean_gap_days": mean_gap,
        "median_gap_days": median_gap,
        "gap_cv": gap_cv,
        "expected_next_purchase": expected,
        "overdue_ratio": overdue,
    }


def _month_numbers(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of day numbers (a calendar of the span, not a per-row conversion)."""
    low = int(days.min())
    calendar = np.arange(low, int(days.max()) + 1).astype("datetime64[D]")
    months = calendar.astype("datetime64[M]").astype(np.int32)
    return months[days - low]


def _median_gap(gap: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Median gap per customer: one sort of (customer, gap) keys, then two picks per customer.

    ``gap`` holds each customer's run of ``k`` values: a 0 at the first day,
    then the ``k - 1`` gaps (each >= 1). Sorting (customer, value) keeps the
    0 first in every run, so the gaps sorted are the run's positions 1..k-1.
    """
    m = len(k)
    out = np.full(m, np.nan)
    gaps_n = k - 1
    if not (gaps_n > 0).any():
        return out
    span = int(gap.max()) + 1
    kind = np.dtype(np.uint32 if m * span <= 2**32 else np.int64)
    key = np.repeat(np.arange(m, dtype=kind) * kind.type(span), k)
    key += gap.astype(kind)
    key.sort()
    start = np.r_[0, np.cumsum(k)[:-1]] + 1  # position of each run's smallest gap
    has = gaps_n > 0
    low = start[has] + (gaps_n[has] - 1) // 2
    high = start[has] + gaps_n[has] // 2
    span_k = kind.type(span)
    out[has] = ((key[low] % span_k).astype(np.float64) + (key[high] % span_k)) / 2
    return out


# ---------------------------------------------------------------------------
# spend in the two windows and the spend slope
# ---------------------------------------------------------------------------


def _order_rows(c: Coded) -> tuple[np.ndarray, np.ndarray]:
    """Each order's customer row and a weight: 0 for customers without a purchase."""
    if len(c.buyers) == c.n:  # every customer has a purchase: the row is the code
        return c.code, np.ones(len(c.code), dtype=bool)
    row = c.row[c.code]
    buyer = row >= 0
    return np.where(buyer, row, 0), buyer


def _windows_and_slope(c: Coded, window: int) -> dict[str, Any]:
    m = len(c.buyers)
    row, buyer = _order_rows(c)
    age = (c.as_of_day - c.day).astype(np.int32)  # days back from as_of, >= 0
    every = bool(buyer.all())
    amount = c.amount if every else np.where(buyer, c.amount, 0.0)
    purchase = c.purchase if every else c.purchase & buyer
    columns: dict[str, Any] = {"purchases": c.purchases, "repeat_purchases": c.purchases - 1}
    # the two windows hold few of the orders: select them once, then count
    # (a scatter into per-customer bins costs a cache miss per order)
    near = np.flatnonzero(age < 2 * window)
    near_row, near_amount, near_bought = row[near], amount[near], purchase[near]
    near_prior = age[near] >= window
    for name, in_window in (("recent", ~near_prior), ("prior", near_prior)):
        rows, paid = near_row[in_window], near_amount[in_window]
        bought = near_bought[in_window]
        columns[f"spend_{name}"] = np.bincount(rows, weights=paid, minlength=m)
        count = np.bincount(rows[bought], minlength=m).astype(np.int64)
        total = np.bincount(rows[bought], weights=paid[bought], minlength=m)
        columns[f"orders_{name}"] = count
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"aov_{name}"] = np.where(count > 0, total / count, np.nan)
    columns["spend_change"] = columns["spend_recent"] - columns["spend_prior"]
    columns["aov_change"] = columns["aov_recent"] - columns["aov_prior"]
    # the slope of spend per 30-day block, from the block of the first purchase:
    # sum t*y = (T - 1) * sum y - sum b*y with b = blocks back from as_of
    first_day = c.pd_day[c.first_of_customer].astype(np.int64)
    n_blocks = (c.as_of_day - first_day) // SLOPE_BLOCK_DAYS + 1
    block = age // np.int32(SLOPE_BLOCK_DAYS)
    sum_y = np.bincount(row, weights=amount, minlength=m)
    block_y = block * amount
    sum_by = np.bincount(row, weights=block_y, minlength=m)
    # a return before the first purchase is outside the customer's blocks: only
    # orders that are not purchases can be, so only those are checked
    other = np.flatnonzero(~purchase if every else ~purchase & buyer)
    early = other[block[other] >= n_blocks[row[other]]]
    if len(early):
        sum_y -= np.bincount(row[early], weights=amount[early], minlength=m)
        sum_by -= np.bincount(row[early], weights=block_y[early], minlength=m)
    blocks = n_blocks.astype(np.float64)
    sum_ty = (blocks - 1) * sum_y - sum_by
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (sum_ty - (blocks - 1) / 2 * sum_y) / (blocks * (blocks**2 - 1) / 12.0)
    columns["monthly_spend_slope"] = np.where(n_blocks >= 2, slope, np.nan)
    order = ["purchases", "repeat_purchases", "spend_recent", "spend_prior", "spend_change",
             "orders_recent", "orders_prior", "aov_recent", "aov_prior", "aov_change",
             "monthly_spend_slope"]
    return {name: columns[name] for name in order}


# ---------------------------------------------------------------------------
# lines: products, categories, prices, channels
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lines:
    """The usable lines of one measure: customer row, order row, day, amount, value."""

    row: np.ndarray
    order: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    value: np.ndarray  # category codes, or list amounts
    names: pd.Index | None


def _bought_lines(lines: pd.DataFrame, c: Coded) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the lines with a positive amount on purchase orders, and their orders."""
    order = lines["order"].to_numpy(dtype=np.int64)
    keep = np.flatnonzero(c.purchase[order] & (lines["amount"].to_numpy() > 0))
    return keep, order[keep]


def _purchase_lines(lines: pd.DataFrame, bought: tuple[np.ndarray, np.ndarray], c: Coded,
                    role: str) -> _Lines | None:
    keep, order = bought
    column = lines[role]
    names: pd.Index | None = None
    if role == "list_amount":
        value = column.to_numpy(dtype=np.float64)[keep]
        known = np.isfinite(value) & (value > 0)
    else:
        cat = column.array
        value = np.asarray(cat.codes, dtype=np.int64)[keep]
        names = pd.Index(cat.categories)
        known = value >= 0
    if not known.any():
        return None
    use = keep[known]
    order = order[known]
    return _Lines(row=c.row[c.code[order]], order=order, day=c.day[order],
                  amount=lines["amount"].to_numpy(dtype=np.float64)[use], value=value[known],
                  names=names)


def _products(u: _Lines, c: Coded, params: Mapping[str, Any]) -> dict[str, Any]:
    m = len(c.buyers)
    n_values = len(u.names) if u.names is not None else 1
    # distinct (order, product): a product counts once per purchase
    per_order, _, _ = sorted_unique(pair_key(u.order, u.value, n_values))
    order, product = per_order // n_values, per_order % n_values
    pairs, times, _ = sorted_unique(pair_key(c.row[c.code[order]], product, n_values))
    row = pairs // n_values
    return {
        "distinct_products": np.bincount(row, minlength=m).astype(np.int64),
        "repurchased_products": np.bincount(row[times >= 2], minlength=m).astype(np.int64),
    }


def _categories(u: _Lines, c: Coded, params: Mapping[str, Any]) -> dict[str, Any]:
    m = len(c.buyers)
    n_values = len(u.names) if u.names is not None else 1
    key = pair_key(u.row, u.value, n_values)
    order = np.argsort(key)
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    pairs = ordered[starts]
    first_day = np.minimum.reduceat(u.day[order], starts)  # the pair's first purchase day
    row = pairs // n_values
    window = params["window_days"]
    added = np.bincount(row[c.as_of_day - first_day < window], minlength=m).astype(np.float64)
    customer_first = c.pd_day[c.first_of_customer]
    added[c.as_of_day - customer_first < window] = np.nan
    return {
        "distinct_categories": np.bincount(row, minlength=m).astype(np.int64),
        "categories_added": added,
    }


def _price(u: _Lines, c: Coded, params: Mapping[str, Any]) -> dict[str, Any]:
    m = len(c.buyers)
    listed = u.value
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = 1.0 - u.amount / listed
    off = depth >= params["discount_min_depth"]
    known_spend = np.bincount(u.row, weights=u.amount, minlength=m)
    off_spend = np.bincount(u.row[off], weights=u.amount[off], minlength=m)
    off_list = np.bincount(u.row[off], weights=listed[off], minlength=m)
    n_rows = len(c.code)
    order_known = np.bincount(u.order, minlength=n_rows) > 0
    order_off = np.bincount(u.order[off], minlength=n_rows) > 0
    known_orders = np.bincount(c.row[c.code[order_known]], minlength=m)
    off_orders = np.bincount(c.row[c.code[order_off]], minlength=m)
    with np.errstate(invalid="ignore", divide="ignore"):
        spend_share = np.where(known_spend > 0, off_spend / known_spend, np.nan)
        order_share = np.where(known_orders > 0, off_orders / known_orders, np.nan)
        mean_depth = np.where(off_list > 0, (off_list - off_spend) / off_list, np.nan)
    dependent = (known_orders >= params["deal_min_orders"]) & (
        np.nan_to_num(order_share) >= params["deal_threshold"]
    )
    return {
        "discount_spend_share": spend_share,
        "discount_order_share": order_share,
        "mean_discount_depth": mean_depth,
        "deal_dependent": dependent,
    }


def _channels(u: _Lines, c: Coded, params: Mapping[str, Any]) -> dict[str, Any]:
    m = len(c.buyers)
    assert u.names is not None
    n_values = len(u.names)
    pairs, _, inverse = sorted_unique(pair_key(u.row, u.value, n_values), return_inverse=True)
    assert inverse is not None
    spend = np.bincount(inverse, weights=u.amount)
    row, channel = pairs // n_values, pairs % n_values
    # per customer: the most spend first, then the channel's name
    rank_name = np.argsort(np.argsort(u.names.to_numpy(dtype=str)))
    order = np.lexsort((rank_name[channel], -spend, row))
    top = order[np.r_[True, row[order][1:] != row[order][:-1]]]
    main = np.full(m, -1, dtype=np.int64)
    main[row[top]] = rank_name[channel[top]]
    # categories sorted by name: the same whatever the order of the input rows
    names = u.names.take(np.argsort(u.names.to_numpy(dtype=str)))
    return {
        "channels_used": np.bincount(row, minlength=m).astype(np.int64),
        "main_channel": pd.Categorical.from_codes(main, categories=names),
    }


_LINE_MEASURES = {
    "products": _products,
    "categories": _categories,
    "price": _price,
    "channels": _channels,
}
