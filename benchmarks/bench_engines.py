"""Benchmark: 100M order lines in Parquet, aggregated per customer inside DuckDB.

    python benchmarks/bench_engines.py                 # generate (once) and measure
    python benchmarks/bench_engines.py --lines 2M      # a quick trial

The lines are written in chunks by ``rfm_loyalty.datasets.make_orders`` (a
different seed and customer-id prefix per chunk, so customers never collide)
to ``benchmarks/.data/engines-<lines>/`` (gitignored) and reused by later
runs. The measurement runs in a fresh child process: ``from_duckdb`` on the
Parquet glob with a memory limit and a spill directory, ``aggregate`` with the
lifecycle window, then ``rfm_table`` from the aggregates. Wall time and the
child's peak RSS (its own ``VmHWM``: interpreter, DuckDB and the
per-customer table in pandas; ``ru_maxrss`` of children would carry over the
peak of this parent, which may have held a data chunk) are written to the section
"## Engines: 100M lines through DuckDB (issue 8)" of ``benchmarks/RESULTS.md``;
other sections are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Engines: 100M lines through DuckDB (issue 8)"
CUSTOMERS_PER_CHUNK = 200_000


def parse_count(text: str) -> int:
    """Read ``100M``, ``2.5M``, ``500k`` or ``1000``."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text)
    if not match:
        raise argparse.ArgumentTypeError(f"Expected a count like 100M or 500k. Got {text!r}.")
    scale = {"": 1, "k": 10**3, "m": 10**6}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def generate(directory: Path, lines: int) -> dict[str, int]:
    """Write ``lines`` order lines as Parquet chunks (skipped if already complete)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rfm_loyalty.datasets import make_orders

    manifest = directory / "manifest.json"
    if manifest.exists():
        info: dict[str, int] = json.loads(manifest.read_text())
        if info.get("lines") == lines:
            return info
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    written = chunks = customers = 0
    while written < lines:
        frame = make_orders(
            CUSTOMERS_PER_CHUNK,
            start="2020-01-01",
            end="2024-12-31",
            random_state=1000 + chunks,
            customer_id_prefix=f"K{chunks:04d}-",
            with_cost=False,
        )[["customer_id", "order_id", "order_date", "amount"]]
        frame = frame.iloc[: lines - written]
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, directory / f"part-{chunks:04d}.parquet", row_group_size=1 << 20)
        written += len(frame)
        customers += int(frame["customer_id"].nunique())
        chunks += 1
        print(f"  chunk {chunks}: {written:,} lines", flush=True)
    info = {"lines": written, "chunks": chunks, "customers": customers}
    manifest.write_text(json.dumps(info))
    return info


CHILD = """
import json, sys, time, warnings
t0 = time.perf_counter()
from rfm_loyalty.engines import from_duckdb
from rfm_loyalty.lifecycle import LifecycleRules
from rfm_loyalty.orders import OrderColumns
from rfm_loyalty.summary import rfm_from_aggregates
glob, memory_limit, spill, threads = sys.argv[1:5]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    source = from_duckdb(glob, OrderColumns(order_id="order_id"), memory_limit=memory_limit,
                         temp_directory=spill, threads=int(threads))
    result = source.aggregate(window_days=LifecycleRules().window_days)
    table = rfm_from_aggregates(result.aggregates)
seconds = time.perf_counter() - t0
q = result.quality
with open("/proc/self/status", encoding="ascii") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024,
                  "customers": len(table), "rows_in": q.rows_in,
                  "rows_used": q.rows_used, "orders": q.orders, "purchases": q.purchases,
                  "dropped": dict(q.dropped), "as_of": str(q.as_of.date())}))
"""


def measure(directory: Path, memory_limit: str, threads: int) -> dict[str, object]:
    """Aggregate in a fresh process; return its figures and peak RSS."""
    spill = directory / "spill"
    shutil.rmtree(spill, ignore_errors=True)
    spill.mkdir()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(directory / "part-*.parquet"), memory_limit,
         str(spill), str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the DuckDB run failed:\n{done.stderr}")
    figures: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall_seconds"] = wall
    shutil.rmtree(spill, ignore_errors=True)
    return figures


def write_section(text: str) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md, keeping the others."""
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text, current)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=parse_count, default=parse_count("100M"))
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()

    import duckdb
    import numpy
    import pandas

    directory = HERE / ".data" / f"engines-{args.lines}"
    started = time.perf_counter()
    info = generate(directory, args.lines)
    print(f"data: {info} ({time.perf_counter() - started:.0f} s)", flush=True)
    size_gb = sum(p.stat().st_size for p in directory.glob("*.parquet")) / 1e9
    figures = measure(directory, args.memory_limit, args.threads)
    print(json.dumps(figures, indent=2))
    if args.no_write:
        return
    header = (
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/bench_engines.py` on "
        f"{platform.machine()}, Python {platform.python_version()}, duckdb {duckdb.__version__}, "
        f"pandas {pandas.__version__}, numpy {numpy.__version__}; {os.cpu_count()} cores, "
        f"DuckDB `memory_limit='{args.memory_limit}'`, `threads={args.threads}`, spilling to a "
        "temp directory. One run, in a fresh process."
    )
    row = " | ".join(
        [
            f"{figures['rows_in']:,}",
            f"{info['chunks']} ({size_gb:.2f} GB)",
            f"{figures['customers']:,}",
            f"{figures['orders']:,}",
            f"{figures['seconds']:.1f}",
            f"{figures['wall_seconds']:.1f}",
            f"{figures['peak_rss_mb']:,.0f}",
        ]
    )
    notes = (
        f"Synthetic lines from `make_orders` (2020-2024, {CUSTOMERS_PER_CHUNK:,} customers per "
        "chunk, seed and customer-id prefix per chunk), columns customer_id, order_id (text), "
        "order_date (timestamp), amount. DuckDB validates every line, counts drops (same reasons "
        "and precedence as `prepare_orders`), sums lines into orders and orders into customers; "
        "only the per-customer table (with the lifecycle window counts) comes back to pandas, "
        "where `rfm_from_aggregates` derives the RFM table. Peak RSS is the whole child "
        "process: the interpreter, DuckDB's buffers (bounded by the memory limit) and the "
        "per-customer table in pandas. This size is beyond what the in-memory path is meant "
        "for (DESIGN section 10: pandas up to tens of millions of lines); for the in-memory "
        "pandas figures see the section \"Core: read_orders + rfm_table vs DuckDB (issue 2)\" "
        "(`benchmarks/bench_core.py --sizes 1M 10M`)."
    )
    section = "\n".join(
        [
            SECTION,
            "",
            header,
            "",
            "| order lines | Parquet files | customers | orders | DuckDB aggregate + rfm table, s "
            "| process wall, s | peak RSS, MiB |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            f"| {row} |",
            "",
            notes,
            "",
        ]
    )
    write_section(section)


if __name__ == "__main__":
    main()
