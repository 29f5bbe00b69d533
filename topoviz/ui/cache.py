"""Cached loaders: pure work in ``st.cache_data`` (hashed by the arrays' bytes),
models in ``st.cache_resource`` (shared, never mutated: inference runs under
``torch.no_grad`` in eval mode)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from topoviz import checkpoints, inference, synthetic
from topoviz.imageio import ImageRead, MaskRead, load_image, load_mask, read_image, read_mask
from topoviz.matching import Matching, match
from topoviz.metrics import evaluate_all
from topoviz.persistence import Diagram, diagram

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
MODELS = ROOT / "models"


@st.cache_data(show_spinner=False)
def sample_index() -> list[dict]:
    return json.loads((SAMPLES / "index.json").read_text())


@st.cache_data(show_spinner=False, max_entries=16)
def load_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(image, mask)`` of a sample from ``sample_data/index.json``."""
    item = next(i for i in sample_index() if i["name"] == name)
    image = load_image(SAMPLES / item["image"])
    mask = load_mask(SAMPLES / item["mask"], shape=image.shape)
    return image, mask


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(data: bytes) -> ImageRead:
    return read_image(data, downscale=True)


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload_mask(data: bytes, shape: tuple[int, int]) -> MaskRead:
    return read_mask(data, shape=shape, resize=True)


def checkpoint_path(file: str) -> Path:
    """A manifest entry's ``file``: a path from the project root (``models/x.pt``)."""
    return ROOT / file


def manifest() -> tuple[list[dict], str | None]:
    """Checkpoints listed in ``models/manifest.json`` whose file exists, and a problem."""
    path = MODELS / "manifest.json"
    if not path.is_file():
        return [], None
    try:
        entries = json.loads(path.read_text())["checkpoints"]
        found = [e for e in entries if checkpoint_path(e["file"]).is_file()]
    except (ValueError, KeyError, TypeError) as error:
        return [], f"models/manifest.json could not be read ({error})."
    return found, None


@st.cache_resource(show_spinner="Loading checkpoint…", max_entries=4)
def load_model(file: str, mtime: float) -> tuple[Any, dict]:
    """The net of the checkpoint ``file``; ``mtime`` makes a rewritten file load afresh."""
    return checkpoints.load(checkpoint_path(file))


@st.cache_data(show_spinner="Running the network…", max_entries=8)
def predict(file: str, mtime: float, image: np.ndarray) -> np.ndarray:
    """``f = sigmoid(net(image))`` for the checkpoint ``file`` as of ``mtime``."""
    model, _ = load_model(file, mtime)
    return inference.predict(model, image).astype(np.float32)


@st.cache_data(show_spinner=False, max_entries=16)
def blurred_truth(mask: np.ndarray, sigma: float, noise: float, seed: int) -> np.ndarray:
    return synthetic.blurred_likelihood(mask, sigma, noise, seed)


@st.cache_data(show_spinner=False, max_entries=32)
def diagram_of(f: np.ndarray, frame: bool = True) -> Diagram:
    return diagram(np.asarray(f, np.float64), frame=frame)


@st.cache_data(show_spinner=False, max_entries=32)
def matching_of(f: np.ndarray, g: np.ndarray, frame: bool, rule: str) -> Matching:
    """Dgm(f) matched to Dgm(g) by ``rule`` (exact for both rules, fast on whole images)."""
    return match(diagram_of(f, frame), diagram_of(g, frame), rule)


@st.cache_data(show_spinner="Measuring…", max_entries=16)
def evaluate(f: np.ndarray, g: np.ndarray, seed: int = 0) -> dict[str, float]:
    return evaluate_all(f, g, seed=seed)
