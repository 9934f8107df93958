"""What every customer-base model shares: settings, fitting, summary, persistence.

:class:`CustomerModel` holds the maximum-likelihood machinery and the fitted
attributes (``params_``, ``standard_errors_``, ``covariance_log_``,
``log_likelihood_``, ``aic_``, ``bic_``, ``n_customers_``), ``summary()`` and
``to_dict()``/``from_dict()``. :class:`PurchaseModel` adds what the three
continuous-time models (BG/NBD, MBG/NBD, Pareto/NBD) share: the time unit,
the ``frequency, recency, T`` table and the fit on its distinct rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from rfm_loyalty._btyd import checks
from rfm_loyalty._btyd.fitting import (
    Objective,
    check_optimum,
    fit_multistart,
    log_space_covariance,
    penalised,
)
from rfm_loyalty._btyd.rows import CustomerRows, compress, subsample
from rfm_loyalty._version import __version__
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import ModelFitError, ModelWarning

#: Format tag of ``to_dict`` output; ``from_dict`` refuses any other.
DICT_FORMAT = "rfm_loyalty.model/1"
#: Above this many distinct rows the starting points are screened on a sample
#: of this many customers before one polishing run on all rows.
SCREEN_ROWS = 20_000
DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}
#: The purchase models warn when the fitted drop-out is below this: for BG/NBD and
#: MBG/NBD the mean probability of leaving after a purchase, ``a / (a + b)``; for
#: Pareto/NBD the probability of leaving within the customers' mean observation
#: time. One customer in a thousand is no drop-out to speak of: ``p_alive`` is then
#: close to 1 for nearly everyone and cannot rank customers.
NO_DROPOUT_BELOW = 1e-3


def warn_no_dropout(who: str, measure: str, value: float, parameters: str) -> None:
    """Warn (pointing at the user) that a fit finds almost no drop-out."""
    warn_user(
        f"{who}: the fit finds almost no drop-out: {measure} is {value:.2g} ({parameters}). "
        "p_alive is then close to 1 for nearly every customer and ranks them poorly, and "
        "expected purchases rest on the purchase rate alone. This happens when the history "
        "is short compared with the time between purchases, or holds few lapsed customers. "
        "Check p_alive on a holdout (rfm_loyalty.backtest) before acting on it, or compare "
        "the models (compare_models).",
        ModelWarning,
    )


def _json_number(value: Any) -> float | None:
    """Return a float for JSON: NaN and infinities become None (JSON has no NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _from_json(value: Any) -> float:
    return float("nan") if value is None else float(value)


class CustomerModel:
    """Base of the customer-base models: maximum likelihood, summary, persistence.

    Subclasses set ``PARAMETERS`` (names of the parameters, in order),
    ``_SETTINGS`` (constructor arguments saved by ``to_dict``) and
    ``_EXTRAS`` (fitted attributes saved by ``to_dict``, JSON-safe values).
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ()
    _SETTINGS: ClassVar[tuple[str, ...]] = ("n_starts", "penalizer")
    _EXTRAS: ClassVar[tuple[str, ...]] = ()

    # fitted attributes, set by fit(), from_params() or from_dict()
    params_: pd.Series
    standard_errors_: pd.Series
    covariance_log_: np.ndarray
    log_likelihood_: float
    n_customers_: float
    converged_: bool

    n_starts: int
    penalizer: float
    _data: Any

    # -- information criteria ------------------------------------------------ #
    @property
    def aic_(self) -> float:
        """Akaike information criterion ``2 k - 2 log_likelihood_`` (k parameters)."""
        if not hasattr(self, "params_"):
            raise checks.not_fitted(self, "aic_")
        return 2.0 * len(self.PARAMETERS) - 2.0 * self.log_likelihood_

    @property
    def bic_(self) -> float:
        """Bayesian information criterion ``k log(n_customers_) - 2 log_likelihood_``."""
        if not hasattr(self, "params_"):
            raise checks.not_fitted(self, "bic_")
        n = self.n_customers_
        return (len(self.PARAMETERS) * math.log(n) if n > 0 else math.nan) - (
            2.0 * self.log_likelihood_)

    def summary(self) -> pd.DataFrame:
        """Parameter table.

        Returns
        -------
        pandas.DataFrame
            Index ``parameter`` (the model's parameters, in order); columns
            ``estimate``, ``standard_error`` (delta method from the
            log-parameter Hessian), ``lower_95`` and ``upper_95`` (95%
            interval built in log space, so always positive); all float64.
            NaN standard errors and intervals for a model built with
            ``from_params`` or whose Hessian is not positive definite.
        """
        if not hasattr(self, "params_"):
            raise checks.not_fitted(self, "summary")
        est = self.params_.to_numpy(dtype=float)
        se_log = np.sqrt(np.diag(self.covariance_log_))
        log_est = np.log(est)
        return pd.DataFrame(
            {
                "estimate": est,
                "standard_error": est * se_log,
                "lower_95": np.exp(log_est - 1.959964 * se_log),
                "upper_95": np.exp(log_est + 1.959964 * se_log),
            },
            index=pd.Index(list(self.PARAMETERS), name="parameter"),
        )

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._SETTINGS)
            return f"{name}({settings})"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        fitted = (f"; {self.n_customers_:,.0f} customers, log-likelihood "
                  f"{self.log_likelihood_:.2f}") if self.n_customers_ else ""
        return f"{name}({params}{fitted}{self._repr_tail()})"

    def _repr_tail(self) -> str:
        return ""

    # -- persistence ---------------------------------------------------------- #
    def to_dict(self) -> dict[str, Any]:
        """Return the fitted model as a JSON-safe dict (no pickle needed to reuse it).

        Returns
        -------
        dict
            ``format`` ("rfm_loyalty.model/1"), ``model`` (class name),
            ``library_version``, ``settings`` (constructor arguments),
            ``parameters`` (name -> estimate), ``covariance_log`` (list of
            lists, the covariance of the log-parameters; None for NaN),
            ``fit`` (``log_likelihood``, ``n_customers``, ``converged`` and
            the model's own fitted attributes). Numbers are floats or None;
            ``json.dumps`` writes it as is. The fitted data are not saved:
            predictions of a restored model need ``data=``.
        """
        if not hasattr(self, "params_"):
            raise checks.not_fitted(self, "to_dict")

        fit: dict[str, Any] = {
            "log_likelihood": _json_number(self.log_likelihood_),
            "n_customers": _json_number(self.n_customers_),
            "converged": bool(self.converged_),
        }
        for name in self._EXTRAS:
            value = getattr(self, name)
            fit[name] = _json_number(value) if isinstance(value, (float, np.floating)) else value
        return {
            "format": DICT_FORMAT,
            "model": type(self).__name__,
            "library_version": __version__,
            "settings": {k: getattr(self, k) for k in self._SETTINGS},
            "parameters": {k: float(v) for k, v in self.params_.items()},
            "covariance_log": [[_json_number(v) for v in row] for row in self.covariance_log_],
            "fit": fit,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Rebuild a model saved with ``to_dict`` (e.g. read back from JSON).

        Parameters
        ----------
        data : dict
            The output of ``to_dict``.

        Returns
        -------
        CustomerModel
            A model of this class with the saved settings, parameters,
            covariance and fit statistics; predictions need ``data=``.

        Raises
        ------
        ValueError
            ``data`` is not the ``to_dict`` output of this class.
        """
        who = f"{cls.__name__}.from_dict"
        if not isinstance(data, dict) or data.get("format") != DICT_FORMAT:
            raise ValueError(
                f"{who} needs the dict written by to_dict (format {DICT_FORMAT!r}); got "
                f"{type(data).__name__} with format "
                f"{data.get('format') if isinstance(data, dict) else None!r}."
            )
        if data.get("model") != cls.__name__:
            raise ValueError(
                f"{who}: the dict holds a {data.get('model')!r}, not a {cls.__name__}; call "
                f"from_dict on that class."
            )
        names = list(data["parameters"])
        if names != list(cls.PARAMETERS):
            raise ValueError(f"{who}: parameters {names!r}; expected {list(cls.PARAMETERS)!r}.")
        model = cls(**data["settings"])
        model.params_ = pd.Series([float(data["parameters"][k]) for k in names], index=names,
                                  name="estimate")
        cov = np.array([[_from_json(v) for v in row] for row in data["covariance_log"]])
        model._set_covariance(cov)
        fit = data["fit"]
        model.log_likelihood_ = _from_json(fit["log_likelihood"])
        model.n_customers_ = _from_json(fit["n_customers"])
        model.converged_ = bool(fit["converged"])
        for name in cls._EXTRAS:
            value = fit.get(name)
            setattr(model, name, _from_json(value) if value is None or isinstance(value, float)
                    else value)
        model._data = None
        return model

    # -- fitting ---------------------------------------------------------------- #
    def _settings_checked(self) -> None:
        self.n_starts, self.penalizer = checks.check_settings(
            type(self).__name__, self.n_starts, self.penalizer)

    def _set_covariance(self, cov: np.ndarray) -> None:
        self.covariance_log_ = cov
        self.standard_errors_ = pd.Series(
            self.params_.to_numpy() * np.sqrt(np.diag(cov)), index=list(self.PARAMETERS),
            name="standard_error",
        )

    def _maximise(
        self,
        make_objective: Callable[[Any], Objective],
        data: Any,
        starts: Sequence[np.ndarray],
        total: float,
        who: str,
        *,
        screen: Any = None,
    ) -> None:
        """Fit by maximum likelihood and record the fitted attributes.

        ``make_objective(data)`` gives the (unpenalised) mean objective;
        ``screen``, when given, is a smaller sample of ``data`` on which every
        start is tried first, the best one then polished on ``data``.
        """
        tried = f"{len(starts)} starting point(s)"
        if screen is not None:
            pre = fit_multistart(penalised(make_objective(screen), self.penalizer), starts)
            if np.isfinite(pre.mean_neg_loglik):
                starts = [pre.log_params]
                tried += (f" screened on a sample of {screen.total:,.0f} customers, the best "
                          "polished on all rows")
        objective = penalised(make_objective(data), self.penalizer)
        opt = fit_multistart(objective, starts)
        check_optimum(who, self.PARAMETERS, opt, tried=tried)
        theta = opt.log_params
        penalty = self.penalizer * float(np.exp(2.0 * theta).sum())
        self.params_ = pd.Series(np.exp(theta), index=list(self.PARAMETERS), name="estimate")
        self.log_likelihood_ = -(opt.mean_neg_loglik - penalty) * total
        self._set_covariance(log_space_covariance(lambda th: objective(th)[1], theta, total))
        self.n_customers_ = float(total)
        self.converged_ = opt.success
        if not np.isfinite(self.covariance_log_).all():
            warn_user(
                f"{who}: the standard errors are NaN: the Hessian of the log-likelihood is "
                "not positive definite at the optimum, so some direction of the parameters is "
                "flat (the data do not pin it down). The estimates and predictions stand; a "
                "small penalizer (penalizer=0.001) or more data gives finite standard errors.",
                ModelWarning,
            )

    def _set_fixed(self, values: dict[str, float], who: str) -> None:
        """Give the model fixed parameters (``from_params``): no data, no errors."""
        for name, value in values.items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ) or not (np.isfinite(value) and value > 0):
                raise ValueError(f"{who}: {name} must be a number > 0; got {value!r}.")
        k = len(values)
        self.params_ = pd.Series([float(v) for v in values.values()], index=list(values),
                                 name="estimate")
        self._set_covariance(np.full((k, k), np.nan))
        self.log_likelihood_ = float("nan")
        self.n_customers_ = 0.0
        self.converged_ = True
        self._data = None

    def _fitted(self, method: str) -> None:
        if not hasattr(self, "params_"):
            raise checks.not_fitted(self, method)


class PurchaseModel(CustomerModel):
    """Base of the continuous-time models fitted on ``frequency, recency, T``.

    Subclasses provide ``_objective(rows)`` (mean negative log-likelihood per
    customer and its gradient in log-parameters) and ``_starts(rows, n)``.
    """

    _SETTINGS: ClassVar[tuple[str, ...]] = ("time_unit", "n_starts", "penalizer")
    _EXTRAS: ClassVar[tuple[str, ...]] = ("time_unit_", "days_per_unit_", "n_rows_")

    time_unit_: str
    days_per_unit_: float
    n_rows_: int

    def __init__(self, *, time_unit: str | None = None, n_starts: int = 4,
                 penalizer: float = 0.0) -> None:
        self.time_unit = time_unit
        self.n_starts = n_starts
        self.penalizer = penalizer

    def _repr_tail(self) -> str:
        return f", time unit {self.time_unit_!r}"

    def _resolve_time_unit(self, data: pd.DataFrame) -> str:
        name = type(self).__name__
        from_data = data.attrs.get("time_unit")
        for source, unit in (("time_unit", self.time_unit), ("data.attrs['time_unit']", from_data)):
            if unit is not None and unit not in DAYS_PER_UNIT:
                raise ModelFitError(
                    f"{name}: {source} must be 'D' (days) or 'W' (weeks); got {unit!r}."
                )
        if self.time_unit is not None and from_data is not None and self.time_unit != from_data:
            raise ModelFitError(
                f"{name}: time_unit={self.time_unit!r} disagrees with the data, which "
                f"btyd_summary made in {from_data!r}. Drop time_unit= or rebuild the table."
            )
        return str(self.time_unit or from_data or "D")

    def _objective(self, rows: CustomerRows) -> Objective:
        raise NotImplementedError

    def _starts(self, rows: CustomerRows, n_starts: int) -> list[np.ndarray]:
        raise NotImplementedError

    def fit(self, data: pd.DataFrame, *, weights: Any = None) -> Any:
        """Fit by maximum likelihood.

        Parameters
        ----------
        data : pandas.DataFrame
            One row per customer with ``frequency`` (whole number of repeat
            purchases), ``recency`` (first to last purchase) and ``T`` (first
            purchase to the analysis date), ``recency <= T``: the table of
            :func:`rfm_loyalty.summary.btyd_summary`.
        weights : array-like, optional
            Number of customers each row stands for (e.g. counts of an already
            grouped table). Identical rows are merged internally in any case.

        Returns
        -------
        self
            Fitted.

        Raises
        ------
        InvalidParameterError
            A bad setting (``n_starts``, ``penalizer``).
        ModelFitError
            An invalid table (one message lists every broken rule), no
            customers, no repeat purchase at all (the model cannot tell a
            low purchase rate from early drop-out), or an optimiser that did
            not converge.
        """
        who = f"{type(self).__name__}.fit"
        self._settings_checked()
        x, t_x, T = checks.rft_arrays(data, who)
        w = checks.weights_array(weights, x.shape[0], who)
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
        rows = compress(x, t_x, T, w)
        screen = subsample(rows, SCREEN_ROWS) if rows.n_rows > SCREEN_ROWS else None
        self._maximise(self._objective, rows, self._starts(rows, self.n_starts), rows.total,
                       who, screen=screen)
        self.n_rows_ = rows.n_rows
        self.time_unit_ = time_unit
        self.days_per_unit_ = DAYS_PER_UNIT[time_unit]
        self._data = pd.DataFrame({"frequency": x, "recency": t_x, "T": T}, index=data.index)
        self._after_fit(who)
        return self

    def _after_fit(self, who: str) -> None:
        """Run model-specific checks of a fit (e.g. warnings); nothing by default."""

    def _with_fixed(self, values: dict[str, float], time_unit: str) -> None:
        self.time_unit = time_unit
        self.time_unit_ = self._resolve_time_unit(pd.DataFrame())
        self._set_fixed(values, f"{type(self).__name__}.from_params")
        self.days_per_unit_ = DAYS_PER_UNIT[self.time_unit_]
        self.n_rows_ = 0

    def _table(self, data: pd.DataFrame | None, method: str) -> pd.DataFrame:
        """Return the customer table of a prediction: ``data`` checked, or the fitted one."""
        self._fitted(method)
        if data is None:
            if self._data is None:
                raise ValueError(f"{type(self).__name__}.{method}: this model holds no data "
                                 "(built with from_params or from_dict); pass data=.")
            return self._data
        x, t_x, T = checks.rft_arrays(data, f"{type(self).__name__}.{method}")
        return pd.DataFrame({"frequency": x, "recency": t_x, "T": T}, index=data.index)

    def _arrays(self, data: pd.DataFrame | None, method: str) -> tuple[pd.Index, np.ndarray,
                                                                      np.ndarray, np.ndarray]:
        d = self._table(data, method)
        return (d.index, d["frequency"].to_numpy(), d["recency"].to_numpy(),
                d["T"].to_numpy())

    # -- the predictions every purchase model has -------------------------------- #
    def _p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _expected(self, t: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _population(self, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _pmf(self, n: np.ndarray, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def p_alive(self, data: pd.DataFrame | None = None) -> pd.Series:
        """Probability that each customer is still alive at the end of observation ``T``.

        Parameters
        ----------
        data : pandas.DataFrame, optional
            Customer table (``frequency, recency, T``); default the fitted one.

        Returns
        -------
        pandas.Series
            ``p_alive`` (float64 in [0, 1]), indexed like ``data``.
        """
        index, x, t_x, T = self._arrays(data, "p_alive")
        return pd.Series(self._p_alive(x, t_x, T), index=index, name="p_alive")

    def expected_purchases(self, t: float, data: pd.DataFrame | None = None) -> pd.Series:
        """Predict each customer's expected repeat purchases in the next ``t`` time units.

        The conditional expectation given the customer's ``frequency,
        recency, T``; ``t`` is in the data's time unit.

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
        name = f"{type(self).__name__}.expected_purchases"
        index, x, t_x, T = self._arrays(data, "expected_purchases")
        horizon = checks.check_horizon(t, name)
        value = self._expected(horizon, x, t_x, T)
        return pd.Series(np.maximum(value, 0.0), index=index, name="expected_purchases")

    def expected_purchases_population(self, t: float | Sequence[float] | np.ndarray) -> Any:
        """Predict a new customer's expected repeat purchases in the first ``t`` time units.

        Parameters
        ----------
        t : float or array-like
            Horizon(s) >= 0 in ``time_unit_``.

        Returns
        -------
        float or numpy.ndarray
            Expected number of repeat purchases; a float for a scalar ``t``.
        """
        self._fitted("expected_purchases_population")
        ts = checks.check_horizons(t, f"{type(self).__name__}.expected_purchases_population")
        value = self._population(ts)
        return float(value) if value.ndim == 0 else value

    def probability_of_purchases(self, n: Any, t: Any) -> Any:
        """Probability that a new customer makes exactly ``n`` repeat purchases by time ``t``.

        Parameters
        ----------
        n : int or array-like of int
            Number(s) of repeat purchases (>= 0).
        t : float or array-like
            Time(s) since the first purchase (>= 0), in ``time_unit_``;
            broadcast against ``n``.

        Returns
        -------
        float or numpy.ndarray
            ``P(X(t) = n)`` in [0, 1]; a float when both are scalars. Summed
            over every ``n`` it is 1.
        """
        who = f"{type(self).__name__}.probability_of_purchases"
        self._fitted("probability_of_purchases")
        counts = np.asarray(n)
        if (counts.dtype.kind not in "iu" and not (
            counts.dtype.kind == "f" and np.all(counts == np.round(counts))
        )) or (counts < 0).any():
            raise ValueError(f"{who}: n must be whole numbers >= 0; got {n!r}.")
        ts = checks.check_horizons(t, who)
        counts, ts = np.broadcast_arrays(counts.astype(float), ts)
        value = np.clip(self._pmf(counts.ravel(), ts.ravel()), 0.0, 1.0).reshape(counts.shape)
        return float(value) if value.ndim == 0 else value
