"""Synthetic images with thin structures and their ground-truth masks.

Every generator has one signature, so a menu can list them and a new one is one
function::

    generator(size, seed, **knobs) -> (image, mask)

``size`` is ``n`` (an ``n × n`` image) or ``(height, width)``; ``image`` is float32
``H × W`` in [0, 1]; ``mask`` is bool ``H × W`` with True on the thin structure
(membrane, vessel, crack, road). The same seed gives the same pair, bit for bit.

Each generator also draws *faint stretches*: places where the structure is in the
mask but nearly invisible in the image. A network trained with plain cross entropy
tends to break the structure there, which is what the topological loss repairs.

``fig3`` is different: its image *is* a likelihood ``f`` built by hand after the
paper's Fig. 3 (Hu et al., NeurIPS 2019), with one broken bridge and one broken
handle, for the Classroom view.

Regenerate the committed samples with::

    python -m topoviz.synthetic --out sample_data --size 256
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from scipy.spatial import cKDTree

__all__ = [
    "GENERATORS",
    "DESCRIPTIONS",
    "membranes",
    "vessels",
    "cracks",
    "roads",
    "fig3",
    "fig3_likelihood",
    "fig3_deep",
    "make_dataset",
    "item_seed",
    "write_samples",
    "main",
]

Size = int | tuple[int, int]
Generator = Callable[..., tuple[np.ndarray, np.ndarray]]

#: Seeds of the committed samples in ``sample_data/`` (two per generator).
SAMPLE_SEEDS = (0, 1)


# --------------------------------------------------------------------------- helpers


def _shape(size: Size, minimum: int = 16) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)):
        shape = (int(size), int(size))
    else:
        try:
            h, w = size
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
        shape = (int(h), int(w))
    if min(shape) < minimum:
        raise ValueError(f"size must be at least {minimum} pixels a side, got {shape}")
    return shape


def _check_unit(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-smoothed white noise rescaled to unit standard deviation."""
    n = ndi.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return n / (n.std() + 1e-12)


def _finish(image: np.ndarray, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    """Optical blur, then sensor noise, then clip to [0, 1] as float32."""
    if blur > 0:
        image = ndi.gaussian_filter(image, blur, mode="reflect")
    if noise > 0:
        image = image + noise * rng.standard_normal(image.shape)
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _disk_offsets(radius: float) -> tuple[np.ndarray, np.ndarray]:
    r = int(np.ceil(radius))
    dy, dx = np.mgrid[-r : r + 1, -r : r + 1]
    keep = dy**2 + dx**2 <= radius**2 + 1e-9
    return dy[keep], dx[keep]


def _chain4(ys: np.ndarray, xs: np.ndarray, radii: np.ndarray, values: np.ndarray):
    """Rasterise a polyline into a 4-connected chain of pixels.

    The polyline is resampled every quarter pixel and rounded; a diagonal step
    gets an extra pixel so that even a one-pixel-wide line is 4-connected (the
    foreground connectivity of the filtration).
    """
    ys, xs = np.asarray(ys, float), np.asarray(xs, float)
    if len(ys) == 1:
        return np.round(ys).astype(int), np.round(xs).astype(int), radii, values
    seg = np.hypot(np.diff(ys), np.diff(xs))
    t = np.concatenate([[0.0], np.cumsum(seg)])
    tt = np.arange(0.0, t[-1] + 0.25, 0.25)
    py = np.round(np.interp(tt, t, ys)).astype(int)
    px = np.round(np.interp(tt, t, xs)).astype(int)
    pr = np.interp(tt, t, radii)
    pv = np.interp(tt, t, values)
    keep = np.concatenate([[True], (np.diff(py) != 0) | (np.diff(px) != 0)])
    py, px, pr, pv = py[keep], px[keep], pr[keep], pv[keep]
    diag = np.flatnonzero((np.diff(py) != 0) & (np.diff(px) != 0))
    if len(diag):  # insert (y_prev, x_next) before each diagonal step
        py = np.insert(py, diag + 1, py[diag])
        px = np.insert(px, diag + 1, px[diag + 1])
        pr = np.insert(pr, diag + 1, pr[diag])
        pv = np.insert(pv, diag + 1, pv[diag])
    return py, px, pr, pv


def _paint_path(
    mask: np.ndarray,
    contrast: np.ndarray | None,
    ys,
    xs,
    radii,
    values=None,
) -> None:
    """Paint a polyline of varying radius into ``mask`` (and its contrast into ``contrast``).

    A pixel is painted when it lies within ``radius`` of a pixel of the 4-connected
    centre chain; radius 0.5 paints a one-pixel line, 1 a plus, 1.5 a 3 × 3 square.
    ``contrast`` keeps the largest value painted on each pixel.
    """
    ys = np.asarray(ys, float)
    radii = np.broadcast_to(np.asarray(radii, float), ys.shape)
    values = np.broadcast_to(np.asarray(1.0 if values is None else values, float), ys.shape)
    py, px, pr, pv = _chain4(ys, xs, radii, values)
    h, w = mask.shape
    rq = np.maximum(np.round(pr * 4) / 4, 0.5)
    for r in np.unique(rq):
        sel = rq == r
        dy, dx = _disk_offsets(r)
        yy = (py[sel][:, None] + dy[None, :]).ravel()
        xx = (px[sel][:, None] + dx[None, :]).ravel()
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        yy, xx = yy[inside], xx[inside]
        mask[yy, xx] = True
        if contrast is not None:
            vv = np.repeat(pv[sel], len(dy))[inside]
            np.maximum.at(contrast, (yy, xx), vv)


def _window(y0: float, x0: float, radius: float, shape: tuple[int, int]):
    """Slices of the box around ``(y0, x0)`` and the offsets of its pixels from it."""
    h, w = shape
    r = int(np.ceil(radius)) + 1
    ys = slice(max(0, int(y0) - r), min(h, int(y0) + r + 2))
    xs = slice(max(0, int(x0) - r), min(w, int(x0) + r + 2))
    dy = np.arange(ys.start, ys.stop)[:, None] - y0
    dx = np.arange(xs.start, xs.stop)[None, :] - x0
    return (ys, xs), dy, dx


def _border_start(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[float, float, float]:
    """A point on the image border and a heading pointing inwards."""
    h, w = shape
    side = rng.integers(4)
    if side == 0:
        y, x, a = 0.0, rng.uniform(0.1, 0.9) * (w - 1), np.pi / 2
    elif side == 1:
        y, x, a = float(h - 1), rng.uniform(0.1, 0.9) * (w - 1), -np.pi / 2
    elif side == 2:
        y, x, a = rng.uniform(0.1, 0.9) * (h - 1), 0.0, 0.0
    else:
        y, x, a = rng.uniform(0.1, 0.9) * (h - 1), float(w - 1), np.pi
    return y, x, a + rng.uniform(-0.5, 0.5)


def _inside(y: float, x: float, shape: tuple[int, int]) -> bool:
    # Paths stop at the border rather than leave and re-enter, so each stays 4-connected.
    return 0 <= y <= shape[0] - 1 and 0 <= x <= shape[1] - 1


def _stretch_weight(n: int, start: int, length: int, ramp: int = 3) -> np.ndarray:
    """1 on ``[start, start + length)`` of a path of ``n`` points, with linear ramps."""
    i = np.arange(n)
    up = np.clip((i - start + ramp) / ramp, 0, 1)
    down = np.clip((start + length + ramp - i) / ramp, 0, 1)
    return np.minimum(up, down)


# ------------------------------------------------------------------------ membranes


def membranes(
    size: Size,
    seed: int,
    *,
    n_cells: int | None = None,
    thickness: float = 2.5,
    noise: float = 0.07,
    blur: float = 0.8,
    gap_rate: float = 0.3,
    gap_contrast: float = 0.12,
) -> tuple[np.ndarray, np.ndarray]:
    """EM-like cell membranes: warped Voronoi cells, dark walls, faint gaps.

    Parameters
    ----------
    size : int or (int, int)
        Image side, or ``(height, width)``.
    seed : int
        Seed of every random choice.
    n_cells : int, optional
        Number of cells (Voronoi seeds, some cut by the border). Default: one cell
        per 40 × 40 pixels.
    thickness : float
        Membrane width in the mask, in pixels (at least 2, so walls always close).
    noise : float
        Standard deviation of the additive pixel noise.
    blur : float
        Gaussian blur (sigma, pixels) of the image before the noise.
    gap_rate : float
        Fraction of cell walls (the boundary between two cells) that carry one
        faint stretch, about ``4 + 2 * thickness`` pixels long.
    gap_contrast : float
        Contrast left in a faint stretch: 0 makes the membrane vanish from the
        image, 1 leaves it as dark as elsewhere. The mask is not affected.

    Returns
    -------
    image : ndarray, float32, (H, W)
        Dark membranes on lighter, textured cytoplasm with dark organelles.
    mask : ndarray, bool, (H, W)
        True on membranes. Walls are closed: every cell is its own 8-connected
        background region.

    Notes
    -----
    The cells are the Voronoi cells of well-spread random seeds, computed in
    coordinates bent by a smooth displacement field (so walls curve). In the bent
    coordinates the distance from ``q`` to the wall between seeds ``p1`` (nearest)
    and ``pj`` is ``(|q - pj|^2 - |q - p1|^2) / (2 |pj - p1|)``; dividing it by the
    length of its gradient turns it into pixels. A pixel is membrane where that
    distance is below ``thickness / 2``, a band wider than a diagonal step, so no
    cell leaks into its neighbour through a corner.
    """
    h, w = _shape(size)
    if thickness < 2:
        raise ValueError(f"thickness must be at least 2 pixels, got {thickness}")
    _check_unit("gap_rate", gap_rate)
    _check_unit("gap_contrast", gap_contrast)
    rng = np.random.default_rng(seed)
    n = int(n_cells) if n_cells is not None else max(4, round(h * w / 40**2))
    if n < 2:
        raise ValueError(f"n_cells must be at least 2, got {n}")

    # Well-spread seeds (dart throwing), some outside the image so border cells are cut.
    cell = np.sqrt(h * w / n)
    margin = 0.3 * cell
    lo, hi = np.array([-margin, -margin]), np.array([h + margin, w + margin])
    pts: list[np.ndarray] = []
    r_min = 0.55 * cell
    for _ in range(60 * n):
        if len(pts) == n:
            break
        p = rng.uniform(lo, hi)
        if all(np.hypot(*(p - q)) >= r_min for q in pts):
            pts.append(p)
    while len(pts) < n:  # crowded: accept the rest without spacing
        pts.append(rng.uniform(lo, hi))
    seeds = np.array(pts)

    # Cells are Voronoi cells in coordinates bent by a smooth warp (so walls curve).
    # A broad bend plus a small wobble; the warp's gradient stays below 0.8, so it
    # is one-to-one and every cell stays in one piece.
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    warp = [np.zeros((h, w)), np.zeros((h, w))]
    for sigma, slope in ((cell / 2, 0.55), (cell / 7, 0.25)):
        d = [_smooth_noise(rng, (h, w), max(1.5, sigma)) for _ in range(2)]
        jac = np.sqrt(sum(gi**2 for di in d for gi in np.gradient(di)))  # Frobenius norm
        for i in range(2):
            warp[i] += d[i] * slope / (jac.max() + 1e-12)
    q = np.stack([yy + warp[0], xx + warp[1]], -1).reshape(-1, 2)
    k = min(4, n)
    _, idx = cKDTree(seeds).query(q, k=k)
    p1 = seeds[idx[:, 0]]
    # Distance (bent coordinates) from q to the wall with each next seed pj: exact,
    # to their bisector. Its gradient in q is the unit normal n = (p1 - pj) / |p1 - pj|.
    bis, normals = [], []
    for j in range(1, k):
        pj = seeds[idx[:, j]]
        gap_j = np.hypot(*(pj - p1).T)
        bis.append((((q - pj) ** 2).sum(1) - ((q - p1) ** 2).sum(1)) / (2 * gap_j))
        normals.append((p1 - pj) / gap_j[:, None])
    bis, normals = np.stack(bis, 1), np.stack(normals, 1)
    near = np.argmin(bis, 1)
    rows = np.arange(len(q))
    wall_q = bis[rows, near]
    n_y, n_x = normals[rows, near, 0], normals[rows, near, 1]
    # Into pixels: divide by |J^T n|, J the warp's Jacobian (how much it stretches n).
    (wyy, wyx), (wxy, wxx) = (np.gradient(c) for c in warp)
    stretch = np.hypot(
        (1 + wyy.ravel()) * n_y + wxy.ravel() * n_x, wyx.ravel() * n_y + (1 + wxx.ravel()) * n_x
    )
    wall = (wall_q / stretch).reshape(h, w)  # distance to the nearest wall, in pixels
    l1 = idx[:, 0].reshape(h, w)
    l2 = idx[rows, near + 1].reshape(h, w)
    bis.sort(1)
    junction = (bis[:, 1] - bis[:, 0]).reshape(h, w) if k > 2 else np.full((h, w), np.inf)
    mask = wall < thickness / 2

    # Faint gaps: one stretch on a fraction gap_rate of the walls, away from junctions.
    r_gap = 2.0 + thickness
    gap = np.zeros((h, w))
    cand = mask & (wall < 0.5) & (junction > 2 * r_gap)
    cy, cx = np.nonzero(cand)
    if len(cy):
        pair = np.minimum(l1[cy, cx], l2[cy, cx]) * n + np.maximum(l1[cy, cx], l2[cy, cx])
        centres = []
        for p in np.unique(pair):
            if rng.random() < gap_rate:
                k = rng.choice(np.flatnonzero(pair == p))
                centres.append((cy[k], cx[k]))
        for y0, x0 in centres:
            win, dy, dx = _window(y0, x0, r_gap, (h, w))
            bump = np.clip((r_gap - np.hypot(dy, dx)) / (0.4 * r_gap), 0, 1)
            gap[win] = np.maximum(gap[win], bump)

    # Cytoplasm: per-cell tone, grain, slow shading, dark organelles.
    tone = rng.uniform(0.6, 0.8, n)[l1]
    cyto = tone + 0.05 * _smooth_noise(rng, (h, w), 1.2) + 0.04 * _smooth_noise(rng, (h, w), 8)
    for _ in range(rng.poisson(1.2 * n)):
        y0, x0 = rng.uniform(0, h), rng.uniform(0, w)
        a, b = rng.uniform(2.0, 5.0), rng.uniform(1.5, 3.5)
        th, depth = rng.uniform(0, np.pi), rng.uniform(0.15, 0.3)
        win, dy, dx = _window(y0, x0, 1.5 * a, (h, w))
        u = dy * np.cos(th) + dx * np.sin(th)
        v = -dy * np.sin(th) + dx * np.cos(th)
        blob = np.clip(1.5 - np.hypot(u / a, v / b), 0, 1)
        blob[wall[win] < thickness + 2] = 0  # organelles sit inside cells, off the walls
        cyto[win] -= depth * blob

    # Membranes: a soft dark band; contrast drops to gap_contrast in the gaps.
    profile = 1.0 / (1.0 + np.exp((wall - thickness / 2) / 0.35))
    strength = 1.0 - (1.0 - gap_contrast) * gap
    membrane = 0.2 + 0.03 * _smooth_noise(rng, (h, w), 1.0)
    image = cyto + (membrane - cyto) * profile * strength
    return _finish(image, rng, blur, noise), mask


# -------------------------------------------------------------------------- vessels


def vessels(
    size: Size,
    seed: int,
    *,
    n_trees: int = 3,
    width: float = 5.0,
    branch_prob: float = 0.025,
    noise: float = 0.04,
    faint: float = 0.35,
    blur: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """Branching vessel trees, retina-like: dark vessels on a shaded background.

    Parameters
    ----------
    size, seed
        As for every generator.
    n_trees : int
        Number of trees, each entering from a random point of the border.
    width : float
        Diameter of a trunk, in pixels. Children are 55–80 % as wide as their
        parent; branches end when they reach one pixel.
    branch_prob : float
        Chance, per pixel of length, that a vessel sprouts a branch.
    noise : float
        Standard deviation of the additive pixel noise.
    faint : float
        Chance that a branch has one faint stretch (10–25 pixels with 15 % of
        its contrast). Thin vessels are also fainter than thick ones.
    blur : float
        Gaussian blur (sigma, pixels) of the image before the noise.

    Returns
    -------
    image : ndarray, float32, (H, W)
    mask : ndarray, bool, (H, W)
        True on vessels; every tree is 4-connected.
    """
    h, w = _shape(size)
    _check_unit("faint", faint)
    _check_unit("branch_prob", branch_prob)
    if width < 1:
        raise ValueError(f"width must be at least 1 pixel, got {width}")
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), bool)
    contrast = np.zeros((h, w))
    scale = max(h, w)

    # A branch: (y, x, heading, radius, length budget); grown depth first.
    stack = []
    for _ in range(n_trees):
        y, x, _a = _border_start(rng, (h, w))
        a = np.arctan2(h / 2 - y, w / 2 - x) + rng.uniform(-0.4, 0.4)  # towards the middle
        stack.append((y, x, a, width / 2, scale * rng.uniform(0.8, 1.2)))
    n_branches = 0
    while stack and n_branches < 80:
        y, x, a, r, budget = stack.pop()
        n_branches += 1
        ys, xs, rs = [y], [x], [r]
        turn = rng.normal(0, 0.004)
        for step in range(int(budget)):
            turn = 0.95 * turn + rng.normal(0, 0.002)  # slow, smooth bends
            a += turn + rng.normal(0, 0.03)
            y, x = y + np.sin(a), x + np.cos(a)
            r *= 0.998
            if not _inside(y, x, (h, w)) or r < 0.5:
                break
            ys.append(y)
            xs.append(x)
            rs.append(r)
            if rng.random() < branch_prob and r > 0.7:
                side = rng.choice([-1.0, 1.0])
                child = (y, x, a + side * rng.uniform(0.5, 1.1), r * rng.uniform(0.55, 0.8))
                stack.append((*child, 0.7 * (budget - step)))
                r *= 0.92
                a -= side * rng.uniform(0.1, 0.3)  # the parent swerves away from its child
        if len(ys) < 2:
            continue
        rs_arr = np.maximum(np.array(rs), 0.5)
        c = 0.4 * np.sqrt(np.clip(rs_arr / 1.5, 0, 1))  # thin vessels are fainter
        if rng.random() < faint and len(ys) > 16:
            length = int(rng.integers(10, 26))
            start = int(rng.integers(3, max(4, len(ys) - length - 3)))
            c = c * (1 - 0.85 * _stretch_weight(len(ys), start, length))
        _paint_path(mask, contrast, ys, xs, rs_arr, c)

    shade = 0.62 + 0.07 * _smooth_noise(rng, (h, w), scale / 6)
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = np.hypot((yy - h / 2) / h, (xx - w / 2) / w)
    background = shade - 0.25 * vignette**2 + 0.025 * _smooth_noise(rng, (h, w), 2)
    image = background - ndi.gaussian_filter(contrast, 0.6)
    return _finish(image, rng, blur, noise), mask


# --------------------------------------------------------------------------- cracks


def cracks(
    size: Size,
    seed: int,
    *,
    n_cracks: int = 3,
    width: float = 2.5,
    branch_prob: float = 0.005,
    noise: float = 0.05,
    faint: float = 0.2,
    texture: float = 0.07,
) -> tuple[np.ndarray, np.ndarray]:
    """Thin dark meandering cracks on grainy pavement.

    Parameters
    ----------
    size, seed
        As for every generator.
    n_cracks : int
        Number of main cracks (each may branch).
    width : float
        Largest crack width, in pixels; along a crack the width wanders between
        one pixel and this.
    branch_prob : float
        Chance, per pixel of length, that a crack forks.
    noise : float
        Standard deviation of the additive pixel noise.
    faint : float
        Fraction of the crack length drawn faint (stretches of 12–30 pixels with
        20 % of the contrast): hairline parts that are hard to see.
    texture : float
        Strength of the pavement grain and aggregate speckle.

    Returns
    -------
    image : ndarray, float32, (H, W)
    mask : ndarray, bool, (H, W)
        True on cracks, each crack 4-connected, 1–``width`` pixels wide.
    """
    h, w = _shape(size)
    _check_unit("faint", faint)
    _check_unit("branch_prob", branch_prob)
    if width < 1:
        raise ValueError(f"width must be at least 1 pixel, got {width}")
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), bool)
    contrast = np.zeros((h, w))
    scale = max(h, w)

    stack = []
    for _ in range(n_cracks):
        if rng.random() < 0.6:
            y, x, a = _border_start(rng, (h, w))
        else:
            y, x, a = (
                rng.uniform(0.2, 0.8) * h,
                rng.uniform(0.2, 0.8) * w,
                rng.uniform(0, 2 * np.pi),
            )
        stack.append((y, x, a, scale * rng.uniform(0.5, 1.2), 1.0))
    n_paths = 0
    while stack and n_paths < 40:
        y, x, a, budget, wscale = stack.pop()
        n_paths += 1
        base = a
        ys, xs = [y], [x]
        for _step in range(int(budget)):
            # Meander: a persistent wobble pulled back to the crack's overall direction.
            a += rng.normal(0, 0.25) + 0.08 * np.angle(np.exp(1j * (base - a)))
            y, x = y + np.sin(a), x + np.cos(a)
            if not _inside(y, x, (h, w)):
                break
            ys.append(y)
            xs.append(x)
            if rng.random() < branch_prob:
                side = rng.choice([-1.0, 1.0])
                stack.append((y, x, a + side * rng.uniform(0.4, 1.2), budget * 0.4, 0.7 * wscale))
        m = len(ys)
        if m < 2:
            continue
        wobble = ndi.gaussian_filter1d(rng.standard_normal(m), 8, mode="nearest")
        wobble = (wobble - wobble.min()) / (np.ptp(wobble) + 1e-12)
        radii = 0.5 + (wscale * width / 2 - 0.5) * wobble
        c = np.full(m, 0.42)
        pos = 0
        while pos < m:  # stretches of 12-30 px, each faint with chance `faint`
            length = int(rng.integers(12, 31))
            if rng.random() < faint:
                c = c * (1 - 0.8 * _stretch_weight(m, pos, length))
            pos += length
        _paint_path(mask, contrast, ys, xs, radii, c)

    grain = (
        0.55
        + texture * 0.9 * _smooth_noise(rng, (h, w), 0.7)
        + texture * 0.5 * _smooth_noise(rng, (h, w), 2.5)
        + 0.05 * _smooth_noise(rng, (h, w), scale / 8)
    )
    # Aggregate: scattered bright and dark stones a few pixels wide.
    stones = np.zeros((h, w))
    k = rng.poisson(h * w / 60)
    stones[rng.integers(0, h, k), rng.integers(0, w, k)] = rng.choice([-1.0, 1.0], k)
    peak = 2 * np.pi * 0.9**2  # a blurred unit impulse peaks at 1 / (2 pi sigma^2)
    grain = grain + texture * 1.5 * peak * ndi.gaussian_filter(stones, 0.9)
    image = grain - ndi.gaussian_filter(contrast, 0.5)
    return _finish(image, rng, 0.5, noise), mask


# ---------------------------------------------------------------------------- roads


def roads(
    size: Size,
    seed: int,
    *,
    n_roads: int = 5,
    min_width: float = 3.0,
    max_width: float = 6.0,
    occlusion: float = 1.0,
    noise: float = 0.04,
    blur: float = 0.6,
) -> tuple[np.ndarray, np.ndarray]:
    """An aerial-view road grid with trees and shadows over some stretches.

    Parameters
    ----------
    size, seed
        As for every generator.
    n_roads : int
        Number of roads; about half run across, half down, so they meet at
        junctions. Some start or stop inside the image (T-junctions, dead ends).
    min_width, max_width : float
        Range of road widths, in pixels; each road has one width.
    occlusion : float
        Expected number of occluders (tree crowns, shadows) per 100 pixels of
        road. They darken the image over the whole road width; the mask keeps
        the road.
    noise : float
        Standard deviation of the additive pixel noise.
    blur : float
        Gaussian blur (sigma, pixels) of the image before the noise.

    Returns
    -------
    image : ndarray, float32, (H, W)
        Light roads on a patchwork of fields and blocks with small buildings.
    mask : ndarray, bool, (H, W)
        True on roads.
    """
    h, w = _shape(size)
    if not 1 <= min_width <= max_width:
        raise ValueError(f"need 1 <= min_width <= max_width, got {min_width}, {max_width}")
    if occlusion < 0:
        raise ValueError(f"occlusion must be >= 0, got {occlusion}")
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), bool)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)

    # Ground: a patchwork of parcels (fields, blocks) with their own tone and grain.
    n_parcels = max(6, round(h * w / 45**2))
    parcels = rng.uniform([0, 0], [h, w], (n_parcels, 2))
    _, lab = cKDTree(parcels).query(np.stack([yy, xx], -1).reshape(-1, 2))
    lab = lab.reshape(h, w)
    ground = rng.uniform(0.22, 0.52, n_parcels)[lab]
    ground = ground + 0.05 * _smooth_noise(rng, (h, w), 1.0) + 0.04 * _smooth_noise(rng, (h, w), 6)
    for _ in range(rng.poisson(h * w / 900)):  # buildings: small bright boxes
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        bh, bw = rng.integers(3, 9, 2)
        ground[y0 : y0 + bh, x0 : x0 + bw] = rng.uniform(0.6, 0.85)

    paths = []
    n_across = (n_roads + 1) // 2
    for i in range(n_roads):
        across = i < n_across
        k, m = (i, n_across) if across else (i - n_across, n_roads - n_across)
        length, span = (w, h) if across else (h, w)
        offset = (k + 0.5 + rng.uniform(-0.3, 0.3)) * span / m
        t = np.arange(-4.0, length + 4.0, 1.0)
        slope = rng.uniform(-0.12, 0.12)
        amp, period = rng.uniform(0, 0.03) * span, rng.uniform(0.6, 1.5) * length
        off = (
            offset
            + slope * (t - length / 2)
            + amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3))
        )
        if rng.random() < 0.3:  # a road that starts or ends inside the image
            cut = int(rng.uniform(0.3, 0.7) * len(t))
            t, off = (t[cut:], off[cut:]) if rng.random() < 0.5 else (t[:cut], off[:cut])
        ys, xs = (off, t) if across else (t, off)
        r = rng.uniform(min_width, max_width) / 2
        _paint_path(mask, None, ys, xs, r)
        paths.append((ys, xs, r))

    image = np.where(mask, 0.68 + 0.03 * _smooth_noise(rng, (h, w), 1.0), ground)

    # Occluders: tree crowns (dark, grainy) or shadows (darker road) over the road.
    crowns = np.zeros((h, w))
    shadow = np.ones((h, w))
    for ys, xs, r in paths:
        inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
        ys, xs = ys[inside], xs[inside]
        for _ in range(rng.poisson(occlusion * len(ys) / 100)):
            j = rng.integers(len(ys))
            rad = r * rng.uniform(1.3, 2.2)
            win, dy, dx = _window(ys[j], xs[j], 1.3 * rad, (h, w))
            d = np.hypot(dy, dx)
            if rng.random() < 0.6:
                crowns[win] = np.maximum(crowns[win], np.clip((rad - d) / 1.5, 0, 1))
            else:
                dim = 1 - 0.55 * np.clip((1.3 * rad - d) / 2, 0, 1)
                shadow[win] = np.minimum(shadow[win], dim)
    for _ in range(rng.poisson(h * w / 2500)):  # trees elsewhere too
        y0, x0, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 6)
        win, dy, dx = _window(y0, x0, rad, (h, w))
        crowns[win] = np.maximum(crowns[win], np.clip((rad - np.hypot(dy, dx)) / 1.5, 0, 1))
    tree = 0.2 + 0.06 * _smooth_noise(rng, (h, w), 0.8)
    image = image * shadow
    image = image + (tree - image) * crowns
    return _finish(image, rng, blur, noise), mask


# ----------------------------------------------------------------------------- fig3


def _fig3(
    size: Size, seed: int, gap_depth: float, hills: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    h, w = _shape(size, minimum=32)
    if not 0.02 <= gap_depth <= 0.4:
        raise ValueError(f"gap_depth must lie in [0.02, 0.4], got {gap_depth}")
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)

    # Ground truth g: two rings side by side joined by a bridge (1 component, 2 handles).
    band = max(3.0, min(h, w) / 16)  # stroke width
    r_out = min(0.36 * h, 0.18 * w)
    cy = h / 2 + rng.uniform(-0.03, 0.03) * h
    cl = np.array([cy, 0.25 * w + rng.uniform(-0.01, 0.01) * w])
    cr = np.array([cy, 0.75 * w + rng.uniform(-0.01, 0.01) * w])
    rads = [r_out * rng.uniform(0.9, 1.0), r_out * rng.uniform(0.9, 1.0)]
    dist = []
    for c, r in zip((cl, cr), rads, strict=True):
        dist.append(np.abs(np.hypot(yy - c[0], xx - c[1]) - (r - band / 2)) - band / 2)
    x0, x1 = cl[1] + rads[0] - band / 2, cr[1] - rads[1] + band / 2
    bridge = np.maximum(np.abs(yy - cy) - band / 2, np.maximum(x0 - xx, xx - x1))
    sdf = np.minimum(np.minimum(dist[0], dist[1]), bridge)  # < 0 inside g
    g = sdf < 0

    # f: in [0.56, 0.95] on g, in [0.02, 0.44] off it (so f >= 0.5 is exactly g),
    # rising steeply at the edge, with gentle hills (small noise dots in Dgm(f)).
    bumps = (1 + np.tanh(_smooth_noise(rng, (h, w), band))) / 2  # in (0, 1)
    inside = 0.56 + 0.34 * np.tanh(-sdf / (0.3 * band)) + 0.05 * hills * bumps
    if hills == 0:  # a flat ridge: pixel-sized wobbles of the distance make no maxima
        inside = np.minimum(inside, 0.8)
    outside = 0.02 + 0.03 * hills * bumps + 0.39 * np.exp(-sdf / (0.25 * band))
    if hills == 0:  # a flat floor: the exponential's tail made each hole die at its own
        outside = np.where(outside < 0.05, 0.02, outside)  # level in 0.020-0.024
    f = np.where(g, inside, outside)

    # Two gaps, each a valley across the stroke: the middle of the bridge and the
    # far side of the right ring. In stroke coordinates (s along, t across):
    #   |s| < r_cut:  0.5 - gap_depth + (gap_depth - 0.02) (s / r_cut)^2 - 0.02 (t / half)^2,
    # all below 0.5, with its saddle, 0.5 - gap_depth, at s = t = 0; then a ramp from
    # 0.52 back up to f. So f >= 0.5 is the same for every gap_depth: only the
    # valleys deepen, and each saddle (a critical pixel) is its valley's floor.
    half = band / 2
    r_cut = 0.75 * band
    ang = rng.uniform(-0.6, 0.6)
    rr = rads[1] - half  # centre line of the right ring
    phi = np.angle(np.exp(1j * (np.arctan2(yy - cr[0], xx - cr[1]) - ang)))
    off_rings = (np.hypot(yy - cl[0], xx - cl[1]) > rads[0]) & (
        np.hypot(yy - cr[0], xx - cr[1]) > rads[1]
    )
    # Without hills (Classroom's Fig. 4) the bridge's gap is 0.02 deeper than the
    # ring's, so the events come in the order of the paper's Fig. 4(d): the shorter
    # handle is born (the ring's gap closes) before the extra component dies (the
    # bridge's). At equal depths they came 0.0003 apart, the bridge first.
    bridge_depth = gap_depth + (0.02 if hills == 0 else 0.0)
    strokes = [
        (xx - (x0 + x1) / 2, yy - cy, off_rings & (xx > x0) & (xx < x1), bridge_depth),
        (rr * phi, np.hypot(yy - cr[0], xx - cr[1]) - rr, np.abs(phi) < np.pi / 2, gap_depth),
    ]
    for along, across, near, gap_depth in strokes:  # noqa: B020 - each stroke's own depth
        a = np.abs(along)
        floor = 0.5 - gap_depth + (gap_depth - 0.02) * (a / r_cut) ** 2
        floor = floor - 0.02 * (across / half) ** 2  # the saddle is on the centre line
        ramp = 0.52 + (f - 0.52) * np.clip((a - r_cut) / half, 0, 1) ** 2
        valley = np.where(a < r_cut, floor, np.minimum(f, ramp))
        on_stroke = g & near & (np.abs(across) <= half + 1) & (a < r_cut + half)
        f = np.where(on_stroke, valley, f)
        # Beside the cut the background must lie below the saddle, or the two sides
        # would join around it: it slopes gently down from the stroke's edge.
        edge = 0.5 - gap_depth - 0.02 + (gap_depth - 0.02) * (a / r_cut) ** 2
        slope = edge - 0.01 * (np.abs(across) - half) / half
        beside = ~g & near & (np.abs(across) <= half + band) & (a < r_cut)
        f = np.where(beside, np.minimum(f, slope), f)
    return np.clip(f, 0.0, 1.0).astype(np.float32), g


def fig3(size: Size, seed: int, *, gap_depth: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """The paper's Fig. 3: a likelihood with a broken bridge and a broken handle.

    Parameters
    ----------
    size, seed
        As for every generator (at least 32 pixels a side).
    gap_depth : float
        How far below 0.5 each gap's saddle lies (its value is ``0.5 - gap_depth``),
        in [0.02, 0.4]. The thresholded segmentation does not depend on it.

    Returns
    -------
    image : ndarray, float32, (H, W)
        The likelihood ``f`` (Fig. 3(c)): high on the structure, low elsewhere.
        ``f >= 0.5`` has 2 components and 1 handle (Fig. 3(a)).
    mask : ndarray, bool, (H, W)
        The ground truth ``g`` (Fig. 3(b)): two rings joined by a bridge, one
        4-connected component with 2 handles.

    Notes
    -----
    The gaps are what the topological gradient (Eq. 2.3) repairs: the saddle at
    the bottom of the bridge's valley is the death pixel of the extra component,
    and the one in the ring's valley is the birth pixel of the missing handle.
    """
    return _fig3(size, seed, gap_depth)


def fig3_likelihood(
    size: Size = 96, seed: int = 0, gap_depth: float = 0.1, hills: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 3(c): ``(f, g)``, a likelihood with shallow gaps and its ground truth.

    ``hills`` scales the gentle bumps that give Dgm(f) its small noise dots. At 0 there
    are none, the ridge tops are flat (at 0.8) and so is the background's floor (0.02,
    where f falls below 0.05): a clean filtration to narrate, as in the paper's Fig. 4.
    ``f >= 0.5`` is the same for every value.
    """
    if not 0.0 <= hills <= 1.0:
        raise ValueError(f"hills must lie in [0, 1], got {hills}")
    return _fig3(size, seed, gap_depth, hills)


def fig3_deep(
    size: Size = 96, seed: int = 0, gap_depth: float = 0.4
) -> tuple[np.ndarray, np.ndarray]:
    """Fig. 3(d): ``(f', g)``, the same segmentation as :func:`fig3_likelihood` but deeper gaps.

    With the same ``size`` and ``seed``, ``f' >= 0.5`` equals ``f >= 0.5`` pixel for
    pixel; only the valleys at the broken bridge and handle are deeper, so
    ``L_topo(f', g) > L_topo(f, g)`` (Fig. 4(f)).
    """
    return _fig3(size, seed, gap_depth)


# -------------------------------------------------------------------------- registry

GENERATORS: dict[str, Generator] = {
    "membranes": membranes,
    "vessels": vessels,
    "cracks": cracks,
    "roads": roads,
    "fig3": fig3,
}

DESCRIPTIONS: dict[str, str] = {
    "membranes": "EM-like cells: dark membranes on textured cytoplasm, with faint gaps",
    "vessels": "Retina-like branching vessel trees, thinning to faint one-pixel ends",
    "cracks": "Thin dark meandering cracks on grainy pavement, some hairline-faint",
    "roads": "Aerial road grid with junctions, partly hidden by trees and shadows",
    "fig3": "The paper's Fig. 3: a likelihood with a broken bridge and a broken handle",
}


def item_seed(seed: int, index: int) -> int:
    """The seed of item ``index`` of a dataset made with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def make_dataset(
    name: str, n: int, size: Size, seed: int, **knobs
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` image/mask pairs from generator ``name``.

    Item ``i`` uses seed ``item_seed(seed, i)``, so the set is reproducible and item
    ``i`` does not depend on ``n``.

    Returns
    -------
    images : ndarray, float32, (n, H, W)
    masks : ndarray, bool, (n, H, W)
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    h, w = _shape(size, minimum=1)
    images = np.empty((n, h, w), np.float32)
    masks = np.empty((n, h, w), bool)
    for i in range(n):
        images[i], masks[i] = GENERATORS[name](size, item_seed(seed, i), **knobs)
    return images, masks


# ------------------------------------------------------------------------------- CLI


def write_samples(out: str | Path, size: int = 256, seeds=SAMPLE_SEEDS) -> list[dict]:
    """Write every generator's samples as PNGs plus ``index.json`` and ``README.md``."""
    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for name, gen in GENERATORS.items():
        for k, s in enumerate(seeds):
            image, mask = gen(size, s)
            stem = f"{name}_{k}"
            Image.fromarray(np.round(image * 255).astype(np.uint8)).save(
                out / f"{stem}.png", optimize=True
            )
            Image.fromarray(mask.astype(np.uint8) * 255).save(
                out / f"{stem}_mask.png", optimize=True
            )
            index.append(
                {
                    "name": stem,
                    "image": f"{stem}.png",
                    "mask": f"{stem}_mask.png",
                    "generator": name,
                    "seed": int(s),
                    "size": [int(size), int(size)],
                    "description": DESCRIPTIONS[name],
                }
            )
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Sample data",
        "",
        "Synthetic images (`<name>_<k>.png`, 8-bit gray) and ground-truth masks",
        "(`<name>_<k>_mask.png`, 255 = the thin structure, 0 = the rest), two per",
        "generator of `topoviz.synthetic`, from fixed seeds. `index.json` lists each pair",
        "with its generator, seed, size and description.",
        "",
        "Regenerate them (pixel for pixel, given the same numpy and scipy) from the project root:",
        "",
        "```",
        f"python -m topoviz.synthetic --out {out.as_posix()} --size {size}",
        "```",
        "",
        "| generator | what |",
        "| --- | --- |",
        *(f"| `{n}` | {d} |" for n, d in DESCRIPTIONS.items()),
        "",
        "`fig3_<k>.png` is itself a likelihood f (the paper's Fig. 3(c)): thresholded at",
        "0.5 it has 2 components and 1 handle, while its mask has 1 component and 2 handles.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")
    return index


#: The largest side ``python -m topoviz.synthetic --size`` writes (the app shows
#: samples whole).
MAX_SAMPLE_SIDE = 2048


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m topoviz.synthetic",
        description="Write the synthetic sample images and masks the app opens with.",
    )
    parser.add_argument("--out", default="sample_data", help="output folder (default: sample_data)")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default: 256)")
    args = parser.parse_args(argv)
    if not 32 <= args.size <= MAX_SAMPLE_SIDE:  # the generators need 32 a side
        parser.error(f"--size must be in 32..{MAX_SAMPLE_SIDE}; got {args.size}")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        parser.error(f"--out {args.out} is a file; give a folder")
    try:
        index = write_samples(args.out, args.size)
    except (ValueError, OSError) as error:
        parser.error(str(error))
    print(f"wrote {len(index)} image/mask pairs to {args.out}")


def blurred_likelihood(
    mask: np.ndarray, sigma: float = 2.0, noise: float = 0.15, seed: int = 0
) -> np.ndarray:
    """A stand-in likelihood: the ground truth blurred, rescaled and made noisy.

    The blur is scaled so that the typical structure pixel sits near 0.75; the
    smooth noise then opens small gaps and spurious bits, as a weak network would.
    """
    g = np.asarray(mask, float)
    blur = ndi.gaussian_filter(g, sigma) if sigma > 0 else g
    on = blur[g > 0.5]
    gain = 0.75 / max(float(np.median(on)) if on.size else 1.0, 1e-6)
    rng = np.random.default_rng(seed)
    wobble = ndi.gaussian_filter(rng.standard_normal(g.shape), 1.0)
    wobble /= max(float(wobble.std()), 1e-9)
    return np.clip(0.05 + blur * gain + noise * wobble, 0.0, 1.0).astype(np.float32)


if __name__ == "__main__":
    main()
