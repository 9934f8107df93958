"""Special functions of the models, evaluated where scipy's would overflow or lose digits.

* :func:`scaled_hyp2f1`: ``exp(log_scale) * 2F1(a, b; c; z)`` for BG/NBD and
  MBG/NBD, with a log-space series where scipy returns inf or NaN.
* :func:`log_tail_integral` and :func:`log_segment_integral`: the integral
  ``I(t) = int_t^inf (M + u)^-pM (m + u)^-pm du`` behind the Pareto/NBD
  likelihood, in log space with its gradient, for any frequency and horizon.
* Small helpers: ``log1mexp``, ``expm1_ratio``, and the nudges away from the
  removable singularities of the BG/NBD expectations.

Pareto/NBD's integral. With ``M >= m`` and ``z = (M - m) / (M + t)`` in
[0, 1), substituting ``u`` and applying Euler's transformation gives::

    I(t) = (M + t)^-pM (m + t)^(1 - pm) H(pM, pM + pm; z) / (pM + pm - 1),
    H(c, d; z) = 2F1(1, c; d; z) = sum_k (c)_k / (d)_k z^k,

a series of positive terms with ratios below ``z`` (so no overflow, no
cancellation: a heavy buyer's huge powers are only in the logged prefactor).
Fader, Hardie & Lee's note writes the same integral as 2F1(r+s+x, s+1;
r+s+x+1; (alpha-beta)/(alpha+t)) when alpha >= beta and with (r+x, beta)
when alpha < beta: choosing ``M = max(alpha, beta)`` is that choice of the
convergent representation. The series converges like ``z^k``; where ``z``
exceeds ``Z_SPLIT`` (0.8) (a time ``t`` small next to ``M - m``) the integral is
split at ``t' = M - 2m``, where ``z = 1/2``: the part from ``t`` to ``t'`` is
integrated by Gauss-Legendre quadrature in ``log(m + u)`` on panels that grow
geometrically from ``t`` (where the integrand is steepest), the rest by the
series.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import hyp2f1, logsumexp

#: Above this ``z`` the Pareto/NBD series would need more than ~200 terms:
#: those rows go to quadrature instead.
Z_SPLIT = 0.8
GL_NODES, GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
LOG_GL_WEIGHTS = np.log(GL_WEIGHTS)


# --------------------------------------------------------------------------- #
# Gauss hypergeometric function for BG/NBD and MBG/NBD
# --------------------------------------------------------------------------- #
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


def away_from_one(a: float) -> float:
    """Move ``a`` to 1 +- 1e-7 when closer to 1 than that.

    The BG/NBD and MBG/NBD expectations are 0/0 at a = 1 exactly, though the
    function is smooth there; nudging by 1e-7 changes the value by about that
    much relative, while round-off grows like 1e-16 / |a - 1| closer in.
    """
    return a if abs(a - 1.0) >= 1e-7 else 1.0 + float(np.copysign(1e-7, a - 1.0))


def b_off_pole(a: float, b: float) -> float:
    """Move ``b`` so that ``a + b - 1`` is at least 1e-7 away from 0.

    ``a + b - 1`` is the third parameter of the BG/NBD expectations' 2F1 for a
    customer without repeat purchases (and for a new customer): 2F1 has a pole
    at 0 there, while the expectation (2F1 times ``a + b - 1``) is smooth. As
    in ``away_from_one``, the nudge changes the value by about 1e-7 relative.
    """
    gap = a + b - 1.0
    if abs(gap) >= 1e-7:
        return b
    return 1.0 - a + float(np.copysign(1e-7, gap))


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
def log1mexp(u: np.ndarray) -> np.ndarray:
    """``log(1 - exp(u))`` for u <= 0, accurate at both ends (-inf at u = 0)."""
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(np.minimum(u, 0.0)))


def expm1_ratio(eps: Any, length: Any) -> np.ndarray:
    """``(1 - exp(-eps * length)) / eps``, continuous at eps = 0 (where it is ``length``).

    The Pareto/NBD expectations divide by ``s - 1``; this keeps them smooth
    at s = 1 without nudging the parameter.
    """
    eps, length = np.broadcast_arrays(np.asarray(eps, float), np.asarray(length, float))
    prod = eps * length
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = -np.expm1(-prod) / eps
    # second-order Taylor expansion where the division loses digits
    series = length * (1.0 - prod / 2.0 + prod * prod / 6.0)
    return np.where(np.abs(prod) < 1e-5, series, exact)


# --------------------------------------------------------------------------- #
# Pareto/NBD: I(t) = int_t^inf (M + u)^-pM (m + u)^-pm du, M >= m
# --------------------------------------------------------------------------- #
def h_series(c: np.ndarray, d: np.ndarray, z: np.ndarray, *, tol: float = 1e-16,
             max_terms: int = 20_000, derivatives: bool = True) -> np.ndarray:
    """Sum ``H(c, d; z) = sum_k (c)_k/(d)_k z^k`` and the series of its derivatives.

    Returns rows ``S = H``, ``Sc = dH/dc``, ``Sd = -dH/dd`` and ``Sk = z dH/dz``
    (shape 4 x n). Requires ``0 < c < d`` and ``0 <= z < 1``: every term is
    positive and each ratio ``(c+k)/(d+k) z`` is below ``z``, so the rest of
    the series after term ``k`` is below ``term_k z / (1 - z)``. A row is done
    once that bound (times ``(k + 2) / (1 - z)``, for the weighted sums) is
    below ``tol`` of its sum; done rows leave the working set once they are a
    quarter of it, so the loop over terms costs what the slowest rows need.
    With ``derivatives=False`` only ``S`` is summed (the other rows are 0).
    """
    c, d, z = (np.array(v, dtype=float) for v in np.broadcast_arrays(c, d, z))
    n = z.shape[0]
    out = np.empty((4, n))
    rows = np.arange(n)
    S = np.ones(n)
    Sc, Sd, Sk = np.zeros(n), np.zeros(n), np.zeros(n)
    term, P, Q = np.ones(n), np.zeros(n), np.zeros(n)
    cut = tol * (1.0 - z) ** 2
    ck, dk, buf = np.empty(n), np.empty(n), np.empty(n)
    k = 0
    while rows.size and k < max_terms:
        for _ in range(8):
            np.add(c, k, out=ck)
            np.add(d, k, out=dk)
            if derivatives:
                np.divide(1.0, ck, out=buf)
                P += buf  # sum_j<k 1/(c+j): d log term_k / dc
                np.divide(1.0, dk, out=buf)
                Q += buf  # sum_j<k 1/(d+j): -d log term_k / dd
            np.divide(ck, dk, out=buf)
            buf *= z
            term *= buf
            k += 1
            S += term
            if derivatives:
                np.multiply(term, P, out=buf)
                Sc += buf
                np.multiply(term, Q, out=buf)
                Sd += buf
                np.multiply(term, k, out=buf)
                Sk += buf
        live = term * (k + 2) > cut * S
        n_live = int(np.count_nonzero(live))
        if n_live == 0 or 4 * n_live < 3 * rows.size:
            done = ~live
            out[:, rows[done]] = S[done], Sc[done], Sd[done], Sk[done]
            rows = rows[live]
            c, d, z, S, Sc, Sd, Sk, term, P, Q, cut = (
                v[live] for v in (c, d, z, S, Sc, Sd, Sk, term, P, Q, cut))
            ck, dk, buf = np.empty(n_live), np.empty(n_live), np.empty(n_live)
    if rows.size:
        out[:, rows] = S, Sc, Sd, Sk
    return out


def log_tail_integral(
    M: float, m: float, pM: np.ndarray, pm: np.ndarray, t: np.ndarray, *,
    gradient: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``log I(t)`` and its gradient with respect to ``(M, m, pM, pm)`` (n x 4), by the series.

    Valid where ``z = (M - m)/(M + t) <= Z_SPLIT`` (other rows converge, but
    slowly); ``M >= m > 0``, ``pM, pm > 0``. With ``gradient=False`` the
    gradient is all zeros (and cheaper: the derivative series are skipped).
    """
    lM = np.log(M + t)
    lm = np.log(m + t)
    z = (M - m) / (M + t)
    S, Sc, Sd, Sk = h_series(pM, pM + pm, z, derivatives=gradient)
    a = pM + pm - 1.0
    value = -pM * lM - (pm - 1.0) * lm + np.log(S) - np.log(a)
    if not gradient:
        return value, np.zeros((t.shape[0], 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        hz = np.where(z > 0, Sk / (z * S), pM / (pM + pm))  # d log H / dz (at z = 0: c/d)
    grad = np.empty((t.shape[0], 4))
    grad[:, 0] = -pM / (M + t) + hz * (m + t) / (M + t) ** 2
    grad[:, 1] = -(pm - 1.0) / (m + t) - hz / (M + t)
    grad[:, 2] = -lM + (Sc - Sd) / S - 1.0 / a
    grad[:, 3] = -lm - Sd / S - 1.0 / a
    return value, grad


def panel_edges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Panel edges per row (rows x edges): widths 2^-10, 2^-9, ... 1, then 1 to ``hi``."""
    widths = 2.0 ** np.arange(-10, 1)
    offsets = np.concatenate([[0.0], np.cumsum(widths)])
    span = hi - lo
    extra = int(np.ceil(max(0.0, float(span.max()) - offsets[-1])))
    offsets = np.concatenate([offsets, offsets[-1] + np.arange(1, extra + 1)])
    return lo[:, None] + np.minimum(offsets[None, :], span[:, None])


def log_segment_integral(
    M: float, m: float, pM: np.ndarray, pm: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log int_lo^hi (M+u)^-pM (m+u)^-pm du`` and its gradient (n x 4), by quadrature.

    16-point Gauss-Legendre on panels in ``v = log(m + u)``, where the log of
    the integrand, ``-pM log(M - m + e^v) - (pm - 1) v``, is concave (one
    bump at most): panels widen geometrically from ``lo``, where it is
    steepest, up to width 1. Rows with ``hi <= lo`` give -inf and a zero
    gradient. The gradient is the integral of the integrand's own
    derivatives at fixed limits.
    """
    edges = panel_edges(np.log(m + lo), np.log(m + np.maximum(hi, lo)))
    start, stop = edges[:, :-1], edges[:, 1:]
    half = (stop - start) / 2.0
    v = ((start + stop) / 2.0)[..., None] + half[..., None] * GL_NODES
    near = np.exp(v)  # m + u
    far = (M - m) + near  # M + u
    log_far = np.log(far)
    with np.errstate(divide="ignore"):
        log_w = np.log(half)[..., None] + LOG_GL_WEIGHTS
    log_f = -pM[:, None, None] * log_far - (pm[:, None, None] - 1.0) * v + log_w
    log_f = np.where(half[..., None] > 0, log_f, -np.inf).reshape(len(lo), -1)
    value = logsumexp(log_f, axis=1)
    ok = np.isfinite(value)
    share = np.exp(log_f - np.where(ok, value, 0.0)[:, None]) * ok[:, None]
    grad = np.empty((len(lo), 4))
    grad[:, 0] = -np.einsum("ij,ij->i", share, (pM[:, None, None] / far).reshape(len(lo), -1))
    grad[:, 1] = -np.einsum("ij,ij->i", share, (pm[:, None, None] / near).reshape(len(lo), -1))
    grad[:, 2] = -np.einsum("ij,ij->i", share, log_far.reshape(len(lo), -1))
    grad[:, 3] = -np.einsum("ij,ij->i", share, v.reshape(len(lo), -1))
    return value, grad


def log_difference(
    l1: np.ndarray, g1: np.ndarray, l2: np.ndarray, g2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log(e^l1 - e^l2)`` (l1 >= l2) and its gradient from those of l1 and l2."""
    u = np.minimum(l2 - l1, 0.0)
    value = l1 + log1mexp(u)
    e = np.exp(u)
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = np.where((u < 0)[:, None], (g1 - e[:, None] * g2) / (1.0 - e)[:, None], 0.0)
    return value, grad
