"""What Inspect's Betti error costs since it is drawn as ``evaluate`` draws it.

Session 21 moved Inspect (and Fine-tune live, λ experiments, the Lesson) from 100
Betti-error patches to the tables' 200, and added the number's sampling noise (one
more pass over the same patches, two for a comparison of nets). This times the parts
on a real held-out image, in one run:

- ``metrics.evaluate_all`` with 100 patches (before) and 200 (now): every number of
  Inspect's first table, the region counts and hole counts included, and (now) the
  Betti error's noise from the same pass over the patches;
- ``metrics.betti_error_noise`` for one net (a pass of its own: what the first
  version of the page added) and for the paired difference of two nets (``other``,
  what a comparison adds), 200 patches each.

Inputs: ISBI12 image 13 and its label (held out by fold 2), the likelihoods of the
shipped ``isbi12-f2-unet-bce`` and ``isbi12-f2-unet-topo``.

    python bench/bench_betti_protocol.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz import checkpoints, metrics  # noqa: E402
from topoviz.imageio import load_image, load_mask  # noqa: E402
from topoviz.inference import predict  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "isbi12"


def median_s(fn, repeats: int) -> float:
    fn()  # warm: numba's compile or cache load is not the protocol's cost
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    image = load_image(DATA / "images" / "13.png")
    gt = load_mask(DATA / "labels" / "13.png", shape=image.shape, invert_polarity=False)
    f, f2 = (
        predict(checkpoints.load(ROOT / "models" / f"isbi12_f2_unet_{k}.pt")[0], image)
        for k in ("bce", "topo")
    )
    seed = 3  # image 13's place among fold 2's held-out images (10-19)
    parts = [
        ("evaluate_all, 100 patches (before)",
         lambda: metrics.evaluate_all(f, gt, n_patches=100, seed=seed)),
        ("evaluate_all, 200 patches (now)",
         lambda: metrics.evaluate_all(f, gt, n_patches=200, seed=seed)),
        ("betti_error_noise alone, one net, 200 patches",
         lambda: metrics.betti_error_noise(f, gt, n_patches=200, seed=seed)),
        ("betti_error_noise, two nets paired, 200 patches",
         lambda: metrics.betti_error_noise(f, gt, n_patches=200, seed=seed, other=f2)),
    ]  # fmt: skip
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"input: ISBI12 image 13 ({image.shape[0]}×{image.shape[1]}), isbi12-f2-unet-bce / -topo")
    print(f"median of {args.repeats} runs after one warm-up; load average {os.getloadavg()[0]:.2f}")
    print()
    print("| part | seconds |")
    print("|---|---|")
    got = {}
    for name, fn in parts:
        got[name] = median_s(fn, args.repeats)
        print(f"| {name} | {got[name]:.3f} |")
    before, now = got[parts[0][0]], got[parts[1][0]]
    print()
    print(
        f"Inspect's first table: {before:.3f} s before, {now:.3f} s now (200 patches, "
        f"the noise from the same pass), {now / before:.2f}×; a comparison of two nets "
        f"adds {got[parts[3][0]]:.3f} s for the paired noise (load {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
