"""Plots of customers over time: cohort retention, the leaky bucket, migration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty.plotting._common import (
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    Labels,
    new_axes,
    percent_axis,
    require_columns,
    text_color_for,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rfm_loyalty.migration import MigrationResult

__all__ = ["plot_cohort_retention", "plot_customer_flow", "plot_migration"]

_PERIOD_NAMES = {
    "en": {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"},
    "zh": {"D": "天", "W": "周", "M": "月", "Q": "季度", "Y": "年"},
}
#: Above this many cells a heatmap is drawn without numbers in the cells.
_MAX_ANNOTATED_CELLS = 400


def _heatmap(ax: Any, matrix: np.ndarray, *, vmin: float | None, vmax: float | None) -> Any:
    """Draw ``matrix`` row 0 at the top; missing cells stay blank (masked)."""
    return ax.imshow(np.ma.masked_invalid(matrix), cmap=SEQUENTIAL_CMAP, aspect="auto",
                     interpolation="nearest", vmin=vmin, vmax=vmax)


def _write_cells(ax: Any, image: Any, matrix: np.ndarray, texts: np.ndarray) -> None:
    rows, cols = np.nonzero(np.isfinite(matrix))
    size = 7 if matrix.size > 100 else 8
    for i, j in zip(rows, cols, strict=True):  # one text per cell of a small grid
        colour = text_color_for(image.cmap(image.norm(matrix[i, j])))
        ax.text(j, i, texts[i, j], ha="center", va="center", fontsize=size, color=colour)


def plot_cohort_retention(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    annotate: bool | None = None,
) -> Axes:
    """Heatmap of an acquisition-cohort matrix: one row per cohort, one column per period.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Output of :func:`rfm_loyalty.churn.cohort_retention`: ``cohort_size``
        then one column per period since acquisition; ``.attrs`` gives the
        ``metric`` (``"retention"``, ``"customers"`` or ``"revenue"``) and
        the ``period``. Cells after ``as_of`` (NaN) stay blank. Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    annotate : bool, optional
        Write the values in the cells; default when there are at most 400.

    Returns
    -------
    matplotlib.axes.Axes
        One cell per cohort and period (cohorts top to bottom, oldest first;
        tick labels give the cohort size), with a colour bar. The colour scale
        is set by periods 1 and later: period 0 is 100% (or the whole cohort)
        by definition and would wash out the rest; its cells show the top
        colour. Cells of a partial calendar period (``matrix.attrs
        ["partial_periods"]``: the data cover only part of it, e.g. the month
        of ``as_of``) are hatched, with a "Partial period" legend entry: their
        low values are not a drop.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import cohort_retention
    >>> from rfm_loyalty.plotting import plot_cohort_retention
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-05", "2024-03-02", "2024-01-20", "2024-02-11", "2024-02-03"]),
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 7.0]})
    >>> ax = plot_cohort_retention(cohort_retention(orders, metric="retention"))
    >>> ax.images[0].get_array().shape, [t.get_text() for t in ax.texts]
    ((2, 3), ['100%', '50%', '50%', '100%', '0%'])
    >>> ax.figure.clf()
    """
    func = "plot_cohort_retention"
    labels = Labels(lang, func)
    table = require_columns(matrix, ["cohort_size"], func,
                            "Pass cohort_retention(orders, metric=...).")
    metric = str(table.attrs.get("metric", "customers"))
    if metric not in ("retention", "customers", "revenue"):
        metric = "customers"
    period = str(table.attrs.get("period", "M"))
    values = table.drop(columns="cohort_size").to_numpy(dtype="float64")
    n_rows, n_cols = values.shape
    later = values[:, 1:] if n_cols > 1 else values
    finite_later = later[np.isfinite(later)]
    vmax = float(finite_later.max()) if finite_later.size else None
    vmin = float(min(0.0, finite_later.min())) if finite_later.size else None
    if vmax is not None and vmin is not None and vmax <= vmin:
        vmax = vmin + 1.0

    ax = new_axes(ax, func, (max(6.0, 0.55 * n_cols + 3.0), max(4.0, 0.35 * n_rows + 2.0)))
    image = _heatmap(ax, values, vmin=vmin, vmax=vmax)
    colourbar = ax.figure.colorbar(image, ax=ax)
    colourbar.set_label(labels(f"retention_value_{metric}"))
    if metric == "retention":
        percent_axis(colourbar.ax.yaxis)
    if annotate is None:
        annotate = values.size <= _MAX_ANNOTATED_CELLS
    if annotate:
        if metric == "retention":
            texts = np.vectorize(lambda v: f"{v:.0%}")(values)
        else:
            texts = np.vectorize(lambda v: f"{v:,.0f}")(values)
        _write_cells(ax, image, values, texts)
    _hatch_partial_cells(ax, table, values, labels)
    sizes = table["cohort_size"].to_numpy()
    names = [f"{c} ({n:,})" for c, n in zip(table.index.astype(str), sizes, strict=True)]
    step = max(1, n_rows // 30)  # at most ~30 row labels stay readable
    ax.set_yticks(np.arange(0, n_rows, step), names[::step])
    col_step = max(1, n_cols // 30)
    ax.set_xticks(np.arange(0, n_cols, col_step), [str(c) for c in range(0, n_cols, col_step)])
    period_name = _PERIOD_NAMES[labels.lang].get(period, period)
    ax.set_xlabel(labels("periods_since", period=period_name))
    ax.set_ylabel(labels("cohort"))
    ax.set_title(labels(f"retention_title_{metric}"))
    labels.apply_font(ax, colourbar.ax)
    return ax


#: How partial periods are drawn: hatched cells, and hatched faded bars.
_PARTIAL_HATCH = "////"


def _partial_patch(labels: Labels) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor="white", edgecolor="#333333", hatch=_PARTIAL_HATCH,
                 label=labels("partial_period"))


def _hatch_partial_cells(ax: Any, table: pd.DataFrame, values: np.ndarray,
                         labels: Labels) -> None:
    """Hatch the cells whose calendar period (cohort + column) is partial."""
    from matplotlib.patches import Rectangle

    partial = {str(p) for p in table.attrs.get("partial_periods", ())}
    if not partial or not isinstance(table.index, pd.PeriodIndex):
        return
    marked = 0
    for i, cohort in enumerate(table.index):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]) and str(cohort + j) in partial:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1.0, 1.0, fill=False,
                                       hatch=_PARTIAL_HATCH, edgecolor="#333333",
                                       linewidth=0.0, alpha=0.7))
                marked += 1
    if marked:
        # Lower right: the cells after as_of are blank there in a cohort matrix.
        ax.legend(handles=[_partial_patch(labels)], loc="lower right", fontsize=8)


def plot_customer_flow(
    flow: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    show_retained: bool = False,
) -> Axes:
    """Draw the leaky bucket: customers gained and lost per period, with the net change.

    Parameters
    ----------
    flow : pandas.DataFrame
        Output of :func:`rfm_loyalty.churn.customer_flow`, one row per period
        with ``new``, ``reactivated``, ``churned``, ``retained``,
        ``active_start`` and ``active_end``. Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    show_retained : bool, default False
        Also stack the retained customers under the inflows, so the bars
        reach the active customers at the period's end (the bucket's level).

    Returns
    -------
    matplotlib.axes.Axes
        Per period, stacked bars above zero for new and reactivated customers
        (and retained ones when asked), a bar below zero for the churned, and
        a black line with the net change ``active_end - active_start``. The
        bars of a partial period (``complete`` False: the data cover only
        part of it) are faded and hatched, with a "Partial period" legend
        entry. The y limits come from the data (highest stack, deepest
        churn, the net line) plus 8%: no bar or point is cut off.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.churn import customer_flow
    >>> from rfm_loyalty.plotting import plot_customer_flow
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "a", "c", "b"],
    ...     "order_date": pd.to_datetime(
    ...         ["2024-01-10", "2024-01-20", "2024-03-05", "2024-03-25", "2024-04-25"]),
    ...     "amount": [10.0, 20.0, 5.0, 7.0, 8.0]})
    >>> ax = plot_customer_flow(customer_flow(orders, churn_days=40, as_of="2024-04-30"))
    >>> len(ax.patches), [int(v) for v in ax.lines[0].get_ydata()]
    (12, [2, -1, 1, 0])
    >>> ax.figure.clf()
    """
    func = "plot_customer_flow"
    labels = Labels(lang, func)
    table = require_columns(
        flow, ["new", "reactivated", "churned", "retained", "active_start", "active_end"], func,
        "Pass customer_flow(orders).",
    )
    n = len(table)
    ax = new_axes(ax, func, (max(7.0, 0.45 * n + 3.0), 5.0))
    x = np.arange(n, dtype="float64")
    if "complete" in table.columns:
        partial = ~table["complete"].to_numpy(dtype=bool)
    else:
        partial = np.zeros(n, dtype=bool)

    handles: list[Any] = []

    def bars(heights: np.ndarray, base: np.ndarray | float, colour: str, key: str) -> None:
        from matplotlib.patches import Patch

        drawn = ax.bar(x, heights, bottom=base, color=colour, label=labels(key))
        for i in np.flatnonzero(partial):  # faded and hatched: the data cover part of it
            drawn.patches[i].set_alpha(0.4)
            drawn.patches[i].set_hatch(_PARTIAL_HATCH)
            drawn.patches[i].set_edgecolor("#333333")
            drawn.patches[i].set_linewidth(0.0)
        handles.append(Patch(facecolor=colour, label=labels(key)))  # the unfaded colour

    bottom = np.zeros(n)
    if show_retained:
        retained = table["retained"].to_numpy(dtype="float64")
        bars(retained, 0.0, "#C8C8C8", "retained")
        bottom = retained
    new = table["new"].to_numpy(dtype="float64")
    reactivated = table["reactivated"].to_numpy(dtype="float64")
    churned = table["churned"].to_numpy(dtype="float64")
    bars(new, bottom, OKABE_ITO["bluish_green"], "new")
    bars(reactivated, bottom + new, OKABE_ITO["sky_blue"], "reactivated")
    bars(-churned, 0.0, OKABE_ITO["vermillion"], "churned")
    net = (table["active_end"].to_numpy() - table["active_start"].to_numpy()).astype("float64")
    (line,) = ax.plot(x, net, color=OKABE_ITO["black"], marker="o", markersize=3,
                      linewidth=1.5, label=labels("net_change"))
    handles.insert(0, line)
    ax.axhline(0.0, color="black", linewidth=0.8)
    if n:
        high = float(max(np.nanmax(bottom + new + reactivated), np.nanmax(net), 0.0))
        low = float(min(np.nanmin(-churned), np.nanmin(net), 0.0))
        pad = 0.08 * (high - low) if high > low else 1.0
        ax.set_ylim(low - pad, high + pad)
    step = max(1, n // 24)  # keep the period labels from overlapping
    ax.set_xticks(x[::step], [str(p) for p in table.index[::step]], rotation=90)
    ax.set_xlabel(labels("period"))
    ax.set_ylabel(labels("flow_axis"))
    ax.set_title(labels("flow_title"))
    if partial.any():
        handles.append(_partial_patch(labels))
    # Outside the axes: the bars fill the whole height somewhere in most series.
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    labels.apply_font(ax)
    return ax


def plot_migration(
    result: MigrationResult,
    *,
    value: Literal["shares", "counts"] = "shares",
    ax: Axes | None = None,
    lang: str = "en",
    annotate: bool | None = None,
) -> Axes:
    """Heatmap of label-to-label movements between two dates.

    Parameters
    ----------
    result : MigrationResult
        Output of :func:`rfm_loyalty.migration.segment_migration`.
    value : {"shares", "counts"}, default "shares"
        Cells: the share of each row's customers (rows sum to 100%) or counts.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels (lifecycle labels are translated too).
    annotate : bool, optional
        Write the values in the cells; default when there are at most 400.

    Returns
    -------
    matplotlib.axes.Axes
        One cell per (label at ``from_date``, label at ``to_date``) pair,
        rows top to bottom in label order then "not yet a customer" (tick
        labels give each row's customers), with a colour bar; rows without
        customers stay blank in the shares view.

    Raises
    ------
    ValueError
        If ``value`` is not one of the two choices.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.migration import segment_migration
    >>> from rfm_loyalty.plotting import plot_migration
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-06-25",
    ...                                   "2024-06-01"]),
    ...     "amount": [10.0, 20.0, 15.0, 30.0]})
    >>> ax = plot_migration(segment_migration(orders, "2024-01-31", "2024-06-30"))
    >>> ax.images[0].get_array().shape, ax.get_title()
    ((8, 7), 'Lifecycle migration, 2024-01-31 to 2024-06-30')
    >>> ax.figure.clf()
    """
    from rfm_loyalty.lifecycle import LABELS_ZH
    from rfm_loyalty.migration import NOT_YET_CUSTOMER, MigrationResult

    func = "plot_migration"
    labels = Labels(lang, func)
    if not isinstance(result, MigrationResult):
        raise TypeError(
            f"{func} needs a MigrationResult; got {type(result).__name__}. Pass "
            "segment_migration(orders, from_date, to_date)."
        )
    if value not in ("shares", "counts"):
        raise ValueError(
            f"The 'value' parameter of {func} must be 'shares' or 'counts'. "
            f"Got {value!r} instead."
        )
    table = result.shares if value == "shares" else result.counts
    matrix = table.to_numpy(dtype="float64")
    n_rows, n_cols = matrix.shape

    def name(label: Any) -> str:
        text = str(label)
        if labels.zh:
            if text == NOT_YET_CUSTOMER:
                return labels("not yet a customer")
            if result.by == "lifecycle":
                return LABELS_ZH.get(text, text)
        return text

    ax = new_axes(ax, func, (max(7.0, 0.9 * n_cols + 3.5), max(5.0, 0.5 * n_rows + 2.0)))
    vmax = 1.0 if value == "shares" else None
    image = _heatmap(ax, matrix, vmin=0.0, vmax=vmax)
    colourbar = ax.figure.colorbar(image, ax=ax)
    colourbar.set_label(labels(f"migration_value_{value}"))
    if value == "shares":
        percent_axis(colourbar.ax.yaxis)
    if annotate is None:
        annotate = matrix.size <= _MAX_ANNOTATED_CELLS
    if annotate:
        fmt = (lambda v: f"{v:.0%}") if value == "shares" else (lambda v: f"{v:,.0f}")
        _write_cells(ax, image, matrix, np.vectorize(fmt)(matrix))
    ax.set_xticks(np.arange(n_cols), [name(c) for c in table.columns], rotation=30,
                  ha="right")
    row_sizes = result.counts.sum(axis=1).reindex(table.index).to_numpy()
    ax.set_yticks(np.arange(n_rows), [f"{name(r)} ({n:,})" for r, n in
                                      zip(table.index, row_sizes, strict=True)])
    start, end = result.from_date.date().isoformat(), result.to_date.date().isoformat()
    ax.set_xlabel(labels("to_label", date=end))
    ax.set_ylabel(labels("from_label", date=start))
    ax.set_title(labels("migration_title", by=labels(f"by_{result.by}"), start=start, end=end))
    labels.apply_font(ax, colourbar.ax)
    return ax
