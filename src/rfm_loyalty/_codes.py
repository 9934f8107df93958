"""Integer codes numbered by first appearance (as ``pd.factorize`` gives them)."""

from __future__ import annotations

import numpy as np


def first_appearances(codes: np.ndarray) -> np.ndarray:
    """Return the position of each code's first row, in code order.

    ``codes`` must number groups by first appearance (0, then 1, ...), as
    ``pd.factorize`` does: a row is its group's first exactly where the codes
    exceed every earlier code.

    Examples
    --------
    >>> first_appearances(np.array([0, 0, 1, 0, 2, 1]))
    array([0, 2, 4])
    """
    new = np.empty(len(codes), dtype=bool)
    if len(codes):
        new[0] = True
        np.greater(codes[1:], np.maximum.accumulate(codes)[:-1], out=new[1:])
    return np.flatnonzero(new)
