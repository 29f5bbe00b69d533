"""Persistence diagrams: the compiled sweep against gudhi, pixels, Betti numbers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import likelihoods, masks

from topoviz.metrics import betti_numbers
from topoviz.persistence import Diagram, diagram, diagrams


def multiset(dgm: Diagram, k: int) -> np.ndarray:
    pts = np.round(dgm[k].points, 12)
    return pts[np.lexsort((pts[:, 1], pts[:, 0]))]


def assert_same_dots(a: Diagram, b: Diagram) -> None:
    for k in a.dims:
        ma, mb = multiset(a, k), multiset(b, k)
        assert ma.shape == mb.shape, f"dim {k}: {len(ma)} dots vs {len(mb)}"
        np.testing.assert_allclose(ma, mb, atol=1e-12)


def assert_pixels_consistent(f: np.ndarray, dgm: Diagram) -> None:
    for k in dgm.dims:
        d = dgm[k]
        for pixels, coord in ((d.birth_pixel, d.points[:, 0]), (d.death_pixel, d.points[:, 1])):
            exists = pixels[:, 0] >= 0
            assert (pixels[~exists] == -1).all()
            vals = f[pixels[exists, 0], pixels[exists, 1]]
            np.testing.assert_allclose(vals, 1.0 - coord[exists], atol=1e-12)
            if not dgm.frame:  # without a frame only an essential death has no pixel
                assert (exists | ((pixels is d.death_pixel) & d.essential)).all()
        # essential classes: death coordinate 1 and no death pixel
        assert (d.points[d.essential, 1] == 1.0).all()
        assert (d.death_pixel[d.essential] == -1).all()
        finite = ~d.essential
        assert (d.points[finite, 0] < d.points[finite, 1]).all()  # no zero-persistence dots


@settings(max_examples=300)
@given(f=likelihoods(), frame=st.booleans())
def test_same_dots_as_gudhi(f, frame):
    assert_same_dots(diagram(f, frame=frame), diagram(f, frame=frame, backend="gudhi"))


@settings(max_examples=200)
@given(f=likelihoods(), frame=st.booleans())
def test_critical_pixels_hold_the_birth_and_death_values(f, frame):
    for backend in ("numba", "gudhi"):  # gudhi's Fortran-order indices converted right
        assert_pixels_consistent(f, diagram(f, frame=frame, backend=backend))


@settings(max_examples=150)
@given(f=likelihoods(max_side=12), frame=st.booleans(), alpha=st.floats(0.01, 1.0))
def test_betti_read_off_diagram_equals_labelling(f, frame, alpha):
    dgm = diagram(f, frame=frame)
    b0, b1 = betti_numbers(f >= alpha, frame=frame)
    assert dgm.betti(alpha) == {0: b0, 1: b1}


@settings(max_examples=100)
@given(g=masks(), frame=st.booleans())
def test_binary_mask_dots_sit_at_the_corner(g, frame):
    dgm = diagram(g.astype(float), frame=frame)
    for k in (0, 1):
        pts = dgm[k].points
        # every dot of a binary function is born at 1 and dies at 0: (0, 1);
        # without a frame an all-background mask has its one component at (1, 1)
        if g.any() or frame:
            assert (pts == [0.0, 1.0]).all(), pts
    assert tuple(dgm.betti(0.5).values()) == betti_numbers(g, frame=frame)


@settings(max_examples=60)
@given(
    st.integers(1, 6)
    .flatmap(lambda b: st.tuples(st.just(b), st.integers(1, 9), st.integers(1, 9)))
    .flatmap(lambda s: likelihoods(max_side=1, min_side=1).map(lambda _: s)),
    st.booleans(),
    st.integers(0, 2**31),
)
def test_batch_equals_one_by_one(shape, frame, seed):
    rng = np.random.default_rng(seed)
    stack = np.round(rng.random(shape) * 4) / 4 if seed % 2 else rng.random(shape)
    batch = diagrams(stack, frame=frame)
    for f, got in zip(stack, batch, strict=True):
        want = diagram(f, frame=frame)
        for k in (0, 1):
            np.testing.assert_array_equal(got[k].points, want[k].points)
            np.testing.assert_array_equal(got[k].birth_pixel, want[k].birth_pixel)
            np.testing.assert_array_equal(got[k].death_pixel, want[k].death_pixel)


def test_broken_ring_has_a_late_handle_at_the_gap():
    f = np.zeros((7, 7))
    f[1:6, 1:6] = 0.9
    f[2:5, 2:5] = 0.1
    f[1, 3] = 0.3  # the gap
    dgm = diagram(f, frame=False)
    (hole,) = dgm[1].points
    np.testing.assert_allclose(hole, [0.7, 0.9])
    assert dgm[1].birth_pixel.tolist() == [[1, 3]]  # the saddle closes the loop
    assert f[tuple(dgm[1].death_pixel[0])] == 0.1  # the hole fills at its lowest pixel
    assert dgm.betti(0.5) == {0: 1, 1: 0}
    assert dgm.betti(0.2) == {0: 1, 1: 1}


def test_frame_closes_a_branch_into_handles():
    # a Y-shaped branch cropped by the patch: relative homology sees two handles
    # plus the region between the branches and the frame (Sec. 2.3, the figure)
    y = np.zeros((9, 9))
    y[4:, 4] = 1  # the stem, down to the border
    y[4, 1:8] = 1  # the fork
    y[:5, 1] = y[:5, 7] = 1  # two branches, up to the border
    assert diagram(y, frame=False).betti(0.5) == {0: 1, 1: 0}
    assert diagram(y, frame=True).betti(0.5)[1] == 3


def test_essential_class_and_frame_pixels():
    f = np.full((3, 4), 0.2)
    f[1, 2] = 0.8
    d = diagram(f, frame=False)
    assert d[0].points.tolist() == [[pytest.approx(0.2), 1.0]]
    assert d[0].birth_pixel.tolist() == [[1, 2]] and d[0].death_pixel.tolist() == [[-1, -1]]
    framed = diagram(f, frame=True)
    ess = framed[0].essential
    assert framed[0].points[ess].tolist() == [[0.0, 1.0]]  # the frame is born at 1
    assert framed[0].birth_pixel[ess].tolist() == [[-1, -1]]


@pytest.mark.parametrize(
    "bad, words",
    [
        (np.array([[0.1, np.nan]]), "NaN"),
        (np.array([[0.1, np.inf]]), "NaN or infinite"),
        (np.array([[0.1, 1.5]]), "[0, 1]"),
        (np.array([[-3.0, 0.5]]), "logits"),
        (np.zeros(5), "2-D"),
        (np.zeros((0, 3)), "empty"),
        (np.array([["a", "b"]]), "real numbers"),
    ],
)
def test_bad_input_is_refused_clearly(bad, words):
    with pytest.raises(ValueError, match=None) as err:
        diagram(bad)
    assert words in str(err.value)
    if bad.ndim == 2 and bad.dtype.kind == "f":  # the compiled check of float32 too
        for stack in (bad[None], bad.astype(np.float32)[None]):
            with pytest.raises(ValueError, match=None) as err:
                diagrams(stack)
            assert words in str(err.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="backend"):
        diagram(np.zeros((2, 2)), backend="fast")
    with pytest.raises(ValueError, match="dims"):
        diagram(np.zeros((2, 2)), dims=(2,))
    with pytest.raises(ValueError, match="B x H x W"):
        diagrams(np.zeros((2, 2)))
    assert diagrams(np.zeros((0, 3, 3))) == []
    with pytest.raises(KeyError, match="not computed"):
        diagram(np.zeros((2, 2)), dims=(0,))[1]


def test_non_square_and_tiny_inputs():
    rng = np.random.default_rng(3)
    for shape in [(1, 1), (1, 7), (7, 1), (2, 2), (65, 31)]:
        f = rng.random(shape)
        for frame in (False, True):
            assert_same_dots(diagram(f, frame=frame), diagram(f, frame=frame, backend="gudhi"))


def test_bool_and_float32_inputs_work():
    g = np.zeros((5, 5), bool)
    g[2, 1:4] = True
    assert diagram(g).betti() == diagram(g.astype(np.float32)).betti() == {0: 2, 1: 1}


def assert_same_diagram(a: Diagram, b: Diagram) -> None:
    assert a.dims == b.dims
    for k in a.dims:
        np.testing.assert_array_equal(a[k].points, b[k].points)
        np.testing.assert_array_equal(a[k].birth_pixel, b[k].birth_pixel)
        np.testing.assert_array_equal(a[k].death_pixel, b[k].death_pixel)
        np.testing.assert_array_equal(a[k].essential, b[k].essential)
        np.testing.assert_array_equal(a[k].values, b[k].values)
        assert a[k].values.dtype == np.float64


@settings(max_examples=100)
@given(f=likelihoods(), frame=st.booleans())
def test_float32_is_swept_as_it_is_and_gives_the_float64_diagram(f, frame):
    # float32 input skips the float64 copy; the dots must be those of its float64 values
    f32 = f.astype(np.float32)
    f64 = f32.astype(np.float64)
    assert_same_diagram(diagram(f32, frame=frame), diagram(f64, frame=frame))
    (batch,) = diagrams(f32[None], frame=frame)
    assert_same_diagram(batch, diagram(f64, frame=frame))


def test_kept_scratch_of_single_images_is_reused_safely():
    # diagram() keeps each thread's scratch for the next image of the same shape: an
    # image after a very different one of that shape, or after another shape, must
    # come out as in a batch of its own (fresh scratch)
    rng = np.random.default_rng(5)
    images = [
        rng.random((140, 130)),  # side by side (>= 128 x 128 pixels)
        np.ones((140, 130)),
        (rng.random((140, 130)) > 0.5).astype(float),
        rng.random((9, 11)),
        np.round(rng.random((140, 130)) * 3) / 3,
        np.zeros((9, 11)),
        rng.random((140, 130)),
    ]
    for frame in (False, True):
        for dims in ((0,), (1,), (0, 1)):
            for f in images:
                (want,) = diagrams(f[None], frame=frame, dims=dims)
                assert_same_diagram(diagram(f, frame=frame, dims=dims), want)


def test_single_images_in_several_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    images = [rng.random((150, 140)) for _ in range(6)] + [rng.random((20, 30)) for _ in range(6)]
    want = [diagrams(f[None])[0] for f in images]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(diagram, images * 3))
    for a, b in zip(got, want * 3, strict=True):
        assert_same_diagram(a, b)


def test_dims_subset():
    f = np.random.default_rng(0).random((6, 6))
    d = diagram(f, dims=(1,))
    assert d.dims == (1,)
    np.testing.assert_array_equal(d[1].points, diagram(f)[1].points)


@settings(max_examples=200)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=64),
    ),
    st.booleans(),
)
def test_arbitrary_arrays_give_a_valid_diagram_or_a_clear_refusal(arr, frame):
    try:
        dgm = diagram(arr, frame=frame)
    except ValueError as err:
        message = str(err)
        bad_shape = arr.ndim != 2 or arr.size == 0
        bad_values = not bad_shape and (
            not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1
        )
        assert bad_shape or bad_values, message
        assert any(w in message for w in ("2-D", "empty", "NaN", "[0, 1]")), message
        return
    assert arr.ndim == 2 and np.isfinite(arr).all()
    assert_pixels_consistent(arr, dgm)


@pytest.mark.parametrize("value", [0.0, 1.0, 0.37])
@pytest.mark.parametrize("frame", [False, True])
def test_constant_patches(value, frame):
    dgm = diagram(np.full((4, 6), value), frame=frame)
    assert_same_dots(dgm, diagram(np.full((4, 6), value), frame=frame, backend="gudhi"))
    # one component, born at the maximum (the frame's 1, or the constant itself)
    assert dgm[0].points.tolist() == [[0.0 if frame else 1.0 - value, 1.0]]
    # with a frame the framed interior is one hole, unless it is all foreground
    assert len(dgm[1]) == (1 if frame and value < 1.0 else 0)


@st.composite
def likelihood_and_level(draw):
    """f (also with full float64 values such as 0.1, whose 1 - (1 - x) is not x) and a
    level α that is often 0, 1 or exactly one of f's values (a critical value)."""
    f = draw(
        st.one_of(
            likelihoods(max_side=10),
            hnp.arrays(
                np.float64,
                st.tuples(st.integers(1, 8), st.integers(1, 8)),
                elements=st.sampled_from([0.0, 0.1, 0.3, 0.7, 0.9, 1.0, 0.2, 0.6]),
            ),
            hnp.arrays(
                np.float64,
                st.tuples(st.integers(1, 8), st.integers(1, 8)),
                elements=st.floats(0, 1, allow_nan=False),
            ),
        )
    )
    alpha = draw(
        st.one_of(
            st.just(0.0), st.just(1.0), st.sampled_from(sorted(set(f.ravel()))), st.floats(0, 1)
        )
    )
    return f, alpha


@settings(max_examples=400)
@given(case=likelihood_and_level(), frame=st.booleans())
def test_betti_equals_labelling_at_every_level_including_0_1_and_critical_values(case, frame):
    # Regression: Dots.alive used `death < alpha`, so the essential class dropped out
    # at alpha = 0, and 1 - (1 - birth) != birth missed classes born exactly at alpha.
    f, alpha = case
    # Values that differ in f but not in the paper's coordinates (1e-176 and 0: 1 - x
    # is 1 for both) make a pair of zero persistence there, dropped as gudhi drops it
    # (test_values_whose_paper_coordinates_round_together_make_no_dot).
    assume(len(np.unique(1.0 - f)) == len(np.unique(f)))
    dgm = diagram(f, frame=frame)
    b0, b1 = betti_numbers(f >= alpha, frame=frame)
    assert dgm.betti(alpha) == {0: b0, 1: b1}
    for k, b in ((0, b0), (1, b1)):
        assert dgm[k].alive(alpha).sum() == b


def test_betti_at_zero_keeps_the_essential_component():
    f = np.array([[0.0, 0.3], [0.6, 1.0]])
    for frame in (False, True):
        assert diagram(f, frame=frame).betti(0.0) == {0: 1, 1: 0}
    assert diagram(np.full((3, 3), 0.1), frame=False).betti(0.1) == {0: 1, 1: 0}


# ------------------------------------------- the grid sweeps against the flat ones


def flat_pairs(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of the flat sweeps (kept for topoviz.induced), as flat (birth, death)."""
    from topoviz.persistence import _descending_order, _sweep0, _sweep1

    h, w = F.shape
    v = np.ascontiguousarray(F, np.float64).ravel()
    order = _descending_order(v)
    out0 = np.empty((h * w + 1, 2), np.int64)
    k0 = _sweep0(v, h, w, order, out0)
    out0[k0] = order[0], -1
    out1 = np.empty((h * w, 2), np.int64)
    k1 = _sweep1(v, h, w, order, out1)
    return out0[: k0 + 1], out1[:k1]


def grid_pairs(f: np.ndarray, frame: bool) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of the padded-grid sweeps, as flat (birth, death) of the framed image."""
    from topoviz.persistence import _batch_grid_serial, _sorted_keys

    stack = np.ascontiguousarray(f[None])
    keys = _sorted_keys(stack, frame)
    counts, pairs, _ = _batch_grid_serial(stack, keys, frame, True, True, 1)
    w = f.shape[1] + 2 * frame
    out = []
    for k in (0, 1):
        grid = pairs[k, 0, : counts[0, k]].astype(np.int64)
        flat = (grid // (w + 2) - 1) * w + grid % (w + 2) - 1
        out.append(np.where(grid < 0, -1, flat))
    return out[0], out[1]


@settings(max_examples=300)
@given(
    f=st.one_of(
        likelihoods(max_side=12),
        # float64 values closer than a float32 step: the sort falls back to 64-bit keys
        likelihoods(max_side=8).map(lambda a: np.clip(0.5 + (a - 0.5) * 1e-9, 0, 1)),
    ),
    frame=st.booleans(),
)
def test_grid_sweeps_give_the_flat_sweeps_pairs_in_the_same_order(f, frame):
    F = np.pad(f, 1, constant_values=1.0) if frame else f
    want0, want1 = flat_pairs(F)
    got0, got1 = grid_pairs(f, frame)
    np.testing.assert_array_equal(got0, want0)
    np.testing.assert_array_equal(got1, want1)


def test_values_one_float32_apart_and_closer_are_ordered_exactly():
    # 0.5 and 0.5 + 1e-12 round to one float32: the 64-bit fallback must tell them apart
    f = np.array([[0.5, 0.5 + 1e-12, 0.3], [0.5 - 1e-12, 0.1, 0.5], [0.2, 0.5 + 2e-12, 0.4]])
    for frame in (False, True):
        dgm = diagram(f, frame=frame)
        assert_same_dots(dgm, diagram(f, frame=frame, backend="gudhi"))
        assert_pixels_consistent(f, dgm)
        got0, got1 = grid_pairs(f, frame)
        want0, want1 = flat_pairs(np.pad(f, 1, constant_values=1.0) if frame else f)
        np.testing.assert_array_equal(got0, want0)
        np.testing.assert_array_equal(got1, want1)


def test_negative_zero_is_zero():
    f = np.array([[0.0, 0.7, -0.0], [0.7, -0.0, 0.7], [0.0, 0.7, 0.0]])
    for frame in (False, True):
        a, b = diagram(f, frame=frame), diagram(np.abs(f), frame=frame)
        for k in (0, 1):
            np.testing.assert_array_equal(a[k].points, b[k].points)
            np.testing.assert_array_equal(a[k].birth_pixel, b[k].birth_pixel)
            np.testing.assert_array_equal(a[k].death_pixel, b[k].death_pixel)


@pytest.mark.parametrize("frame", [False, True])
@pytest.mark.parametrize("kind", ["continuous", "float32", "plateaus"])
def test_large_image_side_by_side_equals_the_batch(frame, kind):
    # >= 128 x 128 pixels: diagram() runs the two sweeps in two threads, each with its
    # own union-find; 2**16 pixels or more: the 15-bit radix digits
    rng = np.random.default_rng(7)
    f = rng.random((260, 255))
    if kind == "float32":
        f = f.astype(np.float32)
    elif kind == "plateaus":
        f = np.round(f * 6) / 6
    one = diagram(f, frame=frame)
    (batch,) = diagrams(f[None], frame=frame)
    for k in (0, 1):
        np.testing.assert_array_equal(one[k].points, batch[k].points)
        np.testing.assert_array_equal(one[k].birth_pixel, batch[k].birth_pixel)
        np.testing.assert_array_equal(one[k].death_pixel, batch[k].death_pixel)
        np.testing.assert_array_equal(one[k].values, batch[k].values)
    small = f[:40, :50]  # and against gudhi on a part of it
    assert_same_dots(diagram(small, frame=frame), diagram(small, frame=frame, backend="gudhi"))
    got0, got1 = grid_pairs(np.asarray(f, np.float64), frame)
    want0, want1 = flat_pairs(np.pad(f, 1, constant_values=1.0) if frame else f)
    np.testing.assert_array_equal(got0, want0)
    np.testing.assert_array_equal(got1, want1)


def test_batch_scratch_is_reused_safely_across_patches():
    # one chunk walks many patches with the same scratch arrays: a patch after a very
    # different one (binary, constant, noise) must come out as if alone
    rng = np.random.default_rng(11)
    stack = np.stack(
        [
            rng.random((9, 11)),
            np.ones((9, 11)),
            (rng.random((9, 11)) > 0.5).astype(float),
            np.zeros((9, 11)),
            np.round(rng.random((9, 11)) * 3) / 3,
        ]
        * 3
    )
    for frame in (False, True):
        for dims in ((0,), (1,), (0, 1)):
            for f, got in zip(stack, diagrams(stack, frame=frame, dims=dims), strict=True):
                want = diagram(f, frame=frame, dims=dims)
                assert got.dims == want.dims == dims
                for k in dims:
                    np.testing.assert_array_equal(got[k].points, want[k].points)
                    np.testing.assert_array_equal(got[k].birth_pixel, want[k].birth_pixel)
                    np.testing.assert_array_equal(got[k].death_pixel, want[k].death_pixel)
                    np.testing.assert_array_equal(got[k].essential, want[k].essential)
                    np.testing.assert_array_equal(got[k].values, want[k].values)


def test_values_whose_paper_coordinates_round_together_make_no_dot():
    # 1 - 1e-20 == 1 in float64: in the paper's coordinates (and gudhi's, which sees
    # 1 - f) these values are equal, so their pair has zero persistence and is dropped
    f = np.array([[0.0, 1e-20, 0.0], [1e-20, 0.8, 1e-30], [0.0, 2e-20, 0.0]])
    for frame in (False, True):
        dgm = diagram(f, frame=frame)
        assert_same_dots(dgm, diagram(f, frame=frame, backend="gudhi"))
        assert_pixels_consistent(f, dgm)


def test_batch_dots_hold_the_dots_of_single_patches_one_after_the_other():
    from topoviz.persistence import batch_dots

    rng = np.random.default_rng(3)
    stack = np.round(rng.random((6, 23, 19)) * 20) / 20  # ties: the position decides
    for frame in (False, True):
        flat = batch_dots(stack, frame=frame, dims=(0, 1))
        for j, f in enumerate(stack):
            alone = diagram(f, frame=frame)
            for k in (0, 1):
                points, birth, death, offsets = flat[k]
                cut = slice(offsets[j], offsets[j + 1])
                np.testing.assert_array_equal(points[cut], alone[k].points)
                np.testing.assert_array_equal(birth[cut], alone[k].birth_pixel)
                np.testing.assert_array_equal(death[cut], alone[k].death_pixel)
    assert list(batch_dots(stack, dims=(1,))) == [1]
    with pytest.raises(ValueError, match="B x H x W"):
        batch_dots(stack[0])


def test_serial_and_parallel_dispatchers_keep_their_own_cache_entries():
    """numba's on-disk cache names an entry by file, qualified name and line, not by
    ``parallel=``: a serial and a parallel dispatcher of one Python function would
    share an entry and load each other's build, and a batch then ran on one thread.
    Each pair has its own entry, and only the batch's dispatcher is parallel."""
    pytest.importorskip("numba")
    from topoviz import induced, persistence

    pairs = [
        (persistence._grid_keys, persistence._grid_keys_serial),
        (persistence._batch_grid, persistence._batch_grid_serial),
        (induced._batch_fast, induced._batch_fast_serial),
    ]
    for parallel, serial in pairs:
        assert parallel.targetoptions.get("parallel") and not serial.targetoptions.get("parallel")
        index = (parallel._cache._cache_file._index_path, serial._cache._cache_file._index_path)
        assert index[0] != index[1], index


def test_one_ulp_past_one_is_rounding_and_a_little_more_is_refused():
    """A float32 sigmoid can return 1 + 1.2e-7: topo_loss clips it, so must diagram
    (it refused it as "got values in [0.5, 1]", a message contradicting itself)."""
    f = np.full((5, 5), 0.5, np.float32)
    f[2, 2] = np.nextafter(np.float32(1), np.float32(2))
    clipped = f.copy()
    clipped[2, 2] = 1
    assert diagram(f) == diagram(clipped) and f[2, 2] > 1  # the caller's array unchanged
    with pytest.raises(ValueError, match=r"got values in \[0.5, 1.00100005\]"):
        diagram(np.where(f > 1, np.float32(1.001), f))
