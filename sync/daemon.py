"""`ozon-sync run`: call one sync cycle at once, then every ``every`` seconds, until stopped.

The loop owns a ``schedule.Scheduler`` (never the module-level default) holding one job. The job
is timed by the injected monotonic clock rather than schedule's wall clock, so a clock change
(NTP step, a laptop waking up, DST) neither stalls nor bursts the daemon, and tests drive time
with a fake clock and sleep. Runs missed while a cycle overran are skipped, not caught up.

Every cycle is guarded: an exception is logged as a sentence and the loop goes on.
``RetryLater`` (nothing lost) is a WARNING; other ``SyncError`` s are an ERROR without a traceback
(their message says what to fix); anything else is an ERROR with the traceback at DEBUG.

SIGTERM and SIGINT ask the loop to stop: the cycle in flight finishes, then ``run`` returns 0 and
logs "Stopped cleanly after N cycles". A second Ctrl-C interrupts at once (KeyboardInterrupt).

:class:`StateLock` keeps a second daemon off the same state file.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType

import schedule

from sync.errors import RetryLater, StateError, SyncError

# The longest single sleep: stop() is a flag the loop polls, so this bounds how late it is noticed.
STEP = 0.25


class StateLock:
    """An exclusive lock on ``lock_path`` for as long as the ``with`` block runs; the file holds our pid.

    ``flock`` goes with the open file, so the lock is released when the process dies, however it
    dies; the file itself is left in place (deleting it would let two processes lock two different
    files of the same name). ``state`` is named in the error; by default ``lock_path`` without a
    ``.lock`` suffix.
    """

    def __init__(self, lock_path: Path, state: Path | None = None):
        self.lock_path = Path(lock_path)
        self.state = state or (self.lock_path.with_suffix("") if self.lock_path.suffix == ".lock"
                               else self.lock_path)
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StateError(
                f"Another ozon-sync daemon (pid {holder or 'unknown'}) is using {self.state}; "
                f"stop it first or point `state` elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor releases the lock


if sys.platform == "win32":  # pragma: no cover - exercised only on Windows
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_pid(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


class _ClockedJob(schedule.Job):
    """A schedule job due by an injected monotonic clock. The first run is due at once; after a run
    the next is the first slot (start + k × every) still ahead, so overrun slots are skipped."""

    def __init__(self, every: float, scheduler: schedule.Scheduler, clock: Callable[[], float],
                 log: logging.Logger):
        super().__init__(max(1, round(every)), scheduler)
        self.unit = "seconds"
        self.every = every
        self.clock = clock
        self.log = log
        self.due: float | None = None

    @property
    def should_run(self) -> bool:
        return self.due is not None and self.clock() >= self.due

    def seconds_left(self) -> float:
        return 0.0 if self.due is None else self.due - self.clock()

    def _schedule_next_run(self) -> None:
        now = self.clock()
        if self.due is None:
            self.due = now
        else:
            slots = max(1, math.floor((now - self.due) / self.every) + 1)
            if slots > 1:
                self.log.info("The cycle took %.0fs, longer than schedule.every (%gs); skipped %d run%s",
                              now - self.due, self.every, slots - 1, "" if slots == 2 else "s")
            self.due += slots * self.every
        # Kept for schedule's own repr and sorting; the decision uses ``due``.
        self.next_run = dt.datetime.now() + dt.timedelta(seconds=self.due - now)


class Daemon:
    """Runs ``cycle`` now and then every ``every`` seconds until :meth:`stop` (or SIGTERM/SIGINT).

    ``cycle``'s return value is logged at INFO when it has a ``summary()`` method. While running,
    the daemon holds a :class:`StateLock` on ``lock_path``. A Daemon runs once: after stop() it stays stopped.
    """

    def __init__(self, cycle: Callable[[], object], *, every: float, lock_path: Path,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 log: logging.Logger | None = None, install_signals: bool = True):
        if not every > 0:
            raise ValueError(f"every must be more than 0 seconds, got {every!r}")
        self.cycle = cycle
        self.every = float(every)
        self.lock_path = Path(lock_path)
        self.clock = clock
        self.sleep = sleep
        self.log = log or logging.getLogger("sync.daemon")
        self.install_signals = install_signals
        self.scheduler = schedule.Scheduler()
        self.cycles = 0
        # A plain attribute, not a threading.Event: stop() runs inside signal handlers, where taking
        # the Event's lock could deadlock against the interrupted main thread.
        self._stopping = False
        self._signal: str | None = None

    def stop(self) -> None:
        """Ask the loop to end after the cycle in flight; safe from other threads and signal handlers."""
        self._stopping = True

    def run(self, max_cycles: int | None = None) -> int:
        """Loop until stopped (or ``max_cycles`` cycles ran); returns the exit code (0)."""
        with StateLock(self.lock_path), self._signals():
            job = _ClockedJob(self.every, self.scheduler, self.clock, self.log)
            job.do(self._guarded)
            try:
                while not self._stopping and (max_cycles is None or self.cycles < max_cycles):
                    self.scheduler.run_pending()
                    if max_cycles is None or self.cycles < max_cycles:
                        self._idle(job)
            finally:
                self.scheduler.cancel_job(job)
        if self._signal:
            self.log.info("Received %s; the cycle in flight was allowed to finish", self._signal)
        self.log.info("Stopped cleanly after %d cycle%s", self.cycles, "" if self.cycles == 1 else "s")
        return 0

    def _idle(self, job: _ClockedJob) -> None:
        while not self._stopping:
            left = job.seconds_left()
            if left <= 0:
                return
            self.sleep(min(STEP, left))

    def _guarded(self) -> None:
        self.cycles += 1
        n = self.cycles
        try:
            result = self.cycle()
        except RetryLater as exc:
            self.log.warning("Cycle %d did not finish: %s. Nothing is lost; the next cycle tries again.", n, exc)
            return
        except SyncError as exc:
            self.log.error("Cycle %d failed: %s", n, exc)
            return
        except Exception as exc:
            self.log.error("Cycle %d failed with an unexpected error: %s: %s (run with --verbose for details)",
                           n, type(exc).__name__, exc)
            self.log.debug("Traceback of the failure in cycle %d", n, exc_info=exc)
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
