"""A developer's wrong arguments get a clear error, never a crash or a quiet wrong answer.

Each case here was found by calling the library as a developer would, from outside:
an integer frame that wrote past the sweeps' arrays (the process died), likelihoods
taken for masks, a generator that checked its arguments only when first iterated.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from topoviz import calibration, checkpoints, metrics, nets
from topoviz.loss import TopoLoss, topo_loss
from topoviz.matching import betti_match, match, match_images
from topoviz.persistence import batch_dots, diagram, diagrams
from topoviz.train import fine_tune

RNG = np.random.default_rng(0)
F = RNG.random((9, 11))
G = np.zeros((9, 11))
G[4, :] = 1


# ------------------------------------------------------------------------- frame


FRAME_CALLS = {
    "diagram": lambda fr: diagram(F, frame=fr),
    "diagrams": lambda fr: diagrams(F[None], frame=fr),
    "batch_dots": lambda fr: batch_dots(F[None], frame=fr),
    "betti_match": lambda fr: betti_match(F, G, frame=fr),
    "topo_loss": lambda fr: topo_loss(torch.tensor(F), G, frame=fr),
    "TopoLoss": lambda fr: TopoLoss(frame=fr),
}


@pytest.mark.parametrize("call", FRAME_CALLS, ids=list(FRAME_CALLS))
@pytest.mark.parametrize("frame", [2, -1, 0.5, "no", None])
def test_a_frame_that_is_not_true_or_false_is_refused(call, frame):
    # frame=2 used to size the scratch arrays for a frame of two while the sort
    # framed by one: the sweeps wrote out of bounds and the process died
    with pytest.raises(TypeError, match="frame must be True or False"):
        FRAME_CALLS[call](frame)


@pytest.mark.parametrize("frame", [0, 1, np.bool_(True)])
def test_frame_as_0_1_or_numpy_bool_is_the_bool(frame):
    assert diagram(F, frame=frame) == diagram(F, frame=bool(frame))
    assert diagram(F, frame=frame).frame is bool(frame)


# -------------------------------------------------------------------------- dims


@pytest.mark.parametrize(
    "dims, error, words",
    [
        ([0.5], TypeError, "integers"),
        ([True], TypeError, "integers"),
        (1, TypeError, "sequence of dimensions"),
        ("1", TypeError, "sequence of dimensions"),
        ((2,), ValueError, "subset of"),
        ((), ValueError, "subset of"),
    ],
)
def test_bad_dims_are_refused_everywhere(dims, error, words):
    for call in (
        lambda: diagram(F, dims=dims),
        lambda: diagrams(F[None], dims=dims),
        lambda: betti_match(F, G, dims=dims),
        lambda: TopoLoss(dims=dims),  # at construction, not at the first forward
    ):
        with pytest.raises(error, match=words):
            call()


def test_dims_as_numpy_integers_work():
    assert diagram(F, dims=np.array([1])).dims == (1,)


# ------------------------------------------------------------------ torch tensors


def test_a_tensor_with_grad_or_in_bfloat16_gives_the_arrays_diagram():
    t = torch.tensor(F, requires_grad=True)
    assert diagram(t) == diagram(F)
    half = torch.tensor(F, dtype=torch.bfloat16)
    assert diagram(half) == diagram(half.float().numpy())
    assert betti_match(t, torch.tensor(G)).loss == betti_match(F, G).loss


@pytest.mark.parametrize(
    "call",
    [
        lambda m: diagram(m),
        lambda m: topo_loss(m, G),
        lambda m: topo_loss(torch.tensor(F), m),
        lambda m: TopoLoss()(m[None], G[None]),
    ],
)
def test_a_meta_tensor_is_refused_by_name(call):
    meta = torch.empty(9, 11, device="meta")
    with pytest.raises(ValueError, match="'meta' device"):
        call(meta)


# ---------------------------------------------------------------------- diagrams


def test_diagrams_compare_by_their_dots():
    assert diagram(F) == diagram(F.copy())
    assert diagram(F) != diagram(F[:, ::-1])
    assert diagram(F)[0] != diagram(F)[1]
    assert (diagram(F) == "a diagram") is False


@pytest.mark.parametrize("shape", [(2, 3, 0), (2, 0, 3)])
def test_a_stack_of_empty_patches_says_so(shape):
    with pytest.raises(ValueError, match=rf"empty \(shape \({shape[0]}, {shape[1]}, {shape[2]}\)"):
        diagrams(np.zeros(shape))
    with pytest.raises(ValueError, match="empty"):
        batch_dots(np.zeros(shape))


def test_match_refuses_diagrams_of_different_frames_or_shapes():
    with pytest.raises(ValueError, match="different frames"):
        match(diagram(F, frame=True), diagram(G, frame=False))
    with pytest.raises(ValueError, match="different shapes"):
        match(diagram(F), diagram(G[:3]))
    for rule in ("paper", "optimal", "betti"):
        with pytest.raises(ValueError, match="same shape"):
            match_images(F, G[:3], rule=rule)


def test_an_unknown_rule_names_betti_too():
    with pytest.raises(ValueError, match="betti"):
        match(diagram(F), diagram(G), rule="x")
    with pytest.raises(ValueError, match="betti"):
        topo_loss(torch.tensor(F), G, rule="x")


# ------------------------------------------------------------------------- loss


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"patch_size": (5,)}, "int or"),
        ({"patch_size": (5, 5, 5)}, "int or"),
        ({"patch_size": 5.0}, "int or"),
        ({"patch_size": 1}, "at least 2"),
        ({"patches_per_image": 1.5}, "integer >= 1"),
        ({"patches_per_image": 0}, "integer >= 1"),
        ({"seed": "a"}, "seed must be None or an integer >= 0; got 'a'"),
        ({"seed": -1}, "seed must be None"),
    ],
)
def test_topoloss_checks_its_arguments_when_built(kwargs, words):
    with pytest.raises(ValueError, match=words):
        TopoLoss(**kwargs)


def test_topoloss_refuses_a_target_of_several_channels_or_the_wrong_shape():
    prob = torch.rand(1, 1, 9, 11)
    two = np.stack([G, G])[None]  # 1 x 2 x H x W: which channel would be the truth?
    with pytest.raises(ValueError, match="one channel"):
        TopoLoss(patch_size=5)(prob, two)
    with pytest.raises(ValueError, match="does not match"):
        TopoLoss(patch_size=5)(prob, G[None, :5])
    # an empty batch checks its target too, and gives 0 for a right one
    empty = torch.rand(0, 1, 9, 11)
    with pytest.raises(ValueError, match="target must be B x 1 x H x W or B x H x W"):
        TopoLoss()(empty, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="does not match"):
        TopoLoss()(empty, np.zeros((0, 9, 12)))
    assert float(TopoLoss()(empty, np.zeros((0, 9, 11)))) == 0.0


# ----------------------------------------------------------------------- metrics


def test_topology_errors_thresholds_a_likelihood_like_region_errors():
    gt = np.zeros((20, 21), bool)
    gt[:, 10] = True
    weak = np.where(gt, 0.3, 0.0)  # the wall predicted below 0.5: the two cells merge
    assert metrics.region_errors(weak, gt).merges == 1
    errs = metrics.topology_errors(weak, gt)
    assert errs["merged"].all()  # the one predicted region, wall pixels included
    assert not metrics.topology_errors(np.where(gt, 0.7, 0.0), gt)["merged"].any()
    with pytest.raises(ValueError, match="values in"):
        metrics.topology_errors(gt * 255.0, gt)


def test_adapted_rand_index_of_one_pixel_regions():
    g = np.ones((3, 3), bool)
    g[1, 1] = False  # one region of one pixel: no pair of pixels to recall
    assert metrics.adapted_rand_index(g, g) == 1.0
    g2 = np.ones((3, 5), bool)
    g2[1, 1] = g2[1, 3] = False  # two one-pixel cells ...
    merged = g2.copy()
    merged[1, 2] = False  # ... joined into one region by the prediction
    assert metrics.adapted_rand_index(merged, g2) == 0.0


@pytest.mark.parametrize("fn", [metrics.hole_errors, metrics.betti_error])
@pytest.mark.parametrize("arg", [{"patch_size": 0}, {"patch_size": -3}, {"n_patches": 0}])
def test_patch_arguments_are_named_when_wrong(fn, arg):
    name = next(iter(arg))
    with pytest.raises(ValueError, match=name):
        fn(G, G, **arg)


def test_regions_and_references_threshold_a_likelihood():
    soft = np.where(G > 0, 0.9, 0.1)
    assert (metrics.regions(soft) == metrics.regions(G > 0)).all()
    refs = metrics.one_pixel_references(soft)
    assert all((refs[k] == metrics.one_pixel_references(G > 0)[k]).all() for k in refs)


def test_calibration_reads_a_likelihood_as_its_mask_and_keeps_the_shape():
    gt = np.zeros((40, 40), bool)
    gt[:, 20] = True
    soft = np.where(gt, 0.9, 0.1)
    a = calibration.inject_breaks(soft, 2, seed=1)
    b = calibration.inject_breaks(gt, 2, seed=1)
    assert a[1] == b[1] == 1 and (a[0] == b[0]).all()  # one wall: one break merges its cells
    assert calibration.shift(gt[:4, 18:22], 6).shape == (4, 4)


# ---------------------------------------------------------------- training, saving


def test_fine_tune_checks_its_arguments_at_the_call():
    model = nets.build("unet", base=4, depth=2, seed=0)
    data = ([F.astype(np.float32)], [G])
    with pytest.raises(ValueError, match="lam"):
        fine_tune(model, data, lam=-1, steps=1)  # no next(): the call itself raises
    with pytest.raises(ValueError, match="divide an 8-bit mask by 255"):
        fine_tune(model, ([F], [G * 255]), lam=0, steps=1)
    with pytest.raises(ValueError, match="frame|dims"):
        fine_tune(model, data, lam=0.1, steps=1, topo_dims=(2,))
    reports = list(fine_tune(model, data, lam=0.1, steps=2, batch=2, patch=8, topo_patch=8))
    assert [r.step for r in reports] == [1, 2]


def test_save_refuses_weights_that_load_would_refuse(tmp_path):
    model = nets.build("unet", base=4, depth=2, seed=0)
    with torch.no_grad():
        next(model.parameters())[0].fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN or infinity.*diverged"):
        checkpoints.save(tmp_path / "x.pt", model, {})
    assert list(tmp_path.iterdir()) == []


def test_a_break_is_the_disk_the_dilation_made():
    # calibration._stamp sets a point's disk directly (the dilation of a point by a
    # disk took 5 ms a try on thick structures, minutes for a 1024² calibration)
    from scipy import ndimage

    from topoviz.calibration import _disk, _stamp

    rng = np.random.default_rng(0)
    for _ in range(50):
        h, w = rng.integers(5, 30, 2)
        r, c = int(rng.integers(-3, h + 3)), int(rng.integers(-3, w + 3))
        radius = int(rng.integers(0, 9))
        got = np.zeros((h, w), bool)
        _stamp(got, np.array([r]), np.array([c]), radius, True)
        pad = radius + 4  # the reference: a dilation on a canvas that holds the whole disk
        big = np.zeros((h + 2 * pad, w + 2 * pad), bool)
        if 0 <= r < h and 0 <= c < w:
            big[r + pad, c + pad] = True
            big = ndimage.binary_dilation(big, _disk(radius)) if radius else big
        np.testing.assert_array_equal(got, big[pad : pad + h, pad : pad + w])


def test_match_names_an_array_given_for_a_diagram():
    """betti_match takes images, match diagrams: an array gave AttributeError."""
    from topoviz.matching import match

    with pytest.raises(TypeError, match="dgm_f must be a Diagram .* use match_images"):
        match(F, G)


def test_a_level_or_temperature_of_nan_is_refused():
    """dgm.betti(nan) said no class was alive; sharpen(f, nan) returned NaN."""
    from topoviz.filtration import sharpen
    from topoviz.persistence import diagram

    with pytest.raises(ValueError, match="alpha must be a finite level"):
        diagram(F).betti(float("nan"))
    with pytest.raises(ValueError, match="finite number > 0; got nan"):
        sharpen(F, float("nan"))


# ----------------------------------------------- a developer's slips, said in words


def test_a_seed_given_where_dims_goes_is_named():
    """betti_error(p, g, 20, 10, 1) meant seed=1; it said 'int is not iterable'."""
    with pytest.raises(TypeError, match=r"fifth argument is dims; pass seed= by name"):
        metrics.betti_error(G > 0.5, G > 0.5, 9, 10, 1)


def test_an_8_bit_array_given_to_diagram_is_told_to_divide_by_255():
    with pytest.raises(ValueError, match="8-bit image or mask: divide it by 255"):
        diagram((G * 255).astype(np.uint8))
    with pytest.raises(ValueError, match=r"torch.sigmoid\(logits\)"):
        diagram(G * 3.0)  # floats past 1: logits, more likely


def test_a_wrapped_net_is_named_with_the_net_inside():
    net = nets.build("unet", base=2, depth=1)
    with pytest.raises(ValueError, match=r"save its net, model.module"):
        checkpoints.save(io.BytesIO(), torch.nn.DataParallel(net), {})


def test_a_channels_first_image_is_named_so():
    from topoviz.inference import predict

    net = nets.build("unet", base=2, depth=1)
    with pytest.raises(ValueError, match=r"looks channels-first.*transpose\(1, 2, 0\)"):
        predict(net, np.zeros((1, 32, 32), np.float32))
    # a stack of images, a path instead of a net, an unknown rule: each named
    with pytest.raises(ValueError, match=r"a stack of 2 images: predict takes one image"):
        predict(net, np.zeros((2, 32, 32), np.float32))
    with pytest.raises(ValueError, match=r"the image has 5$"):  # five bands: no stack
        predict(net, np.zeros((32, 32, 5), np.float32))
    with pytest.raises(TypeError, match=r"got str\. Load a checkpoint file with"):
        predict("net.pt", np.zeros((32, 32), np.float32))
    from topoviz.loss import topo_loss

    f = torch.full((16, 16), 0.5)
    with pytest.raises(ValueError, match=r"rule must be one of \('paper', 'optimal', 'betti'\)"):
        topo_loss(f, np.zeros((16, 16)), rule="foo")


def test_every_module_is_an_attribute_of_the_package():
    """`import topoviz; topoviz.metrics` had raised AttributeError."""
    import pathlib

    import topoviz

    names = {p.stem for p in pathlib.Path(topoviz.__file__).parent.glob("*.py")}
    for name in sorted(names - {"__init__", "__main__"}):
        assert getattr(topoviz, name).__name__ == f"topoviz.{name}", name
    assert topoviz.betti_match is betti_match and topoviz.match_images is match_images
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        topoviz.nope  # noqa: B018
