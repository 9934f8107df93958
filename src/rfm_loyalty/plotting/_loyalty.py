"""Plots of the loyalty views: the loyalty x value quadrant, onboarding curves, member tiers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rfm_loyalty.plotting._common import (
    CATEGORICAL,
    GREY,
    OKABE_ITO,
    Labels,
    new_axes,
    percent_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from rfm_loyalty.loyalty import LoyaltyValueMatrix, MemberTiers, SecondPurchase

__all__ = ["LOYALTY_TEXTS", "plot_loyalty_matrix", "plot_member_tiers", "plot_second_purchase"]

#: The label texts of these plots, in both languages (same keys, same placeholders).
LOYALTY_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "matrix_title": "Loyalty x value: Reinartz & Kumar's four kinds of customer",
        "matrix_x": "Behavioural loyalty (loyalty index; split at {cut:.2f})",
        "matrix_y": "{value} (split at {cut:,.2f})",
        "short_term": "Short-term",
        "long_term": "Long-term",
        "low_value": "Low",
        "high_value": "High",
        "cell_text": "{name}\n{customers:,} customers ({share:.1%})\n{value_share} of {value}",
        "true_friends": "True friends",
        "butterflies": "Butterflies",
        "barnacles": "Barnacles",
        "strangers": "Strangers",
        "profit": "Profit",
        "revenue": "Revenue",
        "onboarding_title": "Onboarding: share of new customers who bought again",
        "onboarding_x": "Days since the first purchase",
        "onboarding_y": "Bought a second time (Kaplan-Meier, {level:.0%} band)",
        "all": "All new customers",
        "cohort_label": "Cohort {cohort} ({n:,})",
        "window": "{days} days",
        "tiers_title": "Member tiers: customers and spend ({basis})",
        "tiers_axis": "Share (%)",
        "tier_customers": "Share of customers",
        "tier_spend": "Share of spend in the window",
        "threshold": "from {threshold:,.0f}",
    },
    "zh": {
        "matrix_title": "忠诚度 x 价值：Reinartz & Kumar 的四类顾客",
        "matrix_x": "行为忠诚度 (忠诚指数；分界 {cut:.2f})",
        "matrix_y": "{value} (分界 {cut:,.2f})",
        "short_term": "短期",
        "long_term": "长期",
        "low_value": "低",
        "high_value": "高",
        "cell_text": "{name}\n{customers:,} 位顾客 ({share:.1%})\n占{value} {value_share}",
        "true_friends": "真朋友",
        "butterflies": "蝴蝶",
        "barnacles": "藤壶",
        "strangers": "陌生人",
        "profit": "利润",
        "revenue": "收入",
        "onboarding_title": "新客培育：再次购买的新顾客比例",
        "onboarding_x": "首次购买后的天数",
        "onboarding_y": "已二次购买 (Kaplan-Meier，{level:.0%} 置信带)",
        "all": "全部新顾客",
        "cohort_label": "{cohort} 同期群 ({n:,})",
        "window": "{days} 天",
        "tiers_title": "会员等级：顾客与消费 ({basis})",
        "tiers_axis": "占比 (%)",
        "tier_customers": "顾客占比",
        "tier_spend": "窗口期消费占比",
        "threshold": "{threshold:,.0f} 起",
    },
}

# (cell, column, row) of the quadrant: loyalty along x, value along y
_QUADRANT = (("strangers", 0, 0), ("barnacles", 1, 0), ("butterflies", 0, 1),
             ("true_friends", 1, 1))
_CELL_COLOURS = {"true_friends": OKABE_ITO["bluish_green"], "butterflies": OKABE_ITO["orange"],
                 "barnacles": OKABE_ITO["sky_blue"], "strangers": GREY}


def _text(labels: Labels, key: str, **values: Any) -> str:
    return LOYALTY_TEXTS[labels.lang][key].format(**values)


def _check_type(result: Any, name: str, func: str, hint: str) -> None:
    from rfm_loyalty import loyalty

    expected = getattr(loyalty, name)
    if not isinstance(result, expected):
        raise TypeError(f"{func} needs a {name}; got {type(result).__name__}. {hint}")


def plot_loyalty_matrix(
    matrix: LoyaltyValueMatrix,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Draw the loyalty x value quadrant: each cell's customers and share of value.

    Parameters
    ----------
    matrix : LoyaltyValueMatrix
        Output of :func:`rfm_loyalty.loyalty.loyalty_value_matrix`; its
        ``cells`` are drawn as computed.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.
    lang : {"en", "zh"}, default "en"

    Returns
    -------
    matplotlib.axes.Axes
        Four squares (loyalty short/long-term across, value low/high up),
        each shaded by its share of value and labelled with its name, its
        customers and their share, and its share of value.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import loyalty_value_matrix
    >>> from rfm_loyalty.plotting import plot_loyalty_matrix
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c", "d"],
    ...                       "order_date": pd.to_datetime(["2024-01-01", "2024-06-01",
    ...                           "2024-06-10", "2024-02-01", "2024-05-01", "2024-06-20"]),
    ...                       "amount": [50.0, 50.0, 400.0, 5.0, 5.0, 8.0]})
    >>> ax = plot_loyalty_matrix(loyalty_value_matrix(frame))
    >>> [t.get_text().split(chr(10))[0] for t in ax.texts]
    ['Strangers', 'Barnacles', 'Butterflies', 'True friends']
    >>> ax.figure.clf()
    """
    func = "plot_loyalty_matrix"
    labels = Labels(lang, func)
    _check_type(matrix, "LoyaltyValueMatrix", func, "Pass loyalty_value_matrix(...).")
    ax = new_axes(ax, func, (8.0, 6.5))
    from matplotlib.patches import Rectangle

    cells = matrix.cells
    value_key = matrix.value_name if matrix.value_name in ("profit", "revenue") else None
    value_label = _text(labels, value_key) if value_key else matrix.value_name
    shares = cells["value_share"].to_numpy(dtype="float64")
    top = float(np.nanmax(shares)) if np.isfinite(shares).any() else 1.0
    value_shares = dict(zip(cells.index, shares, strict=True))
    counts = dict(zip(cells.index, cells["customers"].to_numpy(dtype="int64"), strict=True))
    customer_shares = dict(zip(cells.index, cells["customer_share"].to_numpy(dtype="float64"),
                               strict=True))
    for cell, col, row in _QUADRANT:
        share = float(value_shares[cell])
        alpha = 0.25 + 0.6 * (share / top if np.isfinite(share) and top > 0 else 0.0)
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=_CELL_COLOURS[cell], alpha=alpha,
                               edgecolor="white", linewidth=3))
        value_share = f"{share:.1%}" if np.isfinite(share) else "n/a"
        ax.text(col + 0.5, row + 0.5, _text(
            labels, "cell_text", name=_text(labels, cell),
            customers=int(counts[cell]), share=float(customer_shares[cell]),
            value_share=value_share,
            value=value_label), ha="center", va="center", fontsize=10)
    ax.set_xlim(0, 2)
    ax.set_ylim(0, 2)
    ax.set_xticks([0.5, 1.5], [_text(labels, "short_term"), _text(labels, "long_term")])
    ax.set_yticks([0.5, 1.5], [_text(labels, "low_value"), _text(labels, "high_value")])
    ax.set_xlabel(_text(labels, "matrix_x", cut=matrix.loyalty_cutoff))
    ax.set_ylabel(_text(labels, "matrix_y", value=value_label, cut=matrix.value_cutoff))
    ax.set_title(_text(labels, "matrix_title"))
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    labels.apply_font(ax)
    return ax


def plot_second_purchase(
    result: SecondPurchase,
    *,
    cohorts: Sequence[str] | None = None,
    max_days: int | None = None,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Draw the onboarding curves: the share of new customers who bought again, by day.

    Parameters
    ----------
    result : SecondPurchase
        Output of :func:`rfm_loyalty.loyalty.second_purchase`; its
        Kaplan-Meier ``curve`` is drawn as computed (``repurchased`` and its
        band).
    cohorts : sequence of str, optional
        Cohort labels to draw beside everyone (``"all"``), e.g.
        ``["2011-01", "2011-06"]``; default the four largest cohorts.
    max_days : int, optional
        Right end of the x axis; default the longest window plus half.
    ax : matplotlib.axes.Axes, optional
    lang : {"en", "zh"}, default "en"

    Returns
    -------
    matplotlib.axes.Axes
        One step line per curve (everyone in black with its shaded band),
        dotted vertical lines at the result's ``within_days``.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import second_purchase
    >>> from rfm_loyalty.plotting import plot_second_purchase
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"],
    ...                       "order_date": pd.to_datetime(["2024-01-05", "2024-01-25",
    ...                           "2024-01-20", "2024-02-10", "2024-04-30"]),
    ...                       "amount": 10.0})
    >>> ax = plot_second_purchase(second_purchase(frame))
    >>> [line.get_label() for line in ax.get_lines()][:3]
    ['All new customers (3)', 'Cohort 2024-01 (2)', 'Cohort 2024-02 (1)']
    >>> ax.figure.clf()
    """
    func = "plot_second_purchase"
    labels = Labels(lang, func)
    _check_type(result, "SecondPurchase", func, "Pass second_purchase(orders).")
    ax = new_axes(ax, func, (8.0, 5.5))
    curve = result.curve
    sizes = result.cohorts["new_customers"]
    if cohorts is None:
        chosen = [str(c) for c in sizes.sort_values(ascending=False, kind="stable").index[:4]]
        chosen.sort()
    else:
        known = set(curve["cohort"])
        chosen = [str(c) for c in cohorts]
        unknown = [c for c in chosen if c not in known]
        if unknown:
            raise ValueError(
                f"The 'cohorts' parameter of {func} names cohorts without a curve: {unknown!r}. "
                f"Known: {sorted(known - {'all'})!r}."
            )
    limit = max_days if max_days is not None else int(max(result.within_days) * 1.5)
    for position, name in enumerate(["all", *chosen]):
        part = curve[(curve["cohort"] == name) & (curve["days"] <= limit)]
        n = int(result.overall["new_customers"]) if name == "all" else int(
            sizes[sizes.index.astype(str) == name].iloc[0])
        label = (f"{_text(labels, 'all')} ({n:,})" if name == "all"
                 else _text(labels, "cohort_label", cohort=name, n=n))
        colour = "black" if name == "all" else CATEGORICAL[(position - 1) % len(CATEGORICAL)]
        ax.step(part["days"], part["repurchased"], where="post", color=colour,
                linewidth=2.2 if name == "all" else 1.4, label=label)
        if name == "all":
            ax.fill_between(part["days"], part["repurchased_lower"],
                            part["repurchased_upper"], step="post", color=GREY, alpha=0.25,
                            linewidth=0)
    for days in result.within_days:
        ax.axvline(days, color=GREY, linestyle=":", linewidth=1)
        ax.text(days, 0.98, _text(labels, "window", days=days), rotation=90, ha="right",
                va="top", fontsize=8, color=GREY, transform=ax.get_xaxis_transform())
    ax.set_xlim(0, limit)
    ax.set_ylim(0, None)
    percent_axis(ax.yaxis)
    ax.set_xlabel(_text(labels, "onboarding_x"))
    ax.set_ylabel(_text(labels, "onboarding_y", level=result.confidence))
    ax.set_title(_text(labels, "onboarding_title"))
    ax.grid(True, linewidth=0.3, alpha=0.5)
    ax.legend(loc="upper left", fontsize=8)
    labels.apply_font(ax)
    return ax


def plot_member_tiers(
    tiers: MemberTiers,
    *,
    ax: Axes | None = None,
    lang: str = "en",
) -> Axes:
    """Draw the member tiers side by side: their share of customers and of spend.

    Parameters
    ----------
    tiers : MemberTiers
        Output of :func:`rfm_loyalty.loyalty.member_tiers`; its ``summary``
        is drawn as computed.
    ax : matplotlib.axes.Axes, optional
    lang : {"en", "zh"}, default "en"

    Returns
    -------
    matplotlib.axes.Axes
        Two bars per tier (customers in grey, spend in colour), each with its
        percentage; under each tier its name (Chinese with ``lang="zh"``) and
        its threshold.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import member_tiers
    >>> from rfm_loyalty.plotting import plot_member_tiers
    >>> frame = pd.DataFrame({"customer_id": ["a", "b", "c"],
    ...                       "order_date": pd.to_datetime(["2024-06-01"] * 3),
    ...                       "amount": [1200.0, 6000.0, 300.0]})
    >>> ax = plot_member_tiers(member_tiers(frame, thresholds={"silver": 1000, "gold": 5000}))
    >>> [t.get_text().split(chr(10))[0] for t in ax.get_xticklabels()]
    ['member', 'silver', 'gold']
    >>> ax.figure.clf()
    """
    func = "plot_member_tiers"
    labels = Labels(lang, func)
    _check_type(tiers, "MemberTiers", func, "Pass member_tiers(orders, thresholds=...).")
    ax = new_axes(ax, func, (8.0, 5.5))
    summary = tiers.summary
    x = np.arange(len(summary), dtype="float64")
    width = 0.38
    customers = ax.bar(x - width / 2, summary["customer_share"], width=width, color=GREY,
                       label=_text(labels, "tier_customers"))
    ax.bar_label(customers, labels=[f"{s:.1%}" for s in summary["customer_share"]],
                 fontsize=8, padding=2)
    spend_share = summary["spend_share"].to_numpy(dtype="float64")
    if np.isfinite(spend_share).all():
        colours = [CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(summary))]
        spend = ax.bar(x + width / 2, spend_share, width=width, color=colours,
                       label=_text(labels, "tier_spend"))
        ax.bar_label(spend, labels=[f"{s:.1%}" for s in spend_share], fontsize=8, padding=2)
    names = [str(n) for n in (summary["tier_zh"] if labels.zh else summary.index)]
    thresholds = [_text(labels, "threshold", threshold=t) for t in summary["threshold"]]
    ax.set_xticks(x, [f"{n}\n{t}" for n, t in zip(names, thresholds, strict=True)])
    percent_axis(ax.yaxis)
    ax.set_ylabel(_text(labels, "tiers_axis"))
    ax.set_title(_text(labels, "tiers_title", basis=tiers.basis))
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.legend(loc="upper right")
    labels.apply_font(ax)
    return ax
