"""topoviz: see, teach and test topology-preserving segmentation (TopoLoss).

The library is pure computation (no Streamlit). The walk of the data::

    imageio.load_image -> inference.predict -> persistence.diagram
        -> matching.match -> loss.TopoLoss / figures / metrics
"""

from topoviz.inference import predict
from topoviz.loss import TopoLoss, topo_loss
from topoviz.matching import Matching, match
from topoviz.persistence import Diagram, Dots, diagram, diagrams

__version__ = "0.1.0"

__all__ = [
    "Diagram",
    "Dots",
    "Matching",
    "TopoLoss",
    "diagram",
    "diagrams",
    "match",
    "predict",
    "topo_loss",
]
