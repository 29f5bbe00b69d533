"""View 2 — the filtration: superlevel sets, barcode and Betti curves as α moves."""

from __future__ import annotations

import numpy as np
import streamlit as st

from topoviz import figures
from topoviz.filtration import saturation, sharpen, unsharpen_level
from topoviz.metrics import betti_numbers
from topoviz.ui import cache, current, superlevel
from topoviz.ui import state as S
from topoviz.ui.cache import diagram_of

sel = current()
st.title("Filtration")
if not sel.ok:
    st.info(sel.missing)
    st.stop()
if S.teaching():
    st.caption(
        "Lower the threshold α from 1 to 0 and the superlevel set f ≥ α grows: components "
        "(saturated colours) are born and merge, holes (pale colours) open and fill. Each "
        "bar of the barcode is one component or hole, from the α where it is born to the α "
        "where it dies; the dashed line crosses exactly the bars alive at α (Sec. 2.1)."
    )

raw = diagram_of(sel.f, sel.frame)
sat = saturation(raw)
truth = None if sel.mask is None else betti_numbers(sel.mask, frame=sel.frame)  # once, not per α


# Everything below moves with α or t: a move of either slider reruns this part only
# (not the sidebar, not the diagram of f).
@st.fragment
def _filtration() -> None:
    c = st.columns([3, 2])
    t = S.page_slider(  # a link's t comes first
        c[1],
        "Spread t (temperature)",
        "sharpness",
        4.0 if sat > 0.5 else 1.0,
        step=0.5,
        help="Draws fₜ = sigmoid(logit(f) / t): a larger t spreads the levels of a "
        "saturated net apart (less sharp). The same superlevel sets in the same order: the "
        "same pairs and critical pixels, at other levels, so the barcode's α and its bar "
        "ends are on fₜ, not the values of Diagrams' dots (t = 1 shows f itself).",
    )
    if sat > 0.5:  # a caption under t once spread: a box across the page had pushed the
        # superlevel set below a 1280 x 720 fold
        if t == 1.0:
            st.info(
                f"This f is saturated: {sat:.0%} of its events happen within 0.05 of 0 or 1 "
                "(a trained net is confident), so at t = 1 the barcode is a solid block and "
                "the animation shows nothing between. A spread t > 1 pulls the levels apart "
                "without changing the topology; α then reads on that stretched scale."
            )
        else:
            c[1].caption(
                f"f is saturated ({sat:.0%} of its events within 0.05 of 0 or 1): t spreads "
                "its levels apart, the topology unchanged; α reads on fₜ."
            )
    f = sharpen(sel.f, t) if t != 1.0 else sel.f
    alpha = S.alpha_slider(c[0])
    dgm = diagram_of(f, sel.frame) if t != 1.0 else raw
    b = dgm.betti(alpha)  # read off the diagram; tests pin it to labelling the mask
    c = st.columns(4)
    c[0].metric("β0 (components)", b[0], help="Of the superlevel set drawn below.")
    c[1].metric("β1 (holes)", b[1], help="Of the superlevel set drawn below.")
    if truth is not None:
        c[2].metric("ground truth β0", truth[0])
        c[3].metric("ground truth β1", truth[1])

    left, right = st.columns(2)
    # sharpened, the threshold is on fₜ = sigmoid(logit(f) / t): say which f it is
    level = unsharpen_level(alpha, t)  # α itself at t = 1 and at α = 0, 0.5, 1
    note = "" if abs(level - alpha) < 5e-4 else f" (that is, f ≥ {level:.3f})"
    superlevel.show(left, f, alpha, sel.frame, name="f" if t == 1.0 else "fₜ", note=note)
    bars = right.slider("Bars per dimension", 10, 200, 60, step=10)
    right.plotly_chart(figures.barcode(dgm, alpha, max_bars=bars), key="barcode")
    st.plotly_chart(figures.betti_curves(dgm, np.linspace(0, 1, 201), alpha), key="betti")
    if st.toggle("▶ Play the filtration (animation)"):
        n = st.slider("Frames", 5, 41, 21, step=2)
        st.plotly_chart(
            figures.superlevel_animation(
                f,
                np.linspace(0.95, 0.05, n),
                sel.frame,
                "f" if t == 1.0 else "fₜ",
                cache.pixel_order_of(f),  # the picture above sorted it already
            ),
            key="anim",
        )
    S.sync_url()  # α, as the sidebar would on a full run


_filtration()
