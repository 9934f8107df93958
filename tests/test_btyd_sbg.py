"""Tests of rfm_loyalty.btyd.ShiftedBetaGeometricModel (sBG), the survivor helpers, simulate_sbg.

References: tests/reference/README.md. Fader & Hardie (2007), "How to project
customer retention", Journal of Interactive Marketing 21(1), 76-90: survivors of
two cohorts of 1,000 customers over years 0-7 and the sBG fits to them.
Independent implementations written here: the likelihood by explicit sums over
the cohort, and DERL by summing discounted survival probabilities.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty.btyd import (
    ShiftedBetaGeometricModel,
    survivors_from_orders,
    survivors_from_renewals,
)
from rfm_loyalty.datasets.simulate import simulate_sbg
from rfm_loyalty.exceptions import (
    InvalidParameterError,
    ModelFitError,
    ModelWarning,
    SchemaError,
)

# Fader & Hardie (2007), table 1 (years 0-7) and the fits of section 4
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR_FIT = {"alpha": 0.704, "beta": 1.182}
HIGH_END_FIT = {"alpha": 0.668, "beta": 3.806}


@pytest.mark.parametrize("survivors, fit, ll", [(REGULAR, REGULAR_FIT, -1680.3),
                                                (HIGH_END, HIGH_END_FIT, -1611.2)])
def test_matches_fader_hardie_2007(survivors, fit, ll) -> None:
    model = ShiftedBetaGeometricModel().fit(survivors)
    for name, value in fit.items():  # published to 3 decimals
        assert model.params_[name] == pytest.approx(value, abs=5e-4), name
    assert model.log_likelihood_ == pytest.approx(ll, abs=0.05)  # published to 1 decimal
    assert model.n_customers_ == 1000 and model.n_cohorts_ == 1 and model.n_periods_ == 7
    assert model.aic_ == pytest.approx(4 - 2 * model.log_likelihood_)


def naive_loglik(alpha, beta, survivors) -> float:
    """Sum over years of (churners) log P(T = t) + (survivors at the end) log S(t)."""
    def prob(t):  # P(T = t) by the recursion of FH 2007, eq. 3
        p = alpha / (alpha + beta)
        for i in range(2, t + 1):
            p *= (beta + i - 2) / (alpha + beta + i - 1)
        return p

    total = 0.0
    for t in range(1, len(survivors)):
        total += (survivors[t - 1] - survivors[t]) * math.log(prob(t))
    survive = 1.0 - sum(prob(t) for t in range(1, len(survivors)))
    return total + survivors[-1] * math.log(survive)


def test_loglik_matches_naive_and_cohorts_add_up() -> None:
    model = ShiftedBetaGeometricModel().fit(REGULAR)
    a, b = model.params_.to_numpy()
    assert model.log_likelihood_ == pytest.approx(naive_loglik(a, b, REGULAR), rel=1e-12)
    # two cohorts of different ages: the log-likelihood is the sum of the two
    both = pd.DataFrame([REGULAR, HIGH_END[:5] + [np.nan] * 3], index=["regular", "young"])
    joint = ShiftedBetaGeometricModel().fit(both)
    a, b = joint.params_.to_numpy()
    want = naive_loglik(a, b, REGULAR) + naive_loglik(a, b, HIGH_END[:5])
    assert joint.log_likelihood_ == pytest.approx(want, rel=1e-12)
    assert joint.n_customers_ == 2000 and joint.n_cohorts_ == 2 and joint.n_periods_ == 7


def test_survival_retention_and_churn_by_hand() -> None:
    model = ShiftedBetaGeometricModel.from_params(alpha=1.0, beta=1.0)
    # alpha = beta = 1 (theta uniform): S(t) = 1/(t+1), r(t) = t/(t+1), P(T=t) = 1/(t(t+1))
    np.testing.assert_allclose(model.survival([0, 1, 3]), [1, 1 / 2, 1 / 4])
    np.testing.assert_allclose(model.retention_rate([1, 2, 9]), [1 / 2, 2 / 3, 9 / 10])
    np.testing.assert_allclose(model.churn_probability([1, 2]), [1 / 2, 1 / 6])
    customers = pd.Series([0, 2], index=["a", "b"])
    assert model.survival(customers).index.tolist() == ["a", "b"]
    projected = model.expected_survivors(1000, 3)
    assert projected.tolist() == pytest.approx([1000, 500, 1000 / 3, 250])
    assert projected.index.name == "period" and projected.name == "expected_survivors"


def test_derl_matches_discounted_sums() -> None:
    model = ShiftedBetaGeometricModel.from_params(alpha=0.704, beta=1.182)
    a, b = 0.704, 1.182

    def survival(t):
        return math.exp(math.lgamma(b + t) - math.lgamma(a + b + t)
                        - math.lgamma(b) + math.lgamma(a + b))

    for renewals in (0, 1, 4, 10):
        n = renewals + 1
        # FH 2010: sum_{t >= n} S(t)/S(n-1) / (1+d)^(t-n), summed far enough out
        want = sum(survival(t) / survival(n - 1) / 1.1 ** (t - n) for t in range(n, n + 600))
        got = model.discounted_residual_lifetime(renewals, discount_rate=0.1)
        assert got == pytest.approx(want, rel=1e-10)
    new = sum(survival(t) / 1.1 ** t for t in range(600))  # DEL counts the first payment
    assert model.expected_lifetime_value(payment=1.0, discount_rate=0.1) == pytest.approx(new)
    # alpha < 1: the undiscounted residual lifetime is infinite; alpha > 1: (beta+n-1)/(alpha-1)
    assert model.expected_residual_lifetime(3) == math.inf
    heavy = ShiftedBetaGeometricModel.from_params(alpha=3.0, beta=2.0)
    assert heavy.expected_residual_lifetime(3) == pytest.approx((2.0 + 3) / 2.0)


def test_residual_value_keeps_the_index_and_scales_with_payment() -> None:
    model = ShiftedBetaGeometricModel.from_params(alpha=0.704, beta=1.182)
    renewals = pd.Series([0, 4, 4], index=["x", "y", "z"])
    value = model.residual_value(renewals, payment=[10.0, 10.0, 20.0], discount_rate=0.1)
    assert value.name == "residual_value" and value.index.tolist() == ["x", "y", "z"]
    derl = model.discounted_residual_lifetime(renewals, discount_rate=0.1)
    np.testing.assert_allclose(value, derl * [10, 10, 20])
    assert value["z"] == pytest.approx(2 * value["y"])
    assert value["y"] > value["x"]  # customers who stayed longer are worth more
    with pytest.raises(InvalidParameterError, match=r"The 'discount_rate' parameter of "
                       r"ShiftedBetaGeometricModel.discounted_residual_lifetime must be a "
                       r"finite number >= 0\. Got -0\.1"):
        model.residual_value(1, discount_rate=-0.1)
    with pytest.raises(ValueError, match=r"periods must be whole numbers >= 0; got -1"):
        model.discounted_residual_lifetime(-1)


def test_parameter_recovery() -> None:
    cohorts = pd.DataFrame([simulate_sbg(20_000, n_periods=k, random_state=60 + k)
                            .reindex(range(9)) for k in (4, 6, 8)])
    model = ShiftedBetaGeometricModel().fit(cohorts)
    for name, value in REGULAR_FIT.items():
        z = (model.params_[name] - value) / model.standard_errors_[name]
        assert abs(z) < 4, (name, model.params_[name], model.standard_errors_[name])
    assert model.n_cohorts_ == 3 and model.n_customers_ == 60_000


def test_invalid_counts_get_one_message() -> None:
    bad = pd.DataFrame([[100, 120, 90], [50, np.nan, 20]], index=["a", "b"])
    with pytest.raises(ModelFitError, match=r"ShiftedBetaGeometricModel\.fit: invalid survivor "
                       r"counts: missing counts before observed ones .* \(1 cohort\(s\), e\.g\. "
                       r"'b'\); survivors that grow with age .* \(1 cohort\(s\), e\.g\. 'a'\)"):
        ShiftedBetaGeometricModel().fit(bad)
    with pytest.raises(ModelFitError, match=r"the columns of a cohort table must be the ages "
                       r"0, 1, 2, \.\.\. in order; got \['1', '2'\]"):
        ShiftedBetaGeometricModel().fit(pd.DataFrame({1: [10], 2: [5]}))
    with pytest.raises(ModelFitError, match=r"needs at least one cohort observed at ages 0 "
                       r"and 1"):
        ShiftedBetaGeometricModel().fit([100])
    with pytest.raises(ModelFitError, match=r"no customer left in any cohort"):
        ShiftedBetaGeometricModel().fit([100, 100, 100])
    with pytest.raises(ModelFitError, match=r"negative or non-whole counts"):
        ShiftedBetaGeometricModel().fit([100, 50.5, 20])


# ------------------------------------------------------------- survivors_from_*
def test_survivors_from_renewals_by_hand() -> None:
    records = pd.DataFrame({
        "member": ["a", "a", "a", "b", "c", "c", "d"],
        "year": [2020, 2021, 2022, 2020, 2021, 2022, 2022],
        "kept": [True, True, False, False, True, True, True],
    })
    table = survivors_from_renewals(records, customer="member", period="year", renewed="kept")
    # cohort 2020 (a, b): 2 at age 0; a renewed at ages 0 and 1, left at 2 -> 1, 1, 0
    # cohort 2021 (c): renewed twice, still active at age 2; observed to age 2022-2021+1 = 2
    # cohort 2022 (d): renewed at age 0 -> active at age 1
    want = pd.DataFrame([[2, 1, 1, 0], [1, 1, 1, np.nan], [1, 1, np.nan, np.nan]],
                        index=pd.Index([2020, 2021, 2022], name="cohort"),
                        columns=pd.RangeIndex(4, name="age"), dtype="float64")
    pd.testing.assert_frame_equal(table, want)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)  # 4 customers pin nothing down
        model = ShiftedBetaGeometricModel().fit(table)  # a valid input for the model
    assert model.n_customers_ == 4 and model.n_cohorts_ == 3


def test_survivors_from_renewals_refuses_impossible_histories() -> None:
    def records(customer, period, renewed):
        return pd.DataFrame({"customer_id": customer, "period": period, "renewed": renewed})

    with pytest.raises(SchemaError, match=r"a decision after a non-renewal"):
        survivors_from_renewals(records(["a", "a"], [1, 2], [False, True]))
    with pytest.raises(SchemaError, match=r"the same customer and period twice"):
        survivors_from_renewals(records(["a", "a"], [1, 1], [True, True]))
    with pytest.raises(SchemaError, match=r"a renewal not followed by the next period"):
        survivors_from_renewals(records(["a", "a", "b"], [1, 3, 3], [True, True, True]))
    with pytest.raises(SchemaError, match=r"survivors_from_renewals needs the column 'renewed', "
                       r"which is not in the input"):
        survivors_from_renewals(pd.DataFrame({"customer_id": ["a"], "period": [1]}))
    with pytest.raises(SchemaError, match=r"column 'renewed' must be True/False"):
        survivors_from_renewals(records(["a"], [1], ["yes"]))


def test_survivors_from_orders_by_hand() -> None:
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "b", "c", "c", "c", "d"],
        "order_date": ["2021-01-05", "2021-03-01", "2021-07-01", "2022-02-01",
                       "2024-02-01", "2024-06-30", "2024-03-01"],
        "amount": [9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0],
    })
    # as of 2024-06-30: 2024 is not complete; a yearly table ends with 2023
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yearly = survivors_from_orders(orders, period="Y")
    # cohort 2021: a and b, both last paid in 2021 -> 2, 0, 0; observed ages 0..2
    # cohort 2022: c, last paid 2024 (counted as alive to 2023, the last complete year)
    want = pd.DataFrame([[2, 0, 0], [1, 1, np.nan]],
                        index=pd.PeriodIndex(["2021", "2022"], freq="Y", name="cohort"),
                        columns=pd.RangeIndex(3, name="age"), dtype="float64")
    pd.testing.assert_frame_equal(yearly, want)
    quarterly = survivors_from_orders(orders, period="Q")
    assert quarterly.index[0] == pd.Period("2021Q1", freq="Q")
    assert quarterly.iloc[0, :3].tolist() == [1.0, 0.0, 0.0]  # a: Q1 only
    with pytest.raises(InvalidParameterError, match=r"The 'period' parameter of "
                       r"survivors_from_orders must be one of \['Y', 'Q', 'M', 'W'\]"):
        survivors_from_orders(orders, period=7)  # type: ignore[arg-type]


def test_simulator_output() -> None:
    survivors = simulate_sbg(5000, n_periods=5, random_state=1)
    assert survivors.index.tolist() == list(range(6)) and survivors.iloc[0] == 5000
    assert (np.diff(survivors.to_numpy()) <= 0).all() and survivors.dtype == "int64"
    model = ShiftedBetaGeometricModel().fit(survivors)
    expected = model.expected_survivors(5000, 5)
    np.testing.assert_allclose(expected, survivors, rtol=0.05)
