"""Walk a catalogue folder: every candidate image file with its identity, and every problem met on the way.

Paths are kept as bytes (any file name the OS allows, UTF-8 or not) and shown as text with undecodable
bytes escaped. Symlinked folders are followed once (loops are detected); broken links are reported.
"""
from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from .errors import FolderError
from .imaging import MAX_FILE_BYTES, not_regular_reason, open_regular, too_large_reason

IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".webp", ".gif", ".bmp", ".dib", ".tif", ".tiff",
    ".pgm", ".pbm", ".ppm", ".pnm", ".svg", ".heic", ".avif", ".jp2", ".tga", ".ico",
}


@dataclass
class Found:
    path: str  # relative, for display (undecodable bytes escaped)
    path_raw: bytes  # relative, exactly as on disk
    size: int
    mtime_ns: int


@dataclass
class Problem:
    path: str
    path_raw: bytes
    reason: str


def is_image_name(name: bytes) -> bool:
    return os.path.splitext(name)[1].lower().decode("ascii", "ignore") in IMAGE_EXTENSIONS


_CONTROL = {c: f"\\x{c:02x}" for c in range(32)} | {127: "\\x7f"}


def display_path(raw: bytes) -> str:
    """Readable text for a path: bytes that are not UTF-8 and control characters (a newline or tab in a name
    would break a listing line) shown as \\xNN. Display only: the raw bytes stay the file's identity."""
    return raw.decode("utf-8", "backslashreplace").translate(_CONTROL)


def check_folder(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.exists():
        raise FolderError(f"The folder {folder} does not exist. Check the path and try again.")
    if not folder.is_dir():
        raise FolderError(f"{folder} is a file, not a folder. Choose the folder that holds the product photos.")
    if not os.access(folder, os.R_OK | os.X_OK):
        raise FolderError(f"FashionSim is not allowed to read the folder {folder}. Check its permissions.")
    return folder.resolve()


def walk(folder: Path, on_count: Optional[Callable[[int], None]] = None) -> Iterator[Found | Problem]:
    """Yield a Found for each file with an image extension, a Problem for each entry that cannot be used."""
    root = os.fsencode(check_folder(folder))
    seen_dirs: set[tuple[int, int]] = set()
    stack = [b""]
    count = 0
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root, rel_dir) if rel_dir else root
        try:
            st = os.stat(abs_dir)
            if (st.st_dev, st.st_ino) in seen_dirs:
                yield Problem(display_path(rel_dir), rel_dir, "folder link loop: this folder was already scanned")
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            yield Problem(display_path(rel_dir), rel_dir, f"folder cannot be read: {exc.strerror or exc}")
            continue
        for entry in entries:
            rel = os.path.join(rel_dir, entry.name) if rel_dir else entry.name
            try:
                is_link = entry.is_symlink()
                st = entry.stat(follow_symlinks=True)
            except FileNotFoundError:
                if is_link:
                    yield Problem(display_path(rel), rel, "broken link: the file it points to does not exist")
                continue  # vanished between listing and stat: nothing to record
            except OSError as exc:
                if exc.errno == errno.ELOOP:  # a link that points at itself
                    yield Problem(display_path(rel), rel, "link loop: the link points back at itself")
                elif exc.errno == errno.ENAMETOOLONG:  # a folder too, or everything below it goes unnoticed
                    yield Problem(display_path(rel), rel, f"path too long for the system "
                                  f"({len(os.path.join(abs_dir, entry.name))} bytes): move it to a shorter path")
                elif is_image_name(entry.name):
                    yield Problem(display_path(rel), rel, f"cannot be read: {exc.strerror or exc}")
                continue
            if stat.S_ISDIR(st.st_mode):
                if not entry.name.startswith(b"."):
                    stack.append(rel)
                continue
            if not is_image_name(entry.name):
                continue
            reason = not_regular_reason(st.st_mode)  # a pipe or device named .jpg: reading it would hang
            if reason is None and st.st_size > MAX_FILE_BYTES:
                reason = too_large_reason(st.st_size)
            if reason:
                yield Problem(display_path(rel), rel, reason)
                continue
            count += 1
            if on_count and count % 500 == 0:
                on_count(count)
            yield Found(display_path(rel), rel, st.st_size, st.st_mtime_ns)


def sha256_file(path: bytes | str) -> str:
    """Raises OSError (UnsafeFile) for a file swapped for a pipe or device since the scan."""
    digest = hashlib.sha256()
    fh, _ = open_regular(path)
    with fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
