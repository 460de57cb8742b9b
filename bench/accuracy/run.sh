#!/usr/bin/env bash
# Accuracy benchmark: Fashion-MNIST, 10 IID gateways, each at epsilon <= 3 (delta 1e-5, PRV accountant), 20 rounds.
# Tuning runs evaluate on a validation split (6,000 training images held out from every gateway; the test set is not
# read). The final runs take the MLP setting with the best validation accuracy, and the CNN, once each on the test set.
# Prints one line per run. Usage: bench/accuracy/run.sh   (about 15 minutes on 2 cores)
# ONLY="name ..." runs just those tuning runs; MLP_FLAGS / CNN_FLAGS="..." skip a choice and run those flags on the test set.
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release src/Cli -v quiet -nologo >/dev/null
out=$(mktemp -d)
declare -A tuning=(
  [default]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0"
  [tanh]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --activation tanh"
  [batch512]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0"
  [epochs2]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --local-epochs 2"
  [momentum]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0 --server-optimizer fedavgm"
  [clip05]="--learning-rate 2.0 --batch-size 256 --clipping-norm 0.5"
  [b512e2]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0 --local-epochs 2"
  [b1024e2]="--learning-rate 4.0 --batch-size 1024 --clipping-norm 1.0 --local-epochs 2"
)
run() { # name, evaluation, flags...: prints "name evaluation accuracy ..." and returns the accuracy in $accuracy
  local name=$1 evaluation=$2; shift 2
  printf '{ "dataset": { "evaluation": "%s" } }\n' "$evaluation" > "$out/$name.json"
  dotnet src/Cli/bin/Release/net10.0/fedgrains.dll run --spec "$out/$name.json" --epsilon 3 --delta 1e-5 --rounds 20 --gateways 10 \
    "$@" --output "$out/$name" >/dev/null
  python3 - "$out/$name/report.json" "$name" "$evaluation" "$*" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
eps = max(g["epsilon"] for g in r["gateways"])
print(f"{sys.argv[2]:<14} {sys.argv[3]:<10} accuracy {r['final_test_accuracy']*100:5.2f}%  max epsilon {eps:.3f}  wall {r['wall_seconds']:.0f}s  flags: {sys.argv[4]}")
PY
}
declare -A cnn_tuning=(
  [cnn-default]="--learning-rate 1.0 --batch-size 256 --clipping-norm 1.0"
  [cnn-b512]="--learning-rate 2.0 --batch-size 512 --clipping-norm 1.0"
)
tune() { # model, name of the settings map: runs them on validation, sets $best to the best one's flags
  local model=$1; local -n settings=$2; local best_accuracy=0 line accuracy
  for name in ${ONLY:-${!settings[@]}}; do
    [[ -v "settings[$name]" ]] || continue
    line=$(run "$name" validation --model "$model" --hidden 256 ${settings[$name]})
    echo "$line" >&2
    accuracy=$(sed -E 's/.*accuracy +([0-9.]+)%.*/\1/' <<<"$line")
    if python3 -c "import sys; sys.exit(0 if $accuracy > $best_accuracy else 1)"; then best=${settings[$name]} best_accuracy=$accuracy; fi
  done
}
best=""; tune mlp tuning; mlp_flags=${MLP_FLAGS:-$best}
best=""; tune cnn cnn_tuning; cnn_flags=${CNN_FLAGS:-$best}
[[ -n "$mlp_flags" ]] && run mlp-final test --model mlp --hidden 256 $mlp_flags
[[ -n "$cnn_flags" ]] && run cnn-final test --model cnn $cnn_flags
