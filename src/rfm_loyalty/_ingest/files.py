"""Read order lines from files: encodings, separators, Excel, ids as text, clear errors.

A text file (CSV/TSV, optionally gzip-compressed) is read in two steps. First
its head (the first ``HEAD_BYTES`` bytes, decompressed) settles what the
caller left open:

* the **encoding**: a byte-order mark (UTF-8, UTF-16, UTF-32) decides; else
  the head is decoded strictly as UTF-8, and if that fails as GB18030 (which
  reads GBK and GB2312, what Chinese Excel saves). ``encoding=`` overrides;
* the **separator**: comma, semicolon, tab or pipe, the one that splits the
  header into the most columns and the next lines into as many (``.tsv``:
  tab). ``sep=`` overrides.

Then only the named columns are read, by Arrow's CSV reader. A line whose
number of fields differs from the header's is skipped and counted
(``bad_line``), never shifted into the wrong columns. Every failure of the
file itself (empty, a directory, gzip bytes under a ``.csv`` name, a
truncated ``.gz``, bytes the encoding cannot decode) raises ``SchemaError``
naming the file and the fix.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import difflib
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.options import SEPARATORS
from rfm_loyalty.exceptions import SchemaError

if TYPE_CHECKING:
    from rfm_loyalty._ingest.options import OrderColumns, ReadOptions

#: File name endings ``read_file`` reads as delimited text (``.tsv``: tabs).
TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Reading options that only mean something for a file (not for a DataFrame).
FILE_ONLY_OPTIONS: tuple[str, ...] = ("encoding", "sep", "sheet_name")
#: Bytes of a text file (after decompression) that detection reads.
HEAD_BYTES = 1 << 16
#: Lines of the head that the separator must split consistently.
_SEPARATOR_LINES = 20
#: Roles read as text (never as numbers or dates by the CSV reader).
_TEXT_ROLES = ("customer", "order_id", "date", "status", "product", "category", "channel")
#: Roles that hold numbers.
NUMERIC_ROLES = ("amount", "cost", "quantity", "unit_price", "list_price", "discount")
_BAD_LINE_EXAMPLES = 3


@dataclasses.dataclass
class FileReading:
    """What reading a file found out, beyond the frame (for the quality report)."""

    #: decisions the reader took (``QualityReport.readings``)
    readings: dict[str, str] = dataclasses.field(default_factory=dict)
    #: the text encoding used (``QualityReport.encoding``), None for binary formats
    encoding: str | None = None
    #: lines skipped because their field count differs from the header's
    bad_lines: int = 0
    #: examples of those lines (``bad_line`` note of the warning)
    note: str = ""


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
    head, complete = _head_bytes(path)
    encoding, how = detect_encoding(head, options.encoding, path)
    reading.encoding = encoding
    reading.readings["encoding"] = f"{encoding} ({how})"
    text = _decode_head(head, encoding, complete, path)
    if not text.strip():
        raise SchemaError(f"{str(path)!r} holds no text: there is no header and no order line.")
    if options.sep is not None:
        sep = options.sep
    elif ".tsv" in path.name.lower():
        sep = "\t"
    else:
        sep = detect_separator(text, complete)
        reading.readings["separator"] = f"{sep!r} (detected from the first lines)"
    header = _rows(text, sep, 1)[0]
    _check_header(header, sep, path)
    options = _resolve_auto(options, lambda: header)
    cols = options.order_columns
    check_columns_exist(header, cols, sample=lambda: _sample_frame(text, sep, header))
    frame = _read_csv_arrow(path, encoding, sep, options, reading, quoted=complete and '"' in text)
    if len(frame) == 0 and reading.bad_lines == 0:
        raise SchemaError(
            f"{str(path)!r} holds a header but no order line; there is nothing to analyse."
        )
    return frame, options, reading


def _head_bytes(path: Path) -> tuple[bytes, bool]:
    """Return the first ``HEAD_BYTES`` bytes (decompressed for ``.gz``) and whether that is all."""
    compressed = path.name.lower().endswith(".gz")
    try:
        if compressed:
            with gzip.open(path, "rb") as stream:
                head = stream.read(HEAD_BYTES + 1)
        else:
            with open(path, "rb") as stream:
                head = stream.read(HEAD_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise SchemaError(
            f"{str(path)!r} is not a readable gzip file ({exc}). Check that the download or "
            "copy is complete, or decompress it and read the .csv."
        ) from exc
    if not head:
        raise SchemaError(f"{str(path)!r} is empty (0 bytes): there is no order line to read.")
    if not compressed and head[:2] == b"\x1f\x8b":
        raise SchemaError(
            f"{str(path)!r} is gzip-compressed, but its name does not end in .gz. Rename it "
            f"to {path.name + '.gz'!r}, or decompress it."
        )
    return head[:HEAD_BYTES], len(head) <= HEAD_BYTES


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(head: bytes, given: str | None, path: Path) -> tuple[str, str]:
    r"""Return the encoding of a text file's head and how it was decided.

    Examples
    --------
    >>> detect_encoding("客户,金额".encode("gb18030"), None, Path("x.csv"))[0]
    'gb18030'
    >>> detect_encoding(b"\xef\xbb\xbfid,amount", None, Path("x.csv"))
    ('utf-8-sig', 'byte-order mark')
    """
    if given is not None:
        return given, "given"
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, "byte-order mark"
    utf8 = _decode_error(head, "utf-8")
    if utf8 is None:
        return "utf-8", "detected"
    if _decode_error(head, "gb18030") is None:
        return "gb18030", f"detected; not UTF-8: byte 0x{head[utf8]:02x} at offset {utf8:,}"
    raise SchemaError(
        f"{str(path)!r} is neither UTF-8 (byte 0x{head[utf8]:02x} at offset {utf8:,}) nor "
        "GB18030. Pass encoding= with the file's encoding, e.g. encoding='cp1252' for "
        "Western European Excel or encoding='big5' for Traditional Chinese."
    )


def _decode_error(data: bytes, encoding: str) -> int | None:
    """Return the offset of the first byte ``encoding`` cannot decode, or None.

    An unfinished last character (the head was cut inside it) is fine.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        decoder.decode(data, final=False)
    except UnicodeDecodeError as exc:
        return int(exc.start)
    return None


def _decode_head(head: bytes, encoding: str, complete: bool, path: Path) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return str(decoder.decode(head, final=complete))
    except UnicodeDecodeError as exc:
        raise _undecodable(path, encoding, int(exc.start), head[exc.start]) from exc


def _undecodable(path: Path, encoding: str, offset: int, byte: int) -> SchemaError:
    other = "gb18030" if encoding in ("utf-8", "utf-8-sig") else "utf-8"
    return SchemaError(
        f"{str(path)!r} cannot be read as {encoding}: byte 0x{byte:02x} at offset {offset:,} "
        f"(of the decompressed text) is not {encoding}. Pass the file's encoding, e.g. "
        f"encoding={other!r} (Chinese Excel saves GB18030) or encoding='cp1252'."
    )


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int] | None:
    """Scan a file for its first byte ``encoding`` cannot decode: (offset, byte)."""
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    done = 0
    with opener(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as exc:
                # the decoder may hold up to 3 bytes of an unfinished character
                pending = len(decoder.getstate()[0]) if exc.start == 0 else 0
                offset = max(done + exc.start - pending, 0)
                return offset, (chunk[exc.start] if exc.start < len(chunk) else 0)
            done += len(chunk)
    return None


def _rows(text: str, sep: str, limit: int) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    rows: list[list[str]] = []
    for row in reader:
        if row:
            rows.append(row)
        if len(rows) >= limit:
            break
    return rows or [[]]


def detect_separator(text: str, complete: bool = True) -> str:
    r"""Return the separator among comma, semicolon, tab and pipe that fits the first lines best.

    The one that splits the header into two or more columns and the most
    following lines into as many; ties go to more columns, then to the order
    of ``SEPARATORS``. Comma when none splits the header.

    Examples
    --------
    >>> detect_separator("id;date;amount\na;2024-01-01;12,50\n")
    ';'
    """
    if not complete:
        text = text[: text.rfind("\n") + 1] or text  # drop the cut last line
    best, best_key = ",", (0.0, 0)
    for sep in SEPARATORS:
        rows = _rows(text, sep, _SEPARATOR_LINES + 1)
        width = len(rows[0])
        if width < 2:
            continue
        body = rows[1:]
        share = sum(len(r) == width for r in body) / len(body) if body else 1.0
        key = (share, width)
        if key > best_key:
            best, best_key = sep, key
    return best


def _check_header(header: list[str], sep: str, path: Path) -> None:
    if len(header) != 1:
        return
    held = [s for s in SEPARATORS if s != sep and s in header[0]]
    shown = header[0] if len(header[0]) <= 60 else header[0][:57] + "..."
    if held:
        raise SchemaError(
            f"The header of {str(path)!r} reads as one column {shown!r} with sep={sep!r}, "
            f"but it holds {held[0]!r}: the file is separated by {held[0]!r}. "
            f"Pass sep={held[0]!r} (or leave sep unset to detect it)."
        )
    raise SchemaError(
        f"The header of {str(path)!r} reads as one column {shown!r}: its separator is none "
        "of ',', ';', '\\t', '|'. Pass sep= with the file's separator."
    )


def _sample_frame(text: str, sep: str, header: list[str]) -> pd.DataFrame:
    """Return the head's first lines as text columns (for suggestions in error messages)."""
    rows = _rows(text, sep, 201)[1:]
    width = len(header)
    rows = [r for r in rows if len(r) == width]
    return pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        columns=header)


def _read_csv_arrow(
    path: Path, encoding: str, sep: str, options: ReadOptions, reading: FileReading,
    quoted: bool,
) -> pd.DataFrame:
    """Read the used columns with Arrow's CSV reader; skip and count lines of the wrong width."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    cols = options.order_columns
    used = list(dict.fromkeys(cols.used().values()))
    as_text = {getattr(cols, r) for r in _TEXT_ROLES if getattr(cols, r) is not None}
    if options.decimal != "." or options.thousands is not None:
        # let the amount text rule read every number: Arrow would take
        # "1.234" for 1.234 where thousands='.' says 1234
        as_text |= {getattr(cols, r) for r in NUMERIC_ROLES if getattr(cols, r) is not None}
    arrow_encoding = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding

    def read(newlines: bool, text_columns: set[str]) -> tuple[Any, list[str]]:
        bad: list[str] = []

        def skip(row: Any) -> str:
            bad.append(row.text)
            return "skip"

        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=arrow_encoding),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, newlines_in_values=newlines, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                include_columns=used,
                column_types={c: pa.string() for c in text_columns},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
        return table, bad

    try:
        try:
            table, bad = read(False, as_text)
            if bad and quoted:
                # a quoted value may hold a line break: read again, slower but exact
                table, bad = read(True, as_text)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc) or "to string" in str(exc):
                raise
            # a number column with text further down: read it as text too
            numeric = {getattr(cols, r) for r in NUMERIC_ROLES if getattr(cols, r) is not None}
            table, bad = read(quoted, as_text | numeric)
    except UnicodeDecodeError as exc:
        raise _late_undecodable(path, encoding) from exc
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc):
            raise _late_undecodable(path, encoding) from exc
        raise SchemaError(f"{str(path)!r} cannot be read as CSV: {exc}") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise SchemaError(
            f"{str(path)!r} cannot be read to its end ({exc}): the file is truncated or "
            "damaged. Check that the download or copy is complete."
        ) from exc
    if bad:
        reading.bad_lines = len(bad)
        examples = ", ".join(repr(t[:80]) for t in bad[:_BAD_LINE_EXAMPLES])
        reading.note = (
            f"{len(bad):,} line(s) of {str(path)!r} whose number of fields differs from the "
            f"header's, e.g. {examples}; a separator inside an unquoted value (such as "
            "1,234.50) shifts the fields: quote such values, or fix the line"
        )
    if cols.date in table.column_names:
        table = _numbers_as_numbers(table, cols.date)
    frame = table.to_pandas()
    pa.default_memory_pool().release_unused()
    return frame


def _numbers_as_numbers(table: Any, column: str) -> Any:
    """Return the table with a text column that holds only numbers cast to numbers.

    (Excel serials, epoch seconds.)

    The date column is read as text so that Arrow never parses dates by its
    own rules; one that holds numbers is handed on as numbers, as pandas would
    type it, so that the date rules can name it (``date_format="excel"``...).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = table.column(column)
    head = values.drop_null().slice(0, 100).to_pylist()
    if not head or not all(_NUMBER.match(str(v)) for v in head):
        return table
    for kind in (pa.int64(), pa.float64()):
        try:
            cast = pc.cast(values, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return table.set_column(table.column_names.index(column), column, cast)
    return table


_NUMBER = re.compile(r"^\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*$")


def _late_undecodable(path: Path, encoding: str) -> SchemaError:
    found = _first_undecodable(path, encoding)
    offset, byte = found if found is not None else (0, 0)
    return _undecodable(path, encoding, offset, byte)


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
    reading = FileReading(readings={"sheet": repr(label)} if options.sheet_name is None else {})
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
