"""Matching: the paper's rule, the exact optimum, and the cost of Eq. 2.2."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import likelihoods, masks

from topoviz.matching import diagonal_projection, match
from topoviz.persistence import Diagram, Dots, diagram


def make_diagram(dots0, dots1=()) -> Diagram:
    def dots(k, pts):
        pts = np.asarray(pts, float).reshape(-1, 2)
        n = len(pts)
        none = np.full((n, 2), -1)
        return Dots(k, pts, none, none, np.zeros(n, bool))

    return Diagram({0: dots(0, dots0), 1: dots(1, dots1)}, (1, 1), True)


def brute_force_w2(points: np.ndarray, gt: np.ndarray) -> float:
    """Minimum over all partial bijections, the rest to the diagonal."""
    n, m = len(points), len(gt)
    diag = lambda p: 0.5 * (p[1] - p[0]) ** 2  # noqa: E731
    best = np.inf
    for k in range(min(n, m) + 1):
        for fi in itertools.combinations(range(n), k):
            for gi in itertools.permutations(range(m), k):
                c = sum(((points[a] - gt[b]) ** 2).sum() for a, b in zip(fi, gi, strict=True))
                c += sum(diag(points[a]) for a in range(n) if a not in fi)
                c += sum(diag(gt[b]) for b in range(m) if b not in gi)
                best = min(best, c)
    return best


unit = st.floats(0, 1, allow_subnormal=False)
dot = st.tuples(unit, unit).map(lambda t: (min(t), max(t)))


@settings(max_examples=150)
@given(st.lists(dot, max_size=5), st.lists(dot, max_size=4))
def test_optimal_is_the_exact_minimum_and_never_worse_than_paper(f_dots, g_dots):
    dgm_f, dgm_g = make_diagram(f_dots), make_diagram(g_dots)
    optimal = match(dgm_f, dgm_g, "optimal")
    paper = match(dgm_f, dgm_g, "paper")
    want = brute_force_w2(np.asarray(f_dots).reshape(-1, 2), np.asarray(g_dots).reshape(-1, 2))
    assert optimal[0].cost == pytest.approx(want, abs=1e-9)
    assert optimal.loss <= paper.loss + 1e-12


def test_paper_rule_takes_the_k_dots_nearest_the_corner():
    f_dots = [[0.05, 0.9], [0.3, 0.4], [0.1, 0.95], [0.0, 1.0]]
    m = match(make_diagram(f_dots), make_diagram([[0, 1], [0, 1]]), "paper")[0]
    # distances to (0, 1): 0.0125, 0.45, 0.0125, 0 -> dots 3 and (0 or 2) ... 0 and 2 tie
    assert set(np.flatnonzero(m.partner >= 0)) in ({0, 3}, {2, 3})
    assert m.partner[1] == -1
    np.testing.assert_allclose(m.targets[1], [0.35, 0.35])  # its diagonal projection
    np.testing.assert_allclose(m.targets[3], [0, 1])
    assert m.unmatched_gt.size == 0


def test_unmatched_ground_truth_dots_cost_their_distance_to_the_diagonal():
    # f has one component where the ground truth has three: the two missing ones
    # cost (1 - 0)^2 / 2 each, although no dot of f can move to pay for them.
    m = match(make_diagram([[0, 1]]), make_diagram([[0, 1]] * 3), "paper")
    assert m[0].unmatched_gt.size == 2
    assert m.loss == pytest.approx(1.0)
    assert match(make_diagram([[0, 1]]), make_diagram([[0, 1]] * 3), "optimal").loss == (
        pytest.approx(1.0)
    )


def test_dot_costs_and_targets_as_likelihood_values():
    m = match(make_diagram([[0.2, 0.7]]), make_diagram([[0, 1]]), "paper")[0]
    assert m.dot_cost.tolist() == [pytest.approx(0.04 + 0.09)]
    assert m.target_birth.tolist() == [1.0] and m.target_death.tolist() == [0.0]


@settings(max_examples=100)
@given(st.sampled_from(["paper", "optimal"]), st.booleans(), st.data())
def test_theorem_1_loss_zero_iff_betti_numbers_agree_on_binary_maps(rule, frame, data):
    # For a binary f every dot sits at (0, 1), so L_topo counts the missing or
    # extra dots: it is zero exactly when the Betti numbers agree.
    g = data.draw(masks(max_side=8))
    f = data.draw(hnp.arrays(np.bool_, g.shape))
    dgm_f = diagram(f.astype(float), frame=frame)
    dgm_g = diagram(g.astype(float), frame=frame)
    m = match(dgm_f, dgm_g, rule)
    same = dgm_f.betti() == dgm_g.betti()
    assert (m.loss == 0) == same


@settings(max_examples=100)
@given(likelihoods(max_side=8), st.sampled_from(["paper", "optimal"]))
def test_every_dot_gets_exactly_one_partner(f, rule):
    g = (f > 0.5).astype(float)
    dgm_f, dgm_g = diagram(f), diagram(g)
    m = match(dgm_f, dgm_g, rule)
    for k in (0, 1):
        partners = m[k].partner[m[k].partner >= 0]
        assert len(set(partners.tolist())) == len(partners)  # a bijection
        taken = set(partners.tolist()) | set(m[k].unmatched_gt.tolist())
        assert taken == set(range(len(dgm_g[k])))
        to_diag = m[k].partner < 0
        np.testing.assert_allclose(m[k].targets[to_diag], diagonal_projection(m[k].points[to_diag]))


def test_bad_arguments():
    d = make_diagram([[0, 1]])
    with pytest.raises(ValueError, match="rule"):
        match(d, d, "greedy")
    with pytest.raises(ValueError, match="different dimensions"):
        match(diagram(np.zeros((2, 2)), dims=(0,)), diagram(np.zeros((2, 2))))


@settings(max_examples=150)
@given(st.lists(dot, max_size=6), st.integers(0, 4), st.sampled_from([(0.0, 1.0), (0.2, 0.7)]))
def test_fast_optimum_for_coinciding_ground_truth_dots_is_exact(f_dots, m, corner):
    # a binary ground truth puts all its dots at one point: the sorted shortcut must
    # give the same cost as the brute-force minimum
    g_dots = [corner] * m
    got = match(make_diagram(f_dots), make_diagram(g_dots), "optimal")[0]
    want = brute_force_w2(np.asarray(f_dots).reshape(-1, 2), np.asarray(g_dots).reshape(-1, 2))
    assert got.cost == pytest.approx(want, abs=1e-9)
    partners = got.partner[got.partner >= 0]
    assert sorted(partners.tolist() + got.unmatched_gt.tolist()) == list(range(m))


def test_optimal_matching_of_a_whole_image_is_fast_enough_to_run():
    rng = np.random.default_rng(0)
    f = rng.random((256, 256))
    g = (rng.random((256, 256)) < 0.3).astype(float)
    m = match(diagram(f), diagram(g), "optimal")  # thousands of dots: no n^2 matrix
    assert m.loss <= match(diagram(f), diagram(g), "paper").loss + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    f=likelihoods(max_side=8, min_side=2),
    data=st.data(),
    rule=st.sampled_from(["paper", "optimal", "betti"]),
)
def test_a_matching_restricted_to_a_dimension_is_that_dimension_computed_alone(f, data, rule):
    """``restricted`` keeps a dimension's matching as it is: its loss is the loss of that
    dimension computed alone (TopoLoss's ``dims``), and the losses add up."""
    from topoviz.matching import betti_match

    g = data.draw(masks(shape=f.shape)).astype(np.float64)

    def matched(dims):
        if rule == "betti":
            return betti_match(f, g, True, dims=dims)
        return match(diagram(f, dims=dims), diagram(g, dims=dims), rule)

    both = matched((0, 1))
    for k in (0, 1):
        alone = matched((k,))
        part = both.restricted([k])
        assert list(part.dims) == [k]
        np.testing.assert_array_equal(part[k].targets, alone[k].targets)
        assert part.loss == pytest.approx(alone.loss, abs=1e-12)
    assert both.restricted([0]).loss + both.restricted([1]).loss == pytest.approx(both.loss)
    assert both.restricted([1, 0]).loss == pytest.approx(both.loss)
    with pytest.raises(KeyError, match="has dims"):
        alone.restricted([0])  # alone holds dimension 1 only


def test_a_diagram_restricted_to_a_dimension_is_that_dimension_computed_alone():
    rng = np.random.default_rng(3)
    f = rng.random((12, 15))
    full = diagram(f)
    for k in (0, 1):
        part, alone = full.restricted([k]), diagram(f, dims=(k,))
        assert part.dims == alone.dims == (k,)
        np.testing.assert_array_equal(part[k].points, alone[k].points)
        np.testing.assert_array_equal(part[k].birth_pixel, alone[k].birth_pixel)
        assert part.betti(0.5) == {k: full.betti(0.5)[k]}
    with pytest.raises(KeyError, match="was not computed"):
        diagram(f, dims=(1,)).restricted([0])
    with pytest.raises(ValueError, match="non-empty subset"):
        full.restricted([2])
