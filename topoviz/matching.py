"""Matching Dgm(f) to Dgm(g): the partner of every dot and the cost of Eq. 2.2.

Two rules, per homology dimension (footnote 5: dimensions are matched apart):

* ``"paper"`` (Sec. 2.2): the k ground-truth dots (k = the Betti number) take the
  k dots of Dgm(f) nearest the corner (0, 1); every other dot of Dgm(f) goes to
  its diagonal projection. O(n log n).
* ``"optimal"``: the exact minimum-cost bijection in which any dot may go to the
  diagonal (squared 2-Wasserstein distance), solved as an assignment problem, or
  in O(n log n) when all ground-truth dots coincide (any binary ground truth).

Both give one :class:`Matching` whose per-dot ``targets`` are what the loss pulls
each dot towards and what the force pictures draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from topoviz.persistence import Diagram

__all__ = ["DimMatching", "Matching", "match", "diagonal_projection", "RULES"]

RULES = ("paper", "optimal")
CORNER = np.array([0.0, 1.0])  # p_ul: where every dot of a binary ground truth sits


def diagonal_projection(points: np.ndarray) -> np.ndarray:
    """Nearest point on the diagonal: ``((x + y) / 2, (x + y) / 2)``."""
    points = np.asarray(points, float).reshape(-1, 2)
    mid = points.mean(axis=1)
    return np.stack([mid, mid], axis=1)


def _to_diagonal_cost(points: np.ndarray) -> np.ndarray:
    """Squared distance of each dot to the diagonal, ``(y - x)^2 / 2``."""
    points = np.asarray(points, float).reshape(-1, 2)
    return 0.5 * (points[:, 1] - points[:, 0]) ** 2


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
        Ground-truth dots that no dot of Dgm(f) took (f has too few dots).
    """

    dim: int
    points: np.ndarray
    targets: np.ndarray
    partner: np.ndarray
    gt_points: np.ndarray
    unmatched_gt: np.ndarray

    @property
    def dot_cost(self) -> np.ndarray:
        """``||p - gamma*(p)||^2`` for every dot of Dgm(f) (the terms of Eq. 2.2)."""
        return ((self.points - self.targets) ** 2).sum(axis=1)

    @property
    def unmatched_cost(self) -> float:
        """Distance-to-diagonal cost of the ground-truth dots left without partner.

        Constant in ``f``; without it the loss could be 0 while the topology differs.
        """
        return float(_to_diagonal_cost(self.gt_points[self.unmatched_gt]).sum())

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
    """Matching of Dgm(f) to Dgm(g), per dimension; ``loss`` is L_topo (Eq. 2.2)."""

    dims: dict[int, DimMatching]
    rule: str

    def __getitem__(self, dim: int) -> DimMatching:
        return self.dims[dim]

    @property
    def loss(self) -> float:
        return float(sum(m.cost for m in self.dims.values()))


def _assign_paper(points: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = len(points), len(gt)
    partner = np.full(n, -1, np.int64)
    k = min(n, m)
    if k == 0:
        return partner, np.arange(m)
    dist = ((points - CORNER) ** 2).sum(axis=1)
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

    Sending dot i to the common point q instead of the diagonal changes the cost by
    ``||p_i - q||^2 - diag(p_i) - diag(q)`` (the GT dot it takes no longer pays its
    own diagonal cost). The optimum takes, up to m of them, every dot for which this
    saving is negative, best first: O(n log n) instead of an (n + m)^2 assignment.
    """
    n, m = len(points), len(gt)
    gain = (
        ((points - gt[0]) ** 2).sum(axis=1)
        - _to_diagonal_cost(points)
        - _to_diagonal_cost(gt[:1])[0]
    )
    best = np.argsort(gain, kind="stable")[:m]
    chosen = best[gain[best] < 0]
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
    cost[np.arange(n), m + np.arange(n)] = _to_diagonal_cost(points)
    cost[n + np.arange(m), np.arange(m)] = _to_diagonal_cost(gt)
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
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}")
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
