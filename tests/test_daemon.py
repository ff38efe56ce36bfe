"""The daemon loop (fake clock and sleep), stopping, guarded cycles, the state lock, and a real SIGTERM."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sync.daemon import STEP, Daemon
from sync.errors import OzonAuthError, OzonUnavailable, StateBusy, StateError
from sync.lock import StateLock
from tests.fake_time import FakeTime as BaseTime


class FakeTime(BaseTime):
    """A clock that moves only when the daemon sleeps (or a cycle says it took a while); the daemon never
    sleeps for nothing (a busy loop)."""

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        super().sleep(seconds)


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> logging.Logger:
    caplog.set_level(logging.DEBUG, logger="test.daemon")
    return logging.getLogger("test.daemon")


def make(cycle: Callable[[], object], tmp_path: Path, t: FakeTime, log: logging.Logger, every: float = 30.0) -> Daemon:
    return Daemon(cycle, every=every, lock_path=tmp_path / "d" / "state.lock",
                  clock=t.monotonic, sleep=t.sleep, log=log, install_signals=False)


def messages(caplog: pytest.LogCaptureFixture, level: int | None = None) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "test.daemon" and (level is None or r.levelno == level)]


def test_runs_at_once_then_every_interval(tmp_path: Path, log: logging.Logger,
                                         caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    started: list[float] = []
    daemon = make(lambda: started.append(t.now), tmp_path, t, log)
    assert daemon.run(max_cycles=3) == 0
    assert started == [1000.0, 1030.0, 1060.0]
    assert sum(t.sleeps) == pytest.approx(60.0)
    assert max(t.sleeps) <= 0.5  # small steps, so stop() is noticed quickly
    assert messages(caplog)[-1] == "Stopped cleanly after 3 cycles"


class Saves:
    """A waker that says a save happened at each of the given times (the fake clock's), once each; a time
    given as None raises instead (a watcher that broke)."""

    def __init__(self, t: FakeTime, *at: float | None):
        self.t, self.at = t, list(at)

    def poll(self) -> str:
        if self.at and self.at[0] is None:
            self.at.pop(0)
            raise OSError("inotify watch limit reached")
        if self.at and self.at[0] is not None and self.t.now >= self.at[0]:
            self.at.pop(0)
            return "the workbook was saved"
        return ""


def test_a_waker_runs_on_wake_at_once_and_the_schedule_stays(tmp_path: Path, log: logging.Logger,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    started: list[float] = []
    woken: list[tuple[float, list[str]]] = []

    def wake(reasons: list[str]) -> None:
        woken.append((t.now, reasons))
        if len(woken) == 2:
            raise OzonUnavailable("Ozon answered 503 three times")

    daemon = Daemon(lambda: started.append(t.now), every=30, lock_path=tmp_path / "state.lock", clock=t.monotonic,
                    sleep=t.sleep, log=log, install_signals=False, wakers=[Saves(t, None, 1004.0, 1040.0)],
                    on_wake=wake)
    assert daemon.run(max_cycles=3) == 0
    assert started == [1000.0, 1030.0, 1060.0]  # the cycles on schedule, wakes or not
    assert [(round(at - 1000, 2), r) for at, r in woken] == [(4.0, ["the workbook was saved"]),
                                                          (40.0, ["the workbook was saved"])]
    said = messages(caplog, logging.WARNING)
    assert "Watching for changes failed: OSError: inotify watch limit reached; the next cycle runs on schedule" in said
    assert ("Wake 2 (the workbook was saved) did not finish: Ozon answered 503 three times. Nothing is lost; "
            "the next cycle tries again.") in said
    assert daemon.wakes == 2 and daemon.cycles == 3


def test_max_cycles_zero_runs_nothing(tmp_path: Path, log: logging.Logger) -> None:
    t = FakeTime()
    calls: list[int] = []
    assert make(lambda: calls.append(1), tmp_path, t, log).run(max_cycles=0) == 0
    assert calls == [] and t.sleeps == []


def test_missed_runs_are_not_caught_up(tmp_path: Path, log: logging.Logger, caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    started: list[float] = []

    def slow_cycle() -> None:
        started.append(t.now)
        t.now += 75  # overruns two 30-second slots

    make(slow_cycle, tmp_path, t, log).run(max_cycles=3)
    assert started == [1000.0, 1090.0, 1180.0]
    assert "The cycle took 75s, longer than schedule.every (30s); skipped 2 runs" in messages(caplog, logging.INFO)


def test_a_failing_cycle_is_logged_and_the_loop_goes_on(tmp_path: Path, log: logging.Logger,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    outcomes: list[Exception | None] = [
        None,
        OzonUnavailable("Ozon answered 503 three times"),
        OzonAuthError("Ozon refused the Api-Key; create a new one in Ozon Seller → Settings → Seller API"),
        ZeroDivisionError("division by zero"),
        None,
    ]
    ran: list[int] = []

    def cycle() -> None:
        ran.append(len(ran))
        outcome = outcomes[len(ran) - 1]
        if outcome is not None:
            raise outcome

    assert make(cycle, tmp_path, t, log).run(max_cycles=5) == 0
    assert ran == [0, 1, 2, 3, 4]
    records = [r for r in caplog.records if r.name == "test.daemon"]
    [retry] = [r for r in records if r.levelno == logging.WARNING]
    assert retry.getMessage() == ("Cycle 2 did not finish: Ozon answered 503 three times. "
                                  "Nothing is lost; the next cycle tries again.")
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "Cycle 3 failed: Ozon refused the Api-Key; create a new one in Ozon Seller → Settings → Seller API",
        "Cycle 4 failed with an unexpected error: ZeroDivisionError: division by zero "
        "(run with --verbose for details)",
    ]
    assert all(r.exc_info is None for r in records if r.levelno >= logging.INFO)  # no tracebacks above DEBUG
    [trace] = [r for r in records if r.levelno == logging.DEBUG and r.exc_info]
    assert isinstance(trace.exc_info[1], ZeroDivisionError)  # type: ignore[index]


def test_a_summary_is_logged_once_per_cycle(tmp_path: Path, log: logging.Logger,
                                           caplog: pytest.LogCaptureFixture) -> None:
    class Report:
        def __init__(self, n: int) -> None:
            self.n = n

        def summary(self) -> str:
            return f"Pushed {self.n} edits, pulled 0 postings"

    t = FakeTime()
    results: list[object] = [Report(1), None, "no summary here", Report(4)]
    make(lambda: results.pop(0), tmp_path, t, log).run(max_cycles=4)
    assert messages(caplog, logging.INFO) == ["Pushed 1 edits, pulled 0 postings",
                                              "Pushed 4 edits, pulled 0 postings",
                                              "Stopped cleanly after 4 cycles"]


def test_stop_from_another_thread_lets_the_cycle_in_flight_finish(tmp_path: Path, log: logging.Logger,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    in_cycle = threading.Event()
    release = threading.Event()
    finished: list[int] = []

    def cycle() -> None:
        in_cycle.set()
        assert release.wait(10)
        finished.append(1)

    daemon = make(cycle, tmp_path, t, log, every=3600)

    def stopper() -> None:
        assert in_cycle.wait(10)
        daemon.stop()
        release.set()

    thread = threading.Thread(target=stopper)
    thread.start()
    assert daemon.run(max_cycles=2) == 0
    thread.join(5)
    assert finished == [1] and daemon.cycles == 1
    assert t.sleeps == []  # did not wait for the next hourly slot
    assert messages(caplog)[-1] == "Stopped cleanly after 1 cycle"


def test_stop_while_idle_takes_effect_within_one_step(tmp_path: Path, log: logging.Logger) -> None:
    t = FakeTime()

    def sleep(seconds: float) -> None:
        t.sleep(seconds)
        if len(t.sleeps) == 3:
            daemon.stop()  # as another thread or a signal handler would, during this sleep

    daemon = Daemon(lambda: None, every=3600, lock_path=tmp_path / "state.lock", clock=t.monotonic, sleep=sleep,
                    log=log, install_signals=False)
    assert daemon.run(max_cycles=2) == 0
    assert daemon.cycles == 1
    assert t.sleeps == [STEP] * 3  # no sleep after stop(), and none longer than STEP: noticed within STEP
    assert STEP <= 0.25


def test_sigterm_in_process_stops_after_the_cycle_and_restores_handlers(tmp_path: Path, log: logging.Logger,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    steps: list[str] = []

    def cycle() -> None:
        steps.append("start")
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, in the main thread
        steps.append("end")

    daemon = Daemon(cycle, every=3600, lock_path=tmp_path / "state.lock", log=log)
    assert daemon.run() == 0
    assert steps == ["start", "end"]
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    assert messages(caplog, logging.INFO)[-2:] == ["Received SIGTERM; the cycle in flight was allowed to finish",
                                                   "Stopped cleanly after 1 cycle"]


def test_every_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Daemon(lambda: None, every=0, lock_path=tmp_path / "l")


# --- the lock -------------------------------------------------------------------------------------


SINCE = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)


def test_a_second_lock_on_the_same_state_names_the_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "new" / "folder" / "state.sqlite.lock"
    with StateLock(lock_path, now=lambda: SINCE):
        assert lock_path.read_text() == f"{os.getpid()} run 2026-12-02T09:30:00+00:00\n"
        with pytest.raises(StateError) as info, StateLock(lock_path):
            pass
        assert str(info.value) == (f"Another ozon-sync is using {tmp_path / 'new' / 'folder' / 'state.sqlite'}: "
                                   f"`ozon-sync run` (pid {os.getpid()}, since 2026-12-02T09:30:00+00:00). "
                                   "Two daemons never share one state; stop it first or point `state` elsewhere")
    with StateLock(lock_path):  # released on exit, so it can be taken again
        pass
    assert lock_path.exists() and lock_path.read_text() == ""


def test_the_state_named_in_the_error_can_be_given(tmp_path: Path) -> None:
    with StateLock(tmp_path / "x.daemon"):
        with pytest.raises(StateError, match="is using .*/s.sqlite: `ozon-sync run`"):
            StateLock(tmp_path / "x.daemon", state=tmp_path / "s.sqlite").__enter__()
        with pytest.raises(StateError, match="is using .*/x.daemon: `ozon-sync run`"):
            StateLock(tmp_path / "x.daemon").__enter__()


def test_a_one_shot_waits_for_the_holder_then_names_it(tmp_path: Path) -> None:
    t = FakeTime()
    lock_path = tmp_path / "state.sqlite.lock"
    with StateLock(lock_path, command="sync", now=lambda: SINCE):
        with pytest.raises(StateBusy) as info, \
                StateLock(lock_path, command="push", wait=10, clock=t.monotonic, sleep=t.sleep):
            pass
    assert 1010 <= t.now < 1010.5 and len(t.sleeps) > 1  # it waited lock_wait, polling
    assert str(info.value) == (f"{tmp_path / 'state.sqlite'} is in use by `ozon-sync sync` (pid {os.getpid()}, "
                               "since 2026-12-02T09:30:00+00:00) after waiting 10 s: try again when it has finished")


def test_a_one_shot_behind_the_daemon_is_told_the_daemon_does_the_work(tmp_path: Path) -> None:
    lock_path = tmp_path / "state.sqlite.lock"
    with StateLock(lock_path), pytest.raises(StateBusy, match="the daemon pushes and writes every edit itself"):
        StateLock(lock_path, command="sync").__enter__()


def test_a_one_shot_takes_the_lock_once_the_holder_lets_go(tmp_path: Path) -> None:
    lock_path = tmp_path / "state.sqlite.lock"
    holder = StateLock(lock_path, command="sync").__enter__()
    released = threading.Timer(0.3, lambda: holder.__exit__(None, None, None))
    released.start()
    with StateLock(lock_path, command="push", wait=10):
        assert lock_path.read_text().split()[:2] == [str(os.getpid()), "push"]
    released.join()


def test_a_daemon_will_not_start_while_the_lock_is_held(tmp_path: Path, log: logging.Logger) -> None:
    t = FakeTime()
    calls: list[int] = []
    daemon = make(lambda: calls.append(1), tmp_path, t, log)
    with StateLock(daemon.lock_path), pytest.raises(StateError, match=f"pid {os.getpid()}"):
        daemon.run(max_cycles=1)
    assert calls == []


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    lock_path = tmp_path / "state.sqlite.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom sync.lock import StateLock\n"
         "with StateLock(Path(sys.argv[1])):\n    print('locked', flush=True)\n    time.sleep(30)\n",
         str(lock_path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(StateError, match=f"pid {holder.pid}, since "), StateLock(lock_path):
            pass
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout:
            holder.stdout.close()
    with StateLock(lock_path):  # the dead holder's lock went with it
        pass


# --- a real daemon process and SIGTERM ------------------------------------------------------------

DAEMON_SCRIPT = """
import logging, sys, time
from collections.abc import Callable
from pathlib import Path
from sync.daemon import Daemon

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
out = Path(sys.argv[1])

def cycle():
    with out.open("a") as f:
        f.write("cycle started ... ")
        f.flush()
        time.sleep(0.3)
        f.write("finished\\n")

# max_cycles bounds the process even if the test dies before it sends SIGTERM.
sys.exit(Daemon(cycle, every=0.5, lock_path=Path(sys.argv[2])).run(max_cycles=120))
"""


def test_sigterm_stops_a_real_daemon_after_the_cycle_in_flight(tmp_path: Path) -> None:
    out = tmp_path / "cycles.txt"
    proc = subprocess.Popen([sys.executable, "-c", DAEMON_SCRIPT, str(out), str(tmp_path / "state.lock")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        # Wait for a cycle to be in flight (after at least one complete one), then send SIGTERM.
        while time.monotonic() < deadline:
            text = out.read_text() if out.exists() else ""
            if text.count("finished") >= 1 and text.endswith("started ... "):
                break
            time.sleep(0.005)
        else:
            pytest.fail(f"the daemon never got into a second cycle: {text!r}")
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    lines = out.read_text().splitlines(keepends=True)
    assert len(lines) >= 2
    assert all(line == "cycle started ... finished\n" for line in lines)
    assert f"INFO Stopped cleanly after {len(lines)} cycles" in stderr
    assert "Received SIGTERM" in stderr
