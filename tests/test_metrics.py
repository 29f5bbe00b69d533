"""Metrics against small hand-computed cases and against the diagrams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import masks

from topoviz.metrics import (
    accuracy,
    adapted_rand_index,
    betti_error,
    betti_numbers,
    evaluate_all,
    one_pixel_references,
    patch_betti_differences,
    patch_betti_errors,
    regions,
    topology_errors,
    variation_of_information,
)
from topoviz.persistence import diagram
from topoviz.synthetic import blurred_likelihood


def wall(h=8, w=9, col=4):
    g = np.zeros((h, w), bool)
    g[:, col] = True
    return g


def test_accuracy_by_hand():
    gt = np.array([[1, 0], [0, 0]], bool)
    assert accuracy(np.array([[0.9, 0.7], [0.1, 0.2]]), gt) == 0.75  # likelihood at 0.5
    assert accuracy(gt, gt) == 1.0
    assert accuracy(np.array([[0.9, 0.7], [0.1, 0.2]]), gt, threshold=0.8) == 1.0


def test_betti_numbers_by_hand():
    ring = np.zeros((6, 6), bool)
    ring[1:5, 1:5] = True
    ring[2:4, 2:4] = False
    assert betti_numbers(ring, frame=False) == (1, 1)
    # framed: the frame is a component of its own; the centre and the moat are holes
    assert betti_numbers(ring, frame=True) == (2, 2)
    # diagonal pixels do not touch (foreground 4-connected), and the background
    # passes between them (8-connected): two components, no hole
    diag = np.eye(3, dtype=bool)
    assert betti_numbers(diag, frame=False) == (3, 0)
    # a wall across a framed patch cuts its background in two regions
    assert betti_numbers(wall(), frame=True) == (1, 2)
    assert betti_numbers(np.zeros((3, 3), bool), frame=True) == (1, 1)
    assert betti_numbers(np.ones((3, 3), bool), frame=True) == (1, 0)


@settings(max_examples=150)
@given(masks(max_side=12), st.booleans())
def test_betti_numbers_equal_the_diagram_read_at_one_half(g, frame):
    dgm = diagram(g.astype(float), frame=frame)
    assert betti_numbers(g, frame) == (dgm.betti(0.5)[0], dgm.betti(0.5)[1])


def test_betti_error_counts_broken_walls():
    gt = wall(20, 20, 10)
    pred = gt.copy()
    pred[5:8, 10] = False  # broken: the two regions merge
    assert betti_error(pred, gt, patch_size=20, n_patches=3) == 1.0
    assert betti_error(gt, gt, patch_size=20, n_patches=3) == 0.0
    # dims=(0, 1): the break also leaves two pieces of wall... both touch the frame
    assert betti_error(pred, gt, patch_size=20, n_patches=1, dims=(0, 1)) == 1.0


def test_betti_error_is_the_mean_over_seeded_patches():
    rng = np.random.default_rng(0)
    gt = rng.random((40, 50)) < 0.3
    pred = rng.random((40, 50)) < 0.3
    per_patch = patch_betti_errors(pred, gt, patch_size=9, n_patches=25, seed=4)
    assert per_patch.shape == (25,)
    assert betti_error(pred, gt, patch_size=9, n_patches=25, seed=4) == pytest.approx(
        per_patch.mean()
    )
    # same seed, same number; another seed, (almost surely) another set of patches
    assert betti_error(pred, gt, 9, 25, seed=4) == betti_error(pred, gt, 9, 25, seed=4)
    assert not np.array_equal(per_patch, patch_betti_errors(pred, gt, 9, 25, seed=5))


def test_ari_and_voi_by_hand_two_regions_merged():
    # gt: a wall splits 4x9 into two regions of 16 pixels each; pred: no wall.
    # With gt's wall pixels ignored (N = 32), pred has one region over both.
    # Pairs of distinct pixels: sum n_ij^2 - N = 2 * 16^2 - 32 = 480 joint,
    # 32^2 - 32 = 992 in pred, 480 in gt: precision 480/992, recall 1,
    # ARI = F = 2PR / (P + R) = 960 / 1472.  VOI = H(gt | pred) + H(pred | gt) = 1 bit.
    gt = wall(4, 9, 4)
    pred = np.zeros_like(gt)
    assert adapted_rand_index(pred, gt) == pytest.approx(960 / 1472)
    assert variation_of_information(pred, gt) == pytest.approx(1.0)  # log2(2): in bits
    assert adapted_rand_index(gt, gt) == 1.0
    assert variation_of_information(gt, gt) == pytest.approx(0.0, abs=1e-12)


def test_ari_and_voi_by_hand_one_region_split():
    # the mirror case: pred splits gt's single region in two halves of 16 pixels
    # (pred's wall pixels still count, as their own label 0 in the test labels)
    gt = np.zeros((4, 8), bool)
    pred = np.zeros((4, 8), bool)
    pred[:, 4:] = True  # a thick "wall" making the right half structure
    r = regions(pred)
    assert set(np.unique(r)) == {0, 1}
    # gt has one region (32 px); pred labels: 16 px region 1, 16 px label 0:
    # joint pairs 480, pred 480, gt 992: precision 1, recall 480/992, the same F
    assert adapted_rand_index(pred, gt) == pytest.approx(960 / 1472)
    assert variation_of_information(pred, gt) == pytest.approx(1.0)  # log2(2): in bits


def test_regions_and_degenerate_cases():
    assert regions(wall(3, 5, 2)).tolist() == [[1, 1, 0, 2, 2]] * 3
    full = np.ones((4, 4), bool)
    assert math.isnan(adapted_rand_index(full, full))  # no region in the ground truth
    assert math.isnan(variation_of_information(full, full))


def test_shape_and_value_checks():
    with pytest.raises(ValueError, match="shape"):
        accuracy(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        accuracy(np.full((3, 3), np.nan), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        betti_error(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="dims"):
        betti_error(np.zeros((5, 5)), np.zeros((5, 5)), dims=(2,))
    with pytest.raises(ValueError, match="non-empty"):
        betti_numbers(np.zeros((0, 4)))


def test_evaluate_all_on_a_perfect_prediction():
    gt = wall(30, 30, 12)
    scores = evaluate_all(gt.astype(float), gt, patch_size=15, n_patches=10)
    assert scores == {
        "accuracy": 1.0,
        "ari": 1.0,
        "voi": pytest.approx(0.0, abs=1e-12),
        "betti_error": 0.0,
        "betti_error_se": 0.0,
        "betti_extra": 0.0,
        "betti_missing": 0.0,
        "merges": 0.0,
        "splits": 0.0,
        "missed": 0.0,
        "n_gt": 2.0,
        "voi_merge": pytest.approx(0.0, abs=1e-12),
        "voi_split": pytest.approx(0.0, abs=1e-12),
        "holes_extra": 0.0,
        "holes_missing": 0.0,
        "holes_error": 0.0,
        "pinholes": 0.0,
        "fragments": 0.0,
    }


def test_betti_differences_split_the_error_by_sign():
    """A gap in a wall loses a hole (negative), a pinhole in it adds one (positive);
    the parts add up to the Betti error on the same patches."""
    gt = wall(30, 30, 12)  # one wall: with the frame, two holes
    gap, pin = gt.copy(), gt.copy()
    gap[5:8, 12] = False  # a break merges the two regions
    pin[:, 11:14] = True  # a thick wall with one pinhole in the middle
    pin[15, 12] = False
    one = {"patch_size": 30, "n_patches": 1}
    assert patch_betti_differences(gap.astype(float), gt, **one).tolist() == [[-1]]
    assert patch_betti_differences(pin.astype(float), gt, **one).tolist() == [[1]]
    both = patch_betti_differences(gap, gt, dims=(0, 1), **one)
    assert both.shape == (1, 2) and both[0, 1] == -1
    rng = np.random.default_rng(3)
    pred = rng.random((40, 50)) < 0.3
    truth = rng.random((40, 50)) < 0.3
    diffs = patch_betti_differences(pred, truth, 9, 30, seed=2)
    assert np.array_equal(np.abs(diffs[:, 0]), patch_betti_errors(pred, truth, 9, 30, seed=2))
    scores = evaluate_all(pred.astype(float), truth, patch_size=9, n_patches=30, seed=2)
    assert scores["betti_extra"] + scores["betti_missing"] == pytest.approx(scores["betti_error"])
    assert scores["betti_extra"] == pytest.approx(np.clip(diffs, 0, None).mean())


def test_topology_errors_finds_the_merge_and_the_spurious_piece():
    gt = wall(20, 21, 10)
    pred = gt.copy()
    pred[8:11, 10] = False  # gap: the two regions merge
    pred[3, 3] = True  # a speck inside a region: spurious
    errors = topology_errors(pred, gt)
    assert errors["merged"].any() and not errors["split"].any()
    assert errors["spurious"].sum() == 1 and not errors["missing"].any()


def test_blurred_likelihood_is_a_seeded_likelihood():
    g = wall(32, 32, 16)
    a = blurred_likelihood(g, 2.0, 0.1, seed=3)
    assert a.shape == g.shape and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, blurred_likelihood(g, 2.0, 0.1, seed=3))
    assert not np.array_equal(a, blurred_likelihood(g, 2.0, 0.1, seed=4))
    assert a[g].mean() > a[~g].mean()


def test_one_pixel_references_by_hand():
    ring = np.zeros((7, 7), bool)
    ring[2:5, 2:5] = True
    ring[3, 3] = False  # a one-pixel ring around a one-pixel hole
    refs = one_pixel_references(ring)
    assert list(refs) == ["GT thickened 1 px", "GT thinned 1 px", "GT shifted 1 px"]
    assert betti_numbers(ring, frame=False) == (1, 1)
    assert betti_numbers(refs["GT thickened 1 px"], frame=False) == (1, 0)  # hole filled
    assert not refs["GT thinned 1 px"].any()  # a one-pixel wall is all edge
    assert np.array_equal(refs["GT shifted 1 px"][:, 1:], ring[:, :-1])
    assert all(r.shape == ring.shape and r.dtype == bool for r in refs.values())
    # structure along the image border is not eaten: the border counts as structure
    edge = np.zeros((5, 5), bool)
    edge[:, :2] = True
    assert one_pixel_references(edge)["GT thinned 1 px"][:, 0].all()
    with pytest.raises(ValueError, match="2-D"):
        one_pixel_references(np.zeros((2, 2, 2)))


@settings(max_examples=200, deadline=None)
@given(masks(max_side=12, min_side=3), st.booleans())
def test_one_pixel_references_keep_order_and_the_shift_keeps_topology(g, frame):
    g = g.copy()
    g[:, -2:] = False  # the shift drops the last column: keep it plain background
    refs = one_pixel_references(g)
    assert (refs["GT thickened 1 px"] >= g).all() and (refs["GT thinned 1 px"] <= g).all()
    assert betti_numbers(refs["GT shifted 1 px"], frame) == betti_numbers(g, frame)


def test_one_pixel_references_score_what_their_edges_cost():
    g = np.zeros((40, 40), bool)
    g[:, 19:22] = True  # a three-pixel wall: two regions
    g[19:22, :] = True  # and a crossing one: four
    for name, ref in one_pixel_references(g).items():
        scores = evaluate_all(ref, g, patch_size=15, n_patches=200)
        assert scores["accuracy"] < 1, name
        # the walls stay walls: no region merges or splits in the whole image ...
        assert regions(ref).max() == regions(g).max() == 4, name
    # ... but moved edges change what thin slivers the random patches cut off
    shifted = evaluate_all(one_pixel_references(g)["GT shifted 1 px"], g, 15, 200)
    assert shifted["betti_error"] > 0


def test_betti_numbers_refuse_a_likelihood_without_a_threshold():
    ring = np.zeros((7, 7), bool)
    ring[2:5, 2:5] = True
    ring[3, 3] = False
    f = np.where(ring, 0.9, 0.1)  # a likelihood: every pixel is nonzero
    with pytest.raises(ValueError, match=r"not binary: 49 value\(s\) .*threshold=0.5"):
        betti_numbers(f)
    assert betti_numbers(f, threshold=0.5) == betti_numbers(ring) == (2, 2)
    assert betti_numbers(ring.astype(np.uint8)) == (2, 2)  # 0/1 numbers are a mask
    for bad in (np.where(ring, np.nan, 0.0), np.where(ring, 1.0, np.inf)):
        for threshold in (None, 0.5):
            with pytest.raises(ValueError, match="NaN or infinite"):
                betti_numbers(bad, threshold=threshold)
    with pytest.raises(ValueError, match=r"values in \[0, 255\]"):
        betti_numbers(ring * 255.0, threshold=0.5)


@pytest.mark.parametrize("scale", [255.0, -1.0, 1.5])
def test_metrics_refuse_values_outside_zero_one(scale):
    g = wall()
    f = np.where(g, 0.9, 0.1)
    with pytest.raises(ValueError, match=r"pred has values in .*\[0, 1\]"):
        accuracy(f * scale, g)
    with pytest.raises(ValueError, match=r"pred has values in"):
        evaluate_all(f * scale, g)
    with pytest.raises(ValueError, match=r"gt has values in"):
        accuracy(f, g * scale)
    assert accuracy(f, g) == 1.0
    rounded = np.where(g, np.float32(1 + 1.2e-7), np.float32(-1e-8))  # float32 rounding
    assert accuracy(rounded, g) == 1.0


@settings(max_examples=60, deadline=None)
@given(
    gt=masks(min_side=6, max_side=14),
    data=st.data(),
    min_hole=st.integers(1, 6),
)
def test_hole_kind_masks_are_the_holes_hole_kinds_counts(gt, data, min_hole):
    """The masks hold whole predicted holes (background of pred), one 8-connected
    piece per hole counted, pinholes and fragments apart."""
    from skimage.measure import label

    from topoviz.metrics import hole_kind_masks, hole_kinds

    pred = data.draw(masks(shape=gt.shape))
    counts = hole_kinds(pred, gt, min_hole)
    where = hole_kind_masks(pred, gt, min_hole)
    holes = label(~pred.astype(bool), connectivity=2)
    assert not (where["pinholes"] & where["fragments"]).any()
    for kind in ("pinholes", "fragments"):
        m = where[kind]
        assert not (m & pred.astype(bool)).any()  # holes are background of pred
        assert int(label(m, connectivity=2).max()) == counts[kind]
        ids = np.unique(holes[m])
        assert all((m[holes == i]).all() for i in ids)  # whole holes, never part of one
        assert all((holes == i).sum() >= min_hole for i in ids)
        if kind == "pinholes":  # more than half of each on the true structure
            assert all(2 * gt.astype(bool)[holes == i].sum() > (holes == i).sum() for i in ids)


@settings(max_examples=40, deadline=None)
@given(masks(max_side=14), st.integers(0, 2**31 - 1))
def test_spurious_and_missing_are_the_components_touching_nothing(gt, seed):
    from skimage.measure import label as cc

    pred = np.random.default_rng(seed).random(gt.shape) < 0.3
    errs = topology_errors(pred, gt)
    fp, fg = cc(pred, connectivity=1), cc(gt, connectivity=1)
    spurious = [i for i in range(1, fp.max() + 1) if not gt[fp == i].any()]
    missing = [i for i in range(1, fg.max() + 1) if not pred[fg == i].any()]
    np.testing.assert_array_equal(errs["spurious"], np.isin(fp, spurious) & (fp > 0))
    np.testing.assert_array_equal(errs["missing"], np.isin(fg, missing) & (fg > 0))


def test_evaluate_all_gives_the_betti_errors_noise_from_the_same_patches():
    """Inspect had drawn the patches twice: once for the Betti error, once for its
    noise. evaluate_all now gives both from one pass; they must be the same numbers."""
    from topoviz.metrics import betti_error_noise

    rng = np.random.default_rng(0)
    g, f = rng.random((80, 80)) > 0.7, rng.random((80, 80))
    scores = evaluate_all(f, g, n_patches=30, seed=2)
    assert scores["betti_error_se"] == betti_error_noise(f, g, n_patches=30, seed=2) > 0
    assert evaluate_all(f, g, n_patches=1)["betti_error_se"] == 0.0  # one patch: no spread


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 9),
    st.integers(2, 9),
    st.integers(0, 2**32 - 1),
    st.sampled_from([0.1, 0.3, 0.7, 0.9]),
    st.booleans(),
)
def test_betti_numbers_at_a_level_agree_with_the_diagram_for_float32(h, w, seed, alpha, frame):
    """A float32 likelihood quantised to tenths: numpy had compared float32(0.7) with
    the float32 rounding of 0.7 (equal: in), the diagram in float64 (below: out)."""
    rng = np.random.default_rng(seed)
    f = (rng.integers(0, 11, (h, w)) / 10).astype(np.float32)
    d = diagram(f, frame=frame).betti(alpha)
    assert betti_numbers(f, frame=frame, threshold=alpha) == (d[0], d[1])


def test_a_ground_truth_of_exactly_one_half_is_structure_for_the_loss_and_the_metrics():
    """A mask resized bilinearly has 0.5 on its edges: the loss had read g > 0.5 and
    the metrics g >= 0.5, so one called a ring perfect and the other broken."""
    import torch

    from topoviz.loss import topo_loss

    g = np.zeros((9, 9))
    g[2:7, 2:7] = 0.5
    g[4, 4] = 0
    f = np.where(g >= 0.5, 0.9, 0.1)
    assert accuracy(f, g) == 1.0
    assert topo_loss(torch.tensor(f), g).item() == pytest.approx(
        topo_loss(torch.tensor(f), g >= 0.5).item()
    )
    assert topo_loss(torch.tensor(f), g >= 0.5).item() < 0.1
