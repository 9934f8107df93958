"""Fit the purchase models side by side and check them against calibration and holdout data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._btyd import checks
from rfm_loyalty._btyd.base import PurchaseModel
from rfm_loyalty._btyd.bgnbd import BetaGeoModel
from rfm_loyalty._btyd.gammagamma import GammaGammaModel
from rfm_loyalty._btyd.mbgnbd import ModifiedBetaGeoModel
from rfm_loyalty._btyd.paretonbd import ParetoNBDModel
from rfm_loyalty._btyd.value import DAYS_PER_MONTH, customer_lifetime_value
from rfm_loyalty._validation import Real, Whole, check
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import InvalidParameterError, ModelFitError, ModelWarning

#: The purchase models ``compare_models`` knows, by name.
PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "paretonbd": ParetoNBDModel,
}
_PARAMETER_COLUMNS = ("r", "alpha", "a", "b", "s", "beta")


def _check_names(models: Any, owner: str) -> tuple[str, ...]:
    if isinstance(models, str):
        models = (models,)
    try:
        names = tuple(models)
    except TypeError:
        names = ()
    unknown = [m for m in names if m not in PURCHASE_MODELS]
    if not names or unknown or len(set(names)) != len(names):
        raise InvalidParameterError(
            f"The 'models' parameter of {owner} must be a sequence of distinct names among "
            f"{list(PURCHASE_MODELS)!r}. Got {models!r} instead; pass e.g. "
            "models=('bgnbd', 'mbgnbd', 'paretonbd')."
        )
    return names


def repeat_purchase_histogram(model: PurchaseModel, T: np.ndarray,
                              max_count: int) -> np.ndarray:
    """Return the expected customers with 0, 1, ..., ``max_count``+ repeat purchases.

    ``sum_i P(X(T_i) = k)`` over the customers, evaluated once per distinct
    ``T``; the last bin is what the others leave of the number of customers.
    """
    t_unique, counts = np.unique(T, return_counts=True)
    k = np.arange(max_count, dtype=float)
    grid_k, grid_t = np.meshgrid(k, t_unique, indexing="ij")
    pmf = np.asarray(model.probability_of_purchases(grid_k.ravel(), grid_t.ravel()))
    expected = pmf.reshape(grid_k.shape) @ counts
    return np.append(expected, float(counts.sum()) - expected.sum())


def compare_models(
    summary: pd.DataFrame,
    models: Sequence[str] = ("bgnbd", "mbgnbd", "paretonbd"),
    *,
    holdout: pd.DataFrame | None = None,
    max_count: int = 7,
    time_unit: str | None = None,
    n_starts: int = 4,
    penalizer: float = 0.0,
    return_models: bool = False,
) -> Any:
    """Fit several purchase models on one customer table and compare them in one table.

    Each model is fitted on ``summary``; the table puts side by side the
    fit (log-likelihood, AIC, BIC, parameters), the calibration fit (FHL
    2005, fig. 1: observed and expected numbers of customers with 0, 1, ...,
    ``max_count``+ repeat purchases, and the chi-square distance between
    them) and, with a holdout, the error of each customer's predicted
    purchases. A model that cannot be fitted keeps its row, with the reason
    in ``note`` (and a ModelWarning).

    Parameters
    ----------
    summary : pandas.DataFrame
        ``frequency, recency, T`` per customer (:func:`btyd_summary` or
        :func:`calibration_holdout_summary`).
    models : sequence of {"bgnbd", "mbgnbd", "paretonbd"}
        Models to fit, in the order of the rows.
    holdout : pandas.DataFrame, optional
        ``frequency_holdout`` (purchases after the calibration period) and
        ``duration_holdout`` (its length, in the time unit of ``summary``)
        for every customer of ``summary``, e.g. the output of
        :func:`calibration_holdout_summary` (pass it as both arguments).
    max_count : int, default 7
        The histogram's last bin holds ``max_count`` or more repeat purchases.
    time_unit : {"D", "W"} or None, default None
        Time unit of ``summary`` (default: its ``attrs``, else days).
    n_starts : int, default 4
        Starting points of each fit.
    penalizer : float, default 0.0
        L2 penalty of each fit (see the models).
    return_models : bool, default False
        Also return the fitted models (a dict by name; a model that could not
        be fitted is absent).

    Returns
    -------
    pandas.DataFrame or (pandas.DataFrame, dict)
        Index ``model`` (the names). Columns:

        * ``n_parameters`` (int64); ``log_likelihood``, ``aic``, ``bic``
          (float64); ``delta_bic`` (float64, BIC minus the lowest BIC: 0 for
          the best model, above 10 is strong evidence against a model);
        * ``r, alpha, a, b, s, beta`` (float64; those of the models asked
          for): the estimates, NaN where the model has no such parameter;
        * ``observed_0`` ... ``observed_<max_count>+`` (int64, the same in
          every row) and ``expected_0`` ... (float64): customers with that
          many repeat purchases in the calibration period;
        * ``chi_square`` (float64): ``sum (observed - expected)^2 / expected``
          over those bins;
        * with a holdout: ``holdout_actual`` and ``holdout_predicted``
          (float64, total purchases), ``holdout_mae`` and ``holdout_rmse``
          (float64, per customer);
        * ``note`` (text): "" or why the model could not be fitted.

    Examples
    --------
    >>> from rfm_loyalty.datasets.simulate import simulate_btyd
    >>> data = simulate_btyd(3000, random_state=4)
    >>> table = compare_models(data, time_unit="W")
    >>> table[["n_parameters", "bic", "delta_bic"]].round(1)
               n_parameters      bic  delta_bic
    model
    bgnbd                 4  24841.2        0.0
    mbgnbd                4  24845.2        4.0
    paretonbd             4  24889.4       48.2
    >>> int(table.loc["bgnbd", "observed_0"]), round(table.loc["bgnbd", "expected_0"])
    (1799, 1797)
    """
    owner = "compare_models"
    names = _check_names(models, owner)
    max_count = check(max_count, Whole(minimum=1, example=7), name="max_count", owner=owner)
    x, _, T = checks.rft_arrays(summary, owner)
    actual = horizon = None
    if holdout is not None:
        checks.frame_columns(holdout, ("frequency_holdout", "duration_holdout"), owner,
                             "Build it with calibration_holdout_summary(orders, ...).")
        missing = ~summary.index.isin(holdout.index)
        if missing.any():
            raise ModelFitError(
                f"{owner}: the holdout lacks {int(missing.sum())} customer(s) of the summary "
                f"(e.g. {summary.index[np.flatnonzero(missing)[0]]!r}); give every customer a "
                "row, with frequency_holdout 0 for those who did not buy."
            )
        aligned = holdout.loc[summary.index]
        actual = checks.numeric_column(aligned, "frequency_holdout", owner)
        horizon = checks.numeric_column(aligned, "duration_holdout", owner)
        if (actual < 0).any() or (horizon < 0).any():
            raise ModelFitError(f"{owner}: frequency_holdout and duration_holdout must be >= 0.")
    bins = [f"{k}" for k in range(max_count)] + [f"{max_count}+"]
    observed = np.bincount(np.minimum(x, max_count).astype(np.int64), minlength=max_count + 1)
    rows, fitted = [], {}
    for name in names:
        row: dict[str, Any] = {"model": name, "n_parameters": 4}
        try:
            model = PURCHASE_MODELS[name](time_unit=time_unit, n_starts=n_starts,
                                          penalizer=penalizer).fit(summary)
        except ModelFitError as exc:
            warn_user(f"{owner}: {name} could not be fitted: {exc}", ModelWarning)
            row["note"] = str(exc)
            rows.append(row)
            continue
        fitted[name] = model
        row.update(log_likelihood=model.log_likelihood_, aic=model.aic_, bic=model.bic_)
        row.update({k: float(v) for k, v in model.params_.items()})
        expected = repeat_purchase_histogram(model, T, max_count)
        row.update({f"expected_{b}": e for b, e in zip(bins, expected, strict=True)})
        with np.errstate(divide="ignore", invalid="ignore"):
            row["chi_square"] = float(np.sum((observed - expected) ** 2 / expected))
        if actual is not None and horizon is not None:
            predicted = _predict_holdout(model, summary, horizon)
            error = predicted - actual
            row.update(holdout_actual=float(actual.sum()), holdout_predicted=float(
                predicted.sum()), holdout_mae=float(np.mean(np.abs(error))),
                holdout_rmse=float(np.sqrt(np.mean(error ** 2))))
        row["note"] = ""
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    columns = ["n_parameters", "log_likelihood", "aic", "bic"]
    for column in columns[1:] + list(_PARAMETER_COLUMNS):
        if column not in table:
            table[column] = np.nan
    table["delta_bic"] = table["bic"] - table["bic"].min()
    named = {p for name in names for p in PURCHASE_MODELS[name].PARAMETERS}
    params = [c for c in _PARAMETER_COLUMNS if c in named]
    for b, count in zip(bins, observed, strict=True):
        table[f"observed_{b}"] = np.int64(count)
    expected_columns = [f"expected_{b}" for b in bins]
    for column in [*expected_columns, "chi_square"]:
        if column not in table:
            table[column] = np.nan
    tail = ["holdout_actual", "holdout_predicted", "holdout_mae", "holdout_rmse"] \
        if holdout is not None else []
    for column in tail:
        if column not in table:
            table[column] = np.nan
    order = [*columns, "delta_bic", *params, *[f"observed_{b}" for b in bins],
             *expected_columns, "chi_square", *tail, "note"]
    table = table[order]
    table["n_parameters"] = table["n_parameters"].astype("int64")
    table["note"] = table["note"].astype(object).fillna("")
    float_columns = [c for c in order if c not in ("n_parameters", "note")
                     and not c.startswith("observed_")]
    table[float_columns] = table[float_columns].astype("float64")
    return (table, fitted) if return_models else table


def _predict_holdout(model: PurchaseModel, summary: pd.DataFrame,
                     horizon: np.ndarray) -> np.ndarray:
    """Return each customer's expected holdout purchases (one call per holdout length)."""
    predicted = np.empty(len(summary))
    for length in np.unique(horizon):  # one length in practice; a loop over lengths
        rows = horizon == length
        predicted[rows] = model.expected_purchases(float(length), summary.loc[rows]).to_numpy()
    return predicted


def fit_customer_models(
    summary_days: pd.DataFrame,
    *,
    models: Sequence[str],
    horizon_days: float,
    discount_rate_monthly: float,
    days_per_month: float = DAYS_PER_MONTH,
) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Fit and compare purchase models, keep the best by BIC, predict every customer.

    The "chosen" model is the fitted one with the lowest BIC (on ties, the
    first named): all are fitted on the same customers, so their BIC compare,
    and BIC's penalty for parameters is what guards against over-fitting.
    ``comparison["chosen"]`` marks it.

    Parameters
    ----------
    summary_days : pandas.DataFrame
        :func:`btyd_summary` in days (``frequency, recency, T,
        monetary_value``).
    models : sequence of {"bgnbd", "mbgnbd", "paretonbd"}
        Models to fit and compare.
    horizon_days : float
        Horizon of ``expected_purchases`` in days (> 0); ``clv`` covers the
        same horizon rounded to whole months of ``days_per_month`` days (at
        least one).
    discount_rate_monthly : float
        Monthly discount rate of ``clv`` (>= 0).
    days_per_month : float, default 30.4375
        Length of a month in days (see :func:`customer_lifetime_value`).

    Returns
    -------
    (dict, pandas.DataFrame, pandas.DataFrame)
        * the fitted models by name, plus ``"gamma_gamma"`` when the spend
          model could be fitted;
        * the :func:`compare_models` table with a ``chosen`` (bool) column;
        * per customer (indexed like ``summary_days``): ``p_alive``,
          ``expected_purchases`` (over ``horizon_days``) and ``clv`` (NaN
          when the Gamma-Gamma model could not be fitted: a ModelWarning
          says why), float64, from the chosen model.

    Raises
    ------
    ModelFitError
        When none of the models could be fitted (the reasons are in the message).

    Examples
    --------
    >>> from rfm_loyalty.datasets import load_sample_orders
    >>> from rfm_loyalty.summary import btyd_summary
    >>> summary = btyd_summary(load_sample_orders())
    >>> fitted, comparison, predictions = fit_customer_models(
    ...     summary, models=("bgnbd", "mbgnbd"), horizon_days=365.25,
    ...     discount_rate_monthly=0.01)
    >>> sorted(fitted), int(comparison["chosen"].sum())
    (['bgnbd', 'gamma_gamma', 'mbgnbd'], 1)
    >>> list(predictions.columns), len(predictions) == len(summary)
    (['p_alive', 'expected_purchases', 'clv'], True)
    """
    owner = "fit_customer_models"
    names = _check_names(models, owner)
    horizon = check(horizon_days, Real(0.0, closed="neither", example=365.25),
                    name="horizon_days", owner=owner)
    table, fitted = compare_models(summary_days, names, time_unit="D", return_models=True)
    if not fitted:
        raise ModelFitError(f"{owner}: none of {list(names)!r} could be fitted: "
                            + " | ".join(f"{n}: {table.loc[n, 'note']}" for n in names))
    chosen = str(table.loc[list(fitted), "bic"].idxmin())
    table["chosen"] = table.index == chosen
    model = fitted[chosen]
    predictions = pd.DataFrame({
        "p_alive": model.p_alive(summary_days),
        "expected_purchases": model.expected_purchases(horizon, summary_days),
    })
    months = max(1, round(horizon / days_per_month))
    try:
        gamma_gamma = GammaGammaModel().fit(summary_days)
    except ModelFitError as exc:
        warn_user(f"{owner}: the Gamma-Gamma spend model could not be fitted ({exc}); clv is "
                  "NaN.", ModelWarning)
        predictions["clv"] = math.nan
    else:
        fitted["gamma_gamma"] = gamma_gamma
        predictions["clv"] = customer_lifetime_value(
            model, gamma_gamma, summary_days, months=months,
            discount_rate_monthly=discount_rate_monthly, days_per_month=days_per_month)
    return fitted, table, predictions.astype("float64")
