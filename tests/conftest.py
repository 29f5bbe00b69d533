"""Shared test settings: hypothesis profiles and the path to the shared data."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def models_script():
    """Load a script of models/ (``models_script("tables")``) as a module, once."""
    import importlib.util

    loaded = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, ROOT / "models" / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (../shared/data beside the project)")
    return SHARED_DATA


@pytest.fixture
def tiny_manifest(tmp_path, monkeypatch) -> Path:
    """A project root in ``tmp_path`` whose models/manifest.json lists one tiny U-Net
    ("tiny", file models/tiny.pt); the app's cache is pointed at it."""
    import json

    import torch

    from topoviz import checkpoints, nets
    from topoviz.ui import cache

    torch.manual_seed(0)
    (tmp_path / "models").mkdir()
    checkpoints.save(tmp_path / "models/tiny.pt", nets.build("unet", base=2, depth=1), {"n": 1})
    entry = {"name": "tiny", "file": "models/tiny.pt", "arch": "unet", "data": "-"}
    (tmp_path / "models/manifest.json").write_text(
        json.dumps({"checkpoints": [entry]}), encoding="utf-8"
    )
    monkeypatch.setattr(cache, "ROOT", tmp_path)
    monkeypatch.setattr(cache, "MODELS", tmp_path / "models")
    return tmp_path


@pytest.fixture
def media(monkeypatch) -> SimpleNamespace:
    """Every file a page hands the browser (AppTest keeps no media): ``images``, the
    ``(mimetype, bytes)`` of each picture, and ``named``, downloads by file name."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen = SimpleNamespace(images=[], named={})
    keep = MemoryMediaFileStorage.load_and_get_id

    def load(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, (bytes, str)):
            data = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
            if filename is not None:
                seen.named[filename] = data
            elif mimetype.startswith("image/"):
                seen.images.append((mimetype, data))
        return keep(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load)
    return seen


@pytest.fixture
def downloads(media) -> dict[str, bytes]:
    """Every file the page offers for download, by file name."""
    return media.named
