"""Induced matchings of persistence barcodes (Bauer & Lesnick), compiled.

Betti matching (Stucki et al., ICML 2023) compares a likelihood ``f`` with a ground
truth ``g`` through the comparison image ``c = max(f, g)``: every superlevel set of
``f`` and of ``g`` lies in the superlevel set of ``c`` at the same threshold, so the
inclusions induce maps ``H(f >= a) -> H(c >= a)`` and ``H(g >= a) -> H(c >= a)``.
The induced matching of such a map pairs a bar of the source with a bar of the
target through the barcode of the *image* persistence module:

* a source bar and an image bar with the same **birth** are matched (longest to
  longest within one birth),
* an image bar and a target bar with the same **death** are matched (longest to
  longest within one death).

A dot of Dgm(f) and a dot of Dgm(g) are Betti-matched when both reach the same bar
of Dgm(c).

Both dimensions are union-find sweeps on the library's conventions (pixels as
vertices, foreground 4-connected, complement 8-connected):

* dimension 0 (:func:`_image_sweep0`): one union-find over ``c``'s superlevel sets.
  A pixel enters ``c``'s complex at ``c(p)`` and becomes *active* (enters ``f``'s) at
  ``f(p) <= c(p)``. A component of ``c`` carries an image class once it holds an
  active pixel; two such components merging kill the image class born later.
* dimension 1 (:func:`_image_sweep1`): by Alexander duality ``H1(f >= a) -> H1(c >=
  a)`` is dual to ``H~0(c < a) -> H~0(f < a)`` (complements, 8-connected, with one
  outside node), and the dual of a map has the reversed barcodes and the same
  induced matching. So the same sweep runs on the complements, in increasing order,
  with the roles of ``f`` and ``c`` swapped.

Ties are broken as in :mod:`topoviz.persistence` (value, then flat index), which is
a generic perturbation of the filtrations: within one pixel, ``c``'s event comes
before ``f``'s (the superlevel set of ``f`` stays inside that of ``c``).

The three diagrams (of f, g and c) and their orders come from that module's fast
path, the one the paper's rule uses: a vectorised sort of the whole batch's keys,
then the padded-grid sweeps (:func:`_one_patch_fast`). Only the two
induced-matching sweeps are this module's own.
"""

from __future__ import annotations

import numpy as np

from topoviz.persistence import (
    _HAVE_NUMBA,
    _RUNS8,
    _find,
    _ranks,
    _serial_twin,
    _sweep0_grid,
    _sweep1_grid,
    _u,
    _workspace,
)

if _HAVE_NUMBA:
    import numba
    from numba import prange
else:  # pragma: no cover - exercised only on broken installs
    prange = range

__all__ = ["sweeps"]


def _sort_small(a, n):
    """Insertion sort of the first ``n`` entries (n <= 9)."""
    for i in range(1, n):
        x = a[i]
        j = i - 1
        while j >= 0 and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


def _image_sweep0(vf, vc, h, w, order_f, order_c, through):
    """Induced matching of ``H0(f >= a) -> H0(c >= a)``, ``f <= c`` pixelwise.

    Writes ``through[b]``: the flat birth pixel of the bar of ``c`` that the bar of
    ``f`` born at ``b`` is matched to, or leaves -1 (the bar of ``f`` is unmatched,
    its class dies in ``c`` as soon as it is born: it is not in the image).

    Notes
    -----
    ``fbest[root]`` is the rank in ``f``'s order of the oldest active pixel of the
    component (``n`` when none is active yet): the birth of its image class. At a
    pixel ``p`` entering ``c`` several merges may happen; the bars of ``c`` that die
    at ``p`` and the image classes that die at ``p`` share their death and are paired
    longest to longest (smallest birth rank first), as Bauer & Lesnick prescribe.
    """
    n = h * w
    parent = np.full(n, -1, np.int32)
    cbirth = np.empty(n, np.int32)
    fbest = np.empty(n, np.int32)
    c_dead = np.empty(9, np.int32)
    im_dead = np.empty(9, np.int32)
    through[:] = -1
    i = 0  # next entry into c's complex
    j = 0  # next activation (entry into f's complex)
    while j < n:
        take_c = False
        if i < n:
            p = order_c[i]
            q = order_f[j]
            # by value, then flat index; the same pixel enters c first
            if vc[p] > vf[q] or (vc[p] == vf[q] and p <= q):
                take_c = True
        if take_c:
            p = order_c[i]
            parent[p] = p
            cbirth[p] = i
            fbest[p] = n
            rp = p
            r = p // w
            col = p - r * w
            nc = 0
            ni = 0
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
                    if col == 0:
                        continue
                    q = p - 1
                else:
                    if col == w - 1:
                        continue
                    q = p + 1
                if parent[q] < 0:
                    continue
                rq = _find(parent, q)
                if rq == rp:
                    continue
                if cbirth[rp] < cbirth[rq]:
                    elder = rp
                    younger = rq
                else:
                    elder = rq
                    younger = rp
                if cbirth[younger] != i:  # p's own class dies at once: no bar
                    c_dead[nc] = cbirth[younger]
                    nc += 1
                a = fbest[rp]
                b = fbest[rq]
                if a < n and b < n:
                    im_dead[ni] = a if a > b else b
                    ni += 1
                parent[younger] = elder
                fbest[elder] = a if a < b else b
                rp = elder
            _sort_small(c_dead, nc)
            _sort_small(im_dead, ni)
            for k in range(ni):
                through[order_f[im_dead[k]]] = order_c[c_dead[k]]
            i += 1
        else:
            q = order_f[j]
            root = _find(parent, q)
            if fbest[root] == n:  # the first active pixel: an image class is born
                fbest[root] = j
            j += 1
    # the essential classes: the oldest of f goes through the oldest of c
    through[order_f[0]] = order_c[0]


def _image_sweep1(vf, vc, h, w, order_f, order_c, through, inside):
    """Induced matching of ``H1(f >= a) -> H1(c >= a)`` by duality.

    Writes ``through[m]``: for the hole of ``f`` that dies at pixel ``m`` (its
    minimum), the death pixel of the hole of ``c`` it is matched to, or -1.
    ``inside[p]``: pixel ``p`` is off the image's border (its 8 neighbours exist);
    those pixels take the ring of neighbours and, of each run of ring neighbours
    already in, only the first (consecutive ones are 4-adjacent, so one component).

    Notes
    -----
    The complements ``X = {f < a}`` (with an outside node) contain ``Y = {c < a}``;
    the sweep goes by increasing value, ``X`` first within a pixel. The image of
    ``H~0(Y) -> H~0(X)`` has its births at ``Y``'s (the minimum of a hole of ``c``)
    and its deaths at merges in ``X`` (the saddle where a hole of ``f`` is born);
    merges at one pixel are paired longest to longest, as in :func:`_image_sweep0`.
    """
    n = h * w
    outside = n
    parent = np.full(n + 1, -1, np.int32)
    xbirth = np.empty(n + 1, np.int32)
    ybest = np.empty(n + 1, np.int32)
    parent[outside] = outside
    xbirth[outside] = -1  # the outside is in both complements from the start
    ybest[outside] = -1
    x_dead = np.empty(9, np.int32)
    im_dead = np.empty(9, np.int32)
    # the 8 neighbours of an inside pixel in ring order: two consecutive ones are
    # 4-adjacent, so of a run of them in X only the first can bring a new component
    ring = np.array([-w, -w + 1, 1, w + 1, w, w - 1, -1, -w - 1], np.int64)
    starts, count = _RUNS8
    through[:] = -1
    i = 0  # Y entries: order_c read backwards
    j = 0  # X entries: order_f read backwards
    # _u: unsigned indices, without numba's test for a negative one (see persistence)
    while i < n:
        take_x = False
        if j < n:
            px = order_f[_u(n - 1 - j)]
            py = order_c[_u(n - 1 - i)]
            if vf[_u(px)] < vc[_u(py)] or (vf[_u(px)] == vc[_u(py)] and px >= py):
                take_x = True
        if take_x:
            p = order_f[_u(n - 1 - j)]
            parent[_u(p)] = p
            xbirth[_u(p)] = j
            ybest[_u(p)] = n
            rp = p
            nx = 0
            ni = 0
            inner = inside[_u(p)]
            m = 0  # inside: which ring neighbours are in X, and of each run only the first
            if inner:
                for t in range(8):
                    m |= np.int32(parent[_u(p + ring[t])] >= 0) << t
            r = 0
            col = 0
            if not inner:
                r = p // w
                col = p - r * w
            for u in range(count[_u(m)] if inner else 9):
                if inner:
                    q = p + ring[_u(starts[_u(m), _u(u)])]
                elif u == 8:
                    q = outside
                else:
                    s = u if u < 4 else u + 1  # skip the centre of the 3 x 3 block
                    rr = r + s // 3 - 1
                    cc = col + s % 3 - 1
                    if rr < 0 or rr >= h or cc < 0 or cc >= w:
                        continue
                    q = rr * w + cc
                if parent[_u(q)] < 0:
                    continue
                rq = _find(parent, q)
                if rq == rp:
                    continue
                if xbirth[_u(rp)] < xbirth[_u(rq)]:
                    elder = rp
                    younger = rq
                else:
                    elder = rq
                    younger = rp
                if xbirth[_u(younger)] != j:
                    x_dead[nx] = xbirth[_u(younger)]
                    nx += 1
                a = ybest[_u(rp)]
                b = ybest[_u(rq)]
                if a < n and b < n:
                    im_dead[ni] = a if a > b else b
                    ni += 1
                parent[_u(younger)] = elder
                ybest[_u(elder)] = a if a < b else b
                rp = elder
            _sort_small(x_dead, nx)
            _sort_small(im_dead, ni)
            for k in range(ni):
                through[_u(order_f[_u(n - 1 - x_dead[k])])] = order_c[_u(n - 1 - im_dead[k])]
            j += 1
        else:
            p = order_c[_u(n - 1 - i)]
            root = _find(parent, p)
            if ybest[_u(root)] == n:
                ybest[_u(root)] = i
            i += 1


def _one_patch_fast(S, K, j, want0, want1, work, gp, gv, pairs, counts, through):
    """Everything Betti matching needs for patch ``j``, in one call.

    ``S[0..2, j]`` are f, g and c = max(f, g) of the patch (already framed) and
    ``K[k, j]`` their sorted keys (:func:`topoviz.persistence._sorted_keys`): each
    gets its order and ranks (:func:`topoviz.persistence._ranks`, exact: it checks
    float32 collisions) and the padded-grid persistence sweeps of that module.

    Writes ``pairs[k]`` (k = 0..5: f, g, c in dimension 0, then in dimension 1): the
    persistence pairs as flat (birth, death) pixels, dimension 0 ending with the
    essential class (death -1); ``counts[k]`` their number; ``through[k]`` (k =
    0..3: f -> c and g -> c in dimension 0, then in dimension 1) the induced
    matchings; and ``gp[k, d, j]``, ``gv[k, d, j]`` the sweeps' own output for image
    ``k`` in dimension ``d`` (grid positions and values, laid out as
    :func:`topoviz.persistence._diagrams_from_sweeps` reads them). ``work``:
    :func:`_fast_workspace`.
    """
    h, w = S.shape[2], S.shape[3]
    n = h * w
    W = w + 2
    padidx, rank, parent, edge, vals, order, flat_of, inside = work
    orders = np.empty((3, n), np.int64)
    for k in range(3):
        _ranks(S[k, j], False, K[k, j], vals, order, rank, padidx)
        for i in range(n):
            orders[k, i] = flat_of[_u(order[i])]
        if want0:  # ends with the essential class
            m = _sweep0_grid(vals, W, order, rank, parent, gp[k, 0, j], gv[k, 0, j])
            for t in range(m):
                pairs[k, t, 0] = flat_of[_u(gp[k, 0, j, t, 0])]
                d = gp[k, 0, j, t, 1]
                pairs[k, t, 1] = -1 if d < 0 else flat_of[_u(d)]
            counts[k] = m
        if want1:
            m = _sweep1_grid(vals, W, order, rank, parent, edge, gp[k, 1, j], gv[k, 1, j])
            for t in range(m):
                pairs[3 + k, t, 0] = flat_of[_u(gp[k, 1, j, t, 0])]
                pairs[3 + k, t, 1] = flat_of[_u(gp[k, 1, j, t, 1])]
            counts[3 + k] = m
    vf = S[0, j].ravel()
    vg = S[1, j].ravel()
    vc = S[2, j].ravel()
    if want0:
        _image_sweep0(vf, vc, h, w, orders[0], orders[2], through[0])
        _image_sweep0(vg, vc, h, w, orders[1], orders[2], through[1])
    if want1:  # the rows of a dimension not wanted stay unwritten: nothing reads them
        _image_sweep1(vf, vc, h, w, orders[0], orders[2], through[2], inside)
        _image_sweep1(vg, vc, h, w, orders[1], orders[2], through[3], inside)


def _fast_workspace(h, w):
    """:func:`topoviz.persistence._workspace` for an ``h x w`` image, plus the flat
    index of each grid position and which pixels are off the image's border (the
    lookups that replace a division per pixel)."""
    padidx, rank, parent, edge, vals, order = _workspace(h, w)
    flat_of = np.full(rank.shape[0], -1, np.int64)
    inside = np.zeros(h * w, np.bool_)
    for r in range(h):
        for c in range(w):
            flat_of[(r + 1) * (w + 2) + c + 1] = r * w + c
            inside[r * w + c] = 0 < r < h - 1 and 0 < c < w - 1
    return padidx, rank, parent, edge, vals, order, flat_of, inside


def _batch_fast(S, K, want0, want1, threads):
    """:func:`_one_patch_fast` over the batch, in parallel: one scratch a chunk.

    Returns ``pairs``, ``counts`` and ``through`` of every patch (first index the
    patch) and ``gp``, ``gv`` (image, dimension, patch), as :func:`_one_patch_fast`
    writes them."""
    b, h, w = S.shape[1], S.shape[2], S.shape[3]
    n = h * w
    pairs = np.empty((b, 6, n, 2), np.int64)
    counts = np.zeros((b, 6), np.int64)
    through = np.empty((b, 4, n), np.int64)  # the image sweeps fill their rows
    gp = np.empty((3, 2, b, n, 2), np.int32)
    gv = np.empty((3, 2, b, n, 2), np.float64)
    chunks = min(b, threads)
    for ch in prange(chunks):  # the body is one call: so numba runs the chunks in parallel
        _patches_into(
            S,
            K,
            ch * b // chunks,
            (ch + 1) * b // chunks,
            want0,
            want1,
            gp,
            gv,
            pairs,
            counts,
            through,
        )
    return pairs, counts, through, gp, gv


def _patches_into(S, K, lo, hi, want0, want1, gp, gv, pairs, counts, through):
    """:func:`_one_patch_fast` for patches ``lo`` to ``hi - 1``, one scratch for all."""
    work = _fast_workspace(S.shape[2], S.shape[3])
    for j in range(lo, hi):
        _one_patch_fast(S, K, j, want0, want1, work, gp, gv, pairs[j], counts[j], through[j])


def sweeps(S, want0, want1):
    """The sweeps of Betti matching for a stack ``S`` of f, g and c = max(f, g)
    (3 x B x H x W, framed already): each image's keys sorted by the persistence
    module, then :func:`_batch_fast`, in parallel over the batch when there is more
    than one patch and more than one numba thread. Returns what
    :func:`_batch_fast` returns."""
    from topoviz.persistence import _parallel_guard, _sorted_keys

    b = S.shape[1]
    K = np.empty((3, b, S.shape[2] * S.shape[3]), np.int64)
    threads = numba.get_num_threads() if _HAVE_NUMBA else 1
    if b == 1 or threads == 1:  # no thread start-up
        for k in range(3):
            _sorted_keys(S[k], False, K[k])
        return _batch_fast_serial(S, K, want0, want1, 1)
    with _parallel_guard():
        for k in range(3):
            _sorted_keys(S[k], False, K[k])
        return _batch_fast(S, K, want0, want1, threads)


if _HAVE_NUMBA:
    _jit = numba.njit(cache=True, nogil=True)
    _sort_small = _jit(_sort_small)
    _image_sweep0 = _jit(_image_sweep0)
    _image_sweep1 = _jit(_image_sweep1)
    _fast_workspace = _jit(_fast_workspace)
    _one_patch_fast = _jit(_one_patch_fast)
    _patches_into = _jit(_patches_into)
    _batch_fast_serial = _jit(_serial_twin(_batch_fast))  # its own cache entry
    _batch_fast = numba.njit(cache=True, nogil=True, parallel=True)(_batch_fast)
else:  # pragma: no cover
    _batch_fast_serial = _batch_fast
