"""Benchmark: loyalty_indicators against rfm_table on the same 13M-line orders.

Run:  make bench-loyalty   (or: .venv/bin/python benchmarks/bench_loyalty.py)

The orders are the bench-core data (benchmarks/.data/orders_10M.parquet,
``make_orders(1_000_000, start="2020-01-01", end="2024-12-31", random_state=7)``:
13,188,026 lines, 1,000,000 customers), written by this script when
bench_core.py has not made it yet. They are read once with read_orders; then
rfm_table and loyalty_indicators run alternately on the same Orders, each
``--repeats`` times, in this one process. Reported: the median wall time and
the median CPU time of each, and their ratio (target: loyalty_indicators
<= 1.5 x rfm_table). A second, smaller run adds products, categories, list
prices and channels (datasets.add_products) to 1.3M lines and times the
indicators with every line measure, for context. Results go to the
"Loyalty" section of RESULTS.md.
"""

# ruff: noqa: E501  (the RESULTS.md text is written as it reads)
from __future__ import annotations

import argparse
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import ensure_data  # noqa: E402

from rfm_loyalty import OrderColumns, read_orders, rfm_table  # noqa: E402
from rfm_loyalty.datasets import add_products, make_orders  # noqa: E402
from rfm_loyalty.loyalty import loyalty_indicators  # noqa: E402

SECTION = "## Loyalty indicators vs rfm_table (issue 14)"


def timed(func, *args, **kwargs) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    func(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu


def alternate(orders, repeats: int) -> dict[str, list[tuple[float, float]]]:
    times: dict[str, list[tuple[float, float]]] = {"rfm_table": [], "loyalty_indicators": []}
    rfm_table(orders)  # warm-up: first-touch allocations, imports
    loyalty_indicators(orders)
    for _ in range(repeats):
        times["rfm_table"].append(timed(rfm_table, orders))
        times["loyalty_indicators"].append(timed(loyalty_indicators, orders))
    return times


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit RESULTS.md")
    args = parser.parse_args()

    path = ensure_data("10M")
    t0 = time.perf_counter()
    orders = read_orders(path, OrderColumns(order_id="order_id", amount="amount"))
    read_s = time.perf_counter() - t0
    times = alternate(orders, args.repeats)
    rfm_wall, rfm_cpu = medians(times["rfm_table"])
    loy_wall, loy_cpu = medians(times["loyalty_indicators"])

    lines = add_products(make_orders(100_000, start="2020-01-01", end="2024-12-31",
                                     random_state=7), random_state=7)
    columns = OrderColumns(order_id="order_id", quantity="quantity", unit_price="unit_price",
                           product="product", category="category", list_price="list_price",
                           channel="channel")
    from rfm_loyalty import prepare_orders

    small = prepare_orders(lines, columns)
    small_times = alternate(small, args.repeats)
    s_rfm, _ = medians(small_times["rfm_table"])
    s_loy, _ = medians(small_times["loyalty_indicators"])

    runs = ", ".join(f"{w:.2f}/{r:.2f}" for (w, _), (r, _) in
                     zip(times["loyalty_indicators"], times["rfm_table"], strict=True))
    text = f"""{SECTION}

Measured {time.strftime('%Y-%m-%d')} with `make bench-loyalty` on {platform.machine()}, Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}; 2 cores shared with other jobs. One process: the orders are read once ({read_s:.1f} s, not timed below), then `rfm_table(orders)` and `loyalty_indicators(orders)` alternate {args.repeats} times after one warm-up call each; medians.

| orders | order lines | customers | rfm_table s (wall / CPU) | loyalty_indicators s (wall / CPU) | ratio wall | ratio CPU |
|---:|---:|---:|---:|---:|---:|---:|
| {len(orders.frame):,} | {orders.quality.rows_in:,} | {orders.quality.customers:,} | {rfm_wall:.2f} / {rfm_cpu:.2f} | {loy_wall:.2f} / {loy_cpu:.2f} | **{loy_wall / rfm_wall:.2f}** | {loy_cpu / rfm_cpu:.2f} |

Target: ratio <= 1.5. The runs (loyalty / rfm_table, wall s): {runs}. Data: `benchmarks/.data/orders_10M.parquet` (bench-core's file; `make_orders(1_000_000, 2020-2024, random_state=7)`), amount column, text ids. No line columns, so the indicators are the order-level ones (repeat, months, gaps, overdue ratio, windows, AOV, spend slope); both functions read every order once.

With every line measure (products, categories, list prices, channels from `datasets.add_products`) on {len(lines):,} lines ({len(small.frame):,} orders, {small.quality.customers:,} customers): rfm_table {s_rfm:.2f} s, loyalty_indicators {s_loy:.2f} s ({s_loy / s_rfm:.2f}x; the line measures sort the lines by customer and product).
"""
    print(text)
    if args.no_write:
        return
    results = HERE / "RESULTS.md"
    current = results.read_text(encoding="utf-8")
    pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(current):
        updated = pattern.sub(text.rstrip("\n"), current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    results.write_text(updated, encoding="utf-8")


if __name__ == "__main__":
    main()
