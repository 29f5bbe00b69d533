"""View 4 — inspect an image: where the segmentation breaks or merges structures."""

from __future__ import annotations

import streamlit as st

from topoviz import figures, metrics
from topoviz.imageio import png_bytes
from topoviz.metrics import betti_numbers
from topoviz.ui import current
from topoviz.ui import state as S
from topoviz.ui.cache import evaluate, reference_scores

sel = current()
INSPECT_HINT = "Choose a sample or upload an image in the sidebar (Image → Upload your own)."
st.title("Inspect an image")
if S.teaching():
    st.caption(
        "Upload your own image (and its ground-truth mask, if you have one) in the sidebar "
        "under *Upload your own*, or use a sample. The segmentation is f ≥ 0.5."
    )
if not sel.ok:
    st.info(sel.missing if sel.image is not None else INSPECT_HINT)
    st.stop()

pred = sel.f >= 0.5
p0, p1 = betti_numbers(pred, frame=sel.frame)
c = st.columns(3)
c[0].image(sel.image, caption=f"image: {sel.name_md}", clamp=True, width="stretch")
c[1].image(sel.f, caption=f"likelihood f: {sel.source_md}", clamp=True, width="stretch")
c[2].image(pred.astype("float32"), caption="segmentation f ≥ 0.5", clamp=True, width="stretch")
d = st.columns(2)
d[0].download_button(
    "Download likelihood (16-bit PNG)",
    png_bytes(sel.f, bits=16),
    file_name=f"{sel.name}_likelihood.png",
    mime="image/png",
)
d[1].download_button(
    "Download segmentation (PNG)",
    png_bytes(pred),
    file_name=f"{sel.name}_segmentation.png",
    mime="image/png",
)

if sel.mask is None:
    st.metric("Betti numbers of the segmentation (β0, β1)", f"({p0}, {p1})")
    st.info("Upload a ground-truth mask to see where the topology breaks, and the metrics.")
    st.stop()

g0, g1 = betti_numbers(sel.mask, frame=sel.frame)
scores = evaluate(sel.f, sel.mask)
top = st.columns(3)  # Betti pairs can be long (thousands of specks): give them room
top[0].metric("β segmentation (β0, β1)", f"({p0}, {p1})")
top[1].metric("β ground truth (β0, β1)", f"({g0}, {g1})")
top[2].metric(
    "Betti error",
    f"{scores['betti_error']:.2f}",
    help="Mean |Δβ| over 100 random 65×65 patches (seed 0), as in the paper's tables.",
)
low = st.columns(3)
low[0].metric("ARI", f"{scores['ari']:.3f}", help="Adapted Rand index of the regions; 1 = perfect.")
low[1].metric("VOI", f"{scores['voi']:.3f}", help="Variation of information; 0 = perfect.")
low[2].metric("Accuracy", f"{scores['accuracy']:.3f}")

refs = reference_scores(sel.mask)
thick = refs["GT thickened 1 px"]
st.caption(
    f"For scale: the ground truth itself, thickened by one pixel, scores Betti error "
    f"{thick['betti_error']:.2f} at accuracy {thick['accuracy']:.3f}. On random framed "
    "patches every sliver of a region that a patch cuts off is a hole, so where an edge "
    "lies counts as well as what it connects."
)
with st.expander("The ground truth moved by one pixel"):
    rows = {f"f ≥ 0.5 ({sel.source})": scores, **refs}
    st.table(
        {
            "segmentation": list(rows),
            "Betti error": [f"{r['betti_error']:.2f}" for r in rows.values()],
            "extra / missing holes": [
                f"{r['betti_extra']:.2f} / {r['betti_missing']:.2f}" for r in rows.values()
            ],
            "ARI": [f"{r['ari']:.3f}" for r in rows.values()],
            "VOI": [f"{r['voi']:.3f}" for r in rows.values()],
            "accuracy": [f"{r['accuracy']:.3f}" for r in rows.values()],
        }
    )
    st.caption(
        "Each reference has the ground truth's structure with its edges one pixel off "
        "(`topoviz.metrics.one_pixel_references`); the shifted one keeps the ground "
        "truth's topology, and only the patches cut it one pixel elsewhere. "
        "`python -m topoviz evaluate --references` prints the same rows for a data set."
    )

st.subheader("Where the topology breaks")
errors = metrics.topology_errors(pred, sel.mask)
left, right = st.columns([2, 1])
left.plotly_chart(figures.error_map(sel.image, pred, errors), key="errors")
with right:
    st.markdown(
        "- **merged** (red): one predicted region covers two or more ground-truth regions — "
        "a gap in a wall.\n"
        "- **split** (orange): a ground-truth region cut in pieces by a spurious wall.\n"
        "- **spurious** (purple): predicted structure where the ground truth has none.\n"
        "- **missing** (blue): a ground-truth structure the prediction misses entirely.\n\n"
        "Predicted structure is drawn dark."
    )
    if S.teaching():
        st.caption(
            "Pixel accuracy barely notices a one-pixel gap; ARI, VOI and the Betti error do. "
            "This is what TopoLoss is for."
        )
