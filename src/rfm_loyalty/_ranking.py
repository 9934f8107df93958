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

__all__ = [
    "COUNT_EPS", "cumulative_sums", "customer_values", "fmt_pct", "rank_descending", "top_count",
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
    if series.index.has_duplicates:
        n_dup = int(series.index.duplicated().sum())
        raise ValueError(
            f"{owner} needs one value per customer; {n_dup} customer id(s) appear more "
            f"than once (first: {series.index[series.index.duplicated()][0]!r}). "
            "Aggregate per customer first, e.g. values.groupby(level=0).sum()."
        )
    name = series.name if series.name is not None else "value"
    return pd.Series(array, index=series.index, name=name)


def rank_descending(values: pd.Series) -> pd.Series:
    """Sort values largest first; equal values in customer-id order (input order if unsortable)."""
    try:
        by_id = values.sort_index(kind="stable")
    except TypeError:  # mixed id types cannot be compared; keep the input order
        by_id = values
    order = np.argsort(-by_id.to_numpy(), kind="stable")
    return by_id.iloc[order]


def cumulative_sums(sorted_values: np.ndarray) -> np.ndarray:
    """Cumulative sums with a leading 0 (the curve's origin): element n = sum of top n."""
    return np.concatenate([[0.0], np.cumsum(sorted_values)])


def fmt_pct(x: float) -> str:
    """Format a share as a percentage with one decimal; "undefined" when not finite."""
    return "undefined" if not math.isfinite(x) else f"{x:.1%}"
