"""The tables of models/README.md, printed from models/manifest.json.

    python models/tables.py

Pools the three held-out folds of ISBI12 and of CrackForest: for each pair, the
λ = 0 control against each TopoLoss twin (the paper's matching rule, and Betti
matching where the pair has that twin), per image (paired), with the Wilcoxon
signed-rank test over all held-out images of the three folds. Every number comes
from the manifest, which ``models/mkmanifest.py`` measures from the shipped files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topoviz.stats import paired_comparison  # noqa: E402
from topoviz.train import COUNTS, PAIRED_METRICS  # noqa: E402

SETS = {"isbi12": "ISBI12", "crackforest": "CrackForest"}
COLUMNS = PAIRED_METRICS
COUNT_COLUMNS = tuple(m for m in COLUMNS if m in COUNTS)
HIGHER = {"accuracy"}


RULES = {"topo": "TopoLoss, paper's rule", "betti": "TopoLoss, Betti matching"}
#: pooled_table's title for a twin given as evaluate JSON (``--twin``)
TITLES = {**RULES, "json": "the twin evaluated (--twin)"}


def twin_of(entry: dict) -> str:
    """``bce``, ``topo`` (the paper's matching rule) or ``betti``."""
    if entry["loss"] == "bce":
        return "bce"
    return "betti" if entry.get("rule") == "betti" else "topo"


def rows_by_set(manifest: dict) -> dict[str, list[dict[str, dict]]]:
    """``{set: [{"bce": control, "topo": twin, "betti": twin}, ...]}`` for the three
    folds, in fold order (``betti`` only where the pair has that twin)."""
    out: dict[str, list] = {}
    for entry in manifest["checkpoints"]:
        if entry["data"] in SETS and entry["loss"] == "bce":
            nets = {twin_of(e): e for e in manifest["checkpoints"] if e["pair"] == entry["pair"]}
            out.setdefault(entry["data"], []).append(nets)
    return out


def fold_table(name: str, pairs: list[dict[str, dict]]) -> str:
    lines = [
        f"#### {SETS[name]}, per held-out fold (counts are totals over the fold's images)",
        "",
        "| fold | twin | λ | accuracy | VOI | Betti error (65²) | merges | splits | missed "
        "| holes ≥ 25 px extra (256²) | pinholes | fragments |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    label = {"bce": "control", "topo": "TopoLoss (paper)", "betti": "TopoLoss (Betti)"}
    for nets in pairs:
        for twin, e in nets.items():
            m, t = e["metrics"]["mean"], e["metrics"]["total"]
            lines.append(
                f"| {e['fold']}/3 | {label[twin]} | {e['lam']:g} "
                f"| {m['accuracy']:.4f} | {m['voi']:.4f} | {m['betti_error']:.4f} "
                f"| {t['merges']} | {t['splits']} | {t['missed']} | {m['holes_extra']:.3f} "
                f"| {t['pinholes']} | {t['fragments']} |"
            )
    return "\n".join(lines)


def pooled_table(name: str, pairs: list[dict[str, dict]], twin: str = "topo") -> str:
    """The three folds pooled, one TopoLoss twin (``topo`` or ``betti``) against its
    λ = 0 control, image by image."""
    lines = [
        f"#### {SETS[name]}, the three folds pooled: {TITLES[twin]} against the λ = 0 control",
        "",
        "| measure | control | TopoLoss | change | images better / worse / same | Wilcoxon p |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in COLUMNS:
        a = [v for nets in pairs for v in nets["bce"]["metrics"]["per_image"][m]]
        b = [v for nets in pairs for v in nets[twin]["metrics"]["per_image"][m]]
        r = paired_comparison(a, b, higher_is_better=m in HIGHER)
        if m in COUNT_COLUMNS:
            ca, cb = sum(a), sum(b)
            cells = (
                f"{ca:.0f} | {cb:.0f} | {cb - ca:+.0f} ({(cb - ca) / ca:+.1%})"
                if ca
                else (f"{ca:.0f} | {cb:.0f} | {cb - ca:+.0f}")
            )
        else:
            cells = f"{r['control']:.4f} | {r['method']:.4f} | {r['diff']:+.4f}"
        lines.append(
            f"| {m} | {cells} | {r['better']} / {r['worse']} / {r['same']} | {r['p']:.3g} |"
        )
    return "\n".join(lines)


def rules_table(by_set: dict[str, list[dict[str, dict]]]) -> str:
    """The three rules side by side: pooled counts and means over the three folds."""
    lines = [
        "| data | rule | λ | accuracy | VOI | merges | splits | missed "
        "| holes ≥ 25 px extra (256²) | pinholes | fragments | Betti error (65²) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    label = {"bce": "none (λ = 0)", "topo": "paper's rule", "betti": "Betti matching"}
    for name, pairs in by_set.items():
        for twin in ("bce", "topo", "betti"):
            if not all(twin in nets for nets in pairs):
                continue
            nets = [p[twin] for p in pairs]
            total = {k: sum(e["metrics"]["total"][k] for e in nets) for k in COUNT_COLUMNS}
            mean = {
                k: sum(v for e in nets for v in e["metrics"]["per_image"][k])
                / sum(len(e["metrics"]["per_image"][k]) for e in nets)
                for k in ("accuracy", "voi", "holes_extra", "betti_error")
            }
            lams = sorted({e["lam"] for e in nets})
            lines.append(
                f"| {SETS[name]} | {label[twin]} | {', '.join(f'{x:g}' for x in lams)} "
                f"| {mean['accuracy']:.4f} | {mean['voi']:.4f} | {total['merges']} "
                f"| {total['splits']} | {total['missed']} | {mean['holes_extra']:.3f} "
                f"| {total['pinholes']} | {total['fragments']} | {mean['betti_error']:.4f} |"
            )
    return "\n".join(lines)


def validation_table(key: str, record: dict) -> str:
    """The λ sweep on a validation split (``models/validation.json``, choose_lambda.py)."""
    target = record["target"]
    other = "splits" if target == "merges" else "merges"
    names = record["validation_names"]
    lines = [
        f"#### {key}: λ on the validation split ({len(names)} training images of fold "
        f"{record['fold']}: {', '.join(names)}), {record['steps']} steps at lr {record['lr']:g}"
        + (", Betti matching" if record.get("matching") == "betti" else "")
        + (
            f", L_topo on dimensions {' and '.join(map(str, record['topo_dims']))}"
            if len(record.get("topo_dims", [1])) > 1
            else ""
        )
        + (" (the group picked)" if record.get("picked") else "")
        + (f"; retired by {record['retired_by']}" if record.get("retired_by") else ""),
        "",
        f"| λ | {target} | cut | {other} | accuracy | VOI | Betti error (65²) "
        f"| Wilcoxon p ({target}) | qualifies |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lam, r in record["rows"].items():
        chosen = " **chosen**" if float(lam) == record["chosen_lam"] else ""
        lines.append(
            f"| {lam}{chosen} | {r['total'][target]} | {r[f'{target}_cut']:+.1%} "
            f"| {r['total'][other]} | {r['accuracy']:.4f} | {r['voi']:.4f} "
            f"| {r['betti_error']:.4f} | {r['paired'][target]['p']:.3g} "
            f"| {'—' if r['qualifies'] is None else ('yes' if r['qualifies'] else 'no')} |"
        )
    return "\n".join(lines)


def calibration_table(name: str, results: list[dict]) -> str:
    """Rows made from the ground truth alone, per fold: ``evaluate --references --json``."""
    lines = [
        f"#### {SETS[name]}, calibration: segmentations made from the ground truth alone",
        "",
        "| fold | segmentation | injected | merges | splits | holes ≥ 25 px extra / missing "
        "(256²) | pinholes | fragments | Betti error (65²) | VOI merge / split | accuracy |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for res in results:
        for row, r in res["references"].items():
            m, t = r["mean"], r["total"]
            lines.append(
                f"| {res['fold']} | {row} | {r.get('injected', 0)} | {t['merges']} | {t['splits']} "
                f"| {m['holes_extra']:.3f} / {m['holes_missing']:.3f} | {t['pinholes']} "
                f"| {t['fragments']} | {m['betti_error']:.4f} "
                f"| {m['voi_merge']:.3f} / {m['voi_split']:.3f} | {m['accuracy']:.4f} |"
            )
    return "\n".join(lines)


def evaluated_twin(pairs: list[dict[str, dict]], results: list[dict]) -> list[dict[str, dict]]:
    """``pairs`` with a twin ``"json"`` from ``evaluate --json`` results (one per fold,
    in fold order): a net that is not in the manifest, scored like the shipped ones."""
    out = []
    for nets, res in zip(pairs, results, strict=True):
        per_image = _per_image(res, nets["bce"]["held_out"])
        out.append({**nets, "json": {"metrics": {"per_image": per_image}}})
    return out


def _per_image(result: dict, held_out: list) -> dict[str, list[float]]:
    """The per-image columns of one ``evaluate --json`` result, checked to be the
    held-out images of the fold in order."""
    if [r["name"] for r in result["per_image"]] != [str(n) for n in held_out]:
        raise SystemExit("an evaluation's images are not its fold's held-out images")
    return {m: [r[m] for r in result["per_image"]] for m in COLUMNS}


def seed_runs(pairs: list[dict[str, dict]], directory: Path, name: str) -> dict[int, dict]:
    """``{seed: {twin: per-image columns over the three folds}}``: seed 0 the shipped
    nets (the manifest), other seeds the ``evaluate --json`` files that ``recipes.sh
    NAME-seeds`` writes (``NAME-fK-seedS-TWIN.json``), for the seeds whose three folds
    and three nets are all there."""
    runs = {
        0: {
            t: {
                m: [v for nets in pairs for v in nets[t]["metrics"]["per_image"][m]]
                for m in COLUMNS
            }
            for t in ("bce", "topo", "betti")
        }
    }
    found = sorted(
        {
            int(f.stem.split("-seed")[1].split("-")[0])
            for f in directory.glob(f"{name}-f[123]-seed*-*.json")
        }
    )
    for seed in found:
        files = {
            (k, t): directory / f"{name}-f{k}-seed{seed}-{t}.json"
            for k in (1, 2, 3)
            for t in ("bce", "topo", "betti")
        }
        if not all(f.is_file() and f.stat().st_size for f in files.values()):
            continue
        cols: dict[str, dict[str, list]] = {
            t: {m: [] for m in COLUMNS} for t in ("bce", "topo", "betti")
        }
        for (k, t), f in files.items():
            res = _per_image(
                json.loads(f.read_text(encoding="utf-8")), pairs[k - 1]["bce"]["held_out"]
            )
            for m in COLUMNS:
                cols[t][m] += res[m]
        runs[seed] = cols
    return runs


def seeds_table(name: str, runs: dict[int, dict]) -> str:
    """Each seed's pooled result, each rule against the control of the same seed: how
    much of the held-out change is the batches."""
    target = "merges" if name == "isbi12" else "splits"
    lines = [
        f"#### {SETS[name]}, the three folds pooled, by seed (0: the shipped nets)",
        "",
        f"| seed | rule | {target} | change | images better / worse | p | "
        + " | ".join(m for m in ("merges", "splits", "pinholes", "fragments") if m != target)
        + " | accuracy | VOI |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    cuts: dict[str, list[float]] = {"topo": [], "betti": []}
    for seed, cols in runs.items():
        for twin in ("topo", "betti"):
            a, b = cols["bce"], cols[twin]
            ca, cb = sum(a[target]), sum(b[target])
            r = paired_comparison(a[target], b[target])
            cuts[twin].append((cb - ca) / ca)
            others = []
            for m in ("merges", "splits", "pinholes", "fragments"):
                if m != target:
                    oa, ob = sum(a[m]), sum(b[m])
                    others.append(f"{oa:.0f} → {ob:.0f} ({ob - oa:+.0f})")
            acc = sum(b["accuracy"]) / len(b["accuracy"]) - sum(a["accuracy"]) / len(a["accuracy"])
            voi = sum(b["voi"]) / len(b["voi"]) - sum(a["voi"]) / len(a["voi"])
            lines.append(
                f"| {seed} | {RULES[twin].removeprefix('TopoLoss, ')} | {ca:.0f} → {cb:.0f} "
                f"| {(cb - ca) / ca:+.1%} | {r['better']} / {r['worse']} | {r['p']:.2g} | "
                + " | ".join(others)
                + f" | {acc:+.4f} | {voi:+.3f} |"
            )
    lines.append("")
    for twin, c in cuts.items():
        lines.append(
            f"{RULES[twin]}: {target} {min(c):+.1%} to {max(c):+.1%} over {len(c)} seeds "
            f"(mean {sum(c) / len(c):+.1%})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables; ``--references FILE ...`` adds the calibration tables from the
    JSON of ``python -m topoviz evaluate --data D --fold K/3 --references --n-patches 200
    --json``."""
    import argparse

    p = argparse.ArgumentParser(prog="python models/tables.py", description=__doc__)
    p.add_argument("--references", nargs="*", default=[], help="evaluate --references JSON files")
    p.add_argument(
        "--twin",
        nargs=4,
        metavar=("SET", "F1", "F2", "F3"),
        help="only the pooled table of another twin of SET (isbi12, crackforest) against "
        "the shipped controls, from its three folds' `evaluate --checkpoint X --json`",
    )
    p.add_argument(
        "--seeds",
        nargs=2,
        metavar=("SET", "DIR"),
        help="only the by-seed table of SET (isbi12, crackforest): the shipped nets and "
        "the evaluations `bash models/recipes.sh SET-seeds` wrote in DIR "
        "($R/seeds: /tmp/topoviz_runs/seeds unless R was set)",
    )
    args = p.parse_args(argv)
    if args.seeds:
        name, directory = args.seeds
        manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
        print(seeds_table(name, seed_runs(rows_by_set(manifest)[name], Path(directory), name)))
        return 0
    if args.twin:
        name, *files = args.twin
        manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
        results = [json.loads(Path(f).read_text(encoding="utf-8")) for f in files]
        pairs = evaluated_twin(rows_by_set(manifest)[name], results)
        print(pooled_table(name, pairs, "json"))
        return 0
    refs: dict[str, list] = {}
    for path in args.references:
        res = json.loads(Path(path).read_text(encoding="utf-8"))
        refs.setdefault(Path(res["data"]).name, []).append(res)
    for name, results in refs.items():
        print(calibration_table(name, sorted(results, key=lambda r: r["fold"])))
        print()
    validation = json.loads((ROOT / "models" / "validation.json").read_text(encoding="utf-8"))
    for key, record in validation.items():
        print(validation_table(key, record))
        print()
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    by_set = rows_by_set(manifest)
    print(rules_table(by_set))
    print()
    for name, pairs in by_set.items():
        print(fold_table(name, pairs))
        print()
        for twin in RULES:
            if all(twin in nets for nets in pairs):
                print(pooled_table(name, pairs, twin))
                print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
