"""Shared plotting machinery: the palette, the label texts in two languages, fonts, axes.

Nothing here changes matplotlib's global state: colours, fonts and layout are
set on the artists and figures each plot function creates.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"): eight
#: colours that stay distinct under the common forms of colour blindness.
OKABE_ITO: Mapping[str, str] = MappingProxyType(
    {
        "orange": "#E69F00",
        "sky_blue": "#56B4E9",
        "bluish_green": "#009E73",
        "yellow": "#F0E442",
        "blue": "#0072B2",
        "vermillion": "#D55E00",
        "reddish_purple": "#CC79A7",
        "black": "#000000",
    }
)
#: Order in which categorical series take the palette's colours (black and
#: yellow last: black is kept for reference lines, yellow is weak on white).
CATEGORICAL = tuple(
    OKABE_ITO[name]
    for name in ("blue", "orange", "bluish_green", "vermillion", "sky_blue",
                 "reddish_purple", "yellow", "black")
)
#: Sequential colour map of every heatmap: perceptually uniform and readable
#: with colour-vision deficiency and in grey scale.
SEQUENTIAL_CMAP = "viridis"
GREY = "#7F7F7F"

LANGS = ("en", "zh")

#: Families tried, in order, for Chinese text; the first one matplotlib knows wins.
CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "STHeiti",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Arial Unicode MS",
    "Droid Sans Fallback",
)

NO_CJK_FONT_MESSAGE = (
    "lang='zh': matplotlib finds no font with Chinese characters (tried {tried}), so "
    "this plot and the next ones use English labels instead of boxes. Install one, e.g. "
    "'apt-get install fonts-noto-cjk' (Debian/Ubuntu) or 'fonts-wqy-zenhei', then remove "
    "matplotlib's font cache (matplotlib.get_cachedir()) and restart Python; without root, "
    "register a downloaded font file (e.g. NotoSansCJKsc-Regular.otf) with "
    "matplotlib.font_manager.fontManager.addfont(path) before the first plot."
)

_TEXTS_EN: dict[str, str] = {
    # segments
    "segments_title": "Segment sizes and revenue",
    "share_axis": "Share of all customers / of revenue (%)",
    "customers_share": "Customers",
    "revenue_share": "Revenue",
    "segment": "Segment",
    # RFM heatmap
    "rfm_heatmap_title_customers": "Customers per R x F score cell",
    "rfm_heatmap_title_mean_monetary": "Mean monetary value per R x F score cell",
    "r_score": "Recency score (higher = bought more recently)",
    "f_score": "Frequency score (higher = buys more often)",
    "n_customers": "Customers",
    "mean_monetary": "Mean monetary value (currency)",
    "bins_recency": "Recency: {got} of {asked} score bins",
    "bins_frequency": "Frequency: {got} of {asked} score bins",
    "bins_ties": " (ties left fewer distinct values)",
    # lifecycle
    "lifecycle_title": "Lifecycle cohorts and their actions",
    "lifecycle_axis": "Customers",
    "lifecycle": "Lifecycle cohort",
    # pareto
    "pareto_title": "Pareto curve of {name}",
    "top_customers": "Top customers, ranked by {name} (% of customers)",
    "cumulative_share": "Cumulative share of {name} (%)",
    "equality": "Everyone equal",
    "pareto_80": "{x:.1%} of customers make {share:.0%}",
    "pareto_top": "Top {k:.0%} make {y:.1%}",
    "gini": "Gini {g:.3f}",
    "undefined_total": "Shares undefined: the total is {total:,.2f} (<= 0)",
    # whale
    "whale_title": "Whale curve of customer profit",
    "top_customers_profit": "Top customers, ranked by profit (% of customers)",
    "cumulative_profit": "Cumulative share of total profit (%)",
    "whale_peak": "Peak: {peak:.1%} of profit\nfrom the top {at:.1%} of customers",
    "whale_top": "Top {top:.0%} make {share:.1%}",
    "whale_bottom": (
        "Bottom {bottom:.0%} make {share:.1%}\n(erase {erosion:.1%} of the top's profit)"
    ),
    "whale_rule": "80/20 holds: {r8020}; 80/20/30 holds: {r802030}",
    "yes": "yes",
    "no": "no",
    "total_line": "100% of total profit",
    # tiers
    "tiers_title": "Profit tiers: share of customers and of profit",
    "tier": "Profit tier",
    "tiers_axis": "Share (%)",
    "tier_customers": "Share of customers",
    "tier_profit": "Share of profit",
    # retention
    "retention_title_retention": "Cohort retention: share of each cohort buying",
    "retention_title_customers": "Cohort activity: customers of each cohort buying",
    "retention_title_revenue": "Cohort revenue per period",
    "cohort": "Acquisition cohort (customers)",
    "periods_since": "Periods since first purchase ({period})",
    "retention_value_retention": "Customers buying (% of cohort)",
    "retention_value_customers": "Customers buying",
    "retention_value_revenue": "Net revenue (currency)",
    # flow
    "flow_title": "Customer flow: who came, came back and left",
    "period": "Period",
    "flow_axis": "Customers",
    "new": "New",
    "reactivated": "Reactivated",
    "retained": "Retained",
    "churned": "Churned",
    "net_change": "Net change of active customers",
    "partial_period": "Partial period (the data cover part of it)",
    # migration
    "migration_title": "{by} migration, {start} to {end}",
    "from_label": "At {date}",
    "to_label": "At {date}",
    "migration_value_shares": "Share of the row's customers (%)",
    "migration_value_counts": "Customers",
    "by_lifecycle": "Lifecycle",
    "by_segment": "Segment",
    "not yet a customer": "not yet a customer",
    # histograms
    "hist_title_recency_days": "Recency",
    "hist_title_frequency": "Frequency",
    "hist_title_monetary_total": "Monetary value",
    "hist_title_p_alive": "Probability alive",
    "hist_title_expected_purchases": "Expected purchases",
    "hist_title_clv": "Customer lifetime value",
    "hist_title_profit": "Customer profit",
    "hist_title_other": "Distribution of {column}",
    "hist_x_recency_days": "Days since the last purchase",
    "hist_x_frequency": "Purchases",
    "hist_x_monetary_total": "Net spend (currency)",
    "hist_x_p_alive": "Probability alive (BG/NBD, 0 to 1)",
    "hist_x_expected_purchases": "Expected purchases over the model horizon",
    "hist_x_clv": "Discounted expected revenue (currency)",
    "hist_x_profit": "Profit under the stated cost model (currency)",
    "hist_y": "Customers",
    "log_scale": "log scale",
    "median": "Median {value:,.4g}",
    "not_shown": "{n:,} customers with values <= 0 not shown",
    # p alive
    "p_alive_title": "Probability alive after {T:g} {unit}",
    "p_alive_x": "Recency: time from the first to the last purchase ({unit})",
    "p_alive_y": "Repeat purchases (frequency)",
    "p_alive_value": "Probability alive",
    "unit_D": "days",
    "unit_W": "weeks",
    # calibration
    "calibration_title": "Backtest: predicted vs actual purchases in the holdout",
    "calibration_x": "Repeat purchase days before the calibration date",
    "calibration_y": "Mean purchase days in the holdout ({days} days)",
    "calibration_y_any": "Mean purchase days in the holdout",
    "actual": "Actual",
    "predicted": "Predicted (BG/NBD)",
}

_TEXTS_ZH: dict[str, str] = {
    "segments_title": "客群规模与收入",
    "share_axis": "占全部顾客 / 收入的比例 (%)",
    "customers_share": "顾客",
    "revenue_share": "收入",
    "segment": "客群",
    "rfm_heatmap_title_customers": "各 R x F 得分格的顾客数",
    "rfm_heatmap_title_mean_monetary": "各 R x F 得分格的平均消费金额",
    "r_score": "最近购买得分 (越高越近期)",
    "f_score": "购买频次得分 (越高越频繁)",
    "n_customers": "顾客数",
    "mean_monetary": "平均消费金额 (货币)",
    "bins_recency": "最近购买得分：{asked} 档中仅 {got} 档",
    "bins_frequency": "购买频次得分：{asked} 档中仅 {got} 档",
    "bins_ties": " (数值相同过多，分档减少)",
    "lifecycle_title": "生命周期分层及营销动作",
    "lifecycle_axis": "顾客数",
    "lifecycle": "生命周期分层",
    "pareto_title": "{name} 的帕累托曲线",
    "top_customers": "按 {name} 排名的头部顾客 (顾客占比 %)",
    "cumulative_share": "{name} 累计占比 (%)",
    "equality": "完全平均",
    "pareto_80": "{x:.1%} 的顾客贡献 {share:.0%}",
    "pareto_top": "前 {k:.0%} 贡献 {y:.1%}",
    "gini": "基尼系数 {g:.3f}",
    "undefined_total": "占比无定义：总额为 {total:,.2f} (<= 0)",
    "whale_title": "顾客利润鲸鱼曲线",
    "top_customers_profit": "按利润排名的头部顾客 (顾客占比 %)",
    "cumulative_profit": "占总利润的累计比例 (%)",
    "whale_peak": "峰值：前 {at:.1%} 的顾客\n贡献 {peak:.1%} 的利润",
    "whale_top": "前 {top:.0%} 贡献 {share:.1%}",
    "whale_bottom": "后 {bottom:.0%} 贡献 {share:.1%}\n(抵消头部利润的 {erosion:.1%})",
    "whale_rule": "80/20 成立：{r8020}；80/20/30 成立：{r802030}",
    "yes": "是",
    "no": "否",
    "total_line": "总利润的 100%",
    "tiers_title": "利润分层：顾客占比与利润占比",
    "tier": "利润分层",
    "tiers_axis": "占比 (%)",
    "tier_customers": "顾客占比",
    "tier_profit": "利润占比",
    "retention_title_retention": "同期群留存：各期仍购买的顾客比例",
    "retention_title_customers": "同期群活跃：各期仍购买的顾客数",
    "retention_title_revenue": "同期群各期收入",
    "cohort": "获客同期群 (顾客数)",
    "periods_since": "首购后的期数 ({period})",
    "retention_value_retention": "购买顾客占同期群比例 (%)",
    "retention_value_customers": "购买顾客数",
    "retention_value_revenue": "净收入 (货币)",
    "flow_title": "顾客流动：新增、回流与流失",
    "period": "期间",
    "flow_axis": "顾客数",
    "new": "新增",
    "reactivated": "回流",
    "retained": "留存",
    "churned": "流失",
    "net_change": "活跃顾客净变化",
    "partial_period": "不完整期间 (数据仅覆盖其中一部分)",
    "migration_title": "{by}迁移，{start} 至 {end}",
    "from_label": "{date} 时",
    "to_label": "{date} 时",
    "migration_value_shares": "占该行顾客的比例 (%)",
    "migration_value_counts": "顾客数",
    "by_lifecycle": "生命周期",
    "by_segment": "客群",
    "not yet a customer": "尚未成为顾客",
    "hist_title_recency_days": "最近购买间隔 (R)",
    "hist_title_frequency": "购买频次 (F)",
    "hist_title_monetary_total": "消费金额 (M)",
    "hist_title_p_alive": "存活概率",
    "hist_title_expected_purchases": "预期购买次数",
    "hist_title_clv": "顾客终身价值",
    "hist_title_profit": "顾客利润",
    "hist_title_other": "{column} 的分布",
    "hist_x_recency_days": "距最近一次购买的天数",
    "hist_x_frequency": "购买次数",
    "hist_x_monetary_total": "净消费金额 (货币)",
    "hist_x_p_alive": "存活概率 (BG/NBD, 0 至 1)",
    "hist_x_expected_purchases": "模型期内预期购买次数",
    "hist_x_clv": "折现后的预期收入 (货币)",
    "hist_x_profit": "按所述成本模型的利润 (货币)",
    "hist_y": "顾客数",
    "log_scale": "对数坐标",
    "median": "中位数 {value:,.4g}",
    "not_shown": "未显示 {n:,} 位数值 <= 0 的顾客",
    "p_alive_title": "观察 {T:g} {unit}后的存活概率",
    "p_alive_x": "最近度：首次到最后一次购买的时间 ({unit})",
    "p_alive_y": "复购次数 (频次)",
    "p_alive_value": "存活概率",
    "unit_D": "天",
    "unit_W": "周",
    "calibration_title": "回测：预测与实际的留出期购买",
    "calibration_x": "校准日前的复购天数",
    "calibration_y": "留出期 ({days} 天) 平均购买天数",
    "calibration_y_any": "留出期平均购买天数",
    "actual": "实际",
    "predicted": "预测 (BG/NBD)",
}

TEXTS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"en": MappingProxyType(_TEXTS_EN), "zh": MappingProxyType(_TEXTS_ZH)}
)


@functools.lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Return the first font family matplotlib knows that has Chinese characters.

    The families of :data:`CJK_FONT_CANDIDATES` are tried in order, then any
    family with "CJK" in its name. When matplotlib's font list (cached on
    disk when matplotlib first ran) has none, the system's CJK font files
    (Noto/Source Han, WenQuanYi, Droid Sans Fallback) are registered with
    ``matplotlib.font_manager.fontManager.addfont`` and the search is
    repeated: a font installed after that cache was built is found without
    removing it. Cached: matplotlib's own font list is built once per
    process too.

    Returns
    -------
    str or None
        The family name (e.g. ``"Noto Sans CJK SC"``), or None when none is
        installed: ``lang="zh"`` plots then keep English labels.

    Examples
    --------
    >>> from rfm_loyalty.plotting import find_cjk_font
    >>> font = find_cjk_font()
    >>> font is None or isinstance(font, str)
    True
    """
    from matplotlib import font_manager

    found = _known_cjk_font(font_manager.fontManager)
    if found is None:
        # A font installed after matplotlib built its font cache (the usual case right
        # after 'apt-get install fonts-noto-cjk') is missing from its list until the
        # cache is removed: register the system's CJK font files, as the user would.
        for path in sorted(font_manager.findSystemFonts()):
            if any(key in Path(path).name.lower() for key in _CJK_FILE_KEYS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file
                    continue
        found = _known_cjk_font(font_manager.fontManager)
    return found


#: Parts of the file names of common CJK fonts (Noto / Source Han, WenQuanYi, Droid).
_CJK_FILE_KEYS = ("cjk", "sourcehan", "wqy", "wenquanyi", "droidsansfallback")


def _known_cjk_font(manager: Any) -> str | None:
    known = {entry.name for entry in manager.ttflist}
    for name in CJK_FONT_CANDIDATES:
        if name in known:
            return name
    # Any other family that declares itself CJK (e.g. "Noto Serif CJK SC").
    cjk = sorted(name for name in known if "CJK" in name)
    return cjk[0] if cjk else None


@functools.lru_cache(maxsize=1)
def _warn_no_cjk_font() -> None:
    # Cached so that a notebook full of zh plots shows the advice once, not per plot.
    warnings.warn(
        NO_CJK_FONT_MESSAGE.format(tried=", ".join(CJK_FONT_CANDIDATES[:6]) + ", ..."),
        UserWarning,
        stacklevel=4,
    )


class Labels:
    """The texts of one plot call: the language actually used and its font family.

    ``lang="zh"`` falls back to English when no CJK font is installed, with
    one ``UserWarning`` per process: drawing Chinese text without a font shows
    empty boxes and makes matplotlib warn once per missing glyph at draw
    time, which no context manager inside the plot function can catch.
    """

    def __init__(self, lang: str, func: str) -> None:
        if lang not in LANGS:
            raise ValueError(
                f"The 'lang' parameter of {func} must be one of {list(LANGS)}. "
                f"Got {lang!r} instead."
            )
        self.requested = lang
        self.family: list[str] | None = None
        if lang == "zh":
            font = find_cjk_font()
            if font is None:
                _warn_no_cjk_font()
                lang = "en"
            else:
                # Chinese from the CJK font, Latin digits and symbols it lacks from
                # matplotlib's bundled font (per-text family fallback, mpl >= 3.6).
                self.family = [font, "DejaVu Sans"]
        self.lang = lang
        self._texts = TEXTS[lang]

    def __call__(self, key: str, **values: Any) -> str:
        return self._texts[key].format(**values)

    @property
    def zh(self) -> bool:
        """Whether Chinese labels are drawn."""
        return self.lang == "zh"

    def apply_font(self, *axes: Axes) -> None:
        """Give every text of these axes the CJK font family (no-op in English)."""
        if self.family is None:
            return
        from matplotlib.text import Text

        for one in axes:
            for text in one.findobj(Text):
                text.set_fontfamily(self.family)
            # Tick labels are re-created at draw time from the axis' tick settings.
            one.tick_params(labelfontfamily=self.family)


def new_axes(ax: Any, func: str, figsize: tuple[float, float]) -> Axes:
    """Return ``ax`` after checking it, or the axes of a new figure when it is None."""
    from matplotlib.axes import Axes

    if ax is None:
        import matplotlib.pyplot as plt

        # Constrained layout is a property of this figure only, not a global setting.
        _, created = plt.subplots(figsize=figsize, layout="constrained")
        return created
    if not isinstance(ax, Axes):
        raise TypeError(
            f"The 'ax' parameter of {func} must be a matplotlib Axes or None (a new "
            f"figure). Got {type(ax).__name__} instead."
        )
    return ax


def require_columns(table: Any, columns: list[str], func: str, hint: str) -> pd.DataFrame:
    """Check that ``table`` is a DataFrame with ``columns``; say what to pass otherwise."""
    from rfm_loyalty.exceptions import SchemaError

    if not isinstance(table, pd.DataFrame):
        raise SchemaError(
            f"{func} needs a DataFrame with the columns {columns!r}; got "
            f"{type(table).__name__}. {hint}"
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        import difflib

        found = [str(c) for c in table.columns]
        close = difflib.get_close_matches(str(missing[0]), found, n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise SchemaError(
            f"{func} needs the columns {columns!r}; missing {missing!r}. Found "
            f"{found!r}.{suggestion} {hint}"
        )
    return table


def percent_axis(axis: Any, decimals: int = 0) -> None:
    """Show shares held as fractions (0.25) as percentages (25%) on one axis."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


def text_color_for(rgba: Any) -> str:
    """Black or white, whichever reads better on a cell of this colour."""
    red, green, blue = rgba[:3]
    # Relative luminance (ITU-R BT.709 weights) of the cell colour.
    return "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 else "white"
