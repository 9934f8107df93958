"""The one definition of the engine aggregation: SQL generated for each dialect.

``prepare_orders`` (pandas) is the reference. Everything an engine must do to
reproduce it, from reading raw order lines to the per-customer aggregates of
``customer_aggregates``, is written here once, as SQL built from Python. The
two dialects (DuckDB, Spark SQL) differ only in the few spellings of
``Dialect``: quoting, the regex back-reference, the finiteness test and day
arithmetic. The stages, in the order of ``prepare_orders``:

1. ``parsed``: each line's customer id as text (the rules of ``_ids.py``), its
   wall-clock timestamp, its amount (or quantity x unit price) and the
   per-column checks;
2. ``lines``: the first failing reason of each line (``DROP_REASONS`` order),
   before the analysis date is known;
3. ``classified``: the same, completed with ``after_as_of`` and
   ``negative_amount`` once ``as_of`` is fixed;
4. one grouping of the lines that serves both outputs (``aggregation_query``):
   used lines per customer and order id (or per customer and timestamp) are
   the orders, which go on to purchase days and customers; dropped lines are
   grouped by reason only; every group also counts its lines and amounts, so
   the accounting (rows and readable amounts per reason, and the last valid
   day: the default ``as_of``) needs no second scan of the lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rfm_loyalty._ingest.accounting import DROP_REASONS
from rfm_loyalty._ingest.ids import MISSING_TEXTS
from rfm_loyalty._ingest.options import OrderColumns
from rfm_loyalty.exceptions import SchemaError

__all__ = [
    "DUCKDB",
    "PYTHON_WHITESPACE",
    "SPARK",
    "Dialect",
    "LineOptions",
    "aggregation_query",
    "reason_code",
]

#: Column kinds an engine reports for its input columns.
KINDS = ("text", "integer", "float", "decimal", "boolean", "timestamp", "timestamptz", "date")

#: Characters Python's ``str.strip()`` removes (``str.isspace``), as code point
#: ranges: pandas strips customer ids with it, so the engines must strip the
#: same set, not only ASCII blanks.
PYTHON_WHITESPACE: tuple[tuple[int, int], ...] = (
    (0x09, 0x0D),
    (0x1C, 0x20),
    (0x85, 0x85),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
)
_SPACE_CLASS = "[" + "".join(
    f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in PYTHON_WHITESPACE
) + "]"
#: Largest float below which every whole float is an exact int64 (2**53).
_EXACT_INT_LIMIT = "9007199254740992"


def reason_code(reason: str) -> int:
    """Return the integer code of a drop reason (0 = the line is used)."""
    return DROP_REASONS.index(reason) + 1


@dataclass(frozen=True)
class Dialect:
    r"""The spellings that differ between SQL engines.

    Parameters
    ----------
    name : str
        Engine name, used in messages.
    text_type : str
        Name of the text type in ``CAST``.
    backreference : str
        How ``regexp_replace`` refers to the first group.
    backslash_escapes : bool
        Whether string literals treat ``\\`` as an escape character.
    ident_quote : str
        Quote character of identifiers.
    """

    name: str
    text_type: str
    backreference: str
    backslash_escapes: bool
    ident_quote: str

    def ident(self, name: str) -> str:
        """Quote a column name."""
        q = self.ident_quote
        return q + name.replace(q, q + q) + q

    def literal(self, value: Any) -> str:
        """Render a Python value as a SQL literal."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return repr(value) if pd.notna(value) else "NULL"
        if isinstance(value, str):
            if self.backslash_escapes:
                return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
            return "'" + value.replace("'", "''") + "'"
        raise TypeError(
            f"Cannot use {value!r} ({type(value).__name__}) in a {self.name} query; "
            "valid_statuses must hold text, numbers or booleans."
        )

    def finite(self, expr: str) -> str:
        """Boolean: the double ``expr`` is a number (not NULL, NaN or infinite)."""
        if self.name == "duckdb":
            return f"coalesce(isfinite({expr}), FALSE)"
        return (
            f"({expr} IS NOT NULL AND NOT isnan({expr}) "
            f"AND abs({expr}) < CAST('Infinity' AS DOUBLE))"
        )

    def matches(self, expr: str, pattern: str) -> str:
        """Boolean: the text ``expr`` matches the regex ``pattern`` (anchored by the pattern)."""
        if self.name == "duckdb":
            return f"regexp_matches({expr}, {self.literal(pattern)})"
        return f"({expr} RLIKE {self.literal(pattern)})"

    def days_between(self, start: str, end: str) -> str:
        """Whole days from the date ``start`` to the date ``end``."""
        if self.name == "duckdb":
            return f"date_diff('day', {start}, {end})"
        return f"datediff({end}, {start})"

    @property
    def timestamp_type(self) -> str:
        """Name of the time-zone-free timestamp type."""
        return "TIMESTAMP" if self.name == "duckdb" else "TIMESTAMP_NTZ"

    def timestamp(self, expr: str) -> str:
        """Cast to a time-zone-free timestamp."""
        return f"CAST({expr} AS {self.timestamp_type})"

    def day_number(self, day: str) -> str:
        """Days since 1970-01-01 of a date (so results cross engines as integers)."""
        return self.days_between("DATE '1970-01-01'", day)


DUCKDB = Dialect("duckdb", "VARCHAR", r"\1", backslash_escapes=False, ident_quote='"')
SPARK = Dialect("spark", "STRING", "$1", backslash_escapes=True, ident_quote="`")


@dataclass(frozen=True)
class LineOptions:
    """What the line stage needs to know: names, kinds and the checks asked for."""

    columns: OrderColumns
    kinds: Mapping[str, str]
    valid_statuses: tuple[Any, ...] | None = None
    tz: str | None = None
    #: strftime formats of a text date column (the choice of pandas), main one first
    date_formats: tuple[str, ...] | None = None
    #: whether those text dates end with a UTC offset
    date_zone: bool = False
    decimal: str = "."
    thousands: str | None = None


# ---------------------------------------------------------------------------
# the line stage: parse and check every input row
# ---------------------------------------------------------------------------


def _strip(d: Dialect, expr: str) -> str:
    # a regex per row is slow; most ids start and end with a visible
    # character, and two substring tests find the ones that do not
    spaces = d.literal("".join(chr(c) for lo, hi in PYTHON_WHITESPACE for c in range(lo, hi + 1)))
    head = f"regexp_replace({expr}, {d.literal('^' + _SPACE_CLASS + '+')}, '')"
    both = f"regexp_replace({head}, {d.literal(_SPACE_CLASS + '+$')}, '')"
    return (
        f"CASE WHEN contains({spaces}, left({expr}, 1)) OR contains({spaces}, right({expr}, 1)) "
        f"THEN {both} ELSE {expr} END"
    )


def _text_id(d: Dialect, expr: str) -> str:
    # ids.normalise_ids: strip, then "17850.0" -> "17850"; blank and the missing
    # spellings (NA, NULL, None...: ids.MISSING_TEXTS, any case) -> missing
    stripped = _strip(d, expr)
    # \p{Nd}: any decimal digit, as Python's \d on text (RE2 and Java agree)
    integer_float = d.literal(r"^([+-]?\p{Nd}+)[.]0+$")
    normalised = (
        f"CASE WHEN contains({stripped}, '.') "
        f"THEN regexp_replace({stripped}, {integer_float}, {d.literal(d.backreference)}) "
        f"ELSE {stripped} END"
    )
    spellings = ", ".join(d.literal(t) for t in MISSING_TEXTS)
    longest = max(len(t) for t in MISSING_TEXTS)
    # the length test first: lower() runs only on the few short ids
    return (
        f"CASE WHEN length({stripped}) <= {longest} AND lower({stripped}) IN ({spellings}) "
        f"THEN NULL ELSE {normalised} END"
    )


def _id_expr(d: Dialect, name: str, kind: str, role: str = "customer") -> str:
    """Return the id as the text ``ids.ids_as_text`` makes of it (NULL when missing)."""
    col = d.ident(name)
    if kind == "text":
        return _text_id(d, col)
    if kind == "decimal":
        return _text_id(d, f"CAST({col} AS {d.text_type})")
    if kind == "integer":
        return f"CAST({col} AS {d.text_type})"
    if kind == "boolean":
        return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 'True' ELSE 'False' END"
    if kind == "float":
        # _ids._floats_as_text: whole floats below 2**53 print as integers
        x = f"CAST({col} AS DOUBLE)"
        return (
            f"CASE WHEN {x} IS NULL OR isnan({x}) THEN NULL "
            f"WHEN abs({x}) < {_EXACT_INT_LIMIT} AND {x} = round({x}, 0) "
            f"THEN CAST(CAST({x} AS BIGINT) AS {d.text_type}) "
            f"ELSE CAST({x} AS {d.text_type}) END"
        )
    raise SchemaError(
        f"Column {name!r} (the {role} column) holds {kind} values; {role} ids must be "
        "text or numbers."
    )


#: A UTC offset at the end of a text date (removed for the wall clock).
_TEXT_OFFSET = r"\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
#: The nanosecond range of pandas, to the second: later or earlier dates are bad_date.
_NS_RANGE = ("1677-09-21 00:12:44", "2262-04-11 23:47:16")


def _text_timestamp(
    d: Dialect, col: str, formats: tuple[str, ...], zone: bool, tz: str | None
) -> str:
    """Text dates read with the formats pandas chose, in pandas' nanosecond range."""
    text = f"trim({col})"
    if zone and tz is None:  # the wall-clock time written is kept
        text = f"regexp_replace({text}, {d.literal(_TEXT_OFFSET)}, '')"
    elif zone:  # instants, converted to tz
        text = f"regexp_replace({text}, 'Z$', '+00:00')"
        formats = tuple(f + "%z" for f in formats)
    if not formats or d.name != "duckdb":
        # Spark: its cast reads the ISO forms the Spark source lets through
        parsed = f"try_cast({text} AS {d.timestamp_type})"
    else:
        listed = ", ".join(d.literal(f) for f in formats)
        parsed = f"try_strptime({text}, [{listed}])"
        if zone and tz is not None:
            parsed = f"timezone({d.literal(tz)}, {parsed})"
    low, high = (f"{d.timestamp_type} '{bound}'" for bound in _NS_RANGE)
    return f"CASE WHEN {parsed} BETWEEN {low} AND {high} THEN {parsed} END"


def _timestamp_expr(
    d: Dialect, name: str, kind: str, tz: str | None,
    formats: tuple[str, ...] | None = None, zone: bool = False,
) -> str:
    col = d.ident(name)
    if kind in ("timestamp", "date"):
        return d.timestamp(col)
    if kind == "timestamptz":
        # an instant: its calendar day is the wall clock in tz (default UTC)
        return f"timezone({d.literal(tz or 'UTC')}, {col})"
    if kind == "text":
        return _text_timestamp(d, col, formats or (), zone, tz)
    if kind in ("integer", "float", "decimal", "boolean"):
        raise SchemaError(
            f"Column {name!r} holds numbers ({kind}), not dates. Convert it to a timestamp "
            "in the engine or pass the column of dates."
        )
    raise SchemaError(f"Column {name!r} (the date column) holds {kind} values, not dates.")


#: Full-width forms NFKC maps to ASCII in amounts (digits, marks, signs, brackets,
#: the yen/yuan sign and the ideographic space), as ``translate`` pairs.
_FULL_WIDTH = ("０１２３４５６７８９．，－＋（）￥＄￡　", "0123456789.,-+()¥$£ ")
_CURRENCY_SIGNS = "¥$€£元"
_CURRENCY_CODES = ("RMB", "CNY", "USD", "EUR")


def _amount_pattern(decimal: str, thousands: str | None) -> str:
    """Return the amount text rule of ``read_orders`` as a regex with numbered groups.

    Groups: 1 open bracket, 2 sign, 3 leading currency, 4 sign after it,
    5 the number, 6 trailing currency, 7 close bracket (RE2 and Java agree).
    """
    d = re.escape(decimal)
    digits = "[0-9]+"
    if thousands is not None:
        t = re.escape(thousands)
        digits = f"(?:[0-9]{{1,3}}(?:{t}[0-9]{{3}})+|[0-9]+)"
    number = f"(?:{digits}(?:{d}[0-9]*)?|{d}[0-9]+)(?:[eE][+-]?[0-9]+)?"
    currency = f"(?:[{_CURRENCY_SIGNS}]|(?i:{'|'.join(_CURRENCY_CODES)}))"
    return (
        rf"^(\()?\s*([-+])?\s*({currency})?\s*([-+])?\s*({number})\s*({currency})?\s*(\))?$"
    )


def _number_text(d: Dialect, col: str, decimal: str, thousands: str | None) -> str:
    """Return SQL reading text amounts by the amount text rule of ``read_orders``.

    Plain numbers (the common case) take one cast; the others are matched by
    the rule's pattern: one currency sign or code before or after, a leading
    minus or accounting brackets, thousands grouped in threes by ``thousands``,
    the ``decimal`` mark, full-width digits and signs.
    """
    spacing = thousands in (" ", "\u00a0")
    group = " " if spacing else thousands
    # full-width forms only where a character is not ASCII (bytes = characters
    # otherwise): translate costs more than everything else of a plain number
    bytes_ = f"strlen({col})" if d.name == "duckdb" else f"octet_length({col})"
    wide = f"translate({col}, {d.literal(_FULL_WIDTH[0])}, {d.literal(_FULL_WIDTH[1])})"
    text = f"trim(CASE WHEN {bytes_} = length({col}) THEN {col} ELSE {wide} END)"
    if spacing:
        text = f"replace({text}, {d.literal(chr(0xA0))}, ' ')"
    pattern = d.literal(_amount_pattern(decimal, group))
    groups = ("open", "sign", "lead", "sign2", "num", "trail", "close")

    def part(k: int) -> str:
        # DuckDB: the groups of one match, bound to m below; Spark: one extraction each
        if d.name == "duckdb":
            return f"m.{groups[k - 1]}"
        return f"regexp_extract({text}, {pattern}, {k})"

    number = part(5)
    if group is not None:
        number = f"replace({number}, {d.literal(group)}, '')"
    if decimal != ".":
        number = f"replace({number}, {d.literal(decimal)}, '.')"
    signs = f"concat({part(2)}, {part(4)})"
    ok = (
        f"{part(5)} <> '' AND ({part(1)} = '') = ({part(7)} = '') "
        f"AND NOT ({part(3)} <> '' AND {part(6)} <> '') AND length({signs}) <= 1 "
        f"AND NOT ({part(1)} <> '' AND length({signs}) = 1)"
    )
    negative = f"({part(1)} <> '' OR {signs} = '-')"
    slow = (
        f"CASE WHEN {ok} THEN (CASE WHEN {negative} THEN -1.0 ELSE 1.0 END) * "
        f"try_cast({number} AS DOUBLE) END"
    )
    if d.name == "duckdb":
        # one regex match per row: its struct of groups is the lambda's argument m
        matched = f"regexp_extract({text}, {pattern}, [{', '.join(map(d.literal, groups))}])"
        slow = f"list_transform([{matched}], lambda m: {slow})[1]"
    if decimal != "." or thousands is not None:
        return slow
    # a plain number casts as it is; only the rest goes through the pattern. DuckDB's
    # cast reads exactly the rule's plain numbers, and also "1_000": refused here.
    # Java's also reads "5d" and hex: Spark checks the form first.
    plain = f"try_cast({text} AS DOUBLE)"
    if d.name == "duckdb":
        fast = f"CASE WHEN NOT contains({text}, '_') THEN {plain} END"
        # (CASE, not coalesce: only the rows the cast did not read run the pattern)
        return f"CASE WHEN {fast} IS NOT NULL THEN {fast} ELSE {slow} END"
    plain_ok = d.matches(text, r"^[+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][+-]?[0-9]+)?$")
    return f"CASE WHEN {plain_ok} THEN {plain} ELSE {slow} END"


def _number_expr(
    d: Dialect, name: str, kind: str, decimal: str = ".", thousands: str | None = None
) -> str:
    col = d.ident(name)
    if kind in ("integer", "float", "decimal"):
        return f"CAST({col} AS DOUBLE)"
    if kind == "text":
        return _number_text(d, col, decimal, thousands)
    if kind == "boolean":
        raise SchemaError(f"Column {name!r} holds booleans; it must hold numbers.")
    raise SchemaError(f"Column {name!r} holds {kind} values; it must hold numbers.")


def _parsed_select(d: Dialect, opts: LineOptions) -> str:
    cols, kinds = opts.columns, opts.kinds
    fields = [
        f"{_id_expr(d, cols.customer, kinds[cols.customer])} AS customer_id",
        _timestamp_expr(d, cols.date, kinds[cols.date], opts.tz, opts.date_formats,
                        opts.date_zone) + " AS ts",
    ]
    def number(name: str) -> str:
        return _number_expr(d, name, kinds[name], opts.decimal, opts.thousands)

    if cols.amount is not None:
        fields.append(f"{number(cols.amount)} AS amount")
    else:
        assert cols.quantity is not None and cols.unit_price is not None
        fields.append(f"{number(cols.quantity)} * {number(cols.unit_price)} AS amount")
    if cols.cost is not None:
        fields.append(f"{number(cols.cost)} AS cost")
    if cols.order_id is not None:
        # one order whatever its id's spelling (" 536365", 536365.0), as pandas groups it
        fields.append(f"{_id_expr(d, cols.order_id, kinds[cols.order_id], 'order')} "
                      "AS order_key")
    if opts.valid_statuses is not None and cols.status is not None:
        status = d.ident(cols.status)
        listed = [v for v in opts.valid_statuses if not pd.isna(v)]
        allowed = ", ".join(d.literal(v) for v in listed) or "NULL"
        ok = f"coalesce({status} IN ({allowed}), FALSE)"
        if len(listed) < len(opts.valid_statuses):  # None listed: missing statuses are valid
            ok = f"({ok} OR {status} IS NULL)"
        fields.append(f"{ok} AS status_ok")
    return "SELECT " + ",\n       ".join(fields) + "\nFROM {source}"


def _lines_select(d: Dialect, opts: LineOptions) -> str:
    cols = opts.columns
    checks = [
        ("missing_customer", "customer_id IS NULL"),
        ("bad_date", "ts IS NULL"),
        ("bad_amount", f"NOT {d.finite('amount')}"),
    ]
    if cols.cost is not None:
        checks.append(("bad_cost", f"NOT {d.finite('cost')}"))
    if cols.order_id is not None:
        checks.append(("missing_order_id", "order_key IS NULL"))
    if opts.valid_statuses is not None and cols.status is not None:
        checks.append(("invalid_status", "NOT status_ok"))
    cases = " ".join(f"WHEN {cond} THEN {reason_code(r)}" for r, cond in checks)
    key = "order_key" if cols.order_id is not None else "ts"
    return (
        f"SELECT customer_id, ts, amount, {key} AS order_key, "
        f"CASE {cases} ELSE 0 END AS base_reason\nFROM parsed"
    )


def _with_lines(d: Dialect, opts: LineOptions, source: str) -> str:
    parsed = _parsed_select(d, opts).replace("{source}", source)
    return f"WITH parsed AS (\n{parsed}\n),\nlines AS (\n{_lines_select(d, opts)}\n)"


def _classified(d: Dialect, as_of: pd.Timestamp | None) -> str:
    # after_as_of: a later calendar day (none without as_of: the default date
    # is the last valid day); negative_amount is always coded here, the
    # caller decides per returns policy whether it is a drop or a use
    after = ""
    if as_of is not None:
        after = (
            f"WHEN CAST(ts AS DATE) > DATE '{as_of.date().isoformat()}' "
            f"THEN {reason_code('after_as_of')} "
        )
    return (
        "classified AS (\nSELECT customer_id, ts, amount, order_key, base_reason, CASE "
        f"WHEN base_reason > 0 THEN base_reason {after}"
        f"WHEN amount < 0 THEN {reason_code('negative_amount')} "
        "ELSE 0 END AS reason\nFROM lines\n)"
    )


# ---------------------------------------------------------------------------
# the two queries
# ---------------------------------------------------------------------------


def aggregation_query(
    d: Dialect,
    opts: LineOptions,
    source: str,
    *,
    as_of: pd.Timestamp | None,
    used_reasons: Iterable[int],
    zero_is_purchase: bool,
    window_days: int | None,
    count_negative: bool = False,
) -> str:
    """Query: the per-customer aggregates and the accounting, from one scan of the lines.

    The lines are grouped once: used lines by customer and order id (the
    orders), dropped lines by reason only. The orders go on to purchase days
    and customers; every group also counts its lines and readable amounts for
    the accounting, so the lines are not read a second time.

    Two kinds of rows come back (``row_kind``):

    * ``'customer'``: one row per customer with at least one order:
      ``customer_id``, ``n_orders``, ``monetary_total``, ``frequency``,
      ``purchase_days``, ``first_day`` and ``last_day`` (days since 1970; 0
      without a purchase), ``purchase_amount``, ``first_day_amount`` and, with
      ``window_days``, ``purchases_in_window``;
    * ``'reason'``: one row per reason code (0 = used): ``reason``,
      ``reason_rows``, ``reason_amount`` (readable amounts), ``reason_dated``
      (0 when none of its lines has a readable date) and ``reason_last_day``
      (days since 1970 of the last line that passes the checks before the
      date ones: the default ``as_of``). With ``count_negative`` (for
      ``returns="error"``), used lines with a negative amount get a row of
      their own (reason ``negative_amount``) with ``reason_min_amount``, the
      smallest amount.

    Without ``as_of`` the window is counted back from that default date.
    """
    used = ", ".join(str(c) for c in used_reasons)
    is_used = f"reason IN ({used})"
    negative = reason_code("negative_amount")
    # reasons whose lines pass the checks before the date ones
    dated_ok = f"({reason_code('after_as_of')}, {negative}, 0)"
    if as_of is not None:
        as_of_date = f"DATE '{as_of.date().isoformat()}'"
    else:  # no line is after the last valid day: only the window needs the date
        as_of_date = f"(SELECT CAST(max(last_ts) AS DATE) FROM grouped WHERE bucket IN {dated_ok})"
    negatives, negative_rows = "", ""
    if count_negative:
        negatives = (
            f",\n  sum(CASE WHEN reason = {negative} THEN 1 ELSE 0 END) AS n_negative,\n"
            f"  sum(CASE WHEN reason = {negative} THEN amount ELSE 0 END) AS negative_amount,\n"
            f"  min(CASE WHEN reason = {negative} THEN amount END) AS min_negative"
        )
        negative_rows = f"""
UNION ALL
SELECT 'reason', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL{{no_window}},
  {negative}, sum(n_negative), sum(negative_amount), 1, min(min_negative), NULL
FROM grouped WHERE bucket = 0 HAVING sum(n_negative) > 0"""
    used_rows = "sum(n_lines) - sum(n_negative)" if count_negative else "sum(n_lines)"
    used_amount = (
        "sum(readable_amount) - sum(negative_amount)" if count_negative else "sum(readable_amount)"
    )
    window_column = ", purchases_in_window" if window_days is not None else ""
    no_window = ", NULL" if window_days is not None else ""
    return f"""{_with_lines(d, opts, source)},
{_classified(d, as_of)},
keyed AS (
SELECT CASE WHEN {is_used} THEN 0 ELSE reason END AS bucket,
  CASE WHEN {is_used} THEN customer_id END AS customer_id,
  CASE WHEN {is_used} THEN order_key END AS order_key,
  ts, amount, reason
FROM classified
),
grouped AS (
SELECT bucket, customer_id, order_key,
  count(*) AS n_lines,
  sum(CASE WHEN {d.finite('amount')} THEN amount ELSE 0 END) AS readable_amount,
  min(ts) AS first_ts,
  max(ts) AS last_ts{negatives}
FROM keyed
GROUP BY bucket, customer_id, order_key
),
orders AS (
SELECT customer_id, CAST(first_ts AS DATE) AS day, readable_amount AS amount
FROM grouped WHERE bucket = 0
),
{_customers(d, as_of_date, zero_is_purchase, window_days)}
SELECT 'customer' AS row_kind, customer_id, n_orders, monetary_total, frequency, purchase_days,
  first_day, last_day, purchase_amount, first_day_amount{window_column},
  NULL AS reason, NULL AS reason_rows, NULL AS reason_amount, NULL AS reason_dated,
  NULL AS reason_min_amount, NULL AS reason_last_day
FROM customers
UNION ALL
SELECT 'reason', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL{no_window},
  bucket,
  CASE WHEN bucket = 0 THEN {used_rows} ELSE sum(n_lines) END,
  CASE WHEN bucket = 0 THEN {used_amount} ELSE sum(readable_amount) END,
  count(first_ts),
  NULL,
  {d.day_number(f"CAST(max(CASE WHEN bucket IN {dated_ok} THEN last_ts END) AS DATE)")}
FROM grouped GROUP BY bucket{negative_rows.replace("{no_window}", no_window)}"""


def _customers(d: Dialect, as_of_date: str, zero_is_purchase: bool, window_days: int | None) -> str:
    """CTEs ``days`` and ``customers``: orders -> purchase days -> one row per customer."""
    is_purchase = "amount >= 0" if zero_is_purchase else "amount > 0"
    # purchase days first in min_by's ordering; days without a purchase last
    first_key = f"CASE WHEN n_purchases > 0 THEN {d.day_number('day')} ELSE 2147483647 END"
    window = ""
    if window_days is not None:
        inside = f"{d.days_between('day', as_of_date)} <= {int(window_days)}"
        window = f",\n  sum(CASE WHEN {inside} THEN n_purchases ELSE 0 END) AS purchases_in_window"
    return f"""days AS (
SELECT customer_id, day, count(*) AS n_orders, sum(amount) AS amount,
  sum(CASE WHEN {is_purchase} THEN 1 ELSE 0 END) AS n_purchases,
  sum(CASE WHEN {is_purchase} THEN amount ELSE 0 END) AS purchase_amount
FROM orders GROUP BY customer_id, day
),
customers AS (
SELECT customer_id,
  sum(n_orders) AS n_orders,
  sum(amount) AS monetary_total,
  sum(n_purchases) AS frequency,
  sum(CASE WHEN n_purchases > 0 THEN 1 ELSE 0 END) AS purchase_days,
  coalesce(min(CASE WHEN n_purchases > 0 THEN {d.day_number('day')} END), 0) AS first_day,
  coalesce(max(CASE WHEN n_purchases > 0 THEN {d.day_number('day')} END), 0) AS last_day,
  sum(purchase_amount) AS purchase_amount,
  min_by(purchase_amount, {first_key}) AS first_day_amount{window}
FROM days GROUP BY customer_id
)"""
