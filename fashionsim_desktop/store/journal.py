"""The decision journal: an append-only file of every decision step, beside the catalogue.

One JSON object per line, written with a single O_APPEND write and fsynced before the step is acknowledged.
The catalogue records how many journal bytes it has applied (meta `journal_offset`); a step the database lost
(a deleted WAL, a damaged file) is still in the journal and is applied again when the catalogue is next opened,
or the whole decision state is rebuilt from it by `fashionsim restore`.

Writers append only while they hold the catalogue's write lock, so lines from two processes never interleave.
A line cut short by a crash was never acknowledged: it is skipped, and the next append starts on a new line.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterator

JOURNAL_NAME = "decisions.journal.jsonl"
FORMAT_VERSION = 1


class DecisionJournal:
    def __init__(self, directory: Path):
        self.path = Path(directory) / JOURNAL_NAME

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, entry: dict) -> int:
        """Write one entry durably; returns the journal's size after it."""
        line = json.dumps({"v": FORMAT_VERSION, **entry}, separators=(",", ":"), sort_keys=True).encode() + b"\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            end = os.fstat(fd).st_size
            if end and _last_byte(fd, end) != b"\n":
                line = b"\n" + line  # a torn line from a crash stays a line of its own, skipped when read
            os.write(fd, line)
            os.fsync(fd)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def truncate(self, size: int) -> None:
        """Take back an entry whose database transaction failed (best effort)."""
        try:
            os.truncate(self.path, size)
        except OSError:
            pass

    def replace_with(self, entries: list[dict]) -> int:
        """Start the journal afresh with these entries (e.g. one snapshot), atomically; returns its size. A journal
        that was there is kept beside it under another name, never destroyed."""
        if self.size():
            os.replace(self.path, self.path.with_name(f"{self.path.name}.replaced-{time.strftime('%Y%m%d-%H%M%S')}"))
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = b"".join(json.dumps({"v": FORMAT_VERSION, **e}, separators=(",", ":"), sort_keys=True).encode()
                        + b"\n" for e in entries)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        return len(data)

    def first_entry(self) -> dict | None:
        return next((entry for _, entry in self.entries()), None)

    def entries(self, start: int = 0) -> Iterator[tuple[int, dict]]:
        """(offset after the line, entry) for every whole, readable line from byte `start` on."""
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            return
        with fh:
            fh.seek(start)
            offset = start
            for raw in fh:
                offset += len(raw)
                if not raw.endswith(b"\n"):
                    break  # cut short by a crash: never acknowledged
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("v") == FORMAT_VERSION and "op" in entry:
                    yield offset, entry


def _last_byte(fd: int, size: int) -> bytes:
    return os.pread(fd, 1, size - 1)
