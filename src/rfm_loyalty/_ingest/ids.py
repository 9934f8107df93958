"""Identifiers as text: ``17850``, ``17850.0`` and ``" 17850"`` are one customer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rfm_loyalty._ingest.fixed_width import (
    argsort_fixed_width,
    factorize_fixed_width,
    fixed_width_bytes,
)

#: The text dtype pandas gives a column of Python strings: ``object`` on
#: pandas 2.2, ``str`` on pandas 3. Customer ids come out in it on both.
TEXT_DTYPE = pd.Series(["x"]).dtype


def ids_as_text(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Encode identifiers as codes into an array of distinct texts.

    Work is done on the distinct values, not on every row: the rows are
    factorised once (fast for integers), then only the distinct values are
    turned into text and merged when two of them read the same.

    Parameters
    ----------
    values : pandas.Series
        Raw identifiers of any dtype.

    Returns
    -------
    codes : numpy.ndarray of int32 (int64 beyond 2**31 ids)
        Position of each row's id in ``texts``; -1 where the id is missing
        (NaN, None, empty or white space only).
    texts : pandas.Index of text (``TEXT_DTYPE``)
        Distinct ids as text.
    """
    codes, uniques = factorize_runs(values)
    return normalise_ids(codes, uniques)


def normalise_ids(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Turn factorised raw ids (``factorize_runs``) into codes into distinct texts.

    The second half of ``ids_as_text``: distinct values that read as the same
    text are merged, and blank or missing spellings (``MISSING_TEXTS``) get
    code -1.
    """
    uniques = pd.Index(uniques)
    if pd.api.types.is_integer_dtype(uniques.dtype):
        # distinct integers have distinct texts: nothing to merge or blank
        return codes, _integers_as_text(uniques)
    if _plain_fixed_width(uniques):
        # ids of one byte width, none with white space, a dot or a short
        # missing spelling: already their own normalised text
        return codes, uniques.astype(TEXT_DTYPE)
    text = _distinct_as_text(uniques)
    if _reads_as_itself(text, uniques):
        # the usual case (clean text ids): nothing to merge or blank
        return codes, uniques.astype(TEXT_DTYPE)
    merged_codes, merged = pd.factorize(text)
    merged = pd.Index(merged).astype(TEXT_DTYPE)
    blank = np.flatnonzero(is_missing_text(merged))
    lookup = merged_codes.astype(np.int64)
    if len(blank):
        # missing spellings: code -1, and out of the texts (renumber the others)
        keep = np.ones(len(merged), dtype=bool)
        keep[blank] = False
        renumber = np.where(keep, np.cumsum(keep) - 1, -1)
        lookup = renumber[lookup]
        merged = merged[keep]
    lookup = lookup.astype(codes.dtype)
    if len(lookup) == 0:
        return np.full(len(codes), -1, dtype=codes.dtype), merged
    # -1 (missing) indexes the last slot: set it to -1 so missing stays missing
    return np.append(lookup, codes.dtype.type(-1))[codes], merged


def argsort_text(ids: pd.Index) -> np.ndarray:
    """Positions that sort distinct text ids in Python's text order.

    Ids of one byte width held by Arrow are sorted as integers (see
    ``argsort_fixed_width``); others by pandas.
    """
    order = argsort_fixed_width(ids)
    return np.asarray(ids.argsort()) if order is None else order


#: Bytes that make a fixed-width id need the general normalisation: ASCII
#: white space and the dot (``17850.0``); bytes >= 0x80 are checked apart.
_SPECIAL_BYTES = np.array([ord(c) for c in " \t\n\r\x0b\x0c."], dtype=np.uint8)


def _plain_fixed_width(uniques: pd.Index) -> bool:
    """Whether Arrow text ids of one byte width are already normalised and not missing.

    Read from Arrow's buffers without making a string: no value begins or
    ends with white space or a non-ASCII byte (which may be Unicode white
    space), none holds a dot, and the width is above four bytes (the longest
    missing spelling). False sends the ids through the general path.
    """
    parts = fixed_width_bytes(pd.Series(uniques.array))
    if parts is None or parts[0].dtype.itemsize <= 4:
        return False
    width = parts[0].dtype.itemsize
    for part in parts:
        grid = part.view(np.uint8).reshape(-1, width)
        ends = np.concatenate([grid[:, 0], grid[:, -1]])
        if (ends >= 0x80).any() or np.isin(ends, _SPECIAL_BYTES).any():
            return False
        if (grid == ord(".")).any():
            return False
    return True


def _reads_as_itself(text: pd.Series | np.ndarray, uniques: pd.Index) -> bool:
    """Whether every distinct text id is already its own normalised, non-blank text."""
    if not isinstance(text, pd.Series) or not pd.api.types.is_string_dtype(uniques.dtype):
        return False
    normalised = text.reset_index(drop=True)
    same = normalised.eq(pd.Series(uniques.array))
    return bool(same.all()) and not is_missing_text(pd.Index(normalised.array)).any()


#: Texts that mean "no value" in an id column, compared after stripping white
#: space and ignoring case: the same rule for a DataFrame and for a file.
MISSING_TEXTS: tuple[str, ...] = ("", "na", "n/a", "nan", "null", "none", "<na>", "#n/a")


def is_missing_text(texts: pd.Index) -> np.ndarray:
    """Mask of texts that are one of ``MISSING_TEXTS`` in any case.

    The texts must be stripped of white space already (ids are, once
    normalised). Every missing spelling is short: only texts of at most four
    characters are lowered and looked up, so a column of long ids costs one
    length kernel.
    """
    out = np.zeros(len(texts), dtype=bool)
    if len(texts) == 0:
        return out
    values = pd.Series(texts.array)
    if not pd.api.types.is_string_dtype(values.dtype):
        values = values.astype(str)
    short = values.str.len().to_numpy(dtype="float64", na_value=0) <= 4
    if short.any():
        out[short] = values[short].str.lower().isin(MISSING_TEXTS).to_numpy(dtype=bool)
    return out


def factorize_runs(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize`` that hashes each run of equal neighbours once.

    Order exports list the lines of an order (and often the orders of a
    customer) next to each other; comparing neighbours is far cheaper than
    hashing every row, so only the first value of each run is hashed. The
    result is the same as ``pd.factorize(values)`` (codes in order of first
    appearance, -1 for missing) whatever the row order.
    """
    n = len(values)
    if n < 2:
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), pd.Index(uniques)
    # ids of one byte width held by Arrow: hashed as integers
    factorized = factorize_fixed_width(values)
    if factorized is not None:
        return factorized
    head = values.iloc[:-1].reset_index(drop=True)
    tail = values.iloc[1:].reset_index(drop=True)
    change = np.empty(n, dtype=bool)
    change[0] = True
    change[1:] = np.asarray((tail != head).fillna(True), dtype=bool)
    starts = np.flatnonzero(change)
    del change
    run_codes, uniques = pd.factorize(values.iloc[starts])
    run_lengths = np.diff(np.append(starts, n))
    small = len(uniques) < 2**31
    codes = np.repeat(run_codes.astype(np.int32 if small else np.int64), run_lengths)
    return codes, pd.Index(uniques)


def _integers_as_text(uniques: pd.Index) -> pd.Index:
    """Integer ids as text, in one vectorised cast when pyarrow is there."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is optional
        return pd.Index(np.asarray(uniques.astype(str), dtype=object)).astype(TEXT_DTYPE)
    unsigned = pd.api.types.is_unsigned_integer_dtype(uniques.dtype)
    # uint64 ids above 2**63 keep their digits (never read as negative int64)
    text = pa.array(np.asarray(uniques, dtype=np.uint64 if unsigned else np.int64)).cast(
        pa.string())
    return pd.Index(text.to_pandas(types_mapper=None)).astype(TEXT_DTYPE)


def _distinct_as_text(uniques: pd.Index) -> pd.Series | np.ndarray:
    dtype = uniques.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.asarray(uniques.astype(str), dtype=object)
    if pd.api.types.is_float_dtype(dtype):
        return _floats_as_text(np.asarray(uniques, dtype="float64"))
    if isinstance(dtype, pd.StringDtype):
        # the dtype says text: no need to look at every value to know it
        return _texts_normalised(pd.Series(uniques, dtype=dtype))
    kind = pd.api.types.infer_dtype(uniques, skipna=True)
    if kind in ("string", "empty"):
        # keep a pandas string dtype (Arrow-backed on pandas 3): its .str
        # methods run as vectorised kernels instead of a Python loop
        keep = isinstance(dtype, pd.StringDtype)
        return _texts_normalised(pd.Series(uniques, dtype=dtype if keep else object))
    if kind == "integer":
        return np.asarray(uniques.astype(str), dtype=object)
    if kind == "floating":
        return _floats_as_text(np.asarray(uniques, dtype="float64"))
    # Mixed types (e.g. 17850 and "17850" and 17850.0 in one object column):
    # only the distinct values are visited, one by one.
    return np.asarray([_one_as_text(v) for v in uniques], dtype=object)


def _texts_normalised(texts: pd.Series) -> pd.Series:
    """Strip white space; ``"17850.0"`` (an integer written as a float) -> ``"17850"``.

    Exports that went through a float column (spreadsheets, pandas without a
    dtype) write integer ids as ``17850.0``; reading them back must not split
    a customer in two.
    """
    stripped = texts.str.strip()
    if not stripped.str.contains(".", regex=False).any():
        return stripped
    return stripped.str.replace(_FLOAT_INTEGER, r"\1", regex=True)


_FLOAT_INTEGER = r"^([+-]?\d+)\.0+$"


def _floats_as_text(values: np.ndarray) -> np.ndarray:
    integral = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2**53)
    text = values.astype(str).astype(object)
    text[integral] = values[integral].astype(np.int64).astype(str)
    return text


def _one_as_text(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return str(_floats_as_text(np.array([value], dtype="float64"))[0])
    return str(_texts_normalised(pd.Series([str(value)], dtype=object)).iloc[0])
