"""Speed of persistence diagrams: topoviz's compiled sweep against gudhi and cripser.

Prints one table, all rows measured in the same run on the same inputs:
65x65 patches (the paper's patch size, framed as in training) and whole 512x512
images. Inputs are real ISBI12 slices used as likelihoods (1 - intensity) when
../shared/data is present, else smooth random fields. Each row is the median of
``--repeat`` runs. The single-thread rows (topoviz batch and one by one, cripser,
gudhi) are taken in alternation as CPU time of the calling thread, so load from
other processes hits them alike, and the ratio columns compare only those rows;
the two-thread rows are wall time. Last, the single-thread rows of topoviz and
cripser once more with glibc told to keep freed memory (``mallopt``): cripser
allocates its large arrays afresh on every call, and whether they come back from
the kernel as new zeroed pages or from memory freed by an earlier call moved its
512x512 time by a third (bench/README.md, round 16). Then the training-step row of
``bench_train_step.py`` (BCE-only against BCE + TopoLoss, one thread), unless
``--no-train-step``.

    python bench/bench_persistence.py [--patches 256] [--repeat 5] [--no-train-step]
    python bench/bench_persistence.py --parts   # only where a diagram's time goes

``--parts`` times the stages of topoviz's diagram alone (keys and sort, ranks, the
two sweeps, building the dots), single thread, on the same inputs, and prints them
per item and per pixel.
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


@contextlib.contextmanager
def warm_allocator():
    """glibc serves every allocation from the heap and never gives freed memory back
    to the kernel, so a call reuses the pages of the call before it instead of
    faulting in fresh zeroed ones. No-op (None) where glibc's ``mallopt`` is absent."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        yield None
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 1 << 30)
    mallopt(m_trim_threshold, 1 << 30)
    try:
        yield True
    finally:  # glibc's initial values (the mmap threshold no longer adapts)
        mallopt(m_mmap_threshold, 128 * 1024)
        mallopt(m_trim_threshold, 128 * 1024)


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


def _cpu_ms(fn, repeat: int) -> float:
    """:func:`alternating` of one function, in ms."""
    return 1e3 * alternating({"fn": fn}, repeat)["fn"]


def _parts_row(name: str, stack: np.ndarray, frame: bool, repeat: int) -> str:
    """One row of :func:`parts`: the stages of the compiled path on ``stack``, per item."""
    from topoviz import persistence as P

    b, h, w = stack.shape[0], stack.shape[1] + 2 * frame, stack.shape[2] + 2 * frame
    keys = np.empty((b, h * w), np.int64)
    work = P._workspace(h, w)
    counts = np.zeros((b, 2), np.int64)
    pairs = np.empty((2, b, h * w, 2), np.int32)
    values = np.empty((2, b, h * w, 2), np.float64)

    def run(want0: bool, want1: bool) -> None:
        P._pairs_into(stack, keys, 0, b, frame, want0, want1, work, counts, pairs, values)

    def dots() -> None:
        P._diagrams_from_sweeps(stack.shape[1:], frame, (0, 1), counts, pairs, values)

    def whole() -> None:
        diagrams(stack, frame=frame) if b > 1 else diagram(stack[0], frame=frame)

    t_sort = _cpu_ms(lambda: P._sorted_keys(stack, frame, keys), repeat)
    t_rank = _cpu_ms(lambda: run(False, False), repeat)
    t0 = _cpu_ms(lambda: run(True, False), repeat) - t_rank
    t1 = _cpu_ms(lambda: run(False, True), repeat) - t_rank
    run(True, True)
    t_dots = _cpu_ms(dots, repeat)
    t_all = _cpu_ms(whole, repeat)
    per = [x / b for x in (t_sort, t_rank, t0, t1, t_dots, t_all)]
    ns = [1e6 * x / (h * w) for x in per[2:4]]
    return f"| {name} | {' | '.join(f'{x:.3f}' for x in per)} | {ns[0]:.1f} + {ns[1]:.1f} |"


def parts(patches: np.ndarray, images: list[np.ndarray], repeat: int) -> None:
    """Print where a diagram's time goes: each stage of the compiled path timed alone,
    single thread (the sweeps as one with and without them, less the ranks)."""
    print(
        "| input | keys + sort | ranks | dim-0 sweep | dim-1 sweep | dots | whole diagram "
        "| sweeps, ns / pixel |"
    )
    print("|---|---|---|---|---|---|---|---|")
    cases = [("65x65 patch, framed (per patch, batch)", patches, True)]
    cases += [
        (f"512x512 image, {'framed' if fr else 'no frame'}", images[:1], fr) for fr in (False, True)
    ]
    with single_thread():
        for name, stack, frame in cases:
            print(_parts_row(name, np.ascontiguousarray(np.stack(stack)), frame, repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patches", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-train-step", action="store_true")
    ap.add_argument("--train-steps", type=int, default=30)
    ap.add_argument("--parts", action="store_true", help="only the stages of topoviz's diagram")
    args = ap.parse_args()

    t0 = time.perf_counter()
    warmup()
    compile_s = time.perf_counter() - t0
    patches, images, source = inputs(args.patches)
    n = len(patches)
    if args.parts:
        print(f"inputs: {source}; ms, median of {args.repeat}, CPU time of one thread\n")
        parts(patches, images, args.repeat)
        return
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
    warm_rows = []  # (task, method, ms per item): topoviz and cripser, memory kept
    if have_cripser:
        with single_thread(), warm_allocator() as warm:
            if warm:
                jobs = {patch: (patches, True)}
                jobs.update(
                    {
                        f"512x512 image, {'framed' if fr else 'no frame'}": (images, fr)
                        for fr in (False, True)
                    }
                )
                for task, (items, fr) in jobs.items():
                    if task == patch:
                        fns = {
                            "topoviz diagrams() batch, 1 thread": lambda: diagrams(
                                patches, frame=True
                            )
                        }
                    else:
                        fns = {
                            "topoviz diagram(), 1 thread": lambda it=items, fr=fr: [
                                diagram(im, frame=fr) for im in it
                            ]
                        }
                    fns["cripser (V-construction, 1 thread)"] = lambda it=items, fr=fr: [
                        cripser_v(im, fr) for im in it
                    ]
                    for method, sec in alternating(fns, args.repeat).items():
                        warm_rows.append((task, method, 1e3 * sec / len(items)))
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

    if warm_rows:
        print(
            "\nthe same single-thread rows again, glibc keeping freed memory (mallopt): "
            "each call reuses the pages of the call before\n"
        )
        print(f"| {'task':<26} | {'method':<42} | {'ms / item':>10} | {'vs cripser':>10} |")
        print(f"|{'-' * 28}|{'-' * 44}|{'-' * 12}|{'-' * 12}|")
        crip_w = {task: ms for task, method, ms in warm_rows if method.startswith("cripser")}
        for task, method, ms in warm_rows:
            print(f"| {task:<26} | {method:<42} | {ms:>10.3f} | {crip_w[task] / ms:>9.2f}x |")

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
