"""Progress reporting and cancellation shared by every long job.

A job takes a `Progress` and calls `progress.update(phase, done, total)`; the call raises `Cancelled`
when the token has been cancelled, so every phase is cancellable at each report.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from .errors import Cancelled

PHASES = ("scan", "checksum", "features", "products", "index", "pairs", "tiers")
PHASE_LABELS = {
    "scan": "Scanning folder",
    "checksum": "Reading files",
    "features": "Decoding, hashing and embedding",
    "products": "Working out product vectors",
    "index": "Building the search index",
    "pairs": "Finding duplicate pairs",
    "tiers": "Finding other colours and similar products",
}


class CancelToken:
    """Thread-safe flag; a UI thread sets it, the worker checks it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class PhaseStatus:
    phase: str
    done: int
    total: int
    started: float
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def remaining_seconds(self) -> Optional[float]:
        if self.total <= 0 or self.done <= 0 or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


Listener = Callable[[PhaseStatus], None]


@dataclass
class Progress:
    listener: Optional[Listener] = None
    token: CancelToken = field(default_factory=CancelToken)
    _starts: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.token.cancelled:
            raise Cancelled()

    def update(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        started = self._starts.setdefault(phase, now)
        if self.listener is not None:
            self.listener(PhaseStatus(phase, done, total, started, now - started))
        self.check()
