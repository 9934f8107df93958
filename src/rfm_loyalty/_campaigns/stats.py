"""Two-group comparisons with confidence intervals, vectorised over leading axes.

Every function takes numpy arrays (or scalars) of per-group summaries and
broadcasts, so one call compares one campaign or many simulated ones.

* Rates (the response rate): the difference of two independent proportions
  with Newcombe's hybrid score interval (Newcombe 1998, method 10): a Wilson
  score interval for each rate, combined by the square-and-add rule. It keeps
  close to its nominal coverage for small rates and small groups, where the
  Wald interval ``d +/- z * se`` is too narrow (and degenerates to a point
  when a group has no responder).
* Means (revenue and orders per customer): Welch's t interval, the difference
  of means +/- the t quantile on the Welch-Satterthwaite degrees of freedom
  times ``sqrt(s1**2/n1 + s2**2/n2)``; no equal-variance assumption.
* Power: the minimum detectable effect of a two-sided test at level
  ``1 - confidence`` with the given power, ``(z_(1-alpha/2) + z_power) * se``,
  the normal-approximation formula of every sample-size table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats


def z_value(confidence: float) -> float:
    """Two-sided normal quantile of a confidence level (1.959964 for 0.95)."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(successes: Any, n: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion; NaN where ``n == 0``."""
    x = np.asarray(successes, dtype=float)
    size = np.asarray(n, dtype=float)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / size
        denominator = 1 + z * z / size
        centre = (p + z * z / (2 * size)) / denominator
        half = z * np.sqrt(p * (1 - p) / size + z * z / (4 * size * size)) / denominator
    return centre - half, centre + half


def rate_difference(x1: Any, n1: Any, x2: Any, n2: Any,
                    confidence: float) -> dict[str, np.ndarray]:
    """Difference of two rates ``x1/n1 - x2/n2`` with Newcombe's hybrid score interval.

    Returns ``estimate``, ``lower``, ``upper`` and ``se`` (the Wald standard
    error, for the power note); NaN where a group is empty.

    Examples
    --------
    Newcombe (1998), Table II, example (a): 56/70 - 48/80.

    >>> out = rate_difference(56, 70, 48, 80, 0.95)
    >>> [round(float(out[k]), 4) for k in ("estimate", "lower", "upper")]
    [0.2, 0.0524, 0.3339]
    """
    a1, a2 = np.asarray(x1, dtype=float), np.asarray(x2, dtype=float)
    m1, m2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = a1 / m1, a2 / m2
        l1, u1 = wilson_interval(a1, m1, confidence)
        l2, u2 = wilson_interval(a2, m2, confidence)
        estimate = p1 - p2
        lower = estimate - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        upper = estimate + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        se = np.sqrt(p1 * (1 - p1) / m1 + p2 * (1 - p2) / m2)
    return {"estimate": estimate, "lower": np.maximum(lower, -1.0),
            "upper": np.minimum(upper, 1.0), "se": se}


def mean_difference(mean1: Any, var1: Any, n1: Any, mean2: Any, var2: Any, n2: Any,
                    confidence: float) -> dict[str, np.ndarray]:
    """Difference of two means with Welch's t interval.

    ``var1``/``var2`` are sample variances (ddof=1). Returns ``estimate``,
    ``lower``, ``upper``, ``se`` and ``df``. With both variances zero the
    interval is the point itself (``df`` NaN); with a group of fewer than two
    customers everything but the estimate is NaN.

    Examples
    --------
    >>> out = mean_difference(10.0, 4.0, 20, 8.0, 9.0, 30, 0.95)
    >>> round(float(out["estimate"]), 3), round(float(out["df"]), 1)
    (2.0, 48.0)
    """
    d1, d2 = np.asarray(mean1, dtype=float), np.asarray(mean2, dtype=float)
    v1, v2 = np.asarray(var1, dtype=float), np.asarray(var2, dtype=float)
    m1, m2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = d1 - d2
        a, b = v1 / m1, v2 / m2
        se = np.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (m1 - 1) + b * b / (m2 - 1))
        t = stats.t.ppf(0.5 + confidence / 2, df)
        half = np.where(se == 0, 0.0, t * se)
        too_small = (m1 < 2) | (m2 < 2)
        se = np.where(too_small, np.nan, se)
        half = np.where(too_small, np.nan, half)
    return {"estimate": estimate, "lower": estimate - half, "upper": estimate + half,
            "se": se, "df": df}


def minimum_detectable(se: Any, *, power: float, confidence: float) -> np.ndarray:
    """Smallest true difference a two-sided test detects with ``power``: ``(z_a + z_b) * se``."""
    factor = z_value(confidence) + float(stats.norm.ppf(power))
    return factor * np.asarray(se, dtype=float)


def rate_detectable(rate: Any, n1: Any, n2: Any, *, power: float,
                    confidence: float) -> np.ndarray:
    """Minimum detectable difference of two rates around a common ``rate``."""
    p = np.asarray(rate, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(p * (1 - p) * (1 / np.asarray(n1, dtype=float)
                                    + 1 / np.asarray(n2, dtype=float)))
    return minimum_detectable(se, power=power, confidence=confidence)


def control_size_for(lift: float, rate: float, n_treatment: int, *, power: float,
                     confidence: float) -> float:
    """Control customers needed to detect ``lift`` at ``rate`` beside ``n_treatment``.

    ``inf`` when even an unlimited control group is not enough (the treatment
    group alone is too small).
    """
    factor = z_value(confidence) + float(stats.norm.ppf(power))
    variance = rate * (1 - rate)
    if variance <= 0:
        return float("nan")
    room = lift * lift / (factor * factor * variance) - 1 / n_treatment
    return float(np.ceil(1 / room)) if room > 0 else float("inf")
