"""Tests of rfm_loyalty.migration.segment_migration."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty.exceptions import BinningWarning
from rfm_loyalty.lifecycle import lifecycle_labels
from rfm_loyalty.migration import NOT_YET_CUSTOMER, MigrationResult, segment_migration
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import Segment


def _orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    customers, dates, amounts = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(customers),
            "order_date": pd.to_datetime(list(dates), format="ISO8601"),
            "amount": list(amounts),
        }
    )


LIFECYCLE_ROWS = [
    ("a", "2024-01-10", 10.0),  # new at Jan 31; 172 days silent at Jun 30: high_recovery
    ("b", "2024-01-20", 20.0),  # new at Jan 31; buys again Jun 25: returning
    ("b", "2024-06-25", 15.0),
    ("c", "2024-06-01", 30.0),  # not yet a customer at Jan 31; new at Jun 30
    ("d", "2023-01-02", 5.0),  # lost at both dates
    ("e", "2023-10-01", 5.0),  # high_recovery (122 days) -> low_recovery (273 days)
    ("f", "2024-08-01", 5.0),  # after to_date: not counted at all
]


def test_lifecycle_migration_hand_checked() -> None:
    moves = segment_migration(_orders(LIFECYCLE_ROWS), "2024-01-31", "2024-06-30")
    assert isinstance(moves, MigrationResult)
    assert moves.from_date == pd.Timestamp("2024-01-31")
    assert moves.to_date == pd.Timestamp("2024-06-30")
    labels = ["new", "active", "returning", "cooling", "high_recovery", "low_recovery", "lost"]
    assert list(moves.counts.columns) == labels
    assert list(moves.counts.index) == [*labels, NOT_YET_CUSTOMER]
    # e: 2023-10-01 is 122 days before Jan 31 (high_recovery) and 273 before Jun 30
    # (low_recovery, 180 <= d <= 360); d: 394 and 545 days (lost, lost).
    expected = pd.DataFrame(0, index=moves.counts.index, columns=moves.counts.columns)
    expected.loc["new", "high_recovery"] = 1  # a
    expected.loc["new", "returning"] = 1  # b
    expected.loc[NOT_YET_CUSTOMER, "new"] = 1  # c
    expected.loc["lost", "lost"] = 1  # d
    expected.loc["high_recovery", "low_recovery"] = 1  # e
    pd.testing.assert_frame_equal(moves.counts, expected.astype("int64"))
    assert moves.counts.to_numpy().sum() == 5  # f bought after to_date
    assert moves.shares.loc["new", "returning"] == 0.5
    assert moves.shares.loc["new"].sum() == 1.0
    assert moves.shares.loc["active"].isna().all()  # nobody was active: no shares
    assert moves.customers.loc["c", "from_label"] == NOT_YET_CUSTOMER
    assert moves.customers.loc["e", "to_label"] == "low_recovery"
    retained = moves.retained_share()
    assert retained["lost"] == 1.0
    assert retained["new"] == 0.0
    assert np.isnan(retained["active"])


SEGMENT_ROWS = [
    ("a", "2024-03-30", 10.0),
    ("b", "2024-03-20", 10.0),
    ("c", "2024-02-01", 10.0),
    ("d", "2024-01-01", 10.0),
    ("d", "2024-04-25", 10.0),
    ("e", "2024-04-29", 10.0),
]
RULES = [Segment("recent", r=(2, 2)), Segment("lapsed", r=(1, 1))]


@pytest.mark.filterwarnings("ignore::rfm_loyalty.exceptions.BinningWarning")
def test_segment_migration_reused_vs_refitted_edges() -> None:
    orders = _orders(SEGMENT_ROWS)
    scorer = RFMScorer(n_bins=2)
    # At Mar 31 recency is 1, 11, 59, 90 days: the median edge 11 splits a, b | c, d.
    # At Apr 30 it is a 31, b 41, c 89, d 5, e 1. On the Mar 31 edge (11) only d and e
    # are recent; refitted, the edge is 31 and a stays recent too.
    reused = segment_migration(orders, "2024-03-31", "2024-04-30", by="segment",
                               scorer=scorer, segment_rules=RULES)
    rows = ["recent", "lapsed", "Other", NOT_YET_CUSTOMER]
    assert list(reused.counts.index) == rows
    assert list(reused.counts.columns) == ["recent", "lapsed", "Other"]
    np.testing.assert_array_equal(reused.counts.to_numpy(),
                                  [[0, 2, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]])
    refit = segment_migration(orders, "2024-03-31", "2024-04-30", by="segment",
                              scorer=scorer, segment_rules=RULES, edges="refit")
    np.testing.assert_array_equal(refit.counts.to_numpy(),
                                  [[1, 1, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]])
    assert refit.edges == "refit"
    assert reused.edges == "from_date"
    assert not hasattr(scorer, "bin_edges_")  # the template scorer is never fitted


def _random_orders(seed: int, n_rows: int = 300, n_customers: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n_rows).astype(str),
            "order_date": pd.Timestamp("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n_rows), unit="D"),
            "amount": np.round(rng.gamma(2.0, 20.0, n_rows), 2),
        }
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_lifecycle_migration_matches_independent_labels(seed: int) -> None:
    orders = _random_orders(seed)
    moves = segment_migration(orders, "2023-03-01", "2023-09-15")
    before = lifecycle_labels(orders, as_of="2023-03-01")["lifecycle"].astype("object")
    after = lifecycle_labels(orders, as_of="2023-09-15")["lifecycle"].astype("object")
    pairs = pd.DataFrame({"from": before.reindex(after.index).fillna(NOT_YET_CUSTOMER),
                          "to": after})
    naive = pairs.value_counts()
    got = moves.counts.stack()
    got = got[got > 0]
    assert {k: int(v) for k, v in got.items()} == {k: int(v) for k, v in naive.items()}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=10_000),
    from_day=st.integers(min_value=100, max_value=500),
    gap_days=st.integers(min_value=1, max_value=200),
    by=st.sampled_from(["lifecycle", "segment"]),
)
def test_property_migration_accounts_for_everyone(
    seed: int, from_day: int, gap_days: int, by: str
) -> None:
    orders = _random_orders(seed, n_rows=120, n_customers=30)
    start = pd.Timestamp("2022-01-01") + pd.Timedelta(days=from_day)
    end = start + pd.Timedelta(days=gap_days)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties may collapse score bins on tiny data
        moves = segment_migration(orders, start, end, by=by)  # type: ignore[arg-type]
    buyers_end = orders.loc[orders["order_date"] <= end, "customer_id"].nunique()
    buyers_start = orders.loc[orders["order_date"] <= start, "customer_id"].nunique()
    assert int(moves.counts.to_numpy().sum()) == buyers_end
    assert int(moves.counts.loc[NOT_YET_CUSTOMER].sum()) == buyers_end - buyers_start
    assert len(moves.customers) == buyers_end
    row_sums = moves.shares.sum(axis=1, min_count=1).dropna()
    np.testing.assert_allclose(row_sums, 1.0)


def test_migration_errors_and_no_mutation() -> None:
    orders = _orders(LIFECYCLE_ROWS)
    before = orders.copy()
    with pytest.raises(ValueError, match=r"needs from_date < to_date.*'2024-06-30'"):
        segment_migration(orders, "2024-06-30", "2024-01-31")
    with pytest.raises(ValueError, match=r"'by' parameter of segment_migration .* Got 'rfm'"):
        segment_migration(orders, "2024-01-31", "2024-06-30", by="rfm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'edges' parameter .* Got 'to_date'"):
        segment_migration(orders, "2024-01-31", "2024-06-30",
                          edges="to_date")  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(orders, before)




@pytest.mark.slow
def test_real_data_migration(retail: object) -> None:
    moves = segment_migration(retail, "2011-06-30", "2011-12-09")  # type: ignore[arg-type]
    assert int(moves.counts.to_numpy().sum()) == 4338
    # a third of the customers bought once: the frequency quantiles tie
    with pytest.warns(BinningWarning, match="Ties collapsed the 'frequency' score bins"):
        segments = segment_migration(retail, "2011-06-30", "2011-12-09",  # type: ignore[arg-type]
                                     by="segment")
    assert int(segments.counts.to_numpy().sum()) == 4338
    assert (moves.counts.loc[NOT_YET_CUSTOMER].sum()
            == segments.counts.loc[NOT_YET_CUSTOMER].sum())
    # nobody who was a customer at the first date can be new at the second
    assert moves.counts.drop(index=NOT_YET_CUSTOMER)["new"].sum() == 0
