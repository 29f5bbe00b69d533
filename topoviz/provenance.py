"""Which data a checkpoint was trained on, and whether an image looks like it.

A net trained on synthetic membranes gives a useless likelihood on a real EM
slice, without a word. :func:`profile` sums an image up in four numbers (side,
mean intensity, contrast, texture), :data:`PROFILES_FILE` holds those of each
training set the shipped checkpoints saw (written by ``python -m
topoviz.provenance``), :func:`unlike` says how an image differs from one, and
:func:`nearest` names the closest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from topoviz.data import parse_fold

__all__ = [
    "PROFILES_FILE",
    "DATA_KINDS",
    "TABLE_PATCHES",
    "betti_protocol",
    "data_label",
    "describe",
    "entry_of_meta",
    "kind_mismatch",
    "of_structure",
    "structure_mismatch",
    "known_structure",
    "load_profiles",
    "nearest",
    "profile",
    "unlike",
]

PROFILES_FILE = Path(__file__).resolve().parents[1] / "models" / "data_profiles.json"

#: How far apart two profiles may be, per feature, before they count as unlike:
#: intensity statistics on [0, 1] images. The side (``log2_side``) is profiled but not
#: compared: an image's extent says nothing of its pixel scale (a 3000² mosaic of
#: ISBI12 slices had been called unlike ISBI12 for its size).
TOLERANCE = {"mean": 0.12, "std": 0.06, "texture": 0.03}
_WORDS = {
    "mean": "mean brightness",
    "std": "contrast (intensity std)",
    "texture": "texture (mean |pixel difference|)",
}


def profile(image: np.ndarray) -> dict[str, float]:
    """Four numbers of an image: its side, and three that tell data sets apart
    (:data:`TOLERANCE`): brightness, contrast, texture.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Intensities in [0, 1] (colour is averaged to grey).

    Returns
    -------
    dict
        ``log2_side`` (log2 of sqrt(H W)), ``mean``, ``std`` and ``texture`` (the
        mean absolute difference of horizontally adjacent pixels).

    Examples
    --------
    >>> import numpy as np
    >>> p = profile(np.tile([0.0, 1.0], (4, 2)))
    >>> p == {"log2_side": 2.0, "mean": 0.5, "std": 0.5, "texture": 1.0}
    True
    """
    x = np.asarray(image, np.float64)
    if x.ndim == 3:
        x = x.mean(axis=2)
    h, w = x.shape
    texture = float(np.abs(np.diff(x, axis=1)).mean()) if w > 1 else 0.0
    return {
        "log2_side": round(0.5 * math.log2(h * w), 4),
        "mean": round(float(x.mean()), 4),
        "std": round(float(x.std()), 4),
        "texture": round(texture, 4),
    }


def _distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    return math.sqrt(sum(((p[k] - q[k]) / t) ** 2 for k, t in TOLERANCE.items()))


def unlike(p: Mapping[str, float], ref: Mapping[str, float]) -> list[str]:
    """The ways profile ``p`` differs from ``ref`` by more than :data:`TOLERANCE`.

    Examples
    --------
    >>> ref = {"log2_side": 8.0, "mean": 0.5, "std": 0.2, "texture": 0.05}
    >>> unlike(dict(ref), ref)
    []
    >>> unlike({"log2_side": 9.0, "mean": 0.5, "std": 0.2, "texture": 0.2}, ref)
    ['texture (mean |pixel difference|) (0.20 vs 0.05)']
    """
    return [
        f"{_WORDS[k]} ({p[k]:.2f} vs {ref[k]:.2f})"
        for k, t in TOLERANCE.items()
        if abs(p[k] - ref[k]) > t
    ]


def nearest(p: Mapping[str, float], refs: Mapping[str, Mapping[str, float]]) -> str | None:
    """The name of the profile in ``refs`` closest to ``p`` (None when empty).

    Examples
    --------
    >>> refs = {"a": {"log2_side": 8, "mean": 0.2, "std": 0.1, "texture": 0.0},
    ...         "b": {"log2_side": 9, "mean": 0.6, "std": 0.2, "texture": 0.1}}
    >>> nearest({"log2_side": 9, "mean": 0.5, "std": 0.2, "texture": 0.1}, refs)
    'b'
    """
    if not refs:
        return None
    return min(refs, key=lambda name: _distance(p, refs[name]))


def load_profiles(path: str | Path = PROFILES_FILE) -> dict[str, dict[str, float]]:
    """The training-data profiles by data name (``{}`` when the file is missing or bad)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {str(k): {f: float(v[f]) for f in TOLERANCE} for k, v in data["profiles"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


#: The matching rules of ``topoviz.matching``, as a caption names them.
RULE_WORDS = {
    "paper": "the paper's matching",
    "optimal": "optimal matching",
    "betti": "Betti matching",
}


def describe(entry: Mapping) -> str:
    """Where a manifest entry's net learnt: its data, fold and loss, in words.

    Examples
    --------
    >>> describe({"data": "isbi12", "fold": 1, "folds": 3, "loss": "bce",
    ...           "held_out": ["00", "01"]})
    'trained on isbi12 (fold 1 of 3, held out: 00–01), loss bce'
    >>> describe({"data": "isbi12", "loss": "bce+topo", "lam": 0.1, "rule": "betti"})
    'trained on isbi12, loss bce + 0.1 · L_topo (Betti matching)'
    >>> describe({"data": "isbi12", "loss": "bce+topo", "lam": 0.1, "topo_dims": [0, 1]})
    "trained on isbi12, loss bce + 0.1 · L_topo (the paper's matching, components and holes)"
    """
    data = entry.get("data", "unknown data")
    parts = []
    if entry.get("fold") and entry.get("folds"):
        held = entry.get("held_out") or []
        parts.append(
            f"fold {entry['fold']} of {entry['folds']}"
            + (f", held out: {held[0]}–{held[-1]}" if held else "")
        )
    text = f"trained on {data}" + (f" ({'; '.join(parts)})" if parts else "")
    loss = entry.get("loss")
    if loss == "bce+topo" and entry.get("lam") is not None:
        rule = RULE_WORDS.get(entry.get("rule", "paper"), entry.get("rule"))
        dims = topo_dims_of(entry)
        words = {(1,): "holes", (0, 1): "components and holes", (0,): "components"}
        over = f", {words[tuple(dims)]}" if dims and tuple(dims) in words else ""
        return text + f", loss bce + {entry['lam']:g} · L_topo ({rule}{over})"
    return text + (f", loss {loss}" if loss else "")


def topo_dims_of(entry: Mapping) -> list[int] | None:
    """The dimensions a net's L_topo summed over: the entry's ``topo_dims``, else the
    last ``--topo-dims`` of its recipe (the first pairs recorded it there only), else
    None (not known).

    Examples
    --------
    >>> topo_dims_of({"topo_dims": [1]}), topo_dims_of({"recipe": ["train --topo-dims 0,1"]})
    ([1], [0, 1])
    >>> topo_dims_of({"recipe": "python -m topoviz train --lam 0.1"}) is None
    True
    """
    if isinstance(dims := entry.get("topo_dims"), list) and all(isinstance(d, int) for d in dims):
        return dims
    recipe = entry.get("recipe")
    lines = [recipe] if isinstance(recipe, str) else recipe if isinstance(recipe, list) else []
    found = re.findall(r"--topo-dims[ =]([01](?:,[01])?)\b", " ".join(map(str, lines)))
    return [int(d) for d in found[-1].split(",")] if found else None


def seen_in_training(
    entry: Mapping, file_name: str, net: str = "the net"
) -> tuple[bool, str] | None:
    """``(trained, sentence)`` when ``file_name`` looks like an image of the net's own
    data set: one it trained on (``trained``: its scores are then not held-out
    scores) or one its fold held out; None when the name says nothing (not numbered
    like the held-out images). ``net``: what the sentence calls the net.

    Examples
    --------
    >>> e = {"data": "isbi12", "held_out": ["00", "01", "02"]}
    >>> trained, words = seen_in_training(e, "15.png")
    >>> trained, words[:46]
    (True, 'If this is isbi12 image 15, the net trained on')
    >>> seen_in_training(e, "01.tif", net="isbi12-f1-unet-bce")[1][:66]
    'If this is isbi12 image 01, isbi12-f1-unet-bce held it out (00–02)'

    >>> seen_in_training(e, "cells.png") is None, seen_in_training(e, "150.png") is None
    (True, True)

    A net fine-tuned in the app (``fine_tuned_on``) has seen that image, held out or not:

    >>> seen_in_training(e | {"fine_tuned_on": ["01"]}, "01.png")[0]
    True
    """
    held = [str(h) for h in entry.get("held_out") or []]
    stem = Path(str(file_name)).stem
    data = entry.get("data", "its data")
    if stem in _names(entry.get("fine_tuned_on")):
        return True, (
            f"{net[:1].upper()}{net[1:]} was fine-tuned on an image named {stem} (in the "
            "app's Fine-tune live): if this is that image, its scores here say how well it "
            "fit this image, not how well it does on images it never saw."
        )
    if not held or not stem.isdigit() or len(stem) != len(held[0]):
        return None
    if stem in held:
        return False, (
            f"If this is {data} image {stem}, {net} held it out ({held[0]}–{held[-1]}): "
            "its scores here are held-out scores."
        )
    return True, (
        f"If this is {data} image {stem}, {net} trained on it (it held out only "
        f"{held[0]}–{held[-1]}): its scores here say how well it learnt this image, not how "
        "well it does on images it never saw."
    )


#: What the structures of each shipped training set are, as the samples' generators
#: name them (a membranes net on a cracks sample guesses membranes).
DATA_KINDS = {
    "synthetic-membranes": "membranes",
    "synthetic-vessels": "vessels",
    "isbi12": "membranes",
    "crackforest": "cracks",
}


#: The samples' generators that draw a kind of structure (not the paper's toy fig3).
STRUCTURE_KINDS = ("membranes", "vessels", "cracks", "roads")


def kind_mismatch(sample: str, kind: str, entry: Mapping, net: str) -> str | None:
    """A warning when the sample ``sample`` (made by generator ``kind``) is shown
    through a net trained on another kind of structure; None when the kinds agree or
    the net's data is not one of :data:`DATA_KINDS`. Profiles (:func:`unlike`) can
    miss it: synthetic cracks and membranes share size, brightness and texture.

    >>> e = {"data": "synthetic-membranes"}
    >>> kind_mismatch("cracks_0", "cracks", e, "m-bce")[:61]
    'cracks_0 is a synthetic cracks image; m-bce was trained on me'
    >>> kind_mismatch("membranes_1", "membranes", e, "m-bce") is None
    True
    >>> kind_mismatch("fig3_0", "fig3", e, "m-bce") is None
    True
    """
    theirs = DATA_KINDS.get(str(entry.get("data", "")))
    if theirs is None or theirs == kind or kind not in STRUCTURE_KINDS:
        return None  # fig3 is the paper's toy example, not a kind of structure
    return (
        f"{sample} is a synthetic {kind} image; {net} was trained on {theirs} "
        f"({entry['data']}). Its f here is a {theirs} net's guess, not a {kind} "
        "segmentation."
    )


def data_label(meta: Mapping) -> str:
    """A checkpoint's training data by the name its profile and manifest entry use:
    ``synthetic-NAME`` for generated data, else the data folder's name.

    >>> data_label({"data": "../shared/data/isbi12"})
    'isbi12'
    >>> data_label({"data": "synthetic:vessels?n=24&size=256&seed=0"})
    'synthetic-vessels'
    >>> data_label({"synthetic": {"name": "membranes"}, "data": "x"})
    'synthetic-membranes'
    """
    syn = meta.get("synthetic")
    if isinstance(syn, Mapping) and syn.get("name"):
        return f"synthetic-{syn['name']}"
    data = str(meta.get("data", ""))
    if data.startswith("synthetic:"):
        return "synthetic-" + data.removeprefix("synthetic:").partition("?")[0]
    return Path(data.rstrip("/")).name


def known_structure(data: str) -> str | None:
    """``"membranes"`` or ``"curvilinear"`` for a shipped training set (the regions
    :func:`topoviz.metrics.region_errors` counts on), None for an unknown one (where
    :func:`topoviz.data.structure_of` guesses from the name, membranes by default).

    >>> known_structure("isbi12"), known_structure("crackforest"), known_structure("mine")
    ('membranes', 'curvilinear', None)
    """
    kind = DATA_KINDS.get(str(data))
    return None if kind is None else "membranes" if kind == "membranes" else "curvilinear"


def of_structure(profiles: Mapping[str, Mapping], structure: str) -> dict:
    """The entries of ``profiles`` (by data name) whose data show ``structure``.

    >>> sorted(of_structure({"isbi12": {}, "crackforest": {}, "x": {}}, "curvilinear"))
    ['crackforest']
    """
    return {k: v for k, v in profiles.items() if known_structure(k) == structure}


def structure_mismatch(name: str, structure: str, entry: Mapping, net: str) -> str | None:
    """A warning when an uploaded image whose name or mask shows ``structure`` is
    seen through a net trained on the other kind; None when they agree or the net's
    data is unknown. Profiles can miss it: a fundus photograph's brightness and
    texture lie nearer ISBI12's than CrackForest's.

    >>> structure_mismatch("eye.png", "curvilinear", {"data": "isbi12"}, "i-bce")[:58]
    'eye.png shows curvilinear structures (vessels, cracks, roa'
    >>> structure_mismatch("eye.png", "curvilinear", {"data": "crackforest"}, "c") is None
    True
    """
    theirs = known_structure(str(entry.get("data", "")))
    if theirs is None or theirs == structure:
        return None
    shows = {"membranes": "membranes between cells", "curvilinear": "curvilinear structures"}
    return (
        f"{name} shows {shows[structure]} (vessels, cracks, roads), by its name or mask; "
        if structure == "curvilinear"
        else f"{name} shows {shows[structure]}, by its name or mask; "
    ) + (
        f"{net} was trained on {shows[theirs]} ({entry['data']}). Its f here is a "
        f"{theirs} net's guess, not a segmentation of what this image shows."
    )


#: Betti-error patches per image of ``evaluate``, ``compare`` and models/README's
#: tables, where a manifest entry does not record its own (``metrics.n_patches``).
TABLE_PATCHES = 200


def betti_protocol(entry: Mapping | None, file_name: str) -> tuple[int, int, bool]:
    """``(n_patches, seed, held_out)`` of the Betti error that ``evaluate`` and
    ``compare`` gave ``file_name`` for the net of manifest ``entry``.

    They score image ``i`` of a fold's held-out images with ``n_patches`` random
    patches seeded ``i`` (:func:`topoviz.train.evaluate_predictions`). For a file
    named like one of the net's held-out images that is its position (``held_out``
    True: the app's number is then the manifest's); any other image gets seed 0.

    Examples
    --------
    >>> e = {"held_out": ["10", "11", "12"], "metrics": {"n_patches": 200}}
    >>> betti_protocol(e, "11.png"), betti_protocol(e, "05.png"), betti_protocol(None, "x")
    ((200, 1, True), (200, 0, False), (200, 0, False))
    """
    if not entry:
        return TABLE_PATCHES, 0, False
    n = int((entry.get("metrics") or {}).get("n_patches") or TABLE_PATCHES)
    held = [str(h) for h in entry.get("held_out") or []]
    stem = Path(str(file_name)).stem
    if stem in held:  # the seed stays the fold's after a fine-tune on it; "held out" does not
        return n, held.index(stem), stem not in _names(entry.get("fine_tuned_on"))
    return n, 0, False


#: The most Betti-error patches an uploaded checkpoint's meta may ask for (each page
#: view draws them: tens of thousands made every view slow).
MAX_PATCHES = 1000
#: At most this many names are read from a checkpoint's ``held_out`` / ``fine_tuned_on``
#: (an uploaded file's meta is anybody's: a list of a million names is not read).
MAX_NAMES = 10_000


def _names(value: object) -> list[str]:
    """The image names (strings of up to 255 characters) in the list ``value``; [] when
    it is not a list or is too long a one."""
    if not isinstance(value, list) or len(value) > MAX_NAMES:
        return []
    return [v for v in value if isinstance(v, str) and 0 < len(v) <= 255]


def entry_of_meta(meta: Mapping, name: str) -> dict:
    """A manifest-like entry for a checkpoint known only by its ``meta`` (an uploaded
    file), so that what the app says of a shipped net (its data, the images it held
    out or was fine-tuned on, the Betti error's patches) it says of this one too.
    Only fields of the expected types are read: an uploaded file's meta is untrusted.

    Examples
    --------
    >>> m = {"data": "../shared/data/isbi12", "held_out": ["00", "01"], "fold": 1,
    ...      "folds": 3, "fine_tuned_on": ["01"], "metrics": {"n_patches": 100}}
    >>> e = entry_of_meta(m, "mine.pt")
    >>> e["data"], e["held_out"], e["fine_tuned_on"], betti_protocol(e, "01.png")
    ('isbi12', ['00', '01'], ['01'], (100, 1, False))
    >>> {k: entry_of_meta({"fold": "2/3"}, "x.pt").get(k) for k in ("fold", "folds")}
    {'fold': 2, 'folds': 3}
    >>> entry_of_meta({"held_out": "00", "metrics": {"n_patches": -3}}, "x.pt")
    {'name': 'x.pt'}
    >>> bad = {"data": "x" * 100, "synthetic": {"name": ["a"]}, "metrics": {"n_patches": 10**5}}
    >>> entry_of_meta(bad, "x.pt")
    {'name': 'x.pt'}
    """
    entry: dict = {"name": str(name)}
    syn = meta.get("synthetic")
    if isinstance(meta.get("data"), str) and (
        not isinstance(syn, Mapping) or isinstance(syn.get("name"), str)
    ):
        label = data_label(meta)
        if re.fullmatch(r"[\w.+-]{1,64}", label):  # a data set's name, not a paragraph
            entry["data"] = label
    for key in ("held_out", "fine_tuned_on"):
        if names := _names(meta.get(key)):
            entry[key] = names
    fold, folds = meta.get("fold"), meta.get("folds")  # K and N, as the app writes them
    if isinstance(fold, str) and len(fold) <= 16:  # "K/N", as train writes it
        try:
            fold, folds = parse_fold(fold)
        except ValueError:
            fold = None
    for key, value in (("fold", fold), ("folds", folds)):
        if type(value) is int and 0 < value <= 1000:
            entry[key] = value
    n = (
        (meta.get("metrics") or {}).get("n_patches")
        if isinstance(meta.get("metrics"), Mapping)
        else None
    )
    if type(n) is int and 0 < n <= MAX_PATCHES:
        entry["metrics"] = {"n_patches": n}
    for key in ("loss", "rule"):
        if isinstance(meta.get(key), str) and len(meta[key]) <= 20:
            entry[key] = meta[key]
    base = meta.get("fine_tuned_from")  # a shipped net's name (the app's fine-tunes)
    if isinstance(base, str) and re.fullmatch(r"[\w.+-]{1,64}", base):
        entry["fine_tuned_from"] = base
    dims = meta.get("topo_dims")
    if isinstance(dims, list) and dims in ([0], [1], [0, 1]):
        entry["topo_dims"] = dims
    if type(meta.get("lam")) in (int, float) and math.isfinite(meta["lam"]):
        entry["lam"] = float(meta["lam"])
    return entry


def _write(specs: Sequence[tuple[str, str]], out: Path) -> dict:
    from topoviz.data import load_split

    profiles = {}
    for name, spec in specs:
        split = load_split(spec, fold=None)
        ps = [profile(im) for im in split.train_images]
        profiles[name] = {k: round(float(np.median([p[k] for p in ps])), 4) for k in TOLERANCE}
    doc = {
        "about": "Median profile (topoviz.provenance.profile) of each training set; "
        "written by `python -m topoviz.provenance`.",
        "profiles": profiles,
    }
    out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return doc


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--out", default=str(PROFILES_FILE))
    args = parser.parse_args()
    root = Path(args.data_root)
    specs = [
        ("synthetic-membranes", "synthetic:membranes?n=24&size=256&seed=0"),
        ("synthetic-vessels", "synthetic:vessels?n=24&size=256&seed=0"),
        ("isbi12", str(root / "isbi12")),
        ("crackforest", str(root / "crackforest")),
    ]
    print(json.dumps(_write(specs, Path(args.out)), indent=1))
