"""The Spark engine gives the pandas results (a local Spark session, ``-m spark``).

Slow by nature (a JVM starts once per session, every query takes about a
second), so the cases are few and each one checks a lot: the same helpers as
``test_engines.py`` compare with pandas, exactly except float sums.
"""

from __future__ import annotations

import datetime as dt
import shutil
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from rfm_loyalty._ingest.ids import ids_as_text
from rfm_loyalty.engines import _sql, from_spark
from rfm_loyalty.exceptions import DataQualityWarning, InvalidParameterError, SchemaError
from rfm_loyalty.lifecycle import LifecycleRules, lifecycle_from_aggregates, lifecycle_labels
from rfm_loyalty.orders import OrderColumns, read_orders
from rfm_loyalty.summary import (
    btyd_from_aggregates,
    btyd_summary,
    rfm_from_aggregates,
    rfm_table,
)
from tests.test_engines import (
    FULL,
    ID_COLUMNS,
    REAL_COLUMNS,
    REAL_DATA,
    assert_engine_matches,
    assert_same_quality,
    assert_same_table,
    quiet,
    random_lines,
    tiny_lines,
)

pytestmark = [
    pytest.mark.spark,
    # pyspark warns at import that it does not fully support pandas 3; the
    # engine never hands pandas objects to Spark, so the warning does not apply
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

pyspark = pytest.importorskip("pyspark", reason="the Spark engine needs pyspark (extra [spark])")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17) on the PATH; none found", allow_module_level=True)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

UTC = dt.timezone.utc


@pytest.fixture(scope="session")
def spark() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("rfm_loyalty-tests")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            # tiny inputs: compiling generated code costs more than it saves,
            # and the JIT's first tier is enough for a short test run
            .config("spark.sql.codegen.wholeStage", "false")
            .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


_SPARK_TYPES = {
    "f": T.DoubleType(),
    "i": T.LongType(),
    "b": T.BooleanType(),
    "M": T.TimestampNTZType(),
}


def to_spark(spark: Any, frame: pd.DataFrame) -> Any:
    """A Spark DataFrame of the same values (NaN kept as NaN in float columns)."""
    fields, columns = [], []
    for name in frame.columns:
        values = frame[name]
        kind = values.dtype.kind
        fields.append(T.StructField(name, _SPARK_TYPES.get(kind, T.StringType()), True))
        if kind == "M":
            column = [None if pd.isna(v) else v.to_pydatetime() for v in values]
        elif kind in "fib":
            column = values.tolist()
        else:
            column = [None if v is None or v is pd.NA or v != v else str(v) for v in values]
        columns.append(column)
    return spark.createDataFrame(list(zip(*columns, strict=True)), T.StructType(fields))


def test_tiny_lines_and_public_functions(spark: Any) -> None:
    lines = tiny_lines()
    source = from_spark(to_spark(spark, lines), FULL, as_of="2024-02-15")
    assert_engine_matches(source, lines, FULL, 30, as_of="2024-02-15")
    table = quiet(rfm_table, source)
    assert table.index.tolist() == ["7", "b"]
    assert table["monetary_total"].tolist() == [33.0, 10.0]  # 15 + 30 - 12; 8 + 2
    orders = quiet(read_orders, lines, FULL, as_of="2024-02-15")
    pd.testing.assert_frame_equal(lifecycle_labels(orders), quiet(lifecycle_labels, source))


def test_customer_ids_read_as_pandas_reads_them(spark: Any) -> None:
    for kind, values in ID_COLUMNS.items():
        codes, texts = ids_as_text(values)
        expected = [texts[c] if c >= 0 else None for c in codes]
        frame = to_spark(spark, pd.DataFrame({"cid": values}))
        expr = _sql._id_expr(_sql.SPARK, "cid", kind)
        got = [row[0] for row in frame.selectExpr(f"{expr} AS id").collect()]
        assert got == expected, kind


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(case=random_lines())
def test_random_lines_match_pandas(spark: Any, case: Any) -> None:
    lines, columns, options, window_days = case
    source = from_spark(to_spark(spark, lines), columns, **options)
    assert_engine_matches(source, lines, columns, window_days, **options)


def test_tz_is_refused(spark: Any) -> None:
    frame = to_spark(spark, tiny_lines())
    with pytest.raises(ValueError, match=r"set spark.sql.session.timeZone instead"):
        from_spark(frame, FULL, tz="Europe/Paris")


def test_real_data_through_spark_matches_pandas(spark: Any) -> None:
    if not REAL_DATA.exists():
        pytest.skip(f"real data not found at {REAL_DATA}")
    expected = quiet(read_orders, REAL_DATA, REAL_COLUMNS)
    # every column as text: Spark parses the dates and numbers itself
    schema = T.StructType(
        [T.StructField(name, T.StringType(), True) for name in
         ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]]
    )
    frame = spark.read.csv(str(REAL_DATA), header=True, schema=schema)
    rules = LifecycleRules()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        result = from_spark(frame, REAL_COLUMNS).aggregate(window_days=rules.window_days)
    assert_same_quality(expected.quality, result.quality)
    assert_same_table(rfm_table(expected), rfm_from_aggregates(result.aggregates))
    assert_same_table(btyd_summary(expected), btyd_from_aggregates(result.aggregates))
    pd.testing.assert_frame_equal(
        lifecycle_labels(expected, rules=rules),
        lifecycle_from_aggregates(result.aggregates, rules=rules),
    )
    assert np.isclose(result.quality.amount_used, expected.quality.amount_used)


def test_timestamp_type_uses_the_session_time_zone(spark: Any) -> None:
    # a TimestampType column holds instants; its calendar day is the session's
    frame = spark.createDataFrame(
        [("a", dt.datetime(2024, 1, 1, 23, 30, tzinfo=UTC), 1.0),
         ("a", dt.datetime(2024, 1, 2, 0, 30, tzinfo=UTC), 2.0)],
        "customer_id string, order_date timestamp, amount double",
    )
    table = quiet(rfm_table, from_spark(frame))
    assert table.loc["a", "purchase_days"] == 2
    assert table.attrs["as_of"] == "2024-01-02"


def test_iso_text_dates_match_pandas_and_other_forms_are_refused(spark: Any) -> None:
    iso = ["2024-01-05 10:00", "2024-1-6", "2024-01-07T08:00:00", "2300-01-01", "x", "2024-02-30"]
    lines = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(iso))],
                          "order_date": iso, "amount": 1.0})
    assert_engine_matches(from_spark(to_spark(spark, lines)), lines, OrderColumns(), None)
    day_first = lines.assign(order_date=["13/01/2011", "01/12/2011"] * 3)
    source = from_spark(to_spark(spark, day_first))
    with pytest.raises(SchemaError, match=r"from_spark reads text dates written YYYY-MM-DD "
                                          r"\(with an optional time\) only; column 'order_date' "
                                          r"holds \"NN/NN/YYYY .*day-first.*Convert it in Spark "
                                          r"first \(to_timestamp\(col, pattern\)\), or read the "
                                          r"lines with read_orders\."):
        source.aggregate()


def test_number_text_options_amount_decimals_and_columns_auto(spark: Any) -> None:
    from tests.test_engines import NUMERIC_LINES, _numeric_reference

    text = NUMERIC_LINES.assign(amount=["1.234,50", "-0,50", " 10 ", "0,10", "0,20", "abc"])
    source = from_spark(to_spark(spark, text), decimal=",", thousands=".", amount_decimals=2)
    result = quiet(source.aggregate)
    want, quality = _numeric_reference(amount_decimals=2)
    assert_same_table(want, result.aggregates)
    assert_same_quality(quality, result.quality)
    assert result.aggregates["monetary_total"].tolist() == [1234.0, 10.3]
    shop = NUMERIC_LINES.rename(columns={"customer_id": "买家会员名", "order_date": "下单时间",
                                         "amount": "实付金额"})
    auto = from_spark(to_spark(spark, shop), "auto")
    assert auto.columns.used() == {"customer": "买家会员名", "date": "下单时间",
                                   "amount": "实付金额"}
    got = quiet(auto.aggregate)
    assert got.quality.readings["columns"].startswith("inferred from the header")
    assert_same_table(_numeric_reference()[0], got.aggregates)
    named = from_spark(to_spark(spark, shop), {"customer": "买家会员名", "date": "下单时间",
                                               "amount": "实付金额"})
    assert_same_table(_numeric_reference()[0], quiet(named.aggregate).aggregates)
    with pytest.raises(InvalidParameterError, match=r"\['sep'\] are options of reading a CSV "
                       r"file; from_spark got lines the engine holds already"):
        from_spark(to_spark(spark, text), sep=";")


@pytest.mark.parametrize(("decimal", "thousands"), [(".", None), (",", ".")])
def test_text_amounts_follow_the_amount_text_rule_in_spark(spark: Any, decimal: str,
                                                           thousands: str | None) -> None:
    from tests.test_engines import AMOUNT_READINGS, AMOUNT_TEXTS

    frame = spark.createDataFrame([(t,) for t in AMOUNT_TEXTS], "v string")
    frame.createOrReplaceTempView("amount_texts")
    expr = _sql._number_text(_sql.SPARK, "`v`", decimal, thousands)
    rows = spark.sql(f"SELECT v, {expr} AS x FROM amount_texts").collect()
    read = {row["v"]: row["x"] for row in rows if row["x"] is not None}
    assert read == AMOUNT_READINGS[(decimal, thousands)]
