"""View 8 — the lesson: eight steps for a projector, each with its state fixed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from topoviz import figures, metrics
from topoviz.lesson import BASELINE, LIVE, STEPS, TWIN, step_index
from topoviz.loss import critical_targets
from topoviz.ui import cache, current, superlevel
from topoviz.ui import state as S
from topoviz.ui import training as T
from topoviz.ui.cache import diagram_of, matching_of

KEY = "lesson_step"
#: The steps whose text sits beside their picture, not above it: below the text the
#: picture the step is about began at or under a 1280 x 720 projector's fold.
BESIDE = ("problem", "landscape", "filtration", "diagram", "matching", "forces", "finetune")
RUN = "_lesson_run"  # the live fine-tune of the lesson (not the Fine-tune page's run)
SELECTION_KEYS = ("sample", "source", "likelihood", "checkpoint", "frame")

if KEY not in st.session_state:
    st.session_state[KEY] = step_index(st.query_params.get("step", "1"))


def _go(i: int) -> None:
    if (run := st.session_state.get(RUN)) is not None and run.running:
        T.stop(run)  # leaving the fine-tune step ends its run, keeping the steps done
        T.advance(run)
    st.session_state[KEY] = min(max(i, 0), len(STEPS) - 1)
    S.enter_lesson()  # before the step changes the user's view, if not kept yet
    _apply(STEPS[st.session_state[KEY]].state)


def _apply(state: dict) -> None:
    """Set the step's selection (sidebar) and α; the dot is set once f is known."""
    names = {e["name"] for e in cache.manifest()[0]}
    for key in SELECTION_KEYS:
        if key == "checkpoint" and state.get(key) not in names:
            st.session_state[S.LIKELIHOOD] = "image"  # no shipped net: the image as f
            continue
        if key in state:
            st.session_state[key] = state[key]
    st.session_state[S.ALPHA] = float(state.get("alpha", 0.5))


@st.fragment
def _filtration_step(f: np.ndarray, dgm, frame: bool) -> None:
    """A move of α reruns this step's views only, as on the Filtration page."""
    alpha = S.alpha_slider()
    left, right = st.columns(2)
    superlevel.show(left, f, alpha, frame)
    right.plotly_chart(
        figures.betti_curves(dgm, np.linspace(0, 1, 201), alpha), key="lesson_curves"
    )
    S.sync_url()  # α, as the sidebar would on a full run


i = st.session_state[KEY]
step = STEPS[i]
if not st.session_state.get("_lesson_applied") == i:  # first visit of this step (or a link)
    st.session_state["_lesson_applied"] = i
    S.enter_lesson()  # the user's own view, given back on leaving the Lesson
    before = {k: st.session_state.get(k) for k in SELECTION_KEYS}
    state = step.state
    run = st.session_state.get(RUN)
    if step.view == "result" and run is not None and run.f is not None:
        # the result of the live run: the sidebar keeps the net it started from (the
        # "before"), not the shipped twin the step shows when there is no live run
        state = {**state, "checkpoint": BASELINE}
    _apply(state)
    S.lesson_view_set()  # what the Lesson chose: a user who changes it has moved on
    if any(st.session_state.get(k) != v for k, v in before.items()):
        st.rerun()  # the sidebar (drawn before this page) must show the step's selection
st.query_params["step"] = str(i + 1)

sel = current()
st.markdown(
    """<style>
.st-key-lesson_text p, .st-key-lesson_text li {font-size: 1.6rem; line-height: 1.45;}
.st-key-lesson_side p, .st-key-lesson_side li {font-size: 1.35rem; line-height: 1.4;}
.st-key-lesson_text h1 {font-size: 2.6rem;}
</style>""",
    unsafe_allow_html=True,
)
nav = st.columns([2, 2, 5])  # wide enough for the label and its key
# PageUp / PageDown: what a presenter's clicker sends
nav[0].button(
    "◀ Back",
    on_click=_go,
    args=(i - 1,),
    disabled=i == 0,
    width="stretch",
    shortcut="PageUp",
)
nav[1].button(
    "Next ▶",
    on_click=_go,
    args=(i + 1,),
    disabled=i == len(STEPS) - 1,
    type="primary",
    width="stretch",
    shortcut="PageDown",
)
nav[2].progress((i + 1) / len(STEPS), text=f"Step {i + 1} of {len(STEPS)}")
with st.container(key="lesson_text"):
    st.title(f"{i + 1}. {step.title}")
    if step.view not in BESIDE:
        st.markdown(step.text)
side, body = st.columns([1, 2]) if step.view in BESIDE else (st.container(), st.container())
if step.view in BESIDE:
    side.container(key="lesson_side").markdown(step.text)
if not sel.ok or sel.mask is None:
    st.info(sel.missing or "This lesson needs a sample with a ground truth.")
    st.stop()

f, g, frame = sel.f, sel.g, sel.frame
dgm = diagram_of(f, frame)
dgm_g = diagram_of(g, frame)
# the lesson is about holes (cells), as the paper trains (footnote 8): the loss, its
# arrows and its forces are those of dimension 1
m = matching_of(f, g, frame, "paper").restricted((1,))
if step.state.get("dot") == "costliest" and len(m[1].dot_cost):
    S.set_dot((1, int(np.argmax(m[1].dot_cost))))
elif step.state.get("dot") == "":
    S.set_dot(None)
S.sync_url()  # the step's dot in the address bar now, not one step late
dot = S.dot()
pred = f >= 0.5


def _window(d: tuple[int, int] | None, half: int = 20) -> tuple[int, int, int, int] | None:
    # a margin of 12: with 6 the pass sat at the window's edge, far from its floor
    return (
        None if d is None else figures.window_around(figures.dot_pixels(dgm, d), f.shape, half, 12)
    )


def _predicted(name: str) -> np.ndarray | None:
    """f of the shipped checkpoint ``name`` on the lesson's image (None: not shipped)."""
    entry = next((e for e in cache.manifest()[0] if e["name"] == name), None)
    if entry is None:
        return None
    return cache.predict_entry(entry, sel.image)


def _scores(x: np.ndarray) -> dict:
    """``cache.evaluate`` of ``x``, its Betti error drawn as Inspect draws it."""
    n_patches, seed, _ = S.betti_protocol(sel.name)
    return cache.evaluate(x, sel.mask, seed=seed, n_patches=n_patches)


def _result_row(name: str, scores: dict, betti: tuple[int, int]) -> dict:
    """A row of the result table: ``scores`` as :func:`_scores` gives them."""
    return {
        "model": name,
        "accuracy": f"{scores['accuracy']:.2%}",
        "β0, β1": f"{betti[0]:.0f}, {betti[1]:.0f}",
        "false merges": f"{scores['merges']:.0f}",
        "ARI": f"{scores['ari']:.3f}",
        "Betti error": f"{scores['betti_error']:.2f}",
    }


#: The legend's name for the costliest hole's two pixels on steps 2 and 6: dots and
#: their dimensions are taught later (steps 3-4).
MISSING_CELL = "the missing cell: birth = its gap's pass, death = its floor"
#: figures.HIGHLIGHT (#ffbf00) as RGB: the repair's pixels in Lesson step 8.
AMBER = (255, 191, 0)


def _before_after(before: np.ndarray, after: np.ndarray, was: str, now: str) -> None:
    """The segmentations before and after (what changed coloured), then both
    magnified where the topology was repaired, the pixels that did it in amber: a
    few hundred changed pixels are specks on the whole image."""
    c = st.columns(2)
    c[0].image((before >= 0.5).astype("float32"), caption=was, width="stretch")
    changed = int(((before >= 0.5) != (after >= 0.5)).sum())
    picture = figures.segmentation_change(before, after)
    c[1].image(
        picture,
        caption=f"{now}: {changed} pixels changed (green added, magenta removed)",
        width="stretch",
    )
    piece = figures.repair_piece(before, after, sel.mask)
    if piece is None:
        return
    r0, r1, c0, c1 = figures.repair_window(piece, half=10)
    still = figures.segmentation_change(before, before)  # black and white
    picture[piece] = AMBER

    def zoom(rgb: np.ndarray) -> np.ndarray:
        return np.repeat(np.repeat(rgb[r0:r1, c0:c1], 12, axis=0), 12, axis=1)

    c = st.columns([1, 1, 2])
    c[0].image(zoom(still), caption="before, magnified", width="stretch")
    c[1].image(zoom(picture), caption="after, magnified", width="stretch")
    c[2].caption(
        f"Rows {r0}–{r1 - 1}, columns {c0}–{c1 - 1}. In amber, the pixels that part the "
        "falsely merged cell (else, where nothing was parted, the largest change). Cells "
        "touching only at a corner are one region: a membrane must be closed side to side."
    )


CONTROL = "_lesson_control"  # (run, the measures after its λ = 0 control)
#: What the result table's columns measure (Inspect's help says the same at length).
RESULT_WORDS = (
    "β0, β1: components and holes (cells) of f ≥ 0.5. False merges: cells seen as one "
    "through a broken membrane. ARI: adapted Rand index of the cells, 1 = perfect. Betti "
    "error: mean |Δβ1| over random framed 65×65 patches, 0 = perfect (the paper's measure)."
)


def _control(run: T.Run) -> dict | None:
    """The measures after ``run``'s λ = 0 control, trained once (a few seconds) when the
    result step first shows that run; None when it cannot be (said on the page)."""
    if T.held_control(CONTROL, run) is None and run.done_steps:
        with st.spinner("Training the control: the same crops and steps without L_topo…"):
            if error := T.train_control(CONTROL, run):
                st.error(error)
    return T.held_control(CONTROL, run)


def _result_table(rows: list[dict], gt_betti: tuple[int, int], key: str) -> None:
    """The rows and the ground truth's Betti numbers (its other cells: —)."""
    gt = dict.fromkeys(rows[0], "—") | {"model": "ground truth"}
    gt["β0, β1"] = f"{gt_betti[0]}, {gt_betti[1]}"
    st.dataframe(pd.DataFrame([*rows, gt]), hide_index=True, width="stretch", key=key)


if step.view == "problem":
    scores = _scores(f)
    bp = metrics.betti_numbers(pred, frame=frame)
    bg = metrics.betti_numbers(sel.mask, frame=frame)
    # the text and the numbers beside the error map, not above it: at 1280 x 720 the
    # map began below the fold, and the merged cells the step is about were cut
    left, right = side, body
    left.metric("Pixel accuracy", f"{scores['accuracy']:.1%}")
    left.metric("Cells (holes, β1): segmentation", bp[1], f"{bp[1] - bg[1]:+d}", delta_color="off")
    left.metric("Cells (holes, β1): ground truth", bg[1])
    left.image(sel.image, caption="the image", width="stretch", clamp=True)
    right.plotly_chart(
        figures.error_map(sel.image, pred, cache.topology_errors_of(pred, sel.mask, "membranes")),
        key="lesson_errors",
    )
elif step.view in ("landscape", "forces"):
    ct = critical_targets(dgm.restricted((1,)), m) if step.view == "forces" else None
    with side:
        draw = figures.landscape if S.three_d() else figures.landscape_map
    left, right = side, body
    window = _window(dot)
    left.image(figures.minimap(f, window), caption="f, the window in orange", width="stretch")
    right.plotly_chart(
        draw(
            f,
            ct,
            highlight=dot,
            window=window,
            max_arrows=20,
            min_force=0.05,
            dgm=dgm,
            highlight_name=MISSING_CELL,
        ),  # fmt: skip
        key=f"lesson_{step.view}",
    )
elif step.view == "filtration":
    with body:
        _filtration_step(f, dgm, frame)
elif step.view in ("diagram", "matching"):
    show = step.view == "matching"
    if show:  # under the text: below the chart it was off a 1280 x 720 projector
        side.metric("L_topo (Eq. 2.2, paper's matching, holes)", f"{m.loss:.3f}")
    body.plotly_chart(
        figures.diagram_plot(
            dgm,
            dgm_g if show else None,
            m if show else None,
            highlight=dot,
            min_persistence=0.05,
            dims=(1,),
            highlight_name="the missing cell's dot" if dot is not None else None,
            height=430,  # the square ends above a 1280 x 720 projector's fold
        ),
        key=f"lesson_{step.view}",
    )
    holes = dgm[1]
    hidden = int((holes.persistence < 0.05).sum())
    body.caption(
        f"Of f's {figures.many(len(holes), 'hole dot')}, "
        f"{figures.many(hidden, 'dot')} of persistence below 0.05 (birth − death: "
        f"short-lived, noise) {'is' if hidden == 1 else 'are'} hidden; the "
        f"{figures.many(len(holes) - hidden, 'dot')} drawn are the holes that last."
    )
    if show:
        part = figures.cost_parts(dgm.restricted((1,)), m, 0.05)[1]
        if part["hidden"] >= 5e-4:  # the arrows drawn are not the whole loss
            body.caption(
                f"{part['hidden']:.3f} of it comes from the hidden dots, "
                f"{part['n_hidden_pulled']} of them pulled to the corner."
            )
elif step.view == "finetune":
    with body:  # beside the step's text
        T.warm_bf16()  # the run trains in bfloat16 where the CPU has it (train.native_bf16)
        run: T.Run | None = st.session_state.get(RUN)
        running = run is not None and run.running
        T.one_stop(running)

        def _start() -> None:
            names = {e["name"] for e in cache.manifest()[0]}
            start = BASELINE if BASELINE in names else T.UNTRAINED
            chosen = st.session_state[S.SELECTION]
            st.session_state[RUN] = T.new_run(
                T.start_model(start, LIVE["seed"]),
                chosen.image,
                chosen.mask,
                lam=LIVE["lam"],
                steps=LIVE["steps"],
                lr=LIVE["lr"],
                seed=LIVE["seed"],
                batch=LIVE["batch"],
                name=chosen.name,
                frame=chosen.frame,
                start=start,
                window=LIVE["window"],
                betti=S.betti_protocol(chosen.name)[:2],
            )

        T.run_buttons(
            st.columns(3),  # beside the text: a quarter of this column cut "Start" to "St…"
            "lesson",
            "Start",
            start=_start,
            stop=lambda: T.stop(st.session_state[RUN]),
            reset=lambda: st.session_state.pop(RUN, None),
            running=running,
            can_start=True,
            has_run=run is not None,
        )

        def _live(drawn_running: bool) -> None:  # drawn_running: training.live_chunk
            run: T.Run | None = st.session_state.get(RUN)
            if run is None:
                st.caption(
                    f"Start trains a copy of {BASELINE} for {LIVE['steps']} steps "
                    f"(λ = {LIVE['lam']:g}) on this image: a few seconds on an idle machine, "
                    "longer on a busy one (the bar then says how long is left)."
                )
                return
            T.live_chunk(run, drawn_running)  # then the buttons, the result step's numbers
            eta = run.eta_s()
            st.progress(
                run.done_steps / max(1, run.steps),
                text=f"step {run.done_steps} / {run.steps} — {run.status}"
                + (f", about {eta:.0f} s to go" if eta is not None else "")
                + (f" ({run.wall_steps_per_s:.1f} steps/s)" if run.done_steps else ""),
            )
            if run.status == "failed":
                st.error(f"The run failed: {run.error}")
            T.show_motion(run, "lesson")

        st.fragment(run_every=T.TICK_S if running else None)(_live)(running)
elif step.view == "result":
    run = st.session_state.get(RUN)
    live = run is not None and run.f is not None and T.on_this_image(run, sel)
    if live:
        if run.running:
            T.stop(run)
            T.advance(run)
        before, after = T.compare(run)
        control = _control(run)
        if run.status == "stopped" and run.done_steps < run.steps:
            st.warning(
                f"The fine-tune stopped after {run.done_steps} of its {run.steps} steps (the "
                "lesson moved on while it trained), too few to change much: go Back to step 7 "
                "and press Start again to see the whole run."
            )
        st.caption(
            f"From your live fine-tune on step 7: {run.done_steps} steps ({run.status}) of "
            f"{T.start_label(run.start)} with λ = {run.lam:g}, in {run.train_seconds:.0f} s, "
            "and its control: the same start, crops and steps with λ = 0 (BCE alone). The "
            "fine-tuned copies live on this page only; the sidebar (and every other page) "
            "shows the net they started from."
        )
        named = [("before", before), (f"after {run.done_steps} steps, with L_topo", after)]
        if control is not None:
            named.append((f"after {run.done_steps} steps, BCE alone (λ = 0)", control))
        rows = [_result_row(name, x, (x["beta0"], x["beta1"])) for name, x in named]
        _result_table(rows, metrics.betti_numbers(sel.mask, frame=frame), "lesson_live")
        st.caption(RESULT_WORDS)
        if control is not None:
            st.markdown(T.control_verdict(before["merges"], after["merges"], control["merges"]))
        _before_after(run.f0, run.f, "before the fine-tune", f"after {run.done_steps} steps")
        T.download_button(run, key="lesson_download")
    before, after = _predicted(BASELINE), _predicted(TWIN)
    if before is None or after is None:
        if not live:
            st.info("Run the fine-tune on step 7 to see its result here.")
    elif not live:
        st.info(
            "No live fine-tune of step 7 in this browser session (it was skipped, or the "
            "page was reloaded, which starts a new session): here are two shipped checkpoints, "
            f"the control {BASELINE} and its TopoLoss twin {TWIN}. Both were fine-tuned "
            "from one pretrained net with the same steps on the same batches; only λ "
            "differs (0 for the control, > 0 for the twin; models/manifest.json has both "
            "recipes)."
        )
        rows = [
            _result_row(name, _scores(x), metrics.betti_numbers(x >= 0.5, frame=frame))
            for name, x in ((BASELINE, before), (TWIN, after))
        ]
        _result_table(rows, metrics.betti_numbers(sel.mask, frame=frame), "lesson_shipped")
        st.caption(RESULT_WORDS)
        _before_after(before, after, f"λ = 0: {BASELINE}", f"with TopoLoss: {TWIN}")
