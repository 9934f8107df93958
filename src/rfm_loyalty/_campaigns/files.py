"""Campaign files: the send list, the assignment file, atomic writes, reading back.

CSV and XLSX text cells that a spreadsheet would run as a formula are
neutralised with :func:`rfm_loyalty.export.neutralize_formulas` (a leading
``'``). The assignment file must give back its ids exactly, so that they
match the orders; before neutralising, its text cells that already start
with ``'`` get one more, and reading removes one quote wherever it is
followed by a formula character or another quote: ``=x`` is written ``'=x``,
``'x`` is written ``''x``, and both read back as they were.
JSON is written as it is (no spreadsheet opens it). Every file is written to
a temporary file beside the target and moved over it with ``os.replace``, so
a failed write leaves the old file (or none), never half a file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.export import neutralize_formulas

FILE_FORMATS = {"csv": ".csv", "xlsx": ".xlsx", "json": ".json"}
ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")
_TEXT = pd.Series(["x"]).dtype  # object on pandas 2.2, str on pandas 3
_PANDAS_2 = int(pd.__version__.split(".")[0]) < 3
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Columns of the assignment file: (name, dtype, meaning, when).
ASSIGNMENT_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("campaign", "text", "campaign name (the key of the draws)", "always"),
    ("campaign_date", "datetime", "campaign date (the contact rule's reference day)", "always"),
    ("customer_id", "text", "customer id", "always"),
    ("group", "text", "treatment or control", "always"),
    ("lifecycle", "text", "lifecycle label at selection", "always"),
    ("segment", "text", "RFM segment at selection", "always"),
    ("stratum", "text", "lifecycle / segment", "always"),
    ("draw", "float64", "the customer's assignment draw in [0, 1)", "always"),
    ("channel", "text", "channel of the campaign", "always"),
    ("contact_cost", "float64", "cost of contacting the customer (0 for control)", "always"),
    ("recency_days", "int64", "days since the last purchase at selection", "always"),
    ("frequency", "int64", "purchases at selection", "always"),
    ("monetary_total", "float64", "net revenue at selection", "always"),
    ("tier", "text", "profit tier at selection", "profit"),
    ("p_alive", "float64", "BG/NBD probability alive at selection", "models"),
    ("expected_purchases", "float64", "expected purchases at selection", "models"),
    ("clv", "float64", "customer lifetime value at selection", "models"),
)
_REQUIRED = ("campaign", "campaign_date", "customer_id", "group")


def file_format(path: Path, format: str | None, *, owner: str) -> str:
    """Return the format of ``path``: the one given, or the one of its suffix."""
    if format is None:
        by_suffix = {suffix: fmt for fmt, suffix in FILE_FORMATS.items()}
        found = by_suffix.get(path.suffix.lower())
        if found is None:
            raise InvalidParameterError(
                f"{owner} cannot tell the format of {str(path)!r} from its suffix; name the "
                f"file .csv, .xlsx or .json or pass format= one of {list(FILE_FORMATS)!r}."
            )
        return found
    if format not in FILE_FORMATS:
        raise InvalidParameterError(
            f"The 'format' parameter of {owner} must be one of {list(FILE_FORMATS)!r}. "
            f"Got {format!r} instead."
        )
    return format


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file beside ``path``, then move it over ``path``."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                suffix=f".tmp{path.suffix}")
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
        os.chmod(temporary, mode)  # mkstemp makes files only the owner can read
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return records with ISO dates, None for missing values and plain Python numbers."""
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            listed: list[Any] = [None if pd.isna(v) else v.isoformat() for v in values]
        else:
            listed = [_plain(v) for v in values.astype(object).tolist()]
        columns[str(name)] = listed
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return value


def text_cells(values: pd.Series) -> pd.Series | None:
    """Return the mask of a column's text cells, or None for a column that holds no text.

    A string column, or an object column whose values are all text (one scan in
    C), needs no per-cell type check; only a mixed object column gets one.
    """
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.notna()
    if values.dtype != object:
        return None
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values.notna()
    if kind.startswith("mixed") or kind == "bytes":
        return values.map(lambda v: isinstance(v, str)).astype(bool)
    return None


def _map_text(frame: pd.DataFrame, change: Any) -> pd.DataFrame:
    """Apply ``change(text: Series of str) -> (mask, new)`` to the text cells of every column."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        is_text = text_cells(values)
        if is_text is None or not is_text.any():
            continue
        cells = values.astype(object)
        flat = cells.where(is_text, "").astype(str)
        mask, new = change(flat)
        mask = mask & is_text
        if mask.any():
            out[column] = cells.where(~mask, new).astype(values.dtype)
    return out


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return :func:`~rfm_loyalty.export.neutralize_formulas` of the frame, column by column.

    Only the columns with a cell to neutralise (found with one vectorised test
    per column) go through it; the result is the same, without its per-cell
    work on the columns that need none.
    """
    risky = []
    for column in frame.columns:
        is_text = text_cells(frame[column])
        if is_text is not None and is_text.any():
            flat = frame[column].astype(object).where(is_text, "").astype(str)
            if (flat.str[:1].isin(_FORMULA_START) & is_text).any():
                risky.append(column)
    if not risky:
        return frame
    out = frame.copy()
    out[risky] = neutralize_formulas(frame[risky])
    return out


def escape_quotes(frame: pd.DataFrame) -> pd.DataFrame:
    """Double the leading quote of text cells that start with one."""
    return _map_text(frame, lambda t: (t.str[:1] == "'", "'" + t))


def restore_text(frame: pd.DataFrame, *, escaped: bool) -> pd.DataFrame:
    """Remove the quote the writer put before a formula character (or before a quote).

    ``escaped=False`` undoes :func:`~rfm_loyalty.export.neutralize_formulas`
    alone (the analysis export); ``escaped=True`` also undoes
    :func:`escape_quotes` (the assignment file).
    """
    # XLSX (XML) gives back a neutralised carriage return as a line feed
    after = _FORMULA_START + (("'", "\n") if escaped else ())
    # one-character tests: str.startswith with a tuple goes cell by cell on pandas 3
    return _map_text(frame, lambda t: ((t.str[:1] == "'") & t.str[1:2].isin(after), t.str[1:]))


def write_frame(frame: pd.DataFrame, path: Path, fmt: str, encoding: str, *,
                escaped: bool = False) -> Path:
    """Write one table atomically as CSV (``encoding``), XLSX or JSON (UTF-8).

    ``escaped=True`` (the assignment file) doubles leading quotes before the
    formula neutralisation, so that :func:`read_table` restores every cell.
    """
    if escaped and fmt != "json":
        frame = escape_quotes(frame)
    if fmt == "csv":
        safe = spreadsheet_safe(frame)

        def csv(target: Path) -> None:
            # CRLF line ends (RFC 4180, what Excel writes) also make the csv writer quote
            # a cell holding a bare carriage return, which readers take for a line end
            safe.to_csv(target, index=False, encoding=encoding, lineterminator="\r\n")

        return atomic_write(path, csv)
    if fmt == "xlsx":
        safe = spreadsheet_safe(frame)
        return atomic_write(path, lambda t: safe.to_excel(t, index=False, engine="openpyxl"))
    text = json.dumps(json_records(frame), ensure_ascii=False, allow_nan=False, indent=1)
    return atomic_write(path, lambda t: _write_text(t, text))


def _write_text(target: Path, text: str) -> None:
    target.write_text(text + "\n", encoding="utf-8")


def write_json(record: dict[str, Any], path: Path) -> Path:
    """Write a JSON document atomically (UTF-8)."""
    text = json.dumps(record, ensure_ascii=False, indent=2, default=_json_default)
    return atomic_write(path, lambda t: _write_text(t, text))


def _json_default(value: Any) -> Any:
    if isinstance(value, (pd.Timestamp, _dt.date)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def as_text(values: pd.Series | pd.Index) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Return the values in the text dtype of the pandas in use, converting only if needed."""
    series = pd.Series(values.to_numpy() if isinstance(values, pd.Index) else values.array,
                       copy=False)
    if series.dtype == _TEXT:
        return series.array
    return series.astype(_TEXT).array


def constant_text(value: str, n: int) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Return ``n`` times the same text, in the text dtype (one value, repeated)."""
    return pd.Series([value]).astype(_TEXT).repeat(n).array


def coerce(values: pd.Series, dtype: str) -> pd.Series:
    """Convert a column read from a file to its dtype."""
    if dtype == "text":
        is_text = text_cells(values)
        if is_text is not None and bool((is_text | values.isna()).all()):
            return values.fillna("").astype(_TEXT)
        return values.astype(object).where(values.notna(), "").map(str).astype(_TEXT)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        values = values.where(values != "", None)  # an empty cell of a file is missing
    if dtype == "datetime":
        return pd.to_datetime(values).astype("datetime64[ns]")
    if dtype == "int64":
        return pd.to_numeric(values).astype("int64")
    return pd.to_numeric(values).astype("float64")


def read_table(path: Path, fmt: str, *, escaped: bool) -> pd.DataFrame:
    """Read an assignment table (CSV: UTF-8 with or without BOM, else GB18030).

    CSV numbers are parsed by the reader, exactly (pandas 3's default; pandas 2
    needs ``float_precision="round_trip"``); every other column is read as text.
    """
    if fmt == "csv":
        numeric = {name: dtype for name, dtype, _, _ in ASSIGNMENT_COLUMNS
                   if dtype in ("int64", "float64")}
        options: dict[str, Any] = {
            "dtype": defaultdict(lambda: str, numeric), "keep_default_na": False,
            "na_values": {name: [""] for name in numeric},
        }
        if _PANDAS_2:
            options["float_precision"] = "round_trip"
        try:
            frame = pd.read_csv(path, encoding="utf-8-sig", **options)
        except UnicodeDecodeError:
            frame = pd.read_csv(path, encoding="gb18030", **options)
    elif fmt == "xlsx":
        frame = pd.read_excel(path, engine="openpyxl", dtype={"customer_id": str})
    else:
        frame = pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    return restore_text(frame, escaped=escaped) if fmt != "json" else frame


def typed_assignment(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Return the assignment columns found, in order and dtype; check the required ones."""
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{source} is not an assignment file: it lacks the columns {missing!r} "
            f"(found {[str(c) for c in frame.columns]!r}). Write one with "
            "Audience.export() or Audience.write_assignments()."
        )
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for name, dtype, _, _ in ASSIGNMENT_COLUMNS:
        if name in frame.columns:
            out[name] = coerce(frame[name].reset_index(drop=True), dtype)
    bad = sorted(set(out["group"]) - {"treatment", "control"})
    if bad:
        raise SchemaError(
            f"The group column of {source} must hold 'treatment' or 'control'. "
            f"Found {bad[:3]!r}."
        )
    return out


def read_assignment(path: Path, format: str | None, *, owner: str) -> pd.DataFrame:
    """Read and type an assignment file."""
    fmt = file_format(path, format, owner=owner)
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: no assignment file at {str(path)!r}.")
    return typed_assignment(read_table(path, fmt, escaped=True), source=str(path))
