"""Filtration steps on exact event levels, their labels, and the sharpness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import likelihoods

from topoviz.filtration import (
    event_levels,
    level_labels,
    saturation,
    sharpen,
    unsharpen_level,
)
from topoviz.metrics import betti_numbers
from topoviz.persistence import diagram
from topoviz.synthetic import fig3_likelihood


@settings(max_examples=150)
@given(f=likelihoods(max_side=10), frame=st.booleans(), floor=st.sampled_from([0.0, 0.05]))
def test_every_event_is_a_step_on_an_exact_level(f, frame, floor):
    dgm = diagram(f, frame=frame)
    levels = event_levels(dgm, min_persistence=floor)
    assert levels == sorted(set(levels), reverse=True)
    values = set(f.ravel().tolist()) | {0.0, 0.5, 1.0}
    assert set(levels) <= values  # levels are f's own values, never rounded ones
    for k in dgm.dims:
        d = dgm[k]
        keep = d.persistence > floor
        for b in d.birth[keep]:
            assert b in levels and d.alive(b)[keep].any()  # born at its step: not an empty step
    for a in levels:
        if 0.0 < a and 1.0 - a == 1.0:
            # below float64's resolution of 1 - f: a class born here and dying at 0 has
            # zero persistence in the paper's coordinates and is omitted (diagram's Notes)
            continue
        assert tuple(dgm.betti(a).values()) == betti_numbers(f >= a, frame=frame)


def test_classroom_fig4_steps_are_not_rounded_nor_merged():
    # Regression: rounding to 3 decimals put a birth at 0.92552 on the step 0.926
    # (an empty image, β0 = 0) and merged events at 0.40039 and 0.40005.
    f = np.full((5, 7), 0.05)
    f[1, 1], f[1, 3], f[1, 5], f[3, 3] = 0.92552, 0.40039, 0.40005, 0.7
    dgm = diagram(f, frame=False)
    levels = event_levels(dgm)
    assert 0.92552 in levels and 0.40039 in levels and 0.40005 in levels
    assert dgm.betti(0.92552)[0] == 1 == betti_numbers(f >= 0.92552, frame=False)[0]
    labels = level_labels(levels)
    assert len(set(labels)) == len(labels)
    assert labels[levels.index(0.92552)] == "0.926"


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_labels_are_distinct_for_distinct_levels(xs):
    levels = sorted(set(xs), reverse=True)
    labels = level_labels(levels)
    assert len(set(labels)) == len(labels)
    assert all("e" in s or len(s.split(".")[1]) >= 3 for s in labels)


def test_the_classroom_example_steps_agree_with_labelling():
    f, _ = fig3_likelihood(96, 0, 0.1)
    f = f.astype(np.float64)
    dgm = diagram(f, frame=False)
    for a in event_levels(dgm):
        assert tuple(dgm.betti(a).values()) == betti_numbers(f >= a, frame=False)


@settings(max_examples=60)
@given(f=likelihoods(max_side=8), t=st.sampled_from([0.5, 2.0, 8.0]))
def test_sharpen_keeps_the_diagram_up_to_levels(f, t):
    # Dots are drawn at 1 - value: a value closer to 0 than a float step of 1 (f = 1e-38
    # beside 0) has no persistence in f, while sharpen spreads it to a real dot.
    assume(len(np.unique(1.0 - np.asarray(f, np.float64))) == len(np.unique(f)))
    g = sharpen(f, t)
    assert g.min() >= 0 and g.max() <= 1
    a, b = diagram(f), diagram(g)
    for k in (0, 1):
        assert len(a[k]) == len(b[k])
        np.testing.assert_array_equal(a[k].birth_pixel, b[k].birth_pixel)


@given(
    f=likelihoods(max_side=8),
    t=st.sampled_from([0.5, 2.0, 4.0, 8.0]),
    alpha=st.floats(0.01, 0.99),
)
def test_the_sharpened_threshold_is_a_threshold_of_f(f, t, alpha):
    # Filtration's heading "f′ ≥ α (that is, f ≥ a)": the same set, away from a tie
    a = unsharpen_level(alpha, t)
    f = np.asarray(f, np.float64)
    assume(np.abs(f - a).min() > 1e-9)
    np.testing.assert_array_equal(sharpen(f, t) >= alpha, f >= a)


def test_saturation_sees_a_saturated_net_and_sharpen_spreads_it():
    rng = np.random.default_rng(0)
    f = np.where(rng.random((40, 40)) > 0.5, 0.995, 0.002) + rng.random((40, 40)) * 0.003
    dgm = diagram(f)
    assert saturation(dgm) > 0.9
    assert saturation(diagram(sharpen(f, 4.0))) < 0.5
    with pytest.raises(ValueError, match="> 0"):
        sharpen(f, 0.0)


@pytest.mark.parametrize("frame", [True, False])
@pytest.mark.parametrize("seed", [0, 3, 7])
def test_the_fig4_example_without_bumps_has_no_noise_class_at_any_event(seed, frame):
    # Classroom's Fig. 4 tab: at every event a lecturer steps to, the classes alive are
    # the figure's own (persistence >= 0.05) but for at most one, so the β on screen
    # tell its story (with the bumps, 4 to 20 noise classes at one event on these seeds)
    f, _ = fig3_likelihood(96, seed, 0.1, hills=0.0)
    dgm = diagram(f.astype(np.float64), frame=frame)
    for a in event_levels(dgm, min_persistence=0.05):
        for k in (0, 1):
            alive = dgm[k].alive(a)
            assert (dgm[k].persistence[alive] < 0.05).sum() <= 1, (a, k)
    bumpy, _ = fig3_likelihood(96, seed, 0.1)
    assert ((bumpy >= 0.5) == (f >= 0.5)).all()  # the same segmentation at 0.5
    # for scale, the bumps: at some event several noise classes are alive at once
    noisy = diagram(bumpy.astype(np.float64), frame=frame)
    alive = [
        int((noisy[k].persistence[noisy[k].alive(a)] < 0.05).sum())
        for a in event_levels(noisy, min_persistence=0.05)
        for k in (0, 1)
    ]
    assert max(alive) >= 4
