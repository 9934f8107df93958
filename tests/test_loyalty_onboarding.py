"""Tests of rfm_loyalty.loyalty.second_purchase and its Kaplan-Meier curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import OrderColumns
from rfm_loyalty._loyalty.onboarding import kaplan_meier
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.loyalty import SecondPurchase, second_purchase

from .helpers import quiet_prepare

ROWS = [
    ("a", "2024-01-05"), ("a", "2024-01-25"),  # T = 20
    ("b", "2024-01-20"),  # no second purchase: censored at 101 days
    ("c", "2024-02-10"), ("c", "2024-04-20"),  # T = 70
    ("d", "2024-03-15"), ("d", "2024-03-15"), ("d", "2024-04-10"),  # same-day order: T = 26
    ("e", "2024-04-15"),  # censored at 15
    ("f", "2024-04-01"), ("f", "2024-04-30"),  # T = 29, but its 30-day window is still open
]


def _orders():
    frame = pd.DataFrame(ROWS, columns=["customer_id", "order_date"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    frame["amount"] = 10.0
    frame["order_id"] = np.arange(len(frame))
    return quiet_prepare(frame, OrderColumns(order_id="order_id"))


def test_cohort_rates_count_only_closed_windows() -> None:
    result = second_purchase(_orders(), within_days=(30, 60))
    assert isinstance(result, SecondPurchase)
    expected = pd.DataFrame(
        {
            "new_customers": [2, 1, 1, 2],
            "closed_30d": [2, 1, 1, 0],  # e (15 days) and f (29 days) are still open
            "repeat_30d": [1, 0, 1, 0],
            "rate_30d": [0.5, 0.0, 1.0, np.nan],
            "closed_60d": [2, 1, 0, 0],  # d was acquired 46 days before as_of
            "repeat_60d": [1, 0, 0, 0],
            "rate_60d": [0.5, 0.0, np.nan, np.nan],
        },
        index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03", "2024-04"], freq="M",
                             name="cohort"),
    )
    pd.testing.assert_frame_equal(result.cohorts, expected)
    overall = result.overall
    assert (overall["closed_30d"], overall["repeat_30d"], overall["rate_30d"]) == (4, 2, 0.5)
    assert overall["rate_60d"] == pytest.approx(1 / 3)
    # Kaplan-Meier uses everyone: S = 4/5, 3/5, 2/5 after the events at 20, 26, 29
    assert overall["km_30d"] == pytest.approx(0.6)
    assert overall["km_60d"] == pytest.approx(0.6)
    assert "window has closed" in str(result)
    assert result.within_days == (30, 60) and result.by == "M"


def test_curve_by_hand() -> None:
    curve = second_purchase(_orders(), within_days=(30,)).curve
    everyone = curve[curve["cohort"] == "all"].reset_index(drop=True)
    assert everyone["days"].tolist() == [0, 15, 20, 26, 29, 70, 101]
    assert everyone["at_risk"].tolist() == [6, 6, 5, 4, 3, 2, 1]
    assert everyone["events"].tolist() == [0, 0, 1, 1, 1, 1, 0]
    assert everyone["censored"].tolist() == [0, 1, 0, 0, 0, 0, 1]
    np.testing.assert_allclose(everyone["survival"], [1, 1, 0.8, 0.6, 0.4, 0.2, 0.2])
    np.testing.assert_allclose(everyone["repurchased"], [0, 0, 0.2, 0.4, 0.6, 0.8, 0.8])
    # Greenwood at t = 20: V = 1 / (5 * 4); log(-log) band (values from lifelines 0.30,
    # KaplanMeierFitter().fit([15, 20, 26, 29, 70, 101], [0, 1, 1, 1, 1, 0]))
    np.testing.assert_allclose(everyone["lower"].iloc[2:5], [0.203809, 0.125730, 0.051976],
                               atol=1e-6)
    np.testing.assert_allclose(everyone["upper"].iloc[2:5], [0.969180, 0.881756, 0.752816],
                               atol=1e-6)
    assert set(curve["cohort"]) == {"all", "2024-01", "2024-02", "2024-03", "2024-04"}
    january = curve[curve["cohort"] == "2024-01"]
    assert january["days"].tolist() == [0, 20, 101]
    np.testing.assert_allclose(january["survival"], [1.0, 0.5, 0.5])


def _naive_km(duration, event, z=1.959963984540054):
    rows = []
    s, v = 1.0, 0.0
    for t in sorted({0, *duration}):
        n = sum(1 for d in duration if d >= t)
        d = sum(1 for d, e in zip(duration, event, strict=True) if d == t and e)
        if d:
            s *= 1 - d / n
            v = v + d / (n * (n - d)) if n > d else np.inf
        if 0 < s < 1:
            c = np.log(-np.log(s))
            half = z * np.sqrt(v) / abs(np.log(s))
            low, high = np.exp(-np.exp(c + half)), np.exp(-np.exp(c - half))
        else:
            low = high = 1.0 if s == 1 else 0.0
        rows.append((t, n, d, s, low, high))
    return pd.DataFrame(rows, columns=["days", "at_risk", "events", "survival", "lower", "upper"])


SAMPLES = st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None)
@given(SAMPLES)
def test_kaplan_meier_agrees_with_a_naive_product_limit(rows) -> None:
    duration = np.array([d for d, _ in rows])
    event = np.array([e and d > 0 for d, e in rows])
    got = kaplan_meier(duration, event)
    expected = _naive_km(duration.tolist(), event.tolist())
    assert got["days"].tolist() == expected["days"].tolist()
    assert got["at_risk"].tolist() == expected["at_risk"].tolist()
    assert got["events"].tolist() == expected["events"].tolist()
    for column in ("survival", "lower", "upper"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, err_msg=column)


def test_kaplan_meier_agrees_with_lifelines() -> None:
    # lifelines 0.30.3 declares pandas < 3; pip picks 0.30.0 there, which runs on pandas 3
    lifelines = pytest.importorskip("lifelines", reason="lifelines is a dev dependency")
    rng = np.random.default_rng(5)
    duration = rng.integers(1, 200, 500)
    event = rng.uniform(size=500) < 0.6
    ours = kaplan_meier(duration, event, confidence=0.9).set_index("days")
    fitter = lifelines.KaplanMeierFitter(alpha=0.1).fit(duration, event)
    theirs = fitter.survival_function_["KM_estimate"]
    band = fitter.confidence_interval_
    assert list(theirs.index.astype(int)) == list(ours.index)
    np.testing.assert_allclose(ours["survival"], theirs.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["lower"], band["KM_estimate_lower_0.9"], rtol=1e-9)
    np.testing.assert_allclose(ours["upper"], band["KM_estimate_upper_0.9"], rtol=1e-9)
    table = fitter.event_table
    np.testing.assert_array_equal(ours["at_risk"], table["at_risk"].to_numpy())
    np.testing.assert_array_equal(ours["events"], table["observed"].to_numpy())


def test_same_rates_from_the_curve_where_nobody_is_censored_early() -> None:
    # with every window closed, the cohort share equals the Kaplan-Meier share
    rows = [("a", "2024-01-01"), ("a", "2024-01-11"), ("b", "2024-01-02"),
            ("c", "2024-01-03"), ("c", "2024-03-01"), ("z", "2024-06-30")]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date"]).assign(amount=1.0)
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    result = second_purchase(frame, within_days=(30, 90), by="Y", as_of="2024-06-30")
    assert result.cohorts.loc[pd.Period("2024", "Y"), "closed_30d"] == 3  # z is too recent
    assert result.overall["rate_30d"] == pytest.approx(1 / 3)
    assert result.overall["rate_90d"] == pytest.approx(2 / 3)


def test_parameters_are_checked() -> None:
    with pytest.raises(InvalidParameterError, match=r"'within_days' parameter of "
                       r"second_purchase must be a whole number of days >= 1\. Got 0"):
        second_purchase(pd.DataFrame(), within_days=(30, 0))
    with pytest.raises(InvalidParameterError, match="must not repeat a window"):
        second_purchase(pd.DataFrame(), within_days=(30, 30))
    with pytest.raises(InvalidParameterError, match="non-empty sequence"):
        second_purchase(pd.DataFrame(), within_days="30")
    with pytest.raises(InvalidParameterError, match=r"'by' parameter of second_purchase must "
                       r"be one of \['D', 'W', 'M', 'Q', 'Y'\]\. Got 'month'"):
        second_purchase(pd.DataFrame(), by="month")
