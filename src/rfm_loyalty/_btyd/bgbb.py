"""BG/BB (Fader, Hardie & Shang 2010): purchases at discrete opportunities.

A customer alive at an opportunity buys with probability ``p ~ Beta(alpha,
beta)``; at the start of each opportunity an alive customer leaves for good
with probability ``theta ~ Beta(gamma, delta)``. With ``x`` purchases among
``n`` opportunities, the last at opportunity ``t_x`` (eq. 5)::

    L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
        + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                              B(gamma+1, delta+t_x+i)/B(gamma, delta)

The first term is "alive through all n", the i-th "alive through t_x + i,
left at the next". Every gamma function is read from a table over 0..max(n),
so an evaluation is one pass of additions per opportunity, with the log-sum
kept relative to its running maximum (no overflow for any n).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from rfm_loyalty._btyd import checks
from rfm_loyalty._btyd.base import SCREEN_ROWS, CustomerModel
from rfm_loyalty._btyd.fitting import Objective, mean_objective
from rfm_loyalty._btyd.rows import CustomerRows, compress, distinct, subsample
from rfm_loyalty.exceptions import ModelFitError


@dataclass(frozen=True)
class _Tables:
    """log-gamma (and digamma) of each parameter plus 0..N, and the constants."""

    ga: np.ndarray  # alpha + k
    gb: np.ndarray  # beta + k
    gab: np.ndarray  # alpha + beta + k
    gd: np.ndarray  # delta + k
    ggd: np.ndarray  # gamma + delta + k
    ggd1: np.ndarray  # gamma + delta + 1 + k
    log_norm: float  # -B(alpha, beta) - B(gamma, delta) (logs)
    g_gamma: float  # lgamma(gamma)
    g_gamma1: float  # lgamma(gamma + 1)


def _tables(params: np.ndarray, n_max: int, fn: Any) -> _Tables:
    a, b, g, d = params
    k = np.arange(n_max + 2, dtype=float)
    norm = -betaln(a, b) - betaln(g, d)
    return _Tables(fn(a + k), fn(b + k), fn(a + b + k), fn(d + k), fn(g + d + k),
                   fn(g + d + 1.0 + k), float(norm), float(fn(g)), float(fn(g + 1.0)))


def bgbb_loglik_terms(
    log_params: np.ndarray, data: CustomerRows, *, with_gradient: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row log-likelihood of BG/BB and its gradient in log-parameters.

    ``data.T`` holds ``n_periods``. Returns the log-likelihood of one customer
    of each row and its derivatives with respect to ``log alpha, log beta,
    log gamma, log delta`` (rows x 4).
    """
    params = np.exp(log_params)
    x = data.x.astype(np.int64)
    tx = data.t_x.astype(np.int64)
    n = data.T.astype(np.int64)
    n_max = int(n.max()) if len(n) else 0
    lg = _tables(params, n_max, gammaln)
    # alive through all n opportunities
    top = lg.ga[x] + lg.gb[n - x] - lg.gab[n] + lg.g_gamma + lg.gd[n] - lg.ggd[n]
    total = np.ones(len(x))  # sum of exp(term - top)
    if with_gradient:
        pg = _tables(params, n_max, digamma)
        a, b, g, d = params
        grad = np.column_stack([
            pg.ga[x] - pg.gab[n], pg.gb[n - x] - pg.gab[n],
            np.full(len(x), float(digamma(g))) - pg.ggd[n], pg.gd[n] - pg.ggd[n],
        ])
    span = n - tx  # terms i = 0 .. n - t_x - 1
    for i in range(int(span.max()) if len(span) else 0):  # a loop over opportunities
        live = i < span
        j = np.where(live, tx + i, 0)
        term = lg.ga[x] + lg.gb[np.maximum(j - x, 0)] - lg.gab[j] + lg.g_gamma1 + lg.gd[j] \
            - lg.ggd1[j]
        term = np.where(live, term, -np.inf)
        rise = term > top
        scale = np.exp(np.where(rise, top - term, 0.0))  # rescale the sum to a new maximum
        total = total * scale
        top = np.where(rise, term, top)
        weight = np.exp(term - top)
        total = total + weight
        if with_gradient:
            grad *= scale[:, None]
            grad += weight[:, None] * np.column_stack([
                pg.ga[x] - pg.gab[j], pg.gb[np.maximum(j - x, 0)] - pg.gab[j],
                np.full(len(x), pg.g_gamma1) - pg.ggd1[j], pg.gd[j] - pg.ggd1[j],
            ])
    loglik = top + np.log(total) + lg.log_norm
    if not with_gradient:
        return loglik, None
    grad /= total[:, None]
    grad -= np.array([digamma(a) - digamma(a + b), digamma(b) - digamma(a + b),
                      digamma(g) - digamma(g + d), digamma(d) - digamma(g + d)])
    return loglik, grad * params


_GRID = [(1.0, 1.0, 1.0, 1.0), (1.0, 0.75, 0.66, 2.8), (0.5, 0.5, 0.5, 5.0),
         (3.0, 2.0, 1.0, 10.0), (5.0, 1.0, 0.3, 3.0), (0.3, 3.0, 2.0, 2.0),
         (2.0, 5.0, 0.2, 1.0), (1.0, 1.0, 5.0, 20.0)]


def _log_beta_ratio(a: Any, b: Any, a0: float, b0: float) -> Any:
    return betaln(a, b) - betaln(a0, b0)


class BetaGeoBetaBinomModel(CustomerModel):
    """BG/BB model of purchases at discrete opportunities (Fader, Hardie & Shang 2010).

    For businesses where a customer can buy at most once per opportunity
    (a yearly donation campaign, an annual event, a season, a weekly
    market): at each opportunity an alive customer buys with probability
    ``p ~ Beta(alpha, beta)``; at the start of each opportunity an alive
    customer leaves for good with probability ``theta ~ Beta(gamma, delta)``.

    Fitted on ``frequency`` (opportunities with a purchase), ``recency`` (the
    last such opportunity, 0 without one) and ``n_periods`` (opportunities
    observed), as :func:`opportunity_summary` builds them; identical rows are
    merged (``fit(data, weights=...)`` takes the counts of a grouped table).

    Parameters
    ----------
    n_starts : int, default 4
        Number of starting points for the optimiser; the best optimum wins.
    penalizer : float, default 0.0
        L2 penalty ``penalizer * (alpha^2 + beta^2 + gamma^2 + delta^2)``
        added to the mean negative log-likelihood per customer (the
        lifetimes convention).

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``alpha, beta, gamma, delta`` (float64).
    log_likelihood_, aic_, bic_ : float
        Maximised log-likelihood (without the penalty) and information criteria.
    standard_errors_, covariance_log_ : pandas.Series, numpy.ndarray
        Delta-method standard errors; covariance of the log-parameters.
    n_customers_, n_rows_ : float, int
        Customers fitted and distinct (frequency, recency, n_periods) rows.
    converged_ : bool
        Whether the optimiser converged (a fit that does not raises).

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_bgbb
    >>> data = simulate_bgbb(20_000, random_state=1)
    >>> model = BetaGeoBetaBinomModel().fit(data)
    >>> model.params_.round(1).to_dict()
    {'alpha': 1.3, 'beta': 0.8, 'gamma': 0.6, 'delta': 2.4}
    >>> round(float(model.expected_purchases_population(6)), 3)  # per new customer
    2.219
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")
    _SETTINGS: ClassVar[tuple[str, ...]] = ("n_starts", "penalizer")
    _EXTRAS: ClassVar[tuple[str, ...]] = ("n_rows_",)

    n_rows_: int

    def __init__(self, *, n_starts: int = 4, penalizer: float = 0.0) -> None:
        self.n_starts = n_starts
        self.penalizer = penalizer

    @classmethod
    def from_params(cls, *, alpha: float, beta: float, gamma: float,
                    delta: float) -> BetaGeoBetaBinomModel:
        """Build a model with given parameters, e.g. published ones, without fitting.

        Parameters
        ----------
        alpha, beta, gamma, delta : float
            BG/BB parameters (> 0).

        Returns
        -------
        BetaGeoBetaBinomModel
            Ready to predict; every prediction needs ``data``.

        Examples
        --------
        >>> model = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                           delta=2.783)
        >>> round(float(model.probability_of_purchases(0, 6)), 4)  # no repeat donation
        0.3112
        """
        model = cls()
        model._set_fixed({"alpha": alpha, "beta": beta, "gamma": gamma, "delta": delta},
                         "BetaGeoBetaBinomModel.from_params")
        model.n_rows_ = 0
        return model

    def fit(self, data: pd.DataFrame, *, weights: Any = None) -> BetaGeoBetaBinomModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        data : pandas.DataFrame
            ``frequency``, ``recency`` and ``n_periods`` per customer (whole
            numbers, ``frequency <= recency <= n_periods``).
        weights : array-like, optional
            Number of customers each row stands for, e.g. the ``count``
            column of a published (x, t_x, n) table.

        Returns
        -------
        BetaGeoBetaBinomModel
            ``self``, fitted.

        Raises
        ------
        ModelFitError
            An invalid table (one message lists every broken rule), no
            customers, no purchase at all, or an optimiser that did not converge.
        """
        who = "BetaGeoBetaBinomModel.fit"
        self._settings_checked()
        x, t_x, n = checks.opportunity_arrays(data, who)
        w = checks.weights_array(weights, x.shape[0], who)
        if w.sum() == 0:
            raise ModelFitError(f"{who}: no customers to fit (got {len(data)} rows, total "
                                "weight 0). Pass a non-empty opportunity_summary table.")
        if float(w @ x) == 0:
            raise ModelFitError(
                f"{who}: none of the {w.sum():,.0f} customers made a purchase at any "
                "opportunity, so the data cannot separate the purchase probability from "
                "drop-out. Use more opportunities (a shorter period or a longer history)."
            )
        rows = compress(x, t_x, n, w)
        screen = subsample(rows, SCREEN_ROWS) if rows.n_rows > SCREEN_ROWS else None
        mean_buy = float(w @ x) / max(float(w @ n), 1.0)
        starts = [np.log([a, b, g, d]) for a, b, g, d in _GRID[: self.n_starts]]
        if self.n_starts >= 3:  # one start at the observed purchase share
            starts[2] = np.log([mean_buy * 2.0, (1.0 - mean_buy) * 2.0 + 1e-3, 0.5, 5.0])
        self._maximise(self._objective, rows, starts, rows.total, who, screen=screen)
        self.n_rows_ = rows.n_rows
        self._data = pd.DataFrame({"frequency": x, "recency": t_x, "n_periods": n},
                                  index=data.index)
        return self

    @staticmethod
    def _objective(rows: CustomerRows) -> Objective:
        return mean_objective(bgbb_loglik_terms, rows)

    # -- predictions ---------------------------------------------------------- #
    def _arrays(self, data: pd.DataFrame | None,
                method: str) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
        self._fitted(method)
        if data is None:
            if self._data is None:
                raise ValueError(f"BetaGeoBetaBinomModel.{method}: this model holds no data "
                                 "(built with from_params or from_dict); pass data=.")
            data = self._data
        x, t_x, n = checks.opportunity_arrays(data, f"BetaGeoBetaBinomModel.{method}")
        return data.index, x, t_x, n

    def _loglik(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        x_unique, x_index = np.unique(x, return_inverse=True)
        rows = CustomerRows(x, t_x, n, np.ones(x.shape), x_unique, x_index.ravel())
        return bgbb_loglik_terms(np.log(self.params_.to_numpy()), rows,
                                 with_gradient=False)[0]

    def p_alive(self, data: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is alive at the next opportunity, ``n_periods + 1``.

        ``B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+1)/B(gamma, delta) / L``
        (FHS 2010, eq. 11).

        Parameters
        ----------
        data : pandas.DataFrame, optional
            ``frequency, recency, n_periods``; default the fitted table.

        Returns
        -------
        pandas.Series
            ``p_alive`` (float64 in [0, 1]), indexed like ``data``.
        """
        index, x, t_x, n = self._arrays(data, "p_alive")
        first, codes = distinct(x, t_x, n)  # evaluated once per distinct row
        x, t_x, n = x[first], t_x[first], n[first]
        a, b, g, d = self.params_.to_numpy()
        alive = (_log_beta_ratio(a + x, b + n - x, a, b) + _log_beta_ratio(g, d + n + 1.0, g, d))
        value = np.exp(alive - self._loglik(x, t_x, n))
        return pd.Series(np.clip(value, 0.0, 1.0)[codes], index=index, name="p_alive")

    def expected_purchases(self, periods: int, data: pd.DataFrame | None = None) -> pd.Series:
        """Predict each customer's expected purchases over the next ``periods`` opportunities.

        ``B(alpha+x+1, beta+n-x)/B(alpha, beta) sum_{k=1}^{periods}
        B(gamma, delta+n+k)/B(gamma, delta) / L`` (FHS 2010, eq. 13, whose sum
        has the closed form computed here).

        Parameters
        ----------
        periods : int
            Number of future opportunities (>= 0).
        data : pandas.DataFrame, optional
            ``frequency, recency, n_periods``; default the fitted table.

        Returns
        -------
        pandas.Series
            ``expected_purchases`` (float64, >= 0), indexed like ``data``.
        """
        who = "BetaGeoBetaBinomModel.expected_purchases"
        index, x, t_x, n = self._arrays(data, "expected_purchases")
        ahead = _whole(periods, who, "periods")
        first, codes = distinct(x, t_x, n)
        x, t_x, n = x[first], t_x[first], n[first]
        a, b, _, _ = self.params_.to_numpy()
        buy = _log_beta_ratio(a + x + 1.0, b + n - x, a, b)
        value = np.exp(buy - self._loglik(x, t_x, n)) * self._survival_sum(n, ahead)
        return pd.Series(value[codes], index=index, name="expected_purchases")

    def _survival_sum(self, n: Any, ahead: Any) -> np.ndarray:
        """Return ``sum_{k=1}^{ahead} B(gamma, delta+n+k)/B(gamma, delta)``: alive opportunities.

        Closed form ``delta/(gamma-1) G(gamma+delta)/G(1+delta) [R(n) - R(n+ahead)]``,
        ``R(m) = G(1+delta+m)/G(gamma+delta+m)``, with the difference taken in
        log space; within 1e-8 of ``gamma = 1`` (where it is 0/0) its limit
        ``delta (psi(1+delta+n+ahead) - psi(1+delta+n))``.
        """
        _, _, g, d = self.params_.to_numpy()
        n, ahead = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(ahead, float))
        if abs(g - 1.0) < 1e-8:
            return np.asarray(d * (digamma(1.0 + d + n + ahead) - digamma(1.0 + d + n)))

        def log_r(m: Any) -> Any:
            return gammaln(1.0 + d + m) - gammaln(g + d + m)

        lead = d * np.exp(gammaln(g + d) - gammaln(1.0 + d) + log_r(n))
        return np.asarray(lead * -np.expm1(log_r(n + ahead) - log_r(n)) / (g - 1.0))

    def expected_purchases_population(self, periods: Any) -> Any:
        """Predict a new customer's expected purchases in the first ``periods`` opportunities.

        ``alpha/(alpha+beta) sum_{k=1}^{periods} B(gamma, delta+k)/B(gamma, delta)``
        (FHS 2010, eq. 9).

        Parameters
        ----------
        periods : int or array-like of int
            Opportunities (>= 0).

        Returns
        -------
        float or numpy.ndarray
            Expected purchases; a float for a scalar.
        """
        self._fitted("expected_purchases_population")
        ns = checks.check_horizons(periods, "BetaGeoBetaBinomModel.expected_purchases_population")
        a, b, _, _ = self.params_.to_numpy()
        value = a / (a + b) * self._survival_sum(np.zeros(ns.shape), ns)
        return float(value) if value.ndim == 0 else value

    def probability_of_purchases(self, n: Any, periods: Any) -> Any:
        """Probability that a new customer buys at exactly ``n`` of the first ``periods`` chances.

        FHS 2010, eq. 7:
        ``C(m, n) B(alpha+n, beta+m-n)/B(alpha, beta) B(gamma, delta+m)/B(gamma, delta)
        + sum_{i=n}^{m-1} C(i, n) B(alpha+n, beta+i-n)/B(alpha, beta)
        B(gamma+1, delta+i)/B(gamma, delta)`` with ``m = periods``.

        Parameters
        ----------
        n : int or array-like of int
            Number(s) of purchases (>= 0).
        periods : int or array-like of int
            Opportunities (>= 0), broadcast against ``n``.

        Returns
        -------
        float or numpy.ndarray
            Probabilities in [0, 1] (0 where ``n > periods``); a float when
            both are scalars.
        """
        who = "BetaGeoBetaBinomModel.probability_of_purchases"
        self._fitted("probability_of_purchases")
        k = np.asarray(n, dtype=float)
        m = np.asarray(periods, dtype=float)
        for name, v in (("n", k), ("periods", m)):
            if not np.isfinite(v).all() or (v < 0).any() or (v != np.round(v)).any():
                raise ValueError(f"{who}: {name} must be whole numbers >= 0; got "
                                 f"{n if name == 'n' else periods!r}.")
        k, m = np.broadcast_arrays(k, m)
        a, b, g, d = self.params_.to_numpy()

        def log_choose(top: Any, pick: Any) -> Any:
            return gammaln(top + 1.0) - gammaln(pick + 1.0) - gammaln(top - pick + 1.0)

        with np.errstate(invalid="ignore"):
            alive = (log_choose(m, k) + _log_beta_ratio(a + k, b + m - k, a, b)
                     + _log_beta_ratio(g, d + m, g, d))
        value = np.where(k <= m, np.exp(np.where(k <= m, alive, -np.inf)), 0.0)
        for i in range(int(m.max()) if m.size else 0):  # opportunities at which they left
            ok = (i >= k) & (i < m)
            with np.errstate(invalid="ignore"):
                term = (log_choose(i, k) + _log_beta_ratio(a + k, b + i - k, a, b)
                        + _log_beta_ratio(g + 1.0, d + i, g, d))
            value = value + np.where(ok, np.exp(np.where(ok, term, -np.inf)), 0.0)
        value = np.clip(value, 0.0, 1.0)
        return float(value) if value.ndim == 0 else value


def _whole(value: Any, who: str, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or (
        value < 0
    ):
        raise ValueError(f"{who}: {name} must be a whole number >= 0; got {value!r}.")
    return float(value)

