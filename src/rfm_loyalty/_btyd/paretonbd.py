"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987): likelihood, predictions, the model.

Likelihood as in Fader, Hardie & Lee (2005), "A note on implementing the
Pareto/NBD model in MATLAB"::

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s A ],
    A = int_{t_x}^{T} (alpha+u)^-(r+x) (beta+u)^-(s+1) du = I(t_x) - I(T),

where the note writes ``A`` (their ``A_0`` times ``(r+s+x)/s``) with Gauss
hypergeometric functions. :mod:`rfm_loyalty._btyd.special` evaluates
``log I`` with its gradient; ``A`` is their difference in log space, so a
heavy buyer's ``(alpha+t)^-(r+x)`` never underflows and nothing overflows.
Relative error of the bracket: about twice that of ``I`` (the subtraction
only loses digits when ``t_x`` is close to ``T``, where the first term
dominates).

The gradient of the total log-likelihood is summed over distinct
``(x, t_x)`` and ``(x, T)`` pairs, where the series are evaluated, rather than
built row by row: with dates in days a million customers share a few
thousand pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, logsumexp

from rfm_loyalty._btyd.base import NO_DROPOUT_BELOW, PurchaseModel, warn_no_dropout
from rfm_loyalty._btyd.fitting import Objective, total_objective
from rfm_loyalty._btyd.rows import CustomerRows, unique_pairs
from rfm_loyalty._btyd.special import (
    GL_NODES,
    LOG_GL_WEIGHTS,
    Z_SPLIT,
    expm1_ratio,
    log1mexp,
    log_difference,
    log_segment_integral,
    log_tail_integral,
    panel_edges,
)


@dataclass(frozen=True)
class ParetoRows:
    """Distinct customer rows with the pair structure the likelihood is evaluated on."""

    rows: CustomerRows
    tx_x: np.ndarray  # distinct (x, t_x) pairs and each row's pair
    tx_t: np.ndarray
    tx_code: np.ndarray
    T_x: np.ndarray  # distinct (x, T) pairs and each row's pair
    T_t: np.ndarray
    T_code: np.ndarray
    T_unique: np.ndarray  # distinct T and each row's
    T_index: np.ndarray
    weight_by_x: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        """Customers each row stands for."""
        return self.rows.weight

    @property
    def total(self) -> float:
        """Number of customers."""
        return self.rows.total


def pareto_rows(rows: CustomerRows) -> ParetoRows:
    """Index the distinct rows by their (x, t_x) and (x, T) pairs."""
    tx_codes = pd.factorize(rows.t_x)[0]
    T_index, T_unique = pd.factorize(rows.T)
    tx_x, tx_t, tx_code = unique_pairs(rows.x, rows.x_index, rows.t_x, tx_codes)
    T_x, T_t, T_code = unique_pairs(rows.x, rows.x_index, rows.T, T_index)
    T_unique = np.asarray(T_unique, dtype=float)
    weight_by_x = np.bincount(rows.x_index, weights=rows.weight, minlength=rows.x_unique.size)
    return ParetoRows(rows, tx_x, tx_t, tx_code, T_x, T_t, T_code, T_unique, T_index,
                      weight_by_x)


@dataclass(frozen=True)
class _Orientation:
    """Which of alpha, beta is the larger (``M``): the convergent representation."""

    r: float
    alpha: float
    s: float
    beta: float

    @property
    def alpha_larger(self) -> bool:
        return self.alpha >= self.beta

    @property
    def M(self) -> float:
        return max(self.alpha, self.beta)

    @property
    def m(self) -> float:
        return min(self.alpha, self.beta)

    def exponents(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pM, pm): the exponents on (M + u) and (m + u) of the integrand."""
        p, q = self.r + x, np.full(x.shape, self.s + 1.0)
        return (p, q) if self.alpha_larger else (q, p)

    def to_model_order(self, g: np.ndarray) -> np.ndarray:
        """Gradient in (M, m, pM, pm) -> in (r, alpha, s, beta), along the last axis."""
        if self.alpha_larger:  # M = alpha, m = beta, pM = r + x, pm = s + 1
            return g[..., [2, 0, 3, 1]]
        return g[..., [3, 1, 2, 0]]  # M = beta, m = alpha, pM = s + 1, pm = r + x


def _log_a(o: _Orientation, d: ParetoRows, with_gradient: bool):  # type: ignore[no-untyped-def]
    """Per-row ``log A`` (A = I(t_x) - I(T)) and, optionally, a weighted-gradient function."""
    rows = d.rows
    M, m = o.M, o.m
    split_before = (M - m) / Z_SPLIT - M  # z(t) > Z_SPLIT exactly when t < split_before
    t_half = M - 2.0 * m  # z(t_half) = 1/2
    # I(T) is needed only where t_x is not split, so z(T) <= z(t_x) <= Z_SPLIT, or
    # where T > t_half (z(T) < 1/2): the others would converge slowly, for nothing
    T_series = (d.T_t >= split_before) | (d.T_t > t_half)
    lT_u = np.zeros(d.T_t.shape)
    gT_u = np.zeros((d.T_t.size, 4))
    if T_series.any():
        lT_u[T_series], gT_u[T_series] = log_tail_integral(
            M, m, *o.exponents(d.T_x[T_series]), d.T_t[T_series], gradient=with_gradient)
    series_u = d.tx_t >= split_before
    l_u = np.zeros(d.tx_t.shape)
    g_u = np.zeros((d.tx_t.size, 4))
    if series_u.any():
        l_u[series_u], g_u[series_u] = log_tail_integral(
            M, m, *o.exponents(d.tx_x[series_u]), d.tx_t[series_u], gradient=with_gradient)
    l1 = l_u[d.tx_code]
    l2 = lT_u[d.T_code]
    u = np.minimum(l2 - l1, 0.0)
    log_a = l1 + log1mexp(u)
    split = ~series_u[d.tx_code]
    idx = np.flatnonzero(split)
    g_split = np.zeros((idx.size, 4))
    if idx.size:
        # t_x small next to M - m: quadrature from t_x to min(T, t_half), series beyond
        far = rows.T[idx] > t_half
        lq = np.empty(idx.size)
        if far.any():
            # A = Q(t_x, t_half) + I(t_half) - I(T): the first two depend on (x, t_x) only
            j = idx[far]
            pair, code = np.unique(d.tx_code[j], return_inverse=True)
            pM, pm = o.exponents(d.tx_x[pair])
            lq_p, gq_p = log_segment_integral(M, m, pM, pm, d.tx_t[pair],
                                              np.full(pair.size, t_half))
            lh_p, gh_p = log_tail_integral(M, m, pM, pm, np.full(pair.size, t_half))
            ld, gd = log_difference(lh_p[code], gh_p[code], l2[j], gT_u[d.T_code[j]])
            both = np.logaddexp(lq_p[code], ld)
            share = np.exp(lq_p[code] - both)[:, None]
            g_split[far] = share * gq_p[code] + (1.0 - share) * gd
            lq[far] = both
        if (~far).any():
            j = idx[~far]
            pM, pm = o.exponents(rows.x[j])
            lq[~far], g_split[~far] = log_segment_integral(M, m, pM, pm, rows.t_x[j], rows.T[j])
        log_a[idx] = lq
    if not with_gradient:
        return log_a, None
    e = np.exp(u)

    def weighted_gradient(coef: np.ndarray) -> np.ndarray:
        """``sum_i coef_i * d log A_i`` in (r, alpha, s, beta) order."""
        with np.errstate(divide="ignore", invalid="ignore"):
            c1 = np.where(u < 0, coef / (1.0 - e), 0.0)
        c1[idx] = 0.0
        c2 = c1 * e
        generic = (np.bincount(d.tx_code, weights=c1, minlength=d.tx_t.size) @ g_u
                   - np.bincount(d.T_code, weights=c2, minlength=d.T_t.size) @ gT_u)
        if idx.size:
            generic = generic + coef[idx] @ g_split
        return o.to_model_order(generic)

    return log_a, weighted_gradient


def _bracket(o: _Orientation, d: ParetoRows, log_a: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per row: log of the first term, log of the bracket, and the first term's share."""
    rows = d.rows
    log_at = np.log(o.alpha + d.T_unique)[d.T_index]
    log_bt = np.log(o.beta + d.T_unique)[d.T_index]
    first = -(o.r + rows.x) * log_at - o.s * log_bt
    with np.errstate(divide="ignore"):
        second = np.log(o.s) + log_a
    gap = second - first
    e = np.exp(-np.abs(gap))
    log_b = np.maximum(first, second) + np.log1p(e)
    share = np.where(gap < 0, 1.0, e) / (1.0 + e)  # first / bracket: P(alive)
    return first, log_b, share


def paretonbd_totals(log_params: np.ndarray, d: ParetoRows) -> tuple[float, np.ndarray]:
    """Total weighted log-likelihood and its gradient in log-parameters."""
    r, alpha, s, beta = np.exp(log_params)
    o = _Orientation(r, alpha, s, beta)
    rows = d.rows
    W = rows.weight
    log_a, weighted_gradient = _log_a(o, d, True)
    _, log_b, share = _bracket(o, d, log_a)
    ux = rows.x_unique
    value = (float(d.weight_by_x @ (gammaln(r + ux) - gammaln(r)))
             + d.total * (r * np.log(alpha) + s * np.log(beta)) + float(W @ log_b))
    w_first = W * share
    w_second = W - w_first
    g_a = weighted_gradient(w_second)
    by_T = np.bincount(d.T_index, weights=w_first, minlength=d.T_unique.size)
    by_T_x = np.bincount(d.T_index, weights=w_first * rows.x, minlength=d.T_unique.size)
    log_at, log_bt = np.log(alpha + d.T_unique), np.log(beta + d.T_unique)
    d_r = (float(d.weight_by_x @ (digamma(r + ux) - digamma(r))) + d.total * np.log(alpha)
           - float(by_T @ log_at) + g_a[0])
    d_alpha = d.total * r / alpha - float((r * by_T + by_T_x) @ (1.0 / (alpha + d.T_unique))) \
        + g_a[1]
    d_s = d.total * np.log(beta) - float(by_T @ log_bt) + float(w_second.sum()) / s + g_a[2]
    d_beta = d.total * s / beta - s * float(by_T @ (1.0 / (beta + d.T_unique))) + g_a[3]
    return value, np.array([d_r * r, d_alpha * alpha, d_s * s, d_beta * beta])


def paretonbd_loglik(log_params: np.ndarray, x: np.ndarray, t_x: np.ndarray,
                     T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood (for tests and predictions; rows are not merged)."""
    d = pareto_rows(_plain_rows(x, t_x, T))
    r, alpha, s, beta = np.exp(log_params)
    o = _Orientation(r, alpha, s, beta)
    log_a, _ = _log_a(o, d, False)
    _, log_b, _ = _bracket(o, d, log_a)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + log_b


def _plain_rows(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> CustomerRows:
    x_index, x_unique = pd.factorize(x)  # hashing: no sort of a million frequencies
    return CustomerRows(x, t_x, T, np.ones(x.shape), np.asarray(x_unique, dtype=float),
                        x_index.astype(np.int64))


_GRID = [(1.0, 1.0, 1.0), (0.5, 0.5, 0.5), (2.0, 2.0, 2.0), (0.25, 1.0, 0.25),
         (5.0, 0.5, 1.0), (1.0, 3.0, 3.0), (0.1, 0.2, 0.5), (3.0, 1.0, 0.2)]


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    While alive, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``;
    their lifetime is exponential with rate ``mu ~ Gamma(s, beta)``, so they
    may leave at any moment, not only right after a purchase (as in BG/NBD).
    ``r/alpha`` is the mean purchase rate and ``s/beta`` the mean drop-out
    rate per time unit.

    Parameters
    ----------
    time_unit : {"D", "W"} or None, default None
        Unit of ``recency`` and ``T`` (see :class:`BetaGeoModel`).
    n_starts : int, default 4
        Number of starting points for the optimiser; the best optimum wins.
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (r^2 + alpha^2 + s^2 + beta^2)`` added to
        the mean negative log-likelihood per customer (the lifetimes
        convention; ``alpha`` and ``beta`` carry the time unit).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``r, alpha, s, beta`` (float64).
    log_likelihood_, aic_, bic_ : float
        Maximised log-likelihood (without the penalty) and information criteria.
    standard_errors_ : pandas.Series
        Delta-method standard errors from the log-parameter Hessian.
    covariance_log_ : numpy.ndarray
        Covariance of ``log r, log alpha, log s, log beta``.
    n_customers_, n_rows_ : float, int
        Customers fitted and distinct (frequency, recency, T) rows.
    time_unit_, days_per_unit_ : str, float
        Time unit of the data and its length in days.
    converged_ : bool
        Whether the optimiser converged (a fit that does not raises).

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_paretonbd
    >>> data = simulate_paretonbd(5000, r=0.55, alpha=10.6, s=0.6, beta=11.7, random_state=1)
    >>> model = ParetoNBDModel(time_unit="W").fit(data)
    >>> model.params_[["r", "alpha"]].round(1).to_dict()
    {'r': 0.6, 'alpha': 10.3}
    >>> bool(model.p_alive().between(0, 1).all())
    True
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    @classmethod
    def from_params(
        cls, *, r: float, alpha: float, s: float, beta: float, time_unit: str = "D"
    ) -> ParetoNBDModel:
        """Build a model with given parameters, e.g. published ones, without fitting.

        Parameters
        ----------
        r, alpha, s, beta : float
            Pareto/NBD parameters (> 0); ``alpha`` and ``beta`` in ``time_unit``.
        time_unit : {"D", "W"}, default "D"
            Time unit of the data it will score.

        Returns
        -------
        ParetoNBDModel
            Ready to predict; every prediction needs ``data``.

        Examples
        --------
        >>> model = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669,
        ...                                    time_unit="W")
        >>> round(model.expected_purchases_population(39.0), 4)  # a new CDNOW customer
        1.213
        """
        model = cls()
        model._with_fixed({"r": r, "alpha": alpha, "s": s, "beta": beta}, time_unit)
        return model

    def _objective(self, rows: CustomerRows) -> Objective:
        return total_objective(paretonbd_totals, pareto_rows(rows), rows.total)

    def _starts(self, rows: CustomerRows, n_starts: int) -> list[np.ndarray]:
        total_x = float(rows.weight @ rows.x)
        total_t = float(rows.weight @ rows.T)
        rate = max(total_x, 1.0) / max(total_t, 1e-12)
        mean_t = max(total_t / rows.total, 1e-12)
        return [np.log([r, r / rate, s, s * mean_t * f]) for r, s, f in _GRID[:n_starts]]

    def _after_fit(self, who: str) -> None:
        assert self._data is not None
        mean_t = float(self._data["T"].mean())
        o = self._orientation()
        share = float(-np.expm1(-o.s * np.log1p(mean_t / o.beta)))
        if share < NO_DROPOUT_BELOW:
            warn_no_dropout(who, f"the probability of leaving within the mean observation "
                            f"time ({mean_t:.4g} {self.time_unit_}), 1 - (beta/(beta+T))^s,",
                            share, f"s = {o.s:.3g}, beta = {o.beta:.3g}")

    # -- predictions ---------------------------------------------------------- #
    def _orientation(self) -> _Orientation:
        r, alpha, s, beta = self.params_.to_numpy()
        return _Orientation(float(r), float(alpha), float(s), float(beta))

    def _share_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        o = self._orientation()
        # no merging of identical customers: the series run on distinct pairs anyway
        d = pareto_rows(_plain_rows(x, t_x, T))
        log_a, _ = _log_a(o, d, False)
        return _bracket(o, d, log_a)[2]

    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # P(alive | x, t_x, T) = first term / bracket (FHL 2005 note, eq. 11)
        return self._share_alive(x, t_x, T)

    def _expected(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # E[Y(t) | x, t_x, T] =
        #     P(alive) (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)]
        o = self._orientation()
        alive = self._share_alive(x, t_x, T)
        span = expm1_ratio(o.s - 1.0, np.log1p(t / (o.beta + T)))
        return alive * (o.r + x) / (o.alpha + T) * (o.beta + T) * span

    def _population(self, t: np.ndarray) -> np.ndarray:
        # E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
        o = self._orientation()
        return o.r / o.alpha * o.beta * expm1_ratio(o.s - 1.0, np.log1p(t / o.beta))

    def _pmf(self, n: np.ndarray, t: np.ndarray) -> np.ndarray:
        """P(X(t) = n): alive at t with n purchases, or dead at u < t with n purchases by u.

        ``NBD(n; t) (beta/(beta+t))^s + int_0^t s beta^s (beta+u)^-(s+1) NBD(n; u) du``,
        the integral by Gauss-Legendre quadrature in ``log(beta + u)`` on panels
        (the NBD probability is bounded and smooth, the drop-out density a power).
        """
        o = self._orientation()
        r, alpha, s, beta = o.r, o.alpha, o.s, o.beta
        const = gammaln(r + n) - gammaln(r) - gammaln(n + 1.0)

        def log_nbd(u: np.ndarray, k: np.ndarray, c: np.ndarray) -> np.ndarray:
            with np.errstate(divide="ignore", invalid="ignore"):
                tail = np.where(k > 0, k * (np.log(u) - np.log(alpha + u)), 0.0)
            return c + r * (np.log(alpha) - np.log(alpha + u)) + tail

        alive = log_nbd(t, n, const) + s * (np.log(beta) - np.log(beta + t))
        edges = panel_edges(np.full(t.shape, np.log(beta)), np.log(beta + t))
        start, stop = edges[:, :-1], edges[:, 1:]
        half = (stop - start) / 2.0
        v = ((start + stop) / 2.0)[..., None] + half[..., None] * GL_NODES
        u = np.maximum(np.exp(v) - beta, 0.0)
        with np.errstate(divide="ignore"):
            log_w = np.log(half)[..., None] + LOG_GL_WEIGHTS
        log_f = (np.log(s) + s * np.log(beta) - s * v + log_w
                 + log_nbd(u, n[:, None, None], const[:, None, None]))
        log_f = np.where(half[..., None] > 0, log_f, -np.inf).reshape(len(t), -1)
        dead = logsumexp(log_f, axis=1)
        return np.exp(np.logaddexp(alive, dead))
