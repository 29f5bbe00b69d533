"""Save and load network checkpoints, never unpickling more than tensors.

A checkpoint is one ``torch.save`` file holding a plain dict::

    {"format": "topoviz-checkpoint", "version": 1, "arch": "unet",
     "config": {...}, "state_dict": {...}, "meta": {...}}

``config`` rebuilds the net (``topoviz.nets.build(arch, **config)``); ``meta`` is
free JSON-like data (training recipe, metrics). :func:`load` reads it with
``torch.load(..., weights_only=True)`` only, so an uploaded file cannot run code;
anything else it finds is refused with a :class:`CheckpointError` that says what
the file is and what was expected.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import reprlib
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from topoviz.nets import ARCHITECTURES, arch_of

__all__ = ["CheckpointError", "save", "load", "FORMAT", "VERSION"]

FORMAT = "topoviz-checkpoint"
VERSION = 1
#: Larger inputs are refused before reading (an upload can be anything).
MAX_BYTES = 256 * 2**20
#: Zip entries allowed in a file (a checkpoint has one per tensor plus about 6).
MAX_ENTRIES = 10_000
#: Values allowed in the whole loaded object (each container, key, leaf and tensor
#: counts; a value reached twice through shared references counts twice).
MAX_NODES = 10_000
#: Nesting allowed in the loaded object (the header dict is level 1).
MAX_DEPTH = 32
#: Longest text of the file quoted in a message.
MAX_QUOTE = 120

Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]


class CheckpointError(ValueError):
    """A file that is not a loadable topoviz checkpoint; the message says why."""


_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 6
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 40


def quote(value: Any, limit: int = MAX_QUOTE) -> str:
    """``repr(value)`` bounded in time and length: safe to put in a message.

    Only a few items of each container and a few levels are visited, so a huge or
    deeply nested value (or one that shares itself exponentially often) costs
    nothing; the result is at most ``limit`` characters.

    Examples
    --------
    >>> quote({"base": 4, "depth": 2})
    "{'base': 4, 'depth': 2}"
    >>> len(quote(list(range(10**6)))) <= MAX_QUOTE
    True
    >>> quote("x" * 500, limit=20)
    "'xxxxxxxxxxxxxxxxxx…"
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a message must never fail
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_json(value: Any, where: str) -> Any:
    """``value`` as plain JSON-like data (tuples become lists), or TypeError.

    Subclasses (``torch.__version__`` is a str subclass, numpy scalars are not
    accepted) become their plain base type, which weights-only loading accepts.
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    for base in (bool, int, float, str):
        if isinstance(value, base):
            return base(value)
    if isinstance(value, (list, tuple)):
        return [_check_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}; meta must be JSON-like")
            out[k] = _check_json(v, f"{where}[{k!r}]")
        return out
    raise TypeError(
        f"{where} is a {type(value).__name__}; meta must hold only str, int, float, bool, "
        "None, lists and dicts (convert arrays with .tolist(), numbers with float())"
    )


def save(path: str | os.PathLike | IO[bytes], model: nn.Module, meta: dict | None = None) -> None:
    """Write ``model`` (a net of :data:`topoviz.nets.ARCHITECTURES`) and ``meta``.

    Parameters
    ----------
    path : str, path or binary file object
        Where to write. A path is written atomically (a temporary file renamed).
    model : nn.Module
        A :class:`~topoviz.nets.UNet` or :class:`~topoviz.nets.SixLayerNet`.
    meta : dict, optional
        JSON-like data stored beside the weights (str, int, float, bool, None,
        lists, dicts with str keys), e.g. the training recipe and metrics.

    Raises
    ------
    ValueError
        When a weight is NaN or infinite (a diverged run): :func:`load` would
        refuse the file.
    """
    arch = arch_of(model)
    nonfinite = [
        k
        for k, v in model.state_dict().items()
        if v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
    if nonfinite:  # load refuses such a file: say so now, while the run can be redone
        raise ValueError(
            f"not saved: the weights contain NaN or infinity ({', '.join(nonfinite[:3])}"
            f"{', ...' if len(nonfinite) > 3 else ''}); the training run diverged"
        )
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch,
        "config": _check_json(dict(model.config), "config"),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "meta": _check_json({} if meta is None else meta, "meta"),
    }
    if not isinstance(payload["meta"], dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    if hasattr(path, "write"):
        torch.save(payload, path)
        return
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, _new_file_mode())  # mkstemp's file is 0600: the mode open() gives
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file here: 0o666 less the process's umask, read
    from /proc (``os.umask`` can only be read by setting it, for every thread at once);
    0o644 where /proc does not say."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o644


def _read_bytes(source: Source, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "getvalue"):  # BytesIO, Streamlit's UploadedFile
        data = source.getvalue()
    else:  # a stream or a path: read no further than the limit
        if hasattr(source, "read"):
            data = source.read(max_bytes + 1)
        else:
            path = Path(source)
            info = path.stat()
            if stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode):  # open() waits
                raise CheckpointError(f"{path} is a pipe or a socket, not a checkpoint file")
            if stat.S_ISDIR(info.st_mode):  # open() said "[Errno 21] Is a directory"
                raise CheckpointError(f"{path} is a folder, not a checkpoint file (a .pt file)")
            size = info.st_size
            if size > max_bytes:
                raise CheckpointError(_too_big(size, max_bytes))
            with path.open("rb") as file:  # /dev/zero, a FIFO, /proc: size 0, endless
                data = file.read(max_bytes + 1)
        if len(data) > max_bytes:  # how much more is unknown
            raise CheckpointError(f"the file holds more than the {_amount(max_bytes)} allowed")
    if len(data) > max_bytes:
        raise CheckpointError(_too_big(len(data), max_bytes))
    return data


def _too_big(size: int, limit: int) -> str:
    return f"the file is {_amount(size)}, more than the {_amount(limit)} allowed"


def _check_zip(data: bytes) -> None:
    """Refuse a zip whose entries would cost more to read than the file's own size.

    ``torch.save`` writes every entry *stored* (uncompressed), so a real checkpoint
    never holds more bytes than the file. A crafted one can deflate gigabytes of
    zeros into a few MB, and ``torch.load`` would inflate them before any check:
    compressed entries, entries that declare more bytes than the file holds (or
    overlap), and more than :data:`MAX_ENTRIES` entries are refused from the zip
    directory alone, before ``torch.load`` reads anything. Then each entry is checked
    against its CRC-32, which ``torch.load`` does not do.
    """
    # Every central-directory record starts with this signature: the count bounds
    # the entries before zipfile builds an object for each.
    if data.count(b"PK\x01\x02") > MAX_ENTRIES:
        raise CheckpointError(
            f"refused: the zip holds more than {MAX_ENTRIES:,} entries; a checkpoint holds "
            "one per tensor"
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise CheckpointError(
            "the checkpoint is truncated or corrupted: its zip directory is missing "
            f"({len(data)} bytes; was the download or copy cut short?)"
        )
    entries = _read_zip(data, zipfile.ZipFile.infolist, "its zip directory cannot be read")
    names = [i.filename for i in entries]
    if not any(n.endswith("/data.pkl") for n in names):
        shown = quote(names[:5], 200)
        raise CheckpointError(
            f"not a checkpoint: a zip archive but not a PyTorch file (it holds {shown})"
        )
    packed = [i for i in entries if i.compress_type != zipfile.ZIP_STORED]
    if packed:
        declared = sum(i.file_size for i in packed)
        raise CheckpointError(
            f"refused: {len(packed)} entr{'y is' if len(packed) == 1 else 'ies are'} compressed "
            f"(e.g. {quote(packed[0].filename, 60)}, {_amount(declared)} once inflated); "
            "torch.save writes entries uncompressed, and compressed ones were not inflated"
        )
    total = sum(i.file_size for i in entries)
    if any(i.file_size != i.compress_size for i in entries):
        raise CheckpointError(
            "refused: the zip directory declares entries whose size does not match the bytes "
            "stored for them; it was not read"
        )
    if total > len(data):
        raise CheckpointError(
            f"refused: the zip directory declares {_amount(total)} of entries but the file "
            f"holds only {_amount(len(data))}; it was not read"
        )
    # every entry against its CRC-32 (stored, so no more bytes read than the file's):
    # torch.load does not check them, and a flipped byte in a tensor loaded silently
    bad = _read_zip(data, zipfile.ZipFile.testzip, "an entry cannot be read")
    if bad is not None:
        raise CheckpointError(
            f"the checkpoint is corrupted: the bytes of {quote(bad, 80)} do not match their "
            "checksum (was the file damaged in a download or copy?)"
        )


def _read_zip(data: bytes, read: Callable[[zipfile.ZipFile], Any], what: str) -> Any:
    """``read`` of ``data`` opened as a zip; a damaged one is a CheckpointError saying ``what``."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return read(z)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise CheckpointError(f"the checkpoint is corrupted: {what} ({type(e).__name__})") from None


def _unpickle(data: bytes) -> Any:
    """``torch.load(weights_only=True)`` with every failure turned into a clear message."""
    if not data:
        raise CheckpointError("not a checkpoint: the file is empty")
    if data[:4] != b"PK\x03\x04":
        raise CheckpointError(
            "not a checkpoint: topoviz reads PyTorch's zip format (what torch.save writes "
            "since PyTorch 1.6) and this file is not one (a raw or legacy pickle is refused "
            "without running it)"
        )
    _check_zip(data)
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols; we refuse anyway
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any failure of an untrusted file is a CheckpointError
        text = str(e)
        refused = re.search(r"GLOBAL ([\w.]+)", text)
        if refused:
            raise CheckpointError(
                "refused: the file asks to run or build Python objects beyond tensors "
                f"({refused.group(1)}); topoviz loads weights only (torch.load with "
                "weights_only=True) and did not execute it"
            ) from None
        raise CheckpointError(
            f"the checkpoint is corrupted: PyTorch could not read it ({type(e).__name__})"
        ) from None


def load(source: Source, *, max_bytes: int = MAX_BYTES) -> tuple[nn.Module, dict]:
    """Read a checkpoint written by :func:`save`; return ``(model, meta)``.

    Parameters
    ----------
    source : path, bytes or binary file object
        A path, the file's bytes, or a file object (``BytesIO``, an upload).
    max_bytes : int
        Larger files are refused.

    Returns
    -------
    model : nn.Module
        The rebuilt net in evaluation mode, on the CPU.
    meta : dict
        The ``meta`` given to :func:`save`.

    Raises
    ------
    CheckpointError
        When the file is empty, truncated or corrupted, not a PyTorch file, a
        pickle that would run code, a plain ``state_dict`` without the topoviz
        header, a format version this code does not read, an unknown
        architecture, a config asking for a net too large to build, tensors
        that claim more bytes than the file holds, or weights that do not fit
        the architecture (or are not real floats where floats belong), BatchNorm
        variances below zero, or a net whose output on a grey 64 × 64 test image is
        NaN or infinite. Nothing is allocated for the net before its weights
        are known to fit (it is built on the meta device first), so a small
        crafted file cannot make the process run out of memory.
    FileNotFoundError
        When ``source`` is a path that does not exist.
    """
    data = _read_bytes(source, max_bytes)
    obj = _unpickle(data)
    _check_tree(obj)

    if not isinstance(obj, dict):
        raise CheckpointError(
            f"not a topoviz checkpoint: the file holds a {type(obj).__name__}, "
            f"not a dict with the {FORMAT!r} header"
        )
    if obj.get("format") != FORMAT:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            first = next(iter(obj))
            raise CheckpointError(
                f"this is a plain state_dict ({len(obj)} tensors, e.g. {first!r}) without "
                "the topoviz header, so it does not say which architecture it fits; load it "
                "into a net from topoviz.nets.build(...) and write it with "
                "topoviz.checkpoints.save(path, model, meta)"
            )
        raise CheckpointError(
            f"not a topoviz checkpoint: no format header {FORMAT!r} (its keys: "
            f"{quote(list(obj)[:6], 200)})"
        )
    version = obj.get("version")
    if version != VERSION:
        raise CheckpointError(
            f"checkpoint format version {quote(version, 40)} is not supported; this topoviz "
            f"reads version {VERSION}"
        )
    arch = obj.get("arch")
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        known = ", ".join(ARCHITECTURES)
        raise CheckpointError(
            f"unknown architecture {quote(arch, 60)}; this topoviz knows: {known}"
        )
    config = obj.get("config")
    if (
        not isinstance(config, dict)
        or not all(isinstance(k, str) and len(k) <= 40 for k in config)
        or not all(_setting(v) for v in config.values())
    ):
        raise CheckpointError(f"the checkpoint's config is not a dict of settings: {quote(config)}")
    try:
        # Shapes only (the meta device): an untrusted config cannot make us allocate
        # memory before its weights are known to fit; ``build`` is not used because
        # its ``seed`` would materialise the net.
        with torch.device("meta"):
            model = ARCHITECTURES[arch](**config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(
            f"the checkpoint's config {quote(config)} does not fit architecture {arch!r}: "
            f"{_cut(str(e), 200)}"
        ) from None
    except RuntimeError as e:  # e.g. "Storage size calculation overflowed"
        raise CheckpointError(
            f"the checkpoint's config {quote(config)} asks for a net of architecture {arch!r} "
            f"too large to build: {_cut(str(e).splitlines()[0], 200)}"
        ) from None
    state = obj.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError("the checkpoint's state_dict is not a dict of tensors")
    _check_stored(state, len(data))
    model = _check_fit(model, state, arch, config)
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise CheckpointError(f"the checkpoint's meta is a {type(meta).__name__}, not a dict")
    return model.eval(), meta


def _check_tree(obj: Any) -> None:
    """Refuse a loaded object with more than :data:`MAX_NODES` values or deeper than
    :data:`MAX_DEPTH` levels, in time and memory bounded by those limits.

    The walk follows every reference, so a list that holds the same list twice,
    40 times over (2**40 values once printed, from a few hundred bytes of pickle),
    counts as the copies it stands for; it stops at the first value over a limit.
    Nothing recurses, so a 100,000-level nesting cannot overflow the stack.
    """
    seen = 0

    def visit(value: Any, depth: int, where: str) -> Iterator[Any] | None:
        nonlocal seen
        seen += 1
        if seen > MAX_NODES:
            raise CheckpointError(
                f"refused: {where} holds more than {MAX_NODES:,} values (counting shared "
                "references as copies); a checkpoint's config and meta are small"
            )
        if depth > MAX_DEPTH:
            raise CheckpointError(
                f"refused: {where} is nested more than {MAX_DEPTH} levels deep; a checkpoint's "
                "config and meta are shallow"
            )
        if isinstance(value, dict):
            return itertools.chain.from_iterable(value.items())
        if isinstance(value, (list, tuple, set, frozenset)):
            return iter(value)
        return None

    def walk(root: Any, depth: int, where: str) -> None:
        # one iterator per open container: memory grows with the depth, not the width
        inner = visit(root, depth, where)
        stack = [] if inner is None else [(inner, depth + 1)]
        while stack:
            items, level = stack[-1]
            item = next(items, _END)
            if item is _END:
                stack.pop()
                continue
            inner = visit(item, level, where)
            if inner is not None:
                stack.append((inner, level + 1))

    if isinstance(obj, dict):  # the header: name the part (meta, config…) that is refused
        visit(obj, 1, "the checkpoint")
        for key, value in obj.items():
            where = f"its {quote(key, 40)}"
            walk(key, 2, where)
            walk(value, 2, where)
    else:
        walk(obj, 1, "the checkpoint")


_END = object()


def _setting(value: Any) -> bool:
    """A config value a net takes: a number, a bool, None or a short string."""
    return (
        value is None
        or isinstance(value, (bool, int, float))
        or (isinstance(value, str) and len(value) <= 40)
    )


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_stored(state: dict, n_bytes: int) -> None:
    """Refuse tensors that claim more bytes than the file holds.

    ``torch.save`` writes every byte of every tensor, so a real checkpoint is never
    smaller than its tensors. A crafted one can be: a tensor with zero strides
    over a one-element storage claims any shape, and touching it (or a net built to
    match it) would need that much memory.
    """
    claimed = sum(v.numel() * v.element_size() for v in state.values())
    if claimed > n_bytes:
        raise CheckpointError(
            f"the checkpoint's tensors claim {_amount(claimed)} but the file holds only "
            f"{_amount(n_bytes)}: tensors that repeat or share their storage are not accepted"
        )


def _amount(n_bytes: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.1f} {unit}"
    return f"{n_bytes} bytes"


def _check_fit(model: nn.Module, state: dict, arch: str, config: dict) -> nn.Module:
    """``model`` (built on the meta device) materialised with ``state`` on the CPU,
    or a :class:`CheckpointError` that says exactly which weights do not fit."""

    def listed(keys: list[str]) -> str:
        shown = ", ".join(_cut(k, 60) if isinstance(k, str) else quote(k, 60) for k in keys[:5])
        return shown + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")

    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} instead of {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    # complex weights loaded with a warning in the server's log, integer ones silently
    # (and gave f = 0.5 everywhere): a float weight must be stored as a real float
    kinds = [
        f"{k} {str(state[k].dtype).removeprefix('torch.')} instead of a float"
        for k, v in expected.items()
        if k in state
        and v.is_floating_point()
        and (not state[k].is_floating_point() or state[k].is_complex())
    ]
    nonfinite = [
        k
        for k, v in state.items()
        if v.is_floating_point() and k in expected and not bool(torch.isfinite(v).all())
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {listed(unexpected)}")
    if shapes:
        problems.append(f"wrong shapes {listed(shapes)}")
    if kinds:
        problems.append(f"wrong number types {listed(kinds)}")
    if not problems:
        model = model.to_empty(device="cpu")  # no larger than the file: _check_stored
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:  # e.g. a dtype that cannot be copied
            problems.append(str(e).splitlines()[0])
    if problems:
        raise CheckpointError(
            f"this checkpoint's weights do not fit architecture {arch!r} with config "
            f"{quote(config)}: " + _cut("; ".join(problems), 400)
        )
    if nonfinite:
        raise CheckpointError(
            f"the checkpoint's weights contain NaN or infinity ({listed(nonfinite)})"
        )
    negative = [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.running_var is not None
        and bool((m.running_var + m.eps < 0).any())
    ]
    if negative:  # BatchNorm divides by sqrt(running_var + eps): NaN where it is < 0
        raise CheckpointError(
            f"the checkpoint's BatchNorm variances are negative ({listed(negative)}), so the "
            "net's output would be NaN"
        )
    _check_output(model)
    return model


#: The side of the grey test image every loaded net must turn into a finite f.
PROBE = 64


def _check_output(model: nn.Module) -> None:
    """A :class:`CheckpointError` unless ``model`` turns a grey test image into finite
    logits: finite weights can still overflow (weights of 1e30), and such a net had
    passed every check and then broken each page that drew its f."""
    c = int(getattr(model, "config", {}).get("in_channels", 1))
    x = torch.full((1, c, PROBE, PROBE), 0.5)
    x[..., ::2, :] = 0.25  # stripes: not a constant, which some layers map to 0
    try:
        with torch.inference_mode():
            out = model.eval()(x)
    except (RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"the net fails on a {PROBE}×{PROBE} test image: {_cut(str(e).splitlines()[0], 200)}"
        ) from None
    if not bool(torch.isfinite(out).all()):
        bad = int((~torch.isfinite(out)).sum())
        raise CheckpointError(
            f"the net's output on a {PROBE}×{PROBE} test image is NaN or infinite at "
            f"{bad} of {out.numel()} pixels (weights too large, or a broken normalisation): "
            "its likelihood would be unusable"
        )
