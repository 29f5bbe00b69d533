"""Run a segmentation net on an image of any size: the likelihood ``f``."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["predict"]


def _spans(n: int, tile: int, overlap: int, grid: int) -> list[tuple[int, int]]:
    """Tiles ``[start, stop)`` along one axis, covering ``0 .. n``.

    Starts are multiples of ``grid`` (the net's ``pooling_grid``), so each tile
    is pooled on the same grid as the whole image; the last tile runs to the end
    and may be up to ``grid - 1`` pixels longer than ``tile``.
    """
    if n <= tile:
        return [(0, n)]
    step = max(grid, (tile - overlap) // grid * grid)
    last = (n - tile) // grid * grid
    starts = [*range(0, last, step), last]
    return [(s, min(s + tile, n)) for s in starts[:-1]] + [(last, n)]


def _ramp(n: int, before: int, after: int) -> np.ndarray:
    """Blending weight along one tile axis; ``before`` / ``after``: how many pixels
    the tile shares with its neighbour on that side (0 on the image border, where
    the tile keeps full weight: no other tile covers it).

    Across a shared stretch of ``L`` pixels the weight is 0 on the third nearest the
    tile's edge, rises linearly over the middle third and is 1 beyond. A tile's
    prediction is wrong near its edge, where the net's receptive field reaches into
    zero padding instead of the image; a weight rising from the edge itself (over a
    fixed 32 px) had kept some of that: seams of 0.13-0.58 in f on 600² and 1000² images
    (``bench/bench_tiling.py``).

    Examples
    --------
    >>> _ramp(9, 0, 6).round(2).tolist()   # shares 6 px after: 0 on the last 2
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.75, 0.25, 0.0, 0.0]
    """
    w = np.ones(n)
    i = np.arange(n) + 0.5  # pixel centres from the tile's start
    for shared, dist in ((before, i), (after, n - i)):
        if shared > 0:
            band = shared / 3
            w = np.minimum(w, np.clip((dist - band) / max(shared - 2 * band, 1.0), 0, 1))
    return w


def _shared(spans: list[tuple[int, int]], k: int) -> tuple[int, int]:
    """Pixels span ``k`` shares with the span before it and with the one after."""
    before = spans[k - 1][1] - spans[k][0] if k > 0 else 0
    after = spans[k][1] - spans[k + 1][0] if k + 1 < len(spans) else 0
    return max(before, 0), max(after, 0)


def check_image(image: np.ndarray, what: str = "image") -> np.ndarray:
    """``image`` as an array a net takes: (H, W) or (H, W, C), real, finite, in [0, 1]
    (as :func:`topoviz.imageio.load_image` reads it); else a ValueError that calls it
    ``what``. :func:`predict` and :func:`topoviz.train.fine_tune` check their images so.

    >>> try:
    ...     check_image(np.full((4, 4), 200, np.uint8))
    ... except ValueError as error:
    ...     print(str(error)[-45:])
    [200, 200] (an 8-bit image: divide it by 255)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or min(image.shape[:2], default=0) < 1:
        raise ValueError(f"{what} must be (H, W) or (H, W, C), got shape {image.shape}")
    if image.dtype != bool and (
        not np.issubdtype(image.dtype, np.number) or np.issubdtype(image.dtype, np.complexfloating)
    ):
        raise ValueError(f"{what} must be real numbers, got dtype {image.dtype}")
    if not np.isfinite(image).all():
        raise ValueError(f"{what} contains NaN or infinity")
    lo, hi = float(image.min()), float(image.max())
    if lo < 0 or hi > 1:  # the nets trained on [0, 1]: 0..255 gave f = 1 everywhere
        raise ValueError(
            f"{what} values must lie in [0, 1], as topoviz.imageio.load_image reads them; "
            f"got [{lo:.4g}, {hi:.4g}]"
            + (" (an 8-bit image: divide it by 255)" if 1 < hi <= 255 and lo >= 0 else "")
        )
    return image


def predict(
    model: nn.Module,
    image: np.ndarray,
    tile: int = 512,
    overlap: int = 128,
    margin: int = 16,
) -> np.ndarray:
    """The likelihood ``f = sigmoid(model(image))`` of an image of any size.

    Parameters
    ----------
    model : nn.Module
        A net returning ``(N, 1, H, W)`` logits for ``(N, C, H, W)`` input, such
        as those of :mod:`topoviz.nets`.
    image : ndarray, (H, W) or (H, W, C)
        The image, float in [0, 1] as elsewhere in topoviz.
    tile : int
        Images larger than ``tile`` in either dimension are cut into ``tile ×
        tile`` tiles, so memory stays bounded. An image of at most ``tile × tile``
        runs whole, with its margin (a 512² image is one run of 544²).
    overlap : int
        Overlap of neighbouring tiles, in pixels (at least; the last tile of a row
        can overlap more). In the overlap the third nearest each tile's edge is
        left to its neighbour and the middle third blends the two linearly
        (:func:`_ramp`): a tile's edge sees less context than the whole image
        would give. With 128 the tiled likelihood of the shipped nets on a 1000²
        image is the whole image's to 2e-4 or better (with the old blending, from
        each tile's very edge over 32 px: up to 0.58; ``bench/bench_tiling.py``); the
        tests hold 0.01.
    margin : int
        The image is mirrored (reflect padding) by this many pixels on every side
        before the net sees it, and the result cropped back. A net trained on
        patches cut from inside images has never seen an image border next to its
        convolutions' zero padding; without the margin it can paint a false
        structure along the border (seen here: f about 0.5 along the right and
        bottom edges of a membrane image whose interior is near 0.1).

    Returns
    -------
    f : ndarray, float32, (H, W)
        The per-pixel likelihood, in [0, 1].

    Notes
    -----
    Runs under ``torch.no_grad()`` in evaluation mode (BatchNorm uses its running
    statistics); the model's own mode is restored afterwards, and nothing else of
    it is changed.
    """
    if not isinstance(model, nn.Module):  # a path: "'str' object has no attribute ..."
        raise TypeError(
            f"model must be a torch network (nn.Module); got {type(model).__name__}. Load a "
            "checkpoint file with topoviz.checkpoints.load(path)[0]"
        )
    image = check_image(image)
    if image.dtype == bool:
        image = image.astype(np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if tile < 1 or not 0 <= overlap < tile:
        raise ValueError(f"need tile >= 1 and 0 <= overlap < tile, got {tile}, {overlap}")
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    expected = getattr(model, "config", {}).get("in_channels")
    if expected is not None and image.shape[2] != expected:
        first = image.shape[0] == expected  # (C, H, W), as torch lays out channels
        # (N, H, W): a stack of grey images, N below the sides (an (H, W, C) image's C is)
        batch = not first and image.shape[2] > 4 and image.shape[0] < min(image.shape[1:])
        raise ValueError(
            f"the model takes {expected} channel(s), the image has {image.shape[2]}"
            + (
                f" (its shape {image.shape} looks channels-first: predict takes (H, W) or "
                "(H, W, C); pass image.transpose(1, 2, 0))"
                if first
                else f" (its shape {image.shape} looks like a stack of {image.shape[0]} images: "
                "predict takes one image, (H, W) or (H, W, C); call it on each)"
                if batch
                else ""
            )
        )

    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    h0, w0 = image.shape[:2]
    if margin:
        image = np.pad(image, ((margin, margin), (margin, margin), (0, 0)), mode="reflect")
    h, w = image.shape[:2]
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1), np.float32))[None]

    def run(patch: torch.Tensor) -> np.ndarray:
        logits = model(patch.to(device))
        if logits.shape[-2:] != patch.shape[-2:] or logits.shape[1] != 1:
            raise ValueError(
                f"the model returned shape {tuple(logits.shape)} for input "
                f"{tuple(patch.shape)}; expected (N, 1, H, W) of the same H, W"
            )
        return torch.sigmoid(logits)[0, 0].float().cpu().numpy()

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if h0 <= tile and w0 <= tile:  # the margin alone never forces tiling
                f = run(x)
                return np.clip(f[margin : margin + h0, margin : margin + w0], 0, 1).astype(
                    np.float32
                )
            grid = getattr(model, "pooling_grid", 1)
            grid = grid if isinstance(grid, int) and grid >= 1 else 1
            if tile < grid:  # tiles start on the grid: smaller ones left gaps (NaN there)
                raise ValueError(
                    f"tile must be at least the net's pooling grid, {grid}; got {tile}"
                )
            total = np.zeros((h, w))
            weight = np.zeros((h, w))
            rows, cols = _spans(h, tile, overlap, grid), _spans(w, tile, overlap, grid)
            for a, (y0, y1) in enumerate(rows):
                wy = _ramp(y1 - y0, *_shared(rows, a))
                for b, (x0, x1) in enumerate(cols):
                    wx = _ramp(x1 - x0, *_shared(cols, b))
                    wt = wy[:, None] * wx[None, :]
                    total[y0:y1, x0:x1] += wt * run(x[..., y0:y1, x0:x1])
                    weight[y0:y1, x0:x1] += wt
            f = total / weight
            return np.clip(f[margin : margin + h0, margin : margin + w0], 0, 1).astype(np.float32)
    finally:
        model.train(was_training)
