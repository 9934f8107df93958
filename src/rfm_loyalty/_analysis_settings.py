"""The parameters of :func:`~rfm_loyalty.analysis.analyze`, checked before any work.

One declarative table says what every analysis parameter accepts; ``check``
runs it (milliseconds) and returns the frozen :class:`AnalysisSettings` that
the pipeline reads. The reading options are checked at the same time, as a
:class:`~rfm_loyalty.orders.ReadOptions` (see ``_analysis_input``), so that
``analyze(path, returns="nett")`` or ``analyze(path, churn_days=0)`` fail
before the file is opened.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._validation import (
    Amount,
    Boolean,
    Choice,
    Days,
    Fraction,
    Instance,
    Optional,
    Real,
    Whole,
    check_params,
)
from rfm_loyalty.btyd import PURCHASE_MODELS
from rfm_loyalty.churn import check_flow_settings
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.lifecycle import LifecycleRules
from rfm_loyalty.loyalty import loyalty_tables
from rfm_loyalty.segments import Segment, segment_rules

#: What ``loyalty_options`` may hold: the options of ``loyalty_tables`` but the data
#: and the margin, which analyze passes itself.
_LOYALTY_OPTIONS = tuple(
    name for name, p in inspect.signature(loyalty_tables).parameters.items()
    if p.kind is p.KEYWORD_ONLY and name != "margin"
)

__all__ = ["PARAMETERS", "AnalysisSettings", "check_settings"]

_OWNER = "analyze"

#: What each parameter of ``analyze`` accepts (the reading options aside).
PARAMETERS = {
    "n_bins": Whole(minimum=2, maximum=10, example=5),
    "lifecycle": Optional(Instance((LifecycleRules,), "a LifecycleRules instance",
                                   advice="e.g. LifecycleRules(window_days=30)")),
    "margin": Optional(Fraction(low_open=True, example=0.3)),
    "cost_per_order": Amount(example=0.0),
    "cost_per_customer": Amount(example=0.0),
    "churn_days": Days(example=360),
    "period": Choice("D", "W", "M", "Q", "Y"),
    "horizon_months": Whole(minimum=1, unit="months", example=12),
    "loyalty": Boolean(),
    "loyalty_options": Optional(Instance((Mapping,), "a dict of loyalty_tables options",
                                         advice="e.g. loyalty_options={'thresholds': "
                                         "{'silver': 500, 'gold': 2000}}")),
    "discount_rate_monthly": Real(0.0, 1.0, closed="left", what="a monthly rate",
                                  example=0.01),
}


@dataclass(frozen=True)
class AnalysisSettings:
    """The checked parameters of one ``analyze`` call (everything but the reading options).

    Attributes
    ----------
    n_bins : int
    segments : str or tuple of Segment
        As given: a preset name, or the rule set as a tuple.
    segment_rules : tuple of Segment
        The rules themselves (the preset resolved).
    rules : LifecycleRules
    margin : float or None
    cost_per_order, cost_per_customer : float
    models : tuple of str
        The purchase models to fit and compare (empty: none); ``True`` was
        given as ``("bgnbd",)``.
    churn_days : int
    period : str
    horizon_months : int
    discount_rate_monthly : float
    loyalty : bool
    loyalty_options : mapping
        Keyword arguments of :func:`~rfm_loyalty.loyalty.loyalty_tables`.
    """

    n_bins: int
    segments: str | tuple[Segment, ...]
    segment_rules: tuple[Segment, ...]
    rules: LifecycleRules
    margin: float | None
    cost_per_order: float
    cost_per_customer: float
    models: tuple[str, ...]
    churn_days: int
    period: str
    horizon_months: int
    discount_rate_monthly: float
    loyalty: bool = False
    loyalty_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def needs_cost_input(self) -> bool:
        """Whether a cost to serve was given (it needs a cost column or a margin)."""
        return bool(self.cost_per_order or self.cost_per_customer)

    def to_params(self) -> dict[str, Any]:
        """Return the settings in JSON-serialisable form (the recorded parameters)."""
        segment_param: Any = (
            self.segments if isinstance(self.segments, str)
            else [_rule_dict(rule) for rule in self.segments]
        )
        return {
            "n_bins": self.n_bins,
            "segments": segment_param,
            "lifecycle": dataclasses.asdict(self.rules),
            "margin": self.margin,
            "cost_per_order": self.cost_per_order,
            "cost_per_customer": self.cost_per_customer,
            "models": list(self.models),
            "churn_days": self.churn_days,
            "period": self.period,
            "horizon_months": self.horizon_months,
            "discount_rate_monthly": self.discount_rate_monthly,
            "loyalty": self.loyalty,
            "loyalty_options": {k: _json(v) for k, v in self.loyalty_options.items()},
        }


def _model_names(models: Any) -> tuple[str, ...]:
    """``models=``: True (BG/NBD), False, or the names of the purchase models to compare."""
    if isinstance(models, (bool, np.bool_)):
        return ("bgnbd",) if models else ()
    given = models
    names = (models,) if isinstance(models, str) else (
        tuple(models) if isinstance(models, (tuple, list)) else None)
    if not names or any(n not in PURCHASE_MODELS for n in names) or len(set(names)) != len(
        names
    ):
        raise InvalidParameterError(
            "The 'models' parameter of analyze must be True or False, or distinct model names "
            f"among {list(PURCHASE_MODELS)!r}. Got {given!r} instead; pass e.g. "
            "models=('bgnbd', 'paretonbd') to fit both and keep the one with the lower BIC."
        )
    return names


def _json(value: Any) -> Any:
    """Return a loyalty option as JSON: a table (survey, leads) by its shape, tuples as lists."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return f"<{type(value).__name__} of {len(value):,} rows>"
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def _rule_dict(rule: Segment) -> dict[str, Any]:
    out = dataclasses.asdict(rule)
    for dim in ("r", "f", "m"):  # tuples -> lists so that JSON round-trips equal
        out[dim] = list(out[dim])
    return out


def check_settings(
    *, n_bins: Any, segments: Any, lifecycle: Any, margin: Any, cost_per_order: Any,
    cost_per_customer: Any, models: Any, churn_days: Any, period: Any, horizon_months: Any,
    discount_rate_monthly: Any, loyalty: Any = False, loyalty_options: Any = None,
) -> AnalysisSettings:
    """Check every analysis parameter against :data:`PARAMETERS`; return the settings.

    Examples
    --------
    >>> settings = check_settings(n_bins=5, segments="default", lifecycle=None, margin=0.3,
    ...                           cost_per_order=0.0, cost_per_customer=0.0, models=False,
    ...                           churn_days=360, period="M", horizon_months=12,
    ...                           discount_rate_monthly=0.01)
    >>> settings.margin, settings.rules.window_days
    (0.3, 45)
    >>> check_settings(n_bins=5, segments="default", lifecycle=None, margin=30,
    ...                cost_per_order=0.0, cost_per_customer=0.0, models=False,
    ...                churn_days=360, period="M", horizon_months=12,
    ...                discount_rate_monthly=0.01)
    Traceback (most recent call last):
    ...
    rfm_loyalty.exceptions.InvalidParameterError: The 'margin' parameter of analyze must be None or a fraction in (0, 1]. Got 30 instead; did you mean 0.3?
    """  # noqa: E501
    values = check_params(_OWNER, PARAMETERS, {
        "n_bins": n_bins, "lifecycle": lifecycle, "margin": margin,
        "cost_per_order": cost_per_order, "cost_per_customer": cost_per_customer,
        "churn_days": churn_days, "period": period,
        "horizon_months": horizon_months, "discount_rate_monthly": discount_rate_monthly,
        "loyalty": loyalty, "loyalty_options": loyalty_options,
    })
    options = dict(values["loyalty_options"] or {})
    if options and not values["loyalty"]:
        raise InvalidParameterError(
            f"analyze got loyalty_options={options!r} but loyalty=False; pass loyalty=True "
            "to compute the loyalty views."
        )
    unknown = sorted(set(options) - set(_LOYALTY_OPTIONS))
    if unknown:
        raise InvalidParameterError(
            f"analyze got the unknown loyalty option(s) {unknown}; the options are "
            f"{sorted(_LOYALTY_OPTIONS)} (see loyalty_tables)."
        )
    rules_given = segments if isinstance(segments, str) else (
        tuple(segments) if isinstance(segments, Sequence) else segments
    )
    resolved = segment_rules(rules_given, n_bins=values["n_bins"])
    # the flow table needs churn_days >= the longest period: say so now, not after the work
    check_flow_settings(values["period"], values["churn_days"], owner=_OWNER)
    return AnalysisSettings(
        n_bins=values["n_bins"],
        segments=rules_given,
        segment_rules=resolved,
        rules=values["lifecycle"] if values["lifecycle"] is not None else LifecycleRules(),
        margin=values["margin"],
        cost_per_order=values["cost_per_order"],
        cost_per_customer=values["cost_per_customer"],
        models=_model_names(models),
        churn_days=values["churn_days"],
        period=values["period"],
        horizon_months=values["horizon_months"],
        discount_rate_monthly=values["discount_rate_monthly"],
        loyalty=values["loyalty"],
        loyalty_options=MappingProxyType(options),
    )
