#!/usr/bin/env bash
# Build the one-folder app with PyInstaller, check its size on disk, then smoke-test it.
#   bash build/build.sh          -> build/dist/FashionSim/{FashionSim,fashionsim,_internal/}
# Needs the set-up first (bash run.sh) for the virtual environment and the exported ONNX model.
# FASHIONSIM_SLIM_OPENCV=1 bundles a slim OpenCV built from source (build/slim_opencv.sh: about 40 minutes the first
# time, then cached in FASHIONSIM_BUILD_CACHE); it is also used whenever that cache holds one. Without it (CI) the
# wheel's OpenCV is bundled: 171 MB, of which 93 MB are libraries its cv2 module links (video codecs, OpenBLAS) and so
# cannot be left out. FASHIONSIM_MAX_MB: the build fails above it (default 250 with the slim OpenCV; 420 with the
# wheel's, whose bundle measures 407 MB: 250 MB cannot be reached with the wheel, see README "Packaged app").
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${FASHIONSIM_VENV:-.venv}/bin/python"
CACHE="${FASHIONSIM_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fashionsim-build}"
"$PY" -m pip install --quiet "pyinstaller>=6.10,<7"
# With the slim build, the bundle takes OpenCV from it (build/slim_opencv.sh says why) rather than
# from the wheel in the virtual environment, which the tests keep using.
SLIM_OPENCV=""
if [ "${FASHIONSIM_SLIM_OPENCV:-0}" = 1 ] || compgen -G "$CACHE/opencv-*-slim/cv2/__init__.py" >/dev/null; then
    SLIM_OPENCV="$(bash build/slim_opencv.sh "$PY" "$CACHE")"
fi
MAX_MB="${FASHIONSIM_MAX_MB:-$([ -n "$SLIM_OPENCV" ] && echo 250 || echo 420)}"
rm -rf build/dist build/work
start=$(date +%s)
PYTHONPATH="${SLIM_OPENCV}${SLIM_OPENCV:+${PYTHONPATH:+:}}${PYTHONPATH:-}" \
    "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath build/dist --workpath build/work build/fashionsim.spec
APP=build/dist/FashionSim
# Python and ICU come unstripped (about 30 MB of symbols). Libraries that auditwheel patched (the *.libs folders
# of wheels) are left alone: strip can break a patched ELF file.
find "$APP/_internal" -type f \( -name '*.so' -o -name '*.so.*' \) ! -path '*.libs/*' -print0 |
    while IFS= read -r -d '' lib; do
        if file -b "$lib" | grep -q 'not stripped'; then strip --strip-unneeded "$lib"; fi
    done
# Every library the bundle links must be found in it or on the system (X11's own libraries come with the desktop,
# and may be missing on a build machine without one).
missing=$(find "$APP/_internal" -type f -name '*.so*' -print0 | LD_LIBRARY_PATH="$APP/_internal" xargs -0 ldd 2>/dev/null |
          grep 'not found' | grep -v -E 'lib(xcb|xkbcommon|X|GL|EGL)' | sort -u || true)
if [ -n "$missing" ]; then echo "libraries missing from the bundle:"; echo "$missing"; exit 1; fi
size_mb=$(( $(du -sk "$APP" | cut -f1) / 1024 ))
echo "built $APP in $(( $(date +%s) - start )) s: ${size_mb} MB on disk (at most ${MAX_MB} MB); largest parts:"
du -sk "$APP"/_internal/* | sort -n | tail -10 | awk '{printf "  %5.1f MB  %s\n", $1 / 1024, $2}'
bash build/smoke_test.sh "$APP"
if [ "$size_mb" -gt "$MAX_MB" ]; then
    echo "FAIL: the packaged app is ${size_mb} MB on disk, over the ${MAX_MB} MB budget"
    exit 1
fi
