"""Tests of analyze() and the Analysis result (orchestration: every number comes from a module)."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import BinningWarning, DataQualityWarning, ModelWarning, SchemaError
from rfm_loyalty.analysis import Analysis, analyze, frame_sha256
from rfm_loyalty.churn import churn_table, cohort_retention, customer_flow
from rfm_loyalty.concentration import pareto
from rfm_loyalty.datasets import load_sample_orders, make_orders
from rfm_loyalty.lifecycle import lifecycle_labels
from rfm_loyalty.orders import OrderColumns, prepare_orders
from rfm_loyalty.profitability import customer_profit, profitability
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import Segment, assign_segments, segment_summary
from rfm_loyalty.summary import rfm_table

# a: one purchase 10 days ago (new); b: one purchase before the 45-day window and one
# in it (returning); c: one purchase 121 days ago (high_recovery); d: a purchase 426
# days ago and its full return two days later (lost, churned, monetary 0).
TINY = pd.DataFrame(
    {
        "customer_id": ["a", "b", "b", "c", "d", "d"],
        "order_date": pd.to_datetime(
            ["2024-06-20", "2024-01-05", "2024-06-25", "2024-03-01", "2023-05-01", "2023-05-03"]
        ),
        "amount": [10.0, 20.0, 15.0, 30.0, 40.0, -40.0],
    }
)


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        warnings.simplefilter("ignore", ModelWarning)
        warnings.simplefilter("ignore", DataQualityWarning)
        return func(*args, **kwargs)


@pytest.fixture(scope="module")
def tiny() -> Analysis:
    return _quiet(analyze, TINY, as_of="2024-06-30", n_bins=2, margin=0.5, cost_per_order=1.0)


@pytest.fixture(scope="module")
def sample() -> Analysis:
    return _quiet(
        analyze, load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
        cost_per_order=5.0, models=True,
    )


# --------------------------------------------------------------------------- #
# hand-checked tiny case
# --------------------------------------------------------------------------- #
def test_tiny_customer_table_by_hand(tiny):
    c = tiny.customers
    assert list(c.index) == ["a", "b", "c", "d"]
    assert c["recency_days"].tolist() == [10, 5, 121, 426]
    assert c["frequency"].tolist() == [1, 2, 1, 1]
    assert c["monetary_total"].tolist() == [10.0, 35.0, 30.0, 0.0]
    assert c["lifecycle"].astype(str).tolist() == ["new", "returning", "high_recovery", "lost"]
    assert c["lifecycle_zh"].astype(str).tolist() == [
        "新顾客", "回流老顾客", "高挽回顾客", "流失顾客"
    ]
    assert c.loc["a", "action"] == "Campaign for the second purchase."
    assert c["churned"].tolist() == [False, False, False, True]
    # profit = 0.5 x net amount - 1.0 per order (d: two orders, the purchase and its return)
    assert c["profit"].tolist() == [4.0, 15.5, 14.0, -2.0]
    assert c["tier"].astype(str).tolist() == [
        "break_even", "profitable", "break_even", "resource_wasting"
    ]
    assert tiny.as_of == pd.Timestamp("2024-06-30")


def test_tiny_lifecycle_and_segment_tables(tiny):
    life = tiny.lifecycle
    assert life.loc["returning", "customers"] == 1
    assert life.loc["active", "customers"] == 0
    assert life.loc["returning", "revenue"] == 35.0
    assert life.loc["lost", "profit"] == -2.0
    assert life.loc["new", "lifecycle_zh"] == "新顾客"
    assert life.loc["high_recovery", "action"] == "Regular promotions first, care messages second."
    assert life["customers"].sum() == 4
    seg = tiny.segments
    assert seg["customers"].sum() == 4
    assert {"description", "action", "profit", "profit_share"} <= set(seg.columns)


def test_customers_equal_the_modules_joined(sample):
    """Orchestration only: each block of columns is exactly what its module returns."""
    orders = _quiet(prepare_orders, load_sample_orders(),
                    OrderColumns(order_id="order_id", cost="cost"))
    c = sample.customers
    rfm = rfm_table(orders)
    pd.testing.assert_frame_equal(c[rfm.columns.tolist()], rfm, check_flags=False)
    scores = _quiet(RFMScorer(n_bins=5).fit_transform, rfm)
    segments = assign_segments(scores)
    pd.testing.assert_frame_equal(c[segments.columns.tolist()], segments)
    labels = lifecycle_labels(orders)
    pd.testing.assert_series_equal(c["lifecycle"], labels["lifecycle"])
    pd.testing.assert_series_equal(c["lifecycle_rule"], labels["rule"], check_names=False)
    churn = churn_table(orders)
    pd.testing.assert_series_equal(c["churned"], churn["churned"])
    profit = customer_profit(orders, cost_per_order=5.0)
    pd.testing.assert_series_equal(c["profit"], profit.reindex(c.index))
    expected = profitability(profit)
    assert sample.profitability.top20_share == expected.top20_share
    assert sample.pareto.top_share(0.2) == pareto(rfm["monetary_total"]).top_share(0.2)
    pd.testing.assert_frame_equal(sample.retention, cohort_retention(orders, metric="retention"))
    pd.testing.assert_frame_equal(sample.flow, customer_flow(orders))
    summary = segment_summary(c, by="segment")
    pd.testing.assert_frame_equal(sample.segments[summary.columns.tolist()], summary)


def test_model_columns(sample):
    c = sample.customers
    assert c["p_alive"].between(0, 1).all()
    assert (c["expected_purchases"] >= 0).all()
    assert (c["clv"] >= 0).all()
    params = sample.models.parameters
    assert params["parameter"].tolist() == ["r", "alpha", "a", "b", "p", "q", "gamma"]
    assert sample.models.horizon_months == 12


def test_customer_columns_in_documented_order(sample, tiny):
    from rfm_loyalty.export import SCHEMAS

    documented = [col.name for col in SCHEMAS["customers"].columns][1:]  # minus customer_id
    assert list(sample.customers.columns) == documented
    without_models = [n for n in documented if n not in ("p_alive", "expected_purchases", "clv")]
    assert list(tiny.customers.columns) == without_models


# --------------------------------------------------------------------------- #
# inputs, parameters, provenance
# --------------------------------------------------------------------------- #
def test_no_cost_input_gives_no_profitability_with_reason():
    result = _quiet(analyze, TINY, n_bins=2)
    assert result.profitability is None
    assert "margin=" in result.profitability_note
    assert "profit" not in result.customers.columns
    assert "profit" not in result.segments.columns
    assert "not computed" in str(result)


def test_cost_to_serve_without_cost_input_raises():
    with pytest.raises(ValueError, match=r"cost_per_order=2\.0 .* no cost input"):
        analyze(TINY, n_bins=2, cost_per_order=2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"period": "month"}, r"'period' parameter of analyze must be one of .* Got 'month'"),
        ({"models": "yes"}, r"'models' parameter of analyze must be True or False, or distinct "
                            r"model names among \['bgnbd', 'mbgnbd', 'paretonbd'\]. Got 'yes'"),
        ({"models": ("bgnbd", "bgnbd")}, r"distinct model names"),
        ({"horizon_months": 0}, r"'horizon_months' .* >= 1. Got 0"),
        ({"lifecycle": {"window_days": 30}}, r"LifecycleRules instance\. Got \{'window_days'"),
        ({"n_bins": 2.5}, r"'n_bins' parameter of analyze must be a whole number .* Got 2.5"),
        ({"n_bins": 6}, r"Segment preset 'default' is written for scores 1\.\.5 "
                        r"\(RFMScorer\(n_bins=5\)\); got scores up to 6\. Score with n_bins=5 "
                        r"\(or fewer\) or pass your own Segment rules\."),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        analyze(TINY, **kwargs)


def test_bad_data_type_raises():
    with pytest.raises(TypeError, match=r"DataFrame, a file path, prepared Orders or an engine "
                       r"source .*Got list"):
        analyze([1, 2, 3])


def test_input_not_mutated():
    before = TINY.copy(deep=True)
    _quiet(analyze, TINY, n_bins=2, margin=0.3)
    pd.testing.assert_frame_equal(TINY, before)


def test_path_input_hashes_the_file(tmp_path):
    path = tmp_path / "orders.csv"
    TINY.to_csv(path, index=False)
    result = _quiet(analyze, path, n_bins=2, as_of="2024-06-30")
    assert result.input.source == str(path)
    assert result.input.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.input.sha256_of == "file"
    assert result.input.rows == 6
    assert result.customers["lifecycle"].astype(str).tolist() == [
        "new", "returning", "high_recovery", "lost"
    ]


def test_orders_input_and_as_of():
    orders = _quiet(prepare_orders, TINY, as_of="2024-06-30")
    result = _quiet(analyze, orders, n_bins=2)
    assert result.input.source == "Orders"
    assert result.as_of == pd.Timestamp("2024-06-30")
    # an earlier as_of drops the later orders (orders.until)
    earlier = _quiet(analyze, orders, as_of="2024-04-01", n_bins=2)
    assert list(earlier.customers.index) == ["b", "c", "d"]


def test_frame_hash_is_canonical():
    assert frame_sha256(TINY) == frame_sha256(TINY.copy())
    changed = TINY.copy()
    changed.loc[0, "amount"] = 10.5
    assert frame_sha256(changed) != frame_sha256(TINY)
    assert frame_sha256(TINY.rename(columns={"amount": "value"})) != frame_sha256(TINY)


def test_params_record_every_parameter_as_json(tiny):
    params = dict(tiny.params)
    assert json.loads(json.dumps(params)) == params
    names = set(inspect.signature(analyze).parameters) - {"data", "columns", "read_options"}
    assert names <= set(params)
    assert params["reading"]["returns"] == params["returns"] == "net"
    assert params["reading"]["columns"]["customer"] == "customer_id"
    assert params["as_of"] == "2024-06-30"
    assert params["as_of_source"] == "given"
    assert params["margin"] == 0.5
    assert params["lifecycle"]["window_days"] == 45
    assert params["columns"]["customer"] == "customer_id"
    with pytest.raises(TypeError):
        tiny.params["margin"] = 0.1  # read-only


def test_custom_segments_are_recorded():
    rules = (Segment("Recent", r=(2, 2), description="bought lately", action="thank them"),
             Segment("Old", r=(1, 1), action="win back"))
    result = _quiet(analyze, TINY, as_of="2024-06-30", n_bins=2, segments=rules)
    assert result.params["segments"][0]["name"] == "Recent"
    assert result.params["segments"][0]["r"] == [2, 2]
    assert result.segments.loc["Recent", "action"] == "thank them"
    assert result.segments.loc["Old", "description"] == ""


def test_result_is_read_only(tiny):
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.as_of = pd.Timestamp("2020-01-01")  # type: ignore[misc]


# --------------------------------------------------------------------------- #
# views
# --------------------------------------------------------------------------- #
def test_text_view(sample):
    text = str(sample)
    assert text.startswith("RFM analysis as of 2024-12-31 (as_of last order date): 1,000")
    assert "Data quality: 9,974 rows in, 9,974 used, 0 dropped" in text
    assert "the top 20% of customers hold 71.1% of revenue" in text
    assert "Profit 80/20/30: the top 20% make" in text
    assert "Lifecycle cohorts" in text and "RFM segments" in text
    assert "Campaign for the second purchase." in text
    assert "Champions" in text
    assert repr(sample).startswith("Analysis(as_of=2024-12-31, customers=1,000")


def test_html_view(sample):
    page = sample._repr_html_()
    assert page.startswith("<div class='rfm-analysis'>")
    assert "<h4>Lifecycle cohorts</h4>" in page and "<h4>RFM segments</h4>" in page
    assert "开展促进二次购买的营销活动。" in page  # the Chinese action beside the English one
    assert "80/20/30" in page
    assert "Can&#x27;t Lose Them" in page  # escaped


def test_campaign_lists(tiny):
    lists = tiny.campaign_lists("lifecycle")
    assert list(lists) == ["new", "returning", "high_recovery", "lost"]
    assert lists["returning"]["customer_id"].tolist() == ["b"]
    assert list(lists["lost"].columns) == [
        "customer_id", "label", "label_zh", "action", "action_zh"
    ]
    by_segment = tiny.campaign_lists("segment")
    assert sum(len(f) for f in by_segment.values()) == 4
    with pytest.raises(ValueError, match=r"'lifecycle' or 'segment'. Got by='tier'"):
        tiny.campaign_lists("tier")


# --------------------------------------------------------------------------- #
# properties
# --------------------------------------------------------------------------- #
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_does_not_matter(seed):
    lines = make_orders(40, random_state=seed % 50, with_cost=False)
    shuffled = lines.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    first = _quiet(analyze, lines, n_bins=3, margin=0.4)
    second = _quiet(analyze, shuffled, n_bins=3, margin=0.4)
    pd.testing.assert_frame_equal(first.customers, second.customers)
    pd.testing.assert_frame_equal(first.segments, second.segments)
    # every customer once, totals reconcile with the per-label tables
    assert first.customers.index.is_unique
    assert first.lifecycle["customers"].sum() == len(first.customers)
    assert np.isclose(first.segments["revenue"].sum(), first.customers["monetary_total"].sum())


def test_status_filter_is_applied_and_recorded():
    lines = TINY.assign(state=["paid", "paid", "cancelled", "paid", "paid", "paid"])
    cols = OrderColumns(status="state")
    result = _quiet(analyze, lines, cols, as_of="2024-06-30", n_bins=2,
                    valid_statuses=("paid",))
    # b's June order was cancelled: b is now a single purchase 177 days ago
    assert result.customers.loc["b", "recency_days"] == 177
    assert result.customers.loc["b", "lifecycle"] == "high_recovery"
    assert result.quality.dropped["invalid_status"] == 1
    assert result.params["valid_statuses"] == ["paid"]
    assert result.params["columns"]["status"] == "state"


# --------------------------------------------------------------------------- #
# engine sources (issue 8): aggregated once in DuckDB, the rest from the aggregates
# --------------------------------------------------------------------------- #
_SAMPLE_COLUMNS = OrderColumns(order_id="order_id", cost="cost")
# everything of the customer table that needs only the per-customer aggregates
_AGGREGATE_COLUMNS = [
    "first_purchase", "last_purchase", "recency_days", "tenure_days", "active_span_days",
    "frequency", "purchase_days", "monetary_total", "monetary_mean", "r_score", "f_score",
    "m_score", "rfm_code", "rfm_score", "segment", "lifecycle", "lifecycle_zh", "action",
    "action_zh", "lifecycle_rule", "purchases_in_window", "purchases_before_window", "churned",
]


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory) -> str:
    pytest.importorskip("duckdb", reason="the DuckDB engine needs duckdb (extra [duckdb])")
    path = tmp_path_factory.mktemp("engine") / "sample.parquet"
    load_sample_orders().to_parquet(path)
    return str(path)


@pytest.fixture(scope="module")
def engine_sample(sample_parquet) -> Analysis:
    from rfm_loyalty.engines import from_duckdb

    return _quiet(analyze, from_duckdb(sample_parquet, columns=_SAMPLE_COLUMNS), models=True)


@pytest.fixture(scope="module")
def frame_sample() -> Analysis:
    return _quiet(analyze, load_sample_orders(), _SAMPLE_COLUMNS, models=True)


def test_duckdb_source_gives_the_customer_table_of_the_dataframe(engine_sample, frame_sample):
    engine, frame = engine_sample.customers, frame_sample.customers
    # same columns (the gaps NaN) except the cost column's profit, which the engine lacks
    assert list(engine.columns) == [c for c in frame.columns if c not in (
        "profit", "tier", "profit_rank", "profit_cumulative_share")]
    pd.testing.assert_frame_equal(engine[_AGGREGATE_COLUMNS], frame[_AGGREGATE_COLUMNS])
    assert engine["churned"].sum() == (frame["recency_days"] > 360).sum() > 0
    # models fitted on btyd_from_aggregates: the same data, so the same fit
    pd.testing.assert_frame_equal(engine_sample.models.data, frame_sample.models.data)
    cols = ["p_alive", "expected_purchases", "clv"]
    pd.testing.assert_frame_equal(engine[cols], frame[cols], rtol=1e-6)
    # order-level columns are documented NaN
    assert engine[["median_gap_days", "silence_in_gaps"]].isna().all().all()
    assert frame["median_gap_days"].notna().any()


def test_duckdb_source_summary_tables_quality_and_params(engine_sample, frame_sample,
                                                        sample_parquet):
    from rfm_loyalty.engines import from_duckdb

    e, f = engine_sample, frame_sample
    no_profit = ["profit", "profit_share"]
    pd.testing.assert_frame_equal(e.segments, f.segments.drop(columns=no_profit))
    pd.testing.assert_frame_equal(e.lifecycle, f.lifecycle.drop(columns=no_profit))
    pd.testing.assert_frame_equal(e.pareto.curve, f.pareto.curve)
    for name in ("rows_in", "rows_used", "orders", "customers", "purchases", "as_of", "dropped"):
        assert getattr(e.quality, name) == getattr(f.quality, name), name
    for name in ("amount_in", "amount_used"):  # summed in another order: rounding only
        assert getattr(e.quality, name) == pytest.approx(getattr(f.quality, name), rel=1e-12)
    assert e.as_of == f.as_of == pd.Timestamp("2024-12-31")
    assert dict(e.params) == dict(f.params)
    assert (e.input.source, e.input.sha256_of, e.input.rows) == ("duckdb engine",
                                                                 "customer_aggregates", 9974)
    # the hash of what the analysis read, the aggregates: reproducible, and it
    # changes with the data (here: an earlier as_of)
    source = from_duckdb(sample_parquet, columns=_SAMPLE_COLUMNS)
    assert _quiet(analyze, source).input.sha256 == e.input.sha256
    assert _quiet(analyze, source, as_of="2024-12-30").input.sha256 != e.input.sha256
    assert f.order_level_note == "" and "duckdb engine" in e.order_level_note
    # order-level tables: their columns, no row
    assert e.churn.empty and list(e.churn.columns) == list(f.churn.columns)
    assert e.flow.empty and list(e.flow.columns) == list(f.flow.columns)
    assert e.retention.empty and list(e.retention.columns) == ["cohort_size"]
    assert e.profitability is None and "cost column is not aggregated" in e.profitability_note


def test_duckdb_source_views_export_and_report(engine_sample, tmp_path):
    from rfm_loyalty._schemas import SCHEMAS
    from rfm_loyalty.export import read_export

    text = str(engine_sample)
    assert "Order-level parts: The orders were aggregated" in text
    assert "Order-level parts" in engine_sample._repr_html_()
    written = engine_sample.export(tmp_path / "csv", format=["csv", "parquet", "json", "xlsx"])
    names = {p.name for p in written}
    assert {"churn.csv", "retention.parquet", "flow.json", "customers.xlsx"} <= names
    for fmt in ("csv", "parquet", "json", "xlsx"):  # absent parts: their columns, no row
        for table in ("churn", "flow", "retention"):
            back = read_export(tmp_path / "csv", table, format=fmt)
            assert len(back) == 0 and list(back.columns) == [c.name for c in
                                                             SCHEMAS[table].columns], (fmt, table)
    customers = read_export(tmp_path / "csv", "customers")
    assert len(customers) == 1000
    assert list(customers["churned"]) == list(engine_sample.customers["churned"])
    assert customers["median_gap_days"].isna().all()
    meta = json.loads((tmp_path / "csv" / "metadata.json").read_text())
    assert meta["tables"]["churn"]["rows"] == 0
    assert meta["input"]["source"] == "duckdb engine"
    html = engine_sample.report(tmp_path / "report.html").read_text(encoding="utf-8")
    assert "need every order are empty" in html
    assert "churned after more than 360 days" in html
    tables = engine_sample.to_sql(f"sqlite:///{tmp_path / 'rfm.db'}")
    assert "rfm_churn" in tables and "rfm_customers" in tables


def test_duckdb_source_margin_profit(sample_parquet):
    from rfm_loyalty.engines import from_duckdb

    source = from_duckdb(sample_parquet, columns=OrderColumns(order_id="order_id"))
    result = _quiet(analyze, source, margin=0.4, cost_per_customer=2.0)
    expected = 0.4 * result.customers["monetary_total"] - 2.0
    pd.testing.assert_series_equal(result.customers["profit"], expected, check_names=False)
    assert result.profitability is not None and result.profitability_note == ""
    assert "profit" in result.segments.columns


def test_duckdb_source_on_tiny_lines_by_hand():
    duckdb = pytest.importorskip("duckdb")
    from rfm_loyalty.engines import from_duckdb

    con = duckdb.connect()
    con.register("tiny", TINY)
    result = _quiet(analyze, from_duckdb(con.sql("SELECT * FROM tiny")), as_of="2024-06-30",
                    n_bins=2, churn_days=100)
    c = result.customers
    # d's purchase and return net to 0 and it has a purchase 426 days ago
    assert list(c.index) == ["a", "b", "c", "d"]
    assert list(c["recency_days"]) == [10, 5, 121, 426]
    assert list(c["churned"]) == [False, False, True, True]
    assert list(c["lifecycle"].astype(str)) == ["new", "returning", "high_recovery", "lost"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cost_per_order": 5.0}, r"cost_per_order=5.0 with an engine source .*needs every "
                                  r"order.* Pass cost_per_order=0.0"),
        ({"margin": 0.3}, r"margin=0.3 but the orders name a cost column"),
        ({"returns": "drop"}, r"returns='drop' with an engine source.*from_duckdb"),
        ({"columns": OrderColumns()}, r"columns=OrderColumns\(.*with an engine source"),
        ({"valid_statuses": ["paid"]}, r"valid_statuses=\['paid'\] with an engine source"),
        ({"cost_per_customer": 1.0}, r"cost_per_customer=1.0 with an engine source but "
                                     r"margin=None"),
        ({"churn_days": 0}, r"'churn_days' parameter of analyze must be a whole number of "
                            r"days >= 1"),
    ],
)
def test_engine_source_errors(sample_parquet, kwargs, match):
    from rfm_loyalty.engines import from_duckdb

    source = from_duckdb(sample_parquet, columns=_SAMPLE_COLUMNS)
    with pytest.raises(ValueError, match=match):
        _quiet(analyze, source, **kwargs)


def test_engine_source_bad_margin(sample_parquet):
    from rfm_loyalty.engines import from_duckdb

    source = from_duckdb(sample_parquet, columns=OrderColumns(order_id="order_id"))
    with pytest.raises(ValueError, match=r"'margin' parameter of analyze must be None or a "
                                         r"fraction in \(0, 1\].*Got 1.5"):
        _quiet(analyze, source, margin=1.5)


def test_engine_source_options_are_refused_before_the_engine_runs():
    duckdb = pytest.importorskip("duckdb")
    from rfm_loyalty.engines import from_duckdb

    # an empty input: running the engine would raise SchemaError("... empty ...")
    empty = duckdb.connect().sql(
        "SELECT 'a' AS customer_id, DATE '2024-01-01' AS order_date, 1.0 AS amount LIMIT 0")
    with pytest.raises(ValueError, match=r"cost_per_order=2.0 with an engine source"):
        analyze(from_duckdb(empty), cost_per_order=2.0)
    with pytest.raises(ValueError, match=r"'churn_days' parameter of analyze must be a whole"):
        analyze(from_duckdb(empty), churn_days=0)


# ------------------------------------------------- every parameter before any work
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"churn_days": 0}, r"'churn_days' parameter of analyze must be a whole number of days"),
        ({"margin": 30}, r"'margin' parameter of analyze .* Got 30 instead; did you mean 0\.3\?"),
        ({"n_bins": 1}, r"'n_bins' parameter of analyze must be a whole number from 2 to 10"),
        ({"segments": "defualt"}, r"Unknown segment preset 'defualt'.*Did you mean 'default'"),
        ({"n_bins": 7}, r"preset 'default' is written for scores 1\.\.5"),
        ({"returns": "nett"}, r"'returns' parameter of analyze must be one of"),
        ({"dayfirst": "yes"}, r"'dayfirst' parameter of analyze must be None or True or False"),
        ({"tz": "Mars/Olympus"}, r"'tz' parameter must be a time zone name"),
        ({"sep": ";;"}, r"'sep' parameter must be one separator character"),
        ({"as_of": "09/12/2011"}, r"reads as 2011-12-09 \(day first\) or as 2011-09-12"),
        ({"period": "month"}, r"'period' parameter of analyze must be one of"),
        ({"period": "Y", "churn_days": 90}, r"at least the longest period length for freq='Y'"),
        ({"day_first": True}, r"unknown option 'day_first'; did you mean 'dayfirst'\?"),
        ({"cost_per_order": 1.0, "columns": OrderColumns()}, r"no cost input"),
    ],
)
def test_every_parameter_is_checked_before_the_file_is_read(tmp_path, kwargs, match):
    # The file does not exist: a check that came after reading would say so instead.
    missing = tmp_path / "not_there.csv"
    with pytest.raises((ValueError, TypeError), match=match):
        analyze(missing, **kwargs)


def test_reading_options_are_recorded_as_the_orders_were_read():
    prepared = prepare_orders(TINY, returns="drop")
    result = _quiet(analyze, prepared, n_bins=2)
    assert result.params["returns"] == "drop"
    assert result.params["reading"]["returns"] == "drop"
    assert result.params["columns"]["customer"] == "customer_id"
    # d's return is dropped: its purchase counts in full
    assert result.customers.loc["d", "monetary_total"] == 40.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"returns": "drop"}, r"analyze got returns='drop' with prepared Orders.*prepare_orders"),
        ({"valid_statuses": ["paid"]}, r"valid_statuses=\['paid'\] with prepared Orders"),
        ({"dayfirst": True}, r"dayfirst=True with prepared Orders"),
        ({"columns": OrderColumns()}, r"columns=OrderColumns\(.*with prepared Orders"),
    ],
)
def test_options_that_cannot_apply_to_prepared_orders_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        analyze(prepare_orders(TINY), **kwargs)


def test_only_returns_is_a_clear_error():
    returns = TINY.assign(amount=-TINY["amount"].abs())
    with pytest.raises(SchemaError, match=r"No customer has a purchase: all 6 orders net <= 0"):
        _quiet(analyze, returns)


def test_as_of_after_the_last_order_warns():
    with pytest.warns(DataQualityWarning, match=r"as_of=2024-07-10 is 15 day\(s\) after the last"):
        analyze(TINY, as_of="2024-07-10", n_bins=2)


# ----------------------------------------------------------------------- loyalty
def test_loyalty_views_join_the_customer_table():
    from rfm_loyalty.loyalty import LOYALTY_COLUMNS, loyalty_tables

    orders = prepare_orders(load_sample_orders(), OrderColumns(order_id="order_id"))
    options = {"thresholds": {"silver": 300.0, "gold": 1000.0}}
    result = _quiet(analyze, orders, loyalty=True, loyalty_options=options)
    plain = _quiet(analyze, orders)
    views = loyalty_tables(orders, plain.customers, **options)
    added = [c for c in result.customers.columns if c not in plain.customers.columns]
    assert added == list(views.columns.columns)
    assert set(added) <= set(LOYALTY_COLUMNS)
    pd.testing.assert_frame_equal(result.customers[added], views.columns)
    pd.testing.assert_frame_equal(result.customers[list(plain.customers.columns)],
                                  plain.customers)
    assert result.loyalty is not None and "member_tiers" in result.loyalty.tables
    assert result.params["loyalty"] is True
    assert result.params["loyalty_options"] == {"thresholds": {"silver": 300.0, "gold": 1000.0}}
    assert plain.loyalty is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loyalty_options": {"thresholds": {"gold": 1.0}}},
         r"loyalty_options=.* but loyalty=False"),
        ({"loyalty": True, "loyalty_options": {"tresholds": {}}},
         r"unknown loyalty option\(s\) \['tresholds'\]"),
        ({"loyalty": "yes"}, r"'loyalty' parameter of analyze must be True or False"),
    ],
)
def test_loyalty_parameters_are_checked_first(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        analyze(tmp_path / "not_there.csv", **kwargs)


def test_loyalty_needs_the_orders_not_an_engine(sample_parquet):
    from rfm_loyalty.engines import from_duckdb

    with pytest.raises(ValueError, match=r"loyalty=True with an engine source"):
        analyze(from_duckdb(sample_parquet, columns=_SAMPLE_COLUMNS), loyalty=True)


def test_models_by_name_are_compared_and_the_lowest_bic_fills_the_table():
    orders = prepare_orders(load_sample_orders(), OrderColumns(order_id="order_id"))
    result = _quiet(analyze, orders, models=("bgnbd", "paretonbd"))
    m = result.models
    assert set(m.fitted) == {"bgnbd", "paretonbd", "gamma_gamma"}
    comparison = m.comparison
    assert comparison["chosen"].sum() == 1
    assert m.chosen == comparison["bic"].idxmin()
    chosen = m.fitted[m.chosen]
    np.testing.assert_allclose(result.customers["p_alive"].to_numpy(),
                               chosen.p_alive(m.data).to_numpy(), rtol=1e-12)
    assert set(m.parameters["model"]) == {"bgnbd", "paretonbd", "gamma_gamma"}
    assert result.params["models"] == ["bgnbd", "paretonbd"]
    assert _quiet(analyze, orders, models=True).models.chosen == "bgnbd"
