"""The filtration step by step: the exact levels where something happens, labelled
for people, and a sharpness (temperature) for a saturated likelihood.

Pure functions on a :class:`~topoviz.persistence.Diagram` or an array; the
Classroom, Filtration and Lesson pages draw what they return.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from topoviz.persistence import Diagram

__all__ = ["event_levels", "level_labels", "saturation", "sharpen"]


def event_levels(
    dgm: Diagram, min_persistence: float = 0.05, extra: Sequence[float] = (1.0, 0.5, 0.0)
) -> list[float]:
    """The exact thresholds α where a persistent class is born or dies, from 1 to 0.

    Each level is a value of ``f`` itself (no rounding), so ``f >= level`` shows
    the event: a class born at ``b`` is there at ``α = b``, one that dies at ``d``
    is gone at ``α = d``. Two events at 0.40039 and 0.40005 stay two steps.

    Parameters
    ----------
    dgm : Diagram
        The diagram of ``f``.
    min_persistence : float
        Dots with less persistence are left out (they are noise at this scale).
    extra : sequence of float
        Levels always included (the ends and the paper's 0.5).

    Returns
    -------
    list of float
        Distinct levels in [0, 1], decreasing.

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.persistence import diagram
    >>> f = np.array([[0.92552, 0.1, 0.40039], [0.1, 0.1, 0.1], [0.40005, 0.1, 0.7]])
    >>> event_levels(diagram(f, frame=False), extra=())
    [0.92552, 0.7, 0.40039, 0.40005, 0.1]
    """
    ev: set[float] = {float(a) for a in extra}
    for k in dgm.dims:
        d = dgm[k]
        keep = d.persistence > min_persistence
        ev.update(float(a) for a in d.birth[keep])
        ev.update(float(a) for a in d.death[keep & ~d.essential])
    return sorted((a for a in ev if 0.0 <= a <= 1.0), reverse=True)


def level_labels(levels: Sequence[float], decimals: int = 3) -> list[str]:
    """Short labels of ``levels``: ``decimals`` places, more where two would read alike.

    Examples
    --------
    >>> level_labels([1.0, 0.92552, 0.40039, 0.40005, 0.0])
    ['1.000', '0.926', '0.4004', '0.4001', '0.000']
    """
    levels = [float(a) for a in levels]
    places = [decimals] * len(levels)
    for i in range(len(levels)):
        for j in (i - 1, i + 1):
            if 0 <= j < len(levels) and levels[i] != levels[j]:
                p = places[i]
                while p <= 17 and f"{levels[i]:.{p}f}" == f"{levels[j]:.{p}f}":
                    p += 1
                places[i] = max(places[i], p)
    # beyond 17 places (tiny numbers) fall back to the shortest exact form
    out = []
    for a, p in zip(levels, places, strict=True):
        if p <= 17:
            out.append(f"{a:.{p}f}")
        else:  # tiny numbers: 0 keeps its short form, the other its exact one (1e-151)
            out.append(f"{a:.{decimals}f}" if a == 0 else repr(a))
    return out


def saturation(dgm: Diagram, min_persistence: float = 0.05, margin: float = 0.05) -> float:
    """Share of the persistent events that happen within ``margin`` of 0 or 1.

    A trained net's ``f`` is saturated: nearly every birth and death lies above
    0.95 or below 0.05, so a barcode is a solid block and an α sweep shows
    nothing between. Near 1 this says: sharpen (:func:`sharpen` with ``t > 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from topoviz.persistence import diagram
    >>> f = np.array([[0.99, 0.0, 0.98], [0.0, 0.0, 0.0], [0.97, 0.0, 0.5]])
    >>> round(saturation(diagram(f, frame=False)), 2)
    0.8
    """
    levels = np.array(event_levels(dgm, min_persistence, extra=()))
    if len(levels) == 0:
        return 0.0
    return float(np.mean((levels > 1 - margin) | (levels < margin)))


def sharpen(f: np.ndarray, t: float) -> np.ndarray:
    """``sigmoid(logit(f) / t)``: the same ordering of pixels, levels spread by ``t > 1``.

    A monotone change of the threshold scale: every superlevel set of the result
    is a superlevel set of ``f``, so the diagram has the same dots and critical
    pixels, only at new levels. ``t = 1`` returns ``f`` (as float64).

    Examples
    --------
    >>> import numpy as np
    >>> sharpen(np.array([0.5, 0.999, 0.001]), 4.0).round(3).tolist()
    [0.5, 0.849, 0.151]
    """
    x = np.clip(np.asarray(f, np.float64), 0.0, 1.0)
    if t == 1.0:
        return x
    if not t > 0 or not np.isfinite(t):  # NaN passed "t <= 0" and gave an f of NaN
        raise ValueError(f"the temperature t must be a finite number > 0; got {t}")
    with np.errstate(divide="ignore"):
        logit = np.log(x) - np.log1p(-x)
    return 1.0 / (1.0 + np.exp(-logit / t))


def unsharpen_level(alpha: float, t: float) -> float:
    """The level of ``f`` that :func:`sharpen` maps to ``alpha``: ``sharpen(f, t) >= alpha``
    exactly where ``f >= unsharpen_level(alpha, t)`` (up to rounding).

    Examples
    --------
    >>> round(unsharpen_level(0.38, 4.0), 3), unsharpen_level(0.5, 4.0), unsharpen_level(1.0, 4.0)
    (0.124, 0.5, 1.0)
    """
    if alpha <= 0.0 or alpha >= 1.0 or t == 1.0:
        return float(alpha)
    return float(1.0 / (1.0 + np.exp(-t * (np.log(alpha) - np.log1p(-alpha)))))
