"""Cached loaders: pure work in ``st.cache_data`` (hashed by the arrays' bytes),
models in ``st.cache_resource`` (shared, never mutated: inference runs under
``torch.no_grad`` in eval mode).

Every cache has ``max_entries``, so memory stays bounded however many images,
seeds or uploads a long session (or many sessions) go through; those keyed by an
upload also expire after :data:`UPLOAD_TTL_S`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from topoviz import checkpoints, figures, inference, provenance, synthetic
from topoviz.calibration import calibration_set, named_by_count
from topoviz.data import guess_structure
from topoviz.imageio import ImageRead, MaskRead, load_image, load_mask, read_image, read_mask
from topoviz.loss import critical_targets
from topoviz.matching import Matching, betti_match, match
from topoviz.metrics import (
    RegionErrors,
    betti_error,
    betti_error_noise,
    evaluate_all,
    one_pixel_references,
    region_errors,
    topology_errors,
)
from topoviz.persistence import Diagram, diagram
from topoviz.pushes import push_landings
from topoviz.ui.words import corner_words, region_blind_words, small_image_words

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
MODELS = ROOT / "models"


#: Uploaded checkpoints larger than this (50 MB, as Streamlit counts: 50 · 2**20
#: bytes) are refused before they are read; topoviz's nets are 0.1–2 MB.
MAX_CHECKPOINT_UPLOAD_MB = 50
MAX_CHECKPOINT_UPLOAD = MAX_CHECKPOINT_UPLOAD_MB * 2**20
#: Seconds an upload's cached model or likelihood is kept after its last use.
UPLOAD_TTL_S = 3600


@st.cache_data(show_spinner=False, max_entries=1)
def sample_index() -> list[dict]:
    return json.loads((SAMPLES / "index.json").read_text(encoding="utf-8"))


@st.cache_data(show_spinner=False, max_entries=16)
def load_sample(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(image, mask)`` of a sample from ``sample_data/index.json``."""
    item = next(i for i in sample_index() if i["name"] == name)
    image = load_image(SAMPLES / item["image"])
    mask = load_mask(SAMPLES / item["mask"], shape=image.shape)
    return image, mask


@st.cache_data(show_spinner=False, max_entries=8, ttl=UPLOAD_TTL_S)
def read_upload(data: bytes) -> ImageRead:
    return read_image(data, downscale=True)


@st.cache_data(show_spinner=False, max_entries=8, ttl=UPLOAD_TTL_S)
def read_upload_mask(
    data: bytes, shape: tuple[int, int], native: tuple[int, int] | None = None
) -> MaskRead:
    """The mask of an uploaded image shown at ``shape``, read from a file of
    ``native`` (height, width): resized only when the image was."""
    return read_mask(data, shape=shape, resize=True, native=native)


@st.cache_data(show_spinner=False, max_entries=1)
def data_profiles() -> dict[str, dict[str, float]]:
    """The training sets' profiles (``models/data_profiles.json``) by data name."""
    return provenance.load_profiles(MODELS / "data_profiles.json")


def checkpoint_path(file: str) -> Path:
    """A manifest entry's ``file``: a path from the project root (``models/x.pt``)."""
    return ROOT / file


def manifest() -> tuple[list[dict], str | None]:
    """Checkpoints listed in ``models/manifest.json`` whose file exists, and a problem."""
    path = MODELS / "manifest.json"
    if not path.is_file():
        return [], None
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["checkpoints"]
        found = [e for e in entries if checkpoint_path(e["file"]).is_file()]
    except (ValueError, KeyError, TypeError) as error:
        return [], f"models/manifest.json could not be read ({error})."
    return found, None


def shipped_lambdas(data: str) -> dict[str, tuple[float, ...]]:
    """The λ of the shipped TopoLoss twins of the data set ``data`` (``isbi12``), by
    matching rule, one per fold in fold order (read from the manifest, so a caption
    quoting it cannot go stale when the twins are retrained; each fold's λ is chosen
    on that fold's validation split, so they may differ)."""
    entries, _ = manifest()
    by_rule: dict[str, dict[int, float]] = {}
    for e in entries:
        if e.get("pair", "").startswith(f"{data}-") and e.get("loss") != "bce":
            fold = int(e["pair"].rsplit("-f", 1)[1])
            by_rule.setdefault(e.get("rule", "paper"), {})[fold] = float(e["lam"])
    return {rule: tuple(lams[k] for k in sorted(lams)) for rule, lams in by_rule.items()}


@st.cache_resource(show_spinner="Loading checkpoint…", max_entries=4)
def load_model(file: str, mtime: float) -> tuple[Any, dict]:
    """The net of the checkpoint ``file``; ``mtime`` makes a rewritten file load afresh."""
    return checkpoints.load(checkpoint_path(file))


@st.cache_data(show_spinner="Running the network…", max_entries=8)
def predict(file: str, mtime: float, image: np.ndarray) -> np.ndarray:
    """``f = sigmoid(net(image))`` for the checkpoint ``file`` as of ``mtime``."""
    model, _ = load_model(file, mtime)
    return inference.predict(model, image).astype(np.float32)


def model_of(entry: dict) -> tuple[Any, dict]:
    """:func:`load_model` of a manifest entry, as its file is now (shared: copy it
    before training it)."""
    return load_model(entry["file"], checkpoint_path(entry["file"]).stat().st_mtime)


def predict_entry(entry: dict, image: np.ndarray) -> np.ndarray:
    """:func:`predict` with a manifest entry's net, as its file is now."""
    return predict(entry["file"], checkpoint_path(entry["file"]).stat().st_mtime, image)


@dataclass(frozen=True)
class UploadedCheckpoint:
    """A checkpoint file uploaded in one session (kept in its ``session_state``).

    ``digest`` (SHA-256 of the bytes) keys the shared caches, so two sessions that
    upload the same file share one loaded model. ``data`` is empty when the file
    was over :data:`MAX_CHECKPOINT_UPLOAD` and therefore not read.
    """

    name: str
    size: int
    digest: str
    data: bytes = field(repr=False)

    @property
    def too_big(self) -> bool:
        return self.size > MAX_CHECKPOINT_UPLOAD


def uploaded_checkpoint(name: str, size: int, read: Callable[[], bytes]) -> UploadedCheckpoint:
    """Record an upload; ``read`` (e.g. ``UploadedFile.getvalue``) is called only when
    ``size`` is within the limit."""
    if size > MAX_CHECKPOINT_UPLOAD:
        return UploadedCheckpoint(name, size, "", b"")
    data = bytes(read())
    return UploadedCheckpoint(name, len(data), hashlib.sha256(data).hexdigest(), data)


def load_uploaded(up: UploadedCheckpoint) -> tuple[Any, dict]:
    """The net of an uploaded checkpoint (shared: copy it before training), or a
    :class:`~topoviz.checkpoints.CheckpointError` saying why not."""
    if up.too_big:
        raise checkpoints.CheckpointError(
            f"the file is {up.size / 2**20:.1f} MB; the limit for an uploaded checkpoint is "
            f"{MAX_CHECKPOINT_UPLOAD_MB} MB, so it was not read. topoviz's nets are a few MB: "
            "is this the right file?"
        )
    return load_upload(up.digest, up.data)


@st.cache_resource(show_spinner="Loading the uploaded checkpoint…", max_entries=2, ttl=UPLOAD_TTL_S)
def load_upload(digest: str, _data: bytes) -> tuple[Any, dict]:
    """The net of the checkpoint bytes ``_data`` (weights only), keyed by their SHA-256
    ``digest`` alone (the leading underscore: Streamlit does not hash them again)."""
    return checkpoints.load(_data, max_bytes=MAX_CHECKPOINT_UPLOAD)


@st.cache_data(show_spinner="Running the network…", max_entries=8, ttl=UPLOAD_TTL_S)
def predict_upload(digest: str, _data: bytes, image: np.ndarray) -> np.ndarray:
    """``f = sigmoid(net(image))`` for the uploaded checkpoint of SHA-256 ``digest``."""
    model, _ = load_upload(digest, _data)
    return inference.predict(model, image).astype(np.float32)


@st.cache_data(show_spinner=False, max_entries=16)
def blurred_truth(mask: np.ndarray, sigma: float, noise: float, seed: int) -> np.ndarray:
    return synthetic.blurred_likelihood(mask, sigma, noise, seed)


@st.cache_data(show_spinner=False, max_entries=8)
def pixel_order_of(f: np.ndarray) -> np.ndarray:
    """:func:`topoviz.figures.pixel_order` of ``f``, sorted once for every move of α."""
    return figures.pixel_order(f)


@st.cache_data(show_spinner=False, max_entries=32)
def diagram_of(f: np.ndarray, frame: bool = True) -> Diagram:
    return diagram(np.asarray(f, np.float64), frame=frame)


@st.cache_data(show_spinner=False, max_entries=32)
def matching_of(f: np.ndarray, g: np.ndarray, frame: bool, rule: str) -> Matching:
    """Dgm(f) matched to Dgm(g) by ``rule`` (exact for every rule, fast on whole images)."""
    if rule == "betti":  # needs the images; its Dgm(f) is the same as diagram_of's
        return betti_match(np.asarray(f, np.float64), np.asarray(g, np.float64), frame)
    return match(diagram_of(f, frame), diagram_of(g, frame), rule)


@st.cache_resource(show_spinner=False, max_entries=8)
def push_landing_view(
    image: np.ndarray,
    f: np.ndarray,
    g: np.ndarray,
    frame: bool,
    rule: str,
    everything: bool,
    dims: tuple[int, ...] = (0, 1),
) -> tuple[dict[str, int], Any]:
    """Counts and picture of :func:`topoviz.pushes.push_landings` for ``rule`` on the
    dimensions ``dims`` (with ``everything``, also the pushes towards the diagonal
    whose force ``2·|target − f(c)|`` is over 0.05, in Landscape's measure).

    Built once per view, not on each click of a dot. The picture is shared between
    sessions: never write into it.
    """
    chosen = matching_of(f, g, frame, rule).restricted(dims)
    landings = push_landings(
        f,
        g,
        critical_targets(diagram_of(f, frame).restricted(dims), chosen),
        chosen,
        diagonal_over=0.05 if everything else None,
    )
    return landings.counts(), figures.push_landing_picture(image, g, landings)


@st.cache_data(show_spinner="Measuring…", max_entries=16)
def evaluate(
    f: np.ndarray,
    g: np.ndarray,
    seed: int = 0,
    structure: str = "membranes",
    n_patches: int = provenance.TABLE_PATCHES,
) -> dict[str, float]:
    """:func:`topoviz.metrics.evaluate_all`; ``seed`` and ``n_patches`` of the Betti
    error as ``evaluate`` drew them for this image
    (:func:`topoviz.ui.state.betti_protocol`)."""
    return evaluate_all(f, g, seed=seed, structure=structure, n_patches=n_patches)


@st.cache_data(show_spinner=False, max_entries=16)
def betti_error_of(f: np.ndarray, g: np.ndarray, seed: int, n_patches: int) -> float:
    """:func:`topoviz.metrics.betti_error` alone (Inspect's second net, on its own
    patches)."""
    return betti_error(f, g, n_patches=n_patches, seed=seed)


@st.cache_data(show_spinner=False, max_entries=16)
def betti_noise(
    f: np.ndarray, g: np.ndarray, seed: int, n_patches: int, other: np.ndarray
) -> float:
    """:func:`topoviz.metrics.betti_error_noise` of ``other``'s Betti error minus
    ``f``'s over the patches :func:`evaluate` drew (one net's own noise comes with
    :func:`evaluate`: ``betti_error_se``)."""
    return betti_error_noise(f, g, n_patches=n_patches, seed=seed, other=other)


@st.cache_data(show_spinner=False, max_entries=16)
def structure_guess(name: str, mask: np.ndarray | None, data: str | None) -> tuple[str, str]:
    """:func:`topoviz.data.guess_structure`, once per image and mask (it labels the
    mask's background; Inspect asks on every rerun)."""
    return guess_structure(name, mask, data)


@st.cache_data(show_spinner=False, max_entries=16)
def mask_words(mask: np.ndarray, structure: str, frame: bool, n_gt: int) -> list[str]:
    """What Inspect says of what the ground truth lets its metrics see
    (:func:`topoviz.ui.words.small_image_words`, :func:`~topoviz.ui.words.region_blind_words`,
    :func:`~topoviz.ui.words.corner_words`), once per mask: they label it, and Inspect
    asks on every rerun."""
    said = (
        small_image_words(mask, structure, n_gt),
        region_blind_words(mask, structure),
        corner_words(mask, structure, frame, n_gt),
    )
    return [w for w in said if w is not None]


@st.cache_data(show_spinner=False, max_entries=16)
def topology_errors_of(pred: np.ndarray, mask: np.ndarray, structure: str) -> dict:
    """:func:`topoviz.metrics.topology_errors`, once per segmentation (Inspect draws
    one map, two when it compares)."""
    return topology_errors(pred, mask, structure)


@st.cache_data(show_spinner="Measuring…", max_entries=16)
def region_errors_of(f: np.ndarray, g: np.ndarray, structure: str) -> RegionErrors:
    return region_errors(f, g, structure)


@st.cache_data(show_spinner="Measuring the ground truth's references…", max_entries=16)
def reference_scores(
    g: np.ndarray,
    seed: int = 0,
    structure: str = "membranes",
    n: int = 10,
    n_patches: int = provenance.TABLE_PATCHES,
) -> dict[str, dict[str, float]]:
    """Metrics of segmentations made from the ground truth alone, with known errors.

    The ground truth moved by one pixel (``one_pixel_references``) and with ``n``
    injected breaks and walls (``calibration.calibration_set``, its rows named by
    what this image had room for); each row's ``"injected"`` is how many errors
    were made (0 for the moved ones). ``seed`` and ``n_patches``: of the Betti
    error, as :func:`evaluate` takes them; the injections are seeded 0, as
    ``evaluate --references`` seeds them (its ``--seed``).
    """

    def scores(mask: np.ndarray) -> dict[str, float]:
        return evaluate_all(mask, g, seed=seed, structure=structure, n_patches=n_patches)

    rows = {name: {**scores(r), "injected": 0} for name, r in one_pixel_references(g).items()}
    made_rows = calibration_set(g, structure, n=n, seed=0)
    for name, (mask, made) in named_by_count(made_rows, n).items():
        rows[name] = {**scores(mask), "injected": made}
    return rows
