"""docs/ci.md runs as written: the baseline command, the workflow's steps, the pytest example."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "ci.md"
SAMPLE = REPO / "data" / "samples" / "sample_orders.csv"


def blocks(language: str) -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def workflow_commands(yaml_text: str) -> list[tuple[str, str]]:
    """(step name, shell script) of every ``run:`` step, in order (no YAML library needed)."""
    steps, lines = [], yaml_text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)(- )?run: (.*)$", line)
        if not match:
            continue
        name = next((re.sub(r"^\s*- name: ", "", lines[j]) for j in (i - 1,)
                     if "- name: " in lines[j]), match.group(3))
        if match.group(3).strip() != "|":
            steps.append((name, match.group(3).strip()))
            continue
        indent = len(match.group(1)) + 2
        body = []
        for follow in lines[i + 1:]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= indent - 2:
                break
            body.append(follow[indent:])
        steps.append((name, "\n".join(body).strip()))
    return steps


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A scratch repository: the sample, the page's test file, shims for the commands."""
    root = tmp_path_factory.mktemp("shop")
    (root / "ci").mkdir()
    shutil.copy(SAMPLE, root / "ci" / "sample_orders.csv")
    (root / "ci" / "test_segments.py").write_text(blocks("python")[0], encoding="utf-8")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name, command in (("rfm-loyalty", f'"{sys.executable}" -m rfm_loyalty.cli "$@"'),
                          ("python", f'"{sys.executable}" "$@"')):
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\nexec {command}\n", encoding="utf-8")
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return root


def _shell(repo: Path, script: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = f"{repo / 'bin'}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(REPO / "src")
    env["GITHUB_STEP_SUMMARY"] = str(repo / "summary.md")
    env.pop("SOURCE_DATE_EPOCH", None)
    # GitHub runs a step's script with `bash --noprofile --norc -eo pipefail`
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=repo, env=env, capture_output=True, text=True, check=False)


def test_the_page_has_the_three_pieces():
    assert len(blocks("bash")) == 1 and len(blocks("yaml")) == 1 and len(blocks("python")) == 1
    steps = workflow_commands(blocks("yaml")[0])
    assert [name for name, _ in steps] == [
        'pip install rfm-loyalty pytest', "Analyse the pinned sample",
        "Compare with the baseline (fails the job when segments drift)", "Our own checks"]


def test_the_workflow_passes_on_the_baseline_and_fails_on_a_drift(repo):
    baseline = _shell(repo, blocks("bash")[0])
    assert baseline.returncode == 0, baseline.stderr
    assert (repo / "ci" / "baseline" / "metadata.json").is_file()
    steps = [(n, s) for n, s in workflow_commands(blocks("yaml")[0]) if "pip install" not in s]
    for name, script in steps:
        done = _shell(repo, script)
        assert done.returncode == 0, f"{name}: {done.stdout[-1500:]} {done.stderr[-1500:]}"
    summary = (repo / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("### rfm-loyalty diff :white_check_mark: no change")
    # a baseline recorded with another lifecycle window: the gate and the tests fail
    drifted = _shell(repo, blocks("bash")[0].replace("--out ci/baseline",
                                                     "--window-days 30 --out ci/baseline"))
    assert drifted.returncode == 0, drifted.stderr
    for name, script in steps[1:]:
        done = _shell(repo, script)
        assert done.returncode == 1, f"{name} should fail: {done.stdout[-1500:]}"
    assert ":x: CHANGED beyond tolerances: lifecycle:" in (repo / "summary.md").read_text(
        encoding="utf-8")


def test_the_failure_message_on_the_page_is_the_real_one():
    from rfm_loyalty import OrderColumns, analyze
    from rfm_loyalty.datasets import load_sample_orders
    from rfm_loyalty.testing import AnalysisMismatch, assert_analysis_equal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = analyze(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"))
    customers = base.customers.copy()
    customers.loc["C0042", "monetary_total"] += 0.01
    with pytest.raises(AnalysisMismatch) as failure:
        assert_analysis_equal(base, dataclasses.replace(base, customers=customers),
                              atol_money=0)
    assert blocks("text")[0].strip() == str(failure.value)
