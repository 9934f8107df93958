"""Real-world files whose columns are found from the header (``columns="auto"``).

The files are written by scripts/make_real_world_files.py (scripts/real_world/columns.py);
each test states the expected customer table or the expected error text.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from rfm_loyalty import OrderColumns, SchemaError, prepare_orders, read_orders, rfm_table

DATA = Path(__file__).resolve().parent / "data" / "real_world"


def expected(rows: dict[str, tuple], as_of: str) -> pd.DataFrame:
    """The rfm_table of the rows: customer -> (first, last, recency, tenure, span,
    frequency, purchase days, monetary total, monetary mean)."""
    names = ["first_purchase", "last_purchase", "recency_days", "tenure_days",
             "active_span_days", "frequency", "purchase_days", "monetary_total",
             "monetary_mean"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=names)
    for name in names[:2]:
        table[name] = pd.to_datetime(table[name]).astype("datetime64[ns]")
    for name in names[2:7]:
        table[name] = table[name].astype("int64")
    table.index = pd.Index(list(rows), dtype=TEXT, name="customer_id")
    table.attrs["as_of"] = as_of
    return table


#: the dtype of customer ids (str on pandas 3, object on pandas 2)
TEXT = rfm_table(prepare_orders(pd.DataFrame({
    "customer_id": ["a"], "order_date": ["2024-01-01"], "amount": [1.0]}))).index.dtype


def test_a_chinese_shop_export_read_with_columns_auto():
    orders = read_orders(DATA / "columns_auto_shop.csv", "auto", valid_statuses=["交易成功"])
    assert orders.columns == OrderColumns(customer="买家会员名", date="下单时间", amount="实付金额",
                                          order_id="订单编号", status="订单状态")
    assert orders.quality.readings["columns"] == (
        "inferred from the header (columns='auto'): customer='买家会员名', date='下单时间', "
        "amount='实付金额', order_id='订单编号', status='订单状态'")
    # 交易关闭 (closed) and 等待买家付款 (awaiting payment) are not purchases
    assert orders.quality.dropped == {"invalid_status": 2}
    pd.testing.assert_frame_equal(rfm_table(orders), expected({
        "tb_小李": ("2024-03-02", "2024-03-09", 0, 7, 7, 2, 2, 327.90, 163.95),
        "tb_小王": ("2024-03-01", "2024-03-08", 1, 8, 7, 2, 2, 187.90, 93.95),
    }, "2024-03-09"))


def test_two_date_headers_are_refused_naming_both():
    with pytest.raises(SchemaError) as caught:
        read_orders(DATA / "columns_auto_two_dates.csv", "auto")
    assert str(caught.value) == (
        "columns='auto' cannot choose: '下单时间' and '付款时间' both fit the date column. "
        "Name the columns yourself, e.g. columns={'customer': '买家会员名', 'date': '下单时间', "
        "'amount': '实付金额', 'order_id': '订单编号', 'status': '订单状态'} "
        "(or 'date': '付款时间')."
    )


def test_the_online_retail_headers_give_quantity_times_unit_price():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about
        orders = read_orders(DATA / "columns_auto_online_retail.csv", "auto")
    assert orders.columns == OrderColumns(
        customer="CustomerID", date="InvoiceDate", order_id="InvoiceNo", quantity="Quantity",
        unit_price="UnitPrice", product="StockCode")
    # 17850: 6 x 2.55 + 6 x 3.39 and 6 x 1.85; 14527: the discount C536379 (-27.50) nets
    # against 36 x 1.06 and is no purchase
    pd.testing.assert_frame_equal(rfm_table(orders), expected({
        "13047": ("2010-12-01", "2010-12-01", 0, 0, 0, 1, 1, 54.08, 54.08),
        "14527": ("2010-12-01", "2010-12-01", 0, 0, 0, 1, 1, 10.66, 10.66),
        "17850": ("2010-12-01", "2010-12-01", 0, 0, 0, 2, 1, 46.74, 23.37),
    }, "2010-12-01"))


def test_no_amount_header_lists_the_headers_and_the_accepted_names():
    with pytest.raises(SchemaError) as caught:
        read_orders(DATA / "columns_auto_no_amount.csv", "auto")
    text = str(caught.value)
    assert text.startswith(
        "columns='auto' found no amount column among the headers ['订单编号', '买家会员名', "
        "'下单时间', '订单状态']. It matched {'customer': '买家会员名', 'date': '下单时间', "
        "'order_id': '订单编号', 'status': '订单状态'}. Accepted names (any case, spaces or "
        "underscores): amount: one of ['amount', ")
    assert "'实付金额', '买家实际支付金额', '订单金额', '支付金额'" in text
    assert text.endswith("Name the columns yourself, e.g. columns={'customer': ..., "
                         "'date': ..., 'amount': ...}.")
