"""The Experiment pages (fine-tune live, λ sweep) driven by AppTest, and their run state.

AppTest runs fragments as part of every full run, so each ``at.run()`` advances a
run by one chunk (``run_every`` timers do not fire in AppTest: we call ``run``).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from topoviz import nets
from topoviz.ui import cache
from topoviz.ui import training as T

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
FINETUNE = "pages/5_finetune.py"
LAMBDA = "pages/6_lambda.py"


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _until_done(at: AppTest, key: str, runs: int = 30) -> object:
    for _ in range(runs):
        state = at.session_state[key]
        if not state.running:
            return state
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    raise AssertionError(f"{key} still running after {runs} runs")


def test_finetune_runs_and_compares_before_and_after():
    at = _page(FINETUNE)
    assert at.title[0].value == "Fine-tune live" and not at.error
    assert not at.button(key="ft_start_btn").disabled
    assert T.RUN not in at.session_state
    # before a run: the loss curves' empty axes (the browser loads its chart code then)
    empty = next(c for c in at.get("plotly_chart") if "ft_curves" in (c.proto.id or ""))
    traces = json.loads(empty.proto.spec)["data"]
    assert [t["name"] for t in traces] == ["BCE", "λ·L_topo", "total"]
    assert all(t["x"] == [] == t["y"] for t in traces)
    at.slider(key="_w_ft_steps").set_value(3)
    at.slider(key="_w_ft_lam").set_value(0.1).run()
    at.button(key="ft_start_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = _until_done(at, T.RUN)
    assert run.status == "done" and [r.step for r in run.reports] == [1, 2, 3]
    assert any(r.topo > 0 for r in run.reports)  # λ > 0: L_topo was computed
    assert run.steps_per_s > 0
    assert any("Before and after 3 steps" in s.value for s in at.subheader)
    labels = {m.label for m in at.metric}
    assert {"Steps/s", "L_topo, whole image", "Betti error"} <= labels
    compare = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert {"before", "after", "change"} <= set(compare.columns) and len(compare) == 14
    assert {"False merges", "False splits"} <= set(compare["measure"])
    assert {"False merges", "False splits"} <= labels
    # a count that did not move reads "no change", not a red "+0"
    shown = {m.label: m for m in at.metric}
    assert "Pinholes" in shown  # the cost of a repair, beside merges and splits
    for label, key in (
        ("False merges", "merges"),
        ("False splits", "splits"),
        ("Pinholes", "pinholes"),
    ):
        moved = round(run.after[key] - run.before[key])
        delta = shown[label].proto.delta
        assert delta == ("no change" if moved == 0 else f"{moved:+d}"), (label, delta)
    # the diagram of the costliest hole's 65² patch moved with the run, one frame a chunk
    assert run.window[1] - run.window[0] == 65 == run.window[3] - run.window[2]
    assert run.motion.step == 3 and run.motion.trails.steps[0] == 0
    assert list(run.motion.trails.steps) == sorted(set(run.motion.trails.steps))
    chart = next(c for c in at.get("plotly_chart") if "ft_motion" in (c.proto.id or ""))
    assert "after step 3" in chart.proto.spec


def test_fig7_thumbnails_show_the_patch_around_the_costliest_hole(media):
    """Whole, a seventh of the page wide, the likelihood's change at a one-pixel gap
    could not be seen: the thumbnails show the run's patch unless asked otherwise."""
    import io

    from PIL import Image

    def sizes() -> list[tuple[int, int]]:
        return [Image.open(io.BytesIO(data)).size for _, data in media.images]

    at = _page(FINETUNE)
    at.slider(key="_w_ft_steps").set_value(4)
    at.selectbox(key="_w_ft_preview_every").set_value(1)
    at.slider(key="_w_ft_lam").set_value(0.1).run()
    at.button(key="ft_start_btn").click().run()
    run = _until_done(at, T.RUN)
    assert len(run.snapshots) > 1
    media.images.clear()
    at.run()
    h, w = run.f0.shape
    shown = sizes()
    assert shown.count((65, 65)) >= 4 and (w, h) in shown  # thumbnails; before / after
    media.images.clear()
    at.radio(key="ft_fig7_whole").set_value(True).run()
    shown = sizes()
    assert (65, 65) not in shown and shown.count((w, h)) >= 4 + 2


def test_stop_keeps_the_steps_and_sessions_do_not_share_runs():
    one = _page(FINETUNE)
    one.slider(key="_w_ft_steps").set_value(300)
    one.slider(key="_w_ft_lam").set_value(0.0).run()
    one.button(key="ft_start_btn").click().run()
    one.run()  # the click's own script run only draws the run (live_chunk)
    run = one.session_state[T.RUN]
    assert run.running and run.done_steps >= 1

    other = _page(FINETUNE)  # a second browser session
    assert T.RUN not in other.session_state
    assert not other.button(key="ft_start_btn").disabled

    one.button(key="ft_stop_btn").click().run()
    assert not one.exception, [e.value for e in one.exception]
    run = one.session_state[T.RUN]
    assert run.status == "stopped" and 1 <= run.done_steps < 300
    assert len(run.reports) == run.done_steps and run.f is not None
    assert any("(stopped)" in s.value for s in one.subheader)
    one.run()  # nothing more happens after a stop
    assert one.session_state[T.RUN].done_steps == run.done_steps
    one.button(key="ft_reset_btn").click().run()
    assert T.RUN not in one.session_state
    assert T.RUN not in other.session_state


def test_a_new_run_replaces_the_old_result_before_it_trains():
    """The Start click's script run draws the new run and ends at once: a first
    chunk there had kept the last run's before / after on screen, faded, for 2 s."""
    at = _page(FINETUNE)
    at.slider(key="_w_ft_steps").set_value(2).run()
    at.button(key="ft_start_btn").click().run()
    first = _until_done(at, T.RUN)
    assert any("Before and after 2 steps" in s.value for s in at.subheader)
    at.button(key="ft_start_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = at.session_state[T.RUN]
    assert run is not first and run.running and run.done_steps == 0
    assert not any("Before and after" in s.value for s in at.subheader)
    assert any("step 0 / 2" in p.proto.text for p in at.get("progress"))
    at.run()  # the fragment's next call trains
    assert at.session_state[T.RUN].done_steps >= 1


def test_lambda_sweep_gives_one_point_per_lambda():
    at = _page(LAMBDA)
    assert at.title[0].value == "λ experiments"
    assert any("one-image demo" in c.value for c in at.caption)
    at.multiselect(key="_w_sw_lams").set_value([0.0, 0.1])
    at.slider(key="_w_sw_steps").set_value(2).run()
    at.button(key="sw_start_btn").click().run()
    sweep = _until_done(at, T.SWEEP)
    assert sweep.status == "done"
    assert [r["lam"] for r in sweep.results] == [0.0, 0.1]
    assert all(r["steps"] == 2 for r in sweep.results)
    at.run()
    table = next(d.value for d in at.dataframe if "Betti error" in d.value.columns)
    assert list(table["λ"]) == ["start", "0", "0.1"]
    # L_topo names the dimensions it is over; accuracy is in percent, every row alike
    assert f"L_topo ({T.dims_words(sweep.dims)})" in table.columns
    want = [sweep.before["accuracy"] * 100, *(r["accuracy"] * 100 for r in sweep.results)]
    assert list(table["Accuracy (%)"]) == pytest.approx(want)
    chart = next(c for c in at.get("plotly_chart") if "sw_plot" in (c.proto.id or ""))
    assert chart.proto.spec


# ---------------------------------------------------------------- the helpers alone


def _tiny() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    mask = np.zeros((40, 40), bool)
    mask[::10] = True
    mask[:, ::10] = True
    image = np.where(mask, 0.2, 0.8).astype(np.float32) + rng.normal(0, 0.05, (40, 40))
    return image.astype(np.float32), mask


def test_advance_works_in_chunks_and_stop_keeps_the_steps():
    image, mask = _tiny()
    torch.manual_seed(0)
    model = nets.build("unet", base=2, depth=1)
    run = T.new_run(model, image, mask, lam=0.1, steps=50, batch=2, preview_every=2)
    assert T.advance(run, budget_s=0.0) == 1  # at least one step per chunk
    T.advance(run, budget_s=0.0)
    assert run.running and run.done_steps == 2 and run.snapshots[-1][0] == 2
    assert run.wall_steps_per_s > 0 and run.eta_s() > 0  # 48 steps left at that rate
    T.stop(run)
    assert T.advance(run) == 0 and run.status == "stopped" and run.done_steps == 2
    assert run.eta_s() is None and run.wall_end is not None  # the clock stopped
    before, after = T.compare(run)
    assert set(before) == set(after) >= {"beta0", "beta1", "l_topo", "betti_error", "accuracy"}
    assert [c["step"] for c in run.curves()] == [1, 2]
    assert not model.training  # left in eval mode


def test_the_moving_diagram_gets_a_frame_per_chunk_and_one_at_the_end():
    image, mask = _tiny()
    torch.manual_seed(0)
    model = nets.build("unet", base=2, depth=1)
    run = T.new_run(model, image, mask, lam=0.1, steps=5, batch=2, preview_every=2, window=20)
    r0, r1, c0, c1 = run.window
    assert (r1 - r0, c1 - c0) == (20, 20) and 0 <= r0 and r1 <= 40 and 0 <= c0 and c1 <= 40
    assert run.motion.step == 0 and run.motion.trails.steps == (0,)
    assert np.array_equal(run.motion.f, run.f0[r0:r1, c0:c1])
    T.advance(run, budget_s=0.0)
    T.advance(run, budget_s=0.0)
    assert run.motion.trails.steps == (0, 1, 2) and run.motion.step == 2
    # step 2 had a snapshot: the frame is its crop, the same f the page shows
    assert np.array_equal(run.motion.f, run.snapshots[-1][1][r0:r1, c0:c1])
    T.stop(run)
    T.advance(run)
    assert run.status == "stopped" and run.motion.trails.steps == (0, 1, 2)
    whole = T.new_run(model, image, mask, lam=0.0, steps=1, batch=2, window=0)
    assert whole.window == (0, 40, 0, 40)
    none = T.new_run(model, image, mask, lam=0.0, steps=1, batch=2)
    T.advance(none)
    assert none.motion is None and none.status == "done"


def test_two_script_runs_advancing_one_run_at_once_wait_for_each_other():
    """A click starts a new script run while the old one still trains its chunk
    (Streamlit's fastReruns): both call advance on the same run. Without the run's
    lock the second's ``next`` on the training generator raised "generator already
    executing" and the run ended as failed."""
    image, mask = _tiny()
    torch.manual_seed(0)
    run = T.new_run(nets.build("unet", base=2, depth=1), image, mask, lam=0.1, steps=400, batch=2)
    go = threading.Barrier(2)

    def chunks() -> None:
        go.wait()
        for _ in range(3):
            T.advance(run, budget_s=0.2)

    threads = [threading.Thread(target=chunks) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert run.status == "running", run.error
    assert [r.step for r in run.reports] == list(range(1, run.done_steps + 1))


def test_a_run_seen_ended_already_has_its_final_likelihood(monkeypatch):
    """Another script run that reads the run as ended draws the before/after at
    once, from ``run.f``: the status must change only after ``f`` is set (the page
    once showed "stopped" without its before/after, and stayed so)."""
    image, mask = _tiny()
    torch.manual_seed(0)
    slow = T.predict

    def predict(model, img):  # the final prediction, slowed to widen the window
        time.sleep(0.05)
        return slow(model, img)

    run = T.new_run(nets.build("unet", base=2, depth=1), image, mask, lam=0.0, steps=50, batch=2)
    monkeypatch.setattr(T, "predict", predict)
    seen: list[tuple[bool, bool]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append((run.running, run.f is None))

    watcher = threading.Thread(target=watch)
    watcher.start()
    T.advance(run, budget_s=0.0)
    T.stop(run)
    T.advance(run)
    done.set()
    watcher.join()
    assert run.status == "stopped" and (True, True) in seen
    assert (False, True) not in seen  # never ended without its f


def test_a_cached_checkpoint_is_copied_never_trained(tiny_manifest):
    assert list(T.start_options()) == [T.UNTRAINED, "tiny"]
    mtime = (tiny_manifest / "models/tiny.pt").stat().st_mtime
    shared, _ = cache.load_model("models/tiny.pt", mtime)
    weights = copy.deepcopy(shared.state_dict())
    image, mask = _tiny()
    run = T.new_run(T.start_model("tiny", 0), image, mask, lam=0.0, steps=3, batch=2)
    while run.running:
        T.advance(run)
    assert run.status == "done" and run.model is not shared
    for name, value in shared.state_dict().items():
        assert torch.equal(value, weights[name]), name


@pytest.mark.parametrize("lams", [[0.0, 0.2], [0.2]])
def test_sweep_helper_runs_each_lambda_from_the_same_start(lams):
    image, mask = _tiny()
    torch.manual_seed(0)
    start = nets.build("unet", base=2, depth=1)
    weights = copy.deepcopy(start.state_dict())
    sweep = T.new_sweep(start, image, mask, lams, steps=2, lr=1e-3, seed=3)
    while sweep.running:
        T.advance_sweep(sweep, budget_s=0.0)
    assert sweep.status == "done" and [r["lam"] for r in sweep.results] == sorted(lams)
    for name, value in start.state_dict().items():  # each λ trained its own copy
        assert torch.equal(value, weights[name]), name


def test_finetune_and_sweep_offer_the_matching_rule():
    at = _page(FINETUNE)
    at.selectbox(key="_w_ft_rule").set_value("betti")
    at.slider(key="_w_ft_steps").set_value(2).run()
    at.button(key="ft_start_btn").click().run()
    run = _until_done(at, T.RUN)
    assert run.rule == "betti" and run.status == "done" and run.done_steps == 2
    image, mask = _tiny()
    torch.manual_seed(0)
    sweep = T.new_sweep(
        nets.build("unet", base=2, depth=1), image, mask, [0.1], steps=1, rule="betti"
    )
    T.advance_sweep(sweep, budget_s=0.0)
    assert sweep.rule == "betti" and (sweep.current is None or sweep.current.rule == "betti")
    at = _page(LAMBDA)
    assert "betti" in at.selectbox(key="_w_sw_rule").options or any(
        "Betti" in o for o in at.selectbox(key="_w_sw_rule").options
    )


def test_finetune_and_sweep_train_on_the_dimensions_chosen(monkeypatch):
    """'L_topo on: components and holes' reaches fine_tune (topo_dims) and the measured
    L_topo; the default stays the paper's dimension 1."""
    from topoviz.loss import topo_loss

    seen = []
    real = T.fine_tune

    def spy(*args, **kwargs):
        seen.append(kwargs.get("topo_dims"))
        return real(*args, **kwargs)

    monkeypatch.setattr(T, "fine_tune", spy)
    at = _page(FINETUNE)
    assert at.selectbox(key="_w_ft_dims").value == "1"
    at.selectbox(key="_w_ft_dims").set_value("0,1")
    at.slider(key="_w_ft_steps").set_value(2).run()
    at.button(key="ft_start_btn").click().run()
    run = _until_done(at, T.RUN)
    assert run.dims == (0, 1) and seen[-1] == (0, 1) and run.status == "done"
    compare = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert "L_topo (whole image, dims 0, 1)" in set(compare["measure"])
    both = topo_loss(torch.as_tensor(run.f0, dtype=torch.float64), run.mask, dims=(0, 1))
    assert run.before["l_topo"] == pytest.approx(both.item())
    image, mask = _tiny()
    torch.manual_seed(0)
    sweep = T.new_sweep(
        nets.build("unet", base=2, depth=1), image, mask, [0.1], steps=1, dims=(1, 0)
    )
    T.advance_sweep(sweep, budget_s=0.0)
    assert sweep.dims == (0, 1) and seen[-1] == (0, 1)
    at = _page(LAMBDA)
    assert at.selectbox(key="_w_sw_dims").value == "1"


def test_native_bf16_reads_the_cpu_flags(tmp_path, monkeypatch):
    from topoviz import train

    real_open = open

    def cpu(flags: str):
        info = tmp_path / "cpuinfo"
        info.write_text(f"processor\t: 0\nflags\t\t: fpu sse2 {flags}\n", encoding="utf-8")
        monkeypatch.setattr(
            "builtins.open",
            lambda p, *a, **k: real_open(info if p == "/proc/cpuinfo" else p, *a, **k),
        )
        return train.native_bf16.__wrapped__()

    assert cpu("avx2 avx512f amx_bf16 amx_tile") is True
    assert cpu("avx2 avx512f avx512_bf16") is True
    assert cpu("avx2 avx512f avx512bw") is False  # bf16 emulated: slower, so off

    def missing(p, *a, **k):
        raise FileNotFoundError(p)

    monkeypatch.setattr("builtins.open", missing)
    assert train.native_bf16.__wrapped__() is False  # not Linux: off


def test_a_run_trains_in_bf16_where_asked_and_defaults_to_the_cpu(monkeypatch):
    image, mask = _tiny()
    model = nets.build("unet", base=2, depth=1, seed=0)
    monkeypatch.setattr(T, "native_bf16", lambda: True)
    run = T.new_run(model, image, mask, lam=0.1, steps=2, batch=2)
    assert run.amp is True
    while run.running:
        T.advance(run)
    assert run.status == "done" and all(np.isfinite(r.loss) for r in run.reports)
    monkeypatch.setattr(T, "native_bf16", lambda: False)
    assert T.new_run(model, image, mask, lam=0.0, steps=1, batch=2).amp is False
    assert T.new_run(model, image, mask, lam=0.0, steps=1, batch=2, amp=True).amp is True


def test_the_bf16_warm_up_trains_in_the_background_only_where_bf16_is_native(monkeypatch):
    monkeypatch.setattr(T, "native_bf16", lambda: False)
    assert T.warm_bf16.__wrapped__(base=2) is None
    monkeypatch.setattr(T, "native_bf16", lambda: True)
    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    thread = T.warm_bf16.__wrapped__(base=2)
    assert thread.daemon and thread.name == "topoviz-bf16-warmup"
    thread.join(timeout=60)
    assert not thread.is_alive() and errors == []  # two bf16 steps ran without error


def test_a_run_reports_the_l_topo_of_its_own_rule_on_dimension_1():
    """Before / after of Fine-tune live and the λ table: L_topo with the run's matching
    rule over dimension 1, as it trains (and as Diagrams & matching shows with holes)."""
    from topoviz.loss import topo_loss
    from topoviz.matching import betti_match

    # one true ring on the left; f draws it faint and a bright ring on the right, where
    # the truth has none: the paper's rule pulls the bright one, Betti matching the faint
    mask = np.zeros((20, 32))
    mask[4:15, 3:14] = 1.0
    mask[6:13, 5:12] = 0.0
    f = 0.1 + 0.3 * mask
    f[4:15, 18:29] = 0.9
    f[6:13, 20:27] = 0.1
    paper = T.measure(f, mask, rule="paper")["l_topo"]
    betti = T.measure(f, mask, rule="betti")["l_topo"]
    assert paper != pytest.approx(betti)
    assert betti == pytest.approx(betti_match(f, mask, True).restricted([1]).loss)
    assert paper == pytest.approx(float(topo_loss(torch.as_tensor(f), mask, rule="paper")))


def test_the_starting_model_follows_the_sidebars_net_and_warns_off_its_data():
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["likelihood"] = "checkpoint"
    at.session_state["checkpoint"] = "crackforest-f2-unet-topo"
    at.run()
    for page, key in ((FINETUNE, T.START), (LAMBDA, T.SWEEP_START)):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        # the λ = 0 control of the sidebar net's pair, not the first net of the manifest
        assert at.session_state[key] == "crackforest-f2-unet-bce"
        # a crack net on the synthetic membranes sample: said under the choice
        assert any("the starting model was trained on" in w.value for w in at.warning)
        # and that the start is not the sidebar's net but its control
        assert any(
            "Starts from crackforest-f2-unet-bce, the λ = 0 control of the sidebar's "
            "crackforest-f2-unet-topo" in c.value
            for c in at.caption
        )
    at.session_state["checkpoint"] = "isbi12-f3-unet-betti"  # the sidebar moves on:
    at.switch_page(FINETUNE).run()  # the start follows, as the user never picked one
    assert at.session_state[T.START] == "isbi12-f3-unet-bce"
    at.selectbox(key=f"_w_{T.START}").set_value("vessels-f1-unet-topo").run()
    at.session_state["checkpoint"] = "membranes-unet-topo"
    at.run()  # a start the user picked stays
    assert at.session_state[T.START] == "vessels-f1-unet-topo"
    assert not any("the λ = 0 control of the sidebar's" in c.value for c in at.caption)


def test_a_run_on_another_image_is_labelled_so_and_its_results_are_not_shown():
    at = _page(FINETUNE)
    at.slider(key="_w_ft_steps").set_value(2).run()
    at.button(key="ft_start_btn").click().run()
    run = _until_done(at, T.RUN)
    assert any("Before and after 2 steps" in s.value for s in at.subheader)
    assert not any("not of the image in the sidebar" in w.value for w in at.warning)
    at.session_state["sample"] = "membranes_1"  # the sidebar moves to another image
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"on {run.name}" in w.value and "not of the image" in w.value for w in at.warning)
    assert not any("Before and after" in s.value for s in at.subheader)
    at.session_state["sample"] = "membranes_0"  # and back: the results again
    at.run()
    assert any("Before and after 2 steps" in s.value for s in at.subheader)


def test_finetune_warns_when_its_start_trained_on_the_uploaded_image():
    from topoviz.imageio import png_bytes

    image = np.full((64, 64), 0.8, np.float32)
    image[:, 30:33] = 0.1
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["source"] = "upload"
    at.session_state["likelihood"] = "checkpoint"
    at.session_state["checkpoint"] = "isbi12-f1-unet-bce"  # held out 00-09
    at.run()
    at.switch_page(FINETUNE).run()
    at.sidebar.get("file_uploader")[0].upload("15.png", png_bytes(image), "image/png")
    at.sidebar.get("file_uploader")[1].upload("15_mask.png", png_bytes(image < 0.5))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "isbi12 image 15, isbi12-f1-unet-bce trained on it" in w.value for w in at.warning
    ), [w.value for w in at.warning]


def test_a_run_is_on_this_image_whatever_the_source_of_f():
    from types import SimpleNamespace

    image, mask = np.zeros((8, 8), np.float32), np.zeros((8, 8), bool)
    run = SimpleNamespace(image=image, mask=mask)
    same = SimpleNamespace(image=image.copy(), mask=mask.copy(), f=None, ok=False)
    assert T.on_this_image(run, same)  # no f (a source that failed): still this image
    other = SimpleNamespace(image=image + 1, mask=mask, f=image, ok=True)
    assert not T.on_this_image(run, other)
    assert not T.on_this_image(run, SimpleNamespace(image=image, mask=None, f=image, ok=True))


def test_the_lambda_page_says_an_untrained_start_needs_a_larger_rate():
    at = _page(LAMBDA)
    assert not any("untrained start" in w.value for w in at.warning)
    at.selectbox(key=f"_w_{T.SWEEP_START}").set_value(T.UNTRAINED).run()
    assert any("An untrained start learns little at lr 0.0001" in w.value for w in at.warning)


def test_finetune_trains_the_runs_control_on_the_same_crops():
    at = _page(FINETUNE)
    at.slider(key="_w_ft_steps").set_value(3)
    at.slider(key="_w_ft_lam").set_value(0.3).run()
    at.button(key="ft_start_btn").click().run()
    run = _until_done(at, T.RUN)
    table = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert "λ = 0 control" not in table.columns
    at.button(key="ft_control_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert {"λ = 0 control", "after − control"} <= set(table.columns)
    held = at.session_state[T.CONTROL]
    assert held[0] is run and not any(b.key == "ft_control_btn" for b in at.button)
    # the control is the run at λ = 0: the same start and crops, trained again here
    again = T.new_run(
        T.start_model(run.start, run.seed), run.image, run.mask, lam=0.0, steps=3,
        lr=run.lr, seed=run.seed, batch=run.batch, preview_every=0, f0=run.f0,
        structure=run.structure, amp=run.amp, betti=run.betti,
    )  # fmt: skip
    while again.running:
        T.advance(again, 60.0)
    # the same crops and steps: the same net, up to the order of float sums in torch's
    # threads (l_topo moved by 2e-7 when other test files ran first)
    assert T.compare(again)[1] == pytest.approx(held[1], rel=1e-5)
    # the Betti error drawn as Inspect draws it for this image and net (the manifest's
    # patch count of the sidebar's checkpoint)
    assert run.betti == (400, 0)
    keys = ["beta0", "beta1", "l_topo", "betti_error", "merges", "splits", "holes_extra"]
    keys += ["pinholes", "fragments", "ari", "voi", "voi_merge", "voi_split", "accuracy"]
    shown = [round(held[1][k], 6) + 0.0 for k in keys]  # the page rounds to 6 places
    assert list(table["λ = 0 control"]) == shown  # the page's rows
    diff = table["after"] - table["λ = 0 control"]  # of rounded numbers: 1e-6 apart
    assert np.allclose(table["after − control"], diff, rtol=0, atol=1.5e-6)
    assert all(len(repr(v)) < 12 for v in table["change"])  # no 1e-16 of float noise


def test_the_default_rate_repairs_the_default_samples_merge_in_the_default_steps():
    """Fine-tune live's defaults (lr 1e-4, the recipes' rate, since a trained start at
    1e-3 could undo what it learnt in one step): from the shipped net, the default
    run still repairs the default sample's one false merge."""
    image, mask = cache.load_sample("membranes_0")
    run = T.new_run(
        T.start_model("membranes-unet-bce", 0), image, mask,
        lam=T.DEFAULTS[T.LAM], steps=T.DEFAULTS[T.STEPS], lr=T.DEFAULTS[T.LR],
        batch=T.DEFAULTS[T.BATCH], preview_every=0,
    )  # fmt: skip
    while run.running:
        T.advance(run, 60.0)
    before, after = T.compare(run)
    assert T.DEFAULTS[T.LR] == 1e-4 and (before["merges"], after["merges"]) == (1, 0)
    assert after["l_topo"] < before["l_topo"] / 4
