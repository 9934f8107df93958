"""Tests of the campaign files: send list, assignment file, encodings, formulas, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_loyalty._campaigns import files
from rfm_loyalty.campaigns import ASSIGNMENT_COLUMNS, read_assignment, select_audience
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.export import neutralize_formulas

from .test_campaigns import TEN, customers

# Ids a spreadsheet would run, and ids that look like the writer's own escaping.
RISKY = ['=HYPERLINK("http://evil.example","click")', "+1", "@x", "-2", "\tT", "\rR",
         "'=already-quoted", "'plain-quote", "''two", "客户=1"]


@pytest.fixture(scope="module")
def risky_audience():
    rows = [(cid, "high_recovery" if k % 2 else "low_recovery", "At Risk", 100 + k, 1 + k,
             10.0 * (k + 1)) for k, cid in enumerate(RISKY)]
    table = customers(rows).assign(name=[f"客户{k}" for k in range(len(RISKY))],
                                   mobile=["=1+1", *[f"1380000000{k}" for k in range(9)]])
    return select_audience(table, name="risky", holdout=0.3, split="exact",
                           passthrough=["name", "mobile"])


def test_send_list_csv_is_utf8_with_bom_and_formula_safe(risky_audience, tmp_path):
    path = risky_audience.write_send_list(tmp_path / "send.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "高挽回顾客" in text
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    expected = neutralize_formulas(risky_audience.send_list())
    pd.testing.assert_frame_equal(back, expected.astype(object), check_dtype=False)
    for cell in back["customer_id"].tolist() + back["mobile"].tolist():
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert set(back["customer_id"]) == {("'" + c if c[0] in "=+-@\t\r" else c)
                                        for c in risky_audience.treatment.index}


def test_send_list_gb18030(risky_audience, tmp_path):
    path = risky_audience.write_send_list(tmp_path / "send.csv", encoding="gb18030")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    back = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    assert back["label_zh"].iloc[0] in ("高挽回顾客", "低挽回顾客")
    assert len(back) == len(risky_audience.treatment)


def test_send_list_xlsx_cells_are_text_not_formulas(risky_audience, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = risky_audience.write_send_list(tmp_path / "send.xlsx")
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    ids = [row[header.index("customer_id")] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in ids)  # never "f" (formula)
    # XML (inside XLSX) turns a carriage return into a line feed: the one change
    assert {cell.value for cell in ids} == {
        v.replace("\r", "\n") for v in neutralize_formulas(risky_audience.send_list())[
            "customer_id"]}


def test_send_list_json_keeps_the_ids_as_they_are(risky_audience, tmp_path):
    path = risky_audience.write_send_list(tmp_path / "send.json")
    records = json.loads(path.read_text(encoding="utf-8"))
    assert [r["customer_id"] for r in records] == risky_audience.send_list()["customer_id"].tolist()
    assert list(records[0]) == list(risky_audience.send_list().columns)


@pytest.mark.parametrize("suffix", ["csv", "json", "xlsx"])
def test_assignment_file_round_trips_every_id(risky_audience, tmp_path, suffix):
    if suffix == "xlsx":
        pytest.importorskip("openpyxl")
    path = risky_audience.write_assignments(tmp_path / f"assignment.{suffix}")
    back = read_assignment(path)
    expected = risky_audience.assignments()
    if suffix == "xlsx":  # XML turns a carriage return into a line feed
        expected["customer_id"] = expected["customer_id"].str.replace("\r", "\n")
        back["customer_id"] = back["customer_id"].str.replace("\r", "\n")
    assert back["customer_id"].tolist() == expected["customer_id"].tolist()
    if suffix != "xlsx":
        assert sorted(back["customer_id"]) == sorted(RISKY)
    if suffix == "xlsx":  # Excel keeps 15 significant digits of a number
        pd.testing.assert_frame_equal(back, expected, check_exact=False, rtol=1e-14)
    else:
        pd.testing.assert_frame_equal(back, expected)


def test_assignment_gb18030_is_detected(risky_audience, tmp_path):
    path = risky_audience.write_assignments(tmp_path / "a.csv", encoding="gb18030")
    pd.testing.assert_frame_equal(read_assignment(path), risky_audience.assignments())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="'=+-@x\t\r\n,\"中 ", min_size=1, max_size=6), min_size=1,
                max_size=12, unique=True))
def test_any_id_survives_the_assignment_file(tmp_path, ids):
    rows = [(cid, "cooling", "At Risk", 60, 1, 5.0) for cid in ids]
    audience = select_audience(customers(rows), name="any", holdout=0)
    path = audience.write_assignments(tmp_path / "any.csv")
    assert read_assignment(path)["customer_id"].tolist() == sorted(ids)


def test_assignment_columns_and_dtypes(risky_audience):
    frame = risky_audience.assignments()
    names = [c[0] for c in ASSIGNMENT_COLUMNS if c[3] == "always"]
    assert list(frame.columns) == names  # no tier, no models in this table
    assert frame["campaign_date"].dtype == "datetime64[ns]"
    assert frame["draw"].dtype == np.float64 and frame["frequency"].dtype == np.int64
    assert set(frame["group"]) == {"treatment", "control"}
    assert "name" not in frame.columns and "mobile" not in frame.columns  # not needed
    with_models = select_audience(TEN, name="t").assignments()
    assert list(with_models.columns[-3:]) == ["tier", "p_alive", "clv"]


def test_export_writes_every_file_and_the_metadata(risky_audience, tmp_path):
    written = risky_audience.export(tmp_path / "camp", format=["csv", "json"])
    assert [p.name for p in written] == ["send_list.csv", "assignment.csv", "funnel.csv",
                                         "send_list.json", "assignment.json", "funnel.json",
                                         "campaign.json"]
    meta = json.loads((tmp_path / "camp" / "campaign.json").read_text(encoding="utf-8"))
    assert meta["campaign"] == "risky" and meta["split"] == "exact"
    assert (meta["treatment"], meta["control"]) == (7, 3)
    assert meta["cost"] == {"channel": "sms", "contacts": 7, "cost_per_contact": 0.05,
                            "total": 0.35, "source": "CHANNEL_COSTS"}
    assert [r["step"] for r in meta["funnel"]] == ["customers"]
    assert meta["parameters"]["passthrough"] == ["name", "mobile"]
    assert meta["files"] == [p.name for p in written[:-1]]
    for fmt in ("csv", "json"):
        back = read_assignment(tmp_path / "camp" / f"assignment.{fmt}")
        pd.testing.assert_frame_equal(back, risky_audience.assignments())
    funnel = pd.read_csv(tmp_path / "camp" / "funnel.csv", encoding="utf-8-sig")
    assert funnel["remaining"].tolist() == [10]


def test_writes_are_atomic(risky_audience, tmp_path, monkeypatch):
    target = tmp_path / "send.csv"
    target.write_text("the old list\n", encoding="utf-8")

    def broken(self, path, *args, **kwargs):
        Path(path).write_text("half a fi", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        risky_audience.write_send_list(target)
    assert target.read_text(encoding="utf-8") == "the old list\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["send.csv"]  # no temporary left
    monkeypatch.undo()
    os.chmod(target, 0o640)
    risky_audience.write_send_list(target)
    assert target.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its permissions
    fresh = risky_audience.write_send_list(tmp_path / "new.csv")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_file_errors(risky_audience, tmp_path):
    with pytest.raises(InvalidParameterError, match="cannot tell the format of .*send.txt"):
        risky_audience.write_send_list(tmp_path / "send.txt")
    with pytest.raises(InvalidParameterError, match=r"'encoding' parameter of "
                                                    r"Audience.write_send_list must be one of"):
        risky_audience.write_send_list(tmp_path / "send.csv", encoding="latin-1")
    with pytest.raises(InvalidParameterError, match=r"'format' parameter of Audience.export"):
        risky_audience.export(tmp_path, format="parquet")
    with pytest.raises(FileNotFoundError, match="no assignment file at"):
        read_assignment(tmp_path / "missing.csv")
    pd.DataFrame({"customer_id": ["a"]}).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(SchemaError, match=r"is not an assignment file: it lacks the columns "
                                          r"\['campaign', 'campaign_date', 'group'\]"):
        read_assignment(tmp_path / "x.csv")
    bad = select_audience(TEN, name="t").assignments().assign(group="holdout")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SchemaError, match=r"must hold 'treatment' or 'control'. Found "
                                          r"\['holdout'\]"):
        read_assignment(tmp_path / "bad.csv")


def test_contact_log_of_one_campaign_feeds_the_next(tmp_path):
    first = select_audience(TEN, name="june", holdout=0.3, split="exact")
    log = first.contact_log()
    assert list(log.columns) == ["customer_id", "contact_date", "channel", "campaign"]
    assert log["contact_date"].eq(pd.Timestamp("2024-06-08")).all()
    log.to_csv(tmp_path / "log.csv", index=False)
    from_file = pd.read_csv(tmp_path / "log.csv", dtype=str)
    later = select_audience(TEN, name="july", contacts=from_file, min_days_between_contacts=30,
                            date="2024-07-01")
    assert sorted(later.table.index) == sorted(first.control.index)  # 23 days: too soon
    much_later = select_audience(TEN, name="aug", contacts=from_file,
                                 min_days_between_contacts=30, date="2024-08-01")
    assert len(much_later.table) == 10


def test_restore_text_inverts_the_writers():
    frame = pd.DataFrame({"id": ["=a", "'b", "''c", "x", "'=d"], "n": [1, 2, 3, 4, 5]})
    written = neutralize_formulas(files.escape_quotes(frame))
    assert written["id"].tolist() == ["'=a", "''b", "'''c", "x", "''=d"]
    pd.testing.assert_frame_equal(files.restore_text(written, escaped=True), frame)
    # the analysis export only neutralises: its inverse leaves other quotes alone
    plain = neutralize_formulas(frame)
    assert files.restore_text(plain, escaped=False)["id"].tolist() == ["=a", "'b", "''c", "x",
                                                                       "=d"]
