"""Tests of RFMScorer (scoring.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from rfm_loyalty.exceptions import BinningWarning, SchemaError
from rfm_loyalty.scoring import SCORE_COLUMNS, RFMScorer

COLUMNS = ["recency_days", "frequency", "monetary_total"]


def customers(recency, frequency, monetary, index=None) -> pd.DataFrame:
    return pd.DataFrame(
        {"recency_days": recency, "frequency": frequency, "monetary_total": monetary},
        index=index,
    )


# ------------------------------------------------------------ naive reference
def naive_edges(values, n_bins):
    """Smallest observed x whose cumulative share reaches k/n_bins, distinct, below max."""
    ordered = sorted(values)
    n = len(ordered)
    cuts = []
    for k in range(1, n_bins):
        for x in ordered:
            if sum(v <= x for v in ordered) / n >= k / n_bins:
                cuts.append(x)
                break
    return sorted({c for c in cuts if c < max(ordered)})


def naive_score(value, edges, reverse=False):
    band = 1 + sum(e < value for e in edges)  # right-closed bands
    return len(edges) + 2 - band if reverse else band


# ------------------------------------------------------------ hand-checked
def test_hand_checked_scores_and_edges():
    table = customers([3, 20, 50, 120, 400], [9, 4, 3, 2, 1], [900.0, 400.0, 250.0, 80.0, 10.0],
                      index=pd.Index(list("abcde"), name="customer_id"))
    scorer = RFMScorer().fit(table)
    np.testing.assert_array_equal(scorer.bin_edges_["recency_days"], [3, 20, 50, 120])
    np.testing.assert_array_equal(scorer.bin_edges_["frequency"], [1, 2, 3, 4])
    np.testing.assert_array_equal(scorer.bin_edges_["monetary_total"], [10, 80, 250, 400])
    assert scorer.n_bins_ == {"recency_days": 5, "frequency": 5, "monetary_total": 5}
    out = scorer.transform(table)
    assert list(out.columns) == list(SCORE_COLUMNS)
    assert out.index.equals(table.index)
    assert out["r_score"].tolist() == [5, 4, 3, 2, 1]  # fewest days -> best score
    assert out["f_score"].tolist() == [5, 4, 3, 2, 1]
    assert out["m_score"].tolist() == [5, 4, 3, 2, 1]
    assert out["rfm_code"].tolist() == ["555", "444", "333", "222", "111"]
    assert out["rfm_score"].tolist() == [15, 12, 9, 6, 3]
    for column in ("r_score", "f_score", "m_score", "rfm_score"):
        assert out[column].dtype == np.int64


def test_ties_get_equal_scores_and_collapse_warns_with_share_and_bins():
    # six of ten customers bought once: the 20/40/60% quantiles are all 1
    table = customers(np.arange(1, 11), [1, 1, 1, 1, 1, 1, 2, 3, 4, 5], np.arange(10.0))
    with pytest.warns(
        BinningWarning,
        match=r"Ties collapsed the 'frequency' score bins: 60\.0% of customers \(6 of 10\) "
        r"share the value 1, so only 3 of the 5 requested bins remain "
        r"\(n_bins_\['frequency'\] == 3; scores run 1\.\.3\)",
    ):
        scorer = RFMScorer().fit(table)
    assert scorer.n_bins_ == {"recency_days": 5, "frequency": 3, "monetary_total": 5}
    np.testing.assert_array_equal(scorer.bin_edges_["frequency"], [1, 3])
    f = scorer.transform(table)["f_score"].tolist()
    assert f == [1, 1, 1, 1, 1, 1, 2, 2, 3, 3]
    # recency: 1 and 2 days tie into the same band (edge 2 is inclusive)
    assert scorer.transform(table)["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_warning_points_at_the_callers_line():
    table = customers(np.arange(1, 11), [1] * 6 + [2, 3, 4, 5], np.arange(10.0))
    for call in (lambda: RFMScorer().fit(table), lambda: RFMScorer().fit_transform(table),
                 lambda: Pipeline([("rfm", RFMScorer())]).fit_transform(table)):
        with pytest.warns(BinningWarning) as record:
            call()
        assert record[0].filename == __file__


def test_all_equal_values_give_one_bin():
    table = customers([5, 5, 5], [2, 2, 2], [10.0, 20.0, 30.0])
    with pytest.warns(BinningWarning) as record:
        scorer = RFMScorer(n_bins=3).fit(table)
    assert len(record) == 2
    assert "100.0% of customers (3 of 3) share the value 5" in str(record[0].message)
    assert scorer.n_bins_["recency_days"] == 1
    out = scorer.transform(table)
    assert out["r_score"].tolist() == [1, 1, 1]
    assert out["m_score"].tolist() == [1, 2, 3]


def test_no_warning_without_collapse():
    table = customers(np.arange(20), np.arange(20), np.arange(20.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RFMScorer().fit(table)


def test_fixed_recency_bins_follow_the_seed_windows():
    days = [0, 45, 46, 90, 91, 180, 181, 360, 361, 900]
    table = customers(days, np.arange(1, 11), np.arange(10.0))
    scorer = RFMScorer(method="fixed", bins={"recency_days": [45, 90, 180, 360]}).fit(table)
    assert scorer.transform(table)["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # the dimensions not named in bins are still learned by quantiles
    np.testing.assert_array_equal(scorer.bin_edges_["frequency"], [2, 4, 6, 8])
    np.testing.assert_array_equal(scorer.bin_edges_["recency_days"], [45, 90, 180, 360])


def test_fixed_frequency_bins():
    table = customers([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [1.0] * 6)
    with pytest.warns(BinningWarning, match="monetary_total"):
        scorer = RFMScorer(method="fixed", bins={"frequency": [1, 2, 3, 5]}).fit(table)
    assert scorer.transform(table)["f_score"].tolist() == [1, 2, 3, 4, 4, 5]


def test_round_trip_fit_one_month_transform_the_next():
    rng = np.random.default_rng(7)
    month1 = customers(rng.integers(0, 365, 300), rng.integers(1, 12, 300),
                       rng.gamma(2.0, 100.0, 300).round(2))
    month2 = customers(rng.integers(0, 400, 200), rng.integers(1, 20, 200),
                       rng.gamma(2.0, 150.0, 200).round(2))
    scorer = RFMScorer().fit(month1)
    edges = {c: scorer.bin_edges_[c].copy() for c in COLUMNS}
    out = scorer.transform(month2)
    for c in COLUMNS:  # transform never refits
        np.testing.assert_array_equal(scorer.bin_edges_[c], edges[c])
    expected_r = [naive_score(v, list(edges["recency_days"]), reverse=True)
                  for v in month2["recency_days"]]
    expected_f = [naive_score(v, list(edges["frequency"])) for v in month2["frequency"]]
    expected_m = [naive_score(v, list(edges["monetary_total"])) for v in month2["monetary_total"]]
    assert out["r_score"].tolist() == expected_r
    assert out["f_score"].tolist() == expected_f
    assert out["m_score"].tolist() == expected_m
    # beyond the fitted range: end scores
    extreme = customers([-5, 10_000], [0, 10_000], [-50.0, 1e9])
    ends = scorer.transform(extreme)
    assert ends["r_score"].tolist() == [5, 1]
    assert ends["f_score"].tolist() == [1, 5]
    assert ends["m_score"].tolist() == [1, 5]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.integers(1, 6), st.integers(-3, 40)),
        min_size=1, max_size=40,
    ),
    st.integers(2, 10),
)
def test_matches_naive_implementation_and_equal_values_equal_scores(rows, n_bins):
    r, f, m = (list(x) for x in zip(*rows, strict=True))
    table = customers(r, f, [float(v) for v in m])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        scorer = RFMScorer(n_bins=n_bins).fit(table)
    out = scorer.transform(table)
    for column, values, score, reverse in (
        ("recency_days", r, "r_score", True),
        ("frequency", f, "f_score", False),
        ("monetary_total", m, "m_score", False),
    ):
        edges = naive_edges(values, n_bins)
        assert list(scorer.bin_edges_[column]) == edges
        assert scorer.n_bins_[column] == len(edges) + 1
        assert out[score].tolist() == [naive_score(v, edges, reverse) for v in values]
        # equal values -> equal scores; every learned band is used on the training data
        by_value = out.groupby(np.asarray(values))[score].nunique()
        assert (by_value == 1).all()
        assert out[score].nunique() == scorer.n_bins_[column]
    assert (out["rfm_score"] == out["r_score"] + out["f_score"] + out["m_score"]).all()


def test_shuffling_rows_does_not_change_scores():
    rng = np.random.default_rng(3)
    table = customers(rng.integers(0, 100, 50), rng.integers(1, 5, 50), rng.random(50),
                      index=pd.Index([f"c{i}" for i in range(50)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        a = RFMScorer().fit_transform(table)
        b = RFMScorer().fit_transform(table.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(a, b.loc[a.index])


def test_ten_bins_codes_use_a_separator():
    table = customers(np.arange(100), np.arange(100), np.arange(100.0))
    out = RFMScorer(n_bins=10).fit_transform(table)
    assert out["rfm_code"].iloc[0] == "10-1-1"
    assert out["rfm_code"].iloc[-1] == "1-10-10"
    assert out["rfm_score"].iloc[0] == 12


def test_input_not_mutated_and_extra_columns_ignored():
    table = customers([3, 20, 50], [1, 2, 3], [5.0, 6.0, 7.0])
    table["segment_hint"] = ["x", "y", "z"]
    before = table.copy()
    RFMScorer(n_bins=3).fit_transform(table)
    pd.testing.assert_frame_equal(table, before)


# ------------------------------------------------------------- scikit-learn
def test_sklearn_clone_params_pipeline_and_set_output():
    scorer = RFMScorer(n_bins=4, method="fixed", bins={"recency_days": [30, 60, 90]})
    twin = clone(scorer)
    assert twin.get_params() == scorer.get_params()
    assert twin.get_params()["n_bins"] == 4
    twin.set_params(n_bins=3, method="quantile", bins=None)
    assert twin.n_bins == 3
    table = customers(np.arange(12), np.arange(12), np.arange(12.0))
    pipe = Pipeline([("rfm", RFMScorer())]).set_output(transform="pandas")
    out = pipe.fit_transform(table)
    assert list(out.columns) == list(SCORE_COLUMNS)
    assert out.index.equals(table.index)
    pandas_out = RFMScorer().set_output(transform="pandas").fit(table).transform(table)
    pd.testing.assert_frame_equal(pandas_out, out)
    # an array is read in `columns` order
    array_out = RFMScorer().fit(table.to_numpy()).transform(table.to_numpy())
    assert array_out["rfm_code"].tolist() == out["rfm_code"].tolist()
    assert list(RFMScorer().fit(table).get_feature_names_out()) == list(SCORE_COLUMNS)


def test_custom_column_names():
    table = pd.DataFrame({"r": [1, 50, 99], "f": [3, 2, 1], "m": [3.0, 2.0, 1.0]})
    out = RFMScorer(n_bins=3, columns=("r", "f", "m")).fit_transform(table)
    assert out["rfm_code"].tolist() == ["333", "222", "111"]


def test_unfitted_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match=r"This RFMScorer is not fitted yet, so transform"):
        RFMScorer().transform(customers([1], [1], [1.0]))
    with pytest.raises(NotFittedError, match="call fit"):
        RFMScorer().get_feature_names_out()


@pytest.mark.parametrize("bad", [1, 11, 2.5, True, "5", None])
def test_bad_n_bins(bad):
    with pytest.raises(ValueError, match=rf"'n_bins' parameter .* from 2 to 10\. Got {bad!r}"):
        RFMScorer(n_bins=bad).fit(customers([1, 2], [1, 2], [1.0, 2.0]))


def test_bad_method_and_bins():
    table = customers([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"'method' parameter .* Got 'kmeans' instead"):
        RFMScorer(method="kmeans").fit(table)
    with pytest.raises(ValueError, match=r"only used with method='fixed'"):
        RFMScorer(bins={"recency_days": [1, 2, 3, 4]}).fit(table)
    with pytest.raises(ValueError, match=r"must map at least one of"):
        RFMScorer(method="fixed").fit(table)
    with pytest.raises(ValueError, match=r"strictly increasing .* Got \[90, 45, 180, 360\]"):
        RFMScorer(method="fixed", bins={"recency_days": [90, 45, 180, 360]}).fit(table)
    with pytest.raises(ValueError, match=r"has 3 thresholds, which make 4 bands, but n_bins=5"):
        RFMScorer(method="fixed", bins={"recency_days": [45, 90, 180]}).fit(table)
    with pytest.raises(ValueError, match=r"names column 'recency'.*Did you mean 'recency_days'"):
        RFMScorer(method="fixed", bins={"recency": [45, 90, 180, 360]}).fit(table)
    with pytest.raises(ValueError, match=r"three distinct column names"):
        RFMScorer(columns=("a", "a", "b")).fit(table)


def test_bad_data():
    with pytest.raises(SchemaError, match=r"missing \['monetary_total'\].*did you mean 'monetary'"):
        RFMScorer().fit(pd.DataFrame({"recency_days": [1], "frequency": [1], "monetary": [1.0]}))
    with pytest.raises(ValueError, match=r"missing per column: \{'frequency': 1\}"):
        RFMScorer().fit(customers([1, 2], [1, np.nan], [1.0, 2.0]))
    with pytest.raises(ValueError, match=r"empty table"):
        RFMScorer().fit(customers([], [], []))
    with pytest.raises(ValueError, match=r"shape \(n_customers, 3\).*Got shape \(2, 2\)"):
        RFMScorer().fit(np.ones((2, 2)))
    with pytest.raises(SchemaError, match=r"numeric columns; \['frequency'\]"):
        RFMScorer().fit(customers([1], ["x"], [1.0]))
