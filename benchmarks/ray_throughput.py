"""Throughput of the features phase: the local engine against the Ray engine with 1 and 2 workers.

    python -m benchmarks.ray_throughput [--pictures 1000] [--ray-address ADDR] [--format table|json]

Indexes the first N H&M packshots of ../shared/data (copied to a temporary folder) into a fresh catalogue once per
engine, and prints for each:
- features images/s: the whole features phase (decode, hashes, embedding, saving), Ray's start-up included;
- steady images/s: from a quarter of the pictures saved to the last, what a long run approaches once the
  workers are up (results come back in bursts, so the first batches are left out);
- first batch s: from the phase's start to its first saved batch (Ray's start-up, the actors' model loading);
- the pair phase and the whole index run in seconds (the pair phase decodes again after the Ray engine, which
  keeps no working copies).
Without --ray-address, Ray runs on this machine with as many CPUs as workers (`ray.init(num_cpus=N)`); with it, the
Ray runs use that cluster (the folder must then be on storage every node reads at the same path). Needs the
cluster extra: pip install "fashionsim-desktop[cluster]". Timings on a shared machine are noisy: run it twice.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CONFIGS = (("local, 2 worker processes", "local", 2), ("ray, 1 worker", "ray", 1), ("ray, 2 workers", "ray", 2))


def copy_pictures(n: int, folder: Path) -> int:
    paths = sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[:n]
    folder.mkdir(parents=True)
    for p in paths:
        shutil.copyfile(p, folder / p.name)
    return len(paths)


def index_once(folder: Path, catalog_dir: Path, engine: str, workers: int, address: str | None) -> dict:
    from fashionsim_desktop.core.indexer import Indexer
    from fashionsim_desktop.core.progress import Progress
    from fashionsim_desktop.store.catalog import Catalog

    saved = []  # (seconds since the features phase began, pictures done) at every saved batch

    def listen(status) -> None:
        if status.phase == "features" and status.done:
            saved.append((status.elapsed, status.done))

    with Catalog(catalog_dir, root=folder) as catalog:
        indexer = Indexer(folder, catalog, workers=workers, engine=engine,
                          ray_address=address if engine == "ray" else None)
        start = time.perf_counter()
        report = indexer.run(Progress(listener=listen))
        total = time.perf_counter() - start
    t0, n0 = next((t, n) for t, n in saved if n >= saved[-1][1] / 4)
    t1, n1 = saved[-1]
    return {"pictures": report.pictures_decoded, "features_s": report.seconds["features"],
            "features_per_s": round(report.pictures_decoded / report.seconds["features"], 1),
            "steady_per_s": round((n1 - n0) / (t1 - t0), 1) if t1 > t0 else None,
            "first_batch_s": round(saved[0][0], 1), "pairs_s": report.seconds["pairs"], "index_s": round(total, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=1000)
    parser.add_argument("--ray-address", default=None, help="a running Ray cluster (default: Ray on this machine)")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not args.ray_address:
        # Ray on this machine only: on loopback, not the machine's network address (read when Ray is imported).
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    results = {}
    with tempfile.TemporaryDirectory(prefix="fashionsim-ray-bench-") as tmp:
        folder = Path(tmp) / "pictures"
        n = copy_pictures(args.pictures, folder)
        for label, engine, workers in CONFIGS:
            results[label] = index_once(folder, Path(tmp) / f"catalogue-{engine}-{workers}", engine, workers,
                                        args.ray_address)
    if args.format == "json":
        print(json.dumps({"pictures": n, "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
                          "results": results}, indent=2))
        return 0
    print(f"{n} H&M packshots, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'engine':<28}{'features img/s':>16}{'steady img/s':>14}{'first batch s':>15}{'pairs s':>9}"
          f"{'index run s':>13}")
    for label, r in results.items():
        print(f"{label:<28}{r['features_per_s']:>16}{r['steady_per_s'] or '-':>14}{r['first_batch_s']:>15}"
              f"{r['pairs_s']:>9.1f}{r['index_s']:>13}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
