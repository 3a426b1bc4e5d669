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
    assert len(set(worker_of.values())) == 2
    first, second = worker_of[0], worker_of[8]
    assert first != second  # each worker owns one half of the list
    assert [worker_of[i] for i in range(6)] == [first] * 6  # neighbouring chunks stay with one worker...
    assert [worker_of[i] for i in range(8, 14)] == [second] * 6
    assert sum(worker_of[i] == (first if i < 8 else second) for i in range(16)) >= 14  # ...but for a stolen tail


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
