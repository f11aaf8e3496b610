"""Resident memory of this process and every process it started (dbt runs as a child).

Read from /proc, sampled by a background thread: the benchmark needs the peak of each
pipeline stage, and `ru_maxrss` only knows one peak per process for its whole life.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:  # the process ended while we looked
        return children
    for task in tasks:
        try:
            children += [int(c) for c in task.read_text().split()]
        except OSError:  # the task ended while we looked
            continue
    return children


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError):
        return 0


def tree_rss_bytes(root: int | None = None) -> int:
    """RSS summed over `root` (default: this process) and all its descendants."""
    pending, total = [root or os.getpid()], 0
    while pending:
        pid = pending.pop()
        total += _rss_bytes(pid)
        pending += _children(pid)
    return total


class MemorySampler:
    """Samples the process tree's RSS every `interval` seconds while in a `with` block: this
    process's tree, or `root`'s (one child, such as a dbt run and the Spark JVM it starts)."""

    def __init__(self, interval: float = 0.1, root: int | None = None) -> None:
        self.interval = interval
        self.root = root
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss_bytes(self.root)))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> int:
        """Highest sample in [start, end] (the nearest one when the span had none)."""
        inside = [rss for t, rss in self.samples if start <= t <= end]
        if inside:
            return max(inside)
        nearest = min(self.samples, key=lambda s: abs(s[0] - start), default=(0.0, 0))
        return nearest[1]
