#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine with the .NET SDK: installs what the tests need from Debian's registry
# if it is missing (redis-server for the multi-process cluster tests, Fashion-MNIST for the dataset tests), then
# `dotnet test FedGrains.sln`. Extra arguments go to `dotnet test` (e.g. --filter Privacy, or loggers).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing ${missing[*]} (Debian packages)..."
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# As in production (the Docker images): one malloc arena, so tensors on pool threads are not mmapped afresh each time.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
exec dotnet test FedGrains.sln "$@"
