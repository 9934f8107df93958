"""Tests of rfm_loyalty.concentration: pareto / ParetoResult and concentration_by."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty.concentration import ParetoResult, concentration_by, curve_points, pareto
from rfm_loyalty.exceptions import SchemaError

# The worked example of docs/profitability.md, revenue per customer.
REVENUE = pd.Series(
    [300.0, 200.0, 150.0, 100.0, 100.0, 150.0, 100.0, 50.0, 100.0, 0.0],
    index=pd.Index(list("ABCDEFGHIJ"), name="customer_id"),
    name="monetary_total",
)


# --------------------------------------------------------------------------- naive references


def naive_top_share(values: list[float], k: float) -> float:
    ranked = sorted(values, reverse=True)
    n_top = math.ceil(round(k * len(values), 9))
    return sum(ranked[:n_top]) / sum(values)


def naive_gini(values: list[float]) -> float:
    # Mean absolute difference over all ordered pairs / (2 * mean).
    n = len(values)
    mean = sum(values) / n
    return sum(abs(a - b) for a in values for b in values) / (2 * n * n * mean)


def naive_customers_for(values: list[float], share: float) -> float:
    ranked = sorted(values, reverse=True)
    total = sum(values)
    running = 0.0
    for n, v in enumerate(ranked, start=1):
        running += v
        if running >= share * total - 1e-9:
            return n / len(values)
    raise AssertionError("unreachable for share <= 1")


# --------------------------------------------------------------------------- hand-computed


def test_pareto_worked_example_numbers():
    result = pareto(REVENUE)
    assert isinstance(result, ParetoResult)
    assert result.n_customers == 10
    assert result.total == 1250.0
    assert result.n_negative == 0
    assert result.name == "monetary_total"
    # ceil(0.2 * 10) = 2 customers: 300 + 200 = 500 of 1250
    assert result.top_share(0.2) == pytest.approx(0.4)
    # 3 customers end inside the tie C = F = 150: 650 / 1250
    assert result.top_share(0.3) == pytest.approx(0.52)
    assert result.top_share(0.5) == pytest.approx(0.72)
    assert result.top_share(0.0) == 0.0
    assert result.top_share(1.0) == 1.0
    # cumulative 300, 500, 650, 800, 900, 1000: 80% after 6 customers
    assert result.customers_for(0.8) == pytest.approx(0.6)
    assert result.customers_for(1.0) == pytest.approx(0.9)  # J adds 0
    # ascending 0,50,100,100,100,100,150,150,200,300: sum i*y = 8950
    assert result.gini == pytest.approx(2 * 8950 / (10 * 1250) - 11 / 10)
    assert result.gini == pytest.approx(0.332)


def test_pareto_curve_starts_at_origin_and_is_cumulative():
    curve = pareto(REVENUE).curve
    assert list(curve.columns) == ["customer_share", "cumulative_value", "value_share"]
    assert curve.index.name == "rank"
    assert list(curve.index) == list(range(11))
    expected_cum = [0, 300, 500, 650, 800, 900, 1000, 1100, 1200, 1250, 1250]
    assert curve["cumulative_value"].tolist() == expected_cum
    assert curve["customer_share"].tolist() == pytest.approx([n / 10 for n in range(11)])
    assert curve["value_share"].tolist() == pytest.approx([c / 1250 for c in expected_cum])
    assert curve["value_share"].iloc[-1] == 1.0
    assert all(str(dt) == "float64" for dt in curve.dtypes)


def test_ranked_orders_ties_by_customer_id():
    values = pd.Series([5.0, 9.0, 5.0, 5.0], index=["d", "z", "a", "c"])
    result = pareto(values)
    assert list(result.ranked.index) == ["z", "a", "c", "d"]
    assert result.ranked.tolist() == [9.0, 5.0, 5.0, 5.0]


def test_all_equal_values():
    result = pareto(pd.Series([5.0, 5.0, 5.0, 5.0]))
    assert result.top_share(0.5) == 0.5
    assert result.top_share(0.2) == 0.25  # ceil(0.8) = 1 customer
    assert result.customers_for(0.8) == 1.0  # 0.75 after 3 is short of 0.8
    assert result.gini == 0.0


def test_one_customer_holds_everything():
    result = pareto([0.0, 0.0, 0.0, 0.0, 10.0])
    assert result.gini == pytest.approx(4 / 5)  # (N - 1) / N
    assert result.top_share(0.2) == 1.0
    assert result.customers_for(0.8) == 0.2


def test_single_customer():
    result = pareto(pd.Series([42.0], index=["only"]))
    assert result.gini == 0.0
    assert result.top_share(0.2) == 1.0
    assert result.customers_for(0.5) == 1.0


def test_top_count_is_ceil_with_float_guard():
    values = [float(v) for v in range(100, 0, -1)]  # 100, 99, ..., 1; total 5050
    result = pareto(values)
    # 0.07 * 100 == 7.000000000000001 in floating point; the top group is 7, not 8
    assert 0.07 * 100 > 7
    assert result.top_share(0.07) == pytest.approx(sum(range(100, 93, -1)) / 5050)
    # N = 11: ceil(0.2 * 11) = ceil(2.2) = 3
    eleven = pareto([float(v) for v in range(11, 0, -1)])
    assert eleven.top_share(0.2) == pytest.approx((11 + 10 + 9) / 66)


def test_negative_values_shares_and_gini_error():
    values = pd.Series([50.0, 30.0, -10.0, -10.0, -20.0], name="profit")
    result = pareto(values)
    assert result.n_negative == 3
    assert result.total == 40.0
    assert result.top_share(0.2) == pytest.approx(50 / 40)
    assert result.customers_for(0.8) == 0.2
    with pytest.raises(ValueError, match=r"'profit' has 3 negative value\(s\) out of 5"):
        _ = result.gini
    assert "undefined (3 negative values)" in str(result)


def test_non_positive_total_makes_shares_nan():
    result = pareto(pd.Series([10.0, -30.0], name="profit"))
    assert result.total == -20.0
    assert not result.total_positive
    assert math.isnan(result.top_share(0.2))
    assert math.isnan(result.customers_for(0.8))
    assert result.curve["value_share"].isna().all()
    assert result.curve["cumulative_value"].tolist() == [0.0, 10.0, -20.0]
    assert "undefined: total -20.00 is <= 0" in str(result)


def test_all_zero_values():
    result = pareto([0.0, 0.0, 0.0])
    assert math.isnan(result.gini)
    assert math.isnan(result.top_share(0.2))
    assert "undefined (all zero)" in str(result)


def test_text_and_html_views():
    result = pareto(REVENUE)
    text = str(result)
    assert text.splitlines()[0] == (
        "Pareto concentration of 'monetary_total': 10 customers, total 1,250.00"
    )
    assert "top 20% of customers hold  40.0%" in text
    assert "customers holding 80%      60.0%" in text
    assert "Gini                       0.332" in text
    page = result._repr_html_()
    assert page.startswith("<table><caption>")
    assert "<td>40.0%</td>" in page and "<td>0.332</td>" in page
    named = pareto(pd.Series([1.0], name="<b>x</b>"))
    assert "<b>x</b>" not in named._repr_html_()  # escaped


def test_array_input_and_default_name():
    result = pareto(np.array([3.0, 1.0, 2.0]))
    assert result.name == "value"
    assert list(result.ranked.index) == [0, 2, 1]


def test_nullable_float_input():
    values = pd.Series([3.0, 1.0], dtype="Float64", index=["a", "b"])
    assert pareto(values).top_share(0.5) == 0.75


def test_input_not_mutated():
    values = REVENUE.copy()
    pareto(values)
    pd.testing.assert_series_equal(values, REVENUE)


# --------------------------------------------------------------------------- errors


def test_rejects_missing_values_with_count():
    values = pd.Series([1.0, np.nan, np.nan, 4.0])
    with pytest.raises(
        ValueError, match=r"got 2 missing \(NaN\) and 0 infinite value\(s\) out of 4"
    ):
        pareto(values)


def test_rejects_infinite_values():
    with pytest.raises(ValueError, match=r"0 missing \(NaN\) and 1 infinite"):
        pareto([1.0, np.inf])


def test_rejects_empty_input():
    with pytest.raises(ValueError, match="at least one customer; got an empty input"):
        pareto(pd.Series([], dtype="float64"))


def test_rejects_repeated_customer():
    values = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "a"])
    with pytest.raises(
        ValueError, match=r"1 customer id\(s\) appear more than once \(first: 'a'\)"
    ):
        pareto(values)


def test_rejects_dataframe_and_text():
    with pytest.raises(TypeError, match=r"got a DataFrame with columns \['a', 'b'\]"):
        pareto(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    with pytest.raises(TypeError, match="needs numeric values; got dtype"):
        pareto(pd.Series(["1", "2"]))
    with pytest.raises(TypeError, match="needs numeric values; got dtype 'bool'"):
        pareto(pd.Series([True, False]))


@pytest.mark.parametrize("k", [-0.1, 1.5, float("nan"), True, "0.2"])
def test_top_share_rejects_bad_k(k):
    with pytest.raises(ValueError, match=r"'k' parameter of ParetoResult.top_share must be"):
        pareto(REVENUE).top_share(k)


def test_top_share_percent_hint():
    with pytest.raises(ValueError, match=r"Got 20 instead; did you mean 0.2\?"):
        pareto(REVENUE).top_share(20)


@pytest.mark.parametrize("share", [0.0, -0.5, 1.01])
def test_customers_for_rejects_bad_share(share):
    with pytest.raises(ValueError, match=r"must be a fraction in \(0, 1\]"):
        pareto(REVENUE).customers_for(share)


# --------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))
non_negative = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40))
def test_curve_ends_at_one_when_total_positive(values):
    result = pareto(values)
    if result.total > 0:
        assert result.curve["value_share"].iloc[-1] == 1.0
    assert result.curve["cumulative_value"].iloc[0] == 0.0
    assert len(result.curve) == len(values) + 1


@settings(max_examples=60, deadline=None)
@given(st.lists(non_negative, min_size=1, max_size=40), st.lists(st.floats(0, 1), min_size=2))
def test_top_share_monotone_in_k(values, ks):
    result = pareto(values)
    if result.total <= 0:
        return
    shares = [result.top_share(k) for k in sorted(ks)]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(shares))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_reordering_customers_changes_nothing(values, rnd):
    ids = [f"c{i:03d}" for i in range(len(values))]
    series = pd.Series(values, index=ids)
    order = list(range(len(values)))
    rnd.shuffle(order)
    a, b = pareto(series), pareto(series.iloc[order])
    pd.testing.assert_series_equal(a.ranked, b.ranked)
    pd.testing.assert_frame_equal(a.curve, b.curve)
    for k in (0.1, 0.2, 0.5):
        assert a.top_share(k) == b.top_share(k) or (
            math.isnan(a.top_share(k)) and math.isnan(b.top_share(k))
        )


def test_matches_naive_implementation_on_random_data():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 60))
        values = rng.lognormal(3, 1.5, size=n).round(2)
        values[rng.random(n) < 0.1] = 0.0
        values[rng.random(n) < 0.2] = values[0]  # ties
        result = pareto(values)
        listed = values.tolist()
        if sum(listed) <= 0:
            continue
        for k in (0.05, 0.2, 0.3, 0.7, 1.0):
            assert result.top_share(k) == pytest.approx(naive_top_share(listed, k))
        for share in (0.5, 0.8, 0.95):
            assert result.customers_for(share) == naive_customers_for(listed, share)
        assert result.gini == pytest.approx(naive_gini(listed), abs=1e-12)


# --------------------------------------------------------------------------- concentration_by

CUSTOMERS = pd.DataFrame(
    {
        "segment": ["champions", "champions", "loyal", "new", "new", "loyal", "loyal"]
        + ["at_risk"] * 3,
        "monetary_total": REVENUE.to_numpy(),
        "profit": [50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0, -10.0, -10.0, -20.0],
    },
    index=REVENUE.index,
)


def test_concentration_by_hand_example():
    table = concentration_by(CUSTOMERS, by="segment")
    expected = pd.DataFrame(
        {
            "n_customers": [3, 2, 3, 2],
            "customer_share": [0.3, 0.2, 0.3, 0.2],
            "revenue": [150.0, 500.0, 400.0, 200.0],
            "revenue_share": [0.12, 0.4, 0.32, 0.16],
            "profit": [-40.0, 80.0, 35.0, 25.0],
            "profit_share": [-0.4, 0.8, 0.35, 0.25],
        },
        index=pd.Index(["at_risk", "champions", "loyal", "new"], name="segment"),
    )
    pd.testing.assert_frame_equal(table, expected, check_index_type=False)


def test_concentration_by_categorical_keeps_order_and_empty_categories():
    cats = pd.CategoricalDtype(["champions", "loyal", "new", "at_risk", "lost"], ordered=True)
    data = CUSTOMERS.assign(segment=CUSTOMERS["segment"].astype(cats))
    table = concentration_by(data, by="segment")
    assert list(table.index) == ["champions", "loyal", "new", "at_risk", "lost"]
    assert table.loc["lost"].tolist() == [0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert table["n_customers"].dtype == "int64"
    assert table.loc["at_risk", "profit_share"] == pytest.approx(-0.4)
    for column in ("customer_share", "revenue_share", "profit_share"):
        assert table[column].sum() == pytest.approx(1.0)


def test_concentration_by_lifecycle_labels_without_profit():
    data = CUSTOMERS.assign(lifecycle=["active"] * 4 + ["new"] * 6)
    table = concentration_by(data, by="lifecycle", profit=None)
    assert list(table.columns) == ["n_customers", "customer_share", "revenue", "revenue_share"]
    assert table.loc["active", "revenue"] == 750.0  # 300 + 200 + 150 + 100
    assert table.loc["new", "revenue_share"] == pytest.approx(500 / 1250)


def test_concentration_by_non_positive_total_gives_nan_share():
    data = CUSTOMERS.assign(profit=CUSTOMERS["profit"] - 20.0)  # total -100
    table = concentration_by(data, by="segment")
    assert table["profit_share"].isna().all()
    assert table.loc["champions", "profit"] == 40.0
    assert table["revenue_share"].notna().all()


def test_concentration_by_errors():
    with pytest.raises(
        SchemaError,
        match=r"concentration_by needs the by= column 'segmnt', which is not in the input.*"
        r"Did you mean 'segment'\?",
    ):
        concentration_by(CUSTOMERS, by="segmnt")
    with pytest.raises(SchemaError, match=r"needs the revenue= column 'revenue', which is not in"):
        concentration_by(CUSTOMERS, by="segment", revenue="revenue")
    with pytest.raises(SchemaError, match=r"2 of 10 customers have no 'segment' label"):
        concentration_by(
            CUSTOMERS.assign(segment=[None, None, *CUSTOMERS["segment"][2:]]), by="segment"
        )
    with pytest.raises(SchemaError, match=r"'profit' has 1 missing or infinite value"):
        concentration_by(CUSTOMERS.assign(profit=[np.nan, *CUSTOMERS["profit"][1:]]), by="segment")
    with pytest.raises(SchemaError, match=r"'monetary_total' must be numeric; got dtype"):
        concentration_by(CUSTOMERS.assign(monetary_total="x"), by="segment")
    with pytest.raises(SchemaError, match=r"1 index value\(s\) repeat"):
        concentration_by(pd.concat([CUSTOMERS, CUSTOMERS.iloc[:1]]), by="segment")
    with pytest.raises(SchemaError, match="the table is empty"):
        concentration_by(CUSTOMERS.iloc[:0], by="segment")
    with pytest.raises(TypeError, match="got Series"):
        concentration_by(CUSTOMERS["profit"], by="segment")  # type: ignore[arg-type]


def test_concentration_by_does_not_mutate():
    data = CUSTOMERS.copy()
    concentration_by(data, by="segment")
    pd.testing.assert_frame_equal(data, CUSTOMERS)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), non_negative, finite), min_size=1, max_size=30
    )
)
def test_concentration_by_reconciles_with_totals(rows):
    data = pd.DataFrame(rows, columns=["label", "monetary_total", "profit"])
    table = concentration_by(data, by="label")
    assert table["n_customers"].sum() == len(data)
    assert table["revenue"].sum() == pytest.approx(data["monetary_total"].sum(), abs=1e-6)
    assert table["profit"].sum() == pytest.approx(data["profit"].sum(), abs=1e-6)
    if data["profit"].sum() > 0:
        assert table["profit_share"].sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- #
# each customer's point of the curve, and the curve at 1,001 points
# --------------------------------------------------------------------------- #
def _naive_ranks(values: dict[str, float]) -> dict[str, tuple[int, float]]:
    order = sorted(values, key=lambda c: (-values[c], c))  # largest first, ties by id
    total = sum(values.values())
    out, running = {}, 0.0
    for position, customer in enumerate(order, start=1):
        running += values[customer]
        out[customer] = (position, running / total if total > 0 else math.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-40, 400), min_size=1, max_size=30),
       st.lists(st.integers(-60, 200), min_size=32, max_size=32), st.randoms())
def test_customer_ranks_match_a_naive_ranking(cents, profits, rng):
    ids = [f"c{i:02d}" for i in range(len(cents))]
    rng.shuffle(ids)
    revenue = pd.Series([c / 4 for c in cents], index=ids)
    # profit also for two customers without a purchase (their orders were all returns)
    profit = pd.Series([p / 8 for p in profits[: len(ids) + 2]], index=[*ids, "r1", "r2"])
    from rfm_loyalty.profitability import profitability

    ranks = pareto(revenue).customer_ranks(profitability(profit))
    assert list(ranks.columns) == ["revenue_rank", "revenue_cumulative_share", "profit_rank",
                                   "profit_cumulative_share"]
    naive_revenue = _naive_ranks(revenue.to_dict())
    naive_profit = _naive_ranks(profit.to_dict())
    for customer in ids:
        rank, share = naive_revenue[customer]
        assert ranks.at[customer, "revenue_rank"] == rank
        assert ranks.at[customer, "revenue_cumulative_share"] == pytest.approx(
            share, rel=1e-12, abs=1e-12, nan_ok=True)
        rank, share = naive_profit[customer]
        assert ranks.at[customer, "profit_rank"] == rank
        assert ranks.at[customer, "profit_cumulative_share"] == pytest.approx(
            share, rel=1e-12, abs=1e-12, nan_ok=True)
    assert ranks["revenue_rank"].dtype == "int64" and ranks["profit_rank"].dtype == "int64"


def test_customer_ranks_need_every_customer_in_the_profit_ranking():
    from rfm_loyalty.profitability import profitability

    revenue = pareto(pd.Series([3.0, 2.0, 1.0], index=["a", "b", "c"]))
    with pytest.raises(ValueError, match=r"1 customer\(s\) of the revenue ranking have no "
                                         r"profit \(first: 'c'\)"):
        revenue.customer_ranks(profitability(pd.Series([1.0, 2.0], index=["a", "b"])))


@pytest.mark.parametrize("n", [1, 7, 999, 1000, 1001, 2345, 100_000])
def test_curve_points_take_the_ceil_ranks(n):
    curve = pareto(pd.Series(np.arange(n, 0, -1), dtype="float64")).curve
    points = curve_points(curve)
    expected = sorted({min(n, math.ceil(k * n / 1000 - 1e-9)) for k in range(1001)})
    assert points.index.tolist() == expected
    assert len(points) == min(n + 1, 1001)
    pd.testing.assert_frame_equal(points, curve.loc[expected])


def test_curve_points_checks_its_grid():
    curve = pareto(pd.Series([1.0, 2.0])).curve
    with pytest.raises(ValueError, match=r"'points' parameter of curve_points must be a whole "
                                         r"number >= 2. Got 1 instead; pass e.g. points=1001"):
        curve_points(curve, points=1)


@pytest.mark.parametrize(
    ("ids", "repeated"),
    [
        (["a", "b", "c"], False),  # sorted: the comparison settles it
        (["c", "a", "b"], False),  # unsorted and unique: counted
        (["a", "b", "b"], True),  # sorted, not strictly
        (["b", "a", "b"], True),
        (["a", None, "b"], False),  # a missing id is counted, not compared
        (["a", None, None], True),
    ],
)
def test_repeated_text_ids_found_sorted_or_not(ids, repeated):
    index = pd.Index(pd.array(ids, dtype="string[pyarrow]"))
    values = pd.Series(np.arange(len(ids), dtype="float64"), index=index)
    if repeated:
        with pytest.raises(ValueError, match="appear more than once"):
            pareto(values)
    else:
        assert pareto(values).n_customers == len(ids)


@pytest.mark.parametrize("ids", [["a", "b", "c", "d"], ["d", "b", "a", "c"], ["b", "é", "a", "z"]])
def test_equal_values_rank_in_id_order_whatever_the_input_order(ids):
    # sorted Arrow ids take the no-sort path, others are sorted: same ranking
    values = pd.Series([5.0, 7.0, 5.0, 7.0],
                       index=pd.Index(pd.array(ids, dtype="string[pyarrow]")))
    expected = sorted(ids[i] for i in (1, 3)) + sorted(ids[i] for i in (0, 2))
    assert pareto(values).ranked.index.tolist() == expected
