"""The shipped checkpoints: the manifest is true to the files, and they run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from topoviz import checkpoints, predict

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text())["checkpoints"]
REQUIRED = {
    "name",
    "file",
    "arch",
    "data",
    "fold",
    "loss",
    "pair",
    "recipe",
    "seed",
    "terms",
    "metrics",
}


def test_manifest_lists_each_file_once_with_the_required_fields():
    names = [c["name"] for c in MANIFEST]
    assert len(names) == len(set(names)) and names
    for c in MANIFEST:
        assert REQUIRED <= set(c), REQUIRED - set(c)
        assert c["loss"] in ("bce", "bce+topo")
        assert set(c["metrics"]["mean"]) == {"accuracy", "ari", "voi", "betti_error"}
    # every pair is one baseline and one TopoLoss twin
    pairs = {}
    for c in MANIFEST:
        pairs.setdefault(c["pair"], []).append(c["loss"])
    assert all(sorted(v) == ["bce", "bce+topo"] for v in pairs.values()), pairs


@pytest.mark.parametrize("entry", MANIFEST, ids=[c["name"] for c in MANIFEST])
def test_each_checkpoint_is_small_loads_and_predicts(entry):
    path = ROOT / entry["file"]
    assert path.stat().st_size <= 5 * 2**20
    model, meta = checkpoints.load(path)
    assert meta["arch"] == entry["arch"]
    f = predict(model, np.random.default_rng(0).random((37, 53)).astype(np.float32))
    assert f.shape == (37, 53) and 0.0 <= f.min() and f.max() <= 1.0
