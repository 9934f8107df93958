"""What every customer-base model shares: settings, summary, AIC/BIC, penalizer, persistence."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from rfm_loyalty._btyd.fitting import mean_objective, penalised
from rfm_loyalty._btyd.mbgnbd import mbgnbd_loglik_terms
from rfm_loyalty._btyd.rows import compress
from rfm_loyalty.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from rfm_loyalty.exceptions import InvalidParameterError, ModelWarning

REFERENCE = Path(__file__).resolve().parent / "reference"
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(REFERENCE / "cdnow_summary.csv", index_col="ID")
    table = raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    table.attrs["time_unit"] = "W"
    return table


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "donations_bgbb.csv")


@pytest.fixture(scope="module")
def fitted(cdnow, donations):
    return {
        "BetaGeoModel": (BetaGeoModel().fit(cdnow), cdnow),
        "ModifiedBetaGeoModel": (ModifiedBetaGeoModel().fit(cdnow), cdnow),
        "ParetoNBDModel": (ParetoNBDModel().fit(cdnow), cdnow),
        "GammaGammaModel": (GammaGammaModel().fit(cdnow), cdnow),
        "BetaGeoBetaBinomModel": (
            BetaGeoBetaBinomModel().fit(donations, weights=donations["count"]), donations),
        "ShiftedBetaGeometricModel": (ShiftedBetaGeometricModel().fit(REGULAR), None),
    }


NAMES = ["BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel", "GammaGammaModel",
         "BetaGeoBetaBinomModel", "ShiftedBetaGeometricModel"]


@pytest.mark.parametrize("name", NAMES)
def test_summary_and_information_criteria(fitted, name) -> None:
    model, _ = fitted[name]
    table = model.summary()
    assert list(table.columns) == ["estimate", "standard_error", "lower_95", "upper_95"]
    assert table.index.name == "parameter" and list(table.index) == list(model.PARAMETERS)
    assert (table.dtypes == "float64").all()
    assert (table["lower_95"] < table["estimate"]).all()
    assert (table["estimate"] < table["upper_95"]).all()
    # the interval is built in log space: its ends multiply to the estimate squared
    np.testing.assert_allclose(table["lower_95"] * table["upper_95"], table["estimate"] ** 2)
    k, n = len(model.PARAMETERS), model.n_customers_
    assert model.aic_ == pytest.approx(2 * k - 2 * model.log_likelihood_)
    assert model.bic_ == pytest.approx(k * math.log(n) - 2 * model.log_likelihood_)
    assert model.converged_


@pytest.mark.parametrize("name", NAMES)
def test_to_dict_round_trips_through_json(fitted, name) -> None:
    model, data = fitted[name]
    saved = model.to_dict()
    text = json.dumps(saved, allow_nan=False)  # JSON-safe: no NaN, no numpy types
    restored = type(model).from_dict(json.loads(text))
    assert type(restored) is type(model)
    pd.testing.assert_series_equal(restored.params_, model.params_)
    pd.testing.assert_frame_equal(restored.summary(), model.summary())
    np.testing.assert_allclose(restored.covariance_log_, model.covariance_log_)
    assert restored.log_likelihood_ == model.log_likelihood_
    assert restored.bic_ == model.bic_
    assert saved["model"] == name and saved["format"] == "rfm_loyalty.model/1"
    assert saved["library_version"] == __import__("rfm_loyalty").__version__
    for setting in type(model)._SETTINGS:
        assert getattr(restored, setting) == getattr(model, setting)
    if name in ("BetaGeoModel", "ModifiedBetaGeoModel", "ParetoNBDModel"):
        assert restored.time_unit_ == "W" and restored.days_per_unit_ == 7.0
        pd.testing.assert_series_equal(restored.p_alive(data), model.p_alive(data))
        pd.testing.assert_series_equal(restored.expected_purchases(13, data),
                                       model.expected_purchases(13, data))
        with pytest.raises(ValueError, match=r"holds no data \(built with from_params or "
                           r"from_dict\); pass data="):
            restored.p_alive()
    elif name == "GammaGammaModel":
        assert restored.n_excluded_ == model.n_excluded_
        pd.testing.assert_series_equal(restored.conditional_expected_spend(data),
                                       model.conditional_expected_spend(data))
    elif name == "BetaGeoBetaBinomModel":
        pd.testing.assert_series_equal(restored.p_alive(data), model.p_alive(data))
    else:
        assert restored.discounted_residual_lifetime(3) == model.discounted_residual_lifetime(3)


def test_from_dict_refuses_other_input(fitted) -> None:
    saved = fitted["BetaGeoModel"][0].to_dict()
    with pytest.raises(ValueError, match=r"ParetoNBDModel\.from_dict: the dict holds a "
                       r"'BetaGeoModel', not a ParetoNBDModel"):
        ParetoNBDModel.from_dict(saved)
    with pytest.raises(ValueError, match=r"needs the dict written by to_dict \(format "
                       r"'rfm_loyalty\.model/1'\); got dict with format None"):
        BetaGeoModel.from_dict({"parameters": {}})
    with pytest.raises(NotFittedError, match=r"This BetaGeoModel instance is not fitted yet"):
        BetaGeoModel().to_dict()


def test_nan_standard_errors_survive_json(cdnow) -> None:
    model = ParetoNBDModel.from_params(r=0.5, alpha=10.0, s=0.6, beta=11.0, time_unit="W")
    saved = json.loads(json.dumps(model.to_dict(), allow_nan=False))
    assert saved["covariance_log"][0][0] is None and saved["fit"]["log_likelihood"] is None
    restored = ParetoNBDModel.from_dict(saved)
    assert restored.standard_errors_.isna().all() and math.isnan(restored.aic_)


@pytest.mark.parametrize("cls", [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel,
                                 GammaGammaModel, BetaGeoBetaBinomModel,
                                 ShiftedBetaGeometricModel])
def test_settings_are_checked_at_fit(cls, cdnow, donations) -> None:
    data = {BetaGeoBetaBinomModel: donations, ShiftedBetaGeometricModel: REGULAR}.get(cls, cdnow)
    with pytest.raises(InvalidParameterError, match=rf"The 'penalizer' parameter of "
                       rf"{cls.__name__} must be a finite number >= 0\. Got -0\.5 instead; "
                       r"pass e\.g\. penalizer=0\.001\."):
        cls(penalizer=-0.5).fit(data)
    with pytest.raises(InvalidParameterError, match=rf"The 'n_starts' parameter of "
                       rf"{cls.__name__} must be a whole number >= 1\. Got 2\.5 instead"):
        cls(n_starts=2.5).fit(data)
    assert "penalizer=0.0" in repr(cls())


def test_penalizer_follows_lifetimes_convention(cdnow) -> None:
    # objective = mean negative log-likelihood per customer + penalizer * sum(params**2)
    x, t_x, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    rows = compress(x, t_x, T, np.ones(len(x)))
    plain = mean_objective(mbgnbd_loglik_terms, rows)
    pen = penalised(plain, 0.1)
    theta = np.log([0.5, 6.0, 0.9, 1.6])
    value, grad = pen(theta)
    assert value == pytest.approx(plain(theta)[0] + 0.1 * float(np.sum(np.exp(theta) ** 2)))
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6
        assert grad[k] == pytest.approx((pen(theta + step)[0] - pen(theta - step)[0]) / 2e-6,
                                        rel=1e-5)
    # a penalised fit shrinks the parameters; log_likelihood_ stays unpenalised
    free = ModifiedBetaGeoModel().fit(cdnow)
    shrunk = ModifiedBetaGeoModel(penalizer=0.01).fit(cdnow)
    assert (shrunk.params_ ** 2).sum() < (free.params_ ** 2).sum()
    assert shrunk.log_likelihood_ < free.log_likelihood_
    assert shrunk.log_likelihood_ == pytest.approx(
        -len(x) * plain(np.log(shrunk.params_.to_numpy()))[0], rel=1e-12)


def test_penalizer_gives_finite_standard_errors_where_the_likelihood_is_flat() -> None:
    # customers who never leave: unpenalised, b runs off (1,555) along a flat ridge and
    # the Hessian is singular; the penalty bounds the ridge. It acts on the parameters
    # themselves (lifetimes' convention), so it moves alpha too: a scale-dependent choice
    from rfm_loyalty.datasets.simulate import simulate_btyd

    data = simulate_btyd(3000, r=0.5, alpha=20.0, a=1e-4, b=1e3, random_state=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        free = BetaGeoModel().fit(data)
    texts = [str(w.message) for w in caught]
    assert any("standard errors are NaN" in t for t in texts), texts
    assert any("almost no drop-out" in t for t in texts), texts
    assert free.params_["b"] > 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        shrunk = BetaGeoModel(penalizer=0.001).fit(data)
    assert np.isfinite(shrunk.standard_errors_).all() and shrunk.params_["b"] < 10


def test_warnings_point_at_the_callers_line() -> None:
    from rfm_loyalty.datasets.simulate import simulate_btyd

    data = simulate_btyd(2000, r=0.5, alpha=20.0, a=0.01, b=99.99, random_state=2)
    with pytest.warns(ModelWarning) as caught:
        BetaGeoModel().fit(data)
    assert {w.filename for w in caught} == {__file__}


def test_a_fit_that_does_not_converge_raises(cdnow, monkeypatch) -> None:
    # one L-BFGS-B iteration per start cannot reach the optimum: the fit must refuse to
    # return half-fitted parameters and say what was tried and what to change
    import functools

    import rfm_loyalty._btyd.base as base
    from rfm_loyalty._btyd.fitting import fit_multistart
    from rfm_loyalty.exceptions import ModelFitError

    monkeypatch.setattr(base, "fit_multistart", functools.partial(fit_multistart, max_iter=1))
    with pytest.raises(ModelFitError, match=r"ParetoNBDModel\.fit: the optimiser did not "
                       r"converge: L-BFGS-B from 4 starting point\(s\) \(at most 1 iterations "
                       r"each\), 0 of 4 reached a stationary point; the best stopped at r=.* "
                       r"Try more starting points \(n_starts=8\)"):
        ParetoNBDModel().fit(cdnow)
    with pytest.raises(ModelFitError, match=r"ShiftedBetaGeometricModel\.fit: the optimiser "
                       r"did not converge"):
        ShiftedBetaGeometricModel().fit(REGULAR)
