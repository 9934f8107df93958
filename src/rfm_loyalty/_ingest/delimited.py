"""Delimited text files: the encoding and the separator from the head, then Arrow's reader.

The head of a file (its first ``HEAD_BYTES`` bytes, decompressed) settles what
the caller left open:

* the **encoding**: a byte-order mark (UTF-8, UTF-16, UTF-32) decides; else
  the head is decoded strictly as UTF-8, and if that fails as GB18030 (which
  reads GBK and GB2312, what Chinese Excel saves). ``encoding=`` overrides;
* the **separator**: comma, semicolon, tab or pipe, the one that splits the
  header into the most columns and the next lines into as many.

Then only the named columns are read by Arrow's CSV reader. A line whose
number of fields differs from the header's is skipped and counted
(``bad_line``), never shifted into the wrong columns; bytes the encoding
cannot decode, further down, are a ``SchemaError`` with their offset.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import re
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rfm_loyalty._ingest.options import SEPARATORS
from rfm_loyalty.exceptions import SchemaError

if TYPE_CHECKING:
    from rfm_loyalty._ingest.options import ReadOptions

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


def head_bytes(path: Path) -> tuple[bytes, bool]:
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


def decode_head(head: bytes, encoding: str, complete: bool, path: Path) -> str:
    """Return the head as text (without a byte-order mark, as Arrow reads it)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        text = str(decoder.decode(head, final=complete))
    except UnicodeDecodeError as exc:
        raise _undecodable(path, encoding, int(exc.start), head[exc.start]) from exc
    return text.removeprefix("\ufeff")


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


def read_rows(text: str, sep: str, limit: int) -> list[list[str]]:
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
        rows = read_rows(text, sep, _SEPARATOR_LINES + 1)
        width = len(rows[0])
        if width < 2:
            continue
        body = rows[1:]
        share = sum(len(r) == width for r in body) / len(body) if body else 1.0
        key = (share, width)
        if key > best_key:
            best, best_key = sep, key
    return best


def check_header(header: list[str], sep: str, path: Path) -> None:
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


def sample_frame(text: str, sep: str, header: list[str]) -> pd.DataFrame:
    """Return the head's first lines as text columns (for suggestions in error messages)."""
    rows = read_rows(text, sep, 201)[1:]
    width = len(header)
    rows = [r for r in rows if len(r) == width]
    return pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(
        columns=header)


def read_csv_arrow(
    path: Path, encoding: str, sep: str, options: ReadOptions, reading: FileReading
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
        # the count, then the first few lines as examples (never every bad line)
        bad: list[Any] = [0]

        def skip(row: Any) -> str:
            bad[0] += 1
            if len(bad) <= _BAD_LINE_EXAMPLES:
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
        return table, bad if bad[0] else []

    def read_all(text_columns: set[str]) -> tuple[Any, list[str]]:
        table, bad = read(False, text_columns)
        if bad:
            # a quoted value may hold a line break, which the fast parse takes
            # for the end of a line: read again, slower but exact
            table, bad = read(True, text_columns)
        return table, bad

    try:
        try:
            table, bad = read_all(as_text)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc) or "to string" in str(exc):
                raise
            # a number column with text further down: read it as text too
            numeric = {getattr(cols, r) for r in NUMERIC_ROLES if getattr(cols, r) is not None}
            table, bad = read_all(as_text | numeric)
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
    if any(pa.types.is_binary(field.type) for field in table.schema):
        # Arrow keeps a column of invalid UTF-8 as bytes: the encoding is wrong
        raise _late_undecodable(path, encoding)
    if bad:
        reading.bad_lines = int(bad[0])
        examples = ", ".join(repr(t[:80]) for t in bad[1:])
        reading.note = (
            f"{reading.bad_lines:,} line(s) of {str(path)!r} whose number of fields differs "
            f"from the header's, e.g. {examples}; a separator inside an unquoted value (such as "
            "1,234.50) shifts the fields: quote such values, or fix the line"
        )
    if cols.date in table.column_names:
        table = _numbers_as_numbers(table, cols.date)
    frame = table.to_pandas()
    pa.default_memory_pool().release_unused()
    return frame


def _numbers_as_numbers(table: Any, column: str) -> Any:
    """Return the table with a text column of nothing but numbers cast to numbers.

    The date column is read as text so that Arrow never parses dates by its
    own rules; one that holds numbers (Excel serials, epoch seconds) is handed
    on as numbers, as pandas would type it, so that the date rules can name it
    (``date_format="excel"``...).
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
