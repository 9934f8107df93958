"""Customer-base models: BG/NBD purchases, Gamma-Gamma spend and lifetime value.

The models read the per-customer table of :func:`rfm_loyalty.summary.btyd_summary`
(``frequency`` = repeat purchase days, ``recency`` = first to last purchase,
``T`` = first purchase to the analysis date, ``monetary_value`` = mean spend of
the repeat purchase days) and are fitted by maximum likelihood with scipy.

* :class:`BetaGeoModel` -- BG/NBD (Fader, Hardie & Lee 2005, "Counting your
  customers the easy way", Marketing Science 24(2)): probability alive,
  expected purchases per customer and for the population.
* :class:`GammaGammaModel` -- mean spend per transaction (Fader & Hardie 2013,
  "The Gamma-Gamma Model of Monetary Value"): conditional expected spend.
* :func:`customer_lifetime_value` -- discounted expected revenue over the next
  months from the two fitted models.

Time unit: the models work in whatever unit ``recency`` and ``T`` are in.
Only :func:`customer_lifetime_value` needs to know it (to turn months into
that unit); :class:`BetaGeoModel` records it as ``time_unit_`` ("D" or "W")
and ``days_per_unit_`` (1 or 7). A month is 30.4375 days (365.25 / 12).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from rfm_loyalty._btyd import likelihood as _lik
from rfm_loyalty.exceptions import ModelFitError, ModelWarning

__all__ = [
    "DAYS_PER_MONTH",
    "NO_DROPOUT_BELOW",
    "BetaGeoModel",
    "GammaGammaModel",
    "customer_lifetime_value",
]

DAYS_PER_MONTH = 365.25 / 12  # 30.4375: the mean Gregorian month
_DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}
_BGNBD_PARAMS = ("r", "alpha", "a", "b")
_GG_PARAMS = ("p", "q", "gamma")
# Above this many distinct (frequency, recency, T) rows the starting points are
# screened on a sample of this many customers before the full-data fit.
_SCREEN_ROWS = 20_000
#: ``BetaGeoModel.fit`` warns when the fitted mean drop-out probability per
#: repeat purchase, ``a / (a + b)``, is below this: one customer in a thousand
#: leaving after a purchase is no drop-out to speak of, and ``p_alive`` is then
#: close to 1 for nearly everyone (it cannot rank customers).
NO_DROPOUT_BELOW = 1e-3


# --------------------------------------------------------------------------- #
# BG/NBD
# --------------------------------------------------------------------------- #
class BetaGeoModel:
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

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``r, alpha, a, b`` (float64).
    log_likelihood_ : float
        Maximised log-likelihood (sum over customers, weighted).
    standard_errors_ : pandas.Series
        Standard errors of ``params_`` by the delta method from the inverse
        Hessian of the negative log-likelihood in log-parameters (NaN when
        that Hessian is not positive definite).
    covariance_log_ : numpy.ndarray
        Covariance of ``log r, log alpha, log a, log b``.
    n_customers_ : float
        Customers fitted (sum of weights). ``n_rows_``: distinct
        (frequency, recency, T) rows the likelihood was evaluated on.
    time_unit_, days_per_unit_ : str, float
        Time unit of the data ("D" or "W") and its length in days.
    converged_ : bool
        Whether the optimiser reported convergence at the best optimum.
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

    # fitted attributes, set by fit() or from_params() (see _record_fit)
    params_: pd.Series
    standard_errors_: pd.Series
    covariance_log_: np.ndarray
    log_likelihood_: float
    n_customers_: float

    def __init__(self, *, time_unit: str | None = None, n_starts: int = 4) -> None:
        self.time_unit = time_unit
        self.n_starts = n_starts

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"BetaGeoModel(time_unit={self.time_unit!r}, n_starts={self.n_starts!r})"
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return (f"BetaGeoModel({p}; {self.n_customers_:,.0f} customers, "
                f"log-likelihood {self.log_likelihood_:.2f}, time unit {self.time_unit_!r})")

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
        >>> model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=1.0, b=1.0)
        >>> one = pd.DataFrame({"frequency": [1.0], "recency": [1.0], "T": [2.0]})
        >>> float(model.p_alive(one).iloc[0])  # 4/13, by hand
        0.3076923076923077
        """
        model = cls(time_unit=time_unit)
        model.time_unit_ = model._resolve_time_unit(pd.DataFrame())
        _lik.set_fixed_params(model, dict(zip(_BGNBD_PARAMS, (r, alpha, a, b), strict=True)),
                             "BetaGeoModel")
        model.days_per_unit_ = _DAYS_PER_UNIT[model.time_unit_]
        return model

    def _resolve_time_unit(self, data: pd.DataFrame) -> str:
        from_data = data.attrs.get("time_unit")
        for source, unit in (("time_unit", self.time_unit), ("data.attrs['time_unit']", from_data)):
            if unit is not None and unit not in _DAYS_PER_UNIT:
                raise ModelFitError(
                    f"BetaGeoModel: {source} must be 'D' (days) or 'W' (weeks); got {unit!r}."
                )
        if self.time_unit is not None and from_data is not None and self.time_unit != from_data:
            raise ModelFitError(
                f"BetaGeoModel: time_unit={self.time_unit!r} disagrees with the data, which "
                f"btyd_summary made in {from_data!r}. Drop time_unit= or rebuild the table."
            )
        return str(self.time_unit or from_data or "D")

    def fit(self, data: pd.DataFrame, *, weights: Any = None) -> BetaGeoModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per customer with ``frequency`` (whole number of repeat
            purchases), ``recency`` (first to last purchase) and ``T`` (first
            purchase to the analysis date), ``recency <= T``.
        weights : array-like, optional
            Number of customers each row stands for (e.g. counts of an already
            grouped table). Identical rows are merged internally in any case.

        Returns
        -------
        BetaGeoModel
            ``self``, fitted.

        Raises
        ------
        ModelFitError
            Empty data, negative or missing values, non-whole frequency,
            ``recency > T``, or no repeat purchase at all (the model cannot
            tell a low purchase rate from early drop-out).
        """
        if self.n_starts < 1:
            raise ModelFitError(f"BetaGeoModel: n_starts must be >= 1; got {self.n_starts!r}.")
        who = "BetaGeoModel.fit"
        x, t_x, T = _lik.btyd_arrays(data, who)
        w = _lik.weights(weights, x.shape[0], who)
        time_unit = self._resolve_time_unit(data)
        if w.sum() == 0:
            raise ModelFitError(f"{who}: no customers to fit (got {len(data)} rows, "
                                "total weight 0). Pass a non-empty btyd_summary table.")
        if float(w @ x) == 0:
            raise ModelFitError(
                f"{who}: none of the {w.sum():,.0f} customers made a repeat purchase "
                "(frequency is 0 everywhere), so the data cannot separate the purchase rate "
                "from drop-out. Use a longer history or an earlier first-purchase window."
            )
        compressed = _lik.compress_bgnbd(x, t_x, T, w)
        objective = _lik.bgnbd_objective(compressed)
        starts = _lik.bgnbd_starts(compressed, self.n_starts)
        if compressed.n_rows > _SCREEN_ROWS:
            # Large data: try every start on a customer sample, then polish only
            # the best one on all rows (about 4x fewer full-data evaluations).
            screen = _lik.subsample_bgnbd(compressed, _SCREEN_ROWS)
            pre = _lik.fit_multistart(_lik.bgnbd_objective(screen), starts)
            if np.isfinite(pre.mean_neg_loglik):
                starts = [pre.log_params]
        opt = _lik.fit_multistart(objective, starts)
        if not np.isfinite(opt.mean_neg_loglik):
            raise ModelFitError(f"{who}: {opt.message}; check the data for extreme values.")
        _lik.warn_optimum("BetaGeoModel", _BGNBD_PARAMS, opt)
        _record_fit(self, _BGNBD_PARAMS, objective, opt, float(w.sum()))
        self._warn_no_dropout(who)
        self.n_rows_ = compressed.n_rows
        self.converged_ = opt.success
        self.time_unit_ = time_unit
        self.days_per_unit_ = _DAYS_PER_UNIT[time_unit]
        self._data: pd.DataFrame | None = pd.DataFrame(
            {"frequency": x, "recency": t_x, "T": T}, index=data.index
        )
        return self

    @property
    def mean_dropout_(self) -> float:
        """``a / (a + b)``: the mean probability of dropping out after a repeat purchase."""
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, "mean_dropout_")
        a, b = float(self.params_["a"]), float(self.params_["b"])
        return a / (a + b)

    # -- helpers ------------------------------------------------------------ #
    def _warn_no_dropout(self, who: str) -> None:
        dropout = self.mean_dropout_
        if dropout >= NO_DROPOUT_BELOW:
            return
        a, b = float(self.params_["a"]), float(self.params_["b"])
        warnings.warn(
            f"{who}: the fit finds almost no drop-out: the mean probability of leaving after "
            f"a repeat purchase, a / (a + b), is {dropout:.2g} (a = {a:.3g}, b = {b:.3g}). "
            "p_alive is then close to 1 for nearly every customer and ranks them poorly, and "
            "expected purchases rest on the purchase rate alone. This happens when the history "
            "is short compared with the time between purchases, or holds few lapsed customers. "
            "Check p_alive on a holdout (rfm_loyalty.backtest) before acting on it.",
            ModelWarning,
            stacklevel=3,
        )

    def _fitted_data(self, data: pd.DataFrame | None, method: str) -> pd.DataFrame:
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, method)
        if data is None:
            if self._data is None:
                raise ValueError(f"BetaGeoModel.{method}: this model was built with "
                                 "from_params and holds no data; pass data=.")
            return self._data
        x, t_x, T = _lik.btyd_arrays(data, f"BetaGeoModel.{method}")
        return pd.DataFrame({"frequency": x, "recency": t_x, "T": T}, index=data.index)

    def summary(self) -> pd.DataFrame:
        """Parameter table.

        Returns
        -------
        pandas.DataFrame
            Index ``parameter`` (r, alpha, a, b); columns ``estimate``,
            ``standard_error`` (delta method), ``lower_95`` and ``upper_95``
            (95% interval built in log space, so always positive); all float64.
        """
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, "summary")
        return _lik.summary_frame(self.params_, np.sqrt(np.diag(self.covariance_log_)))

    def _log_dropout_odds(self, d: pd.DataFrame) -> np.ndarray:
        r, alpha, a, b = self.params_.to_numpy()
        x, t_x, T = (d[c].to_numpy() for c in ("frequency", "recency", "T"))
        with np.errstate(divide="ignore"):
            odds = (np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300))
                    + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
        return np.where(x > 0, odds, -np.inf)

    # -- predictions -------------------------------------------------------- #
    def p_alive(self, data: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still alive at ``T``.

        ``P(alive | x, t_x, T) = 1 / (1 + 1{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``
        (FHL 2005, eq. 11). Customers without a repeat purchase get 1: in
        BG/NBD drop-out can only happen right after a repeat purchase.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Customer table (``frequency, recency, T``); default the fitted one.

        Returns
        -------
        pandas.Series
            ``p_alive`` (float64 in [0, 1]), indexed like ``data``.
        """
        d = self._fitted_data(data, "p_alive")
        return pd.Series(expit(-self._log_dropout_odds(d)), index=d.index, name="p_alive")

    def expected_purchases(self, t: float, data: pd.DataFrame | None = None) -> pd.Series:
        """Predict each customer's expected purchases in the next ``t`` time units.

        FHL 2005, eq. (10): the conditional expectation given the customer's
        ``frequency, recency, T``; ``t`` is in the data's time unit.

        Parameters
        ----------
        t : float
            Length of the future period (>= 0), in ``time_unit_``.
        data : pandas.DataFrame, optional
            Customer table (``frequency, recency, T``); default the fitted one.

        Returns
        -------
        pandas.Series
            ``expected_purchases`` (float64, >= 0), indexed like ``data``.
        """
        d = self._fitted_data(data, "expected_purchases")
        t = _lik.check_horizon(t, "BetaGeoModel.expected_purchases")
        r, alpha, a, b = self.params_.to_numpy()
        a = _lik.away_from_one(a)
        b = _lik.b_off_pole(a, b)
        x, T = d["frequency"].to_numpy(), d["T"].to_numpy()
        alive = expit(-self._log_dropout_odds(d))
        z = t / (alpha + T + t)
        # FHL's bracket is 1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z). For large x
        # that is 0 * inf; Euler's transformation 2F1(A,B;C;z) =
        # (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns it into the well-behaved
        # 1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z).
        bracket = 1.0 - _lik.scaled_hyp2f1(
            a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z, (a - 1.0) * np.log1p(-z)
        )
        value = alive * (a + b + x - 1.0) / (a - 1.0) * bracket
        return pd.Series(np.maximum(value, 0.0), index=d.index, name="expected_purchases")

    def expected_purchases_population(self, t: float | Sequence[float] | np.ndarray) -> Any:
        """Predict a new customer's expected purchases in the first ``t`` time units.

        FHL 2005, eq. (9):
        ``E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) >= 0 in ``time_unit_``.

        Returns
        -------
        float or numpy.ndarray
            Expected number of repeat purchases; a float for a scalar ``t``.
        """
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, "expected_purchases_population")
        r, alpha, a, b = self.params_.to_numpy()
        a = _lik.away_from_one(a)
        b = _lik.b_off_pole(a, b)
        ts = np.asarray(t, dtype=float)
        if not np.isfinite(ts).all() or (ts < 0).any():
            raise ValueError(
                "BetaGeoModel.expected_purchases_population: t must be finite and >= 0; "
                f"got {t!r}."
            )
        z = ts / (alpha + ts)
        # Euler-transformed as in expected_purchases (the case x = T = 0)
        shrink = np.exp((a - 1.0) * np.log1p(-z))
        value = (a + b - 1.0) / (a - 1.0) * (
            1.0 - shrink * _lik.scaled_hyp2f1(a + b - 1.0 - r, a - 1.0, a + b - 1.0, z)
        )
        return float(value) if value.ndim == 0 else value


# --------------------------------------------------------------------------- #
# Gamma-Gamma
# --------------------------------------------------------------------------- #
class GammaGammaModel:
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

    Attributes
    ----------
    params_ : pandas.Series
        Estimates of ``p, q, gamma`` (float64).
    log_likelihood_ : float
        Maximised log-likelihood of the mean spends (density of ``m``).
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

    # fitted attributes, set by fit() or from_params() (see _record_fit)
    params_: pd.Series
    standard_errors_: pd.Series
    covariance_log_: np.ndarray
    log_likelihood_: float
    n_customers_: float

    def __init__(self, *, max_abs_correlation: float = 0.3, n_starts: int = 4) -> None:
        self.max_abs_correlation = max_abs_correlation
        self.n_starts = n_starts

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return (f"GammaGammaModel(max_abs_correlation={self.max_abs_correlation!r}, "
                    f"n_starts={self.n_starts!r})")
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"GammaGammaModel({p}; {self.n_customers_:,.0f} repeat customers)"

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
        _lik.set_fixed_params(model, {"p": p, "q": q, "gamma": gamma}, "GammaGammaModel")
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
            Fewer than two repeat customers with positive spend, or bad values.
        """
        who = "GammaGammaModel.fit"
        if self.n_starts < 1:
            raise ModelFitError(f"{who}: n_starts must be >= 1; got {self.n_starts!r}.")
        _lik.require_columns(data, ("frequency", "monetary_value"), who)
        x = _lik.numeric_column(data, "frequency", who)
        m = _lik.numeric_column(data, "monetary_value", who)
        if (x < 0).any():
            raise ModelFitError(f"{who}: frequency must be >= 0; got min {x.min()!r}.")
        w = _lik.weights(weights, x.shape[0], who)
        use = (x > 0) & (m > 0) & (w > 0)
        n_nonpos = int(((x > 0) & (m <= 0)).sum())
        if n_nonpos:
            warnings.warn(
                f"{who}: {n_nonpos} repeat customer(s) with monetary_value <= 0 (returns "
                "netted to nothing) were excluded: the model needs positive spend.",
                ModelWarning,
                stacklevel=2,
            )
        if int(use.sum()) < 2:
            raise ModelFitError(
                f"{who}: needs at least 2 repeat customers (frequency > 0) with "
                f"monetary_value > 0; got {int(use.sum())} of {len(data)} rows. Use a longer "
                "history so that customers have repeat purchases."
            )
        xu, mu, wu = x[use], m[use], w[use]
        corr = _lik.weighted_corr(xu, mu, wu)
        if np.isfinite(corr) and abs(corr) > self.max_abs_correlation:
            warnings.warn(
                f"{who}: frequency and monetary_value are correlated (Pearson r = {corr:.3f}, "
                f"|r| > {self.max_abs_correlation}) among the {int(use.sum())} repeat "
                "customers; the Gamma-Gamma model assumes spend does not depend on "
                "frequency, so its spend and CLV estimates may be biased.",
                ModelWarning,
                stacklevel=2,
            )
        objective = _lik.gamma_gamma_objective(_lik.gamma_gamma_data(xu, mu, wu))
        opt = _lik.fit_multistart(objective, _lik.gamma_gamma_starts(mu, wu, self.n_starts))
        if not np.isfinite(opt.mean_neg_loglik):
            raise ModelFitError(f"{who}: {opt.message}; check monetary_value for extremes.")
        _lik.warn_optimum("GammaGammaModel", _GG_PARAMS, opt)
        _record_fit(self, _GG_PARAMS, objective, opt, float(wu.sum()))
        self.n_excluded_ = {"no_repeat_purchase": int((x == 0).sum()),
                            "non_positive_spend": n_nonpos}
        self.frequency_spend_correlation_ = corr
        self.converged_ = opt.success
        p, q, g = self.params_.to_numpy()
        self.mean_spend_ = p * g / (q - 1.0) if q > 1 else float("inf")
        if q <= 1:
            warnings.warn(
                f"{who}: q = {q:.3g} <= 1, so the population mean spend is infinite and "
                "customers without repeat purchases get an infinite expected spend.",
                ModelWarning,
                stacklevel=2,
            )
        self._data: pd.DataFrame | None = pd.DataFrame(
            {"frequency": x, "monetary_value": m}, index=data.index
        )
        return self

    def summary(self) -> pd.DataFrame:
        """Parameter table.

        Returns
        -------
        pandas.DataFrame
            Index ``parameter`` (p, q, gamma); columns ``estimate``,
            ``standard_error``, ``lower_95``, ``upper_95`` (float64).
        """
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, "summary")
        return _lik.summary_frame(self.params_, np.sqrt(np.diag(self.covariance_log_)))

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
        if not hasattr(self, "params_"):
            raise _lik.not_fitted(self, "conditional_expected_spend")
        who = "GammaGammaModel.conditional_expected_spend"
        if data is None:
            if self._data is None:
                raise ValueError(f"{who}: this model was built with from_params and holds "
                                 "no data; pass data=.")
            data = self._data
        _lik.require_columns(data, ("frequency", "monetary_value"), who)
        x = _lik.numeric_column(data, "frequency", who)
        m = _lik.numeric_column(data, "monetary_value", who)
        p, q, g = self.params_.to_numpy()
        own = (x > 0) & (m > 0)
        xs = np.where(own, x, 0.0)
        ms = np.where(own, m, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(own, p * (g + ms * xs) / (p * xs + q - 1.0), self.mean_spend_)
        return pd.Series(value, index=data.index, name="expected_spend")


# --------------------------------------------------------------------------- #
# Lifetime value
# --------------------------------------------------------------------------- #
def customer_lifetime_value(
    bgnbd: BetaGeoModel,
    gamma_gamma: GammaGammaModel,
    data: pd.DataFrame,
    *,
    months: int = 12,
    discount_rate_monthly: float = 0.01,
) -> pd.Series:
    """Discounted expected revenue of each customer over the next months.

    ``CLV = sum_{k=1..months} (E[X(k)] - E[X(k-1)]) * E[spend] / (1 + d)^k``,
    where ``E[X(k)]`` is the BG/NBD expected purchases in the next ``k``
    months (a month is 30.4375 days, converted to the model's time unit with
    ``bgnbd.days_per_unit_``), ``E[spend]`` the Gamma-Gamma conditional
    expected spend and ``d`` the monthly discount rate: each month's revenue
    is discounted at the end of that month.

    Parameters
    ----------
    bgnbd : BetaGeoModel
        Fitted purchase model.
    gamma_gamma : GammaGammaModel
        Fitted spend model.
    data : pandas.DataFrame
        ``frequency, recency, T, monetary_value`` per customer, in the
        BG/NBD model's time unit.
    months : int, default 12
        Horizon in months (>= 1).
    discount_rate_monthly : float, default 0.01
        Discount rate per month (>= 0); 0.01 is about 12.7% a year.

    Returns
    -------
    pandas.Series
        ``clv`` (float64, in the currency of ``monetary_value``), indexed like
        ``data``.

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(3000, random_state=2)
    >>> bg = BetaGeoModel(time_unit="W").fit(data)
    >>> gg = GammaGammaModel().fit(data)
    >>> clv = customer_lifetime_value(bg, gg, data, months=12)
    >>> bool((clv >= 0).all()), clv.name
    (True, 'clv')
    """
    who = "customer_lifetime_value"
    if not isinstance(bgnbd, BetaGeoModel) or not isinstance(gamma_gamma, GammaGammaModel):
        raise TypeError(
            f"{who} needs a BetaGeoModel and a GammaGammaModel; got "
            f"{type(bgnbd).__name__} and {type(gamma_gamma).__name__}."
        )
    if not hasattr(bgnbd, "params_"):
        raise _lik.not_fitted(bgnbd, who)
    if not hasattr(gamma_gamma, "params_"):
        raise _lik.not_fitted(gamma_gamma, who)
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"{who}: months must be a whole number >= 1; got {months!r}.")
    if not np.isfinite(discount_rate_monthly) or discount_rate_monthly < 0:
        raise ValueError(
            f"{who}: discount_rate_monthly must be >= 0 (0.01 = 1% a month); got "
            f"{discount_rate_monthly!r}."
        )
    _lik.require_columns(data, ("frequency", "recency", "T", "monetary_value"), who)
    unit_months = DAYS_PER_MONTH / bgnbd.days_per_unit_
    spend = gamma_gamma.conditional_expected_spend(data).to_numpy()
    previous = np.zeros(len(data))
    value = np.zeros(len(data))
    for k in range(1, int(months) + 1):  # one vectorised step per month, not per customer
        cumulative = bgnbd.expected_purchases(k * unit_months, data).to_numpy()
        value += (cumulative - previous) / (1.0 + discount_rate_monthly) ** k
        previous = cumulative
    return pd.Series(value * spend, index=data.index, name="clv")


def _record_fit(model: Any, names: Sequence[str], objective: Any, opt: Any, total: float) -> None:
    """Store a maximum-likelihood fit on a model: the fitted attributes both models share.

    Standard errors come from the Hessian in log-parameter space, mapped to the
    original scale by the delta method (se = estimate x se of the log).
    """
    cov = _lik.log_space_covariance(lambda th: objective(th)[1], opt.log_params, total)
    model.params_ = pd.Series(np.exp(opt.log_params), index=list(names), name="estimate")
    model.log_likelihood_ = -opt.mean_neg_loglik * total
    model.covariance_log_ = cov
    model.standard_errors_ = pd.Series(
        model.params_.to_numpy() * np.sqrt(np.diag(cov)), index=list(names),
        name="standard_error",
    )
    model.n_customers_ = total
