"""The per-customer tables: ``rfm_table`` and ``btyd_summary``.

Both are thin views of ``customer_aggregates``, the one step that reads every
order. Engines for data larger than memory (DuckDB, Spark) plug in there: they
only have to produce the same aggregates; everything downstream reads them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

from rfm_loyalty.orders import Orders, as_orders

if TYPE_CHECKING:
    from rfm_loyalty.engines import EngineSource

__all__ = [
    "AGGREGATE_COLUMNS",
    "RFM_COLUMNS",
    "btyd_summary",
    "customer_aggregates",
    "rfm_table",
]

#: Columns of ``rfm_table``, in order (DESIGN section 4).
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



def customer_aggregates(
    orders: Orders | pd.DataFrame | EngineSource,
    *,
    as_of: Any = None,
    window_days: int | None = None,
) -> pd.DataFrame:
    """Aggregate orders per customer: the only step that reads every order.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders (``prepare_orders``), or a DataFrame with the
        canonical columns.
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
    from rfm_loyalty.engines import engine_aggregates, is_engine_source

    if is_engine_source(orders):  # lines held by DuckDB or Spark: aggregate there
        return engine_aggregates(orders, as_of=as_of, window_days=window_days)
    # (the engine check above is a TypeGuard, which does not narrow this branch)
    prepared = as_orders(cast("Orders | pd.DataFrame", orders), as_of)
    if window_days is not None:
        _check_days("window_days", window_days)
    table = _aggregate_frame(prepared, window_days)
    table.attrs["as_of"] = prepared.as_of.date().isoformat()
    return table


def rfm_table(orders: Orders | pd.DataFrame | EngineSource, *, as_of: Any = None) -> pd.DataFrame:
    """Return the customer table: recency, frequency and monetary value per customer.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders, or a DataFrame with the canonical columns
        (``customer_id``, ``order_date``, ``amount``).
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
    aggregates = customer_aggregates(orders, as_of=as_of)
    return rfm_from_aggregates(aggregates)


def rfm_from_aggregates(aggregates: pd.DataFrame) -> pd.DataFrame:
    """Derive the customer table from ``customer_aggregates`` output (any engine)."""
    as_of = pd.Timestamp(aggregates.attrs["as_of"]).to_datetime64()
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
    table.attrs["as_of"] = aggregates.attrs["as_of"]
    return table


def btyd_summary(
    orders: Orders | pd.DataFrame | EngineSource,
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
    orders : Orders or pandas.DataFrame
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
    return btyd_from_aggregates(customer_aggregates(orders, as_of=as_of), time_unit=time_unit)


def btyd_from_aggregates(
    aggregates: pd.DataFrame, *, time_unit: Literal["D", "W"] = "D"
) -> pd.DataFrame:
    """Derive the ``btyd_summary`` frame from ``customer_aggregates`` output."""
    as_of = pd.Timestamp(aggregates.attrs["as_of"]).to_datetime64()
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
    table.attrs["as_of"] = aggregates.attrs["as_of"]
    table.attrs["time_unit"] = time_unit
    return table


# ---------------------------------------------------------------------------
# the pandas/numpy aggregation
# ---------------------------------------------------------------------------


def _aggregate_frame(orders: Orders, window_days: int | None) -> pd.DataFrame:
    """Vectorised per-customer aggregation of the canonical order frame."""
    frame, as_of = orders.frame, orders.as_of
    if orders.customer_codes is not None and orders.customer_index is not None:
        codes, ids = orders.customer_codes, orders.customer_index
    else:
        codes, ids = pd.factorize(frame["customer_id"], sort=True)
    n = len(ids)
    day = frame["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    amount = frame["amount"].to_numpy(dtype="float64")
    purchase = frame["is_purchase"].to_numpy(dtype=bool)

    # (np.bincount of an empty array with weights gives int64: force float64)
    monetary_total = np.bincount(codes, weights=amount, minlength=n).astype(np.float64)
    p_codes = codes[purchase]
    p_day = day[purchase]
    p_amount = amount[purchase]
    frequency = np.bincount(p_codes, minlength=n)

    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, p_codes, p_day)
    np.maximum.at(last, p_codes, p_day)
    purchase_amount = np.bincount(p_codes, weights=p_amount, minlength=n).astype(np.float64)
    on_first_day = p_day == first[p_codes]
    first_day_amount = np.bincount(
        p_codes, weights=p_amount * on_first_day, minlength=n
    ).astype(np.float64)
    purchase_days = _distinct_days_per_customer(p_codes, p_day, n)

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
    return table


def _distinct_days_per_customer(codes: np.ndarray, days: np.ndarray, n: int) -> np.ndarray:
    """Count the distinct days per customer code: sort (customer, day) pairs, count firsts."""
    if len(days) == 0:
        return np.zeros(n, dtype=np.int64)
    low = days.min()
    span = int(days.max() - low) + 1
    # 32-bit pairs sort about 1.6x faster than 64-bit ones (1M customers x 5 years fit)
    kind = np.dtype(np.uint32 if n * span <= 2**32 else np.int64)
    pairs = codes.astype(kind)
    pairs *= kind.type(span)
    pairs += np.asarray(days - low, dtype=kind)
    pairs.sort()
    first_of_pair = np.empty(len(pairs), dtype=bool)
    first_of_pair[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first_of_pair[1:])
    customers = pairs[first_of_pair]
    customers //= kind.type(span)
    return np.bincount(customers, minlength=n).astype(np.int64)


def _days_between(start: Any, end: Any) -> np.ndarray:
    """Whole calendar days from start to end (both at midnight), as int64."""
    return np.asarray(end - start).astype("timedelta64[D]").astype(np.int64)


def _check_days(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(
            f"The {name!r} parameter must be a whole number of days >= 0. Got {value!r} instead."
        )
