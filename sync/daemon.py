"""`ozon-sync run`: call one sync cycle at once, then every ``every`` seconds, until stopped.

Cycles are due at start + k × every on the injected monotonic clock (not the wall clock), so a clock
change (NTP step, a laptop waking up, DST) neither stalls nor bursts the daemon, and tests drive time
with a fake clock and sleep. Slots missed while a cycle overran are skipped, not caught up.

Between cycles the daemon asks its wakers (``Waker.poll``, a few times a second, cheap) whether something
happened that should not wait for the next cycle — the workbook was saved, the Google sheet's version
moved, Ozon pushed a notification — and runs ``on_wake`` with their reasons at once; the schedule of
cycles stays as it was (a wake is not a cycle: Ozon is still pulled every ``every`` seconds).

Every cycle and wake is guarded: an exception is logged as a sentence and the loop goes on.
``RetryLater`` (nothing lost) is a WARNING; other ``SyncError`` s are an ERROR without a traceback
(their message says what to fix); anything else is an ERROR with the traceback at DEBUG.

SIGTERM and SIGINT ask the loop to stop: the cycle in flight finishes, then ``run`` returns 0 and
logs "Stopped cleanly after N cycles". A second Ctrl-C interrupts at once (KeyboardInterrupt).

:class:`StateLock` keeps a second daemon, or a one-shot command, off the same state file.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Protocol

from sync.errors import RetryLater, SyncError
from sync.lock import StateLock

# The longest single sleep: stop() is a flag the loop polls, so this bounds how late it is noticed.
STEP = 0.25


class Waker(Protocol):
    """Something that may need the sheet pushed or pulled before the next cycle: ``poll`` answers in words
    what happened since it was last asked ("" when nothing), at once — a waker that must ask the network
    keeps its own pace, and debounces what comes in bursts (one save writes a file several times)."""

    def poll(self) -> str: ...


class Daemon:
    """Runs ``cycle`` now and then every ``every`` seconds until :meth:`stop` (or SIGTERM/SIGINT).

    ``cycle``'s return value is logged at INFO when it has a ``summary()`` method. While running,
    the daemon holds a :class:`StateLock` on ``lock_path``. A Daemon runs once: after stop() it stays stopped.
    """

    def __init__(self, cycle: Callable[[], object], *, every: float, lock_path: Path,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 log: logging.Logger | None = None, install_signals: bool = True, command: str = "run",
                 lock_wait: float = 0.0, wakers: Sequence[Waker] = (),
                 on_wake: Callable[[list[str]], object] | None = None):
        """``command`` is what the lock file says holds the state (``run``, ``demo``); ``lock_wait``: how long
        to wait for a one-shot command (a `sync`) that holds it to finish. ``on_wake`` runs with the
        wakers' reasons when any has one."""
        if not every > 0:
            raise ValueError(f"every must be more than 0 seconds, got {every!r}")
        self.cycle = cycle
        self.every = float(every)
        self.lock_path = Path(lock_path)
        self.command, self.lock_wait = command, lock_wait
        self.clock = clock
        self.sleep = sleep
        self.log = log or logging.getLogger("sync.daemon")
        self.install_signals = install_signals
        self.wakers, self.on_wake = tuple(wakers), on_wake
        self.cycles = 0
        self.wakes = 0
        # A plain attribute, not a threading.Event: stop() runs inside signal handlers, where taking
        # the Event's lock could deadlock against the interrupted main thread.
        self._stopping = False
        self._signal: str | None = None

    def stop(self) -> None:
        """Ask the loop to end after the cycle in flight; safe from other threads and signal handlers."""
        self._stopping = True

    def run(self, max_cycles: int | None = None) -> int:
        """Loop until stopped (or ``max_cycles`` cycles ran); returns the exit code (0)."""
        with StateLock(self.lock_path, command=self.command, wait=self.lock_wait, clock=self.clock, sleep=self.sleep), \
                self._signals():
            due = self.clock()
            while not self._stopping and (max_cycles is None or self.cycles < max_cycles):
                self._guarded()
                due = self._next_slot(due)
                if max_cycles is None or self.cycles < max_cycles:
                    self._idle_until(due)
        if self._signal:
            self.log.info("Received %s; the cycle in flight was allowed to finish", self._signal)
        self.log.info("Stopped cleanly after %d cycle%s", self.cycles, "" if self.cycles == 1 else "s")
        return 0

    def _next_slot(self, due: float) -> float:
        """After the cycle due at ``due``: the first slot (``due`` + k × every, k ≥ 1) still ahead; the
        slots a long cycle overran are skipped, and logged."""
        now = self.clock()
        slots = max(1, math.floor((now - due) / self.every) + 1)
        if slots > 1:
            self.log.info("The cycle took %.0fs, longer than schedule.every (%gs); skipped %d run%s",
                          now - due, self.every, slots - 1, "" if slots == 2 else "s")
        return due + slots * self.every

    def _idle_until(self, due: float) -> None:
        while not self._stopping:
            reasons = self._woken()
            if reasons and self.on_wake is not None:
                self.wakes += 1
                self._guarded(functools.partial(self.on_wake, reasons), f"Wake {self.wakes} ({'; '.join(reasons)})")
                continue
            left = due - self.clock()
            if left <= 0:
                return
            self.sleep(min(STEP, left))

    def _woken(self) -> list[str]:
        """What the wakers say happened; a waker that fails is logged and counts as quiet."""
        out = []
        for waker in self.wakers:
            try:
                said = waker.poll()
            except Exception as exc:
                self.log.warning("Watching for changes failed: %s: %s; the next cycle runs on schedule",
                                 type(exc).__name__, exc)
                continue
            if said:
                out.append(said)
        return out

    def _guarded(self, body: Callable[[], object] | None = None, what: str = "") -> None:
        if body is None:
            self.cycles += 1
            what = f"Cycle {self.cycles}"
        run = body or self.cycle
        n = what
        try:
            result = run()
        except RetryLater as exc:
            self.log.warning("%s did not finish: %s. Nothing is lost; the next cycle tries again.", n, exc)
            return
        except SyncError as exc:
            self.log.error("%s failed: %s", n, exc)
            return
        except Exception as exc:
            self.log.error("%s failed with an unexpected error: %s: %s (run with --verbose for details)",
                           n, type(exc).__name__, exc)
            self.log.debug("Traceback of the failure in %s", n, exc_info=exc)
            return
        summary = getattr(result, "summary", None)
        if callable(summary):
            self.log.info("%s", summary())

    @contextmanager
    def _signals(self) -> Iterator[None]:
        if not self.install_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self._stopping and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._signal = signal.Signals(signum).name
            self.stop()
            if signum == signal.SIGINT:
                # os.write, not logging: logging takes locks the interrupted code may hold.
                os.write(2, b"Stopping after the cycle in flight; press Ctrl-C again to quit at once.\n")

        for sig in previous:
            signal.signal(sig, on_signal)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
