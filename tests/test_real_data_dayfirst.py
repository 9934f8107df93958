"""The real Online Retail file rewritten with day-first dates reads exactly as the original.

The rewritten file (``%d/%m/%Y %H:%M``, as a European spreadsheet saves it) is
written into a temporary directory once per module; it is not shipped.
Skipped when the real data is absent (see shared/data/README.md).
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from rfm_loyalty import DataQualityWarning, OrderColumns, SchemaError, read_orders, rfm_table

from .helpers import REAL_DATA

COLUMNS = OrderColumns(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
                       unit_price="UnitPrice", order_id="InvoiceNo")
DAY_FIRST = "%d/%m/%Y %H:%M"


def quiet_read(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return read_orders(path, COLUMNS, **options)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The original file, the day-first copy and the 1-9 December 2011 slice of both."""
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA} (see shared/data/README.md)")
    lines = pd.read_csv(REAL_DATA, dtype=str, keep_default_na=False)
    stamps = pd.to_datetime(lines["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    assert (stamps.dt.second == 0).all()  # nothing is lost by writing minutes only
    folder = tmp_path_factory.mktemp("dayfirst")
    out = {"original": REAL_DATA}
    day_first = lines.assign(InvoiceDate=stamps.dt.strftime(DAY_FIRST))
    out["day_first"] = folder / "online_retail_dayfirst.csv"
    day_first.to_csv(out["day_first"], index=False)
    december = ((stamps >= "2011-12-01") & (stamps < "2011-12-10")).to_numpy()
    out["december"] = folder / "online_retail_1_9_dec_2011.csv"
    lines[december].to_csv(out["december"], index=False)
    out["december_day_first"] = folder / "online_retail_1_9_dec_2011_dayfirst.csv"
    day_first[december].to_csv(out["december_day_first"], index=False)
    return out


@pytest.fixture(scope="module")
def original_table(files):
    return rfm_table(quiet_read(files["original"]))


def test_day_first_file_gives_exactly_the_original_customer_table(files, original_table):
    # one year of dates: days above 12 settle the reading
    orders = quiet_read(files["day_first"])
    assert orders.quality.readings["date"] == (
        "NN/NN/YYYY (day-first or month-first), format '%d/%m/%Y %H:%M'; day-first "
        "(settled by values such as '13/12/2010 09:29')"
    )
    assert orders.as_of == pd.Timestamp("2011-12-09")
    pd.testing.assert_frame_equal(rfm_table(orders), original_table)
    assert len(original_table) == 4338


def test_day_first_file_with_dayfirst_given(files, original_table):
    orders = quiet_read(files["day_first"], dayfirst=True)
    assert orders.quality.readings["date"].endswith("day-first (given as dayfirst=True)")
    pd.testing.assert_frame_equal(rfm_table(orders), original_table)


def test_the_1_to_9_december_slice_is_ambiguous_without_dayfirst(files):
    with pytest.raises(SchemaError) as caught:
        quiet_read(files["december_day_first"])
    message = str(caught.value)
    assert message == (
        "Column 'InvoiceDate' holds dates that read both day-first and month-first: no value "
        "has a number above 12 before the year (e.g. '01/12/2011 08:12', '01/12/2011 08:14', "
        "'01/12/2011 08:18'). Read day-first ('%d/%m/%Y %H:%M') they run from 2011-12-01 to "
        "2011-12-09; read month-first ('%m/%d/%Y %H:%M') they run from 2011-01-12 to "
        "2011-09-12. Pass dayfirst=True or dayfirst=False to say which reading is right.")


def test_the_1_to_9_december_slice_reads_right_with_dayfirst(files):
    expected = rfm_table(quiet_read(files["december"]))
    orders = quiet_read(files["december_day_first"], dayfirst=True)
    assert orders.as_of == pd.Timestamp("2011-12-09")
    pd.testing.assert_frame_equal(rfm_table(orders), expected)
    assert len(expected) > 500
