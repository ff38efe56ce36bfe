"""Label files on disk: ``labels/YYYY-MM-DD/<posting>.pdf`` and one ``batch-HHMMSS.pdf`` per cycle, saved
whole or not at all; the optional print command run on each batch; labels erased with the buyer data.

A label shows what Ozon prints of the buyer, so the files are private to the daemon's user (folders
0700, files 0600), like the state file, and are erased ``privacy.purge_after_days`` after their day.
A printer that fails never stops the sync: the result is a value to log and show in ``status``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from sync.errors import FatalError
from sync.fbs import Printed

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSAFE = re.compile(r"[^0-9A-Za-z_.-]")


class LabelsUnwritable(FatalError):
    """The labels folder cannot be written: the message says which folder and what to do."""


class LabelFolder:
    def __init__(self, folder: Path):
        self.folder = folder

    def check(self) -> None:
        """Raise LabelsUnwritable when labels could not be saved here, before anything is fetched."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe.", dir=self.folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise LabelsUnwritable(
                f"Labels cannot be saved in {self.folder}: {exc.strerror or exc}. Make the folder writable for "
                f"the user the daemon runs as, or set labels.folder to another one") from None

    def save(self, posting: str, pdf: bytes, when: datetime) -> Path:
        """The posting's label for the day of ``when`` (local time), replacing an earlier one of that day."""
        return write_whole(self._day(when) / f"{_UNSAFE.sub('_', posting)}.pdf", pdf)

    def save_document(self, name: str, pdf: bytes, when: datetime) -> Path:
        """A hand-over document (``act-<carriage>.pdf``) in the day's folder beside the labels."""
        return write_whole(self._day(when) / _UNSAFE.sub("_", name), pdf)

    def save_batch(self, pdf: bytes, when: datetime) -> Path:
        """One cycle's labels in one file to print; a second batch in the same second gets ``-2``, ``-3``..."""
        day, stem = self._day(when), f"batch-{when:%H%M%S}"
        path, n = day / f"{stem}.pdf", 1
        while path.exists():
            n += 1
            path = day / f"{stem}-{n}.pdf"
        return write_whole(path, pdf)

    def purge(self, today: date, keep_days: int) -> int:
        """Erase the day folders older than ``keep_days`` before ``today``; returns how many files went."""
        gone = 0
        if not self.folder.is_dir():
            return 0
        horizon = today - timedelta(days=keep_days)
        for day in self.folder.iterdir():
            if not (day.is_dir() and _DAY.match(day.name)) or date.fromisoformat(day.name) >= horizon:
                continue
            for f in day.iterdir():
                if f.is_file():
                    f.unlink()
                    gone += 1
            day.rmdir()
        return gone

    def _day(self, when: datetime) -> Path:
        day = self.folder / when.strftime("%Y-%m-%d")
        day.mkdir(mode=0o700, parents=True, exist_ok=True)
        return day


class LabelShelf:
    """The engine's labels edge (sync.engine.types.LabelPort): files in a LabelFolder; the link a row shows
    (``upload`` puts the file on Drive and gives its address, else the path relative to ``workbook``, else
    the path); the print command run on each batch."""

    def __init__(self, folder: LabelFolder, *, workbook: Path | None = None,
                 upload: Callable[[str, bytes], str] | None = None, print_command: str | None = None,
                 print_timeout: float = 60.0):
        self.folder, self.workbook, self.upload = folder, workbook, upload
        self.print_command, self.print_timeout = print_command, print_timeout

    def check(self) -> None:
        self.folder.check()

    def save(self, number: str, pdf: bytes, when: datetime) -> str:
        path = self.folder.save(number, pdf, when)
        if self.upload is not None:
            return self.upload(f"{when:%Y-%m-%d}-{path.name}", pdf)
        return relative_link(self.workbook, path) if self.workbook is not None else str(path)

    def save_batch(self, pdf: bytes, when: datetime) -> str:
        return str(self.folder.save_batch(pdf, when))

    def print_batch(self, path: str) -> Printed | None:
        if not self.print_command:
            return None
        return print_batch(self.print_command, Path(path), timeout=self.print_timeout)

    def purge(self, today: date, keep_days: int) -> int:
        return self.folder.purge(today, keep_days)


def write_whole(path: Path, data: bytes) -> Path:
    """Write a file whole or not at all (a temporary beside it, then one rename), private to this user."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def print_batch(command: str, file: Path, *, timeout: float = 60.0) -> Printed:
    """Run ``labels.print_command`` (``{file}`` stands for the batch) without a shell; never raises."""
    argv = [part.replace("{file}", str(file)) for part in shlex.split(command)]
    if "{file}" not in command:
        argv.append(str(file))
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return Printed(False, f"the print command {argv[0]!r} was not found")
    except subprocess.TimeoutExpired:
        return Printed(False, f"the print command did not finish within {timeout:g} s")
    except OSError as exc:
        return Printed(False, f"the print command could not run: {exc.strerror or exc}")
    said = (done.stderr or done.stdout).strip().splitlines()
    tail = f": {said[-1]}" if said else ""
    if done.returncode != 0:
        return Printed(False, f"the print command failed (exit {done.returncode}){tail}")
    return Printed(True, f"sent {file.name} to the printer{tail}")


def relative_link(from_file: Path, to_file: Path) -> str:
    """The link a workbook holds to a label: relative to the workbook's folder, with forward slashes."""
    return Path(os.path.relpath(to_file, from_file.parent)).as_posix()
