"""Gamma-Gamma model of the mean spend per transaction (Fader & Hardie 2013)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from rfm_loyalty._btyd import checks
from rfm_loyalty._btyd.base import CustomerModel
from rfm_loyalty._btyd.fitting import Objective, mean_objective
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import ModelFitError, ModelWarning


@dataclass(frozen=True)
class GammaGammaData:
    """Repeat customers' (x, m) with what every evaluation reuses precomputed.

    The gamma-function terms depend on the customer only through ``x``, so
    they are evaluated once per distinct frequency (``x_unique``).
    """

    x: np.ndarray
    m: np.ndarray
    weight: np.ndarray
    mx: np.ndarray
    log_m: np.ndarray
    x_unique: np.ndarray
    x_index: np.ndarray


def gamma_gamma_data(x: np.ndarray, m: np.ndarray, weight: np.ndarray) -> GammaGammaData:
    """Prepare validated repeat customers (x > 0, m > 0) for the likelihood."""
    x_unique, x_index = np.unique(x, return_inverse=True)
    return GammaGammaData(x, m, weight, m * x, np.log(m), x_unique, x_index.ravel())


def gamma_gamma_loglik_terms(
    log_params: np.ndarray, data: GammaGammaData, *, with_gradient: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-customer log-likelihood of the Gamma-Gamma spend model.

    Density of the mean spend ``m`` of ``x`` transactions (Fader & Hardie 2013,
    "The Gamma-Gamma Model of Monetary Value", eq. 4)::

        f(m | p, q, g, x) = G(px+q) / (G(px) G(q)) * g^q m^(px-1) x^(px) / (g + m x)^(px+q)

    Returns
    -------
    loglik : ndarray of shape (n,)
    gradient : ndarray of shape (n, 3) or None
        Derivatives with respect to ``log p, log q, log gamma``.
    """
    p, q, g = np.exp(log_params)
    ux, ix, x = data.x_unique, data.x_index, data.x
    pux = p * ux
    log_ux = np.log(ux)
    const_u = gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * np.log(g) + pux * log_ux
    px = p * x
    log_gmx = np.log(g + data.mx)
    loglik = const_u[ix] + (px - 1.0) * data.log_m - (px + q) * log_gmx
    if not with_gradient:
        return loglik, None
    psi_pxq_u = digamma(pux + q)
    dp_u = ux * (psi_pxq_u - digamma(pux) + log_ux)
    d_p = dp_u[ix] + x * (data.log_m - log_gmx)
    d_q = (psi_pxq_u - digamma(q) + np.log(g))[ix] - log_gmx
    d_g = q / g - (px + q) / (g + data.mx)
    return loglik, np.column_stack([d_p * p, d_q * q, d_g * g])


def gamma_gamma_starts(m: np.ndarray, weight: np.ndarray, n_starts: int) -> list[np.ndarray]:
    """Spread starting (p, q); match gamma to the mean spend p*gamma/(q-1)."""
    mean_spend = float(weight @ m) / float(weight.sum())
    grid = [(1.0, 3.0), (5.0, 4.0), (10.0, 10.0), (2.0, 1.5), (20.0, 2.0), (0.5, 20.0),
            (3.0, 6.0), (1.0, 1.2)]
    return [np.log([p, q, mean_spend * (q - 1.0) / p]) for p, q in grid[: max(n_starts, 1)]]


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation (NaN when either variable is constant)."""
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    var = np.average((x - mx) ** 2, weights=w) * np.average((y - my) ** 2, weights=w)
    return float(cov / np.sqrt(var)) if var > 0 else float("nan")


class GammaGammaModel(CustomerModel):
    """Gamma-Gamma model of the mean spend per transaction (Fader & Hardie 2013).

    Each transaction's value is ``Gamma(p, nu)``; the customer's scale ``nu``
    varies as ``Gamma(q, gamma)``. Fitted on repeat customers only
    (``frequency > 0`` and ``monetary_value > 0``): ``monetary_value`` must be
    the mean spend of the repeat purchases, as :func:`btyd_summary` gives it.
    The model assumes spend is independent of purchase frequency; when the
    absolute Pearson correlation of frequency and monetary_value among the
    fitted customers exceeds ``max_abs_correlation``, a :class:`ModelWarning`
    says so.

    Parameters
    ----------
    max_abs_correlation : float, default 0.3
        Warning threshold on ``|corr(frequency, monetary_value)|``.
    n_starts : int, default 4
        Number of starting points for the optimiser.
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (p^2 + q^2 + gamma^2)`` added to the mean
        negative log-likelihood per customer (the lifetimes convention).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``p, q, gamma`` (float64).
    log_likelihood_ : float
        Maximised log-likelihood of the mean spends (density of ``m``);
        ``aic_``, ``bic_`` from it.
    standard_errors_ : pandas.Series
        Delta-method standard errors from the log-parameter Hessian.
    n_customers_ : float
        Repeat customers fitted (sum of weights).
    n_excluded_ : dict
        Rows left out: ``{"no_repeat_purchase": ..., "non_positive_spend": ...}``.
    frequency_spend_correlation_ : float
        Pearson correlation of frequency and monetary_value among the fitted.
    mean_spend_ : float
        Population mean spend per transaction ``p * gamma / (q - 1)``
        (infinite when ``q <= 1``).

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(5000, p=6.0, q=4.0, gamma=15.0, random_state=1)
    >>> gg = GammaGammaModel().fit(data)
    >>> gg.n_excluded_["no_repeat_purchase"] > 0
    True
    >>> bool(gg.conditional_expected_spend(data).gt(0).all())
    True
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    _SETTINGS: ClassVar[tuple[str, ...]] = ("max_abs_correlation", "n_starts", "penalizer")
    _EXTRAS: ClassVar[tuple[str, ...]] = ("n_excluded_", "frequency_spend_correlation_",
                                          "mean_spend_")

    n_excluded_: dict[str, int]
    frequency_spend_correlation_: float
    mean_spend_: float

    def __init__(self, *, max_abs_correlation: float = 0.3, n_starts: int = 4,
                 penalizer: float = 0.0) -> None:
        self.max_abs_correlation = max_abs_correlation
        self.n_starts = n_starts
        self.penalizer = penalizer

    def __repr__(self) -> str:
        if hasattr(self, "params_") and self.n_customers_:
            p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"GammaGammaModel({p}; {self.n_customers_:,.0f} repeat customers)"
        return super().__repr__()

    @classmethod
    def from_params(cls, *, p: float, q: float, gamma: float) -> GammaGammaModel:
        """Build a model with given parameters, e.g. published ones, without fitting.

        Parameters
        ----------
        p, q, gamma : float
            Gamma-Gamma parameters (> 0).

        Returns
        -------
        GammaGammaModel
            Ready to predict; predictions need ``data``.

        Examples
        --------
        >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> round(gg.mean_spend_, 2)  # 6.25 * 15.44 / 2.74
        35.22
        """
        model = cls()
        model._set_fixed({"p": p, "q": q, "gamma": gamma}, "GammaGammaModel.from_params")
        model.n_excluded_ = {"no_repeat_purchase": 0, "non_positive_spend": 0}
        model.frequency_spend_correlation_ = float("nan")
        model.mean_spend_ = p * gamma / (q - 1.0) if q > 1 else float("inf")
        return model

    def fit(self, data: pd.DataFrame, *, weights: Any = None) -> GammaGammaModel:
        """Fit by maximum likelihood on the repeat customers.

        Parameters
        ----------
        data : pandas.DataFrame
            ``frequency`` (repeat purchases) and ``monetary_value`` (their
            mean spend). Rows with frequency 0 or monetary_value <= 0 are
            excluded and counted in ``n_excluded_``.
        weights : array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        GammaGammaModel
            ``self``, fitted.

        Raises
        ------
        ModelFitError
            Fewer than two repeat customers with positive spend, bad values,
            or an optimiser that did not converge.
        """
        who = "GammaGammaModel.fit"
        self._settings_checked()
        checks.frame_columns(data, ("frequency", "monetary_value"), who,
                             "Build the table with btyd_summary(orders).")
        x = checks.numeric_column(data, "frequency", who)
        m = checks.numeric_column(data, "monetary_value", who)
        if (x < 0).any():
            raise ModelFitError(f"{who}: frequency must be >= 0; got min {x.min()!r}.")
        w = checks.weights_array(weights, x.shape[0], who)
        use = (x > 0) & (m > 0) & (w > 0)
        n_nonpos = int(((x > 0) & (m <= 0)).sum())
        if n_nonpos:
            warn_user(
                f"{who}: {n_nonpos} repeat customer(s) with monetary_value <= 0 (returns "
                "netted to nothing) were excluded: the model needs positive spend.",
                ModelWarning,
            )
        if int(use.sum()) < 2:
            raise ModelFitError(
                f"{who}: needs at least 2 repeat customers (frequency > 0) with "
                f"monetary_value > 0; got {int(use.sum())} of {len(data)} rows. Use a longer "
                "history so that customers have repeat purchases."
            )
        xu, mu, wu = x[use], m[use], w[use]
        corr = weighted_corr(xu, mu, wu)
        if np.isfinite(corr) and abs(corr) > self.max_abs_correlation:
            warn_user(
                f"{who}: frequency and monetary_value are correlated (Pearson r = {corr:.3f}, "
                f"|r| > {self.max_abs_correlation}) among the {int(use.sum())} repeat "
                "customers; the Gamma-Gamma model assumes spend does not depend on "
                "frequency, so its spend and CLV estimates may be biased.",
                ModelWarning,
            )
        prepared = gamma_gamma_data(xu, mu, wu)
        self._maximise(self._objective, prepared, gamma_gamma_starts(mu, wu, self.n_starts),
                       float(wu.sum()), who)
        self.n_excluded_ = {"no_repeat_purchase": int((x == 0).sum()),
                            "non_positive_spend": n_nonpos}
        self.frequency_spend_correlation_ = corr
        p, q, g = self.params_.to_numpy()
        self.mean_spend_ = p * g / (q - 1.0) if q > 1 else float("inf")
        if q <= 1:
            warn_user(
                f"{who}: q = {q:.3g} <= 1, so the population mean spend is infinite and "
                "customers without repeat purchases get an infinite expected spend.",
                ModelWarning,
            )
        self._data = pd.DataFrame({"frequency": x, "monetary_value": m}, index=data.index)
        return self

    @staticmethod
    def _objective(data: GammaGammaData) -> Objective:
        return mean_objective(gamma_gamma_loglik_terms, data)

    def conditional_expected_spend(self, data: pd.DataFrame | None = None) -> pd.Series:
        """Predict each customer's mean spend per transaction.

        ``E[Z | x, m] = (q-1)/(px+q-1) * p*gamma/(q-1) + px/(px+q-1) * m``: a
        weighted mean of the population mean and the customer's own mean,
        trusting the customer's more the more purchases they made. Customers
        with frequency 0 or monetary_value <= 0 get the population mean
        ``mean_spend_``.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            ``frequency`` and ``monetary_value``; default the fitted table.

        Returns
        -------
        pandas.Series
            ``expected_spend`` (float64), indexed like ``data``.
        """
        self._fitted("conditional_expected_spend")
        who = "GammaGammaModel.conditional_expected_spend"
        if data is None:
            if self._data is None:
                raise ValueError(f"{who}: this model holds no data (built with from_params or "
                                 "from_dict); pass data=.")
            data = self._data
        checks.frame_columns(data, ("frequency", "monetary_value"), who,
                             "Build the table with btyd_summary(orders).")
        x = checks.numeric_column(data, "frequency", who)
        m = checks.numeric_column(data, "monetary_value", who)
        p, q, g = self.params_.to_numpy()
        own = (x > 0) & (m > 0)
        xs = np.where(own, x, 0.0)
        ms = np.where(own, m, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(own, p * (g + ms * xs) / (p * xs + q - 1.0), self.mean_spend_)
        return pd.Series(value, index=data.index, name="expected_spend")
