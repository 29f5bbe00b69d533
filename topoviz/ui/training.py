"""Fine-tuning in the app: a run's state, advanced in short chunks.

A page keeps one :class:`Run` (or :class:`Sweep`) in ``st.session_state`` under
:data:`RUN` (:data:`SWEEP`) and calls :func:`live_chunk` from an
``st.fragment(run_every=...)``: each call trains for about :data:`CHUNK_S` seconds
(:func:`advance`, :func:`advance_sweep`) and returns, so a click (Stop, Reset,
another page) is handled between chunks and nothing done so far is lost. Each
browser session has its own ``session_state``, hence its own run. The model of a
run is always a **copy**: a checkpoint cached by ``st.cache_resource`` is shared by
every session and never trained.

Two script runs of one session can touch a run at once: a click starts a new run
at once (Streamlit's ``runner.fastReruns``) while the old one, asked to stop, still
trains to the end of its chunk, as nothing in a chunk calls Streamlit. So each run
holds a lock that :func:`advance` takes for a whole chunk, and a run's ``status``
leaves ``running`` only after its final likelihood ``f`` is set: a page that reads
"not running" may draw the before/after at once.

The functions that draw (:func:`run_buttons`, :func:`rule_select`,
:func:`show_motion`, :func:`one_stop`, :func:`live_chunk`) and :func:`init`,
:func:`start_options`, :func:`start_model` use Streamlit; the others do not, so
they can be tested on their own.
"""

from __future__ import annotations

import atexit
import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import streamlit as st
import torch
from torch import nn

from topoviz import motion, nets
from topoviz.checkpoints import CheckpointError
from topoviz.inference import predict
from topoviz.loss import topo_loss
from topoviz.matching import Matching
from topoviz.metrics import betti_numbers, evaluate_all
from topoviz.persistence import Diagram
from topoviz.provenance import TABLE_PATCHES
from topoviz.train import StepReport, fine_tune, native_bf16
from topoviz.ui import cache
from topoviz.ui import state as S
from topoviz.ui.words import RULE_LABELS

# session-state keys: the runs
RUN = "_ft_run"
CONTROL = "_ft_control"  # (the run, its λ = 0 control's measures after)
CONTROL_ERROR = "_ft_control_error"
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
WINDOW = "ft_window"  # the side of the patch whose diagram moves (0: whole image)
SWEEP_START = "sw_start"
SWEEP_LAMS = "sw_lams"
SWEEP_STEPS = "sw_steps"
SWEEP_LR = "sw_lr"
SWEEP_SEED = "sw_seed"
RULE = "ft_rule"
SWEEP_RULE = "sw_rule"
DIMS = "ft_dims"
SWEEP_DIMS = "sw_dims"
AMP = "ft_amp"

UNTRAINED = "untrained"
UNTRAINED_LABEL = "untrained network — train it here"
UPLOADED = "uploaded"  # the checkpoint uploaded in the sidebar (this session only)
UPLOADED_LABEL = "checkpoint uploaded in the sidebar"
PATCH = 65  # the paper's 65 × 65 training patches (Sec. 3)
CHUNK_S = 2.0  # training time per fragment rerun; drawing and the tick add ~0.3 s to each
TICK_S = 0.2  # run_every of the fragment while a run is going
LAMBDA_CHOICES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Betti-error patches and their seed for before and after, unless a page passes the
#: protocol its image was scored with elsewhere (:func:`topoviz.ui.state.betti_protocol`)
BETTI = (TABLE_PATCHES, 0)
MOTION_DIM = 1  # the diagram that moves: holes (the paper's footnote 8: dimension 1)
MOTION_MIN_PERSISTENCE = 0.02  # dots nearer the diagonal are neither followed nor drawn
MOTION_CONTEXT = 32  # pixels around the patch the net sees when the patch is predicted
SHARP_SIDE = 260  # the moving patch's pictures: pixels stay sharp squares on a projector
MOTION_KEEP = 300  # frames of the trails kept: every chunk of a 300-step run, from step 0

#: The recipes' fine-tune learning rate (models/recipes.sh), for a trained start.
RECIPE_LR = 1e-4
#: The least rate at which an untrained net learns something in a few dozen steps.
UNTRAINED_LR = 1e-3

DEFAULTS = {
    START: "",  # first shipped checkpoint, else untrained (see default_start)
    LAM: 0.1,
    STEPS: 60,
    LR: RECIPE_LR,  # as SWEEP_LR: on the default sample 60 steps at 1e-4 repair its merge
    SEED: 0,
    BATCH: 8,
    PREVIEW_EVERY: 10,
    WINDOW: 65,
    SWEEP_START: "",
    SWEEP_LAMS: [0.0, 0.05, 0.2, 0.5],
    SWEEP_STEPS: 40,
    # the recipes' fine-tune rate: from a trained net, the λ = 0 control then stays near
    # its start (ISBI12 03 from isbi12-f1-unet-bce, 40 steps: false merges 3 -> 3 at
    # 1e-4, 3 -> 9 at 1e-3), so the rows differ by λ, not by the one-image fine-tune
    SWEEP_LR: RECIPE_LR,
    SWEEP_SEED: 0,
    RULE: "paper",
    SWEEP_RULE: "paper",
    DIMS: "1",
    SWEEP_DIMS: "1",
}

#: The dimensions L_topo can train on: the paper's (footnote 8), or components too.
DIMS_LABELS = {"1": "holes (dim 1)", "0,1": "components and holes"}


def _sorted_dims(dims) -> tuple[int, ...]:
    """L_topo's dimensions in order, each once (``(1, 0)`` -> ``(0, 1)``)."""
    return tuple(sorted({int(k) for k in dims}))


def dims_words(dims: tuple[int, ...]) -> str:
    """``(1,)`` -> ``"dim 1"``, ``(0, 1)`` -> ``"dims 0, 1"``."""
    return ("dim " if len(dims) == 1 else "dims ") + ", ".join(str(k) for k in dims)


#: The sides of the patch whose diagram moves while a run trains (0: the whole image).
WINDOW_CHOICES = (65, 129, 0)


def window_label(size: int) -> str:
    return "whole image" if size == 0 else f"{size}×{size} around the costliest hole"


def init() -> None:
    """Fill the control keys with their defaults (once per session)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, copy.copy(value))
    st.session_state.setdefault(AMP, native_bf16())


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
    if up is not None:  # the last upload that could be used: a refused one does not replace it
        up = st.session_state.get(S.GOOD_CHECKPOINT) or up
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


def default_start(options, sidebar: str | None = None) -> str:
    """Where a run starts unless the user says: the λ = 0 control of the pair of the
    sidebar's checkpoint ``sidebar`` (the net a TopoLoss twin is compared with), or
    that checkpoint itself; without one, the first shipped checkpoint (a trained net
    shows TopoLoss at work), else untrained.

    Examples
    --------
    >>> opts = {UNTRAINED: None, "a-bce": {"pair": "a", "lam": 0.0},
    ...         "b-bce": {"pair": "b", "lam": 0.0}, "b-topo": {"pair": "b", "lam": 0.1}}
    >>> default_start(opts, "b-topo"), default_start(opts, "a-bce"), default_start(opts)
    ('b-bce', 'a-bce', 'a-bce')
    >>> default_start(opts | {UPLOADED: {"upload": None}}, UPLOADED)
    'uploaded'
    """
    entry = options.get(sidebar) if sidebar else None
    if entry and "upload" in entry:
        return sidebar
    if entry:
        control = next(
            (
                name
                for name, e in options.items()
                if e and e.get("pair") and e.get("pair") == entry.get("pair") and not e.get("lam")
            ),
            None,
        )
        return control or sidebar
    return next((name for name in options if name != UNTRAINED), UNTRAINED)


def keep_start(key: str, options) -> None:
    """Set the starting model ``st.session_state[key]`` to :func:`default_start`, and
    keep it following the sidebar's checkpoint until the user picks another."""
    auto = f"{key}_auto"
    sidebar = S.checkpoint_in_use()
    if sidebar is None and st.session_state.get(S.LIKELIHOOD) == "upload" and UPLOADED in options:
        sidebar = UPLOADED  # f comes from the uploaded net: fine-tune that one
    derived = default_start(options, sidebar)
    current = st.session_state.get(key)
    if current not in options or current == st.session_state.get(auto):
        st.session_state[key] = derived
    st.session_state[auto] = derived


def lr_words(start: str, lr: float) -> str | None:
    """A warning when the learning rate ``lr`` does not suit the starting model
    ``start``, or None: an untrained net learns little below :data:`UNTRAINED_LR`;
    from :data:`UNTRAINED_LR` up a trained net's first steps can undo some of what it
    learnt, with or without L_topo (bench/bench_lambda_lr.py: the λ = 0 control of
    ISBI12 image 03 went from 3 false merges to 9 in 40 steps at 1e-3, to 3 at 1e-4),
    which a reader can take for L_topo's doing.

    Examples
    --------
    >>> lr_words(UNTRAINED, 1e-3) is None, lr_words("a-bce", 1e-4) is None
    (True, True)
    >>> lr_words(UNTRAINED, 1e-4)[:47]
    'An untrained start learns little at lr 0.0001 i'
    >>> lr_words("a-bce", 1e-3)[:40]
    'lr 0.001 moves a trained net fast: its f'
    """
    if start == UNTRAINED:
        if lr >= UNTRAINED_LR:
            return None
        return (
            f"An untrained start learns little at lr {lr:g} in a few steps: choose "
            f"{UNTRAINED_LR:g} or more ({RECIPE_LR:g}, the default, suits a trained start)."
        )
    if lr < UNTRAINED_LR:
        return None
    return (
        f"lr {lr:g} moves a trained net fast: its first steps can undo some of what it "
        "learnt, with or without L_topo (the recipes fine-tune at "
        f"{RECIPE_LR:g}). Read a change as L_topo's only beside the λ = 0 control."
    )


def start_warning(image, options, choice: str, name: str = "") -> None:
    """Under a starting-model choice: which net it is when it is not the sidebar's (the
    sidebar's λ = 0 control), and warnings when the image looks unlike its data or
    when its file ``name`` is numbered like an image that net trained on."""
    entry = start_entry(choice, options)
    if image is None or not entry:
        return
    from topoviz import provenance
    from topoviz.ui.sidebar import domain_warning, plain

    sidebar = S.checkpoint_in_use()
    if sidebar and sidebar != choice and choice == default_start(options, sidebar):
        st.caption(
            f"Starts from {choice}, the λ = 0 control of the sidebar's {sidebar}: the net "
            "its TopoLoss twin was fine-tuned from and is compared with. Choose the "
            "starting model above to start from another."
        )
    words = domain_warning(image, entry, "the starting model")
    if words:
        st.warning(words)
    net = "the uploaded checkpoint" if choice == UPLOADED else choice
    seen = provenance.seen_in_training(entry, name, net) if name else None
    if seen is not None and seen[0]:
        st.warning(plain(seen[1], 400))  # names from an uploaded file's meta: as text


def on_this_image(run, sel) -> bool:
    """Whether ``run`` trained on the image and mask the sidebar shows now (``sel``)."""
    return (
        sel.image is not None
        and sel.mask is not None
        and run.image.shape == sel.image.shape
        and run.mask.shape == sel.mask.shape
        and bool(np.array_equal(run.image, sel.image))
        and bool(np.array_equal(run.mask, sel.mask))
    )


def other_image_words(run, what: str = "run", button: str = "Start") -> str:
    """What the page says above a ``what`` ("run", "sweep") made on another image than
    the sidebar's; ``button`` is the page's start button."""
    return (
        f"These results are of the last {what}, on {run.name} from the "
        f"{start_label(run.start)}, not of the image in the sidebar now. Press {button} "
        "to train on this one."
    )


def start_entry(choice: str, options: dict | None = None) -> dict | None:
    """What is known of the starting model ``choice``: its manifest entry, for the
    uploaded checkpoint :func:`topoviz.provenance.entry_of_meta` of its meta, None for
    an untrained net (or one that no longer loads)."""
    entry = (start_options() if options is None else options).get(choice)
    if not entry or "upload" not in entry:
        return entry
    return S.uploaded_entry(entry["upload"])


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
    shared, _ = cache.model_of(entry)
    return copy.deepcopy(shared)


@st.cache_resource(show_spinner=False, max_entries=2)  # one net size in practice
def warm_bf16(base: int = 16) -> threading.Thread | None:
    """Run two bfloat16 training steps of a throw-away U-Net (``base`` channels, a
    batch of 8 patches of 65²) in a background thread, once per server.

    oneDNN builds its bfloat16 kernels on first use: without this, the first chunks
    of the first run after a server start train at a third of the usual rate. A page
    that can start a run calls this when it opens; the user is still reading it.
    Nothing is done on a CPU without native bfloat16 (None).
    """
    if not native_bf16():
        return None

    def steps() -> None:
        net = nets.build("unet", seed=0, base=base)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        x = torch.rand(8, 1, PATCH, PATCH)
        for _ in range(2):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = net(x).float().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

    thread = threading.Thread(target=steps, name="topoviz-bf16-warmup", daemon=True)
    thread.start()
    # a daemon thread still inside torch when the interpreter exits aborts the process
    # ("terminate called without an active exception", exit code 134): wait for it
    atexit.register(thread.join, 60)
    return thread


def gray(image: np.ndarray) -> np.ndarray:
    """The image as one float32 channel (the nets and the crop sampler take H × W)."""
    image = np.asarray(image, np.float32)
    return image if image.ndim == 2 else image[..., :3].mean(-1)


# ---------------------------------------------------------------- measurements


def measure(
    f: np.ndarray,
    mask: np.ndarray,
    frame: bool = True,
    structure: str = "membranes",
    rule: str = "paper",
    dims: tuple[int, ...] = (1,),
    betti: tuple[int, int] = BETTI,
) -> dict[str, float]:
    """What the pages compare: β of f ≥ 0.5, L_topo of the whole image, every metric.

    ``structure`` says what the regions of the false merges / splits are
    (``topoviz.metrics.region_errors``); L_topo is that of the run: its matching
    ``rule`` on its dimensions ``dims`` (as it trains). ``betti``: the Betti error's
    ``(n_patches, seed)``.
    """
    b0, b1 = betti_numbers(f >= 0.5, frame=frame)
    lt = topo_loss(
        torch.as_tensor(f, dtype=torch.float64),
        mask.astype(np.float64),
        frame=frame,
        rule=rule,
        dims=dims,
    )
    out = {"beta0": float(b0), "beta1": float(b1), "l_topo": float(lt)}
    n_patches, seed = betti
    out.update(evaluate_all(f, mask, seed=seed, structure=structure, n_patches=n_patches))
    return out


# ---------------------------------------------------------------- one run


@dataclass
class Motion:
    """The moving diagram of a run: the patch's newest frame and every dot's trail."""

    step: int
    f: np.ndarray  # the likelihood on the patch at ``step``
    dgm: Diagram
    dgm_g: Diagram
    matching: Matching
    trails: motion.Trails


def diagram_window(
    f: np.ndarray, mask: np.ndarray, frame: bool, size: int, rule: str = "paper"
) -> tuple[int, int, int, int]:
    """The ``size``² patch around the costliest hole of ``f`` (its gap); 0 = whole image."""
    h, w = f.shape
    if size <= 0 or size >= max(h, w):
        return 0, h, 0, w
    dgm, _, m = motion.patch_matching(f, mask, None, frame, "paper" if rule == "betti" else rule)
    d = dgm[MOTION_DIM]
    pixels = np.stack([d.birth_pixel, d.death_pixel], axis=1)
    return motion.costliest_window(pixels, m[MOTION_DIM].dot_cost, (h, w), size)


def patch_likelihood(model: nn.Module, image: np.ndarray, window) -> np.ndarray:
    """f on ``window`` only, the net seeing :data:`MOTION_CONTEXT` pixels around it."""
    r0, r1, c0, c1 = window
    h, w = image.shape[:2]
    a, b = max(0, r0 - MOTION_CONTEXT), min(h, r1 + MOTION_CONTEXT)
    c, d = max(0, c0 - MOTION_CONTEXT), min(w, c1 + MOTION_CONTEXT)
    return predict(model, image[a:b, c:d])[r0 - a : r1 - a, c0 - c : c1 - c]


def motion_frame(run: Run, f: np.ndarray | None = None) -> Motion:
    """Add the diagram of the run's patch now (``f``: the patch's likelihood, else
    predicted) to the run's moving diagram; return it."""
    if f is None:
        f = patch_likelihood(run.model, run.image, run.window)
    r0, r1, c0, c1 = run.window
    dgm, dgm_g, m = motion.patch_matching(
        f, run.mask[r0:r1, c0:c1], None, run.frame, run.rule, (MOTION_DIM,)
    )
    old = run.motion.trails if run.motion is not None else None
    trails = motion.extend(
        old, run.done_steps, dgm, MOTION_DIM, MOTION_MIN_PERSISTENCE, keep=MOTION_KEEP
    )
    run.motion = Motion(run.done_steps, f, dgm, dgm_g, m, trails)
    return run.motion


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
    rule: str = "paper"
    dims: tuple[int, ...] = (1,)  # the dimensions of L_topo (the paper's: 1, footnote 8)
    structure: str = "membranes"  # the regions of merges / splits
    betti: tuple[int, int] = BETTI  # the Betti error's patches and seed (measure)
    amp: bool = False  # the net's forward pass in bfloat16 (train.fine_tune's amp)
    window: tuple[int, int, int, int] | None = None  # the patch whose diagram moves
    motion: Motion | None = None
    wall_start: float | None = None  # time.monotonic() of the first chunk
    wall_end: float | None = None  # ... and of the run's end
    drawn: bool = False  # live_chunk has drawn it once (its first chunk waits for that)
    file_name: str = ""  # the image's file name as given (``name`` is Markdown)
    origin: dict | None = None  # what is known of the start (:func:`start_entry`)
    saved: bytes | None = None  # the fine-tuned checkpoint's file (:func:`checkpoint_bytes`)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def wall_seconds(self) -> float:
        """Seconds since the first chunk began (to the end, once ended): training,
        drawing and the pauses between chunks, what a watcher waits."""
        if self.wall_start is None:
            return 0.0
        return (self.wall_end or time.monotonic()) - self.wall_start

    @property
    def wall_steps_per_s(self) -> float:
        """Steps per second of :attr:`wall_seconds` (the rate the page shows)."""
        wall = self.wall_seconds
        return self.done_steps / wall if wall > 0 else 0.0

    def eta_s(self) -> float | None:
        """Seconds left at the rate so far (None before a rate is known)."""
        rate = self.wall_steps_per_s
        return (self.steps - self.done_steps) / rate if rate > 0 and self.running else None

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
    rule: str = "paper",
    structure: str = "membranes",
    window: int | None = None,
    amp: bool | None = None,
    dims: tuple[int, ...] = (1,),
    betti: tuple[int, int] = BETTI,
    file_name: str = "",
    origin: dict | None = None,
) -> Run:
    """A run that will train ``model`` (in place: pass a copy) on one image and mask.

    ``amp``: the net's forward pass under bfloat16 autocast (None: where this CPU
    computes bf16 natively, :func:`topoviz.train.native_bf16`; L_topo's pairing
    stays float32 either way).

    ``window``: follow the diagram of the ``window``² patch around the costliest hole
    of the starting f after every chunk (0: of the whole image; None: no diagram).
    ``betti``: the Betti error's ``(n_patches, seed)`` before and after (:func:`measure`).
    ``file_name`` and ``origin`` (:func:`start_entry`) go into the fine-tuned
    checkpoint's meta (:func:`fine_tuned_meta`).
    """
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
        rule=rule,
        dims=_sorted_dims(dims),
        structure=structure,
        betti=(int(betti[0]), int(betti[1])),
        amp=native_bf16() if amp is None else bool(amp),
        file_name=str(file_name),
        origin=origin,
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
        rule=run.rule,
        topo_dims=run.dims,
        snapshot_every=run.preview_every,
        preview=image if run.preview_every > 0 else None,
        stop=lambda: run.stop_requested,
        amp=run.amp,
    )
    if window is not None:
        run.window = diagram_window(run.f0, mask, frame, window, rule)
        r0, r1, c0, c1 = run.window
        motion_frame(run, run.f0[r0:r1, c0:c1])
    return run


def _finish(run: Run, status: str) -> None:
    """End ``run`` as ``status``: its final likelihood first, the status last, so
    whoever sees it ended (another script run of the session) finds ``f`` set."""
    if run.gen is not None:
        run.gen.close()  # fine_tune leaves the model in eval mode
        run.gen = None
    run.f = predict(run.model, run.image)
    if run.window is not None and run.motion is not None and run.motion.step < run.done_steps:
        r0, r1, c0, c1 = run.window
        motion_frame(run, run.f[r0:r1, c0:c1])
    run.wall_end = time.monotonic()  # the wait includes the last likelihood
    run.status = status


def advance(run: Run, budget_s: float = CHUNK_S) -> int:
    """Train ``run`` for about ``budget_s`` seconds (at least one step); steps done.

    Every report is stored as soon as its step ends, so an interruption between
    steps loses nothing. The run ends as ``done`` after its last step, ``stopped``
    when :func:`stop` was asked, ``failed`` (with ``error``) if a step raised.
    A second caller waits for the first's chunk to end (the module's docstring).
    """
    with run.lock:
        return _advance(run, budget_s)


def _advance(run: Run, budget_s: float) -> int:
    t0 = time.perf_counter()
    if run.wall_start is None:
        run.wall_start = time.monotonic()
    n = 0
    while run.running:
        if run.stop_requested:
            _finish(run, "stopped")
            break
        t_step = time.perf_counter()
        try:
            report = next(run.gen)
        except StopIteration:
            _finish(run, "stopped" if run.stop_requested else "done")
            break
        except Exception as error:  # noqa: BLE001 — shown on the page, the app goes on
            run.gen = None
            run.error, run.wall_end = f"{type(error).__name__}: {error}", time.monotonic()
            run.status = "failed"
            break
        run.train_seconds += time.perf_counter() - t_step  # training alone
        if report.snapshot is not None:
            run.snapshots.append((report.step, report.snapshot))
            report.snapshot = None
        run.reports.append(report)
        n += 1
        if report.step >= run.steps:
            _finish(run, "done")
        elif time.perf_counter() - t0 >= budget_s:
            break
    if run.running and run.window is not None and n:
        # one frame of the moving diagram per chunk (from this step's snapshot if any)
        crop = None
        if run.snapshots and run.snapshots[-1][0] == run.done_steps:
            r0, r1, c0, c1 = run.window
            crop = run.snapshots[-1][1][r0:r1, c0:c1]
        motion_frame(run, crop)
    return n


def stop(run: Run) -> None:
    """Ask ``run`` to stop; the next :func:`advance` ends it, keeping every step done."""
    run.stop_requested = True


def fine_tuned_meta(run: Run) -> dict:
    """The meta of ``run``'s fine-tuned net, for :func:`topoviz.checkpoints.save`.

    It keeps what the app reads of its start (data, fold, held-out images, the Betti
    error's patches: the same image scores with the same patches when the file is
    uploaded again) and adds the image it was fine-tuned on (``fine_tuned_on``: the
    app then says it has seen that image) and the run's settings.

    Examples
    --------
    >>> run = Run("*a*", None, None, True, "isbi12-f1-unet-bce", 0.1, 60, 1e-4, 0, 8,
    ...           10, None, None, reports=[None] * 42, file_name="dir/03.png",
    ...           origin={"data": "isbi12", "held_out": ["00", "03"], "fold": 1})
    >>> m = fine_tuned_meta(run)
    >>> m["data"], m["held_out"], m["fine_tuned_on"], m["steps"], m["loss"]
    ('isbi12', ['00', '03'], ['03'], {'bce': 0, 'topo': 42}, 'bce+topo')
    """
    from pathlib import PurePath

    origin = run.origin or {}
    stem = PurePath(run.file_name.replace("\\", "/")).stem
    meta: dict = {k: origin[k] for k in ("data", "fold", "folds", "held_out") if k in origin}
    meta["fine_tuned_on"] = [*origin.get("fine_tuned_on", []), *([stem] if stem else [])]
    meta["metrics"] = {"n_patches": int(run.betti[0])}
    meta |= {
        "loss": "bce+topo" if run.lam > 0 else "bce",
        "lam": run.lam,
        "rule": run.rule,
        "topo_dims": list(run.dims),
        "steps": {"bce": 0, "topo": run.done_steps},
        "lr": run.lr,
        "seed": run.seed,
        "batch": run.batch,
        "patch": PATCH,
        "frame": run.frame,
        "amp": "bf16" if run.amp else None,
        "init": start_label(run.start),
        # the shipped net it came from (Inspect offers it as the comparison)
        "fine_tuned_from": run.start
        if run.start not in (UNTRAINED, UPLOADED)
        else origin.get("fine_tuned_from"),
        "recipe": (
            f"Fine-tune live (topoviz app): {run.done_steps} of {run.steps} steps ({run.status}) "
            f"on {run.file_name or 'one image'} from the {start_label(run.start)}"
        ),
        "torch": str(torch.__version__),
    }
    return meta


def checkpoint_bytes(run: Run) -> bytes:
    """The fine-tuned net of the ended ``run`` as a checkpoint file
    (:func:`topoviz.checkpoints.save`), made once."""
    import io

    from topoviz import checkpoints

    if run.saved is None:
        buffer = io.BytesIO()
        checkpoints.save(buffer, run.model, fine_tuned_meta(run))
        run.saved = buffer.getvalue()
    return run.saved


def download_button(run: Run, key: str) -> None:
    """The fine-tuned net of the ended ``run`` as a checkpoint file to download: upload
    it in the sidebar (Source of f: Upload a checkpoint) to inspect it, or load it with
    ``topoviz.checkpoints.load``. Nothing for a failed run or one without a step."""
    from topoviz.ui.export import download_name

    if run.status == "failed" or not run.done_steps:
        return
    try:
        data = checkpoint_bytes(run)
    except ValueError as error:  # a diverged run: save refuses NaN weights
        st.warning(f"The fine-tuned net cannot be downloaded: {error}.")
        return
    st.download_button(
        "Download the fine-tuned net (.pt)",
        data,
        file_name=download_name(run.file_name or "image", f"finetuned_{run.done_steps}steps.pt"),
        mime="application/octet-stream",
        key=key,
        help="A topoviz checkpoint of the net after this run. Upload it in the sidebar "
        "(Source of f: Upload a checkpoint) to inspect it on any image, or load it with "
        "topoviz.checkpoints.load. It records its start, this run's settings and the image "
        "it was fine-tuned on, which the app then names as seen in training.",
    )


def control_verdict(before: float, after: float, control: float) -> str:
    """What a run and its λ = 0 control say of L_topo, from the false merges before,
    after the run and after the control (the Lesson's step 8).

    Examples
    --------
    >>> control_verdict(1, 0, 1)[:43]
    'With L_topo the merged cells came apart (1 '
    >>> control_verdict(1, 0, 0)[:38]
    'BCE alone parted them too on these cro'
    """
    shallow = (
        " This gap is shallow: trained with five seeds (other crops) at three lengths, "
        "this step parted the cells with L_topo in every run, with BCE alone in about half "
        "(bench/bench_lesson.py): which crops BCE happens to see decides it, where L_topo "
        "aims at the gap."
    )
    if after < before <= control:
        return (
            f"With L_topo the merged cells came apart ({before:.0f} false merge → "
            f"{after:.0f}); BCE alone, on the same crops for the same steps, left "
            f"{control:.0f}. That difference is L_topo's doing." + shallow
        )
    if after < before and control < before:
        return "BCE alone parted them too on these crops, as L_topo did." + shallow
    if control < before:
        return "BCE alone parted them on these crops; L_topo did not in these steps." + shallow
    return "Neither run parted the merged cells in these steps." + shallow


def held_control(key: str, run: Run) -> dict | None:
    """The measures after ``run``'s λ = 0 control kept under ``key`` by
    :func:`train_control`, or None (none trained, or for another run)."""
    held = st.session_state.get(key)
    return held[1] if held is not None and held[0] is run else None


def train_control(key: str, run: Run) -> str | None:
    """Train ``run``'s λ = 0 control (:func:`control_of`, a few seconds) and keep its
    measures under ``key``; the words of what went wrong, or None."""
    try:
        st.session_state[key] = (run, control_of(run))
    except (RuntimeError, ValueError, OSError) as error:
        return f"The control could not be trained: {error}"
    return None


def control_of(run: Run) -> dict:
    """The measures after the λ = 0 control of the finished ``run``: the same start,
    seed (so the same crops, in the same order), steps, rate, batch, rule and bfloat16
    setting, without L_topo, trained now. What a single run cannot tell apart: what
    L_topo did, and what the fine-tune on this one image did anyway."""
    control = new_run(
        start_model(run.start, run.seed),
        run.image,
        run.mask,
        lam=0.0,
        steps=run.done_steps,
        lr=run.lr,
        seed=run.seed,
        batch=run.batch,
        preview_every=0,
        name=run.name,
        frame=run.frame,
        start=run.start,
        f0=run.f0,
        rule=run.rule,
        structure=run.structure,
        amp=run.amp,
        dims=run.dims,
        betti=run.betti,
    )
    while control.running:
        advance(control, 60.0)
    if control.status != "done":
        raise RuntimeError(control.error or f"the control ended {control.status}")
    return compare(control)[1]


def compare(run: Run) -> tuple[dict, dict]:
    """``(before, after)`` measurements of a finished run (computed once, then kept)."""
    if run.before is None:
        run.before = measure(
            run.f0, run.mask, run.frame, run.structure, run.rule, run.dims, run.betti
        )
    if run.after is None and run.f is not None:
        run.after = measure(
            run.f, run.mask, run.frame, run.structure, run.rule, run.dims, run.betti
        )
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
    rule: str = "paper"
    dims: tuple[int, ...] = (1,)  # the dimensions of L_topo
    structure: str = "membranes"  # the regions of merges / splits
    betti: tuple[int, int] = BETTI  # the Betti error's patches and seed (measure)
    drawn: bool = False  # live_chunk has drawn it once (its first chunk waits for that)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

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
    rule: str = "paper",
    structure: str = "membranes",
    dims: tuple[int, ...] = (1,),
    betti: tuple[int, int] = BETTI,
) -> Sweep:
    image = gray(image)
    dims = _sorted_dims(dims)
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
        before=measure(f0, mask, frame, structure, rule, dims, betti),
        betti=betti,
        structure=structure,
        rule=rule,
        dims=dims,
    )


def _result(run: Run) -> dict:
    row = {"lam": run.lam, "steps": run.done_steps, "status": run.status}
    row.update(measure(run.f, run.mask, run.frame, run.structure, run.rule, run.dims, run.betti))
    last = run.reports[-1] if run.reports else None
    row["bce_last"] = last.bce if last else float("nan")
    row["topo_last"] = last.topo if last else float("nan")
    row["seconds"] = run.train_seconds
    return row


def advance_sweep(sweep: Sweep, budget_s: float = CHUNK_S) -> int:
    """Train the sweep for about ``budget_s`` seconds; steps done. A λ's row is added
    when its run ends (a stopped run's row says how many steps it had). A second
    caller waits for the first's chunk to end, as in :func:`advance`."""
    with sweep.lock:
        return _advance_sweep(sweep, budget_s)


def _advance_sweep(sweep: Sweep, budget_s: float) -> int:
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
                rule=sweep.rule,
                dims=sweep.dims,
                structure=sweep.structure,
                betti=sweep.betti,
            )
        run = sweep.current
        run.stop_requested = sweep.stop_requested
        n += advance(run, max(0.0, budget_s - (time.perf_counter() - t0)))
        if run.status == "failed":
            sweep.error, sweep.status = run.error, "failed"
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


def one_stop(running: bool) -> None:
    """The page style of a page that trains in chunks: one Stop, no flashing.

    Each chunk reruns the fragment, and the first chunk runs inside the full rerun
    that Start causes: the page stays at full opacity always (the old page, still on
    screen while a rerun goes, carries the rule too). The toolbar's own Stop ends the
    script run, not the training, which the next tick resumes: it is never shown
    (it flashed beside ours just after Start, and on λ experiments a click on it was
    a Stop that did nothing). While a run goes, the whole "Running…" widget is
    hidden (every chunk would flash it).
    """
    hide = (
        '[data-testid="stStatusWidget"] {visibility: hidden;}'
        if running
        else '[data-testid="stStatusWidget"] button {display: none;}'
    )
    st.markdown(
        '<style>[data-stale="true"] {opacity: 1 !important; transition: none !important;}'
        f"{hide}</style>",
        unsafe_allow_html=True,
    )


def live_chunk(job: Run | Sweep, drawn_running: bool) -> None:
    """One chunk of ``job`` from a page's fragment; the whole page reruns once the job
    has ended, if it was drawn for a running job (Start disabled, Stop enabled).

    Whoever finds the job ended reruns the page, not only the chunk that ended it:
    that chunk may belong to a script run already replaced by a click's (the
    module's docstring), whose ``st.rerun()`` is lost. A Stop clicked as a run ended
    left a page that said "stopped" under an enabled Stop, without its before/after.

    A new job's first call only draws it. That call is part of the script run of the
    Start click, and the page's old result (the last run's before / after, below the
    fragment) stayed on screen, faded, until that script run ended: a chunk there
    kept it for the chunk's 2 s. The next call, the fragment's first tick, trains.
    """
    if job.running and not job.drawn:
        job.drawn = True
    elif job.running:
        if isinstance(job, Sweep):
            advance_sweep(job)
        else:
            advance(job)
    if drawn_running and not job.running:
        st.rerun()  # the whole page: its buttons, and what shows a finished job


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
        help="A new run from the starting model"
        + (
            "; the last one's result is replaced (a stopped run is not continued)."
            if has_run
            else "."
        ),
    )
    cols[1].button(
        "Stop",
        key=f"{prefix}_stop_btn",
        icon=":material/stop:",
        on_click=stop,
        disabled=not running,
        width="stretch",
        help="Ends the run after the step in progress: the steps done are kept and measured. "
        f"{start_label} then begins a new run.",
    )
    cols[2].button(
        "Reset",
        key=f"{prefix}_reset_btn",
        icon=":material/restart_alt:",
        on_click=reset,
        disabled=not has_run,
        width="stretch",
    )


#: The learning rates a run can use.
LR_CHOICES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
LR_HELP = (
    f"{RECIPE_LR:g} is the recipes' fine-tune rate, for a trained start; an untrained net "
    f"needs {UNTRAINED_LR:g} or more. A larger rate moves the λ = 0 control too."
)


def lr_select(key: str, disabled: bool) -> None:
    """The learning-rate slider of a run (kept across pages like the other controls)."""
    S.persistent(
        key,
        st.select_slider,
        "Learning rate",
        list(LR_CHOICES),
        format_func=lambda v: f"{v:g}",
        disabled=disabled,
        help=LR_HELP,
    )


def steps_lr_seed(
    cols, keys: tuple[str, str, str], disabled: bool, steps_label: str, max_steps: int
) -> None:
    """A run's steps slider, learning rate and seed in three columns ``cols``, kept
    under ``keys`` (steps, lr, seed): Fine-tune live's and λ experiments' rows."""
    steps, lr, seed = keys
    with cols[0]:
        S.persistent(steps, st.slider, steps_label, 1, max_steps, step=1, disabled=disabled)
    with cols[1]:
        lr_select(lr, disabled)
    with cols[2]:
        S.persistent(seed, st.number_input, "Seed", 0, 10_000, step=1, disabled=disabled)


def rule_select(key: str, disabled: bool) -> None:
    """The matching-rule selectbox of a run (kept across pages like the other controls)."""
    S.rule_choice("Matching rule", key=key, disabled=disabled)


def dims_select(key: str, disabled: bool) -> None:
    """The selectbox of the dimensions L_topo trains on (kept across pages)."""
    S.persistent(
        key,
        st.selectbox,
        "L_topo on",
        list(DIMS_LABELS),
        format_func=DIMS_LABELS.__getitem__,
        disabled=disabled,
        help="The paper trains and evaluates on holes alone (its footnote 8), as TopoLoss "
        "does by default. Components too is the option the CLI calls --topo-dims 0 1 "
        "(the shipped ISBI12 fold-2 Betti twin trained so).",
    )


def show_motion(run: Run, key: str) -> None:
    """The moving diagram of ``run`` beside its patch (start vs now, changes coloured)."""
    from topoviz import figures

    mo = run.motion
    if mo is None:
        return

    r0, r1, c0, c1 = run.window
    whole = (r1 - r0, c1 - c0) == run.image.shape[:2]
    where = "the whole image" if whole else f"the patch rows {r0}–{r1 - 1}, columns {c0}–{c1 - 1}"
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            figures.diagram_motion(mo.dgm, mo.dgm_g, mo.matching, mo.trails, mo.step),
            key=f"{key}_motion",
        )
    with right:
        f0 = run.f0[r0:r1, c0:c1]
        changed = int(((f0 >= 0.5) != (mo.f >= 0.5)).sum())
        i = st.columns(2)
        i[0].image(
            figures.sharp(f0, SHARP_SIDE), caption="f at the start", clamp=True, width="stretch"
        )
        i[1].image(
            figures.sharp(mo.f, SHARP_SIDE),
            caption=f"f after step {mo.step}",
            clamp=True,
            width="stretch",
        )
        st.image(
            figures.sharp(figures.segmentation_change(f0, mo.f), SHARP_SIDE),
            caption=f"f ≥ 0.5 after step {mo.step}: {changed} pixels of {where} changed "
            "since the start (green added, magenta removed)",
            width="stretch",
        )
    st.caption(
        f"Holes (dimension 1, as in the paper's footnote 8) of f on {where}, framed like a "
        "training patch. Orange arrows: where L_topo pulls each dot (its match, "
        f"{RULE_LABELS[run.rule].split(':')[0]} rule); the faint lines and dots behind a dot: "
        f"where it was after each chunk since step {mo.trails.steps[0]} (coloured: matched to "
        "a ground-truth hole; grey: pushed to the diagonal). L_topo of the patch now: "
        f"{mo.matching.loss:.4f}."
    )
