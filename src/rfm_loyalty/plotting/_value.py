"""Plots of how concentrated value is: Pareto curve, whale curve, profit tiers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty.concentration import curve_points
from rfm_loyalty.plotting._common import (
    GREY,
    OKABE_ITO,
    Labels,
    new_axes,
    percent_axis,
    require_columns,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rfm_loyalty.concentration import ParetoResult
    from rfm_loyalty.profitability import ProfitabilityResult

__all__ = ["plot_pareto", "plot_profit_tiers", "plot_whale_curve"]

_TIER_COLOURS = {
    "profitable": OKABE_ITO["bluish_green"],
    "break_even": OKABE_ITO["sky_blue"],
    "resource_wasting": OKABE_ITO["vermillion"],
}
_BOX = {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": GREY, "alpha": 0.9}


def _check_type(result: Any, expected: type, func: str, hint: str) -> None:
    if not isinstance(result, expected):
        raise TypeError(
            f"{func} needs a {expected.__name__}; got {type(result).__name__}. {hint}"
        )


def plot_pareto(
    result: ParetoResult,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    share: float = 0.8,
    top: float = 0.2,
) -> Axes:
    """Pareto (concentration) curve with the 80/20 point marked.

    Parameters
    ----------
    result : ParetoResult
        Output of :func:`rfm_loyalty.concentration.pareto` (also
        ``Analysis.pareto``). Its curve is drawn as computed.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.
    share : float, default 0.8
        Share of the total whose customer fraction is marked
        (``result.customers_for(share)``).
    top : float, default 0.2
        Fraction of top customers whose share is marked
        (``result.top_share(top)``).

    Returns
    -------
    matplotlib.axes.Axes
        The curve (cumulative share of the total against the share of
        customers, best first), the equality diagonal, and two marked points
        with their annotations. When the total is <= 0 the shares are
        undefined: the axes say so and no curve is drawn.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.concentration import pareto
    >>> from rfm_loyalty.plotting import plot_pareto
    >>> revenue = pd.Series([500.0, 200.0, 100.0, 100.0, 50.0, 50.0],
    ...                     index=list("ABCDEF"), name="revenue")
    >>> ax = plot_pareto(pareto(revenue))
    >>> [t.get_text() for t in ax.texts]
    ['50.0% of customers make 80%', 'Top 20% make 70.0%']
    >>> ax.figure.clf()
    """
    from rfm_loyalty.concentration import ParetoResult

    func = "plot_pareto"
    labels = Labels(lang, func)
    _check_type(result, ParetoResult, func, "Pass pareto(values) or Analysis.pareto.")
    ax = new_axes(ax, func, (7.0, 5.5))
    name = result.name
    ax.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=1, label=labels("equality"))
    if result.total_positive:
        curve = curve_points(result.curve)  # 1,001 points draw the same line as a million
        label = name
        if not result.n_negative:
            label = f"{name} ({labels('gini', g=result.gini)})"
        ax.plot(curve["customer_share"], curve["value_share"], color=OKABE_ITO["blue"],
                linewidth=2, label=label)
        x80 = result.customers_for(share)
        ax.plot([x80], [share], marker="o", color=OKABE_ITO["vermillion"], zorder=3,
                clip_on=False)
        ax.plot([0, x80, x80], [share, share, 0], linestyle=":",
                color=OKABE_ITO["vermillion"], linewidth=1)
        # Both notes sit right of their points, between the curve and the diagonal.
        ax.annotate(labels("pareto_80", x=x80, share=share),
                    (x80, share), xytext=(x80 + 0.06, share - 0.12), fontsize=9,
                    color=OKABE_ITO["vermillion"], bbox=_BOX,
                    arrowprops={"arrowstyle": "-", "color": OKABE_ITO["vermillion"]})
        y_top = result.top_share(top)
        ax.plot([top], [y_top], marker="s", color=OKABE_ITO["orange"], zorder=3)
        ax.annotate(labels("pareto_top", k=top, y=y_top), (top, y_top),
                    xytext=(top + 0.06, y_top - 0.22), fontsize=9, color="#8a5a00",
                    bbox=_BOX, arrowprops={"arrowstyle": "-", "color": OKABE_ITO["orange"]})
    else:
        ax.text(0.5, 0.5, labels("undefined_total", total=result.total), ha="center",
                va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_xlabel(labels("top_customers", name=name))
    ax.set_ylabel(labels("cumulative_share", name=name))
    ax.set_title(labels("pareto_title", name=name))
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(loc="lower right")
    labels.apply_font(ax)
    return ax


def plot_whale_curve(
    result: ProfitabilityResult,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Whale curve of customer profit with its peak and the 80/20/30 figures.

    Parameters
    ----------
    result : ProfitabilityResult
        Output of :func:`rfm_loyalty.profitability.profitability` (also
        ``Analysis.profitability``). Nothing is recomputed: the curve, the
        peak, the top and bottom shares and the erosion are the result's.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.axes.Axes
        The curve (cumulative share of total profit against the share of
        customers, most profitable first), the 100% line, the peak (marked and
        annotated), the top group's share at ``result.top``, the shaded
        bottom group with its share and erosion; the title's second line says
        whether the 80/20 and 80/20/30 rules hold. When the total profit is <= 0 the
        shares are undefined and the axes show ``result.message`` instead.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.profitability import profitability
    >>> from rfm_loyalty.plotting import plot_whale_curve
    >>> profit = pd.Series([50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0,
    ...                     -10.0, -10.0, -20.0], index=list("ABCDEFGHIJ"))
    >>> ax = plot_whale_curve(profitability(profit))
    >>> print(ax.texts[0].get_text())
    Peak: 140.0% of profit
    from the top 70.0% of customers
    >>> ax.figure.clf()
    """
    from rfm_loyalty.profitability import ProfitabilityResult

    func = "plot_whale_curve"
    labels = Labels(lang, func)
    _check_type(result, ProfitabilityResult, func,
                "Pass profitability(customer_profit(...)) or Analysis.profitability.")
    ax = new_axes(ax, func, (8.0, 5.5))
    if not result.total_positive:
        ax.text(0.5, 0.5, result.message, ha="center", va="center", wrap=True,
                transform=ax.transAxes)
        ax.set_title(labels("whale_title"))
        labels.apply_font(ax)
        return ax
    whale = result.whale
    drawn = curve_points(whale)  # 1,001 points draw the same line as a million
    ax.axhline(1.0, color=GREY, linestyle="--", linewidth=1)
    ax.plot(drawn["customer_share"], drawn["profit_share"], color=OKABE_ITO["blue"],
            linewidth=2)
    peak, at = result.whale_peak, result.whale_peak_at
    ax.plot([at], [peak], marker="o", color=OKABE_ITO["vermillion"], zorder=3, clip_on=False)
    ax.annotate(labels("whale_peak", peak=peak, at=at), (at, peak), xytext=(0.55, 0.25),
                textcoords="axes fraction", ha="left", color=OKABE_ITO["vermillion"],
                bbox=_BOX, arrowprops={"arrowstyle": "->", "color": OKABE_ITO["vermillion"]})
    # Top group: its share of the total is the curve's height at `top`.
    top, top_share = result.top, result.top20_share
    ax.plot([top, top], [0, top_share], color=OKABE_ITO["orange"], linestyle=":")
    ax.plot([top], [top_share], marker="s", color=OKABE_ITO["orange"], zorder=3)
    ax.annotate(labels("whale_top", top=top, share=top_share), (top, top_share),
                xytext=(0.04, 0.78), textcoords="axes fraction", color="#8a5a00", bbox=_BOX,
                arrowprops={"arrowstyle": "->", "color": OKABE_ITO["orange"]})
    # Bottom group: the last `bottom` of customers, shaded.
    ax.axvspan(1.0 - result.bottom, 1.0, color=OKABE_ITO["reddish_purple"], alpha=0.15,
               linewidth=0)
    # Right-aligned at the frame: centred on the band it would stick out of narrow axes.
    ax.text(0.99, 0.05,
            labels("whale_bottom", bottom=result.bottom, share=result.bottom30_share,
                   erosion=result.erosion),
            ha="right", va="bottom", fontsize=8, color="#7a2f5e", transform=ax.transAxes)
    # Left end: the curve starts at 0 there, so the label never sits on it.
    ax.text(0.01, 1.0, labels("total_line"), ha="left", va="bottom", fontsize=8,
            color=GREY, transform=ax.get_yaxis_transform())
    low = float(np.nanmin(whale["profit_share"].to_numpy()))
    ax.set_xlim(0, 1)
    ax.set_ylim(min(0.0, low) - 0.02, max(peak, 1.0) * 1.12)
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.set_xlabel(labels("top_customers_profit"))
    ax.set_ylabel(labels("cumulative_profit"))
    yes_no = {True: labels("yes"), False: labels("no")}
    rule = labels("whale_rule", r8020=yes_no[result.holds_80_20],
                  r802030=yes_no[result.holds_80_20_30])
    ax.set_title(f"{labels('whale_title')}\n{rule}")
    ax.grid(True, linewidth=0.3, alpha=0.5)
    labels.apply_font(ax)
    return ax


def plot_profit_tiers(
    result: ProfitabilityResult | pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Share of customers beside share of profit for each profit tier, with its action.

    Parameters
    ----------
    result : ProfitabilityResult or pandas.DataFrame
        Output of :func:`rfm_loyalty.profitability.profitability`, or its
        ``tier_summary`` table (index ``tier``; ``customer_share``,
        ``profit_share``, ``n_customers``, ``action``, ``name_zh``,
        ``action_zh`` columns). Not modified.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"
        Language of labels, tier names and actions.

    Returns
    -------
    matplotlib.axes.Axes
        Two bars per tier, best tier first: share of customers (grey) and
        share of profit (tier colour; below zero for a loss-making tier; left
        out when the total profit is <= 0 and the shares are undefined), each
        labelled with its percentage, and the tier's action under its name.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.profitability import profitability
    >>> from rfm_loyalty.plotting import plot_profit_tiers
    >>> profit = pd.Series([50.0, 30.0, 20.0, 15.0, 10.0, 10.0, 5.0,
    ...                     -10.0, -10.0, -20.0], index=list("ABCDEFGHIJ"))
    >>> ax = plot_profit_tiers(profitability(profit))
    >>> len(ax.patches), ax.get_xticklabels()[0].get_text().replace(chr(10), " ")
    (6, 'profitable Invest')
    >>> ax.figure.clf()
    """
    from rfm_loyalty.profitability import ProfitabilityResult

    func = "plot_profit_tiers"
    labels = Labels(lang, func)
    summary = result.tier_summary if isinstance(result, ProfitabilityResult) else result
    summary = require_columns(
        summary, ["customer_share", "profit_share", "action"], func,
        "Pass profitability(...) or its tier_summary.",
    )
    ax = new_axes(ax, func, (8.0, 5.5))
    x = np.arange(len(summary), dtype="float64")
    width = 0.38
    tiers = [str(t) for t in summary.index]
    customers = ax.bar(x - width / 2, summary["customer_share"], width=width, color=GREY,
                       label=labels("tier_customers"))
    ax.bar_label(customers, labels=[f"{s:.1%}" for s in summary["customer_share"]],
                 fontsize=8, padding=2)
    profit_share = summary["profit_share"].to_numpy(dtype="float64")
    if np.isfinite(profit_share).all():
        colours = [_TIER_COLOURS.get(t, OKABE_ITO["blue"]) for t in tiers]
        profit = ax.bar(x + width / 2, profit_share, width=width, color=colours,
                        label=labels("tier_profit"))
        ax.bar_label(profit, labels=[f"{s:.1%}" for s in profit_share], fontsize=8,
                     padding=2)
    ax.axhline(0.0, color="black", linewidth=0.8)
    names = tiers
    if labels.zh and "name_zh" in summary.columns:
        names = [str(n) for n in summary["name_zh"]]
    action_col = "action_zh" if labels.zh and "action_zh" in summary.columns else "action"
    # The verb before the colon ("Invest", "Keep", ...) fits under a bar.
    verbs = [_short_action(str(a)) for a in summary[action_col]]
    ax.set_xticks(x, [f"{n}\n{v}" for n, v in zip(names, verbs, strict=True)])
    finite = profit_share[np.isfinite(profit_share)]
    high = max([1.0 if not len(finite) else float(finite.max()),
                float(summary["customer_share"].max())])
    low = min([0.0, *(finite.tolist())])
    ax.set_ylim(low - 0.08 if low < 0 else 0.0, high * 1.15)
    percent_axis(ax.yaxis)
    ax.set_xlabel(labels("tier"))
    ax.set_ylabel(labels("tiers_axis"))
    ax.set_title(labels("tiers_title"))
    ax.legend(loc="upper right")
    labels.apply_font(ax)
    return ax


def _short_action(action: str) -> str:
    # "Invest: protect and grow them ..." -> "Invest"; "降低服务成本（...）" -> "降低服务成本".
    cut = min((action.find(s) for s in (":", "：", "（", "(", "，", ",") if s in action),
              default=len(action))
    short = action[:cut].strip()
    return short if len(short) <= 24 else short[:23] + "…"
