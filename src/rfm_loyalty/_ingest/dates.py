"""Reading dates: the date column of the orders, and the analysis date ``as_of``."""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty.exceptions import InvalidParameterError, SchemaError


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


#: ISO 8601 calendar dates, optionally with a time: the only text ``as_of`` accepts.
_ISO_DATE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$"
)
#: Text with two numbers before a four-digit year: day-first or month-first.
_TWO_WAY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[T ].*)?$")


def as_date(value: Any, *, name: str) -> pd.Timestamp:
    """Return an analysis date (midnight, tz-naive) from an unambiguous value.

    Accepted: ISO text (``"2011-12-09"``, ``"2011-12-09 10:00"``),
    ``datetime.date``, ``datetime.datetime``, ``numpy.datetime64`` and
    ``pandas.Timestamp``. A time-zone-aware value keeps its wall-clock date.
    Anything else (``"09/12/2011"``, which reads two ways; ``20240305``, a
    number) raises ``InvalidParameterError`` saying why.

    Examples
    --------
    >>> as_date("2011-12-09 10:05", name="as_of")
    Timestamp('2011-12-09 00:00:00')
    >>> as_date("09/12/2011", name="as_of")
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.InvalidParameterError: The 'as_of' parameter must be an unambiguous date: ISO text such as '2011-12-09', a date, a datetime or a Timestamp. Got '09/12/2011' instead, which reads as 2011-12-09 (day first) or as 2011-09-12 (month first); write it as ISO text.
    """  # noqa: E501
    wanted = (
        f"The {name!r} parameter must be an unambiguous date: ISO text such as "
        "'2011-12-09', a date, a datetime or a Timestamp"
    )
    if isinstance(value, str):
        two_way = _TWO_WAY.match(value)
        if two_way is not None:
            raise InvalidParameterError(
                f"{wanted}. Got {value!r} instead{_readings(two_way)}; write it as ISO text."
            )
        if _ISO_DATE.match(value) is None:
            raise InvalidParameterError(f"{wanted}. Got {value!r} instead.")
    elif isinstance(value, (bool, int, float, np.integer, np.floating)):
        raise InvalidParameterError(
            f"{wanted}. Got the number {value!r} instead; write it as text, e.g. '2024-03-05'."
        )
    elif not isinstance(value, (_dt.date, np.datetime64, pd.Timestamp)):
        raise InvalidParameterError(f"{wanted}. Got {value!r} ({type(value).__name__}) instead.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidParameterError(
            f"{wanted} within pandas' range (1677-09-22 to 2262-04-11). Got {value!r} instead."
        ) from exc
    if ts is pd.NaT:
        raise InvalidParameterError(f"{wanted}. Got {value!r} instead.")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _readings(match: re.Match[str]) -> str:
    first, second, year = (int(g) for g in match.groups())
    readings = []
    for label, day, month in (("day first", first, second), ("month first", second, first)):
        try:
            readings.append(f"as {_dt.date(year, month, day).isoformat()} ({label})")
        except ValueError:
            continue
    if not readings:
        return ", which is not a date either way"
    if len(readings) == 1:
        return f", which reads only {readings[0]}"
    return f", which reads {readings[0]} or {readings[1]}"
