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
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._analysis_settings import AnalysisSettings
from rfm_loyalty._ingest.dates import as_date
from rfm_loyalty._ingest.options import read_options as read_options_of
from rfm_loyalty.engines import EngineSource, is_engine_source
from rfm_loyalty.exceptions import InvalidParameterError
from rfm_loyalty.orders import (
    OrderColumns,
    Orders,
    ReadOptions,
    canonical_columns,
    orders_from_file,
    orders_from_frame,
)
from rfm_loyalty.summary import CustomerBase, customer_base


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


#: Options of ``analyze`` that only mean something while reading order lines.
_ANALYZE_READING = ("as_of", "returns", "valid_statuses")


@dataclass(frozen=True)
class InputPlan:
    """What ``analyze`` will read, with every reading option checked (nothing read yet).

    Attributes
    ----------
    kind : {"orders", "frame", "file", "engine"}
    data : object
        The input as given.
    options : ReadOptions or None
        The reading options (None for prepared Orders and engine sources,
        which carry their own).
    as_of : pandas.Timestamp or None
        For Orders and engine sources: an earlier analysis date to apply.
    """

    kind: str
    data: Any
    options: ReadOptions | None
    as_of: pd.Timestamp | None = None


def plan_input(
    data: Any, columns: Any, *, as_of: Any, returns: str, valid_statuses: Any,
    read_options: Mapping[str, Any],
) -> InputPlan:
    """Decide the kind of input once and check its options, before anything is read."""
    given = {"returns": returns, "valid_statuses": valid_statuses, **read_options}
    if isinstance(data, Orders) or is_engine_source(data):
        what = "prepared Orders" if isinstance(data, Orders) else (
            f"an engine source ({data.engine})")
        carried = data.options
        extra = {k: v for k, v in given.items() if not _is_default(k, v)}
        if columns is not None:
            extra = {"columns": columns, **extra}
        if extra:
            listed = ", ".join(f"{k}={v!r}" for k, v in extra.items())
            fix = (
                "prepare_orders(..., {0}) / read_orders(..., {0})" if isinstance(data, Orders)
                else "from_duckdb(..., {0}) / from_spark(..., {0})"
            ).format(", ".join(f"{k}=..." for k in extra))
            raise InvalidParameterError(
                f"analyze got {listed} with {what}, which were read with their own options "
                f"({_options_text(carried)}). Options that change how lines are read apply "
                f"when they are read: pass them to {fix}, and leave them unset in analyze."
            )
        as_of_ts = None if as_of is None else as_date(as_of, name="as_of")
        kind = "orders" if isinstance(data, Orders) else "engine"
        return InputPlan(kind, data, None, as_of_ts)
    if isinstance(data, pd.DataFrame):
        cols = columns if columns is not None else canonical_columns(data)
        options = read_options_of(cols, {"as_of": as_of, **given}, owner="analyze")
        return InputPlan("frame", data, options)
    if isinstance(data, (str, os.PathLike)):
        options = read_options_of(columns, {"as_of": as_of, **given}, owner="analyze")
        return InputPlan("file", Path(data), options)
    raise TypeError(
        "analyze expects order lines as a pandas DataFrame, a file path, prepared Orders or "
        "an engine source (rfm_loyalty.engines.from_duckdb / from_spark). "
        f"Got {type(data).__name__} instead."
    )


def _is_default(name: str, value: Any) -> bool:
    return bool(value == _DEFAULTS.get(name))


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ReadOptions)}


def _options_text(options: ReadOptions) -> str:
    given = {k: v for k, v in options.given().items() if k != "columns"}
    return ", ".join(f"{k}={v!r}" for k, v in given.items()) or "the defaults"


def read_input(plan: InputPlan, *, window_days: int) -> tuple[CustomerBase, InputInfo]:
    """Read the planned input once into the customer base; return it with its provenance."""
    if plan.kind == "engine":
        base = customer_base(plan.data, as_of=plan.as_of, window_days=window_days)
        return base, engine_input_info(plan.data, base.aggregates, base.quality.rows_in)
    if plan.kind == "orders":
        orders = plan.data if plan.as_of is None else plan.data.until(plan.as_of)
        info = InputInfo("Orders", frame_sha256(plan.data.frame), "Orders.frame",
                         len(plan.data.frame))
    elif plan.kind == "frame":
        assert plan.options is not None
        orders = orders_from_frame(plan.data, plan.options)
        info = InputInfo("DataFrame", frame_sha256(plan.data), "DataFrame", len(plan.data))
    else:
        assert plan.options is not None
        # hashlib releases the GIL: the file's hash is computed while it is parsed
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(file_sha256, plan.data)
            orders = orders_from_file(plan.data, plan.options)
            info = InputInfo(str(plan.data), digest.result(), "file", orders.quality.rows_in)
    return customer_base(orders, window_days=window_days), info


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


def call_params(
    base: CustomerBase, settings: AnalysisSettings, *, as_of_given: bool
) -> dict[str, Any]:
    """Return every parameter of an ``analyze`` call in JSON-serialisable form.

    ``reading`` holds the reading options exactly as the orders were read
    with them (``ReadOptions.to_dict()``); ``columns``, ``returns`` and
    ``valid_statuses`` repeat three of them at the top level. ``readings``
    is what the reader decided itself (``QualityReport.readings``: the
    columns matched by ``columns="auto"``, a detected encoding...).
    """
    reading = base.options.to_dict()
    cols = base.options.columns
    return {
        "columns": dataclasses.asdict(cols) if isinstance(cols, OrderColumns) else None,
        "as_of": str(base.as_of.date()),
        "as_of_source": "given" if as_of_given else "last order date",
        **settings.to_params(),
        "returns": reading["returns"],
        "valid_statuses": reading["valid_statuses"],
        "reading": reading,
        "readings": dict(base.quality.readings),
    }
