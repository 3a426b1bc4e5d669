#!/usr/bin/env bash
# Build the one-folder app with PyInstaller, then smoke-test it.
#   bash build/build.sh          -> build/dist/FashionSim/{FashionSim,fashionsim,_internal/}
# Needs the set-up first (bash run.sh) for the virtual environment and the exported ONNX model.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${FASHIONSIM_VENV:-.venv}/bin/python"
"$PY" -m pip install --quiet "pyinstaller>=6.10,<7"
rm -rf build/dist build/work
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath build/dist --workpath build/work build/fashionsim.spec
echo "built build/dist/FashionSim in $(( $(date +%s) - start )) s, $(du -sh build/dist/FashionSim | cut -f1)"
bash build/smoke_test.sh build/dist/FashionSim
