"""Bulk decisions: plan first (a preview the curator reads), then apply as one undo step.

A plan only ever decides pairs nobody has decided yet (skipped ones included): a bulk merge never overrides a
"keep", and never joins pictures the curator kept apart (core/review.py's cannot-link rule), even through a
chain of other pairs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from .review import MERGE, SKIP, Pair, UnionFind
from .tiers import Tier
from ..store.catalog import Catalog


@dataclass
class BulkPlan:
    decision: str
    tier: Optional[Tier]
    min_score: Optional[float]
    pairs: list[Pair] = field(default_factory=list)  # what applying the plan decides
    already_decided: int = 0  # matching pairs left as the curator decided them
    kept_apart: int = 0  # matching pairs left out because they would join pictures kept apart

    def describe(self) -> str:
        what = f"{self.tier.value} pairs" if self.tier else "pairs"
        if self.min_score is not None:
            what += f" scoring at least {self.min_score:g}"
        verb = {"merge": "Merge", "keep": "Keep both pictures of", "skip": "Skip"}.get(self.decision, self.decision)
        text = f"{verb} {len(self.pairs)} {what}."
        if self.already_decided:
            text += f" {self.already_decided} already decided stay as they are."
        if self.kept_apart:
            text += (f" {self.kept_apart} would join pictures you kept apart and are left out.")
        return text


def plan(pairs: Iterable[Pair], decision: str, tier: Optional[Tier] = None, min_score: Optional[float] = None,
         apart: Iterable[tuple[str, str]] = ()) -> BulkPlan:
    """Which of `pairs` a bulk decision would decide; `apart` holds the catalogue's keep decisions."""
    result = BulkPlan(decision, tier, min_score)
    matching = [p for p in pairs if (tier is None or p.tier == tier) and (min_score is None or p.score >= min_score)]
    undecided = [p for p in matching if p.decision in (None, SKIP)]
    result.already_decided = len(matching) - len(undecided)
    if decision != MERGE:
        result.pairs = undecided
        return result
    groups = UnionFind(apart)
    for p in pairs:  # merges already made shape what a new merge may join
        if p.decision == MERGE:
            groups.join(p.sha_a, p.sha_b)
    for p in sorted(undecided, key=lambda p: -p.score):
        if groups.join(p.sha_a, p.sha_b):
            result.pairs.append(p)
        else:
            result.kept_apart += 1
    return result


def apply(catalog: Catalog, bulk: BulkPlan) -> int:
    """Decide every pair of the plan in one transaction and one undo step; returns how many changed."""
    return catalog.decide_many([(p.sha_a, p.sha_b, bulk.decision) for p in bulk.pairs])


@dataclass
class KeeperPlan:
    """The keeper policy applied to every merge group whose keeper the curator has not chosen yet."""
    choices: list = field(default_factory=list)  # Group, one per group that gets its keeper fixed
    already_chosen: int = 0

    def describe(self) -> str:
        text = f"Make the suggested keeper the chosen keeper of {len(self.choices)} merge groups."
        if self.already_chosen:
            text += f" {self.already_chosen} groups whose keeper you chose stay as they are."
        return text


def plan_keepers(groups: Iterable) -> KeeperPlan:
    """Fixing the policy's suggestion as the curator's choice: later policy changes or new pictures no longer move
    these keepers. `groups` are core/review.py merge groups (with their keeper reasons)."""
    result = KeeperPlan()
    for group in groups:
        if group.keeper_chosen:
            result.already_chosen += 1
        else:
            result.choices.append(group)
    return result


def apply_keepers(catalog: Catalog, keepers: KeeperPlan) -> int:
    """One undo step for every group's keeper."""
    return catalog.set_keepers([(g.keeper.sha256, g.keeper.path_raw) for g in keepers.choices])
