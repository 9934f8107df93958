"""The comparison of treatment and control: intervals, power, per-label tables, economics.

:func:`compare` works on arrays of shape (..., customers), so one call
compares one campaign or many simulated ones; the table builders turn its
result into the documented tables of :class:`~rfm_loyalty.campaigns.CampaignLift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

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


def summary_table(result: dict[str, dict[str, np.ndarray]], p: dict[str, Any]) -> pd.DataFrame:
    """Build the ``summary`` table: one row per metric asked for."""
    rows = {}
    n_t, n_c = result["n"]["treatment"], result["n"]["control"]
    for metric in p["metric"]:
        r = result[metric]
        if metric == "response":
            mde = rate_detectable(base_rate(r, n_t, n_c), n_t, n_c, power=POWER,
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


def base_rate(response: Mapping[Any, Any], n_t: Any, n_c: Any) -> float:
    """Return the rate a lift is detected against: the control rate (pooled at 0 or 1)."""
    control = float(response["control"])
    if 0 < control < 1:
        return control
    return float((response["treatment"] * n_t + response["control"] * n_c) / (n_t + n_c))


def power_note(result: dict[str, dict[str, np.ndarray]], summary: pd.DataFrame,
                p: dict[str, Any]) -> str:
    """Say when the response lift asked for cannot be detected at 80% power ("" if it can)."""
    lift = p["detect_lift"]
    if lift is None or "response" not in summary.index:
        return ""
    response = summary.loc["response"].to_dict()
    mde = float(response["mde"])
    if not mde > lift:  # NaN (no responder at all) says nothing about power
        return ""
    n_t, n_c = int(result["n"]["treatment"]), int(result["n"]["control"])
    rate = base_rate(response, n_t, n_c)
    needed = control_size_for(lift, rate, n_t, power=POWER, confidence=p["confidence"])
    if np.isinf(needed):
        need = f"no control group is large enough beside {n_t:,} treatment customers"
    else:
        need = f"about {needed:,.0f} control customers would be needed"
    return (f"With {n_t:,} treatment and {n_c:,} control customers and a base response rate "
            f"of {rate:.1%}, the smallest response lift detectable at 80% power is "
            f"{100 * mde:.1f} points, more than the {100 * lift:.1f} points asked for "
            f"(detect_lift={lift:g}); {need}.")


def few_buyers_note(treated: np.ndarray, n_orders: np.ndarray, p: dict[str, Any]) -> str:
    """Say when a group has too few buyers for the Welch intervals ("" otherwise)."""
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


def group_table(treated: np.ndarray, n_orders: np.ndarray, revenue: np.ndarray) -> pd.DataFrame:
    """Build the ``groups`` table: customers, buyers, orders and revenue per group."""
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


def text_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Return a text column of the assignment, or empty texts when it is absent."""
    if column in frame.columns:
        return frame[column].to_numpy(dtype=object)
    return np.full(len(frame), "", dtype=object)


def label_table(customers: pd.DataFrame, column: str, p: dict[str, Any]) -> pd.DataFrame:
    """Build a per-label table: sizes, group values and, when large enough, the interval."""
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


def economics_table(result: dict[str, dict[str, np.ndarray]], cost: float,
               p: dict[str, Any]) -> pd.DataFrame:
    """Build the ``economics`` table: incremental figures, cost and returns."""
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
        "revenue_per_cost": per_cost(revenue, cost),
    }
    margin = p["margin"]
    if margin is not None and not np.isnan(cost):
        profit = (margin * revenue[0] - cost, margin * revenue[1] - cost,
                  margin * revenue[2] - cost)
        rows["incremental_profit"] = profit
        rows["roi"] = per_cost(profit, cost)
    else:
        rows["incremental_profit"] = rows["roi"] = nan3
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "lower", "upper"])
    out = out.reindex(list(_ECONOMICS)).astype("float64")
    out.index.name = "item"
    return out


def per_cost(values: tuple[float, float, float], cost: float) -> tuple[float, float, float]:
    """Divide an (estimate, lower, upper) triple by the cost; NaN without a cost."""
    if not cost > 0:  # no cost (or unknown): no ratio
        return (np.nan, np.nan, np.nan)
    return (values[0] / cost, values[1] / cost, values[2] / cost)
