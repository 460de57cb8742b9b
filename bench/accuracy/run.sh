#!/usr/bin/env bash
# Accuracy benchmark: Fashion-MNIST, 10 IID gateways, each at epsilon <= 3 (delta 1e-5, PRV accountant), 20 rounds.
# Five model families: the MLP and the tanh CNN on pixels, and a linear model, the MLP and the smaller tanh CNN on
# ScatterNet features (dataset.features "scattering", Tramer & Boneh 2021). Each family's settings are tuned on a validation split
# (6,000 training images held out from every gateway; the test set is not read); then the family's best setting runs
# once on the test set. Prints one line per run.
# Usage: bench/accuracy/run.sh   (all five families: about 100 minutes on 2 cores)
#   FAMILIES="scatter-linear scatter-cnn" picks families; ONLY="name ..." runs just those tuning runs;
#   FLAGS_<family>="..." (e.g. FLAGS_scatter_linear) skips a family's tuning and runs those flags on the test set.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release src/Cli -v quiet -nologo >/dev/null
out=$(mktemp -d)
# Every tuning run of a family trains on the same shards: compute their ScatterNet features once.
export FEDGRAINS_FEATURE_CACHE="${FEDGRAINS_FEATURE_CACHE:-$out/features}"
# One malloc arena: gateways train on pool threads, whose own arenas would mmap big tensors afresh every step.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"

declare -A base=(
  [mlp]="--model mlp --hidden 256"
  [cnn]="--model cnn"
  [scatter-linear]="--features scattering --model mlp --hidden none"
  [scatter-mlp]="--features scattering --model mlp --hidden 256"
  [scatter-cnn]="--features scattering --model cnn"
)
declare -A mlp=(
  [default]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0"
  [tanh]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --activation tanh"
  [batch512]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0"
  [epochs2]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --local-epochs 2"
  [momentum]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --server-optimizer fedavgm"
  [clip05]="--learning-rate 2.0 --batch-size 256 --clipping-norm 0.5"
  [b512e2]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0 --local-epochs 2"
  [b1024e2]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 2"
)
declare -A cnn=(
  [cnn-default]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0"
  [cnn-b512]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0"
)
declare -A scatter_linear=(
  [lin-b1024e2]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 2"
  [lin-b1024e1]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 1"
  [lin-b2048e2]="--learning-rate 8.0 --batch-size 2048 --clipping-norm 1.0 --local-epochs 2"
  [lin-b512e2]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0 --local-epochs 2"
)
declare -A scatter_mlp=(
  [smlp-b512e2]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0 --local-epochs 2"
  [smlp-b1024e2]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 2"
)
declare -A scatter_cnn=(
  [scnn-b512]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0"
  [scnn-b1024e2]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 2"
)

run() { # name, evaluation, flags...: prints "name evaluation accuracy ..."
  local name=$1 evaluation=$2; shift 2
  printf '{ "dataset": { "evaluation": "%s" } }\n' "$evaluation" > "$out/$name.json"
  dotnet src/Cli/bin/Release/net10.0/fedgrains.dll run --spec "$out/$name.json" --epsilon 3 --delta 1e-5 --rounds 20 --gateways 10 \
    "$@" --output "$out/$name" >/dev/null
  python3 - "$out/$name/report.json" "$name" "$evaluation" "$*" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
eps = max(g["epsilon"] for g in r["gateways"])
print(f"{sys.argv[2]:<20} {sys.argv[3]:<10} accuracy {r['final_test_accuracy']*100:5.2f}%  max epsilon {eps:.3f}  wall {r['wall_seconds']:.0f}s  flags: {sys.argv[4]}")
PY
}

for family in ${FAMILIES:-mlp cnn scatter-linear scatter-mlp scatter-cnn}; do
  [[ -v "base[$family]" ]] || { echo "unknown family '$family': use mlp, cnn, scatter-linear, scatter-mlp or scatter-cnn" >&2; exit 2; }
  override="FLAGS_${family//-/_}"
  best=${!override:-}
  if [[ -z "$best" ]]; then
    declare -n settings=${family//-/_}
    best_accuracy=0
    for name in ${ONLY:-${!settings[@]}}; do
      [[ -v "settings[$name]" ]] || continue
      line=$(run "$name" validation ${base[$family]} ${settings[$name]})
      echo "$line"
      accuracy=$(sed -E 's/.*accuracy +([0-9.]+)%.*/\1/' <<<"$line")
      if python3 -c "import sys; sys.exit(0 if $accuracy > $best_accuracy else 1)"; then best=${settings[$name]} best_accuracy=$accuracy; fi
    done
    unset -n settings
  fi
  [[ -n "$best" ]] && run "$family-final" test ${base[$family]} $best
done
