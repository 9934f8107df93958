"""Order files whose text, separators and numbers are written as real exports write them.

Each maker returns the bytes of one small file. ``tests/test_real_world_text_files.py``
holds the expected customer table or error text of each.

The Excel workbook is made byte-reproducible: openpyxl writes it, then its
zip is rewritten with every entry dated 1980-01-01 and the workbook's
created/modified properties fixed, so ``make_real_world_files.py --check``
compares bytes as for the other files.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

#: A Taobao-style shop back-end export: Chinese headers, ￥ amounts with
#: thousands commas, statuses; one paid order each for three buyers, plus a
#: closed and an unpaid order that valid_statuses=["交易成功"] leaves out.
TAOBAO_HEADER = "订单编号,买家会员名,订单创建时间,买家实际支付金额,订单状态"
TAOBAO_ROWS = [
    ("T1001", "张三", "2024-02-01 09:15:00", "￥1,200.50", "交易成功"),
    ("T1002", "李四", "2024-02-03 18:40:00", "￥35.50", "交易成功"),
    ("T1003", "张三", "2024-02-13 10:05:00", "￥12.25", "交易成功"),
    ("T1004", "王五", "2024-02-25 08:00:00", "￥99.99", "交易关闭"),
    ("T1005", "李四", "2024-03-04 12:30:00", "￥40.00", "等待买家付款"),
    ("T1006", "王五", "2024-03-07 16:45:00", "￥8.00", "交易成功"),
]

#: The same orders for the files in English (semicolons, UTF-16, Excel).
HEADER = ("InvoiceNo", "CustomerID", "InvoiceDate", "Amount")
ROWS = [
    ("1001", "A17", "2024-02-01 09:15", "1200.50"),
    ("1002", "B22", "2024-02-03 18:40", "35.50"),
    ("1003", "A17", "2024-02-13 10:05", "12.25"),
    ("1004", "C09", "2024-02-25 08:00", "99.99"),
    ("1005", "B22", "2024-03-07 16:45", "-5.50"),
]


def _lines(header: tuple[str, ...] | str, rows: list[tuple[str, ...]], sep: str = ",") -> str:
    first = header if isinstance(header, str) else sep.join(header)
    return "\n".join([first] + [sep.join(r) for r in rows]) + "\n"


def taobao_gb18030() -> bytes:
    """A Chinese shop export saved by Chinese Excel: GB18030, Chinese headers, ￥ amounts.

    Amounts holding a comma are quoted, as Excel writes them.
    """
    rows = [tuple(f'"{v}"' if "," in v else v for v in row) for row in TAOBAO_ROWS]
    return _lines(TAOBAO_HEADER, rows).encode("gb18030")


def semicolon_decimal_comma() -> bytes:
    """A German/French Excel CSV: semicolons, decimal commas, thousands dots."""
    rows = [(a, b, c, d.replace(".", ",")) for a, b, c, d in ROWS]
    rows[0] = (*rows[0][:3], "1.200,50")
    return _lines(HEADER, rows, ";").encode("utf-8")


def utf16_bom() -> bytes:
    """Excel's "Unicode text": UTF-16 little endian with a byte-order mark, tabs."""
    return _lines(HEADER, ROWS, "\t").encode("utf-16")  # Python writes the BOM


def workbook() -> bytes:
    """A two-sheet .xlsx workbook: a notes sheet first, the orders on the sheet 'orders'."""
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "notes"
    notes.append(["exported by the shop back-end"])
    sheet = book.create_sheet("orders")
    sheet.append(list(HEADER))
    for number, customer, date, amount in ROWS:
        # the invoice number as a number cell, the amount as a number cell
        sheet.append([int(number), customer, date, float(amount)])
    buffer = io.BytesIO()
    book.save(buffer)
    return _reproducible_zip(buffer.getvalue())


_STAMP = "2024-01-01T00:00:00Z"


def _reproducible_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry dates and fixed document dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as target:
        for name in sorted(source.namelist()):
            content = source.read(name)
            if name == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*", rf"\g<1>{_STAMP}",
                              text)
                content = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return out.getvalue()


def returns_only() -> bytes:
    """A refunds export: every line is a return (negative amount)."""
    rows = [(a, b, c, "-" + d.lstrip("-")) for a, b, c, d in ROWS]
    return _lines(HEADER, rows).encode("utf-8")


def one_column_header() -> bytes:
    """A semicolon file: read with sep=',' its header is one column."""
    return _lines(HEADER, ROWS, ";").encode("utf-8")


def extra_fields() -> bytes:
    """A hand-made CSV: one amount written with an unquoted thousands comma."""
    rows = list(ROWS)
    rows[0] = (*ROWS[0][:3], "1,200.50")
    return _lines(HEADER, rows).encode("utf-8")


FILES: dict[str, Callable[[], bytes]] = {
    "text_taobao_gb18030.csv": taobao_gb18030,
    "text_semicolon_decimal_comma.csv": semicolon_decimal_comma,
    "text_utf16_bom.txt": utf16_bom,
    "text_workbook.xlsx": workbook,
    "text_returns_only.csv": returns_only,
    "text_one_column_header.csv": one_column_header,
    "text_extra_fields.csv": extra_fields,
}
