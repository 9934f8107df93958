"""Every real-data figure in docs/ is computed here from the code as shipped.

Each test builds the text the docs print from a fresh analysis of the UCI
Online Retail data and checks that the doc contains it: when a number drifts
(the code changed), the test fails and its message gives the text to paste.
The tests skip when the real data are absent (tests/conftest.py).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from rfm_loyalty import analyze
from rfm_loyalty.stability import stability_size_grid

DOCS = Path(__file__).resolve().parents[1] / "docs"


def doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def flat(text: str) -> str:
    """The doc with its line breaks as spaces (prose wraps anywhere)."""
    return re.sub(r"\s+", " ", text)


def assert_in_doc(name: str, expected: str) -> None:
    assert flat(expected) in flat(doc(name)), (
        f"docs/{name} no longer shows what the code computes; expected:\n{expected}")


@pytest.fixture(scope="module")
def costed(retail):
    """The cost model of docs/profitability.md section 6."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analyze(retail, margin=0.30, cost_per_order=5.0, cost_per_customer=10.0)


def _pct(x: float) -> str:
    return f"{x:.1%}"


def profitability_rows(result) -> list[tuple[str, str]]:
    """The rows of the real-data table of docs/profitability.md, as analyze prints them."""
    population, pareto, prof = result.population, result.pareto, result.profitability
    negative = pareto.n_negative
    gini = (f"undefined ({negative} customers with a negative net revenue)" if negative
            else f"{pareto.gini:.3f}")
    unprofitable = round(prof.unprofitable_share * population.customers_with_orders)
    return [
        ("purchasers (customers table) / customers with any order (profit tables)",
         f"{population.customers:,} / {population.customers_with_orders:,}"),
        ("gross sales / returns / net revenue",
         f"{population.gross_sales:,.2f} / {population.returns:,.2f} / "
         f"{population.net_revenue:,.2f} GBP"),
        ("revenue: top 20% share (net revenue per purchaser)", _pct(pareto.top_share(0.2))),
        ("revenue: customers holding 80%", _pct(pareto.customers_for(0.8))),
        ("revenue: Gini", gini),
        ("total profit", f"{prof.total_profit:,.2f} GBP"),
        ("profit: top 20% share", _pct(prof.top20_share)),
        ("profit: bottom 30% share", f"{prof.bottom30_share:+.1%}"),
        ("erosion", _pct(prof.erosion)),
        ("whale curve peak", f"{_pct(prof.whale_peak)} at {_pct(prof.whale_peak_at)} of "
                             "customers"),
        ("unprofitable customers", f"{_pct(prof.unprofitable_share)} ({unprofitable:,})"),
        ("losses / positive profits", _pct(prof.loss_share)),
        ("80/20 within 5 points / 80/20/30",
         f"{'yes' if prof.holds_80_20 else 'no'} / {'yes' if prof.holds_80_20_30 else 'no'}"),
    ]


def markdown_rows(text: str, header: str) -> list[tuple[str, str]]:
    """The two-column rows of the markdown table that starts with ``header``."""
    block = text.split(header, 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in block.strip().splitlines()[1:]:  # skip the |---| line
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append((cells[0], cells[1]))
    return rows


def test_profitability_real_data_table_is_what_analyze_prints(costed):
    expected = profitability_rows(costed)
    table = "\n".join(f"| {k} | {v} |" for k, v in expected)
    assert markdown_rows(doc("profitability.md"), "| figure | value |") == expected, (
        f"docs/profitability.md section 6 drifted; the code gives:\n{table}")
    # the same figures in the text view of that analysis
    text = str(costed)
    for _, value in expected[2:4] + expected[6:7]:
        assert value in text


def test_profitability_prose_figures(costed, retail):
    population = costed.population
    basket = round(population.gross_sales / population.purchases, -1)
    assert_in_doc("profitability.md", f"about {basket:.0f} GBP per purchase invoice")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dearer = analyze(retail, margin=0.30, cost_per_order=25.0,
                         cost_per_customer=10.0).profitability
    assert_in_doc("profitability.md",
                  f"Even at 25 GBP per order only {dearer.unprofitable_share:.1%} of customers "
                  "lose money and the bottom 30% still break even (they make "
                  f"{dearer.bottom30_share:+.1%} of the profit).")


def test_profitability_doc_names_the_analysis_that_makes_it():
    assert_in_doc("profitability.md",
                  "analyze(orders, margin=0.30, cost_per_order=5.0, cost_per_customer=10.0)")


def test_population_figures(retail):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = analyze(retail, margin=0.3)
    p = result.population
    assert_in_doc("definitions.md",
                  f"On the Online Retail data: {p.customers:,} customers with a purchase of "
                  f"{p.customers_with_orders:,} with an order ({p.returns_only} with returns "
                  "only).")
    assert_in_doc("engines.md", f"real Online Retail data set ({result.quality.rows_in:,} "
                                f"lines, {p.customers_with_orders:,} customers)")


def test_lifecycle_counts(costed):
    counts = costed.lifecycle["customers"]
    head = "| " + " | ".join(str(i) for i in counts.index) + " |"
    row = "| " + " | ".join(f"{int(n):,}" for n in counts) + " |"
    assert_in_doc("lifecycle.md", head + "\n" + "|---:" * len(counts) + "|\n" + row)
    assert_in_doc("lifecycle.md", f"{len(costed.customers):,} customers with a purchase, "
                                  f"`as_of` = {costed.as_of.date()}")
    unclassified = int(counts[["returning", "cooling", "lost"]].sum())
    assert_in_doc("lifecycle.md", f"{unclassified:,} customers ({int(counts['returning'])} + "
                                  f"{int(counts['cooling'])} + {int(counts['lost'])}) are "
                                  "unclassified")


def test_stability_grid_counts(retail):
    grid = stability_size_grid(retail)
    low, high = grid.size_thresholds
    assert_in_doc("lifecycle.md", f"size thresholds {low:,.2f} and {high:,.2f}")
    rows = ["| customers | large | medium | small |", "|---|---:|---:|---:|"]
    for label, row in grid.counts.iterrows():
        rows.append(f"| {label} | " + " | ".join(f"{int(v):,}" for v in row) + " |")
    assert_in_doc("lifecycle.md", "\n".join(rows))


def test_segment_counts(costed):
    counts = ", ".join(f"{name} {int(n):,}" for name, n in costed.segments["customers"].items())
    assert_in_doc("segments.md", f"default preset gives: {counts}.")


def test_score_thresholds(costed):
    edges = costed.scorer.bin_edges_
    once = (costed.customers["frequency"] == 1).mean()

    def listed(values, fmt):
        return ", ".join(fmt.format(v) for v in values)

    assert_in_doc("scoring.md", f"{once:.1%} of customers bought once".replace("%", " %"))
    assert_in_doc("scoring.md",
                  f"recency {listed(edges['recency_days'], '{:.0f}')} days; frequency "
                  f"{listed(edges['frequency'], '{:.0f}')} orders; monetary "
                  f"{listed(edges['monetary_total'], '{:.2f}')}.")


@pytest.fixture(scope="module")
def holdout(retail):
    from rfm_loyalty.backtest import backtest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return backtest(retail, calibration_end="2011-09-09", holdout_days=90)


def test_backtest_figures(holdout):
    auc = holdout.auc
    scored = int(auc.loc["rfm_score", "customers"])
    again = int(auc.loc["rfm_score", "bought_again"])
    assert_in_doc("churn.md", f"{scored:,} customers scored; {again:,} ({again / scored:.1%}) "
                              "bought again in the holdout.")
    rates = holdout.by_lifecycle
    listed = ", ".join(f"{name} {row.repurchase_rate:.1%} ({int(row.customers):,})"
                       for name, row in rates[rates["customers"] > 0].iterrows())
    # the doc names the first cohort's unit once: "new 49.6% (260 customers), active ..."
    first, rest = listed.split(", ", 1)
    assert_in_doc("churn.md", f"Repurchase rate by lifecycle cohort: "
                              f"{first.replace(')', ' customers)')}, {rest}")
    assert_in_doc("churn.md", f"rfm_score {auc.loc['rfm_score', 'auc']:.3f}, "
                              f"expected_purchases {auc.loc['expected_purchases', 'auc']:.3f}, "
                              f"p_alive {auc.loc['p_alive', 'auc']:.3f}")
    repeat = auc.loc["p_alive_repeat_customers"]
    assert_in_doc("churn.md", f"{repeat['auc']:.3f} among the {int(repeat['customers']):,} "
                              "repeat customers")
    params = holdout.model.params_
    assert_in_doc("churn.md", f"r = {params['r']:.3f}, alpha = {params['alpha']:.1f}, "
                              f"a = {params['a']:.1e}, b = {params['b']:,.0f}")
    assert_in_doc("churn.md", f"log-likelihood {holdout.model.log_likelihood_:,.1f}")
    cal = holdout.calibration
    assert_in_doc("churn.md", f"{cal.loc['0', 'actual_mean']:.2f} vs "
                              f"{cal.loc['0', 'predicted_mean']:.2f} for customers without a "
                              f"repeat purchase, {cal.loc['7+', 'actual_mean']:.2f} vs "
                              f"{cal.loc['7+', 'predicted_mean']:.2f} for 7+")


@pytest.mark.slow
def test_loyalty_figures():
    import pandas as pd

    from rfm_loyalty.loyalty import loyalty_indicators, loyalty_value_matrix, second_purchase

    from .helpers import real_orders_with_products

    orders = real_orders_with_products()
    table = loyalty_indicators(orders).table
    repeat = int((table["repeat_purchase_days"] > 0).sum())
    assert_in_doc("loyalty.md",
                  f"{len(table):,} customers; {repeat:,} ({repeat / len(table):.1%}) bought on "
                  "two or more days; the median of the customers' median gaps is "
                  f"{table['median_gap_days'].median():g} days; "
                  f"{int((table['repurchased_products'] > 0).sum()):,} customers bought some "
                  "product on two or more invoices.")
    onboarding = second_purchase(orders)
    overall, cohorts = onboarding.overall, onboarding.cohorts
    closed = int(cohorts["closed_90d"].sum())
    assert_in_doc("loyalty.md", f"Second purchase within 90 days: {overall['rate_90d']:.1%} of "
                                f"the {closed:,} customers whose window has closed "
                                f"(Kaplan-Meier {overall['km_90d']:.1%})")
    for period, row in cohorts.iterrows():
        if pd.notna(row["rate_90d"]):
            assert f"{row['rate_90d']:.1%} ({period}" in flat(doc("loyalty.md")), period
    cells = loyalty_value_matrix(orders).cells
    shares = [(n / cells["customers"].sum(), v) for n, v in
              zip(cells["customers"], cells["value_share"], strict=True)]
    (tf, tfv), (bf, bfv), (ba, bav), (st, stv) = shares
    assert_in_doc("loyalty.md", f"true friends {tf:.1%} of customers and {tfv:.1%} of revenue, "
                                f"butterflies {bf:.1%} and {bfv:.1%}, barnacles {ba:.1%} and "
                                f"{bav:.1%}, strangers {st:.1%} and {stv:.1%}.")


def test_binning_warning_example(retail):
    from rfm_loyalty import BinningWarning, RFMScorer, rfm_table

    with pytest.warns(BinningWarning) as record:
        RFMScorer(n_bins=6).fit(rfm_table(retail))
    message = str(record[0].message)
    quoted = re.search(r"\(Online Retail, `n_bins=6`\):\s+((?:[ ]*> .*\n)+)", doc("scoring.md"))
    assert quoted, "docs/scoring.md lost its BinningWarning example"
    assert flat(re.sub(r"^[ ]*> ", "", quoted.group(1), flags=re.M)).strip() == message


@pytest.mark.slow
def test_model_figures(retail):
    from rfm_loyalty.btyd import BetaGeoModel, ParetoNBDModel
    from rfm_loyalty.summary import btyd_summary

    frame = btyd_summary(retail)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dropout = BetaGeoModel().fit(frame).mean_dropout_
        pareto_nbd = ParetoNBDModel().fit(frame).params_
    assert_in_doc("models.md", f"a year of mostly wholesale buyers: {dropout:.1g})")
    # "s below 0.001, beta above a million days": the flat ridge the doc describes
    assert_in_doc("models.md", "Online Retail: `s` below 0.001, `beta` above a million days")
    assert pareto_nbd["s"] < 0.001 and pareto_nbd["beta"] > 1e6
