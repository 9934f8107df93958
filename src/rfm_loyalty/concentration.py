"""Concentration of a per-customer value: the Pareto curve, top-k shares, Gini.

`pareto` ranks customers by a value (revenue, profit, anything per customer)
and measures how concentrated it is; `concentration_by` splits customers,
revenue and profit by a label such as a segment or a lifecycle cohort.

Definitions used throughout (see ``docs/profitability.md``):

* N is the number of customers in the input (every entry counts, zeros and
  negative values included); missing and infinite values are rejected.
* Customers are ranked by value, largest first. Equal values are ordered by
  customer id, which only decides the order of the ``ranked`` Series: every
  number below depends on the sorted values alone, so ties never change it.
* The "top k" are the ``ceil(k * N)`` highest customers (a product within
  1e-9 of an integer counts as that integer, so ``0.07 * 100`` is 7, not 8).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from rfm_loyalty._ranking import (
    COUNT_EPS,
    cumulative_sums,
    customer_values,
    fmt_pct,
    has_repeated_ids,
    rank_order,
    top_count,
)
from rfm_loyalty._validation import Fraction, Whole, check, require_columns
from rfm_loyalty.exceptions import SchemaError

__all__ = ["CURVE_POINTS", "ParetoResult", "concentration_by", "curve_points", "pareto"]

# Slack for comparisons of shares, which are ratios of floating-point sums.
_SHARE_EPS = 1e-12
#: Points of a concentration curve as exported and drawn: customer shares 0, 0.001, ..., 1.
CURVE_POINTS = 1001


class _Ranking(Protocol):
    """A result with per-customer values ranked largest first (ProfitabilityResult)."""

    @property
    def ranked(self) -> pd.Series: ...  # pragma: no cover - a protocol


def _rank_columns(ranked: pd.Series, prefix: str) -> pd.DataFrame:
    values = ranked.to_numpy(dtype="float64")
    cumulative = np.cumsum(values)
    total = float(cumulative[-1]) if len(cumulative) else 0.0
    shares = cumulative / total if total > 0 else np.full(len(values), np.nan)
    return pd.DataFrame(
        {f"{prefix}_rank": np.arange(1, len(values) + 1, dtype="int64"),
         f"{prefix}_cumulative_share": shares},
        index=ranked.index,
    )


@dataclass(frozen=True, eq=False)
class ParetoResult:
    """Concentration of a per-customer value, as returned by `pareto`.

    Attributes
    ----------
    ranked : pandas.Series
        The values (float64), largest first; equal values in customer-id order.
        Index: the customer ids of the input.
    curve : pandas.DataFrame
        The concentration curve, N + 1 rows. Index ``rank`` (int64, 0..N): the
        number of top customers included; row 0 is the origin (0, 0). Columns:
        ``customer_share`` (float64, rank / N), ``cumulative_value`` (float64,
        sum of the rank highest values) and ``value_share`` (float64,
        cumulative_value / total; NaN for every row when total <= 0).
    total : float
        Sum of the values.
    n_customers : int
        N, the number of customers in the input.
    n_negative : int
        Number of customers with a negative value.
    name : str
        Name of the value (the input Series' name, or "value").
    ranked_positions : numpy.ndarray of int64
        Element i is the input position of the customer ranked i + 1
        (``values.iloc[ranked_positions]`` is ``ranked``).
    """

    ranked: pd.Series
    curve: pd.DataFrame
    total: float
    n_customers: int
    n_negative: int
    name: str
    ranked_positions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64),
                                         repr=False)

    @property
    def total_positive(self) -> bool:
        """Whether the total is > 0, the condition for every share to be defined."""
        return self.total > 0

    def top_share(self, k: float = 0.2) -> float:
        """Share of the total held by the ``ceil(k * N)`` highest customers.

        Parameters
        ----------
        k : float, default 0.2
            Fraction of customers, in [0, 1].

        Returns
        -------
        float
            Sum of the top customers' values / total; NaN when the total is <= 0.
            Non-decreasing in k when no value is negative.
        """
        k = check(k, Fraction(example=0.2), name="k", owner="ParetoResult.top_share")
        if not self.total_positive:
            return math.nan
        n = top_count(k, self.n_customers)
        return float(self.curve["value_share"].iloc[n])

    def customers_for(self, share: float = 0.8) -> float:
        """Smallest fraction of customers whose values reach ``share`` of the total.

        Parameters
        ----------
        share : float, default 0.8
            Target share of the total, in (0, 1].

        Returns
        -------
        float
            n / N for the smallest n such that the n highest customers hold at
            least ``share`` of the total (up to 1e-12 for rounding); NaN when
            the total is <= 0.
        """
        share = check(share, Fraction(low_open=True, example=0.8), name="share",
                      owner="ParetoResult.customers_for")
        if not self.total_positive:
            return math.nan
        reached = self.curve["value_share"].to_numpy() >= share - _SHARE_EPS
        n = int(np.argmax(reached))  # the last row (share 1.0) always qualifies
        return n / self.n_customers

    @property
    def gini(self) -> float:
        """Gini coefficient of the values (0 = all equal, (N-1)/N = one holds all).

        ``G = 2 * sum_i(i * x_(i)) / (N * S) - (N + 1) / N`` with the values
        sorted ascending ``x_(1) <= ... <= x_(N)`` and ``S`` their sum; it equals
        the mean absolute difference over all ordered pairs divided by twice the
        mean. NaN when every value is 0.

        Raises
        ------
        ValueError
            When any value is negative: the Gini is not a concentration measure
            for values of mixed sign.
        """
        if self.n_negative:
            smallest = float(self.ranked.iloc[-1])
            raise ValueError(
                f"The Gini coefficient needs non-negative values; {self.name!r} has "
                f"{self.n_negative} negative value(s) out of {self.n_customers} "
                f"(smallest {smallest!r}). Use the whale curve (profitability) for "
                "values of mixed sign, or compute the Gini of positive parts with "
                "pareto(values.clip(lower=0))."
            )
        if not self.total_positive:
            return math.nan
        ascending = self.ranked.to_numpy()[::-1]
        n = self.n_customers
        ranks = np.arange(1, n + 1, dtype="float64")
        return float(2.0 * np.dot(ranks, ascending) / (n * self.total) - (n + 1) / n)

    def customer_ranks(self, profit: _Ranking | None = None) -> pd.DataFrame:
        """Each customer's place in this ranking (and the profit one), with the share held to it.

        Parameters
        ----------
        profit : ProfitabilityResult, optional
            The profit concentration (``Analysis.profitability``); its
            ``ranked`` order is the profit ranking. It may rank more customers
            than this result (customers whose orders are all returns have a
            profit but no purchase): their ranks count, their rows are left out.

        Returns
        -------
        pandas.DataFrame
            Indexed by the customer ids of ``ranked``, in its order (read as
            revenue: this is ``pareto(customers["monetary_total"])`` in
            :func:`~rfm_loyalty.analysis.analyze`):

            - ``revenue_rank`` (int64): 1 for the customer with the largest
              value, equal values in customer-id order (the order of ``ranked``).
            - ``revenue_cumulative_share`` (float64): share of the total held by
              the customers ranked 1 to ``revenue_rank``, i.e. the curve's
              ``value_share`` at that rank; NaN when the total is <= 0.
            - with ``profit``: ``profit_rank`` (int64) and
              ``profit_cumulative_share`` (float64), the same in the profit
              ranking (the whale curve's ``profit_share`` at that rank).

        Raises
        ------
        ValueError
            A customer of this ranking has no place in the profit ranking.

        Examples
        --------
        >>> import pandas as pd
        >>> revenue = pd.Series([100.0, 300.0, 100.0, 500.0], index=["d", "b", "a", "c"])
        >>> pareto(revenue).customer_ranks()
           revenue_rank  revenue_cumulative_share
        c             1                       0.5
        b             2                       0.8
        a             3                       0.9
        d             4                       1.0
        """
        out = _rank_columns(self.ranked, "revenue")
        if profit is not None:
            ranks = _rank_columns(profit.ranked, "profit")
            if len(ranks) != len(out) or not ranks.index.equals(out.index):
                ranks = ranks.reindex(out.index)
                missing = ranks["profit_rank"].isna().to_numpy()
                if missing.any():
                    raise ValueError(
                        f"ParetoResult.customer_ranks: {int(missing.sum())} customer(s) of the "
                        f"revenue ranking have no profit (first: {out.index[missing][0]!r}); "
                        "compute profit for every customer."
                    )
                ranks["profit_rank"] = ranks["profit_rank"].astype("int64")
            out = out.join(ranks)
        return out

    def _rows(self) -> list[tuple[str, str]]:
        if self.total_positive:
            rows = [
                ("top 20% of customers hold", fmt_pct(self.top_share(0.2))),
                ("customers holding 80%", fmt_pct(self.customers_for(0.8))),
            ]
        else:
            rows = [("shares", f"undefined: total {self.total:,.2f} is <= 0")]
        if self.n_negative:
            gini = f"undefined ({self.n_negative} negative values)"
        else:
            gini = "undefined (all zero)" if not self.total_positive else f"{self.gini:.3f}"
        rows.append(("Gini", gini))
        return rows

    def _title(self) -> str:
        return (
            f"Pareto concentration of {self.name!r}: {self.n_customers:,} customers, "
            f"total {self.total:,.2f}"
        )

    def __str__(self) -> str:
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        lines = [self._title()] + [f"  {label:<{width}}  {value}" for label, value in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in self._rows()
        )
        return f"<table><caption>{html.escape(self._title())}</caption>{body}</table>"


def pareto(values: pd.Series | Sequence[float] | np.ndarray) -> ParetoResult:
    """Measure how concentrated a per-customer value is (the 80/20 view).

    Parameters
    ----------
    values : pandas.Series or array-like
        One value per customer (revenue, profit, ...), indexed by customer id.
        Zeros and negative values are allowed; missing or infinite values and
        repeated customer ids raise.

    Returns
    -------
    ParetoResult
        ``ranked`` (values largest first), ``curve`` (DataFrame indexed by
        ``rank`` 0..N with ``customer_share``, ``cumulative_value`` and
        ``value_share``, all float64, row 0 the origin), ``top_share(k)``,
        ``customers_for(share)``, ``gini``, ``total``, ``n_customers``,
        ``n_negative``; renders as text and in notebooks.

    Raises
    ------
    ValueError
        Empty input, missing or infinite values, repeated customer ids.
    TypeError
        Non-numeric values or a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> revenue = pd.Series([500.0, 200.0, 100.0, 100.0, 50.0, 50.0],
    ...                     index=list("ABCDEF"), name="revenue")
    >>> result = pareto(revenue)
    >>> result.top_share(0.2)   # ceil(0.2 * 6) = 2 customers: A and B
    0.7
    >>> result.customers_for(0.8)   # A, B, C reach 800 of 1000
    0.5
    >>> round(result.gini, 4)   # 2*(50+100+300+400+1000+3000)/(6*1000) - 7/6
    0.45
    >>> result.curve.round(3).head(3)
          customer_share  cumulative_value  value_share
    rank
    0              0.000               0.0          0.0
    1              0.167             500.0          0.5
    2              0.333             700.0          0.7
    """
    series = customer_values(values, "pareto")
    positions = rank_order(series)
    ranked = series.iloc[positions]
    n = len(ranked)
    cumulative = cumulative_sums(ranked.to_numpy())
    total = float(cumulative[-1])
    shares = cumulative / total if total > 0 else np.full(n + 1, np.nan)
    curve = pd.DataFrame(
        {
            "customer_share": np.arange(n + 1, dtype="float64") / n,
            "cumulative_value": cumulative,
            "value_share": shares,
        },
        index=pd.RangeIndex(n + 1, name="rank"),
    )
    return ParetoResult(
        ranked=ranked,
        curve=curve,
        total=total,
        n_customers=n,
        n_negative=int((ranked.to_numpy() < 0).sum()),
        name=str(series.name),
        ranked_positions=positions,
    )


def curve_points(curve: pd.DataFrame, points: int = CURVE_POINTS) -> pd.DataFrame:
    """Return the rows of a concentration curve at evenly spaced customer shares.

    A curve of N customers has N + 1 rows; this keeps the rows at the ranks
    ``ceil(k * N)`` for ``k = 0, 1/(points - 1), ..., 1`` (the same rule as
    :meth:`ParetoResult.top_share`; with the default, k = 0, 0.001, ..., 1),
    each rank once. Values are taken at those ranks, never interpolated, so
    ``top_share(k)`` for any k on the grid is a row of the result. A curve
    with N < points has every row kept.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``ParetoResult.curve`` or ``ProfitabilityResult.whale``: index
        ``rank`` 0..N.
    points : int, default 1001
        Number of grid points (at least 2).

    Returns
    -------
    pandas.DataFrame
        The selected rows, same columns and index name, ranks ascending: at
        most ``points`` rows, always the origin (rank 0) and the last rank N.

    Examples
    --------
    >>> import pandas as pd
    >>> result = pareto(pd.Series(range(1, 11), dtype="float64"))
    >>> curve_points(result.curve, points=3)
          customer_share  cumulative_value  value_share
    rank
    0                0.0               0.0     0.000000
    5                0.5              40.0     0.727273
    10               1.0              55.0     1.000000
    """
    points = check(points, Whole(minimum=2, example=CURVE_POINTS), name="points",
                   owner="curve_points")
    n = len(curve) - 1
    grid = np.arange(points, dtype="float64") / (points - 1)
    ranks = np.clip(np.ceil(grid * n - COUNT_EPS), 0, n).astype("int64")
    return curve.iloc[np.unique(ranks)]


def concentration_by(
    table: pd.DataFrame,
    *,
    by: str,
    revenue: str | None = "monetary_total",
    profit: str | None = "profit",
) -> pd.DataFrame:
    """Share of customers, revenue and profit per label (segment, lifecycle cohort, ...).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per customer (e.g. ``rfm_table(orders)`` joined with segment or
        lifecycle labels and ``customer_profit``). The index must not repeat.
    by : str
        Column holding each customer's label, categorical or not. Missing
        labels raise.
    revenue : str or None, default "monetary_total"
        Column of per-customer revenue; None leaves the revenue columns out.
    profit : str or None, default "profit"
        Column of per-customer profit; None leaves the profit columns out.

    Returns
    -------
    pandas.DataFrame
        One row per label, indexed by the label (named after ``by``): the
        categories in their order for a categorical column (empty ones
        included, with zeros), else the sorted labels. Columns:

        - ``n_customers`` (int64): customers with the label.
        - ``customer_share`` (float64): n_customers / number of rows.
        - ``revenue`` (float64): summed revenue of the label's customers.
        - ``revenue_share`` (float64): revenue / total revenue; NaN when the
          total revenue is <= 0.
        - ``profit`` (float64): summed profit.
        - ``profit_share`` (float64): profit / total profit (negative for a
          loss-making label, above 1 when others lose); NaN when the total
          profit is <= 0.

        Each share column sums to 1 when defined.

    Raises
    ------
    SchemaError
        A named column is missing, a label is missing, a value column is not
        numeric or has missing values, or the index repeats.

    Examples
    --------
    >>> import pandas as pd
    >>> customers = pd.DataFrame(
    ...     {"segment": ["gold", "gold", "basic", "basic", "basic"],
    ...      "monetary_total": [600.0, 200.0, 100.0, 60.0, 40.0],
    ...      "profit": [150.0, 30.0, 5.0, -5.0, -30.0]},
    ...     index=pd.Index(list("ABCDE"), name="customer_id"))
    >>> print(concentration_by(customers, by="segment").to_string())
             n_customers  customer_share  revenue  revenue_share  profit  profit_share
    segment
    basic              3             0.6    200.0            0.2   -30.0          -0.2
    gold               2             0.4    800.0            0.8   180.0           1.2
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"concentration_by needs a DataFrame with one row per customer; got "
            f"{type(table).__name__}."
        )
    if len(table) == 0:
        raise SchemaError("concentration_by needs at least one customer; the table is empty.")
    require_columns(table, {"by=": by}, owner="concentration_by")
    if has_repeated_ids(table.index):
        raise SchemaError(
            f"concentration_by needs one row per customer; {int(table.index.duplicated().sum())} "
            "index value(s) repeat (a join that duplicated rows?). Deduplicate the table first."
        )
    labels = table[by]
    n_unlabelled = int(labels.isna().sum())
    if n_unlabelled:
        raise SchemaError(
            f"concentration_by: {n_unlabelled} of {len(table)} customers have no {by!r} "
            "label. Give them one, e.g. table[by].fillna('unlabelled') (on a categorical "
            "column, add the category first), or drop them."
        )
    value_columns = {"revenue": revenue, "profit": profit}
    frame = pd.DataFrame(index=table.index)
    for role, column in value_columns.items():
        if column is None:
            continue
        require_columns(table, {f"{role}=": column}, owner="concentration_by")
        col = table[column]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            raise SchemaError(
                f"concentration_by: the {role}= column {column!r} must be numeric; got dtype "
                f"{str(col.dtype)!r}."
            )
        array = col.to_numpy(dtype="float64", na_value=np.nan)
        if not np.isfinite(array).all():
            raise SchemaError(
                f"concentration_by: the {role}= column {column!r} has "
                f"{int((~np.isfinite(array)).sum())} missing or infinite value(s); fill them "
                "(e.g. .fillna(0.0) for customers with no profit record) or drop those rows."
            )
        frame[role] = array
    frame["n_customers"] = 1
    grouped = frame.groupby(labels, observed=True, sort=True).sum()
    if isinstance(labels.dtype, pd.CategoricalDtype):
        # observed=True drops empty categories; show them as zero rows instead.
        grouped = grouped.reindex(labels.cat.categories, fill_value=0)
    # a renamed copy: naming the categories Index in place would rename the
    # caller's categorical dtype too
    grouped = grouped.rename_axis(by)
    n = len(table)
    out = pd.DataFrame(index=grouped.index)
    out["n_customers"] = grouped["n_customers"].astype("int64")
    out["customer_share"] = out["n_customers"] / n
    for role, column in value_columns.items():
        if column is None:
            continue
        sums = grouped[role].astype("float64")
        total = float(frame[role].sum())
        out[role] = sums
        out[f"{role}_share"] = sums / total if total > 0 else np.nan
    return out
