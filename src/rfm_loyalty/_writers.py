"""Write one exported table as CSV, Parquet, JSON or XLSX, from its Arrow table.

Every writer starts from the Arrow table of the schema
(:func:`rfm_loyalty._schemas.to_arrow`), so the formats share one set of
columns and types. Output is deterministic: the same table gives the same
bytes (no timestamp unless given, no dict or set order, floats in the
shortest form that reads back to the same float64). Each file is flushed to
disk before the writer returns, so that a full disk is noticed while the
export is still in its temporary folder. The public names are re-exported by
:mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from rfm_loyalty._schemas import SCHEMAS, plain, to_frame

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RISKY = r"^[=+\-@\t\r]"
# the creation and modification dates of a workbook's core properties
_W3CDTF = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


# --------------------------------------------------------------------------- #
# formula neutralisation
# --------------------------------------------------------------------------- #
def neutralise(array: Any) -> Any:
    """Prefix ``'`` to the text values of an Arrow array that start a formula.

    Dictionary-encoded text is neutralised once per distinct value.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        return pa.DictionaryArray.from_arrays(array.indices, neutralise(array.dictionary))
    risky = pc.match_substring_regex(array, _RISKY)
    if not pc.any(risky).as_py():
        return array
    return pc.if_else(risky, pc.binary_join_element_wise("'", array, ""), array)


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells that start a formula carry a leading quote."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            categories = values.cat.categories
            if pd.api.types.infer_dtype(categories, skipna=True) != "string":
                continue
            quoted = pd.Index(_quote_cells(pd.Series(categories, dtype=object)))
            if quoted.is_unique:  # once per category
                out[column] = values.cat.rename_categories(quoted)
            else:  # "=a" beside "'=a": the quoted names clash, so plain text cells
                out[column] = _quote_cells(values.astype(object))
        elif pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            out[column] = _quote_cells(values)
    return out


def _quote_cells(values: pd.Series) -> pd.Series:
    """Neutralise the text cells of one column (other objects and missing cells untouched)."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "string":
        is_text = None
    elif kind.startswith("mixed"):  # text among other objects: only the text cells
        is_text = np.fromiter((isinstance(v, str) for v in values), bool, len(values))
    else:
        return values
    text = values if is_text is None else values[is_text]
    array = pa.array(text.astype(object), type=pa.string(), from_pandas=True)
    quoted = neutralise(array)
    if quoted is array:
        return values
    new = pd.Series(quoted.to_numpy(zero_copy_only=False), index=text.index, dtype=object)
    if is_text is None:
        return new.where(values.notna(), values).astype(values.dtype)
    out = values.copy()
    out[is_text] = new
    return out


# --------------------------------------------------------------------------- #
# writers
# --------------------------------------------------------------------------- #
def _csv_table(table: pa.Table, name: str) -> pa.Table:
    """Return the table as the CSV shows it: neutralised text, True/False, ISO dates."""
    dtypes = {c.name: c.dtype for c in SCHEMAS[name].columns}
    columns = []
    for column_name, column in zip(table.column_names, table.columns, strict=True):
        dtype = dtypes[column_name]
        if dtype == "text":
            column = neutralise(column)
        elif dtype == "bool":
            column = pc.if_else(column, "True", "False")
        elif dtype == "datetime":
            column = _csv_dates(column)
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _csv_dates(column: Any) -> Any:
    """Dates as ``2024-08-04``; with the time (``2024-08-04 13:05:00``) when one is not midnight."""
    valid = column.drop_null()
    if len(valid) == 0 or pc.all(pc.equal(pc.floor_temporal(valid, unit="day"), valid)).as_py():
        return column.cast(pa.date32())
    if pc.all(pc.equal(pc.floor_temporal(valid, unit="second"), valid)).as_py():
        return column.cast(pa.timestamp("s"))
    return column


def write_csv(table: pa.Table, name: str, path: Path) -> None:
    """Write UTF-8 CSV: a header row, comma separator, LF line ends, text in double quotes."""
    pa_csv.write_csv(_csv_table(table, name), str(path))


def write_parquet(table: pa.Table, name: str, path: Path) -> None:
    """Write typed columns; the table name and schema version go in the key-value metadata.

    Text that was categorical is handed to Parquet dictionary-encoded (as
    Parquet stores it anyway); the Arrow schema is not stored, so every
    reader sees plain UTF-8 text columns of the schema's types.
    """
    meta = {b"rfm_loyalty.table": name.encode(),
            b"rfm_loyalty.schema_version": str(SCHEMAS[name].version).encode()}
    with pq.ParquetWriter(str(path), table.schema, store_schema=False) as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(meta)


def write_json(table: pa.Table, name: str, path: Path) -> None:
    """Write a list of records: ISO 8601 dates, null for missing or non-finite numbers."""
    lists: dict[str, list[Any]] = {}
    for column_name, column in zip(table.column_names, plain(table).columns, strict=True):
        if pa.types.is_timestamp(column.type):
            whole = _csv_dates(column)
            if pa.types.is_timestamp(whole.type) and whole.type.unit == "ns":
                lists[column_name] = [None if v is None else v.isoformat()
                                      for v in column.to_pylist()]
                continue
            column = pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        elif pa.types.is_floating(column.type):
            column = pc.if_else(pc.is_finite(column), column, pa.scalar(None, pa.float64()))
        lists[column_name] = column.to_pylist()
    names = list(lists)
    records = [dict(zip(names, row, strict=True)) for row in zip(*lists.values(), strict=True)]
    text = json.dumps(records, ensure_ascii=False, allow_nan=False) + "\n"
    path.write_text(text, encoding="utf-8")


def write_xlsx(table: pa.Table, name: str, path: Path, *, created: str | None = None) -> None:
    """Write one workbook (first sheet, neutralised text), its clock fixed by ``created``."""
    frame = neutralise_frame(to_frame(table))
    moment = (_dt.datetime.fromisoformat(created).replace(tzinfo=None) if created
              else _dt.datetime(1980, 1, 1))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False)
        writer.book.properties.created = moment
        writer.book.properties.modified = moment
    path.write_bytes(_fixed_zip(buffer.getvalue(), moment))


def _fixed_zip(data: bytes, moment: _dt.datetime) -> bytes:
    """Rewrite a workbook with every date in it set to ``moment``.

    openpyxl stamps the time of saving into ``docProps/core.xml`` and every
    zip entry; both are replaced, so the same table gives the same bytes.
    """
    stamp = max(moment, _dt.datetime(1980, 1, 1)).timetuple()[:6]
    iso = moment.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _W3CDTF.sub(rb"\g<1>" + iso + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, content)
    return out.getvalue()


#: Writer of each format: (table, table name, file path) -> None.
WRITERS: dict[str, Callable[..., None]] = {
    "csv": write_csv, "parquet": write_parquet, "json": write_json, "xlsx": write_xlsx,
}


def write_table(table: pa.Table, name: str, path: Path, fmt: str, *,
                created: str | None = None) -> None:
    """Write ``table`` to ``path`` in format ``fmt`` (``created`` dates an XLSX workbook)."""
    if fmt == "xlsx":
        write_xlsx(table, name, path, created=created)
    else:
        WRITERS[fmt](table, name, path)


def sync_file(path: Path) -> None:
    """Flush a written file to disk (so that a full disk fails here, not later)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
