"""Wakers that watch the sheet, so a person's save is pushed at once instead of at the next cycle.

``WorkbookWatcher``: the Excel workbook's size and modification time, looked at each time the daemon asks
(a few times a second; one ``stat``, so it works on any file system, SMB shares included). A version the
backend neither read nor saved itself is a person's save; it is reported once the file has been quiet
for ``quiet`` seconds (a save writes the file more than once), and once only.

``SheetVersionWatcher``: the Google spreadsheet's Drive version, asked every ``every`` seconds
(``schedule.sheet_poll``; one small Drive request, the whole cost of an idle look at any sheet size). A
version other than the one the backend last read — a person's edit, or our own write, after which the
sheet is read once more — is reported once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

Version = tuple[int, int]  # (size, mtime_ns)


class WorkbookWatcher:
    def __init__(self, path: Path, known: Callable[[], Version | None], *, quiet: float = 0.4,
                 monotonic: Callable[[], float] = time.monotonic):
        """``known``: the version the backend last read or saved (its own writes are not a person's save)."""
        self.path, self.known, self.quiet, self.monotonic = path, known, quiet, monotonic
        self._seen: Version | None = None  # the version last looked at, and since when
        self._since = 0.0
        self._told: Version | None = None  # the version last reported

    def poll(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError:
            return ""  # being replaced, or gone: the cycle says what is wrong
        version = (st.st_size, st.st_mtime_ns)
        now = self.monotonic()
        if version != self._seen:
            self._seen, self._since = version, now
            return ""
        if version in (self.known(), self._told) or now - self._since < self.quiet:
            return ""
        self._told = version
        return f"{self.path.name} was saved"


class SheetVersionWatcher:
    def __init__(self, version: Callable[[], int | None], known: Callable[[], int | None], *, every: float,
                 name: str = "The Google sheet", monotonic: Callable[[], float] = time.monotonic):
        """``version``: asks Drive (None: it did not say); ``known``: the version of the backend's last read."""
        self.version, self.known, self.every, self.name = version, known, every, name
        self.monotonic = monotonic
        self._next = monotonic() + every
        self._told: int | None = None

    def poll(self) -> str:
        now = self.monotonic()
        if now < self._next:
            return ""
        self._next = now + self.every
        version = self.version()
        if version is None or version in (self.known(), self._told):
            return ""
        self._told = version
        return f"{self.name} changed"
