"""Run chunks of work in worker processes with bounded memory and prompt cancellation.

Results are handed back in completion order as soon as each chunk finishes, so the caller can stream
them to the database; at most `2 * workers` chunks are in flight. On cancel, nothing new is started,
finished chunks are still delivered, and `Cancelled` is raised after the running ones end.
Workers die with the process that started them: a killed indexer must not leave them holding memory.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from collections import deque
from contextlib import ExitStack
from typing import Callable, Iterator, Optional, Sequence

from .errors import Cancelled

PARENT_CHECK_SECONDS = 0.5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_workers() -> int:
    return max(1, min(2, multiprocessing.cpu_count()))


def _die_with_parent(parent_pid: int) -> None:
    """A worker of a killed parent would wait on the pool's queues forever (it holds both ends of them)."""
    if sys.platform.startswith("linux"):
        # The kernel kills us the moment the parent goes (strictly: the thread that started us; the pool
        # starts its workers from submit(), on the one thread that runs run_chunks). Best effort.
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass

    def watch() -> None:  # everywhere, and for a parent that died before prctl: orphans are re-parented
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _start_worker(parent_pid: int, initializer: Optional[Callable], initargs: tuple) -> None:
    _die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def run_chunks(fn: Callable, chunks: Sequence, workers: int, is_cancelled: Callable[[], bool],
               initializer: Optional[Callable] = None, initargs: tuple = (), pinned: bool = False) -> Iterator:
    """Yield fn(chunk) for every chunk, in completion order.

    `pinned=True` gives each worker its own contiguous run of the chunks instead of the next free chunk: for
    work whose neighbouring chunks share inputs that a worker caches (pair verification shares pictures),
    so each picture is prepared by one worker rather than by both. A worker whose run is done takes
    chunks from the far end of the longest other run, so no worker idles while work is left.
    """
    if not chunks:
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that may hold Qt or threads
    lanes = max(1, workers) if pinned else 1
    # Lane i owns the i-th stretch of consecutive chunks; stealing from the far end evens out the work.
    queues = [deque(chunks[i * len(chunks) // lanes:(i + 1) * len(chunks) // lanes]) for i in range(lanes)]

    def next_chunk(lane: int):
        if queues[lane]:
            return queues[lane].popleft()
        busiest = max(queues, key=len)
        return busiest.pop() if busiest else None

    in_flight_limit = 2 * workers // lanes
    with ExitStack() as stack:
        executors = [stack.enter_context(ProcessPoolExecutor(max_workers=workers // lanes or 1, mp_context=context,
                                                             initializer=_start_worker,
                                                             initargs=(os.getpid(), initializer, initargs)))
                     for _ in range(lanes)]
        pending: dict[Future, int] = {}  # future -> lane
        cancelled = False
        try:
            while True:
                for lane, executor in enumerate(executors):
                    while not cancelled and sum(1 for v in pending.values() if v == lane) < in_flight_limit:
                        chunk = next_chunk(lane)
                        if chunk is None:
                            break
                        pending[executor.submit(fn, chunk)] = lane
                if not pending:
                    break
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    del pending[future]
                    if not future.cancelled():
                        yield future.result()
                if not cancelled and is_cancelled():
                    cancelled = True
                    for future in pending:
                        future.cancel()  # those not started yet; running ones finish and are kept
            if cancelled:
                raise Cancelled()
        finally:
            for future in pending:
                future.cancel()
