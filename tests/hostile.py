"""Hostile checkpoints, crafted in memory for the tests (never committed as files).

Each builder returns the bytes of a file that looks like a topoviz checkpoint but
would, loaded naively, exhaust memory, time or the stack: a zip bomb, a "billion
laughs" meta, a meta nested 100,000 levels deep.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import torch

from topoviz import checkpoints, nets


def good(meta: dict | None = None) -> bytes:
    buf = io.BytesIO()
    checkpoints.save(buf, nets.build("unet", seed=0, base=2, depth=1), meta or {"n": 1})
    return buf.getvalue()


def payload(data: bytes | None = None) -> dict:
    """The dict inside a checkpoint (loaded with weights only), to change and resave."""
    return torch.load(io.BytesIO(data or good()), weights_only=True)


def to_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def write_zip(items: list[tuple[str, bytes, int, int, int]], listed: int = 1) -> bytes:
    """A zip of ``(name, payload, method, crc, declared size)``, written by hand so that
    a payload can be pre-compressed and its declared size can be anything; the last
    entry is listed ``listed`` times in the directory (overlapping entries)."""
    out, central = bytearray(), bytearray()
    n_items = len(items) + listed - 1
    for name, data, method, crc, size in items[:-1] + [items[-1]] * listed:
        n = name.encode()
        if central and name == items[-1][0] and name.encode() in out:  # listed again
            central += central[-(46 + len(n)) :]
            continue
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size, len(n), 0
        )
        out += n + data
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), size,
            len(n), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += n
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n_items, n_items, len(central), len(out), 0)
    return bytes(out + central + end)


def stored(items: list[tuple[str, bytes]]) -> bytes:
    return write_zip([(n, p, zipfile.ZIP_STORED, zlib.crc32(p), len(p)) for n, p in items])


def deflated_zeros(mib: int) -> bytes:
    """A raw deflate stream of ``mib`` MiB of zeros, about 1 KiB per MiB (built from one
    compressed MiB repeated: a full flush resets the compressor)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(2**20)
    one = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert one == c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    return one * mib + c.flush()


def zip_bomb(mib: int = 2048) -> bytes:
    """A checkpoint with an extra float32 tensor of ``mib`` MiB of zeros whose record is
    deflated: a ~``mib`` KiB file that ``torch.load`` would inflate to ``mib`` MiB."""
    obj = payload()
    n_small = 100_000  # pickled as BININT: J + 4 bytes, patched to the big size below
    obj["state_dict"]["bomb"] = torch.zeros(n_small)
    items = entries(to_bytes(obj))
    record = next(n for n, p in items if len(p) == 4 * n_small)
    n_big = mib * 2**20 // 4
    bomb = deflated_zeros(mib)
    out = []
    for name, data in items:
        if name.endswith("data.pkl"):
            small = b"J" + struct.pack("<i", n_small)
            assert data.count(small) == 2  # the storage's size and the tensor's shape
            data = data.replace(small, b"J" + struct.pack("<i", n_big))
        if name == record:
            out.append((name, bomb, zipfile.ZIP_DEFLATED, 0, mib * 2**20))
        else:
            out.append((name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data)))
    return write_zip(out)


def laughs(levels: int = 40, part: str = "meta") -> bytes:
    """``part`` = ``{"data": L}`` with ``L = [L', L']`` nested ``levels`` deep through
    shared references: a few KiB, 2**levels values once printed."""
    nested: list = []
    for _ in range(levels):
        nested = [nested, nested]
    obj = payload()
    obj[part] = {"data": nested} if part == "meta" else {"base": 2, "depth": 1, "x": nested}
    return to_bytes(obj)


def deep(levels: int = 100_000) -> bytes:
    """A checkpoint whose meta is a list nested ``levels`` deep (written as raw pickle
    opcodes: Python's pickler itself would overflow the stack)."""
    marker = "__DEEP__"
    items = entries(to_bytes({**payload(), "meta": {"data": marker}}))
    pushed = b"X" + struct.pack("<I", len(marker)) + marker.encode()
    nested = b"]" * levels + b"a" * (levels - 1)  # empty lists, each appended to the one below
    out = []
    for name, data in items:
        if name.endswith("data.pkl"):
            assert data.count(pushed) == 1
            data = data.replace(pushed, nested)
        out.append((name, data))
    return stored(out)


def overlapping(copies: int = 5000) -> bytes:
    """A good checkpoint whose zip directory lists its largest record ``copies`` times,
    all over the same bytes: consistent entries that declare far more than the file."""
    items = sorted(entries(good()), key=lambda item: len(item[1]))
    return write_zip([(n, p, zipfile.ZIP_STORED, zlib.crc32(p), len(p)) for n, p in items], copies)


def size_lie(declared: int = 2**31) -> bytes:
    """A good checkpoint whose zip directory declares one stored entry of ``declared`` bytes."""
    items = entries(good())
    out = [(n, p, zipfile.ZIP_STORED, zlib.crc32(p), len(p)) for n, p in items]
    name, data, method, crc, _ = out[-1]
    out[-1] = (name, data, method, crc, declared)
    return write_zip(out)
