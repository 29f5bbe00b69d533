"""Speed of the Betti matching rule against the paper's, per 65x65 patch.

One batch of framed 65x65 patches (ISBI12 labels as g and, as f, the label
blurred with noise, a stand-in for a network's likelihood; smooth random fields
when ../shared/data is absent). Rows, all measured in the same run:

* matching only: ``diagrams`` + ``match`` (paper) vs ``betti_matches``;
* the loss: ``TopoLoss(rule=...)`` forward + backward on the batch;
* with ``--topolosses DIR``, also topolosses' ``BettiMatchingLoss`` (its C++ Betti
  matching, Stucki et al.) forward + backward on the same batch. topolosses is not
  a dependency (``pip install topolosses`` pulls a CUDA build of torch); install it
  beside the project with ``pip install --no-deps --target DIR topolosses``. Its
  package ``__init__`` imports every loss (cv2 among their needs), so only the Betti
  matching module is loaded from DIR. Its conventions: superlevel filtration on the
  probabilities, no frame, the Betti matching term alone (``use_base_loss=False``),
  one process.

    python bench/bench_betti.py [--patches 64] [--repeat 5] [--topolosses DIR]
    python bench/bench_betti.py --parts   # where betti_matches' time goes, dimension 1

``--parts`` times the stages of Betti matching on dimension 1 alone (what
``TopoLoss(rule="betti")`` computes by default), single thread: the sort keys of f,
g and c = max(f, g), the compiled ranks, persistence sweeps and induced-matching
sweeps, and the Python that builds the diagrams and matchings.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from topoviz.loss import TopoLoss  # noqa: E402
from topoviz.matching import betti_matches, betti_targets, match  # noqa: E402
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


def topolosses_betti_loss(folder: Path):
    """topolosses' ``BettiMatchingLoss`` from a ``pip install --no-deps --target
    folder topolosses``, without running its package ``__init__``."""
    import types
    import warnings

    root = Path(folder) / "topolosses"
    if not (root / "losses" / "betti_matching").is_dir():
        raise SystemExit(f"{folder}: no topolosses there (pip install --no-deps --target ...)")
    for name, path in (("topolosses", root), ("topolosses.losses", root / "losses")):
        stub = types.ModuleType(name)
        stub.__path__ = [str(path)]
        sys.modules[name] = stub
    from topolosses.losses.betti_matching.src.betti_matching_loss import BettiMatchingLoss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "alpha < 1 has no effect" without a base loss
        return BettiMatchingLoss(use_base_loss=False, num_processes=1)


def parts(f: np.ndarray, g: np.ndarray, repeat: int) -> None:
    """Print the stages of ``betti_matches(f, g, dims=(1,))`` per patch, in ms."""
    import numba

    from topoviz.induced import _batch_fast_serial, _fast_workspace, _image_sweep1
    from topoviz.matching import _betti_dims, _flat_targets
    from topoviz.persistence import _diagrams_from_sweeps, _ranks, _sorted_keys, _sweep1_grid

    numba.set_num_threads(1)
    pad = ((0, 0), (1, 1), (1, 1))
    F = np.ascontiguousarray(np.pad(f, pad, constant_values=1.0))
    G = np.ascontiguousarray(np.pad(g, pad, constant_values=1.0))
    S = np.stack([F, G, np.maximum(F, G)])
    b = F.shape[0]
    K = np.stack([_sorted_keys(S[k], False) for k in range(3)])
    pairs, counts, through, gp, gv = _batch_fast_serial(S, K, False, True, 1)

    def python():
        dgms = [
            _diagrams_from_sweeps(f.shape[1:], True, (1,), counts[:, [s, 3 + s]], gp[s], gv[s])
            for s in range(3)
        ]
        for j in range(b):
            vals = (S[0, j].ravel(), S[1, j].ravel(), S[2, j].ravel())
            _betti_dims(pairs[j], counts[j], through[j], vals, tuple(d[j] for d in dgms), (1,))

    # the compiled call's two halves apart, on grids prepared once (a Python loop
    # calls the compiled functions: a microsecond or two of overhead a call)
    h, w = F.shape[1:]
    padidx, ranks, parent, edge, vals, orders, flat_of, best = _fast_workspace(h, w)
    grids = []
    for j in range(b):
        v, o, r = vals.copy(), orders.copy(), ranks.copy()
        for k in range(3):
            _ranks(S[k, j], False, K[k, j], v[k], o[k], r[k], padidx)
        grids.append((v, o, r))
    out_pairs, out_values = np.empty((h * w, 2), np.int32), np.empty((h * w, 2))
    out_through = np.empty(h * w, np.int64)

    def persistence():
        for j in range(b):
            for k in range(3):
                _ranks(S[k, j], False, K[k, j], vals[k], orders[k], ranks[k], padidx)
                _sweep1_grid(
                    vals[k], w + 2, orders[k], ranks[k], parent, edge, out_pairs, out_values
                )

    def induced():
        for v, o, r in grids:
            for k in range(2):
                _image_sweep1(
                    v[k], v[2], w + 2, o[k], o[2], r[k], parent, best, flat_of, out_through
                )

    def flat():  # betti_targets after the sweeps: what TopoLoss(rule="betti") runs
        _flat_targets(f.shape[1:], True, (1,), (pairs, counts, through, gp, gv))

    stages = {
        "keys and sort of f, g, c (numpy)": lambda: [_sorted_keys(S[k], False) for k in range(3)],
        "compiled: ranks, three sweeps, two induced matchings": lambda: _batch_fast_serial(
            S, K, False, True, 1
        ),
        "of which: ranks and persistence sweeps of f, g, c": persistence,
        "of which: the two induced-matching sweeps": induced,
        "Python: diagrams and matchings (betti_matches)": python,
        "Python: flat targets (betti_targets, the loss's path)": lambda: flat(),
        "all: betti_matches(f, g, dims=(1,))": lambda: betti_matches(f, g, dims=(1,)),
        "all: betti_targets(f, g, dims=(1,))": lambda: betti_targets(f, g, dims=(1,)),
    }
    print("| stage (dimension 1, per patch, 1 thread) | ms |")
    print("|---|---|")
    for name, fn in stages.items():
        fn()
        print(f"| {name} | {best_of(fn, repeat) / b * 1e3:.3f} |")


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
    ap.add_argument(
        "--topolosses", type=Path, help="folder of `pip install --no-deps --target` topolosses"
    )
    ap.add_argument("--parts", action="store_true", help="only where Betti matching's time goes")
    args = ap.parse_args()
    torch.set_num_threads(1)
    f, g, source = inputs(args.patches)
    n = len(f)
    if args.parts:
        print(f"# {n} framed 65x65 patches, best of {args.repeat}; {source}\n")
        parts(f, g, args.repeat)
        return

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
    if args.topolosses is not None:
        theirs = topolosses_betti_loss(args.topolosses)
        prob = torch.tensor(f[:, None], dtype=torch.float32, requires_grad=True)
        target = torch.tensor(g[:, None], dtype=torch.float32)

        def topolosses_run():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "single-channel prediction", every call
                theirs(prob, target).backward()

        rows.append(("TopoLoss fwd+bwd", "topolosses BettiMatchingLoss", topolosses_run))
    for _, _, fn in rows:  # compile / load the numba caches
        fn()
    times = {name: best_of(fn, args.repeat) / n * 1e3 for _, name, fn in rows}
    print(f"# {n} framed 65x65 patches, best of {args.repeat}; {source}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numba threads")
    print()
    print("| task             | method                       | ms / patch | vs paper |")
    print("|------------------|------------------------------|------------|----------|")
    for i, (task, name, _) in enumerate(rows):
        base = times[rows[i - i % 2][1]] if i < 4 else times["rule='paper'"]
        print(f"| {task:16} | {name:28} | {times[name]:10.3f} | {times[name] / base:7.2f}x |")


if __name__ == "__main__":
    main()
