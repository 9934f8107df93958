"""Reading one input column: numbers, dates and missing text, without loops over rows."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty.exceptions import SchemaError


def missing_text(values: pd.Series) -> np.ndarray:
    missing = values.isna().to_numpy()
    if not pd.api.types.is_numeric_dtype(values.dtype):
        as_text = values.astype("string")
        missing = missing | (as_text.str.strip() == "").fillna(True).to_numpy(dtype=bool)
    return missing


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


def parse_dates(values: pd.Series, name: str, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Return naive datetime64[ns] wall-clock times and a mask of unreadable ones."""
    dtype = values.dtype
    if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "M":
        # Arrow timestamps (e.g. dtype_backend="pyarrow"): as numpy datetimes
        tz_name = dtype.pyarrow_dtype.tz
        values = values.astype("datetime64[ns]" if tz_name is None
                               else pd.DatetimeTZDtype("ns", tz_name))
        dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        local = values if tz is None else values.dt.tz_convert(tz)
        naive = local.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(dtype):
        naive = values
    elif pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        raise SchemaError(
            f"Column {name!r} holds numbers ({dtype}), not dates. Convert it with "
            "pd.to_datetime(..., unit=...) or pass the column of dates."
        )
    else:
        naive = _parse_date_text(values, tz)
    out = naive.to_numpy(dtype="datetime64[ns]")
    bad = np.isnat(out)
    if bad.all():
        first = values.dropna()
        example = f" (first value: {first.iloc[0]!r})" if len(first) else ""
        raise SchemaError(f"Column {name!r} holds no readable date{example}.")
    return out, bad


def _parse_date_text(values: pd.Series, tz: str | None) -> pd.Series:
    text = values.reset_index(drop=True)
    parsed = _to_datetime_quietly(text, utc=False, mixed=False)
    if parsed is None or isinstance(parsed.dtype, pd.DatetimeTZDtype):
        # several UTC offsets (or offsets we must convert): read everything as UTC
        parsed = _to_datetime_quietly(text, utc=True, mixed=False)
    assert parsed is not None
    retry = parsed.isna().to_numpy() & text.notna().to_numpy()
    if retry.any():
        # a second format: parse the leftovers element by element
        again = _to_datetime_quietly(text[retry], utc=_is_aware(parsed), mixed=True)
        if again is not None and again.notna().any():
            if _is_aware(again) != _is_aware(parsed):
                again = _to_datetime_quietly(text[retry], utc=True, mixed=True)
                parsed = _to_datetime_quietly(text, utc=True, mixed=False)
                assert again is not None and parsed is not None
            parsed = parsed.copy()
            parsed[retry] = again
    if _is_aware(parsed):
        parsed = parsed.dt.tz_convert(tz or "UTC").dt.tz_localize(None)
    return parsed


def _is_aware(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.DatetimeTZDtype)


def _to_datetime_quietly(text: pd.Series, *, utc: bool, mixed: bool) -> pd.Series | None:
    """Parse text dates; None when pandas cannot combine the time zones."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "could not infer format"
        warnings.simplefilter("error", FutureWarning)  # pandas 2.2: mixed time zones
        try:
            return pd.to_datetime(
                text, errors="coerce", utc=utc, format="mixed" if mixed else None
            )
        except (ValueError, TypeError, FutureWarning):
            return None


def as_date(value: Any, *, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The {name!r} parameter must be a date. Got {value!r} instead.") from exc
    if ts is pd.NaT:
        raise ValueError(f"The {name!r} parameter must be a date. Got {value!r} instead.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()
