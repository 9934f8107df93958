"""Synthetic order lines with realistic structure, fully vectorised and seeded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SAMPLE_PARAMS", "load_sample_orders", "make_orders"]

#: The parameters of the bundled sample (``load_sample_orders`` and
#: ``data/samples/sample_orders.csv``, written by ``scripts/make_samples.py``).
SAMPLE_PARAMS: dict[str, Any] = {
    "n_customers": 1000,
    "start": "2023-01-01",
    "end": "2024-12-31",
    "random_state": 20241231,
}

_SECONDS_PER_DAY = 86_400


def make_orders(
    n_customers: int = 1000,
    *,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    random_state: int | np.random.Generator | None = 0,
    mean_days_between_orders: float = 60.0,
    mean_lifetime_days: float = 365.0,
    mean_order_value: float = 60.0,
    mean_lines_per_order: float = 2.5,
    return_rate: float = 0.04,
    with_cost: bool = True,
    customer_id_prefix: str = "C",
) -> pd.DataFrame:
    """Generate order lines of a synthetic shop.

    The customers behave the way real ones do in aggregate: they arrive
    uniformly over the period, buy at heterogeneous rates (gamma distributed
    around ``1 / mean_days_between_orders``), drop out after an exponential
    lifetime with a gamma-distributed mean (so a good share buy once), spend
    lognormal amounts around a customer-specific mean, order several lines at
    a time and sometimes return part of an order.

    Parameters
    ----------
    n_customers : int, default 1000
        Customers to generate; each makes at least one purchase.
    start, end : date-like
        First and last possible order day (inclusive).
    random_state : int, numpy.random.Generator or None, default 0
        Seed; the same seed gives the same table.
    mean_days_between_orders : float, default 60.0
        Population mean of the gap between a live customer's orders.
    mean_lifetime_days : float, default 365.0
        Population mean of the time a customer stays before dropping out.
    mean_order_value : float, default 60.0
        Population mean order value.
    mean_lines_per_order : float, default 2.5
        Mean number of lines of an order (at least 1).
    return_rate : float, default 0.04
        Share of orders that get a return (a later negative order with its
        own order id, for part of the order's value).
    with_cost : bool, default True
        Add a ``cost`` column (line cost of goods at a product margin of 15% to
        55%).
    customer_id_prefix : str, default "C"
        Customer ids are this prefix plus a zero-padded number.

    Returns
    -------
    pandas.DataFrame
        One row per order line, sorted by ``order_date``:

        ==============  ==============  =================================================
        column          dtype           meaning
        ==============  ==============  =================================================
        customer_id     text            customer id, e.g. ``"C000042"``
        order_id        text            order id, ``"O..."`` for orders, ``"R..."`` returns
        order_date      datetime64[ns]  order timestamp (second resolution, 08:00-22:00)
        quantity        int64           units on the line (negative on returns)
        unit_price      float64         price per unit, in cents precision
        amount          float64         quantity * unit_price, rounded to the cent
        cost            float64         cost of goods of the line (only with_cost)
        ==============  ==============  =================================================

    Examples
    --------
    >>> lines = make_orders(50, random_state=1)
    >>> list(lines.columns)
    ['customer_id', 'order_id', 'order_date', 'quantity', 'unit_price', 'amount', 'cost']
    >>> int(lines["customer_id"].nunique())
    50
    """
    _check_positive("n_customers", n_customers, integer=True)
    for name, value in (
        ("mean_days_between_orders", mean_days_between_orders),
        ("mean_lifetime_days", mean_lifetime_days),
        ("mean_order_value", mean_order_value),
    ):
        _check_positive(name, value)
    if mean_lines_per_order < 1:
        raise ValueError(
            f"The 'mean_lines_per_order' parameter must be >= 1. Got {mean_lines_per_order!r}."
        )
    if not 0 <= return_rate < 1:
        raise ValueError(f"The 'return_rate' parameter must be in [0, 1). Got {return_rate!r}.")
    rng = np.random.default_rng(random_state)
    start_day = pd.Timestamp(start).normalize()
    end_day = pd.Timestamp(end).normalize()
    period_days = (end_day - start_day).days + 1
    if period_days < 2:
        raise ValueError(f"'end' ({end!r}) must be at least one day after 'start' ({start!r}).")

    # customers: arrival, purchase rate, lifetime, spend level
    arrival = rng.uniform(0, period_days, n_customers)
    rate = rng.gamma(shape=0.8, scale=1 / (0.8 * mean_days_between_orders), size=n_customers)
    lifetime = rng.exponential(rng.gamma(1.2, mean_lifetime_days / 1.2, n_customers))
    spend_level = mean_order_value * rng.lognormal(-0.32, 0.8, n_customers)
    active_until = np.minimum(arrival + lifetime, period_days)
    repeat_orders = rng.poisson(rate * np.maximum(active_until - arrival, 0.0))

    # orders: the first at arrival, repeats uniform over the active period
    orders_per_customer = 1 + repeat_orders
    customer_of_order = np.repeat(np.arange(n_customers), orders_per_customer)
    is_first = np.r_[True, customer_of_order[1:] != customer_of_order[:-1]]
    offset = rng.uniform(0, 1, len(customer_of_order))
    span = (active_until - arrival)[customer_of_order]
    order_time = arrival[customer_of_order] + np.where(is_first, 0.0, offset * span)
    order_value = spend_level[customer_of_order] * rng.lognormal(-0.08, 0.4, len(offset))

    lines = _order_lines(rng, order_time, order_value, customer_of_order, mean_lines_per_order)
    returns = _returns(rng, lines, return_rate, period_days)
    table = pd.concat([lines, returns], ignore_index=True)

    seconds = np.floor(table["day_float"].to_numpy()) * _SECONDS_PER_DAY + table["second"]
    width = len(str(n_customers))
    customer_ids = np.char.add(
        customer_id_prefix, np.char.zfill(np.arange(n_customers).astype(str), width)
    )
    out = pd.DataFrame(
        {
            "customer_id": customer_ids[table["customer"].to_numpy()].astype(object),
            "order_id": table["order_id"].to_numpy(dtype=object),
            "order_date": start_day + pd.to_timedelta(seconds, unit="s"),
            "quantity": table["quantity"].to_numpy(dtype=np.int64),
            "unit_price": table["unit_price"].to_numpy(),
            "amount": (table["quantity"] * table["unit_price"]).round(2).to_numpy(),
        }
    )
    if with_cost:
        out["cost"] = np.round(out["amount"].to_numpy() * (1 - table["margin"].to_numpy()), 2)
    out = out.sort_values(["order_date", "order_id"], kind="stable", ignore_index=True)
    return out


def _order_lines(
    rng: np.random.Generator,
    order_time: np.ndarray,
    order_value: np.ndarray,
    customer_of_order: np.ndarray,
    mean_lines: float,
) -> pd.DataFrame:
    n_orders = len(order_time)
    lines_per_order = 1 + rng.poisson(mean_lines - 1, n_orders)
    order_of_line = np.repeat(np.arange(n_orders), lines_per_order)
    # every line of an order shares the order's timestamp
    second_of_day = rng.integers(8 * 3600, 22 * 3600, n_orders)
    weight = rng.uniform(0.2, 1.0, len(order_of_line))
    weight /= np.bincount(order_of_line, weights=weight)[order_of_line]
    quantity = 1 + rng.poisson(0.7, len(order_of_line))
    line_value = order_value[order_of_line] * weight
    unit_price = np.maximum(np.round(line_value / quantity, 2), 0.01)
    return pd.DataFrame(
        {
            "customer": customer_of_order[order_of_line],
            "order": order_of_line,
            "order_id": _padded("O", order_of_line, 8),
            "day_float": order_time[order_of_line],
            "second": second_of_day[order_of_line],
            "quantity": quantity,
            "unit_price": unit_price,
            "margin": rng.uniform(0.15, 0.55, len(order_of_line)),
        }
    )


def _returns(
    rng: np.random.Generator, lines: pd.DataFrame, return_rate: float, period_days: int
) -> pd.DataFrame:
    """Return part of some orders: one negative line, a few days later."""
    first_line = lines.drop_duplicates("order")
    returned = first_line[rng.uniform(0, 1, len(first_line)) < return_rate]
    delay = rng.integers(1, 30, len(returned))
    day = np.minimum(returned["day_float"].to_numpy() + delay, period_days - 1e-9)
    quantity = -rng.integers(1, np.maximum(returned["quantity"].to_numpy(), 1) + 1)
    return pd.DataFrame(
        {
            "customer": returned["customer"].to_numpy(),
            "order": returned["order"].to_numpy(),
            "order_id": _padded("R", returned["order"].to_numpy(), 8),
            "day_float": day,
            "second": rng.integers(8 * 3600, 22 * 3600, len(returned)),
            "quantity": quantity,
            "unit_price": returned["unit_price"].to_numpy(),
            "margin": returned["margin"].to_numpy(),
        }
    )


def _padded(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Ids such as ``O00000042``: the prefix and the number padded with zeros."""
    if len(numbers) == 0:  # np.char.zfill cannot size an empty array
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width))


def _check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    kind_ok = isinstance(value, (int, np.integer)) if integer else isinstance(
        value, (int, float, np.integer, np.floating)
    )
    if isinstance(value, bool) or not kind_ok or value <= 0:
        what = "a positive whole number" if integer else "a positive number"
        raise ValueError(f"The {name!r} parameter must be {what}. Got {value!r} instead.")


def load_sample_orders() -> pd.DataFrame:
    """Return the bundled sample: order lines of 1,000 synthetic customers, 2023-2024.

    It is ``make_orders(**SAMPLE_PARAMS)``; ``data/samples/sample_orders.csv``
    in the repository holds the same table (a test checks they agree).

    Returns
    -------
    pandas.DataFrame
        Columns as documented in ``make_orders``.

    Examples
    --------
    >>> sample = load_sample_orders()
    >>> int(sample["customer_id"].nunique())
    1000
    """
    return make_orders(**SAMPLE_PARAMS)
