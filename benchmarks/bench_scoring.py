"""Benchmark: scoring, segments and lifecycle labelling of 1M customers (issue 3).

Times, on one million synthetic customers:

* ``RFMScorer().fit(table).transform(table)`` on the customer table,
* ``assign_segments`` with the default preset,
* ``lifecycle_from_aggregates`` (the lifecycle labelling, from the per-customer
  aggregates that ``customer_aggregates`` returns),

and reports their sum, the median of 3 runs. The aggregation of the orders
(``customer_aggregates``, the one step that reads every order) is timed apart,
for context: it is the core's step, benchmarked in issue 2.

Run: ``.venv/bin/python benchmarks/bench_scoring.py``. Writes its own section
"## Scoring and lifecycle (issue 3)" of benchmarks/RESULTS.md, leaving the
other sections as they are.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rfm_loyalty.lifecycle import lifecycle_from_aggregates
from rfm_loyalty.orders import OrderColumns, prepare_orders
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import assign_segments
from rfm_loyalty.summary import customer_aggregates, rfm_from_aggregates

HERE = Path(__file__).resolve().parent
HEADING = "## Scoring and lifecycle (issue 3)"
N_CUSTOMERS = 1_000_000
REPEATS = 3
SEED = 20261125


def synthetic_orders(n_customers: int, seed: int) -> pd.DataFrame:
    """Canonical orders: 1-8 orders per customer over two years, 5 % returns."""
    rng = np.random.default_rng(seed)
    per_customer = np.minimum(rng.geometric(0.45, n_customers), 8)
    customer = np.repeat(np.arange(n_customers), per_customer)
    n = len(customer)
    start = np.datetime64("2023-01-01T00:00")
    minutes = rng.integers(0, 2 * 365 * 24 * 60, n)
    amount = np.round(rng.lognormal(3.5, 0.8, n), 2)
    # 5 % of the later orders are returns; every customer's first order is a
    # purchase, so all n_customers have a purchase.
    first = np.r_[True, customer[1:] != customer[:-1]]
    amount[(rng.random(n) < 0.05) & ~first] *= -0.5
    return pd.DataFrame(
        {
            "customer_id": pd.Series(customer).map("c{:07d}".format),
            "order_id": np.arange(n),
            "order_date": start + minutes.astype("timedelta64[m]"),
            "amount": amount,
        }
    )


def main() -> None:
    t0 = time.perf_counter()
    raw = synthetic_orders(N_CUSTOMERS, SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        orders = prepare_orders(raw, OrderColumns(order_id="order_id"))
    setup_s = time.perf_counter() - t0
    print(f"setup: {len(raw):,} orders prepared in {setup_s:.1f} s")

    agg_times, run_times = [], []
    for _ in range(REPEATS):
        t = time.perf_counter()
        aggregates = customer_aggregates(orders, window_days=45)
        agg_times.append(time.perf_counter() - t)
    table = rfm_from_aggregates(aggregates)
    n_customers = len(table)
    parts: dict[str, list[float]] = {"scorer": [], "segments": [], "lifecycle": []}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        RFMScorer().fit(table)
    for warning in seen:
        print(f"{warning.category.__name__}: {warning.message}")
    warnings.simplefilter("ignore")  # the same warning on every timed run
    for _ in range(REPEATS):
        t = time.perf_counter()
        scores = RFMScorer().fit(table).transform(table)
        t1 = time.perf_counter()
        assign_segments(scores)
        t2 = time.perf_counter()
        lifecycle_from_aggregates(aggregates)
        t3 = time.perf_counter()
        parts["scorer"].append(t1 - t)
        parts["segments"].append(t2 - t1)
        parts["lifecycle"].append(t3 - t2)
        run_times.append(t3 - t)
    total = statistics.median(run_times)
    medians = {k: statistics.median(v) for k, v in parts.items()}
    aggregation = statistics.median(agg_times)
    print(
        f"{n_customers:,} customers: scoring+segments+lifecycle {total:.2f} s "
        f"(scorer {medians['scorer']:.2f}, segments {medians['segments']:.2f}, "
        f"lifecycle {medians['lifecycle']:.2f}); customer_aggregates {aggregation:.2f} s"
    )
    write_results(len(raw), n_customers, total, medians, aggregation)


def write_results(
    n_orders: int, n_customers: int, total: float, medians: dict[str, float], aggregation: float
) -> None:
    versions = (
        f"{platform.machine()}, Python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"numpy {np.__version__}"
    )
    body = "\n".join(
        [
            HEADING,
            "",
            f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/bench_scoring.py` on "
            f"{versions}. Median of {REPEATS} runs in one process; synthetic orders "
            f"(seed {SEED}): {n_orders:,} orders of {n_customers:,} customers.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| RFMScorer fit + transform | {medians['scorer']:.2f} |",
            f"| assign_segments (default preset) | {medians['segments']:.2f} |",
            f"| lifecycle_from_aggregates (labels, zh, actions, rules) | "
            f"{medians['lifecycle']:.2f} |",
            f"| **scoring + segments + lifecycle** (target < 2 s) | **{total:.2f}** |",
            f"| customer_aggregates with window_days=45 (reads every order; context) | "
            f"{aggregation:.2f} |",
            "",
        ]
    )
    replace_section(HERE / "RESULTS.md", HEADING, body)


def replace_section(path: Path, heading: str, body: str) -> None:
    """Replace our '## ' section of RESULTS.md (or append it), keeping the others."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    parts = text.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    kept = [s for s in sections if s.splitlines()[0].strip() != heading]
    position = next(
        (i for i, s in enumerate(sections) if s.splitlines()[0].strip() == heading), len(kept)
    )
    kept.insert(position, body.rstrip("\n") + "\n")
    path.write_text(
        head.rstrip("\n") + "\n\n" + "\n".join(s.rstrip("\n") + "\n" for s in kept),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
