"""View 5 — fine-tune live: BCE + λ·L_topo on the current image (paper Fig. 6a, Fig. 7)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from topoviz import figures
from topoviz.metrics import betti_numbers
from topoviz.train import native_bf16
from topoviz.ui import current
from topoviz.ui import state as S
from topoviz.ui import training as T
from topoviz.ui.cache import shipped_lambdas
from topoviz.ui.words import REGION_HELP, lambda_phrase

sel = current()
T.init()
if st.session_state[T.AMP]:
    T.warm_bf16()  # in the background, while the page is read
st.title("Fine-tune live")
if S.teaching():
    twins = [
        f"{label} twins {lambda_phrase(lams['paper'])}"
        for data, label in (("isbi12", "ISBI12"), ("crackforest", "CrackForest"))
        if "paper" in (lams := shipped_lambdas(data))
    ]
    st.caption(
        "Train a small network for a few steps with L = L_bce + λ·L_topo (Eq. 2.1) on random "
        f"{T.PATCH}×{T.PATCH} crops of the current image and its mask, and watch the likelihood "
        "change (paper Fig. 7) and the two losses move (Fig. 6a). λ here multiplies L_topo "
        "against a per-pixel *mean* BCE on 65² crops; the authors' code sums L_topo over a "
        "whole image, so their λ ≈ 1e-4 is about 0.006–0.03 here (derived in topoviz.train). "
        + (
            f"Shipped λ (paper's rule): {'; '.join(twins)}; each fold's chosen on a "
            "validation split of its training images. "
            if twins
            else ""
        )
        + "Every session trains its own copy of the model."
    )

run: T.Run | None = st.session_state.get(T.RUN)
running = run is not None and run.running
T.one_stop(running)
options = T.start_options()
can_start = sel.ok and sel.mask is not None


def _change(d: float, fmt: str) -> dict:
    """A metric's delta for a count or loss where lower is better: green down, red up,
    and grey "no change" where it rounds to zero (Streamlit reads "+0" as up)."""
    text = f"{d:+{fmt}}"
    if float(text) == 0:
        return {"delta": "no change", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text, "delta_color": "inverse"}


def _start() -> None:
    sel = st.session_state[S.SELECTION]
    st.session_state.pop(T.ERROR, None)
    try:
        choice = st.session_state[T.START]
        seed = int(st.session_state[T.SEED])
        st.session_state[T.RUN] = T.new_run(
            T.start_model(choice, seed),
            sel.image,
            sel.mask,
            lam=float(st.session_state[T.LAM]),
            steps=int(st.session_state[T.STEPS]),
            lr=float(st.session_state[T.LR]),
            seed=seed,
            batch=int(st.session_state[T.BATCH]),
            preview_every=int(st.session_state[T.PREVIEW_EVERY]),
            name=sel.name_md,
            frame=sel.frame,
            start=choice,
            rule=st.session_state[T.RULE],
            dims=S.dims_of(st.session_state[T.DIMS]),
            structure=S.structure(sel.name, sel.mask),
            window=int(st.session_state[T.WINDOW]),
            amp=bool(st.session_state[T.AMP]),
            betti=S.betti_protocol(sel.name)[:2],
            file_name=sel.name,
            origin=T.start_entry(choice),
        )
    except (ValueError, RuntimeError, OSError) as error:
        st.session_state[T.ERROR] = f"Could not start: {error}"


def _stop() -> None:
    if (r := st.session_state.get(T.RUN)) is not None:
        T.stop(r)


def _reset() -> None:
    st.session_state.pop(T.RUN, None)
    st.session_state.pop(T.ERROR, None)


def _fig7_crop(run: T.Run):
    """How Fig. 7's thumbnails cut each picture: around the run's costliest hole (the
    patch whose diagram moved) or the whole image, as the user chooses. Whole, a
    seventh of the page wide, a one-pixel gap closing was not to be seen."""
    h, w = run.f0.shape
    if run.window is None or tuple(run.window) == (0, h, 0, w):
        return lambda a: a  # no patch, or the whole image
    r0, r1, c0, c1 = run.window
    whole = st.radio(
        "Thumbnails of",
        (False, True),
        format_func=lambda w: (
            "the whole image"
            if w
            else f"the patch around the costliest hole (rows {r0}–{r1 - 1}, columns {c0}–{c1 - 1})"
        ),
        horizontal=True,
        key="ft_fig7_whole",
    )
    return (lambda a: a) if whole else (lambda a: a[r0:r1, c0:c1])


def _train_control(run: T.Run) -> None:
    """Train the λ = 0 control of ``run`` (a few seconds, before the page redraws)."""
    st.session_state.pop(T.CONTROL_ERROR, None)
    if error := T.train_control(T.CONTROL, run):
        st.session_state[T.CONTROL_ERROR] = error


if not sel.ok:
    st.info(sel.missing)
elif sel.mask is None:
    st.info(
        "Fine-tuning needs a ground-truth mask: upload one with your image in the sidebar, "
        "or choose a sample (samples come with their masks)."
    )

T.keep_start(T.START, options)
# three rows, so that no choice is cut at 1280 px ("checkpoint membranes-u…"): what
# trains and what is drawn; the run's numbers; the loss's terms and the buttons
c = st.columns([2.2, 1.8, 1.8])
with c[0]:
    S.persistent(
        T.START,
        st.selectbox,
        "Starting model",
        list(options),
        format_func=T.start_label,
        disabled=running,
        help=(
            "A checkpoint from models/manifest.json, a fresh untrained U-Net (base 8), or the "
            "checkpoint uploaded in the sidebar (Source of f: Upload a checkpoint). Training "
            "works on a copy: the checkpoint itself never changes."
        ),
    )
    if len(options) == 1:
        st.caption("No checkpoint in models/manifest.json yet: the run starts untrained.")
with c[1]:
    S.persistent(
        T.WINDOW,
        st.selectbox,
        "Diagram of",
        list(T.WINDOW_CHOICES),
        format_func=T.window_label,
        disabled=running,
        help="The persistence diagram drawn while the net trains: of this patch of the "
        "prediction (centred on the costliest hole of the starting f: the gap TopoLoss "
        "should close), its dots moving along their matching arrows chunk by chunk.",
    )
with c[2]:
    T.rule_select(T.RULE, running)
T.start_warning(
    sel.image, options, st.session_state[T.START], sel.name
)  # full width, under the row
b = st.columns(6)
with b[0]:
    S.persistent(T.LAM, st.slider, "λ", 0.0, 1.0, step=0.01, disabled=running)
T.steps_lr_seed(b[1:4], (T.STEPS, T.LR, T.SEED), running, "Steps", 300)
with b[4]:
    S.persistent(
        T.BATCH,
        st.selectbox,
        f"Batch ({T.PATCH}² patches)",
        [2, 4, 8, 16],
        disabled=running,
    )
with b[5]:
    S.persistent(
        T.PREVIEW_EVERY,
        st.selectbox,
        "f every N steps",
        [1, 5, 10, 20, 50],
        disabled=running,
        help="How often the whole likelihood is predicted and shown. Predicting the whole "
        "image costs about a step; fewer previews train faster.",
    )
if words := T.lr_words(st.session_state[T.START], st.session_state[T.LR]):
    st.warning(words)
d = st.columns([1.8, 1.8, 1, 1, 1])
with d[0]:
    T.dims_select(T.DIMS, running)
with d[1]:
    S.persistent(
        T.AMP,
        st.toggle,
        "bfloat16 forward pass",
        disabled=running,
        help="The net's forward pass in bfloat16 (autocast), L_topo's pairing in float32. "
        + (
            "This CPU computes bfloat16 natively: about 1.5× more steps per second."
            if native_bf16()
            else "This CPU has no native bfloat16: off is faster here."
        ),
    )
T.run_buttons(
    d[2:5],
    "ft",
    "Start",
    start=_start,
    stop=_stop,
    reset=_reset,
    running=running,
    can_start=can_start,
    has_run=run is not None,
)
if error := st.session_state.get(T.ERROR):
    st.error(error)


CURVES = ("BCE", "λ·L_topo", "total")  # the loss curves' traces


def _live(drawn_running: bool) -> None:
    """One chunk of training (while running), then the progress, curves and likelihoods
    (``drawn_running``: :func:`topoviz.ui.training.live_chunk`)."""
    run: T.Run | None = st.session_state.get(T.RUN)
    if run is None:
        st.caption("Press **Start** to train. The run keeps going while you stay on this page.")
        # the loss curves' axes, empty until the first step; drawn now, they also make
        # the browser load its chart code before a run, not during the run's first steps
        left, _ = st.columns(2)
        steps = int(st.session_state[T.STEPS])
        left.plotly_chart(figures.loss_curves([], CURVES, steps), key="ft_curves")
        return
    T.live_chunk(run, drawn_running)
    if not T.on_this_image(run, st.session_state[S.SELECTION]):
        st.warning(T.other_image_words(run))
    word = {"running": "running", "done": "done", "stopped": "stopped", "failed": "failed"}
    eta = run.eta_s()
    eta = f", about {eta:.0f} s to go" if eta is not None else ""
    st.progress(
        run.done_steps / max(1, run.steps),
        text=f"step {run.done_steps} / {run.steps} — {word[run.status]}{eta}",
    )
    if run.status == "failed":
        st.error(f"The run failed: {run.error}")
    last = run.reports[-1] if run.reports else None
    m = st.columns(5)
    m[0].metric(
        "Steps/s",
        f"{run.wall_steps_per_s:.2f}" if run.done_steps else "—",  # not 0.00 before a step
        help="Steps per second since Start, drawing included (what you wait); "
        f"training alone: {run.steps_per_s:.2f} steps/s.",
    )
    on_batch = "Of the last step, on its training batch: "
    m[1].metric(
        "BCE",
        f"{last.bce:.4f}" if last else "—",
        help=on_batch + f"the per-pixel mean over its {run.batch} random 65² crops.",
    )
    m[2].metric(
        "λ·L_topo",
        f"{last.lam * last.topo:.4f}" if last else "—",
        help=on_batch + "λ times L_topo of one framed 65² patch per crop, the mean over "
        "the crops: what the step trains with. Not the whole image's L_topo that the "
        "before / after table reports.",
    )
    m[3].metric(
        "Total loss", f"{last.loss:.4f}" if last else "—", help=on_batch + "BCE + λ·L_topo."
    )
    m[4].metric(
        "Patches with L_topo > 0",
        f"{last.patches_used} / {run.batch}" if last and run.lam > 0 else "—",
    )
    left, right = st.columns([1, 1])
    with left:
        if run.reports:
            st.plotly_chart(
                figures.loss_curves(run.curves(), CURVES, run.steps),
                key="ft_curves",
            )
        else:
            st.caption("The loss curves appear after the first step.")
    step, f = run.latest
    with right:
        i = st.columns(3)
        i[0].image(run.f0, caption="starting f", clamp=True, width="stretch")
        i[1].image(f, caption=f"f after step {step}", clamp=True, width="stretch")
        i[2].image((f >= 0.5).astype("float32"), caption="f ≥ 0.5", clamp=True, width="stretch")
        st.caption(
            f"{run.name}: λ = {run.lam:g}, lr = {run.lr:g}, seed {run.seed}, batch {run.batch}, "
            f"from the {T.start_label(run.start)}"
            + (", forward pass in bfloat16." if run.amp else ".")
        )
    if run.motion is not None:
        st.subheader("The diagram moving while the net trains")
        T.show_motion(run, "ft")


st.fragment(run_every=T.TICK_S if running else None)(_live)(running)

run = st.session_state.get(T.RUN)
if run is not None and not run.running and run.f is not None and not T.on_this_image(run, sel):
    st.caption("The last run's before / after is shown again when its image is in the sidebar.")
elif run is not None and not run.running and run.f is not None:
    if len(run.snapshots) > 1:
        st.subheader("The likelihood during the run (paper Fig. 7)")
        shots = run.snapshots[:: max(1, len(run.snapshots) // 6)][:6]
        crop = _fig7_crop(run)
        row = st.columns(7)  # fixed width: thumbnails, however many snapshots
        row[0].image(crop(run.f0), caption="start", clamp=True, width="stretch")
        for col, (k, snap) in zip(row[1:], shots, strict=False):
            col.image(crop(snap), caption=f"step {k}", clamp=True, width="stretch")
        row = st.columns(7)
        row[0].image(crop(run.mask).astype("float32"), caption="ground truth", width="stretch")
        for col, (k, snap) in zip(row[1:], shots, strict=False):
            col.image(
                (crop(snap) >= 0.5).astype("float32"),
                caption=f"f ≥ 0.5, step {k}",
                width="stretch",
            )

    st.subheader(f"Before and after {run.done_steps} steps ({run.status})")
    big = st.columns(2)
    big[0].image(
        (run.f0 >= 0.5).astype("float32"), caption="before: starting f ≥ 0.5", width="stretch"
    )
    changed = (run.f0 >= 0.5) != (run.f >= 0.5)
    big[1].image(
        figures.segmentation_change(run.f0, run.f),
        caption=f"after: f ≥ 0.5 — {int(changed.sum())} pixels changed: green added, "
        "magenta removed",
        width="stretch",
    )
    with st.spinner("Measuring before and after…"):
        before, after = T.compare(run)
    # two rows of metrics: in one row of seven their labels were cut at 1280 px
    m = st.columns(4) + st.columns(4)[:3]
    m[0].metric(
        "β of f ≥ 0.5 (β0, β1)",
        f"({after['beta0']:.0f}, {after['beta1']:.0f})",
        f"was ({before['beta0']:.0f}, {before['beta1']:.0f})",
        delta_color="off",
        delta_arrow="off",  # "was (…)" is no rise
    )
    gt = betti_numbers(run.mask, frame=run.frame)
    m[1].metric("β ground truth (β0, β1)", f"({gt[0]}, {gt[1]})")
    m[2].metric(
        "L_topo, whole image",
        f"{after['l_topo']:.3f}",
        **_change(after["l_topo"] - before["l_topo"], ".3f"),
        help=f"Over the run's dimensions ({T.dims_words(run.dims)}), with its matching rule "
        f"({run.rule}): the loss as it trains, on the whole image instead of 65² patches. "
        "Diagrams & matching shows the same number with those dimensions and that rule.",
    )
    m[3].metric(
        "Betti error",
        f"{after['betti_error']:.3f}",
        **_change(after["betti_error"] - before["betti_error"], ".3f"),
    )
    costs = (  # what the repair is for, and what it can cost (Inspect's pinholes)
        (m[4], "merges", "False merges", REGION_HELP["merges"]),
        (m[5], "splits", "False splits", REGION_HELP["splits"]),
        (m[6], "pinholes", "Pinholes", REGION_HELP["pinholes"]),
    )
    for col, key, label, words in costs:
        col.metric(
            label, f"{after[key]:.0f}", **_change(after[key] - before[key], ".0f"), help=words
        )
    names = {
        "beta0": "β0 of f ≥ 0.5",
        "beta1": "β1 of f ≥ 0.5",
        "l_topo": f"L_topo (whole image, {T.dims_words(run.dims)})",
        "betti_error": "Betti error",
        "merges": "False merges",
        "splits": "False splits",
        "holes_extra": "Extra holes ≥ 25 px (per 256² patch)",
        "pinholes": "Pinholes ≥ 25 px (holes dug into the structure)",
        "fragments": "Fragments ≥ 25 px (pieces cut off a true region)",
        "ari": "ARI",
        "voi": "VOI",
        "voi_merge": "VOI, merge part",
        "voi_split": "VOI, split part",
        "accuracy": "Accuracy",
    }
    table = pd.DataFrame(
        {
            "measure": list(names.values()),
            "before": [before[k] for k in names],
            "after": [after[k] for k in names],
        }
    )
    table["change"] = table["after"] - table["before"]
    control = T.held_control(T.CONTROL, run)
    if control is not None:  # the same run without L_topo: what L_topo itself did
        table["λ = 0 control"] = [control[k] for k in names]
        table["after − control"] = table["after"] - table["λ = 0 control"]
    # a change of 1e-16 (VOI's merge part) reads "0.0000000000000001": round, and + 0.0
    # turns the -0.0 of rounding into 0.0
    numbers = table.columns[1:]
    table[numbers] = table[numbers].round(6) + 0.0
    # every row in view: 35 px a row and the header (it had scrolled after ARI)
    st.dataframe(table, hide_index=True, key="ft_compare", height=35 * (len(table) + 1) + 3)
    if run.lam > 0 and control is None and run.status == "done":
        st.button(
            "Train its λ = 0 control",
            key="ft_control_btn",
            on_click=_train_control,
            args=(run,),
            help="The same start, crops, steps and rate without L_topo (a few seconds): "
            "the column it adds says what L_topo did beyond the fine-tune itself.",
        )
    if error := st.session_state.get(T.CONTROL_ERROR):
        st.error(error)
    T.download_button(run, key="ft_download")
    st.caption(
        f"Before = the {T.start_label(run.start)}; after = the same model trained "
        f"{run.done_steps} steps in {run.train_seconds:.1f} s of training ({run.steps_per_s:.2f} "
        "steps/s; the Steps/s above also counts the drawing between chunks). "
        f"Betti error: mean |Δβ1| over {run.betti[0]} random framed 65×65 patches (seed "
        f"{run.betti[1]}), as Inspect measures this image. One image, "
        "trained on and measured on: this shows the mechanism, not generalisation. "
        + (
            "The λ = 0 control trained the same start on the same crops for the same steps "
            "without L_topo: *after − control* is what L_topo did beyond the fine-tune itself."
            if control is not None
            else "And one run has no control: the same steps at λ = 0 can change as much (on "
            "the default sample BCE alone repairs its false merge too). *Train its λ = 0 "
            "control* adds that run as a column; λ experiments trains one beside each λ."
        )
    )
