"""Ranking customers by a value: the machinery of the concentration and profit curves.

Shared by :mod:`rfm_loyalty.concentration` (revenue) and
:mod:`rfm_loyalty.profitability` (profit), so both rank, count the top k and
validate per-customer values the same way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.ids import argsort_text

__all__ = [
    "COUNT_EPS", "cumulative_sums", "customer_values", "fmt_pct", "has_repeated_ids", "order_by_id",
    "rank_descending", "rank_order", "top_count",
]

#: Slack for ceil(k * N): 0.07 * 100 == 7.000000000000001 in binary floating point.
COUNT_EPS = 1e-9


def top_count(fraction: float, n: int) -> int:
    """Return ceil(fraction * n), robust to floating-point noise in the product."""
    return min(n, max(0, math.ceil(fraction * n - COUNT_EPS)))


def customer_values(values: Any, owner: str) -> pd.Series:
    """Validate per-customer values and return them as a float64 Series.

    Raises when the input is empty, not numeric, has a repeated customer, or has
    missing or infinite values, naming the count of offending entries.
    """
    if isinstance(values, pd.DataFrame):
        raise TypeError(
            f"{owner} takes one value per customer (a Series indexed by customer id), "
            f"got a DataFrame with columns {list(values.columns)!r}; select one column, "
            "e.g. table['monetary_total']."
        )
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if len(series) == 0:
        raise ValueError(f"{owner} needs at least one customer; got an empty input.")
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise TypeError(
            f"{owner} needs numeric values; got dtype {str(series.dtype)!r}. "
            "Convert the column with pd.to_numeric first."
        )
    array = series.to_numpy(dtype="float64", na_value=np.nan)
    n_missing = int(np.isnan(array).sum())
    n_infinite = int(np.isinf(array).sum())
    if n_missing or n_infinite:
        raise ValueError(
            f"{owner} needs a finite value for every customer; got {n_missing} missing "
            f"(NaN) and {n_infinite} infinite value(s) out of {len(array)}. Fill them "
            "(e.g. .fillna(0.0) for customers with no value) or drop those customers."
        )
    if has_repeated_ids(series.index):
        n_dup = int(series.index.duplicated().sum())
        raise ValueError(
            f"{owner} needs one value per customer; {n_dup} customer id(s) appear more "
            f"than once (first: {series.index[series.index.duplicated()][0]!r}). "
            "Aggregate per customer first, e.g. values.groupby(level=0).sum()."
        )
    name = series.name if series.name is not None else "value"
    return pd.Series(array, index=series.index, name=name)


def has_repeated_ids(index: pd.Index) -> bool:
    """Whether an id appears twice; Arrow text is counted by Arrow (no Python strings).

    Examples
    --------
    >>> has_repeated_ids(pd.Index(["a", "b", "a"])), has_repeated_ids(pd.Index([1, 2]))
    (True, False)
    """
    array = index.array
    if isinstance(array, pd.arrays.ArrowExtensionArray):
        import pyarrow.compute as pc

        # Customer tables come sorted by id: strictly increasing ids cannot
        # repeat, and one comparison per id is far cheaper than hashing them.
        if _increasing_text(index):
            return False
        return bool(pc.count_distinct(array.__arrow_array__(), mode="all").as_py() < len(array))
    return bool(index.has_duplicates)


def _increasing_text(index: pd.Index) -> bool:
    """Whether Arrow-held text ids are strictly increasing (none missing).

    Arrow compares UTF-8 bytes, which orders text as Python does (by code point).
    """
    array = index.array
    if not isinstance(array, pd.arrays.ArrowExtensionArray) or len(array) < 2:
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    text = array.__arrow_array__()
    if text.null_count or not (pa.types.is_string(text.type)
                               or pa.types.is_large_string(text.type)):
        return False
    return bool(pc.all(pc.greater(text[1:], text[:-1])).as_py())


def order_by_id(index: pd.Index) -> np.ndarray:
    """Positions that sort customer ids (text in Python's order); input order if unsortable.

    Examples
    --------
    >>> order_by_id(pd.Index(["b", "a", "c"])).tolist()
    [1, 0, 2]
    >>> order_by_id(pd.Index([2, "a"], dtype=object)).tolist()  # mixed types: as given
    [0, 1]
    """
    if _increasing_text(index):  # a customer table: already in id order
        return np.arange(len(index))
    if pd.api.types.is_string_dtype(index.dtype) and pd.api.types.infer_dtype(
        index, skipna=False
    ) == "string":
        return argsort_text(index)
    try:
        return np.argsort(np.asarray(index), kind="stable")
    except TypeError:  # mixed id types cannot be compared; keep the input order
        return np.arange(len(index))


def rank_order(values: pd.Series) -> np.ndarray:
    """Positions that rank values largest first; equal values in customer-id order.

    ``values.iloc[rank_order(values)]`` is the ranking; element i is the
    input position of the customer ranked i + 1.
    """
    by_id = order_by_id(values.index)
    return by_id[np.argsort(-values.to_numpy()[by_id], kind="stable")]


def rank_descending(values: pd.Series) -> pd.Series:
    """Sort values largest first; equal values in customer-id order (input order if unsortable)."""
    return values.iloc[rank_order(values)]


def cumulative_sums(sorted_values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading 0 (the curve's origin): element n = sum of top n."""
    return np.concatenate([[0.0], np.cumsum(sorted_values)])


def fmt_pct(x: float) -> str:
    """Format a share as a percentage with one decimal; "undefined" when not finite."""
    return "undefined" if not math.isfinite(x) else f"{x:.1%}"
