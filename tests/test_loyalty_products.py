"""Tests of datasets.add_products, and naive twins of second_purchase and member_tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty import OrderColumns, prepare_orders
from rfm_loyalty.datasets import DISCOUNT_DEPTHS, add_products, make_orders
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.loyalty import loyalty_indicators, member_tiers, second_purchase

from .helpers import quiet_prepare


def test_add_products_columns_and_invariants() -> None:
    lines = make_orders(200, random_state=5)
    before = lines.copy()
    out = add_products(lines, n_products=50, n_categories=5, discount_share=0.4,
                       random_state=5)
    pd.testing.assert_frame_equal(lines, before)  # the input is not modified
    assert list(out.columns) == [*lines.columns, "product", "category", "list_price",
                                 "channel"]
    pd.testing.assert_frame_equal(out[lines.columns], lines)  # amounts unchanged
    assert out["product"].str.fullmatch(r"P\d{2}").all()
    number = out["product"].str.slice(1).astype(int)
    assert (out["category"] == "K" + (number % 5).astype(str)).all()
    assert set(out["channel"]) <= {"web", "app", "store"}
    assert (out.groupby("order_id")["channel"].nunique() == 1).all()  # one channel an order
    depth = 1 - out["unit_price"] / out["list_price"]
    off = depth > 0.005
    near = [np.isclose(depth[off], d, atol=0.01) for d in DISCOUNT_DEPTHS]
    assert np.logical_or.reduce(near).all()  # every discount is one of the depths
    assert 0.2 < out.loc[~out["order_id"].str.startswith("R")].groupby("order_id")[
        "list_price"].first().pipe(lambda s: s.notna().mean()) <= 1.0
    returns = out[out["order_id"].str.startswith("R")]
    originals = out.drop_duplicates("order_id").set_index("order_id")
    source = originals.loc["O" + returns["order_id"].str.slice(1)]
    assert (returns["product"].to_numpy() == source["product"].to_numpy()).all()
    same = add_products(lines, n_products=50, n_categories=5, discount_share=0.4,
                        random_state=5)
    pd.testing.assert_frame_equal(out, same)  # seeded


def test_add_products_feeds_every_indicator() -> None:
    lines = add_products(make_orders(300, random_state=2), random_state=2)
    orders = prepare_orders(lines, OrderColumns(
        order_id="order_id", quantity="quantity", unit_price="unit_price",
        product="product", category="category", list_price="list_price", channel="channel"))
    result = loyalty_indicators(orders)
    assert result.missing == {}
    table = result.table
    # deal hunters exist: the per-customer taste for deals is beta distributed
    assert table["deal_dependent"].sum() > 0
    assert 0.1 < table["discount_order_share"].mean() < 0.5
    assert (table["channels_used"] >= 1).all()
    assert (table["repurchased_products"] <= table["distinct_products"]).all()


def test_add_products_checks_its_parameters() -> None:
    lines = make_orders(50, random_state=1)
    with pytest.raises(SchemaError, match="add_products needs the column 'unit_price'"):
        add_products(lines.drop(columns="unit_price"))
    with pytest.raises(InvalidParameterError, match="'n_products' parameter of add_products "
                       "must be a whole number >= 20"):
        add_products(lines, n_products=5)
    with pytest.raises(InvalidParameterError, match="'discount_share' parameter"):
        add_products(lines, discount_share=1.0)
    with pytest.raises(InvalidParameterError, match="non-empty list of names"):
        add_products(lines, channels=())


DAYS = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]), st.integers(0, 200),
                          st.sampled_from([-5.0, 10.0, 20.0])), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAYS, st.integers(1, 120))
def test_second_purchase_agrees_with_a_naive_count(rows, window) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    frame["order_id"] = np.arange(len(frame))
    buys = frame[frame["amount"] > 0]
    if buys.empty:
        return
    as_of = frame["order_date"].max()
    result = second_purchase(quiet_prepare(frame, OrderColumns(order_id="order_id")),
                             within_days=(window,), by="M")
    closed = repeat = 0
    for _, group in buys.groupby("customer_id"):
        days = sorted(set(group["order_date"]))
        if (as_of - days[0]).days >= window:
            closed += 1
            repeat += len(days) > 1 and (days[1] - days[0]).days <= window
    assert result.overall[f"closed_{window}d"] == closed
    assert result.overall[f"repeat_{window}d"] == repeat
    assert result.cohorts[f"closed_{window}d"].sum() == closed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DAYS, st.integers(1, 150), st.floats(1.0, 40.0), st.floats(41.0, 90.0))
def test_member_tiers_agree_with_a_naive_rule(rows, window, silver, gold) -> None:
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    frame["order_date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame["day"], unit="D")
    frame["order_id"] = np.arange(len(frame))
    if not (frame["amount"] > 0).any():
        return
    tiers = member_tiers(quiet_prepare(frame, OrderColumns(order_id="order_id")),
                         thresholds={"silver": silver, "gold": gold},
                         basis=f"spend_{window}d").customers
    as_of = frame["order_date"].max()
    for customer, row in tiers.iterrows():
        mine = frame[frame["customer_id"] == customer]
        spend = mine.loc[(as_of - mine["order_date"]).dt.days < window, "amount"].sum()
        tier = "gold" if spend >= gold else "silver" if spend >= silver else "member"
        assert row["basis"] == pytest.approx(spend)
        assert row["tier"] == tier
        if tier != "gold":
            goal = silver if tier == "member" else gold
            assert row["to_next_tier"] == pytest.approx(goal - spend)
