"""Warnings that point at the user's line, however deep inside the library they start."""

from __future__ import annotations

import sys
import warnings

#: Modules whose frames are skipped: the library itself, and scikit-learn's
#: wrappers (fit_transform, Pipeline) around the scorer, and contextlib (a
#: warning passed on when a step's `with` block ends).
_INTERNAL = ("rfm_loyalty.", "sklearn.", "contextlib")


def warn_user(message: str, category: type[Warning]) -> None:
    """Issue a warning attributed to the first caller outside rfm_loyalty.

    ``stacklevel`` counted by hand breaks as soon as a public function is
    reached through another one (``read_orders`` -> ``prepare_orders``,
    ``analyze`` -> ``RFMScorer.fit``); walking the stack keeps warning filters
    and messages pointing at the user's code.
    """
    frame = sys._getframe(1)
    level = 2  # 1 would be the caller of warn_user
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).startswith(
        _INTERNAL
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
