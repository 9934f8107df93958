"""Tests of rfm_loyalty.btyd.BetaGeoBetaBinomModel (BG/BB), opportunity_summary, simulate_bgbb.

References: tests/reference/README.md (the donations table of Fader, Hardie & Shang
2010 and their estimates). Independent implementations written here: every
probability by brute-force enumeration of the model's two latent events (when the
customer left, and which opportunities they bought at), with math.lgamma only.
"""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty._btyd.bgbb import bgbb_loglik_terms
from rfm_loyalty._btyd.rows import compress
from rfm_loyalty.btyd import BetaGeoBetaBinomModel, opportunity_summary
from rfm_loyalty.datasets.simulate import simulate_bgbb
from rfm_loyalty.exceptions import InvalidParameterError, ModelFitError

REFERENCE = Path(__file__).resolve().parent / "reference"
# Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
# setting", Marketing Science 29(6), 1086-1108: the 1995 cohort of 11,104 first-time
# donors and their (x, t_x) over the 6 yearly opportunities 1996-2001.
DONATIONS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
DONATIONS_LL = -33225.6


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "donations_bgbb.csv")


@pytest.fixture(scope="module")
def donations_model(donations: pd.DataFrame) -> BetaGeoBetaBinomModel:
    return BetaGeoBetaBinomModel().fit(donations, weights=donations["count"])


def frame(x, t_x, n) -> pd.DataFrame:
    return pd.DataFrame({"frequency": np.asarray(x, float), "recency": np.asarray(t_x, float),
                         "n_periods": np.asarray(n, float)})


def test_donations_table_is_the_published_one(donations: pd.DataFrame) -> None:
    assert len(donations) == 22 and int(donations["count"].sum()) == 11_104
    assert (donations["n_periods"] == 6).all()
    assert donations.loc[donations["frequency"] == 0, "count"].tolist() == [3464]


def test_donations_match_fader_hardie_shang_2010(donations_model) -> None:
    # published to 3 decimals (parameters) and 1 decimal (log-likelihood)
    for name, value in DONATIONS.items():
        assert donations_model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert donations_model.log_likelihood_ == pytest.approx(DONATIONS_LL, abs=0.05)
    assert donations_model.n_customers_ == 11_104 and donations_model.n_rows_ == 22
    assert donations_model.bic_ == pytest.approx(
        4 * math.log(11_104) - 2 * donations_model.log_likelihood_)


# ------------------------------------------------------------- brute force
def log_beta(a, b) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def brute_joint(params, history: tuple[int, ...], alive_through: int) -> float:
    """P(purchase history over len(history) opportunities, alive at the first alive_through).

    p ~ Beta(alpha, beta), theta ~ Beta(gamma, delta): alive at opportunities
    1..alive_through, left at the start of the next (when alive_through < n).
    """
    alpha, beta, gamma, delta = params
    n = len(history)
    if any(history[alive_through:]):
        return 0.0
    x = sum(history)
    buy = math.exp(log_beta(alpha + x, beta + alive_through - x) - log_beta(alpha, beta))
    if alive_through == n:
        stay = math.exp(log_beta(gamma, delta + n) - log_beta(gamma, delta))
    else:
        stay = math.exp(log_beta(gamma + 1, delta + alive_through) - log_beta(gamma, delta))
    return buy * stay


def brute_likelihood(params, x: int, t_x: int, n: int) -> float:
    """Sum over every history with x purchases, the last at t_x, and every departure time."""
    total = 0.0
    for history in itertools.product((0, 1), repeat=n):
        last = max((i + 1 for i, h in enumerate(history) if h), default=0)
        if sum(history) != x or last != t_x:
            continue
        total += sum(brute_joint(params, history, k) for k in range(n + 1))
    return total / max(math.comb(t_x - 1, x - 1) if x else 1, 1)


bgbb_params = st.tuples(st.floats(0.2, 5), st.floats(0.2, 5), st.floats(0.2, 5),
                        st.floats(0.2, 10))
histories = st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 7)),
                     min_size=1, max_size=12)


def _valid(rows):
    out = []
    for a, b, c in rows:
        n = max(a, b, c)
        t_x = sorted((a, b, c))[1]
        x = min(a, b, c) if t_x else 0
        out.append((min(x, t_x) if t_x else 0, t_x, n))
    return out


@settings(max_examples=40, deadline=None)
@given(histories, bgbb_params)
def test_loglik_and_gradient_match_brute_force(rows, params) -> None:
    rows = _valid(rows)
    x, t_x, n = (np.array(c, float) for c in zip(*rows, strict=True))
    x = np.where(t_x > 0, np.maximum(x, 1), 0)
    data = compress(x, t_x, n, np.ones(len(rows)))
    ll, grad = bgbb_loglik_terms(np.log(params), data)
    # one history's probability: all histories with (x, t_x) are equally likely
    want = sum(math.log(brute_likelihood(params, int(a), int(b), int(c)))
               for a, b, c in zip(x, t_x, n, strict=True))
    assert float(data.weight @ ll) == pytest.approx(want, rel=1e-10, abs=1e-10)
    assert grad is not None
    for k in range(4):
        step = np.zeros(4)
        step[k] = 1e-6
        up = bgbb_loglik_terms(np.log(params) + step, data, with_gradient=False)[0]
        down = bgbb_loglik_terms(np.log(params) - step, data, with_gradient=False)[0]
        assert float(data.weight @ grad[:, k]) == pytest.approx(
            float(data.weight @ (up - down)) / 2e-6, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("customer", [(0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6), (2, 3, 4)])
def test_predictions_match_brute_force(donations_model, customer) -> None:
    params = tuple(donations_model.params_.to_numpy())
    x, t_x, n = customer
    one = frame([x], [t_x], [n])
    # alive at n + 1: survived the start of opportunity n + 1 too
    _, _, gamma, delta = params
    like = brute_likelihood(params, x, t_x, n)
    one_history = tuple([1] * x + [0] * (t_x - x)) + (0,) * (n - t_x)
    if x:  # any history with the last purchase at t_x
        one_history = tuple([1] * (x - 1) + [0] * (t_x - x) + [1] + [0] * (n - t_x))
    alive = brute_joint(params, one_history, n) * math.exp(
        log_beta(gamma, delta + n + 1) - log_beta(gamma, delta + n))
    assert donations_model.p_alive(one).iloc[0] == pytest.approx(alive / like, rel=1e-12)
    # expected purchases in the next 3 opportunities: enumerate the future
    expected = 0.0
    for future in itertools.product((0, 1), repeat=3):
        for stay in range(n, n + 4):
            expected += sum(future) * brute_joint(params, one_history + future, stay)
    assert donations_model.expected_purchases(3, one).iloc[0] == pytest.approx(
        expected / like, rel=1e-10)


def test_population_predictions_match_brute_force(donations_model) -> None:
    params = tuple(donations_model.params_.to_numpy())
    for n in (1, 3, 6):
        probs = np.zeros(n + 1)
        mean = 0.0
        for history in itertools.product((0, 1), repeat=n):
            p = sum(brute_joint(params, history, k) for k in range(n + 1))
            probs[sum(history)] += p
            mean += sum(history) * p
        np.testing.assert_allclose(donations_model.probability_of_purchases(np.arange(n + 1), n),
                                   probs, rtol=1e-10)
        assert donations_model.expected_purchases_population(n) == pytest.approx(mean, rel=1e-10)
    assert donations_model.probability_of_purchases(7, 6) == 0.0


def test_published_fit_reproduces_the_observed_distribution(donations) -> None:
    # donors by number of repeat donations: counted from the table, and expected under
    # the published estimates (the model fits the 1995 cohort closely)
    published = BetaGeoBetaBinomModel.from_params(**DONATIONS)
    observed = donations.groupby("frequency")["count"].sum().to_numpy()
    expected = 11_104 * published.probability_of_purchases(np.arange(7), 6)
    assert observed.tolist() == [3464, 1823, 1430, 1085, 1036, 1063, 1203]
    np.testing.assert_allclose(expected, observed, rtol=0.06)


def test_gamma_near_one_is_continuous() -> None:
    # the closed form of the expected future opportunities is 0/0 at gamma = 1
    one = frame([2], [3], [6])
    values = [BetaGeoBetaBinomModel.from_params(alpha=1.2, beta=0.8, gamma=g, delta=2.0)
              .expected_purchases(10, one).iloc[0] for g in (1 - 1e-6, 1.0, 1 + 1e-6)]
    np.testing.assert_allclose(values, values[1], rtol=1e-5)


# ------------------------------------------------------------- recovery and simulation
TRUE = DONATIONS


def test_parameter_recovery() -> None:
    data = simulate_bgbb(50_000, **TRUE, n_periods=8, random_state=51)
    model = BetaGeoBetaBinomModel().fit(data)
    for name, value in TRUE.items():
        z = (model.params_[name] - value) / model.standard_errors_[name]
        assert abs(z) < 4, (name, model.params_[name], model.standard_errors_[name])


def test_p_alive_is_calibrated_on_simulated_customers() -> None:
    data = simulate_bgbb(50_000, **TRUE, return_latent=True, random_state=52)
    model = BetaGeoBetaBinomModel.from_params(**TRUE)
    alive = model.p_alive(data)
    # alive at opportunity n + 1: alive at n and not leaving at the start of n + 1, which
    # a simulated customer does with their own probability 1 - theta
    alive_next = data["is_alive"] * (1 - data["dropout_probability"])
    assert alive.mean() == pytest.approx(alive_next.mean(), abs=0.005)
    bins = pd.qcut(alive, 5, duplicates="drop")
    np.testing.assert_allclose(alive_next.groupby(bins, observed=True).mean(),
                               alive.groupby(bins, observed=True).mean(), atol=0.02)


def test_simulator_output() -> None:
    data = simulate_bgbb(3000, n_periods=5, return_latent=True, random_state=3)
    assert list(data.columns) == ["frequency", "recency", "n_periods", "purchase_probability",
                                  "dropout_probability", "is_alive"]
    assert ((data["frequency"] <= data["recency"]) & (data["recency"] <= 5)).all()
    assert ((data["frequency"] == 0) == (data["recency"] == 0)).all()
    pd.testing.assert_frame_equal(data, simulate_bgbb(3000, n_periods=5, return_latent=True,
                                                      random_state=3))
    with pytest.raises(ValueError, match=r"simulate_bgbb: n_periods must be a whole number "
                       r">= 1; got 0"):
        simulate_bgbb(10, n_periods=0)


# ------------------------------------------------------------- errors
def test_invalid_tables_get_one_message_listing_every_rule() -> None:
    bad = frame([1, 3, 2, 0], [2, 2, 4, 1], [3, 3, 3, 3])
    with pytest.raises(ModelFitError, match=r"BetaGeoBetaBinomModel\.fit: the table is not a "
                       r"valid customer summary: \(1\) recency must be <= n_periods; got "
                       r"recency=4\.0 > n_periods=3\.0 \(1 customer\(s\), e\.g\. customer 2\); "
                       r"\(2\) frequency must be <= recency .* got frequency=3\.0 > "
                       r"recency=2\.0 .*; \(3\) a customer without purchases \(frequency 0\) "
                       r"must have recency 0; got recency=1\.0"):
        BetaGeoBetaBinomModel().fit(bad)
    with pytest.raises(ModelFitError, match=r"frequency must be <= n_periods \(at most one "
                       r"purchase counted per period\)"):
        BetaGeoBetaBinomModel().fit(frame([4], [4], [3]))
    with pytest.raises(ModelFitError, match=r"none of the 2 customers made a purchase"):
        BetaGeoBetaBinomModel().fit(frame([0, 0], [0, 0], [6, 6]))
    with pytest.raises(ValueError, match=r"periods must be a whole number >= 0; got 1\.5"):
        BetaGeoBetaBinomModel.from_params(**DONATIONS).expected_purchases(
            1.5, frame([1], [1], [6]))  # type: ignore[arg-type]


# ------------------------------------------------------------- opportunity_summary
def orders_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def test_opportunity_summary_by_hand_in_days() -> None:
    # as_of 2024-01-28: day 27 after 2024-01-01; weekly opportunities from each first day
    orders = orders_frame([
        ("a", "2024-01-01", 5.0),   # first purchase: period 0 (days 0-6)
        ("a", "2024-01-03", 5.0),   # still period 0: not an opportunity
        ("a", "2024-01-09", 5.0),   # day 8: opportunity 1
        ("a", "2024-01-10", 5.0),   # opportunity 1 again: counts once
        ("a", "2024-01-23", 5.0),   # day 22: opportunity 3
        ("b", "2024-01-20", 5.0),   # first; days 0..8 observed: period 0 complete, 1 not
        ("b", "2024-01-28", -9.0),  # a return, not a purchase
        ("c", "2024-01-15", 5.0),   # first, day 13 left: opportunity 1 complete
        ("c", "2024-01-27", 5.0),   # day 12: opportunity 1
    ])
    table = opportunity_summary(orders, period=7, as_of="2024-01-28")
    # a: (27+1)//7 - 1 = 3 opportunities; b: (8+1)//7 - 1 = 0; c: (13+1)//7 - 1 = 1
    expected = frame([2, 0, 1], [3, 0, 1], [3, 0, 1]).set_index(
        pd.Index(["a", "b", "c"], name="customer_id"))
    pd.testing.assert_frame_equal(table, expected)
    assert table.attrs == {"as_of": "2024-01-28", "period": 7}


def test_opportunity_summary_calendar_years_and_errors() -> None:
    orders = orders_frame([("a", "2019-06-01", 5.0), ("a", "2020-02-01", 5.0),
                           ("a", "2022-12-31", 5.0), ("b", "2021-01-01", 5.0),
                           ("b", "2023-03-01", 5.0), ("c", "2023-06-30", 5.0)])
    # as of 2023-06-30: 2023 is incomplete, so its purchase does not count
    table = opportunity_summary(orders, period="Y", as_of="2023-06-30")
    assert table.loc["a"].tolist() == [2.0, 3.0, 3.0]  # 2020, 2022 of 2020-2022
    assert table.loc["b"].tolist() == [0.0, 0.0, 1.0]  # 2022 only
    assert table.loc["c"].tolist() == [0.0, 0.0, 0.0]  # first bought in the open year
    with pytest.raises(InvalidParameterError, match=r"The 'period' parameter of "
                       r"opportunity_summary must be one of \['Y', 'Q', 'M', 'W'\]\. Got 'D'"):
        opportunity_summary(orders, period="D")
    with pytest.raises(InvalidParameterError, match=r"must be a whole number of days >= 1\. "
                       r"Got 0 instead; pass e\.g\. period=7"):
        opportunity_summary(orders, period=0)


def test_opportunity_summary_feeds_the_model() -> None:
    from rfm_loyalty.datasets import make_orders

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orders = make_orders(n_customers=2000, start="2020-01-01", end="2023-12-31",
                             random_state=7)
    table = opportunity_summary(orders, period="Q")
    model = BetaGeoBetaBinomModel().fit(table)
    assert model.converged_ and model.n_customers_ == len(table)
    assert model.n_rows_ < len(table)  # identical rows merged
    assert model.p_alive().between(0, 1).all()
