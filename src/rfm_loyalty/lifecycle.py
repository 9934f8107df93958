"""Lifecycle cohorts of the seed's "RFM layering", with their marketing actions.

Every customer with a purchase gets exactly one label from the number of days
since the last purchase (``d``) and the purchases made before the recent
window (the "RFM layering" of Chinese retail CRM practice):

============== ========== =====================================================
label          zh         rule (defaults)
============== ========== =====================================================
new            新顾客     d <= 45 and no purchase before the 45-day window
active         活跃老顾客 d <= 45 and >= 2 purchases before the window
returning      回流老顾客 d <= 45 and exactly 1 purchase before the window
cooling        沉默预警   45 < d < 90
high_recovery  高挽回顾客 90 <= d < 180
low_recovery   低挽回顾客 180 <= d <= 360
lost           流失顾客   d > 360
============== ========== =====================================================

The per-customer counts come from
:func:`rfm_loyalty.summary.customer_aggregates`, the one step that reads the
orders, so purchases are counted exactly as in the customer table and other
engines can supply them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from rfm_loyalty._validation import Choice, Instance, Optional, check, require_columns
from rfm_loyalty.engines import EngineSource
from rfm_loyalty.orders import Orders
from rfm_loyalty.summary import CustomerBase, customer_base

__all__ = [
    "ACTIONS",
    "LABELS_ZH",
    "LIFECYCLE_LABELS",
    "SEED_LABELS",
    "Action",
    "LifecycleRules",
    "lifecycle_from_aggregates",
    "lifecycle_from_base",
    "lifecycle_labels",
]

#: Labels of the extended scheme, in lifecycle order (the categorical order).
LIFECYCLE_LABELS: tuple[str, ...] = (
    "new", "active", "returning", "cooling", "high_recovery", "low_recovery", "lost",
)
#: Labels of the seed scheme: the four seed cohorts, then ``unclassified``.
SEED_LABELS: tuple[str, ...] = ("new", "active", "high_recovery", "low_recovery", "unclassified")

#: Chinese name of every label.
LABELS_ZH: MappingProxyType[str, str] = MappingProxyType(
    {
        "new": "新顾客",
        "active": "活跃老顾客",
        "returning": "回流老顾客",
        "cooling": "沉默预警",
        "high_recovery": "高挽回顾客",
        "low_recovery": "低挽回顾客",
        "lost": "流失顾客",
        "unclassified": "未分类",
    }
)


class Action(NamedTuple):
    """The marketing action of a lifecycle label, in English and Chinese."""

    en: str
    zh: str


#: Action per label. The four seed cohorts carry the seed's actions; the
#: actions of returning, cooling and lost are our proposal (docs/lifecycle.md).
ACTIONS: MappingProxyType[str, Action] = MappingProxyType(
    {
        "new": Action(
            "Campaign for the second purchase.",
            "开展促进二次购买的营销活动。",
        ),
        "active": Action(
            "First access to gifts, trials, bigger discounts and new products.",
            "优先享受赠品、试用、更大折扣和新品。",
        ),
        "returning": Action(
            "Welcome back: thank them and recommend from past purchases to rebuild the habit.",
            "欢迎回归：致谢并按历史购买推荐，重建购买习惯。",
        ),
        "cooling": Action(
            "Early warning: a reminder with personal recommendations before they go quiet.",
            "沉默预警：推送个性化推荐提醒，防止沉睡。",
        ),
        "high_recovery": Action(
            "Regular promotions first, care messages second.",
            "以常规促销为主，关怀信息为辅。",
        ),
        "low_recovery": Action(
            "Care messages first; push offers only at big sale events.",
            "以关怀信息为主，仅在大促活动时推送。",
        ),
        "lost": Action(
            "No regular contact; include only in large reactivation campaigns.",
            "不做常规触达，仅纳入大型召回活动。",
        ),
        "unclassified": Action(
            "None: the seed rules do not cover this customer (see rule).",
            "无：种子规则未覆盖该顾客（见规则说明）。",
        ),
    }
)

_SCHEMES = ("extended", "seed")
_AGGREGATE_COLUMNS = ("last_purchase", "purchases_in_window", "purchases_before_window")


@dataclass(frozen=True)
class LifecycleRules:
    """Day windows and the prior-purchase minimum of the lifecycle cohorts.

    Parameters
    ----------
    window_days : int, default 45
        The recent window: ``d <= window_days`` is new, active or returning.
        A purchase is in the window when ``(as_of - purchase_day) <= window_days``.
    cooling_end_days : int, default 90
        ``window_days < d < cooling_end_days`` is cooling.
    high_recovery_end_days : int, default 180
        ``cooling_end_days <= d < high_recovery_end_days`` is high_recovery.
    low_recovery_end_days : int, default 360
        ``high_recovery_end_days <= d <= low_recovery_end_days`` is
        low_recovery; beyond it, lost.
    active_min_prior_purchases : int, default 2
        Purchases before the window that make a recent customer active;
        fewer (but at least one) make it returning.

    Examples
    --------
    >>> from rfm_loyalty.lifecycle import LifecycleRules
    >>> LifecycleRules(window_days=30, cooling_end_days=60).window_days
    30
    """

    window_days: int = 45
    cooling_end_days: int = 90
    high_recovery_end_days: int = 180
    low_recovery_end_days: int = 360
    active_min_prior_purchases: int = 2

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(
                    f"LifecycleRules.{name} must be a whole number. Got {value!r}."
                )
        days = (
            self.window_days,
            self.cooling_end_days,
            self.high_recovery_end_days,
            self.low_recovery_end_days,
        )
        if self.window_days < 0 or any(b <= a for a, b in pairwise(days)):
            raise ValueError(
                "LifecycleRules needs 0 <= window_days < cooling_end_days < "
                "high_recovery_end_days < low_recovery_end_days. Got "
                f"window_days={self.window_days!r}, cooling_end_days="
                f"{self.cooling_end_days!r}, high_recovery_end_days="
                f"{self.high_recovery_end_days!r}, low_recovery_end_days="
                f"{self.low_recovery_end_days!r}."
            )
        if self.active_min_prior_purchases < 1:
            raise ValueError(
                "LifecycleRules.active_min_prior_purchases must be >= 1 (the purchases "
                "before the window that make a recent customer active). Got "
                f"{self.active_min_prior_purchases!r}."
            )

    def rule_texts(self) -> dict[str, str]:
        """Return the rule of each label in words, with these windows filled in.

        Returns
        -------
        dict of str to str
            Label -> rule text (extended labels), as shown in the ``rule``
            column of :func:`lifecycle_labels`.
        """
        w, c = self.window_days, self.cooling_end_days
        h, lo, k = self.high_recovery_end_days, self.low_recovery_end_days, (
            self.active_min_prior_purchases
        )
        before = f"before the {w}-day window"
        returning = "1 purchase" if k == 2 else f"1 to {k - 1} purchases"
        return {
            "new": f"new: last purchase 0-{w} days ago, no purchase {before}",
            "active": f"active: last purchase 0-{w} days ago, >= {k} purchases {before}",
            "returning": f"returning: last purchase 0-{w} days ago, {returning} {before}",
            "cooling": f"cooling: last purchase {w + 1}-{c - 1} days ago",
            "high_recovery": f"high_recovery: last purchase {c}-{h - 1} days ago",
            "low_recovery": f"low_recovery: last purchase {h}-{lo} days ago",
            "lost": f"lost: last purchase over {lo} days ago",
        }

    def unclassified_texts(self) -> dict[str, str]:
        """Return why the seed scheme leaves a customer unclassified, per label.

        Returns
        -------
        dict of str to str
            For ``returning``, ``cooling`` and ``lost``: the reason text.
        """
        w, c, lo = self.window_days, self.cooling_end_days, self.low_recovery_end_days
        k = self.active_min_prior_purchases
        returning = "one purchase" if k == 2 else f"1 to {k - 1} purchases"
        return {
            "returning": (
                f"unclassified: last purchase 0-{w} days ago with {returning} before "
                f"the {w}-day window (new needs none, active >= {k})"
            ),
            "cooling": f"unclassified: last purchase {w + 1}-{c - 1} days ago",
            "lost": f"unclassified: last purchase over {lo} days ago",
        }


def lifecycle_labels(
    orders: Orders | pd.DataFrame | EngineSource | CustomerBase,
    *,
    as_of: Any = None,
    rules: LifecycleRules | None = None,
    scheme: str = "extended",
) -> pd.DataFrame:
    """Label every customer with a purchase with its lifecycle cohort and action.

    Parameters
    ----------
    orders : Orders, pandas.DataFrame, EngineSource or CustomerBase
        Prepared orders (:func:`rfm_loyalty.orders.prepare_orders`), a
        DataFrame with the canonical columns, lines held by an engine, or a
        customer base. Purchases are the orders with a positive net amount
        (or as configured in ``prepare_orders``); orders after ``as_of`` are
        ignored.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of`` (the last order date).
    rules : LifecycleRules, optional
        Windows and thresholds; default ``LifecycleRules()``.
    scheme : {"extended", "seed"}, default "extended"
        ``"extended"`` uses the seven labels above. ``"seed"`` keeps only the
        seed's four cohorts (new, active, high_recovery, low_recovery) and
        labels everyone else ``unclassified``, the ``rule`` column saying why.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``, one row per customer with at least one purchase;
        ``.attrs`` holds ``as_of`` (ISO date text), ``rules`` (the
        ``LifecycleRules`` fields as a dict) and ``scheme``.

        ======================= ================ =================================
        column                  dtype            meaning
        ======================= ================ =================================
        lifecycle               ordered category label; categories in lifecycle
                                                 order (LIFECYCLE_LABELS or
                                                 SEED_LABELS)
        lifecycle_zh            category         Chinese name of the label
        days_since_last         int64            as_of - last purchase day, days
        purchases_in_window     int64            purchases with (as_of - day)
                                                 <= window_days
        purchases_before_window int64            the other purchases
        action                  category         marketing action (English)
        action_zh               category         marketing action (Chinese)
        rule                    category         the rule that applied, in words
        ======================= ================ =================================

    Raises
    ------
    ValueError
        If ``scheme`` or ``rules`` is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.lifecycle import lifecycle_labels
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-06-20", "2024-01-05", "2024-06-25",
    ...                                   "2024-03-01"]),
    ...     "amount": [10.0, 20.0, 15.0, 30.0],
    ... })
    >>> labels = lifecycle_labels(orders, as_of="2024-06-30")
    >>> labels[["lifecycle", "days_since_last", "purchases_before_window"]]
                     lifecycle  days_since_last  purchases_before_window
    customer_id
    a                      new               10                        0
    b                returning                5                        1
    c            high_recovery              121                        1
    """
    rules = _check_arguments(rules, scheme)
    base = customer_base(orders, as_of=as_of, window_days=rules.window_days)
    return lifecycle_from_base(base, rules=rules, scheme=scheme)


def lifecycle_from_base(
    base: CustomerBase, *, rules: LifecycleRules | None = None, scheme: str = "extended"
) -> pd.DataFrame:
    """Label the customers of a customer base (its window must be ``rules.window_days``).

    Parameters
    ----------
    base : CustomerBase
        From :func:`~rfm_loyalty.summary.customer_base` with
        ``window_days=rules.window_days``.
    rules : LifecycleRules, optional
        Default ``LifecycleRules()``.
    scheme : {"extended", "seed"}, default "extended"

    Returns
    -------
    pandas.DataFrame
        The table of :func:`lifecycle_labels`.

    Examples
    --------
    >>> from rfm_loyalty.summary import customer_base
    >>> frame = pd.DataFrame({"customer_id": ["a", "b"], "order_date": ["2023-09-02",
    ...                       "2024-03-25"], "amount": [30.0, 15.0]})
    >>> lifecycle_from_base(customer_base(frame, window_days=45))["lifecycle"].tolist()
    ['low_recovery', 'new']
    """
    rules = _check_arguments(rules, scheme)
    if base.window_days != rules.window_days:
        raise ValueError(
            f"The customer base counted its window with window_days={base.window_days!r}, "
            f"but the rules need window_days={rules.window_days!r}. Build it with "
            f"customer_base(orders, window_days={rules.window_days})."
        )
    return lifecycle_from_aggregates(base.aggregates, rules=rules, scheme=scheme,
                                     as_of=base.as_of)


def lifecycle_from_aggregates(
    aggregates: pd.DataFrame,
    *,
    rules: LifecycleRules | None = None,
    scheme: str = "extended",
    as_of: Any = None,
) -> pd.DataFrame:
    """Label customers from per-customer aggregates (any engine).

    This is the labelling half of :func:`lifecycle_labels`, for aggregates
    computed elsewhere (DuckDB, Spark) with the same contract as
    :func:`rfm_loyalty.summary.customer_aggregates`.

    Parameters
    ----------
    aggregates : pandas.DataFrame
        Indexed by customer, with ``last_purchase`` (datetime64, the day of the
        last purchase), ``purchases_in_window`` and ``purchases_before_window``
        counted with ``window_days == rules.window_days``; ``.attrs["as_of"]``
        holds the analysis date.
    rules : LifecycleRules, optional
        Default ``LifecycleRules()``; its ``window_days`` must be the window
        the aggregates were counted with.
    scheme : {"extended", "seed"}, default "extended"
        As in :func:`lifecycle_labels`.
    as_of : date-like, optional
        The date the aggregates were counted at; default
        ``aggregates.attrs["as_of"]``.

    Returns
    -------
    pandas.DataFrame
        The same table as :func:`lifecycle_labels`.

    Raises
    ------
    rfm_loyalty.exceptions.SchemaError
        If a needed column or ``attrs["as_of"]`` is missing.

    Examples
    --------
    The aggregates may come from any engine; here from pandas:

    >>> from rfm_loyalty.summary import customer_aggregates
    >>> frame = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                       "order_date": pd.to_datetime(["2024-01-02", "2024-03-20",
    ...                                                     "2024-03-25"]),
    ...                       "amount": [30.0, 20.0, 15.0]})
    >>> aggregates = customer_aggregates(frame, as_of="2024-03-31", window_days=45)
    >>> lifecycle_from_aggregates(aggregates)["lifecycle"].tolist()
    ['returning', 'new']
    """
    rules = _check_arguments(rules, scheme)
    hint = f"Build them with customer_aggregates(orders, window_days={rules.window_days})."
    require_columns(aggregates, _AGGREGATE_COLUMNS, owner="lifecycle_from_aggregates",
                    hint=hint)
    if as_of is None and "as_of" not in aggregates.attrs:
        raise ValueError(
            "lifecycle_from_aggregates needs the analysis date: pass as_of=..., or build the "
            f"aggregates with customer_aggregates(orders, window_days={rules.window_days}), "
            "which records it."
        )
    as_of_ts = pd.Timestamp(as_of if as_of is not None else aggregates.attrs["as_of"])
    last = aggregates["last_purchase"].to_numpy().astype("datetime64[D]")
    days = (as_of_ts.to_datetime64().astype("datetime64[D]") - last).astype(np.int64)
    in_window = aggregates["purchases_in_window"].to_numpy().astype(np.int64)
    before = aggregates["purchases_before_window"].to_numpy().astype(np.int64)

    extended = _extended_codes(days, before, rules)
    texts = rules.rule_texts()
    if scheme == "extended":
        labels = LIFECYCLE_LABELS
        codes = extended
        rule_text = [texts[label] for label in labels]
        rule_codes = extended
    else:
        labels = SEED_LABELS
        to_seed = np.array([labels.index(lab) if lab in labels else len(labels) - 1
                            for lab in LIFECYCLE_LABELS])
        codes = to_seed[extended]
        # The rule text keeps the extended reason, so "unclassified" says why.
        reasons = rules.unclassified_texts()
        rule_text = [texts[lab] if lab in labels else reasons[lab] for lab in LIFECYCLE_LABELS]
        rule_codes = extended

    index = aggregates.index
    out = pd.DataFrame(
        {
            "lifecycle": pd.Categorical.from_codes(
                codes.astype(np.int64), categories=pd.Index(list(labels)), ordered=True
            ),
            "lifecycle_zh": _text(codes, [LABELS_ZH[lab] for lab in labels]),
            "days_since_last": days,
            "purchases_in_window": in_window,
            "purchases_before_window": before,
            "action": _text(codes, [ACTIONS[lab].en for lab in labels]),
            "action_zh": _text(codes, [ACTIONS[lab].zh for lab in labels]),
            "rule": _text(rule_codes, rule_text),
        },
        index=index,
    )
    # attrs stay JSON-serialisable (pandas writes them into Parquet metadata)
    out.attrs["as_of"] = as_of_ts.date().isoformat()
    out.attrs["rules"] = dataclasses.asdict(rules)
    out.attrs["scheme"] = scheme
    return out


_SCHEME = Choice(*_SCHEMES)
_RULES = Optional(Instance((LifecycleRules,), "a LifecycleRules instance",
                           advice="e.g. LifecycleRules(window_days=30)"))


def _check_arguments(rules: LifecycleRules | None, scheme: str) -> LifecycleRules:
    check(scheme, _SCHEME, name="scheme", owner="lifecycle_labels")
    checked = check(rules, _RULES, name="rules", owner="lifecycle_labels")
    return checked if checked is not None else LifecycleRules()


def _extended_codes(days: np.ndarray, before: np.ndarray, rules: LifecycleRules) -> np.ndarray:
    """Position in LIFECYCLE_LABELS of each customer's label (vectorised)."""
    recent = days <= rules.window_days
    conditions = [
        recent & (before == 0),
        recent & (before >= rules.active_min_prior_purchases),
        recent,  # 1 .. active_min - 1 purchases before the window
        days < rules.cooling_end_days,
        days < rules.high_recovery_end_days,
        days <= rules.low_recovery_end_days,
    ]
    return np.select(conditions, np.arange(6), default=6).astype(np.int64)


def _text(codes: np.ndarray, values: list[str]) -> Any:
    # Categoricals keep a million labels cheap; unused texts are dropped so that
    # value_counts shows only what occurs.
    text = pd.Categorical.from_codes(codes.astype(np.int64), categories=pd.Index(values))
    return text.remove_unused_categories()
