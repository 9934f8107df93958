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

__all__ = [
    "plot_calibration",
    "plot_p_alive_matrix",
    "plot_repeat_purchases",
    "plot_rfm_histogram",
    "plot_transactions_tracking",
]

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


# Texts of the model-comparison plots (the shared table of plotting._common holds
# the older plots' texts).
_MODEL_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "histogram_title": "Customers by repeat purchases in the calibration period",
        "histogram_x": "Repeat purchases",
        "histogram_y": "Customers",
        "observed": "Actual",
        "tracking_title_cumulative": "Cumulative repeat transactions: actual vs models",
        "tracking_title_period": "Repeat transactions per period: actual vs models",
        "tracking_x": "Period ({days}-day periods from the first purchase)",
        "tracking_y_cumulative": "Cumulative repeat transactions",
        "tracking_y_period": "Repeat transactions",
        "calibration_end": "End of calibration",
        "bgnbd": "BG/NBD",
        "mbgnbd": "MBG/NBD",
        "paretonbd": "Pareto/NBD",
    },
    "zh": {
        "histogram_title": "校准期内按复购次数的顾客分布",
        "histogram_x": "复购次数",
        "histogram_y": "顾客数",
        "observed": "实际",
        "tracking_title_cumulative": "累计复购交易：实际与模型",
        "tracking_title_period": "每期复购交易：实际与模型",
        "tracking_x": "期数 (自首购起每期 {days} 天)",
        "tracking_y_cumulative": "累计复购交易数",
        "tracking_y_period": "复购交易数",
        "calibration_end": "校准期结束",
        "bgnbd": "BG/NBD",
        "mbgnbd": "MBG/NBD",
        "paretonbd": "Pareto/NBD",
    },
}


def _model_label(texts: dict[str, str], name: str) -> str:
    return texts.get(name, name)


def plot_repeat_purchases(
    comparison: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Observed vs expected numbers of customers by repeat purchases (FHL 2005, fig. 1).

    Parameters
    ----------
    comparison : pandas.DataFrame
        The table of :func:`rfm_loyalty.btyd.compare_models`: its
        ``observed_<k>`` columns (the same in every row) and each fitted
        model's ``expected_<k>`` columns. Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        Grouped bars per count of repeat purchases (``0`` ... ``7+``): the
        actual customers first, then one bar per model that could be fitted
        (a model whose row has no expected counts is left out).

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_repeat_purchases
    >>> table = pd.DataFrame(
    ...     {"observed_0": [60, 60], "observed_1+": [40, 40],
    ...      "expected_0": [58.0, 61.5], "expected_1+": [42.0, 38.5]},
    ...     index=pd.Index(["bgnbd", "paretonbd"], name="model"))
    >>> ax = plot_repeat_purchases(table)
    >>> [float(p.get_height()) for p in ax.patches]
    [60.0, 40.0, 58.0, 42.0, 61.5, 38.5]
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['Actual', 'BG/NBD', 'Pareto/NBD']
    >>> ax.figure.clf()
    """
    func = "plot_repeat_purchases"
    labels = Labels(lang, func)
    texts = _MODEL_TEXTS[labels.lang]
    hint = "Pass compare_models(summary)."
    if not isinstance(comparison, pd.DataFrame):
        require_columns(comparison, ["observed_0"], func, hint)
    bins = [str(c)[len("observed_"):] for c in comparison.columns
            if str(c).startswith("observed_")]
    table = require_columns(comparison, ["observed_0"] + [f"expected_{b}" for b in bins],
                            func, hint)
    observed = table[[f"observed_{b}" for b in bins]].iloc[0].to_numpy(dtype="float64")
    expected = table[[f"expected_{b}" for b in bins]].astype("float64")
    expected = expected[np.isfinite(expected.to_numpy()).all(axis=1)]
    series = [(texts["observed"], observed)] + [
        (_model_label(texts, str(name)), row.to_numpy()) for name, row in expected.iterrows()]
    ax = new_axes(ax, func, (7.5, 4.5))
    x = np.arange(len(bins), dtype="float64")
    width = 0.8 / len(series)
    palette = [OKABE_ITO["black"], OKABE_ITO["blue"], OKABE_ITO["orange"],
               OKABE_ITO["bluish_green"], OKABE_ITO["vermillion"], OKABE_ITO["sky_blue"]]
    for i, (name, values) in enumerate(series):
        ax.bar(x - 0.4 + width * (i + 0.5), values, width=width, label=name,
               color=palette[i % len(palette)], edgecolor="white", linewidth=0.4)
    ax.set_xticks(x, bins)
    ax.set_xlabel(texts["histogram_x"])
    ax.set_ylabel(texts["histogram_y"])
    ax.set_title(texts["histogram_title"])
    ax.legend(loc="upper right")
    ax.grid(True, axis="y", linewidth=0.3, alpha=0.5)
    labels.apply_font(ax)
    return ax


def plot_transactions_tracking(
    tracking: pd.DataFrame,
    *,
    cumulative: bool = True,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Actual vs expected repeat transactions over calibration and holdout (FHL 2005, fig. 2, 3).

    Parameters
    ----------
    tracking : pandas.DataFrame
        The table of :func:`rfm_loyalty.btyd.transactions_tracking` (index
        ``period``; ``holdout``, ``actual``, ``actual_cumulative`` and, per
        model, ``<name>`` and ``<name>_cumulative``). Not modified.
    cumulative : bool, default True
        Cumulative transactions (fig. 3), or transactions per period (fig. 2).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        One solid line of actual transactions and one dashed line per model
        over the periods, and a dotted vertical line after the last
        calibration period (when the table has a holdout).

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_transactions_tracking
    >>> table = pd.DataFrame(
    ...     {"holdout": [False, False, True], "actual": [3.0, 5.0, 4.0],
    ...      "actual_cumulative": [3.0, 8.0, 12.0], "bgnbd": [3.5, 4.5, 4.2],
    ...      "bgnbd_cumulative": [3.5, 8.0, 12.2]},
    ...     index=pd.RangeIndex(1, 4, name="period"))
    >>> ax = plot_transactions_tracking(table)
    >>> [line.get_label() for line in ax.lines[:2]], ax.lines[1].get_ydata().tolist()
    (['Actual', 'BG/NBD'], [3.5, 8.0, 12.2])
    >>> float(ax.lines[2].get_xdata()[0])  # after period 2, the last of calibration
    2.5
    >>> ax.figure.clf()
    """
    func = "plot_transactions_tracking"
    labels = Labels(lang, func)
    texts = _MODEL_TEXTS[labels.lang]
    if not isinstance(cumulative, (bool, np.bool_)):
        raise ValueError(f"The 'cumulative' parameter of {func} must be True or False. "
                         f"Got {cumulative!r} instead.")
    table = require_columns(tracking, ["holdout", "actual", "actual_cumulative"], func,
                            "Pass transactions_tracking(orders, models, calibration_end=...).")
    suffix = "_cumulative" if cumulative else ""
    models = [str(c)[: -len("_cumulative")] for c in table.columns
              if str(c).endswith("_cumulative") and str(c) != "actual_cumulative"]
    x = np.asarray(table.index, dtype="float64")
    ax = new_axes(ax, func, (8.0, 4.5))
    ax.plot(x, table[f"actual{suffix}"].to_numpy(dtype="float64"), color=OKABE_ITO["black"],
            linewidth=2, label=texts["observed"])
    palette = [OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["bluish_green"],
               OKABE_ITO["vermillion"], OKABE_ITO["sky_blue"]]
    for i, name in enumerate(models):
        ax.plot(x, table[f"{name}{suffix}"].to_numpy(dtype="float64"),
                color=palette[i % len(palette)], linestyle="--", linewidth=1.6,
                label=_model_label(texts, name))
    holdout = table["holdout"].to_numpy(dtype=bool)
    if holdout.any() and not holdout.all():
        boundary = float(x[~holdout].max()) + 0.5
        ax.axvline(boundary, color=OKABE_ITO["vermillion"], linestyle=":", linewidth=1.2,
                   label=texts["calibration_end"])
    days = ""
    if {"period_start", "period_end"} <= set(table.columns) and len(table) > 1:
        lengths = (table["period_end"] - table["period_start"]).dt.days + 1
        days = str(int(lengths.iloc[1:].median()))
    ax.set_xlabel(texts["tracking_x"].format(days=days or "?"))
    ax.set_ylabel(texts["tracking_y_cumulative" if cumulative else "tracking_y_period"])
    ax.set_title(texts["tracking_title_cumulative" if cumulative else "tracking_title_period"])
    ax.set_ylim(bottom=0)
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(loc="upper left")
    labels.apply_font(ax)
    return ax
