"""The assignment draw: a keyed hash of the customer id, the same in every run.

``draw = SipHash-2-4(key, UTF-8 bytes of the customer id) / 2**64`` (its top
53 bits, so the draw is an exact double in [0, 1)), with the 128-bit key
``BLAKE2b(UTF-8 bytes of the campaign name, digest_size=16)``. SipHash-2-4
(Aumasson and Bernstein, "SipHash: a fast short-input PRF", INDOCRYPT 2012)
is a keyed pseudo-random function: without the campaign name nothing about
the draws can be predicted, and two campaigns' draws are independent. Both
algorithms are fixed by their specifications, so the draw of a customer in a
campaign can be recomputed in any language, by any version of this library.

SipHash is written here with numpy over all ids at once: the ids are laid out
as a zero-padded byte matrix and the loop runs over 8-byte word positions
(a handful), never over customers.
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)
_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def campaign_key(name: str) -> tuple[int, int]:
    """Return the SipHash key (k0, k1) of a campaign: BLAKE2b-128 of its name."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


def _rotl(x: np.ndarray, bits: int) -> np.ndarray:
    return (x << np.uint64(bits)) | (x >> np.uint64(64 - bits))


def _round(v0: np.ndarray, v1: np.ndarray, v2: np.ndarray,
           v3: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    v0 = v0 + v1
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = v2 + v3
    v3 = _rotl(v3, 16) ^ v2
    v0 = v0 + v3
    v3 = _rotl(v3, 21) ^ v0
    v2 = v2 + v1
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(data: np.ndarray, lengths: np.ndarray, key: tuple[int, int]) -> np.ndarray:
    """SipHash-2-4 of every row of a zero-padded byte matrix.

    Parameters
    ----------
    data : numpy.ndarray of uint8, shape (n, width)
        Row i holds message i in its first ``lengths[i]`` bytes, zeros after.
    lengths : numpy.ndarray of int64, shape (n,)
    key : (int, int)
        The 128-bit key as two little-endian 64-bit halves.

    Returns
    -------
    numpy.ndarray of uint64, shape (n,)
    """
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    n_words = int(lengths.max()) // 8 + 1  # the last word holds the length byte
    padded = np.zeros((n, n_words * 8), dtype=np.uint8)
    width = min(data.shape[1], n_words * 8)
    padded[:, :width] = data[:, :width]
    words = padded.view("<u8").astype(np.uint64)
    k0, k1 = (np.uint64(k) for k in key)
    v0 = np.full(n, np.uint64(_INIT[0]) ^ k0)
    v1 = np.full(n, np.uint64(_INIT[1]) ^ k1)
    v2 = np.full(n, np.uint64(_INIT[2]) ^ k0)
    v3 = np.full(n, np.uint64(_INIT[3]) ^ k1)
    full_words = lengths // 8
    length_byte = (lengths.astype(np.uint64) & np.uint64(0xFF)) << np.uint64(56)
    with np.errstate(over="ignore"):
        for j in range(n_words):
            live = j <= full_words
            m = np.where(j == full_words, words[:, j] | length_byte, words[:, j])
            n0, n1, n2, n3 = v0, v1, v2, v3 ^ m
            for _ in range(2):
                n0, n1, n2, n3 = _round(n0, n1, n2, n3)
            n0 = n0 ^ m
            v0, v1 = np.where(live, n0, v0), np.where(live, n1, v1)
            v2, v3 = np.where(live, n2, v2), np.where(live, n3, v3)
        v2 = v2 ^ np.uint64(0xFF)
        for _ in range(4):
            v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return (v0 ^ v1 ^ v2 ^ v3) & _MASK


def utf8_matrix(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 bytes of text ids as a zero-padded matrix, and each id's byte length.

    Encoded with array operations from the code points (numpy's per-element
    ``char.encode`` is several times slower).
    """
    objects = np.asarray(ids, dtype=object)
    # numpy text drops trailing NULs: the lengths come from the str objects
    n_chars = np.fromiter(map(len, objects), dtype=np.int64, count=len(objects))
    text = objects.astype(str)
    n = len(text)
    chars = max(text.dtype.itemsize // 4, 1)
    points: np.ndarray = np.zeros((n, chars), dtype=np.uint32)
    if text.dtype.itemsize:
        points[:] = text.view(np.uint32).reshape(n, chars)
    if n == 0 or int(points.max()) < 0x80:
        return points.astype(np.uint8), n_chars
    width = (1 + (points >= 0x80).astype(np.uint32) + (points >= 0x800)
             + (points >= 0x10000))
    width[np.arange(chars) >= n_chars[:, None]] = 0
    lengths = width.sum(axis=1, dtype=np.int64)
    row_width = max(int(lengths.max()), 1)
    start = (np.cumsum(width, axis=1, dtype=np.int64) - width
             + (np.arange(n, dtype=np.int64) * row_width)[:, None]).ravel()
    width, points = width.ravel(), points.ravel()
    out = np.zeros(n * row_width, dtype=np.uint8)
    lead_bits = np.array([0, 0, 0xC0, 0xE0, 0xF0], dtype=np.uint32)[width]
    # byte k of a w-byte character: its bits from 6*(w-1-k) up, the first one
    # under the lead marker, the others under 0b10xxxxxx
    for k in range(4):
        here = np.flatnonzero(width > k)
        w, cp = width[here], points[here]
        shifted = cp >> (6 * (w - 1 - k))
        value = (lead_bits[here] | shifted) if k == 0 else (0x80 | (shifted & 0x3F))
        out[start[here] + k] = value.astype(np.uint8)
    return out.reshape(n, row_width), lengths


def assignment_draws(name: str, ids: np.ndarray) -> np.ndarray:
    """Draw in [0, 1) of every customer id in campaign ``name`` (float64).

    Examples
    --------
    >>> d = assignment_draws("spring", np.array(["C1", "C2"], dtype=object))
    >>> bool(((d >= 0) & (d < 1)).all()), bool(d[0] == assignment_draws("spring", ["C1"])[0])
    (True, True)
    """
    data, lengths = utf8_matrix(ids)
    hashed = siphash24(data, lengths, campaign_key(name))
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53
