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
from rfm_loyalty._campaigns.stats import (
    control_size_for,
    mean_difference,
    minimum_detectable,
    rate_detectable,
    rate_difference,
)
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._validation import Amount, Choice, Fraction, Optional, Whole, check
from rfm_loyalty._warnings import warn_user
from rfm_loyalty.exceptions import CampaignWarning, InvalidParameterError, SchemaError
from rfm_loyalty.orders import OrderColumns, Orders, as_orders, prepare_orders, read_orders

if TYPE_CHECKING:
    from rfm_loyalty._campaigns.audience import Audience

OWNER = "campaign_lift"
METRICS = ("response", "revenue", "orders")
METHODS = MappingProxyType({
    "response": "Newcombe hybrid score interval (Wilson score per group)",
    "revenue": "Welch t interval",
    "orders": "Welch t interval",
})
_ECONOMICS = ("incremental_responders", "incremental_orders", "incremental_revenue",
              "campaign_cost", "revenue_per_cost", "incremental_profit", "roi")
POWER = 0.8
#: Fewer buyers than this in a group and the Welch intervals of skewed revenue run narrow
#: (scripts/campaign_coverage.py: about 91% coverage with 30 control buyers); a note says so.
MIN_BUYERS = 50


def compare(treated: np.ndarray, orders: np.ndarray, revenue: np.ndarray,
            confidence: float) -> dict[str, dict[str, np.ndarray]]:
    """Treatment vs control on every metric; arrays of shape (..., customers).

    Returns per metric the ``treatment`` and ``control`` values (rate or mean
    per customer), ``estimate``, ``lower``, ``upper``, ``se``, and the group
    sizes under ``"n"``.
    """
    t = np.asarray(treated, dtype=float)
    c = 1.0 - t
    n_t, n_c = t.sum(axis=-1), c.sum(axis=-1)
    out: dict[str, dict[str, np.ndarray]] = {"n": {"treatment": n_t, "control": n_c}}
    responded = (np.asarray(orders) > 0).astype(float)
    x_t, x_c = (responded * t).sum(axis=-1), (responded * c).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["response"] = {"treatment": x_t / n_t, "control": x_c / n_c,
                           **rate_difference(x_t, n_t, x_c, n_c, confidence)}
        for metric, values in (("revenue", revenue), ("orders", orders)):
            y = np.asarray(values, dtype=float)
            mean_t = (y * t).sum(axis=-1) / n_t
            mean_c = (y * c).sum(axis=-1) / n_c
            var_t = (((y - mean_t[..., None]) ** 2) * t).sum(axis=-1) / (n_t - 1)
            var_c = (((y - mean_c[..., None]) ** 2) * c).sum(axis=-1) / (n_c - 1)
            out[metric] = {"treatment": mean_t, "control": mean_c,
                           **mean_difference(mean_t, var_t, n_t, mean_c, var_c, n_c,
                                             confidence)}
    return out


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
    >>> lift.summary.loc["response", ["treatment", "control", "difference"]].round(3).tolist()
    [0.172, 0.049, 0.123]
    """
    p = _check_params(start, end, metric, min_group_size, detect_lift, cost, margin,
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
    summary = _summary(result, p)
    for note in (_power_note(result, summary, p), _few_buyers_note(treated, n_orders, p)):
        if note:
            notes.append(note)
            warn_user(f"{OWNER}: {note}", CampaignWarning)
    contact_cost = (float(assignment.loc[treated, "contact_cost"].sum())
                    if "contact_cost" in assignment.columns else np.nan)
    campaign_cost = p["cost"] if p["cost"] is not None else contact_cost
    customers = pd.DataFrame({
        "group": assignment["group"].to_numpy(),
        "lifecycle": _text(assignment, "lifecycle"), "segment": _text(assignment, "segment"),
        "orders": n_orders.astype(np.int64), "revenue": revenue, "responded": n_orders > 0,
    }, index=ids.rename("customer_id"))
    return CampaignLift(
        campaign=str(assignment["campaign"].iloc[0]), start=p["start"], end=p["end"],
        confidence=p["confidence"], groups=_groups(treated, n_orders, revenue),
        summary=summary,
        by_lifecycle=_by_label(customers, "lifecycle", p),
        by_segment=_by_label(customers, "segment", p),
        economics=_economics(result, campaign_cost, p), customers=customers,
        notes=tuple(notes), params=MappingProxyType(_params(p, campaign_cost)),
    )


def _check_params(start: Any, end: Any, metric: Any, min_group_size: Any, detect_lift: Any,
                  cost: Any, margin: Any, confidence: Any) -> dict[str, Any]:
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


def _summary(result: dict[str, dict[str, np.ndarray]], p: dict[str, Any]) -> pd.DataFrame:
    rows = {}
    n_t, n_c = result["n"]["treatment"], result["n"]["control"]
    for metric in p["metric"]:
        r = result[metric]
        if metric == "response":
            mde = rate_detectable(_base_rate(r, n_t, n_c), n_t, n_c, power=POWER,
                                  confidence=p["confidence"])
        else:
            mde = minimum_detectable(r["se"], power=POWER, confidence=p["confidence"])
        control = float(r["control"])
        rows[metric] = {
            "treatment": float(r["treatment"]), "control": control,
            "difference": float(r["estimate"]), "lower": float(r["lower"]),
            "upper": float(r["upper"]),
            "relative_lift": float(r["estimate"]) / control if control else np.nan,
            "mde": float(mde), "method": METHODS[metric],
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "metric"
    return out.astype({c: "float64" for c in out.columns if c != "method"}).astype(
        {"method": files._TEXT})


def _base_rate(response: Mapping[Any, Any], n_t: Any, n_c: Any) -> float:
    """Return the rate a lift is detected against: the control rate (pooled at 0 or 1)."""
    control = float(response["control"])
    if 0 < control < 1:
        return control
    return float((response["treatment"] * n_t + response["control"] * n_c) / (n_t + n_c))


def _power_note(result: dict[str, dict[str, np.ndarray]], summary: pd.DataFrame,
                p: dict[str, Any]) -> str:
    lift = p["detect_lift"]
    if lift is None or "response" not in summary.index:
        return ""
    response = summary.loc["response"].to_dict()
    mde = float(response["mde"])
    if not mde > lift:  # NaN (no responder at all) says nothing about power
        return ""
    n_t, n_c = int(result["n"]["treatment"]), int(result["n"]["control"])
    rate = _base_rate(response, n_t, n_c)
    needed = control_size_for(lift, rate, n_t, power=POWER, confidence=p["confidence"])
    if np.isinf(needed):
        need = f"no control group is large enough beside {n_t:,} treatment customers"
    else:
        need = f"about {needed:,.0f} control customers would be needed"
    return (f"With {n_t:,} treatment and {n_c:,} control customers and a base response rate "
            f"of {rate:.1%}, the smallest response lift detectable at 80% power is "
            f"{100 * mde:.1f} points, more than the {100 * lift:.1f} points asked for "
            f"(detect_lift={lift:g}); {need}.")


def _few_buyers_note(treated: np.ndarray, n_orders: np.ndarray, p: dict[str, Any]) -> str:
    means = [m for m in p["metric"] if m != "response"]
    if not means:
        return ""
    buyers = {group: int((n_orders[mask] > 0).sum())
              for group, mask in (("treatment", treated), ("control", ~treated))}
    few = {group: n for group, n in buyers.items() if n < MIN_BUYERS}
    if not few:
        return ""
    listed = " and ".join(f"{n} in the {group} group" for group, n in few.items())
    return (f"Only {listed} bought in the window: the Welch intervals of "
            f"{' and '.join(means)} per customer rest on the spread of fewer than "
            f"{MIN_BUYERS} buyers and can be too narrow.")


def _groups(treated: np.ndarray, n_orders: np.ndarray, revenue: np.ndarray) -> pd.DataFrame:
    rows = {}
    for group, mask in (("treatment", treated), ("control", ~treated)):
        n = int(mask.sum())
        responders = int((n_orders[mask] > 0).sum())
        orders, money = int(n_orders[mask].sum()), float(revenue[mask].sum())
        rows[group] = {"customers": n, "responders": responders, "response_rate": responders / n,
                       "orders": orders, "orders_per_customer": orders / n, "revenue": money,
                       "revenue_per_customer": money / n}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out.astype({"customers": "int64", "responders": "int64", "orders": "int64",
                       "response_rate": "float64", "orders_per_customer": "float64",
                       "revenue": "float64", "revenue_per_customer": "float64"})


def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column in frame.columns:
        return frame[column].to_numpy(dtype=object)
    return np.full(len(frame), "", dtype=object)


def _by_label(customers: pd.DataFrame, column: str, p: dict[str, Any]) -> pd.DataFrame:
    """One block of rows per label: sizes, group values and, when large enough, the interval."""
    labels = [x for x in pd.unique(customers[column]) if x != ""]
    treated_all = (customers["group"] == "treatment").to_numpy()
    orders_all = customers["orders"].to_numpy(dtype=float)
    revenue_all = customers["revenue"].to_numpy(dtype=float)
    rows = []
    minimum = p["min_group_size"]
    for label in sorted(labels, key=str):  # one pass per label, not per customer
        mask = (customers[column] == label).to_numpy()
        treated = treated_all[mask]
        result = compare(treated, orders_all[mask], revenue_all[mask], p["confidence"])
        n_t, n_c = int(treated.sum()), int((~treated).sum())
        small = min(n_t, n_c) < minimum
        note = (f"fewer than {minimum} customers in the "
                f"{'treatment' if n_t < minimum else 'control'} group") if small else ""
        for metric in p["metric"]:
            r = result[metric]
            rows.append({
                column: label, "metric": metric, "n_treatment": n_t, "n_control": n_c,
                "treatment": float(r["treatment"]), "control": float(r["control"]),
                "difference": np.nan if small else float(r["estimate"]),
                "lower": np.nan if small else float(r["lower"]),
                "upper": np.nan if small else float(r["upper"]), "note": note,
            })
    columns = [column, "metric", "n_treatment", "n_control", "treatment", "control",
               "difference", "lower", "upper", "note"]
    out = pd.DataFrame(rows, columns=columns)
    out = out.astype({"n_treatment": "int64", "n_control": "int64", "treatment": "float64",
                      "control": "float64", "difference": "float64", "lower": "float64",
                      "upper": "float64", column: files._TEXT, "metric": files._TEXT,
                      "note": files._TEXT})
    return out.set_index([column, "metric"])


def _economics(result: dict[str, dict[str, np.ndarray]], cost: float,
               p: dict[str, Any]) -> pd.DataFrame:
    n_t = float(result["n"]["treatment"])
    nan3 = (np.nan, np.nan, np.nan)

    def scaled(metric: str) -> tuple[float, float, float]:
        if metric not in p["metric"]:
            return nan3
        r = result[metric]
        return (n_t * float(r["estimate"]), n_t * float(r["lower"]), n_t * float(r["upper"]))

    revenue = scaled("revenue")
    rows: dict[str, tuple[float, float, float]] = {
        "incremental_responders": scaled("response"),
        "incremental_orders": scaled("orders"),
        "incremental_revenue": revenue,
        "campaign_cost": (cost, cost, cost),
        "revenue_per_cost": _divide(revenue, cost),
    }
    margin = p["margin"]
    if margin is not None and not np.isnan(cost):
        profit = (margin * revenue[0] - cost, margin * revenue[1] - cost,
                  margin * revenue[2] - cost)
        rows["incremental_profit"] = profit
        rows["roi"] = _divide(profit, cost)
    else:
        rows["incremental_profit"] = rows["roi"] = nan3
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "lower", "upper"])
    out = out.reindex(list(_ECONOMICS)).astype("float64")
    out.index.name = "item"
    return out


def _divide(values: tuple[float, float, float], cost: float) -> tuple[float, float, float]:
    if not cost > 0:  # no cost (or unknown): no ratio
        return (np.nan, np.nan, np.nan)
    return (values[0] / cost, values[1] / cost, values[2] / cost)


def _params(p: dict[str, Any], cost: float) -> dict[str, Any]:
    return {"start": p["start"].date().isoformat(), "end": p["end"].date().isoformat(),
            "metric": list(p["metric"]), "min_group_size": p["min_group_size"],
            "detect_lift": p["detect_lift"], "cost": None if np.isnan(cost) else cost,
            "cost_given": p["cost"] is not None, "margin": p["margin"],
            "confidence": p["confidence"]}
