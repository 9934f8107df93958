"""Named RFM segments: rule sets over score cells, a linter, presets, summaries.

A :class:`Segment` is a box in score space: inclusive ranges of ``r_score``,
``f_score`` and ``m_score``. A rule set is an ordered tuple of segments; a
customer gets the first segment whose box holds its scores, and ``"Other"``
when none does. Several rules may carry the same name (a segment made of more
than one box). :func:`lint_segments` checks a rule set on the ``n_bins ** 3``
score cells: coverage, overlaps and rules that can never fire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._validation import Whole, check, close_match, require_columns
from rfm_loyalty.exceptions import SchemaError

__all__ = [
    "OTHER",
    "OTHER_ZH",
    "SEGMENT_PRESETS",
    "Segment",
    "SegmentLint",
    "SegmentOverlap",
    "assign_segments",
    "check_preset_scores",
    "lint_segments",
    "segment_grid",
    "segment_rules",
    "segment_summary",
]

#: Label of customers no rule matches.
OTHER = "Other"
_MAX_SCORE = 10
_PRESET_N_BINS = 5
_SCORES = ("r_score", "f_score", "m_score")


def _check_range(name: str, dim: str, value: Any) -> tuple[int, int]:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    )
    if ok:
        lo, hi = int(value[0]), int(value[1])
        if 1 <= lo <= hi <= _MAX_SCORE:
            return lo, hi
    raise ValueError(
        f"Segment {name!r}: {dim} must be a pair of integer scores (lo, hi) with "
        f"1 <= lo <= hi <= {_MAX_SCORE}, e.g. {dim}=(4, 5). Got {dim}={value!r}."
    )


@dataclass(frozen=True)
class Segment:
    """One named box of score cells: ``r``, ``f`` and ``m`` inclusive ranges.

    Parameters
    ----------
    name : str
        Segment label (not empty, not ``"Other"``, which is reserved).
    r, f, m : tuple of two int, default (1, 10)
        Inclusive ``(lo, hi)`` range of ``r_score``, ``f_score`` and
        ``m_score``; ``(1, 10)`` matches any score.
    description : str, default ""
        Who the customers are, in words.
    action : str, default ""
        What marketing does with them.
    name_zh, action_zh : str, default ""
        The name and the action in Chinese (``lang="zh"`` views show them;
        empty: the English text is shown).

    Examples
    --------
    >>> from rfm_loyalty.segments import Segment
    >>> Segment("Champions", r=(5, 5), f=(4, 5), m=(4, 5)).n_cells(5)
    4
    """

    name: str
    r: tuple[int, int] = (1, _MAX_SCORE)
    f: tuple[int, int] = (1, _MAX_SCORE)
    m: tuple[int, int] = (1, _MAX_SCORE)
    description: str = ""
    action: str = ""
    name_zh: str = ""
    action_zh: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"Segment name must be a non-empty string. Got {self.name!r}.")
        if self.name == OTHER:
            raise ValueError(
                f"Segment name {OTHER!r} is reserved for customers no rule matches; "
                "choose another name."
            )
        for dim in ("r", "f", "m"):
            # frozen: normalise lists and numpy ints to a plain tuple of ints.
            object.__setattr__(self, dim, _check_range(self.name, dim, getattr(self, dim)))
        for field in ("description", "action", "name_zh", "action_zh"):
            if not isinstance(getattr(self, field), str):
                raise ValueError(
                    f"Segment {self.name!r}: {field} must be a string. "
                    f"Got {getattr(self, field)!r}."
                )

    def matches(self, r: Any, f: Any, m: Any) -> np.ndarray:
        """Boolean mask of the scores that fall in this box (vectorised).

        Parameters
        ----------
        r, f, m : array-like of int
            Scores, broadcastable against each other.

        Returns
        -------
        numpy.ndarray of bool
            True where all three scores lie in the segment's ranges.
        """
        r, f, m = np.asarray(r), np.asarray(f), np.asarray(m)
        return (
            (r >= self.r[0]) & (r <= self.r[1])
            & (f >= self.f[0]) & (f <= self.f[1])
            & (m >= self.m[0]) & (m <= self.m[1])
        )

    def n_cells(self, n_bins: int = _PRESET_N_BINS) -> int:
        """Count the cells of the ``n_bins ** 3`` grid inside this box.

        Parameters
        ----------
        n_bins : int, default 5
            Scores per dimension.

        Returns
        -------
        int
            Cells matched, ignoring every other rule.
        """
        sizes = [max(0, min(hi, n_bins) - lo + 1) for lo, hi in (self.r, self.f, self.m)]
        return int(np.prod(sizes))


# --------------------------------------------------------------------- presets
_DEFAULT = (
    Segment(
        "Champions", r=(5, 5), f=(4, 5), m=(4, 5),
        description="Bought most recently, buy most often and spend the most.",
        action="Reward: early access to new products, loyalty perks, ask for reviews "
        "and referrals; no discounts needed.",
        name_zh="冠军客户", action_zh="回馈：新品抢先体验、会员礼遇，邀请评价和推荐；无需折扣。",
    ),
    Segment(
        "Loyal Customers", r=(5, 5), f=(4, 5), m=(1, 3),
        description="Buy often and recently, with a smaller total spend.",
        action="Upsell higher-value products; loyalty programme; ask for reviews.",
        name_zh="忠诚客户", action_zh="推荐更高价值的商品；会员计划；邀请评价。",
    ),
    Segment(
        "Loyal Customers", r=(3, 4), f=(4, 5), m=(1, 5),
        description="Buy often; the last purchase is fairly recent.",
        action="Upsell higher-value products; loyalty programme; ask for reviews.",
        name_zh="忠诚客户", action_zh="推荐更高价值的商品；会员计划；邀请评价。",
    ),
    Segment(
        "Potential Loyalist", r=(4, 5), f=(2, 3), m=(1, 5),
        description="Recent customers with a few purchases.",
        action="Membership or loyalty offer; recommend related products.",
        name_zh="潜在忠诚客户", action_zh="会员或忠诚度优惠；推荐相关商品。",
    ),
    Segment(
        "New Customers", r=(5, 5), f=(1, 1), m=(1, 5),
        description="Bought very recently, for the first time.",
        action="Onboarding and a reason to make the second purchase.",
        name_zh="新客户", action_zh="新客引导，给出二次购买的理由。",
    ),
    Segment(
        "Promising", r=(4, 4), f=(1, 1), m=(1, 5),
        description="One fairly recent purchase.",
        action="Build brand awareness; small incentive or free trial.",
        name_zh="有潜力客户", action_zh="建立品牌认知；小额激励或免费试用。",
    ),
    Segment(
        "Need Attention", r=(3, 3), f=(3, 3), m=(1, 5),
        description="Middling recency and frequency.",
        action="Limited-time offer and personalised recommendations.",
        name_zh="需要关注客户", action_zh="限时优惠与个性化推荐。",
    ),
    Segment(
        "About To Sleep", r=(3, 3), f=(1, 2), m=(1, 5),
        description="Few purchases, the last one a while ago.",
        action="Share popular products and a discount before they lapse.",
        name_zh="即将沉睡客户", action_zh="在其流失前推送热门商品和折扣。",
    ),
    Segment(
        "At Risk", r=(1, 2), f=(4, 5), m=(1, 3),
        description="Used to buy often but not for a long time; moderate spend.",
        action="Personal win-back message, renewal offer, helpful content.",
        name_zh="流失风险客户", action_zh="个性化挽回信息、续订优惠和有用内容。",
    ),
    Segment(
        "At Risk", r=(1, 2), f=(3, 3), m=(1, 5),
        description="Bought several times, but not for a long time.",
        action="Personal win-back message, renewal offer, helpful content.",
        name_zh="流失风险客户", action_zh="个性化挽回信息、续订优惠和有用内容。",
    ),
    Segment(
        "Can't Lose Them", r=(1, 2), f=(4, 5), m=(4, 5),
        description="Bought often and spent the most, but not for a long time.",
        action="Win them back in person: new versions, strong offer, a call.",
        name_zh="不能失去的客户", action_zh="亲自挽回：新版本、有力优惠、电话联系。",
    ),
    Segment(
        "Hibernating", r=(2, 2), f=(1, 2), m=(1, 5),
        description="Last purchase long ago, few purchases.",
        action="Relevant products and special discounts; recreate brand value.",
        name_zh="休眠客户", action_zh="相关商品和特别折扣；重建品牌价值。",
    ),
    Segment(
        "Lost", r=(1, 1), f=(1, 2), m=(1, 5),
        description="Lowest recency and few purchases.",
        action="Reach out only in reactivation campaigns; otherwise do not spend on them.",
        name_zh="已流失客户", action_zh="仅在召回活动中触达；否则不再投入。",
    ),
)

# The 10-segment R x F map that circulates as a regular-expression table
# (``seg_map``) in public CRM-analytics course notebooks; M is not used.
# Reproduced cell for cell, see docs/segments.md for the source note.
_RF_GRID = (
    Segment("Hibernating", r=(1, 2), f=(1, 2), m=(1, 5),
            name_zh="休眠客户",
            description="R 1-2, F 1-2 (regex [1-2][1-2])."),
    Segment("At Risk", r=(1, 2), f=(3, 4), m=(1, 5),
            name_zh="流失风险客户",
            description="R 1-2, F 3-4 (regex [1-2][3-4])."),
    Segment("Can't Lose", r=(1, 2), f=(5, 5), m=(1, 5),
            name_zh="不能失去的客户",
            description="R 1-2, F 5 (regex [1-2]5)."),
    Segment("About To Sleep", r=(3, 3), f=(1, 2), m=(1, 5),
            name_zh="即将沉睡客户",
            description="R 3, F 1-2 (regex 3[1-2])."),
    Segment("Need Attention", r=(3, 3), f=(3, 3), m=(1, 5),
            name_zh="需要关注客户",
            description="R 3, F 3 (regex 33)."),
    Segment("Loyal Customers", r=(3, 4), f=(4, 5), m=(1, 5),
            name_zh="忠诚客户",
            description="R 3-4, F 4-5 (regex [3-4][4-5])."),
    Segment("Promising", r=(4, 4), f=(1, 1), m=(1, 5),
            name_zh="有潜力客户",
            description="R 4, F 1 (regex 41)."),
    Segment("New Customers", r=(5, 5), f=(1, 1), m=(1, 5),
            name_zh="新客户",
            description="R 5, F 1 (regex 51)."),
    Segment("Potential Loyalists", r=(4, 5), f=(2, 3), m=(1, 5),
            name_zh="潜在忠诚客户",
            description="R 4-5, F 2-3 (regex [4-5][2-3])."),
    Segment("Champions", r=(5, 5), f=(4, 5), m=(1, 5),
            name_zh="冠军客户",
            description="R 5, F 4-5 (regex 5[4-5])."),
)

#: Chinese name of customers no rule matches.
OTHER_ZH = "其他"

#: Named rule sets, all written for 5 score bands (``RFMScorer(n_bins=5)``).
#: The Chinese names and actions are this library's translation of the
#: English ones (no Chinese source names these eleven segments).
#: ``"default"``: our 11-segment set covering all 125 cells, no rule shadowed.
#: ``"rf_grid"``: the widely copied R x F ``seg_map`` table, reproduced exactly.
SEGMENT_PRESETS: MappingProxyType[str, tuple[Segment, ...]] = MappingProxyType(
    {"default": _DEFAULT, "rf_grid": _RF_GRID}
)


def segment_rules(rules: str | Sequence[Segment], *, n_bins: int = 5) -> tuple[Segment, ...]:
    """Check a preset name or rule set against the score range and return the rules.

    Parameters
    ----------
    rules : str or sequence of Segment
        A preset name (``SEGMENT_PRESETS``) or an ordered rule set.
    n_bins : int, default 5
        The scores the rules will meet (1..n_bins).

    Returns
    -------
    tuple of Segment

    Raises
    ------
    ValueError
        Unknown preset (with the closest name), a rule set that is empty or
        holds something else than ``Segment``, or a preset (written for
        scores 1..5) with ``n_bins`` above 5.

    Examples
    --------
    >>> len(segment_rules("default")) > 5
    True
    >>> segment_rules("default", n_bins=7)
    Traceback (most recent call last):
    ...
    ValueError: Segment preset 'default' is written for scores 1..5 (RFMScorer(n_bins=5)); got scores up to 7. Score with n_bins=5 (or fewer) or pass your own Segment rules.
    """  # noqa: E501
    _check_n_bins(n_bins)
    resolved = _resolve_rules(rules)
    check_preset_scores(rules, n_bins)
    return resolved


def _resolve_rules(rules: str | Sequence[Segment]) -> tuple[Segment, ...]:
    if isinstance(rules, str):
        if rules not in SEGMENT_PRESETS:
            hint = close_match(rules, SEGMENT_PRESETS)
            suggestion = f" Did you mean {hint!r}?" if hint else ""
            raise ValueError(
                f"Unknown segment preset {rules!r}; presets are "
                f"{sorted(SEGMENT_PRESETS)!r}.{suggestion}"
            )
        return SEGMENT_PRESETS[rules]
    if not isinstance(rules, Sequence) or len(rules) == 0:
        raise ValueError(
            "rules must be a preset name or a non-empty tuple of Segment objects. "
            f"Got {rules!r}."
        )
    bad = [i for i, rule in enumerate(rules) if not isinstance(rule, Segment)]
    if bad:
        raise ValueError(
            f"rules must contain only Segment objects; items {bad!r} are "
            f"{[type(rules[i]).__name__ for i in bad]!r}. Build them with Segment(name, r=..., "
            "f=..., m=...)."
        )
    return tuple(rule for rule in rules if isinstance(rule, Segment))


def _segment_names(rules: tuple[Segment, ...]) -> list[str]:
    # dict keeps first-appearance order: category order follows the rule order.
    return [*dict.fromkeys(rule.name for rule in rules), OTHER]


def _first_match(rules: tuple[Segment, ...], r: Any, f: Any, m: Any) -> np.ndarray:
    """Category code of the first matching rule's name; the last code is Other."""
    names = _segment_names(rules)
    code_of = {name: i for i, name in enumerate(names)}
    codes = np.full(np.shape(r), code_of[OTHER], dtype="int64")
    unset = np.ones(np.shape(r), dtype=bool)
    # Loop over the rules (a dozen), never over customers.
    for rule in rules:
        hit = unset & rule.matches(r, f, m)
        codes[hit] = code_of[rule.name]
        unset &= ~hit
    return codes


def assign_segments(
    scored: pd.DataFrame, rules: str | Sequence[Segment] = "default"
) -> pd.DataFrame:
    """Add the ``segment`` column: the first rule whose box holds the scores.

    Parameters
    ----------
    scored : pandas.DataFrame
        A table with integer ``r_score``, ``f_score`` and ``m_score`` columns
        (e.g. the output of :class:`~rfm_loyalty.scoring.RFMScorer` or the
        customer table joined with it). Not modified.
    rules : str or sequence of Segment, default "default"
        A name in :data:`SEGMENT_PRESETS` or an ordered rule set.

    Returns
    -------
    pandas.DataFrame
        A copy of ``scored`` with one more column:

        ======= ================== ================================================
        column  dtype              meaning
        ======= ================== ================================================
        segment ordered category   name of the first matching rule; ``"Other"``
                                   when none matches. Categories: the rule names
                                   in first-appearance order, then ``"Other"``.
        ======= ================== ================================================

    Raises
    ------
    rfm_loyalty.exceptions.SchemaError
        If a score column is missing or holds non-integer values.
    ValueError
        If ``rules`` is unknown or invalid, or a preset meets scores above 5.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.segments import assign_segments
    >>> scored = pd.DataFrame({"r_score": [5, 1, 3], "f_score": [5, 1, 3], "m_score": [5, 1, 2]})
    >>> assign_segments(scored)["segment"].tolist()
    ['Champions', 'Lost', 'Need Attention']
    """
    resolved = _resolve_rules(rules)
    r, f, m = _score_arrays(scored, "assign_segments")
    if len(r):
        check_preset_scores(rules, int(max(r.max(), f.max(), m.max())))
    codes = _first_match(resolved, r, f, m)
    out = scored.copy()
    out["segment"] = pd.Categorical.from_codes(
        codes.astype(np.int64), categories=pd.Index(_segment_names(resolved)), ordered=True
    )
    return out


def _score_arrays(scored: Any, caller: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(scored, pd.DataFrame):
        raise SchemaError(
            f"{caller} needs a DataFrame with columns {list(_SCORES)!r}; "
            f"got {type(scored).__name__}."
        )
    require_columns(scored, _SCORES, owner=caller,
                    hint="Score the customers with RFMScorer().fit_transform(customers) first.")
    arrays = []
    for column in _SCORES:
        values = scored[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        as_float = values.to_numpy(dtype="float64", na_value=np.nan) if numeric else None
        if as_float is None or np.isnan(as_float).any() or np.any(as_float != np.round(as_float)):
            raise SchemaError(
                f"{caller}: column {column!r} must hold integer scores without missing "
                f"values; got dtype {values.dtype!s}. Use the output of RFMScorer."
            )
        arrays.append(as_float.astype("int64"))
    return arrays[0], arrays[1], arrays[2]


def check_preset_scores(rules: str | Sequence[Segment], highest_score: int) -> None:
    """Raise ValueError when a preset (written for scores 1..5) meets higher scores.

    Parameters
    ----------
    rules : str or sequence of Segment
        A preset name, or a rule set (never refused: custom rules may use any scale).
    highest_score : int
        The highest score the rules will meet.

    Returns
    -------
    None

    Examples
    --------
    >>> check_preset_scores("default", 5)
    """
    if isinstance(rules, str) and highest_score > _PRESET_N_BINS:
        raise ValueError(
            f"Segment preset {rules!r} is written for scores 1..{_PRESET_N_BINS} "
            f"(RFMScorer(n_bins={_PRESET_N_BINS})); got scores up to {highest_score}. "
            f"Score with n_bins={_PRESET_N_BINS} (or fewer) or pass your own Segment rules."
        )


def segment_grid(rules: str | Sequence[Segment] = "default", *, n_bins: int = 5) -> pd.DataFrame:
    """Every score cell of the ``n_bins ** 3`` grid with the segment it gets.

    Parameters
    ----------
    rules : str or sequence of Segment, default "default"
        A preset name or an ordered rule set.
    n_bins : int, default 5
        Scores per dimension, 2 to 10.

    Returns
    -------
    pandas.DataFrame
        ``n_bins ** 3`` rows ordered by r, f, m descending (555 first), columns
        ``r_score``, ``f_score``, ``m_score`` (int64), ``rfm_code`` (text) and
        ``segment`` (ordered category, as in :func:`assign_segments`).

    Examples
    --------
    >>> from rfm_loyalty.segments import segment_grid
    >>> segment_grid("default").head(2)
       r_score  f_score  m_score rfm_code    segment
    0        5        5        5      555  Champions
    1        5        5        4      554  Champions
    """
    _check_n_bins(n_bins)
    scores = np.arange(n_bins, 0, -1)
    r, f, m = (a.ravel() for a in np.meshgrid(scores, scores, scores, indexing="ij"))
    sep = "-" if n_bins >= 10 else ""
    grid = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m}).astype("int64")
    grid["rfm_code"] = [f"{a}{sep}{b}{sep}{c}" for a, b, c in zip(r, f, m, strict=True)]
    resolved = _resolve_rules(rules)
    codes = _first_match(resolved, r, f, m)
    grid["segment"] = pd.Categorical.from_codes(
        codes.astype(np.int64), categories=pd.Index(_segment_names(resolved)), ordered=True
    )
    return grid


def _check_n_bins(n_bins: Any) -> None:
    check(n_bins, Whole(minimum=2, maximum=_MAX_SCORE), name="n_bins", owner="segments")


# ---------------------------------------------------------------------- linter
@dataclass(frozen=True)
class SegmentOverlap:
    """Two rules whose boxes share cells (the earlier rule wins them).

    Attributes
    ----------
    first, second : int
        Positions of the two rules in the rule set (``first < second``).
    first_name, second_name : str
        Their segment names.
    cells : tuple of str
        The shared cells as ``rfm_code`` texts (e.g. ``"545"``).
    """

    first: int
    second: int
    first_name: str
    second_name: str
    cells: tuple[str, ...]


@dataclass(frozen=True)
class SegmentLint:
    """What :func:`lint_segments` found. ``str()`` gives a readable report.

    Attributes
    ----------
    n_bins : int
        Scores per dimension checked.
    n_cells : int
        ``n_bins ** 3``.
    coverage : float
        Share of the cells some rule matches (1.0 = nobody is "Other").
    uncovered : tuple of str
        Codes (``"511"``) of the cells no rule matches.
    overlaps : tuple of SegmentOverlap
        Rule pairs sharing cells; harmless when intended (first match wins).
    never_fire : tuple of int
        Indices of rules that match no cell not already taken by an earlier
        rule (fully shadowed, or outside the grid).
    cells_won : tuple of int
        Per rule, how many cells it actually wins.
    """

    n_bins: int
    n_cells: int
    coverage: float
    uncovered: tuple[str, ...]
    overlaps: tuple[SegmentOverlap, ...]
    never_fire: tuple[int, ...]
    cells_won: tuple[int, ...]
    names: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every cell is covered and every rule can fire."""
        return self.coverage == 1.0 and not self.never_fire

    def __str__(self) -> str:
        lines = [
            f"Segment rules on {self.n_bins}x{self.n_bins}x{self.n_bins} = "
            f"{self.n_cells} cells: coverage {self.coverage:.1%}"
            f" ({self.n_cells - len(self.uncovered)} of {self.n_cells} cells)."
        ]
        if self.uncovered:
            shown = ", ".join(self.uncovered[:20])
            more = f" and {len(self.uncovered) - 20} more" if len(self.uncovered) > 20 else ""
            lines.append(f"Uncovered cells (-> {OTHER!r}): {shown}{more}.")
        for o in self.overlaps:
            lines.append(
                f"Overlap: rule {o.first} {o.first_name!r} and rule {o.second} "
                f"{o.second_name!r} share {len(o.cells)} cells ({', '.join(o.cells[:10])}"
                f"{', ...' if len(o.cells) > 10 else ''}); rule {o.first} wins them."
            )
        for i in self.never_fire:
            lines.append(
                f"Never fires: rule {i} {self.names[i]!r} matches no cell that an "
                "earlier rule has not already taken."
            )
        if self.ok and not self.overlaps:
            lines.append("OK: every cell covered, no overlaps, every rule fires.")
        return "\n".join(lines)


def lint_segments(rules: str | Sequence[Segment] = "default", *, n_bins: int = 5) -> SegmentLint:
    """Check a rule set on the ``n_bins ** 3`` score cells.

    Parameters
    ----------
    rules : str or sequence of Segment, default "default"
        A preset name or an ordered rule set.
    n_bins : int, default 5
        Scores per dimension, 2 to 10.

    Returns
    -------
    SegmentLint
        Coverage, uncovered cells, overlapping rule pairs with their cells,
        rules that can never fire and cells won per rule; ``str()`` of it is
        a readable report and ``.ok`` is the pass/fail flag.

    Examples
    --------
    >>> from rfm_loyalty.segments import Segment, lint_segments
    >>> rules = (Segment("Top", r=(4, 5)), Segment("Recent", r=(5, 5)))
    >>> report = lint_segments(rules)
    >>> report.coverage, report.never_fire
    (0.4, (1,))
    """
    _check_n_bins(n_bins)
    resolved = _resolve_rules(rules)
    grid = segment_grid(resolved, n_bins=n_bins)
    r, f, m = (grid[c].to_numpy() for c in _SCORES)
    codes = grid["rfm_code"].to_numpy()
    masks = np.array([rule.matches(r, f, m) for rule in resolved])
    taken = np.zeros(len(grid), dtype=bool)
    won = []
    for mask in masks:
        won.append(int((mask & ~taken).sum()))
        taken |= mask
    overlaps = []
    for i in range(len(resolved)):
        for j in range(i + 1, len(resolved)):
            shared = masks[i] & masks[j]
            if shared.any():
                overlaps.append(
                    SegmentOverlap(i, j, resolved[i].name, resolved[j].name,
                                   tuple(str(c) for c in codes[shared]))
                )
    return SegmentLint(
        n_bins=int(n_bins),
        n_cells=len(grid),
        coverage=float(taken.mean()),
        uncovered=tuple(str(c) for c in codes[~taken]),
        overlaps=tuple(overlaps),
        never_fire=tuple(i for i, n in enumerate(won) if n == 0),
        cells_won=tuple(won),
        names=tuple(rule.name for rule in resolved),
    )


# -------------------------------------------------------------------- summary
def segment_summary(table: pd.DataFrame, by: str = "segment") -> pd.DataFrame:
    """Summarise customers, revenue and mean R/F/M per group, in the group's order.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer with ``recency_days``, ``frequency``,
        ``monetary_total`` and the ``by`` column (e.g. the customer table
        joined with segments or lifecycle labels). Not modified.
    by : str, default "segment"
        Column to group on: ``"segment"``, ``"lifecycle"`` or any other.

    Returns
    -------
    pandas.DataFrame
        Indexed by the groups (named ``by``). For a categorical column, every
        category in category order (empty ones with 0 customers and NaN
        means); otherwise the observed values sorted. Columns:

        ================== ======= ===========================================
        column             dtype   meaning
        ================== ======= ===========================================
        customers          int64   customers in the group
        customer_share     float64 customers / all customers
        revenue            float64 sum of monetary_total
        revenue_share      float64 revenue / total revenue (NaN if total is 0)
        mean_recency_days  float64 mean days since the last purchase
        mean_frequency     float64 mean number of purchases
        mean_monetary      float64 mean monetary_total
        ================== ======= ===========================================

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.segments import segment_summary
    >>> t = pd.DataFrame({"recency_days": [1, 3, 100], "frequency": [4, 2, 1],
    ...                   "monetary_total": [300.0, 100.0, 100.0], "tier": ["A", "A", "B"]})
    >>> segment_summary(t, by="tier")[["customers", "revenue", "revenue_share"]]
          customers  revenue  revenue_share
    tier
    A             2    400.0            0.8
    B             1    100.0            0.2
    """
    needed = ["recency_days", "frequency", "monetary_total", by]
    if not isinstance(table, pd.DataFrame):
        raise SchemaError(f"segment_summary needs a DataFrame; got {type(table).__name__}.")
    require_columns(table, needed, owner="segment_summary",
                    hint="Join the customer table (rfm_table) with the segment or lifecycle "
                    "labels first.")
    frame = table[needed]
    grouped = frame.groupby(by, observed=True, sort=True)
    out = pd.DataFrame(
        {
            "customers": grouped.size().astype("int64"),
            "revenue": grouped["monetary_total"].sum().astype("float64"),
            "mean_recency_days": grouped["recency_days"].mean().astype("float64"),
            "mean_frequency": grouped["frequency"].mean().astype("float64"),
            "mean_monetary": grouped["monetary_total"].mean().astype("float64"),
        }
    )
    column = frame[by]
    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        out = out.reindex(pd.CategoricalIndex(categories, dtype=column.dtype, name=by))
        out["customers"] = out["customers"].fillna(0).astype("int64")
        out["revenue"] = out["revenue"].fillna(0.0)
    total_customers = len(frame)
    total_revenue = float(frame["monetary_total"].sum())
    out["customer_share"] = out["customers"] / total_customers if total_customers else np.nan
    out["revenue_share"] = out["revenue"] / total_revenue if total_revenue else np.nan
    out.index.name = by
    return out[
        ["customers", "customer_share", "revenue", "revenue_share",
         "mean_recency_days", "mean_frequency", "mean_monetary"]
    ]
