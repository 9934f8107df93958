"""Reading dates: the date column of the orders, and the analysis date ``as_of``."""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.accounting import N_EXAMPLES
from rfm_loyalty._ingest.ids import is_missing_text
from rfm_loyalty._ingest.text_dates import read_text_dates, to_datetimes
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError

_NS_MIN = pd.Timestamp.min.ceil("s").to_datetime64().astype("datetime64[us]")
_NS_MAX = pd.Timestamp.max.floor("s").to_datetime64().astype("datetime64[us]")
#: Excel serial day numbers count from 1899-12-30 (serial 61 is 1900-03-01).
_EXCEL_ORIGIN = np.datetime64("1899-12-30", "ns")
_EXCEL_FIRST = 61
_DAY_NS = 86_400 * 10**9


def parse_dates(
    values: pd.Series,
    name: str,
    *,
    tz: str | None = None,
    date_format: str | None = None,
    dayfirst: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Return naive datetime64[ns] wall-clock times, a mask of unreadable ones, the reading.

    The reading says how text dates were read when the caller left it open
    (the format inferred and what settled it; ``QualityReport.readings``),
    else None. Datetime columns are taken as they are; text is read with one
    format (``date_format``, or inferred, see ``date_formats``); numbers only
    with ``date_format="excel"``, ``"epoch_s"`` or ``"epoch_ms"``. Dates
    outside pandas' nanosecond range (1677-09-22 to 2262-04-11) are unreadable.
    """
    dtype = values.dtype
    reading: str | None = None
    if isinstance(dtype, pd.ArrowDtype) and dtype.kind == "M":
        # Arrow timestamps (e.g. dtype_backend="pyarrow"): as numpy datetimes
        tz_name = dtype.pyarrow_dtype.tz
        values = values.astype("datetime64[ns]" if tz_name is None
                               else pd.DatetimeTZDtype("ns", tz_name))
        dtype = values.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        local = values if tz is None else values.dt.tz_convert(tz)
        out = local.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    elif pd.api.types.is_datetime64_dtype(dtype):
        out = values.to_numpy(dtype="datetime64[ns]")
    elif date_format in DATE_NUMBER_FORMATS:
        out = _from_numbers(values, name, date_format, tz)
    elif pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and date_format is None
    ):
        raise SchemaError(
            f"Column {name!r} holds numbers ({dtype}), not dates. Pass "
            "date_format='excel' for Excel serial day numbers, date_format='epoch_s' or "
            "'epoch_ms' for seconds or milliseconds since 1970-01-01 (UTC), "
            "date_format='%Y%m%d' for numbers such as 20240105, or convert it with "
            "pd.to_datetime(..., unit=...)."
        )
    elif pd.api.types.is_numeric_dtype(dtype):  # digits such as 20240105, with a pattern
        assert date_format is not None
        out = _in_range(_with_format(_digits(values), date_format, tz))
    else:
        text = values.reset_index(drop=True)
        kind = pd.api.types.infer_dtype(text, skipna=True)
        if kind not in ("string", "empty"):
            out = _from_objects(text, name, tz=tz, date_format=date_format, dayfirst=dayfirst)
        elif date_format is not None:
            out = _in_range(_with_format(text, date_format, tz))
        else:
            parsed, reading = read_text_dates(text, name, dayfirst=dayfirst, tz=tz)
            out = _in_range(parsed)
    bad = np.isnat(out)
    if bad.all():
        first = values.dropna()
        example = f" (first value: {first.iloc[0]!r})" if len(first) else ""
        raise SchemaError(
            f"Column {name!r} holds no readable date{example}. Text dates are read in the "
            "forms YYYY-MM-DD (or with / or .), DD/MM/YYYY or MM/DD/YYYY (with / . or -) and "
            "2011年12月9日, each with an optional time; pass date_format= with the strftime "
            "pattern of another form."
        )
    return out, bad, reading


#: ``date_format`` keywords for numeric dates.
DATE_NUMBER_FORMATS = ("excel", "epoch_s", "epoch_ms")


def bad_date_note(values: pd.Series, bad: np.ndarray, reading: str | None) -> str:
    """Examples of the unreadable dates of a column, for the drop warning ("" if none).

    Missing values (None, NaN, NaT, blank text and the missing spellings of
    ``ids.MISSING_TEXTS``) are missing dates, not examples of unreadable ones.
    Only the first thousand bad rows are looked at.
    """
    rows = np.flatnonzero(bad)[:1000]
    if not len(rows):
        return ""
    failed = pd.Series(values.to_numpy(dtype=object)[rows], dtype=object).dropna()
    distinct = pd.Index(pd.unique(failed.astype(str).str.strip()))
    texts = [str(t) for t in distinct[~is_missing_text(distinct)] if t != "NaT"]
    if not texts:
        return ""
    examples = ", ".join(repr(t) for t in texts[:N_EXAMPLES])
    how = f" (the column is read as {reading})" if reading else ""
    return f"e.g. {examples}{how}"


def _from_objects(
    values: pd.Series, name: str, *, tz: str | None, date_format: str | None,
    dayfirst: bool | None,
) -> np.ndarray:
    """Python objects: dates and datetimes as they are, text by the text rules."""
    is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    others = values[~is_text]
    if len(others):
        out[~is_text] = _in_range(np.array([_one_stamp(v, tz) for v in others],
                                           dtype="datetime64[us]"))
    if is_text.any():
        text = values[is_text].astype(str).reset_index(drop=True)
        if date_format is not None:
            out[is_text] = _in_range(_with_format(text, date_format, tz))
        else:
            out[is_text] = _in_range(read_text_dates(text, name, dayfirst=dayfirst, tz=tz)[0])
    return out


def _one_stamp(value: Any, tz: str | None) -> np.datetime64:
    """One date object as a wall-clock time (aware ones in ``tz`` when given)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ts = pd.Timestamp(value)
    except (TypeError, ValueError, OverflowError):
        return np.datetime64("NaT")
    if ts is pd.NaT:
        return np.datetime64("NaT")
    if ts.tzinfo is not None:
        ts = (ts.tz_convert(tz) if tz is not None else ts).tz_localize(None)
    return ts.as_unit("us").to_datetime64()


def _in_range(parsed: pd.Series | np.ndarray) -> np.ndarray:
    """As naive datetime64[ns]; dates outside the nanosecond range are NaT (never wrapped)."""
    array = np.asarray(parsed)
    if array.dtype == np.dtype("datetime64[ns]"):
        return array
    if array.dtype.kind != "M":
        array = pd.to_datetime(pd.Series(array), errors="coerce").to_numpy()
        if array.dtype == np.dtype("datetime64[ns]"):
            return array
    coarse = array.astype("datetime64[us]")
    with np.errstate(invalid="ignore"):
        outside = (coarse < _NS_MIN) | (coarse > _NS_MAX)
    if outside.any():
        coarse = coarse.copy()
        coarse[outside] = np.datetime64("NaT")
    return coarse.astype("datetime64[ns]")


def _with_format(text: pd.Series, date_format: str, tz: str | None) -> pd.Series:
    """Text read with the caller's strftime pattern; what does not match is NaT."""
    fmt = date_format.strip()
    parsed = to_datetimes(text, fmt, tz, distinct=not fmt.startswith("%Y-%m-%d"))
    failed = parsed.isna().to_numpy() & text.notna().to_numpy()
    if failed.any():  # surrounding blanks are not part of the pattern
        again = to_datetimes(text[failed].str.strip(), fmt, tz)
        parsed = parsed.copy()
        parsed[failed] = again.to_numpy()
    return parsed


def _digits(values: pd.Series) -> pd.Series:
    """Whole numbers as their digits (``20240105.0`` -> ``"20240105"``); others missing."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
    text = np.full(len(numbers), None, dtype=object)
    text[whole] = np.char.mod("%d", numbers[whole].astype(np.int64)).astype(object)
    return pd.Series(text, dtype=object)


def _from_numbers(values: pd.Series, name: str, date_format: str, tz: str | None) -> np.ndarray:
    """Excel serial days (wall clock) or epoch seconds/milliseconds (UTC instants)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise SchemaError(f"Column {name!r} holds booleans, not {date_format} dates.")
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        if date_format == "excel":
            nanos = np.round(numbers * (_DAY_NS / 10**6)) * 10**6  # to the millisecond
            valid = np.isfinite(numbers) & (numbers >= _EXCEL_FIRST)
            base = _EXCEL_ORIGIN.astype(np.int64)
        else:
            unit = 10**9 if date_format == "epoch_s" else 10**6
            nanos = np.round(numbers * unit)
            valid = np.isfinite(numbers)
            base = np.int64(0)
        limit = float(np.iinfo(np.int64).max) - abs(base) - _DAY_NS
        valid &= np.abs(nanos) < limit
    out = np.where(valid, nanos, 0).astype(np.int64) + base
    stamps = out.view("datetime64[ns]").copy()
    stamps[~valid] = np.datetime64("NaT")
    if date_format != "excel":  # instants: the wall clock of tz (UTC by default)
        local = pd.Series(stamps).dt.tz_localize("UTC").dt.tz_convert(tz or "UTC")
        stamps = local.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return stamps


#: The days an ``as_of`` may be (the day after it must be a nanosecond timestamp too).
_AS_OF_MIN = pd.Timestamp("1677-09-22").as_unit("us")
_AS_OF_END = pd.Timestamp("2262-04-11").as_unit("us")
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
            f"{wanted} within pandas' range (1677-09-22 to 2262-04-10). Got {value!r} instead."
        ) from exc
    if ts is pd.NaT:
        raise InvalidParameterError(f"{wanted}. Got {value!r} instead.")
    if not _AS_OF_MIN <= ts.as_unit("us") < _AS_OF_END:
        raise InvalidParameterError(
            f"{wanted} within pandas' range (1677-09-22 to 2262-04-10). Got {value!r} instead."
        )
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
