"""Session-state keys in one place, and their mirror in the URL.

The keys in :data:`SHARED` are written to ``st.query_params`` so that a link
reproduces a view (sample, α, matching rule, dimensions, selected dot, frame, and
where f comes from: the checkpoint, or the blur's settings), as TensorFlow
Playground serialises its state into the URL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

from topoviz.ui.words import RULE_HELP, RULE_LABELS

# Selection (sidebar)
SAMPLE = "sample"
SOURCE = "source"  # "sample" | "upload"
LIKELIHOOD = "likelihood"  # one of LIKELIHOODS
DARK = "dark"  # structures are dark in the image: f = 1 - image
CHECKPOINT = "checkpoint"
FRAME = "frame"
TEACH = "teach"
BLUR_SIGMA = "blur_sigma"
BLUR_NOISE = "blur_noise"
SEED = "seed"
SELECTION = "_selection"
UPLOADED_CHECKPOINT = "_uploaded_checkpoint"  # a cache.UploadedCheckpoint; never in the URL
GOOD_CHECKPOINT = "_good_checkpoint"  # the last uploaded checkpoint that could be used
URL_LOADED = "_url_loaded"

# View state shared between pages
ALPHA = "alpha"
RULE = "rule"
DOT = "dot"  # "dim:index" or ""
DOT_SET = "_dot_set"  # how many times the app itself set the dot (names the dot selectbox)
STRUCTURE = "structure"  # "" (guess: data.guess_structure) or one of metrics.STRUCTURES
THREE_D = "three_d"  # draw landscapes as 3-D surfaces (every page; slow without a GPU)
DIMS = "dims"  # the dimensions a view shows and counts its loss over: one of DIMS_LABELS

LIKELIHOODS = ("image", "blurred", "checkpoint", "upload")
LIKELIHOOD_LABELS = {
    "image": "No network: the image as likelihood",
    "blurred": "Ground truth blurred + noise",
    "checkpoint": "Trained checkpoint",
    "upload": "Upload a checkpoint",
}
RULES = ("paper", "optimal", "betti")

#: The dimensions a view can show. Dimension 1 first: the paper trains and evaluates
#: on it (footnote 8), and so do TopoLoss and the training pages here by default.
DIMS_LABELS = {"1": "holes (dim 1)", "0": "components (dim 0)", "0,1": "both"}

DEFAULTS: dict[str, Any] = {
    SAMPLE: "membranes_0",
    SOURCE: "sample",
    LIKELIHOOD: "checkpoint",  # falls back to the image when no checkpoint ships
    DARK: True,
    CHECKPOINT: "",
    FRAME: True,
    TEACH: True,
    BLUR_SIGMA: 1.5,
    BLUR_NOISE: 0.12,
    SEED: 0,
    ALPHA: 0.5,
    RULE: "paper",
    DOT: "",
    STRUCTURE: "",
    THREE_D: False,
    DIMS: "1",
}


#: Mirrored in the URL, with how to read each back from its text.
def _flag(text: str) -> bool:
    """A yes/no of the URL ("True" / "False", as ``sync_url`` writes it)."""
    words = {"true": True, "1": True, "false": False, "0": False}
    if text.lower() not in words:
        raise ValueError(f"not a yes/no: {text!r}")
    return words[text.lower()]


SHARED: dict[str, Callable[[str], Any]] = {
    SAMPLE: str,
    ALPHA: float,
    RULE: str,
    DOT: str,
    DIMS: str,
    FRAME: _flag,  # every count of holes depends on it: a link must carry it
    LIKELIHOOD: str,
    CHECKPOINT: str,
    BLUR_SIGMA: float,
    BLUR_NOISE: float,
    SEED: int,
    DARK: _flag,
}
#: Keys written to the URL only while f comes from this source (else dropped from it).
ONLY_FOR_SOURCE = {
    CHECKPOINT: "checkpoint",
    BLUR_SIGMA: "blurred",
    BLUR_NOISE: "blurred",
    SEED: "blurred",
    DARK: "image",
}


PAGE = "_page"  # the url path of the page this run draws (set by app.py)
BEFORE_LESSON = "_before_lesson"  # the user's own view, while the Lesson has changed it
#: What the Lesson sets, and so keeps to give back (its steps' selection, α and dot).
LESSON_KEYS = (SAMPLE, SOURCE, LIKELIHOOD, CHECKPOINT, FRAME, ALPHA, DOT)
LESSON_SELECTION = (SAMPLE, SOURCE, LIKELIHOOD, CHECKPOINT, FRAME)  # the sidebar's part
LESSON_VIEW = "_lesson_view"  # the selection the Lesson set last


def enter_lesson() -> None:
    """Keep the user's own view before the Lesson first changes it (once per visit)."""
    st.session_state.setdefault(BEFORE_LESSON, {k: st.session_state.get(k) for k in LESSON_KEYS})


def lesson_view_set() -> None:
    """Note the selection the Lesson has just set (:func:`lesson_left` compares)."""
    st.session_state[LESSON_VIEW] = {k: st.session_state.get(k) for k in LESSON_SELECTION}


def lesson_left() -> bool:
    """Whether this run draws a page other than the Lesson while the Lesson's view is
    still in place of the user's own (:func:`enter_lesson`); ``app.py`` names the
    page, a page run on its own (a test) names none. A user who has since chosen
    another sample, source of f, net or frame has moved on: the old view is dropped."""
    if st.session_state.get(PAGE) in (None, "lesson") or BEFORE_LESSON not in st.session_state:
        return False
    chosen = st.session_state.get(LESSON_VIEW, {})
    if any(st.session_state.get(k) != v for k, v in chosen.items()):
        keep_lesson_view()
        return False
    return True


def give_back_lesson() -> None:
    """Put back the view the user had before the Lesson changed it (a button's
    callback: before the sidebar draws its widgets)."""
    for key, value in st.session_state.pop(BEFORE_LESSON, {}).items():
        st.session_state[key] = value
    st.session_state.pop("_lesson_applied", None)  # back in the Lesson: its step again


def keep_lesson_view() -> None:
    """Keep the Lesson's view as the user's own (forget the one before it); back in
    the Lesson, its step is applied again and the view before it kept anew."""
    st.session_state.pop(BEFORE_LESSON, None)
    st.session_state.pop("_lesson_applied", None)


def init() -> None:
    """Fill missing keys with defaults; on a session's first run, read the URL."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if not st.session_state.get(URL_LOADED):
        st.session_state[URL_LOADED] = True
        # a page's own sliders: kept until their page draws them (page_value)
        st.session_state[PAGE_LINK] = {
            k: st.query_params[k] for k in PAGE_SHARED if k in st.query_params
        }
        for key, text in st.session_state[PAGE_LINK].items():  # said now, with the rest
            lo, hi = PAGE_SHARED[key]
            value = _page_read(key, text)
            if value is None:
                _link_ignored(key, "the page's default")
            elif not lo <= float(text) <= hi:
                _link_ignored(key, f"{value:g}, the nearest in {lo:g}–{hi:g}")
        for key, parse in SHARED.items():
            if key in st.query_params:
                try:
                    value = parse(st.query_params[key])
                    if isinstance(value, float) and not math.isfinite(value):
                        raise ValueError(key)
                    st.session_state[key] = value
                except ValueError:  # a hand-edited link with a bad value keeps the default
                    _link_ignored(key, f"the default, {DEFAULTS[key]}")
        # the sidebar's sliders refuse values off their range: a hand-edited link is clipped
        for key, lo, hi in (
            (ALPHA, 0.0, 1.0),
            (BLUR_SIGMA, 0.0, 4.0),
            (BLUR_NOISE, 0.0, 0.4),
            (SEED, 0, 10_000),
        ):
            value = st.session_state[key]
            st.session_state[key] = type(lo)(min(hi, max(lo, value)))
            if st.session_state[key] != value:
                _link_ignored(key, f"{st.session_state[key]}, the nearest in {lo}–{hi}")
        if st.query_params.get(LIKELIHOOD) == "upload":  # a link carries no uploaded file
            st.session_state[LIKELIHOOD] = DEFAULTS[LIKELIHOOD]
            link_note("an uploaded checkpoint cannot travel in a link: a shipped one is used")
        for key, allowed in ((LIKELIHOOD, LIKELIHOODS), (RULE, RULES), (DIMS, DIMS_LABELS)):
            if st.session_state[key] not in allowed:
                st.session_state[key] = DEFAULTS[key]
                _link_ignored(key, f"the default, {DEFAULTS[key]}")
        if DARK in st.query_params:  # the link's polarity, not the sample's default
            st.session_state["_dark_for"] = st.session_state[SAMPLE]
        if st.query_params.get(DOT) and dot() is None:
            _link_ignored(DOT, "no dot")
        picked = dot()
        if DIMS not in st.query_params and picked is not None and picked[0] == 0:
            st.session_state[DIMS] = "0,1"  # a link from before the choice: show its dot


LINK_NOTES = "_link_notes"  # what a link asked for and did not get (said in the sidebar)


def link_note(text: str) -> None:
    """Say, in the sidebar, something a link asked for and did not get (``text``: a
    clause; the sidebar escapes it)."""
    notes = st.session_state.setdefault(LINK_NOTES, [])
    if text not in notes:
        notes.append(text)


def _link_ignored(key: str, instead: str) -> None:
    shown = str(st.query_params.get(key, ""))[:40]
    link_note(f"{key}={shown} is not a value here: {instead} instead")


#: A page's own sliders that a link carries too, with their ranges: Diagrams' ε and
#: Filtration's spread t (a link without them opened another view).
PAGE_SHARED: dict[str, tuple[float, float]] = {
    "dgm_eps": (0.0, 0.5),
    "sharpness": (1.0, 12.0),
    "force_min": (0.0, 0.5),  # Landscape: the forces drawn and counted
    "half": (8, 64),  # Landscape: the window's half-size (whole pixels: int bounds)
    "arrows": (10, 500),  # Landscape: the most forces drawn
}
PAGE_OF = {  # the page that owns each
    "dgm_eps": "diagrams",
    "sharpness": "filtration",
    "force_min": "landscape",
    "half": "landscape",
    "arrows": "landscape",
}
PAGE_LINK = "_page_link"  # the link's values of PAGE_SHARED, until their page reads them
#: The steps of those sliders that have one beyond whole numbers of int bounds.
PAGE_STEP = {"arrows": 10}


def page_value(key: str, default: float) -> None:
    """Before the page's own slider ``key`` (of :data:`PAGE_SHARED`) is drawn: start it
    at the link's value (:func:`_page_read`), else at the user's last choice
    (:func:`keep_page_value`), else at ``default``. :func:`page_slider` draws the
    slider so."""
    if key in st.session_state:
        return
    value = st.session_state.get(_kept(key), default)  # the user's own choice, if any
    text = st.session_state.get(PAGE_LINK, {}).pop(key, None)  # the link's, once
    read = None if text is None else _page_read(key, text)
    if read is not None:  # else a hand-edited link's bad value: the default (said by init)
        value = st.session_state[_kept(key)] = read
    st.session_state[key] = value


def _page_read(key: str, text: str) -> float | None:
    """A link's ``text`` for the page slider ``key`` as the slider takes it: clipped to
    its range and on its grid (half=12.7 had been cut to 12, arrows=155 was off it);
    None when it is not a finite number."""
    try:
        read = float(text)
    except ValueError:
        return None
    if not math.isfinite(read):
        return None
    lo, hi = PAGE_SHARED[key]
    step = PAGE_STEP.get(key, 1 if isinstance(lo, int) else 0)
    if step:
        read = lo + round((read - lo) / step) * step
    return type(lo)(min(hi, max(lo, read)))


def page_slider(where: Any, label: str, key: str, default: float, **kwargs: Any) -> Any:
    """A page's own slider ``key`` of :data:`PAGE_SHARED` (its range) in ``where``,
    started by :func:`page_value` at the link's value, the user's last or ``default``,
    and kept by :func:`keep_page_value`; ``kwargs`` go to ``st.slider`` (step, help…)."""
    page_value(key, default)
    lo, hi = PAGE_SHARED[key]
    return where.slider(label, lo, hi, key=key, on_change=keep_page_value, args=(key,), **kwargs)


def keep_page_value(key: str) -> None:
    """The ``on_change`` of a page's own slider: keep the user's choice for when the
    page is opened again (Streamlit forgets a widget its page did not draw; the value
    then went back to the page's default, 0.08 to 0.05)."""
    st.session_state[_kept(key)] = st.session_state[key]


def _kept(key: str) -> str:
    return f"_kept_{key}"


def sync_url() -> None:
    """Write the shared keys to ``st.query_params`` (only those that changed).

    While an uploaded image is shown the sample is dropped from the URL: a copied
    link must not open a different image than the one on screen. A page's own slider
    (:data:`PAGE_SHARED`) is written while its page has it, and dropped after.
    """
    page = st.session_state.get(PAGE)  # None: a page run on its own (a test)
    for key in PAGE_SHARED:
        if key in st.session_state and page in (None, PAGE_OF[key]):
            text = f"{float(st.session_state[key]):g}"
            if st.query_params.get(key) != text:
                st.query_params[key] = text
        elif key in st.query_params:
            del st.query_params[key]
    source = st.session_state.get(LIKELIHOOD)
    for key in SHARED:
        if (
            (key == SAMPLE and st.session_state.get(SOURCE) == "upload")
            or (key == LIKELIHOOD and source == "upload")  # a link cannot carry the file
            or ONLY_FOR_SOURCE.get(key, source) != source
        ):
            if key in st.query_params:
                del st.query_params[key]
            continue
        text = str(st.session_state.get(key, DEFAULTS[key]))
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def rule_choice(label: str, key: str = RULE, **kwargs: Any) -> str:
    """A matching-rule choice kept under ``key`` across pages: by default the views'
    one (Landscape's forces, Diagrams' table and pushes, in the address bar); a run's
    own under its key (:func:`topoviz.ui.training.rule_select`)."""
    return persistent(
        key, st.selectbox, label, list(RULES), format_func=RULE_LABELS.get, help=RULE_HELP,
        **kwargs,
    )  # fmt: skip


def persistent(
    key: str, widget: Callable[..., Any], *args: Any, wkey: str | None = None, **kwargs: Any
) -> Any:
    """Draw ``widget`` bound to the state ``key`` so the value survives page changes.

    Streamlit forgets a widget's own key when a page without it runs; the value is
    therefore kept under ``key`` and the widget gets a private copy ``wkey``
    (default ``_w_key``).
    """
    wkey = wkey or f"_w_{key}"
    st.session_state[wkey] = st.session_state.get(key, DEFAULTS.get(key))

    def _copy() -> None:
        st.session_state[key] = st.session_state[wkey]

    value = widget(*args, key=wkey, on_change=_copy, **kwargs)
    st.session_state[key] = value
    return value


#: α's values on the Filtration and Lesson sliders, from 1 down to 0 as the barcode
#: and Betti curves beside them run: dragging right lowers α, as the filtration goes.
ALPHA_STEPS = tuple(round(1.0 - i / 100, 2) for i in range(101))


def alpha_slider(where: Any = st, label: str = "Threshold α") -> float:
    """The shared α on a slider that runs 1 → 0, like the α axes of the charts."""
    st.session_state[ALPHA] = round(float(st.session_state.get(ALPHA, DEFAULTS[ALPHA])), 2)
    return persistent(
        ALPHA, where.select_slider, label, ALPHA_STEPS, format_func=lambda a: f"{a:.2f}"
    )


def dims_of(choice: str) -> tuple[int, ...]:
    """A choice of dimensions as the app keeps it (``"0,1"``) as a tuple (``(0, 1)``)."""
    return tuple(int(k) for k in choice.split(","))


def dims_view(label: str = "Dimension") -> tuple[int, ...]:
    """The one choice, shared by the pages that draw a matching, of the dimensions
    shown: their dots, the loss over them and their forces. Mirrored in the URL."""
    choice = persistent(DIMS, st.radio, label, list(DIMS_LABELS), format_func=DIMS_LABELS.get,
                        horizontal=True)  # fmt: skip
    return dims_of(choice)


def three_d(label: str = "3-D landscape") -> bool:
    """The one switch, shared by every page, between a 3-D surface and its 2-D top view.

    Off by default: a 3-D chart costs a browser without a graphics card (software
    WebGL) two to four seconds of CPU before it shows anything, the top view a tenth
    of that. A teacher with a graphics card switches it on once for the session.
    """
    return persistent(
        THREE_D,
        st.toggle,
        label,
        help="Off: f seen from above (white is high), triangles where the loss raises or "
        "lowers it. On: the same as a 3-D terrain you can turn (slow in a browser without "
        "a graphics card). One switch for every page.",
    )


def dot() -> tuple[int, int] | None:
    """The selected dot as ``(dim, index)``, or None."""
    text = st.session_state.get(DOT, "")
    try:
        k, i = (int(v) for v in str(text).split(":"))
    except ValueError:
        return None
    return (k, i) if k in (0, 1) and i >= 0 else None


def set_dot(value: tuple[int, int] | None) -> None:
    """Select ``value`` (a click, a lesson step); the dot selectbox is then drawn anew.

    A browser that has not yet received the run in which the app changed the dot
    sends its selectbox's old value with its next rerun (a click also makes plotly
    send a second event, a selection cleared, shortly after the first). Under the
    same widget key, Streamlit would take that old value for the user's choice and
    undo the click. Each change made here therefore moves the selectbox to a new key
    (:func:`pick_dot`), whose value the app alone sets. The old key's callback still
    fires on that stale value, so it changes the dot only while its key is current.
    """
    text = "" if value is None else f"{value[0]}:{value[1]}"
    if st.session_state.get(DOT) != text:
        st.session_state[DOT_SET] = st.session_state.get(DOT_SET, 0) + 1
    st.session_state[DOT] = text


def dot_from_selection(event: Any) -> tuple[int, int] | None:
    """The Dgm(f) dot a plotly selection event picked, as ``(dim, index)``, or None.

    Reads ``customdata`` of the first selected point, as
    :func:`topoviz.figures.diagram_plot` sets it: ``[index, birth, death, cost, dim]``
    (Streamlit hands it back as a dict ``{"0": index, …, "4": dim}``).
    Points of other traces (ground-truth diamonds, the diagonal) carry none.
    """
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return None
    for point in points:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(custom, dict):  # Streamlit sends an array as {"0": …, "1": …}
            custom = [custom.get(str(j)) for j in range(len(custom))]
        if custom is not None and len(custom) >= 5 and None not in custom[:5]:
            return int(custom[4]), int(custom[0])
    return None


def follow_clicks(*keys: str) -> None:
    """Make a dot newly clicked on one of the charts ``keys`` the selected dot.

    Call it before :func:`pick_dot` and the charts: the run a click starts already
    holds the chart's selection in ``st.session_state[key]``, so the selectbox and
    every chart show the new dot in that same run (no second run). Streamlit keeps a
    chart's selection across reruns, so only a *new* click counts: the dot from the
    selectbox is not overridden by an old click.
    """
    for key in keys:
        picked = dot_from_selection(st.session_state.get(key))
        seen = f"_clicked_{key}"
        if picked is not None and st.session_state.get(seen) != picked:
            set_dot(picked)
        st.session_state[seen] = picked


def structure(name: str, mask: Any = None) -> str:
    """What the regions are for merges / splits: the Inspect page's choice, else a guess.

    The guess (``topoviz.data.guess_structure``) reads the sample's or file's name,
    and where the name says nothing (an upload's "003.png"), the mask where it is
    clear, else the data of the net that made f.
    """
    from topoviz.ui import cache

    return st.session_state.get(STRUCTURE) or cache.structure_guess(name, mask, net_data())[0]


def net_entry() -> dict | None:
    """The manifest entry of the shipped net the sidebar computes f with, or for an
    uploaded checkpoint an entry made from its meta
    (:func:`topoviz.provenance.entry_of_meta`); None when f comes from no net."""
    from topoviz.ui import cache

    if st.session_state.get(LIKELIHOOD) == "upload":
        return uploaded_entry()
    return {e["name"]: e for e in cache.manifest()[0]}.get(checkpoint_in_use() or "")


def uploaded_entry(up: Any = None) -> dict | None:
    """:func:`topoviz.provenance.entry_of_meta` of the uploaded checkpoint ``up`` (a
    ``cache.UploadedCheckpoint``; by default the one in use, the last that loaded), or
    None when there is none or it does not load."""
    from topoviz.provenance import entry_of_meta
    from topoviz.ui import cache

    up = st.session_state.get(GOOD_CHECKPOINT) if up is None else up
    if up is None:
        return None
    try:
        _, meta = cache.load_uploaded(up)
    except ValueError:  # CheckpointError: the sidebar says why
        return None
    return entry_of_meta(meta, up.name)


def betti_protocol(name: str) -> tuple[int, int, bool]:
    """``(n_patches, seed, held_out)`` of the Betti error of image ``name`` under the
    sidebar's net: :func:`topoviz.provenance.betti_protocol`, so a held-out image
    scores here as in the manifest and ``evaluate``."""
    from topoviz.provenance import betti_protocol as protocol

    n, seed, held = protocol(net_entry(), name)
    # an uploaded net has no manifest number to match (its seed still follows its fold)
    return n, seed, held and st.session_state.get(LIKELIHOOD) != "upload"


def net_data() -> str | None:
    """The data set of the net the sidebar computes f with (a shipped one, or an
    uploaded one whose meta names it), or None."""
    entry = net_entry()
    return None if entry is None else entry.get("data")


def checkpoint_in_use() -> str | None:
    """The shipped checkpoint the sidebar computes f with, or None (f from elsewhere)."""
    if st.session_state.get(LIKELIHOOD) != "checkpoint":
        return None
    return st.session_state.get(CHECKPOINT) or None


def teaching() -> bool:
    return bool(st.session_state.get(TEACH, True))


def pick_dot(
    dgm: Any, top: int = 40, label: str = "Select a dot", matching: Any = None, costly: int = 10
) -> tuple[int, int] | None:
    """A selectbox of the most persistent dots of each dimension, bound to :data:`DOT`;
    with a ``matching``, its ``costly`` costliest dots of each dimension first (the
    loss's largest terms: a missing cell's dot is born late, and 40 whole cells outlast
    it in persistence, so the Lesson's dot was in neither page's list).

    The choice is shared by every page and mirrored in the URL, so picking a dot on
    one view lights up its pixels on the others.
    """
    options = [""]
    labels = {"": "— none —"}
    for k in dgm.dims if matching is not None else ():
        cost = matching[k].dot_cost
        for i in np.argsort(-cost, kind="stable")[:costly]:
            if cost[i] <= 0:
                break
            d = dgm[k]
            options.append(f"{k}:{i}")
            labels[f"{k}:{i}"] = (
                f"dim {k} #{i}: cost {cost[i]:.4f} (born {d.birth[i]:.2f}, dies {d.death[i]:.2f})"
            )
    for k in dgm.dims:
        d = dgm[k]
        for i in np.argsort(-d.persistence, kind="stable")[:top]:
            key = f"{k}:{i}"
            if key in labels:  # listed first, by its cost
                continue
            options.append(key)
            labels[key] = (
                f"dim {k} #{i}: born {d.birth[i]:.2f}, dies {d.death[i]:.2f} "
                f"(persistence {d.persistence[i]:.2f})"
            )
    chosen = dot()
    if chosen is not None and f"{chosen[0]}:{chosen[1]}" not in labels:
        k, i = chosen
        if k in dgm.dims and i < len(dgm[k]):  # a dot from a link, beyond the top list
            options.append(f"{k}:{i}")
            labels[f"{k}:{i}"] = f"dim {k} #{i}"
        else:
            if k in dgm.dims and st.query_params.get(DOT) == f"{k}:{i}":  # not a view change
                st.caption(
                    f"The link's dot {k}:{i} is not in this diagram ({len(dgm[k])} dots of "
                    f"dimension {k}): no dot is selected."
                )
            set_dot(None)
    gen = st.session_state.get(DOT_SET, 0)
    wkey = f"_w_dot_{gen}"
    st.session_state[wkey] = st.session_state.get(DOT, "")
    st.session_state[DOT] = st.selectbox(
        label, options, format_func=labels.get, key=wkey, on_change=dot_picked(gen)
    )
    return dot()


def dot_picked(gen: int) -> Callable[[], None]:
    """The callback of the dot selectbox of generation ``gen`` (key ``_w_dot_<gen>``).

    Only the current generation speaks for the user: a browser that has not yet
    received the run that replaced its selectbox (:func:`set_dot`) still sends the
    old one, and Streamlit calls the old one's callback, which reset a dot just
    clicked (a second click soon after the first was undone).
    """

    def picked() -> None:
        if st.session_state.get(DOT_SET, 0) == gen:
            st.session_state[DOT] = st.session_state[f"_w_dot_{gen}"]

    return picked
