"""Shared test helpers (not fixtures): paths, quiet preparation, the real-world files."""

from __future__ import annotations

import warnings
from pathlib import Path

from rfm_loyalty import DataQualityWarning, OrderColumns, prepare_orders, read_orders, rfm_table

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "online_retail.csv.gz"
#: The files of scripts/make_real_world_files.py, and the columns most of them use.
REAL_WORLD = REPO / "tests" / "data" / "real_world"
REAL_WORLD_COLUMNS = OrderColumns(customer="CustomerID", date="InvoiceDate", amount="Amount",
                                  order_id="InvoiceNo")
_SHOWN = ["first_purchase", "last_purchase", "recency_days", "frequency", "monetary_total"]


def quiet_prepare(data, columns=None, **options):
    """prepare_orders with the DataQualityWarning silenced (for property tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return prepare_orders(data, columns, **options)


def real_world_table(name, columns=REAL_WORLD_COLUMNS, **options):
    """Read one real-world file quietly; return its Orders and its customer table.

    The table is {customer: (first, last, recency, frequency, total)}.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        orders = read_orders(REAL_WORLD / name, columns, **options)
    frame = rfm_table(orders)[_SHOWN]
    return orders, {
        customer: (row.first_purchase.strftime("%Y-%m-%d"), row.last_purchase.strftime("%Y-%m-%d"),
                   int(row.recency_days), int(row.frequency), float(row.monetary_total))
        for customer, row in frame.iterrows()
    }


def real_orders_with_products():
    """The real Online Retail lines prepared with their products (StockCode), quietly.

    Skips the calling test when the data are not beside the repository.
    """
    import pandas as pd
    import pytest

    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA} (see shared/data/README.md)")
    lines = pd.read_csv(REAL_DATA, dtype={"CustomerID": str, "InvoiceNo": str,
                                          "StockCode": str})
    columns = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                           unit_price="UnitPrice", order_id="InvoiceNo", product="StockCode")
    return quiet_prepare(lines, columns)
