"""The moving diagram: dots followed from one diagram to the next, their trails, the picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from topoviz import figures, motion
from topoviz.matching import betti_match, match
from topoviz.persistence import diagram


def _ring(gap: float) -> np.ndarray:
    """A ring (a cell's membrane) whose wall has one pixel of value ``gap``."""
    f = np.full((9, 9), 0.1)
    f[1:8, 1:8] = 0.9
    f[2:7, 2:7] = 0.1
    f[4, 4] = 0.05  # the cell's darkest pixel: the hole's death pixel, fixed
    f[1, 4] = gap
    return f


def test_follow_keeps_a_dot_that_jumps_but_keeps_its_critical_pixels():
    px = np.array([[[1, 4], [4, 4]]])
    # the gap closes in one chunk: the dot jumps 0.6 across the diagram
    assert motion.follow([[0.7, 0.95]], [[0.1, 0.95]], px, px).tolist() == [0]
    far = np.array([[[30, 30], [35, 35]]])  # same place in the diagram, elsewhere in f
    assert motion.follow([[0.7, 0.95]], [[0.7, 0.95]], px, far).tolist() == [-1]
    assert motion.follow(np.zeros((0, 2)), [[0.7, 0.95]], px[:0], px).tolist() == [-1]
    assert motion.follow([[0.7, 0.95]], np.zeros((0, 2)), px, px[:0]).tolist() == []


def test_follow_pairs_each_dot_with_its_own_predecessor():
    prev = np.array([[0.5, 0.9], [0.2, 0.8], [0.6, 0.65]])
    pix = np.array([[[5, 5], [9, 9]], [[20, 3], [25, 6]], [[40, 40], [41, 41]]])
    order = np.array([2, 0, 1])  # the same dots, shuffled and moved a little
    now = prev[order] + [[-0.05, 0.02]]
    assert motion.follow(prev, now, pix, pix[order]).tolist() == order.tolist()


def test_trail_of_a_closing_gap_follows_the_hole_dot_to_the_corner():
    gaps = [0.3, 0.45, 0.6, 0.75, 0.9]
    frames = [(5 * i, diagram(_ring(v), frame=False, dims=(1,))) for i, v in enumerate(gaps)]
    trails = motion.track(frames)
    assert trails.steps == (0, 5, 10, 15, 20) and trails.dim == 1
    assert len(trails) == 1  # one hole, followed through every frame
    x = trails.paths[:, 0, 0]
    assert np.allclose(x, [1 - v for v in gaps])  # 1 − birth: the gap's value
    assert np.allclose(trails.paths[:, 0, 1], 0.95)  # 1 − death: the cell's darkest pixel
    last = frames[-1][1][1]
    assert np.array_equal(trails.points, last.points[trails.index])
    assert trails.moved()[0] == pytest.approx(0.6)


def test_extend_keeps_the_newest_frames_and_does_not_change_its_input():
    frames = [(i, diagram(_ring(0.3 + 0.1 * i), frame=False, dims=(1,))) for i in range(6)]
    t3 = motion.track(frames[:3], keep=3)
    before = t3.paths.copy()
    t4 = motion.extend(t3, 3, frames[3][1], keep=3)
    assert t4.steps == (1, 2, 3) and t4.paths.shape == (3, 1, 2)
    assert np.array_equal(t3.paths, before) and t3.steps == (0, 1, 2)


def test_a_new_dot_has_no_past_and_noise_is_not_followed():
    solid = np.full((9, 9), 0.9)
    solid[0, 0] = 0.88  # a speck: a hole dot of persistence < min_persistence at most
    t = motion.extend(None, 0, diagram(solid, frame=False, dims=(1,)))
    assert len(t) == 0
    t = motion.extend(t, 4, diagram(_ring(0.9), frame=False, dims=(1,)))
    assert len(t) == 1 and t.steps == (0, 4)
    assert np.isnan(t.paths[0]).all() and np.isfinite(t.paths[1]).all()


def test_costliest_window_stays_inside_the_image():
    px = np.array([[[2, 3], [4, 5]], [[90, 95], [98, 99]]])
    assert motion.costliest_window(px, np.array([0.1, 0.9]), (100, 100), 20) == (80, 100, 80, 100)
    assert motion.costliest_window(px, np.array([0.9, 0.1]), (100, 100), 20) == (0, 20, 0, 20)
    assert motion.costliest_window(px, np.array([0.9, 0.1]), (10, 50), 20) == (0, 10, 0, 20)
    assert motion.costliest_window(px[:0], np.zeros(0), (100, 60), 20) == (40, 60, 20, 40)


@pytest.mark.parametrize("rule", ["paper", "optimal", "betti"])
def test_patch_matching_is_the_matching_of_the_window(rule):
    rng = np.random.default_rng(0)
    g = np.zeros((30, 40), bool)
    g[::8] = g[:, ::8] = True
    f = np.clip(g * 0.8 + rng.uniform(0, 0.3, g.shape), 0, 1)
    window = (5, 25, 10, 30)
    dgm_f, dgm_g, m = motion.patch_matching(f, g, window, True, rule, dims=(1,))
    fw, gw = f[5:25, 10:30], g[5:25, 10:30].astype(float)
    if rule == "betti":
        ref = betti_match(fw, gw, True, dims=(1,))
    else:
        ref = match(diagram(fw, dims=(1,)), diagram(gw, dims=(1,)), rule)
    assert np.array_equal(dgm_f[1].points, diagram(fw, dims=(1,))[1].points)
    assert len(dgm_g[1]) == len(diagram(gw, dims=(1,))[1])
    assert m.loss == pytest.approx(ref.loss)
    assert np.array_equal(m[1].targets, ref[1].targets)


def test_diagram_motion_draws_trails_arrows_and_the_step():
    gaps = [0.3, 0.5, 0.7]
    g = _ring(1.0) >= 0.5
    frames, last = [], None
    for i, v in enumerate(gaps):
        last = motion.patch_matching(_ring(v), g, None, False, "paper")
        frames.append((10 * i, last[0]))
    trails = motion.track(frames)
    dgm_f, dgm_g, m = last
    fig = figures.diagram_motion(dgm_f, dgm_g, m, trails, step=20)
    assert any("after step 20" in (a.text or "") for a in fig.layout.annotations)
    names = [t.name or "" for t in fig.data]
    line = next(t for t, n in zip(fig.data, names, strict=True) if n.startswith("trails"))
    assert "1 dot matched to a ground-truth dot" in line.name
    xs = [x for x in line.x if x is not None and np.isfinite(x)]
    assert np.allclose(xs, [0.7, 0.5, 0.3])  # the hole's path, oldest first
    ((starts, _ends),) = figures.matching_arrows(fig)
    assert len(starts) == int((m[1].dot_cost > 1e-12).sum()) >= 1
    assert any(n.startswith("Dgm(g)") for n in names)


@pytest.mark.data
def test_the_window_of_a_large_hole_holds_its_structure(shared_data):
    # CrackForest 045 under the fold-2 control: its costliest hole closes where a crack
    # meets the frame, 270 px from the pixel where it dies; the window midway between
    # them had held no structure at all (found in the browser)
    from topoviz import checkpoints, inference
    from topoviz.imageio import load_image, load_mask
    from topoviz.ui.training import diagram_window

    root = shared_data / "crackforest"
    model, _ = checkpoints.load(
        Path(__file__).resolve().parent.parent / "models/crackforest_f2_unet_bce.pt"
    )
    f = inference.predict(model, load_image(root / "images/045.png"))
    mask = load_mask(root / "labels/045.png")
    r0, r1, c0, c1 = diagram_window(f, mask, True, 65)
    assert (r1 - r0, c1 - c0) == (65, 65)
    assert mask[r0:r1, c0:c1].any() and (f[r0:r1, c0:c1] >= 0.5).any()
