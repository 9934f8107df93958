"""What every loyalty view needs: prepared orders as integer arrays, coded once.

Customers are the codes of ``Orders.customer_codes`` (hashed once when the
orders were prepared); days are calendar days counted from 1970-01-01; a
purchase is an order with ``is_purchase``. Nothing here loops over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty.orders import Orders, as_orders

__all__ = ["Coded", "coded_orders", "day_number", "distinct_pairs", "pair_key", "prepared",
           "sorted_unique"]


def prepared(orders: Any, as_of: Any, owner: str) -> Orders:
    """Return ``Orders`` at ``as_of``; refuse engine sources, which hold no orders here."""
    from rfm_loyalty.engines import is_engine_source

    if is_engine_source(orders):
        raise TypeError(
            f"{owner} needs every order and cannot run on an engine source "
            f"({type(orders).__name__}): the orders stay inside the engine. Read the orders "
            "with read_orders (or prepare_orders) instead."
        )
    return as_orders(orders, as_of)


def day_number(values: Any) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01, int64) of datetime values."""
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class Coded:
    """Orders and purchase days as integer arrays.

    ``code`` / ``day`` / ``amount`` / ``purchase`` are per order (rows of
    ``Orders.frame``); ``pd_code`` / ``pd_day`` are the distinct purchase
    days, sorted by customer then day; ``buyers`` are the codes of customers
    with a purchase, ascending, and ``row`` maps a code to its row among them
    (-1 without a purchase).
    """

    ids: pd.Index
    n: int
    as_of_day: int
    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray
    purchase: np.ndarray
    pd_code: np.ndarray  # unsigned or int64 codes
    pd_day: np.ndarray  # int32 day numbers
    first_of_customer: np.ndarray
    buyers: np.ndarray
    row: np.ndarray
    purchases: np.ndarray  # per buyer row: purchases (orders, not days)

    @property
    def index(self) -> pd.Index:
        """The buyers' ids (text, sorted), named ``customer_id``."""
        return self.ids.take(self.buyers).rename("customer_id")


def coded_orders(orders: Orders, owner: str) -> Coded:
    """Code the orders once: per order arrays and the sorted distinct purchase days."""
    frame = orders.frame
    if orders.customer_codes is not None and orders.customer_index is not None:
        code, ids = np.asarray(orders.customer_codes, dtype=np.int64), orders.customer_index
    else:
        code, ids = pd.factorize(frame["customer_id"], sort=True)
        code = code.astype(np.int64)
    n = len(ids)
    day = day_number(frame["order_date"].to_numpy())
    amount = frame["amount"].to_numpy(dtype="float64")
    purchase = frame["is_purchase"].to_numpy(dtype=bool)
    if not purchase.any():
        raise ValueError(
            f"{owner} found no purchase on or before as_of={orders.as_of.date()}: every order "
            "has a non-positive net amount. Check the returns policy or the as_of date."
        )
    pd_code, pd_day, per_code = distinct_pairs(code[purchase], n, day[purchase])
    first = np.empty(len(pd_code), dtype=bool)
    first[0] = True
    np.not_equal(pd_code[1:], pd_code[:-1], out=first[1:])
    buyers = pd_code[first]
    row = np.full(n, -1, dtype=np.int64)
    row[buyers] = np.arange(len(buyers))
    return Coded(
        ids=pd.Index(ids), n=n, as_of_day=int(day_number(orders.as_of.to_datetime64())),
        code=code, day=day, amount=amount, purchase=purchase, pd_code=pd_code, pd_day=pd_day,
        first_of_customer=first, buyers=buyers, row=row, purchases=per_code[buyers],
    )


def pair_key(a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    """One sortable int64 per pair ``(a, b)`` with ``0 <= b < n_b`` (a, b >= 0)."""
    top = int(a.max()) + 1 if len(a) else 1
    if top * max(n_b, 1) >= 2**62:
        raise OverflowError(
            f"{top:,} x {n_b:,} pairs do not fit in one 64-bit key; this many distinct "
            "customers and values is beyond what the in-memory path supports."
        )
    return a.astype(np.int64) * np.int64(n_b) + b.astype(np.int64)


def distinct_pairs(
    a: np.ndarray, n_a: int, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the distinct pairs ``(a, b)`` sorted by ``a`` then ``b``, and rows per ``a``.

    ``b`` are day numbers (returned as int32); ``0 <= a < n_a``. One sort of a packed key:
    32-bit when it fits (about 1.6x faster than 64-bit), as the customer
    aggregation does. The third array counts the input rows of each ``a``
    (a count over the sorted keys: no scatter over the unsorted rows).
    """
    if len(a) == 0:
        return (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32),
                np.zeros(n_a, dtype=np.int64))
    low = int(b.min())
    span = int(b.max()) - low + 1
    kind = np.dtype(np.uint32 if max(n_a, 1) * span <= 2**32 else np.int64)
    key = a.astype(kind)
    key *= kind.type(span)
    key += np.asarray(b - low, dtype=kind)
    key.sort()
    owner = key // kind.type(span)
    per_a = np.bincount(owner, minlength=n_a).astype(np.int64)
    keep = np.empty(len(key), dtype=bool)
    keep[0] = True
    np.not_equal(key[1:], key[:-1], out=keep[1:])
    first = owner[keep]
    # (day numbers fit in int32: the passes over them read half the memory)
    second = (key[keep] - first * kind.type(span)).astype(np.int32) + np.int32(low)
    return first, second, per_a


def sorted_unique(
    key: np.ndarray, *, return_inverse: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Distinct values of an int64 key with their counts (and each row's position).

    Sort-based: numpy's hash-based ``unique`` is many times slower on
    millions of large 64-bit keys.
    """
    if return_inverse:
        order = np.argsort(key)
        ordered = key[order]
    else:
        ordered = np.sort(key)
    new = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    counts = np.diff(np.r_[starts, len(ordered)])
    inverse = None
    if return_inverse:
        inverse = np.empty(len(key), dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
    return ordered[starts], counts, inverse
