"""View 1 — the likelihood as a landscape, its critical pixels and their forces."""

from __future__ import annotations

import numpy as np
import streamlit as st

from topoviz import figures
from topoviz.loss import critical_targets
from topoviz.provenance import RULE_WORDS
from topoviz.ui import current
from topoviz.ui import state as S
from topoviz.ui.cache import diagram_of, matching_of
from topoviz.ui.words import FRAME_DOT

sel = current()
st.title("Likelihood landscape")
if not sel.ok:
    st.info(sel.missing)
    st.stop()
if S.teaching():
    st.caption(
        "The likelihood f as terrain: structure is high ground (seen from above here, "
        "white is high; switch on 3-D to turn it). Thresholding at α floods everything "
        "below α. The loss moves only **critical pixels**, the pixels whose values are the "
        "births and deaths of the diagram's dots, each towards the value its matched dot asks "
        "for (Eq. 2.3): up (orange ▲) raises a saddle (the low pass where a ridge has a gap) "
        "to close the gap, down (magenta ▼) lowers the saddle of a spurious bridge to cut "
        "it; the larger the mark, the stronger the force."
    )

dgm = diagram_of(sel.f, sel.frame)
left, right = st.columns([1, 2])
with left:
    # the forces of the dimensions shown (with "holes", those TopoLoss trains with)
    dims = S.dims_view("Forces of")
    # the forces and L_topo hang on the rule: chosen here as on Diagrams (one choice
    # for both), where it had come unseen from Diagrams or a link
    rule = S.rule_choice("Matching used for the forces", disabled=sel.mask is None)
shown = dgm.restricted(dims)
ct = None
if sel.mask is not None:
    matching = matching_of(sel.f, sel.g, sel.frame, rule).restricted(dims)
    ct = critical_targets(shown, matching)
else:
    st.info("Without a ground-truth mask there is no matching, so no forces: critical pixels only.")
with left:
    dot = S.pick_dot(shown, label="Dot to highlight", matching=matching if ct is not None else None)
    h, w = sel.f.shape
    zoom = st.radio(
        "Window",
        ["around the selected dot (or the strongest force)", "whole image"],
        help="The whole image is subsampled (3-D: to 128 pixels a side, top view: 256); a "
        "window is drawn at full resolution.",
    )
    # these three travel in a link (state.PAGE_SHARED): it reopens the same view
    half = S.page_slider(
        st,
        "Window half-size (pixels)",
        "half",
        24,
        disabled=zoom == "whole image",  # the whole image has no window to size
    )
    tau = S.page_slider(
        st,
        "Forces of at least",
        "force_min",
        0.05,
        step=0.01,
        help="Every dot not already at its target pushes its two critical pixels; most "
        "pushes are tiny. The chart draws, and the count below counts, only forces of at "
        "least this size.",
        disabled=ct is None,
    )
    arrows = S.page_slider(st, "At most this many drawn (the strongest)", "arrows", 150, step=10)
    draw = figures.landscape if S.three_d() else figures.landscape_map
S.sync_url()  # the sliders above in the address bar now (the sidebar wrote it before them)
window, around = None, []
if dot is not None:
    around = figures.dot_pixels(dgm, dot)
    if not around:
        with left:
            st.caption(f"{FRAME_DOT} The window shows the whole image.")
elif ct is not None and len(ct.pixel):
    around = [ct.pixel[int(np.argmax(np.abs(ct.force(sel.f))))]]
if zoom != "whole image":
    window = figures.window_around(around, (h, w), half)
with right:
    st.plotly_chart(
        draw(sel.f, ct, highlight=dot, max_arrows=arrows, window=window, min_force=tau, dgm=shown),
        key="landscape",
    )
with left:
    st.image(
        figures.minimap(sel.f, window),
        caption="Where the window sits (orange)" if window else "Whole image",
        width=160,
    )
    if ct is not None:
        force = np.abs(ct.force(sel.f))
        st.metric(
            f"L_topo (Eq. 2.2, {RULE_WORDS[rule]}), {' + '.join(f'dim {k}' for k in dims)}",
            f"{matching.loss:.3f}",
        )
        strong = int(np.count_nonzero(force >= max(tau, 1e-9)))
        st.metric(
            f"critical pixels with |force| ≥ {tau:.2f}",
            strong,
            help="Counted over the whole image, whatever the window shows.",
        )
        st.caption(
            f"{int(np.count_nonzero(force > 1e-9))} critical pixels have some force: every dot "
            f"of the diagram shown ({len(shown)} here) not yet at its target "
            "pushes its birth and "
            "death pixels, but the noise dots near the diagonal push only a little. The few "
            "strong forces are the ones that change the topology."
        )
        if len(force):
            i = int(np.argmax(force))
            signed = ct.force(sel.f)[i]
            st.caption(
                f"Strongest force {signed:+.3f} at pixel {tuple(int(v) for v in ct.pixel[i])} "
                f"({ct.end[i]} of a dim-{ct.dim[i]} dot, target {ct.target[i]:.2f}). A force is "
                "minus Eq. 2.3's gradient, 2·(target − f(c)): positive raises f (▲), negative "
                "lowers it (▼), from −2 to 2 on f's 0 to 1."
            )
    st.caption(f"f = {sel.source_md}.")
