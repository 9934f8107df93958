"""prepare_orders / read_orders: every row accounted for, nothing invented."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import (
    DataQualityError,
    DataQualityWarning,
    OrderColumns,
    SchemaError,
    prepare_orders,
    read_orders,
    rfm_table,
)
from rfm_loyalty.orders import as_orders

from .helpers import REAL_DATA, quiet_prepare


def lines(**columns):
    return pd.DataFrame(columns)


def by_date(orders):
    return orders.frame.sort_values(["order_date", "customer_id"]).reset_index(drop=True)


# --- lines into orders --------------------------------------------------------------------


def test_lines_with_an_order_id_sum_into_one_order_dated_by_their_earliest_line():
    data = lines(
        cid=["a", "a", "a", "b"],
        inv=["1", "1", "2", "3"],
        ts=["2024-01-01 10:05", "2024-01-01 10:00", "2024-01-02 09:00", "2024-01-02 12:00"],
        amt=[10.0, 2.5, 7.0, 1.0],
    )
    orders = prepare_orders(data, OrderColumns(customer="cid", date="ts", amount="amt",
                                               order_id="inv"))
    frame = by_date(orders)
    assert frame["order_id"].tolist() == ["1", "2", "3"]
    assert frame["amount"].tolist() == [12.5, 7.0, 1.0]
    assert frame["n_lines"].tolist() == [2, 1, 1]
    assert frame["order_date"].tolist() == [
        pd.Timestamp("2024-01-01 10:00"), pd.Timestamp("2024-01-02 09:00"),
        pd.Timestamp("2024-01-02 12:00"),
    ]
    assert list(orders.frame.columns) == [
        "customer_id", "order_id", "order_date", "amount", "n_lines", "is_purchase",
    ]


def test_without_order_id_same_customer_same_timestamp_is_one_order():
    data = lines(
        customer_id=["a", "a", "a", "b"],
        order_date=pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-01 10:01",
                                   "2024-01-01 10:00"]),
        amount=[1.0, 2.0, 4.0, 8.0],
    )
    frame = by_date(prepare_orders(data))
    assert frame[["customer_id", "amount"]].values.tolist() == [["a", 3.0], ["b", 8.0],
                                                                ["a", 4.0]]
    assert frame["order_id"].dtype == np.int64


def test_an_order_id_shared_by_two_customers_is_two_orders():
    data = lines(customer_id=["a", "b"], order_id=["X", "X"],
                 order_date=["2024-01-01", "2024-01-01"], amount=[1.0, 2.0])
    frame = prepare_orders(data, OrderColumns(order_id="order_id")).frame
    assert sorted(frame["amount"]) == [1.0, 2.0]
    assert sorted(frame["customer_id"]) == ["a", "b"]


def test_amount_from_quantity_times_unit_price_and_cost_summed():
    data = lines(c=["a", "a"], d=["2024-01-01", "2024-01-01"], q=[3, -1], p=[2.5, 2.5],
                 k=[4.0, -1.0])
    orders = prepare_orders(
        data, OrderColumns(customer="c", date="d", quantity="q", unit_price="p", cost="k")
    )
    assert orders.frame["amount"].tolist() == [5.0]
    assert orders.frame["cost"].tolist() == [3.0]


# --- purchases, returns and zero orders ---------------------------------------------------

RETURNS = lines(
    customer_id=["a", "a", "a", "b", "c"],
    order_id=["1", "2", "3", "4", "5"],
    order_date=["2024-01-01", "2024-01-05", "2024-01-06", "2024-01-03", "2024-01-04"],
    amount=[50.0, -20.0, 0.0, 10.0, -5.0],
)


def test_returns_net_keeps_negative_orders_as_non_purchases():
    orders = prepare_orders(RETURNS, OrderColumns(order_id="order_id"))
    frame = orders.frame.set_index("order_id")
    assert frame["is_purchase"].to_dict() == {"1": True, "2": False, "3": False, "4": True,
                                             "5": False}
    assert orders.quality.rows_used == 5
    assert orders.quality.amount_used == 35.0


def test_returns_drop_counts_negative_lines():
    orders = prepare_orders(RETURNS, OrderColumns(order_id="order_id"), returns="drop")
    assert orders.quality.dropped == {"negative_amount": 2}
    assert orders.quality.dropped_amounts == {"negative_amount": -25.0}
    assert sorted(orders.frame["order_id"]) == ["1", "3", "4"]


def test_returns_error_raises_naming_the_first_negative_line():
    with pytest.raises(DataQualityError, match=r"2 order lines have a negative amount "
                                               r"\(first at row 1: -20.0\)"):
        prepare_orders(RETURNS, OrderColumns(order_id="order_id"), returns="error")


def test_zero_amount_policy():
    as_purchase = prepare_orders(RETURNS, OrderColumns(order_id="order_id"),
                                 zero_amount="purchase").frame.set_index("order_id")
    assert as_purchase.loc["3", "is_purchase"]
    assert not as_purchase.loc["2", "is_purchase"]


# --- as_of --------------------------------------------------------------------------------


def test_as_of_default_is_the_last_valid_order_day_and_later_rows_are_counted():
    data = lines(customer_id=["a", "a", "b"],
                 order_date=["2024-01-01 08:00", "2024-01-31 23:59", "2024-02-01 00:00"],
                 amount=[1.0, 2.0, 4.0])
    assert prepare_orders(data).as_of == pd.Timestamp("2024-02-01")
    orders = prepare_orders(data, as_of="2024-01-31")
    assert orders.as_of == pd.Timestamp("2024-01-31")
    # a purchase at 23:59 on as_of is on as_of; the one the next midnight is after it
    assert orders.quality.dropped == {"after_as_of": 1}
    assert orders.quality.dropped_amounts == {"after_as_of": 4.0}
    assert orders.quality.rows_used == 2


def test_until_moves_later_orders_into_the_after_as_of_count():
    orders = prepare_orders(RETURNS, OrderColumns(order_id="order_id"))
    earlier = orders.until("2024-01-04")
    q = earlier.quality
    assert sorted(earlier.frame["order_id"]) == ["1", "4", "5"]
    assert q.dropped == {"after_as_of": 2}
    assert q.rows_in == q.rows_used + q.rows_dropped
    assert q.amount_in == pytest.approx(q.amount_used + q.amount_dropped)
    with pytest.raises(ValueError, match="as_of=2024-02-01 is after the date these orders"):
        orders.until("2024-02-01")


def test_as_orders_accepts_a_canonical_frame_and_rejects_other_things():
    orders = as_orders(RETURNS, as_of="2024-01-05")
    assert orders.as_of == pd.Timestamp("2024-01-05")
    assert sorted(orders.frame["order_id"]) == ["1", "2", "4", "5"]
    with pytest.raises(TypeError, match="Got list instead"):
        as_orders([1, 2])


# --- bad rows -----------------------------------------------------------------------------


def test_bad_rows_are_dropped_counted_and_warned_once():
    data = lines(
        customer_id=["a", None, "", "  ", "b", "c", "d", "e"],
        order_date=["2024-01-01", "2024-01-01", "2024-01-01", "2024-01-01", "not a date",
                    "2024-01-02", "2024-01-02", None],
        amount=[1.0, 2.0, 3.0, 4.0, 5.0, np.nan, np.inf, 8.0],
    )
    with pytest.warns(DataQualityWarning) as recorded:
        orders = prepare_orders(data)
    # only the library's warnings: a warning of another kind raised meanwhile (e.g. by a
    # collected object of an earlier test) is not this test's concern
    caught = [w for w in recorded if issubclass(w.category, DataQualityWarning)]
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "7 of 8 order rows were dropped as unusable (missing_customer: 3, bad_date: 2, "
        "bad_amount: 2). bad_date: order_date: e.g. 'not a date' (the column is read as "
        "YYYY-MM-DD, format '%Y-%m-%d'). See Orders.quality for the full accounting."
    )
    q = orders.quality
    assert q.dropped == {"missing_customer": 3, "bad_date": 2, "bad_amount": 2}
    assert q.rows_used == 1
    # unreadable amounts (nan, inf) count as rows but add nothing to the amounts
    assert q.amount_in == 1.0 + 2 + 3 + 4 + 5 + 8
    assert q.dropped_amounts == {"missing_customer": 9.0, "bad_date": 13.0, "bad_amount": 0.0}


def test_on_bad_rows_raise():
    data = lines(customer_id=["a", None], order_date=["2024-01-01", "2024-01-01"],
                 amount=[1.0, 2.0])
    with pytest.raises(DataQualityError, match=r"1 of 2 order rows are unusable "
                                               r"\(missing_customer: 1\)"):
        prepare_orders(data, on_bad_rows="raise")


def test_amount_text_partly_unreadable_is_dropped_and_fully_unreadable_raises():
    data = lines(customer_id=["a", "b"], order_date=["2024-01-01"] * 2, amount=["1.5", "n/a"])
    with pytest.warns(DataQualityWarning, match="bad_amount: 1"):
        assert prepare_orders(data).frame["amount"].tolist() == [1.5]
    data = lines(customer_id=["a", "b"], order_date=["2024-01-01"] * 2, amount=["£1 £", "two"])
    with pytest.raises(SchemaError, match=r"Column 'amount' must hold amounts, but none of its "
                                          r"values reads as one \(e\.g\. '£1 £', 'two'\)"):
        prepare_orders(data)


def test_valid_statuses_filter_and_count():
    data = lines(customer_id=["a", "a", "b"], order_date=["2024-01-01"] * 3,
                 amount=[1.0, 2.0, 3.0], state=["paid", "cancelled", "paid"],
                 order_id=["1", "2", "3"])
    orders = prepare_orders(data, OrderColumns(order_id="order_id", status="state"),
                            valid_statuses={"paid"})
    assert orders.quality.dropped == {"invalid_status": 1}
    assert sorted(orders.frame["status"]) == ["paid", "paid"]
    with pytest.raises(ValueError, match="valid_statuses needs a status column"):
        prepare_orders(data, valid_statuses=["paid"])


# --- structural errors --------------------------------------------------------------------


def test_missing_column_names_expected_found_and_closest():
    data = lines(client=["a"], ordered_at=["2024-01-01"], amount=[1.0])
    with pytest.raises(SchemaError, match=r"Column 'order_at' \(the date column\) is not in "
                                          r"the input\. Columns found: \['client', "
                                          r"'ordered_at', 'amount'\]\. Did you mean "
                                          r"'ordered_at'\?"):
        prepare_orders(data, OrderColumns(customer="client", date="order_at"))


def test_empty_input_and_no_valid_row():
    with pytest.raises(SchemaError, match=r"The order table is empty \(0 rows\)"):
        prepare_orders(lines(customer_id=[], order_date=[], amount=[]))
    data = lines(customer_id=[None, None], order_date=["2024-01-01"] * 2, amount=[1.0, 2.0])
    with pytest.raises(SchemaError, match=r"No valid order row remains: all 2 rows were "
                                          r"dropped \(missing_customer: 2\)"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        prepare_orders(data)


def test_bad_options_name_the_received_value():
    data = lines(customer_id=["a"], order_date=["2024-01-01"], amount=[1.0])
    with pytest.raises(ValueError, match=r"The 'returns' parameter of prepare_orders must be "
                                         r"one of \['net', 'drop', 'error'\]. Got 'keep'"):
        prepare_orders(data, returns="keep")
    with pytest.raises(TypeError, match="expects a pandas DataFrame"):
        prepare_orders("orders.csv")
    with pytest.raises(ValueError, match="either amount or quantity and unit_price"):
        OrderColumns(amount="a", quantity="q", unit_price="p")
    with pytest.raises(ValueError, match="needs both quantity and unit_price"):
        OrderColumns(quantity="q")
    with pytest.raises(SchemaError, match="holds numbers"):
        prepare_orders(lines(customer_id=["a"], order_date=[20240101], amount=[1.0]))
    with pytest.raises(
        ValueError, match=r"The 'as_of' parameter must be an unambiguous date: .* Got 'soon'"
    ):
        prepare_orders(data, as_of="soon")


# --- awkward but valid inputs -------------------------------------------------------------


def test_text_with_utc_offsets_keeps_its_wall_clock_unless_tz_given():
    data = lines(
        customer_id=["a", "a"],
        # 23:30 in UTC-05:00 is 04:30 the next day in UTC and 23:30 in New York
        order_date=["2024-03-01T23:30:00-05:00", "2024-03-01T10:00:00+01:00"],
        amount=[1.0, 2.0],
    )
    local = by_date(prepare_orders(data))
    assert local["order_date"].tolist() == [pd.Timestamp("2024-03-01 10:00"),
                                            pd.Timestamp("2024-03-01 23:30")]
    ny = by_date(prepare_orders(data, tz="America/New_York"))
    assert ny["order_date"].tolist() == [pd.Timestamp("2024-03-01 04:00"),
                                         pd.Timestamp("2024-03-01 23:30")]


def test_aware_datetime_column_keeps_its_wall_clock_unless_tz_given():
    stamps = pd.to_datetime(["2024-03-01 23:30"]).tz_localize("Asia/Shanghai")
    data = lines(customer_id=["a"], order_date=stamps, amount=[1.0])
    assert prepare_orders(data).frame["order_date"][0] == pd.Timestamp("2024-03-01 23:30")
    assert prepare_orders(data, tz="UTC").frame["order_date"][0] == pd.Timestamp(
        "2024-03-01 15:30")


def test_dates_as_strings_in_several_formats_are_refused():
    data = lines(customer_id=["a", "b", "c"],
                 order_date=["2024-01-05 10:00", "02/03/2024", "2024-01-06"],
                 amount=[1.0, 2.0, 3.0])
    # one format per column: never a per-row guess
    with pytest.raises(SchemaError, match=r"mixes date formats: YYYY-MM-DD \(2 values, "
                                          r"e\.g\. '2024-01-05 10:00'\); NN/NN/YYYY"):
        prepare_orders(data)


def test_ids_of_mixed_types_are_one_customer_as_text():
    data = lines(customer_id=pd.Series([17850, "17850", 17850.0, " 17850 ", "00042"],
                                       dtype=object),
                 order_date=["2024-01-0" + str(i) for i in range(1, 6)],
                 amount=[1.0] * 5)
    frame = prepare_orders(data).frame
    assert sorted(frame["customer_id"].unique()) == ["00042", "17850"]
    float_ids = lines(customer_id=[17850.0, np.nan, 12.5], order_date=["2024-01-01"] * 3,
                      amount=[1.0] * 3)
    with pytest.warns(DataQualityWarning, match="missing_customer: 1"):
        assert sorted(prepare_orders(float_ids).frame["customer_id"]) == ["12.5", "17850"]


def test_non_default_index_and_caller_frame_not_modified():
    data = lines(customer_id=["b", "a", "a"], order_date=["2024-01-02", "2024-01-01", "bad"],
                 amount=["3", "1", "2"])
    data.index = pd.Index([10, 5, 7], name="row")
    before = data.copy(deep=True)
    with pytest.warns(DataQualityWarning, match="bad_date: 1"):
        orders = prepare_orders(data)
    pd.testing.assert_frame_equal(data, before)
    assert isinstance(orders.frame.index, pd.RangeIndex)
    assert sorted(orders.frame["amount"]) == [1.0, 3.0]


# --- the accounting invariant -------------------------------------------------------------

line_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", None, ""]),
        st.sampled_from(["2024-01-01", "2024-01-02 13:00", "2024-02-29", "bad", None]),
        st.one_of(st.floats(-100, 100), st.sampled_from([np.nan, np.inf, -np.inf]), st.none()),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows=line_rows, returns=st.sampled_from(["net", "drop"]),
       as_of=st.sampled_from([None, "2024-01-01", "2024-02-01"]))
def test_every_row_and_every_amount_is_accounted_for(rows, returns, as_of):
    data = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    try:
        orders = quiet_prepare(data, returns=returns, as_of=as_of)
    except SchemaError as error:
        assert "No valid order row remains" in str(error) or "no readable date" in str(error)
        return
    q = orders.quality
    assert q.rows_in == len(rows) == q.rows_used + sum(q.dropped.values())
    assert math.isclose(q.amount_in, q.amount_used + q.amount_dropped, abs_tol=1e-9)
    assert math.isclose(orders.frame["amount"].sum(), q.amount_used, abs_tol=1e-9)
    assert orders.frame["n_lines"].sum() == q.rows_used
    assert set(q.to_frame().index) == {"rows_in", "rows_used"} | {f"dropped:{r}"
                                                                   for r in q.dropped}


def test_quality_report_text_and_frame():
    orders = prepare_orders(RETURNS, OrderColumns(order_id="order_id"), returns="drop")
    text = str(orders.quality)
    assert "rows in                 5" in text
    assert "dropped negative_amount" in text
    assert "3 orders (2 purchases) from 2 customers" in text
    table = orders.quality.to_frame()
    assert table.loc["dropped:negative_amount", "rows"] == 2
    assert table.loc["rows_used", "amount"] == 60.0


# --- read_orders --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_read_orders_formats_keep_ids_as_text(tmp_path, suffix):
    data = lines(customer_id=["007", "007", "12"], order_id=["0001", "0001", "0002"],
                 order_date=pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-03"]),
                 amount=[1.0, 2.0, 4.0])
    path = tmp_path / f"orders{suffix}"
    if suffix == ".parquet":
        data.to_parquet(path)
    else:
        data.to_csv(path, index=False)
    orders = read_orders(path, OrderColumns(order_id="order_id"))
    frame = by_date(orders)
    assert frame["customer_id"].tolist() == ["007", "12"]
    assert frame["order_id"].tolist() == ["0001", "0002"]
    assert frame["amount"].tolist() == [3.0, 4.0]


def test_read_orders_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No order file at"):
        read_orders(tmp_path / "missing.csv")
    path = tmp_path / "orders.csv"
    lines(client=["a"], order_date=["2024-01-01"], amount=[1.0]).to_csv(path, index=False)
    with pytest.raises(SchemaError, match="Did you mean 'client'"):
        read_orders(path, OrderColumns(customer="clients"))
    odd = tmp_path / "orders.dat"
    odd.write_text("x")
    with pytest.raises(SchemaError, match="Cannot tell the format"):
        read_orders(odd)


# --- the real data ------------------------------------------------------------------------

RETAIL = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                      unit_price="UnitPrice", order_id="InvoiceNo")


@pytest.mark.slow
def test_online_retail_end_to_end():
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA}")
    with pytest.warns(DataQualityWarning, match="missing_customer: 135,080"):
        orders = read_orders(REAL_DATA, RETAIL)
    q = orders.quality
    # 541,909 lines (data README); 135,080 have no CustomerID and are dropped. Nothing else
    # is unusable: every date parses, every quantity and price is a number.
    assert (q.rows_in, q.rows_used) == (541_909, 406_829)
    assert q.dropped == {"missing_customer": 135_080}
    assert q.amount_in == pytest.approx(9_747_747.934, abs=0.01)
    assert q.amount_used == pytest.approx(8_300_065.814, abs=0.01)
    # 22,190 invoices (18,532 purchases, i.e. net positive; the rest are "C" cancellations
    # and a few zero-value invoices) from 4,372 customers, 4,338 of whom bought something:
    # the README's 18,532 invoices from 4,338 customers after removing returns.
    assert (q.orders, q.purchases, q.customers) == (22_190, 18_532, 4_372)
    assert orders.as_of == pd.Timestamp("2011-12-09")
    assert orders.frame["customer_id"].str.fullmatch(r"\d{5}").all()  # "17850", never 17850.0


def test_arrow_backed_input_gives_the_same_orders():
    data = lines(customer_id=[17850, 17850, 12], order_id=[1, 1, 2],
                 order_date=pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00",
                                            "2024-01-03 00:00"]),
                 amount=[1.5, 2.0, 4.0], state=["paid", "paid", "open"])
    cols = OrderColumns(order_id="order_id", status="state")
    plain = by_date(prepare_orders(data, cols))
    arrow = by_date(prepare_orders(data.convert_dtypes(dtype_backend="pyarrow"), cols))
    pd.testing.assert_frame_equal(plain, arrow, check_dtype=False)
    assert arrow["order_id"].dtype == np.int64
    assert arrow["order_date"].dtype == "datetime64[ns]"
    aware = data.assign(order_date=data["order_date"].dt.tz_localize("Asia/Shanghai"))
    aware_arrow = by_date(prepare_orders(aware.convert_dtypes(dtype_backend="pyarrow"), cols))
    assert aware_arrow["order_date"].tolist() == plain["order_date"].tolist()


def test_the_warning_points_at_the_callers_line_through_read_orders(tmp_path):
    path = tmp_path / "orders.csv"
    lines(customer_id=["a", None], order_date=["2024-01-01"] * 2, amount=[1.0, 2.0]).to_csv(
        path, index=False)
    with pytest.warns(DataQualityWarning) as caught:
        read_orders(path)
    assert caught[0].filename == __file__


def test_valid_statuses_are_recorded_sorted_without_repeats():
    # a set's iteration order changes with PYTHONHASHSEED; the recorded options must not
    from rfm_loyalty.orders import ReadOptions

    assert ReadOptions(columns=OrderColumns(status="s"), valid_statuses={"b", "a"}
                       ).to_dict()["valid_statuses"] == ["a", "b"]

    options = ReadOptions(columns=OrderColumns(status="s"),
                          valid_statuses=["交易成功", "paid", "shipped", "paid"])
    assert options.to_dict()["valid_statuses"] == ["paid", "shipped", "交易成功"]


def test_amount_decimals_are_found_from_the_data_and_sums_carry_no_residue():
    lines = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03",
                                      "2024-01-01", "2024-01-05"]),
        "amount": [0.1, 0.2, -0.3, 70.05, 0.04],
    })
    orders = prepare_orders(lines)
    assert orders.amount_decimals == 2
    table = rfm_table(orders)
    # float sums: 0.1 + 0.2 - 0.3 = 5.6e-17 and 70.05 + 0.04 = 70.08999999999999
    assert table.loc["a", "monetary_total"] == 0.0
    assert table.loc["b", "monetary_total"] == 70.09
    # given decimals win; amounts with no decimal form (1/3) leave them unknown
    assert prepare_orders(lines, amount_decimals=4).amount_decimals == 4
    thirds = lines.assign(amount=[1 / 3] * 5)
    assert prepare_orders(thirds).amount_decimals is None


def test_quantity_times_price_is_exact_at_the_decimals_of_its_factors():
    lines = pd.DataFrame({
        "customer_id": ["a", "a"],
        "order_date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        "q": [3, 1], "p": [1.1, 0.25],
    })
    orders = prepare_orders(lines, OrderColumns(quantity="q", unit_price="p"))
    assert orders.amount_decimals == 2  # 0 (quantity) + 2 (price)
    # 3 * 1.1 is 3.3000000000000003 in floats; the line amount is the exact 3.3
    assert rfm_table(orders).loc["a", "monetary_total"] == 3.55


def test_real_data_monetary_totals_are_the_exact_decimal_sums(retail):
    from decimal import Decimal

    raw = pd.read_csv(REAL_DATA, dtype={"CustomerID": str, "InvoiceNo": str},
                      usecols=["CustomerID", "Quantity", "UnitPrice"])
    raw = raw.dropna(subset=["CustomerID"])
    exact: dict[str, Decimal] = {}
    for customer, quantity, price in zip(raw["CustomerID"], raw["Quantity"],
                                         raw["UnitPrice"], strict=True):
        key = customer.removesuffix(".0")
        exact[key] = exact.get(key, Decimal(0)) + quantity * Decimal(repr(price))
    table = rfm_table(retail)
    assert retail.amount_decimals == 3  # unit prices such as 0.001 and 1.125 exist
    expected = {c: float(v.quantize(Decimal("0.001"))) for c, v in exact.items()}
    got = table["monetary_total"]
    assert len(got) == 4338
    assert all(got[c] == expected[c] for c in got.index)
    # customers whose lines net to zero: exactly 0.0, not 4.5e-13
    assert got["12454"] == 0.0 and got["13762"] == 0.0
