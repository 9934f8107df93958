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
import difflib
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty._ids import TEXT_DTYPE, factorize_runs, ids_as_text
from rfm_loyalty.exceptions import DataQualityError, DataQualityWarning, SchemaError

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

#: Reasons a row can be dropped, in the order they are checked. A row is
#: counted once, under the first reason that applies.
DROP_REASONS: tuple[str, ...] = (
    "missing_customer",
    "bad_date",
    "bad_amount",
    "bad_cost",
    "missing_order_id",
    "invalid_status",
    "after_as_of",
    "negative_amount",
)
#: Reasons that mean the row itself is broken (the others are exclusions the
#: caller asked for: a status filter, an as_of date, returns="drop").
_BAD_ROW_REASONS = ("missing_customer", "bad_date", "bad_amount", "bad_cost", "missing_order_id")


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
        new_as_of = _as_date(as_of, name="as_of")
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
            dropped=_ordered_reasons(dropped),
            amount_used=q.amount_used - moved_amount,
            amount_dropped=q.amount_dropped + moved_amount,
            dropped_amounts=_ordered_reasons(dropped_amounts),
            orders=len(kept),
            customers=_distinct_count(codes) if codes is not None
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
    n = len(data)
    ingest = _Ingest(data, cols, tz=tz)
    reasons = ingest.first_failures(valid_statuses)
    as_of_ts = _resolve_as_of(as_of, ingest, reasons)
    if as_of_ts is not None:
        ingest.mark_after(reasons, as_of_ts)
    if returns == "drop":
        ingest.mark_negative(reasons)
    elif returns == "error":
        ingest.raise_on_negative(reasons)

    report_args = _account(ingest, reasons, n)
    _report_bad_rows(report_args["dropped"], on_bad_rows, n, ingest)

    used = reasons == 0
    if not used.any():
        raise SchemaError(
            f"No valid order row remains: all {n:,} rows were dropped "
            f"({_format_counts(report_args['dropped'])}). Check the column mapping "
            f"{cols.used()!r} and the as_of date."
        )
    assert as_of_ts is not None  # set whenever a row is valid
    frame, customer_codes = _sum_lines_into_orders(ingest, used, zero_amount)
    codes, index = _sorted_customer_codes(customer_codes, ingest.customer_ids)
    quality = QualityReport(
        **report_args,
        orders=len(frame),
        customers=_distinct_count(codes),
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
    wanted = list(cols.used().values())
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        data = _read_parquet(path, cols)
    elif name.endswith((".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")):
        sep = "\t" if ".tsv" in name else ","
        header = pd.read_csv(path, nrows=0, sep=sep).columns
        _check_columns_exist(header, cols)
        as_text = {c: str for c in (cols.customer, cols.order_id) if c is not None}
        data = pd.read_csv(path, usecols=wanted, dtype=as_text, sep=sep)
    else:
        raise SchemaError(
            f"Cannot tell the format of {str(path)!r} from its name. Use a .csv, .csv.gz, "
            ".tsv or .parquet file, or read it yourself and pass the DataFrame."
        )
    return prepare_orders(data, cols, **options)


def as_orders(orders: Orders | pd.DataFrame, as_of: Any = None) -> Orders:
    """Accept prepared ``Orders`` or a canonical DataFrame; apply ``as_of``.

    A DataFrame is prepared with the canonical column names (``customer_id``,
    ``order_date``, ``amount``, and ``order_id``/``cost``/``status`` when
    present). With ``Orders``, ``as_of`` restricts to an earlier date.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
    as_of : date-like, optional

    Returns
    -------
    Orders
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


def _read_parquet(path: Path, cols: OrderColumns) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Reading Parquet needs pyarrow: pip install 'rfm-loyalty[parquet]'."
        ) from exc
    _check_columns_exist(pq.read_schema(path).names, cols)
    return pd.read_parquet(path, columns=list(cols.used().values()))


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
    _check_columns_exist(data.columns, cols)
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


def _check_columns_exist(available: Iterable[Any], cols: OrderColumns) -> None:
    present = [str(c) for c in available]
    for role, name in cols.used().items():
        if name not in present:
            close = difflib.get_close_matches(name, present, n=1, cutoff=0.5)
            if not close:
                lowered = {p.lower(): p for p in present}
                close = [lowered[name.lower()]] if name.lower() in lowered else []
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise SchemaError(
                f"Column {name!r} (the {role} column) is not in the input. "
                f"Columns found: {present!r}.{hint}"
            )


# ---------------------------------------------------------------------------
# reading the columns
# ---------------------------------------------------------------------------


class _Ingest:
    """The parsed columns of one input table, as numpy arrays."""

    def __init__(self, data: pd.DataFrame, cols: OrderColumns, *, tz: str | None) -> None:
        self.cols = cols
        self.n = len(data)
        self.customer_codes, self.customer_ids = ids_as_text(data[cols.customer])
        self.dates, self.date_bad = _parse_dates(data[cols.date], cols.date, tz)
        if cols.amount is not None:
            self.amount, self.amount_bad = _parse_numbers(data[cols.amount], cols.amount)
        else:
            assert cols.quantity is not None and cols.unit_price is not None
            qty, qty_bad = _parse_numbers(data[cols.quantity], cols.quantity)
            price, price_bad = _parse_numbers(data[cols.unit_price], cols.unit_price)
            with np.errstate(invalid="ignore", over="ignore"):
                self.amount = qty * price
            self.amount_bad = qty_bad | price_bad | ~np.isfinite(self.amount)
        self.cost: np.ndarray | None = None
        self.cost_bad: np.ndarray | None = None
        if cols.cost is not None:
            self.cost, self.cost_bad = _parse_numbers(data[cols.cost], cols.cost)
        self.order_ids: pd.Series | None = None
        if cols.order_id is not None:
            self.order_ids = data[cols.order_id].reset_index(drop=True)
        self.status: pd.Series | None = None
        if cols.status is not None:
            self.status = data[cols.status].reset_index(drop=True)
        self.bad_examples: dict[str, Any] = {}

    def first_failures(self, valid_statuses: Iterable[Any] | None) -> np.ndarray:
        """Code each row with the index+1 of its first failing reason (0 = ok)."""
        reasons = np.zeros(self.n, dtype=np.int8)
        checks: list[tuple[str, np.ndarray]] = [
            ("missing_customer", self.customer_codes < 0),
            ("bad_date", self.date_bad),
            ("bad_amount", self.amount_bad),
        ]
        if self.cost_bad is not None:
            checks.append(("bad_cost", self.cost_bad))
        if self.order_ids is not None:
            checks.append(("missing_order_id", _missing_text(self.order_ids)))
        if valid_statuses is not None and self.status is not None:
            allowed = list(valid_statuses)
            checks.append(("invalid_status", ~self.status.isin(allowed).to_numpy()))
        for reason, mask in checks:
            self._mark(reasons, reason, mask)
        return reasons

    def mark_after(self, reasons: np.ndarray, as_of: pd.Timestamp) -> None:
        next_day = (as_of + pd.Timedelta(days=1)).to_datetime64()
        with np.errstate(invalid="ignore"):
            after = self.dates >= next_day
        self._mark(reasons, "after_as_of", after)

    def mark_negative(self, reasons: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            self._mark(reasons, "negative_amount", self.amount < 0)

    def raise_on_negative(self, reasons: np.ndarray) -> None:
        with np.errstate(invalid="ignore"):
            negative = (self.amount < 0) & (reasons == 0)
        if negative.any():
            first = int(np.flatnonzero(negative)[0])
            raise DataQualityError(
                f"{int(negative.sum()):,} order lines have a negative amount (first at row "
                f"{first}: {float(self.amount[first])!r}) and returns='error' forbids them. "
                "Use returns='net' to net them against purchases or returns='drop' to drop them."
            )

    def _mark(self, reasons: np.ndarray, reason: str, mask: np.ndarray) -> None:
        code = DROP_REASONS.index(reason) + 1
        reasons[(reasons == 0) & mask] = code


def _missing_text(values: pd.Series) -> np.ndarray:
    missing = values.isna().to_numpy()
    if not pd.api.types.is_numeric_dtype(values.dtype):
        as_text = values.astype("string")
        missing = missing | (as_text.str.strip() == "").fillna(True).to_numpy(dtype=bool)
    return missing


def _parse_numbers(values: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 values and a mask of unreadable ones (missing, text, inf)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise SchemaError(f"Column {name!r} holds booleans; it must hold numbers.")
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        parsed = pd.to_numeric(values, errors="coerce")
        numbers = np.asarray(parsed, dtype="float64")
        failed = np.isnan(numbers) & values.notna().to_numpy()
        if failed.any() and not np.isfinite(numbers).any():
            first = int(np.flatnonzero(failed)[0])
            raise SchemaError(
                f"Column {name!r} must hold numbers, but none of its values could be read as "
                f"a number (first value: {values.iloc[first]!r} at row {first}). Convert it "
                "(e.g. strip currency symbols and thousands separators) before analysing."
            )
    return numbers, ~np.isfinite(numbers)


def _parse_dates(values: pd.Series, name: str, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return naive datetime64[ns] wall-clock times and a mask of unreadable ones."""
    dtype = values.dtype
    if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "M":
        # Arrow timestamps (read_orders reads Parquet Arrow-backed): as numpy
        values = values.astype(dtype.numpy_dtype if dtype.pyarrow_dtype.tz is None
                               else pd.DatetimeTZDtype("ns", dtype.pyarrow_dtype.tz))
        dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        local = values if tz is None else values.dt.tz_convert(tz)
        naive = local.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(dtype):
        naive = values
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise SchemaError(
            f"Column {name!r} holds numbers ({dtype}), not dates. Convert it with "
            "pd.to_datetime(..., unit=...) or pass the column of dates."
        )
    else:
        naive = _parse_date_text(values, tz)
    out = naive.to_numpy(dtype="datetime64[ns]")
    bad = np.isnat(out)
    if bad.all():
        first = values.dropna()
        example = f" (first value: {first.iloc[0]!r})" if len(first) else ""
        raise SchemaError(f"Column {name!r} holds no readable date{example}.")
    return out, bad


def _parse_date_text(values: pd.Series, tz: str | None) -> pd.Series:
    text = values.reset_index(drop=True)
    parsed = _to_datetime_quietly(text, utc=False, mixed=False)
    if parsed is None or isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # several UTC offsets (or offsets we must convert): read everything as UTC
        parsed = _to_datetime_quietly(text, utc=True, mixed=False)
    assert parsed is not None
    retry = parsed.isna().to_numpy() & text.notna().to_numpy()
    if retry.any():
        # a second format: parse the leftovers element by element
        again = _to_datetime_quietly(text[retry], utc=_is_aware(parsed), mixed=True)
        if again is not None and again.notna().any():
            if _is_aware(again) != _is_aware(parsed):
                again = _to_datetime_quietly(text[retry], utc=True, mixed=True)
                parsed = _to_datetime_quietly(text, utc=True, mixed=False)
                assert again is not None and parsed is not None
            parsed = parsed.copy()
            parsed[retry] = again
    if _is_aware(parsed):
        parsed = parsed.dt.tz_convert(tz or "UTC").dt.tz_localize(None)
    return parsed


def _is_aware(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.DatetimeTZDtype)


def _to_datetime_quietly(text: pd.Series, *, utc: bool, mixed: bool) -> pd.Series | None:
    """Parse text dates; None when pandas cannot combine the time zones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        warnings.simplefilter("error", FutureWarning)  # pandas 2.2: mixed time zones
        try:
            return pd.to_datetime(
                text, errors="coerce", utc=utc, format="mixed" if mixed else None
            )
        except (ValueError, TypeError, FutureWarning):
            return None


# ---------------------------------------------------------------------------
# as_of, accounting and warnings
# ---------------------------------------------------------------------------


def _as_date(value: Any, *, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {name!r} parameter must be a date. Got {value!r} instead.") from exc
    if ts is pd.NaT:
        raise ValueError(f"The {name!r} parameter must be a date. Got {value!r} instead.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _resolve_as_of(as_of: Any, ingest: _Ingest, reasons: np.ndarray) -> pd.Timestamp | None:
    if as_of is not None:
        return _as_date(as_of, name="as_of")
    valid = reasons == 0
    if not valid.any():
        return None
    return pd.Timestamp(ingest.dates[valid].max()).normalize()


def _account(ingest: _Ingest, reasons: np.ndarray, n: int) -> dict[str, Any]:
    readable = np.where(ingest.amount_bad, 0.0, ingest.amount)
    counts = np.bincount(reasons, minlength=len(DROP_REASONS) + 1)
    sums = np.bincount(reasons, weights=readable, minlength=len(DROP_REASONS) + 1)
    dropped = {r: int(counts[i + 1]) for i, r in enumerate(DROP_REASONS) if counts[i + 1]}
    dropped_amounts = {r: float(sums[i + 1]) for i, r in enumerate(DROP_REASONS) if counts[i + 1]}
    return {
        "rows_in": n,
        "rows_used": int(counts[0]),
        "dropped": dropped,
        "amount_in": float(readable.sum()),
        "amount_used": float(sums[0]),
        "amount_dropped": float(sums[1:].sum()),
        "dropped_amounts": dropped_amounts,
    }


def _ordered_reasons(counts: Mapping[str, Any]) -> dict[str, Any]:
    return {r: counts[r] for r in DROP_REASONS if r in counts}


def _format_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{reason}: {n:,}" for reason, n in counts.items()) or "none"


def _report_bad_rows(
    dropped: Mapping[str, int], on_bad_rows: str, n: int, ingest: _Ingest
) -> None:
    bad = {r: c for r, c in dropped.items() if r in _BAD_ROW_REASONS}
    if not bad:
        return
    total = sum(bad.values())
    counts = f"{total:,} of {n:,} order rows"
    if on_bad_rows == "raise":
        raise DataQualityError(
            f"{counts} are unusable ({_format_counts(bad)}). Fix them, or pass "
            "on_bad_rows='warn' to drop them and count them in Orders.quality."
        )
    message = (
        f"{counts} were dropped as unusable ({_format_counts(bad)}). "
        "See Orders.quality for the full accounting."
    )
    warnings.warn(message, DataQualityWarning, stacklevel=3)


# ---------------------------------------------------------------------------
# lines -> orders
# ---------------------------------------------------------------------------


def _sorted_customer_codes(codes: np.ndarray, ids: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Re-code customers so that the codes follow the sorted text ids."""
    order = np.asarray(ids.argsort())
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], ids.take(order)


def _distinct_count(codes: np.ndarray) -> int:
    if len(codes) == 0:
        return 0
    return int(np.count_nonzero(np.bincount(codes)))


def _sum_lines_into_orders(
    ingest: _Ingest, used: np.ndarray, zero_amount: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Sum lines into orders; also return each order's customer code."""
    everything = bool(used.all())

    def kept(values: np.ndarray) -> np.ndarray:
        # no copy of every line when no row was dropped (the common case)
        return values if everything else values[used]

    cust = kept(ingest.customer_codes)
    dates = kept(ingest.dates)
    amount = kept(ingest.amount)
    if ingest.order_ids is not None:
        order_ids = ingest.order_ids if everything else ingest.order_ids[used]
        id_codes, id_values = factorize_runs(order_ids)
        order_codes = id_codes
        if _order_spans_customers(order_codes, cust):
            # an order id shared by several customers: each customer's lines
            # are an order of their own
            order_codes, _ = pd.factorize(cust.astype(np.int64) * 2**31 + order_codes)
    else:
        id_values = None
        # one order = the lines of one customer at one timestamp
        order_codes, _ = pd.factorize(
            cust.astype(np.int64) * 2**31 + _dense(dates.view(np.int64))
        )
    n_orders = int(order_codes.max()) + 1
    n_lines = np.bincount(order_codes, minlength=n_orders)
    # factorize numbers orders by first appearance, so a line is its order's
    # first line exactly where the running maximum of the codes steps up.
    running_max = np.maximum.accumulate(order_codes)
    first_line = np.flatnonzero(np.r_[True, running_max[1:] != running_max[:-1]])
    order_dates = np.full(n_orders, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(order_dates, order_codes, dates.view(np.int64))
    order_amount = np.bincount(order_codes, weights=amount, minlength=n_orders)

    columns: dict[str, Any] = {
        "customer_id": ingest.customer_ids.take(cust[first_line]).array,
        "order_id": (
            _plain(id_values.take(id_codes[first_line]))
            if id_values is not None
            else np.arange(n_orders, dtype=np.int64)
        ),
        "order_date": order_dates.view("datetime64[ns]"),
        "amount": order_amount,
    }
    if ingest.cost is not None:
        columns["cost"] = np.bincount(order_codes, weights=kept(ingest.cost), minlength=n_orders)
    if ingest.status is not None:
        columns["status"] = kept(ingest.status.to_numpy())[first_line]
    columns["n_lines"] = n_lines.astype(np.int64)
    threshold_ok = order_amount >= 0 if zero_amount == "purchase" else order_amount > 0
    columns["is_purchase"] = threshold_ok
    frame = pd.DataFrame(columns, copy=False)
    if ingest.status is not None:
        frame["status"] = _plain(pd.Index(frame["status"]).astype(ingest.status.dtype))
    return frame, cust[first_line]


def _plain(values: pd.Index) -> Any:
    """Arrow-backed values (from Parquet) as the usual pandas dtypes."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype):
        return values.array
    if dtype.kind in "iufbM":
        return values.to_numpy(dtype=dtype.numpy_dtype)
    if dtype.kind in "OU":
        return pd.Index(values.to_numpy(dtype=object)).astype(TEXT_DTYPE).array
    return values.to_numpy(dtype=object)


def _order_spans_customers(order_codes: np.ndarray, customer_codes: np.ndarray) -> bool:
    first_customer = np.full(int(order_codes.max()) + 1, -1, dtype=np.int64)
    first_customer[order_codes[::-1]] = customer_codes[::-1]  # last write wins: first line
    return bool((first_customer[order_codes] != customer_codes).any())


def _dense(values: np.ndarray) -> np.ndarray:
    """Map values to 0..k-1 codes (so that two codes fit in one int64)."""
    codes, _ = pd.factorize(values)
    return codes.astype(np.int64)
