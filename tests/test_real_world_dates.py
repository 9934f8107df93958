"""The date files of tests/data/real_world/ (written by scripts/real_world/dates.py).

Each file is read as a user would read it; the expected customer table or
error text is written here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rfm_loyalty import DataQualityWarning, SchemaError, read_orders

from .helpers import REAL_WORLD, REAL_WORLD_COLUMNS, real_world_table

#: Six lines of February-March 2024 (the day-first, Chinese and Excel files hold the
#: same orders; B22's return of 5.50 is in the day-first file only).
FEBRUARY = {
    "A17": ("2024-02-01", "2024-02-13", 23, 2, 32.25),
    "B22": ("2024-02-03", "2024-03-07", 0, 2, 75.50),
    "C09": ("2024-02-25", "2024-02-25", 11, 1, 99.99),
}


def test_day_first_csv_is_settled_by_its_days_above_12():
    orders, customers = real_world_table("dates_day_first.csv")
    assert customers == {**FEBRUARY, "B22": ("2024-02-03", "2024-03-07", 0, 2, 70.00)}
    assert orders.as_of == pd.Timestamp("2024-03-07")
    assert orders.quality.readings["date"] == (
        "NN/NN/YYYY (day-first or month-first), format '%d/%m/%Y %H:%M'; day-first "
        "(settled by values such as '13/02/2024 10:05')")


def test_ambiguous_day_first_file_is_refused_then_read_with_dayfirst():
    with pytest.raises(SchemaError) as caught:
        real_world_table("dates_ambiguous_day_first.csv")
    assert str(caught.value) == (
        "Column 'InvoiceDate' holds dates that read both day-first and month-first: no value "
        "has a number above 12 before the year (e.g. '01/12/2011 08:26', '02/12/2011 11:02', "
        "'05/12/2011 14:40'). Read day-first ('%d/%m/%Y %H:%M') they run from 2011-12-01 to "
        "2011-12-09; read month-first ('%m/%d/%Y %H:%M') they run from 2011-01-12 to "
        "2011-09-12. Pass dayfirst=True or dayfirst=False to say which reading is right."
    )
    _, customers = real_world_table("dates_ambiguous_day_first.csv", dayfirst=True)
    assert customers == {
        "A17": ("2011-12-01", "2011-12-05", 4, 2, 23.5),
        "B22": ("2011-12-02", "2011-12-02", 7, 1, 22.0),
        "C09": ("2011-12-09", "2011-12-09", 0, 1, 30.0),
    }
    _, month_first = real_world_table("dates_ambiguous_day_first.csv", dayfirst=False)
    assert month_first["C09"] == ("2011-09-12", "2011-09-12", 0, 1, 30.0)


def test_mixed_format_file_lists_each_pattern_with_its_count():
    with pytest.raises(SchemaError) as caught:
        real_world_table("dates_mixed_formats.csv")
    assert str(caught.value) == (
        "Column 'InvoiceDate' mixes date formats: YYYY-MM-DD (3 values, e.g. "
        "'2024-02-01 09:15:00'); NN/NN/YYYY (day-first or month-first) (2 values, e.g. "
        "'13/02/2024 10:05'). One format is read per column: write every date in one format, "
        "or pass date_format= with the strftime pattern of one of them (rows in the others "
        "are then dropped as bad_date)."
    )
    orders, customers = real_world_table("dates_mixed_formats.csv", date_format="%Y-%m-%d %H:%M:%S")
    assert orders.quality.dropped == {"bad_date": 2}
    assert customers == {
        "A17": ("2024-02-01", "2024-02-01", 24, 1, 20.0),
        "B22": ("2024-02-03", "2024-02-03", 22, 1, 35.5),
        "C09": ("2024-02-25", "2024-02-25", 0, 1, 99.99),
    }


def test_chinese_dates_with_every_time_style():
    orders, customers = real_world_table("dates_chinese.csv")
    assert customers == FEBRUARY
    assert orders.quality.readings["date"] == (
        "YYYY年M月D日, formats '%Y年%m月%d日', '%Y年%m月%d日 %H:%M', '%Y年%m月%d日 %H:%M:%S', "
        "'%Y年%m月%d日 %H时%M分', '%Y年%m月%d日 %H时%M分%S秒'")
    assert orders.frame["order_date"].sort_values().dt.strftime("%H:%M:%S").tolist() == [
        "09:15:00", "18:40:00", "10:05:30", "00:00:00", "16:45:10"]


def test_excel_serial_numbers_need_date_format_excel():
    with pytest.raises(SchemaError, match=r"Column 'InvoiceDate' holds numbers \(float64\), "
                                          r"not dates\. Pass date_format='excel'"):
        real_world_table("dates_excel_serials.csv")
    orders, customers = real_world_table("dates_excel_serials.csv", date_format="excel")
    assert customers == FEBRUARY
    assert orders.frame["order_date"].sort_values().dt.strftime("%H:%M").tolist() == [
        "09:15", "18:40", "10:05", "00:00", "16:45"]


def test_utc_offsets_keep_the_shops_wall_clock_unless_tz_given():
    orders, customers = real_world_table("dates_utc_offsets.csv")
    # 2024-02-13T00:05+08:00 is on the 13th in the shop, on the 12th in UTC
    assert customers["A17"] == ("2024-02-01", "2024-02-13", 12, 2, 32.25)
    assert orders.quality.readings["date"].endswith("the wall-clock time written is kept")
    _, in_utc = real_world_table("dates_utc_offsets.csv", tz="UTC")
    assert in_utc["A17"] == ("2024-02-01", "2024-02-12", 13, 2, 32.25)


def test_years_outside_the_nanosecond_range_are_bad_dates():
    with pytest.warns(DataQualityWarning, match=r"2 of 5 order rows were dropped as unusable "
                                                r"\(bad_date: 2\)"):
        orders = read_orders(REAL_WORLD / "dates_out_of_range.csv", REAL_WORLD_COLUMNS)
    assert orders.as_of == pd.Timestamp("2024-02-25")
    _, customers = real_world_table("dates_out_of_range.csv")
    assert customers == {
        "A17": ("2024-02-01", "2024-02-13", 12, 2, 32.25),
        "C09": ("2024-02-25", "2024-02-25", 0, 1, 10.0),
    }
