"""Speed of the Betti matching rule against the paper's, per 65x65 patch.

One batch of framed 65x65 patches (ISBI12 labels as g and, as f, the label
blurred with noise, a stand-in for a network's likelihood; smooth random fields
when ../shared/data is absent). Rows, all measured in the same run:

* matching only: ``diagrams`` + ``match`` (paper) vs ``betti_matches``;
* the loss: ``TopoLoss(rule=...)`` forward + backward on the batch.

    python bench/bench_betti.py [--patches 64] [--repeat 5]
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

import torch  # noqa: E402

from topoviz.loss import TopoLoss  # noqa: E402
from topoviz.matching import betti_matches, match  # noqa: E402
from topoviz.persistence import diagrams  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "isbi12" / "labels"


def inputs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    if DATA.is_dir():
        from topoviz.imageio import load_mask

        masks = [load_mask(p) for p in sorted(DATA.glob("*.png"))[:4]]
        source = "ISBI12 labels 00-03; f = label blurred (sigma 1.5) + noise 0.12"
    else:
        masks = [gaussian_filter(rng.random((512, 512)), 3) > 0.5 for _ in range(4)]
        source = "thresholded smooth random fields (../shared/data absent)"
    fs, gs = [], []
    for _ in range(n):
        m = masks[rng.integers(len(masks))]
        r, c = rng.integers(0, m.shape[0] - 65, 2)
        g = m[r : r + 65, c : c + 65].astype(np.float64)
        f = np.clip(gaussian_filter(g, 1.5) + rng.normal(0, 0.12, g.shape), 0, 1)
        fs.append(f)
        gs.append(g)
    return np.stack(fs), np.stack(gs), source


def best_of(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    f, g, source = inputs(args.patches)
    n = len(f)

    def paper_match():
        for a, b in zip(diagrams(f), diagrams(g), strict=True):
            match(a, b, "paper")

    def betti_match_all():
        betti_matches(f, g)

    def loss(rule):
        crit = TopoLoss(patch_size=65, patches_per_image=1, rule=rule, skip="none")
        prob = torch.tensor(f[:, None], requires_grad=True)
        target = torch.tensor(g[:, None])

        def run():
            crit(prob, target).backward()

        return run

    rows = [
        ("matching", "paper: diagrams + match", paper_match),
        ("matching", "betti: betti_matches", betti_match_all),
        ("TopoLoss fwd+bwd", "rule='paper'", loss("paper")),
        ("TopoLoss fwd+bwd", "rule='betti'", loss("betti")),
    ]
    for _, _, fn in rows:  # compile / load the numba caches
        fn()
    times = {name: best_of(fn, args.repeat) / n * 1e3 for _, name, fn in rows}
    print(f"# {n} framed 65x65 patches, best of {args.repeat}; {source}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numba threads")
    print()
    print("| task             | method                    | ms / patch | vs paper |")
    print("|------------------|---------------------------|------------|----------|")
    for i, (task, name, _) in enumerate(rows):
        base = times[rows[i - i % 2][1]]
        print(f"| {task:16} | {name:25} | {times[name]:10.3f} | {times[name] / base:7.2f}x |")


if __name__ == "__main__":
    main()
