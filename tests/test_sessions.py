"""Concurrent sessions: runs in parallel threads give exactly what they give alone, and
one app session's run never shows in another nor changes the shared cached model.

Nothing here uses torch's global random generator: nets are initialised with
``nets.build(..., seed=)`` (a private generator) and ``fine_tune`` draws its crops and
TopoLoss patches from its own numpy generators, so two sessions cannot race on it.
"""

from __future__ import annotations

import copy
import sys
import threading
from pathlib import Path

import numpy as np
import torch
from streamlit.testing.v1 import AppTest

from topoviz import nets
from topoviz.persistence import warmup
from topoviz.synthetic import make_dataset
from topoviz.train import fine_tune
from topoviz.ui import cache
from topoviz.ui import training as T

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")

torch.set_num_threads(1)


def _run(seed: int, data: tuple[np.ndarray, np.ndarray]) -> tuple[list[tuple], dict]:
    """A short BCE + λ·L_topo run from a fresh net; its losses and final weights."""
    model = nets.build("unet", seed=seed, base=4, depth=2)
    reports = fine_tune(
        model, data, 0.5, 4, batch=2, patch=48, topo_patch=32, topo_patches=2, seed=seed
    )
    losses = [(r.bce, r.topo, r.loss, r.patches_used) for r in reports]
    return losses, {k: v.clone() for k, v in model.state_dict().items()}


def test_two_fine_tunes_in_parallel_threads_equal_the_same_runs_one_after_the_other():
    warmup()  # compile the numba sweeps first (a first run can otherwise differ by an ulp)
    jobs = {0: make_dataset("membranes", 2, 48, 0), 7: make_dataset("vessels", 2, 48, 3)}
    alone = {seed: _run(seed, data) for seed, data in jobs.items()}
    assert all(any(topo > 0 for _, topo, _, _ in alone[s][0]) for s in jobs)  # L_topo ran

    together: dict[int, tuple] = {}
    start = threading.Barrier(len(jobs))
    done = threading.Event()

    def job(seed: int) -> None:
        start.wait()
        together[seed] = _run(seed, jobs[seed])

    def meddler() -> None:  # a third session that reseeds and draws from the global RNG
        i = 0
        while not done.is_set():
            torch.manual_seed(i)
            torch.rand(64)
            i += 1

    threads = [threading.Thread(target=job, args=(s,)) for s in jobs]
    noise = threading.Thread(target=meddler)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for t in [noise, *threads]:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        done.set()
        noise.join()
        sys.setswitchinterval(interval)

    assert set(together) == set(jobs)
    for seed in jobs:
        (losses, weights), (losses_alone, weights_alone) = together[seed], alone[seed]
        assert losses == losses_alone, seed  # bit for bit, every step
        for name, value in weights_alone.items():
            assert torch.equal(weights[name], value), (seed, name)
    assert alone[0][0] != alone[7][0]  # the two jobs really were different runs


def test_fine_tune_neither_reads_nor_changes_the_global_generator():
    warmup()
    data = make_dataset("membranes", 2, 48, 0)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = _run(3, data)
    assert torch.equal(torch.get_rng_state(), state)  # not seeded, not drawn from
    torch.manual_seed(456)  # another global state: the same run
    second = _run(3, data)
    assert first[0] == second[0]
    assert all(torch.equal(first[1][k], second[1][k]) for k in first[1])


def _finetune(steps: int, lam: float, seed: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/5_finetune.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.slider(key="_w_ft_steps").set_value(steps)
    at.slider(key="_w_ft_lam").set_value(lam)
    at.number_input(key="_w_ft_seed").set_value(seed).run()
    return at


def _progress(at: AppTest) -> str:
    return " ".join(p.proto.text for p in at.get("progress"))


def test_two_app_sessions_keep_their_own_runs_and_never_train_the_shared_model(tiny_manifest):
    one = _finetune(steps=3, lam=0.2, seed=1)
    two = _finetune(steps=200, lam=0.0, seed=2)
    for at in (one, two):
        assert at.selectbox(key="_w_ft_start").value == "tiny"  # the shared cached checkpoint
    mtime = (tiny_manifest / "models/tiny.pt").stat().st_mtime
    shared, _ = cache.load_model("models/tiny.pt", mtime)
    weights = copy.deepcopy(shared.state_dict())

    one.button(key="ft_start_btn").click().run()
    two.button(key="ft_start_btn").click().run()
    while one.session_state[T.RUN].running:  # the two runs advance turn by turn
        one.run()
        two.run()
        assert not one.exception and not two.exception
    a, b = one.session_state[T.RUN], two.session_state[T.RUN]
    assert a is not b and a.model is not b.model
    assert a.model is not shared and b.model is not shared
    assert (a.status, a.steps, a.lam, a.seed) == ("done", 3, 0.2, 1)
    assert b.running and (b.steps, b.lam, b.seed) == (200, 0.0, 2)
    assert "/ 3 — done" in _progress(one) and "/ 200" not in _progress(one)
    assert "/ 200 — running" in _progress(two) and "/ 3 " not in _progress(two)
    assert any("Before and after 3 steps" in s.value for s in one.subheader)
    assert not any("Before and after" in s.value for s in two.subheader)

    two.button(key="ft_stop_btn").click().run()
    assert two.session_state[T.RUN].status == "stopped"
    assert one.session_state[T.RUN].status == "done" and one.session_state[T.RUN] is a
    one.button(key="ft_reset_btn").click().run()
    assert T.RUN not in one.session_state and two.session_state[T.RUN] is b
    for name, value in shared.state_dict().items():  # trained twice, copied both times
        assert torch.equal(value, weights[name]), name
    assert not torch.equal(a.model.state_dict()["head.weight"], weights["head.weight"])


def test_untrained_starts_are_seeded_privately():
    state = torch.get_rng_state()
    a = T.start_model(T.UNTRAINED, 5)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is untouched
    torch.manual_seed(5)
    b = nets.build("unet", base=8)
    for name, value in b.state_dict().items():
        assert torch.equal(a.state_dict()[name], value), name


def test_the_parallel_batch_takes_turns_only_where_numba_needs_it(monkeypatch):
    """numba's fallback ``workqueue`` layer aborts on concurrent use: there the
    batched persistence calls take turns; with ``omp``/``tbb`` they run at once."""
    import numba

    from topoviz import persistence

    monkeypatch.setattr(numba, "threading_layer", lambda: "workqueue")
    assert persistence._parallel_guard() is persistence._workqueue_lock
    monkeypatch.setattr(numba, "threading_layer", lambda: "omp")
    assert persistence._parallel_guard() is not persistence._workqueue_lock
