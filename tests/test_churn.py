"""Tests of rfm_loyalty.churn: churn flags, cohort retention, customer flow."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty.churn import (
    churn_from_rfm,
    churn_summary,
    churn_summary_from,
    churn_table,
    cohort_retention,
    customer_flow,
)
from rfm_loyalty.orders import OrderColumns, as_orders, prepare_orders


def _orders(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    customers, dates, amounts = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "customer_id": list(customers),
            "order_date": pd.to_datetime(list(dates), format="ISO8601"),
            "amount": list(amounts),
        }
    )


def _random_orders(seed: int, n_rows: int = 300, n_customers: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2022-01-01")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n_rows).astype(str),
            "order_date": start
            + pd.to_timedelta(rng.integers(0, 700, n_rows), unit="D")
            + pd.to_timedelta(rng.integers(0, 86_400, n_rows), unit="s"),
            # about 1 in 8 orders is a return
            "amount": np.round(rng.gamma(2.0, 20.0, n_rows) * rng.choice([1, 1, 1, 1, 1, 1, 1, -1],
                                                                          n_rows), 2),
        }
    )


# ---------------------------------------------------------------- churn_table
CHURN_ROWS = [
    ("a", "2024-01-01 09:00", 10.0),
    ("a", "2024-01-11 18:30", 20.0),
    ("a", "2024-01-31", 5.0),
    ("b", "2023-01-01", 8.0),
    ("c", "2023-03-07 10:00", 4.0),
    ("c", "2023-03-07 16:00", 6.0),  # second order on the same day: one purchase day
    ("c", "2023-06-01", 9.0),
    ("d", "2023-03-07", 3.0),  # exactly 360 days before as_of: not churned
    ("e", "2023-03-06", 3.0),  # 361 days: churned
    ("f", "2024-02-01", -5.0),  # only a return: not a customer
]


def test_churn_table_hand_checked() -> None:
    table = churn_table(_orders(CHURN_ROWS), as_of="2024-03-01")
    assert list(table.index) == ["a", "b", "c", "d", "e"]
    assert list(table.columns) == [
        "last_purchase",
        "days_since_last",
        "churned",
        "purchase_days",
        "median_gap_days",
        "silence_in_gaps",
    ]
    # Jan 31 -> Mar 1 2024 is 30 days (leap year); 2023-01-01 -> 2024-03-01 is 425;
    # 2023-06-01 -> 2024-03-01 is 274; 2023-03-07 -> 2024-03-01 is 360.
    assert table["days_since_last"].tolist() == [30, 425, 274, 360, 361]
    assert table["churned"].tolist() == [False, True, False, False, True]
    assert table["purchase_days"].tolist() == [3, 1, 2, 1, 1]
    # a: gaps 10 and 20 -> 15; c: Mar 7 -> Jun 1 = 86 days
    np.testing.assert_array_equal(table["median_gap_days"], [15.0, np.nan, 86.0, np.nan, np.nan])
    np.testing.assert_allclose(
        table["silence_in_gaps"], [2.0, np.nan, 274 / 86, np.nan, np.nan], equal_nan=True
    )
    assert table["last_purchase"].tolist() == list(
        pd.to_datetime(["2024-01-31", "2023-01-01", "2023-06-01", "2023-03-07", "2023-03-06"])
    )
    assert table.dtypes.astype(str).tolist()[1:] == ["int64", "bool", "int64", "float64",
                                                     "float64"]
    assert table.attrs["as_of"] == "2024-03-01"
    assert table.attrs["churn_days"] == 360


def test_churn_table_threshold_is_strict() -> None:
    table = churn_table(_orders(CHURN_ROWS), as_of="2024-03-01", churn_days=274)
    assert table.loc["c", "churned"] == np.False_  # 274 days is not > 274
    table = churn_table(_orders(CHURN_ROWS), as_of="2024-03-01", churn_days=273)
    assert table.loc["c", "churned"] == np.True_


def test_churn_table_median_gap_even_count_and_order_independent() -> None:
    rows = [("x", d, 1.0) for d in ["2024-01-01", "2024-01-02", "2024-01-08", "2024-01-18",
                                     "2024-01-19"]]
    # gaps 1, 6, 10, 1 -> median 3.5
    frame = _orders(rows).sample(frac=1.0, random_state=3)
    table = churn_table(frame, as_of="2024-01-26")
    assert table.loc["x", "median_gap_days"] == 3.5
    assert table.loc["x", "silence_in_gaps"] == 2.0


def _naive_churn(orders: pd.DataFrame, as_of: str, churn_days: int) -> pd.DataFrame:
    frame = as_orders(orders, as_of=as_of).frame
    stamp = pd.Timestamp(as_of)
    out = {}
    for customer, group in frame[frame["is_purchase"]].groupby("customer_id"):
        days = sorted(set(group["order_date"].dt.normalize()))
        since = (stamp - days[-1]).days
        gaps = [(b - a).days for a, b in itertools.pairwise(days)]
        median = float(np.median(gaps)) if gaps else np.nan
        out[customer] = (since, since > churn_days, median, since / median)
    return pd.DataFrame.from_dict(
        out, orient="index", columns=["days_since_last", "churned", "median_gap_days",
                                      "silence_in_gaps"]
    ).sort_index()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_churn_table_matches_naive(seed: int) -> None:
    orders = _random_orders(seed)
    table = churn_table(orders, as_of="2023-12-01", churn_days=120)
    naive = _naive_churn(orders, "2023-12-01", 120)
    got = table[naive.columns].sort_index()
    assert list(got.index) == list(naive.index)
    pd.testing.assert_frame_equal(got, naive, check_dtype=False, check_names=False)


def test_churn_table_errors_and_no_mutation() -> None:
    orders = _orders(CHURN_ROWS)
    before = orders.copy()
    with pytest.raises(ValueError, match=r"'churn_days' parameter of churn_table must be a "
                                         r"whole number of days >= 1"):
        churn_table(orders, churn_days=0)
    with pytest.raises(TypeError, match=r"whole number of days >= 1. Got 30.5"):
        churn_table(orders, churn_days=30.5)  # type: ignore[arg-type]
    churn_table(orders, as_of="2024-03-01")
    pd.testing.assert_frame_equal(orders, before)


# -------------------------------------------------------------- churn_summary
SUMMARY_ROWS = [
    ("n", "2024-02-20", 10.0),  # new (d = 10)
    ("r", "2023-11-01", 20.0),  # high_recovery (d = 121)
    ("r", "2023-02-01", 50.0),  # older than 365 days: not recent revenue
    ("k", "2024-01-01", 30.0),  # cooling (d = 60)
    ("k", "2024-01-02", -4.0),  # a return inside the window nets the revenue
    ("w", "2023-06-01", 7.0),  # low_recovery (d = 274)
    ("l", "2022-06-01", 5.0),  # lost (d = 639)
]


def test_churn_summary_by_lifecycle_hand_checked() -> None:
    summary = churn_summary(_orders(SUMMARY_ROWS), by="lifecycle", as_of="2024-03-01")
    assert list(summary.columns) == [
        "customers",
        "churned",
        "churn_rate",
        "recent_revenue",
        "at_risk_customers",
        "revenue_at_risk",
        "revenue_at_risk_share",
    ]
    got = summary.loc[["new", "cooling", "high_recovery", "low_recovery", "lost"]]
    assert got["customers"].tolist() == [1, 1, 1, 1, 1]
    assert got["churned"].tolist() == [0, 0, 0, 0, 1]
    assert got["recent_revenue"].tolist() == [10.0, 26.0, 20.0, 7.0, 0.0]
    assert got["revenue_at_risk"].tolist() == [0.0, 26.0, 20.0, 7.0, 0.0]
    np.testing.assert_allclose(got["revenue_at_risk_share"], [0, 26 / 53, 20 / 53, 7 / 53, 0])
    assert summary["customers"].sum() == 5
    assert summary.loc["lost", "churn_rate"] == 1.0
    # every label is listed; one with no customer has zeros and an undefined rate
    assert list(summary.index) == ["new", "active", "returning", "cooling", "high_recovery",
                                   "low_recovery", "lost"]
    assert summary.index.name == "lifecycle"
    assert summary.loc["active", "customers"] == 0
    assert np.isnan(summary.loc["active", "churn_rate"])


def test_churn_summary_custom_labels_and_errors() -> None:
    orders = _orders(SUMMARY_ROWS)
    labels = pd.Series({"n": "x", "r": "x", "k": "y", "w": "y", "l": "y"})
    summary = churn_summary(orders, by=labels, as_of="2024-03-01")
    assert summary["customers"].to_dict() == {"x": 2, "y": 3}
    assert summary["churned"].to_dict() == {"x": 0, "y": 1}
    assert summary.loc["y", "churn_rate"] == pytest.approx(1 / 3)
    assert summary["revenue_at_risk"].to_dict() == {"x": 20.0, "y": 33.0}
    with pytest.raises(ValueError, match=r"must hold a label for every customer.*1 are missing"):
        churn_summary(orders, by=labels.drop("n"), as_of="2024-03-01")
    with pytest.raises(ValueError, match=r"'by' parameter of churn_summary .* Got 'rfm'"):
        churn_summary(orders, by="rfm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'revenue_window_days' parameter of churn_summary "
                                         r"must be a whole number of days >= 1. Got 0"):
        churn_summary(orders, revenue_window_days=0)
    # a missing label (NaN) counts as missing too
    with pytest.raises(ValueError, match=r"1 are missing, e.g. \['l'\]"):
        churn_summary(orders, by=labels.where(labels.index != "l"), as_of="2024-03-01")


def test_churn_summary_by_segment_counts_everyone() -> None:
    orders = _random_orders(5, n_rows=400, n_customers=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties may collapse score bins on tiny data
        summary = churn_summary(orders, by="segment", as_of="2023-12-01")
    table = churn_table(orders, as_of="2023-12-01")
    assert summary["customers"].sum() == len(table)
    assert summary["churned"].sum() == table["churned"].sum()


# ----------------------------------------------------------- cohort_retention
COHORT_ROWS = [
    ("a", "2024-01-05", 10.0),
    ("a", "2024-03-02", 20.0),
    ("b", "2024-01-20", 5.0),
    ("b", "2024-02-11", 8.0),
    ("b", "2024-02-15", 2.0),  # second purchase in the same month counts once
    ("c", "2024-02-03", 7.0),
    ("c", "2024-03-10", -3.0),  # a return: revenue, not a purchase
    ("d", "2024-03-30", 4.0),
]


def test_cohort_retention_customers_by_eye() -> None:
    matrix = cohort_retention(_orders(COHORT_ROWS), period="M", as_of="2024-03-31")
    expected = pd.DataFrame(
        {
            "cohort_size": [2, 1, 1],
            0: [2.0, 1.0, 1.0],
            1: [1.0, 0.0, np.nan],
            2: [1.0, np.nan, np.nan],
        },
        index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03"], freq="M", name="cohort"),
    )
    expected.columns = pd.Index(list(expected.columns), name="periods_since_acquisition")
    pd.testing.assert_frame_equal(matrix, expected)


def test_cohort_retention_rates_and_revenue_by_eye() -> None:
    orders = _orders(COHORT_ROWS)
    rates = cohort_retention(orders, metric="retention", as_of="2024-03-31")
    np.testing.assert_array_equal(
        rates[[0, 1, 2]].to_numpy(), [[1.0, 0.5, 0.5], [1.0, 0.0, np.nan], [1.0, np.nan, np.nan]]
    )
    revenue = cohort_retention(orders, metric="revenue", as_of="2024-03-31")
    np.testing.assert_array_equal(
        revenue[[0, 1, 2]].to_numpy(),
        [[15.0, 10.0, 20.0], [7.0, -3.0, np.nan], [4.0, np.nan, np.nan]],
    )


def test_cohort_retention_quarters_and_gaps() -> None:
    # a cohort with no acquisitions is absent; an empty observed period is 0
    rows = [("a", "2023-01-10", 1.0), ("a", "2023-10-01", 1.0), ("b", "2023-07-01", 1.0)]
    matrix = cohort_retention(_orders(rows), period="Q", as_of="2023-12-31")
    assert [str(p) for p in matrix.index] == ["2023Q1", "2023Q3"]
    np.testing.assert_array_equal(
        matrix[[0, 1, 2, 3]].to_numpy(), [[1, 0, 0, 1], [1, 0, np.nan, np.nan]]
    )


def _naive_cohorts(orders: pd.DataFrame, as_of: str, period: str) -> dict[tuple[str, int], int]:
    frame = as_orders(orders, as_of=as_of).frame
    buys = frame[frame["is_purchase"]]
    cells: dict[tuple[str, int], int] = {}
    for _, group in buys.groupby("customer_id"):
        periods = group["order_date"].dt.to_period(period)
        first = periods.min()
        for p in set(periods):
            key = (str(first), (p - first).n)
            cells[key] = cells.get(key, 0) + 1
    return cells


@pytest.mark.parametrize(("seed", "period"), [(0, "M"), (1, "W"), (2, "Q")])
def test_cohort_retention_matches_naive(seed: int, period: str) -> None:
    orders = _random_orders(seed)
    matrix = cohort_retention(orders, period=period, as_of="2023-11-15")  # type: ignore[arg-type]
    naive = _naive_cohorts(orders, "2023-11-15", period)
    values = matrix.drop(columns="cohort_size")
    got = {
        (str(c), int(k)): int(v)
        for (c, k), v in values.stack().items()  # stack drops NaN
        if v > 0
    }
    assert got == naive
    # column 0 is the cohort itself
    np.testing.assert_array_equal(values[0].to_numpy(), matrix["cohort_size"].to_numpy())


def test_cohort_retention_errors() -> None:
    orders = _orders(COHORT_ROWS)
    with pytest.raises(ValueError, match=r"'metric' parameter of cohort_retention .* Got 'rate'"):
        cohort_retention(orders, metric="rate")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'period' parameter of cohort_retention .* Got 'ME'"):
        cohort_retention(orders, period="ME")  # type: ignore[arg-type]
    returns_only = _orders([("a", "2024-01-01", -5.0)])
    with pytest.raises(ValueError, match="cohort_retention found no purchase"):
        cohort_retention(returns_only)


# -------------------------------------------------------------- customer_flow
FLOW_ROWS = [
    ("a", "2024-01-10", 10.0),
    ("b", "2024-01-20", 20.0),
    ("a", "2024-03-05", 5.0),
    ("c", "2024-03-25", 7.0),
    ("b", "2024-04-25", 8.0),
]


def test_customer_flow_hand_checked() -> None:
    flow = customer_flow(_orders(FLOW_ROWS), freq="M", churn_days=40, as_of="2024-04-30")
    counts = flow[["active_start", "new", "retained", "reactivated", "churned", "active_end"]]
    # Feb 29: a silent 50 days (> 40) churns, b 40 days stays. Mar 31: a is back,
    # c is new, b (71 days) churns. Apr 30: a (56 days) churns, b is back, c stays.
    expected = pd.DataFrame(
        [[0, 2, 0, 0, 0, 2], [2, 0, 1, 0, 1, 1], [1, 1, 0, 1, 1, 2], [2, 0, 1, 1, 1, 2]],
        index=pd.PeriodIndex(["2024-01", "2024-02", "2024-03", "2024-04"], freq="M",
                             name="period"),
        columns=counts.columns,
    )
    pd.testing.assert_frame_equal(counts, expected)
    assert flow["revenue_new"].tolist() == [30.0, 0.0, 7.0, 0.0]
    assert flow["revenue_existing"].tolist() == [0.0, 0.0, 5.0, 8.0]
    np.testing.assert_array_equal(flow["churn_rate"], [np.nan, 0.5, 1.0, 0.5])


def test_customer_flow_revenue_leaves_out_orders_before_a_first_purchase() -> None:
    # a return before anybody's first purchase (a period before the flow's
    # first), a return of c before c's first purchase, and a customer who only
    # returned: none of them is revenue of a new or an existing customer
    rows = [*FLOW_ROWS, ("a", "2023-12-05", -4.0), ("c", "2024-02-10", -3.0),
            ("z", "2024-03-01", -9.0)]
    flow = customer_flow(_orders(rows), freq="M", churn_days=40, as_of="2024-04-30")
    assert flow.index[0] == pd.Period("2024-01", freq="M")
    assert flow["revenue_new"].tolist() == [30.0, 0.0, 7.0, 0.0]
    assert flow["revenue_existing"].tolist() == [0.0, 0.0, 5.0, 8.0]
    assert flow["period_end"].tolist() == list(
        pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"])
    )


def test_customer_flow_partial_last_period_and_empty_periods() -> None:
    rows = [("a", "2024-01-10", 10.0), ("b", "2024-04-02", 3.0)]
    flow = customer_flow(_orders(rows), churn_days=45, as_of="2024-04-10")
    assert [str(p) for p in flow.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert flow["period_end"].iloc[-1] == pd.Timestamp("2024-04-10")
    # a: 20 days at Jan 31, 50 days at Feb 29 -> churned in February
    assert flow["active_end"].tolist() == [1, 0, 0, 1]
    assert flow["churned"].tolist() == [0, 1, 0, 0]
    assert flow["new"].tolist() == [1, 0, 0, 1]


def _naive_flow(orders: pd.DataFrame, as_of: str, freq: str, churn_days: int) -> pd.DataFrame:
    prepared = as_orders(orders, as_of=as_of)
    frame = prepared.frame
    buys = frame[frame["is_purchase"]].copy()
    buys["day"] = buys["order_date"].dt.normalize()
    first = buys.groupby("customer_id")["day"].min()
    periods = pd.period_range(buys["day"].min(), prepared.as_of, freq=freq)
    rows = []
    previous: set[str] = set()
    for p in periods:
        end = min(p.end_time.normalize(), prepared.as_of)
        seen = buys[buys["day"] <= end]
        last = seen.groupby("customer_id")["day"].max()
        active = {c for c, d in last.items() if (end - d).days <= churn_days}
        firsts = {c for c, d in first.items() if d.to_period(freq) == p}
        rows.append(
            {
                "active_start": len(previous),
                "new": len(active & firsts),
                "retained": len(previous & active),
                "reactivated": len(active - previous - firsts),
                "churned": len(previous - active),
                "active_end": len(active),
            }
        )
        previous = active
    return pd.DataFrame(rows, index=pd.PeriodIndex(periods, name="period"))


@pytest.mark.parametrize(
    ("seed", "freq", "churn_days"), [(0, "M", 60), (1, "W", 30), (2, "Q", 100), (3, "M", 31)]
)
def test_customer_flow_matches_naive(seed: int, freq: str, churn_days: int) -> None:
    orders = _random_orders(seed)
    flow = customer_flow(orders, freq=freq, churn_days=churn_days,  # type: ignore[arg-type]
                         as_of="2023-11-15")
    naive = _naive_flow(orders, "2023-11-15", freq, churn_days)
    pd.testing.assert_frame_equal(flow[naive.columns], naive, check_dtype=False)


def test_customer_flow_errors() -> None:
    orders = _orders(FLOW_ROWS)
    with pytest.raises(ValueError, match=r"at least the longest period length for freq='M' "
                                         r"\(31 days\).*Got 30"):
        customer_flow(orders, freq="M", churn_days=30)
    with pytest.raises(ValueError, match=r"'freq' parameter of customer_flow .* Got 'month'"):
        customer_flow(orders, freq="month")  # type: ignore[arg-type]


# ----------------------------------------------------------- property tests
order_rows = st.lists(
    st.tuples(
        st.sampled_from(list("abcdefgh")),
        st.integers(min_value=0, max_value=500),
        st.floats(min_value=-50, max_value=200, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=40,
)


def _frame_from(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    start = pd.Timestamp("2023-01-01")
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "order_date": [start + pd.Timedelta(days=r[1]) for r in rows],
            # keep at least one purchase so that every table is defined, even
            # when returns at the same timestamp are summed into that order
            "amount": [abs(r[2]) + 10_000 if i == 0 else r[2] for i, r in enumerate(rows)],
        }
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=order_rows, period=st.sampled_from(["W", "M", "Q"]))
def test_property_cohort_sizes_sum_to_customers(rows: list, period: str) -> None:
    frame = _frame_from(rows)
    prepared = prepare_orders(frame, OrderColumns())
    buyers = prepared.frame.loc[prepared.frame["is_purchase"], "customer_id"].nunique()
    matrix = cohort_retention(prepared, period=period)  # type: ignore[arg-type]
    assert matrix["cohort_size"].sum() == buyers
    assert (matrix[0] == matrix["cohort_size"]).all()
    values = matrix.drop(columns="cohort_size").to_numpy()
    observed = ~np.isnan(values)
    # cells never exceed the cohort; NaN only after as_of, i.e. to the right of a row
    assert (values[observed] <= np.repeat(matrix["cohort_size"].to_numpy()[:, None],
                                          values.shape[1], axis=1)[observed]).all()
    assert (np.diff(observed.astype(int), axis=1) <= 0).all()
    # shuffling the rows changes nothing
    shuffled = cohort_retention(frame.sample(frac=1.0, random_state=1),
                                period=period)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(matrix, shuffled)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=order_rows, churn_days=st.integers(min_value=31, max_value=200))
def test_property_flow_identities(rows: list, churn_days: int) -> None:
    prepared = prepare_orders(_frame_from(rows), OrderColumns())
    flow = customer_flow(prepared, freq="M", churn_days=churn_days)
    start, end = flow["active_start"], flow["active_end"]
    assert (end == start + flow["new"] + flow["reactivated"] - flow["churned"]).all()
    assert (flow["retained"] + flow["churned"] == start).all()
    assert (start.iloc[1:].to_numpy() == end.iloc[:-1].to_numpy()).all()
    assert start.iloc[0] == 0
    assert (flow[["new", "retained", "reactivated", "churned"]] >= 0).all().all()
    buyers = prepared.frame.loc[prepared.frame["is_purchase"], "customer_id"].nunique()
    assert flow["new"].sum() == buyers
    # the last period's active customers are the ones churn_table does not flag
    table = churn_table(prepared, churn_days=churn_days)
    assert end.iloc[-1] == (~table["churned"]).sum()
    # revenue of customers with a purchase is split between new and existing
    frame = prepared.frame
    buyer_ids = frame.loc[frame["is_purchase"], "customer_id"].unique()
    first = frame[frame["is_purchase"]].groupby("customer_id")["order_date"].min().dt.normalize()
    counted = frame[frame["customer_id"].isin(buyer_ids)]
    counted = counted[counted["order_date"].dt.to_period("M").to_numpy()
                      >= first.reindex(counted["customer_id"]).dt.to_period("M").to_numpy()]
    assert (flow["revenue_new"] + flow["revenue_existing"]).sum() == pytest.approx(
        counted["amount"].sum()
    )


# ------------------------------------------------------------------ real data


@pytest.mark.slow
def test_real_data_end_to_end(retail: object) -> None:
    table = churn_table(retail, churn_days=360)  # type: ignore[arg-type]
    assert table.index.is_unique
    assert len(table) == 4338  # shared/data/README.md: 4,338 customers with a purchase
    # 2011-12-09 minus 360 days is 2010-12-14: only customers last seen in the first
    # two weeks of the data can be churned
    churned = table.loc[table["churned"], "last_purchase"]
    assert 0 < len(churned) < 200
    assert churned.max() < pd.Timestamp("2010-12-14") <= table.loc[~table["churned"],
                                                                    "last_purchase"].min()
    flow = customer_flow(retail, freq="M", churn_days=90)  # type: ignore[arg-type]
    assert [str(flow.index[0]), str(flow.index[-1])] == ["2010-12", "2011-12"]
    assert flow["new"].sum() == len(table)
    assert (flow["active_end"] == flow["active_start"] + flow["new"] + flow["reactivated"]
            - flow["churned"]).all()
    matrix = cohort_retention(retail, metric="retention")  # type: ignore[arg-type]
    assert matrix["cohort_size"].sum() == len(table)
    assert matrix.shape == (13, 14)
    # the December 2010 cohort is observed for 13 periods, the last cohort for one
    assert matrix.iloc[0].notna().all()
    assert matrix.iloc[-1].notna().sum() == 2
    summary = churn_summary(retail, by="lifecycle")  # type: ignore[arg-type]
    assert summary["customers"].sum() == len(table)


def test_building_from_tables_in_hand_gives_the_same_tables() -> None:
    # analyze() uses these to avoid aggregating the orders again
    from rfm_loyalty.datasets import load_sample_orders
    from rfm_loyalty.lifecycle import lifecycle_labels
    from rfm_loyalty.summary import customer_base, rfm_table

    orders = prepare_orders(load_sample_orders(), OrderColumns(order_id="order_id"))
    base = customer_base(orders, window_days=45)
    table = churn_from_rfm(base, rfm_table(base), churn_days=180)
    pd.testing.assert_frame_equal(table, churn_table(orders, churn_days=180))
    assert table.attrs == churn_table(orders, churn_days=180).attrs
    summary = churn_summary_from(base, table, lifecycle_labels(base)["lifecycle"],
                                 by="lifecycle")
    expected = churn_summary(orders, churn_days=180)
    pd.testing.assert_frame_equal(summary, expected)
    assert summary.attrs == expected.attrs
