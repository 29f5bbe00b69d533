"""models/manifest.json is what models/mkmanifest.py rebuilds from the checkpoints."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mkmanifest():
    spec = importlib.util.spec_from_file_location("mkmanifest", ROOT / "models" / "mkmanifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_manifest_is_what_the_checkpoints_say(mkmanifest, monkeypatch):
    """Rebuilt with --skip-eval (metadata from the .pt files, metrics kept), the
    manifest is the committed file byte for byte; and that path reads no data."""
    import topoviz.data

    def no_data(*args, **kwargs):
        raise AssertionError("--skip-eval must not load data")

    monkeypatch.setattr(topoviz.data, "load_split", no_data)
    text = (ROOT / "models" / "manifest.json").read_text(encoding="utf-8")
    committed = json.loads(text)
    rebuilt = mkmanifest.build(committed, skip_eval=True)
    assert not mkmanifest.diff(committed, rebuilt), "\n".join(mkmanifest.diff(committed, rebuilt))
    assert mkmanifest.dumps(rebuilt) == text


def test_a_changed_field_is_reported_by_name(mkmanifest):
    old = {"checkpoints": [{"name": "a", "lam": 0.01, "recipe": ["x"]}]}
    new = {"checkpoints": [{"name": "a", "lam": 0.05, "recipe": ["x"], "note": "n"}]}
    assert mkmanifest.diff(old, new) == [
        "checkpoints[a].lam: 0.01 (committed) -> 0.05 (rebuilt)",
        "checkpoints[a].note: only in the rebuilt manifest",
    ]
    assert mkmanifest.diff(old, old) == []
