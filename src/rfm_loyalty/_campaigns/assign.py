"""Treatment and control: the split of an audience, its strata and its balance.

Two splits, both decided by each customer's draw (:mod:`.hashing`), never by
a random generator's state:

``"stable"``
    A customer is in the control group when their draw is below the holdout
    share. The group is a function of the campaign name, the customer id and
    the share alone, so selecting again from more customers (a superset)
    keeps every earlier customer's group. Each stratum's control share is
    binomial around the holdout share.
``"exact"``
    The control size (the count, or ``share x audience size`` rounded half
    up) is shared among the strata (lifecycle label x segment) in proportion
    to their sizes by the largest-remainder rule (each stratum gets the whole
    part of ``control size x stratum size / audience size``, the largest
    fractional parts one more); in each stratum the customers with the lowest
    draws form its quota. Exact counts, but a customer's group
    depends on who else is in the stratum: a larger audience can move them.

No split has both properties: if the group of every customer had to survive
every enlargement of the audience, it would be the group the customer gets
in an audience of one, a function of the customer alone, and then the number
of controls in a stratum is whatever the customers' own draws make it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLITS = ("stable", "exact")
GROUPS = ("treatment", "control")
#: |SMD| above this is commonly read as imbalance (Austin 2009).
SMD_THRESHOLD = 0.1


def control_target(holdout: float | int, n: int) -> tuple[float, int | None]:
    """Return the control share and, for a count, the control size asked for."""
    if isinstance(holdout, int):
        return (holdout / n if n else 0.0), holdout
    return float(holdout), None


def split(draws: np.ndarray, strata: np.ndarray, holdout: float | int,
          method: str) -> np.ndarray:
    """Return the control mask of an audience (see the module docstring)."""
    n = len(draws)
    share, count = control_target(holdout, n)
    if method == "stable" or n == 0:
        return draws < share
    size = count if count is not None else int(np.floor(share * n + 0.5))
    _, codes = np.unique(strata, return_inverse=True)
    sizes = np.bincount(codes)
    quota = size * sizes / n
    base = np.floor(quota).astype(np.int64)
    left = size - int(base.sum())
    # largest remainder first; equal remainders go to the first strata
    order = np.lexsort((np.arange(len(sizes)), -(quota - base)))
    base[order[:left]] += 1
    by_stratum = np.lexsort((draws, codes))
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.empty(n, dtype=np.int64)
    rank[by_stratum] = np.arange(n) - first[codes[by_stratum]]
    return rank < base[codes]


def strata_table(table: pd.DataFrame) -> pd.DataFrame:
    """Count customers, treatment, control and control share per stratum."""
    is_control = (table["group"] == "control").to_numpy()
    frame = pd.DataFrame({"lifecycle": table["lifecycle"].to_numpy(),
                          "segment": table["segment"].to_numpy(),
                          "control": is_control.astype(np.int64)})
    grouped = frame.groupby(["lifecycle", "segment"], observed=True, sort=True)["control"]
    out = pd.DataFrame({"customers": grouped.size().astype(np.int64),
                        "control": grouped.sum().astype(np.int64)})
    out.insert(1, "treatment", out["customers"] - out["control"])
    out["control_share"] = out["control"] / out["customers"]
    return out


def balance_table(table: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Means, standard deviations and standardised mean differences of the two groups.

    ``smd = (mean_treatment - mean_control) / sqrt((sd_treatment**2 +
    sd_control**2) / 2)`` with sample standard deviations (ddof=1); NaN when
    a group has fewer than two customers or both deviations are zero.
    """
    is_control = (table["group"] == "control").to_numpy()
    rows = {}
    for name in covariates:
        values = table[name].to_numpy(dtype=float)
        t, c = values[~is_control], values[is_control]
        t, c = t[~np.isnan(t)], c[~np.isnan(c)]
        mean_t = t.mean() if len(t) else np.nan
        mean_c = c.mean() if len(c) else np.nan
        sd_t = t.std(ddof=1) if len(t) > 1 else np.nan
        sd_c = c.std(ddof=1) if len(c) > 1 else np.nan
        pooled = np.sqrt((sd_t**2 + sd_c**2) / 2)
        smd = (mean_t - mean_c) / pooled if pooled > 0 else np.nan
        rows[name] = (mean_t, mean_c, sd_t, sd_c, smd)
    out = pd.DataFrame.from_dict(
        rows, orient="index",
        columns=["mean_treatment", "mean_control", "sd_treatment", "sd_control", "smd"],
    )
    out.index.name = "covariate"
    return out.astype("float64")
