"""Products, categories, list prices and channels for synthetic order lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._validation import Fraction, Instance, Whole, check, require_columns
from rfm_loyalty.exceptions import InvalidParameterError

__all__ = ["DISCOUNT_DEPTHS", "add_products"]

#: The discount depths drawn for a discounted order (10%, 20%, 30% or 50% off).
DISCOUNT_DEPTHS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)


def add_products(
    lines: pd.DataFrame,
    *,
    n_products: int = 1000,
    n_categories: int = 20,
    channels: Sequence[str] = ("web", "app", "store"),
    discount_share: float = 0.3,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """Give synthetic order lines a product, a category, a list price and a channel.

    Customers behave the way loyal and disloyal ones do: each has a home
    category (half of their lines come from it), a favourite product (bought
    again on a fifth of their lines), a main channel (70% of their orders) and
    a taste for deals (the chance that an order is discounted is drawn per
    customer from a beta distribution whose mean is ``discount_share``, so a
    few customers buy almost only on discount). Products within a category
    are skewed: low numbers are the best sellers. The amounts are unchanged:
    a discounted line's ``list_price`` is its ``unit_price / (1 - depth)``.
    A return line (order id ``"R..."``) takes the product, category, list
    price and channel of the first line of the order it returns (``"O..."``
    with the same number).

    Parameters
    ----------
    lines : pandas.DataFrame
        Lines with ``customer_id``, ``order_id`` and ``unit_price``, as
        :func:`~rfm_loyalty.datasets.make_orders` makes them. Never modified.
    n_products : int, default 1000
        Products (at least ``n_categories``); product ``P0007`` is in
        category ``7 % n_categories``.
    n_categories : int, default 20
    channels : sequence of str, default ("web", "app", "store")
    discount_share : float, default 0.3
        Mean share of discounted orders, in [0, 1).
    random_state : int, numpy.random.Generator or None, default 0

    Returns
    -------
    pandas.DataFrame
        A copy of ``lines`` with four more columns:

        ==========  ========  =========================================================
        column      dtype     meaning
        ==========  ========  =========================================================
        product     text      product id, ``"P0000"`` ... (zero-padded)
        category    text      category id, ``"K00"`` ...
        list_price  float64   list price of one unit (>= unit_price), to the cent
        channel     text      sales channel of the order (one per order)
        ==========  ========  =========================================================

    Examples
    --------
    >>> from rfm_loyalty.datasets import add_products, make_orders
    >>> lines = add_products(make_orders(20, random_state=1), random_state=1)
    >>> list(lines.columns[-4:])
    ['product', 'category', 'list_price', 'channel']
    >>> bool((lines["list_price"] >= lines["unit_price"]).all())
    True
    """
    owner = "add_products"
    require_columns(lines, ["customer_id", "order_id", "unit_price"], owner=owner,
                    hint="Make the lines with rfm_loyalty.datasets.make_orders.")
    n_categories = check(n_categories, Whole(minimum=1), name="n_categories", owner=owner)
    n_products = check(n_products, Whole(minimum=n_categories), name="n_products", owner=owner)
    check(channels, Instance((list, tuple), "a list or tuple of channel names"),
          name="channels", owner=owner)
    if not channels or not all(isinstance(c, str) for c in channels):
        raise InvalidParameterError(
            f"The 'channels' parameter of {owner} must be a non-empty list of names (str). "
            f"Got {channels!r} instead."
        )
    share = check(discount_share, Fraction(high_open=True), name="discount_share", owner=owner)
    rng = np.random.default_rng(random_state)

    customer, _ = pd.factorize(lines["customer_id"])
    order, order_ids = pd.factorize(lines["order_id"])
    n_customers, n_orders, n_lines = int(customer.max()) + 1, len(order_ids), len(lines)
    per_category = -(-n_products // n_categories)  # products per category, rounded up

    home = rng.integers(0, n_categories, n_customers)
    favourite = rng.integers(0, n_products, n_customers)
    main_channel = rng.integers(0, len(channels), n_customers)
    # beta(1, b) has mean 1 / (1 + b): a few deal hunters, many full-price buyers
    deal_taste = rng.beta(1.0, (1 - share) / share, n_customers) if share > 0 else np.zeros(
        n_customers)

    category = np.where(rng.uniform(size=n_lines) < 0.5, home[customer],
                        rng.integers(0, n_categories, n_lines))
    rank = np.floor(per_category * rng.uniform(size=n_lines) ** 2).astype(np.int64)
    product = np.minimum(category + n_categories * rank, n_products - 1)
    product = np.where(rng.uniform(size=n_lines) < 0.2, favourite[customer], product)
    category = product % n_categories

    order_customer = np.zeros(n_orders, dtype=np.int64)
    order_customer[order] = customer
    order_channel = np.where(rng.uniform(size=n_orders) < 0.7, main_channel[order_customer],
                             rng.integers(0, len(channels), n_orders))
    discounted = rng.uniform(size=n_orders) < deal_taste[order_customer]
    depth = np.where(discounted, rng.choice(DISCOUNT_DEPTHS, n_orders), 0.0)
    unit_price = lines["unit_price"].to_numpy(dtype=np.float64)
    list_price = np.maximum(np.round(unit_price / (1.0 - depth[order]), 2), unit_price)

    out = lines.copy()
    width_p, width_c = len(str(n_products - 1)), len(str(n_categories - 1))
    out["product"] = np.char.add("P", np.char.zfill(product.astype(str), width_p)).astype(object)
    out["category"] = np.char.add("K", np.char.zfill(category.astype(str), width_c)).astype(
        object)
    out["list_price"] = list_price
    out["channel"] = np.asarray(channels, dtype=object)[order_channel[order]]
    return _returns_like_their_order(out)


def _returns_like_their_order(out: pd.DataFrame) -> pd.DataFrame:
    """Copy the first line's product columns of each returned order onto its return lines."""
    ids = out["order_id"].astype(str)
    is_return = ids.str.startswith("R").to_numpy()
    if not is_return.any():
        return out
    columns = ["product", "category", "list_price", "channel"]
    originals = out.loc[~is_return, ["order_id", *columns]].drop_duplicates("order_id")
    originals = originals.set_index("order_id")
    source = "O" + ids[is_return].str.slice(1)
    found = originals.reindex(pd.Index(source.to_numpy()))
    has = found["product"].notna().to_numpy()
    rows = np.flatnonzero(is_return)[has]
    for column in columns:
        values: Any = out[column].to_numpy(copy=True)
        values[rows] = found[column].to_numpy()[has]
        out[column] = values
    return out
