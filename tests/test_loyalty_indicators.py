"""Tests of rfm_loyalty.loyalty.loyalty_indicators: hand-checked fixtures and a naive twin."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty import OrderColumns, churn_table, rfm_table
from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.loyalty import LoyaltyIndicators, loyalty_indicators

from .helpers import quiet_prepare

COLUMNS = OrderColumns(customer="cust", date="ts", order_id="inv", quantity="qty",
                       unit_price="price", product="sku", category="cat",
                       list_price="list", channel="chan")

#        cust inv   day           sku   cat  qty price  list  channel
LINES = [
    ("a", "A1", "2024-01-10", "p1", "X", 2, 5.0, 5.0, "web"),
    ("a", "A1", "2024-01-10", "p2", "Y", 1, 10.0, 12.5, "web"),  # 20% off
    ("a", "A2", "2024-03-10", "p1", "X", 1, 5.0, 5.0, "app"),
    ("a", "A3", "2024-05-09", "p3", "Z", 1, 40.0, 50.0, "web"),  # 20% off
    ("a", "A4", "2024-06-08", "p1", "X", 2, 5.0, 5.0, "app"),
    ("a", "R1", "2024-06-20", "p3", "Z", -1, 40.0, 50.0, "web"),  # a return: not a purchase
    ("b", "B1", "2024-06-25", "p2", "Y", 1, 10.0, 10.0, "app"),
    ("b", "B1", "2024-06-25", None, "Y", 1, 2.0, 2.0, "app"),  # no product: not counted
    ("c", "C1", "2024-02-01", "p4", "W", 1, 10.0, 20.0, "store"),  # every line 50% off
    ("c", "C2", "2024-02-01", "p4", "W", 1, 10.0, 20.0, "store"),  # second order, same day
    ("c", "C3", "2024-04-01", "p5", "W", 1, 30.0, 60.0, "store"),
    ("d", "D1", "2024-03-01", "p1", "X", -1, 5.0, 5.0, "web"),  # only a return: no row
    (None, "E1", "2024-03-01", "p1", "X", 1, 5.0, 5.0, "web"),  # no customer: dropped
    ("c", "C4", "2024-06-30", "p5", "W", 1, 0.0, 60.0, "store"),  # free order: no purchase
]


def _lines(rows=LINES) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["cust", "inv", "ts", "sku", "cat", "qty", "price",
                                        "list", "chan"])
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame


@pytest.fixture(scope="module")
def hand() -> LoyaltyIndicators:
    orders = quiet_prepare(_lines(), COLUMNS)
    assert orders.as_of == pd.Timestamp("2024-06-30")
    return loyalty_indicators(orders, window_days=30)


def test_rhythm_by_hand(hand: LoyaltyIndicators) -> None:
    t = hand.table
    assert list(t.index) == ["a", "b", "c"]  # d has only a return
    # a buys on Jan 10, Mar 10, May 9, Jun 8 (2024 is a leap year): gaps 60, 60, 30
    a = t.loc["a"]
    assert (a["purchases"], a["repeat_purchases"], a["purchase_days"],
            a["repeat_purchase_days"]) == (4, 3, 4, 3)
    assert (a["active_months"], a["tenure_months"]) == (4, 6)  # Jan Mar May Jun of Jan..Jun
    assert a["active_month_share"] == pytest.approx(4 / 6)
    assert a["mean_gap_days"] == 50.0
    assert a["median_gap_days"] == 60.0
    assert a["gap_cv"] == pytest.approx(math.sqrt(200) / 50)  # population std of 60, 60, 30
    assert a["expected_next_purchase"] == pd.Timestamp("2024-08-07")  # Jun 8 + 60 days
    assert a["overdue_ratio"] == pytest.approx(22 / 60)  # 22 days since Jun 8
    assert a["recency_days"] == 22
    # c: two orders on Feb 1, one on Apr 1: 3 purchases on 2 days, gap 60, 90 days silent
    c = t.loc["c"]
    assert (c["purchases"], c["repeat_purchases"], c["purchase_days"]) == (3, 2, 2)
    assert (c["median_gap_days"], c["overdue_ratio"]) == (60.0, 1.5)
    assert np.isnan(c["gap_cv"])  # one gap has no spread
    assert c["expected_next_purchase"] == pd.Timestamp("2024-05-31")
    assert (c["active_months"], c["tenure_months"]) == (2, 5)
    b = t.loc["b"]
    assert (b["purchases"], b["repeat_purchase_days"], b["tenure_months"]) == (1, 0, 1)
    assert np.isnan(b["median_gap_days"]) and np.isnan(b["overdue_ratio"])
    assert b["expected_next_purchase"] is pd.NaT


def test_trend_by_hand(hand: LoyaltyIndicators) -> None:
    t = hand.table
    # window 30: recent = Jun 1..Jun 30, prior = May 2..May 31
    expected = pd.DataFrame(
        {
            "spend_recent": [10.0 - 40.0, 12.0, 0.0],  # a: Jun 8 purchase, Jun 20 return
            "spend_prior": [40.0, 0.0, 0.0],
            "spend_change": [-70.0, 12.0, 0.0],
            "orders_recent": [1, 1, 0],  # c's free order on Jun 30 is no purchase
            "orders_prior": [1, 0, 0],
            "aov_recent": [10.0, 12.0, np.nan],
            "aov_prior": [40.0, np.nan, np.nan],
            "aov_change": [-30.0, np.nan, np.nan],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(t[expected.columns], expected, check_index_type=False)
    # a: 6 blocks of 30 days (first purchase 172 days back); spend by block from the
    # first: 20, 0, 5, 0, 40, -30 -> slope (sum t*y - 2.5 * sum y) / 17.5 = -67.5 / 17.5
    assert t.loc["a", "monthly_spend_slope"] == pytest.approx(-67.5 / 17.5)
    # c: 20 in block t=0, 30 in t=2 of 6 -> (60 - 2.5 * 50) / 17.5
    assert t.loc["c", "monthly_spend_slope"] == pytest.approx(-65 / 17.5)
    assert np.isnan(t.loc["b", "monthly_spend_slope"])  # one block


def test_breadth_price_channels_by_hand(hand: LoyaltyIndicators) -> None:
    t = hand.table
    assert hand.missing == {}
    assert t["distinct_products"].tolist() == [3, 1, 2]  # b's line without a product
    assert t["repurchased_products"].tolist() == [1, 0, 1]  # a: p1 on 3 orders; c: p4 on 2
    assert t["distinct_categories"].tolist() == [3, 1, 1]
    # a and c bought everything before the window; b's first purchase is in it
    assert t["categories_added"].tolist()[0::2] == [0.0, 0.0]
    assert np.isnan(t.loc["b", "categories_added"])
    # a: discounted 10 + 40 of 75 paid; 2 of 4 purchases; depth (2.5 + 10) / (12.5 + 50)
    assert t.loc["a", "discount_spend_share"] == pytest.approx(50 / 75)
    assert t.loc["a", "discount_order_share"] == 0.5
    assert t.loc["a", "mean_discount_depth"] == pytest.approx(0.2)
    assert t["deal_dependent"].tolist() == [False, False, True]
    assert t.loc["b", "discount_spend_share"] == 0.0
    assert np.isnan(t.loc["b", "mean_discount_depth"])
    assert (t.loc["c", "discount_order_share"], t.loc["c", "mean_discount_depth"]) == (1.0, 0.5)
    assert t["channels_used"].tolist() == [2, 1, 1]
    assert t["main_channel"].astype(str).tolist() == ["web", "app", "store"]  # a: 60 web, 15 app


def test_dtypes_are_documented(hand: LoyaltyIndicators) -> None:
    dtypes = hand.table.dtypes.astype(str).to_dict()
    ints = ["purchases", "repeat_purchases", "recency_days", "purchase_days",
            "repeat_purchase_days", "active_months", "tenure_months", "orders_recent",
            "orders_prior",
            "distinct_products", "repurchased_products", "distinct_categories",
            "channels_used"]
    assert {name: dtypes[name] for name in ints} == dict.fromkeys(ints, "int64")
    assert dtypes["expected_next_purchase"] == "datetime64[ns]"
    assert dtypes["deal_dependent"] == "bool"
    assert dtypes["main_channel"] == "category"
    floats = set(dtypes) - set(ints) - {"expected_next_purchase", "deal_dependent",
                                        "main_channel"}
    assert {dtypes[name] for name in floats} == {"float64"}


def test_discount_column_gives_the_same_price_measures(hand: LoyaltyIndicators) -> None:
    lines = _lines()
    lines["off"] = (lines["list"] - lines["price"]) * lines["qty"]
    columns = OrderColumns(customer="cust", date="ts", order_id="inv", quantity="qty",
                           unit_price="price", discount="off")
    result = loyalty_indicators(quiet_prepare(lines.drop(columns="list"), columns),
                                window_days=30)
    price = ["discount_spend_share", "discount_order_share", "mean_discount_depth",
             "deal_dependent"]
    pd.testing.assert_frame_equal(result.table[price], hand.table[price])
    assert set(result.missing) == {"distinct_products", "repurchased_products",
                                   "distinct_categories", "categories_added",
                                   "channels_used", "main_channel"}


def test_absent_columns_are_left_out_with_the_reason() -> None:
    columns = OrderColumns(customer="cust", date="ts", order_id="inv", quantity="qty",
                           unit_price="price", product="sku")
    result = loyalty_indicators(quiet_prepare(_lines(), columns), window_days=30)
    assert "distinct_products" in result.table.columns
    assert "discount_spend_share" not in result.table.columns
    assert result.missing["discount_spend_share"] == (
        "needs the list_price or discount column, which the orders do not name: pass "
        "OrderColumns(list_price=...) or OrderColumns(discount=...)"
    )
    assert result.missing["main_channel"].startswith("needs the channel column")
    assert "left out discount_spend_share: needs the list_price" in str(result)
    # a named column without any value on a purchase line is left out too
    lines = _lines().assign(chan=None)
    columns = OrderColumns(customer="cust", date="ts", order_id="inv", quantity="qty",
                           unit_price="price", channel="chan")
    empty = loyalty_indicators(quiet_prepare(lines, columns))
    assert empty.missing["channels_used"] == "the channel column has no value on any purchase line"


def test_as_of_restricts_orders_and_lines() -> None:
    orders = quiet_prepare(_lines(), COLUMNS)
    early = loyalty_indicators(orders, as_of="2024-03-31", window_days=30)
    assert list(early.table.index) == ["a", "c"]
    assert early.table.loc["a", "distinct_products"] == 2  # p1, p2 by Mar 31
    assert early.table.loc["a", "purchase_days"] == 2
    assert early.as_of == pd.Timestamp("2024-03-31")


def test_parameters_are_checked_before_work() -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'window_days' parameter of "
                       r"loyalty_indicators must be a whole number of days >= 1\. Got 0"):
        loyalty_indicators(pd.DataFrame(), window_days=0)
    with pytest.raises(InvalidParameterError, match="'deal_threshold'.*Got 1.5 instead"):
        loyalty_indicators(pd.DataFrame(), deal_threshold=1.5)


def test_engine_sources_are_refused(tmp_path) -> None:
    pytest.importorskip("duckdb")
    from rfm_loyalty.engines import from_duckdb

    path = tmp_path / "orders.csv"
    pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"],
                  "amount": [1.0]}).to_csv(path, index=False)
    source = from_duckdb(path)
    with pytest.raises(TypeError, match="loyalty_indicators needs every order"):
        loyalty_indicators(source)


def test_agrees_with_the_customer_table_and_churn_on_the_sample() -> None:
    orders = quiet_prepare(load_sample_orders())
    table = loyalty_indicators(orders).table
    rfm = rfm_table(orders)
    assert table.index.equals(rfm.index)
    assert (table["purchases"] == rfm["frequency"]).all()
    assert (table["purchase_days"] == rfm["purchase_days"]).all()
    churn = churn_table(orders)
    pd.testing.assert_series_equal(table["median_gap_days"], churn["median_gap_days"],
                                   check_names=False)
    pd.testing.assert_series_equal(table["overdue_ratio"], churn["silence_in_gaps"],
                                   check_names=False)


def test_input_is_not_modified_and_row_order_does_not_matter() -> None:
    lines = _lines()
    before = lines.copy()
    first = loyalty_indicators(quiet_prepare(lines, COLUMNS), window_days=30).table
    pd.testing.assert_frame_equal(lines, before)
    shuffled = lines.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = loyalty_indicators(quiet_prepare(shuffled, COLUMNS), window_days=30).table
    pd.testing.assert_frame_equal(first, again)


# ---------------------------------------------------------------------------
# an independent, loop-per-customer implementation on random orders
# ---------------------------------------------------------------------------


def _naive(frame: pd.DataFrame, as_of: pd.Timestamp, window: int) -> pd.DataFrame:
    rows = {}
    a = as_of.normalize()
    for customer, group in frame.groupby("customer_id"):
        buys = group[group["amount"] > 0]
        if buys.empty:
            continue
        days = sorted(set(buys["order_date"].dt.normalize()))
        gaps = [(y - x).days for x, y in itertools.pairwise(days)]
        months = {(d.year, d.month) for d in days}
        tenure = (a.year - days[0].year) * 12 + a.month - days[0].month + 1
        ages = (a - group["order_date"].dt.normalize()).dt.days
        recent, prior = ages < window, (ages >= window) & (ages < 2 * window)
        buy_ages = (a - buys["order_date"].dt.normalize()).dt.days
        blocks = (a - days[0]).days // 30 + 1
        spend = [0.0] * blocks
        for age, amount in zip(ages, group["amount"], strict=True):
            if age // 30 < blocks:
                spend[blocks - 1 - age // 30] += amount
        slope = (np.polyfit(np.arange(blocks), spend, 1)[0] if blocks >= 2 else np.nan)
        median = float(np.median(gaps)) if gaps else np.nan
        n_recent = int((buy_ages < window).sum())
        n_prior = int(((buy_ages >= window) & (buy_ages < 2 * window)).sum())
        rows[customer] = {
            "purchases": len(buys),
            "purchase_days": len(days),
            "active_months": len(months),
            "tenure_months": tenure,
            "mean_gap_days": float(np.mean(gaps)) if gaps else np.nan,
            "median_gap_days": median,
            "gap_cv": float(np.std(gaps) / np.mean(gaps)) if len(gaps) >= 2 else np.nan,
            "overdue_ratio": (a - days[-1]).days / median if gaps else np.nan,
            "spend_recent": float(group["amount"][recent].sum()),
            "spend_prior": float(group["amount"][prior].sum()),
            "orders_recent": n_recent,
            "orders_prior": n_prior,
            "aov_recent": (float(buys["amount"][buy_ages < window].sum()) / n_recent
                           if n_recent else np.nan),
            "monthly_spend_slope": slope,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


ORDERS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 400),
              st.sampled_from([-20.0, 5.0, 12.5, 40.0, 100.0])),
    min_size=1, max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ORDERS, st.integers(1, 120))
def test_agrees_with_a_naive_implementation(rows, window) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["order_date"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(frame["day"], unit="D")
    frame = frame.drop(columns="day")
    frame["order_id"] = np.arange(len(frame))  # every row an order of its own
    if not (frame["amount"] > 0).any():
        return
    as_of = frame["order_date"].max()
    expected = _naive(frame, as_of, window)
    got = loyalty_indicators(quiet_prepare(frame, OrderColumns(order_id="order_id")),
                             window_days=window).table
    assert list(got.index) == list(expected.index)
    for column in expected.columns:
        np.testing.assert_allclose(got[column].to_numpy(dtype=float),
                                   expected[column].to_numpy(dtype=float),
                                   rtol=1e-9, atol=1e-7, err_msg=column)


LINE_ROWS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 6), st.integers(0, 200),
              st.sampled_from(["p1", "p2", "p3", "p4", None]), st.sampled_from([-3.0, 4.0, 9.0])),
    min_size=1, max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LINE_ROWS)
def test_product_breadth_agrees_with_a_naive_count(rows) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "order", "day", "product", "amount"])
    frame["order_id"] = frame["customer_id"] + frame["order"].astype(str)
    # an order's lines share its first line's day, as an invoice does
    frame["day"] = frame.groupby("order_id")["day"].transform("first")
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    orders = quiet_prepare(frame, OrderColumns(order_id="order_id", product="product"))
    totals = frame.groupby("order_id")["amount"].transform("sum")
    bought = frame[(totals > 0) & (frame["amount"] > 0) & frame["product"].notna()]
    if not (totals > 0).any():
        return
    result = loyalty_indicators(orders)
    if bought.empty:
        assert "distinct_products" in result.missing
        return
    table = result.table
    distinct = bought.groupby("customer_id")["product"].nunique()
    on_orders = bought.groupby(["customer_id", "product"])["order_id"].nunique()
    repurchased = (on_orders >= 2).groupby(level=0).sum()
    assert (table["distinct_products"] == distinct.reindex(table.index, fill_value=0)).all()
    assert (table["repurchased_products"]
            == repurchased.reindex(table.index, fill_value=0)).all()


def test_lines_follow_the_orders_when_returns_are_dropped() -> None:
    orders = quiet_prepare(_lines(), COLUMNS, returns="drop")
    # the two negative lines (R1, D1) and the line without a customer are not used
    assert len(orders.lines) == len(LINES) - 3
    assert orders.lines["order"].max() == len(orders.frame) - 1
    dropped = loyalty_indicators(orders, window_days=30).table
    assert list(dropped.index) == ["a", "b", "c"]
    assert dropped.loc["a", "spend_recent"] == 10.0  # no return to net any more
    assert dropped.loc["a", "distinct_products"] == 3
