"""The upload trap: which data a checkpoint saw, and whether an image looks like it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from streamlit.testing.v1 import AppTest

from topoviz.imageio import load_image, png_bytes
from topoviz.provenance import PROFILES_FILE, describe, load_profiles, nearest, profile, unlike

ROOT = Path(__file__).resolve().parent.parent


def em_like(side: int = 512, seed: int = 0) -> np.ndarray:
    """Smooth noise with ISBI12's brightness and contrast (not real data)."""
    x = gaussian_filter(np.random.default_rng(seed).standard_normal((side, side)), 1.5)
    return np.clip(0.5 + 0.17 * x / x.std(), 0, 1).astype(np.float32)


def test_shipped_profiles_cover_every_checkpoints_data():
    refs = load_profiles()
    entries = json.loads((ROOT / "models/manifest.json").read_text(encoding="utf-8"))["checkpoints"]
    assert {e["data"] for e in entries} <= set(refs)


def test_each_sample_matches_its_own_training_data():
    refs = load_profiles()
    for name in ("membranes_0", "vessels_0"):
        p = profile(load_image(ROOT / "sample_data" / f"{name}.png"))
        assert unlike(p, refs[f"synthetic-{name[:-2]}"]) == []
        assert nearest(p, refs) == f"synthetic-{name[:-2]}"


def test_an_em_like_slice_is_unlike_synthetic_membranes():
    refs = load_profiles()
    p = profile(em_like())
    reasons = unlike(p, refs["synthetic-membranes"])
    assert any("brightness" in r for r in reasons)
    assert nearest(p, refs) == "isbi12"


def test_an_images_extent_alone_does_not_make_it_unlike_its_data():
    """A 3000² mosaic of ISBI12 slices was 'unlike isbi12' for its size: an image's
    extent says nothing of its pixel scale, so the side is profiled, not compared."""
    refs = load_profiles()
    small, big = profile(em_like(256)), profile(em_like(1024))
    assert small["log2_side"] == 8 and big["log2_side"] == 10
    assert unlike(small, refs["isbi12"]) == unlike(big, refs["isbi12"]) == []
    assert nearest(small, refs) == nearest(big, refs) == "isbi12"


@pytest.mark.data
def test_a_real_isbi12_slice_is_flagged_and_pointed_to_isbi12(shared_data):
    refs = load_profiles()
    p = profile(load_image(shared_data / "isbi12" / "images" / "05.png"))
    assert unlike(p, refs["synthetic-membranes"]) and nearest(p, refs) == "isbi12"


def test_describe_says_data_fold_and_loss():
    entry = {"data": "isbi12", "fold": 2, "folds": 3, "loss": "bce+topo", "held_out": ["10"]}
    assert describe(entry) == "trained on isbi12 (fold 2 of 3, held out: 10–10), loss bce+topo"
    assert describe({}) == "trained on unknown data"


def test_bad_profiles_file_gives_none(tmp_path):
    (tmp_path / "p.json").write_text("{not json", encoding="utf-8")
    assert load_profiles(tmp_path / "p.json") == {}
    assert load_profiles(tmp_path / "missing.json") == {}


@pytest.fixture
def two_checkpoints(tiny_manifest):
    """tiny_manifest's net listed twice: as trained on synthetic membranes and on isbi12."""
    entry = {"file": "models/tiny.pt", "arch": "unet", "loss": "bce", "fold": 1, "folds": 3}
    entries = [
        {**entry, "name": "tiny-membranes", "data": "synthetic-membranes"},
        {**entry, "name": "tiny-isbi12", "data": "isbi12"},
    ]
    (tiny_manifest / "models/manifest.json").write_text(
        json.dumps({"checkpoints": entries}), encoding="utf-8"
    )
    shutil.copy(PROFILES_FILE, tiny_manifest / "models/data_profiles.json")
    return tiny_manifest


def test_an_upload_unlike_the_training_data_is_warned_and_the_url_drops_the_sample(
    two_checkpoints,
):
    at = AppTest.from_file(str(ROOT / "pages/4_inspect.py"), default_timeout=60)
    at.query_params["sample"] = "membranes_0"
    at.run()
    assert at.query_params.get("sample") == "membranes_0"
    at.sidebar.radio(key="_w_source").set_value("upload").run()
    at.sidebar.get("file_uploader")[0].upload("slice.png", png_bytes(em_like()), "image/png")
    at.run()
    at.sidebar.selectbox(key="_w_checkpoint").set_value("tiny-membranes")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "unlike synthetic-membranes" in warning and "brightness" in warning
    assert "trained on synthetic-membranes" in " ".join(c.value for c in at.sidebar.caption)
    # the address bar no longer names a sample that is not on screen
    assert "sample" not in at.query_params
    assert any("cannot show this view" in c.value for c in at.sidebar.caption)
    # the nearest shipped model is offered, and one click uses it
    button = next(b for b in at.sidebar.button if "tiny-isbi12" in b.label)
    button.click().run()
    assert at.session_state["checkpoint"] == "tiny-isbi12"
    assert not at.sidebar.warning


@pytest.mark.parametrize(
    ("curvilinear", "profiles"),
    [
        (("synthetic-vessels", "crackforest"), True),
        (("crackforest",), True),  # the nearest curvilinear profile has no net here
        (("synthetic-vessels", "crackforest"), False),  # no profiles file
    ],
)
def test_an_upload_whose_mask_shows_vessels_is_not_offered_a_membranes_net(
    tiny_manifest, curvilinear, profiles
):
    """A fundus-like upload had been offered an ISBI12 net (the nearest profile) and
    never the vessels one: its mask says what it shows, and only nets of that kind
    are offered, one that exists even where the nearest profile has no net."""
    entry = {"file": "models/tiny.pt", "arch": "unet", "loss": "bce", "fold": 1, "folds": 3}
    names = {"synthetic-vessels": "tiny-vessels", "crackforest": "tiny-cracks"}
    entries = [{**entry, "name": "tiny-isbi12", "data": "isbi12"}] + [
        {**entry, "name": names[d], "data": d} for d in curvilinear
    ]
    (tiny_manifest / "models/manifest.json").write_text(
        json.dumps({"checkpoints": entries}), encoding="utf-8"
    )
    if profiles:
        shutil.copy(PROFILES_FILE, tiny_manifest / "models/data_profiles.json")
    else:
        (tiny_manifest / "models/data_profiles.json").unlink(missing_ok=True)
    image = em_like(256)  # ISBI12's brightness and contrast: its profile says isbi12
    mask = np.zeros((256, 256), bool)
    mask[40:200, 120:123] = True  # one long vessel: most of the background one region
    mask[120:123, 40:200] = True
    at = AppTest.from_file(str(ROOT / "pages/4_inspect.py"), default_timeout=60)
    at.session_state["source"] = "upload"
    at.session_state["likelihood"] = "checkpoint"
    at.session_state["checkpoint"] = "tiny-isbi12"
    at.run()
    at.sidebar.get("file_uploader")[0].upload("scan.png", png_bytes(image), "image/png")
    at.sidebar.get("file_uploader")[1].upload("scan_mask.png", png_bytes(mask))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "scan.png shows curvilinear structures" in warning and "tiny-isbi12" in warning
    offered = [b.label for b in at.sidebar.button if b.key in ("use_kind", "use_nearest")]
    assert len(offered) == 1 and "tiny-isbi12" not in offered[0], offered
    assert any(names[d] in offered[0] for d in curvilinear)
    next(b for b in at.sidebar.button if b.key == "use_kind").click().run()
    assert at.session_state["checkpoint"] in [names[d] for d in curvilinear]
    assert not any("shows curvilinear" in w.value for w in at.sidebar.warning)


def test_an_uploaded_cli_checkpoint_keeps_its_fold_and_dimensions():
    """train writes fold as "1/3": the uploaded net's entry dropped it (only an int
    was read), and the sidebar said no fold."""
    from topoviz import checkpoints
    from topoviz.provenance import entry_of_meta

    _, meta = checkpoints.load(ROOT / "models" / "isbi12_f1_unet_topo.pt")
    assert meta["fold"] == "1/3"
    entry = entry_of_meta(meta, "isbi12_f1_unet_topo.pt")
    assert (entry["fold"], entry["folds"], entry["topo_dims"]) == (1, 3, [1])
    assert describe(entry).startswith("trained on isbi12 (fold 1 of 3, held out: 00–09)")
    assert describe(entry).endswith("(the paper's matching, holes)")
