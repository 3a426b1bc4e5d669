#!/usr/bin/env bash
# FashionSim Desktop set-up and entry points.
#   bash run.sh [FOLDER]   install everything (first time), export the model, index FOLDER (default: the
#                          bundled sample catalogue) and list the duplicate pairs found
#   bash run.sh test       install everything (first time) and run the test suite
set -euo pipefail
cd "$(dirname "$0")"
VENV="${FASHIONSIM_VENV:-.venv}"
PY="$VENV/bin/python"

setup() {
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
  fi
  if ! "$PY" -c "import fashionsim_desktop, torch, pytestqt" 2>/dev/null; then
    "$PY" -m pip install --quiet --upgrade pip
    # torch only exports the model; 2.13.0 is the CPU build (any other version pulls a CUDA build).
    "$PY" -m pip install --quiet "torch==2.13.0"
    "$PY" -m pip install --quiet -e ".[export,test]"
  fi
  # Export again whenever the recipe changed (an older checkout may hold a model made another way).
  recipe="$(cat models/export_onnx.py models/int8.py models/int8-ranges.json fashionsim_desktop/core/embedder.py \
    | sha256sum | cut -c1-16)"
  if [ ! -f models/fashionsim-embedder.onnx ] || [ ! -f models/fashionsim-embedder-float.onnx ] \
     || [ "$(cat models/.exported-recipe 2>/dev/null)" != "$recipe" ]; then
    "$PY" models/export_onnx.py --check
    echo "$recipe" > models/.exported-recipe
  fi
}

setup
if [ "${1:-}" = "test" ]; then
  shift
  # The Ray engine's tests need the optional cluster extra (about 20 s to install); the app never does.
  if ! "$PY" -c "import ray.data, grpc" 2>/dev/null; then
    "$PY" -m pip install --quiet -e ".[cluster]"
  fi
  export QT_QPA_PLATFORM=offscreen
  exec "$PY" -m pytest "$@"
fi
"$VENV/bin/fashionsim" index "$@"
"$VENV/bin/fashionsim" pairs
