"""The workbook as a file among others in its folder: reading its bytes whole, telling its versions apart,
Excel's ``~$name`` and LibreOffice's ``.~lock.name#`` lock files and who holds them, the copies sync clients
make when two people save at once, and replacing it atomically with the same access (and clearing the
temporary files a killed save left)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sync.errors import SheetBusy

STALE_LOCK_HOURS = 12


# --- versions of the file ------------------------------------------------------------------------

@dataclass(frozen=True)
class Fingerprint:
    """What a version of the file looks like: mtime alone is not enough (sync tools round or keep it)."""

    size: int
    mtime_ns: int
    sha1: str


def fingerprint(path: Path, data: bytes) -> Fingerprint:
    st = path.stat()
    return Fingerprint(st.st_size, st.st_mtime_ns, hashlib.sha1(data).hexdigest())


def read_bytes(path: Path) -> bytes:
    """The whole file, with the handle closed at once so Excel can still save over it."""
    with open(path, "rb") as fh:
        return fh.read()


# --- lock files ----------------------------------------------------------------------------------


def _split_lo_fields(text: str) -> list[str]:
    """LibreOffice's lock line: comma-separated fields, ``;`` at the end, backslash escapes."""
    fields, cur, escaped = [], [], False
    for ch in text.strip():
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            fields.append("".join(cur))
            cur = []
        elif ch == ";":
            break
        else:
            cur.append(ch)
    fields.append("".join(cur))
    return [f.strip() for f in fields]


def _libreoffice_holder(data: bytes) -> str:
    fields = _split_lo_fields(data.decode("utf-8", errors="replace")) + ["", "", "", ""]
    full_name, user, host, since = fields[0], fields[1], fields[2], fields[3]
    who = full_name or user or "someone"
    where = f" on {host}" if host and not full_name else ""
    when = f" (since {since})" if since else ""
    return f"The workbook is open in LibreOffice by {who}{where}{when}; writes wait until it is closed"


def _printable(name: str) -> bool:
    return bool(name) and all(ch.isprintable() for ch in name)


def _excel_owner_name(data: bytes) -> str | None:
    """Best effort: Excel's ``~$`` owner file starts with a length byte and the user name in the
    ANSI code page, and holds the name again in UTF-16 a little further on (around byte 54)."""
    for len_at, name_at in ((54, 56), (55, 57), (53, 55)):
        if len(data) >= name_at:
            n = int.from_bytes(data[len_at:len_at + 2], "little")
            if 0 < n <= 54 and name_at + 2 * n <= len(data):
                try:
                    name = data[name_at:name_at + 2 * n].decode("utf-16-le")
                except UnicodeDecodeError:
                    continue
                if _printable(name.strip()):
                    return name.strip()
    if data and 0 < data[0] <= 53 and len(data) > data[0]:
        name = data[1:1 + data[0]].decode("cp1251", errors="replace").strip()
        if _printable(name):
            return name
    return None


def _since(path: Path) -> str:
    try:
        return time.strftime("%d.%m.%Y %H:%M", time.localtime(path.stat().st_mtime))
    except OSError:
        return ""


def lock_files(path: Path) -> list[tuple[str, Path]]:
    """The lock files beside the workbook: (``libreoffice`` or ``excel``, the file)."""
    name = path.name
    candidates = [
        ("libreoffice", path.with_name(f".~lock.{name}#")),
        ("excel", path.with_name(f"~${name}")),
    ]
    if len(name) > 2:
        candidates.append(("excel", path.with_name(f"~${name[2:]}")))
    return [(kind, p) for kind, p in candidates if p.exists()]


def lock_holder(path: Path, clock: Callable[[], float]) -> str | None:
    """Who has the workbook open (from its lock file), in words, or None; ``clock``: the time, to tell a stale lock."""
    for kind, lock in lock_files(path):
        try:
            data = lock.read_bytes()
        except OSError:
            data = b""
        if kind == "libreoffice":
            text = _libreoffice_holder(data)
        else:
            who = _excel_owner_name(data) or "someone"
            since = _since(lock)
            text = f"The workbook is open in Excel by {who}{f' (since {since})' if since else ''}; " \
                   f"writes wait until it is closed"
        return text + _stale_hint(lock, clock)
    return None


def _stale_hint(lock: Path, clock: Callable[[], float]) -> str:
    try:
        age_h = (clock() - lock.stat().st_mtime) / 3600
    except OSError:
        return ""
    if age_h < STALE_LOCK_HOURS:
        return ""
    return (f" (the lock file {lock.name} is {int(age_h)} hours old: if nobody has the workbook open, "
            f"delete that file)")


def check_writable(path: Path, clock: Callable[[], float]) -> None:
    """SheetBusy while the file may not be written: a lock file beside it, or the file marked read-only
    (our save replaces the file, which the folder would allow, but the person asked for it to stay)."""
    holder = lock_holder(path, clock)
    if holder:
        raise SheetBusy(holder)
    try:
        read_only = not path.stat().st_mode & 0o222
    except FileNotFoundError:
        return
    if read_only:
        raise SheetBusy(f"The workbook {path.name} is marked read-only; writes wait until it is writable again "
                        f"(clear «Read-only» in its properties, or chmod u+w {path.name}). Edits are still pushed.")


# --- conflict copies -----------------------------------------------------------------------------


def conflict_copies(path: Path) -> list[str]:
    """Files beside the workbook that sync clients (OneDrive, Dropbox, Syncthing, Nextcloud) made
    when two people saved at once: their edits are not in the live workbook."""
    stem, suffix = re.escape(path.stem), re.escape(path.suffix)
    patterns = [
        rf"{stem} \(\d+\){suffix}",  # orders (1).xlsx
        rf"{stem} \([^)]*conflict[^)]*\){suffix}",  # Dropbox / Nextcloud "(... conflicted copy ...)"
        rf"{stem}\.sync-conflict-\d{{8}}-\d{{6}}(-[A-Za-z0-9]+)?{suffix}",  # Syncthing
        rf"{stem}-(?!archive-)[A-Za-z0-9][A-Za-z0-9_-]*{suffix}",  # OneDrive: orders-DESKTOP-AB12.xlsx
    ]
    rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.I)
    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()]
    except OSError:
        return []
    return sorted(n for n in names if n != path.name and rx.fullmatch(n))


# --- replacing the file --------------------------------------------------------------------------


def _same_access(fd: int, original: Path) -> None:
    """Give the file about to replace ``original`` its mode, owner and group, so people who share the
    workbook through a group keep their access; a new workbook gets the usual mode (umask applies)."""
    try:
        st = original.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        return
    if hasattr(os, "fchown"):
        for uid, gid in ((st.st_uid, st.st_gid), (-1, st.st_gid)):  # only root may give the file away
            try:
                os.fchown(fd, uid, gid)
                break
            except PermissionError:
                continue
    os.fchmod(fd, stat.S_IMODE(st.st_mode))


def remove_stale_temporaries(path: Path) -> list[str]:
    """Delete the temporary files a save of this workbook (or of its archives) left when the process was
    killed mid-save. Only ours: ``.<stem>.<random>.tmp`` beside it; called at start, under the state's lock."""
    rx = re.compile(rf"\.{re.escape(path.stem)}(-archive-[\w.-]+)?\.[A-Za-z0-9_]{{8}}\.tmp")
    removed: list[str] = []
    try:
        strays = [p for p in path.parent.iterdir() if rx.fullmatch(p.name) and p.is_file()]
    except OSError:
        return removed
    for stray in strays:
        try:
            stray.unlink()
            removed.append(stray.name)
        except OSError:
            continue
    return removed


def replace_file(data: bytes, path: Path, loaded: bytes | None, check: Callable[[Path], None]) -> None:
    """Save atomically: a temporary file in the same folder, with the original's mode and owner, replaces
    the workbook in one step. ``check(path)`` raises when the file may not be written now; ``loaded`` is the
    bytes we started from: if the file changed meanwhile, nothing is replaced."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            _same_access(fh.fileno(), path)
            os.fsync(fh.fileno())
        check(path)
        current = read_bytes(path) if path.exists() else None
        if current != loaded:
            raise SheetBusy(f"The workbook {path.name} changed while the sync was saving it; writing next cycle")
        try:
            os.replace(tmp, path)
        except PermissionError:
            raise SheetBusy(
                f"The workbook {path.name} is open elsewhere and cannot be replaced; writes wait for the next cycle"
            ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
