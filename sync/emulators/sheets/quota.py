"""What limits and breaks requests: Google's per-user quotas for reads and writes in a sliding 60 s
window, and the error answers of injected faults (``Faults``: 429, 500, 503)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime

from sync.emulators.sheets.errors import ApiError
from sync.emulators.sheets.routing import READ_KINDS


def quota_error(read: bool) -> ApiError:
    what = "Read" if read else "Write"
    return ApiError(429, f"Quota exceeded for quota metric '{what} requests' and limit '{what} requests per minute "
                         "per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.")


class Quota:
    """The requests each user made in the last minute, reads and writes apart."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], deque[float]] = {}

    def check(self, kind: str, user: str | None, clock: Callable[[], datetime], *, reads_per_minute: int,
              writes_per_minute: int) -> None:
        """Count a Sheets request now, or 429 when its window is full. Drive and token requests are not
        counted."""
        if not (kind.startswith("values.") or kind.startswith("spreadsheets.")):
            return
        read = kind in READ_KINDS
        limit = reads_per_minute if read else writes_per_minute
        now = clock().timestamp()
        window = self._windows.setdefault((user or "anonymous", "read" if read else "write"), deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= limit:
            raise quota_error(read)
        window.append(now)


def fault_error(fault: str | None, kind: str) -> ApiError | None:
    """The error answer an injected fault stands for (None: the fault is not an error answer)."""
    if fault == "429":
        if kind.startswith("drive."):
            return ApiError(429, "User rate limit exceeded.", extra={"reason": "userRateLimitExceeded",
                                                                     "domain": "usageLimits"})
        return quota_error(kind in READ_KINDS)
    if fault == "disabled":  # the project has not enabled this API
        api = "Google Drive API" if kind.startswith("drive.") else "Google Sheets API"
        return ApiError(403, f"{api} has not been used in project 123456789012 before or it is disabled.",
                        extra={"reason": "accessNotConfigured", "domain": "usageLimits"})
    if fault == "500":
        return ApiError(500, "Internal error encountered.")
    if fault == "503":
        return ApiError(503, "The service is currently unavailable.")
    return None
