"""Inactivity churn, acquisition-cohort retention and the customer flow.

Only purchases (``is_purchase``) count; days are calendar days. With ``d`` the
days from a customer's last purchase day to the date of interest, a customer
is **churned** when ``d > churn_days`` and **active** when ``d <= churn_days``;
the default 360 matches the lifecycle label ``lost`` (d > 360). The user guide
``docs/churn.md`` spells out every definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
import pandas as pd

from rfm_loyalty._validation import Choice, Days, check
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.lifecycle import lifecycle_from_base
from rfm_loyalty.orders import Orders
from rfm_loyalty.summary import CustomerBase, customer_base, rfm_from_aggregates

if TYPE_CHECKING:
    from rfm_loyalty.lifecycle import LifecycleRules

OrdersLike = Orders | pd.DataFrame | CustomerBase

__all__ = [
    "AT_RISK_LIFECYCLE_LABELS",
    "CHURN_SUMMARY_DTYPES",
    "FLOW_DTYPES",
    "check_flow_settings",
    "churn_summary",
    "churn_table",
    "cohort_retention",
    "customer_flow",
    "period_complete",
]

#: Lifecycle labels whose revenue counts as "at risk": customers who have
#: gone quiet but are not lost yet (seed cohorts 沉默预警, 高挽回, 低挽回).
AT_RISK_LIFECYCLE_LABELS: tuple[str, ...] = ("cooling", "high_recovery", "low_recovery")

# Longest period length in days: customer_flow needs churn_days at least this
# long, or a buyer could be inactive again at the end of the period they bought in.
_PERIOD_MAX_DAYS: dict[str, int] = {"D": 1, "W": 7, "M": 31, "Q": 92, "Y": 366}

_METRICS = Choice("customers", "retention", "revenue")

#: Columns of ``churn_summary`` and their dtypes, in order.
CHURN_SUMMARY_DTYPES: dict[str, str] = {
    "customers": "int64", "churned": "int64", "churn_rate": "float64",
    "recent_revenue": "float64", "at_risk_customers": "int64", "revenue_at_risk": "float64",
    "revenue_at_risk_share": "float64",
}
#: Columns of ``customer_flow`` and their dtypes, in order.
FLOW_DTYPES: dict[str, str] = {
    "period_end": "datetime64[ns]", "active_start": "int64", "new": "int64",
    "retained": "int64", "reactivated": "int64", "churned": "int64", "active_end": "int64",
    "churn_rate": "float64", "revenue_new": "float64", "revenue_existing": "float64",
    "complete": "bool",
}


_PERIOD = Choice(*_PERIOD_MAX_DAYS)


_CHURN_DAYS = Days(example=360)
_PERIOD_HINT = "day, week, month, quarter or year"


class _Coded(NamedTuple):
    """The base's order-level arrays, as the churn tables read them."""

    customers: pd.Index  # every customer with an order; position = code
    order_code: np.ndarray  # per order: customer code
    order_day: np.ndarray  # per order: calendar day, days since 1970-01-01
    buyer: np.ndarray  # per code: the customer has a purchase
    code: np.ndarray  # distinct purchase days: customer code, sorted ...
    day: np.ndarray  # ... then by day


def _coded(base: CustomerBase, func: str) -> _Coded:
    """Read the codes the base holds: customer ids were hashed once, when prepared."""
    base.require_orders(func)
    days = base.purchase_days
    assert days is not None
    if len(days.code) == 0:
        raise ValueError(
            f"{func} found no purchase on or before as_of={base.as_of.date()!s}: every "
            "order has a non-positive net amount. Check the returns policy or the as_of date."
        )
    buyer = base.buyer_row >= 0
    return _Coded(base.customer_index, base.order_customer, base.order_day, buyer,
                  days.code, days.day)


def check_flow_settings(
    period: object, churn_days: object, *, owner: str, period_name: str = "period"
) -> tuple[str, int]:
    """Check the period and churn_days of a customer flow; return them.

    ``churn_days`` must be at least the longest period length (1, 7, 31, 92
    or 366 days), or a buyer could be inactive again at the end of the very
    period they bought in.

    Parameters
    ----------
    period : {"D", "W", "M", "Q", "Y"}
    churn_days : int
    owner : str
        The public function the settings belong to (named in the message).
    period_name : str, default "period"
        The name of the period parameter in that function (``freq`` for
        ``customer_flow``).

    Returns
    -------
    tuple of (str, int)
        The period and churn_days, checked.

    Raises
    ------
    InvalidParameterError

    Examples
    --------
    >>> check_flow_settings("M", 360, owner="customer_flow")
    ('M', 360)
    >>> check_flow_settings("Y", 90, owner="customer_flow")
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.InvalidParameterError: The 'churn_days' parameter of customer_flow must be at least the longest period length for freq='Y' (366 days), so that everyone who buys in a period is still active at its end. Got 90; raise churn_days or use a shorter period.
    """  # noqa: E501
    freq = check(period, _PERIOD, name=period_name, owner=owner, hint=_PERIOD_HINT)
    days = check(churn_days, _CHURN_DAYS, name="churn_days", owner=owner)
    if days < _PERIOD_MAX_DAYS[freq]:
        raise InvalidParameterError(
            f"The 'churn_days' parameter of {owner} must be at least the longest period length "
            f"for freq={freq!r} ({_PERIOD_MAX_DAYS[freq]} days), so that everyone who buys in "
            f"a period is still active at its end. Got {days!r}; raise churn_days or use a "
            "shorter period."
        )
    return freq, days


def _median_gap_days(coded: _Coded) -> np.ndarray:
    """Median gap in days between consecutive purchase days, per customer code (NaN: one day).

    The gaps are sorted within each customer with one sort of an integer key
    (customer code, gap); the median is read at the middle positions.
    """
    n = len(coded.customers)
    same = coded.code[1:] == coded.code[:-1]
    gap = np.diff(coded.day)[same]
    owner = coded.code[1:][same]
    median = np.full(n, np.nan)
    if len(gap) == 0:
        return median
    span = int(gap.max()) + 1
    # 32-bit keys sort faster than 64-bit ones (1M customers x 5 years fit)
    kind = np.dtype(np.uint32 if n * span <= 2**32 else np.int64)
    key = owner.astype(kind)
    key *= kind.type(span)
    key += gap.astype(kind)
    key.sort()
    sorted_gap = (key % kind.type(span)).astype(np.int64)
    counts = np.bincount(owner, minlength=n)
    starts = np.cumsum(counts) - counts
    has = counts > 0
    low = (starts + (counts - 1) // 2)[has]
    high = (starts + counts // 2)[has]
    median[has] = (sorted_gap[low] + sorted_gap[high]) / 2.0
    return median


def churn_table(
    orders: OrdersLike,
    *,
    as_of: pd.Timestamp | str | None = None,
    churn_days: int = 360,
) -> pd.DataFrame:
    """Flag inactivity churn per customer and compare the silence to their rhythm.

    A customer is churned when the days since their last purchase exceed
    ``churn_days`` (strictly: ``days_since_last > churn_days``). With the
    default 360 days this matches the lifecycle label ``lost`` (d > 360).
    The customer's own rhythm is the median gap between consecutive
    purchase days; ``silence_in_gaps`` says how many such gaps the current
    silence already lasts (3.0: three times longer than they usually wait).

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame (``customer_id,
        order_date, amount``).
    as_of : Timestamp or str, optional
        Analysis date; default the orders' ``as_of``. Later orders are ignored.
    churn_days : int, default 360
        Days of silence after which a customer counts as churned.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one row per customer with at least one
        purchase on or before ``as_of``; ``attrs`` holds ``as_of`` and
        ``churn_days``. Columns:

        * ``last_purchase`` (datetime64[ns]): day of the last purchase.
        * ``days_since_last`` (int64): ``as_of - last_purchase`` in days
          (the recency).
        * ``churned`` (bool): ``days_since_last > churn_days``.
        * ``purchase_days`` (int64): distinct days with a purchase.
        * ``median_gap_days`` (float64): median of the gaps, in days,
          between consecutive purchase days; NaN with one purchase day.
        * ``silence_in_gaps`` (float64): ``days_since_last /
          median_gap_days``; NaN with one purchase day.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import churn_table
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-01", "2024-01-11", "2024-01-31", "2023-01-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0],
    ... })
    >>> table = churn_table(orders, as_of="2024-03-01")
    >>> table[["days_since_last", "churned", "median_gap_days", "silence_in_gaps"]]
                 days_since_last  churned  median_gap_days  silence_in_gaps
    customer_id
    a                         30    False             15.0              2.0
    b                        425     True              NaN              NaN
    """
    churn_days = check(churn_days, _CHURN_DAYS, name="churn_days", owner="churn_table")
    base = customer_base(orders, as_of=as_of)
    rfm = rfm_from_aggregates(base.aggregates, as_of=base.as_of)
    return churn_from_rfm(base, rfm, churn_days=churn_days)


def churn_from_rfm(base: CustomerBase, rfm: pd.DataFrame, *, churn_days: int) -> pd.DataFrame:
    """Build :func:`churn_table` from the base and the customer table built from it.

    The purchase gaps come from the base's distinct purchase days; nothing
    reads the orders again.
    """
    coded = _coded(base, "churn_table")
    by_code = _median_gap_days(coded)
    if rfm.index.equals(base.aggregates.index):  # the base's own customers: by position
        median_gap = pd.Series(by_code[np.flatnonzero(coded.buyer)], index=rfm.index)
    else:
        median_gap = pd.Series(by_code, index=coded.customers).reindex(rfm.index)
    days_since_last = rfm["recency_days"].astype("int64")
    table = pd.DataFrame(
        {
            "last_purchase": rfm["last_purchase"],
            "days_since_last": days_since_last,
            "churned": (days_since_last > churn_days).astype(bool),
            "purchase_days": rfm["purchase_days"].astype("int64"),
            "median_gap_days": median_gap,
            "silence_in_gaps": days_since_last.astype("float64") / median_gap,
        },
        index=rfm.index,
    )
    table.attrs = {"as_of": base.as_of.date().isoformat(), "churn_days": churn_days}
    return table


def _recent_revenue(base: CustomerBase, window_days: int) -> np.ndarray:
    """Net amount of the orders in the last ``window_days`` days, per customer with a purchase.

    Returned in the order of ``base.aggregates`` (customers with a purchase).
    """
    coded = _coded(base, "churn_summary")
    as_of_day = int(base.as_of.to_datetime64().astype("datetime64[D]").astype(np.int64))
    recent = (as_of_day - coded.order_day) < window_days
    amount = base.require_orders("churn_summary").frame["amount"].to_numpy(dtype="float64")
    revenue = np.bincount(coded.order_code[recent], weights=amount[recent],
                          minlength=len(coded.customers))
    return base.money(revenue[np.flatnonzero(coded.buyer)])


def _group_labels(
    by: object, base: CustomerBase, index: pd.Index, lifecycle: pd.Series
) -> pd.Series:
    """Return the group label of each customer in ``index``."""
    if isinstance(by, pd.Series):
        labels = by.reindex(index)
        missing = index[labels.isna().to_numpy()]
        if len(missing) > 0:
            raise ValueError(
                "The 'by' Series of churn_summary must hold a label for every customer "
                f"with a purchase; {len(missing)} are missing, e.g. {list(missing[:3])!r}. "
                "Index it by customer_id (e.g. the output of assign_segments)."
            )
        return labels
    if by == "lifecycle":
        return lifecycle
    if by == "segment":
        # Imported here: the churn tables need only the core modules.
        from rfm_loyalty.scoring import RFMScorer
        from rfm_loyalty.segments import assign_segments

        scores = RFMScorer().fit_transform(rfm_from_aggregates(base.aggregates, as_of=base.as_of))
        return assign_segments(scores)["segment"].reindex(index)
    raise ValueError(
        "The 'by' parameter of churn_summary must be 'lifecycle', 'segment' or a Series "
        f"of labels indexed by customer_id. Got {by!r} instead."
    )


def _label_order(labels: pd.Series) -> list[object]:
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return list(labels.cat.categories)
    return sorted(pd.unique(labels.dropna()).tolist(), key=str)


def churn_summary(
    orders: OrdersLike,
    *,
    by: Literal["lifecycle", "segment"] | pd.Series = "lifecycle",
    as_of: pd.Timestamp | str | None = None,
    churn_days: int = 360,
    revenue_window_days: int = 365,
    lifecycle_rules: LifecycleRules | None = None,
) -> pd.DataFrame:
    """Churn rate and revenue at risk per lifecycle cohort or per segment.

    *Revenue at risk* is the recent revenue (net amount of the orders in the
    last ``revenue_window_days`` days, ``as_of`` included) of the customers
    whose lifecycle label is now ``cooling``, ``high_recovery`` or
    ``low_recovery``: customers who still paid in the last year but have
    gone quiet. It answers "how much of last year's revenue walks away if
    these customers do not come back".

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame.
    by : {"lifecycle", "segment"} or Series, default "lifecycle"
        Grouping. ``"segment"`` scores with ``RFMScorer()`` fitted at
        ``as_of`` and the default segment rules; for other scorers or rules
        pass your own labels as a Series indexed by ``customer_id``.
    as_of : Timestamp or str, optional
        Analysis date; default the orders' ``as_of``.
    churn_days : int, default 360
        A customer is churned when days since the last purchase > churn_days.
    revenue_window_days : int, default 365
        Length of the "recent revenue" window, in days.
    lifecycle_rules : LifecycleRules, optional
        Rules for the lifecycle labels (default: the seed rules).

    Returns
    -------
    DataFrame
        One row per label, every label of the rules in their order, with
        zeros for a label nobody holds. Index named ``lifecycle``,
        ``segment``, or after the ``by`` Series (``group`` if unnamed);
        ``attrs`` holds the parameters. Columns:

        * ``customers`` (int64): customers in the group.
        * ``churned`` (int64): of them, churned (d > churn_days).
        * ``churn_rate`` (float64): ``churned / customers``.
        * ``recent_revenue`` (float64): net revenue of the group's
          customers in the window.
        * ``at_risk_customers`` (int64): customers now cooling or in
          recovery.
        * ``revenue_at_risk`` (float64): recent revenue of those
          customers.
        * ``revenue_at_risk_share`` (float64): ``revenue_at_risk`` /
          total revenue at risk over all groups (NaN when that is 0).

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import churn_summary
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "c", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-02-20", "2023-11-01", "2022-06-01", "2022-07-01"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0],
    ... })
    >>> s = churn_summary(orders, by="lifecycle", as_of="2024-03-01")
    >>> s.loc[["new", "high_recovery", "lost"], ["customers", "churned", "revenue_at_risk"]]
                   customers  churned  revenue_at_risk
    lifecycle
    new                    1        0              0.0
    high_recovery          1        0             20.0
    lost                   1        1              0.0
    """
    churn_days = check(churn_days, _CHURN_DAYS, name="churn_days", owner="churn_summary")
    window = check(revenue_window_days, Days(example=365), name="revenue_window_days",
                   owner="churn_summary")
    rules = _rules(lifecycle_rules)
    base = customer_base(orders, as_of=as_of, window_days=rules.window_days)
    table = churn_from_rfm(base, rfm_from_aggregates(base.aggregates, as_of=base.as_of),
                           churn_days=churn_days)
    lifecycle = lifecycle_from_base(base, rules=rules)["lifecycle"]
    return churn_summary_from(base, table, lifecycle, by=by, revenue_window_days=window)


def _rules(rules: LifecycleRules | None) -> LifecycleRules:
    from rfm_loyalty.lifecycle import LifecycleRules

    return rules if rules is not None else LifecycleRules()


def churn_summary_from(
    base: CustomerBase,
    table: pd.DataFrame,
    lifecycle: pd.Series,
    *,
    by: Literal["lifecycle", "segment"] | pd.Series,
    revenue_window_days: int = 365,
) -> pd.DataFrame:
    """Build :func:`churn_summary` from a churn table and lifecycle labels already computed.

    ``analyze`` holds both; this spares it two more aggregations of every order.
    """
    window = revenue_window_days
    churn_days = table.attrs["churn_days"]
    lifecycle = lifecycle.reindex(table.index)
    labels = _group_labels(by, base, table.index, lifecycle)
    order = _label_order(labels)
    recent = pd.Series(_recent_revenue(base, window), index=base.aggregates.index)
    recent = recent.reindex(table.index)
    at_risk = lifecycle.astype("object").isin(AT_RISK_LIFECYCLE_LABELS).to_numpy()
    parts = pd.DataFrame(
        {
            "group": labels.astype("object").to_numpy(),
            "customers": 1,
            "churned": table["churned"].astype("int64").to_numpy(),
            "recent_revenue": recent.to_numpy(),
            "at_risk_customers": at_risk.astype("int64"),
            "revenue_at_risk": np.where(at_risk, recent.to_numpy(), 0.0),
        }
    )
    summary = parts.groupby("group", sort=False).sum().reindex(order, fill_value=0)
    summary = summary.astype({"customers": "int64", "churned": "int64",
                              "at_risk_customers": "int64", "recent_revenue": "float64",
                              "revenue_at_risk": "float64"})
    summary.index.name = by if isinstance(by, str) else (by.name or "group")
    customers = summary["customers"].astype("float64")
    summary.insert(2, "churn_rate", summary["churned"] / customers.where(customers > 0))
    total_at_risk = float(summary["revenue_at_risk"].sum())
    summary["revenue_at_risk_share"] = (
        summary["revenue_at_risk"] / total_at_risk if total_at_risk != 0 else np.nan
    )
    summary.attrs = {"as_of": base.as_of.date().isoformat(), "churn_days": churn_days,
                     "revenue_window_days": window, "by": by if isinstance(by, str) else "custom"}
    return summary


def period_complete(periods: pd.PeriodIndex, first_day: int, as_of: pd.Timestamp) -> np.ndarray:
    """Whether each period lies wholly within the data (first purchase day to ``as_of``).

    Parameters
    ----------
    periods : pandas.PeriodIndex
    first_day : int
        The first purchase day of the data (days since 1970-01-01).
    as_of : pandas.Timestamp
        The analysis date: the data end there.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> months = pd.period_range("2011-11", "2011-12", freq="M")
    >>> day = int(np.datetime64("2011-11-01", "D").astype(np.int64))
    >>> period_complete(months, day, pd.Timestamp("2011-12-09")).tolist()
    [True, False]
    """
    start = periods.start_time.to_numpy().astype("datetime64[D]").astype(np.int64)
    end = periods.end_time.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)
    last = int(as_of.to_datetime64().astype("datetime64[D]").astype(np.int64))
    return np.asarray((start >= first_day) & (end <= last), dtype=bool)


def _period_ordinals(days: np.ndarray, period: str) -> np.ndarray:
    """Period ordinals (consecutive periods differ by 1) of day numbers."""
    # pandas converts each calendar day of the range once, not each order
    first = int(days.min())
    calendar = np.arange(first, int(days.max()) + 1).astype("datetime64[D]")
    ordinals = pd.DatetimeIndex(calendar.astype("datetime64[ns]")).to_period(period).asi8
    return np.asarray(ordinals, dtype="int64")[days - first]


def _period_index(first_ordinal: int, n_periods: int, freq: str) -> pd.PeriodIndex:
    """Return the ``n_periods`` consecutive periods starting at ``first_ordinal``."""
    start = pd.Period(ordinal=first_ordinal, freq=freq)
    return pd.period_range(start=start, periods=n_periods, freq=freq)


def _as_of_ordinal(as_of: pd.Timestamp, period: str) -> int:
    return int(pd.Period(as_of, freq=period).ordinal)


def cohort_retention(
    orders: OrdersLike,
    *,
    period: Literal["D", "W", "M", "Q", "Y"] = "M",
    metric: Literal["customers", "retention", "revenue"] = "customers",
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Acquisition-cohort matrix: how each cohort keeps buying period after period.

    A customer's *cohort* is the period of their first purchase; period 0 is
    that period, period 1 the next one, and so on. A cell counts the
    cohort's customers with at least one purchase in that period
    (``"customers"``), that count divided by the cohort size
    (``"retention"``), or the net amount of all their orders in that period
    (``"revenue"``, returns netted, so a cell can be negative).

    A cell is 0 when the period has happened (it starts on or before
    ``as_of``) and nobody of the cohort bought. It is NaN when the period
    lies after ``as_of``: it has not happened yet, so there is nothing to
    count, and a 0 there would read as "everybody left". The last observed
    period is partial when ``as_of`` is not the period's last day.

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame.
    period : {"D", "W", "M", "Q", "Y"}, default "M"
        Length of a period: day, week (Monday to Sunday), calendar month,
        quarter or year.
    metric : {"customers", "retention", "revenue"}, default "customers"
        What each cell holds (see above).
    as_of : Timestamp or str, optional
        Analysis date; default the orders' ``as_of``.

    Returns
    -------
    DataFrame
        Index ``cohort`` (period[...] dtype): the acquisition periods that
        have at least one customer, in time order. ``attrs`` holds ``as_of``,
        ``period``, ``metric`` and ``partial_periods``: the calendar periods
        (as text, e.g. ``"2011-12"``) only partly covered by the data (see
        :func:`period_complete`); a cell of cohort c and column k is partial
        when period c + k is. Columns:

        * ``cohort_size`` (int64): customers whose first purchase is in the
          cohort period. Summed over cohorts it is the number of customers
          with a purchase.
        * ``0, 1, 2, ...`` (float64, column index named
          ``periods_since_acquisition``): the metric for the k-th period
          after acquisition; NaN for periods after ``as_of``. For
          ``"customers"`` and ``"retention"`` column 0 equals the cohort size
          and 1.0 respectively.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import cohort_retention
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-05", "2024-03-02", "2024-01-20", "2024-02-11", "2024-02-03"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 7.0],
    ... })
    >>> cohort_retention(orders)
    periods_since_acquisition  cohort_size    0    1    2
    cohort
    2024-01                              2  2.0  1.0  1.0
    2024-02                              1  1.0  0.0  NaN
    """
    freq = check(period, _PERIOD, name="period", owner="cohort_retention", hint=_PERIOD_HINT)
    check(metric, _METRICS, name="metric", owner="cohort_retention")
    base = customer_base(orders, as_of=as_of)
    coded = _coded(base, "cohort_retention")
    day_ord = _period_ordinals(coded.day, freq)
    # the first row of each customer is their first purchase day
    first_row = np.r_[True, coded.code[1:] != coded.code[:-1]]
    first_ord = np.zeros(len(coded.customers), dtype="int64")
    first_ord[coded.code[first_row]] = day_ord[first_row]
    last_ord = _as_of_ordinal(base.as_of, freq)
    cohort_ords, cohort_sizes = np.unique(day_ord[first_row], return_counts=True)
    n_offsets = int(last_ord - cohort_ords[0] + 1)

    if metric == "revenue":
        # all orders of customers with a purchase, returns included
        keep = coded.buyer[coded.order_code]
        row_code = coded.order_code[keep]
        row_ord = _period_ordinals(coded.order_day[keep], freq)
        values = base.require_orders("cohort_retention").frame["amount"].to_numpy(
            dtype="float64")[keep]
        offset = row_ord - first_ord[row_code]
        keep = offset >= 0  # orders before the first purchase (only non-purchases)
    else:
        row_code, offset = coded.code, day_ord - first_ord[coded.code]
        values = np.ones(len(offset), dtype="float64")
        # one count per customer and period, however many days they bought
        # (rows are sorted by customer then day, hence by period)
        keep = np.r_[True, (row_code[1:] != row_code[:-1]) | (offset[1:] != offset[:-1])]
    cohort_of_row = first_ord[row_code[keep]]
    # (looked up per period ordinal of the range, not searched per row)
    low = int(cohort_ords[0])
    row = np.searchsorted(cohort_ords, np.arange(low, int(cohort_ords[-1]) + 1))[
        cohort_of_row - low]
    # one flat bin per (cohort, offset) cell: bincount adds in row order, as
    # np.add.at would, many times faster
    cells = len(cohort_ords) * n_offsets
    matrix = np.bincount(row * n_offsets + offset[keep], weights=values[keep],
                         minlength=cells).astype("float64").reshape(len(cohort_ords), n_offsets)
    # periods after as_of have not happened: missing, not zero
    future = cohort_ords[:, None] + np.arange(n_offsets)[None, :] > last_ord
    matrix[future] = np.nan
    if metric == "retention":
        matrix = matrix / cohort_sizes[:, None]

    index = _period_index(int(cohort_ords[0]), n_offsets, freq)[cohort_ords - cohort_ords[0]]
    index.name = "cohort"
    columns = pd.Index(range(n_offsets), name="periods_since_acquisition")
    result = pd.DataFrame(matrix, index=index, columns=columns)
    result.insert(0, "cohort_size", cohort_sizes.astype("int64"))
    calendar = _period_index(int(cohort_ords[0]), n_offsets, freq)
    partial = ~period_complete(calendar, int(coded.day.min()), base.as_of)
    result.attrs = {"as_of": base.as_of.date().isoformat(), "period": freq, "metric": metric,
                    "partial_periods": [str(p) for p in calendar[partial]]}
    return result


def customer_flow(
    orders: OrdersLike,
    *,
    freq: Literal["D", "W", "M", "Q", "Y"] = "M",
    churn_days: int = 360,
    as_of: pd.Timestamp | str | None = None,
) -> pd.DataFrame:
    """Leaky bucket: who came, who stayed, who came back and who left, per period.

    A customer is **active** at a date when their last purchase on or
    before that date is at most ``churn_days`` days before it (the same
    ``d <= churn_days`` as ``churn_table``). Each period is measured at its
    end: the period's last day, or ``as_of`` for the last, partial period.
    With A the customers active at the end of the previous period and B
    those active at the end of this one:

    * ``retained`` = in A and in B;
    * ``churned`` = in A, not in B (their silence passed ``churn_days``
      during the period: churn is recognised ``churn_days`` after the last
      purchase, not when it happened);
    * ``new`` = in B, first purchase in the period;
    * ``reactivated`` = in B, not in A, first purchase before the period.

    so that ``active_end = active_start + new + reactivated - churned`` and
    ``retained = active_start - churned`` hold in every period. The first
    ``churn_days`` of data are a warm-up: customers who had bought before
    the data starts show up as new.

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame.
    freq : {"D", "W", "M", "Q", "Y"}, default "M"
        Period length: day, week (Monday to Sunday), month, quarter, year.
    churn_days : int, default 360
        Days of silence after which a customer stops being active. Must be
        at least the longest period length (1, 7, 31, 92 or 366 days), so
        that everyone who buys in a period is active at its end.
    as_of : Timestamp or str, optional
        Analysis date; default the orders' ``as_of``.

    Returns
    -------
    DataFrame
        Index ``period`` (period[...] dtype) from the period of the first
        purchase to the period of ``as_of``, every period present. Columns:

        * ``period_end`` (datetime64[ns]): the date activity is measured at.
        * ``active_start`` (int64): active at the previous period's end.
        * ``new`` (int64): first purchase in the period.
        * ``retained`` (int64): active at both ends.
        * ``reactivated`` (int64): lapsed customers who bought again.
        * ``churned`` (int64): active at the start, no longer at the end.
        * ``active_end`` (int64): active at the period's end.
        * ``churn_rate`` (float64): ``churned / active_start`` (NaN when
          nobody was active).
        * ``revenue_new`` (float64): net amount of the orders in the period
          of customers whose first purchase is in the period.
        * ``revenue_existing`` (float64): the same for customers whose first
          purchase was in an earlier period.
        * ``complete`` (bool): the whole period lies within the data, from
          the first purchase day to ``as_of`` (see :func:`period_complete`).
          The first period is partial when the data start after its first
          day, the last one when ``as_of`` is before its last day: their
          counts cover only part of a period.

        Orders of customers who never made a purchase, and orders dated
        before a customer's first purchase (only non-purchases can be),
        count in neither revenue column.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import customer_flow
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "b"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-10", "2024-01-20", "2024-03-05", "2024-03-25", "2024-04-25"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0, 8.0],
    ... })
    >>> flow = customer_flow(orders, churn_days=40, as_of="2024-04-30")
    >>> flow[["active_start", "new", "retained", "reactivated", "churned", "active_end"]]
             active_start  new  retained  reactivated  churned  active_end
    period
    2024-01             0    2         0            0        0           2
    2024-02             2    0         1            0        1           1
    2024-03             1    1         0            1        1           2
    2024-04             2    0         1            1        1           2
    """
    period, churn_days = check_flow_settings(freq, churn_days, owner="customer_flow",
                                             period_name="freq")
    base = customer_base(orders, as_of=as_of)
    coded = _coded(base, "customer_flow")
    day_ord = _period_ordinals(coded.day, period)
    first_period = int(day_ord.min())
    n_periods = _as_of_ordinal(base.as_of, period) - first_period + 1
    periods = _period_index(first_period, n_periods, period)
    periods.name = "period"
    period_end = pd.DatetimeIndex(periods.end_time.normalize()).as_unit("ns")
    complete = period_complete(periods, int(coded.day.min()), base.as_of)
    period_end = period_end.where(period_end <= base.as_of, base.as_of)
    end_day = period_end.to_numpy().astype("datetime64[D]").astype("int64")

    # Last purchase day per customer and period (days are sorted by customer
    # then day, so rows stay sorted by customer then period).
    k = day_ord - first_period
    codes, day_num = coded.code, coded.day
    cell_start = np.r_[True, (codes[1:] != codes[:-1]) | (k[1:] != k[:-1])]
    cell_last = np.r_[cell_start[1:], True]
    cell_code, cell_k, cell_day = codes[cell_last], k[cell_last], day_num[cell_last]
    # The purchase keeps the customer active up to period index expire - 1.
    # (looked up per calendar day of the range, not searched per cell)
    lapse_day = cell_day + churn_days
    low = int(lapse_day.min())
    by_day = np.searchsorted(end_day, np.arange(low, int(lapse_day.max()) + 1), side="right")
    expire = by_day[lapse_day - low]
    first_cell = np.r_[True, cell_code[1:] != cell_code[:-1]]
    prev_expire = np.r_[0, expire[:-1]]
    # A run of activity starts at a first purchase or at a purchase made
    # after the customer had lapsed (inactive at the previous period end).
    run_start = first_cell | (prev_expire < cell_k)
    starts = np.flatnonzero(run_start)
    run_begin = cell_k[starts]
    run_is_first = first_cell[starts]
    # expire is non-decreasing within a run, so its last value ends the run
    run_end = np.maximum.reduceat(expire, starts)

    begins = np.bincount(run_begin, minlength=n_periods)
    new = np.bincount(run_begin[run_is_first], minlength=n_periods)
    reactivated = begins - new
    churned = np.bincount(run_end[run_end < n_periods], minlength=n_periods)[:n_periods]
    active_end = np.cumsum(begins) - np.cumsum(churned)
    active_start = np.r_[0, active_end[:-1]]

    first_k = np.zeros(len(coded.customers), dtype="int64")
    first_k[cell_code[first_cell]] = cell_k[first_cell]
    revenue_new, revenue_existing = _flow_revenue(
        base, coded, first_k, period, first_period, n_periods
    )
    churn_rate = np.divide(churned, active_start, out=np.full(n_periods, np.nan),
                           where=active_start > 0)
    flow = pd.DataFrame(
        {
            "period_end": period_end,
            "active_start": active_start.astype("int64"),
            "new": new.astype("int64"),
            "retained": (active_start - churned).astype("int64"),
            "reactivated": reactivated.astype("int64"),
            "churned": churned.astype("int64"),
            "active_end": active_end.astype("int64"),
            "churn_rate": churn_rate,
            "revenue_new": revenue_new,
            "revenue_existing": revenue_existing,
            "complete": complete,
        },
        index=periods,
    )
    flow.attrs = {
        "as_of": base.as_of.date().isoformat(),
        "freq": period,
        "churn_days": churn_days,
    }
    return flow


def _flow_revenue(
    base: CustomerBase, coded: _Coded, first_k: np.ndarray, freq: str, first_period: int,
    n_periods: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Net revenue per period of customers in their first period vs later ones."""
    order_k = _period_ordinals(coded.order_day, freq) - first_period
    own_first = first_k[coded.order_code]
    amount = base.require_orders("customer_flow").frame["amount"].to_numpy(dtype="float64")
    # One bin per (period, relation): 0 = dated before the customer's first
    # purchase period, or a customer who never bought (neither column);
    # 1 = in the first purchase period; 2 = later. A single pass over the
    # orders instead of a mask and a sum per column.
    relation = np.sign(order_k - own_first) + 1
    relation[~coded.buyer[coded.order_code]] = 0
    cell = np.where(relation == 0, 0, order_k * 3 + relation)
    sums = np.bincount(cell, weights=amount, minlength=3 * n_periods)
    revenue = sums.reshape(n_periods, 3)[:, 1:].T
    return base.money(revenue[0]), base.money(revenue[1])
