"""View 3 — Dgm(f) against Dgm(g), the matching dot by dot, Theorem 1 live."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from topoviz import figures
from topoviz.loss import critical_targets
from topoviz.metrics import betti_numbers
from topoviz.pushes import disagreements
from topoviz.ui import clicks, current
from topoviz.ui import state as S
from topoviz.ui.cache import diagram_of, matching_of, push_landing_view
from topoviz.ui.words import FRAME_DOT

sel = current()
st.title("Persistence diagrams & matching")
if not sel.ok:
    st.info(sel.missing)
    st.stop()
if S.teaching():
    st.caption(
        "Each dot is a component (blue) or hole (burgundy) of f, at (1 − birth, 1 − death). "
        "Every dot of the ground truth sits at the corner (0, 1). The loss (Eq. 2.2) matches "
        "dots and sums the squared lengths of the orange arrows: matched dots are pulled to "
        "the corner, the rest to the diagonal, where they vanish. Click a dot (or pick it in "
        "the list) to see its birth and death pixels below."
    )

dgm_f = diagram_of(sel.f, sel.frame)
# the controls in one row: stacked, they pushed the diagrams below a 1280 x 720 fold
c = st.columns([2.2, 2, 2.6])
with c[0]:
    dims = S.dims_view()
n_dots = len(dgm_f)
# a trained net's f: thousands of dots in the corners; a link's ε comes first
eps = S.page_slider(
    c[1],
    "Hide dots with persistence below ε",
    "dgm_eps",
    0.05 if n_dots > 500 else 0.0,
    step=0.01,
    help="Persistence = birth − death, a dot's height above the diagonal along the "
    "plot's axes: short-lived dots are noise at this scale. They are hidden and counted; "
    "the numbers on the page still include them.",
)
S.sync_url()  # ε in the address bar now (the sidebar wrote the URL before it was drawn)
shown = dgm_f.restricted(dims)  # the dots of the dimensions shown
hidden = {k: int((dgm_f[k].persistence < eps).sum()) for k in dims}
SHOWN = (  # said under the charts
    "Shown: "
    + ", ".join(
        f"{len(dgm_f[k]) - hidden[k]} of {len(dgm_f[k])} {figures.DIM_NAMES[k]}" for k in dims
    )
    + (f" — {sum(hidden.values())} dots below ε = {eps:.2f} hidden." if eps > 0 else ".")
)
if sel.mask is None:
    st.info("Add a ground-truth mask (upload) to see Dgm(g), the matching and the loss.")
    S.follow_clicks("dgm_only")
    dot = S.pick_dot(shown)
    clicks.plot(
        dot,
        [
            (
                st,
                "dgm_only",
                lambda mark: figures.diagram_plot(
                    dgm_f, min_persistence=eps, dims=dims, selected=mark
                ),
                (dgm_f, eps, dims),
            )
        ],
    )
    st.caption(SHOWN)
    S.sync_url()  # the dot, when a click chose it
    st.stop()

dgm_g = diagram_of(sel.g, sel.frame)
with c[2]:
    rule = S.rule_choice("Matching used for the table and the forces")
# every number below is over the dimensions shown: the headings' L_topo, the table,
# Theorem 1 and the pushes (with "holes", the loss TopoLoss trains with)
matchings = {r: matching_of(sel.f, sel.g, sel.frame, r).restricted(dims) for r in S.RULES}
chosen = matchings[rule]
over = " + ".join(f"dim {k}" for k in dims)


# Everything that shows the selected dot, in a fragment: a click on a dot (or the dot
# list) reruns this part only. Theorem 1 and the push-landing map, which no dot
# changes, come after it, outside.
def _diagram(m, mark):
    return figures.diagram_plot(
        dgm_f, dgm_g, m, min_persistence=eps, dims=dims, selected=mark,
        height=430,
    )  # fmt: skip


@st.fragment
def _dot_views() -> None:
    S.follow_clicks(*(f"dgm_{r}" for r in S.RULES))
    dot = S.pick_dot(shown, matching=chosen)  # the costliest dots of the rule first
    titles = {"paper": "Paper", "optimal": "Optimal", "betti": "Betti"}
    # one dimension: the three rules side by side; two: a rule a row, each chart
    # holding both dimensions' diagrams at a readable size
    columns = st.columns(3) if len(dims) == 1 else [st.container() for _ in matchings]
    for col, (r, m) in zip(columns, matchings.items(), strict=True):
        # a heading two sizes down: "Optimal: L_topo = …" still wrapped in a third of a
        # 1280-px page, and its chart then sat 30 px below its neighbours
        col.markdown(f"##### {titles[r]}: L_topo = {m.loss:.4f}")
    clicks.plot(
        dot,
        [
            (col, f"dgm_{r}", partial(_diagram, m), (dgm_f, dgm_g, m, eps, dims))
            for col, (r, m) in zip(columns, matchings.items(), strict=True)
        ],
    )
    st.caption(f"{SHOWN} L_topo over the dimensions shown ({over}).")
    split = disagreements(matchings["paper"], matchings["betti"])
    n_split = sum(len(v) for v in split.values())
    if n_split == 0:
        st.caption("Paper and Betti matching agree on every dot: both pull up the same dots.")
    else:
        st.caption(
            f"Paper and Betti matching disagree on {n_split} dot{'' if n_split == 1 else 's'}"
            + "".join(
                f"; dim {k}: {', '.join(f'#{i}' for i in v[:12])}"
                + (f" and {len(v) - 12} more" if len(v) > 12 else "")
                for k, v in split.items()
                if len(v)
            )
            + ": one pulls the dot to the corner, the other sends it to the diagonal."
        )
    if dot is not None and dot[1] in split.get(dot[0], ()):
        pulls = "paper" if matchings["paper"][dot[0]].partner[dot[1]] >= 0 else "Betti matching"
        st.warning(
            f"The rules disagree on the selected dot (dim {dot[0]}, #{dot[1]}): {pulls} pulls it "
            "to the corner, the other rule pushes it to the diagonal."
        )
    if S.teaching():
        st.caption(
            "The optimal matching never costs more than the paper's; with a binary ground "
            "truth they usually agree. Betti matching (Stucki et al., ICML 2023) pulls a dot "
            "up only when its feature and a true one are the same bar of max(f, g): a feature "
            "at the same place. Arrows are drawn for the 40 costliest dots of each dimension."
        )

    st.subheader("The loss, dot by dot")
    rows = figures.dot_rows(shown, chosen, selected=dot, min_persistence=eps)
    table = pd.DataFrame(rows)
    if len(table):
        table = table.style.apply(
            lambda r: ["background-color: #ffe08a" if r["selected"] else "" for _ in r], axis=1
        ).format(
            {c: "{:.3f}" for c in table.columns if c.startswith(("1 −", "target"))}
            | {"cost": "{:.4f}"}
        )
    st.dataframe(  # no taller than its rows (one row sat above seven empty ones)
        table,
        hide_index=True,
        height=min(300, 35 * (len(rows) + 1) + 3),
        column_config={"selected": None},
    )
    st.caption(
        f"Top {figures.TABLE_TOP} dots of each dimension shown by cost (above ε), in the "
        "plot's coordinates; "
        "the selected dot's row is highlighted. "
        + " + ".join(f"dim {k}: {chosen[k].cost:.4f}" for k in dims)
        + (f" = {chosen.loss:.4f}." if len(dims) > 1 else ".")
        + "".join(
            figures.cost_parts_words(k, chosen[k].cost, part, eps)
            for k, part in figures.cost_parts(shown, chosen, eps, selected=dot).items()
        )
        + (
            " TopoLoss trains on dimension 1 (the paper's footnote 8): that is this page's "
            "L_topo with holes shown."
            if dims != (1,)
            else " This is the L_topo TopoLoss trains with (dimension 1, the paper's footnote 8)."
        )
    )

    st.subheader("Where the selected dot lives")
    if dot is None:
        st.info(
            "Click a dot in a chart, or pick it in the list above, to see its birth and death "
            "pixels in the image and landscape."
        )
    elif (window := figures.window_around(figures.dot_pixels(dgm_f, dot), sel.f.shape)) is None:
        st.info(f"{FRAME_DOT} Pick another dot to see its pixels.")
    else:
        left, right = st.columns(2)
        # still pictures: a plotly chart here cost the browser a fifth of a second a click
        left.image(
            figures.critical_pixels_picture(sel.image, shown, dot, max_dots=20),
            caption="The image: birth (disc) and death (cross) pixels of the 20 most "
            "persistent dots of each dimension shown (blue: components, burgundy: holes); "
            "amber rings: the selected dot's.",
        )
        right.image(
            figures.critical_pixels_picture(
                sel.f,
                shown,
                dot,
                max_dots=None,
                window=window,
                min_persistence=eps,
            ),
            caption=f"f around it, magnified (rows {window[0]}–{window[1]}, columns "
            f"{window[2]}–{window[3]}; white is high), the pixels of every dot above ε.",
        )
        with right:
            # A 3-D chart is slow to start in a browser without a GPU (about 2 s of CPU
            # in headless Chromium), so a click draws it only when asked for.
            if S.three_d("Also draw the dot's 3-D landscape (slower)"):
                ct = critical_targets(shown, chosen)
                st.plotly_chart(
                    figures.landscape(sel.f, ct, dot, window=window), key="dot_landscape"
                )
    S.sync_url()  # the dot, when a click chose it


_dot_views()

# Theorem 1: L_topo = 0 => the segmentation at 0.5 has the ground truth's Betti numbers.
# With one dimension shown, the loss is over it and so is the promise.
bf = dgm_f.betti(0.5)
bg = dict(enumerate(betti_numbers(sel.mask, frame=sel.frame)))
same = all(bf[k] == bg[k] for k in dims)
st.subheader("Theorem 1, checked live")
c = st.columns(3)
names = ", ".join(f"β{k}" for k in dims)
c[0].metric(f"{names} of f ≥ 0.5", ", ".join(str(bf[k]) for k in dims))
c[1].metric(f"{names} of ground truth", ", ".join(str(bg[k]) for k in dims))
c[2].metric(f"L_topo ({rule}, {over})", f"{chosen.loss:.4f}")
zero = chosen.loss < 1e-12
if zero and not same:
    st.error("Loss 0 but different Betti numbers: Theorem 1 is violated (a bug).")
elif zero:
    st.success("L_topo = 0 and the same Betti numbers at 0.5, as Theorem 1 promises.")
else:
    st.info(
        "L_topo > 0, so Theorem 1 promises nothing: the Betti numbers at 0.5 "
        + ("agree all the same (the loss also sees the other thresholds)." if same else "differ.")
    )
if S.teaching():
    st.caption(
        "Try the likelihood “ground truth blurred + noise” in the sidebar with blur σ = 0 and "
        "noise 0. That f is the ground truth scaled into [0.05, 0.8] (as a cautious net would "
        "say it), so every true hole's dot sits at (0.2, 0.95), not at the corner: L_topo is "
        "0.0425 a dot"
        + (
            " (0.0025 for the one hole born with the frame, whose birth is the frame's 1: "
            "its dot is (0, 0.95))"
            if sel.frame
            else ""
        )
        + ", not 0, though the Betti numbers at 0.5 agree. Only L_topo = 0 promises "
        "them; a small loss does not. Then blur it: the dots leave the corner and L_topo grows."
    )


st.subheader("Where does each push land?")
everything = st.toggle(
    "Also the dots sent to the diagonal (forces over 0.05)",
    False,
    help="A push's force is 2·(target − f(c)) (minus Eq. 2.3's gradient), as Landscape "
    "measures it: the diagonal's many small pushes are left out below 0.05.",
)
counts, landing_map = push_landing_view(sel.image, sel.f, sel.g, sel.frame, rule, everything, dims)
c = st.columns(4)
for col, (words, n) in zip(c, counts.items(), strict=True):
    col.metric(f"{words} ({rule})", n)
st.image(
    landing_map,
    caption="The image (left) and the ground truth (right), each push marked at its "
    f"critical pixel: triangle up raised, down lowered; {figures.RIGHT_WORDS} lands right, "
    f"{figures.WRONG_WORDS} wrong."
    + ("" if sum(counts.values()) <= 1500 else " The 1500 largest pushes are drawn.")
    + " The counts are of the pushes of dots pulled towards a ground-truth dot, however "
    "small"
    + (", and of those sent to the diagonal with a force over 0.05" if everything else "")
    + "; Landscape counts every force over its threshold, towards the diagonal or not.",
)
if S.teaching():
    st.caption(
        "The critical pixels of the dots the chosen rule pulls towards a ground-truth dot "
        "(and, with the toggle, of the dots it sends to the diagonal): a triangle up is "
        f"raised, a triangle down lowered. {figures.RIGHT_WORDS.capitalize()} lands right "
        "(raised on the true structure — a saddle on a true membrane — or lowered off it — "
        f"a minimum inside a true cell); {figures.WRONG_WORDS} lands wrong: raised off the "
        "truth, or lowered on it, which "
        "digs a pinhole in a membrane."
    )
