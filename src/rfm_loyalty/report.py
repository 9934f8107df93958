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
import html
import io
import math
import os
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
        f"{len(a.customers):,} customers; n_bins={p.get('n_bins')}, "
        f"segments={p.get('segments') if isinstance(p.get('segments'), str) else 'custom'}, "
        f"churn_days={p.get('churn_days')}"
    )


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
        Header, data-quality line, revenue 80/20 and profit 80/20/30 lines,
        models line, then the lifecycle table (with actions, English only, so
        the columns stay aligned) and the segment table.

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
    RFM analysis as of 2024-12-31 (as_of last order date): 1,000 customers; n_bins=3, ...
    Data quality: 9,974 rows in, 9,974 used, 0 dropped -> 4,113 orders (3,948 purchases) from ...
    Revenue 80/20: the top 20% of customers hold 71.1% of revenue; 80% of revenue comes from ...
    """
    a = analysis
    life = _lifecycle_rows(a).drop(columns=["zh", "action (zh)"])
    seg = _segment_rows(a).drop(columns=["action"])
    return "\n".join(
        [
            _header(a),
            f"Data quality: {_quality_line(a)}",
            _pareto_line(a),
            _profit_line(a),
            _models_line(a),
            *([f"Order-level parts: {a.order_level_note}"] if a.order_level_note else []),
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
"""


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table class='rfm'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@provide("html_dashboard")
def html_dashboard(analysis: Analysis) -> str:
    """Return the compact notebook view (``Analysis._repr_html_``).

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    str
        An HTML fragment: header, quality line, 80/20 and 80/20/30 figures,
        models line, lifecycle table with actions (English and Chinese) and
        segment table.

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
    (['Lifecycle cohorts', 'RFM segments'], 2)
    """
    a = analysis
    lines = [_quality_line(a), _pareto_line(a), _profit_line(a), _models_line(a)]
    if a.order_level_note:
        lines.append(f"Order-level parts: {a.order_level_note}")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        f"<div class='rfm-analysis'><style>{_STYLE_FRAGMENT}</style>"
        f"<h3>{html.escape(_header(a))}</h3><ul>{items}</ul>"
        f"<h4>Lifecycle cohorts</h4>{_html_table(_lifecycle_rows(a))}"
        f"<h4>RFM segments</h4>{_html_table(_segment_rows(a))}</div>"
    )


_STYLE_FRAGMENT = (
    ".rfm-analysis table.rfm{border-collapse:collapse;font-size:.85em}"
    ".rfm-analysis table.rfm th,.rfm-analysis table.rfm td{border:1px solid #ccc;"
    "padding:.2em .4em;text-align:left;vertical-align:top}"
)


# --------------------------------------------------------------------------- #
# HTML report
# --------------------------------------------------------------------------- #
def _figure(draw: Callable[[Any], Any], caption: str, *, size: tuple[float, float]) -> str:
    """Draw on a fresh pyplot-free Figure and return it as an inline PNG <figure>."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _section(title: str, parts: Sequence[str]) -> str:
    anchor = title.split(" ")[0].lower()
    return f"<section id='{anchor}'><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _p(text: str, cls: str = "") -> str:
    attr = f" class='{cls}'" if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def _quality_section(a: Analysis) -> str:
    q = a.quality.to_frame().reset_index()
    table = pd.DataFrame(
        {"item": q["item"].astype(str), "rows": [_num(v) for v in q["rows"]],
         "amount": [_num(v, 2) for v in q["amount"]]}
    )
    return _section(SECTIONS[0], [_p(_quality_line(a)), _html_table(table)])


def _lifecycle_section(a: Analysis, plot: Any) -> str:
    parts = [_figure(lambda ax: plot.plot_lifecycle(a.lifecycle, ax=ax),
                     "Customers per lifecycle cohort, with the cohort's action", size=(10, 4.5))]
    parts.append(_html_table(_lifecycle_rows(a)))
    return _section(SECTIONS[1], parts)


def _segment_section(a: Analysis, plot: Any) -> str:
    parts = [
        _figure(lambda ax: plot.plot_segments(a.segments, ax=ax),
                "Share of customers and of revenue per segment", size=(10, 4.5)),
        _figure(lambda ax: plot.plot_rfm_heatmap(a.customers, ax=ax),
                "Customers per recency x frequency score cell", size=(6, 5)),
        _html_table(_segment_rows(a)),
    ]
    return _section(SECTIONS[2], parts)


def _pareto_section(a: Analysis, plot: Any) -> str:
    parts = [_p(_pareto_line(a))]
    if a.pareto.total_positive:
        parts.append(_figure(lambda ax: plot.plot_pareto(a.pareto, ax=ax),
                             "Revenue concentration curve", size=(6.5, 4.5)))
    return _section(SECTIONS[3], parts)


def _profit_section(a: Analysis, plot: Any) -> str:
    prof = a.profitability
    if prof is None:
        return _section(SECTIONS[4], [_p(a.profitability_note, "note")])
    parts = [_p(_profit_line(a))]
    if prof.total_positive:
        parts.append(_figure(lambda ax: plot.plot_whale_curve(prof, ax=ax),
                             "Whale curve: cumulative profit by customers ranked by profit",
                             size=(6.5, 4.5)))
    parts.append(_figure(lambda ax: plot.plot_profit_tiers(prof, ax=ax),
                         "20/60/20 profit tiers and their actions", size=(10, 4)))
    tiers = prof.tier_summary
    parts.append(_html_table(pd.DataFrame({
        "tier": [str(i) for i in tiers.index],
        "zh": tiers["name_zh"].astype(str).to_numpy(),
        "customers": [_num(v) for v in tiers["n_customers"]],
        "share": [_pct(v) for v in tiers["customer_share"]],
        "profit share": [_pct(v) for v in tiers["profit_share"]],
        "action": tiers["action"].astype(str).to_numpy(),
    })))
    return _section(SECTIONS[4], parts)


def _churn_section(a: Analysis, plot: Any) -> str:
    churn_days = a.params.get("churn_days")
    if a.order_level_note:  # engine source: only the per-customer churned flag exists
        churned = int(a.customers["churned"].sum())
        return _section(SECTIONS[5], [
            _p(f"A customer is churned after more than {churn_days} days without a purchase: "
               f"{churned:,} of {len(a.customers):,} customers "
               f"({_pct(churned / max(len(a.customers), 1))})."),
            _p(a.order_level_note, "note"),
        ])
    c = a.churn
    table = pd.DataFrame({
        "segment": [str(i) for i in c.index],
        "customers": [_num(v) for v in c["customers"]],
        "churned": [_num(v) for v in c["churned"]],
        "churn rate": [_pct(v) for v in c["churn_rate"]],
        "revenue at risk": [_num(v, 2) for v in c["revenue_at_risk"]],
        "share of revenue at risk": [_pct(v) for v in c["revenue_at_risk_share"]],
    })
    parts = [
        _p(f"A customer is churned after more than {churn_days} days without a purchase. "
           "Revenue at risk: last year's revenue of customers now cooling or in recovery."),
        _html_table(table),
        _figure(lambda ax: plot.plot_cohort_retention(a.retention, ax=ax),
                "Acquisition-cohort retention", size=(10, 6)),
        _figure(lambda ax: plot.plot_customer_flow(a.flow, ax=ax),
                "Customer flow per period: new, reactivated and churned", size=(10, 4.5)),
    ]
    return _section(SECTIONS[5], parts)


def _models_section(a: Analysis, plot: Any) -> str:
    m = a.models
    if m is None:
        return _section(SECTIONS[6], [_p(
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
        _figure(lambda ax: plot.plot_p_alive_matrix(m.bgnbd, m.data, ax=ax),
                "Probability alive by repeat purchases and recency", size=(7, 5)),
        _figure(lambda ax: plot.plot_rfm_histogram(a.customers, "p_alive", ax=ax),
                "Customers by probability alive", size=(7, 4)),
    ]
    if m.note:
        parts.insert(0, _p(m.note, "note"))
    return _section(SECTIONS[6], parts)


def report_html(analysis: Analysis, *, timestamp: bool = True) -> str:
    """Return the full self-contained HTML report as a string.

    Parameters
    ----------
    analysis : Analysis
    timestamp : bool, default True
        Say when the report was made (``SOURCE_DATE_EPOCH`` fixes the time);
        False leaves it out, so that the same analysis gives the same bytes.

    Returns
    -------
    str
        An HTML5 document with the sections of :data:`SECTIONS`.
    """
    from rfm_loyalty import plotting as plot
    from rfm_loyalty._version import __version__

    a = analysis
    stamp = created_utc(timestamp)
    created = (f"; created {_dt.datetime.fromisoformat(stamp).strftime('%Y-%m-%d %H:%M UTC')}"
               if stamp else "")
    meta = (
        f"Input {a.input.source} ({a.input.rows:,} rows, sha256 {a.input.sha256[:16]}...); "
        f"rfm-loyalty {__version__}{created}."
    )
    body = [
        f"<h1>{html.escape('RFM loyalty report, as of ' + str(a.as_of.date()))}</h1>",
        _p(_header(a)),
        _p(meta, "meta"),
        _quality_section(a),
        _lifecycle_section(a, plot),
        _segment_section(a, plot),
        _pareto_section(a, plot),
        _profit_section(a, plot),
        _churn_section(a, plot),
        _models_section(a, plot),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>RFM loyalty report {a.as_of.date()}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


@provide("write_report")
def write_report(analysis: Analysis, path: str | os.PathLike[str], *,
                 timestamp: bool = True) -> Path:
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
    write_file_atomically(target, report_html(analysis, timestamp=timestamp).encode("utf-8"))
    return target
