"""Training beyond one CPU process: --device, --amp, torchrun DDP, examples/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from topoviz import checkpoints, nets
from topoviz.__main__ import _train_device, main
from topoviz.inference import predict
from topoviz.synthetic import make_dataset
from topoviz.train import fine_tune

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parent.parent
DATA = "synthetic:membranes?n=4&size=48&seed=0"
LINE = re.compile(r"\[(\S+)\] step\s+(\d+)/\d+\s+bce ([\d.]+)\s+topo ([\d.]+)\s+loss ([\d.]+)")


def _curve(text: str) -> list[tuple[str, int, float, float, float]]:
    return [(m[1], int(m[2]), float(m[3]), float(m[4]), float(m[5])) for m in LINE.finditer(text)]


def test_device_choice(monkeypatch):
    assert _train_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _train_device("auto") == torch.device("cpu")
    with pytest.raises(SystemExit, match="no CUDA"):
        _train_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")  # torchrun's rank on this node picks the GPU
    assert _train_device("auto") == torch.device("cuda", 1)


def amp_train_args(out: Path, device: str, steps: int = 2) -> list[str]:
    """``train`` of a tiny U-Net on ``DATA`` with ``--amp`` on ``device`` (also used by
    tests/test_cuda.py)."""
    args = ["train", "--data", DATA, "--fold", "all", "--arch", "unet", "--base", "4"]
    args += ["--steps", str(steps), "--topo-steps", str(steps), "--lam", "0.01"]
    args += ["--patch", "32", "--batch", "2", "--log-every", "1", "--device", device]
    return [*args, "--amp", "--out", str(out)]


def test_amp_trains_in_bf16_autocast_on_cpu_and_is_recorded(tmp_path, capsys):
    out = tmp_path / "amp.pt"
    assert main(amp_train_args(out, "cpu")) == 0
    curve = _curve(capsys.readouterr().err)
    assert len(curve) == 4 and all(np.isfinite(c[4]) for c in curve)
    model, meta = checkpoints.load(out)
    assert meta["device"] == "cpu" and meta["amp"] == "bf16" and meta["world_size"] == 1
    assert next(model.parameters()).dtype == torch.float32  # autocast, not a bf16 model


def test_amp_forward_runs_in_bfloat16():
    seen = []
    model = nets.build("unet", base=4, depth=2, seed=0)
    model.head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    images, masks = make_dataset("membranes", 2, 32, 0)
    reports = list(fine_tune(model, (images, masks), 0.01, 1, batch=2, patch=32, amp=True))
    assert seen == [torch.bfloat16] and np.isfinite(reports[0].loss)
    seen.clear()
    list(fine_tune(model, (images, masks), 0.01, 1, batch=2, patch=32))
    assert seen == [torch.float32]


def test_parts_must_divide_the_batch():
    images, masks = make_dataset("membranes", 2, 32, 0)
    model = nets.build("unet", base=4, depth=2, seed=0)
    with pytest.raises(ValueError, match="multiple of parts"):
        next(fine_tune(model, (images, masks), 0.0, 1, batch=3, patch=32, parts=2))


def test_parts_1_is_the_plain_run():
    images, masks = make_dataset("membranes", 2, 32, 0)
    runs = []
    for kw in ({}, {"parts": 1}):
        model = nets.build("sixlayer", seed=0)
        runs.append(
            [r.loss for r in fine_tune(model, (images, masks), 0.01, 2, batch=2, patch=32, **kw)]
        )
    assert runs[0] == runs[1]


@pytest.mark.slow
def test_torchrun_two_ranks_match_one_process_with_the_combined_batch(tmp_path, capsys):
    # SixLayerNet has no BatchNorm, so 2 ranks x 2 crops are the same computation as
    # 1 process x 4 crops up to float rounding (gradients averaged across ranks)
    common = ["--data", DATA, "--fold", "all", "--arch", "sixlayer", "--steps", "3"]
    common += ["--topo-steps", "2", "--lam", "0.01", "--patch", "32", "--log-every", "1"]
    common += ["--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + ["-m", "topoviz", "train", *common, "--batch", "2", "--out", str(tmp_path / "ddp.pt")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ddp = _curve(run.stderr)
    assert len(ddp) == 5  # one voice: rank 1 does not log
    assert (
        main(["train", *common, "--batch", "4", "--parts", "2", "--out", str(tmp_path / "one.pt")])
        == 0
    )
    one = _curve(capsys.readouterr().err)
    assert [c[:2] for c in ddp] == [c[:2] for c in one]
    # BCE (combined batch, averaged over ranks) to the printed digits; the loss within
    # 2 %: L_topo's pairing jumps where float rounding reorders near-equal values
    np.testing.assert_allclose([c[2] for c in ddp], [c[2] for c in one], atol=2e-4)
    np.testing.assert_allclose([c[4] for c in ddp], [c[4] for c in one], rtol=0.02)
    a, meta = checkpoints.load(tmp_path / "ddp.pt")
    b, _ = checkpoints.load(tmp_path / "one.pt")
    assert meta["world_size"] == 2 and meta["global_batch"] == 4 and meta["batch"] == 2
    # Adam turns a tiny gradient into a step of about lr = 1e-3 whatever its size,
    # so a weight whose gradient is rounding noise may differ by that much: compare
    # the weights on average, and what the nets predict
    pairs = zip(a.parameters(), b.parameters(), strict=True)
    diff = torch.cat([(p - q).detach().abs().ravel() for p, q in pairs])
    assert float(diff.mean()) < 2e-5 and float(diff.max()) < 3e-3
    image = make_dataset("membranes", 1, 48, 0)[0][0]
    np.testing.assert_allclose(predict(a, image), predict(b, image), atol=1e-2)


def test_the_example_training_loop_runs(tmp_path):
    script = ROOT / "examples" / "own_training_loop.py"
    args = ["--steps", "2", "--size", "80", "--n", "2", "--base", "4", "--log-every", "1"]
    run = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,  # the script finds topoviz from its own place
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    topo = re.findall(r"L_topo (-|[\d.]+)\n", run.stdout)
    # BCE (the start), then the λ = 0 control (L_topo not computed: "-", not a 0.000
    # that reads as perfect topology) and the TopoLoss twin from it
    assert len(topo) == 6 and topo[:4] == ["-"] * 4 and float(topo[-1]) > 0
    assert len(re.findall(r"Betti error \d+\.\d+\n", run.stdout)) == 3  # the three nets
    assert len(re.findall(r"Betti error \d+\.\d+ \(no net\)", run.stdout)) == 2  # for scale
