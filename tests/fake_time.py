"""Time that passes only when a test says so: a monotonic clock moved by sleeping (back-off, pauses), and a
wall clock moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.app import Edges


class FakeTime:
    """A monotonic clock that only moves when slept; every pause is recorded in ``sleeps``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def edges(self) -> Edges:
        """The real wall clock and network, with this clock and sleep."""
        return Edges(monotonic=self.monotonic, sleep=self.sleep)


class Clock:
    """A wall clock that stands still until a test moves it (``tick``, or ``now = ...``)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
