"""The seed's stability x size grid: static / stable / short-term x large / medium / small.

The seed names the nine cells but does not define them. The operational
definitions below are **our proposal** (see ``docs/lifecycle.md``), chosen so
that each can be checked by hand from a customer's purchase dates and spend:

* **size** from ``monetary_total``: ``small`` up to the first threshold,
  ``medium`` up to the second, ``large`` above (thresholds inclusive). By
  default the thresholds are the customers' tertiles (observed values, so
  equal spend always gets equal size); business thresholds can be given.
* **stability** from tenure and the regularity of the gaps between purchase
  days:

  - ``short_term``: known for fewer than ``min_tenure_days`` (too new to judge);
  - ``stable``: known long enough, at least ``min_purchase_days`` distinct
    purchase days, gaps regular (coefficient of variation of the gaps
    <= ``max_gap_cv``) and still on rhythm (days since the last purchase
    <= ``max_overdue_ratio`` x the mean gap);
  - ``static``: known long enough but not stable (one or two purchase days,
    irregular gaps, or overdue against their own rhythm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._validation import Days, Real, Whole, check_params
from rfm_loyalty.exceptions import SchemaError
from rfm_loyalty.orders import Orders, as_orders
from rfm_loyalty.summary import rfm_table

__all__ = [
    "SIZE_LABELS",
    "STABILITY_LABELS",
    "StabilityGrid",
    "purchase_gap_stats",
    "stability_size_grid",
    "stability_size_labels",
]

#: Stability labels in grid order (rows).
STABILITY_LABELS: tuple[str, ...] = ("stable", "static", "short_term")
#: Size labels in grid order (columns).
SIZE_LABELS: tuple[str, ...] = ("large", "medium", "small")

_TABLE_COLUMNS = (
    "recency_days", "tenure_days", "purchase_days", "monetary_total", "gap_mean_days", "gap_cv",
)


def purchase_gap_stats(orders: Orders | pd.DataFrame, *, as_of: Any = None) -> pd.DataFrame:
    """Mean and coefficient of variation of the gaps between purchase days.

    Parameters
    ----------
    orders : Orders or pandas.DataFrame
        Prepared orders or a DataFrame with the canonical columns.
    as_of : date-like, optional
        Analysis date; default ``orders.as_of``. Later orders are ignored.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (sorted), one row per customer with a purchase:

        ============= ======= ===============================================
        column        dtype   meaning
        ============= ======= ===============================================
        gap_mean_days float64 mean days between consecutive purchase days
                              (NaN with a single purchase day)
        gap_cv        float64 standard deviation (population) / mean of those
                              gaps; 0 = perfectly regular; NaN with fewer than
                              two gaps
        ============= ======= ===============================================

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.stability import purchase_gap_stats
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-05"]),
    ...     "amount": [1.0, 1.0, 1.0, 1.0]})
    >>> purchase_gap_stats(orders)
                 gap_mean_days    gap_cv
    customer_id
    a                     15.0  0.333333
    b                      NaN       NaN
    """
    prepared = as_orders(orders, as_of)
    frame = prepared.frame
    bought = frame.loc[frame["is_purchase"].to_numpy(dtype=bool), ["customer_id", "order_date"]]
    codes, ids = pd.factorize(bought["customer_id"], sort=True)
    day = bought["order_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    # Distinct (customer, day) pairs sorted by customer then day; the gaps are
    # the day differences between neighbours of the same customer.
    pairs = np.unique(np.stack([codes.astype(np.int64), day]), axis=1)
    cust, days = pairs[0], pairs[1]
    same = cust[1:] == cust[:-1]
    gaps = (days[1:] - days[:-1])[same].astype("float64")
    gap_owner = cust[1:][same]
    n = len(ids)
    count = np.bincount(gap_owner, minlength=n)
    total = np.bincount(gap_owner, weights=gaps, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        squares = np.bincount(gap_owner, weights=(gaps - mean[gap_owner]) ** 2, minlength=n)
        cv = np.sqrt(squares / count) / mean
    cv[count < 2] = np.nan
    return pd.DataFrame(
        {"gap_mean_days": mean, "gap_cv": cv},
        index=pd.Index(np.asarray(ids), name="customer_id"),
    )


def stability_size_labels(
    orders_or_table: Orders | pd.DataFrame,
    *,
    as_of: Any = None,
    size_thresholds: tuple[float, float] | None = None,
    min_tenure_days: int = 180,
    min_purchase_days: int = 3,
    max_gap_cv: float = 1.0,
    max_overdue_ratio: float = 2.0,
) -> pd.DataFrame:
    """Label each customer with its stability and size (our proposed definitions).

    Parameters
    ----------
    orders_or_table : Orders or pandas.DataFrame
        Orders (prepared, or a DataFrame with the canonical columns), or a
        customer table holding ``recency_days, tenure_days, purchase_days,
        monetary_total, gap_mean_days, gap_cv`` (``rfm_table`` joined with
        :func:`purchase_gap_stats`).
    as_of : date-like, optional
        Analysis date for orders; must be None for a customer table.
    size_thresholds : (float, float), optional
        Inclusive upper ends of ``small`` and ``medium`` monetary_total.
        Default: the tertiles of the customers' monetary_total.
    min_tenure_days : int, default 180
        Customers first seen fewer days ago are ``short_term``.
    min_purchase_days : int, default 3
        Distinct purchase days needed to judge regularity (2 gaps).
    max_gap_cv : float, default 1.0
        Highest coefficient of variation of the gaps that counts as regular.
    max_overdue_ratio : float, default 2.0
        A stable customer's days since the last purchase are at most this
        many mean gaps.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; ``.attrs["size_thresholds"]`` holds the two
        thresholds used.

        ============== ================ =========================================
        column         dtype            meaning
        ============== ================ =========================================
        stability      ordered category stable, static, short_term
        size           ordered category large, medium, small
        tenure_days    int64            as_of - first purchase day
        recency_days   int64            as_of - last purchase day
        purchase_days  int64            distinct purchase days
        gap_mean_days  float64          mean gap between purchase days
        gap_cv         float64          coefficient of variation of the gaps
        monetary_total float64          net spend (revenue of the customer)
        ============== ================ =========================================

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.stability import stability_size_labels
    >>> orders = pd.DataFrame({"customer_id": ["a"] * 4 + ["b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01",
    ...                                   "2024-07-01", "2024-01-02", "2024-07-20"]),
    ...     "amount": [50.0, 50.0, 50.0, 50.0, 30.0, 10.0]})
    >>> stability_size_labels(orders, as_of="2024-08-01")[["stability", "size"]]
                  stability    size
    customer_id
    a                stable   large
    b                static  medium
    c            short_term   small
    """
    check_params("stability_size_labels", _LABEL_PARAMETERS, {
        "min_tenure_days": min_tenure_days, "min_purchase_days": min_purchase_days,
        "max_gap_cv": max_gap_cv, "max_overdue_ratio": max_overdue_ratio,
    })
    table = _customer_table(orders_or_table, as_of)
    monetary = table["monetary_total"].to_numpy(dtype="float64")
    if size_thresholds is None:
        cut = np.quantile(monetary, [1 / 3, 2 / 3], method="inverted_cdf")
        thresholds = (float(cut[0]), float(cut[1]))
    else:
        thresholds = _check_thresholds(size_thresholds)
    # Right-closed like the RFM scores: a spend equal to a threshold is the lower size.
    size_rank = np.searchsorted(np.asarray(thresholds), monetary, side="left")  # 0 small
    size_codes = 2 - size_rank  # SIZE_LABELS runs large -> small

    tenure = table["tenure_days"].to_numpy()
    recency = table["recency_days"].to_numpy()
    gap_mean = table["gap_mean_days"].to_numpy(dtype="float64")
    gap_cv = table["gap_cv"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        regular = (
            (table["purchase_days"].to_numpy() >= min_purchase_days)
            & (gap_cv <= max_gap_cv)
            & (recency <= max_overdue_ratio * gap_mean)
        )
    stability_codes = np.select([tenure < min_tenure_days, regular], [2, 0], default=1)
    out = pd.DataFrame(
        {
            "stability": pd.Categorical.from_codes(
                stability_codes.astype(np.int64), categories=pd.Index(STABILITY_LABELS),
                ordered=True,
            ),
            "size": pd.Categorical.from_codes(
                size_codes.astype(np.int64), categories=pd.Index(SIZE_LABELS), ordered=True
            ),
            "tenure_days": tenure.astype(np.int64),
            "recency_days": recency.astype(np.int64),
            "purchase_days": table["purchase_days"].to_numpy().astype(np.int64),
            "gap_mean_days": gap_mean,
            "gap_cv": gap_cv,
            "monetary_total": monetary,
        },
        index=table.index,
    )
    out.attrs["size_thresholds"] = thresholds
    if "as_of" in table.attrs:
        out.attrs["as_of"] = table.attrs["as_of"]
    return out


@dataclass(frozen=True)
class StabilityGrid:
    """The 3x3 stability x size grid and the labels it was counted from.

    Attributes
    ----------
    counts : pandas.DataFrame
        Customers per cell; rows ``stable, static, short_term`` (index
        ``stability``), columns ``large, medium, small``; int64.
    revenue : pandas.DataFrame
        Sum of monetary_total per cell, same layout; float64.
    customers : pandas.DataFrame
        The per-customer labels (:func:`stability_size_labels`).
    size_thresholds : tuple of float
        The monetary thresholds (small <= first < medium <= second < large).
    """

    counts: pd.DataFrame
    revenue: pd.DataFrame
    customers: pd.DataFrame
    size_thresholds: tuple[float, float]

    def __str__(self) -> str:
        lo, hi = self.size_thresholds
        return (
            f"Stability x size grid (size: small <= {lo:g} < medium <= {hi:g} < large)\n"
            f"Customers:\n{self.counts.to_string()}\nRevenue:\n{self.revenue.to_string()}"
        )


def stability_size_grid(
    orders_or_table: Orders | pd.DataFrame,
    *,
    as_of: Any = None,
    size_thresholds: tuple[float, float] | None = None,
    min_tenure_days: int = 180,
    min_purchase_days: int = 3,
    max_gap_cv: float = 1.0,
    max_overdue_ratio: float = 2.0,
) -> StabilityGrid:
    """Count customers and revenue in the 3x3 stability x size grid.

    Parameters
    ----------
    orders_or_table : Orders or pandas.DataFrame
        As in :func:`stability_size_labels`.
    as_of, size_thresholds, min_tenure_days, min_purchase_days, max_gap_cv, max_overdue_ratio
        As in :func:`stability_size_labels`.

    Returns
    -------
    StabilityGrid
        ``counts`` (int64) and ``revenue`` (float64) 3x3 tables, rows
        ``stable, static, short_term``, columns ``large, medium, small``; every
        cell present (0 when empty); plus the per-customer labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.stability import stability_size_grid
    >>> orders = pd.DataFrame({"customer_id": ["a"] * 4 + ["b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01",
    ...                                   "2024-07-01", "2024-01-02", "2024-07-20"]),
    ...     "amount": [50.0, 50.0, 50.0, 50.0, 30.0, 10.0]})
    >>> stability_size_grid(orders, as_of="2024-08-01").counts
    size        large  medium  small
    stability
    stable          1       0      0
    static          0       1      0
    short_term      0       0      1
    """
    labels = stability_size_labels(
        orders_or_table,
        as_of=as_of,
        size_thresholds=size_thresholds,
        min_tenure_days=min_tenure_days,
        min_purchase_days=min_purchase_days,
        max_gap_cv=max_gap_cv,
        max_overdue_ratio=max_overdue_ratio,
    )
    grouped = labels.groupby(["stability", "size"], observed=True)["monetary_total"]
    full = pd.MultiIndex.from_product(
        [list(STABILITY_LABELS), list(SIZE_LABELS)], names=["stability", "size"]
    )
    counts = _as_plain_index(grouped.size()).reindex(full, fill_value=0).astype("int64")
    revenue = _as_plain_index(grouped.sum()).reindex(full, fill_value=0.0).astype("float64")
    return StabilityGrid(
        counts=counts.unstack("size").loc[list(STABILITY_LABELS), list(SIZE_LABELS)],
        revenue=revenue.unstack("size").loc[list(STABILITY_LABELS), list(SIZE_LABELS)],
        customers=labels,
        size_thresholds=labels.attrs["size_thresholds"],
    )


def _as_plain_index(series: pd.Series) -> pd.Series:
    # Categorical levels would make reindex/unstack bring their own rules; plain text is simpler.
    series = series.copy()
    series.index = pd.MultiIndex.from_arrays(
        [series.index.get_level_values(i).astype(str) for i in range(2)],
        names=["stability", "size"],
    )
    return series


def _customer_table(data: Orders | pd.DataFrame, as_of: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame) and "customer_id" not in data.columns:
        missing = [c for c in _TABLE_COLUMNS if c not in data.columns]
        if missing:
            raise SchemaError(
                "stability_size_labels needs orders (with customer_id, order_date, "
                "amount) or a customer table with the columns "
                f"{list(_TABLE_COLUMNS)!r}; missing {missing!r}. Build the table with "
                "rfm_table(orders).join(purchase_gap_stats(orders)), or pass the orders."
            )
        if as_of is not None:
            raise ValueError(
                "as_of applies to orders only; the customer table was already computed "
                f"at its own date. Got as_of={as_of!r} with a customer table."
            )
        if len(data) == 0:
            raise SchemaError("stability_size_labels got an empty customer table (0 rows).")
        return data
    prepared = as_orders(data, as_of)
    table = rfm_table(prepared)
    return table.join(purchase_gap_stats(prepared))


def _check_thresholds(value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo, hi = np.nan, np.nan
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(
            "size_thresholds must be two increasing finite amounts (small <= first < "
            f"medium <= second < large), e.g. (100.0, 1000.0). Got {value!r}."
        )
    return lo, hi


#: The labelling thresholds, declared once (checked before any work).
_LABEL_PARAMETERS = {
    "min_tenure_days": Days(minimum=0, example=90),
    "min_purchase_days": Whole(minimum=2, example=3),
    "max_gap_cv": Real(0.0, closed="right", what="a positive number", example=1.0),
    "max_overdue_ratio": Real(0.0, closed="right", what="a positive number", example=2.0),
}
