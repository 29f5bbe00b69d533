"""Segmentation metrics of the paper's tables: accuracy, ARI, VOI, Betti error.

All functions take a prediction and a ground truth of the same shape. A
prediction may be a boolean mask or a likelihood, which is thresholded at
``threshold`` (0.5, as in the paper: "we generate segmentations by thresholding the
predicted likelihood maps at 0.5"). Foreground (True) is the thin structure.

Topology follows the library's convention (see ``topoviz.persistence``):
foreground 4-connected, background 8-connected, and ``frame=True`` adds a
one-pixel foreground frame around the image or patch (relative homology).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.measure import label
from skimage.metrics import adapted_rand_error
from skimage.metrics import variation_of_information as _voi
from skimage.morphology import skeletonize

__all__ = [
    "accuracy",
    "betti_numbers",
    "betti_error",
    "patch_betti_differences",
    "patch_betti_errors",
    "regions",
    "adapted_rand_index",
    "variation_of_information",
    "evaluate_all",
    "one_pixel_references",
    "topology_errors",
    "STRUCTURES",
    "RegionErrors",
    "region_errors",
    "voi_parts",
    "hole_errors",
    "hole_kinds",
    "hole_kind_masks",
]


#: Rounding allowed outside [0, 1] (a float32 sigmoid can give 1 + 1.2e-7).
_SLACK = 1e-6


def _binary(x: np.ndarray, threshold: float, name: str) -> np.ndarray:
    """``x >= threshold`` after checking that ``x`` is a 2-D mask or a likelihood in [0, 1].

    Values outside [0, 1] (an 8-bit image, logits) are refused rather than compared
    with a threshold meant for probabilities.
    """
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D mask or likelihood; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be numeric or boolean; got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has NaN or infinite values")
    if arr.size and (arr.min() < -_SLACK or arr.max() > 1 + _SLACK):
        raise ValueError(
            f"{name} has values in [{arr.min():g}, {arr.max():g}]; metrics take a mask or a "
            "likelihood in [0, 1] (divide an 8-bit image by 255, pass probabilities "
            "(torch.sigmoid) rather than logits)"
        )
    # in float64, as persistence.Dots.alive compares a level: numpy compares float32
    # with the float32 rounding of the threshold, so f = float32(0.7) passed 0.7
    return arr.astype(np.float64, copy=False) >= threshold


def _pair(pred, gt, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    p = _binary(pred, threshold, "pred")
    g = _binary(gt, 0.5, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred has shape {p.shape} but gt has {g.shape}; they must match")
    return p, g


def accuracy(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """Pixel accuracy: the fraction of pixels labelled as in the ground truth.

    Notes
    -----
    ``accuracy = |{x : pred(x) = gt(x)}| / |Omega|`` (Sec. 3, "pixel-wise accuracy").

    Examples
    --------
    >>> import numpy as np
    >>> accuracy(np.array([[1, 0], [0, 0]]), np.array([[1, 1], [0, 0]]))
    0.75
    """
    p, g = _pair(pred, gt, threshold)
    return float(np.mean(p == g))


def betti_numbers(
    mask: np.ndarray, frame: bool = True, threshold: float | None = None
) -> tuple[int, int]:
    """Betti numbers (beta_0, beta_1) of a binary mask, by connected-component labelling.

    Parameters
    ----------
    mask : array_like of bool, shape (H, W)
        Foreground = the thin structure (4-connected). Without ``threshold`` it must
        be binary (bool, or numbers that are all 0 or 1): a likelihood is refused,
        not counted as "every nonzero pixel".
    frame : bool
        Add a one-pixel foreground frame around the mask (relative homology, as the
        loss does on patches): the frame is one more component, structures touching
        the border join it, and every background region becomes a hole. On by
        default, as the Betti error counts; ``frame=False`` gives the mask's own
        numbers (a ring: (1, 1), not (2, 2); an empty mask: (0, 0), not (1, 1)).
    threshold : float, optional
        Count the segmentation ``mask >= threshold`` of a likelihood in [0, 1]
        (0.5 as in the paper).

    Returns
    -------
    (int, int)
        Number of components and of holes (handles).

    Raises
    ------
    ValueError
        For an array that is not 2-D or is empty, NaN or infinite values, a non-binary
        array without ``threshold``, or values outside [0, 1] with one.

    Notes
    -----
    ``beta_0`` = number of 4-connected foreground components; ``beta_1`` = number of
    8-connected background components that do not reach the outside (without a
    frame: those not touching the image border). These equal the numbers read off
    ``topoviz.persistence.diagram(mask).betti(0.5)``.

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.zeros((5, 5), bool); ring[1:4, 1:4] = True; ring[2, 2] = False
    >>> betti_numbers(ring, frame=False)
    (1, 1)
    >>> betti_numbers(ring, frame=True)   # frame + ring; the centre and the moat
    (2, 2)
    >>> likelihood = np.where(ring, 0.9, 0.1)
    >>> betti_numbers(likelihood, frame=True, threshold=0.5)
    (2, 2)
    """
    m = np.asarray(mask)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"mask must be a non-empty 2-D array; got shape {m.shape}")
    if threshold is not None:
        m = _binary(m, threshold, "mask")
    elif m.dtype != bool:
        if not np.issubdtype(m.dtype, np.number) or np.iscomplexobj(m):
            raise ValueError(f"mask must be numeric or boolean; got dtype {m.dtype}")
        if not np.isfinite(m).all():
            raise ValueError("mask has NaN or infinite values")
        other = (m != 0) & (m != 1)
        if other.any():
            raise ValueError(
                f"mask is not binary: {int(other.sum())} value(s) are neither 0 nor 1 "
                f"(e.g. {m[other].flat[0]:g}); pass threshold=0.5 to count the segmentation "
                "of a likelihood, or a boolean mask"
            )
    m = m.astype(bool)
    fg, n_fg = label(m, connectivity=1, return_num=True)
    bg, n_bg = label(~m, connectivity=2, return_num=True)
    border = np.concatenate([fg[0], fg[-1], fg[:, 0], fg[:, -1]])
    border_bg = np.concatenate([bg[0], bg[-1], bg[:, 0], bg[:, -1]])
    if frame:
        touching = len(np.setdiff1d(np.unique(border), [0]))
        return 1 + n_fg - touching, n_bg
    open_bg = len(np.setdiff1d(np.unique(border_bg), [0]))
    return n_fg, n_bg - open_bg


def _check_patches(patch_size: int, n_patches: int) -> None:
    for name, v in (("patch_size", patch_size), ("n_patches", n_patches)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {v!r}")


def patch_betti_differences(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 65,
    n_patches: int = 100,
    dims: tuple[int, ...] = (1,),
    frame: bool = True,
    seed: int = 0,
    threshold: float = 0.5,
) -> np.ndarray:
    """Signed ``beta_k(pred patch) - beta_k(gt patch)`` for random patches.

    The same patches as :func:`patch_betti_errors` (same ``seed``), one row per
    patch and one column per dimension in ``dims``. A positive entry counts extra
    structures (spurious holes: a false wall, a pinhole), a negative one missing
    structures (a gap in a membrane merges two cells). The Betti error is the mean
    of ``|row|`` summed over the row; these signs say which way it goes.

    Examples
    --------
    >>> gt = np.zeros((9, 9), bool); gt[4, :] = True  # one wall: two regions
    >>> patch_betti_differences(np.zeros((9, 9)), gt, patch_size=9, n_patches=1)
    array([[-1]])
    """
    p, g = _pair(pred, gt, threshold)
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        # betti_error(p, g, 65, 100, 1) meant seed=1: 'int is not iterable' said nothing
        raise TypeError(
            f"dims must be a sequence of dimensions such as (1,) or (0, 1); got {dims!r} "
            "(the fifth argument is dims; pass seed= by name)"
        )
    if any(d not in (0, 1) for d in dims) or not dims:
        raise ValueError(f"dims must be a non-empty subset of (0, 1); got {dims}")
    _check_patches(patch_size, n_patches)
    h, w = p.shape
    ph, pw = min(patch_size, h), min(patch_size, w)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, h - ph + 1, n_patches)
    cols = rng.integers(0, w - pw + 1, n_patches)
    diffs = np.empty((n_patches, len(dims)), np.int64)
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        bp = betti_numbers(p[r : r + ph, c : c + pw], frame)
        bg = betti_numbers(g[r : r + ph, c : c + pw], frame)
        diffs[i] = [bp[k] - bg[k] for k in dims]
    return diffs


def patch_betti_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 65,
    n_patches: int = 100,
    dims: tuple[int, ...] = (1,),
    frame: bool = True,
    seed: int = 0,
    threshold: float = 0.5,
) -> np.ndarray:
    """``sum_k |beta_k(pred patch) - beta_k(gt patch)|`` for random patches.

    Patches are drawn uniformly at random (top-left corners from a generator seeded
    by ``seed``) and clipped to the image; see :func:`betti_error` and, for the
    signs, :func:`patch_betti_differences`.
    """
    diffs = patch_betti_differences(pred, gt, patch_size, n_patches, dims, frame, seed, threshold)
    return np.abs(diffs).sum(axis=1).astype(np.float64)


def betti_error_noise(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 65,
    n_patches: int = 100,
    seed: int = 0,
    other: np.ndarray | None = None,
    threshold: float = 0.5,
) -> float:
    """One standard error of :func:`betti_error` (dimension 1, framed) from its
    sampling of patches; with ``other``, of ``other``'s Betti error minus ``pred``'s
    over the same patches (paired: what a change between two nets can be read to).

    Examples
    --------
    >>> gt = np.zeros((30, 30), bool); gt[::6] = True
    >>> betti_error_noise(gt, gt, patch_size=10, n_patches=20)
    0.0
    >>> betti_error_noise(gt, gt, patch_size=10, n_patches=20, other=~gt) > 0
    True
    """
    errors = patch_betti_errors(pred, gt, patch_size, n_patches, seed=seed, threshold=threshold)
    if other is not None:
        errors = (
            patch_betti_errors(other, gt, patch_size, n_patches, seed=seed, threshold=threshold)
            - errors
        )
    if len(errors) < 2:
        return 0.0
    return float(errors.std(ddof=1) / np.sqrt(len(errors)))


def betti_error(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 65,
    n_patches: int = 100,
    dims: tuple[int, ...] = (1,),
    frame: bool = True,
    seed: int = 0,
    threshold: float = 0.5,
) -> float:
    """The paper's Betti error: mean ``|delta beta|`` over random patches.

    Parameters
    ----------
    pred, gt : array_like, shape (H, W)
        Prediction (mask, or likelihood thresholded at ``threshold``) and ground truth.
    patch_size : int
        Side of the square patches (clipped to the image).
    n_patches : int
        Number of patches sampled.
    dims : tuple of int
        Dimensions compared; the paper uses handles only, ``(1,)`` (footnote 8).
    frame : bool
        Relative homology on every patch (a one-pixel foreground frame), so that a
        membrane or crack crossing a patch separates regions and a break in it
        changes ``beta_1``.
    seed : int
        Seed of the patch positions: the same seed gives the same number.

    Returns
    -------
    float

    Notes
    -----
    ``BettiError = (1 / N) sum_{i=1}^{N} sum_{k in dims} |beta_k(P_i(pred)) -
    beta_k(P_i(gt))|`` over ``N`` random patches ``P_i`` (Sec. 3, "Evaluation
    metrics").

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((20, 20), bool); gt[:, 10] = True      # a wall: two regions
    >>> pred = gt.copy(); pred[5:8, 10] = False              # broken: one region
    >>> betti_error(pred, gt, patch_size=20, n_patches=3)
    1.0
    """
    return float(
        patch_betti_errors(pred, gt, patch_size, n_patches, dims, frame, seed, threshold).mean()
    )


def regions(mask: np.ndarray) -> np.ndarray:
    """Label the regions a structure separates (8-connected background), structure = 0.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((3, 5), bool); m[:, 2] = True
    >>> regions(m)
    array([[1, 1, 0, 2, 2],
           [1, 1, 0, 2, 2],
           [1, 1, 0, 2, 2]])
    """
    m = _binary(mask, 0.5, "mask")
    return label(~m, connectivity=2).astype(np.int64)


def adapted_rand_index(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """Adapted Rand index (ARI) of the partitions into regions; 1 is perfect.

    Notes
    -----
    ``ARI = 1 - ARE`` where ``ARE`` is scikit-image's adapted Rand error (the
    SNEMI3D definition): ARI is the F-score ``2PR / (P + R)`` of the Rand index
    restricted to ground-truth regions, counted over pairs of distinct pixels:
    ``P = (sum_ij n_ij^2 - N) / (sum_j s_j^2 - N)`` and
    ``R = (sum_ij n_ij^2 - N) / (sum_i t_i^2 - N)``, with ``n_ij`` the contingency
    table, ``s`` and ``t`` the region sizes in the prediction and the ground truth.
    Regions are the 8-connected background components (:func:`regions`); ground-truth
    structure pixels (label 0) are
    excluded, as the paper does. Returns NaN when the ground truth has no region.
    When no region of the ground truth has two pixels, there is no pair to recall:
    1.0 if the prediction keeps those pixels apart too, else 0.0 (its precision).

    References
    ----------
    .. [1] Arganda-Carreras et al. Crowdsourcing the creation of image segmentation
       algorithms for connectomics. Front. Neuroanat. 9:142, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 8), bool); gt[:, 4] = True
    >>> adapted_rand_index(gt, gt)
    1.0
    """
    p, g = _pair(pred, gt, threshold)
    rg, rp = regions(g), regions(p)
    if not rg.any():
        return float("nan")
    if np.bincount(rg.ravel())[1:].max() < 2:  # every true region is one pixel
        together = np.bincount(rp[rg > 0]).max() > 1  # its label 0 too, as skimage counts
        return 0.0 if together else 1.0
    are, _, _ = adapted_rand_error(rg, rp, ignore_labels=(0,))
    return float(1.0 - are)


def variation_of_information(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> float:
    """Variation of information (VOI) between the partitions into regions; 0 is perfect.

    Notes
    -----
    ``VOI(X, Y) = H(X | Y) + H(Y | X) = H(X) + H(Y) - 2 I(X; Y)`` in bits (log2),
    computed by scikit-image on the :func:`regions` labellings with ground-truth
    structure pixels (label 0) excluded.

    References
    ----------
    .. [1] M. Meila. Comparing clusterings: an axiomatic view. ICML 2005.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 8), bool); gt[:, 4] = True
    >>> round(variation_of_information(gt, gt), 12)
    0.0
    """
    p, g = _pair(pred, gt, threshold)
    rg, rp = regions(g), regions(p)
    if not rg.any():
        return float("nan")
    split, merge = _voi(rg, rp, ignore_labels=(0,))
    return float(abs(split) + abs(merge))


def evaluate_all(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 65,
    n_patches: int = 100,
    seed: int = 0,
    threshold: float = 0.5,
    *,
    structure: str = "membranes",
    min_region: int = 50,
    hole_patch_size: int = 256,
    hole_patches: int = 16,
    min_hole: int = 25,
) -> dict[str, float]:
    """Every number of the evaluation tables for one image.

    The paper's four (``accuracy``, ``ari``, ``voi``, ``betti_error`` on
    ``patch_size``² framed patches, dimension 1) with the Betti error split by sign
    (``betti_extra``, ``betti_missing``: the positive and negative parts of
    beta_1(pred) - beta_1(gt) over the same patches, see
    :func:`patch_betti_differences`) and its sampling noise (``betti_error_se``, as
    :func:`betti_error_noise` gives it, from the same pass over the patches); the
    region-level counts of :func:`region_errors` (``merges``, ``splits``, ``missed``,
    ``n_gt``); the VOI's parts (``voi_merge``, ``voi_split``, :func:`voi_parts`);
    and the beta_1 error on ``hole_patch_size``² framed patches counting holes of at
    least ``min_hole`` pixels (``holes_extra``, ``holes_missing``, ``holes_error``,
    :func:`hole_errors`), and the spurious holes of the whole image by kind
    (``pinholes``, ``fragments``, :func:`hole_kinds`), which a repaired merge does not
    hide.
    """
    diffs = patch_betti_differences(
        pred, gt, patch_size=patch_size, n_patches=n_patches, seed=seed, threshold=threshold
    )[:, 0]
    errors = np.abs(diffs)  # per patch: the Betti error and its sampling noise, one pass
    regions_ = region_errors(pred, gt, structure, min_region=min_region, threshold=threshold)
    parts = voi_parts(pred, gt, threshold)
    holes = hole_errors(
        pred, gt, hole_patch_size, hole_patches, min_hole, seed=seed, threshold=threshold
    )
    return {
        "accuracy": accuracy(pred, gt, threshold),
        "ari": adapted_rand_index(pred, gt, threshold),
        "voi": variation_of_information(pred, gt, threshold),
        "betti_error": float(errors.mean()),
        "betti_error_se": float(errors.std(ddof=1) / np.sqrt(len(errors)))
        if len(errors) > 1
        else 0.0,
        "betti_extra": float(np.clip(diffs, 0, None).mean()),
        "betti_missing": float(np.clip(-diffs, 0, None).mean()),
        **{k: float(v) for k, v in regions_.counts().items()},
        "voi_merge": parts["merge"],
        "voi_split": parts["split"],
        **{f"holes_{k}": v for k, v in holes.items()},
        **{k: float(v) for k, v in hole_kinds(pred, gt, min_hole, threshold).items()},
    }


def one_pixel_references(gt: np.ndarray) -> dict[str, np.ndarray]:
    """The ground truth moved by one pixel: what a near-perfect segmentation scores.

    Three reference segmentations made from ``gt`` alone, each a one-pixel change
    of where the structure's edge is, not of what it connects:

    - ``"GT thickened 1 px"``: the structure dilated by the 4-neighbour cross;
    - ``"GT thinned 1 px"``: eroded by the same cross (the image border counts as
      structure, so nothing is eaten from the edge);
    - ``"GT shifted 1 px"``: moved one pixel to the right, the first column repeated.
      Its topology is the ground truth's (but for the last column, dropped); only
      the random patches of :func:`betti_error` now cut it one pixel elsewhere.

    Scored against ``gt`` (:func:`evaluate_all`), they say how much of a Betti error
    a segmentation with the right topology and the edges one pixel off still gets:
    a frame makes every background sliver a patch cuts off a hole (Sec. 2.3), so
    the count moves whenever an edge near the patch border moves.

    Parameters
    ----------
    gt : array_like of bool, shape (H, W)
        Ground truth, foreground = the thin structure.

    Returns
    -------
    dict of str to ndarray of bool
        Name -> reference mask, each of the shape of ``gt``.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((5, 7), bool); gt[:, 3] = True    # a one-pixel wall
    >>> refs = one_pixel_references(gt)
    >>> [int(refs[k].sum()) for k in refs]               # 3 columns, none, 1 column
    [15, 0, 5]
    >>> bool(refs["GT shifted 1 px"][:, 4].all())
    True
    """
    g = np.asarray(gt)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"gt must be a non-empty 2-D array; got shape {g.shape}")
    g = _binary(g, 0.5, "gt")
    shifted = np.concatenate([g[:, :1], g[:, :-1]], axis=1)
    return {
        "GT thickened 1 px": ndimage.binary_dilation(g),
        "GT thinned 1 px": ndimage.binary_erosion(g, border_value=1),
        "GT shifted 1 px": shifted,
    }


def topology_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    structure: str = "membranes",
    min_region: int = 50,
    min_hole: int = 25,
    threshold: float = 0.5,
    tolerance: int = 3,
) -> dict[str, np.ndarray]:
    """Where a prediction breaks the ground truth's topology, as masks.

    ``pred`` is a mask or a likelihood (thresholded at ``threshold``), ``gt`` a mask,
    as in :func:`region_errors`.

    ``"merged"`` and ``"split"`` are the regions :func:`region_errors` counts (the
    same rule, so a map and its counts agree): predicted regions that merge
    ground-truth regions, and ground-truth regions the prediction splits.
    ``"spurious"``: predicted structure components (4-connected) touching no
    ground-truth structure; ``"missing"``: ground-truth components the prediction
    misses entirely; ``"pinholes"``: predicted holes of at least ``min_hole`` pixels
    dug into the true structure (:func:`hole_kind_masks`, counted by
    :func:`hole_kinds`). Curvilinear structures also get ``"breaks"``: the skeleton
    pixels of a split crack or vessel where it breaks (no predicted component within
    ``tolerance`` pixels holds them, or a neighbour is held by another one), which
    the error map rings. ``min_region`` and ``tolerance`` are :func:`region_errors`'.
    Returns one boolean mask per kind.
    """
    p, g = _pair(pred, gt, threshold)
    found, truth, owner = _region_parts(p, g, structure, min_region, tolerance)
    fp, fg = label(p, connectivity=1), label(g, connectivity=1)
    # a component touching nothing of the other mask: one count per label, one pass
    # (a loop over labels took 20 s on a noisy 1024² prediction)
    untouched_p = np.bincount(fp[g], minlength=fp.max() + 1) == 0
    untouched_g = np.bincount(fg[p], minlength=fg.max() + 1) == 0
    untouched_p[0] = untouched_g[0] = False  # label 0: the background
    masks = {
        "merged": found.merged,
        "split": found.split,
        "spurious": untouched_p[fp],
        "missing": untouched_g[fg],
        "pinholes": hole_kind_masks(p, g, min_hole)["pinholes"],
    }
    if structure == "curvilinear":
        masks["breaks"] = _breaks(truth.skel & found.split, owner)
    return masks


def _breaks(skel: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Where split curvilinear regions are broken: of their skeleton pixels ``skel``,
    those no predicted component holds (``owner`` 0: region_errors' own assignment,
    the nearest within its tolerance), and those whose skeleton neighbour a different
    one holds.

    A split crack is thin and long; tinted whole, it did not say where it breaks.

    Examples
    --------
    >>> gt = np.zeros((5, 20), bool); gt[2, 1:19] = True
    >>> pred = gt.copy(); pred[2, 9:11] = False          # a 2-px gap
    >>> found = topology_errors(pred, gt, "curvilinear", min_region=5, tolerance=0)
    >>> np.flatnonzero(found["breaks"][2]).tolist()
    [8, 9, 10, 11]
    """
    if not skel.any():
        return skel
    owner = np.where(skel, owner, 0)
    # a skeleton pixel beside one of another owner, 8-connected: max and min of the
    # neighbours' owners (off the skeleton: ignored) differ from its own
    big = np.iinfo(owner.dtype).max
    hi = ndimage.maximum_filter(np.where(skel, owner, -1), size=3)
    lo = ndimage.minimum_filter(np.where(skel, owner, big), size=3)
    return skel & ((owner == 0) | (hi != owner) | (lo != owner))


# ----------------------------------------------------------------------------------
# Region-level topology errors: what TopoLoss is for (a broken membrane merges two
# cells; a broken crack splits one crack), counted where they happen.
# ----------------------------------------------------------------------------------

STRUCTURES = ("membranes", "curvilinear")


@dataclass(frozen=True)
class RegionErrors:
    """False merges and splits of one segmentation, with where they are.

    Attributes
    ----------
    merges, splits, missed : int
        Counts (see :func:`region_errors`).
    n_gt : int
        Ground-truth regions (membranes: cells; curvilinear: components) large
        enough to count.
    merged : ndarray of bool
        Pixels of the predicted regions that merge ground-truth regions.
    split : ndarray of bool
        Pixels of the ground-truth regions that the prediction splits.
    """

    merges: int
    splits: int
    missed: int
    n_gt: int
    merged: np.ndarray
    split: np.ndarray

    def __repr__(self) -> str:
        """The counts, not the two masks."""
        return (
            f"RegionErrors(merges={self.merges}, splits={self.splits}, "
            f"missed={self.missed}, n_gt={self.n_gt})"
        )

    def counts(self) -> dict[str, int]:
        """``{"merges", "splits", "missed", "n_gt"}`` as plain ints."""
        return {
            "merges": self.merges,
            "splits": self.splits,
            "missed": self.missed,
            "n_gt": self.n_gt,
        }


def _overlap_table(gt_of: np.ndarray, pred_of: np.ndarray, n_gt: int, n_pred: int) -> np.ndarray:
    """``table[i, j]`` = how many units of ground-truth region i fall in predicted region j."""
    keep = (gt_of > 0) & (pred_of > 0)
    pair = gt_of[keep].astype(np.int64) * (n_pred + 1) + pred_of[keep]
    cells = (n_gt + 1) * (n_pred + 1)
    return np.bincount(pair, minlength=cells).astype(np.int64).reshape(n_gt + 1, n_pred + 1)


def _count_errors(
    table: np.ndarray,
    size: np.ndarray,
    big: np.ndarray,
    share: float,
    piece: float,
    piece_units: int | None = None,
) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """Merges, splits, missed from an overlap table of ground-truth (rows) x predicted regions.

    A piece of a ground-truth region is a share of at least ``piece`` of it, or (if
    given) at least ``piece_units`` units of it.
    """
    frac = table / np.maximum(size, 1)[:, None]
    frac[~big] = 0.0
    holders = frac >= share  # predicted region j holds >= share of gt region i
    per_pred = holders.sum(axis=0)  # how many big gt regions each predicted region holds
    merged_ids = np.flatnonzero(per_pred >= 2)
    merges = int((per_pred[merged_ids] - 1).sum())
    is_piece = frac >= piece
    if piece_units is not None:
        is_piece |= (table >= piece_units) & big[:, None]
    pieces = is_piece.sum(axis=1)
    split_ids = np.flatnonzero(pieces >= 2)
    splits = int((pieces[split_ids] - 1).sum())
    missed = int((big & ~holders.any(axis=1)).sum())
    return merges, splits, missed, merged_ids, split_ids


def region_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    structure: str = "membranes",
    min_region: int = 50,
    tolerance: int = 3,
    threshold: float = 0.5,
) -> RegionErrors:
    """False merges and false splits, counted on regions (what a broken structure does).

    Parameters
    ----------
    pred, gt : array_like, shape (H, W)
        Prediction (mask, or likelihood thresholded at ``threshold``) and ground
        truth; foreground = the thin structure.
    structure : {"membranes", "curvilinear"}
        ``"membranes"`` (EM membranes, cell walls): the regions are the cells, the
        8-connected background components. ``"curvilinear"`` (vessels, cracks,
        roads): the regions are the 8-connected foreground components.
    min_region : int
        Ground-truth regions smaller than this are not counted (membranes: cell
        pixels; curvilinear: skeleton pixels, i.e. length).
    tolerance : int
        Curvilinear only: a ground-truth skeleton pixel belongs to the predicted
        component nearest to it within this many pixels (Euclidean), so a crack
        predicted one pixel off still counts as found.
    threshold : float
        Threshold of a likelihood ``pred``.

    Returns
    -------
    RegionErrors
        Counts and masks.

    Notes
    -----
    **Membranes.** Let ``n_ij`` be the number of pixels of ground-truth cell ``i``
    inside predicted cell ``j`` and ``s_i`` the size of cell ``i``; cells with
    ``s_i < min_region`` do not count. Predicted cell ``j`` *holds* cell ``i`` when
    ``n_ij >= 0.5 s_i``. A predicted cell holding ``k >= 2`` cells is a false merge
    counted ``k - 1`` times: ``k`` true cells seen as one, because the membranes
    between them are broken. A true cell covered ``>= 20 %`` each by ``k >= 2``
    predicted cells is a false split counted ``k - 1`` times (a spurious wall). A
    true cell held by no predicted cell is *missed* (filled with membrane, or cut
    so that no piece holds half of it: a cell cut into two pieces of 45 % each by a
    wall is both a split and missed, one of 60 % and 40 % a split only). A pinhole
    (a small spurious hole inside a membrane) is neither:
    it covers no cell; :func:`hole_errors` counts those.

    **Curvilinear.** The ground truth's components are reduced to their skeletons
    (``skimage.morphology.skeletonize``), and each skeleton pixel is given to the
    predicted component nearest to it if one lies within ``tolerance`` pixels
    (else to none). ``n_ij`` counts skeleton pixels and ``s_i`` the skeleton of
    component ``i`` (components with fewer than ``min_region`` pixels do not
    count). A *split* is a true crack given to two or more predicted pieces, a
    piece being 20 % of its skeleton or ``min_region`` skeleton pixels (a broken
    crack or vessel: a long crack broken near its end is still broken), a *merge*
    a predicted component
    holding two or more true ones (a false bridge), *missed* a true crack no
    predicted component holds half of.

    A 1-pixel shift of the ground truth scores 0 and 0 on both; one break cut
    across a membrane between two cells scores one merge.

    Examples
    --------
    A wall between two cells. Breaking it merges the cells; a second wall splits
    the right cell; the wall moved by one pixel changes neither::

        gt          broken      walled
        ....#....   ....#....   ....#..#.
        .........   .........   ....#..#.
        ....#....   ....#....   ....#..#.

    >>> import numpy as np
    >>> gt = np.zeros((20, 21), bool); gt[:, 10] = True
    >>> broken = gt.copy(); broken[8:11, 10] = False
    >>> region_errors(broken, gt).counts()
    {'merges': 1, 'splits': 0, 'missed': 0, 'n_gt': 2}
    >>> walled = gt.copy(); walled[:, 15] = True
    >>> region_errors(walled, gt).counts()
    {'merges': 0, 'splits': 1, 'missed': 0, 'n_gt': 2}
    >>> region_errors(np.roll(gt, 1, axis=1), gt).counts()
    {'merges': 0, 'splits': 0, 'missed': 0, 'n_gt': 2}
    """
    p, g = _pair(pred, gt, threshold)
    return _region_parts(p, g, structure, min_region, tolerance)[0]


def _region_parts(p: np.ndarray, g: np.ndarray, structure: str, min_region: int, tolerance: int):
    """``(RegionErrors, truth, owner)`` of binary ``p`` and ``g``: what
    :func:`region_errors` returns, with the true regions (:class:`_TrueRegions`) and
    the predicted region each pixel is given to, which :func:`topology_errors` reads
    where a crack breaks."""
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {STRUCTURES}; got {structure!r}")
    if min_region < 1 or tolerance < 0:
        raise ValueError("min_region must be >= 1 and tolerance >= 0")
    truth = _true_regions(g, structure, min_region)
    merges, splits, missed, merged_ids, split_ids, rp, owner = _region_counts(p, truth, tolerance)
    found = RegionErrors(
        merges=merges,
        splits=splits,
        missed=missed,
        n_gt=int(truth.big.sum()),
        merged=np.isin(rp, merged_ids) & (rp > 0),
        split=np.isin(truth.labels, split_ids) & (truth.labels > 0),
    )
    return found, truth, owner


@dataclass(frozen=True)
class _TrueRegions:
    """The ground-truth side of :func:`region_errors`, computed once.

    ``labels``: the true regions (membranes: cells; curvilinear: components);
    ``units``: the label of each pixel the counts weigh (membranes: every cell
    pixel; curvilinear: skeleton pixels only), 0 elsewhere; ``size``: units per
    region; ``big``: regions of at least ``min_region`` units (never 0).
    :mod:`topoviz.calibration` reuses one for many trial segmentations, so what
    it keeps is counted by the metric's own code.
    """

    structure: str
    min_region: int
    labels: np.ndarray
    n: int
    skel: np.ndarray | None
    units: np.ndarray
    size: np.ndarray
    big: np.ndarray


def _true_regions(g: np.ndarray, structure: str, min_region: int) -> _TrueRegions:
    if structure == "membranes":
        rg, n_g = label(~g, connectivity=2, return_num=True)
        skel, units = None, rg
        size = np.bincount(rg.ravel(), minlength=n_g + 1)
    else:
        rg, n_g = label(g, connectivity=2, return_num=True)
        skel = skeletonize(g)
        units = np.where(skel, rg, 0)
        size = np.bincount(rg[skel], minlength=n_g + 1)
    big = size >= min_region
    big[0] = False
    return _TrueRegions(structure, min_region, rg, n_g, skel, units, size, big)


def _region_counts(p: np.ndarray, truth: _TrueRegions, tolerance: int):
    """``(merges, splits, missed, merged_ids, split_ids, pred_labels, owner)`` of a
    binary ``p``; ``owner``: the predicted region each pixel's units are counted in."""
    if truth.structure == "membranes":
        rp, n_p = label(~p, connectivity=2, return_num=True)
        owner, piece_units = rp, None
    else:
        rp, n_p = label(p, connectivity=2, return_num=True)
        # A skeleton pixel inside a predicted component is its own nearest labelled
        # pixel: the distance transform is needed only when some lie outside.
        inside = not (truth.skel & ~p).any()
        owner = rp if inside else _nearest_label(rp, tolerance)
        piece_units = truth.min_region
    table = _overlap_table(truth.units, owner, truth.n, n_p)
    counted = _count_errors(table, truth.size, truth.big, 0.5, 0.2, piece_units)
    return (*counted, rp, owner)


def _nearest_label(labels: np.ndarray, tolerance: int) -> np.ndarray:
    """Each pixel's nearest labelled pixel's label within ``tolerance`` (Euclidean), else 0."""
    if not labels.any():
        return np.zeros_like(labels)
    dist, (ri, ci) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    near = labels[ri, ci]
    near[dist > tolerance] = 0
    return near


def voi_parts(pred: np.ndarray, gt: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """The split and merge parts of the variation of information, in bits.

    Notes
    -----
    ``VOI = H(P | G) + H(G | P)`` on the :func:`regions` labellings (ground-truth
    structure pixels excluded). ``H(P | G)``, the *split* part, is what the
    prediction adds that the ground truth does not have (a cell cut in two);
    ``H(G | P)``, the *merge* part, what it loses (two cells seen as one, a broken
    membrane). Their sum is :func:`variation_of_information`.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((8, 9), bool); gt[:, 4] = True
    >>> parts = voi_parts(np.zeros((8, 9), bool), gt)   # the wall is gone: a merge
    >>> round(parts["merge"], 6), round(parts["split"], 6)
    (1.0, 0.0)
    """
    p, g = _pair(pred, gt, threshold)
    rg, rp = regions(g), regions(p)
    if not rg.any():
        return {"split": float("nan"), "merge": float("nan")}
    split, merge = _voi(rg, rp, ignore_labels=(0,))
    return {"split": float(abs(split)), "merge": float(abs(merge))}


def _holes_at_least(mask: np.ndarray, min_hole: int) -> int:
    """Holes of ``mask`` in a frame (every 8-connected background component) of >= min_hole px."""
    bg, n = label(~mask, connectivity=2, return_num=True)
    if n == 0:
        return 0
    size = np.bincount(bg.ravel(), minlength=n + 1)[1:]
    return int((size >= min_hole).sum())


def hole_kind_masks(
    pred: np.ndarray, gt: np.ndarray, min_hole: int = 25, threshold: float = 0.5
) -> dict[str, np.ndarray]:
    """Where the spurious holes of :func:`hole_kinds` are: one boolean mask per kind,
    ``{"pinholes", "fragments"}``, the pixels of the predicted holes of that kind.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[:, 18:23] = True   # a thick wall, two cells
    >>> pred = gt.copy(); pred[10:16, 19:22] = False          # a hole in the wall
    >>> m = hole_kind_masks(pred, gt, min_hole=10)
    >>> int(m["pinholes"].sum()), bool(m["pinholes"][12, 20]), int(m["fragments"].sum())
    (18, True, 0)
    """
    holes, pinhole, fragment = _hole_kinds(pred, gt, min_hole, threshold)
    ids = np.arange(1, len(pinhole) + 1)
    return {
        "pinholes": np.isin(holes, ids[pinhole]),
        "fragments": np.isin(holes, ids[fragment]),
    }


def hole_kinds(
    pred: np.ndarray, gt: np.ndarray, min_hole: int = 25, threshold: float = 0.5
) -> dict[str, int]:
    """The segmentation's spurious holes by kind, each counted on its own.

    :func:`hole_errors` counts beta_1(pred) - beta_1(gt) on a patch, so a repaired
    merge (one hole more) hides a spurious hole (one hole more) of the same patch's
    count, and repairing merges *raises* its ``extra`` part with no new error made.
    Here every predicted hole (8-connected background component of the whole
    image) of at least ``min_hole`` pixels is looked at by itself.

    Returns
    -------
    dict
        ``{"pinholes", "fragments"}``. A *pinhole* is a predicted hole with more
        than half of its pixels on the ground truth's structure: a hole dug into a
        true membrane (or crack). A *fragment* is any other predicted hole that is
        not, for any true hole, the predicted hole covering most of it: a piece cut
        off a true cell by a spurious wall (what a false split leaves, counted
        here whatever the piece's share of the cell). A true cell cut in ``k``
        pieces leaves ``k - 1`` fragments; two cells merged into one predicted hole
        leave none, and neither does a 1-pixel shift of the ground truth.
        :func:`hole_kind_masks` gives where they are.

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[:, 18:23] = True   # a thick wall, two cells
    >>> pred = gt.copy(); pred[:, 30] = True                  # a spurious wall
    >>> pred[10:16, 19:22] = False                            # and a hole in the wall
    >>> hole_kinds(pred, gt, min_hole=10)
    {'pinholes': 1, 'fragments': 1}
    """
    _, pinhole, fragment = _hole_kinds(pred, gt, min_hole, threshold)
    return {"pinholes": int(pinhole.sum()), "fragments": int(fragment.sum())}


def _hole_kinds(
    pred: np.ndarray, gt: np.ndarray, min_hole: int, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The predicted holes labelled (8-connected background, 1..n) and, per hole,
    whether it is a pinhole and whether it is a fragment (:func:`hole_kinds`)."""
    p, g = _pair(pred, gt, threshold)
    if min_hole < 1:
        raise ValueError("min_hole must be at least 1")
    pl, n = label(~p, connectivity=2, return_num=True)
    if n == 0:
        return pl, np.zeros(0, bool), np.zeros(0, bool)
    gl, m = label(~g, connectivity=2, return_num=True)
    # on_true[j, i]: pixels of predicted hole j on true hole i; the rest of j is on
    # the true structure
    on_true = _overlap_table(pl, gl, n, m)[1:, 1:]
    size = np.bincount(pl.ravel(), minlength=n + 1)[1:]
    big = size >= min_hole
    pinhole = big & (2 * (size - on_true.sum(1)) > size)
    covers_most = np.zeros(n, bool)
    if m:
        seen = on_true.max(0) > 0  # a true hole the prediction filled has no best piece
        covers_most[np.argmax(on_true, axis=0)[seen]] = True
    fragment = big & ~pinhole & ~covers_most
    return pl, pinhole, fragment


def hole_errors(
    pred: np.ndarray,
    gt: np.ndarray,
    patch_size: int = 256,
    n_patches: int = 16,
    min_hole: int = 25,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, float]:
    """beta_1 error on large framed patches, counting only holes of >= ``min_hole`` px.

    Like :func:`betti_error` (dimension 1, a frame around each random patch), but
    on larger patches (256², where the paper uses 65²) and with holes smaller
    than ``min_hole`` pixels left out on both sides, so that the slivers a patch
    border cuts off an edge and one-pixel pinholes do not count. Split by sign.

    Returns
    -------
    dict
        ``{"extra", "missing", "error"}``: mean over patches of the positive part,
        the negative part and the absolute value of ``beta_1(pred) - beta_1(gt)``.
        ``extra`` counts spurious holes (pinholes of at least ``min_hole`` px,
        false walls); ``missing`` lost ones (broken membranes).

    Examples
    --------
    >>> import numpy as np
    >>> gt = np.zeros((40, 40), bool); gt[:, 20] = True           # two regions
    >>> pred = gt.copy(); pred[:, 30] = True                       # plus a false wall
    >>> hole_errors(pred, gt, patch_size=40, n_patches=2)
    {'extra': 1.0, 'missing': 0.0, 'error': 1.0}
    """
    p, g = _pair(pred, gt, threshold)
    _check_patches(patch_size, n_patches)
    if min_hole < 1:
        raise ValueError(f"min_hole must be at least 1; got {min_hole!r}")
    h, w = p.shape
    ph, pw = min(patch_size, h), min(patch_size, w)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, h - ph + 1, n_patches)
    cols = rng.integers(0, w - pw + 1, n_patches)
    diffs = np.array(
        [
            _holes_at_least(p[r : r + ph, c : c + pw], min_hole)
            - _holes_at_least(g[r : r + ph, c : c + pw], min_hole)
            for r, c in zip(rows, cols, strict=True)
        ],
        np.float64,
    )
    return {
        "extra": float(np.clip(diffs, 0, None).mean()),
        "missing": float(np.clip(-diffs, 0, None).mean()),
        "error": float(np.abs(diffs).mean()),
    }
