"""Tests of the rfm-loyalty command line."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pandas as pd
import pytest

from rfm_loyalty.cli import main
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.export import SCHEMAS, read_export, read_sql

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory) -> Path:
    """Order lines with non-canonical column names, quantity x unit price, and costs."""
    lines = make_orders(60, random_state=4).rename(
        columns={"customer_id": "Client", "order_date": "When", "order_id": "Invoice",
                 "quantity": "Qty", "unit_price": "Price", "cost": "Cost"}
    )
    path = tmp_path_factory.mktemp("cli") / "orders.csv"
    lines.drop(columns=["amount"]).to_csv(path, index=False)
    return path


def base(path: Path, out: Path) -> list[str]:
    return ["analyze", str(path), "--customer-col", "Client", "--date-col", "When",
            "--quantity-col", "Qty", "--unit-price-col", "Price", "--order-id-col", "Invoice",
            "--out", str(out)]


def test_analyze_writes_tables_metadata_and_summary(orders_csv, tmp_path):
    code, out, err = run([*base(orders_csv, tmp_path / "o"), "--cost-col", "Cost",
                          "--as-of", "2024-12-31"])
    assert code == 0, err
    written = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"customers.csv", "segments.csv", "lifecycle.csv", "campaigns_lifecycle.csv",
            "whale.csv", "tiers.csv", "metadata.json"} <= written
    assert "report.html" not in written
    customers = read_export(tmp_path / "o", "customers")
    assert len(customers) == 60
    assert list(customers.columns) == [c.name for c in SCHEMAS["customers"].columns
                                       if c.when != "models"]
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["as_of"] == "2024-12-31"
    assert meta["parameters"]["columns"]["quantity"] == "Qty"
    assert meta["input"]["sha256_of"] == "file"
    assert out.startswith("RFM analysis as of 2024-12-31 (as_of given): 60 customers")
    assert "Lifecycle cohorts" in out
    assert "reading and analysing" in err and "wrote" in err  # progress on stderr


def test_formats_sql_report_and_models(orders_csv, tmp_path):
    url = f"sqlite:///{tmp_path / 'rfm.db'}"
    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--format", "csv,parquet",
                        "--sql", url, "--sql-prefix", "shop_", "--report", "--models",
                        "--margin", "0.4", "--quiet"])
    assert code == 0, err
    folder = tmp_path / "o"
    assert (folder / "customers.parquet").exists() and (folder / "customers.csv").exists()
    assert (folder / "model_parameters.csv").exists()
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert len(read_sql(url, "customers", prefix="shop_")) == 60
    # a second run into the same database fails cleanly unless told what to do
    code, _, err = run([*base(orders_csv, tmp_path / "o2"), "--sql", url, "--sql-prefix", "shop_",
                        "--quiet"])
    assert code == 2
    assert err.strip().endswith("Pass if_exists='replace' to overwrite them, 'append' to add "
                                "rows, or another prefix.")


def test_quiet_prints_nothing_but_warnings(orders_csv, tmp_path):
    code, out, err = run([*base(orders_csv, tmp_path / "o"), "--quiet"])
    assert code == 0
    assert out == ""
    assert all(line.startswith("rfm-loyalty: warning: ") for line in err.splitlines())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "csv,xls"],
         "rfm-loyalty: error: --format must be one or more of csv, parquet, json, xlsx "
         "separated by commas; got 'csv,xls'."),
        (["--valid-status", "paid"],
         "rfm-loyalty: error: --valid-status needs --status-col naming the status column."),
        (["--amount-col", "Amount"],
         "rfm-loyalty: error: give either --amount-col or --quantity-col with --unit-price-col, "
         "not both."),
        (["--margin", "30"],
         "rfm-loyalty: error: The 'margin' parameter of analyze must be None or a fraction in "
         "(0, 1]. Got 30.0 instead; did you mean 0.3?"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(orders_csv, tmp_path, extra, message):
    code, out, err = run([*base(orders_csv, tmp_path / "o"), *extra, "--quiet"])
    assert code == 2
    assert out == ""
    assert err.strip().splitlines()[-1] == message


def test_missing_file(tmp_path):
    code, _, err = run(["analyze", str(tmp_path / "nope.csv"), "--customer-col", "c",
                        "--date-col", "d", "--amount-col", "a"])
    assert code == 2
    assert err == f"rfm-loyalty: error: no input file at {str(tmp_path / 'nope.csv')!r}.\n"


def test_bad_column_suggests_the_close_name(orders_csv, tmp_path):
    args = base(orders_csv, tmp_path / "o")
    args[args.index("Client")] = "client"
    code, _, err = run([*args, "--quiet"])
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "Column 'client' (the customer column) is not in the input." in err
    assert "Did you mean 'Client'?" in err


def test_missing_amount_columns(orders_csv, tmp_path):
    code, _, err = run(["analyze", str(orders_csv), "--customer-col", "Client",
                        "--date-col", "When", "--quantity-col", "Qty", "--quiet"])
    assert code == 2
    assert err.strip() == (
        "rfm-loyalty: error: the amount is missing: give --amount-col, or both --quantity-col "
        "and --unit-price-col (amount = quantity x unit price)."
    )


def test_argparse_errors_exit_2_on_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "x.csv", "--customer-col", "c", "--returns", "nett"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    # (argparse quotes the choices from Python 3.12.8 on: the middle is left to it)
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("rfm-loyalty analyze: error: argument --returns: invalid choice: "
                          "'nett' (choose from ")
    assert err.endswith(" (see rfm-loyalty analyze --help)\n")


def test_columns_named_or_auto_but_not_half(tmp_path):
    code, _, err = run(["analyze", "x.csv", "--customer-col", "c"])
    assert (code, err) == (2, "rfm-loyalty: error: name the columns: give --customer-col and "
                              "--date-col (and the amount), or --columns auto to find them "
                              "from the header.\n")
    code, _, err = run(["analyze", "x.csv", "--columns", "auto", "--date-col", "d"])
    assert (code, err) == (2, "rfm-loyalty: error: give either --columns auto or the column "
                              "flags (--date-col), not both: with auto every column is found "
                              "from the header.\n")


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text
    assert "--customer-col CustomerID" in text and "--as-of 2011-12-09" in text
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "rfm-loyalty demo --out out" in capsys.readouterr().out


def test_demo_writes_tables_and_report(tmp_path):
    code, out, err = run(["demo", "--out", str(tmp_path / "out")])
    assert code == 0, err
    folder = tmp_path / "out"
    names = {p.name for p in folder.iterdir()}
    assert {f"{name}.csv" for name in SCHEMAS} <= names  # profit and models included
    assert {"metadata.json", "report.html"} <= names
    customers = pd.read_csv(folder / "customers.csv")
    assert len(customers) == 1000
    assert (customers["profit"] < 0).any()  # the demo's cost to serve makes some unprofitable
    assert "Profit 80/20/30: the top 20% make" in out


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA.exists(), reason=f"real data set not found at {REAL_DATA}")
def test_real_data_with_its_own_column_names(tmp_path):
    start = time.perf_counter()
    code, out, err = run([
        "analyze", str(REAL_DATA), "--customer-col", "CustomerID", "--date-col", "InvoiceDate",
        "--quantity-col", "Quantity", "--unit-price-col", "UnitPrice",
        "--order-id-col", "InvoiceNo", "--as-of", "2011-12-09", "--out", str(tmp_path),
    ])
    assert code == 0, err
    assert time.perf_counter() - start < 60
    # 135,080 lines have no CustomerID: dropped, counted and reported in one warning line
    assert "rfm-loyalty: warning: 135,080 of 541,909 order rows were dropped" in err
    assert "541,909 rows in, 406,829 used" in out
    assert len(read_export(tmp_path, "customers")) == 4338


# --------------------------------------------------------------------------- #
# every analyze option as a flag; reproducible output
# --------------------------------------------------------------------------- #
def test_every_analyze_option_has_a_flag(orders_csv, tmp_path):
    import inspect

    from rfm_loyalty.analysis import analyze

    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--segments", "rf_grid",
                        "--window-days", "30", "--cooling-end-days", "75",
                        "--high-recovery-end-days", "150", "--low-recovery-end-days", "300",
                        "--active-min-prior-purchases", "3", "--period", "Q",
                        "--horizon-months", "6", "--discount-rate", "0.02", "--models",
                        "--quiet", "--no-timestamp"])
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text(encoding="utf-8"))
    params = meta["parameters"]
    assert params["segments"] == "rf_grid"
    assert params["lifecycle"] == {"window_days": 30, "cooling_end_days": 75,
                                   "high_recovery_end_days": 150, "low_recovery_end_days": 300,
                                   "active_min_prior_purchases": 3}
    assert (params["period"], params["horizon_months"], params["discount_rate_monthly"]) == (
        "Q", 6, 0.02)
    assert meta["created_utc"] is None
    # the options analyze takes that the command names otherwise (or reads with the file)
    covered = {"data", "columns", "as_of", "n_bins", "segments", "lifecycle", "margin",
               "cost_per_order", "cost_per_customer", "models", "churn_days", "period",
               "horizon_months", "discount_rate_monthly", "returns", "valid_statuses",
               "loyalty", "loyalty_options", "read_options"}
    assert set(inspect.signature(analyze).parameters) <= covered


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window-days", "100"],
         "rfm-loyalty: error: LifecycleRules needs 0 <= window_days < cooling_end_days < "
         "high_recovery_end_days < low_recovery_end_days. Got window_days=100, "
         "cooling_end_days=90, high_recovery_end_days=180, low_recovery_end_days=360."),
        (["--horizon-months", "0"],
         "rfm-loyalty: error: The 'horizon_months' parameter of analyze must be a whole number "
         "of months >= 1. Got 0 instead; pass e.g. horizon_months=12."),
    ],
)
def test_bad_analysis_flags_exit_2(orders_csv, tmp_path, extra, message):
    code, out, err = run([*base(orders_csv, tmp_path / "o"), *extra, "--quiet"])
    assert (code, out) == (2, "")
    assert err.strip().splitlines()[-1] == message


def test_unknown_flags_of_analyze_still_fail(orders_csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*base(orders_csv, tmp_path / "o"), "--colour", "red"])
    assert exc.value.code == 2
    assert "unrecognized arguments: --colour red" in capsys.readouterr().err


def test_the_report_is_part_of_the_export(orders_csv, tmp_path):
    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--report", "--quiet"])
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["files"][-1] == "report.html"
    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--quiet"])
    assert code == 0, err
    assert not (tmp_path / "o" / "report.html").exists()  # not beside another run's tables


REAL_ARGS = ["--customer-col", "CustomerID", "--date-col", "InvoiceDate", "--quantity-col",
             "Quantity", "--unit-price-col", "UnitPrice", "--order-id-col", "InvoiceNo",
             "--margin", "0.3", "--quiet"]


def _cli_in_a_process(args: list[str], seed: int, epoch: str | None) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONHASHSEED"] = str(seed)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = epoch
    done = subprocess.run([sys.executable, "-m", "rfm_loyalty.cli", *args], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory):
    """Four CLI runs on the real data, each in its own process."""
    if not REAL_DATA.exists():
        pytest.skip(f"real data set not found at {REAL_DATA}")
    root = tmp_path_factory.mktemp("real")
    runs = {"a": (1, "1700000000", []), "b": (99, "1700000000", []), "c": (5, None, []),
            "window30": (3, "1700000000", ["--window-days", "30"])}
    for name, (seed, epoch, extra) in runs.items():
        _cli_in_a_process(["analyze", str(REAL_DATA), *REAL_ARGS, "--format", "csv,parquet",
                           *extra, "--out", str(root / name)], seed, epoch)
    return root


@pytest.mark.slow
def test_real_data_runs_are_byte_identical(real_runs):
    a, b, c = (_files(real_runs / name) for name in ("a", "b", "c"))
    assert a == b
    assert json.loads(a["metadata.json"])["created_utc"] == "2023-11-14T22:13:20+00:00"
    assert {k: v for k, v in c.items() if k != "metadata.json"} == {
        k: v for k, v in a.items() if k != "metadata.json"}
    meta_a, meta_c = json.loads(a["metadata.json"]), json.loads(c["metadata.json"])
    assert meta_c["created_utc"] != meta_a["created_utc"]
    assert {k: v for k, v in meta_c.items() if k != "created_utc"} == {
        k: v for k, v in meta_a.items() if k != "created_utc"}


@pytest.mark.slow
def test_real_data_diff_reports_the_lifecycle_moves_of_a_shorter_window(real_runs):
    import jsonschema

    from rfm_loyalty.diff import JSON_SCHEMA

    code, out, err = run(["diff", str(real_runs / "a"), str(real_runs / "window30"), "--json"])
    assert code == 1, err
    report = json.loads(out)
    jsonschema.validate(report, JSON_SCHEMA)
    old = read_export(real_runs / "a", "customers").set_index("customer_id")
    new = read_export(real_runs / "window30", "customers").set_index("customer_id")
    moved = old["lifecycle"] != new["lifecycle"]
    direct = pd.DataFrame({"from": old["lifecycle"][moved], "to": new["lifecycle"][moved]})
    expected = {(f, t): int(n) for (f, t), n in direct.groupby(["from", "to"]).size().items()}
    life = next(entry for entry in report["labels"] if entry["label"] == "lifecycle")
    assert {(t["from"], t["to"]): t["customers"] for t in life["transitions"]} == expected
    assert life["moved"] == int(moved.sum()) > 0
    assert report["parameters"] == [{"parameter": "lifecycle.window_days", "old": 45,
                                     "new": 30}]
    code, out, err = run(["diff", str(real_runs / "a"), str(real_runs / "b")])
    assert code == 0, err
    assert out.startswith("rfm-loyalty diff: no change")


def test_models_by_name_and_loyalty_from_the_command_line(orders_csv, tmp_path):
    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--models", "bgnbd,mbgnbd",
                        "--loyalty", "--member-tiers", "silver=50,gold=200", "--quiet",
                        "--no-timestamp"])
    assert code == 0, err
    params = json.loads((tmp_path / "o" / "metadata.json").read_text(encoding="utf-8"))[
        "parameters"]
    assert params["models"] == ["bgnbd", "mbgnbd"]
    assert params["loyalty"] is True
    assert params["loyalty_options"] == {"thresholds": {"silver": 50.0, "gold": 200.0}}
    code, _, err = run([*base(orders_csv, tmp_path / "p"), "--member-tiers", "silver=50",
                        "--quiet"])
    assert (code, err.strip().splitlines()[-1]) == (
        2, "rfm-loyalty: error: --member-tiers needs --loyalty.")


# --------------------------------------------------------------------------- #
# reading options as flags; columns found from the header; user errors
# --------------------------------------------------------------------------- #
#: ReadOptions field -> its flag of analyze (columns: --columns auto or the column flags).
READING_FLAGS = {
    "as_of": "--as-of", "returns": "--returns", "zero_amount": "--zero-amount",
    "valid_statuses": "--valid-status", "tz": "--tz", "on_bad_rows": "--on-bad-rows",
    "date_format": "--date-format", "dayfirst": "--dayfirst", "encoding": "--encoding",
    "sep": "--sep", "decimal": "--decimal", "thousands": "--thousands",
    "sheet_name": "--sheet", "amount_decimals": "--amount-decimals", "columns": "--columns",
}


def test_every_reading_option_has_a_flag_in_the_help(capsys):
    import dataclasses

    from rfm_loyalty.cli import COLUMN_FLAGS
    from rfm_loyalty.orders import OrderColumns, ReadOptions

    assert {f.name for f in dataclasses.fields(ReadOptions)} == set(READING_FLAGS)
    assert set(COLUMN_FLAGS.values()) == {f.name for f in dataclasses.fields(OrderColumns)}
    for command in ("analyze", "diff"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        if command == "analyze":
            for flag in [*READING_FLAGS.values(), "--monthfirst", *COLUMN_FLAGS]:
                assert f"  {flag}" in text, flag


def test_reading_flags_reach_the_recorded_options(orders_csv, tmp_path):
    code, _, err = run([*base(orders_csv, tmp_path / "o"), "--returns", "drop",
                        "--zero-amount", "purchase", "--amount-decimals", "2", "--tz", "UTC",
                        "--on-bad-rows", "warn", "--monthfirst", "--thousands", "_",
                        "--quiet", "--no-timestamp"])
    assert code == 0, err
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text(encoding="utf-8"))
    reading = meta["parameters"]["reading"]
    assert {k: reading[k] for k in ("returns", "zero_amount", "amount_decimals", "tz",
                                    "on_bad_rows", "dayfirst", "thousands", "decimal")} == {
        "returns": "drop", "zero_amount": "purchase", "amount_decimals": 2, "tz": "UTC",
        "on_bad_rows": "warn", "dayfirst": False, "thousands": "_", "decimal": "."}
    assert meta["parameters"]["returns"] == "drop"


def _shop_file(tmp_path: Path, **extra: list) -> Path:
    lines = pd.DataFrame({
        "订单编号": ["T1", "T2", "T3", "T4"],
        "买家会员名": ["小王", "小李", "小王", "小张"],
        "下单时间": ["2024-03-01 10:00", "2024-03-02 11:30", "2024-03-05 09:15",
                    "2024-03-06 20:00"],
        "实付金额": [120.5, 80.0, 30.25, 15.0],
        "订单状态": ["交易成功", "交易成功", "交易成功", "交易关闭"],
        **extra,
    })
    path = tmp_path / "shop.csv"
    lines.to_csv(path, index=False)
    return path


def test_columns_auto_prints_the_mapping_and_equals_the_named_columns(tmp_path):
    path = _shop_file(tmp_path)
    code, _, err = run(["analyze", str(path), "--columns", "auto", "--valid-status", "交易成功",
                        "--out", str(tmp_path / "auto"), "--no-timestamp"])
    assert code == 0, err
    assert ("read columns: inferred from the header (columns='auto'): customer='买家会员名', "
            "date='下单时间', amount='实付金额', order_id='订单编号', status='订单状态'") in err
    code, _, err = run(["analyze", str(path), "--customer-col", "买家会员名", "--date-col",
                        "下单时间", "--amount-col", "实付金额", "--order-id-col", "订单编号",
                        "--status-col", "订单状态", "--valid-status", "交易成功",
                        "--out", str(tmp_path / "named"), "--no-timestamp", "--quiet"])
    assert code == 0, err
    auto, named = (read_export(tmp_path / d, "customers") for d in ("auto", "named"))
    pd.testing.assert_frame_equal(auto, named)
    assert sorted(auto["customer_id"]) == ["小李", "小王"]  # 小张's only order was closed


@pytest.mark.parametrize(
    ("setup", "extra", "start"),
    [
        (lambda p: _shop_file(p, 付款时间=["2024-03-01"] * 4), ["--columns", "auto"],
         "rfm-loyalty: error: columns='auto' cannot choose: '下单时间' and '付款时间' both fit "
         "the date column."),
        (lambda p: _shop_file(p), ["--columns", "auto", "--encoding", "klingon"],
         "rfm-loyalty: error: The 'encoding' parameter must be a text encoding"),
        (lambda p: _shop_file(p), ["--columns", "auto", "--tz", "Mars/Olympus"],
         "rfm-loyalty: error: The 'tz' parameter must be a time zone name"),
        (lambda p: _shop_file(p), ["--columns", "auto", "--sep", ";;"],
         "rfm-loyalty: error: The 'sep' parameter must be one separator character"),
        (lambda p: _shop_file(p), ["--columns", "auto", "--amount-decimals", "9"],
         "rfm-loyalty: error: The 'amount_decimals' parameter of analyze must be"),
        (lambda p: _shop_file(p, 实付金额=[1.0, -2.0, 3.0, 4.0]),
         ["--columns", "auto", "--returns", "error"],
         "rfm-loyalty: error: 1 order lines have a negative amount (first at row 1: -2.0) and "
         "returns='error' forbids them."),
        (lambda p: _shop_file(p), ["--columns", "auto", "--as-of", "09/12/2011"],
         "rfm-loyalty: error: --as-of: The 'as_of' parameter must be an unambiguous date"),
        (lambda p: _shop_file(p), ["--columns", "auto", "--as-of", "2024-13-45"],
         "rfm-loyalty: error: --as-of: The 'as_of' parameter must be an unambiguous date"),
        (lambda p: (p / "x.csv").mkdir() or p / "x.csv", ["--columns", "auto"],
         "rfm-loyalty: error: the input "),
        (lambda p: (p / "e.csv").write_bytes(b"") or p / "e.csv", ["--columns", "auto"],
         "rfm-loyalty: error: "),
        (lambda p: (p / "t.csv.gz").write_bytes(
            __import__("gzip").compress(_shop_file(p).read_bytes())[:40]) or p / "t.csv.gz",
         ["--columns", "auto"], "rfm-loyalty: error: "),
        (lambda p: (p / "o.json").write_text("[]") or p / "o.json", ["--columns", "auto"],
         "rfm-loyalty: error: "),
    ],
    ids=["ambiguous", "encoding", "tz", "sep", "decimals", "returns-error", "as-of-two-readings",
         "as-of-invalid", "directory", "empty", "truncated-gzip", "extension"],
)
def test_user_errors_of_reading_are_one_line_with_exit_code_2(tmp_path, setup, extra, start):
    path = setup(tmp_path)
    code, out, err = run(["analyze", str(path), *extra, "--out", str(tmp_path / "o"),
                          "--quiet"])
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(start), err


def _readme_command() -> list[str]:
    """The arguments of the README's ``rfm-loyalty analyze`` example."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = readme.split("The same from the command line:", 1)[1].split("```bash", 1)[1]
    command = block.split("```", 1)[0].replace("\\\n", " ").split()
    assert command[:2] == ["rfm-loyalty", "analyze"], command
    return command[1:]


def test_the_readme_example_runs_on_a_gb18030_copy_with_chinese_headers(tmp_path):
    """The README's command on the bundled sample, in GB18030 with a shop's Chinese headers."""
    from rfm_loyalty.cli import COLUMN_FLAGS

    sample = Path(__file__).resolve().parents[1] / "data" / "samples" / "sample_orders.csv"
    lines = pd.read_csv(sample, dtype=str, keep_default_na=False)
    english = {"CustomerID": "customer_id", "InvoiceDate": "order_date",
               "Quantity": "quantity", "UnitPrice": "unit_price", "InvoiceNo": "order_id"}
    chinese = {"customer_id": "买家会员名", "order_date": "下单时间", "quantity": "购买数量",
               "unit_price": "商品单价", "order_id": "订单编号"}
    lines = lines[list(chinese)]  # the README's columns (amount = quantity x unit price)
    utf8, gb = tmp_path / "orders.csv", tmp_path / "订单导出.csv"
    lines.to_csv(utf8, index=False)
    gb.write_bytes(lines.rename(columns=chinese).to_csv(index=False).encode("gb18030"))
    assert "下单时间".encode("gb18030") in gb.read_bytes()

    command = _readme_command()
    named = [english.get(a, a) for a in command]
    named[named.index("orders.csv")] = str(utf8)
    named[named.index("--out") + 1] = str(tmp_path / "named")
    code, _, err = run([*named, "--no-timestamp", "--quiet"])
    assert code == 0, err

    auto = [str(gb) if a == "orders.csv" else a for a in command]
    for flag in COLUMN_FLAGS:  # the column flags give way to --columns auto
        while flag in auto:
            at = auto.index(flag)
            del auto[at:at + 2]
    auto[auto.index("--out") + 1] = str(tmp_path / "auto")
    code, _, err = run([*auto, "--columns", "auto", "--no-timestamp"])
    assert code == 0, err
    assert ("read columns: inferred from the header (columns='auto'): customer='买家会员名', "
            "date='下单时间', order_id='订单编号', quantity='购买数量', "
            "unit_price='商品单价'") in err
    assert (tmp_path / "auto" / "report.html").is_file()
    for table in ("customers", "segments", "lifecycle"):
        pd.testing.assert_frame_equal(read_export(tmp_path / "auto", table),
                                      read_export(tmp_path / "named", table))
    meta = json.loads((tmp_path / "auto" / "metadata.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["reading"]["columns"] == {
        "customer": "买家会员名", "date": "下单时间", "order_id": "订单编号",
        "quantity": "购买数量", "unit_price": "商品单价"}
    assert meta["parameters"]["readings"]["encoding"].startswith("gb18030")


def test_the_cli_page_lists_every_flag_of_analyze(capsys):
    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = capsys.readouterr().out
    groups = text.split("columns of INPUT:", 1)[1].split("analysis:", 1)[0]
    flags = {word.rstrip(",") for word in groups.split() if word.startswith("--")}
    assert len(flags) > 25
    for flag in flags:
        assert f"`{flag}" in page or f"/ `{flag}`" in page, flag


@pytest.mark.skipif(not REAL_DATA.exists(), reason=f"real data set not found at {REAL_DATA}")
def test_real_data_with_columns_auto_writes_the_files_of_the_named_columns(tmp_path):
    named = ["--customer-col", "CustomerID", "--date-col", "InvoiceDate", "--quantity-col",
             "Quantity", "--unit-price-col", "UnitPrice", "--order-id-col", "InvoiceNo"]
    for folder, columns in (("named", named), ("auto", ["--columns", "auto"])):
        code, _, err = run(["analyze", str(REAL_DATA), *columns, "--as-of", "2011-12-09",
                            "--out", str(tmp_path / folder), "--no-timestamp"])
        assert code == 0, err
    assert ("read columns: inferred from the header (columns='auto'): customer='CustomerID', "
            "date='InvoiceDate', order_id='InvoiceNo', quantity='Quantity', "
            "unit_price='UnitPrice', product='StockCode'") in err
    for table in ("customers", "segments", "lifecycle", "quality", "summary"):
        assert (tmp_path / "auto" / f"{table}.csv").read_bytes() == (
            tmp_path / "named" / f"{table}.csv").read_bytes(), table
