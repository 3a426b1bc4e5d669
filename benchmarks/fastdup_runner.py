"""Runs fastdup with its defaults on one folder and writes the similar pairs it reports as JSON.

Executed by `benchmarks.accuracy` with the Python of a separate virtual environment: fastdup pins older numpy,
pillow and scikit-learn than FashionSim uses, so it cannot share FashionSim's environment. This file imports
nothing from FashionSim.

    <fastdup-venv>/bin/python benchmarks/fastdup_runner.py FOLDER WORK_DIR OUT_JSON
"""
import json
import os
import sys
from pathlib import Path


def main(folder: str, work_dir: str, out_json: str) -> int:
    os.environ["SENTRY_OPT_OUT"] = "1"  # fastdup's crash reporting would try the network
    import fastdup

    root = Path(folder).resolve()
    fd = fastdup.create(work_dir=work_dir, input_dir=str(root))
    fd.run(overwrite=True)  # defaults: its own ONNX model, cosine similarity >= 0.9, 2 nearest neighbours
    pairs = []
    for row in fd.similarity().itertuples():
        a, b = (Path(os.path.abspath(p)).relative_to(root).as_posix() for p in (row.filename_from, row.filename_to))
        pairs.append((a, b, float(row.distance)))  # "distance" is fastdup's cosine similarity
    Path(out_json).write_text(json.dumps({"pairs": pairs, "version": fastdup.__version__}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
