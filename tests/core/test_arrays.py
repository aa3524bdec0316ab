"""The sort-based set operations agree with numpy's own."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.index import arrays
from bot.core.index.arrays import distinct, distinct_counts, distinct_inverse, lookup, member


@pytest.mark.parametrize("size", [0, 1, 2, 7, 1000])
def test_they_agree_with_numpy(size):
    rng = np.random.default_rng(size)
    values = rng.integers(0, max(size // 3, 1), size).astype(np.int32)
    assert np.array_equal(distinct(values), np.unique(values))
    found, counts = distinct_counts(values)
    want, want_counts = np.unique(values, return_counts=True)
    assert np.array_equal(found, want) and np.array_equal(counts, want_counts)
    found, inverse = distinct_inverse(values)
    want, want_inverse = np.unique(values, return_inverse=True)
    assert np.array_equal(found, want) and np.array_equal(inverse, want_inverse)
    keys = distinct(values)
    probe = np.arange(-2, max(size // 3, 1) + 2)
    assert np.array_equal(member(probe, keys), np.isin(probe, keys))
    where = lookup(keys, probe)
    assert all(keys[w] == p for w, p in zip(where, probe, strict=True) if w >= 0)


def test_lookup_in_keys_with_repeats_finds_the_first():
    assert lookup(np.array([1, 3, 3, 9]), np.array([3, 4, 9])).tolist() == [1, -1, 3]


@pytest.mark.parametrize("bound", [1, 2, 300, 2**16, 2**16 + 1, 5_000_000, 2**31])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_stable_order_is_the_stable_argsort(bound, dtype):
    rng = np.random.default_rng(bound)
    for size in (0, 1, 7, 5_000):
        values = rng.integers(0, bound, size=size).astype(dtype)
        if size > 1:  # ties that differ only above the low 16 bits, and runs of equal keys
            values[: size // 2] = values[size // 2 : 2 * (size // 2)]
        expected = np.argsort(values, kind="stable")
        assert np.array_equal(arrays.stable_order(values, bound), expected)


def test_stable_order_refuses_a_bound_it_cannot_keep():
    with pytest.raises(ValueError, match="bound"):
        arrays.stable_order(np.zeros(3, dtype=np.int64), 2**32 + 1)
