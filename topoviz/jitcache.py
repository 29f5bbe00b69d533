"""numba's on-disk cache for topoviz's compiled modules, stamped by all their sources.

numba names a cached function by its file and stamps the entry with that file's
contents: an edit of ``persistence.py`` recompiles ``persistence.py``'s functions,
but not ``induced.py``'s, although those call (and inline) ``_sweep0_grid``,
``_ranks`` and ``_find`` from ``persistence.py``. Betti matching then ran the old
sweeps from the cache; a session saw its exactness test pass on a deliberately
broken pairing that way. numba documents this: a change in another file that a
cached function depends on is not detected.

:func:`install` puts a locator in front of numba's own, for the files in
:data:`COMPILED` only: the same cache directories as numba's (``__pycache__``
beside the module, or ``NUMBA_CACHE_DIR``, or the user-wide one), but one stamp, a
hash of every file in :data:`COMPILED`. Changing any of them recompiles all of
them; other libraries' functions are untouched. Where numba's internals differ
from those this was written for (0.61–0.68), :func:`install` does nothing and the
per-file stamps apply, as before.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
COMPILED = (_HERE / "persistence.py", _HERE / "induced.py")


def source_stamp(paths=COMPILED) -> bytes:
    """SHA-256 of the files in ``paths``, in order (each prefixed by its name, so
    moving code from one file to the other changes it too). Read once per version
    of the files: every compiled function asks for it when its module is imported."""
    stats = tuple((str(p), os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths)
    return _stamp_of(stats)


@functools.lru_cache(maxsize=8)
def _stamp_of(stats: tuple[tuple[str, int, int], ...]) -> bytes:
    h = hashlib.sha256()
    for p, _, _ in stats:
        h.update(Path(p).name.encode() + b"\0")
        h.update(Path(p).read_bytes())
    return h.digest()


def _shared_stamp_locator(base: type, paths: tuple[Path, ...]) -> type:
    """A subclass of numba's locator ``base`` that serves only functions defined in
    ``paths`` and stamps them all with :func:`source_stamp` of ``paths``."""

    class SharedStampLocator(base):
        def get_source_stamp(self):
            return source_stamp(paths)

        @classmethod
        def from_function(cls, py_func, py_file):
            try:
                if Path(py_file).resolve() not in paths:
                    return None
            except OSError:
                return None
            return super().from_function(py_func, py_file)

    SharedStampLocator.__name__ = SharedStampLocator.__qualname__ = "Topoviz" + base.__name__
    return SharedStampLocator


def install(paths=COMPILED) -> bool:
    """Register the shared-stamp locators with numba (once; before the compiled
    modules build their dispatchers). Returns whether they are registered."""
    try:
        from numba.core import caching

        impl = caching.CacheImpl
        bases = [
            caching.UserProvidedCacheLocator,
            caching.InTreeCacheLocator,
            caching.UserWideCacheLocator,
        ]
        classes = impl._locator_classes
    except (ImportError, AttributeError):  # pragma: no cover - another numba layout
        return False
    paths = tuple(Path(p).resolve() for p in paths)
    if any(getattr(c, "_topoviz_paths", None) == paths for c in classes):
        return True
    ours = []
    for base in bases:
        cls = _shared_stamp_locator(base, paths)
        cls._topoviz_paths = paths
        ours.append(cls)
    # numba tries its locators in order and takes the first that serves the
    # function: ours first, in numba's own order of preference
    classes[0:0] = ours
    return True
