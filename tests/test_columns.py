"""Columns named or found: OrderColumns, dicts and columns="auto" at every entry point."""

from __future__ import annotations

import importlib.util
import json
import warnings

import pandas as pd
import pytest

from rfm_loyalty import (
    OrderColumns,
    SchemaError,
    analyze,
    prepare_orders,
    read_orders,
    rfm_table,
)
from rfm_loyalty._ingest.headers import HEADER_NAMES, match_headers, normalise_header
from rfm_loyalty.exceptions import InvalidParameterError

from .helpers import REPO

SHOP = pd.DataFrame({
    "订单编号": ["T1", "T2", "T3", "T4"],
    "买家会员名": ["小王", "小李", "小王", "小张"],
    "下单时间": ["2024-03-01 10:00", "2024-03-02 11:30", "2024-03-05 09:15",
                "2024-03-06 20:00"],
    "实付金额": [120.5, 80.0, 30.25, 15.0],
    "订单状态": ["交易成功", "交易成功", "交易成功", "交易关闭"],
})
SHOP_ROLES = {"customer": "买家会员名", "date": "下单时间", "amount": "实付金额",
              "order_id": "订单编号", "status": "订单状态"}
NOTE = ("inferred from the header (columns='auto'): customer='买家会员名', date='下单时间', "
        "amount='实付金额', order_id='订单编号', status='订单状态'")


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


# --- the table and the matching -------------------------------------------------------------


def test_every_header_name_belongs_to_one_role():
    seen: dict[str, str] = {}
    for role, names in HEADER_NAMES.items():
        assert role in {f for f in OrderColumns.__dataclass_fields__}
        for name in names:
            key = normalise_header(name)
            assert seen.setdefault(key, role) == role, name


def test_the_docs_table_is_generated_from_the_header_names():
    spec = importlib.util.spec_from_file_location(
        "make_columns_docs", REPO / "scripts" / "make_columns_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
    page = (REPO / "docs" / "columns.md").read_text(encoding="utf-8")
    for role, names in HEADER_NAMES.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{role}` |"))
        assert all(f"`{n}`" in row for n in names)


@pytest.mark.parametrize("header", ["CustomerID", "customer_id", "Customer ID", "customer-id",
                                    "CUSTOMER.ID", "ＣｕｓｔｏｍｅｒＩＤ", " customerid "])
def test_headers_match_whatever_their_case_spaces_underscores_or_width(header):
    roles = OrderColumns.infer([header, "InvoiceDate", "Revenue"])
    assert roles == OrderColumns(customer=header, date="InvoiceDate", amount="Revenue")


def test_chinese_shop_export_headers():
    assert OrderColumns.infer(SHOP) == OrderColumns(**SHOP_ROLES)
    assert OrderColumns.infer(["用户ID", "订单创建时间", "买家实际支付金额", "交易状态", "订单号",
                               "商品ID", "商品类目", "渠道", "成本"]) == OrderColumns(
        customer="用户ID", date="订单创建时间", amount="买家实际支付金额", status="交易状态",
        order_id="订单号", product="商品ID", category="商品类目", channel="渠道", cost="成本")


def test_online_retail_headers_give_quantity_times_unit_price():
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
              "CustomerID", "Country"]
    assert OrderColumns.infer(header) == OrderColumns(
        customer="CustomerID", date="InvoiceDate", quantity="Quantity", unit_price="UnitPrice",
        order_id="InvoiceNo", product="StockCode")


def test_an_amount_column_wins_over_quantity_and_price():
    match = match_headers(["customer_id", "order_date", "qty", "price", "amount"])
    assert dict(match.roles) == {"customer": "customer_id", "date": "order_date",
                                 "amount": "amount"}
    assert match.note() == ("inferred from the header (columns='auto'): "
                            "customer='customer_id', date='order_date', amount='amount'")


def test_infer_columns_is_what_the_file_readers_call():
    from rfm_loyalty._ingest.columns import infer_columns, inferred_note

    assert infer_columns(pd.Index(SHOP.columns)) == OrderColumns(**SHOP_ROLES)
    assert inferred_note(OrderColumns(**SHOP_ROLES)) == {"columns": NOTE}


def test_two_headers_for_one_role_are_refused_naming_both_with_the_dict_to_pass():
    data = SHOP.assign(付款时间=SHOP["下单时间"])
    with pytest.raises(SchemaError) as caught:
        prepare_orders(data, "auto")
    assert str(caught.value) == (
        "columns='auto' cannot choose: '下单时间' and '付款时间' both fit the date column. "
        "Name the columns yourself, e.g. columns={'customer': '买家会员名', 'date': '下单时间', "
        "'amount': '实付金额', 'order_id': '订单编号', 'status': '订单状态'} "
        "(or 'date': '付款时间')."
    )
    # the dict of the message works as it is
    fixed = prepare_orders(data, {"customer": "买家会员名", "date": "付款时间",
                                  "amount": "实付金额", "order_id": "订单编号"})
    assert fixed.quality.orders == 4


def test_an_optional_role_with_two_headers_is_refused_too():
    with pytest.raises(SchemaError, match="'订单状态' and '交易状态' both fit the status column"):
        OrderColumns.infer([*SHOP.columns, "交易状态"])


def test_roles_given_to_infer_are_kept_and_their_headers_not_matched_again():
    cols = OrderColumns.infer([*SHOP.columns, "付款时间"], date="付款时间")
    assert cols.date == "付款时间" and cols.customer == "买家会员名"
    with pytest.raises(InvalidParameterError, match=r"unknown role\(s\) \['when'\]"):
        OrderColumns.infer(SHOP, when="下单时间")
    with pytest.raises(InvalidParameterError, match="needs a DataFrame or its header names"):
        OrderColumns.infer("下单时间")


def test_a_missing_required_role_lists_the_headers_seen_and_the_accepted_names():
    with pytest.raises(SchemaError) as caught:
        OrderColumns.infer(["订单编号", "买家会员名", "下单时间", "Country"])
    text = str(caught.value)
    assert text.startswith(
        "columns='auto' found no amount column among the headers ['订单编号', '买家会员名', "
        "'下单时间', 'Country']. It matched {'customer': '买家会员名', 'date': '下单时间', "
        "'order_id': '订单编号'}. Accepted names (any case, spaces or underscores): amount: one "
        "of ['amount', 'revenue',")
    assert "or quantity (['quantity', 'qty'," in text and "with unit_price (['unit_price'," in text
    with pytest.raises(SchemaError, match="found no customer and no date column"):
        OrderColumns.infer(["amount"])


# --- "auto" at every entry point ----------------------------------------------------------


def expected_table():
    return rfm_table(prepare_orders(SHOP, SHOP_ROLES))


def test_prepare_orders_auto_records_the_mapping():
    orders = prepare_orders(SHOP, "auto", valid_statuses=["交易成功"])
    assert orders.columns == OrderColumns(**SHOP_ROLES)
    assert orders.quality.readings["columns"] == NOTE
    assert f"  read: columns: {NOTE}" in str(orders.quality)
    assert orders.quality.dropped == {"invalid_status": 1}
    assert orders.options.to_dict()["columns"] == SHOP_ROLES


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_orders_auto_on_files(tmp_path, suffix):
    path = tmp_path / f"shop{suffix}"
    SHOP.to_csv(path, index=False) if suffix == ".csv" else SHOP.to_parquet(path)
    orders = read_orders(path, "auto")
    assert orders.columns == OrderColumns(**SHOP_ROLES)
    assert orders.quality.readings["columns"] == NOTE
    pd.testing.assert_frame_equal(rfm_table(orders), expected_table())


def test_analyze_auto_records_the_mapping_in_its_parameters(tmp_path):
    path = tmp_path / "shop.csv"
    SHOP.to_csv(path, index=False)
    result = quiet(analyze, path, "auto")
    assert result.params["reading"]["columns"] == SHOP_ROLES
    assert result.params["readings"]["columns"] == NOTE
    assert {k: v for k, v in result.params["columns"].items() if v} == SHOP_ROLES
    files = quiet(result.export, tmp_path / "out")
    meta = json.loads(next(f for f in files if f.name == "metadata.json").read_text("utf-8"))
    assert meta["parameters"]["readings"]["columns"] == NOTE
    frame = quiet(analyze, SHOP, "auto")
    assert frame.params["readings"]["columns"] == NOTE


def test_auto_with_valid_statuses_but_no_status_header():
    with pytest.raises(InvalidParameterError) as caught:
        prepare_orders(SHOP.drop(columns="订单状态"), "auto", valid_statuses=["交易成功"])
    assert str(caught.value) == (
        "valid_statuses needs a status column, and columns='auto' found none among the "
        "headers (it matched {'customer': '买家会员名', 'date': '下单时间', 'amount': '实付金额', "
        "'order_id': '订单编号'}; accepted names of the status: ['status', 'order_status', "
        "'transaction_status', 'payment_status', '订单状态', '交易状态', '状态']). Name it: "
        "columns={..., 'status': <the status column>}, or leave valid_statuses unset.")


# --- dicts at every entry point -------------------------------------------------------------


def test_a_dict_of_columns_works_at_every_entry_point(tmp_path):
    path = tmp_path / "shop.csv"
    SHOP.to_csv(path, index=False)
    want = expected_table()
    pd.testing.assert_frame_equal(rfm_table(read_orders(path, SHOP_ROLES)), want)
    assert quiet(analyze, SHOP, SHOP_ROLES).params["reading"]["columns"] == SHOP_ROLES
    assert quiet(analyze, path, SHOP_ROLES).params["reading"]["columns"] == SHOP_ROLES
    with pytest.raises(InvalidParameterError, match=r"unknown role\(s\) \['when'\]"):
        prepare_orders(SHOP, {"customer": "买家会员名", "when": "下单时间"})


def test_the_engines_take_a_dict_and_auto(tmp_path):
    pytest.importorskip("duckdb")
    from rfm_loyalty.engines import from_duckdb

    path = tmp_path / "shop.csv"
    SHOP.to_csv(path, index=False)
    want = expected_table()
    for columns in (SHOP_ROLES, "auto"):
        source = from_duckdb(str(path), columns)
        assert source.columns == OrderColumns(**SHOP_ROLES)
        got = rfm_table(source)
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    auto = from_duckdb(str(path), "auto").aggregate()
    assert auto.quality.readings["columns"] == NOTE


def test_a_header_of_one_column_holding_separators_suggests_sep():
    with pytest.raises(SchemaError, match=r"among the headers \['买家会员名;下单时间;实付金额'\]\. "
                       r"The header is one column holding ';': the file is separated by it, "
                       r"give sep=';'\."):
        OrderColumns.infer(["买家会员名;下单时间;实付金额"])
