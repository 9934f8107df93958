"""The generator and the bundled sample."""

from __future__ import annotations

import pandas as pd
import pytest

from rfm_loyalty import OrderColumns, prepare_orders
from rfm_loyalty.datasets import SAMPLE_PARAMS, load_sample_orders, make_orders

from .helpers import REPO

SAMPLE_FILE = REPO / "data" / "samples" / "sample_orders.csv"


def test_sample_file_equals_the_generator_output():
    """data/samples/ is written by scripts/make_samples.py, never by hand."""
    on_disk = pd.read_csv(SAMPLE_FILE, dtype={"customer_id": str, "order_id": str},
                          parse_dates=["order_date"])
    generated = load_sample_orders()
    assert list(on_disk.columns) == list(generated.columns)
    pd.testing.assert_frame_equal(on_disk, generated, check_dtype=False, rtol=0, atol=1e-9)


def test_make_orders_is_seeded_and_documented_columns():
    a = make_orders(200, random_state=3)
    b = make_orders(200, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == ["customer_id", "order_id", "order_date", "quantity",
                               "unit_price", "amount", "cost"]
    assert "cost" not in make_orders(10, random_state=3, with_cost=False)
    assert a["customer_id"].nunique() == 200
    assert a["order_date"].between(pd.Timestamp("2023-01-01"),
                                   pd.Timestamp("2024-12-31 23:59:59")).all()
    # every line of an order shares its timestamp; amounts are in cents
    assert a.groupby("order_id")["order_date"].nunique().max() == 1
    assert (a["amount"] == (a["quantity"] * a["unit_price"]).round(2)).all()


def test_make_orders_looks_like_a_shop():
    lines = make_orders(2000, random_state=11)
    orders = prepare_orders(lines, OrderColumns(order_id="order_id", cost="cost"))
    frame = orders.frame
    per_customer = frame[frame["is_purchase"]].groupby("customer_id").size()
    one_timers = (per_customer == 1).mean()
    returns = (~frame["is_purchase"]).mean()
    lines_per_order = orders.quality.rows_used / orders.quality.orders
    assert 0.2 < one_timers < 0.6          # a good share buy once
    assert 0.01 < returns < 0.08           # some returns
    assert 1.8 < lines_per_order < 3.2     # several lines per order
    spend = frame[frame["is_purchase"]].groupby("customer_id")["amount"].sum()
    assert spend.quantile(0.9) > 4 * spend.median()  # skewed spend


def test_make_orders_rejects_bad_parameters():
    with pytest.raises(ValueError, match="'n_customers' parameter must be a positive whole "
                                         "number. Got 0"):
        make_orders(0)
    with pytest.raises(ValueError, match=r"'return_rate' parameter must be in \[0, 1\). "
                                         "Got 1.5"):
        make_orders(10, return_rate=1.5)


def test_sample_params_are_the_documented_ones():
    assert SAMPLE_PARAMS["n_customers"] == 1000
    assert load_sample_orders()["customer_id"].nunique() == 1000


def test_make_orders_of_a_few_customers_without_returns():
    # ten customers may draw no return at all: the ids of an empty return table
    lines = make_orders(10, random_state=1)
    assert not lines["order_id"].str.startswith("R").any()
    assert lines["customer_id"].nunique() == 10
