"""Factorise Arrow text whose values all have one byte width, as integers.

Ids in order exports very often have one width: ``C0000042``, ``INV-2024-000017``,
UUIDs. Arrow stores such a column as one contiguous block of bytes, so every
value can be read as a fixed number of 64-bit words without making a string
object. Comparing neighbours is then a byte comparison, and hashing integers is
several times faster than hashing strings: on the 10M-line benchmark
(``benchmarks/bench_core.py``) the 5.4M run heads of the order ids took 1.0 s
this way against 3.2 s through ``pd.factorize`` on the Arrow strings.

The result is exactly that of ``pd.factorize``. Values of up to 8 bytes are
their own key. Longer values are mixed into one 64-bit key for the hash table,
and every value is then compared, word by word, with the first value that got
its code; if two different ids ever share a key, ``factorize_fixed_width``
returns ``None`` and the caller takes the general path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rfm_loyalty._codes import first_appearances

#: Wider ids take the general path (the words would cost more than they save).
MAX_WIDTH = 64
#: Odd 64-bit constant (2**64 / golden ratio) that spreads one word over the key.
_MIX = np.uint64(0x9E3779B97F4A7C15)


def fixed_width_bytes(values: pd.Series) -> list[np.ndarray] | None:
    """Return Arrow-backed text of one byte width as numpy ``S<width>`` arrays, one per chunk.

    The arrays are views of Arrow's buffers (no copy). ``None`` when the
    values are not Arrow text (pandas 2.2 keeps text as Python objects), hold
    a missing value, have several widths, or are empty or wider than
    ``MAX_WIDTH`` bytes.
    """
    array = values.array
    if not isinstance(array, pd.arrays.ArrowExtensionArray):
        return None
    import pyarrow as pa

    chunked = array.__arrow_array__()
    kind = chunked.type
    if chunked.null_count or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    offset_dtype = np.dtype(np.int32 if pa.types.is_string(kind) else np.int64)
    parts: list[np.ndarray] = []
    width: int | None = None
    for chunk in chunked.chunks:
        if len(chunk) == 0:
            continue
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(
            offsets_buffer,
            dtype=offset_dtype,
            count=len(chunk) + 1,
            offset=chunk.offset * offset_dtype.itemsize,
        )
        chunk_width = int(offsets[1] - offsets[0])
        if width is None:
            width = chunk_width
        if chunk_width != width or not 0 < width <= MAX_WIDTH:
            return None
        if np.any(np.diff(offsets) != width):
            return None
        parts.append(
            np.frombuffer(data_buffer, dtype=f"S{width}", count=len(chunk), offset=int(offsets[0]))
        )
    return parts or None


def factorize_fixed_width(values: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """``pd.factorize`` of Arrow text of one width, hashing each run of equal neighbours once.

    Parameters
    ----------
    values : pandas.Series
        At least one value; any text (``None`` is returned when the fast path
        does not apply, see ``fixed_width_bytes``).

    Returns
    -------
    (codes, uniques) or None
        ``codes`` (int32, int64 beyond 2**31 distinct values) in order of
        first appearance and ``uniques`` (``pandas.Index`` of the values'
        dtype), as ``pd.factorize`` gives them; ``None`` if the values are not
        Arrow text of one width, or if two ids shared a hash key.
    """
    chunks = fixed_width_bytes(values)
    if chunks is None:
        return None
    n = len(values)
    starts, heads = _run_heads(chunks)
    del chunks
    # the hash table is the memory peak: hold only what it needs beside it
    run_lengths: np.ndarray[Any, np.dtype[np.integer[Any]]] = np.diff(starts, append=n).astype(
        np.int32 if n < 2**31 else np.int64
    )
    del starts
    words = _words(heads)
    mixed = words.shape[1] > 1
    key = words[:, 0].copy()
    for j in range(1, words.shape[1]):
        key *= _MIX
        key ^= words[:, j]
    del words
    run_codes_wide, _ = pd.factorize(key)
    del key
    first = first_appearances(run_codes_wide)
    run_codes = run_codes_wide.astype(np.int32 if len(first) < 2**31 else np.int64)
    del run_codes_wide
    representatives = heads[first]
    # a key mixes several words: check every value against its code's first value
    if mixed and not np.array_equal(representatives[run_codes], heads):
        return None  # two different ids share a key: let pandas hash the text
    del heads
    return np.repeat(run_codes, run_lengths), _as_text_index(representatives, values.dtype)


def argsort_fixed_width(values: pd.Index) -> np.ndarray | None:
    """Positions that sort distinct Arrow text ids of one byte width, as Python sorts text.

    UTF-8 bytes compare in the order of the code points they encode, which is
    how Python compares text; read big-endian, the 64-bit words of a value
    compare in the order of its bytes. So the words are sorted as integers
    (several times faster than sorting strings). ``None`` when the fast path
    does not apply (see ``fixed_width_bytes``).
    """
    chunks = fixed_width_bytes(pd.Series(values, copy=False))
    if chunks is None:
        return None
    text = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    words = _words(text).byteswap()  # big-endian: integer order = byte order
    if words.shape[1] == 1:
        return np.argsort(words[:, 0], kind="stable")
    return np.lexsort(words.T[::-1])  # the first word is the primary key


def _run_heads(chunks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the first row of each run of equal neighbours.

    Chunk by chunk, so that the bytes of every row are never copied: only the
    heads are, into one array allocated once.
    """
    bounds = np.cumsum([0] + [len(chunk) for chunk in chunks])
    change = np.empty(int(bounds[-1]), dtype=bool)
    for i, chunk in enumerate(chunks):
        lo = int(bounds[i])
        change[lo] = i == 0 or chunk[0] != chunks[i - 1][-1]
        np.not_equal(chunk[1:], chunk[:-1], out=change[lo + 1 : lo + len(chunk)])
    starts = np.flatnonzero(change)
    del change
    heads = np.empty(len(starts), dtype=chunks[0].dtype)
    cuts = np.searchsorted(starts, bounds)
    for i, chunk in enumerate(chunks):
        np.take(chunk, starts[cuts[i] : cuts[i + 1]] - bounds[i], out=heads[cuts[i] : cuts[i + 1]])
    return starts, heads


def _words(text: np.ndarray) -> np.ndarray:
    """View ``S<width>`` values as rows of little-endian 64-bit words (zero padded)."""
    width = text.dtype.itemsize
    n_words = -(-width // 8)
    raw = np.ascontiguousarray(text).view(np.uint8).reshape(len(text), width)
    if width % 8:
        padded = np.zeros((len(text), 8 * n_words), dtype=np.uint8)
        padded[:, :width] = raw
        raw = padded
    return raw.view("<u8").reshape(len(text), n_words)


def _as_text_index(text: np.ndarray, dtype: Any) -> pd.Index:
    """``S<width>`` values (whole UTF-8 strings) as a text Index of ``dtype``, via Arrow."""
    import pyarrow as pa

    width = text.dtype.itemsize
    offsets = np.arange(len(text) + 1, dtype=np.int64) * width
    array = pa.LargeStringArray.from_buffers(
        len(text), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(text))
    )
    return pd.Index(pd.array(array, dtype=dtype))
