"""Tests of rfm_loyalty.testing: what passes, what fails, and what the failure says."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty import BinningWarning, ModelWarning, OrderColumns
from rfm_loyalty.analysis import Analysis, analyze
from rfm_loyalty.datasets import load_sample_orders, make_orders
from rfm_loyalty.export import export_analysis
from rfm_loyalty.lifecycle import LifecycleRules
from rfm_loyalty.testing import (
    DEFAULT_CHECK,
    AnalysisMismatch,
    assert_analysis_equal,
    assert_export_equal,
)

FIXTURE = Path(__file__).resolve().parent / "data" / "export_eacc791"
COLUMNS = OrderColumns(order_id="order_id", cost="cost")


def _analyze(data, columns=None, **kwargs) -> Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        warnings.simplefilter("ignore", ModelWarning)
        return analyze(data, columns, **kwargs)


@pytest.fixture(scope="module")
def base() -> Analysis:
    return _analyze(load_sample_orders(), COLUMNS)


def _with_customers(analysis: Analysis, customers: pd.DataFrame) -> Analysis:
    return dataclasses.replace(analysis, customers=customers)


def test_an_analysis_equals_itself_and_a_rerun(base):
    assert_analysis_equal(base, base)
    assert_analysis_equal(base, _analyze(load_sample_orders(), COLUMNS))


def test_a_one_cent_change_fails_only_without_the_money_tolerance(base):
    customers = base.customers.copy()
    customers.loc["C0042", "monetary_total"] += 0.01
    changed = _with_customers(base, customers)
    assert_analysis_equal(base, changed)  # default: amounts agree to the cent
    with pytest.raises(AnalysisMismatch) as failure:
        assert_analysis_equal(base, changed, atol_money=0)
    message = str(failure.value)
    assert message.splitlines()[0].startswith("Analyses differ in 1 table(s): customers")
    assert "customers: 1 of 1,000 rows differ" in message
    assert "column monetary_total: 1 row, largest drift 0.01 at customer_id='C0042'" in message
    old = float(base.customers.loc["C0042", "monetary_total"])
    assert f"customer_id='C0042'  monetary_total: {old!r} -> {old + 0.01!r}" in message
    assert "customers whose label changed: segment 0, lifecycle 0, tier 0" in message
    assert isinstance(failure.value, AssertionError)
    [table] = failure.value.differences
    assert (table.table, [c.column for c in table.columns]) == ("customers", ["monetary_total"])


def test_a_one_cent_change_in_the_orders_passes_by_default(base):
    # the realistic case: a cent more on one order; ranks of near-tied customers may swap
    orders = load_sample_orders()
    first = orders.index[orders["customer_id"] == "C0007"][0]
    orders.loc[first, "amount"] += 0.01
    changed = _analyze(orders, COLUMNS)
    assert changed.customers.loc["C0007", "revenue_rank"] != base.customers.loc[
        "C0007", "revenue_rank"]  # a tie broken by the cent
    assert_analysis_equal(base, changed)
    with pytest.raises(AnalysisMismatch, match=r"column monetary_total: 1 row, largest drift "
                                               r"0\.01 at customer_id='C0007'"):
        assert_analysis_equal(base, changed, atol_money=0)


def test_label_moves_are_counted_per_customer(base):
    moved = _analyze(load_sample_orders(), COLUMNS, lifecycle=LifecycleRules(window_days=30))
    with pytest.raises(AnalysisMismatch) as failure:
        assert_analysis_equal(base, moved, check=("customers",))
    direct = int((base.customers["lifecycle"].astype(str)
                  != moved.customers["lifecycle"].astype(str)).sum())
    assert direct > 0
    message = str(failure.value)
    assert f"customers whose label changed: segment 0, lifecycle {direct:,}, tier 0" in message
    assert "column lifecycle:" in message and "column purchases_in_window:" in message
    [table] = failure.value.differences
    assert table.label_changes == {"segment": 0, "lifecycle": direct, "tier": 0}


def test_rows_are_matched_on_the_key_not_the_position(base):
    shuffled = _with_customers(base, base.customers.sample(frac=1.0, random_state=1))
    assert_analysis_equal(base, shuffled)


def test_customers_on_one_side_only_are_named(base):
    fewer = _with_customers(base, base.customers.drop(index=["C0001", "C0002"]))
    with pytest.raises(AnalysisMismatch) as failure:
        assert_analysis_equal(base, fewer, check=("customers",))
    assert ("customers: 2 rows only left, 0 only right" in str(failure.value))
    assert "only left: customer_id='C0001'; customer_id='C0002'" in str(failure.value)


def test_shares_drift_within_rtol_and_atol(base):
    segments = base.segments.copy()
    segments["revenue_share"] = segments["revenue_share"] * (1 + 5e-6)
    close = dataclasses.replace(base, segments=segments)
    assert_analysis_equal(base, close)
    with pytest.raises(AnalysisMismatch, match=r"segments: .* differ\n.*column revenue_share"):
        assert_analysis_equal(base, close, rtol=1e-7)


def test_a_table_on_one_side_only(base):
    without_profit = _analyze(load_sample_orders(), OrderColumns(order_id="order_id"))
    with pytest.raises(AnalysisMismatch) as failure:
        assert_analysis_equal(base, without_profit, check=("tiers", "whale", "segments"))
    text = str(failure.value)
    assert "tiers: only on the left (first) side (3 rows)" in text
    assert "segments: schema changed\n    removed columns: profit, profit_share" in text


def test_exports_in_different_formats_are_equal(tmp_path):
    hostile = make_orders(60, random_state=9, with_cost=False).assign(
        customer_id=lambda f: f["customer_id"].replace({"C0001": "=1+1"}))
    result = _analyze(hostile, n_bins=3, margin=0.3)
    export_analysis(result, tmp_path / "csv", timestamp=False)
    export_analysis(result, tmp_path / "parquet", format="parquet", timestamp=False)
    export_analysis(result, tmp_path / "json", format="json")
    assert_export_equal(tmp_path / "csv", tmp_path / "parquet")  # neutralised ids compared so
    assert_export_equal(tmp_path / "json", tmp_path / "csv")


def test_an_earlier_schema_version_is_reported_as_such(tmp_path):
    current = _analyze(load_sample_orders(), COLUMNS, cost_per_order=5.0, models=True)
    export_analysis(current, tmp_path / "now", timestamp=False)
    with pytest.raises(AnalysisMismatch) as failure:
        assert_export_equal(FIXTURE, tmp_path / "now")
    text = str(failure.value)
    assert text.splitlines()[0].startswith("Exports differ in 6 table(s): customers, segments, "
                                           "pareto, whale, retention, flow")
    assert ("customers: schema changed\n    schema version 1 -> 2\n    added columns: "
            "segment_zh, revenue_rank, revenue_cumulative_share, profit_rank, "
            "profit_cumulative_share" in text)
    assert "rows differ" not in text  # the rows themselves agree
    assert_export_equal(FIXTURE, tmp_path / "now", check=tuple(
        t for t in DEFAULT_CHECK
        if t not in ("customers", "segments", "pareto", "whale", "retention", "flow")))


def test_parameters_are_checked(base, tmp_path):
    with pytest.raises(ValueError, match=r"'check' parameter of assert_analysis_equal must "
                                         r"name exported tables.*Got \('customer',\)"):
        assert_analysis_equal(base, base, check=("customer",))
    with pytest.raises(ValueError, match=r"The 'atol_money' parameter of the comparison must "
                                         r"be a finite number >= 0. Got -1"):
        assert_analysis_equal(base, base, atol_money=-1)
    with pytest.raises(TypeError, match=r"right is a DataFrame. For export folders use "
                                        r"assert_export_equal"):
        assert_analysis_equal(base, base.customers)
    with pytest.raises(FileNotFoundError, match=r"is not an export folder: it has no "
                                                r"metadata.json"):
        assert_export_equal(tmp_path, FIXTURE)


def test_a_drift_on_one_side_only_missing_is_a_difference(base):
    customers = base.customers.copy()
    customers["median_gap_days"] = customers["median_gap_days"].fillna(1.0)
    with pytest.raises(AnalysisMismatch, match=r"column median_gap_days: .*largest drift NaN "
                                               r"on one side"):
        assert_analysis_equal(base, _with_customers(base, customers), check=("customers",))
    both_nan = base.customers["median_gap_days"].isna()
    assert both_nan.any()  # so the default comparison above saw NaN == NaN as equal
    assert np.isnan(base.customers["median_gap_days"]).sum() == both_nan.sum()
