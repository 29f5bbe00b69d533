"""One cache stamp for the compiled modules (topoviz.jitcache): an edit of one file
recompiles the cached functions of the other, which numba alone does not do."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("numba")

from topoviz import jitcache  # noqa: E402

CALLEE = """
import numba

@numba.njit(cache=True)
def g():
    return {value}
"""
CALLER = """
import numba
from callee import g

@numba.njit(cache=True)
def f():
    return g()
"""
RUN = """
import sys
sys.path.insert(0, {dir!r})
if {shared}:
    from topoviz import jitcache
    assert jitcache.install(({dir!r} + "/callee.py", {dir!r} + "/caller.py"))
from caller import f
print(f())
"""


def _run(tmp_path: Path, shared: bool) -> int:
    code = RUN.format(dir=str(tmp_path), shared=shared)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    return int(out.stdout.split()[-1])


@pytest.mark.parametrize("shared", [False, True])
def test_an_edit_of_the_callee_reaches_the_cached_caller_only_with_the_shared_stamp(
    tmp_path, shared
):
    (tmp_path / "callee.py").write_text(CALLEE.format(value=1))
    (tmp_path / "caller.py").write_text(CALLER)
    assert _run(tmp_path, shared) == 1  # compiled and cached
    (tmp_path / "callee.py").write_text(CALLEE.format(value=2))
    # numba alone keeps the caller's cached build, with the old callee inlined
    assert _run(tmp_path, shared) == (2 if shared else 1)


def test_the_stamp_covers_every_file_and_its_name(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    version = iter(range(1, 100))

    def write(path, text):  # a new mtime per write, as an editor gives (the stamp is
        path.write_text(text)  # read again when a file's mtime or size changes)
        t = next(version)
        os.utime(path, ns=(t * 10**9, t * 10**9))

    write(a, "x = 1\n")
    write(b, "y = 2\n")
    before = jitcache.source_stamp((a, b))
    assert jitcache.source_stamp((a, b)) == before
    write(b, "y = 3\n")
    assert jitcache.source_stamp((a, b)) != before
    write(b, "y = 2\n")
    assert jitcache.source_stamp((a, b)) == before
    # the same text moved from one file to the other is another stamp
    write(a, "")
    write(b, "x = 1\ny = 2\n")
    assert jitcache.source_stamp((a, b)) != before


def test_topovizs_compiled_functions_share_one_stamp():
    from topoviz import induced, persistence

    stamp = jitcache.source_stamp()
    for dispatcher in (persistence._sweep0_grid, persistence._batch_grid, induced._batch_fast):
        impl = dispatcher._cache._impl
        assert type(impl._locator).__name__.startswith("Topoviz")
        assert dispatcher._cache._cache_file._source_stamp == stamp


def test_install_is_idempotent_and_leaves_other_files_to_numba(tmp_path):
    from numba.core import caching

    n = len(caching.CacheImpl._locator_classes)
    assert jitcache.install()
    assert len(caching.CacheImpl._locator_classes) == n
    other = tmp_path / "other.py"
    other.write_text(textwrap.dedent("def h():\n    return 0\n"))
    ours = [c for c in caching.CacheImpl._locator_classes if c.__name__.startswith("Topoviz")]
    assert ours
    namespace: dict = {}
    exec(compile(other.read_text(), str(other), "exec"), namespace)
    for cls in ours:
        assert cls.from_function(namespace["h"], str(other)) is None
