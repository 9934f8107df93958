"""Render an :class:`~rfm_loyalty.analysis.Analysis`: text, notebook dashboard, HTML report.

Nothing here computes analytics: every number is read from the analysis and
every chart is drawn by :mod:`rfm_loyalty.plotting` from the computed tables.
The HTML report is one self-contained file: styles inline, charts embedded
as PNG ``data:`` URIs, no script and no external request, so it can be
e-mailed or archived and opens the same offline. Its cost does not grow with
the number of customers beyond the computed tables: the charts draw
aggregates (counts per cell, per cohort, per period) and the concentration
curves at 1,001 points.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import html
import io
import math
import os
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rfm_loyalty._atomic import check_file_target, write_file_atomically
from rfm_loyalty._export_tables import created_utc
from rfm_loyalty._views import provide

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

__all__ = ["html_dashboard", "text_summary", "write_report"]

#: Section titles of the HTML report, in order (tests look for them).
SECTIONS: tuple[str, ...] = (
    "Data quality",
    "Lifecycle cohorts",
    "RFM segments",
    "Revenue concentration (80/20)",
    "Profitability (80/20/30) and the whale curve",
    "Churn and retention",
    "Customer-base models",
)
#: The section titles of a ``lang="zh"`` report (the English title follows each).
SECTIONS_ZH: tuple[str, ...] = (
    "数据质量",
    "生命周期分层",
    "RFM 客群",
    "收入集中度 (80/20)",
    "盈利性 (80/20/30) 与鲸鱼曲线",
    "流失与留存",
    "顾客群体模型",
)
#: Languages of the report.
LANGS: tuple[str, ...] = ("en", "zh")
#: Said at the top of a ``lang="zh"`` report when matplotlib has no CJK font.
NO_CJK_FONT_NOTE = (
    "No font with Chinese characters is installed for matplotlib, so the charts use English "
    "labels; the tables beside them give the Chinese names and actions. Install one (Debian: "
    "apt-get install fonts-noto-cjk) for Chinese charts."
)


# --------------------------------------------------------------------------- #
# formatting helpers
# --------------------------------------------------------------------------- #
def _pct(x: Any) -> str:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(value) else f"{value:.1%}"


def _num(x: Any, digits: int = 0) -> str:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return "-"
    return "-" if not math.isfinite(value) else f"{value:,.{digits}f}"


def _quality_line(a: Analysis) -> str:
    q = a.quality
    dropped = ", ".join(f"{reason} {n:,}" for reason, n in q.dropped.items())
    dropped_text = f"{q.rows_dropped:,} dropped ({dropped})" if dropped else "0 dropped"
    return (
        f"{q.rows_in:,} rows in, {q.rows_used:,} used, {dropped_text} -> {q.orders:,} orders "
        f"({q.purchases:,} purchases) from {q.customers:,} customers"
    )


def _pareto_line(a: Analysis) -> str:
    p = a.pareto
    if not p.total_positive:
        return f"Revenue 80/20: undefined (total revenue {p.total:,.2f} is <= 0)"
    gini = "undefined (negative values)" if p.n_negative else f"{p.gini:.3f}"
    return (
        f"Revenue 80/20: the top 20% of customers hold {_pct(p.top_share(0.2))} of revenue; "
        f"80% of revenue comes from {_pct(p.customers_for(0.8))} of customers (Gini {gini})"
    )


def _profit_line(a: Analysis) -> str:
    prof = a.profitability
    if prof is None:
        return f"Profit 80/20/30: not computed. {a.profitability_note}"
    if not prof.total_positive:
        return f"Profit 80/20/30: undefined. {prof.message}"
    return (
        f"Profit 80/20/30: the top 20% make {_pct(prof.top20_share)} of profit, the bottom 30% "
        f"make {_pct(prof.bottom30_share)} and erase {_pct(prof.erosion)} of the top's profit; "
        f"whale curve peak {_pct(prof.whale_peak)} at {_pct(prof.whale_peak_at)} of customers; "
        f"{_pct(prof.unprofitable_share)} of customers are unprofitable"
    )


def _models_line(a: Analysis) -> str:
    if a.models is None:
        return "Models: not fitted (analyze(..., models=True) fits BG/NBD and Gamma-Gamma)"
    params = ", ".join(
        f"{row.model}.{row.parameter}={row.estimate:.4g}"
        for row in a.models.parameters.itertuples()
    )
    note = f" ({a.models.note})" if a.models.note else ""
    return f"Models: {params}{note}"


def _lifecycle_rows(a: Analysis) -> pd.DataFrame:
    t = a.lifecycle
    return pd.DataFrame(
        {
            "cohort": [str(i) for i in t.index],
            "zh": t["lifecycle_zh"].astype(str).to_numpy(),
            "customers": [_num(v) for v in t["customers"]],
            "share": [_pct(v) for v in t["customer_share"]],
            "revenue share": [_pct(v) for v in t["revenue_share"]],
            "action": t["action"].astype(str).to_numpy(),
            "action (zh)": t["action_zh"].astype(str).to_numpy(),
        }
    )


def _segment_rows(a: Analysis) -> pd.DataFrame:
    t = a.segments
    rows = pd.DataFrame(
        {
            "segment": [str(i) for i in t.index],
            "customers": [_num(v) for v in t["customers"]],
            "share": [_pct(v) for v in t["customer_share"]],
            "revenue share": [_pct(v) for v in t["revenue_share"]],
            "mean recency (days)": [_num(v) for v in t["mean_recency_days"]],
            "mean frequency": [_num(v, 1) for v in t["mean_frequency"]],
            "mean monetary": [_num(v, 2) for v in t["mean_monetary"]],
        }
    )
    if "profit_share" in t.columns:
        rows["profit share"] = [_pct(v) for v in t["profit_share"]]
    rows["action"] = t["action"].astype(str).to_numpy()
    return rows


def _text_table(frame: pd.DataFrame, *, max_width: int = 70) -> str:
    cut = frame.copy()
    for column in cut.columns:
        cut[column] = [
            v if len(str(v)) <= max_width else str(v)[: max_width - 3] + "..."
            for v in cut[column].astype(str)
        ]
    return "\n".join("  " + line for line in cut.to_string(index=False).splitlines())


def _header(a: Analysis) -> str:
    p = a.params
    return (
        f"RFM analysis as of {a.as_of.date()} (as_of {p.get('as_of_source', '')}): "
        f"{len(a.customers):,} customers with a purchase; n_bins={p.get('n_bins')}, "
        f"segments={p.get('segments') if isinstance(p.get('segments'), str) else 'custom'}, "
        f"churn_days={p.get('churn_days')}"
    )


#: A short title per caveat code (the report's and notebook's caveat boxes).
CAVEAT_TITLES: dict[str, str] = {
    "assumed_margin": "Profit is an assumed margin",
    "warm_up": "Warm-up: the data are shorter than the churn window",
    "partial_first_period": "Partial first period",
    "partial_last_period": "Partial last period",
    "as_of_after_data": "as_of after the last purchase",
    "returns_only_customers": "Customers with returns only",
    "negative_revenue_customers": "Customers with a negative revenue",
    "dropped_rows": "Input rows dropped",
    "model_warning": "Model warning",
    "small_groups": "Groups too small for campaign statistics",
    "score_bins_collapsed": "Score bins collapsed by ties",
    "engine_source": "Aggregated in an engine: no order-level tables",
}


def _population_lines(a: Analysis) -> list[str]:
    return a.population.lines() if a.population is not None else []


def _caveat_text_lines(a: Analysis, *, width: int = 100) -> list[str]:
    """Return the caveats as wrapped text: code, severity and affected tables first."""
    if not a.caveats:
        return ["Caveats: none."]
    out = [f"Caveats ({len(a.caveats)}): read the tables they name with them."]
    for c in a.caveats:
        head = f"  ! {c.code} ({c.severity}; {', '.join(c.tables)}): "
        out.extend(textwrap.wrap(head + c.message, width=width, subsequent_indent="    ",
                                 break_on_hyphens=False))
    return out


# --------------------------------------------------------------------------- #
# text and notebook views
# --------------------------------------------------------------------------- #
@provide("text_summary")
def text_summary(analysis: Analysis) -> str:
    """Return the text view of an analysis (what ``str(analysis)`` prints).

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    str
        Header; the population (customers with a purchase reconciled with
        those with any order; orders, purchases and the date range) and the
        money (gross sales, returns, net revenue); the data-quality line;
        revenue 80/20 and profit 80/20/30 lines; models line; the caveats
        (code, severity, affected tables, message; or "Caveats: none."),
        then the lifecycle table (with actions, English only, so the columns
        stay aligned) and the segment table.

    Examples
    --------
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> result = analyze(load_sample_orders(), n_bins=3)
    >>> text = text_summary(result)
    >>> text == str(result)
    True
    >>> for line in text.splitlines()[:3]:
    ...     print(line)
    RFM analysis as of 2024-12-31 (as_of last order date): 1,000 customers with a purchase; ...
    Customers: 1,000 customers with a purchase; 4,113 orders, 3,948 of them purchases, ...
    Revenue: gross sales 235,409.58, returns -4,419.39, net revenue 230,990.19.
    """
    a = analysis
    life = _lifecycle_rows(a).drop(columns=["zh", "action (zh)"])
    seg = _segment_rows(a).drop(columns=["action"])
    return "\n".join(
        [
            _header(a),
            *_population_lines(a),
            f"Data quality: {_quality_line(a)}",
            _pareto_line(a),
            _profit_line(a),
            _models_line(a),
            *([f"Order-level parts: {a.order_level_note}"] if a.order_level_note else []),
            *_caveat_text_lines(a),
            "",
            "Lifecycle cohorts",
            _text_table(life),
            "",
            "RFM segments",
            _text_table(seg),
        ]
    )


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC",sans-serif;
margin:2em auto;max-width:1100px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;
margin-top:2em}
table.rfm{border-collapse:collapse;margin:.6em 0;font-size:.9em}
table.rfm th,table.rfm td{border:1px solid #ccc;padding:.25em .5em;text-align:left;
vertical-align:top}
table.rfm th{background:#f0f4f8}
p.meta{color:#555;font-size:.9em}p.note{background:#fff7e0;padding:.5em;border-left:4px
solid #E69F00}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85em}
aside.caveat,aside.caveat-ref{display:block;margin:.6em 0;padding:.4em .6em;font-size:.92em}
aside.caveat.warning{background:#fdecea;border-left:4px solid #D55E00}
aside.caveat.info{background:#eaf4fb;border-left:4px solid #56B4E9}
aside.caveat-ref{color:#555;border-left:4px dotted #999;padding-top:.1em;padding-bottom:.1em}
p.headline{font-weight:600;margin:.2em 0}
div.overview{background:#fafafa;border:1px solid #ddd;padding:.4em .8em;font-size:.92em}
div.overview li.warning{color:#a33b00}
h2 span.en{color:#777;font-size:.7em;font-weight:normal}
"""


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table class='rfm'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png(draw: Callable[[Any], Any], *, size: tuple[float, float], dpi: int = 100) -> str:
    """Draw on a fresh pyplot-free Figure; return its PNG as base64 text."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


#: The notebook view's inline plots: (title, size in inches). Drawn at 72 dpi
#: from aggregates (cohort counts, segment shares, the 1,001-point Pareto
#: curve), so the view's size does not grow with the number of customers.
NOTEBOOK_PLOTS: tuple[tuple[str, tuple[float, float]], ...] = (
    ("Lifecycle cohorts", (3.6, 2.7)),
    ("RFM segments", (3.9, 3.2)),
    ("Pareto curve of revenue", (3.3, 2.7)),
)


def _notebook_plots(a: Analysis) -> str:
    from rfm_loyalty import plotting as plot

    draws: list[Callable[[Any], Any]] = [
        lambda ax: plot.plot_lifecycle(a.lifecycle, ax=ax, show_actions=False),
        lambda ax: plot.plot_segments(a.segments, ax=ax),
        lambda ax: plot.plot_pareto(a.pareto, ax=ax),
    ]
    images = []
    for (title, size), draw in zip(NOTEBOOK_PLOTS, draws, strict=True):
        if title.startswith("Pareto") and not a.pareto.total_positive:
            continue  # no curve to draw: the headline line says why
        data = _png(functools.partial(_small, draw=draw), size=size, dpi=72)
        images.append(f"<img alt='{html.escape(title)}' title='{html.escape(title)}' "
                      f"src='data:image/png;base64,{data}'>")
    return f"<div class='rfm-plots'>{''.join(images)}</div>"


def _small(ax: Any, draw: Callable[[Any], Any]) -> None:
    """Draw a plot for the notebook: small fonts, no axis titles (the title says it)."""
    draw(ax)
    for text in [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                 *ax.get_xticklabels(), *ax.get_yticklabels()]:
        text.set_fontsize(6.5)
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("")
    legend = ax.get_legend()
    if legend is not None:
        for text in legend.get_texts():
            text.set_fontsize(6)


def _caveat_items(a: Analysis) -> str:
    if not a.caveats:
        return "<p class='rfm-none'>Caveats: none.</p>"
    items = "".join(
        f"<li class='{c.severity}' data-code='{c.code}'><b>{html.escape(CAVEAT_TITLES[c.code])}"
        f"</b> ({c.severity}; {html.escape(', '.join(c.tables))}): {html.escape(c.message)}</li>"
        for c in a.caveats
    )
    return f"<ul class='rfm-caveats'>{items}</ul>"


@provide("html_dashboard")
def html_dashboard(analysis: Analysis) -> str:
    """Return the compact notebook view (``Analysis._repr_html_``).

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    str
        An HTML fragment: header; headline figures (population and money,
        quality, 80/20 and 80/20/30, models); the caveats (title, severity,
        affected tables, message); three small inline PNG plots (lifecycle
        cohorts, segments, Pareto curve; see :data:`NOTEBOOK_PLOTS`); the
        lifecycle table with actions (English and Chinese) and the segment
        table. Its size does not grow with the number of customers (tens of
        kilobytes).

    Examples
    --------
    >>> import re
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> result = analyze(load_sample_orders(), n_bins=3)
    >>> fragment = html_dashboard(result)
    >>> fragment == result._repr_html_(), fragment.startswith("<div class='rfm-analysis'>")
    (True, True)
    >>> re.findall(r"<h4>([^<]+)</h4>", fragment), fragment.count("<table")
    (['Caveats', 'Lifecycle cohorts', 'RFM segments'], 2)
    >>> fragment.count("<img ")
    3
    """
    a = analysis
    lines = [*_population_lines(a), _quality_line(a), _pareto_line(a), _profit_line(a),
             _models_line(a)]
    if a.order_level_note:
        lines.append(f"Order-level parts: {a.order_level_note}")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        f"<div class='rfm-analysis'><style>{_STYLE_FRAGMENT}</style>"
        f"<h3>{html.escape(_header(a))}</h3><ul>{items}</ul>"
        f"<h4>Caveats</h4>{_caveat_items(a)}"
        f"{_notebook_plots(a)}"
        f"<h4>Lifecycle cohorts</h4>{_html_table(_lifecycle_rows(a))}"
        f"<h4>RFM segments</h4>{_html_table(_segment_rows(a))}</div>"
    )


_STYLE_FRAGMENT = (
    ".rfm-analysis table.rfm{border-collapse:collapse;font-size:.85em}"
    ".rfm-analysis table.rfm th,.rfm-analysis table.rfm td{border:1px solid #ccc;"
    "padding:.2em .4em;text-align:left;vertical-align:top}"
    ".rfm-analysis ul.rfm-caveats li{margin:.2em 0}"
    ".rfm-analysis ul.rfm-caveats li.warning{border-left:4px solid #D55E00;padding-left:.4em}"
    ".rfm-analysis ul.rfm-caveats li.info{border-left:4px solid #56B4E9;padding-left:.4em}"
    ".rfm-analysis .rfm-plots img{margin:.3em .6em .3em 0;vertical-align:top}"
)


# --------------------------------------------------------------------------- #
# HTML report
# --------------------------------------------------------------------------- #
def _figure(draw: Callable[[Any], Any], caption: str, *, size: tuple[float, float]) -> str:
    """Draw on a fresh pyplot-free Figure and return it as an inline PNG <figure>."""
    data = _png(draw, size=size)
    return (
        f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _p(text: str, cls: str = "") -> str:
    attr = f" class='{cls}'" if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


class _Page:
    """The report being written: its language, and where each caveat was shown in full."""

    def __init__(self, analysis: Analysis, lang: str) -> None:
        self.a = analysis
        self.lang = lang
        self._in_section: set[str] = set()

    @property
    def zh(self) -> bool:
        return self.lang == "zh"

    def section(self, index: int, parts: Sequence[str]) -> str:
        title = SECTIONS[index]
        anchor = title.split(" ")[0].lower()
        heading = html.escape(title)
        if self.zh:
            heading = f"{html.escape(SECTIONS_ZH[index])} <span class='en'>{heading}</span>"
        self._in_section = set()  # the next section shows its caveats in full again
        return f"<section id='{anchor}'><h2>{heading}</h2>{''.join(parts)}</section>"

    def view(self, tables: Sequence[str], parts: Sequence[str]) -> str:
        """Return a table or chart with the caveats that concern it, just above it.

        A caveat is shown in full at the first view of a section it concerns;
        the later views of the section it concerns repeat its title.
        """
        notes = []
        for c in self.a.caveats:
            if not any(c.concerns(t) for t in tables):
                continue
            title = html.escape(CAVEAT_TITLES[c.code])
            if c.code in self._in_section:
                notes.append(f"<aside class='caveat-ref {c.severity}' data-code='{c.code}'>"
                             f"Read with the caveat above: <b>{title}</b>.</aside>")
            else:
                self._in_section.add(c.code)
                notes.append(f"<aside class='caveat {c.severity}' data-code='{c.code}'>"
                             f"<b>Caveat ({c.severity}): {title}.</b> "
                             f"{html.escape(c.message)}</aside>")
        return (f"<div class='view' data-tables='{html.escape(' '.join(tables))}'>"
                f"{''.join(notes)}{''.join(parts)}</div>")


def _quality_section(page: _Page) -> str:
    a = page.a
    q = a.quality.to_frame().reset_index()
    table = pd.DataFrame(
        {"item": q["item"].astype(str), "rows": [_num(v) for v in q["rows"]],
         "amount": [_num(v, 2) for v in q["amount"]]}
    )
    population = [_p(line, "population") for line in _population_lines(a)]
    return page.section(0, [
        page.view(["customers"], population),
        page.view(["quality"], [_p(_quality_line(a)), _html_table(table)]),
    ])


def _lifecycle_table(page: _Page) -> pd.DataFrame:
    rows = _lifecycle_rows(page.a)
    if page.zh:  # the Chinese name and action first
        rows = rows[["zh", "cohort", "customers", "share", "revenue share", "action (zh)",
                     "action"]]
    return rows


def _segment_table(page: _Page) -> pd.DataFrame:
    t = page.a.segments
    rows = _segment_rows(page.a)
    rows.insert(1, "zh", t["segment_zh"].astype(str).to_numpy())
    rows["action (zh)"] = t["action_zh"].astype(str).to_numpy()
    if page.zh:
        first = ["zh", "segment"]
        rows = rows[first + [c for c in rows.columns if c not in first]]
    return rows


def _lifecycle_section(page: _Page, plot: Any) -> str:
    a = page.a
    figure = _figure(lambda ax: plot.plot_lifecycle(a.lifecycle, ax=ax, lang=page.lang),
                     "Customers per lifecycle cohort, with the cohort's action", size=(10, 4.5))
    table = _html_table(_lifecycle_table(page))
    return page.section(1, [page.view(["lifecycle"], [figure, table])])


def _segment_section(page: _Page, plot: Any) -> str:
    a = page.a
    n_bins = a.params.get("n_bins")
    return page.section(2, [
        page.view(["segments", "segments.profit"], [
            _figure(lambda ax: plot.plot_segments(a.segments, ax=ax, lang=page.lang),
                    "Share of customers and of revenue per segment", size=(10, 4.5))]),
        page.view(["customers.scores"], [
            _figure(lambda ax: plot.plot_rfm_heatmap(
                a.customers, ax=ax, lang=page.lang,
                n_bins=n_bins if isinstance(n_bins, int) else None),
                "Customers per recency x frequency score cell", size=(6, 5))]),
        page.view(["segments"], [_html_table(_segment_table(page))]),
    ])


def _pareto_section(page: _Page, plot: Any) -> str:
    a = page.a
    parts = [_p(_pareto_line(a))]
    if a.pareto.total_positive:
        parts.append(_figure(lambda ax: plot.plot_pareto(a.pareto, ax=ax, lang=page.lang),
                             "Revenue concentration curve", size=(6.5, 4.5)))
    return page.section(3, [page.view(["pareto"], parts)])


def _profit_section(page: _Page, plot: Any) -> str:
    a = page.a
    prof = a.profitability
    if prof is None:
        return page.section(4, [_p(a.profitability_note, "note")])
    check = [_p(_profit_line(a))]
    if prof.total_positive:
        check.append(_figure(lambda ax: plot.plot_whale_curve(prof, ax=ax, lang=page.lang),
                             "Whale curve: cumulative profit by customers ranked by profit",
                             size=(6.5, 4.5)))
    tiers = prof.tier_summary
    tier_rows = pd.DataFrame({
        "tier": [str(i) for i in tiers.index],
        "zh": tiers["name_zh"].astype(str).to_numpy(),
        "customers": [_num(v) for v in tiers["n_customers"]],
        "share": [_pct(v) for v in tiers["customer_share"]],
        "profit share": [_pct(v) for v in tiers["profit_share"]],
        "action": tiers["action"].astype(str).to_numpy(),
    })
    if page.zh and "action_zh" in tiers.columns:
        tier_rows["action (zh)"] = tiers["action_zh"].astype(str).to_numpy()
        tier_rows = tier_rows[["zh", "tier", "customers", "share", "profit share",
                               "action (zh)", "action"]]
    return page.section(4, [
        page.view(["profitability", "whale"], check),
        page.view(["tiers"], [
            _figure(lambda ax: plot.plot_profit_tiers(prof, ax=ax, lang=page.lang),
                    "20/60/20 profit tiers and their actions", size=(10, 4)),
            _html_table(tier_rows)]),
    ])


def _churn_section(page: _Page, plot: Any) -> str:
    a = page.a
    churn_days = a.params.get("churn_days")
    if a.order_level_note:  # engine source: only the per-customer churned flag exists
        churned = int(a.customers["churned"].sum())
        return page.section(5, [page.view(["churn"], [
            _p(f"A customer is churned after more than {churn_days} days without a purchase: "
               f"{churned:,} of {len(a.customers):,} customers "
               f"({_pct(churned / max(len(a.customers), 1))})."),
            _p(a.order_level_note, "note"),
        ])])
    c = a.churn
    names = [str(i) for i in c.index]
    table = pd.DataFrame({
        "segment": names,
        "customers": [_num(v) for v in c["customers"]],
        "churned": [_num(v) for v in c["churned"]],
        "churn rate": [_pct(v) for v in c["churn_rate"]],
        "revenue at risk": [_num(v, 2) for v in c["revenue_at_risk"]],
        "share of revenue at risk": [_pct(v) for v in c["revenue_at_risk_share"]],
    })
    if page.zh and "segment_zh" in a.segments.columns:
        zh = a.segments["segment_zh"].astype(str)
        table.insert(0, "zh", [zh.get(n, "") for n in names])
    partial = ", ".join(str(p) for p, done in zip(a.flow.index, a.flow["complete"],
                                                  strict=True) if not done)
    partial_note = (f" Hatched: partial periods ({partial}), not wholly covered by the data."
                    if partial else "")
    return page.section(5, [
        page.view(["churn"], [
            _p(f"A customer is churned after more than {churn_days} days without a purchase. "
               "Revenue at risk: last year's revenue of customers now cooling or in recovery."),
            _html_table(table)]),
        page.view(["retention"], [
            _figure(lambda ax: plot.plot_cohort_retention(a.retention, ax=ax, lang=page.lang),
                    "Acquisition-cohort retention." + partial_note, size=(10, 6))]),
        page.view(["flow"], [
            _figure(lambda ax: plot.plot_customer_flow(a.flow, ax=ax, lang=page.lang),
                    "Customer flow per period: new, reactivated and churned." + partial_note,
                    size=(10, 4.5))]),
    ])


def _models_section(page: _Page, plot: Any) -> str:
    a = page.a
    m = a.models
    if m is None:
        return page.section(6, [_p(
            "Not fitted: run analyze(..., models=True) (or rfm-loyalty analyze --models) for "
            "BG/NBD probability alive, expected purchases and lifetime value.", "note")])
    params = m.parameters
    table = pd.DataFrame({
        "model": params["model"].astype(str), "parameter": params["parameter"].astype(str),
        "estimate": [f"{v:.4g}" for v in params["estimate"]],
        "standard error": [f"{v:.3g}" for v in params["standard_error"]],
        "95% interval": [f"{lo:.4g} to {hi:.4g}"
                         for lo, hi in zip(params["lower_95"], params["upper_95"], strict=True)],
    })
    parts = [
        _p(f"Expected purchases and CLV over the next {m.horizon_months} months "
           f"(discount {a.params.get('discount_rate_monthly')} per month)."),
        _html_table(table),
        _figure(lambda ax: plot.plot_p_alive_matrix(m.bgnbd, m.data, ax=ax, lang=page.lang),
                "Probability alive by repeat purchases and recency", size=(7, 5)),
        _figure(lambda ax: plot.plot_rfm_histogram(a.customers, "p_alive", ax=ax,
                                                   lang=page.lang),
                "Customers by probability alive", size=(7, 4)),
    ]
    if m.note:
        parts.insert(0, _p(m.note, "note"))
    return page.section(6, [page.view(["models", "customers.p_alive", "customers.clv"], parts)])


def _caveat_overview(page: _Page) -> str:
    a = page.a
    if not a.caveats:
        return _p("Caveats: none.", "meta")
    items = "".join(
        f"<li class='{c.severity}'>{html.escape(CAVEAT_TITLES[c.code])} "
        f"({html.escape(', '.join(c.tables))})</li>" for c in a.caveats)
    return (f"<div class='overview'><b>{len(a.caveats)} caveat(s)</b>, each shown in full "
            f"beside the tables and charts it concerns:<ul>{items}</ul></div>")


def report_html(analysis: Analysis, *, timestamp: bool = True, lang: str = "en") -> str:
    """Return the full self-contained HTML report as a string.

    Parameters
    ----------
    analysis : Analysis
    timestamp : bool, default True
        Say when the report was made (``SOURCE_DATE_EPOCH`` fixes the time);
        False leaves it out, so that the same analysis gives the same bytes.
    lang : {"en", "zh"}, default "en"
        ``"zh"``: Chinese section titles (the English one beside), charts
        with Chinese labels, and the Chinese segment, cohort and tier names
        and actions first in the tables. Without a CJK font for matplotlib
        the charts keep English labels and the report says so at the top
        (:data:`NO_CJK_FONT_NOTE`); the Chinese names stay in the tables as
        HTML text.

    Returns
    -------
    str
        An HTML5 document with the sections of :data:`SECTIONS`. Under the
        header the population and money lines and a list of the caveats;
        each caveat is shown in full beside the tables and charts it
        concerns (``<aside class='caveat ...' data-code='...'>`` inside the
        ``<div class='view' data-tables='...'>`` of that view).

    Raises
    ------
    ValueError
        If ``lang`` is not one of :data:`LANGS`.

    Examples
    --------
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> page = report_html(analyze(make_orders(60, random_state=3), n_bins=3), lang="zh")
    >>> page.count("<section"), "<html lang='zh'>" in page
    (7, True)
    """
    from rfm_loyalty import plotting as plot
    from rfm_loyalty._version import __version__

    if lang not in LANGS:
        raise ValueError(f"The 'lang' parameter of report_html must be one of {list(LANGS)}. "
                         f"Got {lang!r} instead.")
    a = analysis
    page = _Page(a, lang)
    stamp = created_utc(timestamp)
    created = (f"; created {_dt.datetime.fromisoformat(stamp).strftime('%Y-%m-%d %H:%M UTC')}"
               if stamp else "")
    meta = (
        f"Input {a.input.source} ({a.input.rows:,} rows, sha256 {a.input.sha256[:16]}...); "
        f"rfm-loyalty {__version__}{created}."
    )
    title = ("RFM 忠诚度报告, 截至 " if page.zh else "RFM loyalty report, as of ") + str(
        a.as_of.date())
    body = [
        f"<h1>{html.escape(title)}</h1>",
        _p(_header(a)),
        *[_p(line, "headline") for line in _population_lines(a)],
        _p(meta, "meta"),
        *([_p(NO_CJK_FONT_NOTE, "note")] if page.zh and plot.find_cjk_font() is None else []),
        _caveat_overview(page),
        _quality_section(page),
        _lifecycle_section(page, plot),
        _segment_section(page, plot),
        _pareto_section(page, plot),
        _profit_section(page, plot),
        _churn_section(page, plot),
        _models_section(page, plot),
    ]
    return (
        f"<!DOCTYPE html>\n<html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>RFM loyalty report {a.as_of.date()}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


@provide("write_report")
def write_report(analysis: Analysis, path: str | os.PathLike[str], *,
                 timestamp: bool = True, lang: str = "en") -> Path:
    """Write the self-contained HTML report, atomically.

    Sections: data quality, lifecycle cohorts with actions, RFM segments,
    revenue concentration, profitability (80/20/30, whale curve, tiers),
    churn and retention, customer-base models (when fitted). Charts are
    inline PNG images; the file makes no external request. The page is
    written to a temporary file beside ``path`` and renamed over it, so a
    failure (a full disk) leaves the previous report as it was.

    Parameters
    ----------
    analysis : Analysis
    path : path-like
        The ``.html`` file; its folder is created when missing.
    timestamp : bool, default True
        Say when the report was made (see :func:`report_html`).
    lang : {"en", "zh"}, default "en"
        Language of titles, chart labels and table names (see
        :func:`report_html`).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> result = analyze(make_orders(60, random_state=3), n_bins=3)
    >>> out = write_report(result, os.path.join(tempfile.mkdtemp(), "report.html"))
    >>> "Lifecycle cohorts" in out.read_text(encoding="utf-8")
    True
    """
    target = Path(path)
    check_file_target(target)  # before the work of drawing
    page = report_html(analysis, timestamp=timestamp, lang=lang)
    write_file_atomically(target, page.encode("utf-8"))
    return target
