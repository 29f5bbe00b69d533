#!/usr/bin/env bash
# Every shipped checkpoint's recipe, and the evaluation behind models/README.md.
#
#   bash models/recipes.sh [PAIR ...]     # PAIR: isbi12-f1 isbi12-f2 isbi12-f3 crackforest-f1 crackforest-f2 crackforest-f3 vessels-f1
#
# Runs from the project root; reads ../shared/data (never copied here); writes the
# pretrained nets, the fine-tuned twins and their evaluations (JSON) under
# ${R:-/tmp/topoviz_runs}; then copies each twin into models/. A pair = one BCE
# pretraining, then two fine-tunes from it on the same batches (same seed): λ = 0
# (the baseline) and λ > 0 (the TopoLoss twin). Same net, same total steps.
set -euo pipefail
cd "$(dirname "$0")/.."
R=${R:-/tmp/topoviz_runs}
mkdir -p "$R"
T="python -m topoviz train"
E="python -m topoviz evaluate"

pair() {  # name data fold pre_steps pre_patch pre_lr ft_steps ft_lr lam n_patches out_prefix
  local name=$1 data=$2 fold=$3 pre_steps=$4 pre_patch=$5 pre_lr=$6 ft_steps=$7 ft_lr=$8 lam=$9
  local n_patches=${10} out=${11}
  echo "== $name: pretrain" >&2
  $T --data "$data" --fold "$fold" --out "$R/$name-pre.pt" --steps "$pre_steps" \
     --patch "$pre_patch" --lr "$pre_lr" --seed 0 --log-every 500
  for l in 0 "$lam"; do
    echo "== $name: fine-tune λ = $l" >&2
    $T --data "$data" --fold "$fold" --out "$R/$name-ft$l.pt" --init "$R/$name-pre.pt" \
       --topo-steps "$ft_steps" --lam "$l" --lr "$ft_lr" --seed 0 --log-every 200
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
    isbi12-f1) pair isbi12-f1 $ISBI 1/3 2000 128 1e-3 600 1e-4 0.01 200 isbi12_f1_unet ;;
    isbi12-f2) pair isbi12-f2 $ISBI 2/3 2000 128 1e-3 600 1e-4 0.01 200 isbi12_f2_unet ;;
    isbi12-f3) pair isbi12-f3 $ISBI 3/3 2000 128 1e-3 600 1e-4 0.01 200 isbi12_f3_unet ;;
    crackforest-f1) pair crackforest-f1 $CFD 1/3 2000 128 1e-3 600 1e-4 0.01 200 crackforest_f1_unet ;;
    crackforest-f2) pair crackforest-f2 $CFD 2/3 2000 128 1e-3 600 1e-4 0.01 200 crackforest_f2_unet ;;
    crackforest-f3) pair crackforest-f3 $CFD 3/3 2000 128 1e-3 600 1e-4 0.01 200 crackforest_f3_unet ;;
    vessels-f1) pair vessels-f1 "$VESSELS" 1/3 600 65 1e-3 300 1e-3 0.05 400 vessels_unet ;;
    *) echo "unknown pair $1" >&2; exit 2 ;;
  esac
}

for p in "${@:-isbi12-f1 isbi12-f2 isbi12-f3 crackforest-f1 crackforest-f2 crackforest-f3 vessels-f1}"; do
  for q in $p; do run "$q"; done
done
