"""Tests of rfm_loyalty.btyd.ModifiedBetaGeoModel (MBG/NBD, Batislam, Denizel & Filiztekin 2007).

No published MBG/NBD estimates exist for a data set we can ship, so every number is
checked against an independent implementation written here: the likelihood with
plain gamma functions, one customer at a time; p_alive, the conditional and the
population expectations by numerical integration over the drop-out probability
(no hypergeometric function); the probability of n purchases against simulation.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from rfm_loyalty._btyd.mbgnbd import mbgnbd_loglik_terms
from rfm_loyalty._btyd.rows import compress
from rfm_loyalty.btyd import BetaGeoModel, ModifiedBetaGeoModel
from rfm_loyalty.datasets.simulate import simulate_btyd
from rfm_loyalty.exceptions import ModelWarning

REFERENCE = Path(__file__).resolve().parent / "reference"
PARAMS = [(0.525, 6.183, 0.891, 1.614), (2.0, 10.0, 3.0, 1.5), (0.3, 30.0, 0.5, 0.4)]
CUSTOMERS = [(0, 0.0, 30.0), (1, 2.0, 30.0), (5, 20.0, 35.0), (12, 38.0, 39.0),
             (300, 38.0, 39.0)]


def frame(x, t_x, T) -> pd.DataFrame:
    return pd.DataFrame({"frequency": np.asarray(x, float), "recency": np.asarray(t_x, float),
                         "T": np.asarray(T, float)})


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(REFERENCE / "cdnow_summary.csv", index_col="ID")
    return raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_mbg(cdnow: pd.DataFrame) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel(time_unit="W").fit(cdnow)


def naive_loglik(r, alpha, a, b, x, t_x, T) -> float:
    """Batislam et al. (2007), eq. 7, with plain gamma and beta functions."""
    x = int(x)

    def beta_fn(p, q):
        return math.exp(math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q))

    front = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha ** r
    alive = beta_fn(a, b + x + 1) / beta_fn(a, b) * (alpha + T) ** -(r + x)
    dead = beta_fn(a + 1, b + x) / beta_fn(a, b) * (alpha + t_x) ** -(r + x)
    return math.log(front * (alive + dead))


rows_strategy = st.lists(st.tuples(st.integers(0, 15), st.floats(0.001, 1),
                                   st.floats(0.1, 80)), min_size=1, max_size=25)
mbg_params = st.tuples(st.floats(0.1, 5), st.floats(0.5, 50), st.floats(0.2, 5),
                       st.floats(0.2, 10))


@settings(max_examples=50, deadline=None)
@given(rows_strategy, mbg_params)
def test_loglik_and_gradient_match_naive(rows, params) -> None:
    x = np.array([r[0] for r in rows], float)
    T = np.array([r[2] for r in rows])
    t_x = np.where(x > 0, T * np.array([r[1] for r in rows]), 0.0)
    data = compress(x, t_x, T, np.ones(len(x)))
    ll, grad = mbgnbd_loglik_terms(np.log(params), data)
    want = sum(naive_loglik(*params, *row) for row in zip(x, t_x, T, strict=True))
    assert float(data.weight @ ll) == pytest.approx(want, rel=1e-10, abs=1e-10)
    assert grad is not None
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6
        up = sum(naive_loglik(*np.exp(np.log(params) + step), *row)
                 for row in zip(x, t_x, T, strict=True))
        down = sum(naive_loglik(*np.exp(np.log(params) - step), *row)
                   for row in zip(x, t_x, T, strict=True))
        assert float(data.weight @ grad[:, k]) == pytest.approx((up - down) / 2e-6, rel=1e-4,
                                                                abs=1e-5)


def quad_conditional(params, x, t_x, T, t) -> tuple[float, float]:
    """p_alive and E[Y(t)] by integrating lambda analytically and p numerically.

    Given (lambda, p): alive at T after surviving x + 1 drop-out chances
    (1-p)^(x+1) lambda^x e^{-lambda T}; left right after the last purchase (or the
    first) p (1-p)^x lambda^x e^{-lambda t_x}. An alive customer buys
    (1 - e^{-lambda p t}) / p in the next t.
    """
    r, alpha, a, b = params

    def k(s):  # int lambda^x e^{-lambda s} g(lambda) d lambda, scaled by (alpha+T)^(r+x)
        return ((alpha + T) / (alpha + s)) ** (r + x)

    def beta_mean(g):
        return integrate.quad(g, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)[0] / (
            math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))

    alive = beta_mean(lambda p: (1 - p) ** (x + 1) * k(T))
    dead = beta_mean(lambda p: p * (1 - p) ** x * k(t_x))

    def buys(p):
        if p == 0:
            return (r + x) * t / (alpha + T)
        return (1 - p) ** (x + 1) * (k(T) - k(T + p * t)) / p

    return alive / (alive + dead), beta_mean(buys) / (alive + dead)


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("customer", CUSTOMERS)
def test_predictions_match_quadrature(params, customer) -> None:
    model = ModifiedBetaGeoModel.from_params(**dict(zip(("r", "alpha", "a", "b"), params,
                                                        strict=True)))
    x, t_x, T = customer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        alive, future = quad_conditional(params, x, t_x, T, 26.0)
    one = frame([x], [t_x], [T])
    # 1e-6: the quadrature's own accuracy for the heavy buyer, whose (1-p)^301 puts
    # all the mass next to p = 0
    assert model.p_alive(one).iloc[0] == pytest.approx(alive, rel=1e-6)
    assert model.expected_purchases(26.0, one).iloc[0] == pytest.approx(future, rel=1e-6)


def test_cdnow_predictions_match_quadrature_to_1e6(cdnow, cdnow_mbg) -> None:
    params = tuple(cdnow_mbg.params_.to_numpy())
    sample = cdnow.iloc[::50]
    got_alive = cdnow_mbg.p_alive(sample).to_numpy()
    got_future = cdnow_mbg.expected_purchases(39.0, sample).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        want = [quad_conditional(params, *row, 39.0)
                for row in sample[["frequency", "recency", "T"]].itertuples(index=False)]
    np.testing.assert_allclose(got_alive, [w[0] for w in want], rtol=1e-6)
    np.testing.assert_allclose(got_future, [w[1] for w in want], rtol=1e-6)


def test_cdnow_fit(cdnow, cdnow_mbg) -> None:
    # our optimum (no published MBG/NBD fit of CDNOW exists); the likelihood against the
    # naive formula, and MBG/NBD fits CDNOW at least as well as BG/NBD (-9582.43)
    assert cdnow_mbg.converged_ and cdnow_mbg.n_customers_ == 2357
    params = cdnow_mbg.params_.to_numpy()
    naive = sum(naive_loglik(*params, *row)
                for row in cdnow[["frequency", "recency", "T"]].itertuples(index=False))
    assert cdnow_mbg.log_likelihood_ == pytest.approx(naive, rel=1e-10)
    assert cdnow_mbg.log_likelihood_ > BetaGeoModel(time_unit="W").fit(cdnow).log_likelihood_
    assert cdnow_mbg.log_likelihood_ == pytest.approx(-9582.14, abs=0.01)


@pytest.mark.parametrize("params", PARAMS)
def test_population_expectation_matches_quadrature(params) -> None:
    r, alpha, a, b = params
    model = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    norm = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    for t in (5.0, 39.0, 78.0):
        def buys(p, t=t):  # (1-p) (1 - (alpha/(alpha+p t))^r) / p; limit r t / alpha at 0
            return r * t / alpha if p == 0 else (1 - p) * (1 - (alpha / (alpha + p * t)) ** r) / p

        want = integrate.quad(buys, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)[0] / norm
        assert model.expected_purchases_population(t) == pytest.approx(want, rel=1e-7)
    # a new customer is the case x = t_x = T = 0
    got = model.expected_purchases(13.0, frame([0], [0], [0])).iloc[0]
    assert got == pytest.approx(model.expected_purchases_population(13.0), rel=1e-9)


def test_probability_of_purchases_matches_simulation() -> None:
    model = ModifiedBetaGeoModel.from_params(r=0.5, alpha=5.0, a=0.8, b=2.0, time_unit="W")
    assert model.probability_of_purchases(np.arange(500), 39.0).sum() == pytest.approx(1.0)
    data = simulate_btyd(200_000, r=0.5, alpha=5.0, a=0.8, b=2.0, T_min=39, T_max=39,
                         model="mbgnbd", random_state=41)
    counts = np.bincount(data["frequency"].astype(int), minlength=4)[:4] / len(data)
    probs = model.probability_of_purchases(np.arange(4), 39.0)
    se = np.sqrt(probs * (1 - probs) / len(data))
    assert (np.abs(counts - probs) < 4 * se).all()
    # mean repeat purchases match the population expectation too
    mean, sd = data["frequency"].mean(), data["frequency"].std()
    assert abs(mean - model.expected_purchases_population(39.0)) < 4 * sd / math.sqrt(len(data))


def test_one_time_buyers_may_have_left() -> None:
    # BG/NBD's flaw: a customer without repeat purchases is alive for sure. MBG/NBD:
    # p_alive = 1 / (1 + a/b ((alpha+T)/alpha)^r), falling with silence (by hand)
    r, alpha, a, b = 0.5, 4.0, 0.8, 2.4
    model = ModifiedBetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    got = model.p_alive(frame([0, 0], [0, 0], [10, 40])).to_numpy()
    want = [1 / (1 + a / b * ((alpha + T) / alpha) ** r) for T in (10, 40)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[1] < got[0] < 1
    assert (BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
            .p_alive(frame([0, 0], [0, 0], [10, 40])) == 1).all()


TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.mark.parametrize("n_customers, seed", [(5_000, 42), (50_000, 43)])
def test_parameter_recovery(n_customers: int, seed: int) -> None:
    data = simulate_btyd(n_customers, **TRUE, model="mbgnbd", T_min=30, T_max=80,
                         random_state=seed)
    model = ModifiedBetaGeoModel(time_unit="W").fit(data)
    for name, value in TRUE.items():
        z = (model.params_[name] - value) / model.standard_errors_[name]
        assert abs(z) < 4, (name, model.params_[name], model.standard_errors_[name])


def test_p_alive_is_calibrated_on_simulated_customers() -> None:
    data = simulate_btyd(40_000, **TRUE, model="mbgnbd", return_latent=True, random_state=44)
    alive = ModifiedBetaGeoModel.from_params(**TRUE, time_unit="W").p_alive(data)
    assert alive.mean() == pytest.approx(data["is_alive"].mean(), abs=0.01)
    one_time = data["frequency"] == 0
    assert alive[one_time].mean() == pytest.approx(data.loc[one_time, "is_alive"].mean(),
                                                   abs=0.015)


def test_no_drop_out_warns() -> None:
    # simulated customers who almost never leave (a / (a + b) = 1e-4): MBG/NBD reads them
    # as a U-shaped Beta, a tenth who leave at once and the rest never, with a and b at
    # the lower edge of the search range, and says so
    data = simulate_btyd(4000, r=0.5, alpha=20.0, a=0.01, b=99.99, model="mbgnbd",
                         random_state=2)
    with pytest.warns(ModelWarning, match=r"ModifiedBetaGeoModel\.fit: parameter 'a' ran to "
                      r"the edge of the search range"):
        ModifiedBetaGeoModel().fit(data)
    # a fit whose mean drop-out is below NO_DROPOUT_BELOW warns that p_alive cannot rank
    model = ModifiedBetaGeoModel.from_params(r=0.5, alpha=20.0, a=0.001, b=10.0)
    assert model.mean_dropout_ == pytest.approx(0.001 / 10.001)
    with pytest.warns(ModelWarning, match=r"the fit finds almost no drop-out: the mean "
                      r"probability of leaving after a purchase, a / \(a \+ b\), is 0\.0001 "):
        model._after_fit("ModifiedBetaGeoModel.fit")
