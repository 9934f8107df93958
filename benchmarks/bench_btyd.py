"""Benchmark: the customer-base models on one million customers.

Simulates 1,000,000 customers with ``simulate_btyd`` at the published CDNOW
BG/NBD parameters with alpha in days (r=0.243, alpha=4.414*7, a=0.793, b=2.426),
tenure T uniform on 1..730 days, times in whole days as ``btyd_summary`` reports
them (``round_times=True``). On that same table it times, in one process:

* the fits of BetaGeoModel (the baseline), ModifiedBetaGeoModel and
  ParetoNBDModel (validation, merging identical rows, multi-start optimisation,
  standard errors): the median of ``REPEATS`` runs each, the runs interleaved so
  that a change of machine load hits every model alike; the ratio of each to
  the BG/NBD fit of the same run (target for Pareto/NBD: within 5x and < 30 s);
* the predictions of every model for all customers (target < 2 s each):
  ``p_alive`` + ``expected_purchases(30)`` for the three purchase models (and
  that every Pareto/NBD prediction is finite), ``conditional_expected_spend``
  of Gamma-Gamma, and, on 1,000,000 simulated BG/BB customers (6 yearly
  opportunities) and 1,000,000 renewal counts, BG/BB's ``p_alive`` +
  ``expected_purchases(6)`` and sBG's ``residual_value``;

and, once each for context, Pareto/NBD fitted on 1,000,000 simulated Pareto/NBD
customers, the BG/BB and sBG fits, and ``customer_lifetime_value`` (12 monthly
steps) with Pareto/NBD.

Run: ``make bench-btyd`` (``.venv/bin/python benchmarks/bench_btyd.py``). Writes
its own section "## Customer-base models (issue 13)" of benchmarks/RESULTS.md
(replacing the older "## BG/NBD fit (issue 5)"), leaving the others as they are.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy

from rfm_loyalty.btyd import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
    customer_lifetime_value,
)
from rfm_loyalty.datasets.simulate import (
    simulate_bgbb,
    simulate_btyd,
    simulate_paretonbd,
    simulate_sbg,
)

HERE = Path(__file__).resolve().parent
HEADING = "## Customer-base models (issue 13)"
OLD_HEADINGS = ("## BG/NBD fit (issue 5)",)
N_CUSTOMERS = 1_000_000
REPEATS = 3
SEED = 20261125
TRUE = {"r": 0.243, "alpha": 4.414 * 7, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.553, "alpha": 10.578 * 7, "s": 0.606, "beta": 11.669 * 7}
FITTERS: dict[str, Callable[[], Any]] = {
    "BetaGeoModel": lambda: BetaGeoModel(time_unit="D"),
    "ModifiedBetaGeoModel": lambda: ModifiedBetaGeoModel(time_unit="D"),
    "ParetoNBDModel": lambda: ParetoNBDModel(time_unit="D"),
}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    data = simulate_btyd(N_CUSTOMERS, **TRUE, T_min=1.0, T_max=730.0, round_times=True,
                         random_state=SEED)
    runs: dict[str, list[float]] = {name: [] for name in FITTERS}
    ratios: dict[str, list[float]] = {name: [] for name in FITTERS}
    models: dict[str, Any] = {}
    for _ in range(REPEATS):
        for name, make in FITTERS.items():
            models[name], seconds = timed(lambda make=make: make().fit(data))
            runs[name].append(seconds)
        for name in FITTERS:
            ratios[name].append(runs[name][-1] / runs["BetaGeoModel"][-1])
    fit_s = {name: statistics.median(r) for name, r in runs.items()}
    ratio = {name: statistics.median(r) for name, r in ratios.items()}

    predict: dict[str, float] = {}
    finite = True
    for name, model in models.items():
        (alive, future), predict[name] = timed(
            lambda model=model: (model.p_alive(), model.expected_purchases(30.0)))
        if name == "ParetoNBDModel":
            finite = bool(np.isfinite(alive).all() and np.isfinite(future).all())
    gg, gg_fit_s = timed(lambda: GammaGammaModel().fit(data))
    _, predict["GammaGammaModel"] = timed(lambda: gg.conditional_expected_spend())
    discrete = simulate_bgbb(N_CUSTOMERS, random_state=SEED)
    bgbb, bgbb_fit_s = timed(lambda: BetaGeoBetaBinomModel().fit(discrete))
    _, predict["BetaGeoBetaBinomModel"] = timed(
        lambda: (bgbb.p_alive(), bgbb.expected_purchases(6)))
    cohort = simulate_sbg(N_CUSTOMERS, random_state=SEED)
    sbg, sbg_fit_s = timed(lambda: ShiftedBetaGeometricModel().fit(cohort))
    renewals = np.random.default_rng(SEED).integers(0, 8, N_CUSTOMERS)
    _, predict["ShiftedBetaGeometricModel"] = timed(
        lambda: sbg.residual_value(renewals, payment=100.0, discount_rate=0.1))
    pareto_data = simulate_paretonbd(N_CUSTOMERS, **PARETO, T_min=1.0, T_max=730.0,
                                     round_times=True, random_state=SEED)
    pareto_own, pareto_own_s = timed(lambda: ParetoNBDModel(time_unit="D").fit(pareto_data))
    _, clv_s = timed(lambda: customer_lifetime_value(models["ParetoNBDModel"], gg, data))

    for name in FITTERS:
        print(f"{name}: fit {fit_s[name]:.2f} s (runs {', '.join(f'{s:.2f}' for s in runs[name])};"
              f" x{ratio[name]:.2f} of BG/NBD), predict {predict[name]:.2f} s")
    print(f"predictions: {predict}; Pareto/NBD finite: {finite}")
    print(*models.values(), pareto_own, bgbb, sbg, sep="\n")
    write_results(data, models, runs, fit_s, ratio, predict, finite, gg, gg_fit_s, bgbb,
                  bgbb_fit_s, sbg, sbg_fit_s, pareto_own, pareto_own_s, clv_s)


def write_results(data: pd.DataFrame, models: dict[str, Any], runs: dict[str, list[float]],
                  fit_s: dict[str, float], ratio: dict[str, float], predict: dict[str, float],
                  finite: bool, gg: Any, gg_fit_s: float, bgbb: Any, bgbb_fit_s: float,
                  sbg: Any, sbg_fit_s: float, pareto_own: Any, pareto_own_s: float,
                  clv_s: float) -> None:
    versions = (
        f"{platform.machine()}, Python {sys.version.split()[0]}, pandas {pd.__version__}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )
    bg = models["BetaGeoModel"]
    lines = [
        HEADING,
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `make bench-btyd` "
        f"(`benchmarks/bench_btyd.py`) on {versions}, on a 2-core machine shared with other "
        f"jobs. Simulated with `simulate_btyd` (seed {SEED}): {N_CUSTOMERS:,} customers, "
        "r=0.243, alpha=30.898 (4.414 weeks x 7), a=0.793, b=2.426, T uniform on 1-730 days, "
        f"whole days (`round_times=True`): {bg.n_rows_:,} distinct (frequency, recency, T) "
        "rows after merging identical customers. Fits: median of "
        f"{REPEATS} interleaved runs; ratio: the median over runs of the fit's time over the "
        "BG/NBD fit of the same run (the baseline, measured in the same run).",
        "",
        "| model, 1M customers | fit, s | the runs | ratio to BG/NBD | p_alive + "
        "expected_purchases(30), s |",
        "|---|---:|---|---:|---:|",
    ]
    for name in FITTERS:
        target = " (target <= 5, < 30 s)" if name == "ParetoNBDModel" else ""
        lines.append(f"| {name} | {fit_s[name]:.2f} | {', '.join(f'{s:.2f}' for s in runs[name])}"
                     f" | {ratio[name]:.2f}{target} | {predict[name]:.2f} |")
    lines += [
        "",
        "| other step, 1M customers (target < 2 s for predictions) | seconds |",
        "|---|---:|",
        f"| GammaGammaModel.conditional_expected_spend ({gg.n_customers_:,.0f} repeat "
        f"customers fitted in {gg_fit_s:.2f} s) | {predict['GammaGammaModel']:.2f} |",
        f"| BetaGeoBetaBinomModel.p_alive + expected_purchases(6) (`simulate_bgbb`, 6 "
        f"opportunities; fit {bgbb_fit_s:.2f} s on {bgbb.n_rows_:,} distinct rows) | "
        f"{predict['BetaGeoBetaBinomModel']:.2f} |",
        f"| ShiftedBetaGeometricModel.residual_value of 1M renewal counts (fit on one "
        f"cohort: {sbg_fit_s:.2f} s) | {predict['ShiftedBetaGeometricModel']:.2f} |",
        f"| ParetoNBDModel.fit on 1M `simulate_paretonbd` customers (whole days; 1 run) | "
        f"{pareto_own_s:.2f} |",
        f"| customer_lifetime_value, Pareto/NBD, 12 months (12 expected_purchases calls) | "
        f"{clv_s:.2f} |",
        "",
        f"Every Pareto/NBD p_alive and expected_purchases of the 1M customers finite: "
        f"{'yes' if finite else 'NO'}.",
        "",
        "Estimates (whole days) vs the simulated truth: BG/NBD "
        + ", ".join(f"{k} {bg.params_[k]:.4g} (true {v:.4g}, se {bg.standard_errors_[k]:.2g})"
                    for k, v in TRUE.items())
        + "; Pareto/NBD on Pareto/NBD customers "
        + ", ".join(f"{k} {pareto_own.params_[k]:.4g} (true {v:.4g})" for k, v in PARETO.items())
        + ".",
        "",
    ]
    replace_section(HERE / "RESULTS.md", HEADING, "\n".join(lines), drop=OLD_HEADINGS)


def replace_section(path: Path, heading: str, body: str, drop: tuple[str, ...] = ()) -> None:
    """Put ``body`` in place of the section titled ``heading`` (append it if absent).

    Sections titled one of ``drop`` (stale earlier versions of this one) are removed.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    chunks = text.split("\n## ")
    head, sections = chunks[0], ["## " + c for c in chunks[1:]]
    titles = [s.splitlines()[0].strip() for s in sections]
    new = body.rstrip("\n") + "\n"
    if heading in titles:
        sections[titles.index(heading)] = new
    else:
        at = next((i for i, t in enumerate(titles) if t in drop), len(sections))
        sections.insert(at, new)
    sections = [s for s in sections if s.splitlines()[0].strip() not in drop]
    path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(s.rstrip("\n") + "\n"
                                                           for s in sections), encoding="utf-8")


if __name__ == "__main__":
    main()
