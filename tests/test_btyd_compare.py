"""Tests of compare_models, fit_customer_models, calibration_holdout_summary and
transactions_tracking, and of the CDNOW worked example in docs/models.md."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rfm_loyalty._btyd.compare import fit_customer_models
from rfm_loyalty.btyd import (
    BetaGeoModel,
    ParetoNBDModel,
    calibration_holdout_summary,
    compare_models,
    customer_lifetime_value,
    transactions_tracking,
)
from rfm_loyalty.datasets.simulate import simulate_btyd
from rfm_loyalty.exceptions import InvalidParameterError, ModelFitError, ModelWarning
from rfm_loyalty.orders import prepare_orders

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference"


@pytest.fixture(scope="module")
def cdnow_orders():
    lines = pd.read_csv(REFERENCE / "cdnow_sample_transactions.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CDNOW has a few free orders: zero_amount below
        return prepare_orders(lines, zero_amount="purchase")


@pytest.fixture(scope="module")
def cdnow_table(cdnow_orders) -> pd.DataFrame:
    # the 39-week calibration period of the papers and the 39-week holdout after it
    return calibration_holdout_summary(cdnow_orders, calibration_end="1997-09-30",
                                       time_unit="W")


@pytest.fixture(scope="module")
def cdnow_comparison(cdnow_table):
    return compare_models(cdnow_table, holdout=cdnow_table, return_models=True)


def test_holdout_summary_matches_the_reference_table(cdnow_table) -> None:
    reference = pd.read_csv(REFERENCE / "cdnow_summary.csv", index_col="ID")
    table = cdnow_table.set_axis(cdnow_table.index.astype(int)).loc[reference.index]
    assert len(table) == 2357
    np.testing.assert_array_equal(table["frequency"], reference["x"])
    np.testing.assert_allclose(table["T"], reference["T"], atol=0.005)
    assert (table["duration_holdout"] == 39.0).all()
    # repeat purchase days after 1997-09-30 up to 1998-06-30, counted from the raw lines
    lines = pd.read_csv(REFERENCE / "cdnow_sample_transactions.csv.gz")
    later = lines[lines["order_date"] > "1997-09-30"].drop_duplicates(["customer_id",
                                                                      "order_date"])
    counts = later.groupby("customer_id").size().reindex(reference.index, fill_value=0)
    np.testing.assert_array_equal(table["frequency_holdout"], counts)
    assert int(counts.sum()) == 1882


def test_comparison_table(cdnow_table, cdnow_comparison) -> None:
    table, models = cdnow_comparison
    assert list(table.index) == ["bgnbd", "mbgnbd", "paretonbd"]
    assert table.index.name == "model"
    bins = ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert list(table.columns) == (
        ["n_parameters", "log_likelihood", "aic", "bic", "delta_bic", "r", "alpha", "a", "b",
         "s", "beta"] + [f"observed_{b}" for b in bins] + [f"expected_{b}" for b in bins]
        + ["chi_square", "holdout_actual", "holdout_predicted", "holdout_mae", "holdout_rmse",
           "note"])
    assert table["n_parameters"].dtype == "int64" and table["observed_0"].dtype == "int64"
    assert table["bic"].dtype == "float64" and (table["note"] == "").all()
    # observed: counted from the table by hand; expected: every model sums to 2,357
    observed = np.bincount(np.minimum(cdnow_table["frequency"], 7).astype(int))
    assert table.loc["bgnbd", [f"observed_{b}" for b in bins]].tolist() == observed.tolist()
    assert observed.tolist() == [1411, 439, 214, 100, 62, 38, 29, 64]
    expected = table[[f"expected_{b}" for b in bins]].sum(axis=1)
    np.testing.assert_allclose(expected, 2357, rtol=1e-9)
    # the same fits as the models alone; the published BG/NBD and Pareto/NBD figures
    assert table.loc["bgnbd", "log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert table.loc["paretonbd", "log_likelihood"] == pytest.approx(-9595.0, abs=0.05)
    assert math.isnan(table.loc["bgnbd", "s"]) and math.isnan(table.loc["paretonbd", "a"])
    assert table["delta_bic"].min() == 0.0
    for name, model in models.items():
        assert table.loc[name, "bic"] == pytest.approx(model.bic_)
        assert table.loc[name, "aic"] == pytest.approx(model.aic_)
    # holdout: 1,882 actual repeat purchases, predictions from each model's expected_purchases
    assert (table["holdout_actual"] == 1882).all()
    predicted = models["bgnbd"].expected_purchases(39.0, cdnow_table)
    assert table.loc["bgnbd", "holdout_predicted"] == pytest.approx(predicted.sum())
    error = predicted - cdnow_table["frequency_holdout"]
    assert table.loc["bgnbd", "holdout_mae"] == pytest.approx(error.abs().mean())
    assert table.loc["bgnbd", "holdout_rmse"] == pytest.approx(math.sqrt((error ** 2).mean()))


def test_expected_histogram_matches_naive_sum(cdnow_table, cdnow_comparison) -> None:
    _, models = cdnow_comparison
    model = models["paretonbd"]
    # one customer at a time: P(X(T_i) = k) summed over customers
    sample = cdnow_table.iloc[::97]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelWarning)  # 25 customers: a flat likelihood
        small = compare_models(sample[["frequency", "recency", "T"]], ["paretonbd"],
                               time_unit="W", max_count=3)
        refit = ParetoNBDModel(time_unit="W").fit(sample)
    want = np.zeros(4)
    for T in sample["T"]:
        probs = [refit.probability_of_purchases(k, T) for k in range(3)]
        want += [*probs, 1 - sum(probs)]
    got = small.loc["paretonbd", ["expected_0", "expected_1", "expected_2", "expected_3+"]]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want, rtol=1e-10)
    assert model is not refit


def test_failed_model_keeps_its_row_and_warns() -> None:
    # customers without any repeat purchase: BG/NBD cannot be fitted
    data = simulate_btyd(500, random_state=3)
    with pytest.warns(ModelWarning, match=r"compare_models: bgnbd could not be fitted"):
        table = compare_models(data.assign(frequency=0.0, recency=0.0), ["bgnbd"])
    assert "none of the 500 customers made a repeat purchase" in table.loc["bgnbd", "note"]
    assert math.isnan(table.loc["bgnbd", "bic"]) and math.isnan(table.loc["bgnbd", "r"])
    assert table.loc["bgnbd", "observed_0"] == 500


def test_argument_errors(cdnow_table) -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'models' parameter of compare_models "
                       r"must be a sequence of distinct names among \['bgnbd', 'mbgnbd', "
                       r"'paretonbd'\]\. Got \['bgnbd', 'bgbb'\] instead"):
        compare_models(cdnow_table, ["bgnbd", "bgbb"])
    with pytest.raises(ModelFitError, match=r"the holdout lacks 1 customer\(s\) of the summary"):
        compare_models(cdnow_table, ["bgnbd"], holdout=cdnow_table.iloc[1:])
    with pytest.raises(InvalidParameterError, match=r"The 'max_count' parameter"):
        compare_models(cdnow_table, ["bgnbd"], max_count=0)


def test_fit_customer_models_chooses_the_lowest_bic(cdnow_orders) -> None:
    from rfm_loyalty.summary import btyd_summary

    summary = btyd_summary(cdnow_orders.until("1997-09-30"))  # days
    models, table, predictions = fit_customer_models(
        summary, models=("bgnbd", "mbgnbd", "paretonbd"), horizon_days=365.25,
        discount_rate_monthly=0.01, days_per_month=30.4375)
    chosen = table.index[table["chosen"]].tolist()
    assert chosen == [table["bic"].idxmin()] and table["chosen"].dtype == bool
    model = models[chosen[0]]
    assert set(models) == {"bgnbd", "mbgnbd", "paretonbd", "gamma_gamma"}
    assert list(predictions.columns) == ["p_alive", "expected_purchases", "clv"]
    assert (predictions.dtypes == "float64").all() and predictions.index.equals(summary.index)
    pd.testing.assert_series_equal(predictions["p_alive"], model.p_alive(summary))
    pd.testing.assert_series_equal(predictions["expected_purchases"],
                                   model.expected_purchases(365.25, summary))
    clv = customer_lifetime_value(model, models["gamma_gamma"], summary, months=12)
    pd.testing.assert_series_equal(predictions["clv"], clv)


def test_fit_customer_models_without_spend_model() -> None:
    data = simulate_btyd(2000, alpha=30.0, T_min=100, T_max=300, random_state=9)
    data["monetary_value"] = 0.0  # returns netted every repeat purchase to nothing
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models, _, predictions = fit_customer_models(
            data, models=["bgnbd"], horizon_days=90, discount_rate_monthly=0.01)
    texts = [str(w.message) for w in caught]
    assert any(re.match(r"fit_customer_models: the Gamma-Gamma spend model could not be "
                        r"fitted \(GammaGammaModel.fit: needs at least 2 repeat customers.*; "
                        r"clv is NaN\.$", t) for t in texts), texts
    assert "gamma_gamma" not in models and predictions["clv"].isna().all()
    with pytest.raises(ModelFitError, match=r"fit_customer_models: none of \['bgnbd'\] could "
                       r"be fitted: bgnbd: .*none of the 2,000 customers"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelWarning)
            fit_customer_models(data.assign(frequency=0.0, recency=0.0), models=["bgnbd"],
                                horizon_days=90, discount_rate_monthly=0.01)


def test_transactions_tracking_by_hand() -> None:
    orders = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
        "order_date": ["2024-01-01", "2024-01-01", "2024-01-09", "2024-01-20",
                       "2024-01-05", "2024-01-06", "2024-01-25"],
        "amount": [5.0] * 7,
    })
    model = BetaGeoModel.from_params(r=1.0, alpha=10.0, a=1.0, b=3.0, time_unit="D")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track = transactions_tracking(orders, {"bg": model}, calibration_end="2024-01-14",
                                      period_days=7)
    # periods end on 01-14 and every 7 days around it: 01-01..01-07, 01-08..01-14 (end of
    # calibration), 01-15..01-21, 01-22..01-25 (the last order; c first bought in the holdout)
    assert track["period_end"].dt.strftime("%m-%d").tolist() == ["01-07", "01-14", "01-21",
                                                                 "01-25"]
    assert track["holdout"].tolist() == [False, False, True, True]
    # repeat purchase days: b on 01-06; a on 01-09, 01-20 (a's second 01-01 order is its
    # first day); c is not in the cohort
    assert track["actual"].tolist() == [1.0, 1.0, 1.0, 0.0]
    assert track["actual_cumulative"].tolist() == [1.0, 2.0, 3.0, 3.0]
    # expected: E[X(days since first purchase at each period's last day)], a and b
    ends = pd.to_datetime(["2024-01-07", "2024-01-14", "2024-01-21", "2024-01-25"])
    firsts = pd.to_datetime(["2024-01-01", "2024-01-05"])
    want = [sum(model.expected_purchases_population(float((e - f).days)) for f in firsts)
            for e in ends]
    np.testing.assert_allclose(track["bg_cumulative"], want, rtol=1e-12)
    np.testing.assert_allclose(track["bg"], np.diff(want, prepend=0.0), rtol=1e-12)


def test_tracking_on_cdnow(cdnow_orders, cdnow_comparison) -> None:
    _, models = cdnow_comparison
    track = transactions_tracking(cdnow_orders, models, calibration_end="1997-09-30")
    assert len(track) == 78 and int(track["holdout"].sum()) == 39  # the papers' 78 weeks
    assert track["actual"].sum() == track["actual_cumulative"].iloc[-1]
    # the holdout's actual repeat purchase days are those of the holdout summary
    assert track.loc[track["holdout"], "actual"].sum() == 1882
    for name in models:
        assert (np.diff(track[f"{name}_cumulative"]) >= 0).all()


# ------------------------------------------------------------- docs/models.md
def test_docs_worked_example_figures_come_from_this_computation(cdnow_comparison) -> None:
    table, _ = cdnow_comparison
    text = (REPO / "docs" / "models.md").read_text(encoding="utf-8")
    section = text.split("<!-- cdnow-comparison -->")[1]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 1 and cells[0] in ("BG/NBD", "MBG/NBD", "Pareto/NBD"):
            rows[cells[0]] = cells[1:]
        if line.startswith("<!-- end -->"):
            break
    names = {"BG/NBD": "bgnbd", "MBG/NBD": "mbgnbd", "Pareto/NBD": "paretonbd"}
    assert set(rows) == set(names)
    for label, cells in rows.items():
        row = table.loc[names[label]]
        want = [f"{row['log_likelihood']:.1f}", f"{row['bic']:.1f}", f"{row['delta_bic']:.1f}",
                f"{row['chi_square']:.1f}", f"{row['holdout_predicted']:.0f}",
                f"{row['holdout_mae']:.3f}"]
        got = [re.sub(r"[*,]", "", c) for c in cells[:6]]
        assert got == [w.replace(",", "") for w in want], label
