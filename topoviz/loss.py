"""The topological loss L_topo (Eq. 2.2) and its gradient (Eq. 2.3) in torch.

The pairing is computed without gradient (persistence + matching on a detached
copy); the loss is then a plain torch expression of ``f`` gathered at the critical
pixels, so autograd gives exactly Eq. 2.3:

    dL/df(c) = 2 (f(c) - target(c))   at every critical pixel c, 0 elsewhere.

Everything here takes **probabilities** in [0, 1], never logits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from topoviz.matching import (
    ALL_RULES,
    CORNER,
    Matching,
    betti_targets,
    diagonal_cost,
    diagonal_projection,
    match,
    match_images,
    take_order,
)
from topoviz.persistence import (
    BatchDots,
    Diagram,
    _check_dims,
    _check_frame,
    _is_int,
    batch_dots,
    diagrams,
)

__all__ = ["CriticalTargets", "critical_targets", "topo_loss", "TopoLoss", "SKIP_RULES"]

SKIP_RULES = ("threshold", "none")


@dataclass(frozen=True)
class CriticalTargets:
    """Where the loss pulls each critical pixel: the force picture of Eq. 2.3.

    One row per (dot, end) pair whose critical pixel exists in ``f``.

    Attributes
    ----------
    pixel : ndarray (k, 2) int
        ``(row, col)`` of the critical pixel in ``f``.
    target : ndarray (k,)
        The likelihood value the pixel is pulled towards (``birth`` or ``death`` of
        its dot's partner).
    dim : ndarray (k,) int
        Homology dimension of the dot.
    dot : ndarray (k,) int
        Index of the dot in ``dgm[dim]``.
    end : ndarray (k,) str
        ``"birth"`` or ``"death"``.
    constant : float
        The part of the loss that no pixel of ``f`` can change: coordinates of cells
        in the frame, the death of essential classes, and unmatched ground-truth dots.
    """

    pixel: np.ndarray
    target: np.ndarray
    dim: np.ndarray
    dot: np.ndarray
    end: np.ndarray
    constant: float

    def force(self, f: np.ndarray) -> np.ndarray:
        """Negative gradient ``-2 (f(c) - target)`` at every critical pixel (Eq. 2.3)."""
        return -2.0 * (f[self.pixel[:, 0], self.pixel[:, 1]] - self.target)


def _pulls(
    pixels: np.ndarray, coord: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """One end (birth or death) of some dots: the indices of those whose critical pixel
    exists, the value each such pixel is pulled to, and the loss of the others (a cell
    in the frame, the death of an essential class), which no pixel can change."""
    exists = pixels[:, 0] >= 0
    fixed = float(((coord[~exists] - target[~exists]) ** 2).sum())
    idx = np.flatnonzero(exists)
    return idx, 1.0 - target[idx], fixed  # a coordinate 1 - v pulls f(c) towards v


def critical_targets(dgm_f: Diagram, matching: Matching) -> CriticalTargets:
    """Flatten a matching into per-pixel targets (the loss and the pictures share them)."""
    pix, tgt, dims, dots, ends = [], [], [], [], []
    constant = 0.0
    for k in dgm_f.dims:
        d = dgm_f[k]
        m = matching[k]
        constant += m.unmatched_cost
        for end, pixels, coord, target in (
            ("birth", d.birth_pixel, d.points[:, 0], m.targets[:, 0]),
            ("death", d.death_pixel, d.points[:, 1], m.targets[:, 1]),
        ):
            idx, pulled, fixed = _pulls(pixels, coord, target)
            constant += fixed
            pix.append(pixels[idx])
            tgt.append(pulled)
            dims.append(np.full(len(idx), k))
            dots.append(idx)
            ends.append(np.full(len(idx), end))
    if not pix:
        return CriticalTargets(
            np.zeros((0, 2), np.int64),
            np.zeros(0),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
            np.zeros(0, "<U5"),
            constant,
        )
    return CriticalTargets(
        np.concatenate(pix).astype(np.int64),
        np.concatenate(tgt),
        np.concatenate(dims).astype(np.int64),
        np.concatenate(dots).astype(np.int64),
        np.concatenate(ends),
        constant,
    )


def _at_corner(dots_g: BatchDots) -> bool:
    """Whether every dot of these ground-truth diagrams sits at the corner (0, 1), as
    every dot of a binary ground truth does with the frame."""
    return all((points == CORNER).all() for points, _, _, _ in dots_g.values())


def _corner_targets(
    dots_f: BatchDots, dots_g: BatchDots, rule: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """:func:`critical_targets` of ``match(f_j, g_j, rule)`` for a batch of patches
    whose ground-truth dots all sit at the corner (:func:`_at_corner`).

    Then both rules only choose, in each patch, which of f's dots go to the corner
    (:func:`topoviz.matching.take_order`); the others go to the diagonal. This makes
    that choice for every (patch, dimension) in one stable sort, with the same keys
    and the same order of ties as :func:`topoviz.matching.match`, so it picks the
    same dots, without its Python cost per patch (bench/README.md, "The TopoLoss
    call, batched").

    Parameters
    ----------
    dots_f, dots_g
        :func:`topoviz.persistence.batch_dots` of the patches of f and of g.

    Returns
    -------
    (patch, pixel, target, constant): for every critical pixel its patch, its
    ``(row, col)`` in the patch and the value it is pulled to; ``constant`` is the
    part of the loss no pixel can change.
    """
    dims = sorted(dots_f)
    n = len(dots_f[dims[0]][3]) - 1  # patches
    gid, points, births, deaths, m_gt = [], [], [], [], np.zeros(n * len(dims), np.int64)
    for t, k in enumerate(dims):
        p, birth, death, offsets = dots_f[k]
        gid.append(np.repeat(np.arange(n) * len(dims) + t, np.diff(offsets)))
        points.append(p)
        births.append(birth)
        deaths.append(death)
        m_gt[t :: len(dims)] = np.diff(dots_g[k][3])
    gid = np.concatenate(gid)
    p = np.concatenate(points).reshape(-1, 2)
    key, allowed = take_order(p, CORNER, rule)
    order = np.lexsort((key, gid))  # by group, then key; stable
    size = np.bincount(gid, minlength=len(m_gt))
    rank = np.empty(len(p), np.int64)
    rank[order] = np.arange(len(p)) - (np.cumsum(size) - size)[gid[order]]
    chosen = (rank < m_gt[gid]) & allowed
    target = np.where(chosen[:, None], CORNER, diagonal_projection(p))
    # ground-truth dots that no dot took pay their own distance to the diagonal
    unmatched = m_gt - np.bincount(gid[chosen], minlength=len(m_gt))
    constant = float(unmatched.sum() * diagonal_cost(CORNER)[0])
    patch, pixel, value = [], [], []
    for end, px in ((0, np.concatenate(births)), (1, np.concatenate(deaths))):
        idx, pulled, fixed = _pulls(px, p[:, end], target[:, end])
        constant += fixed
        patch.append(gid[idx] // len(dims))
        pixel.append(px[idx])
        value.append(pulled)
    return np.concatenate(patch), np.concatenate(pixel), np.concatenate(value), constant


def _betti_loss_targets(
    fp: np.ndarray, gp: np.ndarray, frame: bool, dims: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """:func:`critical_targets` of ``betti_match(f_j, g_j)`` for a batch of patches,
    from the flat arrays of :func:`topoviz.matching.betti_targets`: the same pixels
    and targets (in another order), without a Matching per patch. Returns what
    :func:`_corner_targets` returns."""
    per_dim, constant = betti_targets(fp, gp, frame=frame, dims=dims)
    patch, pixel, value = [], [], []
    for points, births, deaths, of, target in per_dim.values():
        for end, px in ((0, births), (1, deaths)):
            idx, pulled, fixed = _pulls(px, points[:, end], target[:, end])
            constant += fixed
            patch.append(of[idx])
            pixel.append(px[idx])
            value.append(pulled)
    if not patch:
        return np.zeros(0, np.int64), np.zeros((0, 2), np.int64), np.zeros(0), constant
    return np.concatenate(patch), np.concatenate(pixel), np.concatenate(value), constant


def _host_copy(t: torch.Tensor, name: str) -> np.ndarray:
    """The one device -> host copy: detached, on the CPU, for the pairing.

    float32 (exact for float16 / bfloat16 values), or float64 for float64 input so
    that the critical pixels are those of the values the gradient is taken at.
    """
    if t.is_meta:
        raise ValueError(f"{name} is a tensor on the 'meta' device: it holds no values")
    dtype = torch.float64 if t.dtype == torch.float64 else torch.float32
    return t.detach().to(device="cpu", dtype=dtype).numpy()


def _readable(x: np.floating) -> str:
    # the shortest repr in the copy's own precision: a float32 overshoot reads
    # 1.0000001 (not "1" as with 4 digits, nor float64 noise)
    return str(x)


def _probabilities(f: torch.Tensor, name: str) -> np.ndarray:
    """Check ``f`` (probabilities) and return its host copy, float rounding clipped."""
    if not torch.is_tensor(f):
        raise TypeError(f"{name} must be a torch tensor; got {type(f).__name__}")
    if not torch.is_floating_point(f):
        raise TypeError(f"{name} must be a floating-point tensor; got {f.dtype}")
    if f.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(f.shape)})")
    a = _host_copy(f, name)
    if not np.isfinite(a).all():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise ValueError(f"{name} has {bad} NaN or infinite value(s)")
    lo, hi = a.min(), a.max()
    # one ulp of the input dtype past 0 or 1 is rounding (a float32 sigmoid can
    # return 1 + 1.2e-7), not logits: tolerated and clipped for the pairing
    tol = max(1e-6, float(torch.finfo(f.dtype).eps))
    if lo < -tol or hi > 1.0 + tol:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]; got values in "
            f"[{_readable(lo)}, {_readable(hi)}]."
            " TopoLoss takes probabilities, not logits: apply torch.sigmoid first."
        )
    if lo < 0.0 or hi > 1.0:
        a = np.clip(a, 0.0, 1.0)  # a new array: the copy of a CPU tensor may share its memory
    return a


def _ground_truth(g, name: str) -> np.ndarray:
    """Host copy of a ground truth (tensor or array_like) as a 0/1 float64 mask."""
    if torch.is_tensor(g):
        a = _host_copy(g, name)  # the one device -> host copy (an integer mask too)
    else:
        try:
            a = np.asarray(g)
        except (TypeError, ValueError) as e:  # ragged nesting and the like
            raise TypeError(f"{name} must be a tensor or an array; got {type(g).__name__}") from e
    if a.dtype == bool:
        return a.astype(np.float64)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise TypeError(f"{name} must be a numeric tensor or array; got {type(g).__name__}")
    if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
        bad = int(np.count_nonzero(~np.isfinite(a)))
        raise ValueError(f"{name} has {bad} NaN or infinite value(s); a ground truth is binary")
    if a.size and a.dtype != bool and (hi := float(a.max())) > 1.5:
        # thresholded at 0.5, a 0/255 mask passed as if nothing were wrong; values a
        # little past [0, 1] (rounding, a cubic resampling, label smoothing) stay fine
        hint = " (an 8-bit mask: divide it by 255)" if hi >= 128 else ""
        raise ValueError(
            f"{name} has values up to {hi:g}; a ground truth is 0/1 (or bool), thresholded "
            f"at 0.5{hint}"
        )
    return (a >= 0.5).astype(np.float64)


def _one_channel(a, name: str, like: tuple[int, ...] | None = None):
    """``a`` (``B x 1 x H x W`` or ``B x H x W``) as ``B x H x W``, or a clear error;
    with ``like``, also of that shape."""
    shape = tuple(a.shape)
    if len(shape) == 4 and shape[1] == 1:
        a = a[:, 0]
    elif len(shape) == 4:
        raise ValueError(f"{name} must have one channel (B x 1 x H x W); got shape {shape}")
    elif len(shape) != 3:
        raise ValueError(f"{name} must be B x 1 x H x W or B x H x W; got shape {shape}")
    if like is not None and tuple(a.shape) != like:
        raise ValueError(f"{name} shape {shape} does not match prob {like}")
    return a


def _gathered_loss(values: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # coordinate (1 - f(c)) pulled to (1 - target): the square is (f(c) - target)^2.
    # Summed in at least float32 (half inputs would lose the sum); the cast is
    # differentiable, so the gradient flows back in the input's dtype.
    return ((values.to(targets.dtype) - targets) ** 2).sum()


def _loss_dtype(f: torch.Tensor) -> torch.dtype:
    return torch.promote_types(f.dtype, torch.float32)


def _zero(f: torch.Tensor) -> torch.Tensor:
    # a zero on f's device with a graph to f (a sum over no element: no overflow)
    return f.reshape(-1)[:0].sum().to(_loss_dtype(f))


def topo_loss(
    f: torch.Tensor,
    g: np.ndarray | torch.Tensor,
    frame: bool = True,
    rule: str = "paper",
    dims: Sequence[int] = (1,),
) -> torch.Tensor:
    """L_topo(f, g) of Eq. 2.2 on the whole of ``f``, differentiable in ``f``.

    Parameters
    ----------
    f : torch.Tensor, shape (H, W)
        Likelihood, **probabilities in [0, 1] (not logits)**, usually with grad; any
        floating dtype (float16 / bfloat16 included) on any device. Values past 0 or
        1 by float rounding (one ulp of the dtype, at least 1e-6) are clipped for the
        pairing; anything further out, NaN or an empty ``f`` raise a ``ValueError``.
    g : array_like or torch.Tensor, shape (H, W)
        Binary ground truth (True / values ≥ 0.5 = the thin structure, as the
        metrics read it), on any device. NaN and values over 1.5 (a 0/255 mask)
        raise a ``ValueError``.
    frame : bool
        Relative homology: pad a frame of value 1 (Sec. 2.3).
    rule : {"paper", "optimal", "betti"}
        Matching rule, see :func:`topoviz.matching.match`; ``"betti"`` matches dots
        at the same place (:func:`topoviz.matching.betti_match`).
    dims : sequence of int
        Homology dimensions in the loss. Default ``(1,)``: holes only, as the paper
        trains and evaluates (footnote 8); ``(0, 1)`` sums both, as Eq. 2.2 is written.

    Returns
    -------
    torch.Tensor
        Scalar loss on ``f``'s device, float32 (float64 for float64 ``f``). Its
        gradient is non-zero only at critical pixels, where it is
        ``2 (f(c) - target(c))`` (Eq. 2.3), and reaches ``f`` in ``f``'s dtype.

    Notes
    -----
    Eq. 2.2: ``L_topo = sum_p [birth(p) - birth(gamma*(p))]^2
    + [death(p) - death(gamma*(p))]^2``, with ``gamma*`` from the chosen rule.
    Eq. 2.3 follows by the chain rule because ``birth(p) = f(c_b(p))`` and
    ``death(p) = f(c_d(p))``, the pairing being locally constant.

    Devices: the pairing (persistence, matching) runs on one detached CPU copy of
    ``f``, float32 (float64 for float64 input); the loss is then gathered from
    ``f`` itself at the critical pixels, on ``f``'s device, so autograd returns the
    gradient there. Nothing is moved back by hand.

    Examples
    --------
    >>> import torch
    >>> g = torch.zeros(7, 7); g[1:6, 1:6] = 1; g[2:5, 2:5] = 0
    >>> f = (g * 0.9).requires_grad_(); f.data[1, 3] = 0.3
    >>> loss = topo_loss(f, g); loss.backward()
    >>> round(float(f.grad[1, 3]), 4)          # the saddle is pushed up (negative grad)
    -1.4
    """
    f_np = _probabilities(f, "f")
    if f.ndim != 2:
        raise ValueError(f"f must be H x W; got shape {tuple(f.shape)}")
    g_np = _ground_truth(g, "g")
    if g_np.shape != tuple(f.shape):
        raise ValueError(f"g has shape {g_np.shape} but f has {tuple(f.shape)}")
    if rule not in ALL_RULES:  # match's own message sends "betti" elsewhere
        raise ValueError(f"rule must be one of {ALL_RULES}; got {rule!r}")
    dgm_f, _, m = match_images(f_np, g_np, frame, rule, dims)
    ct = critical_targets(dgm_f, m)
    rows = torch.as_tensor(ct.pixel[:, 0], device=f.device)
    cols = torch.as_tensor(ct.pixel[:, 1], device=f.device)
    targets = torch.as_tensor(ct.target, dtype=_loss_dtype(f), device=f.device)
    return _gathered_loss(f[rows, cols], targets) + ct.constant


class TopoLoss(nn.Module):
    """Patch-sampled topological loss for training, ``lam * L_topo`` (Sec. 2.3).

    **Takes probabilities, not logits.** Pass ``torch.sigmoid(logits)``; values
    outside [0, 1] raise a ``ValueError``.

    Each call samples ``patches_per_image`` random, possibly overlapping patches of
    ``patch_size`` from every image of the batch (new patches every call, from the
    module's own seeded generator), computes their diagrams in one parallel batch,
    matches them to the ground truth's and sums Eq. 2.2 over patches; the gradient
    flows only through the critical pixels (Eq. 2.3), aggregated over patches.

    Parameters
    ----------
    patch_size : int or (int, int)
        Patch height and width (65 in the paper); clipped to the image size.
    patches_per_image : int
        Patches sampled per image and call. The loss sums over them, so it scales
        with this number; where the patch covers the whole image every patch is the
        image (a warning says so once): pass 1 there, as ``fine_tune`` does.
    lam : float
        Weight lambda of Eq. 2.1; the module returns ``lam * L_topo``. The default,
        1, returns L_topo itself; against a per-pixel-mean BCE the paper's weight is
        about 0.006–0.03 here (the derivation is in :mod:`topoviz.train`).
    rule : {"paper", "optimal", "betti"}
        Matching rule.
    frame : bool
        Relative homology on patches (pad a frame of value 1).
    dims : sequence of int
        Homology dimensions in the loss. Default ``(1,)``: holes only, as the paper
        trains and evaluates (footnote 8); ``(0, 1)`` sums both.
    skip : {"threshold", "none"}
        ``"threshold"`` skips patches with nothing to fix: the prediction
        thresholded at 0.5 equals the ground truth pixel for pixel there.
    seed : int
        Seed of the patch sampler.

    Notes
    -----
    Scaling: the returned value is ``lam`` times the mean over images of the sum of
    ``L_topo`` over that image's patches; ``lam`` must be tuned against the
    pixel-averaged BCE accordingly. After each call ``self.last`` holds the raw
    ``L_topo`` sum and how many patches were used and skipped.
    """

    def __init__(
        self,
        patch_size: int | tuple[int, int] = 65,
        patches_per_image: int = 8,
        lam: float = 1.0,
        rule: str = "paper",
        frame: bool = True,
        dims: Sequence[int] = (1,),
        skip: str = "threshold",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if _is_int(patch_size):
            patch_size = (patch_size, patch_size)
        if (
            not isinstance(patch_size, (tuple, list))
            or len(patch_size) != 2
            or not all(_is_int(s) for s in patch_size)
        ):
            raise ValueError(f"patch_size must be an int or (height, width); got {patch_size!r}")
        if min(patch_size) < 2:
            raise ValueError(f"patch_size must be at least 2 x 2; got {patch_size}")
        if not _is_int(patches_per_image) or patches_per_image < 1:
            raise ValueError(
                f"patches_per_image must be an integer >= 1; got {patches_per_image!r}"
            )
        try:
            lam_value = float(lam)  # also numpy scalars and one-element tensors
        except (TypeError, ValueError):
            lam_value = math.nan
        if not math.isfinite(lam_value) or lam_value < 0:
            raise ValueError(f"lam must be a finite number >= 0; got {lam!r}")
        if skip not in SKIP_RULES:
            raise ValueError(f"skip must be one of {SKIP_RULES}; got {skip!r}")
        if rule not in ALL_RULES:
            raise ValueError(f"rule must be one of {ALL_RULES}; got {rule!r}")
        self.patch_size = tuple(int(s) for s in patch_size)
        self.patches_per_image = int(patches_per_image)
        self.lam = lam_value
        self.rule = rule
        self.frame = _check_frame(frame)
        self.dims = _check_dims(dims)
        self.skip = skip
        if seed is not None and not (_is_int(seed) and int(seed) >= 0):
            raise ValueError(f"seed must be None or an integer >= 0; got {seed!r}")
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._warned = False  # the whole-image patch, said once (sample_corners)
        self.last: dict[str, float] = {}

    def extra_repr(self) -> str:
        return (
            f"patch_size={self.patch_size}, patches_per_image={self.patches_per_image}, "
            f"lam={self.lam}, rule={self.rule!r}, dims={self.dims}, frame={self.frame}, "
            f"skip={self.skip!r}, seed={self.seed}"
        )

    def sample_corners(self, batch: int, height: int, width: int) -> np.ndarray:
        """Top-left corners ``(image, row, col)`` of the patches of one call."""
        ph, pw = min(self.patch_size[0], height), min(self.patch_size[1], width)
        if (ph, pw) == (height, width) and self.patches_per_image > 1 and not self._warned:
            # the sum over patches is then patches_per_image copies of one: said once
            # (counting it once would make the loss jump by that factor at one pixel
            # more, where the patches differ by a pixel)
            self._warned = True
            warnings.warn(
                f"TopoLoss: patch_size {self.patch_size} covers the whole {height} x {width} "
                f"image, so its {self.patches_per_image} patches per image are one patch "
                f"counted {self.patches_per_image} times (the loss sums over patches); "
                "pass patches_per_image=1 to count it once",
                stacklevel=5,  # the caller of the module (through torch's __call__)
            )
        n = batch * self.patches_per_image
        rows = self._rng.integers(0, height - ph + 1, n)
        cols = self._rng.integers(0, width - pw + 1, n)
        images = np.repeat(np.arange(batch), self.patches_per_image)
        return np.stack([images, rows, cols], axis=1)

    def _targets(
        self, fp: np.ndarray, gp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Where the loss pulls in the patches ``fp`` against ``gp``: for every
        critical pixel its patch, ``(row, col)`` and target, and the constant part.

        The paper's and the optimal rule match the whole batch at once
        (:func:`_corner_targets`), and so does the Betti rule
        (:func:`_betti_loss_targets`); a ground truth with a dot off the corner is
        matched patch by patch under the first two.
        """
        if self.rule == "betti":
            return _betti_loss_targets(fp, gp, self.frame, self.dims)
        else:
            dots_g = batch_dots(gp, frame=self.frame, dims=self.dims)  # None without numba
            if dots_g is not None and _at_corner(dots_g):
                dots_f = batch_dots(fp, frame=self.frame, dims=self.dims)
                return _corner_targets(dots_f, dots_g, self.rule)
            dgms_f = diagrams(fp, frame=self.frame, dims=self.dims)
            dgms_g = diagrams(gp, frame=self.frame, dims=self.dims)
            pairs = [(d, match(d, e, self.rule)) for d, e in zip(dgms_f, dgms_g, strict=True)]
        cts = [critical_targets(d, m) for d, m in pairs]
        patch = np.concatenate([np.full(len(ct.target), j) for j, ct in enumerate(cts)])
        pixel = np.concatenate([ct.pixel for ct in cts]).reshape(-1, 2)
        target = np.concatenate([ct.target for ct in cts])
        return patch.astype(np.int64), pixel, target, sum(ct.constant for ct in cts)

    def forward(self, prob: torch.Tensor, target: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``lam`` times the mean over images of L_topo summed over sampled patches.

        Parameters
        ----------
        prob : torch.Tensor, (B, 1, H, W) or (B, H, W)
            Probabilities, any floating dtype, any device (see :func:`topo_loss`).
        target : torch.Tensor or array_like, the same shape
            Binary ground truth on any device, or a numpy array.

        Returns
        -------
        torch.Tensor
            Scalar on ``prob``'s device, float32 (float64 for float64 ``prob``).
            An empty batch (B = 0) gives 0, still connected to ``prob``'s graph.
        """
        if torch.is_tensor(prob) and prob.ndim in (3, 4) and prob.shape[0] == 0:
            like = tuple(_one_channel(prob, "prob").shape)
            _one_channel(_ground_truth(target, "target"), "target", like)
            self.last = {"patches": 0.0, "used": 0.0, "raw": 0.0}
            return _zero(prob)
        f_all = _one_channel(_probabilities(prob, "prob"), "prob")
        if prob.ndim == 4:
            prob = prob[:, 0]
        g_all = _one_channel(_ground_truth(target, "target"), "target", tuple(prob.shape))
        b, h, w = prob.shape
        ph, pw = min(self.patch_size[0], h), min(self.patch_size[1], w)
        corners = self.sample_corners(b, h, w)
        fp = np.stack([f_all[i, r : r + ph, c : c + pw] for i, r, c in corners])
        gp = np.stack([g_all[i, r : r + ph, c : c + pw] for i, r, c in corners])
        if self.skip == "threshold":
            keep = np.flatnonzero(((fp >= 0.5) != (gp >= 0.5)).any(axis=(1, 2)))
        else:
            keep = np.arange(len(corners))
        self.last = {"patches": float(len(corners)), "used": float(len(keep)), "raw": 0.0}
        zero = _zero(prob)  # keeps the graph (and the device) when nothing is used
        if len(keep) == 0:
            return zero
        j, pixel, tgt_np, constant = self._targets(fp[keep], gp[keep])
        i, r, c = corners[keep[j]].T
        flat_np = i * h * w + (pixel[:, 0] + r) * w + (pixel[:, 1] + c)
        # the raw value from the host copy: no device sync, and no float() of a
        # device tensor
        self.last["raw"] = float(((f_all.reshape(-1)[flat_np] - tgt_np) ** 2).sum() + constant)
        idx = torch.as_tensor(flat_np, device=prob.device)
        targets = torch.as_tensor(tgt_np, dtype=_loss_dtype(prob), device=prob.device)
        raw = _gathered_loss(prob.reshape(-1)[idx], targets) + constant
        return zero + self.lam * raw / b
