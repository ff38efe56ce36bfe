"""Drive files that are not spreadsheets: folders and uploaded media, kept in memory per emulator, with
who may see them and who may add to a folder, as Drive decides it.

Drive's rules kept here: a file the caller cannot see is "not found" (404), not "forbidden"; a folder
shared read-only lets the caller see it but not add to it (403); a service account owns what it
uploads and has no storage of its own, so it may upload only into a shared drive's folder (403
``storageQuotaExceeded`` in a My Drive folder); and a shared drive's files are found only by a caller
that says ``supportsAllDrives=true``.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sync.emulators.server import Json
from sync.emulators.sheets.errors import ApiError

FOLDER_MIME = "application/vnd.google-apps.folder"
SERVICE_ACCOUNT_DOMAIN = ".gserviceaccount.com"
NO_QUOTA = ("Service Accounts do not have storage quota. Leverage shared drives "
            "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), or use OAuth delegation "
            "(http://support.google.com/a/answer/7281227) instead.")


def refusal(http: int, message: str, reason: str, domain: str = "global") -> ApiError:
    """A Drive error with its ``errors[].reason`` and ``domain`` (read by ``drive.drive_error``)."""
    return ApiError(http, message, extra={"reason": reason, "domain": domain})


def not_found(file_id: str) -> ApiError:
    return refusal(404, f"File not found: {file_id}.", "notFound")


@dataclass(frozen=True)
class Media:
    """An ``alt=media`` answer: the file's bytes and its Content-Type."""

    data: bytes
    mime: str


@dataclass
class DriveFile:
    """A folder (``data`` None) or an uploaded file. ``editors`` may add to a folder (None: anyone),
    ``readers`` may only see it; an uploaded file is seen by whoever sees its folder, and its owner."""

    file_id: str
    name: str
    mime: str
    parents: list[str]
    created: datetime
    owner: str | None = None
    data: bytes | None = None
    editors: set[str] | None = None
    readers: set[str] = field(default_factory=set)
    shared_drive: bool = False

    @property
    def is_folder(self) -> bool:
        return self.mime == FOLDER_MIME

    def json(self) -> Json:
        """The File with every field the emulator knows."""
        stamp = self.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.created.microsecond // 1000:03d}Z"
        out: Json = {"kind": "drive#file", "id": self.file_id, "name": self.name, "mimeType": self.mime,
                     "parents": list(self.parents), "createdTime": stamp, "modifiedTime": stamp, "version": "1"}
        if self.is_folder:
            out["webViewLink"] = f"https://drive.google.com/drive/folders/{self.file_id}"
        else:
            data = self.data or b""
            out.update({"webViewLink": f"https://drive.google.com/file/d/{self.file_id}/view",
                        "webContentLink": f"https://drive.google.com/uc?id={self.file_id}&export=download",
                        "size": str(len(data)), "md5Checksum": hashlib.md5(data).hexdigest(),  # noqa: S324 - Drive's
                        "originalFilename": self.name})
        return out


class DriveFiles:
    """Every folder and uploaded file by id; ``rng`` makes up ids, ``clock`` stamps them."""

    def __init__(self, rng: random.Random, clock: Callable[[], datetime]) -> None:
        self.files: dict[str, DriveFile] = {}
        self._rng, self._clock = rng, clock

    def add(self, name: str, mime: str, parents: list[str], *, owner: str | None, data: bytes | None = None,
            editors: set[str] | None = None, readers: set[str] | None = None, shared_drive: bool = False) -> DriveFile:
        alphabet = string.ascii_letters + string.digits + "-_"
        while (file_id := "1" + "".join(self._rng.choice(alphabet) for _ in range(32))) in self.files:
            pass
        file = DriveFile(file_id, name, mime, parents, self._clock(), owner, data, editors, set(readers or ()),
                         shared_drive)
        self.files[file_id] = file
        return file

    def visible(self, file: DriveFile, user: str | None) -> bool:
        if user is None or user == file.owner:
            return True
        if file.is_folder:
            return file.editors is None or user in file.editors or user in file.readers
        return any(p in self.files and self.visible(self.files[p], user) for p in file.parents)

    def find(self, file_id: str, user: str | None, all_drives: bool) -> DriveFile:
        """The file the caller may see, else 404 (Drive does not tell a hidden file from a missing one)."""
        file = self.files.get(file_id)
        if file is None or not self.visible(file, user) or (file.shared_drive and not all_drives):
            raise not_found(file_id)
        return file

    def parent_for_new(self, folder_id: str, user: str | None, all_drives: bool, *, owns_bytes: bool) -> DriveFile:
        """The folder a new file goes into, when the caller may add to it; else Drive's refusal."""
        folder = self.find(folder_id, user, all_drives)
        if not folder.is_folder:
            raise refusal(400, "The specified parent is not a folder.", "invalidParent")
        if user is not None and folder.editors is not None and user not in folder.editors and user != folder.owner:
            raise refusal(403, f"The user does not have sufficient permissions for file {folder_id}.",
                          "insufficientFilePermissions")
        if owns_bytes and not folder.shared_drive and is_service_account(user):
            raise refusal(403, NO_QUOTA, "storageQuotaExceeded", "usageLimits")
        return folder


def is_service_account(user: str | None) -> bool:
    return user is not None and user.endswith(SERVICE_ACCOUNT_DOMAIN)
