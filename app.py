"""topoviz — the entry page (a first stub: the seven views come with issue 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from topoviz.imageio import load_image, load_mask
from topoviz.matching import match
from topoviz.persistence import diagram

ROOT = Path(__file__).parent
SAMPLES = ROOT / "sample_data"

st.set_page_config(page_title="topoviz", layout="wide")
st.title("topoviz — topology-preserving segmentation, made visible")
st.write(
    "TopoLoss (Hu, Li, Samaras, Chen, NeurIPS 2019) compares the persistence diagram of a "
    "likelihood with the ground truth's and pushes the critical pixels so that the "
    "segmentation keeps the ground truth's components and loops."
)

index = json.loads((SAMPLES / "index.json").read_text())
names = [item["name"] for item in index]
choice = st.selectbox("Sample", names)
item = index[names.index(choice)]
image = load_image(SAMPLES / item["image"])
mask = load_mask(SAMPLES / item["mask"], shape=image.shape)
alpha = st.slider("Threshold α", 0.0, 1.0, 0.5, 0.01)

# The image itself stands in for a likelihood until checkpoints ship: foreground dark.
f = 1.0 - image
dgm = diagram(f)
m = match(dgm, diagram(mask.astype(np.float64)))
b = dgm.betti(alpha)
c1, c2 = st.columns(2)
c1.image(image, caption=item.get("description", choice), clamp=True)
c2.image((f >= alpha).astype(np.float32), caption=f"f ≥ {alpha:.2f}", clamp=True)
st.metric("β0 (components) at α", b[0])
st.metric("β1 (handles) at α", b[1])
st.metric("L_topo (paper matching)", f"{m.loss:.3f}")
