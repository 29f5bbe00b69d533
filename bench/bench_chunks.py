"""The Fine-tune page's run without a browser: the rate the page could show at best,
and how much the same run's rate moves from one run to the next on this machine.

Runs the page's default run (``topoviz.ui.training``: the first shipped checkpoint,
60 steps, batch 8, λ 0.1, a preview every 10 steps, the moving 65² diagram, bfloat16
where the CPU computes it natively) chunk by chunk as the page does, several times,
some back to back and some after a pause with nothing running. Prints steps per
second and the steps of each 2-second chunk.

    python bench/bench_chunks.py                  # pauses 0 0 0 20 0 0 20
    python bench/bench_chunks.py --pauses 0 30 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pauses", type=float, nargs="+", default=[0, 0, 0, 20, 0, 0, 20])
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from topoviz.imageio import load_image, load_mask
    from topoviz.ui import training as T

    samples = ROOT / "sample_data"
    item = json.loads((samples / "index.json").read_text(encoding="utf-8"))[0]
    image = load_image(samples / item["image"])
    mask = load_mask(samples / item["mask"], shape=image.shape)
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    first = manifest["checkpoints"][0]["name"]  # the page's default start
    warm = T.warm_bf16()
    if warm is not None:
        warm.join()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; sample {item['name']}, start "
        f"{first}, the page's defaults; load average {os.getloadavg()[0]:.1f}"
    )
    print("\n| run | idle before (s) | steps/s | steps per chunk |\n|---|---|---|---|")
    for i, pause in enumerate(args.pauses, start=1):
        time.sleep(pause)
        d = T.DEFAULTS
        run = T.new_run(
            T.start_model(first, d[T.SEED]), image, mask, lam=d[T.LAM], steps=d[T.STEPS],
            lr=d[T.LR], seed=d[T.SEED], batch=d[T.BATCH], preview_every=d[T.PREVIEW_EVERY],
            window=d[T.WINDOW],
        )  # fmt: skip
        chunks = []
        t0 = time.perf_counter()
        while run.running:
            chunks.append(T.advance(run))
        rate = run.done_steps / (time.perf_counter() - t0)
        print(f"| {i} | {pause:g} | {rate:.2f} | {', '.join(map(str, chunks))} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
