"""How often do campaign_lift's 95% intervals hold the true lift? (figures of docs/campaigns.md)

Usage (from the repository root):

    .venv/bin/python scripts/campaign_coverage.py                 # 1,000 campaigns per cell
    .venv/bin/python scripts/campaign_coverage.py --simulations 200

The shop of docs/campaigns.md (``make_orders(20_000, random_state=2024)``,
analysed with the models), its win-back audience (high and low recovery,
``p_alive >= 0.2``), and for each control share and each true effect a
number of simulated campaigns: every campaign has its own name, so its own
split, and its own purchases drawn by ``make_campaign_orders``' model. The
intervals are computed by the function campaign_lift uses, vectorised over
the campaigns. Prints a Markdown table: the share of campaigns whose
interval holds the true lift, per metric, and the mean number of control
customers who bought.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np

from rfm_loyalty import analyze
from rfm_loyalty._campaigns.compare import compare
from rfm_loyalty._campaigns.hashing import assignment_draws
from rfm_loyalty.campaigns import select_audience
from rfm_loyalty.datasets import make_orders
from rfm_loyalty.datasets._campaign import base_rates, draw_outcomes

SHARES = (0.1, 0.2, 0.5)
EFFECTS = (0.04, 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=1000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(make_orders(20_000, random_state=2024), models=True)
    audience = select_audience(result, name="coverage", lifecycle=["high_recovery",
                               "low_recovery"], min_p_alive=0.2, holdout=0)
    table = audience.table
    frequency = table["frequency"].to_numpy(dtype=float)
    order_value = np.maximum(table["monetary_total"].to_numpy() / np.maximum(frequency, 1),
                             1.0)
    ids = table.index.to_numpy()
    print(f"{len(table):,} customers, {args.simulations:,} campaigns per cell\n")
    print("| control share | true response lift | response | orders | revenue | "
          "control buyers |")
    print("|---|---|---|---|---|---|")
    for share in SHARES:
        treated = np.array([assignment_draws(f"coverage-{k}", ids) >= share
                            for k in range(args.simulations)])
        for effect in EFFECTS:
            rng = np.random.default_rng(int(share * 100) * 10 + int(effect * 100))
            base = base_rates(frequency, 0.05, effect)
            orders, cell, value = draw_outcomes(rng, base, treated, effect, 0.3, order_value)
            revenue = np.bincount(cell, weights=value, minlength=treated.size).reshape(
                treated.shape)
            out = compare(treated, orders, revenue, 0.95)
            truth = {"response": effect, "orders": effect * 1.3,
                     "revenue": effect * 1.3 * order_value.mean()}
            cover = {m: ((out[m]["lower"] <= t) & (t <= out[m]["upper"])).mean()
                     for m, t in truth.items()}
            buyers = ((orders > 0) & ~treated).sum(axis=1).mean()
            print(f"| {share:.0%} | {100 * effect:.0f} points | {cover['response']:.1%} | "
                  f"{cover['orders']:.1%} | {cover['revenue']:.1%} | {buyers:.0f} |")
    print(f"\n({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
