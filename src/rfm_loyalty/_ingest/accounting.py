"""Accounting of every input row: drop reasons, the quality report, the bad-row warning.

Shared by the pandas ingest and the engines, so that both count and word
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import DataQualityError, DataQualityWarning

#: Reasons a row can be dropped, in the order they are checked. A row is
#: counted once, under the first reason that applies.
DROP_REASONS: tuple[str, ...] = (
    "missing_customer",
    "bad_date",
    "bad_amount",
    "bad_cost",
    "missing_order_id",
    "invalid_status",
    "after_as_of",
    "negative_amount",
    "bad_line",
)
#: Distinct unreadable values quoted per drop reason in a warning or an error.
N_EXAMPLES = 3
#: Reasons that mean the row itself is broken (the others are exclusions the
#: caller asked for: a status filter, an as_of date, returns="drop").
BAD_ROW_REASONS = (
    "missing_customer", "bad_date", "bad_amount", "bad_cost", "missing_order_id", "bad_line",
)



@dataclass(frozen=True)
class QualityReport:
    """Accounting of every input row and every unit of amount.

    Invariants: ``rows_in == rows_used + sum(dropped.values())`` and
    ``amount_in == amount_used + amount_dropped`` (up to float rounding).
    Amounts are summed over rows whose amount could be read; a row with an
    unreadable amount counts as a row but adds nothing to the amounts.

    Attributes
    ----------
    rows_in, rows_used : int
        Input rows; rows summed into the order frame.
    dropped : dict of str to int
        Rows dropped per reason (see ``DROP_REASONS``); only reasons that
        occurred appear.
    amount_in, amount_used, amount_dropped : float
        Sum of readable amounts over all rows, used rows and dropped rows.
    dropped_amounts : dict of str to float
        Amount dropped per reason.
    orders, customers, purchases : int
        Orders and distinct customers in the order frame; orders that are
        purchases.
    as_of : pandas.Timestamp
        The analysis date the rows were checked against.
    readings : dict of str to str
        How the input was read, one entry per decision the reader took
        rather than the caller (e.g. ``"date"``: the date format and what
        settled it; ``"encoding"``, ``"separator"``, ``"columns"``: what was
        detected or matched). Empty when nothing had to be decided.
    encoding : str or None
        The text encoding a CSV file was read with (Python's codec name:
        ``"utf-8"``, ``"utf-8-sig"`` with a byte-order mark, ``"utf-16"``,
        ``"gb18030"``...), given or detected; None for a DataFrame, Parquet
        or Excel input.
    """

    rows_in: int
    rows_used: int
    dropped: Mapping[str, int]
    amount_in: float
    amount_used: float
    amount_dropped: float
    dropped_amounts: Mapping[str, float] = field(default_factory=dict)
    orders: int = 0
    customers: int = 0
    purchases: int = 0
    as_of: pd.Timestamp | None = None
    readings: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None

    @property
    def rows_dropped(self) -> int:
        """Total rows dropped, all reasons."""
        return int(sum(self.dropped.values()))

    def to_frame(self) -> pd.DataFrame:
        """Return the accounting as a table.

        Returns
        -------
        pandas.DataFrame
            Index ``item`` (``rows_in``, ``rows_used``, then one
            ``dropped:<reason>`` row per reason); columns ``rows`` (int64) and
            ``amount`` (float64).
        """
        items = ["rows_in", "rows_used"] + [f"dropped:{r}" for r in self.dropped]
        rows = [self.rows_in, self.rows_used, *self.dropped.values()]
        amounts = [
            self.amount_in,
            self.amount_used,
            *(self.dropped_amounts.get(r, 0.0) for r in self.dropped),
        ]
        frame = pd.DataFrame(
            {"rows": np.asarray(rows, dtype="int64"), "amount": np.asarray(amounts, "float64")},
            index=pd.Index(items, name="item"),
        )
        return frame

    def __str__(self) -> str:
        lines = [
            f"QualityReport (as_of {self.as_of.date() if self.as_of is not None else '-'})",
            f"  rows in      {self.rows_in:>12,}   amount {self.amount_in:>18,.2f}",
            f"  rows used    {self.rows_used:>12,}   amount {self.amount_used:>18,.2f}",
        ]
        for reason, n in self.dropped.items():
            amount = self.dropped_amounts.get(reason, 0.0)
            lines.append(f"  dropped {reason:<20} {n:>9,}   amount {amount:>18,.2f}")
        lines.append(
            f"  -> {self.orders:,} orders ({self.purchases:,} purchases) "
            f"from {self.customers:,} customers"
        )
        if self.encoding is not None and "encoding" not in self.readings:
            lines.append(f"  read: encoding: {self.encoding}")
        lines += [f"  read: {what}: {how}" for what, how in self.readings.items()]
        return "\n".join(lines)


def account(
    reasons: np.ndarray, amount: np.ndarray, amount_bad: np.ndarray, readings: Mapping[str, str],
    unread_lines: int = 0,
) -> dict[str, Any]:
    """Count rows and readable amounts per drop reason (the ``QualityReport`` fields).

    ``reasons`` holds each row's first failing reason (0 = used), as
    ``Ingest.first_failures`` codes them. ``unread_lines`` are the lines of a
    file the reader skipped (``bad_line``: their fields did not match the
    header); they count as input rows with no readable amount.
    """
    n = len(reasons)
    readable = np.where(amount_bad, 0.0, amount)
    counts = np.bincount(reasons, minlength=len(DROP_REASONS) + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        # sums beyond float64 are refused later, naming the customer
        sums = np.bincount(reasons, weights=readable, minlength=len(DROP_REASONS) + 1)
        total = float(readable.sum())
    dropped = {r: int(counts[i + 1]) for i, r in enumerate(DROP_REASONS) if counts[i + 1]}
    dropped_amounts = {r: float(sums[i + 1]) for i, r in enumerate(DROP_REASONS) if counts[i + 1]}
    if unread_lines:
        dropped["bad_line"] = dropped.get("bad_line", 0) + unread_lines
        dropped_amounts["bad_line"] = dropped_amounts.get("bad_line", 0.0)
    return {
        "rows_in": n + unread_lines,
        "rows_used": int(counts[0]),
        "dropped": dropped,
        "amount_in": total,
        "amount_used": float(sums[0]),
        "amount_dropped": float(np.sum(sums[1:])),
        "dropped_amounts": dropped_amounts,
        "readings": dict(readings),
    }


def ordered_reasons(counts: Mapping[str, Any]) -> dict[str, Any]:
    return {r: counts[r] for r in DROP_REASONS if r in counts}


def format_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{reason}: {n:,}" for reason, n in counts.items()) or "none"


def report_bad_rows(
    dropped: Mapping[str, int], on_bad_rows: str, n: int,
    notes: Mapping[str, str] | None = None,
) -> None:
    """Warn once with the counts of unusable rows, or raise (``on_bad_rows="raise"``).

    Shared by pandas ingest and the engines, so that the texts are the same.
    ``notes`` holds, per reason, examples of the unreadable values and the
    option that would read them; they follow the counts.
    """
    bad = {r: c for r, c in dropped.items() if r in BAD_ROW_REASONS}
    if not bad:
        return
    total = sum(bad.values())
    counts = f"{total:,} of {n:,} order rows"
    details = "".join(
        f" {reason}: {note}." for reason, note in (notes or {}).items() if reason in bad
    )
    if on_bad_rows == "raise":
        raise DataQualityError(
            f"{counts} are unusable ({format_counts(bad)}).{details} Fix them, or pass "
            "on_bad_rows='warn' to drop them and count them in Orders.quality."
        )
    message = (
        f"{counts} were dropped as unusable ({format_counts(bad)}).{details} "
        "See Orders.quality for the full accounting."
    )
    warn_user(message, DataQualityWarning)


def distinct_count(codes: np.ndarray) -> int:
    if len(codes) == 0:
        return 0
    return int(np.count_nonzero(np.bincount(codes)))


