"""Time that only passes when someone sleeps, for tests that go through the app's back-off and pauses."""

from __future__ import annotations

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
