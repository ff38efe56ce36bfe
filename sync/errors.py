"""Every error the tool raises on purpose, grouped by what the caller does about it.

    SyncError                      base; ``str(err)`` is a sentence a person can act on
    ├── ConfigError                bad config or usage: print every problem, exit 2
    ├── FatalError                 stop this command or cycle: exit 1
    │   ├── OzonAuthError          the Api-Key or Client-Id is wrong, expired or lacks a role
    │   ├── SheetLayoutError       the sheet lost its key column or header, or reads empty
    │   ├── SheetAccessError       Google refuses the spreadsheet (not shared, no such key, bad credentials)
    │   ├── StateError             the state file is corrupt or newer than us
    │   │   └── StateBusy          another ozon-sync (the daemon, a sync) holds the state's lock
    │   └── WorkbookError          the workbook is corrupt, unreadable, or holds what openpyxl would drop
    ├── RetryLater                 nothing is lost; try again next cycle
    │   ├── OzonUnavailable        5xx, timeouts, "Circle is open", rate limit after our retries
    │   ├── SheetBusy              the workbook is open elsewhere, changed under us, or the API is over quota
    │   └── SheetUnavailable       the spreadsheet service failed after our retries
    └── ItemError                  skip this posting, note the row, go on
        └── OzonRefused            Ozon answered, and said no to this posting (code + message)
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every deliberate error; the message is meant for people."""


class ConfigError(SyncError):
    """The config or the command line is wrong. ``problems`` lists each one with its key path."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class FatalError(SyncError):
    """The command (or this daemon cycle) cannot go on; a person must fix something."""


class OzonAuthError(FatalError):
    """Ozon refused our credentials (wrong key, deactivated key, missing role, IP restriction)."""


class SheetLayoutError(FatalError):
    """The sheet's header or key column is missing, or the sheet suddenly reads empty."""


class SheetAccessError(FatalError):
    """Google refuses us the spreadsheet: not shared with the service account, no such key, bad credentials."""


class StateError(FatalError):
    """The SQLite state store cannot be used."""


class StateBusy(StateError):
    """Another ozon-sync process holds the state's lock; the message names it (pid, command, since when)."""


class WorkbookError(FatalError):
    """The Excel workbook cannot be read, or saving it would lose something."""


class RetryLater(SyncError):
    """A passing condition: nothing was lost, the next cycle tries again."""


class OzonUnavailable(RetryLater):
    """Ozon did not answer usefully (5xx, timeout, rate limit, "Circle is open") after bounded retries."""


class SheetBusy(RetryLater):
    """The spreadsheet is in use (a lock file, a change under us, a quota); writes wait for a later cycle."""


class SheetUnavailable(RetryLater):
    """The spreadsheet service did not answer usefully after bounded retries."""


class ItemError(SyncError):
    """One posting could not be handled; the others go on."""


class OzonRefused(ItemError):
    """Ozon answered and refused the request for this posting.

    ``code`` is Ozon's business code (``TRANSITION_IS_NOT_POSSIBLE``...) or the HTTP status as text;
    ``message`` is Ozon's own words.
    """

    def __init__(self, code: str, message: str = "", posting_number: str = ""):
        self.code = code
        self.message = message or code
        self.posting_number = posting_number
        super().__init__(f"Ozon refused{' ' + posting_number if posting_number else ''}: {self.message}")
