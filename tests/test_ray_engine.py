"""The Ray engine of the features phase, on a real Ray cluster started on this machine.

The cluster is one node with two CPUs, so two workers (`ray start --head --block`: loopback only, its own ports and
temporary folder); a second node on the same machine would need the machine's network address, and tests here talk
to loopback only. Every process of the cluster lives in the session the test started, and is killed by pid when
the module's tests end, failed or not (`ray stop` would kill every Ray process of the machine, another run's too).

The commands run as subprocesses, as a curator runs them: Ray never loads into the test process.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from fashionsim_desktop.store import vector_codec

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RAY = Path(sys.executable).with_name("ray")
WORKERS = 2
STARTUP_SECONDS = 120
FEATURE_ACTOR = "FeatureActor"  # in the process title of a Ray actor running the features


# -- the cluster -----------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports() -> list[str]:
    """A free port for every service that would take a fixed default one, so another run here cannot collide."""
    args = []
    for flag in ("--dashboard-port", "--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                 "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port"):
        args += [flag, str(_free_port())]
    return args


class LocalCluster:
    def __init__(self, root: Path):
        self.root = root
        self.temp = Path(tempfile.mkdtemp(prefix="fsray-"))  # short: Ray's socket paths must fit 107 bytes
        # Loopback only: Ray turns --node-ip-address=127.0.0.1 into the machine's network address unless told that
        # this is a single-machine cluster (the switch Ray keeps for Windows and macOS).
        # The Ray Client server gives a new client's own server process 30 s to start, too few on two busy cores.
        self.env = {**os.environ, "HOME": str(root / "home"), "RAY_USAGE_STATS_ENABLED": "0",
                    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "180"}
        (root / "home").mkdir()  # Ray writes its state (an auth token) there, not in the real home
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.client_address = f"ray://127.0.0.1:{_free_port()}"  # Ray Client, as a curator's laptop connects
        self.processes: list[subprocess.Popen] = []

    def start(self) -> None:
        with open(self.root / "ray-start.log", "wb") as log:
            self.processes.append(subprocess.Popen(
                [str(RAY), "start", "--head", "--block", f"--port={self.port}", "--node-ip-address=127.0.0.1",
                 f"--num-cpus={WORKERS}", f"--temp-dir={self.temp}", "--include-dashboard=false",
                 f"--ray-client-server-port={self.client_address.rsplit(':', 1)[1]}",
                 "--object-store-memory=200000000", "--disable-usage-stats", *_ports()],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        self._wait_for(f"/{WORKERS}.0 CPU", "the head node")

    def _wait_for(self, text: str, what: str) -> None:
        """Until `ray status` shows `text`."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            status = subprocess.run([str(RAY), "status", f"--address={self.address}"], env=self.env,
                                    capture_output=True, text=True)
            if status.returncode == 0 and text in status.stdout:
                return
            if any(p.poll() is not None for p in self.processes):
                break
            time.sleep(1)
        raise AssertionError(f"{what} of the local Ray cluster did not start; its logs are in {self.root}")

    def session_processes(self) -> dict[int, str]:
        """pid -> command line of every process alive in the cluster's session: its services and the workers its
        raylet started (each worker leads a process group of its own, inside the session)."""
        sessions = {p.pid for p in self.processes}
        for p in self.processes:
            p.poll()  # reaps a `ray start` that ended: a zombie is not alive
        out = subprocess.run(["ps", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True).stdout
        alive = {}
        for line in out.splitlines():
            pid, sid, stat, args = line.split(None, 3)
            if int(sid) in sessions and not stat.startswith("Z"):
                alive[int(pid)] = args
        return alive

    def client_server_logs(self) -> str:
        """The tails of the Ray Client server's logs (the proxy and each client's own server), for a failure."""
        parts = []
        for log in sorted(self.temp.glob("session_*/logs/ray_client_server*")):
            lines = log.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def actors(self) -> list[str]:
        return [args for args in self.session_processes().values() if FEATURE_ACTOR in args]

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):  # a scratch cluster: no long drain
            for pid in self.session_processes():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while self.session_processes() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.session_processes():
                break
        for p in self.processes:
            p.wait(timeout=10)
        shutil.rmtree(self.temp, ignore_errors=True)
        assert not self.session_processes(), "Ray processes outlived the test cluster"


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    pytest.importorskip("ray", reason='the Ray engine is an optional extra: pip install "fashionsim-desktop[cluster]"')
    cluster = LocalCluster(tmp_path_factory.mktemp("ray-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# -- running the command as a curator does -----------------------------------------------------------
def fashionsim(cluster: LocalCluster, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fashionsim_desktop", *args], env=cluster.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def index(cluster: LocalCluster, folder: Path, catalog: Path, *extra: str) -> str:
    proc = fashionsim(cluster, "index", str(folder), "--catalog", str(catalog), *extra)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, f"index {' '.join(extra)} failed:\n{out}\n{err}\n{cluster.client_server_logs()}"
    return out + err


def pairs_json(cluster: LocalCluster, catalog: Path) -> list[dict]:
    proc = fashionsim(cluster, "pairs", "--catalog", str(catalog), "--format", "json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


# -- the catalogue as stored ---------------------------------------------------------------------------
def stored(catalog: Path) -> dict:
    with closing(sqlite3.connect(catalog / "catalog.sqlite")) as db:
        return {
            "files": db.execute("SELECT path_raw, sha256, status, error FROM files ORDER BY path_raw").fetchall(),
            "images": {r[0]: r[1:] for r in db.execute(
                "SELECT sha256, width, height, format, phash, dhash, model_id FROM images")},
            "embeddings": {sha: vector_codec.decode(blob, fmt) for sha, blob, fmt in db.execute(
                "SELECT sha256, embedding, embedding_format FROM images")},
            "verified": {(a, b): (cos, score) for a, b, cos, score in db.execute(
                "SELECT sha_a, sha_b, cosine, score FROM verified")},
        }


def status_counts(catalog: Path) -> dict:
    with closing(sqlite3.connect(catalog / "catalog.sqlite")) as db:
        return dict(db.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())


def images_done(catalog: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{catalog / 'catalog.sqlite'}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT count(*) FROM images").fetchone()[0]
    except sqlite3.Error:  # not created yet, or busy
        return 0


# -- the folders ------------------------------------------------------------------------------------------
def _copy(sources, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for src in sources:
        shutil.copy2(src, folder / src.name)


def real_folder(root: Path) -> Path:
    """60 real product photos, planted duplicates, odd formats and two files that are not readable pictures."""
    from PIL import Image

    folder = root / "pictures"
    hm = sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[:30]
    myntra = sorted((SHARED / "myntra_dev").rglob("*.jpg"))[:30]
    _copy(hm, folder / "hm")
    _copy(myntra, folder / "myntra" / "nested")
    zoo = SHARED / "format_zoo"
    _copy([zoo / "mixed_images" / "ukbench09268_corrupt.jpg", zoo / "alpha_channel_image.png",
           zoo / "formats_images" / "ukbench09380.webp", zoo / "formats_images" / "giphy.gif"], folder / "zoo")
    (folder / "zoo" / "notes.jpg").write_text("not a picture: the supplier's delivery note\n")
    shutil.copy2(hm[0], folder / "hm" / "byte-copy.jpg")  # an exact pair
    with Image.open(hm[1]) as im:  # near pairs: the same photo smaller, and re-encoded
        im.resize((im.width * 3 // 4, im.height * 3 // 4)).save(folder / "hm" / "smaller.jpg", quality=90)
    with Image.open(myntra[2]) as im:
        im.save(folder / "myntra" / "reencoded.jpg", quality=70)
    return folder


# -- the tests -------------------------------------------------------------------------------------------
def test_ray_catalogue_equals_the_local_engines(ray_cluster, tmp_path):
    folder = real_folder(tmp_path)
    # Through Ray Client, as a curator's desktop reaches a remote cluster.
    out = index(ray_cluster, folder, tmp_path / "ray", "--engine", "ray", "--ray-address", ray_cluster.client_address)
    index(ray_cluster, folder, tmp_path / "local")
    ray, local = stored(tmp_path / "ray"), stored(tmp_path / "local")

    assert ray["files"] == local["files"]  # the same files, sha256, statuses and error reasons
    assert sum(status == "error" for _, _, status, _ in local["files"]) == 2  # the corrupt JPEG, the note
    assert ray["images"] == local["images"]  # sizes, formats, perceptual hashes, model
    assert len(local["images"]) == 65  # 60 photos, 2 near copies, 3 odd formats (the byte copy is the same picture)
    assert ray["embeddings"].keys() == local["embeddings"].keys()
    for sha, vector in local["embeddings"].items():
        np.testing.assert_allclose(ray["embeddings"][sha], vector, atol=1e-5, rtol=0)
    assert ray["verified"].keys() == local["verified"].keys() and local["verified"]
    for key, (cosine, score) in local["verified"].items():
        assert ray["verified"][key] == pytest.approx((cosine, score), abs=1e-5)
    ray_pairs, local_pairs = pairs_json(ray_cluster, tmp_path / "ray"), pairs_json(ray_cluster, tmp_path / "local")
    assert [(p["path_a"], p["path_b"], p["kind"]) for p in ray_pairs] == \
        [(p["path_a"], p["path_b"], p["kind"]) for p in local_pairs]
    assert [p["score"] for p in ray_pairs] == pytest.approx([p["score"] for p in local_pairs], abs=1e-4)
    assert len(local_pairs) >= 3  # the byte copy, the smaller copy, the re-encoded copy
    assert f"{len(local['files']) - 2} pictures in the catalogue, 2 could not be read" in out
    assert not ray_cluster.actors(), "the run's actors outlived it"


def test_a_cancel_stops_the_clusters_work_and_the_next_run_finishes(ray_cluster, tmp_path):
    pictures = 600  # enough that the run is still going when it is cancelled, on a fast machine too
    folder = tmp_path / "pictures"
    _copy(sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[:pictures], folder)
    catalog = tmp_path / "catalogue"
    run = fashionsim(ray_cluster, "index", str(folder), "--catalog", str(catalog), "--engine", "ray",
                     "--ray-address", ray_cluster.address)
    deadline, actors = time.monotonic() + 300, 0
    while (images_done(catalog) < 32 or actors < WORKERS) and run.poll() is None \
            and time.monotonic() < deadline:
        actors = max(actors, len(ray_cluster.actors()))  # one per CPU; the second may start later
        time.sleep(0.2)  # results are saved while the cluster works, not at the end
    assert run.poll() is None, f"the run ended before it could be cancelled:\n{run.communicate()}"
    assert actors == WORKERS
    run.send_signal(signal.SIGINT)  # Ctrl-C: the command cancels its Progress token
    cancelled_at = time.monotonic()
    _, err = run.communicate(timeout=60)
    stop_seconds = time.monotonic() - cancelled_at
    assert run.returncode == 130 and "Cancelled" in err, err
    assert stop_seconds < 20, f"the cancel took {stop_seconds:.1f}s"
    deadline = time.monotonic() + 15  # the cluster's work stops: its actors are killed, not left computing
    while ray_cluster.actors() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not ray_cluster.actors(), "the actors kept running after the cancel"

    counts, done = status_counts(catalog), images_done(catalog)
    assert 32 <= done < pictures and counts.get("ok") == done  # what finished is kept, and consistent
    assert counts.get("pending") == pictures - done and not counts.get("error")

    index(ray_cluster, folder, catalog)  # the local engine finishes the rest
    assert status_counts(catalog) == {"ok": pictures} and images_done(catalog) == pictures


def without_ray(*args: str) -> subprocess.CompletedProcess:
    """The command in a Python where `import ray` fails, as where the extra is not installed."""
    code = ("import sys; sys.modules['ray'] = None\n"
            "from fashionsim_desktop.cli import main\n"
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_without_ray_the_local_engine_runs_and_the_ray_engine_says_how_to_install_it(tmp_path):
    folder = tmp_path / "pictures"
    _copy(sorted((SHARED / "hm_dev" / "images").rglob("*.jpg"))[:3], folder)
    local = without_ray("index", str(folder), "--catalog", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    assert "3 pictures in the catalogue" in local.stdout

    ray = without_ray("index", str(folder), "--catalog", str(tmp_path / "ray"), "--engine", "ray")
    assert ray.returncode == 1  # as every other user error
    assert 'pip install "fashionsim-desktop[cluster]"' in ray.stderr and "Traceback" not in ray.stderr
    assert not (tmp_path / "ray").exists()  # said before anything was opened or read
