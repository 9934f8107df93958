"""rfm_table, btyd_summary, customer_aggregates: correct to the day and the cent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import OrderColumns, prepare_orders
from rfm_loyalty.summary import RFM_COLUMNS, btyd_summary, customer_aggregates, rfm_table

from .helpers import quiet_prepare

D = pd.Timestamp

# A hand-checkable history, as_of 2024-03-31:
#  a: 2024-01-01 09:00 (40.00) and 2024-01-01 18:00 (10.00): two purchases, one day;
#     2024-03-30 23:59 (25.50); a return 2024-03-31 (-5.50)
#  b: one purchase on as_of itself (12.00), and an order after as_of (dropped)
#  c: a zero order only (not a purchase: c is not in the table)
#  d: 2023-03-31 (100.00) exactly 366 days before as_of (2024 is a leap year)
LINES = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "a", "b", "b", "c", "d"],
        "order_id": ["1", "2", "3", "4", "5", "6", "7", "8"],
        "order_date": [
            "2024-01-01 09:00", "2024-01-01 18:00", "2024-03-30 23:59", "2024-03-31 08:00",
            "2024-03-31 12:00", "2024-04-01 00:00", "2024-02-01", "2023-03-31",
        ],
        "amount": [40.0, 10.0, 25.5, -5.5, 12.0, 99.0, 0.0, 100.0],
    }
)
ORDERS = prepare_orders(LINES, OrderColumns(order_id="order_id"), as_of="2024-03-31")

EXPECTED = pd.DataFrame(
    {
        "first_purchase": [D("2024-01-01"), D("2024-03-31"), D("2023-03-31")],
        "last_purchase": [D("2024-03-30"), D("2024-03-31"), D("2023-03-31")],
        "recency_days": [1, 0, 366],
        "tenure_days": [90, 0, 366],
        "active_span_days": [89, 0, 0],
        "frequency": [3, 1, 1],
        "purchase_days": [2, 1, 1],
        "monetary_total": [70.0, 12.0, 100.0],
        "monetary_mean": [70.0 / 3, 12.0, 100.0],
    },
    index=pd.Index(["a", "b", "d"], name="customer_id"),
)


def test_rfm_table_hand_checked():
    table = rfm_table(ORDERS)
    assert tuple(table.columns) == RFM_COLUMNS
    pd.testing.assert_frame_equal(table, EXPECTED, check_index_type=False,
                                  check_dtype=False)
    assert table["recency_days"].dtype == np.int64
    assert table["first_purchase"].dtype == "datetime64[ns]"
    assert table.attrs["as_of"] == "2024-03-31"
    assert ORDERS.quality.dropped == {"after_as_of": 1}


def test_rfm_table_at_an_earlier_date_and_later_date_error():
    table = rfm_table(ORDERS, as_of="2024-03-30")
    assert table.loc["a", "recency_days"] == 0
    assert table.loc["a", "monetary_total"] == 75.5  # the return on 03-31 is not yet there
    assert "b" not in table.index
    with pytest.raises(ValueError, match="Prepare the orders with prepare_orders"):
        rfm_table(ORDERS, as_of="2024-04-01")


def test_zero_amount_purchase_policy_brings_c_in():
    orders = prepare_orders(LINES, OrderColumns(order_id="order_id"), as_of="2024-03-31",
                            zero_amount="purchase")
    table = rfm_table(orders)
    assert table.loc["c", "frequency"] == 1
    assert table.loc["c", "monetary_total"] == 0.0


def test_btyd_summary_hand_checked_days_and_weeks():
    days = btyd_summary(ORDERS)
    assert days.loc["a"].to_dict() == {"frequency": 1.0, "recency": 89.0, "T": 90.0,
                                       "monetary_value": 25.5}
    assert days.loc["d"].to_dict() == {"frequency": 0.0, "recency": 0.0, "T": 366.0,
                                       "monetary_value": 0.0}
    weeks = btyd_summary(ORDERS, time_unit="W")
    assert weeks.loc["a", "T"] == pytest.approx(90 / 7)
    assert weeks.attrs["time_unit"] == "W"
    with pytest.raises(ValueError, match="must be 'D' or 'W'. Got 'M'"):
        btyd_summary(ORDERS, time_unit="M")


def test_window_counts_at_the_boundary():
    agg = customer_aggregates(ORDERS, window_days=1)
    # a: 03-30 is 1 day before as_of -> inside a 1-day window; the two 01-01 orders before
    assert agg.loc["a", ["purchases_in_window", "purchases_before_window"]].tolist() == [1, 2]
    assert agg.loc["d", ["purchases_in_window", "purchases_before_window"]].tolist() == [0, 1]
    with pytest.raises(ValueError, match="whole number of days >= 0. Got -1"):
        customer_aggregates(ORDERS, window_days=-1)


# --- against a naive implementation -------------------------------------------------------


def naive_rfm(orders):
    """One customer at a time, the slow obvious way."""
    frame = orders.frame
    as_of = orders.as_of
    rows = {}
    for customer, group in frame.groupby("customer_id"):
        bought = group[group["is_purchase"]]
        if bought.empty:
            continue
        days = sorted({ts.normalize() for ts in bought["order_date"]})
        rows[customer] = {
            "first_purchase": days[0],
            "last_purchase": days[-1],
            "recency_days": (as_of - days[-1]).days,
            "tenure_days": (as_of - days[0]).days,
            "active_span_days": (days[-1] - days[0]).days,
            "frequency": len(bought),
            "purchase_days": len(days),
            "monetary_total": group["amount"].sum(),
            "monetary_mean": group["amount"].sum() / len(bought),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "customer_id"
    return table.sort_index()


def random_lines(seed, n=400):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 60, n).astype(str),
            "order_id": rng.integers(0, 150, n),
            "order_date": pd.Timestamp("2023-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 24 * 60, n), unit="min"),
            "amount": np.round(rng.normal(20, 30, n), 2),
        }
    )


@pytest.mark.parametrize("seed", range(5))
def test_rfm_table_matches_naive_implementation(seed):
    orders = prepare_orders(random_lines(seed), OrderColumns(order_id="order_id"))
    ours = rfm_table(orders)
    pd.testing.assert_frame_equal(ours, naive_rfm(orders), check_dtype=False,
                                  check_index_type=False, rtol=1e-12)


# --- properties ---------------------------------------------------------------------------

rows = st.lists(
    st.tuples(
        st.sampled_from(["x", "y", "z", "w"]),
        st.integers(0, 90 * 24),  # hours after 2024-01-01
        st.floats(-50, 200).map(lambda v: round(v, 2)),
    ),
    min_size=1,
    max_size=50,
)


@settings(max_examples=50, deadline=None)
@given(rows=rows, seed=st.integers(0, 2**16))
def test_shuffling_and_renaming_change_nothing_and_totals_reconcile(rows, seed):
    data = pd.DataFrame(rows, columns=["customer_id", "hours", "amount"])
    data["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(data.pop("hours"),
                                                                       unit="h")
    orders = quiet_prepare(data)
    table = rfm_table(orders)

    shuffled = data.sample(frac=1, random_state=seed).rename(
        columns={"customer_id": "who", "order_date": "when", "amount": "paid"}
    )
    again = rfm_table(quiet_prepare(shuffled, OrderColumns(customer="who", date="when",
                                                           amount="paid")))
    pd.testing.assert_frame_equal(table, again, rtol=1e-12)

    assert table.index.is_unique
    buyers = set(orders.frame.loc[orders.frame["is_purchase"], "customer_id"])
    assert set(table.index) == buyers
    non_buyers = orders.frame[~orders.frame["customer_id"].isin(buyers)]
    assert table["monetary_total"].sum() + non_buyers["amount"].sum() == pytest.approx(
        orders.quality.amount_used, abs=1e-6)
    assert (table["purchase_days"] <= table["frequency"]).all()
    assert (table["recency_days"] + table["active_span_days"] == table["tenure_days"]).all()


def test_customers_without_any_purchase_give_an_empty_table_of_the_right_dtypes():
    zero = pd.DataFrame({"customer_id": ["a"], "order_date": ["2024-01-01"], "amount": [0.0]})
    agg = customer_aggregates(zero)
    assert len(agg) == 0
    assert agg.dtypes[["monetary_total", "purchase_amount", "first_day_amount"]].tolist() == [
        np.dtype("float64")] * 3
    assert rfm_table(zero).dtypes["monetary_total"] == np.float64
