"""The catalogue database: the only module that speaks SQL.

One SQLite file per indexed folder (WAL, synchronous=FULL so a committed decision survives a power cut).
Content-keyed design: `files` maps a relative path (its raw bytes are the identity) to its sha256; everything
learned about a picture (`images`, `verified`, `decisions`, `products`) is keyed by sha256, so renames, moves and rescans
keep it. Every decision step also goes to the append-only decision journal (store/journal.py), from which
decisions the database lost are applied again.

A file that is not a valid catalogue (0 bytes, another kind of file, a damaged database) is reported as
damaged, never taken for a new one: a new catalogue is built under another name and renamed into place.
"""
from __future__ import annotations

import errno
import getpass
import json
import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import sqlite_utils

from ..core.errors import CatalogError
from ..core.products import ProductInfo, match_waiting
from .journal import DecisionJournal
from . import vector_codec
from .similarity import SimilarityStore

SCHEMA_VERSION = 6
DB_NAME = "catalog.sqlite"
SQLITE_HEADER = b"SQLite format 3\x00"
SESSIONS_DIR = "open-sessions"  # one marker per open connection; a marker of a dead process = unclean shutdown
CLI_ORIGIN = "cli"  # `fashionsim undo` undoes this user's own last step made from the command line


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
    if "disk is full" in text or "database or disk is full" in text or ("disk i/o error" in text and _nearly_full(path)):
        return CatalogError(f"The disk holding the catalogue {path} is full. Free some space and try again; "
                            "everything saved so far is kept.")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return CatalogError(f"The catalogue {path} cannot be written (read-only folder or disk, or no permission). "
                            "Choose another catalogue folder with --catalog.")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return damaged_error(path, "the database is damaged")
    return CatalogError(f"The catalogue {path} could not be used: {exc}")


def _nearly_full(path: Path) -> bool:
    """SQLite says "disk I/O error" when it cannot even grow its shared-memory file on a full disk."""
    import shutil

    try:
        return shutil.disk_usage(Path(path).parent).free < 1 << 20
    except OSError:
        return False


def damaged_error(path: Path, reason: str) -> CatalogError:
    return CatalogError(f"The catalogue {path} is damaged ({reason}). Your decisions are kept in its journal: run "
                        f"`fashionsim restore --catalog {Path(path).parent}` to rebuild them, then index the folder "
                        "again. The pictures themselves are untouched.")


def window_origin() -> str:
    """A name for this process's decisions, unique among processes: its undo touches only its own steps."""
    return f"window:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


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


class Catalog(SimilarityStore):
    """Open (creating or migrating) the catalogue in `directory`. Use as a context manager or call close().

    `origin` names who makes the decisions through this connection (CLI_ORIGIN, or window_origin() for a
    window); undo only ever takes back steps of the same origin and user. `create=False` refuses to make a new
    catalogue where there is none.
    """

    def __init__(self, directory: Path, root: Optional[Path] = None, origin: str = CLI_ORIGIN,
                 create: bool = True):
        self.directory = Path(directory).absolute()
        self.path = self.directory / DB_NAME
        self.origin = origin
        self.journal = DecisionJournal(self.directory)
        self.warnings: list[str] = []  # things the curator should hear about, said once by the CLI or window
        self.recovered_steps = 0  # journal steps applied again at open because the database had lost them
        self.undo_left_alone = 0  # pairs the last undo did not touch: someone else decided them since
        self.undone_keepers: list[str] = []  # pictures whose keeper choice the last undo took back
        self._marker: Optional[Path] = None
        if not self.path.exists() and not create:
            raise CatalogError(f"There is no catalogue in {self.directory}. Index the folder first: "
                               "fashionsim index FOLDER")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(f"The catalogue folder {self.directory} cannot be created: {exc.strerror or exc}. "
                               "Choose another place with --catalog.") from exc
        if not os.access(self.directory, os.W_OK):
            raise CatalogError(f"The catalogue folder {self.directory} cannot be written (read-only disk or no "
                               "permission). Choose another place with --catalog.")
        try:
            if not self.path.exists():
                self._create_new()
            self._check_header()
            unclean = self._sessions_left_open()
            conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._check(full=unclean)
            self._migrate()
            self._mark_open()
            if root is not None and self.get_meta("root") != str(Path(root).resolve()):
                self.set_meta("root", str(Path(root).resolve()))  # written only when new: others poll changes
            self._sync_journal()
        except sqlite3.Error as exc:
            self._close_quietly()
            raise _friendly(exc, self.path) from exc
        except OSError as exc:
            self._close_quietly()
            raise storage_error(exc, self.directory) from exc
        except CatalogError:
            self._close_quietly()
            raise

    def _create_new(self) -> None:
        """Build an empty catalogue under a temporary name and rename it into place: a crash while creating
        leaves no half-made file that a later open could take for a catalogue."""
        tmp = self.directory / f".{DB_NAME}.{os.getpid()}.new"
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            self.db = sqlite_utils.Database(conn)
            conn.execute("BEGIN")
            self._schema_v1()
            self._upgrade_to_v2()
            self._upgrade_to_v3()
            self._upgrade_to_v4()
            self._upgrade_to_v5()
            self._upgrade_to_v6()
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        finally:
            conn.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, self.path)  # never replaces a catalogue another process created meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)

    def _check_header(self) -> None:
        """An empty file is damage, never a new catalogue (SQLite itself would take it for an empty database).

        Only stat: opening and closing the database file with anything but SQLite would drop the locks this
        process's other connections hold on it (POSIX advisory locks belong to the process)."""
        if self.path.stat().st_size == 0:
            raise damaged_error(self.path, "the file is empty (0 bytes)")

    def _check(self, full: bool) -> None:
        """quick_check on every open; the full integrity_check after an unclean shutdown."""
        problems = self.integrity_problems(full)
        if problems:
            raise damaged_error(self.path, problems[0])

    def integrity_problems(self, full: bool = True) -> list[str]:
        pragma = "integrity_check" if full else "quick_check"
        rows = [r[0] for r in self.db.conn.execute(f"PRAGMA {pragma}").fetchall()]
        return [] if rows == ["ok"] else rows

    # -- unclean shutdown ------------------------------------------------------------------------
    def _sessions_left_open(self) -> bool:
        """True when a process that had this catalogue open ended without closing it (killed, power cut)."""
        folder = self.directory / SESSIONS_DIR
        unclean = False
        try:
            markers = list(folder.iterdir())
        except FileNotFoundError:
            return False
        for marker in markers:
            pid, _, rest = marker.name.partition("@")
            host = rest.rpartition("@")[0]
            if host != socket.gethostname() or (pid.isdigit() and _pid_alive(int(pid))):
                continue  # open in a live process (or on another machine: not ours to judge)
            unclean = True
            marker.unlink(missing_ok=True)
        return unclean

    def _mark_open(self) -> None:
        folder = self.directory / SESSIONS_DIR
        folder.mkdir(exist_ok=True)
        self._marker = folder / f"{os.getpid()}@{socket.gethostname()}@{uuid.uuid4().hex[:8]}"
        self._marker.touch()

    def _close_quietly(self) -> None:
        db = getattr(self, "db", None)
        if db is not None:
            try:
                db.conn.close()
            except sqlite3.Error:
                pass

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        self.db.conn.close()
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
            self._marker = None

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
        """One step per schema change, each in its own transaction, after a copy of the catalogue as it was."""
        conn = self.db.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogError(f"The catalogue {self.path} was made by a newer FashionSim; update the app.")
        if version < 1 or "meta" not in self.db.table_names():
            # New catalogues are created whole (_create_new), so an empty or foreign database is damage.
            raise damaged_error(self.path, "the file is not a FashionSim catalogue")
        if version == SCHEMA_VERSION:
            return
        backup = self.directory / f"{DB_NAME}.v{version}-backup"
        if not backup.exists():
            conn.execute("VACUUM INTO ?", [str(backup)])
        if version < 2:
            with self.transaction():
                self._upgrade_to_v2()
                conn.execute("PRAGMA user_version=2")
        if version < 3:
            with self.transaction():
                self._upgrade_to_v3()
                conn.execute("PRAGMA user_version=3")
        if version < 4:
            with self.transaction():
                self._upgrade_to_v4()
                conn.execute("PRAGMA user_version=4")
        if version < 5:
            with self.transaction():
                self._upgrade_to_v5()  # store/similarity.py: product vectors and pair tiers
                conn.execute("PRAGMA user_version=5")
        if version < 6:
            with self.transaction():
                self._upgrade_to_v6()
                conn.execute("PRAGMA user_version=6")

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

    def _upgrade_to_v6(self) -> None:
        """Embeddings written from now on take 8 bits a value (store/vector_codec.py); older rows keep float32
        (NULL)."""
        if "embedding_format" not in self.db["images"].columns_dict:
            self.db.execute("ALTER TABLE images ADD COLUMN embedding_format TEXT")

    def _upgrade_to_v2(self) -> None:
        """Files are identified by their raw path bytes (two names that display alike never collide); the
        keeper may be one file among byte copies; the decision history keeps who decided before an undo."""
        db = self.db
        db.execute("CREATE TABLE files_v2 (path_raw BLOB PRIMARY KEY, path TEXT, sha256 TEXT, size INTEGER, "
                   "mtime_ns INTEGER, status TEXT, error TEXT, first_seen FLOAT, last_seen FLOAT)")
        db.execute("INSERT OR REPLACE INTO files_v2 SELECT coalesce(path_raw, CAST(path AS BLOB)), path, sha256, "
                   "size, mtime_ns, status, error, first_seen, last_seen FROM files")
        db.execute("DROP TABLE files")
        db.execute("ALTER TABLE files_v2 RENAME TO files")
        db.execute("CREATE INDEX idx_files_sha256_status ON files (sha256, status)")
        db.execute("CREATE INDEX idx_files_status ON files (status)")
        db.execute("CREATE INDEX idx_files_path ON files (path)")
        db.execute("ALTER TABLE keepers ADD COLUMN path_raw BLOB")
        for column in ("origin TEXT", "before_by TEXT", "before_at FLOAT", "undone_at FLOAT", "undone_by TEXT"):
            db.execute(f"ALTER TABLE decision_log ADD COLUMN {column}")
        db.execute("UPDATE decision_log SET origin=?", [CLI_ORIGIN])

    def _upgrade_to_v3(self) -> None:
        """Product data from the catalogue system, keyed by picture content (renames keep it); one photo may
        belong to several products. Rows whose picture is not indexed yet wait under their image key."""
        # WITHOUT ROWID: rows are stored once, in key order (a picture's products are one range); no other index,
        # so a new catalogue grows by two pages only. Lookups by product id (export of shared photos) scan.
        columns = "sku TEXT, product_group TEXT, colour TEXT, category TEXT, name TEXT, source TEXT"
        self.db.execute(f"CREATE TABLE products (sha256 TEXT NOT NULL, product_id TEXT NOT NULL, {columns}, "
                        "image_key TEXT, PRIMARY KEY (sha256, product_id)) WITHOUT ROWID")
        self.db.execute(f"CREATE TABLE products_waiting (image_key TEXT NOT NULL, product_id TEXT NOT NULL, "
                        f"{columns}, PRIMARY KEY (image_key, product_id)) WITHOUT ROWID")

    def _upgrade_to_v4(self) -> None:
        """Keeper choices are curator steps like decisions: logged (kind 'keeper', sha_b empty, before/after the
        keeper rows as JSON), undoable, and several of them one step (the keeper policy applied to every group)."""
        self.db.execute("ALTER TABLE decision_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'decision'")

    # -- meta ------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        row = self._run(lambda: self.db.execute("SELECT value FROM meta WHERE key=?", [key]).fetchone())
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._run(lambda: self.db["meta"].upsert({"key": key, "value": value}, pk="key"))

    # -- files -----------------------------------------------------------------------------------
    def files_by_raw_path(self) -> dict[bytes, FileRow]:
        """Every known file, keyed by its identity: the raw bytes of its relative path."""
        rows = self._run(lambda: self.db.execute(
            "SELECT path, path_raw, sha256, size, mtime_ns, status, error, first_seen FROM files").fetchall())
        return {r[1]: FileRow(*r) for r in rows}

    def upsert_files(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if rows:
            self._run(lambda: self.db["files"].upsert_all(rows, pk="path_raw", alter=False))

    def mark_missing(self, raw_paths: Iterable[bytes]) -> None:
        raw_paths = list(raw_paths)
        with self.transaction():
            for raw in raw_paths:
                self.db.execute("UPDATE files SET status='missing' WHERE path_raw=?", [raw])

    def update_file_states(self, rows: Iterable[dict]) -> None:
        """Set sha256, status and error of files (keyed by path_raw) in one transaction."""
        with self.transaction():
            self.db.conn.executemany("UPDATE files SET sha256=:sha256, status=:status, error=:error "
                                     "WHERE path_raw=:path_raw", list(rows))

    def mark_changed(self, raw_paths: Iterable[bytes]) -> None:
        """Files whose bytes changed while they were being indexed: read again (checksum first) next run."""
        with self.transaction():
            self.db.conn.executemany("UPDATE files SET status='new', sha256=NULL, error=NULL WHERE path_raw=?",
                                     [(raw,) for raw in raw_paths])

    def file_errors(self) -> list[tuple[str, str]]:
        return self._run(lambda: self.db.execute(
            "SELECT path, error FROM files WHERE status='error' ORDER BY path").fetchall())

    def present_files(self) -> list[dict]:
        """Indexed files that are on disk now, with their picture's facts."""
        sql = ("SELECT f.path, f.path_raw, f.sha256, f.size, f.mtime_ns, i.width, i.height, i.format "
               "FROM files f JOIN images i ON i.sha256=f.sha256 WHERE f.status='ok' ORDER BY f.path, f.path_raw")
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

    def save_features(self, rows: list[dict], errors: list[tuple[str, str]], changed: Iterable[bytes] = ()) -> None:
        """One finished chunk of the feature phase, in one transaction: the pictures' rows, their files marked
        done, a reason for each picture that could not be decoded, and the files that changed while being read.

        Files are looked up by sha256, so a chunk costs the same in a catalogue of any size (settle_pending
        reads every picture's row, which made a whole run quadratic when it ran per chunk)."""
        settle = "UPDATE files SET status='ok', error=NULL WHERE sha256=? AND status='pending'"
        with self.transaction():
            self.upsert_images(rows)
            self._run(lambda: self.db.conn.executemany(settle, [(row["sha256"],) for row in rows]))
            for sha, reason in errors:
                self.record_decode_error(sha, reason)
            self.db.conn.executemany("UPDATE files SET status='new', sha256=NULL, error=NULL WHERE path_raw=?",
                                     [(raw,) for raw in changed])

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
        cursor = self._run(lambda: self.db.execute(
            f"SELECT i.sha256, i.embedding, i.embedding_format {where} ORDER BY i.sha256", [model_id]))
        for row, (sha, blob, fmt) in enumerate(cursor):
            vector = vector_codec.decode(blob, fmt)
            if matrix is None:
                matrix = np.empty((count, vector.shape[0]), np.float32)
            if row >= count:
                break  # rows added since the count (another writer): picked up next time
            matrix[row] = vector
            shas.append(sha)
        return shas, matrix[:len(shas)]

    def embedded_shas(self, model_id: str) -> list[str]:
        """The sha256 of every present picture embedded by this model, in the order `embeddings` gives them."""
        sql = ("SELECT i.sha256 FROM images i WHERE i.model_id=? AND EXISTS "
               "(SELECT 1 FROM files f WHERE f.sha256=i.sha256 AND f.status='ok') ORDER BY i.sha256")
        return [sha for (sha,) in self._run(lambda: self.db.execute(sql, [model_id]).fetchall())]

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
        """Verified pairs at or above min_score whose both pictures are present, with their stored tier and product
        cosine (None where the tier phase has not run yet).

        Evidence that does not parse (a damaged row) is left out with a warning; the pair and score stay."""
        sql = ("SELECT v.sha_a, v.sha_b, v.cosine, v.score, v.evidence, t.tier, t.product_cosine FROM verified v "
               "LEFT JOIN pair_tiers t ON t.sha_a=v.sha_a AND t.sha_b=v.sha_b WHERE v.verifier=? "
               "AND v.score>=? AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=v.sha_a AND f.status='ok') "
               "AND EXISTS (SELECT 1 FROM files f WHERE f.sha256=v.sha_b AND f.status='ok') ORDER BY v.score DESC")
        rows = self._run(lambda: self.db.execute(sql, [verifier, min_score]).fetchall())
        pairs, unreadable = [], 0
        for a, b, c, s, e, tier, product_cosine in rows:
            evidence = _parse_evidence(e)
            if evidence is None:
                unreadable += 1
                evidence = {}
            pairs.append({"sha_a": a, "sha_b": b, "cosine": c, "score": s, "evidence": evidence, "tier": tier,
                          "product_cosine": product_cosine})
        if unreadable:
            self.warn(f"The evidence of {unreadable} pair{'s' * (unreadable != 1)} could not be read and is left "
                      "out (the pairs are still listed). `fashionsim doctor` checks the catalogue.")
        return pairs

    def unreadable_evidence_count(self) -> int:
        rows = self._run(lambda: self.db.execute("SELECT evidence FROM verified").fetchall())
        return sum(1 for (e,) in rows if _parse_evidence(e) is None)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def exact_groups(self) -> dict[str, list[tuple[str, bytes]]]:
        """sha256 -> [(display path, raw path)] of every content present as more than one file."""
        sql = ("SELECT sha256, path, path_raw FROM files WHERE status='ok' AND sha256 IN "
               "(SELECT sha256 FROM files WHERE status='ok' GROUP BY sha256 HAVING count(*)>1) "
               "ORDER BY sha256, path, path_raw")
        groups: dict[str, list[tuple[str, bytes]]] = {}
        for sha, path, raw in self._run(lambda: self.db.execute(sql).fetchall()):
            groups.setdefault(sha, []).append((path, raw))
        return groups

    def has_file(self, path_raw: bytes) -> bool:
        """Whether this relative raw path is a file of the catalogue (in any state)."""
        row = self._run(lambda: self.db.execute("SELECT 1 FROM files WHERE path_raw=?", [path_raw]).fetchone())
        return row is not None

    def present_file(self, path_raw: bytes) -> Optional[dict]:
        """The indexed, present file with this raw relative path: {path, path_raw, sha256}."""
        row = self._run(lambda: self.db.execute(
            "SELECT path, path_raw, sha256 FROM files WHERE path_raw=? AND status='ok'", [path_raw]).fetchone())
        return dict(zip(("path", "path_raw", "sha256"), row)) if row else None

    def paths_of_sha(self, sha256: str) -> list[bytes]:
        """Raw paths of the present files with this content."""
        return [r[0] for r in self._run(lambda: self.db.execute(
            "SELECT path_raw FROM files WHERE sha256=? AND status='ok'", [sha256]).fetchall())]

    def present_files_shown_as(self, path: str) -> list[dict]:
        """Indexed, present files whose display text is `path` (more than one when names display alike)."""
        rows = self._run(lambda: self.db.execute(
            "SELECT path, path_raw, sha256 FROM files WHERE path=? AND status='ok'", [path]).fetchall())
        return [dict(zip(("path", "path_raw", "sha256"), r)) for r in rows]

    # -- products (core/products.py reads the catalogue system's file and matches image keys) -------------------
    _PRODUCT_VALUES = ("sku", "product_group", "colour", "category", "name", "source")
    _PRODUCT_ROW = "sha256, product_id, sku, product_group, colour, category, name, image_key, source"  # ProductInfo

    def save_products(self, matched: list[dict], waiting: list[dict]) -> None:
        """Product records in one transaction: `matched` onto their pictures (sha256), `waiting` under their image
        key. A value known before is kept where the new record's cell is empty."""
        keep = ", ".join(f"{c}=coalesce(excluded.{c}, {c})" for c in self._PRODUCT_VALUES)
        values = ", ".join(f":{c}" for c in self._PRODUCT_VALUES)
        with self.transaction():
            self.db.conn.executemany(
                f"INSERT INTO products (sha256, product_id, image_key, {', '.join(self._PRODUCT_VALUES)}) "
                f"VALUES (:sha256, :product_id, :image_key, {values}) "
                f"ON CONFLICT (sha256, product_id) DO UPDATE SET image_key=excluded.image_key, {keep}", matched)
            self.db.conn.executemany("DELETE FROM products_waiting WHERE image_key=? AND product_id=?",
                                     [(r["image_key"], r["product_id"]) for r in matched])
            self.db.conn.executemany(
                f"INSERT INTO products_waiting (image_key, product_id, {', '.join(self._PRODUCT_VALUES)}) "
                f"VALUES (:image_key, :product_id, {values}) "
                f"ON CONFLICT (image_key, product_id) DO UPDATE SET {keep}", waiting)

    def match_waiting_products(self) -> int:
        """Attach waiting product rows whose image key names a file indexed since (end of every index run);
        returns how many (picture, product) rows were attached. One query when nothing waits."""
        cols = ("image_key", "product_id") + self._PRODUCT_VALUES
        waiting = self._run(lambda: self.db.execute(f"SELECT {', '.join(cols)} FROM products_waiting").fetchall())
        if not waiting:
            return 0
        matched = match_waiting([dict(zip(cols, r)) for r in waiting], self.present_file_keys())
        if matched:
            self.save_products(matched, [])
        return len(matched)

    def present_file_keys(self) -> list[tuple[str, str]]:
        """(relative path as text, sha256) of every indexed file on disk: what image keys are matched against
        (a key in a text file can only name a path that is text)."""
        return self._run(lambda: self.db.execute("SELECT path, sha256 FROM files WHERE status='ok'").fetchall())

    def files_of_shas(self, shas: Iterable[str]) -> dict[str, list[bytes]]:
        """sha256 -> raw relative paths of the present files with that content."""
        out: dict[str, list[bytes]] = {}
        for chunk in _chunks(shas):
            sql = (f"SELECT sha256, path_raw FROM files WHERE status='ok' AND sha256 IN ({','.join('?' * len(chunk))}) "
                   "ORDER BY path_raw")
            for sha, raw in self._run(lambda: self.db.execute(sql, chunk).fetchall()):
                out.setdefault(sha, []).append(raw)
        return out

    def products_of(self, shas: Iterable[str]) -> dict[str, list[ProductInfo]]:
        """sha256 -> the products that picture belongs to (by product id)."""
        return self._products_where("sha256", shas)

    def products_with_ids(self, product_ids: Iterable[str]) -> list[ProductInfo]:
        """Every picture's row of these products."""
        return [i for infos in self._products_where("product_id", product_ids).values() for i in infos]

    def _products_where(self, column: str, values: Iterable[str]) -> dict[str, list[ProductInfo]]:
        out: dict[str, list[ProductInfo]] = {}
        for chunk in _chunks(values):
            sql = (f"SELECT {self._PRODUCT_ROW} FROM products WHERE {column} IN ({','.join('?' * len(chunk))}) "
                   "ORDER BY sha256, product_id")
            for row in self._run(lambda: self.db.execute(sql, chunk).fetchall()):
                out.setdefault(row[0], []).append(ProductInfo(*row))
        return out

    def shared_photos(self) -> set[str]:
        """Contents (sha256) that belong to two or more distinct product ids."""
        sql = ("SELECT sha256 FROM products WHERE product_id<>'' GROUP BY sha256 "
               "HAVING count(DISTINCT product_id)>1")
        return {r[0] for r in self._run(lambda: self.db.execute(sql).fetchall())}

    def product_counts(self) -> dict[str, int]:
        """pictures with product data, their (picture, product) rows, rows waiting for pictures, shared photos."""
        pictures, rows = self._run(lambda: self.db.execute(
            "SELECT count(DISTINCT sha256), count(*) FROM products").fetchone())
        waiting = self._run(lambda: self.db.execute("SELECT count(*) FROM products_waiting").fetchone()[0])
        return {"pictures": pictures, "rows": rows, "waiting": waiting, "shared": len(self.shared_photos())}

    # -- decisions -------------------------------------------------------------------------------
    # Every change of a decision or keeper is one journal entry ("step"), written before the database change
    # and applied to the database by the same code that replays the journal (_apply_step).

    def decisions(self) -> dict[tuple[str, str], dict]:
        rows = self._run(lambda: self.db.execute(
            "SELECT sha_a, sha_b, decision, decided_by, decided_at FROM decisions").fetchall())
        return {(a, b): {"decision": d, "by": by, "at": at} for a, b, d, by, at in rows}

    def decide(self, sha_a: str, sha_b: str, decision: Optional[str]) -> None:
        """Record (or with None, clear) a decision at once, with a history entry for undo."""
        self.decide_many([(sha_a, sha_b, decision)])

    def decide_many(self, items: Iterable[tuple[str, str, Optional[str]]]) -> int:
        """Several decisions in one transaction and one undo step (e.g. "merge whole group"); returns how many
        pairs changed."""
        items = list(items)

        def step() -> Optional[dict]:
            changes, seen = [], set()
            for sha_a, sha_b, decision in items:
                a, b = sorted((sha_a, sha_b))
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                row = self.db.execute("SELECT decision, decided_by, decided_at FROM decisions "
                                      "WHERE sha_a=? AND sha_b=?", [a, b]).fetchone()
                before, before_by, before_at = row if row else (None, None, None)
                if before != decision:
                    changes.append({"a": a, "b": b, "before": before, "after": decision,
                                    "before_by": before_by, "before_at": before_at})
            if not changes:
                return None
            return {"op": "decide", "batch": self._next_batch(), "items": changes}

        entry = self._write_step(step)
        return len(entry["items"]) if entry else 0

    def undo(self) -> list[dict]:
        """Take back the newest step not yet undone that this user made through this origin (this window, or
        the command line); returns the pair decisions it changed (`undone_keepers` names the pictures whose
        keeper choice it took back). A pair or keeper someone else has changed since is left as it is."""

        def step() -> Optional[dict]:
            row = self.db.execute("SELECT batch FROM decision_log WHERE undone=0 AND origin=? AND by=? "
                                  "ORDER BY id DESC LIMIT 1", [self.origin, _user()]).fetchone()
            if row is None:
                return None
            items = []
            for kind, a, b, before, after, before_by, before_at in self.db.execute(
                    "SELECT kind, sha_a, sha_b, before, after, before_by, before_at FROM decision_log "
                    "WHERE batch=? AND undone=0 ORDER BY id DESC", [row[0]]).fetchall():
                if kind == "keeper":
                    items.append({"kind": "keeper", "sha256": a, "undone": after, "restore": before,
                                  "changed_since": self._keeper_row(a) != after})
                    continue
                now = self.db.execute("SELECT decision FROM decisions WHERE sha_a=? AND sha_b=?", [a, b]).fetchone()
                items.append({"a": a, "b": b, "undone": after, "restore": before, "restore_by": before_by,
                              "restore_at": before_at, "changed_since": (now[0] if now else None) != after})
            return {"op": "undo", "undoes": row[0], "items": items}

        entry = self._write_step(step)
        items = entry["items"] if entry else []
        self.undo_left_alone = sum(1 for i in items if i["changed_since"])
        self.undone_keepers = [i["sha256"] for i in items if i.get("kind") == "keeper" and not i["changed_since"]]
        return [{"sha_a": i["a"], "sha_b": i["b"], "undone": i["undone"], "restored": i["restore"]}
                for i in items if i.get("kind") != "keeper" and not i["changed_since"]]

    def set_keeper(self, sha256: str, path_raw: Optional[bytes] = None) -> None:
        """The curator's keeper for the merge group holding this picture; `path_raw` picks one file among its
        byte copies (the others are then duplicates of it)."""
        self.set_keepers([(sha256, path_raw)])

    def set_keepers(self, choices: Iterable[tuple[str, Optional[bytes]]]) -> int:
        """Several keeper choices as one undo step (e.g. the keeper policy applied to every group)."""
        choices = list(choices)

        def step() -> Optional[dict]:
            items = [{"sha256": sha, "path_raw": raw.hex() if raw is not None else None, "before": self._keeper_row(sha)}
                     for sha, raw in choices]
            return {"op": "keeper", "batch": self._next_batch(), "items": items} if items else None

        entry = self._write_step(step)
        return len(entry["items"]) if entry else 0

    def _keeper_row(self, sha256: str) -> Optional[str]:
        """A keeper choice as the text the decision history keeps: JSON [chosen_at, chosen_by, path_raw hex]."""
        row = self.db.execute("SELECT chosen_at, chosen_by, path_raw FROM keepers WHERE sha256=?", [sha256]).fetchone()
        if row is None:
            return None
        return json.dumps([row[0], row[1], row[2].hex() if row[2] is not None else None])

    def keepers(self) -> dict[str, float]:
        return dict(self._run(lambda: self.db.execute("SELECT sha256, chosen_at FROM keepers").fetchall()))

    def keeper_files(self) -> dict[str, bytes]:
        """sha256 -> the raw path of the file chosen among that picture's byte copies, where one was chosen."""
        return dict(self._run(lambda: self.db.execute(
            "SELECT sha256, path_raw FROM keepers WHERE path_raw IS NOT NULL").fetchall()))

    def decision_history(self) -> list[dict]:
        cols = ("batch", "sha_a", "sha_b", "before", "after", "at", "by", "origin", "undone", "undone_at",
                "undone_by")
        rows = self._run(lambda: self.db.execute(
            f"SELECT {', '.join(cols)} FROM decision_log WHERE kind='decision' ORDER BY id").fetchall())
        return [dict(zip(cols, r)) for r in rows]

    # -- the journal -----------------------------------------------------------------------------
    def _next_batch(self) -> int:
        return (self.db.execute("SELECT max(batch) FROM decision_log").fetchone()[0] or 0) + 1

    def _journal_offset(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='journal_offset'").fetchone()
        return int(row[0]) if row else 0

    def _set_journal_offset(self, offset: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_offset', ?)", [str(offset)])

    def _write_step(self, build) -> Optional[dict]:
        """Under the write lock: catch up with the journal, build the step from the current state, append it
        (fsynced) to the journal, apply it. If the database then fails, the step is taken out of the journal."""
        appended_at = None
        try:
            with self.transaction():
                self._catch_up()
                entry = build()
                if entry is None:
                    return None
                entry.update({"at": time.time(), "by": _user(), "origin": self.origin, "root": self.get_meta("root"),
                              "catalog": self.get_meta("catalog_id")})
                appended_at = self.journal.size()
                end = self.journal.append(entry)
                self._apply_step(entry)
                self._set_journal_offset(end)
            return entry
        except OSError as exc:
            self._take_back(appended_at)
            raise storage_error(exc, self.directory) from exc
        except BaseException:
            self._take_back(appended_at)
            raise

    def _take_back(self, appended_at: Optional[int]) -> None:
        if appended_at is not None and self._journal_offset_on_disk() != self.journal.size():
            self.journal.truncate(appended_at)

    def _journal_offset_on_disk(self) -> int:
        try:
            return self._journal_offset()
        except sqlite3.Error:
            return -1

    def _sync_journal(self) -> None:
        """At open: check that the journal is this catalogue's, apply the steps the database lost, or start a
        journal where there is none."""
        first = self.journal.first_entry()
        journal_id = first.get("catalog") if first else None
        catalog_id = self.get_meta("catalog_id")
        if catalog_id and journal_id and journal_id != catalog_id:
            raise damaged_error(self.path, "this database belongs to another catalogue than the decision journal "
                                           "beside it (copied or moved here?)")
        if not catalog_id:  # a new database adopts its journal (a rebuild); else it starts its own identity
            with self.transaction():
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('catalog_id', ?)",
                                [journal_id or uuid.uuid4().hex])
        if self.journal.size() == self._journal_offset() and self.journal.exists():
            return
        with self.transaction():
            self._catch_up()

    def _catch_up(self) -> None:
        """Inside a write transaction: make the database hold every step in the journal."""
        offset, size = self._journal_offset(), self.journal.size()
        if size == offset and (size or self.journal.exists()):
            return
        if size < offset or not self.journal.exists():
            # The journal was lost or cut short (deleted, restored from an older backup): start it again from
            # what the catalogue holds, so it can rebuild the catalogue from here on.
            if offset:
                self.warn("The decision journal was missing or shorter than the catalogue remembers; it has been "
                          "started again from the decisions in the catalogue.")
            self._set_journal_offset(self.journal.replace_with([self._snapshot()]))
            return
        applied = unreadable = 0
        for end, entry in self.journal.entries(offset):
            self.db.execute("SAVEPOINT journal_step")
            try:
                self._apply_step(entry)
            except (KeyError, TypeError, ValueError, AttributeError, IndexError, sqlite3.IntegrityError):
                # A line damaged into valid JSON of the wrong shape: skipped whole, never half applied.
                self.db.execute("ROLLBACK TO journal_step")
                unreadable += 1
            else:
                applied += 1
            self.db.execute("RELEASE journal_step")
        self._set_journal_offset(size)
        if unreadable:
            self.warn(f"{unreadable} line{'s' * (unreadable != 1)} of the decision journal could not be read and "
                      f"{'were' if unreadable != 1 else 'was'} skipped.")
        if applied:
            self.recovered_steps += applied
            steps = f"{applied} decision steps were" if applied != 1 else "1 decision step was"
            self.warn(f"{steps} missing from the catalogue (after a crash or a lost database file) and "
                      "restored from the journal.")

    def _snapshot(self) -> dict:
        decisions = self.db.execute("SELECT sha_a, sha_b, decision, decided_by, decided_at FROM decisions "
                                    "ORDER BY sha_a, sha_b").fetchall()
        keepers = self.db.execute("SELECT sha256, chosen_at, chosen_by, path_raw FROM keepers").fetchall()
        return {"op": "snapshot", "at": time.time(), "by": _user(), "origin": self.origin,
                "root": self.get_meta("root"), "catalog": self.get_meta("catalog_id"),
                "decisions": [list(d) for d in decisions],
                "keepers": [[sha, at, by, raw.hex() if raw is not None else None] for sha, at, by, raw in keepers]}

    def _apply_step(self, entry: dict) -> None:
        """Apply one journal step to the database (live and when replaying)."""
        db, op = self.db, entry["op"]
        if op == "decide":
            for i in entry["items"]:
                if i["after"] is None:
                    db.execute("DELETE FROM decisions WHERE sha_a=? AND sha_b=?", [i["a"], i["b"]])
                else:
                    db.execute("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?)",
                               [i["a"], i["b"], i["after"], entry["by"], entry["at"]])
                db.execute("INSERT INTO decision_log (batch, sha_a, sha_b, before, after, at, by, undone, origin, "
                           "before_by, before_at) VALUES (?,?,?,?,?,?,?,0,?,?,?)",
                           [entry["batch"], i["a"], i["b"], i["before"], i["after"], entry["at"], entry["by"],
                            entry["origin"], i["before_by"], i["before_at"]])
        elif op == "undo":
            for i in entry["items"]:
                if i["changed_since"]:
                    continue
                if i.get("kind") == "keeper":
                    self._restore_keeper(i["sha256"], i["restore"])
                    continue
                if i["restore"] is None:
                    db.execute("DELETE FROM decisions WHERE sha_a=? AND sha_b=?", [i["a"], i["b"]])
                else:  # the earlier decision comes back with who made it and when
                    db.execute("INSERT OR REPLACE INTO decisions VALUES (?,?,?,?,?)",
                               [i["a"], i["b"], i["restore"], i["restore_by"], i["restore_at"]])
            db.execute("UPDATE decision_log SET undone=1, undone_at=?, undone_by=? WHERE batch=? AND undone=0",
                       [entry["at"], entry["by"], entry["undoes"]])
        elif op == "keeper":
            for i in entry["items"]:
                raw = bytes.fromhex(i["path_raw"]) if i.get("path_raw") else None
                db.execute("INSERT OR REPLACE INTO keepers (sha256, chosen_at, chosen_by, path_raw) VALUES (?,?,?,?)",
                           [i["sha256"], entry["at"], entry["by"], raw])
                db.execute("INSERT INTO decision_log (batch, sha_a, sha_b, before, after, at, by, undone, origin, kind) "
                           "VALUES (?,?,'',?,?,?,?,0,?,'keeper')",
                           [entry["batch"], i["sha256"], i["before"], self._keeper_row(i["sha256"]), entry["at"],
                            entry["by"], entry["origin"]])
        elif op == "snapshot":
            db.execute("DELETE FROM decisions")
            db.execute("DELETE FROM keepers")
            db.conn.executemany("INSERT INTO decisions VALUES (?,?,?,?,?)", entry["decisions"])
            db.conn.executemany("INSERT INTO keepers (sha256, chosen_at, chosen_by, path_raw) VALUES (?,?,?,?)",
                                [(sha, at, by, bytes.fromhex(raw) if raw else None)
                                 for sha, at, by, raw in entry["keepers"]])
            if entry.get("root") and not self.get_meta("root"):
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('root', ?)", [entry["root"]])

    def _restore_keeper(self, sha256: str, row: Optional[str]) -> None:
        if row is None:
            self.db.execute("DELETE FROM keepers WHERE sha256=?", [sha256])
            return
        at, by, raw = json.loads(row)
        self.db.execute("INSERT OR REPLACE INTO keepers (sha256, chosen_at, chosen_by, path_raw) VALUES (?,?,?,?)",
                        [sha256, at, by, bytes.fromhex(raw) if raw else None])

    def data_version(self) -> int:
        """Changes when another connection (another window, the CLI) commits: poll it to notice them."""
        return self._run(lambda: self.db.execute("PRAGMA data_version").fetchone()[0])


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


def _chunks(values: Iterable, size: int = 500) -> Iterable[list]:
    """Lists of at most `size` values: SQLite limits the parameters of one statement."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _parse_evidence(text) -> Optional[dict]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def raw_to_path(root: Path, raw: bytes) -> str:
    """Absolute file-system path from the catalogue root and a stored raw (bytes) relative path."""
    return os.path.join(os.fspath(root), os.fsdecode(raw))


def replayed_decisions(directory: Path) -> dict[tuple[str, str], str]:
    """The decisions the journal alone gives, replayed into a scratch catalogue: what the catalogue should hold."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="fashionsim-replay-"))
    try:
        shutil.copyfile(DecisionJournal(directory).path, DecisionJournal(scratch).path)
        with Catalog(scratch) as replayed:
            return {key: d["decision"] for key, d in replayed.decisions().items()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def restore_catalog(directory: Path) -> dict:
    """Rebuild a catalogue's decisions and keeper choices from its journal when the database is damaged, missing,
    or disagrees with the journal.

    The old database files are moved aside (never deleted) and a new catalogue replays every journal step; the
    pictures' features come back with the next index run. Returns what was done, for a message."""
    directory = Path(directory).absolute()
    journal = DecisionJournal(directory)
    if not journal.exists():
        raise CatalogError(f"There is no decision journal in {directory}, so there is nothing to restore from.")
    if (directory / DB_NAME).exists():
        try:
            with Catalog(directory, create=False) as catalog:  # opening applies what the database lost
                held = {key: d["decision"] for key, d in catalog.decisions().items()}
                if held == replayed_decisions(directory):
                    return {"rebuilt": False, "recovered_steps": catalog.recovered_steps, "decisions": len(held),
                            "root": catalog.get_meta("root"), "warnings": catalog.warnings}
        except CatalogError as exc:
            if "damaged" not in str(exc):
                raise
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for suffix in ("", "-wal", "-shm"):
        source = directory / (DB_NAME + suffix)
        if source.exists():
            target = directory / f"{DB_NAME}{suffix}.damaged-{stamp}"
            os.replace(source, target)
            moved.append(target.name)
    root = None
    for _, entry in journal.entries():
        root = entry.get("root") or root
    with Catalog(directory, root=Path(root) if root else None) as catalog:
        return {"rebuilt": True, "moved_aside": moved, "recovered_steps": catalog.recovered_steps,
                "decisions": len(catalog.decisions()), "keepers": len(catalog.keepers()), "root": root,
                "warnings": catalog.warnings}
