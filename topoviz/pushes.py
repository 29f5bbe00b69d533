"""Where the loss pushes, and whether each push lands right (the pinhole picture).

The gradient of Eq. 2.3 moves only critical pixels: ``f(c)`` goes up when its
target is above it and down when below. A push *lands right* when it moves the
pixel towards the ground truth there: up on the true structure (a saddle raised on
a true membrane closes a real gap), down off it (a minimum dug inside a true cell,
a spurious blob pushed down). A push up off the structure digs nothing useful: it
builds a wall or a blob that is not there; a push down on the structure makes a
pinhole in a true membrane.

Also: where two matching rules disagree on a dot, and a small example where the
paper's rule and Betti matching pull opposite ways.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from topoviz.loss import CriticalTargets
from topoviz.matching import Matching

__all__ = ["Landings", "push_landings", "disagreements", "spurious_blob_example"]


@dataclass(frozen=True)
class Landings:
    """One row per critical pixel that the loss moves.

    Attributes
    ----------
    pixel : ndarray (k, 2) int
        ``(row, col)`` in ``f``.
    up : ndarray (k,) bool
        True where the pixel is pushed up (its target is above ``f(c)``).
    right : ndarray (k,) bool
        True where the push moves ``f(c)`` towards the ground truth at ``c``.
    dim, dot : ndarray (k,) int
        The dot the pixel belongs to (as in :class:`~topoviz.loss.CriticalTargets`).
    end : ndarray (k,) str
        ``"birth"`` or ``"death"``.
    size : ndarray (k,)
        ``|target - f(c)|``: how far the pixel is pulled.
    """

    pixel: np.ndarray
    up: np.ndarray
    right: np.ndarray
    dim: np.ndarray
    dot: np.ndarray
    end: np.ndarray
    size: np.ndarray

    def __len__(self) -> int:
        return len(self.up)

    def counts(self, dim: int | None = None) -> dict[str, int]:
        """``{"up, right": n, "up, wrong": n, "down, right": n, "down, wrong": n}``."""
        keep = np.ones(len(self.up), bool) if dim is None else self.dim == dim
        up, right = self.up[keep], self.right[keep]
        return {
            "up, right": int(np.count_nonzero(up & right)),
            "up, wrong": int(np.count_nonzero(up & ~right)),
            "down, right": int(np.count_nonzero(~up & right)),
            "down, wrong": int(np.count_nonzero(~up & ~right)),
        }


def push_landings(
    f: np.ndarray,
    g: np.ndarray,
    ct: CriticalTargets,
    matching: Matching | None = None,
    min_push: float = 0.0,
    diagonal_over: float | None = None,
) -> Landings:
    """Classify every push of the loss as landing right or wrong.

    Parameters
    ----------
    f : ndarray (H, W)
        The likelihood the targets were computed on.
    g : ndarray (H, W)
        Ground truth (True / values ≥ 0.5 = the structure).
    ct : CriticalTargets
        From :func:`topoviz.loss.critical_targets` with any matching rule.
    matching : Matching, optional
        The matching ``ct`` came from: when given, only the pushes of dots pulled
        towards a ground-truth dot are kept (not those sent to the diagonal).
    min_push : float
        Keep only pushes with ``|target - f(c)| > min_push``.
    diagonal_over : float, optional
        With ``matching``: also keep the pushes of the dots sent to the diagonal
        whose force ``2 |target - f(c)|`` (minus Eq. 2.3's gradient, as Landscape
        measures it) is larger than this (the pulled dots' pushes stay, as above).

    Returns
    -------
    Landings
        Only the pixels whose target differs from ``f(c)`` by more than ``min_push``
        (a push of size 0 is no push).

    Notes
    -----
    Eq. 2.3: ``dL/df(c) = 2 (f(c) - target)``, so gradient descent raises ``f(c)``
    when ``target > f(c)``. The push lands right when it agrees with the ground
    truth at ``c``: up where ``g(c) = 1``, down where ``g(c) = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.loss import critical_targets
    >>> from topoviz.matching import betti_match
    >>> g = np.zeros((9, 9)); g[1:4, 1:4] = 1
    >>> f = np.zeros((9, 9)); f[5:8, 5:8] = 0.8           # a blob in the wrong place
    >>> m = betti_match(f, g)
    >>> push_landings(f, g, critical_targets(m.diagram_f, m)).counts(0)  # to the diagonal:
    {'up, right': 0, 'up, wrong': 1, 'down, right': 1, 'down, wrong': 0}

    The blob's maximum goes down (right: no truth there); its death pixel, where it
    joins the background, goes up (wrong), as every dot sent to the diagonal does.
    """
    f = np.asarray(f, float)
    truth = np.asarray(g) >= 0.5
    r, c = ct.pixel[:, 0], ct.pixel[:, 1]
    gap = ct.target - f[r, c]
    moved = np.abs(gap) > min_push
    if matching is not None:
        pulled = np.zeros(len(gap), bool)
        for k in matching.dims:
            here = ct.dim == k
            pulled[here] = matching[k].partner[ct.dot[here]] >= 0
        if diagonal_over is None:
            moved &= pulled
        else:
            moved &= pulled | (2 * np.abs(gap) > diagonal_over)
    up = gap[moved] > 0
    on = truth[r[moved], c[moved]]
    return Landings(
        ct.pixel[moved],
        up,
        up == on,
        ct.dim[moved],
        ct.dot[moved],
        ct.end[moved],
        np.abs(gap[moved]),
    )


def disagreements(a: Matching, b: Matching) -> dict[int, np.ndarray]:
    """Dots of Dgm(f) that one rule pulls to a ground-truth dot and the other sends
    to the diagonal, per dimension (both matchings of the same Dgm(f)).

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.matching import betti_match, match
    >>> f, g = spurious_blob_example()
    >>> m = betti_match(f, g)
    >>> disagreements(match(m.diagram_f, m.diagram_g, "paper"), m)[0].tolist()
    [0, 1]
    """
    out = {}
    for k in a.dims:
        pa, pb = a[k].partner >= 0, b[k].partner >= 0
        if len(pa) != len(pb):
            raise ValueError(f"the matchings hold different Dgm(f) in dimension {k}")
        out[k] = np.flatnonzero(pa != pb)
    return out


def spurious_blob_example(size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """``(f, g)`` where the rules disagree: a bright blob where the truth has none,
    a faint one where it has one.

    The ground truth holds one blob. ``f`` is bright (0.85) on a spurious blob far
    from it and faint (0.35) on the true blob's place. The paper's rule pulls the
    dot nearest (0, 1), the spurious blob, up and pushes the true one down; Betti
    matching pulls the faint blob up (it lies on the true one) and pushes the
    spurious one down.
    """
    s = int(size)
    if s < 12:
        raise ValueError(f"size must be at least 12; got {size}")
    q = s // 8
    g = np.zeros((s, s))
    g[q : 3 * q, q : 3 * q] = 1.0
    yy, xx = np.mgrid[0:s, 0:s]
    f = 0.02 + 0.06 * (yy + xx) / (2 * s)  # a ramp: no blob of its own
    f[q + 1 : 3 * q + 1, q + 1 : 3 * q + 1] = 0.35  # faint, on the true blob
    f[s - 4 * q : s - 2 * q, s - 4 * q : s - 2 * q] = 0.85  # bright, where there is nothing
    return f, g
