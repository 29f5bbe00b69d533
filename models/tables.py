"""The tables of models/README.md, printed from models/manifest.json.

    python models/tables.py

Pools the three held-out folds of ISBI12 and of CrackForest: for each pair, the
λ = 0 control against the TopoLoss twin, per image (paired), with the Wilcoxon
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

SETS = {"isbi12": "ISBI12", "crackforest": "CrackForest"}
COLUMNS = ("accuracy", "voi", "betti_error", "merges", "splits", "missed", "holes_extra")
HIGHER = {"accuracy"}


def rows_by_set(manifest: dict) -> dict[str, list[tuple[dict, dict]]]:
    """``{set: [(control, twin), ...]}`` for the three folds, in fold order."""
    out: dict[str, list] = {}
    for entry in manifest["checkpoints"]:
        if entry["data"] in SETS and entry["loss"] == "bce":
            twin = next(
                e
                for e in manifest["checkpoints"]
                if e["pair"] == entry["pair"] and e["loss"] == "bce+topo"
            )
            out.setdefault(entry["data"], []).append((entry, twin))
    return out


def fold_table(name: str, pairs: list[tuple[dict, dict]]) -> str:
    lines = [
        f"#### {SETS[name]}, per held-out fold (counts are totals over the fold's images)",
        "",
        "| fold | twin | λ | accuracy | VOI | Betti error (65²) | merges | splits | missed "
        "| holes ≥ 25 px extra (256²) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for control, twin in pairs:
        for e in (control, twin):
            m, t = e["metrics"]["mean"], e["metrics"]["total"]
            lines.append(
                f"| {e['fold']}/3 | {'control' if e is control else 'TopoLoss'} | {e['lam']:g} "
                f"| {m['accuracy']:.4f} | {m['voi']:.4f} | {m['betti_error']:.4f} "
                f"| {t['merges']} | {t['splits']} | {t['missed']} | {m['holes_extra']:.3f} |"
            )
    return "\n".join(lines)


def pooled_table(name: str, pairs: list[tuple[dict, dict]]) -> str:
    lines = [
        f"#### {SETS[name]}, the three folds pooled: TopoLoss twin against its λ = 0 control",
        "",
        "| measure | control | TopoLoss | change | images better / worse / same | Wilcoxon p |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in COLUMNS:
        a = [v for c, _ in pairs for v in c["metrics"]["per_image"][m]]
        b = [v for _, t in pairs for v in t["metrics"]["per_image"][m]]
        r = paired_comparison(a, b, higher_is_better=m in HIGHER)
        if m in ("merges", "splits", "missed"):
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


def main() -> int:
    manifest = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))
    for name, pairs in rows_by_set(manifest).items():
        print(fold_table(name, pairs))
        print()
        print(pooled_table(name, pairs))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
