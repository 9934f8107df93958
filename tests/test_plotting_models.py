"""Tests of the model-comparison plots: plot_repeat_purchases, plot_transactions_tracking.

As in tests/test_plotting.py: rendered headless, the drawn elements read back and
compared with the table that was plotted.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; before pyplot is imported anywhere

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from rfm_loyalty.btyd import calibration_holdout_summary, compare_models, transactions_tracking
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.orders import prepare_orders
from rfm_loyalty.plotting import plot_repeat_purchases, plot_transactions_tracking

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cdnow():
    lines = pd.read_csv(REFERENCE / "cdnow_sample_transactions.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orders = prepare_orders(lines, zero_amount="purchase")
    table = calibration_holdout_summary(orders, calibration_end="1997-09-30", time_unit="W")
    comparison, models = compare_models(table, holdout=table, return_models=True)
    tracking = transactions_tracking(orders, models, calibration_end="1997-09-30")
    return comparison, tracking


def test_repeat_purchase_histogram_draws_the_table(cdnow) -> None:
    comparison, _ = cdnow
    before = comparison.copy()
    ax = plot_repeat_purchases(comparison)
    bins = ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert [t.get_text() for t in ax.get_xticklabels()] == bins
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Actual", "BG/NBD", "MBG/NBD", "Pareto/NBD"]
    heights = np.array([p.get_height() for p in ax.patches]).reshape(4, 8)
    observed = comparison.iloc[0][[f"observed_{b}" for b in bins]].to_numpy(dtype=float)
    np.testing.assert_array_equal(heights[0], observed)
    for i, name in enumerate(["bgnbd", "mbgnbd", "paretonbd"], start=1):
        expected = comparison.loc[name, [f"expected_{b}" for b in bins]].to_numpy(dtype=float)
        np.testing.assert_allclose(heights[i], expected)
    assert ax.get_title() == "Customers by repeat purchases in the calibration period"
    pd.testing.assert_frame_equal(comparison, before)


def test_repeat_purchase_histogram_skips_failed_models_and_speaks_chinese(cdnow) -> None:
    comparison, _ = cdnow
    failed = comparison.copy()
    failed.loc["mbgnbd", [c for c in failed.columns if c.startswith("expected_")]] = np.nan
    _, ax = plt.subplots()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no CJK font on this machine: English
        drawn = plot_repeat_purchases(failed, ax=ax, lang="zh")
    assert drawn is ax
    assert len(ax.patches) == 3 * 8
    if ax.get_title() != "Customers by repeat purchases in the calibration period":
        assert ax.get_title() == "校准期内按复购次数的顾客分布"


def test_tracking_plot_draws_cumulative_and_weekly_lines(cdnow) -> None:
    _, tracking = cdnow
    ax = plot_transactions_tracking(tracking)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["Actual", "BG/NBD", "MBG/NBD", "Pareto/NBD", "End of calibration"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), tracking["actual_cumulative"])
    np.testing.assert_allclose(ax.lines[3].get_ydata(), tracking["paretonbd_cumulative"])
    assert ax.lines[-1].get_xdata()[0] == 39.5  # after week 39, the last of calibration
    assert ax.get_xlabel() == "Period (7-day periods from the first purchase)"
    assert ax.get_ylabel() == "Cumulative repeat transactions"
    weekly = plot_transactions_tracking(tracking, cumulative=False)
    np.testing.assert_array_equal(weekly.lines[0].get_ydata(), tracking["actual"])
    assert weekly.get_title() == "Repeat transactions per period: actual vs models"


def test_plot_errors(cdnow) -> None:
    comparison, tracking = cdnow
    with pytest.raises(SchemaError, match=r"plot_repeat_purchases needs the columns "
                       r"\['observed_0'.*Pass compare_models\(summary\)"):
        plot_repeat_purchases(comparison.drop(columns="observed_0"))
    with pytest.raises(SchemaError, match=r"plot_transactions_tracking needs the columns "
                       r"\['holdout', 'actual', 'actual_cumulative'\]; missing \['holdout'\]"):
        plot_transactions_tracking(tracking.drop(columns="holdout"))
    with pytest.raises(ValueError, match=r"The 'cumulative' parameter of "
                       r"plot_transactions_tracking must be True or False\. Got 'yes'"):
        plot_transactions_tracking(tracking, cumulative="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"The 'ax' parameter of plot_repeat_purchases must "
                       r"be a matplotlib Axes or None"):
        plot_repeat_purchases(comparison, ax="here")  # type: ignore[arg-type]
