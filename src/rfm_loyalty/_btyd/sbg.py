"""Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

Each customer has a churn probability ``theta ~ Beta(alpha, beta)`` and at
the end of every period renews with probability ``1 - theta``. For a cohort
(eq. 5 and 6 of "How to project customer retention", Journal of Interactive
Marketing 21(1))::

    P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)     (leaves after period t)
    S(t)     = B(alpha, beta + t) / B(alpha, beta)             (still active in period t+1)
    r(t)     = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)

The log-likelihood of survivor counts ``n_0 >= n_1 >= ... >= n_k`` is
``sum_t (n_(t-1) - n_t) log P(T = t) + n_k log S(k)``, summed over cohorts of
any ages. Value (Fader & Hardie 2010, "Customer-base valuation in a
contractual setting", Marketing Science 29(1)): the discounted expected
residual lifetime of a customer who has renewed ``n - 1`` times, just before
the next renewal decision, is
``DERL = B(alpha, beta+n)/B(alpha, beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma

from rfm_loyalty._btyd.base import CustomerModel
from rfm_loyalty._btyd.fitting import Objective, mean_objective
from rfm_loyalty._btyd.rows import distinct
from rfm_loyalty._btyd.special import scaled_hyp2f1
from rfm_loyalty._validation import Real, check
from rfm_loyalty.exceptions import ModelFitError

_HINT = ("Pass the survivors of one cohort (n_0, n_1, ... at ages 0, 1, ...) or a DataFrame "
         "with one row per cohort and a column per age 0..K (NaN beyond a cohort's age), as "
         "survivors_from_orders or survivors_from_renewals build it.")


@dataclass(frozen=True)
class CohortEvents:
    """Survivor counts turned into events: churn at period t, or still active at age k."""

    churn_period: np.ndarray  # t >= 1, weight = customers who left after period t
    churn_weight: np.ndarray
    survive_age: np.ndarray  # k >= 0, weight = customers still active at the cohort's last age
    survive_weight: np.ndarray
    n_customers: float
    n_cohorts: int
    max_age: int

    @property
    def weight(self) -> np.ndarray:
        """Weights of the stacked events (churns, then survivals)."""
        return np.concatenate([self.churn_weight, self.survive_weight])


def cohort_events(survivors: Any, who: str) -> CohortEvents:
    """Validate survivor counts (one cohort or several) and turn them into events."""
    if isinstance(survivors, pd.DataFrame):
        table = survivors
        ages = list(table.columns)
        try:
            numeric = [int(c) for c in ages]
        except (TypeError, ValueError):
            numeric = []
        if numeric != list(range(len(ages))) or any(
            isinstance(c, (bool, np.bool_)) for c in ages
        ):
            raise ModelFitError(
                f"{who}: the columns of a cohort table must be the ages 0, 1, 2, ... in order; "
                f"got {[str(c) for c in ages][:10]!r}. {_HINT}"
            )
        try:
            values = table.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelFitError(f"{who}: survivor counts must be numbers. {_HINT}") from exc
        labels = list(table.index)
    else:
        try:
            values = np.asarray(survivors, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ModelFitError(f"{who}: survivor counts must be numbers; got "
                                f"{type(survivors).__name__}. {_HINT}") from exc
        if values.ndim != 1:
            raise ModelFitError(f"{who}: one cohort's survivors must be one-dimensional; got "
                                f"shape {values.shape}. {_HINT}")
        values = values[None, :]
        labels = ["the cohort"]
    if values.shape[0] == 0 or values.shape[1] < 2:
        raise ModelFitError(f"{who}: needs at least one cohort observed at ages 0 and 1; got "
                            f"shape {values.shape}. {_HINT}")
    observed = np.isfinite(values)
    length = observed.sum(axis=1)  # ages 0..length-1 observed
    problems = []
    gap = observed[:, 1:] & ~observed[:, :-1]
    if gap.any() or (~observed[:, 0]).any():
        problems.append(("missing counts before observed ones (NaN only after a cohort's "
                         "last observed age)", (gap.any(axis=1) | ~observed[:, 0])))
    filled = np.where(observed, values, 0.0)
    problems.append(("negative or non-whole counts",
                     ((filled < 0) | (filled != np.round(filled))).any(axis=1)))
    problems.append(("a cohort of 0 customers at age 0", observed[:, 0] & (filled[:, 0] <= 0)))
    grows = observed[:, 1:] & observed[:, :-1] & (filled[:, 1:] > filled[:, :-1])
    problems.append(("survivors that grow with age (a cohort only loses customers)",
                     grows.any(axis=1)))
    broken = [f"{text} ({int(mask.sum())} cohort(s), e.g. "
              f"{labels[int(np.flatnonzero(mask)[0])]!r})" for text, mask in problems if mask.any()]
    if broken:
        raise ModelFitError(f"{who}: invalid survivor counts: {'; '.join(broken)}. {_HINT}")
    max_age = int(length.max()) - 1
    churn = np.zeros(max_age)
    for_age = np.zeros(max_age + 1)
    drops = np.where(observed[:, 1:], filled[:, :-1] - filled[:, 1:], 0.0)  # churn after t
    churn += drops[:, :max_age].sum(axis=0)
    last = filled[np.arange(len(filled)), length - 1]
    np.add.at(for_age, length - 1, last)
    t = np.arange(1, max_age + 1, dtype=float)
    k = np.arange(max_age + 1, dtype=float)
    keep_t, keep_k = churn > 0, for_age > 0
    return CohortEvents(t[keep_t], churn[keep_t], k[keep_k], for_age[keep_k],
                        float(filled[:, 0].sum()), int(values.shape[0]), max_age)


def sbg_loglik_terms(
    log_params: np.ndarray, data: CohortEvents, *, with_gradient: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log-probabilities of the events (churn after t, active at k) and their gradient."""
    a, b = np.exp(log_params)
    t, k = data.churn_period, data.survive_age
    norm = betaln(a, b)
    ll = np.concatenate([betaln(a + 1.0, b + t - 1.0) - norm, betaln(a, b + k) - norm])
    if not with_gradient:
        return ll, None
    psi_a, psi_b, psi_ab = digamma(a), digamma(b), digamma(a + b)
    d_a = np.concatenate([digamma(a + 1.0) - digamma(a + b + t) - psi_a + psi_ab,
                          psi_ab - digamma(a + b + k)])
    d_b = np.concatenate([digamma(b + t - 1.0) - digamma(a + b + t) - psi_b + psi_ab,
                          digamma(b + k) - digamma(a + b + k) - psi_b + psi_ab])
    return ll, np.column_stack([d_a * a, d_b * b])


_GRID = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5), (0.3, 5.0), (5.0, 10.0), (0.7, 1.2),
         (10.0, 50.0), (0.2, 0.2)]


class ShiftedBetaGeometricModel(CustomerModel):
    """Shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

    For contractual businesses (memberships, subscriptions, renewal plans):
    each customer leaves at the end of any period with their own probability
    ``theta ~ Beta(alpha, beta)``. The cohort's retention rate rises with
    tenure because the customers likely to leave go first; the model
    projects it from a few periods of survivor counts.

    Parameters
    ----------
    n_starts : int, default 4
        Number of starting points for the optimiser; the best optimum wins.
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (alpha^2 + beta^2)`` added to the mean
        negative log-likelihood per customer (the lifetimes convention).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``alpha, beta`` (float64).
    log_likelihood_, aic_, bic_ : float
        Maximised log-likelihood (without the penalty) and information criteria.
    standard_errors_, covariance_log_ : pandas.Series, numpy.ndarray
        Delta-method standard errors; covariance of the log-parameters.
    n_customers_ : float
        Customers at age 0, over all cohorts.
    n_cohorts_, n_periods_ : int
        Cohorts fitted and the oldest age observed.
    converged_ : bool
        Whether the optimiser converged (a fit that does not raises).

    Examples
    --------
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007)
    >>> model = ShiftedBetaGeometricModel().fit(regular)
    >>> model.params_.round(3).to_dict(), round(model.log_likelihood_, 1)
    ({'alpha': 0.704, 'beta': 1.182}, -1680.3)
    >>> model.retention_rate([1, 2, 12]).round(3).tolist()  # rises with tenure
    [0.627, 0.756, 0.945]
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _SETTINGS: ClassVar[tuple[str, ...]] = ("n_starts", "penalizer")
    _EXTRAS: ClassVar[tuple[str, ...]] = ("n_cohorts_", "n_periods_")

    n_cohorts_: int
    n_periods_: int

    def __init__(self, *, n_starts: int = 4, penalizer: float = 0.0) -> None:
        self.n_starts = n_starts
        self.penalizer = penalizer

    @classmethod
    def from_params(cls, *, alpha: float, beta: float) -> ShiftedBetaGeometricModel:
        """Build a model with given parameters, e.g. published ones, without fitting.

        Parameters
        ----------
        alpha, beta : float
            sBG parameters (> 0).

        Returns
        -------
        ShiftedBetaGeometricModel
            Ready to predict.

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params(alpha=0.668, beta=3.806)
        >>> round(float(model.survival(7)), 3)  # high end: 491 of 1,000 observed after 7 years
        0.489
        """
        model = cls()
        model._set_fixed({"alpha": alpha, "beta": beta},
                         "ShiftedBetaGeometricModel.from_params")
        model.n_cohorts_ = 0
        model.n_periods_ = 0
        return model

    def fit(self, survivors: Any) -> ShiftedBetaGeometricModel:
        """Fit by maximum likelihood on survivor counts.

        Parameters
        ----------
        survivors : array-like or pandas.DataFrame
            One cohort: customers still active at ages 0, 1, 2, ... (age 0 is
            the cohort's size). Several cohorts: a DataFrame with one row per
            cohort and one column per age 0..K, NaN beyond each cohort's last
            observed age (younger cohorts have fewer ages), as
            :func:`survivors_from_orders` and :func:`survivors_from_renewals`
            build it.

        Returns
        -------
        ShiftedBetaGeometricModel
            ``self``, fitted.

        Raises
        ------
        ModelFitError
            Invalid counts (one message lists every broken rule), no churn at
            all, or an optimiser that did not converge.
        """
        who = "ShiftedBetaGeometricModel.fit"
        self._settings_checked()
        events = cohort_events(survivors, who)
        if events.churn_weight.sum() == 0:
            raise ModelFitError(
                f"{who}: no customer left in any cohort, so the churn probabilities cannot be "
                "estimated. Use cohorts observed over more periods."
            )
        starts = [np.log(pair) for pair in _GRID[: self.n_starts]]
        self._maximise(self._objective, events, starts, events.n_customers, who)
        self.n_cohorts_ = events.n_cohorts
        self.n_periods_ = events.max_age
        return self

    @staticmethod
    def _objective(events: CohortEvents) -> Objective:
        return mean_objective(sbg_loglik_terms, events)

    # -- predictions ---------------------------------------------------------- #
    def _periods(self, t: Any, who: str, minimum: int) -> tuple[np.ndarray, Any]:
        self._fitted(who.rsplit(".", 1)[-1])
        index = t.index if isinstance(t, pd.Series) else None
        values = np.asarray(t, dtype=float)
        if not np.isfinite(values).all() or (values < minimum).any() or (
            values != np.round(values)
        ).any():
            raise ValueError(f"{who}: periods must be whole numbers >= {minimum}; got {t!r}.")
        return values, index

    @staticmethod
    def _shaped(values: np.ndarray, index: Any, name: str) -> Any:
        if index is not None:
            return pd.Series(values, index=index, name=name)
        return float(values) if values.ndim == 0 else values

    def survival(self, t: Any) -> Any:
        """Share of a new cohort still active after ``t`` periods: ``S(t)``.

        Parameters
        ----------
        t : int or array-like of int (or Series)
            Periods (>= 0); ``S(0) = 1``.

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            ``B(alpha, beta+t) / B(alpha, beta)``, shaped like ``t``.
        """
        ts, index = self._periods(t, "ShiftedBetaGeometricModel.survival", 0)
        a, b = self.params_.to_numpy()
        return self._shaped(np.exp(betaln(a, b + ts) - betaln(a, b)), index, "survival")

    def retention_rate(self, t: Any) -> Any:
        """Share of those active in period ``t`` who renew into period ``t + 1``.

        Parameters
        ----------
        t : int or array-like of int (or Series)
            Periods (>= 1).

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            ``r(t) = (beta + t - 1) / (alpha + beta + t - 1)``, shaped like ``t``.
        """
        ts, index = self._periods(t, "ShiftedBetaGeometricModel.retention_rate", 1)
        a, b = self.params_.to_numpy()
        return self._shaped((b + ts - 1.0) / (a + b + ts - 1.0), index, "retention_rate")

    def churn_probability(self, t: Any) -> Any:
        """Probability that a new customer leaves after exactly ``t`` periods: ``P(T = t)``.

        Parameters
        ----------
        t : int or array-like of int (or Series)
            Periods (>= 1).

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            ``B(alpha + 1, beta + t - 1) / B(alpha, beta)``, shaped like ``t``.
        """
        ts, index = self._periods(t, "ShiftedBetaGeometricModel.churn_probability", 1)
        a, b = self.params_.to_numpy()
        value = np.exp(betaln(a + 1.0, b + ts - 1.0) - betaln(a, b))
        return self._shaped(value, index, "churn_probability")

    def discounted_residual_lifetime(self, renewals: Any = 0, *,
                                     discount_rate: float = 0.1) -> Any:
        """Discounted expected residual lifetime (DERL, Fader & Hardie 2010), in periods.

        For a customer who has renewed ``renewals`` times (``n - 1`` in the
        paper), just before the next renewal decision: the expected number
        of future payments, the next one (due at that renewal) undiscounted,
        each later one discounted by ``1 + discount_rate`` per period::

            DERL = B(alpha, beta+n)/B(alpha, beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d))

        Parameters
        ----------
        renewals : int or array-like of int (or Series), default 0
            Renewals made so far (>= 0): 0 for a customer in their first period.
        discount_rate : float, default 0.1
            Discount rate per period (>= 0). With 0, the expected residual
            lifetime: ``(beta + n - 1) / (alpha - 1)`` when ``alpha > 1``,
            infinite otherwise (the heavy tail of loyal customers never ends).

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            DERL in periods (float64, possibly inf at ``discount_rate=0``),
            shaped like ``renewals``.
        """
        who = "ShiftedBetaGeometricModel.discounted_residual_lifetime"
        ns, index = self._periods(renewals, who, 0)
        rate = check(discount_rate, Real(0.0, example=0.1), name="discount_rate", owner=who)
        a, b = self.params_.to_numpy()
        flat = np.atleast_1d(ns).ravel()
        first, codes = distinct(flat)  # one evaluation per distinct number of renewals
        n = flat[first] + 1.0
        lead = np.exp(betaln(a, b + n) - betaln(a, b + n - 1.0))
        if rate == 0:
            value = lead * ((a + b + n - 1.0) / (a - 1.0) if a > 1 else np.inf)
        else:
            value = lead * scaled_hyp2f1(1.0, b + n, a + b + n, 1.0 / (1.0 + rate))
        spread = np.asarray(value, dtype=float)[codes].reshape(ns.shape)
        return self._shaped(spread, index, "discounted_residual_lifetime")

    def expected_residual_lifetime(self, renewals: Any = 0) -> Any:
        """Return the expected number of further periods (undiscounted DERL).

        Parameters
        ----------
        renewals : int or array-like of int (or Series), default 0
            Renewals made so far (>= 0).

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            ``(beta + renewals) / (alpha - 1)`` when ``alpha > 1``; infinite
            otherwise (the heavy tail of loyal customers never ends).
        """
        return self.discounted_residual_lifetime(renewals, discount_rate=0.0)

    def residual_value(self, renewals: Any = 0, *, payment: Any = 1.0,
                       discount_rate: float = 0.1) -> Any:
        """Renewal-based lifetime value of existing customers: ``payment * DERL``.

        The expected discounted value of a customer's future payments, just
        before their next renewal decision (the payment due at that renewal
        counted in full); a contractual CLV. Use margins, not prices, as
        ``payment`` for a profit value.

        Parameters
        ----------
        renewals : int or array-like of int (or Series), default 0
            Renewals made so far per customer (>= 0).
        payment : float or array-like, default 1.0
            Payment (or margin) per period, broadcast against ``renewals``.
        discount_rate : float, default 0.1
            Discount rate per period (>= 0).

        Returns
        -------
        float, numpy.ndarray or pandas.Series
            ``residual_value`` in the currency of ``payment``, shaped like
            ``renewals`` (a Series keeps its index).

        Examples
        --------
        >>> model = ShiftedBetaGeometricModel.from_params(alpha=0.704, beta=1.182)
        >>> model.residual_value([0, 4], payment=100.0, discount_rate=0.1).round(1).tolist()
        [296.5, 589.4]
        """
        derl = self.discounted_residual_lifetime(renewals, discount_rate=discount_rate)
        pay = np.asarray(payment, dtype=float)
        if not np.isfinite(pay).all():
            raise ValueError("ShiftedBetaGeometricModel.residual_value: payment must be "
                             f"finite; got {payment!r}.")
        if isinstance(derl, pd.Series):
            return (derl * pay).rename("residual_value")
        value = np.asarray(derl) * pay
        return float(value) if value.ndim == 0 else value

    def expected_lifetime_value(self, *, payment: float = 1.0,
                                discount_rate: float = 0.1) -> float:
        """Lifetime value of a new customer at signing: ``payment * DEL``.

        ``DEL = 2F1(1, beta; alpha+beta; 1/(1+d))`` (Fader & Hardie 2010)
        counts the first payment in full and each later one discounted.

        Parameters
        ----------
        payment : float, default 1.0
            Payment (or margin) per period.
        discount_rate : float, default 0.1
            Discount rate per period (> 0; at 0 the value is infinite when
            ``alpha <= 1``).

        Returns
        -------
        float
            Expected discounted value of the new customer's payments.
        """
        who = "ShiftedBetaGeometricModel.expected_lifetime_value"
        self._fitted("expected_lifetime_value")
        rate = check(discount_rate, Real(0.0, example=0.1), name="discount_rate", owner=who)
        pay = check(payment, Real(), name="payment", owner=who)
        a, b = self.params_.to_numpy()
        if rate == 0:
            return pay * ((a + b - 1.0) / (a - 1.0) if a > 1 else float("inf"))
        return pay * float(scaled_hyp2f1(1.0, b, a + b, 1.0 / (1.0 + rate)))

    def expected_survivors(self, cohort_size: float, periods: int) -> pd.Series:
        """Project a cohort: expected customers still active at ages 0..``periods``.

        Parameters
        ----------
        cohort_size : float
            Customers at age 0 (> 0).
        periods : int
            Last age projected (>= 0).

        Returns
        -------
        pandas.Series
            ``expected_survivors`` (float64), index ``period`` 0..periods.
        """
        who = "ShiftedBetaGeometricModel.expected_survivors"
        size = check(cohort_size, Real(0.0, closed="neither", example=1000),
                     name="cohort_size", owner=who)
        ages, _ = self._periods(periods, who, 0)
        grid = np.arange(int(ages) + 1)
        return pd.Series(size * np.asarray(self.survival(grid)),
                         index=pd.RangeIndex(len(grid), name="period"),
                         name="expected_survivors")

