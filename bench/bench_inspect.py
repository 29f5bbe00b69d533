"""What Inspect computes for an upload, before and after session 19's two fixes.

A researcher's upload (a 6000² image shown at 1024², a prediction of noise from a net
on the wrong data) took minutes to open Inspect. Two parts were to blame, and each is
timed here against the code it replaced, re-created below, on the same inputs in one
run:

- ``topology_errors`` (the map's masks): its spurious / missing masks by a loop over
  every component (``g[fp == i].any()``, one pass over the image per label) against
  one ``bincount``;
- the calibration rows (``calibration_set``): each injected break dilated a single
  pixel by a disk (``ndimage.binary_dilation``) against setting the disk directly.

Inputs: ISBI12 label 02 (512², structure the minority, as ``read_mask`` gives it),
the same label with its polarity swapped (thick structure: the cells), each also
upscaled 2× to 1024², and a prediction of uniform noise (seed 0).

    python bench/bench_inspect.py [--repeats 3]
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
from PIL import Image
from skimage.measure import label

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz import calibration, metrics  # noqa: E402

LABEL = ROOT.parent / "shared" / "data" / "isbi12" / "labels" / "02.png"


def topology_errors_before(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """``topology_errors`` as it was (170b104's, for a binary prediction): the
    spurious / missing masks by a loop over the components."""
    found = metrics.region_errors(pred, gt, "membranes", min_region=50)
    fp, fg = label(pred, connectivity=1), label(gt, connectivity=1)
    spurious = [i for i in range(1, fp.max() + 1) if not gt[fp == i].any()]
    missing = [i for i in range(1, fg.max() + 1) if not pred[fg == i].any()]
    return {
        "merged": found.merged,
        "split": found.split,
        "spurious": np.isin(fp, spurious) & (fp > 0),
        "missing": np.isin(fg, missing) & (fg > 0),
        "pinholes": metrics.hole_kind_masks(pred, gt, 25)["pinholes"],
    }


_STAMP = calibration._stamp


def stamp_by_dilation(mask, rr, cc, radius, value) -> None:
    """``calibration._stamp`` as it was: every path dilated, a single pixel too (a
    point given twice is a path of two, which takes the dilation)."""
    _STAMP(mask, np.repeat(rr, 2), np.repeat(cc, 2), radius, value)


def median_s(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    grey = np.asarray(Image.open(LABEL))
    thin = grey >= 128 if (grey >= 128).mean() < 0.5 else grey < 128  # the minority
    inputs = {
        "512², membranes": thin,
        "512², thick (polarity swapped)": ~thin,
        "1024² (2× up), membranes": np.kron(thin, np.ones((2, 2), bool)),
        "1024² (2× up), thick": np.kron(~thin, np.ones((2, 2), bool)),
    }
    noise = np.random.default_rng(0).random((1024, 1024)) >= 0.5
    print(f"machine: {platform.machine()}, python {platform.python_version()}")
    print(
        f"after: median of {args.repeats} runs; before: one run (minutes on the thick "
        f"1024² calibration); load average {Path('/proc/loadavg').read_text().split()[0]} "
        "at the start"
    )
    print()
    print("| input | part | before (s) | after (s) | before / after | same output |")
    print("|---|---|---|---|---|---|")
    for name, gt in inputs.items():
        pred = noise[: gt.shape[0], : gt.shape[1]]
        t_old, old = median_s(lambda: topology_errors_before(pred, gt), 1)  # noqa: B023
        t_new, new = median_s(lambda: metrics.topology_errors(pred, gt), args.repeats)  # noqa: B023
        same = all((old[k] == new[k]).all() for k in old)
        print(
            f"| {name}, noise as prediction | topology_errors | "
            f"{t_old:.2f} | {t_new:.2f} | {t_old / t_new:.0f}× | {same} |"
        )
        run = lambda: calibration.calibration_set(gt, "membranes", n=10, seed=0)  # noqa: B023, E731
        with mock.patch.object(calibration, "_stamp", stamp_by_dilation):
            t_old, old = median_s(run, 1)
        t_new, new = median_s(run, args.repeats)
        same = all((old[k][0] == new[k][0]).all() and old[k][1] == new[k][1] for k in old)
        print(
            f"| {name} | calibration_set (n = 10) | {t_old:.2f} | {t_new:.2f} | "
            f"{t_old / t_new:.1f}× | {same} |"
        )


if __name__ == "__main__":
    main()
