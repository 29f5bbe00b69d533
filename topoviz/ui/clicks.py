"""Clickable diagram charts that a click does not redraw.

Streamlit names a chart by its figure: a figure that changes in any way is a new
chart, which the browser builds from nothing, twice (once hidden, once at the
column's width), and which forgets the point a click selected. Drawing the selected
dot into every chart therefore rebuilt three diagram charts on each click, about half
a second of the browser's time on a 2-core machine without a graphics card.

So a chart that was clicked keeps its figure: plotly marks the clicked dot itself
(the trace's ``selected`` style), and the next run sends the very same figure. Only
the charts that must change are drawn anew:

- a chart that shows an older click (the dot was since chosen elsewhere) is cleared;
- when no chart holds the dot (it came from the list, a link or another page), every
  chart draws it into its figure as a selected point, in the same style.

:func:`marks` is the rule, pure; :func:`plot` keeps the state between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import plotly.graph_objects as go
import streamlit as st

from topoviz.ui.state import dot_from_selection

Dot = tuple[int, int]
Build = Callable[[Dot | None], go.Figure]

#: plotly takes two clicks within ``doubleClickDelay`` (300 ms by default) for a
#: double click, which clears the selection: a second dot clicked soon after the
#: first was lost. A double click quicker than 80 ms still resets the zoom, as the
#: mode bar's home button does.
_CONFIG = {"doubleClickDelay": 80}

#: Per chart key: the mark drawn into its figure, a revision, and the figure sent.
_STATE = "_click_charts"


def marks(
    dot: Dot | None, clicked: dict[str, Dot | None], drawn: dict[str, Dot | None]
) -> tuple[dict[str, Dot | None], set[str]]:
    """Which dot each chart draws into its figure, and which charts must be cleared.

    ``clicked``: the dot each chart shows from a click in the browser (None: none).
    ``drawn``: the mark each chart's current figure holds. A chart whose click shows
    ``dot`` keeps its figure as it is (its old mark included: the click replaced it on
    screen). The others draw no mark if such a chart exists, else ``dot``; a chart
    among them that still shows another click must be sent a new figure, even one
    equal to the old (returned in the set).

    >>> marks((1, 4), {"a": (1, 4), "b": (1, 2)}, {"a": None, "b": None})
    ({'a': None, 'b': None}, {'b'})
    >>> marks((1, 4), {"a": None, "b": None}, {"a": None, "b": None})  # from the list
    ({'a': (1, 4), 'b': (1, 4)}, set())
    """
    holders = {k for k, c in clicked.items() if dot is not None and c == dot}
    new: dict[str, Dot | None] = {}
    stale: set[str] = set()
    for k, c in clicked.items():
        if k in holders:
            new[k] = drawn.get(k)
            continue
        new[k] = None if holders else dot
        if c is not None and new[k] == drawn.get(k):
            stale.add(k)
    return new, stale


def _same(a: tuple, b: tuple | None) -> bool:
    """The same inputs: the same objects (cached diagrams, matchings), or equal values."""
    return (
        b is not None
        and len(a) == len(b)
        and all(x is y or _equal(x, y) for x, y in zip(a, b, strict=True))
    )


def _equal(x: object, y: object) -> bool:
    plain = (int, float, str, bool, tuple, type(None))
    return isinstance(x, plain) and isinstance(y, plain) and x == y


def plot(dot: Dot | None, charts: Iterable[tuple[object, str, Build, tuple]]) -> None:
    """Draw clickable charts in place of ``st.plotly_chart``: each ``(where, key,
    build, inputs)`` puts ``build(mark)`` into ``where`` (a column, a container or
    ``st``), where ``build(mark)`` gives the figure with ``mark`` drawn as the selected
    dot, ``figures.diagram_plot(..., selected=mark)``, and ``inputs`` are what else the
    figure depends on (the same objects or equal values: the figure of the last run
    is sent again, not built again: plotly takes about 0.1 s to build one).
    """
    charts = list(charts)
    state = st.session_state.setdefault(_STATE, {})
    clicked = {k: dot_from_selection(st.session_state.get(k)) for _, k, _, _ in charts}
    drawn = {k: state.get(k, {}).get("mark") for _, k, _, _ in charts}
    new, stale = marks(dot, clicked, drawn)
    for where, key, build, inputs in charts:
        old = state.get(key, {"mark": None, "rev": 0, "inputs": None, "fig": None})
        rev = old["rev"] + (key in stale)
        same = _same(inputs, old["inputs"])
        if same and clicked[key] is not None and clicked[key] == dot:
            pass  # clicked: the browser shows the dot; the figure must not change
        elif clicked[key] == dot and dot is not None:
            # the figure changes for another reason (ε, the view, the image): the
            # browser draws it anew and forgets the click, so draw the dot into it
            new[key] = dot
        if same and new[key] == old["mark"] and rev == old["rev"]:
            fig = old["fig"]
        else:
            fig = build(new[key]).update_layout(meta={"rev": rev})
        state[key] = {"mark": new[key], "rev": rev, "inputs": inputs, "fig": fig}
        where.plotly_chart(fig, key=key, on_select="rerun", selection_mode="points", config=_CONFIG)
