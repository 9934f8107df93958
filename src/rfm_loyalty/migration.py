"""Segment migration: how customers move between labels from one date to another.

The same order history is labelled twice, at ``from_date`` and at
``to_date``, and the two labels of each customer are cross-tabulated.
Customers whose first purchase falls after ``from_date`` had no label at the
first date; they form the row :data:`NOT_YET_CUSTOMER`, so that the matrix
accounts for every customer known at ``to_date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from rfm_loyalty.lifecycle import lifecycle_labels
from rfm_loyalty.orders import Orders, as_orders
from rfm_loyalty.scoring import RFMScorer
from rfm_loyalty.segments import assign_segments
from rfm_loyalty.summary import rfm_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rfm_loyalty.lifecycle import LifecycleRules
    from rfm_loyalty.segments import Segment

__all__ = ["NOT_YET_CUSTOMER", "MigrationResult", "segment_migration"]

#: Row label of the customers whose first purchase is after ``from_date``.
NOT_YET_CUSTOMER = "not yet a customer"

_BY = ("lifecycle", "segment")
_EDGES = ("from_date", "refit")


@dataclass(frozen=True)
class MigrationResult:
    """Label-to-label movements of customers between two dates.

    Attributes
    ----------
    counts : pandas.DataFrame
        Rows: the labels at ``from_date`` in their natural order, then
        :data:`NOT_YET_CUSTOMER` (index named ``from_label``). Columns: the
        labels at ``to_date`` (named ``to_label``). Cells (int64): customers
        with that pair of labels. Every label appears, with zeros when
        nobody holds it; the total is the number of customers with a
        purchase on or before ``to_date``.
    shares : pandas.DataFrame
        Same shape; ``counts`` divided by its row total (float64), so each
        row with customers sums to 1. A row without customers is NaN: there
        is no one whose movement could be shared out.
    customers : pandas.DataFrame
        Index ``customer_id``; ``from_label`` and ``to_label`` (ordered
        categories with the row and column labels above): who moved where.
    from_date, to_date : pandas.Timestamp
        The two analysis dates.
    by : str
        ``"lifecycle"`` or ``"segment"`` (other labellings built on
        :func:`migration_from_labels` name their own, e.g. ``"loyalty_stage"``).
    edges : str
        For ``by="segment"``: ``"from_date"`` (the to_date table was scored
        on the score edges learned at from_date) or ``"refit"``.
    """

    counts: pd.DataFrame
    shares: pd.DataFrame
    customers: pd.DataFrame
    from_date: pd.Timestamp
    to_date: pd.Timestamp
    by: str
    edges: str

    def retained_share(self) -> pd.Series:
        """Return, per label at ``from_date``, the share still in the same label.

        Returns
        -------
        pandas.Series
            float64, indexed by the ``from_date`` labels that also exist at
            ``to_date`` (the diagonal of ``shares``).
        """
        common = [label for label in self.shares.index if label in self.shares.columns]
        values = [self.shares.loc[label, label] for label in common]
        return pd.Series(values, index=pd.Index(common, name="label"), dtype="float64",
                         name="retained_share")


def _lifecycle(prepared: Orders, rules: LifecycleRules | None) -> pd.Series:
    return lifecycle_labels(prepared, rules=rules)["lifecycle"]


def _segments(
    prepared_from: Orders,
    prepared_to: Orders,
    *,
    edges: str,
    scorer: RFMScorer | None,
    segment_rules: str | Sequence[Segment],
) -> tuple[pd.Series, pd.Series]:
    template = scorer if scorer is not None else RFMScorer()
    table_from = rfm_table(prepared_from)
    table_to = rfm_table(prepared_to)
    # sklearn's clone copies the unfitted configuration, never fitted state
    from sklearn.base import clone

    scorer_from = clone(template).fit(table_from)
    scorer_to = scorer_from if edges == "from_date" else clone(template).fit(table_to)
    labels_from = assign_segments(scorer_from.transform(table_from), segment_rules)["segment"]
    labels_to = assign_segments(scorer_to.transform(table_to), segment_rules)["segment"]
    return labels_from, labels_to


def _categories(labels: pd.Series) -> list[Any]:
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return list(labels.cat.categories)
    return sorted(pd.unique(labels.dropna()).tolist(), key=str)


def segment_migration(
    orders: Orders | pd.DataFrame,
    from_date: pd.Timestamp | str,
    to_date: pd.Timestamp | str,
    *,
    by: Literal["lifecycle", "segment"] = "lifecycle",
    edges: Literal["from_date", "refit"] = "from_date",
    scorer: RFMScorer | None = None,
    segment_rules: str | Sequence[Segment] = "default",
    lifecycle_rules: LifecycleRules | None = None,
) -> MigrationResult:
    """Cross-tabulate each customer's label at ``from_date`` against ``to_date``.

    Parameters
    ----------
    orders : Orders or DataFrame
        Prepared orders or a canonical order frame, covering ``to_date``.
    from_date, to_date : Timestamp or str
        The two analysis dates, ``from_date < to_date``. Each labelling uses
        only the orders on or before its date.
    by : {"lifecycle", "segment"}, default "lifecycle"
        ``"lifecycle"``: :func:`~rfm_loyalty.lifecycle.lifecycle_labels`.
        ``"segment"``: RFM scores and :func:`~rfm_loyalty.segments.assign_segments`.
    edges : {"from_date", "refit"}, default "from_date"
        Only for ``by="segment"``. ``"from_date"`` scores the ``to_date``
        table on the score edges learned at ``from_date``, so a customer
        changes segment only when their own recency, frequency or spend
        changed: movements are real. ``"refit"`` learns new quantile edges
        at ``to_date``; then a customer can change segment because the
        others changed (everyone's scores are relative), which measures
        rank movements rather than behaviour.
    scorer : RFMScorer, optional
        Unfitted scorer whose configuration is used (it is cloned, never
        modified); default ``RFMScorer()``.
    segment_rules : str or sequence of Segment, default "default"
        Segment rules for ``assign_segments``.
    lifecycle_rules : LifecycleRules, optional
        Rules for ``lifecycle_labels``; default the seed rules.

    Returns
    -------
    MigrationResult
        ``counts`` and ``shares`` matrices (from label x to label, with the
        :data:`NOT_YET_CUSTOMER` row), the per-customer ``customers`` table
        and the dates; see :class:`MigrationResult`.

    Examples
    --------
    >>> import pandas as pd
    >>> from rfm_loyalty.migration import segment_migration
    >>> orders = pd.DataFrame({
    ...     "customer_id": ["a", "b", "b", "c"],
    ...     "order_date": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-06-25",
    ...                                   "2024-06-01"]),
    ...     "amount": [10.0, 20.0, 15.0, 30.0],
    ... })
    >>> moves = segment_migration(orders, "2024-01-31", "2024-06-30")
    >>> moves.counts.loc[["new", "not yet a customer"], ["new", "returning", "high_recovery"]]
    to_label            new  returning  high_recovery
    from_label
    new                   0          1              1
    not yet a customer    1          0              0
    """
    if by not in _BY:
        raise ValueError(
            f"The 'by' parameter of segment_migration must be one of {list(_BY)}. "
            f"Got {by!r} instead."
        )
    if edges not in _EDGES:
        raise ValueError(
            f"The 'edges' parameter of segment_migration must be one of {list(_EDGES)}. "
            f"Got {edges!r} instead."
        )
    start, end = pd.Timestamp(from_date).normalize(), pd.Timestamp(to_date).normalize()
    if not start < end:
        raise ValueError(
            "segment_migration needs from_date < to_date. Got "
            f"from_date={from_date!r} and to_date={to_date!r}; swap or change them."
        )
    prepared_to = as_orders(orders, as_of=end)
    prepared_from = prepared_to.until(start)
    if by == "lifecycle":
        labels_from = _lifecycle(prepared_from, lifecycle_rules)
        labels_to = _lifecycle(prepared_to, lifecycle_rules)
    else:
        labels_from, labels_to = _segments(
            prepared_from, prepared_to, edges=edges, scorer=scorer, segment_rules=segment_rules
        )

    return migration_from_labels(labels_from, labels_to, from_date=start, to_date=end, by=by,
                                 edges=edges)


def migration_from_labels(
    labels_from: pd.Series,
    labels_to: pd.Series,
    *,
    from_date: pd.Timestamp,
    to_date: pd.Timestamp,
    by: str,
    edges: str = "",
) -> MigrationResult:
    """Cross-tabulate two labellings of the same customers (the body of segment_migration).

    ``labels_from`` and ``labels_to`` are indexed by customer id; every
    customer of ``labels_from`` must be in ``labels_to``, whose other
    customers form the :data:`NOT_YET_CUSTOMER` row. Categorical labels keep
    their category order. Other labellings of customers (loyalty stages,
    member tiers) reuse it, so every migration table has the same shape.
    """
    rows = [*_categories(labels_from), NOT_YET_CUSTOMER]
    columns = _categories(labels_to)
    # Every customer with a purchase by from_date also has one by to_date.
    from_text = labels_from.astype("object").reindex(labels_to.index).fillna(NOT_YET_CUSTOMER)
    from_code = pd.Index(rows).get_indexer(pd.Index(from_text))
    to_code = pd.Index(columns).get_indexer(pd.Index(labels_to.astype("object")))
    pair = from_code * len(columns) + to_code
    cells = np.bincount(pair, minlength=len(rows) * len(columns))
    counts = pd.DataFrame(
        cells.reshape(len(rows), len(columns)).astype("int64"),
        index=pd.Index(rows, name="from_label"),
        columns=pd.Index(columns, name="to_label"),
    )
    totals = counts.sum(axis=1).astype("float64")
    shares = counts.div(totals.where(totals > 0), axis=0).astype("float64")
    customers = pd.DataFrame(
        {
            "from_label": pd.Categorical.from_codes(
                from_code, categories=pd.Index(rows), ordered=True
            ),
            "to_label": pd.Categorical.from_codes(
                to_code, categories=pd.Index(columns), ordered=True
            ),
        },
        index=labels_to.index,
    )
    return MigrationResult(
        counts=counts,
        shares=shares,
        customers=customers,
        from_date=from_date,
        to_date=to_date,
        by=by,
        edges=edges,
    )
