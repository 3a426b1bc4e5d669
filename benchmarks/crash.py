"""Crash benchmark: kill the real `fashionsim` CLI at random moments on real pictures; is anything lost?

    python -m benchmarks.crash [--kills 50] [--seed N] [--pictures 200] [--workers 2] [--format table|json]

Set-up: a temporary folder of real H&M packshots (nested like the shared data) with planted byte copies, crops
and mirrored PNG copies so that pairs exist; FASHIONSIM_HOME in a temporary folder; one full index run.
Then kill rounds, the kinds in shuffled cycles, each ending in SIGKILL to the CLI's main process only (a crash;
its own worker processes have to notice by themselves):
  index   `fashionsim index FOLDER --workers N`, killed 0.2 s .. min(15 s, 1.1 x the first full run) after it
          starts; before each round 20-100 % of the pictures are replaced by re-encoded copies and a few touched,
          so the run has work in every phase.
  decide  three `fashionsim decide A B merge|keep` on pairs from `pairs --format json`, in a row or at once;
          one of them is killed 0-300 ms after it has opened the catalogue (Python's start-up, before that, is
          most of a short command's life and a kill there tests nothing).
  undo    two `fashionsim undo` in a row, one killed 0-300 ms after it has opened the catalogue.
  export  `fashionsim export --out FILE [--force]`, killed 0-300 ms after it has opened the catalogue.
A process that ends before its kill moment is not a kill; rounds go on until --kills kills happened.

The decisions are checked against a model of what was acknowledged: a decide or undo that exited 0. After a
kill the killed operation may or may not have happened, so the catalogue (after a `pairs` look, which lets the
product finish an interrupted step; then read straight from catalog.sqlite, read-only) must equal the model
before it or after it; the model then adopts what is really there. An undo must reverse the newest step not yet
undone (with steps run at once, any of them), putting that pair back to its value before the step.
After every kill: PRAGMA integrity_check, the killed process's descendants still alive 5 s later, and scratch
left behind once the next command (`fashionsim errors`) has opened the catalogue (working-copies/ while no index
runs, *.tmp files, half-written export files). At the end one index
run to completion and a last check of every acknowledged decision.

Figures: kills (by kind); decisions_acknowledged (decides that exited 0); decisions_lost (acknowledged values,
of a decide or an undo, no longer there with no later operation to explain it); integrity_failures (checks
that did not say ok); leftover_processes (descendants alive 5 s after a kill); leftover_scratch (distinct
leftovers); index_resumed_ok (every index run let finish after kills, and the last one, exited 0). Exit 1 when
anything was lost, left over or failed.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO.parent / "shared" / "data" / "hm_dev" / "images"
KINDS = ("index", "decide", "undo", "export")
ORPHAN_GRACE = 5.0  # seconds a killed process's workers get to notice and exit
# Short commands spend most of their life starting Python (about 0.6 s here): their kill moment is drawn in
# the 0.3 s after they open the catalogue, where a decide, undo or export does its work.
KILL_WINDOW = 0.3


# -- the CLI as a curator's script runs it -----------------------------------------------------------------
@dataclass
class Run:
    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool = False
    kill_planned: bool = False  # a kill moment was drawn (the process may have ended before it)
    killed_at: float = 0.0
    phase: str = ""  # index runs: the progress line last printed before the kill
    descendants: list = field(default_factory=list)  # (pid, start time) just before the kill

    @property
    def acknowledged(self) -> bool:
        return self.returncode == 0


class Cli:
    def __init__(self, home: Path, scratch: Path):
        self.env = dict(os.environ, FASHIONSIM_HOME=str(home), PYTHONPATH=str(REPO))
        self.scratch = scratch
        self.count = 0

    def start(self, *args) -> tuple[subprocess.Popen, Path, Path]:
        # Output goes to files, not pipes: a killed process never blocks on a full pipe and nothing is lost.
        self.count += 1
        out, err = self.scratch / f"{self.count}.out", self.scratch / f"{self.count}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen([sys.executable, "-m", "fashionsim_desktop", *map(str, args)], stdout=o,
                                    stderr=e, stdin=subprocess.DEVNULL, env=self.env)
        proc.started = time.monotonic()
        return proc, out, err

    def finish(self, started, *, kill_at: Optional[float] = None, from_open: bool = False) -> Run:
        """Wait for a started process; with kill_at (seconds after its start, or with from_open after it opened
        the catalogue), SIGKILL it then if it is still running."""
        proc, out, err = started
        phase, family, killed_at = "", [], 0.0
        if kill_at is not None:
            since = proc.started
            while from_open and proc.poll() is None and not has_catalog_open(proc.pid):
                since = time.monotonic()
                time.sleep(0.001)
            while proc.poll() is None and time.monotonic() < since + kill_at:
                time.sleep(0.001)
            if proc.poll() is None:
                family = descendants(proc.pid)
                phase = last_progress_line(err)
                os.kill(proc.pid, signal.SIGKILL)  # the main process only: its workers must end by themselves
                killed_at = time.monotonic()
        proc.wait()
        seconds = time.monotonic() - proc.started
        killed = proc.returncode == -signal.SIGKILL
        return Run(proc.args[3:], proc.returncode, out.read_text(errors="replace"), err.read_text(errors="replace"),
                   seconds, killed, kill_at is not None, killed_at, phase if killed else "", family if killed else [])

    def run(self, *args) -> Run:
        return self.finish(self.start(*args))


def has_catalog_open(pid: int) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").endswith("catalog.sqlite") for fd in fds)
    except OSError:  # gone, or an fd closed while we looked
        return False


def last_progress_line(err: Path) -> str:
    lines = [line for line in err.read_text(errors="replace").splitlines() if ":" in line]
    return lines[-1].split(":")[0] if lines else "start-up"


# -- processes -------------------------------------------------------------------------------------------
def _stat(pid: int) -> Optional[tuple[str, int, int]]:
    """(state, ppid, start time) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[tuple[int, int]]:
    """Children, grandchildren, ... of pid as (pid, start time): the start time tells a reused pid apart."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))):
            children.setdefault(st[1], []).append((int(entry), st[2]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def role(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return "resource tracker" if "resource_tracker" in command else "worker" if "spawn_main" in command else "other"


def still_alive(proc: tuple[int, int]) -> bool:
    st = _stat(proc[0])
    return st is not None and st[2] == proc[1] and st[0] not in "ZX"  # a zombie has ended; nobody reaped it


# -- the catalogue, read as an outsider ----------------------------------------------------------------------
def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)


def real_decisions(db: Path) -> dict[tuple[str, str], str]:
    conn = read_only(db)
    try:
        return {(a, b): d for a, b, d in conn.execute("SELECT sha_a, sha_b, decision FROM decisions")}
    finally:
        conn.close()


def integrity_ok(db: Path) -> bool:
    try:
        conn = read_only(db)
        try:
            return [r[0] for r in conn.execute("PRAGMA integrity_check")] == ["ok"]
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def export_complete(path: Path) -> bool:
    """A merge list a reader can use: JSON that loads whole, or CSV whose rows all match its header."""
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            data = json.loads(text)
            return isinstance(data["merges"], list) and data["count"] == len(data["merges"])
        rows = list(csv.reader(io.StringIO(text, newline="")))
        # Columns are added over time: the check asks for the one every version has, not the exact list.
        return text.endswith("\n") and "duplicate_sha256" in rows[0] and all(len(r) == len(rows[0]) for r in rows)
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False


def scratch_left(catalog: Path, out: Path) -> set[tuple]:
    """What a crash left behind, each item with what identifies this leftover (so it is counted once)."""
    items = set()
    work = catalog / "working-copies"
    if work.exists():  # checked only while no index runs
        st = work.stat()
        items.add(("working-copies", str(work), st.st_ino, st.st_mtime_ns))
    for folder in (catalog, out):
        for tmp in folder.glob("*.tmp"):  # glob's * also matches names starting with a dot here
            items.add(("tmp file", str(tmp), tmp.stat().st_ino, 0))
    for export in list(out.glob("*.csv")) + list(out.glob("*.json")):
        if not export_complete(export):
            items.add(("incomplete export", str(export), export.stat().st_ino, export.stat().st_mtime_ns))
    return items


# -- the model of acknowledged decisions ---------------------------------------------------------------------
Key = tuple[str, str]


@dataclass
class Step:
    key: Key
    before: Optional[str]
    after: str
    group: int  # steps of one group ran at once: their order in the history is unknown
    undone: bool = False


@dataclass
class Op:
    key: Key
    before: Optional[str]
    after: str
    run: Run


class Model:
    def __init__(self):
        self.values: dict[Key, str] = {}
        self.acked: dict[Key, Optional[str]] = {}  # pair -> the value an acknowledged operation left it with
        self.steps: list[Step] = []
        self.groups = 0
        self.acknowledged = self.lost = self.unexplained = 0
        self.killed_but_done = self.undos_acknowledged = 0
        self.problems: list[str] = []  # each loss or unexplained change, said in words

    def settle(self, real: dict, allowed: dict[Key, set]) -> None:
        """Every pair must have its model value, or one of `allowed`; then adopt what is really there."""
        for key in set(self.values) | set(real) | set(allowed) | set(self.acked):
            now = real.get(key)
            changed_since_ack = key in self.acked and now != self.acked[key]
            if now in allowed.get(key, {self.values.get(key)}):
                if changed_since_ack:
                    del self.acked[key]  # a later operation changed it (killed, yet it happened): nothing lost
            elif changed_since_ack:
                self.lost += 1  # acknowledged, and nothing that happened since explains the change
                self.problems.append(f"lost: {_short(key)} acknowledged {self.acked.pop(key)}, now {now}")
            else:
                self.unexplained += 1  # a pair nobody acknowledged changed without a reason
                self.problems.append(f"unexplained: {_short(key)} was {self.values.get(key)}, now {now}")
        self.values = dict(real)

    def decided(self, ops: list[Op], real: dict) -> None:
        """Decide processes that ran at once (or one alone) have ended; exit 0 is acknowledged, anything else
        (killed, failed) leaves the decision unknown: before or after."""
        allowed = {}
        for op in ops:
            if op.run.acknowledged:
                self.acknowledged += 1
                self.acked[op.key] = op.after
                allowed[op.key] = {op.after}
            else:
                allowed[op.key] = {op.before, op.after}
        self.groups += 1
        for op in ops:  # a decide that happened is a step of the history, whether it was acknowledged or not
            if op.run.acknowledged or real.get(op.key) == op.after:
                self.killed_but_done += not op.run.acknowledged
                self.steps.append(Step(op.key, op.before, op.after, self.groups))
        self.settle(real, allowed)

    def undo_candidates(self) -> list[Step]:
        """The steps an undo may reverse now: the newest not undone (any of its group, when it ran at once)."""
        open_steps = [s for s in self.steps if not s.undone]
        return [s for s in open_steps if s.group == open_steps[-1].group] if open_steps else []

    def undid(self, run: Run, real: dict) -> None:
        candidates = self.undo_candidates()
        self.undos_acknowledged += run.acknowledged
        for step in candidates:
            if real == _without_nones({**self.values, step.key: step.before}):
                step.undone = True
                self.killed_but_done += not run.acknowledged
                self.acked.pop(step.key, None)
                if run.acknowledged:
                    self.acked[step.key] = step.before  # the restored value is acknowledged now
                self.values = dict(real)
                return
        if run.acknowledged and candidates and all(real.get(s.key) != s.before for s in candidates):
            self.lost += 1  # acknowledged, yet no pair went back to its value before the step to undo
            self.problems.append("lost: an acknowledged undo, yet none of " + ", ".join(
                f"{_short(s.key)} went back from {s.after} to {s.before}" for s in candidates))
        if real != self.values:  # not one clean undo: what else changed?
            for step in candidates:
                step.undone = real.get(step.key) == step.before
            self.settle(real, {s.key: {s.before, s.after} for s in candidates})
        # otherwise: killed before it changed anything, or nothing to undo


def _short(key: Key) -> str:
    return f"{key[0][:8]}/{key[1][:8]}"


def _without_nones(values: dict) -> dict:
    return {k: v for k, v in values.items() if v is not None}


# -- the folder of pictures -----------------------------------------------------------------------------------
def build_folder(folder: Path, pictures: int, rng: random.Random) -> dict[Path, Path]:
    """Real packshots, nested like the shared data, plus planted duplicates; returns filler -> its source.

    Fillers are the pictures no planted copy was made of: the index rounds replace those."""
    from PIL import Image, ImageOps

    sources = rng.sample(sorted(IMAGES.rglob("*.jpg")), pictures)
    placed = {}
    for src in sources:
        dest = folder / src.parent.name / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        placed[dest] = src
    planted = folder / "planted"
    planted.mkdir()
    copies, edits = max(2, pictures // 25), max(1, pictures // 60)
    used = list(placed)[:copies + 2 * edits]
    for i, dest in enumerate(used[:copies]):
        shutil.copyfile(dest, planted / f"copy-{i}-{dest.name}")
    for i, dest in enumerate(used[copies:copies + edits]):
        with Image.open(dest) as im:
            w, h = im.size
            im.crop((w // 12, h // 14, w - w // 15, h - h // 12)).save(planted / f"crop-{i}-{dest.name}", quality=85)
    for i, dest in enumerate(used[copies + edits:]):
        with Image.open(dest) as im:
            ImageOps.mirror(im).save(planted / f"mirror-{i}-{dest.stem}.png")
    return {dest: src for dest, src in placed.items() if dest not in used}


def give_work(fillers: dict[Path, Path], share: float, rng: random.Random) -> None:
    """Replace a share of the fillers by new encodings of their originals (new bytes: features and pairs to do)
    and touch a few more (same bytes, new time: read again)."""
    from PIL import Image

    chosen = rng.sample(sorted(fillers), max(1, int(len(fillers) * share)))
    for dest in chosen:
        with Image.open(fillers[dest]) as im:
            w, h = im.size
            cut = [rng.randint(0, 3) for _ in range(4)]
            im.crop((cut[0], cut[1], w - cut[2], h - cut[3])).save(dest, quality=rng.randint(75, 95))
    for dest in rng.sample(sorted(fillers), min(3, len(fillers))):
        os.utime(dest, ns=(time.time_ns(), time.time_ns()))


# -- the benchmark --------------------------------------------------------------------------------------------
class Benchmark:
    def __init__(self, work: Path, pictures: int, seed: int, workers: int, log):
        self.rng = random.Random(seed)
        self.log = log
        self.workers = workers
        self.folder, self.out = work / "pictures", work / "out"
        self.out.mkdir()
        (work / "logs").mkdir()
        self.cli = Cli(work / "home", work / "logs")
        self.fillers = build_folder(self.folder, pictures, self.rng)
        self.model = Model()
        self.kills: Counter = Counter()
        self.phases: Counter = Counter()
        self.finished_before_kill = 0
        self.failed: list[Run] = []
        self.integrity_failures = self.leftover_processes = 0
        self.leftover_roles: Counter = Counter()
        self.scratch: set[tuple] = set()
        self.index_ok = True

        start = time.monotonic()
        first = self.index()
        self.full_index_seconds = time.monotonic() - start
        if first.returncode != 0:
            raise RuntimeError(f"the first index run failed:\n{first.stderr}")
        said = next(line for line in first.stdout.splitlines() if line.startswith("Catalogue:"))
        self.catalog = Path(said.split(": ", 1)[1])
        self.db = self.catalog / "catalog.sqlite"
        help_text = self.cli.run("export", "--help").stdout
        self.force = ["--force"] if "--force" in help_text else []  # --force is new; older CLIs refuse it
        self.note(self.cli.run("export", "--out", self.out / "merges.csv", *self.force))

    def index(self, kill_at: Optional[float] = None) -> Run:
        return self.cli.finish(self.cli.start("index", self.folder, "--workers", self.workers), kill_at=kill_at)

    def decisions_after(self, runs: list[Run]) -> dict:
        """The decisions as the product now shows them. After a crash the product may finish an interrupted step
        (replayed from its journal) when it next opens the catalogue, so first look the way a curator would, with
        `pairs`; the file alone could show the state before that recovery."""
        if not all(run.acknowledged for run in runs):
            self.note(self.cli.run("pairs", "--format", "json"))
        return real_decisions(self.db)

    def note(self, run: Run) -> None:
        if run.killed:
            self.kills[run.args[0]] += 1
        elif run.returncode != 0:
            self.failed.append(run)

    # -- rounds
    def round_index(self) -> list[Run]:
        give_work(self.fillers, self.rng.uniform(0.2, 1.0), self.rng)
        run = self.index(kill_at=self.rng.uniform(0.2, max(0.3, min(15.0, 1.1 * self.full_index_seconds))))
        if run.killed:
            self.phases[run.phase] += 1
        elif run.returncode != 0:
            self.index_ok = False  # an index run after earlier kills must still work
        self.model.settle(real_decisions(self.db), {})
        return [run]

    def round_decide(self) -> list[Run]:
        listed = json.loads(self.cli.run("pairs", "--format", "json").stdout or "[]")
        by_key = {tuple(sorted((p["sha256_a"], p["sha256_b"]))): p for p in listed}  # a byte-copy trio: one key
        picks = self.rng.sample(sorted(by_key), min(3, len(by_key)))
        if not picks:
            return []
        ops = []
        for key in picks:
            before = self.model.values.get(key)
            after = self.rng.choice(["merge", "keep"]) if before is None else {"merge": "keep", "keep": "merge"}[before]
            ops.append((key, before, after, by_key[key]))  # always a change: every decide is a step of the history
        victim, at_once = self.rng.randrange(len(ops)), self.rng.random() < 0.5
        kill_at = self.rng.uniform(0.0, KILL_WINDOW)
        args = [("decide", p["path_a"], p["path_b"], after) for _, _, after, p in ops]
        if at_once:
            started = [self.cli.start(*a) for a in args]
            runs = [None] * len(ops)
            for i in [victim] + [i for i in range(len(ops)) if i != victim]:  # the victim first: its moment is near
                runs[i] = self.cli.finish(started[i], kill_at=kill_at if i == victim else None, from_open=True)
            self.model.decided([Op(k, b, a, r) for (k, b, a, _), r in zip(ops, runs)], self.decisions_after(runs))
            return runs
        runs = []
        for i, (a, (key, before, after, _)) in enumerate(zip(args, ops)):
            run = self.cli.finish(self.cli.start(*a), kill_at=kill_at if i == victim else None, from_open=True)
            self.model.decided([Op(key, before, after, run)], self.decisions_after([run]))
            runs.append(run)
        return runs

    def round_undo(self) -> list[Run]:
        runs, victim = [], self.rng.randrange(2)
        for i in range(2):
            kill_at = self.rng.uniform(0.0, KILL_WINDOW) if i == victim else None
            run = self.cli.finish(self.cli.start("undo"), kill_at=kill_at, from_open=True)
            self.model.undid(run, self.decisions_after([run]))
            runs.append(run)
        return runs

    def round_export(self) -> list[Run]:
        out = self.out / self.rng.choice(["merges.csv", "merges.json"])
        run = self.cli.finish(self.cli.start("export", "--out", out, *self.force),
                              kill_at=self.rng.uniform(0.0, KILL_WINDOW), from_open=True)
        self.model.settle(real_decisions(self.db), {})
        return [run]

    def after_kill(self, killed: Run) -> None:
        if killed.descendants:
            time.sleep(max(0.0, killed.killed_at + ORPHAN_GRACE - time.monotonic()))
            alive = [p for p in killed.descendants if still_alive(p)]
            self.leftover_processes += len(alive)
            self.leftover_roles.update(role(p[0]) for p in alive)
            for proc in alive:  # counted; now end them (by pid, checked again) so they do not skew the next rounds
                if still_alive(proc):
                    os.kill(proc[0], signal.SIGKILL)
        if not integrity_ok(self.db):
            self.integrity_failures += 1
        # Nothing can tidy up after a SIGKILL but the next process: scratch counts as left over when it survives
        # the curator's next command on the catalogue.
        self.cli.run("errors", "--catalog", self.catalog)
        self.scratch |= scratch_left(self.catalog, self.out)

    def run(self, kills: int, kinds=KINDS) -> None:
        rounds, cycle = 0, []
        while sum(self.kills.values()) < kills and rounds < 20 * kills:
            if not cycle:
                cycle = self.rng.sample(list(kinds), len(kinds))
            kind = cycle.pop()
            rounds += 1
            for run in getattr(self, f"round_{kind}")():
                self.note(run)
                if run.killed:
                    self.after_kill(run)
                elif run.kill_planned:
                    self.finished_before_kill += 1
            self.log(f"round {rounds:3d} {kind:6s} kills {sum(self.kills.values()):3d}  lost {self.model.lost}  "
                     f"unexplained {self.model.unexplained}  integrity failures {self.integrity_failures}  "
                     f"leftover processes {self.leftover_processes}  scratch {len(self.scratch)}")

    def finish(self) -> None:
        final = self.index()
        self.note(final)
        self.index_ok = self.index_ok and final.returncode == 0
        self.model.settle(real_decisions(self.db), {})
        if not integrity_ok(self.db):
            self.integrity_failures += 1
        self.scratch |= scratch_left(self.catalog, self.out)


def run_benchmark(kills: int = 50, seed: int = 0, pictures: int = 200, workers: int = 2, kinds=KINDS,
                  log=lambda line: None) -> dict:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fashionsim-crash-") as tmp:
        bench = Benchmark(Path(tmp), pictures, seed, workers, log)
        bench.run(kills, kinds)
        bench.finish()
    model = bench.model
    return {
        "kills": sum(bench.kills.values()),
        "kills_by_kind": {kind: bench.kills[kind] for kind in kinds},
        "decisions_acknowledged": model.acknowledged,
        "decisions_lost": model.lost,
        "integrity_failures": bench.integrity_failures,
        "leftover_processes": bench.leftover_processes,
        "leftover_scratch": len(bench.scratch),
        "index_resumed_ok": bench.index_ok,
        "seconds": round(time.monotonic() - started, 1),
        # details behind the figures above
        "index_kills_by_phase": dict(bench.phases),
        "leftover_processes_by_role": dict(bench.leftover_roles),
        "killed_ops_that_took_effect": model.killed_but_done,
        "undos_acknowledged": model.undos_acknowledged,
        "leftover_scratch_by_type": dict(Counter(item[0] for item in bench.scratch)),
        "unexplained_changes": model.unexplained,
        "problems": model.problems,
        "commands_failed": [" ".join(map(str, r.args)) + f" -> exit {r.returncode}: {r.stderr.strip()[-300:]}"
                            for r in bench.failed],
        "finished_before_kill": bench.finished_before_kill,
    }


def failed(result: dict) -> bool:
    return bool(result["decisions_lost"] or result["integrity_failures"] or result["leftover_processes"]
                or result["leftover_scratch"] or not result["index_resumed_ok"] or result["unexplained_changes"]
                or result["commands_failed"] or result["problems"])


def print_table(result: dict) -> None:
    for name, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "-"
        elif isinstance(value, list):
            value = "; ".join(value) or "none"
        print(f"{name.replace('_', ' '):<26} {value}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="FashionSim crash benchmark (kills the real CLI)")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pictures", type=int, default=200, help="real packshots in the folder")
    parser.add_argument("--workers", type=int, default=2, help="--workers of the index runs")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args(argv)
    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.format == "table" else (lambda line: None)
    result = run_benchmark(args.kills, args.seed, args.pictures, args.workers, log=log)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {os.cpu_count()} cores; {args.kills} kills, seed {args.seed}, {args.pictures} pictures")
        print_table(result)
    return 1 if failed(result) else 0


if __name__ == "__main__":
    raise SystemExit(main())
