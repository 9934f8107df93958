"""The reading options: which columns mean what, and how lines are read and cleaned.

``OrderColumns`` names the input columns once. ``ReadOptions`` holds every
reading and cleaning option in one frozen object, checked once when it is
made; ``prepare_orders``, ``read_orders``, ``analyze``, the CLI and the engine
sources all build one and pass it along, so nothing downstream checks or
re-derives an option again. ``ReadOptions.to_dict()`` is what every result
records as its provenance. The public names are re-exported by
:mod:`rfm_loyalty.orders`.
"""

from __future__ import annotations

import codecs
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import InitVar, dataclass
from typing import Any

import pandas as pd

from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._ingest.headers import HEADER_NAMES, columns_note, match_headers
from rfm_loyalty._validation import Boolean, Choice, Optional, Whole, check
from rfm_loyalty.exceptions import InvalidParameterError

__all__ = ["DATE_FORMAT_KEYWORDS", "OrderColumns", "ReadOptions", "read_options"]

#: ``date_format`` values that are not strftime patterns: Excel serial day
#: numbers, and seconds or milliseconds since 1970-01-01 (UTC).
DATE_FORMAT_KEYWORDS: tuple[str, ...] = ("excel", "epoch_s", "epoch_ms")
#: Field separators tried when ``sep`` is not given.
SEPARATORS: tuple[str, ...] = (",", ";", "\t", "|")
_THOUSANDS: tuple[str | None, ...] = (None, ",", ".", " ", "'", "_", "\u00a0")


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
        Order timestamp (datetime, or text read by the date rules of
        ``docs/definitions.md``: one format for the whole column).
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
    product : str or None
        Product or SKU id of the line (loyalty breadth measures).
    category : str or None
        Product category of the line (loyalty breadth measures).
    list_price : str or None
        The line's amount at list price, before any discount, in the currency
        of the amount (with ``quantity``/``unit_price``: the list price of one
        unit). Price-sensitivity measures compare it with what was paid.
    discount : str or None
        The line's discount in currency (list amount minus amount paid); give
        either ``list_price`` or ``discount``, not both.
    channel : str or None
        Sales channel of the line (shop, app, marketplace...).

    Examples
    --------
    >>> OrderColumns(customer="CustomerID", date="InvoiceDate",
    ...              quantity="Quantity", unit_price="UnitPrice", order_id="InvoiceNo")
    OrderColumns(customer='CustomerID', date='InvoiceDate', order_id='InvoiceNo', quantity='Quantity', unit_price='UnitPrice')
    """  # noqa: E501

    customer: str = "customer_id"
    date: str = "order_date"
    amount: str | None = None
    order_id: str | None = None
    cost: str | None = None
    status: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    product: str | None = None
    category: str | None = None
    list_price: str | None = None
    discount: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and not isinstance(value, str):
                raise InvalidParameterError(
                    f"OrderColumns.{f.name} must be a column name (str) or None. "
                    f"Got {value!r} instead."
                )
        if (self.quantity is None) != (self.unit_price is None):
            raise InvalidParameterError(
                "OrderColumns needs both quantity and unit_price to compute the amount. "
                f"Got quantity={self.quantity!r} and unit_price={self.unit_price!r}."
            )
        if self.quantity is not None and self.amount is not None:
            raise InvalidParameterError(
                "OrderColumns takes either amount or quantity and unit_price, not both. "
                f"Got amount={self.amount!r}, quantity={self.quantity!r}, "
                f"unit_price={self.unit_price!r}."
            )
        if self.list_price is not None and self.discount is not None:
            raise InvalidParameterError(
                "OrderColumns takes either list_price or discount, not both. "
                f"Got list_price={self.list_price!r} and discount={self.discount!r}."
            )
        if self.quantity is None and self.amount is None:
            object.__setattr__(self, "amount", "amount")
        names = list(self.used().values())
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InvalidParameterError(
                f"OrderColumns names the column(s) {duplicated} for more than one role."
            )

    def __repr__(self) -> str:
        given = ", ".join(f"{role}={name!r}" for role, name in self.used().items())
        return f"OrderColumns({given})"

    def used(self) -> dict[str, str]:
        """Return the roles that are set, mapped to their column names."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }

    @property
    def line_roles(self) -> dict[str, str]:
        """The optional per-line columns that are set (product, category, prices, channel)."""
        return {r: n for r, n in self.used().items() if r in LINE_ROLES}

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> OrderColumns:
        """Build from a dict of role to column name, naming an unknown role.

        Examples
        --------
        >>> OrderColumns.from_mapping({"customer": "c", "date": "d", "amount": "a"})
        OrderColumns(customer='c', date='d', amount='a')
        """
        roles = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in mapping if k not in roles]
        if unknown:
            raise InvalidParameterError(
                f"The 'columns' mapping has the unknown role(s) {unknown!r}; the roles of "
                f"OrderColumns are {roles!r} (role -> column name, e.g. "
                "{'customer': 'CustomerID', 'date': 'InvoiceDate', 'amount': 'Total'})."
            )
        return cls(**dict(mapping))

    @classmethod
    def infer(cls, data: Any, **given: str) -> OrderColumns:
        """Match common English and Chinese headers to roles (what ``columns="auto"`` does).

        The accepted names of every role are in ``docs/columns.md``; they match
        whatever their case, spaces, underscores, hyphens or dots, and in
        full-width letters.

        Parameters
        ----------
        data : pandas.DataFrame or iterable of str
            A table, or its header names.
        **given : str
            Roles to name yourself (``date="下单时间"``); the others are
            inferred, and the headers given are not matched to another role.

        Returns
        -------
        OrderColumns

        Raises
        ------
        SchemaError
            Two headers fit one role (both are named, with a ``columns=`` dict
            to pass instead), or no header fits the customer, the date or the
            amount (the headers seen and the accepted names are listed).

        Examples
        --------
        >>> OrderColumns.infer(["订单编号", "买家会员名", "下单时间", "实付金额", "订单状态"])
        OrderColumns(customer='买家会员名', date='下单时间', amount='实付金额', order_id='订单编号', status='订单状态')
        >>> OrderColumns.infer(["CustomerID", "InvoiceDate", "Quantity", "UnitPrice"])
        OrderColumns(customer='CustomerID', date='InvoiceDate', quantity='Quantity', unit_price='UnitPrice')
        """  # noqa: E501
        return cls(**_infer(data, given).roles)


def _infer(data: Any, given: Mapping[str, str]) -> Any:
    roles = [f.name for f in dataclasses.fields(OrderColumns)]
    unknown = [k for k in given if k not in roles]
    if unknown:
        raise InvalidParameterError(
            f"OrderColumns.infer got the unknown role(s) {unknown!r}; the roles are {roles!r}."
        )
    headers = data.columns if isinstance(data, pd.DataFrame) else data
    if isinstance(headers, str) or not isinstance(headers, Iterable):
        raise InvalidParameterError(
            "OrderColumns.infer needs a DataFrame or its header names (a list of str). "
            f"Got {type(data).__name__} instead."
        )
    return match_headers(headers, given)


#: Roles of OrderColumns that describe one line rather than the order.
LINE_ROLES: tuple[str, ...] = ("product", "category", "list_price", "discount", "channel")

_RETURNS = Choice("net", "drop", "error")
_ZERO = Choice("not_purchase", "purchase")
_BAD_ROWS = Choice("warn", "raise")


@dataclass(frozen=True)
class ReadOptions:
    """Every option of reading and cleaning order lines, checked once.

    ``prepare_orders``, ``read_orders``, ``analyze``, the CLI and the engine
    sources build one of these from their keyword arguments; an invalid
    option fails here, before any data is read.

    Parameters
    ----------
    columns : OrderColumns, dict or "auto", default OrderColumns()
        The column names; a dict maps roles to names; ``"auto"`` matches
        common English and Chinese headers (see ``docs/definitions.md``).
    as_of : date-like, optional
        Analysis date: ISO text, ``date``, ``datetime`` or ``Timestamp``.
    returns : {"net", "drop", "error"}, default "net"
    zero_amount : {"not_purchase", "purchase"}, default "not_purchase"
    valid_statuses : iterable, optional
        Only lines with one of these statuses are used (needs a status column).
    tz : str, optional
        IANA time zone in which calendar days are counted.
    on_bad_rows : {"warn", "raise"}, default "warn"
    date_format : str, optional
        strftime pattern of the date column (``"%d/%m/%Y %H:%M"``), or
        ``"excel"`` (Excel serial day numbers), ``"epoch_s"`` / ``"epoch_ms"``
        (seconds / milliseconds since 1970-01-01 UTC).
    dayfirst : bool, optional
        Read ``01/02/2024`` as 1 February (True) or 2 January (False). Give
        ``date_format`` or ``dayfirst``, not both.
    encoding : str, optional
        Text encoding of a CSV file; default detected (UTF-8 with or without
        BOM, UTF-16 with BOM, GB18030).
    sep : str, optional
        Field separator of a CSV file (one character); default detected among
        comma, semicolon, tab and pipe.
    decimal : {".", ","}, default "."
        Decimal mark of amounts written as text.
    thousands : str, optional
        Thousands separator of amounts written as text (``","``, ``"."``,
        ``" "``, ``"'"``, ``"_"``).
    sheet_name : str or int, optional
        Sheet of an Excel file (name or 0-based position); default the first.
    amount_decimals : int, optional
        Decimals of the amounts (0 to 6); default found from the data.

    Examples
    --------
    >>> ReadOptions(returns="drop", dayfirst=True).to_dict()["returns"]
    'drop'
    >>> ReadOptions(returns="nett")
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.InvalidParameterError: The 'returns' parameter of prepare_orders must be one of ['net', 'drop', 'error']. Got 'nett' instead.
    """  # noqa: E501

    # (given as any accepted form; held in the canonical one after the checks)
    columns: OrderColumns | Mapping[str, str] | str | None = dataclasses.field(
        default_factory=OrderColumns
    )
    as_of: Any = None
    returns: str = "net"
    zero_amount: str = "not_purchase"
    valid_statuses: Iterable[Any] | None = None
    tz: str | None = None
    on_bad_rows: str = "warn"
    date_format: str | None = None
    dayfirst: bool | None = None
    encoding: str | None = None
    sep: str | None = None
    decimal: str = "."
    thousands: str | None = None
    sheet_name: str | int | None = None
    amount_decimals: int | None = None
    owner: InitVar[str] = "prepare_orders"

    def __post_init__(self, owner: str) -> None:
        put = object.__setattr__
        put(self, "columns", _check_columns(self.columns))
        if self.as_of is not None:
            put(self, "as_of", as_date(self.as_of, name="as_of"))
        put(self, "returns", check(self.returns, _RETURNS, name="returns", owner=owner))
        put(self, "zero_amount",
            check(self.zero_amount, _ZERO, name="zero_amount", owner=owner))
        put(self, "on_bad_rows",
            check(self.on_bad_rows, _BAD_ROWS, name="on_bad_rows", owner=owner))
        put(self, "valid_statuses", _check_statuses(self.valid_statuses, self.columns))
        put(self, "tz", _check_tz(self.tz))
        _check_date_options(self.date_format, self.dayfirst)
        put(self, "dayfirst",
            check(self.dayfirst, Optional(Boolean()), name="dayfirst", owner=owner))
        put(self, "encoding", _check_encoding(self.encoding))
        _check_text_options(self.sep, self.decimal, self.thousands)
        if self.sheet_name is not None and not (
            isinstance(self.sheet_name, str) or Whole(minimum=0).accepts(self.sheet_name)
        ):
            raise InvalidParameterError(
                "The 'sheet_name' parameter of read_orders must be a sheet name (str) or a "
                f"0-based sheet position (int >= 0). Got {self.sheet_name!r} instead."
            )
        put(self, "amount_decimals", check(
            self.amount_decimals, Optional(Whole(minimum=0, maximum=6)),
            name="amount_decimals", owner=owner,
        ))

    @property
    def order_columns(self) -> OrderColumns:
        """The resolved ``OrderColumns`` (not available while ``columns == "auto"``)."""
        if not isinstance(self.columns, OrderColumns):
            raise RuntimeError(
                "The columns are still 'auto': resolve them against the input's header first."
            )
        return self.columns

    def with_columns(self, columns: OrderColumns) -> ReadOptions:
        """Return a copy with the columns resolved (after ``columns="auto"``)."""
        if self.columns == "auto" and self.valid_statuses is not None and columns.status is None:
            raise InvalidParameterError(
                "valid_statuses needs a status column, and columns='auto' found none among the "
                f"headers (it matched {columns.used()!r}; accepted names of the status: "
                f"{list(HEADER_NAMES['status'])!r}). Name it: columns={{..., 'status': <the "
                "status column>}, or leave valid_statuses unset."
            )
        return dataclasses.replace(self, columns=columns)

    def resolve_columns(self, headers: Iterable[Any]) -> tuple[ReadOptions, dict[str, str]]:
        """Resolve ``columns="auto"`` against the input's headers.

        Returns the options with ``OrderColumns`` in place of ``"auto"`` and
        the note for ``QualityReport.readings`` (``{"columns": ...}``); the
        options unchanged and an empty dict when the columns were named.
        """
        if self.columns != "auto":
            return self, {}
        columns = OrderColumns(**match_headers(headers).roles)
        return self.with_columns(columns), {"columns": columns_note(columns.used())}

    def given(self) -> dict[str, Any]:
        """Return the options that differ from their defaults (for messages)."""
        default = ReadOptions()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def to_dict(self) -> dict[str, Any]:
        """Return every option in JSON-serialisable form (what results record).

        Returns
        -------
        dict
            Field name -> value; ``columns`` as a dict of role -> column name
            (or ``"auto"``), ``as_of`` as ISO text, ``valid_statuses`` as a list.
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, OrderColumns):
                value = value.used()
            elif isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            elif isinstance(value, tuple):
                value = [_json_scalar(v) for v in value]
            out[f.name] = value
        return out


def _json_scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _check_columns(columns: Any) -> OrderColumns | str:
    if columns is None:
        return OrderColumns()
    if isinstance(columns, OrderColumns):
        return columns
    if isinstance(columns, str):
        if columns == "auto":
            return columns
        raise InvalidParameterError(
            "The 'columns' parameter must be an OrderColumns, a dict of role -> column name "
            f"or 'auto'. Got the text {columns!r} instead."
        )
    if isinstance(columns, Mapping):
        return OrderColumns.from_mapping(columns)
    raise InvalidParameterError(
        "The 'columns' parameter must be an OrderColumns, a dict of role -> column name or "
        f"'auto'. Got {type(columns).__name__} instead."
    )


def _check_statuses(statuses: Any, columns: Any) -> tuple[Any, ...] | None:
    if statuses is None:
        return None
    if isinstance(statuses, (str, bytes)) or not isinstance(statuses, Iterable):
        raise InvalidParameterError(
            "The 'valid_statuses' parameter must be a list or set of statuses, e.g. "
            f"valid_statuses=['交易成功']. Got {statuses!r} instead."
        )
    if isinstance(columns, OrderColumns) and columns.status is None:
        raise InvalidParameterError(
            "valid_statuses needs a status column: pass OrderColumns(status=...)."
        )
    # held sorted and without repeats: a set's order differs between runs, and the
    # options are recorded in every result (exports must be byte-identical)
    values = tuple(sorted(set(statuses), key=lambda v: (type(v).__name__, str(v))))
    if not values:
        raise InvalidParameterError(
            "The 'valid_statuses' parameter is empty: no line could be used. Pass the "
            "statuses that count, e.g. valid_statuses=['交易成功'], or leave it None."
        )
    return values


def _check_tz(tz: Any) -> str | None:
    if tz is None:
        return None
    if not isinstance(tz, str):
        raise InvalidParameterError(
            f"The 'tz' parameter must be a time zone name such as 'Asia/Shanghai'. "
            f"Got {tz!r} instead."
        )
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception as exc:  # pandas raises several kinds for unknown zones
        raise InvalidParameterError(
            f"The 'tz' parameter must be a time zone name such as 'Asia/Shanghai' or 'UTC'. "
            f"Got {tz!r}, which is not a known time zone."
        ) from exc
    return tz


def _check_date_options(date_format: Any, dayfirst: Any) -> None:
    if date_format is None:
        return
    if not isinstance(date_format, str) or not (
        date_format in DATE_FORMAT_KEYWORDS or "%" in date_format
    ):
        raise InvalidParameterError(
            "The 'date_format' parameter must be a strftime pattern such as '%d/%m/%Y %H:%M', "
            f"or one of {list(DATE_FORMAT_KEYWORDS)!r}. Got {date_format!r} instead."
        )
    if dayfirst is not None:
        raise InvalidParameterError(
            f"Give date_format or dayfirst, not both: the pattern {date_format!r} already says "
            f"where the day is. Got dayfirst={dayfirst!r}."
        )


def _check_encoding(encoding: Any) -> str | None:
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name if isinstance(encoding, str) else _no(encoding)
    except LookupError as exc:
        raise InvalidParameterError(
            "The 'encoding' parameter must be a text encoding such as 'utf-8' or 'gb18030'. "
            f"Got {encoding!r}, which Python does not know."
        ) from exc


def _no(encoding: Any) -> str:
    raise InvalidParameterError(
        f"The 'encoding' parameter must be an encoding name (str). Got {encoding!r} instead."
    )


def _check_text_options(sep: Any, decimal: Any, thousands: Any) -> None:
    if sep is not None and not (isinstance(sep, str) and len(sep) == 1 and sep not in "\"\n\r"):
        raise InvalidParameterError(
            "The 'sep' parameter must be one separator character such as ',', ';', '\\t' or "
            f"'|'. Got {sep!r} instead."
        )
    if decimal not in (".", ","):
        raise InvalidParameterError(
            f"The 'decimal' parameter must be '.' or ','. Got {decimal!r} instead."
        )
    if thousands not in _THOUSANDS:
        raise InvalidParameterError(
            f"The 'thousands' parameter must be None or one of {list(_THOUSANDS[1:])!r}. "
            f"Got {thousands!r} instead."
        )
    if thousands == decimal:
        raise InvalidParameterError(
            f"The 'thousands' and 'decimal' parameters must differ. Got {decimal!r} for both."
        )
    if sep is not None and sep == decimal:
        raise InvalidParameterError(
            f"The 'sep' and 'decimal' parameters must differ. Got {sep!r} for both; a file "
            "with decimal commas is usually separated by ';'."
        )


def read_options(
    columns: Any, options: Mapping[str, Any], *, owner: str
) -> ReadOptions:
    """Build ``ReadOptions`` from a function's ``columns`` and keyword options.

    An unknown option name raises ``TypeError`` naming it, the closest known
    name and the full list (a typo never passes unnoticed).

    Examples
    --------
    >>> read_options(None, {"dayfirst": True}, owner="read_orders").dayfirst
    True
    >>> read_options(None, {"day_first": True}, owner="read_orders")
    Traceback (most recent call last):
    ...
    TypeError: read_orders() got the unknown option 'day_first'; did you mean 'dayfirst'? The reading options are ['amount_decimals', 'as_of', 'date_format', 'dayfirst', 'decimal', 'encoding', 'on_bad_rows', 'returns', 'sep', 'sheet_name', 'thousands', 'tz', 'valid_statuses', 'zero_amount'].
    """  # noqa: E501
    from rfm_loyalty._validation import close_match

    if isinstance(options, ReadOptions):  # pragma: no cover - defensive
        return options
    known = sorted(f.name for f in dataclasses.fields(ReadOptions) if f.name != "columns")
    for name in options:
        if name not in known:
            close = close_match(name, known)
            guess = f"; did you mean {close!r}?" if close else "."
            raise TypeError(
                f"{owner}() got the unknown option {name!r}{guess} The reading options are "
                f"{known!r}."
            )
    return ReadOptions(columns=columns, **options, owner=owner)
