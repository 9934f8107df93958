"""Order ingest: validate, normalise and account for every input row.

``prepare_orders`` turns a raw table of order lines into the canonical order
frame every other part of rfm_loyalty reads (one row per order), and a
``QualityReport`` that accounts for every input row and every unit of amount.

Definitions (also in ``docs/definitions.md``):

* A **line** is one input row. Lines with the same order id (or, without an
  order-id column, the same customer and the same timestamp) are one **order**;
  the order's amount is the sum of its lines' amounts, its date is its
  earliest line's timestamp.
* A **purchase** is an order whose net amount is positive (``zero_amount=
  "purchase"`` also counts orders of exactly 0). Orders with a negative net
  amount (returns) stay in the frame: they reduce the customer's monetary
  value but are not purchases.
* Days are calendar days: the time of day is ignored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.accounting import (
    DROP_REASONS,
    QualityReport,
    account,
    distinct_count,
    format_counts,
    ordered_reasons,
    report_bad_rows,
)
from rfm_loyalty._ingest.columns import inferred_note
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._ingest.files import FILE_ONLY_OPTIONS, check_columns_exist, read_file
from rfm_loyalty._ingest.lines import (
    Ingest,
    check_sums,
    compact_codes,
    sorted_customer_codes,
    sum_lines_into_orders,
)
from rfm_loyalty._ingest.options import OrderColumns, ReadOptions, read_options
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import DataQualityWarning, InvalidParameterError, SchemaError

__all__ = [
    "DROP_REASONS",
    "OrderColumns",
    "Orders",
    "QualityReport",
    "ReadOptions",
    "as_orders",
    "prepare_orders",
    "read_orders",
]

ReturnsPolicy = Literal["net", "drop", "error"]
ZeroAmountPolicy = Literal["not_purchase", "purchase"]
BadRowsPolicy = Literal["warn", "raise"]


@dataclass(frozen=True)
class Orders:
    """The canonical order frame with its analysis date and accounting.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per order, default RangeIndex, rows in no particular order:

        ============  ===============  ==================================================
        column        dtype            meaning
        ============  ===============  ==================================================
        customer_id   text             customer id as text
        order_id      text or int64    text; integer ids as given; generated int64 if none
        order_date    datetime64[ns]   the order's timestamp (earliest line), tz-naive
        amount        float64          net amount of the order (returns are negative)
        cost          float64          summed line costs (only with a cost column)
        status        input's dtype    status of the order's first line (only with status)
        n_lines       int64            input rows summed into the order
        is_purchase   bool             the order counts as a purchase
        ============  ===============  ==================================================
    as_of : pandas.Timestamp
        The analysis date (midnight). Every order's calendar date is on or
        before it.
    quality : QualityReport
        Row and amount accounting.
    options : ReadOptions
        Every reading option the frame was prepared with (``returns``,
        ``zero_amount`` and ``columns`` are also attributes).
    customer_codes, customer_index : numpy.ndarray and pandas.Index, optional
        A cache made by ``prepare_orders``: ``customer_index[customer_codes]``
        is ``frame["customer_id"]``, with ``customer_index`` sorted and holding
        exactly the customers that have an order. It spares
        the per-customer aggregation a second pass of hashing text over every
        order. Treat ``frame`` as read-only: build new ``Orders`` with
        ``prepare_orders`` rather than editing it in place.
    lines : pandas.DataFrame or None
        Only when a per-line column (``product``, ``category``,
        ``list_price``, ``discount``, ``channel``) is named: one row per used
        input line, with ``order`` (int64, the line's row in ``frame``),
        ``amount`` (float64, the line's amount) and the named per-line
        columns (``product``, ``category``, ``channel`` as text;
        ``list_amount``, the line's amount at list price, float64).
    amount_decimals : int or None
        The number of decimals every amount has (given as
        ``amount_decimals=`` or found from the data); sums of amounts are
        rounded to it, so that they carry no float residue. None: unknown.
    """

    frame: pd.DataFrame
    as_of: pd.Timestamp
    quality: QualityReport
    options: ReadOptions = field(default_factory=ReadOptions)
    customer_codes: np.ndarray | None = field(default=None, repr=False, compare=False)
    customer_index: pd.Index | None = field(default=None, repr=False, compare=False)
    lines: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    amount_decimals: int | None = None

    @property
    def returns(self) -> str:
        """The returns policy the orders were prepared with."""
        return self.options.returns

    @property
    def zero_amount(self) -> str:
        """The zero-amount policy the orders were prepared with."""
        return self.options.zero_amount

    @property
    def columns(self) -> OrderColumns:
        """The input columns the orders were read from (resolved when ``"auto"``)."""
        return self.options.order_columns

    def until(self, as_of: Any) -> Orders:
        """Return the orders on or before an earlier analysis date.

        Orders after the new date move to the ``after_as_of`` count of the
        quality report, so the accounting still balances.

        Parameters
        ----------
        as_of : date-like
            New analysis date; not later than ``self.as_of``.

        Returns
        -------
        Orders
        """
        new_as_of = as_date(as_of, name="as_of")
        if new_as_of > self.as_of:
            raise ValueError(
                f"as_of={new_as_of.date()} is after the date these orders were prepared for "
                f"({self.as_of.date()}); orders after that date were already excluded. "
                f"Prepare the orders with prepare_orders(..., as_of='{new_as_of.date()}')."
            )
        if new_as_of == self.as_of:
            return self
        frame = self.frame
        later = (frame["order_date"] >= new_as_of + pd.Timedelta(days=1)).to_numpy()
        kept = frame.loc[~later].reset_index(drop=True)
        codes, index = self.customer_codes, self.customer_index
        if codes is not None and index is not None:
            # only the customers with an order left, still sorted: renumber them
            codes, index = compact_codes(codes[~later], index)
        q = self.quality
        moved_rows = int(frame["n_lines"].to_numpy()[later].sum())
        moved_amount = float(frame["amount"].to_numpy()[later].sum())
        dropped = dict(q.dropped)
        dropped_amounts = dict(q.dropped_amounts)
        dropped["after_as_of"] = dropped.get("after_as_of", 0) + moved_rows
        dropped_amounts["after_as_of"] = dropped_amounts.get("after_as_of", 0.0) + moved_amount
        quality = dataclasses.replace(
            q,
            rows_used=q.rows_used - moved_rows,
            dropped=ordered_reasons(dropped),
            amount_used=q.amount_used - moved_amount,
            amount_dropped=q.amount_dropped + moved_amount,
            dropped_amounts=ordered_reasons(dropped_amounts),
            orders=len(kept),
            customers=distinct_count(codes) if codes is not None
            else int(kept["customer_id"].nunique()),
            purchases=int(kept["is_purchase"].sum()),
            as_of=new_as_of,
        )
        lines = self.lines
        if lines is not None:
            new_row = np.cumsum(~later) - 1  # old order row -> row among the kept orders
            order = lines["order"].to_numpy()
            lines = lines.loc[~later[order]].assign(order=lambda t: new_row[t["order"].to_numpy()])
            lines = lines.reset_index(drop=True)
        return dataclasses.replace(
            self, frame=kept, as_of=new_as_of, quality=quality, customer_codes=codes,
            customer_index=index, lines=lines,
            options=dataclasses.replace(self.options, as_of=new_as_of),
        )

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"Orders({q.orders:,} orders, {q.purchases:,} purchases, {q.customers:,} customers, "
            f"as_of={self.as_of.date()}, returns={self.returns!r}, "
            f"zero_amount={self.zero_amount!r})"
        )


# ---------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------


def prepare_orders(
    data: pd.DataFrame,
    columns: OrderColumns | Mapping[str, str] | str | None = None,
    *,
    as_of: Any = None,
    returns: ReturnsPolicy = "net",
    zero_amount: ZeroAmountPolicy = "not_purchase",
    valid_statuses: Iterable[Any] | None = None,
    tz: str | None = None,
    on_bad_rows: BadRowsPolicy = "warn",
    date_format: str | None = None,
    dayfirst: bool | None = None,
    decimal: str = ".",
    thousands: str | None = None,
    amount_decimals: int | None = None,
) -> Orders:
    """Validate order lines, drop and count bad rows, and sum lines into orders.

    Every option is checked (as one :class:`ReadOptions`) before any row is
    read.

    Parameters
    ----------
    data : pandas.DataFrame
        Order lines. Never modified.
    columns : OrderColumns, dict or "auto", optional
        Column names; default ``OrderColumns()`` (``customer_id``,
        ``order_date``, ``amount``). A dict maps roles to names
        (``{"customer": "CustomerID", ...}``); ``"auto"`` matches common
        English and Chinese headers and records the mapping it chose.
    as_of : date-like, optional
        Analysis date: ISO text (``"2011-12-09"``), ``date``, ``datetime`` or
        ``Timestamp``. Lines on a later calendar day are dropped
        (``after_as_of``). Default: the last order date among valid rows. A
        date after the last order warns, since every recency counts the gap.
    returns : {"net", "drop", "error"}, default "net"
        ``"net"``: negative lines reduce the order's and the customer's amount;
        an order with a negative net amount is kept but is not a purchase.
        ``"drop"``: negative lines are dropped (``negative_amount``).
        ``"error"``: a negative line raises ``DataQualityError``.
    zero_amount : {"not_purchase", "purchase"}, default "not_purchase"
        Whether an order with net amount exactly 0 is a purchase. Free orders
        count as visits in the published customer-base models ("purchase").
    valid_statuses : iterable, optional
        Only lines whose status is in this set are used (``invalid_status``).
        Needs ``columns.status``.
    tz : str, optional
        Time zone in which calendar days are counted. Time-zone-aware dates
        are converted to it; naive dates are taken to be in it already.
        Default: aware dates keep their own wall-clock time.
    on_bad_rows : {"warn", "raise"}, default "warn"
        Rows with a missing customer, date, amount, cost or order id are
        dropped with one ``DataQualityWarning`` giving the counts, or raise
        ``DataQualityError``.
    date_format : str, optional
        strftime pattern of text dates, or ``"excel"``, ``"epoch_s"``,
        ``"epoch_ms"`` for numeric dates. Default: one format inferred from
        the whole column (see ``docs/definitions.md``).
    dayfirst : bool, optional
        Whether ``01/02/2024`` is 1 February. Default: settled by the data
        (a day above 12), else an error naming both readings.
    decimal, thousands : str
        Decimal mark (default ``"."``) and thousands separator (default none)
        of amounts written as text, read by the amount text rule of
        ``docs/definitions.md`` (currency signs and codes such as ``￥`` or
        ``EUR``, full-width digits, accounting negatives ``(12.50)``).
    amount_decimals : int, optional
        Decimals of the amounts (0 to 6); default found from the data.
        Monetary sums are exact at this many decimals.

    Returns
    -------
    Orders
        ``.frame`` (one row per order, see ``Orders``), ``.as_of``,
        ``.quality``, ``.options``.

    Raises
    ------
    InvalidParameterError
        An option is invalid (before any row is read).
    SchemaError
        A column is missing, the input is empty, a column has the wrong kind
        of values, or no valid row remains.
    DataQualityError
        With ``on_bad_rows="raise"`` or ``returns="error"``.

    Examples
    --------
    >>> lines = pd.DataFrame({
    ...     "customer": ["a", "a", "b", "b"],
    ...     "ts": ["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-03", "2024-01-05"],
    ...     "value": [10.0, 5.0, 20.0, -20.0],
    ... })
    >>> orders = prepare_orders(lines, OrderColumns(customer="customer", date="ts",
    ...                                              amount="value"))
    >>> orders.frame.sort_values("order_date")[["customer_id", "order_date", "amount",
    ...                                         "is_purchase"]]
      customer_id          order_date  amount  is_purchase
    0           a 2024-01-01 10:00:00    15.0         True
    1           b 2024-01-03 00:00:00    20.0         True
    2           b 2024-01-05 00:00:00   -20.0        False
    >>> orders.as_of
    Timestamp('2024-01-05 00:00:00')
    """
    options = ReadOptions(
        columns=columns, as_of=as_of, returns=returns, zero_amount=zero_amount,
        valid_statuses=valid_statuses, tz=tz, on_bad_rows=on_bad_rows, date_format=date_format,
        dayfirst=dayfirst, decimal=decimal, thousands=thousands,
        amount_decimals=amount_decimals,
    )
    return orders_from_frame(data, options)


def orders_from_frame(data: Any, options: ReadOptions) -> Orders:
    """Prepare a DataFrame of order lines with checked options (``prepare_orders``' body)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"prepare_orders expects a pandas DataFrame of order lines. Got "
            f"{type(data).__name__} instead; use read_orders for a file path."
        )
    file_only = {k: v for k, v in options.given().items() if k in FILE_ONLY_OPTIONS}
    if file_only:
        raise InvalidParameterError(
            f"{sorted(file_only)} are options of reading a file; the orders are a DataFrame "
            "already. Leave them unset, or pass the file's path to read_orders/analyze."
        )
    resolved = _resolve_columns(data, options)
    ingest = Ingest(data, resolved)
    _note_columns(ingest, options)
    return _orders_from(ingest, resolved)


def _note_columns(ingest: Ingest, given: ReadOptions) -> None:
    """Record the columns ``columns="auto"`` found (``QualityReport.readings["columns"]``)."""
    if given.columns == "auto":
        ingest.readings.update(inferred_note(ingest.options.order_columns))


def _resolve_columns(data: pd.DataFrame, options: ReadOptions) -> ReadOptions:
    """Check the table's shape against the columns (resolving ``columns="auto"``)."""
    if len(data) == 0:
        raise SchemaError("The order table is empty (0 rows); there is nothing to analyse.")
    if options.columns == "auto":
        from rfm_loyalty._ingest.columns import infer_columns

        options = options.with_columns(infer_columns(data.columns))
    cols = options.order_columns
    check_columns_exist(data.columns, cols, sample=lambda: data.iloc[:200])
    duplicated = data.columns[data.columns.duplicated()].tolist()
    wanted = set(cols.used().values())
    if any(c in wanted for c in duplicated):
        raise SchemaError(f"The input has duplicate column names {duplicated!r}.")
    if options.valid_statuses is not None and cols.status is None:
        raise InvalidParameterError(
            "valid_statuses needs a status column: pass OrderColumns(status=...)."
        )
    return options


def _orders_from(ingest: Ingest, options: ReadOptions) -> Orders:
    """Finish ``prepare_orders`` from parsed lines (the input frame is no longer needed)."""
    cols, n = options.order_columns, ingest.n
    reasons = ingest.first_failures(options.valid_statuses)
    as_of_ts = _resolve_as_of(options.as_of, ingest, reasons)
    if as_of_ts is not None:
        ingest.mark_after(reasons, as_of_ts)
    if options.returns == "drop":
        ingest.mark_negative(reasons)
    elif options.returns == "error":
        ingest.raise_on_negative(reasons)

    report_args = account(
        reasons, ingest.amount, ingest.amount_bad, ingest.readings, ingest.unread_lines)
    report_bad_rows(report_args["dropped"], options.on_bad_rows, report_args["rows_in"],
                    ingest.notes)

    used = reasons == 0
    if not used.any():
        raise SchemaError(
            f"No valid order row remains: all {n:,} rows were dropped "
            f"({format_counts(report_args['dropped'])}). Check the column mapping "
            f"{cols.used()!r} and the as_of date."
        )
    assert as_of_ts is not None  # set whenever a row is valid
    frame, customer_codes, lines = sum_lines_into_orders(ingest, used, options.zero_amount)
    check_sums(frame, customer_codes, ingest.customer_ids)
    codes, index = sorted_customer_codes(customer_codes, ingest.customer_ids)
    quality = QualityReport(
        **report_args,
        encoding=ingest.encoding,
        orders=len(frame),
        customers=distinct_count(codes),
        purchases=int(frame["is_purchase"].sum()),
        as_of=as_of_ts,
    )
    return Orders(
        frame=frame,
        as_of=as_of_ts,
        quality=quality,
        options=options,
        customer_codes=codes,
        customer_index=index,
        lines=lines,
        amount_decimals=ingest.amount_decimals,
    )


def read_orders(
    source: str | os.PathLike[str] | pd.DataFrame,
    columns: OrderColumns | Mapping[str, str] | str | None = None,
    **options: Any,
) -> Orders:
    """Read order lines from a CSV, Excel or Parquet file, or a DataFrame.

    Only the named columns are parsed. Customer and order ids are read as
    text (never ``17850.0``). The encoding and the separator of a CSV file
    are detected unless given. Every option is checked before the file is
    opened.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``, ``.csv.gz``, ``.txt``, ``.tsv`` (tab separated), ``.xlsx``
        (needs the ``excel`` extra) or ``.parquet``/``.pq`` file, or a
        DataFrame.
    columns : OrderColumns, dict or "auto", optional
        Column names, as for ``prepare_orders``.
    **options
        The options of ``prepare_orders``, and for files ``encoding``,
        ``sep`` and ``sheet_name`` (see :class:`ReadOptions`).

    Returns
    -------
    Orders

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "orders.csv")
    >>> _ = pd.DataFrame({"customer_id": ["007", "007"], "order_date": ["2024-01-01", "2024-02-01"],
    ...                   "amount": [9.5, 10.5]}).to_csv(path, index=False)
    >>> read_orders(path).frame["customer_id"].tolist()
    ['007', '007']
    """
    opts = read_options(columns, options, owner="read_orders")
    if isinstance(source, pd.DataFrame):
        return orders_from_frame(source, opts)
    return orders_from_file(source, opts)


def orders_from_file(source: str | os.PathLike[str], options: ReadOptions) -> Orders:
    """Read and prepare an order file with checked options (``read_orders``' body)."""
    path = Path(source)
    ingest, resolved = _read_lines(path, options)
    _note_columns(ingest, options)
    return _orders_from(ingest, resolved)


def _read_lines(path: Path, options: ReadOptions) -> tuple[Ingest, ReadOptions]:
    """Read and parse the file's lines; the file's frame is freed on return.

    Only the parsed arrays (codes, days, amounts) go on to the summing of lines
    into orders, so the text columns read from the file (most of the memory)
    are released before that step instead of being held until the end.
    """
    data, resolved, reading = read_file(path, options)
    resolved = _resolve_columns(data, resolved)
    ingest = Ingest(data, resolved)
    ingest.readings.update(reading.readings)
    ingest.encoding = reading.encoding
    ingest.unread_lines = reading.bad_lines
    if reading.note:
        ingest.notes["bad_line"] = reading.note
    return ingest, resolved


def as_orders(orders: Orders | pd.DataFrame, as_of: Any = None) -> Orders:
    """Accept prepared ``Orders`` or a canonical DataFrame; apply ``as_of``.

    A DataFrame is prepared with the canonical column names (``customer_id``,
    ``order_date``, ``amount``, and ``order_id``/``cost``/``status`` when
    present). With ``Orders``, ``as_of`` restricts to an earlier date.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders, or order lines with the canonical column names.
    as_of : date-like, optional
        Analysis date; with ``Orders``, not later than ``orders.as_of``.

    Returns
    -------
    Orders

    Examples
    --------
    >>> frame = pd.DataFrame({"customer_id": ["a", "b"],
    ...                       "order_date": ["2024-01-01", "2024-02-01"],
    ...                       "amount": [5.0, 7.0]})
    >>> as_orders(frame).as_of
    Timestamp('2024-02-01 00:00:00')
    >>> len(as_orders(frame, as_of="2024-01-15").frame)
    1
    """
    if isinstance(orders, Orders):
        return orders if as_of is None else orders.until(as_of)
    if isinstance(orders, pd.DataFrame):
        return prepare_orders(orders, canonical_columns(orders), as_of=as_of)
    raise TypeError(
        "Expected Orders (from prepare_orders or read_orders) or a pandas DataFrame. "
        f"Got {type(orders).__name__} instead."
    )


def canonical_columns(data: pd.DataFrame) -> OrderColumns:
    """Return the ``OrderColumns`` of a frame with the canonical column names.

    ``customer_id``, ``order_date``, ``amount``, plus ``order_id``, ``cost``,
    ``status`` and the per-line roles (``product``, ``category``,
    ``list_price``, ``discount``, ``channel``) when such columns exist.

    Examples
    --------
    >>> canonical_columns(pd.DataFrame(columns=["customer_id", "order_date", "amount",
    ...                                         "cost"]))
    OrderColumns(customer='customer_id', date='order_date', amount='amount', cost='cost')
    """
    present = {str(c) for c in data.columns}
    optional = ("order_id", "cost", "status", "product", "category", "list_price", "discount",
                "channel")
    return OrderColumns(**{role: role for role in optional if role in present})


# ---------------------------------------------------------------------------
# as_of
# ---------------------------------------------------------------------------


def _resolve_as_of(
    as_of: pd.Timestamp | None, ingest: Ingest, reasons: np.ndarray
) -> pd.Timestamp | None:
    valid = reasons == 0
    if as_of is None:
        return pd.Timestamp(ingest.dates[valid].max()).normalize() if valid.any() else None
    on_or_before = valid & (ingest.dates < (as_of + pd.Timedelta(days=1)).to_datetime64())
    if on_or_before.any():
        last = pd.Timestamp(ingest.dates[on_or_before].max()).normalize()
        gap = (as_of - last).days
        if gap > 0:
            warn_user(
                f"as_of={as_of.date()} is {gap:,} day(s) after the last order "
                f"({last.date()}): every customer's recency counts those days. Leave as_of "
                "unset to analyse as of the last order date.",
                DataQualityWarning,
            )
    return as_of
