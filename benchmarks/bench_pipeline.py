"""Benchmark: the whole job (read, analyze, export, report) against the core and DuckDB.

Run:  make bench-pipeline   (or: .venv/bin/python benchmarks/bench_pipeline.py --sizes 1M 10M)

The same synthetic Parquet files as ``bench_core.py`` (benchmarks/.data/,
written once). Every measurement runs in a fresh subprocess, so that its peak
memory (VmHWM) is its own, and the three kinds alternate, ``--repeats``
times each (median reported):

* ``core``: ``rfm_table(read_orders(path, columns))``, the baseline the issue
  measures ``analyze`` against;
* ``duckdb``: the hand-written DuckDB SQL of ``bench_core.py`` (2 threads);
* ``job``: ``analyze(path, columns, margin=0.3)``, then ``export`` as CSV,
  ``export`` as Parquet and ``report``. The time of each analysis step is
  taken inside the same call: the functions ``analyze`` calls are wrapped
  with a stopwatch in the child process (the wrappers add microseconds).

One more run per size times ``analyze(..., models=True)``. Results replace
the "Pipeline" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_core import DUCKDB_SQL, ensure_data, peak_mb, replace_section  # noqa: E402

#: Steps of the job, in order: (label, functions of rfm_loyalty.analysis timed as that step).
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # (the file's SHA-256 runs in a thread during the read: not timed apart)
    ("read", ("_analysis_input.orders_from_file",)),
    ("customer base", ("_analysis_input.customer_base",)),
    ("scores and segments", ("analysis.rfm_from_aggregates", "analysis.RFMScorer.fit",
                             "analysis.RFMScorer.transform", "analysis.assign_segments",
                             "analysis.summarise_segments")),
    ("lifecycle", ("analysis.lifecycle_from_base", "analysis.summarise_lifecycle")),
    ("profit", ("analysis.profit_and_note",)),
    ("churn and cohorts", ("analysis.churn_from_rfm", "analysis.churn_summary_from",
                           "analysis.cohort_retention", "analysis.customer_flow")),
    ("pareto", ("analysis.pareto",)),
    ("models", ("analysis.fit_models",)),
)


def _stopwatch(timings: dict[str, float], step: str, func):  # type: ignore[no-untyped-def]
    @functools.wraps(func)
    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            timings[step] = timings.get(step, 0.0) + time.perf_counter() - t0

    return timed


def _wrap_steps(timings: dict[str, float]) -> None:
    import importlib

    for step, names in STEPS:
        for name in names:
            module_name, *attrs = name.split(".")
            owner = importlib.import_module(f"rfm_loyalty.{module_name}")
            for attr in attrs[:-1]:
                owner = getattr(owner, attr)
            setattr(owner, attrs[-1], _stopwatch(timings, step, getattr(owner, attrs[-1])))


def child(kind: str, path: str) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    import warnings

    warnings.simplefilter("ignore")  # BinningWarning, ModelWarning: not what is measured
    from rfm_loyalty import OrderColumns, analyze, read_orders, rfm_table

    columns = OrderColumns(order_id="order_id")
    out: dict[str, object] = {}
    t0 = time.perf_counter()
    if kind == "core":
        out["customers"] = len(rfm_table(read_orders(path, columns)))
    elif kind == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads TO 2")
        as_of = con.execute(f"SELECT CAST(max(order_date) AS DATE) FROM read_parquet('{path}')")
        day = as_of.fetchone()[0]
        out["customers"] = len(con.execute(DUCKDB_SQL.format(path=path, as_of=day)).df())
    elif kind in ("job", "models"):
        timings: dict[str, float] = {}
        _wrap_steps(timings)
        result = analyze(path, columns, margin=0.3, models=kind == "models")
        out["analyze"] = time.perf_counter() - t0
        out["steps"] = timings
        out["customers"] = len(result.customers)
        if kind == "job":
            with tempfile.TemporaryDirectory() as folder:
                t1 = time.perf_counter()
                result.export(Path(folder) / "csv", format="csv")
                out["export csv"] = time.perf_counter() - t1
                t1 = time.perf_counter()
                result.export(Path(folder) / "parquet", format="parquet")
                out["export parquet"] = time.perf_counter() - t1
                t1 = time.perf_counter()
                result.report(Path(folder) / "report.html")
                out["report"] = time.perf_counter() - t1
    else:
        raise SystemExit(f"unknown kind {kind!r}")
    out["seconds"] = time.perf_counter() - t0
    out["peak_mb"] = peak_mb()
    print(json.dumps(out))


def run_child(kind: str, path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(label: str, repeats: int) -> dict:
    import pyarrow.parquet as pq

    path = ensure_data(label)
    runs: dict[str, list[dict]] = {"core": [], "duckdb": [], "job": []}
    for _ in range(repeats):
        for kind in runs:
            runs[kind].append(run_child(kind, path))
    models = run_child("models", path)

    def med(kind: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs[kind])

    jobs = runs["job"]
    steps = {s: statistics.median(r["steps"].get(s, 0.0) for r in jobs) for s, _ in STEPS}
    row = {
        "size": label,
        "lines": pq.ParquetFile(path).metadata.num_rows,
        "customers": int(jobs[0]["customers"]),
        "core": med("core", "seconds"),
        "core_peak": max(r["peak_mb"] for r in runs["core"]),
        "duckdb": med("duckdb", "seconds"),
        "analyze": med("job", "analyze"),
        "export csv": med("job", "export csv"),
        "export parquet": med("job", "export parquet"),
        "report": med("job", "report"),
        "job_peak": max(r["peak_mb"] for r in jobs),
        "steps": steps,
        "models_analyze": float(models["analyze"]),
        "models_fit": float(models["steps"].get("models", 0.0)),
        "models_peak": float(models["peak_mb"]),
        "all_analyze": [r["analyze"] for r in jobs],
        "all_core": [r["seconds"] for r in runs["core"]],
        # each job over the core run just before it: the machine's load
        # drifts, so a ratio of neighbours is steadier than a ratio of medians
        "ratio": statistics.median(j["analyze"] / c["seconds"]
                                   for j, c in zip(jobs, runs["core"], strict=True)),
        "ratio_csv": statistics.median((j["analyze"] + j["export csv"]) / c["seconds"]
                                       for j, c in zip(jobs, runs["core"], strict=True)),
    }
    print(json.dumps(row), flush=True)
    return row


def write_results(rows: list[dict], repeats: int) -> None:
    import platform

    import numpy
    import pandas

    lines = [
        "## Pipeline: analyze, export and report vs read_orders + rfm_table (issue 15)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `make bench-pipeline` on "
        f"{platform.machine()}, Python {platform.python_version()}, pandas "
        f"{pandas.__version__}, numpy {numpy.__version__}. Median of {repeats} alternating "
        "runs, each in a fresh process; peak = the process's own high-water mark (VmHWM). "
        "The job is "
        "`analyze(path, OrderColumns(order_id='order_id'), margin=0.3)`, then `export` as "
        "CSV, as Parquet and `report`; the core is `rfm_table(read_orders(path, columns))`; "
        "DuckDB is the hand-written SQL of the core benchmark. Ratios are medians of each "
        "job's ratio to the core run just before it in the same run.",
        "",
        "| order lines | customers | core s | DuckDB s | analyze s | analyze / core | export "
        "CSV s | export Parquet s | report s | (analyze + CSV) / core | job peak MB | core "
        "peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lines']:,} | {r['customers']:,} | {r['core']:.2f} | {r['duckdb']:.2f} | "
            f"{r['analyze']:.2f} | {r['ratio']:.2f} | {r['export csv']:.2f} | "
            f"{r['export parquet']:.2f} | {r['report']:.2f} | "
            f"{r['ratio_csv']:.2f} | {r['job_peak']:,.0f} | "
            f"{r['core_peak']:,.0f} |"
        )
    lines += [
        "",
        "Where `analyze` spends its time (seconds, median; `read` includes the file's "
        "SHA-256, computed in a thread meanwhile; `other`: joining the customer table, "
        "caveats, recording the parameters):",
        "",
        "| order lines | " + " | ".join(s for s, _ in STEPS[:-1]) + " | other |",
        "|---:|" + "---:|" * len(STEPS),
    ]
    for r in rows:
        steps = [r["steps"][s] for s, _ in STEPS[:-1]]
        other = r["analyze"] - sum(steps)
        lines.append(f"| {r['lines']:,} | " + " | ".join(f"{v:.2f}" for v in steps)
                     + f" | {other:.2f} |")
    lines += [
        "",
        "With `models=True` (BG/NBD and Gamma-Gamma fitted, p_alive, expected purchases and "
        "CLV for every customer; one run):",
        "",
        "| order lines | analyze s | of which models s | peak MB |",
        "|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['lines']:,} | {r['models_analyze']:.2f} | {r['models_fit']:.2f} | "
                     f"{r['models_peak']:,.0f} |")
    lines += [
        "",
        "The runs: " + "; ".join(
            f"{r['lines']:,} lines: analyze " + ", ".join(f"{v:.2f}" for v in r["all_analyze"])
            + " s, core " + ", ".join(f"{v:.2f}" for v in r["all_core"]) + " s"
            for r in rows
        ) + ".",
        "",
    ]
    replace_section(HERE / "RESULTS.md", lines[0], "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["1M", "10M"], choices=["1M", "10M"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = [measure(label, args.repeats) for label in args.sizes]
    write_results(rows, args.repeats)


if __name__ == "__main__":
    main()
