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
over the batch, and the topological term is :class:`topoviz.loss.TopoLoss`, which
returns ``λ · (mean over images of the sum over that image's sampled patches of
L_topo)``. The paper reports λ "at the magnitude of 1/10000" (Sec. 3, ablation)
and does not say how its cross-entropy is reduced. If it is a per-pixel mean, as
here, the paper's λ is λ here: about 1e-4. If it is a *sum* over the ``P = patch²``
pixels of a patch, then ``L_sum + λ_paper L_topo = P · (L_mean + (λ_paper / P)
L_topo)``, so the same balance is ``λ_here = λ_paper / P`` (65² = 4225: about
2e-8). Either way the paper's λ is at most about 1e-4 on this scale. (An earlier
version of this note had the sum case backwards, ``λ_paper · P``; the λ values of
0.01–0.5 tried with it are far above the paper's.) Whatever the reduction, L_topo
pushes only a few critical pixels, so its gradient there can dwarf the per-pixel
BCE gradient even when its share of the loss is small. Tune λ on held-out Betti
error.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from topoviz.data import apply_fov, sample_batch
from topoviz.inference import predict
from topoviz.loss import TopoLoss
from topoviz.metrics import evaluate_all

__all__ = [
    "METRICS",
    "StepReport",
    "fine_tune",
    "pretrain",
    "evaluate",
    "evaluate_predictions",
    "format_table",
]

METRICS = ("accuracy", "ari", "voi", "betti_error")
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "ari": "ARI",
    "voi": "VOI",
    "betti_error": "Betti Error",
}

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
    topo_dims: tuple[int, ...] = (0, 1),
    seed: int = 0,
    warmup_steps: int = 0,
    snapshot_every: int = 0,
    preview: np.ndarray | None = None,
    eval_every: int = 0,
    eval_data: Data | None = None,
    eval_patches: int = 20,
    stop: Callable[[], bool] | None = None,
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
    rule : {"paper", "optimal"}
        Matching rule of L_topo.
    topo_dims : tuple of int
        Homology dimensions L_topo sums over (Eq. 2.2 sums both, ``(0, 1)``).
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

    Yields
    ------
    StepReport

    Notes
    -----
    The model is in training mode during the run (BatchNorm updates its
    statistics) and is left in evaluation mode afterwards. The optimiser is new at
    every call (Adam state is not carried between :func:`pretrain` and this).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0; got {steps}")
    if lam < 0 or not math.isfinite(lam):
        raise ValueError(f"lam must be a finite number >= 0; got {lam}")
    images, masks = data
    rng = np.random.default_rng(seed)
    # a topological patch as large as the crop is the crop itself: sampling it
    # ``topo_patches`` times would only count the same patch several times
    per_crop = 1 if topo_patch >= patch else topo_patches
    topo = TopoLoss(
        patch_size=topo_patch,
        patches_per_image=per_crop,
        lam=lam,
        rule=rule,
        frame=True,
        dims=tuple(topo_dims),
        seed=seed,
    )
    param = next(model.parameters())
    device = param.device
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = None
    if warmup_steps > 0:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup_steps))
    try:
        for step in range(1, steps + 1):
            if stop is not None and stop():
                return
            t0 = time.perf_counter()
            model.train()
            x, y = sample_batch(images, masks, batch, patch, rng)
            x, y = x.to(device), y.to(device)
            logits = model(x)
            bce = F.binary_cross_entropy_with_logits(logits, y)
            if lam > 0:
                weighted = topo(torch.sigmoid(logits), y)
                raw = topo.last["raw"] / x.shape[0]
                used = int(topo.last["used"])
                loss = bce + weighted
            else:
                raw, used, loss = 0.0, 0, bce
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            seconds = time.perf_counter() - t0
            last = step == steps
            report = StepReport(
                step=step,
                total_steps=steps,
                bce=float(bce.detach()),
                topo=float(raw),
                loss=float(loss.detach()),
                lam=float(lam),
                seconds=seconds,
                patches_used=used,
            )
            if preview is not None and snapshot_every > 0 and (step % snapshot_every == 0 or last):
                report.snapshot = predict(model, preview)
            if eval_data is not None and eval_every > 0 and (step % eval_every == 0 or last):
                result = evaluate(model, *eval_data, n_patches=eval_patches, seed=seed)
                report.metrics = result["mean"]
            yield report
    finally:
        model.eval()


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
    n_patches, seed, names, patch_size, fovs
        As for :func:`evaluate_predictions`.

    Returns
    -------
    dict
        As :func:`evaluate_predictions`; ``seconds`` includes the predictions.
    """
    t0 = time.perf_counter()
    preds = [predict(model, image) for image in images]
    result = evaluate_predictions(
        preds, masks, n_patches=n_patches, seed=seed, names=names, patch_size=patch_size, fovs=fovs
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
    fovs: np.ndarray | Sequence[np.ndarray] | None = None,
) -> dict:
    """The paper's Table 1 numbers of a set of segmentations: per image, mean ± std.

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
    fovs : N×H×W bool arrays or sequences of H×W arrays, optional
        Field-of-view masks (a data folder's ``masks/``): every pixel outside is
        given the ground truth's value before scoring
        (:func:`topoviz.data.apply_fov`), so ARI, VOI and the Betti error count only
        what happens inside, and accuracy is the fraction of pixels *inside* that
        are right.

    Returns
    -------
    dict
        ``{"n": N, "per_image": [{"name", "accuracy", "ari", "voi",
        "betti_error", "betti_extra", "betti_missing"}, ...], "mean": {metric:
        float}, "std": {metric: float}, "betti_parts": {"extra": float, "missing":
        float}, "seconds": float}``; std is the population std over images (ddof 0).
        ``betti_parts`` splits the mean Betti error by sign: extra holes in the
        segmentation (spurious walls, pinholes) and missing ones (broken membranes).
    """
    if len(preds) != len(masks) or len(preds) == 0:
        raise ValueError(
            f"need as many masks as predictions (>= 1); got {len(preds)}, {len(masks)}"
        )
    t0 = time.perf_counter()
    rows = []
    for i, (pred, mask) in enumerate(zip(preds, masks, strict=True)):
        row = {"name": names[i] if names is not None else str(i)}
        fov = None if fovs is None else np.asarray(fovs[i], bool)
        pred = apply_fov(pred, mask, fov)
        row.update(
            evaluate_all(
                pred, np.asarray(mask), patch_size=patch_size, n_patches=n_patches, seed=seed + i
            )
        )
        if fov is not None:  # errors are all inside: count them over the inside only
            wrong = round((1.0 - row["accuracy"]) * fov.size)
            row["accuracy"] = 1.0 - wrong / max(int(fov.sum()), 1)
        rows.append(row)
    table = np.array([[r[m] for m in METRICS] for r in rows], np.float64)
    return {
        "n": len(rows),
        "per_image": rows,
        "mean": dict(zip(METRICS, map(float, table.mean(0)), strict=True)),
        "std": dict(zip(METRICS, map(float, table.std(0)), strict=True)),
        "betti_parts": {
            part: float(np.mean([r[f"betti_{part}"] for r in rows]))
            for part in ("extra", "missing")
        },
        "seconds": time.perf_counter() - t0,
    }


def format_table(results: dict[str, dict], digits: int = 4) -> str:
    """Rows ``name | Accuracy | ARI | VOI | Betti Error``, each ``mean ± std``.

    ``results`` maps a row name (a method, a checkpoint) to an :func:`evaluate` result.
    """
    header = ["Method", *(METRIC_NAMES[m] for m in METRICS)]
    lines = [header]
    for name, res in results.items():
        lines.append(
            [name] + [f"{res['mean'][m]:.{digits}f} ± {res['std'][m]:.{digits}f}" for m in METRICS]
        )
    widths = [max(len(row[j]) for row in lines) for j in range(len(header))]
    out = [
        " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in lines
    ]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(out)
