"""Command line: ``python -m topoviz SUBCOMMAND ...``.

Subcommands::

    train     BCE pretraining, then BCE + λ·L_topo fine-tuning; writes a checkpoint
    evaluate  Accuracy, ARI, VOI, Betti error (mean ± std) and the region-level
              merges / splits of a checkpoint on a fold; with --references, of
              calibration segmentations made from the ground truth alone
    compare   Two checkpoints on the same images: paired per-image differences,
              images better / worse, Wilcoxon signed-rank p-values

To add a subcommand, write ``def _add_NAME(sub)`` that creates its parser with
``sub.add_parser(...)`` and ``set_defaults(run=fn)`` (``fn(args) -> int``), and
append it to :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from topoviz import checkpoints, nets
from topoviz.calibration import calibration_set
from topoviz.data import (
    carve_validation,
    load_split,
    parse_fold,
    parse_synthetic,
    structure_of,
)
from topoviz.metrics import STRUCTURES, one_pixel_references
from topoviz.provenance import TABLE_PATCHES, data_label, load_profiles, profile, unlike
from topoviz.stats import paired_comparison
from topoviz.train import (
    DIRECTION,
    METRICS,
    REGION_METRICS,
    evaluate,
    evaluate_predictions,
    fine_tune,
    format_paired,
    format_table,
    pretrain,
)

DEFAULT_STEPS = 500
#: How the CLI names itself in usage lines and in its own one-line errors and warnings
#: (argparse's errors and ours had read "python -m topoviz train" and "topoviz train").
PROG = "python -m topoviz"


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _run_stage(gen, stage: str, log_every: int, log=_log) -> tuple[int, float]:
    """Drain a training generator, printing one line every ``log_every`` steps."""
    n, seconds = 0, 0.0
    for r in gen:
        n, seconds = r.step, seconds + r.seconds
        if log_every > 0 and (r.step % log_every == 0 or r.step in (1, r.total_steps)):
            log(
                f"[{stage}] step {r.step:>5}/{r.total_steps}  bce {r.bce:.4f}  "
                f"topo {r.topo:.4f}  loss {r.loss:.4f}  {seconds / r.step:.3f} s/step"
            )
    return n, seconds


def _train_device(name: str):
    """The torch device of ``--device``; under torchrun, CUDA rank r uses GPU LOCAL_RANK."""
    import torch

    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise SystemExit("train: --device cuda, but torch sees no CUDA device (try auto or cpu)")
    if name == "cpu" or (name == "auto" and not cuda):
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))


def _start_distributed(device) -> tuple[int, int]:
    """Join the torchrun group (``WORLD_SIZE`` > 1): nccl on CUDA, gloo on CPU."""
    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", 1)) <= 1:
        return 1, 0
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_world_size(), dist.get_rank()


class _Interrupt:
    """While active, SIGINT (Ctrl-C) and SIGTERM ask training to stop after the step
    under way, so that ``train`` saves where it got to; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._old: dict = {}

    def __call__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum, frame) -> None:
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name
        _log(f"{self.signal}: stopping after this step and saving a checkpoint to resume")

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals reach the main thread only: nothing to install
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


#: The ``train`` options a checkpoint records so that ``--resume`` continues the run.
_RESUMED = (
    "data", "fold", "arch", "base", "lam", "batch", "patch", "lr", "topo_patch",
    "topo_patches", "rule", "topo_dims", "seed", "val_every",
)  # fmt: skip


def _resume_args(args: argparse.Namespace) -> tuple[object, dict, dict]:
    """``(model, done, meta)`` of an interrupted checkpoint, with ``args`` set to its
    run's options and its remaining steps."""
    model, meta = checkpoints.load(args.resume)
    run = meta.get("run")
    if not isinstance(run, dict) or "targets" not in run:
        raise SystemExit(f"train: {args.resume} records no run to resume (not written by train)")
    try:  # the meta is the file's, untrusted: a bad record is said, not a traceback
        done = {k: int(meta.get("steps", {}).get(k, 0)) for k in ("bce", "topo")}
        left = {k: int(run["targets"][k]) - done[k] for k in ("bce", "topo")}
        options = dict(run["options"])
        numbers = ("base", "lam", "batch", "patch", "lr", "topo_patch", "topo_patches", "seed",
                   "val_every")  # fmt: skip
        for key in numbers:
            if key in options and options[key] is not None:
                if isinstance(options[key], bool) or not isinstance(options[key], (int, float)):
                    raise TypeError(key)
        if "topo_dims" in options:
            options["topo_dims"] = tuple(int(d) for d in options["topo_dims"])
    except (AttributeError, KeyError, TypeError, ValueError):
        raise SystemExit(
            f"train: {args.resume} records its run in a form train does not read "
            "(steps, targets and options of the interrupted run)"
        ) from None
    if max(left.values()) <= 0:
        raise SystemExit(f"train: {args.resume} finished its run; nothing to resume")
    for key in _RESUMED:
        setattr(args, key, options.get(key, getattr(args, key, None)))
    args.topo_dims = tuple(args.topo_dims)
    args.steps, args.topo_steps = max(left["bce"], 0), max(left["topo"], 0)
    args.init = meta.get("init")
    args.out = args.out or args.resume
    _log(f"resuming {args.resume}: {left['bce']} BCE and {left['topo']} topo step(s) left")
    return model, done, meta


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    device = _train_device(args.device)
    world, rank = _start_distributed(device)
    try:
        return _train(args, device, world, rank)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()


def _train(args: argparse.Namespace, device, world: int, rank: int) -> int:
    import torch

    log = _log if rank == 0 else (lambda msg: None)  # one voice under torchrun
    if world > 1 and args.parts != 1:
        raise SystemExit("train: --parts reproduces a torchrun run on one process; not both")
    resumed: dict = {}
    done_before = {"bce": 0, "topo": 0}
    if args.resume:
        if world > 1:
            raise SystemExit("train: --resume continues a run on one process, not under torchrun")
        model, done_before, resumed = _resume_args(args)
    elif not args.data or not args.out:
        raise SystemExit("train: give --data and --out (or --resume CHECKPOINT)")
    _check_train_options(args)  # now, not after the pretraining they would waste
    split = load_split(args.data, args.fold)
    fold = "all" if split.fold is None else f"{split.fold[0]}/{split.fold[1]}"
    if args.val_every:
        split = carve_validation(split, args.val_every)
        n_val = len(split.held_names)
        log(f"--val-every {args.val_every}: {n_val} validation image(s) left out of training")
    log(
        f"data {args.data}: {len(split.train_names)} training, "
        f"{len(split.held_names)} held-out image(s), fold {fold}"
    )
    init_meta = resumed.get("init_meta")
    if args.resume:
        bce_steps = args.steps
    elif args.init:
        model, init_meta = checkpoints.load(args.init)
        if args.steps:
            log(f"--init given: skipping the {args.steps} BCE pretraining step(s) asked for")
        bce_steps = 0
    else:
        kw = {"base": args.base} if args.base is not None else {}
        model = nets.build(args.arch, seed=args.seed, **kw)
        bce_steps = DEFAULT_STEPS if args.steps is None else args.steps
    model.to(device)
    if world > 1:
        log(f"torchrun: {world} ranks on {device.type}, batch {args.batch} per rank")
    # a resumed stage draws from a seed moved by the steps done, not a replay of them
    common = dict(batch=args.batch, patch=args.patch, lr=args.lr, amp=args.amp, parts=args.parts)
    t0 = time.perf_counter()
    with _Interrupt() as interrupt:
        done_bce, s_bce = _run_stage(
            pretrain(
                model,
                split.train,
                bce_steps,
                seed=args.seed + done_before["bce"],
                stop=interrupt,
                **common,
            ),
            "bce",
            args.log_every,
            log,
        )
        done_topo, s_topo = 0, 0.0
        if not interrupt():
            done_topo, s_topo = _run_stage(
                fine_tune(
                    model,
                    split.train,
                    args.lam,
                    args.topo_steps,
                    topo_patch=args.topo_patch,
                    topo_patches=args.topo_patches,
                    rule=args.rule,
                    topo_dims=args.topo_dims,
                    seed=args.seed + 1 + done_before["topo"],
                    stop=interrupt,
                    **common,
                ),
                f"bce+{args.lam:g}*topo",
                args.log_every,
                log,
            )
    train_seconds = time.perf_counter() - t0 + float(resumed.get("train_seconds") or 0)
    targets = (resumed.get("run") or {}).get("targets") or {
        "bce": bce_steps,
        "topo": args.topo_steps,
    }
    syn = parse_synthetic(args.data)
    meta = {
        "arch": nets.arch_of(model),
        "data": str(args.data),
        "synthetic": syn,
        "fold": fold,
        "train_names": split.train_names,
        "held_out": split.held_names,
        "loss": "bce" if args.topo_steps == 0 or args.lam == 0 else "bce+topo",
        "recipe": resumed.get("recipe") or shlex.join(["python", "-m", "topoviz", *args.argv]),
        "seed": args.seed,
        "steps": {"bce": done_before["bce"] + done_bce, "topo": done_before["topo"] + done_topo},
        "interrupted": interrupt.signal,
        "run": {"targets": targets, "options": {k: getattr(args, k) for k in _RESUMED}},
        "resumed_from": str(args.resume) if args.resume else resumed.get("resumed_from"),
        "lam": float(args.lam),
        "batch": args.batch,
        "patch": args.patch,
        "lr": args.lr,
        "topo_patch": args.topo_patch,
        "topo_patches": args.topo_patches,
        "rule": args.rule,
        "topo_dims": list(args.topo_dims),
        "val_every": args.val_every or None,
        "init": str(args.init) if args.init else None,
        "init_meta": init_meta,
        "train_seconds": round(train_seconds, 2),
        "seconds_per_step": {
            "bce": round(s_bce / done_bce, 4) if done_bce else None,
            "topo": round(s_topo / done_topo, 4) if done_topo else None,
        },
        "terms": split.terms,
        "torch": str(torch.__version__),
        "device": device.type,
        "amp": "bf16" if args.amp else None,
        "world_size": world,
        "global_batch": args.batch * world,
    }
    if rank != 0:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoints.save(out, model, meta)
    if interrupt.signal:
        steps = meta["steps"]
        _log(
            f"saved {out} after {steps['bce']}/{targets['bce']} BCE and "
            f"{steps['topo']}/{targets['topo']} topo step(s) ({interrupt.signal}); "
            f"continue with: python -m topoviz train --resume {out}"
        )
        return 130 if interrupt.signal == "SIGINT" else 143
    _log(f"saved {out} ({train_seconds:.1f} s training)")
    return 0


#: Bounds of the scoring flags: 200 Betti patches an image make the tables, and 10
#: injected breaks the calibration rows; these are far above, and still end.
MAX_N_PATCHES = 100_000
MAX_INJECT = 100


def _split_for(args: argparse.Namespace, meta: dict):
    """The data, fold and split to score: the command line's, else the checkpoint's."""
    if not 1 <= args.n_patches <= MAX_N_PATCHES:  # 1e8 ran on, its memory growing
        raise SystemExit(
            f"{args.command}: --n-patches must be in 1..{MAX_N_PATCHES}; got {args.n_patches}"
        )
    if args.seed < 0:
        raise SystemExit(f"{args.command}: --seed must be >= 0; got {args.seed}")
    if args.val_every == 1 or args.val_every < 0:
        raise SystemExit(
            f"{args.command}: --val-every must be 0 (off) or >= 2; got {args.val_every}"
        )
    data = args.data or _from_project(meta.get("data"))
    fold = args.fold or meta.get("fold")
    checkpoint = getattr(args, "checkpoint", None) or getattr(args, "control", None)
    if args.data and parse_synthetic(args.data) is None and not Path(args.data).is_dir():
        # before the note on whose data it is: that note came first, then this error
        if Path(args.data).exists():
            raise SystemExit(f"{args.command}: --data {args.data} is a file, not a folder")
        raise SystemExit(f"{args.command}: data folder not found: {args.data}")
    if checkpoint and args.data and not args.fold and not _same_data(args.data, meta):
        fold = "all"  # another set than the checkpoint's: none of it was trained on
        theirs = meta.get("data")
        _log(
            f"--data {args.data} is not the checkpoint's own data "
            f"({theirs if theirs else 'it names none'}): "
            "evaluating all its images (give --fold K/N to score one fold)"
        )
    if not data:
        raise SystemExit(f"{args.command}: give --data (no checkpoint names its data)")
    if not fold:
        raise SystemExit(f"{args.command}: give --fold K/N (no checkpoint names its fold)")
    if fold != "all":
        parse_fold(fold)
    if meta.get("data") == data and meta.get("fold") not in (None, fold):
        _log(
            f"warning: the checkpoint was trained on fold {meta.get('fold')}; "
            f"evaluating fold {fold} includes its training images"
        )
    if args.val_every and meta and _same_data(str(data), meta):
        trained_with = meta.get("val_every") or None
        if trained_with != args.val_every:
            raise SystemExit(
                f"{args.command}: this checkpoint was trained "
                + (f"with --val-every {trained_with}" if trained_with else "on every image")
                + f" of its fold's training part, so the images --val-every {args.val_every} "
                "sets aside were trained on: scoring them would not be a validation"
            )
    split = load_split(data, fold)
    if args.val_every:
        split = carve_validation(split, args.val_every)
        _log(
            f"--val-every {args.val_every}: scoring {len(split.held_names)} validation image(s) "
            f"carved from fold {fold}'s training part"
        )
    structure = args.structure or structure_of(data)
    return data, fold, split, structure


def _print_tables(data, fold, split, rows: dict[str, dict]) -> None:
    n = len(split.held_names)
    structure = next(iter(rows.values()))["structure"]
    print(f"{data}, fold {fold}: {n} held-out image(s), mean ± std over images")
    if split.held_fov is not None:
        print("scored inside the field-of-view masks (masks/) only")
    print(format_table(rows))
    print(f"\nRegion-level topology ({structure}; counts are totals over the {n} images):")
    print(format_table(rows, digits=3, metrics=REGION_METRICS))
    for name, row in rows.items():
        parts = row["betti_parts"]
        print(
            f"{name}: Betti error (65²) per patch = {parts['extra']:.4f} extra holes "
            f"+ {parts['missing']:.4f} missing holes"
        )


def _json(obj) -> str:
    """``obj`` as strict JSON: an undefined score (ARI / VOI of a ground truth with no
    region, NaN) is ``null``, which every JSON reader takes; bare ``NaN`` is not JSON.

    Examples
    --------
    >>> import json as j
    >>> j.loads(_json({"ari": float("nan"), "n": [1, 2.5]}))
    {'ari': None, 'n': [1, 2.5]}
    """

    def strict(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: strict(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [strict(v) for v in x]
        return x

    return json.dumps(strict(obj), indent=2, allow_nan=False)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if not args.checkpoint and not args.references:
        raise SystemExit("evaluate: give --checkpoint, or --references with --data and --fold")
    if args.inject is not None and not args.references:
        raise SystemExit("evaluate: --inject sets the breaks of --references; give both")
    args.inject = 10 if args.inject is None else args.inject
    if not 0 <= args.inject <= MAX_INJECT:  # 1e8 cut breaks without end in sight
        raise SystemExit(f"evaluate: --inject must be in 0..{MAX_INJECT}; got {args.inject}")
    model, meta = checkpoints.load(args.checkpoint) if args.checkpoint else (None, {})
    data, fold, split, structure = _split_for(args, meta)
    options = dict(
        n_patches=args.n_patches,
        seed=args.seed,
        names=split.held_names,
        structure=structure,
        fovs=split.held_fov,
    )
    rows: dict[str, dict] = {}
    result: dict = {}
    if model is not None:
        _warn_unlike(split.held_out[0], split.held_names, meta, str(data))
        result = evaluate(model, *split.held_out, **options)
        result["checkpoint"] = str(args.checkpoint)
        rows[Path(args.checkpoint).stem] = result
    result.update(data=str(data), fold=fold, val_every=args.val_every or None)
    if args.references:
        masks = split.held_out[1]
        refs = [one_pixel_references(m) for m in masks]
        result["references"] = {
            name: evaluate_predictions([r[name] for r in refs], masks, **options)
            for name in refs[0]
        }
        cal = [calibration_set(m, structure, n=args.inject, seed=args.seed) for m in masks]
        for name in cal[0]:
            row = evaluate_predictions([c[name][0] for c in cal], masks, **options)
            row["injected"] = int(sum(c[name][1] for c in cal))
            result["references"][name] = row
        rows.update(result["references"])
    if args.json:
        print(_json(result))
        return 0
    _print_tables(data, fold, split, rows)
    n = len(split.held_names)
    for name, row in rows.items():
        if row.get("injected"):  # the shifted row has none: nothing to announce
            print(f"{name}: {row['injected']} errors injected over the {n} image(s)")
    return 0


def _warn_unlike(images, names, meta: dict, data: str) -> None:
    """A warning when the images scored look unlike the data the checkpoint was
    trained on (:func:`topoviz.provenance.unlike`, as the app's sidebar warns): its
    scores there may say little. Nothing for its own data or unprofiled data."""
    ref = load_profiles().get(data_label(meta))
    if ref is None or _same_data(data, meta):
        return
    found = [(n, unlike(profile(im), ref)) for n, im in zip(names, images, strict=True)]
    found = [(n, why) for n, why in found if why]
    if found:
        name, why = found[0]
        warnings.warn(
            f"{len(found)} of {len(names)} images look unlike {data_label(meta)}, the data the "
            f"checkpoint was trained on (e.g. {name}: {'; '.join(why)}): its likelihood, "
            "and so its scores, may mean little there",
            stacklevel=2,
        )


def _labels(control: str, method: str) -> list[str]:
    """The two checkpoints' names in compare's tables: their file stems, with as much
    of their folders as tells them apart (two runs' ``best.pt`` had shared one row, the
    method's numbers under both names), else "(control)" / "(method)".

    >>> _labels("runs/a/best.pt", "runs/b/best.pt"), _labels("x/bce.pt", "x/topo.pt")
    (['a/best', 'b/best'], ['bce', 'topo'])
    >>> _labels("net.pt", "./net.pt"), _labels("/a/best.pt", "a/best.pt")
    (['net (control)', 'net (method)'], ['best (control)', 'best (method)'])
    """
    paths = [Path(control), Path(method)]
    folders = [[q for q in p.parent.parts if q != p.anchor] for p in paths]  # no root "/"
    for depth in range(1, 2 + max(len(f) for f in folders)):
        names = [
            "/".join([*f[len(f) - depth + 1 :], p.stem])
            for f, p in zip(folders, paths, strict=True)
        ]
        if names[0] != names[1]:
            return names
    return [f"{paths[0].stem} (control)", f"{paths[1].stem} (method)"]


def _cmd_compare(args: argparse.Namespace) -> int:
    loaded = [checkpoints.load(c) for c in (args.control, args.method)]
    metas = [meta for _, meta in loaded]
    if not args.data and (metas[0].get("data"), metas[0].get("fold")) != (
        metas[1].get("data"),
        metas[1].get("fold"),
    ):
        raise SystemExit(
            "compare: the two checkpoints were trained on different data or folds; "
            "give --data and --fold to score both on the same images"
        )
    data, fold, split, structure = _split_for(args, metas[0])
    _warn_unlike(split.held_out[0], split.held_names, metas[0], str(data))
    options = dict(
        n_patches=args.n_patches,
        seed=args.seed,
        names=split.held_names,
        structure=structure,
        fovs=split.held_fov,
    )
    results = [evaluate(model, *split.held_out, **options) for model, _ in loaded]
    names = _labels(args.control, args.method)
    table = {}
    for m in (*METRICS, *REGION_METRICS):
        table[m] = paired_comparison(
            [r[m] for r in results[0]["per_image"]],
            [r[m] for r in results[1]["per_image"]],
            higher_is_better=DIRECTION[m] > 0,
        )
    out = {
        "data": str(data),
        "fold": fold,
        "control": str(args.control),
        "method": str(args.method),
        "n": len(split.held_names),
        "paired": table,
        "results": dict(zip(names, results, strict=True)),
    }
    if args.json:
        print(_json(out))
        return 0
    _print_tables(data, fold, split, dict(zip(names, results, strict=True)))
    print(f"\nPaired per image: {names[1]} against {names[0]} (Wilcoxon signed-rank, two-sided)")
    print(format_paired(table))
    return 0


#: TopoLoss's arguments, as train's flags name them.
_TOPO_FLAGS = {
    "patch_size": "--topo-patch",
    "patches_per_image": "--topo-patches",
    "lam": "--lam",
    "rule": "--rule",
    "dims": "--topo-dims",
}


#: Bounds of ``train``'s --patch and --base (base 16 is the shipped nets' 0.5 M
#: weights; 256 would be 256 times as many, 120 M).
MIN_PATCH, MAX_BASE = 8, 256


def _check_train_options(args: argparse.Namespace) -> None:
    """Refuse bad training options before the first step, naming the flag: a bad
    --lam used to surface only when the pretraining was over, and its net was lost."""
    from topoviz.loss import TopoLoss

    for flag, value in (("--steps", args.steps), ("--topo-steps", args.topo_steps)):
        if value is not None and value < 0:
            raise SystemExit(f"train: {flag} must be >= 0; got {value}")
    if args.batch < 1:
        raise SystemExit(f"train: --batch must be >= 1; got {args.batch}")
    if args.seed < 0:  # numpy's and torch's words came after the data had loaded
        raise SystemExit(f"train: --seed must be >= 0; got {args.seed}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise SystemExit(f"train: --lr must be a finite number > 0; got {args.lr}")
    if args.patch < MIN_PATCH:  # a 1-px crop has no structure to learn from
        raise SystemExit(f"train: --patch must be >= {MIN_PATCH}; got {args.patch}")
    if args.base is not None and not args.init and not args.resume:
        if args.arch != "unet":
            raise SystemExit(f"train: --base sets a U-Net's channels; --arch {args.arch} has none")
        if not 1 <= args.base <= MAX_BASE:  # base 0 had silently meant the default
            raise SystemExit(f"train: --base must be in 1..{MAX_BASE}; got {args.base}")
    try:  # TopoLoss checks the rest; its message names its argument, we name the flag
        TopoLoss(patch_size=args.topo_patch, patches_per_image=args.topo_patches,
                 lam=args.lam, rule=args.rule, dims=args.topo_dims)  # fmt: skip
    except (TypeError, ValueError) as error:
        name, rest = str(error).split(" ", 1)
        raise SystemExit(f"train: {_TOPO_FLAGS.get(name, name)} {rest}") from None
    if args.lam > 0 and not args.topo_steps and not args.resume:
        # λ weighs L_topo in the fine-tuning stage only: without that stage the run
        # was BCE alone, and its checkpoint recorded a λ it never used
        raise SystemExit(
            f"train: --lam {args.lam:g} weighs L_topo in the --topo-steps stage; give "
            "--topo-steps N (with --steps 0 and --init CKPT to only fine-tune)"
        )
    out = Path(args.out)
    if out.is_dir():
        raise SystemExit(f"train: --out {out} is a folder; give a file name such as {out}/net.pt")
    shipped = Path(__file__).resolve().parents[1] / "models"
    if not args.resume and out.is_file() and out.resolve().parent == shipped:
        raise SystemExit(  # it was overwritten without a word
            f"train: --out {out} is a shipped checkpoint; write elsewhere and copy it into "
            "models/ (as models/recipes.sh does)"
        )
    if not out.parent.is_dir():
        raise SystemExit(f"train: --out {out}: the folder {out.parent} does not exist")


def _from_project(data):
    """A checkpoint's data folder, as recorded (relative to the project root, where
    the recipes run): found from the root when the current folder is elsewhere."""
    if not isinstance(data, str) or parse_synthetic(data) is not None:
        return data
    path = Path(data)
    root = Path(__file__).resolve().parents[1]
    if not path.is_absolute() and not path.exists() and (root / path).exists():
        return os.path.normpath(root / path)
    return data


def _same_data(data: str, meta: dict) -> bool:
    """Whether ``data`` names the set the checkpoint was trained on (same folder or
    the same synthetic spec)."""
    theirs = meta.get("data")
    if not isinstance(theirs, str):
        return False
    ours, spec = parse_synthetic(data), parse_synthetic(theirs)
    if ours is not None or spec is not None:
        return ours == spec  # the parsed spec: defaults filled, any order of options
    return Path(data).resolve() == Path(_from_project(theirs)).resolve()


def _dims(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(sorted({int(d) for d in text.split(",")}))
    except ValueError:
        dims = ()
    if not dims or any(d not in (0, 1) for d in dims):
        raise argparse.ArgumentTypeError(f"expected '0,1', '0' or '1'; got {text!r}")
    return dims


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="BCE pretraining, then BCE + λ·L_topo fine-tuning; writes a checkpoint",
        description=(
            "Pretrain with per-pixel BCE for --steps steps, then fine-tune with "
            "BCE + λ·L_topo for --topo-steps steps (paper Sec. 2.3), on the training "
            "part of a fold. λ is for a per-pixel-mean BCE (see topoviz.train)."
        ),
    )
    p.add_argument(
        "--data", help="folder (images/, labels/) or synthetic:NAME (required, unless --resume)"
    )
    p.add_argument(
        "--fold", default="1/3", help="K/N: hold out the K-th of N parts, or 'all' (default 1/3)"
    )
    p.add_argument("--out", help="checkpoint to write (required; with --resume: default that file)")
    p.add_argument("--arch", default="unet", choices=sorted(nets.ARCHITECTURES))
    p.add_argument("--base", type=int, default=None, help="unet channels (default: the net's, 16)")
    p.add_argument(
        "--steps", type=int, help=f"BCE pretraining steps (default {DEFAULT_STEPS}; 0 with --init)"
    )
    p.add_argument(
        "--topo-steps", type=int, default=0, help="BCE + λ·L_topo steps (default 0: BCE only)"
    )
    p.add_argument("--lam", type=float, default=0.0, help="λ (per-pixel-mean BCE scale; default 0)")
    p.add_argument("--batch", type=int, default=8, help="crops per step (default 8)")
    p.add_argument("--patch", type=int, default=65, help="side of the crops (default 65)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument(
        "--topo-patch", type=int, default=65, help="side of the L_topo patches (default 65)"
    )
    p.add_argument(
        "--topo-patches",
        type=int,
        default=4,
        help="L_topo patches per crop (default 4; one when --topo-patch >= --patch: the crop)",
    )
    p.add_argument(
        "--rule", default="paper", choices=("paper", "optimal", "betti"), help="default paper"
    )
    p.add_argument(
        "--topo-dims",
        type=_dims,
        default=(1,),
        help="dimensions L_topo sums over: '1' (holes, the paper's footnote 8; default), "
        "'0,1' (Eq. 2.2 as written) or '0'",
    )
    p.add_argument("--seed", type=int, default=0, help="crops and L_topo patches (default 0)")
    p.add_argument(
        "--val-every",
        type=int,
        default=0,
        help="leave out every K-th training image (a validation split for choosing λ)",
    )
    p.add_argument(
        "--init", help="start from this checkpoint and only fine-tune (--arch, --base ignored)"
    )
    p.add_argument("--log-every", type=int, default=20, help="progress line every N steps")
    p.add_argument(
        "--device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where the net trains (auto: CUDA when present); L_topo's pairing stays on CPU",
    )
    p.add_argument(
        "--amp", action="store_true", help="bfloat16 autocast for the net's forward pass"
    )
    p.add_argument(
        "--parts",
        type=int,
        default=1,
        help="draw each batch as N parts seeded like N torchrun ranks (replays a "
        "torchrun run of N ranks with --batch N x B on one process: exactly without "
        "BatchNorm, approximately with it, whose statistics are per rank there)",
    )
    p.add_argument(
        "--resume",
        help="continue the run an interrupted train (Ctrl-C, SIGTERM) saved in this "
        "checkpoint: its data, fold and options, the steps left (Adam restarts)",
    )
    p.set_defaults(run=_cmd_train)


def _add_evaluate(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="Accuracy, ARI, VOI, Betti error of a checkpoint on held-out images",
        description=(
            "The paper's Table 1 numbers, mean ± std over the held-out images, and the "
            "region-level table (false merges / splits, VOI's parts, holes >= 25 px). "
            "--references adds rows scored without any net: the ground truth thickened, "
            "thinned and shifted by one pixel, and with --inject breaks and walls (or "
            "bridges) per image: what each metric sees of a moved edge and of a real break."
        ),
    )
    p.add_argument("--checkpoint", help="checkpoint to score (optional with --references)")
    p.add_argument("--data", help="folder or synthetic:NAME (default: the checkpoint's)")
    p.add_argument(
        "--fold",
        help="K/N or 'all' (default: the checkpoint's fold on its own data, all images of "
        "any other --data)",
    )
    p.add_argument(
        "--references",
        action="store_true",
        help="also score segmentations made from the ground truth alone: moved by one pixel "
        "(metrics.one_pixel_references) and with --inject breaks / walls (calibration)",
    )
    p.add_argument(
        "--inject", type=int, help="breaks and walls per image for --references (default 10)"
    )
    _add_scoring_options(p)
    p.set_defaults(run=_cmd_evaluate)


def _add_scoring_options(p) -> None:
    """The options ``evaluate`` and ``compare`` share."""
    p.add_argument(
        "--n-patches",
        type=int,
        default=TABLE_PATCHES,
        help=f"Betti-error patches per image (default {TABLE_PATCHES}, models/README's tables)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the Betti-error patches")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument(
        "--val-every",
        type=int,
        default=0,
        help="score the validation split of the fold's training part (every K-th image)",
    )
    p.add_argument(
        "--structure",
        choices=STRUCTURES,
        help="regions for merges / splits: cells between membranes, or components of "
        "curvilinear structures (default: guessed from the data's name)",
    )


def _add_compare(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="paired per-image comparison of two checkpoints (Wilcoxon signed-rank)",
        description=(
            "Score a control (e.g. the λ = 0 twin) and a method (the TopoLoss twin) on "
            "the same held-out images; print both tables and, per metric, the mean "
            "difference, how many images got better / worse, and the Wilcoxon "
            "signed-rank p-value of the per-image differences."
        ),
    )
    p.add_argument("control", help="checkpoint of the control")
    p.add_argument("method", help="checkpoint of the method")
    p.add_argument("--data", help="folder or synthetic:NAME (default: the control's)")
    p.add_argument("--fold", help="K/N or 'all' (default: the control's)")
    _add_scoring_options(p)
    p.set_defaults(run=_cmd_compare)


SUBCOMMANDS: list[Callable] = [_add_train, _add_evaluate, _add_compare]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="topoviz: topology-preserving segmentation (TopoLoss) from the command line",
    )
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand. Bad input (a missing file, a wrong fold, a checkpoint of
    another kind, a bad value) ends with one line, ``python -m topoviz SUBCOMMAND:
    error: …``, and exit code 2, as argparse's own errors do; ``TOPOVIZ_TRACEBACK=1``
    shows the traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv

    def warn(message, category, *rest, **kw) -> None:  # what the readers noticed
        print(f"{PROG} {args.command}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", UserWarning)
            warnings.showwarning = warn
            return int(args.run(args) or 0)
    except SystemExit as error:  # the subcommands' own checks: SystemExit("CMD: why")
        if not isinstance(error.code, str) or os.environ.get("TOPOVIZ_TRACEBACK"):
            raise
        what = error.code.removeprefix(f"{args.command}: ")
    except (ValueError, OSError) as error:  # ImageError, CheckpointError are ValueErrors
        if os.environ.get("TOPOVIZ_TRACEBACK"):
            raise
        what = str(error) or type(error).__name__
        if isinstance(error, OSError) and error.filename and str(error.filename) not in what:
            what = f"{what}: {error.filename}"
    except (MemoryError, RuntimeError) as error:  # torch's "can't allocate memory"
        if os.environ.get("TOPOVIZ_TRACEBACK") or not _out_of_memory(error):
            raise
        first = (str(error).splitlines() or [""])[0]
        what = f"not enough memory for this run ({first[:200] or type(error).__name__})"
    print(f"{PROG} {args.command}: error: {' '.join(what.split())}", file=sys.stderr)
    return 2


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says memory ran out (numpy's MemoryError, torch's allocator)."""
    words = str(error).lower()
    return isinstance(error, MemoryError) or "allocate" in words or "out of memory" in words


def _end_process(code: int) -> None:
    """End ``python -m topoviz`` with ``code``. A torchrun rank (``WORLD_SIZE`` > 1)
    ends at once, its group already destroyed: left to the interpreter's teardown, a
    rank of a 2-rank gloo run now and then aborted ("terminate called without an
    active exception", a C++ thread still joinable at exit), and torchrun then called
    the whole run failed (``python bench/bench_torchrun_exit.py`` counts them)."""
    if int(os.environ.get("WORLD_SIZE", 1)) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    _end_process(main())
