"""The worker pool: every chunk once, pinned lanes for work that shares cached inputs, prompt cancel."""
from __future__ import annotations

import os
import time

import pytest

from fashionsim_desktop.core.errors import Cancelled
from fashionsim_desktop.core.pool import run_chunks


def _whoami(chunk):
    time.sleep(chunk[1] if len(chunk) > 1 else 0.02)  # long enough that both workers are busy at once
    return chunk, os.getpid()


def test_pinned_lanes_give_each_worker_long_runs_of_neighbouring_chunks():
    chunks = [[i] for i in range(16)]
    results = list(run_chunks(_whoami, chunks, 2, lambda: False, pinned=True))
    assert sorted(chunk[0] for chunk, _ in results) == list(range(16))
    worker_of = {chunk[0]: pid for chunk, pid in results}
    assert worker_of[0] != worker_of[8]  # each worker owns one half of the list
    for lane in (range(0, 8), range(8, 16)):
        owners = [worker_of[i] for i in lane]
        own = next((k for k, pid in enumerate(owners) if pid != owners[0]), len(owners))  # the owner's first run
        # Its owner works a lane from the start in one run; the other worker may only take its far end (how
        # much depends on how fast the two processes start, so only the shape is asserted).
        assert owners[0] not in owners[own:]
        assert own >= 2  # the chunks handed out first are never taken away


def test_an_idle_worker_takes_over_the_tail_of_a_slow_lane():
    chunks = [[i, 0.15 if i < 8 else 0.0] for i in range(16)]  # the first half is slow
    worker_of = {chunk[0]: pid for chunk, pid in run_chunks(_whoami, chunks, 2, lambda: False, pinned=True)}
    assert worker_of[0] != worker_of[8]
    assert worker_of[7] == worker_of[8]  # the fast worker finished its half and took the slow half's tail


def test_cancel_keeps_what_finished_and_starts_nothing_new():
    chunks = [[i] for i in range(40)]
    seen = []
    with pytest.raises(Cancelled):
        for chunk, _ in run_chunks(_whoami, chunks, 2, lambda: len(seen) >= 3, pinned=True):
            seen.append(chunk[0])
    assert 3 <= len(seen) < 40
