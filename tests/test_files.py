"""Reading order files (rfm_loyalty._ingest.files): encodings, separators, Excel, file errors."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty import (
    DataQualityWarning,
    OrderColumns,
    SchemaError,
    prepare_orders,
    read_orders,
    rfm_table,
)
from rfm_loyalty._ingest.delimited import detect_encoding, detect_separator

from .helpers import REAL_DATA

TEXT = "customer_id,order_date,amount,order_id\n张三,2024-01-01,12.50,1\nb,2024-01-02,3.00,2\n"


_BIG = "customer_id,order_date,amount\n" + "".join(
    f"c{i},2024-01-{1 + i % 28:02d},{i % 997}.25\n" for i in range(100_000))
#: the first half of a gzip file whose text is far longer than the detection head
TRUNCATED_GZIP = gzip.compress(_BIG.encode())[: len(gzip.compress(_BIG.encode())) // 2]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def read(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_orders(path, OrderColumns(order_id="order_id"), **options)


@pytest.mark.parametrize(("encoding", "expected", "how"), [
    ("utf-8", "utf-8", "detected"),
    ("utf-8-sig", "utf-8-sig", "byte-order mark"),
    ("utf-16", "utf-16", "byte-order mark"),
    ("utf-32", "utf-32", "byte-order mark"),
    ("utf-16-be", None, None),  # no BOM: refused below
    ("gb18030", "gb18030", "detected; not UTF-8: byte 0xd5 at offset 39"),
    ("gbk", "gb18030", "detected; not UTF-8: byte 0xd5 at offset 39"),
])
def test_encodings_are_detected_and_recorded(tmp_path, encoding, expected, how):
    path = write(tmp_path / "orders.csv", TEXT.encode(encoding))
    if expected is None:
        data = ("\ufeff" + TEXT).encode("utf-16-be")
        path = write(tmp_path / "orders.csv", data)
        expected, how = "utf-16", "byte-order mark"
    orders = read(path)
    assert sorted(orders.frame["customer_id"]) == ["b", "张三"]
    assert orders.quality.encoding == expected
    assert orders.quality.readings["encoding"] == f"{expected} ({how})"
    assert f"read: encoding: {expected} ({how})" in str(orders.quality)


def test_encoding_given_overrides_detection(tmp_path):
    path = write(tmp_path / "orders.csv", TEXT.replace("张三", "café").encode("cp1252"))
    with pytest.raises(SchemaError, match=r"orders\.csv' is neither UTF-8 \(byte 0xe9 at offset "
                       r"42\) nor GB18030\. Pass encoding= with the file's encoding, e\.g\. "
                       r"encoding='cp1252'"):
        read(path)
    orders = read(path, encoding="cp1252")
    assert sorted(orders.frame["customer_id"]) == ["b", "café"]
    assert orders.quality.encoding == "cp1252"
    assert orders.quality.readings["encoding"] == "cp1252 (given)"


def test_a_late_non_utf8_byte_is_a_schema_error_with_its_offset(tmp_path):
    head = "customer_id,order_date,amount\n" + "a,2024-01-01,1\n" * 6000
    data = head.encode() + "张三,2024-01-02,2\n".encode("gb18030")
    path = write(tmp_path / "orders.csv", data)
    with pytest.raises(SchemaError, match=rf"orders\.csv' cannot be read as utf-8: byte 0xd5 at "
                       rf"offset {len(head.encode()):,} .* encoding='gb18030'"):
        read_orders(path)
    assert read_orders(path, encoding="gb18030").quality.customers == 2


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separators_are_detected(tmp_path, sep):
    path = write(tmp_path / "orders.csv", TEXT.replace(",", sep).encode())
    orders = read(path)
    assert orders.frame["amount"].sum() == 15.5
    assert orders.quality.readings["separator"] == f"{sep!r} (detected from the first lines)"


def test_separator_given_is_not_recorded_as_detected(tmp_path):
    path = write(tmp_path / "orders.csv", TEXT.replace(",", "|").encode())
    assert "separator" not in read(path, sep="|").quality.readings


def test_detect_separator_prefers_consistent_lines():
    assert detect_separator("a;b,c;d\n1;2,5;3\n1;2;3\n") == ";"
    assert detect_separator("only\none\n") == ","
    assert detect_encoding(b"id", None, Path("x.csv")) == ("utf-8", "detected")


def test_one_column_header_without_a_known_separator(tmp_path):
    path = write(tmp_path / "orders.csv", b"customer_id:order_date:amount\na:2024-01-01:1\n")
    with pytest.raises(SchemaError, match=r"reads as one column 'customer_id:order_date:amount': "
                       r"its separator is none of ',', ';', '\\t', '\|'\. Pass sep="):
        read_orders(path)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: write(p / "x.csv", b""), r"x\.csv' is empty \(0 bytes\)"),
    (lambda p: (p / "x.csv").mkdir() or p / "x.csv", r"x\.csv' is a directory, not an order file"),
    (lambda p: write(p / "x.csv", gzip.compress(TEXT.encode())),
     r"x\.csv' is gzip-compressed, but its name does not end in \.gz\. Rename it to 'x\.csv\.gz'"),
    (lambda p: write(p / "x.csv.gz", TRUNCATED_GZIP),
     r"x\.csv\.gz' cannot be read to its end \(.*\): the file is truncated or damaged"),
    (lambda p: write(p / "x.csv.gz", b"not gzip"), r"x\.csv\.gz' is not a readable gzip file"),
    (lambda p: write(p / "x.csv", b"\n\n  \n"), r"x\.csv' holds no text"),
    (lambda p: write(p / "x.csv", b"customer_id,order_date,amount\n"),
     r"x\.csv' holds a header but no order line"),
    (lambda p: write(p / "x.dat", TEXT.encode()), r"Cannot tell the format of '.*x\.dat'"),
    (lambda p: write(p / "x.xls", b"\xd0\xcf\x11\xe0"), r"x\.xls' is an old Excel \.xls workbook"),
    (lambda p: write(p / "x.xlsx", TEXT.encode()),
     r"x\.xlsx' is not an Excel \.xlsx workbook \(it is not a zip archive\)"),
])
def test_file_level_failures_name_the_file(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(SchemaError, match=match):
        read_orders(path)


def test_missing_openpyxl_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_openpyxl(name, *args, **kwargs):
        if name == "openpyxl":
            raise ImportError("No module named 'openpyxl'")
        return real_import(name, *args, **kwargs)

    path = tmp_path / "orders.xlsx"
    pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "amount": [1.0]}).to_excel(
        path, index=False)
    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    with pytest.raises(ImportError, match=r"Reading Excel files needs openpyxl: pip install "
                       r"'rfm-loyalty\[excel\]'"):
        read_orders(path)


def test_excel_ids_are_text_and_dates_cells_are_dates(tmp_path):
    path = tmp_path / "orders.xlsx"
    pd.DataFrame({
        "customer_id": [17850, 17850, 42],
        "order_date": pd.to_datetime(["2024-01-01 10:00", "2024-01-05 00:00", "2024-01-03 00:00"]),
        "amount": [10.0, 5.5, 3.0],
        "order_id": [536365.0, 536366.0, 536367.0],
    }).to_excel(path, index=False)
    orders = read(path)
    assert orders.quality.readings["sheet"] == "'Sheet1' (the first sheet)"
    assert sorted(orders.frame["customer_id"]) == ["17850", "17850", "42"]
    assert sorted(orders.frame["order_id"]) == ["536365", "536366", "536367"]
    assert orders.as_of == pd.Timestamp("2024-01-05")


def test_line_with_extra_fields_is_counted_and_raises_on_request(tmp_path):
    path = write(tmp_path / "x.csv", b"c,d,a\nx,2024-03-05,5\ne,2024-03-06,1,234.50\n"
                 b"y,2024-03-07,3\n")
    cols = OrderColumns(customer="c", date="d", amount="a")
    with pytest.warns(DataQualityWarning, match=r"1 of 3 order rows were dropped as unusable "
                      r"\(bad_line: 1\)\. bad_line: .*'e,2024-03-06,1,234\.50'"):
        orders = read_orders(path, cols)
    assert sorted(orders.frame["customer_id"]) == ["x", "y"]  # never e with amount 1.0
    q = orders.quality
    assert q.rows_in == q.rows_used + sum(q.dropped.values()) == 3
    assert q.to_frame().loc["dropped:bad_line", "rows"] == 1
    from rfm_loyalty import DataQualityError

    with pytest.raises(DataQualityError, match=r"1 of 3 order rows are unusable \(bad_line: 1\)"):
        read_orders(path, cols, on_bad_rows="raise")


def test_quoted_line_breaks_are_values_not_bad_lines(tmp_path):
    path = write(tmp_path / "x.csv", b'customer_id,order_date,amount,note\n'
                 b'a,2024-01-01,1,"two\nlines"\nb,2024-01-02,2,plain\n')
    orders = read_orders(path)
    assert orders.quality.dropped == {}
    assert sorted(orders.frame["customer_id"]) == ["a", "b"]


def test_ids_missing_spellings_are_missing_from_a_frame_and_from_a_file(tmp_path):
    ids = ["a", "NA", "NULL", "None", " n/a ", "nan", "", "#N/A", "<NA>", "null"]
    data = pd.DataFrame({"customer_id": ids, "order_date": ["2024-01-01"] * len(ids),
                         "amount": [1.0] * len(ids)})
    path = tmp_path / "x.csv"
    data.to_csv(path, index=False)
    for source in (data, path):
        with pytest.warns(DataQualityWarning, match=r"9 of 10 order rows .*missing_customer: 9"):
            orders = read_orders(source)
        assert orders.frame["customer_id"].tolist() == ["a"]


def test_order_ids_are_normalised_as_customer_ids():
    data = pd.DataFrame({
        "customer_id": ["c"] * 5, "order_date": ["2024-01-01"] * 4 + ["2024-01-02"],
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        "order_id": pd.Series([536365, "536365", " 536365", 536365.0, "NULL"], dtype=object),
    })
    with pytest.warns(DataQualityWarning, match=r"missing_order_id: 1"):
        orders = prepare_orders(data, OrderColumns(order_id="order_id"))
    assert orders.frame[["order_id", "amount", "n_lines"]].values.tolist() == [["536365", 10.0, 4]]


def test_uint64_ids_keep_their_digits():
    data = pd.DataFrame({"customer_id": np.array([2**64 - 1, 7], dtype=np.uint64),
                         "order_date": ["2024-01-01", "2024-01-02"], "amount": [1.0, 2.0]})
    orders = prepare_orders(data)
    assert sorted(orders.frame["customer_id"]) == ["18446744073709551615", "7"]


def test_missing_amount_next_to_quantity_and_price_suggests_them(tmp_path):
    data = pd.DataFrame({"InvoiceNo": ["1"], "Quantity": [2], "InvoiceDate": ["2024-01-01"],
                         "UnitPrice": [1.5], "CustomerID": ["a"], "Country": ["UK"]})
    cols = OrderColumns(customer="CustomerID", date="InvoiceDate")
    match = (r"Column 'amount' \(the amount column\) is not in the input\. Columns found: .*"
             r"'Quantity' and 'UnitPrice' look like a quantity and a unit price: give quantity= "
             r"and unit_price= to compute the amount, e\.g\. OrderColumns\(\.\.\., "
             r"quantity='Quantity', unit_price='UnitPrice'\)\.")
    with pytest.raises(SchemaError, match=match):
        prepare_orders(data, cols)
    path = tmp_path / "x.csv"
    data.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=match):
        read_orders(path, cols)


def test_close_matches_only_among_columns_of_the_right_kind(tmp_path):
    data = pd.DataFrame({"CustomerID": ["a"], "InvoiceDate": ["2024-01-01"], "Country": ["UK"],
                         "Amounts": ["12.50"]})
    with pytest.raises(SchemaError, match=r"Did you mean 'Amounts'\?"):
        prepare_orders(data, OrderColumns(customer="CustomerID", date="InvoiceDate"))
    no_amount = data.drop(columns="Amounts")
    with pytest.raises(SchemaError, match=r"Columns found: \['CustomerID', 'InvoiceDate', "
                       r"'Country'\]\.$"):
        prepare_orders(no_amount, OrderColumns(customer="CustomerID", date="InvoiceDate"))
    path = tmp_path / "x.csv"
    no_amount.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"'Country'\]\.$"):
        read_orders(path, OrderColumns(customer="CustomerID", date="InvoiceDate"))


# --- the real Online Retail file, rewritten as other shops' tools write it -----------------

REAL_COLUMNS = dict(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                    unit_price="UnitPrice", order_id="InvoiceNo")
CHINESE = {"InvoiceNo": "发票编号", "StockCode": "商品编码", "Description": "商品描述",
           "Quantity": "数量", "InvoiceDate": "下单时间", "UnitPrice": "单价",
           "CustomerID": "客户ID", "Country": "国家"}


@pytest.fixture(scope="module")
def real_lines():
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA} (see shared/data/README.md)")
    lines = pd.read_csv(REAL_DATA, dtype=str, keep_default_na=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        original = read_orders(REAL_DATA, OrderColumns(**REAL_COLUMNS))
    return lines, rfm_table(original)


def test_real_file_in_gb18030_with_chinese_headers_gives_the_original_table(
        tmp_path, real_lines):
    lines, expected = real_lines
    path = tmp_path / "online_retail_gb18030.csv"
    lines.rename(columns=CHINESE).to_csv(path, index=False, encoding="gb18030")
    columns = OrderColumns(**{role: CHINESE[name] for role, name in REAL_COLUMNS.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        orders = read_orders(path, columns)
    assert orders.quality.encoding == "gb18030"
    pd.testing.assert_frame_equal(rfm_table(orders), expected)


def test_real_file_with_semicolons_and_decimal_commas_gives_the_original_table(
        tmp_path, real_lines):
    lines, expected = real_lines
    path = tmp_path / "online_retail_eu.csv"
    european = lines.assign(UnitPrice=lines["UnitPrice"].str.replace(".", ",", regex=False))
    european.to_csv(path, index=False, sep=";", encoding="utf-8-sig")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        orders = read_orders(path, OrderColumns(**REAL_COLUMNS), decimal=",")
    assert orders.quality.encoding == "utf-8-sig"
    assert orders.quality.readings["separator"] == "';' (detected from the first lines)"
    assert orders.quality.rows_in == len(lines)
    pd.testing.assert_frame_equal(rfm_table(orders), expected)


def test_a_used_column_named_twice_in_the_header_is_refused(tmp_path):
    path = write(tmp_path / "x.csv", b"customer_id,customer_id,order_date,amount\n"
                 b"a,b,2024-01-01,1\n")
    with pytest.raises(SchemaError, match=r"x\.csv' names the column\(s\) \['customer_id'\] "
                       r"more than once"):
        read_orders(path)


def test_crlf_line_ends_and_quoted_fields(tmp_path):
    path = write(tmp_path / "x.csv", b'customer_id,order_date,amount\r\na,2024-01-01,1\r\n'
                 b'"b",2024-01-02,"2"\r\n')
    assert read_orders(path).frame["amount"].tolist() == [1.0, 2.0]


def test_utf8_given_for_a_file_with_a_byte_order_mark(tmp_path):
    path = write(tmp_path / "x.csv", TEXT.encode("utf-8-sig"))
    orders = read(path, encoding="utf-8")
    assert sorted(orders.frame["customer_id"]) == ["b", "张三"]


def test_encoding_is_none_for_a_frame_and_parquet(tmp_path):
    data = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "amount": [1.0]})
    assert prepare_orders(data).quality.encoding is None
    path = tmp_path / "x.parquet"
    data.to_parquet(path)
    orders = read_orders(path)
    assert orders.quality.encoding is None and orders.quality.readings.get("encoding") is None


def test_non_utf8_bytes_in_a_number_column_are_an_encoding_error(tmp_path):
    head = "customer_id,order_date,amount\n" + "a,2024-01-01,1\n" * 6000
    data = head.encode() + b"b,2024-01-02," + "￥2\n".encode("gb18030")
    path = write(tmp_path / "orders.csv", data)
    with pytest.raises(SchemaError, match=r"cannot be read as utf-8: byte 0xa3 at offset "
                       rf"{len(head.encode()) + 13:,} "):
        read_orders(path)


def test_many_bad_lines_are_counted_with_three_examples(tmp_path):
    body = "".join(f"c{i},2024-01-01,1,{i}\n" for i in range(5000))
    path = write(tmp_path / "x.csv", ("customer_id,order_date,amount\nok,2024-01-01,2\n"
                                      + body).encode())
    with pytest.warns(DataQualityWarning, match=r"bad_line: 5,000\)\. bad_line: 5,000 line\(s\)"
                      r" of .* e\.g\. 'c0,2024-01-01,1,0', 'c1,2024-01-01,1,1', "
                      r"'c2,2024-01-01,1,2'; a separator"):
        orders = read_orders(path)
    assert orders.quality.dropped == {"bad_line": 5000}


def test_gzip_text_in_gb18030_and_tsv_names(tmp_path):
    path = write(tmp_path / "x.csv.gz", gzip.compress(TEXT.encode("gb18030")))
    orders = read(path)
    assert orders.quality.encoding == "gb18030"
    assert sorted(orders.frame["customer_id"]) == ["b", "张三"]
    # .tsv: tabs, whatever the header holds (here commas inside a column name)
    tsv = write(tmp_path / "x.tsv", TEXT.replace("amount", "amount,eur").replace(",", "\t")
                .replace("amount\teur", "amount,eur").encode())
    orders = read_orders(tsv, OrderColumns(amount="amount,eur", order_id="order_id"))
    assert orders.frame["amount"].sum() == 15.5
    assert "separator" not in orders.quality.readings
