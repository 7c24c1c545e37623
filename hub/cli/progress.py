"""A progress line for long runs: redrawn in place on a terminal, every tenth otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, label: str, *, stream: TextIO | None = None) -> None:
        self._total = max(total, 1)
        self._label = label
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._started = time.monotonic()
        self._done = 0
        self._last_tenth = -1

    def advance(self, count: int = 1) -> None:
        self._done += count
        tenth = self._done * 10 // self._total
        if self._tty:
            self._draw("\r")
        elif tenth != self._last_tenth:
            self._last_tenth = tenth
            self._draw("")
            self._stream.write("\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._draw("\r")
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, prefix: str) -> None:
        width = 30
        filled = min(width, self._done * width // self._total)
        rate = self._done / max(time.monotonic() - self._started, 1e-6)
        self._stream.write(
            f"{prefix}{self._label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{self._done}/{self._total} ({rate:,.0f}/s)"
        )
