"""`fashionsim doctor`: check a catalogue and say, in plain words, what is sound and what is not.

Checks the database file (the full integrity_check), the decision journal against the decisions in the
database (the journal is replayed into a scratch catalogue and the two are compared), the search index against
the fingerprint recorded when it was built, and the stored evidence of the pairs. It changes nothing: it opens
the catalogue read-only.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import ann
from .errors import CatalogError
from ..store.catalog import DB_NAME, SQLITE_HEADER, _parse_evidence, replayed_decisions
from ..store.journal import DecisionJournal


@dataclass
class Finding:
    ok: bool
    text: str


def check_catalog(directory: Path) -> list[Finding]:
    directory = Path(directory).absolute()
    path = directory / DB_NAME
    if not path.exists():
        return [Finding(False, f"There is no catalogue in {directory}.")]
    with open(path, "rb") as fh:
        header = fh.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        reason = "it is empty (0 bytes)" if not header else "it is not a FashionSim catalogue"
        return [Finding(False, f"The catalogue file {path} is damaged: {reason}."), _journal_finding(directory)]
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)  # as_uri escapes '#', '?' and '%' 
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            decisions = {(a, b): d for a, b, d in conn.execute("SELECT sha_a, sha_b, decision FROM decisions")}
            evidence = [e for (e,) in conn.execute("SELECT evidence FROM verified")]
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return [Finding(False, f"The catalogue database cannot be read: {exc}."), _journal_finding(directory)]
    findings = []
    if problems == ["ok"]:
        findings.append(Finding(True, "The database passes SQLite's full integrity check."))
    else:
        findings.append(Finding(False, f"The database fails SQLite's integrity check ({len(problems)} problems, "
                                       f"first: {problems[0]}). Run `fashionsim restore`."))
    findings.append(_compare_with_journal(directory, decisions))
    findings.append(_index_finding(directory, meta))
    unreadable = sum(1 for e in evidence if _parse_evidence(e) is None)
    findings.append(Finding(unreadable == 0, f"{len(evidence) - unreadable} of {len(evidence)} verified pairs have "
                                             "readable evidence." + (" The others are listed without it; the next "
                                                                     "index run does not repair them." if unreadable
                                                                     else "")))
    return findings


def _journal_finding(directory: Path) -> Finding:
    journal = DecisionJournal(directory)
    if not journal.exists():
        return Finding(False, "There is no decision journal either: the decisions cannot be rebuilt.")
    steps = sum(1 for _ in journal.entries())
    return Finding(True, f"The decision journal holds {steps} steps: `fashionsim restore` rebuilds the decisions "
                         "from it.")


def _compare_with_journal(directory: Path, decisions: dict) -> Finding:
    if not DecisionJournal(directory).exists():
        return Finding(False, "There is no decision journal; it is started again the next time the catalogue is "
                              "opened by a command or the window.")
    try:
        expected = replayed_decisions(directory)
    except CatalogError as exc:
        return Finding(False, f"The decision journal could not be replayed: {exc}")
    if expected == decisions:
        return Finding(True, f"The decision journal and the catalogue agree on all {len(decisions)} decisions.")
    missing = sum(1 for k, v in expected.items() if decisions.get(k) != v)
    extra = sum(1 for k in decisions if k not in expected)
    return Finding(False, f"The catalogue differs from its decision journal: {missing} decisions in the journal "
                          f"are missing or different, {extra} are not in the journal. `fashionsim restore` rebuilds "
                          "the decisions from the journal (the database is kept aside).")


def _index_finding(directory: Path, meta: dict) -> Finding:
    model_id = meta.get("model_id")
    if not (directory / ann.INDEX_NAME).exists():
        return Finding(True, "There is no search index yet; the next index run builds it.")
    if not meta.get(ann.FINGERPRINT_KEY):
        return Finding(True, "The search index was built by an older version without a fingerprint; the next index "
                             "run or search rebuilds it.")
    index = ann.load(directory, model_id or "", meta.get(ann.FINGERPRINT_KEY))
    if index is None:
        return Finding(False, "The search index does not match what was built (damaged, replaced or from another "
                              "model); `fashionsim search` and the next index run rebuild it.")
    count = len(index.shas)
    index.close()
    return Finding(True, f"The search index is intact ({count} pictures).")
