"""The amount text rule (rfm_loyalty._ingest.numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty import DataQualityWarning, OrderColumns, SchemaError, prepare_orders
from rfm_loyalty._ingest.numbers import parse_numbers

READ = [
    ("￥1,200.50", 1200.5), ("¥35", 35.0), ("$-12.50", -12.5), ("-$12.50", -12.5),
    ("12.50 EUR", 12.5), ("eur 3", 3.0), ("35元", 35.0), ("RMB 8.8", 8.8), ("CNY8", 8.0),
    ("USD 1", 1.0), ("£4.10", 4.1), ("€2", 2.0), ("(12.50)", -12.5), ("($4)", -4.0),
    ("１２．５０", 12.5), ("－５", -5.0), ("（３）", -3.0), ("+7", 7.0), (" 1.5E+03 ", 1500.0),
    (".5", 0.5), ("12,345", 12345.0),
]
UNREAD = ["12,50", "1,2,3", "¥1¥", "$12 EUR", "12.50-", "(-3)", "(3", "abc", "--1", "1.2.3",
          "", "inf", "nan"]


@pytest.mark.parametrize("dtype", [object, "string"])
def test_amount_text_rule_reads_and_refuses(dtype):
    texts = [t for t, _ in READ] + UNREAD
    parsed = parse_numbers(pd.Series(texts, dtype=dtype), "amount", thousands=",")
    expected = [v for _, v in READ] + [np.nan] * len(UNREAD)
    np.testing.assert_array_equal(parsed.values, expected)
    assert parsed.bad.tolist() == [False] * len(READ) + [True] * len(UNREAD)


def test_without_thousands_a_grouped_number_is_refused_with_the_option():
    parsed = parse_numbers(pd.Series(["1,200.50", "3"]), "amount")
    assert np.isnan(parsed.values[0]) and parsed.values[1] == 3.0
    assert parsed.note == ("e.g. '1,200.50'; they look like thousands separators: "
                           "pass thousands=','")


def test_decimal_comma_with_dot_and_space_thousands():
    values = pd.Series(["1.200,50", "12,5", "(3,25)", "1.200.50"])
    got = parse_numbers(values, "amount", decimal=",", thousands=".").values
    np.testing.assert_array_equal(got, [1200.5, 12.5, -3.25, np.nan])
    spaced = parse_numbers(pd.Series(["1 200,50", "1\u00a0200,50"]), "a", decimal=",",
                           thousands=" ").values
    np.testing.assert_array_equal(spaced, [1200.5, 1200.5])


def test_numbers_in_an_object_column_are_kept_and_booleans_refused():
    parsed = parse_numbers(pd.Series([1.5, "2", 3, True, None], dtype=object), "amount")
    np.testing.assert_array_equal(parsed.values, [1.5, 2.0, 3.0, np.nan, np.nan])
    with pytest.raises(SchemaError, match="Column 'amount' holds booleans"):
        parse_numbers(pd.Series([True, False]), "amount")


def test_decimal_commas_are_named_in_the_warning_of_prepare_orders():
    data = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_date": ["2024-01-01"] * 3,
                         "amount": ["12.50", "12,50", "3,20"]})
    with pytest.warns(DataQualityWarning, match=r"2 of 3 order rows were dropped as unusable "
                      r"\(bad_amount: 2\)\. bad_amount: amount: e\.g\. '12,50', '3,20'; they "
                      r"look like decimal commas: pass decimal=','\."):
        orders = prepare_orders(data)
    assert orders.frame["amount"].tolist() == [12.5]
    read = prepare_orders(data.iloc[1:], decimal=",")
    assert sorted(read.frame["amount"].tolist()) == [3.2, 12.5]


def test_quantity_and_unit_price_as_text_with_currency():
    data = pd.DataFrame({"c": ["a", "a"], "d": ["2024-01-01", "2024-01-02"],
                         "q": ["２", "1"], "p": ["￥1,000.10", "(5)"]})
    orders = prepare_orders(data, OrderColumns(customer="c", date="d", quantity="q",
                                               unit_price="p"), thousands=",")
    assert sorted(orders.frame["amount"].tolist()) == [-5.0, 2000.2]


def test_sums_beyond_float64_name_the_customer():
    data = pd.DataFrame({"customer_id": ["ok", "big", "big"],
                         "order_date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                         "amount": [1.0, 1.7e308, 1.7e308]})
    with pytest.raises(SchemaError, match=r"The amounts of customer 'big' sum beyond the range "
                       r"of float64 numbers"):
        prepare_orders(data)
    one_order = data.assign(order_date="2024-01-02")
    with pytest.raises(SchemaError, match=r"customer 'big' sum beyond"):
        prepare_orders(one_order)


def test_missing_spellings_are_missing_amounts_not_examples():
    parsed = parse_numbers(pd.Series(["NULL", "x", "NA", "1"]), "amount")
    assert parsed.bad.tolist() == [True, True, True, False]
    assert parsed.note == "e.g. 'x'"
