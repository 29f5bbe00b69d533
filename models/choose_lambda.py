"""Choose λ on a validation split carved from the training folds; write models/validation.json.

    python models/choose_lambda.py NAME CKPT_LAM0 CKPT_LAM1 ... [--val-every 5]
    python models/choose_lambda.py --pick NAME NAME ...   # steps and learning rate
    python models/choose_lambda.py --retire NEW OLD ...   # NEW replaces the sweeps OLD

Each checkpoint is a fine-tune of the same base net on the training part of a fold
less its validation images (``python -m topoviz train ... --val-every 5``), one per
λ, the first with λ = 0 (the control). Each is scored on the validation images
(``evaluate --val-every 5``: never the fold's held-out images), paired image by
image against the control, and the rule below picks λ:

- keep the λ whose pixel accuracy is within 0.002 of the control's and whose VOI
  is not above it;
- among those, take the largest cut of the count TopoLoss is for (false merges
  for membranes, false splits for curvilinear structures), provided the other
  count grows by at most 10 % of the control's (at least 1); ties go to the
  smaller λ.
- If no λ > 0 qualifies, fall back to the largest cut among the λ that meet the
  accuracy and VOI conditions alone, and record ``"fallback": true`` with the
  growth of the other count (on CrackForest's validation split the counts are a
  handful: 6 splits, 1 merge, and every λ > 0 added 2 merges).

The result (every λ's scores, the paired tests, the choice and the rule) is
stored under ``NAME`` in models/validation.json, which mkmanifest.py copies into
the manifest.

``--pick`` chooses among sweeps already stored, one per group, each with its own
λ = 0 control: the twins' steps and learning rate (``recipes.sh *-val-f1-grid``), or
the dimensions Betti matching's loss takes (``recipes.sh *-betti*-dims01`` against
the sweep on dimension 1), by the rule below; it marks each group's record ``"picked"``.

- prefer the groups whose λ was chosen by the rule above (not by the fallback);
- among those, take the group whose chosen λ cuts the count TopoLoss is for most;
  ties go to the group named first (the cheaper recipe: name it first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "models" / "validation.json"
ACCURACY_SLACK = 0.002
RULE = __doc__.split("picks λ:")[1].split("The result")[0].strip()
PICK_RULE = __doc__.split('by the rule below; it marks each group\'s record ``"picked"``.')[
    1
].strip()


def score(path: str, val_every: int, n_patches: int) -> dict:
    from topoviz import checkpoints
    from topoviz.data import carve_validation, load_split, structure_of
    from topoviz.train import evaluate

    model, meta = checkpoints.load(path)
    if meta.get("val_every") != val_every:
        raise SystemExit(f"{path}: trained with --val-every {meta.get('val_every')}")
    split = carve_validation(load_split(ROOT / meta["data"], meta["fold"]), val_every)
    structure = structure_of(meta["data"])
    res = evaluate(
        model, *split.held_out, n_patches=n_patches, names=split.held_names, structure=structure
    )
    return {"lam": meta["lam"], "meta": meta, "result": res, "structure": structure}


def choose(scored: list[dict]) -> tuple[float, dict]:
    from topoviz.stats import paired_comparison
    from topoviz.train import DIRECTION, METRICS, REGION_METRICS

    control = scored[0]["result"]
    structure = scored[0]["structure"]
    target, other = ("merges", "splits") if structure == "membranes" else ("splits", "merges")
    rows = {}
    best, best_cut = 0.0, 0.0
    fallback, fallback_cut = 0.0, 0.0
    for s in scored:
        res = s["result"]
        paired = {
            m: paired_comparison(
                [r[m] for r in control["per_image"]],
                [r[m] for r in res["per_image"]],
                higher_is_better=DIRECTION[m] > 0,
            )
            for m in (*METRICS, *REGION_METRICS)
        }
        c_t, t = control["total"][target], res["total"][target]
        c_o, o = control["total"][other], res["total"][other]
        cut = (c_t - t) / c_t if c_t else 0.0
        fair = (
            res["mean"]["accuracy"] >= control["mean"]["accuracy"] - ACCURACY_SLACK
            and res["mean"]["voi"] <= control["mean"]["voi"]
        )
        ok = fair and o - c_o <= max(1, 0.1 * c_o)
        rows[f"{s['lam']:g}"] = {
            "accuracy": res["mean"]["accuracy"],
            "voi": res["mean"]["voi"],
            "betti_error": res["mean"]["betti_error"],
            "total": res["total"],
            "holes_extra": res["mean"]["holes_extra"],
            f"{target}_cut": cut,
            "qualifies": bool(ok) if s["lam"] > 0 else None,
            "paired": {m: paired[m] for m in (target, other, "accuracy", "voi")},
        }
        if s["lam"] > 0 and ok and cut > best_cut:
            best, best_cut = s["lam"], cut
        if s["lam"] > 0 and fair and cut > fallback_cut:
            fallback, fallback_cut = s["lam"], cut
    used = best == 0 and fallback > 0
    return (fallback if used else best), {
        "structure": structure,
        "target": target,
        "rows": rows,
        "fallback": used,
    }


def chosen_cut(record: dict) -> float:
    """The cut of the target count at a sweep's chosen λ (0 for λ = 0)."""
    return record["rows"][f"{record['chosen_lam']:g}"][f"{record['target']}_cut"]


def pick(records: dict, keys: list[str]) -> str:
    """The key of the group (steps, lr, dims) to train with, among the sweeps ``keys`` of
    ``records`` (models/validation.json), by :data:`PICK_RULE`."""
    ruled = [k for k in keys if records[k]["chosen_lam"] > 0 and not records[k].get("fallback")]
    pool = ruled or [k for k in keys if records[k]["chosen_lam"] > 0] or keys[:1]
    return max(pool, key=lambda k: (chosen_cut(records[k]), -keys.index(k)))


def main_pick(keys: list[str]) -> int:
    data = json.loads(OUT.read_text(encoding="utf-8"))
    missing = [k for k in keys if k not in data]
    if missing:
        raise SystemExit(f"no sweep stored under {missing}: run its recipe first")
    chosen = pick(data, keys)
    for k in keys:
        r = data[k]
        r["picked"] = k == chosen
        r["pick_among"] = keys
        r["pick_rule"] = PICK_RULE
        print(
            f"{k}: {r['steps']} steps at lr {r['lr']:g}, dims {r.get('topo_dims', [1])}, "
            f"λ = {r['chosen_lam']:g}, "
            f"{r['target']} cut {chosen_cut(r):+.1%}"
            + (" (fallback)" if r.get("fallback") else "")
            + ("  <- picked" if k == chosen else "")
        )
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


def main_retire(keys: list[str]) -> int:
    """``--retire NEW OLD ...``: the sweeps OLD no longer choose anything; NEW, run
    the same way from a base that never saw the validation images, replaces them.
    Each OLD record keeps its rows and gets ``"retired_by": NEW``."""
    data = json.loads(OUT.read_text(encoding="utf-8"))
    missing = [k for k in keys if k not in data]
    if len(keys) < 2 or missing:
        raise SystemExit(f"--retire NEW OLD ...: no sweep stored under {missing or keys}")
    new, old = keys[0], keys[1:]
    for k in old:
        data[k]["retired_by"] = new
        print(f"{k}: retired by {new}")
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


#: what ``--pick`` and ``--retire`` add to a sweep's record: they relate it to other
#: sweeps, so scoring the sweep again must not drop them
ANNOTATIONS = ("picked", "pick_among", "pick_rule", "retired_by")


def _choice(record: dict) -> tuple:
    """What ``--pick`` reads of a sweep: its λ, whether by the fallback, and each λ's
    cut of the target count and verdict (a metric added to the evaluation since does
    not change it)."""
    target = record.get("target")
    rows = record.get("rows", {})
    return (
        record.get("chosen_lam"),
        record.get("fallback"),
        target,
        {lam: (r.get(f"{target}_cut"), r.get("qualifies")) for lam, r in rows.items()},
    )


def with_annotations(record: dict, old: dict | None, name: str) -> dict:
    """``record`` with the annotations of the record ``old`` it replaces, when the
    sweep chose the same way (a recipe that runs a stage again re-scores its sweeps).
    If the choice changed, the annotations may no longer hold: they are dropped, and
    the message says which ``--pick`` or ``--retire`` to run again."""
    kept = {k: old[k] for k in ANNOTATIONS if k in old} if old else {}
    if not kept:
        return record
    if _choice(json.loads(json.dumps(record, ensure_ascii=False))) == _choice(old):
        return {**record, **kept}
    print(
        f"{name}: the sweep chose differently from its stored record, whose "
        f"{', '.join(sorted(kept))} are dropped: run choose_lambda.py --pick "
        f"{' '.join(kept.get('pick_among', [name]))} (or --retire) again",
        file=sys.stderr,
    )
    return record


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--pick"]:
        return main_pick(argv[1:])
    if argv[:1] == ["--retire"]:
        return main_retire(argv[1:])
    p = argparse.ArgumentParser(prog="python models/choose_lambda.py", description=__doc__)
    p.add_argument(
        "name", help="key in models/validation.json, e.g. isbi12-f1 (isbi12-f1-betti: Betti rule)"
    )
    p.add_argument("checkpoints", nargs="+", help="the sweep's checkpoints, λ = 0 first")
    p.add_argument("--val-every", type=int, default=5)
    p.add_argument("--n-patches", type=int, default=100)
    args = p.parse_args(argv)
    scored = [score(c, args.val_every, args.n_patches) for c in args.checkpoints]
    if scored[0]["lam"] != 0:
        raise SystemExit("the first checkpoint must be the λ = 0 control")
    # the λ > 0 runs share the rule and dimensions of L_topo (the control has no L_topo)
    # one group: the same steps and lr for every λ (a run stopped early saves what it
    # has: its steps say so)
    group = {(s["meta"]["steps"]["topo"], s["meta"]["lr"]) for s in scored}
    if len(group) > 1:
        raise SystemExit(f"the checkpoints differ in (steps, lr): {sorted(group)}")
    loss_of = {(s["meta"].get("rule", "paper"), tuple(s["meta"]["topo_dims"])) for s in scored[1:]}
    if len(loss_of) > 1:
        raise SystemExit(f"the λ > 0 checkpoints differ in rule or dimensions: {sorted(loss_of)}")
    chosen, table = choose(scored)
    meta = scored[0]["meta"]
    record = {
        "data": meta["data"],
        "fold": meta["fold"],
        "val_every": args.val_every,
        "validation_images": scored[0]["result"]["n"],
        "validation_names": [r["name"] for r in scored[0]["result"]["per_image"]],
        "init": meta["init"],
        "steps": meta["steps"]["topo"],
        "lr": meta["lr"],
        "topo_dims": scored[-1]["meta"]["topo_dims"],
        "matching": scored[-1]["meta"].get("rule", "paper"),
        "lams": [s["lam"] for s in scored],
        "recipes": [s["meta"]["recipe"] for s in scored],
        "rule": RULE,
        "chosen_lam": chosen,
        **table,
    }
    data = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    record = with_annotations(record, data.get(args.name), args.name)
    data[args.name] = record
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    target = table["target"]
    print(f"{args.name}: validation on {record['validation_images']} image(s); {target} by λ:")
    for lam, row in table["rows"].items():
        print(
            f"  λ={lam:>5}: {target} {row['total'][target]:>4}  cut {row[f'{target}_cut']:+.1%}  "
            f"accuracy {row['accuracy']:.4f}  VOI {row['voi']:.3f}  qualifies {row['qualifies']}"
        )
    print(
        f"chosen λ = {chosen:g}"
        + (" (fallback: no λ met every condition)" if table["fallback"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
