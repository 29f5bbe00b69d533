"""The Examples blocks in the library's docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "pushes",
    "calibration",
    "stats",
    "persistence",
    "matching",
    "loss",
    "metrics",
    "imageio",
    "filtration",
    "provenance",
    "lesson",
    "motion",
    "checkpoints",
    "figures",
    "ui.clicks",
    "ui.compare",
    "ui.training",
    "ui.words",
    "data",
    "__main__",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_in_docstrings_run(name):
    module = importlib.import_module(f"topoviz.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0


def test_the_library_example_in_the_readme_runs_and_says_true():
    """README.md's "The library" block runs as written, and its comments hold: the
    whole-image topo_loss is the matching's L_topo over holes alone."""
    import re
    from pathlib import Path

    import pytest

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The library\s+```python\n(.*?)```", text, re.S).group(1)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)  # noqa: S102 - our own README
    m, prob, g, topo_loss = scope["m"], scope["prob"], scope["g"], scope["topo_loss"]
    assert topo_loss(prob, g).item() == pytest.approx(m.restricted([1]).loss)
    assert m.loss == pytest.approx(m.restricted([0]).loss + m.restricted([1]).loss)
    assert prob.grad is not None and int((prob.grad != 0).sum()) > 0
