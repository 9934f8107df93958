"""Tests of the lifecycle cohorts (lifecycle.py) and the real-data end-to-end run."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rfm_loyalty.lifecycle as lifecycle_module
from rfm_loyalty.exceptions import BinningWarning, SchemaError
from rfm_loyalty.lifecycle import (
    ACTIONS,
    LABELS_ZH,
    LIFECYCLE_LABELS,
    SEED_LABELS,
    LifecycleRules,
    lifecycle_from_aggregates,
    lifecycle_labels,
)
from rfm_loyalty.orders import OrderColumns, ReadOptions, prepare_orders
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import assign_segments, segment_summary
from rfm_loyalty.stability import stability_size_grid
from rfm_loyalty.summary import CustomerBase, customer_aggregates, rfm_table

AS_OF = pd.Timestamp("2024-12-31")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"
COLUMNS = [
    "lifecycle", "lifecycle_zh", "days_since_last", "purchases_in_window",
    "purchases_before_window", "action", "action_zh", "rule",
]


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


# --------------------------------------------------------------- boundaries
def test_every_boundary_day():
    days = [0, 45, 46, 89, 90, 179, 180, 360, 361]
    orders = orders_from([(f"d{d:03d}", d, 10.0) for d in days])
    out = lifecycle_labels(orders, as_of=AS_OF)
    assert list(out.columns) == COLUMNS
    assert out["days_since_last"].tolist() == days
    assert out["lifecycle"].tolist() == [
        "new", "new", "cooling", "cooling", "high_recovery", "high_recovery",
        "low_recovery", "low_recovery", "lost",
    ]
    assert out["rule"].tolist()[:3] == [
        "new: last purchase 0-45 days ago, no purchase before the 45-day window",
        "new: last purchase 0-45 days ago, no purchase before the 45-day window",
        "cooling: last purchase 46-89 days ago",
    ]
    assert out.loc["d090", "rule"] == "high_recovery: last purchase 90-179 days ago"
    assert out.loc["d180", "rule"] == "low_recovery: last purchase 180-360 days ago"
    assert out.loc["d361", "rule"] == "lost: last purchase over 360 days ago"


def test_purchases_before_the_window_decide_new_returning_active():
    orders = orders_from([
        ("new", 10, 5),
        ("returning", 10, 5), ("returning", 100, 5),
        ("active", 10, 5), ("active", 100, 5), ("active", 200, 5),
        ("edge_in", 0, 5), ("edge_in", 45, 5),      # day 45 is inside the window
        ("edge_out", 0, 5), ("edge_out", 46, 5),    # day 46 is before it
    ])
    out = lifecycle_labels(orders, as_of=AS_OF)
    assert out.loc["new", "lifecycle"] == "new"
    assert out.loc["returning", "lifecycle"] == "returning"
    assert out.loc["active", "lifecycle"] == "active"
    assert out.loc["edge_in", ["purchases_in_window", "purchases_before_window"]].tolist() == [2, 0]
    assert out.loc["edge_in", "lifecycle"] == "new"
    window_counts = ["purchases_in_window", "purchases_before_window"]
    assert out.loc["edge_out", window_counts].tolist() == [1, 1]
    assert out.loc["edge_out", "lifecycle"] == "returning"
    assert out.loc["active", "rule"] == (
        "active: last purchase 0-45 days ago, >= 2 purchases before the 45-day window"
    )
    assert out.loc["returning", "rule"] == (
        "returning: last purchase 0-45 days ago, 1 purchase before the 45-day window"
    )


def test_same_day_orders_count_as_separate_purchases():
    orders = orders_from([
        ("twice_today", 3, 5), ("twice_today", 3, 7),
        ("twice_long_ago", 100, 5), ("twice_long_ago", 100, 6), ("twice_long_ago", 2, 5),
    ])
    out = lifecycle_labels(orders, as_of=AS_OF)
    assert out.loc["twice_today", "lifecycle"] == "new"
    assert out.loc["twice_today", "purchases_in_window"] == 2
    # two orders on one day 100 days ago are two purchases before the window
    assert out.loc["twice_long_ago", "purchases_before_window"] == 2
    assert out.loc["twice_long_ago", "lifecycle"] == "active"


def test_returns_are_not_purchases():
    orders = orders_from([
        ("returns_only", 5, -20),
        ("late_return", 200, 50), ("late_return", 5, -20),   # a return does not refresh recency
        ("net_zero", 10, 0),
    ])
    out = lifecycle_labels(orders, as_of=AS_OF)
    assert list(out.index) == ["late_return"]  # no purchase -> no row
    assert out.loc["late_return", "days_since_last"] == 200
    assert out.loc["late_return", "lifecycle"] == "low_recovery"
    assert out.loc["late_return", "purchases_in_window"] == 0


def test_purchases_counted_as_configured_in_prepare_orders():
    orders = orders_from([("free_sample", 100, 0), ("free_sample", 5, 10)])
    default = lifecycle_labels(orders, as_of=AS_OF)
    assert default.loc["free_sample", "lifecycle"] == "new"  # a zero order is no purchase
    prepared = prepare_orders(orders, OrderColumns(order_id="order_id"), as_of=AS_OF,
                              zero_amount="purchase")
    configured = lifecycle_labels(prepared, as_of=AS_OF)
    assert configured.loc["free_sample", "purchases_before_window"] == 1
    assert configured.loc["free_sample", "lifecycle"] == "returning"


def test_labels_from_aggregates_equal_labels_from_orders():
    orders = orders_from([("a", 1, 5), ("a", 80, 5), ("b", 200, 5), ("c", 50, 5)])
    rules = LifecycleRules(window_days=60)
    direct = lifecycle_labels(orders, as_of=AS_OF, rules=rules, scheme="seed")
    aggregates = customer_aggregates(orders, as_of=AS_OF, window_days=60)
    via = lifecycle_from_aggregates(aggregates, rules=rules, scheme="seed")
    pd.testing.assert_frame_equal(direct, via)


def test_purchase_on_as_of_and_orders_after_as_of():
    orders = orders_from([("today", 0, 5), ("later", -3, 5), ("mixed", 50, 5), ("mixed", -1, 9)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the orders after as_of are reported as dropped
        out = lifecycle_labels(orders, as_of=AS_OF)
    assert out.loc["today", "days_since_last"] == 0
    assert out.loc["today", "lifecycle"] == "new"
    assert "later" not in out.index  # its only order is after as_of
    assert out.loc["mixed", "days_since_last"] == 50
    assert out.loc["mixed", "lifecycle"] == "cooling"
    # prepared Orders with a later as_of, labelled at an earlier date: same answer
    prepared = prepare_orders(orders, OrderColumns(order_id="order_id"))
    earlier = lifecycle_labels(prepared, as_of=AS_OF)
    pd.testing.assert_frame_equal(earlier, out, check_like=False)
    assert pd.Timestamp(earlier.attrs["as_of"]) == AS_OF


def test_default_as_of_is_the_last_order_date():
    orders = orders_from([("a", 10, 5), ("b", 0, 5)])
    out = lifecycle_labels(orders)
    assert pd.Timestamp(out.attrs["as_of"]) == AS_OF
    assert out["days_since_last"].tolist() == [10, 0]


# ------------------------------------------------------------------- scheme
def test_seed_scheme_marks_the_uncovered_customers_with_the_reason():
    orders = orders_from([
        ("new", 1, 5), ("act", 1, 5), ("act", 99, 5), ("act", 98, 5),
        ("ret", 1, 5), ("ret", 99, 5), ("cool", 60, 5), ("high", 100, 5),
        ("low", 300, 5), ("lost", 500, 5),
    ])
    out = lifecycle_labels(orders, as_of=AS_OF, scheme="seed")
    assert list(out["lifecycle"].cat.categories) == list(SEED_LABELS)
    labels = out["lifecycle"].astype(str).to_dict()
    assert labels == {
        "act": "active", "cool": "unclassified", "high": "high_recovery", "lost": "unclassified",
        "low": "low_recovery", "new": "new", "ret": "unclassified",
    }
    assert out.loc["cool", "rule"] == "unclassified: last purchase 46-89 days ago"
    assert out.loc["lost", "rule"] == "unclassified: last purchase over 360 days ago"
    assert out.loc["ret", "rule"] == (
        "unclassified: last purchase 0-45 days ago with one purchase before the 45-day "
        "window (new needs none, active >= 2)"
    )
    assert out.loc["ret", "lifecycle_zh"] == "未分类"
    assert out.loc["ret", "action"] == ACTIONS["unclassified"].en


def test_labels_actions_and_chinese_names():
    orders = orders_from([("a", 1, 5), ("b", 60, 5), ("c", 120, 5)])
    out = lifecycle_labels(orders, as_of=AS_OF)
    assert out["lifecycle"].cat.ordered
    assert list(out["lifecycle"].cat.categories) == list(LIFECYCLE_LABELS)
    assert out.loc["a", "lifecycle_zh"] == "新顾客"
    assert out.loc["a", "action"] == "Campaign for the second purchase."
    assert out.loc["c", "action_zh"] == "以常规促销为主，关怀信息为辅。"
    assert out.loc["b", "lifecycle_zh"] == "沉默预警"
    assert set(ACTIONS) == set(LIFECYCLE_LABELS) | {"unclassified"} == set(LABELS_ZH)
    assert all(action.en and action.zh for action in ACTIONS.values())
    en, zh = ACTIONS["active"]  # a plain (en, zh) pair
    assert "gifts" in en and "新品" in zh
    for column in ("days_since_last", "purchases_in_window", "purchases_before_window"):
        assert out[column].dtype == np.int64


def test_custom_rules_and_their_texts():
    rules = LifecycleRules(window_days=30, cooling_end_days=60, high_recovery_end_days=120,
                           low_recovery_end_days=240, active_min_prior_purchases=3)
    orders = orders_from([
        ("a", 30, 5), ("a", 31, 5), ("a", 32, 5),    # 2 before the 30-day window: returning
        ("b", 31, 5), ("c", 60, 5), ("d", 240, 5), ("e", 241, 5),
    ])
    out = lifecycle_labels(orders, as_of=AS_OF, rules=rules)
    assert out["lifecycle"].astype(str).tolist() == [
        "returning", "cooling", "high_recovery", "low_recovery", "lost",
    ]
    assert out.loc["a", "rule"] == (
        "returning: last purchase 0-30 days ago, 1 to 2 purchases before the 30-day window"
    )
    assert out.attrs["rules"] == dataclasses.asdict(rules)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_days": 90}, r"0 <= window_days < cooling_end_days .* Got window_days=90"),
        ({"low_recovery_end_days": 180}, r"low_recovery_end_days=180"),
        ({"window_days": -1}, r"window_days=-1"),
        ({"window_days": 45.0}, r"LifecycleRules\.window_days must be a whole number\. Got 45\.0"),
        ({"active_min_prior_purchases": 0}, r"must be >= 1 .* Got 0"),
    ],
)
def test_rules_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LifecycleRules(**kwargs)


def test_argument_errors():
    orders = orders_from([("a", 1, 5)])
    with pytest.raises(ValueError, match=r"'scheme' parameter .* Got 'full' instead"):
        lifecycle_labels(orders, scheme="full")
    with pytest.raises(ValueError, match=r"LifecycleRules instance.*Got \{'window_days': 30\}"):
        lifecycle_labels(orders, rules={"window_days": 30})  # type: ignore[arg-type]


def test_input_not_mutated():
    orders = orders_from([("a", 1, 5), ("a", 100, -2)])
    before = orders.copy()
    lifecycle_labels(orders, as_of=AS_OF)
    pd.testing.assert_frame_equal(orders, before)


def test_counts_come_from_the_core_aggregation(monkeypatch):
    """The labels read customer_aggregates (the engine seam), never the orders."""
    calls = []
    fake = pd.DataFrame(
        {
            "last_purchase": pd.to_datetime(["2024-12-21", "2024-06-01"]),
            "purchases_in_window": [1, 0],
            "purchases_before_window": [3, 2],
        },
        index=pd.Index(["x", "y"], name="customer_id"),
    )
    fake.attrs["as_of"] = AS_OF

    def fake_base(orders, *, as_of=None, window_days=None):
        calls.append((as_of, window_days))
        return CustomerBase(aggregates=fake, as_of=pd.Timestamp(AS_OF), quality=None,  # type: ignore[arg-type]
                            options=ReadOptions(), window_days=window_days)

    monkeypatch.setattr(lifecycle_module, "customer_base", fake_base)
    out = lifecycle_labels("not read", rules=LifecycleRules(window_days=30))  # type: ignore[arg-type]
    assert calls == [(None, 30)]
    assert out["lifecycle"].astype(str).tolist() == ["active", "low_recovery"]
    assert out["days_since_last"].tolist() == [10, 213]


def test_lifecycle_from_aggregates_needs_the_window_columns():
    aggregates = pd.DataFrame({"last_purchase": pd.to_datetime(["2024-12-01"])},
                              index=pd.Index(["x"], name="customer_id"))
    with pytest.raises(SchemaError, match=r"needs the columns \['purchases_in_window', "
                       r"'purchases_before_window'\].*window_days=45"):
        lifecycle_from_aggregates(aggregates)
    aggregates = aggregates.assign(purchases_in_window=1, purchases_before_window=0)
    with pytest.raises(ValueError, match=r"needs the analysis date: pass as_of=\.\.\., or build"):
        lifecycle_from_aggregates(aggregates)


# -------------------------------------------------------- naive comparison
def naive_label(purchase_days, rules):
    d = min(purchase_days)
    before = sum(day > rules.window_days for day in purchase_days)
    if d <= rules.window_days:
        if before == 0:
            return "new"
        return "active" if before >= rules.active_min_prior_purchases else "returning"
    if d < rules.cooling_end_days:
        return "cooling"
    if d < rules.high_recovery_end_days:
        return "high_recovery"
    if d <= rules.low_recovery_end_days:
        return "low_recovery"
    return "lost"


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdef"), st.integers(0, 500), st.sampled_from([-5, 0, 3, 10])),
        min_size=1, max_size=30,
    ),
    st.integers(10, 60),
)
def test_matches_a_naive_implementation(rows, window):
    rules = LifecycleRules(window_days=window, cooling_end_days=window + 40)
    orders = orders_from(rows)
    purchases: dict[str, list[int]] = {}
    for customer, days, amount in rows:
        if amount > 0:
            purchases.setdefault(customer, []).append(days)
    if not purchases:
        return  # no purchase at all: prepare_orders has nothing to label
    out = lifecycle_labels(orders, as_of=AS_OF, rules=rules)
    assert sorted(out.index) == sorted(purchases)  # every purchaser exactly once
    for customer, days in purchases.items():
        assert out.loc[customer, "lifecycle"] == naive_label(days, rules)
        assert out.loc[customer, "days_since_last"] == min(days)
        assert out.loc[customer, "purchases_in_window"] == sum(d <= window for d in days)


# -------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def retail_orders():
    if not DATA.exists():
        pytest.skip(f"real data not found at {DATA} (see ../shared/data/README.md)")
    raw = pd.read_csv(DATA, dtype={"CustomerID": str, "InvoiceNo": str})
    columns = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                           unit_price="UnitPrice", order_id="InvoiceNo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 135,080 lines without a customer id
        return prepare_orders(raw, columns)


@pytest.mark.slow
def test_online_retail_end_to_end(retail_orders):
    """Default scoring, segments and lifecycle on the UCI Online Retail data.

    4,338 customers with a purchase (the README's count after cleaning);
    as_of = 2011-12-09, the last invoice day. 34.4 % bought once, which is below
    the 40 % that would merge the two lowest of five frequency bins, so the
    default 5-bin scoring keeps 5 bins (frequency thresholds 1, 2, 3, 6) and
    does not warn; at 6 bins the ties collapse one frequency bin.
    """
    table = rfm_table(retail_orders)
    assert len(table) == 4338
    with warnings.catch_warnings():
        warnings.simplefilter("error", BinningWarning)
        scorer = RFMScorer().fit(table)
    np.testing.assert_array_equal(scorer.bin_edges_["frequency"], [1, 2, 3, 6])
    np.testing.assert_array_equal(scorer.bin_edges_["recency_days"], [12, 32, 71, 179])
    with pytest.warns(
        BinningWarning,
        match=r"'frequency' score bins: 34\.4% of customers \(1493 of 4338\) share the value 1, "
        r"so only 5 of the 6 requested bins remain",
    ):
        RFMScorer(n_bins=6).fit(table)

    segments = assign_segments(table.join(scorer.transform(table)))
    assert segments["segment"].value_counts(sort=False).to_dict() == {
        "Champions": 549, "Loyal Customers": 743, "Potential Loyalist": 484,
        "New Customers": 67, "Promising": 169, "Need Attention": 121, "About To Sleep": 478,
        "At Risk": 248, "Can't Lose Them": 144, "Hibernating": 560, "Lost": 775, "Other": 0,
    }

    labels = lifecycle_labels(retail_orders)
    assert labels.attrs["as_of"] == "2011-12-09"
    counts = labels["lifecycle"].value_counts(sort=False).to_dict()
    assert counts == {
        "new": 440, "active": 1269, "returning": 364, "cooling": 816,
        "high_recovery": 588, "low_recovery": 772, "lost": 89,
    }
    # lost = last purchase over 360 days before 2011-12-09, i.e. only in the first
    # 13 days of the data (2010-12-01..12-13): the data covers barely a year.
    assert counts["lost"] == int((table["recency_days"] > 360).sum())
    # the seed scheme leaves returning + cooling + lost unclassified
    seed = lifecycle_labels(retail_orders, scheme="seed")
    assert seed["lifecycle"].value_counts()["unclassified"] == 364 + 816 + 89
    joined = table.join(labels)
    summary = segment_summary(joined, by="lifecycle")
    assert summary["customers"].sum() == 4338
    assert summary["revenue"].sum() == pytest.approx(table["monetary_total"].sum())

    # stability x size grid (our proposed definitions, docs/lifecycle.md)
    grid = stability_size_grid(retail_orders)
    assert grid.size_thresholds == pytest.approx((379.95, 1153.62))
    assert grid.counts.to_numpy().tolist() == [[980, 373, 23], [242, 523, 680], [224, 550, 743]]
