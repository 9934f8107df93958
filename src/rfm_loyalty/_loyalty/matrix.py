"""The loyalty x value matrix of Reinartz & Kumar (2002): four cells of customers.

Reinartz, W. & Kumar, V. (2002), "The Mismanagement of Customer Loyalty",
Harvard Business Review 80(7): long-term (loyal) customers are not always
the profitable ones. Customers are split by behavioural loyalty and by value
into four cells, each with its own treatment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from rfm_loyalty._loyalty.indicators import LoyaltyIndicators, loyalty_indicators
from rfm_loyalty._validation import Fraction, check_params, require_columns
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.lifecycle import Action
from rfm_loyalty.orders import Orders

__all__ = [
    "CELLS",
    "CELL_ACTIONS",
    "CELL_NAMES_ZH",
    "LoyaltyValueMatrix",
    "loyalty_index",
    "loyalty_value_matrix",
]

#: The four cells: (high value, long-term), (high, short), (low, long), (low, short).
CELLS: tuple[str, ...] = ("true_friends", "butterflies", "barnacles", "strangers")
CELL_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"true_friends": "真朋友", "butterflies": "蝴蝶", "barnacles": "藤壶", "strangers": "陌生人"}
)
#: Each cell's treatment after Reinartz & Kumar (2002), in English and Chinese.
CELL_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "true_friends": Action(
            "Nurture and defend: consistent, not too frequent contact; build attitudinal "
            "loyalty and reward it.",
            "培养并守护：保持稳定但不过度的沟通，建立情感忠诚并给予回报。",
        ),
        "butterflies": Action(
            "Enjoy them while they last: make the most of their transactions, then stop "
            "investing once they stop buying.",
            "趁其活跃时充分把握交易，一旦停止购买即停止投入。",
        ),
        "barnacles": Action(
            "Measure their share of wallet: if small, up-sell and cross-sell; if large, "
            "lower the cost to serve.",
            "评估钱包份额：份额小则追加销售和交叉销售；份额大则降低服务成本。",
        ),
        "strangers": Action(
            "No relationship investment: make a profit on every transaction.",
            "不做关系投入：确保每笔交易都有利润。",
        ),
    }
)

_CONSTRAINTS = {
    "loyalty_split": Fraction(low_open=True, high_open=True, example=0.5),
    "value_split": Fraction(low_open=True, high_open=True, example=0.5),
}


def loyalty_index(table: pd.DataFrame) -> pd.Series:
    """Return the behavioural loyalty index: frequency and length of the relationship.

    ``loyalty_index = (pct_rank(repeat_purchase_days) + pct_rank(span)) / 2``
    where ``span = d_k - d_1`` (days from the first to the last purchase)
    and ``pct_rank`` is the percentile rank among the customers (ties get
    their average rank), so the index lies in (0, 1]; Reinartz & Kumar
    measure loyalty by the duration of the relationship, the rank of repeat
    purchase days adds how much of it was buying.

    Parameters
    ----------
    table : pandas.DataFrame
        ``loyalty_indicators(...).table`` (needs ``repeat_purchase_days`` and
        ``mean_gap_days``).

    Returns
    -------
    pandas.Series
        float64, named ``loyalty_index``, indexed like ``table``.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import loyalty_index
    >>> table = pd.DataFrame({"repeat_purchase_days": [0, 1, 4],
    ...                       "mean_gap_days": [np.nan, 30.0, 50.0]}, index=list("abc"))
    >>> loyalty_index(table).round(3).tolist()
    [0.333, 0.667, 1.0]
    """
    require_columns(table, ["repeat_purchase_days", "mean_gap_days"], owner="loyalty_index",
                    hint="Pass loyalty_indicators(orders).table.")
    repeat = table["repeat_purchase_days"].astype("float64")
    span = (table["mean_gap_days"].fillna(0.0) * repeat).round()
    index = (repeat.rank(pct=True) + span.rank(pct=True)) / 2
    return index.rename("loyalty_index")


@dataclass(frozen=True)
class LoyaltyValueMatrix:
    """Customers in the four loyalty x value cells, and the cells' figures.

    Attributes
    ----------
    customers : pandas.DataFrame
        Index ``customer_id``: ``loyalty_index`` (float64), ``value``
        (float64), ``long_term`` and ``high_value`` (bool), ``cell``
        (ordered category of :data:`CELLS`), ``cell_zh`` (text).
    cells : pandas.DataFrame
        Index ``cell`` (the four cells, always all four): ``cell_zh``,
        ``long_term``, ``high_value`` (bool), ``customers`` (int64),
        ``customer_share``, ``value``, ``value_share``, ``mean_value``
        (float64; ``value_share`` NaN when the total value is <= 0),
        ``action``, ``action_zh``.
    value_name : str
        ``"profit"`` or ``"revenue"`` (or the name of the Series given).
    loyalty_cutoff, value_cutoff : float
        The split points: long-term means ``loyalty_index > loyalty_cutoff``,
        high value ``value > value_cutoff``.
    loyalty_split, value_split : float
        The quantiles the cutoffs were taken at.
    """

    customers: pd.DataFrame
    cells: pd.DataFrame
    value_name: str
    loyalty_cutoff: float
    value_cutoff: float
    loyalty_split: float
    value_split: float


def loyalty_value_matrix(
    data: Orders | pd.DataFrame | LoyaltyIndicators,
    value: pd.Series | None = None,
    *,
    loyalty_split: float = 0.5,
    value_split: float = 0.5,
) -> LoyaltyValueMatrix:
    """Split customers by behavioural loyalty and value into Reinartz & Kumar's four cells.

    ==============  ==========  ===========  ==============================================
    cell            loyalty     value        treatment (:data:`CELL_ACTIONS`)
    ==============  ==========  ===========  ==============================================
    true_friends    long-term   high         nurture and defend
    butterflies     short-term  high         enjoy while they last, then stop investing
    barnacles       long-term   low          up-sell if share of wallet small, else cut cost
    strangers       short-term  low          no relationship investment
    ==============  ==========  ===========  ==============================================

    Long-term means ``loyalty_index`` (:func:`loyalty_index`) above its
    ``loyalty_split`` quantile; high value means ``value`` above its
    ``value_split`` quantile. A customer exactly at a cutoff is on the low
    side. The defaults, both medians, are a neutral start (Reinartz & Kumar
    split each dimension in two); set them from the business (e.g.
    ``value_split=0.8`` for the top 20%).

    Parameters
    ----------
    data : Orders, pandas.DataFrame or LoyaltyIndicators
        Prepared orders (or canonical order lines), or computed indicators.
    value : pandas.Series, optional
        Value per customer id (e.g. ``Analysis.customers["profit"]``).
        Default: profit ``sum(amount - cost)`` when the orders have a cost
        column, else revenue (net amount of all orders); with indicators
        it is required.
    loyalty_split, value_split : float, default 0.5
        Quantiles of the split points.

    Returns
    -------
    LoyaltyValueMatrix

    Raises
    ------
    SchemaError
        ``value`` lacks customers of the indicators.

    Examples
    --------
    >>> from rfm_loyalty.loyalty import loyalty_value_matrix
    >>> frame = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b", "c", "c", "d"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-06-01",
    ...                                   "2024-06-10", "2024-02-01", "2024-05-01",
    ...                                   "2024-06-20"]),
    ...     "amount": [50.0, 50.0, 50.0, 400.0, 5.0, 5.0, 8.0]})
    >>> matrix = loyalty_value_matrix(frame)
    >>> matrix.customers["cell"].astype(str).to_dict()
    {'a': 'true_friends', 'b': 'butterflies', 'c': 'barnacles', 'd': 'strangers'}
    >>> matrix.cells[["customers", "value_share"]]
                  customers  value_share
    cell
    true_friends          1     0.264085
    butterflies           1     0.704225
    barnacles             1     0.017606
    strangers             1     0.014085
    """
    params = check_params("loyalty_value_matrix", _CONSTRAINTS,
                          {"loyalty_split": loyalty_split, "value_split": value_split})
    if isinstance(data, LoyaltyIndicators):
        table = data.table
        if value is None:
            raise SchemaError(
                "loyalty_value_matrix needs value= with indicators (e.g. "
                "Analysis.customers['profit'] or rfm_table(orders)['monetary_total']); or pass "
                "the orders instead."
            )
    else:
        from rfm_loyalty._loyalty.base import prepared

        orders = prepared(data, None, "loyalty_value_matrix")
        table = loyalty_indicators(orders).table
        if value is None:
            value = _order_value(orders)
    return value_matrix(table, value, **params)


def _order_value(orders: Orders) -> pd.Series:
    """Profit (with a cost column) or revenue per customer, from the customer codes."""
    from rfm_loyalty._loyalty.base import coded_orders

    c = coded_orders(orders, "loyalty_value_matrix")
    frame = orders.frame
    has_cost = "cost" in frame.columns
    amount = c.amount - frame["cost"].to_numpy(dtype=np.float64) if has_cost else c.amount
    total = np.bincount(c.code, weights=amount, minlength=c.n)
    return pd.Series(total, index=pd.Index(c.ids, name="customer_id"),
                     name="profit" if has_cost else "revenue")


def value_matrix(table: pd.DataFrame, value: pd.Series, *, loyalty_split: float = 0.5,
                 value_split: float = 0.5) -> LoyaltyValueMatrix:
    """Build the matrix from an indicators table and a value per customer (checked inputs)."""
    if not isinstance(value, pd.Series):
        raise TypeError(
            "The 'value' parameter of loyalty_value_matrix must be a pandas Series indexed by "
            f"customer_id. Got {type(value).__name__} instead."
        )
    lacking = table.index.difference(value.index)
    if len(lacking):
        raise SchemaError(
            f"loyalty_value_matrix: value has no figure for {len(lacking):,} of the "
            f"{len(table):,} customers (first: {lacking[0]!r}). Pass a value for every "
            "customer with a purchase."
        )
    values = value.reindex(table.index).astype("float64")
    if values.isna().any():
        raise SchemaError(
            f"loyalty_value_matrix: value is missing (NaN) for {int(values.isna().sum()):,} "
            "customers; fill or drop them first."
        )
    index = loyalty_index(table)
    loyalty_cutoff = float(index.quantile(loyalty_split))
    value_cutoff = float(values.quantile(value_split))
    long_term = (index > loyalty_cutoff).to_numpy()
    high = (values > value_cutoff).to_numpy()
    code = np.where(high, np.where(long_term, 0, 1), np.where(long_term, 2, 3))
    cell = pd.Categorical.from_codes(code, categories=pd.Index(CELLS), ordered=True)
    customers = pd.DataFrame({"loyalty_index": index.to_numpy(), "value": values.to_numpy(),
                              "long_term": long_term, "high_value": high, "cell": cell},
                             index=table.index)
    customers["cell_zh"] = customers["cell"].map(CELL_NAMES_ZH).astype(object)
    counts = np.bincount(code, minlength=4)
    sums = np.bincount(code, weights=values.to_numpy(), minlength=4)
    total = float(values.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
    cells = pd.DataFrame(
        {
            "cell_zh": [CELL_NAMES_ZH[c] for c in CELLS],
            "long_term": [True, False, True, False],
            "high_value": [True, True, False, False],
            "customers": counts.astype(np.int64),
            "customer_share": counts / max(len(customers), 1),
            "value": sums,
            "value_share": sums / total if total > 0 else np.full(4, np.nan),
            "mean_value": mean,
            "action": [CELL_ACTIONS[c].en for c in CELLS],
            "action_zh": [CELL_ACTIONS[c].zh for c in CELLS],
        },
        index=pd.Index(list(CELLS), name="cell"),
    )
    return LoyaltyValueMatrix(
        customers=customers, cells=cells, value_name=str(value.name or "value"),
        loyalty_cutoff=loyalty_cutoff, value_cutoff=value_cutoff,
        loyalty_split=loyalty_split, value_split=value_split,
    )

