"""A checkpoint uploaded in the sidebar: used when good, refused clearly when not, and
never unpickled beyond tensors. AppTest drives ``st.file_uploader`` (streamlit 1.67)."""

from __future__ import annotations

import copy
import dataclasses
import io
import os
import pickle
import re
from pathlib import Path

import hostile
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from topoviz import checkpoints, nets
from topoviz.inference import predict
from topoviz.ui import cache
from topoviz.ui import state as S
from topoviz.ui import training as T

ROOT = Path(__file__).resolve().parent.parent
FILTRATION = str(ROOT / "pages/2_filtration.py")

torch.set_num_threads(1)


def checkpoint_bytes(model: torch.nn.Module, meta: dict | None = None) -> bytes:
    buf = io.BytesIO()
    checkpoints.save(buf, model, {"data": "synthetic:membranes"} if meta is None else meta)
    return buf.getvalue()


def tiny(**kwargs) -> torch.nn.Module:
    return nets.build("unet", seed=0, **{"base": 2, "depth": 1, **kwargs})


class RunsCode:
    """A pickle that creates ``marker`` when unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def page(likelihood: str = "upload") -> AppTest:
    at = AppTest.from_file(FILTRATION, default_timeout=60)
    at.session_state["likelihood"] = likelihood
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, data: bytes, name: str = "net.pt") -> AppTest:
    uploader = next(u for u in at.sidebar.get("file_uploader") if "Checkpoint" in u.label)
    uploader.set_value((name, data, "application/octet-stream"))
    return at.run()


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.sidebar.error)


def captions(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_a_good_checkpoint_gives_the_likelihood_and_stays_in_the_session():
    at = page("image")
    f_image = at.session_state[S.SELECTION].f
    at.sidebar.radio(key="_w_likelihood").set_value("upload").run()
    assert at.session_state[S.SELECTION].f is None  # nothing uploaded yet: no likelihood
    assert "a link cannot carry it" in captions(at)
    model = tiny()
    upload(at, checkpoint_bytes(model), "my_net.pt")
    assert not at.exception and not at.sidebar.error, errors(at)
    sel = at.session_state[S.SELECTION]
    assert sel.source == "uploaded checkpoint my_net.pt"
    np.testing.assert_array_equal(sel.f, predict(model, sel.image))
    assert not np.array_equal(sel.f, f_image)
    assert "unet (in_channels 1, base 2, depth 1, norm batch)" in captions(at)
    assert "trained on synthetic:membranes" in captions(at)
    assert at.title  # the page drew on
    # another source of f and back: the uploader is redrawn empty, the upload is kept
    at.sidebar.radio(key="_w_likelihood").set_value("image").run()
    at.sidebar.radio(key="_w_likelihood").set_value("upload").run()
    assert "uploaded earlier in this session" in captions(at)
    np.testing.assert_array_equal(at.session_state[S.SELECTION].f, sel.f)
    assert "upload" not in " ".join(at.query_params.values())  # never in the URL
    at.sidebar.button(key="forget_checkpoint").click().run()
    assert at.session_state[S.SELECTION].f is None and not at.exception


def test_a_pickle_that_would_run_code_is_an_error_on_the_page_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = io.BytesIO()
    torch.save({"format": "topoviz-checkpoint", "x": RunsCode(marker)}, evil)
    for data in (evil.getvalue(), pickle.dumps(RunsCode(marker))):
        at = upload(page(), data, "evil.pt")
        assert not at.exception, [e.value for e in at.exception]
        assert "evil.pt cannot be used" in errors(at)
        assert "refused" in errors(at) or "not a checkpoint" in errors(at)
        assert at.session_state[S.SELECTION].f is None and at.title
        assert not marker.exists()
    pickle.loads(pickle.dumps(RunsCode(marker)))  # unprotected, the same pickle runs
    assert marker.exists()


def _other_architecture() -> bytes:
    payload = torch.load(io.BytesIO(checkpoint_bytes(tiny())), weights_only=True)
    payload["state_dict"] = nets.build("sixlayer", seed=0, width=2, fc=2).state_dict()
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_other_architecture, r"do not fit architecture 'unet'.*missing keys.*unexpected keys"),
        (lambda: checkpoint_bytes(tiny())[:3000], r"truncated|corrupted"),
        (lambda: np.random.default_rng(0).bytes(5000), r"not a checkpoint"),
        (lambda: b"", r"empty"),
    ],
    ids=["other architecture", "truncated", "random bytes", "empty"],
)
def test_a_bad_checkpoint_is_a_clear_error_and_the_page_goes_on(make, message):
    import re

    at = upload(page(), make(), "bad.pt")
    assert not at.exception, [e.value for e in at.exception]
    assert re.search(message, errors(at)), errors(at)
    assert at.session_state[S.SELECTION].f is None and at.title
    assert any("upload another checkpoint" in i.value for i in at.sidebar.info)
    # the page says why it has nothing to show, and does not ask for an image
    assert any("could not be used" in i.value for i in at.main.info), at.main.info
    assert not any("Choose a sample" in i.value for i in at.main.info)
    # a good file afterwards works
    upload(at, checkpoint_bytes(tiny()), "good.pt")
    assert not at.sidebar.error and at.session_state[S.SELECTION].f is not None


def test_a_refused_checkpoint_keeps_the_last_usable_one_in_use():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/5_finetune.py").run()
    at.sidebar.radio(key="_w_likelihood").set_value("upload").run()
    upload(at, checkpoint_bytes(tiny()), "good.pt")
    f = at.session_state[S.SELECTION].f
    assert f is not None and not at.sidebar.error
    # a wrong file after a good one, as a browser replaces a file: a change to no file
    # (the uploader's callback runs), then the new file
    next(u for u in at.sidebar.get("file_uploader") if "Checkpoint" in u.label).clear()
    at.run()
    assert at.session_state[S.SELECTION].f is None
    upload(at, _other_architecture(), "other.pt")
    assert not at.exception, [e.value for e in at.exception]
    assert "other.pt cannot be used" in errors(at) and "Still using good.pt" in errors(at)
    sel = at.session_state[S.SELECTION]
    np.testing.assert_array_equal(sel.f, f)
    assert sel.source == "uploaded checkpoint good.pt"
    # fine-tuning still offers it, and starts from the good file
    assert at.selectbox(key="_w_ft_start").options[-1] == T.UPLOADED_LABEL
    assert at.session_state[S.GOOD_CHECKPOINT].name == "good.pt"
    at.button(key="forget_kept_checkpoint").click().run()  # the user lets it go
    assert S.GOOD_CHECKPOINT not in at.session_state
    assert at.session_state[S.SELECTION].f is None and not at.exception
    assert T.UPLOADED_LABEL not in at.selectbox(key="_w_ft_start").options


def test_a_removed_checkpoint_does_not_come_back(monkeypatch):
    from topoviz.ui import sidebar

    at = upload(page(), checkpoint_bytes(tiny()), "good.pt")
    assert at.session_state[S.SELECTION].f is not None
    monkeypatch.setattr(sidebar, "REPLACE_S", 0.0)  # the file stays away: removed
    next(u for u in at.sidebar.get("file_uploader") if "Checkpoint" in u.label).clear()
    at.run()
    upload(at, _other_architecture(), "other.pt")
    assert "other.pt cannot be used" in errors(at) and "Still using" not in errors(at)
    assert at.session_state[S.SELECTION].f is None


def test_an_oversized_checkpoint_is_refused_before_it_is_read(monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("an oversized upload must not be loaded")

    monkeypatch.setattr(checkpoints, "load", no_loading)
    data = checkpoint_bytes(tiny()) + bytes(cache.MAX_CHECKPOINT_UPLOAD)
    at = upload(page(), data, "huge.pt")
    assert not at.exception, [e.value for e in at.exception]
    assert (
        "huge.pt cannot be used: the file is 50.0 MB; the limit for an uploaded checkpoint is 50 MB"
        in errors(at)
    )
    kept = at.session_state[S.UPLOADED_CHECKPOINT]
    assert kept.too_big and kept.data == b""  # not even kept in the session

    def never(*args):
        raise AssertionError("the bytes of an oversized upload must not be read")

    record = cache.uploaded_checkpoint("x.pt", cache.MAX_CHECKPOINT_UPLOAD + 1, never)
    with pytest.raises(checkpoints.CheckpointError, match="limit .* 50 MB"):
        cache.load_uploaded(record)


def test_a_colour_network_on_a_grey_image_is_a_clear_error():
    at = upload(page(), checkpoint_bytes(tiny(in_channels=3)), "rgb.pt")
    assert not at.exception, [e.value for e in at.exception]
    assert "takes 3-channel images but this image has 1 channel" in errors(at)
    assert at.session_state[S.SELECTION].f is None and at.title


def test_the_loaded_model_is_cached_by_content():
    data = checkpoint_bytes(tiny())
    one = cache.uploaded_checkpoint("a.pt", len(data), lambda: data)
    two = cache.uploaded_checkpoint("b.pt", len(data), lambda: bytes(data))
    assert one.digest == two.digest and len(one.digest) == 64
    assert cache.load_uploaded(one)[0] is cache.load_uploaded(two)[0]  # shared, loaded once
    other = checkpoint_bytes(tiny(base=3))
    three = cache.uploaded_checkpoint("a.pt", len(other), lambda: other)
    assert three.digest != one.digest
    assert cache.load_uploaded(three)[0] is not cache.load_uploaded(one)[0]


def _fine_tune_two_steps(at: AppTest) -> T.Run:
    """Two steps at λ = 0.1 on the Fine-tune page ``at`` shows, run to the end."""
    at.slider(key="_w_ft_steps").set_value(2)
    at.slider(key="_w_ft_lam").set_value(0.1).run()
    at.button(key="ft_start_btn").click().run()
    for _ in range(20):
        if not at.session_state[T.RUN].running:
            break
        at.run()
    return at.session_state[T.RUN]


def test_finetune_starts_from_a_copy_of_the_uploaded_checkpoint():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/5_finetune.py").run()
    at.sidebar.radio(key="_w_likelihood").set_value("upload").run()
    upload(at, checkpoint_bytes(tiny()), "mine.pt")
    assert not at.exception and not at.sidebar.error, errors(at)
    start = at.selectbox(key="_w_ft_start")
    assert start.options[-1] == T.UPLOADED_LABEL
    shared, _ = cache.load_uploaded(at.session_state[S.UPLOADED_CHECKPOINT])
    weights = copy.deepcopy(shared.state_dict())
    start.set_value(T.UPLOADED)
    run = _fine_tune_two_steps(at)
    assert not at.exception and run.status == "done" and run.start == T.UPLOADED
    np.testing.assert_array_equal(run.f0, at.session_state[S.SELECTION].f)  # the upload's f
    assert run.model is not shared
    for name, value in shared.state_dict().items():  # the shared model was not trained
        assert torch.equal(value, weights[name]), name
    assert not torch.equal(run.model.state_dict()["head.weight"], weights["head.weight"])
    assert "checkpoint uploaded in the sidebar" in " ".join(c.value for c in at.caption)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hostile.zip_bomb(2048), "compressed"),
        (lambda: hostile.laughs(25), "holds more than 10,000 values"),
        (lambda: hostile.deep(100_000), "nested more than 32 levels"),
    ],
    ids=["zip bomb", "billion laughs", "deep"],
)
def test_an_uploaded_bomb_is_a_short_error_and_another_session_keeps_working(make, message):
    at = upload(page(), make(), "bomb.pt")
    assert not at.exception, [e.value for e in at.exception]
    assert "bomb.pt cannot be used: refused" in errors(at) and message in errors(at)
    assert len(errors(at)) < 400, errors(at)
    assert at.session_state[S.SELECTION].f is None and at.title
    other = page("image")  # a second session, after the bomb: unaffected
    assert other.session_state[S.SELECTION].f is not None and not other.sidebar.error
    at.run()  # the bomb's session reruns: the same short error, no traceback
    assert not at.exception and message in errors(at)
    upload(at, checkpoint_bytes(tiny()), "good.pt")
    assert not at.sidebar.error and at.session_state[S.SELECTION].f is not None


def test_markdown_in_an_uploaded_name_or_meta_is_shown_as_text():
    link = "[click](https://evil.example)![x](https://evil.example/x.png)"
    at = AppTest.from_file(str(ROOT / "pages/1_landscape.py"), default_timeout=60)
    at.session_state["likelihood"] = "upload"
    at.run()
    upload(at, checkpoint_bytes(tiny(), {"data": f"**bold** {link}"}), f"{link}.pt")
    assert not at.exception and not at.sidebar.error, errors(at)
    sel = at.session_state[S.SELECTION]
    assert sel.source == f"uploaded checkpoint {link}.pt"  # the name itself, as typed
    shown = " ".join(c.value for c in at.caption) + " " + captions(at)
    assert f"f = uploaded checkpoint {link}.pt" in as_read(shown)  # the page's caption
    assert "trained on **bold**" in as_read(shown)  # the sidebar's caption
    pieces = [c.value for c in at.caption] + [c.value for c in at.sidebar.caption]
    named_there = [c for c in pieces if "evil" in c or "bold" in c]
    assert named_there and not any(markup(c) for c in named_there), named_there
    # an uploaded image's name, shown in the Inspect and Home captions, likewise
    named = dataclasses.replace(sel, name=f"{link}.png")
    assert as_read(named.name_md) == f"{link}.png" and not markup(named.name_md)


def as_read(md: str) -> str:
    """Markdown source as a reader sees it: escapes undone, zero-width spaces gone."""
    return re.sub(r"\\(.)", r"\1", md).replace("\u200b", "")


def markup(md: str) -> list[str]:
    """What in ``md`` Markdown or Streamlit would still render: an unescaped ``[``,
    ``*`` or ``$``, a link address, a ``www.`` autolink, an emoji or icon code."""
    found = re.findall(r"(?<!\\)[\[*$`]|https?://|www\.|:[a-z_/]+:|:[a-z-]+\\?\[", md)
    return found


@pytest.mark.parametrize(
    "name",
    [
        "vessel **BOLD** [click](https://evil.example) ![i](https://evil.example/x.png)",
        "www.evil-example.com.png",
        "$x^2$ :material/warning: :smile:.png",
        "**b** :red[x] :blue-background[y] :small[z].png",
        "abc\u202egnp.exe",
        "<img src=x onerror=alert(1)>.png",
    ],
)
def test_plain_switches_off_every_markup_a_file_name_can_carry(name):
    """A hostile tester's names: autolinks, emoji and icon codes and a right-to-left
    override still rendered (or reordered what was shown) after the old escaping."""
    from topoviz.ui.sidebar import plain

    shown = plain(name, 200)
    assert not markup(shown), markup(shown)
    assert as_read(shown) == name.replace("\u202e", "")  # the name, as typed
    assert "\u202e" not in shown


def test_a_fine_tuned_net_downloads_and_comes_back_as_an_upload(downloads):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/5_finetune.py").run()
    start = at.session_state[T.START]
    assert start != T.UPLOADED
    run = _fine_tune_two_steps(at)
    assert not at.exception and run.status == "done"
    name = f"{run.file_name}_finetuned_2steps.pt"
    assert any("fine-tuned net" in b.proto.label for b in at.get("download_button"))
    model, meta = checkpoints.load(downloads[name])
    # what the app reads of a net: its data, the image it saw, the Betti error's patches
    assert meta["fine_tuned_on"] == [run.file_name] and meta["steps"] == {"bce": 0, "topo": 2}
    assert meta["data"] == "synthetic-membranes"  # the start's, by the name profiles use
    assert meta["lam"] == 0.1 and meta["init"] == f"checkpoint {start}"
    assert meta["fine_tuned_from"] == start
    assert meta["metrics"]["n_patches"] == run.betti[0]
    np.testing.assert_allclose(predict(model, run.image), run.f, atol=1e-6)
    # uploaded again: its f is the run's, Inspect says it has seen this image, and
    # Fine-tune starts from it
    at.sidebar.radio(key="_w_likelihood").set_value("upload").run()
    upload(at, downloads[name], name)
    assert not at.exception and not at.sidebar.error, errors(at)
    np.testing.assert_allclose(at.session_state[S.SELECTION].f, run.f, atol=1e-6)
    assert at.session_state[T.START] == T.UPLOADED
    at.switch_page("pages/4_inspect.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [w.value.replace("\\", "") for w in at.warning]  # as text: Markdown escaped
    assert any(f"fine-tuned on an image named {run.file_name}" in w for w in shown), shown
    assert at.session_state["inspect_compare"] == start  # compared with the net it came from
