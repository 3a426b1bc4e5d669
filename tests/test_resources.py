"""Resource hardening, end to end with the real CLI in real processes: workers die with a killed indexer, files
that are not pictures (pipes, devices, 4 GB files, over-long paths) are reported instead of read, and a damaged
search index is rebuilt rather than trusted."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, some_hm_images

GB = 2**30


def env_for(home) -> dict:
    return dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")


def cli(*args, home, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], capture_output=True,
                          text=True, env=env_for(home), timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def errors_of(catalog, home) -> dict:
    out = ok(cli("errors", "--catalog", catalog, "--format", "json", home=home)).stdout
    return {e["path"]: e["reason"] for e in json.loads(out)}


def real_folder(path, n, skip=0):
    path.mkdir(parents=True, exist_ok=True)
    for p in some_hm_images(n, skip):
        shutil.copyfile(p, path / p.name)
    return path


# -- 1. workers die with their parent ---------------------------------------------------------------
def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from /proc/PID/stat."""
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
            except OSError:
                continue
            table[int(name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int) -> set[int]:
    table = process_table()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _) in table.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids) -> set[int]:
    table = process_table()
    return {p for p in pids if p in table and table[p][1] != "Z"}  # a zombie holds no memory


def spawn_workers(pids) -> set[int]:
    workers = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"spawn_main" in fh.read():
                    workers.add(pid)
        except OSError:
            pass
    return workers


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_indexer(tmp_path, isolated_home, model_path):
    folder = real_folder(tmp_path / "photos", 150)
    indexer = subprocess.Popen([sys.executable, "-m", "fashionsim_desktop", "index", str(folder), "--catalog",
                                str(tmp_path / "cat"), "--workers", "2"], env=env_for(isolated_home),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(spawn_workers(descendants(indexer.pid))) < 2:
            assert indexer.poll() is None and time.monotonic() < deadline, "the indexer never started 2 workers"
            time.sleep(0.05)
        copies = tmp_path / "cat" / "working-copies"
        while not any(copies.glob("*/*.npy")) and time.monotonic() < deadline:
            time.sleep(0.05)  # the workers are loading the model, then leave their first working copies
        children = descendants(indexer.pid)
        assert len(spawn_workers(children)) >= 2, "the workers finished before the kill: use more pictures"
        indexer.send_signal(signal.SIGKILL)  # the parent only
        indexer.wait()
        deadline = time.monotonic() + 5
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = alive(children)
    finally:
        for pid in alive(children):
            os.kill(pid, signal.SIGKILL)  # today's orphans must not outlive the test
    assert not left, f"{len(left)} of {len(children)} child processes outlived the killed indexer by 5 s"
    # The scratch copies the killed run left go with the next command that opens the catalogue.
    assert copies.exists()
    ok(cli("errors", "--catalog", tmp_path / "cat", home=isolated_home))
    assert not copies.exists()


def test_a_second_index_run_on_the_same_catalogue_is_refused_while_one_runs(tmp_path, isolated_home, model_path):
    from fashionsim_desktop.core.workcopies import WorkingCopies

    folder = real_folder(tmp_path / "photos", 3)
    ok(cli("index", folder, "--catalog", tmp_path / "cat", home=isolated_home))
    running = WorkingCopies.beside(tmp_path / "cat")
    assert running.claim()  # what a live index run holds for its whole length
    try:
        (running.directory / "ab").mkdir(parents=True)
        second = cli("index", folder, "--catalog", tmp_path / "cat", home=isolated_home)
        assert second.returncode == 1 and "being indexed by another" in second.stderr
        ok(cli("errors", "--catalog", tmp_path / "cat", home=isolated_home))
        assert running.directory.exists()  # a live run's copies are never cleared under it
    finally:
        running.release()


# -- 2. huge files, pipes and devices are refused, never read ------------------------------------------
def test_a_4gb_file_is_reported_at_scan_and_never_read(tmp_path, isolated_home, model_path):
    folder = real_folder(tmp_path / "photos", 3)
    with open(folder / "huge.jpg", "wb") as fh:
        fh.truncate(4 * GB)  # sparse: no disk used, but 4 GB for whoever reads it
    # A parent of its own, so the peak is the indexer's and its workers', not an earlier test's.
    measure = ("import resource, subprocess, sys\n"
               "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
               "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", measure, sys.executable, "-m", "fashionsim_desktop", "index",
                          folder, "--catalog", tmp_path / "cat"], env=env_for(isolated_home), capture_output=True,
                         text=True, timeout=300)
    code, peak_kib = map(int, out.stdout.split())
    assert code == 0, out.stderr
    assert peak_kib * 1024 < GB, f"indexing peaked at {peak_kib / 2**20:.1f} GB"
    assert errors_of(tmp_path / "cat", isolated_home) == {"huge.jpg": "file too large (4.0 GB, limit 512 MB)"}


def test_readers_refuse_pipes_devices_and_huge_files_promptly(tmp_path):
    """The checksum (a file swapped for a pipe after the scan), the decoder and the window's loader."""
    pipe, huge = tmp_path / "pipe.jpg", tmp_path / "huge.jpg"
    os.mkfifo(pipe)
    with open(huge, "wb") as fh:
        fh.truncate(4 * GB)
    code = ("import sys\n"
            "from fashionsim_desktop.core.imaging import decode_file, read_image_file\n"
            "from fashionsim_desktop.core.scan import sha256_file\n"
            "from fashionsim_desktop.ui.images import load_qimage\n"
            "pipe, huge = sys.argv[1:]\n"
            "for fn, path in [(sha256_file, pipe), (decode_file, pipe), (decode_file, huge), (read_image_file, huge),\n"
            "                 (load_qimage, pipe), (load_qimage, huge)]:\n"
            "    try:\n"
            "        print(fn(path))\n"
            "    except OSError as exc:\n"
            "        print(type(exc).__name__, exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(pipe), str(huge)], capture_output=True, text=True,
                         env=env_for(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["UnsafeFile not a regular file (a named pipe)"] * 2 + [
        "UnsafeFile file too large (4.0 GB, limit 512 MB)"] * 2 + ["None", "None"]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """One real indexed catalogue shared by the search tests: (home, catalogue folder, photos folder)."""
    home, base = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("searchcat")
    folder = real_folder(base / "photos", 12, skip=300)
    ok(cli("index", folder, "--catalog", base / "cat", home=home))
    return home, base / "cat", folder


def test_search_on_a_pipe_or_a_device_returns_promptly_with_a_reason(indexed, tmp_path):
    home, catalog, _ = indexed
    os.mkfifo(tmp_path / "pipe.jpg")
    os.symlink("/dev/zero", tmp_path / "zero.jpg")
    for name, reason in (("pipe.jpg", "not a regular file (a named pipe)"),
                         ("zero.jpg", "not a regular file (a device)")):
        result = cli("search", tmp_path / name, "--catalog", catalog, home=home, timeout=60)
        assert result.returncode == 1, result.stderr
        assert f"{tmp_path / name}: {reason}" in result.stdout
        assert "Traceback" not in result.stderr


# -- 3. everything in the folder that cannot be indexed is reported -----------------------------------
def test_a_pipe_named_jpg_in_the_folder_is_reported_and_indexing_completes(tmp_path, isolated_home, model_path):
    folder = real_folder(tmp_path / "photos", 3)
    os.mkfifo(folder / "x.jpg")
    out = ok(cli("index", folder, "--catalog", tmp_path / "cat", home=isolated_home, timeout=120)).stdout
    assert "3 pictures in the catalogue" in out
    assert errors_of(tmp_path / "cat", isolated_home) == {"x.jpg": "not a regular file (a named pipe)"}


def test_a_folder_beyond_the_path_limit_is_reported(tmp_path, isolated_home, model_path):
    folder = real_folder(tmp_path / "photos", 2)
    picture = some_hm_images(1, skip=2)[0].read_bytes()
    # Nested through directory descriptors: the path as a whole is longer than PATH_MAX (4096 bytes).
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    depth = 0
    while len(os.fsencode(folder)) + depth * 201 < 4500:
        os.mkdir("d" * 200, dir_fd=fd)
        inner = os.open("d" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd, depth = inner, depth + 1
    out = os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, dir_fd=fd)
    os.write(out, picture)
    os.close(out)
    os.close(fd)
    ok(cli("index", folder, "--catalog", tmp_path / "cat", home=isolated_home, timeout=120))
    errors = errors_of(tmp_path / "cat", isolated_home)
    assert len(errors) == 1, errors
    (path, reason), = errors.items()
    assert reason.startswith("path too long") and path.startswith("d" * 200 + "/")


# -- 4. a damaged search index is rebuilt, never trusted ----------------------------------------------
def flip_middle(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    path.write_bytes(bytes(data))


def truncate(path):
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) * 2 // 3)


def garbage(path):
    path.write_bytes(os.urandom(300))


@pytest.mark.parametrize("damage, name", [(flip_middle, "vectors.ann"), (truncate, "vectors.ann"),
                                          (garbage, "vectors.ids.json")])
def test_a_damaged_search_index_is_rebuilt(indexed, damage, name):
    home, catalog, folder = indexed
    target = sorted(folder.glob("*.jpg"))[4]
    damage(catalog / name)
    result = ok(cli("search", target, "--catalog", catalog, "--format", "json", home=home, timeout=120))
    assert "The search index was damaged and has been rebuilt." in result.stderr
    assert json.loads(result.stdout)[0]["results"][0]["path"] == target.name
    again = ok(cli("search", target, "--catalog", catalog, home=home, timeout=120))
    assert "rebuilt" not in again.stderr  # the rebuilt files match the catalogue's fingerprint
