"""Tests of member_tiers, tier_transitions, nps, customer_health and retention_scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty import OrderColumns, cohort_retention, prepare_orders
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.loyalty import (
    HealthRules,
    customer_health,
    loyalty_indicators,
    member_tiers,
    nps,
    retention_scenario,
    tier_transitions,
)
from rfm_loyalty.migration import NOT_YET_CUSTOMER

from .helpers import quiet_prepare


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["order_id"] = np.arange(len(frame))
    return frame


TIER_ROWS = [
    ("a", "2023-06-30", 4000.0),  # 366 days before as_of: outside the 365-day window
    ("a", "2023-07-01", 900.0),  # 365 days before: outside too (0 <= age < 365)
    ("a", "2023-07-02", 1100.0),  # inside
    ("b", "2024-03-01", 5200.0), ("b", "2024-04-01", -400.0),  # a return: net 4800
    ("c", "2024-06-30", 5000.0),  # exactly at the gold threshold
    ("d", "2024-01-01", 99.5), ("d", "2024-01-02", 0.5),
]


def test_tiers_by_hand() -> None:
    orders = quiet_prepare(_frame(TIER_ROWS), OrderColumns(order_id="order_id"))
    tiers = member_tiers(orders, thresholds={"gold": 5000, "silver": 1000})
    c = tiers.customers
    assert c["basis"].tolist() == [1100.0, 4800.0, 5000.0, 100.0]
    assert c["tier"].astype(str).tolist() == ["silver", "silver", "gold", "member"]
    assert list(c["tier"].cat.categories) == ["member", "silver", "gold"]
    assert c["tier_zh"].tolist() == ["银卡", "银卡", "金卡", "普通会员"]
    assert c["to_next_tier"].tolist()[:2] == [3900.0, 200.0]
    assert np.isnan(c.loc["c", "to_next_tier"])
    assert c.loc["d", "to_next_tier"] == 900.0
    assert c["next_tier"].tolist()[::3] == ["gold", "silver"]
    assert c.loc["b", "next_tier"] == "gold" and pd.isna(c.loc["c", "next_tier"])
    s = tiers.summary
    assert s["customers"].tolist() == [1, 2, 1]
    assert s["threshold"].tolist() == [0.0, 1000.0, 5000.0]
    np.testing.assert_allclose(s["spend_share"], np.array([100, 5900, 5000]) / 11000)
    assert list(tiers.thresholds) == ["silver", "gold"]


def test_orders_and_points_bases() -> None:
    orders = quiet_prepare(_frame(TIER_ROWS), OrderColumns(order_id="order_id"))
    by_orders = member_tiers(orders, thresholds={"silver": 2}, basis="orders_365d")
    # purchases in the window: a 1, b 1 (the return is no purchase), c 1, d 2
    assert by_orders.customers["basis"].tolist() == [1.0, 1.0, 1.0, 2.0]
    assert by_orders.customers["tier"].astype(str).tolist() == ["member"] * 3 + ["silver"]
    assert np.isnan(by_orders.customers.loc["a", "spend_to_next_tier"])
    points = member_tiers(orders, thresholds={"silver": 2000, "gold": 9000},
                          basis="points_365d", points_per_unit=2.0,
                          names_zh={"gold": "金牌会员"}, base_tier="basic")
    assert points.customers["basis"].tolist() == [2200.0, 9600.0, 10000.0, 200.0]
    assert points.customers["tier_zh"].tolist() == ["银卡", "金牌会员", "金牌会员", "basic"]
    assert points.customers.loc["a", "spend_to_next_tier"] == 3400.0  # 6800 points / 2


def test_tier_parameters_are_checked() -> None:
    frame = _frame(TIER_ROWS)
    with pytest.raises(InvalidParameterError, match="'thresholds' parameter of member_tiers "
                       "must be a non-empty mapping"):
        member_tiers(frame, thresholds={})
    with pytest.raises(InvalidParameterError, match=r"'basis' parameter of member_tiers must "
                       r"be 'spend_<N>d'.*Got 'spend_1y' instead"):
        member_tiers(frame, thresholds={"silver": 1}, basis="spend_1y")
    with pytest.raises(InvalidParameterError, match="the same threshold"):
        member_tiers(frame, thresholds={"silver": 1, "gold": 1})
    with pytest.raises(InvalidParameterError, match=r"thresholds\['gold'\]"):
        member_tiers(frame, thresholds={"gold": -5})


def test_tier_transitions() -> None:
    frame = _frame(TIER_ROWS)
    moves = tier_transitions(frame, "2024-03-31", "2024-06-30",
                             thresholds={"silver": 1000, "gold": 5000})
    assert moves.by == "member_tier"
    counts = moves.counts
    # at Mar 31: a gold (4,000 + 900 + 1,100 since 2023-04-01), b gold (5,200), d member;
    # at Jun 30: a silver (the first two orders left the window), b silver (the return)
    assert counts.loc["gold", "silver"] == 2  # a and b
    assert counts.loc["gold"].sum() == 2
    assert counts.loc["member", "member"] == 1  # d
    assert counts.loc[NOT_YET_CUSTOMER, "gold"] == 1  # c


SURVEY = pd.DataFrame({
    "customer_id": ["a", "b", "c", "d", "e", "a", 17.0],
    "score": [10, 8, 3, 9, 6, 2, 10],
    "date": ["2024-06-01", "2024-06-01", "2024-06-01", "2024-06-01", "2024-06-01",
             "2024-01-01", "2024-06-02"],
})


def test_nps_overall_and_by_label() -> None:
    customers = pd.DataFrame(
        {"segment": pd.Categorical(["champions", "at_risk", "champions", "at_risk"],
                                   categories=["champions", "at_risk", "lost"]),
         "lifecycle": ["active", "new", "new", "active"]},
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    table = nps(SURVEY, customers)
    overall = table[table["group"] == "all"].iloc[0]
    # latest answers: a 10, b 8, c 3, d 9, e 6, "17" 10 -> 3 promoters, 1 passive, 2 detractors
    assert (overall["responses"], overall["promoters"], overall["passives"],
            overall["detractors"]) == (6, 3, 1, 2)
    assert overall["nps"] == pytest.approx(100 * (3 - 2) / 6)
    seg = table[table["group"] == "segment"].set_index("label")
    assert list(seg.index) == ["champions", "at_risk", "(not a customer)"]
    assert seg.loc["champions", "nps"] == 0.0  # a promoter, c detractor
    assert seg.loc["at_risk", "nps"] == 50.0  # b passive, d promoter
    assert seg.loc["(not a customer)", "detractors"] == 1  # e
    early = nps(SURVEY, as_of="2024-03-01")
    assert early["responses"].tolist() == [1] and early["nps"].tolist() == [-100.0]
    bad = SURVEY.assign(score=[10, 11, 3, 9, 6, 2, 10])
    with pytest.raises(SchemaError, match=r"1 survey scores are not whole numbers from 0 to 10 "
                       r"\(first: 11\)"):
        nps(bad)
    with pytest.raises(SchemaError, match="nps needs the column 'score'"):
        nps(SURVEY.drop(columns="score"))


HEALTH_ROWS = [
    ("a", "2024-01-01", 10.0), ("a", "2024-01-31", 10.0), ("a", "2024-03-01", 10.0),
    ("b", "2024-01-01", 10.0), ("b", "2024-01-11", 10.0),
    ("c", "2024-02-20", 10.0),
    ("d", "2024-01-20", 100.0), ("d", "2024-02-25", 10.0),
    ("e", "2024-02-01", 10.0), ("e", "2024-02-15", 10.0), ("e", "2024-03-01", 12.0),
]


def test_health_by_hand() -> None:
    indicators = loyalty_indicators(quiet_prepare(_frame(HEALTH_ROWS),
                                                  OrderColumns(order_id="order_id")),
                                    window_days=30)
    survey = pd.DataFrame({"customer_id": ["a", "e", "d"], "score": [2, 3, 10],
                           "date": ["2024-02-01"] * 3})
    health = customer_health(indicators, survey=survey)
    # medians: a 30, b 10, d 36, e 14.5 -> the shop's rhythm 22.25 for c (10 days silent)
    np.testing.assert_allclose(health["rhythm_ratio"],
                               [0.0, 5.0, 10 / 22.25, 5 / 36, 0.0])
    assert health["spend_falling"].tolist() == [False, True, False, True, False]
    assert health["nps_group"].astype(object).fillna("-").tolist() == [
        "detractor", "-", "-", "promoter", "detractor"]
    assert health["health"].astype(str).tolist() == ["yellow", "red", "green", "yellow",
                                                      "yellow"]
    assert health["health_reason"].tolist() == ["detractor", "lapsing", "on_rhythm",
                                                "spend_falling", "detractor"]
    strict = customer_health(indicators, rules=HealthRules(yellow_rhythm=0.4, red_rhythm=4.9))
    assert strict["health_reason"].tolist() == ["on_rhythm", "lapsing", "late", "spend_falling",
                                                "on_rhythm"]
    with pytest.raises(ValueError, match="yellow_rhythm < red_rhythm"):
        HealthRules(yellow_rhythm=3.0, red_rhythm=2.0)


SCENARIO_ROWS = [
    ("a", "2024-01-05", 100.0), ("a", "2024-02-05", 50.0), ("a", "2024-03-05", 80.0),
    ("b", "2024-01-10", 100.0),
    ("c", "2024-02-01", 100.0), ("c", "2024-03-02", 40.0),
    ("d", "2024-04-30", 100.0),
]


def test_scenario_by_hand() -> None:
    frame = _frame(SCENARIO_ROWS).assign(cost=lambda t: t["amount"] * 0.6)
    orders = prepare_orders(frame, OrderColumns(order_id="order_id", cost="cost"))
    result = retention_scenario(orders, horizon_periods=3, uplift=0.1, cohort_size=30,
                                acquisition_cost=2.0)
    table = result.table
    # cohorts Jan (a, b), Feb (c), Apr (d); April is complete (as_of is Apr 30)
    np.testing.assert_allclose(table["retention_now"], [1.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(table["retention_scenario"], [1.0, 2 / 3 + 0.1, 1 / 3 + 0.1])
    assert table["cohorts_observed"].tolist() == [3, 2, 2]
    # spend per buyer: k=0 (100 x 4) / 4; k=1 (50 + 40) / 2; k=2 80 / 1
    np.testing.assert_allclose(table["revenue_per_active"], [100.0, 45.0, 80.0])
    assert result.margin == pytest.approx(0.4)
    revenue_now = 30 * (1.0 * 100 + 2 / 3 * 45 + 1 / 3 * 80)
    revenue_then = 30 * (1.0 * 100 + (2 / 3 + 0.1) * 45 + (1 / 3 + 0.1) * 80)
    assert result.summary.loc["revenue", "now"] == pytest.approx(revenue_now)
    assert result.summary.loc["profit", "now"] == pytest.approx(0.4 * revenue_now - 60)
    assert result.summary.loc["profit", "lift"] == pytest.approx(
        0.4 * (revenue_then - revenue_now) / (0.4 * revenue_now - 60))
    assert any("40.0% of revenue" in a for a in result.assumptions)
    assert "Reichheld & Sasser 1990" in str(result)
    # the pooled curve is the cohort matrix, read on complete periods
    matrix = cohort_retention(orders, metric="customers")
    assert matrix.loc[pd.Period("2024-01", "M"), 1] == 1.0


def test_scenario_refuses_what_the_data_cannot_show() -> None:
    frame = _frame(SCENARIO_ROWS)
    with pytest.raises(InvalidParameterError, match=r"'horizon_periods' parameter of "
                       r"retention_scenario must be at most 4: the data show 4 complete M"):
        retention_scenario(frame, horizon_periods=5)
    without = retention_scenario(frame, horizon_periods=2)
    assert without.summary.loc["profit"].isna().all()
    assert any("no cost column and no margin" in a for a in without.assumptions)
    orders = prepare_orders(frame.assign(cost=1.0), OrderColumns(order_id="order_id",
                                                                 cost="cost"))
    with pytest.raises(InvalidParameterError, match="leave margin unset"):
        retention_scenario(orders, margin=0.3, horizon_periods=2)
