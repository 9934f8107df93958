"""Caveats and the population: what an analysis cannot show, computed from its inputs."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from rfm_loyalty import OrderColumns, analyze
from rfm_loyalty._caveats import CAVEAT_CODES, SMALL_GROUP
from rfm_loyalty.datasets import load_sample_orders


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(*args, **kwargs)


def codes(result) -> list[str]:
    return [c.code for c in result.caveats]


@pytest.fixture(scope="module")
def real(retail):
    # the README's example: margin only, churn_days=360 on 373 days of data
    return _quiet(retail, margin=0.3)


def test_the_readme_example_on_the_real_data_says_what_it_cannot_show(real):
    found = {c.code: c for c in real.caveats}
    assert {"assumed_margin", "warm_up", "partial_last_period", "returns_only_customers",
            "negative_revenue_customers", "dropped_rows"} <= set(found)
    assert found["assumed_margin"].concerns("whale")
    assert found["assumed_margin"].concerns("profitability")
    assert "0.3 x revenue" in found["assumed_margin"].message
    assert found["warm_up"].tables == ("flow", "retention", "churn")
    assert "374 days, less than churn_days=360 plus one month" in found["warm_up"].message
    assert "2011-11-26" in found["warm_up"].message  # first purchase + churn_days
    assert "(2011-12) is partial" in found["partial_last_period"].message
    assert "34 customers have orders but no purchase" in found[
        "returns_only_customers"].message
    assert "135,080 of 541,909 input rows" in found["dropped_rows"].message
    assert all(c.severity == CAVEAT_CODES[c.code] for c in real.caveats)


def test_the_population_reconciles_the_tables(real, retail):
    p = real.population
    assert (p.customers, p.customers_with_orders, p.returns_only) == (4338, 4372, 34)
    assert p.customers == len(real.customers)
    assert p.customers_with_orders == len(real.profitability.ranked)
    assert (p.orders, p.purchases) == (retail.quality.orders, retail.quality.purchases)
    # gross sales are the purchases; the shared data's README: 8,911,408 in revenue
    assert round(p.gross_sales) == 8_911_408
    # net revenue covers every customer with an order: the profit table's (0.3 x revenue)
    assert p.net_revenue == pytest.approx(real.profitability.ranked.sum() / 0.3, rel=1e-9)
    assert p.net_revenue < real.customers["monetary_total"].sum()  # the returns-only lose
    assert p.gross_sales + p.returns == pytest.approx(p.net_revenue, abs=0.005)
    assert (str(p.first_purchase.date()), str(p.last_purchase.date())) == (
        "2010-12-01", "2011-12-09")
    text = " ".join(p.lines())
    assert "4,338 customers with a purchase (of 4,372 with an order: 34 have only returns" in text
    assert "gross sales 8,911,407.90" in text


def test_a_clean_long_sample_without_a_cost_input_has_none_of_them():
    # two full years (2023-2024), no margin: no profit caveat, no warm-up, no partial month
    result = _quiet(load_sample_orders(), OrderColumns(order_id="order_id"), churn_days=180)
    assert {"assumed_margin", "warm_up", "partial_last_period", "partial_first_period",
            "as_of_after_data"}.isdisjoint(codes(result))


def test_costs_from_the_data_are_not_an_assumed_margin():
    result = _quiet(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
                    cost_per_order=5.0, churn_days=180)
    assert "assumed_margin" not in codes(result)


TINY = pd.DataFrame({
    "customer_id": ["a", "a", "b", "c"],
    "order_date": ["2024-01-15", "2024-03-10", "2024-02-20", "2024-03-01"],
    "amount": [10.0, 20.0, 5.0, -3.0],
})


def test_as_of_after_the_data_partial_periods_and_small_groups():
    result = _quiet(TINY, as_of="2024-03-20", n_bins=2, churn_days=45)
    found = {c.code: c for c in result.caveats}
    assert "as_of=2024-03-20 is 10 day(s) after the last purchase (2024-03-10)" in found[
        "as_of_after_data"].message
    # January starts on the 1st, the data on the 15th; March ends after as_of
    assert "The first month (2024-01) starts before the data (2024-01-15)" in found[
        "partial_first_period"].message
    assert "last month (2024-03) is partial" in found["partial_last_period"].message
    assert found["small_groups"].message.startswith(f"Groups with fewer than {SMALL_GROUP}")
    assert "1 customers have orders but no purchase" in found["returns_only_customers"].message
    assert list(result.flow["complete"]) == [False, True, False]
    assert result.retention.attrs["partial_periods"] == ["2024-01", "2024-03"]


def test_model_warnings_become_caveats_and_still_reach_the_user(retail):
    # the real year: BG/NBD finds almost no drop-out (a ModelWarning)
    with pytest.warns(UserWarning) as record:
        result = analyze(retail, models=True)
    model = [c for c in result.caveats if c.code == "model_warning"]
    assert model and model[0].concerns("customers.p_alive")
    passed_on = [w for w in record if w.category.__name__ == "ModelWarning"]
    assert passed_on and all(w.filename == __file__ for w in passed_on)
