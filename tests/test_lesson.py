"""The Lesson: eight steps, Next / Back, each step's state set, one link per step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from topoviz import checkpoints
from topoviz.inference import predict
from topoviz.lesson import BASELINE, LIVE, STEPS, TWIN, step_index
from topoviz.ui import training as T

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages/8_lesson.py")


def test_steps_name_shipped_samples_and_checkpoints():
    samples = {
        i["name"] for i in json.loads((ROOT / "sample_data/index.json").read_text(encoding="utf-8"))
    }
    names = {
        e["name"]
        for e in json.loads((ROOT / "models/manifest.json").read_text(encoding="utf-8"))[
            "checkpoints"
        ]
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
    at.session_state["frame"] = False  # and the frame its counts are quoted with
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    for i, step in enumerate(STEPS):
        assert at.title[0].value == f"{i + 1}. {step.title}"
        assert at.query_params["step"] == str(i + 1)
        assert at.session_state["sample"] == step.state["sample"]
        assert at.session_state["checkpoint"] == step.state["checkpoint"]
        assert at.session_state["frame"] is True
        if step.state["dot"] == "costliest":
            assert at.session_state["dot"].startswith("1:")
        # the address bar holds this step's dot, not the one before's
        assert at.query_params.get("dot", "") == at.session_state["dot"]
        if i < len(STEPS) - 1:
            next(b for b in at.button if "Next" in b.label).click().run()
            assert not at.exception, (step.view, [e.value for e in at.exception])
    next(b for b in at.button if "Back" in b.label).click().run()
    assert at.title[0].value.startswith(f"{len(STEPS) - 1}.")
    # a presenter's clicker sends PageDown / PageUp: the keys of Next and Back
    keys = {b.label: b.proto.shortcut for b in at.button if b.label in ("◀ Back", "Next ▶")}
    assert keys == {"◀ Back": "pageup", "Next ▶": "pagedown"}


def test_a_link_opens_its_step():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["step"] = "5"
    at.run()
    assert not at.exception
    assert at.title[0].value == f"5. {STEPS[4].title}"


def test_the_matching_step_shows_the_loss_of_the_holes_it_draws():
    """Step 5 draws the holes' diagram: its L_topo is the whole-image loss on dimension
    1 (what the live fine-tune of step 7 trains on), not the sum with components."""
    import pytest
    import torch

    from topoviz.loss import topo_loss

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["step"] = str(1 + [s.view for s in STEPS].index("matching"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sel = at.session_state["_selection"]
    shown = next(m for m in at.metric if m.label.startswith("L_topo")).value
    whole = topo_loss(torch.as_tensor(sel.f, dtype=torch.float64), sel.g).item()
    assert float(shown) == pytest.approx(whole, abs=5e-4)


def _to_step(at: AppTest, view: str) -> AppTest:
    while STEPS[int(at.query_params["step"]) - 1].view != view:
        next(b for b in at.button if "Next" in b.label).click().run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_result_step_says_when_the_live_fine_tune_was_skipped():
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["step"] = str(len(STEPS))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "it was skipped, or the page was reloaded" in i.value and TWIN in i.value for i in at.info
    )
    table = at.dataframe[0].value
    assert list(table["model"]) == [BASELINE, TWIN, "ground truth"]
    # the ground truth has Betti numbers only: its other cells say so ("—", not None)
    assert list(table.iloc[2]) == ["ground truth", "—", table.iloc[2]["β0, β1"], "—", "—", "—"]


def test_the_fine_tune_step_trains_live_and_the_result_shows_that_run(monkeypatch, downloads):
    monkeypatch.setitem(LIVE, "steps", 3)  # the page reads the same dict
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params["step"] = "1"
    at.run()
    _to_step(at, "finetune")
    assert "_lesson_run" not in at.session_state
    at.button(key="lesson_start_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    for _ in range(10):
        run = at.session_state["_lesson_run"]
        if not run.running:
            break
        at.run()  # one chunk per run (AppTest does not fire run_every)
    assert run.status == "done" and run.done_steps == 3 and run.lam == LIVE["lam"]
    assert run.start == BASELINE and run.motion.step == 3
    chart = next(c for c in at.get("plotly_chart") if "lesson_motion" in (c.proto.id or ""))
    assert "after step 3" in chart.proto.spec
    assert any("3 / 3" in p.proto.text for p in at.get("progress"))
    _to_step(at, "result")
    assert any("live fine-tune on step 7: 3 steps" in c.value for c in at.caption)
    table = at.dataframe[0].value
    assert list(table["model"]) == [
        "before",
        "after 3 steps, with L_topo",
        "after 3 steps, BCE alone (λ = 0)",  # the control: what L_topo itself did
        "ground truth",
    ]
    before, after = T.compare(run)
    assert table["Betti error"][1] == f"{after['betti_error']:.2f}"
    control = T.control_of(run)  # the same crops and steps: the same numbers again
    assert table["false merges"][2] == f"{control['merges']:.0f}"
    verdict = T.control_verdict(before["merges"], after["merges"], control["merges"])
    assert any(m.value == verdict for m in at.markdown)
    at.run()  # trained once: a rerun reuses it
    assert at.session_state["_lesson_control"][0] is run
    assert not any("it was skipped" in i.value for i in at.info)
    # the sidebar shows the net the run started from, not the shipped twin
    assert at.session_state["checkpoint"] == BASELINE
    # the fine-tuned net downloads, as on Fine-tune live, and loads with its start named
    (name,) = [n for n in downloads if n.endswith("_finetuned_3steps.pt")]
    model, meta = checkpoints.load(downloads[name])
    assert meta["fine_tuned_from"] == BASELINE and meta["steps"] == {"bce": 0, "topo": 3}
    np.testing.assert_allclose(predict(model, run.image), run.f, atol=1e-6)


def test_a_run_cut_short_by_next_is_said_on_the_result_step(monkeypatch):
    """Next while step 7 trained stopped the run after a step or two, and step 8 showed
    its flat numbers as the result."""
    monkeypatch.setitem(LIVE, "steps", 200)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.query_params["step"] = "1"
    at.run()
    _to_step(at, "finetune")
    at.button(key="lesson_start_btn").click().run()
    _to_step(at, "result")
    run = at.session_state["_lesson_run"]
    assert run.status == "stopped" and run.done_steps < 200
    said = [w.value for w in at.warning]
    assert any(f"stopped after {run.done_steps} of its 200 steps" in w for w in said), said


def test_leaving_the_lesson_offers_the_view_the_user_had_before():
    """A teacher explored cracks_0 with the image as f and α 0.3, opened the Lesson,
    then Landscape: every page showed the lesson's sample and twin, the view lost."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    app.sidebar.selectbox(key="_w_sample").set_value("cracks_0")
    app.sidebar.radio(key="_w_likelihood").set_value("image").run()
    app.session_state["alpha"] = 0.3
    app.switch_page("pages/8_lesson.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state["sample"] == "membranes_0"  # the lesson's
    assert not any(b.key == "lesson_back" for b in app.sidebar.button)  # not in the Lesson
    app.switch_page("pages/1_landscape.py").run()
    assert app.session_state["sample"] == "membranes_0"  # kept until the user chooses
    back = next(b for b in app.sidebar.button if b.key == "lesson_back")
    back.click().run()
    assert not app.exception, [e.value for e in app.exception]
    got = {k: app.session_state[k] for k in ("sample", "likelihood", "alpha")}
    assert got == {"sample": "cracks_0", "likelihood": "image", "alpha": 0.3}
    assert not any(b.key == "lesson_back" for b in app.sidebar.button)
    # back in the Lesson, it sets its step again; "Keep this one" forgets the old view
    app.switch_page("pages/8_lesson.py").run()
    assert app.session_state["sample"] == "membranes_0"
    app.switch_page("pages/2_filtration.py").run()
    next(b for b in app.sidebar.button if b.key == "lesson_keep").click().run()
    assert app.session_state["sample"] == "membranes_0"
    assert not any(b.key == "lesson_back" for b in app.sidebar.button)
    # kept, then a view of one's own, then the Lesson and its Next: Back gives that view
    # (it gave the Lesson's: the step was applied before the view was kept)
    app.sidebar.selectbox(key="_w_sample").set_value("vessels_0").run()
    app.switch_page("pages/8_lesson.py").run()
    next(b for b in app.button if b.label == "Next ▶").click().run()
    app.switch_page("pages/1_landscape.py").run()
    next(b for b in app.sidebar.button if b.key == "lesson_back").click().run()
    assert app.session_state["sample"] == "vessels_0"
    # a user who picks another sample after the Lesson has moved on: no offer left
    app.switch_page("pages/8_lesson.py").run()
    app.switch_page("pages/1_landscape.py").run()
    assert any(b.key == "lesson_back" for b in app.sidebar.button)
    app.sidebar.selectbox(key="_w_sample").set_value("roads_0").run()
    app.run()
    assert not any(b.key == "lesson_back" for b in app.sidebar.button)
    assert app.session_state["sample"] == "roads_0"
