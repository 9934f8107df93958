"""Maximum likelihood for every customer-base model: objective, optimiser, standard errors.

All models are optimised over the logarithm of their parameters, so every
parameter stays positive without constraints and the optimiser sees a problem
whose scale does not depend on the time unit. The objective is the mean
negative log-likelihood per customer (so one tolerance suits 100 or 10
million customers), plus the optional L2 penalty ``penalizer * sum(theta**2)``
on the parameters themselves, as the lifetimes package defines it.

A fit that does not converge raises :class:`~rfm_loyalty.exceptions.ModelFitError`
saying what was tried; an estimate on the edge of the search range warns
(:class:`~rfm_loyalty.exceptions.ModelWarning`), pointing at the user's line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import ModelFitError, ModelWarning

try:  # installed with scikit-learn, which we depend on
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - only without threadpoolctl
    threadpool_limits = None

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

#: Bounds on log-parameters. exp(+-15) spans 3e-7 .. 3e6: wide enough for any
#: time unit (alpha in seconds or in years), narrow enough that a parameter the
#: data cannot pin down stops at a bound we can detect and report.
LOG_BOUND = 15.0
#: L-BFGS-B iterations per starting point.
MAX_ITER = 500
#: A stationary point: the largest projected gradient component of the mean
#: negative log-likelihood per customer below this.
GRADIENT_TOLERANCE = 1e-6


def mean_objective(
    terms: Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray | None]], data: Any
) -> Objective:
    """Mean negative log-likelihood per customer and its gradient, from per-row ``terms``.

    ``terms(theta, data)`` returns each row's log-likelihood and its gradient
    in log-parameters (rows x parameters); rows are weighted by
    ``data.weight``. Weighted sums use ``einsum`` rather than ``@``: a
    multi-threaded BLAS matrix-vector product on an (n, 4) array is slower
    than a plain loop, and much slower when other processes share the cores.
    """
    weight = data.weight
    total = float(weight.sum())

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = terms(theta, data)
        assert grad is not None
        value = -float(np.einsum("i,i->", weight, ll)) / total
        if not np.isfinite(value):
            return np.inf, np.zeros_like(theta)
        return value, -np.einsum("i,ij->j", weight, grad) / total

    return fun


def total_objective(
    totals: Callable[[np.ndarray, Any], tuple[float, np.ndarray]], data: Any, total: float
) -> Objective:
    """Return the mean objective from a function that gives the weighted sums directly.

    For likelihoods (Pareto/NBD) whose gradient is cheaper summed over
    distinct sub-terms than built row by row.
    """

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = totals(theta, data)
        if not np.isfinite(value) or not np.isfinite(grad).all():
            return np.inf, np.zeros_like(theta)
        return -value / total, -grad / total

    return fun


def penalised(objective: Objective, penalizer: float) -> Objective:
    """Add ``penalizer * sum(exp(theta)**2)`` (lifetimes' L2 penalty) to an objective."""
    if penalizer == 0:
        return objective

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = objective(theta)
        square = np.exp(2.0 * theta)
        # d/d(log p) of p^2 is 2 p^2
        return value + penalizer * float(square.sum()), grad + 2.0 * penalizer * square

    return fun


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the optimiser with one BLAS thread.

    L-BFGS-B makes many tiny BLAS calls; with a multi-threaded BLAS each one
    pays a thread hand-off, which made fits 3-5x slower (worse on a busy
    machine). One thread is always faster for problems of 2 to 4 parameters.
    """
    if threadpool_limits is None:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True)
class OptimumResult:
    """Best optimum over all starting points, in log-parameters."""

    log_params: np.ndarray
    mean_neg_loglik: float
    success: bool
    message: str
    n_starts: int
    n_converged: int
    at_bound: tuple[int, ...]
    max_iter: int = MAX_ITER


def fit_multistart(
    objective: Objective, starts: Sequence[np.ndarray], *, tol: float = 1e-10,
    max_iter: int = MAX_ITER,
) -> OptimumResult:
    """Run L-BFGS-B from each start and keep the lowest objective.

    Returns the best optimum even when the optimiser reported a failure, so
    that :func:`check_optimum` can say what went wrong.
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
        res.success = bool(res.success) or bool(
            np.max(np.abs(_projected(res.x, res.jac))) < GRADIENT_TOLERANCE)
        n_converged += res.success
        if best is None or res.fun < best.fun:
            best = res
    if best is None:
        return OptimumResult(np.full(len(starts[0]), np.nan), np.inf, False,
                             "no starting point gave a finite log-likelihood",
                             len(starts), 0, (), max_iter)
    at_bound = tuple(int(i) for i in np.flatnonzero(np.abs(best.x) > LOG_BOUND - 1e-3))
    return OptimumResult(np.asarray(best.x, dtype=float), float(best.fun), bool(best.success),
                         str(best.message), len(starts), n_converged, at_bound, max_iter)


def _projected(x: np.ndarray, jac: np.ndarray) -> np.ndarray:
    """Return the gradient without the components that push against an active bound."""
    g = np.array(jac, dtype=float)
    g[(x <= -LOG_BOUND + 1e-9) & (g > 0)] = 0.0
    g[(x >= LOG_BOUND - 1e-9) & (g < 0)] = 0.0
    return g


def check_optimum(who: str, names: Sequence[str], opt: OptimumResult, *, tried: str) -> None:
    """Raise when the optimiser failed; warn when an estimate sits on a bound.

    ``tried`` says what the fit did (e.g. "4 starting points, screened on a
    sample of 20,000 customers"), for the error message.
    """
    if not np.isfinite(opt.mean_neg_loglik):
        raise ModelFitError(
            f"{who}: {opt.message} ({tried}). Check the table for extreme values, e.g. "
            "times in seconds or a frequency in the millions."
        )
    stop = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, np.exp(opt.log_params), strict=True))
    if not opt.success:
        raise ModelFitError(
            f"{who}: the optimiser did not converge: L-BFGS-B from {tried} (at most "
            f"{opt.max_iter} iterations each), {opt.n_converged} of {opt.n_starts} reached a "
            f"stationary point; the best stopped at {stop} ({opt.message!r}). Try more "
            "starting points (n_starts=8), a small penalizer (penalizer=0.001) when a "
            "parameter runs towards 0 or infinity, or another time unit (weeks instead of days)."
        )
    for i in opt.at_bound:
        warn_user(
            f"{who}: parameter {names[i]!r} ran to the edge of the search range "
            f"({np.exp(opt.log_params[i]):.3g}); the data do not identify it (e.g. no sign "
            "of drop-out, or too few customers). Its standard error is not meaningful; a "
            "small penalizer (penalizer=0.001) keeps it finite.",
            ModelWarning,
        )


def log_space_covariance(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray, total_weight: float
) -> np.ndarray:
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
