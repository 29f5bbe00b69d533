"""View 6 — λ experiments: a small sweep, accuracy against Betti error (paper Fig. 6b)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from topoviz import figures
from topoviz.train import native_bf16
from topoviz.ui import current
from topoviz.ui import state as S
from topoviz.ui import training as T
from topoviz.ui.words import REGION_HELP

sel = current()
T.init()
T.warm_bf16()  # sweeps train in bfloat16 where the CPU has it (train.native_bf16)
st.title("λ experiments")
st.caption(
    "**A one-image demo.** Each λ fine-tunes the same starting model with the same seed "
    "(same crops, same order) for the same number of steps on the current image, and is "
    "measured on that same image. Read each λ against the λ = 0 row, the control: it "
    "trained the same way without L_topo, so the difference is what L_topo did. The "
    "paper's Fig. 6b is a cross-validated sweep over a data set: run `python -m topoviz "
    "train` and `python -m topoviz evaluate` for that."
    + (
        " Every λ trains with the net's forward pass in bfloat16 (this CPU computes it "
        "natively, about 1.5× faster; L_topo's pairing stays float32)."
        if native_bf16()
        else ""
    )
)
if S.teaching():
    st.caption(
        "The paper finds that a little λ lowers the Betti error at a small cost in pixel "
        "accuracy, and that too much λ hurts both (L_topo alone cannot find a sensible "
        "likelihood). λ here multiplies L_topo against a per-pixel mean BCE (see topoviz.train)."
    )

sweep: T.Sweep | None = st.session_state.get(T.SWEEP)
running = sweep is not None and sweep.running
T.one_stop(running)
options = T.start_options()
can_start = sel.ok and sel.mask is not None


def _start() -> None:
    sel = st.session_state[S.SELECTION]
    st.session_state.pop(T.SWEEP_ERROR, None)
    lams = list(st.session_state[T.SWEEP_LAMS])
    if not lams:
        st.session_state[T.SWEEP_ERROR] = "Choose at least one λ."
        return
    try:
        choice = st.session_state[T.SWEEP_START]
        seed = int(st.session_state[T.SWEEP_SEED])
        st.session_state[T.SWEEP] = T.new_sweep(
            T.start_model(choice, seed),
            sel.image,
            sel.mask,
            lams,
            steps=int(st.session_state[T.SWEEP_STEPS]),
            lr=float(st.session_state[T.SWEEP_LR]),
            seed=seed,
            name=sel.name_md,
            frame=sel.frame,
            start=choice,
            rule=st.session_state[T.SWEEP_RULE],
            dims=S.dims_of(st.session_state[T.SWEEP_DIMS]),
            structure=S.structure(sel.name, sel.mask),
            betti=S.betti_protocol(sel.name)[:2],
        )
    except (ValueError, RuntimeError, OSError) as error:
        st.session_state[T.SWEEP_ERROR] = f"Could not start: {error}"


def _stop() -> None:
    if (s := st.session_state.get(T.SWEEP)) is not None:
        s.stop_requested = True


def _reset() -> None:
    st.session_state.pop(T.SWEEP, None)
    st.session_state.pop(T.SWEEP_ERROR, None)


if not sel.ok:
    st.info(sel.missing)
elif sel.mask is None:
    st.info(
        "A λ sweep needs a ground-truth mask: upload one with your image in the sidebar, "
        "or choose a sample (samples come with their masks)."
    )

T.keep_start(T.SWEEP_START, options)
# the start and the λ values wide (a fourth λ chip was hidden at 1280 px), then the rest
top = st.columns([1, 1])
c = [*top, *st.columns(3)]
with c[0]:
    S.persistent(
        T.SWEEP_START,
        st.selectbox,
        "Starting model (the same for every λ)",
        list(options),
        format_func=T.start_label,
        disabled=running,
    )
with c[1]:
    S.persistent(
        T.SWEEP_LAMS,
        st.multiselect,
        "λ values",
        list(T.LAMBDA_CHOICES),
        format_func=lambda v: f"{v:g}",
        disabled=running,
    )
T.steps_lr_seed(c[2:5], (T.SWEEP_STEPS, T.SWEEP_LR, T.SWEEP_SEED), running, "Steps per λ", 200)
T.start_warning(sel.image, options, st.session_state[T.SWEEP_START], sel.name)  # full width
if words := T.lr_words(st.session_state[T.SWEEP_START], st.session_state[T.SWEEP_LR]):
    st.warning(words)
b = st.columns([2, 1, 1, 1, 1])
with b[0]:
    T.rule_select(T.SWEEP_RULE, running)
    T.dims_select(T.SWEEP_DIMS, running)
T.run_buttons(
    b[1:],
    "sw",
    "Start sweep",
    start=_start,
    stop=_stop,
    reset=_reset,
    running=running,
    can_start=can_start,
    has_run=sweep is not None,
)
if error := st.session_state.get(T.SWEEP_ERROR):
    st.error(error)


def _name(key: str, sweep: T.Sweep) -> str:
    """A column's name; L_topo's names its dimensions (the sweep's choice)."""
    name = _COLS[key][0]
    return f"{name} ({T.dims_words(sweep.dims)})" if key == "l_topo" else name


def _table(sweep: T.Sweep) -> pd.DataFrame:
    def row(lam: str, steps: int, r: dict) -> dict:
        return {
            "λ": lam,
            "steps": steps,
            "β0, β1": f"{r['beta0']:.0f}, {r['beta1']:.0f}",
            # accuracy in percent with two places: "percent" printed 99% beside 99.02%
            **{_name(k, sweep): r[k] * (100 if k == "accuracy" else 1) for k in _COLS},
        }

    rows = [row("start", 0, sweep.before)]
    rows += [row(f"{r['lam']:g}", r["steps"], r) for r in sweep.results]
    return pd.DataFrame(rows)


#: The table's numbers, with their formats: twelve columns of eight decimals were cut
#: at 1280 px (β0 clipped, β1 out of view).
_COLS = {  # key: (column, format)
    "accuracy": ("Accuracy (%)", "%.2f"),
    "merges": ("False merges", "%d"),
    "splits": ("False splits", "%d"),
    "pinholes": ("Pinholes", "%d"),
    "betti_error": ("Betti error", "%.3f"),
    "ari": ("ARI", "%.3f"),
    "voi": ("VOI", "%.3f"),
    "l_topo": ("L_topo", "%.3f"),
}


def _live(drawn_running: bool) -> None:
    """One chunk of the sweep (while running), then its progress, plot and table
    (``drawn_running``: :func:`topoviz.ui.training.live_chunk`)."""
    sweep: T.Sweep | None = st.session_state.get(T.SWEEP)
    if sweep is None:
        st.caption("Press **Start sweep**: the λ values run one after another.")
        return
    T.live_chunk(sweep, drawn_running)
    if not T.on_this_image(sweep, st.session_state[S.SELECTION]):
        st.warning(T.other_image_words(sweep, "sweep", "Start sweep"))
    now = (
        f"λ = {sweep.current.lam:g}, step {sweep.current.done_steps} / {sweep.steps}"
        if sweep.current is not None
        else sweep.status
    )
    st.progress(sweep.progress, text=f"{len(sweep.results)} / {len(sweep.lams)} λ finished — {now}")
    if sweep.status == "failed":
        st.error(f"The sweep failed: {sweep.error}")
    steps = sum(r["steps"] for r in sweep.results) + (
        sweep.current.done_steps if sweep.current is not None else 0
    )
    rate = steps / sweep.train_seconds if sweep.train_seconds > 0 else 0.0
    st.caption(
        f"{sweep.name}, from the {T.start_label(sweep.start)}, seed {sweep.seed}, "
        f"lr {sweep.lr:g}: {rate:.2f} steps/s (including the evaluation after each λ)."
    )
    if sweep.results:
        fig = figures.lambda_sweep(sweep.results, before=sweep.before)
        left, right = st.columns([1, 1])
        left.plotly_chart(fig, key="sw_plot")
        right.plotly_chart(figures.lambda_regions(sweep.results, sweep.before), key="sw_regions")
        st.caption(
            "The trade TopoLoss makes, region by region: "
            + REGION_HELP["merges"].split(":")[0].lower()
            + " (a broken structure) against false splits (a spurious wall or "
            "piece) and pinholes (holes of 25 px or more dug into the true structure). The "
            "accuracy axis is on the left, the counts on the right."
        )
    else:
        st.caption("A point appears when the first λ has finished.")
    # full width below the plots: in a half column the table was cut off
    st.dataframe(
        _table(sweep),
        hide_index=True,
        key="sw_table",
        width="stretch",
        column_config={
            _name(k, sweep): st.column_config.NumberColumn(
                format=fmt,
                help=f"On the whole image, over {T.dims_words(sweep.dims)}"
                if k == "l_topo"
                else None,
            )
            for k, (_, fmt) in _COLS.items()
        },
    )
    if sweep.status == "stopped":
        st.caption("Stopped: a λ stopped early shows its steps in the table.")


st.fragment(run_every=T.TICK_S if running else None)(_live)(running)
