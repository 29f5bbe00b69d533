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
induced-matching sweeps are this module's own; they read the same padded grids
(values, orders, ranks), so a neighbour's test is one load and the border needs no
case of its own.
"""

from __future__ import annotations

import numpy as np

from topoviz.persistence import (
    _HAVE_NUMBA,
    _RUNS4,
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


def _image_sweep0(vf, vc, W, order_f, order_c, rank_c, parent, fbest, flat_of, through):
    """Induced matching of ``H0(f >= a) -> H0(c >= a)``, ``f <= c`` pixelwise.

    On the padded grid of :mod:`topoviz.persistence`: ``vf``, ``vc`` the values,
    ``order_f``, ``order_c`` the grid positions by decreasing value, ``rank_c`` the
    inverse of ``order_c`` (the pad keeps rank ``n``: never in). Writes
    ``through[b]`` (flat pixels): the birth pixel of the bar of ``c`` that the bar of
    ``f`` born at ``b`` is matched to, or leaves -1 (the bar of ``f`` is unmatched,
    its class dies in ``c`` as soon as it is born: it is not in the image).

    Notes
    -----
    A component's root is its first pixel (a union keeps the elder root), so its bar
    of ``c`` is born at the root's rank. ``fbest[root]`` is the rank in ``f``'s order
    of the oldest active pixel of the component (``n`` when none is active yet): the
    birth of its image class. At a pixel ``p`` entering ``c`` several merges may
    happen; the bars of ``c`` that die at ``p`` and the image classes that die at
    ``p`` share their death and are paired longest to longest (smallest birth rank
    first), as Bauer & Lesnick prescribe.
    """
    n = order_f.shape[0]
    starts, count = _RUNS4
    step = np.array([-W, W, -1, 1], np.int32)
    c_dead = np.empty(4, np.int32)
    im_dead = np.empty(4, np.int32)
    through[:] = -1
    i = 0  # next entry into c's complex
    j = 0  # next activation (entry into f's complex)
    while j < n:
        take_c = False
        if i < n:
            p = order_c[_u(i)]
            q = order_f[_u(j)]
            # by value, then position; the same pixel enters c first
            take_c = vc[_u(p)] > vf[_u(q)] or (vc[_u(p)] == vf[_u(q)] and p <= q)
        if not take_c:
            root = _find(parent, order_f[_u(j)])
            if fbest[_u(root)] == n:  # the first active pixel: an image class is born
                fbest[_u(root)] = j
            j += 1
            continue
        p = order_c[_u(i)]
        fbest[_u(p)] = n
        rp = p
        nc = 0
        ni = 0
        m = (
            np.int32(rank_c[_u(p - W)] < i)  # the pad (rank n) is never in
            | np.int32(rank_c[_u(p + W)] < i) << 1
            | np.int32(rank_c[_u(p - 1)] < i) << 2
            | np.int32(rank_c[_u(p + 1)] < i) << 3
        )
        for u in range(count[_u(m)]):
            rq = _find(parent, p + step[_u(starts[_u(m), _u(u)])])
            if u == 0:  # p alone is the youngest: it joins, no bar, no image class
                rp = rq
                continue
            if rq == rp:
                continue
            if rank_c[_u(rp)] < rank_c[_u(rq)]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            c_dead[nc] = rank_c[_u(younger)]
            nc += 1
            a = fbest[_u(rp)]
            b = fbest[_u(rq)]
            if a < n and b < n:
                im_dead[ni] = a if a > b else b
                ni += 1
            parent[_u(younger)] = elder
            fbest[_u(elder)] = a if a < b else b
            rp = elder
        parent[_u(p)] = rp
        _sort_small(c_dead, nc)
        _sort_small(im_dead, ni)
        for k in range(ni):
            through[_u(flat_of[_u(order_f[_u(im_dead[k])])])] = flat_of[_u(order_c[_u(c_dead[k])])]
        i += 1
    # the essential classes: the oldest of f goes through the oldest of c
    through[_u(flat_of[_u(order_f[0])])] = flat_of[_u(order_c[0])]


def _image_sweep1(vf, vc, W, order_f, order_c, rank_f, parent, ybest, flat_of, through):
    """Induced matching of ``H1(f >= a) -> H1(c >= a)`` by duality.

    On the padded grid, as :func:`_image_sweep0`, with ``rank_f`` the inverse of
    ``order_f``; the pad is the outside (root 0, rank ``n``: in both complements
    from the start, the eldest), so every pixel takes the ring of its 8 neighbours
    and, of each run of ring neighbours already in, only the first (consecutive ones
    are 4-adjacent, so one component). Writes ``through[m]`` (flat pixels): for the
    hole of ``f`` that dies at pixel ``m`` (its minimum), the death pixel of the hole
    of ``c`` it is matched to, or -1.

    Notes
    -----
    The complements ``X = {f < a}`` (with the outside) contain ``Y = {c < a}``; the
    sweep goes by increasing value, ``X`` first within a pixel. The image of ``H~0(Y)
    -> H~0(X)`` has its births at ``Y``'s (the minimum of a hole of ``c``) and its
    deaths at merges in ``X`` (the saddle where a hole of ``f`` is born); merges at
    one pixel are paired longest to longest, as in :func:`_image_sweep0`. A
    component's root is its first pixel in ``X``, so the elder has the larger rank.
    """
    n = order_f.shape[0]
    starts, count = _RUNS8
    ring = np.array([-W, -W + 1, 1, W + 1, W, W - 1, -1, -W - 1], np.int32)
    x_dead = np.empty(4, np.int32)
    im_dead = np.empty(4, np.int32)
    ybest[0] = -1  # the outside is in Y from the start
    through[:] = -1
    i = 0  # Y entries: order_c read backwards
    j = 0  # X entries: order_f read backwards
    while i < n:
        take_x = False
        if j < n:
            px = order_f[_u(n - 1 - j)]
            py = order_c[_u(n - 1 - i)]
            take_x = vf[_u(px)] < vc[_u(py)] or (vf[_u(px)] == vc[_u(py)] and px >= py)
        if not take_x:
            root = _find(parent, order_c[_u(n - 1 - i)])
            if ybest[_u(root)] == n:
                ybest[_u(root)] = i
            i += 1
            continue
        r = n - 1 - j  # p's rank in f's order
        p = order_f[_u(r)]
        ybest[_u(p)] = n
        rp = p
        nx = 0
        ni = 0
        m = (
            np.int32(rank_f[_u(p - W)] > r)
            | np.int32(rank_f[_u(p - W + 1)] > r) << 1
            | np.int32(rank_f[_u(p + 1)] > r) << 2
            | np.int32(rank_f[_u(p + W + 1)] > r) << 3
            | np.int32(rank_f[_u(p + W)] > r) << 4
            | np.int32(rank_f[_u(p + W - 1)] > r) << 5
            | np.int32(rank_f[_u(p - 1)] > r) << 6
            | np.int32(rank_f[_u(p - W - 1)] > r) << 7
        )
        for u in range(count[_u(m)]):
            rq = _find(parent, p + ring[_u(starts[_u(m), _u(u)])])
            if u == 0:  # p alone is the youngest: it joins, no bar, no image class
                rp = rq
                continue
            if rq == rp:
                continue
            if rank_f[_u(rp)] > rank_f[_u(rq)]:
                elder = rp
                younger = rq
            else:
                elder = rq
                younger = rp
            x_dead[nx] = n - 1 - rank_f[_u(younger)]  # its birth in X
            nx += 1
            a = ybest[_u(rp)]
            b = ybest[_u(rq)]
            if a < n and b < n:
                im_dead[ni] = a if a > b else b
                ni += 1
            parent[_u(younger)] = elder
            ybest[_u(elder)] = a if a < b else b
            rp = elder
        parent[_u(p)] = rp
        # the pairing of _image_sweep0's last lines, indices from the orders' end (a
        # shared helper for the two made Betti matching's loss 2.2x slower, measured
        # with bench_betti.py on 2026-12-05: it stays written out twice)
        _sort_small(x_dead, nx)
        _sort_small(im_dead, ni)
        for k in range(ni):
            through[_u(flat_of[_u(order_f[_u(n - 1 - x_dead[k])])])] = flat_of[
                _u(order_c[_u(n - 1 - im_dead[k])])
            ]
        j += 1


def _one_patch_fast(S, K, j, want0, want1, work, gp, gv, pairs, counts, through):
    """Everything Betti matching needs for patch ``j``, in one call.

    ``S[0..2, j]`` are f, g and c = max(f, g) of the patch (already framed) and
    ``K[k, j]`` their sorted keys (:func:`topoviz.persistence._sorted_keys`): each
    gets its values, order and ranks on the padded grid
    (:func:`topoviz.persistence._ranks`, exact: it checks float32 collisions) and the
    padded-grid persistence sweeps of that module; the induced-matching sweeps then
    read the same grids.

    Writes ``pairs[k]`` (k = 0..5: f, g, c in dimension 0, then in dimension 1): the
    persistence pairs as flat (birth, death) pixels, dimension 0 ending with the
    essential class (death -1); ``counts[k]`` their number; ``through[k]`` (k =
    0..3: f -> c and g -> c in dimension 0, then in dimension 1) the induced
    matchings; and ``gp[k, d, j]``, ``gv[k, d, j]`` the sweeps' own output for image
    ``k`` in dimension ``d`` (grid positions and values, laid out as
    :func:`topoviz.persistence._diagrams_from_sweeps` reads them). ``work``:
    :func:`_fast_workspace`.
    """
    W = S.shape[3] + 2
    padidx, ranks, parent, edge, vals, orders, flat_of, best = work
    for k in range(3):
        _ranks(S[k, j], False, K[k, j], vals[k], orders[k], ranks[k], padidx)
        if want0:  # ends with the essential class
            m = _sweep0_grid(vals[k], W, orders[k], ranks[k], parent, gp[k, 0, j], gv[k, 0, j])
            for t in range(m):
                pairs[k, t, 0] = flat_of[_u(gp[k, 0, j, t, 0])]
                d = gp[k, 0, j, t, 1]
                pairs[k, t, 1] = -1 if d < 0 else flat_of[_u(d)]
            counts[k] = m
        if want1:
            m = _sweep1_grid(
                vals[k], W, orders[k], ranks[k], parent, edge, gp[k, 1, j], gv[k, 1, j]
            )
            for t in range(m):
                pairs[3 + k, t, 0] = flat_of[_u(gp[k, 1, j, t, 0])]
                pairs[3 + k, t, 1] = flat_of[_u(gp[k, 1, j, t, 1])]
            counts[3 + k] = m
    if want0:
        for k in range(2):  # f -> c, then g -> c
            _image_sweep0(
                vals[k],
                vals[2],
                W,
                orders[k],
                orders[2],
                ranks[2],
                parent,
                best,
                flat_of,
                through[k],
            )
    if want1:  # the rows of a dimension not wanted stay unwritten: nothing reads them
        for k in range(2):
            _image_sweep1(
                vals[k],
                vals[2],
                W,
                orders[k],
                orders[2],
                ranks[k],
                parent,
                best,
                flat_of,
                through[2 + k],
            )


def _fast_workspace(h, w):
    """:func:`topoviz.persistence._workspace` for an ``h x w`` image, with the
    values, order and ranks of three images (f, g, c: the induced sweeps read two at
    once), the flat index of each grid position and the image classes' births."""
    padidx, rank, parent, edge, vals, order = _workspace(h, w)
    ranks = np.empty((3, rank.shape[0]), np.int32)
    for k in range(3):
        ranks[k] = rank  # the pad keeps rank n
    vals3 = np.empty((3, vals.shape[0]), np.float64)
    orders = np.empty((3, order.shape[0]), np.int32)
    flat_of = np.full(rank.shape[0], -1, np.int64)
    for r in range(h):
        for c in range(w):
            flat_of[(r + 1) * (w + 2) + c + 1] = r * w + c
    best = np.empty(rank.shape[0], np.int32)
    return padidx, ranks, parent, edge, vals3, orders, flat_of, best


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
