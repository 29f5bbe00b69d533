"""TopoLoss and training on a CUDA device: the same numbers as on the CPU.

Skipped where torch sees no CUDA device (CI, the 2-core development machine); run on
a GPU by ``bash bench/device_check.sh``, whose output bench/README.md quotes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_scale import amp_train_args

from topoviz import checkpoints, nets
from topoviz.__main__ import main
from topoviz.inference import predict
from topoviz.loss import TopoLoss, topo_loss
from topoviz.synthetic import make_dataset
from topoviz.train import fine_tune

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device (bench/device_check.sh runs these)"
)


def _likelihood(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy membrane likelihood and its ground truth, 65 × 65."""
    images, masks = make_dataset("membranes", 1, 65, seed)
    rng = np.random.default_rng(seed)
    f = np.clip(0.8 * masks[0] + 0.1 + 0.25 * rng.standard_normal(masks[0].shape), 0, 1)
    return f.astype(np.float32), masks[0].astype(np.float32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("rule", ["paper", "betti"])
def test_topo_loss_on_cuda_equals_cpu(dtype, rule):
    f_np, g_np = _likelihood(1)
    grads, losses = {}, {}
    for device in ("cpu", "cuda"):
        f = torch.tensor(f_np, dtype=dtype, device=device, requires_grad=True)
        g = torch.tensor(g_np, device=device)
        loss = topo_loss(f, g, rule=rule)
        loss.backward()
        assert loss.device.type == device and f.grad.device.type == device
        assert f.grad.dtype == dtype
        losses[device], grads[device] = float(loss.detach()), f.grad.float().cpu().numpy()
    assert losses["cpu"] > 0
    # the pairing runs on the same float32 host copy for both devices: same pixels,
    # same targets; only the gather's arithmetic is the device's
    np.testing.assert_allclose(losses["cuda"], losses["cpu"], rtol=1e-5)
    np.testing.assert_array_equal(grads["cuda"] != 0, grads["cpu"] != 0)
    np.testing.assert_allclose(grads["cuda"], grads["cpu"], rtol=1e-2, atol=1e-6)


def test_topoloss_module_on_a_cuda_batch_equals_cpu():
    pairs = [_likelihood(s) for s in range(4)]
    f_np = np.stack([p[0] for p in pairs])[:, None]
    g_np = np.stack([p[1] for p in pairs])[:, None]
    out = {}
    for device in ("cpu", "cuda"):
        prob = torch.tensor(f_np, device=device, requires_grad=True)
        module = TopoLoss(patch_size=33, patches_per_image=3, lam=0.5, seed=7)
        loss = module(prob, torch.tensor(g_np, device=device))
        loss.backward()
        out[device] = (float(loss.detach()), prob.grad.cpu().numpy(), dict(module.last))
    assert out["cpu"][2] == out["cuda"][2] and out["cpu"][2]["used"] > 0
    np.testing.assert_allclose(out["cuda"][0], out["cpu"][0], rtol=1e-5)
    np.testing.assert_allclose(out["cuda"][1], out["cpu"][1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("amp", [False, True])
def test_fine_tune_on_cuda_trains_and_matches_cpu_at_the_start(amp):
    images, masks = make_dataset("membranes", 4, 48, 0)
    runs = {}
    for device in ("cpu", "cuda"):
        model = nets.build("unet", base=4, depth=2, seed=0).to(device)
        kw = dict(batch=2, patch=32, lr=1e-3, seed=0, amp=amp)
        runs[device] = [r for r in fine_tune(model, (images, masks), 0.01, 4, **kw)]
        assert next(model.parameters()).device.type == device
    cuda = runs["cuda"]
    assert all(np.isfinite(r.loss) for r in cuda) and any(r.topo > 0 for r in cuda)
    # step 1 is the same net on the same batch: the same BCE up to the device's
    # arithmetic (bf16 autocast: a few 1e-3)
    tol = 2e-2 if amp else 1e-4
    assert abs(cuda[0].bce - runs["cpu"][0].bce) < tol


def test_cli_trains_on_cuda_and_the_checkpoint_loads_on_the_cpu(tmp_path, capsys):
    out = tmp_path / "cuda.pt"
    assert main(amp_train_args(out, "cuda", steps=3)) == 0
    assert "s/step" in capsys.readouterr().err
    model, meta = checkpoints.load(out)  # map_location="cpu"
    assert meta["device"].startswith("cuda") and meta["amp"] == "bf16"
    assert next(model.parameters()).device.type == "cpu"
    image = make_dataset("membranes", 1, 48, 0)[0][0]
    p = predict(model, image)
    assert p.shape == image.shape and np.isfinite(p).all()
