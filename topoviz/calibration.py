"""Segmentations made from the ground truth alone, with known topology errors.

A metric earns trust when it separates what TopoLoss fixes from what it does
not touch. These perturbations of a ground truth ``gt`` say what a metric sees:

- :func:`shift` moves the structure by a pixel: same topology, every edge moved;
- :func:`inject_breaks` cuts ``n`` gaps into the structure, each one checked to
  change the topology (membranes: two cells become one; curvilinear: one
  crack or vessel becomes two pieces);
- :func:`inject_walls` adds ``n`` false walls (membranes: a cell cut in two) or
  false bridges (curvilinear: two cracks joined), each one kept only if
  :func:`topoviz.metrics.region_errors`, by its own code, counts exactly one more
  false split (membranes) or false merge (curvilinear).

:func:`calibration_set` gathers them as named rows for the evaluation tables.
Every function is pure and seeded.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.draw import line
from skimage.measure import label
from skimage.morphology import skeletonize

from topoviz.metrics import STRUCTURES, _binary, _region_counts, _true_regions

__all__ = ["shift", "inject_breaks", "inject_walls", "calibration_set", "named_by_count"]


def _check(gt: np.ndarray, structure: str, n: int) -> np.ndarray:
    g = np.asarray(gt)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"gt must be a non-empty 2-D mask; got shape {g.shape}")
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}; got {structure!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    return _binary(g, 0.5, "gt")


def shift(gt: np.ndarray, pixels: int = 1) -> np.ndarray:
    """The ground truth moved ``pixels`` to the right (the first column repeated).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.zeros((2, 4), bool); g[:, 1] = True
    >>> shift(g).astype(int)
    array([[0, 0, 1, 0],
           [0, 0, 1, 0]])
    """
    g = np.asarray(gt)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"gt must be a non-empty 2-D mask; got shape {g.shape}")
    g = _binary(g, 0.5, "gt")
    if pixels <= 0:
        return g.copy()
    pixels = min(int(pixels), g.shape[1])  # past the width every column is the first
    return np.concatenate([np.repeat(g[:, :1], pixels, axis=1), g[:, :-pixels]], axis=1)


def _big_regions(mask: np.ndarray, structure: str, min_region: int) -> int:
    """How many regions of >= min_region px (membranes: cells; curvilinear: components)."""
    lab, n = label(~mask if structure == "membranes" else mask, connectivity=2, return_num=True)
    if n == 0:
        return 0
    return int((np.bincount(lab.ravel(), minlength=n + 1)[1:] >= min_region).sum())


def _counted_pieces(mask: np.ndarray, comp: np.ndarray, length: np.ndarray, skel, min_region):
    """Curvilinear: how many pieces of ``mask`` the split count of
    :func:`topoviz.metrics.region_errors` would weigh, ``mask`` being the ground truth
    with pixels removed. A piece is a component of ``mask`` holding at least
    ``min(0.2 L, min_region)`` pixels of the skeleton of the true component
    (``comp``) it lies in, ``L`` that component's skeleton length (``length``);
    components shorter than ``min_region`` do not count."""
    pieces, n = label(mask, connectivity=2, return_num=True)
    if n == 0:
        return 0
    on = skel & (pieces > 0)
    held = np.bincount(pieces[on], minlength=n + 1)
    owner = np.zeros(n + 1, np.int64)
    owner[pieces[on]] = comp[on]
    total = length[owner]
    need = np.minimum(0.2 * total, min_region)
    return int(((held >= need) & (total >= min_region) & (owner > 0)).sum())


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def _line4(r0: int, c0: int, r1: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
    """A 4-connected digital segment (a diagonal step gets a corner pixel).

    The structure is 4-connected and the background 8-connected: an 8-connected
    line would let the background through its diagonal steps.
    """
    rr, cc = line(r0, c0, r1, c1)
    if len(rr) < 2:
        return rr, cc
    diagonal = (np.diff(rr) != 0) & (np.diff(cc) != 0)
    corners_r, corners_c = rr[:-1][diagonal], cc[1:][diagonal]
    return np.concatenate([rr, corners_r]), np.concatenate([cc, corners_c])


def _stamp(mask: np.ndarray, rr: np.ndarray, cc: np.ndarray, radius: int, value: bool) -> None:
    """Set a thick path (the pixels rr, cc dilated by a disk) to ``value``, in place."""
    ok = (rr >= 0) & (rr < mask.shape[0]) & (cc >= 0) & (cc < mask.shape[1])
    rr, cc = rr[ok], cc[ok]
    if len(rr) == 0:
        return
    # Dilate only the path's bounding box grown by the radius: nothing farther can change.
    r0, c0 = max(rr.min() - radius, 0), max(cc.min() - radius, 0)
    r1, c1 = min(rr.max() + radius + 1, mask.shape[0]), min(cc.max() + radius + 1, mask.shape[1])
    if len(rr) == 1:  # a point dilated by a disk is the disk (a break): no dilation to run
        disk = _disk(radius)
        top, left = rr[0] - radius, cc[0] - radius  # the disk's corner, maybe off the mask
        mask[r0:r1, c0:c1][disk[r0 - top : r1 - top, c0 - left : c1 - left]] = value
        return
    path = np.zeros((r1 - r0, c1 - c0), bool)
    path[rr - r0, cc - c0] = True
    if radius > 0:
        path = ndimage.binary_dilation(path, _disk(radius))
    mask[r0:r1, c0:c1][path] = value


def inject_breaks(
    gt: np.ndarray,
    n: int,
    structure: str = "membranes",
    seed: int = 0,
    min_region: int = 50,
    tries: int = 40,
) -> tuple[np.ndarray, int]:
    """Cut ``n`` gaps into the structure, each one a checked topology change.

    A gap is a disk erased around a skeleton pixel, wide enough to cut the
    structure there (its radius is the local half-width plus one). A gap is
    kept only if it changes the topology by one, as the region counts define it:
    membranes lose a cell of at least ``min_region`` pixels (two cells merge: one
    false merge); curvilinear structures gain a piece (one false split), a piece
    being a part of a crack at least ``min_region`` skeleton pixels long or 20 % of
    its crack's skeleton (a cut near a crack's tip that leaves a stub is not kept).

    Returns
    -------
    (mask, made) : (ndarray of bool, int)
        The broken ground truth and how many gaps were made (``n`` unless the
        structure ran out of places, after ``tries * n`` attempts).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[:, 20] = True; gt[20, :] = True
    >>> broken, made = inject_breaks(gt, 2, seed=0)
    >>> made, int((~broken).sum() > (~gt).sum())
    (2, 1)
    """
    g = _check(gt, structure, n)
    out = g.copy()
    skel = skeletonize(g)
    neighbours = ndimage.convolve(skel.astype(np.int8), np.ones((3, 3), np.int8), mode="constant")
    candidates = np.argwhere(skel & (neighbours == 3))  # on a segment: two skeleton neighbours
    if len(candidates) == 0 or n == 0:
        return out, 0
    half = ndimage.distance_transform_edt(g)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(candidates))[: tries * n]
    sign = -1 if structure == "membranes" else 1
    comp = label(g, connectivity=2)
    length = np.bincount(comp[skel], minlength=comp.max() + 1)

    def counted(mask: np.ndarray) -> int:
        if structure == "membranes":
            return _big_regions(mask, structure, min_region)
        return _counted_pieces(mask, comp, length, skel, min_region)

    count = counted(out)
    made = 0
    for r, c in candidates[order]:
        if made == n:
            break
        trial = out.copy()
        _stamp(trial, np.array([r]), np.array([c]), int(np.ceil(half[r, c])) + 1, False)
        after = counted(trial)
        if after == count + sign:
            out, count, made = trial, after, made + 1
    return out, made


def _typical_radius(g: np.ndarray) -> int:
    """Half the structure's median width, in whole pixels (at least 0)."""
    skel = skeletonize(g)
    if not skel.any():
        return 0
    return int(np.median(ndimage.distance_transform_edt(g)[skel]) - 0.5)


def inject_walls(
    gt: np.ndarray,
    n: int,
    structure: str = "membranes",
    seed: int = 0,
    min_region: int = 50,
    tries: int = 40,
    reach: int = 40,
    *,
    onto: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Add ``n`` false walls (membranes) or false bridges (curvilinear), each checked.

    Membranes: a straight wall of the structure's typical width through a random
    point inside a cell of at least ``min_region`` pixels, in a random direction,
    from membrane to membrane. Curvilinear: a bridge from a random skeleton pixel
    of a crack at least ``min_region`` skeleton pixels long to the nearest pixel of
    another such crack (not yet joined to it) within ``reach`` pixels.

    Each one is kept only if :func:`topoviz.metrics.region_errors` (``gt`` against
    the mask, with this ``min_region``) counts exactly one more false split
    (membranes) or false merge (curvilinear) than before it, and the other count
    does not change: the count is computed by the metric's own code. A wall that
    cuts less than 20 % off a cell, or a bridge to a crack too short to be weighed,
    is not kept. (The structure only grows, so every true region stays inside one
    predicted region: walls never merge, bridges never split, and the tolerance of
    the curvilinear count plays no part.)

    ``onto``: a mask to add them to instead of ``gt`` (the same shape, e.g.
    ``gt`` with breaks already cut into it); the counts are still taken against
    ``gt``, so a wall that would close a break (one merge fewer) is not kept.

    Returns
    -------
    (mask, made) : (ndarray of bool, int)
        The mask and how many walls or bridges were made (``n`` unless the
        structure ran out of room, after ``tries * n`` attempts); ``region_errors``
        counts ``made`` splits (membranes) or merges (curvilinear) more on it than
        on ``onto`` (on ``gt``: 0).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[:, 0] = gt[:, -1] = True
    >>> walled, made = inject_walls(gt, 1, seed=0)
    >>> made
    1
    """
    g = _check(gt, structure, n)
    if onto is not None and np.shape(onto) != g.shape:
        raise ValueError(f"onto has shape {np.shape(onto)}, the ground truth {g.shape}")
    out = g.copy() if onto is None else np.asarray(onto, bool).copy()
    if n == 0:
        return out, 0
    truth = _true_regions(g, structure, min_region)
    big = truth.big[truth.labels]  # pixels of the true regions the counts weigh

    def counted(mask: np.ndarray) -> tuple[int, int]:
        merges, splits, *_ = _region_counts(mask, truth, tolerance=3)  # region_errors' default
        return merges, splits

    rng = np.random.default_rng(seed)
    radius = _typical_radius(g)
    h, w = g.shape
    step = (0, 1) if structure == "membranes" else (1, 0)  # (merges, splits) a wall adds
    now = counted(out)
    if structure == "curvilinear":
        starts = np.argwhere(truth.skel & big)
        if len(starts) == 0:
            return out, 0
        lab = label(out, connectivity=2)
    made = 0
    for _ in range(tries * n):
        if made == n:
            break
        trial = out.copy()
        if structure == "membranes":
            inside = np.argwhere(~out & big)
            if len(inside) == 0:
                break
            r0, c0 = inside[rng.integers(len(inside))]
            angle = rng.uniform(0, np.pi)
            dr, dc = np.sin(angle), np.cos(angle)
            ends = []
            for s in (1, -1):
                t = 0.0
                while True:
                    t += 1.0
                    r, c = int(round(r0 + s * t * dr)), int(round(c0 + s * t * dc))
                    if not (0 <= r < h and 0 <= c < w) or out[r, c]:
                        ends.append((min(max(r, 0), h - 1), min(max(c, 0), w - 1)))
                        break
            rr, cc = _line4(*ends[0], *ends[1])
        else:
            r0, c0 = starts[rng.integers(len(starts))]
            others = big & (lab != lab[r0, c0])
            if not others.any():
                break
            dist, (ri, ci) = ndimage.distance_transform_edt(~others, return_indices=True)
            if dist[r0, c0] > reach:
                continue
            rr, cc = _line4(r0, c0, ri[r0, c0], ci[r0, c0])
        _stamp(trial, rr, cc, radius, True)
        after = counted(trial)
        if after == (now[0] + step[0], now[1] + step[1]):
            out, now, made = trial, after, made + 1
            if structure == "curvilinear":
                lab = label(out, connectivity=2)
    return out, made


def calibration_set(
    gt: np.ndarray,
    structure: str = "membranes",
    n: int = 10,
    seed: int = 0,
    min_region: int = 50,
) -> dict[str, tuple[np.ndarray, int]]:
    """Named calibration segmentations of one ground truth, with their known error count.

    Rows: ``"GT shifted 1 px"`` (0 topology errors), ``"GT + N breaks"`` (N merges
    for membranes, N splits for curvilinear), ``"GT + N walls"`` (N splits for
    membranes) or ``"GT + N bridges"`` (N merges for curvilinear). The count is
    the number actually made (fewer than ``n`` when the structure has no room).
    Membranes also get ``"GT + N breaks + N walls"``: the breaks of the row above,
    then walls added onto them, each checked to add one split and close no break.
    A net count such as :func:`topoviz.metrics.hole_errors` sets a missing hole
    against an extra one, so this row shows what such a count can see when both
    kinds of error are present (a net repairing merges makes it count more).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((64, 64), bool); gt[:, ::16] = True; gt[::16, :] = True
    >>> rows = calibration_set(gt, n=2)
    >>> {name: made for name, (mask, made) in rows.items()}
    {'GT shifted 1 px': 0, 'GT + 2 breaks': 2, 'GT + 2 walls': 2, 'GT + 2 breaks + 2 walls': 4}
    """
    g = _check(gt, structure, n)
    wall = "walls" if structure == "membranes" else "bridges"
    broken = inject_breaks(g, n, structure, seed, min_region)
    walled = inject_walls(g, n, structure, seed, min_region)
    rows = {
        "GT shifted 1 px": (shift(g), 0),
        f"GT + {n} breaks": broken,
        f"GT + {n} {wall}": walled,
    }
    if structure == "membranes":
        both, walls = inject_walls(g, n, structure, seed, min_region, onto=broken[0])
        rows[f"GT + {n} breaks + {n} walls"] = (both, broken[1] + walls)
    return rows


def named_by_count(
    rows: dict[str, tuple[np.ndarray, int]], n: int
) -> dict[str, tuple[np.ndarray, int]]:
    """:func:`calibration_set`'s rows of one image named by what was made there.

    Its names say ``n`` so that a data set's images pool row by row; where an
    image had room for fewer, "GT + 10 breaks" over 7 breaks misleads a reader of
    that image alone.

    Examples
    --------
    >>> m = np.zeros((2, 2), bool)
    >>> rows = {"GT shifted 1 px": (m, 0), "GT + 10 breaks": (m, 7),
    ...         "GT + 10 walls": (m, 10), "GT + 10 breaks + 10 walls": (m, 16)}
    >>> list(named_by_count(rows, 10))
    ['GT shifted 1 px', 'GT + 7 breaks', 'GT + 10 walls', 'GT + 7 breaks + 9 walls']
    >>> rows = {"GT + 10 breaks": (m, 1), "GT + 10 bridges": (m, 0)}
    >>> list(named_by_count(rows, 10))
    ['GT + 1 break', 'GT + 0 bridges']
    """

    def many(k: int, noun: str) -> str:  # "1 break", "2 breaks"
        return f"{k} {noun if k == 1 else noun + 's'}"

    breaks = next((made for name, (_, made) in rows.items() if name == f"GT + {n} breaks"), 0)
    out = {}
    for name, (mask, made) in rows.items():
        if name == f"GT + {n} breaks + {n} walls":
            name = f"GT + {many(breaks, 'break')} + {many(made - breaks, 'wall')}"
        elif name.startswith(f"GT + {n} "):
            name = f"GT + {many(made, name[len(f'GT + {n} ') : -1])}"
        out[name] = (mask, made)
    return out
