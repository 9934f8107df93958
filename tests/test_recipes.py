"""Every code block of docs/recipes.md runs, in order, and does what the text says."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

RECIPES = Path(__file__).resolve().parents[1] / "docs" / "recipes.md"


def code_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Run the page's blocks in one namespace, in a scratch folder; return the namespace."""
    import os

    folder = tmp_path_factory.mktemp("recipes")
    namespace: dict = {"__name__": "recipes"}
    before = Path.cwd()
    os.chdir(folder)
    try:
        with warnings.catch_warnings():
            # The recipes themselves must not trip a deprecation either.
            warnings.simplefilter("error", DeprecationWarning)
            warnings.simplefilter("error", FutureWarning)
            for number, block in enumerate(code_blocks(RECIPES.read_text(encoding="utf-8"))):
                exec(compile(block, f"docs/recipes.md block {number}", "exec"), namespace)
        namespace["__folder__"] = folder
        yield namespace
    finally:
        os.chdir(before)


def test_the_page_has_the_four_recipes():
    text = RECIPES.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    assert headings == [
        "1. Monthly scoring on last month's edges",
        "2. Campaign lists",
        "3. SQL export",
        "4. A CI regression test on sample data",
    ]
    assert len(code_blocks(text)) == 8


def test_monthly_scoring_uses_novembers_edges(session):
    scorer, reloaded = session["scorer"], session["november_scorer"]
    # business bands for frequency survive the ties: 5 bands, the thresholds given
    assert scorer.n_bins_ == {"recency_days": 5, "frequency": 5, "monetary_total": 5}
    np.testing.assert_array_equal(scorer.bin_edges_["frequency"], [1, 2, 3, 5])
    for column, edges in scorer.bin_edges_.items():
        np.testing.assert_array_equal(reloaded.bin_edges_[column], edges)
    assert session["december"].attrs["as_of"] == "2024-12-31"
    december = session["december_scored"]
    # the December recency scores follow November's recency thresholds
    r_edges = scorer.bin_edges_["recency_days"]
    expected = 5 - np.searchsorted(r_edges, december["recency_days"].to_numpy(), side="left")
    np.testing.assert_array_equal(december["r_score"].to_numpy(), expected)
    assert december["segment"].notna().all()
    shares = session["moves"].retained_share().dropna()  # "Other" is empty: NaN
    assert len(shares) == 11 and ((shares >= 0) & (shares <= 1)).all()


def test_campaign_lists_cover_every_customer_once(session):
    result, lists = session["result"], session["lists"]
    assert sum(len(frame) for frame in lists.values()) == len(result.customers)
    folder = session["__folder__"] / "campaigns"
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(lists)
    new = (folder / "new.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(new) == len(lists["new"]) + 1  # header + one line per customer
    call_list = session["call_list"]
    assert call_list["monetary_total"].is_monotonic_decreasing
    assert (result.customers.loc[call_list.index, "segment"] == "Can't Lose Them").all()


def test_sql_export_round_trip(session):
    result, by_segment = session["result"], session["by_segment"]
    assert "rfm_customers" in session["tables"]
    assert by_segment["customers"].sum() == len(result.customers)
    top = by_segment.iloc[0]
    expected = result.customers.groupby("segment", observed=True)["monetary_total"].sum()
    assert top["revenue"] == pytest.approx(expected.max(), abs=0.01)
    assert top["segment"] == expected.idxmax()


def test_regression_recipe_passes_and_would_catch_a_change(session):
    folder = session["__folder__"]
    baseline_path = folder / "rfm_baseline.json"
    baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    assert baseline["as_of"] == "2024-12-31" and baseline["customers"] == 1000
    import os

    before = Path.cwd()
    os.chdir(folder)
    try:
        session["test_rfm_figures_match_the_baseline"]()  # the recipe's own test passes
        moved = dict(baseline, segments={**baseline["segments"], "Champions": -1})
        baseline_path.write_text(json.dumps(moved), encoding="utf-8")
        with pytest.raises(AssertionError):
            session["test_rfm_figures_match_the_baseline"]()
    finally:
        baseline_path.write_text(json.dumps(baseline), encoding="utf-8")
        os.chdir(before)
