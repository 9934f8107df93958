"""Hand the analysis to other tools: files, a database, campaign lists, provenance.

The public names of the export all import from this module.
Every exported table has a fixed column schema with a version
(:data:`SCHEMAS`, documented in ``docs/export.md``; a test fails when a
column changes without a version change). Tables are flattened for other
tools: the index becomes the first column, categories become text, dates
are calendar timestamps. Each export writes ``metadata.json`` beside the
tables with the schema versions, ``as_of``, every parameter, the library
version, the input row counts and the SHA-256 of the input.

CSV and XLSX are opened by spreadsheets, which run a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula. Customer
ids come from the outside, so text cells that start with one of those
characters are written with a leading single quote (``'=1+1``), the OWASP
recommendation. Numbers are never touched: ``-5.0`` stays a number.

Layout: the schemas live in :mod:`rfm_loyalty._schemas`, the flat tables and
the provenance record in :mod:`rfm_loyalty._export_tables`, the database
writer and reader in :mod:`rfm_loyalty._sql_export`; this module holds the
files (CSV, Parquet, JSON, XLSX), the formula neutralisation and the schema
documentation and fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from rfm_loyalty._atomic import METADATA, StagedFolder
from rfm_loyalty._export_tables import (
    arrow_tables,
    campaign_table,
    created_utc,
    export_tables,
    metadata,
)
from rfm_loyalty._schemas import (
    ARROW_TYPES,
    SCHEMA_VERSION,
    SCHEMAS,
    Column,
    TableSchema,
    to_frame,
    typed,
)
from rfm_loyalty._sql_export import read_sql, write_sql
from rfm_loyalty._views import provide
from rfm_loyalty._writers import neutralise_frame, write_table

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

__all__ = [
    "FORMATS",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "Column",
    "TableSchema",
    "campaign_table",
    "export_analysis",
    "export_tables",
    "neutralize_formulas",
    "read_export",
    "read_sql",
    "schema_hash",
    "schema_markdown",
    "write_sql",
]

# Files written at once: the machine's cores, at most two (writing is bound by memory and disk).
_WRITER_THREADS = max(1, min(2, os.cpu_count() or 1))
#: File formats of :func:`export_analysis`, with their file extension.
FORMATS: Mapping[str, str] = MappingProxyType(
    {"csv": "csv", "parquet": "parquet", "json": "json", "xlsx": "xlsx"}
)


# --------------------------------------------------------------------------- #
# schema documentation and fingerprint
# --------------------------------------------------------------------------- #
# Kept here rather than in _schemas: they read this module's SCHEMAS, the
# registry callers see (and the fingerprint test replaces).
def schema_hash(name: str | None = None) -> str:
    """SHA-256 (first 16 hex digits) of a table's columns (name, dtype, when).

    The meanings are left out, so rewording the documentation never needs a
    version change; renaming, adding, removing, reordering or retyping a
    column changes the hash.

    Parameters
    ----------
    name : str, optional
        A table of :data:`SCHEMAS`; None hashes all tables together.

    Returns
    -------
    str
        16 hexadecimal characters.

    Examples
    --------
    >>> schema_hash("quality")
    '4d6ab3bbc915b73e'
    >>> len(schema_hash()), schema_hash() == schema_hash("quality")
    (16, False)
    """
    tables = [SCHEMAS[name]] if name is not None else list(SCHEMAS.values())
    spec = [[t.name, t.when, [[c.name, c.dtype, c.when] for c in t.columns]] for t in tables]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def schema_markdown() -> str:
    """Return the Markdown documentation of every table schema (kept in docs/export.md).

    Returns
    -------
    str
        The schema set version, then per table a heading with its version, its
        description, its row order and key, and a column table (column,
        dtype, when, meaning).

    Examples
    --------
    >>> lines = schema_markdown().splitlines()
    >>> for line in lines[:7]:
    ...     print(line)
    Schema set version: **2**
    <BLANKLINE>
    ### `customers` (schema version 2)
    <BLANKLINE>
    One row per customer with a purchase: every score and label.
    <BLANKLINE>
    Rows: customer_id ascending (the order of Analysis.customers: text ids by code point, ...
    >>> for line in lines[8:11]:
    ...     print(line)
    | column | dtype | when | meaning |
    |---|---|---|---|
    | `customer_id` | text | always | customer id |
    """
    parts = [f"Schema set version: **{SCHEMA_VERSION}**\n"]
    for t in SCHEMAS.values():
        when = "" if t.when == "always" else f" Written only with {_WHEN_TEXT[t.when]}."
        key = ", ".join(f"`{k}`" for k in t.key)
        parts.append(f"### `{t.name}` (schema version {t.version})\n\n{t.description}{when}\n")
        parts.append(f"Rows: {t.order}; one per {key}.\n")
        parts.append("| column | dtype | when | meaning |\n|---|---|---|---|")
        parts += [f"| `{c.name}` | {c.dtype}{', money' if c.money else ''} | {c.when} | "
                  f"{c.meaning} |" for c in t.columns]
        parts.append("")
    return "\n".join(parts)


_WHEN_TEXT = {"profit": "a cost input (cost column or margin)", "models": "models=True"}


# --------------------------------------------------------------------------- #
# files
# --------------------------------------------------------------------------- #
def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a single quote to text cells a spreadsheet would run as a formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'``. Numeric, boolean and date columns are left
    as they are, so negative numbers stay numbers. Text categories are
    neutralised once per category.

    Parameters
    ----------
    frame : pandas.DataFrame
        Not modified.

    Returns
    -------
    pandas.DataFrame
        A copy with the text cells neutralised.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"customer_id": ["=1+1", "@SUM(A1)", "C01"], "amount": [-5.0, 1.0, 2.0]})
    >>> neutralize_formulas(f)
      customer_id  amount
    0       '=1+1    -5.0
    1   '@SUM(A1)     1.0
    2         C01     2.0
    """
    return neutralise_frame(frame)


def _check_formats(format: str | Sequence[str]) -> list[str]:
    formats = [format] if isinstance(format, str) else list(format)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"The 'format' parameter of export must be one of {list(FORMATS)!r} or a list of "
            f"them. Got {format!r} instead."
        )
    return list(dict.fromkeys(formats))


@provide("export_analysis")
def export_analysis(
    analysis: Analysis, path: str | os.PathLike[str], *, format: str | Sequence[str] = "csv",
    timestamp: bool = True, report: bool = False,
) -> list[Path]:
    """Write every table as ``<table>.<ext>`` plus ``metadata.json`` into a folder, atomically.

    The files are written into a temporary folder and swapped into ``path``
    only when all of them are complete and flushed to disk: a failure (a
    writer error, a full disk, a table name taken by a folder) leaves the
    previous export in ``path`` as it was. Files of the previous export
    (those named in its ``metadata.json``) that this export does not write
    again are removed; other files in the folder are never touched. See
    ``docs/export.md`` ("Atomic export").

    Parameters
    ----------
    analysis : Analysis
    path : path-like
        Folder, created when missing.
    format : {"csv", "parquet", "json", "xlsx"} or a sequence of them, default "csv"
        CSV: UTF-8, a header row, ISO dates, formula-neutralised text in
        double quotes. Parquet: typed columns. JSON: a list of records per
        file (UTF-8, ISO dates, null for missing). XLSX: one workbook per
        table, formula-neutralised text.
    timestamp : bool, default True
        Record the time of the export in ``metadata.json`` (``created_utc``;
        the ``SOURCE_DATE_EPOCH`` environment variable fixes it). False
        writes null there: the same analysis then gives byte-identical files.
    report : bool, default False
        Also write ``report.html`` (:func:`rfm_loyalty.report.write_report`)
        as part of the same export.

    Returns
    -------
    list of pathlib.Path
        The files written (tables in :data:`SCHEMAS` order per format, then
        ``report.html`` when asked), ``metadata.json`` last.

    Raises
    ------
    ValueError
        An unknown format, or a malformed ``SOURCE_DATE_EPOCH``.
    OSError
        The folder cannot be written (``path`` is a file, a table's file name
        is taken by a folder, the disk is full, ...); nothing was changed.

    Examples
    --------
    >>> import tempfile
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> result = analyze(make_orders(50, random_state=1), n_bins=3)
    >>> files = export_analysis(result, tempfile.mkdtemp(), format="csv")
    >>> [f.name for f in files][:3], files[-1].name
    (['customers.csv', 'segments.csv', 'lifecycle.csv'], 'metadata.json')
    """
    formats = _check_formats(format)
    if not isinstance(timestamp, bool) or not isinstance(report, bool):
        raise ValueError(
            "The 'timestamp' and 'report' parameters of export must be True or False. Got "
            f"timestamp={timestamp!r}, report={report!r} instead."
        )
    created = created_utc(timestamp)  # a bad SOURCE_DATE_EPOCH fails before any work
    folder = Path(path)
    tables = arrow_tables(analysis)
    names = [f"{name}.{FORMATS[fmt]}" for fmt in formats for name in tables]
    if report:
        names.append("report.html")
    stage = StagedFolder(folder)
    try:
        stage.check([*names, METADATA])
        _write_tables(tables, formats, stage.path, created,
                      report=(analysis, timestamp) if report else None)
        meta = metadata(analysis, tables, names, timestamp=timestamp, created=created)
        text = json.dumps(meta, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        (stage.path / METADATA).write_text(text, encoding="utf-8")
        stage.commit([*names, METADATA])
    except BaseException:
        stage.discard()
        raise
    return [folder / name for name in [*names, METADATA]]


def _write_tables(tables: Mapping[str, pa.Table], formats: Sequence[str], folder: Path,
                  created: str | None, *, report: tuple[Analysis, bool] | None) -> None:
    """Write every table in every format into ``folder``, two files at a time.

    The Arrow writers release the GIL, so two threads keep both cores busy;
    the report (matplotlib, which is not thread-safe) is drawn meanwhile in
    this thread. The first failure is raised once the running writes end.
    """
    jobs = [(table, name, fmt) for fmt in formats for name, table in tables.items()]
    jobs.sort(key=lambda job: -job[0].nbytes)  # the big tables first, so both threads finish
    with ThreadPoolExecutor(max_workers=_WRITER_THREADS) as pool:
        futures = [pool.submit(write_table, table, name, folder / f"{name}.{FORMATS[fmt]}", fmt,
                               created=created) for table, name, fmt in jobs]
        try:
            if report is not None:
                from rfm_loyalty.report import report_html

                page = report_html(report[0], timestamp=report[1])
                (folder / "report.html").write_text(page, encoding="utf-8")
            for future in futures:
                future.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _export_file(path: str | os.PathLike[str], table: str, fmt: str) -> Path:
    file = Path(path) / f"{table}.{FORMATS[fmt]}"
    if not file.is_file():
        raise FileNotFoundError(
            f"No {table!r} table in {str(path)!r}: {file.name} is missing. The tables of an "
            "export are listed in its metadata.json ('files')."
        )
    return file


def _schema_arrow(table: pa.Table, name: str) -> pa.Table:
    """Keep the schema's columns found in ``table``, in schema order, cast to the schema types."""
    specs = [c for c in SCHEMAS[name].columns if c.name in table.column_names]
    columns = [table.column(c.name).cast(ARROW_TYPES[c.dtype]) for c in specs]
    return pa.Table.from_arrays(columns, names=[c.name for c in specs])


def _read_csv(file: Path, name: str) -> pa.Table:
    types = {c.name: ARROW_TYPES[c.dtype] for c in SCHEMAS[name].columns}
    convert = pa_csv.ConvertOptions(
        column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
        true_values=["True", "true", "TRUE"], false_values=["False", "false", "FALSE"],
        timestamp_parsers=[pa_csv.ISO8601],
    )
    return pa_csv.read_csv(file, convert_options=convert)


def read_export(path: str | os.PathLike[str], table: str, *, format: str = "csv") -> pd.DataFrame:
    """Read an exported table back with its schema's dtypes.

    Text cells are returned as written: a neutralised CSV/XLSX cell keeps
    its leading quote. Exports of earlier schema versions read too: the
    columns of the current schema found in the file are returned.

    Parameters
    ----------
    path : path-like
        The export folder.
    table : str
        A name in :data:`SCHEMAS`.
    format : {"csv", "parquet", "json", "xlsx"}, default "csv"

    Returns
    -------
    pandas.DataFrame
        Default index; the columns found in the file, in the schema's dtypes.

    Raises
    ------
    ValueError
        An unknown table or format.
    FileNotFoundError
        The folder has no such table in that format.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from rfm_loyalty.analysis import analyze
    >>> lines = pd.DataFrame({"customer_id": ["a", "=b", "=b"],
    ...                       "order_date": ["2024-06-20", "2024-01-05", "2024-06-25"],
    ...                       "amount": [10.0, 20.0, 15.0]})
    >>> folder = tempfile.mkdtemp()
    >>> files = export_analysis(analyze(lines, as_of="2024-06-30", n_bins=2), folder)
    >>> back = read_export(folder, "customers")
    >>> back[["customer_id", "last_purchase", "frequency", "churned"]]
      customer_id last_purchase  frequency  churned
    0         '=b    2024-06-25          2    False
    1           a    2024-06-20          1    False
    >>> back["last_purchase"].dtype, back["frequency"].dtype
    (dtype('<M8[ns]'), dtype('int64'))
    """
    if table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}; the tables are {list(SCHEMAS)!r}.")
    fmt = _check_formats(format)[0]
    file = _export_file(path, table, fmt)
    if fmt == "csv":
        return to_frame(_schema_arrow(_read_csv(file, table), table))
    if fmt == "parquet":
        return to_frame(_schema_arrow(pq.read_table(file), table))
    if fmt == "json":
        frame = pd.DataFrame(json.loads(file.read_text(encoding="utf-8")))
        if frame.empty:
            frame = pd.DataFrame(columns=[c.name for c in SCHEMAS[table].columns])
    else:
        frame = pd.read_excel(file, engine="openpyxl")
    return typed(frame, table)
