"""The approved merge list: one row per duplicate, pointing at its group's keeper.

Written atomically, never over the catalogue's own files or an indexed picture, and over another existing file
only when the curator agrees (check_target holds that policy for the command line and the window alike).
"""
from __future__ import annotations

import csv
import io
import json
import os
import secrets
import stat
from pathlib import Path
from urllib.parse import quote

from .errors import FashionSimError
from .products import add_product_columns, only_photos
from .review import Group, merge_groups
from .tiers import Tier
from ..store.catalog import Catalog

COLUMNS = ("group_id", "keeper_path", "keeper_sha256", "keeper_uri", "keeper_reason", "duplicate_path",
           "duplicate_sha256", "duplicate_uri", "tier", "score", "decided_by", "decided_at")
COLUMNS += ("root", "keeper_product_id", "keeper_sku", "duplicate_product_id", "duplicate_sku")  # core/products.py
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet may run such a cell as a formula
# Never a target, in any folder: another catalogue's files are as precious as this one's.
CATALOG_FILE_NAMES = ("catalog.sqlite", "decisions.journal.jsonl", "vectors.ann", "vectors.ids.json", "products.ann",
                      "products.ids.json")


class ExportError(FashionSimError):
    """The merge list cannot be written where the curator asked."""


class TargetRefused(ExportError):
    """The target is one of the catalogue's own files or an indexed picture: never written over."""


class TargetExists(ExportError):
    """The target exists already: it is replaced only when the curator agrees."""


def merge_list(catalog: Catalog) -> tuple[list[dict], int]:
    """The merge list's rows, and how many duplicates were left out because removing them would leave a product
    without any photo (a shared photo: one content used by two product ids)."""
    decisions = catalog.decisions()
    root = catalog.get_meta("root")
    rows = []
    groups = merge_groups(catalog)
    keep = only_photos(catalog, [(d.path_raw, d.sha256) for g in groups for d in g.duplicates])
    for group in groups:
        for dup in group.duplicates:
            if dup.path_raw in keep:
                continue
            key = tuple(sorted((dup.sha256, group.keeper.sha256)))
            decided = decisions.get(key) or _any_decision(decisions, dup.sha256)
            rows.append({
                "group_id": group.group_id, "keeper_path": group.keeper.path,
                "keeper_sha256": group.keeper.sha256, "keeper_uri": file_uri(root, group.keeper.path_raw),
                "keeper_reason": group.keeper_reason,  # why this one stays, in plain words (core/keeper.py)
                "duplicate_path": dup.path, "duplicate_sha256": dup.sha256,
                "duplicate_uri": file_uri(root, dup.path_raw),
                "tier": (Tier.EXACT if dup.sha256 == group.keeper.sha256 else Tier.DUPLICATE).value,
                "score": round(group.scores.get(dup.sha256, 1.0), 4),
                "decided_by": decided.get("by") if decided else None,
                "decided_at": _iso(decided.get("at")) if decided else None,
            })
    add_product_columns(catalog, rows)
    for row in rows:
        row["root"] = root  # the indexed folder the paths are relative to
    return rows, len(keep)


def merge_rows(catalog: Catalog) -> list[dict]:
    """The merge list's rows (see merge_list)."""
    return merge_list(catalog)[0]


def file_uri(root: str | None, path_raw: bytes) -> str | None:
    """file:// URI of the exact bytes on disk (RFC 8089): `path` is display text and can be ambiguous."""
    if not root:
        return None
    return "file://" + quote(os.path.join(os.fsencode(root), path_raw), safe="/")


def _any_decision(decisions: dict, sha: str) -> dict | None:
    merges = [d for (a, b), d in decisions.items() if d["decision"] == "merge" and sha in (a, b)]
    return max(merges, key=lambda d: d["at"]) if merges else None


def _iso(ts: float | None) -> str | None:
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds") if ts else None


def render(rows: list[dict], fmt: str, skipped_shared: int = 0) -> str:
    if fmt == "json":
        return json.dumps({"merges": rows, "count": len(rows), "skipped_shared": skipped_shared}, indent=2) + "\n"
    buf = io.StringIO()
    # RFC 4180 line ends: with "\n" alone, a carriage return in a file name went unquoted and split the row.
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _inert(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def _inert(value):
    """OWASP "CSV Injection": a leading quote makes a spreadsheet show the text instead of running it."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_target(catalog: Catalog, out: Path, replace: bool = False) -> Path:
    """The file to write for `out` (links followed), or a typed error saying why not."""
    out = Path(out)
    real = out.resolve()
    lexical = Path(os.path.abspath(out))  # links inside the photo folder are indexed under their own name
    if not real.parent.is_dir():
        raise ExportError(f"The folder {out.parent} does not exist; choose where to write the merge list.")
    if _is_catalog_file(catalog, lexical, real):
        raise TargetRefused(f"{out} belongs to the catalogue itself; choose a file outside {catalog.directory}.")
    if _is_picture(catalog, lexical) or _is_picture(catalog, real):
        raise TargetRefused(f"{out} is an indexed picture; choose another name for the merge list.")
    if real.is_dir():
        raise ExportError(f"{out} is a folder; choose a file name for the merge list.")
    if real.name in CATALOG_FILE_NAMES or real.name.startswith(CATALOG_FILE_NAMES):
        raise TargetRefused(f"{out} is named like a FashionSim catalogue file (perhaps another catalogue's); choose "
                            "another name for the merge list.")
    if real.exists():
        if not stat.S_ISREG(real.stat().st_mode):
            raise TargetRefused(f"{out} is not a regular file (a device, a pipe or a socket); choose a file name "
                                "for the merge list.")
        if _links_to_a_picture(catalog, real):
            raise TargetRefused(f"{out} is an indexed picture (through a link); choose another name for the merge "
                                "list.")
        if not replace:
            raise TargetExists(f"{out} already exists.")
    return real


def _links_to_a_picture(catalog: Catalog, real: Path) -> bool:
    """Whether an existing target is, under another name, a file the catalogue indexed (a picture reached through
    a link from inside the photo folder). Stats every indexed file: only ever done for a target that exists."""
    root = catalog.get_meta("root")
    if not root:
        return False
    target = real.stat()
    for f in catalog.present_files():
        try:
            if os.path.samestat(target, os.stat(os.path.join(os.fsencode(root), f["path_raw"]))):
                return True
        except OSError:
            pass
    return False


def _is_catalog_file(catalog: Catalog, lexical: Path, real: Path) -> bool:
    folder = catalog.directory.resolve()
    if _inside(lexical, folder) or _inside(real, folder):
        return True
    try:
        st = real.stat()
    except OSError:
        return False
    if st.st_nlink < 2:
        return False  # not hard-linked: resolving the path was enough
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                if os.path.samestat(st, os.stat(os.path.join(parent, name))):
                    return True
            except OSError:
                pass
    return False


def _is_picture(catalog: Catalog, path: Path) -> bool:
    root = catalog.get_meta("root")
    if not root or not _inside(path, Path(root)) or path == Path(root):
        return False
    return catalog.has_file(os.fsencode(path.relative_to(root)))


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target, fsync, then rename: a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    # 0o666 so the umask decides the mode, as for any file the curator saves (mkstemp would force 0600).
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def export_merges(catalog: Catalog, out: Path, fmt: str | None = None, replace: bool = False) -> int:
    """Write the merge list to `out`; raises TargetRefused, TargetExists (unless `replace`) or ExportError."""
    return write_merge_list(catalog, out, fmt, replace)[0]


def write_merge_list(catalog: Catalog, out: Path, fmt: str | None = None, replace: bool = False) -> tuple[int, int]:
    """export_merges, returning (rows written, shared-photo duplicates left out)."""
    fmt = fmt or ("json" if str(out).lower().endswith(".json") else "csv")
    target = check_target(catalog, out, replace)
    rows, skipped = merge_list(catalog)
    write_atomically(target, render(rows, fmt, skipped))
    return len(rows), skipped


def summary(groups: list[Group]) -> dict:
    return {"groups": len(groups), "duplicates": sum(len(g.duplicates) for g in groups),
            "bytes_freed": sum(m.size for g in groups for m in g.duplicates)}
