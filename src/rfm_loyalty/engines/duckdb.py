"""DuckDB engine: aggregate order lines inside DuckDB (files larger than memory)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rfm_loyalty._ingest.files import check_columns_exist
from rfm_loyalty._ingest.options import OrderColumns, ReadOptions
from rfm_loyalty.engines import _sql
from rfm_loyalty.engines._source import EngineSource, engine_options
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError

__all__ = ["from_duckdb"]

_VIEW = "rfm_order_lines"
_QUERY_START = re.compile(r"^\s*(?:(?:select|with|from|table|values)\b|\()", re.IGNORECASE)
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")


def _import_duckdb() -> Any:
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The DuckDB engine needs duckdb: pip install 'rfm-loyalty[duckdb]'."
        ) from exc
    return duckdb


def from_duckdb(
    source: Any,
    columns: OrderColumns | Mapping[str, str] | str | None = None,
    *,
    connection: Any = None,
    memory_limit: str | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    **options: Any,
) -> EngineSource:
    """Wrap order lines held by DuckDB so that the aggregation runs in DuckDB.

    ``customer_aggregates``, ``rfm_table``, ``btyd_summary`` and
    ``lifecycle_labels`` accept the result in place of ``Orders``: DuckDB
    validates the lines, counts the dropped ones, sums lines into orders and
    orders into customers (the same rules as ``prepare_orders``), and only the
    per-customer table comes back to pandas.

    Parameters
    ----------
    source : duckdb.DuckDBPyRelation, str, path or list of paths
        A relation; a SQL query (text starting with ``SELECT``, ``WITH``,
        ``FROM``...) run on ``connection``; or a path, glob or list of paths
        of Parquet (``.parquet``, ``.pq``) or CSV (``.csv``, ``.csv.gz``,
        ``.tsv``...) files, read lazily (customer and order ids of CSV files
        as text).
    columns : OrderColumns, dict or "auto", optional
        Column names, as for ``prepare_orders`` (``"auto"``: matched against
        the relation's or the files' column names, see ``docs/columns.md``).
    connection : duckdb.DuckDBPyConnection, optional
        Connection for a query or files; default a new in-memory one.
    memory_limit : str, optional
        DuckDB memory limit, e.g. ``"4GB"``; beyond it DuckDB spills to
        ``temp_directory``. Set on the connection.
    temp_directory : path, optional
        Where DuckDB spills.
    threads : int, optional
        DuckDB worker threads.
    **options
        ``as_of``, ``returns``, ``zero_amount``, ``valid_statuses``, ``tz``,
        ``on_bad_rows``, ``decimal`` and ``thousands`` (text amounts: the
        separator removed, the decimal mark read as a point), and
        ``amount_decimals`` (sums rounded to it), as for ``prepare_orders``.
        For CSV files also ``sep`` (default comma; tab for ``.tsv``) and
        ``encoding`` (UTF-8, UTF-16 or Latin-1: DuckDB's own decoders; others
        are refused, read them with ``read_orders``). ``date_format`` and
        ``dayfirst`` read text dates as ``prepare_orders`` does (a numeric
        ``date_format`` is refused); ``sheet_name`` is refused. ``tz`` is the zone whose
        calendar days count for ``TIMESTAMP WITH TIME ZONE`` columns (default
        UTC; DuckDB stores instants, not each value's own zone).

    Returns
    -------
    EngineSource
        Pass it to ``rfm_table`` and friends, or call ``.aggregate()`` for
        the aggregates together with their ``QualityReport``.

    Raises
    ------
    SchemaError
        A named column is missing, or a file format is unknown.
    FileNotFoundError
        No file matches the path.

    Examples
    --------
    >>> import duckdb
    >>> from rfm_loyalty.summary import rfm_table
    >>> con = duckdb.connect()
    >>> lines = con.sql(
    ...     "SELECT * FROM (VALUES (' 7.0', TIMESTAMP '2024-01-01 10:00', 10.0), "
    ...     "('7', TIMESTAMP '2024-01-31 18:30', 30.0), ('b', TIMESTAMP '2024-01-20', 5.0)) "
    ...     "t(customer_id, order_date, amount)")
    >>> rfm_table(from_duckdb(lines, as_of="2024-02-01"))[["recency_days", "frequency",
    ...                                                     "monetary_total"]]
                 recency_days  frequency  monetary_total
    customer_id
    7                       1          2            40.0
    b                      12          1             5.0
    """
    duckdb = _import_duckdb()
    settings = engine_options("from_duckdb", columns, options, files=_is_file_source(source))
    config = {"memory_limit": memory_limit, "temp_directory": temp_directory, "threads": threads}
    config = {k: v for k, v in config.items() if v is not None}
    found: dict[str, str] = {}
    if isinstance(source, duckdb.DuckDBPyRelation):
        if config and connection is None:
            raise ValueError(
                f"{sorted(config)} are connection settings; pass the relation's connection "
                "with connection=... to set them."
            )
        relation = source
    else:
        connection = connection if connection is not None else duckdb.connect()
        if (
            isinstance(source, str)
            and _QUERY_START.match(source)
            and not source.strip().lower().endswith(_PARQUET + _CSV)
        ):
            relation = None
        else:
            settings, found, relation = _read_files(connection, source, settings)
    if connection is not None:
        for name, value in config.items():
            connection.execute(f"SET {name} = {_sql.DUCKDB.literal(str(value))}")
    if relation is None:
        relation = connection.sql(source)
    if settings.columns == "auto":
        settings, found = settings.resolve_columns(relation.columns)
    check_columns_exist(relation.columns, settings.order_columns)
    return EngineSource(engine="duckdb", runner=_DuckDBRunner(relation, connection),
                        options=settings, readings=found)


def _is_file_source(source: Any) -> bool:
    """Whether ``from_duckdb`` reads ``source`` as files (a path, glob or list of paths)."""
    if isinstance(source, os.PathLike):
        return True
    if isinstance(source, str):
        return not (_QUERY_START.match(source)
                    and not source.strip().lower().endswith(_PARQUET + _CSV))
    return isinstance(source, Sequence)


class _DuckDBRunner:
    """Runs the generated queries against one DuckDB relation."""

    dialect = _sql.DUCKDB

    def __init__(self, relation: Any, connection: Any) -> None:
        self.relation = relation
        self.connection = connection  # keeps a connection we opened alive

    def source_name(self) -> str:
        return _VIEW

    def column_kinds(self) -> dict[str, str]:
        pairs = zip(self.relation.columns, self.relation.types, strict=True)
        return {name: _kind(str(dtype)) for name, dtype in pairs}

    def fetch(self, query: str) -> dict[str, np.ndarray]:
        result = self.relation.query(_VIEW, query).fetchnumpy()
        return {name: _unmask(values) for name, values in result.items()}


def _unmask(values: Any) -> np.ndarray:
    if not isinstance(values, np.ma.MaskedArray):
        return np.asarray(values)
    if values.dtype.kind in "iufb":
        return np.ma.filled(values.astype("float64"), np.nan)
    return np.ma.filled(values.astype(object), None)


def _kind(type_name: str) -> str:
    name = type_name.upper()
    if name in ("VARCHAR", "TEXT", "STRING") or name.startswith("VARCHAR"):
        return "text"
    if name in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT") or (
        name.startswith("U") and name.endswith("INT")
    ):
        return "integer"
    if name in ("FLOAT", "DOUBLE", "REAL"):
        return "float"
    if name.startswith("DECIMAL"):
        return "decimal"
    if name == "BOOLEAN":
        return "boolean"
    if name.startswith("TIMESTAMP WITH TIME ZONE"):
        return "timestamptz"
    if name.startswith("TIMESTAMP") or name == "DATETIME":
        return "timestamp"
    if name == "DATE":
        return "date"
    return name.lower()


def _read_files(
    connection: Any, source: Any, settings: ReadOptions
) -> tuple[ReadOptions, dict[str, str], Any]:
    """Open the files as a lazy relation; resolve ``columns="auto"`` against their header."""
    paths = [str(p) for p in source] if isinstance(source, Sequence) and not isinstance(
        source, str
    ) else [os.fspath(source)]
    if not paths:
        raise FileNotFoundError("No order file given: the list of paths is empty.")
    for path in paths:
        if not any(ch in path for ch in "*?[") and not Path(path).exists():
            raise FileNotFoundError(f"No order file at {path!r}.")
    names = {p.lower() for p in paths}
    listing = "[" + ", ".join(_sql.DUCKDB.literal(p) for p in paths) + "]"
    if all(n.endswith(_PARQUET) for n in names):
        csv_only = sorted(k for k in ("encoding", "sep") if k in settings.given())
        if csv_only:
            raise InvalidParameterError(
                f"{csv_only} are options of reading a CSV file; {paths!r} are Parquet files, "
                "which carry their own types. Leave them unset."
            )
        relation = connection.sql(f"SELECT * FROM read_parquet({listing})")
        settings, found = settings.resolve_columns(relation.columns)
        return settings, found, relation
    if all(n.endswith(_CSV) for n in names):
        lit = _sql.DUCKDB.literal
        sep = settings.sep or ("\t" if all(".tsv" in n for n in names) else ",")
        reading = [f"header = true, delim = {lit(sep)}"]
        if settings.encoding is not None:
            reading.append(f"encoding = {lit(_duckdb_encoding(settings.encoding))}")
        if settings.decimal != ".":
            reading.append(f"decimal_separator = {lit(settings.decimal)}")
        found = {}
        if settings.columns == "auto":
            header = _csv(connection, listing, reading, paths).columns
            settings, found = settings.resolve_columns(header)
        cols = settings.order_columns
        # ids as text; dates as text too, read by the rules of prepare_orders (the
        # CSV sniffer would take 01/02/2024 as 1 February without a word)
        id_columns = [c for c in (cols.customer, cols.order_id, cols.date) if c is not None]
        if settings.thousands is not None:
            # grouped amounts ("1.234,50"): read as text, parsed by the amount text
            # rule of read_orders in the query (DuckDB's sniffer reads plain decimal
            # commas itself, with decimal_separator)
            id_columns += [c for c in (cols.amount, cols.quantity, cols.unit_price, cols.cost)
                           if c is not None]
        types = ", ".join(f"{lit(c)}: 'VARCHAR'" for c in id_columns)
        return settings, found, _csv(connection, listing, [*reading, f"types = {{{types}}}"],
                                     paths)
    raise SchemaError(
        f"Cannot tell the format of {paths!r} from the names. Use .parquet or .csv "
        "(.csv.gz, .tsv) files, all of one format, or pass a DuckDB relation."
    )


#: Python's names of the encodings DuckDB's CSV reader decodes itself.
_DUCKDB_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16",
                     "utf-16-le": "utf-16", "utf-16-be": "utf-16", "latin-1": "latin-1",
                     "iso8859-1": "latin-1"}


def _duckdb_encoding(encoding: str) -> str:
    """DuckDB's name of a (checked, Python-normalised) encoding, or a refusal naming the fix."""
    if encoding in _DUCKDB_ENCODINGS:
        return _DUCKDB_ENCODINGS[encoding]
    raise InvalidParameterError(
        f"from_duckdb cannot honour encoding={encoding!r}: DuckDB's CSV reader decodes only "
        f"{sorted(set(_DUCKDB_ENCODINGS.values()))!r} without its 'encodings' extension. "
        "Read the file with read_orders (pandas detects GB18030), or convert it to UTF-8 "
        "or Parquet first."
    )


def _csv(connection: Any, listing: str, reading: list[str], paths: list[str]) -> Any:
    """``read_csv`` as a lazy relation; DuckDB's sniffing errors as a SchemaError."""
    duckdb = _import_duckdb()
    try:
        return connection.sql(f"SELECT * FROM read_csv({listing}, {', '.join(reading)})")
    except duckdb.Error as exc:
        first = " ".join(str(exc).split())[:300]
        raise SchemaError(
            f"DuckDB cannot read {paths!r} as CSV ({first}). A file not in UTF-8 (e.g. GBK / "
            "GB18030 from Chinese Excel) needs read_orders (pandas), or a conversion to UTF-8; "
            "give sep= when the separator is not a comma."
        ) from exc
