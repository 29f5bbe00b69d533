#!/usr/bin/env bash
# Issue 15 on a GPU: the CUDA tests, the training-step table with the net on the GPU
# (pairing on the CPU), a short CLI run with --device cuda --amp, and the persistence
# table on that machine's CPU. Needs a CUDA device; writes device_check.log to OUTDIR.
#
#   bash bench/device_check.sh [OUTDIR [PART ...]]
#
# PART: step (the training-step tables), call (the TopoLoss call alone, by threads),
# cli, tests, persistence; all by default.
# Optional, beside the repository: gudhi and cripser wheels in .whl/ (for the
# persistence table's reference rows) and ISBI12 slices in .devdata/isbi12/ (its
# inputs; smooth random fields otherwise). Each part runs on whatever the last left;
# a part that fails is reported and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${1:-${OUT:-/tmp/device_check}}
shift || true
PARTS=${*:-step call cli tests persistence}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
PY=python3

part() { echo; echo "### $* ($(date -u +%H:%M:%S))"; }
want() { [[ " $PARTS " == *" $1 "* ]]; }

{
  part "machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "cpus: $(nproc --all)"
  $PY -c "import sys, torch, numba, numpy; print('python', sys.version.split()[0], '| torch', torch.__version__, 'cuda', torch.version.cuda, '| numba', numba.__version__, '| numpy', numpy.__version__)"
  if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl \
      && export PYTHONPATH=$PYTHONPATH:/tmp/site
  fi
  if [ -d .devdata/isbi12 ]; then
    mkdir -p ../shared/data/isbi12 && cp -r .devdata/isbi12/images ../shared/data/isbi12/
  fi

  part "compile the sweeps once (numba cache)"
  $PY -c "from topoviz.persistence import warmup; warmup()" || echo "FAILED: warmup"

  if want step; then
    part "training step, net on the GPU, pairing on the CPU"
    for args in "--threads 1" "--threads 1 --amp" "--threads 8 --amp" \
                "--threads 16 --batch 64 --amp"; do
      echo; echo "\$ python bench/bench_train_step.py --device cuda $args"
      timeout 90 $PY bench/bench_train_step.py --device cuda --steps 30 $args \
        || echo "FAILED: $args"
    done
  fi

  if want call; then
    part "the TopoLoss call alone, batched against per patch, by pairing threads"
    for t in 1 4 16; do
      timeout 120 $PY bench/bench_topoloss_call.py --threads $t --repeat 20 \
        || echo "FAILED: bench_topoloss_call --threads $t"
    done
  fi

  if want cli; then
    part "CLI: train --device cuda --amp (synthetic membranes, fold 1/3)"
    timeout 150 $PY -m topoviz train --data 'synthetic:membranes?n=24&size=256&seed=0' \
      --fold 1/3 --device cuda --amp --steps 300 --topo-steps 300 --lam 0.01 \
      --log-every 100 --out /tmp/device_check.pt || echo "FAILED: train"
  fi

  if want tests; then
    part "tests: CUDA, loss, training at scale"
    timeout 200 $PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_scale.py \
      tests/test_loss.py || echo "FAILED: tests"
  fi

  if want persistence; then
    part "persistence on this machine's CPU, one thread"
    NUMBA_NUM_THREADS=1 timeout 180 $PY bench/bench_persistence.py --no-train-step \
      || echo "FAILED: bench_persistence"
  fi
  part "done"
} 2>&1 | tee "$OUTDIR/device_check.log"
