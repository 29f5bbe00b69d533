"""How often a 2-rank torchrun training run fails at its end.

Runs the command of ``tests/test_scale.py``'s torchrun test (2 ranks, gloo, a tiny
SixLayerNet, 3 BCE and 2 L_topo steps) ``--runs`` times and counts the runs torchrun
reports failed, with the first line of each failure that names a cause. ``--load``
keeps one core busy with a Python loop meanwhile (the aborts at exit showed under
load). ``--root`` runs another checkout (e.g. a ``git worktree`` of an older commit).

    python bench/bench_torchrun_exit.py [--runs 40] [--load] [--root DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [
    "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
    "-m", "topoviz", "train", "--data", "synthetic:membranes?n=4&size=48&seed=0",
    "--fold", "all", "--arch", "sixlayer", "--steps", "3", "--topo-steps", "2",
    "--lam", "0.01", "--patch", "32", "--log-every", "1", "--device", "cpu", "--batch", "2",
]  # fmt: skip
BUSY = (
    "import time\nt = time.time()\nwhile time.time() - t < 3600: sum(i * i for i in range(10000))"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--load", action="store_true", help="one busy core meanwhile")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout to run")
    args = ap.parse_args()
    root = args.root.resolve()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(root)}
    busy = subprocess.Popen([sys.executable, "-c", BUSY]) if args.load else None
    failed, causes = 0, {}
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.runs):
                run = subprocess.run(
                    [sys.executable, *COMMAND, "--out", str(Path(tmp) / "ddp.pt")],
                    cwd=root, env=env, capture_output=True, text=True, timeout=600,
                )  # fmt: skip
                if run.returncode != 0:
                    failed += 1
                    lines = run.stderr.splitlines()
                    cause = next((x for x in lines if "terminate" in x or "Error" in x), "?")
                    causes[cause.strip()] = causes.get(cause.strip(), 0) + 1
    finally:
        if busy is not None:
            busy.kill()
    git = {"cwd": root, "capture_output": True, "text": True}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **git).stdout.strip()
    if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **git).stdout:
        commit += " with uncommitted changes"
    print(
        f"checkout {root} ({commit}), {args.runs} runs, "
        f"{'one core busy' if args.load else 'no added load'}, "
        f"{time.perf_counter() - t0:.0f} s\n"
    )
    print("| runs | failed | cause (first line) |")
    print("|---|---|---|")
    if not causes:
        print(f"| {args.runs} | 0 | - |")
    for cause, n in causes.items():
        print(f"| {args.runs} | {n} | `{cause[:80]}` |")


if __name__ == "__main__":
    main()
