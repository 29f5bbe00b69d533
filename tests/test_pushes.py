"""Where the pushes of the loss land, and where two rules disagree."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from topoviz.loss import CriticalTargets, critical_targets
from topoviz.matching import betti_match, match
from topoviz.pushes import disagreements, push_landings, spurious_blob_example


def _targets(pixels, targets, dots=None) -> CriticalTargets:
    n = len(pixels)
    return CriticalTargets(
        np.asarray(pixels, np.int64).reshape(-1, 2),
        np.asarray(targets, float),
        np.zeros(n, np.int64),
        np.arange(n) if dots is None else np.asarray(dots),
        np.full(n, "birth"),
        0.0,
    )


def test_a_push_lands_right_when_it_moves_towards_the_truth():
    f = np.full((2, 2), 0.5)
    g = np.array([[1, 0], [1, 0]])
    # up on the truth, up off it, down on it, down off it, and no push at all
    ct = _targets([[0, 0], [0, 1], [1, 0], [1, 1], [0, 0]], [0.9, 0.9, 0.1, 0.1, 0.5])
    land = push_landings(f, g, ct)
    assert land.up.tolist() == [True, True, False, False]
    assert land.right.tolist() == [True, False, False, True]
    assert land.counts() == {"up, right": 1, "up, wrong": 1, "down, right": 1, "down, wrong": 1}
    assert land.size.tolist() == pytest.approx([0.4] * 4)
    assert len(push_landings(f, g, ct, min_push=0.5)) == 0


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 999), st.sampled_from(["paper", "optimal", "betti"]))
def test_counts_add_up_and_matched_only_is_a_subset(seed, rule):
    rng = np.random.default_rng(seed)
    f = rng.random((12, 12))
    g = rng.random((12, 12)) > 0.5
    if rule == "betti":
        m = betti_match(f, g.astype(float))
        dgm = m.diagram_f
    else:
        from topoviz.persistence import diagram

        dgm = diagram(f)
        m = match(dgm, diagram(g.astype(float)), rule)
    ct = critical_targets(dgm, m)
    every = push_landings(f, g, ct)
    pulled = push_landings(f, g, ct, matching=m)
    assert sum(every.counts().values()) == len(every) <= len(ct.pixel)
    assert len(pulled) <= len(every)
    for k in (0, 1):
        assert (m[k].partner[pulled.dot[pulled.dim == k]] >= 0).all()
    # "also the dots sent to the diagonal": the pulled pushes and more, never fewer
    also = push_landings(f, g, ct, matching=m, diagonal_over=0.05)
    key = set(zip(also.dim.tolist(), also.dot.tolist(), also.end.tolist(), strict=True))
    assert (
        set(zip(pulled.dim.tolist(), pulled.dot.tolist(), pulled.end.tolist(), strict=True)) <= key
    )
    assert len(pulled) <= len(also) <= len(every)
    sent = np.array([m[k].partner[d] < 0 for k, d in zip(also.dim, also.dot, strict=True)], bool)
    assert (2 * also.size[sent] > 0.05).all()  # the force, as Landscape measures it


def test_the_rules_disagree_on_both_blobs_of_the_example():
    f, g = spurious_blob_example()
    betti = betti_match(f, g)
    paper = match(betti.diagram_f, betti.diagram_g, "paper")
    split = disagreements(paper, betti)
    assert len(split[0]) == 2 and len(split[1]) == 0
    right = {
        rule: push_landings(f, g, critical_targets(betti.diagram_f, m), matching=m).counts()
        for rule, m in (("paper", paper), ("betti", betti))
    }
    assert right["betti"]["up, right"] > right["paper"]["up, right"]
    assert right["paper"]["up, wrong"] > right["betti"]["up, wrong"]
    with pytest.raises(ValueError, match="size"):
        spurious_blob_example(8)
