"""Run the per-customer aggregation inside DuckDB or Spark.

The aggregation of order lines into one row per customer is the only step
of rfm_loyalty that reads every order line. ``from_duckdb`` and
``from_spark`` wrap lines held by an engine (a DuckDB relation, query or
Parquet/CSV files; a Spark DataFrame) with the options of
``prepare_orders``; ``customer_aggregates`` and everything built on it
(``rfm_table``, ``btyd_summary``, ``lifecycle_labels``) accept the wrapper
and get back the same small per-customer table as with pandas. The SQL is
generated from one definition (``_sql.py``); see ``docs/engines.md``.
"""

from __future__ import annotations

from typing import Any, TypeGuard

import pandas as pd

from rfm_loyalty.engines._source import EngineResult, EngineSource
from rfm_loyalty.engines.duckdb import from_duckdb
from rfm_loyalty.engines.spark import from_spark

__all__ = [
    "EngineResult",
    "EngineSource",
    "engine_aggregates",
    "from_duckdb",
    "from_spark",
    "is_engine_source",
]


def is_engine_source(data: Any) -> TypeGuard[EngineSource]:
    """Return True for order lines held by an engine (``from_duckdb``, ``from_spark``).

    Parameters
    ----------
    data : object
        Anything passed where orders are expected.

    Returns
    -------
    bool
        Whether the per-customer aggregation should run in the engine.

    Examples
    --------
    >>> import duckdb
    >>> lines = duckdb.connect().sql(
    ...     "SELECT 'a' AS customer_id, DATE '2024-01-01' AS order_date, 5.0 AS amount")
    >>> is_engine_source(from_duckdb(lines)), is_engine_source(lines)
    (True, False)
    """
    return isinstance(data, EngineSource)


def engine_aggregates(
    source: EngineSource, *, as_of: Any = None, window_days: int | None = None
) -> pd.DataFrame:
    """Return ``customer_aggregates`` computed inside the source's engine.

    Parameters
    ----------
    source : EngineSource
        From ``from_duckdb`` or ``from_spark``.
    as_of : date-like, optional
        Analysis date; default the source's, else the last valid order date.
    window_days : int, optional
        Also count purchases inside and before the lifecycle window.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`rfm_loyalty.summary.customer_aggregates`.
        Index ``customer_id`` (text, sorted), one row per customer with a
        purchase: ``first_purchase``, ``last_purchase`` (datetime64[ns],
        midnight), ``frequency``, ``purchase_days`` (int64),
        ``monetary_total``, ``purchase_amount``, ``first_day_amount``
        (float64), and with ``window_days`` ``purchases_in_window``,
        ``purchases_before_window`` (int64). ``.attrs["as_of"]`` is ISO text.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> lines = con.sql("SELECT * FROM (VALUES ('a', DATE '2024-01-01', 10.0), "
    ...                 "('a', DATE '2024-03-01', 20.0)) t(customer_id, order_date, amount)")
    >>> engine_aggregates(from_duckdb(lines), window_days=30)[["frequency",
    ...                                                       "purchases_before_window"]]
                 frequency  purchases_before_window
    customer_id
    a                    2                        1
    """
    if not is_engine_source(source):
        raise TypeError(
            "engine_aggregates expects an EngineSource from from_duckdb or from_spark. "
            f"Got {type(source).__name__} instead."
        )
    return source.aggregate(as_of=as_of, window_days=window_days).aggregates
