"""Plots of who the customers are: segments, the R x F score map, lifecycle cohorts."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty.plotting._common import (
    CATEGORICAL,
    GREY,
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

__all__ = ["plot_lifecycle", "plot_rfm_heatmap", "plot_segments"]


def plot_segments(
    summary: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    hide_empty: bool = True,
) -> Axes:
    """Bar chart of each segment's share of customers beside its share of revenue.

    Parameters
    ----------
    summary : pandas.DataFrame
        Per-segment table with ``customers``, ``customer_share`` and
        ``revenue_share`` columns, indexed by segment, in display order: the
        output of :func:`rfm_loyalty.segments.segment_summary` (also
        ``Analysis.segments``). Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of titles, axis labels and segment names: ``"zh"`` draws the
        ``segment_zh`` column when the table has one (``Analysis.segments``
        does), the index otherwise. Without a CJK font, "zh" falls back to
        English with one warning.
    hide_empty : bool, default True
        Leave out segments without customers (e.g. an empty ``"Other"``).

    Returns
    -------
    matplotlib.axes.Axes
        Two horizontal bars per segment (customers in blue, revenue in orange),
        first segment at the top, each labelled with its percentage; the
        customer bar also gives the count.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_segments
    >>> summary = pd.DataFrame(
    ...     {"customers": [20, 80], "customer_share": [0.2, 0.8],
    ...      "revenue_share": [0.7, 0.3]},
    ...     index=pd.Index(["Champions", "Lost"], name="segment"))
    >>> ax = plot_segments(summary)
    >>> ax.get_title(), len(ax.patches)
    ('Segment sizes and revenue', 4)
    >>> ax.figure.clf()
    """
    func = "plot_segments"
    labels = Labels(lang, func)
    table = require_columns(
        summary, ["customers", "customer_share", "revenue_share"], func,
        "Pass segment_summary(table) or Analysis.segments.",
    )
    if hide_empty:
        table = table[table["customers"] > 0]
    ax = new_axes(ax, func, (9.0, 0.45 * len(table) + 1.8))
    if labels.zh and "segment_zh" in table.columns:
        names = [str(zh) or str(name) for name, zh in
                 zip(table.index, table["segment_zh"].fillna(""), strict=True)]
    else:
        names = [str(name) for name in table.index]
    y = np.arange(len(table), dtype="float64")
    height = 0.4
    customers = ax.barh(y - height / 2, table["customer_share"], height=height,
                        color=OKABE_ITO["blue"], label=labels("customers_share"))
    revenue = ax.barh(y + height / 2, table["revenue_share"].fillna(0.0), height=height,
                      color=OKABE_ITO["orange"], label=labels("revenue_share"))
    counts = table["customers"].to_numpy()
    ax.bar_label(customers, labels=[f" {s:.1%} ({n:,})" for s, n in
                                    zip(table["customer_share"], counts, strict=True)],
                 fontsize=8)
    ax.bar_label(revenue, labels=[f" {s:.1%}" for s in table["revenue_share"].fillna(0.0)],
                 fontsize=8)
    ax.set_yticks(y, names)
    ax.invert_yaxis()  # first segment (the best, in the presets) at the top
    top = float(np.nanmax([table["customer_share"].max(), table["revenue_share"].max(), 0.01]))
    ax.set_xlim(0, top * 1.25)  # room for the bar labels
    percent_axis(ax.xaxis)
    ax.set_xlabel(labels("share_axis"))
    ax.set_ylabel(labels("segment"))
    ax.set_title(labels("segments_title"))
    ax.legend(loc="lower right")
    labels.apply_font(ax)
    return ax


def plot_rfm_heatmap(
    scored: pd.DataFrame,
    *,
    value: Literal["customers", "mean_monetary"] = "customers",
    ax: Axes | None = None,
    lang: str = "en",
    annotate: bool = True,
    n_bins: int | None = None,
) -> Axes:
    """Heatmap of the R x F score grid: customers per cell or their mean spend.

    Parameters
    ----------
    scored : pandas.DataFrame
        One row per customer with integer ``r_score`` and ``f_score`` (and
        ``monetary_total`` for ``value="mean_monetary"``): the customer table
        joined with :class:`~rfm_loyalty.scoring.RFMScorer` scores, e.g.
        ``Analysis.customers``. Not modified.
    value : {"customers", "mean_monetary"}, default "customers"
        Cell colour: number of customers, or their mean ``monetary_total``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    annotate : bool, default True
        Write each cell's value in it.
    n_bins : int, optional
        The number of score bins asked for (``Analysis.params["n_bins"]``).
        When ties left a dimension fewer bins (its highest score is lower),
        a second line of the x label says so, e.g. "Frequency: 4 of 5 score
        bins (ties left fewer distinct values)", instead of a grid that
        silently lacks a column.

    Returns
    -------
    matplotlib.axes.Axes
        One cell per (r, f) pair from 1 to the highest score present,
        frequency score on x and recency score on y (best corner top right),
        with a colour bar. Empty cells are 0 customers or blank (no mean).

    Raises
    ------
    ValueError
        If ``value`` is not one of the two choices.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.plotting import plot_rfm_heatmap
    >>> scored = pd.DataFrame({"r_score": [1, 2, 2, 3], "f_score": [1, 1, 3, 3],
    ...                        "monetary_total": [10.0, 20.0, 40.0, 90.0]})
    >>> ax = plot_rfm_heatmap(scored)
    >>> ax.images[0].get_array().shape, [t.get_text() for t in ax.texts][:3]
    ((3, 3), ['1', '0', '0'])
    >>> ax.figure.clf()
    """
    func = "plot_rfm_heatmap"
    labels = Labels(lang, func)
    if value not in ("customers", "mean_monetary"):
        raise ValueError(
            f"The 'value' parameter of {func} must be 'customers' or 'mean_monetary'. "
            f"Got {value!r} instead."
        )
    needed = ["r_score", "f_score"] + (["monetary_total"] if value == "mean_monetary" else [])
    table = require_columns(scored, needed, func,
                            "Pass the customer table joined with RFMScorer scores.")
    r = table["r_score"].to_numpy(dtype="int64")
    f = table["f_score"].to_numpy(dtype="int64")
    n_r = int(r.max()) if len(r) else 1
    n_f = int(f.max()) if len(f) else 1
    # Counting the customers of each cell is the picture itself (a 2-D
    # histogram of the scores), not an analytic recomputed here.
    cell = (r - 1) * n_f + (f - 1)
    counts = np.bincount(cell, minlength=n_r * n_f).reshape(n_r, n_f).astype("float64")
    if value == "customers":
        matrix = counts
        fmt = "{:,.0f}"
        colour_label = labels("n_customers")
    else:
        spend = table["monetary_total"].to_numpy(dtype="float64")
        totals = np.bincount(cell, weights=spend, minlength=n_r * n_f).reshape(n_r, n_f)
        with np.errstate(divide="ignore", invalid="ignore"):
            matrix = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
        fmt = "{:,.0f}"
        colour_label = labels("mean_monetary")

    ax = new_axes(ax, func, (7.0, 5.5))
    image = ax.imshow(np.ma.masked_invalid(matrix), origin="lower", cmap=SEQUENTIAL_CMAP,
                      aspect="auto", extent=(0.5, n_f + 0.5, 0.5, n_r + 0.5))
    colourbar = ax.figure.colorbar(image, ax=ax)
    colourbar.set_label(colour_label)
    if annotate:
        _annotate_cells(ax, image, matrix, fmt, x0=1, y0=1)
    ax.set_xticks(np.arange(1, n_f + 1))
    ax.set_yticks(np.arange(1, n_r + 1))
    ax.set_xlabel(labels("f_score"))
    ax.set_ylabel(labels("r_score"))
    ax.set_title(labels(f"rfm_heatmap_title_{value}"))
    if n_bins is not None:
        short = [labels(key, got=got, asked=n_bins)
                 for key, got in (("bins_recency", n_r), ("bins_frequency", n_f))
                 if got < n_bins]
        if short:  # a second line of the x label: the layout makes room for it
            ax.set_xlabel(labels("f_score") + "\n" + "; ".join(short) + labels("bins_ties"))
    labels.apply_font(ax, colourbar.ax)
    return ax


def _annotate_cells(ax: Any, image: Any, matrix: np.ndarray, fmt: str, *, x0: float,
                    y0: float) -> None:
    """Write each finite cell's value in black or white, whichever reads on its colour."""
    rows, cols = np.nonzero(np.isfinite(matrix))
    for i, j in zip(rows, cols, strict=True):  # one text per cell: small grids only
        colour = text_color_for(image.cmap(image.norm(matrix[i, j])))
        ax.text(x0 + j, y0 + i, fmt.format(matrix[i, j]), ha="center", va="center",
                fontsize=8, color=colour)


#: Share of the axes width left of the action texts (the bars and their labels).
_ACTION_X = 1.3 * 0.45
#: Average glyph width per point of font size: Latin (DejaVu Sans, generous) and CJK.
_GLYPH_EM = {False: 0.6, True: 1.05}


def _axes_size_pt(ax: Any) -> tuple[float, float]:
    """Width and height of the axes in points, at their current position."""
    scale = 72.0 / float(ax.figure.dpi)
    return float(ax.bbox.width) * scale, float(ax.bbox.height) * scale


def _fit_actions(ax: Any, texts: list[str], wrap_chars: int, *, zh: bool
                 ) -> tuple[float, list[str]]:
    """Wrap the action texts and pick a font size so that they stay inside the axes.

    The width is the right part of the axes (from the action column to the
    frame), the height one row per cohort; sizes from 8 down to 6 points are
    tried, and a text still too long at 6 points is cut with an ellipsis.
    """
    width_pt, height_pt = _axes_size_pt(ax)
    # 0.9: constrained layout may still narrow the axes for the tick labels.
    room_pt = width_pt * (1.0 - _ACTION_X) * 0.9
    row_pt = height_pt / max(len(texts), 1) * 0.95
    for size in (8.0, 7.0, 6.0):
        chars = max(8, min(wrap_chars, int(room_pt / (_GLYPH_EM[zh] * size))))
        lines = max(1, int(row_pt / (1.2 * size)))
        wrapped = [textwrap.wrap(t, width=chars) or [""] for t in texts]
        if all(len(w) <= lines for w in wrapped):
            return size, ["\n".join(w) for w in wrapped]
    cut = []
    for w in wrapped:
        if len(w) > lines:
            w = w[:lines]
            w[-1] = w[-1][: max(chars - 1, 1)].rstrip() + "\u2026"
        cut.append("\n".join(w))
    return size, cut


def plot_lifecycle(
    labels_table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    show_actions: bool = True,
    wrap_chars: int = 60,
) -> Axes:
    """Bar chart of customers per lifecycle cohort, with each cohort's marketing action.

    Parameters
    ----------
    labels_table : pandas.DataFrame
        Either the per-customer output of
        :func:`rfm_loyalty.lifecycle.lifecycle_labels` (``lifecycle``,
        ``action``, ``action_zh`` columns; also ``Analysis.customers``), or a
        per-cohort summary indexed by label with a ``customers`` column and
        optionally ``action`` / ``action_zh`` (``Analysis.lifecycle``, or
        ``segment_summary(table, by="lifecycle")``, whose actions are then
        taken from :data:`rfm_loyalty.lifecycle.ACTIONS`). Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of labels, cohort names and actions.
    show_actions : bool, default True
        Write each cohort's action beside its bar.
    wrap_chars : int, default 60
        Widest line of an action text, in characters. Narrower axes wrap
        sooner: the texts are wrapped and sized (8 down to 6 points) to stay
        inside the axes frame, and a text that still does not fit its row is
        cut with an ellipsis (the tables carry the whole action).

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar per cohort in lifecycle order (first at the top),
        labelled with its count and share, the action text to its right.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.lifecycle import lifecycle_labels
    >>> from rfm_loyalty.plotting import plot_lifecycle
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-06-20", "2024-01-05", "2024-06-25",
    ...                                   "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 15.0, 30.0]})
    >>> ax = plot_lifecycle(lifecycle_labels(orders, as_of="2024-06-30"))
    >>> len(ax.patches), ax.get_yticklabels()[0].get_text()
    (7, 'new')
    >>> ax.figure.clf()
    """
    from rfm_loyalty.lifecycle import ACTIONS, LABELS_ZH

    func = "plot_lifecycle"
    labels = Labels(lang, func)
    hint = "Pass lifecycle_labels(orders), Analysis.lifecycle or a summary with 'customers'."
    if isinstance(labels_table, pd.DataFrame) and "lifecycle" in labels_table.columns:
        column = labels_table["lifecycle"]
        # Category order is lifecycle order; every category shows, even if empty.
        counts = column.value_counts(sort=False)
        if isinstance(column.dtype, pd.CategoricalDtype):
            counts = counts.reindex(column.cat.categories, fill_value=0)
        action_col = "action_zh" if labels.zh else "action"
        if action_col in labels_table.columns:
            first = labels_table.drop_duplicates("lifecycle").set_index("lifecycle")[action_col]
            actions = {k: str(first[k]) for k in first.index}
        else:
            actions = {}
    else:
        table = require_columns(labels_table, ["customers"], func, hint)
        counts = table["customers"]
        action_col = "action_zh" if labels.zh else "action"
        actions = (
            {str(k): str(v) for k, v in table[action_col].items()}
            if action_col in table.columns else {}
        )
    names = [str(name) for name in counts.index]
    for name in names:
        if name not in actions and name in ACTIONS:
            actions[name] = ACTIONS[name].zh if labels.zh else ACTIONS[name].en
    values = counts.to_numpy(dtype="float64")
    total = float(values.sum())

    ax = new_axes(ax, func, (11.0, 0.6 * len(names) + 1.8))
    y = np.arange(len(names), dtype="float64")
    colours = [CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(names))]
    bars = ax.barh(y, values, color=colours, height=0.7)
    shares = values / total if total > 0 else np.zeros_like(values)
    ax.bar_label(bars, labels=[f" {v:,.0f} ({s:.1%})" for v, s in zip(values, shares,
                                                                        strict=True)],
                 fontsize=9)
    shown = [LABELS_ZH.get(name, name) if labels.zh else name for name in names]
    ax.set_yticks(y, shown)
    ax.invert_yaxis()
    top = float(values.max()) if len(values) and values.max() > 0 else 1.0
    if show_actions:
        # Bars use the left 45% of the axes; the actions sit in the right part.
        ax.set_xlim(0, top / 0.45)
        texts = [actions.get(name, "") for name in names]
        size, wrapped = _fit_actions(ax, texts, wrap_chars, zh=labels.zh)
        for yi, text in zip(y, wrapped, strict=True):
            ax.text(top * 1.3, yi, text, va="center", fontsize=size, color="#333333")
        ax.axvline(top * 1.27, color=GREY, linewidth=0.5)
        # No count ticks under the action texts.
        from matplotlib.ticker import MaxNLocator

        ticks = np.asarray(MaxNLocator(nbins=5).tick_values(0, top))
        ax.set_xticks(ticks[ticks <= top * 1.2])
    else:
        # Room right of the longest bar for its label: the label's estimated width
        # as a share of the axes, so that narrow axes keep it inside the frame.
        longest = max((len(t.get_text()) for t in ax.texts), default=0)
        room = longest * _GLYPH_EM[False] * 9.0 / (_axes_size_pt(ax)[0] * 0.9)
        ax.set_xlim(0, top / max(1.0 - room, 0.35))
    ax.set_xlabel(labels("lifecycle_axis"))
    ax.set_ylabel(labels("lifecycle"))
    ax.set_title(labels("lifecycle_title"))
    labels.apply_font(ax)
    return ax
