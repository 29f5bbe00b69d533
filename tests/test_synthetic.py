"""Synthetic generators: one signature, determinism, and the structures they promise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy import ndimage as ndi
from skimage.measure import label

from topoviz import synthetic
from topoviz.synthetic import (
    DESCRIPTIONS,
    GENERATORS,
    cracks,
    fig3,
    fig3_deep,
    fig3_likelihood,
    make_dataset,
    membranes,
    roads,
    vessels,
)

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def n_components(mask: np.ndarray) -> int:
    """Foreground components, 4-connected (the filtration's convention)."""
    return int(label(mask, connectivity=1).max())


def n_holes(mask: np.ndarray) -> int:
    """Background components, 8-connected, that do not touch the image border."""
    lab = label(~mask, connectivity=2)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return len(np.setdiff1d(np.unique(lab), np.append(border, 0)))


# ------------------------------------------------------------------ every generator


def test_registry_lists_every_generator_with_a_description():
    assert set(GENERATORS) == {"membranes", "vessels", "cracks", "roads", "fig3"}
    assert set(DESCRIPTIONS) == set(GENERATORS)
    assert all(isinstance(d, str) and 10 < len(d) < 100 for d in DESCRIPTIONS.values())


@pytest.mark.parametrize("name", list(GENERATORS))
@pytest.mark.parametrize("size", [96, (64, 112)])
def test_shapes_dtypes_ranges(name, size):
    image, mask = GENERATORS[name](size, 3)
    shape = (size, size) if isinstance(size, int) else size
    assert image.shape == shape and mask.shape == shape
    assert image.dtype == np.float32 and mask.dtype == bool
    assert np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1
    assert image.std() > 0.02  # not a flat picture
    assert 0.005 < mask.mean() < 0.5  # a thin structure, present


@pytest.mark.parametrize("name", list(GENERATORS))
def test_same_seed_same_pair_other_seed_other_pair(name):
    a_img, a_mask = GENERATORS[name](80, 11)
    b_img, b_mask = GENERATORS[name](80, 11)
    c_img, c_mask = GENERATORS[name](80, 12)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_mask, b_mask)
    assert not np.array_equal(a_img, c_img)
    if name != "fig3":  # fig3's ground truth moves only slightly with the seed
        assert not np.array_equal(a_mask, c_mask)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_bad_sizes_are_refused(name):
    with pytest.raises(ValueError, match="size"):
        GENERATORS[name](8, 0)
    with pytest.raises(ValueError, match="size"):
        GENERATORS[name]((64, 64, 3), 0)


# ------------------------------------------------------------------------ membranes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_membranes_enclose_many_cells(seed):
    _, mask = membranes(128, seed, n_cells=16)
    cells = label(~mask, connectivity=2)
    sizes = np.bincount(cells.ravel())[1:]
    assert (sizes > 20).sum() >= 12  # most of the 16 cells are their own region
    # Walls are wide enough that no cell leaks into another through a corner:
    # counting the background 4- or 8-connected gives the same cells (ignoring
    # slivers of a pixel or two beside junctions).
    sizes4 = np.bincount(label(~mask, connectivity=1).ravel())[1:]
    assert (sizes4 >= 5).sum() == (sizes >= 5).sum()


def test_membrane_thickness_knob():
    thin = membranes(128, 0, thickness=2.0)[1].mean()
    thick = membranes(128, 0, thickness=4.0)[1].mean()
    assert 1.6 < thick / thin < 2.4


def test_membrane_gaps_are_faint_in_the_image_and_closed_in_the_mask():
    img_gap, mask_gap = membranes(128, 5, gap_rate=1.0, gap_contrast=0.1, noise=0)
    img_full, mask_full = membranes(128, 5, gap_rate=1.0, gap_contrast=1.0, noise=0)
    assert np.array_equal(mask_gap, mask_full)  # gaps never touch the ground truth
    faded = (img_gap - img_full) > 0.1  # lighter where the membrane fades
    assert faded.sum() > 50
    near_membrane = ndi.binary_dilation(mask_gap, iterations=2)  # the blurred edge
    assert near_membrane[faded].mean() > 0.95  # ... and that is on the membrane
    # No gaps at all: the image is exactly the full-contrast one.
    no_gap = membranes(128, 5, gap_rate=0.0, noise=0)[0]
    assert np.array_equal(no_gap, membranes(128, 5, gap_rate=0.0, gap_contrast=0.5, noise=0)[0])


def test_membranes_look_like_em():
    image, mask = membranes(128, 0)
    assert image[mask].mean() + 0.2 < image[~mask].mean()  # dark membranes


def test_membrane_knobs_are_checked():
    with pytest.raises(ValueError, match="thickness"):
        membranes(64, 0, thickness=1.5)
    with pytest.raises(ValueError, match="gap_rate"):
        membranes(64, 0, gap_rate=1.5)


# ----------------------------------------------------- vessels, cracks and roads


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_vessel_trees_are_connected(seed):
    image, mask = vessels(128, seed, n_trees=2)
    assert 1 <= n_components(mask) <= 2  # each tree is 4-connected (trees may cross)
    assert image[mask].mean() + 0.1 < image[~mask].mean()  # dark vessels


def test_vessel_width_knob():
    assert vessels(128, 0, width=8)[1].mean() > vessels(128, 0, width=3)[1].mean()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cracks_are_thin_connected_and_dark(seed):
    image, mask = cracks(128, seed, n_cracks=2)
    assert 1 <= n_components(mask) <= 2
    assert mask.mean() < 0.08
    assert image[mask].mean() + 0.1 < image[~mask].mean()


def test_faint_knob_fades_cracks():
    dark = cracks(128, 4, faint=0.0, noise=0)
    faint = cracks(128, 4, faint=1.0, noise=0)
    assert np.array_equal(dark[1], faint[1])
    assert faint[0][faint[1]].mean() > dark[0][dark[1]].mean() + 0.1


def test_roads_meet_at_junctions():
    image, mask = roads(128, 0, n_roads=4)
    assert n_components(mask) <= 2  # roads across and down cross each other
    assert n_holes(mask) >= 1  # a grid encloses blocks
    assert image[mask].mean() > image[~mask].mean()  # roads are lighter than the ground


def test_road_occlusion_hides_road_in_the_image_only():
    clear_img, clear_mask = roads(128, 2, occlusion=0.0)
    hidden_img, hidden_mask = roads(128, 2, occlusion=4.0)
    assert np.array_equal(clear_mask, hidden_mask)
    dark = lambda img: (img[clear_mask] < 0.4).mean()  # noqa: E731
    assert dark(hidden_img) > dark(clear_img) + 0.05


# ----------------------------------------------------------------------------- fig3


@settings(max_examples=25)
@given(
    h=st.integers(40, 160),
    w=st.integers(40, 160),
    seed=st.integers(0, 2**31),
    gap_depth=st.floats(0.02, 0.4),
)
def test_fig3_topology(h, w, seed, gap_depth):
    f, g = fig3((h, w), seed, gap_depth=gap_depth)
    assert n_components(g) == 1 and n_holes(g) == 2  # Fig. 3(b)
    x = f >= 0.5
    assert n_components(x) == 2 and n_holes(x) == 1  # Fig. 3(a)
    assert not (x & ~g).any()  # the segmentation only loses structure


@pytest.mark.parametrize("size", [48, 96, (64, 128)])
def test_fig3_deep_has_the_same_segmentation_and_deeper_gaps(size):
    f, g = fig3_likelihood(size, 7)
    f_deep, g_deep = fig3_deep(size, 7)
    assert np.array_equal(g, g_deep)
    assert np.array_equal(f >= 0.5, f_deep >= 0.5)
    assert (f_deep <= f + 1e-7).all()
    gaps = g & (f < 0.5)
    assert f_deep[gaps].min() < f[gaps].min() - 0.2
    assert np.array_equal(fig3(size, 7)[0], f)  # the generator is fig3_likelihood


def test_fig3_saddles_sit_at_the_gap_depth():
    """The broken bridge and handle are dots of Dgm(f) at 0.5 - gap_depth (Fig. 4(e))."""
    persistence = pytest.importorskip("topoviz.persistence")
    for depth in (0.1, 0.35):
        f, _ = fig3_likelihood(96, 1, gap_depth=depth)
        dgm = persistence.diagram(f, frame=False)
        # The extra component dies at the bridge's saddle ...
        deaths = 1 - dgm[0].points[dgm[0].persistence > 0.2, 1]
        assert np.isclose(np.sort(deaths)[-1], 0.5 - depth, atol=0.01)
        # ... and the broken handle is born at the ring's.
        births = 1 - dgm[1].points[:, 0]
        assert np.isclose(births, 0.5 - depth, atol=0.01).sum() == 1


def test_fig3_gap_depth_is_checked():
    with pytest.raises(ValueError, match="gap_depth"):
        fig3(64, 0, gap_depth=0.6)


# ---------------------------------------------------------------- datasets and CLI


def test_make_dataset_is_reproducible_and_prefix_stable():
    images, masks = make_dataset("cracks", 3, (48, 64), seed=5)
    assert images.shape == (3, 48, 64) and images.dtype == np.float32
    assert masks.shape == (3, 48, 64) and masks.dtype == bool
    again, _ = make_dataset("cracks", 2, (48, 64), seed=5)
    assert np.array_equal(images[:2], again)  # item i does not depend on n
    assert not np.array_equal(images[0], images[1])
    assert not np.array_equal(images, make_dataset("cracks", 3, (48, 64), seed=6)[0])
    image0, _ = cracks((48, 64), synthetic.item_seed(5, 0))
    assert np.array_equal(images[0], image0)


def test_make_dataset_passes_knobs_and_checks_names():
    _, thick = make_dataset("membranes", 1, 64, 0, thickness=4.0)
    _, thin = make_dataset("membranes", 1, 64, 0, thickness=2.0)
    assert thick.mean() > thin.mean()
    with pytest.raises(ValueError, match="unknown generator"):
        make_dataset("clouds", 1, 64, 0)


def test_cli_writes_pngs_index_and_readme(tmp_path):
    synthetic.main(["--out", str(tmp_path), "--size", "48"])
    index = json.loads((tmp_path / "index.json").read_text(encoding="utf-8"))
    assert len(index) == 2 * len(GENERATORS)
    for item in index:
        assert set(item) == {"name", "image", "mask", "generator", "seed", "size", "description"}
        image = np.array(Image.open(tmp_path / item["image"]))
        mask = np.array(Image.open(tmp_path / item["mask"]))
        assert image.shape == mask.shape == (48, 48)
        assert image.dtype == mask.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 255}
        expected_img, expected_mask = GENERATORS[item["generator"]](48, item["seed"])
        assert np.array_equal(mask == 255, expected_mask)
        assert np.abs(image / 255 - expected_img).max() <= 0.5 / 255 + 1e-6
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert f"python -m topoviz.synthetic --out {tmp_path.as_posix()} --size 48" in readme


def test_committed_sample_data_is_what_the_generators_make():
    if not (SAMPLE_DATA / "index.json").exists():
        pytest.skip("sample_data/ not generated")
    index = json.loads((SAMPLE_DATA / "index.json").read_text(encoding="utf-8"))
    assert "python -m topoviz.synthetic --out sample_data --size 256" in (
        SAMPLE_DATA / "README.md"
    ).read_text(encoding="utf-8")
    for item in index:
        image, mask = GENERATORS[item["generator"]](tuple(item["size"]), item["seed"])
        stored = np.array(Image.open(SAMPLE_DATA / item["image"])) / 255
        stored_mask = np.array(Image.open(SAMPLE_DATA / item["mask"])) == 255
        assert np.array_equal(stored_mask, mask), item["name"]
        # one grey level of slack for floating-point differences across platforms
        assert np.abs(stored - image).max() <= 1.5 / 255, item["name"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--size", "8"], "--size must be in 32..2048; got 8"),
        (["--size", "100000"], "--size must be in 32..2048"),
        (["--out", "FILE"], "is a file; give a folder"),
    ],
)
def test_the_sample_writer_refuses_in_one_line(argv, words, tmp_path, capsys):
    from topoviz.synthetic import main

    file = tmp_path / "f.txt"
    file.write_text("keep me")
    with pytest.raises(SystemExit) as exc:
        main([str(file) if a == "FILE" else a for a in argv])
    assert exc.value.code == 2 and words in capsys.readouterr().err
    assert file.read_text() == "keep me"


@pytest.mark.parametrize("seed", [0, 1, 17, 42, 99])
@pytest.mark.parametrize("frame", [True, False])
def test_fig4s_example_has_only_the_figures_own_events(seed, frame):
    """Classroom's Fig. 4 steps through event_levels of fig3_likelihood(hills=0):
    the structures appear (0.8), the two gaps close (0.4, 0.38), the holes fill, all
    at once (0.02). The background's exponential tail had made each hole fill at its
    own level in 0.020-0.024, four steps a class could not tell apart."""
    from topoviz.filtration import event_levels
    from topoviz.persistence import diagram

    f, _ = fig3_likelihood(96, seed, 0.1, hills=0.0)
    levels = event_levels(diagram(f.astype(np.float64), frame=frame), min_persistence=0.05)
    assert len(levels) == 7  # f's values are float32: compare to their precision
    assert levels[0] == 1.0 and levels[2] == 0.5 and levels[6] == 0.0  # α's ends, 0.5
    assert levels[1] == pytest.approx(0.8, abs=1e-6)  # the structures appear
    # the two gaps close in the paper's Fig. 4(d) order: the shorter handle is born
    # (the ring's gap, 0.4), then the extra component dies (the bridge's, 0.38)
    assert levels[3:5] == pytest.approx([0.4, 0.38], abs=0.002)
    dgm = diagram(f.astype(np.float64), frame=frame)
    before, ring, bridge = (dgm.betti(a) for a in levels[2:5])
    assert ring[1] == before[1] + 1 and ring[0] == before[0]
    assert bridge[0] == ring[0] - 1 and bridge[1] == ring[1]
    assert levels[5] == pytest.approx(0.02, abs=1e-6)  # the holes fill, all at once
