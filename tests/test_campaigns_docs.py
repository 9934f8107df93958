"""docs/campaigns.md is true: its code runs, prints what the page shows, and its tables match."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from rfm_loyalty.campaigns import ASSIGNMENT_COLUMNS, CHANNEL_COSTS

PAGE = Path(__file__).resolve().parents[1] / "docs" / "campaigns.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", flags=re.MULTILINE | re.DOTALL)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in page order."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def run_page(text: str, folder: Path) -> tuple[dict, list[tuple[str, str]]]:
    """Run the python blocks in one namespace; return it and (expected, printed) pairs."""
    namespace: dict = {"__name__": "campaigns_page"}
    blocks = fenced_blocks(text)
    pairs = []
    before = Path.cwd()
    os.chdir(folder)
    try:
        with pd.option_context("display.width", 100, "display.max_columns", 20):
            for number, (language, body) in enumerate(blocks):
                if language != "python":
                    continue
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(compile(body, f"docs/campaigns.md block {number}", "exec"), namespace)
                following = blocks[number + 1] if number + 1 < len(blocks) else ("", "")
                if following[0] == "text":
                    pairs.append((following[1], printed.getvalue()))
    finally:
        os.chdir(before)
    return namespace, pairs


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    text = PAGE.read_text(encoding="utf-8")
    namespace, pairs = run_page(text, tmp_path_factory.mktemp("campaigns_page"))
    return text, namespace, pairs


def normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def test_every_printed_output_is_the_one_on_the_page(page):
    _, _, pairs = page
    assert len(pairs) == 9
    for expected, printed in pairs:
        assert normalised(printed) == normalised(expected)


def test_the_walkthrough_recovers_the_known_lift(page):
    _, ns, _ = page
    lift, truth = ns["lift"], ns["after"].true_lift
    for metric, value in truth.items():
        row = lift.summary.loc[metric]
        assert row["lower"] <= value <= row["upper"], metric
    assert ns["audience"].funnel["step"].tolist() == ["customers", "lifecycle", "min_p_alive",
                                                      "exclude", "contacts"]
    assert (ns["audience"].balance["smd"].abs() < 0.1).all()  # as the page says


def page_table(text: str, marker: str) -> list[list[str]]:
    block = text.split(f"<!-- {marker} -->", 1)[1].strip().splitlines()
    rows = []
    for line in block:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows[2:]


def test_the_assignment_columns_on_the_page_are_the_codes():
    rows = page_table(PAGE.read_text(encoding="utf-8"), "assignment-columns")
    assert [tuple(r) for r in rows] == [(n, d, w, m) for n, d, m, w in ASSIGNMENT_COLUMNS]


def test_the_channel_costs_on_the_page_are_the_defaults():
    rows = page_table(PAGE.read_text(encoding="utf-8"), "channel-costs")
    assert {r[0]: float(r[1]) for r in rows} == dict(CHANNEL_COSTS)
