"""The DuckDB engine gives the pandas results: per-customer tables, accounting, labels.

pandas (``prepare_orders`` + ``customer_aggregates``) is the reference; the
engine must reproduce it exactly (integers, dates, ids, index, dtypes) and its
float sums to within rounding (the engine adds the same numbers in another
order). The helpers here are shared with ``test_spark.py``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty._ingest.ids import ids_as_text
from rfm_loyalty.engines import (
    EngineSource,
    _sql,
    engine_aggregates,
    from_duckdb,
    from_spark,
    is_engine_source,
)
from rfm_loyalty.exceptions import (
    DataQualityError,
    DataQualityWarning,
    InvalidParameterError,
    SchemaError,
)
from rfm_loyalty.lifecycle import LifecycleRules, lifecycle_from_aggregates, lifecycle_labels
from rfm_loyalty.orders import OrderColumns, QualityReport, prepare_orders, read_orders
from rfm_loyalty.summary import (
    btyd_from_aggregates,
    btyd_summary,
    customer_aggregates,
    rfm_from_aggregates,
    rfm_table,
)

duckdb = pytest.importorskip("duckdb", reason="the DuckDB engine needs duckdb (extra [duckdb])")

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"
REAL_COLUMNS = OrderColumns(
    customer="CustomerID",
    date="InvoiceDate",
    quantity="Quantity",
    unit_price="UnitPrice",
    order_id="InvoiceNo",
)
FULL = OrderColumns(order_id="order_id")

# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def assert_same_table(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """Same index, columns, dtypes and attrs; exact except float sums (rounding)."""
    assert list(actual.columns) == list(expected.columns)
    assert actual.attrs == expected.attrs
    pd.testing.assert_index_equal(actual.index, expected.index, exact=True)
    for name in expected.columns:
        want, got = expected[name], actual[name]
        assert got.dtype == want.dtype, name
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-9)
        else:
            pd.testing.assert_series_equal(got, want, check_exact=True)


def assert_same_quality(expected: QualityReport, actual: QualityReport) -> None:
    """Same row counts per reason (in the same order), amounts to within rounding."""
    for name in ("rows_in", "rows_used", "orders", "customers", "purchases", "as_of"):
        assert getattr(actual, name) == getattr(expected, name), name
    assert list(actual.dropped.items()) == list(expected.dropped.items())
    assert list(actual.dropped_amounts) == list(expected.dropped_amounts)
    for name in ("amount_in", "amount_used", "amount_dropped"):
        assert getattr(actual, name) == pytest.approx(getattr(expected, name), rel=1e-9, abs=1e-9)
    for reason, amount in expected.dropped_amounts.items():
        assert actual.dropped_amounts[reason] == pytest.approx(amount, rel=1e-9, abs=1e-9)


def pandas_reference(
    lines: pd.DataFrame, columns: OrderColumns, window_days: int | None, **options: Any
) -> tuple[pd.DataFrame, QualityReport] | type[Exception]:
    """The pandas result, or the class of the error pandas raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            orders = prepare_orders(lines, columns, **options)
    except (SchemaError, DataQualityError) as exc:
        return type(exc)
    return customer_aggregates(orders, window_days=window_days), orders.quality


def assert_engine_matches(
    source: EngineSource,
    lines: pd.DataFrame,
    columns: OrderColumns,
    window_days: int | None,
    **options: Any,
) -> None:
    """The engine gives what pandas gives for the same lines and options (or the same error)."""
    expected = pandas_reference(lines, columns, window_days, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        if isinstance(expected, type):
            with pytest.raises(expected):
                source.aggregate(window_days=window_days)
            return
        result = source.aggregate(window_days=window_days)
    assert_same_table(expected[0], result.aggregates)
    assert_same_quality(expected[1], result.quality)


def tiny_lines() -> pd.DataFrame:
    """Twelve hand-made lines: id spellings, a two-line order, a return, bad rows."""
    return pd.DataFrame(
        {
            "customer_id": [" 7.0 ", "7", "7", "7", "b", "b", "b", None, "c", "c", "c", "d"],
            "order_id": ["A1", "A1", "A2", "R1", "B1", "B2", "B3", "X1", "C1", "C2", "", "D1"],
            "order_date": pd.to_datetime(
                [
                    "2024-01-01 10:00", "2024-01-01 10:05", "2024-01-20 09:00", "2024-01-25",
                    "2024-01-20", "2024-01-20 18:00", "2024-03-01", "2024-01-05",
                    None, "2024-01-06", "2024-01-07", "2024-02-10",
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 5.0, 30.0, -12.0, 8.0, 2.0, 4.0, 99.0, 3.0, np.nan, 1.0, -5.0],
        }
    )


def quiet(func: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return func(*args, **kwargs)


@pytest.fixture()
def con() -> Any:
    connection = duckdb.connect()
    yield connection
    connection.close()


# ---------------------------------------------------------------------------
# tiny hand-made lines: the expected numbers are written here
# ---------------------------------------------------------------------------


def test_tiny_lines_give_the_hand_computed_aggregates(con: Any) -> None:
    source = from_duckdb(con.from_df(tiny_lines()), FULL, as_of="2024-02-15")
    with pytest.warns(DataQualityWarning, match=r"4 of 12 order rows were dropped"):
        result = source.aggregate(window_days=30)
    table = result.aggregates
    assert table.index.tolist() == ["7", "b"]
    assert table.attrs == {"as_of": "2024-02-15"}
    assert table["first_purchase"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-20"]
    assert table["last_purchase"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-20", "2024-01-20"]
    assert table["frequency"].tolist() == [2, 2]
    assert table["purchase_days"].tolist() == [2, 1]
    assert table["monetary_total"].tolist() == [33.0, 10.0]  # 15 + 30 - 12; 8 + 2
    assert table["purchase_amount"].tolist() == [45.0, 10.0]
    assert table["first_day_amount"].tolist() == [15.0, 10.0]
    assert table["purchases_in_window"].tolist() == [1, 2]  # 2024-01-20 is 26 days back
    assert table["purchases_before_window"].tolist() == [1, 0]
    q = result.quality
    assert (q.rows_in, q.rows_used, q.orders, q.customers, q.purchases) == (12, 7, 6, 3, 4)
    assert dict(q.dropped) == {
        "missing_customer": 1,
        "bad_date": 1,
        "bad_amount": 1,
        "missing_order_id": 1,
        "after_as_of": 1,
    }
    assert (q.amount_in, q.amount_used, q.amount_dropped) == (145.0, 38.0, 107.0)
    assert dict(q.dropped_amounts) == {
        "missing_customer": 99.0,
        "bad_date": 3.0,
        "bad_amount": 0.0,
        "missing_order_id": 1.0,
        "after_as_of": 4.0,
    }


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"as_of": "2024-02-15"},
        {"as_of": "2024-01-20", "returns": "drop"},
        {"returns": "drop", "zero_amount": "purchase"},
        {"as_of": "2024-01-01"},
    ],
    ids=["default", "as_of", "drop-returns", "zero-purchase", "first-day"],
)
@pytest.mark.parametrize("window_days", [None, 0, 30])
def test_tiny_lines_match_pandas(con: Any, options: dict[str, Any], window_days: Any) -> None:
    lines = tiny_lines()
    source = from_duckdb(con.from_df(lines), FULL, **options)
    assert_engine_matches(source, lines, FULL, window_days, **options)


def test_public_functions_accept_an_engine_source(con: Any) -> None:
    lines = tiny_lines()
    source = from_duckdb(con.from_df(lines), FULL, as_of="2024-02-15")
    orders = quiet(prepare_orders, lines, FULL, as_of="2024-02-15")
    assert is_engine_source(source) and not is_engine_source(orders)
    assert_same_table(rfm_table(orders), quiet(rfm_table, source))
    assert_same_table(btyd_summary(orders), quiet(btyd_summary, source))
    assert_same_table(
        btyd_summary(orders, time_unit="W"), quiet(btyd_summary, source, time_unit="W")
    )
    pd.testing.assert_frame_equal(lifecycle_labels(orders), quiet(lifecycle_labels, source))
    # an earlier as_of, as Orders.until gives it
    assert_same_table(
        rfm_table(orders, as_of="2024-01-20"), quiet(rfm_table, source, as_of="2024-01-20")
    )
    assert_same_table(
        customer_aggregates(orders, window_days=10),
        quiet(engine_aggregates, source, window_days=10),
    )


def test_the_input_is_never_modified(con: Any) -> None:
    lines = tiny_lines()
    before = lines.copy()
    quiet(rfm_table, from_duckdb(con.from_df(lines), FULL))
    pd.testing.assert_frame_equal(lines, before)


# ---------------------------------------------------------------------------
# customer ids as text, exactly as _ids.py makes them
# ---------------------------------------------------------------------------


def test_python_whitespace_table_is_what_str_strip_removes() -> None:
    listed = {c for lo, hi in _sql.PYTHON_WHITESPACE for c in map(chr, range(lo, hi + 1))}
    assert listed == {c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()}


ID_COLUMNS = {
    "text": pd.Series(
        [" 17850.0 ", "17850", "+5.00", "-3.0", "1.50", "007", "1e5", "x\u3000", "\u2003y\x1f",
         "\u00a0", "", "  ", None, "a b", "12.", ".0", "\uff17.0", "\u0661\u0662.00", "x.0",
         # the missing spellings, in any case and with spaces, and texts that only start so
         "NA", " null ", "None", "<NA>", "#N/A", "n/a", "NaN", "nan.0", "NAN5", "nulls"],
        dtype=object,
    ),
    "float": pd.Series([17850.0, 1.5, np.nan, -0.0, 1e15, -42.0, 0.1]),
    "integer": pd.Series([17850, -3, 0, 2**40], dtype="int64"),
    "boolean": pd.Series([True, False]),
}


@pytest.mark.parametrize("kind", list(ID_COLUMNS))
def test_customer_ids_read_as_pandas_reads_them(con: Any, kind: str) -> None:
    values = ID_COLUMNS[kind]
    codes, texts = ids_as_text(values)
    expected = [texts[c] if c >= 0 else None for c in codes]
    relation = con.from_df(pd.DataFrame({"cid": values}))
    expr = _sql._id_expr(_sql.DUCKDB, "cid", kind)
    got = relation.query("v", f"SELECT {expr} AS id FROM v").fetchnumpy()["id"]
    assert [None if np.ma.is_masked(v) else v for v in got] == expected


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        ("float64", [17850.0, 17850.0, 12.0]),
        ("int64", [17850, 17850, 12]),
        ("object", ["17850.0 ", " 17850", "12"]),
    ],
)
def test_id_spellings_end_as_the_same_customer(con: Any, dtype: str, values: list[Any]) -> None:
    lines = pd.DataFrame(
        {
            "customer_id": pd.Series(values, dtype=dtype),
            "order_date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    table = quiet(rfm_table, from_duckdb(con.from_df(lines)))
    assert table.index.tolist() == ["12", "17850"]
    assert table["frequency"].tolist() == [1, 2]


# ---------------------------------------------------------------------------
# random lines (hypothesis): engine == pandas
# ---------------------------------------------------------------------------

ID_POOL = ["7", " 7.0", "7 ", "b", "B", "b\t", "12.00", "0012", "", "  ", None, "NA", " null"]
FLOAT_ID_POOL = [7.0, 12.0, -0.0, 0.0, 2.5, np.nan]
ORDER_POOL = ["o1", "o2", "o3", " o1", "", None, "NULL", "1", 1.0]


@st.composite
def random_lines(draw: Any) -> tuple[pd.DataFrame, OrderColumns, dict[str, Any], int]:
    n = draw(st.integers(1, 25))

    def column(strategy: Any) -> list[Any]:
        return list(draw(st.lists(strategy, min_size=n, max_size=n)))

    days = column(st.one_of(st.none(), st.integers(0, 90)))
    hours = column(st.integers(0, 2))
    # quarters are exact in binary: sums do not depend on the order of adding,
    # so whether an order nets to > 0 cannot depend on it either
    amounts = column(st.one_of(st.none(), st.integers(-12, 40).map(lambda v: v / 4)))
    lines = pd.DataFrame(
        {
            "customer_id": pd.Series(column(st.sampled_from(ID_POOL)), dtype=object)
            if draw(st.booleans())
            else pd.Series(column(st.sampled_from(FLOAT_ID_POOL)), dtype="float64"),
            "order_date": pd.to_datetime(
                [None if d is None else f"2024-01-01 {h:02d}:00"
                 for d, h in zip(days, hours, strict=True)]
            )
            + pd.to_timedelta([0 if d is None else d for d in days], unit="D"),
            "amount": np.asarray([np.nan if a is None else a for a in amounts], dtype="float64"),
        }
    )
    with_order_id = draw(st.booleans())
    if with_order_id:
        lines["order_id"] = pd.Series(column(st.sampled_from(ORDER_POOL)), dtype=object)
    columns = OrderColumns(order_id="order_id" if with_order_id else None)
    options: dict[str, Any] = {
        "returns": draw(st.sampled_from(["net", "drop"])),
        "zero_amount": draw(st.sampled_from(["not_purchase", "purchase"])),
    }
    as_of_day = draw(st.one_of(st.none(), st.integers(0, 95)))
    if as_of_day is not None:
        options["as_of"] = (pd.Timestamp("2024-01-01") + pd.Timedelta(days=as_of_day)).date()
    return lines, columns, options, draw(st.integers(0, 60))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_lines())
def test_random_lines_match_pandas(case: Any) -> None:
    lines, columns, options, window_days = case
    connection = duckdb.connect()
    try:
        source = from_duckdb(connection.from_df(lines), columns, **options)
        assert_engine_matches(source, lines, columns, window_days, **options)
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# options and column kinds
# ---------------------------------------------------------------------------


def _shop_lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "who": [101, 101, 102, 102, 103, 103],
            "when": ["2024-01-02 10:00", "2024-01-02 10:00", "2024-01-05", "2024-01-09",
                     "not a date", "2024-01-09"],
            "qty": [2, 1, 3, -1, 1, 4],
            "price": [5.0, 2.5, 4.0, 4.0, 9.0, 1.5],
            "cost": [4.0, 2.0, np.nan, 3.0, 1.0, 1.0],
            "status": ["done", "done", "done", "cancelled", "done", "done"],
        }
    )


SHOP = OrderColumns(customer="who", date="when", quantity="qty", unit_price="price", cost="cost",
                    status="status")


@pytest.mark.parametrize(
    "options",
    [{}, {"valid_statuses": ["done"]}, {"valid_statuses": {"done"}, "returns": "drop"}],
)
def test_quantity_price_cost_status_and_text_dates(con: Any, options: dict[str, Any]) -> None:
    lines = _shop_lines()
    source = from_duckdb(con.from_df(lines), SHOP, **options)
    assert_engine_matches(source, lines, SHOP, 7, **options)


def test_missing_statuses_are_valid_only_when_none_is_listed(con: Any) -> None:
    lines = _shop_lines().assign(status=["done", None, "done", None, "done", "cancelled"])
    for allowed in (["done"], ["done", None]):
        source = from_duckdb(con.from_df(lines), SHOP, valid_statuses=allowed)
        assert_engine_matches(source, lines, SHOP, 7, valid_statuses=allowed)


def test_text_amounts_are_parsed_as_numbers(con: Any) -> None:
    lines = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "order_date": ["2024-01-01", "2024-01-02", "2024-01-03"],
         "amount": ["10.5", "n/a", " 3"]}
    )
    assert_engine_matches(from_duckdb(con.from_df(lines)), lines, OrderColumns(), None)


def test_date_and_timezone_aware_columns(con: Any) -> None:
    stamps = pd.to_datetime(["2024-01-01 23:30", "2024-01-02 00:30", "2024-01-03 12:00"])
    lines = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 2.0, 3.0]})
    days = lines.assign(order_date=stamps.normalize())
    con.execute("CREATE TABLE d AS SELECT customer_id, amount, CAST(order_date AS DATE) "
                "AS order_date FROM days")
    assert_engine_matches(from_duckdb(con.table("d")), days, OrderColumns(), 1)
    # instants: calendar days in tz, as pandas does with tz=
    aware = lines.assign(order_date=stamps.tz_localize("UTC"))
    source = from_duckdb(con.from_df(aware), tz="Asia/Tokyo")
    assert_engine_matches(source, aware, OrderColumns(), 1, tz="Asia/Tokyo")


def test_returns_error_raises_from_the_engine(con: Any) -> None:
    source = from_duckdb(con.from_df(tiny_lines()), FULL, returns="error")
    with pytest.raises(DataQualityError, match=r"2 order lines have a negative amount \(smallest: "
                                               r"-12.0\) and returns='error' forbids them"):
        quiet(source.aggregate)


def test_bad_rows_raise_with_the_pandas_text(con: Any) -> None:
    lines = tiny_lines()
    with pytest.raises(DataQualityError) as from_pandas:
        prepare_orders(lines, FULL, on_bad_rows="raise")
    source = from_duckdb(con.from_df(lines), FULL, on_bad_rows="raise")
    with pytest.raises(DataQualityError) as from_engine:
        source.aggregate()
    assert str(from_engine.value) == str(from_pandas.value)


def test_bad_rows_warn_with_the_pandas_text(con: Any) -> None:
    lines = tiny_lines()
    with pytest.warns(DataQualityWarning) as from_pandas:
        prepare_orders(lines, FULL)
    with pytest.warns(DataQualityWarning) as from_engine:
        from_duckdb(con.from_df(lines), FULL).aggregate()
    assert [str(w.message) for w in from_engine] == [str(w.message) for w in from_pandas]


def test_sql_is_available_for_reading(con: Any) -> None:
    source = from_duckdb(con.from_df(tiny_lines()), FULL)
    text = source.sql(as_of="2024-02-15", window_days=30)
    assert "GROUP BY bucket, customer_id, order_key" in text
    assert "DATE '2024-02-15'" in text
    assert "purchases_in_window" in text


# ---------------------------------------------------------------------------
# sources: queries, Parquet and CSV files, connection settings
# ---------------------------------------------------------------------------


def test_query_on_a_connection(con: Any) -> None:
    lines = tiny_lines()
    con.register("lines_view", lines)
    source = from_duckdb("SELECT * FROM lines_view", FULL, connection=con, as_of="2024-02-15")
    assert_engine_matches(source, lines, FULL, 30, as_of="2024-02-15")


def test_parquet_glob_and_list(tmp_path: Path) -> None:
    lines = tiny_lines()
    lines.iloc[:6].to_parquet(tmp_path / "part-0.parquet")
    lines.iloc[6:].to_parquet(tmp_path / "part-1.parquet")
    lines.to_parquet(tmp_path / "select-all.pq")  # a path, though it reads like a query
    engine = from_duckdb(str(tmp_path / "select-all.pq"), FULL, as_of="2024-02-15")
    assert_engine_matches(engine, lines, FULL, 30, as_of="2024-02-15")
    for source in (str(tmp_path / "part-*.parquet"), sorted(tmp_path.glob("*.parquet"))):
        engine = from_duckdb(source, FULL, as_of="2024-02-15")
        assert_engine_matches(engine, lines, FULL, 30, as_of="2024-02-15")


def test_csv_ids_are_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "lines.csv"
    pd.DataFrame(
        {"customer_id": ["17850.0", "17850", "0042", "0042.0"], "order_id": ["1", "2", "3", "3"],
         "order_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
         "amount": [1.0, 2.0, 3.0, 4.0]}
    ).to_csv(path, index=False)
    expected = rfm_table(read_orders(path, FULL))
    got = rfm_table(from_duckdb(path, FULL))
    assert got.index.tolist() == ["0042", "17850"]
    assert_same_table(expected, got)


def test_connection_settings_are_applied(tmp_path: Path, con: Any) -> None:
    tiny_lines().to_parquet(tmp_path / "lines.parquet")
    spill = tmp_path / "spill"
    from_duckdb(tmp_path / "lines.parquet", FULL, connection=con, memory_limit="2GiB",
                temp_directory=spill, threads=1)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    assert con.execute("SELECT current_setting('temp_directory')").fetchone()[0] == str(spill)
    assert "2.0 GiB" in con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


def test_errors_name_the_problem(con: Any, tmp_path: Path) -> None:
    relation = con.from_df(tiny_lines())
    with pytest.raises(SchemaError, match=r"Column 'customer' .* Did you mean 'customer_id'\?"):
        from_duckdb(relation, OrderColumns(customer="customer"))
    with pytest.raises(ValueError, match=r"'returns' parameter of from_duckdb must be one of"):
        from_duckdb(relation, returns="keep")
    with pytest.raises(TypeError, match=r"unknown option 'as_off'; did you mean 'as_of'\?"):
        from_duckdb(relation, as_off="2024-01-01")
    with pytest.raises(ValueError, match=r"pass the relation's connection"):
        from_duckdb(relation, memory_limit="1GB")
    with pytest.raises(FileNotFoundError, match=r"No order file at"):
        from_duckdb(tmp_path / "missing.parquet")
    (tmp_path / "lines.json").write_text("[]")
    with pytest.raises(SchemaError, match=r"Cannot tell the format"):
        from_duckdb(tmp_path / "lines.json")
    with pytest.raises(SchemaError, match=r"holds numbers \(integer\), not dates"):
        numbers = con.sql("SELECT 'a' AS customer_id, 1 AS order_date, 1.0 AS amount")
        from_duckdb(numbers).aggregate()
    source = from_duckdb(relation, FULL, as_of="2024-01-10")
    with pytest.raises(ValueError, match=r"as_of=2024-02-01 is after the date this source"):
        quiet(source.aggregate, as_of="2024-02-01")
    with pytest.raises(ValueError, match=r"'window_days' parameter of EngineSource.aggregate "
                                         r"must be None or a whole number"):
        source.aggregate(window_days=-1)
    with pytest.raises(TypeError, match=r"from_spark expects a pyspark.sql.DataFrame"):
        from_spark(tiny_lines())
    with pytest.raises(TypeError, match=r"engine_aggregates expects an EngineSource"):
        engine_aggregates(tiny_lines())  # type: ignore[arg-type]


def test_structural_errors_match_pandas(con: Any) -> None:
    empty = con.sql("SELECT 'a' AS customer_id, TIMESTAMP '2024-01-01' AS order_date, "
                    "1.0 AS amount WHERE FALSE")
    with pytest.raises(SchemaError, match=r"The order table is empty \(0 rows\)"):
        from_duckdb(empty).aggregate()
    later = from_duckdb(con.from_df(tiny_lines()), FULL, as_of="2023-01-01")
    with pytest.raises(SchemaError, match=r"No valid order row remains: all 12 rows were dropped"):
        quiet(later.aggregate)
    no_dates = con.sql("SELECT 'a' AS customer_id, 'soon' AS order_date, 1.0 AS amount")
    with pytest.raises(SchemaError, match=r"Column 'order_date' holds no readable date"):
        from_duckdb(no_dates).aggregate()


# ---------------------------------------------------------------------------
# the real data set
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_orders() -> Any:
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA}")
    return quiet(read_orders, REAL_DATA, REAL_COLUMNS)


def test_real_data_through_duckdb_matches_pandas(real_orders: Any) -> None:
    rules = LifecycleRules()
    source = from_duckdb(REAL_DATA, REAL_COLUMNS)
    result = quiet(source.aggregate, window_days=rules.window_days)
    assert_same_quality(real_orders.quality, result.quality)
    assert result.quality.customers == 4372  # the data set's documented customer count
    aggregates = result.aggregates
    assert_same_table(rfm_table(real_orders), rfm_from_aggregates(aggregates))
    assert_same_table(btyd_summary(real_orders), btyd_from_aggregates(aggregates))
    pd.testing.assert_frame_equal(
        lifecycle_labels(real_orders, rules=rules),
        lifecycle_from_aggregates(aggregates, rules=rules),
    )


# ---------------------------------------------------------------------------
# text dates: the engine reads every supported form as pandas does
# ---------------------------------------------------------------------------

TEXT_DATE_CASES = {
    "iso with bad and out-of-range values": (
        ["2024-01-05 10:00", "2024-01-06", "2300-01-01", "1500-06-01", "x", "", "2024-02-30"], {}),
    "iso with slashes": (["2024/01/05", "2024/1/6 9:05"], {}),
    "iso with dots and fractions": (["2024.01.05 10:00:00.25", "2024.1.6 8:00"], {}),
    "day-first settled": (["13/01/2011 08:26", "01/12/2011 09:00", "2/3/2011 9:05"], {}),
    "day-first with dashes": (["01-12-2011", "31-12-2011"], {}),
    "month-first settled": (["12.13.2011", "01.12.2011"], {}),
    "dayfirst given": (["01/12/2011 08:26", "09/12/2011 09:00", "12/13/2011"],
                       {"dayfirst": True}),
    "dayfirst=False given": (["01/12/2011 08:26", "09/12/2011 09:00"], {"dayfirst": False}),
    "chinese": (["2011年12月9日 10时05分", "2011年1月19日", "2011年12月9日10:05:30",
                 "2011年2月1日 8时5分30秒"], {}),
    "offsets keep the wall clock": (
        ["2024-01-02T02:00:00+05:00", "2024-01-02T23:00:00-05:00", "2024-01-03T23:00:00Z"], {}),
    "offsets converted to tz": (
        ["2024-01-02T02:00:00+05:00", "2024-01-02T23:00:00-05:00"], {"tz": "Asia/Tokyo"}),
    "twelve-hour clock": (["12/1/2010 8:26:00 AM", "12/13/2010 12:05 PM", "1/2/2011 9:05pm"],
                          {}),
    "date_format given": (["05.01.2024 10:00", "13.01.2024 11:00", "2024-01-07"],
                          {"date_format": "%d.%m.%Y %H:%M"}),
}


@pytest.mark.parametrize("case", sorted(TEXT_DATE_CASES))
def test_text_dates_read_as_pandas_reads_them(con: Any, case: str) -> None:
    dates, options = TEXT_DATE_CASES[case]
    lines = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(dates))],
                          "order_date": dates, "amount": 1.0})
    source = from_duckdb(con.from_df(lines), **options)
    assert_engine_matches(source, lines, OrderColumns(), None, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        readings = source.aggregate().quality.readings
        expected = prepare_orders(lines, **options).quality.readings
    assert readings == expected


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["01/12/2011", "09/12/2011"], r"holds dates that read both day-first and month-first"),
        (["13/01/2011", "01/13/2011"], r"mixes day-first and month-first dates: 1 read only "
                                       r"day-first \(e\.g\. '13/01/2011'\) and 1 read only "
                                       r"month-first \(e\.g\. '01/13/2011'\)"),
        # (the engine lists the patterns in the order of their sorted values)
        (["05/01/2024", "2024-01-05"], r"mixes date formats: NN/NN/YYYY \(day-first or "
                                       r"month-first\) \(1 value, e\.g\. '05/01/2024'\); "
                                       r"YYYY-MM-DD \(1 value"),
        (["2024-01-02T02:00:00+05:00", "2024-01-02T03:00:00"], r"YYYY-MM-DD with a UTC offset "
                                                               r"\(1 value"),
        # counted in rows, as pandas counts them
        (["13/01/2011 10:00", "13/01/2011 10:05", "14/01/2011 09:00", "01/13/2011 10:00"],
         r"3 read only day-first \(e\.g\. '13/01/2011 10:00'\) and 1 read only month-first"),
        (["2024-01-05 10:00", "2024-01-05 11:00", "05/01/2024"],
         r"YYYY-MM-DD \(2 values, e\.g\. '2024-01-05 10:00'\)"),
    ],
)
def test_text_dates_are_refused_with_the_pandas_error(con: Any, dates, message) -> None:
    lines = pd.DataFrame({"customer_id": ["a"] * len(dates), "order_date": dates,
                          "amount": 1.0})
    with pytest.raises(SchemaError, match=message):
        prepare_orders(lines)
    with pytest.raises(SchemaError, match=message):
        from_duckdb(con.from_df(lines)).aggregate()


def test_numeric_date_formats_are_refused_by_the_engine(con: Any) -> None:
    lines = pd.DataFrame({"customer_id": ["a"], "order_date": [45323.5], "amount": [1.0]})
    with pytest.raises(InvalidParameterError, match=r"from_duckdb cannot honour "
                                                    r"date_format='excel': convert the numbers"):
        from_duckdb(con.from_df(lines), date_format="excel")


def test_csv_dates_are_read_by_the_pandas_rules_not_the_duckdb_sniffer(tmp_path: Path) -> None:
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("customer_id,order_date,amount\nx,01/02/2024,1\ny,03/04/2024,2\n")
    with pytest.raises(SchemaError, match=r"holds dates that read both day-first and "
                                          r"month-first"):
        from_duckdb(ambiguous).aggregate()
    settled = tmp_path / "settled.csv"
    settled.write_text("customer_id,order_date,amount\nx,13/02/2024,1\ny,03/04/2024,2\n"
                       "z,2024-01-05,3\n")
    with pytest.raises(SchemaError, match=r"mixes date formats"):
        from_duckdb(settled).aggregate()
    settled.write_text("customer_id,order_date,amount\nx,13/02/2024,1\ny,03/04/2024,2\n")
    table = from_duckdb(settled, dayfirst=True).aggregate().aggregates
    assert table["first_purchase"].dt.strftime("%Y-%m-%d").tolist() == ["2024-02-13",
                                                                          "2024-04-03"]


_DATE_FORMS = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%d/%m/%Y %H:%M", "%m-%d-%Y", "%d.%m.%Y",
               "%Y年%m月%d日 %H时%M分", "%Y-%m-%dT%H:%M:%S+08:00", "%m/%d/%Y %I:%M %p"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    days=st.lists(st.integers(0, 2 * 365), min_size=1, max_size=12),
    forms=st.lists(st.sampled_from(_DATE_FORMS), min_size=1, max_size=2),
    junk=st.lists(st.sampled_from(["", "soon", "2300-01-01", "31/02/2024"]), max_size=2),
    dayfirst=st.sampled_from([None, True, False]),
)
def test_random_text_dates_read_as_pandas_reads_them(con: Any, days, forms, junk, dayfirst):
    stamps = pd.Timestamp("2023-01-01 09:30") + pd.to_timedelta(days, unit="D")
    text = [s.strftime(forms[i % len(forms)]) for i, s in enumerate(stamps)] + junk
    lines = pd.DataFrame({"customer_id": [f"c{i % 3}" for i in range(len(text))],
                          "order_date": text, "amount": 1.0})
    options = {} if dayfirst is None else {"dayfirst": dayfirst}
    assert_engine_matches(from_duckdb(con.from_df(lines), **options), lines, OrderColumns(),
                          None, **options)


# ---------------------------------------------------------------------------
# reading options of the engines: columns, number text, files (not dates)
# ---------------------------------------------------------------------------

#: Lines written as a European/Chinese export writes them: semicolons, decimal
#: commas, thousands points; the same lines as numbers in NUMERIC_LINES.
EUROPEAN_TEXT = (
    "客户;日期;金额\n"
    "a;2024-01-01;1.234,50\n"
    "a;2024-01-05;-0,50\n"
    "b;2024-01-03;10\n"
    "b;2024-01-04;0,10\n"
    "b;2024-01-04;0,20\n"
    "c;2024-01-06;abc\n"
)
NUMERIC_LINES = pd.DataFrame({
    "customer_id": ["a", "a", "b", "b", "b", "c"],
    "order_date": ["2024-01-01", "2024-01-05", "2024-01-03", "2024-01-04", "2024-01-04",
                   "2024-01-06"],
    "amount": [1234.5, -0.5, 10.0, 0.1, 0.2, np.nan],
})
CN_COLUMNS = {"customer": "客户", "date": "日期", "amount": "金额"}


def _numeric_reference(**options: Any) -> tuple[pd.DataFrame, QualityReport]:
    orders = quiet(prepare_orders, NUMERIC_LINES, **options)
    return customer_aggregates(orders), orders.quality


@pytest.mark.parametrize("encoding", [None, "utf-16"])
def test_csv_with_semicolons_decimal_commas_and_thousands(tmp_path: Path,
                                                          encoding: str | None) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(EUROPEAN_TEXT, encoding=encoding or "utf-8")
    extra = {} if encoding is None else {"encoding": encoding}
    source = from_duckdb(path, CN_COLUMNS, sep=";", decimal=",", thousands=".",
                         amount_decimals=2, **extra)
    result = quiet(source.aggregate)
    want, quality = _numeric_reference(amount_decimals=2)
    assert_same_table(want, result.aggregates)
    assert_same_quality(quality, result.quality)
    assert result.quality.dropped == {"bad_amount": 1}
    # exact decimal sums: 1234.50 - 0.50 and 10 + 0.10 + 0.20, no float residue
    assert result.aggregates["monetary_total"].tolist() == [1234.0, 10.3]


def test_text_amounts_in_a_relation_follow_decimal_and_thousands(con: Any) -> None:
    lines = NUMERIC_LINES.assign(amount=["1.234,50", "-0,50", " 10 ", "0,10", "0,20", "abc"])
    result = quiet(from_duckdb(con.from_df(lines), decimal=",", thousands=".").aggregate)
    want, quality = _numeric_reference()
    assert_same_table(want, result.aggregates)
    assert_same_quality(quality, result.quality)


def test_amount_decimals_round_the_engine_sums_as_pandas_does(con: Any) -> None:
    lines = pd.DataFrame({"customer_id": ["a"] * 3 + ["b"],
                          "order_date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
                          "amount": [0.1, 0.2, -0.3, 0.7]})
    rounded = quiet(from_duckdb(con.from_df(lines), amount_decimals=2).aggregate).aggregates
    want = customer_aggregates(quiet(prepare_orders, lines, amount_decimals=2))
    assert rounded["monetary_total"].tolist() == want["monetary_total"].tolist() == [0.0, 0.7]
    pd.testing.assert_frame_equal(rounded, want)


def test_columns_auto_and_dicts_in_the_engines(con: Any, tmp_path: Path) -> None:
    lines = NUMERIC_LINES.rename(columns={"customer_id": "买家会员名", "order_date": "下单时间",
                                          "amount": "实付金额"})
    note = ("inferred from the header (columns='auto'): customer='买家会员名', "
            "date='下单时间', amount='实付金额'")
    lines.to_parquet(tmp_path / "shop.parquet")
    for source in (from_duckdb(con.from_df(lines), "auto"),
                   from_duckdb(tmp_path / "shop.parquet", "auto")):
        assert source.columns == OrderColumns(customer="买家会员名", date="下单时间",
                                              amount="实付金额")
        result = quiet(source.aggregate)
        assert result.quality.readings["columns"] == note
        assert_same_table(_numeric_reference()[0], result.aggregates)
    named = quiet(from_duckdb(con.from_df(lines), {"customer": "买家会员名", "date": "下单时间",
                                                   "amount": "实付金额"}).aggregate)
    assert "columns" not in named.quality.readings
    assert_same_table(_numeric_reference()[0], named.aggregates)
    with pytest.raises(SchemaError, match="'下单时间' and '付款时间' both fit the date column"):
        from_duckdb(con.from_df(lines.assign(付款时间=lines["下单时间"])), "auto")


def test_options_an_engine_cannot_honour_are_refused_before_running(con: Any,
                                                                    tmp_path: Path) -> None:
    relation = con.from_df(tiny_lines())
    with pytest.raises(InvalidParameterError, match=r"from_duckdb cannot honour the option\(s\) "
                       r"\['sheet_name'\] yet: .* Read the file with read_orders \(pandas\)"):
        from_duckdb(relation, sheet_name=0)
    with pytest.raises(InvalidParameterError, match=r"\['encoding', 'sep'\] are options of "
                       r"reading a CSV file; from_duckdb got lines the engine holds already"):
        from_duckdb(relation, sep=";", encoding="utf-8")
    tiny_lines().to_parquet(tmp_path / "lines.parquet")
    with pytest.raises(InvalidParameterError, match=r"\['sep'\] are options of reading a CSV "
                       r"file; .*lines.parquet'\] are Parquet files"):
        from_duckdb(tmp_path / "lines.parquet", sep=";")
    path = tmp_path / "gbk.csv"
    path.write_text(EUROPEAN_TEXT, encoding="gb18030")
    with pytest.raises(InvalidParameterError, match=r"from_duckdb cannot honour "
                       r"encoding='gb18030': DuckDB's CSV reader decodes only \['latin-1', "
                       r"'utf-16', 'utf-8'\].*Read the file with read_orders"):
        from_duckdb(path, CN_COLUMNS, sep=";", encoding="gb18030")
    with pytest.raises(SchemaError, match=r"DuckDB cannot read .*gbk.csv'\] as CSV .*needs "
                       r"read_orders \(pandas\), or a conversion to UTF-8"):
        from_duckdb(path, CN_COLUMNS, sep=";")


#: Text amounts, and what the amount text rule of read_orders reads in them per
#: (decimal, thousands); a text not listed is bad_amount. (The pandas reader,
#: _ingest/numbers.py, gives exactly these values for these texts.)
AMOUNT_TEXTS = ["￥1,200.50", "(3.25)", "12.50 EUR", "35元", "-$12.50", "$-12.50", "($12.50)",
                "+7", "１２．５０", "－５", "12.50-", "1,2,3", "$12 EUR", "abc", " 10 ", ".5", "5.",
                "1e3", "rmb 8", "--5", "(-5)", "1,200", "1.200,50", "1 200,50"]
_POINT = {"(3.25)": -3.25, "12.50 EUR": 12.5, "35元": 35.0, "-$12.50": -12.5,
          "$-12.50": -12.5, "($12.50)": -12.5, "+7": 7.0, "１２．５０": 12.5, "－５": -5.0,
          " 10 ": 10.0, ".5": 0.5, "5.": 5.0, "1e3": 1000.0, "rmb 8": 8.0}
_COMMA = {"35元": 35.0, "+7": 7.0, "－５": -5.0, " 10 ": 10.0, "1e3": 1000.0, "rmb 8": 8.0,
          "1,200": 1.2}
AMOUNT_READINGS: dict[tuple[str, str | None], dict[str, float]] = {
    (".", None): _POINT,
    (".", ","): {**_POINT, "￥1,200.50": 1200.5, "1,200": 1200.0},
    (",", "."): {**_COMMA, "1.200,50": 1200.5},
    (",", " "): {**_COMMA, "1 200,50": 1200.5},
}


@pytest.mark.parametrize(("decimal", "thousands"),
                         [(".", None), (".", ","), (",", "."), (",", " ")])
def test_text_amounts_follow_the_amount_text_rule(con: Any, decimal: str,
                                                  thousands: str | None) -> None:
    expr = _sql._number_text(_sql.DUCKDB, '"v"', decimal, thousands)
    got = con.from_df(pd.DataFrame({"v": AMOUNT_TEXTS})).query("t", f"SELECT {expr} AS x FROM t")
    values = got.fetchdf()["x"].tolist()
    read = {t: v for t, v in zip(AMOUNT_TEXTS, values, strict=True) if pd.notna(v)}
    assert read == AMOUNT_READINGS[(decimal, thousands)]


def test_csv_with_decimal_commas_only_is_read_by_the_sniffer(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("customer_id;order_date;amount\na;2024-01-01;12,50\na;2024-01-05;-0,50\n"
                    "b;2024-01-03;10\nb;2024-01-04;0,30\n", encoding="utf-8")
    result = quiet(from_duckdb(path, sep=";", decimal=",", amount_decimals=2).aggregate)
    assert result.aggregates["monetary_total"].to_dict() == {"a": 12.0, "b": 10.3}
    assert result.quality.rows_used == 4
