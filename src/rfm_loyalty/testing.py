"""Assertions for tests of code that uses rfm_loyalty, in the style of :mod:`pandas.testing`.

A shop's CI pins a sample of its orders and checks that the analysis of it
does not drift: :func:`assert_analysis_equal` compares two
:class:`~rfm_loyalty.analysis.Analysis` results, :func:`assert_export_equal`
two export folders (``Analysis.export``, ``rfm-loyalty analyze --out``). Both
compare the exported tables (``docs/export.md``) row by row, matched on each
table's key (``customer_id``, ``segment``, ...), so row order never matters.

When they differ, :class:`AnalysisMismatch` (an ``AssertionError``) is raised
with a message that says, per table, which rows and columns differ, the
first differing cells, the largest numeric drifts, and how many customers
changed segment, lifecycle cohort or profit tier.

Tolerances: numbers agree when ``|a - b| <= atol + rtol * |b|`` (the
defaults of :func:`numpy.isclose` and :mod:`pandas.testing`). Amounts of
money (the columns marked money in ``docs/export.md``) are compared
absolutely, since the library keeps them exact to the cent: each amount
stands for the interval ``[v - atol_money, v + atol_money]``, so the default
``atol_money=0.005`` (amounts rounded to the cent) lets two amounts differ by
up to one cent, and ``atol_money=0`` demands the same amounts. Customers
whose revenue (or profit) is within that tolerance of each other may swap
places in the ranking (``revenue_rank``, ``revenue_cumulative_share``).
Whole numbers, dates, text and flags must be equal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from rfm_loyalty._compare import (
    LABELS,
    TableDiff,
    Tolerance,
    compare_tables,
    fmt_value,
    read_folder,
)
from rfm_loyalty._schemas import SCHEMAS
from rfm_loyalty.export import export_tables

if TYPE_CHECKING:
    from rfm_loyalty.analysis import Analysis

__all__ = ["DEFAULT_CHECK", "AnalysisMismatch", "assert_analysis_equal", "assert_export_equal"]

#: Every exported table: what the assertions compare by default.
DEFAULT_CHECK: tuple[str, ...] = tuple(SCHEMAS)


class AnalysisMismatch(AssertionError):
    """Two analyses or exports differ beyond the tolerances.

    Attributes
    ----------
    differences : list
        One entry per table that differs (table name, schema changes, rows
        only on one side, differing columns with their largest drift, label
        changes of the customers), in the order of the exported tables.
    """

    def __init__(self, message: str, differences: list[TableDiff]) -> None:
        super().__init__(message)
        self.differences = differences


def _check_names(check: Sequence[str], owner: str) -> tuple[str, ...]:
    names = (check,) if isinstance(check, str) else tuple(check)
    unknown = [n for n in names if n not in SCHEMAS]
    if unknown or not names:
        raise ValueError(
            f"The 'check' parameter of {owner} must name exported tables, e.g. "
            f"('customers', 'segments'); the tables are {list(SCHEMAS)!r}. Got {check!r}."
        )
    return names


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _table_lines(diff: TableDiff) -> list[str]:
    if diff.only_in:
        side = "the left (first) side" if diff.only_in == "left" else "the right (second) side"
        return [f"{diff.table}: only on {side} ({max(diff.left_rows, diff.right_rows):,} rows)"]
    head = f"{diff.table}: "
    parts = []
    if diff.differing_rows:
        parts.append(f"{diff.differing_rows:,} of {_rows(diff.common_rows)} differ")
    if diff.only_left or diff.only_right:
        parts.append(f"{diff.only_left:,} rows only left, {diff.only_right:,} only right")
    if diff.schema_changed:
        parts.append("schema changed")
    lines = [head + "; ".join(parts)]
    if diff.left_version != diff.right_version:
        lines.append(f"    schema version {diff.left_version} -> {diff.right_version}")
    for label, columns in (("added columns", diff.added_columns),
                           ("removed columns", diff.removed_columns)):
        if columns:
            lines.append(f"    {label}: {', '.join(columns)}")
    for column, old, new in diff.retyped_columns:
        lines.append(f"    retyped: {column} {old} -> {new}")
    if diff.first_only_left:
        lines.append(f"    only left: {'; '.join(diff.first_only_left)}"
                     + (" ..." if diff.only_left > len(diff.first_only_left) else ""))
    if diff.first_only_right:
        lines.append(f"    only right: {'; '.join(diff.first_only_right)}"
                     + (" ..." if diff.only_right > len(diff.first_only_right) else ""))
    for col in diff.columns:
        text = f"    column {col.column}: {_rows(col.rows)}"
        if col.largest is not None:
            drift = "NaN on one side" if col.largest != col.largest else f"{col.largest:.6g}"
            allowed = "" if col.allowed is None else f", allowed {col.allowed:.3g}"
            text += f", largest drift {drift} at {col.at}{allowed}"
        lines.append(text)
    if diff.first_rows is not None and len(diff.first_rows):
        lines.append("    first differing cells:")
        for row in diff.first_rows.itertuples(index=False):
            lines.append(f"      {row.row}  {row.column}: {fmt_value(row.left)} -> "
                         f"{fmt_value(row.right)}")
    if diff.table == "customers" and diff.label_changes:
        counts = ", ".join(f"{label} {diff.label_changes[label]:,}" for label in LABELS
                           if label in diff.label_changes)
        lines.append(f"    customers whose label changed: {counts}")
    return lines


def _raise_if_different(diffs: list[TableDiff], tol: Tolerance, what: str) -> None:
    changed = [d for d in diffs if d.changed]
    if not changed:
        return
    lines = [f"{what} differ in {len(changed)} table(s): "
             f"{', '.join(d.table for d in changed)} ({tol.describe()})"]
    for diff in changed:
        lines += _table_lines(diff)
    raise AnalysisMismatch("\n".join(lines), changed)


def _analysis_tables(analysis: Any, owner: str, name: str) -> dict[str, pd.DataFrame]:
    from rfm_loyalty.analysis import Analysis

    if not isinstance(analysis, Analysis):
        raise TypeError(
            f"{owner} compares two Analysis results (from analyze); {name} is a "
            f"{type(analysis).__name__}. For export folders use assert_export_equal."
        )
    return export_tables(analysis)


def assert_analysis_equal(
    left: Analysis, right: Analysis, *, rtol: float = 1e-5, atol: float = 1e-8,
    atol_money: float = 0.005, check: Sequence[str] = DEFAULT_CHECK,
) -> None:
    """Assert that two analyses give the same tables, within the tolerances.

    Parameters
    ----------
    left, right : Analysis
        Usually the baseline and the current result.
    rtol : float, default 1e-5
        Relative tolerance of floating-point columns that are not money
        (shares, rates, means of days, model outputs).
    atol : float, default 1e-8
        Absolute tolerance of those columns.
    atol_money : float, default 0.005
        Half-width of the rounding of amounts of money: two amounts agree
        when ``|a - b| <= 2 * atol_money`` (the default lets them differ by
        one cent; 0 demands equal amounts).
    check : sequence of str, default every exported table
        Tables to compare (names of ``rfm_loyalty.export.SCHEMAS``).

    Returns
    -------
    None

    Raises
    ------
    AnalysisMismatch
        An ``AssertionError`` whose message lists, per differing table, the
        rows and columns that differ, the first differing cells, the largest
        drifts, and the customers whose segment, lifecycle or tier changed.

    Examples
    --------
    >>> import dataclasses
    >>> from rfm_loyalty import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> orders = make_orders(40, random_state=2, with_cost=False)
    >>> assert_analysis_equal(analyze(orders, n_bins=3), analyze(orders, n_bins=3))
    >>> try:
    ...     assert_analysis_equal(analyze(orders, n_bins=3), analyze(orders, n_bins=2),
    ...                           check=("segments",))
    ... except AnalysisMismatch as error:
    ...     print(str(error).splitlines()[0])
    Analyses differ in 1 table(s): segments (rtol=1e-05, atol=1e-08, atol_money=0.005 ...
    """
    names = _check_names(check, "assert_analysis_equal")
    tol = Tolerance(rtol, atol, atol_money)
    a = _analysis_tables(left, "assert_analysis_equal", "left")
    b = _analysis_tables(right, "assert_analysis_equal", "right")
    _raise_if_different(compare_tables(a, b, tol, check=names), tol, "Analyses")


def assert_export_equal(
    left: str | os.PathLike[str], right: str | os.PathLike[str], *, rtol: float = 1e-5,
    atol: float = 1e-8, atol_money: float = 0.005, check: Sequence[str] = DEFAULT_CHECK,
) -> None:
    """Assert that two export folders hold the same tables, within the tolerances.

    Each folder is read as written (:func:`rfm_loyalty.export.read_export`;
    Parquet when present, else CSV, JSON or XLSX); their ``metadata.json``
    gives the tables, schema versions and column types, so that a column
    added, removed or retyped between versions is reported as such.

    Parameters
    ----------
    left, right : path-like
        Export folders (``Analysis.export``, ``rfm-loyalty analyze --out``).
    rtol, atol, atol_money : float
        As in :func:`assert_analysis_equal`.
    check : sequence of str, default every exported table
        Tables to compare.

    Returns
    -------
    None

    Raises
    ------
    AnalysisMismatch
        The folders differ (see :func:`assert_analysis_equal`).
    FileNotFoundError
        A folder is not an export (no ``metadata.json``).

    Examples
    --------
    >>> import tempfile
    >>> from rfm_loyalty import analyze
    >>> from rfm_loyalty.datasets import make_orders
    >>> from rfm_loyalty.export import export_analysis
    >>> result = analyze(make_orders(40, random_state=2, with_cost=False), n_bins=3)
    >>> a, b = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> _ = export_analysis(result, a), export_analysis(result, b, format="parquet")
    >>> assert_export_equal(a, b)
    """
    names = _check_names(check, "assert_export_equal")
    tol = Tolerance(rtol, atol, atol_money)
    a, a_meta, a_fmt = read_folder(left, names)
    b, b_meta, b_fmt = read_folder(right, names)
    if (a_fmt in ("csv", "xlsx")) != (b_fmt in ("csv", "xlsx")):
        # one side's text was neutralised against spreadsheet formulas: compare it so
        from rfm_loyalty.export import neutralize_formulas

        if a_fmt in ("csv", "xlsx"):
            b = {n: neutralize_formulas(t) for n, t in b.items()}
        else:
            a = {n: neutralize_formulas(t) for n, t in a.items()}
    diffs = compare_tables(a, b, tol, check=names, left_meta=a_meta, right_meta=b_meta)
    _raise_if_different(diffs, tol, "Exports")
