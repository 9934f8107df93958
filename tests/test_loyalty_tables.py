"""Tests of loyalty_tables (the entry point for analyze) and the loyalty views on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty import OrderColumns, prepare_orders, rfm_table
from rfm_loyalty.datasets import add_products, make_orders
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.loyalty import (
    LOYALTY_COLUMNS,
    loyalty_indicators,
    loyalty_tables,
    loyalty_value_matrix,
    second_purchase,
)

from .helpers import real_orders_with_products

ALL_LINE_COLUMNS = OrderColumns(order_id="order_id", quantity="quantity",
                                unit_price="unit_price", cost="cost", product="product",
                                category="category", list_price="list_price",
                                channel="channel")


@pytest.fixture(scope="module")
def synthetic():
    lines = add_products(make_orders(300, random_state=3), random_state=3)
    return prepare_orders(lines, ALL_LINE_COLUMNS)


def test_every_column_documented_and_typed(synthetic) -> None:
    customers = rfm_table(synthetic).assign(profit=lambda t: t["monetary_total"] * 0.3)
    survey = pd.DataFrame({"customer_id": customers.index[:40],
                           "score": np.arange(40) % 11, "date": "2024-06-01"})
    views = loyalty_tables(synthetic, customers, thresholds={"silver": 300, "gold": 1000},
                           survey=survey, leads=pd.DataFrame({"customer_id": ["L1", "L2"]}))
    assert views.columns.index.equals(customers.index)
    assert list(views.columns.columns) == list(LOYALTY_COLUMNS)  # everything, in order
    text = {"text", "object", "str"}
    for name, (dtype, _) in LOYALTY_COLUMNS.items():
        got = str(views.columns[name].dtype)
        assert got == dtype or (dtype == "text" and got in text), (name, got)
    assert views.missing == {}
    assert set(views.tables) == {"loyalty_stages", "loyalty_value_matrix", "member_tiers",
                                 "nps", "health", "second_purchase", "second_purchase_curve",
                                 "retention_scenario"}
    # leads are counted in the stage table, not joined to the customer table
    assert views.tables["loyalty_stages"].loc["suspect", "customers"] == 2
    assert views.tables["loyalty_value_matrix"]["customers"].sum() == len(customers)
    assert views.notes["loyalty_value_matrix"][0].startswith("Value: profit")
    assert "horizon cut" not in " ".join(views.notes.get("retention_scenario", ()))
    assert "columns" not in views.notes
    # analyze's customer table has median_gap_days (the same figure): not repeated
    with_gap = customers.assign(median_gap_days=views.columns["median_gap_days"])
    again = loyalty_tables(synthetic, with_gap, thresholds={"silver": 300, "gold": 1000})
    assert "median_gap_days" not in again.columns.columns
    assert again.notes["columns"] == (
        "already in the customer table, not repeated: ['median_gap_days']",)
    assert with_gap.join(again.columns).shape[1] == with_gap.shape[1] + again.columns.shape[1]


def test_only_what_the_inputs_allow() -> None:
    orders = prepare_orders(make_orders(200, random_state=4, with_cost=False),
                            OrderColumns(order_id="order_id", amount="amount"))
    customers = rfm_table(orders)
    views = loyalty_tables(orders, customers, horizon_periods=60)
    absent = {"distinct_products", "discount_spend_share", "channels_used", "member_tier",
              "nps_score"}
    assert not absent & set(views.columns.columns)
    assert views.missing["member_tiers"] == "needs tier thresholds: pass thresholds={...}"
    assert views.missing["loyalty_stage=advocate"].startswith("needs referrals or survey")
    assert views.missing["nps"].startswith("needs survey answers")
    assert "nps" not in views.tables and "member_tiers" not in views.tables
    assert views.notes["loyalty_value_matrix"][0].startswith("Value: revenue")
    assert any("Horizon cut from 60" in a for a in views.notes["retention_scenario"])
    with pytest.raises(SchemaError, match="loyalty_tables needs the column 'monetary_total'"):
        loyalty_tables(orders, customers.drop(columns="monetary_total"))
    stranger = pd.concat([customers, customers.iloc[[0]].rename(index={customers.index[0]: "?"})])
    with pytest.raises(SchemaError, match="1 customers of the customer table have no purchase"):
        loyalty_tables(orders, stranger)


@pytest.fixture(scope="module")
def retail_products():
    return real_orders_with_products()


@pytest.mark.slow
def test_online_retail_headline_figures(retail_products) -> None:
    """The figures quoted in docs/loyalty.md (UCI Online Retail, as of 2011-12-09)."""
    result = loyalty_indicators(retail_products)
    table = result.table
    assert len(table) == 4338
    # products are named: breadth measures present; no list price or discount: left out
    assert {"distinct_products", "repurchased_products"} <= set(table.columns)
    assert result.missing["discount_spend_share"].startswith("needs the list_price or "
                                                             "discount column")
    assert "distinct_categories" in result.missing and "channels_used" in result.missing
    repeat = int((table["repeat_purchase_days"] > 0).sum())
    assert repeat == 2790  # repeat rate 64.3%
    assert table["median_gap_days"].median() == 52.5
    assert int((table["repurchased_products"] > 0).sum()) == 2551
    onboarding = second_purchase(retail_products)
    rate = onboarding.cohorts["rate_90d"]
    assert rate.loc[pd.Period("2011-01", "M")] == pytest.approx(197 / 417)
    assert rate.loc[pd.Period("2011-05", "M")] == pytest.approx(94 / 284)
    assert onboarding.cohorts.loc[pd.Period("2011-09", "M"), "closed_90d"] == 53  # censored
    assert rate.loc[pd.Period("2011-10", "M"):].isna().all()  # no 90-day window closed yet
    assert onboarding.overall["rate_90d"] == pytest.approx(1533 / 3370)
    assert onboarding.overall["km_90d"] == pytest.approx(0.4599, abs=1e-4)
    cells = loyalty_value_matrix(retail_products).cells
    assert cells["customers"].tolist() == [1751, 418, 417, 1752]
    np.testing.assert_allclose(cells["value_share"], [0.8504, 0.0686, 0.0219, 0.0591],
                               atol=1e-4)
