"""Progress for long loops: a live line in a terminal, one log line per milestone otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call ``update(done, **info)``; prints a bar on a TTY, else a line at every ``milestones`` step."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, milestones: int = 10) -> None:
        self.total, self.label = max(1, total), label
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every = max(1, self.total // milestones)
        self.start = time.perf_counter()
        self._next = self.every

    def update(self, done: int, **info: object) -> None:
        elapsed = time.perf_counter() - self.start
        extra = " ".join(f"{k}={v}" for k, v in info.items())
        if self.tty:
            width = 30
            filled = int(width * done / self.total)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {elapsed:6.1f}s {extra}   ")
            if done >= self.total:
                self.stream.write("\n")
            self.stream.flush()
        elif done >= self._next or done >= self.total:
            self.stream.write(f"{self.label}: {done}/{self.total} ({100 * done // self.total}%) {elapsed:.1f}s {extra}\n")
            self.stream.flush()
            while self._next <= done:
                self._next += self.every
