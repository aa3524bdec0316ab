"""The sort-based set operations agree with numpy's own."""

from __future__ import annotations

import numpy as np
import pytest

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
