"""The working resolution: interactive views get at most :data:`MAX_SIDE` pixels a side.

A 4000 × 4000 photo would take minutes per view (persistence, matching, every
figure) and hundreds of MB of plot data. The sidebar therefore hands the pages a
crop of at most ``MAX_SIDE × MAX_SIDE`` (the default: thin structures stay as they
are) or the whole image downscaled (:func:`fit`), with a notice that says which.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

#: Longest side the interactive views work on.
MAX_SIDE = 1024
_WORK_ON = "the interactive views work on"  # in every notice of :func:`fit`


def fitted_notice(notices) -> str | None:
    """Of a selection's notices, the one that says it was cropped or downscaled.

    >>> fitted_notice(["RGB made grey.", fit(np.zeros((2000, 10)), None)[2]])[:24]
    'The image is 10×2000 pix'
    >>> fitted_notice(["RGB made grey."]) is None
    True
    """
    return next((n for n in notices if _WORK_ON in n), None)


CROP, DOWNSCALE = "crop", "downscale"


def fit(
    image: np.ndarray,
    mask: np.ndarray | None,
    how: str = CROP,
    corner: tuple[int, int] = (0, 0),
    max_side: int = MAX_SIDE,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``(image, mask, notice)`` at most ``max_side`` pixels a side.

    ``how="crop"`` keeps the ``max_side × max_side`` window whose top-left corner is
    ``corner`` (moved inside the image); ``how="downscale"`` averages blocks of
    ``k × k`` pixels (the smallest integer ``k`` that fits) and marks a mask
    pixel as structure when any pixel of its block is, so thin structures stay
    visible (they become thicker). ``notice`` is "" when the image already fits.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((3000, 2000), np.float32)
    >>> fit(image, None)[0].shape
    (1024, 1024)
    >>> small, _, notice = fit(image, None, how="downscale")
    >>> small.shape, notice.startswith("The image is 2000×3000")
    ((1000, 667), True)
    """
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image, mask, ""
    size = f"The image is {w}×{h} pixels (width×height); {_WORK_ON} at most {max_side}×{max_side}"
    if how == DOWNSCALE:
        k = math.ceil(max(h, w) / max_side)
        small = _blocks(image, k).mean(axis=(1, 3)).astype(image.dtype, copy=False)
        small_mask = None if mask is None else _blocks(mask, k).any(axis=(1, 3))
        sh, sw = small.shape[:2]
        return (
            small,
            small_mask,
            f"{size}: showing it downscaled {k}× ({sw}×{sh}); thin structures look thicker.",
        )
    r = min(max(int(corner[0]), 0), max(h - max_side, 0))
    c = min(max(int(corner[1]), 0), max(w - max_side, 0))
    window = (slice(r, r + max_side), slice(c, c + max_side))
    crop = image[window]
    ch, cw = crop.shape[:2]
    return (
        np.ascontiguousarray(crop),
        None if mask is None else np.ascontiguousarray(mask[window]),
        f"{size}: showing the {cw}×{ch} crop from row {r}, column {c}.",
    )


def _blocks(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` (H, W[, C]) padded by edge values to multiples of ``k``, as blocks
    ``(H/k, k, W/k, k[, C])``."""
    h, w = a.shape[:2]
    ph, pw = -h % k, -w % k
    pad = [(0, ph), (0, pw)] + [(0, 0)] * (a.ndim - 2)
    a = np.pad(a, pad, mode="edge")
    return a.reshape(a.shape[0] // k, k, a.shape[1] // k, k, *a.shape[2:])


def choose(
    key: str, image: np.ndarray | None, mask: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """In the sidebar: ``image`` and ``mask`` at the working resolution, with the
    notice and the widgets that pick a crop (or downscaling) when it is too large.
    ``key`` names the image, so each new image starts at the top-left crop."""
    if image is None or max(image.shape[:2]) <= MAX_SIDE:
        return image, mask, []
    h, w = image.shape[:2]
    key = f"{key}:{h}x{w}"
    how = st.radio(
        "Large image: work on",
        [CROP, DOWNSCALE],
        format_func={CROP: f"a {MAX_SIDE}² crop", DOWNSCALE: "the whole image, downscaled"}.get,
        key=f"_fit_how:{key}",
        horizontal=True,
    )
    corner = (0, 0)
    if how == CROP:
        corner = (
            st.slider("Crop: first row", 0, max(h - MAX_SIDE, 0), 0, step=16, key=f"_fit_r:{key}")
            if h > MAX_SIDE
            else 0,
            st.slider(
                "Crop: first column", 0, max(w - MAX_SIDE, 0), 0, step=16, key=f"_fit_c:{key}"
            )
            if w > MAX_SIDE
            else 0,
        )
    image, mask, notice = fit(image, mask, how, corner)
    st.warning(notice)
    return image, mask, [notice]
