"""Orders after a campaign with a known effect: the ground truth for ``campaign_lift``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import Fraction, Real, check
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError

__all__ = ["SimulatedCampaign", "make_campaign_orders"]

_OWNER = "make_campaign_orders"
#: Spread (log scale) of one order's value around the customer's mean order value.
ORDER_VALUE_SIGMA = 0.5


@dataclass(frozen=True)
class SimulatedCampaign:
    """Order lines after a simulated campaign, with the effect that produced them.

    Attributes
    ----------
    orders : pandas.DataFrame
        One row per order, sorted by date: ``customer_id`` (text),
        ``order_id`` (text, ``"P..."``), ``order_date`` (datetime64[ns]),
        ``amount`` (float64, to the cent).
    true_lift : Mapping
        The expected difference treatment - control per customer:
        ``response`` (``response_lift``), ``orders`` (``response_lift x (1 +
        extra_orders)``) and ``revenue`` (``response_lift x (1 + extra_orders)
        x`` the audience's mean order value).
    outcomes : pandas.DataFrame
        Index ``customer_id``: ``group`` (text), ``base_response`` (float64,
        the chance to buy without the campaign), ``responded`` (bool),
        ``orders`` (int64), ``revenue`` (float64).
    """

    orders: pd.DataFrame
    true_lift: Mapping[str, float]
    outcomes: pd.DataFrame = field(repr=False)


def base_rates(frequency: np.ndarray, base_response: float, response_lift: float) -> np.ndarray:
    """Each customer's chance to buy in the window without the campaign.

    ``base_response x sqrt(frequency) / mean(sqrt(frequency))`` (frequent
    buyers come back more often), capped at ``1 - response_lift`` so that the
    campaign can add its full lift to everyone.
    """
    weight = np.sqrt(np.maximum(frequency, 1.0))
    return np.minimum(base_response * weight / weight.mean(), 1.0 - response_lift)


def draw_outcomes(rng: np.random.Generator, base: np.ndarray, treated: np.ndarray,
                  response_lift: float, extra_orders: float,
                  order_value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw responses, orders and order values; ``treated`` may have leading axes.

    A customer buys with probability ``base + response_lift`` when treated,
    ``base`` otherwise; a buyer places ``1 + Poisson(extra_orders)`` orders,
    each worth ``order_value x LogNormal(-s**2/2, s)`` (mean ``order_value``,
    ``s = 0.5``), rounded to the cent.

    Returns
    -------
    orders : numpy.ndarray of int64, the shape of ``treated``
    cell : numpy.ndarray of int64
        For each order, the flat index of its (..., customer) cell.
    value : numpy.ndarray of float64
        For each order, its amount.
    """
    chance = base + response_lift * np.asarray(treated, dtype=float)
    responded = rng.uniform(size=chance.shape) < chance
    orders = np.where(responded, 1 + rng.poisson(extra_orders, size=chance.shape), 0)
    cell = np.repeat(np.arange(orders.size), orders.ravel())
    customer = cell % chance.shape[-1]
    spread = rng.lognormal(-ORDER_VALUE_SIGMA**2 / 2, ORDER_VALUE_SIGMA, size=len(cell))
    value = np.round(order_value[customer] * spread, 2)
    return orders.astype(np.int64), cell, value


def _audience_table(audience: Any) -> pd.DataFrame:
    table = getattr(audience, "table", audience)
    if not isinstance(table, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'audience' parameter of {_OWNER} must be an Audience or a DataFrame with "
            f"customer_id and group. Got {type(audience).__name__} instead."
        )
    if "customer_id" in table.columns:
        table = table.set_index("customer_id")
    missing = [c for c in ("group", "frequency") if c not in table.columns]
    if missing or table.index.name != "customer_id":
        raise SchemaError(
            f"{_OWNER} needs customer ids (index or column 'customer_id') and the columns "
            f"'group' and 'frequency'; missing {missing or ['customer_id']!r}."
        )
    return table


def make_campaign_orders(
    audience: Any,
    *,
    start: Any,
    end: Any,
    base_response: float = 0.05,
    response_lift: float = 0.0,
    extra_orders: float = 0.3,
    order_value: float | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> SimulatedCampaign:
    """Simulate the orders of an audience in a window after a campaign with a known effect.

    Parameters
    ----------
    audience : Audience or pandas.DataFrame
        The audience of :func:`~rfm_loyalty.campaigns.select_audience`, or a
        table with ``customer_id`` (index or column), ``group`` (treatment,
        control), ``frequency`` and optionally ``monetary_total``.
    start, end : date-like
        First and last day of the window (both included).
    base_response : float, default 0.05
        Mean chance of buying in the window without the campaign; each
        customer's is scaled by the square root of their frequency (see
        ``base_rates``).
    response_lift : float, default 0.0
        The campaign effect: treated customers buy with a chance this much
        higher (0.04 = 4 points); the true lift of every metric follows
        (``SimulatedCampaign.true_lift``).
    extra_orders : float, default 0.3
        A buyer's orders beyond the first are Poisson with this mean.
    order_value : float, optional
        Mean order value of every customer; default each customer's
        ``monetary_total / frequency`` (60 without ``monetary_total``).
    random_state : int, numpy.random.Generator or None, default 0

    Returns
    -------
    SimulatedCampaign
        ``orders`` (canonical order lines: ``customer_id``, ``order_id``,
        ``order_date``, ``amount``), ``true_lift`` and ``outcomes``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1000)],
    ...                       "group": ["treatment", "control"] * 500, "frequency": 2})
    >>> sim = make_campaign_orders(table, start="2025-01-01", end="2025-01-31",
    ...                            response_lift=0.05, order_value=100.0)
    >>> dict(sim.true_lift)
    {'response': 0.05, 'orders': 0.065, 'revenue': 6.5}
    >>> list(sim.orders.columns)
    ['customer_id', 'order_id', 'order_date', 'amount']
    """
    table = _audience_table(audience)
    first, last = as_date(start, name="start"), as_date(end, name="end")
    if last < first:
        raise InvalidParameterError(
            f"The window of {_OWNER} must end on or after its start. Got start="
            f"{first.date()} and end={last.date()}."
        )
    open_fraction = Fraction(low_open=True, high_open=True)
    base_response = check(base_response, open_fraction, name="base_response", owner=_OWNER)
    response_lift = check(response_lift, Fraction(high_open=True), name="response_lift",
                          owner=_OWNER)
    if base_response + response_lift > 1:
        raise InvalidParameterError(
            f"base_response + response_lift of {_OWNER} must be at most 1. Got "
            f"{base_response!r} + {response_lift!r}."
        )
    extra_orders = check(extra_orders, Real(0.0), name="extra_orders", owner=_OWNER)
    if order_value is not None:
        order_value = check(order_value, Real(0.0, closed="neither"), name="order_value",
                            owner=_OWNER)
    rng = np.random.default_rng(random_state)
    frequency = table["frequency"].to_numpy(dtype=float)
    if order_value is not None:
        mean_value = np.full(len(table), float(order_value))
    elif "monetary_total" in table.columns:
        mean_value = np.maximum(table["monetary_total"].to_numpy(dtype=float)
                                / np.maximum(frequency, 1.0), 1.0)
    else:
        mean_value = np.full(len(table), 60.0)
    treated = (table["group"].astype(str) == "treatment").to_numpy()
    base = base_rates(frequency, base_response, response_lift)
    orders, cell, value = draw_outcomes(rng, base, treated, response_lift, extra_orders,
                                        mean_value)
    days = (last - first).days + 1
    seconds = rng.integers(0, days, len(cell)) * 86_400 + rng.integers(8 * 3600, 22 * 3600,
                                                                        len(cell))
    ids = table.index.to_numpy(dtype=object)
    lines = pd.DataFrame({
        "customer_id": ids[cell],
        "order_id": np.char.add("P", np.char.zfill(np.arange(len(cell)).astype(str), 7)),
        "order_date": first + pd.to_timedelta(seconds, unit="s"),
        "amount": value,
    }).astype({"order_id": object})
    lines = lines.sort_values(["order_date", "order_id"], ignore_index=True)
    revenue = np.bincount(cell, weights=value, minlength=len(table))
    outcomes = pd.DataFrame({
        "group": table["group"].astype(str).to_numpy(dtype=object), "base_response": base,
        "responded": orders > 0, "orders": orders, "revenue": revenue,
    }, index=pd.Index(ids, name="customer_id"))
    per_buyer = response_lift * (1 + extra_orders)
    true_lift = MappingProxyType({
        "response": response_lift, "orders": per_buyer,
        "revenue": per_buyer * float(mean_value.mean()),
    })
    return SimulatedCampaign(orders=lines, true_lift=true_lift, outcomes=outcomes)
