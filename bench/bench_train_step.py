"""What TopoLoss adds to a training step: BCE-only against BCE + λ·L_topo.

The shipped U-Net (``models/membranes_unet_bce.pt``, base 16), a batch of 8 crops of
65 × 65 from the synthetic membranes, Adam; one step = forward, loss, backward,
update. The two kinds of step alternate (so load from other processes hits both
alike) and each row is the median over ``--steps`` steps after ``--warmup``.

    python bench/bench_train_step.py [--device cpu|cuda] [--amp] [--threads 1] [--batch 8]

On a GPU the pairing still runs on the CPU (``--threads`` numba threads); the
table says what it costs there. ``--batch`` crops per step (8 in issue 15's row).
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


def measure(
    device: str = "cpu",
    amp: bool = False,
    threads: int = 1,
    steps: int = 30,
    warmup_steps: int = 3,
    lam: float = 0.01,
    batch: int = 8,
) -> dict:
    """Median seconds of a BCE-only step and of a BCE + λ·L_topo step, alternating."""
    import numba
    import torch
    import torch.nn.functional as F

    from topoviz import checkpoints
    from topoviz.data import sample_batch
    from topoviz.loss import TopoLoss
    from topoviz.persistence import warmup
    from topoviz.synthetic import make_dataset

    torch.set_num_threads(threads)
    numba.set_num_threads(threads)
    warmup()
    dev = torch.device(device)
    model, _ = checkpoints.load(ROOT / "models" / "membranes_unet_bce.pt")
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    images, masks = make_dataset("membranes", 8, 256, 0)
    rng = np.random.default_rng(0)
    topo = TopoLoss(patch_size=65, patches_per_image=1, lam=lam, rule="paper", seed=0)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step(with_topo: bool) -> tuple[float, float]:
        x, y = sample_batch(images, masks, batch, 65, rng)
        x, y = x.to(dev), y.to(dev)
        sync()
        t0 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(x)
        logits = logits.float()
        loss = F.binary_cross_entropy_with_logits(logits, y)
        pair = 0.0
        if with_topo:
            prob = torch.sigmoid(logits)
            t1 = time.perf_counter()
            loss = loss + topo(prob, y)
            pair = time.perf_counter() - t1  # host copy, pairing, gather
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        return time.perf_counter() - t0, pair

    times: dict[bool, list[float]] = {False: [], True: []}
    pairing: list[float] = []
    used: list[float] = []
    for i in range(warmup_steps + steps):
        for with_topo in (False, True):
            seconds, pair = step(with_topo)
            if i >= warmup_steps:
                times[with_topo].append(seconds)
                if with_topo:
                    pairing.append(pair)
                    used.append(topo.last["used"])
    gpu = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "-"
    return {
        "bce": float(np.median(times[False])),
        "both": float(np.median(times[True])),
        "call": float(np.median(pairing)),
        "used": float(np.median(used)),
        "torch": torch.__version__,
        "device": f"{dev} ({gpu})",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bf16 autocast of the forward")
    ap.add_argument("--threads", type=int, default=1, help="torch and numba CPU threads")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lam", type=float, default=0.01)
    ap.add_argument("--batch", type=int, default=8, help="crops of 65 x 65 per step")
    args = ap.parse_args()

    load0 = os.getloadavg()[0]
    r = measure(args.device, args.amp, args.threads, args.steps, args.warmup, args.lam, args.batch)
    load1 = os.getloadavg()[0]
    bce, both = r["bce"], r["both"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {r['torch']}, "
        f"device {r['device']}, amp {'bf16' if args.amp else 'off'}, {args.threads} thread(s)"
    )
    print(f"load average (1 min) {load0:.1f} at start, {load1:.1f} at end")
    print(
        f"U-Net base 16 (membranes_unet_bce.pt), batch {args.batch} x 65², "
        f"median of {args.steps} steps\n"
    )
    print("| step | ms (median) | of which TopoLoss call |")
    print("|------|-------------|------------------------|")
    print(f"| BCE only | {1e3 * bce:.1f} | - |")
    print(f"| BCE + λ·L_topo (paper rule) | {1e3 * both:.1f} | {1e3 * r['call']:.1f} |")
    print(
        f"\npatches in L_topo per step (median of {args.batch}; the others had nothing to fix): "
        f"{r['used']:.0f}"
    )
    print(f"TopoLoss adds {100 * (both - bce) / bce:.0f} % to the BCE-only step")


if __name__ == "__main__":
    main()
