"""Loyalty stages: suspect, prospect, first-time, repeat, loyal, advocate.

The loyalty ladder of the source material, from what the orders (and, when
given, referrals, a survey and a leads table) can show. Rules in
:class:`StageRules` and ``docs/loyalty.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.base import prepared
from rfm_loyalty._loyalty.indicators import loyalty_indicators
from rfm_loyalty._loyalty.inputs import check_date, latest_scores, lead_table, referrers
from rfm_loyalty._validation import Days, Instance, Optional, Real, Whole, check
from rfm_loyalty.lifecycle import Action
from rfm_loyalty.migration import MigrationResult, migration_from_labels
from rfm_loyalty.orders import Orders

__all__ = ["STAGES", "STAGE_ACTIONS", "STAGE_NAMES_ZH", "LoyaltyStages", "StageRules",
           "loyalty_stages", "stage_transitions"]

#: The stages in ladder order (the categorical order).
STAGES: tuple[str, ...] = ("suspect", "prospect", "first_time", "repeat", "loyal", "advocate")

#: Chinese name of every stage.
STAGE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "suspect": "潜在顾客",
        "prospect": "意向顾客",
        "first_time": "首次购买顾客",
        "repeat": "重复购买顾客",
        "loyal": "忠诚顾客",
        "advocate": "拥护者",
    }
)

#: What to do with each stage, in English and Chinese.
STAGE_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "suspect": Action(
            "Qualify: find out whether they need what you sell (targeted content, lead scoring).",
            "甄别需求：用定向内容和线索评分判断其是否需要我们的产品。",
        ),
        "prospect": Action(
            "Convert: a first-purchase offer and a low-risk trial.",
            "促成首购：提供首单优惠和低风险试用。",
        ),
        "first_time": Action(
            "Onboard to the second purchase within 90 days: thank, recommend, reward a "
            "second order.",
            "90 天内促成二次购买：致谢、推荐并奖励第二单。",
        ),
        "repeat": Action(
            "Build the habit: reminders timed to their rhythm, cross-selling, membership.",
            "培养购买习惯：按其购买节奏提醒、交叉销售、邀请入会。",
        ),
        "loyal": Action(
            "Reward and keep: tier benefits, early access, priority service; ask for referrals.",
            "回馈与维系：会员权益、新品优先、服务优先，并邀请推荐。",
        ),
        "advocate": Action(
            "Recognise and amplify: referral rewards, reviews, community roles.",
            "认可并放大影响：推荐奖励、口碑评价、社群角色。",
        ),
    }
)


@dataclass(frozen=True)
class StageRules:
    """The thresholds of the loyalty stages.

    A buyer is ``first_time`` with one purchase day, else ``repeat``, unless
    *loyal*: at least ``loyal_min_purchase_days`` purchase days over at least
    ``loyal_min_span_days`` from the first to the last, a regular rhythm
    (``gap_cv <= loyal_max_gap_cv``) and not overdue (``overdue_ratio <=
    loyal_max_overdue_ratio``). An *advocate* has at least
    ``advocate_min_purchase_days`` purchase days and referred someone or
    answered the survey with at least ``promoter_min_score`` (a promoter).

    Parameters
    ----------
    loyal_min_purchase_days : int, default 3
    loyal_min_span_days : int, default 180
    loyal_max_gap_cv : float, default 1.0
        1.0: the gaps vary no more than an exponential (memoryless) rhythm.
    loyal_max_overdue_ratio : float, default 2.0
        Not yet twice their usual (median) gap since the last purchase.
    advocate_min_purchase_days : int, default 2
        A one-time buyer who says they would recommend is a first-time buyer.
    promoter_min_score : int, default 9
        NPS promoters answer 9 or 10.
    """

    loyal_min_purchase_days: int = 3
    loyal_min_span_days: int = 180
    loyal_max_gap_cv: float = 1.0
    loyal_max_overdue_ratio: float = 2.0
    advocate_min_purchase_days: int = 2
    promoter_min_score: int = 9

    def __post_init__(self) -> None:
        owner = "StageRules"
        for name, constraint in (
            ("loyal_min_purchase_days", Whole(minimum=2)),
            ("loyal_min_span_days", Days(minimum=0)),
            ("loyal_max_gap_cv", Real(0.0, np.inf, closed="left", what="a number")),
            ("loyal_max_overdue_ratio", Real(0.0, np.inf, closed="neither", what="a number")),
            ("advocate_min_purchase_days", Whole(minimum=1)),
            ("promoter_min_score", Whole(minimum=0, maximum=10)),
        ):
            object.__setattr__(self, name, check(getattr(self, name), constraint, name=name,
                                                 owner=owner))


@dataclass(frozen=True)
class LoyaltyStages:
    """Each customer's loyalty stage and the count per stage.

    Attributes
    ----------
    customers : pandas.DataFrame
        Index ``customer_id``: every buyer, then the leads who never bought.
        ``stage`` (ordered category of the stages the inputs allow),
        ``stage_zh``, ``action``, ``action_zh`` (text).
    summary : pandas.DataFrame
        Index ``stage`` (every allowed stage, in ladder order):
        ``stage_zh``, ``customers`` (int64), ``share`` (float64, of all
        rows of ``customers``), ``action``, ``action_zh``.
    missing : Mapping[str, str]
        Stage -> why it cannot be assigned with these inputs.
    as_of : pandas.Timestamp
    rules : StageRules
    """

    customers: pd.DataFrame
    summary: pd.DataFrame
    missing: Mapping[str, str]
    as_of: pd.Timestamp
    rules: StageRules


def _allowed(leads: Any, referrals: Any, survey: Any) -> tuple[list[str], dict[str, str]]:
    allowed, missing = [], {}
    if leads is None:
        reason = "needs a leads table (people who never bought): pass leads="
        missing.update({"suspect": reason, "prospect": reason})
    else:
        allowed += ["suspect", "prospect"]
    allowed += ["first_time", "repeat", "loyal"]
    if referrals is None and survey is None:
        missing["advocate"] = ("needs referrals or survey answers: orders cannot show who "
                               "recommends the shop; pass referrals= or survey=")
    else:
        allowed.append("advocate")
    return allowed, missing


def _stage_codes(table: pd.DataFrame, rules: StageRules, advocates: pd.Index | None
                 ) -> np.ndarray:
    days = table["purchase_days"].to_numpy()
    span = np.rint(table["mean_gap_days"].fillna(0).to_numpy()
                   * table["repeat_purchase_days"].to_numpy())
    loyal = (
        (days >= rules.loyal_min_purchase_days)
        & (span >= rules.loyal_min_span_days)
        & (table["gap_cv"].to_numpy() <= rules.loyal_max_gap_cv)
        & (table["overdue_ratio"].to_numpy() <= rules.loyal_max_overdue_ratio)
    )
    stage = np.where(days >= 2, STAGES.index("repeat"), STAGES.index("first_time"))
    stage = np.where(loyal, STAGES.index("loyal"), stage)
    if advocates is not None:
        says = table.index.isin(advocates) & (days >= rules.advocate_min_purchase_days)
        stage = np.where(says, STAGES.index("advocate"), stage)
    return stage


def loyalty_stages(
    orders: Orders | pd.DataFrame,
    *,
    as_of: Any = None,
    rules: StageRules | None = None,
    referrals: Any = None,
    survey: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
) -> LoyaltyStages:
    """Place every customer on the loyalty ladder, with the stage's action.

    ==========  =====================================================================
    stage       rule (defaults of :class:`StageRules`)
    ==========  =====================================================================
    suspect     a lead (never bought) without a sign of interest (needs ``leads``)
    prospect    a lead with ``interested`` True (needs ``leads``)
    first_time  one purchase day
    repeat      two or more purchase days, and not loyal
    loyal       >= 3 purchase days over >= 180 days, gap_cv <= 1, overdue_ratio <= 2
    advocate    >= 2 purchase days and a referral or a promoter score (9-10) by as_of
    ==========  =====================================================================

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders or order lines with the canonical names.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``. Referrals and survey answers
        after it are ignored.
    rules : StageRules, optional
        Thresholds; default ``StageRules()``.
    referrals : list of customer ids or DataFrame, optional
        Who referred someone: ids, or a DataFrame with ``customer_id`` (the
        referrer) and optionally ``date``.
    survey : pandas.DataFrame, optional
        ``customer_id``, ``score`` (0-10), ``date``; each customer's latest
        answer by ``as_of`` counts.
    leads : pandas.DataFrame, optional
        People who never bought: ``customer_id`` and optionally ``interested``
        (bool: they signed up, asked or answered). A lead who did buy is a
        buyer, placed by their orders.

    Returns
    -------
    LoyaltyStages
        ``customers`` (stage per customer), ``summary`` (per stage) and
        ``missing`` (stages the inputs do not allow, with the reason).

    Examples
    --------
    >>> from rfm_loyalty.loyalty import loyalty_stages
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01",
    ...                                   "2024-07-01", "2024-06-01", "2024-07-10",
    ...                                   "2024-07-20"]),
    ...     "amount": 10.0})
    >>> stages = loyalty_stages(frame, leads=pd.DataFrame({"customer_id": ["x"]}))
    >>> stages.customers[["stage", "stage_zh"]]
                      stage stage_zh
    customer_id
    a                 loyal     忠诚顾客
    b                repeat   重复购买顾客
    c            first_time   首次购买顾客
    x               suspect     潜在顾客
    >>> stages.missing["advocate"][:40]
    'needs referrals or survey answers: order'
    """
    rules = _check_rules(rules, "loyalty_stages")
    indicators = loyalty_indicators(orders, as_of=as_of)
    return stages_from_indicators(indicators.table, indicators.as_of, rules, referrals, survey,
                                  leads)


def _check_rules(rules: Any, owner: str) -> StageRules:
    return check(rules, Optional(Instance((StageRules,), "a StageRules")), name="rules",
                 owner=owner) or StageRules()


def stages_from_indicators(table: pd.DataFrame, as_of: pd.Timestamp, rules: StageRules,
                           referrals: Any, survey: Any, leads: Any) -> LoyaltyStages:
    """Place the customers of an indicators table on the ladder (checked inputs)."""
    owner = "loyalty_stages"
    allowed, missing = _allowed(leads, referrals, survey)
    advocates = None
    if referrals is not None or survey is not None:
        said: set[Any] = set()
        if referrals is not None:
            said.update(referrers(referrals, as_of, owner))
        if survey is not None:
            scores = latest_scores(survey, as_of, owner)
            said.update(scores.index[scores.to_numpy() >= rules.promoter_min_score])
        advocates = pd.Index(sorted(said), dtype=object)
    codes = _stage_codes(table, rules, advocates)
    index = table.index
    if leads is not None:
        lead = lead_table(leads, owner)
        lead = lead[~lead.index.isin(index)]
        lead_codes = np.where(lead.to_numpy(), STAGES.index("prospect"), STAGES.index("suspect"))
        codes = np.r_[codes, lead_codes]
        index = index.append(lead.index.astype(index.dtype)).rename("customer_id")
    names = np.asarray(STAGES, dtype=object)[codes]
    stage = pd.Categorical(names, categories=allowed, ordered=True)
    customers = pd.DataFrame({"stage": stage}, index=index)
    customers["stage_zh"] = customers["stage"].map(STAGE_NAMES_ZH).astype(object)
    customers["action"] = customers["stage"].map(
        {s: a.en for s, a in STAGE_ACTIONS.items()}).astype(object)
    customers["action_zh"] = customers["stage"].map(
        {s: a.zh for s, a in STAGE_ACTIONS.items()}).astype(object)
    counts = customers["stage"].value_counts(sort=False).reindex(allowed).astype(np.int64)
    summary = pd.DataFrame(
        {
            "stage_zh": [STAGE_NAMES_ZH[s] for s in allowed],
            "customers": counts.to_numpy(),
            "share": counts.to_numpy() / max(len(customers), 1),
            "action": [STAGE_ACTIONS[s].en for s in allowed],
            "action_zh": [STAGE_ACTIONS[s].zh for s in allowed],
        },
        index=pd.Index(allowed, name="stage"),
    )
    return LoyaltyStages(customers=customers, summary=summary,
                         missing=MappingProxyType(missing), as_of=as_of, rules=rules)


def stage_transitions(
    orders: Orders | pd.DataFrame,
    from_date: Any,
    to_date: Any,
    *,
    rules: StageRules | None = None,
    referrals: Any = None,
    survey: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
) -> MigrationResult:
    """Cross-tabulate each customer's loyalty stage at ``from_date`` against ``to_date``.

    Each date's stages use only the orders, referrals and answers up to it.
    The table is a :class:`~rfm_loyalty.migration.MigrationResult` (the one
    of :func:`~rfm_loyalty.migration.segment_migration`, ``by =
    "loyalty_stage"``): customers without a stage at ``from_date`` (first
    purchase later, not a lead) form the row ``"not yet a customer"``.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
    from_date, to_date : date-like
        ``from_date < to_date``.
    rules, referrals, survey, leads
        As for :func:`loyalty_stages`.

    Returns
    -------
    MigrationResult

    Examples
    --------
    >>> from rfm_loyalty.loyalty import stage_transitions
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
    ...     "amount": 10.0})
    >>> moves = stage_transitions(frame, "2024-01-31", "2024-03-01")
    >>> moves.counts
    to_label            first_time  repeat  loyal
    from_label
    first_time                   0       1      0
    repeat                       0       0      0
    loyal                        0       0      0
    not yet a customer           1       0      0
    """
    rules = _check_rules(rules, "stage_transitions")
    start = check_date(from_date, "from_date")
    end = check_date(to_date, "to_date")
    if not start < end:
        raise ValueError(
            f"stage_transitions needs from_date < to_date. Got from_date={from_date!r} and "
            f"to_date={to_date!r}; swap or change them."
        )
    at_end = prepared(orders, end, "stage_transitions")
    labels = []
    for when in (at_end.until(start), at_end):
        ind = loyalty_indicators(when)
        labels.append(stages_from_indicators(ind.table, ind.as_of, rules, referrals, survey, leads)
                      .customers["stage"])
    return migration_from_labels(labels[0], labels[1], from_date=start, to_date=end,
                                 by="loyalty_stage")

