"""Tests of the exporters: round trips, formula injection, schema versions, provenance, SQL."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import warnings
from pathlib import Path

import numpy as np
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
    "customers": (2, "59d8c9753ca4589b"),
    "segments": (2, "b45df966e2781394"),
    "lifecycle": (1, "a5259917e9055682"),
    "campaigns_lifecycle": (1, "ea58eb97a706d1d6"),
    "campaigns_segment": (1, "ca3db21cf6938a39"),
    "quality": (1, "4d6ab3bbc915b73e"),
    "summary": (1, "33953429ac92aa71"),
    "pareto": (2, "a11948d0a62f5094"),
    "whale": (2, "683f1993bd78e66a"),
    "tiers": (1, "68dbb8d81b7b2244"),
    "churn": (1, "9c3892a4a79f20fa"),
    "retention": (2, "3b8c2fe697d766cd"),
    "flow": (2, "1d723e275424cd17"),
    "model_parameters": (1, "19689d37bd5fa4bb"),
}
RECORDED_SET = (2, "2af1bb3f73231c55")

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


def _analyze(data, columns=None, **kwargs) -> Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        warnings.simplefilter("ignore", ModelWarning)
        return analyze(data, columns, **kwargs)


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


# --------------------------------------------------------------------------- #
# the tables as the earlier writer wrote them
# --------------------------------------------------------------------------- #
FIXTURE = Path(__file__).resolve().parent / "data" / "export_eacc791"


@pytest.fixture(scope="module")
def sample() -> Analysis:
    """The analysis of tests/data/export_eacc791 (scripts/make_export_fixture.py)."""
    from rfm_loyalty.datasets import load_sample_orders
    from rfm_loyalty.orders import OrderColumns

    return _analyze(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
                    cost_per_order=5.0, models=True)


def test_every_table_reads_back_as_the_earlier_writer_wrote_it(sample, tmp_path):
    ex.export_analysis(sample, tmp_path, timestamp=False)
    old_meta = json.loads((FIXTURE / "metadata.json").read_text(encoding="utf-8"))
    assert set(old_meta["tables"]) == set(ex.SCHEMAS)
    for name in old_meta["tables"]:
        old = ex.read_export(FIXTURE, name)
        new = ex.read_export(tmp_path, name)
        assert old_meta["tables"][name]["columns"] == list(old.columns), name
        # the customer table gained the rank columns (schema version 2); the 1,000
        # customers' curves are whole at 1,001 points
        # standard errors (and the intervals built on them) come from a finite-difference
        # Hessian, which reproduces to about 1e-8 relative across numpy/scipy builds;
        # every other column, the estimates included, must agree to 1e-12
        loose = [c for c in ("standard_error", "lower_95", "upper_95")
                 if name == "model_parameters" and c in old.columns]
        tight = [c for c in old.columns if c not in loose]
        pd.testing.assert_frame_equal(new[tight], old[tight], check_exact=False,
                                      rtol=1e-12, obj=name)
        pd.testing.assert_frame_equal(new[loose], old[loose], check_exact=False,
                                      rtol=1e-6, obj=name)
    new_meta = json.loads((tmp_path / "metadata.json").read_text(encoding="utf-8"))
    for key in ("as_of", "formula_neutralisation"):
        assert new_meta[key] == old_meta[key], key
    # the parameters: the same, but models as the list of model names (True was BG/NBD),
    # and the new reading, readings, loyalty and loyalty_options records (CHANGELOG.md)
    old_params, new_params = old_meta["parameters"], new_meta["parameters"]
    assert new_params.pop("models") == (["bgnbd"] if old_params.pop("models") else [])
    assert new_params.pop("reading")["returns"] == old_params["returns"]
    assert (new_params.pop("loyalty"), new_params.pop("loyalty_options")) == (False, {})
    assert new_params.pop("readings") == {}  # nothing for the reader to decide in the frame
    assert new_params == old_params
    # a DataFrame's sha256 hashes pandas' representation of it, which pandas 2 and 3 differ in
    assert {k: v for k, v in new_meta["input"].items() if k != "sha256"} == {
        k: v for k, v in old_meta["input"].items() if k != "sha256"}


def test_the_fixture_is_the_earlier_code_and_script_say_how():
    meta = json.loads((FIXTURE / "metadata.json").read_text(encoding="utf-8"))
    assert meta["schema_version"] == 1
    assert meta["tables"]["customers"]["schema_version"] == 1
    assert "revenue_rank" not in meta["tables"]["customers"]["columns"]
    script = (Path(__file__).resolve().parents[1] / "scripts" / "make_export_fixture.py")
    assert 'DEFAULT_COMMIT = "eacc791"' in script.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- #
# curve tables and the customers' own points
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def large() -> Analysis:
    """2,345 customers: more than the curves' 1,001 points; some lose money."""
    return _analyze(make_orders(2345, random_state=5), cost_per_order=4.0, n_bins=4)


def _grid_ranks(n: int) -> list[int]:
    # the documented rule, written out: rank ceil(k * N) for k = 0, 0.001, ..., 1
    return sorted({min(n, math.ceil(i * n / 1000 - 1e-9)) for i in range(1001)})


def test_curve_tables_hold_1001_points_taken_at_the_ranks(large):
    tables = ex.export_tables(large)
    for table, curve, n in (("pareto", large.pareto.curve, large.pareto.n_customers),
                            ("whale", large.profitability.whale,
                             large.profitability.n_customers)):
        exported = tables[table]
        assert n > 1000
        assert exported["rank"].tolist() == _grid_ranks(n)
        assert len(exported) == 1001
        expected = curve.loc[exported["rank"]].reset_index()
        pd.testing.assert_frame_equal(exported, expected, check_exact=True, obj=table)
    top = tables["pareto"].set_index("rank")["value_share"]
    assert top[math.ceil(0.2 * large.pareto.n_customers)] == large.pareto.top_share(0.2)


def test_small_curves_keep_every_rank(bare):
    pareto_table = ex.export_tables(bare)["pareto"]
    assert pareto_table["rank"].tolist() == list(range(len(bare.customers) + 1))


def test_customers_carry_their_point_of_both_curves(large):
    c = large.customers
    # naive ranking: largest value first, equal values by customer id
    by_revenue = sorted(c.index, key=lambda i: (-c.at[i, "monetary_total"], i))
    assert c.loc[by_revenue, "revenue_rank"].tolist() == list(range(1, len(c) + 1))
    total = c["monetary_total"].sum()
    cumulative = c.loc[by_revenue, "monetary_total"].cumsum() / total
    np.testing.assert_allclose(c.loc[by_revenue, "revenue_cumulative_share"], cumulative,
                               rtol=1e-12)
    curve = large.pareto.curve["value_share"]
    np.testing.assert_array_equal(c["revenue_cumulative_share"],
                                  curve.loc[c["revenue_rank"]].to_numpy())
    whale = large.profitability.whale["profit_share"]
    np.testing.assert_array_equal(c["profit_cumulative_share"],
                                  whale.loc[c["profit_rank"]].to_numpy())
    ranked = large.profitability.ranked
    positions = pd.Series(np.arange(1, len(ranked) + 1), index=ranked.index)
    assert (c["profit_rank"] == positions.reindex(c.index)).all()
    assert c["revenue_rank"].dtype == "int64" and c["profit_rank"].dtype == "int64"
    exported = ex.export_tables(large)["customers"]
    assert list(exported.columns[-4:]) == ["revenue_rank", "revenue_cumulative_share",
                                           "profit_rank", "profit_cumulative_share"]


def test_customer_rows_are_in_customer_id_order_whatever_the_analysis_holds(bare):
    shuffled = dataclasses.replace(
        bare, customers=bare.customers.sample(frac=1.0, random_state=3))
    assert not shuffled.customers.index.is_monotonic_increasing
    for name, frame in ex.export_tables(shuffled).items():
        pd.testing.assert_frame_equal(frame, ex.export_tables(bare)[name], obj=name)


# --------------------------------------------------------------------------- #
# file formats: one schema, fixed text
# --------------------------------------------------------------------------- #
def test_parquet_and_csv_share_the_schema(full, tmp_path):
    import pyarrow.parquet as pq

    full.export(tmp_path, format=["csv", "parquet"])
    for name, schema in ex.SCHEMAS.items():
        file = pq.ParquetFile(tmp_path / f"{name}.parquet")
        arrow = file.schema_arrow
        expected = {"text": "string", "int64": "int64", "float64": "double", "bool": "bool",
                    "datetime": "timestamp[ns]"}
        assert {f.name: str(f.type) for f in arrow} == {
            c.name: expected[c.dtype] for c in schema.columns if c.name in arrow.names}
        assert file.schema_arrow.metadata == {
            b"rfm_loyalty.table": name.encode(),
            b"rfm_loyalty.schema_version": str(schema.version).encode()}
        header = (tmp_path / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(f'"{c}"' for c in arrow.names)


def test_csv_text_of_dates_flags_and_missing_numbers(tmp_path):
    lines = pd.DataFrame({"customer_id": ["a", "b", "b"],
                          "order_date": ["2024-06-20", "2024-01-05", "2024-06-25"],
                          "amount": [10.0, 20.0, 15.0]})
    result = _analyze(lines, as_of="2024-06-30", n_bins=2)
    ex.export_analysis(result, tmp_path)
    with open(tmp_path / "customers.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["first_purchase"] for r in rows] == ["2024-06-20", "2024-01-05"]
    assert [r["churned"] for r in rows] == ["False", "False"]
    assert rows[0]["median_gap_days"] == ""  # NaN: one purchase day
    assert [r["revenue_rank"] for r in rows] == ["2", "1"]
    raw = (tmp_path / "customers.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")


def test_neutralize_formulas_quotes_text_categories_once():
    frame = pd.DataFrame({"label": pd.Categorical(["=x", "y", "=x"]), "n": [1, 2, 3]})
    out = ex.neutralize_formulas(frame)
    assert out["label"].tolist() == ["'=x", "y", "'=x"]
    assert isinstance(out["label"].dtype, pd.CategoricalDtype)
    clash = pd.DataFrame({"label": pd.Categorical(["=x", "'=x"])})
    assert ex.neutralize_formulas(clash)["label"].tolist() == ["'=x", "'=x"]
    mixed = pd.DataFrame({"v": pd.Series(["=a", 3, None, "b"], dtype=object)})
    assert ex.neutralize_formulas(mixed)["v"].tolist() == ["'=a", 3, None, "b"]


# --------------------------------------------------------------------------- #
# atomic export: a failure leaves the previous export as it was
# --------------------------------------------------------------------------- #
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _no_staging_left(folder: Path) -> None:
    leftovers = [p.name for p in folder.parent.iterdir() if ".rfm-export-" in p.name]
    if folder.exists():
        leftovers += [p.name for p in folder.iterdir() if p.name.startswith(".rfm-export-")]
    assert leftovers == []


def test_a_writer_failing_half_way_leaves_the_previous_export(full, bare, tmp_path,
                                                               monkeypatch):
    out = tmp_path / "out"
    ex.export_analysis(full, out, format=["csv", "parquet"])
    (out / "notes.txt").write_text("the user's own file", encoding="utf-8")
    before = _snapshot(out)
    from rfm_loyalty import _writers

    real, calls = _writers.write_parquet, []

    def failing(table, name, path):
        calls.append(name)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real(table, name, path)

    monkeypatch.setitem(_writers.WRITERS, "parquet", failing)
    with pytest.raises(OSError, match="No space left"):
        ex.export_analysis(bare, out, format=["csv", "parquet"])
    assert len(calls) >= 5
    assert _snapshot(out) == before
    _no_staging_left(out)


def test_a_folder_in_the_way_fails_before_any_work(full, bare, tmp_path):
    out = tmp_path / "out"
    ex.export_analysis(full, out)
    (out / "segments.csv").unlink()
    (out / "segments.csv").mkdir()
    before = _snapshot(out)
    with pytest.raises(IsADirectoryError, match=r"'segments.csv' there is a folder.*Nothing "
                                                r"was changed"):
        ex.export_analysis(bare, out)
    assert _snapshot(out) == before
    assert (out / "segments.csv").is_dir()
    _no_staging_left(out)


def test_a_failed_first_export_leaves_no_folder(bare, tmp_path, monkeypatch):
    from rfm_loyalty import _writers

    def broken(table, name, path):
        raise RuntimeError("writer broke")

    monkeypatch.setitem(_writers.WRITERS, "csv", broken)
    with pytest.raises(RuntimeError, match="writer broke"):
        ex.export_analysis(bare, tmp_path / "new" / "out")
    assert not (tmp_path / "new" / "out").exists()
    _no_staging_left(tmp_path / "new" / "out")


def test_tables_of_the_previous_export_do_not_outlive_it(full, bare, tmp_path):
    out = tmp_path / "out"
    ex.export_analysis(full, out, format=["csv", "json"], report=True)
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    (out / "old_tiers.csv").write_text("not listed in metadata.json", encoding="utf-8")
    assert (out / "tiers.csv").exists() and (out / "report.html").exists()
    files = ex.export_analysis(bare, out)
    names = {p.name for p in out.iterdir()}
    assert names == {f.name for f in files} | {"notes.txt", "old_tiers.csv"}
    assert "tiers.csv" not in names and "tiers.json" not in names
    assert "report.html" not in names  # the report of the earlier run is gone with it
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert meta["files"] == [f.name for f in files[:-1]]
    assert (out / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_export_into_a_file_path_is_refused(bare, tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(NotADirectoryError, match=r"it is a file, not a folder"):
        ex.export_analysis(bare, target)
    assert target.read_text(encoding="utf-8") == "x"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (needs root and mount; skips otherwise)."""
    import os
    import shutil
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and the mount command")
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
                         capture_output=True, text=True, check=False)
    if run.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {run.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True, check=False)


def test_a_full_disk_leaves_the_previous_export_and_report(bare, tiny_disk):
    out = tiny_disk / "out"
    small = _analyze(make_orders(15, random_state=2, with_cost=False), n_bins=2)
    ex.export_analysis(small, out)
    (out / "report.html").write_bytes(b"<html>the previous report</html>")
    before = _snapshot(out)
    big = _analyze(make_orders(1500, random_state=4, with_cost=False), n_bins=3)
    with pytest.raises(OSError) as failure:
        ex.export_analysis(big, out)
    assert failure.value.errno == 28  # ENOSPC
    assert _snapshot(out) == before
    _no_staging_left(out)
    with pytest.raises(OSError) as failure:
        big.report(out / "report.html")
    assert failure.value.errno == 28
    assert _snapshot(out) == before  # the previous report, whole; no temporary file


# --------------------------------------------------------------------------- #
# SQL: one transaction
# --------------------------------------------------------------------------- #
def _fail_at_third_table(monkeypatch):
    real = pd.DataFrame.to_sql
    calls = []

    def to_sql(self, name, *args, **kwargs):
        calls.append(name)
        if len(calls) == 3:
            raise RuntimeError(f"failed writing {name}")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_sql", to_sql)
    return calls


def _counts(engine, prefix):
    return {n: len(ex.read_sql(engine, n, prefix=prefix)) for n in ("customers", "segments",
                                                                     "lifecycle", "metadata")}


def _check_replace_is_all_or_nothing(engine, full, bare, monkeypatch, prefix):
    full.to_sql(engine, prefix=prefix, if_exists="replace")
    before = _counts(engine, prefix)
    meta = ex.read_sql(engine, "metadata", prefix=prefix)
    calls = _fail_at_third_table(monkeypatch)
    with pytest.raises(RuntimeError, match="failed writing"):
        bare.to_sql(engine, prefix=prefix, if_exists="replace")
    monkeypatch.undo()
    assert calls == [f"{prefix}customers", f"{prefix}segments", f"{prefix}lifecycle"]
    assert _counts(engine, prefix) == before
    assert before["customers"] == len(full.customers) != len(bare.customers)
    pd.testing.assert_frame_equal(ex.read_sql(engine, "metadata", prefix=prefix), meta)


def test_sqlite_replace_is_one_transaction(full, bare, tmp_path, monkeypatch):
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'rfm.db'}")
    try:
        _check_replace_is_all_or_nothing(engine, full, bare, monkeypatch, "rfm_")
        calls = _fail_at_third_table(monkeypatch)
        with pytest.raises(RuntimeError):
            bare.to_sql(engine, prefix="fresh_")
        monkeypatch.undo()
        assert len(calls) == 3
        assert not sa.inspect(engine).has_table("fresh_customers")  # the creation rolled back
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_replace_is_one_transaction(full, bare, postgres_url, monkeypatch):
    import sqlalchemy as sa

    engine = sa.create_engine(postgres_url)
    try:
        _check_replace_is_all_or_nothing(engine, full, bare, monkeypatch, "tx_")
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- #
# deterministic output
# --------------------------------------------------------------------------- #
_EXPORT_SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
from rfm_loyalty.analysis import analyze
from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.export import export_analysis, write_sql
from rfm_loyalty.orders import OrderColumns
from rfm_loyalty.segments import SEGMENT_PRESETS
result = analyze(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
                 cost_per_order=5.0, models=True, valid_statuses=None)
export_analysis(result, sys.argv[1], format=["csv", "parquet", "json", "xlsx"],
                timestamp=sys.argv[2] == "yes", report=True)
"""


def _export_in_a_process(folder: Path, seed: int, *, timestamp: bool, epoch: str | None):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = str(seed)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    run = subprocess.run([sys.executable, "-c", _EXPORT_SCRIPT, str(folder),
                          "yes" if timestamp else "no"], env=env, capture_output=True,
                         text=True, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return _snapshot(folder)


@pytest.mark.slow
def test_two_processes_write_byte_identical_files(tmp_path):
    first = _export_in_a_process(tmp_path / "a", 1, timestamp=True, epoch="1700000000")
    second = _export_in_a_process(tmp_path / "b", 4242, timestamp=True, epoch="1700000000")
    assert len(first) == 4 * len(ex.SCHEMAS) + 2  # four formats, report.html, metadata.json
    assert first == second
    meta = json.loads(first["metadata.json"])
    assert meta["created_utc"] == "2023-11-14T22:13:20+00:00"
    assert b"created 2023-11-14 22:13 UTC" in first["report.html"]
    third = _export_in_a_process(tmp_path / "c", 7, timestamp=False, epoch=None)
    assert json.loads(third["metadata.json"])["created_utc"] is None
    def undated(files):  # a workbook records its creation date, the rest no time at all
        return {k: v for k, v in files.items()
                if k not in ("metadata.json", "report.html") and not k.endswith(".xlsx")}

    assert undated(third) == undated(first)
    without = {k: v for k, v in json.loads(third["metadata.json"]).items() if k != "created_utc"}
    assert without == {k: v for k, v in meta.items() if k != "created_utc"}
    assert b"created " not in third["report.html"]


def test_source_date_epoch_must_be_whole_seconds(bare, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match=r"SOURCE_DATE_EPOCH .* whole number of seconds .* "
                                         r"Got 'yesterday'"):
        ex.export_analysis(bare, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "86400")
    ex.export_analysis(bare, tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["created_utc"] == "1970-01-02T00:00:00+00:00"


def test_export_options_are_checked(bare, tmp_path):
    with pytest.raises(ValueError, match=r"'timestamp' and 'report' parameters of export must "
                                         r"be True or False. Got timestamp='no'"):
        ex.export_analysis(bare, tmp_path, timestamp="no")
