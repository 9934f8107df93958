"""Tests of the loyalty plots (rfm_loyalty.plotting: quadrant, onboarding, tiers)."""

from __future__ import annotations

import copy
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import rfm_loyalty.plotting._common as common
from rfm_loyalty.loyalty import (
    loyalty_value_matrix,
    member_tiers,
    second_purchase,
)
from rfm_loyalty.plotting import (
    plot_loyalty_matrix,
    plot_member_tiers,
    plot_second_purchase,
)
from rfm_loyalty.plotting._loyalty import LOYALTY_TEXTS


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def no_cjk_font(monkeypatch):
    monkeypatch.setattr(common, "find_cjk_font", lambda: None)
    common._warn_no_cjk_font.cache_clear()
    yield
    common._warn_no_cjk_font.cache_clear()


@pytest.fixture
def fake_cjk_font(monkeypatch):
    monkeypatch.setattr(common, "find_cjk_font", lambda: "DejaVu Sans")


def _orders() -> pd.DataFrame:
    rows = [("a", "2024-01-01", 50.0), ("a", "2024-03-01", 50.0), ("a", "2024-06-01", 50.0),
            ("b", "2024-06-10", 400.0), ("c", "2024-02-01", 5.0), ("c", "2024-05-01", 5.0),
            ("d", "2024-06-20", 8.0), ("e", "2024-02-15", 30.0), ("e", "2024-03-01", 20.0)]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


CASES = {
    "matrix": (plot_loyalty_matrix, lambda: loyalty_value_matrix(_orders()), {}),
    "onboarding": (plot_second_purchase, lambda: second_purchase(_orders()), {}),
    "tiers": (plot_member_tiers,
              lambda: member_tiers(_orders(), thresholds={"silver": 50, "gold": 150}), {}),
}


def call(name, **kwargs):
    func, make, extra = CASES[name]
    return func(make(), **{**extra, **kwargs})


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract(name, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    before, settings = plt.get_fignums(), copy.deepcopy(dict(matplotlib.rcParams))
    ax = call(name)
    assert isinstance(ax, Axes) and ax.get_title()
    assert len(plt.get_fignums()) == len(before) + 1
    _fig, (left, right) = plt.subplots(1, 2)
    assert call(name, ax=right) is right
    assert not left.has_data() and right.has_data()
    assert dict(matplotlib.rcParams) == settings
    with pytest.raises(ValueError, match=r"The 'lang' parameter of plot_\w+ must be one of "
                                         r"\['en', 'zh'\]\. Got 'fr' instead\."):
        call(name, lang="fr")
    with pytest.raises(TypeError, match=r"The 'ax' parameter of plot_\w+ must be a matplotlib "
                                        r"Axes or None"):
        call(name, ax=plt.figure())
    with pytest.raises(TypeError, match=r"plot_\w+ needs a \w+; got DataFrame"):
        CASES[name][0](pd.DataFrame())


@pytest.mark.parametrize("name", sorted(CASES))
def test_zh_draws_chinese_in_the_cjk_font(name, fake_cjk_font):
    ax = call(name, lang="zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in ax.get_title())
    assert ax.title.get_fontfamily() == ["DejaVu Sans", "DejaVu Sans"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_zh_without_a_font_falls_back_to_english(name, no_cjk_font):
    english = call(name).get_title()
    with pytest.warns(UserWarning, match="finds no font with Chinese characters"):
        ax = call(name, lang="zh")
    assert ax.get_title() == english


def test_texts_have_the_same_keys_and_placeholders():
    assert set(LOYALTY_TEXTS["en"]) == set(LOYALTY_TEXTS["zh"])
    for key, en in LOYALTY_TEXTS["en"].items():
        zh = LOYALTY_TEXTS["zh"][key]
        assert sorted(re.findall(r"{(\w+)", en)) == sorted(re.findall(r"{(\w+)", zh)), key


def test_matrix_cells_show_the_computed_figures():
    matrix = loyalty_value_matrix(_orders())
    ax = plot_loyalty_matrix(matrix)
    texts = {t.get_text().split("\n")[0]: t.get_text() for t in ax.texts}
    cells = matrix.cells
    friends = cells.loc["true_friends"]
    assert texts["True friends"] == (
        f"True friends\n{friends['customers']} customers ({friends['customer_share']:.1%})\n"
        f"{friends['value_share']:.1%} of Revenue")
    assert len(ax.patches) == 4
    assert f"{matrix.loyalty_cutoff:.2f}" in ax.get_xlabel()


def test_onboarding_draws_the_curve_and_windows(fake_cjk_font):
    result = second_purchase(_orders(), within_days=(30, 60))
    ax = plot_second_purchase(result, cohorts=["2024-02"], max_days=100)
    lines = ax.get_lines()
    everyone = lines[0]
    curve = result.curve[(result.curve["cohort"] == "all") & (result.curve["days"] <= 100)]
    np.testing.assert_allclose(everyone.get_ydata(), curve["repurchased"])
    assert everyone.get_label() == "All new customers (5)"
    assert lines[1].get_label() == "Cohort 2024-02 (2)"
    assert [t.get_text() for t in ax.texts] == ["30 days", "60 days"]
    with pytest.raises(ValueError, match=r"names cohorts without a curve: \['1999-01'\]"):
        plot_second_purchase(result, cohorts=["1999-01"])
    zh = plot_second_purchase(result, lang="zh")
    assert zh.get_lines()[0].get_label().startswith("全部新顾客")


def test_tiers_bars_and_names(fake_cjk_font):
    tiers = member_tiers(_orders(), thresholds={"silver": 50, "gold": 150})
    ax = plot_member_tiers(tiers)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights[:3], tiers.summary["customer_share"])
    np.testing.assert_allclose(heights[3:], tiers.summary["spend_share"])
    zh = plot_member_tiers(tiers, lang="zh")
    names = [t.get_text().split("\n")[0] for t in zh.get_xticklabels()]
    assert names == ["普通会员", "银卡", "金卡"]
