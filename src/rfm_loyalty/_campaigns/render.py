"""Text and notebook views of an audience and of a campaign's lift (no computation)."""

from __future__ import annotations

import html
import math
from typing import Any, Protocol

import pandas as pd


class Audience(Protocol):
    """What the views read of an ``Audience`` (a protocol: the class imports this module)."""

    @property
    def name(self) -> str: ...

    @property
    def date(self) -> pd.Timestamp: ...

    @property
    def table(self) -> pd.DataFrame: ...

    @property
    def funnel(self) -> pd.DataFrame: ...

    @property
    def balance(self) -> pd.DataFrame: ...

    @property
    def cost(self) -> Any: ...

    @property
    def holdout(self) -> float | int: ...

    @property
    def split(self) -> str: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

    @property
    def treatment(self) -> pd.DataFrame: ...

    @property
    def control(self) -> pd.DataFrame: ...


class CampaignLift(Protocol):
    """What the views read of a ``CampaignLift`` (a protocol, for the same reason)."""

    @property
    def campaign(self) -> str: ...

    @property
    def start(self) -> pd.Timestamp: ...

    @property
    def end(self) -> pd.Timestamp: ...

    @property
    def confidence(self) -> float: ...

    @property
    def groups(self) -> pd.DataFrame: ...

    @property
    def summary(self) -> pd.DataFrame: ...

    @property
    def economics(self) -> pd.DataFrame: ...

    @property
    def notes(self) -> tuple[str, ...]: ...

_STYLE = ("<style>.rfm-campaign table{border-collapse:collapse;margin:4px 0 10px}"
          ".rfm-campaign td,.rfm-campaign th{padding:2px 8px;text-align:right}"
          ".rfm-campaign td:first-child,.rfm-campaign th:first-child{text-align:left}</style>")


def _num(x: Any, digits: int = 0) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.{digits}f}"


def _pct(x: Any, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def _points(x: Any) -> str:
    """Format a difference of rates in percentage points, signed."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:+.1f}"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# --------------------------------------------------------------------- audience
def audience_header(a: Audience) -> str:
    """Describe the campaign, its date and the two group sizes in one line."""
    n_t, n_c = len(a.treatment), len(a.control)
    if not a.holdout:
        holdout = "no holdout"
    elif isinstance(a.holdout, int):
        holdout = f"holdout {a.holdout:,} customers, split {a.split!r}"
    else:
        holdout = f"holdout {_pct(a.holdout, 0)}, split {a.split!r}"
    return (f"Audience {a.name!r} for {a.date.date()}: {len(a.table):,} customers "
            f"({n_t:,} treatment, {n_c:,} control; {holdout})")


def _funnel_rows(a: Audience) -> pd.DataFrame:
    return pd.DataFrame({
        "step": a.funnel["step"], "rule": a.funnel["rule"],
        "removed": [_num(v) for v in a.funnel["removed"]],
        "remaining": [_num(v) for v in a.funnel["remaining"]],
    })


def _balance_rows(a: Audience) -> pd.DataFrame:
    b = a.balance
    return pd.DataFrame({
        "covariate": b.index,
        "treatment": [_num(v, 2) for v in b["mean_treatment"]],
        "control": [_num(v, 2) for v in b["mean_control"]],
        "smd": [_num(v, 3) for v in b["smd"]],
    })


def _balance_line(a: Audience) -> str:
    from rfm_loyalty._campaigns.assign import SMD_THRESHOLD

    smd = a.balance["smd"].abs()
    if a.balance.empty or smd.isna().all():
        return "Balance: not measurable (a group has fewer than two customers)."
    worst = smd.idxmax()
    verdict = "balanced" if smd.max() < SMD_THRESHOLD else "imbalanced"
    return (f"Balance: largest |standardised mean difference| {smd.max():.3f} ({worst}); "
            f"{verdict} by the |smd| < {SMD_THRESHOLD} rule.")


def audience_text(a: Audience) -> str:
    """Render an audience as text."""
    parts = [audience_header(a), "Funnel (filters in the order they ran):",
             _indent(_funnel_rows(a).to_string(index=False))]
    if len(a.control):
        parts += [_balance_line(a), _indent(_balance_rows(a).to_string(index=False))]
    parts.append(f"Cost: {a.cost}")
    parts += [f"Note: {note}" for note in a.notes]
    return "\n".join(parts)


def audience_html(a: Audience) -> str:
    """Render an audience as notebook HTML."""
    parts = [_STYLE, "<div class='rfm-campaign'>",
             f"<h4>{html.escape(audience_header(a))}</h4>",
             "<p>Funnel (filters in the order they ran)</p>", _html_table(_funnel_rows(a))]
    if len(a.control):
        parts += [f"<p>{html.escape(_balance_line(a))}</p>", _html_table(_balance_rows(a))]
    parts.append(f"<p>Cost: {html.escape(str(a.cost))}</p>")
    parts += [f"<p><em>Note:</em> {html.escape(note)}</p>" for note in a.notes]
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------------- lift
def lift_header(result: CampaignLift) -> str:
    """Describe the campaign, the window and the groups in one line."""
    sizes = result.groups["customers"].to_dict()
    return (f"Campaign {result.campaign!r}, purchases {result.start.date()} to "
            f"{result.end.date()}: {int(sizes['treatment']):,} treatment vs "
            f"{int(sizes['control']):,} control customers")


def _format_metric(metric: str, value: Any) -> str:
    return _pct(value) if metric == "response" else _num(value, 2)


def _format_difference(metric: str, value: Any) -> str:
    return _points(value) + " pts" if metric == "response" else f"{value:+,.2f}" if (
        value == value) else "n/a"


def lift_rows(result: CampaignLift) -> pd.DataFrame:
    """Format the summary table."""
    s = result.summary
    rows = []
    for metric, row in s.iterrows():
        m = str(metric)
        rows.append({
            "metric": m,
            "treatment": _format_metric(m, row["treatment"]),
            "control": _format_metric(m, row["control"]),
            "difference": _format_difference(m, row["difference"]),
            f"{result.confidence:.0%} interval": (
                f"{_format_difference(m, row['lower'])} to "
                f"{_format_difference(m, row['upper'])}"),
            "method": row["method"],
        })
    return pd.DataFrame(rows)


def _economics_lines(result: CampaignLift) -> list[str]:
    e = result.economics
    if e["estimate"].isna().all():
        return []
    lines = []
    for item, row in e.iterrows():
        if math.isnan(row["estimate"]):
            continue
        lines.append(f"{item}: {row['estimate']:,.2f}" + (
            f" ({row['lower']:,.2f} to {row['upper']:,.2f})"
            if not math.isnan(row["lower"]) else ""))
    return lines


def lift_text(result: CampaignLift) -> str:
    """Render a campaign's lift as text."""
    parts = [lift_header(result), _indent(lift_rows(result).to_string(index=False))]
    economics = _economics_lines(result)
    if economics:
        parts += ["Economics:", *["  " + line for line in economics]]
    parts += [f"Note: {note}" for note in result.notes]
    return "\n".join(parts)


def lift_html(result: CampaignLift) -> str:
    """Render a campaign's lift as notebook HTML."""
    parts = [_STYLE, "<div class='rfm-campaign'>", f"<h4>{html.escape(lift_header(result))}</h4>",
             _html_table(lift_rows(result))]
    economics = _economics_lines(result)
    if economics:
        parts.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in economics) + "</ul>")
    parts += [f"<p><em>Note:</em> {html.escape(note)}</p>" for note in result.notes]
    parts.append("</div>")
    return "".join(parts)
