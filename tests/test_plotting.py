"""Tests of rfm_loyalty.plotting: every plot rendered headless, its elements checked.

Nothing here compares pixels: the tests read back what was drawn (bar
heights, cell values, annotation texts, labels) and compare it with numbers
worked out by hand or read from the result object that was plotted.
"""

from __future__ import annotations

import copy
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; before pyplot is imported anywhere

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes

import rfm_loyalty.plotting._common as common
from rfm_loyalty import DataQualityWarning, plotting
from rfm_loyalty.backtest import backtest
from rfm_loyalty.btyd import BetaGeoModel
from rfm_loyalty.churn import cohort_retention, customer_flow
from rfm_loyalty.concentration import pareto
from rfm_loyalty.datasets.simulate import simulate_btyd
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.lifecycle import LABELS_ZH, LIFECYCLE_LABELS, lifecycle_labels
from rfm_loyalty.loyalty import loyalty_value_matrix, member_tiers, second_purchase
from rfm_loyalty.migration import segment_migration
from rfm_loyalty.plotting import (
    plot_calibration,
    plot_cohort_retention,
    plot_customer_flow,
    plot_lifecycle,
    plot_loyalty_matrix,
    plot_member_tiers,
    plot_migration,
    plot_p_alive_matrix,
    plot_pareto,
    plot_profit_tiers,
    plot_repeat_purchases,
    plot_rfm_heatmap,
    plot_rfm_histogram,
    plot_second_purchase,
    plot_segments,
    plot_transactions_tracking,
    plot_whale_curve,
)
from rfm_loyalty.profitability import profitability

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def no_cjk_font(monkeypatch):
    """Pretend no CJK font is installed; re-arm the once-per-process warning."""
    monkeypatch.setattr(common, "find_cjk_font", lambda: None)
    common._warn_no_cjk_font.cache_clear()
    yield
    common._warn_no_cjk_font.cache_clear()


@pytest.fixture
def fake_cjk_font(monkeypatch):
    """Pretend a CJK font is installed (DejaVu Sans stands in; nothing is drawn)."""
    monkeypatch.setattr(common, "find_cjk_font", lambda: "DejaVu Sans")


def texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def ticklabels(labels) -> list[str]:
    return [t.get_text() for t in labels]


# ----------------------------------------------------------------- fixtures
def summary_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customers": [20, 30, 50, 0],
            "customer_share": [0.2, 0.3, 0.5, 0.0],
            "revenue": [700.0, 200.0, 100.0, 0.0],
            "revenue_share": [0.7, 0.2, 0.1, 0.0],
        },
        index=pd.CategoricalIndex(["Champions", "At Risk", "Lost", "Other"], name="segment"),
    )


def scored_table() -> pd.DataFrame:
    # R x F cells: (1,1) x2, (2,1) x1, (2,3) x1, (3,3) x1; (3,1), (1,3) ... empty
    return pd.DataFrame(
        {
            "r_score": [1, 1, 2, 2, 3],
            "f_score": [1, 1, 1, 3, 3],
            "monetary_total": [10.0, 30.0, 20.0, 40.0, 90.0],
        }
    )


def tiny_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "order_date": pd.to_datetime(
                ["2024-01-05", "2024-03-02", "2024-01-20", "2024-02-11", "2024-02-03"]
            ),
            "amount": [10.0, 20.0, 5.0, 8.0, 7.0],
        }
    )


def lifecycle_orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c", "d", "d", "d"],
            "order_date": pd.to_datetime(
                ["2024-06-20", "2024-01-05", "2024-06-25", "2024-03-01",
                 "2024-02-01", "2024-03-01", "2024-06-29"]
            ),
            "amount": [10.0, 20.0, 15.0, 30.0, 5.0, 5.0, 5.0],
        }
    )


def profit_series() -> pd.Series:
    # The worked example of profitability(): top 20% make 80%, bottom 30% -40%.
    return pd.Series(
        [50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0, -10.0, -10.0, -20.0],
        index=list("ABCDEFGHIJ"),
    )


def flow_table() -> pd.DataFrame:
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "c", "b"],
            "order_date": pd.to_datetime(
                ["2024-01-10", "2024-01-20", "2024-03-05", "2024-03-25", "2024-04-25"]
            ),
            "amount": [10.0, 20.0, 5.0, 7.0, 8.0],
        }
    )
    return customer_flow(orders, churn_days=40, as_of="2024-04-30")


def migration_result():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "c"],
            "order_date": pd.to_datetime(
                ["2024-01-10", "2024-01-20", "2024-06-25", "2024-06-01"]
            ),
            "amount": [10.0, 20.0, 15.0, 30.0],
        }
    )
    return segment_migration(orders, "2024-01-31", "2024-06-30")


@pytest.fixture(scope="module")
def btyd_fit():
    data = simulate_btyd(1500, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=3)
    return BetaGeoModel(time_unit="W").fit(data), data


def calibration_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customers": [50, 30, 20],
            "actual_mean": [0.2, 0.9, 2.1],
            "predicted_mean": [0.25, 0.8, 2.0],
        },
        index=pd.Index(["0", "1", "2+"], name="repeat_purchase_days"),
    )


def customers_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [1, 5, 20, 40, 60, 90, 200, 300],
            "frequency": [1, 1, 1, 2, 2, 3, 5, 40],
            "monetary_total": [-5.0, 10.0, 20.0, 30.0, 50.0, 80.0, 400.0, 9000.0],
        }
    )


def repeat_purchase_table() -> pd.DataFrame:
    # the shape of compare_models' table, with two models
    return pd.DataFrame(
        {"observed_0": [60, 60], "observed_1": [25, 25], "observed_2+": [15, 15],
         "expected_0": [58.0, 61.5], "expected_1": [27.0, 22.0], "expected_2+": [15.0, 16.5]},
        index=pd.Index(["bgnbd", "paretonbd"], name="model"),
    )


def tracking_table() -> pd.DataFrame:
    # the shape of transactions_tracking's table: 4 weeks, the last 2 in the holdout
    actual = np.array([3.0, 5.0, 4.0, 6.0])
    model = np.array([3.5, 4.5, 4.2, 4.4])
    return pd.DataFrame(
        {"period_start": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15",
                                         "2024-01-22"]),
         "period_end": pd.to_datetime(["2024-01-07", "2024-01-14", "2024-01-21",
                                       "2024-01-28"]),
         "holdout": [False, False, True, True], "actual": actual,
         "actual_cumulative": actual.cumsum(), "bgnbd": model,
         "bgnbd_cumulative": model.cumsum()},
        index=pd.RangeIndex(1, 5, name="period"),
    )


# One way to call every plot function: (function, input maker, extra kwargs).
CASES = {
    "segments": (plot_segments, summary_table, {}),
    "rfm_heatmap": (plot_rfm_heatmap, scored_table, {}),
    "lifecycle": (plot_lifecycle,
                  lambda: lifecycle_labels(lifecycle_orders(), as_of="2024-06-30"), {}),
    "pareto": (plot_pareto, lambda: pareto(profit_series().clip(lower=0).rename("revenue")),
               {}),
    "whale": (plot_whale_curve, lambda: profitability(profit_series()), {}),
    "tiers": (plot_profit_tiers, lambda: profitability(profit_series()), {}),
    "retention": (plot_cohort_retention,
                  lambda: cohort_retention(tiny_orders(), metric="retention"), {}),
    "flow": (plot_customer_flow, flow_table, {}),
    "migration": (plot_migration, migration_result, {}),
    "histogram": (plot_rfm_histogram, customers_table, {}),
    "calibration": (plot_calibration, calibration_table, {}),
    # the loyalty plots (their own checks: tests/test_loyalty_plots.py)
    "loyalty_matrix": (plot_loyalty_matrix, lambda: loyalty_value_matrix(tiny_orders()), {}),
    "second_purchase": (plot_second_purchase, lambda: second_purchase(tiny_orders()), {}),
    "member_tiers": (plot_member_tiers,
                     lambda: member_tiers(tiny_orders(), thresholds={"silver": 15.0}), {}),
    "repeat_purchases": (plot_repeat_purchases, repeat_purchase_table, {}),
    "tracking": (plot_transactions_tracking, tracking_table, {}),
}


def call(name, **kwargs):
    func, make, extra = CASES[name]
    return func(make(), **{**extra, **kwargs})


# ------------------------------------------------------- contract of all plots
@pytest.mark.parametrize("name", sorted(CASES))
def test_new_figure_when_ax_is_none(name):
    before = plt.get_fignums()
    ax = call(name)
    assert isinstance(ax, Axes)
    after = plt.get_fignums()
    assert len(after) == len(before) + 1
    assert ax.figure.number not in before
    assert ax.get_title()


@pytest.mark.parametrize("name", sorted(CASES))
def test_draws_on_the_given_axes(name):
    _fig, (left, right) = plt.subplots(1, 2)
    n_figures = len(plt.get_fignums())
    ax = call(name, ax=right)
    assert ax is right
    assert len(plt.get_fignums()) == n_figures
    assert not left.has_data() and right.has_data()


@pytest.mark.parametrize("name", sorted(CASES))
def test_global_state_untouched(name, monkeypatch):
    def refuse_show(*args, **kwargs):
        raise AssertionError("plot functions must never call plt.show()")

    monkeypatch.setattr(plt, "show", refuse_show)
    before = copy.deepcopy(dict(matplotlib.rcParams))
    backend = matplotlib.get_backend()
    call(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no CJK font" on machines without one
        call(name, lang="zh")
    assert dict(matplotlib.rcParams) == before
    assert matplotlib.get_backend() == backend


@pytest.mark.parametrize("name", sorted(CASES))
def test_input_not_modified(name):
    func, make, extra = CASES[name]
    data = make()
    frames = {k: v.copy() for k, v in vars(data).items() if isinstance(v, pd.DataFrame)} \
        if not isinstance(data, pd.DataFrame) else {"data": data.copy()}
    func(data, **extra)
    current = vars(data) if not isinstance(data, pd.DataFrame) else {"data": data}
    for key, frame in frames.items():
        pd.testing.assert_frame_equal(current[key], frame)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_lang_and_bad_ax(name):
    with pytest.raises(ValueError, match=r"The 'lang' parameter of plot_\w+ must be one of "
                                         r"\['en', 'zh'\]\. Got 'fr' instead\."):
        call(name, lang="fr")
    with pytest.raises(TypeError, match=r"The 'ax' parameter of plot_\w+ must be a matplotlib "
                                        r"Axes or None .* Got Figure instead\."):
        call(name, ax=plt.figure())


@pytest.mark.parametrize("name", sorted(CASES))
def test_zh_without_cjk_font_falls_back_to_english_once(name, no_cjk_font):
    english = call(name).get_title()
    with pytest.warns(UserWarning, match="finds no font with Chinese characters") as record:
        ax = call(name, lang="zh")
    assert len([w for w in record if "finds no font" in str(w.message)]) == 1
    assert ax.get_title() == english
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the advice is given once per process, not per plot
        warnings.simplefilter("ignore", DataQualityWarning)  # the fixtures' as_of, not plotting
        call(name, lang="zh")
        # drawing shows no missing-glyph warnings either: all text is Latin
        ax.figure.canvas.draw()


@pytest.mark.parametrize("name", sorted(CASES))
def test_zh_with_cjk_font_draws_chinese_in_that_font(name, fake_cjk_font):
    ax = call(name, lang="zh")
    title = ax.get_title()
    assert any("\u4e00" <= ch <= "\u9fff" for ch in title), title
    assert ax.title.get_fontfamily() == ["DejaVu Sans", "DejaVu Sans"]
    assert ax.xaxis.label.get_fontfamily() == ["DejaVu Sans", "DejaVu Sans"]


def test_palette_is_okabe_ito():
    assert list(plotting.OKABE_ITO.values()) == [
        "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000",
    ]
    with pytest.raises(TypeError):
        plotting.OKABE_ITO["orange"] = "#FF0000"  # type: ignore[index]


def test_both_languages_have_every_text():
    assert set(common.TEXTS["en"]) == set(common.TEXTS["zh"])
    for key in common.TEXTS["en"]:  # the same placeholders in both languages
        en, zh = common.TEXTS["en"][key], common.TEXTS["zh"][key]
        assert sorted(re.findall(r"{(\w+)", en)) == sorted(re.findall(r"{(\w+)", zh)), key


def test_every_plot_function_is_tested_here():
    public = {name for name in plotting.__all__ if name.startswith("plot_")}
    tested = {func.__name__ for func, _, _ in CASES.values()} | {"plot_p_alive_matrix"}
    assert public == tested


# ------------------------------------------------------------------ segments
def test_segments_bars_and_labels():
    ax = plot_segments(summary_table())
    # "Other" has no customers: hidden, so 3 segments x 2 bars
    assert len(ax.patches) == 6
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([0.2, 0.3, 0.5, 0.7, 0.2, 0.1])
    assert ticklabels(ax.get_yticklabels()) == ["Champions", "At Risk", "Lost"]
    assert ax.yaxis_inverted()  # first segment at the top
    labels = [t.get_text() for t in ax.texts]
    assert " 20.0% (20)" in labels and " 70.0%" in labels and " 10.0%" in labels
    assert ax.get_xlabel() == "Share of all customers / of revenue (%)"
    assert ticklabels(ax.get_legend().get_texts()) == ["Customers", "Revenue"]


def test_segments_keeps_empty_when_asked():
    ax = plot_segments(summary_table(), hide_empty=False)
    assert len(ax.patches) == 8
    assert ticklabels(ax.get_yticklabels())[-1] == "Other"


def test_segments_missing_column_says_what_to_pass():
    bad = summary_table().drop(columns="revenue_share").rename(columns={"revenue": "revenu"})
    with pytest.raises(SchemaError, match=r"missing \['revenue_share'\].*segment_summary"):
        plot_segments(bad)
    with pytest.raises(SchemaError, match="got list"):
        plot_segments([1, 2])


# -------------------------------------------------------------- RFM heatmap
def test_rfm_heatmap_counts_cells():
    ax = plot_rfm_heatmap(scored_table())
    matrix = ax.images[0].get_array()
    # rows: r_score 1..3 (origin lower: row 0 is r=1), columns f_score 1..3
    expected = np.array([[2, 0, 0], [1, 0, 1], [0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(np.asarray(matrix), expected)
    assert len(ax.texts) == 9
    assert texts(ax)[:3] == ["2", "0", "0"]
    assert ax.get_xlabel() == "Frequency score (higher = buys more often)"
    assert ax.get_ylabel() == "Recency score (higher = bought more recently)"
    assert ax.get_title() == "Customers per R x F score cell"
    colourbar_ax = ax.figure.axes[-1]
    assert colourbar_ax.get_ylabel() == "Customers"


def test_rfm_heatmap_mean_monetary_blank_for_empty_cells():
    ax = plot_rfm_heatmap(scored_table(), value="mean_monetary")
    matrix = ax.images[0].get_array()
    assert matrix[0, 0] == 20.0  # (10 + 30) / 2
    assert matrix[1, 2] == 40.0 and matrix[2, 2] == 90.0
    assert bool(matrix.mask[0, 1]) and bool(matrix.mask[2, 0])  # no customer, no mean
    assert len(ax.texts) == 4  # only cells with customers are written
    assert ax.figure.axes[-1].get_ylabel() == "Mean monetary value (currency)"


def test_rfm_heatmap_bad_value():
    with pytest.raises(ValueError, match=r"'value' parameter of plot_rfm_heatmap must be "
                                         r"'customers' or 'mean_monetary'\. Got 'sum'"):
        plot_rfm_heatmap(scored_table(), value="sum")
    with pytest.raises(SchemaError, match=r"missing \['monetary_total'\]"):
        plot_rfm_heatmap(scored_table().drop(columns="monetary_total"), value="mean_monetary")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 4),
                          st.floats(-50, 5000, allow_nan=False)), min_size=1, max_size=60))
def test_rfm_heatmap_matches_a_naive_crosstab(rows):
    scored = pd.DataFrame(rows, columns=["r_score", "f_score", "monetary_total"])
    try:
        counts = np.asarray(plot_rfm_heatmap(scored, annotate=False).images[0].get_array())
        means = plot_rfm_heatmap(scored, value="mean_monetary", annotate=False).images[0]
        means = means.get_array()
    finally:
        plt.close("all")
    n_r, n_f = scored["r_score"].max(), scored["f_score"].max()
    for r in range(1, n_r + 1):  # naive: one cell at a time
        for f in range(1, n_f + 1):
            cell = scored[(scored["r_score"] == r) & (scored["f_score"] == f)]
            assert counts[r - 1, f - 1] == len(cell)
            if len(cell):
                assert means[r - 1, f - 1] == pytest.approx(cell["monetary_total"].mean())
            else:
                assert bool(np.ma.getmaskarray(means)[r - 1, f - 1])
    assert counts.sum() == len(scored)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=12))
def test_segment_bars_follow_the_table(sizes):
    total = sum(sizes) or 1
    summary = pd.DataFrame(
        {"customers": sizes, "customer_share": [n / total for n in sizes],
         "revenue_share": [n / total for n in reversed(sizes)]},
        index=[f"s{i}" for i in range(len(sizes))],
    )
    try:
        ax = plot_segments(summary)
        shown = [n for n in sizes if n > 0]
        assert len(ax.patches) == 2 * len(shown)
        widths = [p.get_width() for p in ax.patches[:len(shown)]]
        assert widths == pytest.approx([n / total for n in shown])
        assert ticklabels(ax.get_yticklabels()) == [f"s{i}" for i, n in enumerate(sizes) if n]
    finally:
        plt.close("all")


# ---------------------------------------------------------------- lifecycle
def test_lifecycle_bars_in_lifecycle_order_with_actions():
    labels = lifecycle_labels(lifecycle_orders(), as_of="2024-06-30")
    # a: new; b: returning; c: high_recovery (121 days); d: active (2 before window)
    ax = plot_lifecycle(labels)
    assert ticklabels(ax.get_yticklabels()) == list(LIFECYCLE_LABELS)
    widths = [p.get_width() for p in ax.patches]
    assert widths == [1, 1, 1, 0, 1, 0, 0]
    words = texts(ax)
    assert " 1 (25.0%)" in words
    assert any(w.startswith("Campaign for the second purchase.") for w in words)
    assert any(w.startswith("Regular promotions first") for w in words)
    assert ax.get_title() == "Lifecycle cohorts and their actions"
    assert ax.get_xlabel() == "Customers"


def test_lifecycle_from_a_summary_and_without_actions():
    summary = pd.DataFrame({"customers": [5, 10]}, index=pd.Index(["new", "lost"]))
    ax = plot_lifecycle(summary)
    assert [p.get_width() for p in ax.patches] == [5, 10]
    assert any(w.startswith("No regular contact") for w in texts(ax))
    ax = plot_lifecycle(summary, show_actions=False)
    assert texts(ax) == [" 5 (33.3%)", " 10 (66.7%)"]  # the bar labels only


def test_lifecycle_zh_names_and_actions(fake_cjk_font):
    labels = lifecycle_labels(lifecycle_orders(), as_of="2024-06-30")
    ax = plot_lifecycle(labels, lang="zh")
    assert ticklabels(ax.get_yticklabels()) == [LABELS_ZH[k] for k in LIFECYCLE_LABELS]
    assert any("二次购买" in w for w in texts(ax))
    assert ax.get_title() == "生命周期分层及营销动作"


def test_lifecycle_summary_of_an_analysis_uses_its_actions():
    summary = pd.DataFrame(
        {"customers": [3, 1], "action": ["Call them.", "Write to them."],
         "action_zh": ["打电话。", "写信。"]},
        index=pd.CategoricalIndex(["new", "lost"], name="lifecycle"),
    )
    ax = plot_lifecycle(summary)
    assert "Call them." in texts(ax) and "Write to them." in texts(ax)


def test_lifecycle_needs_labels_or_counts():
    with pytest.raises(SchemaError, match=r"missing \['customers'\].*lifecycle_labels"):
        plot_lifecycle(pd.DataFrame({"segment": ["x"]}))


# -------------------------------------------------------------------- pareto
def test_pareto_marks_the_80_20_point():
    revenue = pd.Series([500.0, 200.0, 100.0, 100.0, 50.0, 50.0], index=list("ABCDEF"),
                        name="revenue")
    result = pareto(revenue)
    ax = plot_pareto(result)
    # 3 of 6 customers (50%) reach 800 of 1000; the top ceil(0.2*6)=2 hold 70%
    assert texts(ax) == ["50.0% of customers make 80%", "Top 20% make 70.0%"]
    curve = ax.get_lines()[1]
    np.testing.assert_allclose(curve.get_xdata(), result.curve["customer_share"])
    np.testing.assert_allclose(curve.get_ydata(), result.curve["value_share"])
    marker = ax.get_lines()[2]
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (0.5, 0.8)
    assert ax.get_title() == "Pareto curve of revenue"
    assert ax.get_ylabel() == "Cumulative share of revenue (%)"
    # Gini (hand: 0.45) is given in the legend when every value is >= 0
    assert "Gini 0.450" in ticklabels(ax.get_legend().get_texts())[1]


def test_pareto_other_share_and_undefined_total():
    revenue = pd.Series([500.0, 200.0, 100.0, 100.0, 50.0, 50.0], index=list("ABCDEF"))
    ax = plot_pareto(pareto(revenue), share=0.5, top=0.5)
    # the top customer alone holds 50%: 1/6 = 16.7%; top 3 hold 80%
    assert texts(ax) == ["16.7% of customers make 50%", "Top 50% make 80.0%"]
    ax = plot_pareto(pareto(pd.Series([5.0, -10.0], index=["a", "b"])))
    assert texts(ax) == ["Shares undefined: the total is -5.00 (<= 0)"]
    assert len(ax.get_lines()) == 1  # the diagonal only


def test_pareto_needs_a_pareto_result():
    with pytest.raises(TypeError, match=r"plot_pareto needs a ParetoResult; got Series"):
        plot_pareto(pd.Series([1.0]))


# --------------------------------------------------------------- whale curve
def test_whale_curve_annotates_peak_and_80_20_30():
    result = profitability(profit_series())
    ax = plot_whale_curve(result)
    words = texts(ax)
    # peak: the 7 profitable customers (70%) make 140/100 = 140% of the total
    assert "Peak: 140.0% of profit\nfrom the top 70.0% of customers" in words
    assert "Top 20% make 80.0%" in words
    # bottom 3 (30%) make -40; they erase 40/80 = 50% of the top's profit
    assert "Bottom 30% make -40.0%\n(erase 50.0% of the top's profit)" in words
    assert ax.get_title() == ("Whale curve of customer profit\n"
                              "80/20 holds: yes; 80/20/30 holds: yes")
    curve = ax.get_lines()[1]
    np.testing.assert_allclose(curve.get_ydata(), result.whale["profit_share"])
    peak = ax.get_lines()[2]
    assert (peak.get_xdata()[0], peak.get_ydata()[0]) == pytest.approx((0.7, 1.4))
    assert ax.get_ylim()[1] > 1.4 and ax.get_ylim()[0] < 0.0


def test_whale_curve_with_a_loss_says_why_nothing_is_drawn():
    result = profitability(pd.Series([10.0, -30.0], index=["a", "b"]))
    ax = plot_whale_curve(result)
    assert texts(ax) == [result.message]
    assert ax.get_lines() == []


def test_whale_curve_needs_a_profitability_result():
    with pytest.raises(TypeError, match="plot_whale_curve needs a ProfitabilityResult"):
        plot_whale_curve(pareto(profit_series().clip(lower=0)))


# -------------------------------------------------------------- profit tiers
def test_profit_tiers_bars_and_actions():
    result = profitability(profit_series())
    ax = plot_profit_tiers(result)
    heights = [p.get_height() for p in ax.patches]
    summary = result.tier_summary
    expected = list(summary["customer_share"]) + list(summary["profit_share"])
    assert heights == pytest.approx(expected)
    # hand: profitable A,B = 80 (80%); resource_wasting J = -20 (-20%); the rest 40%
    assert heights[3:] == pytest.approx([0.8, 0.4, -0.2])
    assert ticklabels(ax.get_xticklabels()) == [
        "profitable\nInvest", "break_even\nKeep", "resource_wasting\nReduce cost",
    ]
    assert "-20.0%" in texts(ax)
    assert ax.get_ylim()[0] < -0.2


def test_profit_tiers_from_table_and_undefined_shares():
    result = profitability(pd.Series([10.0, -30.0, 5.0], index=["a", "b", "c"]))
    ax = plot_profit_tiers(result.tier_summary)
    assert len(ax.patches) == 3  # profit shares are NaN: only the customer bars


def test_profit_tiers_zh(fake_cjk_font):
    ax = plot_profit_tiers(profitability(profit_series()), lang="zh")
    labels = ticklabels(ax.get_xticklabels())
    assert labels[0] == "价值顾客\n重点投入"
    assert labels[2] == "浪费资源顾客\n降低服务成本"


# ----------------------------------------------------------------- retention
def test_cohort_retention_cells():
    matrix = cohort_retention(tiny_orders(), metric="retention")
    ax = plot_cohort_retention(matrix)
    image = ax.images[0].get_array()
    assert image.shape == (2, 3)
    assert bool(image.mask[1, 2])  # after as_of: blank, not 0
    assert texts(ax) == ["100%", "50%", "50%", "100%", "0%"]
    assert ticklabels(ax.get_yticklabels()) == ["2024-01 (2)", "2024-02 (1)"]
    assert ax.get_xlabel() == "Periods since first purchase (months)"
    assert ax.figure.axes[-1].get_ylabel() == "Customers buying (% of cohort)"
    # the colour scale comes from periods >= 1: period 0 (100%) would wash it out
    assert ax.images[0].norm.vmax == pytest.approx(0.5)


def test_cohort_retention_counts_and_no_annotation():
    ax = plot_cohort_retention(cohort_retention(tiny_orders()), annotate=False)
    assert texts(ax) == []
    assert ax.get_title() == "Cohort activity: customers of each cohort buying"
    with pytest.raises(SchemaError, match=r"missing \['cohort_size'\]"):
        plot_cohort_retention(pd.DataFrame({"x": [1]}))


# ---------------------------------------------------------------------- flow
def test_customer_flow_bars_and_net_line():
    flow = flow_table()
    ax = plot_customer_flow(flow)
    n = len(flow)
    assert len(ax.patches) == 3 * n
    heights = [p.get_height() for p in ax.patches]
    assert heights[:n] == list(flow["new"])
    assert heights[n:2 * n] == list(flow["reactivated"])
    assert heights[2 * n:] == [-c for c in flow["churned"]]
    net = ax.get_lines()[0].get_ydata()
    # hand (docstring of customer_flow): active 0 -> 2 -> 1 -> 2 -> 2
    assert list(net) == [2, -1, 1, 0]
    assert ticklabels(ax.get_xticklabels()) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    legend = ticklabels(ax.get_legend().get_texts())
    assert legend == ["Net change of active customers", "New", "Reactivated", "Churned",
                      "Partial period (the data cover part of it)"]
    # January starts before the first order (2024-01-10): its bars are faded and hatched
    assert list(flow["complete"]) == [False, True, True, True]
    for series in range(3):
        drawn = ax.patches[series * n:(series + 1) * n]
        assert [p.get_hatch() for p in drawn] == ["////", None, None, None]
        assert [p.get_alpha() for p in drawn] == [0.4, None, None, None]


def test_customer_flow_with_retained_reaches_active_end():
    flow = flow_table()
    ax = plot_customer_flow(flow, show_retained=True)
    n = len(flow)
    assert len(ax.patches) == 4 * n
    tops = [max(p.get_y() + p.get_height(), p.get_y()) for p in ax.patches[2 * n:3 * n]]
    assert tops == list(flow["active_end"])


# ----------------------------------------------------------------- migration
def test_migration_shares_and_counts():
    result = migration_result()
    ax = plot_migration(result)
    image = ax.images[0].get_array()
    assert image.shape == result.shares.shape == (8, 7)
    rows = ticklabels(ax.get_yticklabels())
    assert rows[0] == "new (2)" and rows[-1] == "not yet a customer (1)"
    assert ticklabels(ax.get_xticklabels()) == list(result.shares.columns)
    assert ax.get_ylabel() == "At 2024-01-31" and ax.get_xlabel() == "At 2024-06-30"
    # rows with customers are written cell by cell; empty rows stay blank
    assert len(texts(ax)) == 2 * 7
    assert "50%" in texts(ax) and "100%" in texts(ax)
    ax = plot_migration(result, value="counts")
    assert np.asarray(ax.images[0].get_array()).sum() == 3
    assert ax.figure.axes[-1].get_ylabel() == "Customers"


def test_migration_zh_labels(fake_cjk_font):
    ax = plot_migration(migration_result(), lang="zh")
    rows = ticklabels(ax.get_yticklabels())
    assert rows[0] == "新顾客 (2)" and rows[-1] == "尚未成为顾客 (1)"
    assert ax.get_title() == "生命周期迁移，2024-01-31 至 2024-06-30"


def test_migration_errors():
    with pytest.raises(ValueError, match=r"'value' parameter of plot_migration must be "
                                         r"'shares' or 'counts'\. Got 'rows'"):
        plot_migration(migration_result(), value="rows")
    with pytest.raises(TypeError, match="plot_migration needs a MigrationResult; got DataFrame"):
        plot_migration(pd.DataFrame())


# ---------------------------------------------------------------- histograms
def test_histogram_linear_for_recency_with_median():
    table = customers_table()
    ax = plot_rfm_histogram(table, "recency_days", bins=10)
    assert ax.get_xscale() == "linear"  # skew about 1.2: no log needed
    assert sum(p.get_height() for p in ax.patches) == len(table)
    assert len(ax.patches) == 10
    assert ax.get_title() == "Recency"
    assert ax.get_xlabel() == "Days since the last purchase"
    assert ax.get_ylabel() == "Customers"
    assert ticklabels(ax.get_legend().get_texts()) == ["Median 50"]


def test_histogram_log_for_skewed_money_counts_what_is_hidden():
    spend = [10.0] * 10 + [20.0] * 8 + [50.0] * 5 + [100.0] * 3 + [1000.0, 5000.0, 20000.0]
    table = pd.DataFrame({"monetary_total": [-5.0, *spend]})  # 1 of 30 is <= 0
    ax = plot_rfm_histogram(table, "monetary_total")
    assert ax.get_xscale() == "log"
    assert ax.get_title() == "Monetary value (log scale)"
    # 7 of 8 positive (87.5%) is too few for a log axis: linear, nothing hidden
    assert plot_rfm_histogram(customers_table(), "monetary_total").get_xscale() == "linear"
    # one customer has a net spend of -5: not on a log axis, and said so
    assert ax.get_xlabel() == "Net spend (currency)\n1 customers with values <= 0 not shown"
    assert sum(p.get_height() for p in ax.patches) == len(table) - 1


def test_histogram_integer_bins_and_forced_scale():
    table = customers_table()
    ax = plot_rfm_histogram(table, "frequency", log=False, bins=50)
    # one bin per whole number 1..40, centred on it
    assert len(ax.patches) == 40
    assert ax.patches[0].get_x() == pytest.approx(0.5)
    assert [p.get_height() for p in ax.patches[:3]] == [3, 2, 1]
    ax = plot_rfm_histogram(table, "frequency", log=True)
    assert ax.get_xscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == len(table)


def test_histogram_other_column_and_errors():
    table = customers_table().assign(score=[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0])
    ax = plot_rfm_histogram(table, "score")
    assert ax.get_title() == "Distribution of score" and ax.get_xlabel() == "score"
    ax = plot_rfm_histogram(table.rename(columns={"score": "p_alive"}) / 4, "p_alive")
    assert ax.get_title() == "Probability alive"
    assert ax.get_xlabel() == "Probability alive (BG/NBD, 0 to 1)"
    with pytest.raises(ValueError, match=r"'log' parameter .* True, False or 'auto'\. "
                                         r"Got 'yes'"):
        plot_rfm_histogram(table, "score", log="yes")
    with pytest.raises(ValueError, match=r"'bins' parameter .* int >= 1\. Got 0"):
        plot_rfm_histogram(table, "score", bins=0)
    with pytest.raises(SchemaError, match=r"missing \['recency'\]\. Found .*Did you mean"):
        plot_rfm_histogram(table, "recency")


# ------------------------------------------------------------------- p alive
def test_p_alive_matrix_is_the_models_p_alive(btyd_fit):
    model, data = btyd_fit
    ax = plot_p_alive_matrix(model, data, max_frequency=8, n_recency=10)
    matrix = np.asarray(ax.images[0].get_array())
    assert matrix.shape == (9, 10)
    assert np.all((matrix >= 0) & (matrix <= 1))
    np.testing.assert_allclose(matrix[0], 1.0)  # no repeat purchase: alive by definition
    # for a given frequency, a more recent last purchase means more likely alive
    assert np.all(np.diff(matrix[1:], axis=1) >= -1e-12)
    # cell (3, 4) is the model's own p_alive at recency 4.5 steps of T/10
    horizon = float(data["T"].max())
    one = pd.DataFrame({"frequency": [3.0], "recency": [4.5 * horizon / 10], "T": [horizon]})
    assert matrix[3, 4] == pytest.approx(float(model.p_alive(one).iloc[0]))
    assert ax.get_ylabel() == "Repeat purchases (frequency)"
    assert ax.get_xlabel() == "Recency: time from the first to the last purchase (weeks)"
    assert ax.get_title() == f"Probability alive after {round(horizon, 1):g} weeks"


def test_p_alive_matrix_contract(btyd_fit, monkeypatch, no_cjk_font):
    model, data = btyd_fit
    before = copy.deepcopy(dict(matplotlib.rcParams))
    ax = plot_p_alive_matrix(model, data)
    assert dict(matplotlib.rcParams) == before
    expected_rows = int(np.ceil(data["frequency"].quantile(0.99))) + 1
    assert ax.images[0].get_array().shape == (expected_rows, 60)
    _fig, target = plt.subplots()
    assert plot_p_alive_matrix(model, data, ax=target) is target
    with pytest.warns(UserWarning, match="no font with Chinese"):
        plot_p_alive_matrix(model, data, lang="zh")


def test_p_alive_matrix_errors(btyd_fit):
    model, data = btyd_fit
    with pytest.raises(TypeError, match="needs a fitted BetaGeoModel"):
        plot_p_alive_matrix(BetaGeoModel(), data)
    with pytest.raises(ValueError, match=r"'max_frequency' .* int >= 1\. Got 0"):
        plot_p_alive_matrix(model, data, max_frequency=0)
    with pytest.raises(ValueError, match=r"'n_recency' .* int >= 2\. Got 1"):
        plot_p_alive_matrix(model, data, n_recency=1)
    with pytest.raises(SchemaError, match=r"missing \['T'\]"):
        plot_p_alive_matrix(model, data.drop(columns="T"))


# --------------------------------------------------------------- calibration
def test_calibration_lines_follow_the_table():
    table = calibration_table()
    ax = plot_calibration(table)
    actual, predicted = ax.get_lines()
    assert list(actual.get_ydata()) == [0.2, 0.9, 2.1]
    assert list(predicted.get_ydata()) == [0.25, 0.8, 2.0]
    assert ticklabels(ax.get_xticklabels()) == ["0\n(n=50)", "1\n(n=30)", "2+\n(n=20)"]
    assert ax.get_ylabel() == "Mean purchase days in the holdout"


def test_calibration_from_a_backtest_names_the_holdout():
    from rfm_loyalty.datasets import make_orders

    lines = make_orders(n_customers=200, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tie-collapsed score bins on small data
        result = backtest(lines, calibration_end=lines["order_date"].max().normalize()
                          - pd.Timedelta(days=60), holdout_days=60)
    ax = plot_calibration(result)
    assert ax.get_ylabel() == "Mean purchase days in the holdout (60 days)"
    assert list(ax.get_lines()[0].get_ydata()) == list(result.calibration["actual_mean"])
    assert len(ax.get_xticklabels()) == len(result.calibration)


# ---------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def real():
    if not DATA.exists():
        pytest.skip(f"real data not found at {DATA} (the shared/ folder beside the repo)")
    from rfm_loyalty.orders import OrderColumns, read_orders
    from rfm_loyalty.profitability import customer_profit
    from rfm_loyalty.summary import rfm_table

    columns = OrderColumns(customer="CustomerID", date="InvoiceDate", order_id="InvoiceNo",
                           quantity="Quantity", unit_price="UnitPrice")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the dropped rows without a customer are expected
        orders = read_orders(DATA, columns)
    customers = rfm_table(orders)
    profit = customer_profit(orders, margin=0.3, cost_per_order=5.0, cost_per_customer=10.0)
    return {"orders": orders, "customers": customers, "profit": profit}


@pytest.mark.slow
def test_real_data_plots(real):
    revenue = real["customers"]["monetary_total"].rename("revenue")
    ax = plot_pareto(pareto(revenue))
    # 4,338 customers; 27.1% of them make 80% of revenue, the top 20% make 73.6%
    assert texts(ax) == ["27.1% of customers make 80%", "Top 20% make 73.6%"]
    ax = plot_whale_curve(profitability(real["profit"]))
    assert "Top 20% make 75.7%" in texts(ax)
    ax = plot_rfm_histogram(real["customers"], "monetary_total")
    assert ax.get_xscale() == "log"
    assert ax.get_xlim()[0] > 1.0  # float crumbs of netted returns do not stretch the axis
    ax = plot_rfm_histogram(real["customers"], "recency_days")
    assert ax.get_xscale() == "linear"
    flow = customer_flow(real["orders"], churn_days=90)
    ax = plot_customer_flow(flow)
    assert len(ax.patches) == 3 * len(flow) == 39
    ax.figure.canvas.draw()
