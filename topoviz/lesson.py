"""The guided lesson: eight steps from a 99 % right, topologically wrong segmentation
to what one TopoLoss fine-tune changes. Pure data; ``pages/8_lesson.py`` draws it.

Each :class:`Step` fixes the state a teacher needs on the projector (sample, source of
f, checkpoint, α, which dot), so Next / Back and a link ``/lesson?step=N`` always show
the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LIVE", "STEPS", "Step", "step_index"]

#: The lesson's example: a synthetic EM-like image and the net trained on such images.
SAMPLE = "membranes_0"
BASELINE = "membranes-unet-bce"
TWIN = "membranes-unet-topo"
#: The live fine-tune of the lesson's step 7, from BASELINE on the lesson's image at the
#: rate of the ISBI12 and CrackForest twin recipes of folds 1 and 3 (lr 1e-4; fold 2's
#: ran at 3e-4, BASELINE's own fine-tune at 1e-3); the diagram of the 65² patch around
#: its costliest hole moves while it trains, and step 8 sets it beside its λ = 0 control
#: (the same crops without L_topo).
#: bench/bench_lesson.py: at these settings TopoLoss closed the sample's gap in every run
#: of five seeds, BCE alone in some (a shallow gap: which crops BCE sees decides it).
LIVE = {"lam": 0.1, "steps": 20, "lr": 1e-4, "seed": 0, "batch": 8, "window": 65}


@dataclass(frozen=True)
class Step:
    """One screen of the lesson.

    ``view`` names what the page draws: ``"problem"``, ``"landscape"``,
    ``"filtration"``, ``"diagram"``, ``"matching"``, ``"forces"``, ``"finetune"`` or
    ``"result"``. ``state`` holds the session values the step sets (the sidebar's
    sample, likelihood, checkpoint; α; the selected dot as ``"costliest"`` or ``""``).
    """

    title: str
    text: str
    view: str
    state: dict = field(default_factory=dict)


# the frame on: every count the steps quote (cells as holes) is relative to it
_BASE = {
    "sample": SAMPLE,
    "source": "sample",
    "likelihood": "checkpoint",
    "checkpoint": BASELINE,
    "frame": True,
}

STEPS: tuple[Step, ...] = (
    Step(
        "99 % right, topologically wrong",
        "A U-Net segments cell membranes. Pixel by pixel it is about 99 % right. But count "
        "the cells: where a membrane has a one-pixel gap, two cells merge into one. For "
        "neurons that is a wrong wiring diagram. Pixel accuracy barely notices.",
        "problem",
        {**_BASE, "alpha": 0.5, "dot": ""},
    ),
    Step(
        "The likelihood is a landscape",
        "The net outputs a likelihood f in [0, 1]. Read it as terrain (seen from above, white "
        "is high; or switch on 3-D): membranes are ridges. "
        "A gap in a membrane is a low pass in a ridge. Thresholding at 0.5 floods "
        "everything below 0.5: the pass goes under water, and the two cells join.",
        "landscape",
        {**_BASE, "alpha": 0.5, "dot": "costliest"},
    ),
    Step(
        "The filtration: every threshold at once",
        "Instead of one threshold, lower α from 1 to 0. Components are born and merge, "
        "holes (cells) open and fill. Each is born at one α and dies at another. "
        "Structure pixels touching by a side are one component; cells touching only at a "
        "corner are one hole (a diagonal step of membrane does not part them).",
        "filtration",
        {**_BASE, "alpha": 0.5, "dot": ""},
    ),
    Step(
        "The persistence diagram",
        "Each component or hole becomes a dot at (1 − birth, 1 − death); here the holes "
        "(dimension 1), the cells. Dots near the diagonal live briefly (noise: thousands "
        "here, hidden below a persistence of 0.05, as the caption counts); dots near "
        "the corner (0, 1) are sure. A perfect likelihood has exactly as many dots at the "
        "corner as the ground truth has cells, and no others (any 0/1 map puts all its "
        "dots at the corner, right topology or not: the count is what matters).",
        "diagram",
        {**_BASE, "alpha": 0.5, "dot": ""},
    ),
    Step(
        "Matching to the ground truth",
        "The ground truth's dots all sit at the corner, one hole dot per cell. Match to "
        "them as many of f's hole dots as there are cells, those nearest the corner (Sec. "
        "2.2); every other "
        "dot is matched to the diagonal (the short-lived ones are hidden here, below ε = "
        "0.05). The loss L_topo (Eq. 2.2) is the sum of the squared arrow lengths.",
        "matching",
        {**_BASE, "alpha": 0.5, "dot": "costliest"},
    ),
    Step(
        "Forces on two pixels per dot",
        "Each dot's birth and death are the values of two critical pixels. The gradient "
        "of L_topo (Eq. 2.3) moves only those: the missing cell's dot is pulled to the "
        "corner by raising the saddle in the gap, step 2's low pass: the orange ▲ inside "
        "the ring (a magenta ▼ would lower a pixel). "
        "Only forces of 0.05 or more are drawn: the many noise dots pushed to the "
        "diagonal move their pixels far more weakly. Every other pixel is left to BCE.",
        "forces",
        {**_BASE, "alpha": 0.5, "dot": "costliest"},
    ),
    Step(
        "One fine-tune",
        "Press Start: the same net trains for 20 steps with L = L_bce + λ·L_topo, here, "
        "live. Watch the diagram of the patch around the broken membrane: each dot moves "
        "towards its match, leaving a faint trail; the missing cell's dot slides left "
        "along the top edge to the corner (0, 1) as its gap's pass rises. Green: pixels "
        "the training added to the segmentation; magenta: pixels it removed. The next "
        "step trains the same 20 steps without L_topo, for comparison.",
        "finetune",
        {**_BASE, "alpha": 0.5, "dot": ""},
    ),
    Step(
        "The result",
        "The same measures before and after the fine-tune, and after the same steps on the "
        "same crops without L_topo (BCE alone: the control). Accuracy hardly moves; the "
        "Betti numbers, false merges, ARI and the Betti error say whether the topology "
        "did, and the control says whether L_topo did it. (One image shows the mechanism; "
        "the held-out numbers of many images are in the models' report.)",
        "result",
        {**_BASE, "checkpoint": TWIN, "alpha": 0.5, "dot": ""},
    ),
)


def step_index(text: object, n: int = len(STEPS)) -> int:
    """The 0-based step of a ``?step=`` value (1-based, clamped to ``1..n``; 1 if bad).

    Examples
    --------
    >>> step_index("3"), step_index("99"), step_index("x"), step_index(None)
    (2, 7, 0, 0)
    """
    try:
        k = int(str(text))
    except ValueError:
        return 0
    return min(max(k, 1), n) - 1
