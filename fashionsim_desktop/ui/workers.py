"""One worker pattern for every background job.

A `Worker` runs a function on a thread pool and reports through signals only (`progress`, `result`,
`failed`, `cancelled`, `finished`); it never touches a widget. The function receives a core `Progress`,
so cancellation and progress work the same as in the CLI. Progress is throttled so that a fast job cannot
flood the event loop.
"""
from __future__ import annotations

import logging
import time
import traceback
from typing import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import Cancelled, FashionSimError
from ..core.progress import PhaseStatus, Progress

log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.05  # seconds between progress signals per phase


class WorkerSignals(QObject):
    progress = Signal(object)  # PhaseStatus
    result = Signal(object)
    failed = Signal(str)  # a sentence for the curator
    cancelled = Signal()
    finished = Signal()


class Worker(QRunnable):
    def __init__(self, fn: Callable, *args, **kwargs):
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it until `finished`
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = WorkerSignals()
        self.progress = Progress(listener=self._on_progress)
        self._last: dict[str, float] = {}

    def _on_progress(self, status: PhaseStatus) -> None:
        now = time.monotonic()
        final = status.total and status.done >= status.total
        if final or now - self._last.get(status.phase, 0.0) >= PROGRESS_INTERVAL:
            self._last[status.phase] = now
            self.signals.progress.emit(status)

    def cancel(self) -> None:
        self.progress.token.cancel()

    @property
    def is_cancelled(self) -> bool:
        return self.progress.token.cancelled

    def run(self) -> None:
        try:
            value = self.fn(self.progress, *self.args, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except FashionSimError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug: log it whole, tell the curator in one sentence
            log.error("background job failed\n%s", traceback.format_exc())
            self.signals.failed.emit(f"Something went wrong: {exc}. Details are in the log file.")
        else:
            if not self.is_cancelled:
                self.signals.result.emit(value)
            else:
                self.signals.cancelled.emit()
        finally:
            self.signals.finished.emit()


class WorkerPool(QObject):
    """Owns a thread pool and the workers running on it, so that closing the window cancels and joins them."""

    def __init__(self, threads: int = 3, parent=None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self.active: set[Worker] = set()

    def start(self, worker: Worker) -> Worker:
        self.active.add(worker)
        worker.signals.finished.connect(lambda w=worker: self.active.discard(w))
        self.pool.start(worker)
        return worker

    def shutdown(self, timeout_ms: int = 30000) -> bool:
        for worker in list(self.active):
            worker.cancel()
        self.pool.clear()  # queued jobs that have not started are dropped
        return self.pool.waitForDone(timeout_ms)
