"""Server-side speed of the app's pages and of live fine-tuning.

Prints two tables, all rows measured in one run:

1. every page opened with Streamlit's AppTest on the 256 x 256 sample
   ``membranes_0`` (likelihood from the first shipped checkpoint): the first run
   (cold caches, but numba already warm as in a running server) and a rerun after
   moving the threshold α, which is what a user waits for;
2. training steps per second of ``topoviz.train.fine_tune`` on that sample with a
   batch of 8 patches of 65 x 65: BCE only and BCE + λ·L_topo, U-Net base 8 (the
   Fine-tune page's untrained start) and base 16 (the shipped checkpoints), the
   forward pass in float32 and, where the CPU computes it natively, in bfloat16
   (``amp``, what the app then uses).

    python bench/bench_app.py
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from topoviz import nets  # noqa: E402
from topoviz.imageio import load_image, load_mask  # noqa: E402
from topoviz.persistence import warmup  # noqa: E402
from topoviz.train import fine_tune, native_bf16  # noqa: E402

PAGES = ["1_landscape", "2_filtration", "3_diagrams", "4_inspect", "7_classroom"]


def page_times() -> list[tuple[str, float, float | None]]:
    rows = []
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=120)
        t = time.perf_counter()
        at.run()
        first = time.perf_counter() - t
        assert not at.exception, [e.value for e in at.exception]
        sliders = [s for s in at.slider if "α" in (s.label or "")]
        rerun = None
        if sliders:
            sliders[0].set_value(0.6)
            t = time.perf_counter()
            at.run()
            rerun = time.perf_counter() - t
        rows.append((page, first, rerun))
    return rows


def steps_per_second(base: int, lam: float, steps: int = 40, amp: bool = False) -> float:
    image = load_image(ROOT / "sample_data/membranes_0.png")
    mask = load_mask(ROOT / "sample_data/membranes_0_mask.png")
    torch.manual_seed(0)
    model = nets.build("unet", base=base)
    run = fine_tune(
        model, (image[None], mask[None]), lam, steps, batch=8, patch=65, seed=0, amp=amp
    )
    for _ in range(5):  # warm-up steps: allocator, first diagrams
        next(run)
    t = time.perf_counter()
    n = sum(1 for _ in run)
    return n / (time.perf_counter() - t)


def main() -> None:
    warmup()
    torch.set_num_threads(2)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}\n"
    )
    print("| page | first run (s) | rerun after moving α (s) |")
    print("|------|---------------|--------------------------|")
    for page, first, rerun in page_times():
        again = f"{rerun:.2f}" if rerun is not None else "(no α slider)"
        print(f"| {page} | {first:.2f} | {again} |")
    # bfloat16 rows only where the CPU has it natively (elsewhere it is emulated, slower)
    print(f"\nnative bfloat16 on this CPU: {native_bf16()}")
    print("\n| net | λ | forward pass | steps / s (batch 8 × 65²) |")
    print("|-----|---|--------------|---------------------------|")
    for base in (8, 16):
        for lam in (0.0, 0.1):
            for amp in (False, True) if native_bf16() else (False,):
                rate = steps_per_second(base, lam, amp=amp)
                kind = "bfloat16" if amp else "float32"
                print(f"| U-Net base {base} | {lam} | {kind} | {rate:.1f} |")


if __name__ == "__main__":
    main()
