"""The superlevel set f ≥ α as a still picture under its Betti numbers (the Filtration
page and the Lesson's filtration step).

A picture, not a plotly chart: a chart whose figure changes is rebuilt by the browser
on every move of α (bench/README, issue 13 round 5).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topoviz import figures
from topoviz.ui import cache


def show(
    where: Any,
    f: np.ndarray,
    alpha: float,
    frame: bool,
    side: int = 420,
    name: str = "f",
    note: str = "",
) -> None:
    """Draw ``f >= alpha`` coloured (:func:`topoviz.figures.superlevel_rgb`) into
    ``where`` (a column, a container or ``st``), drawn ``side`` pixels wide and shown
    at its column's width, under a heading
    with its β0 and β1 and over its colour key; ``name`` is what the heading calls
    ``f``, ``note`` follows the threshold."""
    rgb, b0, b1 = figures.superlevel_rgb(f, alpha, frame, cache.pixel_order_of(f))
    where.markdown(f"**{name} ≥ {alpha:.2f}{note}: {figures.betti_words(b0, b1)}**")
    # shown at most ``side`` wide, and no wider than its column: a fixed width spilled
    # out of a narrow column (the Lesson's, beside its text) under the chart next to it
    where.image(
        figures.sharp(rgb, side),
        width="stretch",
        caption=figures.superlevel_key(frame),
    )
