"""Tests of rfm_loyalty.backtest.backtest."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty.backtest import BacktestResult, backtest
from rfm_loyalty.btyd import BetaGeoModel
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.exceptions import BinningWarning, ModelWarning
from rfm_loyalty.orders import OrderColumns, prepare_orders
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import Segment
from rfm_loyalty.summary import btyd_summary, rfm_table

ROWS = [
    ("a", "2024-01-10", 10.0),
    ("a", "2024-03-01", 10.0),
    ("a", "2024-06-20", 10.0),
    ("a", "2024-07-05 10:00", 20.0),  # holdout: two orders on one day = 1 purchase day
    ("a", "2024-07-05 15:00", 5.0),
    ("a", "2024-07-31", 99.0),  # after the holdout end (Jul 30): not counted
    ("b", "2024-02-01", 10.0),
    ("b", "2024-02-15", 10.0),
    ("b", "2024-07-10", -10.0),  # a return in the holdout: revenue, not a purchase
    ("c", "2024-06-25", 10.0),
    ("c", "2024-07-30", 4.0),  # the last holdout day is included
    ("d", "2024-01-05", 10.0),
    ("d", "2024-07-20", 7.0),
    ("e", "2024-04-01", 10.0),
    ("e", "2024-05-01", 10.0),
    ("e", "2024-06-01", 10.0),
    ("e", "2024-07-01", 3.0),
    ("e", "2024-07-15", 3.0),
    ("f", "2024-07-10", 50.0),  # first seen in the holdout: not scored
]
# Two score bands and rules on recency alone keep the segments checkable by hand.
SCORER = RFMScorer(n_bins=2, method="fixed", bins={"recency_days": [30], "frequency": [2],
                                                   "monetary_total": [25.0]})
RULES = [Segment("recent", r=(2, 2)), Segment("lapsed", r=(1, 1))]


def _tiny() -> object:
    customers, dates, amounts = zip(*ROWS, strict=True)
    frame = pd.DataFrame(
        {
            "customer_id": list(customers),
            "order_date": pd.to_datetime(list(dates), format="ISO8601"),
            "amount": list(amounts),
        }
    )
    return prepare_orders(frame, OrderColumns(), as_of="2024-07-31")


def _naive_auc(target: np.ndarray, score: np.ndarray) -> float:
    # probability that a random buyer outranks a random non-buyer, ties count half
    pos, neg = score[target], score[~target]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def test_backtest_tiny_hand_checked() -> None:
    result = backtest(_tiny(), calibration_end="2024-06-30", holdout_days=30,  # type: ignore[arg-type]
                      scorer=SCORER, segment_rules=RULES)
    assert isinstance(result, BacktestResult)
    assert result.calibration_end == pd.Timestamp("2024-06-30")
    assert result.holdout_end == pd.Timestamp("2024-07-30")
    c = result.customers
    assert list(c.index) == ["a", "b", "c", "d", "e"]  # f is first seen in the holdout
    assert c["holdout_purchase_days"].tolist() == [1, 0, 1, 1, 2]
    assert c["holdout_revenue"].tolist() == [25.0, -10.0, 4.0, 7.0, 6.0]
    assert c["bought_again"].tolist() == [True, False, True, True, True]
    assert c["repeat_purchase_days"].tolist() == [2, 1, 0, 0, 2]
    # lifecycle at Jun 30: a, e active (>= 2 purchases before the 45-day window),
    # c new, b (136 days) and d (177 days) high_recovery
    assert c["lifecycle"].astype(str).tolist() == ["active", "high_recovery", "new",
                                                   "high_recovery", "active"]
    # recency 10, 136, 5, 177, 29 days: recent when <= 30
    assert c["segment"].astype(str).tolist() == ["recent", "lapsed", "recent", "lapsed",
                                                 "recent"]
    life = result.by_lifecycle
    assert life.loc[["new", "active", "high_recovery"], "customers"].tolist() == [1, 2, 2]
    assert life.loc[["new", "active", "high_recovery"], "repurchase_rate"].tolist() == [
        1.0, 1.0, 0.5]
    assert life.loc["high_recovery", "mean_holdout_revenue"] == -1.5
    assert life.loc["lost", "customers"] == 0
    assert np.isnan(life.loc["lost", "repurchase_rate"])
    seg = result.by_segment
    assert seg["customers"].to_dict() == {"recent": 3, "lapsed": 2, "Other": 0}
    assert seg.loc["recent", "repurchase_rate"] == 1.0
    assert seg.loc["lapsed", "mean_holdout_purchase_days"] == 0.5
    cal = result.calibration
    assert list(cal.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert cal["customers"].tolist() == [2, 1, 2, 0, 0, 0, 0, 0]
    assert cal["actual_mean"].iloc[:3].tolist() == [1.0, 0.0, 1.5]
    assert cal["actual_mean"].iloc[3:].isna().all()
    assert cal["actual_total"].sum() == 5.0


def test_backtest_predictions_are_the_models_in_days() -> None:
    orders = _tiny()
    result = backtest(orders, calibration_end="2024-06-30", holdout_days=30,  # type: ignore[arg-type]
                      scorer=SCORER, segment_rules=RULES)
    summary = btyd_summary(orders.until("2024-06-30"), time_unit="D")  # type: ignore[attr-defined]
    model = BetaGeoModel(time_unit="D").fit(summary)
    pd.testing.assert_series_equal(result.model.params_, model.params_)
    np.testing.assert_allclose(result.customers["p_alive"], model.p_alive(summary))
    np.testing.assert_allclose(result.customers["expected_purchases"],
                               model.expected_purchases(30.0, summary))
    # predicted totals of the calibration table are the per-customer predictions summed
    assert result.calibration["predicted_total"].sum() == pytest.approx(
        result.customers["expected_purchases"].sum())


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, BacktestResult]:
    lines = make_orders(n_customers=600, start="2023-01-01", end="2024-12-31", random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        result = backtest(lines, calibration_end="2024-09-01", holdout_days=120)
    return lines, result


def test_backtest_matches_naive_holdout_and_auc(
    synthetic: tuple[pd.DataFrame, BacktestResult],
) -> None:
    lines, result = synthetic
    customers = result.customers
    orders = prepare_orders(lines, OrderColumns(order_id="order_id", cost="cost")).frame
    day = orders["order_date"].dt.normalize()
    scored = set(customers.index)
    assert scored == set(orders.loc[(day <= "2024-09-01") & orders["is_purchase"],
                                    "customer_id"])
    held = orders[(day > "2024-09-01") & (day <= "2024-12-30")
                  & orders["customer_id"].isin(scored)]
    for customer, group in list(held.groupby("customer_id"))[:50]:
        buys = group[group["is_purchase"]]
        assert customers.loc[customer, "holdout_purchase_days"] == buys[
            "order_date"].dt.normalize().nunique()
        assert customers.loc[customer, "holdout_revenue"] == pytest.approx(group["amount"].sum())
    target = customers["bought_again"].to_numpy()
    for score in ["p_alive", "expected_purchases", "rfm_score"]:
        assert result.auc.loc[score, "auc"] == pytest.approx(
            _naive_auc(target, customers[score].to_numpy(dtype=float)))
    repeat = customers["repeat_purchase_days"].to_numpy() > 0
    assert result.auc.loc["p_alive_repeat_customers", "auc"] == pytest.approx(
        _naive_auc(target[repeat], customers["p_alive"].to_numpy()[repeat]))
    assert result.auc["customers"].tolist() == [len(customers)] * 3 + [int(repeat.sum())]
    assert result.auc["bought_again"].iloc[0] == target.sum()
    assert result.by_lifecycle["customers"].sum() == len(customers)
    assert result.by_segment["customers"].sum() == len(customers)
    assert result.calibration["customers"].sum() == len(customers)
    assert result.calibration["actual_total"].sum() == customers["holdout_purchase_days"].sum()


def test_backtest_scores_rank_holdout_buyers(
    synthetic: tuple[pd.DataFrame, BacktestResult],
) -> None:
    # the generator's customers buy at persistent rates, so the calibration
    # scores must rank next-period buyers better than chance ...
    _, result = synthetic
    auc = result.auc["auc"]
    assert auc[["expected_purchases", "rfm_score", "p_alive_repeat_customers"]].min() > 0.7
    # ... except p_alive over everyone: one-time buyers all get p_alive = 1
    assert (result.customers.loc[result.customers["repeat_purchase_days"] == 0, "p_alive"]
            == 1.0).all()
    assert auc["p_alive"] < auc["p_alive_repeat_customers"]
    assert "ROC AUC" in str(result)


def test_backtest_units_days_agree_with_weeks(
    synthetic: tuple[pd.DataFrame, BacktestResult],
) -> None:
    # the likelihood in weeks differs from the one in days by a constant, so the
    # weekly model predicts the same holdout purchases for 120 / 7 weeks
    lines, result = synthetic
    prepared = prepare_orders(lines, OrderColumns(order_id="order_id", cost="cost"),
                              as_of="2024-09-01")
    weekly = btyd_summary(prepared, time_unit="W")
    model = BetaGeoModel(time_unit="W").fit(weekly)
    np.testing.assert_allclose(
        model.expected_purchases(120 / 7, weekly).reindex(result.customers.index),
        result.customers["expected_purchases"], rtol=2e-3,
    )


def test_backtest_errors_and_no_mutation() -> None:
    customers, dates, amounts = zip(*ROWS, strict=True)
    frame = pd.DataFrame({"customer_id": list(customers), "order_date": list(dates),
                          "amount": list(amounts)})
    before = frame.copy()
    with pytest.raises(ValueError, match=r"holdout of backtest ends on 2024-08-30 .* after the "
                                         r"last date of the orders \(2024-07-31\)"):
        backtest(frame, calibration_end="2024-06-30", holdout_days=61)
    with pytest.raises(ValueError, match=r"'holdout_days' parameter of backtest must be a whole "
                                         r"number of days >= 1. Got 0"):
        backtest(frame, calibration_end="2024-06-30", holdout_days=0)
    with pytest.raises(TypeError, match=r"whole number of days >= 1. Got 30.5"):
        backtest(frame, calibration_end="2024-06-30", holdout_days=30.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'max_frequency' parameter .* Got 0"):
        backtest(frame, calibration_end="2024-06-30", holdout_days=30, max_frequency=0)
    pd.testing.assert_frame_equal(frame, before)




@pytest.mark.slow
def test_real_data_backtest(retail: object) -> None:
    with (
        pytest.warns(BinningWarning, match="'frequency' score bins"),
        # nine months of wholesale buyers: BG/NBD finds no drop-out (a / (a + b) = 2e-9)
        pytest.warns(ModelWarning, match=r"almost no drop-out: .* is 1\.9e-09 "),
    ):
        result = backtest(retail, calibration_end="2011-09-09",  # type: ignore[arg-type]
                          holdout_days=90)
    calibration = retail.until("2011-09-09")  # type: ignore[attr-defined]
    assert len(result.customers) == len(rfm_table(calibration))
    frame = retail.frame  # type: ignore[attr-defined]
    day = frame["order_date"].dt.normalize()
    in_holdout = (day > "2011-09-09") & (day <= "2011-12-08") & frame["is_purchase"]
    buyers = set(frame.loc[in_holdout, "customer_id"]) & set(result.customers.index)
    assert int(result.customers["bought_again"].sum()) == len(buyers)
    # nine months of history: nobody can be silent for more than 360 days yet
    assert result.by_lifecycle.loc["lost", "customers"] == 0
    # the RFM score ranks next-quarter buyers well above chance
    assert result.auc.loc["rfm_score", "auc"] > 0.65
    rates = result.by_lifecycle["repurchase_rate"]
    assert rates["active"] > rates["high_recovery"] > rates["low_recovery"]
