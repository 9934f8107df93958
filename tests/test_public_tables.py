"""Every table the library returns can be written to Parquet and leaves its inputs alone."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from rfm_loyalty import (
    OrderColumns,
    assign_segments,
    btyd_summary,
    churn_summary,
    churn_table,
    cohort_retention,
    concentration_by,
    customer_aggregates,
    customer_flow,
    lifecycle_labels,
    prepare_orders,
    rfm_table,
    segment_summary,
)
from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.scoring import RFMScorer

from .helpers import quiet_prepare


@pytest.fixture(scope="module")
def orders():
    return prepare_orders(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"))


@pytest.fixture(scope="module")
def customers(orders):
    table = rfm_table(orders)
    with pytest.warns(UserWarning):  # a BinningWarning on the sample's one-time buyers
        scored = RFMScorer().fit_transform(table)
    labelled = assign_segments(table.join(scored))
    return labelled.join(lifecycle_labels(orders)[["lifecycle"]])


def tables(orders, customers):
    yield "rfm_table", rfm_table(orders)
    yield "btyd_summary", btyd_summary(orders)
    yield "customer_aggregates", customer_aggregates(orders, window_days=45)
    yield "lifecycle_labels", lifecycle_labels(orders)
    yield "churn_table", churn_table(orders)
    yield "churn_summary", churn_summary(orders, by="lifecycle")
    yield "cohort_retention", cohort_retention(orders)
    yield "customer_flow", customer_flow(orders, churn_days=360)
    yield "segment_summary", segment_summary(customers, by="segment")
    yield "concentration_by", concentration_by(customers, by="segment", profit=None)


def test_every_returned_table_writes_to_parquet_with_its_attrs(orders, customers):
    for name, table in tables(orders, customers):
        buffer = io.BytesIO()
        if name == "cohort_retention":
            # periods since acquisition are integer column names beside "cohort_size":
            # Parquet stores the names as text, and pandas says so
            with pytest.warns(UserWarning, match="column names of mixed type"):
                table.to_parquet(buffer)
        else:
            table.to_parquet(buffer)  # pandas writes attrs as JSON: they must be plain values
        back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
        assert back.attrs == table.attrs, name
        if "as_of" in table.attrs:
            assert table.attrs["as_of"] == "2024-12-31", name


def test_concentration_by_leaves_the_callers_categories_alone(customers):
    before = customers["segment"].cat.categories.copy()
    concentration_by(customers, by="segment", profit=None)
    assert customers["segment"].cat.categories.name == before.name
    pd.testing.assert_index_equal(customers["segment"].cat.categories, before)


def test_quiet_prepare_helper_matches_prepare(orders):
    again = quiet_prepare(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"))
    pd.testing.assert_frame_equal(again.frame, orders.frame)
