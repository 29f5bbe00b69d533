"""What the pages say about the region-level metrics, in one place.

The same words on Inspect, Fine-tune and λ experiments, so that a number means
one thing everywhere.
"""

from __future__ import annotations

import re

import numpy as np
from skimage.measure import label

from topoviz.figures import many
from topoviz.metrics import regions

REGION_HELP = {
    "merges": (
        "False merges: predicted regions that each cover two or more true regions "
        "(membranes: cells seen as one through a broken membrane; curvilinear: two "
        "cracks or vessels joined by a false bridge). Counted k − 1 for k regions."
    ),
    "splits": (
        "False splits: true regions cut into pieces by the prediction (membranes: "
        "a spurious wall across a cell; curvilinear: a broken crack or vessel). A piece "
        "counts when it covers 20 % of the true region (curvilinear: 20 % of its skeleton "
        "or 50 skeleton pixels): specks, which β0 counts one by one, do not."
    ),
    "missed": "True regions that no predicted region holds half of (filled in, or cut so "
    "that no piece holds half: such a cut region also counts as a split), of the true "
    "regions large enough to count: cells of 50 px or more (curvilinear: 50 skeleton "
    "pixels). For membranes the β1 beside it counts every hole, the smallest and, with "
    "the frame, the background touching the border too.",
    "pinholes": "Holes of 25 px or more dug into the true structure, more than half on it.",
}

STRUCTURE_LABELS = {
    "": "guess (from the name, else the mask)",
    "membranes": "membranes: regions are the cells between walls",
    "curvilinear": "curvilinear: regions are the vessels / cracks / roads themselves",
}


def betti_help(n_patches: int, seed: int, held: bool) -> str:
    """The Betti error's help: how it was sampled, and whether ``evaluate`` and the
    manifest give this image the same number (``held``: one of the net's held-out
    images, scored with their patches; :func:`topoviz.provenance.betti_protocol`).

    Examples
    --------
    >>> betti_help(200, 3, True)[:62]
    'Mean |Δβ1| over 200 random framed 65×65 patches (seed 3); ± is'
    """
    said = (
        f"Mean |Δβ1| over {n_patches} random framed 65×65 patches (seed {seed}); ± is one "
        "standard error of that sampling: another draw of patches moves the number by "
        "about that much. "
    )
    if held:
        return said + (
            "The file is named like one of the net's held-out images: if it is that "
            "image, these are the patches `python -m topoviz evaluate` and models/README's "
            "tables drew for it, and the number is the manifest's."
        )
    return said + (
        "`python -m topoviz evaluate` seeds image i of a fold with i, so for a fold image "
        "its number can differ from this one by about that much."
    )


def betti_change_words(first: dict, second: dict, noise: float, n_patches: int) -> str:
    """Whether the Betti error's change between two nets is more than the sampling
    noise of that change (``noise``: one standard error of the paired difference over
    the same patches, :func:`topoviz.metrics.betti_error_noise`).

    Examples
    --------
    >>> print(betti_change_words({"betti_error": 0.51}, {"betti_error": 0.51}, 0.04, 200))
    Betti error: the change +0.000 is within two standard errors of its sampling noise
    (one is 0.040, of the difference over the same 200 patches): on this image it says
    nothing either way.
    """
    d = second["betti_error"] - first["betti_error"]
    if abs(d) <= 2 * noise:
        verdict, tail = "within", "on this image it says nothing either way."
    else:
        verdict, tail = "more than", "a difference on this image, not yet on others."
    return (
        f"Betti error: the change {d:+.3f} is {verdict} two standard errors of its "
        f"sampling noise (one is {noise:.3f}, of the difference over the same {n_patches} "
        f"patches): {tail}"
    )


def calibration_sentence(refs: dict[str, dict], structure: str) -> str:
    """One sentence of scale: the ground truth moved by 1 px, and with N injected breaks."""
    shifted = refs["GT shifted 1 px"]
    breaks = next(v for k, v in refs.items() if re.fullmatch(r"GT \+ \d+ breaks?", k))
    broken_kind = "merges" if structure == "membranes" else "splits"
    moved, broken = shifted["betti_error"], breaks["betti_error"]
    # what the patch Betti error says here depends on the image: on ISBI12 a moved
    # edge scored worse than ten breaks, on the synthetic membranes a quarter of them
    if broken <= moved:
        betti = "the patch Betti error scores the moved edge as high or higher"
    elif broken < 2 * moved:
        betti = "the patch Betti error barely does"
    else:
        betti = (
            "the patch Betti error rises with the breaks too, but a moved edge also "
            "scores above 0, so its value alone does not say which"
        )
    return (
        f"For scale, the ground truth itself: moved by one pixel (same topology) it "
        f"scores {shifted['merges']:.0f} merges and {shifted['splits']:.0f} splits, "
        f"but Betti error {moved:.2f}; with {many(breaks['injected'], 'break')} cut into it, "
        f"{breaks[broken_kind]:.0f} {broken_kind} are counted and the Betti error is "
        f"{broken:.2f}. Merges and splits tell a broken structure from a moved edge; "
        f"{betti}."
    )


def small_image_words(mask: np.ndarray, structure: str, n_gt: int, patch: int = 65) -> str | None:
    """What an image too small for the metrics' scales makes of them, or None.

    Region counts skip true regions under 50 pixels (cells) or 50 skeleton pixels
    (cracks, vessels); the Betti error's 65² patches are clipped to the image.

    >>> tiny = np.zeros((20, 20), bool); tiny[:, 9] = True
    >>> small_image_words(tiny, "curvilinear", 0)[:60]
    'No true region of this ground truth is large enough to count'
    >>> small_image_words(np.zeros((80, 80), bool), "membranes", 3) is None
    True
    """
    said = []
    if n_gt == 0 and np.any(mask):
        unit = "pixels" if structure == "membranes" else "skeleton pixels (its length)"
        said.append(
            "No true region of this ground truth is large enough to count (50 "
            f"{unit} or more), so false merges, splits and missed regions read 0 and say "
            "nothing here."
        )
    if min(np.shape(mask)) < patch:
        said.append(
            f"The image is smaller than a {patch}×{patch} patch: each of the Betti error's "
            "patches is the whole image, so it is the whole image's error, with no sampling "
            "noise (± 0)."
        )
    return " ".join(said) or None


def region_blind_words(mask: np.ndarray, structure: str = "curvilinear") -> str | None:
    """Why ARI and VOI cannot see this ground truth's structure, or None when they can.

    Both compare the regions *between* structures (:func:`topoviz.metrics.regions`).
    Where the ground truth leaves one region (cracks or vessels that enclose nothing:
    75 of CrackForest's 118 labels: bench/bench_mask_check.py), an empty prediction
    scores ARI 1 and VOI 0; where it leaves none, both are undefined.
    """
    labels = regions(mask)
    n = len(np.unique(labels[labels > 0]))
    if n > 1:
        return None
    if n == 0:
        return "ARI and VOI compare the regions between structures; this ground truth leaves none."
    return (
        "ARI and VOI compare the regions between structures, and this ground truth "
        "leaves only one (its structures enclose nothing). So they see a false bridge "
        "that closes a loop, but not a missed or broken structure: those leave them at "
        "1 and 0. "
        + (
            "The counts above see them."
            if structure == "curvilinear"
            else "With one cell there is nothing to merge either: read the Betti numbers."
        )
    )


def corner_words(
    mask: np.ndarray, structure: str, frame: bool = True, n_gt: int | None = None
) -> str | None:
    """Why β0 of the ground truth can be far above its count of cracks or vessels, or
    None: β (and the loss) join pixels by an edge, the curvilinear region counts also
    by a corner (and without the frame), and a one-pixel diagonal line touches itself
    only at corners. ``n_gt``: how many of those pieces the counts weigh (50 px of
    skeleton or more: ``region_errors``' ``n_gt``)."""
    if structure != "curvilinear":
        return None
    m = np.asarray(mask, bool)
    framed = np.pad(m, 1, constant_values=True) if frame else m
    by_edge = int(label(framed, connectivity=1).max())
    if by_edge == int(label(framed, connectivity=2).max()):
        return None  # no piece touches another only at a corner: nothing to explain
    by_corner = int(label(m, connectivity=2).max())
    weighed = "" if n_gt is None else f"; the counts above weigh the {n_gt} of at least 50 px"
    return (
        f"β counts pixels joined by an edge, as the loss does: so this ground truth is "
        f"{many(by_edge, 'piece')}"
        f"{' (the frame and what touches it one of them)' if frame else ''}. "
        f"Joined also where pixels touch at a corner, as the merge and split counts join "
        f"them, its structures are {many(by_corner, 'piece')}{weighed} (a one-pixel "
        "diagonal crack touches itself only at corners)."
    )


def lambda_phrase(lams: tuple[float, ...]) -> str:
    """The λ of a data set's twins, one per fold: ``0.1`` where every fold has it,
    else ``0.1, 0.1 and 0.3 (folds 1–3)``."""
    if len(set(lams)) == 1:
        return f"{lams[0]:g}"
    *head, last = (f"{x:g}" for x in lams)
    return f"{', '.join(head)} and {last} (folds 1–{len(lams)})"


#: What Landscape and Diagrams say of a selected dot with no pixel in the image.
FRAME_DOT = (
    "This dot has no pixel in the image: its class is born in the frame (the frame's own "
    "component, value 1) and never dies, so there is nothing to mark."
)


#: The matching rules as every rule choice lists them (the views' and the runs').
RULE_LABELS = {
    "paper": "paper: the k dots nearest (0, 1)",
    "optimal": "optimal (W2)",
    "betti": "Betti matching: same place",
}


#: The matching rules, in words (the rule choice's help on every page that offers it).
RULE_HELP = (
    "How Dgm(f) is matched to Dgm(g). The paper's rule pulls up the k dots nearest the "
    "corner wherever they lie; optimal (W2) is the matching of least total squared "
    "distance (the 2-Wasserstein matching, computed exactly: never costlier than the "
    "paper's); Betti matching (Stucki et al. 2023, after the paper) pulls up only a "
    "feature at the place of a true one and pushes every other down."
)
