"""topoviz — the entry file: navigation, the shared sidebar, the home page."""

from __future__ import annotations

import gc

import streamlit as st

from topoviz.persistence import warmup
from topoviz.ui import nav, render
from topoviz.ui.state import PAGE

st.set_page_config(page_title="topoviz", page_icon=":material/donut_large:", layout="wide")


@st.cache_resource
def _warm() -> bool:
    warmup(background=True)  # compile the numba sweeps while the first page draws
    # Streamlit collects garbage (gc.collect(2)) after every run, and the browser waits
    # for it. Torch's, numba's and plotly's objects live as long as the server, so they
    # are moved out of the collector's sight once; later runs' garbage is still freed
    # (python bench/bench_gc.py: the collection with and without this).
    gc.collect()
    gc.freeze()
    return True


def home() -> None:
    st.title("topoviz — topology-preserving segmentation, made visible")
    st.markdown(
        """
A segmentation can be almost right pixel by pixel and still be wrong where it matters:
a one-pixel gap merges two cells, a stray bridge joins two vessels.
**TopoLoss** (Hu, Li, Samaras, Chen, NeurIPS 2019) measures this with *persistent
homology*: it thresholds the likelihood *f* at every level α, records when each
component and loop is born and dies (the persistence diagram), matches those dots to
the ground truth's, and pushes only the few **critical pixels** that decide the topology
(the pixels whose values are the births and deaths of those dots).
This app lets you see each step: the likelihood as a landscape with its critical pixels
and forces, the filtration as α sweeps, the diagrams and their matching dot by dot,
and, on your own image, where a segmentation breaks or merges structures.
Pick a sample or upload an image in the sidebar, then choose a view on the left;
the **Classroom** rebuilds the paper's own small examples (Fig. 3 and 4) step by step.
"""
    )
    st.page_link(
        "pages/8_lesson.py",
        # one line (a page link does not wrap): a teacher's link is /lesson?step=1
        label="New here? Start with the Lesson: eight steps, from a segmentation 99 % right "
        "and topologically wrong to TopoLoss",
        icon=":material/slideshow:",
    )
    st.page_link(
        "pages/7_classroom.py",
        label="Then the Classroom: the paper's Fig. 3 and Fig. 4 built step by step",
        icon=":material/school:",
    )
    sel = st.session_state.get("_selection")
    if sel is not None and sel.ok:
        c1, c2 = st.columns(2)
        c1.image(sel.image, caption=sel.name_md, clamp=True, width="stretch")
        c2.image(sel.f, caption=f"likelihood f: {sel.source_md}", clamp=True, width="stretch")


_warm()
pages = {
    "": [st.Page(home, title="Home", icon=":material/home:", default=True)],
    "Explore": [
        st.Page("pages/1_landscape.py", title="Landscape", icon=":material/landscape:"),
        st.Page("pages/2_filtration.py", title="Filtration", icon=":material/waves:"),
        st.Page("pages/3_diagrams.py", title="Diagrams & matching", icon=":material/scatter_plot:"),
    ],
    "Your data": [st.Page("pages/4_inspect.py", title="Inspect", icon=":material/search:")],
    "Experiment": [
        st.Page("pages/5_finetune.py", title="Fine-tune live", icon=":material/model_training:"),
        st.Page("pages/6_lambda.py", title="λ experiments", icon=":material/tune:"),
    ],
    "Learn": [
        st.Page("pages/7_classroom.py", title="Classroom", icon=":material/school:"),
        st.Page("pages/8_lesson.py", title="Lesson", icon=":material/slideshow:"),
    ],
}
# captions carry the colour keys and the numbers' meaning: Streamlit fades them (opacity
# 0.6) below the 4.5 : 1 on white that WCAG asks of small text; this grey is above it
# (tests/test_app.py computes its contrast)
st.html("<style>[data-testid='stCaptionContainer'] {color: #595959; opacity: 1;}</style>")
page = st.navigation(pages, position="hidden")  # our own menu: topoviz.ui.nav
nav.links(pages)
st.session_state[PAGE] = page.url_path  # the sidebar gives back a lesson's changes elsewhere
render()
page.run()
