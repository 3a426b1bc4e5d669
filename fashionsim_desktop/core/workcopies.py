"""Decoded working copies handed from the feature workers to the verification workers of one index run.

Verification needs every candidate picture's pixels again, and decoding a packshot a second time was about a
quarter of the pair phase's work. The feature workers hold exactly that working copy already, so they leave it
here (one raw .npy file per picture, named by its sha256) and the verification workers read it back instead of
decoding. The copy is the decoded array itself, so the evidence is the same either way.

It is scratch space, never a source of truth: cleared when an index run starts and when its pairs are done,
bounded (pictures past the budget are decoded again in verification), and any failure to write or read a
copy (full disk, a file cut short) falls back to decoding the picture. An index run holds a lock on it for its
whole length (an flock, released by the OS however the process ends), so the copies a killed run left behind
are removed by the next command that opens the catalogue (`clear_abandoned`), and two runs never share them.
"""
from __future__ import annotations

import fcntl
import os
import shutil
from contextlib import suppress
from pathlib import Path
from typing import Optional

import numpy as np

from .imaging import WORK_SIZE

DIRECTORY_NAME = "working-copies"
LOCK_NAME = "working-copies.lock"
BUDGET_BYTES = 2 << 30  # at most 2 GiB (about 16,000 packshots) ...
FREE_SPACE_SHARE = 4  # ... and at most a quarter of the disk's free space
BYTES_PER_PICTURE = WORK_SIZE * WORK_SIZE * 3  # the most a working copy can take (RGB, long side WORK_SIZE)


class WorkingCopies:
    """The scratch folder of working copies inside a catalogue folder. Cheap to create; picklable by path."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock_fd: Optional[int] = None

    @classmethod
    def beside(cls, catalog_directory: Path) -> "WorkingCopies":
        return cls(Path(catalog_directory) / DIRECTORY_NAME)

    @classmethod
    def clear_abandoned(cls, catalog_directory: Path) -> bool:
        """Remove the copies a crashed run left, unless a run is using them now; True if any were removed."""
        copies = cls.beside(catalog_directory)
        if not copies.directory.exists() or not copies.claim():
            return False
        try:
            copies.clear()
        finally:
            copies.release()
        return True

    def claim(self) -> bool:
        """Take the run's lock; False when another live run holds it."""
        try:
            fd = os.open(self.directory.parent / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return True  # a folder we cannot write in holds no copies to protect
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def capacity(self, budget: Optional[int] = None) -> int:
        """How many pictures may be kept: within `budget` (default BUDGET_BYTES) and a share of the free space."""
        budget = BUDGET_BYTES if budget is None else budget
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.directory).free
        except OSError:
            return 0
        return int(min(budget, free // FREE_SPACE_SHARE) // BYTES_PER_PICTURE)

    def _path(self, sha: str) -> Path:
        return self.directory / sha[:2] / f"{sha}.npy"  # 256 sub-folders: no folder of a million files

    def put(self, sha: str, rgb: np.ndarray) -> bool:
        """Keep a picture's working copy; False (and nothing left behind) when it cannot be written."""
        path = self._path(sha)
        partial = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as fh:
                np.save(fh, np.ascontiguousarray(rgb, dtype=np.uint8), allow_pickle=False)
            os.replace(partial, path)  # readers never see a half-written copy
            return True
        except OSError:
            with suppress(OSError):  # the folder itself may be what failed
                partial.unlink(missing_ok=True)
            return False

    def get(self, sha: str) -> Optional[np.ndarray]:
        """The kept working copy, or None when there is none or it cannot be read whole."""
        try:
            rgb = np.load(self._path(sha), allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            return None
        return rgb
