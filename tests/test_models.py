"""The shipped checkpoints: the manifest is true to the files, and they run."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from topoviz import checkpoints, predict

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))[
    "checkpoints"
]
REQUIRED = {
    "name",
    "file",
    "arch",
    "data",
    "fold",
    "loss",
    "pair",
    "recipe",
    "seed",
    "terms",
    "metrics",
}


def test_manifest_lists_each_file_once_with_the_required_fields():
    names = [c["name"] for c in MANIFEST]
    assert len(names) == len(set(names)) and names
    for c in MANIFEST:
        assert REQUIRED <= set(c), REQUIRED - set(c)
        assert c["loss"] in ("bce", "bce+topo")
        assert {"accuracy", "ari", "voi", "betti_error", "merges", "splits"} <= set(
            c["metrics"]["mean"]
        )
        assert set(c["metrics"]["total"]) == {
            "merges",
            "splits",
            "missed",
            "n_gt",
            "pinholes",
            "fragments",
        }
    # every pair is one baseline and one TopoLoss twin per matching rule (the paper's;
    # Betti matching on ISBI12 and CrackForest), all from the same base
    pairs = {}
    for c in MANIFEST:
        pairs.setdefault(c["pair"], []).append(c["loss"] + ":" + c["rule"])
    for name, nets in pairs.items():
        want = ["bce+topo:betti"] if name.startswith(("isbi12", "crackforest")) else []
        assert sorted(nets) == sorted(["bce:paper", "bce+topo:paper", *want]), (name, nets)


@pytest.mark.parametrize("entry", MANIFEST, ids=[c["name"] for c in MANIFEST])
def test_each_checkpoint_is_small_loads_and_predicts(entry):
    path = ROOT / entry["file"]
    assert path.stat().st_size <= 5 * 2**20
    model, meta = checkpoints.load(path)
    assert meta["arch"] == entry["arch"]
    f = predict(model, np.random.default_rng(0).random((37, 53)).astype(np.float32))
    assert f.shape == (37, 53) and 0.0 <= f.min() and f.max() <= 1.0


def test_predict_paints_no_false_structure_along_the_border():
    # The nets learn on crops from inside images; next to the convolutions' zero
    # padding they once predicted f ~ 0.5 along the right and bottom edges of a
    # membrane image whose background is ~0.1. The reflect margin removes that.
    from topoviz.imageio import load_image, load_mask

    entry = next(c for c in MANIFEST if c["data"] == "synthetic-membranes")
    model, _ = checkpoints.load(ROOT / entry["file"])
    image = load_image(ROOT / "sample_data/membranes_0.png")
    mask = load_mask(ROOT / "sample_data/membranes_0_mask.png")
    for f in (predict(model, image), predict(model, image, tile=100, overlap=24)):
        for edge in (f[:, :3], f[:, -3:], f[:3], f[-3:]):
            assert edge.mean() < 0.25, edge.mean()
    bare = predict(model, image, margin=0)
    assert bare[:, -3:].mean() > 0.3  # the artefact the margin is for
    assert np.mean((predict(model, image) >= 0.5) == mask) > 0.97


def _held_out(entry: dict, request: pytest.FixtureRequest):
    """The held-out images and masks of an entry's fold, from its ``data_source``."""
    from topoviz.data import load_split

    source = entry["data_source"]
    if not source.startswith("synthetic:"):
        request.getfixturevalue("shared_data")  # skips when the real data is absent
        source = ROOT / source
    split = load_split(source, f"{entry['fold']}/{entry.get('folds', 3)}")
    assert list(split.held_names) == [str(n) for n in entry["held_out"]]
    return split.held_out


@pytest.mark.parametrize("entry", MANIFEST, ids=[c["name"] for c in MANIFEST])
def test_manifest_accuracy_is_what_the_checkpoint_scores(entry, request):
    """The manifest's numbers belong to the file shipped: re-measure the pixel
    accuracy (every held-out image, thresholded at 0.5) and compare."""
    from topoviz.metrics import region_errors

    images, masks = _held_out(entry, request)
    model, _ = checkpoints.load(ROOT / entry["file"])
    preds = [predict(model, im) >= 0.5 for im in images]
    accs = [np.mean(p == mk) for p, mk in zip(preds, masks, strict=True)]
    assert np.mean(accs) == pytest.approx(entry["metrics"]["mean"]["accuracy"], abs=2e-4)
    assert len(accs) == entry["metrics"]["n_images"]
    # and so do the pooled region counts (an off-by-one prediction would move them)
    found = [
        region_errors(p, mk, entry["metrics"]["structure"])
        for p, mk in zip(preds, masks, strict=True)
    ]
    total = entry["metrics"]["total"]
    assert sum(r.merges for r in found) == pytest.approx(total["merges"], abs=1)
    assert sum(r.splits for r in found) == pytest.approx(total["splits"], abs=1)


def test_the_one_pixel_references_quoted_in_models_readme(shared_data):
    """models/README's "How low can the Betti error go?" rows for ISBI12 fold 1 are
    what ``evaluate --references`` measures (same patches and seeds)."""
    from topoviz.data import load_split
    from topoviz.metrics import one_pixel_references
    from topoviz.train import evaluate_predictions

    masks = load_split(shared_data / "isbi12", "1/3").held_out[1]
    refs = [one_pixel_references(m) for m in masks]
    readme = (ROOT / "models" / "README.md").read_text(encoding="utf-8")
    for name in refs[0]:
        res = evaluate_predictions([r[name] for r in refs], masks, n_patches=200)
        mean, std = res["mean"]["betti_error"], res["std"]["betti_error"]
        assert f"| 1/3 | {name} |" in readme and f"{mean:.4f} ± {std:.4f}" in readme, name


def test_the_pooled_tables_in_models_readme_are_the_manifests(models_script):
    """models/README's per-fold and pooled tables are what ``models/tables.py`` prints
    from the manifest (whose metrics the test above re-measures from the files)."""
    tables = models_script("tables")
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    readme = (ROOT / "models" / "README.md").read_text(encoding="utf-8")
    by_set = tables.rows_by_set(manifest)
    assert set(by_set) == {"isbi12", "crackforest"}
    blocks = [tables.rules_table(by_set)]
    for name, pairs in by_set.items():
        assert len(pairs) == 3 and all(set(nets) == {"bce", "topo", "betti"} for nets in pairs)
        blocks += [tables.fold_table(name, pairs)]
        blocks += [tables.pooled_table(name, pairs, twin) for twin in ("topo", "betti")]
    for block in blocks:
        for line in block.splitlines():
            assert line in readme, line


def test_the_calibration_rows_quoted_in_models_readme(shared_data):
    """models/README's calibration rows for ISBI12 fold 1 (the ground truth shifted,
    and with 10 breaks / walls per image) are what ``evaluate --references`` measures."""
    from topoviz.calibration import calibration_set
    from topoviz.data import load_split
    from topoviz.train import evaluate_predictions

    masks = load_split(shared_data / "isbi12", "1/3").held_out[1]
    cal = [calibration_set(m, "membranes", n=10, seed=0) for m in masks]
    readme = (ROOT / "models" / "README.md").read_text(encoding="utf-8")
    for name in cal[0]:
        res = evaluate_predictions([c[name][0] for c in cal], masks, n_patches=200)
        made = sum(c[name][1] for c in cal)
        t = res["total"]
        row = f"| 1/3 | {name} | {made} | {t['merges']} | {t['splits']} |"
        assert row in readme, row


def _dry_run_recipes(tmp_path: Path, *pairs: str, picked: str = "steps1200") -> list[list[str]]:
    """``models/recipes.sh PAIR ...`` in a scratch copy of the project, with a stub
    ``python`` on PATH that logs each command and writes the checkpoint it is asked
    for: the commands the recipe would run, in order, nothing trained or copied over
    the shipped files. ``python -c`` (the recipe asking validation.json which
    (steps, lr) group was picked) answers ``picked``."""
    proj = tmp_path / "proj"
    (proj / "models").mkdir(parents=True)
    (proj / "models" / "recipes.sh").write_text(
        (ROOT / "models" / "recipes.sh").read_text(encoding="utf-8"), encoding="utf-8"
    )
    log = tmp_path / "commands.log"
    stub = tmp_path / "bin" / "python"
    stub.parent.mkdir()
    stub.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\t" "$@" >> "{log}"; printf "\\n" >> "{log}"\n'
        'prev=""; for a in "$@"; do [ "$prev" = --out ] && : > "$a"; prev=$a; done\n'
        f'if [ "$1" = -c ]; then echo {picked}; else echo "{{}}"; fi\n'
    )
    stub.chmod(0o755)
    git = stub.parent / "git"  # `git show COMMIT:FILE > OUT` (a base of the seeds stages)
    git.write_text(
        f'#!/usr/bin/env bash\nprintf "git\\t" >> "{log}"; printf "%s\\t" "$@" >> "{log}"; '
        f'printf "\\n" >> "{log}"\n'
    )
    git.chmod(0o755)
    env = {**os.environ, "PATH": f"{stub.parent}:{os.environ['PATH']}", "R": str(tmp_path / "runs")}
    subprocess.run(
        ["bash", str(proj / "models" / "recipes.sh"), *pairs],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return [line.rstrip("\t").split("\t") for line in log.read_text().splitlines()]


def _option(cmd: list[str], name: str, default: str | None = None) -> str | None:
    return cmd[cmd.index(name) + 1] if name in cmd else default


def test_recipes_train_each_twin_with_the_lambda_and_rule_of_its_manifest_entry(tmp_path):
    """The shipped recipe, run dry: every ISBI12 and CrackForest twin is trained with
    the λ, matching rule, homology dimensions, steps and learning rate its manifest
    entry records, from
    the pair's base, on the pair's fold, and copied to the file the manifest names."""
    pairs = [f"{d}-f{k}" for d in ("isbi12", "crackforest") for k in (1, 2, 3)]
    commands = _dry_run_recipes(tmp_path, *pairs)
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    checked = 0
    for entry in MANIFEST:
        if not entry["pair"].startswith(("isbi12", "crackforest")):
            continue
        fold = f"{entry['fold']}/{entry['folds']}"
        data = "isbi12" if entry["pair"].startswith("isbi12") else "crackforest"
        lam = float(entry["lam"])
        found = [
            c
            for c in trains
            if _option(c, "--init", "").endswith(f"{data}-f{entry['fold']}-base.pt")
            and _option(c, "--fold") == fold
            and float(_option(c, "--lam")) == lam
            and _option(c, "--rule", "paper") == entry["rule"]
            and _option(c, "--topo-dims", "1") == ",".join(map(str, entry["topo_dims"]))
        ]
        assert len(found) == 1, (entry["name"], lam, entry["rule"])
        assert int(_option(found[0], "--topo-steps")) == entry["steps"]["topo"]
        assert float(_option(found[0], "--lr")) == entry["lr"]["topo"]
        assert (tmp_path / "proj" / entry["file"]).exists(), entry["file"]
        checked += 1
    assert checked == 18


def test_the_validation_grid_recipe_trains_each_group_with_its_own_control(tmp_path):
    """``recipes.sh isbi12-val-f1-grid``: two groups (1200 steps at lr 1e-4, 600 at
    3e-4), each λ in {0, 0.03, 0.1, 0.3} on fold 1 less its validation images, from
    the fold's base, then one choose_lambda call per group with its control first, and
    last the pick among the groups (the first, 600 steps at lr 1e-4, is isbi12-val-f1's)."""
    commands = _dry_run_recipes(tmp_path, "isbi12-val-f1-grid")
    grid = [c for c in commands if c[:3] == ["-m", "topoviz", "train"] and "--val-every" in c]
    got = {(_option(c, "--topo-steps"), _option(c, "--lr"), _option(c, "--lam")) for c in grid}
    want = {
        (s, lr, lam)
        for s, lr in (("1200", "1e-4"), ("600", "3e-4"))
        for lam in ("0", "0.03", "0.1", "0.3")
    }
    assert got == want and len(grid) == 8
    assert all(_option(c, "--init").endswith("isbi12-f1-base.pt") for c in grid)
    chooses = [c for c in commands if c[0] == "models/choose_lambda.py"]
    assert chooses[-1][1:] == ["--pick", "isbi12-f1", "isbi12-f1-steps1200", "isbi12-f1-lr3e-4"]
    chooses = chooses[:-1]
    assert [c[1] for c in chooses] == ["isbi12-f1-steps1200", "isbi12-f1-lr3e-4"]
    for c, tag in zip(chooses, ("steps1200", "lr3e-4"), strict=True):
        assert [Path(x).name for x in c[2:]] == [
            f"isbi12-val-{tag}-{lam}.pt" for lam in ("0", "0.03", "0.1", "0.3")
        ]


def test_the_betti_sweep_at_1200_steps_shares_the_grid_control(tmp_path):
    """``recipes.sh isbi12-val-f1-betti-steps1200``: Betti matching at λ in {0.03,
    0.1, 0.3} for 1200 steps, chosen against the 1200-step λ = 0 control of the grid."""
    commands = _dry_run_recipes(tmp_path, "isbi12-val-f1-betti-steps1200")
    runs = [c for c in commands if c[:3] == ["-m", "topoviz", "train"] and "--val-every" in c]
    betti = [c for c in runs if _option(c, "--rule") == "betti"]
    assert sorted(_option(c, "--lam") for c in betti) == ["0.03", "0.1", "0.3"]
    assert {_option(c, "--topo-steps") for c in runs} == {"1200"}
    (choose,) = [c for c in commands if c[0] == "models/choose_lambda.py"]
    assert choose[1] == "isbi12-f1-betti-steps1200"
    assert Path(choose[2]).name == "isbi12-val-steps1200-0.pt" and len(choose) == 6


def test_the_betti_sweep_on_both_dimensions_is_picked_against_dimension_one(tmp_path):
    """``recipes.sh crackforest-val-f1-betti-dims01``: Betti matching at λ in {0.03,
    0.1, 0.3} with L_topo on dimensions 0 and 1, chosen against the 600-step λ = 0
    control, then picked against the dimension-1 sweep (named first)."""
    commands = _dry_run_recipes(tmp_path, "crackforest-val-f1-betti-dims01")
    runs = [c for c in commands if c[:3] == ["-m", "topoviz", "train"] and "--val-every" in c]
    betti = [c for c in runs if _option(c, "--rule") == "betti"]
    assert sorted(_option(c, "--lam") for c in betti) == ["0.03", "0.1", "0.3"]
    assert {_option(c, "--topo-dims") for c in betti} == {"0,1"}
    choose, pick = [c for c in commands if c[0] == "models/choose_lambda.py"]
    assert choose[1] == "crackforest-f1-betti-dims01"
    assert Path(choose[2]).name == "crackforest-val0.pt" and len(choose) == 6
    assert pick[1:] == ["--pick", "crackforest-f1-betti", "crackforest-f1-betti-dims01"]


def test_the_clean_validation_keeps_the_validation_images_out_of_pretraining(tmp_path):
    """``recipes.sh isbi12-val-f1-clean isbi12-val-f1-clean-grid``: pretraining and
    base leave the validation images out too (``--val-every 5`` on every run), the
    λ sweeps of both rules and of the three (steps, lr) groups start from that base,
    then the pick among the groups, and the sweeps from the leaky base are retired."""
    commands = _dry_run_recipes(tmp_path, "isbi12-val-f1-clean", "isbi12-val-f1-clean-grid")
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert trains and all(_option(c, "--val-every") == "5" for c in trains)
    pre, base, *sweeps = trains
    assert _option(pre, "--steps") == "2000" and "--init" not in pre
    assert _option(base, "--init") == _option(pre, "--out")
    assert all(_option(c, "--init") == _option(base, "--out") for c in sweeps)
    got = sorted(
        (_option(c, "--rule", "paper"), _option(c, "--topo-steps"), _option(c, "--lr"))
        + (_option(c, "--lam"),)
        for c in sweeps
    )
    want = sorted(
        [("betti", "1200", "1e-4", lam) for lam in ("0.03", "0.1", "0.3")]
        + [
            ("paper", steps, lr, lam)
            for steps, lr in (("1200", "1e-4"), ("600", "1e-4"), ("600", "3e-4"))
            for lam in ("0", "0.03", "0.1", "0.3")
        ]
    )
    assert got == want
    chooses = [c[1:] for c in commands if c[0] == "models/choose_lambda.py"]
    names = [c[0] for c in chooses if not c[0].startswith("--")]
    assert names == [
        "isbi12-f1-clean-steps1200",
        "isbi12-f1-clean-betti-steps1200",
        "isbi12-f1-clean-steps600",
        "isbi12-f1-clean-lr3e-4",
    ]
    picks = [c for c in chooses if c[0] == "--pick"]
    assert picks == [
        [
            "--pick",
            "isbi12-f1-clean-steps600",
            "isbi12-f1-clean-steps1200",
            "isbi12-f1-clean-lr3e-4",
        ]
    ]
    retired = {old: c[1] for c in chooses if c[0] == "--retire" for old in c[2:]}
    assert retired == {
        "isbi12-f1": "isbi12-f1-clean-steps600",
        "isbi12-f1-steps1200": "isbi12-f1-clean-steps1200",
        "isbi12-f1-lr3e-4": "isbi12-f1-clean-lr3e-4",
        "isbi12-f1-betti-steps1200": "isbi12-f1-clean-betti-steps1200",
        "isbi12-f1-betti-steps1200-dims01": "isbi12-f1-clean-betti-steps1200",
    }


def test_isbi12s_clean_base_also_sweeps_betti_on_both_dimensions(tmp_path):
    """``recipes.sh isbi12-val-f1-clean-dims01`` (after ``isbi12-val-f1-clean``):
    Betti matching with L_topo on dimensions 0 and 1 at ISBI12's 1200 steps from the
    clean base, its λ chosen against the clean control, then picked against the
    dimension-1 sweep, named first so that a tie keeps dimension 1."""
    commands = _dry_run_recipes(tmp_path, "isbi12-val-f1-clean-dims01")
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert trains and all(_option(c, "--val-every") == "5" for c in trains)
    base = next(c for c in trains if Path(_option(c, "--out")).name == "isbi12-f1v-base.pt")
    both = [c for c in trains if _option(c, "--topo-dims") == "0,1"]
    assert sorted(_option(c, "--lam") for c in both) == ["0.03", "0.1", "0.3"]
    for c in both:
        assert _option(c, "--rule") == "betti" and _option(c, "--topo-steps") == "1200"
        assert _option(c, "--init") == _option(base, "--out")
    chooses = [c[1:] for c in commands if c[0] == "models/choose_lambda.py"]
    dims01 = next(c for c in chooses if c[0] == "isbi12-f1-clean-betti-steps1200-dims01")
    assert Path(dims01[1]).name == "isbi12-f1v-val-0.pt" and len(dims01) == 5
    assert chooses[-1] == [
        "--pick",
        "isbi12-f1-clean-betti-steps1200",
        "isbi12-f1-clean-betti-steps1200-dims01",
    ]


def test_betti_on_both_dimensions_is_swept_in_the_group_the_fold_picked(tmp_path):
    """``recipes.sh isbi12-val-f2-clean-dims01``: where fold 2's grid picked 600 steps at
    lr 3e-4, Betti matching on dimensions 0 and 1 runs there (against that group's
    control), then is picked against the same group's dimension-1 sweep; nothing of
    val_clean's group (1200 steps) runs again."""
    commands = _dry_run_recipes(tmp_path, "isbi12-val-f2-clean-dims01", picked="lr3e-4")
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert sorted(_option(c, "--lam") for c in trains) == ["0.03", "0.1", "0.3"]
    for c in trains:
        assert (_option(c, "--rule"), _option(c, "--topo-dims")) == ("betti", "0,1")
        assert (_option(c, "--topo-steps"), _option(c, "--lr")) == ("600", "3e-4")
        assert (_option(c, "--fold"), _option(c, "--val-every")) == ("2/3", "5")
        assert Path(_option(c, "--init")).name == "isbi12-f2v-base.pt"
    chooses = [c[1:] for c in commands if c[0] == "models/choose_lambda.py"]
    assert chooses[0][0] == "isbi12-f2-clean-betti-lr3e-4-dims01"
    assert Path(chooses[0][1]).name == "isbi12-f2v-val-lr3e-4-0.pt" and len(chooses[0]) == 5
    assert chooses[1] == [
        "--pick",
        "isbi12-f2-clean-betti-lr3e-4",
        "isbi12-f2-clean-betti-lr3e-4-dims01",
    ]


def test_each_fold_chooses_on_its_own_validation_split(tmp_path):
    """``recipes.sh isbi12-val-f2-clean isbi12-val-f2-clean-grid``: fold 2's clean base
    and sweeps, on fold 2's training images only (``--fold 2/3`` everywhere), under
    keys of fold 2; where the grid picks a group val_clean did not run both rules in
    (here 600 steps at lr 3e-4), Betti matching's λ is swept there, against that
    group's control."""
    commands = _dry_run_recipes(
        tmp_path, "isbi12-val-f2-clean", "isbi12-val-f2-clean-grid", picked="lr3e-4"
    )
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert trains and all(_option(c, "--fold") == "2/3" for c in trains)
    assert all(_option(c, "--val-every") == "5" for c in trains)
    assert all("-f2v-" in _option(c, "--out") for c in trains)
    betti = [c for c in trains if _option(c, "--rule") == "betti"]
    got = sorted(
        (_option(c, "--topo-steps"), _option(c, "--lr"), _option(c, "--lam")) for c in betti
    )
    assert got == sorted(
        (steps, lr, lam)
        for steps, lr in (("1200", "1e-4"), ("600", "3e-4"))
        for lam in ("0.03", "0.1", "0.3")
    )
    chooses = [c[1:] for c in commands if c[0] == "models/choose_lambda.py"]
    names = [c[0] for c in chooses if not c[0].startswith("--")]
    assert all(n.startswith("isbi12-f2-clean-") for n in names)
    last = chooses[-1]
    assert last[0] == "isbi12-f2-clean-betti-lr3e-4"
    assert Path(last[1]).name == "isbi12-f2v-val-lr3e-4-0.pt" and len(last) == 5
    # the steps val_clean ran: no second Betti sweep there
    again = _dry_run_recipes(tmp_path / "again", "isbi12-val-f2-clean-grid", picked="steps1200")
    assert not [c for c in again if _option(c, "--rule") == "betti"]


def test_crackforests_clean_validation_also_sweeps_betti_on_both_dimensions(tmp_path):
    """``recipes.sh crackforest-val-f1-clean crackforest-val-f1-clean-grid``: from its
    clean base, the paper rule in the three (steps, lr) groups (600 steps is the one
    val_clean runs), Betti matching on dimension 1 and on dimensions 0 and 1 picked
    against each other; no leaky sweep is retired (retire_leaky is ISBI12's)."""
    commands = _dry_run_recipes(
        tmp_path, "crackforest-val-f1-clean", "crackforest-val-f1-clean-grid", picked="steps600"
    )
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert all(_option(c, "--val-every") == "5" for c in trains)
    betti = [c for c in trains if _option(c, "--rule") == "betti"]
    assert sorted((_option(c, "--topo-dims", "1"), _option(c, "--lam")) for c in betti) == [
        (d, lam) for d in ("0,1", "1") for lam in ("0.03", "0.1", "0.3")
    ]
    groups = {(_option(c, "--topo-steps"), _option(c, "--lr")) for c in trains[2:]}
    assert groups == {("600", "1e-4"), ("1200", "1e-4"), ("600", "3e-4")}
    chooses = [c[1:] for c in commands if c[0] == "models/choose_lambda.py"]
    assert [
        "--pick",
        "crackforest-f1-clean-betti-steps600",
        "crackforest-f1-clean-betti-steps600-dims01",
    ] in chooses
    # they chose λ = 0 (every λ > 0 failed VOI): nothing is retired, the twins keep
    # the leaky choice
    assert not [c for c in chooses if c[0] == "--retire"]


def test_landings_counts_a_pinhole_dig_under_the_papers_rule_only(models_script):
    """models/landings.py on hand cases: a weak wall between two true cells is raised
    and the cells dug (its doctest); when the wall is gone and a dip sits in a true
    membrane, the paper's rule pulls the dip towards the missing cell (its minimum
    dug: down, wrong) while Betti matching sends it to the diagonal."""
    import doctest

    landings = models_script("landings")
    assert doctest.testmod(landings).failed == 0
    g = np.ones((24, 24))
    g[4:20, 4:11] = 0
    g[4:20, 13:20] = 0
    f = 0.9 * g + 0.2 * (1 - g)
    f[10:13, 11:13] = 0.15  # the wall between the cells gone: one merged hole
    f[1, 7] = 0.5  # a dip in the membrane above them
    paper = landings.patch_landings(f, g, "paper")
    betti = landings.patch_landings(f, g, "betti")
    # the paper's rule pulls both holes of f (the merged one and the dip) to the two
    # true cells and digs both minima, each on true membrane: the merged hole's lowest
    # pixel is in the broken wall, the dip's in the membrane above
    assert paper["pulled"]["down, wrong"] == 2 and sum(paper["diagonal"].values()) == 0
    # Betti matching pulls only the merged hole (it overlaps a true cell; its minimum,
    # in the wall, is still dug) and sends the dip to the diagonal: the dip's minimum
    # raised (right), its rim lowered (wrong)
    assert betti["pulled"]["down, wrong"] == 1
    assert betti["diagonal"] == {"up, right": 1, "up, wrong": 0, "down, right": 0, "down, wrong": 1}


def test_the_shipped_lambda_a_caption_quotes_is_the_manifests():
    """Fine-tune live's caption quotes the shipped ISBI12 twins' λ from the manifest
    (it had gone stale once when the twins were retrained), fold by fold."""
    from topoviz.ui import cache

    for data in ("isbi12", "crackforest"):
        twins = [e for e in MANIFEST if e["pair"].startswith(f"{data}-") and e["loss"] != "bce"]
        got = cache.shipped_lambdas(data)
        assert set(got) == {"paper", "betti"}
        for rule, lams in got.items():
            by_fold = {e["fold"]: float(e["lam"]) for e in twins if e["rule"] == rule}
            assert lams == tuple(by_fold[k] for k in (1, 2, 3))
    assert cache.shipped_lambdas("no-such-data") == {}


def test_folds_that_disagree_on_lambda_are_each_quoted(monkeypatch):
    from topoviz.ui import cache
    from topoviz.ui.words import lambda_phrase

    twins = [
        {"pair": f"isbi12-f{k}", "loss": "bce+topo", "rule": "paper", "lam": lam}
        for k, lam in ((3, 0.3), (1, 0.1), (2, 0.1))
    ] + [{"pair": "isbi12-f1", "loss": "bce+topo", "rule": "betti", "lam": 0.1}]
    monkeypatch.setattr(cache, "manifest", lambda: (twins, None))
    got = cache.shipped_lambdas("isbi12")
    assert got == {"paper": (0.1, 0.1, 0.3), "betti": (0.1,)}
    assert lambda_phrase(got["paper"]) == "0.1, 0.1 and 0.3 (folds 1–3)"
    assert lambda_phrase(got["betti"]) == "0.1"


def test_the_seeds_stage_trains_each_shipped_net_again_with_other_batches(tmp_path):
    """``recipes.sh isbi12-seeds``: for seeds 1 and 2, each fold's control and both
    twins from the shipped nets' base (a file of commit 2e6cc41), with everything but
    the seed as the shipped net's manifest entry records, each then evaluated."""
    commands = _dry_run_recipes(tmp_path, "isbi12-seeds")
    shows = [c for c in commands if c[0] == "git"]
    assert [c[2] for c in shows] == [f"2e6cc41:models/isbi12_f{k}_unet_bce.pt" for k in (1, 2, 3)]
    trains = [c for c in commands if c[:3] == ["-m", "topoviz", "train"]]
    assert len(trains) == 18
    shipped = {
        (e["fold"], "betti" if e.get("rule") == "betti" else e["loss"]): e
        for e in MANIFEST
        if e["pair"].startswith("isbi12-")
    }
    for c in trains:
        k = int(_option(c, "--fold")[0])
        twin = (
            "betti"
            if _option(c, "--rule") == "betti"
            else ("bce" if _option(c, "--lam") == "0" else "bce+topo")
        )
        e = shipped[(k, twin)]
        assert _option(c, "--seed") in ("1", "2")
        assert Path(_option(c, "--init")).name == f"isbi12-f{k}-base-2e6cc41.pt"
        assert float(_option(c, "--lam")) == e["lam"]
        assert int(_option(c, "--topo-steps")) == e["steps"]["topo"]
        assert float(_option(c, "--lr")) == e["lr"]["topo"]
        if twin == "betti":
            assert [int(d) for d in _option(c, "--topo-dims").split(",")] == e["topo_dims"]
    evals = [c for c in commands if c[:3] == ["-m", "topoviz", "evaluate"]]
    assert sorted(Path(_option(c, "--checkpoint")).name for c in evals) == sorted(
        Path(_option(c, "--out")).name for c in trains
    )


def test_the_by_seed_table_reads_each_complete_seed_against_its_own_control(
    models_script, tmp_path
):
    """``models/tables.py --seeds``: seed 0 is the shipped nets; another seed's nets
    come from ``evaluate --json`` files, each rule against that seed's control. A seed
    that evaluated exactly the shipped numbers prints seed 0's rows; a seed with a file
    missing is left out, and files of another fold's images are refused."""
    tables = models_script("tables")
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    pairs = tables.rows_by_set(manifest)["isbi12"]
    for seed, nets in ((1, ("bce", "topo", "betti")), (2, ("bce", "topo"))):
        for k, fold in enumerate(pairs, 1):
            for t in nets:
                cols = fold[t]["metrics"]["per_image"]
                rows = [
                    {"name": str(n), **{m: cols[m][i] for m in cols}}
                    for i, n in enumerate(fold["bce"]["held_out"])
                ]
                out = tmp_path / f"isbi12-f{k}-seed{seed}-{t}.json"
                out.write_text(json.dumps({"per_image": rows}), encoding="utf-8")
    runs = tables.seed_runs(pairs, tmp_path, "isbi12")
    assert sorted(runs) == [0, 1]
    lines = tables.seeds_table("isbi12", runs).splitlines()
    zero = [ln.removeprefix("| 0 ") for ln in lines if ln.startswith("| 0 |")]
    one = [ln.removeprefix("| 1 ") for ln in lines if ln.startswith("| 1 |")]
    assert len(zero) == 2 and zero == one
    total = {t: sum(f[t]["metrics"]["total"]["merges"] for f in pairs) for t in ("bce", "topo")}
    assert f"| {total['bce']} → {total['topo']} |" in zero[0]  # the shipped nets' merges
    moved = json.loads((tmp_path / "isbi12-f2-seed1-bce.json").read_text(encoding="utf-8"))
    moved["per_image"] = moved["per_image"][::-1]
    (tmp_path / "isbi12-f2-seed1-bce.json").write_text(json.dumps(moved), encoding="utf-8")
    with pytest.raises(SystemExit):
        tables.seed_runs(pairs, tmp_path, "isbi12")
