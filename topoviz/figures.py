"""Plotly pictures of the method: landscape, filtration, barcode, diagrams, forces.

Every function here is pure: arrays, :class:`~topoviz.persistence.Diagram`,
:class:`~topoviz.matching.Matching` or :class:`~topoviz.loss.CriticalTargets` in,
a ``plotly.graph_objects.Figure`` out. No Streamlit, so notebooks and tests use
the same pictures as the app.

Colours follow the paper's Fig. 4: dimension 0 (components) blue, dimension 1
(holes) burgundy, matching arrows orange. A *dot* is named by ``(dim, index)``
with ``index`` into ``dgm[dim]``; ``highlight`` takes such a pair everywhere.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import ndimage
from skimage.measure import label

from topoviz.imageio import png_bytes
from topoviz.loss import CriticalTargets
from topoviz.matching import Matching
from topoviz.metrics import betti_numbers, region_errors
from topoviz.persistence import Diagram

__all__ = [
    "DIM_COLORS",
    "DIM_NAMES",
    "landscape",
    "landscape_map",
    "superlevel",
    "superlevel_rgb",
    "superlevel_animation",
    "barcode",
    "betti_curves",
    "diagram_plot",
    "diagram_motion",
    "critical_pixels_picture",
    "window_around",
    "dot_pixels",
    "push_landing_picture",
    "landscape_picture",
    "error_map",
    "loss_curves",
    "lambda_sweep",
    "top_dots",
    "error_map_rgb",
    "segmentation_change",
    "minimap",
    "dot_rows",
    "matching_arrows",
    "MAX_DOTS",
    "MAX_IMAGE_SIDE",
]

DIM_COLORS = {0: "#1f5fbf", 1: "#8c1c3a"}  # blue, burgundy (paper Fig. 4)
DIM_NAMES = {0: "components (dim 0)", 1: "holes (dim 1)"}
ARROW = "#f28e2b"  # orange, the paper's matching arrows
HIGHLIGHT = "#ffbf00"
#: Diagrams with at most this many dots shown are drawn as SVG, larger ones with WebGL.
SVG_DOTS = 3000

#: Okabe and Ito's colour-blind-safe palette (RGB), by the name the pages use: every
#: colour key of the app is drawn from it.
OKABE_ITO = {
    "blue": (0, 114, 178),
    "vermillion": (213, 94, 0),
    "bluish green": (0, 158, 115),
    "pink": (204, 121, 167),  # Okabe and Ito's "reddish purple"
    "orange": (230, 159, 0),
    "sky blue": (86, 180, 233),
}


def _hex(name: str) -> str:
    """``OKABE_ITO[name]`` as ``#rrggbb``, for plotly.

    >>> _hex("blue")
    '#0072B2'
    """
    return "#{:02X}{:02X}{:02X}".format(*OKABE_ITO[name])


# Component colours (saturated) and hole colours (pale), one per region.
_COMPONENTS = np.array(list(OKABE_ITO.values()), np.uint8)
_HOLES = np.array(
    [[255, 204, 153], [255, 238, 170], [204, 235, 197], [222, 203, 228], [254, 217, 166]],
    np.uint8,
)
_OUTSIDE = np.array([245, 245, 245], np.uint8)

Dot = tuple[int, int]


def top_dots(dgm: Diagram, dim: int, n: int | None) -> np.ndarray:
    """Indices of the ``n`` most persistent dots of ``dgm[dim]`` (all if ``n`` is None)."""
    pers = dgm[dim].persistence
    order = np.argsort(-pers, kind="stable")
    return order if n is None else order[:n]


#: Longest side of an image sent to the browser; larger ones are subsampled (the
#: axes keep pixel coordinates), so that no figure carries more than a few MB.
MAX_IMAGE_SIDE = 1024
#: Dots drawn per dimension in a diagram (the most persistent; the rest lie near
#: the diagonal, where they cannot be told apart anyway).
MAX_DOTS = 20_000


def _png_source(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")


def _image(pixels: np.ndarray, max_side: int = MAX_IMAGE_SIDE, **kwargs: Any) -> go.Image:
    """A ``go.Image`` of ``pixels`` (grey in [0, 1] or RGB uint8) as a PNG, every
    ``step``-th pixel when a side exceeds ``max_side``, stretched back to the
    image's own pixel coordinates (``dx = dy = step``)."""
    pixels = np.asarray(pixels)
    step = max(1, int(np.ceil(max(pixels.shape[:2]) / max_side)))
    small = pixels[::step, ::step]
    if small.ndim == 2:  # grey in [0, 1]: an 8-bit grey PNG (a third of RGB)
        small = (np.clip(small, 0, 1) * 255).astype(np.uint8)
    offset = (step - 1) / 2  # each kept pixel stands for a step × step block
    return go.Image(
        source=_png_source(np.ascontiguousarray(small)),
        dx=step,
        dy=step,
        x0=offset,
        y0=offset,
        hoverinfo="skip",
        **kwargs,
    )


def _image_axes(fig: go.Figure, row: int | None = None, col: int | None = None) -> None:
    kw = {} if row is None else {"row": row, "col": col}
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, **kw)
    fig.update_yaxes(
        showticklabels=False, showgrid=False, zeroline=False, autorange="reversed", **kw
    )


# ------------------------------------------------------------------------ landscape


def _grid(
    f: np.ndarray, window: tuple[int, int, int, int] | None, max_side: int
) -> tuple[tuple[int, int, int, int], np.ndarray, np.ndarray, np.ndarray]:
    """``(window, rows, cols, z)``: the part of ``f`` a landscape draws, every
    ``step``-th pixel so that no side exceeds ``max_side``."""
    r0, r1, c0, c1 = window if window is not None else (0, f.shape[0], 0, f.shape[1])
    step = max(1, int(np.ceil(max(r1 - r0, c1 - c0) / max_side)))
    rows, cols = np.arange(r0, r1, step), np.arange(c0, c1, step)
    return (r0, r1, c0, c1), rows, cols, f[r0:r1:step, c0:c1:step]


def _forces(
    f: np.ndarray,
    ct: CriticalTargets,
    window: tuple[int, int, int, int] | None,
    max_arrows: int,
    min_force: float,
) -> tuple[CriticalTargets, np.ndarray, np.ndarray, np.ndarray]:
    """``(ct, value, force, keep)``: the critical pixels in ``window``, their values and
    forces, and the indices of the strongest to draw (:func:`_strongest`)."""
    if window is not None:
        ct = _in_window(ct, window)
    value = f[ct.pixel[:, 0], ct.pixel[:, 1]]
    force = ct.force(f)
    return ct, value, force, _strongest(force, max_arrows, min_force)


def _highlighted(
    highlight: Dot | None, ct: CriticalTargets | None, dgm: Diagram | None
) -> tuple[np.ndarray, list[str]]:
    """The ``highlight`` dot's pixels ``(k, 2)`` and their names ("birth", "death"):
    from ``dgm`` when given (with or without forces), else from ``ct``."""
    none = np.zeros((0, 2), np.int64), []
    if highlight is None:
        return none
    dim, idx = highlight
    if dgm is not None:
        if dim not in dgm.dims or not 0 <= idx < len(dgm[dim]):
            return none
        d = dgm[dim]
        pairs = [(d.birth_pixel[idx], "birth"), (d.death_pixel[idx], "death")]
        kept = [(p, e) for p, e in pairs if p[0] >= 0]
        if not kept:
            return none
        return np.array([p for p, _ in kept], np.int64), [e for _, e in kept]
    if ct is None:
        return none
    sel = (ct.dim == dim) & (ct.dot == idx)
    return ct.pixel[sel], list(ct.end[sel])


def landscape(
    f: np.ndarray,
    ct: CriticalTargets | None = None,
    highlight: Dot | None = None,
    max_side: int = 128,
    max_arrows: int = 150,
    window: tuple[int, int, int, int] | None = None,
    min_force: float = 0.0,
    dgm: Diagram | None = None,
    highlight_name: str | None = None,
) -> go.Figure:
    """``f`` as a 3-D surface with critical pixels and their forces (Eq. 2.3).

    The surface is subsampled to at most ``max_side`` pixels a side; critical pixels
    are drawn at their own value. Each force is a vertical segment from ``f(c)`` to
    its target with a cone at the target: up means the loss raises the pixel (close
    a gap), down lowers it (cut a spurious bridge). Only the ``max_arrows``
    strongest forces of at least ``min_force`` are drawn. ``window = (row0, row1,
    col0, col1)`` draws only that part of ``f`` (axes keep the image's own pixel
    coordinates). ``highlight`` marks a dot's pixels as :func:`landscape_map` does,
    named ``highlight_name`` in the legend (default: its dimension and number).
    """
    f = np.asarray(f, float)
    (r0, r1, c0, c1), rows, cols, z = _grid(f, window, max_side)
    h, w = r1 - r0, c1 - c0
    fig = go.Figure(
        go.Surface(
            z=z,
            x=cols,
            y=rows,
            colorscale="gray",  # white high, as the map seen from above (it was viridis)
            cmin=0,
            cmax=1,
            opacity=0.92,
            colorbar={"title": "f (likelihood)", "len": 0.6},
            hovertemplate="row %{y}, col %{x}<br>f = %{z:.3f}<extra></extra>",
            name="f",
        )
    )
    if ct is not None and len(ct.pixel):
        ct, value, force, keep = _forces(f, ct, window, max_arrows, min_force)
        px, tg, val = ct.pixel[keep], ct.target[keep], value[keep]
        text = [
            f"dim {d}, dot {i}, {e} pixel<br>f = {v:.3f} → target {t:.3f}<br>force {fo:+.3f}"
            for d, i, e, v, t, fo in zip(
                ct.dim[keep], ct.dot[keep], ct.end[keep], val, tg, force[keep], strict=True
            )
        ]
        for k in np.unique(ct.dim[keep]):  # one trace per dimension: the legend shows it
            on = ct.dim[keep] == k
            fig.add_trace(
                go.Scatter3d(
                    x=px[on, 1],
                    y=px[on, 0],
                    z=val[on],
                    mode="markers",
                    marker={"size": 3, "color": DIM_COLORS[int(k)], "symbol": "circle"},
                    text=[t for t, o in zip(text, on, strict=True) if o],
                    hovertemplate="%{text}<extra></extra>",
                    name=f"critical pixel, {DIM_NAMES[int(k)].split(' (')[0]}",
                )
            )
        xs, ys, zs = [], [], []
        for (r, c), v, t in zip(px, val, tg, strict=True):
            xs += [c, c, None]
            ys += [r, r, None]
            zs += [v, t, None]
        fig.add_trace(
            go.Scatter3d(
                x=xs, y=ys, z=zs, mode="lines", line={"color": ARROW, "width": 6}, name="force"
            )
        )
        up = tg > val  # arrow tips: up (raise a saddle) or down (cut a bridge)
        for mask, colour, what in ((up, ARROW, "raise"), (~up, PUSH_STYLE[False][1], "lower")):
            if mask.any():
                fig.add_trace(
                    go.Scatter3d(
                        x=px[mask, 1],
                        y=px[mask, 0],
                        z=tg[mask],
                        mode="markers",
                        # circles: WebGL draws other 3-D symbols unlike their legend entry
                        marker={"size": 5, "symbol": "circle", "color": colour},
                        hoverinfo="skip",
                        name=f"target: {what} the pixel",
                    )
                )
    px, ends = _highlighted(highlight, ct, dgm)
    if len(px):
        dim, idx = highlight
        fig.add_trace(
            go.Scatter3d(
                x=px[:, 1],
                y=px[:, 0],
                z=f[px[:, 0], px[:, 1]],
                mode="markers+text",
                text=ends,
                marker={"size": 9, "color": HIGHLIGHT, "line": {"color": "black", "width": 2}},
                name=highlight_name or f"selected dot (dim {dim}, #{idx})",
            )
        )
    fig.update_layout(
        scene={
            "xaxis_title": "column",
            "yaxis_title": "row",
            "zaxis": {"range": [0, 1], "title": "f"},
            "yaxis": {"autorange": "reversed"},
            "aspectratio": {"x": w / max(h, w), "y": h / max(h, w), "z": 0.35},
            # far enough that no tick label is cut at the edge
            "camera": {"eye": {"x": 1.45, "y": 1.45, "z": 0.95}},
        },
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=520,
        legend={"orientation": "h", "y": 1.02},
    )
    return fig


def _in_window(ct: CriticalTargets, window: tuple[int, int, int, int]) -> CriticalTargets:
    """The critical pixels of ``ct`` inside ``window = (row0, row1, col0, col1)``."""
    r0, r1, c0, c1 = window
    inside = (
        (ct.pixel[:, 0] >= r0)
        & (ct.pixel[:, 0] < r1)
        & (ct.pixel[:, 1] >= c0)
        & (ct.pixel[:, 1] < c1)
    )
    return CriticalTargets(
        ct.pixel[inside], ct.target[inside], ct.dim[inside], ct.dot[inside], ct.end[inside],
        ct.constant,
    )  # fmt: skip


def _strongest(force: np.ndarray, max_arrows: int, min_force: float) -> np.ndarray:
    """Indices of the ``max_arrows`` strongest forces of at least ``min_force``."""
    keep = np.argsort(-np.abs(force), kind="stable")[:max_arrows]
    return keep[np.abs(force[keep]) >= max(min_force, 1e-9)]


#: The forces' marks: (pushed up?) -> symbol (top view), colour, words.
PUSH_STYLE = {
    True: ("triangle-up", ARROW, "the loss raises f (closes a gap)"),
    False: ("triangle-down", "#d62ad6", "the loss lowers f (cuts a bridge, digs a hole)"),
}


def landscape_map(
    f: np.ndarray,
    ct: CriticalTargets | None = None,
    highlight: Dot | None = None,
    max_side: int = 256,
    max_arrows: int = 150,
    window: tuple[int, int, int, int] | None = None,
    min_force: float = 0.0,
    dgm: Diagram | None = None,
    highlight_name: str | None = None,
) -> go.Figure:
    """The landscape of :func:`landscape` seen from above: ``f`` as grey (white is
    high), each of the ``max_arrows`` strongest forces of at least ``min_force`` a
    triangle at its critical pixel, pointing up (orange) where the loss raises ``f``
    and down (magenta) where it lowers it, sized by the force (the same scale in
    every chart). A 2-D chart, quick to
    draw in a browser without a graphics card (a 3-D scene costs seconds of CPU
    there). ``highlight`` rings a dot's birth and death pixels, read from ``dgm``
    when given (so also when no forces are drawn), else from ``ct``; the legend names
    it ``highlight_name`` (default: its dimension and number).

    Examples
    --------
    >>> import numpy as np
    >>> fig = landscape_map(np.zeros((40, 30)), window=(5, 25, 0, 10))
    >>> fig.data[0].z.shape, fig.data[0].x[:2].tolist(), int(fig.data[0].y[-1])
    ((20, 10), [0, 1], 24)
    """
    f = np.asarray(f, float)
    (r0, r1, c0, c1), rows, cols, z = _grid(f, window, max_side)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=rows,
            colorscale="gray",
            zmin=0,
            zmax=1,
            colorbar={"title": "f (likelihood)", "len": 0.8},
            hovertemplate="row %{y}, col %{x}<br>f = %{z:.3f}<extra></extra>",
            name="f",
        )
    )
    if ct is not None and len(ct.pixel):
        ct, value, force, keep = _forces(f, ct, window, max_arrows, min_force)
        # the legend's counts are of the drawn marks: say so when the cap cut some
        capped = int((np.abs(force) >= min_force).sum()) > len(keep)
        # sized on one scale for every chart (|force| 1 or more: the largest mark), so
        # that two charts side by side compare (f′'s deeper gap: a larger mark)
        strength = np.minimum(np.abs(force[keep]), 1.0)
        for up, (symbol, colour, words) in PUSH_STYLE.items():
            on = keep[(ct.target[keep] > value[keep]) == up]
            if not len(on):
                continue
            fig.add_trace(
                go.Scatter(
                    x=ct.pixel[on, 1],
                    y=ct.pixel[on, 0],
                    mode="markers",
                    cliponaxis=False,  # a push at the image's edge was cut in half
                    marker={
                        "symbol": symbol,
                        "color": colour,
                        "size": 6 + 12 * strength[np.isin(keep, on)],
                        "line": {"color": "black", "width": 1},
                    },
                    text=[
                        f"dim {d}, dot {i}, {e} pixel<br>f = {v:.3f} → target {t:.3f}"
                        f"<br>force {fo:+.3f}"
                        for d, i, e, v, t, fo in zip(
                            ct.dim[on],
                            ct.dot[on],
                            ct.end[on],
                            value[on],
                            ct.target[on],
                            force[on],
                            strict=True,
                        )  # fmt: skip
                    ],
                    hovertemplate="%{text}<extra></extra>",
                    name=f"{words}: {len(on)} in view"
                    + (f" (the {max_arrows} strongest of both kinds are drawn)" if capped else ""),
                )
            )
    px, ends = _highlighted(highlight, ct, dgm)
    if len(px):
        for (row, col), end in zip(px, ends, strict=True):  # amber on a dark box: the
            # amber text alone was unreadable on a white membrane
            fig.add_annotation(
                x=col, y=row, text=end, showarrow=False, yshift=26,
                font={"color": HIGHLIGHT, "size": 14}, bgcolor="rgba(0,0,0,0.75)",
            )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=px[:, 1],
                y=px[:, 0],
                mode="markers",
                marker={  # wide enough for the largest force mark to show inside it
                    "size": 34,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": HIGHLIGHT, "width": 3},
                },
                name=highlight_name or f"selected dot (dim {highlight[0]}, #{highlight[1]})",
            )
        )
    fig.update_xaxes(title="column", range=[c0 - 0.5, c1 - 0.5], showgrid=False, zeroline=False)
    fig.update_yaxes(
        title="row", range=[r1 - 0.5, r0 - 0.5], scaleanchor="x", showgrid=False, zeroline=False
    )
    fig.update_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        # above the map, its bottom on the map's top edge: a legend of three lines
        # grows upwards (the margin with it) instead of over the map
        legend={"orientation": "h", "y": 1.01, "yanchor": "bottom", "x": 0},
        showlegend=True,  # also for one kind of mark: the legend says what it is
    )
    return fig


# ------------------------------------------------------------------------ filtration


def minimap(
    f: np.ndarray, window: tuple[int, int, int, int] | None, max_side: int = 160
) -> np.ndarray:
    """``f`` as a small grey RGB image with the ``window`` outlined in orange.

    ``window = (row0, row1, col0, col1)`` as :func:`landscape` takes it; ``None``
    draws the whole image, unmarked.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = minimap(np.zeros((40, 40)), (10, 20, 5, 15), max_side=40)
    >>> rgb.shape, rgb[10, 5].tolist(), rgb[15, 10].tolist()
    ((40, 40, 3), [242, 142, 43], [0, 0, 0])
    """
    f = np.asarray(f, float)
    step = max(1, int(np.ceil(max(f.shape) / max_side)))
    grey = (np.clip(f[::step, ::step], 0, 1) * 255).astype(np.uint8)
    rgb = np.repeat(grey[:, :, None], 3, axis=2)
    if window is not None:
        r0, r1, c0, c1 = (int(v) // step for v in window)
        r1, c1 = min(r1, rgb.shape[0]) - 1, min(c1, rgb.shape[1]) - 1
        orange = np.array([242, 142, 43], np.uint8)
        for t in range(max(1, 2 // step + 1)):  # a line two pixels wide where there is room
            rgb[r0 + t if r0 + t <= r1 else r0, c0 : c1 + 1] = orange
            rgb[r1 - t if r1 - t >= r0 else r1, c0 : c1 + 1] = orange
            rgb[r0 : r1 + 1, c0 + t if c0 + t <= c1 else c0] = orange
            rgb[r0 : r1 + 1, c1 - t if c1 - t >= c0 else c1] = orange
    return rgb


def sharp(pixels: np.ndarray, side: int) -> np.ndarray:
    """``pixels`` repeated k times along both axes, the least k that makes the longer
    side at least ``side`` (k ≥ 1): shown at ``side`` pixels, each pixel stays a sharp
    square, where a browser would blur a small picture it enlarges.

    >>> sharp(np.zeros((65, 40)), 260).shape
    (260, 160)
    """
    k = max(1, -(-side // max(pixels.shape[:2])))
    return np.repeat(np.repeat(pixels, k, axis=0), k, axis=1)


def segmentation_change(
    before: np.ndarray, after: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """The segmentation ``after >= threshold`` with what changed since ``before``.

    Unchanged foreground is white, unchanged background black, pixels the change
    added are green and pixels it removed magenta (an RGB uint8 image).

    Examples
    --------
    >>> import numpy as np
    >>> rgb = segmentation_change(np.array([[0.9, 0.1, 0.9]]), np.array([[0.9, 0.8, 0.2]]))
    >>> rgb[0].tolist()
    [[255, 255, 255], [40, 200, 60], [230, 40, 200]]
    """
    b = np.asarray(before) >= threshold
    a = np.asarray(after) >= threshold
    rgb = np.zeros((*a.shape, 3), np.uint8)
    rgb[a & b] = 255
    rgb[a & ~b] = (40, 200, 60)
    rgb[~a & b] = (230, 40, 200)
    return rgb


def superlevel_rgb(
    f: np.ndarray, alpha: float, frame: bool = True, order: np.ndarray | None = None
) -> tuple[np.ndarray, int, int]:
    """Colour ``f >= alpha``: components (4-connected) saturated, holes pale.

    Returns ``(rgb, beta0, beta1)`` with the Betti numbers of the superlevel set
    (:func:`topoviz.metrics.betti_numbers`, which equal the diagram's at ``alpha``).
    With ``frame`` the one-pixel frame of value 1 is a component that every
    structure touching the border joins (drawn dark grey), and every background
    region is a hole; without it, background touching the border is outside.

    A region keeps its colour as α moves: a component takes the colour of its
    highest pixel (the oldest, which the elder rule keeps when two merge), a hole
    that of its lowest (the last to fill). Coloured by label number, a cell had
    changed colour from one frame of the animation to the next. ``order``: the
    pixels by ``f``, descending (:func:`pixel_order`), to sort once for many α.
    """
    x = np.asarray(f, np.float64) >= alpha  # as the diagram compares: float32(0.7) < 0.7
    fg = label(x, connectivity=1)
    bg = label(~x, connectivity=2)
    order = pixel_order(f) if order is None else order
    rgb = np.empty((*x.shape, 3), np.uint8)
    rgb[:] = _OUTSIDE
    rgb[fg > 0] = _COMPONENTS[_elder_colour(fg, order)[fg[fg > 0]] % len(_COMPONENTS)]
    rgb[bg > 0] = _HOLES[_elder_colour(bg, order[::-1])[bg[bg > 0]] % len(_HOLES)]
    border = np.zeros_like(x)
    border[[0, -1], :] = border[:, [0, -1]] = True
    if frame:
        touching = np.unique(fg[border & x])
        rgb[np.isin(fg, touching[touching > 0])] = (90, 90, 90)
    else:
        outside = np.unique(bg[border & ~x])
        rgb[np.isin(bg, outside[outside > 0])] = _OUTSIDE
    b0, b1 = betti_numbers(x, frame=frame)
    return rgb, b0, b1


def pixel_order(f: np.ndarray) -> np.ndarray:
    """The flat indices of ``f``'s pixels from the highest value to the lowest (ties by
    position), as :func:`superlevel_rgb` reads them."""
    flat = np.asarray(f, np.float64).ravel()
    return np.lexsort((np.arange(flat.size), -flat))


def _elder_colour(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each label (index 1..n; 0 unused) a colour number drawn from its first
    pixel in ``order``: the same whatever number the labelling gave the region.

    >>> order = np.array([3, 1, 0, 2])                  # pixel 3 first, then 1, 0, 2
    >>> a = _elder_colour(np.array([[1, 1, 2, 2]]), order)
    >>> b = _elder_colour(np.array([[2, 2, 1, 1]]), order)  # the same regions renumbered
    >>> bool(a[1] == b[2] and a[2] == b[1])
    True
    """
    flat = labels.ravel()[order]
    first = np.full(int(labels.max()) + 1, flat.size, np.int64)
    np.minimum.at(first, flat, np.arange(flat.size))  # each label's first place in order
    elder = order[np.minimum(first, flat.size - 1)].astype(np.uint64)
    # Knuth's multiplicative hash of the pixel's index: neighbours rarely share a colour
    mixed = (elder * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    return (mixed >> np.uint64(16)).astype(np.int64)


def superlevel_key(frame: bool) -> str:
    """The colour key of :func:`superlevel_rgb`'s pictures, and what β0 counts.

    >>> superlevel_key(False)[-36:]
    'near-white: outside, and not a hole.'
    """
    said = "Each component in its own saturated colour, each hole in a pale one. "
    if frame:
        return said + (
            "The frame (the paper's one-pixel border of value 1 around the image) is not "
            "drawn but is one component of β0; structure touching the image's edge has "
            "joined it and is dark grey, and every background region is a hole."
        )
    return said + "Background touching the image's edge is near-white: outside, and not a hole."


def betti_words(b0: int, b1: int) -> str:
    """β0 and β1 in words, singular where a number is 1.

    >>> betti_words(1, 0)
    'β0 = 1 component, β1 = 0 holes'
    >>> betti_words(3, 1)
    'β0 = 3 components, β1 = 1 hole'
    """
    return f"β0 = {b0} component{'' if b0 == 1 else 's'}, β1 = {b1} hole{'' if b1 == 1 else 's'}"


def superlevel(
    f: np.ndarray, alpha: float, frame: bool = True, label: str | None = None
) -> go.Figure:
    """The superlevel set ``f >= alpha`` with components and holes coloured.

    ``label`` is how α is written in the title (default two decimals); the set is
    always thresholded at the exact ``alpha``.
    """
    rgb, b0, b1 = superlevel_rgb(f, alpha, frame)
    fig = go.Figure(_image(rgb))
    _image_axes(fig)
    fig.update_layout(
        title=f"f ≥ {label or f'{alpha:.2f}'}: {betti_words(b0, b1)}",
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        height=420,
    )
    return fig


def superlevel_animation(
    f: np.ndarray,
    alphas: Sequence[float],
    frame: bool = True,
    name: str = "f",
    order: np.ndarray | None = None,
) -> go.Figure:
    """The filtration as a plotly animation: one frame per ``alpha`` (play button);
    ``order`` as :func:`superlevel_rgb` takes it (sorted here when not given)."""
    alphas = [float(a) for a in alphas]
    # every frame is sent at once: the more frames, the smaller each (a few MB in all)
    side = max(256, int(MAX_IMAGE_SIDE / np.sqrt(max(len(alphas), 1))))
    frames, titles = [], []
    order = pixel_order(f) if order is None else order  # every frame colours from it
    for a in alphas:
        rgb, b0, b1 = superlevel_rgb(f, a, frame, order)
        titles.append(f"{name} ≥ {a:.2f}: β0 = {b0}, β1 = {b1}")
        frames.append(
            go.Frame(
                data=[_image(rgb, max_side=side)],
                name=f"{a:.3f}",
                layout={"title": {"text": titles[-1]}},
            )
        )
    fig = go.Figure(data=frames[0].data, frames=frames)
    _image_axes(fig)
    play = {"frame": {"duration": 350, "redraw": True}, "fromcurrent": True}
    fig.update_layout(
        title=titles[0],
        height=460,
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        updatemenus=[
            {
                "type": "buttons",
                "x": 0.0,
                "y": -0.02,
                "xanchor": "left",
                "yanchor": "top",
                "direction": "left",
                "buttons": [
                    {"label": "▶ play", "method": "animate", "args": [None, play]},
                    {
                        "label": "❚❚",
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}],
                    },
                ],
            }
        ],
        sliders=[
            {
                "x": 0.2,
                "len": 0.8,
                "y": -0.02,
                "currentvalue": {"prefix": "α = "},
                "steps": [
                    {
                        "label": f"{a:.2f}",
                        "method": "animate",
                        "args": [[f"{a:.3f}"], {"mode": "immediate", "frame": {"redraw": True}}],
                    }
                    for a in alphas
                ],
            }
        ],
    )
    return fig


def barcode(dgm: Diagram, alpha: float | None = None, max_bars: int | None = 60) -> go.Figure:
    """Bars per dimension from birth to death, on an α axis running 1 → 0.

    The axis is reversed, as in the paper's Fig. 4: the filtration grows left to
    right as α decreases. Only the ``max_bars`` most persistent bars of each
    dimension are drawn. A dashed line marks ``alpha``; the bars it crosses are
    the classes alive in ``f >= alpha``.
    """
    fig = go.Figure()
    y0 = 0
    for k in dgm.dims:
        d = dgm[k]
        idx = top_dots(dgm, k, max_bars)
        xs, ys = [], []
        for j, i in enumerate(idx):
            xs += [d.birth[i], d.death[i], None]
            ys += [y0 + j, y0 + j, None]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line={"color": DIM_COLORS[k], "width": 5},
                name=f"{DIM_NAMES[k]}: {len(idx)} of {len(d)} bars",
                hoverinfo="skip",
            )
        )
        y0 += len(idx) + 2
    if alpha is not None:
        fig.add_vline(x=alpha, line={"dash": "dash", "color": "black"})
    fig.update_xaxes(title="α (threshold)", range=[1.02, -0.02])
    fig.update_yaxes(showticklabels=False, title="bars (most persistent first)")
    fig.update_layout(
        height=400,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": 1.1, "x": 0},
    )
    return fig


def betti_curves(
    f_or_dgm: np.ndarray | Diagram, alphas: Sequence[float], alpha: float | None = None
) -> go.Figure:
    """β0(α) and β1(α) of the superlevel sets, read off the diagram."""
    if isinstance(f_or_dgm, Diagram):
        dgm = f_or_dgm
    else:
        from topoviz.persistence import diagram

        dgm = diagram(np.asarray(f_or_dgm, float))
    a = np.asarray(alphas, float)
    fig = go.Figure()
    for k in dgm.dims:
        d = dgm[k]
        alive = np.stack([d.alive(x) for x in a], axis=1) if len(d) else np.zeros((0, len(a)))
        fig.add_trace(
            go.Scatter(
                x=a,
                y=alive.sum(axis=0),
                mode="lines",
                line={"color": DIM_COLORS[k], "shape": "hv"},
                name=f"β{k}",
            )
        )
    if alpha is not None:
        fig.add_vline(x=alpha, line={"dash": "dash", "color": "black"})
    fig.update_xaxes(title="α", range=[1, 0])
    if _big(fig):
        fig.update_yaxes(type="log", dtick=1)
    fig.update_yaxes(title="Betti number")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def _big(fig: go.Figure) -> bool:
    return any(len(t.y) and max(t.y) > 200 for t in fig.data)


# ------------------------------------------------------------------------ diagrams


MODEBAR_PX = 30  # the strip at the top of a chart where the mode bar shows


def diagram_plot(
    dgm_f: Diagram,
    dgm_g: Diagram | None = None,
    matching: Matching | None = None,
    highlight: Dot | None = None,
    alpha: float | None = None,
    max_arrows: int = 40,
    min_persistence: float = 0.0,
    dims: Sequence[int] | None = None,
    selected: Dot | None = None,
    height: int | None = None,
    name: str = "f",
    highlight_name: str | None = None,
) -> go.Figure:
    """Dgm(f) (and Dgm(g)) per dimension in the paper's coordinates, with matching.

    One marker per dot of Dgm(f) (circles; the :data:`MAX_DOTS` most persistent of
    each dimension, and the highlighted one), ground-truth dots as black diamonds
    (all at (0, 1) for a binary mask), the diagonal, and orange arrows from the
    ``max_arrows`` costliest dots of each dimension to their partner ``gamma*(p)``.
    With ``alpha`` the diagram is drawn as it stands at that threshold (Fig. 4):
    dots not yet born are hidden, classes still alive are open circles.
    Dots with persistence below ``min_persistence`` are hidden (and their arrows);
    the legend says how many. ``dims`` draws only those dimensions (default: all).

    ``highlight`` rings a dot with a trace of its own; ``selected`` marks it as
    plotly's own selection (large and amber, the other dots faded), the mark a click
    in the browser leaves, so that a chart clicked since it was drawn shows the
    clicked dot in the same way (:mod:`topoviz.ui.clicks`). ``height`` in pixels (by
    default one for a chart as wide as half the page): each diagram stays a square
    under its title, so a chart taller than its width leaves space below. ``name``
    is the likelihood's name in the legend (``"f′"``: "Dgm(f′)"), ``highlight_name``
    the highlighted dot's (default: "selected dot #N").
    """
    dims = dgm_f.dims if dims is None else tuple(k for k in dims if k in dgm_f.dims)
    fig = make_subplots(
        rows=1,
        cols=len(dims),
        subplot_titles=[f"dim {k}: {DIM_NAMES[k].split(' (')[0]}" for k in dims],
        horizontal_spacing=0.08,
    )
    for c, k in enumerate(dims, start=1):
        d = dgm_f[k]
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"color": "grey", "dash": "dot"},
                showlegend=False,
                hoverinfo="skip",
            ),
            row=1,
            col=c,
        )
        pts = d.points
        big = d.persistence >= min_persistence
        shown = big.copy()
        symbol: Any = "circle"
        if alpha is not None:
            shown = big & (d.birth >= alpha)
            alive = d.alive(alpha)
            symbol = np.where(alive, 100, 0)  # plotly codes: circle-open, circle
            pts = pts.copy()
            # A class alive at alpha is drawn where it stands now: death coordinate 1 - alpha.
            pts[alive, 1] = 1 - alpha
            pts[~shown] = np.nan
            t = 1 - alpha
            fig.add_trace(
                go.Scatter(
                    x=[-0.03, 1.03, None, t, t],
                    y=[t, t, None, -0.03, 1.03],
                    mode="lines",
                    line={"dash": "dash", "color": "black", "width": 1},
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=c,
            )
        cost = matching[k].dot_cost if matching is not None else np.zeros(len(d))
        # customdata: index, birth, death, cost, dimension (a click reads index and dim)
        custom = np.stack([np.arange(len(d)), d.birth, d.death, cost, np.full(len(d), k)], axis=1)
        # Dots below min_persistence are left out (customdata keeps each dot's own
        # index), and of the rest at most MAX_DOTS, the most persistent, are sent: a
        # figure stays a few MB however many dots. SVG for a few thousand dots: WebGL
        # is slow to start, and without a GPU slow to draw.
        drawn = np.sort(top_dots(dgm_f, k, MAX_DOTS))
        drawn = drawn[big[drawn]]
        for mark in (highlight, selected):
            if mark is not None and mark[0] == k and 0 <= mark[1] < len(d):
                drawn = np.union1d(drawn, [mark[1]])
        if alpha is not None:  # the alive (open) first: the legend shows the first's mark
            drawn = drawn[np.argsort(~alive[drawn], kind="stable")]
        at = np.flatnonzero(drawn == selected[1]) if selected and selected[0] == k else []
        legend_name = f"Dgm({name}) dim {k}: {many(int(shown.sum()), 'dot')}"
        if alpha is not None:  # not all of the diagram: the barcode counts every bar
            legend_name += f" born by α = {alpha:.2f}"
        if (~big).any():
            legend_name += f" ({int((~big).sum())} below ε hidden)"
        if len(drawn) < int(big.sum()):
            legend_name += f" ({len(drawn):,} most persistent drawn)"
        scatter = go.Scatter if len(drawn) <= SVG_DOTS else go.Scattergl
        fig.add_trace(
            scatter(
                x=pts[drawn, 0].astype(np.float32),  # half the bytes of float64
                y=pts[drawn, 1].astype(np.float32),
                mode="markers",
                marker={
                    "color": DIM_COLORS[k],
                    "size": 7,
                    "symbol": symbol if np.ndim(symbol) == 0 else symbol[drawn],
                    "opacity": 0.8,
                },
                customdata=custom[drawn].astype(np.float32),
                hovertemplate="dot #%{customdata[0]:.0f}<br>birth %{customdata[1]:.3f}, "
                "death %{customdata[2]:.3f}<br>cost %{customdata[3]:.4f}<extra></extra>",
                name=legend_name,
                selectedpoints=[int(i) for i in at] if selected is not None else None,
                selected={"marker": {"color": HIGHLIGHT, "size": 16, "opacity": 1}},
                unselected={"marker": {"opacity": 0.35}},
            ),
            row=1,
            col=c,
        )
        if dgm_g is not None:
            g = dgm_g[k].points
            fig.add_trace(
                go.Scatter(
                    x=g[:, 0],
                    y=g[:, 1],
                    mode="markers",
                    marker={"color": "black", "size": 12, "symbol": "diamond-open"},
                    name=f"Dgm(g) dim {k}: {many(len(g), 'dot')}",
                    hovertemplate="ground truth dot (%{x:.2f}, %{y:.2f})<extra></extra>",
                ),
                row=1,
                col=c,
            )
        if matching is not None and alpha is None:
            m = matching[k]
            order = np.argsort(-m.dot_cost, kind="stable")
            order = order[big[order]][:max_arrows]
            order = order[m.dot_cost[order] >= 1e-12]
            if len(order):
                fig.add_trace(_arrows(m.points[order], m.targets[order]), row=1, col=c)
        if highlight is not None and highlight[0] == k and 0 <= highlight[1] < len(d):
            p = d.points[highlight[1]]
            fig.add_trace(
                go.Scatter(
                    x=[p[0]],
                    y=[p[1]],
                    mode="markers",
                    marker={
                        "size": 18,
                        "color": "rgba(0,0,0,0)",
                        "line": {"color": HIGHLIGHT, "width": 4},
                    },
                    name=highlight_name or f"selected dot #{highlight[1]}",
                ),
                row=1,
                col=c,
            )
        # a wide chart (a page's full width) shrinks the square too, where plotly would
        # stretch the range of 1 - birth to [-0.5, 1.5]
        fig.update_xaxes(title="1 − birth", range=[-0.03, 1.03], constrain="domain", row=1, col=c)
        fig.update_yaxes(
            # on the first panel only: the second's sat over the first panel's dots
            title="1 − death" if c == 1 else None,
            range=[-0.03, 1.03],
            scaleanchor=f"x{'' if c == 1 else c}",
            # a narrow column shrinks the square (under its title), where plotly would
            # otherwise stretch the range to 1 - death = 1.4, where no dot can be
            constrain="domain",
            constraintoward="top",
            row=1,
            col=c,
        )
    height = height or (470 if len(dims) > 1 else 560)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 118, "b": 10},
        # above the plots (below them the legend ran into the x-axis titles), and
        # below the strip where plotly's mode bar appears on hover (it hid the
        # legend's first line)
        legend={
            "orientation": "h",
            "y": 1 - MODEBAR_PX / height,
            "yanchor": "top",
            "yref": "container",
            "x": 0,
        },
    )
    return fig


def _arrows(start: np.ndarray, end: np.ndarray) -> go.Scatter:
    """Orange arrows from each ``start`` to its ``end`` (rows of ``(x, y)``) as one trace:
    segments, and an arrowhead marker at each end pointing along its segment.

    One trace instead of a layout annotation per arrow: plotly validates and draws
    annotations one by one (a few hundred ms for 40 arrows, in Python and in the browser).
    """
    n = len(start)
    xy = np.full((n, 3, 2), np.nan)
    xy[:, 0], xy[:, 1] = start, end
    size = np.tile([0.0, 10.0, 0.0], n)  # a head at the end only
    return go.Scatter(
        x=xy[:, :, 0].ravel(),
        y=xy[:, :, 1].ravel(),
        mode="lines+markers",
        line={"color": ARROW, "width": 1.5},
        marker={"symbol": "arrow", "angleref": "previous", "size": size, "color": ARROW},
        opacity=0.9,
        name="matching arrows",
        showlegend=False,
        hoverinfo="skip",
    )


def matching_arrows(fig: go.Figure) -> list[tuple[np.ndarray, np.ndarray]]:
    """The arrows :func:`diagram_plot` drew, one ``(starts, ends)`` pair per panel."""
    out = []
    for t in fig.data:
        if t.name == "matching arrows":
            xy = np.stack([np.asarray(t.x, float), np.asarray(t.y, float)], axis=1)
            out.append((xy[0::3], xy[1::3]))
    return out


def diagram_motion(
    dgm_f: Diagram,
    dgm_g: Diagram,
    matching: Matching,
    trails: Any,
    step: int,
    max_arrows: int = 40,
) -> go.Figure:
    """Dgm(f) of one dimension while training, each dot with its trail and its arrow.

    :func:`diagram_plot` of ``trails.dim`` (dots, ground-truth diamonds, orange arrows
    to each dot's partner under ``matching``), plus where every followed dot was at the
    earlier frames of ``trails`` (a :class:`topoviz.motion.Trails` whose newest frame
    is ``dgm_f``): a line through its past positions and small markers that fade with
    age. Trails of dots matched to ground-truth dots are drawn in the dimension's
    colour, the others in grey. Dots below ``trails.min_persistence`` are hidden.
    """
    k = trails.dim
    fig = diagram_plot(
        dgm_f, dgm_g, matching, max_arrows=max_arrows,
        min_persistence=trails.min_persistence, dims=(k,),
    )  # fmt: skip
    paths = np.asarray(trails.paths)
    t = len(paths)
    matched = matching[k].partner[np.asarray(trails.index, np.int64)] >= 0
    age = np.linspace(0.15, 0.6, t)[:, None] * np.ones((1, paths.shape[1]))
    for group, color, name in (
        (matched, DIM_COLORS[k], "matched to a ground-truth dot"),
        (~matched, "#9a9a9a", "matched to the diagonal"),
    ):
        if t < 2 or not group.any():
            continue
        moved = np.isfinite(paths[:-1, group]).any(axis=(0, 2))
        idx = np.flatnonzero(group)[moved]
        if not len(idx):
            continue
        seg = np.concatenate([paths[:, idx], np.full((1, len(idx), 2), np.nan)], axis=0)
        line = seg.transpose(1, 0, 2).reshape(-1, 2)  # one trail after another, NaN between
        fig.add_trace(
            go.Scatter(
                x=line[:, 0], y=line[:, 1], mode="lines",
                line={"color": color, "width": 1.5}, opacity=0.35, hoverinfo="skip",
                name=f"trails since step {trails.steps[0]}: {many(len(idx), 'dot')} {name}",
                connectgaps=False,
            ),
            row=1, col=1,
        )  # fmt: skip
        past = paths[:-1, idx].reshape(-1, 2)
        keep = np.isfinite(past).all(axis=1)
        fig.add_trace(
            go.Scatter(
                x=past[keep, 0], y=past[keep, 1], mode="markers",
                marker={"color": color, "size": 5, "opacity": age[:-1, idx].ravel()[keep]},
                hoverinfo="skip", showlegend=False,
            ),
            row=1, col=1,
        )  # fmt: skip
    title = next(a for a in fig.layout.annotations if not a.showarrow)  # the subplot's
    title.text = f"Dgm(f), {DIM_NAMES[k].split(' (')[0]} (dim {k}), after step {step}"
    # the trails' two legend lines: room above the plot, or the title overprints them
    extra = 22 * sum(1 for t in fig.data if (t.name or "").startswith("trails"))
    fig.update_layout(height=fig.layout.height + extra, margin={"t": fig.layout.margin.t + extra})
    return fig


#: The costliest dots of each dimension that the Diagrams page lists (:func:`dot_rows`).
TABLE_TOP = 25


def _listed(costs: np.ndarray, big: np.ndarray, top: int, selected: int | None) -> np.ndarray:
    """Indices of the rows :func:`dot_rows` lists for one dimension: the ``top``
    costliest dots among ``big`` (at or above ε), and the ``selected`` dot."""
    keep = np.flatnonzero(big)
    pick = list(keep[np.argsort(-costs[keep], kind="stable")][:top])
    if selected is not None and 0 <= selected < len(costs) and selected not in pick:
        pick.append(selected)
    return np.asarray(pick, dtype=np.int64)


def cost_parts(
    dgm_f: Diagram,
    matching: Matching,
    min_persistence: float = 0.0,
    top: int = TABLE_TOP,
    selected: Dot | None = None,
) -> dict[int, dict[str, float]]:
    """Where each dimension's L_topo comes from, as the Diagrams page shows it.

    Per dimension: ``"rows"`` the cost of the dots :func:`dot_rows` lists (the
    ``top`` costliest at or above ``min_persistence``, and the ``selected`` dot),
    ``"rest"`` the other dots at or above it, ``"hidden"`` the other dots below it
    (neither drawn nor listed; ``"n_hidden"`` of them, ``"n_hidden_pulled"`` of those
    matched to a ground-truth dot), and ``"unmatched_gt"`` the constant of the
    ground-truth dots no dot took. The four costs add up to the dimension's cost.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.matching import match
    >>> from topoviz.persistence import diagram
    >>> f = np.array([[0.9, 0.2, 0.7, 0.68, 0.7]]); g = np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    >>> m = match(diagram(f, frame=False), diagram(g, frame=False))
    >>> parts = cost_parts(diagram(f, frame=False), m, min_persistence=0.05)[0]
    >>> parts["n_hidden"], round(parts["hidden"], 6), round(parts["rows"], 4)
    (1, 0.0002, 0.135)
    """
    out = {}
    for k in dgm_f.dims:
        m, d = matching[k], dgm_f[k]
        costs = m.dot_cost
        big = d.persistence >= min_persistence
        listed = np.zeros(len(costs), bool)
        listed[_listed(costs, big, top, selected[1] if selected and selected[0] == k else None)] = 1
        hidden = ~big & ~listed
        out[k] = {
            "rows": float(costs[listed].sum()),
            "rest": float(costs[big & ~listed].sum()),
            "hidden": float(costs[hidden].sum()),
            "n_hidden": int(hidden.sum()),
            "n_hidden_pulled": int((hidden & (m.partner >= 0)).sum()),
            "unmatched_gt": m.unmatched_cost,
        }
    return out


def cost_parts_words(dim: int, total: float, part: dict[str, float], eps: float) -> str:
    """One sentence: the part of dimension ``dim``'s cost ``total`` that the table's
    rows do not show (:func:`cost_parts`); "" when they show nearly all of it."""
    off = total - part["rows"]
    if off <= 0.005 * max(total, 1e-12) or off < 5e-5:
        return ""
    bits = []
    if part["hidden"] >= 5e-5:
        pulled = part["n_hidden_pulled"]
        bits.append(
            f"{part['hidden']:.4f} from {many(part['n_hidden'], 'dot')} below ε = {eps:g}, "
            "neither drawn nor listed"
            + (
                f" ({pulled} of them pulled to a ground-truth dot: lower ε to see them)"
                if pulled
                else ""
            )
        )
    if part["rest"] >= 5e-5:
        bits.append(f"{part['rest']:.4f} from the dots above ε past the table's top rows")
    if part["unmatched_gt"] >= 5e-5:
        bits.append(
            f"{part['unmatched_gt']:.4f} from ground-truth dots that no dot of f took "
            "(a constant: no pixel is pushed for it)"
        )
    if not bits:  # the rest is spread too thin to name
        return ""
    return (
        f" Of dim {dim}'s {total:.4f}, the rows hold {part['rows']:.4f}; " + ", ".join(bits) + "."
    )


def dot_rows(
    dgm_f: Diagram,
    matching: Matching,
    top: int = TABLE_TOP,
    selected: Dot | None = None,
    min_persistence: float = 0.0,
) -> list[dict[str, Any]]:
    """The costliest dots of each dimension as table rows, costliest first.

    Coordinates are the plot's, ``(1 − birth, 1 − death)``, for the dot and for its
    target; ``selected`` is always included (and flagged ``"selected": True``).
    Dots below ``min_persistence`` are left out unless selected.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.matching import match
    >>> from topoviz.persistence import diagram
    >>> f = np.array([[0.9, 0.2, 0.7]]); g = np.array([[1.0, 0.0, 0.0]])
    >>> rows = dot_rows(diagram(f, frame=False), match(diagram(f, frame=False),
    ...                 diagram(g, frame=False)))
    >>> [(r["dim"], r["1 − birth"], r["1 − death"], r["matched to"]) for r in rows]
    [(0, 0.3, 0.8, 'diagonal'), (0, 0.1, 1.0, 'GT dot 0')]
    """
    rows = []
    for k in dgm_f.dims:
        m, d = matching[k], dgm_f[k]
        mine = selected[1] if selected is not None and selected[0] == k else None
        for i in _listed(m.dot_cost, d.persistence >= min_persistence, top, mine):
            rows.append(
                {
                    "dim": k,
                    "dot": int(i),
                    "1 − birth": round(float(d.points[i, 0]), 3),
                    "1 − death": round(float(d.points[i, 1]), 3),
                    "matched to": "diagonal" if m.partner[i] < 0 else f"GT dot {m.partner[i]}",
                    "target (1 − birth)": round(float(m.targets[i, 0]), 3),
                    "target (1 − death)": round(float(m.targets[i, 1]), 3),
                    "cost": float(m.dot_cost[i]),
                    "selected": selected == (k, int(i)),
                }
            )
    rows.sort(key=lambda r: -r["cost"])
    return rows


def window_around(
    pixels: Sequence[Sequence[int]], shape: tuple[int, int], half: int = 24, margin: int = 6
) -> tuple[int, int, int, int] | None:
    """``(r0, r1, c0, c1)``: a window of the image of ``shape`` around ``pixels``
    (rows ``(r, c)``; ones with r < 0, as a missing death pixel, are left out), at
    least ``2 * half + 1`` pixels across where the image allows and holding every
    pixel at least ``margin`` from its edge. None when no pixel is left.

    >>> window_around([(62, 140), (110, 141)], (256, 256))
    (56, 117, 110, 171)
    """
    pts = np.array([p for p in pixels if p[0] >= 0], dtype=int).reshape(-1, 2)
    if not len(pts):
        return None
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    r, c = (int(v) for v in (lo + hi) // 2)
    half = max(half, int(((hi - lo + 1) // 2).max()) + margin)
    h, w = shape
    return max(0, r - half), min(h, r + half + 1), max(0, c - half), min(w, c + half + 1)


def repair_piece(before: np.ndarray, after: np.ndarray, gt: np.ndarray) -> np.ndarray | None:
    """Where ``after`` repaired ``before``'s topology, as a mask: the piece of
    structure it added that parts a region ``before`` merged falsely (a closed gap),
    else the largest cluster of changed pixels; None when nothing changed.

    >>> gt = np.zeros((40, 40), bool); gt[:, 20] = True          # a wall: two cells
    >>> before = gt.copy(); before[10:13, 20] = False            # broken: one cell
    >>> np.argwhere(repair_piece(before, gt, gt)).tolist()
    [[10, 20], [11, 20], [12, 20]]
    """
    b, a = np.asarray(before) >= 0.5, np.asarray(after) >= 0.5
    changed = a != b
    if not changed.any():
        return None
    merged = region_errors(b, np.asarray(gt, bool)).merged  # no map's other masks
    added = label(a & ~b, connectivity=2)
    near = np.unique(added[ndimage.binary_dilation(merged, iterations=2)])
    for k in near[near > 0]:  # the piece of added structure that parts a merged region
        piece = added == k
        if label(merged & ~piece, connectivity=2).max() > label(merged, connectivity=2).max():
            return piece
    labels = label(changed, connectivity=2)  # no merge repaired by one piece
    return labels == np.argmax(np.bincount(labels.ravel())[1:]) + 1


def repair_window(piece: np.ndarray | None, half: int = 16) -> tuple[int, int, int, int] | None:
    """A window on a :func:`repair_piece`, at least ``2 * half + 1`` pixels across: a
    few hundred changed pixels are specks on a whole 256² image, this is where to zoom.

    >>> gt = np.zeros((40, 40), bool); gt[:, 20] = True
    >>> before = gt.copy(); before[10:13, 20] = False
    >>> repair_window(repair_piece(before, gt, gt), half=5)
    (6, 17, 15, 26)
    """
    if piece is None:
        return None
    return window_around(np.argwhere(piece).tolist(), piece.shape, half, margin=2)


def dot_pixels(dgm: Diagram, dot: Dot) -> list[tuple[int, int]]:
    """The birth and death pixels of ``dot`` (the death pixel only when it has one)."""
    d = dgm[dot[0]]
    pix = (d.birth_pixel[dot[1]], d.death_pixel[dot[1]])
    return [(int(p[0]), int(p[1])) for p in pix if p[0] >= 0]


#: White pixels around a still picture with marks (:class:`_Canvas` with ``pad``,
#: :func:`error_map_picture`): a mark on an edge pixel is drawn whole (the largest
#: triangle has half-size 9; a ring, :data:`RING_RADIUS`).
PICTURE_PAD = 10
#: The radius (pixels) of a ring drawn into :func:`error_map_picture`.
RING_RADIUS = 6


class _Canvas:
    """An image (or its window ``(r0, r1, c0, c1)``) as a still RGB picture ``side``
    pixels across (its pixels as blocks when magnified, averaged when shrunk), with
    marks drawn at image pixels. A picture costs a browser nothing to draw, where a
    plotly chart costs about a fifth of a second (drawn twice by Streamlit)."""

    def __init__(self, image: np.ndarray, window=None, side: int = 480, pad: int = 0) -> None:
        """``pad``: a white margin of that many picture pixels around the image, so that
        a mark on an edge pixel is drawn whole (it was cut in half)."""
        from PIL import Image, ImageDraw

        image = np.asarray(image)
        self.r0, self.r1, self.c0, self.c1 = window or (0, image.shape[0], 0, image.shape[1])
        h, w = self.r1 - self.r0, self.c1 - self.c0
        self.scale = side / max(h, w)  # picture pixels per image pixel
        step = max(1, int(1 / self.scale))  # a huge image: every step-th pixel, then averaged
        part = image[self.r0 : self.r1 : step, self.c0 : self.c1 : step]
        if part.dtype != np.uint8:  # grey or RGB in [0, 1]
            part = (np.clip(part, 0, 1) * 255).astype(np.uint8)
        if part.ndim == 2:
            part = np.repeat(part[..., None], 3, axis=2)
        self.pic = Image.fromarray(np.ascontiguousarray(part[..., :3])).resize(
            (max(1, round(w * self.scale)), max(1, round(h * self.scale))),
            Image.Resampling.NEAREST if self.scale >= 1 else Image.Resampling.BOX,
        )
        self.pad = int(pad)
        if self.pad:
            framed = Image.new(
                "RGB", (self.pic.width + 2 * pad, self.pic.height + 2 * pad), "white"
            )
            framed.paste(self.pic, (pad, pad))
            self.pic = framed
        self.draw = ImageDraw.Draw(self.pic)

    def inside(self, pix: np.ndarray) -> np.ndarray:
        """Which rows ``(r, c)`` of ``pix`` fall in the window ((-1, -1): none)."""
        r, c = pix[:, 0], pix[:, 1]
        return (r >= self.r0) & (r < self.r1) & (c >= self.c0) & (c < self.c1)

    def at(self, p: Sequence[int]) -> tuple[float, float]:
        """The picture's ``(x, y)`` of the centre of image pixel ``p = (r, c)``."""
        return (
            (int(p[1]) - self.c0 + 0.5) * self.scale + self.pad,
            (int(p[0]) - self.r0 + 0.5) * self.scale + self.pad,
        )

    def triangles(self, pix: np.ndarray, up: bool, fill: str, half: Any = 5, outline="white"):
        """A triangle, pointing up or down, of half-size ``half`` (one or one per pixel)."""
        keep = self.inside(pix)
        sizes = np.broadcast_to(np.asarray(half, float), (len(pix),))[keep]
        s = -1 if up else 1
        for (x, y), m in zip(map(self.at, pix[keep]), sizes, strict=True):
            self.draw.polygon(
                [(x, y + s * m), (x - m, y - s * m), (x + m, y - s * m)], fill, outline
            )

    def discs(self, pix: np.ndarray, fill: str, half: float = 5) -> None:
        """A filled disc, white-rimmed, on each pixel of ``pix`` in the window."""
        for x, y in map(self.at, pix[self.inside(pix)]):
            self.draw.ellipse([(x - half, y - half), (x + half, y + half)], fill, "white")

    def crosses(self, pix: np.ndarray, fill: str, half: float = 5) -> None:
        for x, y in map(self.at, pix[self.inside(pix)]):
            for d in (-half, half):
                self.draw.line([(x - d, y - half), (x + d, y + half)], fill="white", width=4)
                self.draw.line([(x - d, y - half), (x + d, y + half)], fill=fill, width=2)

    def ring(self, p: np.ndarray, words: str = "", below: bool = False) -> None:
        """An amber ring on pixel ``p``, labelled ``words`` above it (or below)."""
        from PIL import ImageFont

        if not self.inside(np.asarray(p)[None])[0]:
            return
        x, y = self.at(p)
        r = 11
        self.draw.ellipse([(x - r, y - r), (x + r, y + r)], outline=HIGHLIGHT, width=4)
        if words:
            self.draw.text(
                (x, y + r + 2 if below else y - r - 2), words, fill=HIGHLIGHT,
                font=ImageFont.load_default(size=14), anchor="ma" if below else "md",
                stroke_width=2, stroke_fill="black",
            )  # fmt: skip

    def array(self) -> np.ndarray:
        return np.asarray(self.pic)


def critical_pixels_picture(
    image: np.ndarray,
    dgm: Diagram,
    highlight: Dot | None = None,
    max_dots: int | None = 20,
    window: tuple[int, int, int, int] | None = None,
    side: int = 480,
    min_persistence: float = 0.0,
) -> np.ndarray:
    """Where dots live in the image, as a still picture: an RGB ``uint8`` array.

    The image (or its ``window`` ``(r0, r1, c0, c1)``) ``side`` pixels across, with
    the birth (disc) and death (cross) pixels of the ``max_dots`` most persistent
    dots of each dimension (of those with persistence at least ``min_persistence``)
    and amber rings, labelled, on the ``highlight`` dot's two pixels.
    """
    canvas = _Canvas(image, window, side)
    for k in dgm.dims:
        d = dgm[k]
        idx = top_dots(dgm, k, max_dots)
        idx = idx[d.persistence[idx] >= min_persistence]
        # discs, not triangles: on the same page triangles are the loss's pushes
        canvas.discs(d.birth_pixel[idx], DIM_COLORS[k])
        canvas.crosses(d.death_pixel[idx], DIM_COLORS[k])
    if highlight is not None:
        k, i = highlight
        birth, death = dgm[k].birth_pixel[i], dgm[k].death_pixel[i]
        # each label on the side away from the other ring: the two pixels are often
        # neighbours, and labels between them ran into each other
        lower = death[0] >= 0 and birth[0] > death[0]  # birth lower in the picture
        canvas.ring(birth, "birth", below=lower)
        canvas.ring(death, "death", below=not lower)
    return canvas.array()


#: Right and wrong in Okabe and Ito's colour-blind-safe palette: the green and red they
#: replaced are one olive to a deuteranope, a common form of colour blindness.
RIGHT_WORDS, WRONG_WORDS = "blue", "vermillion"
RIGHT, WRONG = _hex(RIGHT_WORDS), _hex(WRONG_WORDS)
LANDING_STYLE = {  # (pushed up?, lands right?) -> marker symbol, colour, words
    (True, True): ("triangle-up", RIGHT, "up, right (on the truth)"),
    (False, True): ("triangle-down", RIGHT, "down, right (off the truth)"),
    (True, False): ("triangle-up", WRONG, "up, wrong (off the truth)"),
    (False, False): ("triangle-down", WRONG, "down, wrong (on the truth: a pinhole)"),
}


def push_landing_picture(
    image: np.ndarray, g: np.ndarray, landings: Any, max_marks: int = 1500, side: int = 460
) -> np.ndarray:
    """Where each push of the loss lands, as a still picture (an RGB ``uint8`` array):
    the image and the ground truth side by side, each ``side`` pixels across, every
    moved critical pixel marked by direction (triangle up / down) and by whether it
    lands right (blue) or wrong (vermillion), :data:`LANDING_STYLE`; see
    :func:`topoviz.pushes.push_landings`. Only the ``max_marks`` largest pushes are
    drawn."""
    drawn = np.argsort(-landings.size, kind="stable")[:max_marks]
    panels = []
    for z in (image, (np.asarray(g) >= 0.5).astype(float)):
        canvas = _Canvas(z, side=side, pad=PICTURE_PAD)
        for (up, right), (_, colour, _) in LANDING_STYLE.items():
            kind = drawn[(landings.up[drawn] == up) & (landings.right[drawn] == right)]
            canvas.triangles(landings.pixel[kind], up, colour)
        panels.append(canvas.array())
    gap = np.full((panels[0].shape[0], 12, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1]], axis=1)


def landscape_picture(
    f: np.ndarray,
    ct: CriticalTargets | None = None,
    max_arrows: int = 150,
    min_force: float = 0.0,
    side: int = 360,
) -> np.ndarray:
    """:func:`landscape_map` as a still picture (an RGB ``uint8`` array, ``side``
    pixels across): ``f`` as grey, white high, and the same triangles, up (orange)
    where the loss raises ``f`` and down (magenta) where it lowers it, sized by the
    force on one scale for every picture. For pages that show several landscapes at
    once (Classroom Fig. 3), where plotly charts cost the browser most of its time.
    """
    f = np.asarray(f, float)
    canvas = _Canvas(f, side=side, pad=PICTURE_PAD)
    if ct is not None and len(ct.pixel):
        ct, value, force, keep = _forces(f, ct, None, max_arrows, min_force)
        half = 3 + 6 * np.minimum(np.abs(force[keep]), 1.0)  # landscape_map's sizes, halved
        up = ct.target[keep] > value[keep]
        for way, (_, colour, _) in PUSH_STYLE.items():
            on = up == way
            canvas.triangles(ct.pixel[keep[on]], way, colour, half=half[on], outline="black")
    return canvas.array()


# ------------------------------------------------------------------------ inspect


#: The kinds of error in Okabe and Ito's colour-blind-safe palette (the tab10 purple,
#: blue and teal they replaced were one colour to a deuteranope), each also marked by a
#: shape of its own where it is ringed (:data:`RING_SYMBOLS`).
ERROR_COLOR_WORDS = {
    "merged": "vermillion",
    "split": "orange",
    "spurious": "pink",
    "missing": "blue",
    "pinholes": "sky blue",
}
#: The colour of each kind, from :data:`OKABE_ITO` by the words above.
ERROR_COLORS = {kind: OKABE_ITO[words] for kind, words in ERROR_COLOR_WORDS.items()}
#: The mark of each ringed kind (plotly's symbol names; error_map_picture draws the
#: same): a second cue besides the colour.
RING_SYMBOLS = {
    "pinholes": "circle-open",
    "spurious": "square-open",
    "missing": "diamond-open",
    "split": "x-thin-open",
}


def error_map_rgb(
    image: np.ndarray, pred: np.ndarray, errors: Mapping[str, np.ndarray]
) -> np.ndarray:
    """The picture of :func:`error_map` as an RGB uint8 array (for a PNG download).

    Examples
    --------
    >>> import numpy as np
    >>> rgb = error_map_rgb(np.ones((2, 2)), np.eye(2, dtype=bool), {})
    >>> rgb.dtype, rgb[0, 0].tolist(), rgb[0, 1].tolist()
    (dtype('uint8'), [63, 63, 63], [255, 255, 255])
    """
    img = np.asarray(image, float)
    if img.ndim == 3:
        img = img.mean(axis=2)
    pred = np.asarray(pred, bool)
    rgb = np.repeat((0.35 + 0.65 * img)[..., None] * 255, 3, axis=2)
    on_top = []
    for kind, colour in ERROR_COLORS.items():
        m = errors.get(kind)
        if m is None or not m.any():
            continue
        if pred[m].mean() > 0.5:  # predicted structure (spurious; a crack's false bridge)
            on_top.append((m, colour))
        else:  # background regions: the dark prediction stays in front (a spurious wall)
            rgb[m] = 0.45 * rgb[m] + 0.55 * np.array(colour)
    rgb[pred] *= 0.25
    for m, colour in on_top:  # drawn dark, they would vanish in the prediction
        rgb[m] = 0.3 * rgb[m] + 0.7 * np.array(colour)
    return np.clip(rgb, 0, 255).astype(np.uint8)


#: The legend's words for a kind of error and what it counts, where not "kind: N
#: regions". "missing structure" counts pieces of true structure with no predicted
#: pixel: not the "missed regions" of region_errors (true regions that no predicted
#: region holds half of), which the tables count.
ERROR_WORDS = {"missing": ("missing structure", "piece"), "pinholes": ("pinholes", "hole")}


def _legend(errors: Mapping[str, np.ndarray]) -> list[tuple[tuple, str, tuple | None, str]]:
    """``(colour, words, ring centres (rows, cols) or None, symbol)`` of each kind of
    error, in the order of :data:`ERROR_COLORS`: what the map's legend and rings show."""
    entries = []
    for kind, colour in ERROR_COLORS.items():
        words, noun = ERROR_WORDS.get(kind, (kind, "region"))
        m = errors.get(kind)
        words = f"{words}: {_count(m, noun)}"
        rings = m if kind in RINGED else errors.get("breaks") if kind == "split" else None
        centres = None
        if rings is not None and rings.any():
            centres = _centres(rings, RINGED.get(kind))
            if not len(centres[0]):  # none small enough to ring: the legend's square
                centres = None
            elif kind == "split":  # one split crack can break at several places
                words += f", broken at {_count(rings, 'place')} (crossed)"
        entries.append((colour, words, centres, RING_SYMBOLS.get(kind, "circle-open")))
    return entries


def error_map(image: np.ndarray, pred: np.ndarray, errors: Mapping[str, np.ndarray]) -> go.Figure:
    """The image, the predicted structure in black, and each kind of error tinted;
    small regions of some kinds also ringed (:data:`RINGED`, up to :data:`MAX_RINGS`),
    and split cracks or vessels crossed where they break (``errors["breaks"]``, from
    :func:`topoviz.metrics.topology_errors`)."""
    rgb = error_map_rgb(image, pred, errors)
    fig = go.Figure(_image(rgb))
    for colour, words, centres, symbol in _legend(errors):  # legend entries, and the rings
        x, y = [None], [None]
        marker = {"color": f"rgb{colour}", "size": 12, "symbol": "square"}
        if centres is not None:
            y, x = centres
            marker = {"color": f"rgb{colour}", "size": 16, "symbol": symbol,
                      "line": {"width": 2, "color": f"rgb{colour}"}}  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=y, mode="markers", name=words, marker=marker, hoverinfo="skip")
        )
    _image_axes(fig)
    fig.update_layout(
        height=460, margin={"l": 0, "r": 0, "t": 30, "b": 0}, legend={"orientation": "h"}
    )
    return fig


def error_map_picture(
    image: np.ndarray, pred: np.ndarray, errors: Mapping[str, np.ndarray]
) -> np.ndarray:
    """:func:`error_map` as one RGB uint8 picture (the PNG download): the map at the
    image's resolution, framed by :data:`PICTURE_PAD` white pixels so that a ring at
    its edge is drawn whole, with the same rings, and its legend written beneath.

    Examples
    --------
    >>> pred = np.zeros((40, 40), bool)
    >>> errors = {"pinholes": np.zeros((40, 40), bool)}
    >>> errors["pinholes"][20, 20] = True
    >>> pic = error_map_picture(np.ones((40, 40)), pred, errors)
    >>> pic.shape[1] >= 40 + 2 * PICTURE_PAD and pic.shape[0] > 40, pic.dtype
    (True, dtype('uint8'))
    >>> at = 20 + PICTURE_PAD  # the pinhole, in the picture
    >>> pic[at, at + RING_RADIUS].tolist() == list(ERROR_COLORS["pinholes"])  # ringed
    True
    """
    from PIL import Image, ImageDraw, ImageFont

    rgb = error_map_rgb(image, pred, errors)
    height, width = rgb.shape[:2]
    pad = PICTURE_PAD
    entries = _legend(errors)
    line = 20  # the legend: one line a kind of error, under the map
    size = (max(width + 2 * pad, 480), height + 2 * pad + line * len(entries) + 8)
    canvas = Image.new("RGB", size, "white")
    canvas.paste(Image.fromarray(rgb), (pad, pad))
    draw = ImageDraw.Draw(canvas)
    for colour, _, centres, symbol in entries:
        for y, x in zip(*(centres or ((), ())), strict=True):
            _mark(draw, symbol, round(float(x)) + pad, round(float(y)) + pad, RING_RADIUS, colour)
    try:  # Pillow's own font at a readable size (its bitmap font is 10 px high)
        font = ImageFont.load_default(size=14)
    except (TypeError, ImportError, OSError):  # no FreeType: the bitmap font
        font = ImageFont.load_default()
    for i, (colour, words, centres, symbol) in enumerate(entries):
        top = height + 2 * pad + 6 + i * line
        if centres is None:
            draw.rectangle((4, top + 3, 16, top + 15), fill=colour)
        else:
            _mark(draw, symbol, 10, top + 9, 6, colour)
        draw.text((24, top), words, fill="black", font=font)
    return np.asarray(canvas)


def _mark(draw: Any, symbol: str, x: int, y: int, r: int, colour: tuple) -> None:
    """One of :data:`RING_SYMBOLS` drawn with PIL, centred at ``(x, y)``, ``r`` wide."""
    box = (x - r, y - r, x + r, y + r)
    if symbol == "square-open":
        draw.rectangle(box, outline=colour, width=2)
    elif symbol == "diamond-open":
        draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], outline=colour, width=2)
    elif symbol == "x-thin-open":
        draw.line((x - r, y - r, x + r, y + r), fill=colour, width=2)
        draw.line((x - r, y + r, x + r, y - r), fill=colour, width=2)
    else:
        draw.ellipse(box, outline=colour, width=2)


#: Kinds of error small enough to miss on the map, and the area (pixels) below which
#: a region of that kind is ringed too (pinholes: all; spurious specks and missing
#: pieces: the small ones, 10 px of a 512² image is 2 × 3 screen pixels; a missing
#: pixel in a broken crack is drawn inside the split crack's tint).
RINGED = {"pinholes": None, "spurious": 64, "missing": 64}
#: Rings drawn at most (the largest regions first).
MAX_RINGS = 200


def _centres(mask: np.ndarray, below: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the centres of ``mask``'s 8-connected regions (those of
    fewer than ``below`` pixels where given), the :data:`MAX_RINGS` largest.

    Examples
    --------
    >>> m = np.zeros((9, 9), bool); m[1:4, 1:4] = True; m[7, 7] = True
    >>> [c.tolist() for c in _centres(m)]
    [[2.0, 7.0], [2.0, 7.0]]
    >>> [c.tolist() for c in _centres(m, below=5)]
    [[7.0], [7.0]]
    """
    labels = label(mask, connectivity=2)
    sizes = np.bincount(labels.ravel())[1:]
    order = np.argsort(-sizes, kind="stable")
    if below is not None:
        order = order[sizes[order] < below]
    keep = order[:MAX_RINGS] + 1
    rows, cols = np.nonzero(labels)
    which = labels[rows, cols]
    n = np.bincount(which, minlength=labels.max() + 1)
    r = np.bincount(which, rows, minlength=n.size) / np.maximum(n, 1)
    c = np.bincount(which, cols, minlength=n.size) / np.maximum(n, 1)
    return r[keep], c[keep]


def _count(mask: np.ndarray | None, noun: str = "region") -> str:
    if mask is None:
        return "—"
    return many(int(label(mask, connectivity=2).max()), noun)


def many(n: float, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is one.

    Examples
    --------
    >>> many(3, "hole"), many(1.0, "false merge"), many(0, "region")
    ('3 holes', '1 false merge', '0 regions')
    """
    return f"{n:.0f} {noun}{'' if round(n) == 1 else 's'}"


# ------------------------------------------------------------------------ curves


def _field(report: Any, name: str) -> Any:
    return report[name] if isinstance(report, Mapping) else getattr(report, name)


def loss_curves(
    reports: Sequence[Any],
    fields: Sequence[str] = ("bce", "topo", "total"),
    steps: int | None = None,
) -> go.Figure:
    """Loss per step from a sequence of step reports (mappings or objects with ``step``).

    ``steps`` fixes the step axis at 0..steps. With no report yet the chart is the
    empty axes with a note where the curves will be.
    """
    fig = go.Figure()
    xs = [_field(r, "step") for r in reports]
    for name in fields:
        try:
            ys = [float(_field(r, name)) for r in reports]
        except (KeyError, AttributeError):
            continue
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name))
    fig.update_xaxes(title="step", range=None if steps is None else [0, steps])
    fig.update_yaxes(title="loss")
    if not reports:
        fig.update_yaxes(range=[0, 1], showticklabels=False)
        fig.add_annotation(
            text="the loss curves appear here from the first step",
            x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        )  # fmt: skip
    fig.update_layout(height=320, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def accuracy_range(accuracies: Sequence[float], min_span: float = 0.05) -> list[float]:
    """The pixel-accuracy axis of both λ charts: at least ``min_span`` tall (5 points
    of accuracy by default), so that a 0.2 % difference does not fill a chart, and the
    same on both so the same change looks the same.

    Examples
    --------
    >>> [round(v, 3) for v in accuracy_range([0.92, 0.918])]
    [0.889, 0.949]
    """
    lo, hi = (min(accuracies), max(accuracies)) if len(accuracies) else (0.0, 1.0)
    pad = max(0.0, min_span - (hi - lo)) / 2 + 0.005
    return [max(0.0, lo - pad), min(1.0, hi + pad)]


def _shared_labels(
    xs: Sequence[float], ys: Sequence[float], spans: tuple[float, float], lams: Sequence[float]
) -> list[str]:
    """``"λ=…"`` labels of points in λ order, where points within 4 % of the axes'
    ``spans`` of an earlier labelled one add their λ to its label and get none.

    >>> _shared_labels([0.1, 0.1, 0.5], [0.9, 0.9, 0.8], (1.0, 0.1), [0, 0.05, 0.2])
    ['λ=0, 0.05', '', 'λ=0.2']
    """
    labels: list[str] = []
    heads: list[int] = []  # the points that carry a label
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        near = next(
            (
                h
                for h in heads
                if abs(xs[h] - x) <= 0.04 * spans[0] and abs(ys[h] - y) <= 0.04 * spans[1]
            ),
            None,
        )
        if near is None:
            heads.append(i)
            labels.append(f"λ={lams[i]:g}")
        else:
            labels[near] += f", {lams[i]:g}"
            labels.append("")
    return labels


def lambda_sweep(
    results: Sequence[Mapping[str, float]],
    min_span: float = 0.05,
    before: Mapping[str, float] | None = None,
) -> go.Figure:
    """Accuracy against Betti error, one point per λ (the paper's Fig. 6), and the
    starting model ``before`` as a grey cross where given.

    Points are joined in λ order (not run order). The accuracy axis is
    :func:`accuracy_range` (at least ``min_span`` tall).
    """
    results = sorted(results, key=lambda r: r["lam"])
    lam = [r["lam"] for r in results]
    acc = [r["accuracy"] for r in results]
    betti = [r["betti_error"] for r in results]
    all_acc = [*acc, before["accuracy"]] if before is not None else acc
    x_max = 1.2 * max([*betti, *([before["betti_error"]] if before else [])], default=1.0) + 0.02
    y_range = accuracy_range(all_acc, min_span)
    fig = go.Figure(
        go.Scatter(
            x=betti,
            y=acc,
            mode="markers+lines+text",
            # points that land on one spot share one label ("λ=0, 0.05, 0.2" had
            # been four labels on top of each other)
            text=_shared_labels(betti, acc, (x_max, y_range[1] - y_range[0]), lam),
            # neighbouring λ often land close together: their labels above and below
            textposition=["top center" if i % 2 == 0 else "bottom center" for i in range(len(lam))],
            name="λ sweep (joined in λ order)",
        )
    )
    if before is not None:
        fig.add_scatter(
            x=[before["betti_error"]],
            y=[before["accuracy"]],
            mode="markers+text",
            text=["start"],
            textposition="bottom center",
            marker={"symbol": "x", "size": 10, "color": "gray"},
            name="starting model",
        )
    # room right of the last point for its label ("λ=0.05" was cut at the edge)
    fig.update_xaxes(title="Betti error (lower is better)", range=[0, x_max])
    fig.update_yaxes(title="pixel accuracy", range=y_range, tickformat=".1%")
    fig.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def lambda_regions(
    results: Sequence[Mapping[str, float]], before: Mapping[str, float]
) -> go.Figure:
    """Paper Fig. 6b with region counts: accuracy (left axis) and merges / splits (right) vs λ.

    One point per λ, in λ order, joined; the starting model is drawn apart (crosses,
    not joined) as "start" at the left. Accuracy is on :func:`accuracy_range`, as in
    :func:`lambda_sweep`, the counts on the right axis. Where every row has
    ``pinholes`` (:func:`topoviz.metrics.hole_kinds`), they are drawn too: with the
    splits, what the loss costs for the merges it repairs.
    """
    rows = [{"lam": "start", **before}] + sorted(results, key=lambda r: r["lam"])
    x = ["start" if r["lam"] == "start" else f"{r['lam']:g}" for r in rows]
    fig = go.Figure()
    # the start is no λ: its marks stand alone, the λ points are joined
    fig.add_scatter(
        x=x[1:],
        y=[r["accuracy"] for r in rows[1:]],
        mode="lines+markers",
        name="pixel accuracy (left)",
        line={"color": "#444"},
        legendgroup="accuracy",
        offsetgroup="accuracy",
    )
    fig.add_scatter(
        x=x[:1],
        y=[rows[0]["accuracy"]],
        mode="markers",
        marker={"color": "#444", "symbol": "x", "size": 9},
        legendgroup="accuracy",
        offsetgroup="accuracy",
        showlegend=False,
        name="pixel accuracy (left), start",
    )
    # each count its colour (the error map's), its mark and its dash: merges and splits
    # were red and orange dotted lines alike, one colour to a deuteranope
    counts = [
        ("merges", "merged", "false merges (right)", "square", "dash"),
        ("splits", "split", "false splits (right)", "diamond", "dot"),
    ]
    if all("pinholes" in r for r in rows):
        counts.append(("pinholes", "pinholes", "pinholes (right)", "x", "dashdot"))
    for key, kind, name, symbol, dash in counts:
        colour = "rgb" + str(ERROR_COLORS[kind])
        fig.add_scatter(
            x=x[1:],
            y=[r[key] for r in rows[1:]],
            mode="lines+markers",
            name=name,
            yaxis="y2",
            marker={"symbol": symbol, "size": 8},
            line={"color": colour, "dash": dash},
            legendgroup=key,
            offsetgroup=key,
        )
        fig.add_scatter(
            x=x[:1],
            y=[rows[0][key]],
            mode="markers",
            marker={"color": colour, "symbol": f"{symbol}-open", "size": 9},
            yaxis="y2",
            legendgroup=key,
            offsetgroup=key,
            showlegend=False,
            name=f"{name}, start",
        )
    # accuracy: the range of the other λ chart (accuracy_range), in percent to one
    # decimal; counts: whole numbers only (plotly chose ticks 0.303, 0.604)
    acc = [r["accuracy"] for r in rows]
    top = max([1.0] + [float(r[k]) for r in rows for k, *_ in counts])
    fig.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        # each series a little apart within its λ: equal counts (1 merge, 1 split) had
        # drawn one mark over the other
        scattermode="group",
        scattergap=0.4,
        # the start first, at the left (the λ traces come first, and plotly would
        # order the categories as they first appear)
        xaxis={"title": "λ", "type": "category", "categoryorder": "array", "categoryarray": x},
        yaxis={
            "title": "pixel accuracy",
            "tickformat": ".1%",
            "range": accuracy_range(acc),
        },
        yaxis2={
            "title": "regions (count)",
            "overlaying": "y",
            "side": "right",
            # a little below 0: marks at 0 (no merge, no split) were cut in half
            "range": [-0.08 * top, 1.15 * top],
            "tickformat": "d",
            "dtick": max(1, int(np.ceil(top / 5))),
        },
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
