"""Matching Dgm(f) to Dgm(g): the partner of every dot and the cost of Eq. 2.2.

Two rules, per homology dimension (footnote 5: dimensions are matched apart):

* ``"paper"`` (Sec. 2.2): the k ground-truth dots (k = the Betti number) take the
  k dots of Dgm(f) nearest the corner (0, 1); every other dot of Dgm(f) goes to
  its diagonal projection. O(n log n).
* ``"optimal"``: the exact minimum-cost bijection in which any dot may go to the
  diagonal (squared 2-Wasserstein distance), solved as an assignment problem, or
  in O(n log n) when all ground-truth dots coincide (any binary ground truth).

and a third that needs the images themselves, not only their diagrams:

* ``"betti"`` (:func:`betti_match`, Stucki et al. 2023): a dot of Dgm(f) and a dot of
  Dgm(g) are partners when the induced matchings of ``f -> max(f, g)`` and
  ``g -> max(f, g)`` send both to the same bar of the comparison image, so a
  partner is a feature *at the same place*; every other dot goes to the diagonal.

All give one :class:`Matching` whose per-dot ``targets`` are what the loss pulls
each dot towards and what the force pictures draw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from topoviz.persistence import Diagram, _as_array, diagram

__all__ = [
    "DimMatching",
    "Matching",
    "match",
    "betti_match",
    "betti_matches",
    "betti_targets",
    "match_images",
    "diagonal_projection",
    "diagonal_cost",
    "take_order",
    "RULES",
    "ALL_RULES",
]

RULES = ("paper", "optimal")  # the rules that need only the two diagrams
ALL_RULES = (*RULES, "betti")  # "betti" needs the images: see betti_match
CORNER = np.array([0.0, 1.0])  # p_ul: where every dot of a binary ground truth sits


def diagonal_projection(points: np.ndarray) -> np.ndarray:
    """Nearest point on the diagonal: ``((x + y) / 2, (x + y) / 2)``."""
    points = np.asarray(points, float).reshape(-1, 2)
    mid = points.mean(axis=1)
    return np.stack([mid, mid], axis=1)


def diagonal_cost(points: np.ndarray) -> np.ndarray:
    """Squared distance of each dot to the diagonal, ``(y - x)^2 / 2``."""
    points = np.asarray(points, float).reshape(-1, 2)
    return 0.5 * (points[:, 1] - points[:, 0]) ** 2


def take_order(points: np.ndarray, q: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Which dots of Dgm(f) take ground-truth dots that all sit at ``q`` (a binary
    ground truth: the corner), and in what order: the dots with the smallest ``key``
    among those ``allowed``, up to one per ground-truth dot, ties in dot order.

    ``"paper"``: the key is the squared distance to the corner, every dot allowed
    (Sec. 2.2). ``"optimal"``: the key is what sending the dot to ``q`` instead of the
    diagonal changes in the cost, ``||p - q||^2 - diag(p) - diag(q)`` (the ground-truth
    dot it takes no longer pays its own distance to the diagonal); only a saving is
    allowed. Shared by :func:`match` and the batched matching of ``TopoLoss``.
    """
    if rule == "paper":
        key = ((points - CORNER) ** 2).sum(axis=1)
        return key, np.ones(len(key), bool)
    key = ((points - q) ** 2).sum(axis=1) - diagonal_cost(points) - diagonal_cost(q)[0]
    return key, key < 0


@dataclass(frozen=True)
class DimMatching:
    """The matching of one dimension.

    Attributes
    ----------
    dim : int
    points : ndarray (n, 2)
        Dots of Dgm(f), in the order of the diagram.
    targets : ndarray (n, 2)
        Each dot's partner, ``gamma*(p)``: a ground-truth dot or its diagonal projection.
    partner : ndarray (n,), int
        Index of the ground-truth dot, or -1 where the partner is the diagonal.
    gt_points : ndarray (m, 2)
        Dots of Dgm(g).
    unmatched_gt : ndarray, int
        Ground-truth dots that no dot of Dgm(f) took (f has too few dots; for the
        Betti rule, no dot of f at the same place).
    via : ndarray (n,), int, or None
        Betti rule only: index in ``Matching.comparison[dim]`` of the bar of
        ``max(f, g)`` that the pair goes through, -1 where unmatched (or where that
        bar has zero persistence and so is not drawn in the diagram).
    via_points : ndarray (n, 2) or None
        Betti rule only: that bar's ``(1 - birth, 1 - death)``; NaN where unmatched.
    """

    dim: int
    points: np.ndarray
    targets: np.ndarray
    partner: np.ndarray
    gt_points: np.ndarray
    unmatched_gt: np.ndarray
    via: np.ndarray | None = None
    via_points: np.ndarray | None = None

    def __repr__(self) -> str:
        matched = int((self.partner >= 0).sum())
        return (
            f"DimMatching(dim={self.dim}, dots={len(self.points)}, gt_dots="
            f"{len(self.gt_points)}, matched={matched}, cost={self.cost:.6g})"
        )

    @property
    def dot_cost(self) -> np.ndarray:
        """``||p - gamma*(p)||^2`` for every dot of Dgm(f) (the terms of Eq. 2.2)."""
        return ((self.points - self.targets) ** 2).sum(axis=1)

    @property
    def unmatched_cost(self) -> float:
        """Distance-to-diagonal cost of the ground-truth dots left without partner.

        Constant in ``f``; without it the loss could be 0 while the topology differs.
        """
        return float(diagonal_cost(self.gt_points[self.unmatched_gt]).sum())

    @property
    def cost(self) -> float:
        return float(self.dot_cost.sum()) + self.unmatched_cost

    @property
    def target_birth(self) -> np.ndarray:
        """``birth(gamma*(p))`` as a likelihood value: where ``f(c_b(p))`` is pulled."""
        return 1.0 - self.targets[:, 0]

    @property
    def target_death(self) -> np.ndarray:
        """``death(gamma*(p))`` as a likelihood value: where ``f(c_d(p))`` is pulled."""
        return 1.0 - self.targets[:, 1]


@dataclass(frozen=True)
class Matching:
    """Matching of Dgm(f) to Dgm(g), per dimension; ``loss`` is L_topo (Eq. 2.2).

    The Betti rule also keeps the three diagrams it computed: ``diagram_f``,
    ``diagram_g`` and ``comparison`` (Dgm of ``max(f, g)``); the other rules leave
    them None.
    """

    dims: dict[int, DimMatching]
    rule: str
    diagram_f: Diagram | None = None
    diagram_g: Diagram | None = None
    comparison: Diagram | None = None

    def __getitem__(self, dim: int) -> DimMatching:
        return self.dims[dim]

    @property
    def loss(self) -> float:
        return float(sum(m.cost for m in self.dims.values()))

    def __repr__(self) -> str:
        """A line per dimension, not every array (a 65² patch's printed 38 000 characters).

        >>> import numpy as np
        >>> f = np.array([[0.9, 0.2, 0.7]]); g = np.array([[1.0, 0.0, 0.0]])
        >>> match(diagram(f, frame=False), diagram(g, frame=False))
        Matching(rule='paper', loss=0.135,
          DimMatching(dim=0, dots=2, gt_dots=1, matched=1, cost=0.135),
          DimMatching(dim=1, dots=0, gt_dots=0, matched=0, cost=0))
        """
        parts = "".join(f",\n  {self.dims[k]!r}" for k in sorted(self.dims))
        return f"Matching(rule={self.rule!r}, loss={self.loss:.6g}{parts})"

    def restricted(self, dims: Iterable[int]) -> Matching:
        """The same matching with only the dimensions ``dims``; its ``loss`` is then
        L_topo over those dimensions (the paper trains on dimension 1, footnote 8).

        Examples
        --------
        >>> import numpy as np
        >>> f = np.array([[0.9, 0.2, 0.7]]); g = np.array([[1.0, 0.0, 0.0]])
        >>> m = match(diagram(f, frame=False), diagram(g, frame=False))
        >>> m.loss, m.restricted([0]).loss, m.restricted([1]).loss
        (0.135, 0.135, 0.0)
        """
        dims = sorted(set(int(d) for d in dims))
        if not dims or any(k not in self.dims for k in dims):
            raise KeyError(f"dims {dims}: this matching has dims {sorted(self.dims)}")
        return replace(self, dims={k: self.dims[k] for k in dims})


def _assign_paper(points: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = len(points), len(gt)
    partner = np.full(n, -1, np.int64)
    k = min(n, m)
    if k == 0:
        return partner, np.arange(m)
    dist, _ = take_order(points, CORNER, "paper")
    chosen = np.argsort(dist, kind="stable")[:k]
    # With a binary ground truth every GT dot is the corner and any pairing is the
    # same; for a general Dgm(g) pair the chosen dots with the GT dots optimally.
    cost = ((points[chosen, None, :] - gt[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    partner[chosen[rows]] = cols
    unmatched = np.setdiff1d(np.arange(m), cols)
    return partner, unmatched


def _assign_optimal_to_one_point(
    points: np.ndarray, gt: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact optimum when every ground-truth dot is the same point (a binary g).

    The optimum takes, up to m of them, every dot whose move to that point saves
    cost (:func:`take_order`), best first: O(n log n) instead of an (n + m)^2
    assignment.
    """
    n, m = len(points), len(gt)
    gain, saves = take_order(points, gt[0], "optimal")
    best = np.argsort(gain, kind="stable")[:m]
    chosen = best[saves[best]]
    partner = np.full(n, -1, np.int64)
    partner[chosen] = np.arange(len(chosen))
    return partner, np.arange(len(chosen), m)


def _assign_optimal(points: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = len(points), len(gt)
    partner = np.full(n, -1, np.int64)
    if n == 0 or m == 0:
        return partner, np.arange(m)
    if (gt == gt[0]).all():
        return _assign_optimal_to_one_point(points, gt)
    big = 1e12
    cost = np.full((n + m, m + n), big)
    cost[:n, :m] = ((points[:, None, :] - gt[None, :, :]) ** 2).sum(axis=2)
    cost[np.arange(n), m + np.arange(n)] = diagonal_cost(points)
    cost[n + np.arange(m), np.arange(m)] = diagonal_cost(gt)
    cost[n:, m:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    matched_gt = []
    for r, c in zip(rows, cols, strict=True):
        if r < n and c < m:
            partner[r] = c
            matched_gt.append(c)
    unmatched = np.setdiff1d(np.arange(m), np.asarray(matched_gt, np.int64))
    return partner, unmatched


def match(dgm_f: Diagram, dgm_g: Diagram, rule: str = "paper") -> Matching:
    """Match the dots of Dgm(f) to those of Dgm(g), dimension by dimension.

    Parameters
    ----------
    dgm_f, dgm_g : Diagram
        Diagrams of the likelihood and of the ground truth (same dimensions).
    rule : {"paper", "optimal"}
        ``"paper"``: the k dots nearest (0, 1) take the k ground-truth dots
        (Sec. 2.2). ``"optimal"``: the minimum-cost bijection with the diagonal.

    Returns
    -------
    Matching
        Per-dot partners and targets; ``Matching.loss`` is ``L_topo(f, g)``.

    Notes
    -----
    Eq. 2.2: ``L_topo(f, g) = sum_p ||p - gamma*(p)||^2``, where an unmatched dot's
    partner is its diagonal projection ``((x + y) / 2, (x + y) / 2)``. A ground-truth
    dot that no dot of f takes adds its own distance to the diagonal, so that
    ``L_topo = 0`` holds only when the two diagrams are equal (Theorem 1).
    The optimal rule never costs more than the paper rule.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.persistence import diagram
    >>> g = np.zeros((7, 7)); g[1:6, 1:6] = 1; g[2:5, 2:5] = 0
    >>> f = g * 0.9; f[1, 3] = 0.3          # a gap in the ring
    >>> m = match(diagram(f), diagram(g))
    >>> round(m.loss, 4)    # the ring's dot (0.1, 1) and the gap's hole (0.7, 1)
    0.5
    """
    for name, d in (("dgm_f", dgm_f), ("dgm_g", dgm_g)):
        if not isinstance(d, Diagram):  # betti_match takes images: an easy mix-up
            raise TypeError(
                f"{name} must be a Diagram (topoviz.persistence.diagram(f)); got "
                f"{type(d).__name__}. To match images, use match_images(f, g) or "
                "betti_match(f, g)"
            )
    if rule == "betti":
        raise ValueError(
            "rule 'betti' needs the images, not only their diagrams: use betti_match(f, g)"
        )
    if rule not in RULES:
        raise ValueError(
            f"rule must be one of {RULES} (or 'betti', through betti_match); got {rule!r}"
        )
    if dgm_f.frame != dgm_g.frame:
        raise ValueError(
            f"the diagrams were computed with different frames (f: frame={dgm_f.frame}, "
            f"g: frame={dgm_g.frame}); compute both the same way"
        )
    if tuple(dgm_f.shape) != tuple(dgm_g.shape):
        raise ValueError(
            f"the diagrams are of images of different shapes: f {tuple(dgm_f.shape)}, "
            f"g {tuple(dgm_g.shape)}"
        )
    missing = set(dgm_f.dims) ^ set(dgm_g.dims)
    if missing:
        raise ValueError(
            f"the diagrams hold different dimensions: f has {dgm_f.dims}, g has {dgm_g.dims}"
        )
    assign = _assign_paper if rule == "paper" else _assign_optimal
    dims = {}
    for k in dgm_f.dims:
        points = dgm_f[k].points
        gt = dgm_g[k].points
        partner, unmatched = assign(points, gt)
        targets = diagonal_projection(points)
        has = partner >= 0
        targets[has] = gt[partner[has]]
        dims[k] = DimMatching(k, points, targets, partner, gt, unmatched)
    return Matching(dims, rule)


# ------------------------------------------------------------------ Betti matching


def _betti_dims(
    pairs: np.ndarray,
    counts: np.ndarray,
    through: np.ndarray,
    values: tuple[np.ndarray, np.ndarray, np.ndarray],
    dgms: tuple[Diagram, Diagram, Diagram],
    dims: tuple[int, ...],
) -> dict[int, DimMatching]:
    """The Betti matching of one patch from its sweep output and the diagrams of f,
    g and c."""
    out = {}
    n = len(values[0])
    for k in dims:
        prs = [pairs[3 * k + s, : counts[3 * k + s]] for s in range(3)]
        # a bar is named by a pixel that no other bar of its diagram shares: its
        # birth in dimension 0 (a component's maximum), its death in dimension 1
        # (a hole's minimum); ``through`` is indexed by that pixel
        end = 0 if k == 0 else 1
        key_f, key_g, key_c = (p[:, end] for p in prs)
        c_of_f = through[2 * k][key_f] if len(key_f) else np.zeros(0, np.int64)
        c_of_g = through[2 * k + 1][key_g] if len(key_g) else np.zeros(0, np.int64)
        g_at = np.full(n, -1, np.int64)  # which dot of g goes through the bar named c
        ok = c_of_g >= 0
        g_at[c_of_g[ok]] = np.flatnonzero(ok)
        c_at = np.full(n, -1, np.int64)
        c_at[key_c] = np.arange(len(key_c))
        has_c = c_of_f >= 0
        partner = np.full(len(key_f), -1, np.int64)
        partner[has_c] = g_at[c_of_f[has_c]]
        matched = partner >= 0
        via = np.full(len(key_f), -1, np.int64)
        via[matched] = c_at[c_of_f[matched]]
        via_points = np.full((len(key_f), 2), np.nan)
        c_points = dgms[2][k].points
        drawn = via >= 0
        via_points[drawn] = c_points[via[drawn]]
        flat = matched & ~drawn  # a bar of c with zero persistence: a diagonal point
        via_points[flat] = 1.0 - values[2][c_of_f[flat], None]
        points = dgms[0][k].points
        gt = dgms[1][k].points
        targets = diagonal_projection(points)
        targets[matched] = gt[partner[matched]]
        unmatched = np.setdiff1d(np.arange(len(gt)), partner[matched])
        out[k] = DimMatching(k, points, targets, partner, gt, unmatched, via, via_points)
    return out


def betti_matches(
    f: np.ndarray,
    g: np.ndarray,
    frame: bool = True,
    dims: tuple[int, ...] | list[int] = (0, 1),
) -> list[Matching]:
    """:func:`betti_match` of a stack of equally sized patches, in parallel.

    Parameters
    ----------
    f, g : array_like, shape (B, H, W)
        Likelihoods and ground truths in [0, 1].
    frame, dims
        As in :func:`betti_match`.

    Returns
    -------
    list of Matching
        One per patch, equal to ``[betti_match(a, b, frame, dims) for a, b in zip(f, g)]``.
    """
    from topoviz.persistence import _diagrams_from_sweeps

    S, (hh, ww), dims, out = _betti_sweeps(f, g, frame, dims)
    if S is None:
        return []
    pairs, counts, through, gp, gv = out
    b = S.shape[1]
    # each image's diagrams, as the persistence module builds a batch's (counts
    # column 3 d + s: image s in dimension d)
    dgms = [
        _diagrams_from_sweeps((hh, ww), frame, dims, counts[:, [s, 3 + s]], gp[s], gv[s])
        for s in range(3)
    ]
    out = []
    for j in range(b):
        values = (S[0, j].ravel(), S[1, j].ravel(), S[2, j].ravel())
        dgm_f, dgm_g, dgm_c = (dgms[s][j] for s in range(3))
        per_dim = _betti_dims(pairs[j], counts[j], through[j], values, (dgm_f, dgm_g, dgm_c), dims)
        out.append(Matching(per_dim, "betti", dgm_f, dgm_g, dgm_c))
    return out


def _betti_sweeps(f, g, frame: bool, dims) -> tuple:
    """Check a stack of f and g, frame both, add the comparison image and run the
    compiled sweeps (:func:`topoviz.induced.sweeps`). Returns the stack ``S`` (f, g,
    max(f, g); None for an empty batch), the patch shape, the checked dimensions
    and what the sweeps return."""
    from topoviz.induced import sweeps
    from topoviz.persistence import _as_array, _check_dims, _check_frame, _check_likelihood

    fa, ga = _as_array(f, "f"), _as_array(g, "g")
    if fa.ndim != 3 or fa.shape != ga.shape:
        raise ValueError(
            f"f and g must be stacks of the same shape B x H x W; got {fa.shape} and {ga.shape}"
        )
    if fa.shape[0] and (fa.shape[1] < 1 or fa.shape[2] < 1):
        raise ValueError(f"f and g are empty patches (shape {fa.shape})")
    frame = _check_frame(frame)
    dims = _check_dims(dims)
    b, hh, ww = fa.shape
    if b == 0:
        return None, (hh, ww), dims, None
    fa = _check_likelihood(fa.reshape(b * hh, ww), "f").reshape(b, hh, ww)
    ga = _check_likelihood(ga.reshape(b * hh, ww), "g").reshape(b, hh, ww)
    fr = 1 if frame else 0
    S = np.ones((3, b, hh + 2 * fr, ww + 2 * fr))  # the frame: value 1
    S[0, :, fr : fr + hh, fr : fr + ww] = fa
    S[1, :, fr : fr + hh, fr : fr + ww] = ga
    np.maximum(S[0], S[1], out=S[2])
    return S, (hh, ww), dims, sweeps(S, 0 in dims, 1 in dims)


def betti_targets(
    f: np.ndarray,
    g: np.ndarray,
    frame: bool = True,
    dims: tuple[int, ...] | list[int] = (0, 1),
) -> tuple[dict[int, tuple[np.ndarray, ...]], float]:
    """The Betti matching of a stack of patches as flat arrays, for the loss: the
    same partners and targets as :func:`betti_matches`, without a :class:`Matching`
    or :class:`~topoviz.persistence.Diagram` per patch.

    Returns
    -------
    per_dim : dict
        For each dimension ``(points, birth_pixel, death_pixel, patch, targets)``:
        the dots of Dgm(f) of every patch one after the other (in the order of
        :func:`betti_matches`), the patch of each and where the loss pulls it.
    constant : float
        The distance-to-diagonal cost of the ground-truth dots that no dot of f
        took, summed over patches and dimensions (``unmatched_cost``).
    """
    S, shape, dims, out = _betti_sweeps(f, g, frame, dims)
    if S is None:
        return {}, 0.0
    return _flat_targets(shape, frame, dims, out)


def _flat_targets(shape, frame: bool, dims, out) -> tuple[dict, float]:
    """:func:`betti_targets` from the sweeps' output ``out`` of patches of ``shape``."""
    from topoviz.persistence import _dots_arrays

    pairs, counts, through, gp, gv = out
    b, n = through.shape[0], through.shape[2]
    slot = np.arange(pairs.shape[2])
    per_dim, constant = {}, 0.0
    for k in dims:
        end = 0 if k == 0 else 1  # the pixel that names a bar (as in _betti_dims)
        dots = []
        for s in range(2):  # f, then g: their dots and the bar of c each reaches
            cnt = counts[:, 3 * k + s]
            points, birth, death, _, _, offsets = _dots_arrays(
                shape, frame, cnt, gp[s][k], gv[s][k]
            )
            patch = np.repeat(np.arange(b), cnt)
            key = pairs[:, 3 * k + s, :, end][slot[None, :] < cnt[:, None]]
            c_of = through[patch, 2 * k + s, key] if len(key) else np.zeros(0, np.int64)
            dots.append((points, birth, death, patch, c_of))
        points, birth, death, patch, c_of_f = dots[0]
        gt, _, _, patch_g, c_of_g = dots[1]
        g_at = np.full((b, n), -1, np.int64)  # which dot of g reaches each bar of c
        ok = c_of_g >= 0
        g_at[patch_g[ok], c_of_g[ok]] = np.flatnonzero(ok)
        partner = np.full(len(points), -1, np.int64)
        has = c_of_f >= 0
        partner[has] = g_at[patch[has], c_of_f[has]]
        matched = partner >= 0
        targets = diagonal_projection(points)
        targets[matched] = gt[partner[matched]]
        taken = np.zeros(len(gt), bool)
        taken[partner[matched]] = True
        constant += float(diagonal_cost(gt[~taken]).sum())
        per_dim[k] = (points, birth, death, patch, targets)
    return per_dim, constant


def betti_match(
    f: np.ndarray,
    g: np.ndarray,
    frame: bool = True,
    dims: tuple[int, ...] | list[int] = (0, 1),
) -> Matching:
    """Betti matching of Dgm(f) to Dgm(g): partners are features at the same place.

    Parameters
    ----------
    f : array_like, shape (H, W)
        Likelihood in [0, 1].
    g : array_like, shape (H, W)
        Ground truth (binary, or any likelihood in [0, 1]).
    frame : bool
        Pad a one-pixel frame of value 1 to both (relative homology, Sec. 2.3).
    dims : sequence of int
        Homology dimensions, a subset of ``(0, 1)``.

    Returns
    -------
    Matching
        ``rule == "betti"``; per dimension the partner of every dot of Dgm(f) (a dot
        of Dgm(g), or -1 for the diagonal), the targets and costs of Eq. 2.2, and
        ``via`` / ``via_points``: the bar of ``max(f, g)`` each pair goes through.
        ``diagram_f``, ``diagram_g`` and ``comparison`` hold the three diagrams.

    Notes
    -----
    Superlevel sets of ``f`` and ``g`` lie in those of the comparison image
    ``c = max(f, g)``. The inclusions ``f >= a -> c >= a`` induce maps in homology;
    the induced matching of each map (Bauer & Lesnick) pairs a bar of ``f`` with a
    bar of ``c`` through the image persistence module (same birth on one side, same
    death on the other). A dot of Dgm(f) and a dot of Dgm(g) are matched when both
    reach the same bar of Dgm(c) [2]_. The loss is Eq. 2.2 with this matching: a
    matched dot is pulled to its partner, an unmatched one to the diagonal, and an
    unmatched dot of Dgm(g) adds its (constant) distance to the diagonal. Where the
    paper's rule pulls the k dots nearest (0, 1) up wherever they lie, this rule
    pulls up only a feature that overlaps one of the ground truth.

    Dimension 1 is computed on the complements by Alexander duality; both are
    union-find sweeps (see :mod:`topoviz.induced`).

    References
    ----------
    .. [1] U. Bauer, M. Lesnick. Induced matchings and the algebraic stability of
       persistence barcodes. J. Comput. Geom. 6(2), 2015.
    .. [2] N. Stucki, J. C. Paetzold, S. Shit, B. Menze, U. Bauer. Topologically
       faithful image segmentation via induced matching of persistence barcodes.
       ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.zeros((9, 9)); g[1:4, 1:4] = 1          # one blob, top left
    >>> near = np.zeros((9, 9)); near[2:5, 2:5] = 0.8  # a blob that overlaps it
    >>> far = np.zeros((9, 9)); far[5:8, 5:8] = 0.8    # the same blob far away
    >>> m = betti_match(near, g)   # dots of dimension 0: the blob, then the frame
    >>> m[0].partner.tolist()      # the blob is pulled to g's blob
    [0, 1]
    >>> m = betti_match(far, g)
    >>> m[0].partner.tolist(), m[0].targets[0].tolist()  # to the diagonal, pushed down
    ([-1, 1], [0.6, 0.6])
    """
    fa, ga = _as_array(f, "f"), _as_array(g, "g")
    if fa.ndim != 2 or fa.shape != ga.shape:
        raise ValueError(f"f and g must be H x W of the same shape; got {fa.shape} and {ga.shape}")
    return betti_matches(fa[None], ga[None], frame, dims)[0]


def match_images(
    f: np.ndarray,
    g: np.ndarray,
    frame: bool = True,
    rule: str = "paper",
    dims: tuple[int, ...] | list[int] = (0, 1),
) -> tuple[Diagram, Diagram, Matching]:
    """``(Dgm(f), Dgm(g), matching)`` of two images under any rule of :data:`ALL_RULES`.

    The one place that knows that ``"betti"`` matches through the images
    (:func:`betti_match`) while the other rules match the two diagrams (:func:`match`).

    Examples
    --------
    >>> import numpy as np
    >>> g = np.zeros((7, 7)); g[1:6, 1:6] = 1; g[2:5, 2:5] = 0
    >>> f = g * 0.9; f[1, 3] = 0.3          # a gap in the ring
    >>> [round(match_images(f, g, rule=r)[2].loss, 4) for r in ALL_RULES]
    [0.5, 0.5, 0.5]
    """
    fa, ga = _as_array(f, "f"), _as_array(g, "g")
    if fa.shape != ga.shape:
        raise ValueError(f"f and g must have the same shape; got {fa.shape} and {ga.shape}")
    if rule == "betti":
        m = betti_match(fa, ga, frame, dims=dims)
        return m.diagram_f, m.diagram_g, m
    dgm_f, dgm_g = diagram(fa, frame, dims), diagram(ga, frame, dims)
    return dgm_f, dgm_g, match(dgm_f, dgm_g, rule)
