"""Where the time of one TopoLoss call goes, and what pairing the batch at once saves.

A batch of B crops of 65 × 65 (synthetic membranes; f = the mask blurred, σ 1.5, plus
noise 0.15), one framed patch per crop, dimension 1, the paper's rule: the call of
``TopoLoss`` as it is (dots of the whole batch matched in one sort,
``loss._corner_targets``), and as it was before 2026-12-04, the same diagrams matched
patch by patch (``match`` and ``critical_targets`` per patch), alternating, medians of
``--repeat``. Then the parts of the call: the sweeps of f and of g and the batched
targets. Both ways give the same loss (tests/test_loss.py holds them equal).

    python bench/bench_topoloss_call.py [--threads 1] [--batches 8 64] [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_patch_call(prob, target, module) -> float:
    """The call as it was: the same sampling and sweeps, matched patch by patch."""
    import torch

    from topoviz.loss import critical_targets
    from topoviz.matching import match
    from topoviz.persistence import diagrams

    f_all = prob.detach().numpy()[:, 0]
    g_all = target.numpy()[:, 0]
    b, h, w = f_all.shape
    corners = module.sample_corners(b, h, w)
    fp = np.stack([f_all[i, r : r + 65, c : c + 65] for i, r, c in corners])
    gp = np.stack([g_all[i, r : r + 65, c : c + 65] for i, r, c in corners])
    dgms_f = diagrams(fp, frame=True, dims=(1,))
    dgms_g = diagrams(gp, frame=True, dims=(1,))
    flat, tgt, constant = [], [], 0.0
    for (i, r, c), d, e in zip(corners, dgms_f, dgms_g, strict=True):
        ct = critical_targets(d, match(d, e, "paper"))
        flat.append(i * h * w + (ct.pixel[:, 0] + r) * w + (ct.pixel[:, 1] + c))
        tgt.append(ct.target)
        constant += ct.constant
    idx = torch.as_tensor(np.concatenate(flat))
    targets = torch.as_tensor(np.concatenate(tgt), dtype=torch.float32)
    raw = ((prob.reshape(-1)[idx] - targets) ** 2).sum() + constant
    return float(raw.detach())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="numba and torch threads")
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--repeat", type=int, default=40)
    args = ap.parse_args()

    import numba
    import torch
    from scipy.ndimage import gaussian_filter

    from topoviz.data import sample_batch
    from topoviz.loss import TopoLoss, _corner_targets
    from topoviz.persistence import batch_dots, warmup
    from topoviz.synthetic import make_dataset

    args.threads = min(args.threads, numba.config.NUMBA_NUM_THREADS)  # what this machine has
    torch.set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    warmup()
    images, masks = make_dataset("membranes", 8, 256, 0)
    load0 = os.getloadavg()[0]
    rows = []
    for b in args.batches:
        _, y = sample_batch(images, masks, b, 65, np.random.default_rng(0))
        noise = 0.15 * np.random.default_rng(1).standard_normal(y.shape)
        f = np.clip(gaussian_filter(y.numpy(), (0, 0, 1.5, 1.5)) + noise, 0, 1)
        prob = torch.tensor(f.astype(np.float32), requires_grad=True)
        batched = TopoLoss(lam=1.0, patches_per_image=1, seed=0)
        looped = TopoLoss(lam=1.0, patches_per_image=1, seed=0)  # its sampler only
        times = {"batched": [], "per patch": []}
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            batched(prob, y)
            times["batched"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            raw = per_patch_call(prob, y, looped)
            times["per patch"].append(time.perf_counter() - t0)
            if abs(raw - batched.last["raw"]) > 1e-6 * max(1.0, raw):
                raise SystemExit(f"the two ways disagree: {raw} != {batched.last['raw']}")
        fp = f[:, 0].astype(np.float32)
        gp = y.numpy()[:, 0].astype(np.float64)
        dots_f = batch_dots(fp, frame=True, dims=(1,))
        dots_g = batch_dots(gp, frame=True, dims=(1,))
        parts = {
            "sweeps of f": lambda fp=fp: batch_dots(fp, frame=True, dims=(1,)),
            "sweeps of g": lambda gp=gp: batch_dots(gp, frame=True, dims=(1,)),
            "batched targets": lambda a=dots_f, c=dots_g: _corner_targets(a, c, "paper"),
        }
        part_ms = {}
        for name, fn in parts.items():
            ts = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            part_ms[name] = 1e3 * float(np.median(ts))
        ms = {k: 1e3 * float(np.median(v)) for k, v in times.items()}
        rows.append((b, ms, part_ms, len(dots_f[1][0])))
    load1 = os.getloadavg()[0]

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, numba {numba.__version__}, "
        f"{args.threads} thread(s); load average {load0:.1f} at start, {load1:.1f} at end"
    )
    print(f"median of {args.repeat} calls each, the two ways alternating\n")
    print(
        "| batch | dots of f | call, per patch (ms) | call, batched (ms) | saved | "
        "sweeps of f | sweeps of g | batched targets |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for b, ms, part, dots in rows:
        saved = 100 * (ms["per patch"] - ms["batched"]) / ms["per patch"]
        print(
            f"| {b} | {dots} | {ms['per patch']:.2f} | {ms['batched']:.2f} | {saved:.0f} % | "
            f"{part['sweeps of f']:.2f} | {part['sweeps of g']:.2f} | "
            f"{part['batched targets']:.2f} |"
        )


if __name__ == "__main__":
    main()
