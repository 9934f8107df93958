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
