"""Heavy but legitimate images: the interactive views work on at most 1024², and no
figure sends more than a few MB to the browser however large its input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from topoviz import figures
from topoviz.imageio import png_bytes
from topoviz.persistence import diagram
from topoviz.ui import state as S
from topoviz.ui.working import MAX_SIDE, fit

ROOT = Path(__file__).resolve().parent.parent
#: "A figure never exceeds a few MB" (issue 14): the bound every figure here meets.
FEW_MB = 4 * 2**20


def mb(fig) -> int:
    return len(fig.to_json())


@pytest.fixture(scope="module")
def noise_1024():
    """The worst case for a diagram: 1024² of noise has ~330,000 dots."""
    f = np.random.default_rng(0).random((1024, 1024))
    return f, diagram(f)


def test_a_diagram_of_a_third_of_a_million_dots_stays_a_few_mb(noise_1024):
    f, dgm = noise_1024
    assert len(dgm[0]) + len(dgm[1]) > 300_000  # 26 MB of plot data before decimation
    g = np.zeros_like(f)
    g[:, 512] = 1
    from topoviz.matching import match

    m = match(dgm, diagram(g))
    fig = figures.diagram_plot(dgm, diagram(g), m, highlight=(1, 7))
    assert mb(fig) < FEW_MB, mb(fig)
    for k in (0, 1):
        trace = next(t for t in fig.data if (t.name or "").startswith(f"Dgm(f) dim {k}"))
        assert len(trace.x) <= figures.MAX_DOTS + 1
        assert f"{len(dgm[k])} dots (" in trace.name and "most persistent drawn" in trace.name
        shown = trace.customdata[:, 0].astype(int)  # the most persistent are the ones drawn
        top = np.argsort(-dgm[k].persistence, kind="stable")[: figures.MAX_DOTS]
        assert set(top) <= set(shown)
    assert 7 in next(t for t in fig.data if (t.name or "").startswith("Dgm(f) dim 1")).customdata[
        :, 0
    ].astype(int)  # the highlighted dot is drawn even when it is not among them


def test_image_figures_of_a_huge_input_stay_a_few_mb(noise_1024):
    f, dgm = noise_1024
    big = np.random.default_rng(1).random((3000, 2500)).astype(np.float32)
    errors = figures.error_map(big, big > 0.5, {"merged": big > 0.9})
    assert mb(errors) < FEW_MB, mb(errors)
    image = errors.data[0]
    assert image.type == "image" and image.dx == image.dy == 3  # 3000 / 3 <= 1024
    assert mb(figures.superlevel(f, 0.5)) < FEW_MB
    assert mb(figures.superlevel_animation(f, np.linspace(0.95, 0.05, 41))) < FEW_MB


def test_fit_crops_or_downscales_to_the_working_resolution():
    rng = np.random.default_rng(0)
    image = rng.random((1500, 1300)).astype(np.float32)
    mask = np.zeros((1500, 1300), bool)
    mask[:, 700] = True  # a one-pixel line
    crop, cmask, notice = fit(image, mask, "crop", (400, 9999))
    np.testing.assert_array_equal(crop, image[400:1424, 276:1300])  # moved inside
    assert cmask[:, 700 - 276].all() and "crop from row 400, column 276" in notice
    small, smask, notice = fit(image, mask, "downscale")
    assert small.shape == smask.shape == (750, 650) and "downscaled 2×" in notice
    assert np.isclose(small[0, 0], image[:2, :2].mean())
    assert smask[:, 350].all()  # the thin line survives (thicker where blocks meet it)
    same, same_mask, notice = fit(image[:MAX_SIDE, :900], mask[:MAX_SIDE, :900])
    assert same.shape == (MAX_SIDE, 900) and notice == ""


def _uploaded(page: str, name: str, image: np.ndarray) -> AppTest:
    """``page`` after an upload of ``image`` as ``name`` (f: the image itself)."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=300)
    at.session_state[S.SOURCE] = "upload"
    at.session_state[S.LIKELIHOOD] = "image"
    at.run()
    up = next(u for u in at.sidebar.get("file_uploader") if u.label.startswith("Image"))
    up.set_value((name, png_bytes(image), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_sidebar_gives_the_pages_a_working_resolution_with_a_notice():
    image = (np.random.default_rng(0).integers(0, 256, (1300, 1500)) / 255).astype(np.float32)
    at = _uploaded("pages/2_filtration.py", "big.png", image)
    sel = at.session_state[S.SELECTION]
    assert sel.image.shape == sel.f.shape == (1024, 1024)
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "1500×1300" in warning and "crop from row 0, column 0" in warning
    at.sidebar.slider(key="_fit_c:big.png:1300x1500").set_value(464).run()
    sel = at.session_state[S.SELECTION]
    np.testing.assert_allclose(sel.image, image[:1024, 464:1488], atol=1e-6)
    at.sidebar.radio(key="_fit_how:big.png:1300x1500").set_value("downscale").run()
    assert at.session_state[S.SELECTION].image.shape == (650, 750)
    assert "downscaled 2×" in " ".join(w.value for w in at.sidebar.warning)
    assert not at.exception and at.title


def test_the_diagrams_page_on_a_large_upload_sends_a_few_mb_per_chart():
    """The page that failed with a raw MessageSizeError (420.9 MB of plot data on a
    4000² photo): on a 1500² upload and its mask (47 MB a chart without the working
    resolution and the decimation) every chart is now under 4 MB."""
    from topoviz.synthetic import membranes

    image, mask = membranes(1500, 0)
    at = AppTest.from_file(str(ROOT / "pages/3_diagrams.py"), default_timeout=300)
    at.session_state[S.SOURCE] = "upload"
    at.session_state[S.LIKELIHOOD] = "image"
    at.run()
    uploaders = at.sidebar.get("file_uploader")
    uploaders[0].set_value(("big.png", png_bytes(image), "image/png"))
    uploaders[1].set_value(("big_mask.png", png_bytes(mask), "image/png"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert len(charts) >= 2
    sizes = [len(chart.proto.spec) for chart in charts]
    assert max(sizes) < FEW_MB, sizes


def test_inspect_says_its_numbers_are_of_the_crop_of_a_large_upload():
    """A 1100×900 upload was scored on its 1024×900 crop; only the sidebar said so."""
    image = (np.random.default_rng(1).integers(0, 256, (900, 1100)) / 255).astype(np.float32)
    at = _uploaded("pages/4_inspect.py", "wide.png", image)
    said = " ".join(i.value for i in at.info)
    assert "1100×900" in said and "Every number on this page is of what is shown" in said
