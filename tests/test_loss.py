"""TopoLoss: Eq. 2.2 in torch, its gradient Eq. 2.3, Theorem 1, the push direction."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import distinct_likelihood

from topoviz.loss import TopoLoss, critical_targets, topo_loss
from topoviz.matching import match
from topoviz.metrics import betti_numbers
from topoviz.persistence import diagram


def random_mask(rng, shape, p=0.4):
    return rng.random(shape) < p


@settings(max_examples=25)
@given(st.integers(0, 2**31), st.sampled_from(["paper", "optimal"]), st.booleans())
def test_gradient_matches_finite_differences(seed, rule, frame):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 8, 2))
    f0 = distinct_likelihood(rng, shape)
    g = random_mask(rng, shape)
    f = torch.tensor(f0, requires_grad=True)
    loss = topo_loss(f, g, frame=frame, rule=rule)
    loss.backward()
    eps = 1e-7
    numeric = np.zeros(shape)
    for i in range(shape[0]):
        for j in range(shape[1]):
            for sign in (1, -1):
                fp = f0.copy()
                fp[i, j] += sign * eps
                numeric[i, j] += sign * float(topo_loss(torch.tensor(fp), g, frame, rule))
    numeric /= 2 * eps
    np.testing.assert_allclose(f.grad.numpy(), numeric, atol=1e-5)


def test_gradient_is_eq_2_3_only_at_critical_pixels():
    rng = np.random.default_rng(7)
    f0 = distinct_likelihood(rng, (9, 11))
    g = random_mask(rng, (9, 11))
    f = torch.tensor(f0, requires_grad=True)
    topo_loss(f, g, dims=(0, 1)).backward()  # Eq. 2.2 as written: both dimensions
    dgm_f, dgm_g = diagram(f0), diagram(g.astype(float))
    ct = critical_targets(dgm_f, match(dgm_f, dgm_g))
    want = np.zeros_like(f0)
    rows, cols = ct.pixel[:, 0], ct.pixel[:, 1]
    np.add.at(want, (rows, cols), 2 * (f0[rows, cols] - ct.target))
    np.testing.assert_allclose(f.grad.numpy(), want, atol=1e-12)
    critical = np.zeros(f0.shape, bool)
    critical[ct.pixel[:, 0], ct.pixel[:, 1]] = True
    assert (f.grad.numpy()[~critical] == 0).all()
    np.testing.assert_allclose(
        -f.grad.numpy()[ct.pixel[:, 0], ct.pixel[:, 1]].sum(), ct.force(f0).sum(), atol=1e-12
    )


def test_loss_value_equals_the_matching_cost():
    rng = np.random.default_rng(1)
    f0 = rng.random((12, 10))
    g = random_mask(rng, (12, 10))
    for rule in ("paper", "optimal"):
        want = match(diagram(f0), diagram(g.astype(float)), rule).loss
        got = topo_loss(torch.tensor(f0), g, rule=rule, dims=(0, 1))
        assert float(got) == pytest.approx(want)


def ring_with_gap(gap=0.3):
    g = np.zeros((9, 9), bool)
    g[1:8, 1:8] = True
    g[2:7, 2:7] = False
    f = np.where(g, 0.9, 0.1)
    f[1, 4] = gap  # the broken membrane
    return f, g


def test_push_closes_the_gap_of_a_broken_ring():
    f0, g = ring_with_gap()
    assert betti_numbers(f0 >= 0.5) != betti_numbers(g)
    f = torch.tensor(f0, requires_grad=True)
    topo_loss(f, g).backward()
    assert f.grad[1, 4] < 0  # descent raises the saddle
    with torch.no_grad():
        for _ in range(20):
            f.grad = None
            with torch.enable_grad():
                topo_loss(f, g).backward()
            f -= 0.1 * f.grad
            f.clamp_(0, 1)
    assert f[1, 4] > 0.5
    assert betti_numbers(f.detach().numpy() >= 0.5) == betti_numbers(g)


def descend(f0, g, frame, rule, steps=200):
    """Plain descent on L_topo alone; a step of 0.5 along -grad moves every critical
    pixel exactly onto its target (f - 0.5 * 2 (f - t) = t)."""
    f = torch.tensor(f0, requires_grad=True)
    for _ in range(steps):
        f.grad = None
        loss = topo_loss(f, g, frame=frame, rule=rule, dims=(0, 1))
        if float(loss.detach()) < 1e-18:  # 0 up to float rounding: dots within 1e-9
            break
        loss.backward()
        with torch.no_grad():
            f -= 0.5 * f.grad
            f.clamp_(0, 1)
    return f.detach().numpy(), float(loss.detach())


def random_case(seed, frame):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(2, 9, 2))
    g = random_mask(rng, shape, p=rng.uniform(0.2, 0.8))
    f0 = rng.random(shape)
    # the loss moves dots but cannot create one: f needs at least the ground truth's
    # number of dots (else the unmatched ones are a constant the gradient cannot pay)
    dgm_f, dgm_g = diagram(f0, frame=frame), diagram(g.astype(float), frame=frame)
    assume(all(len(dgm_f[k]) >= len(dgm_g[k]) for k in (0, 1)))
    return f0, g


@settings(max_examples=60, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.integers(0, 2**31), st.booleans(), st.sampled_from(["paper", "optimal"]))
def test_theorem_1_zero_loss_gives_the_ground_truth_betti_numbers(seed, frame, rule):
    f0, g = random_case(seed, frame)
    f, loss = descend(f0, g, frame, rule)
    assume(loss < 1e-18)  # Theorem 1 speaks of the zero-loss functions descent reaches
    assert betti_numbers(f >= 0.5, frame) == betti_numbers(g, frame)


def test_descent_on_l_topo_alone_mostly_reaches_zero():
    # The pairing changes as f moves, so descent is not guaranteed to reach 0 (a
    # dot pushed to the diagonal can take a matched dot's critical pixel with it),
    # but on random cases with enough dots the paper rule mostly does, and every
    # stall is a ground-truth dot left unmatched (a constant 0.5).
    reached, stalled = 0, []
    for seed in range(40):
        for frame in (False, True):
            rng = np.random.default_rng(seed)
            shape = tuple(rng.integers(2, 9, 2))
            g = random_mask(rng, shape, p=rng.uniform(0.2, 0.8))
            f0 = rng.random(shape)
            f, loss = descend(f0, g, frame, "paper")
            if loss < 1e-18:
                reached += 1
                assert betti_numbers(f >= 0.5, frame) == betti_numbers(g, frame)
            else:
                stalled.append(loss)
    assert reached >= 40, (reached, stalled)
    assert all(loss >= 0.5 - 1e-9 for loss in stalled)


def test_optimal_rule_can_stall_where_the_paper_rule_does_not():
    # a handle born late (short dot): W2 sends it to the diagonal, the paper rule
    # pulls it to the corner and so creates the ground truth's hole
    f0 = np.full((5, 5), 0.2)
    f0[1:4, 1:4] = 0.26
    f0[2, 2] = 0.06  # a faint ring around a dark centre: dot (0.74, 0.94)
    g = np.zeros((5, 5), bool)
    g[1:4, 1:4] = True
    g[2, 2] = False
    _, loss_opt = descend(f0, g, False, "optimal")
    f_pap, loss_pap = descend(f0, g, False, "paper")
    assert loss_opt >= 0.5 - 1e-9 and loss_pap < 1e-18
    assert betti_numbers(f_pap >= 0.5, False) == betti_numbers(g, False) == (1, 1)


def test_topoloss_module_on_a_batch():
    rng = np.random.default_rng(0)
    g = torch.tensor(random_mask(rng, (3, 1, 40, 50), 0.3), dtype=torch.float32)
    prob = torch.rand(3, 1, 40, 50, generator=torch.Generator().manual_seed(0))
    prob.requires_grad_()
    module = TopoLoss(patch_size=17, patches_per_image=4, lam=0.5, seed=3)
    loss = module(prob, g)
    loss.backward()
    value = float(loss.detach())
    assert loss.ndim == 0 and value > 0
    assert module.last["used"] == 12 and value == pytest.approx(0.5 * module.last["raw"] / 3)
    assert (prob.grad != 0).sum() > 0
    # the same seed gives the same patches and the same number
    again = TopoLoss(patch_size=17, patches_per_image=4, lam=0.5, seed=3)(prob, g)
    assert float(again.detach()) == value
    # each call draws new patches
    assert float(module(prob, g).detach()) != value


@settings(max_examples=40)
@given(
    st.integers(0, 2**31),
    st.sampled_from(["paper", "optimal"]),
    st.booleans(),
    st.sampled_from([(1,), (0, 1)]),
    st.sampled_from([0, 4]),
)
def test_the_batched_pairing_equals_topo_loss_patch_by_patch(seed, rule, frame, dims, levels):
    # TopoLoss pairs all patches of a call at once (loss._corner_targets); it must
    # pick the same pixels and targets as topo_loss on each patch. levels = 4
    # quantises f so that many dots tie on their distance to the corner (the
    # tie-break must be the same); unframed empty ground truths take the fallback
    rng = np.random.default_rng(seed)
    f0 = rng.random((3, 1, 19, 23))
    if levels:
        f0 = np.round(f0 * levels) / levels
    g = random_mask(rng, (3, 1, 19, 23), rng.choice([0.0, 0.3, 0.6]))
    prob = torch.tensor(f0, requires_grad=True)
    module = TopoLoss(
        patch_size=11,
        patches_per_image=3,
        lam=0.7,
        rule=rule,
        frame=frame,
        dims=dims,
        skip="none",
        seed=seed % 1000,
    )
    corners = TopoLoss(patch_size=11, patches_per_image=3, seed=seed % 1000).sample_corners(
        3, 19, 23
    )
    module(prob, torch.tensor(g)).backward()
    batched = prob.grad.clone()
    prob.grad = None
    ref = sum(
        topo_loss(
            prob[i, 0, r : r + 11, c : c + 11],
            g[i, 0, r : r + 11, c : c + 11],
            frame=frame,
            rule=rule,
            dims=dims,
        )
        for i, r, c in corners
    )
    (0.7 * ref / 3).backward()
    assert module.last["raw"] == pytest.approx(float(ref.detach()), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(batched.numpy(), prob.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_whole_image_patch_equals_topo_loss():
    rng = np.random.default_rng(5)
    f0 = rng.random((1, 1, 13, 21))
    g = random_mask(rng, (1, 1, 13, 21))
    module = TopoLoss(patch_size=(13, 21), patches_per_image=1, lam=1.0, skip="none")
    a = module(torch.tensor(f0), torch.tensor(g))
    b = topo_loss(torch.tensor(f0[0, 0]), g[0, 0])
    assert float(a) == pytest.approx(float(b))


def test_patch_larger_than_image_and_non_square():
    prob = torch.rand(2, 1, 10, 30)
    g = torch.zeros(2, 1, 10, 30)
    g[:, :, 5, :] = 1
    with pytest.warns(UserWarning, match="covers the whole 10 x 30 image"):
        assert torch.isfinite(TopoLoss(patch_size=65, patches_per_image=2)(prob, g))


def test_a_patch_covering_the_image_is_counted_as_often_as_asked_and_said_once():
    """Eight patches of a 10 x 10 image with patch_size 10 are eight copies of the image:
    the loss sums them (counting one would make it jump eightfold at 11 x 11, where
    the patches differ by a pixel), and a warning says so, once."""
    rng = np.random.default_rng(7)
    prob = torch.tensor(rng.random((2, 1, 10, 10)))
    g = random_mask(rng, (2, 1, 10, 10))
    module = TopoLoss(patch_size=10, patches_per_image=8, skip="none")
    want = np.mean([float(topo_loss(prob[i, 0], g[i, 0])) for i in range(2)])
    with pytest.warns(UserWarning, match="pass patches_per_image=1 to count it once"):
        assert float(module(prob, g)) == pytest.approx(8 * want)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        module(prob, g)
        # one patch per image, or a patch smaller than the image: nothing to say
        once = TopoLoss(patch_size=10, patches_per_image=1, skip="none")
        assert float(once(prob, g)) == pytest.approx(want)
        TopoLoss(patch_size=10, patches_per_image=8)(
            torch.rand(1, 1, 10, 30), np.zeros((1, 1, 10, 30))
        )


def test_a_0_255_ground_truth_is_refused_and_near_binary_ones_are_thresholded():
    """A 0/255 mask passed, thresholded at 0.5 as if it were 0/1. Values a little past
    [0, 1] (float rounding, a cubic resampling) and label-smoothed targets are
    thresholded as before, an all-background one included."""
    g = random_mask(np.random.default_rng(1), (1, 1, 12, 12)).astype(np.float64)
    f = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    words = r"values up to 255; .*thresholded at 0.5 \(an 8-bit mask: divide it by 255\)"
    with pytest.raises(ValueError, match=words):
        topo_loss(f[0, 0], g[0, 0] * 255)
    with pytest.raises(ValueError, match=words):
        TopoLoss()(f, g * 255)
    want = float(topo_loss(f[0, 0], g[0, 0]))
    for near in (g * (1 + 1e-7), g * 1.2 - 0.1, 0.05 + 0.9 * g):  # rounding, cubic, smoothed
        assert float(topo_loss(f[0, 0], near[0, 0])) == want
    assert np.isfinite(float(topo_loss(f[0, 0], np.full((12, 12), 0.05))))  # empty: fine


def test_perfect_prediction_skips_every_patch():
    g = torch.zeros(2, 1, 30, 30)
    g[:, :, 10, :] = 1
    prob = (g * 0.9 + 0.05).requires_grad_()
    module = TopoLoss(patch_size=15, patches_per_image=5)
    loss = module(prob, g)
    loss.backward()
    assert float(loss.detach()) == 0.0 and module.last["used"] == 0
    assert torch.count_nonzero(prob.grad) == 0


def test_logits_are_refused_loudly():
    logits = torch.randn(1, 1, 20, 20) * 5
    with pytest.raises(ValueError, match="logits"):
        TopoLoss()(logits, torch.zeros(1, 1, 20, 20))
    with pytest.raises(ValueError, match="logits"):
        topo_loss(logits[0, 0], np.zeros((20, 20)))
    with pytest.raises(ValueError, match="NaN"):
        topo_loss(torch.full((4, 4), float("nan")), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="shape"):
        topo_loss(torch.rand(4, 4), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="target shape"):
        TopoLoss()(torch.rand(1, 1, 8, 8), torch.zeros(1, 1, 8, 9))
    with pytest.raises(TypeError):
        topo_loss(np.zeros((4, 4)), np.zeros((4, 4)))


def test_float32_probabilities_from_a_network():
    net = torch.nn.Conv2d(1, 1, 3, padding=1)
    x = torch.rand(2, 1, 24, 24)
    g = (torch.rand(2, 1, 24, 24) > 0.7).float()
    loss = TopoLoss(patch_size=12, patches_per_image=3, seed=1)(torch.sigmoid(net(x)), g)
    loss.backward()
    assert net.weight.grad is not None and torch.isfinite(net.weight.grad).all()


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_patch_without_ground_truth_structure_pushes_every_extra_dot_away(seed):
    # framed, as in training: the ground truth's only dots are the frame's
    # component and the hole it encloses; every other dot of f goes to the diagonal
    f0 = np.random.default_rng(seed).random((12, 12))
    g = np.zeros((12, 12), bool)  # nothing to segment here
    f, loss = descend(f0, g, True, "paper", steps=1000)  # pairings shift: some need >200
    assert loss < 1e-18
    assert betti_numbers(f >= 0.5, True) == betti_numbers(g, True) == (1, 1)


# ------------------------------------------------ inputs that used to be silently wrong


def test_lam_must_be_a_finite_non_negative_number():
    for lam in (float("nan"), float("inf"), -0.1):
        with pytest.raises(ValueError, match="lam"):
            TopoLoss(lam=lam)
    assert TopoLoss(lam=np.float32(0.5)).lam == 0.5
    with pytest.raises(ValueError, match="lam"):
        TopoLoss(lam="a lot")


def test_nan_in_the_ground_truth_is_refused_not_background():
    g = np.zeros((8, 8))
    g[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        topo_loss(torch.rand(8, 8), g)
    with pytest.raises(ValueError, match="NaN"):
        TopoLoss()(torch.rand(1, 1, 8, 8), torch.tensor(g)[None, None])


def test_numpy_and_bool_targets_work_like_tensors():
    rng = np.random.default_rng(2)
    prob = torch.rand(2, 1, 20, 20, generator=torch.Generator().manual_seed(2))
    g = random_mask(rng, (2, 1, 20, 20))
    want = float(TopoLoss(patch_size=9, seed=4)(prob, torch.tensor(g, dtype=torch.float32)))
    assert float(TopoLoss(patch_size=9, seed=4)(prob, g)) == want  # numpy bool
    assert float(TopoLoss(patch_size=9, seed=4)(prob, g.astype(np.uint8))) == want
    assert float(TopoLoss(patch_size=9, seed=4)(prob, torch.tensor(g))) == want  # bool tensor
    with pytest.raises(TypeError, match="target"):
        TopoLoss()(prob, "not an array")


def test_empty_inputs_give_a_clear_error_or_zero():
    with pytest.raises(ValueError, match="empty"):
        topo_loss(torch.zeros(0, 0), np.zeros((0, 0)))
    with pytest.raises(ValueError, match="empty"):
        TopoLoss()(torch.zeros(2, 1, 0, 5), torch.zeros(2, 1, 0, 5))
    # an empty batch (the last, short batch of a loader) adds nothing, with a graph
    prob = torch.zeros(0, 1, 16, 16, requires_grad=True)
    module = TopoLoss()
    loss = module(prob, torch.zeros(0, 1, 16, 16))
    loss.backward()
    assert float(loss.detach()) == 0.0 and loss.ndim == 0 and module.last["patches"] == 0
    assert prob.grad is not None and prob.grad.shape == prob.shape


def test_float_rounding_above_one_is_tolerated_and_clipped():
    # sigmoid and friends can return 1 + 1 ulp in float32
    f = torch.full((6, 6), 0.2)
    f[1:5, 1:5] = torch.tensor(1 + 1.2e-7, dtype=torch.float32)
    assert float(f.max()) > 1.0
    g = f.numpy() > 0.5
    clipped = f.clamp(0, 1)
    assert float(topo_loss(f, g)) == pytest.approx(float(topo_loss(clipped, g)), abs=1e-6)
    assert float(f.max()) > 1.0  # clipped for the pairing only, never in the caller's tensor
    module, ref = TopoLoss(6, 1, skip="none"), TopoLoss(6, 1, skip="none")
    module(f[None, None], torch.tensor(g)[None, None])
    ref(clipped[None, None], torch.tensor(g)[None, None])
    assert module.last["raw"] == pytest.approx(ref.last["raw"], abs=1e-6)
    # a real overshoot is still refused, and its range printed readably
    over = torch.full((6, 6), 0.2)
    over[1:5, 1:5] = 1.001
    with pytest.raises(ValueError, match=r"\[0\.2, 1\.001\]"):
        topo_loss(over, g)


# ------------------------------------------------------------- any device, any dtype


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_half_precision_probabilities_pair_in_float32_and_grad_in_their_dtype(dtype):
    rng = np.random.default_rng(8)
    logits = torch.tensor(rng.normal(0, 2, (2, 1, 24, 24)), dtype=dtype, requires_grad=True)
    g = torch.tensor(random_mask(rng, (2, 1, 24, 24)), dtype=dtype)
    prob = torch.sigmoid(logits)
    module = TopoLoss(patch_size=12, patches_per_image=2, lam=0.5, seed=0, skip="none")
    loss = module(prob, g)
    assert loss.dtype == torch.float32  # summed in at least float32, never in half
    loss.backward()
    assert logits.grad.dtype == dtype and torch.isfinite(logits.grad).all()
    assert torch.count_nonzero(logits.grad) > 0
    # the same pairing as on the float32 copy of the same values
    ref_prob = prob.detach().float().requires_grad_()
    ref = TopoLoss(patch_size=12, patches_per_image=2, lam=0.5, seed=0, skip="none")(ref_prob, g)
    assert float(loss.detach()) == pytest.approx(float(ref.detach()), rel=1e-6)
    # the single-image function too
    f = prob[0, 0].detach().requires_grad_()
    out = topo_loss(f, g[0, 0])
    out.backward()
    assert out.dtype == torch.float32 and f.grad.dtype == dtype


def test_a_large_half_batch_does_not_overflow_to_nan():
    # the sum of 2**20 probabilities overflows float16 (max 65504)
    prob = torch.full((16, 1, 256, 256), 0.9, dtype=torch.float16, requires_grad=True)
    g = torch.ones(16, 1, 256, 256)
    loss = TopoLoss(patch_size=16, patches_per_image=1)(prob, g)
    assert torch.isfinite(loss)


def test_the_loss_is_gathered_on_the_inputs_device(monkeypatch):
    # 'meta' stands in for an accelerator: no data there, so the one device -> host
    # copy (the pairing's input) is supplied by the stand-in below; everything else
    # (indices, targets, the gather, the backward) must stay on the input's device
    import topoviz.loss as loss_module

    rng = np.random.default_rng(4)
    host = {
        "prob": rng.random((2, 1, 20, 20)).astype(np.float32),
        "target": random_mask(rng, (2, 1, 20, 20)).astype(np.float32),
    }
    real_copy = loss_module._host_copy

    def host_copy(t, name):
        if t.device.type == "meta":
            return host[name].copy()
        return real_copy(t, name)

    monkeypatch.setattr(loss_module, "_host_copy", host_copy)
    prob = torch.empty(2, 1, 20, 20, device="meta", requires_grad=True)
    target = torch.empty(2, 1, 20, 20, device="meta")
    module = TopoLoss(patch_size=10, patches_per_image=2, lam=0.5, seed=1, skip="none")
    loss = module(prob, target)
    assert loss.device.type == "meta" and loss.shape == ()
    loss.backward()
    assert prob.grad.device.type == "meta" and prob.grad.shape == prob.shape
    ref = TopoLoss(patch_size=10, patches_per_image=2, lam=0.5, seed=1, skip="none")
    value = ref(torch.tensor(host["prob"]), torch.tensor(host["target"]))
    assert module.last["raw"] == pytest.approx(ref.last["raw"])
    assert float(value) == pytest.approx(0.5 * module.last["raw"] / 2)
    f = torch.empty(20, 20, device="meta", requires_grad=True)
    monkeypatch.setitem(host, "f", host["prob"][0, 0])
    monkeypatch.setitem(host, "g", host["target"][0, 0])
    assert topo_loss(f, torch.empty(20, 20, device="meta")).device.type == "meta"
