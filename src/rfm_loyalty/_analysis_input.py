"""What :func:`~rfm_loyalty.analysis.analyze` was given: reading it, hashing it, its parameters.

An analysis records its provenance so an export can be traced back: the
source of the orders, the SHA-256 of exactly what was read (the file's
bytes, or a canonical serialisation of an in-memory frame), and every
parameter of the call in JSON-serialisable form. The public names are
re-exported by :mod:`rfm_loyalty.analysis`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rfm_loyalty.lifecycle import LifecycleRules
from rfm_loyalty.orders import (
    OrderColumns,
    Orders,
    canonical_columns,
    prepare_orders,
    read_orders,
)
from rfm_loyalty.segments import Segment

if TYPE_CHECKING:
    from rfm_loyalty.engines import EngineSource


@dataclass(frozen=True)
class InputInfo:
    """Where the analysed orders came from (the provenance written by ``export``).

    Attributes
    ----------
    source : str
        The file path, ``"DataFrame"`` / ``"Orders"`` for in-memory input, or
        ``"duckdb engine"`` / ``"spark engine"`` for an engine source.
    sha256 : str
        SHA-256 (hex) of the file's bytes for a path; for a DataFrame, of its
        canonical serialisation (column names, row count and
        ``pandas.util.hash_pandas_object`` of every column and of the index);
        for ``Orders``, the same over ``Orders.frame``; for an engine source,
        the same over the per-customer aggregates the engine returned, amounts
        rounded to 6 decimals (the lines never leave the engine; the
        aggregates are all the analysis read, and a parallel engine's float
        sums may differ in their last bits between runs).
    sha256_of : str
        ``"file"``, ``"DataFrame"``, ``"Orders.frame"`` or
        ``"customer_aggregates"``: what was hashed.
    rows : int
        Rows of the input (order lines; orders for ``Orders``; lines counted
        by the engine for an engine source).
    """

    source: str
    sha256: str
    sha256_of: str
    rows: int


def read_input(
    data: Any, columns: OrderColumns | None, *, as_of: Any, returns: str,
    valid_statuses: Iterable[Any] | None,
) -> tuple[Orders, InputInfo, OrderColumns | None]:
    """Prepare ``analyze``'s input as Orders; return them, their provenance and the columns."""
    options: dict[str, Any] = {"as_of": as_of, "returns": returns, "valid_statuses": valid_statuses}
    if isinstance(data, Orders):
        orders = data if as_of is None else data.until(as_of)
        info = InputInfo("Orders", frame_sha256(data.frame), "Orders.frame", len(data.frame))
        return orders, info, None
    if isinstance(data, pd.DataFrame):
        cols = columns if columns is not None else canonical_columns(data)
        orders = prepare_orders(data, cols, **options)
        return orders, InputInfo("DataFrame", frame_sha256(data), "DataFrame", len(data)), cols
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        cols = columns if columns is not None else OrderColumns()
        orders = read_orders(path, cols, **options)
        info = InputInfo(str(path), file_sha256(path), "file", orders.quality.rows_in)
        return orders, info, cols
    raise TypeError(
        "analyze expects order lines as a pandas DataFrame, a file path, prepared Orders or "
        "an engine source (rfm_loyalty.engines.from_duckdb / from_spark). "
        f"Got {type(data).__name__} instead."
    )


def engine_input_info(source: EngineSource, aggregates: pd.DataFrame, rows: int) -> InputInfo:
    """Return the provenance of an engine source: its engine and the hash of its aggregates."""
    # A parallel engine adds floats in a varying order, so the sums can differ
    # in their last bits between runs; rounding keeps the hash reproducible.
    rounded = aggregates.copy()
    for name in rounded.columns:
        if rounded[name].dtype == np.float64:
            rounded[name] = rounded[name].round(6)
    return InputInfo(f"{source.engine} engine", frame_sha256(rounded), "customer_aggregates",
                     rows)


def check_engine_arguments(
    columns: OrderColumns | None, returns: str, valid_statuses: Iterable[Any] | None
) -> None:
    """Refuse ``analyze`` options that an engine source carries itself."""
    given = [
        f"{name}={value!r}"
        for name, value, default in (
            ("columns", columns, None), ("returns", returns, "net"),
            ("valid_statuses", valid_statuses, None),
        )
        if value != default
    ]
    if given:
        raise ValueError(
            f"analyze got {', '.join(given)} with an engine source: the columns and the "
            "prepare_orders options of an engine source are set when it is made. Pass them to "
            "from_duckdb(...) / from_spark(...) (e.g. from_duckdb(lines, columns=..., "
            "returns='drop')) and leave them unset in analyze."
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a DataFrame's canonical serialisation.

    The serialisation is the column names, the row count, then for the index
    and each column in order the ``pandas.util.hash_pandas_object`` values
    (uint64, little-endian). Equal frames give equal hashes; changing any
    value, the row order or a column name changes it.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_sha256(a) == frame_sha256(a.copy()), frame_sha256(a) == frame_sha256(a[::-1])
    (True, False)
    """
    digest = hashlib.sha256()
    digest.update(repr([str(c) for c in frame.columns]).encode())
    digest.update(str(len(frame)).encode())
    hashed = pd.util.hash_pandas_object(frame.index, index=False)
    digest.update(hashed.to_numpy().astype("<u8").tobytes())
    for position in range(frame.shape[1]):
        hashed = pd.util.hash_pandas_object(frame.iloc[:, position], index=False)
        digest.update(hashed.to_numpy().astype("<u8").tobytes())
    return digest.hexdigest()


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def call_params(
    cols: OrderColumns | None, as_of: pd.Timestamp, *, segments: str | Sequence[Segment],
    rules: LifecycleRules, valid_statuses: Iterable[Any] | None, as_of_given: bool,
    **scalars: Any,
) -> dict[str, Any]:
    """Return every parameter of an ``analyze`` call in JSON-serialisable form."""
    segment_param: Any = (
        segments if isinstance(segments, str) else [dataclasses.asdict(s) for s in segments]
    )
    if not isinstance(segments, str):
        for rule in segment_param:  # tuples -> lists so JSON round-trips equal
            for dim in ("r", "f", "m"):
                rule[dim] = list(rule[dim])
    return {
        "columns": dataclasses.asdict(cols) if cols is not None else None,
        "as_of": str(as_of.date()),
        "as_of_source": "given" if as_of_given else "last order date",
        **{name: _json_value(value) for name, value in scalars.items()},
        "segments": segment_param,
        "lifecycle": dataclasses.asdict(rules),
        "valid_statuses": (
            None if valid_statuses is None else [_json_value(v) for v in valid_statuses]
        ),
    }
