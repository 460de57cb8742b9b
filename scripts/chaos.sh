#!/usr/bin/env bash
# The chaos bench: a real cluster (redis-server persisting to a temp folder, a federation silo, two gateway silos)
# runs jobs while random members are SIGKILLed and restarted, KILLS times (default 100); then every job and ledger is
# audited and the figures are printed, the last line a summary. Exit 0 only when nothing was lost, doubled or failed.
#   ./scripts/chaos.sh [KILLS] [SEED]     (a failed run prints its seed; give it to replay the same faults)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null && [ ! -x /usr/bin/redis-server ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing redis-server (Debian package)..."
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
# As in production: one malloc arena, so tensors on pool threads are not mmapped afresh each time.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
exec dotnet run -c Release --project bench/FedGrains.Bench -- chaos "${1:-100}" ${2:+"$2"}
