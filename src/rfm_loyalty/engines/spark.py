"""Spark engine: aggregate order lines held in a PySpark DataFrame as Spark SQL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from rfm_loyalty._ingest.files import check_columns_exist
from rfm_loyalty._ingest.options import OrderColumns
from rfm_loyalty.engines import _sql
from rfm_loyalty.engines._source import EngineSource, engine_options

__all__ = ["from_spark"]

_KINDS = {
    "string": "text",
    "varchar": "text",
    "char": "text",
    "byte": "integer",
    "short": "integer",
    "integer": "integer",
    "long": "integer",
    "float": "float",
    "double": "float",
    "decimal": "decimal",
    "boolean": "boolean",
    # TimestampType is an instant shown in the session time zone: its
    # calendar day is the wall clock there, which CAST AS TIMESTAMP_NTZ keeps
    "timestamp": "timestamp",
    "timestamp_ntz": "timestamp",
    "date": "date",
}


def from_spark(
    data: Any, columns: OrderColumns | Mapping[str, str] | str | None = None, **options: Any
) -> EngineSource:
    """Wrap order lines in a PySpark DataFrame so that the aggregation runs in Spark.

    ``customer_aggregates``, ``rfm_table``, ``btyd_summary`` and
    ``lifecycle_labels`` accept the result in place of ``Orders``: Spark
    validates the lines, counts the dropped ones, sums lines into orders and
    orders into customers (the rules of ``prepare_orders``, as Spark SQL), and
    only the per-customer table is collected to the driver.

    Parameters
    ----------
    data : pyspark.sql.DataFrame
        Order lines.
    columns : OrderColumns, dict or "auto", optional
        Column names, as for ``prepare_orders`` (``"auto"``: matched against
        the DataFrame's column names, see ``docs/columns.md``).
    **options
        ``as_of``, ``returns``, ``zero_amount``, ``valid_statuses``,
        ``on_bad_rows``, ``decimal`` and ``thousands`` (text amounts),
        ``amount_decimals`` (sums rounded to it), as for ``prepare_orders``;
        ``date_format`` and ``dayfirst`` as for ``prepare_orders`` when the
        text is ``YYYY-MM-DD`` (other text forms and numeric formats are
        refused), and the file options (``encoding``, ``sep``, ``sheet_name``)
        are refused. Calendar days of
        ``TimestampType`` columns are those of the session time zone
        (``spark.sql.session.timeZone``); ``tz`` is not supported.

    Returns
    -------
    EngineSource
        Pass it to ``rfm_table`` and friends, or call ``.aggregate()`` for
        the aggregates together with their ``QualityReport``.

    Raises
    ------
    SchemaError
        A named column is missing.
    TypeError
        ``data`` is not a Spark DataFrame.

    Examples
    --------
    >>> from rfm_loyalty.engines import from_spark
    >>> from_spark([("a", "2024-01-01", 10.0)])
    Traceback (most recent call last):
    ...
    TypeError: from_spark expects a pyspark.sql.DataFrame. Got list instead.
    """
    if not _is_spark_frame(data):
        raise TypeError(
            f"from_spark expects a pyspark.sql.DataFrame. Got {type(data).__name__} instead."
        )
    settings = engine_options("from_spark", columns, options)
    if settings.tz is not None:
        raise ValueError(
            f"from_spark does not take tz (got {settings.tz!r}): Spark counts calendar days "
            "in the session time zone; set spark.sql.session.timeZone instead."
        )
    settings, found = settings.resolve_columns(data.columns)  # columns="auto"
    check_columns_exist(data.columns, settings.order_columns)
    return EngineSource(engine="spark", runner=_SparkRunner(data), options=settings,
                        readings=found)


def _is_spark_frame(data: Any) -> bool:
    # no import of pyspark unless the object comes from it
    module = type(data).__module__
    return module.startswith("pyspark.") and type(data).__name__ == "DataFrame"


class _SparkRunner:
    """Runs the generated queries against one Spark DataFrame (a temporary view)."""

    dialect = _sql.SPARK

    def __init__(self, data: Any) -> None:
        self.data = data
        self.view = f"rfm_order_lines_{uuid.uuid4().hex}"

    def source_name(self) -> str:
        return self.view

    def column_kinds(self) -> dict[str, str]:
        return {
            f.name: _KINDS.get(f.dataType.typeName(), f.dataType.typeName())
            for f in self.data.schema.fields
        }

    def fetch(self, query: str) -> dict[str, np.ndarray]:
        spark = self.data.sparkSession
        self.data.createOrReplaceTempView(self.view)
        try:
            result = spark.sql(query)
            names = result.columns
            rows = result.collect()
        finally:
            spark.catalog.dropTempView(self.view)
        return {name: _column([row[i] for row in rows]) for i, name in enumerate(names)}


def _column(values: list[Any]) -> np.ndarray:
    """Numbers as int64 (float64 with NaN where missing), everything else as objects."""
    present = [v for v in values if v is not None]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if not numeric or not values:
        return np.asarray(values, dtype=object)
    if len(present) == len(values) and all(isinstance(v, int) for v in present):
        return np.asarray(values, dtype=np.int64)
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype="float64")
