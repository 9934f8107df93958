"""Audience selection: the customer table in, the counted filters, the contact-log rule.

Every filter returns the customers it keeps; the caller records how many each
one removed, in the order they run, so nothing leaves the audience unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._validation import close_match, require_columns
from rfm_loyalty.exceptions import InvalidParameterError, SchemaError
from rfm_loyalty.lifecycle import LIFECYCLE_LABELS, SEED_LABELS

OWNER = "select_audience"
#: Columns the audience needs from the customer table.
REQUIRED = ("lifecycle", "lifecycle_zh", "action", "action_zh", "segment",
            "recency_days", "frequency", "monetary_total")
_LIFECYCLE_ORDER = tuple(dict.fromkeys((*LIFECYCLE_LABELS, *SEED_LABELS)))
_HINT = ("Pass the Analysis returned by analyze(), its .customers table, or the customers "
         "table of an export (read_export(folder, 'customers')).")


def is_analysis(data: Any) -> bool:
    """Tell an Analysis (anything with a customers table and an as_of) from a table."""
    return isinstance(getattr(data, "customers", None), pd.DataFrame) and hasattr(data, "as_of")


def customer_table(data: Any, *, owner: str = OWNER) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Return a copy of the customer table indexed by text ids, and its as_of if known."""
    as_of: pd.Timestamp | None = None
    if is_analysis(data):
        table, as_of = data.customers, pd.Timestamp(data.as_of)
    elif isinstance(data, pd.DataFrame):
        table = data
        if "as_of" in data.attrs:
            as_of = pd.Timestamp(data.attrs["as_of"])
    else:
        raise InvalidParameterError(
            f"The 'analysis_or_customers' parameter of {owner} must be an Analysis or a "
            f"pandas DataFrame of customers. Got {type(data).__name__} instead. {_HINT}"
        )
    if "customer_id" in table.columns:
        table = table.set_index("customer_id")
    elif table.index.name != "customer_id":
        raise SchemaError(
            f"{owner} needs the customer ids as a 'customer_id' column or as the index named "
            f"'customer_id'. Columns found: {[str(c) for c in table.columns]!r}. {_HINT}"
        )
    else:
        table = table.copy(deep=False)  # new columns replace, never write into, the input's
    table.index = text_ids(table.index, what="customer table", owner=owner)
    duplicated = table.index[table.index.duplicated()]
    if len(duplicated):
        raise SchemaError(
            f"{owner} needs one row per customer; {len(duplicated)} customer ids appear more "
            f"than once, e.g. {list(duplicated.unique()[:3])!r}."
        )
    require_columns(table, REQUIRED, owner=owner, hint=_HINT)
    table["lifecycle"] = _ordered(table["lifecycle"], _LIFECYCLE_ORDER)
    table["segment"] = _ordered(table["segment"], ())
    return table, as_of


def text_ids(ids: Any, *, what: str, owner: str) -> pd.Index:
    """Return customer ids as text; refuse floats (``17850.0``) and missing ids."""
    index = pd.Index(ids)
    if pd.api.types.is_float_dtype(index.dtype):
        raise SchemaError(
            f"The customer ids of the {what} are numbers with decimals (e.g. "
            f"{index[0]!r}); ids are compared as text, so read them as text "
            "(e.g. pd.read_csv(..., dtype={'customer_id': str}))."
        )
    if index.isna().any():
        raise SchemaError(
            f"The {what} has {int(index.isna().sum())} rows without a customer id; "
            f"{owner} needs an id on every row."
        )
    # object dtype: pandas 3's str Index takes seconds for isin() with many values
    return pd.Index(index.astype(str).to_numpy(dtype=object), dtype=object, name="customer_id")


def _ordered(values: pd.Series, known: tuple[str, ...]) -> pd.Series:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    present = [v for v in values.dropna().unique() if isinstance(v, str)]  # a few labels
    order = [k for k in known if k in present] + sorted(set(present) - set(known))
    return pd.Series(pd.Categorical(values, categories=order, ordered=True), index=values.index)


def labels(value: Any, table: pd.DataFrame, column: str, *, name: str) -> list[str]:
    """Check a label filter (one label or a list) against the column's labels."""
    wanted = [value] if isinstance(value, str) else value
    if not isinstance(wanted, Iterable) or isinstance(wanted, Mapping):
        raise InvalidParameterError(
            f"The {name!r} parameter of {OWNER} must be a label or a list of labels. "
            f"Got {value!r} instead."
        )
    wanted = list(wanted)
    known = [str(c) for c in table[column].cat.categories]
    if not wanted or not all(isinstance(w, str) for w in wanted):
        raise InvalidParameterError(
            f"The {name!r} parameter of {OWNER} must be a non-empty list of labels from "
            f"{known!r}. Got {value!r} instead."
        )
    for label in wanted:
        if label not in known:
            close = close_match(label, known)
            hint = f" Did you mean {close!r}?" if close else ""
            raise InvalidParameterError(
                f"The {name!r} parameter of {OWNER} names {label!r}, which is not a "
                f"{column} label of the customer table. Labels found: {known!r}.{hint}"
            )
    return list(dict.fromkeys(wanted))


def where_mask(where: str | Callable[[pd.DataFrame], Any], table: pd.DataFrame) -> np.ndarray:
    """Evaluate the ``where`` rule (a ``DataFrame.eval`` expression or a function)."""
    try:
        result = table.eval(where) if isinstance(where, str) else where(table)
    except Exception as exc:  # the user's expression: report it whatever it raised
        raise InvalidParameterError(
            f"The 'where' parameter of {OWNER} could not be evaluated on the customer "
            f"table: {type(exc).__name__}: {exc}. Columns: {[str(c) for c in table.columns]!r}."
        ) from exc
    if isinstance(result, pd.Series):
        if not result.index.equals(table.index):
            result = result.reindex(table.index)
        values = result.to_numpy()
    else:
        values = np.asarray(result)
    if values.shape != (len(table),) or not (
        values.dtype == bool or (values.dtype == object and all(
            isinstance(v, (bool, np.bool_)) for v in values))
    ):
        raise InvalidParameterError(
            f"The 'where' parameter of {OWNER} must give True or False for every customer "
            f"({len(table)} values). Got {values.dtype} values of shape {values.shape} instead."
        )
    return values.astype(bool)


def excluded_ids(exclude: Any) -> pd.Index:
    """Return the ids of ``exclude``: a list, set, Series, Index or a table."""
    if isinstance(exclude, pd.DataFrame):
        require_columns(exclude, ["customer_id"], owner=f"{OWNER} (exclude)")
        values: Any = exclude["customer_id"]
    elif isinstance(exclude, str) or not isinstance(exclude, Iterable):
        raise InvalidParameterError(
            f"The 'exclude' parameter of {OWNER} must be a list of customer ids or a table "
            f"with a customer_id column. Got {exclude!r} instead."
        )
    else:
        values = list(exclude)
    return text_ids(values, what="exclude list", owner=OWNER).unique()


def contact_days(contacts: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Return the customer ids and contact days (midnight) of a contact log."""
    if not isinstance(contacts, pd.DataFrame):
        raise InvalidParameterError(
            f"The 'contacts' parameter of {OWNER} must be a DataFrame with the columns "
            f"customer_id and contact_date (channel optional). Got "
            f"{type(contacts).__name__} instead."
        )
    require_columns(contacts, ["customer_id", "contact_date"], owner=f"{OWNER} (contacts)")
    ids = text_ids(contacts["customer_id"], what="contact log", owner=OWNER)
    raw = contacts["contact_date"]
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        parsed = raw.dt.tz_localize(None) if isinstance(raw.dtype, pd.DatetimeTZDtype) else raw
    elif pd.api.types.is_numeric_dtype(raw.dtype):
        raise SchemaError(
            f"The contact log's contact_date column holds numbers ({raw.dtype}), not dates; "
            "give datetimes or ISO text such as '2024-06-01'."
        )
    else:
        parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
    days = pd.DatetimeIndex(parsed).normalize().to_numpy(dtype="datetime64[ns]")
    bad = np.isnat(days)
    if bad.any():
        first = raw[bad].iloc[0]
        raise SchemaError(
            f"The contact log has {int(bad.sum())} rows whose contact_date is missing or not "
            f"an ISO date (first: {first!r}); without it the contact rule cannot be applied. "
            "Fix or drop those rows."
        )
    return ids, days


def recently_contacted(index: pd.Index, contacts: pd.DataFrame, date: pd.Timestamp,
                       min_days: int) -> tuple[np.ndarray, int]:
    """Find the customers contacted fewer than ``min_days`` days from ``date``.

    Returns the mask over ``index`` and the number of log rows that block.
    """
    ids, days = contact_days(contacts)
    reference = np.datetime64(date.normalize(), "D")
    gap = np.abs((reference - days.astype("datetime64[D]")).astype(np.int64))
    blocking = gap < min_days
    blocked = pd.Index(ids[blocking].unique(), dtype=object)
    return index.isin(blocked), int(blocking.sum())

