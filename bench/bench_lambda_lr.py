"""The λ experiments page's learning rate: does the λ = 0 control stay put?

The page fine-tunes one starting net on one image for each λ and compares the rows.
That comparison means something only if the λ = 0 row (the control: same start, seed,
crops and steps, no L_topo) stays near the start; else the rows differ by what the
one-image fine-tune did, not by λ. This runs what the page's sweep runs for each λ
(``T.new_run``, then ``T.compare``; bfloat16 where the page would use it), at three
learning rates, and
prints the false merges, splits, pinholes and Betti error of each λ, before → after.

Inputs: ISBI12 image and label 03 (held out by fold 1), the shipped
``isbi12-f1-unet-bce``, the page's defaults otherwise (40 steps, seed 0, λ 0, 0.05,
0.2, 0.5). Then the Fine-tune page's default view: the sample ``membranes_0`` from
``membranes-unet-bce``, 60 steps, λ 0 and 0.1, at the same rates.

    python bench/bench_lambda_lr.py [--image 03] [--steps 40]
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
from topoviz.imageio import load_image, load_mask  # noqa: E402
from topoviz.train import native_bf16  # noqa: E402
from topoviz.ui import training as T  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "isbi12"
NET = "isbi12-f1-unet-bce"
KEYS = ("merges", "splits", "pinholes", "betti_error")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default="03")
    parser.add_argument("--steps", type=int, default=T.DEFAULTS[T.SWEEP_STEPS])
    args = parser.parse_args()
    image = load_image(DATA / "images" / f"{args.image}.png")  # as the app reads them
    mask = load_mask(DATA / "labels" / f"{args.image}.png")
    entries = json.loads((ROOT / "models" / "manifest.json").read_text())["checkpoints"]
    entry = next(e for e in entries if e["name"] == NET)
    base, _ = checkpoints.load(ROOT / entry["file"])
    amp = native_bf16()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"ISBI12 {args.image} from {NET} (held out: {args.image in entry['held_out']}), "
        f"{args.steps} steps, seed 0, bfloat16 {'on' if amp else 'off'}"
    )
    print()
    table(base, image, mask, T.DEFAULTS[T.SWEEP_LAMS], args.steps, amp)
    print()
    print("the Fine-tune page's default view: membranes_0 from membranes-unet-bce, 60 steps")
    print()
    entry = next(e for e in entries if e["name"] == "membranes-unet-bce")
    base, _ = checkpoints.load(ROOT / entry["file"])
    sample = ROOT / "sample_data"
    image, mask = load_image(sample / "membranes_0.png"), load_mask(sample / "membranes_0_mask.png")
    table(base, image, mask, (0.0, T.DEFAULTS[T.LAM]), T.DEFAULTS[T.STEPS], amp)


def table(base, image, mask, lams, steps: int, amp: bool) -> None:
    """One row per learning rate and λ: each count before → after the fine-tune."""
    print("| lr | λ | " + " | ".join(KEYS) + " | seconds |")
    print("| --- | --- | " + " | ".join("---" for _ in KEYS) + " | --- |")
    for lr in (1e-3, 3e-4, 1e-4):
        for lam in lams:
            t0 = time.perf_counter()
            run = T.new_run(
                copy.deepcopy(base), image, mask, lam=lam, steps=steps, lr=lr, seed=0,
                preview_every=0, amp=amp,
            )  # fmt: skip
            while run.running:
                T.advance(run, 10)
            before, after = T.compare(run)
            cells = [f"{before[k]:.3g} → {after[k]:.3g}" for k in KEYS]
            seconds = time.perf_counter() - t0
            print(f"| {lr:g} | {lam:g} | " + " | ".join(cells) + f" | {seconds:.1f} |")


if __name__ == "__main__":
    main()
