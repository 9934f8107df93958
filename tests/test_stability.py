"""Tests of the stability x size grid (stability.py)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.stability import (
    SIZE_LABELS,
    STABILITY_LABELS,
    StabilityGrid,
    purchase_gap_stats,
    stability_size_grid,
    stability_size_labels,
)
from rfm_loyalty.summary import rfm_table

AS_OF = pd.Timestamp("2024-12-31")


def orders_from(rows) -> pd.DataFrame:
    """rows: (customer, days before AS_OF, amount); every row is its own order."""
    customer, days, amount = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(customer),
            "order_id": [f"o{i}" for i in range(len(rows))],
            "order_date": [AS_OF - pd.Timedelta(days=int(d)) for d in days],
            "amount": [float(a) for a in amount],
        }
    )


def hand_orders() -> pd.DataFrame:
    return orders_from([
        # regular every 60 days, last 30 days ago, tenure 210: stable; spend 400
        ("regular", 210, 100), ("regular", 150, 100), ("regular", 90, 100), ("regular", 30, 100),
        # gaps 10, 10, 180 (cv 1.34 > 1): static; spend 300
        ("irregular", 230, 100), ("irregular", 220, 100), ("irregular", 210, 50),
        ("irregular", 30, 50),
        # regular every 20 days but the last purchase 200 days ago (> 2 x 20): static
        ("overdue", 260, 50), ("overdue", 240, 50), ("overdue", 220, 50), ("overdue", 200, 50),
        # one purchase 400 days ago: static; spend 20
        ("once", 400, 20),
        # first purchase 100 days ago, already regular: still short_term (tenure < 180)
        ("young", 100, 10), ("young", 70, 10), ("young", 40, 10), ("young", 10, 10),
        # two orders on the same day count as one purchase day
        ("sameday", 300, 5), ("sameday", 300, 5),
    ])


def test_gap_stats_hand_checked():
    stats = purchase_gap_stats(hand_orders(), as_of=AS_OF)
    assert stats.loc["regular", "gap_mean_days"] == 60.0
    assert stats.loc["regular", "gap_cv"] == 0.0
    gaps = np.array([10.0, 10.0, 180.0])
    assert stats.loc["irregular", "gap_mean_days"] == pytest.approx(gaps.mean())
    assert stats.loc["irregular", "gap_cv"] == pytest.approx(gaps.std() / gaps.mean())
    assert np.isnan(stats.loc["once", "gap_mean_days"])
    assert np.isnan(stats.loc["sameday", "gap_cv"])  # one distinct purchase day
    assert stats.index.name == "customer_id"


def test_labels_hand_checked():
    out = stability_size_labels(hand_orders(), as_of=AS_OF, size_thresholds=(100.0, 300.0))
    assert out["stability"].astype(str).to_dict() == {
        "irregular": "static", "once": "static", "overdue": "static", "regular": "stable",
        "sameday": "static", "young": "short_term",
    }
    # thresholds inclusive: 300 is medium, 40 and 20 are small, 400 is large
    assert out["size"].astype(str).to_dict() == {
        "irregular": "medium", "once": "small", "overdue": "medium", "regular": "large",
        "sameday": "small", "young": "small",
    }
    assert list(out["stability"].cat.categories) == list(STABILITY_LABELS)
    assert list(out["size"].cat.categories) == list(SIZE_LABELS)
    assert out.attrs["size_thresholds"] == (100.0, 300.0)


def test_looser_thresholds_change_the_labels():
    out = stability_size_labels(hand_orders(), as_of=AS_OF, max_gap_cv=1.5, max_overdue_ratio=11.0,
                                min_tenure_days=90)
    assert out.loc["irregular", "stability"] == "stable"
    assert out.loc["overdue", "stability"] == "stable"
    assert out.loc["young", "stability"] == "stable"


def test_default_size_is_tertiles_with_ties_kept_together():
    orders = orders_from([(f"c{i}", 10 + i, amount)
                          for i, amount in enumerate([10, 10, 10, 20, 30, 40])])
    out = stability_size_labels(orders, as_of=AS_OF)
    # inverted-cdf tertiles: 10 (2/6 reached at the value 10) and 20
    assert out.attrs["size_thresholds"] == (10.0, 20.0)
    assert out["size"].astype(str).tolist() == ["small"] * 3 + ["medium", "large", "large"]


def test_grid_counts_and_revenue():
    grid = stability_size_grid(hand_orders(), as_of=AS_OF, size_thresholds=(100.0, 300.0))
    assert isinstance(grid, StabilityGrid)
    assert list(grid.counts.index) == list(STABILITY_LABELS)
    assert list(grid.counts.columns) == list(SIZE_LABELS)
    expected = pd.DataFrame(
        [[1, 0, 0], [0, 2, 2], [0, 0, 1]], index=list(STABILITY_LABELS), columns=list(SIZE_LABELS)
    )
    np.testing.assert_array_equal(grid.counts.to_numpy(), expected.to_numpy())
    assert grid.counts.to_numpy().dtype == np.int64
    assert grid.revenue.loc["stable", "large"] == 400.0
    assert grid.revenue.loc["static", "medium"] == 300.0 + 200.0
    assert grid.revenue.loc["static", "small"] == 30.0
    assert grid.revenue.loc["short_term", "small"] == 40.0
    text = str(grid)
    assert "small <= 100 < medium <= 300 < large" in text


def test_customer_table_input_gives_the_same_grid():
    orders = hand_orders()
    table = rfm_table(orders, as_of=AS_OF).join(purchase_gap_stats(orders, as_of=AS_OF))
    from_table = stability_size_grid(table, size_thresholds=(100.0, 300.0))
    from_orders = stability_size_grid(orders, as_of=AS_OF, size_thresholds=(100.0, 300.0))
    pd.testing.assert_frame_equal(from_table.counts, from_orders.counts)
    pd.testing.assert_frame_equal(from_table.revenue, from_orders.revenue)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 400),
                          st.sampled_from([-3, 5, 20, 70])), min_size=1, max_size=40))
def test_grid_reconciles_and_gaps_match_a_naive_loop(rows):
    purchases: dict[str, set[int]] = {}
    for customer, days, amount in rows:
        if amount > 0:
            purchases.setdefault(customer, set()).add(days)
    if not purchases:
        return
    orders = orders_from(rows)
    grid = stability_size_grid(orders, as_of=AS_OF)
    table = rfm_table(orders, as_of=AS_OF)
    assert grid.counts.to_numpy().sum() == len(table)
    assert grid.revenue.to_numpy().sum() == pytest.approx(table["monetary_total"].sum())
    stats = purchase_gap_stats(orders, as_of=AS_OF)
    for customer, days in purchases.items():
        ordered = sorted(days, reverse=True)  # days before as_of: oldest first
        gaps = np.array([a - b for a, b in pairwise(ordered)], dtype=float)
        mean = stats.loc[customer, "gap_mean_days"]
        if len(gaps) == 0:
            assert np.isnan(mean)
        else:
            assert mean == pytest.approx(gaps.mean())
        if len(gaps) >= 2:
            assert stats.loc[customer, "gap_cv"] == pytest.approx(gaps.std() / gaps.mean())


def test_errors():
    orders = hand_orders()
    with pytest.raises(ValueError, match=r"size_thresholds must be two increasing .* Got \(5, 1\)"):
        stability_size_grid(orders, size_thresholds=(5, 1))
    with pytest.raises(ValueError, match=r"The 'min_purchase_days' parameter of "
                       r"stability_size_labels must be a whole number >= 2\. Got 1 instead; "
                       r"pass e\.g\. min_purchase_days=3\."):
        stability_size_labels(orders, min_purchase_days=1)
    with pytest.raises(ValueError, match=r"The 'max_gap_cv' parameter of stability_size_labels "
                       r"must be a positive number > 0\. Got 0 instead; pass e\.g\. "
                       r"max_gap_cv=1\.0\."):
        stability_size_labels(orders, max_gap_cv=0)
    table = rfm_table(orders, as_of=AS_OF)
    with pytest.raises(SchemaError, match=r"missing \['gap_mean_days', 'gap_cv'\].*purchase_gap"):
        stability_size_labels(table)
    full = table.join(purchase_gap_stats(orders, as_of=AS_OF))
    with pytest.raises(ValueError, match=r"as_of applies to orders only.*Got as_of='2024-01-01'"):
        stability_size_labels(full, as_of="2024-01-01")


def test_input_not_mutated():
    orders = hand_orders()
    before = orders.copy()
    stability_size_grid(orders, as_of=AS_OF)
    pd.testing.assert_frame_equal(orders, before)
