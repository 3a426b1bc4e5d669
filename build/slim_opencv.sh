#!/usr/bin/env bash
# Print the folder of an OpenCV for the packaged app, built once from OpenCV's official source (the sdist of the
# version installed in the virtual environment) with only the modules the app uses: core, imgproc, features (ORB),
# geometry (estimateAffine2D/Partial2D) and flann, and the Python bindings.
#   bash build/slim_opencv.sh PYTHON CACHE_DIR      -> CACHE_DIR/opencv-<version>-slim (holds cv2/)
# Why: the opencv-python-headless wheel links video I/O (ffmpeg, libaom, libvpx, libavif ...) and OpenBLAS into
# cv2 itself, so they cannot just be left out of the bundle: ~150 MB the app never calls. No slimmer build of it
# is published. IPP (fetched from GitHub at configure time) is off: the build machine reaches only package
# registries. The first build takes 15-45 minutes on two cores; later builds reuse it.
set -euo pipefail
PY="$1"
CACHE="$2"
VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
TARGET="$CACHE/opencv-$VERSION-slim"
if [ ! -f "$TARGET/cv2/__init__.py" ]; then
    SRC="$CACHE/src/opencv_python_headless-$VERSION"
    if [ ! -f "$SRC/setup.py" ]; then
        mkdir -p "$CACHE/src"
        "$PY" -m pip download --quiet --no-deps --no-binary opencv-python-headless -d "$CACHE/src" \
            "opencv-python-headless==$VERSION" >&2
        tar -xzf "$CACHE/src/opencv_python_headless-$VERSION.tar.gz" -C "$CACHE/src"
        # The typing stubs (cv2/typing, py.typed) are generated for the full module set only: the packaging step
        # must not require them (type hints, nothing at run time).
        sed -i 's/if not found and "gapi" not in relpath_re:/if not found and "gapi" not in relpath_re and "typ" not in relpath_re:/' \
            "$SRC/setup.py"
    fi
    export ENABLE_HEADLESS=1 CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
    off="FFMPEG LAPACK IPP OPENCL ITT PROTOBUF ADE V4L 1394 VA VA_INTEL JPEG PNG SPNG TIFF WEBP OPENJPEG JASPER"
    off="$off OPENEXR AVIF IMGCODEC_HDR EIGEN FASTCV TBB OPENMP"
    CMAKE_ARGS="-DBUILD_LIST=core,imgproc,flann,geometry,features,python3 -DBUILD_OPENEXR=OFF -DBUILD_JAVA=OFF"
    for option in $off; do CMAKE_ARGS="$CMAKE_ARGS -DWITH_$option=OFF"; done
    export CMAKE_ARGS
    echo "building a slim OpenCV $VERSION from source, once (see build/slim_opencv.sh)..." >&2
    # Built in the unpacked source with build tools of its own (what its pyproject.toml asks for) at a fixed path:
    # its _skbuild folder stays, so an interrupted build resumes where it stopped.
    TOOLS="$CACHE/build-tools"
    if [ ! -x "$TOOLS/bin/python" ]; then
        "$PY" -m venv "$TOOLS"
        "$TOOLS/bin/python" -m pip install --quiet "numpy==2.0.2" "scikit-build>=0.14.0" "setuptools==59.2.0" \
            packaging wheel >&2
    fi
    numpy_include="$("$TOOLS/bin/python" -c 'import numpy; print(numpy.get_include())')"
    export CMAKE_ARGS="$CMAKE_ARGS -DPYTHON3_NUMPY_INCLUDE_DIRS=$numpy_include"
    mkdir -p "$CACHE/wheels"
    "$TOOLS/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation -w "$CACHE/wheels" "$SRC" >&2
    rm -rf "$TARGET"
    "$PY" -m pip install --quiet --no-deps --target "$TARGET" \
        "$CACHE"/wheels/opencv_python_headless-"$VERSION"-*.whl >&2
    rm -rf "$CACHE/src" "$TOOLS"  # about 600 MB of sources and objects; the wheel is kept
fi
# What the core calls must be there (core/verify.py, core/keeper.py, core/features.py).
PYTHONPATH="$TARGET" "$PY" - >&2 <<'PYCHECK'
import cv2
for name in ("ORB_create", "estimateAffine2D", "estimateAffinePartial2D", "cvtColor", "resize", "warpAffine",
             "connectedComponentsWithStats", "morphologyEx", "Laplacian", "fillConvexPoly", "KeyPoint_convert",
             "batchDistance"):
    assert hasattr(cv2, name), f"the slim OpenCV lacks cv2.{name}"
PYCHECK
echo "$TARGET"
