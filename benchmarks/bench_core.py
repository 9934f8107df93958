"""Benchmark: read_orders + rfm_table against DuckDB SQL on the same Parquet file.

Run:  make bench-core   (or: .venv/bin/python benchmarks/bench_core.py --sizes 1M 10M)

For each size, synthetic order lines (make_orders) are written once to
benchmarks/.data/ as Parquet. Each measurement runs in a fresh subprocess so
that its peak memory (ru_maxrss) is its own; rfm_loyalty and DuckDB alternate,
three repeats each, and the median is reported with the ratio
rfm_loyalty / DuckDB (below 1.0: rfm_loyalty is faster). The two customer
tables are compared once per size and must agree exactly (dates, counts) and to
1e-9 relative (amounts). Results go to the "Core" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SIZES = {"1M": 100_000, "10M": 1_000_000}  # customers; ~10 order lines each
#: rfm_loyalty in pandas, rfm_loyalty with the DuckDB engine, hand-written DuckDB SQL
ENGINES = ("rfm_loyalty", "from_duckdb", "duckdb")

DUCKDB_SQL = """
WITH lines AS (
    SELECT customer_id, order_id, order_date, amount
    FROM read_parquet('{path}')
    WHERE customer_id IS NOT NULL AND order_id IS NOT NULL
      AND order_date IS NOT NULL AND isfinite(amount)
),
orders AS (
    SELECT customer_id, order_id, CAST(min(order_date) AS DATE) AS day, sum(amount) AS amount
    FROM lines GROUP BY customer_id, order_id
)
SELECT customer_id,
       min(day) FILTER (WHERE amount > 0) AS first_purchase,
       max(day) FILTER (WHERE amount > 0) AS last_purchase,
       DATE '{as_of}' - max(day) FILTER (WHERE amount > 0) AS recency_days,
       DATE '{as_of}' - min(day) FILTER (WHERE amount > 0) AS tenure_days,
       max(day) FILTER (WHERE amount > 0) - min(day) FILTER (WHERE amount > 0)
           AS active_span_days,
       count(*) FILTER (WHERE amount > 0) AS frequency,
       count(DISTINCT day) FILTER (WHERE amount > 0) AS purchase_days,
       sum(amount) AS monetary_total,
       sum(amount) / count(*) FILTER (WHERE amount > 0) AS monetary_mean
FROM orders
GROUP BY customer_id
HAVING count(*) FILTER (WHERE amount > 0) > 0
"""


def peak_mb() -> float:
    """Peak resident memory of this process, MiB.

    ``VmHWM`` of /proc/self/status is the high-water mark of this process's own
    address space. ``getrusage(...).ru_maxrss`` is not: Linux carries the parent's
    peak over ``fork`` + ``exec``, so a child started by a parent that once held
    5 GB (while writing the benchmark data) reported 5 GB whatever it used.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # not Linux: ru_maxrss, with the caveat above
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_data(label: str, ids: str = "text") -> Path:
    """Write the synthetic lines once; the "int" variant has integer ids."""
    path = DATA / f"orders_{label}.parquet"
    if not path.exists():
        from rfm_loyalty.datasets import make_orders

        DATA.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        lines = make_orders(SIZES[label], start="2020-01-01", end="2024-12-31", random_state=7)
        lines.to_parquet(path, index=False)
        print(f"generated {path.name}: {len(lines):,} lines in {time.perf_counter() - t0:.1f}s")
    if ids == "text":
        return path
    int_path = DATA / f"orders_{label}_int.parquet"
    if not int_path.exists():
        import duckdb

        # the same lines, ids as integers ("C0000042" -> 42; returns "R..." -> negative)
        duckdb.sql(
            f"""COPY (SELECT CAST(substr(customer_id, 2) AS BIGINT) AS customer_id,
                       CAST(substr(order_id, 2) AS BIGINT)
                           * (CASE WHEN order_id LIKE 'R%' THEN -1 ELSE 1 END) AS order_id,
                       order_date, quantity, unit_price, amount, cost
                FROM read_parquet('{path}')) TO '{int_path}' (FORMAT parquet)"""
        )
    return int_path


def child(engine: str, path: str, out: str | None) -> None:
    """Run one measurement in this (fresh) process and print JSON."""
    import pandas as pd

    from rfm_loyalty.orders import OrderColumns, read_orders
    from rfm_loyalty.summary import rfm_table

    if engine == "stages":
        print(json.dumps(stages(path)))
        return
    t0 = time.perf_counter()
    if engine == "rfm_loyalty":
        table = rfm_table(read_orders(path, OrderColumns(order_id="order_id")))
        as_of = pd.Timestamp(table.attrs["as_of"])
    elif engine == "from_duckdb":
        # the same public call with the aggregation inside DuckDB (rfm_loyalty.engines)
        from rfm_loyalty.engines import from_duckdb

        table = rfm_table(from_duckdb(path, OrderColumns(order_id="order_id"), threads=2))
        as_of = pd.Timestamp(table.attrs["as_of"])
    else:
        import duckdb

        con = duckdb.connect()
        con.execute("SET threads TO 2")
        as_of = con.execute(f"SELECT CAST(max(order_date) AS DATE) FROM read_parquet('{path}')")
        as_of = pd.Timestamp(as_of.fetchone()[0])
        table = con.execute(DUCKDB_SQL.format(path=path, as_of=as_of.date())).df()
        table = table.set_index("customer_id")
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    if out:
        table.to_parquet(out)
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "customers": len(table),
                      "as_of": str(as_of.date())}))


def stages(path: str) -> dict[str, float]:
    """Time the steps of read_orders + rfm_table one by one (private functions, same work)."""
    from pathlib import Path

    from rfm_loyalty._ingest.files import read_file
    from rfm_loyalty._ingest.lines import Ingest
    from rfm_loyalty.orders import OrderColumns, ReadOptions, _orders_from
    from rfm_loyalty.summary import rfm_table

    options = ReadOptions(columns=OrderColumns(order_id="order_id"))
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    data, options, _ = read_file(Path(path), options)
    seconds["read"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingest = Ingest(data, options)  # ids to codes, dates and amounts parsed
    del data
    seconds["ids"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    orders = _orders_from(ingest, options)
    seconds["orders"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rfm_table(orders)
    seconds["table"] = time.perf_counter() - t0
    return seconds


def run_child(engine: str, path: Path, out: Path | None = None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", engine, str(path)]
    if out is not None:
        cmd += ["--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ours: Path, theirs: Path) -> str:
    import numpy as np
    import pandas as pd

    a, b = pd.read_parquet(ours), pd.read_parquet(theirs)
    # rfm_loyalty's ids are text by contract; DuckDB keeps integer ids as integers
    a.index, b.index = a.index.astype(str), b.index.astype(str)
    a, b = a.sort_index(), b.sort_index()
    assert list(a.index) == list(b.index), "customer sets differ"
    for col in ("first_purchase", "last_purchase"):
        assert (pd.to_datetime(a[col]).to_numpy() == pd.to_datetime(b[col]).to_numpy()).all(), col
    for col in ("recency_days", "tenure_days", "active_span_days", "frequency", "purchase_days"):
        assert (a[col].to_numpy() == b[col].to_numpy().astype("int64")).all(), col
    for col in ("monetary_total", "monetary_mean"):
        assert np.allclose(a[col], b[col], rtol=1e-9, atol=1e-6), col
    return f"identical ({len(a):,} customers)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["1M", "10M"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ids", nargs="+", default=["text", "int"], choices=["text", "int"])
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"))
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.out)
        return

    rows = []
    for label in args.sizes:
        for ids in args.ids:
            rows.append(measure(label, ids, args.repeats))
    write_results(rows, args.repeats)


def measure(label: str, ids: str, repeats: int) -> dict:
    import pyarrow.parquet as pq

    path = ensure_data(label, ids)
    n_lines = pq.ParquetFile(path).metadata.num_rows
    tables = {}
    for engine in ENGINES:
        tables[engine] = DATA / f"table_{engine}_{label}_{ids}.parquet"
        run_child(engine, path, tables[engine])
    agreement = compare(tables["rfm_loyalty"], tables["duckdb"])
    compare(tables["from_duckdb"], tables["duckdb"])
    times: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    peaks: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    customers = 0
    for _ in range(repeats):
        for engine in ENGINES:
            result = run_child(engine, path)
            times[engine].append(result["seconds"])
            peaks[engine].append(result["peak_mb"])
            customers = int(result["customers"])
    steps = [run_child("stages", path) for _ in range(repeats)]
    med = {e: statistics.median(v) for e, v in times.items()}
    row = {
        "size": label,
        "ids": ids,
        "lines": n_lines,
        "customers": customers,
        "rfm_s": med["rfm_loyalty"],
        "duckdb_s": med["duckdb"],
        "ratio": med["rfm_loyalty"] / med["duckdb"],
        "engine_s": med["from_duckdb"],
        "engine_peak_mb": max(peaks["from_duckdb"]),
        "rfm_peak_mb": max(peaks["rfm_loyalty"]),
        "duckdb_peak_mb": max(peaks["duckdb"]),
        "agreement": agreement,
        "stages": {k: statistics.median(s[k] for s in steps) for k in steps[0]},
        "all": times,
    }
    print(json.dumps(row), flush=True)
    return row


def write_results(rows: list[dict], repeats: int) -> None:
    import platform

    import duckdb
    import numpy
    import pandas

    lines = [
        "## Core: read_orders + rfm_table vs DuckDB (issue 2)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `make bench-core` on {platform.machine()}, "
        f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy "
        f"{numpy.__version__}, duckdb {duckdb.__version__} (2 threads). Median of {repeats} "
        "alternating runs, each in a fresh process; peak = max RSS of that process "
        "(interpreter and imports included). Ratio = rfm_loyalty / DuckDB (<= 1.0: no slower).",
        "",
        "| order lines | customers | ids | rfm_loyalty s | DuckDB s | ratio "
        "| rfm_loyalty peak MB | DuckDB peak MB | tables |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lines']:,} | {r['customers']:,} | {r['ids']} | {r['rfm_s']:.2f} | "
            f"{r['duckdb_s']:.2f} | "
            f"{r['ratio']:.2f} | {r['rfm_peak_mb']:,.0f} | {r['duckdb_peak_mb']:,.0f} | "
            f"{r['agreement']} |"
        )
    lines += [
        "",
        "The same call with the aggregation inside DuckDB, `rfm_table(from_duckdb(path, "
        "columns, threads=2))` (rfm_loyalty.engines; same table, checked):",
        "",
        "| order lines | ids | from_duckdb s | ratio to the DuckDB SQL | peak MB |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['lines']:,} | {r['ids']} | {r['engine_s']:.2f} | "
            f"{r['engine_s'] / r['duckdb_s']:.2f} | {r['engine_peak_mb']:,.0f} |"
        )
    lines += [
        "",
        "Where rfm_loyalty's time goes (median of the same number of separate runs, seconds; "
        "`read`: `pd.read_parquet` of the four columns; `ids`: customer and order ids to "
        "codes, dates and amounts parsed; `orders`: checks, accounting, lines summed into "
        "orders, customers sorted by id; `table`: `rfm_table`):",
        "",
        "| order lines | ids | read | ids | orders | table | read + ids, as a share of DuckDB's "
        "whole job |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        st = r["stages"]
        lines.append(
            f"| {r['lines']:,} | {r['ids']} | {st['read']:.2f} | {st['ids']:.2f} | "
            f"{st['orders']:.2f} | {st['table']:.2f} | "
            f"{(st['read'] + st['ids']) / r['duckdb_s']:.0%} |"
        )
    lines += [
        "",
        "Both sides read the same Parquet file (customer and order ids, order timestamps, "
        "amounts) and return a pandas DataFrame with one row per customer; rfm_loyalty also "
        "validates every row and builds the quality report. `ids`: text ids (`C0000042`, "
        "`O00000042`) or the same lines with integer ids.",
        "",
    ]
    replace_section(HERE / "RESULTS.md", lines[0], "\n".join(lines))


def replace_section(path: Path, heading: str, body: str) -> None:
    """Replace one '## ' section of RESULTS.md in its place, keeping the others.

    A section whose heading starts with the same title (the text before " (")
    is replaced; a new section goes at the end.
    """
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    parts = text.split("\n## ")
    head, sections = parts[0], ["## " + p for p in parts[1:]]
    title = heading.split(" (")[0]
    matching = [i for i, s in enumerate(sections) if s.startswith(title)]
    sections = [s for s in sections if not s.startswith(title)]
    sections.insert(matching[0] if matching else len(sections), body.rstrip() + "\n")
    path.write_text(head.rstrip() + "\n\n" + "\n".join(sections))


if __name__ == "__main__":
    main()
