"""What Streamlit's collection after every script run costs, with and without the
startup heap frozen (``app.py``: ``gc.collect(); gc.freeze()`` once per server).

Streamlit calls ``gc.collect(2)`` after each run (``runner.postScriptGC``); the
browser waits for it. This opens every page once with AppTest on the default sample,
so the process holds what a running server holds (torch, numba, plotly, the caches),
then times a full collection as Streamlit makes it: with the objects unfrozen, and
frozen again the way ``app.py`` freezes them.

    python bench/bench_gc.py
"""

from __future__ import annotations

import gc
import platform
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def collect_s(repeats: int = 5) -> float:
    """Median seconds of ``gc.collect(2)``."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        gc.collect(2)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    frozen_at_start = gc.get_freeze_count()  # app.py froze the heap of its first run
    for page in sorted((ROOT / "pages").glob("*.py")):
        at.switch_page(f"pages/{page.name}").run()
        if at.exception:
            raise SystemExit(f"{page.name}: {at.exception[0].value}")
    rows = [("as app.py leaves it (frozen at the first run)", frozen_at_start)]
    rows[-1] += (len(gc.get_objects()), collect_s())
    gc.unfreeze()
    rows.append(("nothing frozen", 0, len(gc.get_objects()), collect_s()))
    gc.collect()
    gc.freeze()
    rows.append(("all frozen after every page ran", gc.get_freeze_count()))
    rows[-1] += (len(gc.get_objects()), collect_s())
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print("every page opened once with AppTest (default sample)")
    print("| heap | objects frozen | objects the collector visits | gc.collect(2), median of 5 |")
    print("|------|---------------:|-----------------------------:|---------------------------:|")
    for name, frozen, visited, seconds in rows:
        print(f"| {name} | {frozen} | {visited} | {seconds * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
