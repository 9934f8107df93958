"""Input checks of the customer-base models: tables, weights, settings, horizons.

Every model validates its table here before any likelihood is evaluated. A
table that breaks the rules of its summary (negative values, a last purchase
after the end of observation, more purchases than opportunities, ...) is
refused with ONE message that lists every broken rule with its count and a
first offending customer, so that a user fixes the table in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError

from rfm_loyalty._validation import Real, Whole, check, require_columns
from rfm_loyalty.exceptions import ModelFitError, SchemaError

RFT_COLUMNS = ("frequency", "recency", "T")
OPPORTUNITY_COLUMNS = ("frequency", "recency", "n_periods")


def frame_columns(data: Any, columns: Sequence[str], who: str, hint: str) -> pd.DataFrame:
    """Return ``data`` after checking it is a DataFrame with ``columns``."""
    if not isinstance(data, pd.DataFrame):
        raise SchemaError(
            f"{who} needs a pandas DataFrame with the columns {list(columns)!r}. "
            f"Got {type(data).__name__} instead. {hint}"
        )
    require_columns(data, list(columns), owner=who, hint=hint)
    return data


def numeric_column(data: pd.DataFrame, name: str, who: str) -> np.ndarray:
    """Return a column as finite float64, or raise naming the column and a bad customer."""
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


_RFT_HINT = ("Build it with btyd_summary(orders): frequency = repeat purchase days, recency = "
             "first to last purchase, T = first purchase to the analysis date.")


def rft_arrays(data: Any, who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the validated (frequency, recency, T) arrays of a ``btyd_summary`` table."""
    frame_columns(data, RFT_COLUMNS, who, _RFT_HINT)
    x = numeric_column(data, "frequency", who)
    t_x = numeric_column(data, "recency", who)
    T = numeric_column(data, "T", who)

    checks = [
        (x < 0, lambda i: f"frequency must be >= 0; got {float(x[i])!r}"),
        (t_x < 0, lambda i: f"recency must be >= 0; got {float(t_x[i])!r}"),
        (T < 0, lambda i: f"T must be >= 0; got {float(T[i])!r}"),
        (x != np.round(x), lambda i: "frequency counts repeat purchases and must be a whole "
                                     f"number; got {float(x[i])!r}"),
        (t_x > T, lambda i: "recency must be <= T (the last purchase cannot come after the "
                            f"analysis date); got recency={float(t_x[i])!r} > T={float(T[i])!r}"),
        ((x == 0) & (t_x > 0), lambda i: "a customer with frequency 0 (no repeat purchase) "
                                         "must have recency 0; got "
                                         f"recency={float(t_x[i])!r} (recency is first to last "
                                         "purchase, not time since the last)"),
        ((x > 0) & (t_x == 0), lambda i: "a customer with repeat purchases (frequency > 0) must "
                                         f"have recency > 0; got frequency={float(x[i])!r} with "
                                         "recency 0 (repeat purchases fall on later days than "
                                         "the first)"),
    ]
    _refuse(data.index, checks, who, _RFT_HINT)
    return x, t_x, T


_OPPORTUNITY_HINT = ("Build it with opportunity_summary(orders, period=...): frequency = periods "
                     "with a purchase, recency = the last such period (1..n_periods, 0 without "
                     "one), n_periods = purchase opportunities observed.")


def opportunity_arrays(data: Any, who: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the validated (frequency, recency, n_periods) arrays of a discrete summary."""
    frame_columns(data, OPPORTUNITY_COLUMNS, who, _OPPORTUNITY_HINT)
    x = numeric_column(data, "frequency", who)
    t_x = numeric_column(data, "recency", who)
    n = numeric_column(data, "n_periods", who)
    checks = [
        (x < 0, lambda i: f"frequency must be >= 0; got {float(x[i])!r}"),
        (t_x < 0, lambda i: f"recency must be >= 0; got {float(t_x[i])!r}"),
        (n < 0, lambda i: f"n_periods must be >= 0; got {float(n[i])!r}"),
        ((x != np.round(x)) | (t_x != np.round(t_x)) | (n != np.round(n)),
         lambda i: "frequency, recency and n_periods count periods and must be whole "
                   f"numbers; got ({float(x[i])!r}, {float(t_x[i])!r}, {float(n[i])!r})"),
        (x > n, lambda i: "frequency must be <= n_periods (at most one purchase counted per "
                          f"period); got frequency={float(x[i])!r} > n_periods={float(n[i])!r}"),
        (t_x > n, lambda i: f"recency must be <= n_periods; got recency={float(t_x[i])!r} > "
                            f"n_periods={float(n[i])!r}"),
        (x > t_x, lambda i: "frequency must be <= recency (the purchases fall in periods "
                            f"1..recency); got frequency={float(x[i])!r} > "
                            f"recency={float(t_x[i])!r}"),
        ((x == 0) & (t_x > 0), lambda i: "a customer without purchases (frequency 0) must have "
                                         f"recency 0; got recency={float(t_x[i])!r}"),
    ]
    _refuse(data.index, checks, who, _OPPORTUNITY_HINT)
    return x, t_x, n


def _refuse(index: pd.Index, checks: Sequence[tuple[np.ndarray, Any]], who: str,
            hint: str) -> None:
    broken = []
    for mask, describe in checks:
        if mask.any():
            first = int(np.flatnonzero(mask)[0])
            broken.append(f"{describe(first)} ({int(mask.sum()):,} customer(s), e.g. "
                          f"customer {index[first]!r})")
    if broken:
        listed = "; ".join(f"({k}) {b}" for k, b in enumerate(broken, start=1))
        raise ModelFitError(f"{who}: the table is not a valid customer summary: {listed}. {hint}")


def weights_array(weights: Any, n: int, who: str) -> np.ndarray:
    """Return the number of customers each row stands for (ones by default)."""
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


def check_settings(owner: str, n_starts: Any, penalizer: Any) -> tuple[int, float]:
    """Check the settings every model shares (raised at fit, before any data is read)."""
    starts = check(n_starts, Whole(minimum=1, example=4), name="n_starts", owner=owner)
    penalty = check(penalizer, Real(0.0, closed="both", what="a finite number", example=0.001),
                    name="penalizer", owner=owner)
    return starts, penalty


def not_fitted(model: object, method: str) -> NotFittedError:
    """Return the error of a prediction asked of a model that was never fitted."""
    return NotFittedError(
        f"This {type(model).__name__} instance is not fitted yet: call 'fit' with a "
        f"customer table before using {method!r}."
    )


def check_horizon(t: Any, who: str) -> float:
    """Return ``t`` as a float after checking it is a finite number >= 0."""
    if (isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, float, np.integer, np.floating))
            or not np.isfinite(t) or t < 0):
        raise ValueError(f"{who}: t must be a finite number >= 0 (time units); got {t!r}.")
    return float(t)


def check_horizons(t: Any, who: str) -> np.ndarray:
    """Return ``t`` (a number or array-like) as a float array after checking it is >= 0."""
    try:
        ts = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        ts = np.array([np.nan])
    if not np.isfinite(ts).all() or (ts < 0).any():
        raise ValueError(f"{who}: t must be finite and >= 0; got {t!r}.")
    return ts
