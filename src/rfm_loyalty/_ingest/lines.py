"""The lines of one input table: parsed columns, per-row drop reasons, lines summed into orders."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._codes import first_appearances
from rfm_loyalty._ingest.accounting import DROP_REASONS
from rfm_loyalty._ingest.dates import bad_date_note, parse_dates
from rfm_loyalty._ingest.ids import (
    TEXT_DTYPE,
    argsort_text,
    factorize_runs,
    ids_as_text,
    normalise_ids,
)
from rfm_loyalty._ingest.numbers import MAX_DECIMALS, decimals_of, parse_numbers
from rfm_loyalty.exceptions import DataQualityError, SchemaError

if TYPE_CHECKING:
    from rfm_loyalty._ingest.options import ReadOptions

#: Rows from which numeric customer and order ids are hashed in two threads.
_PARALLEL_MIN_ROWS = 100_000


def _hash_in_parallel(customers: pd.Series, order_ids: pd.Series) -> bool:
    """Whether to hash the two id columns at the same time, in two threads.

    pandas' hash tables release the GIL, so two columns take little more
    time than one. Only for numeric ids: with text ids the two tables at once
    cost more memory than they save time (13.2M lines, 1M customers: 0.5 s
    saved for 400 MB more at the peak, see benchmarks/RESULTS.md), and Python
    string objects (pandas 2.2) hold the GIL anyway.
    """
    return (
        len(customers) >= _PARALLEL_MIN_ROWS
        and pd.api.types.is_numeric_dtype(customers.dtype)
        and pd.api.types.is_numeric_dtype(order_ids.dtype)
    )


def _product_decimals(quantity: int | None, price: int | None) -> int | None:
    if quantity is None or price is None or quantity + price > MAX_DECIMALS:
        return None
    return quantity + price


class Ingest:
    """The parsed columns of one input table, as numpy arrays."""

    def __init__(self, data: pd.DataFrame, options: ReadOptions) -> None:
        cols = options.order_columns
        self.cols = cols
        self.options = options
        self.n = len(data)
        #: how the reader decided what the caller left open (QualityReport.readings)
        self.readings: dict[str, str] = {}
        #: the text encoding of the file read (QualityReport.encoding)
        self.encoding: str | None = None
        #: lines of the file skipped before parsing (bad_line)
        self.unread_lines = 0
        self.order_codes: np.ndarray | None = None
        self.order_values: pd.Index | None = None
        customers = data[cols.customer]
        order_ids = None if cols.order_id is None else data[cols.order_id]
        if order_ids is not None and _hash_in_parallel(customers, order_ids):
            with ThreadPoolExecutor(max_workers=1) as pool:
                orders = pool.submit(factorize_runs, order_ids)
                self.customer_codes, self.customer_ids = ids_as_text(customers)
                self.order_codes, self.order_values = orders.result()
        else:
            self.customer_codes, self.customer_ids = ids_as_text(customers)
            if order_ids is not None:
                self.order_codes, self.order_values = factorize_runs(order_ids)
        if self.order_values is not None and not pd.api.types.is_integer_dtype(
            self.order_values.dtype
        ):
            # order ids follow the rules of customer ids: 536365, "536365",
            # " 536365" and 536365.0 are one order "536365"; blank is missing
            assert self.order_codes is not None
            self.order_codes, self.order_values = normalise_ids(
                self.order_codes, self.order_values)
        self._parse_values(data, options)
        self.status: pd.Series | None = None
        if cols.status is not None:
            self.status = data[cols.status].reset_index(drop=True)
        self.line_columns = _line_columns(data, options)

    def _parse_values(self, data: pd.DataFrame, options: ReadOptions) -> None:
        cols = options.order_columns
        self.dates, self.date_bad, reading = parse_dates(
            data[cols.date], cols.date, tz=options.tz,
            date_format=options.date_format, dayfirst=options.dayfirst,
        )
        if reading is not None:
            self.readings["date"] = reading
        given = options.amount_decimals
        #: per drop reason, examples of unreadable values and the option to give
        self.notes: dict[str, str] = {}
        date_note = bad_date_note(data[cols.date], self.date_bad, reading)
        if date_note:
            self.notes["bad_date"] = f"{cols.date}: {date_note}"
        number = self._number_reader(options)
        if cols.amount is not None:
            self.amount, self.amount_bad = number(data[cols.amount], cols.amount, "bad_amount")
            decimals = given if given is not None else decimals_of(self.amount, self.amount_bad)
        else:
            assert cols.quantity is not None and cols.unit_price is not None
            qty, qty_bad = number(data[cols.quantity], cols.quantity, "bad_amount")
            price, price_bad = number(data[cols.unit_price], cols.unit_price, "bad_amount")
            with np.errstate(invalid="ignore", over="ignore"):
                self.amount = qty * price
            self.amount_bad = qty_bad | price_bad | ~np.isfinite(self.amount)
            decimals = given if given is not None else _product_decimals(
                decimals_of(qty, qty_bad), decimals_of(price, price_bad))
            if decimals is not None:
                # 3 x 1.1 is 3.3000000000000003 in floats; the exact product has
                # the decimals of its factors added, and rounding gives it back
                self.amount = np.round(self.amount, decimals) + 0.0
        #: decimals every amount has (given, or found from the data; None: unknown):
        #: the sums of amounts are rounded to them (Orders.amount_decimals)
        self.amount_decimals: int | None = decimals
        self.cost: np.ndarray | None = None
        self.cost_bad: np.ndarray | None = None
        if cols.cost is not None:
            self.cost, self.cost_bad = number(data[cols.cost], cols.cost, "bad_cost")

    def _number_reader(self, options: ReadOptions) -> Any:
        """``parse_numbers`` with the options' decimal mark, keeping notes per reason."""

        def read(values: pd.Series, name: str, reason: str) -> tuple[np.ndarray, np.ndarray]:
            parsed = parse_numbers(values, name, options.decimal, options.thousands)
            if parsed.note and reason not in self.notes:
                self.notes[reason] = f"{name}: {parsed.note}"
            return parsed.values, parsed.bad

        return read

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
        if self.order_codes is not None and self.order_values is not None:
            checks.append(("missing_order_id", self.order_codes < 0))
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


def sorted_customer_codes(codes: np.ndarray, ids: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Re-code customers so that the codes follow the sorted text ids.

    Only the customers that occur in ``codes`` are kept (a customer whose
    every line was dropped has no order, so no place in the index).
    """
    order = argsort_text(ids)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return compact_codes(rank[codes], ids.take(order))


def compact_codes(codes: np.ndarray, index: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Drop the entries of ``index`` no code points at; renumber the codes (order kept)."""
    present = np.bincount(codes, minlength=len(index)) > 0
    if present.all():
        return codes, index
    return (np.cumsum(present) - 1)[codes], index[present]


def _line_columns(data: pd.DataFrame, options: ReadOptions) -> dict[str, Any]:
    """Parse the optional per-line columns (product, category, prices, channel).

    Text columns are kept as codes into their distinct normalised texts (the
    rules of customer ids: ``" A1"`` and ``"A1"`` are one product; missing is
    code -1). A list price or discount that cannot be read is NaN: it leaves
    the line in the orders and out of the price measures.
    """
    cols = options.order_columns
    out: dict[str, Any] = {}
    for role in ("product", "category", "channel"):
        name = getattr(cols, role)
        if name is not None:
            out[role] = ids_as_text(data[name])
    if cols.list_price is not None:
        price, bad, _ = parse_numbers(
            data[cols.list_price], cols.list_price, options.decimal, options.thousands)
        if cols.quantity is not None:
            qty, qty_bad, _ = parse_numbers(
                data[cols.quantity], cols.quantity, options.decimal, options.thousands)
            with np.errstate(invalid="ignore", over="ignore"):
                price = price * qty
            bad = bad | qty_bad
        out["list_amount"] = np.where(bad, np.nan, price)
    if cols.discount is not None:
        discount, bad, _ = parse_numbers(
            data[cols.discount], cols.discount, options.decimal, options.thousands)
        out["discount"] = np.where(bad, np.nan, discount)
    return out


def _lines_frame(
    ingest: Ingest, kept: Any, order_codes: np.ndarray, amount: np.ndarray
) -> pd.DataFrame | None:
    """Return the used lines with their order row and per-line columns (``Orders.lines``)."""
    if not ingest.line_columns:
        return None
    columns: dict[str, Any] = {"order": order_codes.astype(np.int64), "amount": amount}
    for role, parsed in ingest.line_columns.items():
        if role in ("product", "category", "channel"):
            codes, texts = parsed
            kept_codes = kept(codes)
            values = pd.Categorical.from_codes(
                np.asarray(kept_codes, dtype=np.int64), categories=pd.Index(texts).astype(str)
            ) if len(texts) else pd.Categorical(np.full(len(kept_codes), np.nan))
            columns[role] = values
        elif role == "list_amount":
            columns["list_amount"] = kept(parsed)
        else:  # discount in currency -> the amount at list price
            columns["list_amount"] = amount + kept(parsed)
    return pd.DataFrame(columns, copy=False)


def sum_lines_into_orders(
    ingest: Ingest, used: np.ndarray, zero_amount: str
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame | None]:
    """Sum lines into orders; also return each order's customer code and the lines table."""
    everything = bool(used.all())

    def kept(values: np.ndarray) -> np.ndarray:
        # no copy of every line when no row was dropped (the common case)
        return values if everything else values[used]

    cust = kept(ingest.customer_codes)
    dates = kept(ingest.dates)
    amount = kept(ingest.amount)
    if ingest.order_codes is not None and ingest.order_values is not None:
        id_codes, id_values = ingest.order_codes, ingest.order_values
        if not everything:
            # renumber the kept ids by first appearance among the kept lines
            id_codes, kept_ids = pd.factorize(id_codes[used])
            id_values = id_values.take(kept_ids)
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
    first_line = first_appearances(order_codes)  # factorize numbers by first appearance
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
    return frame, cust[first_line], _lines_frame(ingest, kept, order_codes, amount)


def check_sums(frame: pd.DataFrame, customer_codes: np.ndarray, customer_ids: pd.Index) -> None:
    """Refuse order amounts whose sums (per order or per customer) overflow float64.

    ``customer_codes`` are each order's code into ``customer_ids``.
    """
    amount = frame["amount"].to_numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        bounded = bool(np.isfinite(np.abs(amount).sum()))
    if not bounded:
        # some order, or some customer's total, is beyond float64
        with np.errstate(over="ignore", invalid="ignore"):
            totals = np.bincount(customer_codes, weights=amount)
            per_order = ~np.isfinite(amount)
            over = np.flatnonzero(per_order)
            code = int(customer_codes[over[0]]) if len(over) else None
            if code is None and not np.isfinite(totals).all():
                code = int(np.flatnonzero(~np.isfinite(totals))[0])
        if code is not None:
            raise SchemaError(
                f"The amounts of customer {str(customer_ids[code])!r} sum beyond the range "
                "of float64 numbers (about 1.8e308), so no total can be computed. Check the "
                "amount column (a wrong unit, or a code read as an amount?)."
            )


def _plain(values: pd.Index) -> Any:
    """Arrow-backed values (from Parquet) as the usual pandas dtypes."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype):
        return values.array
    if dtype.kind in "iufbM":
        return values.to_numpy()  # no missing values here: a plain numpy dtype
    if dtype.kind in "OU":
        return pd.Index(values.to_numpy(dtype=object)).astype(TEXT_DTYPE).array
    return values.to_numpy(dtype=object)


def _order_spans_customers(order_codes: np.ndarray, customer_codes: np.ndarray) -> bool:
    """Whether some order id has lines of more than one customer (codes by first appearance)."""
    first_customer = customer_codes[first_appearances(order_codes)]
    return bool((first_customer[order_codes] != customer_codes).any())


def _dense(values: np.ndarray) -> np.ndarray:
    """Map values to 0..k-1 codes (so that two codes fit in one int64)."""
    codes, _ = pd.factorize(values)
    return codes.astype(np.int64)
