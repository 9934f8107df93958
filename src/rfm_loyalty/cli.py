"""The ``rfm-loyalty`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rfm_loyalty.datasets import load_sample_orders
from rfm_loyalty.orders import OrderColumns, prepare_orders
from rfm_loyalty.summary import rfm_table


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(prog="rfm-loyalty", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="analyse the bundled sample orders")
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        orders = prepare_orders(load_sample_orders(), OrderColumns(order_id="order_id"))
        rfm_table(orders).to_csv(out / "customers.csv")
        (out / "quality.txt").write_text(str(orders.quality) + "\n")
        print(f"wrote {out / 'customers.csv'} and {out / 'quality.txt'}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
