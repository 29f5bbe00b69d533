"""Where TopoLoss pushes on held-out ISBI12 patches, by matching rule.

    python models/landings.py [--n-patches 100] [--seed 0] [--min-push 0.1]

For each ISBI12 fold, the shipped λ = 0 control (``models/isbi12_fK_unet_bce.pt``:
the base fine-tuned with BCE alone for as long as its twins) predicts every held-out
image. ``--n-patches`` random 65² patches per image (framed, as in training; seed 0)
are drawn; as in training, a patch whose thresholded prediction already equals the
ground truth is skipped. On each of the others L_topo's targets are computed on
dimension 1 under the paper's rule and under Betti matching
(:func:`topoviz.matching.match_images`, :func:`topoviz.loss.critical_targets`), and
every push larger than ``--min-push`` (``|target - f(c)|``; the many tiny pushes
that flatten noise are left out) is classified by
:func:`topoviz.pushes.push_landings`: up or down, and right (towards the ground
truth at that pixel) or wrong.

The pushes of dots pulled towards a ground-truth dot are counted apart from those of
dots sent to the diagonal. A pulled dot's push **down, wrong** digs into true
membrane: the pinhole of issue 12. A push **up, wrong** raises likelihood inside a
true cell: a new wall, or a blob that is not there.

Prints one markdown table (counts summed over the three folds), the table quoted in
models/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "isbi12"
RULES = ("paper", "betti")
KINDS = ("up, right", "up, wrong", "down, right", "down, wrong")


def patch_landings(
    f: np.ndarray, g: np.ndarray, rule: str, min_push: float = 0.1
) -> dict[str, dict[str, int]]:
    """The pushes (larger than ``min_push``) of one framed patch on dimension 1,
    counted: ``{"pulled": counts, "diagonal": counts}``, :data:`KINDS` the keys of each.

    >>> g = np.ones((24, 24)); g[4:20, 4:11] = 0; g[4:20, 13:20] = 0  # two true cells
    >>> f = 0.9 * g + 0.2 * (1 - g); f[10:13, 11:13] = 0.4           # their wall weak
    >>> patch_landings(f, g, "paper")["pulled"]   # the gap raised, both cells dug
    {'up, right': 1, 'up, wrong': 0, 'down, right': 2, 'down, wrong': 0}
    """
    from topoviz.loss import critical_targets
    from topoviz.matching import match_images
    from topoviz.pushes import push_landings

    dgm_f, _, m = match_images(f, g, frame=True, rule=rule, dims=(1,))
    ct = critical_targets(dgm_f, m)
    pulled = push_landings(f, g, ct, matching=m, min_push=min_push).counts(1)
    every = push_landings(f, g, ct, min_push=min_push).counts(1)
    return {"pulled": pulled, "diagonal": {k: every[k] - pulled[k] for k in KINDS}}


def landings(n_patches: int, seed: int, min_push: float, size: int = 65) -> tuple[dict, int, int]:
    """Counts by rule and kind over the three folds' held-out images; also the number
    of patches drawn and of those the loss would act on."""
    from topoviz import checkpoints, predict
    from topoviz.data import load_split

    total = {r: {w: dict.fromkeys(KINDS, 0) for w in ("pulled", "diagonal")} for r in RULES}
    drawn = acted = 0
    for k in (1, 2, 3):
        model, _ = checkpoints.load(ROOT / "models" / f"isbi12_f{k}_unet_bce.pt")
        split = load_split(DATA, f"{k}/3")
        for image, mask in zip(split.held_images, split.held_masks, strict=True):
            f = predict(model, image).astype(np.float64)
            g = (np.asarray(mask) > 0.5).astype(np.float64)
            rng = np.random.default_rng(seed)
            rows = rng.integers(0, f.shape[0] - size + 1, n_patches)
            cols = rng.integers(0, f.shape[1] - size + 1, n_patches)
            for r, c in zip(rows, cols, strict=True):
                fp, gp = f[r : r + size, c : c + size], g[r : r + size, c : c + size]
                drawn += 1
                if np.array_equal(fp >= 0.5, gp > 0.5):
                    continue  # nothing to fix: the loss skips it
                acted += 1
                for rule in RULES:
                    for where, counts in patch_landings(fp, gp, rule, min_push).items():
                        for kind, n in counts.items():
                            total[rule][where][kind] += n
    return total, drawn, acted


def table(total: dict) -> str:
    lines = [
        "| rule | pushes of | up, right | up, wrong | down, right | down, wrong | wrong (share) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    names = {"paper": "paper's rule", "betti": "Betti matching"}
    for rule in RULES:
        for where, label in (
            ("pulled", "dots pulled to a GT dot"),
            ("diagonal", "dots sent to the diagonal"),
        ):
            c = total[rule][where]
            n = sum(c.values())
            wrong = c["up, wrong"] + c["down, wrong"]
            share = f"{wrong / n:.0%}" if n else "–"
            cells = " | ".join(str(c[k]) for k in KINDS)
            lines.append(f"| {names[rule]} | {label} | {cells} | {wrong} ({share}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python models/landings.py", description=__doc__)
    p.add_argument("--n-patches", type=int, default=100, help="random 65² patches per image")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-push", type=float, default=0.1, help="count pushes larger than this")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: ISBI12 not found (see ../shared/data/README)")
    total, drawn, acted = landings(args.n_patches, args.seed, args.min_push)
    print(
        f"ISBI12, 3 folds' held-out images, the λ = 0 controls' predictions: {drawn} framed "
        f"65² patches drawn ({args.n_patches} an image, seed {args.seed}), {acted} with "
        f"something to fix; L_topo on dimension 1; pushes larger than {args.min_push:g}\n"
    )
    print(table(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
