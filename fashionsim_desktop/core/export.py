"""The approved merge list: one row per duplicate, pointing at its group's keeper. Written atomically."""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from .review import Group, merge_groups
from ..store.catalog import Catalog

COLUMNS = ("group_id", "keeper_path", "keeper_sha256", "duplicate_path", "duplicate_sha256", "score",
           "decided_by", "decided_at")


def merge_rows(catalog: Catalog) -> list[dict]:
    decisions = catalog.decisions()
    rows = []
    for group in merge_groups(catalog):
        for dup in group.duplicates:
            key = tuple(sorted((dup.sha256, group.keeper.sha256)))
            decided = decisions.get(key) or _any_decision(decisions, dup.sha256)
            rows.append({
                "group_id": group.group_id, "keeper_path": group.keeper.path,
                "keeper_sha256": group.keeper.sha256, "duplicate_path": dup.path,
                "duplicate_sha256": dup.sha256, "score": round(group.scores.get(dup.sha256, 1.0), 4),
                "decided_by": decided.get("by") if decided else None,
                "decided_at": _iso(decided.get("at")) if decided else None,
            })
    return rows


def _any_decision(decisions: dict, sha: str) -> dict | None:
    merges = [d for (a, b), d in decisions.items() if d["decision"] == "merge" and sha in (a, b)]
    return max(merges, key=lambda d: d["at"]) if merges else None


def _iso(ts: float | None) -> str | None:
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).isoformat(timespec="seconds") if ts else None


def render(rows: list[dict], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"merges": rows, "count": len(rows)}, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target, fsync, then rename: a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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


def export_merges(catalog: Catalog, out: Path, fmt: str | None = None) -> int:
    fmt = fmt or ("json" if str(out).lower().endswith(".json") else "csv")
    rows = merge_rows(catalog)
    write_atomically(Path(out), render(rows, fmt))
    return len(rows)


def summary(groups: list[Group]) -> dict:
    return {"groups": len(groups), "duplicates": sum(len(g.duplicates) for g in groups),
            "bytes_freed": sum(m.size for g in groups for m in g.duplicates)}
