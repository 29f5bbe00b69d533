"""Resident memory over many runs of a heavy page: does it plateau?

Opens a page (default Inspect) with Streamlit's AppTest on an uploaded 1500 × 1500
image and its mask (``topoviz.synthetic.membranes``; worked on as a 1024² crop, the
working resolution), then reruns it ``--runs``
times, each time with the crop moved by 16 pixels: every run is a new input
(a new f, diagram, matching and figures), as a user panning over a large photo
makes. Prints the resident set size (RSS) after each run. Every cache has
``max_entries``, so RSS should stop growing once the caches are full.

    python bench/bench_memory.py [--runs 40] [--page 4_inspect]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from topoviz.imageio import png_bytes  # noqa: E402
from topoviz.synthetic import membranes  # noqa: E402
from topoviz.ui import state as S  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--page", default="4_inspect")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    image, mask = membranes(1500, 0)
    at = AppTest.from_file(str(ROOT / f"pages/{args.page}.py"), default_timeout=600)
    at.session_state[S.SOURCE] = "upload"
    at.session_state[S.LIKELIHOOD] = "image"
    at.run()
    uploaders = at.sidebar.get("file_uploader")
    up = next(u for u in uploaders if u.label.startswith("Image"))
    up.set_value(("big.png", png_bytes(image), "image/png"))
    up_mask = next(u for u in uploaders if u.label.startswith("Ground-truth"))
    up_mask.set_value(("big_mask.png", png_bytes(mask), "image/png"))
    t0 = time.perf_counter()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; page {args.page}")
    print(f"idle after the first run: {rss_mb():.0f} MB ({time.perf_counter() - t0:.1f} s)")
    print("| run | crop column | RSS MB | s |")
    print("|-----|-------------|--------|---|")
    key = "_fit_c:big.png:1500x1500"  # topoviz.ui.working.choose: the crop's first column
    rows = []
    for run in range(1, args.runs + 1):
        t0 = time.perf_counter()
        at.sidebar.slider(key=key).set_value(16 * run).run()
        assert not at.exception, [e.value for e in at.exception]
        gc.collect()
        rows.append(rss_mb())
        print(f"| {run:3d} | {16 * run:11d} | {rows[-1]:6.0f} | {time.perf_counter() - t0:.1f} |")
    half = len(rows) // 2
    print(
        f"RSS: max of the first half {max(rows[:half]):.0f} MB, of the second half "
        f"{max(rows[half:]):.0f} MB; last {rows[-1]:.0f} MB"
    )


if __name__ == "__main__":
    main()
