"""Shared test helpers (not fixtures): paths and quiet preparation."""

from __future__ import annotations

import warnings
from pathlib import Path

from rfm_loyalty import DataQualityWarning, prepare_orders

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "online_retail.csv.gz"


def quiet_prepare(data, columns=None, **options):
    """prepare_orders with the DataQualityWarning silenced (for property tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return prepare_orders(data, columns, **options)
