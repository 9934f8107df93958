"""Tests of rfm_loyalty.btyd (BG/NBD, Gamma-Gamma, CLV) and datasets.simulate.

Reference numbers and their provenance: tests/reference/README.md.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from sklearn.exceptions import NotFittedError

from rfm_loyalty._btyd import bgnbd as bg_lik
from rfm_loyalty._btyd import fitting
from rfm_loyalty._btyd import gammagamma as gg_lik
from rfm_loyalty._btyd.rows import compress
from rfm_loyalty.btyd import (
    DAYS_PER_MONTH,
    NO_DROPOUT_BELOW,
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
)
from rfm_loyalty.datasets.simulate import simulate_btyd
from rfm_loyalty.exceptions import (
    InvalidParameterError,
    ModelFitError,
    ModelWarning,
    SchemaError,
)

REFERENCE = Path(__file__).resolve().parent / "reference"
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"

# Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
# to the Pareto/NBD model", Marketing Science 24(2), 275-284, section 4: BG/NBD on
# the 2,357-customer CDNOW sample, 39-week calibration period, time in weeks.
CDNOW_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
CDNOW_BGNBD_LL = -9582.4
# Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (note), on the
# 946 CDNOW customers with at least one repeat purchase in the calibration period.
CDNOW_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def frame(x, t_x, T, m=None) -> pd.DataFrame:
    data = {"frequency": np.asarray(x, float), "recency": np.asarray(t_x, float),
            "T": np.asarray(T, float)}
    if m is not None:
        data["monetary_value"] = np.asarray(m, float)
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(REFERENCE / "cdnow_summary.csv", index_col="ID")
    return raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_bg(cdnow: pd.DataFrame) -> BetaGeoModel:
    return BetaGeoModel(time_unit="W").fit(cdnow)


@pytest.fixture(scope="module")
def cdnow_gg(cdnow: pd.DataFrame) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow)


# --------------------------------------------------------------- published values
def test_cdnow_bgnbd_matches_fader_hardie_lee_2005(cdnow_bg: BetaGeoModel) -> None:
    # published to 3 decimals: agree to half a unit in the last digit (+ rounding slack)
    for name, value in CDNOW_BGNBD.items():
        assert cdnow_bg.params_[name] == pytest.approx(value, abs=1e-3), name
    assert cdnow_bg.log_likelihood_ == pytest.approx(CDNOW_BGNBD_LL, abs=0.05)
    assert cdnow_bg.n_customers_ == 2357
    assert cdnow_bg.converged_


def test_cdnow_conditional_expectation_matches_paper(cdnow_bg: BetaGeoModel) -> None:
    # Worked example of the BG/NBD papers (see tests/reference/README.md): a customer
    # with x=2, t_x=30.43, T=38.86 is expected to make 1.226 purchases in the next 39
    # weeks; test_predictions_match_quadrature checks the same formula independently.
    one = frame([2], [30.43], [38.86])
    assert cdnow_bg.expected_purchases(39, one).iloc[0] == pytest.approx(1.226, abs=5e-4)


def test_cdnow_gamma_gamma_matches_fader_hardie_2013(
    cdnow: pd.DataFrame, cdnow_gg: GammaGammaModel
) -> None:
    # published to 2 decimals (their solver's optimum): 0.2% relative
    for name, value in CDNOW_GG.items():
        assert cdnow_gg.params_[name] == pytest.approx(value, rel=2e-3), name
    assert cdnow_gg.n_customers_ == 946
    assert cdnow_gg.n_excluded_ == {"no_repeat_purchase": 1411, "non_positive_spend": 0}
    # Pearson r of frequency and mean spend among the 946, computed from the reference
    # table with pandas: repeat[["x", "zbar"]].corr() = 0.1139 (below 0.3: no warning)
    assert cdnow_gg.frequency_spend_correlation_ == pytest.approx(0.1139, abs=1e-4)


def test_cdnow_gamma_gamma_raises_no_correlation_warning(cdnow: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        GammaGammaModel().fit(cdnow)


def test_cdnow_from_transactions_through_btyd_summary(cdnow: pd.DataFrame) -> None:
    # The raw CDNOW sample, through the library's own pipeline, rebuilds the
    # published summary table and so the published estimates.
    from rfm_loyalty.orders import prepare_orders
    from rfm_loyalty.summary import btyd_summary

    lines = pd.read_csv(REFERENCE / "cdnow_sample_transactions.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # orders after as_of are counted and dropped
        orders = prepare_orders(lines, as_of="1997-09-30", zero_amount="purchase")
    table = btyd_summary(orders, time_unit="W")
    table.index = table.index.astype(int)
    table = table.loc[cdnow.index]
    assert len(table) == 2357
    np.testing.assert_array_equal(table["frequency"], cdnow["frequency"])
    np.testing.assert_allclose(table["recency"], cdnow["recency"], atol=0.005)
    np.testing.assert_allclose(table["T"], cdnow["T"], atol=0.005)
    np.testing.assert_allclose(table["monetary_value"], cdnow["monetary_value"], atol=0.0051)
    model = BetaGeoModel().fit(table)
    assert model.time_unit_ == "W"  # read from btyd_summary's attrs
    assert model.days_per_unit_ == 7.0
    for name, value in CDNOW_BGNBD.items():
        assert model.params_[name] == pytest.approx(value, rel=2e-3), name


def test_standard_errors_match_naive_hessian(cdnow: pd.DataFrame, cdnow_bg: BetaGeoModel) -> None:
    # Independent check: Hessian of the total log-likelihood in the ORIGINAL
    # parameters by second differences of likelihood values only.
    x, t_x, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    theta = cdnow_bg.params_.to_numpy()

    def total(params: np.ndarray) -> float:
        return float(naive_bgnbd_loglik(*params, x, t_x, T).sum())

    h = 1e-4 * theta
    hess = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            hess[i, j] = (total(theta + ei + ej) - total(theta + ei - ej)
                          - total(theta - ei + ej) + total(theta - ei - ej)) / (4 * h[i] * h[j])
    naive_se = np.sqrt(np.diag(np.linalg.inv(-hess)))
    np.testing.assert_allclose(cdnow_bg.standard_errors_.to_numpy(), naive_se, rtol=1e-3)
    table = cdnow_bg.summary()
    assert list(table.columns) == ["estimate", "standard_error", "lower_95", "upper_95"]
    assert (table["lower_95"] < table["estimate"]).all()
    assert (table["estimate"] < table["upper_95"]).all()


# --------------------------------------------------------------- hand-checked values
def test_loglik_by_hand() -> None:
    # r = alpha = a = b = 1:
    # x=0, T=1:            L = 1 * B(1,1)/B(1,1) * 2^-1                = 1/2
    # x=1, t_x=1, T=2:     L = G(2)/G(1) * [B(1,2)/B(1,1) * 3^-2 + B(2,1)/B(1,1) * 2^-2]
    #                        = 1/2 * 1/9 + 1/2 * 1/4 = 1/18 + 1/8      = 13/72
    data = compress(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([1.0, 2.0]),
                              np.ones(2))
    ll, _ = bg_lik.bgnbd_loglik_terms(np.zeros(4), data)
    order = np.argsort(data.x)
    np.testing.assert_allclose(ll[order], [math.log(1 / 2), math.log(13 / 72)], rtol=1e-12)


def test_p_alive_by_hand() -> None:
    model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=1.0, b=1.0)
    # x=1, t_x=1, T=2: 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) = 1/(1 + 9/4) = 4/13
    # x=0: a customer without a repeat purchase cannot have dropped out
    got = model.p_alive(frame([1, 0], [1, 0], [2, 5]))
    np.testing.assert_allclose(got.to_numpy(), [4 / 13, 1.0], rtol=1e-12)
    assert got.name == "p_alive"


def test_population_expectation_by_hand() -> None:
    # r=1, alpha=1, a=2, b=1: E[X(t)] = 2 * (1 - ln(1+t)/t) (integrate (1/p)(1 - 1/(1+pt))
    # against the Beta(2,1) density 2p by hand).
    model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=2.0, b=1.0)
    for t in (0.5, 1.0, 10.0):
        assert model.expected_purchases_population(t) == pytest.approx(
            2 * (1 - math.log1p(t) / t), rel=1e-10)
    np.testing.assert_allclose(model.expected_purchases_population([0.5, 1.0]),
                               [2 * (1 - math.log1p(0.5) / 0.5), 2 * (1 - math.log(2))])
    assert model.expected_purchases_population(0.0) == 0.0


def test_new_customer_expectation_equals_population() -> None:
    # A customer observed for no time at all (x = t_x = T = 0) is a new customer.
    model = BetaGeoModel.from_params(r=0.5, alpha=3.0, a=0.7, b=2.0)
    for t in (1.0, 13.0, 52.0):
        got = model.expected_purchases(t, frame([0], [0], [0])).iloc[0]
        assert got == pytest.approx(model.expected_purchases_population(t), rel=1e-9)


def test_conditional_spend_by_hand() -> None:
    gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    got = gg.conditional_expected_spend(frame([2, 0], [1, 0], [5, 5], m=[22.35, 0.0]))
    # (gamma + m x) p / (p x + q - 1) = (15.44 + 44.7) * 6.25 / 15.24; population p g/(q-1)
    np.testing.assert_allclose(got.to_numpy(),
                               [60.14 * 6.25 / 15.24, 6.25 * 15.44 / 2.74], rtol=1e-12)


def test_clv_by_hand() -> None:
    bg = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=2.0, b=1.0, time_unit="D")
    gg = GammaGammaModel.from_params(p=2.0, q=3.0, gamma=10.0)  # mean spend 2*10/2 = 10
    data = frame([0], [0], [0], m=[0])
    clv = customer_lifetime_value(bg, gg, data, months=1, discount_rate_monthly=0.01)
    t = DAYS_PER_MONTH  # one month in days
    assert clv.iloc[0] == pytest.approx(2 * (1 - math.log1p(t) / t) * 10 / 1.01, rel=1e-10)
    assert clv.name == "clv"


# ------------------------------------------------- independent naive implementations
def naive_bgnbd_loglik(r, alpha, a, b, x, t_x, T):
    """FHL (2005) eq. 6 with plain gamma/beta functions (no logs until the end)."""
    out = np.empty(len(x))
    for i, (xi, ti, Ti) in enumerate(zip(x, t_x, T, strict=True)):
        xi = int(xi)
        front = math.exp(math.lgamma(r + xi) - math.lgamma(r)) * alpha**r
        beta_ab = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
        alive = (math.exp(math.lgamma(a) + math.lgamma(b + xi) - math.lgamma(a + b + xi))
                 / beta_ab * (alpha + Ti) ** -(r + xi))
        dead = 0.0
        if xi > 0:
            dead = (math.exp(math.lgamma(a + 1) + math.lgamma(b + xi - 1)
                             - math.lgamma(a + b + xi)) / beta_ab * (alpha + ti) ** -(r + xi))
        out[i] = math.log(front * (alive + dead))
    return out


customers = st.lists(
    st.tuples(st.integers(0, 12), st.floats(0, 1), st.floats(0.1, 80)), min_size=1, max_size=30
)
bg_params = st.tuples(st.floats(0.1, 5), st.floats(0.5, 50), st.floats(0.2, 5), st.floats(0.2, 10))


@settings(max_examples=60, deadline=None)
@given(customers, bg_params)
def test_loglik_and_gradient_match_naive(rows, params) -> None:
    x = np.array([r[0] for r in rows], float)
    T = np.array([r[2] for r in rows])
    t_x = np.where(x > 0, T * np.array([r[1] for r in rows]), 0.0)
    data = compress(x, t_x, T, np.ones(len(x)))
    ll, grad = bg_lik.bgnbd_loglik_terms(np.log(params), data)
    expected = naive_bgnbd_loglik(*params, x, t_x, T).sum()
    assert float(data.weight @ ll) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # gradient (log-parameters) against central differences of the naive sum
    assert grad is not None
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6
        up = naive_bgnbd_loglik(*np.exp(np.log(params) + step), x, t_x, T).sum()
        down = naive_bgnbd_loglik(*np.exp(np.log(params) - step), x, t_x, T).sum()
        assert float(data.weight @ grad[:, k]) == pytest.approx((up - down) / 2e-6,
                                                                rel=1e-4, abs=1e-5)


def quad_conditional(params, x, t_x, T, t):
    """p_alive and E[Y(t)] by integrating lambda analytically and p numerically.

    Given (lambda, p): alive-at-T likelihood (1-p)^x lambda^x e^{-lambda T}, dead
    p (1-p)^(x-1) lambda^x e^{-lambda t_x}; alive customers buy (1 - e^{-lambda p t})/p
    in the next t. The Gamma(r, alpha) integral over lambda is closed form, so this
    bypasses the hypergeometric function entirely.
    """
    r, alpha, a, b = params

    def k(s):  # int lambda^x e^{-lambda s} g(lambda) d lambda, up to a constant factor
        return ((alpha + T) / (alpha + s)) ** (r + x)  # scaled by (alpha+T)^(r+x): no underflow

    def beta_mean(g):  # E[g(p)], p ~ Beta(a, b); weight="alg" handles p^(a-1) at 0 exactly
        return integrate.quad(g, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)[0] / (
            math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)))

    alive = beta_mean(lambda p: (1 - p) ** x * k(T))
    dead = beta_mean(lambda p: p * (1 - p) ** (x - 1) * k(t_x)) if x else 0.0
    def buys(p):  # (1-p)^x [k(T) - k(T+pt)] / p, with its limit at p = 0
        if p == 0:
            return (r + x) * t / (alpha + T)
        return (1 - p) ** x * (k(T) - k(T + p * t)) / p

    future = beta_mean(buys)
    return alive / (alive + dead), future / (alive + dead)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (2.0, 10.0, 3.0, 1.5)])
@pytest.mark.parametrize("customer", [(0, 0.0, 30.0), (1, 2.0, 30.0), (5, 20.0, 35.0),
                                      (12, 38.0, 39.0)])
def test_predictions_match_quadrature(params, customer) -> None:
    model = BetaGeoModel.from_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    x, t_x, T = customer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        alive, future = quad_conditional(params, x, t_x, T, 26.0)
    one = frame([x], [t_x], [T])
    assert model.p_alive(one).iloc[0] == pytest.approx(alive, rel=1e-6)
    assert model.expected_purchases(26.0, one).iloc[0] == pytest.approx(future, rel=1e-5)


def test_cdnow_predictions_match_quadrature_to_1e6(cdnow, cdnow_bg) -> None:
    # every 50th CDNOW customer (48 of them), with the fitted parameters
    params = tuple(cdnow_bg.params_.to_numpy())
    sample = cdnow.iloc[::50]
    got_alive = cdnow_bg.p_alive(sample).to_numpy()
    got_future = cdnow_bg.expected_purchases(39.0, sample).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        want = [quad_conditional(params, *row, 39.0)
                for row in sample[["frequency", "recency", "T"]].itertuples(index=False)]
    np.testing.assert_allclose(got_alive, [w[0] for w in want], rtol=1e-6)
    np.testing.assert_allclose(got_future, [w[1] for w in want], rtol=1e-6)


def test_cdnow_conditional_spend_matches_quadrature_to_1e6(cdnow, cdnow_gg) -> None:
    # E[mean spend | x, m] = E[p / nu | x, m]: nu's posterior is proportional to
    # nu^(p x) e^(-nu m x) times its Gamma(q, gamma) prior; integrated numerically
    p, q, gamma = cdnow_gg.params_.to_numpy()
    sample = cdnow[cdnow["frequency"] > 0].iloc[::40]
    got = cdnow_gg.conditional_expected_spend(sample).to_numpy()
    want = []
    for x, m in sample[["frequency", "monetary_value"]].itertuples(index=False):
        shape, rate = p * x + q, gamma + m * x

        def posterior(nu, shape=shape, rate=rate):  # unnormalised, scaled at its mode
            mode = (shape - 1) / rate
            return math.exp((shape - 1) * (math.log(nu) - math.log(mode)) - rate * (nu - mode))

        norm = integrate.quad(posterior, 0, np.inf, limit=200, epsrel=1e-12)[0]
        mean = integrate.quad(lambda nu, f=posterior: p / nu * f(nu), 0, np.inf, limit=200,
                              epsrel=1e-12)[0]
        want.append(mean / norm)
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (2.0, 10.0, 3.0, 1.5)])
def test_population_expectation_matches_quadrature(params) -> None:
    r, alpha, a, b = params
    model = BetaGeoModel.from_params(r=r, alpha=alpha, a=a, b=b)
    norm = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    for t in (5.0, 39.0, 78.0):
        def buys(p, t=t):  # with its limit r t / alpha at p = 0
            return r * t / alpha if p == 0 else (1 - (alpha / (alpha + p * t)) ** r) / p

        want = integrate.quad(buys, 0, 1, weight="alg", wvar=(a - 1, b - 1), limit=200)[0] / norm
        assert model.expected_purchases_population(t) == pytest.approx(want, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(bg_params, st.lists(st.tuples(st.integers(0, 400), st.floats(0.001, 1),
                                     st.floats(0.01, 500)),
                           min_size=1, max_size=20))
def test_predictions_stay_finite_and_ordered(params, rows) -> None:
    # heavy buyers (x in the hundreds) once gave 0 * inf in the hypergeometric term
    model = BetaGeoModel.from_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    x = np.array([r[0] for r in rows], float)
    T = np.array([r[2] for r in rows])
    data = frame(x, np.where(x > 0, T * np.array([r[1] for r in rows]), 0.0), T)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        alive = model.p_alive(data)
        near, far = model.expected_purchases(10.0, data), model.expected_purchases(1000.0, data)
    assert alive.between(0, 1).all()
    assert np.isfinite(near).all() and np.isfinite(far).all()
    assert (near >= 0).all() and (far >= near * (1 - 1e-9)).all()


def test_repeat_buyers_need_a_positive_recency() -> None:
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(ModelFitError, match="frequency > 0\\) must have recency > 0; got "
                                            "frequency=3.0 with recency 0"):
        model.p_alive(frame(np.array([3.0]), np.array([0.0]), np.array([10.0])))


def test_heavy_buyer_matches_quadrature() -> None:
    params = (0.243, 4.414, 0.793, 2.426)
    model = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        alive, future = quad_conditional(params, 300, 38.0, 39.0, 52.0)
    one = frame([300], [38.0], [39.0])
    assert model.p_alive(one).iloc[0] == pytest.approx(alive, rel=1e-6)
    assert model.expected_purchases(52.0, one).iloc[0] == pytest.approx(future, rel=1e-5)


def test_expectations_are_finite_at_a_equal_one() -> None:
    # the formulas are 0/0 at a = 1; the limit is the same integral as elsewhere
    model = BetaGeoModel.from_params(r=0.5, alpha=5.0, a=1.0, b=2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        want_pop = integrate.quad(
            lambda p: 2.0 if p == 0 else (1 - (5 / (5 + p * 20)) ** 0.5) / p, 0, 1,  # r t/alpha
            weight="alg", wvar=(0, 1))[0] * 2  # Beta(1, 2) density is 2 (1 - p)
        _, future = quad_conditional((0.5, 5.0, 1.0, 2.0), 3, 10.0, 30.0, 20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert model.expected_purchases_population(20.0) == pytest.approx(want_pop, rel=1e-6)
        got = model.expected_purchases(20.0, frame([3], [10], [30])).iloc[0]
    assert got == pytest.approx(future, rel=1e-6)


def test_expectations_are_finite_when_a_plus_b_is_one() -> None:
    # 2F1(.; a + b - 1; .) has a pole at a + b = 1 for a customer without repeat
    # purchases (found by hypothesis with a = 0.8, b = 0.2); the expectation is
    # smooth there. With r = 1 its limit is z (1 - z)^(a - 1), z = t / (alpha + T + t).
    model = BetaGeoModel.from_params(r=1.0, alpha=1.0, a=0.8, b=0.2)
    z = 10.0 / (1.0 + 1.0 + 10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = model.expected_purchases(10.0, frame([0], [0], [1.0])).iloc[0]
        new = model.expected_purchases_population(10.0)
    assert got == pytest.approx(z * (1 - z) ** -0.2, rel=1e-6)
    # a new customer is the case T = 0: z = t / (alpha + t)
    assert new == pytest.approx(10 / 11 * (1 / 11) ** -0.2, rel=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 15), st.floats(0.5, 200), st.floats(0.3, 20), st.floats(1.2, 20),
       st.floats(1, 100))
def test_gamma_gamma_density_matches_quadrature(x, m, p, q, gamma) -> None:
    # mean spend m = S / x with S | nu ~ Gamma(p x, rate nu), nu ~ Gamma(q, rate gamma)
    def integrand(nu):
        return x * stats.gamma.pdf(m * x, p * x, scale=1 / nu) * stats.gamma.pdf(
            nu, q, scale=1 / gamma)

    # split at the mode and scale of the posterior Gamma(px+q, gamma+mx) of nu
    mode = (p * x + q - 1) / (gamma + m * x)
    spread = math.sqrt(p * x + q) / (gamma + m * x)
    cuts = [0.0, max(mode - 5 * spread, 0.0), mode, mode + 5 * spread, mode + 40 * spread, np.inf]
    want = sum(integrate.quad(integrand, lo, hi, limit=200, epsabs=0, epsrel=1e-11)[0]
               for lo, hi in itertools.pairwise(cuts) if hi > lo)
    data = gg_lik.gamma_gamma_data(np.array([float(x)]), np.array([m]), np.ones(1))
    ll, _ = gg_lik.gamma_gamma_loglik_terms(np.log([p, q, gamma]), data)
    assert math.exp(ll[0]) == pytest.approx(want, rel=1e-5, abs=1e-300)


def naive_gamma_gamma_loglik(p, q, gamma, x, m):
    """Fader & Hardie (2013) eq. 4, one customer at a time."""
    return sum(
        math.lgamma(p * xi + q) - math.lgamma(p * xi) - math.lgamma(q) + q * math.log(gamma)
        + (p * xi - 1) * math.log(mi) + p * xi * math.log(xi)
        - (p * xi + q) * math.log(gamma + mi * xi)
        for xi, mi in zip(x, m, strict=True))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 20), st.floats(0.5, 500)), min_size=1, max_size=30),
       st.tuples(st.floats(0.3, 20), st.floats(0.5, 20), st.floats(0.5, 200)))
def test_gamma_gamma_loglik_and_gradient_match_naive(rows, params) -> None:
    x = np.array([r[0] for r in rows], float)
    m = np.array([r[1] for r in rows])
    data = gg_lik.gamma_gamma_data(x, m, np.ones(len(x)))
    ll, grad = gg_lik.gamma_gamma_loglik_terms(np.log(params), data)
    assert float(ll.sum()) == pytest.approx(naive_gamma_gamma_loglik(*params, x, m), rel=1e-9)
    assert grad is not None
    for k in range(3):
        step = np.zeros(3)
        step[k] = 1e-6
        up = naive_gamma_gamma_loglik(*np.exp(np.log(params) + step), x, m)
        down = naive_gamma_gamma_loglik(*np.exp(np.log(params) - step), x, m)
        assert float(grad[:, k].sum()) == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-5)


# ------------------------------------------------------------- parameter recovery
# Tolerances: every estimate within 4 of its own standard errors of the truth at
# each size (a correct estimator fails this about once in 16,000 parameters), and
# at 100,000 customers within a fixed relative band (r 3%, alpha 6%, a 10%, b 15%;
# p 10%, q 5%, gamma 10%), about 3-4 standard errors at that size.
TRUE_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
REL_TOL = {"r": 0.03, "alpha": 0.06, "a": 0.10, "b": 0.15, "p": 0.10, "q": 0.05, "gamma": 0.10}


@pytest.mark.parametrize("n_customers, seed", [(2_000, 11), (20_000, 12), (100_000, 13)])
def test_parameter_recovery(n_customers: int, seed: int) -> None:
    data = simulate_btyd(n_customers, **TRUE_BG, **TRUE_GG, random_state=seed)
    bg = BetaGeoModel(time_unit="W").fit(data)
    gg = GammaGammaModel().fit(data)
    for model, truth in ((bg, TRUE_BG), (gg, TRUE_GG)):
        assert model.converged_
        for name, value in truth.items():
            z = (model.params_[name] - value) / model.standard_errors_[name]
            assert abs(z) < 4, (name, model.params_[name], model.standard_errors_[name])
            if n_customers >= 100_000:
                assert model.params_[name] == pytest.approx(value, rel=REL_TOL[name]), name


def test_p_alive_is_calibrated_on_simulated_customers() -> None:
    data = simulate_btyd(50_000, return_latent=True, random_state=5)
    model = BetaGeoModel().fit(data)
    alive = model.p_alive()
    # expected vs actual share alive, overall and among repeat buyers by p_alive decile
    assert alive.mean() == pytest.approx(data["is_alive"].mean(), abs=0.01)
    repeat = data["frequency"] > 0
    bins = pd.qcut(alive[repeat], 5, duplicates="drop")
    table = data.loc[repeat, "is_alive"].groupby(bins, observed=True).mean()
    predicted = alive[repeat].groupby(bins, observed=True).mean()
    np.testing.assert_allclose(table.to_numpy(), predicted.to_numpy(), atol=0.03)


def test_population_expectation_matches_simulation() -> None:
    data = simulate_btyd(200_000, T_min=39.0, T_max=39.0, random_state=6)
    model = BetaGeoModel.from_params(**TRUE_BG)
    mean, se = data["frequency"].mean(), data["frequency"].std() / math.sqrt(len(data))
    assert abs(model.expected_purchases_population(39.0) - mean) < 4 * se


# ------------------------------------------------------------- invariances
def test_weights_and_duplicates_are_equivalent() -> None:
    data = simulate_btyd(3_000, random_state=7)
    doubled = pd.concat([data, data])
    once = BetaGeoModel().fit(data, weights=np.full(len(data), 2.0))
    twice = BetaGeoModel().fit(doubled)
    np.testing.assert_allclose(once.params_, twice.params_, rtol=1e-6)
    assert once.log_likelihood_ == pytest.approx(twice.log_likelihood_, rel=1e-9)
    plain = BetaGeoModel().fit(data)
    assert once.log_likelihood_ == pytest.approx(2 * plain.log_likelihood_, rel=1e-9)
    np.testing.assert_allclose(once.params_, plain.params_, rtol=1e-4)
    gg2 = GammaGammaModel().fit(doubled)
    ggw = GammaGammaModel().fit(data, weights=np.full(len(data), 2.0))
    np.testing.assert_allclose(gg2.params_, ggw.params_, rtol=1e-6)


def test_compression_merges_identical_rows() -> None:
    data = frame([0, 0, 1, 1, 1, 2], [0, 0, 3, 3, 4, 5], [9, 9, 9, 9, 9, 9])
    x, t_x, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
    compressed = compress(x, t_x, T, np.ones(6))
    rows = sorted(zip(compressed.x, compressed.t_x, compressed.weight, strict=True))
    assert rows == [(0, 0, 2), (1, 3, 2), (1, 4, 1), (2, 5, 1)]


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_row_order_and_index_do_not_matter(seed: int) -> None:
    data = simulate_btyd(400, random_state=seed % 1000)
    if data["frequency"].sum() == 0:
        return
    shuffled = data.sample(frac=1.0, random_state=seed % 1000)
    with warnings.catch_warnings():
        # 400 customers sometimes show no sign of drop-out: a and b then run off
        # together along a flat ridge (with a ModelWarning), so compare the
        # likelihood and the predictions, which are identified, not a and b.
        warnings.simplefilter("ignore", ModelWarning)
        a = BetaGeoModel().fit(data)
        b = BetaGeoModel().fit(shuffled)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-7)
    pa = b.p_alive()
    assert pa.index.equals(shuffled.index)
    np.testing.assert_allclose(pa.sort_index(), a.p_alive(), atol=1e-3)
    assert ((pa >= 0) & (pa <= 1)).all()
    e13, e26 = b.expected_purchases(13.0), b.expected_purchases(26.0)
    assert (e13 >= 0).all() and (e26 >= e13 - 1e-12).all()


def test_input_is_not_mutated(cdnow: pd.DataFrame) -> None:
    data = cdnow.copy()
    data.attrs["time_unit"] = "W"
    before = data.copy()
    bg = BetaGeoModel().fit(data)
    gg = GammaGammaModel().fit(data)
    bg.p_alive(data)
    bg.expected_purchases(10, data)
    gg.conditional_expected_spend(data)
    customer_lifetime_value(bg, gg, data)
    pd.testing.assert_frame_equal(data, before)


# ------------------------------------------------------------- lifetime value
def test_clv_without_discount_telescopes(cdnow, cdnow_bg, cdnow_gg) -> None:
    clv = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=6, discount_rate_monthly=0)
    weeks = 6 * DAYS_PER_MONTH / 7
    want = cdnow_bg.expected_purchases(weeks, cdnow) * cdnow_gg.conditional_expected_spend(cdnow)
    np.testing.assert_allclose(clv.to_numpy(), want.to_numpy(), rtol=1e-10)
    assert clv.index.equals(cdnow.index)


def test_clv_month_length_is_a_parameter(cdnow, cdnow_bg, cdnow_gg) -> None:
    # lifetimes counts a month as 30 days; without discounting, CLV is expected purchases
    # over months * days_per_month days times the expected spend
    clv = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=12, days_per_month=30.0,
                                  discount_rate_monthly=0.0)
    want = cdnow_bg.expected_purchases(360 / 7, cdnow) * cdnow_gg.conditional_expected_spend(
        cdnow)
    np.testing.assert_allclose(clv.to_numpy(), want.to_numpy(), rtol=1e-10)
    default = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=12,
                                      discount_rate_monthly=0.0)
    assert (default > clv).all()  # 365.25 days buy more than 360
    with pytest.raises(InvalidParameterError, match=r"The 'days_per_month' parameter of "
                       r"customer_lifetime_value must be a finite number > 0\. Got 0"):
        customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, days_per_month=0)


def test_clv_from_every_purchase_model(cdnow, cdnow_gg) -> None:
    from rfm_loyalty.btyd import ModifiedBetaGeoModel, ParetoNBDModel

    for cls in (ModifiedBetaGeoModel, ParetoNBDModel):
        model = cls(time_unit="W").fit(cdnow)
        clv = customer_lifetime_value(model, cdnow_gg, cdnow, months=6, discount_rate_monthly=0)
        want = model.expected_purchases(6 * DAYS_PER_MONTH / 7, cdnow) * \
            cdnow_gg.conditional_expected_spend(cdnow)
        np.testing.assert_allclose(clv.to_numpy(), want.to_numpy(), rtol=1e-10)


def test_clv_same_in_days_and_weeks(cdnow, cdnow_bg, cdnow_gg) -> None:
    days = cdnow.assign(recency=cdnow["recency"] * 7, T=cdnow["T"] * 7)
    bg_days = BetaGeoModel(time_unit="D").fit(days)
    assert bg_days.params_["alpha"] == pytest.approx(7 * cdnow_bg.params_["alpha"], rel=1e-4)
    in_weeks = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow)
    in_days = customer_lifetime_value(bg_days, cdnow_gg, days)
    np.testing.assert_allclose(in_days.to_numpy(), in_weeks.to_numpy(), rtol=1e-3)


def test_clv_grows_with_months_and_falls_with_discount(cdnow, cdnow_bg, cdnow_gg) -> None:
    c12 = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=12)
    c24 = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=24)
    c12_0 = customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=12,
                                    discount_rate_monthly=0.0)
    assert (c24 >= c12).all() and (c12_0 >= c12).all()
    assert (c12 >= c12_0 / 1.01**12 - 1e-9).all()


# ------------------------------------------------------------- errors and warnings
@pytest.mark.parametrize(
    "data, message",
    [
        (frame([], [], []), r"none of the 0 customers|no customers to fit"),
        (frame([1, -1], [1, 0], [2, 2]), r"frequency must be >= 0; got -1\.0"),
        (frame([1, 1], [3, 1], [2, 2]), r"recency must be <= T .*recency=3\.0 > T=2\.0"),
        (frame([0, 1], [1, 1], [2, 2]), r"frequency 0 .* must have recency 0; got recency=1"),
        (frame([1.5], [1], [2]), r"must be a whole number; got 1\.5"),
        (frame([0, 0, 0], [0, 0, 0], [5, 6, 7]), r"none of the 3 customers made a repeat"),
        (frame([1, np.nan], [1, 0], [2, 2]), r"'frequency' has 1 missing or infinite"),
    ],
)
def test_bgnbd_fit_errors(data: pd.DataFrame, message: str) -> None:
    with pytest.raises(ModelFitError, match=message):
        BetaGeoModel().fit(data)


def test_schema_errors_name_the_column() -> None:
    bad = frame([1], [1], [2]).rename(columns={"recency": "recencey"})
    with pytest.raises(SchemaError, match=r"BetaGeoModel.fit needs the column 'recency', which is "
                       r"not in the input\. Columns found: \['frequency', 'recencey', 'T'\]\. "
                       r"Did you mean 'recencey'\?"):
        BetaGeoModel().fit(bad)
    with pytest.raises(SchemaError, match=r"needs a pandas DataFrame .* Got list instead"):
        BetaGeoModel().fit([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match=r"needs the column 'monetary_value'"):
        GammaGammaModel().fit(frame([1], [1], [2]))


def test_weights_errors() -> None:
    data = frame([1, 2], [1, 2], [3, 3])
    with pytest.raises(ModelFitError, match=r"weights has 3 values for 2 customers"):
        BetaGeoModel().fit(data, weights=[1, 1, 1])
    with pytest.raises(ModelFitError, match=r"weights must be finite and >= 0; got min=-1"):
        BetaGeoModel().fit(data, weights=[1, -1])


def test_time_unit_errors() -> None:
    data = frame([1, 0], [1, 0], [3, 3])
    data.attrs["time_unit"] = "W"
    with pytest.raises(ModelFitError, match=r"time_unit='D' disagrees with the data.*'W'"):
        BetaGeoModel(time_unit="D").fit(data)
    with pytest.raises(ModelFitError, match=r"time_unit must be 'D' \(days\) or 'W'.*'M'"):
        BetaGeoModel(time_unit="M").fit(frame([1], [1], [3]))
    with pytest.raises(InvalidParameterError, match=r"The 'n_starts' parameter of BetaGeoModel "
                       r"must be a whole number >= 1\. Got 0 instead; pass e\.g\. n_starts=4\."):
        BetaGeoModel(n_starts=0).fit(data)
    with pytest.raises(InvalidParameterError, match=r"The 'penalizer' parameter of BetaGeoModel "
                       r"must be a finite number >= 0\. Got -1\.0 instead"):
        BetaGeoModel(penalizer=-1.0).fit(data)


def test_gamma_gamma_errors_and_exclusions() -> None:
    with pytest.raises(ModelFitError, match=r"at least 2 repeat customers .* got 1 of 3"):
        GammaGammaModel().fit(frame([0, 1, 0], [0, 1, 0], [2, 2, 2], m=[0, 5, 0]))
    data = simulate_btyd(3_000, random_state=8)
    data.loc[data.index[data["frequency"] > 0][:3], "monetary_value"] = -1.0
    with pytest.warns(ModelWarning, match=r"3 repeat customer\(s\) with monetary_value <= 0"):
        gg = GammaGammaModel().fit(data)
    assert gg.n_excluded_["non_positive_spend"] == 3
    assert gg.n_customers_ == (data["frequency"] > 0).sum() - 3


def test_gamma_gamma_warns_on_correlated_spend() -> None:
    data = simulate_btyd(3_000, random_state=9)
    repeat = data["frequency"] > 0
    spend = data["monetary_value"].copy()
    # spend that grows with frequency violates the model's independence assumption
    data["monetary_value"] = spend * data["frequency"]
    with pytest.warns(ModelWarning, match=r"frequency and monetary_value are correlated "
                      r"\(Pearson r = 0\.807, \|r\| > 0\.3\) among the 1220 repeat customers"):
        gg = GammaGammaModel().fit(data)
    assert gg.frequency_spend_correlation_ == pytest.approx(0.807, abs=5e-4)
    assert repeat.sum() == 1220
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        GammaGammaModel(max_abs_correlation=0.9).fit(data)
    # stronger dependence drives q below 1: the population mean spend is infinite
    data["monetary_value"] = spend * data["frequency"] ** 2
    with pytest.warns(ModelWarning, match=r"q = 0\.744 <= 1, so the population mean spend is "
                      r"infinite"):
        gg = GammaGammaModel(max_abs_correlation=0.9).fit(data)
    assert gg.mean_spend_ == np.inf


def test_cdnow_has_drop_out_and_no_warning_about_it(cdnow: pd.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelWarning)
        bg = BetaGeoModel(time_unit="W").fit(cdnow)
    # a / (a + b) from the published a = 0.793, b = 2.426
    assert bg.mean_dropout_ == pytest.approx(0.793 / (0.793 + 2.426), rel=2e-3)


def test_no_drop_out_warns_that_p_alive_cannot_rank() -> None:
    # simulated customers who almost never leave: a / (a + b) = 1e-4
    data = simulate_btyd(4000, r=0.5, alpha=20.0, a=0.01, b=99.99, random_state=2)
    with pytest.warns(ModelWarning) as caught:
        bg = BetaGeoModel().fit(data)
    texts = [str(w.message) for w in caught]
    assert any(re.match(r"BetaGeoModel\.fit: the fit finds almost no drop-out: the mean "
                        r"probability of leaving after a repeat purchase, a / \(a \+ b\), is "
                        r".* p_alive is then close to 1 for nearly every customer", t)
               for t in texts), texts
    # the likelihood is flat along b there: the standard errors say so
    assert any("the standard errors are NaN" in t for t in texts), texts
    assert bg.mean_dropout_ < NO_DROPOUT_BELOW
    assert bg.p_alive().min() > 0.9


def test_optimiser_trouble_raises_and_bounds_warn() -> None:
    # e.g. 400 customers with no sign of drop-out: a and b grow together without end
    opt = fitting.OptimumResult(np.log([0.25, 5.1, 4e5, 2.2e6]), 1.0, False, "ABNORMAL", 4, 0,
                                ())
    with pytest.raises(ModelFitError, match=r"BetaGeoModel.fit: the optimiser did not converge: "
                       r"L-BFGS-B from 4 starting point\(s\) \(at most 500 iterations each\), "
                       r"0 of 4 reached a stationary point; the best stopped at r=0\.25, "
                       r"alpha=5\.1, a=4e\+05, b=2\.2e\+06 \('ABNORMAL'\)\. Try more starting "
                       r"points \(n_starts=8\), a small penalizer \(penalizer=0\.001\)"):
        fitting.check_optimum("BetaGeoModel.fit", ("r", "alpha", "a", "b"), opt,
                              tried="4 starting point(s)")
    at_edge = fitting.OptimumResult(np.array([0.0, 1.0, 15.0, 2.0]), 1.0, True, "", 4, 4, (2,))
    with pytest.warns(ModelWarning, match=r"parameter 'a' ran to the edge of the search range "
                      r"\(3\.27e\+06\); the data do not identify it") as caught:
        fitting.check_optimum("BetaGeoModel.fit", ("r", "alpha", "a", "b"), at_edge,
                              tried="4 starting point(s)")
    assert caught[0].filename == __file__  # points at the caller, not the library


def test_unfitted_models_raise_not_fitted() -> None:
    data = frame([1], [1], [2], m=[3])
    bg, gg = BetaGeoModel(), GammaGammaModel()
    for call in (bg.p_alive, lambda: bg.expected_purchases(1.0),
                 lambda: bg.expected_purchases_population(1.0), bg.summary):
        with pytest.raises(NotFittedError, match=r"BetaGeoModel instance is not fitted yet"):
            call()
    with pytest.raises(NotFittedError, match=r"GammaGammaModel instance is not fitted yet"):
        gg.conditional_expected_spend(data)
    with pytest.raises(NotFittedError, match=r"not fitted yet"):
        customer_lifetime_value(bg, gg, data)
    assert "n_starts=4" in repr(bg)


def test_prediction_argument_errors(cdnow, cdnow_bg, cdnow_gg) -> None:
    with pytest.raises(ValueError, match=r"t must be a finite number >= 0 .*got -1"):
        cdnow_bg.expected_purchases(-1)
    with pytest.raises(ValueError, match=r"t must be finite and >= 0; got \[1, -2\]"):
        cdnow_bg.expected_purchases_population([1, -2])
    with pytest.raises(ValueError, match=r"The 'months' parameter of customer_lifetime_value "
                       r"must be a whole number >= 1\. Got 1\.5 instead"):
        customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, months=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"The 'discount_rate_monthly' parameter of "
                       r"customer_lifetime_value must be a finite number >= 0\. Got -0\.1"):
        customer_lifetime_value(cdnow_bg, cdnow_gg, cdnow, discount_rate_monthly=-0.1)
    with pytest.raises(TypeError, match=r"needs a purchase model \(BetaGeoModel, "
                       r"ModifiedBetaGeoModel or ParetoNBDModel\) and a GammaGammaModel; "
                       r"got GammaGammaModel and BetaGeoModel"):
        customer_lifetime_value(cdnow_gg, cdnow_bg, cdnow)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"holds no data \(built with from_params or "
                       r"from_dict\); pass data="):
        BetaGeoModel.from_params(r=1, alpha=1, a=1, b=1).p_alive()
    with pytest.raises(ValueError, match=r"alpha must be a number > 0; got -2"):
        BetaGeoModel.from_params(r=1, alpha=-2, a=1, b=1)
    assert "2,357 customers" in repr(cdnow_bg) and "946 repeat customers" in repr(cdnow_gg)


# ------------------------------------------------------------- real data
@pytest.mark.slow
def test_real_data_end_to_end() -> None:
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA} (see shared/data/README.md)")
    from rfm_loyalty.orders import OrderColumns, prepare_orders
    from rfm_loyalty.summary import btyd_summary

    lines = pd.read_csv(REAL_DATA, dtype={"CustomerID": str, "InvoiceNo": str,
                                          "StockCode": str})
    columns = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                           unit_price="UnitPrice", order_id="InvoiceNo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lines without a customer are counted and dropped
        orders = prepare_orders(lines, columns)
    table = btyd_summary(orders)
    # a year of mostly wholesale buyers: almost no drop-out, a / (a + b) = 0.0005
    with pytest.warns(ModelWarning, match=r"the fit finds almost no drop-out: .* is 0\.00051 "):
        bg = BetaGeoModel().fit(table)
    assert bg.mean_dropout_ == pytest.approx(0.00051, abs=5e-6)
    assert bg.time_unit_ == "D" and bg.converged_
    assert bg.n_customers_ == len(table) == 4338
    assert np.isfinite(bg.standard_errors_).all()
    assert bg.p_alive().between(0, 1).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)  # spend may correlate with frequency
        gg = GammaGammaModel().fit(table)
    clv = customer_lifetime_value(bg, gg, table)
    assert clv.index.equals(table.index) and (clv >= 0).all() and np.isfinite(clv).all()


@pytest.mark.parametrize(("a", "b", "c", "z"),
                         [(1.0, 1.0, 101.0, 0.998), (1.0, 1.0, 103.0, 0.999),
                          (0.5, 2.0, 5.0, 0.5)])
def test_hypergeometric_fallback_matches_euler_integral(a, b, c, z) -> None:
    # scipy's hyp2f1 gives inf/NaN in the first two cases (the third is an ordinary one);
    # Euler's integral (valid for c > b > 0) gives the value independently
    from scipy.special import hyp2f1

    from rfm_loyalty._btyd.special import scaled_hyp2f1

    if c > 100:
        assert not np.isfinite(hyp2f1(a, b, c, z))  # the case the fallback exists for

    norm = math.exp(math.lgamma(c) - math.lgamma(b) - math.lgamma(c - b))
    want = norm * integrate.quad(lambda u: u ** (b - 1) * (1 - u) ** (c - b - 1)
                                 * (1 - z * u) ** (-a), 0, 1, limit=400)[0]
    assert float(scaled_hyp2f1(a, b, c, z)) == pytest.approx(want, rel=1e-8)
    # a tiny scale times a huge series: the product, not an overflow
    assert float(scaled_hyp2f1(a, b, c, z, -50.0)) == pytest.approx(want * math.exp(-50),
                                                                      rel=1e-8)
