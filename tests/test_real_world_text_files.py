"""The text files of tests/data/real_world/ (written by scripts/real_world/text_files.py).

Each file is read as a user would read it; the expected customer table or
error text is written here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from rfm_loyalty import (
    DataQualityWarning,
    OrderColumns,
    SchemaError,
    analyze,
    read_orders,
    rfm_table,
)

from .helpers import REAL_WORLD, REAL_WORLD_COLUMNS, real_world_table

TAOBAO = OrderColumns(customer="买家会员名", date="订单创建时间", amount="买家实际支付金额",
                      order_id="订单编号", status="订单状态")
#: A17 bought 1,200.50 and 12.25; B22 bought 35.50 and returned 5.50; C09 bought 99.99.
ENGLISH = {
    "A17": ("2024-02-01", "2024-02-13", 23, 2, 1212.75),
    "B22": ("2024-02-03", "2024-02-03", 33, 1, 30.00),
    "C09": ("2024-02-25", "2024-02-25", 11, 1, 99.99),
}


def test_taobao_export_in_gb18030_with_yuan_amounts_and_statuses():
    orders, got = real_world_table("text_taobao_gb18030.csv", TAOBAO, valid_statuses=["交易成功"],
                        thousands=",")
    assert got == {
        "张三": ("2024-02-01", "2024-02-13", 23, 2, 1212.75),
        "李四": ("2024-02-03", "2024-02-03", 33, 1, 35.50),
        "王五": ("2024-03-07", "2024-03-07", 0, 1, 8.00),
    }
    q = orders.quality
    assert q.encoding == "gb18030"
    assert q.readings["encoding"] == "gb18030 (detected; not UTF-8: byte 0xb6 at offset 0)"
    assert q.dropped == {"invalid_status": 2}  # 交易关闭 and 等待买家付款


def test_taobao_amounts_with_thousands_commas_need_thousands():
    with pytest.warns(DataQualityWarning, match=r"bad_amount: 1\)\. bad_amount: 买家实际支付金额: "
                      r"e\.g\. '￥1,200\.50'; they look like thousands separators: pass "
                      r"thousands=','"):
        read_orders(REAL_WORLD / "text_taobao_gb18030.csv", TAOBAO, valid_statuses=["交易成功"])


def test_semicolons_and_decimal_commas():
    orders, got = real_world_table("text_semicolon_decimal_comma.csv", decimal=",", thousands=".")
    assert got == ENGLISH
    assert orders.quality.readings["separator"] == "';' (detected from the first lines)"


def test_decimal_commas_without_decimal_suggest_it():
    with pytest.raises(SchemaError, match=r"Column 'Amount' must hold amounts, but none of its "
                       r"values reads as one \(e\.g\. '1\.200,50', '35,50', '12,25'; they look "
                       r"like decimal commas: pass decimal=',' and thousands='\.'\)"):
        read_orders(REAL_WORLD / "text_semicolon_decimal_comma.csv", REAL_WORLD_COLUMNS)


def test_utf16_with_bom_and_tabs():
    orders, got = real_world_table("text_utf16_bom.txt")
    assert got == ENGLISH
    assert orders.quality.encoding == "utf-16"
    assert orders.quality.readings["encoding"] == "utf-16 (byte-order mark)"
    assert orders.quality.readings["separator"] == "'\\t' (detected from the first lines)"


def test_excel_workbook_sheet_by_name_and_position():
    orders, got = real_world_table("text_workbook.xlsx", sheet_name="orders")
    assert got == ENGLISH
    assert orders.quality.encoding is None
    assert real_world_table("text_workbook.xlsx", sheet_name=1)[1] == ENGLISH
    # invoice numbers were number cells: read as the text "1001"
    assert sorted(orders.frame["order_id"]) == ["1001", "1002", "1003", "1004", "1005"]


def test_excel_workbook_first_sheet_is_not_the_orders():
    with pytest.raises(SchemaError, match=r"Column 'CustomerID' \(the customer column\) is not "
                       r"in the input\. Columns found: \['exported by the shop back-end'\]\.$"):
        read_orders(REAL_WORLD / "text_workbook.xlsx", REAL_WORLD_COLUMNS)
    with pytest.raises(SchemaError, match=r"has no sheet 'Sheet1'; its sheets are "
                       r"\['notes', 'orders'\]\. Pass sheet_name="):
        read_orders(REAL_WORLD / "text_workbook.xlsx", REAL_WORLD_COLUMNS, sheet_name="Sheet1")


def test_returns_only_file_is_a_clear_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        with pytest.raises(SchemaError, match=r"No customer has a purchase: all 5 orders net "
                           r"<= 0 on or before as_of=2024-03-07"):
            analyze(str(REAL_WORLD / "text_returns_only.csv"), columns=REAL_WORLD_COLUMNS)


def test_one_column_header_names_the_separator():
    path = REAL_WORLD / "text_one_column_header.csv"
    with pytest.raises(SchemaError, match=r"reads as one column 'InvoiceNo;CustomerID;"
                       r"InvoiceDate;Amount' with sep=',', but it holds ';': the file is "
                       r"separated by ';'\. Pass sep=';'"):
        read_orders(path, REAL_WORLD_COLUMNS, sep=",")
    assert real_world_table("text_one_column_header.csv")[1] == {
        "A17": ENGLISH["A17"], "B22": ENGLISH["B22"], "C09": ENGLISH["C09"]}


def test_unquoted_thousands_comma_is_a_counted_bad_line_never_a_shifted_amount():
    with pytest.warns(DataQualityWarning, match=r"1 of 5 order rows were dropped as unusable "
                      r"\(bad_line: 1\)\. bad_line: 1 line\(s\) of .*text_extra_fields\.csv' "
                      r"whose number of fields differs from the header's, e\.g\. "
                      r"'1001,A17,2024-02-01 09:15,1,200\.50'"):
        orders = read_orders(REAL_WORLD / "text_extra_fields.csv", REAL_WORLD_COLUMNS)
    q = orders.quality
    assert (q.rows_in, q.rows_used, q.dropped) == (5, 4, {"bad_line": 1})
    assert float(rfm_table(orders).loc["A17", "monetary_total"]) == 12.25


def test_the_files_are_what_the_script_writes_byte_for_byte():
    """scripts/real_world/text_files.py makes every file again, the workbook included."""
    import importlib
    import sys

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    sys.path.insert(0, str(scripts))
    try:
        makers = importlib.import_module("real_world.text_files").FILES
    finally:
        sys.path.remove(str(scripts))
    assert len(makers) == 7
    for name, make in makers.items():
        assert (REAL_WORLD / name).read_bytes() == make(), f"{name}: run make_real_world_files.py"
