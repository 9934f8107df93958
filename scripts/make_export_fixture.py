"""Export the bundled sample with the code of an earlier commit, as a test fixture.

tests/test_export.py compares the current export of the same analysis with
these files: every table must read back (``read_export``, the documented
dtypes) equal to the one written by the earlier code, except the curve tables
(``pareto``, ``whale``) and the version fields, which changed on purpose.

Usage (from the repository root)::

    python scripts/make_export_fixture.py             # eacc791 -> tests/data/export_eacc791/
    python scripts/make_export_fixture.py --commit X   # another commit -> tests/data/export_X/

The earlier code is taken with ``git archive`` into a temporary folder (no
worktree is registered) and run in a fresh interpreter with that folder first
on ``PYTHONPATH``, so nothing of the current source is imported.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_COMMIT = "eacc791"

#: The analysis of the fixture: the demo's call (sample orders with their costs, a cost
#: to serve so that some customers lose money, models fitted), so that every table
#: (whale, tiers and model_parameters included) is written.
EXPORT_CODE = """
import json, sys, warnings
from rfm_loyalty.analysis import analyze
from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.orders import OrderColumns

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    result = analyze(load_sample_orders(), OrderColumns(order_id="order_id", cost="cost"),
                     cost_per_order=5.0, models=True)
files = result.export(sys.argv[1], format="csv")
print(json.dumps([f.name for f in files]))
"""


def export_at(commit: str, out: Path) -> list[str]:
    """Export the fixture analysis with the source of ``commit`` into ``out``."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "src"], cwd=REPO,
                             capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="rfm-fixture-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        env = {"PYTHONPATH": str(Path(tmp) / "src"), "PYTHONHASHSEED": "0",
               "SOURCE_DATE_EPOCH": "0", "PATH": "/usr/bin:/bin"}
        run = subprocess.run([sys.executable, "-c", EXPORT_CODE, str(out)], env=env,
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"export at {commit} failed:\n{run.stderr}")
    return list(json.loads(run.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    args = parser.parse_args(argv)
    out = REPO / "tests" / "data" / f"export_{args.commit}"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    names = export_at(args.commit, out)
    print(f"wrote {len(names)} files to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
