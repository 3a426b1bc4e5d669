"""What the curator reviews and decides: pairs with their evidence, decisions, merge groups and keepers.

Decisions are keyed by the pair of sha256s, so they follow the pictures through renames and rescans.
Merge decisions form groups (connected components); each group has one keeper, chosen by the curator or
suggested by the keeper policy (core/keeper.py: the original over an edited copy, reference folders, ...), with
the reason in plain words.

"Keep" (and splitting a picture off a group) is a cannot-link constraint: no merge decision, bulk action,
threshold change or rescan ever puts two pictures the curator kept apart into one group. "Variant" (the same
product in another colour, or another shot of it) links the two pictures into a variant group
(core/catalogue_files.py) and is a cannot-link for merges too: a variant is never merged away. "Skip" is
remembered too: a skipped pair is not offered again as the next undecided one.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .hashing import HASH_NAMES, hamming
from .pairs import DEFAULT_MIN_SCORE, VERIFIER_VERSION
from .tiers import DUPLICATE_TIERS, PRODUCT_TIERS, Tier
from ..store.catalog import Catalog

MERGE, KEEP, SKIP, VARIANT = "merge", "keep", "skip", "variant"
DECISIONS = (MERGE, KEEP, SKIP, VARIANT)
APART = (KEEP, VARIANT)  # decisions that keep two pictures out of one merge group


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
    tier: Tier = Tier.DUPLICATE
    product_similarity: Optional[float] = None  # cosine of the product vectors (variant and similar pairs)

    def __post_init__(self) -> None:
        if self.kind == "exact":
            self.tier = Tier.EXACT

    @property
    def key(self) -> tuple[str, str]:
        return tuple(sorted((self.sha_a, self.sha_b)))  # type: ignore[return-value]

    @property
    def closeness(self) -> float:
        """How close the pair is in its tier's terms: the duplicate score, or for variants and similar products
        the similarity of their product vectors."""
        if self.tier in (Tier.VARIANT, Tier.SIMILAR) and self.product_similarity is not None:
            return self.product_similarity
        return self.score

    @property
    def summary(self) -> str:
        """The pair's evidence in plain words ("mirrored copy, re-encoded", "same garment, other colour")."""
        from .tier_words import describe

        return describe(self.tier, self.evidence)

    def as_dict(self) -> dict:
        out = {"path_a": self.path_a, "path_b": self.path_b, "sha256_a": self.sha_a, "sha256_b": self.sha_b,
               "score": round(self.score, 4), "kind": self.kind, "tier": self.tier.value, "summary": self.summary,
               "evidence": self.evidence, "decision": self.decision}
        if self.product_similarity is not None:
            out["product_similarity"] = round(self.product_similarity, 4)
        return out


def list_pairs(catalog: Catalog, min_score: float = DEFAULT_MIN_SCORE,
               tiers: Iterable[Tier] = DUPLICATE_TIERS) -> list[Pair]:
    """Pairs of these tiers: exact duplicates first, then near duplicates by score, then variants and similar
    products, closest first; every pair with any decision made."""
    tiers = frozenset(tiers)
    pairs = _duplicate_pairs(catalog, min_score) if tiers & DUPLICATE_TIERS else []
    # A threshold under the default is the curator asking to review lower-scored pairs as duplicates: they are
    # listed with them, each with the tier the catalogue gives it ("variant: same garment, other colour").
    lowered = Tier.DUPLICATE in tiers
    pairs = [p for p in pairs if p.tier in tiers or (lowered and p.kind == "near")]
    for tier in sorted(tiers & PRODUCT_TIERS):
        pairs.extend(_product_pairs(catalog, tier, min_score))
    return pairs


def _product_pairs(catalog: Catalog, tier: Tier, min_score: float) -> list[Pair]:
    """Stored pairs of a product tier that the duplicate threshold does not already make duplicates."""
    decisions = catalog.decisions()
    rows = catalog.pairs_of_tier(tier.value, below_score=min_score)
    paths_of = _paths_by_sha(catalog) if rows else {}
    pairs = []
    for r in rows:
        a, b = r["sha_a"], r["sha_b"]
        if a not in paths_of or b not in paths_of:
            continue
        evidence = {"product_similarity": round(r["product_cosine"], 4)} if r["product_cosine"] is not None else {}
        if r["cosine"] is not None:
            evidence["cosine"] = round(r["cosine"], 4)
        evidence.update(_parse_evidence_dict(r["evidence"]))
        (path_a, raw_a), (path_b, raw_b) = paths_of[a][0], paths_of[b][0]
        pairs.append(Pair(path_a, path_b, a, b, r["score"] or 0.0, "near", evidence,
                          decisions.get((a, b), {}).get("decision"), raw_a, raw_b, tier, r["product_cosine"]))
    return pairs


def _paths_by_sha(catalog: Catalog) -> dict[str, list[tuple[str, bytes]]]:
    """sha256 -> [(display path, raw path)] of the present files, in path order."""
    paths_of: dict[str, list[tuple[str, bytes]]] = {}
    for f in catalog.present_files():
        paths_of.setdefault(f["sha256"], []).append((f["path"], f["path_raw"]))
    return paths_of


def _parse_evidence_dict(text) -> dict:
    import json

    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _duplicate_pairs(catalog: Catalog, min_score: float) -> list[Pair]:
    decisions = catalog.decisions()
    paths_of = _paths_by_sha(catalog)
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
                          decisions.get((a, b), {}).get("decision"), raw_a, raw_b,
                          _stored_or_judged_tier(p), p["product_cosine"]))
    return pairs


def _stored_or_judged_tier(pair: dict) -> Tier:
    """The tier the catalogue stored for a verified pair, or (before the tier phase ran) the verifier's own."""
    if pair.get("tier"):
        return Tier(pair["tier"])
    from .product_similarity import verified_tier

    return verified_tier(pair["score"], pair["evidence"], None)


def decide(catalog: Catalog, sha_a: str, sha_b: str, decision: Optional[str]) -> None:
    if decision is not None and decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}")
    catalog.decide(sha_a, sha_b, decision)


class UnionFind:
    """Connected components over hashable items (path halving keeps it near-linear), with cannot-link pairs:
    two components are never joined while any of their members must stay apart."""

    def __init__(self, apart: Iterable[tuple] = ()) -> None:
        self.parent: dict = {}
        self.members: dict = {}  # root -> items of its component
        self.apart: dict = defaultdict(set)
        for a, b in apart:
            if a != b:
                self.apart[a].add(b)
                self.apart[b].add(a)

    def find(self, x):
        if x not in self.parent:
            self.parent[x] = x
            self.members[x] = [x]
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def can_join(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        small, other = (ra, rb) if len(self.members[ra]) <= len(self.members[rb]) else (rb, ra)
        return not any(self.find(y) == other for x in self.members[small] for y in self.apart.get(x, ()))

    def join(self, a, b) -> bool:
        """Join the components of a and b; False (and nothing joined) when they must stay apart."""
        if not self.can_join(a, b):
            return False
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if len(self.members[ra]) > len(self.members[rb]):
                ra, rb = rb, ra
            self.parent[ra] = rb
            self.members[rb].extend(self.members.pop(ra))
        return True

    def items(self) -> list:
        return list(self.parent)


def kept_apart(decisions: dict) -> list[tuple[str, str]]:
    """The cannot-link pairs: every pair the curator marked keep (different products) or variant (another
    colour or shot of one product: linked, never merged)."""
    return [key for key, d in decisions.items() if d["decision"] in APART]


@dataclass
class Member:
    path: str  # relative, for display
    sha256: str
    width: int
    height: int
    size: int
    mtime_ns: int
    path_raw: bytes = b""  # relative, exactly as on disk: the file's identity
    format: str = ""  # as decoded: "JPEG", "PNG", ... (the keeper policy may prefer some)


@dataclass
class Group:
    group_id: int
    members: list[Member]
    keeper: Member
    keeper_chosen: bool  # True when the curator chose it, False when suggested
    scores: dict  # sha256 -> best merge score linking it into the group
    keeper_reason: str = ""  # "keeper a.jpg: the other is a mirrored copy" / "...: chosen by the curator"

    @property
    def duplicates(self) -> list[Member]:
        return [m for m in self.members if m is not self.keeper]


def suggest_keeper(members: list[Member], catalog: Optional[Catalog] = None, has_product_data=None) -> Member:
    """The suggested keeper when the curator chose none, by the keeper policy (core/keeper.py). With the
    catalogue, the pictures themselves are compared (which one is the edited copy) under the curator's policy;
    without it, only the facts the members carry (pixels, format, age) can tell."""
    from . import keeper  # OpenCV: loaded when a keeper is asked for, not with every review import

    ctx = keeper.Context.of(catalog, has_product_data) if catalog is not None else None
    return keeper.choose(members, ctx).keeper


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
    return Member(f["path"], f["sha256"], f["width"], f["height"], f["size"], f["mtime_ns"], f["path_raw"],
                  f.get("format") or "")


def merge_groups(catalog: Catalog, files: Optional[list[dict]] = None, with_scores: bool = True,
                 has_product_data=None) -> list[Group]:
    """Connected components of merge decisions over pictures present on disk.

    `files` (catalog.present_files()) may be passed in when the caller already holds them; `with_scores`
    adds each duplicate's best merge score (the export needs it, the window's summary does not).
    `has_product_data` (a callable or a set of sha256s) lets the keeper policy prefer pictures with product data.
    """
    from . import keeper

    decisions = catalog.decisions()
    files = catalog.present_files() if files is None else files
    by_sha: dict[str, list[dict]] = {}
    for f in files:
        by_sha.setdefault(f["sha256"], []).append(f)
    groups_of = UnionFind(kept_apart(decisions))
    scores: dict[str, float] = {}
    near_scores = ({(p["sha_a"], p["sha_b"]): p["score"] for p in catalog.near_pairs(0.0, VERIFIER_VERSION)}
                   if with_scores else {})
    # Oldest merges first: a later merge that would join pictures kept apart is the one left out.
    for (a, b), d in sorted(decisions.items(), key=lambda item: (item[1]["at"] or 0.0, item[0])):
        if d["decision"] != MERGE or a not in by_sha or b not in by_sha:
            continue
        if not groups_of.join(a, b):
            continue
        s = 1.0 if a == b else near_scores.get((a, b), 0.0)
        scores[a] = max(scores.get(a, 0.0), s)
        scores[b] = max(scores.get(b, 0.0), s)
    components: dict[str, list[str]] = {}
    for sha in groups_of.items():
        components.setdefault(groups_of.find(sha), []).append(sha)
    chosen, chosen_files = catalog.keepers(), catalog.keeper_files()
    ctx = keeper.Context.of(catalog, has_product_data)  # the policy and the folder, read once
    groups = []
    for shas in components.values():
        members = [member_of(f) for sha in sorted(shas) for f in by_sha[sha]]
        if len(members) < 2:
            continue
        picked = chosen_keeper(members, chosen, chosen_files)
        choice = (keeper.KeeperChoice(picked, keeper.chosen_reason(picked), True) if picked is not None
                  else keeper.choose(members, ctx))
        groups.append(Group(0, sorted(members, key=lambda m: (m.path, m.path_raw)), choice.keeper, choice.chosen,
                            scores, choice.reason))
    groups.sort(key=lambda g: g.keeper.path)
    for number, group in enumerate(groups, start=1):
        group.group_id = number
    return groups


def candidate_groups(pairs: list[Pair], apart: Iterable[tuple[str, str]] = ()) -> list[list[Pair]]:
    """Connected components of the proposed pairs, never joining pictures the curator kept apart (a pair
    marked keep, or a picture split off a group), whatever pairs a new threshold or rescan brings.

    Curators work through these in bulk ("merge whole group"); largest and best-scored groups first. `apart`
    adds the catalogue's other keep decisions (kept_apart), also those below the current threshold.
    """
    groups_of = UnionFind([(p.sha_a, p.sha_b) for p in pairs if p.decision == KEEP] + list(apart))
    live = []
    for p in sorted((p for p in pairs if p.decision != KEEP), key=lambda p: (p.decision != MERGE, -p.score)):
        if groups_of.join(p.sha_a, p.sha_b):
            live.append(p)
    groups: dict[str, list[Pair]] = {}
    for p in live:
        groups.setdefault(groups_of.find(p.sha_a), []).append(p)
    return sorted(groups.values(), key=lambda g: (-len(g), -max(p.score for p in g)))
