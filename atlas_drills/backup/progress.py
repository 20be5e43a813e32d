"""Progress on stderr (bytes done of total, rate), drawn only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_MIB = 1 << 20


class Progress:
    def __init__(self, label: str, total: int, stream: TextIO | None = None, *, enabled: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self.enabled = self._stream.isatty() if enabled is None else enabled
        self._label = label
        self.total = total
        self.done = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled and time.monotonic() - self._drawn >= 0.2:
            self._draw()

    def _draw(self, end: str = "\r") -> None:
        self._drawn = time.monotonic()
        elapsed = max(self._drawn - self._started, 1e-6)
        percent = 100.0 * self.done / self.total if self.total else 100.0
        self._stream.write(
            f"{self._label}: {self.done / _MIB:,.1f} / {self.total / _MIB:,.1f} MiB ({percent:5.1f}%) "
            f"{self.done / _MIB / elapsed:,.1f} MiB/s\x1b[K{end}"
        )
        self._stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(end="\n")
