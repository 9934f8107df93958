"""Numerical internals of the BTYD models: likelihoods, optimiser, input checks.

Private module behind :mod:`rfm_loyalty.btyd`. Everything here works on plain
numpy arrays that have already been validated; the public classes do the
checking, the naming and the pandas plumbing.

Both models are optimised over the logarithm of their parameters, so every
parameter stays positive without constraints and the optimiser sees a problem
whose scale does not depend on whether the data are in days or weeks. The
log-likelihoods are written with ``gammaln``/``betaln`` and ``logaddexp`` so that
customers with many purchases (large ``x``) never overflow.
"""

from __future__ import annotations

import contextlib
import difflib
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1
from sklearn.exceptions import NotFittedError

from rfm_loyalty._codes import first_appearances
from rfm_loyalty.exceptions import ModelFitError, ModelWarning, SchemaError

try:  # installed with scikit-learn, which we depend on
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - only without threadpoolctl
    threadpool_limits = None

FloatArray = np.ndarray

# Bounds on log-parameters. exp(+-15) spans 3e-7 .. 3e6: wide enough for any
# time unit (alpha in seconds or in years), narrow enough that a parameter the
# data cannot pin down stops at a bound we can detect and report.
LOG_BOUND = 15.0


# --------------------------------------------------------------------------- #
# BG/NBD
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class BGNBDData:
    """Customers compressed to unique (x, t_x, T) rows with integer weights.

    ``x_unique``/``x_index`` let the per-frequency terms (gammaln, betaln and
    their derivatives) be evaluated once per distinct frequency instead of
    once per row, which is what makes a million-customer fit cheap.
    """

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray
    x_unique: FloatArray
    x_index: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of distinct (x, t_x, T) rows."""
        return int(self.x.shape[0])


def compress_bgnbd(
    x: FloatArray, t_x: FloatArray, T: FloatArray, weight: FloatArray
) -> BGNBDData:
    """Merge identical (x, t_x, T) rows, summing their weights.

    Hashing (``pd.factorize``) on one combined integer key is much faster
    than ``np.unique(..., axis=0)``, which sorts rows lexicographically.
    """
    codes = [pd.factorize(col)[0].astype(np.int64) for col in (x, t_x, T)]
    sizes = [int(c.max()) + 1 for c in codes]
    key = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
    group, first = _factorize_first(key)
    w = np.bincount(group, weights=weight)
    keep = w > 0
    xs, txs, Ts, ws = x[first][keep], t_x[first][keep], T[first][keep], w[keep]
    x_unique, x_index = np.unique(xs, return_inverse=True)
    return BGNBDData(xs, txs, Ts, ws, x_unique, x_index.ravel())


def _factorize_first(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group codes of ``key`` and the position of each group's first row."""
    group, _ = pd.factorize(key)
    return group, first_appearances(group)


def subsample_bgnbd(data: BGNBDData, n_customers: int, *, seed: int = 0) -> BGNBDData:
    """Draw ``n_customers`` customers (with replacement) and compress them.

    Used to screen the starting points cheaply on large data: the sample's
    optimum lands in the same basin as the full data's, and one polishing
    run on all rows then finishes the job. The seed is fixed so that a fit
    is reproducible.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_customers, data.weight / data.weight.sum()).astype(float)
    keep = counts > 0
    x = data.x[keep]
    x_unique, x_index = np.unique(x, return_inverse=True)
    return BGNBDData(x, data.t_x[keep], data.T[keep], counts[keep], x_unique, x_index.ravel())


def bgnbd_loglik_terms(
    log_params: FloatArray, data: BGNBDData, *, with_gradient: bool = True
) -> tuple[FloatArray, FloatArray | None]:
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
    ux = data.x_unique
    ix = data.x_index
    x = data.x
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


def bgnbd_objective(data: BGNBDData) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Mean negative log-likelihood per customer and its gradient (see ``_mean_objective``)."""
    return _mean_objective(bgnbd_loglik_terms, data)


def _mean_objective(
    terms: Callable[[FloatArray, Any], tuple[FloatArray, FloatArray | None]],
    data: BGNBDData | GammaGammaData,
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Mean negative log-likelihood per customer and its gradient, from per-row ``terms``.

    Rows are weighted by ``data.weight`` (customers each row stands for).

    Weighted sums use ``einsum`` rather than ``@``: a multi-threaded BLAS
    matrix-vector product on a (n, 4) array is slower than a plain loop, and
    much slower when other processes share the cores.

    Dividing by the number of customers keeps the objective O(1) whatever
    the sample size, so one optimiser tolerance suits 100 or 10 million rows.
    """
    weight = data.weight
    total = float(weight.sum())

    def fun(theta: FloatArray) -> tuple[float, FloatArray]:
        ll, grad = terms(theta, data)
        assert grad is not None
        value = -float(np.einsum("i,i->", weight, ll)) / total
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value, -np.einsum("i,ij->j", weight, grad) / total

    return fun


def bgnbd_starts(data: BGNBDData, n_starts: int) -> list[FloatArray]:
    """Spread starting points over plausible (r, a, b); match alpha to the rate.

    For each r, alpha is set so that r/alpha (the mean purchase rate) equals
    the observed repeat rate sum(x) / sum(T), which puts every start near
    the right time scale whether the data are in days or weeks.
    """
    total_x = float(data.weight @ data.x)
    total_t = float(data.weight @ data.T)
    rate = max(total_x, 1.0) / max(total_t, 1e-12)
    grid = [(1.0, 1.0, 1.0), (0.5, 0.5, 2.0), (2.0, 2.0, 5.0), (0.2, 1.5, 10.0),
            (5.0, 0.3, 0.8), (1.0, 5.0, 20.0)]
    starts = []
    for r, a, b in grid[: max(n_starts, 1)]:
        starts.append(np.log([r, r / rate, a, b]))
    return starts


# --------------------------------------------------------------------------- #
# Gamma-Gamma
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class GammaGammaData:
    """Repeat customers' (x, m) with what every evaluation reuses precomputed.

    The gamma-function terms depend on the customer only through ``x``, so
    they are evaluated once per distinct frequency (``x_unique``).
    """

    x: FloatArray
    m: FloatArray
    weight: FloatArray
    mx: FloatArray
    log_m: FloatArray
    x_unique: FloatArray
    x_index: np.ndarray


def gamma_gamma_data(x: FloatArray, m: FloatArray, weight: FloatArray) -> GammaGammaData:
    """Prepare validated repeat customers (x > 0, m > 0) for the likelihood."""
    x_unique, x_index = np.unique(x, return_inverse=True)
    return GammaGammaData(x, m, weight, m * x, np.log(m), x_unique, x_index.ravel())


def gamma_gamma_loglik_terms(
    log_params: FloatArray, data: GammaGammaData, *, with_gradient: bool = True
) -> tuple[FloatArray, FloatArray | None]:
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


def gamma_gamma_objective(
    data: GammaGammaData,
) -> Callable[[FloatArray], tuple[float, FloatArray]]:
    """Mean negative log-likelihood per customer and its gradient (see ``_mean_objective``)."""
    return _mean_objective(gamma_gamma_loglik_terms, data)


def gamma_gamma_starts(m: FloatArray, weight: FloatArray, n_starts: int) -> list[FloatArray]:
    """Spread starting (p, q); match gamma to the mean spend p*gamma/(q-1)."""
    mean_spend = float(weight @ m) / float(weight.sum())
    grid = [(1.0, 3.0), (5.0, 4.0), (10.0, 10.0), (2.0, 1.5), (20.0, 2.0), (0.5, 20.0)]
    return [np.log([p, q, mean_spend * (q - 1.0) / p]) for p, q in grid[: max(n_starts, 1)]]


# --------------------------------------------------------------------------- #
# Optimiser shared by both models
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the optimiser with one BLAS thread.

    L-BFGS-B makes many tiny BLAS calls; with a multi-threaded BLAS each one
    pays a thread hand-off, which made fits 3-5x slower (worse on a busy
    machine). One thread is always faster for 4-parameter problems.
    """
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True)
class OptimumResult:
    """Best optimum over all starting points, in log-parameters."""

    log_params: FloatArray
    mean_neg_loglik: float
    success: bool
    message: str
    n_starts: int
    n_converged: int
    at_bound: tuple[int, ...]


def fit_multistart(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    starts: Sequence[FloatArray],
    *,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> OptimumResult:
    """Run L-BFGS-B from each start and keep the lowest objective.

    Returns the best optimum even when the optimiser reported a failure, so
    that the caller can decide between an error and a warning.
    """
    best = None
    n_converged = 0
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    for start in starts:
        with np.errstate(all="ignore"), single_threaded_blas():
            res = minimize(
                objective,
                np.clip(start, -LOG_BOUND + 1, LOG_BOUND - 1),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"ftol": tol, "gtol": 1e-8, "maxiter": max_iter},
            )
        if not np.isfinite(res.fun):
            continue
        # L-BFGS-B stops with "ABNORMAL" when round-off, not a bad direction,
        # prevents further progress; at a stationary point that is convergence.
        res.success = bool(res.success) or bool(np.max(np.abs(res.jac)) < 1e-6)
        n_converged += res.success
        if best is None or res.fun < best.fun:
            best = res
    if best is None:
        return OptimumResult(np.full(len(starts[0]), np.nan), np.inf, False,
                             "no starting point gave a finite log-likelihood",
                             len(starts), 0, ())
    at_bound = tuple(int(i) for i in np.flatnonzero(np.abs(best.x) > LOG_BOUND - 1e-3))
    return OptimumResult(np.asarray(best.x, dtype=float), float(best.fun), bool(best.success),
                         str(best.message), len(starts), n_converged, at_bound)


def log_space_covariance(
    gradient: Callable[[FloatArray], FloatArray], theta: FloatArray, total_weight: float
) -> FloatArray:
    """Inverse Hessian of the total negative log-likelihood in log-parameters.

    The Hessian is the central finite difference of the analytic gradient
    (step 1e-5 in log-parameter, i.e. a relative step in the parameter), then
    symmetrised. Returns a matrix of NaN when the Hessian is not positive
    definite (a flat or saddle-shaped optimum: the standard errors are then
    meaningless, and saying so beats printing a number).
    """
    k = theta.shape[0]
    step = 1e-5
    hess = np.empty((k, k))
    for j in range(k):  # k <= 4 parameters: a loop over parameters, not rows
        e = np.zeros(k)
        e[j] = step
        hess[:, j] = (gradient(theta + e) - gradient(theta - e)) / (2 * step)
    hess = 0.5 * (hess + hess.T) * total_weight
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return np.full((k, k), np.nan)
    return np.asarray(np.linalg.inv(hess))


# --------------------------------------------------------------------------- #
# Input checks and result helpers shared by the public models
# --------------------------------------------------------------------------- #
def require_columns(data: Any, columns: Sequence[str], who: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(
            f"{who} needs a pandas DataFrame with columns {list(columns)!r} "
            f"(the output of btyd_summary). Got {type(data).__name__} instead."
        )
    missing = [c for c in columns if c not in data.columns]
    if missing:
        found = [str(c) for c in data.columns]
        hints = []
        for name in missing:
            close = difflib.get_close_matches(name, found, n=1, cutoff=0.6)
            if close:
                hints.append(f"did you mean {close[0]!r} for {name!r}?")
        hint = (" " + " ".join(hints)) if hints else ""
        raise SchemaError(
            f"{who} needs columns {list(columns)!r}; missing {missing!r} "
            f"(found {found!r}).{hint} Build the table with btyd_summary(orders)."
        )


def numeric_column(data: pd.DataFrame, name: str, who: str) -> np.ndarray:
    try:
        values = data[name].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise SchemaError(
            f"{who}: column {name!r} must be numeric; got dtype {data[name].dtype!r}. "
            "Convert it with pd.to_numeric before fitting."
        ) from exc
    bad = ~np.isfinite(values)
    if bad.any():
        example = data.index[np.flatnonzero(bad)[0]]
        raise ModelFitError(
            f"{who}: column {name!r} has {int(bad.sum())} missing or infinite value(s) "
            f"(first at index {example!r}). Drop or fill those customers first."
        )
    return values


def btyd_arrays(data: Any, who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the validated (frequency, recency, T) arrays of a customer table."""
    require_columns(data, ("frequency", "recency", "T"), who)
    x = numeric_column(data, "frequency", who)
    t_x = numeric_column(data, "recency", who)
    T = numeric_column(data, "T", who)
    for name, values in (("frequency", x), ("recency", t_x), ("T", T)):
        if (values < 0).any():
            i = int(np.flatnonzero(values < 0)[0])
            raise ModelFitError(
                f"{who}: {name} must be >= 0; got {float(values[i])!r} for customer "
                f"{data.index[i]!r} ({int((values < 0).sum())} negative value(s))."
            )
    if (x != np.round(x)).any():
        i = int(np.flatnonzero(x != np.round(x))[0])
        raise ModelFitError(
            f"{who}: frequency counts repeat purchases and must be a whole number; got "
            f"{float(x[i])!r} for customer {data.index[i]!r}."
        )
    late = t_x > T
    if late.any():
        i = int(np.flatnonzero(late)[0])
        raise ModelFitError(
            f"{who}: recency must be <= T (the last purchase cannot come after the "
            f"analysis date); got recency={float(t_x[i])!r} > T={float(T[i])!r} for customer "
            f"{data.index[i]!r} ({int(late.sum())} such customer(s)). Recompute the table "
            "with btyd_summary at one as_of."
        )
    odd = (x == 0) & (t_x > 0)
    if odd.any():
        i = int(np.flatnonzero(odd)[0])
        raise ModelFitError(
            f"{who}: a customer with frequency 0 (no repeat purchase) must have recency 0; "
            f"got recency={float(t_x[i])!r} for customer {data.index[i]!r}. Recency here is the "
            "time from first to last purchase (btyd_summary), not the time since the last one."
        )
    instant = (x > 0) & (t_x == 0)
    if instant.any():
        i = int(np.flatnonzero(instant)[0])
        raise ModelFitError(
            f"{who}: a customer with repeat purchases (frequency > 0) must have recency > 0; "
            f"got frequency={float(x[i])!r} with recency 0 for customer {data.index[i]!r}. "
            "Repeat purchases are counted on later days than the first (btyd_summary)."
        )
    return x, t_x, T


def weights(weights: Any, n: int, who: str) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).ravel()
    if w.shape[0] != n:
        raise ModelFitError(f"{who}: weights has {w.shape[0]} values for {n} customers.")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ModelFitError(
            f"{who}: weights must be finite and >= 0; got min={float(np.nanmin(w))!r}, "
            f"{int((~np.isfinite(w)).sum())} non-finite value(s)."
        )
    return w


def not_fitted(model: object, method: str) -> NotFittedError:
    return NotFittedError(
        f"This {type(model).__name__} instance is not fitted yet: call 'fit' with a "
        f"customer table before using {method!r}."
    )


def summary_frame(params: pd.Series, se_log: np.ndarray) -> pd.DataFrame:
    """Estimate, standard error and a 95% interval built in log space."""
    est = params.to_numpy(dtype=float)
    log_est = np.log(est)
    return pd.DataFrame(
        {
            "estimate": est,
            "standard_error": est * se_log,
            "lower_95": np.exp(log_est - 1.959964 * se_log),
            "upper_95": np.exp(log_est + 1.959964 * se_log),
        },
        index=pd.Index(params.index, name="parameter"),
    )


def warn_optimum(who: str, names: Sequence[str], opt: OptimumResult) -> None:
    """Warn (ModelWarning) when the optimiser failed or a parameter hit a bound."""
    if not opt.success:
        stop = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, np.exp(opt.log_params),
                                                          strict=True))
        warnings.warn(
            f"{who}: the optimiser did not report convergence ({opt.message!r}); "
            f"{opt.n_converged} of {opt.n_starts} starting points converged; stopped at "
            f"{stop}. Very large values mean the data do not identify those parameters "
            "(e.g. no sign of drop-out); otherwise try more starting points (n_starts=).",
            ModelWarning,
            stacklevel=3,
        )
    for i in opt.at_bound:
        warnings.warn(
            f"{who}: parameter {names[i]!r} ran to the edge of the search range "
            f"({np.exp(opt.log_params[i]):.3g}); the data do not identify it (e.g. no sign "
            "of drop-out, or too few customers). Its standard error is not meaningful.",
            ModelWarning,
            stacklevel=3,
        )


def set_fixed_params(model: Any, params: dict[str, float], who: str) -> None:
    """Give ``model`` fixed parameters (``from_params``): no data, no errors."""
    for name, value in params.items():
        if not isinstance(value, (int, float, np.integer, np.floating)) or not (
            np.isfinite(value) and value > 0
        ):
            raise ValueError(f"{who}.from_params: {name} must be a number > 0; got {value!r}.")
    k = len(params)
    model.params_ = pd.Series(
        [float(v) for v in params.values()], index=list(params), name="estimate"
    )
    model.standard_errors_ = pd.Series(np.nan, index=list(params), name="standard_error")
    model.covariance_log_ = np.full((k, k), np.nan)
    model.log_likelihood_ = float("nan")
    model.n_customers_ = 0.0
    model.converged_ = True
    model._data = None


# --------------------------------------------------------------------------- #
# Small numerical helpers of the predictions
# --------------------------------------------------------------------------- #
def away_from_one(a: float) -> float:
    """Move ``a`` to 1 +- 1e-7 when closer to 1 than that.

    Both expectation formulas are 0/0 at a = 1 exactly, though the function
    is smooth there; nudging by 1e-7 changes the value by about that much
    relative, while round-off grows like 1e-16 / |a - 1| closer in.
    """
    return a if abs(a - 1.0) >= 1e-7 else 1.0 + float(np.copysign(1e-7, a - 1.0))


def b_off_pole(a: float, b: float) -> float:
    """Move ``b`` so that ``a + b - 1`` is at least 1e-7 away from 0.

    ``a + b - 1`` is the third parameter of the expectations' 2F1 for a
    customer without repeat purchases (and for a new customer): 2F1 has a pole
    at 0 there, while the expectation (2F1 times ``a + b - 1``) is smooth. As
    in ``away_from_one``, the nudge changes the value by about 1e-7 relative.
    """
    gap = a + b - 1.0
    if abs(gap) >= 1e-7:
        return b
    return 1.0 - a + float(np.copysign(1e-7, gap))


def check_horizon(t: Any, who: str) -> float:
    """Return ``t`` as a float after checking it is a finite number >= 0."""
    if not isinstance(t, (int, float, np.integer, np.floating)) or not np.isfinite(t) or t < 0:
        raise ValueError(f"{who}: t must be a finite number >= 0 (time units); got {t!r}.")
    return float(t)


def weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Weighted Pearson correlation (NaN when either variable is constant)."""
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    var = np.average((x - mx) ** 2, weights=w) * np.average((y - my) ** 2, weights=w)
    return float(cov / np.sqrt(var)) if var > 0 else float("nan")


def scaled_hyp2f1(
    a: Any, b: Any, c: Any, z: Any, log_scale: Any = 0.0, *, max_terms: int = 200_000
) -> np.ndarray:
    """Return ``exp(log_scale) * 2F1(a, b; c; z)`` for 0 <= z < 1, robust where scipy fails.

    scipy's ``hyp2f1`` returns inf or NaN for some large ``c`` with ``z`` near
    1 (e.g. 2F1(1, 1; 101; 0.998): a heavy buyer over a long horizon), and a
    huge 2F1 times a tiny scale overflows although the product is moderate.
    Those entries are summed term by term in log space (sign and log of each
    term, the sum kept relative to its largest term), vectorised over the
    failing entries: a loop over series terms, not over customers.
    """
    a, b, c, z, log_scale = np.broadcast_arrays(
        *(np.asarray(v, dtype="float64") for v in (a, b, c, z, log_scale))
    )
    with np.errstate(over="ignore", invalid="ignore"):
        value = np.exp(log_scale) * hyp2f1(a, b, c, z)
    bad = ~np.isfinite(value)
    if bad.any():
        value = np.array(value, dtype="float64")
        value[bad] = _series_in_log_space(a[bad], b[bad], c[bad], z[bad], log_scale[bad],
                                          max_terms)
    return value


def _series_in_log_space(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, z: np.ndarray, log_scale: np.ndarray,
    max_terms: int,
) -> np.ndarray:
    log_term = np.zeros_like(z)  # the k = 0 term is 1
    sign = np.ones_like(z)
    top = np.zeros_like(z)  # log of the largest term so far
    total = np.ones_like(z)  # the sum divided by exp(top)
    live = np.ones(z.shape, dtype=bool)
    for k in range(max_terms):
        ratio = (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z
        live &= ratio != 0
        with np.errstate(divide="ignore"):
            log_term = log_term + np.log(np.abs(ratio))
        sign = sign * np.sign(ratio)
        rise = live & (log_term > top)
        total[rise] *= np.exp(top[rise] - log_term[rise])
        top[rise] = log_term[rise]
        total += np.where(live, sign * np.exp(np.minimum(log_term - top, 0.0)), 0.0)
        # converged once the terms shrink (ratio < 1) and are negligible
        small = (np.abs(ratio) < 1) & (log_term - top < -37.0)
        if np.all(small | ~live):
            break
    with np.errstate(over="ignore", divide="ignore"):
        return np.sign(total) * np.exp(log_scale + top + np.log(np.abs(total)))
