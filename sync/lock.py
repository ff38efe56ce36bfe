"""The state's lock: one process at a time pushes and writes with one state file.

:class:`StateLock` is taken by the daemon and by every one-shot command that pushes or writes. The
lock file says who holds it (pid, command, since when), so the one who waits can be told.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from sync.errors import StateBusy

POLL = 0.25  # how often a waiting command tries the lock again


def lock_path_for(state: Path) -> Path:
    """The lock file beside a state file."""
    return state.with_name(state.name + ".lock")


class StateLock:
    """An exclusive lock on ``lock_path`` for as long as the ``with`` block runs; the file says who holds it.

    Every command that pushes or writes takes it: the daemon, and the one-shot ``sync``/``push``/``pull``/
    ``init``, so two runs never send the same edit twice. ``flock`` goes with the open file, so the lock
    is released when the process dies, however it dies; the file itself is left in place (deleting it
    would let two processes lock two different files of the same name). ``wait``: seconds to wait for
    a one-shot holder to finish before giving up; a daemon behind a daemon gives up at once (a mistake).
    ``state`` is named in the error; by default ``lock_path`` without a ``.lock`` suffix.
    """

    def __init__(self, lock_path: Path, state: Path | None = None, *, command: str = "run", wait: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now().astimezone()):
        self.lock_path = Path(lock_path)
        self.state = state or (self.lock_path.with_suffix("") if self.lock_path.suffix == ".lock"
                               else self.lock_path)
        self.command, self.wait = command, wait
        self.clock, self.sleep, self.now = clock, sleep, now
        self._fd: int | None = None

    def __enter__(self) -> StateLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = self.clock() + self.wait
        while True:
            try:
                _lock(fd)
                break
            except OSError:
                holder = _read_holder(fd)
                # A daemon behind a daemon is a mistake, said at once; anyone else waits for a one-shot's end.
                if self.clock() < deadline and not (_daemon(holder[1]) and _daemon(self.command)):
                    self.sleep(min(POLL, max(deadline - self.clock(), 0.0)))
                    continue
                os.close(fd)
                raise StateBusy(self._busy_message(holder)) from None
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {self.command} {self.now().isoformat(timespec='seconds')}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def _busy_message(self, holder: tuple[str, str, str]) -> str:
        pid, command, since = holder
        who = f"`ozon-sync {command or '?'}` (pid {pid or 'unknown'}" + (f", since {since})" if since else ")")
        if _daemon(command) and _daemon(self.command):
            return (f"Another ozon-sync is using {self.state}: {who}. Two daemons never share one state; "
                    f"stop it first or point `state` elsewhere")
        waited = f" after waiting {self.wait:g} s" if self.wait else ""
        advice = ("the daemon pushes and writes every edit itself, so there is nothing to do; "
                  "to run this command anyway, stop the daemon first") if _daemon(command) else \
            "try again when it has finished"
        return f"{self.state} is in use by {who}{waited}: {advice}"

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


def _daemon(command: str) -> bool:
    """Does this command hold the lock for as long as it runs (the daemon, the demo serving)?"""
    return command in ("run", "demo")


def _read_holder(fd: int) -> tuple[str, str, str]:
    """(pid, command, since) as the holder wrote them; blanks for what cannot be read."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        words = os.read(fd, 256).decode("utf-8", "replace").split()
    except OSError:
        return "", "", ""
    pid = words[0] if words and words[0].isdigit() else ""
    return pid, words[1] if len(words) > 1 else "", words[2] if len(words) > 2 else ""


