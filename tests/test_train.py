"""Data folders and folds, the training generator, evaluation and the CLI."""

from __future__ import annotations

import json
import math
import os
import re
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from topoviz import checkpoints, nets
from topoviz.__main__ import main
from topoviz.data import (
    fold_split,
    list_pairs,
    load_pairs,
    load_split,
    parse_fold,
    parse_synthetic,
    read_terms,
    sample_batch,
)
from topoviz.imageio import ImageError
from topoviz.inference import predict
from topoviz.persistence import warmup
from topoviz.synthetic import make_dataset
from topoviz.train import (
    METRICS,
    REGION_METRICS,
    evaluate,
    evaluate_predictions,
    fine_tune,
    format_table,
    pretrain,
)

torch.set_num_threads(1)

TINY = "synthetic:membranes?n=6&size=32&seed=0"


def _write_folder(root: Path, names, size=8, labels=None) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    for name in names:
        Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(
            root / "images" / f"{name}.png"
        )
    for name in names if labels is None else labels:
        lab = np.zeros((size, size), np.uint8)
        lab[:, size // 2] = 255
        Image.fromarray(lab).save(root / "labels" / f"{name}.png")
    return root


@pytest.fixture
def thirty(tmp_path) -> Path:
    # written in shuffled order: the split must sort by name
    names = [f"{i:02d}" for i in np.random.default_rng(1).permutation(30)]
    return _write_folder(tmp_path / "set", names)


@pytest.fixture(scope="module")
def tiny():
    return make_dataset("membranes", 4, 32, 0)


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return nets.build("unet", base=4, depth=2)


# ---------------------------------------------------------------- data and folds


def test_fold_split_isbi_thirds(thirty):
    pairs = list_pairs(thirty)
    assert [p[0].stem for p in pairs] == [f"{i:02d}" for i in range(30)]
    assert all(p[0].name == p[1].name for p in pairs)
    expected = {1: range(0, 10), 2: range(10, 20), 3: range(20, 30)}
    held_all = []
    for fold, want in expected.items():
        train, held = fold_split(pairs, fold)
        assert [p[0].stem for p in held] == [f"{i:02d}" for i in want]
        assert len(train) == 20 and not {p[0] for p in train} & {p[0] for p in held}
        held_all += held
    assert sorted(held_all) == pairs


def test_fold_split_uneven_and_parse():
    parts = [fold_split(list(range(10)), k)[1] for k in (1, 2, 3)]
    assert sum(parts, []) == list(range(10)) and {len(p) for p in parts} <= {3, 4}
    assert parse_fold("2/3") == (2, 3) and parse_fold("3") == (3, 3)
    for bad in ("0/3", "4/3", "a/3", "1/1", "1/x"):
        with pytest.raises(ValueError, match="fold"):
            parse_fold(bad)
    with pytest.raises(ValueError):
        fold_split([1, 2], 1, 3)


def test_unmatched_and_missing_folders(tmp_path):
    root = _write_folder(tmp_path / "a", ["00", "01", "02"], labels=["00", "01", "07"])
    with pytest.raises(ValueError, match=r"unmatched.*02.*07"):
        list_pairs(root)
    with pytest.raises(FileNotFoundError, match="not found"):
        list_pairs(tmp_path / "nope")
    (tmp_path / "b" / "images").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="labels/"):
        list_pairs(tmp_path / "b")


def test_load_pairs_and_terms(thirty):
    images, masks = load_pairs(list_pairs(thirty)[:3])
    assert images.shape == masks.shape == (3, 8, 8)
    assert images.dtype == np.float32 and masks.dtype == bool
    assert masks[:, :, 4].all() and masks.sum() == 3 * 8
    assert read_terms(thirty) is None
    source = "Dataset: x\nLicense/terms: research use;\n  cite Y.\nNext: z\n"
    (thirty / "SOURCE.txt").write_text(source, encoding="utf-8")
    assert read_terms(thirty) == "research use; cite Y."
    split = load_split(thirty, "3/3")
    assert split.held_names == [f"{i:02d}" for i in range(20, 30)]
    assert split.terms == "research use; cite Y."


def test_synthetic_spec():
    assert parse_synthetic("synthetic:roads?size=64") == {
        "name": "roads",
        "n": 24,
        "size": 64,
        "seed": 0,
    }
    assert parse_synthetic("/some/folder") is None
    with pytest.raises(ValueError, match="unknown synthetic"):
        parse_synthetic("synthetic:cats")
    with pytest.raises(ValueError, match="unknown option"):
        parse_synthetic("synthetic:roads?colour=1")
    split = load_split(TINY, "1/3")
    assert len(split.train_images) == 4 and len(split.held_images) == 2
    assert split.held_names == ["membranes-000", "membranes-001"]
    assert "synthetic" in split.terms


def test_sample_batch_shapes_augment_and_seed(tiny):
    images, masks = tiny
    x, y = sample_batch(images, masks, 5, 16, np.random.default_rng(3))
    assert x.shape == y.shape == (5, 1, 16, 16) and x.dtype == torch.float32
    assert set(torch.unique(y).tolist()) <= {0.0, 1.0}
    x2, y2 = sample_batch(images, masks, 5, 16, np.random.default_rng(3))
    assert torch.equal(x, x2) and torch.equal(y, y2)
    # flips / rotations are applied to image and mask together
    x, y = sample_batch(masks.astype(np.float32), masks, 16, 20, np.random.default_rng(0))
    assert torch.equal(x, y)
    assert sample_batch(images, masks, 2, 99, np.random.default_rng(0))[0].shape[-1] == 32


# ---------------------------------------------------------------------- training


def test_fine_tune_reports_and_determinism(tiny):
    # The first diagrams of a fresh process can differ from later ones by one float32
    # ulp (numba warm-up in topoviz.persistence); compare warmed runs only.
    warmup()
    runs = []
    for _ in range(2):
        model = _net()
        reports = list(fine_tune(model, tiny, 0.1, 3, batch=2, patch=32, seed=5))
        runs.append((reports, model.state_dict()))
    reports = runs[0][0]
    assert [r.step for r in reports] == [1, 2, 3] and reports[-1].total_steps == 3
    for r in reports:
        assert all(math.isfinite(v) for v in (r.bce, r.topo, r.loss))
        assert r.loss == pytest.approx(r.bce + 0.1 * r.topo, rel=1e-5)
    assert [r.loss for r in reports] == [r.loss for r in runs[1][0]]
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k]), k


def test_stop_and_lambda_zero(tiny):
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    reports = list(fine_tune(_net(), tiny, 0.0, 10, batch=2, patch=32, stop=stop))
    assert len(reports) == 2
    assert all(r.topo == 0.0 and r.patches_used == 0 and r.loss == r.bce for r in reports)
    assert len(list(pretrain(_net(), tiny, 2, batch=2, patch=32))) == 2


def test_topo_positive_on_broken_prediction(tiny):
    model = _net()
    with torch.no_grad():  # predicts background everywhere: every membrane is broken
        model.head.weight.zero_()
        model.head.bias.fill_(-4.0)
    (r,) = fine_tune(model, tiny, 1.0, 1, batch=2, patch=32, lr=0.0)
    assert r.topo > 0 and r.patches_used == 2 and r.loss > r.bce


def test_topo_dims_choose_the_dimensions_the_loss_sums(tiny):
    """L_topo of Eq. 2.2 is a sum over dimensions: the same step with dims (0, 1)
    costs what dims (0,) and (1,) cost apart; the CLI parses and refuses --topo-dims."""
    from topoviz.__main__ import _dims

    def topo(dims):
        model = _net(3)  # an untrained net: both dimensions have something to fix
        (r,) = fine_tune(model, tiny, 1.0, 1, batch=2, patch=32, lr=0.0, topo_dims=dims)
        return r.topo

    both, zero, one = topo((0, 1)), topo((0,)), topo((1,))
    assert zero > 0 and one > 0
    assert both == pytest.approx(zero + one, rel=1e-6)
    assert _dims("1") == (1,) and _dims("1,0") == (0, 1)
    for bad in ("2", "", "a,1"):
        with pytest.raises(Exception, match="expected"):
            _dims(bad)


def test_snapshots_and_metrics(tiny):
    images, masks = tiny
    reports = list(
        fine_tune(
            _net(),
            tiny,
            0.0,
            3,
            batch=2,
            patch=32,
            snapshot_every=2,
            preview=images[0],
            eval_every=3,
            eval_data=(images[:1], masks[:1]),
            eval_patches=5,
        )
    )
    assert [r.snapshot is not None for r in reports] == [False, True, True]
    assert reports[1].snapshot.shape == (32, 32)
    assert reports[0].metrics is None and set(reports[2].metrics) == {
        *METRICS,
        *REGION_METRICS,
    }


def test_evaluate_table(tiny):
    images, masks = tiny
    res = evaluate(_net(), images[:2], masks[:2], n_patches=5, names=["a", "b"])
    assert res["n"] == 2 and [r["name"] for r in res["per_image"]] == ["a", "b"]
    for m in (*METRICS, *REGION_METRICS):
        vals = [r[m] for r in res["per_image"]]
        assert res["mean"][m] == pytest.approx(np.mean(vals))
        assert res["std"][m] == pytest.approx(np.std(vals))
    for c in ("merges", "splits", "missed", "n_gt"):
        assert res["total"][c] == sum(r[c] for r in res["per_image"])
    text = format_table({"unet": res})
    assert "Betti Error" in text and "±" in text


# --------------------------------------------------------------------------- CLI


def refused(argv: list[str], capsys) -> str:
    """The one line ``python -m topoviz`` prints when it refuses ``argv`` (exit code 2)."""
    capsys.readouterr()
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith(f"python -m topoviz {argv[0]}: error: ") and err.count("\n") == 1, err
    return err


def test_cli_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "train" in out and "evaluate" in out


def test_cli_train_save_load_evaluate(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    common = ["--batch", "2", "--patch", "32", "--base", "4", "--log-every", "1"]
    argv = ["train", "--data", TINY, "--fold", "2/3", "--out", str(ckpt)]
    topo = ["--topo-steps", "2", "--lam", "0.1", "--topo-patch", "16", "--topo-patches", "3"]
    assert main([*argv, "--steps", "2", *topo, *common]) == 0
    err = capsys.readouterr().err
    assert "bce" in err and "s/step" in err
    model, meta = checkpoints.load(ckpt)
    assert nets.arch_of(model) == "unet" and model.config["base"] == 4
    assert meta["loss"] == "bce+topo" and meta["fold"] == "2/3" and meta["lam"] == 0.1
    assert meta["steps"] == {"bce": 2, "topo": 2} and meta["data"] == TINY
    assert meta["held_out"] == ["membranes-002", "membranes-003"]
    assert meta["topo_patch"] == 16 and meta["topo_patches"] == 3
    assert meta["recipe"].startswith("python -m topoviz train")
    assert meta["terms"] == "synthetic (MIT, generated by topoviz.synthetic)"

    # fine-tune only from a checkpoint; λ = 0 makes it a BCE run
    ckpt2 = tmp_path / "m2.pt"
    init = ["--init", str(ckpt), "--topo-steps", "1", "--lam", "0"]
    assert main(["train", "--data", TINY, "--out", str(ckpt2), *init, *common]) == 0
    _, meta2 = checkpoints.load(ckpt2)
    assert meta2["loss"] == "bce" and meta2["steps"] == {"bce": 0, "topo": 1}
    capsys.readouterr()

    assert main(["evaluate", "--checkpoint", str(ckpt), "--json", "--n-patches", "5"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["fold"] == "2/3" and res["n"] == 2
    for m in METRICS:
        assert math.isfinite(res["mean"][m]) and math.isfinite(res["std"][m])
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", TINY, "--fold", "2/3"]) == 0
    out = capsys.readouterr().out
    assert "Accuracy" in out and "Betti Error" in out


def test_evaluate_is_evaluate_predictions_of_the_likelihoods():
    images, masks = make_dataset("membranes", n=2, size=48, seed=0)
    model = _net()
    by_model = evaluate(model, images, masks, n_patches=7, seed=3)
    by_preds = evaluate_predictions([predict(model, x) for x in images], masks, n_patches=7, seed=3)
    for key in ("mean", "std", "betti_parts", "per_image"):
        assert by_model[key] == by_preds[key], key
    perfect = evaluate_predictions(masks, masks, n_patches=7)
    expected = {"accuracy": 1.0, "ari": 1.0, "voi": 0.0, "betti_error": 0.0}
    assert {m: perfect["mean"][m] for m in expected} == pytest.approx(expected, abs=1e-12)
    assert perfect["total"]["merges"] == perfect["total"]["splits"] == 0
    with pytest.raises(ValueError, match="as many masks"):
        evaluate_predictions(masks[:1], masks)


def test_cli_evaluate_references_needs_no_checkpoint(capsys):
    argv = ["evaluate", "--data", TINY, "--fold", "1/3", "--n-patches", "5", "--references"]
    assert main([*argv, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert "checkpoint" not in res and res["fold"] == "1/3"
    refs = res["references"]
    assert list(refs) == [
        "GT thickened 1 px",
        "GT thinned 1 px",
        "GT shifted 1 px",
        "GT + 10 breaks",
        "GT + 10 walls",
        "GT + 10 breaks + 10 walls",
    ]
    assert all(r["n"] == 2 and r["mean"]["accuracy"] < 1 for r in refs.values())
    # the breaks are counted as merges, the walls as splits, and nothing else moves
    assert refs["GT + 10 breaks"]["total"]["merges"] == refs["GT + 10 breaks"]["injected"] > 0
    assert refs["GT + 10 breaks"]["total"]["splits"] == 0
    assert refs["GT + 10 walls"]["total"]["merges"] == 0
    assert 0 < refs["GT + 10 walls"]["total"]["splits"] <= refs["GT + 10 walls"]["injected"]
    # both at once: each counted, none hiding the other; no pinholes anywhere
    both = refs["GT + 10 breaks + 10 walls"]["total"]
    assert both["merges"] == refs["GT + 10 breaks"]["total"]["merges"]
    assert both["merges"] + both["splits"] == refs["GT + 10 breaks + 10 walls"]["injected"]
    assert all(r["total"]["pinholes"] == 0 for r in refs.values())
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "GT thinned 1 px" in out and "missing holes" in out
    assert re.search("--references", refused(["evaluate", "--data", TINY, "--fold", "1/3"], capsys))


def test_isbi12_folds(shared_data):
    pairs = list_pairs(shared_data / "isbi12")
    assert len(pairs) == 30
    assert [p[0].stem for p in fold_split(pairs, 3)[1]] == [f"{i:02d}" for i in range(20, 30)]


# ------------------------------------------- any data folder, FOV masks, interrupt/resume


def test_a_folder_of_any_format_imageio_reads_is_paired_by_stem(tmp_path):
    root = tmp_path / "mixed"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    rng = np.random.default_rng(0)
    lab = np.zeros((8, 8), np.uint8)
    lab[:, 4] = 255
    for i, (ending, label_ending) in enumerate(
        [(".tif", ".png"), (".gif", ".gif"), (".jpg", ".bmp"), (".TIFF", ".tiff")]
    ):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(
            root / "images" / f"{i:02d}{ending}"
        )
        Image.fromarray(lab).save(root / "labels" / f"{i:02d}{label_ending}")
    (root / "images" / "notes.txt").write_text("not an image", encoding="utf-8")
    pairs = list_pairs(root)
    assert [(a.name, b.name) for a, b in pairs] == [
        ("00.tif", "00.png"), ("01.gif", "01.gif"), ("02.jpg", "02.bmp"), ("03.TIFF", "03.tiff")
    ]  # fmt: skip
    split = load_split(root, "all")
    assert split.held_names == ["00", "01", "02", "03"] and split.held_masks[:, :, 4].all()
    Image.fromarray(lab).save(root / "images" / "00.png")  # a second "00"
    with pytest.raises(ValueError, match="two files named '00'"):
        list_pairs(root)


def test_field_of_view_masks_restrict_the_scores_to_the_inside(tmp_path):
    root = _write_folder(tmp_path / "retina", ["a", "b", "c"], size=16)
    (root / "masks").mkdir()
    fov = np.zeros((16, 16), np.uint8)
    fov[4:12, 4:12] = 255
    for name in ("a", "b", "c"):
        Image.fromarray(fov).save(root / "masks" / f"{name}.png")
    split = load_split(root, "all")
    assert split.held_fov.shape == (3, 16, 16) and split.held_fov.sum() == 3 * 64
    masks = split.held_masks
    wrong_outside = masks.copy()
    wrong_outside[:, 1:4, 1:4] = True  # a spurious ring, outside the field of view
    wrong_outside[:, 2, 2] = False
    inside = masks.copy()
    inside[:, 5, 5:7] = True  # one error inside: 2 wrong pixels of 64
    plain = evaluate_predictions(wrong_outside, masks, n_patches=5)
    assert plain["mean"]["accuracy"] < 1 and plain["mean"]["betti_error"] > 0
    scored = evaluate_predictions(wrong_outside, masks, n_patches=5, fovs=split.held_fov)
    assert scored["mean"]["accuracy"] == 1.0 and scored["mean"]["betti_error"] == 0.0
    scored = evaluate_predictions(inside, masks, n_patches=5, fovs=split.held_fov)
    assert scored["mean"]["accuracy"] == pytest.approx(1 - 2 / 64)
    (root / "masks" / "c.png").unlink()
    with pytest.raises(ValueError, match="no field-of-view mask for c"):
        load_split(root, "all")


def test_evaluate_on_another_folder_scores_all_of_it_and_says_so(tmp_path, capsys):
    ckpt = tmp_path / "m.pt"
    common = ["--batch", "2", "--patch", "32", "--base", "4", "--log-every", "0"]
    assert (
        main(
            ["train", "--data", TINY, "--fold", "2/3", "--out", str(ckpt), "--steps", "1", *common]
        )
        == 0
    )
    other = _write_folder(tmp_path / "other", [f"{i:02d}" for i in range(6)], size=16)
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--checkpoint",
                str(ckpt),
                "--data",
                str(other),
                "--n-patches",
                "2",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    res = json.loads(captured.out)
    assert res["fold"] == "all" and res["n"] == 6  # not the checkpoint's fold 2/3 (2 images)
    assert "not the checkpoint's own data" in captured.err and "--fold K/N" in captured.err
    argv = ["evaluate", "--checkpoint", str(ckpt), "--data", str(other), "--fold", "1/3"]
    assert main([*argv, "--n-patches", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 2  # asked for: one fold
    assert main(["evaluate", "--checkpoint", str(ckpt), "--n-patches", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fold"] == "2/3"  # its own data: its fold


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_train_saves_its_progress_and_resume_finishes_it(
    tmp_path, monkeypatch, signum, capsys
):
    import topoviz.__main__ as cli

    real = cli.pretrain

    def interrupted_after_two_steps(*args, **kwargs):
        for report in real(*args, **kwargs):
            yield report
            if report.step == 2:
                os.kill(os.getpid(), signum)  # as Ctrl-C or `kill` would, mid-run

    monkeypatch.setattr(cli, "pretrain", interrupted_after_two_steps)
    ckpt = tmp_path / "run.pt"
    common = ["--batch", "2", "--patch", "32", "--base", "4", "--log-every", "0"]
    topo = ["--topo-steps", "1", "--lam", "0.1", "--topo-patch", "16"]
    argv = ["train", "--data", TINY, "--out", str(ckpt), "--steps", "5", *topo, *common]
    assert main(argv) == (130 if signum == signal.SIGINT else 143)
    assert (
        signal.getsignal(signum) is not None and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    _, meta = checkpoints.load(ckpt)
    assert meta["steps"] == {"bce": 2, "topo": 0} and meta["interrupted"] == signum.name
    assert meta["run"]["targets"] == {"bce": 5, "topo": 1}

    monkeypatch.setattr(cli, "pretrain", real)
    done = tmp_path / "done.pt"
    assert main(["train", "--resume", str(ckpt), "--out", str(done), "--log-every", "0"]) == 0
    model, meta2 = checkpoints.load(done)
    assert meta2["steps"] == {"bce": 5, "topo": 1} and meta2["interrupted"] is None
    assert meta2["resumed_from"] == str(ckpt) and meta2["recipe"] == meta["recipe"]
    assert meta2["data"] == TINY and meta2["lam"] == 0.1 and model.config["base"] == 4
    assert re.search("nothing to resume", refused(["train", "--resume", str(done)], capsys))
    # an odd record of the run (the file is untrusted) is said in one line, not raised
    options = meta["run"]["options"]
    for odd in (
        {"steps": 5},
        {"run": {"targets": {"bce": 5, "topo": 1}}},
        {"run": {**meta["run"], "options": {**options, "batch": "8"}}},
        {"run": {**meta["run"], "options": {**options, "topo_dims": 5}}},
    ):
        bad = tmp_path / "odd.pt"
        checkpoints.save(bad, model, {**meta, **odd})
        said = refused(["train", "--resume", str(bad)], capsys)
        assert re.search("records its run in a form train does not read", said), said


def test_cli_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint", encoding="utf-8")
    cases = [
        (["evaluate", "--checkpoint", str(tmp_path / "nope.pt")], "nope.pt"),
        (["evaluate", "--checkpoint", str(text)], "not a checkpoint"),
        (["evaluate", "--references", "--data", TINY, "--fold", "4/3"], "fold"),
        (
            ["evaluate", "--references", "--data", str(tmp_path / "none"), "--fold", "1/3"],
            "not found",
        ),
        (
            ["train", "--data", TINY, "--out", str(tmp_path / "m.pt"), "--init", str(text)],
            "checkpoint",
        ),
    ]
    for argv, words in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"python -m topoviz {argv[0]}: error: "), err  # one line, last
        assert words in err[-1] and not any("Traceback" in line for line in err), (argv, err)


def test_cli_training_options_are_checked_before_the_first_step(tmp_path, capsys):
    # a bad --lam used to surface after the whole BCE pretraining, and lose its net
    base = ["train", "--data", TINY, "--out", str(tmp_path / "m.pt"), "--steps", "3",
            "--topo-steps", "3", "--log-every", "1"]  # fmt: skip
    for extra, words in (
        (["--lam", "-1"], "--lam must be a finite number"),
        (["--lam", "nan"], "--lam must be a finite number"),
        (["--topo-steps", "-5"], "--topo-steps must be >= 0"),
        (["--seed", "-1"], "--seed must be >= 0"),
        (["--lr", "nan"], "--lr must be a finite number > 0"),
        (["--topo-patch", "0"], "--topo-patch must be at least 2 x 2"),
        (["--out", str(tmp_path)], "is a folder"),
        # λ without its stage: the run was BCE alone, its checkpoint recording λ 0.1
        (["--topo-steps", "0", "--lam", "0.1"], "--lam 0.1 weighs L_topo in the --topo-steps"),
    ):
        assert re.search(words, refused(base + extra, capsys))  # one line: no step ran
    assert not (tmp_path / "m.pt").exists()


def test_cli_the_same_synthetic_spec_is_the_checkpoints_own_data(tmp_path, capsys):
    from topoviz.__main__ import _same_data

    meta = {"data": "synthetic:membranes?n=24&size=256&seed=0"}
    assert _same_data("synthetic:membranes", meta)  # the defaults, written out
    assert _same_data("synthetic:membranes?seed=0&size=256&n=24", meta)  # another order
    assert not _same_data("synthetic:membranes?n=6", meta)
    ckpt = tmp_path / "m.pt"
    common = ["--batch", "2", "--patch", "16", "--base", "4", "--log-every", "0"]
    main(["train", "--data", TINY, "--fold", "1/3", "--out", str(ckpt), "--steps", "2", *common])
    capsys.readouterr()
    spelled = TINY.replace("n=6&size=32&seed=0", "seed=0&size=32&n=6")
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", spelled, "--n-patches", "2"]) == 0
    out = capsys.readouterr()
    assert "fold 1/3: 2 held-out image(s)" in out.out and "not the checkpoint's own" not in out.err
    # its held-out fold, not every image: and --val-every on a net that trained on them
    assert re.search(
        "would not be a validation",
        refused(
            ["evaluate", "--checkpoint", str(ckpt), "--val-every", "2", "--n-patches", "2"], capsys
        ),
    )


def test_cli_finds_a_checkpoints_data_from_another_folder(tmp_path, monkeypatch):
    # the shipped checkpoints record their data relative to the project root, where
    # the recipes run ("../shared/data/isbi12"): evaluate from elsewhere finds it
    from topoviz.__main__ import _from_project, _same_data

    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    assert _from_project("sample_data") == str(root / "sample_data")
    assert _from_project("no/such/folder") == "no/such/folder"  # nothing to find: as given
    assert _from_project(TINY) == TINY
    assert _same_data(str(root / "sample_data"), {"data": "sample_data"})


def test_cli_scoring_options_are_refused_by_their_flag(capsys):
    refs = ["evaluate", "--references", "--data", TINY, "--fold", "1/3"]
    for extra, words in (
        (["--n-patches", "0"], r"--n-patches must be in 1\.\.100000"),
        (["--n-patches", "100000000"], r"--n-patches must be in 1\.\.100000"),  # ran on
        (["--val-every", "1"], r"--val-every must be 0 \(off\) or >= 2"),
        (["--inject", "-2"], r"--inject must be in 0\.\.100"),
        (["--inject", "100000000"], r"--inject must be in 0\.\.100"),
        (["--seed", "-1"], "--seed must be >= 0"),
    ):
        assert re.search(words, refused(refs + extra, capsys))
    assert re.search(
        "--inject sets the breaks of --references",
        refused(
            ["evaluate", "--data", TINY, "--fold", "1/3", "--checkpoint", "x.pt", "--inject", "3"],
            capsys,
        ),
    )
    assert main(refs + ["--n-patches", "2", "--inject", "2"]) == 0
    out = capsys.readouterr().out
    assert "GT + 2 breaks:" in out and "errors injected over the 2 image(s)" in out
    assert "GT shifted 1 px: 0 errors" not in out  # none injected there: no line for it
    assert "injected in all" not in out


def test_a_label_of_another_size_in_a_folder_is_named(tmp_path, capsys):
    root = _write_folder(tmp_path / "set", ["a", "b", "c"], size=16)
    label = next((root / "labels").glob("b.*"))
    Image.fromarray(np.zeros((12, 16), np.uint8)).save(label)
    with pytest.raises(ImageError, match=rf"{label}: The mask is 16×12 pixels") as caught:
        load_split(root, "all")
    assert "resize=True" not in str(caught.value)  # library advice, not for a data folder
    assert main(["evaluate", "--references", "--data", str(root), "--fold", "all"]) == 2
    assert f"{label}: The mask is 16×12" in capsys.readouterr().err


def test_cli_refuses_nonsense_sizes_by_their_flag(tmp_path, capsys):
    """--base 0 had silently trained base 16, --base with the six-layer net was
    ignored, a 1-px crop trained on nothing, and a synthetic set of 20000² images
    ended in numpy's MemoryError traceback."""
    out = ["--out", str(tmp_path / "n.pt"), "--steps", "1"]
    train = ["train", "--data", TINY, "--fold", "1/3", *out]
    for extra, words in (
        (["--base", "0"], r"--base must be in 1\.\.256; got 0"),
        (["--arch", "sixlayer", "--base", "8"], "--base sets a U-Net's channels"),
        (["--patch", "1"], "--patch must be >= 8; got 1"),
        (["--batch", "0"], "--batch must be >= 1"),
    ):
        assert re.search(words, refused(train + extra, capsys)), extra
    big = ["train", "--data", "synthetic:membranes?size=20000", *out]
    assert "16 <= size <= 4096" in refused(big, capsys)
    many = ["train", "--data", "synthetic:membranes?n=100000&size=64", *out]
    assert "at most 128 M pixels in all" in refused(many, capsys)
    assert not (tmp_path / "n.pt").exists()


def test_cli_says_in_one_line_when_memory_runs_out(monkeypatch, capsys):
    import topoviz.__main__ as cli

    def greedy(args):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 360000000000 bytes."
        )

    monkeypatch.setattr(cli, "_cmd_evaluate", greedy)  # build_parser reads the name
    err = refused(["evaluate", "--data", TINY, "--fold", "1/3", "--references"], capsys)
    assert "not enough memory for this run" in err and "360000000000 bytes" in err

    def bug(args):
        raise RuntimeError("a bug, not memory")

    monkeypatch.setattr(cli, "_cmd_evaluate", bug)
    with pytest.raises(RuntimeError, match="a bug"):  # other errors keep their traceback
        main(["evaluate", "--data", TINY, "--fold", "1/3", "--references"])


def test_cli_warns_once_per_kind_of_what_the_reader_noticed(tmp_path, capsys):
    """ISBI12's own download marks the cells white: read as given, accuracy read
    0.909 where it was 0.091, without a word. A label more than half foreground is
    now flipped, as the app flips an uploaded one, and each kind of notice is one
    warning line."""
    root = _write_folder(tmp_path / "set", ["a", "b", "c"], size=16)
    for name in ("a", "b"):  # cells white, membrane black: the other polarity
        lab = np.full((16, 16), 255, np.uint8)
        lab[:, 8] = 0
        Image.fromarray(lab).save(root / "labels" / f"{name}.png")
    capsys.readouterr()
    argv = ["evaluate", "--references", "--data", str(root), "--fold", "all"]
    assert main([*argv, "--n-patches", "2", "--inject", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    said = [line for line in err if "looked inverted (94% foreground" in line]
    assert len(said) == 1, err
    assert said[0].startswith("python -m topoviz evaluate: warning: 2 of 3 labels, e.g. ")
    assert "flipped so that white = structure" in said[0]
    # ... so the file scores as the app scores it: the same pair, flipped or made right
    scores = []
    for lab in (np.full((16, 16), 255, np.uint8), np.zeros((16, 16), np.uint8)):
        lab[:, 8] = 255 - lab[0, 0]  # one membrane column, in either polarity
        Image.fromarray(lab).save(root / "labels" / "a.png")
        assert main(["evaluate", "--references", "--data", str(root), "--fold", "all",
                     "--n-patches", "2", "--inject", "1", "--json"]) == 0  # fmt: skip
        scores.append(json.loads(capsys.readouterr().out))
    drop = re.compile(r'"seconds": [0-9.e-]+')  # timings differ run to run
    same = [drop.sub("", json.dumps(x, sort_keys=True)) for x in scores]
    assert same[0] == same[1]


def test_evaluate_scores_all_of_other_data_for_a_checkpoint_saved_without_meta(tmp_path, capsys):
    """README: `evaluate --checkpoint C --data OTHER` scores all of OTHER unless --fold
    is given; a net saved by checkpoints.save with no meta had asked for --fold."""
    from topoviz import checkpoints

    path = tmp_path / "bare.pt"
    checkpoints.save(path, _net(), {})
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(path), "--data", TINY, "--n-patches", "2"]) == 0
    err = capsys.readouterr().err
    assert "not the checkpoint's own data (it names none): evaluating all its images" in err


def test_evaluate_says_a_missing_folder_first_and_each_images_betti_seed(tmp_path, capsys):
    """A missing --data folder was first called 'not the checkpoint's own data:
    evaluating all its images', then not found. And the per-image Betti error
    depends on the image's place in the folder: its seed is now in the JSON."""
    from topoviz import checkpoints

    path = tmp_path / "bare.pt"
    checkpoints.save(path, _net(), {})
    capsys.readouterr()
    argv = ["evaluate", "--checkpoint", str(path), "--data", str(tmp_path / "none")]
    err = refused(argv, capsys)
    assert err.startswith("python -m topoviz evaluate: error: data folder not found")
    assert "own data" not in err
    argv = ["evaluate", "--checkpoint", str(path), "--data", TINY, "--n-patches", "2"]
    assert main([*argv, "--json", "--seed", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)["per_image"]
    assert [r["betti_seed"] for r in rows] == list(range(5, 5 + len(rows)))


def test_evaluate_warns_when_the_images_look_unlike_the_checkpoints_data(tmp_path, capsys):
    """The app's sidebar warned about a net applied to unlike data; the CLI scored
    it without a word. Random uint8 noise is far from ISBI12's texture."""
    from topoviz import checkpoints

    root = _write_folder(tmp_path / "set", ["a", "b", "c"], size=16)
    path = tmp_path / "isbi.pt"
    checkpoints.save(path, _net(), {"data": "../shared/data/isbi12", "fold": "1/3"})
    capsys.readouterr()
    argv = ["evaluate", "--checkpoint", str(path), "--data", str(root), "--n-patches", "2"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "look unlike isbi12" in line]
    assert len(said) == 1 and said[0].startswith("python -m topoviz evaluate: warning: 3 of 3")
    assert "texture" in said[0]
    checkpoints.save(path, _net(), {"data": str(root), "fold": "1/3"})  # its own data
    capsys.readouterr()
    assert main([*argv, "--fold", "1/3"]) == 0
    assert "look unlike" not in capsys.readouterr().err


def test_train_does_not_overwrite_a_shipped_checkpoint(capsys):
    shipped = Path(__file__).resolve().parents[1] / "models" / "membranes_unet_bce.pt"
    before = shipped.read_bytes()
    argv = ["train", "--data", TINY, "--fold", "1/3", "--out", str(shipped), "--steps", "1"]
    assert "is a shipped checkpoint; write elsewhere" in refused(argv, capsys)
    assert shipped.read_bytes() == before


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        (lambda im, m: ((im * 255).astype(np.uint8), m), r"image 0 values .* divide it by 255"),
        (lambda im, m: (im * 255.0, m), r", 255\] \(an 8-bit image: divide it by 255\)"),
        (lambda im, m: (im, m[:, :-1]), r"mask 0 is \(31, 32\) but its image is \(32, 32\)"),
        (lambda im, m: (im[:2], m), "2 images and 4 masks"),
        (lambda im, m: (np.where(im > 0.5, np.nan, im), m), "image 0 contains NaN"),
    ],
)
def test_fine_tune_refuses_data_that_predict_would_refuse_at_the_call(tiny, bad, said):
    """An 8-bit set trained without a word, and predict then refused its images."""
    images, masks = tiny
    with pytest.raises(ValueError, match=said):
        fine_tune(_net(), bad(images, masks), 0.1, 3, batch=2, patch=32)  # not a step run
    with pytest.raises(ValueError, match=r"a pair \(images, masks\)"):
        fine_tune(_net(), images, 0.1, 3, batch=2, patch=32)
