"""The Lesson's live fine-tune (step 7): does TopoLoss repair the merge that BCE alone
leaves, or would the λ = 0 control have repaired it too?

Runs what the Lesson runs (``T.new_run`` from ``membranes-unet-bce`` on the sample
``membranes_0``, batch 8, the forward pass in bfloat16 where the CPU computes it
natively, as the page does) for several seeds and step counts, with the Lesson's λ and
with λ = 0 (the same start, seed, crops and steps), at the Lesson's learning rate, and
prints the false merges after each run (the sample's start has one), its splits and
pinholes, and the Betti error (``T.compare``'s default, 200 framed 65² patches of seed
0; the page scores with the net's own protocol, 400 patches for membranes-unet-bce, so
its Betti errors differ a little from these).

    python bench/bench_lesson.py [--seeds 5] [--steps 10 20 30] [--lr 1e-4]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz import checkpoints  # noqa: E402
from topoviz.calibration import calibration_set  # noqa: E402
from topoviz.imageio import load_image, load_mask  # noqa: E402
from topoviz.lesson import BASELINE, LIVE, SAMPLE  # noqa: E402
from topoviz.metrics import region_errors  # noqa: E402
from topoviz.train import native_bf16  # noqa: E402
from topoviz.ui import training as T  # noqa: E402


def run(start, image, mask, lam: float, steps: int, lr: float, seed: int) -> tuple:
    """``(before, after)``: the measures of the start and of a copy of ``start`` (the
    loaded net) after the run."""
    r = T.new_run(copy.deepcopy(start), image, mask, lam=lam, steps=steps, lr=lr, seed=seed,
                  batch=LIVE["batch"], preview_every=0)  # fmt: skip
    while r.running:
        T.advance(r, 60.0)
    return T.compare(r)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20, 30])
    parser.add_argument("--lr", type=float, default=LIVE["lr"])
    args = parser.parse_args()
    entries = {
        e["name"]: e for e in json.loads((ROOT / "models/manifest.json").read_text())["checkpoints"]
    }
    net, _ = checkpoints.load(ROOT / entries[BASELINE]["file"])  # once; each run copies it
    image = load_image(ROOT / "sample_data" / f"{SAMPLE}.png")
    mask = load_mask(ROOT / "sample_data" / f"{SAMPLE}_mask.png")
    print(f"machine: {platform.machine()}, bf16 forward pass: {native_bf16()}")
    # what the count sees, from the ground truth alone: a moved edge is no merge, each
    # break cut into a membrane one
    for name, (seg, made) in calibration_set(mask, n=2, structure="membranes").items():
        merges = region_errors(seg, mask, "membranes").merges
        print(f"calibration: {name} ({made} made): {merges} false merges")
    print(
        f"{SAMPLE} from {BASELINE}, batch {LIVE['batch']}, lr {args.lr:g}, λ {LIVE['lam']:g} vs 0"
    )
    print()
    print(
        "| steps | seed | λ merges | λ = 0 merges | λ splits / pinholes "
        "| λ = 0 splits / pinholes | λ Betti error | λ = 0 Betti error |"
    )
    print("|---|---|---|---|---|---|---|---|")
    repaired = {LIVE["lam"]: 0, 0.0: 0}
    t0 = time.perf_counter()
    for steps in args.steps:
        for seed in range(args.seeds):
            start, a = run(net, image, mask, LIVE["lam"], steps, args.lr, seed)
            _, c = run(net, image, mask, 0.0, steps, args.lr, seed)
            repaired[LIVE["lam"]] += a["merges"] == 0
            repaired[0.0] += c["merges"] == 0
            print(f"| {steps} | {seed} | {a['merges']:.0f} | {c['merges']:.0f} | "
                  f"{a['splits']:.0f} / {a['pinholes']:.0f} | "
                  f"{c['splits']:.0f} / {c['pinholes']:.0f} | "
                  f"{a['betti_error']:.3f} | {c['betti_error']:.3f} |", flush=True)  # fmt: skip
    n = args.seeds * len(args.steps)
    print()
    n_start = round(start["merges"])
    print(f"start ({BASELINE}): {n_start} false merge{'' if n_start == 1 else 's'}")
    print(f"merge repaired: λ = {LIVE['lam']:g} in {repaired[LIVE['lam']]} of {n} runs, "
          f"λ = 0 in {repaired[0.0]} of {n} ({time.perf_counter() - t0:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
