"""Run chunks of work in worker processes with bounded memory and prompt cancellation.

Results are handed back in completion order as soon as each chunk finishes, so the caller can stream
them to the database; at most `2 * workers` chunks are in flight. On cancel, nothing new is started,
finished chunks are still delivered, and `Cancelled` is raised after the running ones end.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from collections import deque
from contextlib import ExitStack
from typing import Callable, Iterator, Optional, Sequence

from .errors import Cancelled


def default_workers() -> int:
    return max(1, min(2, multiprocessing.cpu_count()))


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
                                                             initializer=initializer, initargs=initargs))
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
