"""After the campaign: what the treatment group did that the control group did not."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty._campaigns import files
from rfm_loyalty._campaigns.compare import (
    METRICS,
    compare,
    economics_table,
    few_buyers_note,
    group_table,
    label_table,
    power_note,
    summary_table,
    text_column,
)
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import Amount, Choice, Fraction, Optional, Whole, check
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import CampaignWarning, InvalidParameterError, SchemaError
from rfm_loyalty.orders import OrderColumns, Orders, as_orders, prepare_orders, read_orders

if TYPE_CHECKING:
    from rfm_loyalty._campaigns.audience import Audience

OWNER = "campaign_lift"
@dataclass(frozen=True, eq=False)
class CampaignLift:
    """Treatment vs control after a campaign: made by :func:`~rfm_loyalty.campaigns.campaign_lift`.

    Attributes
    ----------
    campaign : str
    start, end : pandas.Timestamp
        The measurement window (calendar days, both included).
    confidence : float
        Level of every interval.
    groups : pandas.DataFrame
        Index ``group`` (treatment, control): ``customers``, ``responders``,
        ``orders`` (int64), ``response_rate``, ``orders_per_customer``,
        ``revenue``, ``revenue_per_customer`` (float64).
    summary : pandas.DataFrame
        Index ``metric`` (the metrics asked for): ``treatment``, ``control``
        (rate or mean per customer), ``difference`` (treatment - control),
        ``lower``, ``upper`` (the interval), ``relative_lift``
        (difference / control), ``mde`` (the minimum detectable difference at
        80% power), all float64; ``method`` (text).
    by_lifecycle, by_segment : pandas.DataFrame
        Index (label, ``metric``): ``n_treatment``, ``n_control`` (int64),
        ``treatment``, ``control``, ``difference``, ``lower``, ``upper``
        (float64; the last three NaN when a group is under
        ``min_group_size``), ``note`` (text: why they are NaN).
    economics : pandas.DataFrame
        Index ``item``: ``incremental_responders``, ``incremental_orders``,
        ``incremental_revenue`` (n_treatment x the difference per customer),
        ``campaign_cost``, ``revenue_per_cost`` (incremental revenue / cost),
        ``incremental_profit`` (margin x incremental revenue - cost) and
        ``roi`` (incremental profit / cost), the last two only with a
        margin; columns ``estimate``, ``lower``, ``upper`` (float64).
    customers : pandas.DataFrame
        Index ``customer_id``: ``group``, ``lifecycle``, ``segment`` (text),
        ``orders`` (int64, purchases in the window), ``revenue`` (float64,
        net amount in the window), ``responded`` (bool).
    notes : tuple of str
    params : Mapping
    """

    campaign: str
    start: pd.Timestamp
    end: pd.Timestamp
    confidence: float
    groups: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    by_lifecycle: pd.DataFrame = field(repr=False)
    by_segment: pd.DataFrame = field(repr=False)
    economics: pd.DataFrame = field(repr=False)
    customers: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        from rfm_loyalty._campaigns.render import lift_text

        return lift_text(self)

    def _repr_html_(self) -> str:
        from rfm_loyalty._campaigns.render import lift_html

        return lift_html(self)

    def export(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write every table as CSV (UTF-8 with BOM) and ``lift.json`` into a folder.

        Parameters
        ----------
        folder : path-like
            Created when missing; each file is written atomically.

        Returns
        -------
        list of pathlib.Path
            ``lift_summary.csv``, ``lift_groups.csv``, ``lift_by_lifecycle.csv``,
            ``lift_by_segment.csv``, ``lift_economics.csv``,
            ``lift_customers.csv``, then ``lift.json`` (campaign, window,
            notes, parameters).

        Examples
        --------
        >>> import tempfile
        >>> from rfm_loyalty import analyze
        >>> from rfm_loyalty.campaigns import campaign_lift, select_audience
        >>> from rfm_loyalty.datasets import load_sample_orders, make_campaign_orders
        >>> audience = select_audience(analyze(load_sample_orders()), name="spring")
        >>> after = make_campaign_orders(audience, start="2025-01-01", end="2025-01-31")
        >>> lift = campaign_lift(after.orders, audience, start="2025-01-01", end="2025-01-31",
        ...                      detect_lift=None)
        >>> [p.name for p in lift.export(tempfile.mkdtemp())][-1]
        'lift.json'
        """
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        tables = {"lift_summary": self.summary, "lift_groups": self.groups,
                  "lift_by_lifecycle": self.by_lifecycle, "lift_by_segment": self.by_segment,
                  "lift_economics": self.economics, "lift_customers": self.customers}
        written = [files.write_frame(frame.reset_index(), target / f"{stem}.csv", "csv",
                                     "utf-8-sig") for stem, frame in tables.items()]
        record = {"campaign": self.campaign, "start": self.start.date().isoformat(),
                  "end": self.end.date().isoformat(), "confidence": self.confidence,
                  "notes": list(self.notes), "parameters": dict(self.params),
                  "files": [p.name for p in written]}
        written.append(files.write_json(record, target / "lift.json"))
        return written


def campaign_lift(
    orders_after: Orders | pd.DataFrame | str | os.PathLike[str],
    audience: Audience | pd.DataFrame | str | os.PathLike[str],
    *,
    start: Any,
    end: Any,
    metric: str | Sequence[str] = METRICS,
    columns: OrderColumns | Mapping[str, str] | str | None = None,
    min_group_size: int = 30,
    detect_lift: float | None = 0.02,
    cost: float | None = None,
    margin: float | None = None,
    confidence: float = 0.95,
) -> CampaignLift:
    """Compare treatment with control over the orders of a window after the campaign.

    Every customer of the assignment counts in their group whether or not
    the message reached them (intention to treat); customers without an order
    in the window count with zero.

    Parameters
    ----------
    orders_after : Orders, pandas.DataFrame or path
        The orders after the campaign (earlier and later ones may be in it:
        only those dated in the window count). A DataFrame with ``columns``
        None needs the canonical names (``customer_id``, ``order_date``,
        ``amount``, optionally ``order_id``); a path is read with
        :func:`~rfm_loyalty.orders.read_orders`.
    audience : Audience, pandas.DataFrame or path
        The audience, its ``assignments()`` table, or the assignment file.
    start, end : date-like
        First and last day of the window (ISO text or dates), both included.
    metric : str or sequence of str, default ("response", "revenue", "orders")
        ``response``: share of the group with a purchase in the window;
        ``revenue``: net amount of the orders in the window per customer
        (returns dated in the window reduce it); ``orders``: purchases in the
        window per customer.
    columns : OrderColumns, dict or "auto", optional
        Column names of ``orders_after`` (not for ``Orders``).
    min_group_size : int, default 30
        The per-label tables give an interval only where both groups have at
        least this many customers.
    detect_lift : float or None, default 0.02
        The response-rate lift (0.02 = 2 points) the comparison should detect:
        a :class:`~rfm_loyalty.exceptions.CampaignWarning` says when the
        minimum detectable lift at 80% power is larger. None: no warning.
    cost : float, optional
        The campaign's cost; default the sum of the assignment's
        ``contact_cost`` (the treatment contacts x cost per contact).
    margin : float, optional
        Gross margin (a fraction of revenue) for ``incremental_profit`` and
        ``roi``.
    confidence : float, default 0.95

    Returns
    -------
    CampaignLift
        ``groups``, ``summary``, ``by_lifecycle``, ``by_segment``,
        ``economics``, ``customers`` as documented in :class:`CampaignLift`.

    Raises
    ------
    InvalidParameterError
        A parameter is invalid, ``end`` is before ``start``, or the
        assignment has no control or no treatment customer.
    SchemaError
        The assignment table is not one (columns, duplicate ids, several
        campaigns).

    Warns
    -----
    CampaignWarning
        The response lift detectable at 80% power is larger than
        ``detect_lift`` (with the control size that would be needed); a group
        has fewer than 50 buyers (the Welch intervals of revenue and orders can
        then be too narrow); the window ends after the last order. Each is
        also in ``notes``.

    Notes
    -----
    Response: the difference of the two rates with Newcombe's hybrid score
    interval (Newcombe 1998, method 10), which keeps its coverage for small
    rates and groups. Revenue and orders: the difference of the means with
    Welch's t interval. The minimum detectable difference is ``(z_0.975 +
    z_0.8) x se`` (two-sided 5% test, 80% power), with the rate's se at the
    control group's response rate (the base rate; the pooled rate when the
    control rate is 0 or 1), as ``Audience.minimum_detectable_lift`` plans it.

    Examples
    --------
    >>> from rfm_loyalty import analyze
    >>> from rfm_loyalty.campaigns import campaign_lift, select_audience
    >>> from rfm_loyalty.datasets import load_sample_orders, make_campaign_orders
    >>> audience = select_audience(analyze(load_sample_orders()), name="spring", holdout=0.5)
    >>> after = make_campaign_orders(audience, start="2025-01-01", end="2025-01-31",
    ...                              response_lift=0.1, random_state=3)
    >>> lift = campaign_lift(after.orders, audience, start="2025-01-01", end="2025-01-31")
    >>> row = lift.summary.loc["response", ["treatment", "control", "difference"]]
    >>> row.astype(float).round(3).tolist()
    [0.172, 0.049, 0.123]
    """
    p = check_lift_params(start, end, metric, min_group_size, detect_lift, cost, margin,
                          confidence)
    assignment = _assignment(audience)
    if not callable(getattr(audience, "assignments", None)):  # an Audience is valid as made
        _check_assignment(assignment)
    elif len(assignment) and not (assignment["group"] == "control").any():
        _check_assignment(assignment)  # says that there is no control group
    orders = _orders(orders_after, columns)
    ids = pd.Index(assignment["customer_id"].to_numpy(dtype=object))
    n_orders, revenue, notes = _outcomes(orders, ids, p["start"], p["end"])
    campaign_date = pd.Timestamp(assignment["campaign_date"].iloc[0])
    if p["start"] < campaign_date:
        notes.insert(0, f"The window starts on {p['start'].date()}, before the campaign date "
                        f"{campaign_date.date()}: purchases before the messages went out count.")
    if orders.as_of < p["end"]:
        message = (f"The window ends on {p['end'].date()} but the orders end on "
                   f"{orders.as_of.date()}: the rest of the window is missing from both groups.")
        notes.insert(0, message)
        warn_user(f"{OWNER}: {message}", CampaignWarning)
    treated = (assignment["group"] == "treatment").to_numpy()
    result = compare(treated, n_orders, revenue, p["confidence"])
    summary = summary_table(result, p)
    for note in (power_note(result, summary, p), few_buyers_note(treated, n_orders, p)):
        if note:
            notes.append(note)
            warn_user(f"{OWNER}: {note}", CampaignWarning)
    contact_cost = (float(assignment.loc[treated, "contact_cost"].sum())
                    if "contact_cost" in assignment.columns else np.nan)
    campaign_cost = p["cost"] if p["cost"] is not None else contact_cost
    customers = pd.DataFrame({
        "group": assignment["group"].to_numpy(),
        "lifecycle": text_column(assignment, "lifecycle"),
        "segment": text_column(assignment, "segment"),
        "orders": n_orders.astype(np.int64), "revenue": revenue, "responded": n_orders > 0,
    }, index=ids.rename("customer_id"))
    return CampaignLift(
        campaign=str(assignment["campaign"].iloc[0]), start=p["start"], end=p["end"],
        confidence=p["confidence"], groups=group_table(treated, n_orders, revenue),
        summary=summary,
        by_lifecycle=label_table(customers, "lifecycle", p),
        by_segment=label_table(customers, "segment", p),
        economics=economics_table(result, campaign_cost, p), customers=customers,
        notes=tuple(notes), params=MappingProxyType(_params(p, campaign_cost)),
    )


def check_lift_params(start: Any, end: Any, metric: Any = METRICS, min_group_size: Any = 30,
                      detect_lift: Any = 0.02, cost: Any = None, margin: Any = None,
                      confidence: Any = 0.95) -> dict[str, Any]:
    """Check the parameters of :func:`campaign_lift` (the CLI calls it before reading)."""
    p: dict[str, Any] = {"start": as_date(start, name="start"), "end": as_date(end, name="end")}
    if p["end"] < p["start"]:
        raise InvalidParameterError(
            f"The window of {OWNER} must end on or after its start. Got start="
            f"{p['start'].date()} and end={p['end'].date()}."
        )
    metrics = [metric] if isinstance(metric, str) else list(metric)
    for m in metrics:
        check(m, Choice(*METRICS), name="metric", owner=OWNER)
    if not metrics:
        raise InvalidParameterError(
            f"The 'metric' parameter of {OWNER} must name at least one of {list(METRICS)!r}."
        )
    p["metric"] = tuple(dict.fromkeys(metrics))
    p["min_group_size"] = check(min_group_size, Whole(minimum=2, example=30),
                                name="min_group_size", owner=OWNER)
    p["detect_lift"] = check(detect_lift, Optional(Fraction(low_open=True, high_open=True)),
                             name="detect_lift", owner=OWNER)
    p["cost"] = check(cost, Optional(Amount(example=100.0)), name="cost", owner=OWNER)
    p["margin"] = check(margin, Optional(Fraction(low_open=True)), name="margin", owner=OWNER)
    p["confidence"] = check(confidence, Fraction(low_open=True, high_open=True),
                            name="confidence", owner=OWNER)
    return p


def _assignment(audience: Any) -> pd.DataFrame:
    if isinstance(audience, pd.DataFrame):
        return files.typed_assignment(audience, source="the assignment table")
    if isinstance(audience, (str, os.PathLike)):
        return files.read_assignment(Path(audience), None, owner=OWNER)
    if callable(getattr(audience, "assignments", None)):
        frame: pd.DataFrame = audience.assignments()
        return frame
    raise InvalidParameterError(
        f"The 'audience' parameter of {OWNER} must be an Audience, its assignments() table "
        f"or the path of an assignment file. Got {type(audience).__name__} instead."
    )


def _check_assignment(assignment: pd.DataFrame) -> None:
    campaigns = pd.unique(assignment["campaign"])
    if len(campaigns) > 1:
        raise SchemaError(
            f"The assignment holds {len(campaigns)} campaigns ({list(campaigns[:3])!r}); "
            f"{OWNER} measures one: pass the rows of one campaign."
        )
    duplicated = assignment["customer_id"][assignment["customer_id"].duplicated()]
    if len(duplicated):
        raise SchemaError(
            f"The assignment lists {len(duplicated)} customers more than once, e.g. "
            f"{list(duplicated.unique()[:3])!r}; every customer belongs to one group."
        )
    counts = assignment["group"].value_counts()
    for group in ("treatment", "control"):
        if counts.get(group, 0) == 0:
            raise InvalidParameterError(
                f"The assignment has no {group} customer, so {OWNER} has nothing to compare; "
                "select the audience with a holdout between 0 and 1 (e.g. holdout=0.1)."
            )


def _orders(data: Any, columns: Any) -> Orders:
    if isinstance(data, Orders):
        if columns is not None:
            raise InvalidParameterError(
                f"The 'columns' parameter of {OWNER} applies to a DataFrame or a file; "
                "prepared Orders already know their columns. Leave it None."
            )
        return data
    if isinstance(data, pd.DataFrame):
        return as_orders(data) if columns is None else prepare_orders(data, columns)
    if isinstance(data, (str, os.PathLike)):
        return read_orders(data, columns)
    raise InvalidParameterError(
        f"The 'orders_after' parameter of {OWNER} must be Orders, a DataFrame of order lines "
        f"or a file path. Got {type(data).__name__} instead."
    )


def _outcomes(orders: Orders, ids: pd.Index, start: pd.Timestamp,
              end: pd.Timestamp) -> tuple[np.ndarray, np.ndarray, list[str]]:
    frame = orders.frame
    day = frame["order_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    before = day < np.datetime64(start.date(), "D")
    after = day > np.datetime64(end.date(), "D")
    position = ids.get_indexer(pd.Index(frame["customer_id"].to_numpy(dtype=object)))
    inside = ~before & ~after
    used = inside & (position >= 0)
    purchase = frame["is_purchase"].to_numpy(dtype=bool)
    n_orders = np.bincount(position[used & purchase], minlength=len(ids)).astype(float)
    revenue = np.bincount(position[used], weights=frame["amount"].to_numpy(dtype=float)[used],
                          minlength=len(ids))
    notes = []
    outside = inside & (position < 0)
    if before.any() or after.any():
        notes.append(f"Not counted: {_count(before.sum(), 'order')} dated before the window "
                     f"and {_count(after.sum(), 'order')} after it.")
    if outside.any():
        others = frame["customer_id"].to_numpy(dtype=object)[outside]
        notes.append(f"Not counted: {_count(outside.sum(), 'order')} in the window by "
                     f"{_count(len(pd.unique(others)), 'customer')} outside the audience.")
    return n_orders, revenue, notes


def _count(n: Any, noun: str) -> str:
    return f"{int(n):,} {noun}" + ("" if int(n) == 1 else "s")


def _params(p: dict[str, Any], cost: float) -> dict[str, Any]:
    return {"start": p["start"].date().isoformat(), "end": p["end"].date().isoformat(),
            "metric": list(p["metric"]), "min_group_size": p["min_group_size"],
            "detect_lift": p["detect_lift"], "cost": None if np.isnan(cost) else cost,
            "cost_given": p["cost"] is not None, "margin": p["margin"],
            "confidence": p["confidence"]}
