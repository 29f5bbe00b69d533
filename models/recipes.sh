#!/usr/bin/env bash
# Every shipped checkpoint's recipe, the λ choice on validation, and the evaluations
# behind models/README.md.
#
#   bash models/recipes.sh [PAIR ...]
#
#   PAIR: isbi12-f1 isbi12-f2 isbi12-f3 crackforest-f1 crackforest-f2 crackforest-f3 vessels-f1
#         isbi12-val-f1 crackforest-val-f1   (the λ sweeps on validation splits)
#         isbi12-val-f1-betti crackforest-val-f1-betti   (the same, Betti matching)
#         isbi12-val-f1-grid crackforest-val-f1-grid     (steps and learning rate, paper rule;
#                                                         after *-val-f1)
#         isbi12-val-f1-betti-steps1200   (Betti matching's λ at the steps ISBI12's grid chose)
#         isbi12-val-fK-clean isbi12-val-fK-clean-grid   (K = 1, 2, 3: ISBI12's λ, steps and
#                   lr for fold K's twins, both rules, on fold K's validation split, from a
#                   base whose pretraining never saw the validation images; fold 1's
#                   replace isbi12-val-f1, -grid and -betti-steps1200*)
#         crackforest-val-fK-clean crackforest-val-fK-clean-grid   (the same for CrackForest)
#         crackforest-val-f1-betti-dims01 isbi12-val-f1-betti-steps1200-dims01
#                   (Betti matching on dimensions 0 and 1, where the other Betti sweeps take
#                    dimension 1: a broken crack is an extra component, which dimension 1
#                    sees only where the crack closes a loop)
#         isbi12-val-fK-clean-dims01   (the same for ISBI12 from fold K's clean base, in
#                   the (steps, lr) group fold K picked, picked against dimension 1; after
#                   isbi12-val-fK-clean-grid)
#         crackforest-val-fK-clean-dims01   (the same for CrackForest, whose val_clean
#                   sweeps both dimensions in its own group: here only where the grid
#                   picked another)
#         isbi12-seeds crackforest-seeds   (each fold's three nets again with seeds 1 and 2,
#                   from the same bases, evaluated under $R/seeds: how much of a held-out
#                   result is the batches; models/tables.py --seeds)
#
# Runs from the project root; reads ../shared/data (never copied here); writes the
# pretrained nets, the fine-tuned twins and their evaluations (JSON) under
# ${R:-/tmp/topoviz_runs}; then copies each twin into models/.
#
# ISBI12 and CrackForest pairs (2026-12 recipe): a BCE pretraining, a BCE base
# fine-tune (600 steps), then two fine-tunes from that base on the same batches
# (same seed, same steps): λ = 0 (the control) and λ = LAM (the TopoLoss twin),
# L_topo on dimension 1 (the paper's footnote 8, the CLI's default). LAM, the
# twins' steps (STEPS) and learning rate are chosen on a validation split carved
# from the fold's own training images (every 5th), never on a held-out fold: λ swept
# in three (steps, lr) groups, each group's λ by models/choose_lambda.py, and the
# group whose chosen λ cuts its count most (models/validation.json). The clean
# sweeps (*-val-fK-clean*) start from a base that never saw the validation images
# either. The first sweeps (*-val-f1, -grid, -betti*) chose once, on fold 1, for all
# three folds, from a base pretrained on the validation images: ISBI12 retired them;
# CrackForest's folds 1 and 3 still take their choice (the arrays below). The
# synthetic vessels pair keeps its older two-stage recipe (pretrain, then the twins;
# L_topo on dimensions 0 and 1).
#
# Each ISBI12 and CrackForest pair also has a third net, the Betti-matching twin
# (models/P_betti.pt): the same base, batches, steps and lr, with --rule betti
# (Stucki et al. 2023, topoviz.matching.betti_match) and its own λ, chosen the same
# way by the Betti sweeps of the same stages, and its own homology dimensions: dimension
# 1, or 0 and 1 where the *-dims01 sweep cut its count more on validation
# (choose_lambda.py --pick).
set -euo pipefail
cd "$(dirname "$0")/.."
R=${R:-/tmp/topoviz_runs}
mkdir -p "$R"
T="python -m topoviz train"
E="python -m topoviz evaluate"
# The groups the clean sweeps run first (val_clean: both rules at these steps, lr 1e-4);
# val_clean_grid adds the other (steps, lr) groups and picks one
SWEEP_STEPS_ISBI12=1200
SWEEP_STEPS_CRACKFOREST=600
# chosen on each fold's own validation split (models/validation.json), indexed by fold
# (index 0 unused), by recipes isbi12-val-fK-clean, -clean-grid and -clean-dims01 and
# their CrackForest namesakes. CrackForest's folds 1 and 3 chose λ = 0 there (every
# λ > 0 made VOI worse): the rule trains no twin; their shipped twins keep the choice
# of the leaky crackforest-val-f1* sweeps (the fallback of choose_lambda.py), whose
# base had seen the validation images and whose validation images lie in fold 3's
# held-out set (models/README.md says so beside every number of theirs)
STEPS_ISBI12=(- 1200 600 1200)          # isbi12-fK-clean-*: the group picked (fold 2:
LR_ISBI12=(- 1e-4 3e-4 1e-4)            #   600 steps at lr 3e-4, isbi12-f2-clean-lr3e-4)
LAM_ISBI12=(- 0.1 0.1 0.3)              # in that group
LAM_BETTI_ISBI12=(- 0.1 0.1 0.1)        # isbi12-fK-clean-betti-<group>(-dims01)
DIMS_BETTI_ISBI12=(- 1 0,1 1)           # dims 0 and 1 against dimension 1: fold 1 tied
                                        #   (dimension 1 kept), fold 2 cut more, fold 3 less
STEPS_CRACKFOREST=(- 600 600 600)       # folds 1, 3: crackforest-val-f1-grid; fold 2:
LR_CRACKFOREST=(- 1e-4 3e-4 1e-4)       #   crackforest-f2-clean-lr3e-4, the group picked
LAM_CRACKFOREST=(- 0.03 0.3 0.03)       # folds 1, 3: crackforest-val-f1 (the fallback)
LAM_BETTI_CRACKFOREST=(- 0.03 0.1 0.03) # folds 1, 3: crackforest-val-f1-betti-dims01 (the
DIMS_BETTI_CRACKFOREST=(- 0,1 1 0,1)    #   fallback); fold 2: dimension 1 cut more

pretrain() {  # name data fold steps patch lr
  [ -f "$R/$1-pre.pt" ] && return 0
  echo "== $1: pretrain" >&2
  $T --data "$2" --fold "$3" --out "$R/$1-pre.pt" --steps "$4" --patch "$5" --lr "$6" \
     --seed 0 --log-every 500
}

base() {  # name data fold: 600 BCE steps from the pretrain (the pair's starting net)
  [ -f "$R/$1-base.pt" ] && return 0
  echo "== $1: base (BCE fine-tune)" >&2
  $T --data "$2" --fold "$3" --out "$R/$1-base.pt" --init "$R/$1-pre.pt" \
     --topo-steps 600 --lam 0 --lr 1e-4 --seed 0 --log-every 200
}

twins() {  # name data fold lam lam_betti out_prefix steps dims_betti lr: the control and
  # two TopoLoss twins
  local name=$1 data=$2 fold=$3 lam=$4 lam_betti=$5 out=$6 steps=$7 dims_betti=$8 lr=$9
  for l in 0 "$lam"; do
    echo "== $name: fine-tune λ = $l" >&2
    $T --data "$data" --fold "$fold" --out "$R/$name-ft$l.pt" --init "$R/$name-base.pt" \
       --topo-steps "$steps" --lam "$l" --lr "$lr" --seed 0 --log-every 200
  done
  echo "== $name: fine-tune λ = $lam_betti, Betti matching" >&2
  $T --data "$data" --fold "$fold" --out "$R/$name-betti$lam_betti.pt" --init "$R/$name-base.pt" \
     --topo-steps "$steps" --lam "$lam_betti" --rule betti --topo-dims "$dims_betti" --lr "$lr" \
     --seed 0 --log-every 200
  cp "$R/$name-ft0.pt" "models/${out}_bce.pt"
  cp "$R/$name-ft$lam.pt" "models/${out}_topo.pt"
  cp "$R/$name-betti$lam_betti.pt" "models/${out}_betti.pt"
  for twin in topo betti; do
    python -m topoviz compare "models/${out}_bce.pt" "models/${out}_$twin.pt" --n-patches 200 \
       --json > "$R/$name-compare-$twin.json"
  done
}

pair3() {  # name data fold lam lam_betti out_prefix steps dims_betti lr
  pretrain "$1" "$2" "$3" 2000 128 1e-3
  base "$1" "$2" "$3"
  twins "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9"
}

val() {  # name data: the λ sweep on fold 1's validation split, from fold 1's base
  local name=$1 data=$2
  pretrain "$name-f1" "$data" 1/3 2000 128 1e-3
  base "$name-f1" "$data" 1/3
  local ckpts=()
  for l in 0 0.01 0.03 0.1; do
    echo "== $name validation: λ = $l" >&2
    $T --data "$data" --fold 1/3 --val-every 5 --out "$R/$name-val$l.pt" \
       --init "$R/$name-f1-base.pt" --topo-steps 600 --lam "$l" --lr 1e-4 --seed 0 --log-every 200
    ckpts+=("$R/$name-val$l.pt")
  done
  python models/choose_lambda.py "$name-f1" "${ckpts[@]}"
}

val_betti() {  # name data [steps [dims]]: the same sweep with the Betti rule, its λ = 0
  # control the paper rule's at those steps (600: val's; 1200: val_grid's); L_topo on
  # dimension 1 unless dims says otherwise (0,1: both)
  local name=$1 data=$2 steps=${3:-600} dims=${4:-1}
  local ctrl="$R/$name-val0.pt" tag="" key="$name-f1-betti"
  if [ "$steps" != 600 ]; then
    ctrl="$R/$name-val-steps$steps-0.pt" tag="-steps$steps" key="$name-f1-betti-steps$steps"
  fi
  if [ "$dims" != 1 ]; then
    tag="$tag-dims${dims//,/}" key="$key-dims${dims//,/}"
  fi
  pretrain "$name-f1" "$data" 1/3 2000 128 1e-3
  base "$name-f1" "$data" 1/3
  [ -f "$ctrl" ] || $T --data "$data" --fold 1/3 --val-every 5 --out "$ctrl" \
     --init "$R/$name-f1-base.pt" --topo-steps "$steps" --lam 0 --lr 1e-4 --seed 0 --log-every 200
  local ckpts=("$ctrl")
  for l in 0.03 0.1 0.3; do
    echo "== $name validation, Betti matching, $steps steps: λ = $l" >&2
    $T --data "$data" --fold 1/3 --val-every 5 --out "$R/$name-valbetti$tag$l.pt" \
       --init "$R/$name-f1-base.pt" --topo-steps "$steps" --lam "$l" --rule betti --lr 1e-4 \
       --topo-dims "$dims" --seed 0 --log-every 200
    ckpts+=("$R/$name-valbetti$tag$l.pt")
  done
  python models/choose_lambda.py "$key" "${ckpts[@]}"
  if [ "$dims" != 1 ]; then  # against the same sweep on dimension 1 (named first: cheaper)
    python models/choose_lambda.py --pick "${key%-dims*}" "$key"
  fi
}

val_grid() {  # name data: other steps and learning rates on the same validation split
  # (paper rule): 1200 steps at lr 1e-4, and 600 steps at lr 3e-4, each with its own
  # λ = 0 control and λ in {0.03, 0.1, 0.3}; each group is chosen like val's, under
  # NAME-f1-steps1200 and NAME-f1-lr3e-4 in models/validation.json
  local name=$1 data=$2 cfg steps lr tag l
  pretrain "$name-f1" "$data" 1/3 2000 128 1e-3
  base "$name-f1" "$data" 1/3
  for cfg in "1200 1e-4 steps1200" "600 3e-4 lr3e-4"; do
    read -r steps lr tag <<< "$cfg"
    local ckpts=()
    for l in 0 0.03 0.1 0.3; do
      echo "== $name validation, $steps steps, lr $lr: λ = $l" >&2
      [ -f "$R/$name-val-$tag-$l.pt" ] || $T --data "$data" --fold 1/3 --val-every 5 \
         --out "$R/$name-val-$tag-$l.pt" --init "$R/$name-f1-base.pt" --topo-steps "$steps" \
         --lam "$l" --lr "$lr" --seed 0 --log-every 200
      ckpts+=("$R/$name-val-$tag-$l.pt")
    done
    python models/choose_lambda.py "$name-f1-$tag" "${ckpts[@]}"
  done
  python models/choose_lambda.py --pick "$name-f1" "$name-f1-steps1200" "$name-f1-lr3e-4"
}

val_clean() {  # name data steps [dims [fold]]: the λ sweeps of both rules from a clean base. The
  # sweeps above (val, val_grid, val_betti) start from fold 1's base, which was
  # pretrained on all of fold 1's training images, the validation ones included; here
  # pretraining and base leave them out too (--val-every 5 throughout). With dims
  # (0,1), Betti matching is swept on both dimensions as well and picked against
  # dimension 1. The twins take their λ, steps and lr from these sweeps and
  # val_clean_grid's. fold (default 1): the fold whose training images give the
  # validation split; each fold's twins take the choice of their own fold, since
  # fold 1's validation images lie in folds 2 and 3's held-out sets.
  local name=$1 data=$2 steps=$3 dims=${4:-} fold=${5:-1} l
  local v="$R/$1-f${fold}v" key="$1-f$fold-clean"
  [ -f "$v-pre.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 --out "$v-pre.pt" \
     --steps 2000 --patch 128 --lr 1e-3 --seed 0 --log-every 500
  [ -f "$v-base.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 --out "$v-base.pt" \
     --init "$v-pre.pt" --topo-steps 600 --lam 0 --lr 1e-4 --seed 0 --log-every 200
  local paper=() betti=("$v-val-0.pt") betti01=("$v-val-0.pt")
  for l in 0 0.03 0.1 0.3; do
    echo "== $name clean validation, $steps steps: λ = $l" >&2
    [ -f "$v-val-$l.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 --out "$v-val-$l.pt" \
       --init "$v-base.pt" --topo-steps "$steps" --lam "$l" --lr 1e-4 --seed 0 --log-every 200
    paper+=("$v-val-$l.pt")
  done
  for l in 0.03 0.1 0.3; do
    echo "== $name clean validation, Betti matching, $steps steps: λ = $l" >&2
    [ -f "$v-valbetti-$l.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 \
       --out "$v-valbetti-$l.pt" --init "$v-base.pt" --topo-steps "$steps" --lam "$l" \
       --rule betti --lr 1e-4 --seed 0 --log-every 200
    betti+=("$v-valbetti-$l.pt")
    if [ -n "$dims" ]; then
      [ -f "$v-valbetti01-$l.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 \
         --out "$v-valbetti01-$l.pt" --init "$v-base.pt" --topo-steps "$steps" --lam "$l" \
         --rule betti --topo-dims "$dims" --lr 1e-4 --seed 0 --log-every 200
      betti01+=("$v-valbetti01-$l.pt")
    fi
  done
  python models/choose_lambda.py "$key-steps$steps" "${paper[@]}"
  python models/choose_lambda.py "$key-betti-steps$steps" "${betti[@]}"
  if [ -n "$dims" ]; then
    python models/choose_lambda.py "$key-betti-steps$steps-dims01" "${betti01[@]}"
    python models/choose_lambda.py --pick "$key-betti-steps$steps" "$key-betti-steps$steps-dims01"
  fi
}

val_clean_grid() {  # name data steps [fold]: the other (steps, lr) groups of val_grid from
  # the clean base (paper rule; val_clean ran the group at lr 1e-4 and these steps) and
  # the pick among the three clean groups
  local name=$1 data=$2 ran=$3 fold=${4:-1} cfg steps lr tag l
  local v="$R/$1-f${fold}v" key="$1-f$fold-clean"
  for cfg in "600 1e-4 steps600" "1200 1e-4 steps1200" "600 3e-4 lr3e-4"; do
    read -r steps lr tag <<< "$cfg"
    [ "$tag" = "steps$ran" ] && continue
    local ckpts=()
    for l in 0 0.03 0.1 0.3; do
      echo "== $name clean validation, $steps steps, lr $lr: λ = $l" >&2
      [ -f "$v-val-$tag-$l.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 \
         --out "$v-val-$tag-$l.pt" --init "$v-base.pt" --topo-steps "$steps" --lam "$l" \
         --lr "$lr" --seed 0 --log-every 200
      ckpts+=("$v-val-$tag-$l.pt")
    done
    python models/choose_lambda.py "$key-$tag" "${ckpts[@]}"
  done
  python models/choose_lambda.py --pick "$key-steps600" "$key-steps1200" "$key-lr3e-4"
  # Betti matching's λ in the group picked, where val_clean did not sweep it (its
  # twins take the paper rule's steps, lr and control)
  local picked
  picked=$(picked_group "$key")
  [ "$picked" = "steps$ran" ] && return 0
  betti_in_group "$name" "$data" "$fold" "$picked" 1
}

betti_in_group() {  # name data fold group dims: Betti matching's λ in one (steps, lr) group
  # of the fold's clean sweeps, against that group's paper-rule control, on dimension 1 or
  # (dims 0,1) on both: sweep KEY-betti-GROUP or KEY-betti-GROUP-dims01
  local name=$1 data=$2 fold=$3 group=$4 dims=$5 steps lr sl l
  local v="$R/$1-f${fold}v" key="$1-f$fold-clean-betti-$group" tag=valbetti dims_arg=()
  if [ "$dims" != 1 ]; then
    tag=valbetti01 key="$key-dims01" dims_arg=(--topo-dims "$dims")
  fi
  sl=$(group_steps_lr "$group")  # a plain assignment: set -e stops on a bad group
  read -r steps lr <<< "$sl"
  local ckpts=("$v-val-$group-0.pt")
  for l in 0.03 0.1 0.3; do
    echo "== $name clean validation, Betti matching, dimensions $dims, $steps steps, lr $lr: λ = $l" >&2
    [ -f "$v-$tag-$group-$l.pt" ] || $T --data "$data" --fold "$fold/3" --val-every 5 \
       --out "$v-$tag-$group-$l.pt" --init "$v-base.pt" --topo-steps "$steps" \
       --lam "$l" --rule betti "${dims_arg[@]}" --lr "$lr" --seed 0 --log-every 200
    ckpts+=("$v-$tag-$group-$l.pt")
  done
  python models/choose_lambda.py "$key" "${ckpts[@]}"
}

picked_group() {  # key: the (steps, lr) group picked among the clean sweeps KEY-steps600,
  # KEY-steps1200 and KEY-lr3e-4 (models/validation.json)
  python -c 'import json, sys; d = json.load(open("models/validation.json"))
print(next(k for k in sys.argv[2:] if d[k].get("picked"))[len(sys.argv[1]) + 1:])' \
    "$1" "$1-steps600" "$1-steps1200" "$1-lr3e-4"
}

group_steps_lr() {  # group: its steps and learning rate
  case $1 in steps600) echo 600 1e-4 ;; steps1200) echo 1200 1e-4 ;; lr3e-4) echo 600 3e-4 ;;
    *) echo "no group picked: $1" >&2; exit 2 ;; esac
}

val_clean_dims01() {  # name data steps fold: Betti matching on dimensions 0 and 1 in the
  # (steps, lr) group the fold picked, its control the paper rule's there, picked against
  # the same sweep on dimension 1 (named first: cheaper); after val_clean and val_clean_grid
  local name=$1 data=$2 ran=$3 fold=$4 picked
  local key="$1-f$fold-clean-betti"
  picked=$(picked_group "$1-f$fold-clean")
  if [ "$picked" = "steps$ran" ]; then  # val_clean's group: its files, its names
    val_clean "$name" "$data" "$ran" 0,1 "$fold"
    return 0
  fi
  betti_in_group "$name" "$data" "$fold" "$picked" 0,1
  python models/choose_lambda.py --pick "$key-$picked" "$key-$picked-dims01"
}

retire_leaky() {  # name steps: the clean sweeps replace the leaky ones (ISBI12 only: on
  # CrackForest's clean base every λ > 0 failed the VOI condition, so those sweeps
  # chose λ = 0, no twin; its twins keep the leaky choice, documented as such)
  local name=$1 ran=$2
  python models/choose_lambda.py --retire "$name-f1-clean-steps600" "$name-f1"
  python models/choose_lambda.py --retire "$name-f1-clean-steps1200" "$name-f1-steps1200"
  python models/choose_lambda.py --retire "$name-f1-clean-lr3e-4" "$name-f1-lr3e-4"
  local old="$name-f1-betti" new="$name-f1-clean-betti-steps$ran"
  [ "$ran" = 600 ] || old="$old-steps$ran"
  # the dims-0-and-1 sweep was not rerun on ISBI12's clean base: the clean one replaces both
  python models/choose_lambda.py --retire "$new" "$old" "$old-dims01"
}

seeds() {  # name data seed...: each fold's control and both twins again with other seeds
  # (other batches, in another order), everything else as shipped: the same base (the
  # shipped nets' --init, a file of commit 2e6cc41), steps, lr, λ and dimensions; each
  # evaluated on its held-out fold like the shipped nets (models/tables.py --seeds)
  local name=$1 data=$2 k s
  shift 2
  local -n steps_=STEPS_${name^^} lr_=LR_${name^^} lam_=LAM_${name^^}
  local -n lamb_=LAM_BETTI_${name^^} dims_=DIMS_BETTI_${name^^}
  mkdir -p "$R/seeds"
  for s in "$@"; do
    for k in 1 2 3; do
      local base="$R/seeds/$name-f$k-base-2e6cc41.pt" out="$R/seeds/$name-f$k-seed$s"
      [ -f "$base" ] || git show "2e6cc41:models/${name}_f${k}_unet_bce.pt" > "$base"
      local run="$T --data $data --fold $k/3 --init $base --topo-steps ${steps_[k]}"
      run="$run --lr ${lr_[k]} --seed $s --log-every 200"
      echo "== $name fold $k, seed $s" >&2
      [ -f "$out-bce.pt" ] || $run --lam 0 --out "$out-bce.pt"
      [ -f "$out-topo.pt" ] || $run --lam "${lam_[k]}" --out "$out-topo.pt"
      [ -f "$out-betti.pt" ] || $run --lam "${lamb_[k]}" --rule betti --topo-dims "${dims_[k]}" \
         --out "$out-betti.pt"
      for t in bce topo betti; do
        [ -s "$out-$t.json" ] || $E --checkpoint "$out-$t.pt" --n-patches 200 --json > "$out-$t.json"
      done
    done
  done
}

legacy_pair() {  # name data fold pre_steps pre_patch pre_lr ft_steps ft_lr lam n_patches out
  local name=$1 data=$2 fold=$3 pre_steps=$4 pre_patch=$5 pre_lr=$6 ft_steps=$7 ft_lr=$8 lam=$9
  local n_patches=${10} out=${11}
  pretrain "$name" "$data" "$fold" "$pre_steps" "$pre_patch" "$pre_lr"
  for l in 0 "$lam"; do
    echo "== $name: fine-tune λ = $l" >&2
    $T --data "$data" --fold "$fold" --out "$R/$name-ft$l.pt" --init "$R/$name-pre.pt" \
       --topo-steps "$ft_steps" --lam "$l" --lr "$ft_lr" --seed 0 --topo-dims 0,1 --log-every 200
  done
  cp "$R/$name-ft0.pt" "models/${out}_bce.pt"
  cp "$R/$name-ft$lam.pt" "models/${out}_topo.pt"
  for c in pre ft0 "ft$lam"; do
    $E --checkpoint "$R/$name-$c.pt" --n-patches "$n_patches" --json > "$R/$name-$c.json"
  done
}

ISBI=../shared/data/isbi12
CFD=../shared/data/crackforest
VESSELS='synthetic:vessels?n=24&size=256&seed=0'

run() {
  case $1 in
    isbi12-val-f1) val isbi12 $ISBI ;;
    crackforest-val-f1) val crackforest $CFD ;;
    isbi12-val-f1-betti) val_betti isbi12 $ISBI ;;
    crackforest-val-f1-betti) val_betti crackforest $CFD ;;
    crackforest-val-f1-betti-dims01) val_betti crackforest $CFD 600 0,1 ;;
    isbi12-val-f1-betti-steps1200-dims01) val_betti isbi12 $ISBI 1200 0,1 ;;
    isbi12-val-f1-clean) val_clean isbi12 $ISBI $SWEEP_STEPS_ISBI12 ;;
    isbi12-val-f1-clean-grid) val_clean_grid isbi12 $ISBI $SWEEP_STEPS_ISBI12
      retire_leaky isbi12 $SWEEP_STEPS_ISBI12 ;;
    isbi12-val-f[123]-clean-dims01)
      val_clean_dims01 isbi12 $ISBI $SWEEP_STEPS_ISBI12 "${1:12:1}" ;;
    crackforest-val-f[123]-clean-dims01)  # val_clean ran both dimensions in its group already
      val_clean_dims01 crackforest $CFD $SWEEP_STEPS_CRACKFOREST "${1:17:1}" ;;
    isbi12-val-f[23]-clean) val_clean isbi12 $ISBI $SWEEP_STEPS_ISBI12 "" "${1:12:1}" ;;
    isbi12-val-f[23]-clean-grid) val_clean_grid isbi12 $ISBI $SWEEP_STEPS_ISBI12 "${1:12:1}" ;;
    crackforest-val-f[23]-clean) val_clean crackforest $CFD $SWEEP_STEPS_CRACKFOREST 0,1 "${1:17:1}" ;;
    crackforest-val-f[23]-clean-grid) val_clean_grid crackforest $CFD $SWEEP_STEPS_CRACKFOREST "${1:17:1}" ;;
    crackforest-val-f1-clean) val_clean crackforest $CFD $SWEEP_STEPS_CRACKFOREST 0,1 ;;
    crackforest-val-f1-clean-grid) val_clean_grid crackforest $CFD $SWEEP_STEPS_CRACKFOREST ;;
    isbi12-val-f1-grid) val_grid isbi12 $ISBI ;;
    isbi12-val-f1-betti-steps1200) val_betti isbi12 $ISBI 1200 ;;
    crackforest-val-f1-grid) val_grid crackforest $CFD ;;
    isbi12-f[123]) k=${1: -1}
      pair3 "$1" $ISBI "$k/3" "${LAM_ISBI12[k]}" "${LAM_BETTI_ISBI12[k]}" "isbi12_f${k}_unet" \
        "${STEPS_ISBI12[k]}" "${DIMS_BETTI_ISBI12[k]}" "${LR_ISBI12[k]}" ;;
    crackforest-f[123]) k=${1: -1}
      pair3 "$1" $CFD "$k/3" "${LAM_CRACKFOREST[k]}" "${LAM_BETTI_CRACKFOREST[k]}" \
        "crackforest_f${k}_unet" "${STEPS_CRACKFOREST[k]}" "${DIMS_BETTI_CRACKFOREST[k]}" \
        "${LR_CRACKFOREST[k]}" ;;
    isbi12-seeds) seeds isbi12 $ISBI 1 2 ;;
    crackforest-seeds) seeds crackforest $CFD 1 2 ;;
    vessels-f1) legacy_pair vessels-f1 "$VESSELS" 1/3 600 65 1e-3 300 1e-3 0.05 400 vessels_unet ;;
    *) echo "unknown pair $1" >&2; exit 2 ;;
  esac
}

for p in "${@:-isbi12-val-f1 crackforest-val-f1 isbi12-val-f1-grid crackforest-val-f1-grid isbi12-val-f1-betti isbi12-val-f1-betti-steps1200 isbi12-val-f1-betti-steps1200-dims01 crackforest-val-f1-betti crackforest-val-f1-betti-dims01 isbi12-val-f1-clean isbi12-val-f1-clean-grid isbi12-f1 isbi12-f2 isbi12-f3 crackforest-f1 crackforest-f2 crackforest-f3 vessels-f1}"; do
  for q in $p; do run "$q"; done
done
