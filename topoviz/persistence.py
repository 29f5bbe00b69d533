"""Persistence diagrams of a likelihood, with the critical pixel of every dot.

The filtration is the paper's (Sec. 2.1): superlevel sets ``f >= alpha`` of a
likelihood on the cubical complex whose vertices are the pixels (V-construction:
an edge or square enters when all its pixels are in). The foreground is therefore
4-connected and its complement 8-connected.

A dot is drawn in the paper's coordinates ``(1 - birth, 1 - death)`` so that every
dot of a binary ground truth sits at ``(0, 1)``. These coordinates are exactly the
sublevel-set persistence of ``1 - f``, which is how the gudhi reference backend is
computed.

The default backend is a compiled union-find sweep (numba, cached on disk):

* dimension 0: pixels enter in decreasing ``f``; 4-neighbours merge; the younger
  component (the one born lower) dies at the merging pixel (elder rule);
* dimension 1: by Alexander duality a hole of the foreground is a bounded
  8-connected component of the complement. Sweeping pixels in *increasing* ``f``
  with 8-neighbours and one virtual "outside" node joined to the border, a merge
  at pixel ``p`` that kills a component born at its minimum ``m`` is the hole
  born at ``f(p)`` (its saddle) that dies at ``f(m)`` (its last, lowest pixel).

:func:`diagram` and :func:`diagrams` run these sweeps on the image padded by one
cell (:func:`_sweep0_grid`, :func:`_sweep1_grid`): the pad is never in for dimension
0 and is the outside for dimension 1, one rank array (from one numpy sort of packed
64-bit keys, :func:`_sorted_keys`) tells which neighbours are in, and the scratch
arrays serve a whole batch (and, for :func:`diagram`, the calling thread's next
image of the same shape). The ranking and the sweeps ask for the cache lines of a
pixel a few steps ahead (:func:`_prefetch`), which on a large image keeps several
memory reads in flight. The flat versions (:func:`_sweep0`, :func:`_sweep1`) stay
for :mod:`topoviz.induced`; both give the same pairs in the same order (tested), and
both are tested against gudhi on arbitrary inputs (ties, plateaus, non-square
shapes, with and without frame) in ``tests/test_persistence.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from types import FunctionType

import numpy as np

try:  # numba is a hard dependency, but the library still works (slowly) without it
    import numba
    from numba import prange

    from topoviz import jitcache

    jitcache.install()  # one cache stamp for this module and induced.py, which inlines it
    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only on broken installs
    prange = range
    _HAVE_NUMBA = False

__all__ = [
    "Diagram",
    "Dots",
    "diagram",
    "diagrams",
    "batch_dots",
    "warmup",
    "NO_PIXEL",
]

#: Pixel coordinate of a critical cell that lies in the frame or does not exist.
NO_PIXEL = (-1, -1)

BACKENDS = ("auto", "numba", "gudhi")


@dataclass(frozen=True)
class Dots:
    """The persistent dots of one homology dimension.

    Attributes
    ----------
    dim : int
        0 for connected components, 1 for holes (loops, the paper's handles).
    points : ndarray, shape (n, 2), float64
        ``(1 - birth, 1 - death)`` of every dot, the paper's coordinates.
    birth_pixel, death_pixel : ndarray, shape (n, 2), int64
        ``(row, col)`` of the critical pixel in ``f``'s own coordinates, or
        ``(-1, -1)`` where the cell lies in the frame or does not exist (the death
        of an essential class).
    essential : ndarray, shape (n,), bool
        True for a class that never dies; its death coordinate is 1 by convention.
    values : ndarray, shape (n, 2), float64, optional
        The exact ``(birth, death)`` values of ``f`` (death 0 for an essential
        class). ``1 - (1 - b)`` is not always ``b`` in floating point (``b = 0.1``),
        so :meth:`alive` compares these, not the points; when absent they are
        recovered from ``points``.
    """

    dim: int
    points: np.ndarray
    birth_pixel: np.ndarray
    death_pixel: np.ndarray
    essential: np.ndarray
    values: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.points)

    def __repr__(self) -> str:
        """A line, not every array (a 65² patch's dots printed thousands of lines).

        >>> import numpy as np
        >>> diagram(np.array([[0.9, 0.2, 0.7]]), frame=False)[0]
        Dots(dim=0, n=2, essential=1)
        """
        return f"Dots(dim={self.dim}, n={len(self)}, essential={int(self.essential.sum())})"

    def __eq__(self, other: object) -> bool:
        """The same dimension and the same dots, pixels and flags, in the same order.

        >>> import numpy as np
        >>> f = np.array([[0.9, 0.2, 0.7]])
        >>> diagram(f, frame=False) == diagram(f, frame=False)
        True
        >>> diagram(f, frame=False) == diagram(f[:, ::-1], frame=False)  # other pixels
        False
        """
        if not isinstance(other, Dots):
            return NotImplemented
        return self.dim == other.dim and all(
            np.array_equal(getattr(self, a), getattr(other, a))
            for a in ("points", "birth_pixel", "death_pixel", "essential")
        )

    __hash__ = None  # mutable arrays inside: not hashable, as before

    @property
    def birth(self) -> np.ndarray:
        """Birth thresholds in ``f`` (the superlevel value where a class appears)."""
        return 1.0 - self.points[:, 0] if self.values is None else self.values[:, 0]

    @property
    def death(self) -> np.ndarray:
        """Death thresholds in ``f`` (0 for an essential class)."""
        return 1.0 - self.points[:, 1] if self.values is None else self.values[:, 1]

    @property
    def persistence(self) -> np.ndarray:
        """``death coordinate - birth coordinate``: how long a dot lives."""
        return self.points[:, 1] - self.points[:, 0]

    def alive(self, alpha: float) -> np.ndarray:
        """Mask of the dots whose class exists in the superlevel set ``f >= alpha``.

        A class is born when ``alpha`` falls to ``birth`` and dies when it falls to
        ``death``: alive for ``death < alpha <= birth``; an essential class for
        every ``alpha <= birth``, 0 included.

        Examples
        --------
        >>> import numpy as np
        >>> dgm = diagram(np.array([[0.0, 0.1], [0.6, 1.0]]), frame=False)
        >>> dgm[0].alive(0.0).tolist(), dgm.betti(0.0), dgm.betti(0.1)
        ([True], {0: 1, 1: 0}, {0: 1, 1: 0})
        """
        if not np.all(np.isfinite(alpha)):  # NaN compared False everywhere: "none alive"
            raise ValueError(f"alpha must be a finite level; got {alpha!r}")
        return (self.birth >= alpha) & ((self.death < alpha) | self.essential)

    def betti(self, alpha: float = 0.5) -> int:
        """Betti number of the superlevel set ``f >= alpha`` read off the diagram."""
        return int(np.count_nonzero(self.alive(alpha)))

    @classmethod
    def empty(cls, dim: int) -> Dots:
        return cls(
            dim,
            np.zeros((0, 2)),
            np.zeros((0, 2), np.int64),
            np.zeros((0, 2), np.int64),
            np.zeros(0, bool),
        )


@dataclass(frozen=True)
class Diagram:
    """Persistence diagram of a likelihood, per dimension, with critical pixels.

    Index it by dimension: ``dgm[0]`` and ``dgm[1]`` are :class:`Dots`.
    """

    dots: dict[int, Dots]
    shape: tuple[int, int]
    frame: bool
    backend: str = field(default="numba", compare=False)

    def __getitem__(self, dim: int) -> Dots:
        try:
            return self.dots[dim]
        except KeyError:
            raise KeyError(
                f"dimension {dim} was not computed; this diagram has dims {self.dims}"
            ) from None

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(sorted(self.dots))

    def __repr__(self) -> str:
        """A line: the shape, the frame and how many dots each dimension has.

        >>> import numpy as np
        >>> diagram(np.array([[0.9, 0.2, 0.7]]), frame=False)
        Diagram(shape=(1, 3), frame=False, dots={0: 2, 1: 0})
        """
        counts = {k: len(self.dots[k]) for k in self.dims}
        return f"Diagram(shape={tuple(self.shape)}, frame={self.frame}, dots={counts})"

    def betti(self, alpha: float = 0.5) -> dict[int, int]:
        """Betti numbers of ``f >= alpha``, one per computed dimension."""
        return {k: d.betti(alpha) for k, d in self.dots.items()}

    def restricted(self, dims: Iterable[int]) -> Diagram:
        """The same diagram with only the dimensions ``dims`` (each one computed).

        A view that shows one dimension reads its dots, its loss and its Betti
        numbers from this, so that every number on it is of that dimension.

        Examples
        --------
        >>> import numpy as np
        >>> dgm = diagram(np.array([[0.9, 0.2, 0.7]]), frame=False)
        >>> dgm.dims, dgm.restricted([1]).dims
        ((0, 1), (1,))
        """
        dims = _check_dims(dims)
        return replace(self, dots={k: self[k] for k in dims})

    def __len__(self) -> int:
        return sum(len(d) for d in self.dots.values())


# --------------------------------------------------------------------------- checks


def _in_unit_interval(a):
    """Every value of the 1-D ``a`` in [0, 1] (NaN is not): one compiled pass."""
    ok = True
    for i in range(a.shape[0]):
        ok &= (a[i] >= 0.0) & (a[i] <= 1.0)
    return ok


def _as_array(x, name: str) -> np.ndarray:
    """``x`` as a numpy array; a torch tensor (any device, with or without
    autograd) is detached and copied to the CPU, bfloat16 as float32. This module
    never imports torch: a tensor is recognised by its methods."""
    if isinstance(x, np.ndarray) or not (hasattr(x, "detach") and hasattr(x, "cpu")):
        return np.asarray(x)
    t = x.detach()
    if getattr(t, "is_meta", False):
        raise ValueError(f"{name} is a tensor on the 'meta' device: it holds no values")
    if str(getattr(t, "dtype", "")) == "torch.bfloat16":  # numpy has no bfloat16
        t = t.float()
    return t.cpu().numpy()


def _is_int(x) -> bool:
    """An integer argument (Python or numpy), not a bool."""
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_frame(frame) -> bool:
    """``frame`` as a bool, or a ``TypeError``: ``True``/``False`` (0 and 1 too)."""
    if isinstance(frame, (bool, np.bool_)) or (_is_int(frame) and frame in (0, 1)):
        return bool(frame)
    raise TypeError(f"frame must be True or False; got {frame!r}")


def _check_likelihood(f: np.ndarray, name: str = "f", keep_float32: bool = False) -> np.ndarray:
    """``f`` as a float64 array (float32 kept with ``keep_float32``), or a
    ``ValueError`` saying what is wrong with it."""
    arr = _as_array(f, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (H x W); got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if (
        _HAVE_NUMBA
        and arr.dtype in (np.float32, np.float64)
        and _in_unit_interval(np.ascontiguousarray(arr).reshape(-1))
    ):  # the common case in one pass; otherwise the checks below say what is wrong
        return arr if keep_float32 else arr.astype(np.float64, copy=False)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    # one ulp of a float dtype past 0 or 1 is rounding (a float32 sigmoid can return
    # 1 + 1.2e-7), not logits: clipped, as topo_loss clips it
    floating = np.issubdtype(arr.dtype, np.floating)
    tol = max(1e-6, float(np.finfo(arr.dtype).eps)) if floating else 0.0
    integer = np.issubdtype(arr.dtype, np.integer)
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} has {bad} NaN or infinite value(s); a likelihood must be finite")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -tol or hi > 1.0 + tol:
        raise ValueError(
            f"{name} must be a likelihood in [0, 1]; got values in [{lo:.9g}, {hi:.9g}]"
            + (
                " (an 8-bit image or mask: divide it by 255)"
                if integer and lo >= 0 and hi <= 255
                else " (pass probabilities, e.g. torch.sigmoid(logits), not logits)"
            )
        )
    if lo < 0.0 or hi > 1.0:
        arr = np.clip(arr, 0.0, 1.0)  # a new array: the caller's stays as it was
    return arr


def _check_dims(dims: Iterable[int]) -> tuple[int, ...]:
    """``dims`` sorted, each once: a non-empty subset of ``(0, 1)``, given as
    integers (``(1,)``, ``[0, 1]``), or a clear error."""
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable):
        raise TypeError(
            f"dims must be a sequence of dimensions such as (1,) or (0, 1); got {dims!r}"
        )
    given = list(dims)
    if not all(_is_int(d) for d in given):
        raise TypeError(f"dims must hold integers 0 and/or 1; got {given!r}")
    out = tuple(sorted({int(d) for d in given}))
    if not out or any(d not in (0, 1) for d in out):
        raise ValueError(f"dims must be a non-empty subset of (0, 1); got {tuple(given)}")
    return out


# ------------------------------------------------------------------ compiled sweeps


def _prefetch(a, i):
    """Start loading the cache line of ``a[i]`` (compiled: one ``prefetch`` instruction).

    The sweeps visit pixels in value order, that is at random places of a large
    image's arrays; asking for the lines of a pixel a few steps ahead keeps several
    misses in flight, where a mispredicted branch would otherwise discard the loads
    the processor had started on its own."""


if _HAVE_NUMBA:
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def _prefetch(typingctx, a, i):  # noqa: F811 - the compiled version of the above
        if not isinstance(a, types.Array) or not isinstance(i, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            i8p = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                "llvm.prefetch.p0",
            )
            address = builder.bitcast(builder.gep(array.data, [args[1]]), i8p)
            builder.call(fn, [address, i32(0), i32(3), i32(1)])  # read, keep in all caches
            return context.get_dummy_value()

        return types.void(a, i), codegen


_AHEAD = 8  # how many pixels ahead the sort and sweeps ask for the lines they will need
_FAR = 1 << 16  # from this many pixels on they do (a patch's arrays stay in L1 and L2)


def _u(i):
    """``i`` as an index numba takes as it is: unsigned, so without the test and fix
    for a negative index (``a[-1]``) that it adds to every signed one. The sweeps
    never index from the end; on a patch this made them 10-20 % faster."""
    return np.uint64(i)


def _find(parent, x):
    # path halving
    while parent[_u(x)] != x:
        parent[_u(x)] = parent[_u(parent[_u(x)])]
        x = parent[_u(x)]
    return x


def _sweep0(v, h, w, order, pairs):
    """Dimension 0, superlevel, 4-connected. Returns the number of finite pairs.

    ``brank[root]`` is the position in ``order`` at which the root's component was
    born, so the elder of two components is the one with the smaller ``brank`` and
    its birth pixel is ``order[brank]``.
    """
    n = h * w
    parent = np.full(n, -1, np.int32)
    brank = np.empty(n, np.int32)
    k = 0
    for i in range(n):
        p = order[i]
        parent[p] = p
        brank[p] = i
        rp = p
        r = p // w
        c = p - r * w
        for t in range(4):
            if t == 0:
                if r == 0:
                    continue
                q = p - w
            elif t == 1:
                if r == h - 1:
                    continue
                q = p + w
            elif t == 2:
                if c == 0:
                    continue
                q = p - 1
            else:
                if c == w - 1:
                    continue
                q = p + 1
            pq = parent[q]
            if pq < 0 or pq == rp:  # not yet in, or already p's component
                continue
            rq = _find(parent, q)
            if rq == rp:
                continue
            if brank[rp] < brank[rq]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            b = order[brank[younger]]
            # zero-persistence pairs are dropped (as gudhi does), compared in the
            # paper's coordinates 1 - f so that the dots agree to the last bit
            if 1.0 - v[b] != 1.0 - v[p]:
                pairs[k, 0] = b
                pairs[k, 1] = p
                k += 1
            parent[younger] = elder
            rp = elder
    return k


def _sweep1(v, h, w, order, pairs):
    """Dimension 1 by duality: increasing sweep of the 8-connected complement.

    Here the elder component is the one born *earlier in the increasing sweep*, i.e.
    with the larger position in ``order``; the outside (index ``n``) is the eldest.
    """
    n = h * w
    outside = n
    parent = np.full(n + 1, -1, np.int32)
    brank = np.empty(n + 1, np.int32)
    parent[outside] = outside
    brank[outside] = n
    # the 8 neighbours in ring order (N, NE, E, SE, S, SW, W, NW): two consecutive
    # ones are 4-adjacent, so when both are in they are already one component and
    # only the first of a run of neighbours that are in needs a union
    ring = np.array([-w, -w + 1, 1, w + 1, w, w - 1, -1, -w - 1])
    k = 0
    for i in range(n - 1, -1, -1):
        p = order[i]
        parent[p] = p
        brank[p] = i
        rp = p
        r = p // w
        c = p - r * w
        interior = 0 < r < h - 1 and 0 < c < w - 1
        run = False  # the previous ring neighbour is in
        for t in range(9):
            if interior:  # the 8 neighbours, no bounds to check
                if t == 8:
                    break
                q = p + ring[t]
                if parent[q] < 0:
                    run = False
                    continue
                if run:
                    continue
                run = True
            elif t == 8:  # a border pixel also touches the outside
                q = outside
            else:
                s = t if t < 4 else t + 1  # skip the centre of the 3 x 3 block
                rr = r + s // 3 - 1
                cc = c + s % 3 - 1
                if rr < 0 or rr >= h or cc < 0 or cc >= w:
                    continue
                q = rr * w + cc
            pq = parent[q]
            if pq < 0 or pq == rp:  # not yet in, or already p's component
                continue
            rq = _find(parent, q)
            if rq == rp:
                continue
            if brank[rp] > brank[rq]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            m = order[brank[younger]]
            if 1.0 - v[m] != 1.0 - v[p]:
                pairs[k, 0] = p  # the saddle: the hole is born when p enters f >= alpha
                pairs[k, 1] = m  # the minimum: the hole dies when its last pixel enters
                k += 1
            parent[younger] = elder
            rp = elder
    return k


def _radix_order(keys, passes):
    """Stable LSD radix sort of unsigned keys, 11 bits a pass: the positions in order.

    Stable, so ties keep index order; a pass whose digit is the same for every key
    (the high bits of likelihoods in [0, 1]) is skipped.
    """
    n = keys.shape[0]
    order = np.arange(n)
    order_tmp = np.empty(n, np.int64)
    cur = keys.copy()
    tmp = np.empty_like(cur)
    count = np.empty(2049, np.int64)
    mask = np.uint64(2047)
    for pss in range(passes):
        shift = np.uint64(11 * pss)
        count[:] = 0
        for i in range(n):
            count[np.int64((cur[i] >> shift) & mask) + 1] += 1
        if count.max() == n:
            continue
        for d in range(1, 2049):
            count[d] += count[d - 1]
        for i in range(n):
            d = np.int64((cur[i] >> shift) & mask)
            j = count[d]
            count[d] = j + 1
            tmp[j] = cur[i]
            order_tmp[j] = order[i]
        cur, tmp = tmp, cur
        order, order_tmp = order_tmp, order
    return order


def _descending_order(v):
    """Positions of ``v`` by decreasing value, ties by index (a stable order).

    The values become unsigned keys whose ascending order is the values' descending
    order, sorted by :func:`_radix_order`. When every value is a float32 (a
    network's output) 32-bit keys do (3 passes), otherwise the float64 bits (6).
    IEEE bits become unsigned order by flipping all bits of negatives and the sign
    bit of the rest; -0.0 is first made +0.0 so that equal values get equal keys.
    """
    n = v.shape[0]
    exact32 = True
    for i in range(n):
        if np.float64(np.float32(v[i])) != v[i]:
            exact32 = False
            break
    keys = np.empty(n, np.uint64)
    if exact32:
        v32 = np.empty(n, np.float32)
        for i in range(n):
            v32[i] = np.float32(v[i] + 0.0)
        bits32 = v32.view(np.uint32)
        sign, full = np.uint64(0x80000000), np.uint64(0xFFFFFFFF)
        for i in range(n):
            b = np.uint64(bits32[i])
            f = (b ^ full) if (b & sign) else (b | sign)
            keys[i] = f ^ full
        return _radix_order(keys, 3)
    w = np.empty(n, np.float64)
    for i in range(n):
        w[i] = v[i] + 0.0
    bits = w.view(np.uint64)
    sign, full = np.uint64(0x8000000000000000), np.uint64(0xFFFFFFFFFFFFFFFF)
    for i in range(n):
        b = bits[i]
        f = (b ^ full) if (b & sign) else (b | sign)
        keys[i] = f ^ full
    return _radix_order(keys, 6)


# ------------------------------------------------------- fast path (padded grid)


def _radix_sort(keys, tmpk, order, tmpo, count, bits, passes):
    """Stable LSD radix sort of ``keys`` (unsigned, < 2**(bits*passes)) carrying ``order``.

    All digit histograms are counted in one read; a digit that is the same for every
    key is skipped. The sorted payload ends in ``order`` (``keys`` is clobbered).
    """
    n = keys.shape[0]
    nb = 1 << bits
    mask = nb - 1
    count[: passes * nb] = 0
    for i in range(n):
        kk = np.int64(keys[i])
        for d in range(passes):
            count[d * nb + ((kk >> (d * bits)) & mask)] += 1
    src_k, dst_k, src_o, dst_o = keys, tmpk, order, tmpo
    moved = False
    for d in range(passes):
        base = d * nb
        shift = d * bits
        if count[base + ((np.int64(src_k[0]) >> shift) & mask)] == n:
            continue
        total = 0
        for e in range(base, base + nb):
            c = count[e]
            count[e] = total
            total += c
        for i in range(n):
            kk = src_k[i]
            e = base + ((np.int64(kk) >> shift) & mask)
            j = count[e]
            count[e] = j + 1
            dst_k[j] = kk
            dst_o[j] = src_o[i]
        src_k, dst_k = dst_k, src_k
        src_o, dst_o = dst_o, src_o
        moved = not moved
    if moved:
        order[:] = src_o


def _grid_keys(stack, frame, keys):
    """The sort keys of every image of ``stack``, one row of ``keys`` an image.

    ``keys[j, i] = key << 32 | position`` for the ``i``-th pixel of the (framed)
    image in raster order, ``position`` its place on the grid padded by one cell and
    ``key`` the IEEE bits of its value rounded to float32, counted down from 1.0:
    the values are in [0, 1], where those bits order as the numbers do, so
    ascending keys are descending values, and rounding keeps the order. The
    position breaks ties as a stable sort would, so every key is distinct and any
    sort gives one order. :func:`_ranks` checks the one inexactness (two values
    that round to one float32).
    """
    b, h0, w0 = stack.shape
    fr = 1 if frame else 0
    h = h0 + 2 * fr
    w = w0 + 2 * fr
    W = w + 2
    for j in prange(b):
        row32 = np.empty(w, np.float32)  # one grid row, to read its float32 bits
        bits = row32.view(np.uint32)
        i = 0
        for R in range(h):
            for C in range(w):
                r = R - fr
                c = C - fr
                x = 1.0  # the frame
                if 0 <= r < h0 and 0 <= c < w0:
                    x = stack[j, r, c] + 0.0  # + 0.0: -0.0 becomes 0.0, one key for one value
                row32[C] = np.float32(x)
            for C in range(w):
                key = np.int64(0x3F800000) - np.int64(bits[C])  # 1.0f has key 0
                keys[j, i] = (key << 32) | ((R + 1) * W + C + 1)
                i += 1


def _ranks(f, frame, keys, vals, order, rank, padidx):
    """One image onto the padded grid from its sorted :func:`_grid_keys`.

    ``vals`` gets the (framed) image on the grid padded by one cell, ``order`` the
    grid positions by decreasing value (ties by position: the order of
    :func:`_descending_order`) and ``rank`` its inverse (the pad keeps rank ``n``:
    never in for dimension 0, always in, the outside, for dimension 1).

    The keys' order is exact unless two different values round to one float32;
    that is checked here, and then the 64-bit keys of the values are sorted instead.
    """
    h0, w0 = f.shape
    fr = 1 if frame else 0
    h = h0 + 2 * fr
    w = w0 + 2 * fr
    n = h * w
    W = w + 2
    for R in range(h):
        for C in range(w):
            r = R - fr
            c = C - fr
            x = 1.0  # the frame
            if 0 <= r < h0 and 0 <= c < w0:
                x = f[r, c] + 0.0
            vals[(R + 1) * W + C + 1] = x
    collide = False
    prev_key = np.int64(-1)
    prev = 0
    for i in range(n):
        if n >= _FAR and i + _AHEAD < n:  # a pixel's rank and value: a random place
            ahead = keys[i + _AHEAD] & 0xFFFFFFFF
            _prefetch(rank, ahead)
            _prefetch(vals, ahead)
        it = keys[_u(i)]
        p = np.int32(it & 0xFFFFFFFF)
        order[_u(i)] = p
        rank[_u(p)] = i
        key = it >> 32
        if key == prev_key and vals[_u(p)] != vals[_u(prev)]:
            collide = True
        prev_key = key
        prev = p
    if collide:  # rare: sort the float64 bits, 62-bit keys, positions apart
        v = np.empty(n, np.float64)
        for i in range(n):
            v[i] = vals[padidx[i]]
        b64 = v.view(np.uint64)
        one64 = np.uint64(0x3FF0000000000000)
        keys64 = np.empty(n, np.uint64)
        for i in range(n):
            keys64[i] = one64 - b64[i]
        pos = np.arange(n).astype(np.int32)
        _radix_sort(
            keys64,
            np.empty(n, np.uint64),
            pos,
            np.empty(n, np.int32),
            np.empty(6 << 11, np.int64),
            11,
            6,
        )
        for i in range(n):
            p = padidx[pos[i]]
            order[i] = p
            rank[p] = i


def _neighbour_runs(width, runs):
    """For each pattern of present neighbours (bit t: neighbour t is in), the
    neighbours that need a union, in visiting order, and their number: every one,
    or with ``runs`` only the first of each run of consecutive ones (on the ring of
    dimension 1 consecutive neighbours are 4-adjacent, hence already one component).
    A lookup replaces an unpredictable branch per neighbour."""
    starts = np.zeros((1 << width, width), np.int32)
    count = np.zeros(1 << width, np.int32)
    for m in range(1 << width):
        for t in range(width):
            first = not runs or t == 0 or not (m >> (t - 1)) & 1
            if (m >> t) & 1 and first:
                starts[m, count[m]] = t
                count[m] += 1
    return starts, count


_RUNS4 = _neighbour_runs(4, False)  # dimension 0: up, down, left, right
_RUNS8 = _neighbour_runs(8, True)  # dimension 1, inside: the ring
_EVERY8 = _neighbour_runs(8, False)  # dimension 1, on the border: raster order


def _prefetch_cells(p, W, rank, parent):
    """The rank and parent lines of pixel ``p``'s 3 x 3 block (three rows)."""
    for d in (-W, 0, W):
        _prefetch(rank, p + d)
        _prefetch(parent, p + d)


def _sweep0_grid(vals, W, order, rank, parent, pairs, values):
    """Dimension 0 on the padded grid; ends with the essential class. Returns the count.

    The root of a component is its first pixel (a union keeps the elder root), so
    the dying component's birth pixel is its root and the elder has the smaller rank.
    Neighbours in the order of :func:`_sweep0`: up, down, left, right. ``values``
    gets the birth and death values of each pair, read here while they are in cache.
    """
    n = order.shape[0]
    starts, count = _RUNS4
    step = np.array([-W, W, -1, 1], np.int32)
    offset = np.zeros_like(starts)  # the grid offsets themselves (0 for none): one load less
    for m in range(starts.shape[0]):
        for u in range(count[m]):
            offset[m, u] = step[starts[m, u]]
    k = 0
    for i in range(n):
        if i % _AHEAD == 0 and n >= _FAR:  # the next block of pixels, once a block
            for a in range(i + _AHEAD, min(i + 2 * _AHEAD, n)):
                _prefetch_cells(order[_u(a)], W, rank, parent)
        p = order[_u(i)]
        m = (
            np.int32(rank[_u(p - W)] < i)  # the pad (rank n) is never in
            | np.int32(rank[_u(p + W)] < i) << 1
            | np.int32(rank[_u(p - 1)] < i) << 2
            | np.int32(rank[_u(p + 1)] < i) << 3
        )
        # the common case, two thirds of the pixels: every neighbour in hangs right
        # off one root, which p joins; tested without a branch per neighbour (a
        # neighbour not in reads a stale parent, masked out by m)
        x0 = parent[_u(p + offset[_u(m), 0])]
        diff = (
            np.int32(parent[_u(p - W)] != x0)
            | np.int32(parent[_u(p + W)] != x0) << 1
            | np.int32(parent[_u(p - 1)] != x0) << 2
            | np.int32(parent[_u(p + 1)] != x0) << 3
        )
        if ((diff & m) == 0) & (m != 0) & (parent[_u(x0)] == x0):
            parent[_u(p)] = x0
            continue
        rp = p
        for u in range(count[_u(m)]):
            q = p + offset[_u(m), _u(u)]
            rq = parent[_u(q)]
            if parent[_u(rq)] != rq:
                # q's component has merged since q came in: hang q itself off the
                # root, or each later pixel meeting q takes this step again (a search
                # from parent[q] halves the path above q but never moves q): 17 % of
                # the searches on the benchmark's patches, 10 % now
                rq = _find(parent, rq)
                parent[_u(q)] = rq
            if u == 0:  # p alone is the youngest: it joins, a zero-persistence pair
                rp = rq
                continue
            if rq == rp:
                continue
            if rank[_u(rp)] < rank[_u(rq)]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            # zero-persistence pairs are dropped (as gudhi does), compared in the
            # paper's coordinates 1 - f so that the dots agree to the last bit
            vb = vals[younger]
            vd = vals[p]
            if 1.0 - vb != 1.0 - vd:
                pairs[k, 0] = younger
                pairs[k, 1] = p
                values[k, 0] = vb
                values[k, 1] = vd
                k += 1
            parent[_u(younger)] = elder
            rp = elder
        parent[_u(p)] = rp
    pairs[k, 0] = order[0]
    pairs[k, 1] = -1
    values[k, 0] = vals[order[0]]
    values[k, 1] = 0.0
    return k + 1


def _sweep1_grid(vals, W, order, rank, parent, edge, pairs, values):
    """Dimension 1 by duality on the padded grid: the pad is the outside (root 0).

    Sweeping in increasing value, a pixel is in when its rank is larger than the
    current one; the pad (rank ``n``) always is. The elder component is the one with
    the larger rank, the outside the eldest. Neighbours are visited in the order of
    :func:`_sweep1` (ring order inside; raster order, then the outside, on the
    border ``edge``), so that the pairs come out in the same order; ``values`` as in
    :func:`_sweep0_grid`. The union is written out twice: a helper returning the new
    root and count ran 1.5x slower.
    """
    n = order.shape[0]
    # the 8 neighbours in ring order (N, NE, E, SE, S, SW, W, NW): two consecutive
    # ones are 4-adjacent, so of a run of neighbours that are in only the first
    # needs a union
    ring = np.array([-W, -W + 1, 1, W + 1, W, W - 1, -1, -W - 1], np.int32)
    raster = np.array([-W - 1, -W, -W + 1, -1, 1, W - 1, W, W + 1], np.int32)
    starts, count = _RUNS8
    u_at, every = _EVERY8
    offset = np.empty_like(starts)  # the grid offsets themselves: one load less
    for m in range(starts.shape[0]):
        for u in range(count[m]):
            offset[m, u] = ring[starts[m, u]]
    k = 0
    for i in range(n - 1, -1, -1):
        if i % _AHEAD == 0 and n >= _FAR:  # the next block of pixels, once a block
            for a in range(max(i - 2 * _AHEAD, 0), max(i - _AHEAD, 0)):
                _prefetch_cells(order[_u(a)], W, rank, parent)
        p = order[_u(i)]
        parent[_u(p)] = p
        rp = p
        if edge[_u(p)]:  # the pad around: real neighbours in raster order, the outside last
            m = 0
            out = False
            for t in range(8):
                rk = rank[_u(p + raster[_u(t)])]
                out |= rk == n
                m |= np.int32((rk > i) & (rk != n)) << t
            for u in range(every[_u(m)] + np.int32(out)):
                q = 0 if u == every[_u(m)] else p + raster[_u(u_at[_u(m), _u(u)])]
                rq = parent[_u(q)]
                if parent[_u(rq)] != rq:
                    rq = _find(parent, rq)
                    parent[_u(q)] = rq
                if rq == rp:
                    continue
                if rank[_u(rp)] > rank[_u(rq)]:
                    elder = rp
                    younger = rq
                else:
                    elder = rq
                    younger = rp
                vb = vals[p]
                vd = vals[younger]
                if 1.0 - vd != 1.0 - vb:
                    pairs[k, 0] = p
                    pairs[k, 1] = younger
                    values[k, 0] = vb
                    values[k, 1] = vd
                    k += 1
                parent[_u(younger)] = elder
                rp = elder
            continue
        m = (  # the ring written out: no loop, no loads of its offsets
            np.int32(rank[_u(p - W)] > i)
            | np.int32(rank[_u(p - W + 1)] > i) << 1
            | np.int32(rank[_u(p + 1)] > i) << 2
            | np.int32(rank[_u(p + W + 1)] > i) << 3
            | np.int32(rank[_u(p + W)] > i) << 4
            | np.int32(rank[_u(p + W - 1)] > i) << 5
            | np.int32(rank[_u(p - 1)] > i) << 6
            | np.int32(rank[_u(p - W - 1)] > i) << 7
        )
        for u in range(count[_u(m)]):
            q = p + offset[_u(m), _u(u)]
            rq = parent[_u(q)]
            if parent[_u(rq)] != rq:  # as in _sweep0_grid: hang q itself off the root
                rq = _find(parent, rq)
                parent[_u(q)] = rq
            if u == 0:  # p alone is the youngest: it joins, a zero-persistence pair
                rp = rq
                continue
            if rq == rp:
                continue
            if rank[_u(rp)] > rank[_u(rq)]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            vb = vals[p]
            vd = vals[younger]
            if 1.0 - vd != 1.0 - vb:
                pairs[k, 0] = p  # the saddle: the hole is born when p enters f >= alpha
                pairs[k, 1] = younger  # its minimum: it dies when its last pixel enters
                values[k, 0] = vb
                values[k, 1] = vd
                k += 1
            parent[_u(younger)] = elder
            rp = elder
        parent[_u(p)] = rp
    return k


def _workspace(h, w):
    """Scratch arrays for images of h x w (framed), reused across a batch: the grid
    positions of the pixels, rank, parent, the border, the values on the grid and
    the order."""
    H = h + 2
    W = w + 2
    n = h * w
    N = H * W
    padidx = np.empty(n, np.int32)
    for r in range(h):
        for c in range(w):
            padidx[r * w + c] = (r + 1) * W + c + 1
    rank = np.full(N, n, np.int32)
    parent = np.zeros(N, np.int32)  # the pad hangs off cell 0, the outside's root
    edge = np.zeros(N, np.bool_)  # the image's border pixels
    for r in range(h):
        for c in range(w):
            if r == 0 or r == h - 1 or c == 0 or c == w - 1:
                edge[(r + 1) * W + c + 1] = True
    vals = np.empty(N, np.float64)
    order = np.empty(n, np.int32)
    return padidx, rank, parent, edge, vals, order


def _pairs_into(stack, keys, lo, hi, frame, want0, want1, work, counts, pairs, values):
    """The pairs of images ``lo`` to ``hi - 1`` of the stack, one after the other with
    one :func:`_workspace`, from their sorted :func:`_grid_keys`; with neither
    dimension wanted, only :func:`_ranks`. ``pairs[d, j]`` and ``values[d, j]`` get the
    pairs of dimension ``d`` of image ``j`` (grid positions) and their values."""
    padidx, rank, parent, edge, vals, order = work
    W = stack.shape[2] + (4 if frame else 2)
    for j in range(lo, hi):
        _ranks(stack[j], frame, keys[j], vals, order, rank, padidx)
        if want0:
            counts[j, 0] = _sweep0_grid(vals, W, order, rank, parent, pairs[0, j], values[0, j])
        if want1:
            counts[j, 1] = _sweep1_grid(
                vals, W, order, rank, parent, edge, pairs[1, j], values[1, j]
            )


def _batch_grid(stack, keys, frame, want0, want1, threads):
    b, h0, w0 = stack.shape
    fr = 1 if frame else 0
    h = h0 + 2 * fr
    w = w0 + 2 * fr
    n = h * w
    counts = np.zeros((b, 2), np.int64)
    pairs = np.empty((2, b, n, 2), np.int32)
    values = np.empty((2, b, n, 2), np.float64)
    chunks = min(b, threads)  # one set of scratch arrays a chunk
    for ch in prange(chunks):
        lo = ch * b // chunks
        hi = (ch + 1) * b // chunks
        work = _workspace(h, w)
        _pairs_into(stack, keys, lo, hi, frame, want0, want1, work, counts, pairs, values)
    return counts, pairs, values


def _sorted_keys(stack: np.ndarray, frame: bool, keys: np.ndarray | None = None) -> np.ndarray:
    """:func:`_grid_keys` of the stack, each row sorted.

    numpy's sort of 64-bit integers is vectorised (x86-simd-sort where the CPU has
    AVX-512 or AVX2), and the rows of a whole batch sort in one call: keys, sort and
    :func:`_ranks` took 0.085 ms a framed 65 x 65 patch where the compiled radix
    sort they replace took 0.104 (bench/README.md, round 14).
    """
    b, h0, w0 = stack.shape
    fr = 2 if frame else 0
    if keys is None:
        keys = np.empty((b, (h0 + fr) * (w0 + fr)), np.int64)
    if b == 1:
        _grid_keys_serial(stack, frame, keys)
    else:
        _grid_keys(stack, frame, keys)
    keys.sort(axis=1)
    return keys


def _dots_arrays(shape, frame, counts, pairs, values_in):
    """The dots of one dimension of every image, one after the other.

    ``pairs[j]`` and ``values_in[j]`` are image ``j``'s pairs (grid positions) and
    their values from the sweeps; nothing here reads the images again (a batch's
    images have left the cache by now). Grid positions become ``(row, col)`` in
    the unframed image ``shape``, ``(-1, -1)`` in the frame or for the missing death
    of an essential class. Returns points, birth and death pixels, essential,
    values, and the offsets of each image's first dot.
    """
    h0, w0 = shape
    b = counts.shape[0]
    fr = 1 if frame else 0
    W = w0 + 2 * fr + 2
    offsets = np.zeros(b + 1, np.int64)
    for j in range(b):
        offsets[j + 1] = offsets[j] + counts[j]
    m = offsets[b]
    points = np.empty((m, 2), np.float64)
    values = np.empty((m, 2), np.float64)
    pixels = np.empty((2, m, 2), np.int64)
    essential = np.zeros(m, np.bool_)
    for j in range(b):
        o = offsets[j]
        pj = pairs[j]
        vj = values_in[j]
        for t in range(counts[j]):
            for e in range(2):
                q = pj[t, e]
                x = vj[t, e]
                r = -1
                c = -1
                if q < 0:  # the death of an essential class
                    essential[o] = True
                else:
                    row = q // W
                    rr = row - fr - 1
                    cc = q - row * W - fr - 1
                    if 0 <= rr < h0 and 0 <= cc < w0:
                        r = rr
                        c = cc
                pixels[e, o, 0] = r
                pixels[e, o, 1] = c
                values[o, e] = x
                points[o, e] = 1.0 - x
            if essential[o]:
                points[o, 1] = 1.0
            o += 1
    return points, pixels[0], pixels[1], essential, values, offsets


def _serial_twin(fn):
    """``fn`` under another qualified name, for its serial numba dispatcher beside
    the parallel one. numba's on-disk cache names an entry by file, qualified name
    and line, not by ``parallel=``: two dispatchers of one function share an entry,
    and each loads whichever build was cached first (a parallel batch then ran on
    one thread when a single patch had been compiled first)."""
    twin = FunctionType(
        fn.__code__, fn.__globals__, fn.__name__ + "_serial", fn.__defaults__, fn.__closure__
    )
    twin.__qualname__ = fn.__qualname__ + "_serial"
    return twin


if _HAVE_NUMBA:
    _jit = numba.njit(cache=True, nogil=True)
    _in_unit_interval = _jit(_in_unit_interval)
    _u = _jit(_u)
    _find = _jit(_find)
    _sweep0 = _jit(_sweep0)
    _sweep1 = _jit(_sweep1)
    _radix_order = _jit(_radix_order)
    _descending_order = _jit(_descending_order)
    _radix_sort = _jit(_radix_sort)
    _ranks = _jit(_ranks)
    _grid_keys_serial = _jit(_serial_twin(_grid_keys))  # one image: no thread start-up
    _grid_keys = numba.njit(cache=True, nogil=True, parallel=True)(_grid_keys)
    _prefetch_cells = _jit(_prefetch_cells)
    _sweep0_grid = _jit(_sweep0_grid)
    _sweep1_grid = _jit(_sweep1_grid)
    _workspace = _jit(_workspace)
    _dots_arrays = _jit(_dots_arrays)
    _pairs_into = _jit(_pairs_into)
    _batch_grid_serial = _jit(_serial_twin(_batch_grid))  # one image: no thread start-up
    _batch_grid = numba.njit(cache=True, nogil=True, parallel=True)(_batch_grid)

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="topoviz-sweep")
_SIDE_BY_SIDE_PIXELS = 128 * 128  # below this a thread hand-off costs more than it saves


# ----------------------------------------------------------------- building Dots


def _to_pixels(flat: np.ndarray, w: int, frame: bool, shape: tuple[int, int]) -> np.ndarray:
    """Flat indices of the (maybe framed) array -> (row, col) in f, (-1, -1) outside."""
    out = np.full((len(flat), 2), -1, np.int64)
    ok = flat >= 0
    r, c = np.divmod(flat[ok], w)
    if frame:
        r = r - 1
        c = c - 1
    inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    rows = np.full(len(r), -1, np.int64)
    cols = np.full(len(r), -1, np.int64)
    rows[inside] = r[inside]
    cols[inside] = c[inside]
    out[ok, 0] = rows
    out[ok, 1] = cols
    return out


def _dots_from_pairs(
    dim: int,
    pairs: np.ndarray,
    v: np.ndarray,
    w: int,
    frame: bool,
    shape: tuple[int, int],
    offset: np.ndarray | int = 0,
) -> Dots:
    """Dots from flat (birth, death) indices; ``offset`` locates them in ``v``."""
    b, d = pairs[:, 0], pairs[:, 1]
    essential = d < 0
    x = 1.0 - v[b + offset]
    y = np.where(essential, 1.0, 1.0 - v[np.where(essential, 0, d) + offset])
    vb = v[b + offset].astype(np.float64)
    vd = np.where(essential, 0.0, v[np.where(essential, 0, d) + offset])
    return Dots(
        dim,
        np.stack([x, y], axis=1).reshape(-1, 2),
        _to_pixels(b, w, frame, shape),
        _to_pixels(d, w, frame, shape),
        essential,
        np.stack([vb, vd], axis=1).reshape(-1, 2),
    )


def _framed(f: np.ndarray, frame: bool) -> np.ndarray:
    # Relative homology on a patch (Sec. 2.3): a one-pixel frame of value 1 closes
    # structures cut by the border.
    return np.pad(f, 1, constant_values=1.0) if frame else f


def _diagrams_from_sweeps(
    shape: tuple[int, int], frame: bool, dims: tuple[int, ...], counts, pairs, values
) -> list[Diagram]:
    """Diagrams of images of ``shape`` from the sweeps' grid pairs and values
    (:func:`_batch_grid`): the dots of all images are built in one compiled call per
    dimension and handed out as views."""
    per_dim = {}
    for k in dims:
        points, birth, death, essential, vals, offsets = _dots_arrays(
            shape, frame, counts[:, k], pairs[k], values[k]
        )
        cuts = offsets.tolist()
        per_dim[k] = [
            Dots(k, points[s:e], birth[s:e], death[s:e], essential[s:e], vals[s:e])
            for s, e in zip(cuts[:-1], cuts[1:], strict=True)
        ]
    return [
        Diagram({k: per_dim[k][j] for k in dims}, shape, frame, backend="numba")
        for j in range(len(counts))
    ]


_scratch = threading.local()  # each thread's scratch of its last single image
_KEEP_SCRATCH_PIXELS = 1 << 20  # up to 1024 x 1024: about 70 MB kept a thread


def _image_scratch(h: int, w: int) -> tuple:
    """Scratch for one framed image of h x w: :func:`_workspace`, the sort keys, the
    pairs and their values and a second parent array, kept by the calling thread for
    the next image of that shape. Fresh arrays of a 512 x 512 image cost about 4 ms a
    call (the kernel zeroes every page on first touch), a tenth of the whole diagram."""
    kept = getattr(_scratch, "kept", None)
    if kept is not None and kept[0] == (h, w):
        return kept[1]
    n = h * w
    work = _workspace(h, w)
    keys = np.empty((1, n), np.int64)
    pairs = np.empty((2, 1, n, 2), np.int32)
    values = np.empty((2, 1, n, 2), np.float64)
    scratch = (work, keys, pairs, values, work[2].copy())
    if n <= _KEEP_SCRATCH_PIXELS:
        _scratch.kept = ((h, w), scratch)
    return scratch


def _diagram_numba(f: np.ndarray, frame: bool, dims: tuple[int, ...]) -> Diagram:
    f = np.ascontiguousarray(f)[None]
    h, w = f.shape[1] + 2 * frame, f.shape[2] + 2 * frame
    work, keys, pairs, values, parent1 = _image_scratch(h, w)
    _sorted_keys(f, frame, keys)
    counts = np.zeros((1, 2), np.int64)
    if h * w < _SIDE_BY_SIDE_PIXELS or len(dims) < 2:
        _pairs_into(f, keys, 0, 1, frame, 0 in dims, 1 in dims, work, counts, pairs, values)
    else:
        # the two sweeps release the GIL: on a large image run them side by side,
        # each with its own union-find
        _pairs_into(f, keys, 0, 1, frame, False, False, work, counts, pairs, values)
        padidx, rank, parent, edge, vals, order = work[:6]
        W = w + 2
        job = _POOL.submit(
            _sweep1_grid, vals, W, order, rank, parent1, edge, pairs[1, 0], values[1, 0]
        )
        counts[0, 0] = _sweep0_grid(vals, W, order, rank, parent, pairs[0, 0], values[0, 0])
        counts[0, 1] = job.result()
    return _diagrams_from_sweeps(f.shape[1:], frame, dims, counts, pairs, values)[0]


def _diagram_gudhi(f: np.ndarray, frame: bool, dims: tuple[int, ...]) -> Diagram:
    import gudhi

    F = _framed(f, frame)
    h, w = F.shape
    cc = gudhi.CubicalComplex(vertices=1.0 - F)
    cc.compute_persistence()
    regular, essential = cc.vertices_of_persistence_pairs()

    # gudhi's vertex indices are Fortran-order flat indices: convert to C order.
    def to_c(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, np.int64)
        r = idx % h
        c = idx // h
        return r * w + c

    v = F.ravel()
    dots = {}
    for k in dims:
        reg = np.asarray(regular[k], np.int64).reshape(-1, 2) if k < len(regular) else None
        ess = np.asarray(essential[k], np.int64).ravel() if k < len(essential) else None
        rows = []
        if reg is not None and len(reg):
            rows.append(np.stack([to_c(reg[:, 0]), to_c(reg[:, 1])], axis=1))
        if ess is not None and len(ess):
            rows.append(np.stack([to_c(ess), np.full(len(ess), -1)], axis=1))
        pairs = np.concatenate(rows) if rows else np.zeros((0, 2), np.int64)
        dots[k] = _dots_from_pairs(k, pairs, v, w, frame, f.shape)
    return Diagram(dots, f.shape, frame, backend="gudhi")


def diagram(
    f: np.ndarray,
    frame: bool = True,
    dims: Sequence[int] = (0, 1),
    backend: str = "auto",
) -> Diagram:
    """Persistence diagram of the superlevel filtration of a likelihood.

    Parameters
    ----------
    f : array_like, shape (H, W)
        Likelihood in [0, 1] (any H x W). NaN, infinite or out-of-range values are
        refused with a ``ValueError``.
    frame : bool
        Pad a one-pixel frame of value 1 before computing (relative homology,
        Sec. 2.3), so that structures cut by the border still close loops.
    dims : sequence of int
        Homology dimensions to compute, a subset of ``(0, 1)``.
    backend : {"auto", "numba", "gudhi"}
        ``"gudhi"`` is the reference (``gudhi.CubicalComplex(vertices=1 - f)``);
        ``"auto"`` uses the compiled sweep. Both give the same dots as a multiset; their
        order, and where values tie the critical pixels chosen, can differ, so compare
        sorted points rather than ``==`` of two backends' diagrams.

    Returns
    -------
    Diagram
        ``dgm[k].points`` are ``(1 - birth, 1 - death)``; ``dgm[k].birth_pixel`` and
        ``dgm[k].death_pixel`` the critical pixels. An essential class has death
        coordinate 1 and death pixel ``(-1, -1)``.

    Notes
    -----
    Sec. 2.1: the filtration ``f^alpha = {x : f(x) >= alpha}`` grows as ``alpha``
    decreases; a dot ``p`` records the ``alpha`` at which a component or handle
    appears (``birth(p)``) and disappears (``death(p)``), and is drawn at
    ``(1 - birth(p), 1 - death(p))``. Dots of zero persistence are omitted, as in
    gudhi; zero in those coordinates, so a class born below about 1e-16 that dies
    at 0 is omitted too (``1 - b == 1`` in float64), and ``betti(alpha)`` misses it
    for such tiny ``alpha`` only. The critical pixels ``c_b(p)``, ``c_d(p)`` carry the
    gradient of Eq. 2.3: ``f[c_b(p)] == birth(p)`` and ``f[c_d(p)] == death(p)``
    wherever they exist.

    References
    ----------
    .. [1] X. Hu, F. Li, D. Samaras, C. Chen. Topology-Preserving Deep Image
       Segmentation. NeurIPS 2019.

    Examples
    --------
    >>> import numpy as np
    >>> ring = np.zeros((5, 5)); ring[1:4, 1:4] = 1; ring[2, 2] = 0
    >>> dgm = diagram(ring, frame=False)
    >>> dgm[0].points.tolist(), dgm[1].points.tolist()
    ([[0.0, 1.0]], [[0.0, 1.0]])
    >>> dgm.betti(0.5)
    {0: 1, 1: 1}
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}")
    arr = _check_likelihood(f, keep_float32=True)  # the sweeps read float32 as it is
    frame = _check_frame(frame)
    dims = _check_dims(dims)
    if backend == "gudhi" or (backend == "auto" and not _HAVE_NUMBA):
        return _diagram_gudhi(arr.astype(np.float64, copy=False), frame, dims)
    if not _HAVE_NUMBA:
        raise RuntimeError("backend='numba' needs the numba package; use backend='gudhi'")
    return _diagram_numba(arr, frame, dims)


def diagrams(stack: np.ndarray, frame: bool = True, dims: Sequence[int] = (0, 1)) -> list[Diagram]:
    """Diagrams of a stack of equally sized patches, computed in parallel.

    Parameters
    ----------
    stack : array_like, shape (B, H, W)
        Likelihoods in [0, 1].
    frame, dims
        As in :func:`diagram`.

    Returns
    -------
    list of Diagram
        One per patch, identical to ``[diagram(p, frame, dims) for p in stack]``.
    """
    arr = _checked_stack(stack)
    frame = _check_frame(frame)
    dims = _check_dims(dims)
    if len(arr) == 0:
        return []
    if not _HAVE_NUMBA:
        return [_diagram_gudhi(p, frame, dims) for p in arr]
    counts, pairs, values = _sweep_batch(arr, frame, dims)
    return _diagrams_from_sweeps(arr.shape[1:], frame, dims, counts, pairs, values)


def _checked_stack(stack: np.ndarray) -> np.ndarray:
    """``stack`` as a contiguous B x H x W array of likelihoods, or a clear error."""
    arr = _as_array(stack, "stack")
    if arr.ndim != 3:
        raise ValueError(f"stack must be B x H x W; got shape {arr.shape}")
    if len(arr) == 0:
        return arr
    if arr.shape[1] < 1 or arr.shape[2] < 1:
        raise ValueError(f"stack's patches are empty (shape {arr.shape})")
    shape = arr.shape
    arr = _check_likelihood(arr.reshape(-1, shape[2]), "stack", keep_float32=True)
    return np.ascontiguousarray(arr.reshape(shape))


def _sweep_batch(arr: np.ndarray, frame: bool, dims: tuple[int, ...]) -> tuple:
    """The sweeps of a checked, contiguous stack, in parallel over its images."""
    with _parallel_guard():
        keys = _sorted_keys(arr, frame)
        return _batch_grid(arr, keys, frame, 0 in dims, 1 in dims, numba.get_num_threads())


#: What :func:`batch_dots` gives: for each dimension ``(points, birth_pixel,
#: death_pixel, offsets)``.
BatchDots = dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def batch_dots(
    stack: np.ndarray, frame: bool = True, dims: Sequence[int] = (0, 1)
) -> BatchDots | None:
    """The dots of a stack of patches as flat arrays, for code that handles a batch
    at once (``TopoLoss``): no :class:`Diagram` or :class:`Dots` per patch.

    Returns
    -------
    dict or None
        For each dimension ``(points, birth_pixel, death_pixel, offsets)``: the
        arrays of :class:`Dots` of every patch one after the other, patch ``j``'s
        dots at ``offsets[j]:offsets[j + 1]`` in the order :func:`diagrams` gives
        them. None without numba (then use :func:`diagrams`).
    """
    if not _HAVE_NUMBA:
        return None
    arr = _checked_stack(stack)
    if len(arr) == 0:
        raise ValueError("stack holds no patch (B = 0)")
    frame = _check_frame(frame)
    dims = _check_dims(dims)
    counts, pairs, values = _sweep_batch(arr, frame, dims)
    out = {}
    for k in dims:
        points, birth, death, _, _, offsets = _dots_arrays(
            arr.shape[1:], frame, counts[:, k], pairs[k], values[k]
        )
        out[k] = (points, birth, death, offsets)
    return out


_warm_lock = threading.Lock()
_workqueue_lock = threading.Lock()


def _parallel_guard() -> contextlib.AbstractContextManager:
    """Serialise the parallel batch when numba's threading layer is not thread-safe.

    Two sessions fine-tuning at once call :func:`diagrams` from two threads. The
    ``omp`` and ``tbb`` layers allow that; numba's fallback ``workqueue`` layer
    aborts the process on concurrent use, so there the calls take turns.
    """
    if not _HAVE_NUMBA:
        return contextlib.nullcontext()
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run yet: the layer is not chosen
        return _workqueue_lock
    return _workqueue_lock if layer == "workqueue" else contextlib.nullcontext()


_warmed = False


def warmup(background: bool = False) -> threading.Thread | None:
    """Compile (or load from the on-disk cache) the numba sweeps, Betti matching's too.

    The first call of :func:`diagram` otherwise pays the compilation (seconds on a
    fresh install, well under a second once cached). With ``background=True`` the
    work runs in a daemon thread, which is returned, so an app can start at once.
    """

    def _run() -> None:
        global _warmed
        with _warm_lock:
            if _warmed or not _HAVE_NUMBA:
                return
            tiny = np.random.default_rng(0).random((6, 5))
            for f in (tiny, tiny.astype(np.float32)):  # a network's output is float32
                diagram(f)
                diagrams(f[None])
            from topoviz.matching import betti_matches  # its own sweeps, one signature

            g = (tiny > 0.5).astype(np.float64)
            for b in (1, 2):  # one patch runs serial, a batch in parallel
                betti_matches(np.stack([tiny] * b), np.stack([g] * b))
            _warmed = True

    if background:
        t = threading.Thread(target=_run, name="topoviz-warmup", daemon=True)
        t.start()
        atexit.register(t.join, 60)  # not killed inside LLVM when the interpreter exits
        return t
    _run()
    return None
