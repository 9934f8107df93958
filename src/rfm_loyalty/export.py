"""Hand the analysis to other tools: files, a database, campaign lists, provenance.

Every exported table has a fixed column schema with a version
(:data:`SCHEMAS`, documented in ``docs/export.md``; a test fails when a
column changes without a version change). Tables are flattened for other
tools: the index becomes the first column, categories become text, dates
are calendar timestamps. Each export writes ``metadata.json`` beside the
tables with the schema versions, ``as_of``, every parameter, the library
version, the input row counts and the SHA-256 of the input.

CSV and XLSX are opened by spreadsheets, which run a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula. Customer
ids come from the outside, so text cells that start with one of those
characters are written with a leading single quote (``'=1+1``), the OWASP
recommendation. Numbers are never touched: ``-5.0`` stays a number.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from rfm_loyalty.analysis import Analysis

__all__ = [
    "FORMATS",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "Column",
    "TableSchema",
    "campaign_table",
    "export_analysis",
    "export_tables",
    "neutralize_formulas",
    "read_export",
    "read_sql",
    "schema_hash",
    "schema_markdown",
    "write_sql",
]

#: Version of the set of exported schemas; bumped whenever a table's version is.
SCHEMA_VERSION = 1
#: File formats of :func:`export_analysis`, with their file extension.
FORMATS: Mapping[str, str] = MappingProxyType(
    {"csv": "csv", "parquet": "parquet", "json": "json", "xlsx": "xlsx"}
)
_DTYPES = ("text", "int64", "float64", "bool", "datetime")
_WHEN = ("always", "profit", "models")
# Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_PREFIX = re.compile(r"^([a-z_][a-z0-9_]{0,29})?$")
_TEXT = pd.Series(["x"]).dtype  # object on pandas 2.2, str on pandas 3


@dataclass(frozen=True)
class Column:
    """One exported column.

    Attributes
    ----------
    name : str
    dtype : {"text", "int64", "float64", "bool", "datetime"}
    meaning : str
    when : {"always", "profit", "models"}
        Present always, only with a cost input, or only with ``models=True``.
    """

    name: str
    dtype: str
    meaning: str
    when: str = "always"

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES or self.when not in _WHEN:
            raise ValueError(f"Bad column spec {self!r}: dtype in {_DTYPES}, when in {_WHEN}.")


@dataclass(frozen=True)
class TableSchema:
    """Columns, version and meaning of one exported table.

    Attributes
    ----------
    name : str
        Table (and file) name.
    version : int
        Schema version; bumped with any change of the columns.
    description : str
    columns : tuple of Column
    when : {"always", "profit", "models"}
        Whether the table is written always or only with a cost input/models.
    """

    name: str
    version: int
    description: str
    columns: tuple[Column, ...]
    when: str = "always"


def _c(name: str, dtype: str, meaning: str, when: str = "always") -> Column:
    return Column(name, dtype, meaning, when)


_SUMMARY_COLUMNS = (
    _c("customers", "int64", "customers in the group"),
    _c("customer_share", "float64", "customers / all customers"),
    _c("revenue", "float64", "sum of monetary_total"),
    _c("revenue_share", "float64", "revenue / total revenue"),
    _c("mean_recency_days", "float64", "mean days since the last purchase (NaN when empty)"),
    _c("mean_frequency", "float64", "mean number of purchases"),
    _c("mean_monetary", "float64", "mean monetary_total"),
    _c("profit", "float64", "summed profit", "profit"),
    _c("profit_share", "float64", "profit / total profit (NaN when the total <= 0)", "profit"),
)

#: Every exported table, in export order.
SCHEMAS: Mapping[str, TableSchema] = MappingProxyType({s.name: s for s in (
    TableSchema("customers", 1, "One row per customer with a purchase: every score and label.", (
        _c("customer_id", "text", "customer id"),
        _c("first_purchase", "datetime", "day of the first purchase"),
        _c("last_purchase", "datetime", "day of the last purchase"),
        _c("recency_days", "int64", "as_of - last_purchase, days"),
        _c("tenure_days", "int64", "as_of - first_purchase, days"),
        _c("active_span_days", "int64", "last_purchase - first_purchase, days"),
        _c("frequency", "int64", "number of purchases"),
        _c("purchase_days", "int64", "distinct days with a purchase"),
        _c("monetary_total", "float64", "net amount of all orders (returns netted)"),
        _c("monetary_mean", "float64", "monetary_total / frequency"),
        _c("r_score", "int64", "recency score, higher = more recent"),
        _c("f_score", "int64", "frequency score"),
        _c("m_score", "int64", "monetary score"),
        _c("rfm_code", "text", "the three scores, e.g. 545"),
        _c("rfm_score", "int64", "r_score + f_score + m_score"),
        _c("segment", "text", "RFM segment name"),
        _c("lifecycle", "text", "lifecycle cohort (new, active, returning, cooling, ...)"),
        _c("lifecycle_zh", "text", "Chinese name of the cohort"),
        _c("action", "text", "marketing action of the cohort"),
        _c("action_zh", "text", "marketing action in Chinese"),
        _c("lifecycle_rule", "text", "the lifecycle rule that applied, in words"),
        _c("purchases_in_window", "int64", "purchases in the lifecycle window"),
        _c("purchases_before_window", "int64", "purchases before the window"),
        _c("churned", "bool", "days since the last purchase > churn_days"),
        _c("median_gap_days", "float64", "median days between purchase days (NaN: one day)"),
        _c("silence_in_gaps", "float64", "recency_days / median_gap_days"),
        _c("profit", "float64", "customer profit after cost-to-serve", "profit"),
        _c("tier", "text", "profitable, break_even or resource_wasting", "profit"),
        _c("p_alive", "float64", "BG/NBD probability the customer is alive", "models"),
        _c("expected_purchases", "float64", "expected purchases over horizon_months",
           "models"),
        _c("clv", "float64", "discounted expected revenue over horizon_months (NaN when "
           "Gamma-Gamma could not be fitted)", "models"),
    )),
    TableSchema("segments", 1, "One row per RFM segment, in rule order (Other last).", (
        _c("segment", "text", "segment name"),
        *_SUMMARY_COLUMNS,
        _c("description", "text", "who the customers are"),
        _c("action", "text", "what marketing does with them"),
    )),
    TableSchema("lifecycle", 1, "One row per lifecycle cohort, in lifecycle order.", (
        _c("lifecycle", "text", "cohort label"),
        _c("lifecycle_zh", "text", "Chinese name"),
        *_SUMMARY_COLUMNS,
        _c("action", "text", "marketing action"),
        _c("action_zh", "text", "marketing action in Chinese"),
        _c("rule", "text", "the cohort's rule in words"),
    )),
    TableSchema("campaigns_lifecycle", 1,
                "Campaign list: every customer with its lifecycle cohort and action, "
                "sorted by cohort then customer id.", (
        _c("customer_id", "text", "customer id"),
        _c("label", "text", "lifecycle cohort"),
        _c("label_zh", "text", "Chinese name of the cohort"),
        _c("action", "text", "marketing action"),
        _c("action_zh", "text", "marketing action in Chinese"),
    )),
    TableSchema("campaigns_segment", 1,
                "Campaign list: every customer with its RFM segment and action, sorted by "
                "segment then customer id.", (
        _c("customer_id", "text", "customer id"),
        _c("label", "text", "RFM segment"),
        _c("action", "text", "marketing action of the segment"),
    )),
    TableSchema("quality", 1, "Accounting of the input rows and amounts.", (
        _c("item", "text", "rows_in, rows_used, dropped:<reason>"),
        _c("rows", "int64", "input rows"),
        _c("amount", "float64", "sum of their amounts"),
    )),
    TableSchema("summary", 1, "Key figures, one per row (NaN when undefined).", (
        _c("metric", "text", "name of the figure (see docs/export.md)"),
        _c("value", "float64", "its value"),
    )),
    TableSchema("pareto", 1, "Revenue concentration curve, customers ranked by revenue.", (
        _c("rank", "int64", "number of top customers included (0 = origin)"),
        _c("customer_share", "float64", "rank / customers"),
        _c("cumulative_value", "float64", "revenue of the rank best customers"),
        _c("value_share", "float64", "cumulative_value / total revenue"),
    )),
    TableSchema("whale", 1, "Whale curve: cumulative profit, customers ranked by profit.", (
        _c("rank", "int64", "number of top customers included (0 = origin)"),
        _c("customer_share", "float64", "rank / customers"),
        _c("cumulative_profit", "float64", "profit of the rank best customers"),
        _c("profit_share", "float64", "cumulative_profit / total profit"),
    ), when="profit"),
    TableSchema("tiers", 1, "20/60/20 profit tiers with their actions, best first.", (
        _c("tier", "text", "profitable, break_even, resource_wasting"),
        _c("n_customers", "int64", "customers in the tier"),
        _c("customer_share", "float64", "n_customers / customers"),
        _c("profit", "float64", "summed profit"),
        _c("profit_share", "float64", "profit / total profit"),
        _c("name_zh", "text", "Chinese name of the tier"),
        _c("action", "text", "recommended action"),
        _c("action_zh", "text", "recommended action in Chinese"),
    ), when="profit"),
    TableSchema("churn", 1, "Churn rate and revenue at risk per RFM segment.", (
        _c("segment", "text", "segment name"),
        _c("customers", "int64", "customers in the segment"),
        _c("churned", "int64", "of them churned"),
        _c("churn_rate", "float64", "churned / customers"),
        _c("recent_revenue", "float64", "net revenue in the last revenue window"),
        _c("at_risk_customers", "int64", "customers now cooling or in recovery"),
        _c("revenue_at_risk", "float64", "their recent revenue"),
        _c("revenue_at_risk_share", "float64", "share of all revenue at risk"),
    )),
    TableSchema("retention", 1, "Acquisition-cohort retention, long format (observed cells).", (
        _c("cohort", "text", "acquisition period, e.g. 2024-01"),
        _c("cohort_size", "int64", "customers acquired in the period"),
        _c("period", "int64", "periods since acquisition"),
        _c("retention", "float64", "share of the cohort buying in that period"),
    )),
    TableSchema("flow", 1, "Customer flow per period (the leaky bucket).", (
        _c("period", "text", "the period, e.g. 2024-01"),
        _c("period_end", "datetime", "date activity is measured at"),
        _c("active_start", "int64", "active at the previous period's end"),
        _c("new", "int64", "first purchase in the period"),
        _c("retained", "int64", "active at both ends"),
        _c("reactivated", "int64", "lapsed customers who bought again"),
        _c("churned", "int64", "active at the start, not at the end"),
        _c("active_end", "int64", "active at the period's end"),
        _c("churn_rate", "float64", "churned / active_start"),
        _c("revenue_new", "float64", "revenue of customers acquired in the period"),
        _c("revenue_existing", "float64", "revenue of earlier customers"),
    )),
    TableSchema("model_parameters", 1, "Fitted BG/NBD and Gamma-Gamma parameters.", (
        _c("model", "text", "bgnbd or gamma_gamma"),
        _c("parameter", "text", "r, alpha, a, b / p, q, gamma"),
        _c("estimate", "float64", "maximum-likelihood estimate"),
        _c("standard_error", "float64", "delta-method standard error"),
        _c("lower_95", "float64", "95% interval, lower end"),
        _c("upper_95", "float64", "95% interval, upper end"),
    ), when="models"),
)})


# --------------------------------------------------------------------------- #
# schema documentation and fingerprint
# --------------------------------------------------------------------------- #
def schema_hash(name: str | None = None) -> str:
    """SHA-256 (first 16 hex digits) of a table's columns (name, dtype, when).

    The meanings are left out, so rewording the documentation never needs a
    version change; renaming, adding, removing, reordering or retyping a
    column changes the hash.

    Parameters
    ----------
    name : str, optional
        A table of :data:`SCHEMAS`; None hashes all tables together.

    Returns
    -------
    str
    """
    tables = [SCHEMAS[name]] if name is not None else list(SCHEMAS.values())
    spec = [[t.name, t.when, [[c.name, c.dtype, c.when] for c in t.columns]] for t in tables]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]


def schema_markdown() -> str:
    """Return the Markdown documentation of every table schema (kept in docs/export.md).

    Returns
    -------
    str
    """
    parts = [f"Schema set version: **{SCHEMA_VERSION}**\n"]
    for t in SCHEMAS.values():
        when = "" if t.when == "always" else f" Written only with {_WHEN_TEXT[t.when]}."
        parts.append(f"### `{t.name}` (schema version {t.version})\n\n{t.description}{when}\n")
        parts.append("| column | dtype | when | meaning |\n|---|---|---|---|")
        parts += [f"| `{c.name}` | {c.dtype} | {c.when} | {c.meaning} |" for c in t.columns]
        parts.append("")
    return "\n".join(parts)


_WHEN_TEXT = {"profit": "a cost input (cost column or margin)", "models": "models=True"}


# --------------------------------------------------------------------------- #
# flat tables
# --------------------------------------------------------------------------- #
def _applies(when: str, analysis: Analysis) -> bool:
    if when == "profit":
        return analysis.profitability is not None
    if when == "models":
        return analysis.models is not None
    return True


def _columns(name: str, analysis: Analysis) -> list[str]:
    return [c.name for c in SCHEMAS[name].columns if _applies(c.when, analysis)]


def campaign_table(analysis: Analysis, *, by: str = "lifecycle") -> pd.DataFrame:
    """Campaign list: customer id, label and action, sorted by label then customer id.

    Parameters
    ----------
    analysis : Analysis
    by : {"lifecycle", "segment"}, default "lifecycle"

    Returns
    -------
    pandas.DataFrame
        The ``campaigns_lifecycle`` or ``campaigns_segment`` table of
        ``docs/export.md``; every column is text.
    """
    if by not in ("lifecycle", "segment"):
        raise ValueError(
            f"Campaign lists are made by 'lifecycle' or 'segment'. Got by={by!r} instead."
        )
    customers = analysis.customers
    label = customers[by]
    frame = pd.DataFrame({"customer_id": customers.index.to_numpy(), "label": label.to_numpy()})
    if by == "lifecycle":
        frame["label_zh"] = customers["lifecycle_zh"].to_numpy()
        frame["action"] = customers["action"].to_numpy()
        frame["action_zh"] = customers["action_zh"].to_numpy()
    else:
        actions = analysis.segments["action"]
        frame["action"] = actions.reindex(label.astype(str).to_numpy()).to_numpy()
    order = np.lexsort((frame["customer_id"].astype(str).to_numpy(), label.cat.codes.to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    return _as_schema(frame, f"campaigns_{by}")


def _summary_rows(analysis: Analysis) -> pd.DataFrame:
    p = analysis.pareto
    q = analysis.quality
    rows: list[tuple[str, float]] = [
        ("customers", float(len(analysis.customers))),
        ("orders", float(q.orders)),
        ("purchases", float(q.purchases)),
        ("revenue_total", float(p.total)),
        ("revenue_top20_share", p.top_share(0.2)),
        ("revenue_customers_for_80", p.customers_for(0.8)),
        ("revenue_gini", np.nan if p.n_negative else p.gini),
    ]
    prof = analysis.profitability
    if prof is not None:
        rows += [
            ("profit_total", prof.total_profit),
            ("profit_top20_share", prof.top20_share),
            ("profit_bottom30_share", prof.bottom30_share),
            ("profit_erosion", prof.erosion),
            ("whale_peak", prof.whale_peak),
            ("whale_peak_at", prof.whale_peak_at),
            ("unprofitable_share", prof.unprofitable_share),
            ("loss_share", prof.loss_share),
        ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def export_tables(analysis: Analysis) -> dict[str, pd.DataFrame]:
    """Return the exported tables, flat, in schema column order and dtypes.

    Parameters
    ----------
    analysis : Analysis

    Returns
    -------
    dict of str to pandas.DataFrame
        Table name -> frame with a default index and exactly the columns of
        its :data:`SCHEMAS` entry that apply (``profit``/``models`` columns
        only when computed); tables that do not apply are absent.
    """
    a = analysis
    raw: dict[str, pd.DataFrame] = {
        "customers": a.customers.reset_index(),
        "segments": a.segments.reset_index(),
        "lifecycle": a.lifecycle.reset_index(),
        "campaigns_lifecycle": campaign_table(a, by="lifecycle"),
        "campaigns_segment": campaign_table(a, by="segment"),
        "quality": a.quality.to_frame().reset_index(),
        "summary": _summary_rows(a),
        "pareto": a.pareto.curve.reset_index(),
        "churn": a.churn.reset_index(),
        "retention": _retention_long(a.retention),
        "flow": a.flow.reset_index(),
    }
    if a.profitability is not None:
        raw["whale"] = a.profitability.whale.reset_index()
        raw["tiers"] = a.profitability.tier_summary.reset_index()
    if a.models is not None:
        raw["model_parameters"] = a.models.parameters
    return {name: _as_schema(raw[name], name, a) for name in SCHEMAS if name in raw}


def _retention_long(matrix: pd.DataFrame) -> pd.DataFrame:
    sizes = matrix["cohort_size"]
    cells = matrix.drop(columns=["cohort_size"])
    cells.columns = [int(c) for c in cells.columns]
    stacked: Any = cells.stack()  # a Series: the columns are a flat index
    long = stacked.rename_axis(["cohort", "period"]).reset_index(name="retention")
    long = long[long["retention"].notna()]
    long.insert(1, "cohort_size", sizes.reindex(long["cohort"]).to_numpy())
    return long.reset_index(drop=True)


def _as_schema(frame: pd.DataFrame, name: str, analysis: Analysis | None = None) -> pd.DataFrame:
    specs = [c for c in SCHEMAS[name].columns if analysis is None or _applies(c.when, analysis)]
    missing = [c.name for c in specs if c.name not in frame.columns]
    if missing:  # a module changed its output: say so rather than export a wrong table
        raise RuntimeError(f"Table {name!r} lacks the schema columns {missing!r}.")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for spec in specs:
        out[spec.name] = _coerce(frame[spec.name].reset_index(drop=True), spec.dtype)
    out.attrs = {}
    return out


def _coerce(values: pd.Series, dtype: str) -> pd.Series:
    if dtype == "text":
        if isinstance(values.dtype, pd.PeriodDtype):
            values = values.astype(str)
        text = values.astype(object).where(values.notna(), "")
        return text.map(str).astype(_TEXT)
    if dtype == "datetime":
        return pd.to_datetime(values).astype("datetime64[ns]")
    if dtype == "bool":
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            return values.astype(str).str.lower().map({"true": True, "false": False}).astype(bool)
        return values.astype(bool)
    if dtype == "int64":
        return pd.to_numeric(values).astype("int64")
    return pd.to_numeric(values).astype("float64")


# --------------------------------------------------------------------------- #
# files
# --------------------------------------------------------------------------- #
def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a single quote to text cells a spreadsheet would run as a formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets a leading ``'``. Numeric, boolean and date columns are left
    as they are, so negative numbers stay numbers.

    Parameters
    ----------
    frame : pandas.DataFrame
        Not modified.

    Returns
    -------
    pandas.DataFrame
        A copy with the text cells neutralised.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"customer_id": ["=1+1", "@SUM(A1)", "C01"], "amount": [-5.0, 1.0, 2.0]})
    >>> neutralize_formulas(f)
      customer_id  amount
    0       '=1+1    -5.0
    1   '@SUM(A1)     1.0
    2         C01     2.0
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            text = values.astype(object)
            is_text = text.map(lambda v: isinstance(v, str)).astype(bool)
            risky = is_text & text.where(is_text, "").astype(str).str.startswith(_FORMULA_START)
            if risky.any():
                quoted = text.where(~risky, "'" + text.where(risky, "").astype(str))
                out[column] = quoted.astype(values.dtype)
    return out


def _check_formats(format: str | Sequence[str]) -> list[str]:
    formats = [format] if isinstance(format, str) else list(format)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"The 'format' parameter of export must be one of {list(FORMATS)!r} or a list of "
            f"them. Got {format!r} instead."
        )
    return list(dict.fromkeys(formats))


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        neutralize_formulas(frame).to_csv(path, index=False, encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "json":
        records = _json_records(frame)
        path.write_text(json.dumps(records, ensure_ascii=False, allow_nan=False) + "\n",
                        encoding="utf-8")
    else:
        neutralize_formulas(frame).to_excel(path, index=False, engine="openpyxl")


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            listed: list[Any] = [None if pd.isna(v) else v.isoformat() for v in values]
        else:
            listed = values.astype(object).where(values.notna(), None).tolist()
        # numpy scalars -> Python, NaN -> None (JSON has no NaN)
        columns[str(name)] = [_plain(v) for v in listed]
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def metadata(analysis: Analysis, tables: Mapping[str, pd.DataFrame],
             files: Sequence[str] = ()) -> dict[str, Any]:
    """Return the provenance record written as ``metadata.json``.

    Parameters
    ----------
    analysis : Analysis
    tables : mapping of str to DataFrame
        The exported tables (for their row counts and columns).
    files : sequence of str
        File names written.

    Returns
    -------
    dict
        ``schema_version``, ``tables`` (per table: ``schema_version``, ``rows``,
        ``columns``), ``as_of``, ``parameters``, ``library`` (name, version),
        ``input`` (source, sha256, sha256_of, rows, rows_used, rows_dropped,
        orders, customers), ``formula_neutralisation``, ``created_utc``, ``files``.
    """
    from rfm_loyalty import __version__

    q = analysis.quality
    return {
        "schema_version": SCHEMA_VERSION,
        "tables": {
            name: {"schema_version": SCHEMAS[name].version, "rows": len(frame),
                   "columns": [str(c) for c in frame.columns]}
            for name, frame in tables.items()
        },
        "as_of": str(analysis.as_of.date()),
        "parameters": dict(analysis.params),
        "library": {"name": "rfm-loyalty", "version": __version__,
                    "pandas": pd.__version__},
        "input": {
            "source": analysis.input.source,
            "sha256": analysis.input.sha256,
            "sha256_of": analysis.input.sha256_of,
            "rows": analysis.input.rows,
            "rows_used": q.rows_used,
            "rows_dropped": {k: int(v) for k, v in q.dropped.items()},
            "orders": q.orders,
            "customers": q.customers,
        },
        "formula_neutralisation": "CSV and XLSX text cells starting with = + - @ tab or CR "
                                  "are prefixed with a single quote",
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "files": list(files),
    }


def export_analysis(
    analysis: Analysis, path: str | os.PathLike[str], *, format: str | Sequence[str] = "csv"
) -> list[Path]:
    """Write every table as ``<table>.<ext>`` plus ``metadata.json`` into a folder.

    Parameters
    ----------
    analysis : Analysis
    path : path-like
        Folder, created when missing. Existing files of the same names are
        overwritten.
    format : {"csv", "parquet", "json", "xlsx"} or a sequence of them, default "csv"
        CSV: UTF-8, a header row, ISO dates, formula-neutralised text.
        Parquet: typed columns. JSON: a list of records per file (UTF-8,
        ISO dates, null for missing). XLSX: one workbook per table,
        formula-neutralised text.

    Returns
    -------
    list of pathlib.Path
        The files written, ``metadata.json`` last.

    Examples
    --------
    >>> import tempfile
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> result = analyze(make_orders(50, random_state=1), n_bins=3)
    >>> files = export_analysis(result, tempfile.mkdtemp(), format="csv")
    >>> [f.name for f in files][:3], files[-1].name
    (['customers.csv', 'segments.csv', 'lifecycle.csv'], 'metadata.json')
    """
    formats = _check_formats(format)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tables = export_tables(analysis)
    written: list[Path] = []
    for fmt in formats:
        for name, frame in tables.items():
            target = folder / f"{name}.{FORMATS[fmt]}"
            _write(frame, target, fmt)
            written.append(target)
    meta = metadata(analysis, tables, [p.name for p in written])
    meta_path = folder / "metadata.json"
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written.append(meta_path)
    return written


def read_export(path: str | os.PathLike[str], table: str, *, format: str = "csv") -> pd.DataFrame:
    """Read an exported table back with its schema's dtypes.

    Text cells are returned as written: a neutralised CSV/XLSX cell keeps
    its leading quote.

    Parameters
    ----------
    path : path-like
        The export folder.
    table : str
        A name in :data:`SCHEMAS`.
    format : {"csv", "parquet", "json", "xlsx"}, default "csv"

    Returns
    -------
    pandas.DataFrame
        Default index; the columns found in the file, in the schema's dtypes.
    """
    if table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}; the tables are {list(SCHEMAS)!r}.")
    fmt = _check_formats(format)[0]
    file = Path(path) / f"{table}.{FORMATS[fmt]}"
    if fmt == "csv":
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
        frame = frame.replace({"": None}) if len(frame) else frame
    elif fmt == "parquet":
        frame = pd.read_parquet(file)
    elif fmt == "json":
        frame = pd.DataFrame(json.loads(file.read_text(encoding="utf-8")))
        if frame.empty:
            frame = pd.DataFrame(columns=[c.name for c in SCHEMAS[table].columns])
    else:
        frame = pd.read_excel(file, engine="openpyxl")
    return _typed(frame, table)


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for spec in SCHEMAS[table].columns:
        if spec.name in frame.columns:
            out[spec.name] = _coerce(frame[spec.name].reset_index(drop=True), spec.dtype)
    return out


# --------------------------------------------------------------------------- #
# SQL
# --------------------------------------------------------------------------- #
def _table_name(prefix: str, name: str) -> str:
    full = f"{prefix}{name}"
    if not _NAME.fullmatch(full):
        raise ValueError(
            f"Table name {full!r} is not allowed: use lower-case letters, digits and '_', "
            "starting with a letter or '_', at most 63 characters."
        )
    return full


def _sql_types(table: str) -> dict[str, Any]:
    import sqlalchemy as sa

    types = {"text": sa.Text(), "int64": sa.BigInteger(), "float64": sa.Double(),
             "bool": sa.Boolean(), "datetime": sa.DateTime()}
    return {c.name: types[c.dtype] for c in SCHEMAS[table].columns}


def write_sql(
    analysis: Analysis, url_or_engine: str | Engine, *, prefix: str = "rfm_",
    if_exists: str = "fail",
) -> list[str]:
    """Write every table and a ``<prefix>metadata`` table through SQLAlchemy, atomically.

    Table names are ``prefix + table`` (e.g. ``rfm_customers``), checked
    against ``^[a-z_][a-z0-9_]{0,62}$`` and passed to SQLAlchemy as quoted
    identifiers, never pasted into SQL text. Column types follow the schema
    (TEXT, BIGINT, DOUBLE, BOOLEAN, TIMESTAMP). Everything is written in
    one transaction.

    Parameters
    ----------
    analysis : Analysis
    url_or_engine : str or sqlalchemy.engine.Engine
    prefix : str, default "rfm_"
        Lower-case letters, digits and ``_``, at most 30 characters; may be "".
    if_exists : {"fail", "replace", "append"}, default "fail"
        ``"fail"`` raises before writing anything when one of the tables exists.

    Returns
    -------
    list of str
        The tables written, metadata last.

    Examples
    --------
    >>> from rfm_loyalty.analysis import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> result = analyze(make_orders(50, random_state=1), n_bins=3)
    >>> write_sql(result, "sqlite://")[:2]
    ['rfm_customers', 'rfm_segments']
    """
    import sqlalchemy as sa

    if if_exists not in ("fail", "replace", "append"):
        raise ValueError(
            "The 'if_exists' parameter of to_sql must be 'fail', 'replace' or 'append'. "
            f"Got {if_exists!r} instead."
        )
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(
            "The 'prefix' parameter of to_sql must be lower-case letters, digits and '_' "
            f"(at most 30, not starting with a digit), e.g. 'rfm_'. Got {prefix!r} instead."
        )
    tables = export_tables(analysis)
    names = {name: _table_name(prefix, name) for name in tables}
    meta_name = _table_name(prefix, "metadata")
    meta = metadata(analysis, tables, list(names.values()))
    meta_frame = pd.DataFrame(
        {"key": list(meta), "value": [json.dumps(v, ensure_ascii=False) for v in meta.values()]}
    )
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.begin() as conn:
            if if_exists == "fail":
                inspector = sa.inspect(conn)
                existing = [n for n in [*names.values(), meta_name] if inspector.has_table(n)]
                if existing:
                    raise ValueError(
                        f"Tables {existing!r} already exist. Pass if_exists='replace' to "
                        "overwrite them, 'append' to add rows, or another prefix."
                    )
            mode: Any = if_exists
            for name, frame in tables.items():
                frame.to_sql(names[name], conn, if_exists=mode, index=False,
                             dtype=_sql_types(name), chunksize=5000)
            meta_frame.to_sql(meta_name, conn, if_exists=mode, index=False,
                              dtype={"key": sa.Text(), "value": sa.Text()})
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
    return [*names.values(), meta_name]


def read_sql(url_or_engine: str | Engine, table: str, *, prefix: str = "rfm_") -> pd.DataFrame:
    """Read a table written by :func:`write_sql` back with its schema's dtypes.

    Parameters
    ----------
    url_or_engine : str or sqlalchemy.engine.Engine
    table : str
        A name in :data:`SCHEMAS`, or ``"metadata"`` (returns key and the
        JSON-decoded value).
    prefix : str, default "rfm_"

    Returns
    -------
    pandas.DataFrame
    """
    import sqlalchemy as sa

    if table != "metadata" and table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}; the tables are {list(SCHEMAS)!r}.")
    name = _table_name(prefix, table)
    engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        with engine.connect() as conn:
            frame = pd.read_sql_table(name, conn)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
    if table == "metadata":
        frame["value"] = frame["value"].map(json.loads)
        return frame
    return _typed(frame, table)
