"""What the curator reviews and decides: pairs with their evidence, decisions, merge groups and keepers.

Decisions are keyed by the pair of sha256s, so they follow the pictures through renames and rescans.
Merge decisions form groups (connected components); each group has one keeper, chosen by the curator or
suggested: most pixels, then largest file, then oldest file, then path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .hashing import HASH_NAMES, hamming
from .pairs import DEFAULT_MIN_SCORE, VERIFIER_VERSION
from ..store.catalog import Catalog

MERGE, KEEP = "merge", "keep"
DECISIONS = (MERGE, KEEP)


@dataclass
class Pair:
    path_a: str
    path_b: str
    sha_a: str
    sha_b: str
    score: float
    kind: str  # "exact" or "near"
    evidence: dict = field(default_factory=dict)
    decision: Optional[str] = None
    raw_a: bytes = b""  # the files' identities: relative paths exactly as on disk
    raw_b: bytes = b""

    @property
    def key(self) -> tuple[str, str]:
        return tuple(sorted((self.sha_a, self.sha_b)))  # type: ignore[return-value]

    def as_dict(self) -> dict:
        return {"path_a": self.path_a, "path_b": self.path_b, "sha256_a": self.sha_a, "sha256_b": self.sha_b,
                "score": round(self.score, 4), "kind": self.kind, "evidence": self.evidence,
                "decision": self.decision}


def list_pairs(catalog: Catalog, min_score: float = DEFAULT_MIN_SCORE) -> list[Pair]:
    """Exact duplicates first, then near duplicates by score; every pair with any decision made."""
    decisions = catalog.decisions()
    files = catalog.present_files()
    paths_of: dict[str, list[tuple[str, bytes]]] = {}
    for f in files:
        paths_of.setdefault(f["sha256"], []).append((f["path"], f["path_raw"]))
    pairs: list[Pair] = []
    for sha, paths in catalog.exact_groups().items():
        decided = decisions.get((sha, sha), {}).get("decision")
        (first, first_raw) = paths[0]
        for other, other_raw in paths[1:]:
            pairs.append(Pair(first, other, sha, sha, 1.0, "exact", {"identical_bytes": True}, decided,
                              first_raw, other_raw))
    near = catalog.near_pairs(min_score, VERIFIER_VERSION)
    facts = catalog.image_facts({s for p in near for s in (p["sha_a"], p["sha_b"])})
    for p in near:
        a, b = p["sha_a"], p["sha_b"]
        if a not in paths_of or b not in paths_of:
            continue
        evidence = {"cosine": round(p["cosine"], 4)}
        for name in HASH_NAMES:
            fa, fb = facts.get(a, {}).get(name), facts.get(b, {}).get(name)
            if fa and fb:
                evidence[f"{name}_distance"] = hamming(fa, fb)
        evidence.update(p["evidence"])
        (path_a, raw_a), (path_b, raw_b) = paths_of[a][0], paths_of[b][0]
        pairs.append(Pair(path_a, path_b, a, b, p["score"], "near", evidence,
                          decisions.get((a, b), {}).get("decision"), raw_a, raw_b))
    return pairs


def decide(catalog: Catalog, sha_a: str, sha_b: str, decision: Optional[str]) -> None:
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    catalog.decide(sha_a, sha_b, decision)


class UnionFind:
    """Connected components over hashable items (path halving keeps it near-linear)."""

    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        while self.parent.setdefault(x, x) != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)

    def items(self) -> list:
        return list(self.parent)


@dataclass
class Member:
    path: str  # relative, for display
    sha256: str
    width: int
    height: int
    size: int
    mtime_ns: int
    path_raw: bytes = b""  # relative, exactly as on disk: the file's identity


@dataclass
class Group:
    group_id: int
    members: list[Member]
    keeper: Member
    keeper_chosen: bool  # True when the curator chose it, False when suggested
    scores: dict  # sha256 -> best merge score linking it into the group

    @property
    def duplicates(self) -> list[Member]:
        return [m for m in self.members if m is not self.keeper]


def suggest_keeper(members: list[Member]) -> Member:
    """The suggested keeper when the curator chose none: most pixels, then largest file, then oldest."""
    return min(members, key=lambda m: (-(m.width * m.height), -m.size, m.mtime_ns, m.path, m.path_raw))


def chosen_keeper(members: list[Member], chosen: dict[str, float], chosen_files: dict[str, bytes]) -> Optional[Member]:
    """The curator's keeper among these members, if any: the latest choice wins; among its byte copies, the
    very file the curator picked (else the suggested one)."""
    picked = [m for m in members if m.sha256 in chosen]
    if not picked:
        return None
    latest = max(picked, key=lambda m: chosen[m.sha256]).sha256
    copies = [m for m in members if m.sha256 == latest]
    exact = [m for m in copies if m.path_raw == chosen_files.get(latest)]
    return exact[0] if exact else suggest_keeper(copies)


def member_of(f: dict) -> Member:
    return Member(f["path"], f["sha256"], f["width"], f["height"], f["size"], f["mtime_ns"], f["path_raw"])


def merge_groups(catalog: Catalog, files: Optional[list[dict]] = None, with_scores: bool = True) -> list[Group]:
    """Connected components of merge decisions over pictures present on disk.

    `files` (catalog.present_files()) may be passed in when the caller already holds them; `with_scores`
    adds each duplicate's best merge score (the export needs it, the window's summary does not).
    """
    decisions = catalog.decisions()
    files = catalog.present_files() if files is None else files
    by_sha: dict[str, list[dict]] = {}
    for f in files:
        by_sha.setdefault(f["sha256"], []).append(f)
    groups_of = UnionFind()
    scores: dict[str, float] = {}
    near_scores = ({(p["sha_a"], p["sha_b"]): p["score"] for p in catalog.near_pairs(0.0, VERIFIER_VERSION)}
                   if with_scores else {})
    for (a, b), d in decisions.items():
        if d["decision"] != MERGE or a not in by_sha or b not in by_sha:
            continue
        groups_of.join(a, b)
        s = 1.0 if a == b else near_scores.get((a, b), 0.0)
        scores[a] = max(scores.get(a, 0.0), s)
        scores[b] = max(scores.get(b, 0.0), s)
    components: dict[str, list[str]] = {}
    for sha in groups_of.items():
        components.setdefault(groups_of.find(sha), []).append(sha)
    chosen, chosen_files = catalog.keepers(), catalog.keeper_files()
    groups = []
    for shas in components.values():
        members = [member_of(f) for sha in sorted(shas) for f in by_sha[sha]]
        if len(members) < 2:
            continue
        keeper = chosen_keeper(members, chosen, chosen_files)
        groups.append(Group(0, sorted(members, key=lambda m: (m.path, m.path_raw)), keeper or suggest_keeper(members),
                            keeper is not None, scores))
    groups.sort(key=lambda g: g.keeper.path)
    for number, group in enumerate(groups, start=1):
        group.group_id = number
    return groups


def candidate_groups(pairs: list[Pair]) -> list[list[Pair]]:
    """Connected components of the proposed pairs, leaving out pairs the curator marked keep.

    Curators work through these in bulk ("merge whole group"); largest and best-scored groups first.
    """
    groups_of = UnionFind()
    live = [p for p in pairs if p.decision != KEEP]
    for p in live:
        groups_of.join(p.sha_a, p.sha_b)
    groups: dict[str, list[Pair]] = {}
    for p in live:
        groups.setdefault(groups_of.find(p.sha_a), []).append(p)
    return sorted(groups.values(), key=lambda g: (-len(g), -max(p.score for p in g)))
