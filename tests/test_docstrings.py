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
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_in_docstrings_run(name):
    module = importlib.import_module(f"topoviz.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
