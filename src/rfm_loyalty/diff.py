"""What changed between two runs of the analysis: the report behind ``rfm-loyalty diff``.

A CI job keeps an export of its sample (the baseline) and compares each new
run with it: :func:`compare_runs` reads two export folders (or takes
:class:`~rfm_loyalty.analysis.Analysis` results) and says

* how many customers each segment, lifecycle cohort and profit tier holds on
  both sides, and which customers moved from which label to which (the
  transition table);
* the headline figures (revenue, top-20% share, share of customers for 80%
  of revenue, Gini, profit figures, churn rate) with their change;
* schema differences (tables, columns added, removed or retyped, versions),
  so that an export of an older version is not reported as every row
  changed, and the parameters and provenance that differ.

The gate (:attr:`RunDiff.exit_code`): 1 when, for a label, the share of
common customers who changed it exceeds ``max_moved_share``, when the share
of customers added or removed does, or when a headline figure differs
beyond the tolerances (see :mod:`rfm_loyalty.testing`: amounts of money by
``2 * atol_money``, other figures by ``atol + rtol * |new|``); else 0.
Differences of single customers' numbers are reported (largest drifts) but
do not decide. The JSON form follows the JSON Schema in ``diff.schema.json``
beside this module (:data:`JSON_SCHEMA`), documented in ``docs/ci.md``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._compare import LABELS, TableDiff, Tolerance, compare_tables, read_folder
from rfm_loyalty._export_tables import SUMMARY_MONEY, metadata
from rfm_loyalty._validation import Fraction, check
from rfm_loyalty.export import export_tables, neutralize_formulas

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

__all__ = ["JSON_SCHEMA", "RunDiff", "compare_runs"]

#: The JSON Schema (draft 2020-12) of :meth:`RunDiff.to_dict` (``rfm-loyalty diff --json``).
JSON_SCHEMA: dict[str, Any] = json.loads(
    resources.files("rfm_loyalty").joinpath("diff.schema.json").read_text(encoding="utf-8")
)
_LABEL_TABLES = {"segment": ("segments", "segment", "customers"),
                 "lifecycle": ("lifecycle", "lifecycle", "customers"),
                 "tier": ("tiers", "tier", "n_customers")}
_TOP_DRIFTS = 10


@dataclass(frozen=True)
class _Side:
    source: str
    kind: str
    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any]
    fmt: str | None

    def describe(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "as_of": self.meta.get("as_of"),
                "library_version": (self.meta.get("library") or {}).get("version"),
                "schema_version": self.meta.get("schema_version"), "format": self.fmt}


def _side(run: Any, name: str) -> _Side:
    from rfm_loyalty.analysis import Analysis

    if isinstance(run, Analysis):
        tables = export_tables(run)
        meta = json.loads(json.dumps(metadata(run, tables, timestamp=False)))
        return _Side(f"analysis of {run.input.source}", "analysis", tables, meta, None)
    if isinstance(run, (str, os.PathLike)):
        tables, meta, fmt = read_folder(run)
        return _Side(str(run), "export", tables, meta, fmt)
    raise TypeError(
        f"compare_runs compares export folders (paths) or Analysis results; {name} is a "
        f"{type(run).__name__}."
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in value:
            out.update(_flatten(value[key], f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


@dataclass(frozen=True)
class RunDiff:
    """The differences between two runs (see :func:`compare_runs`).

    Attributes
    ----------
    old, new : dict
        What was compared: ``source``, ``kind`` ("export" or "analysis"),
        ``as_of``, ``library_version``, ``schema_version``, ``format`` read.
    tolerances : dict
        ``max_moved_share``, ``rtol``, ``atol``, ``atol_money``.
    customers : dict
        ``old``, ``new``, ``common``, ``added``, ``removed`` counts and
        ``turnover_share`` ((added + removed) / customers on either side).
    labels : list of dict
        Per label (segment, lifecycle, tier): ``counts`` (value, old, new,
        change), ``moved`` (common customers whose label changed),
        ``moved_share`` (moved / common) and ``transitions`` (from, to,
        customers; most frequent first).
    headline : list of dict
        ``metric``, ``old``, ``new``, ``change``, ``within_tolerance``.
    schema : dict
        ``old_version``, ``new_version`` and ``tables``: per table with a
        schema difference, ``only_in``, versions and the columns added,
        removed or retyped.
    parameters : list of dict
        ``parameter`` (dotted name, e.g. ``lifecycle.window_days``), ``old``,
        ``new`` for every parameter or provenance field that differs.
    drifts : list of dict
        The largest differences of single values per table and column
        (``table``, ``column``, ``rows``, ``largest``, ``at``); not gated.
    reasons : list of str
        Why the runs differ beyond the tolerances (empty: within them).
    changed : bool
        Whether anything differs at all.
    """

    old: dict[str, Any]
    new: dict[str, Any]
    tolerances: dict[str, float]
    customers: dict[str, Any]
    labels: list[dict[str, Any]]
    headline: list[dict[str, Any]]
    schema: dict[str, Any]
    parameters: list[dict[str, Any]]
    drifts: list[dict[str, Any]]
    reasons: list[str]
    changed: bool
    _tables: list[TableDiff] = field(default_factory=list, repr=False)

    @property
    def exit_code(self) -> int:
        """Return 1 when something moved beyond the tolerances, else 0."""
        return 1 if self.reasons else 0

    @property
    def summary(self) -> str:
        """Return the verdict in one line."""
        if not self.changed:
            return "no change: the two runs give the same tables"
        if not self.reasons:
            return "within tolerances: the runs differ, but no more than allowed"
        return f"CHANGED beyond tolerances: {'; '.join(self.reasons)}"

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain data (the ``--json`` output; see :data:`JSON_SCHEMA`)."""
        return {
            "format": "rfm-loyalty-diff", "format_version": 1,
            "old": self.old, "new": self.new,
            "result": {"changed": self.changed, "exit_code": self.exit_code,
                       "summary": self.summary, "reasons": list(self.reasons)},
            "tolerances": self.tolerances, "customers": self.customers,
            "labels": self.labels, "headline": self.headline, "schema": self.schema,
            "parameters": self.parameters, "drifts": self.drifts,
        }

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON text (keys in a fixed order, no NaN)."""
        return json.dumps(_no_nan(self.to_dict()), ensure_ascii=False, indent=2) + "\n"

    # ---------------------------------------------------------------- text
    def _sections(self) -> list[tuple[str, list[str], list[list[str]]]]:
        sections: list[tuple[str, list[str], list[list[str]]]] = []
        for label in self.labels:
            name = label["label"]
            rows = [[c["value"], f"{c['old']:,}", f"{c['new']:,}", f"{c['change']:+,}"]
                    for c in label["counts"]]
            sections.append((f"{name.capitalize()} counts", ["label", "old", "new", "change"],
                             rows))
            moves = [[t["from"], t["to"], f"{t['customers']:,}"] for t in label["transitions"]]
            title = (f"{name.capitalize()} transitions: {label['moved']:,} customers "
                     f"({_pct(label['moved_share'])})")
            sections.append((title, ["from", "to", "customers"], moves))
        sections.append(("Headline figures", ["metric", "old", "new", "change", ""], [
            [h["metric"], *(_figure(h[k], h["metric"], sign=(k == "change"))
                            for k in ("old", "new", "change")),
             "" if h["within_tolerance"] else "beyond tolerance"] for h in self.headline]))
        if self.parameters:
            sections.append(("Parameters and provenance that differ",
                             ["parameter", "old", "new"],
                             [[p["parameter"], _plain(p["old"]), _plain(p["new"])]
                              for p in self.parameters]))
        schema_rows = []
        for t in self.schema["tables"]:
            if t["only_in"]:
                schema_rows.append([t["table"], f"only in {t['only_in']}", ""])
                continue
            what = []
            if t["old_version"] != t["new_version"]:
                what.append(f"version {t['old_version']} -> {t['new_version']}")
            what += [f"+{c}" for c in t["added_columns"]]
            what += [f"-{c}" for c in t["removed_columns"]]
            what += [f"{r['column']}: {r['old']} -> {r['new']}" for r in t["retyped_columns"]]
            schema_rows.append([t["table"], "changed", ", ".join(what)])
        sections.append((f"Schema (set version {self.schema['old_version']} -> "
                         f"{self.schema['new_version']})", ["table", "", "what"], schema_rows))
        sections.append(("Largest differences of single values (not gated)",
                         ["table", "column", "rows", "largest", "at"],
                         [[d["table"], d["column"], f"{d['rows']:,}", _num(d["largest"]),
                           d["at"]] for d in self.drifts]))
        return sections

    def _head(self) -> list[str]:
        c = self.customers
        return [
            f"old: {self.old['source']} (as_of {self.old['as_of']}, rfm-loyalty "
            f"{self.old['library_version']}, schema {self.old['schema_version']})",
            f"new: {self.new['source']} (as_of {self.new['as_of']}, rfm-loyalty "
            f"{self.new['library_version']}, schema {self.new['schema_version']})",
            f"customers: {c['old']:,} -> {c['new']:,} ({c['added']:,} added, "
            f"{c['removed']:,} removed)",
            f"tolerances: max moved share {_pct(self.tolerances['max_moved_share'])}, rtol "
            f"{self.tolerances['rtol']:g}, atol_money {self.tolerances['atol_money']:g}",
        ]

    def to_text(self) -> str:
        """Return the report as plain text (the default output of ``rfm-loyalty diff``)."""
        lines = [f"rfm-loyalty diff: {self.summary}", *self._head()]
        if not self.changed:
            return "\n".join(lines) + "\n"
        for title, header, rows in self._sections():
            lines += ["", title]
            if not rows:
                lines.append("  (none)")
                continue
            widths = [max(len(str(x)) for x in column) for column in zip(header, *rows,
                                                                           strict=True)]
            for row in [header, *rows]:
                lines.append("  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths,
                                                                               strict=True))
                             .rstrip())
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """Return the report as Markdown (for a pull-request comment)."""
        verdict = {True: ":x:", False: ":white_check_mark:"}[bool(self.reasons)]
        lines = [f"### rfm-loyalty diff {verdict} {_md(self.summary)}", ""]
        lines += [f"* {_md(line)}" for line in self._head()]
        if not self.changed:
            return "\n".join(lines) + "\n"
        for title, header, rows in self._sections():
            lines += ["", f"#### {_md(title)}", ""]
            if not rows:
                lines.append("_none_")
                continue
            lines.append("| " + " | ".join(_md(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md(str(x)) for x in row) + " |" for row in rows]
        return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def _num(x: Any, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, int):
        return f"{x:+,}" if sign else f"{x:,}"
    return f"{x:+.6g}" if sign else f"{x:.6g}"


def _figure(x: Any, metric: str, sign: bool = False) -> str:
    """Return a headline figure: counts whole, money to the cent, shares to 6 digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    x = float(x) + 0.0  # -0.0 -> 0.0
    plus = "+" if sign else ""
    if metric in SUMMARY_MONEY:
        return f"{x:{plus},.2f}"
    if metric in ("customers", "orders", "purchases") and x.is_integer():
        return f"{x:{plus},.0f}"
    return f"{x:{plus}.6g}"


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _no_nan(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


# --------------------------------------------------------------------------- #
# the pieces of the report
# --------------------------------------------------------------------------- #
def _label_counts(old: _Side, new: _Side, label: str) -> list[dict[str, Any]]:
    table, column, count = _LABEL_TABLES[label]

    def counts(side: _Side) -> pd.Series:
        if table in side.tables:
            frame = side.tables[table]
            return pd.Series(frame[count].to_numpy(), index=frame[column].to_numpy())
        customers = side.tables.get("customers")
        if customers is None or label not in customers.columns:
            return pd.Series(dtype="int64")
        return customers[label].value_counts(sort=False)

    a, b = counts(old), counts(new)
    values = list(a.index) + [v for v in b.index if v not in a.index]
    return [{"value": str(v), "old": int(a.get(v, 0)), "new": int(b.get(v, 0)),
             "change": int(b.get(v, 0)) - int(a.get(v, 0))} for v in values]


def _churn_rate(side: _Side) -> float | None:
    customers = side.tables.get("customers")
    if customers is None or "churned" not in customers.columns or not len(customers):
        return None
    return float(customers["churned"].mean())


def _headline(old: _Side, new: _Side, tol: Tolerance) -> list[dict[str, Any]]:
    def figures(side: _Side) -> dict[str, Any]:
        summary = side.tables.get("summary")
        found = {} if summary is None else dict(zip(summary["metric"], summary["value"],
                                                    strict=True))
        found["churn_rate"] = _churn_rate(side)
        return found

    a, b = figures(old), figures(new)
    rows = []
    for metric in [*a, *(m for m in b if m not in a)]:
        x, y = _number(a.get(metric)), _number(b.get(metric))
        if x is None and y is None:
            within, change = True, None
        elif x is None or y is None:
            within, change = False, None
        else:
            change = y - x
            bound = tol.allowed(np.array([y]), metric in SUMMARY_MONEY)[0]
            within = bool(abs(change) <= bound)
        rows.append({"metric": metric, "old": x, "new": y, "change": change,
                     "within_tolerance": within})
    return rows


def _schema(old: _Side, new: _Side, diffs: list[TableDiff]) -> dict[str, Any]:
    tables = []
    for d in diffs:
        if not (d.only_in or d.schema_changed):
            continue
        tables.append({
            "table": d.table, "only_in": {"left": "old", "right": "new"}.get(d.only_in or ""),
            "old_version": d.left_version, "new_version": d.right_version,
            "added_columns": list(d.added_columns), "removed_columns": list(d.removed_columns),
            "retyped_columns": [{"column": c, "old": o, "new": n}
                                for c, o, n in d.retyped_columns],
        })
    return {"old_version": old.meta.get("schema_version"),
            "new_version": new.meta.get("schema_version"), "tables": tables}


def _parameters(old: _Side, new: _Side) -> list[dict[str, Any]]:
    fields = {"as_of": "as_of", "library.version": "library.version",
              "input.sha256": "input.sha256", "input.rows": "input.rows"}
    a = {f"parameters.{k}": v for k, v in _flatten(old.meta.get("parameters") or {}).items()}
    b = {f"parameters.{k}": v for k, v in _flatten(new.meta.get("parameters") or {}).items()}
    flat_a, flat_b = _flatten(old.meta), _flatten(new.meta)
    for name in fields:
        a[name], b[name] = flat_a.get(name), flat_b.get(name)
    out = []
    for name in sorted(set(a) | set(b)):
        if json.dumps(a.get(name), sort_keys=True) != json.dumps(b.get(name), sort_keys=True):
            out.append({"parameter": name.removeprefix("parameters."), "old": a.get(name),
                        "new": b.get(name)})
    return out


def compare_runs(
    old: str | os.PathLike[str] | Analysis, new: str | os.PathLike[str] | Analysis, *,
    max_moved_share: float = 0.01, rtol: float = 1e-5, atol: float = 1e-8,
    atol_money: float = 0.005,
) -> RunDiff:
    """Compare two runs of the analysis: label moves, headline figures, schema, parameters.

    Parameters
    ----------
    old, new : path-like or Analysis
        Export folders (``Analysis.export``, ``rfm-loyalty analyze --out``;
        Parquet is read when present, else CSV, JSON or XLSX) or results of
        :func:`~rfm_loyalty.analysis.analyze`.
    max_moved_share : float, default 0.01
        Largest share of customers (common to both runs) that may change
        segment, lifecycle cohort or tier, and largest share of customers
        that may appear or disappear, before the runs count as changed.
    rtol, atol : float, default 1e-5 and 1e-8
        Tolerances of the headline figures that are not money.
    atol_money : float, default 0.005
        Amounts of money agree when they differ by at most ``2 *
        atol_money`` (one cent by default).

    Returns
    -------
    RunDiff
        The report: ``to_text()``, ``to_markdown()``, ``to_dict()`` /
        ``to_json()``, the gate ``exit_code`` and its ``reasons``.

    Raises
    ------
    FileNotFoundError
        A path is not an export folder (no ``metadata.json``).

    Examples
    --------
    >>> from rfm_loyalty import analyze, LifecycleRules
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> base = analyze(load_sample_orders())
    >>> compare_runs(base, base).summary
    'no change: the two runs give the same tables'
    >>> moved = compare_runs(base, analyze(load_sample_orders(),
    ...                                    lifecycle=LifecycleRules(window_days=30)))
    >>> moved.exit_code, moved.labels[1]["label"], moved.labels[1]["moved"]
    (1, 'lifecycle', 57)
    >>> moved.labels[1]["transitions"][0]
    {'from': 'active', 'to': 'cooling', 'customers': 29}
    """
    share = check(max_moved_share, Fraction(), name="max_moved_share", owner="compare_runs")
    tol = Tolerance(rtol, atol, atol_money)
    a, b = _side(old, "old"), _side(new, "new")
    if (a.fmt in ("csv", "xlsx")) != (b.fmt in ("csv", "xlsx")):
        # text read from CSV/XLSX carries the formula neutralisation: compare like with like
        if a.fmt in ("csv", "xlsx"):
            b = _Side(b.source, b.kind, {n: neutralize_formulas(t) for n, t in b.tables.items()},
                      b.meta, b.fmt)
        else:
            a = _Side(a.source, a.kind, {n: neutralize_formulas(t) for n, t in a.tables.items()},
                      a.meta, a.fmt)
    diffs = compare_tables(a.tables, b.tables, tol, left_meta=a.meta, right_meta=b.meta)
    by_table = {d.table: d for d in diffs}
    cust = by_table.get("customers")
    common = cust.common_rows if cust is not None and not cust.only_in else 0
    added = cust.only_right if cust is not None else 0
    removed = cust.only_left if cust is not None else 0
    n_old = len(a.tables.get("customers", ()))
    n_new = len(b.tables.get("customers", ()))
    union = common + added + removed
    customers = {"old": n_old, "new": n_new, "common": common, "added": added,
                 "removed": removed, "turnover_share": (added + removed) / union if union else 0.0}
    reasons = []
    if customers["turnover_share"] > share:
        reasons.append(f"customers: {added:,} added and {removed:,} removed "
                       f"({_pct(customers['turnover_share'])}, more than {_pct(share)})")
    labels = []
    for label in LABELS:
        if cust is None or label not in cust.transitions:
            continue
        moved = cust.label_changes[label]
        moved_share = moved / common if common else 0.0
        labels.append({
            "label": label, "counts": _label_counts(a, b, label), "moved": moved,
            "moved_share": moved_share,
            "transitions": [{"from": str(r["from"]), "to": str(r["to"]),
                             "customers": int(r["customers"])}
                            for r in cust.transitions[label].to_dict("records")],
        })
        if moved_share > share:
            reasons.append(f"{label}: {moved:,} of {common:,} customers ({_pct(moved_share)}) "
                           f"changed label, more than {_pct(share)}")
    headline = _headline(a, b, tol)
    reasons += [f"{h['metric']}: {_figure(h['old'], h['metric'])} -> "
                f"{_figure(h['new'], h['metric'])} beyond tolerance"
                for h in headline if not h["within_tolerance"]]
    found = sorted(((d, c) for d in diffs for c in d.columns),
                   key=lambda dc: (-dc[1].rows, dc[0].table, dc[1].column))
    drifts = [{"table": d.table, "column": c.column, "rows": c.rows,
               "largest": None if c.largest is None or math.isnan(c.largest) else c.largest,
               "at": c.at} for d, c in found[:_TOP_DRIFTS]]
    parameters = _parameters(a, b)
    return RunDiff(
        old=a.describe(), new=b.describe(),
        tolerances={"max_moved_share": share, "rtol": tol.rtol, "atol": tol.atol,
                    "atol_money": tol.atol_money},
        customers=customers, labels=labels, headline=headline, schema=_schema(a, b, diffs),
        parameters=parameters, drifts=drifts, reasons=reasons,
        changed=any(d.changed for d in diffs) or bool(parameters), _tables=diffs,
    )

