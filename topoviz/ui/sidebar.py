"""The shared sidebar: which image, which ground truth, which likelihood.

:func:`render` draws it and returns a :class:`Selection`; ``app.py`` calls it on
every run before the page. A page calls :func:`current`, which returns that
selection, or draws the sidebar itself when the page runs alone (tests).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from topoviz import nets, provenance
from topoviz.checkpoints import CheckpointError, quote
from topoviz.data import BY_IMAGE
from topoviz.imageio import MAX_BYTES, ImageError
from topoviz.ui import cache, nav, working
from topoviz.ui import state as S

_RENDERED = "_sidebar_rendered"
_PROBLEM = "_upload_problem"  # this run's refusal of an uploaded image or mask
_GOOD_IMAGE = "_upload_good_image"  # (name, key, ImageRead) of the last usable upload
_GOOD_MASK = "_upload_good_mask"  # (image key, mask key, name, MaskRead): its last usable mask
# Generators whose structures are bright in the image (the rest are dark).
_BRIGHT = {"roads", "fig3"}


@dataclass(frozen=True)
class Selection:
    """What the pages work on.

    ``f`` is the likelihood in [0, 1] (structure high); ``mask`` the ground truth
    (bool) or None; ``source`` says in words where ``f`` came from.
    """

    name: str
    image: np.ndarray | None
    mask: np.ndarray | None
    f: np.ndarray | None
    source: str
    frame: bool = True
    notices: tuple[str, ...] = field(default_factory=tuple)
    problem: str = ""  # why an uploaded image or mask was refused (the sidebar says it too)

    @property
    def ok(self) -> bool:
        return self.f is not None

    @property
    def missing(self) -> str:
        """Why there is no f, as the pages say it ("" when there is one)."""
        if self.ok:
            return ""
        if self.image is None and self.problem:
            return f"The uploaded image could not be used: {self.problem}"
        if self.image is None:
            return "Choose a sample or upload an image in the sidebar."
        return (
            "No likelihood f: the source of f chosen in the sidebar could not be used "
            "(its message is in the sidebar). Choose another source of f."
        )

    @property
    def name_md(self) -> str:
        """``name`` (an upload's file name, chosen by whoever made the file) as plain
        text for Markdown (captions): shortened, Markdown switched off."""
        return plain(self.name, 80)

    @property
    def source_md(self) -> str:
        """``source`` as plain text for Markdown (it quotes an uploaded file's name)."""
        return plain(self.source, 160)

    @property
    def g(self) -> np.ndarray | None:
        """The ground truth as a binary-valued function (float64), or None."""
        return None if self.mask is None else self.mask.astype(np.float64)


def current() -> Selection:
    """The selection of this run (drawing the sidebar if ``app.py`` has not)."""
    nav.run_through_app()
    if st.session_state.get(_RENDERED):
        st.session_state[_RENDERED] = False
        return st.session_state[S.SELECTION]
    sel = render()
    st.session_state[_RENDERED] = False
    return sel


def render() -> Selection:
    S.init()
    with st.sidebar:
        link_notes = st.container()  # filled last: the sample and net are checked below
        if S.lesson_left():  # the Lesson set its sample, net and α for every page
            st.info("The Lesson chose this image, net and α.")
            st.button(
                "Back to my view",
                key="lesson_back",
                on_click=S.give_back_lesson,
                width="stretch",
                help="The sample, source of f, frame, α and dot you had before the Lesson "
                "(an uploaded image must be uploaded again).",
            )
            st.button(
                "Keep this one", key="lesson_keep", on_click=S.keep_lesson_view, width="stretch"
            )
        st.header("Data")
        source = S.persistent(
            S.SOURCE,
            st.radio,
            "Image",
            ["sample", "upload"],
            format_func={"sample": "Sample", "upload": "Upload your own"}.get,
            horizontal=True,
        )
        st.session_state[_PROBLEM] = ""
        if source == "sample":
            name, image, mask, notices = _sample()
        else:
            name, image, mask, notices = _upload()
        image, mask, fitted = working.choose(name, image, mask)  # at most 1024² for the views
        notices = [*notices, *fitted]
        f, label = (None, "") if image is None else _likelihood(name, image, mask)
        st.divider()
        S.persistent(S.FRAME, st.toggle, "Frame (relative homology)", help=_FRAME_HELP)
        S.persistent(S.TEACH, st.toggle, "Teaching mode", help="Short explanations on each page.")
        S.sync_url()
        _say_link_notes(link_notes)
        if source == "upload":
            st.caption(
                "An uploaded image stays in this browser session: the address bar holds α, rule, "
                "dimensions, dot, frame, ε, spread t, Landscape's sliders and the source of f "
                "but no image, so a "
                "copied link cannot show this view."
            )
        else:
            st.caption(
                "The address bar holds sample, source of f (checkpoint, blur), frame, α, rule, "
                "dimensions, dot, Diagrams' ε, Filtration's spread t and Landscape's sliders: "
                "copy it to share "
                "this view"
                + (
                    " (not an uploaded checkpoint)."
                    if st.session_state[S.LIKELIHOOD] == "upload"
                    else "."
                )
            )
    sel = Selection(
        name,
        image,
        mask,
        f,
        label,
        bool(st.session_state[S.FRAME]),
        tuple(notices),
        st.session_state[_PROBLEM],
    )
    st.session_state[S.SELECTION] = sel
    st.session_state[_RENDERED] = True
    return sel


_FRAME_HELP = (
    "Pad a one-pixel frame of value 1, the paper's stand-in for relative homology "
    "(Sec. 2.3): structures cut by the border close loops. The counts shown are the "
    "padded image's: the frame is one more component, and every background region is a "
    "hole, one more than relative homology counts (a Y cut by the border: 3 holes here, "
    "the paper's 2 handles). The frame's own class is a dot at the corner (0, 1) in "
    "both diagrams and costs nothing; the loss changes only where the border closes or "
    "opens other loops."
)


def _say_link_notes(where) -> None:
    """What the opening link asked for and did not get (:func:`topoviz.ui.state.link_note`),
    until the user says OK: a hand-edited or old link was otherwise corrected silently."""
    notes = st.session_state.get(S.LINK_NOTES)
    if not notes:
        return
    with where:
        st.warning("From the link: " + "; ".join(_plain(n, 200) for n in notes) + ".")
        st.button(
            "OK", key="link_notes_ok", on_click=st.session_state.pop, args=(S.LINK_NOTES, None)
        )


def _sample() -> tuple[str, np.ndarray, np.ndarray, list[str]]:
    index = cache.sample_index()
    names = [i["name"] for i in index]
    if st.session_state[S.SAMPLE] not in names:
        S.link_note(f"there is no sample {st.session_state[S.SAMPLE]!s:.40}: {names[0]} is shown")
        st.session_state[S.SAMPLE] = names[0]
    name = S.persistent(S.SAMPLE, st.selectbox, "Sample", names)
    item = index[names.index(name)]
    st.caption(item.get("description", ""))
    image, mask = cache.load_sample(name)
    if st.session_state.get("_dark_for") != name:  # a new sample: its own polarity
        st.session_state["_dark_for"] = name
        st.session_state[S.DARK] = item.get("generator") not in _BRIGHT
    return name, image, mask, []


def _upload() -> tuple[str, np.ndarray | None, np.ndarray | None, list[str]]:
    """The uploaded image and mask. A file that cannot be used is refused with its
    reason, and the last image (and its mask) that could be used stays on the pages:
    a wrong file loses nothing."""
    # the readers' own limit, not Streamlit's 200 MB, in the boxes' text
    up = st.file_uploader("Image (PNG, TIFF, JPEG…)", key="upload_image", max_upload_size=MB)
    up_mask = st.file_uploader(
        "Ground-truth mask (optional)", key="upload_mask", max_upload_size=MB
    )
    if not _replacing("upload_image", up is None):  # removed, not replaced: forget it
        st.session_state.pop(_GOOD_IMAGE, None)
        st.session_state.pop(_GOOD_MASK, None)
    if up is None:
        st.info("Upload an image to inspect it, or switch back to a sample.")
        return "upload", None, None, []
    stand_in = False  # the kept image shows instead of a refused one
    try:
        read = cache.read_upload(up.getvalue())
        name, key = up.name, f"{up.name}:{up.size}"
        st.session_state[_GOOD_IMAGE] = (name, key, read)
    except ImageError as error:
        kept = st.session_state.get(_GOOD_IMAGE)
        if kept is None:
            st.error(str(error))
            st.session_state[_PROBLEM] = str(error)
            return up.name, None, None, []
        name, key, read = kept
        stand_in = True
        words = f"{plain(up.name)} was refused: {error} Still showing {plain(name)}."
        st.error(words)
        st.session_state[_PROBLEM] = words
    if stand_in:  # a mask uploaded now belongs to the refused image, not to this one
        mask, mask_tag, mask_notices = _kept_mask(key, up_mask)
    else:
        mask, mask_tag, mask_notices = _upload_mask(up_mask, read, key)
    notices = [*read.notices, *mask_notices]
    for notice in notices:
        st.info(notice)
    key = f"{key}:{mask_tag}"
    if st.session_state.get("_dark_for") != key:  # guess the polarity once per upload
        st.session_state["_dark_for"] = key
        img = read.array
        dark = (
            True
            if mask is None or not mask.any() or mask.all()
            else (img[mask].mean() < img[~mask].mean())
        )
        st.session_state[S.DARK] = bool(dark)
    return name, read.array, mask, notices


#: A browser replacing an uploaded file sends a run with no file, then one with the new
#: file, within this many seconds; a file missing for longer was removed.
REPLACE_S = 10.0


def _replacing(uploader: str, empty: bool) -> bool:
    """Whether what is kept of ``uploader``'s last usable file may still stand in: the
    uploader holds a file, or it has been empty for less than :data:`REPLACE_S`
    (``empty``: it is empty on this run)."""
    since = f"_emptied_{uploader}"
    if not empty:
        started = st.session_state.pop(since, None)
        return started is None or time.monotonic() - started < REPLACE_S
    st.session_state.setdefault(since, time.monotonic())
    return time.monotonic() - st.session_state[since] < REPLACE_S


_MASK_WITH = "_mask_with"  # each uploaded mask's first image (upload keys)
MB = MAX_BYTES // 1_000_000  # the image and mask uploaders' limit, in Streamlit's MB


def _good_mask(key: str) -> tuple[str, str, Any] | None:
    """``(tag, name, MaskRead)`` of the last usable mask of the upload ``key``, or None."""
    kept = st.session_state.get(_GOOD_MASK)
    return None if kept is None or kept[0] != key else kept[1:]


def _kept_mask(key: str, up_mask: Any) -> tuple[np.ndarray | None, str | None, list[str]]:
    """While the kept image ``key`` stands in for a refused one: its own last usable
    mask (or none), never a mask uploaded since."""
    kept = _good_mask(key)
    if kept is None:
        if up_mask is not None:
            st.info(f"The mask {plain(up_mask.name)} is not used: it is not this image's.")
        return None, None, []
    tag, name, mread = kept
    if up_mask is not None and f"{up_mask.name}:{up_mask.size}" != tag:
        st.info(f"The mask {plain(up_mask.name)} is not used: this image keeps {plain(name)}.")
    return mread.mask, tag, list(mread.notices)


def _upload_mask(
    up_mask: Any, read: Any, key: str
) -> tuple[np.ndarray | None, str | None, list[str]]:
    """``(mask, tag, notices)`` of the uploaded mask ``up_mask`` for the image ``read``
    (upload key ``key``); a refused mask leaves this image's last usable one in use."""
    if up_mask is None:
        return None, None, []
    try:
        width, height = read.source_size
        mread = cache.read_upload_mask(up_mask.getvalue(), read.array.shape, (height, width))
        tag = f"{up_mask.name}:{up_mask.size}"
        st.session_state[_GOOD_MASK] = (key, tag, up_mask.name, mread)
        notices = list(mread.notices)
        # the image it came with: a new image of the same size silently took it over
        first = st.session_state.setdefault(_MASK_WITH, {}).setdefault(tag, key)
        if first != key:
            other = plain(first.rsplit(":", 1)[0])
            notices.append(
                f"The mask {plain(up_mask.name)} was uploaded with {other} and is used with "
                f"this image because this image has the size of {other}: upload this "
                "image's own mask if it is not."
            )
        return mread.mask, tag, notices
    except ImageError as error:
        kept = _good_mask(key)
        words = f"The mask {plain(up_mask.name)} was refused: {error}" + (
            "" if kept is None else f" Still using {plain(kept[1])}."
        )
        st.error(words)
        st.session_state[_PROBLEM] = words
        if kept is None:
            return None, None, []
        tag, _, mread = kept
        return mread.mask, tag, list(mread.notices)


def _likelihood(
    name: str, image: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray | None, str]:
    found, problem = cache.manifest()
    if problem:
        st.warning(problem)
    options = (
        (["checkpoint"] if found else [])
        + ["image"]
        + (["blurred"] if mask is not None else [])
        + ["upload"]
    )
    if st.session_state[S.LIKELIHOOD] not in options:
        st.session_state[S.LIKELIHOOD] = options[0]
    st.header("Likelihood f")
    kind = S.persistent(
        S.LIKELIHOOD, st.radio, "Source of f", options, format_func=S.LIKELIHOOD_LABELS.get
    )
    if not found:
        st.caption("No trained checkpoint yet (models/manifest.json lists none).")
    if kind == "upload":
        return _uploaded_likelihood(image)
    if kind == "image":
        dark = S.persistent(S.DARK, st.checkbox, "Structures are dark (f = 1 − image)")
        f = 1.0 - image if dark else image
        return f.astype(np.float32), "the image" + (" inverted (1 − image)" if dark else "")
    if kind == "blurred":
        sigma = S.persistent(S.BLUR_SIGMA, st.slider, "Blur σ (pixels)", 0.0, 4.0, step=0.25)
        noise = S.persistent(S.BLUR_NOISE, st.slider, "Noise", 0.0, 0.4, step=0.01)
        seed = S.persistent(S.SEED, st.number_input, "Seed", 0, 10_000, step=1)
        return cache.blurred_truth(mask, sigma, noise, int(seed)), (
            f"the ground truth blurred (σ = {sigma}) with noise {noise}, seed {seed}"
        )
    files = {e["name"]: e for e in found}
    if st.session_state[S.CHECKPOINT] not in files:
        if st.session_state[S.CHECKPOINT]:  # a link's name, of a net no longer shipped
            S.link_note(
                f"no shipped checkpoint is called {st.session_state[S.CHECKPOINT]!s:.60}: "
                f"{next(iter(files))} is used"
            )
        st.session_state[S.CHECKPOINT] = next(iter(files))
    choice = S.persistent(S.CHECKPOINT, st.selectbox, "Checkpoint", list(files))
    entry = files[choice]
    st.caption(f"{entry.get('arch', '?')} {provenance.describe(entry)}")
    _domain_check(image, entry, found, name, mask)
    try:
        return cache.predict_entry(entry, image), (
            f"checkpoint {choice}, trained on {entry.get('data', 'unknown data')}"
        )
    except (CheckpointError, RuntimeError, ValueError, OSError) as error:
        st.error(f"Checkpoint {choice} could not be used: {error}")
        return None, ""


def _use_checkpoint(name: str) -> None:
    st.session_state[S.CHECKPOINT] = name


def domain_warning(image: np.ndarray, entry: dict, net: str = "this net") -> str | None:
    """The words of a warning when ``image`` looks unlike the data ``entry`` (the net
    called ``net``) was trained on; None when it does not, or the data has no profile."""
    ref = cache.data_profiles().get(entry.get("data", ""))
    if ref is None:
        return None
    reasons = provenance.unlike(provenance.profile(image), ref)
    if not reasons:
        return None
    return (
        f"This image looks unlike {entry['data']}, the data {net} was trained on: "
        + "; ".join(reasons)
        + ". Its likelihood may be meaningless here."
    )


def _domain_check(
    image: np.ndarray, entry: dict, found: list[dict], name: str, mask: np.ndarray | None
) -> None:
    """Warn when ``image`` looks unlike the data ``entry`` was trained on, and offer
    the shipped checkpoint trained on the nearest data of the image's own kind of
    structure (same loss); and when a sample, or an upload whose name or mask says
    what it shows, holds other structures than the net's data
    (``provenance.kind_mismatch``, ``provenance.structure_mismatch``), offer one
    trained on its kind."""
    kind = None
    if st.session_state.get(S.SOURCE) == "sample":
        sample = st.session_state.get(S.SAMPLE)
        kind = next((d.get("generator") for d in cache.sample_index() if d["name"] == sample), None)
        words = kind and provenance.kind_mismatch(sample, kind, entry, entry["name"])
        if words:
            st.warning(words)
            fits = [e for e in found if provenance.DATA_KINDS.get(e.get("data")) == kind]
            _offer(fits, entry, "", "use_kind")
            return
    structure = _upload_structure(name, mask)
    if structure is not None:
        words = provenance.structure_mismatch(plain(name), structure, entry, entry["name"])
        if words:
            st.warning(words)
            kin = [e for e in found if provenance.known_structure(e.get("data")) == structure]
            # the nearest profile among data that have a net, else the first such net
            have = {e.get("data") for e in kin}
            profiles = {d: p for d, p in cache.data_profiles().items() if d in have}
            near = provenance.nearest(provenance.profile(image), profiles)
            fits = [e for e in kin if e.get("data") == near] or kin
            _offer(fits, entry, ", the nearest" if near else "", "use_kind")
            return
    words = domain_warning(image, entry)
    if words is None:
        return
    st.warning(words)
    profiles = cache.data_profiles()
    if structure is not None:  # never offer a net of other structures than the mask's
        profiles = provenance.of_structure(profiles, structure)
    near = provenance.nearest(provenance.profile(image), profiles)
    if near is None or near == entry.get("data"):
        return
    if kind in provenance.STRUCTURE_KINDS and provenance.DATA_KINDS.get(near) != kind:
        return  # a net of other structures: offering it sent the user round in a loop
    _offer([e for e in found if e.get("data") == near], entry, ", the nearest", "use_nearest")


def _upload_structure(name: str, mask: np.ndarray | None) -> str | None:
    """What an uploaded image shows, "membranes" or "curvilinear", where its file's
    name or its mask says so (:func:`topoviz.data.guess_structure` without the net's
    data, which would make the answer follow the net); else None."""
    if st.session_state.get(S.SOURCE) != "upload":
        return None
    structure, why = cache.structure_guess(name, mask, None)
    return structure if why.startswith(BY_IMAGE) else None


def _offer(candidates: list[dict], entry: dict, why: str, key: str) -> None:
    """A button switching the sidebar to one of ``candidates``: the one with
    ``entry``'s loss, else the first (none without candidates)."""
    same_loss = (e for e in candidates if e.get("loss") == entry.get("loss"))
    best = next(same_loss, candidates[0] if candidates else None)
    if best is not None:
        st.button(
            f"Use {best['name']} (trained on {best['data']}{why})",
            key=key,
            on_click=_use_checkpoint,
            args=(best["name"],),
        )


_CHECKPOINT_UPLOADER = "upload_checkpoint"


def _remember_checkpoint() -> None:
    """When a checkpoint is uploaded or removed, keep it in (or drop it from) the session.

    The uploader's own value is lost whenever it is not drawn (another source of f
    chosen for a moment), so the file lives under ``S.UPLOADED_CHECKPOINT``.
    """
    up = st.session_state.get(_CHECKPOINT_UPLOADER)
    if not _replacing(_CHECKPOINT_UPLOADER, up is None):  # removed, not replaced
        st.session_state.pop(S.GOOD_CHECKPOINT, None)
    if up is None:  # removed, or being replaced: S.GOOD_CHECKPOINT may stand in a moment
        st.session_state.pop(S.UPLOADED_CHECKPOINT, None)
    else:
        st.session_state[S.UPLOADED_CHECKPOINT] = cache.uploaded_checkpoint(
            up.name, up.size, up.getvalue
        )


def _forget_checkpoint() -> None:
    st.session_state.pop(S.UPLOADED_CHECKPOINT, None)
    st.session_state.pop(S.GOOD_CHECKPOINT, None)


def plain(text: object, limit: int = 80) -> str:
    """``text`` from an untrusted file, shortened, with Markdown switched off.

    A value that is not a string (or an exception's message) is quoted with a
    bounded ``repr`` (never ``str()``, which could be as large as a value shared
    many times over).
    """
    if isinstance(text, BaseException):
        text = str(text)
    text = text if isinstance(text, str) else quote(text, limit)
    text = " ".join(text[: 4 * limit].split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    text = "".join(c for c in text if c not in _BIDI)  # "abc\u202egnp.exe" read "abcexe.png"
    # a zero-width space where Markdown or Streamlit would make a link or an icon of
    # the text itself (escapes do not stop those): "www.x.com", "https://x", ":smile:",
    # ":material/warning:", and a colour or size directive (":red[x]" showed as "[x]")
    text = re.sub(r"(?i)\bwww(?=\.)", "www\u200b", text)
    text = re.sub(r":(?=//|[\w/+-]+:|[\w-]+\[)", ":\u200b", text)
    return "".join("\\" + c if c in _MARKUP else c for c in text)


#: Unicode's bidirectional controls: in a file name they reorder what is shown.
_BIDI = set("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Characters that start Markdown (links, emphasis, code, HTML, LaTeX, tables; "@" an
#: e-mail autolink, "&" an entity), escaped with a backslash.
_MARKUP = set("\\`*_[]<>#|~$@!&")


_plain = plain


def _usable_net(up: cache.UploadedCheckpoint, image: np.ndarray) -> tuple[Any, dict, str]:
    """The net and meta of an uploaded checkpoint, or why it cannot run on ``image``
    (the third item, "" when it can)."""
    name = _plain(up.name, 60)
    try:
        model, meta = cache.load_uploaded(up)
    except CheckpointError as error:
        # the message quotes the file (its keys, its config): shown as plain text
        return None, {}, f"The checkpoint {name} cannot be used: {_plain(error, 800)}"
    channels = int(model.config.get("in_channels", 1))
    have = 1 if image.ndim == 2 else image.shape[2]
    if channels != have:
        return (
            None,
            {},
            (
                f"The checkpoint {name} takes {channels}-channel images but this image has "
                f"{have} channel{'s' if have > 1 else ''} (the app reads every image as grey). "
                "Upload a checkpoint trained on one-channel (grey) images."
            ),
        )
    return model, meta, ""


def _uploaded_likelihood(image: np.ndarray) -> tuple[np.ndarray | None, str]:
    """f from a checkpoint uploaded in this session, or None with the reason on the page."""
    st.file_uploader(
        "Checkpoint (.pt, .pth)",
        type=["pt", "pth"],
        key=_CHECKPOINT_UPLOADER,
        on_change=_remember_checkpoint,
        max_upload_size=cache.MAX_CHECKPOINT_UPLOAD_MB,
        help="A file written by `python -m topoviz train` or `topoviz.checkpoints.save`.",
    )
    st.caption(
        f"Up to {cache.MAX_CHECKPOINT_UPLOAD_MB} MB, read as weights only: no code in the file "
        "runs. The upload stays in this browser session; a link cannot carry it."
    )
    up: cache.UploadedCheckpoint | None = st.session_state.get(S.UPLOADED_CHECKPOINT)
    if up is None:
        st.info("Upload a topoviz checkpoint to use its network's likelihood.")
        return None, ""
    name = _plain(up.name, 60)
    if st.session_state.get(_CHECKPOINT_UPLOADER) is None:  # the uploader was redrawn empty
        st.caption(f"In use: {name}, uploaded earlier in this session.")
        st.button("Forget it", key="forget_checkpoint", on_click=_forget_checkpoint)
    model, meta, problem = _usable_net(up, image)
    kept = st.session_state.get(S.GOOD_CHECKPOINT)
    if problem and kept is not None and kept.digest != up.digest:
        # a wrong file loses nothing: the last checkpoint that could be used stays
        st.error(f"{problem} Still using {_plain(kept.name, 60)}.")
        st.button("Forget it", key="forget_kept_checkpoint", on_click=_forget_checkpoint)
        up = kept
        name = _plain(up.name, 60)
        model, meta, problem = _usable_net(up, image)
    if problem:
        st.error(problem)
        st.info("No likelihood: upload another checkpoint or choose another source of f.")
        return None, ""
    st.session_state[S.GOOD_CHECKPOINT] = up
    config = ", ".join(f"{k} {_plain(v, 20)}" for k, v in model.config.items())
    st.caption(
        f"{name}: {_plain(nets.arch_of(model))} ({config}), trained on "
        f"{_plain(meta.get('data', 'unknown data'))}"
    )
    try:
        f = cache.predict_upload(up.digest, up.data, image)
    except (RuntimeError, ValueError) as error:
        st.error(f"The checkpoint {name} could not be run on this image: {_plain(error, 800)}")
        return None, ""
    return f, f"uploaded checkpoint {up.name}"  # the user's own file name, as typed
