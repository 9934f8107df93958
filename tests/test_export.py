"""Tests of the exporters: round trips, formula injection, schema versions, provenance, SQL."""

from __future__ import annotations

import csv
import hashlib
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import rfm_loyalty
from rfm_loyalty import BinningWarning, ModelWarning
from rfm_loyalty import export as ex
from rfm_loyalty.analysis import Analysis, analyze
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.segments import Segment

DOCS = Path(__file__).resolve().parents[1] / "docs" / "export.md"

# (schema version, fingerprint of the columns) per table, recorded when the version was
# set. A failure here means a table's columns changed: bump its version in
# rfm_loyalty.export.SCHEMAS (and SCHEMA_VERSION), regenerate docs/export.md from
# schema_markdown(), and record the new pair here.
RECORDED = {
    "customers": (2, "e0736429ea49e598"),
    "segments": (1, "940f6f3940056726"),
    "lifecycle": (1, "a5259917e9055682"),
    "campaigns_lifecycle": (1, "ea58eb97a706d1d6"),
    "campaigns_segment": (1, "ca3db21cf6938a39"),
    "quality": (1, "4d6ab3bbc915b73e"),
    "summary": (1, "33953429ac92aa71"),
    "pareto": (2, "a11948d0a62f5094"),
    "whale": (2, "683f1993bd78e66a"),
    "tiers": (1, "68dbb8d81b7b2244"),
    "churn": (1, "9c3892a4a79f20fa"),
    "retention": (1, "e1db34ee3c8de089"),
    "flow": (1, "9164a8a80b10d49f"),
    "model_parameters": (1, "19689d37bd5fa4bb"),
}
RECORDED_SET = (2, "b12270078532de0f")

HOSTILE_IDS = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "'quoted", "<b>bold</b>", "顾客一"]
HOSTILE_RULES = (
    Segment("=HYPERLINK(\"http://x\")", r=(4, 5), action="=cmd|' /C calc'!A0"),
    Segment("\tTabbed", r=(2, 3), action="-1+1"),
    Segment("@At", r=(1, 1), action="normal action"),
)


def _lines() -> pd.DataFrame:
    lines = make_orders(300, random_state=7)
    ids = sorted(lines["customer_id"].unique())[: len(HOSTILE_IDS)]
    hostile = dict(zip(ids, HOSTILE_IDS, strict=True))
    return lines.assign(customer_id=lines["customer_id"].replace(hostile))


def _analyze(data, **kwargs) -> Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        warnings.simplefilter("ignore", ModelWarning)
        return analyze(data, **kwargs)


@pytest.fixture(scope="module")
def full() -> Analysis:
    """Profit (cost column + cost to serve, so some customers lose money) and models."""
    return _analyze(_lines(), cost_per_order=5.0, models=True, segments=HOSTILE_RULES)


@pytest.fixture(scope="module")
def bare() -> Analysis:
    """No cost input and no models."""
    return _analyze(make_orders(80, random_state=3, with_cost=False), n_bins=3)


@pytest.fixture(scope="module")
def tables(full) -> dict[str, pd.DataFrame]:
    return ex.export_tables(full)


# --------------------------------------------------------------------------- #
# schema
# --------------------------------------------------------------------------- #
def test_schema_versions_match_recorded_fingerprints():
    assert set(RECORDED) == set(ex.SCHEMAS)
    for name, schema in ex.SCHEMAS.items():
        assert (schema.version, ex.schema_hash(name)) == RECORDED[name], (
            f"The columns of table {name!r} changed without a schema version change."
        )
    assert (ex.SCHEMA_VERSION, ex.schema_hash()) == RECORDED_SET


def test_fingerprint_sees_a_column_change(monkeypatch):
    schemas = dict(ex.SCHEMAS)
    quality = schemas["quality"]
    renamed = (ex.Column("label", "text", "x"), *quality.columns[1:])
    schemas["quality"] = ex.TableSchema("quality", quality.version, quality.description, renamed)
    before = ex.schema_hash("quality")
    monkeypatch.setattr(ex, "SCHEMAS", schemas)
    assert ex.schema_hash("quality") != before


def test_docs_hold_the_generated_schema():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("-->", text.index("<!-- schema:start")) + 4
    end = text.index("<!-- schema:end -->")
    assert text[start:end] == ex.schema_markdown(), (
        "docs/export.md is out of date: paste rfm_loyalty.export.schema_markdown() "
        "between the schema markers."
    )


def test_exported_columns_follow_the_schema(tables, bare):
    for name, frame in tables.items():
        assert list(frame.columns) == [c.name for c in ex.SCHEMAS[name].columns], name
        assert frame.index.equals(pd.RangeIndex(len(frame)))
    assert set(tables) == set(ex.SCHEMAS)
    plain = ex.export_tables(bare)
    assert set(ex.SCHEMAS) - set(plain) == {"whale", "tiers", "model_parameters"}
    expected = [c.name for c in ex.SCHEMAS["customers"].columns if c.when == "always"]
    assert list(plain["customers"].columns) == expected
    assert "profit" not in plain["segments"].columns


def test_exported_dtypes_follow_the_schema(tables):
    kinds = {"int64": "int64", "float64": "float64", "bool": "bool",
             "datetime": "datetime64[ns]"}
    for name, frame in tables.items():
        for spec in ex.SCHEMAS[name].columns:
            column = frame[spec.name]
            if spec.dtype == "text":
                assert pd.api.types.is_string_dtype(column.dtype), (name, spec.name)
                assert column.map(lambda v: isinstance(v, str)).all(), (name, spec.name)
            else:
                assert str(column.dtype) == kinds[spec.dtype], (name, spec.name)


def test_campaign_tables(tables, full):
    life = tables["campaigns_lifecycle"]
    assert len(life) == len(full.customers)
    assert life["customer_id"].is_unique
    order = list(full.customers["lifecycle"].cat.categories)
    ranks = life["label"].map(order.index)
    assert ranks.is_monotonic_increasing
    new = life[life["label"] == "new"]
    assert (new["action"] == "Campaign for the second purchase.").all()
    assert (new["label_zh"] == "新顾客").all()
    seg = tables["campaigns_segment"]
    tabbed = seg[seg["label"] == "\tTabbed"]
    assert (tabbed["action"] == "-1+1").all()


# --------------------------------------------------------------------------- #
# files: round trips
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "xlsx"])
def test_round_trip(fmt, full, tables, tmp_path):
    files = full.export(tmp_path, format=fmt)
    assert [f.name for f in files] == [f"{n}.{fmt}" for n in tables] + ["metadata.json"]
    for name, expected in tables.items():
        back = ex.read_export(tmp_path, name, format=fmt)
        if fmt in ("csv", "xlsx"):  # text cells are written neutralised, by design
            expected = ex.neutralize_formulas(expected)
        pd.testing.assert_frame_equal(back, expected, obj=f"{fmt} {name}")


def test_several_formats_at_once(full, tmp_path):
    files = full.export(tmp_path, format=["csv", "parquet"])
    assert {f.suffix for f in files} == {".csv", ".parquet", ".json"}
    meta = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert "customers.csv" in meta["files"] and "customers.parquet" in meta["files"]


def test_bad_format_raises(full, tmp_path):
    with pytest.raises(ValueError, match=r"'format' parameter of export must be .* Got 'xls'"):
        full.export(tmp_path, format="xls")
    with pytest.raises(ValueError, match=r"Unknown table 'nope'"):
        ex.read_export(tmp_path, "nope")


# --------------------------------------------------------------------------- #
# formula injection
# --------------------------------------------------------------------------- #
def test_neutralize_formulas_text_only():
    frame = pd.DataFrame({
        "text": ["=1+1", "+a", "-b", "@c", "\td", "\re", "ok", "'x", ""],
        "number": [-1.5, 2.0, -3.0, 4.0, -5.0, 6.0, 7.0, 8.0, 9.0],
    })
    before = frame.copy()
    out = ex.neutralize_formulas(frame)
    assert out["text"].tolist() == ["'=1+1", "'+a", "'-b", "'@c", "'\td", "'\re", "ok", "'x", ""]
    pd.testing.assert_series_equal(out["number"], frame["number"])
    pd.testing.assert_frame_equal(frame, before)  # input untouched


def test_csv_cells_are_neutralised_and_numbers_stay_numbers(full, tmp_path):
    full.export(tmp_path, format="csv")
    with open(tmp_path / "customers.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ids = {row["customer_id"] for row in rows}
    assert {"'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd"} <= ids
    assert {"'quoted", "<b>bold</b>", "顾客一"} <= ids  # harmless text unchanged
    negative = [row["profit"] for row in rows if row["profit"].startswith("-")]
    assert negative, "the fixture needs loss-making customers"
    assert all(float(v) < 0 for v in negative)  # written as plain negative numbers
    with open(tmp_path / "segments.csv", newline="", encoding="utf-8") as handle:
        segments = {row["segment"]: row["action"] for row in csv.DictReader(handle)}
    assert segments["'=HYPERLINK(\"http://x\")"] == "'=cmd|' /C calc'!A0"
    assert segments["'\tTabbed"] == "'-1+1"


def test_xlsx_cells_are_text_not_formulas(full, tmp_path):
    import openpyxl

    full.export(tmp_path, format="xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "customers.xlsx").active
    header = [cell.value for cell in sheet[1]]
    id_col, profit_col = header.index("customer_id"), header.index("profit")
    cells = [row[id_col] for row in sheet.iter_rows(min_row=2)]
    hostile = [c for c in cells if str(c.value).startswith("'")]
    assert {c.value for c in hostile} >= {"'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd"}
    assert all(c.data_type == "s" for c in cells)  # no formula cell ("f")
    profits = [row[profit_col] for row in sheet.iter_rows(min_row=2)]
    assert any(c.data_type == "n" and c.value < 0 for c in profits)


# --------------------------------------------------------------------------- #
# provenance
# --------------------------------------------------------------------------- #
def test_metadata(full, tables, tmp_path):
    full.export(tmp_path, format="json")
    meta = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    assert meta["schema_version"] == ex.SCHEMA_VERSION
    assert meta["as_of"] == str(full.as_of.date())
    assert meta["parameters"] == json.loads(json.dumps(dict(full.params)))
    assert meta["parameters"]["cost_per_order"] == 5.0
    assert meta["library"]["version"] == rfm_loyalty.__version__
    assert meta["input"]["rows"] == full.quality.rows_in
    assert meta["input"]["sha256_of"] == "DataFrame"
    assert meta["input"]["sha256"] == full.input.sha256
    assert meta["input"]["customers"] == full.quality.customers
    for name, frame in tables.items():
        dtypes = {c.name: c.dtype for c in ex.SCHEMAS[name].columns}
        assert meta["tables"][name] == {
            "schema_version": ex.SCHEMAS[name].version, "rows": len(frame),
            "columns": list(frame.columns), "dtypes": {c: dtypes[c] for c in frame.columns},
        }


def test_metadata_hashes_the_input_file(tmp_path):
    path = tmp_path / "orders.csv"
    make_orders(40, random_state=1).to_csv(path, index=False)
    result = _analyze(path, n_bins=3)
    result.export(tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["input"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["input"]["sha256_of"] == "file"
    assert meta["input"]["source"] == str(path)
    assert meta["input"]["rows"] == len(pd.read_csv(path))


# --------------------------------------------------------------------------- #
# SQL
# --------------------------------------------------------------------------- #
def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    # SQL tables are unordered: compare the rows as a set (sorted on every column).
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True)


def _check_sql_round_trip(url_or_engine, analysis, tables, prefix):
    written = analysis.to_sql(url_or_engine, prefix=prefix)
    assert written == [f"{prefix}{n}" for n in tables] + [f"{prefix}metadata"]
    for name, expected in tables.items():
        back = ex.read_sql(url_or_engine, name, prefix=prefix)
        pd.testing.assert_frame_equal(_rows(back), _rows(expected), obj=f"sql {name}")
    meta = ex.read_sql(url_or_engine, "metadata", prefix=prefix).set_index("key")["value"]
    assert meta["as_of"] == str(analysis.as_of.date())
    assert meta["input"]["sha256"] == analysis.input.sha256


def test_sqlite_round_trip(full, tables, tmp_path):
    _check_sql_round_trip(f"sqlite:///{tmp_path / 'rfm.db'}", full, tables, "rfm_")


def test_sql_if_exists(full, bare, tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'rfm.db'}"
    engine = sa.create_engine(url)
    pd.DataFrame({"x": [1]}).to_sql("rfm_segments", engine, index=False)
    with pytest.raises(ValueError, match=r"Tables \['rfm_segments'\] already exist"):
        full.to_sql(engine, if_exists="fail")
    assert not sa.inspect(engine).has_table("rfm_customers")  # nothing written
    full.to_sql(engine, if_exists="replace")
    n = len(full.customers)
    assert len(ex.read_sql(engine, "customers")) == n
    full.to_sql(engine, if_exists="append")
    assert len(ex.read_sql(engine, "customers")) == 2 * n
    bare.to_sql(engine, if_exists="replace")
    assert len(ex.read_sql(engine, "customers")) == len(bare.customers)
    engine.dispose()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prefix": "rfm; DROP TABLE x; --"}, r"'prefix' parameter of to_sql .* Got 'rfm; DROP"),
        ({"prefix": "Rfm_"}, r"'prefix' parameter of to_sql must be lower-case"),
        ({"prefix": "x" * 31}, r"at most 30"),
        ({"if_exists": "truncate"}, r"'fail', 'replace' or 'append'. Got 'truncate'"),
    ],
)
def test_sql_rejects_bad_names_and_modes(bare, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bare.to_sql("sqlite://", **kwargs)


@pytest.mark.postgres
def test_postgres_round_trip(full, bare, tables, postgres_url):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    try:
        _check_sql_round_trip(engine, full, tables, "t1_")
        with pytest.raises(ValueError, match=r"already exist"):
            full.to_sql(engine, prefix="t1_")
        full.to_sql(engine, prefix="t1_", if_exists="append")
        assert len(ex.read_sql(engine, "customers", prefix="t1_")) == 2 * len(full.customers)
        bare.to_sql(engine, prefix="t1_", if_exists="replace")
        back = ex.read_sql(engine, "customers", prefix="t1_")
        pd.testing.assert_frame_equal(_rows(back), _rows(ex.export_tables(bare)["customers"]))
        with engine.connect() as conn:
            types = dict(conn.execute(sa.text(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 't1_customers'")).all())
        assert types["customer_id"] == "text"
        assert types["first_purchase"] == "timestamp without time zone"
        assert types["churned"] == "boolean"
        assert types["frequency"] == "bigint"
        assert types["monetary_total"] == "double precision"
    finally:
        engine.dispose()
