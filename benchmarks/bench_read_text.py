"""Benchmark: reading the real Online Retail file as text, in the forms shops write it (issue 12).

Times ``read_file`` (what ``read_orders`` does before parsing: encoding and
separator detected from the head, then Arrow's CSV reader on the five named
columns, lines of the wrong width counted) against ``pd.read_csv`` of the
same five columns with the encoding, separator and decimal mark given (the
pandas C parser, which the reader used before and which checks nothing), on:

* the original ``online_retail.csv.gz`` (UTF-8, comma),
* the same text decompressed,
* a GB18030 copy with Chinese headers (what Chinese Excel saves),
* a semicolon copy with decimal commas and a UTF-8 byte-order mark (European Excel).

Median of ``--repeats`` alternating runs in one process, after one warm-up
each. The real file is not in the repository (see shared/data/README.md).

Run: ``.venv/bin/python benchmarks/bench_read_text.py``. Writes its own section
"## Reading text files (issue 12)" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow

from rfm_loyalty._ingest.files import read_file
from rfm_loyalty.orders import OrderColumns, ReadOptions

HERE = Path(__file__).resolve().parent
REAL_DATA = HERE.parent.parent / "shared" / "data" / "online_retail.csv.gz"
HEADING = "## Reading text files (issue 12)"
ROLES = dict(customer="CustomerID", date="InvoiceDate", quantity="Quantity",
             unit_price="UnitPrice", order_id="InvoiceNo")
CHINESE = {"InvoiceNo": "发票编号", "StockCode": "商品编码", "Description": "商品描述",
           "Quantity": "数量", "InvoiceDate": "下单时间", "UnitPrice": "单价",
           "CustomerID": "客户ID", "Country": "国家"}


def forms(folder: Path) -> list[tuple[str, Path, dict[str, str], dict[str, object]]]:
    """The files to read: label, path, role -> column, reading options."""
    lines = pd.read_csv(REAL_DATA, dtype=str, keep_default_na=False)
    plain = folder / "online_retail.csv"
    lines.to_csv(plain, index=False)
    chinese = folder / "online_retail_gb18030.csv"
    lines.rename(columns=CHINESE).to_csv(chinese, index=False, encoding="gb18030")
    european = folder / "online_retail_eu.csv"
    lines.assign(UnitPrice=lines["UnitPrice"].str.replace(".", ",", regex=False)).to_csv(
        european, index=False, sep=";", encoding="utf-8-sig")
    zh_roles = {role: CHINESE[name] for role, name in ROLES.items()}
    return [
        ("UTF-8, comma, .csv.gz (the original)", REAL_DATA, ROLES, {}),
        ("UTF-8, comma, .csv", plain, ROLES, {}),
        ("GB18030, Chinese headers", chinese, zh_roles, {"encoding": "gb18030"}),
        ("UTF-8 BOM, semicolon, decimal comma", european, ROLES,
         {"encoding": "utf-8-sig", "sep": ";", "decimal": ","}),
    ]


def time_ours(path: Path, roles: dict[str, str], given: dict[str, object]) -> float:
    decimal = str(given.get("decimal", "."))
    options = ReadOptions(columns=OrderColumns(**roles), decimal=decimal)  # detection on
    start = time.perf_counter()
    read_file(path, options)
    return time.perf_counter() - start


def time_pandas(path: Path, roles: dict[str, str], given: dict[str, object]) -> float:
    ids = {roles["customer"]: str, roles["order_id"]: str}
    start = time.perf_counter()
    pd.read_csv(path, usecols=list(roles.values()), dtype=ids,
                encoding=str(given.get("encoding", "utf-8")), sep=str(given.get("sep", ",")),
                decimal=str(given.get("decimal", ".")))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not REAL_DATA.exists():
        print(f"real data not found at {REAL_DATA}", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, path, roles, given in forms(Path(tmp)):
            time_ours(path, roles, given)
            time_pandas(path, roles, given)
            ours, theirs = [], []
            for _ in range(args.repeats):
                ours.append(time_ours(path, roles, given))
                theirs.append(time_pandas(path, roles, given))
            a, b = statistics.median(ours), statistics.median(theirs)
            rows.append(f"| {label} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
            print(rows[-1], flush=True)
    versions = (f"{platform.machine()}, Python {platform.python_version()}, pandas "
                f"{pd.__version__}, pyarrow {pyarrow.__version__}")
    body = "\n".join([
        HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/bench_read_text.py` on "
        f"{versions}; 2 cores shared with other jobs. Median of {args.repeats} alternating "
        "runs in one process. The real Online Retail file (541,909 lines), five columns "
        "read. `read_file`: encoding and separator detected from the first 64 KiB, Arrow's "
        "CSV reader, lines of the wrong width counted; `pd.read_csv`: the same columns with "
        "encoding, separator and decimal mark given (C parser, no checks). With "
        "decimal=',' read_file hands the amounts on as text, read afterwards by the amount "
        "text rule (read_orders' parse step, not timed here).",
        "",
        "| file | read_file (s) | pd.read_csv (s) | ratio |",
        "|---|---:|---:|---:|",
        *rows,
        "",
    ])
    sys.path.insert(0, str(HERE))
    from bench_scoring import replace_section

    replace_section(HERE / "RESULTS.md", HEADING, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
