"""Every view says what the analysis cannot show: caveats, population, partial periods, zh.

The real-data tests use the README's example (``margin=0.3`` on the UCI Online
Retail data, skipped when the data are absent); the generated sample without
a cost input or margin shows none of those caveats.
"""

from __future__ import annotations

import io
import json
import re
import warnings

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from rfm_loyalty import OrderColumns, analyze, report
from rfm_loyalty.cli import main
from rfm_loyalty.datasets import load_sample_orders, make_orders
from rfm_loyalty.plotting import _common as common
from rfm_loyalty.plotting import (
    find_cjk_font,
    plot_cohort_retention,
    plot_customer_flow,
    plot_lifecycle,
    plot_rfm_heatmap,
    plot_segments,
)

from .helpers import REAL_DATA

# The caveats the issue names, and the views they belong beside.
REAL_CAVEATS = ("assumed_margin", "warm_up")


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(*args, **kwargs)


@pytest.fixture(scope="module")
def real(retail):
    return quiet(retail, margin=0.3)  # the README's example


@pytest.fixture(scope="module")
def sample():
    # two full years, no margin, the cost column left out: no profit at all
    result = quiet(load_sample_orders(), OrderColumns(order_id="order_id"))
    assert result.profitability is None
    return result


def views(pattern_page: str) -> dict[str, str]:
    """The report's views: data-tables attribute -> the HTML inside the view."""
    return dict(re.findall(r"<div class='view' data-tables='([^']*)'>(.*?)</div>",
                           pattern_page, flags=re.S))


def codes_in(fragment: str) -> set[str]:
    return set(re.findall(r"data-code='([a-z_]+)'", fragment))


# --------------------------------------------------------------------------- #
# done when: the real data with the README's example
# --------------------------------------------------------------------------- #
POPULATION = ("4,338 customers with a purchase (of 4,372 with an order: 34 have only returns "
              "and appear only in the profit tables)")
MONEY = "Revenue: gross sales 8,911,407.90, returns -611,342.09, net revenue 8,300,065.81."


def test_text_summary_states_money_population_and_caveats(real):
    text = str(real)
    lines = text.splitlines()
    assert lines[1].startswith(f"Customers: {POPULATION}; 22,190 orders, 18,532 of them "
                               "purchases, 2010-12-01 to 2011-12-09 (as of 2011-12-09).")
    assert lines[2] == MONEY
    flat = re.sub(r"\s+", " ", text)
    assert "Caveats (6): read the tables they name with them." in flat
    assert ("! assumed_margin (warning; profitability, whale, tiers, customers.profit, "
            "segments.profit): Profit is an assumed margin: 0.3 x revenue.") in flat
    assert "! warm_up (warning; flow, retention, churn): The data span 374 days" in flat
    # the caveats come before the tables, and every line stays readable in a terminal
    assert text.index("Caveats (6)") < text.index("Lifecycle cohorts")
    caveat_block = text[text.index("Caveats (6)"):text.index("\n\nLifecycle cohorts")]
    assert max(len(line) for line in caveat_block.splitlines()) <= 100


def test_notebook_view_states_money_population_caveats_and_plots(real):
    page = real._repr_html_()
    assert POPULATION in page and MONEY in page
    assert [c.code for c in real.caveats] == re.findall(r"<li class='\w+' data-code='(\w+)'",
                                                        page)
    assert "<b>Profit is an assumed margin</b> (warning; profitability, whale" in page
    images = re.findall(r"<img alt='([^']*)'[^>]*src='data:image/png;base64,([^']*)'", page)
    assert [alt for alt, _ in images] == [title for title, _ in report.NOTEBOOK_PLOTS]
    assert len(page.encode("utf-8")) < 200_000


def test_report_shows_each_caveat_beside_its_views(real, tmp_path):
    page = real.report(tmp_path / "r.html").read_text(encoding="utf-8")
    head = page.split("<section", 1)[0]
    assert POPULATION in head and MONEY in head  # the headline under the title
    found = views(page)
    # the assumed margin beside the 80/20/30 check and the whale curve, in full
    whale = found["profitability whale"]
    assert whale.index("data-code='assumed_margin'") < whale.index("Profit 80/20/30:")
    assert "Caveat (warning): Profit is an assumed margin.</b> Profit is an assumed margin: " \
           "0.3 x revenue." in whale
    assert "<img alt='Whale curve" in whale
    # the warm-up beside the retention and the flow charts
    assert "warm_up" in codes_in(found["retention"]) and "warm_up" in codes_in(found["flow"])
    assert "<img alt='Customer flow" in found["flow"]
    assert "<img alt='Acquisition-cohort retention" in found["retention"]
    assert "Caveat (warning): Warm-up" in page.split("<section id='churn'>", 1)[1]
    # each caveat is beside a view it concerns, and only there
    for caveat in real.caveats:
        beside = [t for t, html in found.items() if caveat.code in codes_in(html)]
        assert beside, caveat.code
        assert all(any(caveat.concerns(t) for t in tables.split()) for tables in beside)
    # the population and the returns-only customers beside the data quality
    assert POPULATION in found["customers"]
    assert "returns_only_customers" in codes_in(found["customers"])


def test_a_clean_sample_without_costs_shows_none_of_those_caveats(sample, tmp_path):
    assert {"assumed_margin", "warm_up", "partial_last_period"}.isdisjoint(
        c.code for c in sample.caveats)
    text = str(sample)
    page = sample._repr_html_()
    html = sample.report(tmp_path / "r.html").read_text(encoding="utf-8")
    for view in (text, page, html):
        for code in (*REAL_CAVEATS, "partial_last_period"):
            assert code not in view
        assert "assumed margin" not in view.lower() and "Warm-up" not in view
        assert "net revenue" in view and "gross sales" in view
    # with costs from the data (the sample's cost column) profit is real: no caveat either
    costed = quiet(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"))
    assert costed.profitability is not None
    assert "assumed_margin" not in str(costed)


def test_no_caveat_says_so(tmp_path):
    result = quiet(make_orders(3000, random_state=4, with_cost=False), n_bins=3)
    if result.caveats:  # a generated sample may still have small groups: drop them here
        result = type(result)(**{**result.__dict__, "caveats": ()})
    assert "Caveats: none." in str(result)
    assert "Caveats: none." in result._repr_html_()
    assert "Caveats: none." in result.report(tmp_path / "r.html").read_text(encoding="utf-8")


def test_metadata_json_lists_the_caveats_and_the_population(real, tmp_path):
    real.export(tmp_path / "out", timestamp=False)
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["caveats"] == [c.to_dict() for c in real.caveats]
    assert meta["caveats"][0] == {
        "code": "assumed_margin", "severity": "warning",
        "message": real.caveats[0].message,
        "tables": ["profitability", "whale", "tiers", "customers.profit", "segments.profit"]}
    assert meta["population"]["customers"] == 4338
    assert meta["population"]["customers_with_orders"] == 4372
    assert meta["population"]["first_purchase"] == "2010-12-01"


def test_cli_prints_the_caveats(tmp_path):
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA}")
    out, err = io.StringIO(), io.StringIO()
    code = main(["analyze", str(REAL_DATA), "--customer-col", "CustomerID", "--date-col",
                 "InvoiceDate", "--quantity-col", "Quantity", "--unit-price-col", "UnitPrice",
                 "--order-id-col", "InvoiceNo", "--margin", "0.3", "--out",
                 str(tmp_path / "out")], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    printed = out.getvalue()
    assert MONEY in printed
    assert "! assumed_margin (warning;" in printed and "! warm_up (warning;" in printed
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert [c["code"] for c in meta["caveats"]][:2] == list(REAL_CAVEATS)


# --------------------------------------------------------------------------- #
# plots: partial periods, limits from the data, text inside the frame
# --------------------------------------------------------------------------- #
def test_flow_axis_limits_hold_every_bar_and_point_on_the_real_data(real):
    flow = real.flow
    ax = plot_customer_flow(flow)
    low, high = ax.get_ylim()
    tops = (flow["new"] + flow["reactivated"]).to_numpy()
    net = (flow["active_end"] - flow["active_start"]).to_numpy()
    assert high > max(tops.max(), net.max())  # the first bar (2010-12: 885 new) is whole
    assert low < min(-flow["churned"].max(), net.min())
    for patch in ax.patches:
        y0, y1 = sorted((patch.get_y(), patch.get_y() + patch.get_height()))
        assert low < y0 and y1 < high
    # December 2011 is partial: its bars are hatched, with a legend entry
    assert list(flow.index.astype(str)[~flow["complete"].to_numpy()]) == ["2011-12"]
    last = [p for p in ax.patches if p.get_x() + p.get_width() / 2 == len(flow) - 1]
    assert last and all(p.get_hatch() == "////" for p in last)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[-1] == "Partial period (the data cover part of it)"
    ax.figure.clf()


def test_retention_hatches_the_cells_of_a_partial_period(real):
    matrix = real.retention
    ax = plot_cohort_retention(matrix)
    hatched = [(round(p.get_y() + 0.5), round(p.get_x() + 0.5)) for p in ax.patches
               if p.get_hatch()]
    # one cell per cohort: the cell of December 2011 (cohort + column = 2011-12)
    assert len(hatched) == len(matrix)
    for row, col in hatched:
        assert str(matrix.index[row] + col) == "2011-12"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Partial period (the data cover part of it)"]
    ax.figure.clf()


def test_heatmap_says_when_ties_left_fewer_score_bins():
    result = quiet(load_sample_orders())  # 45.6% bought once: 4 frequency bins of 5
    assert result.scorer.n_bins_["frequency"] == 4
    ax = plot_rfm_heatmap(result.customers, n_bins=5)
    assert ax.images[0].get_array().shape == (5, 4)
    assert ax.get_xlabel().endswith(
        "\nFrequency: 4 of 5 score bins (ties left fewer distinct values)")
    ax.figure.clf()
    ax = plot_rfm_heatmap(result.customers)  # without n_bins: no claim
    assert "\n" not in ax.get_xlabel()
    ax.figure.clf()


def outside_texts(fig) -> list[str]:
    """Texts drawn outside the figure, and data texts outside their axes' frame."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    # tick labels of ticks outside the view limits are not drawn
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            tol = 1e-9 * max(abs(low), abs(high), 1.0)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - tol <= tick.get_loc() <= high + tol:
                    hidden.update({id(tick.label1), id(tick.label2)})

    def out(box, frame) -> bool:
        return (box.x0 < frame.x0 - 0.5 or box.y0 < frame.y0 - 0.5
                or box.x1 > frame.x1 + 0.5 or box.y1 > frame.y1 + 0.5)

    bad = []
    for text in fig.findobj(Text):
        if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
            continue
        if out(text.get_window_extent(renderer), fig.bbox):
            bad.append(f"figure: {text.get_text()[:40]!r}")
    for ax in fig.axes:
        for text in ax.texts:  # bar labels, cell values, actions, notes
            if out(text.get_window_extent(renderer), ax.bbox):
                bad.append(f"axes: {text.get_text()[:40]!r}")
    return bad


def drawn_figures(analysis, monkeypatch, **options) -> list[tuple[tuple, list[str]]]:
    """Every chart of the report and of the notebook view, with its misplaced texts."""
    seen = []

    def check(draw, *, size, dpi=100):
        fig = Figure(figsize=size, layout="constrained")
        draw(fig.add_subplot())
        seen.append((size, outside_texts(fig)))
        return ""

    monkeypatch.setattr(report, "_png", check)
    report.report_html(analysis, **options)
    report.html_dashboard(analysis)
    return seen


def test_every_report_chart_keeps_its_text_inside_its_frame_real(real, monkeypatch):
    figures = drawn_figures(real, monkeypatch)
    assert len(figures) == 8 + 3  # no models: 8 report charts, 3 notebook plots
    assert [bad for _, bad in figures if bad] == []


def test_every_report_chart_keeps_its_text_inside_its_frame_sample(monkeypatch):
    result = quiet(load_sample_orders(), models=True)
    figures = drawn_figures(result, monkeypatch)
    assert len(figures) == 10 + 3
    assert [bad for _, bad in figures if bad] == []


def test_lifecycle_actions_fit_narrow_axes():
    result = quiet(load_sample_orders())
    for width in (6.0, 8.0, 11.0):
        fig = Figure(figsize=(width, 4.0), layout="constrained")
        ax = plot_lifecycle(result.lifecycle, ax=fig.add_subplot())
        assert outside_texts(fig) == [], width
        actions = [t for t in ax.texts if not t.get_text().startswith(" ")]
        assert len(actions) == 7
        assert all(t.get_fontsize() >= 6 for t in actions)
    # the whole action is drawn when it fits (wide axes), cut with an ellipsis only when not
    fig = Figure(figsize=(14.0, 6.0), layout="constrained")
    ax = plot_lifecycle(result.lifecycle, ax=fig.add_subplot())
    drawn = [t.get_text().replace("\n", " ") for t in ax.texts if not
             t.get_text().startswith(" ")]
    assert drawn == list(result.lifecycle["action"])


# --------------------------------------------------------------------------- #
# Chinese
# --------------------------------------------------------------------------- #
needs_cjk = pytest.mark.skipif(find_cjk_font() is None,
                               reason="no CJK font: apt-get install fonts-noto-cjk")


def glyph_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "missing from" in str(w.message)
            or "Glyph" in str(w.message)]


@needs_cjk
def test_zh_plot_uses_chinese_segment_names_without_missing_glyphs():
    result = quiet(load_sample_orders())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        ax = plot_segments(result.segments, lang="zh")
        ax.figure.canvas.draw()
    assert glyph_warnings(record) == []
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[:2] == ["冠军客户", "忠诚客户"]
    assert ax.get_title() == "客群规模与收入"
    ax.figure.clf()


@needs_cjk
def test_zh_report_renders_without_missing_glyphs(tmp_path):
    result = quiet(load_sample_orders(), models=True)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        page = result.report(tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    assert glyph_warnings(record) == []
    assert "<html lang='zh'>" in page
    assert "<h2>生命周期分层 <span class='en'>Lifecycle cohorts</span></h2>" in page
    # Chinese names first in the tables, as HTML text
    assert "<th>zh</th><th>segment</th>" in page and "<td>冠军客户</td><td>Champions</td>" in page
    assert "<td>新顾客</td><td>new</td>" in page
    assert report.NO_CJK_FONT_NOTE not in page


def test_zh_report_without_a_cjk_font_keeps_chinese_as_html_text(tmp_path, monkeypatch):
    from rfm_loyalty import plotting

    monkeypatch.setattr(common, "find_cjk_font", lambda: None)
    monkeypatch.setattr(plotting, "find_cjk_font", lambda: None)
    common._warn_no_cjk_font.cache_clear()
    result = quiet(load_sample_orders())
    with pytest.warns(UserWarning, match="fonts-noto-cjk") as record:
        page = result.report(tmp_path / "zh.html", lang="zh").read_text(encoding="utf-8")
    assert len([w for w in record if "finds no font" in str(w.message)]) == 1  # said once
    assert report.NO_CJK_FONT_NOTE in page
    assert "<td>冠军客户</td><td>Champions</td>" in page  # the names stay, as text
    common._warn_no_cjk_font.cache_clear()


def test_report_lang_is_checked(sample, tmp_path):
    with pytest.raises(ValueError, match=r"The 'lang' parameter of report_html must be one "
                                         r"of \['en', 'zh'\]\. Got 'fr' instead\."):
        sample.report(tmp_path / "r.html", lang="fr")


def test_every_caveat_code_has_a_title_and_a_documented_row():
    from pathlib import Path

    from rfm_loyalty._caveats import CAVEAT_CODES

    assert set(report.CAVEAT_TITLES) == set(CAVEAT_CODES)
    docs = (Path(__file__).resolve().parents[1] / "docs" / "definitions.md").read_text(
        encoding="utf-8")
    for code, severity in CAVEAT_CODES.items():
        assert f"| `{code}` | {severity} |" in docs


# --------------------------------------------------------------------------- #
# the notebook view's size does not grow with the customers
# --------------------------------------------------------------------------- #
def test_notebook_view_size_does_not_grow_with_customers():
    sizes = {}
    for n in (10_000, 100_000):
        result = quiet(make_orders(n, random_state=1, with_cost=False))
        page = result._repr_html_()
        assert len(result.customers) == n
        assert page.count("<img ") == 3
        sizes[n] = len(page.encode("utf-8"))
    assert sizes[100_000] < 1.15 * sizes[10_000]
    assert max(sizes.values()) < 250_000  # far under 1 MB
    assert np.isfinite(list(sizes.values())).all()
