"""Tests of rfm_loyalty.profitability: customer_profit, profit_tiers, profitability."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty.concentration import concentration_by, pareto
from rfm_loyalty.exceptions import DataQualityWarning, SchemaError
from rfm_loyalty.orders import OrderColumns, prepare_orders
from rfm_loyalty.profitability import (
    TIER_ACTIONS,
    TIER_LABELS,
    ProfitabilityResult,
    customer_profit,
    profit_tiers,
    profitability,
)
from rfm_loyalty.summary import rfm_table

DOCS = Path(__file__).resolve().parents[1] / "docs" / "profitability.md"
ONLINE_RETAIL = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"

# Built so that Sherden's 80/20/30 rule holds exactly (docs/profitability.md):
# total 100, top 2 of 10 make 80, bottom 3 lose 40 = half of 80.
SHERDEN = pd.Series(
    [50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0, -10.0, -10.0, -20.0],
    index=pd.Index(list("ABCDEFGHIJ"), name="customer_id"),
    name="profit",
)


def orders_frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": pd.to_datetime([r[1] for r in rows]),
            "amount": [r[2] for r in rows],
            "order_id": list(range(1, len(rows) + 1)),
        }
    )


# --------------------------------------------------------------------------- naive reference


def naive_profitability(profit: dict[str, float], top: float, bottom: float) -> dict[str, float]:
    """Loop-based restatement of the definitions in docs/profitability.md."""
    ranked = sorted(profit.values(), reverse=True)
    n = len(ranked)
    total = sum(ranked)
    n_top = math.ceil(round(top * n, 9))
    n_bottom = min(math.ceil(round(bottom * n, 9)), n - n_top)
    running, best, best_at = 0.0, -math.inf, 0
    for i, value in enumerate(ranked, start=1):
        running += value
        if running / total > best + 1e-12:
            best, best_at = running / total, i
    top_share = sum(ranked[:n_top]) / total
    bottom_share = sum(ranked[n - n_bottom :]) / total
    return {
        "top20_share": top_share,
        "bottom30_share": bottom_share,
        "erosion": -bottom_share / top_share if bottom_share < 0 else 0.0,
        "whale_peak": max(best, 0.0),
        "whale_peak_at": best_at / n if best > 0 else 0.0,
        "unprofitable_share": sum(v < 0 for v in ranked) / n,
        "loss_share": -sum(v for v in ranked if v < 0) / sum(v for v in ranked if v > 0),
    }


def naive_rank_tiers(profit: dict[str, float], fractions: tuple[float, float, float]):
    n = len(profit)
    n_top = math.ceil(round(fractions[0] * n, 9))
    n_bottom = min(math.ceil(round(fractions[2] * n, 9)), n - n_top)
    out = {}
    for cid, value in profit.items():
        at_least = sum(v >= value for v in profit.values())  # last position of its tie group
        at_most = sum(v <= value for v in profit.values())
        if at_least <= n_top:
            out[cid] = "profitable"
        elif at_most <= n_bottom:
            out[cid] = "resource_wasting"
        else:
            out[cid] = "break_even"
    return out


# --------------------------------------------------------------------------- customer_profit


def test_customer_profit_margin_model_by_hand():
    raw = orders_frame(
        [
            ("A", "2024-01-05", 200.0),
            ("A", "2024-02-01", 100.0),
            ("B", "2024-01-10", 80.0),
            ("B", "2024-01-20", -80.0),  # a return: no revenue, still an order to handle
            ("C", "2024-01-15", 40.0),
        ]
    )
    profit = customer_profit(
        prepare_orders(raw), margin=0.3, cost_per_order=5.0, cost_per_customer=10.0
    )
    # A: 0.3*300 - 5*2 - 10 = 70; B: 0 - 10 - 10 = -20; C: 12 - 5 - 10 = -3
    expected = pd.Series(
        [70.0, -20.0, -3.0], index=pd.Index(["A", "B", "C"], name="customer_id"), name="profit"
    )
    pd.testing.assert_series_equal(profit, expected, check_index_type=False)


def test_customer_profit_cost_column_model_by_hand():
    raw = orders_frame(
        [("A", "2024-01-05", 200.0), ("A", "2024-02-01", 100.0), ("B", "2024-01-10", 50.0)]
    ).assign(cost=[150.0, 60.0, 45.0])
    orders = prepare_orders(raw, OrderColumns(order_id="order_id", cost="cost"))
    profit = customer_profit(orders, cost_per_order=2.0)
    # A: (200-150) + (100-60) - 2*2 = 86; B: 5 - 2 = 3
    assert profit.to_dict() == {"A": 86.0, "B": 3.0}


def test_customer_profit_includes_customers_with_only_returns():
    raw = orders_frame([("A", "2024-01-05", 100.0), ("R", "2024-01-06", -30.0)])
    profit = customer_profit(prepare_orders(raw), margin=0.5, cost_per_order=1.0)
    # R never purchased (not in rfm_table) but costs money: 0.5*-30 - 1
    assert profit.to_dict() == {"A": 49.0, "R": -16.0}
    assert "R" not in rfm_table(prepare_orders(raw)).index
    # same id dtype as rfm_table (text: object on pandas 2.2, str on 3.x), so joins align
    assert profit.index.dtype == rfm_table(prepare_orders(raw)).index.dtype
    assert profit.index.name == "customer_id" and profit.name == "profit"


def test_customer_profit_accepts_canonical_dataframe_and_as_of():
    raw = orders_frame(
        [("A", "2024-01-05", 100.0), ("A", "2024-03-01", 100.0), ("B", "2024-03-02", 10.0)]
    )
    profit = customer_profit(raw, margin=0.2, cost_per_order=1.0, as_of="2024-02-01")
    assert profit.to_dict() == {"A": 19.0}  # only A's first order is on or before as_of


def test_customer_profit_matches_naive_on_random_orders():
    rng = np.random.default_rng(11)
    n = 400
    raw = pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i:02d}" for i in range(40)], size=n),
            "order_date": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 300, size=n), unit="D"),
            "amount": rng.normal(50, 40, size=n).round(2),
            "order_id": np.arange(n),
        }
    )
    # order_id named: several orders of one customer on one day stay separate orders
    orders = prepare_orders(raw, OrderColumns(order_id="order_id"))
    profit = customer_profit(orders, margin=0.25, cost_per_order=3.0, cost_per_customer=7.0)
    expected = {}
    for cid in sorted(set(raw["customer_id"])):
        mine = raw[raw["customer_id"] == cid]
        expected[cid] = 0.25 * mine["amount"].sum() - 3.0 * len(mine) - 7.0
    assert list(profit.index) == list(expected)
    np.testing.assert_allclose(profit.to_numpy(), list(expected.values()), atol=1e-9)


def test_customer_profit_needs_a_cost_input():
    raw = orders_frame([("A", "2024-01-05", 100.0)])
    with pytest.raises(SchemaError, match=r"needs a cost input.*Revenue alone can never show"):
        customer_profit(prepare_orders(raw))


@pytest.mark.parametrize(
    ("margin", "pattern"),
    [
        (0.0, r"must be a fraction in \(0, 1\].*Got 0.0 instead"),
        (1.2, r"Got 1.2 instead"),
        (30, r"Got 30 instead; did you mean 0.3\?"),
        (-0.1, r"Got -0.1 instead"),
        (float("nan"), r"Got nan instead"),
        ("0.3", r"Got '0.3' instead"),
    ],
)
def test_customer_profit_validates_margin(margin, pattern):
    raw = orders_frame([("A", "2024-01-05", 100.0)])
    with pytest.raises(ValueError, match=r"'margin' parameter of customer_profit"):
        customer_profit(prepare_orders(raw), margin=margin)
    with pytest.raises(ValueError, match=pattern):
        customer_profit(prepare_orders(raw), margin=margin)


def test_customer_profit_rejects_margin_with_cost_column():
    raw = orders_frame([("A", "2024-01-05", 100.0)]).assign(cost=[60.0])
    orders = prepare_orders(raw, OrderColumns(order_id="order_id", cost="cost"))
    with pytest.raises(ValueError, match=r"got margin=0.3 but the orders already have a 'cost'"):
        customer_profit(orders, margin=0.3)


@pytest.mark.parametrize("name", ["cost_per_order", "cost_per_customer"])
@pytest.mark.parametrize("bad", [-1.0, float("inf"), None, True])
def test_customer_profit_validates_costs(name, bad):
    raw = orders_frame([("A", "2024-01-05", 100.0)])
    with pytest.raises(ValueError, match=rf"'{name}' parameter .* finite amount >= 0"):
        customer_profit(prepare_orders(raw), margin=0.3, **{name: bad})


def test_customer_profit_does_not_mutate_input():
    raw = orders_frame([("A", "2024-01-05", 100.0), ("B", "2024-01-06", 50.0)])
    before = raw.copy()
    customer_profit(raw, margin=0.3, cost_per_order=1.0)
    pd.testing.assert_frame_equal(raw, before)


# --------------------------------------------------------------------------- profitability


def test_sherden_rule_holds_exactly():
    result = profitability(SHERDEN, tolerance=0.0)
    assert isinstance(result, ProfitabilityResult)
    assert result.n_customers == 10
    assert result.total_profit == 100.0
    assert result.total_positive and result.message == ""
    assert result.top20_share == 0.8
    assert result.bottom30_share == -0.4
    assert result.erosion == 0.5
    assert result.whale_peak == pytest.approx(1.4)
    assert result.whale_peak_at == pytest.approx(0.7)
    assert result.unprofitable_share == 0.3
    assert result.loss_share == pytest.approx(40 / 140)
    assert result.holds_80_20 and result.holds_80_20_30


def test_whale_curve_table():
    whale = profitability(SHERDEN).whale
    assert list(whale.columns) == ["customer_share", "cumulative_profit", "profit_share"]
    assert whale.index.name == "rank"
    cumulative = [0, 50, 80, 100, 115, 125, 135, 140, 130, 120, 100]
    assert whale["cumulative_profit"].tolist() == cumulative
    assert whale["profit_share"].tolist() == pytest.approx([c / 100 for c in cumulative])
    assert whale["profit_share"].iloc[-1] == 1.0


def test_whale_customer_base_does_not_hold_80_20():
    # total 100: top 2 of 10 make 160, the bottom 3 lose 90 -> erosion 90/160
    profit = pd.Series([100.0, 60.0, 10.0, 10.0, 5.0, 5.0, 0.0, -20.0, -30.0, -40.0])
    result = profitability(profit)
    assert result.total_profit == 100.0
    assert result.top20_share == pytest.approx(1.6)
    assert result.bottom30_share == pytest.approx(-0.9)
    assert result.erosion == pytest.approx(0.5625)
    assert result.whale_peak == pytest.approx(1.9)
    assert result.whale_peak_at == pytest.approx(0.6)  # plateau at 190 after 6 and 7
    assert result.unprofitable_share == pytest.approx(0.3)
    assert result.loss_share == pytest.approx(90 / 190)
    assert not result.holds_80_20 and not result.holds_80_20_30


def test_80_20_holds_but_not_80_20_30_without_unprofitable_tail():
    # total 100: top 2 of 10 make 80; nobody loses money
    profit = pd.Series([50.0, 30.0, 5.0, 5.0, 5.0, 2.0, 1.0, 1.0, 1.0, 0.0])
    result = profitability(profit)
    assert result.top20_share == pytest.approx(0.8)
    assert result.bottom30_share == pytest.approx(0.02)
    assert result.erosion == 0.0
    assert result.whale_peak == 1.0 and result.whale_peak_at == pytest.approx(0.9)
    assert result.holds_80_20 and not result.holds_80_20_30
    assert math.isnan(profitability(pd.Series([-1.0, -2.0])).loss_share)


@pytest.mark.parametrize(("top20", "holds"), [(0.75, True), (0.85, True), (0.74, False)])
def test_tolerance_is_absolute_and_two_sided(top20, holds):
    # 2 of 10 customers make top20 x 100 of a total of 100, the rest share what is left
    rest = (100.0 - top20 * 100) / 8
    profit = pd.Series([top20 * 50, top20 * 50] + [rest] * 8)
    assert profitability(profit, tolerance=0.05).holds_80_20 is holds


def test_total_loss_case():
    profit = pd.Series([30.0, 10.0, -20.0, -70.0], index=list("wxyz"))
    result = profitability(profit)
    assert result.total_profit == -50.0
    assert not result.total_positive
    assert "total profit is -50.00 (<= 0)" in result.message
    for name in ("whale_peak", "whale_peak_at", "top20_share", "bottom30_share", "erosion"):
        assert math.isnan(getattr(result, name)), name
    assert result.whale["profit_share"].isna().all()
    assert result.whale["cumulative_profit"].tolist() == [0.0, 30.0, 40.0, 20.0, -50.0]
    assert not result.holds_80_20 and not result.holds_80_20_30
    assert result.unprofitable_share == 0.5
    assert result.loss_share == pytest.approx(90 / 40)
    assert result.tier_summary["profit_share"].isna().all()
    assert result.tier_summary["profit"].tolist() == [30.0, -10.0, -70.0]
    text = str(result)
    assert "NOTE: total profit is -50.00 (<= 0)" in text
    assert "whale curve peak                 undefined" in text
    assert "Note:</b> total profit is -50.00" in result._repr_html_()


def test_zero_total_is_a_loss_case_too():
    result = profitability(pd.Series([10.0, -10.0]))
    assert not result.total_positive and math.isnan(result.top20_share)


def test_ties_at_the_top_boundary():
    # N = 5: top group ceil(1.0) = 1 customer, but B and C tie with A.
    profit = pd.Series([40.0, 40.0, 40.0, 0.0, -20.0], index=list("ABCDE"))
    result = profitability(profit)
    assert result.top20_share == pytest.approx(40 / 100)  # counts one of the tied
    assert list(result.ranked.index) == list("ABCDE")
    # equal profit -> equal tier: the tie straddles the boundary, so all break-even
    assert result.tiers.astype(str).tolist() == [
        "break_even",
        "break_even",
        "break_even",
        "break_even",
        "resource_wasting",
    ]
    assert result.tier_summary["n_customers"].tolist() == [0, 4, 1]


def test_tiers_by_rank_and_sign():
    tiers = profit_tiers(SHERDEN)
    assert tiers.name == "tier"
    assert isinstance(tiers.dtype, pd.CategoricalDtype) and tiers.dtype.ordered
    assert list(tiers.cat.categories) == list(TIER_LABELS)
    by_label = {t: sorted(tiers.index[tiers == t]) for t in TIER_LABELS}
    assert by_label == {
        "profitable": ["A", "B"],
        "break_even": ["C", "D", "E", "F", "G", "H", "I"],  # H, I tie across the bottom edge
        "resource_wasting": ["J"],
    }
    signed = profit_tiers(SHERDEN, by="sign", band=5.0)
    assert sorted(signed.index[signed == "break_even"]) == ["G"]  # |5| <= 5
    assert sorted(signed.index[signed == "resource_wasting"]) == ["H", "I", "J"]
    zero_band = profit_tiers(pd.Series([3.0, 0.0, -1.0]), by="sign")
    assert zero_band.astype(str).tolist() == ["profitable", "break_even", "resource_wasting"]
    assert (tiers >= "break_even").sum() == 9  # ordered: resource_wasting < break_even


def test_tiers_custom_fractions_and_order_kept():
    profit = pd.Series([1.0, 9.0, 5.0, 3.0], index=["d", "a", "c", "b"])
    tiers = profit_tiers(profit, tiers=(0.5, 0.25, 0.25))
    assert list(tiers.index) == ["d", "a", "c", "b"]  # the input's order
    assert tiers.astype(str).tolist() == [
        "resource_wasting",
        "profitable",
        "profitable",
        "break_even",
    ]


def test_tier_summary_and_actions():
    result = profitability(SHERDEN)
    summary = result.tier_summary
    assert list(summary.index) == ["profitable", "break_even", "resource_wasting"]
    assert list(summary.columns) == [
        "n_customers",
        "customer_share",
        "profit",
        "profit_share",
        "name_zh",
        "action",
        "action_zh",
    ]
    assert summary["n_customers"].tolist() == [2, 7, 1]
    assert summary["profit"].tolist() == [80.0, 40.0, -20.0]
    assert summary["profit_share"].tolist() == pytest.approx([0.8, 0.4, -0.2])
    assert summary.loc["profitable", "name_zh"] == "价值顾客"
    assert summary.loc["resource_wasting", "action"].startswith("Reduce cost")
    assert set(TIER_ACTIONS) == set(TIER_LABELS)
    for label, action in TIER_ACTIONS.items():
        assert action.label == label and action.action and action.action_zh and action.name_zh
    with pytest.raises(TypeError):
        TIER_ACTIONS["profitable"] = TIER_ACTIONS["break_even"]  # type: ignore[index]


def test_small_n_groups_never_overlap():
    result = profitability(pd.Series([7.0], index=["solo"]))
    assert result.top20_share == 1.0 and result.bottom30_share == 0.0 and result.erosion == 0.0
    assert result.tiers.astype(str).tolist() == ["profitable"]
    two = profitability(pd.Series([10.0, -4.0]))
    # top ceil(0.4) = 1, bottom min(ceil(0.6), 2 - 1) = 1
    assert two.top20_share == pytest.approx(10 / 6)
    assert two.bottom30_share == pytest.approx(-4 / 6)
    assert two.erosion == pytest.approx(0.4)


def test_text_and_html_views():
    result = profitability(SHERDEN)
    text = str(result)
    lines = text.splitlines()
    assert lines[0] == (
        "Profitability of 10 customers: total profit 100.00; tiers by rank (20/60/20)"
    )
    assert "top 20% of customers make        80.0%" in text
    assert "bottom 30% of customers make     -40.0%" in text
    assert "whale curve peak                 140.0% at 70.0% of customers" in text
    assert "80/20/30 holds (±5 pts)          yes" in text
    assert "tier resource_wasting            1 customers (10.0%), -20.0% of profit -> " in text
    signed = str(profitability(SHERDEN, by="sign", band=5.0))
    assert "tiers by sign (band ±5)" in signed
    page = result._repr_html_()
    assert page.startswith("<div><table><caption>Profitability of 10 customers")
    assert "<td>140.0% at 70.0% of customers</td>" in page


def test_input_not_mutated():
    profit = SHERDEN.copy()
    profitability(profit)
    profit_tiers(profit, by="sign")
    pd.testing.assert_series_equal(profit, SHERDEN)


def test_parameter_errors():
    with pytest.raises(ValueError, match=r"top \+ bottom must be <= 1.*top=0.8, bottom=0.3"):
        profitability(SHERDEN, top=0.8)
    with pytest.raises(
        ValueError, match=r"'tiers' parameter must be three fractions.*\(0.2, 0.6\)"
    ):
        profitability(SHERDEN, tiers=(0.2, 0.6))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"summing to 1.*Got \(0.2, 0.5, 0.2\) instead"):
        profit_tiers(SHERDEN, tiers=(0.2, 0.5, 0.2))
    with pytest.raises(ValueError, match=r"'by' parameter of profitability must be one of "
                                         r"\['rank', 'sign'\]"):
        profitability(SHERDEN, by="quantile")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'by' parameter of profit_tiers must be one of"):
        profit_tiers(SHERDEN, by="quantile")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'band' parameter .* Got -5.0 instead"):
        profit_tiers(SHERDEN, by="sign", band=-5.0)
    with pytest.raises(ValueError, match=r"'tolerance' parameter .* Got 5 instead"):
        profitability(SHERDEN, tolerance=5)
    with pytest.raises(ValueError, match=r"'top' parameter of profitability .* Got 20 instead"):
        profitability(SHERDEN, top=20)
    with pytest.raises(ValueError, match=r"got 1 missing \(NaN\)"):
        profitability(pd.Series([1.0, np.nan]))


# --------------------------------------------------------------------------- properties

profits = st.lists(
    st.floats(min_value=-1e5, max_value=1e5, allow_nan=False).map(lambda x: round(x, 2)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(profits)
def test_whale_curve_ends_at_one(values):
    result = profitability(pd.Series(values))
    if result.total_profit > 0:
        assert result.whale["profit_share"].iloc[-1] == 1.0
        assert result.whale_peak >= 1.0
        assert 0.0 <= result.erosion
    else:
        assert result.whale["profit_share"].isna().all()
    counts = result.tier_summary["n_customers"]
    assert counts.sum() == len(values)


@settings(max_examples=50, deadline=None)
@given(profits, st.randoms(use_true_random=False))
def test_reordering_customers_changes_nothing(values, rnd):
    series = pd.Series(values, index=[f"c{i:03d}" for i in range(len(values))])
    order = list(range(len(values)))
    rnd.shuffle(order)
    a, b = profitability(series), profitability(series.iloc[order])
    for name in (
        "top20_share",
        "bottom30_share",
        "erosion",
        "whale_peak",
        "whale_peak_at",
        "unprofitable_share",
        "loss_share",
        "holds_80_20",
        "holds_80_20_30",
    ):
        x, y = getattr(a, name), getattr(b, name)
        assert x == y or (math.isnan(x) and math.isnan(y)), name
    pd.testing.assert_frame_equal(a.whale, b.whale)
    pd.testing.assert_series_equal(a.tiers.sort_index(), b.tiers.sort_index())
    pd.testing.assert_frame_equal(a.tier_summary, b.tier_summary)


def test_matches_naive_implementation_on_random_data():
    rng = np.random.default_rng(3)
    for _ in range(25):
        n = int(rng.integers(2, 80))
        values = (rng.lognormal(3, 1.2, size=n) - rng.lognormal(2.5, 1.0, size=n)).round(0)
        values[rng.random(n) < 0.2] = values[0]  # ties
        profit = {f"c{i:03d}": float(v) for i, v in enumerate(values)}
        series = pd.Series(profit)
        tiers = profit_tiers(series)
        assert tiers.astype(str).to_dict() == naive_rank_tiers(profit, (0.2, 0.6, 0.2))
        if sum(values) <= 0 or not (values > 0).any():
            continue
        result = profitability(series)
        for name, expected in naive_profitability(profit, 0.2, 0.3).items():
            assert getattr(result, name) == pytest.approx(expected, abs=1e-12), name


# --------------------------------------------------------------------------- docs example


def _doc_table(marker: str) -> list[list[str]]:
    text = DOCS.read_text(encoding="utf-8")
    block = text.split(f"<!-- worked-example:{marker} -->", 1)[1].strip().splitlines()
    rows = []
    for line in block:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows[2:]  # header and separator


def test_docs_worked_example():
    customers = _doc_table("customers")
    assert len(customers) == 10
    rows, labels, doc_revenue, doc_profit = [], {}, {}, {}
    order_day = pd.Timestamp("2024-01-01")
    for cid, amounts, n_orders, revenue, profit, segment in customers:
        parsed = [float(a) for a in amounts.split(",")]
        assert len(parsed) == int(n_orders)
        assert sum(parsed) == float(revenue)
        rows += [(cid, str(order_day + pd.Timedelta(days=i)), a) for i, a in enumerate(parsed)]
        labels[cid], doc_revenue[cid], doc_profit[cid] = segment, float(revenue), float(profit)

    orders = prepare_orders(orders_frame(rows))
    profit = customer_profit(orders, margin=0.30, cost_per_order=5.0, cost_per_customer=10.0)
    assert profit.to_dict() == pytest.approx(doc_profit)
    table = rfm_table(orders).join(profit).assign(segment=pd.Series(labels))
    assert table["monetary_total"].to_dict() == pytest.approx(doc_revenue)

    revenue = pareto(table["monetary_total"])
    result = profitability(profit)
    signed = profitability(profit, by="sign", band=5.0)
    segments = concentration_by(table, by="segment")
    computed = {
        "revenue.n_customers": revenue.n_customers,
        "revenue.total": revenue.total,
        "revenue.top_share(0.2)": revenue.top_share(0.2),
        "revenue.top_share(0.3)": revenue.top_share(0.3),
        "revenue.top_share(0.5)": revenue.top_share(0.5),
        "revenue.customers_for(0.8)": revenue.customers_for(0.8),
        "revenue.gini": revenue.gini,
        "profit.total_profit": result.total_profit,
        "profit.top20_share": result.top20_share,
        "profit.bottom30_share": result.bottom30_share,
        "profit.erosion": result.erosion,
        "profit.whale_peak": result.whale_peak,
        "profit.whale_peak_at": result.whale_peak_at,
        "profit.unprofitable_share": result.unprofitable_share,
        "profit.loss_share": result.loss_share,
        "profit.holds_80_20": result.holds_80_20,
        "profit.holds_80_20_30": result.holds_80_20_30,
    }
    for by, res in (("rank", result), ("sign5", signed)):
        for tier in TIER_LABELS:
            computed[f"tiers.{by}.{tier}"] = ", ".join(sorted(res.tiers.index[res.tiers == tier]))
    for label, row in segments.iterrows():
        computed[f"segment.{label}"] = row.tolist()

    documented = {re.sub(r"`", "", key): value for key, value in _doc_table("results")}
    assert set(documented) == set(computed)
    for key, text in documented.items():
        value = computed[key]
        if isinstance(value, (bool, np.bool_)):
            assert str(bool(value)) == text, key
        elif isinstance(value, str):
            assert value == text, key
        elif isinstance(value, list):
            assert value == pytest.approx([float(x) for x in text.split(",")], abs=1e-9), key
        else:
            assert float(value) == pytest.approx(float(text), abs=1e-9), key


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def online_retail_orders():
    if not ONLINE_RETAIL.exists():
        pytest.skip(f"real data not found at {ONLINE_RETAIL} (see shared/data/README.md)")
    raw = pd.read_csv(ONLINE_RETAIL, dtype={"CustomerID": str, "InvoiceNo": str, "StockCode": str})
    columns = OrderColumns(
        customer="CustomerID",
        date="InvoiceDate",
        quantity="Quantity",
        unit_price="UnitPrice",
        order_id="InvoiceNo",
    )
    with warnings.catch_warnings():
        # 135,080 lines without a CustomerID are dropped and reported; that is expected here
        warnings.simplefilter("ignore", DataQualityWarning)
        orders = prepare_orders(raw, columns)
    return raw, orders


@pytest.mark.slow
def test_online_retail_end_to_end(online_retail_orders):
    """Cost model for a UK online gift wholesaler, stated here.

    margin=0.30: gross margin of 30% of net sales, a conservative figure for
    giftware resale; cost_per_order=5.0 GBP: picking, packing and payment handling
    per invoice, cancellations included (a cancellation is handled too);
    cost_per_customer=10.0 GBP: account upkeep and marketing per customer over the
    year the data cover.
    """
    raw, orders = online_retail_orders
    profit = customer_profit(orders, margin=0.30, cost_per_order=5.0, cost_per_customer=10.0)

    # Independent restatement from the raw lines: per customer, 0.3 x net sales
    # - 5 x distinct invoices - 10.
    lines = raw.dropna(subset=["CustomerID"])
    lines = lines.assign(amount=lines["Quantity"] * lines["UnitPrice"])
    per_customer = lines.groupby("CustomerID").agg(
        sales=("amount", "sum"), invoices=("InvoiceNo", "nunique")
    )
    naive = 0.30 * per_customer["sales"] - 5.0 * per_customer["invoices"] - 10.0
    assert len(profit) == len(naive) == 4372
    np.testing.assert_allclose(profit.to_numpy(), naive.sort_index().to_numpy(), atol=1e-6)

    customers = rfm_table(orders)
    assert len(customers) == 4338  # purchasers (shared/data/README.md: 4,338 customers)
    # 34 customers have only cancellations: in the profit table, not among purchasers
    assert len(profit.index.difference(customers.index)) == 34

    revenue = customers["monetary_total"]
    n_negative = int((revenue < 0).sum())
    with pytest.raises(ValueError, match=rf"has {n_negative} negative value\(s\) out of 4338"):
        _ = pareto(revenue).gini
    # Gini of revenue: the few customers whose returns exceed their purchases count as 0
    revenue_pareto = pareto(revenue.clip(lower=0))
    top20 = revenue_pareto.top_share(0.2)
    assert top20 == pytest.approx(naive_top_share_sorted(revenue.clip(lower=0).to_numpy(), 0.2))
    assert 0.6 < top20 < 0.9  # strongly concentrated revenue
    assert 0.6 < revenue_pareto.gini < 0.8

    result = profitability(profit)
    assert result.total_positive
    expected = naive_profitability(profit.to_dict(), 0.2, 0.3)
    for name, value in expected.items():
        assert getattr(result, name) == pytest.approx(value, abs=1e-9), name
    assert result.whale["profit_share"].iloc[-1] == 1.0
    assert result.tier_summary["n_customers"].sum() == 4372
    # Wholesale baskets dwarf a 5 GBP handling cost: the bottom 30% still make money,
    # so nothing is eroded and the whale curve barely rises above 1.
    assert result.bottom30_share > 0 and result.erosion == 0.0
    assert 1.0 <= result.whale_peak < 1.05
    assert not result.holds_80_20_30

    table = customers.join(profit, how="left")
    table = table.assign(
        repeat=pd.Categorical(
            np.where(table["frequency"] >= 2, "repeat", "one_time"),
            categories=["one_time", "repeat"],
        )
    )
    by_repeat = concentration_by(table, by="repeat")
    assert by_repeat["n_customers"].sum() == 4338
    assert by_repeat["revenue_share"].sum() == pytest.approx(1.0)
    assert by_repeat["profit_share"].sum() == pytest.approx(1.0)
    # repeat buyers make most of the revenue
    assert by_repeat.loc["repeat", "revenue_share"] > by_repeat.loc["repeat", "customer_share"]


def naive_top_share_sorted(values: np.ndarray, k: float) -> float:
    ranked = sorted(values.tolist(), reverse=True)
    return sum(ranked[: math.ceil(round(k * len(ranked), 9))]) / sum(ranked)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=60),
       st.sampled_from([(0.2, 0.6, 0.2), (0.5, 0.0, 0.5), (0.1, 0.3, 0.6)]))
def test_rank_tiers_match_pandas_max_rank(values, tiers):
    # A group of equal values is in an outer tier only when it fits there whole:
    # the reference counts, with pandas' rank(method="max"), how many values are
    # >= (from the top) and <= (from the bottom) each one.
    profit = pd.Series(np.asarray(values, dtype="float64"),
                       index=[f"c{i:03d}" for i in range(len(values))])
    n = len(profit)
    n_top = math.ceil(tiers[0] * n - 1e-9)
    n_bottom = min(math.ceil(tiers[2] * n - 1e-9), n - n_top)
    from_top = (-profit).rank(method="max")
    from_bottom = profit.rank(method="max")
    expected = np.where(from_top <= n_top, "profitable",
                        np.where(from_bottom <= n_bottom, "resource_wasting", "break_even"))
    assert profit_tiers(profit, tiers=tiers).astype(str).tolist() == expected.tolist()
    result = profitability(profit, tiers=tiers)
    assert result.tiers.astype(str).tolist() == expected.tolist()
