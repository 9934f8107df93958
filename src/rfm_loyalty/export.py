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
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._export_tables import campaign_table, export_tables, metadata
from rfm_loyalty._schemas import SCHEMA_VERSION, SCHEMAS, Column, TableSchema, typed
from rfm_loyalty._sql_export import read_sql, write_sql
from rfm_loyalty._views import provide

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

#: File formats of :func:`export_analysis`, with their file extension.
FORMATS: Mapping[str, str] = MappingProxyType(
    {"csv": "csv", "parquet": "parquet", "json": "json", "xlsx": "xlsx"}
)
# Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
        description and a column table (column, dtype, when, meaning).

    Examples
    --------
    >>> for line in schema_markdown().splitlines()[:9]:
    ...     print(line)
    Schema set version: **1**
    <BLANKLINE>
    ### `customers` (schema version 1)
    <BLANKLINE>
    One row per customer with a purchase: every score and label.
    <BLANKLINE>
    | column | dtype | when | meaning |
    |---|---|---|---|
    | `customer_id` | text | always | customer id |
    """
    parts = [f"Schema set version: **{SCHEMA_VERSION}**\n"]
    for t in SCHEMAS.values():
        when = "" if t.when == "always" else f" Written only with {_WHEN_TEXT[t.when]}."
        parts.append(f"### `{t.name}` (schema version {t.version})\n\n{t.description}{when}\n")
        parts.append("| column | dtype | when | meaning |\n|---|---|---|---|")
        parts += [f"| `{c.name}` | {c.dtype} | {c.when} | {c.meaning} |" for c in t.columns]
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
    as they are, so negative numbers stay numbers.

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
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            text = values.astype(object)
            is_text = text.map(lambda v: isinstance(v, str)).astype(bool)
            risky = is_text & text.where(is_text, "").astype(str).str.startswith(_FORMULA_START)
            if risky.any():
                quoted = text.where(~risky, "'" + text.where(risky, "").astype(str))
                out[column] = quoted.astype(values.dtype)
    return out


def _check_formats(format: str | Sequence[str]) -> list[str]:
    formats = [format] if isinstance(format, str) else list(format)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"The 'format' parameter of export must be one of {list(FORMATS)!r} or a list of "
            f"them. Got {format!r} instead."
        )
    return list(dict.fromkeys(formats))


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        neutralize_formulas(frame).to_csv(path, index=False, encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "json":
        records = _json_records(frame)
        path.write_text(json.dumps(records, ensure_ascii=False, allow_nan=False) + "\n",
                        encoding="utf-8")
    else:
        neutralize_formulas(frame).to_excel(path, index=False, engine="openpyxl")


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            listed: list[Any] = [None if pd.isna(v) else v.isoformat() for v in values]
        else:
            listed = values.astype(object).where(values.notna(), None).tolist()
        # numpy scalars -> Python, NaN -> None (JSON has no NaN)
        columns[str(name)] = [_plain(v) for v in listed]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value



@provide("export_analysis")
def export_analysis(
    analysis: Analysis, path: str | os.PathLike[str], *, format: str | Sequence[str] = "csv"
) -> list[Path]:
    """Write every table as ``<table>.<ext>`` plus ``metadata.json`` into a folder.

    Parameters
    ----------
    analysis : Analysis
    path : path-like
        Folder, created when missing. Existing files of the same names are
        overwritten.
    format : {"csv", "parquet", "json", "xlsx"} or a sequence of them, default "csv"
        CSV: UTF-8, a header row, ISO dates, formula-neutralised text.
        Parquet: typed columns. JSON: a list of records per file (UTF-8,
        ISO dates, null for missing). XLSX: one workbook per table,
        formula-neutralised text.

    Returns
    -------
    list of pathlib.Path
        The files written, ``metadata.json`` last.

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
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tables = export_tables(analysis)
    written: list[Path] = []
    for fmt in formats:
        for name, frame in tables.items():
            target = folder / f"{name}.{FORMATS[fmt]}"
            _write(frame, target, fmt)
            written.append(target)
    meta = metadata(analysis, tables, [p.name for p in written])
    meta_path = folder / "metadata.json"
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written.append(meta_path)
    return written


def read_export(path: str | os.PathLike[str], table: str, *, format: str = "csv") -> pd.DataFrame:
    """Read an exported table back with its schema's dtypes.

    Text cells are returned as written: a neutralised CSV/XLSX cell keeps
    its leading quote.

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
    file = Path(path) / f"{table}.{FORMATS[fmt]}"
    if fmt == "csv":
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
        frame = frame.replace({"": None}) if len(frame) else frame
    elif fmt == "parquet":
        frame = pd.read_parquet(file)
    elif fmt == "json":
        frame = pd.DataFrame(json.loads(file.read_text(encoding="utf-8")))
        if frame.empty:
            frame = pd.DataFrame(columns=[c.name for c in SCHEMAS[table].columns])
    else:
        frame = pd.read_excel(file, engine="openpyxl")
    return typed(frame, table)

