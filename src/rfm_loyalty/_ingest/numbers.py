"""Reading amounts: numbers from numeric columns or from text, by one rule.

**The amount text rule.** A text amount is read, after Unicode NFKC
normalisation (full-width digits and signs such as ``１２．５０``, ``－`` or
``￥`` become their ASCII forms) and stripping white space, when it is:

* digits with at most one decimal mark (``decimal=``, ``"."`` by default),
  optionally an exponent (``1.5E+03``); with ``thousands=`` given, the
  integer part may be grouped by it in threes (``1,200.50``, ``1.200,50``,
  ``1 200,50``); without it, no grouping is accepted;
* with at most one currency sign or code, before or after the number
  (``¥ ￥ $ € £ 元 RMB CNY USD EUR``, codes in any case, with or without a
  space: ``￥1,200.50``, ``12.50 EUR``, ``35元``);
* negative with one leading minus (before or after a leading currency:
  ``-$12.50``, ``$-12.50``) or in accounting brackets (``(12.50)``,
  ``($12.50)``); a leading plus is allowed.

Anything else (two currencies, ``12.50-``, ``1,2,3``, a decimal comma while
``decimal="."``, words) is not an amount: the line is dropped as
``bad_amount`` and counted, and the warning shows examples and, when the
values look like decimal commas or thousands separators, the option to give.
The rule runs on the distinct texts of a column (vectorised string methods),
never once per row.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.accounting import N_EXAMPLES
from rfm_loyalty._ingest.ids import is_missing_text
from rfm_loyalty.exceptions import SchemaError

#: Currency signs and codes one amount may carry, before or after the number.
CURRENCY_SIGNS: tuple[str, ...] = ("¥", "$", "€", "£", "元")
CURRENCY_CODES: tuple[str, ...] = ("RMB", "CNY", "USD", "EUR")


class Numbers(NamedTuple):
    """Amounts read from one column."""

    #: float64 values (NaN where unreadable)
    values: np.ndarray
    #: True where the value is missing or unreadable (or not finite)
    bad: np.ndarray
    #: examples of unreadable text and the option that would read them ("" if none)
    note: str


def parse_numbers(
    values: pd.Series, name: str, decimal: str = ".", thousands: str | None = None
) -> Numbers:
    """Read a column of amounts: numbers as they are, text by the amount text rule.

    Raises ``SchemaError`` when the column holds booleans, or text of which
    no value reads as a number (with examples and the option that would
    read them).

    Examples
    --------
    >>> parse_numbers(pd.Series(["￥1,200.50", "(3.25)", "12.50 EUR"]), "amount",
    ...               thousands=",").values.tolist()
    [1200.5, -3.25, 12.5]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        raise SchemaError(f"Column {name!r} holds booleans; it must hold numbers.")
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        return Numbers(numbers, ~np.isfinite(numbers), "")
    codes, uniques = pd.factorize(values)
    distinct = _read_distinct(pd.Series(uniques, dtype=uniques.dtype), decimal, thousands)
    numbers = np.append(distinct, np.nan)[codes]  # code -1 (missing): the last slot
    unread = ~np.isfinite(distinct)
    note = _note(uniques, unread, decimal, thousands) if unread.any() else ""
    if len(distinct) and unread.all():
        raise SchemaError(
            f"Column {name!r} must hold amounts, but none of its values reads as one "
            f"({note}). Amounts are digits with an optional currency sign or code and "
            "accounting brackets for negatives; see decimal= and thousands=."
        )
    return Numbers(numbers, ~np.isfinite(numbers), note)


_CURRENCY = "(?:[" + "".join(CURRENCY_SIGNS) + "]|(?i:" + "|".join(CURRENCY_CODES) + "))"


def amount_pattern(decimal: str, thousands: str | None) -> str:
    """Return the regular expression of the amount text rule (after NFKC and stripping)."""
    d = re.escape(decimal)
    digits = r"\d+"
    if thousands is not None:
        t = re.escape(thousands)
        digits = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)"
    number = rf"(?:{digits}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?"
    return (
        rf"^(?P<open>\()?\s*(?P<sign>[-+])?\s*(?P<lead>{_CURRENCY})?\s*(?P<sign2>[-+])?\s*"
        rf"(?P<num>{number})\s*(?P<trail>{_CURRENCY})?\s*(?P<close>\))?$"
    )


def _read_distinct(uniques: pd.Series, decimal: str, thousands: str | None) -> np.ndarray:
    """Float values of distinct raw values (numbers kept, text by the rule, NaN otherwise)."""
    out = np.full(len(uniques), np.nan)
    if len(uniques) == 0:
        return out
    if pd.api.types.is_string_dtype(uniques.dtype) and not pd.api.types.is_object_dtype(
        uniques.dtype
    ):
        is_text = np.ones(len(uniques), dtype=bool)
    elif pd.api.types.infer_dtype(uniques, skipna=True) == "string":
        is_text = np.ones(len(uniques), dtype=bool)
    else:
        is_text = np.fromiter((isinstance(v, str) for v in uniques), bool, len(uniques))
        others = uniques[~is_text]
        if len(others):
            numeric = pd.to_numeric(others.where(~others.map(_is_bool), None), errors="coerce")
            out[~is_text] = np.asarray(numeric, dtype="float64")
    if is_text.any():
        text = uniques[is_text].astype("string")
        out[is_text] = _read_text(text, decimal, thousands)
    with np.errstate(invalid="ignore"):
        out[~np.isfinite(out)] = np.nan
    return out


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _read_text(text: pd.Series, decimal: str, thousands: str | None) -> np.ndarray:
    """Apply the amount text rule to distinct texts (pandas string dtype)."""
    spacing = thousands in (" ", "\u00a0")
    cleaned = text.str.normalize("NFKC").str.strip()
    parts = cleaned.str.extract(amount_pattern(decimal, " " if spacing else thousands))
    has = {k: parts[k].notna().to_numpy(dtype=bool) for k in parts.columns}
    signs = parts["sign"].fillna("").astype(str) + parts["sign2"].fillna("").astype(str)
    ok = (
        has["num"]
        & (has["open"] == has["close"])
        & ~(has["lead"] & has["trail"])
        & (signs.str.len().to_numpy() <= 1)
        & ~(has["open"] & (signs.str.len().to_numpy() == 1))
    )
    num = parts["num"].fillna("")
    if thousands is not None:
        num = num.str.replace(" " if spacing else thousands, "", regex=False)
    if decimal != ".":
        num = num.str.replace(decimal, ".", regex=False)
    value = np.array(pd.to_numeric(num.where(ok, None), errors="coerce"), dtype="float64")
    negative = has["open"] | (signs == "-").to_numpy(dtype=bool)
    value[negative] = -value[negative]
    value[~ok] = np.nan
    return value


_DECIMAL_COMMA = re.compile(r"^\D*\d{1,3}(?:\.\d{3})*,\d{1,2}\D*$")
_COMMA_THOUSANDS = re.compile(r"^\D*\d{1,3}(?:,\d{3})+(?:\.\d+)?\D*$")


def _note(uniques: pd.Index, unread: np.ndarray, decimal: str, thousands: str | None) -> str:
    """Examples of unreadable text, and the option that would read them.

    Missing spellings (``NA``, ``NULL``... see ``ids.MISSING_TEXTS``) are
    missing amounts, not examples of unreadable ones.
    """
    failed = pd.Index(uniques[unread][:1000])
    if pd.api.types.infer_dtype(failed, skipna=True) != "string":
        failed = pd.Index([v for v in failed if isinstance(v, str)], dtype=object)
    failed = pd.Index(failed.astype(str).str.strip())
    texts = [str(t) for t in failed[~is_missing_text(failed)]]
    if not texts:
        return ""
    examples = ", ".join(repr(t) for t in texts[:N_EXAMPLES])
    note = f"e.g. {examples}"
    sample = [str(t).strip() for t in texts]
    if decimal == "." and any(_DECIMAL_COMMA.match(t) for t in sample):
        dotted = any("." in t for t in sample if _DECIMAL_COMMA.match(t))
        more = " and thousands='.'" if dotted else ""
        note += f"; they look like decimal commas: pass decimal=','{more}"
    elif thousands is None and any(_COMMA_THOUSANDS.match(t) for t in sample):
        note += "; they look like thousands separators: pass thousands=','"
    return note


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
