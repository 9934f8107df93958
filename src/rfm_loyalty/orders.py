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
import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty._ingest import (
    DROP_REASONS,
    Ingest,
    account,
    distinct_count,
    format_counts,
    ordered_reasons,
    report_bad_rows,
    sorted_customer_codes,
    sum_lines_into_orders,
)
from rfm_loyalty._parse import as_date
from rfm_loyalty._read_files import check_columns_exist, read_file
from rfm_loyalty.exceptions import SchemaError

__all__ = [
    "DROP_REASONS",
    "OrderColumns",
    "Orders",
    "QualityReport",
    "as_orders",
    "prepare_orders",
    "read_orders",
]

ReturnsPolicy = Literal["net", "drop", "error"]
ZeroAmountPolicy = Literal["not_purchase", "purchase"]
BadRowsPolicy = Literal["warn", "raise"]


@dataclass(frozen=True)
class OrderColumns:
    """Names of the input columns, given once.

    Parameters
    ----------
    customer : str, default "customer_id"
        Customer identifier. Read as text: ``17850``, ``17850.0`` and
        ``"17850"`` are the same customer ``"17850"``; surrounding white space
        is removed.
    date : str, default "order_date"
        Order timestamp (datetime, or text in any format pandas can parse).
    amount : str or None, default "amount"
        Line amount (negative for returns). Leave it unset and give
        ``quantity`` and ``unit_price`` to compute it as their product.
    order_id : str or None
        Order (invoice) id. Lines with the same id are one order. Without it,
        lines of the same customer at the same timestamp are one order.
    cost : str or None
        Cost of the line (a total for the line, not a unit cost).
    status : str or None
        Order status, filtered with ``valid_statuses``.
    quantity, unit_price : str or None
        Give both to compute the amount as ``quantity * unit_price``.

    Examples
    --------
    >>> OrderColumns(customer="CustomerID", date="InvoiceDate",
    ...              quantity="Quantity", unit_price="UnitPrice", order_id="InvoiceNo")
    OrderColumns(customer='CustomerID', date='InvoiceDate', amount=None, order_id='InvoiceNo', cost=None, status=None, quantity='Quantity', unit_price='UnitPrice')
    """  # noqa: E501

    customer: str = "customer_id"
    date: str = "order_date"
    amount: str | None = None
    order_id: str | None = None
    cost: str | None = None
    status: str | None = None
    quantity: str | None = None
    unit_price: str | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and not isinstance(value, str):
                raise TypeError(
                    f"OrderColumns.{f.name} must be a column name (str) or None. "
                    f"Got {value!r} instead."
                )
        if (self.quantity is None) != (self.unit_price is None):
            raise ValueError(
                "OrderColumns needs both quantity and unit_price to compute the amount. "
                f"Got quantity={self.quantity!r} and unit_price={self.unit_price!r}."
            )
        if self.quantity is not None and self.amount is not None:
            raise ValueError(
                "OrderColumns takes either amount or quantity and unit_price, not both. "
                f"Got amount={self.amount!r}, quantity={self.quantity!r}, "
                f"unit_price={self.unit_price!r}."
            )
        if self.quantity is None and self.amount is None:
            object.__setattr__(self, "amount", "amount")
        names = [n for n in self.used() if n is not None]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(
                f"OrderColumns names the column(s) {duplicated} for more than one role."
            )

    def used(self) -> dict[str, str]:
        """Return the roles that are set, mapped to their column names."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class QualityReport:
    """Accounting of every input row and every unit of amount.

    Invariants: ``rows_in == rows_used + sum(dropped.values())`` and
    ``amount_in == amount_used + amount_dropped`` (up to float rounding).
    Amounts are summed over rows whose amount could be read; a row with an
    unreadable amount counts as a row but adds nothing to the amounts.

    Attributes
    ----------
    rows_in, rows_used : int
        Input rows; rows summed into the order frame.
    dropped : dict of str to int
        Rows dropped per reason (see ``DROP_REASONS``); only reasons that
        occurred appear.
    amount_in, amount_used, amount_dropped : float
        Sum of readable amounts over all rows, used rows and dropped rows.
    dropped_amounts : dict of str to float
        Amount dropped per reason.
    orders, customers, purchases : int
        Orders and distinct customers in the order frame; orders that are
        purchases.
    as_of : pandas.Timestamp
        The analysis date the rows were checked against.
    """

    rows_in: int
    rows_used: int
    dropped: Mapping[str, int]
    amount_in: float
    amount_used: float
    amount_dropped: float
    dropped_amounts: Mapping[str, float] = field(default_factory=dict)
    orders: int = 0
    customers: int = 0
    purchases: int = 0
    as_of: pd.Timestamp | None = None

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped, all reasons."""
        return int(sum(self.dropped.values()))

    def to_frame(self) -> pd.DataFrame:
        """Return the accounting as a table.

        Returns
        -------
        pandas.DataFrame
            Index ``item`` (``rows_in``, ``rows_used``, then one
            ``dropped:<reason>`` row per reason); columns ``rows`` (int64) and
            ``amount`` (float64).
        """
        items = ["rows_in", "rows_used"] + [f"dropped:{r}" for r in self.dropped]
        rows = [self.rows_in, self.rows_used, *self.dropped.values()]
        amounts = [
            self.amount_in,
            self.amount_used,
            *(self.dropped_amounts.get(r, 0.0) for r in self.dropped),
        ]
        frame = pd.DataFrame(
            {"rows": np.asarray(rows, dtype="int64"), "amount": np.asarray(amounts, "float64")},
            index=pd.Index(items, name="item"),
        )
        return frame

    def __str__(self) -> str:
        lines = [
            f"QualityReport (as_of {self.as_of.date() if self.as_of is not None else '-'})",
            f"  rows in      {self.rows_in:>12,}   amount {self.amount_in:>18,.2f}",
            f"  rows used    {self.rows_used:>12,}   amount {self.amount_used:>18,.2f}",
        ]
        for reason, n in self.dropped.items():
            amount = self.dropped_amounts.get(reason, 0.0)
            lines.append(f"  dropped {reason:<20} {n:>9,}   amount {amount:>18,.2f}")
        lines.append(
            f"  -> {self.orders:,} orders ({self.purchases:,} purchases) "
            f"from {self.customers:,} customers"
        )
        return "\n".join(lines)


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
        order_id      input's dtype    the input's order id; a generated int64 without one
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
    returns, zero_amount : str
        The policies the frame was prepared with.
    customer_codes, customer_index : numpy.ndarray and pandas.Index, optional
        A cache made by ``prepare_orders``: ``customer_index[customer_codes]``
        is ``frame["customer_id"]``, with ``customer_index`` sorted. It spares
        the per-customer aggregation a second pass of hashing text over every
        order. Treat ``frame`` as read-only: build new ``Orders`` with
        ``prepare_orders`` rather than editing it in place.
    """

    frame: pd.DataFrame
    as_of: pd.Timestamp
    quality: QualityReport
    returns: str = "net"
    zero_amount: str = "not_purchase"
    customer_codes: np.ndarray | None = field(default=None, repr=False, compare=False)
    customer_index: pd.Index | None = field(default=None, repr=False, compare=False)

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
        codes = None if self.customer_codes is None else self.customer_codes[~later]
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
        return dataclasses.replace(
            self, frame=kept, as_of=new_as_of, quality=quality, customer_codes=codes
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
    columns: OrderColumns | None = None,
    *,
    as_of: Any = None,
    returns: ReturnsPolicy = "net",
    zero_amount: ZeroAmountPolicy = "not_purchase",
    valid_statuses: Iterable[Any] | None = None,
    tz: str | None = None,
    on_bad_rows: BadRowsPolicy = "warn",
) -> Orders:
    """Validate order lines, drop and count bad rows, and sum lines into orders.

    Parameters
    ----------
    data : pandas.DataFrame
        Order lines. Never modified.
    columns : OrderColumns, optional
        Column names; default ``OrderColumns()`` (``customer_id``,
        ``order_date``, ``amount``).
    as_of : date-like, optional
        Analysis date. Lines on a later calendar day are dropped
        (``after_as_of``). Default: the last order date among valid rows.
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
        Default: aware dates keep their own wall-clock time; text dates with
        several UTC offsets are converted to UTC.
    on_bad_rows : {"warn", "raise"}, default "warn"
        Rows with a missing customer, date, amount, cost or order id are
        dropped with one ``DataQualityWarning`` giving the counts, or raise
        ``DataQualityError``.

    Returns
    -------
    Orders
        ``.frame`` (one row per order, see ``Orders``), ``.as_of``,
        ``.quality``.

    Raises
    ------
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
    cols = _check_options(data, columns, returns, zero_amount, valid_statuses, on_bad_rows)
    return _orders_from(
        Ingest(data, cols, tz=tz),
        as_of=as_of,
        returns=returns,
        zero_amount=zero_amount,
        valid_statuses=valid_statuses,
        on_bad_rows=on_bad_rows,
    )


def _orders_from(
    ingest: Ingest,
    *,
    as_of: Any,
    returns: ReturnsPolicy,
    zero_amount: ZeroAmountPolicy,
    valid_statuses: Iterable[Any] | None,
    on_bad_rows: BadRowsPolicy,
) -> Orders:
    """Finish ``prepare_orders`` from parsed lines (the input frame is no longer needed)."""
    cols, n = ingest.cols, ingest.n
    reasons = ingest.first_failures(valid_statuses)
    as_of_ts = _resolve_as_of(as_of, ingest, reasons)
    if as_of_ts is not None:
        ingest.mark_after(reasons, as_of_ts)
    if returns == "drop":
        ingest.mark_negative(reasons)
    elif returns == "error":
        ingest.raise_on_negative(reasons)

    report_args = account(ingest, reasons, n)
    report_bad_rows(report_args["dropped"], on_bad_rows, n)

    used = reasons == 0
    if not used.any():
        raise SchemaError(
            f"No valid order row remains: all {n:,} rows were dropped "
            f"({format_counts(report_args['dropped'])}). Check the column mapping "
            f"{cols.used()!r} and the as_of date."
        )
    assert as_of_ts is not None  # set whenever a row is valid
    frame, customer_codes = sum_lines_into_orders(ingest, used, zero_amount)
    codes, index = sorted_customer_codes(customer_codes, ingest.customer_ids)
    quality = QualityReport(
        **report_args,
        orders=len(frame),
        customers=distinct_count(codes),
        purchases=int(frame["is_purchase"].sum()),
        as_of=as_of_ts,
    )
    return Orders(
        frame=frame,
        as_of=as_of_ts,
        quality=quality,
        returns=returns,
        zero_amount=zero_amount,
        customer_codes=codes,
        customer_index=index,
    )


def read_orders(
    source: str | os.PathLike[str] | pd.DataFrame,
    columns: OrderColumns | None = None,
    **options: Any,
) -> Orders:
    """Read order lines from a CSV (also ``.csv.gz``), a Parquet file or a DataFrame.

    Only the named columns are read. Customer and order ids are read as text
    from CSV (never ``17850.0``). Other keyword arguments are those of
    ``prepare_orders``.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``, ``.csv.gz``, ``.txt``, ``.tsv`` (tab separated) or
        ``.parquet``/``.pq`` file, or a DataFrame.
    columns : OrderColumns, optional
        Column names, as for ``prepare_orders``.
    **options
        Passed to ``prepare_orders``.

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
    cols = columns or OrderColumns()
    if isinstance(source, pd.DataFrame):
        return prepare_orders(source, cols, **options)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No order file at {str(path)!r}.")
    # the options of prepare_orders, with its defaults (unknown names raise TypeError)
    call = inspect.signature(prepare_orders).bind(pd.DataFrame(), cols, **options)
    call.apply_defaults()
    policies = dict(call.arguments)
    del policies["data"], policies["columns"]
    tz = policies.pop("tz")
    ingest = _read_lines(path, cols, tz=tz, policies=policies)
    return _orders_from(ingest, **policies)


def _read_lines(
    path: Path, cols: OrderColumns, *, tz: str | None, policies: Mapping[str, Any]
) -> Ingest:
    """Read and parse the file's lines; the file's frame is freed on return.

    Only the parsed arrays (codes, days, amounts) go on to the summing of lines
    into orders, so the text columns read from the file (most of the memory)
    are released before that step instead of being held until the end.
    """
    data = read_file(path, cols)
    _check_options(
        data,
        cols,
        policies["returns"],
        policies["zero_amount"],
        policies["valid_statuses"],
        policies["on_bad_rows"],
    )
    return Ingest(data, cols, tz=tz)


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
        present = set(map(str, orders.columns))
        cols = OrderColumns(
            order_id="order_id" if "order_id" in present else None,
            cost="cost" if "cost" in present else None,
            status="status" if "status" in present else None,
        )
        return prepare_orders(orders, cols, as_of=as_of)
    raise TypeError(
        "Expected Orders (from prepare_orders or read_orders) or a pandas DataFrame. "
        f"Got {type(orders).__name__} instead."
    )


# ---------------------------------------------------------------------------
# validation of the call
# ---------------------------------------------------------------------------


def _check_options(
    data: Any,
    columns: OrderColumns | None,
    returns: str,
    zero_amount: str,
    valid_statuses: Any,
    on_bad_rows: str,
) -> OrderColumns:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"prepare_orders expects a pandas DataFrame of order lines. Got "
            f"{type(data).__name__} instead; use read_orders for a file path."
        )
    cols = columns if columns is not None else OrderColumns()
    if not isinstance(cols, OrderColumns):
        raise TypeError(
            f"The 'columns' parameter must be an OrderColumns. Got {type(columns).__name__}."
        )
    _check_choice("returns", returns, ("net", "drop", "error"))
    _check_choice("zero_amount", zero_amount, ("not_purchase", "purchase"))
    _check_choice("on_bad_rows", on_bad_rows, ("warn", "raise"))
    if valid_statuses is not None:
        if cols.status is None:
            raise ValueError(
                "valid_statuses needs a status column: pass OrderColumns(status=...)."
            )
        if isinstance(valid_statuses, str) or not isinstance(valid_statuses, Iterable):
            raise TypeError(
                "The 'valid_statuses' parameter must be a list or set of statuses. "
                f"Got {valid_statuses!r} instead."
            )
    if len(data) == 0:
        raise SchemaError("The order table is empty (0 rows); there is nothing to analyse.")
    check_columns_exist(data.columns, cols)
    duplicated = data.columns[data.columns.duplicated()].tolist()
    wanted = set(cols.used().values())
    if any(c in wanted for c in duplicated):
        raise SchemaError(f"The input has duplicate column names {duplicated!r}.")
    return cols


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(
            f"The {name!r} parameter of prepare_orders must be one of {list(choices)}. "
            f"Got {value!r} instead."
        )


# ---------------------------------------------------------------------------
# as_of, accounting and warnings
# ---------------------------------------------------------------------------


def _resolve_as_of(as_of: Any, ingest: Ingest, reasons: np.ndarray) -> pd.Timestamp | None:
    if as_of is not None:
        return as_date(as_of, name="as_of")
    valid = reasons == 0
    if not valid.any():
        return None
    return pd.Timestamp(ingest.dates[valid].max()).normalize()
