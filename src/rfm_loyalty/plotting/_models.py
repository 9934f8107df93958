"""Plots of the customer table's distributions and of the purchase models."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty.plotting._common import (
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    Labels,
    new_axes,
    percent_axis,
    require_columns,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rfm_loyalty.backtest import BacktestResult
    from rfm_loyalty.btyd import BetaGeoModel

__all__ = ["plot_calibration", "plot_p_alive_matrix", "plot_rfm_histogram"]

#: Sample skewness above which ``log="auto"`` draws a histogram on a log axis.
SKEW_FOR_LOG = 2.0
_KNOWN_COLUMNS = (
    "recency_days", "frequency", "monetary_total", "p_alive", "expected_purchases", "clv",
    "profit",
)


def plot_rfm_histogram(
    customers: pd.DataFrame,
    column: str = "recency_days",
    *,
    ax: Axes | None = None,
    lang: str = "en",
    bins: int = 40,
    log: bool | str = "auto",
) -> Axes:
    """Histogram of one column of the customer table, on a log axis when it is skewed.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer, e.g. :func:`rfm_loyalty.summary.rfm_table` or
        ``Analysis.customers``. Not modified.
    column : str, default "recency_days"
        Column to draw: ``"recency_days"``, ``"frequency"``,
        ``"monetary_total"``, ``"p_alive"``, ``"expected_purchases"``,
        ``"clv"``, ``"profit"`` (titled and labelled with their units) or any
        other numeric column.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    bins : int, default 40
        Number of bins (whole-number columns with fewer distinct values get
        one bin per value).
    log : bool or "auto", default "auto"
        Log-scaled x axis with logarithmic bins. ``"auto"``: when the values
        are all-but-positive and their sample skewness exceeds
        ``SKEW_FOR_LOG`` (2.0). Values <= 0 cannot be placed on a log axis:
        they are left out and the x label says how many; values below the
        0.5th percentile of the positive ones are counted in the first bin.

    Returns
    -------
    matplotlib.axes.Axes
        The histogram (customers per bin), a dashed line at the median with
        its value in the legend, "(log scale)" in the title when the axis is
        logarithmic.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_rfm_histogram
    >>> customers = pd.DataFrame({"frequency": [1, 1, 1, 2, 2, 3, 5, 40]})
    >>> ax = plot_rfm_histogram(customers, "frequency")
    >>> ax.get_title(), ax.get_xscale(), ax.get_legend().get_texts()[0].get_text()
    ('Frequency (log scale)', 'log', 'Median 2')
    >>> ax.figure.clf()
    """
    func = "plot_rfm_histogram"
    labels = Labels(lang, func)
    table = require_columns(customers, [column], func, "Pass rfm_table(orders).")
    if log not in (True, False, "auto"):
        raise ValueError(
            f"The 'log' parameter of {func} must be True, False or 'auto'. Got {log!r} instead."
        )
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"The 'bins' parameter of {func} must be an int >= 1. Got {bins!r}.")
    values = pd.to_numeric(table[column], errors="raise").to_numpy(dtype="float64")
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    if log == "auto":
        # Log only pays when most values are positive and the tail is long.
        skew = float(pd.Series(positive).skew()) if len(positive) > 2 else 0.0  # type: ignore[arg-type]
        log = len(positive) >= 0.95 * len(values) and math.isfinite(skew) and skew > SKEW_FOR_LOG
    shown = positive if log else values
    hidden = len(values) - len(shown)
    whole = len(shown) > 0 and bool(np.all(shown == np.round(shown)))

    ax = new_axes(ax, func, (7.0, 4.5))
    if len(shown) == 0:
        edges: Any = bins
    elif log:
        # Net amounts can leave crumbs like 1e-13 after returns; a bin range down
        # to them would squash the histogram. Values under the 0.5th percentile
        # are counted in the first bin instead (clipped, never dropped).
        low, high = float(np.quantile(shown, 0.005)), float(shown.max())
        shown = np.clip(shown, low, None)
        edges = np.geomspace(low, high * 1.0001 if high > low else low * 10, bins + 1)
        if whole:
            # Integer data: bin edges between integers, so a value is never split.
            edges = np.unique(np.concatenate([[low - 0.5], np.round(edges[1:]) + 0.5]))
            edges = edges[edges > 0]
    elif whole and shown.max() - shown.min() + 1 <= bins:
        edges = np.arange(shown.min() - 0.5, shown.max() + 1.5)
    else:
        edges = bins
    ax.hist(shown, bins=edges, color=OKABE_ITO["blue"], edgecolor="white", linewidth=0.4)
    if log:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        # 1, 10, 1,000 read better than 10^0, 10^1, 10^3 for counts and money.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.10g}"))
    if len(shown):
        median = float(np.median(values))
        if not log or median > 0:
            ax.axvline(median, color=OKABE_ITO["vermillion"], linestyle="--", linewidth=1.2,
                       label=labels("median", value=median))
            ax.legend(loc="upper right")
    known = column in _KNOWN_COLUMNS
    xlabel = labels(f"hist_x_{column}") if known else column
    if hidden:
        xlabel = f"{xlabel}\n{labels('not_shown', n=hidden)}"
    title = labels(f"hist_title_{column}") if known else labels("hist_title_other", column=column)
    if log:
        title = f"{title} ({labels('log_scale')})"
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(labels("hist_y"))
    labels.apply_font(ax)
    return ax


def plot_p_alive_matrix(
    model: BetaGeoModel,
    data: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    max_frequency: int | None = None,
    n_recency: int = 60,
) -> Axes:
    """Probability alive over a grid of frequency and recency, at the data's longest T.

    Parameters
    ----------
    model : BetaGeoModel
        A fitted :class:`rfm_loyalty.btyd.BetaGeoModel`; the matrix is its own
        ``p_alive`` evaluated on the grid (the model is not refitted).
    data : pandas.DataFrame
        The BG/NBD customer table the model was fitted on
        (:func:`rfm_loyalty.summary.btyd_summary`: ``frequency``,
        ``recency``, ``T``), which sets the grid: ``T`` is its largest ``T``
        (a customer observed since the start), frequency runs to its 99th
        percentile.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    max_frequency : int, optional
        Highest repeat-purchase count on the grid; default the 99th
        percentile of ``data["frequency"]`` (at least 1).
    n_recency : int, default 60
        Recency steps from 0 to ``T``.

    Returns
    -------
    matplotlib.axes.Axes
        The matrix (rows: frequency 0 at the bottom to ``max_frequency``;
        columns: recency from 0 to ``T`` in the model's time unit) with a
        colour bar from 0 to 1. A customer who bought often but long ago
        (top left) is likely gone; one whose last purchase is recent (right)
        is likely alive.

    Examples
    --------
    >>> from rfm_loyalty.btyd import BetaGeoModel
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> from rfm_loyalty.plotting import plot_p_alive_matrix
    >>> data = simulate_btyd(2000, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=1)
    >>> model = BetaGeoModel(time_unit="W").fit(data)
    >>> ax = plot_p_alive_matrix(model, data, max_frequency=10, n_recency=20)
    >>> ax.images[0].get_array().shape
    (11, 20)
    >>> ax.figure.clf()
    """
    from rfm_loyalty.btyd import BetaGeoModel

    func = "plot_p_alive_matrix"
    labels = Labels(lang, func)
    if not isinstance(model, BetaGeoModel) or not hasattr(model, "params_"):
        raise TypeError(
            f"{func} needs a fitted BetaGeoModel; got {model!r}. Fit it first: "
            "BetaGeoModel().fit(btyd_summary(orders))."
        )
    table = require_columns(data, ["frequency", "recency", "T"], func,
                            "Pass the btyd_summary(orders) table the model was fitted on.")
    if max_frequency is None:
        max_frequency = max(1, math.ceil(float(table["frequency"].quantile(0.99))))
    elif (isinstance(max_frequency, bool) or not isinstance(max_frequency, (int, np.integer))
          or max_frequency < 1):
        raise ValueError(
            f"The 'max_frequency' parameter of {func} must be an int >= 1. "
            f"Got {max_frequency!r} instead."
        )
    if isinstance(n_recency, bool) or not isinstance(n_recency, (int, np.integer)) or (
        n_recency < 2
    ):
        raise ValueError(
            f"The 'n_recency' parameter of {func} must be an int >= 2. Got {n_recency!r} instead."
        )
    horizon = float(table["T"].max())
    # Cell centres: recency steps across (0, T], frequency 0..max_frequency.
    step = horizon / n_recency
    recency = (np.arange(n_recency) + 0.5) * step
    frequency = np.arange(int(max_frequency) + 1, dtype="float64")
    f_grid, r_grid = np.meshgrid(frequency, recency, indexing="ij")
    # Without a repeat purchase recency is 0 by definition (and p_alive is 1).
    r_grid[f_grid == 0] = 0.0
    grid = pd.DataFrame({"frequency": f_grid.ravel(), "recency": r_grid.ravel(),
                         "T": np.full(f_grid.size, horizon)})
    matrix = model.p_alive(grid).to_numpy().reshape(f_grid.shape)

    ax = new_axes(ax, func, (7.5, 5.5))
    image = ax.imshow(matrix, origin="lower", cmap=SEQUENTIAL_CMAP, aspect="auto", vmin=0.0,
                      vmax=1.0, interpolation="nearest",
                      extent=(0.0, horizon, -0.5, int(max_frequency) + 0.5))
    colourbar = ax.figure.colorbar(image, ax=ax)
    colourbar.set_label(labels("p_alive_value"))
    percent_axis(colourbar.ax.yaxis)
    unit = labels(f"unit_{model.time_unit_}")
    ax.set_xlabel(labels("p_alive_x", unit=unit))
    ax.set_ylabel(labels("p_alive_y"))
    ax.set_title(labels("p_alive_title", T=round(horizon, 1), unit=unit))
    labels.apply_font(ax, colourbar.ax)
    return ax


def plot_calibration(
    result: BacktestResult | pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Backtest calibration: predicted against actual holdout purchases per group.

    Parameters
    ----------
    result : BacktestResult or pandas.DataFrame
        Output of :func:`rfm_loyalty.backtest.backtest`, or its
        ``calibration`` table (index: repeat purchase days at the calibration
        date, ``"0"`` ... ``"7+"``; ``actual_mean``, ``predicted_mean`` and
        ``customers`` columns). Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines over the groups (Fader, Hardie & Lee 2005, fig. 4): the
        actual mean purchase days in the holdout (solid) and the BG/NBD
        prediction (dashed); the tick labels give each group's customers.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_calibration
    >>> table = pd.DataFrame(
    ...     {"customers": [50, 30, 20], "actual_mean": [0.2, 0.9, 2.1],
    ...      "predicted_mean": [0.25, 0.8, 2.0]},
    ...     index=pd.Index(["0", "1", "2+"], name="repeat_purchase_days"))
    >>> ax = plot_calibration(table)
    >>> [line.get_label() for line in ax.lines]
    ['Actual', 'Predicted (BG/NBD)']
    >>> ax.figure.clf()
    """
    from rfm_loyalty.backtest import BacktestResult

    func = "plot_calibration"
    labels = Labels(lang, func)
    holdout_days = None
    if isinstance(result, BacktestResult):
        table, holdout_days = result.calibration, result.holdout_days
    else:
        table = result
    table = require_columns(table, ["actual_mean", "predicted_mean", "customers"], func,
                            "Pass backtest(...) or its calibration table.")
    x = np.arange(len(table), dtype="float64")
    ax = new_axes(ax, func, (7.0, 4.5))
    ax.plot(x, table["actual_mean"], color=OKABE_ITO["blue"], marker="o", linewidth=2,
            label=labels("actual"))
    ax.plot(x, table["predicted_mean"], color=OKABE_ITO["orange"], marker="s",
            linestyle="--", linewidth=2, label=labels("predicted"))
    ticks = [f"{name}\n(n={n:,})" for name, n in zip(table.index.astype(str),
                                                     table["customers"], strict=True)]
    ax.set_xticks(x, ticks, fontsize=8)
    ax.set_xlabel(labels("calibration_x"))
    if holdout_days is None:
        ax.set_ylabel(labels("calibration_y_any"))
    else:
        ax.set_ylabel(labels("calibration_y", days=holdout_days))
    ax.set_ylim(bottom=0)
    ax.set_title(labels("calibration_title"))
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(loc="upper left")
    labels.apply_font(ax)
    return ax
