"""Benchmark: fitting BG/NBD on one million customers (issue 5, target < 5 s).

Simulates 1,000,000 customers with ``simulate_btyd`` at the published CDNOW
parameters with alpha converted to days (r=0.243, alpha=4.414*7, a=0.793,
b=2.426), tenure T uniform on 1..730 days and times rounded down to whole days,
as ``btyd_summary`` reports them. Times ``BetaGeoModel(time_unit="D").fit``
(validation, merging identical rows, multi-start optimisation, standard
errors): the median of 3 runs. For context it also times, once each:

* the same fit on continuous (unrounded) times, where no two customers share a
  row and merging cannot help (the worst case);
* ``p_alive`` + ``expected_purchases(30)`` for all customers;
* ``GammaGammaModel.fit`` on the repeat customers of the rounded data.

Run: ``.venv/bin/python benchmarks/bench_btyd.py``. Writes its own section
"## BG/NBD fit (issue 5)" of benchmarks/RESULTS.md, leaving the others as they are.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from rfm_loyalty.btyd import BetaGeoModel, GammaGammaModel
from rfm_loyalty.datasets.simulate import simulate_btyd

HERE = Path(__file__).resolve().parent
HEADING = "## BG/NBD fit (issue 5)"
N_CUSTOMERS = 1_000_000
REPEATS = 3
SEED = 20261125
TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    data = simulate_btyd(N_CUSTOMERS, **TRUE, T_min=1.0, T_max=730.0, round_times=True,
                         random_state=SEED)
    runs = []
    model = BetaGeoModel(time_unit="D")
    for _ in range(REPEATS):
        model, seconds = timed(lambda: BetaGeoModel(time_unit="D").fit(data))
        runs.append(seconds)
    fit_s = statistics.median(runs)
    _, predict_s = timed(lambda: (model.p_alive(), model.expected_purchases(30.0)))
    continuous = simulate_btyd(N_CUSTOMERS, **TRUE, T_min=1.0, T_max=730.0, random_state=SEED)
    model_c, continuous_s = timed(lambda: BetaGeoModel(time_unit="D").fit(continuous))
    gg, gg_s = timed(lambda: GammaGammaModel().fit(data))
    print(f"{N_CUSTOMERS:,} customers, {model.n_rows_:,} distinct rows: fit {fit_s:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in runs)}); continuous times "
          f"{continuous_s:.2f} s; predict {predict_s:.2f} s; Gamma-Gamma {gg_s:.2f} s")
    print(model, model_c, gg, sep="\n")
    write_results(model, model_c, gg, fit_s, runs, continuous_s, predict_s, gg_s)


def write_results(model: BetaGeoModel, model_c: BetaGeoModel, gg: GammaGammaModel,
                  fit_s: float, runs: list[float], continuous_s: float, predict_s: float,
                  gg_s: float) -> None:
    versions = (
        f"{platform.machine()}, Python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )
    est = model.params_
    body = "\n".join(
        [
            HEADING,
            "",
            f"Measured {time.strftime('%Y-%m-%d')} with `benchmarks/bench_btyd.py` on "
            f"{versions}, on a 2-core machine shared with other jobs. Simulated with "
            f"`simulate_btyd` (seed {SEED}): {N_CUSTOMERS:,} customers, r=0.243, "
            "alpha=30.898 (4.414 weeks x 7), a=0.793, b=2.426, T uniform on 1-730 days, "
            f"times rounded down to whole days: {model.n_rows_:,} distinct "
            "(frequency, recency, T) rows after merging identical customers.",
            "",
            "| step | seconds |",
            "|---|---:|",
            f"| **BetaGeoModel.fit, 1M customers, whole days** (median of {REPEATS}; "
            f"target < 5 s) | **{fit_s:.2f}** |",
            f"| the {REPEATS} runs | {', '.join(f'{s:.2f}' for s in runs)} |",
            f"| BetaGeoModel.fit, 1M customers, continuous times ({model_c.n_rows_:,} "
            f"distinct rows; 1 run, worst case) | {continuous_s:.2f} |",
            f"| p_alive + expected_purchases(30), 1M customers | {predict_s:.2f} |",
            f"| GammaGammaModel.fit ({gg.n_customers_:,.0f} repeat customers) | {gg_s:.2f} |",
            "",
            "Estimates (whole days) vs the simulated truth: "
            + ", ".join(f"{k} {est[k]:.4g} (true {v:.4g}, se {model.standard_errors_[k]:.2g})"
                        for k, v in TRUE.items())
            + ".",
            "",
        ]
    )
    replace_section(HERE / "RESULTS.md", HEADING, body)


def replace_section(path: Path, heading: str, body: str) -> None:
    """Put ``body`` in place of the section titled ``heading`` (append it if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    chunks = text.split("\n## ")
    head, sections = chunks[0], ["## " + c for c in chunks[1:]]
    titles = [s.splitlines()[0].strip() for s in sections]
    new = body.rstrip("\n") + "\n"
    if heading in titles:
        sections[titles.index(heading)] = new
    else:
        sections.append(new)
    path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(s.rstrip("\n") + "\n"
                                                           for s in sections), encoding="utf-8")


if __name__ == "__main__":
    main()
