"""The exported tables' schemas: columns, dtypes, versions, row order, and fitting frames to them.

:data:`SCHEMAS` is the contract with the tools that read an export (it is
documented in ``docs/export.md`` and fingerprinted by
:func:`rfm_loyalty.export.schema_hash`; a test fails when a column changes
without a version change). :func:`to_arrow` turns a computed table into an
Arrow table of the schema's types on the way out (every file writer starts
from it, so CSV and Parquet share one schema); :func:`to_frame` is its pandas
view; :func:`typed` restores the schema's dtypes of a table read back from a
file or a database. The public names are re-exported by
:mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

#: Version of the set of exported schemas; bumped whenever a table's version is.
SCHEMA_VERSION = 2
_DTYPES = ("text", "int64", "float64", "bool", "datetime")
_WHEN = ("always", "profit", "models")
_TEXT = pd.Series(["x"]).dtype  # object on pandas 2.2, str on pandas 3
#: Arrow type of each schema dtype (Parquet columns, and the CSV writer's input).
ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType({
    "text": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
    "datetime": pa.timestamp("ns"),
})


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
    money : bool
        An amount in the orders' currency (compared with the money tolerance
        by :mod:`rfm_loyalty.testing` and ``rfm-loyalty diff``).
    """

    name: str
    dtype: str
    meaning: str
    when: str = "always"
    money: bool = False

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES or self.when not in _WHEN:
            raise ValueError(f"Bad column spec {self!r}: dtype in {_DTYPES}, when in {_WHEN}.")


@dataclass(frozen=True)
class TableSchema:
    """Columns, version, row order and meaning of one exported table.

    Attributes
    ----------
    name : str
        Table (and file) name.
    version : int
        Schema version; bumped with any change of the columns or of what a
        row is.
    description : str
    columns : tuple of Column
    when : {"always", "profit", "models"}
        Whether the table is written always or only with a cost input/models.
    key : tuple of str
        The columns that identify a row (unique in the table).
    order : str
        The row order, in words.
    """

    name: str
    version: int
    description: str
    columns: tuple[Column, ...]
    when: str = "always"
    key: tuple[str, ...] = ()
    order: str = ""


def _c(name: str, dtype: str, meaning: str, when: str = "always") -> Column:
    return Column(name, dtype, meaning, when)


def _money(name: str, meaning: str, when: str = "always") -> Column:
    return Column(name, "float64", meaning, when, money=True)


_SUMMARY_COLUMNS = (
    _c("customers", "int64", "customers in the group"),
    _c("customer_share", "float64", "customers / all customers"),
    _money("revenue", "sum of monetary_total"),
    _c("revenue_share", "float64", "revenue / total revenue"),
    _c("mean_recency_days", "float64", "mean days since the last purchase (NaN when empty)"),
    _c("mean_frequency", "float64", "mean number of purchases"),
    _money("mean_monetary", "mean monetary_total"),
    _money("profit", "summed profit", "profit"),
    _c("profit_share", "float64", "profit / total profit (NaN when the total <= 0)", "profit"),
)
_CURVE_ROWS = (
    "1,001 points of the curve: the rows at the ranks ceil(k * N) for customer shares k = 0, "
    "0.001, ..., 1 (N customers; values taken at the rank, not interpolated; each rank once, so "
    "every row when N <= 1,000). The customer table holds every customer's own point."
)

#: Every exported table, in export order.
SCHEMAS: Mapping[str, TableSchema] = MappingProxyType({s.name: s for s in (
    TableSchema("customers", 2, "One row per customer with a purchase: every score and label.", (
        _c("customer_id", "text", "customer id"),
        _c("first_purchase", "datetime", "day of the first purchase"),
        _c("last_purchase", "datetime", "day of the last purchase"),
        _c("recency_days", "int64", "as_of - last_purchase, days"),
        _c("tenure_days", "int64", "as_of - first_purchase, days"),
        _c("active_span_days", "int64", "last_purchase - first_purchase, days"),
        _c("frequency", "int64", "number of purchases"),
        _c("purchase_days", "int64", "distinct days with a purchase"),
        _money("monetary_total", "net amount of all orders (returns netted)"),
        _money("monetary_mean", "monetary_total / frequency"),
        _c("r_score", "int64", "recency score, higher = more recent"),
        _c("f_score", "int64", "frequency score"),
        _c("m_score", "int64", "monetary score"),
        _c("rfm_code", "text", "the three scores, e.g. 545"),
        _c("rfm_score", "int64", "r_score + f_score + m_score"),
        _c("segment", "text", "RFM segment name"),
        _c("segment_zh", "text", "Chinese name of the segment"),
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
        _money("profit", "customer profit after cost-to-serve", "profit"),
        _c("tier", "text", "profitable, break_even or resource_wasting", "profit"),
        _c("p_alive", "float64", "BG/NBD probability the customer is alive", "models"),
        _c("expected_purchases", "float64", "expected purchases over horizon_months",
           "models"),
        _money("clv", "discounted expected revenue over horizon_months (NaN when "
               "Gamma-Gamma could not be fitted)", "models"),
        _c("revenue_rank", "int64", "place in the revenue ranking: 1 = largest monetary_total, "
           "ties in customer-id order (the pareto table's rank)"),
        _c("revenue_cumulative_share", "float64", "share of total revenue held by the customers "
           "ranked 1 to revenue_rank (NaN when total revenue <= 0)"),
        _c("profit_rank", "int64", "place in the profit ranking: 1 = largest profit, ties in "
           "customer-id order (the whale table's rank)", "profit"),
        _c("profit_cumulative_share", "float64", "share of total profit made by the customers "
           "ranked 1 to profit_rank (NaN when total profit <= 0)", "profit"),
    ), key=("customer_id",), order="customer_id ascending (the order of Analysis.customers: "
                                   "text ids by code point, integer ids by value)"),
    TableSchema("segments", 2, "One row per RFM segment, in rule order (Other last).", (
        _c("segment", "text", "segment name"),
        _c("segment_zh", "text", "Chinese name of the segment"),
        *_SUMMARY_COLUMNS,
        _c("description", "text", "who the customers are"),
        _c("action", "text", "what marketing does with them"),
        _c("action_zh", "text", "the action in Chinese"),
    ), key=("segment",), order="the segment rules' order, Other last"),
    TableSchema("lifecycle", 1, "One row per lifecycle cohort, in lifecycle order.", (
        _c("lifecycle", "text", "cohort label"),
        _c("lifecycle_zh", "text", "Chinese name"),
        *_SUMMARY_COLUMNS,
        _c("action", "text", "marketing action"),
        _c("action_zh", "text", "marketing action in Chinese"),
        _c("rule", "text", "the cohort's rule in words"),
    ), key=("lifecycle",), order="lifecycle order: new, active, returning, cooling, "
                                 "high_recovery, low_recovery, lost"),
    TableSchema("campaigns_lifecycle", 1,
                "Campaign list: every customer with its lifecycle cohort and action, "
                "sorted by cohort then customer id.", (
        _c("customer_id", "text", "customer id"),
        _c("label", "text", "lifecycle cohort"),
        _c("label_zh", "text", "Chinese name of the cohort"),
        _c("action", "text", "marketing action"),
        _c("action_zh", "text", "marketing action in Chinese"),
    ), key=("customer_id",), order="cohort in lifecycle order, then customer id compared as "
                                   "text"),
    TableSchema("campaigns_segment", 1,
                "Campaign list: every customer with its RFM segment and action, sorted by "
                "segment then customer id.", (
        _c("customer_id", "text", "customer id"),
        _c("label", "text", "RFM segment"),
        _c("action", "text", "marketing action of the segment"),
    ), key=("customer_id",), order="segment in rule order, then customer id compared as text"),
    TableSchema("quality", 1, "Accounting of the input rows and amounts.", (
        _c("item", "text", "rows_in, rows_used, dropped:<reason>"),
        _c("rows", "int64", "input rows"),
        _money("amount", "sum of their amounts"),
    ), key=("item",), order="rows_in, rows_used, then the drop reasons in the reader's order"),
    TableSchema("summary", 1, "Key figures, one per row (NaN when undefined).", (
        _c("metric", "text", "name of the figure (see docs/export.md)"),
        _c("value", "float64", "its value"),
    ), key=("metric",), order="the order of the list in docs/export.md"),
    TableSchema("pareto", 2, "Revenue concentration curve, customers ranked by revenue. "
                + _CURVE_ROWS, (
        _c("rank", "int64", "number of top customers included (0 = origin)"),
        _c("customer_share", "float64", "rank / customers"),
        _money("cumulative_value", "revenue of the rank best customers"),
        _c("value_share", "float64", "cumulative_value / total revenue"),
    ), key=("rank",), order="rank ascending"),
    TableSchema("whale", 2, "Whale curve: cumulative profit, customers ranked by profit. "
                + _CURVE_ROWS, (
        _c("rank", "int64", "number of top customers included (0 = origin)"),
        _c("customer_share", "float64", "rank / customers"),
        _money("cumulative_profit", "profit of the rank best customers"),
        _c("profit_share", "float64", "cumulative_profit / total profit"),
    ), when="profit", key=("rank",), order="rank ascending"),
    TableSchema("tiers", 1, "20/60/20 profit tiers with their actions, best first.", (
        _c("tier", "text", "profitable, break_even, resource_wasting"),
        _c("n_customers", "int64", "customers in the tier"),
        _c("customer_share", "float64", "n_customers / customers"),
        _money("profit", "summed profit"),
        _c("profit_share", "float64", "profit / total profit"),
        _c("name_zh", "text", "Chinese name of the tier"),
        _c("action", "text", "recommended action"),
        _c("action_zh", "text", "recommended action in Chinese"),
    ), when="profit", key=("tier",), order="profitable, break_even, resource_wasting"),
    TableSchema("churn", 1, "Churn rate and revenue at risk per RFM segment.", (
        _c("segment", "text", "segment name"),
        _c("customers", "int64", "customers in the segment"),
        _c("churned", "int64", "of them churned"),
        _c("churn_rate", "float64", "churned / customers"),
        _money("recent_revenue", "net revenue in the last revenue window"),
        _c("at_risk_customers", "int64", "customers now cooling or in recovery"),
        _money("revenue_at_risk", "their recent revenue"),
        _c("revenue_at_risk_share", "float64", "share of all revenue at risk"),
    ), key=("segment",), order="the segment rules' order, Other last"),
    TableSchema("retention", 2, "Acquisition-cohort retention, long format (observed cells).", (
        _c("cohort", "text", "acquisition period, e.g. 2024-01"),
        _c("cohort_size", "int64", "customers acquired in the period"),
        _c("period", "int64", "periods since acquisition"),
        _c("retention", "float64", "share of the cohort buying in that period"),
        _c("complete", "bool", "the calendar period of the cell lies wholly within the data "
           "(False: partial, e.g. the month of as_of)"),
    ), key=("cohort", "period"), order="cohort ascending, then period ascending"),
    TableSchema("flow", 2, "Customer flow per period (the leaky bucket).", (
        _c("period", "text", "the period, e.g. 2024-01"),
        _c("period_end", "datetime", "date activity is measured at"),
        _c("active_start", "int64", "active at the previous period's end"),
        _c("new", "int64", "first purchase in the period"),
        _c("retained", "int64", "active at both ends"),
        _c("reactivated", "int64", "lapsed customers who bought again"),
        _c("churned", "int64", "active at the start, not at the end"),
        _c("active_end", "int64", "active at the period's end"),
        _c("churn_rate", "float64", "churned / active_start"),
        _money("revenue_new", "revenue of customers acquired in the period"),
        _money("revenue_existing", "revenue of earlier customers"),
        _c("complete", "bool", "the whole period lies within the data (False: partial)"),
    ), key=("period",), order="period ascending"),
    TableSchema("model_parameters", 1, "Fitted customer-base model parameters.", (
        _c("model", "text", "bgnbd, mbgnbd, paretonbd or gamma_gamma"),
        _c("parameter", "text", "the model's parameters (r, alpha, a, b; r, alpha, s, beta; "
           "p, q, gamma)"),
        _c("estimate", "float64", "maximum-likelihood estimate"),
        _c("standard_error", "float64", "delta-method standard error"),
        _c("lower_95", "float64", "95% interval, lower end"),
        _c("upper_95", "float64", "95% interval, upper end"),
    ), when="models", key=("model", "parameter"), order="the models in the order named "
                                                          "(purchase models, then gamma_gamma), "
                                                          "each model's parameters in order"),
)})


# --------------------------------------------------------------------------- #
# computed tables to the schema (Arrow), and the pandas view
# --------------------------------------------------------------------------- #
def applies(when: str, analysis: Analysis) -> bool:
    """Tell whether a column or table marked ``when`` is computed in ``analysis``."""
    if when == "profit":
        return analysis.profitability is not None
    if when == "models":
        return analysis.models is not None
    return True


def to_arrow(source: Any, name: str, analysis: Analysis | None = None) -> pa.Table:
    """Return table ``name`` as Arrow: the schema's columns, in order, in its Arrow types.

    ``source`` maps column names to values (a DataFrame with a default index,
    or a dict of Series, Index or arrays of one length). With ``analysis``,
    the ``profit``/``models`` columns are kept only when computed; a missing
    schema column raises (the producing module changed). Text columns that
    were categorical stay dictionary-encoded (their text is converted once
    per category); every other column has exactly its schema type. Missing
    text becomes "", missing numbers and dates are nulls.
    """
    specs = [c for c in SCHEMAS[name].columns if analysis is None or applies(c.when, analysis)]
    missing = [c.name for c in specs if c.name not in source]
    if missing:  # a module changed its output: say so rather than export a wrong table
        raise RuntimeError(f"Table {name!r} lacks the schema columns {missing!r}.")
    arrays = [arrow_column(source[c.name], c.dtype) for c in specs]
    return pa.Table.from_arrays(arrays, names=[c.name for c in specs])


def arrow_column(values: Any, dtype: str) -> pa.Array:
    """Convert one column to the Arrow type of schema dtype ``dtype``, without a Python loop."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if dtype == "text":
        return _text(series)
    if dtype == "datetime":
        if series.dtype.kind != "M":
            series = pd.to_datetime(series)
        stamps = series.to_numpy(dtype="datetime64[ns]")
        return pa.array(stamps, type=pa.timestamp("ns"), from_pandas=True)
    if dtype == "bool":
        return pa.array(series.astype(bool).to_numpy(), type=pa.bool_())
    numbers = series if pd.api.types.is_numeric_dtype(series.dtype) else pd.to_numeric(series)
    if dtype == "int64":
        return pa.array(numbers.astype("int64").to_numpy(), type=pa.int64())
    return pa.array(numbers.to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(),
                    from_pandas=True)


def _text(series: pd.Series) -> pa.Array:
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = _text(pd.Series(dtype.categories))
        codes = series.cat.codes.to_numpy()
        if (codes < 0).any():  # missing labels are written as ""
            codes = np.where(codes < 0, len(categories), codes)
            categories = pa.concat_arrays([categories, pa.array([""])])
        return pa.DictionaryArray.from_arrays(pa.array(codes), categories)
    if isinstance(dtype, pd.PeriodDtype):
        series = series.astype(str).where(series.notna(), None)
    elif pd.api.types.is_integer_dtype(dtype):  # integer ids: their decimal digits
        return pa.array(series.to_numpy(dtype="int64")).cast(pa.string())
    elif not (pd.api.types.is_string_dtype(dtype) or dtype == np.dtype(object)):
        series = series.astype(str)
    try:
        array = pa.array(series, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # objects that are not text: their str()
        array = pa.array(series.where(series.notna(), "").astype(str), type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.fill_null(array, "") if array.null_count else array


def plain(table: pa.Table) -> pa.Table:
    """Return ``table`` with dictionary-encoded text decoded (the schema's exact types)."""
    if not any(pa.types.is_dictionary(t) for t in table.schema.types):
        return table
    columns = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c
               for c in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Return the pandas view of an Arrow table made by :func:`to_arrow`.

    Default index; text as the pandas text dtype (object on pandas 2, str on
    pandas 3), datetimes as ``datetime64[ns]``, nulls of floats as NaN.
    """
    frame = plain(table).to_pandas()
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if (pa.types.is_string(kind) or pa.types.is_dictionary(kind)) and (
            frame[name].dtype != _TEXT
        ):
            frame[name] = frame[name].astype(_TEXT)
    frame.attrs = {}
    return frame


def as_schema(frame: Any, name: str, analysis: Analysis | None = None) -> pd.DataFrame:
    """Flatten table ``name``: default index, the schema's columns in order and dtypes.

    With ``analysis``, the ``profit``/``models`` columns are kept only when
    computed; a missing schema column raises (the producing module changed).
    """
    return to_frame(to_arrow(frame, name, analysis))


# --------------------------------------------------------------------------- #
# tables read back
# --------------------------------------------------------------------------- #
def typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return the schema columns found in a table read back, in schema order and dtypes."""
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for spec in SCHEMAS[table].columns:
        if spec.name in frame.columns:
            out[spec.name] = coerce(frame[spec.name].reset_index(drop=True), spec.dtype)
    return out


def coerce(values: pd.Series, dtype: str) -> pd.Series:
    """Convert ``values`` to the schema dtype ``dtype`` (text, datetime, bool, int64, float64)."""
    if dtype == "text":
        if isinstance(values.dtype, (pd.CategoricalDtype, pd.PeriodDtype)):
            values = values.astype(object)
        return values.where(values.notna(), "").astype(str).astype(_TEXT)
    if dtype == "datetime":
        if values.dtype.kind == "M":
            return values.astype("datetime64[ns]")
        return pd.to_datetime(values, format="ISO8601").astype("datetime64[ns]")
    if dtype == "bool":
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            return values.astype(str).str.lower().map({"true": True, "false": False}).astype(bool)
        return values.astype(bool)
    if dtype == "int64":
        return pd.to_numeric(values).astype("int64")
    return pd.to_numeric(values).astype("float64")
