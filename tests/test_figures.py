"""The plotly builders: they draw on the samples, one marker per dot, α where it belongs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as hst

from topoviz import figures, metrics
from topoviz.imageio import load_image, load_mask
from topoviz.loss import critical_targets
from topoviz.matching import match
from topoviz.metrics import betti_numbers
from topoviz.persistence import diagram
from topoviz.synthetic import fig3_likelihood

SAMPLES = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def sample():
    item = json.loads((SAMPLES / "index.json").read_text(encoding="utf-8"))[0]
    image = load_image(SAMPLES / item["image"])
    mask = load_mask(SAMPLES / item["mask"], shape=image.shape)
    f = (1.0 - image).astype(np.float64)
    dgm_f, dgm_g = diagram(f), diagram(mask.astype(np.float64))
    m = match(dgm_f, dgm_g)
    return image, mask, f, dgm_f, dgm_g, m


@pytest.fixture(scope="module")
def small():
    f, g = fig3_likelihood(64, 0, 0.1)
    f, g = f.astype(np.float64), g.astype(np.float64)
    dgm_f, dgm_g = diagram(f, frame=False), diagram(g, frame=False)
    return f, g, dgm_f, dgm_g, match(dgm_f, dgm_g)


def test_diagram_plot_one_marker_per_dot(sample):
    _, _, _, dgm_f, dgm_g, m = sample
    fig = figures.diagram_plot(dgm_f, dgm_g, m, highlight=(1, 0))
    for k in (0, 1):
        dots = [t for t in fig.data if (t.name or "").startswith(f"Dgm(f) dim {k}")]
        assert len(dots) == 1 and len(dots[0].x) == len(dgm_f[k])
        gt = [t for t in fig.data if (t.name or "").startswith(f"Dgm(g) dim {k}")]
        assert len(gt[0].x) == len(dgm_g[k])
    assert any((t.name or "").startswith("selected dot") for t in fig.data)
    # Arrows go from a dot to its target, at most max_arrows per dimension.
    panels = figures.matching_arrows(fig)
    assert len(panels) == 2 and all(0 < len(starts) <= 40 for starts, _ in panels)
    for k, (starts, ends) in enumerate(panels):
        for start, end in zip(starts, ends, strict=True):
            (i,) = np.flatnonzero((m[k].points == start).all(axis=1))[:1]
            assert np.allclose(end, m[k].targets[i])
    heads = next(t for t in fig.data if t.name == "matching arrows").marker
    assert heads.symbol == "arrow" and list(heads.size[:3]) == [0, 10, 0]  # at the end only


def test_a_clicked_dot_is_read_back_from_the_chart(sample):
    """Clicking a dot of Dgm(f) selects that dot: the selection event's customdata
    (as Streamlit passes it back) names the dimension and index of the dot clicked."""
    from topoviz.ui.state import dot_from_selection

    _, _, _, dgm_f, dgm_g, m = sample
    fig = figures.diagram_plot(dgm_f, dgm_g, m)
    for k in (0, 1):
        trace = next(t for t in fig.data if (t.name or "").startswith(f"Dgm(f) dim {k}"))
        i = int(np.argmax(dgm_f[k].persistence))
        point = {"curve_number": 0, "point_index": i, "customdata": list(trace.customdata[i])}
        assert np.allclose(trace.customdata[i][1:3], (dgm_f[k].birth[i], dgm_f[k].death[i]))
        assert dot_from_selection({"selection": {"points": [point]}}) == (k, i)
        # what Streamlit really sends back (seen in the browser): the array as a dict
        point["customdata"] = {str(j): v for j, v in enumerate(point["customdata"])}
        assert dot_from_selection({"selection": {"points": [point]}}) == (k, i)
    # a ground-truth diamond (no customdata), no selection, or no event: nothing picked
    diamond = {"selection": {"points": [{"curve_number": 2, "point_index": 0, "x": 0, "y": 1}]}}
    assert dot_from_selection(diamond) is None
    assert dot_from_selection({"selection": {"points": []}}) is None
    assert dot_from_selection(None) is None


def test_diagram_plot_alpha_hides_unborn_dots(small):
    _, _, dgm_f, _, _ = small
    alpha = 0.5
    fig = figures.diagram_plot(dgm_f, alpha=alpha)
    for k in (0, 1):
        trace = next(t for t in fig.data if (t.name or "").startswith(f"Dgm(f) dim {k}"))
        shown = np.isfinite(np.asarray(trace.x, float))
        assert shown.sum() == (dgm_f[k].birth >= alpha).sum()


def test_barcode_bars_and_alpha_line(sample):
    _, _, _, dgm_f, _, _ = sample
    fig = figures.barcode(dgm_f, alpha=0.37, max_bars=25)
    for k, trace in zip((0, 1), fig.data, strict=True):
        assert list(trace.x).count(None) == min(25, len(dgm_f[k]))  # one segment per bar
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == pytest.approx(0.37)


def test_barcode_shows_every_bar_of_a_small_diagram(small):
    _, _, dgm_f, _, _ = small
    fig = figures.barcode(dgm_f, max_bars=None)
    assert [list(t.x).count(None) for t in fig.data] == [len(dgm_f[0]), len(dgm_f[1])]
    assert not fig.layout.shapes


def test_betti_curves_match_the_diagram(small):
    f, _, dgm_f, _, _ = small
    alphas = np.linspace(0.05, 0.95, 10)
    fig = figures.betti_curves(dgm_f, alphas, alpha=0.5)
    for k in (0, 1):
        assert list(fig.data[k].y) == [dgm_f.betti(a)[k] for a in alphas]
    assert fig.layout.shapes[0].x0 == 0.5
    from_array = figures.betti_curves(f, alphas)  # the same from the array
    assert [list(t.y) for t in from_array.data][0] != []


@pytest.mark.parametrize("frame", [True, False])
def test_superlevel_counts_agree_with_labelling(small, frame):
    f = small[0]
    for alpha in (0.3, 0.5, 0.8):
        rgb, b0, b1 = figures.superlevel_rgb(f, alpha, frame)
        assert rgb.shape == (*f.shape, 3) and rgb.dtype == np.uint8
        assert (b0, b1) == betti_numbers(f >= alpha, frame=frame)
        assert (b0, b1) == tuple(diagram(f, frame=frame).betti(alpha).values())
    fig = figures.superlevel(f, 0.5, frame)
    assert isinstance(fig.data[0], go.Image) and "β0" in fig.layout.title.text


def test_a_region_keeps_its_colour_as_alpha_moves():
    """Coloured by label number, a cell changed colour from frame to frame of the
    animation (labels are renumbered as regions appear). Now a component keeps the
    colour of its highest pixel, the older one's when two merge, and a hole that of
    its lowest."""
    f = np.full((20, 40), 0.1)
    f[3:17, 3:17] = 0.9  # a ring (old component) around a hole that fills at 0.3
    f[7:13, 7:13] = 0.3
    f[5:15, 24:34] = 0.7  # a younger blob, joined to the ring by a bridge at 0.5
    f[9:11, 17:24] = 0.5
    f[0:2, 0:2] = 0.45  # a speck born at 0.45, first in raster order: labels renumber
    rgb = {a: figures.superlevel_rgb(f, a, frame=False)[0] for a in (0.8, 0.6, 0.4)}
    ring, hole, blob = (4, 4), (10, 10), (10, 29)
    assert {tuple(rgb[a][ring]) for a in rgb} == {tuple(rgb[0.8][ring])}  # one colour
    assert {tuple(rgb[a][hole]) for a in rgb} == {tuple(rgb[0.8][hole])}
    assert tuple(rgb[0.6][blob]) != tuple(rgb[0.6][ring])  # apart, told apart (here)
    assert tuple(rgb[0.4][blob]) == tuple(rgb[0.8][ring])  # merged: the elder's colour


def test_superlevel_animation_has_one_frame_per_alpha(small):
    fig = figures.superlevel_animation(small[0], np.linspace(1, 0, 5))
    assert len(fig.frames) == 5 and len(fig.layout.sliders[0].steps) == 5


def test_landscape_draws_critical_pixels_and_forces(small):
    f, _, dgm_f, _, m = small
    ct = critical_targets(dgm_f, m)
    fig = figures.landscape(f, ct, highlight=(0, int(np.argmax(m[0].dot_cost))), max_arrows=10)
    surface = fig.data[0]
    assert isinstance(surface, go.Surface) and np.asarray(surface.z).shape == f.shape
    markers = [t for t in fig.data if (t.name or "").startswith("critical pixel")]
    assert 0 < sum(len(t.x) for t in markers) <= 10
    assert any((t.name or "").startswith("selected dot") for t in fig.data)
    # the legend shows each marker as drawn: one colour and one symbol per trace
    for t in fig.data:
        if isinstance(t, go.Scatter3d) and t.mode == "markers":
            assert isinstance(t.marker.color, str) and isinstance(t.marker.symbol, str)
    assert fig.layout.scene.zaxis.title.text


def test_landscape_subsamples_and_windows(sample):
    _, _, f, dgm_f, _, m = sample
    ct = critical_targets(dgm_f, m)
    assert np.asarray(figures.landscape(f, ct, max_side=64).data[0].z).shape == (64, 64)
    fig = figures.landscape(f, ct, window=(10, 40, 20, 60))
    assert np.asarray(fig.data[0].z).shape == (30, 40)
    for t in fig.data[1:2]:
        assert all(10 <= y < 40 for y in t.y) and all(20 <= x < 60 for x in t.x)


def test_landscape_map_points_each_force_the_way_it_pushes(sample):
    _, _, f, dgm_f, _, m = sample
    ct = critical_targets(dgm_f, m)
    window = (10, 90, 20, 120)
    fig = figures.landscape_map(f, ct, highlight=(1, 0), max_arrows=40, window=window)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap) and np.asarray(heat.z).shape == (80, 100)
    assert (heat.zmin, heat.zmax) == (0, 1)  # f on a fixed scale: 0 black, 1 white
    marks = [t for t in fig.data if isinstance(t, go.Scatter) and t.name.startswith("the loss")]
    assert marks and sum(len(t.x) for t in marks) <= 40
    for t in marks:
        rows, cols = np.asarray(t.y), np.asarray(t.x)
        assert ((rows >= 10) & (rows < 90) & (cols >= 20) & (cols < 120)).all()
        up = t.marker.symbol == "triangle-up"
        assert ("raises" in t.name) == up
        at = {(int(r), int(c)) for r, c in zip(rows, cols, strict=True)}
        assert at <= {(int(r), int(c)) for r, c in ct.pixel}  # marks sit on critical pixels
        # the legend counts what is drawn, and says when the cap of 40 left some out
        capped = len(figures._in_window(ct, window).pixel) > 40
        assert capped  # this sample has more forces in the window than 40
        assert t.name.endswith(f": {len(t.x)} in view (the 40 strongest of both kinds are drawn)")
    every = figures.landscape_map(f, ct, max_arrows=10**6, window=window)
    assert all(t.name.endswith(" in view") for t in every.data[1:] if "the loss" in t.name)
    # each mark's direction is its force's sign (the hover text carries the force)
    for t in marks:
        signs = {float(s.split("force ")[1]) > 0 for s in t.text}
        assert signs == {t.marker.symbol == "triangle-up"}
    # a stronger force has a larger mark, on one scale for every chart (text: 3 decimals)
    force = np.concatenate([[abs(float(s.split("force ")[1])) for s in t.text] for t in marks])
    size = np.concatenate([np.asarray(t.marker.size) for t in marks])
    assert np.allclose(size, 6 + 12 * np.minimum(force, 1), atol=0.01)


def test_critical_pixels_picture_rings_the_selected_dot(sample):
    image, _, _, dgm_f, _, _ = sample
    plain = figures.critical_pixels_picture(image, dgm_f, max_dots=0, side=480)
    h, w = image.shape
    assert plain.dtype == np.uint8 and plain.shape == (
        480 * h // max(h, w),
        480 * w // max(h, w),
        3,
    )
    assert (plain[..., 0] == plain[..., 1]).all()  # grey: nothing drawn
    ringed = figures.critical_pixels_picture(image, dgm_f, highlight=(1, 0), max_dots=0)
    amber = np.all(ringed == np.frombuffer(bytes.fromhex(figures.HIGHLIGHT[1:]), np.uint8), axis=2)
    scale = 480 / max(h, w)
    r, c = dgm_f[1].birth_pixel[0]
    rows, cols = np.nonzero(amber)
    near = np.hypot(rows - (r + 0.5) * scale, cols - (c + 0.5) * scale) < 16
    assert near.sum() > 30  # a ring around the birth pixel
    magnified = figures.critical_pixels_picture(
        image, dgm_f, (1, 0), window=(r - 5, r + 6, c - 5, c + 6)
    )
    assert magnified.shape == (480, 480, 3)  # 11 pixels, each a 44-pixel block


def test_critical_pixels_picture_of_a_huge_image_is_a_few_hundred_pixels(sample):
    _, _, _, dgm_f, _, _ = sample
    big = np.random.default_rng(0).random((3000, 2500))
    assert figures.critical_pixels_picture(big, dgm_f, (1, 0)).shape == (480, 400, 3)


@given(
    pixels=hst.lists(hst.tuples(hst.integers(-1, 99), hst.integers(0, 79)), max_size=3),
    half=hst.integers(1, 30),
)
def test_window_around_holds_every_pixel_with_a_margin(pixels, half):
    shape = (100, 80)
    window = figures.window_around(pixels, shape, half=half, margin=4)
    real = [p for p in pixels if p[0] >= 0]
    if not real:
        assert window is None
        return
    r0, r1, c0, c1 = window
    assert 0 <= r0 < r1 <= 100 and 0 <= c0 < c1 <= 80
    for p in real:
        for x, lo, hi, n in zip(p, (r0, c0), (r1, c1), shape, strict=True):
            assert lo <= x < hi
            assert x - lo >= 4 or lo == 0  # a margin, unless at the image's edge
            assert hi - 1 - x >= 4 or hi == n
    for lo, hi, n in ((r0, r1, 100), (c0, c1, 80)):
        assert hi - lo >= 2 * half + 1 or lo == 0 or hi == n


def test_a_dot_two_windows_apart_is_still_inside():
    # the dot's pixels 48 rows apart: the old window (centre ± 24) left the death out
    assert figures.window_around([(62, 140), (110, 141)], (256, 256)) == (56, 117, 110, 171)


def test_diagram_plot_marks_the_selected_dot_as_plotlys_selection(sample):
    _, _, _, dgm_f, dgm_g, m = sample
    fig = figures.diagram_plot(dgm_f, dgm_g, m, selected=(1, 3), dims=(1,))
    t = next(t for t in fig.data if (t.name or "").startswith("Dgm(f) dim 1"))
    assert [int(t.customdata[i][0]) for i in t.selectedpoints] == [3]
    assert t.selected.marker.color == figures.HIGHLIGHT
    assert not any((t.name or "").startswith("selected dot") for t in fig.data)  # no ring
    plain = figures.diagram_plot(dgm_f, dgm_g, m, dims=(1,))
    assert next(t for t in plain.data if (t.name or "").startswith("Dgm(f)")).selectedpoints is None


def test_push_landing_picture_marks_each_push_in_its_colour():
    from topoviz.pushes import push_landings, spurious_blob_example

    f, g = spurious_blob_example()
    dgm_f = diagram(f)
    landed = push_landings(f, g, critical_targets(dgm_f, match(dgm_f, diagram(g))))
    pic = figures.push_landing_picture(f, g, landed, side=300)
    pad = figures.PICTURE_PAD  # a white margin: a mark on an edge pixel is whole
    panel = 300 + 2 * pad
    assert pic.shape == (panel, 2 * panel + 12, 3)  # two panels and a 12-pixel gap
    scale = 300 / f.shape[0]
    for p, up, right in zip(landed.pixel, landed.up, landed.right, strict=True):
        colour = bytes.fromhex(figures.LANDING_STYLE[(bool(up), bool(right))][1][1:])
        for x0 in (pad, panel + 12 + pad):  # the mark on the image and on the ground truth
            y, x = (int((v + 0.5) * scale) + pad for v in p)
            # the triangle's inside, a pixel towards its base from the centre
            assert bytes(pic[y + (2 if up else -2), x0 - pad + x]) == colour


def test_a_mark_on_an_edge_pixel_is_drawn_whole():
    """A push on the image's first column was cut in half at the picture's edge."""
    from types import SimpleNamespace

    f = np.full((30, 30), 0.5)
    at = np.array([[15, 0]])
    landed = SimpleNamespace(pixel=at, up=np.array([True]), right=np.array([False]),
                             size=np.array([1.0]))  # fmt: skip
    pic = figures.push_landing_picture(f, f > 1, landed, side=300)
    colour = np.frombuffer(bytes.fromhex(figures.LANDING_STYLE[(True, False)][1][1:]), np.uint8)
    marked = np.flatnonzero(np.all(pic == colour, axis=2).any(axis=0))
    assert marked.min() > 0  # white to the mark's left: all of it is in the picture


def test_landscape_picture_draws_deeper_gaps_larger():
    """Classroom Fig. 3: f′'s deeper gaps need stronger forces, drawn as larger marks."""
    area = []
    for depth in (0.1, 0.4):
        f, g = fig3_likelihood(96, 0, depth)
        f, g = f.astype(np.float64), g.astype(np.float64)
        dgm_f = diagram(f)
        ct = critical_targets(dgm_f, match(dgm_f, diagram(g)))
        pic = figures.landscape_picture(f, ct, max_arrows=6)
        assert pic.shape == (360 + 2 * figures.PICTURE_PAD, 360 + 2 * figures.PICTURE_PAD, 3)
        orange = np.all(pic == np.frombuffer(bytes.fromhex(figures.ARROW[1:]), np.uint8), axis=2)
        area.append(int(orange.sum()))
    assert 0 < area[0] < area[1]
    assert (figures.landscape_picture(f) == figures.landscape_picture(f, None)).all()


def test_topology_errors_finds_a_gap_and_a_wall():
    gt = np.zeros((20, 20), bool)
    gt[:, 10] = True  # one wall, two regions
    pred = gt.copy()
    pred[8:12, 10] = False  # a gap: the two regions merge
    pred[:, 4] = True  # a spurious wall splits the left region
    err = metrics.topology_errors(pred, gt)
    assert err["merged"].any() and err["split"].any()
    assert err["spurious"][:, 4].all() and err["spurious"].sum() == 20  # the wall touches no GT
    assert not err["missing"].any()
    assert figures.error_map(gt.astype(float), pred, err).data


def test_curves_build():
    reports = [{"step": i, "bce": 1 / (i + 1), "topo": 0.5 / (i + 1)} for i in range(5)]
    fig = figures.loss_curves(reports)
    assert [t.name for t in fig.data] == ["bce", "topo"] and len(fig.data[0].x) == 5
    assert not fig.layout.annotations and fig.layout.xaxis.range is None
    # before the first step: empty axes over the run's steps, and a note saying so
    empty = figures.loss_curves([], ("bce", "topo"), steps=60)
    assert [len(t.x) for t in empty.data] == [0, 0] and list(empty.layout.xaxis.range) == [0, 60]
    assert "first step" in empty.layout.annotations[0].text
    fig = figures.lambda_sweep([{"lam": 0, "accuracy": 0.9, "betti_error": 2.0}])
    assert list(fig.data[0].x) == [2.0]


@pytest.mark.parametrize("frame", [True, False])
def test_betti_curves_right_end_and_critical_levels_equal_labelling(small, frame):
    # Regression: the curve fell to β0 = 0 at α = 0 (the essential class dropped out).
    f = small[0]
    dgm = diagram(f, frame=frame)
    alphas = np.array([1.0, float(dgm[0].birth[1]), float(dgm[1].death[0]), 0.5, 0.0])
    fig = figures.betti_curves(dgm, alphas)
    for j, a in enumerate(alphas):
        assert (fig.data[0].y[j], fig.data[1].y[j]) == betti_numbers(f >= a, frame=frame)


def test_diagram_plot_at_alpha_zero_draws_the_essential_class_alive(small):
    _, _, dgm_f, _, _ = small
    fig = figures.diagram_plot(dgm_f, alpha=0.0)
    trace = next(t for t in fig.data if (t.name or "").startswith("Dgm(f) dim 0"))
    open_ = np.asarray(trace.marker.symbol) == 100
    index = np.asarray(trace.customdata)[:, 0].astype(int)  # each point's own dot
    assert open_.sum() == 1 and dgm_f[0].essential[index[open_]].all()
    # the alive first: the legend shows the first point's mark, the open circle
    assert open_[0] and "born by α = 0.00" in trace.name


def test_diagram_plot_at_a_level_keys_every_dimension_with_the_alive_mark():
    """Fig. 4's legend showed dim 0 with an open circle and dim 1 with a filled one
    (each its first point's), over dots drawn open."""
    from topoviz.synthetic import fig3_likelihood

    f, _ = fig3_likelihood(96, 0, 0.1, hills=0.0)
    dgm = diagram(f.astype(np.float64))
    fig = figures.diagram_plot(dgm, alpha=0.3)
    for k in (0, 1):
        trace = next(t for t in fig.data if (t.name or "").startswith(f"Dgm(f) dim {k}"))
        symbols = np.asarray(trace.marker.symbol)
        assert symbols[0] == 100 and (symbols == 100).any(), k
    assert fig.layout.yaxis.title.text == "1 − death" and fig.layout.yaxis2.title.text is None


def test_diagram_plot_hides_dots_below_epsilon_and_says_how_many(sample):
    _, _, _, dgm_f, dgm_g, m = sample
    eps = 0.05
    fig = figures.diagram_plot(dgm_f, dgm_g, m, min_persistence=eps, dims=(1,))
    (trace,) = [t for t in fig.data if (t.name or "").startswith("Dgm(f)")]
    small = dgm_f[1].persistence < eps
    shown = [int(c[0]) for c in trace.customdata]  # each dot keeps its own index
    assert small.any() and shown == list(np.flatnonzero(~small))
    np.testing.assert_array_equal(np.asarray(trace.x, float), dgm_f[1].points[~small, 0])
    assert f"({small.sum()} below ε hidden)" in trace.name
    ((starts, _),) = figures.matching_arrows(fig)  # one panel
    kept = {tuple(p) for p in starts}
    assert all(
        dgm_f[1].persistence[i] >= eps
        for i in range(len(dgm_f[1]))
        if tuple(dgm_f[1].points[i]) in kept
    )


def test_dot_rows_are_in_plot_coordinates_and_keep_the_selected_dot(sample):
    _, _, _, dgm_f, _, m = sample
    cheapest = int(np.argmin(m[0].dot_cost))
    rows = figures.dot_rows(dgm_f, m, top=3, selected=(0, cheapest))
    assert [r["cost"] for r in rows] == sorted((r["cost"] for r in rows), reverse=True)
    sel = [r for r in rows if r["selected"]]
    assert len(sel) == 1 and (sel[0]["dim"], sel[0]["dot"]) == (0, cheapest)
    for r in rows:
        p = dgm_f[r["dim"]].points[r["dot"]]
        assert (r["1 − birth"], r["1 − death"]) == (round(p[0], 3), round(p[1], 3))
        t = m[r["dim"]].targets[r["dot"]]
        assert (r["target (1 − birth)"], r["target (1 − death)"]) == (
            round(t[0], 3),
            round(t[1], 3),
        )


def test_lambda_sweep_joins_points_in_lambda_order_on_an_honest_axis():
    runs = [
        {"lam": 0.01, "accuracy": 0.951, "betti_error": 1.0},
        {"lam": 0.0, "accuracy": 0.952, "betti_error": 2.0},
        {"lam": 0.1, "accuracy": 0.950, "betti_error": 0.5},
    ]
    fig = figures.lambda_sweep(runs)
    assert list(fig.data[0].text) == ["λ=0", "λ=0.01", "λ=0.1"]
    assert list(fig.data[0].textposition) == ["top center", "bottom center", "top center"]
    assert list(fig.data[0].x) == [2.0, 1.0, 0.5]
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 0.05 and lo <= 0.950 and hi >= 0.952  # 0.2 % does not fill the plot
    # seen in the browser: four λ at one spot, four labels on top of each other
    same = [{"lam": v, "accuracy": 0.95, "betti_error": 0.045 + v / 100} for v in (0, 0.05, 0.2)]
    apart = {"lam": 0.5, "accuracy": 0.95, "betti_error": 0.4}
    assert list(figures.lambda_sweep([*same, apart]).data[0].text) == [
        "λ=0, 0.05, 0.2", "", "", "λ=0.5"
    ]  # fmt: skip


def test_lambda_regions_axes_read_whole_counts_and_distinct_percentages():
    """Seen in the browser: the counts axis read 0.303, 0.604 and the accuracy axis
    0.989 twice; later, the start joined to λ = 0 as if it were a λ, and the same
    accuracy drop a cliff here and flat in the other λ chart. Counts tick at whole
    numbers; accuracy in percent on the other chart's range; the start stands apart."""
    before = {"accuracy": 0.9895, "merges": 1, "splits": 0, "betti_error": 0.2}
    runs = [
        {"lam": 0.0, "accuracy": 0.9902, "merges": 0, "splits": 0, "betti_error": 0.1},
        {"lam": 0.5, "accuracy": 0.9899, "merges": 0, "splits": 0, "betti_error": 0.1},
    ]
    fig = figures.lambda_regions(runs, before)
    lines = [t for t in fig.data if t.showlegend is not False]
    starts = [t for t in fig.data if t.showlegend is False]
    assert all(list(t.x) == ["0", "0.5"] and "lines" in t.mode for t in lines)
    assert all(list(t.x) == ["start"] and t.mode == "markers" for t in starts)
    assert len(lines) == len(starts) == 3  # accuracy, merges, splits
    assert list(fig.layout.xaxis.categoryarray) == ["start", "0", "0.5"]  # the start at left
    y, y2 = fig.layout.yaxis, fig.layout.yaxis2
    assert y.tickformat == ".1%" and y.range[0] < 0.9895 and y.range[1] > 0.9902
    assert list(y.range) == list(figures.lambda_sweep(runs, before=before).layout.yaxis.range)
    assert y2.tickformat == "d" and y2.dtick == 1 and y2.range[1] > 1
    assert -0.2 < y2.range[0] < 0  # marks at 0 whole, not cut by the axis
    many = figures.lambda_regions(
        [{"lam": 0.1, "accuracy": 0.9, "merges": 40, "splits": 3}], before
    )
    assert many.layout.yaxis2.dtick == 8 and many.layout.yaxis2.range[1] > 40
    # with pinholes in every row, the cost is drawn beside the splits, on the counts' axis
    holed = figures.lambda_regions(
        [{"lam": 0.1, "accuracy": 0.9, "merges": 4, "splits": 3, "pinholes": 12}],
        {**before, "pinholes": 2},
    )
    pin = [t for t in holed.data if (t.name or "").startswith("pinholes (right)")]
    assert [list(t.y) for t in pin] == [[12], [2]] and holed.layout.yaxis2.range[1] > 12
    assert [t.name for t in lines] == [  # rows without pinholes: no such line
        "pixel accuracy (left)",
        "false merges (right)",
        "false splits (right)",
    ]
    # equal counts (1 merge, 1 split) drew one mark over the other: each series sits a
    # little apart in its λ, its start with it
    assert fig.layout.scattermode == "group"
    groups: dict[str, set] = {}
    for t in fig.data:  # each series and its start: one group, its own
        groups.setdefault(t.name.removesuffix(", start"), set()).add(t.offsetgroup)
    assert all(len(g) == 1 for g in groups.values()) and len(groups) == 3
    assert len(set().union(*groups.values())) == 3


def test_a_highlighted_dot_is_ringed_with_or_without_forces(sample):
    # the Lesson's landscape step selects a dot but draws no forces: its pixels come
    # from the diagram (they came from the forces, so nothing was ringed)
    _, _, f, dgm_f, _, m = sample
    d = dgm_f[1]
    i = int(np.flatnonzero(d.death_pixel[:, 0] >= 0)[0])
    for draw in (figures.landscape_map, figures.landscape):
        fig = draw(f, None, highlight=(1, i), dgm=dgm_f)
        ring = [t for t in fig.data if (t.name or "").startswith("selected dot")]
        assert len(ring) == 1
        got = {(int(y), int(x)) for x, y in zip(ring[0].x, ring[0].y, strict=True)}
        assert got == {
            tuple(int(v) for v in d.birth_pixel[i]),
            tuple(int(v) for v in d.death_pixel[i]),
        }
        if draw is figures.landscape:
            assert list(ring[0].text) == ["birth", "death"]
        else:  # the top view labels them on a dark box, readable on black and on white
            labels = [a for a in fig.layout.annotations if a.text in ("birth", "death")]
            assert [a.text for a in labels] == ["birth", "death"]
            assert all(a.bgcolor and a.font.color == figures.HIGHLIGHT for a in labels)
        # the frame's essential dot has no pixel in the image: nothing ringed, no error
        frame_dot = int(np.flatnonzero(dgm_f[0].birth_pixel[:, 0] < 0)[0])
        empty = draw(f, None, highlight=(0, frame_dot), dgm=dgm_f)
        assert not [t for t in empty.data if (t.name or "").startswith("selected dot")]


@given(
    seed=hst.integers(0, 10_000),
    eps=hst.sampled_from([0.0, 0.05, 0.2]),
    top=hst.integers(1, 8),
    rule=hst.sampled_from(["paper", "optimal"]),
)
def test_the_cost_parts_add_up_to_each_dimensions_cost(seed, eps, top, rule):
    # the Diagrams page's table caption: rows + rest + hidden + unmatched = the cost
    rng = np.random.default_rng(seed)
    f = rng.random((12, 12))
    g = np.zeros((12, 12))
    g[::4, :] = g[:, ::4] = 1.0  # a grid: several true holes
    dgm_f = diagram(f)
    m = match(dgm_f, diagram(g), rule=rule)
    selected = (1, int(rng.integers(len(dgm_f[1])))) if len(dgm_f[1]) else None
    parts = figures.cost_parts(dgm_f, m, eps, top=top, selected=selected)
    rows = figures.dot_rows(dgm_f, m, top=top, selected=selected, min_persistence=eps)
    for k, part in parts.items():
        total = part["rows"] + part["rest"] + part["hidden"] + part["unmatched_gt"]
        assert total == pytest.approx(m[k].cost, abs=1e-9)
        listed = [r["dot"] for r in rows if r["dim"] == k]  # the table's own rows
        assert part["rows"] == pytest.approx(float(m[k].dot_cost[listed].sum()), abs=1e-12)
        below = dgm_f[k].persistence < eps
        below[listed] = False  # a selected dot below ε is listed, not hidden
        assert part["n_hidden"] == int(below.sum())
        words = figures.cost_parts_words(k, m[k].cost, part, eps)
        assert "; ." not in words and " 1 dots" not in words


def test_the_error_map_rings_pinholes_and_small_spurious_specks():
    """A 10-px spurious speck of a 512² image was 2 × 3 screen pixels: counted in the
    legend, invisible on the map. Pinholes and specks under 64 px are ringed."""
    pred = np.zeros((60, 60), bool)
    errors = {k: np.zeros((60, 60), bool) for k in figures.ERROR_COLORS}
    errors["spurious"][5:8, 5:8] = True  # 9 px: ringed
    errors["spurious"][20:40, 20:40] = True  # 400 px: seen without a ring
    errors["pinholes"][50:55, 50:55] = True
    pred |= errors["spurious"]
    fig = figures.error_map(np.ones((60, 60)), pred, errors)
    traces = {t.name.split(":")[0]: t for t in fig.data[1:]}
    assert (list(traces["spurious"].x), list(traces["spurious"].y)) == ([6.0], [6.0])
    assert (list(traces["pinholes"].x), list(traces["pinholes"].y)) == ([52.0], [52.0])
    assert list(traces["merged"].x) == [None]  # a legend entry only
    rgb = figures.error_map_rgb(np.ones((60, 60)), pred, errors)
    assert rgb[30, 30, 2] > 100 and rgb[30, 30, 0] > 80  # purple on the dark prediction


def test_the_error_map_rings_a_broken_crack_where_it_breaks():
    """A split crack was tinted whole: the map did not say where it broke."""
    gt = np.zeros((40, 120), bool)
    gt[20, 5:115] = True
    pred = gt.copy()
    pred[20, 40:43] = False  # one 3-px gap: two pieces
    errors = metrics.topology_errors(pred, gt, "curvilinear", min_region=10)
    assert errors["split"].sum() == gt.sum()  # the whole crack is the split region
    fig = figures.error_map(np.ones(gt.shape), pred, errors)
    split = next(t for t in fig.data[1:] if t.name.startswith("split"))
    assert split.name == "split: 1 region, broken at 1 place (crossed)"
    assert list(split.y) == [20.0] and 39 <= split.x[0] <= 43  # at the gap, not mid-crack
    membranes = metrics.topology_errors(~pred, ~gt, "membranes")
    assert "breaks" not in membranes
    # a break is marked by a cross, its own shape as well as its colour
    assert split.marker.symbol == figures.RING_SYMBOLS["split"] == "x-thin-open"
    # the PNG download: the same mark, drawn at the image's resolution, and the legend
    pic = figures.error_map_picture(np.ones(gt.shape), pred, errors)
    pad, radius = figures.PICTURE_PAD, figures.RING_RADIUS
    r, c = 20 + pad, int(round(split.x[0])) + pad
    orange = list(figures.ERROR_COLORS["split"])

    def near(y: int, x: int) -> bool:  # the mark's colour within a pixel of (y, x)
        return bool(
            (np.abs(pic[y - 1 : y + 2, x - 1 : x + 2].astype(int) - orange).sum(2) == 0).any()
        )

    for dy, dx in ((-1, -1), (1, 1), (-1, 1), (1, -1)):  # the four ends of the cross
        assert near(r + dy * radius, c + dx * radius), (dy, dx)
    assert not near(r - radius, c)  # a cross, not a ring
    assert pic.shape[0] > gt.shape[0] + 2 * pad + 16 * 4  # a line of legend a kind of error
    legend = pic[gt.shape[0] + 2 * pad :]
    assert (np.abs(legend.astype(int) - orange).sum(axis=2) == 0).any()  # its key
    # a second break that cuts off a piece too short to count: ringed, not counted
    pred[20, 100:102] = False
    errors = metrics.topology_errors(pred, gt, "curvilinear", min_region=20)
    assert metrics.region_errors(pred, gt, "curvilinear", min_region=20).splits == 1
    split = next(t for t in figures.error_map(np.ones(gt.shape), pred, errors).data[1:]
                 if t.name.startswith("split"))  # fmt: skip
    assert split.name == "split: 1 region, broken at 2 places (crossed)"


def test_small_missing_pieces_are_ringed():
    """A missing pixel inside a broken crack was counted in the legend, unseen."""
    pred = np.zeros((60, 60), bool)
    errors = {k: np.zeros((60, 60), bool) for k in figures.ERROR_COLORS}
    errors["missing"][30, 30] = True
    fig = figures.error_map(np.ones((60, 60)), pred, errors)
    missing = next(t for t in fig.data[1:] if t.name.startswith("missing"))
    assert (list(missing.x), list(missing.y)) == ([30.0], [30.0])
    # a large missing piece alone: nothing to ring, so the legend keeps its square
    errors["missing"][:] = False
    errors["missing"][5:25, 5:25] = True
    fig = figures.error_map(np.ones((60, 60)), pred, errors)
    missing = next(t for t in fig.data[1:] if t.name.startswith("missing"))
    assert missing.marker.symbol == "square" and list(missing.x) == [None]


def test_the_repair_window_finds_the_closed_gap_not_the_larger_thickening():
    """Lesson step 8 zooms on the repair: the added pixels beside the merged region
    that part it, not a larger band of thickened membrane beside it."""
    gt = np.zeros((80, 80), bool)
    gt[:, 40] = True  # one wall: two cells
    before = gt.copy()
    before[60:63, 40] = False  # a gap: the cells merge
    after = gt.copy()
    after[5:30, 41:44] = True  # 75 px of thickening, beside the merged region too
    r0, r1, c0, c1 = figures.repair_window(figures.repair_piece(before, after, gt), half=6)
    assert r0 <= 60 and 62 < r1 and c0 <= 40 < c1  # the 3 px that closed the gap
    assert figures.repair_window(figures.repair_piece(before, before, gt)) is None
    r0, r1, _, _ = figures.repair_window(figures.repair_piece(gt, after, gt), half=6)
    assert r0 <= 5 and 29 < r1  # nothing repaired: then the largest change


def test_the_superlevel_picture_counts_at_a_level_as_the_diagram_does():
    """float32(0.7) is below 0.7: the picture had counted it in, the diagram out."""
    f = np.full((9, 9), 0.1, np.float32)
    f[4, 4] = 0.7
    _, b0, b1 = figures.superlevel_rgb(f, 0.7)
    assert (b0, b1) == betti_numbers(f, threshold=0.7) == tuple(diagram(f).betti(0.7).values())
