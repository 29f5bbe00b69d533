"""Tiled ``predict`` against the whole image, before and after session 22's blending.

An image larger than ``predict``'s tile (512) is cut into tiles whose predictions are
blended where they overlap. A tile's prediction is wrong near its edge, where the
net's receptive field reaches into zero padding. The old blending (re-created below)
weighted each tile by a ramp rising from its very edge over a fixed 32 px, so some
of that edge was kept: a researcher saw lines in f near rows and columns 488 of a
600² upload. The new one leaves the third of each shared stretch nearest a tile's
edge to its neighbour and blends over the middle third, with tiles overlapping by
128 px instead of 32.

For each shipped net and input, the table gives the largest and the mean absolute
difference between the tiled f and the f of one forward pass over the whole image
(``tile`` larger than the image), and the time of each. Inputs: a 1000² mosaic of
ISBI12 images 00-03 (cropped), a 1000² synthetic membrane image (seed 3), a 600²
crop of the mosaic.

    python bench/bench_tiling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz import checkpoints, inference  # noqa: E402
from topoviz.imageio import load_image  # noqa: E402
from topoviz.synthetic import membranes  # noqa: E402

ISBI = ROOT.parent / "shared" / "data" / "isbi12" / "images"
NETS = ("isbi12_f1_unet_bce", "membranes_unet_bce", "crackforest_f1_unet_bce")


def ramp_before(n: int, overlap: int, at_start: bool, at_end: bool) -> np.ndarray:
    """The blending weight as it was (efd9742): a rise over ``overlap`` px from the
    tile's inner edges, full weight on the image border."""
    w = np.ones(n)
    if overlap > 0:
        rise = (np.arange(min(overlap, n)) + 0.5) / overlap
        if not at_start:
            w[: len(rise)] = np.minimum(w[: len(rise)], rise)
        if not at_end:
            w[n - len(rise) :] = np.minimum(w[n - len(rise) :], rise[::-1])
    return w


def predict_before(model, image: np.ndarray) -> np.ndarray:
    """``predict`` with the old weights and the old default overlap (32): the new
    code's loop, with ``_ramp`` and ``_shared`` swapped for the old ones."""
    spans_of = {}

    def spans(n, tile, overlap, grid):
        out = inference_spans(n, tile, overlap, grid)
        spans_of[id(out)] = (n, out)
        return out

    def shared(sp, k):  # hand the old ramp what it took: the overlap and the borders
        n = spans_of[id(sp)][0]
        return 32, sp[k][0] == 0, sp[k][1] == n

    with (
        mock.patch.object(inference, "_spans", spans),
        mock.patch.object(inference, "_shared", shared),
        mock.patch.object(inference, "_ramp", ramp_before),
    ):
        return inference.predict(model, image, overlap=32)


inference_spans = inference._spans


def inputs() -> dict[str, np.ndarray]:
    out = {}
    files = sorted(ISBI.glob("*.png"))[:4]
    if len(files) == 4:
        ims = [load_image(f) for f in files]
        mosaic = np.block([[ims[0], ims[1]], [ims[2], ims[3]]])
        out["ISBI12 mosaic 1000²"] = mosaic[:1000, :1000]
        out["ISBI12 mosaic 600²"] = mosaic[:600, :600]
    else:
        print(f"(no ISBI12 images under {ISBI}: its rows are left out)")
    out["synthetic membranes 1000²"] = membranes((1000, 1000), 3)[0]
    return out


def timed(fn, repeats: int) -> tuple[np.ndarray, float]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(f"median of {args.repeats} runs\n")
    print(
        "| input | net | tiles before / after | before: max / mean | after: max / mean "
        "| before (s) | after (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, image in inputs().items():
        for net_name in NETS:
            net, _ = checkpoints.load(ROOT / "models" / f"{net_name}.pt")
            whole = inference.predict(net, image, tile=2048)
            old, t_old = timed(lambda n=net, x=image: predict_before(n, x), args.repeats)
            new, t_new = timed(lambda n=net, x=image: inference.predict(n, x), args.repeats)
            d_old, d_new = np.abs(old - whole), np.abs(new - whole)
            side = image.shape[0] + 32  # the mirrored margin, 16 px a side
            n = [len(inference_spans(side, 512, o, net.pooling_grid)) ** 2 for o in (32, 128)]
            print(
                f"| {name} | {net_name} | {n[0]} / {n[1]} | "
                f"{d_old.max():.3f} / {d_old.mean():.5f} | "
                f"{d_new.max():.1e} / {d_new.mean():.1e} | {t_old:.2f} | {t_new:.2f} |"
            )


if __name__ == "__main__":
    main()
