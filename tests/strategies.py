"""Hypothesis strategies for likelihood maps and masks."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def likelihoods(draw, max_side: int = 9, min_side: int = 1) -> np.ndarray:
    """H x W arrays in [0, 1], often with ties and plateaus (the hard cases)."""
    h = draw(st.integers(min_side, max_side))
    w = draw(st.integers(min_side, max_side))
    levels = draw(st.sampled_from([2, 3, 5, 0]))  # 0: continuous values
    if levels:
        ints = draw(hnp.arrays(np.int64, (h, w), elements=st.integers(0, levels - 1)))
        return ints / (levels - 1)
    return draw(hnp.arrays(np.float64, (h, w), elements=st.floats(0, 1, allow_nan=False, width=32)))


@st.composite
def masks(draw, max_side: int = 10, min_side: int = 1, shape=None) -> np.ndarray:
    if shape is None:
        shape = (draw(st.integers(min_side, max_side)), draw(st.integers(min_side, max_side)))
    return draw(hnp.arrays(np.bool_, shape))


def distinct_likelihood(rng: np.random.Generator, shape) -> np.ndarray:
    """Generic f: all values distinct (the pairing is then locally constant)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) + rng.random(shape) * 0.5 + 0.25) / (n + 1)
