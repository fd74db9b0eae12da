#!/usr/bin/env bash
# Make Fashion-MNIST available: Debian's package where apt is usable, else ganforge's own
# download (official mirrors, SHA-256 verified) into the user cache.
set -u
PY=${1:-python3}
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$SUDO" ]; }; then
  echo "ganforge: installing Debian's dataset-fashion-mnist"
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1; then
    exit 0
  fi
  echo "ganforge: apt could not install dataset-fashion-mnist; downloading instead"
fi
"$PY" -m ganforge data fetch fashion-mnist
