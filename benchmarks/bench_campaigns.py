"""Benchmark: a campaign on one million customers, against plain pandas baselines (issue 17).

Times, on 1,000,000 synthetic customers (the columns of ``Analysis.customers``
that campaigns read), the median of 3 runs:

* ``select_audience``: a win-back audience (two lifecycle labels, ``min_p_alive``,
  a ``where`` rule, 1,000 excluded ids, a contact log of 100,000 rows), split
  10% control, with the funnel, balance and strata; baseline: the same
  filters as plain boolean masks over the table (no draws, no split, no
  tables);
* ``Audience.write_assignments`` (CSV, formula-safe, atomic); baseline:
  ``DataFrame.to_csv`` of the same table;
* ``read_assignment``; baseline: ``pd.read_csv(dtype=str)`` of the same file;
* ``campaign_lift`` over the orders of a month (``make_campaign_orders``),
  from the ``Audience``; baseline: ``prepare_orders`` of the lines, then the
  per-customer orders and revenue joined to the assignment table and the two
  groups' means in plain pandas (no intervals, no per-label tables).

The ratios are what to read on a shared machine: both sides run in the same
process, one after the other.

Run: ``.venv/bin/python benchmarks/bench_campaigns.py``. Writes its own
section "## Campaigns (issue 17)" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from bench_scoring import replace_section

from rfm_loyalty.campaigns import campaign_lift, read_assignment, select_audience
from rfm_loyalty.datasets import make_campaign_orders
from rfm_loyalty.lifecycle import ACTIONS, LABELS_ZH, LIFECYCLE_LABELS
from rfm_loyalty.orders import prepare_orders

HERE = Path(__file__).resolve().parent
HEADING = "## Campaigns (issue 17)"
N_CUSTOMERS = 1_000_000
REPEATS = 3
SEED = 20261202
SEGMENTS = ("Champions", "Loyal Customers", "At Risk", "Hibernating", "About To Sleep")


def customers(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lifecycle = rng.choice(np.array(LIFECYCLE_LABELS), n)
    frame = pd.DataFrame({
        "customer_id": np.char.add("c", np.char.zfill(np.arange(n).astype(str), 7)),
        "lifecycle": pd.Categorical(lifecycle, categories=LIFECYCLE_LABELS, ordered=True),
        "segment": pd.Categorical(rng.choice(np.array(SEGMENTS), n), categories=SEGMENTS,
                                  ordered=True),
        "recency_days": rng.integers(0, 720, n),
        "frequency": 1 + rng.poisson(1.5, n),
        "monetary_total": np.round(rng.lognormal(4, 1, n), 2),
        "p_alive": rng.uniform(size=n),
    })
    frame["lifecycle_zh"] = frame["lifecycle"].map(dict(LABELS_ZH)).astype(str)
    frame["action"] = frame["lifecycle"].map({k: v.en for k, v in ACTIONS.items()}).astype(str)
    frame["action_zh"] = frame["lifecycle"].map({k: v.zh for k, v in ACTIONS.items()}).astype(
        str)
    frame = frame.set_index("customer_id")
    frame.attrs = {"as_of": "2024-12-31"}
    return frame


def plain_lift(lines: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    frame = prepare_orders(lines).frame
    per_customer = frame.groupby("customer_id").agg(orders=("is_purchase", "sum"),
                                                    revenue=("amount", "sum"))
    joined = per_customer.reindex(assignments["customer_id"]).fillna(0.0)
    joined["group"] = assignments["group"].to_numpy()
    return joined.groupby("group").mean()


def median_time(run: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    table = customers(N_CUSTOMERS, SEED)
    rng = np.random.default_rng(SEED + 1)
    exclude = list(table.index[rng.choice(N_CUSTOMERS, 1000, replace=False)])
    contacts = pd.DataFrame({
        "customer_id": table.index[rng.choice(N_CUSTOMERS, 100_000, replace=False)],
        "contact_date": pd.Timestamp("2024-12-01") + pd.to_timedelta(
            rng.integers(0, 40, 100_000), unit="D"),
    })
    rules = {"lifecycle": ["high_recovery", "low_recovery"], "min_p_alive": 0.2,
             "where": "monetary_total >= 20", "exclude": exclude, "contacts": contacts,
             "min_days_between_contacts": 14, "date": "2025-01-06", "holdout": 0.1}

    def select() -> object:
        return select_audience(table, name="bench", **rules)

    def plain_select() -> object:
        gap = (pd.Timestamp("2025-01-06") - contacts["contact_date"]).dt.days.abs()
        recent = pd.Index(contacts.loc[gap < 14, "customer_id"])
        mask = (table["lifecycle"].isin(rules["lifecycle"]) & (table["p_alive"] >= 0.2)
                & table.eval("monetary_total >= 20") & ~table.index.isin(exclude)
                & ~table.index.isin(recent))
        return table[mask]

    audience = select_audience(table, name="bench", **rules)
    folder = Path(tempfile.mkdtemp())
    path = folder / "assignment.csv"
    assignments = audience.assignments()
    after = make_campaign_orders(audience, start="2025-01-06", end="2025-02-04",
                                 response_lift=0.03, random_state=SEED)
    lines = after.orders
    warnings.simplefilter("ignore")  # the power note, the same on every run
    timings = {
        "select": (median_time(select), median_time(plain_select)),
        "write": (median_time(lambda: audience.write_assignments(path)),
                  median_time(lambda: assignments.to_csv(folder / "plain.csv", index=False))),
        "read": (median_time(lambda: read_assignment(path)),
                 median_time(lambda: pd.read_csv(path, dtype=str))),
        "lift": (median_time(lambda: campaign_lift(lines, audience, start="2025-01-06",
                                                   end="2025-02-04")),
                 median_time(lambda: plain_lift(lines, assignments))),
    }
    for step, (ours, base) in timings.items():
        print(f"{step}: {ours:.2f} s vs baseline {base:.2f} s ({ours / base:.1f}x)")
    write_results(len(audience.table), len(lines), timings)


def write_results(n_audience: int, n_orders: int,
                  timings: dict[str, tuple[float, float]]) -> None:
    versions = (f"{platform.machine()}, Python {sys.version.split()[0]}, pandas "
                f"{pd.__version__}, numpy {np.__version__}")
    names = {
        "select": ("select_audience (7 filters, split, funnel, balance, strata)",
                   "the same filters as boolean masks"),
        "write": ("Audience.write_assignments (CSV)", "DataFrame.to_csv"),
        "read": ("read_assignment (CSV)", "pd.read_csv(dtype=str)"),
        "lift": (f"campaign_lift ({n_orders:,} order lines)",
                 "prepare_orders + per-customer sums + group means"),
    }
    rows = [f"| {names[k][0]} | {ours:.2f} | {names[k][1]} | {base:.2f} | {ours / base:.1f} |"
            for k, (ours, base) in timings.items()]
    body = "\n".join([
        HEADING, "",
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/bench_campaigns.py` on "
        f"{versions}. Median of {REPEATS} runs; {N_CUSTOMERS:,} synthetic customers (seed "
        f"{SEED}), a win-back audience of {n_audience:,}.", "",
        "| step | seconds | baseline | seconds | ratio |", "|---|---:|---|---:|---:|",
        *rows, "",
    ])
    replace_section(HERE / "RESULTS.md", HEADING, body)


if __name__ == "__main__":
    main()
