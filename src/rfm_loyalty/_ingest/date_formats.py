"""Text date formats: classify values into patterns, one strftime format per column.

A text date column is read with one format. The format is told by the
values themselves: each distinct value is classified by a regular
expression into a *pattern* (the order of year, month and day, the
separator, whether it carries a UTC offset); the time of day may be present
or not, with or without seconds and fractions. Two numbers before the year
(``01/02/2024``) read day-first or month-first: a first number above 12
settles day-first, a second one above 12 month-first, and when no value
settles it the caller must say (``dayfirst=``).

The functions here work on distinct values only; ``dates.parse_dates``
parses the whole column with the format chosen here and sends back the
values that did not parse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty.exceptions import SchemaError

__all__ = [
    "DatePattern",
    "TextDates",
    "classify",
    "mixed_formats_error",
    "pattern_counts",
]

_TIME = (
    r"(?:(?P<tsep>[T ]|\s*)"
    r"(?:(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?P<f>[.,]\d{1,9})?)?"
    r"|(?P<zH>\d{1,2})时(?P<zM>\d{1,2})分(?:(?P<zS>\d{1,2})秒)?))?"
)
#: One regular expression for every supported form; the groups tell the pattern.
_FORMS = (
    r"^\s*(?:"
    # ISO: year first, then month and day
    r"(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})"
    # two numbers first: day and month in one order or the other
    r"|(?P<na>\d{1,2})(?P<nsep>[-/.])(?P<nb>\d{1,2})(?P=nsep)(?P<ny>\d{4})"
    # Chinese: 2011年12月9日
    r"|(?P<cy>\d{4})年(?P<cm>\d{1,2})月(?P<cd>\d{1,2})日"
    r")" + _TIME + r"(?P<zone>\s*(?:Z|[+-]\d{2}(?::?\d{2})?))?\s*$"
)
_FAMILY_NAMES = {
    "iso": "YYYY{sep}MM{sep}DD",
    "nn": "NN{sep}NN{sep}YYYY (day-first or month-first)",
    "zh": "YYYY年M月D日",
}


@dataclass(frozen=True)
class DatePattern:
    """One form of text date: family (iso, nn, zh), separator, and a UTC offset or not."""

    family: str
    sep: str
    zone: bool

    def describe(self) -> str:
        """Name the pattern for messages, e.g. ``'YYYY-MM-DD'``."""
        name = _FAMILY_NAMES[self.family].format(sep=self.sep)
        return name + (" with a UTC offset" if self.zone else "")


@dataclass
class TextDates:
    """Distinct text values classified: one row per value (``frame``), with its pattern."""

    values: pd.Index
    frame: pd.DataFrame

    def patterns(self) -> pd.Series:
        """Return the pattern of each value (None: no supported form)."""
        return self.frame["pattern"]

    def fields(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the first and second numbers of two-number values (0 elsewhere)."""
        first = pd.to_numeric(self.frame["na"], errors="coerce").fillna(0).to_numpy(np.int64)
        second = pd.to_numeric(self.frame["nb"], errors="coerce").fillna(0).to_numpy(np.int64)
        return first, second

    def formats(self, dayfirst: bool) -> pd.Series:
        """Return the strftime format of each value (``None`` for values of no pattern).

        A UTC offset is written ``%z``; the caller decides what it means.
        """
        f = self.frame
        fam = f["family"].to_numpy(dtype=object)
        sep = _fill(_fill(f["isep"], f["nsep"]), "")
        iso = "%Y" + sep + "%m" + sep + "%d"
        nn = ("%d" + sep + "%m" + sep + "%Y") if dayfirst else ("%m" + sep + "%d" + sep + "%Y")
        date = np.where(fam == "iso", iso.to_numpy(dtype=object),
                        np.where(fam == "nn", nn.to_numpy(dtype=object), "%Y年%m月%d日"))
        hours = f["H"].notna().to_numpy()
        clock = np.where(hours, "%H:%M", np.where(f["zH"].notna().to_numpy(), "%H时%M分", ""))
        clock = clock.astype(object) + np.where(hours & f["S"].notna().to_numpy(), ":%S", "")
        fraction = (_fill(f["f"], ".").str[:1] + "%f").to_numpy(dtype=object)
        clock = clock + np.where(hours & f["f"].notna().to_numpy(), fraction, "")
        clock = clock + np.where(f["zS"].notna().to_numpy(), "%S秒", "")
        time = np.where(clock != "", _fill(f["tsep"], "").to_numpy(dtype=object) + clock, "")
        blank = _fill(f["zone"], "").str.extract(r"^(\s*)", expand=False)
        zone = np.where(f["zone"].notna().to_numpy(), _fill(blank, "").to_numpy(dtype=object)
                        + "%z", "")
        out = (date.astype(object) + time + zone).astype(object)
        out[fam == ""] = None
        return pd.Series(out, index=f.index, dtype="object")

def _fill(values: pd.Series, other: object) -> pd.Series:
    """``values`` with missing entries taken from ``other`` (no dtype downcasting)."""
    filler: Any = other.to_numpy(dtype=object) if isinstance(other, pd.Series) else other
    return pd.Series(np.where(values.isna().to_numpy(), filler, values.to_numpy(dtype=object)),
                     index=values.index, dtype="object")


def classify(values: Sequence[str] | pd.Index) -> TextDates:
    """Classify distinct text values into date patterns."""
    index = pd.Index(values, dtype=object)
    text = pd.Series(index, dtype=object).astype(str)
    groups = text.str.extract(_FORMS)
    family = np.select(
        [groups["iy"].notna().to_numpy(), groups["na"].notna().to_numpy(),
         groups["cy"].notna().to_numpy()],
        ["iso", "nn", "zh"], default="",
    )
    sep = _fill(_fill(groups["isep"], groups["nsep"]), "")
    zone = groups["zone"].notna().to_numpy()
    patterns = [
        DatePattern(str(fam), s, bool(z)) if fam else None
        for fam, s, z in zip(family, sep, zone, strict=True)
    ]
    groups["pattern"] = pd.Series(patterns, index=groups.index, dtype=object)
    groups["family"] = family
    return TextDates(index, groups)


def pattern_counts(values: pd.Series) -> list[tuple[DatePattern | None, int, str]]:
    """Count the rows of each pattern in a whole column, with its first value.

    In order of first appearance; ``None`` stands for values of no supported
    form. Missing values are not counted.
    """
    codes, uniques = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    first_row = np.full(len(uniques), len(codes), dtype=np.int64)
    np.minimum.at(first_row, codes[codes >= 0], np.flatnonzero(codes >= 0))
    classified = classify(pd.Index(uniques, dtype=object))
    out: dict[DatePattern | None, list[int]] = {}
    for pattern, n, row in zip(classified.patterns(), counts, first_row, strict=True):
        entry = out.setdefault(pattern, [0, int(row)])
        entry[0] += int(n)
        entry[1] = min(entry[1], int(row))
    ordered = sorted(out.items(), key=lambda item: item[1][1])
    return [(p, n, str(values.iloc[row])) for p, (n, row) in ordered]


def mixed_formats_error(name: str, values: pd.Series) -> SchemaError:
    """Return the error for a column of several date patterns, each with its count."""
    counts = [c for c in pattern_counts(values) if c[0] is not None]
    listed = "; ".join(
        f"{pattern.describe()} ({n:,} {'value' if n == 1 else 'values'}, e.g. {example!r})"
        for pattern, n, example in counts
        if pattern is not None
    )
    return SchemaError(
        f"Column {name!r} mixes date formats: {listed}. One format is read per column: "
        "write every date in one format, or pass date_format= with the strftime pattern "
        "of one of them (rows in the others are then dropped as bad_date)."
    )
