#!/usr/bin/env bash
# Runs FedGrains' default job on a fresh Debian 12 machine with the .NET SDK: installs Fashion-MNIST from Debian's
# registry if it is missing, then runs the job in-process (embedded SQLite, no server). Extra arguments go to
# `fedgrains run` (e.g. --rounds 10 --output my-run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && [ -z "${FEDGRAINS_DATA:-}" ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "Installing Fashion-MNIST (Debian package dataset-fashion-mnist)..."
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
fi
# One malloc arena: gateways train on pool threads, whose own arenas would mmap big tensors afresh every step.
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
exec dotnet run -c Release --project src/Cli -- run "$@"
