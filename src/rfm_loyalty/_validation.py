"""Parameter checks shared by every public function: one message style, one place.

A check is a small constraint object (``Days(minimum=1)``, ``Fraction()``,
``Choice("net", "drop", "error")``...) that knows how to describe what it
accepts. ``check(value, constraint, name=..., owner=...)`` returns the value in
its canonical Python type or raises :class:`~rfm_loyalty.exceptions.InvalidParameterError`
with the library's message::

    The 'churn_days' parameter of analyze must be a whole number of days >= 1.
    Got 0 instead; pass e.g. churn_days=360.

``InvalidParameterError`` is both a ``ValueError`` and a ``TypeError`` (as in
scikit-learn), so callers catching either keep working whatever went wrong.
``check_params`` checks several values against a declarative table, the way
scikit-learn's ``_parameter_constraints`` does, so that a public function states
its parameters once and fails before any work.

``require_columns`` is the one check that a table has the columns a function
needs, with a close-match suggestion among the columns found.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rfm_loyalty.exceptions import InvalidParameterError, SchemaError

__all__ = [
    "Amount",
    "Boolean",
    "Choice",
    "Constraint",
    "Days",
    "Fraction",
    "Instance",
    "Optional",
    "Real",
    "Whole",
    "check",
    "check_params",
    "close_match",
    "require_columns",
]


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


class Constraint:
    """What a parameter accepts; subclasses implement ``accepts`` and ``describe``.

    ``example`` is a valid value shown as "pass e.g. name=example"; ``advice``
    replaces that sentence when an example is not a plain value.
    """

    example: Any = None
    advice: str = ""

    def accepts(self, value: Any) -> bool:
        """Return whether ``value`` satisfies the constraint."""
        raise NotImplementedError

    def describe(self) -> str:
        """Return the words after "must be" in the error message."""
        raise NotImplementedError

    def normalise(self, value: Any) -> Any:
        """Return an accepted value in its canonical Python type."""
        return value

    def suggest(self, value: Any) -> str:
        """Return a guess at what was meant (e.g. 0.3 for 30), or ""."""
        return ""


@dataclass(frozen=True)
class Whole(Constraint):
    """A whole number (not a bool) within ``[minimum, maximum]``."""

    minimum: int | None = None
    maximum: int | None = None
    unit: str = ""
    example: Any = None

    def accepts(self, value: Any) -> bool:
        if not _is_integer(value):
            return False
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )

    def describe(self) -> str:
        noun = f"a whole number of {self.unit}" if self.unit else "a whole number"
        if self.minimum is not None and self.maximum is not None:
            return f"{noun} from {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"{noun} >= {self.minimum}"
        if self.maximum is not None:
            return f"{noun} <= {self.maximum}"
        return noun

    def normalise(self, value: Any) -> int:
        return int(value)


def Days(minimum: int = 1, maximum: int | None = None, example: Any = None) -> Whole:
    """Return the constraint "a whole number of days" (by default >= 1)."""
    return Whole(minimum=minimum, maximum=maximum, unit="days", example=example)


@dataclass(frozen=True)
class Real(Constraint):
    """A finite real number (not a bool) within the interval from ``low`` to ``high``.

    ``closed`` says which ends belong to the interval: "both", "left",
    "right" or "neither".
    """

    low: float = -math.inf
    high: float = math.inf
    closed: str = "both"
    what: str = "a finite number"
    example: Any = None

    def accepts(self, value: Any) -> bool:
        if not _is_real(value):
            return False
        number = float(value)
        if not math.isfinite(number):
            return False
        left_ok = number >= self.low if self.closed in ("both", "left") else number > self.low
        right_ok = number <= self.high if self.closed in ("both", "right") else number < self.high
        return left_ok and right_ok

    def describe(self) -> str:
        low_open = self.closed in ("right", "neither")
        high_open = self.closed in ("left", "neither")
        if math.isinf(self.low) and math.isinf(self.high):
            return self.what
        if math.isinf(self.high):
            return f"{self.what} {'>' if low_open else '>='} {_fmt(self.low)}"
        if math.isinf(self.low):
            return f"{self.what} {'<' if high_open else '<='} {_fmt(self.high)}"
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"{self.what} in {left}{_fmt(self.low)}, {_fmt(self.high)}{right}"

    def normalise(self, value: Any) -> float:
        return float(value)

    def suggest(self, value: Any) -> str:
        # a percentage given for a fraction: margin=30 for 0.3
        whole = _is_real(value) and math.isfinite(float(value)) and float(value).is_integer()
        if self.what == "a fraction" and whole and 2 <= float(value) <= 100:
            guess = float(value) / 100
            if self.accepts(guess):
                return f"did you mean {guess!r}?"
        return ""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def Fraction(*, low_open: bool = False, high_open: bool = False,
             example: Any = None) -> Real:
    """Return the constraint "a fraction between 0 and 1" (ends included unless open)."""
    closed = {(False, False): "both", (True, False): "right", (False, True): "left",
              (True, True): "neither"}[(low_open, high_open)]
    return Real(0.0, 1.0, closed=closed, what="a fraction", example=example)


def Amount(example: Any = None) -> Real:
    """Return the constraint "a finite amount of money >= 0" (the orders' currency)."""
    return Real(0.0, math.inf, closed="left", what="a finite amount", example=example)


@dataclass(frozen=True)
class Choice(Constraint):
    """One of a fixed set of values (compared with ``==``, type included for bools)."""

    options: tuple[Any, ...]
    example: Any = None

    def __init__(self, *options: Any, example: Any = None) -> None:
        object.__setattr__(self, "options", tuple(options))
        object.__setattr__(self, "example", example)

    def accepts(self, value: Any) -> bool:
        try:
            return any(type(value) is type(o) and value == o for o in self.options) or (
                isinstance(value, str) and value in self.options
            )
        except (TypeError, ValueError):  # e.g. an array compared with a string
            return False

    def describe(self) -> str:
        return f"one of {list(self.options)!r}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False (numpy bools included)."""

    example: Any = None

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def describe(self) -> str:
        return "True or False"

    def normalise(self, value: Any) -> bool:
        return bool(value)


@dataclass(frozen=True)
class Instance(Constraint):
    """An instance of one of ``types``; ``what`` describes them in words."""

    types: tuple[type, ...]
    what: str
    example: Any = None
    advice: str = ""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or what ``inner`` accepts."""

    inner: Constraint

    @property
    def example(self) -> Any:  # type: ignore[override]
        return self.inner.example

    @property
    def advice(self) -> str:  # type: ignore[override]
        return self.inner.advice

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)

    def suggest(self, value: Any) -> str:
        return self.inner.suggest(value)

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def normalise(self, value: Any) -> Any:
        return None if value is None else self.inner.normalise(value)


def check(value: Any, constraint: Constraint, *, name: str, owner: str, hint: str = "") -> Any:
    """Return ``value`` normalised, or raise the library's parameter error.

    Parameters
    ----------
    value : object
        The value received.
    constraint : Constraint
        What the parameter accepts.
    name, owner : str
        Parameter name and the public function or class it belongs to.
    hint : str, optional
        A sentence saying how to fix it; default "pass e.g. name=example"
        when the constraint has an example.

    Returns
    -------
    object
        The value in its canonical type (``int`` for whole numbers, ``float``
        for reals, ``bool`` for booleans).

    Raises
    ------
    InvalidParameterError
        The value is not accepted.

    Examples
    --------
    >>> check(30, Days(), name="churn_days", owner="analyze")
    30
    >>> check(0, Days(example=360), name="churn_days", owner="analyze")
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.InvalidParameterError: The 'churn_days' parameter of analyze must be a whole number of days >= 1. Got 0 instead; pass e.g. churn_days=360.
    """  # noqa: E501
    if constraint.accepts(value):
        return constraint.normalise(value)
    if not hint:
        hint = constraint.suggest(value) or constraint.advice
    if not hint and constraint.example is not None:
        hint = f"pass e.g. {name}={constraint.example!r}"
    tail = f"; {hint}" if hint.endswith("?") else (f"; {hint}." if hint else ".")
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {constraint.describe()}. "
        f"Got {value!r} instead{tail}"
    )


def check_params(
    owner: str, constraints: Mapping[str, Constraint], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Check every named value against its constraint; return them normalised.

    Parameters
    ----------
    owner : str
        The public function the parameters belong to.
    constraints : mapping of str to Constraint
        The parameter table.
    values : mapping of str to object
        The values received; every key must have a constraint.

    Returns
    -------
    dict
        Name -> normalised value, in the order of ``values``.

    Examples
    --------
    >>> table = {"margin": Optional(Fraction(low_open=True)), "period": Choice("M", "W")}
    >>> check_params("analyze", table, {"margin": 0.3, "period": "M"})
    {'margin': 0.3, 'period': 'M'}
    """
    return {
        name: check(value, constraints[name], name=name, owner=owner)
        for name, value in values.items()
    }


def close_match(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``name`` (difflib, then case-insensitive), or None.

    Examples
    --------
    >>> close_match("CustomrID", ["InvoiceNo", "CustomerID"])
    'CustomerID'
    >>> close_match("zzz", ["InvoiceNo"]) is None
    True
    """
    present = [str(c) for c in candidates]
    close = difflib.get_close_matches(name, present, n=1, cutoff=0.5)
    if close:
        return close[0]
    lowered = {p.lower(): p for p in present}
    return lowered.get(name.lower())


def require_columns(
    table: Any, columns: Sequence[str] | Mapping[str, str], *, owner: str, hint: str = ""
) -> None:
    """Raise ``SchemaError`` when ``table`` lacks one of ``columns``.

    Parameters
    ----------
    table : pandas.DataFrame or an iterable of column names
    columns : sequence of str, or mapping of role to column name
        The columns needed; with a mapping, the message names the role
        (``Column 'ts' (the date column) is not in the input``).
    owner : str
        The public function that needs them.
    hint : str, optional
        How to make the missing columns (appended to the message).

    Raises
    ------
    SchemaError
        Naming the missing column(s), the columns found and the closest match.

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"recency_days": [1]}), ["recency_days"], owner="f")
    >>> require_columns(pd.DataFrame({"recency_day": [1]}), ["recency_days"], owner="f")
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.SchemaError: f needs the column 'recency_days', which is not in the input. Columns found: ['recency_day']. Did you mean 'recency_day'?
    """  # noqa: E501
    found = [str(c) for c in (table.columns if hasattr(table, "columns") else table)]
    roles = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    missing = [(role, col) for role, col in roles.items() if col not in found]
    if not missing:
        return
    tail = f" {hint}" if hint else ""
    if len(missing) == 1:
        role, col = missing[0]
        what = f"the column {col!r}" if role == col else f"the {role} column {col!r}"
        close = close_match(col, found)
        suggestion = f" Did you mean {close!r}?" if close else ""
        raise SchemaError(
            f"{owner} needs {what}, which is not in the input. Columns found: {found!r}."
            f"{suggestion}{tail}"
        )
    names = [col for _, col in missing]
    raise SchemaError(
        f"{owner} needs the columns {names!r}, which are not in the input. "
        f"Columns found: {found!r}.{tail}"
    )
