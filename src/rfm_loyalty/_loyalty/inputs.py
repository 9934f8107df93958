"""The optional inputs of the loyalty views: a survey, referrals, a leads table.

Customer ids in them are read by the rules of the orders' customer ids
(``17850``, ``17850.0`` and ``" 17850"`` are one customer), so they join the
order history exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._ingest.ids import ids_as_text
from rfm_loyalty._validation import require_columns
from rfm_loyalty.exceptions import SchemaError

__all__ = ["SURVEY_COLUMNS", "latest_scores", "lead_table", "referrers"]

#: Columns of a survey table: who answered, the 0-10 score, when.
SURVEY_COLUMNS: tuple[str, ...] = ("customer_id", "score", "date")


def _ids(values: pd.Series) -> pd.Series:
    codes, texts = ids_as_text(values.reset_index(drop=True))
    codes = np.asarray(codes, dtype=np.int64)
    out = pd.Series(np.asarray(texts.astype(object))[np.where(codes >= 0, codes, 0)],
                    dtype=object)
    return out.where(codes >= 0)


def _dates(values: pd.Series, owner: str, what: str) -> np.ndarray:
    dates = pd.to_datetime(values.reset_index(drop=True), errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    bad = dates.isna() & values.reset_index(drop=True).notna()
    if bad.any():
        first = values.reset_index(drop=True)[bad].iloc[0]
        first = first.item() if isinstance(first, np.generic) else first
        raise SchemaError(
            f"{owner}: {int(bad.sum()):,} {what} dates cannot be read as dates (first: "
            f"{first!r}). Give them as datetimes or ISO text (2024-03-31)."
        )
    return dates.dt.normalize().to_numpy()


def latest_scores(survey: Any, as_of: pd.Timestamp, owner: str) -> pd.Series:
    """Each respondent's latest 0-10 score on or before ``as_of`` (index customer_id, int64).

    Of two answers on one day the higher row wins (the input's later row).
    """
    if not isinstance(survey, pd.DataFrame):
        raise TypeError(
            f"The 'survey' parameter of {owner} must be a DataFrame with the columns "
            f"{list(SURVEY_COLUMNS)}. Got {type(survey).__name__} instead."
        )
    require_columns(survey, list(SURVEY_COLUMNS), owner=owner,
                    hint="A survey has one row per answer: customer_id, score (0-10), date.")
    score = pd.to_numeric(survey["score"].reset_index(drop=True), errors="coerce")
    bad = ~(score.between(0, 10) & (score == np.floor(score)))
    if bad.any():
        first = survey["score"].reset_index(drop=True)[bad].iloc[0]
        first = first.item() if isinstance(first, np.generic) else first
        raise SchemaError(
            f"{owner}: {int(bad.sum()):,} survey scores are not whole numbers from 0 to 10 "
            f"(first: {first!r}). NPS reads the 0-10 'How likely are you to recommend us' "
            "scale; fix or drop those rows."
        )
    ids = _ids(survey["customer_id"])
    if ids.isna().any():
        raise SchemaError(
            f"{owner}: {int(ids.isna().sum()):,} survey rows have no customer_id; drop them "
            "first (an answer nobody gave cannot be joined to the orders)."
        )
    frame = pd.DataFrame({"customer_id": ids, "score": score.astype(np.int64),
                          "date": _dates(survey["date"], owner, "survey")})
    frame = frame[frame["date"] <= as_of.to_datetime64()]
    latest = frame.sort_values("date", kind="stable").drop_duplicates("customer_id", keep="last")
    return latest.set_index("customer_id")["score"].sort_index()


def referrers(referrals: Any, as_of: pd.Timestamp, owner: str) -> pd.Index:
    """Return the customers who referred someone on or before ``as_of``.

    ``referrals`` is a list of customer ids, or a DataFrame with
    ``customer_id`` (the referrer) and optionally ``date``.
    """
    if isinstance(referrals, pd.DataFrame):
        require_columns(referrals, ["customer_id"], owner=owner,
                        hint="Referrals: one row per referral, customer_id = who referred.")
        ids = _ids(referrals["customer_id"])
        if "date" in referrals.columns:
            keep = _dates(referrals["date"], owner, "referral") <= as_of.to_datetime64()
            ids = ids[keep]
    elif isinstance(referrals, Iterable) and not isinstance(referrals, (str, bytes)):
        ids = _ids(pd.Series(list(referrals), dtype=object))
    else:
        raise TypeError(
            f"The 'referrals' parameter of {owner} must be a list of customer ids or a "
            f"DataFrame with a customer_id column. Got {type(referrals).__name__} instead."
        )
    return pd.Index(sorted(set(ids.dropna())), name="customer_id")


def lead_table(leads: Any, owner: str) -> pd.Series:
    """Leads as a bool Series ``interested`` indexed by customer_id (False without the column)."""
    if not isinstance(leads, pd.DataFrame):
        raise TypeError(
            f"The 'leads' parameter of {owner} must be a DataFrame with a customer_id column "
            f"(and optionally a bool 'interested'). Got {type(leads).__name__} instead."
        )
    require_columns(leads, ["customer_id"], owner=owner,
                    hint="Leads: people who never bought, one row each.")
    ids = _ids(leads["customer_id"])
    if "interested" in leads.columns:
        flag = leads["interested"].reset_index(drop=True)
        if not pd.api.types.is_bool_dtype(flag.dtype):
            raise SchemaError(
                f"{owner}: the leads' 'interested' column must be True/False (they asked, "
                f"signed up or answered). Got dtype {flag.dtype} instead."
            )
        interested = flag.to_numpy(dtype=bool)
    else:
        interested = np.zeros(len(ids), dtype=bool)
    table = pd.Series(interested, index=pd.Index(ids, name="customer_id"), name="interested")
    table = table[table.index.notna()]
    # a lead listed twice is interested when any of the rows says so
    return table.groupby(level=0).any()


def check_date(value: Any, name: str) -> pd.Timestamp:
    """Return an unambiguous analysis date, at midnight."""
    return as_date(value, name=name)
