"""Tests of segment rules, presets, the linter and segment_summary (segments.py)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.segments import (
    OTHER,
    SEGMENT_PRESETS,
    Segment,
    assign_segments,
    lint_segments,
    segment_grid,
    segment_summary,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "segments.md"

DEFAULT_NAMES = [
    "Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
    "Need Attention", "About To Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
]


def scores(r, f, m, **extra) -> pd.DataFrame:
    return pd.DataFrame({"r_score": r, "f_score": f, "m_score": m, **extra})


# ---------------------------------------------------------------- Segment
def test_segment_is_frozen_and_normalises_ranges():
    seg = Segment("Top", r=[4, 5], f=(np.int64(1), np.int64(5)))
    assert seg.r == (4, 5) and isinstance(seg.r, tuple)
    assert seg.f == (1, 5) and type(seg.f[0]) is int
    assert seg.m == (1, 10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        seg.name = "x"  # type: ignore[misc]
    assert seg.n_cells(5) == 2 * 5 * 5
    assert Segment("Far", r=(6, 10)).n_cells(5) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"r": (3, 2)}, r"Segment 'X': r must be a pair .* Got r=\(3, 2\)"),
        ({"f": (0, 2)}, r"Got f=\(0, 2\)"),
        ({"m": (1, 11)}, r"Got m=\(1, 11\)"),
        ({"r": (1.0, 2)}, r"Got r=\(1\.0, 2\)"),
        ({"r": (True, 2)}, r"Got r=\(True, 2\)"),
        ({"r": 3}, r"Got r=3"),
        ({"action": 5}, r"action must be a string\. Got 5"),
    ],
)
def test_segment_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Segment("X", **kwargs)


def test_segment_name_validation():
    with pytest.raises(ValueError, match=r"non-empty string\. Got ''"):
        Segment("")
    with pytest.raises(ValueError, match=r"'Other' is reserved"):
        Segment("Other")


# ---------------------------------------------------------------- presets
def test_default_preset_covers_every_cell_with_no_rule_shadowed():
    report = lint_segments("default", n_bins=5)
    assert report.ok
    assert report.coverage == 1.0
    assert report.uncovered == ()
    assert report.never_fire == ()
    assert report.overlaps == ()  # a partition: the rule order does not matter
    assert sum(report.cells_won) == 125
    assert "OK: every cell covered, no overlaps, every rule fires." in str(report)
    rules = SEGMENT_PRESETS["default"]
    assert list(dict.fromkeys(rule.name for rule in rules)) == DEFAULT_NAMES
    assert all(rule.description and rule.action for rule in rules)


def test_default_preset_cell_counts():
    counts = segment_grid("default")["segment"].value_counts(sort=False)
    assert counts.to_dict() == {
        "Champions": 4, "Loyal Customers": 26, "Potential Loyalist": 20, "New Customers": 5,
        "Promising": 5, "Need Attention": 5, "About To Sleep": 10, "At Risk": 22,
        "Can't Lose Them": 8, "Hibernating": 10, "Lost": 10, OTHER: 0,
    }


# The R x F map as published (regular expressions on the two-character "RF" code,
# applied with pandas.Series.replace(regex=True)); source and provenance in
# docs/segments.md. Keys are the published patterns, values the published labels.
PUBLISHED_RF_MAP = {
    r"[1-2][1-2]": "hibernating",
    r"[1-2][3-4]": "at_Risk",
    r"[1-2]5": "cant_loose",
    r"3[1-2]": "about_to_sleep",
    r"33": "need_attention",
    r"[3-4][4-5]": "loyal_customers",
    r"41": "promising",
    r"51": "new_customers",
    r"[4-5][2-3]": "potential_loyalists",
    r"5[4-5]": "champions",
}
OUR_NAME = {
    "hibernating": "Hibernating", "at_Risk": "At Risk", "cant_loose": "Can't Lose",
    "about_to_sleep": "About To Sleep", "need_attention": "Need Attention",
    "loyal_customers": "Loyal Customers", "promising": "Promising",
    "new_customers": "New Customers", "potential_loyalists": "Potential Loyalists",
    "champions": "Champions",
}


def test_rf_grid_preset_reproduces_the_published_table_cell_for_cell():
    grid = segment_grid("rf_grid")
    for row in grid.itertuples():
        rf = f"{row.r_score}{row.f_score}"
        published = [label for pattern, label in PUBLISHED_RF_MAP.items()
                     if re.fullmatch(pattern, rf)]
        assert len(published) == 1, rf  # the published patterns never overlap
        assert row.segment == OUR_NAME[published[0]], (row.rfm_code, published)
    report = lint_segments("rf_grid")
    assert report.ok and report.coverage == 1.0 and report.overlaps == ()


def test_docs_show_the_default_preset_cell_table():
    if not DOCS.exists():
        pytest.skip(f"{DOCS} not found")
    rows = re.findall(r"^\|\s*(\d{3})\s*\|\s*(\d)\s*\|\s*(\d)\s*\|\s*(\d)\s*\|\s*([^|]+?)\s*\|",
                      DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    documented = {code: name for code, _, _, _, name in rows}
    assert len(rows) == 125 and len(documented) == 125
    grid = segment_grid("default")
    assert documented == dict(zip(grid["rfm_code"], grid["segment"].astype(str), strict=True))
    for code, r, f, m, _ in rows:
        assert code == f"{r}{f}{m}"


# ------------------------------------------------------------------ linter
def test_linter_reports_gaps_overlaps_and_dead_rules():
    rules = (
        Segment("Recent", r=(4, 5)),
        Segment("Frequent", f=(5, 5)),           # overlaps Recent on r 4-5, f 5
        Segment("Very recent", r=(5, 5), f=(2, 3)),  # fully inside Recent: never fires
        Segment("Beyond", r=(6, 7)),             # outside the 5-band grid: never fires
    )
    report = lint_segments(rules, n_bins=5)
    # Recent 50 cells + Frequent adds r 1-3, f 5 = 15 cells -> 65 of 125
    assert report.coverage == pytest.approx(65 / 125)
    assert len(report.uncovered) == 60
    assert "111" in report.uncovered and "555" not in report.uncovered
    assert report.never_fire == (2, 3)
    assert report.cells_won == (50, 15, 0, 0)
    pairs = {(o.first, o.second): o for o in report.overlaps}
    assert set(pairs) == {(0, 1), (0, 2)}
    assert len(pairs[(0, 1)].cells) == 10 and "455" in pairs[(0, 1)].cells
    assert set(pairs[(0, 2)].cells) == {f"5{f}{m}" for f in (2, 3) for m in range(1, 6)}
    assert not report.ok
    text = str(report)
    assert "coverage 52.0% (65 of 125 cells)" in text
    assert "Uncovered cells (-> 'Other'): " in text and "and 40 more" in text
    assert "Overlap: rule 0 'Recent' and rule 1 'Frequent' share 10 cells" in text
    assert "Never fires: rule 2 'Very recent'" in text
    assert "Never fires: rule 3 'Beyond'" in text


def test_linter_other_grid_sizes_and_errors():
    assert lint_segments("default", n_bins=4).coverage == 1.0
    report = lint_segments("default", n_bins=6)
    assert report.coverage == pytest.approx(1 - (6**3 - 5**3) / 6**3)
    with pytest.raises(ValueError, match=r"'n_bins' parameter of segments must be a whole "
                                         r"number from 2 to 10\. Got 11"):
        lint_segments("default", n_bins=11)
    with pytest.raises(ValueError, match=r"preset 'defualt'.*Did you mean 'default'"):
        lint_segments("defualt")
    with pytest.raises(ValueError, match=r"non-empty tuple of Segment"):
        lint_segments(())
    with pytest.raises(ValueError, match=r"only Segment objects; items \[1\] are \['str'\]"):
        lint_segments((Segment("A"), "B"))  # type: ignore[arg-type]


# ----------------------------------------------------------------- assign
def test_assign_default_hand_checked():
    table = scores([5, 5, 5, 4, 3, 3, 2, 2, 1, 1, 2], [5, 4, 1, 1, 3, 1, 5, 3, 5, 1, 1],
                   [5, 2, 3, 2, 1, 4, 5, 1, 1, 5, 1])
    out = assign_segments(table)
    assert out["segment"].tolist() == [
        "Champions", "Loyal Customers", "New Customers", "Promising", "Need Attention",
        "About To Sleep", "Can't Lose Them", "At Risk", "At Risk", "Lost", "Hibernating",
    ]
    assert out["segment"].cat.ordered
    assert list(out["segment"].cat.categories) == [*DEFAULT_NAMES, OTHER]


def test_first_match_wins_and_unmatched_is_other():
    rules = (Segment("A", r=(4, 5)), Segment("B", r=(5, 5), f=(5, 5)), Segment("C", m=(1, 1)))
    table = scores([5, 2, 1, 3], [5, 2, 1, 3], [5, 1, 3, 3], customer=["w", "x", "y", "z"])
    before = table.copy()
    out = assign_segments(table, rules)
    assert out["segment"].tolist() == ["A", "C", OTHER, OTHER]
    assert list(out["segment"].cat.categories) == ["A", "B", "C", OTHER]
    assert out["customer"].tolist() == ["w", "x", "y", "z"]
    pd.testing.assert_frame_equal(table, before)  # input not modified


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)),
             min_size=1, max_size=30),
    st.sampled_from(sorted(SEGMENT_PRESETS)),
)
def test_assign_matches_a_naive_loop(cells, preset):
    r, f, m = (list(x) for x in zip(*cells, strict=True))
    out = assign_segments(scores(r, f, m), preset)
    expected = []
    for a, b, c in cells:
        name = OTHER
        for rule in SEGMENT_PRESETS[preset]:
            if (rule.r[0] <= a <= rule.r[1] and rule.f[0] <= b <= rule.f[1]
                    and rule.m[0] <= c <= rule.m[1]):
                name = rule.name
                break
        expected.append(name)
    assert out["segment"].tolist() == expected


def test_assign_errors():
    with pytest.raises(SchemaError, match=r"assign_segments needs the column 'm_score'.*RFMScorer"):
        assign_segments(pd.DataFrame({"r_score": [1], "f_score": [1]}))
    with pytest.raises(SchemaError, match=r"'f_score' must hold integer scores"):
        assign_segments(scores([1], [1.5], [1]))
    with pytest.raises(SchemaError, match=r"'r_score' must hold integer scores"):
        assign_segments(scores([np.nan], [1], [1]))
    with pytest.raises(ValueError, match=r"preset 'default' is written for scores 1\.\.5.*up to 9"):
        assign_segments(scores([9], [1], [1]))
    with pytest.raises(SchemaError, match=r"needs a DataFrame"):
        assign_segments([1, 2, 3])  # type: ignore[arg-type]
    # custom rules may use a wider scale
    wide = assign_segments(scores([9], [1], [1]), (Segment("Nine", r=(9, 10)),))
    assert wide["segment"].tolist() == ["Nine"]


# ---------------------------------------------------------------- summary
def test_segment_summary_hand_checked_in_category_order():
    table = pd.DataFrame(
        {
            "recency_days": [10, 30, 200, 400],
            "frequency": [6, 2, 1, 1],
            "monetary_total": [600.0, 200.0, 150.0, 50.0],
            "segment": pd.Categorical(["Champions", "Champions", "At Risk", "Lost"],
                                      categories=[*DEFAULT_NAMES, OTHER], ordered=True),
        }
    )
    out = segment_summary(table)
    assert list(out.index) == [*DEFAULT_NAMES, OTHER]  # every category, in order
    champions = out.loc["Champions"]
    assert champions["customers"] == 2
    assert champions["customer_share"] == 0.5
    assert champions["revenue"] == 800.0
    assert champions["revenue_share"] == 0.8
    assert champions["mean_recency_days"] == 20.0
    assert champions["mean_frequency"] == 4.0
    assert champions["mean_monetary"] == 400.0
    assert out.loc["Lost", "revenue_share"] == 0.05
    assert out.loc["Promising", "customers"] == 0
    assert np.isnan(out.loc["Promising", "mean_recency_days"])
    assert out["customers"].dtype == np.int64
    assert out["customer_share"].sum() == pytest.approx(1.0)
    assert out["revenue_share"].sum() == pytest.approx(1.0)
    assert out.index.name == "segment"


def test_segment_summary_by_other_columns_and_errors():
    table = pd.DataFrame({"recency_days": [1, 2, 3], "frequency": [1, 1, 2],
                          "monetary_total": [1.0, 2.0, 3.0], "region": ["b", "a", "b"]})
    out = segment_summary(table, by="region")
    assert list(out.index) == ["a", "b"]
    assert out["customers"].tolist() == [1, 2]
    with pytest.raises(SchemaError, match=r"segment_summary needs the column 'lifecycle'"):
        segment_summary(table, by="lifecycle")
    with pytest.raises(SchemaError,
                       match=r"needs the column 'monetary_total'.*Did you mean 'monetary'"):
        segment_summary(table.rename(columns={"monetary_total": "monetary"}), by="region")
