"""Two checkouts of the app in one browser, timed in alternation: a paired A/B.

On a shared 2-core machine one run of ``bench_browser.py`` moves by more than most
changes do. Here two servers run side by side, A (the tree before a change) and B
(after), and one Chromium times the same action on each in turn, in the order
A B, B A, A B, …, so both see the same moments of the machine. Prints the medians
and the per-pair differences (B − A, with how many pairs B won and a sign test).

    git worktree add /tmp/before <commit>
    python bench/bench_ab.py /tmp/before . --what alpha --pairs 10

``--what``: ``alpha`` (open Filtration, then an α move: the move's time), ``dot``
(a dot click on Diagrams), ``reload`` (Diagrams opened anew) or ``finetune`` (the
default 60-step run, steps per second from the click).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
from pathlib import Path

from bench_browser import ARGS, CHROMIUM, alpha_move, dot_click, fine_tune, start_server, visit
from playwright.sync_api import sync_playwright


def _time(page, url: str, what: str) -> float:
    if what == "alpha":
        return alpha_move(page, url)
    if what == "dot":
        return dot_click(page, url)
    if what == "reload":
        return visit(page, f"{url}/diagrams", "Persistence diagrams", 2)
    steps, wall, _ = fine_tune(page, url)
    return steps / wall


def sign_test(wins: int, n: int) -> float:
    """Two-sided p-value of ``wins`` of ``n`` pairs under a fair coin (ties left out).

    >>> round(sign_test(10, 10), 4)
    0.002
    """
    k = max(wins, n - wins)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", type=Path, help="the checkout before the change")
    ap.add_argument("b", type=Path, help="the checkout after it")
    ap.add_argument("--what", choices=("alpha", "dot", "reload", "finetune"), default="alpha")
    ap.add_argument("--pairs", type=int, default=10)
    args = ap.parse_args()
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    ports = {"A": 8621, "B": 8622}
    servers = {k: start_server(ports[k], root) for k, root in trees.items()}
    times: dict[str, list[float]] = {"A": [], "B": []}
    load = [os.getloadavg()[0]]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(300_000)
            for k in trees:  # warm: each server's caches and numba, the browser's cache
                _time(page, f"http://127.0.0.1:{ports[k]}", args.what)
            for i in range(args.pairs):
                for k in ("A", "B") if i % 2 == 0 else ("B", "A"):
                    times[k].append(_time(page, f"http://127.0.0.1:{ports[k]}", args.what))
            browser.close()
    finally:
        for proc in servers.values():
            os.killpg(proc.pid, signal.SIGTERM)
    load.append(os.getloadavg()[0])
    unit = "steps/s" if args.what == "finetune" else "s"
    print(f"A: {trees['A']}\nB: {trees['B']}")
    print(f"{args.what}, {args.pairs} pairs; load average {load[0]:.1f} at the start, "
          f"{load[1]:.1f} at the end")  # fmt: skip
    print(f"\n| | median {unit} | min | max |\n|---|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |")
    d = [b - a for a, b in zip(times["A"], times["B"], strict=True)]
    better = sum((x > 0) if args.what == "finetune" else (x < 0) for x in d)
    print(f"\nB − A per pair ({unit}): " + ", ".join(f"{x:+.2f}" for x in d))
    print(f"B better in {better} of {len(d)} pairs (sign test p = {sign_test(better, len(d)):.3g})")


if __name__ == "__main__":
    main()
