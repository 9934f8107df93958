"""The exported tables' schemas: columns, dtypes, versions, and making frames fit them.

:data:`SCHEMAS` is the contract with the tools that read an export (it is
documented in ``docs/export.md`` and fingerprinted by
:func:`rfm_loyalty.export.schema_hash`; a test fails when a column changes
without a version change). :func:`as_schema` flattens a computed table to its
schema on the way out; :func:`typed` restores the schema's dtypes of a table
read back from a file or a database. The public names are re-exported by
:mod:`rfm_loyalty.export`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

#: Version of the set of exported schemas; bumped whenever a table's version is.
SCHEMA_VERSION = 2
_DTYPES = ("text", "int64", "float64", "bool", "datetime")
_WHEN = ("always", "profit", "models")
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
    TableSchema("customers", 2, "One row per customer with a purchase: every score and label.", (
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
        _c("profit", "float64", "customer profit after cost-to-serve", "profit"),
        _c("tier", "text", "profitable, break_even or resource_wasting", "profit"),
        _c("p_alive", "float64", "BG/NBD probability the customer is alive", "models"),
        _c("expected_purchases", "float64", "expected purchases over horizon_months",
           "models"),
        _c("clv", "float64", "discounted expected revenue over horizon_months (NaN when "
           "Gamma-Gamma could not be fitted)", "models"),
    )),
    TableSchema("segments", 2, "One row per RFM segment, in rule order (Other last).", (
        _c("segment", "text", "segment name"),
        _c("segment_zh", "text", "Chinese name of the segment"),
        *_SUMMARY_COLUMNS,
        _c("description", "text", "who the customers are"),
        _c("action", "text", "what marketing does with them"),
        _c("action_zh", "text", "the action in Chinese"),
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
        _c("revenue_new", "float64", "revenue of customers acquired in the period"),
        _c("revenue_existing", "float64", "revenue of earlier customers"),
        _c("complete", "bool", "the whole period lies within the data (False: partial)"),
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
# frames to and from the schema
# --------------------------------------------------------------------------- #
def applies(when: str, analysis: Analysis) -> bool:
    """Tell whether a column or table marked ``when`` is computed in ``analysis``."""
    if when == "profit":
        return analysis.profitability is not None
    if when == "models":
        return analysis.models is not None
    return True


def as_schema(frame: pd.DataFrame, name: str, analysis: Analysis | None = None) -> pd.DataFrame:
    """Flatten table ``name``: default index, the schema's columns in order and dtypes.

    With ``analysis``, the ``profit``/``models`` columns are kept only when
    computed; a missing schema column raises (the producing module changed).
    """
    specs = [c for c in SCHEMAS[name].columns if analysis is None or applies(c.when, analysis)]
    missing = [c.name for c in specs if c.name not in frame.columns]
    if missing:  # a module changed its output: say so rather than export a wrong table
        raise RuntimeError(f"Table {name!r} lacks the schema columns {missing!r}.")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for spec in specs:
        out[spec.name] = coerce(frame[spec.name].reset_index(drop=True), spec.dtype)
    out.attrs = {}
    return out


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

