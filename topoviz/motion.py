"""Dots of a persistence diagram followed through training: where each one came from.

While a net fine-tunes, the likelihood of a patch changes a little each step and so
does its diagram. To draw the dots *moving* along their matching arrows we need to
know which dot of step t continues which dot of step t − 1. Dots have no identity
of their own, but their critical pixels do: :func:`follow` pairs successive diagrams
by where their critical pixels are and where the dots are, allowing a trail to end
or start. Chaining these pairings gives each current dot its *trail*.

Pure functions of arrays and :class:`~topoviz.persistence.Diagram`; the Fine-tune
and Lesson pages keep a :class:`Trails` in their run and extend it after each chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from topoviz.matching import Matching, match_images
from topoviz.persistence import Diagram

__all__ = ["Trails", "costliest_window", "extend", "follow", "patch_matching", "track"]


@dataclass(frozen=True)
class Trails:
    """Where the dots of the newest diagram were at the earlier frames.

    Attributes
    ----------
    dim : int
        The homology dimension followed (1, holes, by default: the paper's footnote 8).
    steps : tuple of int
        The training step of each frame, oldest first.
    index : ndarray (n,), int
        Index into ``dgm[dim]`` of the newest diagram of each followed dot (the dots
        with persistence at least ``min_persistence``).
    pixels : ndarray (n, 2, 2)
        The birth and death critical pixels of each followed dot now.
    paths : ndarray (T, n, 2)
        ``paths[t, i]``: where followed dot ``i`` was at frame ``t``, in the paper's
        coordinates ``(1 − birth, 1 − death)``; NaN where it did not exist yet.
        ``paths[-1]`` is the newest diagram itself.
    min_persistence : float
        Dots closer than this to the diagonal are not followed (noise).
    """

    dim: int
    steps: tuple[int, ...]
    index: np.ndarray
    paths: np.ndarray
    pixels: np.ndarray
    min_persistence: float = 0.02

    def __len__(self) -> int:
        return self.paths.shape[1]

    @property
    def points(self) -> np.ndarray:
        """The followed dots now, ``(n, 2)``."""
        return self.paths[-1]

    def moved(self) -> np.ndarray:
        """Diagram distance each followed dot travelled along its trail, ``(n,)``."""
        step = np.linalg.norm(np.diff(self.paths, axis=0), axis=2)
        return np.nansum(step, axis=0) if len(step) else np.zeros(len(self))


#: Pairing successive diagrams: a dot's critical pixels moving by ``PIXEL_SCALE``
#: pixels, or the dot itself by ``DIAGRAM_SCALE`` in the diagram, costs as much as
#: ending one trail and starting another (cost 1 each).
PIXEL_SCALE = 4.0
DIAGRAM_SCALE = 0.5


def _pixel_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean distance of the critical pixels ``(n, 2, 2)`` vs ``(m, 2, 2)`` present in both;
    inf where a pair shares none (both lie in the frame)."""
    a = np.asarray(a, np.float64)[:, None]
    b = np.asarray(b, np.float64)[None]
    ok = (a >= 0).all(-1) & (b >= 0).all(-1)  # (n, m, 2): birth, death pixel present
    d = np.where(ok, np.linalg.norm(a - b, axis=-1), 0.0).sum(-1)
    count = ok.sum(-1)
    return np.where(count > 0, d / np.maximum(count, 1), np.inf)


def follow(
    previous: np.ndarray,
    current: np.ndarray,
    previous_pixels: np.ndarray,
    current_pixels: np.ndarray,
) -> np.ndarray:
    """For each dot of ``current``, the dot of ``previous`` it continues (-1: new).

    Parameters
    ----------
    previous, current : ndarray (m, 2), (n, 2)
        Dots of two successive diagrams of one dimension, ``(1 − birth, 1 − death)``.
    previous_pixels, current_pixels : ndarray (m, 2, 2), (n, 2, 2)
        Their birth and death critical pixels ``(row, col)``; ``(-1, -1)`` where none.

    Returns
    -------
    ndarray (n,), int
        Index into ``previous``, or -1 where the dot starts a new trail.

    Notes
    -----
    A dot has no identity of its own, but its critical pixels (the pixels whose
    values are its birth and death, Sec. 2.3) stay put while training moves their
    values: the gap in a membrane stays the gap while it closes, even when the dot
    jumps across the diagram. So pairs cost ``d_pix / PIXEL_SCALE + d_dgm /
    DIAGRAM_SCALE`` (``d_pix`` the mean distance of the critical pixels, ``d_dgm``
    the distance in the diagram) and a trail ending or starting costs 1; the
    assignment of least total cost is taken (``scipy.optimize.linear_sum_assignment``).

    Examples
    --------
    >>> import numpy as np
    >>> px = np.array([[[3, 4], [6, 6]], [[20, 20], [25, 22]]])
    >>> follow(np.array([[0.7, 0.9], [0.5, 0.6]]), np.array([[0.45, 0.6], [0.1, 0.9]]),
    ...        px, px[::-1])
    array([1, 0])
    """
    previous = np.asarray(previous, np.float64).reshape(-1, 2)
    current = np.asarray(current, np.float64).reshape(-1, 2)
    n, m = len(current), len(previous)
    if n == 0 or m == 0:
        return np.full(n, -1, np.int64)
    pair = _pixel_distance(current_pixels, previous_pixels) / PIXEL_SCALE
    pair = pair + np.linalg.norm(current[:, None] - previous[None], axis=-1) / DIAGRAM_SCALE
    big = 1e9
    cost = np.full((n + m, m + n), big)
    cost[:n, :m] = np.minimum(pair, big)
    cost[np.arange(n), m + np.arange(n)] = 1.0  # a new trail
    cost[n + np.arange(m), np.arange(m)] = 1.0  # a trail ends
    cost[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    partner = np.full(n, -1, np.int64)
    for r, c in zip(rows, cols, strict=True):
        if r < n and c < m and cost[r, c] < 2.0:
            partner[r] = c
    return partner


def extend(
    trails: Trails | None,
    step: int,
    dgm: Diagram,
    dim: int = 1,
    min_persistence: float = 0.02,
    keep: int = 40,
) -> Trails:
    """The trails with one more frame: the diagram ``dgm`` of training step ``step``.

    Parameters
    ----------
    trails : Trails or None
        The trails so far (None: ``dgm`` is the first frame).
    step : int
        The training step ``dgm`` was computed after (0 = before training).
    dgm : Diagram
        The diagram of the current likelihood on the patch.
    dim : int
        The dimension to follow (ignored when ``trails`` is given: it keeps its own).
    min_persistence : float
        Dots closer than this to the diagonal are not followed.
    keep : int
        At most this many frames are kept, the newest.

    Returns
    -------
    Trails
        A new object; ``trails`` is not changed.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.persistence import diagram
    >>> ring = np.full((7, 7), 0.1); ring[1:6, 1:6] = 0.9; ring[2:5, 2:5] = 0.1
    >>> gap = ring.copy(); gap[1, 3] = 0.3          # the ring broken, then mended
    >>> t = extend(extend(None, 0, diagram(gap, frame=False)), 5, diagram(ring, frame=False))
    >>> t.steps, len(t), t.paths[:, 0].round(2).tolist()
    ((0, 5), 1, [[0.7, 0.9], [0.1, 0.9]])
    """
    if trails is not None:
        dim, min_persistence = trails.dim, trails.min_persistence
    dots = dgm[dim]
    index = np.flatnonzero(dots.persistence >= min_persistence)
    now = dots.points[index]
    pixels = np.stack([dots.birth_pixel[index], dots.death_pixel[index]], axis=1)
    if trails is None:
        return Trails(dim, (int(step),), index, now[None].copy(), pixels, min_persistence)
    came_from = follow(trails.points, now, trails.pixels, pixels)
    old = trails.paths[-(keep - 1) :] if keep > 1 else trails.paths[:0]
    past = np.full((len(old), len(index), 2), np.nan)
    known = came_from >= 0
    past[:, known] = old[:, came_from[known]]
    paths = np.concatenate([past, now[None]], axis=0)
    steps = (trails.steps + (int(step),))[-len(paths) :]
    return Trails(dim, steps, index, paths, pixels, min_persistence)


def track(
    frames: list[tuple[int, Diagram]], dim: int = 1, min_persistence: float = 0.02, keep: int = 40
) -> Trails:
    """The trails of a whole sequence of ``(step, diagram)`` frames (oldest first).

    The same as calling :func:`extend` once per frame.
    """
    if not frames:
        raise ValueError("track needs at least one (step, diagram) frame")
    trails = None
    for step, dgm in frames:
        trails = extend(trails, step, dgm, dim, min_persistence, keep)
    return trails


def costliest_window(
    points_pixels: np.ndarray,
    cost: np.ndarray,
    shape: tuple[int, int],
    size: int,
) -> tuple[int, int, int, int]:
    """A ``size × size`` window ``(r0, r1, c0, c1)`` around the costliest dot's pixels.

    Centred between its birth and death pixels when both fit in the window, else on
    the birth pixel: for a hole, the saddle where its loop closes (a gap, a crack
    meeting the frame), where the death pixel lies somewhere inside a large region.

    Parameters
    ----------
    points_pixels : ndarray (n, 2, 2)
        Per dot, its birth and death critical pixels ``(row, col)`` (``(-1, -1)``: none).
    cost : ndarray (n,)
        Per dot, its matching cost (``Matching[dim].dot_cost``).
    shape : (H, W)
        The image's shape; the window is shifted to lie inside it (and clipped to it
        when the image is smaller than ``size``).
    size : int
        The side of the window.

    Examples
    --------
    >>> import numpy as np
    >>> px = np.array([[[5, 5], [7, 9]], [[50, 60], [-1, -1]]])
    >>> costliest_window(px, np.array([0.1, 0.5]), (100, 100), 20)
    (40, 60, 50, 70)
    >>> far = np.array([[[90, 10], [5, 80]]])  # a large hole: its birth pixel, not the middle
    >>> costliest_window(far, np.array([1.0]), (100, 100), 20)
    (80, 100, 0, 20)
    """
    h, w = shape
    sh, sw = min(size, h), min(size, w)
    centre = (h // 2, w // 2)
    if len(cost):
        pts = np.asarray(points_pixels)[int(np.argmax(cost))]
        pts = pts[(pts >= 0).all(axis=1)]
        span = np.ptp(pts, axis=0) if len(pts) else None
        if len(pts) and span[0] <= sh - 8 and span[1] <= sw - 8:
            centre = tuple(int(v) for v in np.round(pts.mean(axis=0)))
        elif len(pts):
            centre = tuple(int(v) for v in pts[0])  # the birth pixel (else the death's)
    r0 = min(max(centre[0] - sh // 2, 0), h - sh)
    c0 = min(max(centre[1] - sw // 2, 0), w - sw)
    return r0, r0 + sh, c0, c0 + sw


def patch_matching(
    f: np.ndarray,
    g: np.ndarray,
    window: tuple[int, int, int, int] | None,
    frame: bool = True,
    rule: str = "paper",
    dims: tuple[int, ...] = (1,),
) -> tuple[Diagram, Diagram, Matching]:
    """``(Dgm(f), Dgm(g), matching)`` of the ``window`` ``(r0, r1, c0, c1)`` of f and g.

    The window is framed like a training patch (relative homology, Sec. 2.3) when
    ``frame``; ``None`` takes the whole image. ``rule`` is one of the rules of
    :mod:`topoviz.matching` (``"betti"`` matches through the images).
    """
    if window is not None:
        r0, r1, c0, c1 = window
        f, g = f[r0:r1, c0:c1], g[r0:r1, c0:c1]
    return match_images(f, g, frame, rule, dims)
