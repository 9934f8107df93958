"""MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD where one-time buyers may have left.

In BG/NBD a customer can only drop out right after a repeat purchase, so
every customer without one is certainly alive (``p_alive = 1``). MBG/NBD adds
a drop-out chance right after the first purchase; the likelihood becomes::

    L = G(r+x) alpha^r / G(r) * [ B(a, b+x+1)/B(a, b) (alpha+T)^-(r+x)
                                + B(a+1, b+x)/B(a, b) (alpha+t_x)^-(r+x) ]

for every x, including 0 (Batislam et al. 2007, eq. 7).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from rfm_loyalty._btyd.base import NO_DROPOUT_BELOW, PurchaseModel, warn_no_dropout
from rfm_loyalty._btyd.bgnbd import (
    DROPOUT_GRID,
    negative_binomial_pmf_and_tail,
    rate_matched_starts,
)
from rfm_loyalty._btyd.fitting import Objective, mean_objective
from rfm_loyalty._btyd.rows import CustomerRows
from rfm_loyalty._btyd.special import away_from_one, scaled_hyp2f1


def mbgnbd_loglik_terms(
    log_params: np.ndarray, data: CustomerRows, *, with_gradient: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row log-likelihood of MBG/NBD and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    ux, ix, x = data.x_unique, data.x_index, data.x
    const_u = gammaln(r + ux) - gammaln(r) - betaln(a, b)
    b1_u = betaln(a, b + ux + 1.0)  # alive at T: survived x + 1 drop-out chances
    b2_u = betaln(a + 1.0, b + ux)  # left right after the last purchase
    log_a_t = np.log(alpha + data.T)
    log_a_tx = np.log(alpha + data.t_x)
    rx = r + x
    u1 = b1_u[ix] - rx * log_a_t
    u2 = b2_u[ix] - rx * log_a_tx
    lse = np.logaddexp(u1, u2)
    loglik = const_u[ix] + r * np.log(alpha) + lse
    if not with_gradient:
        return loglik, None
    s1 = np.exp(u1 - lse)
    s2 = 1.0 - s1
    psi_ab = digamma(a + b)
    psi_abx_u = digamma(a + b + ux + 1.0)
    d_r = (digamma(r + ux) - digamma(r))[ix] + np.log(alpha) - s1 * log_a_t - s2 * log_a_tx
    d_alpha = r / alpha - rx * (s1 / (alpha + data.T) + s2 / (alpha + data.t_x))
    da1_u = digamma(a) - psi_abx_u
    da2_u = digamma(a + 1.0) - psi_abx_u
    db1_u = digamma(b + ux + 1.0) - psi_abx_u
    db2_u = digamma(b + ux) - psi_abx_u
    d_a = -(digamma(a) - psi_ab) + s1 * da1_u[ix] + s2 * da2_u[ix]
    d_b = -(digamma(b) - psi_ab) + s1 * db1_u[ix] + s2 * db2_u[ix]
    return loglik, np.column_stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


class ModifiedBetaGeoModel(PurchaseModel):
    """MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007).

    As :class:`BetaGeoModel` (purchase rate ``lambda ~ Gamma(r, alpha)``,
    drop-out probability ``p ~ Beta(a, b)``), except that a customer may
    also leave right after the first purchase: a one-time buyer's
    ``p_alive`` is below 1 and falls the longer they stay silent, which fixes
    BG/NBD's known flaw on data with many one-time buyers.

    Parameters
    ----------
    time_unit : {"D", "W"} or None, default None
        Unit of ``recency`` and ``T`` (see :class:`BetaGeoModel`).
    n_starts : int, default 4
        Number of starting points for the optimiser; the best optimum wins.
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (r^2 + alpha^2 + a^2 + b^2)`` added to the
        mean negative log-likelihood per customer (the lifetimes convention).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``r, alpha, a, b`` (float64).
    log_likelihood_, aic_, bic_ : float
        Maximised log-likelihood (without the penalty) and information criteria.
    standard_errors_, covariance_log_ : pandas.Series, numpy.ndarray
        Delta-method standard errors; covariance of the log-parameters.
    n_customers_, n_rows_ : float, int
        Customers fitted and distinct (frequency, recency, T) rows.
    time_unit_, days_per_unit_ : str, float
        Time unit of the data and its length in days.
    converged_ : bool
        Whether the optimiser converged (a fit that does not raises).

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(5000, model="mbgnbd", random_state=1)
    >>> model = ModifiedBetaGeoModel(time_unit="W").fit(data)
    >>> model.params_[["r", "alpha"]].round(2).to_dict()
    {'r': 0.24, 'alpha': 4.31}
    >>> a, b = model.params_["a"], model.params_["b"]
    >>> round(float(a / (a + b)), 2)  # mean drop-out probability; simulated 0.793/3.219
    0.25
    >>> one_time = data["frequency"] == 0
    >>> bool(model.p_alive()[one_time].lt(1).all())  # BG/NBD would give them all 1
    True
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @classmethod
    def from_params(
        cls, *, r: float, alpha: float, a: float, b: float, time_unit: str = "D"
    ) -> ModifiedBetaGeoModel:
        """Build a model with given parameters without fitting.

        Parameters
        ----------
        r, alpha, a, b : float
            MBG/NBD parameters (> 0); ``alpha`` in ``time_unit``.
        time_unit : {"D", "W"}, default "D"
            Time unit of the data it will score.

        Returns
        -------
        ModifiedBetaGeoModel
            Ready to predict; every prediction needs ``data``.

        Examples
        --------
        >>> import pandas as pd
        >>> model = ModifiedBetaGeoModel.from_params(r=1.0, alpha=1.0, a=1.0, b=1.0)
        >>> one = pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [1.0]})
        >>> float(model.p_alive(one).iloc[0])  # 1 / (1 + a/(b+x) ((alpha+T)/alpha)^r) = 1/3
        0.3333333333333333
        """
        model = cls()
        model._with_fixed({"r": r, "alpha": alpha, "a": a, "b": b}, time_unit)
        return model

    def _objective(self, rows: CustomerRows) -> Objective:
        return mean_objective(mbgnbd_loglik_terms, rows)

    def _starts(self, rows: CustomerRows, n_starts: int) -> list[np.ndarray]:
        return rate_matched_starts(rows, n_starts, DROPOUT_GRID)

    @property
    def mean_dropout_(self) -> float:
        """``a / (a + b)``: the mean probability of dropping out after a purchase."""
        self._fitted("mean_dropout_")
        a, b = float(self.params_["a"]), float(self.params_["b"])
        return a / (a + b)

    def _after_fit(self, who: str) -> None:
        if self.mean_dropout_ < NO_DROPOUT_BELOW:
            a, b = float(self.params_["a"]), float(self.params_["b"])
            warn_no_dropout(who, "the mean probability of leaving after a purchase, a / (a + b),",
                            self.mean_dropout_, f"a = {a:.3g}, b = {b:.3g}")

    def _log_dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.params_.to_numpy()
        return (np.log(a) - np.log(b + x)
                + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), Batislam et al. (2007), eq. 8
        return expit(-self._log_dropout_odds(x, t_x, T))

    def _expected(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # P(alive) (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)],
        # z = t/(alpha+T+t), Euler-transformed as for BG/NBD: the bracket is
        # 1 - (1-z)^(a-1) 2F1(a+b-r, a-1; a+b+x; z)
        r, alpha, a, b = self.params_.to_numpy()
        a = away_from_one(a)
        alive = self._p_alive(x, t_x, T)
        z = t / (alpha + T + t)
        bracket = 1.0 - scaled_hyp2f1(a + b - r, a - 1.0, a + b + x, z,
                                      (a - 1.0) * np.log1p(-z))
        return alive * (a + b + x) / (a - 1.0) * bracket

    def _population(self, t: np.ndarray) -> np.ndarray:
        # b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))], Euler-transformed
        r, alpha, a, b = self.params_.to_numpy()
        a = away_from_one(a)
        z = t / (alpha + t)
        return b / (a - 1.0) * (1.0 - scaled_hyp2f1(a + b - r, a - 1.0, a + b, z,
                                                    (a - 1.0) * np.log1p(-z)))

    def _pmf(self, n: np.ndarray, t: np.ndarray) -> np.ndarray:
        # alive after n repeat purchases (n + 1 drop-out chances survived) with n arrivals
        # by t, or left right after the n-th purchase (or the first) with >= n arrivals
        r, alpha, a, b = self.params_.to_numpy()
        pmf, tail = negative_binomial_pmf_and_tail(n, r, alpha, t)
        alive = np.exp(betaln(a, b + n + 1.0) - betaln(a, b))
        dead = np.exp(betaln(a + 1.0, b + n) - betaln(a, b))
        return alive * pmf + dead * tail
