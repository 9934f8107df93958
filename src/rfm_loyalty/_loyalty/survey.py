"""Net Promoter Score from a survey, and a three-level customer health score."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.indicators import LoyaltyIndicators
from rfm_loyalty._loyalty.inputs import check_date, latest_scores
from rfm_loyalty._validation import Fraction, Real, check, require_columns

__all__ = ["HEALTH_LEVELS", "HEALTH_NAMES_ZH", "HealthRules", "customer_health", "nps"]

#: Health levels, best first (the categorical order).
HEALTH_LEVELS: tuple[str, ...] = ("green", "yellow", "red")
HEALTH_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"green": "绿灯 (健康)", "yellow": "黄灯 (关注)", "red": "红灯 (预警)"}
)
NPS_GROUPS: tuple[str, ...] = ("promoter", "passive", "detractor")


def _nps_group(score: np.ndarray) -> np.ndarray:
    """0 promoter (9-10), 1 passive (7-8), 2 detractor (0-6)."""
    return np.where(score >= 9, 0, np.where(score >= 7, 1, 2))


def nps(
    survey: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("segment", "lifecycle"),
    as_of: Any = None,
) -> pd.DataFrame:
    """Net Promoter Score overall and per segment and lifecycle label.

    Each respondent counts once, with their latest answer on or before
    ``as_of``. Promoters answer 9-10, passives 7-8, detractors 0-6 on "How
    likely are you to recommend us?" (Reichheld 2003, "The One Number You
    Need to Grow", HBR); ``nps = 100 * (promoters - detractors) / responses``,
    from -100 to 100.

    Parameters
    ----------
    survey : pandas.DataFrame
        ``customer_id``, ``score`` (whole numbers 0-10), ``date``.
    customers : pandas.DataFrame, optional
        A customer table indexed by ``customer_id`` with the ``by`` columns
        (``Analysis.customers``). Respondents not in it are counted in the
        overall row and under ``"(not a customer)"`` in each group.
    by : sequence of str, default ("segment", "lifecycle")
        Columns of ``customers`` to break the score down by (those absent
        from ``customers`` are skipped).
    as_of : date-like, optional
        Default: the last answer's date.

    Returns
    -------
    pandas.DataFrame
        One row per (``group``, ``label``): ``group`` (text: ``"all"`` or
        the column), ``label`` (text), ``responses``, ``promoters``,
        ``passives``, ``detractors`` (int64), ``promoter_share``,
        ``detractor_share``, ``nps`` (float64). ``.attrs["as_of"]``: ISO date.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import nps
    >>> survey = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "a"],
    ...                        "score": [10, 9, 7, 3, 2],
    ...                        "date": ["2024-01-01"] * 4 + ["2023-06-01"]})
    >>> nps(survey)[["group", "label", "responses", "nps"]]
      group label  responses   nps
    0   all   all          4  25.0
    """
    owner = "nps"
    if as_of is None:
        require_columns(survey, ["date"], owner=owner)
        as_of_ts = pd.Timestamp(pd.to_datetime(survey["date"]).max()).normalize()
    else:
        as_of_ts = check_date(as_of, "as_of")
    scores = latest_scores(survey, as_of_ts, owner)
    groups = [("all", pd.Series("all", index=scores.index, dtype=object))]
    if customers is not None:
        if not isinstance(customers, pd.DataFrame):
            raise TypeError(
                "The 'customers' parameter of nps must be a customer table (DataFrame indexed "
                f"by customer_id). Got {type(customers).__name__} instead."
            )
        for column in by:
            if column in customers.columns:
                labels = customers[column].astype(object).reindex(scores.index)
                groups.append((column, labels.fillna("(not a customer)")))
    rows = []
    group_code = _nps_group(scores.to_numpy())
    for name, labels in groups:
        frame = pd.DataFrame({"label": labels.to_numpy(), "g": group_code})
        counts = pd.crosstab(frame["label"], frame["g"]).reindex(columns=[0, 1, 2], fill_value=0)
        dtype = customers[name].dtype if customers is not None and name != "all" else None
        if isinstance(dtype, pd.CategoricalDtype):
            order = [c for c in dtype.categories if c in counts.index]
            counts = counts.reindex(order + [c for c in counts.index if c not in order])
        for label, (pro, pas, det) in zip(counts.index, counts.to_numpy(), strict=True):
            n = pro + pas + det
            rows.append((name, str(label), n, pro, pas, det, pro / n, det / n,
                         100.0 * (pro - det) / n))
    table = pd.DataFrame(rows, columns=["group", "label", "responses", "promoters", "passives",
                                        "detractors", "promoter_share", "detractor_share", "nps"])
    table = table.astype({c: np.int64 for c in ("responses", "promoters", "passives",
                                               "detractors")})
    table.attrs["as_of"] = as_of_ts.date().isoformat()
    return table


@dataclass(frozen=True)
class HealthRules:
    """Thresholds of the health score.

    Parameters
    ----------
    yellow_rhythm : float, default 1.5
        ``rhythm_ratio`` above this is late (yellow).
    red_rhythm : float, default 3.0
        ``rhythm_ratio`` above this is lapsing (red).
    spend_drop : float, default 0.5
        Spend is *falling* when ``spend_recent < (1 - spend_drop) *
        spend_prior`` (with ``spend_prior > 0``): half of the prior window's
        spend is gone by default.
    """

    yellow_rhythm: float = 1.5
    red_rhythm: float = 3.0
    spend_drop: float = 0.5

    def __post_init__(self) -> None:
        for name in ("yellow_rhythm", "red_rhythm"):
            object.__setattr__(self, name, check(
                getattr(self, name), Real(0.0, math.inf, closed="neither", what="a number"),
                name=name, owner="HealthRules"))
        object.__setattr__(self, "spend_drop", check(
            self.spend_drop, Fraction(low_open=True, high_open=True), name="spend_drop",
            owner="HealthRules"))
        if self.red_rhythm <= self.yellow_rhythm:
            raise ValueError(
                "HealthRules needs yellow_rhythm < red_rhythm. Got "
                f"yellow_rhythm={self.yellow_rhythm!r}, red_rhythm={self.red_rhythm!r}."
            )


def customer_health(
    indicators: LoyaltyIndicators,
    *,
    survey: pd.DataFrame | None = None,
    rules: HealthRules | None = None,
) -> pd.DataFrame:
    """Green, yellow or red per customer: their rhythm, their spend trend and, with a survey, NPS.

    ``rhythm_ratio`` is the customer's ``overdue_ratio`` (days since the
    last purchase / their median gap); for a customer with one purchase
    day, ``recency_days`` / the median of every repeat customer's median
    gap (the shop's usual rhythm). With the defaults of :class:`HealthRules`:

    * **red**: ``rhythm_ratio > 3`` (lapsing), or a detractor whose spend is
      falling;
    * **yellow**: not red, and ``rhythm_ratio > 1.5`` (late), or spend
      falling, or a detractor;
    * **green**: otherwise.

    Parameters
    ----------
    indicators : LoyaltyIndicators
        ``loyalty_indicators(orders)``.
    survey : pandas.DataFrame, optional
        ``customer_id``, ``score``, ``date``; each customer's latest answer
        by the indicators' ``as_of`` counts. Customers without one are
        judged on rhythm and spend alone.
    rules : HealthRules, optional

    Returns
    -------
    pandas.DataFrame
        Indexed like ``indicators.table``: ``rhythm_ratio`` (float64),
        ``spend_falling`` (bool), with a survey ``nps_score`` (float64, NaN
        without an answer) and ``nps_group`` (category promoter / passive /
        detractor), then ``health`` (ordered category green < yellow <
        red), ``health_zh`` (text) and ``health_reason`` (text: the rule
        that decided: ``lapsing``, ``detractor_spend_falling``, ``late``,
        ``spend_falling``, ``detractor`` or ``on_rhythm``).

    Examples
    --------
    >>> from rfm_loyalty.loyalty import customer_health, loyalty_indicators
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-31", "2024-03-01",
    ...                                   "2024-01-01", "2024-01-11", "2024-02-20",
    ...                                   "2024-01-20", "2024-02-25"]),
    ...     "amount": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 100.0, 10.0]})
    >>> health = customer_health(loyalty_indicators(frame, window_days=30))
    >>> health[["rhythm_ratio", "spend_falling", "health", "health_reason"]]
                 rhythm_ratio  spend_falling  health  health_reason
    customer_id
    a                0.000000          False   green      on_rhythm
    b                5.000000           True     red        lapsing
    c                0.333333          False   green      on_rhythm
    d                0.138889           True  yellow  spend_falling
    """
    from rfm_loyalty._validation import Instance, Optional

    rules = check(rules, Optional(Instance((HealthRules,), "a HealthRules")), name="rules",
                  owner="customer_health") or HealthRules()
    if not isinstance(indicators, LoyaltyIndicators):
        raise TypeError(
            "customer_health needs the result of loyalty_indicators(orders). Got "
            f"{type(indicators).__name__} instead."
        )
    table = indicators.table
    median_gap = table["median_gap_days"]
    reference = float(median_gap.median()) if median_gap.notna().any() else np.nan
    rhythm = table["overdue_ratio"].to_numpy().copy()
    single = np.isnan(rhythm)
    with np.errstate(invalid="ignore", divide="ignore"):
        rhythm[single] = table["recency_days"].to_numpy()[single] / reference
    prior = table["spend_prior"].to_numpy()
    falling = (prior > 0) & (table["spend_recent"].to_numpy() < (1 - rules.spend_drop) * prior)
    out = pd.DataFrame({"rhythm_ratio": rhythm, "spend_falling": falling}, index=table.index)
    detractor = np.zeros(len(table), dtype=bool)
    if survey is not None:
        scores = latest_scores(survey, indicators.as_of, "customer_health").reindex(table.index)
        out["nps_score"] = scores.astype("float64").to_numpy()
        known = scores.notna().to_numpy()
        group = np.full(len(table), -1)
        group[known] = _nps_group(scores.to_numpy()[known])
        out["nps_group"] = pd.Categorical.from_codes(group, categories=pd.Index(NPS_GROUPS))
        detractor = group == 2
    lapsing = rhythm > rules.red_rhythm  # (NaN compares False: no rhythm known)
    late = rhythm > rules.yellow_rhythm
    reasons = np.select(
        [lapsing, detractor & falling, late, falling, detractor],
        ["lapsing", "detractor_spend_falling", "late", "spend_falling", "detractor"],
        default="on_rhythm",
    )
    level = np.select([lapsing | (detractor & falling), late | falling | detractor], [2, 1],
                      default=0)
    out["health"] = pd.Categorical.from_codes(level, categories=pd.Index(HEALTH_LEVELS),
                                              ordered=True)
    out["health_zh"] = np.asarray([HEALTH_NAMES_ZH[h] for h in HEALTH_LEVELS],
                                  dtype=object)[level]
    out["health_reason"] = reasons.astype(object)
    return out
