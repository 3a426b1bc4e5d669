"""Run chunks of work in worker processes with bounded memory and prompt cancellation.

Results are handed back in completion order as soon as each chunk finishes, so the caller can stream
them to the database; at most `2 * workers` chunks are in flight. On cancel, nothing new is started,
finished chunks are still delivered, and `Cancelled` is raised after the running ones end.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Callable, Iterator, Optional, Sequence

from .errors import Cancelled


def default_workers() -> int:
    return max(1, min(2, multiprocessing.cpu_count()))


def run_chunks(fn: Callable, chunks: Sequence, workers: int, is_cancelled: Callable[[], bool],
               initializer: Optional[Callable] = None, initargs: tuple = ()) -> Iterator:
    """Yield fn(chunk) for every chunk, in completion order."""
    if not chunks:
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that may hold Qt or threads
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer,
                             initargs=initargs) as executor:
        pending: set[Future] = set()
        todo = iter(chunks)
        cancelled = False
        try:
            while True:
                while not cancelled and len(pending) < 2 * workers:
                    chunk = next(todo, None)
                    if chunk is None:
                        break
                    pending.add(executor.submit(fn, chunk))
                if not pending:
                    break
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
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
