"""Order files whose dates are written as real exports write them.

Each maker returns the bytes of one small CSV file (UTF-8, comma-separated,
``\\n`` line ends). ``tests/test_real_world_dates.py`` holds the expected
customer table or error text of each.
"""

from __future__ import annotations

from collections.abc import Callable

HEADER = "InvoiceNo,CustomerID,InvoiceDate,Amount"


def _csv(rows: list[tuple[str, str, str, str]], header: str = HEADER) -> bytes:
    lines = [header] + [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def day_first() -> bytes:
    """A European spreadsheet export: dd/mm/yyyy hh:mm; the 13th and 25th settle it."""
    return _csv([
        ("1001", "A17", "01/02/2024 09:15", "20.00"),
        ("1002", "B22", "03/02/2024 18:40", "35.50"),
        ("1003", "A17", "13/02/2024 10:05", "12.25"),
        ("1004", "C09", "25/02/2024 08:00", "99.99"),
        ("1005", "B22", "04/03/2024 12:30", "-5.50"),
        ("1006", "B22", "07/03/2024 16:45", "40.00"),
    ])


def ambiguous_day_first() -> bytes:
    """The first nine days of a month, day-first: every date reads both ways."""
    return _csv([
        ("2001", "A17", "01/12/2011 08:26", "15.00"),
        ("2002", "B22", "02/12/2011 11:02", "22.00"),
        ("2003", "A17", "05/12/2011 14:40", "8.50"),
        ("2004", "C09", "09/12/2011 17:15", "30.00"),
    ])


def mixed_formats() -> bytes:
    """Two tools wrote one column: ISO dates and day-first dates in the same file."""
    return _csv([
        ("3001", "A17", "2024-02-01 09:15:00", "20.00"),
        ("3002", "B22", "2024-02-03 18:40:00", "35.50"),
        ("3003", "A17", "13/02/2024 10:05", "12.25"),
        ("3004", "C09", "2024-02-25 08:00:00", "99.99"),
        ("3005", "B22", "04/03/2024 12:30", "40.00"),
    ])


def chinese_dates() -> bytes:
    """A Chinese shop back-end: 2024年2月1日 with times as 10:05, 10时05分 or none."""
    return _csv([
        ("4001", "A17", "2024年2月1日 09:15", "20.00"),
        ("4002", "B22", "2024年2月3日 18时40分", "35.50"),
        ("4003", "A17", "2024年2月13日 10时05分30秒", "12.25"),
        ("4004", "C09", "2024年2月25日", "99.99"),
        ("4005", "B22", "2024年3月7日 16:45:10", "40.00"),
    ])


def excel_serials() -> bytes:
    """Dates as Excel serial day numbers (a column saved without its date format)."""
    return _csv([
        ("5001", "A17", "45323.3854166667", "20.00"),   # 2024-02-01 09:15
        ("5002", "B22", "45325.7777777778", "35.50"),   # 2024-02-03 18:40
        ("5003", "A17", "45335.4201388889", "12.25"),   # 2024-02-13 10:05
        ("5004", "C09", "45347", "99.99"),              # 2024-02-25
        ("5005", "B22", "45358.6979166667", "40.00"),   # 2024-03-07 16:45
    ])


def utc_offsets() -> bytes:
    """ISO timestamps with the shop's UTC offset (+08:00), one line after midnight."""
    return _csv([
        ("6001", "A17", "2024-02-01T09:15:00+08:00", "20.00"),
        ("6002", "B22", "2024-02-03T18:40:00+08:00", "35.50"),
        ("6003", "A17", "2024-02-13T00:05:00+08:00", "12.25"),
        ("6004", "C09", "2024-02-25T08:00:00+08:00", "99.99"),
    ])


def out_of_range() -> bytes:
    """Typing slips a spreadsheet keeps: years 2300 and 1500 among real dates."""
    return _csv([
        ("7001", "A17", "2024-02-01", "20.00"),
        ("7002", "B22", "2300-01-01", "35.50"),
        ("7003", "A17", "2024-02-13", "12.25"),
        ("7004", "C09", "1500-06-01", "99.99"),
        ("7005", "C09", "2024-02-25", "10.00"),
    ])


FILES: dict[str, Callable[[], bytes]] = {
    "dates_day_first.csv": day_first,
    "dates_ambiguous_day_first.csv": ambiguous_day_first,
    "dates_mixed_formats.csv": mixed_formats,
    "dates_chinese.csv": chinese_dates,
    "dates_excel_serials.csv": excel_serials,
    "dates_utc_offsets.csv": utc_offsets,
    "dates_out_of_range.csv": out_of_range,
}
