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
"""

from __future__ import annotations

import numpy as np

from topoviz.persistence import _HAVE_NUMBA, _descending_order, _find, _sweep0, _sweep1

if _HAVE_NUMBA:
    import numba
    from numba import prange
else:  # pragma: no cover - exercised only on broken installs
    prange = range

__all__: list[str] = []


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


def _image_sweep1(vf, vc, h, w, order_f, order_c, through):
    """Induced matching of ``H1(f >= a) -> H1(c >= a)`` by duality.

    Writes ``through[m]``: for the hole of ``f`` that dies at pixel ``m`` (its
    minimum), the death pixel of the hole of ``c`` it is matched to, or -1.

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
    through[:] = -1
    i = 0  # Y entries: order_c read backwards
    j = 0  # X entries: order_f read backwards
    while i < n:
        take_x = False
        if j < n:
            px = order_f[n - 1 - j]
            py = order_c[n - 1 - i]
            if vf[px] < vc[py] or (vf[px] == vc[py] and px >= py):
                take_x = True
        if take_x:
            p = order_f[n - 1 - j]
            parent[p] = p
            xbirth[p] = j
            ybest[p] = n
            rp = p
            r = p // w
            col = p - r * w
            nx = 0
            ni = 0
            for t in range(9):
                if t == 8:
                    if 0 < r < h - 1 and 0 < col < w - 1:
                        continue
                    q = outside
                else:
                    s = t if t < 4 else t + 1  # skip the centre of the 3 x 3 block
                    rr = r + s // 3 - 1
                    cc = col + s % 3 - 1
                    if rr < 0 or rr >= h or cc < 0 or cc >= w:
                        continue
                    q = rr * w + cc
                if parent[q] < 0:
                    continue
                rq = _find(parent, q)
                if rq == rp:
                    continue
                if xbirth[rp] < xbirth[rq]:
                    elder = rp
                    younger = rq
                else:
                    elder = rq
                    younger = rp
                if xbirth[younger] != j:
                    x_dead[nx] = xbirth[younger]
                    nx += 1
                a = ybest[rp]
                b = ybest[rq]
                if a < n and b < n:
                    im_dead[ni] = a if a > b else b
                    ni += 1
                parent[younger] = elder
                ybest[elder] = a if a < b else b
                rp = elder
            _sort_small(x_dead, nx)
            _sort_small(im_dead, ni)
            for k in range(ni):
                through[order_f[n - 1 - x_dead[k]]] = order_c[n - 1 - im_dead[k]]
            j += 1
        else:
            p = order_c[n - 1 - i]
            root = _find(parent, p)
            if ybest[root] == n:
                ybest[root] = i
            i += 1


def _one_patch(vf, vg, vc, h, w, want0, want1, pairs, counts, through):
    """Everything Betti matching needs for one (framed) patch, in one call.

    ``pairs[k]`` (k = 0..5: f, g, c in dimension 0, then in dimension 1) receive the
    persistence pairs as flat (birth, death) pixels, ``counts[k]`` their number;
    ``through[k]`` (k = 0..3: f->c and g->c in dimension 0, then in dimension 1) the
    induced matchings.
    """
    of = _descending_order(vf)
    og = _descending_order(vg)
    oc = _descending_order(vc)
    if want0:
        for k, v, o in ((0, vf, of), (1, vg, og), (2, vc, oc)):
            m = _sweep0(v, h, w, o, pairs[k])
            pairs[k, m, 0] = o[0]  # the essential class
            pairs[k, m, 1] = -1
            counts[k] = m + 1
        _image_sweep0(vf, vc, h, w, of, oc, through[0])
        _image_sweep0(vg, vc, h, w, og, oc, through[1])
    if want1:
        for k, v, o in ((3, vf, of), (4, vg, og), (5, vc, oc)):
            counts[k] = _sweep1(v, h, w, o, pairs[k])
        _image_sweep1(vf, vc, h, w, of, oc, through[2])
        _image_sweep1(vg, vc, h, w, og, oc, through[3])


def _batch(F, G, want0, want1):
    """:func:`_one_patch` over a stack of equally sized framed patches, in parallel."""
    b, h, w = F.shape
    n = h * w
    pairs = np.empty((b, 6, n, 2), np.int64)
    counts = np.zeros((b, 6), np.int64)
    through = np.full((b, 4, n), -1, np.int64)
    for j in prange(b):
        vf = F[j].ravel()
        vg = G[j].ravel()
        vc = np.maximum(vf, vg)
        _one_patch(vf, vg, vc, h, w, want0, want1, pairs[j], counts[j], through[j])
    return pairs, counts, through


if _HAVE_NUMBA:
    _jit = numba.njit(cache=True, nogil=True)
    _sort_small = _jit(_sort_small)
    _image_sweep0 = _jit(_image_sweep0)
    _image_sweep1 = _jit(_image_sweep1)
    _one_patch = _jit(_one_patch)
    _batch_serial = _jit(_batch)  # one patch: no thread start-up
    _batch = numba.njit(cache=True, nogil=True, parallel=True)(_batch)
else:  # pragma: no cover
    _batch_serial = _batch
