"""Text, numeric and out-of-range dates: one format per column, readings and refusals."""

from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty import DataQualityWarning, SchemaError, prepare_orders
from rfm_loyalty._ingest.date_formats import DatePattern, classify, pattern_counts
from rfm_loyalty._ingest.dates import as_date, parse_dates
from rfm_loyalty._ingest.text_dates import SAMPLE_ROWS
from rfm_loyalty.exceptions import InvalidParameterError


def orders_of(dates, **options):
    """Prepare one line per date (customer c0, c1, ...); return the Orders."""
    data = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(len(dates))],
                         "order_date": dates, "amount": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return prepare_orders(data, **options)


def read(dates, **options):
    """The order timestamp of each input line, as text (missing: dropped)."""
    orders = orders_of(dates, **options)
    frame = orders.frame.set_index("customer_id")["order_date"]
    return [
        frame[f"c{i:03d}"].strftime("%Y-%m-%d %H:%M:%S") if f"c{i:03d}" in frame.index else None
        for i in range(len(dates))
    ]


def date_reading(dates, **options):
    return orders_of(dates, **options).quality.readings.get("date")


# --- the supported forms ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["2024-01-05", "2024-1-6"], ["2024-01-05 00:00:00", "2024-01-06 00:00:00"]),
        (["2024/01/05 10:00", "2024/01/06 9:05:07"],
         ["2024-01-05 10:00:00", "2024-01-06 09:05:07"]),
        (["2024.01.05", "2024.01.06 23:59"], ["2024-01-05 00:00:00", "2024-01-06 23:59:00"]),
        (["2024-01-05T10:00:00.250", " 2024-01-06T10:00:00 "],
         ["2024-01-05 10:00:00", "2024-01-06 10:00:00"]),
        (["2011年12月9日", "2011年1月19日 10:05", "2011年1月19日10:05:30"],
         ["2011-12-09 00:00:00", "2011-01-19 10:05:00", "2011-01-19 10:05:30"]),
        (["2011年12月9日 10时05分", "2011年12月9日10时05分30秒"],
         ["2011-12-09 10:05:00", "2011-12-09 10:05:30"]),
    ],
)
def test_unambiguous_forms_are_read_with_one_format(dates, expected):
    assert read(dates) == expected


def test_fractional_seconds_are_kept():
    orders = orders_of(["2024-01-05T10:00:00.250", "2024-01-06T10:00:00"])
    assert orders.frame["order_date"].min() == pd.Timestamp("2024-01-05 10:00:00.250")


def test_the_reading_lists_every_format_that_read_a_value():
    assert date_reading(["2024-01-05 10:00", "2024-01-06", "2024-01-07 11:00", "2024-01-31"]) == (
        "YYYY-MM-DD, formats '%Y-%m-%d', '%Y-%m-%d %H:%M'")


def test_the_reading_names_the_pattern_and_format():
    assert date_reading(["2024-01-05 10:00", "2024-01-06 11:00"]) == (
        "YYYY-MM-DD, format '%Y-%m-%d %H:%M'")
    assert date_reading(["2011年12月9日 10时05分"]) == (
        "YYYY年M月D日, format '%Y年%m月%d日 %H时%M分'")


# --- day-first or month-first -------------------------------------------------------------


def test_a_day_above_12_settles_day_first_for_every_row():
    dates = ["01/12/2011 08:26", "13/01/2011 09:00", "2/3/2011 9:05"]
    assert read(dates) == ["2011-12-01 08:26:00", "2011-01-13 09:00:00", "2011-03-02 09:05:00"]
    assert date_reading(dates) == (
        "NN/NN/YYYY (day-first or month-first), format '%d/%m/%Y %H:%M'; day-first "
        "(settled by values such as '13/01/2011 09:00')")


def test_a_second_number_above_12_settles_month_first():
    dates = ["01.12.2011", "12.13.2011"]
    assert read(dates) == ["2011-01-12 00:00:00", "2011-12-13 00:00:00"]
    assert date_reading(dates) == (
        "NN.NN.YYYY (day-first or month-first), format '%m.%d.%Y'; month-first "
        "(settled by values such as '12.13.2011')")


def test_dashes_between_day_month_year():
    assert read(["01-12-2011", "31-12-2011"]) == ["2011-12-01 00:00:00", "2011-12-31 00:00:00"]


def test_every_value_reading_both_ways_is_an_error_naming_both_readings():
    with pytest.raises(SchemaError) as caught:
        orders_of(["01/12/2011 08:26", "09/12/2011 10:00", "05/12/2011 12:00"])
    assert str(caught.value) == (
        "Column 'order_date' holds dates that read both day-first and month-first: no value "
        "has a number above 12 before the year (e.g. '01/12/2011 08:26', '09/12/2011 10:00', "
        "'05/12/2011 12:00'). Read day-first ('%d/%m/%Y %H:%M') they run from 2011-12-01 to "
        "2011-12-09; read month-first ('%m/%d/%Y %H:%M') they run from 2011-01-12 to "
        "2011-09-12. Pass dayfirst=True or dayfirst=False to say which reading is right."
    )


def test_dayfirst_reads_ambiguous_values_and_drops_values_that_do_not_read_that_way():
    dates = ["01/12/2011", "09/12/2011", "12/13/2011"]
    assert read(dates, dayfirst=True) == ["2011-12-01 00:00:00", "2011-12-09 00:00:00", None]
    assert orders_of(dates, dayfirst=True).quality.dropped == {"bad_date": 1}
    assert date_reading(dates, dayfirst=True) == (
        "NN/NN/YYYY (day-first or month-first), format '%d/%m/%Y'; day-first "
        "(given as dayfirst=True)")
    assert read(dates, dayfirst=False) == [
        "2011-01-12 00:00:00", "2011-09-12 00:00:00", "2011-12-13 00:00:00"]


def test_values_that_read_only_one_way_each_are_an_error_with_counts():
    with pytest.raises(SchemaError) as caught:
        orders_of(["13/01/2011", "14/01/2011", "01/13/2011", "05/05/2011"])
    assert str(caught.value) == (
        "Column 'order_date' mixes day-first and month-first dates: 2 read only day-first "
        "(e.g. '13/01/2011') and 1 read only month-first (e.g. '01/13/2011'). One order is "
        "read per column: write the dates in one order, or pass dayfirst=True or "
        "dayfirst=False (values that do not read that way are then dropped as bad_date)."
    )


def test_the_reading_is_settled_by_the_whole_column_not_only_the_sample():
    # the sample takes every k-th row; the only day above 12 sits between two of them
    n = 3 * SAMPLE_ROWS
    dates = ["05/01/2011"] * n
    dates[1] = "25/01/2011"
    orders = orders_of(dates)
    assert orders.quality.readings["date"].endswith("(settled by values such as '25/01/2011')")
    assert orders.frame["order_date"].max() == pd.Timestamp("2011-01-25")
    assert orders.frame["order_date"].min() == pd.Timestamp("2011-01-05")
    # a contradicting value outside the sample is found too
    dates[2] = "01/25/2011"
    with pytest.raises(SchemaError, match=r"1 read only day-first \(e\.g\. '25/01/2011'\) and "
                                          r"1 read only month-first \(e\.g\. '01/25/2011'\)"):
        orders_of(dates)


def test_a_settled_reading_contradicted_outside_the_sample_is_an_error():
    n = 3 * SAMPLE_ROWS
    dates = ["25/01/2011"] * n
    dates[1] = "01/25/2011"
    with pytest.raises(SchemaError, match=rf"{n - 1:,} read only day-first"):
        orders_of(dates)


# --- mixed formats and unreadable values ---------------------------------------------------


def test_a_column_mixing_formats_lists_each_pattern_with_its_count():
    with pytest.raises(SchemaError) as caught:
        orders_of(["2024-01-05", "2024-01-06 10:00", "05/01/2024", "2024年1月7日", "soon"])
    assert str(caught.value) == (
        "Column 'order_date' mixes date formats: YYYY-MM-DD (2 values, e.g. '2024-01-05'); "
        "NN/NN/YYYY (day-first or month-first) (1 value, e.g. '05/01/2024'); YYYY年M月D日 "
        "(1 value, e.g. '2024年1月7日'). One format is read per column: write every date in one "
        "format, or pass date_format= with the strftime pattern of one of them (rows in the "
        "others are then dropped as bad_date)."
    )


def test_a_second_format_outside_the_sample_is_found():
    dates = ["2024-01-05"] * (3 * SAMPLE_ROWS)
    dates[1] = "2024/01/06"
    with pytest.raises(SchemaError, match=rf"YYYY-MM-DD \({3 * SAMPLE_ROWS - 1:,} values.*"
                                          r"YYYY/MM/DD \(1 value, e\.g\. '2024/01/06'\)"):
        orders_of(dates)


def test_values_of_no_supported_form_are_bad_dates_and_counted():
    dates = ["2024-01-05", "March 4, 2024", "2024-02-30", "", None, "2024-01"]
    with pytest.warns(DataQualityWarning, match=r"5 of 6 order rows were dropped as unusable "
                                                r"\(bad_date: 5\)"):
        orders = prepare_orders(pd.DataFrame({"customer_id": list("abcdef"),
                                              "order_date": dates, "amount": 1.0}))
    assert orders.frame["order_date"].tolist() == [pd.Timestamp("2024-01-05")]


def test_the_drop_warning_shows_unreadable_dates_but_not_missing_ones():
    dates = ["2024-01-05", "March 4, 2024", "2024-02-30", "", None, "2300-01-01", "2024-01-07"]
    with pytest.warns(DataQualityWarning) as caught:
        prepare_orders(pd.DataFrame({"customer_id": list("abcdefg"),
                                     "order_date": dates, "amount": 1.0}))
    message = str(caught[0].message)
    assert ("bad_date: order_date: e.g. 'March 4, 2024', '2024-02-30', '2300-01-01' (the "
            "column is read as YYYY-MM-DD") in message
    with pytest.warns(DataQualityWarning) as caught:  # only missing dates: nothing to show
        prepare_orders(pd.DataFrame({"customer_id": list("abcd"), "amount": 1.0,
                                     "order_date": ["2024-01-05", None, "", " NULL"]}))
    assert "e.g." not in str(caught[0].message)


def test_a_column_without_any_readable_date_names_the_forms_and_the_fix():
    with pytest.raises(SchemaError) as caught:
        orders_of(["March 4, 2024", "April 1, 2024"])
    assert str(caught.value) == (
        "Column 'order_date' holds no readable date (first value: 'March 4, 2024'). Text "
        "dates are read in the forms YYYY-MM-DD (or with / or .), DD/MM/YYYY or MM/DD/YYYY "
        "(with / . or -) and 2011年12月9日, each with an optional time; pass date_format= "
        "with the strftime pattern of another form."
    )
    assert read(["March 4, 2024", "April 1, 2024"], date_format="%B %d, %Y") == [
        "2024-03-04 00:00:00", "2024-04-01 00:00:00"]


# --- date_format --------------------------------------------------------------------------


def test_date_format_is_used_for_every_row_and_other_rows_are_bad_dates():
    dates = ["05.01.2024 10:00", " 13.01.2024 11:00 ", "2024-01-07 10:00", "01.13.2024 10:00"]
    assert read(dates, date_format="%d.%m.%Y %H:%M") == [
        "2024-01-05 10:00:00", "2024-01-13 11:00:00", None, None]
    assert orders_of(dates, date_format="%d.%m.%Y %H:%M").quality.readings == {}


def test_date_format_with_an_offset_keeps_the_wall_clock():
    dates = ["2024-01-02 02:00 +0500", "2024-01-02 02:00 -0100"]
    assert read(dates, date_format="%Y-%m-%d %H:%M %z") == [
        "2024-01-02 02:00:00", "2024-01-02 02:00:00"]
    assert read(dates, date_format="%Y-%m-%d %H:%M %z", tz="UTC") == [
        "2024-01-01 21:00:00", "2024-01-02 03:00:00"]


def test_excel_serial_days_with_time_as_numbers_or_text():
    serials = [40513.35069444, 40878, 61, 60, -1.0, np.nan]
    expected = ["2010-12-01 08:25:00", "2011-12-01 00:00:00", "1900-03-01 00:00:00",
                None, None, None]
    assert read(serials, date_format="excel") == expected
    assert read([str(s) for s in serials], date_format="excel") == expected
    assert read(["40513.5", "n/a"], date_format="excel") == ["2010-12-01 12:00:00", None]


def test_epoch_seconds_and_milliseconds_are_utc_instants():
    assert read([1704164400, 1704164400.5], date_format="epoch_s") == [
        "2024-01-02 03:00:00", "2024-01-02 03:00:00"]
    assert read([1704164400, 1704067199], date_format="epoch_s", tz="Asia/Shanghai") == [
        "2024-01-02 11:00:00", "2024-01-01 07:59:59"]
    assert read([1704164400000, "1704164400000"], date_format="epoch_ms") == [
        "2024-01-02 03:00:00", "2024-01-02 03:00:00"]
    assert read([1704164400, 1e30], date_format="epoch_s") == ["2024-01-02 03:00:00", None]


def test_numbers_without_date_format_name_the_fix():
    with pytest.raises(SchemaError) as caught:
        orders_of([40513.35, 40514.5])
    assert str(caught.value) == (
        "Column 'order_date' holds numbers (float64), not dates. Pass date_format='excel' for "
        "Excel serial day numbers, date_format='epoch_s' or 'epoch_ms' for seconds or "
        "milliseconds since 1970-01-01 (UTC), date_format='%Y%m%d' for numbers such as "
        "20240105, or convert it with pd.to_datetime(..., unit=...)."
    )


def test_numbers_written_as_digits_read_with_a_strftime_pattern():
    assert read([20240105, 20240113, 202401, np.nan], date_format="%Y%m%d") == [
        "2024-01-05 00:00:00", "2024-01-13 00:00:00", None, None]
    assert read([20240105.0, 20240106.5], date_format="%Y%m%d") == [
        "2024-01-05 00:00:00", None]


# --- outside the nanosecond range ----------------------------------------------------------


@pytest.mark.parametrize("outside", ["2300-01-01", "1500-06-01", "2262-04-12 00:00"])
def test_dates_outside_the_nanosecond_range_are_bad_dates_never_wrapped(outside):
    dates = ["2024-01-05 00:00", outside, "2024-01-09 00:00"]
    orders = orders_of(dates)
    assert orders.quality.dropped == {"bad_date": 1}
    assert orders.as_of == pd.Timestamp("2024-01-09")
    assert sorted(orders.frame["order_date"]) == [pd.Timestamp("2024-01-05"),
                                                  pd.Timestamp("2024-01-09")]


def test_date_objects_outside_the_range_are_bad_dates():
    dates = pd.Series([dt.date(2024, 1, 5), dt.date(2300, 1, 1),
                       dt.datetime(2024, 1, 6, 10, 0)], dtype=object)
    assert read(dates) == ["2024-01-05 00:00:00", None, "2024-01-06 10:00:00"]


@pytest.mark.parametrize("as_of", ["2300-01-01", "1500-06-01", dt.date(2300, 1, 1),
                                   "2262-04-11"])
def test_as_of_outside_the_range_is_a_clear_error(as_of):
    with pytest.raises(InvalidParameterError, match=r"within pandas' range \(1677-09-22 to "
                                                    rf"2262-04-10\)\. Got "
                                                    rf"{re.escape(repr(as_of))} instead"):
        as_date(as_of, name="as_of")
    assert as_date("2262-04-10", name="as_of") == pd.Timestamp("2262-04-10")


# --- UTC offsets: the rule of time-zone-aware columns ---------------------------------------


def test_one_utc_offset_keeps_the_wall_clock_like_an_aware_column():
    text = ["2024-01-02T02:00:00+05:00", "2024-01-03T23:30:00+05:00"]
    aware = pd.Series(pd.to_datetime(text))  # tz-aware, UTC+05:00
    assert read(text) == read(aware) == ["2024-01-02 02:00:00", "2024-01-03 23:30:00"]
    assert read(text, tz="UTC") == read(aware, tz="UTC") == [
        "2024-01-01 21:00:00", "2024-01-03 18:30:00"]
    assert date_reading(text) == (
        "YYYY-MM-DD with a UTC offset, format '%Y-%m-%dT%H:%M:%S%z'; UTC offsets: the "
        "wall-clock time written is kept")
    assert date_reading(text, tz="Asia/Tokyo").endswith("; UTC offsets converted to Asia/Tokyo")


def test_several_offsets_each_keep_their_wall_clock():
    text = ["2024-01-02T02:00:00+05:00", "2024-01-02 23:00:00Z", "2024-01-02T23:00:00-0130"]
    assert read(text, date_format="%Y-%m-%dT%H:%M:%S%z") == [
        "2024-01-02 02:00:00", None, "2024-01-02 23:00:00"]
    same_sep = ["2024-01-02T02:00:00+05:00", "2024-01-02T23:00:00Z", "2024-01-02T23:00:00-0130"]
    assert read(same_sep) == ["2024-01-02 02:00:00", "2024-01-02 23:00:00",
                              "2024-01-02 23:00:00"]


def test_naive_and_offset_text_mixed_is_refused_with_counts():
    with pytest.raises(SchemaError) as caught:
        orders_of(["2024-01-02T02:00:00+05:00", "2024-01-02T03:00:00", "2024-01-02T04:00:00"])
    assert str(caught.value).startswith(
        "Column 'order_date' mixes date formats: YYYY-MM-DD with a UTC offset (1 value, e.g. "
        "'2024-01-02T02:00:00+05:00'); YYYY-MM-DD (2 values, e.g. '2024-01-02T03:00:00').")


# --- the pieces ---------------------------------------------------------------------------


def test_classify_and_formats():
    classified = classify(["2024-01-02", "13/01/2011 8:26", "2011年12月9日 10时05分",
                           "2024-01-02T02:00:00.5+05:00", "soon"])
    assert classified.patterns().tolist() == [
        DatePattern("iso", "-", False), DatePattern("nn", "/", False),
        DatePattern("zh", "", False), DatePattern("iso", "-", True), None]
    assert classified.formats(dayfirst=True).tolist() == [
        "%Y-%m-%d", "%d/%m/%Y %H:%M", "%Y年%m月%d日 %H时%M分", "%Y-%m-%dT%H:%M:%S.%f%z", None]
    assert classified.formats(dayfirst=False).tolist()[1] == "%m/%d/%Y %H:%M"
    first, second = classified.fields()
    assert first.tolist() == [0, 13, 0, 0, 0] and second.tolist() == [0, 1, 0, 0, 0]


def test_pattern_counts_in_order_of_first_appearance():
    values = pd.Series(["x", "2024-01-02", "01/02/2024", "2024-01-03", None, "y"])
    assert pattern_counts(values) == [
        (None, 2, "x"), (DatePattern("iso", "-", False), 2, "2024-01-02"),
        (DatePattern("nn", "/", False), 1, "01/02/2024")]


def test_parse_dates_keeps_datetime_columns_untouched():
    stamps = pd.Series(pd.to_datetime(["2024-01-02 10:00", None]))
    out, bad, reading = parse_dates(stamps, "d", date_format="%d/%m/%Y")
    assert out.dtype == np.dtype("datetime64[ns]")
    assert bad.tolist() == [False, True] and reading is None
    assert out[0] == np.datetime64("2024-01-02T10:00")


# --- the order of the rows decides nothing ------------------------------------------------

_FORMS = ["%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y", "%d.%m.%Y", "%Y年%m月%d日 %H时%M分"]


@settings(max_examples=25, deadline=None)
@given(
    days=st.lists(st.integers(0, 3 * 365), min_size=1, max_size=40),
    form=st.sampled_from(_FORMS),
    seed=st.integers(0, 2**32 - 1),
)
def test_shuffling_the_rows_changes_neither_the_dates_nor_the_error(days, form, seed):
    stamps = pd.Timestamp("2010-01-01 08:30") + pd.to_timedelta(days, unit="D")
    text = list(stamps.strftime(form))
    shuffled = list(np.random.default_rng(seed).permutation(np.array(text, dtype=object)))

    def outcome(values):
        try:
            out, bad, _ = parse_dates(pd.Series(values, dtype=object), "d")
        except SchemaError as error:
            return type(error), str(error).split(":")[0]
        return dict(zip(values, out.tolist(), strict=True)), int(bad.sum())

    first, second = outcome(text), outcome(shuffled)
    assert first == second
    if isinstance(first[0], dict):  # read: every value is the date it was written from
        written = pd.to_datetime(pd.Series(text), format=form).astype("datetime64[ns]")
        assert first[0] == dict(zip(text, written.to_numpy().tolist(), strict=True))


def test_twelve_hour_clock_times():
    dates = ["12/1/2010 8:26:00 AM", "12/13/2010 12:05:00 PM", "12/14/2010 12:05:00 AM",
             "1/2/2011 11:59:59 pm"]
    assert read(dates) == ["2010-12-01 08:26:00", "2010-12-13 12:05:00", "2010-12-14 00:05:00",
                           "2011-01-02 23:59:59"]
    assert date_reading(dates) == (
        "NN/NN/YYYY (day-first or month-first), format '%m/%d/%Y %I:%M:%S %p'; month-first "
        "(settled by values such as '12/13/2010 12:05:00 PM')")
