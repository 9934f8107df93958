"""Read order lines from files: only the named columns, ids as text, clear errors."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from rfm_loyalty.exceptions import SchemaError

if TYPE_CHECKING:
    from rfm_loyalty._ingest.options import OrderColumns, ReadOptions

#: File name endings ``read_file`` reads as delimited text (``.tsv``: tabs).
TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: Reading options that only mean something for a file (not for a DataFrame).
FILE_ONLY_OPTIONS: tuple[str, ...] = ("encoding", "sep", "sheet_name")


def read_file(
    path: Path, options: ReadOptions
) -> tuple[pd.DataFrame, ReadOptions, dict[str, str]]:
    """Read the columns named in ``options.columns`` from a CSV/TSV or Parquet file.

    Customer and order ids are read as text from CSV (never ``17850.0``);
    the format is told by the file name. Returns the frame, the options
    (with ``columns="auto"`` resolved against the header) and what was
    detected while reading (``QualityReport.readings``).
    """
    if not path.exists():
        raise FileNotFoundError(f"No order file at {str(path)!r}.")
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        options = _resolve_auto(options, lambda: _parquet_names(path))
        return _read_parquet(path, options.order_columns), options, {}
    if name.endswith(TEXT_SUFFIXES):
        sep = "\t" if ".tsv" in name else ","
        header = pd.read_csv(path, nrows=0, sep=sep).columns
        options = _resolve_auto(options, lambda: list(header))
        cols = options.order_columns
        check_columns_exist(header, cols)
        as_text = {c: str for c in (cols.customer, cols.order_id) if c is not None}
        frame = pd.read_csv(path, usecols=list(cols.used().values()), dtype=as_text, sep=sep)
        return frame, options, {}
    raise SchemaError(
        f"Cannot tell the format of {str(path)!r} from its name. Use a .csv, .csv.gz, "
        ".tsv or .parquet file, or read it yourself and pass the DataFrame."
    )


def check_columns_exist(available: Iterable[object], cols: OrderColumns) -> None:
    """Raise ``SchemaError`` naming the missing column, the columns found and the closest one."""
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


def _resolve_auto(options: ReadOptions, header: Callable[[], list[str]]) -> ReadOptions:
    """Resolve ``columns="auto"`` against the file's header names."""
    if options.columns != "auto":
        return options
    from rfm_loyalty._ingest.columns import infer_columns

    return options.with_columns(infer_columns(pd.Index(header())))


def _parquet_names(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _read_parquet(path: Path, cols: OrderColumns) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Reading Parquet needs pyarrow: pip install 'rfm-loyalty[parquet]'."
        ) from exc
    check_columns_exist(pq.read_schema(path).names, cols)
    data = pd.read_parquet(path, columns=list(cols.used().values()))
    # Arrow keeps the file's decoded buffers in its memory pool after the
    # conversion to pandas; hand them back before the heavy work starts.
    pa.default_memory_pool().release_unused()
    return data
