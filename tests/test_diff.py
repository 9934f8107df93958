"""Tests of rfm_loyalty.diff and the ``rfm-loyalty diff`` command."""

from __future__ import annotations

import dataclasses
import io
import json
import warnings
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from rfm_loyalty import BinningWarning, OrderColumns
from rfm_loyalty.analysis import Analysis, analyze
from rfm_loyalty.cli import main
from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.diff import JSON_SCHEMA, compare_runs
from rfm_loyalty.export import export_analysis
from rfm_loyalty.lifecycle import LifecycleRules

FIXTURE = Path(__file__).resolve().parent / "data" / "export_eacc791"
COLUMNS = OrderColumns(order_id="order_id", cost="cost")


def _analyze(**kwargs) -> Analysis:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BinningWarning)
        return analyze(load_sample_orders(), COLUMNS, **kwargs)


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def base() -> Analysis:
    return _analyze()


@pytest.fixture(scope="module")
def window30() -> Analysis:
    return _analyze(lifecycle=LifecycleRules(window_days=30))


@pytest.fixture(scope="module")
def folders(base, window30, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diff")
    out = {"base": root / "base", "again": root / "again", "window30": root / "window30"}
    export_analysis(base, out["base"], timestamp=False)
    export_analysis(base, out["again"], format="parquet")
    export_analysis(window30, out["window30"], timestamp=False)
    return out


def _direct_transitions(old: pd.DataFrame, new: pd.DataFrame, label: str) -> dict:
    both = pd.DataFrame({"old": old[label].astype(str)}).join(
        pd.DataFrame({"new": new[label].astype(str)}), how="inner")
    moved = both[both["old"] != both["new"]]
    return {(a, b): int(n) for (a, b), n in moved.groupby(["old", "new"]).size().items()}


def test_lifecycle_transitions_equal_a_direct_comparison(base, window30):
    report = compare_runs(base, window30)
    labels = {entry["label"]: entry for entry in report.labels}
    assert list(labels) == ["segment", "lifecycle", "tier"]
    life = labels["lifecycle"]
    expected = _direct_transitions(base.customers, window30.customers, "lifecycle")
    assert {(t["from"], t["to"]): t["customers"] for t in life["transitions"]} == expected
    assert life["moved"] == sum(expected.values()) > 0
    assert life["moved_share"] == life["moved"] / 1000
    counts = [t["customers"] for t in life["transitions"]]
    assert counts == sorted(counts, reverse=True)
    direct_counts = window30.customers["lifecycle"].value_counts()
    assert {c["value"]: c["new"] for c in life["counts"]} == {
        str(k): int(v) for k, v in direct_counts.items()}
    assert labels["segment"]["moved"] == 0 and labels["tier"]["moved"] == 0
    assert report.exit_code == 1
    assert report.reasons == [f"lifecycle: {life['moved']} of 1,000 customers "
                              f"({life['moved_share']:.1%}) changed label, more than 1.0%"]
    assert report.parameters == [{"parameter": "lifecycle.window_days", "old": 45, "new": 30}]
    assert all(h["within_tolerance"] for h in report.headline)
    relaxed = compare_runs(base, window30, max_moved_share=0.5)
    assert (relaxed.exit_code, relaxed.summary) == (
        0, "within tolerances: the runs differ, but no more than allowed")


def test_identical_runs_say_no_change(base, folders):
    for old, new in ((base, base), (folders["base"], folders["again"]),
                     (folders["base"], base)):
        report = compare_runs(old, new)
        assert (report.exit_code, report.changed) == (0, False)
        assert report.to_text().startswith("rfm-loyalty diff: no change")


def test_the_json_report_follows_its_schema(base, window30, folders):
    jsonschema.Draft202012Validator.check_schema(JSON_SCHEMA)
    for old, new in ((base, window30), (base, base), (FIXTURE, folders["base"])):
        data = json.loads(compare_runs(old, new).to_json())
        jsonschema.validate(data, JSON_SCHEMA)
    packaged = Path(__file__).resolve().parents[1] / "src" / "rfm_loyalty" / "diff.schema.json"
    assert json.loads(packaged.read_text(encoding="utf-8")) == JSON_SCHEMA
    with pytest.raises(jsonschema.ValidationError):  # the schema can fail
        jsonschema.validate(dict(data, result={"exit_code": 3}), JSON_SCHEMA)


def test_a_headline_figure_beyond_the_tolerance_fails(base):
    summary = base.pareto
    bigger = dataclasses.replace(base, pareto=dataclasses.replace(summary,
                                                                   total=summary.total + 0.02))
    report = compare_runs(base, bigger)
    assert report.exit_code == 1
    assert report.reasons == [f"revenue_total: {summary.total:,.2f} -> "
                              f"{summary.total + 0.02:,.2f} beyond tolerance"]
    assert compare_runs(base, bigger, atol_money=0.01).exit_code == 0


def test_an_earlier_schema_version_is_not_every_row_changed(tmp_path):
    # the analysis of the fixture (scripts/make_export_fixture.py), exported by this version
    export_analysis(_analyze(cost_per_order=5.0, models=True), tmp_path, timestamp=False)
    report = compare_runs(FIXTURE, tmp_path)
    tables = {t["table"]: t for t in report.schema["tables"]}
    assert (report.schema["old_version"], report.schema["new_version"]) == (1, 2)
    assert tables["customers"]["added_columns"] == [
        "segment_zh", "revenue_rank", "revenue_cumulative_share", "profit_rank",
        "profit_cumulative_share"]
    assert tables["segments"]["added_columns"] == ["segment_zh", "action_zh"]
    assert tables["flow"]["added_columns"] == tables["retention"]["added_columns"] == [
        "complete"]
    assert (tables["pareto"]["old_version"], tables["pareto"]["new_version"]) == (1, 2)
    assert set(tables) == {"customers", "segments", "pareto", "whale", "retention", "flow"}
    assert all(entry["moved"] == 0 for entry in report.labels)
    assert report.drifts == []  # every common column of every row agrees
    assert report.exit_code == 0
    text = report.to_text()
    assert ("  customers  changed  version 1 -> 2, +segment_zh, +revenue_rank, "
            "+revenue_cumulative_share" in text)


def test_text_and_markdown_views(base, window30):
    report = compare_runs(base, window30)
    text = report.to_text()
    assert text.splitlines()[0] == f"rfm-loyalty diff: {report.summary}"
    assert "Lifecycle transitions: 57 customers (5.7%)" in text
    assert "  active     cooling    29" in text
    assert "  lifecycle.window_days  45   30" in text
    markdown = report.to_markdown()
    assert markdown.startswith("### rfm-loyalty diff :x: CHANGED beyond tolerances")
    assert "| active | cooling | 29 |" in markdown
    assert "| Can't Lose Them | 28 | 28 | +0 |" in markdown


# --------------------------------------------------------------------------- #
# the command
# --------------------------------------------------------------------------- #
def test_cli_exit_codes_and_views(folders):
    code, out, err = run(["diff", str(folders["base"]), str(folders["again"])])
    assert (code, err) == (0, "")
    assert out.startswith("rfm-loyalty diff: no change")
    code, out, _ = run(["diff", str(folders["base"]), str(folders["window30"]), "--json"])
    assert code == 1
    data = json.loads(out)
    jsonschema.validate(data, JSON_SCHEMA)
    assert data["result"]["exit_code"] == 1
    code, out, _ = run(["diff", str(folders["base"]), str(folders["window30"]), "--markdown",
                        "--max-moved-share", "0.2"])
    assert code == 0
    assert out.startswith("### rfm-loyalty diff :white_check_mark: within tolerances")


def test_cli_compares_a_folder_with_an_order_file(folders, tmp_path):
    orders = tmp_path / "orders.csv"
    load_sample_orders().to_csv(orders, index=False)
    common = ["--customer-col", "customer_id", "--date-col", "order_date", "--amount-col",
              "amount", "--order-id-col", "order_id", "--cost-col", "cost"]
    code, out, err = run(["diff", str(folders["base"]), str(orders), *common, "--quiet"])
    assert code == 0, err
    # the same tables; the provenance differs (a file instead of a DataFrame)
    assert out.startswith("rfm-loyalty diff: within tolerances")
    assert "  input.sha256 " in out
    assert "Largest differences of single values (not gated)\n  (none)" in out
    code, out, _ = run(["diff", str(folders["base"]), str(orders), *common, "--window-days",
                        "30", "--quiet"])
    assert code == 1
    assert "Lifecycle transitions: 57 customers (5.7%)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", "{base}", "{missing}"],
         "rfm-loyalty: error: NEW '{missing}' does not exist: give an export folder or an "
         "order file."),
        (["diff", "{empty}", "{base}"],
         "rfm-loyalty: error: OLD '{empty}' is a folder without metadata.json: not an export "
         "(write one with rfm-loyalty analyze --out)."),
        (["diff", "{base}", "{base}", "--window-days", "30"],
         "rfm-loyalty: error: unrecognized arguments: --window-days 30 (analysis options only "
         "apply when OLD or NEW is an order file)"),
        (["diff", "{base}", "{base}", "--max-moved-share", "5"],
         "rfm-loyalty: error: The 'max_moved_share' parameter of compare_runs must be a "
         "fraction in [0, 1]. Got 5.0 instead; did you mean 0.05?"),
        (["diff", "{file}", "{file}"],
         "rfm-loyalty: error: give at most one order file: OLD and NEW are both files; export "
         "one of them first (rfm-loyalty analyze ... --out DIR)."),
    ],
)
def test_cli_usage_errors_exit_2(folders, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "orders.csv").write_text("a,b\n", encoding="utf-8")
    names = {"base": str(folders["base"]), "missing": str(tmp_path / "nope"),
             "empty": str(tmp_path / "empty"), "file": str(tmp_path / "orders.csv")}
    code, out, err = run([a.format(**names) for a in args])
    assert (code, out) == (2, "")
    assert err.strip() == message.format(**names)


def test_cli_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["diff", "a", "b", "--json", "--markdown"])
    assert exc.value.code == 2
    assert "not allowed with argument --json" in capsys.readouterr().err
