"""Which diagram chart a click leaves alone, and which it sends anew (topoviz.ui.clicks).

A chart whose figure changes is rebuilt by the browser and forgets its click; one
whose figure stays shows the click itself. The rule must keep the clicked chart's
figure, clear stale clicks elsewhere, and mark the dot everywhere when no chart
holds it.
"""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from topoviz.ui import state as S
from topoviz.ui.clicks import marks

KEYS = ("paper", "optimal", "betti")
dots = st.none() | st.tuples(st.integers(0, 1), st.integers(0, 3))


def test_a_click_keeps_its_chart_and_clears_an_older_click():
    # paper was clicked on (1, 2) before; now optimal is clicked on (1, 4)
    new, stale = marks(
        (1, 4),
        {"paper": (1, 2), "optimal": (1, 4), "betti": None},
        {"paper": None, "optimal": None, "betti": None},
    )
    assert new == {"paper": None, "optimal": None, "betti": None}
    assert stale == {"paper"}  # same figure as before: it must be sent anew


def test_a_dot_from_the_list_is_drawn_into_every_chart():
    new, stale = marks((0, 1), dict.fromkeys(KEYS), dict.fromkeys(KEYS))
    assert new == dict.fromkeys(KEYS, (0, 1)) and stale == set()


def test_the_clicked_chart_keeps_an_old_mark_that_its_click_replaced():
    # the list put (1, 3) into every figure; then betti was clicked on (1, 0)
    drawn = dict.fromkeys(KEYS, (1, 3))
    new, stale = marks((1, 0), {"paper": None, "optimal": None, "betti": (1, 0)}, drawn)
    assert new == {"paper": None, "optimal": None, "betti": (1, 3)}
    assert stale == set()  # paper and optimal change figure anyway


def test_no_dot_clears_every_mark_and_click():
    new, stale = marks(None, {"paper": (1, 2), "optimal": None, "betti": None}, {
        "paper": None, "optimal": (1, 2), "betti": None})  # fmt: skip
    assert new == dict.fromkeys(KEYS) and stale == {"paper"}


@given(
    dot=dots,
    clicked=st.fixed_dictionaries({k: dots for k in KEYS}),
    drawn=st.fixed_dictionaries({k: dots for k in KEYS}),
)
def test_every_chart_ends_up_showing_the_dot_or_nothing(dot, clicked, drawn):
    """What each chart shows after the run: its click if its figure stayed the same
    (and it was not cleared), else the mark in its new figure. Exactly the charts
    that should show the dot show it, and no chart shows another dot."""
    new, stale = marks(dot, clicked, drawn)
    shows = {}
    for k in KEYS:
        kept = new[k] == drawn[k] and k not in stale
        shows[k] = clicked[k] if kept and clicked[k] is not None else new[k]
    assert all(s in (None, dot) for s in shows.values()), shows
    if dot is not None:
        assert any(s == dot for s in shows.values())
        holders = [k for k in KEYS if clicked[k] == dot]
        if holders:  # the clicked chart keeps its figure: the browser draws nothing anew
            assert all(new[k] == drawn[k] and k not in stale for k in holders)


def test_a_replaced_dot_selectbox_cannot_change_the_dot(monkeypatch):
    """A click moves the dot selectbox to a new key; the browser may still send the
    old one, whose callback Streamlit calls: it must leave the clicked dot alone."""
    state = {S.DOT: "", "_w_dot_0": ""}
    monkeypatch.setattr(S, "st", SimpleNamespace(session_state=state))
    S.set_dot((1, 7))  # a click: the selectbox of generation 1 replaces generation 0's
    assert state[S.DOT] == "1:7" and state[S.DOT_SET] == 1
    S.dot_picked(0)()  # generation 0's stale value ""
    assert state[S.DOT] == "1:7"
    state["_w_dot_1"] = "1:4"  # the user picks a dot in the current selectbox
    S.dot_picked(1)()
    assert state[S.DOT] == "1:4"
