"""The views of an analysis (text, notebook, report, files, database), found by name.

``Analysis`` is a data object in the pipeline layer; the code that renders and
writes it lives in the output layer above (``report``, ``export``). So that
the result type never imports the layer that reads it (no import circle), the
output modules *provide* their functions here when they are imported, and the
thin methods of ``Analysis`` (``__str__``, ``_repr_html_``, ``export``,
``report``, ``to_sql``, ``campaign_lists``) look them up by name. The package's
``__init__`` imports every layer, so the views are always provided before any
``Analysis`` exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["VIEWS", "provide", "view"]

F = TypeVar("F", bound=Callable[..., Any])

#: The view functions of an analysis, by name. Filled by the output modules.
VIEWS: dict[str, Callable[..., Any]] = {}


def provide(name: str) -> Callable[[F], F]:
    """Register the decorated function as the view ``name`` (one provider per name).

    Examples
    --------
    >>> @provide("example_view")
    ... def shout(text): return text.upper()
    >>> view("example_view")("hi")
    'HI'
    >>> _ = VIEWS.pop("example_view")
    """

    def register(func: F) -> F:
        known = VIEWS.get(name)
        if known is not None and known is not func:
            raise RuntimeError(f"The analysis view {name!r} is provided twice.")
        VIEWS[name] = func
        return func

    return register


def view(name: str) -> Callable[..., Any]:
    """Return the view ``name``; say which module provides it when it is missing."""
    try:
        return VIEWS[name]
    except KeyError:
        raise RuntimeError(
            f"The analysis view {name!r} is not available: import rfm_loyalty (its __init__ "
            "imports rfm_loyalty.export and rfm_loyalty.report, which provide the views)."
        ) from None
