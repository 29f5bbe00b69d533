"""Fine-tuning in the app: a run's state, advanced in short chunks.

A page keeps one :class:`Run` (or :class:`Sweep`) in ``st.session_state`` under
:data:`RUN` (:data:`SWEEP`) and calls :func:`advance` (:func:`advance_sweep`) from an
``st.fragment(run_every=...)``: each call trains for about :data:`CHUNK_S` seconds
and returns, so a click (Stop, Reset, another page) is handled between chunks and
nothing done so far is lost. Each browser session has its own ``session_state``,
hence its own run. The model of a run is always a **copy**: a checkpoint cached by
``st.cache_resource`` is shared by every session and never trained.

The functions here other than :func:`init`, :func:`start_options` and
:func:`start_model` do not touch Streamlit, so they can be tested on their own.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from torch import nn

from topoviz import nets
from topoviz.checkpoints import CheckpointError
from topoviz.inference import predict
from topoviz.loss import topo_loss
from topoviz.metrics import betti_numbers, evaluate_all
from topoviz.train import StepReport, fine_tune
from topoviz.ui import cache
from topoviz.ui import state as S

# session-state keys: the runs
RUN = "_ft_run"
SWEEP = "_sweep_run"
ERROR = "_ft_error"
SWEEP_ERROR = "_sweep_error"

# session-state keys: the controls (kept across pages by ``state.persistent``)
START = "ft_start"
LAM = "ft_lam"
STEPS = "ft_steps"
LR = "ft_lr"
SEED = "ft_seed"
BATCH = "ft_batch"
PREVIEW_EVERY = "ft_preview_every"
SWEEP_START = "sw_start"
SWEEP_LAMS = "sw_lams"
SWEEP_STEPS = "sw_steps"
SWEEP_LR = "sw_lr"
SWEEP_SEED = "sw_seed"

UNTRAINED = "untrained"
UNTRAINED_LABEL = "untrained network — train it here"
UPLOADED = "uploaded"  # the checkpoint uploaded in the sidebar (this session only)
UPLOADED_LABEL = "checkpoint uploaded in the sidebar"
PATCH = 65  # the paper's 65 × 65 training patches (Sec. 3)
CHUNK_S = 0.5  # training time per fragment rerun
TICK_S = 0.2  # run_every of the fragment while a run is going
LAMBDA_CHOICES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
EVAL_SEED = 0  # Betti-error patches: the same for before and after

DEFAULTS = {
    START: "",  # first shipped checkpoint, else untrained (see default_start)
    LAM: 0.1,
    STEPS: 60,
    LR: 1e-3,
    SEED: 0,
    BATCH: 8,
    PREVIEW_EVERY: 10,
    SWEEP_START: "",
    SWEEP_LAMS: [0.0, 0.05, 0.2, 0.5],
    SWEEP_STEPS: 40,
    SWEEP_LR: 1e-3,
    SWEEP_SEED: 0,
}


def init() -> None:
    """Fill the control keys with their defaults (once per session)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, copy.copy(value))


# ---------------------------------------------------------------- starting model


def start_options() -> dict[str, dict | None]:
    """``{name: manifest entry}`` of the starting models; :data:`UNTRAINED` maps to None.

    :data:`UPLOADED` is offered while this session holds an uploaded checkpoint that
    loads and takes one-channel images; its entry is ``{"upload": UploadedCheckpoint}``.
    """
    found, _ = cache.manifest()
    options: dict[str, dict | None] = {UNTRAINED: None}
    options |= {e["name"]: e for e in found if e["name"] not in (UNTRAINED, UPLOADED)}
    up = st.session_state.get(S.UPLOADED_CHECKPOINT)
    if up is not None:
        try:
            model, _ = cache.load_uploaded(up)
        except CheckpointError:
            model = None  # the sidebar says why
        if model is not None and model.config.get("in_channels") == 1:
            options[UPLOADED] = {"upload": up}
    return options


def start_label(choice: str) -> str:
    if choice == UPLOADED:
        return UPLOADED_LABEL
    return UNTRAINED_LABEL if choice == UNTRAINED else f"checkpoint {choice}"


def default_start(options) -> str:
    """The first shipped checkpoint (a trained net shows TopoLoss at work), else untrained."""
    return next((name for name in options if name != UNTRAINED), UNTRAINED)


def start_model(choice: str, seed: int) -> nn.Module:
    """A private copy of the starting model ``choice`` (safe to train).

    :data:`UNTRAINED` builds a fresh ``unet`` (base 8) initialised from ``seed`` (a
    private generator: sessions starting at once do not share torch's global one); a
    checkpoint, shipped or uploaded, is deep-copied from the ``st.cache_resource`` that
    every session shares.
    """
    entry = start_options().get(choice)
    if entry is None:
        return nets.build("unet", seed=seed, base=8)
    if "upload" in entry:
        shared, _ = cache.load_uploaded(entry["upload"])
        return copy.deepcopy(shared)
    mtime = cache.checkpoint_path(entry["file"]).stat().st_mtime
    shared, _ = cache.load_model(entry["file"], mtime)
    return copy.deepcopy(shared)


def gray(image: np.ndarray) -> np.ndarray:
    """The image as one float32 channel (the nets and the crop sampler take H × W)."""
    image = np.asarray(image, np.float32)
    return image if image.ndim == 2 else image[..., :3].mean(-1)


# ---------------------------------------------------------------- measurements


def measure(
    f: np.ndarray, mask: np.ndarray, frame: bool = True, structure: str = "membranes"
) -> dict[str, float]:
    """What the pages compare: β of f ≥ 0.5, L_topo of the whole image, every metric.

    ``structure`` says what the regions of the false merges / splits are
    (``topoviz.metrics.region_errors``).
    """
    b0, b1 = betti_numbers(f >= 0.5, frame=frame)
    lt = topo_loss(torch.as_tensor(f, dtype=torch.float64), mask.astype(np.float64), frame=frame)
    out = {"beta0": float(b0), "beta1": float(b1), "l_topo": float(lt)}
    out.update(evaluate_all(f, mask, seed=EVAL_SEED, structure=structure))
    return out


# ---------------------------------------------------------------- one run


@dataclass
class Run:
    """A fine-tuning run in progress or finished (what ``session_state`` holds)."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    frame: bool
    start: str
    lam: float
    steps: int
    lr: float
    seed: int
    batch: int
    preview_every: int
    model: nn.Module
    f0: np.ndarray
    gen: Iterator[StepReport] | None = None
    reports: list[StepReport] = field(default_factory=list)
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)
    status: str = "running"  # running | done | stopped | failed
    stop_requested: bool = False
    train_seconds: float = 0.0
    error: str = ""
    f: np.ndarray | None = None  # the likelihood after the run
    before: dict | None = None
    after: dict | None = None
    structure: str = "membranes"  # the regions of merges / splits

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def done_steps(self) -> int:
        return len(self.reports)

    @property
    def steps_per_s(self) -> float:
        return self.done_steps / self.train_seconds if self.train_seconds > 0 else 0.0

    @property
    def latest(self) -> tuple[int, np.ndarray]:
        """``(step, f)``: the newest likelihood there is (step 0 = the start)."""
        if self.f is not None:
            return self.done_steps, self.f
        return self.snapshots[-1] if self.snapshots else (0, self.f0)

    def curves(self) -> list[dict]:
        """Rows for :func:`topoviz.figures.loss_curves` (paper Fig. 6a: weighted L_topo)."""
        return [
            {"step": r.step, "BCE": r.bce, "λ·L_topo": r.lam * r.topo, "total": r.loss}
            for r in self.reports
        ]


def new_run(
    model: nn.Module,
    image: np.ndarray,
    mask: np.ndarray,
    *,
    lam: float,
    steps: int,
    lr: float = 1e-3,
    seed: int = 0,
    batch: int = 8,
    preview_every: int = 10,
    name: str = "",
    frame: bool = True,
    start: str = UNTRAINED,
    f0: np.ndarray | None = None,
    structure: str = "membranes",
) -> Run:
    """A run that will train ``model`` (in place: pass a copy) on one image and mask."""
    image = gray(image)
    mask = np.asarray(mask, bool)
    run = Run(
        name=name,
        image=image,
        mask=mask,
        frame=frame,
        start=start,
        lam=float(lam),
        steps=int(steps),
        lr=float(lr),
        seed=int(seed),
        batch=int(batch),
        preview_every=int(preview_every),
        model=model,
        f0=predict(model, image) if f0 is None else f0,
        structure=structure,
    )
    run.gen = fine_tune(
        model,
        ([image], [mask]),
        run.lam,
        run.steps,
        batch=run.batch,
        patch=PATCH,
        lr=run.lr,
        seed=run.seed,
        snapshot_every=run.preview_every,
        preview=image if run.preview_every > 0 else None,
        stop=lambda: run.stop_requested,
    )
    return run


def _finish(run: Run, status: str) -> None:
    if run.gen is not None:
        run.gen.close()  # fine_tune leaves the model in eval mode
        run.gen = None
    run.status = status
    run.f = predict(run.model, run.image)


def advance(run: Run, budget_s: float = CHUNK_S) -> int:
    """Train ``run`` for about ``budget_s`` seconds (at least one step); steps done.

    Every report is stored as soon as its step ends, so an interruption between
    steps loses nothing. The run ends as ``done`` after its last step, ``stopped``
    when :func:`stop` was asked, ``failed`` (with ``error``) if a step raised.
    """
    t0 = time.perf_counter()
    n = 0
    while run.running:
        if run.stop_requested:
            _finish(run, "stopped")
            break
        try:
            report = next(run.gen)
        except StopIteration:
            _finish(run, "stopped" if run.stop_requested else "done")
            break
        except Exception as error:  # noqa: BLE001 — shown on the page, the app goes on
            run.gen = None
            run.status, run.error = "failed", f"{type(error).__name__}: {error}"
            break
        if report.snapshot is not None:
            run.snapshots.append((report.step, report.snapshot))
            report.snapshot = None
        run.reports.append(report)
        n += 1
        if report.step >= run.steps:
            _finish(run, "done")
        elif time.perf_counter() - t0 >= budget_s:
            break
    run.train_seconds += time.perf_counter() - t0
    return n


def stop(run: Run) -> None:
    """Ask ``run`` to stop; the next :func:`advance` ends it, keeping every step done."""
    run.stop_requested = True


def compare(run: Run) -> tuple[dict, dict]:
    """``(before, after)`` measurements of a finished run (computed once, then kept)."""
    if run.before is None:
        run.before = measure(run.f0, run.mask, run.frame, run.structure)
    if run.after is None and run.f is not None:
        run.after = measure(run.f, run.mask, run.frame, run.structure)
    return run.before, run.after


# ---------------------------------------------------------------- a λ sweep


@dataclass
class Sweep:
    """One short run per λ, one after another, from the same model and seed."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    frame: bool
    start: str
    lams: list[float]
    steps: int
    lr: float
    seed: int
    model: nn.Module  # the starting model, never trained: each λ trains its own copy
    f0: np.ndarray
    before: dict
    results: list[dict] = field(default_factory=list)
    current: Run | None = None
    status: str = "running"
    stop_requested: bool = False
    train_seconds: float = 0.0
    error: str = ""
    structure: str = "membranes"  # the regions of merges / splits

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def progress(self) -> float:
        done = sum(r["steps"] for r in self.results)
        if self.current is not None:
            done += self.current.done_steps
        return min(1.0, done / max(1, self.steps * len(self.lams)))


def new_sweep(
    model: nn.Module,
    image: np.ndarray,
    mask: np.ndarray,
    lams: list[float],
    *,
    steps: int,
    lr: float = 1e-3,
    seed: int = 0,
    name: str = "",
    frame: bool = True,
    start: str = UNTRAINED,
    structure: str = "membranes",
) -> Sweep:
    image = gray(image)
    mask = np.asarray(mask, bool)
    f0 = predict(model, image)
    return Sweep(
        name=name,
        image=image,
        mask=mask,
        frame=frame,
        start=start,
        lams=sorted({float(v) for v in lams}),
        steps=int(steps),
        lr=float(lr),
        seed=int(seed),
        model=model,
        f0=f0,
        before=measure(f0, mask, frame, structure),
        structure=structure,
    )


def _result(run: Run) -> dict:
    row = {"lam": run.lam, "steps": run.done_steps, "status": run.status}
    row.update(measure(run.f, run.mask, run.frame, run.structure))
    last = run.reports[-1] if run.reports else None
    row["bce_last"] = last.bce if last else float("nan")
    row["topo_last"] = last.topo if last else float("nan")
    row["seconds"] = run.train_seconds
    return row


def advance_sweep(sweep: Sweep, budget_s: float = CHUNK_S) -> int:
    """Train the sweep for about ``budget_s`` seconds; steps done. A λ's row is added
    when its run ends (a stopped run's row says how many steps it had)."""
    t0 = time.perf_counter()
    n = 0
    while sweep.running:
        if sweep.current is None:
            if sweep.stop_requested or len(sweep.results) == len(sweep.lams):
                sweep.status = "stopped" if sweep.stop_requested else "done"
                break
            lam = sweep.lams[len(sweep.results)]
            sweep.current = new_run(
                copy.deepcopy(sweep.model),
                sweep.image,
                sweep.mask,
                lam=lam,
                steps=sweep.steps,
                lr=sweep.lr,
                seed=sweep.seed,
                preview_every=0,
                frame=sweep.frame,
                f0=sweep.f0,
                structure=sweep.structure,
            )
        run = sweep.current
        run.stop_requested = sweep.stop_requested
        n += advance(run, max(0.0, budget_s - (time.perf_counter() - t0)))
        if run.status == "failed":
            sweep.status, sweep.error = "failed", run.error
            sweep.current = None
            break
        if not run.running:
            if run.done_steps > 0:
                sweep.results.append(_result(run))
            sweep.current = None
            if sweep.stop_requested or len(sweep.results) == len(sweep.lams):
                sweep.status = "stopped" if sweep.stop_requested else "done"
                break
        if time.perf_counter() - t0 >= budget_s:
            break
    sweep.train_seconds += time.perf_counter() - t0
    return n


def run_buttons(
    cols,
    prefix: str,
    start_label: str,
    *,
    start,
    stop,
    reset,
    running: bool,
    can_start: bool,
    has_run: bool,
) -> None:
    """Start / Stop / Reset of a long run, in three columns; the callbacks act
    between chunks, so a click never loses the steps already done."""
    cols[0].button(
        start_label,
        key=f"{prefix}_start_btn",
        type="primary",
        icon=":material/play_arrow:",
        on_click=start,
        disabled=running or not can_start,
        width="stretch",
    )
    cols[1].button(
        "Stop",
        key=f"{prefix}_stop_btn",
        icon=":material/stop:",
        on_click=stop,
        disabled=not running,
        width="stretch",
    )
    cols[2].button(
        "Reset",
        key=f"{prefix}_reset_btn",
        icon=":material/restart_alt:",
        on_click=reset,
        disabled=not has_run,
        width="stretch",
    )
