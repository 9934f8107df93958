"""Ids as codes: the fixed-width fast path gives exactly what pd.factorize gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rfm_loyalty._ingest import fixed_width as _fixed_width
from rfm_loyalty._ingest.fixed_width import (
    argsort_fixed_width,
    factorize_fixed_width,
    fixed_width_bytes,
)
from rfm_loyalty._ingest.ids import factorize_runs, ids_as_text

ARROW_TEXT = [
    pd.ArrowDtype(pa.string()),
    pd.ArrowDtype(pa.large_string()),
    pd.StringDtype("pyarrow"),
]


def _same_as_pandas(values: pd.Series) -> None:
    codes, uniques = factorize_runs(values)
    expected_codes, expected_uniques = pd.factorize(values)
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(uniques) == list(expected_uniques)
    assert uniques.dtype == values.dtype


@pytest.mark.parametrize("dtype", ARROW_TEXT, ids=str)
@pytest.mark.parametrize("width", [1, 7, 8, 9, 16, 17, 36])
def test_fixed_width_ids_factorise_as_pandas_does(dtype, width):
    rng = np.random.default_rng(width)
    pool = ["".join(rng.choice(list("AB01"), width)) for _ in range(40)]
    values = pd.Series(rng.choice(pool, 500), dtype=dtype)
    assert fixed_width_bytes(values) is not None  # the fast path is taken
    _same_as_pandas(values)


def test_chunked_and_sliced_arrow_columns_are_read_in_place():
    chunks = [pa.array(["A1", "B2", "A1"]), pa.array(["X9", "A1", "B2", "C3"]).slice(1)]
    values = pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks)))
    chunks = fixed_width_bytes(values)
    np.testing.assert_array_equal(chunks[0], np.array([b"A1", b"B2", b"A1"]))
    np.testing.assert_array_equal(chunks[1], np.array([b"A1", b"B2", b"C3"]))  # the slice
    _same_as_pandas(values)


def test_multibyte_text_of_one_byte_width_round_trips():
    values = pd.Series(["é1", "ab1", "é1", "ü2"], dtype=pd.ArrowDtype(pa.string()))  # 3 bytes each
    codes, uniques = factorize_runs(values)
    assert codes.tolist() == [0, 1, 0, 2]
    assert list(uniques) == ["é1", "ab1", "ü2"]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["a", "bb", "a"], dtype=pd.ArrowDtype(pa.string())),  # several widths
        pd.Series(["ab", None, "ab"], dtype=pd.ArrowDtype(pa.string())),  # a missing value
        pd.Series(["", ""], dtype=pd.ArrowDtype(pa.string())),  # width 0
        pd.Series(["x" * 65] * 2, dtype=pd.ArrowDtype(pa.string())),  # wider than MAX_WIDTH
        pd.Series(["ab", "cd"], dtype=object),  # Python objects (pandas 2.2 text)
        pd.Series([17850, 17851]),
    ],
    ids=["widths", "missing", "empty", "wide", "object", "integers"],
)
def test_other_columns_take_the_general_path_with_the_same_result(values):
    assert fixed_width_bytes(values) is None
    codes, uniques = factorize_runs(values)
    expected_codes, expected_uniques = pd.factorize(values)
    np.testing.assert_array_equal(codes, expected_codes)
    assert list(uniques) == list(expected_uniques)


def test_a_hash_collision_falls_back_to_pandas(monkeypatch):
    # with the mixing constant 0 the key is the last word only: these two ids
    # of 9 bytes share it, and must still be told apart
    monkeypatch.setattr(_fixed_width, "_MIX", np.uint64(0))
    values = pd.Series(["AAAAAAAAx", "BBBBBBBBx", "AAAAAAAAx"], dtype=pd.ArrowDtype(pa.string()))
    assert factorize_fixed_width(values) is None
    codes, uniques = factorize_runs(values)
    assert codes.tolist() == [0, 1, 0]
    assert list(uniques) == ["AAAAAAAAx", "BBBBBBBBx"]


def test_customer_ids_of_one_width_are_normalised_like_any_text():
    values = pd.Series([" 17850.0 ", "17850    ", "0000012  ", "         "],
                       dtype=pd.ArrowDtype(pa.string()))
    assert fixed_width_bytes(values) is not None
    codes, texts = ids_as_text(values)
    assert codes.tolist() == [0, 0, 1, -1]
    assert list(texts[codes[:3]]) == ["17850", "17850", "0000012"]


@settings(max_examples=60, deadline=None)
@given(
    width=st.integers(1, 20),
    picks=st.lists(st.integers(0, 6), min_size=2, max_size=60),
    seed=st.integers(0, 2**16),
)
def test_fast_path_equals_pandas_on_random_runs(width, picks, seed):
    rng = np.random.default_rng(seed)
    pool = ["".join(rng.choice(list("xyz0"), width)) for _ in range(7)]
    _same_as_pandas(pd.Series([pool[i] for i in picks], dtype=pd.ArrowDtype(pa.large_string())))


def test_numeric_ids_hashed_in_two_threads_give_the_serial_result(monkeypatch):
    from rfm_loyalty import prepare_orders
    from rfm_loyalty._ingest import lines as _ingest
    from rfm_loyalty.orders import OrderColumns

    rng = np.random.default_rng(3)
    lines = pd.DataFrame({
        "customer_id": rng.integers(1, 50, 400),
        "order_id": rng.integers(1, 120, 400),
        "order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90, 400), "D"),
        "amount": rng.normal(20, 15, 400).round(2),
    })
    cols = OrderColumns(order_id="order_id")
    assert not _ingest._hash_in_parallel(lines["customer_id"], lines["order_id"])  # too few rows
    serial = prepare_orders(lines, cols)
    monkeypatch.setattr(_ingest, "_PARALLEL_MIN_ROWS", 1)
    assert _ingest._hash_in_parallel(lines["customer_id"], lines["order_id"])
    assert not _ingest._hash_in_parallel(lines["customer_id"].astype(str), lines["order_id"])
    parallel = prepare_orders(lines, cols)
    pd.testing.assert_frame_equal(parallel.frame, serial.frame)
    assert parallel.quality == serial.quality


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 6), seed=st.integers(0, 2**16), n=st.integers(1, 40))
def test_fixed_width_sort_is_pythons_text_order(width, seed, n):
    # characters of 1 to 3 UTF-8 bytes; values of one byte width sort as Python sorts str
    rng = np.random.default_rng(seed)
    alphabet = ["a", "B", "0", "~", "é", "ß", "€", "中"]
    texts = {"".join(rng.choice(alphabet, width)) for _ in range(n)}
    by_bytes: dict[int, list[str]] = {}
    for t in texts:
        by_bytes.setdefault(len(t.encode()), []).append(t)
    same_width = max(by_bytes.values(), key=len)
    ids = pd.Index(same_width, dtype=pd.ArrowDtype(pa.large_string()))
    order = argsort_fixed_width(ids)
    assert [same_width[i] for i in order] == sorted(same_width)


def test_fixed_width_sort_declines_several_widths():
    assert argsort_fixed_width(pd.Index(["9", "10"], dtype=pd.ArrowDtype(pa.string()))) is None


@pytest.mark.parametrize(("values", "codes", "texts"), [
    (["AB123", " AB12", "CD456"], [0, 1, 2], ["AB123", "AB12", "CD456"]),
    (["A1.00", "A1.00", "B2.00"], [0, 0, 1], ["A1.00", "B2.00"]),
    (["17850.0", "17850  ", "17851.0"], [0, 0, 1], ["17850", "17851"]),
    (["NULL", "AB12", "None"], [-1, 0, -1], ["AB12"]),
    ([" NA  ", "ABCDE"], [-1, 0], ["ABCDE"]),
    (["ABCD\u3000", "ABCD\u00a0"], [0, 0], ["ABCD"]),
])
def test_arrow_ids_of_one_width_are_normalised_like_any_text(values, codes, texts):
    arrow = pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    got_codes, got_texts = ids_as_text(arrow)
    assert got_codes.tolist() == codes
    assert list(got_texts) == texts
