"""Memory stays bounded across reruns: every Streamlit cache of the app has
``max_entries``, and many distinct inputs (uploads, seeds, checkpoints) neither grow
a cache past its limit nor the process past a generous bound."""

from __future__ import annotations

import ast
import gc
import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.runtime.caching import (
    get_data_cache_stats_provider,
    get_resource_cache_stats_provider,
)

from topoviz import checkpoints, nets
from topoviz.imageio import png_bytes
from topoviz.ui import cache

ROOT = Path(__file__).resolve().parent.parent
DISTINCT = 30  # inputs per cache, more than any max_entries of the app

torch.set_num_threads(1)


def _cached_functions() -> list[tuple[str, ast.expr, ast.FunctionDef]]:
    """``(where, decorator, function)`` of every ``st.cache_data`` / ``cache_resource``."""
    found = []
    for path in [
        ROOT / "app.py",
        *(ROOT / "pages").glob("*.py"),
        *(ROOT / "topoviz/ui").glob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    target = dec.func if isinstance(dec, ast.Call) else dec
                    if isinstance(target, ast.Attribute) and target.attr.startswith("cache_"):
                        found.append((f"{path.relative_to(ROOT)}::{node.name}", dec, node))
    return found


def test_every_cache_has_max_entries():
    found = _cached_functions()
    assert len(found) >= 10
    for where, dec, node in found:
        if not node.args.args:  # no arguments: one entry at most
            continue
        keywords = {k.arg for k in dec.keywords} if isinstance(dec, ast.Call) else set()
        assert "max_entries" in keywords, f"{where} has no max_entries"


def _entries() -> Counter:
    """Entries per cached function, read from Streamlit's own caches (one stat an entry
    for ``st.cache_data``; the memory cache's length for ``st.cache_resource``)."""
    counts: Counter = Counter()
    data = get_data_cache_stats_provider()
    for caches in list(data._function_caches.values()):
        for fn_cache in list(caches.values()):
            for stats in fn_cache.get_stats().values():
                counts[fn_cache.display_name] += len(stats)
    resource = get_resource_cache_stats_provider()
    for caches in list(resource._function_caches.values()):
        for fn_cache in list(caches.values()):
            counts[fn_cache.display_name] += len(fn_cache._mem_cache)
    return counts


def _rss_mb() -> float:
    try:
        text = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        pytest.skip("needs /proc/self/status (Linux) to read the resident memory")
    kb = next(int(line.split()[1]) for line in text.splitlines() if line.startswith("VmRSS:"))
    return kb / 1024


def _image(i: int, size: int) -> bytes:
    """A distinct, quickly encoded grey image: stripes whose position depends on ``i``."""
    image = np.full((size, size), 0.8, np.float32)
    image[:, (i * 7) % size :: 97] = 0.1
    image[(i * 13) % size :: 89] = 0.1
    return png_bytes(image)


def _checkpoint(i: int) -> bytes:
    buf = io.BytesIO()
    checkpoints.save(buf, nets.build("unet", seed=i, base=8, depth=2), {"i": i})
    return buf.getvalue()


def test_many_distinct_inputs_keep_every_cache_and_the_memory_bounded():
    for fn in (cache.read_upload, cache.blurred_truth, cache.load_upload, cache.predict_upload):
        fn.clear()
    uploads = [_image(i, 2048) for i in range(DISTINCT)]  # 16 MB a decoded image
    mask = np.zeros((256, 256), bool)
    mask[::32] = mask[:, ::32] = True
    ckpts = [_checkpoint(i) for i in range(8)]
    small = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    cache.read_upload(uploads[-1])  # warm: imports, first allocations
    gc.collect()
    before = _rss_mb()

    for data in uploads:
        assert cache.read_upload(data).array.shape == (2048, 2048)
    for seed in range(DISTINCT):
        cache.blurred_truth(mask, 1.0, 0.1, seed)
    for i, data in enumerate(ckpts):  # uploaded checkpoints, and f of each on two images
        up = cache.uploaded_checkpoint(f"{i}.pt", len(data), lambda data=data: data)
        cache.load_uploaded(up)
        cache.predict_upload(up.digest, up.data, small)
        cache.predict_upload(up.digest, up.data, small[::-1].copy())
    gc.collect()
    grown = _rss_mb() - before

    n = _entries()
    assert n["topoviz.ui.cache.read_upload"] == 8
    assert n["topoviz.ui.cache.blurred_truth"] == 16
    assert n["topoviz.ui.cache.load_upload"] == 2
    assert n["topoviz.ui.cache.predict_upload"] == 8
    # unbounded, the decoded uploads alone would hold 30 × 16 MB = 480 MB (pickled, in the cache)
    assert grown < 300, f"resident memory grew by {grown:.0f} MB"
