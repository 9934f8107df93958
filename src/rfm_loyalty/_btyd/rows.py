"""Customers merged into distinct rows with weights: what every likelihood is evaluated on.

The likelihoods of BG/NBD, MBG/NBD, Pareto/NBD and BG/BB depend on a customer
only through three numbers (``frequency, recency, T`` or ``frequency,
recency, n_periods``), so customers with the same triple are evaluated once,
weighted by how many they are. With dates in whole days a million customers
become a few hundred thousand rows; a discrete (BG/BB) table a few hundred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rfm_loyalty._codes import first_appearances


@dataclass(frozen=True)
class CustomerRows:
    """Distinct (x, t_x, T) rows with the number of customers each stands for.

    ``T`` is the end of observation (``T`` of the continuous models,
    ``n_periods`` of BG/BB). ``x_unique``/``x_index`` let per-frequency
    terms (gamma and beta functions) be evaluated once per distinct
    frequency instead of once per row.
    """

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    x_unique: np.ndarray
    x_index: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of distinct rows."""
        return int(self.x.shape[0])

    @property
    def total(self) -> float:
        """Number of customers (sum of the weights)."""
        return float(self.weight.sum())


def _rows(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> CustomerRows:
    x_unique, x_index = np.unique(x, return_inverse=True)
    return CustomerRows(x, t_x, T, w, x_unique, x_index.ravel())


def compress(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray) -> CustomerRows:
    """Merge identical (x, t_x, T) rows, summing their weights; drop rows of weight 0.

    Hashing (``pd.factorize``) one combined integer key is much faster than
    ``np.unique(..., axis=0)``, which sorts the rows lexicographically.
    """
    codes = [pd.factorize(col)[0].astype(np.int64) for col in (x, t_x, T)]
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    key = (codes[0] * sizes[1] + codes[1]) * sizes[2] + codes[2]
    group, _ = pd.factorize(key)
    first = first_appearances(group)
    w = np.bincount(group, weights=weight, minlength=len(first))
    keep = w > 0
    return _rows(x[first][keep], t_x[first][keep], T[first][keep], w[keep])


def distinct(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first of each distinct row of ``columns``, and each row's code.

    For predictions: evaluate on ``column[first]`` and spread back with
    ``values[codes]``, so a million customers with a few hundred distinct rows
    cost a few hundred evaluations.
    """
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        code = pd.factorize(column)[0].astype(np.int64)
        key = key * (int(code.max()) + 1 if len(code) else 1) + code
    codes, _ = pd.factorize(key)
    return first_appearances(codes), codes.astype(np.int64)


def subsample(rows: CustomerRows, n_customers: int, *, seed: int = 0) -> CustomerRows:
    """Draw ``n_customers`` customers (with replacement) and merge them into rows.

    Used to screen starting points cheaply on large data: the sample's
    optimum lands in the basin of the full data's, and one polishing run on
    all rows finishes the job. The seed is fixed so that a fit is
    reproducible.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_customers, rows.weight / rows.weight.sum()).astype(float)
    keep = counts > 0
    return _rows(rows.x[keep], rows.t_x[keep], rows.T[keep], counts[keep])


def unique_pairs(
    a: np.ndarray, a_code: np.ndarray, b: np.ndarray, b_code: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) pairs, given codes of ``a`` and ``b``: their values and each row's pair.

    ``a_unique[code], b_unique[code]`` gives back every row's pair.
    """
    key = a_code.astype(np.int64) * (int(b_code.max()) + 1 if len(b_code) else 1) + b_code
    codes, _ = pd.factorize(key)
    first = first_appearances(codes)
    return a[first], b[first], codes.astype(np.int64)
