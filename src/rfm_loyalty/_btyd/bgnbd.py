"""BG/NBD (Fader, Hardie & Lee 2005): likelihood, starting points, predictions, the model."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import betainc, betaln, digamma, expit, gammaln

from rfm_loyalty._btyd.base import NO_DROPOUT_BELOW, PurchaseModel, warn_no_dropout
from rfm_loyalty._btyd.fitting import Objective, mean_objective
from rfm_loyalty._btyd.rows import CustomerRows
from rfm_loyalty._btyd.special import away_from_one, b_off_pole, scaled_hyp2f1


def bgnbd_loglik_terms(
    log_params: np.ndarray, data: CustomerRows, *, with_gradient: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row log-likelihood of BG/NBD and its gradient in log-parameters.

    Fader, Hardie & Lee (2005), eq. (6)::

        L = G(r+x) alpha^r / G(r) * [ B(a, b+x)/B(a, b) (alpha+T)^-(r+x)
                                  + 1{x>0} B(a+1, b+x-1)/B(a, b) (alpha+t_x)^-(r+x) ]

    Returns
    -------
    loglik : ndarray of shape (n_rows,)
        Log-likelihood of one customer of each row (not weighted).
    gradient : ndarray of shape (n_rows, 4) or None
        Derivatives with respect to ``log r, log alpha, log a, log b``.
    """
    r, alpha, a, b = np.exp(log_params)
    ux, ix, x = data.x_unique, data.x_index, data.x
    repeat_u = ux > 0
    # Per distinct frequency: the constant part and the two branch constants.
    const_u = gammaln(r + ux) - gammaln(r) - betaln(a, b)
    b1_u = betaln(a, b + ux)
    # B(a+1, b+x-1) only exists for x > 0; use a harmless argument elsewhere.
    b2_u = np.where(repeat_u, betaln(a + 1.0, b + np.maximum(ux, 1.0) - 1.0), -np.inf)
    log_a_t = np.log(alpha + data.T)
    log_a_tx = np.log(alpha + data.t_x)
    rx = r + x
    u1 = b1_u[ix] - rx * log_a_t
    u2 = b2_u[ix] - rx * log_a_tx
    lse = np.logaddexp(u1, u2)
    loglik = const_u[ix] + r * np.log(alpha) + lse
    if not with_gradient:
        return loglik, None

    s1 = np.exp(u1 - lse)  # posterior weight of "still alive at T"
    s2 = 1.0 - s1  # weight of "dropped out after the last purchase"
    psi_ab = digamma(a + b)
    psi_abx_u = digamma(a + b + ux)
    d_r = (digamma(r + ux) - digamma(r))[ix] + np.log(alpha) - s1 * log_a_t - s2 * log_a_tx
    d_alpha = r / alpha - rx * (s1 / (alpha + data.T) + s2 / (alpha + data.t_x))
    da1_u = digamma(a) - psi_abx_u
    da2_u = digamma(a + 1.0) - psi_abx_u
    db1_u = digamma(b + ux) - psi_abx_u
    db2_u = np.where(repeat_u, digamma(b + np.maximum(ux, 1.0) - 1.0) - psi_abx_u, 0.0)
    d_a = -(digamma(a) - psi_ab) + s1 * da1_u[ix] + s2 * da2_u[ix]
    d_b = -(digamma(b) - psi_ab) + s1 * db1_u[ix] + s2 * db2_u[ix]
    grad = np.column_stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return loglik, grad


def rate_matched_starts(
    data: CustomerRows, n_starts: int, grid: list[tuple[float, float, float]]
) -> list[np.ndarray]:
    """Return starting points ``log(r, r/rate, u, v)`` over a grid of (r, u, v).

    For each r, alpha is set so that r/alpha (the mean purchase rate) equals
    the observed repeat rate sum(x) / sum(T), which puts every start near
    the right time scale whether the data are in days or weeks.
    """
    total_x = float(data.weight @ data.x)
    total_t = float(data.weight @ data.T)
    rate = max(total_x, 1.0) / max(total_t, 1e-12)
    return [np.log([r, r / rate, u, v]) for r, u, v in grid[: max(n_starts, 1)]]


DROPOUT_GRID = [(1.0, 1.0, 1.0), (0.5, 0.5, 2.0), (2.0, 2.0, 5.0), (0.2, 1.5, 10.0),
                 (5.0, 0.3, 0.8), (1.0, 5.0, 20.0), (0.1, 0.8, 3.0), (3.0, 1.0, 1.0)]


def negative_binomial_pmf_and_tail(
    n: np.ndarray, r: float, alpha: float, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(N = n) and P(N >= n) for N ~ NBD(r, alpha) purchases by time t (Gamma-Poisson)."""
    log_p = r * (np.log(alpha) - np.log(alpha + t))  # (alpha / (alpha + t))^r
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.where(t > 0, np.log(t) - np.log(alpha + t), -np.inf)
        log_pmf = gammaln(r + n) - gammaln(r) - gammaln(n + 1.0) + log_p + np.where(
            n > 0, n * log_q, 0.0)
    tail = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 1.0)
    return np.exp(log_pmf), tail


class BetaGeoModel(PurchaseModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    While alive, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``
    (shape ``r``, rate ``alpha``, in purchases per time unit); after each repeat
    purchase the customer drops out for good with probability
    ``p ~ Beta(a, b)``.

    Parameters
    ----------
    time_unit : {"D", "W"} or None, default None
        Unit of ``recency`` and ``T``: days or weeks. ``None`` takes
        ``data.attrs["time_unit"]`` when :func:`btyd_summary` set it and days
        otherwise; a value given here that disagrees with ``data.attrs`` raises.
    n_starts : int, default 4
        Number of starting points for the optimiser; the best optimum wins.
    penalizer : float, default 0.0
        L2 penalty: the fit minimises the mean negative log-likelihood per
        customer plus ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` (the
        lifetimes convention; ``alpha`` depends on the time unit, so the same
        penalizer pulls harder in days than in weeks).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``r, alpha, a, b`` (float64).
    log_likelihood_ : float
        Maximised log-likelihood (sum over customers, weighted; without the
        penalty). ``aic_``, ``bic_``: information criteria from it.
    standard_errors_ : pandas.Series
        Standard errors of ``params_`` by the delta method from the inverse
        Hessian of the (penalised) negative log-likelihood in log-parameters
        (NaN when that Hessian is not positive definite).
    covariance_log_ : numpy.ndarray
        Covariance of ``log r, log alpha, log a, log b``.
    n_customers_ : float
        Customers fitted (sum of weights). ``n_rows_``: distinct
        (frequency, recency, T) rows the likelihood was evaluated on.
    time_unit_, days_per_unit_ : str, float
        Time unit of the data ("D" or "W") and its length in days.
    converged_ : bool
        Whether the optimiser converged (a fit that does not raises).
    mean_dropout_ : float
        ``a / (a + b)``, the mean probability of dropping out after a repeat
        purchase. ``fit`` warns (``ModelWarning``) below ``NO_DROPOUT_BELOW``.

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(5000, r=0.25, alpha=4.0, a=0.8, b=2.5, random_state=1)
    >>> model = BetaGeoModel(time_unit="W").fit(data)
    >>> model.params_.round(1).to_dict()
    {'r': 0.2, 'alpha': 3.9, 'a': 0.8, 'b': 2.3}
    >>> model.p_alive().between(0, 1).all()
    np.True_
    >>> round(model.mean_dropout_, 2)
    0.25
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @classmethod
    def from_params(
        cls, *, r: float, alpha: float, a: float, b: float, time_unit: str = "D"
    ) -> BetaGeoModel:
        """Build a model with given parameters, e.g. published ones, without fitting.

        Parameters
        ----------
        r, alpha, a, b : float
            BG/NBD parameters (> 0); ``alpha`` in ``time_unit``.
        time_unit : {"D", "W"}, default "D"
            Time unit of ``alpha`` and of the data it will score.

        Returns
        -------
        BetaGeoModel
            Ready to predict; ``standard_errors_`` and ``log_likelihood_`` are
            NaN and every prediction needs ``data``.

        Examples
        --------
        >>> import pandas as pd
        >>> model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=1.0, b=1.0)
        >>> one = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]})
        >>> float(model.p_alive(one).iloc[0])  # 4/13, by hand
        0.3076923076923077
        """
        model = cls()
        model._with_fixed({"r": r, "alpha": alpha, "a": a, "b": b}, time_unit)
        return model

    def _objective(self, rows: CustomerRows) -> Objective:
        return mean_objective(bgnbd_loglik_terms, rows)

    def _starts(self, rows: CustomerRows, n_starts: int) -> list[np.ndarray]:
        return rate_matched_starts(rows, n_starts, DROPOUT_GRID)

    @property
    def mean_dropout_(self) -> float:
        """``a / (a + b)``: the mean probability of dropping out after a repeat purchase."""
        self._fitted("mean_dropout_")
        a, b = float(self.params_["a"]), float(self.params_["b"])
        return a / (a + b)

    def _after_fit(self, who: str) -> None:
        if self.mean_dropout_ < NO_DROPOUT_BELOW:
            a, b = float(self.params_["a"]), float(self.params_["b"])
            warn_no_dropout(who, "the mean probability of leaving after a repeat purchase, "
                            "a / (a + b),", self.mean_dropout_, f"a = {a:.3g}, b = {b:.3g}")

    # -- predictions ---------------------------------------------------------- #
    def _log_dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.params_.to_numpy()
        with np.errstate(divide="ignore"):
            odds = (np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, odds, -np.inf)

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # FHL 2005 eq. (11): 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x));
        # without a repeat purchase a BG/NBD customer cannot have dropped out.
        return expit(-self._log_dropout_odds(x, t_x, T))

    def _expected(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.params_.to_numpy()
        a = away_from_one(a)
        b = b_off_pole(a, b)
        alive = expit(-self._log_dropout_odds(x, t_x, T))
        z = t / (alpha + T + t)
        # FHL's eq. (10) bracket is 1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z). For large x
        # that is 0 * inf; Euler's transformation 2F1(A,B;C;z) =
        # (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns it into the well-behaved
        # 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
        bracket = 1.0 - scaled_hyp2f1(
            a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z, (a - 1.0) * np.log1p(-z)
        )
        return alive * (a + b + x - 1.0) / (a - 1.0) * bracket

    def _population(self, t: np.ndarray) -> np.ndarray:
        # FHL 2005 eq. (9), Euler-transformed as in _expected (the case x = T = 0)
        r, alpha, a, b = self.params_.to_numpy()
        a = away_from_one(a)
        b = b_off_pole(a, b)
        z = t / (alpha + t)
        shrink = np.exp((a - 1.0) * np.log1p(-z))
        return (a + b - 1.0) / (a - 1.0) * (
            1.0 - shrink * scaled_hyp2f1(a + b - 1.0 - r, a - 1.0, a + b - 1.0, z)
        )

    def _pmf(self, n: np.ndarray, t: np.ndarray) -> np.ndarray:
        # FHL 2005 eq. (8): alive after n repeat purchases with n arrivals by t, or dropped
        # out right after the n-th with at least n arrivals by t.
        r, alpha, a, b = self.params_.to_numpy()
        pmf, tail = negative_binomial_pmf_and_tail(n, r, alpha, t)
        alive = np.exp(betaln(a, b + n) - betaln(a, b))
        dead = np.where(n > 0, np.exp(betaln(a + 1.0, b + np.maximum(n, 1.0) - 1.0)
                                      - betaln(a, b)), 0.0)
        return alive * pmf + dead * tail

    def p_alive(self, data: Any = None) -> Any:
        """Probability that each customer is still alive at ``T``.

        ``P(alive | x, t_x, T) = 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``
        (FHL 2005, eq. 11). Customers without a repeat purchase get 1: in
        BG/NBD drop-out can only happen right after a repeat purchase (the
        flaw MBG/NBD removes).

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Customer table (``frequency, recency, T``); default the fitted one.

        Returns
        -------
        pandas.Series
            ``p_alive`` (float64 in [0, 1]), indexed like ``data``.
        """
        return super().p_alive(data)
