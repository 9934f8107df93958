"""Tests of the campaign subcommands: rfm-loyalty audience and rfm-loyalty lift."""

from __future__ import annotations

import io
import json
import warnings

import pandas as pd
import pytest

from rfm_loyalty import analyze
from rfm_loyalty.campaigns import read_assignment
from rfm_loyalty.cli import main
from rfm_loyalty.datasets import make_campaign_orders, make_orders


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = analyze(make_orders(600, random_state=5))
    result.export(folder)
    return folder, result


def test_audience_from_an_export_folder(export, tmp_path):
    folder, result = export
    contacts = tmp_path / "contacts.csv"
    recovery = result.customers.index[result.customers["lifecycle"] == "high_recovery"]
    pd.DataFrame({"customer_id": recovery[:3], "contact_date": "2024-12-25",
                  "channel": "sms"}).to_csv(contacts, index=False)
    exclude = tmp_path / "optout.csv"
    pd.DataFrame({"customer_id": recovery[3:5]}).to_csv(exclude, index=False)
    code, out, err = run(["audience", str(folder), "--name", "wb", "--lifecycle",
                          "high_recovery", "--lifecycle", "low_recovery", "--exclude",
                          str(exclude), "--contacts", str(contacts),
                          "--min-days-between-contacts", "14", "--format", "csv,json",
                          "--out", str(tmp_path / "camp")])
    assert code == 0, err
    assert out.startswith(f"Audience 'wb' for {result.as_of.date()}: ")
    written = sorted(p.name for p in (tmp_path / "camp").iterdir())
    assert written == ["assignment.csv", "assignment.json", "campaign.json", "funnel.csv",
                       "funnel.json", "send_list.csv", "send_list.json"]
    meta = json.loads((tmp_path / "camp" / "campaign.json").read_text(encoding="utf-8"))
    in_recovery = int(result.customers["lifecycle"].isin(["high_recovery",
                                                          "low_recovery"]).sum())
    assert [(r["step"], r["removed"]) for r in meta["funnel"]] == [
        ("customers", 0), ("lifecycle", len(result.customers) - in_recovery),
        ("exclude", 2), ("contacts", 3)]
    assignment = read_assignment(tmp_path / "camp" / "assignment.csv")
    assert len(assignment) == in_recovery - 5
    assert (assignment["campaign_date"] == result.as_of).all()


def test_audience_from_a_customers_file_needs_a_date(export, tmp_path):
    folder, _ = export
    lone = tmp_path / "december.csv"
    lone.write_bytes((folder / "customers.csv").read_bytes())
    code, _, err = run(["audience", str(lone), "--name", "x", "--out", str(tmp_path / "o")])
    assert code == 2
    assert err.strip() == (
        "rfm-loyalty: error: give the campaign date with --date (e.g. --date 2025-01-15): no "
        f"metadata.json beside {str(lone)!r} says the analysis date.")
    code, out, err = run(["audience", str(lone), "--name", "x", "--date", "2025-01-15",
                          "--holdout", "60", "--split", "exact", "--encoding", "gb18030",
                          "--segment", "Hibernating", "--quiet", "--out", str(tmp_path / "o")])
    assert code == 0, err
    assert out == ""
    assignment = read_assignment(tmp_path / "o" / "assignment.csv")
    assert (assignment["group"] == "control").sum() == 60
    assert set(assignment["segment"]) == {"Hibernating"}
    (tmp_path / "o" / "send_list.csv").read_bytes().decode("gb18030")


@pytest.mark.parametrize(("extra", "message"), [
    (["--lifecycle", "high_recovry"], "names 'high_recovry', which is not a lifecycle label"),
    (["--holdout", "a tenth"], "--holdout must be a share such as 0.1 or a count such as 500; "
                               "got 'a tenth'."),
    (["--format", "csv,pdf"], "--format must be one or more of csv, xlsx, json"),
    (["--min-days-between-contacts", "7"], "needs both 'contacts'"),
    (["--where", "nonsense >"], "'where' parameter of select_audience could not be evaluated"),
])
def test_audience_errors_are_one_line(export, tmp_path, extra, message):
    folder, _ = export
    code, _, err = run(["audience", str(folder), "--name", "x", "--quiet",
                        "--out", str(tmp_path / "o"), *extra])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rfm-loyalty: error: ")
    assert message in lines[0]


def test_audience_without_input(tmp_path):
    code, _, err = run(["audience", str(tmp_path / "nowhere"), "--name", "x",
                        "--out", str(tmp_path / "o")])
    assert code == 2
    assert err.strip() == (f"rfm-loyalty: error: no export folder or customers file at "
                           f"'{tmp_path / 'nowhere'}'.")
    code, _, err = run(["audience", str(tmp_path), "--name", "x", "--out", str(tmp_path / "o")])
    assert code == 2 and "no customers.csv in the folder" in err


@pytest.fixture(scope="module")
def measured(export, tmp_path_factory):
    folder, _ = export
    base = tmp_path_factory.mktemp("lift")
    code, _, err = run(["audience", str(folder), "--name", "half", "--holdout", "0.5",
                        "--quiet", "--out", str(base / "camp")])
    assert code == 0, err
    assignment = read_assignment(base / "camp" / "assignment.csv")
    sim = make_campaign_orders(assignment, start="2025-01-05", end="2025-02-04",
                               response_lift=0.08, random_state=2)
    orders = base / "january.csv"
    sim.orders.rename(columns={"customer_id": "member", "amount": "paid"}).to_csv(
        orders, index=False)
    return base, orders


def test_lift_prints_the_comparison_and_writes_the_tables(measured):
    base, orders = measured
    code, out, err = run(["lift", str(base / "camp" / "assignment.csv"), str(orders),
                          "--start", "2025-01-05", "--end", "2025-02-04", "--customer-col",
                          "member", "--amount-col", "paid", "--margin", "0.3",
                          "--out", str(base / "lift")])
    assert code == 0, err
    assert out.startswith("Campaign 'half', purchases 2025-01-05 to 2025-02-04: ")
    assert "response" in out and "Welch t interval" in out and "roi: " in out
    assert sorted(p.name for p in (base / "lift").iterdir())[-1] == "lift_summary.csv"
    summary = pd.read_csv(base / "lift" / "lift_summary.csv", encoding="utf-8-sig",
                          index_col="metric")
    assert summary.loc["response", "difference"] > 0
    for line in err.strip().splitlines():  # progress and warnings: one line each
        assert line.startswith(("rfm-loyalty: [", "rfm-loyalty: warning: campaign_lift: "))


def test_lift_errors_are_one_line(measured, tmp_path):
    base, orders = measured
    assignment = str(base / "camp" / "assignment.csv")
    unreadable = tmp_path / "not_orders.csv"
    unreadable.write_text("no order columns here\n1\n", encoding="utf-8")
    cases = [
        ([assignment, str(tmp_path / "none.csv"), "--start", "2025-01-05", "--end",
          "2025-02-04"], "rfm-loyalty: error: no order file at"),
        ([assignment, str(orders), "--start", "2025-02-05", "--end", "2025-01-04",
          "--customer-col", "member", "--amount-col", "paid"],
         "rfm-loyalty: error: The window of campaign_lift must end on or after its start."),
        ([assignment, str(orders), "--start", "05/01/2025", "--end", "2025-01-04"],
         "rfm-loyalty: error: The 'start' parameter must be an unambiguous date"),
        ([assignment, str(orders), "--start", "2025-01-05", "--end", "2025-02-04",
          "--amount-col", "paid", "--quantity-col", "q"], "rfm-loyalty: error: give either"),
        # The window is checked before the orders are read: this file is not an order file.
        ([assignment, str(unreadable), "--start", "2025-02-05", "--end", "2025-01-04",
          "--sep", ","],
         "rfm-loyalty: error: The window of campaign_lift must end on or after its start."),
        ([assignment, str(unreadable), "--start", "2025-01-05", "--end", "2025-02-04",
          "--columns", "auto", "--min-group-size", "1"],
         "rfm-loyalty: error: The 'min_group_size' parameter of campaign_lift"),
    ]
    for args, start in cases:
        code, _, err = run(["lift", *args, "--quiet"])
        assert code == 2, args
        assert len(err.strip().splitlines()) == 1 and err.startswith(start), err


def test_lift_reads_orders_with_columns_auto_and_reading_flags(measured, tmp_path):
    base, orders = measured
    assignment = str(base / "camp" / "assignment.csv")
    shop = tmp_path / "shop.csv"
    pd.read_csv(orders).rename(columns={"member": "买家会员名", "order_date": "下单时间",
                                        "paid": "实付金额"}).to_csv(shop, index=False)
    window = ["--start", "2025-01-05", "--end", "2025-02-04", "--margin", "0.3"]
    code, named, err = run(["lift", assignment, str(orders), *window, "--customer-col",
                            "member", "--amount-col", "paid"])
    assert code == 0, err
    code, auto, err = run(["lift", assignment, str(shop), *window, "--columns", "auto",
                           "--sep", ",", "--amount-decimals", "2"])
    assert code == 0, err
    assert auto == named
    assert "read columns: inferred from the header (columns='auto'): customer='买家会员名'" in err
    code, _, err = run(["lift", assignment, str(shop), *window, "--columns", "auto",
                        "--customer-col", "买家会员名", "--quiet"])
    assert (code, err) == (2, "rfm-loyalty: error: give either --columns auto or the column "
                              "flags, not both: with auto every column is found from the "
                              "header.\n")
