"""``EngineSource``: order lines held by an engine, with the ``prepare_orders`` options.

An ``EngineSource`` is what ``from_duckdb`` and ``from_spark`` return. It runs
the queries of ``_sql`` in its engine and turns the small results into the
same per-customer frame and ``QualityReport`` as ``prepare_orders`` followed
by ``customer_aggregates``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.accounting import (
    DROP_REASONS,
    QualityReport,
    format_counts,
    report_bad_rows,
)
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._ingest.ids import TEXT_DTYPE, argsort_text
from rfm_loyalty._ingest.options import (
    DATE_FORMAT_KEYWORDS,
    OrderColumns,
    ReadOptions,
    read_options,
)
from rfm_loyalty._ingest.text_dates import TextFormats, engine_formats
from rfm_loyalty._validation import Optional, Whole, check
from rfm_loyalty.engines import _sql
from rfm_loyalty.exceptions import DataQualityError, InvalidParameterError, SchemaError

__all__ = ["EngineResult", "EngineSource", "Runner", "engine_options"]

class Runner(Protocol):
    """What an engine adapter provides: its dialect, its column kinds, a way to query."""

    dialect: _sql.Dialect

    def column_kinds(self) -> dict[str, str]:
        """Map each input column to a kind of ``_sql.KINDS`` (or another word)."""
        ...  # pragma: no cover - protocol

    def fetch(self, query: str) -> dict[str, np.ndarray]:
        """Run ``query`` (which reads ``source_name()``) and return its columns.

        Missing values come back as NaN in numeric columns, None in text ones.
        """
        ...  # pragma: no cover - protocol

    def source_name(self) -> str:
        """Return the name the queries use for the input table."""
        ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class EngineResult:
    """The per-customer aggregates computed in an engine, with their accounting.

    Attributes
    ----------
    aggregates : pandas.DataFrame
        Exactly what ``customer_aggregates`` returns for the same lines and
        options (see there for the columns).
    quality : QualityReport
        Row and amount accounting, counted in the engine.
    as_of : pandas.Timestamp
        The analysis date the aggregates were counted at.
    """

    aggregates: pd.DataFrame
    quality: QualityReport
    as_of: pd.Timestamp


@dataclass(frozen=True)
class EngineSource:
    """Order lines held by DuckDB or Spark, and how to prepare them.

    Made by :func:`rfm_loyalty.engines.from_duckdb` or
    :func:`rfm_loyalty.engines.from_spark`; ``customer_aggregates``,
    ``rfm_table``, ``btyd_summary`` and ``lifecycle_labels`` accept it in
    place of ``Orders`` and aggregate inside the engine.

    Attributes
    ----------
    engine : str
        ``"duckdb"`` or ``"spark"``.
    options : ReadOptions
        The reading options, checked when the source was made
        (``columns``, ``as_of``, ``returns``, ``zero_amount``,
        ``valid_statuses``, ``tz`` and ``on_bad_rows`` are also attributes).
        ``tz`` is the zone whose wall clock gives the calendar day of
        time-zone-aware timestamps (DuckDB ``TIMESTAMP WITH TIME ZONE``);
        default UTC.
    readings : dict of str to str
        What the source decided itself (the columns matched by
        ``columns="auto"``), as ``QualityReport.readings``.
    """

    engine: str
    runner: Runner = field(repr=False, compare=False)
    options: ReadOptions
    #: what the source decided itself (``QualityReport.readings``: the columns
    #: matched by ``columns="auto"``)
    readings: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def columns(self) -> OrderColumns:
        """Names of the input columns."""
        return self.options.order_columns

    @property
    def as_of(self) -> pd.Timestamp | None:
        """Analysis date; None: the last valid order date."""
        return self.options.as_of

    @property
    def returns(self) -> str:
        """The returns policy."""
        return self.options.returns

    @property
    def zero_amount(self) -> str:
        """The zero-amount policy."""
        return self.options.zero_amount

    @property
    def valid_statuses(self) -> tuple[Any, ...] | None:
        """Statuses whose lines are used."""
        statuses = self.options.valid_statuses
        return None if statuses is None else tuple(statuses)

    @property
    def tz(self) -> str | None:
        """Time zone of the calendar days."""
        return self.options.tz

    @property
    def on_bad_rows(self) -> str:
        """What unusable rows do: warn or raise."""
        return self.options.on_bad_rows

    def line_options(self) -> _sql.LineOptions:
        """Return what the SQL line stage needs (column kinds read from the engine)."""
        return self._line_options_and_dates()[0]

    def _line_options_and_dates(self) -> tuple[_sql.LineOptions, TextFormats | None]:
        kinds = self.runner.column_kinds()
        dates = self._text_dates(kinds)
        return _sql.LineOptions(
            columns=self.columns,
            kinds=kinds,
            valid_statuses=self.valid_statuses,
            tz=self.tz,
            date_formats=None if dates is None else dates.formats,
            date_zone=dates is not None and dates.zone,
            decimal=self.options.decimal,
            thousands=self.options.thousands,
        ), dates

    def _text_dates(self, kinds: Mapping[str, str]) -> TextFormats | None:
        """Return the formats of a text date column, chosen as pandas chooses them.

        The distinct values of the column are read from the engine once and
        go through the same inference (and the same errors) as
        ``prepare_orders``; the engine then parses with the chosen formats.
        """
        name = self.columns.date
        if kinds.get(name) != "text":
            return None
        fmt = self.options.date_format
        if fmt is not None:
            dates = TextFormats((fmt.replace("%z", "").rstrip(),), "%z" in fmt, "")
        else:
            # one value per date part and shape of the text (its length, where the
            # time starts, how it ends): the format, the day/month order and the
            # patterns present are told by these, far fewer than the distinct values
            col = self.runner.dialect.ident(name)
            found = self.runner.fetch(
                f"SELECT min({col}) AS v, count(*) AS n FROM {self.runner.source_name()} "
                f"WHERE {col} IS NOT NULL GROUP BY left({col}, 11), length({col}), "
                f"instr({col}, ':'), CASE WHEN right({col}, 1) BETWEEN '0' AND '9' THEN '0' "
                f"ELSE right({col}, 1) END ORDER BY v")
            values = pd.Series(np.asarray(found["v"], dtype=object), dtype=object)
            counts = np.asarray(found["n"], dtype=np.int64)
            dates = engine_formats(values, name, dayfirst=self.options.dayfirst, tz=self.tz,
                                   counts=counts)
        if self.engine == "spark" and (dates.zone or dates.formats[0] not in _SPARK_FORMS):
            raise SchemaError(
                f"from_spark reads text dates written YYYY-MM-DD (with an optional time) only; "
                f"column {name!r} holds {dates.reading or fmt!r}. Convert it in Spark first "
                "(to_timestamp(col, pattern)), or read the lines with read_orders."
            )
        return dates

    def sql(self, *, as_of: Any, window_days: int | None = None) -> str:
        """Return the aggregation query this source runs for ``as_of``, for reading.

        Parameters
        ----------
        as_of : date-like
            Analysis date (the query needs a fixed date).
        window_days : int, optional
            Lifecycle window, as for ``customer_aggregates``.

        Returns
        -------
        str
            The query text, in the engine's dialect.

        Examples
        --------
        >>> import duckdb
        >>> from rfm_loyalty.engines import from_duckdb
        >>> lines = duckdb.connect().sql(
        ...     "SELECT 'a' AS customer_id, DATE '2024-01-01' AS order_date, 1.0 AS amount")
        >>> "GROUP BY bucket, customer_id, order_key" in from_duckdb(lines).sql(as_of="2024-01-31")
        True
        """
        return _sql.aggregation_query(
            self.runner.dialect,
            self.line_options(),
            self.runner.source_name(),
            as_of=as_date(as_of, name="as_of"),
            used_reasons=self._used_reasons(),
            zero_is_purchase=self.zero_amount == "purchase",
            window_days=window_days,
            count_negative=self.returns == "error",
        )

    def aggregate(self, *, as_of: Any = None, window_days: int | None = None) -> EngineResult:
        """Validate, account for and aggregate the lines inside the engine.

        Parameters
        ----------
        as_of : date-like, optional
            Analysis date; default the source's ``as_of``, else the last
            valid order date. Not later than the source's ``as_of``.
        window_days : int, optional
            Also count purchases inside and before the lifecycle window.

        Returns
        -------
        EngineResult
            ``.aggregates`` (the ``customer_aggregates`` frame) and
            ``.quality`` (the ``QualityReport``).

        Raises
        ------
        SchemaError
            Empty input, no readable date, or no valid row.
        DataQualityError
            With ``on_bad_rows="raise"`` or ``returns="error"``.

        Examples
        --------
        >>> import duckdb
        >>> from rfm_loyalty.engines import from_duckdb
        >>> lines = duckdb.connect().sql(
        ...     "SELECT * FROM (VALUES ('a', DATE '2024-01-01', 10.0), ('a', DATE '2024-01-09', "
        ...     "-4.0), ('b', DATE '2024-01-05', 5.0)) t(customer_id, order_date, amount)")
        >>> result = from_duckdb(lines).aggregate()
        >>> result.aggregates[["frequency", "monetary_total"]]
                     frequency  monetary_total
        customer_id
        a                    1             6.0
        b                    1             5.0
        >>> (result.quality.rows_in, result.quality.orders, result.quality.purchases)
        (3, 3, 2)
        """
        window_days = check(window_days, Optional(Whole(minimum=0, unit="days")),
                            name="window_days", owner="EngineSource.aggregate")
        d, source = self.runner.dialect, self.runner.source_name()
        opts, dates = self._line_options_and_dates()
        as_of_ts = self._effective_as_of(as_of)
        rows = self.runner.fetch(
            _sql.aggregation_query(
                d,
                opts,
                source,
                as_of=as_of_ts,
                used_reasons=self._used_reasons(),
                zero_is_purchase=self.zero_amount == "purchase",
                window_days=window_days,
                count_negative=self.returns == "error",
            )
        )
        counts, table = _split_rows(rows)
        if as_of_ts is None:
            # no valid line is after the last valid day: that day is the default
            last = np.asarray(counts["last_day"], dtype="float64")
            if np.isfinite(last).any():
                as_of_ts = pd.Timestamp(np.datetime64(int(np.nanmax(last)), "D"))
        report_args = self._account(counts)
        # what the source decided itself (the columns), then the date reading
        report_args["readings"] = dict(self.readings)
        if dates is not None and dates.reading:
            report_args["readings"]["date"] = dates.reading
        if as_of_ts is None or report_args["rows_used"] == 0:
            raise SchemaError(
                f"No valid order row remains: all {report_args['rows_in']:,} rows were dropped "
                f"({format_counts(report_args['dropped'])}). Check the column mapping "
                f"{self.columns.used()!r} and the as_of date."
            )
        return _assemble(table, report_args, as_of_ts, window_days, self.options.amount_decimals)

    # -- helpers -----------------------------------------------------------

    def _used_reasons(self) -> tuple[int, ...]:
        if self.returns == "drop":
            return (0,)
        # "net" uses negative lines; "error" has raised before any is used
        return (0, _sql.reason_code("negative_amount"))

    def _effective_as_of(self, as_of: Any) -> pd.Timestamp | None:
        if as_of is None:
            return self.as_of
        wanted = as_date(as_of, name="as_of")
        if self.as_of is not None and wanted > self.as_of:
            raise ValueError(
                f"as_of={wanted.date()} is after the date this source was prepared for "
                f"({self.as_of.date()}); orders after that date are excluded. Make the source "
                f"with as_of='{wanted.date()}'."
            )
        return wanted

    def _account(self, counts: Mapping[str, np.ndarray]) -> dict[str, Any]:
        codes = np.asarray(counts["reason"], dtype=np.int64)
        rows = np.asarray(counts["n_rows"], dtype=np.int64)
        amounts = np.nan_to_num(np.asarray(counts["amount"], dtype="float64"))
        n = int(rows.sum())
        if n == 0:
            raise SchemaError("The order table is empty (0 rows); there is nothing to analyse.")
        if int(np.asarray(counts["n_dates"], dtype=np.int64).sum()) == 0:
            raise SchemaError(f"Column {self.columns.date!r} holds no readable date.")
        negative = _sql.reason_code("negative_amount")
        if self.returns == "error" and negative in codes:
            i = int(np.flatnonzero(codes == negative)[0])
            smallest = float(np.asarray(counts["min_amount"], dtype="float64")[i])
            raise DataQualityError(
                f"{int(rows[i]):,} order lines have a negative amount (smallest: {smallest!r}) "
                "and returns='error' forbids them. Use returns='net' to net them against "
                "purchases or returns='drop' to drop them."
            )
        used = set(self._used_reasons())
        dropped: dict[str, int] = {}
        dropped_amounts: dict[str, float] = {}
        for code, reason in enumerate(DROP_REASONS, start=1):
            hit = (codes == code) & (code not in used)
            if hit.any():
                dropped[reason] = int(rows[hit].sum())
                dropped_amounts[reason] = float(amounts[hit].sum())
        in_use = np.isin(codes, list(used))
        args = {
            "rows_in": n,
            "rows_used": int(rows[in_use].sum()),
            "dropped": dropped,
            "amount_in": float(amounts.sum()),
            "amount_used": float(amounts[in_use].sum()),
            "amount_dropped": float(sum(dropped_amounts.values())),
            "dropped_amounts": dropped_amounts,
        }
        report_bad_rows(dropped, self.on_bad_rows, n)
        return args


#: Accounting columns of ``aggregation_query`` -> the names ``_account`` reads.
_REASON_COLUMNS = {
    "reason": "reason",
    "reason_rows": "n_rows",
    "reason_amount": "amount",
    "reason_dated": "n_dates",
    "reason_min_amount": "min_amount",
    "reason_last_day": "last_day",
}


def _split_rows(
    rows: Mapping[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split the rows of ``aggregation_query`` into the accounting and the customers."""
    kind = np.asarray(rows["row_kind"], dtype=object)
    is_reason = kind == "reason"
    counts = {name: np.asarray(rows[column])[is_reason] for column, name in _REASON_COLUMNS.items()}
    table = {
        name: np.asarray(values)[~is_reason]
        for name, values in rows.items()
        if name != "row_kind" and name not in _REASON_COLUMNS
    }
    return counts, table


def _assemble(
    table: Mapping[str, np.ndarray],
    report_args: dict[str, Any],
    as_of: pd.Timestamp,
    window_days: int | None,
    amount_decimals: int | None = None,
) -> EngineResult:
    """Build the ``customer_aggregates`` frame and the report from the engine's rows.

    With ``amount_decimals`` the sums of amounts are rounded to it, as the
    pandas path rounds them (``round_money``): exact decimal sums.
    """
    ids = np.asarray(table["customer_id"], dtype=object)
    frequency = np.asarray(table["frequency"], dtype=np.int64)
    quality = QualityReport(
        **report_args,
        orders=int(np.asarray(table["n_orders"], dtype=np.int64).sum()),
        customers=len(ids),
        purchases=int(frequency.sum()),
        as_of=as_of,
    )
    keep = np.flatnonzero(frequency > 0)
    # the text dtype of the pandas path, also when no customer is left
    index = pd.Index(ids[keep], dtype=TEXT_DTYPE, name="customer_id")
    order = argsort_text(index)  # the text order of the pandas path
    keep, index = keep[order], index.take(order)

    def pick(name: str, dtype: str) -> np.ndarray:
        return np.asarray(table[name], dtype=dtype)[keep]

    def money(name: str) -> np.ndarray:
        values = pick(name, "float64")
        return values if amount_decimals is None else np.round(values, amount_decimals) + 0.0

    columns: dict[str, Any] = {
        "first_purchase": pick("first_day", "int64").astype("datetime64[D]"),
        "last_purchase": pick("last_day", "int64").astype("datetime64[D]"),
        "frequency": frequency[keep],
        "purchase_days": pick("purchase_days", "int64"),
        "monetary_total": money("monetary_total"),
        "purchase_amount": money("purchase_amount"),
        "first_day_amount": money("first_day_amount"),
    }
    for name in ("first_purchase", "last_purchase"):
        columns[name] = columns[name].astype("datetime64[ns]")
    if window_days is not None:
        in_window = pick("purchases_in_window", "int64")
        columns["purchases_in_window"] = in_window
        columns["purchases_before_window"] = columns["frequency"] - in_window
    frame = pd.DataFrame(columns)
    frame.index = index
    frame.attrs["as_of"] = as_of.date().isoformat()
    return EngineResult(aggregates=frame, quality=quality, as_of=as_of)


#: The text date formats the Spark cast reads as pandas does.
_SPARK_FORMS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f")

#: Reading options the engines do not implement yet; refused before any query runs.
_NOT_IN_ENGINES: tuple[str, ...] = ("sheet_name",)
#: Options of reading a file: only for sources that are files (DuckDB's CSV reader).
FILE_OPTIONS: tuple[str, ...] = ("encoding", "sep")


def engine_options(
    caller: str, columns: Any, options: Mapping[str, Any], *, files: bool = False
) -> ReadOptions:
    """Check the reading options of an engine source (the options of ``read_orders``).

    Options the engine cannot honour are refused here, before any query runs:
    ``sheet_name``, a numeric ``date_format`` (``excel``, ``epoch_*``), and
    ``encoding`` and ``sep`` unless the source is a CSV file the engine reads
    itself (``files=True``).
    ``columns="auto"`` stays unresolved: the source resolves it against the
    engine's column names (:meth:`ReadOptions.resolve_columns`).
    """
    settings = read_options(columns, options, owner=caller)
    if settings.date_format in DATE_FORMAT_KEYWORDS:
        raise InvalidParameterError(
            f"{caller} cannot honour date_format={settings.date_format!r}: convert the numbers "
            "to timestamps in the engine, or read the lines with read_orders."
        )
    given = set(settings.given())
    refused = sorted(given & set(_NOT_IN_ENGINES))
    if refused:
        raise InvalidParameterError(
            f"{caller} cannot honour the option(s) {refused} yet: the engine reads the lines "
            "with its own parser. Read the file with read_orders (pandas), or convert the "
            "column in the engine before wrapping it."
        )
    not_files = sorted(given & set(FILE_OPTIONS))
    if not_files and not files:
        raise InvalidParameterError(
            f"{not_files} are options of reading a CSV file; {caller} got lines the engine "
            "holds already. Leave them unset, or give from_duckdb the file's path."
        )
    return settings
