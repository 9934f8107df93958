"""The flat tables of an export and their provenance record, built from an Analysis.

Tables are flattened for other tools: the index becomes the first column,
categories become text, dates are calendar timestamps, and every table has
exactly the columns of its schema (:mod:`rfm_loyalty._schemas`) that apply.
The file and database writers (:mod:`rfm_loyalty.export`,
:mod:`rfm_loyalty._sql_export`) write these tables and nothing else. The
public names are re-exported by :mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._schemas import SCHEMA_VERSION, SCHEMAS, as_schema
from rfm_loyalty._views import provide

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis


@provide("campaign_table")
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

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.analysis import analyze
    >>> lines = pd.DataFrame({
    ...     "customer_id": ["c", "b", "b", "a"],
    ...     "order_date": ["2024-03-01", "2024-01-05", "2024-06-25", "2024-06-20"],
    ...     "amount": [30.0, 20.0, 15.0, 10.0]})
    >>> result = analyze(lines, as_of="2024-06-30", n_bins=2)
    >>> campaign_table(result)[["customer_id", "label", "action"]]
      customer_id          label                                             action
    0           a            new                  Campaign for the second purchase.
    1           b      returning  Welcome back: thank them and recommend from pa...
    2           c  high_recovery    Regular promotions first, care messages second.
    >>> list(campaign_table(result, by="segment").columns)
    ['customer_id', 'label', 'action']
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
    return as_schema(frame, f"campaigns_{by}")


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

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.analysis import analyze
    >>> lines = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": ["2024-06-20", "2024-01-05", "2024-06-25", "2024-03-01"],
    ...     "amount": [10.0, 20.0, 15.0, 30.0]})
    >>> tables = export_tables(analyze(lines, as_of="2024-06-30", n_bins=2))
    >>> list(tables)
    ['customers', 'segments', 'lifecycle', 'campaigns_lifecycle', 'campaigns_segment', 'quality',
     'summary', 'pareto', 'churn', 'retention', 'flow']
    >>> tables["customers"][["customer_id", "last_purchase", "recency_days", "monetary_total"]]
      customer_id last_purchase  recency_days  monetary_total
    0           a    2024-06-20            10            10.0
    1           b    2024-06-25             5            35.0
    2           c    2024-03-01           121            30.0
    >>> tables["summary"].head(4)
              metric  value
    0      customers    3.0
    1         orders    4.0
    2      purchases    4.0
    3  revenue_total   75.0

    ``whale``, ``tiers`` and the profit columns need a cost input (``margin=`` or
    a cost column), ``model_parameters`` needs ``models=True``. For an engine
    source (``Analysis.order_level_note``) ``churn``, ``retention`` and
    ``flow`` are written with their columns and no row.
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
    return {name: as_schema(raw[name], name, a) for name in SCHEMAS if name in raw}


def _retention_long(matrix: pd.DataFrame) -> pd.DataFrame:
    if matrix.empty:  # an engine source has no cohorts: the schema's columns, no row
        return pd.DataFrame({name: [] for name in ("cohort", "cohort_size", "period",
                                                   "retention")})
    sizes = matrix["cohort_size"]
    cells = matrix.drop(columns=["cohort_size"])
    cells.columns = [int(c) for c in cells.columns]
    stacked: Any = cells.stack()  # a Series: the columns are a flat index
    long = stacked.rename_axis(["cohort", "period"]).reset_index(name="retention")
    long = long[long["retention"].notna()]
    long.insert(1, "cohort_size", sizes.reindex(long["cohort"]).to_numpy())
    return long.reset_index(drop=True)



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
    from rfm_loyalty._version import __version__

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
