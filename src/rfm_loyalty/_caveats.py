"""What an analysis cannot show: its caveats, and the customer populations it counts.

Every :class:`~rfm_loyalty.analysis.Analysis` carries ``caveats``: one
:class:`Caveat` per thing a careful analyst would want to be told before
trusting a table (a profit that is only an assumed margin, a churn window
longer than the data, a partial last month, ...), each naming the tables it
concerns, so that every view (text, notebook, report, ``metadata.json``, the
CLI) can show it next to them. ``population`` reconciles the customer counts
of the tables and states the money and the dates the analysis covers.

The caveat codes, their severity and their rules are documented in
``docs/definitions.md`` ("Caveats"); the thresholds are the constants below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._analysis_settings import AnalysisSettings
from rfm_loyalty.churn import period_complete
from rfm_loyalty.summary import CustomerBase

__all__ = ["CAVEAT_CODES", "SMALL_GROUP", "Caveat", "Population", "analysis_caveats",
           "population_of"]

#: Below this many customers a segment's or cohort's rates are too noisy for
#: campaign statistics: the 95% interval of a response rate near 50% among 30
#: customers is +-18 points, and telling 10% from 20% response at 80% power
#: takes about 200 customers per group.
SMALL_GROUP = 30

#: Every caveat code, with its severity ("warning": a table can mislead;
#: "info": read the table knowing this).
CAVEAT_CODES: dict[str, str] = {
    "assumed_margin": "warning",
    "warm_up": "warning",
    "partial_first_period": "info",
    "partial_last_period": "warning",
    "as_of_after_data": "warning",
    "returns_only_customers": "info",
    "negative_revenue_customers": "info",
    "dropped_rows": "info",
    "model_warning": "warning",
    "small_groups": "info",
    "score_bins_collapsed": "info",
    "engine_source": "info",
}


@dataclass(frozen=True)
class Caveat:
    """One thing a table of the analysis cannot show, and which tables it concerns.

    Attributes
    ----------
    code : str
        A key of :data:`CAVEAT_CODES` (stable: tests and tools may match on it).
    severity : {"warning", "info"}
    message : str
        One or two sentences with the figures, saying how to read or fix it.
    tables : tuple of str
        The affected tables (names of ``Analysis`` attributes or exported
        tables: ``"profitability"``, ``"flow"``, ``"customers"``, ...).
    """

    code: str
    severity: str
    message: str
    tables: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the caveat as JSON-serialisable data."""
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "tables": list(self.tables)}

    def concerns(self, table: str) -> bool:
        """Whether the caveat concerns ``table``."""
        return table in self.tables


def _caveat(code: str, message: str, tables: Sequence[str]) -> Caveat:
    return Caveat(code, CAVEAT_CODES[code], message, tuple(tables))


@dataclass(frozen=True)
class Population:
    """Who and what the analysis counts: customers, orders, money and dates.

    Attributes
    ----------
    customers : int
        Customers with at least one purchase: the rows of ``customers``,
        ``segments``, ``lifecycle``, ``churn`` and the revenue curve.
    customers_with_orders : int
        Customers with any order, returns included: the rows of the profit
        tables (``profitability``, ``tiers``) of in-memory orders.
    returns_only : int
        ``customers_with_orders - customers``: customers whose orders are
        all returns or free (they cost money but bought nothing).
    orders, purchases : int
        Orders used, and of them the purchases (net amount > 0, or >= 0 with
        ``zero_amount="purchase"``).
    gross_sales : float
        Net amount of the purchases.
    returns : float
        Net amount of the other orders (returns; negative or zero).
    net_revenue : float
        ``gross_sales + returns``: the sum of ``monetary_total`` over every
        customer with an order.
    first_purchase, last_purchase : pandas.Timestamp
        The first and last purchase day in the data.
    as_of : pandas.Timestamp
    """

    customers: int
    customers_with_orders: int
    returns_only: int
    orders: int
    purchases: int
    gross_sales: float
    returns: float
    net_revenue: float
    first_purchase: pd.Timestamp
    last_purchase: pd.Timestamp
    as_of: pd.Timestamp

    def lines(self) -> list[str]:
        """Return the population in two sentences (the text and HTML views print them)."""
        people = f"{self.customers:,} customers with a purchase"
        if self.returns_only:
            people += (f" (of {self.customers_with_orders:,} with an order: "
                       f"{self.returns_only:,} have only returns and appear only in the profit "
                       "tables)")
        return [
            f"Customers: {people}; {self.orders:,} orders, {self.purchases:,} of them purchases, "
            f"{self.first_purchase.date()} to {self.last_purchase.date()} "
            f"(as of {self.as_of.date()}).",
            f"Revenue: gross sales {self.gross_sales:,.2f}, returns {self.returns:,.2f}, "
            f"net revenue {self.net_revenue:,.2f}.",
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the population as JSON-serialisable data (dates as ISO text)."""
        out = dataclasses.asdict(self)
        for name in ("first_purchase", "last_purchase", "as_of"):
            out[name] = out[name].date().isoformat()
        return out


def population_of(base: CustomerBase) -> Population:
    """Count the customers, orders, money and dates of a customer base."""
    aggregates, quality = base.aggregates, base.quality
    gross = float(base.money(np.asarray([aggregates["purchase_amount"].sum()]))[0])
    net = float(base.money(np.asarray([quality.amount_used]))[0])
    customers = len(aggregates)
    return Population(
        customers=customers,
        customers_with_orders=int(quality.customers),
        returns_only=int(quality.customers) - customers,
        orders=int(quality.orders),
        purchases=int(quality.purchases),
        gross_sales=gross,
        returns=float(base.money(np.asarray([net - gross]))[0]),
        net_revenue=net,
        first_purchase=pd.Timestamp(aggregates["first_purchase"].min()),
        last_purchase=pd.Timestamp(aggregates["last_purchase"].max()),
        as_of=base.as_of,
    )


_PERIOD_DAYS = {"D": 1, "W": 7, "M": 31, "Q": 92, "Y": 366}
_PERIOD_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def analysis_caveats(
    *,
    base: CustomerBase,
    settings: AnalysisSettings,
    population: Population,
    segments: pd.DataFrame,
    lifecycle: pd.DataFrame,
    n_negative_revenue: int,
    has_cost_column: bool,
    profit_computed: bool,
    warnings_seen: Sequence[tuple[str, str]] = (),
) -> tuple[Caveat, ...]:
    """Return the caveats of an analysis, in the order of :data:`CAVEAT_CODES`.

    ``warnings_seen`` holds (category name, message) of the warnings the
    analysis raised (model fits, score bins).
    """
    found: list[Caveat] = []
    if profit_computed and settings.margin is not None and not has_cost_column:
        found.append(_caveat(
            "assumed_margin",
            f"Profit is an assumed margin: {settings.margin:g} x revenue"
            + (" - cost to serve" if settings.needs_cost_input else "")
            + ". Without costs per order the whale curve, Sherden's 80/20/30 check and the "
            "tiers repeat the revenue curve: no customer can look unprofitable unless a cost "
            "to serve makes them. Give a cost column (OrderColumns(cost=...)) for real profit.",
            ["profitability", "whale", "tiers", "customers.profit", "segments.profit"],
        ))
    span_days = (base.as_of - population.first_purchase).days + 1
    period_days = _PERIOD_DAYS[settings.period]
    word = _PERIOD_WORDS[settings.period]
    if base.has_orders and span_days < settings.churn_days + period_days:
        found.append(_caveat(
            "warm_up",
            f"The data span {span_days:,} days, less than churn_days={settings.churn_days} plus "
            f"one {word}: every customer's first purchase in the data may not be their first "
            "ever, so 'new' counts include returning customers, 'reactivated' cannot appear "
            "before the churn window has passed, and the churn rates of the first "
            f"{settings.churn_days} days are a warm-up. Read the flow and retention tables from "
            f"{(population.first_purchase + pd.Timedelta(days=settings.churn_days)).date()} on, "
            "or lower churn_days.",
            ["flow", "retention", "churn"],
        ))
    if base.has_orders:
        first_day = int(population.first_purchase.to_datetime64().astype("datetime64[D]")
                        .astype(np.int64))
        edges = pd.period_range(population.first_purchase, base.as_of, freq=settings.period)
        complete = period_complete(edges[[0, -1]], first_day, base.as_of)
        if len(edges) > 1 and not complete[0]:
            found.append(_caveat(
                "partial_first_period",
                f"The first {word} ({edges[0]}) starts before the data "
                f"({population.first_purchase.date()}): its counts cover only part of it.",
                ["flow", "retention"],
            ))
        if not complete[-1]:
            end = edges[-1].end_time.normalize().date()
            found.append(_caveat(
                "partial_last_period",
                f"The last {word} ({edges[-1]}) is partial: the data end on "
                f"{base.as_of.date()}, before its last day ({end}). Its new customers, "
                "retention and revenue are those of part of a period: they look like a drop "
                "but are not one.",
                ["flow", "retention"],
            ))
    gap = (base.as_of - population.last_purchase).days
    if gap > 0:
        found.append(_caveat(
            "as_of_after_data",
            f"as_of={base.as_of.date()} is {gap:,} day(s) after the last purchase "
            f"({population.last_purchase.date()}): every recency counts those days, so "
            "customers look less recent and more churned than at the end of the data.",
            ["customers", "lifecycle", "churn", "segments"],
        ))
    if population.returns_only:
        found.append(_caveat(
            "returns_only_customers",
            f"{population.returns_only:,} customers have orders but no purchase (only returns "
            "or free orders): they are not in the customer, segment and lifecycle tables"
            + (", and they are counted in the profit tables (they cost money)."
               if profit_computed and base.has_orders else "."),
            ["customers", "profitability", "tiers"],
        ))
    if n_negative_revenue:
        found.append(_caveat(
            "negative_revenue_customers",
            f"{n_negative_revenue:,} customers have a negative monetary_total (returns of "
            "purchases made before the data); the revenue Gini is undefined.",
            ["customers", "pareto"],
        ))
    bad = {k: v for k, v in base.quality.dropped.items()
           if k not in ("after_as_of", "invalid_status", "negative_amount")}
    if bad:
        listed = ", ".join(f"{reason}: {n:,}" for reason, n in bad.items())
        found.append(_caveat(
            "dropped_rows",
            f"{sum(bad.values()):,} of {base.quality.rows_in:,} input rows were unusable and "
            f"dropped ({listed}); see the quality table.",
            ["quality"],
        ))
    for category, message in warnings_seen:
        if category == "ModelWarning":
            found.append(_caveat("model_warning", message, ["models", "customers.p_alive",
                                                          "customers.clv"]))
    for category, message in warnings_seen:
        if category == "BinningWarning":
            found.append(_caveat("score_bins_collapsed", message,
                                 ["customers.scores", "segments"]))
    small = _small_groups(segments, "segment") + _small_groups(lifecycle, "lifecycle cohort")
    if small:
        found.append(_caveat(
            "small_groups",
            f"Groups with fewer than {SMALL_GROUP} customers: {'; '.join(small)}. Their shares "
            "and rates move a lot with a few customers: too small for campaign statistics "
            "(control groups, lift).",
            ["segments", "lifecycle", "churn"],
        ))
    if not base.has_orders:
        found.append(_caveat(
            "engine_source",
            f"The orders were aggregated in the {base.engine} engine: the tables that need "
            "every order (churn per segment, retention, flow, the purchase gaps) are empty.",
            ["churn", "retention", "flow", "customers.median_gap_days"],
        ))
    return tuple(found)


def _small_groups(table: pd.DataFrame, what: str) -> list[str]:
    counts = table["customers"]
    small = counts[(counts > 0) & (counts < SMALL_GROUP)]
    return [f"{what} {name!s} ({int(n)})" for name, n in small.items()]
