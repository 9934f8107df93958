"""Read order lines from files: the format from the name, ids as text, clear errors.

CSV/TSV files (optionally gzip-compressed; encoding and separator detected,
see ``delimited``), Excel workbooks (``.xlsx``, through openpyxl) and Parquet.
Only the named columns are read. Every failure of the file itself (empty, a
directory, gzip bytes under a ``.csv`` name, a truncated ``.gz``, an unknown
name ending, a workbook that is not one) raises ``SchemaError`` naming the
file and the fix. A missing column is named with a close match among the
columns of the right kind.
"""

from __future__ import annotations

import difflib
import re
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.delimited import (
    NUMERIC_ROLES,
    FileReading,
    check_header,
    decode_head,
    detect_encoding,
    detect_separator,
    head_bytes,
    read_csv_arrow,
    read_rows,
    sample_frame,
)
from rfm_loyalty.exceptions import SchemaError

if TYPE_CHECKING:
    from rfm_loyalty._ingest.options import OrderColumns, ReadOptions

#: File name endings ``read_file`` reads as delimited text (``.tsv``: tabs).
TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Reading options that only mean something for a file (not for a DataFrame).
FILE_ONLY_OPTIONS: tuple[str, ...] = ("encoding", "sep", "sheet_name")


def read_file(
    path: Path, options: ReadOptions
) -> tuple[pd.DataFrame, ReadOptions, FileReading]:
    """Read the columns named in ``options.columns`` from a CSV/TSV, Excel or Parquet file.

    Customer and order ids are read as text (never ``17850.0``); the format
    is told by the file name. Returns the frame, the options (with
    ``columns="auto"`` resolved against the header) and what was found while
    reading (encoding, separator, skipped lines).
    """
    if not path.exists():
        raise FileNotFoundError(f"No order file at {str(path)!r}.")
    if path.is_dir():
        raise SchemaError(
            f"{str(path)!r} is a directory, not an order file. Pass the path of a .csv, "
            ".xlsx or .parquet file (or read the folder's files yourself and concatenate them)."
        )
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        options = _resolve_auto(options, lambda: _parquet_names(path))
        return _read_parquet(path, options.order_columns), options, FileReading()
    if name.endswith(EXCEL_SUFFIXES):
        return _read_excel(path, options)
    if name.endswith(TEXT_SUFFIXES):
        return _read_text(path, options)
    if name.endswith(".xls"):
        raise SchemaError(
            f"{str(path)!r} is an old Excel .xls workbook, which rfm_loyalty does not read. "
            "Save it as .xlsx or as CSV (UTF-8) and read that file."
        )
    raise SchemaError(
        f"Cannot tell the format of {str(path)!r} from its name. Use a .csv, .csv.gz, "
        ".tsv, .xlsx or .parquet file, or read it yourself and pass the DataFrame."
    )


def _resolve_auto(options: ReadOptions, header: Callable[[], list[str]]) -> ReadOptions:
    """Resolve ``columns="auto"`` against the file's header names."""
    if options.columns != "auto":
        return options
    from rfm_loyalty._ingest.columns import infer_columns

    return options.with_columns(infer_columns(pd.Index(header())))


# ---------------------------------------------------------------------------
# text files
# ---------------------------------------------------------------------------


def _read_text(path: Path, options: ReadOptions) -> tuple[pd.DataFrame, ReadOptions, FileReading]:
    reading = FileReading()
    head, complete = head_bytes(path)
    encoding, how = detect_encoding(head, options.encoding, path)
    reading.encoding = encoding
    reading.readings["encoding"] = f"{encoding} ({how})"
    text = decode_head(head, encoding, complete, path)
    if not text.strip():
        raise SchemaError(f"{str(path)!r} holds no text: there is no header and no order line.")
    if options.sep is not None:
        sep = options.sep
    elif ".tsv" in path.name.lower():
        sep = "\t"
    else:
        sep = detect_separator(text, complete)
        reading.readings["separator"] = f"{sep!r} (detected from the first lines)"
    header = read_rows(text, sep, 1)[0]
    check_header(header, sep, path)
    options = _resolve_auto(options, lambda: header)
    cols = options.order_columns
    check_columns_exist(header, cols, sample=lambda: sample_frame(text, sep, header))
    twice = sorted({c for c in cols.used().values() if header.count(c) > 1})
    if twice:
        raise SchemaError(
            f"The header of {str(path)!r} names the column(s) {twice!r} more than once; "
            "rename them so that each role has one column."
        )
    frame = read_csv_arrow(path, encoding, sep, options, reading)
    if len(frame) == 0 and reading.bad_lines == 0:
        raise SchemaError(
            f"{str(path)!r} holds a header but no order line; there is nothing to analyse."
        )
    return frame, options, reading


# ---------------------------------------------------------------------------
# Excel and Parquet
# ---------------------------------------------------------------------------


def _read_excel(path: Path, options: ReadOptions) -> tuple[pd.DataFrame, ReadOptions, FileReading]:
    try:
        import openpyxl  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "Reading Excel files needs openpyxl: pip install 'rfm-loyalty[excel]' "
            "(or save the sheet as CSV)."
        ) from exc
    if not zipfile.is_zipfile(path):
        raise SchemaError(
            f"{str(path)!r} is not an Excel .xlsx workbook (it is not a zip archive). If it "
            "is a CSV file, rename it to .csv; an old .xls workbook must be saved as .xlsx."
        )
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SchemaError(f"{str(path)!r} cannot be read as an Excel workbook: {exc}") from exc
    with book:
        sheets = [str(s) for s in book.sheet_names]
        sheet = 0 if options.sheet_name is None else options.sheet_name
        if (isinstance(sheet, str) and sheet not in sheets) or (
            isinstance(sheet, int) and sheet >= len(sheets)
        ):
            raise SchemaError(
                f"{str(path)!r} has no sheet {sheet!r}; its sheets are {sheets!r}. Pass "
                "sheet_name= with one of them (or its 0-based position)."
            )
        header = [str(c) for c in pd.read_excel(book, sheet_name=sheet, nrows=0).columns]
        label = sheets[sheet] if isinstance(sheet, int) else sheet
        if not header:
            raise SchemaError(f"Sheet {label!r} of {str(path)!r} is empty: no header, no line.")
        options = _resolve_auto(options, lambda: header)
        cols = options.order_columns
        check_columns_exist(
            header, cols,
            sample=lambda: pd.read_excel(book, sheet_name=sheet, nrows=200, dtype=object))
        used = list(dict.fromkeys(cols.used().values()))
        text_roles = ("customer", "order_id", "status", "product", "category", "channel")
        as_text = {getattr(cols, r): str for r in text_roles if getattr(cols, r) is not None}
        frame = pd.read_excel(book, sheet_name=sheet, usecols=used, dtype=as_text,
                              keep_default_na=False, na_values=[""])
    if len(frame) == 0:
        raise SchemaError(
            f"Sheet {label!r} of {str(path)!r} holds a header but no order line."
        )
    first = {"sheet": f"{label!r} (the first sheet)"}
    reading = FileReading(readings=first if options.sheet_name is None else {})
    return frame, options, reading


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _read_parquet(path: Path, cols: OrderColumns) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise SchemaError(f"{str(path)!r} cannot be read as a Parquet file: {exc}") from exc
    check_columns_exist(names, cols)
    data = pd.read_parquet(path, columns=list(cols.used().values()))
    # Arrow keeps the file's decoded buffers in its memory pool after the
    # conversion to pandas; hand them back before the heavy work starts.
    pa.default_memory_pool().release_unused()
    return data


# ---------------------------------------------------------------------------
# columns
# ---------------------------------------------------------------------------


def check_columns_exist(
    available: Iterable[object],
    cols: OrderColumns,
    sample: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
) -> None:
    """Raise ``SchemaError`` naming the missing column, the columns found and a fix.

    The close-match suggestion is taken only among columns of the right kind
    (numbers for an amount, dates for the date), judged on ``sample`` (a few
    rows, or a function returning them, called only when a column is
    missing); a missing amount next to quantity and unit-price columns
    suggests ``quantity=`` and ``unit_price=``.
    """
    present = [str(c) for c in available]
    missing = [(role, name) for role, name in cols.used().items() if name not in present]
    if not missing:
        return
    role, name = missing[0]
    rows = sample() if callable(sample) else sample
    hint = ""
    if role == "amount":
        qty = _named_like(present, _QUANTITY_NAMES)
        price = _named_like(present, _PRICE_NAMES)
        if qty is not None and price is not None:
            hint = (
                f" {qty!r} and {price!r} look like a quantity and a unit price: give quantity= "
                f"and unit_price= to compute the amount, e.g. OrderColumns(..., quantity={qty!r}, "
                f"unit_price={price!r})."
            )
    if not hint:
        taken = set(cols.used().values())
        candidates = [p for p in present if p not in taken and _fits(role, p, rows)]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
        if not close:
            lowered = {p.lower(): p for p in candidates}
            close = [lowered[name.lower()]] if name.lower() in lowered else []
        hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SchemaError(
        f"Column {name!r} (the {role} column) is not in the input. "
        f"Columns found: {present!r}.{hint}"
    )


_QUANTITY_NAMES = ("quantity", "qty", "数量", "件数")
_PRICE_NAMES = ("unitprice", "price", "单价", "价格")
_DATE_LIKE = re.compile(r"\d{1,4}\s*[-/.年]\s*\d{1,2}|^\d{8}")


def _named_like(names: list[str], words: tuple[str, ...]) -> str | None:
    for name in names:
        key = re.sub(r"[\s_\-.]", "", name.lower())
        if any(w in key for w in words) and "list" not in key and "total" not in key:
            return name
    return None


def _fits(role: str, column: str, rows: pd.DataFrame | None) -> bool:
    """Whether a column's values could be those of a role (True without values to judge)."""
    if rows is None or column not in rows.columns or role not in (*NUMERIC_ROLES, "date"):
        return True
    values = rows[column]
    if isinstance(values, pd.DataFrame):  # duplicated name
        return True
    values = values.dropna()
    if len(values) == 0:
        return True
    if role == "date":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return True
        text = values.astype(str)
        return bool(text.str.contains(_DATE_LIKE).mean() >= 0.8)
    if pd.api.types.is_bool_dtype(values.dtype):
        return False
    if pd.api.types.is_numeric_dtype(values.dtype):
        return True
    from rfm_loyalty._ingest.numbers import parse_numbers

    try:
        parsed = parse_numbers(values.reset_index(drop=True), column)
    except SchemaError:
        return False
    return bool(np.mean(~parsed.bad) >= 0.8)
