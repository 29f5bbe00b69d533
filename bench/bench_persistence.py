"""Speed of persistence diagrams: topoviz's compiled sweep against gudhi and cripser.

Prints one table, all rows measured in the same run on the same inputs:
65x65 patches (the paper's patch size, framed as in training) and whole 512x512
images. Inputs are real ISBI12 slices used as likelihoods (1 - intensity) when
../shared/data is present, else smooth random fields. Each row is the median of
``--repeat`` runs. The single-thread rows (topoviz batch and one by one, cripser,
gudhi) are taken in alternation as CPU time of the calling thread, so load from
other processes hits them alike, and the ratio columns compare only those rows;
the two-thread rows are wall time. Then the training-step row of
``bench_train_step.py`` (BCE-only against BCE + TopoLoss, one thread), unless
``--no-train-step``.

    python bench/bench_persistence.py [--patches 256] [--repeat 5] [--no-train-step]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz.persistence import diagram, diagrams, warmup  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "isbi12" / "images"


def inputs(n_patches: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], str]:
    rng = np.random.default_rng(seed)
    if DATA.is_dir():
        from topoviz.imageio import load_image

        files = sorted(DATA.glob("*.png"))[:4]
        images = [1.0 - load_image(f).astype(np.float64) for f in files]
        source = f"ISBI12 slices {', '.join(f.stem for f in files)} as f = 1 - intensity"
    else:
        from scipy.ndimage import gaussian_filter

        images = [gaussian_filter(rng.random((512, 512)), 2) for _ in range(4)]
        images = [(im - im.min()) / (im.max() - im.min()) for im in images]
        source = "smooth random fields (../shared/data absent)"
    patches = []
    for _ in range(n_patches):
        im = images[rng.integers(len(images))]
        r, c = rng.integers(0, im.shape[0] - 65, 2)
        patches.append(im[r : r + 65, c : c + 65])
    return np.stack(patches), images, source


def median_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def alternating(fns: dict, repeat: int) -> dict:
    """Median CPU seconds of each single-threaded function, run in turn ``repeat`` times.

    CPU time of this thread, not wall time: on a shared machine the time the
    thread waits for a core is not counted (its caches still suffer).
    """
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.thread_time()
            fn()
            times[k].append(time.thread_time() - t)
    return {k: float(np.median(v)) for k, v in times.items()}


@contextlib.contextmanager
def single_thread():
    """numba on one thread, and a large image's two sweeps one after the other."""
    import numba

    from topoviz import persistence

    threads, side = numba.get_num_threads(), persistence._SIDE_BY_SIDE_PIXELS
    numba.set_num_threads(1)
    persistence._SIDE_BY_SIDE_PIXELS = 1 << 62
    try:
        yield
    finally:
        numba.set_num_threads(threads)
        persistence._SIDE_BY_SIDE_PIXELS = side


def gudhi_v(f: np.ndarray, frame: bool) -> None:
    import gudhi

    F = np.pad(f, 1, constant_values=1.0) if frame else f
    cc = gudhi.CubicalComplex(vertices=1.0 - F)
    cc.compute_persistence()
    cc.vertices_of_persistence_pairs()  # critical pixels, as topoviz returns them


def numba_threads() -> int:
    import numba

    return numba.get_num_threads()


def cripser_v(f: np.ndarray, frame: bool) -> None:
    import cripser

    F = np.pad(f, 1, constant_values=1.0) if frame else f
    cripser.computePH(1.0 - F, maxdim=1, top_dim=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patches", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-train-step", action="store_true")
    ap.add_argument("--train-steps", type=int, default=30)
    args = ap.parse_args()

    t0 = time.perf_counter()
    warmup()
    compile_s = time.perf_counter() - t0
    patches, images, source = inputs(args.patches)
    n = len(patches)
    rows = []  # (task, method, ms per item, single-thread CPU time?)

    def add(task: str, method: str, seconds: float, items: int, cpu: bool = True) -> None:
        rows.append((task, method, 1e3 * seconds / items, cpu))

    try:
        import cripser  # noqa: F401

        have_cripser = True
    except ImportError:
        have_cripser = False
    load0 = os.getloadavg()[0]
    patch = "65x65 patch, framed"
    gudhi_repeat = max(1, args.repeat // 2)
    with single_thread():
        fns = {
            "batch": lambda: diagrams(patches, frame=True),
            "one": lambda: [diagram(p, frame=True) for p in patches],
        }
        if have_cripser:
            fns["c"] = lambda: [cripser_v(p, True) for p in patches]
        t = alternating(fns, args.repeat)
        g = alternating({"g": lambda: [gudhi_v(p, True) for p in patches]}, gudhi_repeat)["g"]
    add(patch, "topoviz diagrams() batch, 1 thread", t["batch"], n)
    add(patch, "topoviz diagram() one by one, 1 thread", t["one"], n)
    add(patch, "gudhi CubicalComplex(vertices), 1 thread", g, n)
    if have_cripser:
        add(patch, "cripser (V-construction, 1 thread)", t["c"], n)
    if numba_threads() > 1:  # none under NUMBA_NUM_THREADS=1
        add(
            patch,
            f"topoviz diagrams() batch, {numba_threads()} threads",
            median_of(lambda: diagrams(patches, frame=True), args.repeat),
            n,
            cpu=False,
        )

    for frame in (False, True):
        task = f"512x512 image, {'framed' if frame else 'no frame'}"
        with single_thread():
            fns = {"1": lambda fr=frame: [diagram(im, frame=fr) for im in images]}
            if have_cripser:
                fns["c"] = lambda fr=frame: [cripser_v(im, fr) for im in images]
            t = alternating(fns, args.repeat)
            g = alternating({"g": lambda fr=frame: [gudhi_v(im, fr) for im in images]}, 1)["g"]
        add(task, "topoviz diagram(), 1 thread", t["1"], len(images))
        add(task, "gudhi CubicalComplex(vertices), 1 thread", g, len(images))
        if have_cripser:
            add(task, "cripser (V-construction, 1 thread)", t["c"], len(images))
        add(
            task,
            "topoviz diagram(), 2 sweeps side by side",
            median_of(lambda fr=frame: [diagram(im, frame=fr) for im in images], args.repeat),
            len(images),
            cpu=False,
        )
    load1 = os.getloadavg()[0]

    import numba

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}"
    )
    print(f"inputs: {n} patches and {len(images)} images; {source}")
    print(f"numba compile or cache load at warm-up: {compile_s:.2f} s (first use only)")
    print(f"load average (1 min): {load0:.1f} at the start, {load1:.1f} at the end")
    print(
        f"median of {args.repeat} repeats (gudhi: of {gudhi_repeat}, 1 for images); "
        "'1 thread' rows: CPU time of the thread, ratios between those rows only; "
        "other rows: wall time\n"
    )
    print(
        f"| {'task':<26} | {'method':<42} | {'ms / item':>10} | {'vs gudhi':>9} | "
        f"{'vs cripser':>10} |"
    )
    print(f"|{'-' * 28}|{'-' * 44}|{'-' * 12}|{'-' * 11}|{'-' * 12}|")
    ref = {task: ms for task, method, ms, _ in rows if method.startswith("gudhi")}
    crip = {task: ms for task, method, ms, _ in rows if method.startswith("cripser")}
    for task, method, ms, cpu in rows:
        vs_g = f"{ref[task] / ms:>8.1f}x" if cpu else f"{'-':>9}"
        vs_c = f"{crip[task] / ms:>9.2f}x" if cpu and task in crip else f"{'-':>10}"
        print(f"| {task:<26} | {method:<42} | {ms:>10.3f} | {vs_g} | {vs_c} |")

    if not args.no_train_step:
        from bench_train_step import measure

        load2 = os.getloadavg()[0]
        r = measure(threads=1, steps=args.train_steps)
        bce, both = r["bce"], r["both"]
        print(
            f"\ntraining step (bench_train_step.py, CPU, 1 thread, U-Net base 16, batch 8 x 65², "
            f"median of {args.train_steps} steps, load {load2:.1f} at its start):\n"
        )
        print("| step | ms (median) | of which TopoLoss call |")
        print("|------|-------------|------------------------|")
        print(f"| BCE only | {1e3 * bce:.1f} | - |")
        print(f"| BCE + λ·L_topo (paper rule) | {1e3 * both:.1f} | {1e3 * r['call']:.1f} |")
        print(
            f"TopoLoss adds {100 * (both - bce) / bce:.0f} % to the BCE-only step "
            f"({r['used']:.0f} of 8 patches in L_topo, median)"
        )


if __name__ == "__main__":
    main()
