"""Tests of loyalty_stages, stage_transitions and the value matrix (rfm_loyalty.loyalty)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.loyalty import (
    CELLS,
    STAGES,
    StageRules,
    loyalty_index,
    loyalty_indicators,
    loyalty_stages,
    loyalty_value_matrix,
    stage_transitions,
)
from rfm_loyalty.migration import NOT_YET_CUSTOMER


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    return frame


STAGE_ROWS = [
    # a: 4 days over 182 days, gaps 60/61/61 (cv ~0.008), 7 days silent: loyal
    ("a", "2024-01-01", 10.0), ("a", "2024-03-01", 10.0), ("a", "2024-05-01", 10.0),
    ("a", "2024-07-01", 10.0),
    # b: 3 days but only 70 days from first to last: repeat
    ("b", "2024-04-01", 10.0), ("b", "2024-05-01", 10.0), ("b", "2024-06-10", 10.0),
    # c: loyal rhythm but 5 gaps overdue (last buy 150 days ago, median gap 30)
    ("c", "2023-07-01", 10.0), ("c", "2023-07-31", 10.0), ("c", "2023-08-30", 10.0),
    ("c", "2023-09-29", 10.0), ("c", "2023-10-29", 10.0), ("c", "2024-02-09", 10.0),
    # d: one purchase day (two orders): first_time
    ("d", "2024-07-01", 10.0), ("d", "2024-07-01", 5.0),
    # e: two days: repeat; promoter in the survey -> advocate
    ("e", "2024-05-01", 10.0), ("e", "2024-06-01", 10.0),
    # f: one day, promoter, but a one-time buyer stays first_time
    ("f", "2024-06-20", 10.0),
    ("z", "2024-07-08", 1.0),  # fixes as_of at 2024-07-08
]


def test_stages_by_hand() -> None:
    survey = pd.DataFrame({"customer_id": ["e", "f", "b"], "score": [10, 9, 6],
                           "date": ["2024-06-05", "2024-06-25", "2024-06-01"]})
    leads = pd.DataFrame({"customer_id": ["x", "y", "a"], "interested": [True, False, True]})
    stages = loyalty_stages(_frame(STAGE_ROWS), survey=survey, leads=leads)
    got = stages.customers["stage"].astype(str).to_dict()
    # c: the gap before its last day is 103, median of (30, 30, 30, 30, 103) = 30,
    # 150 days silent = 5 gaps > 2: not loyal any more
    assert got == {"a": "loyal", "b": "repeat", "c": "repeat", "d": "first_time",
                   "e": "advocate", "f": "first_time", "z": "first_time",
                   "x": "prospect", "y": "suspect"}  # lead a is a buyer: placed by orders
    assert list(stages.customers["stage"].cat.categories) == list(STAGES)
    assert stages.customers.loc["a", "stage_zh"] == "忠诚顾客"
    assert stages.customers.loc["x", "action"].startswith("Convert")
    summary = stages.summary
    assert summary["customers"].tolist() == [1, 1, 3, 2, 1, 1]
    assert summary["share"].sum() == pytest.approx(1.0)
    assert stages.missing == {}


def test_stages_left_out_without_their_inputs() -> None:
    stages = loyalty_stages(_frame(STAGE_ROWS))
    assert list(stages.summary.index) == ["first_time", "repeat", "loyal"]
    assert stages.missing["advocate"].startswith("needs referrals or survey answers")
    assert stages.missing["suspect"] == "needs a leads table (people who never bought): pass leads="


def test_rules_and_referral_dates() -> None:
    rules = StageRules(loyal_min_span_days=60, loyal_max_overdue_ratio=10.0)
    referrals = pd.DataFrame({"customer_id": ["b", "d"], "date": ["2024-07-01", "2024-07-01"]})
    stages = loyalty_stages(_frame(STAGE_ROWS), rules=rules, referrals=referrals)
    got = stages.customers["stage"].astype(str)
    assert got["b"] == "advocate"  # b loyal with a 60-day span, and referred
    assert got["c"] == "loyal"  # overdue allowed up to 10 gaps
    assert got["d"] == "first_time"  # referred, but one purchase day
    early = loyalty_stages(_frame(STAGE_ROWS), referrals=referrals, as_of="2024-06-20")
    assert early.customers.loc["b", "stage"] == "repeat"  # the referral came later
    with pytest.raises(InvalidParameterError, match="'loyal_min_purchase_days' parameter of "
                       "StageRules must be a whole number >= 2. Got 1 instead"):
        StageRules(loyal_min_purchase_days=1)
    with pytest.raises(InvalidParameterError, match="'rules' parameter of loyalty_stages"):
        loyalty_stages(_frame(STAGE_ROWS), rules={"loyal_min_span_days": 60})


def test_transitions_reuse_the_migration_table() -> None:
    moves = stage_transitions(_frame(STAGE_ROWS), "2024-04-15", "2024-07-08")
    assert moves.by == "loyalty_stage"
    counts = moves.counts
    assert list(counts.columns) == ["first_time", "repeat", "loyal"]
    assert list(counts.index) == ["first_time", "repeat", "loyal", NOT_YET_CUSTOMER]
    # at Apr 15: a repeat (3 days over 121 < 180 days), b first_time, c repeat (overdue)
    assert counts.loc["repeat", "loyal"] == 1  # a
    assert counts.loc["first_time", "repeat"] == 1  # b
    assert counts.loc["repeat", "repeat"] == 1  # c
    assert counts.loc[NOT_YET_CUSTOMER].sum() == 4  # d, e, f, z
    assert counts.to_numpy().sum() == 7
    with pytest.raises(ValueError, match="from_date < to_date"):
        stage_transitions(_frame(STAGE_ROWS), "2024-07-08", "2024-04-15")


MATRIX_ROWS = [
    ("a", "2024-01-01", 50.0), ("a", "2024-03-01", 50.0), ("a", "2024-06-01", 50.0),
    ("b", "2024-06-10", 400.0),
    ("c", "2024-02-01", 5.0), ("c", "2024-05-01", 5.0),
    ("d", "2024-06-20", 8.0),
]


def test_matrix_by_hand() -> None:
    matrix = loyalty_value_matrix(_frame(MATRIX_ROWS))
    customers = matrix.customers
    # repeat days 2, 0, 1, 0 -> ranks 1, .375, .75, .375; spans 152, 0, 90, 0 -> the same
    np.testing.assert_allclose(customers["loyalty_index"], [1.0, 0.375, 0.75, 0.375])
    assert matrix.loyalty_cutoff == pytest.approx(0.5625)  # median of the index
    assert matrix.value_cutoff == pytest.approx(80.0)  # median of 150, 400, 10, 8
    assert customers["cell"].astype(str).tolist() == list(CELLS)
    assert matrix.value_name == "revenue"
    cells = matrix.cells
    assert cells["customers"].tolist() == [1, 1, 1, 1]
    np.testing.assert_allclose(cells["value_share"], np.array([150, 400, 10, 8]) / 568)
    assert cells.loc["barnacles", "cell_zh"] == "藤壶"
    assert cells.loc["butterflies", "action"].startswith("Enjoy them while they last")


def test_matrix_uses_profit_with_a_cost_column_and_given_values() -> None:
    frame = _frame(MATRIX_ROWS).assign(cost=lambda t: t["amount"] * 0.5)
    from rfm_loyalty import OrderColumns, prepare_orders

    orders = prepare_orders(frame, OrderColumns(cost="cost"))
    matrix = loyalty_value_matrix(orders, value_split=0.75)
    assert matrix.value_name == "profit"
    assert matrix.value_cutoff == pytest.approx(np.quantile([75, 200, 5, 4], 0.75))
    assert matrix.customers["high_value"].tolist() == [False, True, False, False]
    indicators = loyalty_indicators(orders)
    with pytest.raises(SchemaError, match="needs value= with indicators"):
        loyalty_value_matrix(indicators)
    with pytest.raises(SchemaError, match="value has no figure for 1 of the 4 customers"):
        loyalty_value_matrix(indicators, pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"]))
    with pytest.raises(InvalidParameterError, match="'loyalty_split' parameter"):
        loyalty_value_matrix(orders, loyalty_split=1.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 300)), min_size=1, max_size=30))
def test_loyalty_index_is_the_mean_of_two_percentile_ranks(rows) -> None:
    table = pd.DataFrame(rows, columns=["repeat_purchase_days", "span"])
    table["mean_gap_days"] = np.where(table["repeat_purchase_days"] > 0,
                                      table["span"] / table["repeat_purchase_days"].clip(1),
                                      np.nan)
    table.loc[table["repeat_purchase_days"] == 0, "span"] = 0
    index = loyalty_index(table)
    n = len(table)

    def pct(values):  # average rank / n, written out
        return [(sum(v < x for v in values) + (sum(v == x for v in values) + 1) / 2) / n
                for x in values]

    expected = (np.array(pct(list(table["repeat_purchase_days"])))
                + np.array(pct(list(table["span"])))) / 2
    np.testing.assert_allclose(index.to_numpy(), expected)
    assert ((index > 0) & (index <= 1)).all()
