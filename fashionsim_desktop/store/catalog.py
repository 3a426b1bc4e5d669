"""The catalogue database: the only module that speaks SQL.

One SQLite file per indexed folder (WAL, synchronous=FULL so a committed decision survives a power cut).
Content-keyed design: `files` maps a relative path to its sha256; everything learned about a picture
(`images`, `verified`, `decisions`) is keyed by sha256, so renames, moves and rescans keep it.
"""
from __future__ import annotations

import errno
import getpass
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import sqlite_utils

from ..core.errors import CatalogError

SCHEMA_VERSION = 1
DB_NAME = "catalog.sqlite"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some sandboxes and services
        return "unknown"


def _friendly(exc: sqlite3.Error, path: Path) -> CatalogError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return CatalogError(f"The catalogue {path} is in use by another FashionSim window or command. "
                            "Close it, or wait for it to finish, and try again.")
    if "disk is full" in text or "database or disk is full" in text:
        return CatalogError(f"The disk holding the catalogue {path} is full. Free some space and try again; "
                            "everything saved so far is kept.")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return CatalogError(f"The catalogue {path} cannot be written (read-only folder or disk, or no permission). "
                            "Choose another catalogue folder with --catalog.")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return CatalogError(f"The catalogue {path} is damaged and cannot be read. Move it aside (or delete it) and "
                            "index the folder again; the pictures themselves are untouched.")
    return CatalogError(f"The catalogue {path} could not be used: {exc}")


def storage_error(exc: OSError, directory: Path) -> CatalogError:
    """A file-system error while writing catalogue files, as a sentence for the curator."""
    # Annoy reports a failed save as OSError without errno, with the C library's text.
    if exc.errno == errno.ENOSPC or "no space left" in str(exc).lower():
        return CatalogError(f"The disk holding the catalogue {directory} is full. Free some space and try again; "
                            "everything saved so far is kept.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) or "read-only file system" in str(exc).lower():
        return CatalogError(f"The catalogue folder {directory} cannot be written (read-only disk or no permission). "
                            "Choose another place with --catalog.")
    return CatalogError(f"The catalogue in {directory} could not be written: {exc.strerror or exc}")


@dataclass
class FileRow:
    path: str
    path_raw: bytes
    sha256: Optional[str]
    size: int
    mtime_ns: int
    status: str
    error: Optional[str]
    first_seen: Optional[float]


class Catalog:
    """Open (creating or migrating) the catalogue in `directory`. Use as a context manager or call close()."""

    def __init__(self, directory: Path, root: Optional[Path] = None):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"The catalogue folder {self.directory} cannot be created: {exc.strerror or exc}. "
                               "Choose another place with --catalog.") from exc
        if not os.access(self.directory, os.W_OK):
            raise CatalogError(f"The catalogue folder {self.directory} cannot be written (read-only disk or no "
                               "permission). Choose another place with --catalog.")
        try:
            conn = sqlite3.connect(str(self.path), timeout=5.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self.db = sqlite_utils.Database(conn)
            self._migrate()
            if root is not None:
                self.set_meta("root", str(Path(root).resolve()))
        except sqlite3.Error as exc:
            raise _friendly(exc, self.path) from exc

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, fn, *args):
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise _friendly(exc, self.path) from exc

    def transaction(self):
        return _Transaction(self)

    # -- schema ----------------------------------------------------------------------------------
    def _migrate(self) -> None:
        conn = self.db.conn
        result = conn.execute("PRAGMA quick_check").fetchone()
        if result and result[0] != "ok":
            raise sqlite3.DatabaseError("database disk image is malformed")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(f"The catalogue {self.path} was made by a newer FashionSim; update the app.")
        if version < 1:
            with self.transaction():
                self._schema_v1()
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _schema_v1(self) -> None:
        db = self.db
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["files"].create({
            "path": str, "path_raw": bytes, "sha256": str, "size": int, "mtime_ns": int,
            "status": str, "error": str, "first_seen": float, "last_seen": float,
        }, pk="path")
        db["files"].create_index(["sha256", "status"])  # per-picture lookups; status alone is not selective
        db["files"].create_index(["status"])
        db["images"].create({
            "sha256": str, "width": int, "height": int, "format": str,
            "phash": str, "dhash": str, "whash": str, "colorhash": str,
            "embedding": bytes, "model_id": str,
        }, pk="sha256")
        db["verified"].create({
            "sha_a": str, "sha_b": str, "verifier": str, "cosine": float, "score": float, "evidence": str,
        }, pk=("sha_a", "sha_b"))
        db["verified"].create_index(["score"])
        db["decisions"].create({
            "sha_a": str, "sha_b": str, "decision": str, "decided_by": str, "decided_at": float,
        }, pk=("sha_a", "sha_b"))
        db["decision_log"].create({
            "id": int, "batch": int, "sha_a": str, "sha_b": str, "before": str, "after": str, "at": float,
            "by": str, "undone": int,
        }, pk="id")
        db["keepers"].create({"sha256": str, "chosen_at": float, "chosen_by": str}, pk="sha256")

    # -- meta ------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        row = self._run(lambda: self.db.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone())
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._run(lambda: self.db["meta"].upsert({"key": key, "value": value}, pk="key"))

    # -- files -----------------------------------------------------------------------------------
    def files_by_path(self) -> dict[str, FileRow]:
        rows = self._run(lambda: self.db.execute(
            "SELECT path, path_raw, sha256, size, mtime_ns, status, error, first_seen FROM files").fetchall())
        return {r[0]: FileRow(*r) for r in rows}

    def upsert_files(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if rows:
            self._run(lambda: self.db["files"].upsert_all(rows, pk="path", alter=False))

    def mark_missing(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        with self.transaction():
            for path in paths:
                self.db.execute("UPDATE files SET status='missing' WHERE path=?", [path])

    def file_errors(self) -> list[tuple[str, str]]:
        return self._run(lambda: self.db.execute(
            "SELECT path, error FROM files WHERE status='error' ORDER BY path").fetchall())

    def present_files(self) -> list[dict]:
        """Indexed files that are on disk now, with their picture's facts."""
        sql = ("SELECT f.path, f.path_raw, f.sha256, f.size, f.mtime_ns, i.width, i.height, i.format "
               "FROM files f JOIN images i ON i.sha256=f.sha256 WHERE f.status='ok' ORDER BY f.path")
        cols = ("path", "path_raw", "sha256", "size", "mtime_ns", "width", "height", "format")
        return [dict(zip(cols, r)) for r in self._run(lambda: self.db.execute(sql).fetchall())]

    def counts(self) -> dict[str, int]:
        rows = self._run(lambda: self.db.execute("SELECT status, count(*) FROM files GROUP BY status").fetchall())
        return dict(rows)

    def paths_needing_features(self, model_id: str) -> list[tuple[str, bytes]]:
        """One readable path per sha256 whose picture has no features from this model yet."""
        sql = ("SELECT f.sha256, min(f.path_raw) FROM files f LEFT JOIN images i ON i.sha256=f.sha256 "
               "WHERE f.status='pending' AND f.sha256 IS NOT NULL "
               "AND (i.sha256 IS NULL OR i.model_id IS NOT ?) GROUP BY f.sha256")
        return self._run(lambda: self.db.execute(sql, [model_id]).fetchall())

    def settle_pending(self, model_id: str) -> None:
        """Files whose picture already has features from this model are done."""
        sql = ("UPDATE files SET status='ok', error=NULL WHERE status='pending' AND sha256 IN "
               "(SELECT sha256 FROM images WHERE model_id=?)")
        self._run(lambda: self.db.execute(sql, [model_id]))

    def save_features(self, rows: list[dict], errors: list[tuple[str, str]]) -> None:
        """One finished chunk of the feature phase, in one transaction: the pictures' rows, their files marked
        done, and a reason for each picture that could not be decoded.

        Files are looked up by sha256, so a chunk costs the same in a catalogue of any size (settle_pending
        reads every picture's row, which made a whole run quadratic when it ran per chunk)."""
        settle = "UPDATE files SET status='ok', error=NULL WHERE sha256=? AND status='pending'"
        with self.transaction():
            self.upsert_images(rows)
            self._run(lambda: self.db.conn.executemany(settle, [(row["sha256"],) for row in rows]))
            for sha, reason in errors:
                self.record_decode_error(sha, reason)

    def mark_stale_models(self, model_id: str) -> int:
        """Files whose picture was embedded by another model go back to pending (re-embedded, never mixed)."""
        sql = ("UPDATE files SET status='pending' WHERE status='ok' AND sha256 IN "
               "(SELECT sha256 FROM images WHERE model_id IS NOT ?)")
        return self._run(lambda: self.db.execute(sql, [model_id])).rowcount

    def record_decode_error(self, sha256: str, reason: str) -> None:
        self._run(lambda: self.db.execute(
            "UPDATE files SET status='error', error=? WHERE sha256=? AND status='pending'", [reason, sha256]))

    # -- images ----------------------------------------------------------------------------------
    def upsert_images(self, rows: list[dict]) -> None:
        if rows:
            self._run(lambda: self.db["images"].upsert_all(rows, pk="sha256", alter=False))

    def embeddings(self, model_id: str) -> tuple[list[str], np.ndarray]:
        """(sha256 list, float32 matrix) of every present picture embedded by this model.

        Streams rows into one preallocated matrix: peak memory is the matrix itself, not twice it.
        """
        where = ("FROM images i WHERE i.model_id=? AND EXISTS "
                 "(SELECT 1 FROM files f WHERE f.sha256=i.sha256 AND f.status='ok')")
        count = self._run(lambda: self.db.execute(f"SELECT count(*) {where}", [model_id]).fetchone()[0])
        if not count:
            return [], np.zeros((0, 0), np.float32)
        shas: list[str] = []
        matrix: Optional[np.ndarray] = None
        cursor = self._run(lambda: self.db.execute(f"SELECT i.sha256, i.embedding {where} ORDER BY i.sha256",
                                                   [model_id]))
        for row, (sha, blob) in enumerate(cursor):
            vector = np.frombuffer(blob, dtype=np.float32)
            if matrix is None:
                matrix = np.empty((count, vector.shape[0]), np.float32)
            if row >= count:
                break  # rows added since the count (another writer): picked up next time
            matrix[row] = vector
            shas.append(sha)
        return shas, matrix[:len(shas)]

    def image_facts(self, shas: Iterable[str]) -> dict[str, dict]:
        out = {}
        shas = list(shas)
        for start in range(0, len(shas), 500):
            chunk = shas[start:start + 500]
            # whash and colorhash stay in the schema for old catalogues but are no longer computed or shown.
            sql = (f"SELECT sha256, width, height, format, phash, dhash FROM images "
                   f"WHERE sha256 IN ({','.join('?' * len(chunk))})")
            for r in self._run(lambda: self.db.execute(sql, chunk).fetchall()):
                out[r[0]] = dict(zip(("sha256", "width", "height", "format", "phash", "dhash"), r))
        return out

    def one_path_per_sha(self) -> dict[str, bytes]:
        sql = "SELECT sha256, min(path_raw) FROM files WHERE status='ok' GROUP BY sha256"
        return dict(self._run(lambda: self.db.execute(sql).fetchall()))

    # -- verified pairs --------------------------------------------------------------------------
    def verified_keys(self, verifier: str) -> set[tuple[str, str]]:
        rows = self._run(lambda: self.db.execute(
            "SELECT sha_a, sha_b FROM verified WHERE verifier=?", [verifier]).fetchall())
        return {(a, b) for a, b in rows}

    def save_verified(self, rows: list[dict]) -> None:
        if rows:
            self._run(lambda: self.db["verified"].upsert_all(rows, pk=("sha_a", "sha_b"), alter=False))

    def near_pairs(self, min_score: float, verifier: str) -> list[dict]:
        """Verified pairs at or above min_score whose both pictures are present."""
        sql = ("SELECT v.sha_a, v.sha_b, v.cosine, v.score, v.evidence FROM verified v WHERE v.verifier=? "
               "AND v.score>=? AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=v.sha_a AND f.status='ok') "
               "AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=v.sha_b AND f.status='ok') ORDER BY v.score DESC")
        rows = self._run(lambda: self.db.execute(sql, [verifier, min_score]).fetchall())
        return [{"sha_a": a, "sha_b": b, "cosine": c, "score": s, "evidence": json.loads(e)} for a, b, c, s, e in rows]

    def exact_groups(self) -> dict[str, list[str]]:
        sql = ("SELECT sha256, path FROM files WHERE status='ok' AND sha256 IN "
               "(SELECT sha256 FROM files WHERE status='ok' GROUP BY sha256 HAVING count(*)>1) ORDER BY sha256, path")
        groups: dict[str, list[str]] = {}
        for sha, path in self._run(lambda: self.db.execute(sql).fetchall()):
            groups.setdefault(sha, []).append(path)
        return groups

    def sha_of_path(self, path: str) -> Optional[str]:
        row = self._run(lambda: self.db.execute(
            "SELECT sha256 FROM files WHERE path=? AND status='ok'", [path]).fetchone())
        return row[0] if row else None

    # -- decisions -------------------------------------------------------------------------------
    def decisions(self) -> dict[tuple[str, str], dict]:
        rows = self._run(lambda: self.db.execute(
            "SELECT sha_a, sha_b, decision, decided_by, decided_at FROM decisions").fetchall())
        return {(a, b): {"decision": d, "by": by, "at": at} for a, b, d, by, at in rows}

    def decide(self, sha_a: str, sha_b: str, decision: Optional[str]) -> None:
        """Record (or with None, clear) a decision at once, with a history entry for undo."""
        self.decide_many([(sha_a, sha_b, decision)])

    def decide_many(self, items: Iterable[tuple[str, str, Optional[str]]]) -> None:
        """Several decisions in one transaction and one undo step (e.g. "merge whole group")."""
        now, user = time.time(), _user()
        with self.transaction():
            batch = (self.db.execute("SELECT max(batch) FROM decision_log").fetchone()[0] or 0) + 1
            for sha_a, sha_b, decision in items:
                a, b = sorted((sha_a, sha_b))
                row = self.db.execute("SELECT decision FROM decisions WHERE sha_a=? AND sha_b=?", [a, b]).fetchone()
                before = row[0] if row else None
                if before == decision:
                    continue
                if decision is None:
                    self.db.execute("DELETE FROM decisions WHERE sha_a=? AND sha_b=?", [a, b])
                else:
                    self.db.execute("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?)",
                                    [a, b, decision, user, now])
                self.db.execute("INSERT INTO decision_log (batch, sha_a, sha_b, before, after, at, by, undone) "
                                "VALUES (?,?,?,?,?,?,?,0)", [batch, a, b, before, decision, now, user])

    def undo(self) -> list[dict]:
        """Reverse the newest step not yet undone (one decision, or one bulk action); returns what changed."""
        undone = []
        with self.transaction():
            row = self.db.execute("SELECT batch FROM decision_log WHERE undone=0 ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return []
            entries = self.db.execute("SELECT id, sha_a, sha_b, before, after FROM decision_log "
                                      "WHERE batch=? AND undone=0 ORDER BY id DESC", [row[0]]).fetchall()
            for log_id, a, b, before, after in entries:
                if before is None:
                    self.db.execute("DELETE FROM decisions WHERE sha_a=? AND sha_b=?", [a, b])
                else:
                    self.db.execute("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?)",
                                    [a, b, before, _user(), time.time()])
                self.db.execute("UPDATE decision_log SET undone=1 WHERE id=?", [log_id])
                undone.append({"sha_a": a, "sha_b": b, "undone": after, "restored": before})
        return undone

    def set_keeper(self, sha256: str) -> None:
        self._run(lambda: self.db["keepers"].upsert(
            {"sha256": sha256, "chosen_at": time.time(), "chosen_by": _user()}, pk="sha256"))

    def keepers(self) -> dict[str, float]:
        return dict(self._run(lambda: self.db.execute("SELECT sha256, chosen_at FROM keepers").fetchall()))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error, with friendly SQLite errors."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    def __enter__(self):
        try:
            self.catalog.db.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _friendly(exc, self.catalog.path) from exc
        return self

    def __exit__(self, exc_type, exc, tb):
        conn = self.catalog.db.conn
        if exc_type is None:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as error:
                if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
                    conn.execute("ROLLBACK")
                raise _friendly(error, self.catalog.path) from error
            return False
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _friendly(exc, self.catalog.path) from exc
        return False


def raw_to_path(root: Path, raw: bytes) -> str:
    """Absolute file-system path from the catalogue root and a stored raw (bytes) relative path."""
    return os.path.join(os.fspath(root), os.fsdecode(raw))
