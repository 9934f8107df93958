"""Reading a column of text dates with one format: choose it, parse, check the rest.

The format is chosen from the distinct values of a strided sample of the
column (``date_formats.classify``), the whole column is parsed with it in one
vectorised call, and only the values that did not parse are looked at again:
the same pattern written with another time part (``2024-01-05`` among
``2024-01-05 10:00``) is parsed with its own format; another pattern is the
mixed-formats error; a two-number value that reads only the other way round
settles, or contradicts, the day/month order; anything else is a bad date.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.date_formats import (
    DatePattern,
    TextDates,
    classify,
    mixed_formats_error,
)
from rfm_loyalty.exceptions import SchemaError

__all__ = ["SAMPLE_ROWS", "choose_format", "read_text_dates", "to_datetimes"]

#: Rows of a text column whose distinct values choose the format (strided over it).
SAMPLE_ROWS = 20_000
_OFFSET = r"(Z|[+-]\d{2}(?::?\d{2})?)\s*$"


def to_datetimes(text: pd.Series, fmt: str, tz: str | None) -> pd.Series:
    """Parse text with one strftime format; unreadable values are NaT.

    A UTC offset (``%z``) follows the rule of time-zone-aware columns: the
    wall-clock time written is kept, unless ``tz`` is given, in which case
    the instant is converted to ``tz``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if "%z" not in fmt:
            return pd.to_datetime(text, format=fmt, errors="coerce")
        if tz is not None:
            instants = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
            return instants.dt.tz_convert(tz).dt.tz_localize(None)
        warnings.simplefilter("error", FutureWarning)  # pandas 2.2: mixed offsets
        try:
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        except (ValueError, FutureWarning):
            parsed = None
        warnings.simplefilter("ignore", FutureWarning)
        if parsed is not None and isinstance(parsed.dtype, pd.DatetimeTZDtype):
            return parsed.dt.tz_localize(None)  # one offset: its wall clock
        if parsed is not None and parsed.isna().all():
            return parsed.astype("datetime64[ns]")
        # several offsets: each value keeps its own wall clock
        instants = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        offsets = text.str.extract(_OFFSET, expand=False)
        codes, uniques = pd.factorize(offsets)
        shift = np.array([_offset_ns(u) for u in uniques] + [0], dtype=np.int64)[codes]
        wall = instants.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        return pd.Series(wall + shift.astype("timedelta64[ns]"), index=text.index)


def _offset_ns(offset: str) -> int:
    if offset == "Z":
        return 0
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return sign * minutes * 60 * 10**9


def _sample(text: pd.Series) -> pd.Index:
    step = max(1, len(text) // SAMPLE_ROWS)
    return pd.Index(pd.unique(text.iloc[::step].dropna()), dtype=object)


def _main_format(classified: TextDates, pattern: DatePattern, dayfirst: bool) -> str:
    formats = classified.formats(dayfirst)[classified.patterns() == pattern]
    return str(Counter(formats.tolist()).most_common(1)[0][0])


def choose_format(
    text: pd.Series, name: str, dayfirst: bool | None
) -> tuple[DatePattern, bool | None, str | None, TextDates]:
    """Choose the pattern of a text column from a sample of it.

    Returns the pattern, the day-first reading (for two-number dates: given,
    or settled by the sample; None: still open), an example that settled
    it and the classified sample. Raises the mixed-formats error when the
    sample holds two patterns.
    """
    classified = classify(_sample(text))
    present = {p for p in classified.patterns() if p is not None}
    if not present:  # the sample may hold only bad values: look at every value
        classified = classify(pd.Index(pd.unique(text.dropna()), dtype=object))
        present = {p for p in classified.patterns() if p is not None}
    if not present:
        raise _unreadable(name, text)
    if len(present) > 1:
        raise mixed_formats_error(name, text)
    (pattern,) = present
    if pattern.family != "nn" or dayfirst is not None:
        return pattern, dayfirst, None, classified
    first, second = classified.fields()
    values = classified.values
    day_first = np.flatnonzero((first > 12) & (second <= 12))
    month_first = np.flatnonzero((second > 12) & (first <= 12))
    if len(day_first) and len(month_first):
        raise _two_readings_error(name, text)
    if len(day_first):
        return pattern, True, str(values[day_first[0]]), classified
    if len(month_first):
        return pattern, False, str(values[month_first[0]]), classified
    return pattern, None, None, classified


def read_text_dates(
    text: pd.Series, name: str, *, dayfirst: bool | None, tz: str | None
) -> tuple[pd.Series, str]:
    """Parse a column of text dates with one inferred format; return it and the reading."""
    pattern, reading, settled_by, sample = choose_format(text, name, dayfirst)
    open_order = pattern.family == "nn" and reading is None
    order = bool(reading) if reading is not None else False  # month first until settled
    fmt = _main_format(sample, pattern, order)
    parsed, other_way = _parse_all(text, name, pattern, fmt, order, tz)
    if pattern.family == "nn" and dayfirst is None:
        if other_way:
            evidence = settled_by or _settling_value(text, parsed)
            if evidence is not None:
                raise _two_readings_error(name, text)
            # nothing read this way that could not read the other: switch
            order, settled_by = not order, other_way[0]
            fmt = _main_format(sample, pattern, order)
            parsed, other_way = _parse_all(text, name, pattern, fmt, order, tz)
            if other_way:  # pragma: no cover - both orders contradicted
                raise _two_readings_error(name, text)
        elif open_order:
            settled_by = _settling_value(text, parsed)
            if settled_by is None:
                raise _ambiguous_error(name, text, pattern, sample, tz)
    return parsed, _describe(pattern, fmt, order, dayfirst, settled_by, tz)


def _parse_all(
    text: pd.Series, name: str, pattern: DatePattern, fmt: str, dayfirst: bool, tz: str | None
) -> tuple[pd.Series, list[str]]:
    """Parse every value with ``fmt``; the leftovers by their own time part.

    Returns the parsed column and the two-number values that read only with
    the day and month the other way round.
    """
    parsed = to_datetimes(text, fmt, tz)
    failed = parsed.isna().to_numpy() & text.notna().to_numpy()
    if not failed.any():
        return parsed, []
    codes, uniques = pd.factorize(text[failed].str.strip())
    classified = classify(pd.Index(uniques, dtype=object))
    patterns = classified.patterns()
    if any(p is not None and p != pattern for p in patterns):
        raise mixed_formats_error(name, text)
    formats = classified.formats(dayfirst)
    # in microseconds: a date beyond the nanosecond range is marked later, not wrapped
    again = pd.Series(pd.NaT, index=range(len(uniques)), dtype="datetime64[us]")
    for each in pd.unique(formats.dropna()):
        at = np.flatnonzero((formats == each).to_numpy())
        values = pd.Series(np.asarray(uniques, dtype=object)[at])
        again.iloc[at] = to_datetimes(values, str(each), tz).to_numpy(dtype="datetime64[us]")
    other_way: list[str] = []
    if pattern.family == "nn":
        first, second = classified.fields()
        month = second if dayfirst else first
        day = first if dayfirst else second
        turned = (month > 12) & (day <= 12) & (patterns == pattern).to_numpy()
        other_way = [str(uniques[int(i)]) for i in np.flatnonzero(turned)]
    parsed = parsed.astype("datetime64[us]")
    parsed[failed] = again.to_numpy()[codes]
    return parsed, other_way


def _settling_value(text: pd.Series, parsed: pd.Series) -> str | None:
    """Return a two-number value whose day is above 12 (it reads one way only), if any."""
    stamps = parsed.to_numpy(dtype="datetime64[ns]")
    with np.errstate(invalid="ignore"):
        days = (stamps.astype("datetime64[D]") - stamps.astype("datetime64[M]")).astype(np.int64)
    hit = np.flatnonzero((days >= 12) & ~np.isnat(stamps))
    return str(text.iloc[hit[0]]) if len(hit) else None


def _describe(
    pattern: DatePattern, fmt: str, dayfirst: bool, given: bool | None,
    settled_by: str | None, tz: str | None,
) -> str:
    out = f"{pattern.describe()}, format {fmt!r}"
    if pattern.family == "nn":
        order = "day-first" if dayfirst else "month-first"
        why = f"given as dayfirst={given!r}" if given is not None else (
            f"settled by values such as {settled_by!r}")
        out += f"; {order} ({why})"
    if pattern.zone:
        out += (f"; UTC offsets converted to {tz}" if tz is not None
                else "; UTC offsets: the wall-clock time written is kept")
    return out


def _unreadable(name: str, text: pd.Series) -> SchemaError:
    first = text.dropna()
    example = f" (first value: {first.iloc[0]!r})" if len(first) else ""
    return SchemaError(
        f"Column {name!r} holds no readable date{example}. Text dates are read in the forms "
        "YYYY-MM-DD (or with / or .), DD/MM/YYYY or MM/DD/YYYY (with / . or -) and "
        "2011年12月9日, each with an optional time; pass date_format= with the strftime "
        "pattern of another form."
    )


def _two_readings_error(name: str, text: pd.Series) -> SchemaError:
    """Return the error for values read only day-first mixed with values only month-first."""
    codes, uniques = pd.factorize(text.str.strip())
    classified = classify(pd.Index(uniques, dtype=object))
    first, second = classified.fields()
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    nn = np.array([p is not None and p.family == "nn" for p in classified.patterns()])
    parts = []
    for label, mask in (("day-first", (first > 12) & (second <= 12) & nn),
                        ("month-first", (second > 12) & (first <= 12) & nn)):
        at = np.flatnonzero(mask)
        parts.append(f"{int(counts[at].sum()):,} read only {label} (e.g. {str(uniques[at[0]])!r})")
    return SchemaError(
        f"Column {name!r} mixes day-first and month-first dates: {parts[0]} and {parts[1]}. "
        "One order is read per column: write the dates in one order, or pass "
        "dayfirst=True or dayfirst=False (values that do not read that way are then "
        "dropped as bad_date)."
    )


def _ambiguous_error(
    name: str, text: pd.Series, pattern: DatePattern, sample: TextDates, tz: str | None
) -> SchemaError:
    """Every value reads both day-first and month-first: name both readings."""
    ranges = []
    for dayfirst, label in ((True, "day-first"), (False, "month-first")):
        fmt = _main_format(sample, pattern, dayfirst)
        stamps = to_datetimes(text, fmt, tz).dropna()
        span = (f"{stamps.min().date()} to {stamps.max().date()}" if len(stamps)
                else "no date")
        ranges.append(f"{label} ({fmt!r}) they run from {span}")
    examples = ", ".join(repr(str(v)) for v in pd.unique(text.dropna())[:3])
    return SchemaError(
        f"Column {name!r} holds dates that read both day-first and month-first: no value "
        f"has a number above 12 before the year (e.g. {examples}). Read {ranges[0]}; read "
        f"{ranges[1]}. Pass dayfirst=True or dayfirst=False to say which reading is right."
    )


