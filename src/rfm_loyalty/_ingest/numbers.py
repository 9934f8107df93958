"""Reading amounts: numbers from numeric columns or from text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_loyalty.exceptions import SchemaError


def parse_numbers(values: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Return float64 values and a mask of unreadable ones (missing, text, inf)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise SchemaError(f"Column {name!r} holds booleans; it must hold numbers.")
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        parsed = pd.to_numeric(values, errors="coerce")
        numbers = np.asarray(parsed, dtype="float64")
        failed = np.isnan(numbers) & values.notna().to_numpy()
        if failed.any() and not np.isfinite(numbers).any():
            first = int(np.flatnonzero(failed)[0])
            raise SchemaError(
                f"Column {name!r} must hold numbers, but none of its values could be read as "
                f"a number (first value: {values.iloc[first]!r} at row {first}). Convert it "
                "(e.g. strip currency symbols and thousands separators) before analysing."
            )
    return numbers, ~np.isfinite(numbers)


#: Most decimals an amount may have for its sums to be made exact (micro-units).
MAX_DECIMALS = 6
_SAMPLE = 10_000


def decimals_of(values: np.ndarray, bad: np.ndarray) -> int | None:
    """Return the fewest decimals k <= 6 that every readable value has, or None.

    A float has k decimals when rounding it to k places gives it back (the
    double nearest a k-decimal number). The k of a sample of the values is
    found first, then checked on all of them, so a column of cents costs one
    pass, not seven.

    Examples
    --------
    >>> decimals_of(np.array([12.5, 3.25, -1.0]), np.zeros(3, dtype=bool))
    2
    >>> decimals_of(np.array([1 / 3]), np.zeros(1, dtype=bool)) is None
    True
    """
    good = values[~bad] if bad.any() else values
    if len(good) == 0:
        return None
    step = max(1, len(good) // _SAMPLE)
    k = _fewest_decimals(good[::step], 0)
    while k is not None and not _has_decimals(good, k):
        k = _fewest_decimals(good, k + 1)
    return k


def _has_decimals(values: np.ndarray, k: int) -> bool:
    return bool(np.array_equal(np.round(values, k), values))


def _fewest_decimals(values: np.ndarray, start: int) -> int | None:
    for k in range(start, MAX_DECIMALS + 1):
        if _has_decimals(values, k):
            return k
    return None
