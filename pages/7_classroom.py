"""View 7 — the classroom: the paper's Fig. 3 and Fig. 4, built step by step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from topoviz import figures
from topoviz.filtration import event_levels, level_labels
from topoviz.loss import critical_targets
from topoviz.metrics import betti_numbers
from topoviz.pushes import push_landings, spurious_blob_example
from topoviz.synthetic import fig3_likelihood
from topoviz.ui import current
from topoviz.ui import state as S
from topoviz.ui.cache import diagram_of, matching_of

sel = current()  # the shared sidebar; this page works on its own small example
frame = sel.frame  # the sidebar's frame toggle applies here too
st.title("Classroom: the paper's own examples")
SIZE = 96
# A low camera facing the bridge: its gap depth (0.1 vs 0.4) reads as different heights.
CAMERA = {"eye": {"x": 0.2, "y": 1.9, "z": 0.55}}


@st.cache_data(show_spinner=False, max_entries=32)  # 100 seeds × 20 depths would be 300 MB
def example(seed: int, depth: float, hills: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    f, g = fig3_likelihood(SIZE, seed, depth, hills)
    return f.astype(np.float64), g.astype(np.float64)


seed = st.columns(4)[0].number_input("Example seed", 0, 99, 0, step=1)
st.caption(f"Frame (relative homology, sidebar): **{'on' if frame else 'off'}**.")


def kept(key: str, default: object, widget: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A widget in a tab whose value survives a visit to another tab: a closed tab's
    widgets are not drawn, and Streamlit forgets the value of a widget not drawn."""
    st.session_state.setdefault(key, default)
    return S.persistent(key, widget, *args, **kwargs)


GAP_HELP = (
    "How far below 0.5 the likelihood dips in the broken places (the gaps): at 0.1 the "
    "pass across a gap is f = 0.4. Any depth gives the same segmentation at 0.5; a "
    "deeper gap costs more L_topo, since its dot lies farther from the ground truth's."
)


def fig3_tab() -> None:
    _, g0 = example(int(seed), 0.1)
    gb = betti_numbers(g0 > 0.5, frame=frame)
    paper = betti_numbers(g0 > 0.5, frame=False)
    st.caption(
        "The ground truth g: two rings joined by a bridge "
        f"(here β0 = {gb[0]}, β1 = {gb[1]}"
        + (
            ": with the frame on, the frame is one more component and the background "
            "between it and the rings one more hole; the paper's figure counts without "
            f"it, β0 = {paper[0]}, β1 = {paper[1]}, as the sidebar's frame switched off does"
            if frame
            else ", as in the paper's figure"
        )
        + "). Two likelihoods f and f′ give **the same** "
        "segmentation at 0.5 — the bridge and one ring are broken — but f′ has deeper gaps "
        "(as the sliders start). "
        "Counting Betti numbers cannot tell them apart; the topological loss can: closing "
        "f′'s deeper gaps takes more effort."
    )
    solid = S.three_d("3-D landscapes")
    c = st.columns(2)
    with c[0]:
        depth = kept("c_depth", 0.1, st.slider, "Gap depth of f", 0.02, 0.4, step=0.02,
                     help=GAP_HELP)  # fmt: skip
    with c[1]:
        depth2 = kept("c_depth2", 0.4, st.slider, "Gap depth of f′", 0.02, 0.4, step=0.02,
                      help=GAP_HELP)  # fmt: skip
    for col, name, d in ((c[0], "f", depth), (c[1], "f′", depth2)):
        f, g = example(int(seed), d)
        dgm = diagram_of(f, frame)
        m = matching_of(f, g, frame, "paper")
        b = dgm.betti(0.5)
        with col:
            st.metric(
                f"L_topo({name}, g)",
                f"{m.loss:.3f}",
                help="Eq. 2.2 with the paper's matching, over components and holes "
                "(dimensions 0 and 1): the broken bridge is a component, the broken ring a "
                "hole. TopoLoss trains on holes alone (the paper's footnote 8).",
            )
            st.caption(
                f"{name} ≥ 0.5: β0 = {b[0]}, β1 = {b[1]} (ground truth: β0 = {gb[0]}, β1 = {gb[1]})"
            )
            st.image(
                [g, f, (f >= 0.5).astype(np.float64)],
                caption=["g (ground truth)", name, f"{name} ≥ 0.5"],
                width=150,
                clamp=True,
            )
            if solid:
                land = figures.landscape(f, critical_targets(dgm, m), max_arrows=6)
                land.update_layout(scene_camera=CAMERA, scene_aspectratio={"z": 0.6})
                st.plotly_chart(land, key=f"land_{name}")
            else:  # a still picture: four plotly charts made this tab slow to open
                st.image(
                    figures.landscape_picture(f, critical_targets(dgm, m), max_arrows=6),
                    caption=f"{name} from above (white is high); triangles: the 6 strongest "
                    "forces, up (orange) raises f, down (magenta) lowers it, larger is "
                    "stronger.",
                )
            # two square diagrams side by side in half the page: 400 px, not the
            # default 470, or a band of white is left below them
            fig = figures.diagram_plot(dgm, diagram_of(g, frame), m, height=400, name=name)
            st.plotly_chart(fig, key=f"dgm_{name}")
    if S.teaching():
        st.caption(
            "The forces on the landscapes (Eq. 2.3; orange: up): the saddle in the ring's gap "
            "is the birth pixel of the missing hole, pulled up to 1 so the hole is born at "
            "once (its dot goes to the corner). The bridge's saddle is the death pixel of the "
            "extra component, pulled up while its birth pixel is pushed down: the dot slides "
            "to the diagonal and the two components merge (Fig. 4(c), (f)). Deeper gaps mean "
            "stronger forces: a larger loss for f′."
        )


def fig4_tab() -> None:
    f, g = example(int(seed), 0.1, hills=0.0)  # no bumps: no noise events to explain
    dgm = diagram_of(f, frame)
    st.caption(
        "Lower α step by step (the slider's right arrow: from α = 1 to 0): each step is a "
        "level of f where a component or hole is born or dies; the superlevel set and the "
        "diagram follow. What the steps are, below the pictures."
    )
    steps = event_levels(dgm, min_persistence=0.05)  # the exact levels, never rounded
    labels = dict(zip(steps, level_labels(steps), strict=True))
    if st.session_state.get("c_alpha") not in labels:  # kept from another seed or frame
        st.session_state["c_alpha"] = steps[0]  # α = 1: where the story starts
    alpha = kept(
        "c_alpha",
        steps[0],
        st.select_slider,
        "α (step through the events)",
        steps,
        format_func=labels.get,
    )
    left, mid = st.columns(2)
    left.plotly_chart(figures.superlevel(f, alpha, frame=frame, label=labels[alpha]), key="c_super")
    left.caption(figures.superlevel_key(frame))
    mid.plotly_chart(figures.diagram_plot(dgm, alpha=alpha), key="c_dgm")
    st.plotly_chart(figures.barcode(dgm, alpha, max_bars=12), key="c_bar")
    st.caption(
        "Each step is a critical value of f (exact; labels are "
        "rounded) where a component or hole is born or dies, besides α = 1, 0.5 (the "
        "segmentation's threshold) and 0; the diagram builds up as the "
        "filtration runs (open circles: still alive at α, drawn at their current death "
        "coordinate 1 − α). This f is Fig. 3's without its small bumps and with a flat "
        "ridge top, so the steps are the figure's own events, in the order of its Fig. "
        "4(d): the structures appear (two components, the longer handle), the ring's gap "
        "closes (the shorter handle is born), the bridge's gap closes (the extra component "
        "dies), the holes fill."
        + (
            " **The frame is on** (sidebar): its border of value 1 is there from α = 1, one "
            "component that encloses the square as one hole, so the counts carry one "
            "component and one hole more than the paper's Fig. 4 until the last step, where "
            "everything has joined the frame, and the barcode has the frame's bars. The "
            "events keep their order; switch the frame off for the figure's own counts."
            if frame
            else ""
        )
    )


@st.cache_data(show_spinner=False)
def _rules_example() -> dict:
    """The disagreement example's figures and counts: constant, so built once."""
    f, g = spurious_blob_example()
    dgm_f, dgm_g = diagram_of(f, True), diagram_of(g, True)
    out = {}
    for r in ("paper", "betti"):
        m = matching_of(f, g, True, r)
        landed = push_landings(f, g, critical_targets(dgm_f, m))
        counts = landed.counts()
        out[r] = (
            counts["up, right"] + counts["down, right"],
            figures.diagram_plot(dgm_f, dgm_g, m),
            figures.push_landing_picture(f, g, landed, side=300),
        )
    return out


LANDING_CAPTION = (
    "f (left) and the ground truth (right); triangle up: the loss raises the pixel, down: "
    f"lowers it; {figures.RIGHT_WORDS} lands right (raised on the truth or lowered off it), "
    f"{figures.WRONG_WORDS} wrong. "
    "Each push is judged at its own pixel: sending a spurious blob to the diagonal also "
    "raises its death pixel, the saddle off the truth beside it, and that push counts as "
    "wrong though the move as a whole removes the blob."
)


def rules_tab() -> None:
    st.caption(
        "The ground truth has one blob (top left). f is faint (0.35) on it and bright (0.85) on "
        "a spurious blob far away. The paper's rule takes the dot nearest (0, 1) — the bright, "
        "spurious blob — and pulls it up, pushing the faint true one down. Betti matching pulls "
        "up only a feature at the same place as a true one: the faint blob goes up, the "
        "spurious one down."
    )
    st.caption(
        "With the frame on, as TopoLoss trains on patches"
        + (", here whatever the sidebar says" if not frame else "")
        + ": the frame adds its own component and makes the background around the blob a "
        "hole, so Dgm(g) has two component dots and one hole dot for one blob. Without the "
        "frame the brightest blob, the spurious one, is the component that never dies, and "
        "both rules match it to the truth's one component: on this example they agree."
    )
    built = _rules_example()
    for col, r, title in zip(
        st.columns(2), ("paper", "betti"), ("Paper's rule", "Betti matching"), strict=True
    ):
        right, dgm_fig, land_fig = built[r]
        with col:
            st.subheader(title)
            st.metric(f"pushes landing right ({r})", right)
            st.plotly_chart(dgm_fig, key=f"r_{r}")
            st.image(land_fig, caption=LANDING_CAPTION)


# Only the open tab runs and is drawn (switching tabs reruns the page): the three tabs
# drawn at once were eleven charts, two of them 3-D, on every visit.
TABS = {
    "Fig. 3 — same segmentation, different loss": fig3_tab,
    "Fig. 4 — the filtration": fig4_tab,
    "Two rules disagree": rules_tab,
}
for tab, draw in zip(
    st.tabs(list(TABS), key="classroom_tab", on_change="rerun"), TABS.values(), strict=True
):
    if tab.open:
        with tab:
            draw()
