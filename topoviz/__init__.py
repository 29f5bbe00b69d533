"""topoviz: see, teach and test topology-preserving segmentation (TopoLoss).

The library is pure computation (no Streamlit). The walk of the data::

    imageio.load_image -> inference.predict -> persistence.diagram
        -> matching.match -> loss.TopoLoss / figures / metrics
"""

import importlib

from topoviz.inference import predict
from topoviz.loss import TopoLoss, topo_loss
from topoviz.matching import Matching, betti_match, match, match_images
from topoviz.persistence import Diagram, Dots, diagram, diagrams

__version__ = "0.1.0"

__all__ = [
    "Diagram",
    "Dots",
    "Matching",
    "TopoLoss",
    "betti_match",
    "diagram",
    "diagrams",
    "match",
    "match_images",
    "predict",
    "topo_loss",
]

#: The library's modules, reachable as ``topoviz.metrics`` after ``import topoviz``
#: (imported on first use: ``topoviz.metrics`` had raised AttributeError).
_MODULES = (
    "calibration", "checkpoints", "data", "figures", "filtration", "imageio", "induced",
    "inference", "jitcache", "lesson", "loss", "matching", "metrics", "motion", "nets",
    "persistence", "provenance", "pushes", "stats", "synthetic", "train",
)  # fmt: skip


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"topoviz.{name}")
    raise AttributeError(f"module 'topoviz' has no attribute {name!r}")
