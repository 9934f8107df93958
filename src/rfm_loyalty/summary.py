"""The customer base: one typed per-customer object that every analysis step reads.

``customer_base`` turns prepared orders (pandas) or lines held by an engine
(DuckDB, Spark) into a :class:`CustomerBase`: the per-customer aggregates,
the analysis date as a Timestamp, the quality report, the reading options
and, for in-memory orders, the order-level arrays the analytics need
(customer codes per order, distinct purchase days per customer). Customer
ids are hashed once, when the orders are prepared; nothing downstream hashes
them again. ``rfm_table`` and ``btyd_summary`` are views of the base, and the
lifecycle, churn, retention, flow and profit functions accept it in place of
orders.

How often the orders are read, for an analysis of in-memory orders: once to
sum lines into orders (``prepare_orders``), once here to aggregate them per
customer (one pass of bincounts and one sort of the distinct (customer,
purchase day) pairs, kept for the churn, retention and flow tables), then
once more each, as a single bincount over the orders' arrays, for customer
profit, the recent revenue of ``churn_summary`` and the revenue columns of
``customer_flow``. Engines aggregate inside the engine; their base has no
order level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.accounting import QualityReport
from rfm_loyalty._ingest.options import ReadOptions
from rfm_loyalty._validation import Optional, Whole, check
from rfm_loyalty.engines import EngineSource, is_engine_source
from rfm_loyalty.orders import Orders, as_orders

__all__ = [
    "AGGREGATE_COLUMNS",
    "RFM_COLUMNS",
    "CustomerBase",
    "PurchaseDays",
    "btyd_summary",
    "customer_aggregates",
    "customer_base",
    "rfm_table",
    "round_money",
]

#: Columns of ``rfm_table``, in order.
RFM_COLUMNS: tuple[str, ...] = (
    "first_purchase",
    "last_purchase",
    "recency_days",
    "tenure_days",
    "active_span_days",
    "frequency",
    "purchase_days",
    "monetary_total",
    "monetary_mean",
)

#: Columns of ``customer_aggregates`` (the engine seam), in order; the two
#: window columns only when ``window_days`` is given.
AGGREGATE_COLUMNS: tuple[str, ...] = (
    "first_purchase",
    "last_purchase",
    "frequency",
    "purchase_days",
    "monetary_total",
    "purchase_amount",
    "first_day_amount",
)
WINDOW_COLUMNS: tuple[str, ...] = ("purchases_in_window", "purchases_before_window")

_WINDOW = Optional(Whole(minimum=0, unit="days"))


@dataclass(frozen=True, eq=False)
class PurchaseDays:
    """The distinct (customer, purchase day) pairs of the orders, as integer arrays.

    Attributes
    ----------
    code : numpy.ndarray of int64
        Customer code (position in ``CustomerBase.customer_index``), sorted.
    day : numpy.ndarray of int64
        Calendar day (days since 1970-01-01) of a purchase, ascending within
        each customer; every (code, day) pair once.
    """

    code: np.ndarray
    day: np.ndarray


@dataclass(frozen=True, eq=False)
class CustomerBase:
    """The per-customer base of an analysis: aggregates, codes, ``as_of``, quality, options.

    Made by :func:`customer_base`; every analysis step reads it.

    Attributes
    ----------
    aggregates : pandas.DataFrame
        The :func:`customer_aggregates` table: one row per customer with a
        purchase, index ``customer_id`` (text, sorted).
    as_of : pandas.Timestamp
        The analysis date (midnight).
    quality : QualityReport
        Row and amount accounting of the input.
    options : ReadOptions
        The reading options the input was prepared with.
    engine : {"pandas", "duckdb", "spark"}
        Where the orders were aggregated.
    window_days : int or None
        The window the ``purchases_in_window`` columns were counted with.
    orders : Orders or None
        The prepared orders (None for an engine source: the lines never left
        the engine, so the order-level tables cannot be computed).
    purchase_days : PurchaseDays or None
        Distinct purchase days per customer (pandas only), sorted.
    """

    aggregates: pd.DataFrame
    as_of: pd.Timestamp
    quality: QualityReport
    options: ReadOptions
    engine: str = "pandas"
    window_days: int | None = None
    orders: Orders | None = field(default=None, repr=False)
    purchase_days: PurchaseDays | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"CustomerBase({len(self.aggregates):,} customers with a purchase, "
            f"as_of={self.as_of.date()}, engine={self.engine!r}, "
            f"window_days={self.window_days!r})"
        )

    @property
    def has_orders(self) -> bool:
        """Whether the order-level data is at hand (in-memory orders, not an engine)."""
        return self.orders is not None

    def require_orders(self, func: str) -> Orders:
        """Return the orders, or raise saying that ``func`` needs every order."""
        if self.orders is None:
            raise ValueError(
                f"{func} needs every order, but the orders were aggregated inside the "
                f"{self.engine} engine. Pass prepared orders (read_orders / prepare_orders) "
                "or a DataFrame of order lines instead."
            )
        return self.orders

    @property
    def customer_index(self) -> pd.Index:
        """Every customer with an order (purchases or returns), sorted; position = code."""
        orders = self.require_orders("customer_index")
        assert orders.customer_index is not None
        return orders.customer_index

    @property
    def order_customer(self) -> np.ndarray:
        """The customer code of every order (position in ``customer_index``)."""
        orders = self.require_orders("order_customer")
        assert orders.customer_codes is not None
        return orders.customer_codes

    @cached_property
    def order_day(self) -> np.ndarray:
        """The calendar day (days since 1970-01-01, int64) of every order."""
        frame = self.require_orders("order_day").frame
        return frame["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)

    @cached_property
    def buyer_row(self) -> np.ndarray:
        """Row in ``aggregates`` of every customer code; -1 for customers with no purchase."""
        buyer = np.zeros(len(self.customer_index), dtype=bool)
        assert self.purchase_days is not None
        buyer[self.purchase_days.code] = True
        rows = np.cumsum(buyer) - 1
        return np.where(buyer, rows, -1)

    def money(self, values: np.ndarray) -> np.ndarray:
        """Round sums of amounts to the amounts' decimals (see :func:`round_money`)."""
        return round_money(values, None if self.orders is None else self.orders.amount_decimals)


def round_money(values: np.ndarray, decimals: int | None) -> np.ndarray:
    """Round sums of amounts that have at most ``decimals`` decimals to that many.

    Every addend is a multiple of 10**-k, so the exact sum is too; the float
    sum differs from it by far less than half a unit of the k-th decimal, and
    rounding gives back the exact decimal sum (a sum that is exactly zero
    comes out 0.0, not 4.5e-13 or -0.0). Without known decimals the values
    are returned as float64, unrounded.

    Parameters
    ----------
    values : array-like
        Sums of amounts.
    decimals : int or None
        The decimals every summed amount has (``Orders.amount_decimals``).

    Returns
    -------
    numpy.ndarray of float64

    Examples
    --------
    >>> float(np.add.reduce([0.1, 0.2, -0.3]))
    5.551115123125783e-17
    >>> round_money(np.array([np.add.reduce([0.1, 0.2, -0.3])]), 2)
    array([0.])
    """
    values = np.asarray(values, dtype=np.float64)
    return values if decimals is None else np.round(values, decimals) + 0.0


def customer_base(
    data: Orders | pd.DataFrame | EngineSource | CustomerBase,
    *,
    as_of: Any = None,
    window_days: int | None = None,
) -> CustomerBase:
    """Aggregate orders per customer once and return the base every step reads.

    Parameters
    ----------
    data : Orders, pandas.DataFrame, EngineSource or CustomerBase
        Prepared orders, order lines with the canonical column names
        (``customer_id``, ``order_date``, ``amount``; ``order_id``, ``cost``,
        ``status`` when present), lines held by an engine
        (:func:`~rfm_loyalty.engines.from_duckdb`,
        :func:`~rfm_loyalty.engines.from_spark`), or a base (returned as it
        is when ``as_of`` and ``window_days`` agree with it or are not given).
    as_of : date-like, optional
        Analysis date; default the orders' ``as_of``. May be earlier.
    window_days : int, optional
        Also count purchases inside and before a window of this many days
        back from ``as_of`` (the lifecycle window).

    Returns
    -------
    CustomerBase

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                       "order_date": ["2024-01-01", "2024-03-01", "2024-03-05"],
    ...                       "amount": [10.0, 20.0, -7.5]})
    >>> base = customer_base(frame, window_days=30)
    >>> base
    CustomerBase(1 customers with a purchase, as_of=2024-03-05, engine='pandas', window_days=30)
    >>> base.aggregates[["frequency", "monetary_total", "purchases_in_window"]]
                 frequency  monetary_total  purchases_in_window
    customer_id
    a                    2            30.0                    1
    >>> list(base.customer_index), base.quality.customers
    (['a', 'b'], 2)
    """
    window = check(window_days, _WINDOW, name="window_days", owner="customer_base")
    if isinstance(data, CustomerBase):
        same_date = as_of is None or _as_date(as_of) == data.as_of
        if same_date and (window is None or window == data.window_days):
            return data
        if data.orders is None:
            raise ValueError(
                "A customer base aggregated in an engine cannot be re-aggregated at another "
                "as_of or window; aggregate the engine source again with those settings."
            )
        data = data.orders
    if is_engine_source(data):
        result = data.aggregate(as_of=as_of, window_days=window)
        return CustomerBase(
            aggregates=result.aggregates,
            as_of=result.as_of,
            quality=result.quality,
            options=data.options,
            engine=data.engine,
            window_days=window,
        )
    prepared = as_orders(data, as_of)  # type: ignore[arg-type]
    aggregates, days = _aggregate_frame(prepared, window)
    return CustomerBase(
        aggregates=aggregates,
        as_of=prepared.as_of,
        quality=prepared.quality,
        options=prepared.options,
        window_days=window,
        orders=prepared,
        purchase_days=days,
    )


def _as_date(value: Any) -> pd.Timestamp:
    from rfm_loyalty._ingest.dates import as_date

    return as_date(value, name="as_of")


def customer_aggregates(
    orders: Orders | pd.DataFrame | EngineSource | CustomerBase,
    *,
    as_of: Any = None,
    window_days: int | None = None,
) -> pd.DataFrame:
    """Aggregate orders per customer: the only step that reads every order.

    Parameters
    ----------
    orders : Orders, pandas.DataFrame, EngineSource or CustomerBase
        Prepared orders (``prepare_orders``), a DataFrame with the canonical
        columns, lines held by an engine, or a customer base.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``. Orders after it are ignored.
    window_days : int, optional
        Also count purchases inside and before a window of this many days
        back from ``as_of`` (the lifecycle window).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (text, sorted), one row per customer with at
        least one purchase:

        * ``first_purchase``, ``last_purchase`` (datetime64[ns], midnight):
          calendar days of the first and last purchase;
        * ``frequency`` (int64): purchases (orders that are purchases);
        * ``purchase_days`` (int64): distinct calendar days with a purchase;
        * ``monetary_total`` (float64): net amount of all the customer's
          orders, returns included;
        * ``purchase_amount`` (float64): amount of the purchases only;
        * ``first_day_amount`` (float64): amount of the purchases made on the
          first purchase day;
        * ``purchases_in_window`` (int64): purchases with
          ``(as_of - day).days <= window_days`` (only with ``window_days``);
        * ``purchases_before_window`` (int64): the other purchases.

        ``.attrs["as_of"]`` holds the analysis date as ISO text (``"2024-02-01"``;
        text so that the table can be written to Parquet with it).

    Examples
    --------
    Two lines of customer ``a`` at the same timestamp are one order:

    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-01",
    ...                                                     "2024-03-01", "2024-03-05"]),
    ...                       "amount": [10.0, 5.0, 20.0, 7.5]})
    >>> customer_aggregates(frame, window_days=30)[["frequency", "purchase_days",
    ...                                             "purchases_before_window"]]
                 frequency  purchase_days  purchases_before_window
    customer_id
    a                    2              2                        1
    b                    1              1                        0
    """
    return _public(customer_base(orders, as_of=as_of, window_days=window_days).aggregates)


def _public(aggregates: pd.DataFrame) -> pd.DataFrame:
    """Return a copy for the caller, so that their edits leave the base's table alone."""
    return aggregates.copy(deep=False)


def rfm_table(
    orders: Orders | pd.DataFrame | EngineSource | CustomerBase, *, as_of: Any = None
) -> pd.DataFrame:
    """Return the customer table: recency, frequency and monetary value per customer.

    Parameters
    ----------
    orders : Orders, pandas.DataFrame, EngineSource or CustomerBase
        Prepared orders, a DataFrame with the canonical columns
        (``customer_id``, ``order_date``, ``amount``), lines held by an
        engine, or a customer base.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of`` (the last order date unless
        given to ``prepare_orders``). May be earlier than ``orders.as_of``.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (text, sorted), one row per customer with at
        least one purchase. Days are calendar days (time of day ignored).

        ==================  ==============  ==================================================
        column              dtype           meaning
        ==================  ==============  ==================================================
        first_purchase      datetime64[ns]  day of the first purchase
        last_purchase       datetime64[ns]  day of the last purchase
        recency_days        int64           as_of - last_purchase
        tenure_days         int64           as_of - first_purchase
        active_span_days    int64           last_purchase - first_purchase
        frequency           int64           purchases (orders with positive net amount)
        purchase_days       int64           distinct days with a purchase
        monetary_total      float64         net amount of all orders (returns netted)
        monetary_mean       float64         monetary_total / frequency
        ==================  ==============  ==================================================

        ``.attrs["as_of"]`` holds the analysis date as ISO text (``"2024-02-01"``;
        text so that the table can be written to Parquet with it).

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                       "order_date": pd.to_datetime(["2024-01-01 09:00", "2024-01-31 18:30",
    ...                                                     "2024-01-20 12:00"]),
    ...                       "amount": [10.0, 30.0, 5.0]})
    >>> rfm_table(frame, as_of="2024-02-01")[["recency_days", "tenure_days", "frequency",
    ...                                       "monetary_total", "monetary_mean"]]
                 recency_days  tenure_days  frequency  monetary_total  monetary_mean
    customer_id
    a                       1           31          2            40.0           20.0
    b                      12           12          1             5.0            5.0
    """
    base = customer_base(orders, as_of=as_of)
    return rfm_from_aggregates(base.aggregates, as_of=base.as_of)


def rfm_from_aggregates(aggregates: pd.DataFrame, *, as_of: Any = None) -> pd.DataFrame:
    """Derive the customer table from ``customer_aggregates`` output (any engine).

    ``as_of`` defaults to ``aggregates.attrs["as_of"]``.
    """
    as_of_ts = _aggregates_as_of(aggregates, as_of)
    as_of = as_of_ts.to_datetime64()
    first = aggregates["first_purchase"].to_numpy()
    last = aggregates["last_purchase"].to_numpy()
    frequency = aggregates["frequency"].to_numpy()
    monetary = aggregates["monetary_total"].to_numpy()
    table = pd.DataFrame(
        {
            "first_purchase": first,
            "last_purchase": last,
            "recency_days": _days_between(last, as_of),
            "tenure_days": _days_between(first, as_of),
            "active_span_days": _days_between(first, last),
            "frequency": frequency,
            "purchase_days": aggregates["purchase_days"].to_numpy(),
            "monetary_total": monetary,
            "monetary_mean": monetary / frequency,
        },
        index=aggregates.index,
    )
    table.attrs["as_of"] = as_of_ts.date().isoformat()
    return table


def _aggregates_as_of(aggregates: pd.DataFrame, as_of: Any) -> pd.Timestamp:
    if as_of is not None:
        return pd.Timestamp(as_of)
    if "as_of" not in aggregates.attrs:
        raise ValueError(
            "The aggregates carry no as_of (attrs['as_of']); pass as_of=..., or build them "
            "with customer_aggregates / customer_base."
        )
    return pd.Timestamp(aggregates.attrs["as_of"])


def btyd_summary(
    orders: Orders | pd.DataFrame | EngineSource | CustomerBase,
    *,
    as_of: Any = None,
    time_unit: Literal["D", "W"] = "D",
) -> pd.DataFrame:
    """Return the frequency / recency / T / monetary_value frame of customer-base models.

    The definitions are those of the BG/NBD and Gamma-Gamma literature (and of
    the lifetimes and pymc-marketing packages), at a granularity of one day:

    * ``frequency``: repeat purchase days (distinct purchase days - 1);
    * ``recency``: time from the first to the last purchase day;
    * ``T``: time from the first purchase day to ``as_of``;
    * ``monetary_value``: mean spend per repeat purchase day (purchases on the
      first purchase day excluded; returns, which are not purchases, are not
      counted), 0 when there is no repeat purchase day.

    Parameters
    ----------
    orders : Orders, pandas.DataFrame, EngineSource or CustomerBase
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``.
    time_unit : {"D", "W"}, default "D"
        Days, or weeks (days / 7, fractional).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns ``frequency``, ``recency``, ``T``,
        ``monetary_value``, all float64. ``.attrs`` holds ``as_of`` and
        ``time_unit``.

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                       "order_date": pd.to_datetime(["2024-01-01", "2024-01-08",
    ...                                                     "2024-01-08", "2024-01-10"]),
    ...                       "amount": [10.0, 30.0, 6.0, 5.0]})
    >>> btyd_summary(frame, as_of="2024-01-15")
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0      7.0  14.0            36.0
    b                  0.0      0.0   5.0             0.0
    """
    if time_unit not in ("D", "W"):
        raise ValueError(
            f"The 'time_unit' parameter of btyd_summary must be 'D' or 'W'. "
            f"Got {time_unit!r} instead."
        )
    base = customer_base(orders, as_of=as_of)
    return btyd_from_aggregates(base.aggregates, time_unit=time_unit, as_of=base.as_of)


def btyd_from_aggregates(
    aggregates: pd.DataFrame, *, time_unit: Literal["D", "W"] = "D", as_of: Any = None
) -> pd.DataFrame:
    """Derive the ``btyd_summary`` frame from ``customer_aggregates`` output.

    ``as_of`` defaults to ``aggregates.attrs["as_of"]``.
    """
    as_of_ts = _aggregates_as_of(aggregates, as_of)
    as_of = as_of_ts.to_datetime64()
    first = aggregates["first_purchase"].to_numpy()
    last = aggregates["last_purchase"].to_numpy()
    repeat_days = aggregates["purchase_days"].to_numpy() - 1
    repeat_amount = (
        aggregates["purchase_amount"].to_numpy() - aggregates["first_day_amount"].to_numpy()
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary_value = np.where(repeat_days > 0, repeat_amount / repeat_days, 0.0)
    scale = 7.0 if time_unit == "W" else 1.0
    table = pd.DataFrame(
        {
            "frequency": repeat_days.astype("float64"),
            "recency": _days_between(first, last) / scale,
            "T": _days_between(first, as_of) / scale,
            "monetary_value": monetary_value,
        },
        index=aggregates.index,
    )
    table.attrs["as_of"] = as_of_ts.date().isoformat()
    table.attrs["time_unit"] = time_unit
    return table


# ---------------------------------------------------------------------------
# the pandas/numpy aggregation
# ---------------------------------------------------------------------------


def _aggregate_frame(
    orders: Orders, window_days: int | None
) -> tuple[pd.DataFrame, PurchaseDays]:
    """Vectorised per-customer aggregation of the canonical order frame.

    Also returns the distinct purchase days per customer code (the sort that
    counts ``purchase_days`` makes them), which the churn, retention and flow
    tables reuse instead of sorting the orders again.
    """
    frame, as_of = orders.frame, orders.as_of
    if orders.customer_codes is not None and orders.customer_index is not None:
        codes, ids = orders.customer_codes, orders.customer_index
    else:  # pragma: no cover - prepare_orders always sets them
        codes, ids = pd.factorize(frame["customer_id"], sort=True)
    n = len(ids)
    day = frame["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    amount = frame["amount"].to_numpy(dtype="float64")
    purchase = frame["is_purchase"].to_numpy(dtype=bool)

    def money(values: np.ndarray) -> np.ndarray:
        return round_money(values, orders.amount_decimals)

    # (np.bincount of an empty array with weights gives int64: force float64)
    monetary_total = money(np.bincount(codes, weights=amount, minlength=n))
    p_codes = codes[purchase]
    p_day = day[purchase]
    p_amount = amount[purchase]
    frequency = np.bincount(p_codes, minlength=n)

    days = _distinct_purchase_days(p_codes, p_day)
    purchase_days = np.bincount(days.code, minlength=n).astype(np.int64)
    # the distinct days are sorted by customer, then day: each customer's run
    # starts with the first purchase and ends with the last
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    if len(days.code):
        run_start = np.flatnonzero(np.r_[True, days.code[1:] != days.code[:-1]])
        run_end = np.r_[run_start[1:], len(days.code)] - 1
        first[days.code[run_start]] = days.day[run_start]
        last[days.code[run_end]] = days.day[run_end]
    purchase_amount = money(np.bincount(p_codes, weights=p_amount, minlength=n))
    on_first_day = p_day == first[p_codes]
    first_day_amount = money(np.bincount(p_codes, weights=p_amount * on_first_day, minlength=n))

    columns: dict[str, Any] = {
        "first_purchase": first,
        "last_purchase": last,
        "frequency": frequency.astype(np.int64),
        "purchase_days": purchase_days,
        "monetary_total": monetary_total,
        "purchase_amount": purchase_amount,
        "first_day_amount": first_day_amount,
    }
    if window_days is not None:
        as_of_day = as_of.to_datetime64().astype("datetime64[D]").astype(np.int64)
        inside = (as_of_day - p_day) <= window_days
        in_window = np.bincount(p_codes[inside], minlength=n).astype(np.int64)
        columns["purchases_in_window"] = in_window
        columns["purchases_before_window"] = frequency.astype(np.int64) - in_window

    keep = frequency > 0
    table = pd.DataFrame({name: values[keep] for name, values in columns.items()}, copy=False)
    for name in ("first_purchase", "last_purchase"):
        table[name] = table[name].to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
    # (a take keeps Arrow-backed text as it is: no Python string per customer)
    table.index = pd.Index(ids).take(np.flatnonzero(keep)).rename("customer_id")
    table.attrs["as_of"] = as_of.date().isoformat()
    return table, days


def _distinct_purchase_days(codes: np.ndarray, days: np.ndarray) -> PurchaseDays:
    """Sort (customer, day) pairs and keep each once: codes sorted, days ascending within."""
    if len(days) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return PurchaseDays(empty, empty)
    low = int(days.min())
    span = int(days.max()) - low + 1
    n = int(codes.max()) + 1
    # 32-bit pairs sort about 1.6x faster than 64-bit ones (1M customers x 5 years fit)
    kind = np.dtype(np.uint32 if n * span <= 2**32 else np.int64)
    pairs = codes.astype(kind)
    pairs *= kind.type(span)
    pairs += np.asarray(days - low, dtype=kind)
    pairs.sort()
    first_of_pair = np.empty(len(pairs), dtype=bool)
    first_of_pair[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first_of_pair[1:])
    distinct = pairs[first_of_pair]
    code, day = np.divmod(distinct, kind.type(span))
    return PurchaseDays(code.astype(np.int64), day.astype(np.int64) + low)


def _days_between(start: Any, end: Any) -> np.ndarray:
    """Whole calendar days from start to end (both at midnight), as int64."""
    return np.asarray(end - start).astype("timedelta64[D]").astype(np.int64)
