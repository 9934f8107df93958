"""Write the bundled sample files under data/samples/ from the package's own generator.

Run with `make samples`. Never edit the files by hand: tests/test_datasets.py
checks that they equal the generator's output.
"""

from __future__ import annotations

from pathlib import Path

from rfm_loyalty.datasets import load_sample_orders

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def main() -> None:
    SAMPLES.mkdir(parents=True, exist_ok=True)
    path = SAMPLES / "sample_orders.csv"
    load_sample_orders().to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
