"""Paired comparison of two methods scored on the same images.

A method is compared with its control (the same pretrained net, batches and
steps, λ = 0) image by image: the per-image differences, how many images got
better and how many worse, and the Wilcoxon signed-rank test of the differences.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import wilcoxon

__all__ = ["paired_comparison"]


def paired_comparison(
    control: Sequence[float], method: Sequence[float], higher_is_better: bool = False
) -> dict[str, float | int]:
    """Per-image differences ``method - control`` and the Wilcoxon signed-rank test.

    Parameters
    ----------
    control, method : sequence of float
        One number per image, in the same image order.
    higher_is_better : bool
        Accuracy and ARI: True; errors and counts: False.

    Returns
    -------
    dict
        ``control`` and ``method`` (means), ``diff`` (mean of ``method - control``),
        ``better``, ``worse``, ``same`` (images), ``p`` (two-sided Wilcoxon
        signed-rank p-value, zero differences dropped; 1.0 when every difference
        is zero), ``n``.

    Notes
    -----
    ``scipy.stats.wilcoxon(d, zero_method="wilcox")``: the ranks of ``|d_i|`` over
    the non-zero differences, the statistic the smaller of the positive and
    negative rank sums. With scipy ≥ 1.15 (as requirements.txt asks) the p-value is
    exact for up to 50 differences without ties, exact by enumerating every sign
    flip for up to 13 with ties, and the normal approximation (tie-corrected)
    otherwise; scipy 1.13-1.14 took the approximation wherever ranks tied, which
    moves the published p-values of small tied samples (models/README.md).

    Examples
    --------
    >>> r = paired_comparison([3, 2, 4, 1, 5, 2], [1, 1, 2, 1, 3, 0])
    >>> r["better"], r["worse"], r["same"], r["diff"]
    (5, 0, 1, -1.5)
    >>> round(r["p"], 4)
    0.0625
    """
    a = np.asarray(control, np.float64)
    b = np.asarray(method, np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise ValueError(f"need two equal, non-empty lists; got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("the scores must be finite numbers")
    d = b - a
    sign = 1 if higher_is_better else -1
    nonzero = d[d != 0]
    p = 1.0 if nonzero.size == 0 else float(wilcoxon(nonzero, zero_method="wilcox").pvalue)
    return {
        "control": float(a.mean()),
        "method": float(b.mean()),
        "diff": float(d.mean()),
        "better": int((sign * d > 0).sum()),
        "worse": int((sign * d < 0).sum()),
        "same": int((d == 0).sum()),
        "p": p,
        "n": int(d.size),
    }
