"""Training with BCE + λ·L_topo (Eq. 2.1) and the paper's evaluation (Sec. 3).

The paper's recipe (Sec. 2.3, Sec. 3): train with the per-pixel cross-entropy
first, then fine-tune with ``L_bce + λ L_topo`` on randomly sampled 65 × 65
patches, the topological loss summed over patches with relative homology (a frame).
:func:`pretrain` is the first stage, :func:`fine_tune` the second; both are
generators yielding one :class:`StepReport` per step, so the app can draw live
curves (paper Fig. 6a), show the likelihood changing (Fig. 7) and stop at any time.

Loss scaling — read this before choosing λ
------------------------------------------
Here ``L_bce`` is the **per-pixel mean** of ``binary_cross_entropy_with_logits``
over the batch (``B`` crops of ``p × p`` pixels), and the topological term is
:class:`topoviz.loss.TopoLoss`: ``λ ·`` (mean over the batch's crops of the sum of
L_topo over the patches sampled in that crop), L_topo taken on probabilities.

The paper gives λ "at the magnitude of 1/10000" (Sec. 3) without the reduction.
The authors' released code says it (HuXiaoling/TopoLoss, ``topoloss_pytorch.py``
and ``topoloss.py``): the total is ``nn.CrossEntropyLoss() + lambda *
getTopoLoss(lh, gt)``; ``nn.CrossEntropyLoss`` averages over pixels (its default
``reduction="mean"``); ``getTopoLoss`` squeezes the batch (one image per call),
tiles the **whole image** into 100 × 100 patches and returns the **sum** over every
tile's critical pixels of ``(x(c) - target(c))²``, where ``x`` is the tensor passed
in, the net's output **before** its sigmoid (the diagram is computed on
``sigmoid(x)``, the squared error on ``x``).

Balance per critical pixel, BCE gradient per pixel against L_topo's:

- theirs, one ``H × W`` image: ``(p - y) / (H W)`` against ``2 λ_paper (x - t)``;
- ours, ``B`` crops of ``p²``: ``(p - y) / (B p²)`` against ``2 λ (f - t) / B``.

Equal balance needs ``λ = λ_paper · H W / p²`` for the same force on ``f``: with
ISBI12's 512² slices and our 65² crops that is ``1e-4 · 62 ≈ 0.006``
(CrackForest, 480 × 320: ``1e-4 · 36 ≈ 0.004``). Their force acts on the logit
``x``, ours on ``f = σ(x)``, whose gradient reaches the logit multiplied by
``σ'(x) = f (1 - f) ≤ 1/4``: matching their push on the logit at a critical pixel
with ``f = 0.5`` takes 4× more, ``λ ≈ 0.025`` (ISBI12) or ``0.015`` (CrackForest),
and more still where the net is saturated (``f(1 - f)`` is 0.09 at ``f = 0.9``).
So the paper's λ maps to ``0.006``–``0.03`` here, not ``1e-4``. (Earlier versions
of this note said "at most 1e-4"; they assumed the topological term was summed
over patches of the same area as the BCE mean, which the released code does not
do.) The shipped recipes choose λ on a validation split carved from the training
folds (``--val-every``; see models/README.md).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from topoviz.data import apply_fov, sample_batch
from topoviz.inference import check_image, predict
from topoviz.loss import TopoLoss
from topoviz.metrics import evaluate_all

__all__ = [
    "METRICS",
    "REGION_METRICS",
    "PAIRED_METRICS",
    "StepReport",
    "fine_tune",
    "pretrain",
    "evaluate",
    "evaluate_predictions",
    "format_table",
    "format_paired",
]

METRICS = ("accuracy", "ari", "voi", "betti_error")
#: Region-level topology numbers (counts are totals over the images; see metrics.evaluate_all)
REGION_METRICS = (
    "merges",
    "splits",
    "missed",
    "voi_merge",
    "voi_split",
    "holes_extra",
    "holes_missing",
    "pinholes",
    "fragments",
)
COUNTS = ("merges", "splits", "missed", "n_gt", "pinholes", "fragments")
#: What the manifest keeps per image and models/tables.py pairs image by image
PAIRED_METRICS = (
    "accuracy",
    "voi",
    "betti_error",
    "merges",
    "splits",
    "missed",
    "holes_extra",
    "pinholes",
    "fragments",
)
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "ari": "ARI",
    "voi": "VOI",
    "betti_error": "Betti Error (65²)",
    "merges": "Merges",
    "splits": "Splits",
    "missed": "Missed",
    "voi_merge": "VOI merge",
    "voi_split": "VOI split",
    "holes_extra": "Holes≥25 extra (256²)",
    "holes_missing": "Holes≥25 missing (256²)",
    "pinholes": "Pinholes≥25",
    "fragments": "Fragments≥25",
}
#: +1 where higher is better, -1 where lower is better
DIRECTION = {m: (1 if m in ("accuracy", "ari") else -1) for m in METRIC_NAMES}

Data = tuple[np.ndarray | Sequence[np.ndarray], np.ndarray | Sequence[np.ndarray]]


@dataclass
class StepReport:
    """What one training step did.

    Attributes
    ----------
    step : int
        1-based index of the step.
    total_steps : int
        Steps asked for (the run may stop earlier).
    bce : float
        Per-pixel mean BCE of the batch.
    topo : float
        Unweighted L_topo of the step: mean over the batch's images of the sum over
        their sampled patches (Eq. 2.2); 0 when λ = 0 (not computed).
    loss : float
        ``bce + lam * topo``, what was back-propagated.
    lam : float
        λ of the step.
    seconds : float
        Wall time of the step (forward, persistence, backward, update).
    patches_used : int
        Patches that entered L_topo (the others had nothing to fix); 0 when λ = 0.
    metrics : dict or None
        Mean metrics on ``eval_data`` at this step, when ``eval_every`` says so.
    snapshot : ndarray or None
        Likelihood on the ``preview`` image at this step, when ``snapshot_every``
        says so.
    """

    step: int
    total_steps: int
    bce: float
    topo: float
    loss: float
    lam: float
    seconds: float
    patches_used: int
    metrics: dict | None = None
    snapshot: np.ndarray | None = None


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX-512 BF16, read from
    ``/proc/cpuinfo``; False where that cannot be read).

    On such a CPU ``fine_tune(..., amp=True)`` trains the shipped U-Net about 1.5×
    faster (measured in bench/README.md); elsewhere bf16 is emulated and slower, so
    the app trains with ``amp`` only where this is True.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            flags = next((line for line in info if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def fine_tune(
    model: nn.Module,
    data: Data,
    lam: float,
    steps: int,
    *,
    batch: int = 8,
    patch: int = 65,
    lr: float = 1e-3,
    topo_patch: int = 65,
    topo_patches: int = 4,
    rule: str = "paper",
    topo_dims: tuple[int, ...] = (1,),
    seed: int = 0,
    warmup_steps: int = 0,
    snapshot_every: int = 0,
    preview: np.ndarray | None = None,
    eval_every: int = 0,
    eval_data: Data | None = None,
    eval_patches: int = 20,
    stop: Callable[[], bool] | None = None,
    amp: bool = False,
    parts: int = 1,
) -> Iterator[StepReport]:
    """Train ``model`` with ``L_bce + λ L_topo`` (Eq. 2.1); yield a report per step.

    **This trains the model passed in, in place.** Pass ``copy.deepcopy(model)``
    if the model is shared or cached (e.g. by ``st.cache_resource``).

    Parameters
    ----------
    model : nn.Module
        A net returning logits ``(N, 1, H, W)``, e.g. from :func:`topoviz.nets.build`.
    data : (images, masks)
        Training set: ``N×H×W`` arrays or sequences of ``H×W`` arrays.
    lam : float
        λ of Eq. 2.1 **for this loss scaling** (module docstring): BCE is a per-pixel
        mean; the topological term is ``λ ·`` mean over images of the sum over
        ``topo_patches`` patches of L_topo. Not the paper's 1e-4. ``0`` = BCE only.
    steps : int
        Number of optimiser steps (one batch each).
    batch, patch : int
        Batch size and side of the random training crops (65 in the paper).
    lr : float
        Adam learning rate.
    topo_patch, topo_patches : int
        Side and number per crop of the patches L_topo samples inside each crop
        (Sec. 2.3: random, overlapping). With ``topo_patch >= patch`` (the default
        65 / 65) the whole crop is its one topological patch and ``topo_patches``
        is ignored (the same patch would only be counted several times); use a
        larger ``patch`` (e.g. 129) to sample several 65 × 65 patches per crop.
    rule : {"paper", "optimal", "betti"}
        Matching rule of L_topo (``"betti"``: Betti matching, dots matched only
        at the same place, :func:`topoviz.matching.betti_match`).
    topo_dims : tuple of int
        Homology dimensions L_topo sums over. Default ``(1,)``, holes only: the paper
        trains and evaluates on 1-dimensional topology (footnote 8). Eq. 2.2 as
        written sums both, ``(0, 1)``.
    seed : int
        Seeds the crop sampler and the TopoLoss patch sampler (private numpy
        generators): the same seed, model and data give the same run. Training
        draws no torch random numbers, so torch's global generator is neither used
        nor seeded, and runs in parallel threads (app sessions) do not disturb each
        other. Seed the model's initialisation with ``topoviz.nets.build(..., seed=)``.
    warmup_steps : int
        Linear learning-rate warm-up over the first steps.
    snapshot_every : int
        With ``preview``, attach the likelihood on ``preview`` to every
        ``snapshot_every``-th report (and the last).
    preview : ndarray, optional
        A fixed image for the snapshots (paper Fig. 7).
    eval_every : int
        With ``eval_data``, attach mean metrics (:func:`evaluate`) to every
        ``eval_every``-th report (and the last).
    eval_data : (images, masks), optional
        Held-out set for ``eval_every``.
    eval_patches : int
        Betti-error patches per image for these in-run evaluations.
    stop : callable, optional
        Called before each step; returning True ends the run (the app's Stop button).
    amp : bool
        Run the net's forward pass under bfloat16 autocast (on the model's device,
        CPU included); BCE and L_topo are then taken of the float32 logits.
    parts : int
        Draw each batch as ``parts`` equal parts, part ``r`` from its own crop and
        patch generators (part 0 from ``seed``'s, so ``parts=1`` is the plain run).
        Under ``torch.distributed`` (torchrun) rank ``r`` of ``N`` draws part ``r``
        of ``batch`` crops and DistributedDataParallel all-reduces the gradients;
        the same run on one process is ``batch = N × batch, parts = N``.

    Yields
    ------
    StepReport

    Notes
    -----
    The model is in training mode during the run (BatchNorm updates its
    statistics) and is left in evaluation mode afterwards. The optimiser is new at
    every call (Adam state is not carried between :func:`pretrain` and this).

    Under ``torch.distributed`` every rank reports the step's BCE, L_topo and loss
    averaged over ranks (and patches used summed), so rank 0's reports are the
    combined batch's; ``preview`` and ``eval_data`` are used on rank 0 only.
    BatchNorm statistics stay per rank (on CUDA convert the model with
    ``nn.SyncBatchNorm`` first to share them).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0; got {steps}")
    if lam < 0 or not math.isfinite(lam):
        raise ValueError(f"lam must be a finite number >= 0; got {lam}")
    images, masks = _check_data(data, "data")
    if eval_data is not None:
        _check_data(eval_data, "eval_data")
    world, rank = _world()
    if parts < 1 or batch % parts:
        raise ValueError(f"batch ({batch}) must be a positive multiple of parts ({parts})")
    if world > 1 and parts != 1:
        raise ValueError("parts > 1 reproduces a distributed run on one process; use 1 here")
    part_ids = [rank] if world > 1 else list(range(parts))
    part_batch = batch // parts
    rngs = [np.random.default_rng(_part_seed(seed, r)) for r in part_ids]
    # a topological patch as large as the crop is the crop itself: sampling it
    # ``topo_patches`` times would only count the same patch several times
    per_crop = 1 if topo_patch >= patch else topo_patches
    topos = [
        TopoLoss(
            patch_size=topo_patch,
            patches_per_image=per_crop,
            lam=lam,
            rule=rule,
            frame=True,
            dims=tuple(topo_dims),
            seed=_part_seed(seed, r),
        )
        for r in part_ids
    ]
    param = next(model.parameters())
    device = param.device
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = None
    if warmup_steps > 0:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup_steps))
    # everything above runs at the call, so a bad argument raises there; the steps
    # run as the caller asks for their reports

    def steps_run() -> Iterator[StepReport]:
        try:
            for step in range(1, steps + 1):
                if stop is not None and stop():
                    return
                t0 = time.perf_counter()
                model.train()
                crops = [sample_batch(images, masks, part_batch, patch, g) for g in rngs]
                x, y = torch.cat([c[0] for c in crops]), torch.cat([c[1] for c in crops])
                x, y = x.to(device), y.to(device)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    logits = net(x)
                logits = logits.float()
                bce = F.binary_cross_entropy_with_logits(logits, y)
                if lam > 0:
                    prob = torch.sigmoid(logits)
                    cut = [slice(k * part_batch, (k + 1) * part_batch) for k in range(len(topos))]
                    weighted = sum(t(prob[c], y[c]) for t, c in zip(topos, cut, strict=True))
                    weighted = weighted / len(topos)
                    raw = sum(t.last["raw"] for t in topos) / x.shape[0]
                    used = int(sum(t.last["used"] for t in topos))
                    loss = bce + weighted
                else:
                    raw, used, loss = 0.0, 0, bce
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                numbers = [float(bce.detach()), float(raw), float(loss.detach()), float(used)]
                if world > 1:
                    numbers = _across_ranks(numbers, device, world)
                seconds = time.perf_counter() - t0
                last = step == steps
                report = StepReport(
                    step=step,
                    total_steps=steps,
                    bce=numbers[0],
                    topo=numbers[1],
                    loss=numbers[2],
                    lam=float(lam),
                    seconds=seconds,
                    patches_used=int(round(numbers[3])),
                )
                due = {
                    k: rank == 0 and n > 0 and (step % n == 0 or last)  # rank 0's only
                    for k, n in (("snap", snapshot_every), ("eval", eval_every))
                }
                if preview is not None and due["snap"]:
                    report.snapshot = predict(model, preview)
                if eval_data is not None and due["eval"]:
                    result = evaluate(model, *eval_data, n_patches=eval_patches, seed=seed)
                    report.metrics = result["mean"]
                yield report
        finally:
            model.eval()

    return steps_run()


def _check_data(data, name: str) -> tuple:
    """``data`` as ``(images, masks)``: a pair of equal-length sequences, each image as
    :func:`topoviz.inference.check_image` takes it (0..255 trained a net that
    :func:`topoviz.inference.predict` then refused to run), each mask
    binary and of its image's height and width; else a ValueError saying which."""
    try:
        images, masks = data
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair (images, masks) of two lists, as topoviz.data.load_pairs "
            f"returns; got {type(data).__name__}"
            + (f" of length {len(data)}" if hasattr(data, "__len__") else "")
        ) from None
    if len(images) != len(masks) or not len(images):
        raise ValueError(
            f"{name}: {len(images)} images and {len(masks)} masks; need as many of each, "
            "at least one"
        )
    for i, (image, mask) in enumerate(zip(images, masks, strict=True)):
        a = check_image(image, f"{name}: image {i}")  # as predict checks it
        if np.shape(mask) != a.shape[:2]:
            raise ValueError(
                f"{name}: mask {i} is {np.shape(mask)} but its image is {a.shape[:2]} "
                "(height, width)"
            )
    _check_masks(masks, name)
    return images, masks


def _check_masks(masks, name: str) -> None:
    """Each mask of a training set binary (bool, or numbers 0 and 1), or a ValueError.

    BCE takes the mask as its target and L_topo thresholds it at 0.5, so a 0/255
    mask would train two different things.
    """
    for i, m in enumerate(masks):
        a = np.asarray(m)
        if a.dtype != bool and ((a != 0) & (a != 1)).any():
            lo, hi = float(a.min()), float(a.max())
            hint = " (divide an 8-bit mask by 255)" if hi > 1 else ""
            raise ValueError(
                f"{name}: mask {i} must be binary (0 and 1, or bool); it holds values in "
                f"[{lo:g}, {hi:g}]{hint}"
            )


def _world() -> tuple[int, int]:
    """``(world size, rank)`` of the torch.distributed group, ``(1, 0)`` without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _part_seed(seed: int, part: int) -> int:
    # part 0 keeps the plain seed, so a one-process run is unchanged
    if part == 0:
        return seed
    return int(np.random.default_rng([seed, part]).integers(2**63))


def _across_ranks(numbers: list[float], device: torch.device, world: int) -> list[float]:
    """Means over ranks of the step's numbers (the last one, patches used, summed)."""
    import torch.distributed as dist

    t = torch.tensor(numbers, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    out = (t / world).tolist()
    out[-1] = float(t[-1])
    return out


def pretrain(model: nn.Module, data: Data, steps: int, **kwargs) -> Iterator[StepReport]:
    """The paper's first stage: :func:`fine_tune` with λ = 0 (per-pixel BCE only).

    Trains ``model`` in place, like :func:`fine_tune`; keyword arguments are its.
    """
    kwargs.pop("lam", None)
    return fine_tune(model, data, 0.0, steps, **kwargs)


def evaluate(
    model: nn.Module,
    images: np.ndarray | Sequence[np.ndarray],
    masks: np.ndarray | Sequence[np.ndarray],
    *,
    n_patches: int = 100,
    seed: int = 0,
    names: Sequence[str] | None = None,
    patch_size: int = 65,
    structure: str = "membranes",
    fovs: np.ndarray | Sequence[np.ndarray] | None = None,
) -> dict:
    """The paper's Table 1 numbers of ``model`` on a set: per image, mean ± std.

    Each image's likelihood comes from :func:`topoviz.inference.predict` (whole
    image, tiled if large) and is scored by :func:`evaluate_predictions`
    (thresholded at 0.5, Sec. 3: "we generate segmentations by thresholding the
    predicted likelihood maps at 0.5").

    Parameters
    ----------
    model : nn.Module
        A net returning logits. Not changed.
    images, masks : N×H×W arrays or sequences of H×W arrays
    n_patches, seed, names, patch_size, structure, fovs
        As for :func:`evaluate_predictions`.

    Returns
    -------
    dict
        As :func:`evaluate_predictions`; ``seconds`` includes the predictions.
    """
    t0 = time.perf_counter()
    preds = [predict(model, image) for image in images]
    result = evaluate_predictions(
        preds,
        masks,
        n_patches=n_patches,
        seed=seed,
        names=names,
        patch_size=patch_size,
        structure=structure,
        fovs=fovs,
    )
    result["seconds"] = time.perf_counter() - t0
    return result


def evaluate_predictions(
    preds: np.ndarray | Sequence[np.ndarray],
    masks: np.ndarray | Sequence[np.ndarray],
    *,
    n_patches: int = 100,
    seed: int = 0,
    names: Sequence[str] | None = None,
    patch_size: int = 65,
    structure: str = "membranes",
    fovs: np.ndarray | Sequence[np.ndarray] | None = None,
) -> dict:
    """The paper's Table 1 numbers of a set of segmentations, and the region-level ones.

    Parameters
    ----------
    preds : N×H×W arrays or sequences of H×W arrays
        Likelihoods in [0, 1] (thresholded at 0.5) or binary masks, e.g. the
        references of :func:`topoviz.metrics.one_pixel_references`.
    masks : N×H×W arrays or sequences of H×W arrays
        Ground truths, one per prediction.
    n_patches : int
        Random 65 × 65 patches per image for the Betti error.
    seed : int
        Betti-error patches of image ``i`` use seed ``seed + i``.
    names : sequence of str, optional
        Names of the images, kept in the per-image rows.
    patch_size : int
        Side of the Betti-error patches.
    structure : {"membranes", "curvilinear"}
        What the regions of :func:`topoviz.metrics.region_errors` are: cells
        between membranes, or the components of vessels / cracks / roads.
    fovs : N×H×W bool arrays or sequences of H×W arrays, optional
        Field-of-view masks (a data folder's ``masks/``): every pixel outside is
        given the ground truth's value before scoring
        (:func:`topoviz.data.apply_fov`), so ARI, VOI and the Betti error count only
        what happens inside, and accuracy is the fraction of pixels *inside* that
        are right.

    Returns
    -------
    dict
        ``{"n": N, "structure": str, "per_image": [{"name", "betti_seed" (the seed
        of its Betti error's patches, ``seed + i``), every key of
        metrics.evaluate_all}, ...], "mean": {metric: float}, "std": {metric:
        float}, "total": {count: int}, "betti_parts": {"extra": float, "missing":
        float}, "seconds": float}``; ``mean`` and ``std``
        (population, ddof 0) cover :data:`METRICS` and :data:`REGION_METRICS`;
        ``total`` pools the counts of :data:`COUNTS` over the images. ``betti_parts`` splits
        the mean Betti error by sign: extra holes in the segmentation (spurious
        walls, pinholes) and missing ones (broken membranes).
    """
    if len(preds) != len(masks) or len(preds) == 0:
        raise ValueError(
            f"need as many masks as predictions (>= 1); got {len(preds)}, {len(masks)}"
        )
    t0 = time.perf_counter()
    rows = []
    for i, (pred, mask) in enumerate(zip(preds, masks, strict=True)):
        # the Betti error's patches are drawn with seed + i: said per image, so that a
        # number can be redrawn alone (Inspect draws an upload with seed 0)
        row = {"name": names[i] if names is not None else str(i), "betti_seed": seed + i}
        fov = None if fovs is None else np.asarray(fovs[i], bool)
        pred = apply_fov(pred, mask, fov)
        row.update(
            evaluate_all(
                pred,
                np.asarray(mask),
                patch_size=patch_size,
                n_patches=n_patches,
                seed=seed + i,
                structure=structure,
            )
        )
        if fov is not None:  # errors are all inside: count them over the inside only
            wrong = round((1.0 - row["accuracy"]) * fov.size)
            row["accuracy"] = 1.0 - wrong / max(int(fov.sum()), 1)
        rows.append(row)
    keys = METRICS + REGION_METRICS
    table = np.array([[r[m] for m in keys] for r in rows], np.float64)
    return {
        "n": len(rows),
        "structure": structure,
        "per_image": rows,
        "mean": dict(zip(keys, map(float, table.mean(0)), strict=True)),
        "std": dict(zip(keys, map(float, table.std(0)), strict=True)),
        "total": {c: int(sum(r[c] for r in rows)) for c in COUNTS},
        "betti_parts": {
            part: float(np.mean([r[f"betti_{part}"] for r in rows]))
            for part in ("extra", "missing")
        },
        "seconds": time.perf_counter() - t0,
    }


def format_table(
    results: dict[str, dict], digits: int = 4, metrics: Sequence[str] = METRICS
) -> str:
    """Rows ``name | metric | ...``: ``mean ± std`` per metric, a count's total over images.

    ``results`` maps a row name (a method, a checkpoint) to an :func:`evaluate`
    result. The default columns are the paper's Table 1; pass
    ``metrics=REGION_METRICS`` for the region-level table.
    """
    header = ["Method", *(METRIC_NAMES[m] for m in metrics)]
    lines = [header]
    for name, res in results.items():
        cells = []
        for m in metrics:
            if m in COUNTS:
                cells.append(f"{res['total'][m]} ({res['mean'][m]:.2f}/img)")
            else:
                cells.append(f"{res['mean'][m]:.{digits}f} ± {res['std'][m]:.{digits}f}")
        lines.append([name, *cells])
    return _render(lines)


def format_paired(table: dict[str, dict]) -> str:
    """Rows ``metric | control | method | diff | better | worse | same | p``.

    ``table`` maps a metric to a :func:`topoviz.stats.paired_comparison` result.
    """
    header = ["Metric", "control", "method", "diff", "better", "worse", "same", "p"]
    lines = [header]
    for m, r in table.items():
        lines.append(
            [
                METRIC_NAMES.get(m, m),
                f"{r['control']:.4f}",
                f"{r['method']:.4f}",
                f"{r['diff']:+.4f}",
                str(r["better"]),
                str(r["worse"]),
                str(r["same"]),
                f"{r['p']:.3g}",
            ]
        )
    return _render(lines)


def _render(lines: list[list[str]]) -> str:
    """Aligned text table: the first row is the header, a rule under it."""
    widths = [max(len(row[j]) for row in lines) for j in range(len(lines[0]))]
    out = [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines
    ]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)
