"""models/manifest.json is what models/mkmanifest.py rebuilds from the checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mkmanifest(models_script):
    return models_script("mkmanifest")


def test_the_manifest_is_what_the_checkpoints_say(mkmanifest, monkeypatch):
    """Rebuilt with --skip-eval (metadata from the .pt files, metrics kept), the
    manifest is the committed file byte for byte; and that path reads no data."""
    import topoviz.data

    def no_data(*args, **kwargs):
        raise AssertionError("--skip-eval must not load data")

    monkeypatch.setattr(topoviz.data, "load_split", no_data)
    text = (ROOT / "models" / "manifest.json").read_text(encoding="utf-8")
    committed = json.loads(text)
    rebuilt = mkmanifest.build(committed, skip_eval=True)
    assert not mkmanifest.diff(committed, rebuilt), "\n".join(mkmanifest.diff(committed, rebuilt))
    assert mkmanifest.dumps(rebuilt) == text


def test_a_changed_field_is_reported_by_name(mkmanifest):
    old = {"checkpoints": [{"name": "a", "lam": 0.01, "recipe": ["x"]}]}
    new = {"checkpoints": [{"name": "a", "lam": 0.05, "recipe": ["x"], "note": "n"}]}
    assert mkmanifest.diff(old, new) == [
        "checkpoints[a].lam: 0.01 (committed) -> 0.05 (rebuilt)",
        "checkpoints[a].note: only in the rebuilt manifest",
    ]
    assert mkmanifest.diff(old, old) == []


@pytest.fixture(scope="module")
def choose_lambda(models_script):
    return models_script("choose_lambda")


def _sweep(steps, lam, cut, fallback=False):
    rows = {"0": {"merges_cut": 0.0}, f"{lam:g}": {"merges_cut": cut}}
    return {
        "steps": steps,
        "chosen_lam": lam,
        "target": "merges",
        "rows": rows,
        "fallback": fallback,
    }


def test_pick_takes_the_group_whose_rule_chosen_lambda_cuts_most(choose_lambda):
    records = {
        "a": _sweep(600, 0.1, 0.25),
        "b": _sweep(1200, 0.3, 0.345),
        "c": _sweep(600, 0.3, 0.5, fallback=True),  # cuts more, but only by the fallback
        "d": _sweep(600, 0.0, 0.0),  # no λ met even the accuracy and VOI conditions
    }
    assert choose_lambda.pick(records, ["a", "b", "c", "d"]) == "b"
    assert choose_lambda.pick(records, ["a", "c", "d"]) == "a"
    # a tie goes to the group named first (the cheaper one)
    assert (
        choose_lambda.pick({"a": _sweep(600, 0.1, 0.25), "b": _sweep(1200, 0.1, 0.25)}, ["a", "b"])
        == "a"
    )
    # no group chose by the rule: the fallbacks compete; none at all: the first group
    assert (
        choose_lambda.pick(
            {"c": _sweep(600, 0.3, 0.5, True), "e": _sweep(600, 0.1, 0.6, True)}, ["c", "e"]
        )
        == "e"
    )
    assert (
        choose_lambda.pick({"d": _sweep(600, 0.0, 0.0), "f": _sweep(1200, 0.0, 0.0)}, ["d", "f"])
        == "d"
    )


def test_each_twin_finds_the_validation_sweep_that_chose_it(mkmanifest):
    """Every ISBI12 and CrackForest entry of the manifest names the sweep of its data
    set, rule, steps, learning rate and dimensions whose chosen λ it was trained
    with, and the
    recipe stage that runs that sweep."""
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    for c in manifest["checkpoints"]:
        if not c["pair"].startswith(("isbi12", "crackforest")):
            continue
        meta = {
            "loss": c["loss"],
            "rule": c["rule"],
            "lam": c["lam"],
            "steps": {"topo": c["steps"]["topo"]},
            "lr": c["lr"]["topo"],
            "topo_dims": c["topo_dims"],
            "fold": f"{c['fold']}/3",
        }
        key = mkmanifest.validation_key(c["pair"], meta)
        assert key is not None, c["name"]
        record = mkmanifest.VALIDATION[key]
        assert record["steps"] == c["steps"]["topo"] and record["lr"] == c["lr"]["topo"]
        if c["loss"] != "bce":
            assert record["chosen_lam"] == c["lam"]
            assert record.get("matching", "paper") == c["rule"]
            assert record.get("topo_dims", [1]) == c["topo_dims"]
        assert (
            c["lambda_choice"]["command"]
            == f"bash models/recipes.sh {mkmanifest.recipe_stage(key)}"
        )
    assert mkmanifest.recipe_stage("isbi12-f1-steps1200") == "isbi12-val-f1-grid"
    assert mkmanifest.recipe_stage("isbi12-f1-betti-steps1200") == "isbi12-val-f1-betti-steps1200"
    assert mkmanifest.recipe_stage("crackforest-f1-betti") == "crackforest-val-f1-betti"
    assert (
        mkmanifest.recipe_stage("crackforest-f1-betti-dims01") == "crackforest-val-f1-betti-dims01"
    )


def _isbi12_sweep(fold: str) -> dict:
    """A paper-rule ISBI12 sweep record of models/validation.json that chose λ = 0.1
    at 1200 steps, lr 1e-4, on ``fold``'s validation split."""
    return {
        "data": "../shared/data/isbi12",
        "steps": 1200,
        "lr": 0.0001,
        "matching": "paper",
        "chosen_lam": 0.1,
        "topo_dims": [1],
        "fold": fold,
    }


def _paper_twin(fold: str) -> dict:
    """The metadata of the paper-rule twin that such a sweep chose, on ``fold``."""
    return {
        "loss": "bce+topo",
        "rule": "paper",
        "lam": 0.1,
        "steps": {"topo": 1200},
        "lr": 0.0001,
        "topo_dims": [1],
        "fold": fold,
    }


def test_a_retired_sweep_never_names_a_twins_choice(mkmanifest, monkeypatch):
    """A sweep marked ``"retired_by"`` (``choose_lambda.py --retire``: its base had
    seen the validation images) matches a twin in every field, yet the twin finds
    the sweep that replaced it; unmarked, the two would be ambiguous and the twin
    would find none. The replacing sweeps' recipe stages are the clean ones."""
    chose, meta = _isbi12_sweep("1/3"), _paper_twin("1/3")
    # the stages: val_clean ran the group of the clean Betti sweep's steps
    stage = mkmanifest.recipe_stage
    assert stage("isbi12-f1-clean-steps1200") == "isbi12-val-f1-clean"
    assert stage("isbi12-f1-clean-betti-steps1200") == "isbi12-val-f1-clean"
    assert stage("isbi12-f1-clean-betti-steps1200-dims01") == "isbi12-val-f1-clean-dims01"
    assert stage("crackforest-f1-clean-betti-steps600-dims01") == "crackforest-val-f1-clean"
    assert stage("isbi12-f1-clean-steps600") == "isbi12-val-f1-clean-grid"
    assert stage("isbi12-f1-clean-lr3e-4") == "isbi12-val-f1-clean-grid"
    retired = {**chose, "retired_by": "new"}
    monkeypatch.setattr(mkmanifest, "VALIDATION", {"new": chose, "old": retired})
    assert mkmanifest.validation_key("isbi12-f1", meta) == "new"
    monkeypatch.setattr(mkmanifest, "VALIDATION", {"new": chose, "old": dict(chose)})
    assert mkmanifest.validation_key("isbi12-f1", meta) is None


def test_retire_marks_the_old_sweeps_and_keeps_their_rows(choose_lambda, monkeypatch, tmp_path):
    out = tmp_path / "validation.json"
    old = {"old1": {"rows": {"0": {}}}, "old2": {"rows": {}}, "new": {"rows": {}}}
    out.write_text(json.dumps(old), encoding="utf-8")
    monkeypatch.setattr(choose_lambda, "OUT", out)
    assert choose_lambda.main(["--retire", "new", "old1", "old2"]) == 0
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["old1"] == {"rows": {"0": {}}, "retired_by": "new"}
    assert got["old2"]["retired_by"] == "new" and "retired_by" not in got["new"]
    with pytest.raises(SystemExit):
        choose_lambda.main(["--retire", "new", "missing"])


def test_scoring_a_sweep_again_keeps_its_pick_and_retirement(choose_lambda, capsys):
    """A recipe that runs a stage again (``recipes.sh isbi12-val-f1-clean-dims01``
    re-scores the stage's other sweeps) must not drop what ``--pick`` and
    ``--retire`` wrote: it once dropped the pick of ISBI12's steps and lr."""
    record = _sweep(1200, 0.1, 0.25)
    stored = {**record, "picked": True, "pick_among": ["a", "b"], "pick_rule": "r"}
    assert choose_lambda.with_annotations(dict(record), stored, "b") == stored
    retired = {**record, "retired_by": "new"}
    assert choose_lambda.with_annotations(dict(record), retired, "b") == retired
    assert choose_lambda.with_annotations(dict(record), None, "b") == record
    # a metric added to the evaluation since (new keys in a row) changes no choice
    more = {**record, "rows": {k: {**r, "pinholes": 3} for k, r in record["rows"].items()}}
    assert choose_lambda.with_annotations(more, stored, "b")["picked"] is True
    # scored differently: the pick may no longer hold, so it goes, and the message says so
    changed = _sweep(1200, 0.3, 0.4)
    assert choose_lambda.with_annotations(changed, stored, "b") == changed
    assert "--pick a b" in capsys.readouterr().err


def test_every_pick_in_the_stored_sweeps_names_one_picked_group():
    """models/validation.json as committed: each set of sweeps compared by ``--pick``
    has exactly one picked member, and every member records that set."""
    data = json.loads((ROOT / "models" / "validation.json").read_text(encoding="utf-8"))
    groups = {tuple(r["pick_among"]) for r in data.values() if "pick_among" in r}
    assert groups
    for keys in groups:
        members = [data[k] for k in keys]
        assert all(tuple(m.get("pick_among", ())) == keys for m in members), keys
        assert sum(bool(m.get("picked")) for m in members) == 1, keys


def test_a_twin_takes_its_own_folds_sweep_before_fold_ones(mkmanifest, monkeypatch):
    """Fold 1's validation images lie in folds 2 and 3's held-out sets, so a fold's
    own clean sweep (``recipes.sh isbi12-val-f2-clean``) names a fold-2 twin's
    choice; without one, fold 1's still does, and the manifest lists the overlap."""
    meta = _paper_twin("2/3")
    # the stages of folds 2 and 3 (read against the committed validation.json)
    assert mkmanifest.recipe_stage("isbi12-f2-clean-lr3e-4") == "isbi12-val-f2-clean-grid"
    assert mkmanifest.recipe_stage("isbi12-f3-clean-betti-steps1200") == "isbi12-val-f3-clean"
    # Betti matching swept in the group the grid picked, when val_clean had not
    assert mkmanifest.recipe_stage("isbi12-f2-clean-betti-lr3e-4") == "isbi12-val-f2-clean-grid"
    # and on dimensions 0 and 1, in that group, by its own stage
    assert (
        mkmanifest.recipe_stage("isbi12-f2-clean-betti-lr3e-4-dims01")
        == "isbi12-val-f2-clean-dims01"
    )
    assert (
        mkmanifest.recipe_stage("crackforest-f2-clean-betti-lr3e-4-dims01")
        == "crackforest-val-f2-clean-dims01"
    )
    assert (
        mkmanifest.recipe_stage("crackforest-f2-clean-betti-steps600-dims01")
        == "crackforest-val-f2-clean"
    )
    one, two = _isbi12_sweep("1/3"), _isbi12_sweep("2/3")
    monkeypatch.setattr(mkmanifest, "VALIDATION", {"f1": one, "f2": two})
    assert mkmanifest.validation_key("isbi12-f2", meta) == "f2"
    assert mkmanifest.validation_key("isbi12-f1", {**meta, "fold": "1/3"}) == "f1"
    monkeypatch.setattr(mkmanifest, "VALIDATION", {"f1": one})
    assert mkmanifest.validation_key("isbi12-f2", meta) == "f1"
    monkeypatch.setattr(mkmanifest, "VALIDATION", {"f1": one, "f3": _isbi12_sweep("3/3")})
    assert mkmanifest.validation_key("isbi12-f2", meta) == "f1"


def test_the_manifest_lists_every_validation_image_a_twin_is_tested_on():
    """Each twin's ``lambda_choice.validation_in_held_out`` is exactly the images
    that both chose its λ and are in its held-out set."""
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    seen = 0
    for c in manifest["checkpoints"]:
        choice = c.get("lambda_choice")
        if choice is None:
            continue
        held = {str(n) for n in c["held_out"]}
        both = [n for n in choice["validation_names"] if str(n) in held]
        assert choice["validation_in_held_out"] == both, c["name"]
        assert (c["fold"] == int(choice["fold"].split("/")[0])) == (not both), c["name"]
        seen += 1
    assert seen >= 12


def test_a_sweep_with_a_run_stopped_early_is_refused(choose_lambda, monkeypatch):
    """A fine-tune stopped early saves what it has (215 of 600 steps, seen when a
    sweep was killed): choose_lambda must not weigh it against full runs."""

    def fake(path, val_every, n_patches):
        lam, steps = {"a": (0.0, 600), "b": (0.1, 600), "c": (0.3, 215)}[path]
        meta = {"steps": {"topo": steps}, "lr": 3e-4, "topo_dims": [1], "rule": "betti"}
        return {"lam": lam, "meta": meta, "result": {}, "structure": "membranes"}

    monkeypatch.setattr(choose_lambda, "score", fake)
    with pytest.raises(SystemExit, match=r"\(steps, lr\)"):
        choose_lambda.main(["x", "a", "b", "c"])


def test_a_twin_whose_fold_chose_otherwise_on_its_clean_split_records_it(mkmanifest, monkeypatch):
    """CrackForest's fold 3: its own clean sweeps chose λ = 0 (no twin by the rule), so
    its twin keeps fold 1's earlier choice; the manifest names both. A twin whose λ
    its own fold's clean sweep chose records nothing more."""
    meta = _paper_twin("3/3")
    fold1 = {**_isbi12_sweep("1/3")}
    clean = {**_isbi12_sweep("3/3"), "chosen_lam": 0.0, "picked": True}
    other = {**clean, "picked": False}  # a group not picked
    betti = {**clean, "matching": "betti"}
    monkeypatch.setattr(
        mkmanifest,
        "VALIDATION",
        {
            "isbi12-f1": fold1,
            "isbi12-f3-clean-steps1200": clean,
            "isbi12-f3-clean-lr3e-4": other,
            "isbi12-f3-clean-betti-steps1200": betti,
        },
    )
    assert mkmanifest.validation_key("isbi12-f3", meta) == "isbi12-f1"
    assert mkmanifest.clean_choice("isbi12-f3", meta) == "isbi12-f3-clean-steps1200"
    betti_twin = {**meta, "rule": "betti"}
    assert mkmanifest.clean_choice("isbi12-f3", betti_twin) == "isbi12-f3-clean-betti-steps1200"
    control = {**meta, "loss": "bce", "rule": None}
    assert mkmanifest.clean_choice("isbi12-f3", control) == "isbi12-f3-clean-steps1200"
    assert mkmanifest.clean_choice("isbi12-f2", {**meta, "fold": "2/3"}) is None
