"""The flat tables of an export and their provenance record, built from an Analysis.

Tables are flattened for other tools: the index becomes the first column,
categories become text, dates are calendar timestamps, and every table has
exactly the columns of its schema (:mod:`rfm_loyalty._schemas`) that apply,
in the row order the schema states. They are built once as Arrow tables
(:func:`arrow_tables`), which the file writers write; :func:`export_tables`
is their pandas view, which the database writer writes. The public names are
re-exported by :mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rfm_loyalty._schemas import SCHEMA_VERSION, SCHEMAS, arrow_column, to_arrow, to_frame
from rfm_loyalty._views import provide
from rfm_loyalty.concentration import curve_points

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

#: Rows of the summary table that are amounts of money (the others are counts and shares).
SUMMARY_MONEY = ("revenue_total", "profit_total")


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
        ``docs/export.md``; every column is text. Rows: labels in their order
        (lifecycle order, or the segment rules' order), then customer ids
        compared as text.

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
    customers = _customer_table(analysis, _CAMPAIGN_COLUMNS[by])
    return to_frame(_campaign_arrow(analysis, by, customers))


_CAMPAIGN_COLUMNS = {"lifecycle": ("lifecycle", "lifecycle_zh", "action", "action_zh"),
                     "segment": ("segment",)}


def _campaign_arrow(analysis: Analysis, by: str, customers: pa.Table) -> pa.Table:
    """Build the campaign list from the customers' Arrow table (rows in customer-id order)."""
    ids = customers.column("customer_id")
    label = customers.column(by).combine_chunks()  # dictionary-encoded: one code per label
    codes = label.indices.to_numpy(zero_copy_only=False)
    index = analysis.customers.index
    if pd.api.types.is_string_dtype(index.dtype) or index.dtype == object:
        by_text = np.arange(len(codes))  # text ids in id order are in text order
    else:
        by_text = pc.sort_indices(ids).to_numpy()
    order = pa.array(by_text[np.argsort(codes[by_text], kind="stable")])
    names = ["customer_id", "label"]
    columns = [ids.take(order), label.take(order)]
    if by == "lifecycle":
        names += ["label_zh", "action", "action_zh"]
        columns += [customers.column(c).take(order) for c in ("lifecycle_zh", "action",
                                                               "action_zh")]
    else:  # the segment's action, looked up once per segment
        actions = analysis.segments["action"]
        per_label = [str(actions.get(v, "")) for v in label.dictionary.to_pylist()]
        names.append("action")
        columns.append(pa.DictionaryArray.from_arrays(label.indices, pa.array(per_label,
                                                                               pa.string()))
                       .take(order))
    return pa.Table.from_arrays(columns, names=names)


def _customer_table(analysis: Analysis, columns: Sequence[str] | None = None) -> pa.Table:
    """Return the customers as Arrow in customer-id order (only ``columns`` and the id if given)."""
    customers = analysis.customers
    ids = customers.index
    order: np.ndarray | None = None
    if not ids.is_monotonic_increasing:  # the documented order, whatever the producer did
        try:
            order = np.argsort(ids.to_numpy(), kind="stable")
        except TypeError:  # ids of mixed types: by their text
            order = np.argsort(ids.astype(str).to_numpy(dtype=str), kind="stable")
    if columns is None:
        source: dict[str, Any] = {"customer_id": ids}
        source.update({str(name): customers[name] for name in customers.columns})
        table = to_arrow(source, "customers", analysis)
    else:
        table = pa.Table.from_arrays(
            [arrow_column(ids, "text"), *(arrow_column(customers[c], "text") for c in columns)],
            names=["customer_id", *columns])
    return table if order is None else table.take(pa.array(order))


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


def arrow_tables(analysis: Analysis) -> dict[str, pa.Table]:
    """Return the exported tables as Arrow tables, in export order (see :func:`export_tables`)."""
    a = analysis
    customers = _customer_table(a)
    tables: dict[str, pa.Table] = {
        "customers": customers,
        "segments": to_arrow(a.segments.reset_index(), "segments", a),
        "lifecycle": to_arrow(a.lifecycle.reset_index(), "lifecycle", a),
        "campaigns_lifecycle": _campaign_arrow(a, "lifecycle", customers),
        "campaigns_segment": _campaign_arrow(a, "segment", customers),
        "quality": to_arrow(a.quality.to_frame().reset_index(), "quality", a),
        "summary": to_arrow(_summary_rows(a), "summary", a),
        "pareto": to_arrow(curve_points(a.pareto.curve).reset_index(), "pareto", a),
        "churn": to_arrow(a.churn.reset_index(), "churn", a),
        "retention": to_arrow(_retention_long(a.retention), "retention", a),
        "flow": to_arrow(a.flow.reset_index(), "flow", a),
    }
    if a.profitability is not None:
        tables["whale"] = to_arrow(curve_points(a.profitability.whale).reset_index(), "whale", a)
        tables["tiers"] = to_arrow(a.profitability.tier_summary.reset_index(), "tiers", a)
    if a.models is not None:
        tables["model_parameters"] = to_arrow(a.models.parameters, "model_parameters", a)
    return {name: tables[name] for name in SCHEMAS if name in tables}


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
        only when computed), rows in the order the schema states; tables
        that do not apply are absent.

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
    return {name: to_frame(table) for name, table in arrow_tables(analysis).items()}


def _retention_long(matrix: pd.DataFrame) -> pd.DataFrame:
    if matrix.empty:  # an engine source has no cohorts: the schema's columns, no row
        return pd.DataFrame({name: [] for name in ("cohort", "cohort_size", "period",
                                                   "retention", "complete")})
    sizes = matrix["cohort_size"]
    cells = matrix.drop(columns=["cohort_size"])
    cells.columns = [int(c) for c in cells.columns]
    stacked: Any = cells.stack()  # a Series: the columns are a flat index
    long = stacked.rename_axis(["cohort", "period"]).reset_index(name="retention")
    long = long[long["retention"].notna()]
    long.insert(1, "cohort_size", sizes.reindex(long["cohort"]).to_numpy())
    # a cell is partial when its calendar period (cohort + period) is
    calendar = pd.PeriodIndex(long["cohort"]) + long["period"].to_numpy()
    partial = set(matrix.attrs.get("partial_periods", ()))
    long["complete"] = ~pd.Index(calendar.astype(str)).isin(partial)
    return long.reset_index(drop=True)


def created_utc(timestamp: bool = True) -> str | None:
    """Return the export's timestamp: now, or ``SOURCE_DATE_EPOCH`` when set, or None.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC, the reproducible-builds
    convention) fixes the timestamp so that two runs write identical files.
    """
    if not timestamp:
        return None
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        moment = _dt.datetime.now(_dt.timezone.utc)
    else:
        try:
            seconds = int(epoch)
        except ValueError:
            raise ValueError(
                "The SOURCE_DATE_EPOCH environment variable must be a whole number of seconds "
                f"since 1970-01-01 UTC, e.g. 1700000000. Got {epoch!r}; unset it or fix it."
            ) from None
        moment = _dt.datetime.fromtimestamp(seconds, _dt.timezone.utc)
    return moment.isoformat(timespec="seconds")


def metadata(analysis: Analysis, tables: Mapping[str, Any], files: Sequence[str] = (), *,
             timestamp: bool = True, created: str | None = None) -> dict[str, Any]:
    """Return the provenance record written as ``metadata.json``.

    Parameters
    ----------
    analysis : Analysis
    tables : mapping of str to DataFrame or pyarrow.Table
        The exported tables (for their row counts and columns).
    files : sequence of str
        File names written.
    timestamp : bool, default True
        Record when the export was made (``created_utc``); False writes
        null, so that two exports of the same analysis are identical.
    created : str, optional
        The timestamp to record (from :func:`created_utc`), when the caller
        fixed it already.

    Returns
    -------
    dict
        ``schema_version``, ``tables`` (per table: ``schema_version``, ``rows``,
        ``columns``, ``dtypes``), ``as_of``, ``parameters``, ``library`` (name,
        version, pandas), ``input`` (source, sha256, sha256_of, rows,
        rows_used, rows_dropped, orders, customers), ``population`` (the
        customers with a purchase and with any order, orders, purchases,
        gross sales, returns, net revenue, first and last purchase, as_of:
        :class:`~rfm_loyalty._caveats.Population`), ``caveats`` (a list of
        ``code``, ``severity``, ``message``, ``tables``; empty when there is
        none), ``formula_neutralisation``, ``created_utc``
        (``SOURCE_DATE_EPOCH`` when set; null with ``timestamp=False``),
        ``files``.
    """
    from rfm_loyalty._version import __version__

    q = analysis.quality
    described = {}
    for name, table in tables.items():
        columns = [str(c) for c in (table.column_names if isinstance(table, pa.Table)
                                    else table.columns)]
        dtypes = {c.name: c.dtype for c in SCHEMAS[name].columns}
        described[name] = {"schema_version": SCHEMAS[name].version, "rows": len(table),
                           "columns": columns, "dtypes": {c: dtypes[c] for c in columns}}
    return {
        "schema_version": SCHEMA_VERSION,
        "tables": described,
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
        "population": (analysis.population.to_dict() if analysis.population is not None
                       else None),
        "caveats": [c.to_dict() for c in analysis.caveats],
        "formula_neutralisation": "CSV and XLSX text cells starting with = + - @ tab or CR "
                                  "are prefixed with a single quote",
        "created_utc": created if created is not None else created_utc(timestamp),
        "files": list(files),
    }
