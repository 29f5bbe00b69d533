"""Betti matching: the compiled sweeps against a slow construction from the definitions.

The reference below knows nothing of union-find. It builds the filtrations of f, g
and c = max(f, g) on one common, totally ordered timeline (value, then flat index,
c's event first within a pixel: the library's tie-breaking), reads the barcodes of
the modules H(f), H(c) and im(H(f) -> H(c)) off their rank functions by inclusion-
exclusion, the ranks counted by labelling (dimension 1 by Alexander duality: the
rank of H1(A) -> H1(B) is that of H~0(complement B) -> H~0(complement A)), and then
applies Bauer & Lesnick's induced matching literally: same birth, longest first,
between a module and its image; same death, longest first, between the image and
the target.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

from topoviz.loss import TopoLoss, _betti_loss_targets, critical_targets, topo_loss
from topoviz.matching import betti_match, betti_matches, betti_targets

FOUR = ndimage.generate_binary_structure(2, 1)
EIGHT = np.ones((3, 3), bool)


def _timeline(a: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event times of c's entries and a's entries (a <= c) on one total order."""
    n = a.size
    keys = [(-c.flat[p], p, 0) for p in range(n)] + [(-a.flat[p], p, 1) for p in range(n)]
    order = sorted(range(2 * n), key=lambda e: keys[e])
    time = np.empty(2 * n, np.int64)
    time[order] = np.arange(2 * n)
    event_pixel = np.array([e % n for e in order])
    return time[:n], time[n:], event_pixel


def _barcode(dim: int, sets_small: list, sets_big: list) -> list[tuple[int, int]]:
    """Bars [birth, death) on the timeline of the module im(H(small_t) -> H(big_t)).

    The rank of H_dim(small_s) -> H_dim(big_t) (small_s inside big_t, V-construction)
    is counted by labelling: in dimension 0, the 4-connected components of big_t that
    meet small_s; in dimension 1 (Alexander duality), the 8-connected components of
    the complement of small_s, outside ring included, that meet the complement of
    big_t, minus one. Bars come from the ranks by inclusion-exclusion; ``death == T``
    for a bar that never dies.
    """
    T = len(sets_small)
    r = np.zeros((T + 1, T + 2), np.int64)  # r[s + 1, t] = rank(small_s -> big_t)
    if dim == 0:
        labels = [ndimage.label(b, FOUR)[0] for b in sets_big]
        for s in range(T):
            if sets_small[s].any():
                for t in range(s, T):
                    r[s + 1, t] = len(np.unique(labels[t][sets_small[s]]))
    else:
        outside_big = [np.pad(~b, 1, constant_values=True) for b in sets_big]
        for s in range(T):
            lab = ndimage.label(np.pad(~sets_small[s], 1, constant_values=True), EIGHT)[0]
            for t in range(s, T):
                r[s + 1, t] = len(np.unique(lab[outside_big[t]])) - 1
    bars = []
    for s in range(T):
        for t in range(s, T):
            mult = r[s + 1, t] - r[s, t] - r[s + 1, t + 1] + r[s, t + 1]
            assert mult >= 0
            bars += [(s, t + 1)] * int(mult)
    return bars


def _induced(src, im, tgt) -> dict[int, int]:
    """Bauer-Lesnick: src index -> tgt index, through the image bars."""
    src_to_im = {}
    for b in {s for s, _ in im}:
        a = sorted((i for i, x in enumerate(src) if x[0] == b), key=lambda i: -src[i][1])
        m = sorted((i for i, x in enumerate(im) if x[0] == b), key=lambda i: -im[i][1])
        assert len(m) <= len(a)
        src_to_im.update(zip(a, m, strict=False))
    im_to_tgt = {}
    for d in {x[1] for x in im}:
        m = sorted((i for i, x in enumerate(im) if x[1] == d), key=lambda i: im[i][0])
        t = sorted((i for i, x in enumerate(tgt) if x[1] == d), key=lambda i: tgt[i][0])
        assert len(m) <= len(t)
        im_to_tgt.update(zip(m, t, strict=False))
    return {a: im_to_tgt[m] for a, m in src_to_im.items()}


def _bars_as_pixels(bars, event_pixel, T):
    return [(event_pixel[s], event_pixel[d] if d < T else -1) for s, d in bars]


def reference(f: np.ndarray, g: np.ndarray, frame: bool) -> Counter:
    """Multiset of (dim, f dot, g partner or None, c bar or None), from the definitions."""
    F = np.pad(f, 1, constant_values=1.0) if frame else f
    G = np.pad(g, 1, constant_values=1.0) if frame else g
    C = np.maximum(F, G)
    h, w = F.shape
    shape = f.shape

    def pix(p):
        if p < 0:
            return (-1, -1)
        r, c = divmod(int(p), w)
        if frame:
            r, c = r - 1, c - 1
        return (r, c) if 0 <= r < shape[0] and 0 <= c < shape[1] else (-1, -1)

    def dot(v, b, d):
        return (1.0 - v.flat[b], 1.0 - v.flat[d] if d >= 0 else 1.0, pix(b), pix(d))

    out = Counter()
    for dim in (0, 1):
        sides = {}
        for name, A in (("f", F), ("g", G)):
            t_c, t_a, ev = _timeline(A, C)
            T = len(ev)
            a_sets = [(t_a <= t).reshape(h, w) for t in range(T)]
            c_sets = [(t_c <= t).reshape(h, w) for t in range(T)]
            a_bars = _barcode(dim, a_sets, a_sets)
            c_bars = _barcode(dim, c_sets, c_sets)
            im_bars = _barcode(dim, a_sets, c_sets)
            to_c = _induced(a_bars, im_bars, c_bars)
            a_pix = _bars_as_pixels(a_bars, ev, T)
            c_pix = _bars_as_pixels(c_bars, ev, T)
            sides[name] = (A, a_pix, {i: c_pix[j] for i, j in to_c.items()})
        (_, f_pix, f_to_c), (_, g_pix, g_to_c) = sides["f"], sides["g"]

        def alive(v, b, d):  # the diagrams leave out dots of zero persistence
            return d < 0 or 1.0 - v.flat[b] != 1.0 - v.flat[d]

        g_by_c = {c: i for i, c in g_to_c.items() if alive(G, *g_pix[i])}
        for i, (b, d) in enumerate(f_pix):
            if not alive(F, b, d):
                continue
            c = f_to_c.get(i)
            j = g_by_c.get(c) if c is not None else None
            partner = dot(G, *g_pix[j]) if j is not None else None
            via = dot(C, *c)[:2] if partner is not None else None
            out[(dim, dot(F, b, d), partner, via)] += 1
    return out


def ours(f: np.ndarray, g: np.ndarray, frame: bool) -> Counter:
    m = betti_match(f, g, frame=frame)
    out = Counter()
    for dim in (0, 1):
        dm = m[dim]
        df, dg = m.diagram_f[dim], m.diagram_g[dim]

        def dot(d, i):
            x, y = d.points[i]
            return (x, y, tuple(d.birth_pixel[i]), tuple(d.death_pixel[i]))

        for i in range(len(df)):
            j = dm.partner[i]
            partner = dot(dg, j) if j >= 0 else None
            via = tuple(dm.via_points[i]) if j >= 0 else None
            out[(dim, dot(df, i), partner, via)] += 1
    return out


@st.composite
def pair_of_images(draw, max_side: int = 4):
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(1, max_side))
    levels = draw(st.sampled_from([3, 5, 0]))  # 0: continuous, else ties on purpose
    if levels:
        f = draw(hnp.arrays(np.int64, (h, w), elements=st.integers(0, levels - 1))) / (levels - 1)
    else:
        f = draw(hnp.arrays(np.float64, (h, w), elements=st.floats(0, 1, width=32)))
    if draw(st.booleans()):
        g = draw(hnp.arrays(np.bool_, (h, w))).astype(float)
    else:
        g = draw(hnp.arrays(np.int64, (h, w), elements=st.integers(0, 3))) / 3
    return f, g


@settings(max_examples=60, deadline=None)
@given(pair_of_images(), st.booleans())
def test_betti_matching_equals_the_construction_from_definitions(fg, frame):
    f, g = fg
    assert ours(f, g, frame) == reference(f, g, frame)


def test_reference_sees_the_difference_between_near_and_far():
    # guards the guard: the slow construction itself must tell the two cases apart
    g = np.zeros((5, 5))
    g[1:3, 1:3] = 1
    near, far = np.zeros((5, 5)), np.zeros((5, 5))
    near[2:4, 2:4] = 0.8
    far[3, 3] = 0.8
    matched = lambda c: sum(n for k, n in c.items() if k[0] == 0 and k[2] is not None)  # noqa: E731
    assert matched(reference(near, g, True)) == 2  # frame and the blob
    assert matched(reference(far, g, True)) == 1  # the frame only


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 6), st.integers(2, 12), st.integers(2, 12), st.booleans(), st.integers(0, 999)
)
def test_batch_equals_one_by_one(b, h, w, frame, seed):
    rng = np.random.default_rng(seed)
    f = rng.random((b, h, w))
    g = (rng.random((b, h, w)) > 0.6).astype(float)
    for one, m in zip(range(b), betti_matches(f, g, frame), strict=True):
        single = betti_match(f[one], g[one], frame)
        for k in (0, 1):
            np.testing.assert_array_equal(m[k].partner, single[k].partner)
            np.testing.assert_array_equal(m[k].targets, single[k].targets)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(2, 14),
    st.integers(2, 14),
    st.booleans(),
    st.sampled_from([(1,), (0,), (0, 1)]),
    st.sampled_from([0, 3]),
    st.booleans(),
    st.integers(0, 999),
)
def test_flat_targets_equal_the_matchings_critical_targets(
    b, h, w, frame, dims, levels, binary, seed
):
    # the loss's batched path (betti_targets) against critical_targets of each
    # patch's Matching: the same (patch, pixel, target) rows and the same constant
    rng = np.random.default_rng(seed)
    f = rng.random((b, h, w))
    if levels:  # ties on purpose
        f = np.round(f * levels) / levels
    g = (rng.random((b, h, w)) > 0.6).astype(float) if binary else rng.random((b, h, w))
    want, constant, rows = Counter(), 0.0, 0
    for j, m in enumerate(betti_matches(f, g, frame, dims)):
        ct = critical_targets(m.diagram_f, m)
        want.update((j, r, c, round(t, 12)) for (r, c), t in zip(ct.pixel, ct.target, strict=True))
        constant += ct.constant
        rows += len(ct.target)
    patch, pixel, target, got_constant = _betti_loss_targets(f, g, frame, dims)
    got = Counter(
        (j, r, c, round(t, 12)) for j, (r, c), t in zip(patch, pixel, target, strict=True)
    )
    assert len(target) == rows and got == want
    assert got_constant == pytest.approx(constant, abs=1e-12)
    per_dim, _ = betti_targets(f, g, frame, dims)
    assert sorted(per_dim) == sorted(dims)


def _blob_case(offset: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.zeros((20, 20))
    g[3:8, 3:8] = 1
    rng = np.random.default_rng(offset)
    f = rng.random((20, 20)) * 0.05
    f[3 + offset : 8 + offset, 3 + offset : 8 + offset] = 0.6
    return f, g


def test_far_blob_is_pushed_down_and_overlapping_blob_pulled_up():
    for offset, matched in ((2, True), (10, False)):
        f, g = _blob_case(offset)
        m = betti_match(f, g)[0]
        df = m.points
        blob = int(np.argmin(np.abs(df[:, 0] - 0.4)))  # the dot born at 0.6
        assert m.partner[blob] >= 0 if matched else m.partner[blob] == -1
        tgt = m.targets[blob]
        if matched:
            assert tuple(tgt) == (0.0, 1.0)  # pulled to the ground truth's blob
        else:
            assert tgt[0] == pytest.approx(tgt[1])  # to the diagonal


def test_paper_and_betti_disagree_on_the_spurious_blob():
    from topoviz.pushes import spurious_blob_example

    f, g = spurious_blob_example()
    bright = np.unravel_index(np.argmax(f), f.shape)  # top of the spurious blob
    faint = tuple(np.argwhere(f == 0.35)[0])  # top of the faint blob on the true one
    grads = {}
    for rule in ("paper", "betti"):
        prob = torch.tensor(f, requires_grad=True)
        topo_loss(prob, g, rule=rule, dims=(0, 1)).backward()  # the blobs are components
        grads[rule] = prob.grad
    assert grads["paper"][bright] < 0 < grads["paper"][faint]  # paper: spurious up, true down
    assert grads["betti"][bright] > 0 > grads["betti"][faint]  # Betti: the other way round


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 999), st.booleans())
def test_f_equal_g_gives_zero(seed, frame):
    rng = np.random.default_rng(seed)
    g = (rng.random((9, 11)) > 0.5).astype(float)
    assert betti_match(g, g, frame).loss == 0.0
    soft = rng.random((9, 11))
    assert betti_match(soft, soft, frame).loss == 0.0
    assert float(topo_loss(torch.tensor(g), g, rule="betti", frame=frame)) == 0.0


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 999), st.booleans())
def test_gradient_is_twice_the_gap_at_critical_pixels_and_matches_finite_differences(seed, frame):
    rng = np.random.default_rng(seed)
    n = 8 * 9
    f = (rng.permutation(n).reshape(8, 9) + 0.5) / (n + 1)  # generic: all values distinct
    g = (rng.random((8, 9)) > 0.55).astype(float)
    prob = torch.tensor(f, requires_grad=True)
    loss = topo_loss(prob, g, frame=frame, rule="betti", dims=(0, 1))
    loss.backward()
    grad = prob.grad.numpy()
    m = betti_match(f, g, frame)
    from topoviz.loss import critical_targets

    ct = critical_targets(m.diagram_f, m)
    want = np.zeros_like(f)
    np.add.at(
        want, (ct.pixel[:, 0], ct.pixel[:, 1]), 2 * (f[ct.pixel[:, 0], ct.pixel[:, 1]] - ct.target)
    )
    np.testing.assert_allclose(grad, want, atol=1e-12)
    eps = 1e-7  # below half the smallest gap: the pairing does not change
    for r, c in list(zip(*np.nonzero(grad), strict=True))[:8]:
        up, down = f.copy(), f.copy()
        up[r, c] += eps
        down[r, c] -= eps
        fd = (betti_match(up, g, frame).loss - betti_match(down, g, frame).loss) / (2 * eps)
        assert fd == pytest.approx(grad[r, c], abs=1e-5)


def test_topoloss_module_takes_the_betti_rule():
    rng = np.random.default_rng(0)
    prob = torch.tensor(rng.random((2, 1, 30, 30)), requires_grad=True)
    target = torch.tensor(rng.random((2, 1, 30, 30)) > 0.5)
    crit = TopoLoss(patch_size=15, patches_per_image=3, rule="betti", seed=1)
    loss = crit(prob, target.float())
    loss.backward()
    assert loss.item() > 0 and crit.last["used"] > 0
    assert prob.grad.abs().sum() > 0
    # same patches, computed one by one with topo_loss on each patch
    again = TopoLoss(patch_size=15, patches_per_image=3, rule="betti", seed=1, skip="none")
    corners = again.sample_corners(2, 30, 30)
    total = sum(
        float(
            topo_loss(
                prob[i, 0, r : r + 15, c : c + 15].detach(),
                target[i, 0, r : r + 15, c : c + 15],
                rule="betti",
            )
        )
        for i, r, c in corners
    )
    fresh = TopoLoss(patch_size=15, patches_per_image=3, rule="betti", seed=1, skip="none")
    assert float(fresh(prob.detach(), target.float())) == pytest.approx(total / 2)


def test_cli_trains_with_the_betti_rule_and_records_it(tmp_path, capsys):
    from topoviz import checkpoints
    from topoviz.__main__ import main

    ckpt = tmp_path / "b.pt"
    argv = ["train", "--data", "synthetic:membranes?n=4&size=32&seed=0", "--out", str(ckpt)]
    common = ["--batch", "2", "--patch", "32", "--base", "4", "--steps", "1", "--lam", "1"]
    assert main([*argv, *common, "--topo-steps", "2", "--rule", "betti"]) == 0
    capsys.readouterr()
    _, meta = checkpoints.load(ckpt)
    assert meta["rule"] == "betti" and meta["steps"]["topo"] == 2


def test_fine_tune_passes_the_rule_to_the_loss():
    from topoviz import nets
    from topoviz.synthetic import make_dataset
    from topoviz.train import fine_tune

    data = make_dataset("membranes", 2, 32, 0)
    torch.manual_seed(0)
    model = nets.build("unet", base=4, depth=2)
    with torch.no_grad():  # background everywhere: every membrane is broken
        model.head.weight.zero_()
        model.head.bias.fill_(-4.0)
    (paper,) = fine_tune(model, data, 1.0, 1, batch=2, patch=32, lr=0.0, rule="paper")
    (betti,) = fine_tune(model, data, 1.0, 1, batch=2, patch=32, lr=0.0, rule="betti")
    assert betti.topo > 0 and paper.topo > 0
    with pytest.raises(ValueError, match="rule"):
        next(iter(fine_tune(model, data, 1.0, 1, batch=2, patch=32, rule="nearest")))


def test_bad_input_is_refused_clearly():
    f = np.random.default_rng(0).random((6, 7))
    with pytest.raises(ValueError, match="same shape"):
        betti_match(f, f[:, :6])
    with pytest.raises(ValueError, match="likelihood"):
        betti_match(f * 3 - 1, f)
    with pytest.raises(ValueError, match="dims"):
        betti_match(f, f, dims=(2,))
    with pytest.raises(ValueError, match="needs the images"):
        from topoviz.matching import match
        from topoviz.persistence import diagram

        match(diagram(f), diagram(f), "betti")
    with pytest.raises(ValueError, match="rule"):
        TopoLoss(rule="nearest")
    assert betti_matches(np.zeros((0, 4, 4)), np.zeros((0, 4, 4))) == []
    one = betti_match(f, f, dims=(1,))
    assert one.dims.keys() == {1} and one.loss == 0.0
