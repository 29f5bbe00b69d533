"""The Lesson: eight steps, Next / Back, each step's state set, one link per step."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from topoviz.lesson import STEPS, step_index

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages/8_lesson.py")


def test_steps_name_shipped_samples_and_checkpoints():
    samples = {i["name"] for i in json.loads((ROOT / "sample_data/index.json").read_text())}
    names = {
        e["name"] for e in json.loads((ROOT / "models/manifest.json").read_text())["checkpoints"]
    }
    assert 6 <= len(STEPS) <= 10
    views = [s.view for s in STEPS]
    assert views[0] == "problem" and views[-1] == "result" and len(set(views)) == len(views)
    for s in STEPS:
        assert s.state["sample"] in samples and s.state["checkpoint"] in names
        assert 0 <= s.state["alpha"] <= 1


def test_step_index_clamps():
    assert [step_index(v) for v in ("1", "8", "0", "-3", "40", "", None)] == [0, 7, 0, 0, 7, 0, 0]


def test_next_and_back_walk_every_step_with_its_state():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["sample"] = "vessels_0"  # the lesson sets its own sample
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for i, step in enumerate(STEPS):
        assert at.title[0].value == f"{i + 1}. {step.title}"
        assert at.query_params["step"] == str(i + 1)
        assert at.session_state["sample"] == step.state["sample"]
        assert at.session_state["checkpoint"] == step.state["checkpoint"]
        if step.state["dot"] == "costliest":
            assert at.session_state["dot"].startswith("1:")
        if i < len(STEPS) - 1:
            next(b for b in at.button if "Next" in b.label).click().run()
            assert not at.exception, (step.view, [e.value for e in at.exception])
    next(b for b in at.button if "Back" in b.label).click().run()
    assert at.title[0].value.startswith(f"{len(STEPS) - 1}.")


def test_a_link_opens_its_step():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["step"] = "5"
    at.run()
    assert not at.exception
    assert at.title[0].value == f"5. {STEPS[4].title}"
