#!/usr/bin/env bash
# Smoke test of the frozen app: the console executable indexes real images (with corrupt files), lists pairs
# (edited copies found by the verifier too) and exports a merge list whose content is checked; the GUI executable starts offscreen, opens that catalogue
# and quits cleanly. Prints the cold start time of the window.
set -euo pipefail
APP="$(cd "${1:-build/dist/FashionSim}" && pwd)"
SHARED="$(cd "$(dirname "$0")/../.." && pwd)/shared/data"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export FASHIONSIM_HOME="$WORK/home" QT_QPA_PLATFORM=offscreen
mkdir -p "$WORK/images/zoo"
find "$SHARED/hm_dev/images" -name '*.jpg' | sort > "$WORK/all.txt"   # (no head in a pipe: pipefail)
sed -n '1,40p' "$WORK/all.txt" | xargs -I{} cp {} "$WORK/images/"
cp "$SHARED"/format_zoo/mixed_images/* "$WORK/images/zoo/"   # includes a corrupt JPEG and flipped copies
first=$(sed -n '1p' "$WORK/all.txt")
cp "$first" "$WORK/images/byte-copy.jpg"

"$APP/fashionsim" index "$WORK/images" > "$WORK/index.txt"
cat "$WORK/index.txt"
"$APP/fashionsim" errors --format json > "$WORK/errors.json"
"$APP/fashionsim" pairs --format json > "$WORK/pairs.json"
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
errors = json.load(open(f"{work}/errors.json"))
assert any(e["path"] == "zoo/ukbench09268_corrupt.jpg" for e in errors), errors
pairs = json.load(open(f"{work}/pairs.json"))
exact = [p for p in pairs if p["kind"] == "exact"]
assert any("byte-copy.jpg" in (p["path_a"], p["path_b"]) for p in exact), pairs
# The zoo's flipped, resized and rotated copies are paired only by the verifier (OpenCV ORB and affine fits, in the
# slim OpenCV the bundle carries) after pHash (numpy, core/hashing.py) and the embedding (onnxruntime).
assert any(p["kind"] != "exact" and p["path_a"].startswith("zoo/") and p["path_b"].startswith("zoo/")
           for p in pairs), pairs
print(f"pairs: {len(pairs)} ({len(exact)} exact); errors: {len(errors)}")
p = exact[0]
open(f"{work}/decide.txt", "w").write(f"{p['path_a']}\n{p['path_b']}\n")
PY
mapfile -t pair < "$WORK/decide.txt"
"$APP/fashionsim" decide "${pair[0]}" "${pair[1]}" merge
"$APP/fashionsim" export --out "$WORK/merges.csv"
python3 - "$WORK" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/merges.csv")))
assert len(rows) == 1 and rows[0]["keeper_sha256"] == rows[0]["duplicate_sha256"], rows
assert rows[0]["decided_by"] and rows[0]["decided_at"], rows
print("export ok:", rows[0]["duplicate_path"], "->", rows[0]["keeper_path"])
PY

t0=$(date +%s.%N)
FASHIONSIM_SMOKE_QUIT=1 timeout 300 "$APP/FashionSim" "$WORK/images" > "$WORK/gui.txt" 2>&1 || { cat "$WORK/gui.txt"; exit 1; }
grep '^smoke:' "$WORK/gui.txt"
shown=$(grep 'first window shown at' "$WORK/gui.txt" | awk '{print $NF}')
python3 -c "print(f'cold start to first window: {float($shown) - float($t0):.2f} s')"
grep -q 'catalogue loaded' "$WORK/gui.txt"
grep -q 'smoke: icon ok' "$WORK/gui.txt"   # resources resolved inside the frozen app
echo "smoke test passed"
