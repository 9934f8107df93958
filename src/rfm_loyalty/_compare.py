"""Compare two sets of exported tables: schema, rows, numbers within tolerances, label moves.

The engine behind :mod:`rfm_loyalty.testing` (assertions) and
:mod:`rfm_loyalty.diff` (the ``rfm-loyalty diff`` report). Tables are the flat
ones of an export (:func:`rfm_loyalty.export.export_tables` or
:func:`rfm_loyalty.export.read_export`); rows are matched on the schema's key
columns, so a reordered table is not a changed one.

Numbers agree when ``|a - b| <= atol + rtol * |b|`` (``b`` the right-hand,
new value). Amounts of money (the schema's money columns) are compared
absolutely, as the library keeps them exact to the cent: each amount stands
for ``[v - atol_money, v + atol_money]`` (0.005: amounts rounded to the
cent) and two amounts agree when those intervals meet, ``|a - b| <= 2 *
atol_money`` (plus 1e-12 relative for the rounding of means). A customer's
place in the revenue or profit ranking may move within the customers whose
value is within that money tolerance of theirs (near-ties may swap), and
the cumulative share at the customer by those customers' share. Whole
numbers, dates, text and flags must be equal; two missing values are equal.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._export_tables import SUMMARY_MONEY
from rfm_loyalty._schemas import SCHEMAS
from rfm_loyalty._validation import Real, check
from rfm_loyalty.export import FORMATS, read_export

#: Label columns of the customer table whose changes are counted per customer.
LABELS = ("segment", "lifecycle", "tier")
#: Rankings of the customer table: prefix -> the money column customers are ranked by.
RANKINGS = {"revenue": "monetary_total", "profit": "profit"}
_FIRST_ROWS = 5
# Relative slack of amounts of money: means of exact amounts are rounded once.
_ROUNDING = 1e-12


@dataclass(frozen=True)
class Tolerance:
    """How far two numbers may differ and still agree (see the module docstring)."""

    rtol: float = 1e-5
    atol: float = 1e-8
    atol_money: float = 0.005

    def __post_init__(self) -> None:
        for name in ("rtol", "atol", "atol_money"):
            value = check(getattr(self, name), Real(0.0, what="a finite number"), name=name,
                          owner="the comparison")
            object.__setattr__(self, name, value)

    @property
    def money(self) -> float:
        """Return the largest allowed difference of two amounts of money."""
        return 2.0 * self.atol_money

    def allowed(self, reference: np.ndarray, money: np.ndarray | bool) -> np.ndarray:
        """Return the largest allowed ``|a - b|`` for each reference value ``b``."""
        size = np.abs(reference)
        return np.where(money, self.money + _ROUNDING * size, self.atol + self.rtol * size)

    def describe(self) -> str:
        """Return the tolerances in words."""
        return (f"rtol={self.rtol:g}, atol={self.atol:g}, atol_money={self.atol_money:g} "
                f"(amounts may differ by {2 * self.atol_money:g})")


@dataclass
class ColumnDiff:
    """Rows of one column that differ beyond the tolerance."""

    column: str
    rows: int
    largest: float | None = None  # largest |a - b| of a numeric column (NaN: one side missing)
    at: str = ""  # the key of that row, in words
    allowed: float | None = None


@dataclass
class TableDiff:
    """Everything that differs in one table between the left (old) and right (new) side."""

    table: str
    only_in: str | None = None  # "left" or "right" when the table is on one side only
    left_version: int | None = None
    right_version: int | None = None
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    retyped_columns: list[tuple[str, str, str]] = field(default_factory=list)
    left_rows: int = 0
    right_rows: int = 0
    only_left: int = 0
    only_right: int = 0
    first_only_left: list[str] = field(default_factory=list)
    first_only_right: list[str] = field(default_factory=list)
    differing_rows: int = 0
    columns: list[ColumnDiff] = field(default_factory=list)
    first_rows: pd.DataFrame | None = None  # key, column, left, right of the first cells
    label_changes: dict[str, int] = field(default_factory=dict)
    transitions: dict[str, pd.DataFrame] = field(default_factory=dict)
    common_rows: int = 0

    @property
    def schema_changed(self) -> bool:
        """Whether columns were added, removed or retyped, or the version changed."""
        return bool(self.added_columns or self.removed_columns or self.retyped_columns
                    or self.left_version != self.right_version)

    @property
    def changed(self) -> bool:
        """Whether anything differs."""
        return bool(self.only_in or self.schema_changed or self.only_left or self.only_right
                    or self.differing_rows)


def _key_text(frame: pd.DataFrame, key: Sequence[str], positions: np.ndarray) -> list[str]:
    parts = [frame[k].iloc[positions].astype(str).to_numpy() for k in key]
    if len(key) == 1:
        return [f"{key[0]}={v!r}" for v in parts[0]]
    return [", ".join(f"{k}={v!r}" for k, v in zip(key, row, strict=True))
            for row in zip(*parts, strict=True)]


def _align(left: pd.DataFrame, right: pd.DataFrame, key: Sequence[str]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the common rows (left, right) and of the rows on one side only."""
    usable = key and all(k in left.columns and k in right.columns for k in key)
    if usable:
        lkey = pd.MultiIndex.from_frame(left[list(key)]) if len(key) > 1 else pd.Index(left[key[0]])
        rkey = (pd.MultiIndex.from_frame(right[list(key)]) if len(key) > 1
                else pd.Index(right[key[0]]))
        usable = lkey.is_unique and rkey.is_unique
    if not usable:  # no unique key: row by row
        n = min(len(left), len(right))
        return (np.arange(n), np.arange(n), np.arange(n, len(left)), np.arange(n, len(right)))
    if lkey.equals(rkey):
        both = np.arange(len(left))
        return both, both, np.array([], dtype=np.intp), np.array([], dtype=np.intp)
    at_right = rkey.get_indexer(lkey)
    common = np.flatnonzero(at_right >= 0)
    only_right = np.flatnonzero(lkey.get_indexer(rkey) < 0)
    return common, at_right[common], np.flatnonzero(at_right < 0), only_right


def _differ(a: pd.Series, b: pd.Series, dtype: str, money: np.ndarray | bool,
            tol: Tolerance) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Rows that differ; for numbers also |a - b| and the allowed drift."""
    if dtype == "float64":
        x = a.to_numpy(dtype="float64", na_value=np.nan)
        y = b.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            drift = np.abs(x - y)
            allowed = tol.allowed(y, money)
            same = (drift <= allowed) | (np.isnan(x) & np.isnan(y)) | (x == y)
        return ~same, drift, allowed
    if dtype == "int64":
        x = a.to_numpy(dtype="int64")
        y = b.to_numpy(dtype="int64")
        return x != y, np.abs(x - y).astype("float64"), None
    if dtype == "datetime":
        x = a.to_numpy(dtype="datetime64[ns]")
        y = b.to_numpy(dtype="datetime64[ns]")
        return ~((x == y) | (np.isnat(x) & np.isnat(y))), None, None
    x = a.astype(object).to_numpy()
    y = b.astype(object).to_numpy()
    return x != y, None, None


def _ranking_slack(left: pd.DataFrame, right: pd.DataFrame, tol: Tolerance
                   ) -> dict[str, np.ndarray]:
    """How far each customer's rank and cumulative share may move through near-ties.

    In a ranking by a money column, a customer may trade places with every
    customer whose value (on the new side) is within the money tolerance of
    theirs: the rank may move by the size of that group, the cumulative
    share by the group's share of the total.
    """
    slack: dict[str, np.ndarray] = {}
    for prefix, column in RANKINGS.items():
        rank, share = f"{prefix}_rank", f"{prefix}_cumulative_share"
        if not all(c in left.columns and c in right.columns for c in (column, rank, share)):
            continue
        values = right[column].to_numpy(dtype="float64")
        ascending = np.sort(values)
        below = np.searchsorted(ascending, values - tol.money, side="left")
        above = np.searchsorted(ascending, values + tol.money, side="right")
        sums = np.concatenate([[0.0], np.cumsum(np.abs(ascending))])
        total = abs(float(values.sum()))
        slack[rank] = (above - below - 1).astype("float64")  # the others in the group
        group = sums[above] - sums[below]
        slack[share] = group / total if total > 0 else np.zeros(len(values))
    return slack


def _within_slack(differ: np.ndarray, drift: np.ndarray | None, allowed: np.ndarray | None,
                  slack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bound = slack + (allowed if allowed is not None else 0.0)
    assert drift is not None  # ranks and shares are numbers
    with np.errstate(invalid="ignore"):
        return differ & ~(drift <= bound), bound


def _transitions(old: pd.Series, new: pd.Series) -> pd.DataFrame:
    moved = old.to_numpy() != new.to_numpy()
    pairs = pd.DataFrame({"from": old.to_numpy()[moved], "to": new.to_numpy()[moved]})
    counts = pairs.groupby(["from", "to"], sort=True).size().rename("customers").reset_index()
    return counts.sort_values(["customers", "from", "to"], ascending=[False, True, True],
                              kind="stable").reset_index(drop=True)


def compare_table(name: str, left: pd.DataFrame, right: pd.DataFrame, tol: Tolerance, *,
                  left_dtypes: Mapping[str, str] | None = None,
                  right_dtypes: Mapping[str, str] | None = None,
                  left_version: int | None = None, right_version: int | None = None
                  ) -> TableDiff:
    """Compare one table; columns of one side only are schema changes, not row changes."""
    schema = SCHEMAS[name]
    dtypes = {c.name: c.dtype for c in schema.columns}
    left_dtypes = dict(left_dtypes or {c: dtypes[c] for c in left.columns if c in dtypes})
    right_dtypes = dict(right_dtypes or {c: dtypes[c] for c in right.columns if c in dtypes})
    out = TableDiff(name, left_version=left_version, right_version=right_version,
                    left_rows=len(left), right_rows=len(right))
    out.added_columns = [c for c in right.columns if c not in left.columns]
    out.removed_columns = [c for c in left.columns if c not in right.columns]
    shared = [c for c in left.columns if c in right.columns]
    out.retyped_columns = [(c, left_dtypes[c], right_dtypes[c]) for c in shared
                           if c in left_dtypes and c in right_dtypes
                           and left_dtypes[c] != right_dtypes[c]]
    retyped = {c for c, _, _ in out.retyped_columns}
    li, ri, only_l, only_r = _align(left, right, schema.key)
    out.common_rows = len(li)
    out.only_left, out.only_right = len(only_l), len(only_r)
    key = [k for k in schema.key if k in shared]
    out.first_only_left = _key_text(left, key, only_l[:_FIRST_ROWS]) if key else []
    out.first_only_right = _key_text(right, key, only_r[:_FIRST_ROWS]) if key else []
    a_rows = left.iloc[li].reset_index(drop=True)
    b_rows = right.iloc[ri].reset_index(drop=True)
    money_spec = {c.name: c.money for c in schema.columns}
    slack = _ranking_slack(a_rows, b_rows, tol) if name == "customers" else {}
    any_row = np.zeros(len(li), dtype=bool)
    cells = []
    for column in shared:
        if column in key or column in retyped or column not in dtypes:
            continue
        money: np.ndarray | bool = money_spec.get(column, False)
        if name == "summary" and column == "value":
            money = a_rows["metric"].isin(SUMMARY_MONEY).to_numpy()
        differ, drift, allowed = _differ(a_rows[column], b_rows[column], dtypes[column],
                                         money, tol)
        if column in slack and differ.any():
            differ, allowed = _within_slack(differ, drift, allowed, slack[column])
        if not differ.any():
            continue
        any_row |= differ
        rows = np.flatnonzero(differ)
        found = ColumnDiff(column, int(differ.sum()))
        if drift is not None:
            scored = np.where(np.isnan(drift[rows]), np.inf, drift[rows])
            worst = int(rows[np.argmax(scored)])
            found.largest = float(drift[worst])
            found.at = _key_text(a_rows, key, np.array([worst]))[0] if key else f"row {worst}"
            found.allowed = None if allowed is None else float(allowed[worst])
        out.columns.append(found)
        cells.append((column, rows))
    out.differing_rows = int(any_row.sum())
    if cells:
        first = np.flatnonzero(any_row)[:_FIRST_ROWS]
        records = []
        for position in first:
            where = _key_text(a_rows, key, np.array([position]))[0] if key else (
                f"row {position}")
            for column, rows in cells:
                if position in rows:
                    records.append({"row": where, "column": column,
                                    "left": a_rows[column].iloc[position],
                                    "right": b_rows[column].iloc[position]})
        out.first_rows = pd.DataFrame(records, columns=["row", "column", "left", "right"],
                                      dtype=object)
    if name == "customers":
        for label in LABELS:
            if label in shared:
                moves = _transitions(a_rows[label], b_rows[label])
                out.label_changes[label] = int(moves["customers"].sum())
                out.transitions[label] = moves
    return out


def compare_tables(left: Mapping[str, pd.DataFrame], right: Mapping[str, pd.DataFrame],
                   tol: Tolerance, *, check: Sequence[str] | None = None,
                   left_meta: Mapping[str, Any] | None = None,
                   right_meta: Mapping[str, Any] | None = None) -> list[TableDiff]:
    """Compare every table of ``check`` (default: all) present on either side, in schema order."""
    names = [n for n in SCHEMAS if (check is None or n in check) and (n in left or n in right)]
    diffs = []
    for name in names:
        lmeta = ((left_meta or {}).get("tables") or {}).get(name, {})
        rmeta = ((right_meta or {}).get("tables") or {}).get(name, {})
        if name not in left or name not in right:
            diffs.append(TableDiff(name, only_in="left" if name in left else "right",
                                   left_version=lmeta.get("schema_version"),
                                   right_version=rmeta.get("schema_version"),
                                   left_rows=len(left.get(name, ())),
                                   right_rows=len(right.get(name, ()))))
            continue
        diffs.append(compare_table(
            name, left[name], right[name], tol, left_dtypes=lmeta.get("dtypes"),
            right_dtypes=rmeta.get("dtypes"), left_version=lmeta.get("schema_version"),
            right_version=rmeta.get("schema_version")))
    return diffs


def fmt_value(value: Any) -> str:
    """Return a cell value for a message: numbers in full, text quoted."""
    if isinstance(value, float | np.floating):
        return "NaN" if math.isnan(value) else repr(float(value))
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return str(value)


def read_folder(path: str | os.PathLike[str], names: Sequence[str] | None = None
                ) -> tuple[dict[str, pd.DataFrame], dict[str, Any], str]:
    """Read an export folder: its tables (those of ``names``), its metadata and the format read.

    Parquet is read when the export has it (typed, fastest), else CSV, JSON,
    XLSX. Raises FileNotFoundError when the folder holds no metadata.json.
    """
    folder = Path(path)
    meta_path = folder / "metadata.json"
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{str(folder)!r} is not an export folder: it has no metadata.json. Give a folder "
            "written by Analysis.export or rfm-loyalty analyze --out."
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    files = set(meta.get("files", []))
    tables = [n for n in meta.get("tables", {}) if n in SCHEMAS and (names is None or n in names)]
    fmt = next((f for f in ("parquet", "csv", "json", "xlsx")
                if all(f"{n}.{FORMATS[f]}" in files for n in tables)), "csv")
    return {n: read_export(folder, n, format=fmt) for n in tables}, meta, fmt
