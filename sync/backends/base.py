"""The one interface every spreadsheet backend implements.

Glossary
--------
row       1-based sheet row number, header = row 1. Only a locator, valid for the read that
          returned it: people sort, insert and delete rows between cycles.
field     a mapping field name (``status``, ``tracking_number``...). Backends find columns by
          header text on every read, so staff may move columns around.
text      the engine sees every cell as text, made canonical by ``Column.canonical``; backends
          store numbers and dates typed (``Column.typed``) and everything else as plain text:
          written as values, never as formulas (RAW), so "=SUM(1)" from Ozon stays text.
snapshot  what one read returned: the rows that have anything in the requested fields.

Errors each method may raise
----------------------------
read            SheetLayoutError (no header or no key column), SheetBusy, SheetUnavailable,
                WorkbookError (Excel: corrupt file)
write           SheetBusy (the file changed since it was read, or is open elsewhere: nothing was
                written, try next cycle), SheetUnavailable, WorkbookError (saving would lose
                content it names)
ensure_layout   as write
archive_rows    as write
flush_tabs      as write

Read-only tabs (FBO postings, returns) are replaced whole: ``stage_tab`` queues the new content and
the next ``write`` carries it — on Google in the same batchUpdate, on Excel in the same save — so
mirroring them costs no extra request or save; ``flush_tabs`` writes what no write carried.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.mapping import ColumnMap
from sync.model import CellWrite, Owner, SheetRow

# One fill colour per status label id (statuses.yaml), used for conditional formatting.
STATUS_COLOURS: dict[str, str] = {
    "new": "FFF2CC",
    "packaging": "FCE4D6",
    "packed": "DDEBF7",
    "arbitration": "F8CBAD",
    "delivering": "E2EFDA",
    "last_mile": "C6E0B4",
    "delivered": "A9D08E",
    "cancelled": "D9D9D9",
    "not_accepted": "F4B084",
}
OZON_SHADE = "F2F2F2"
NUMBER_FORMATS = {"integer": "0", "money": "#,##0.00"}  # a column format -> its number pattern, on every backend
MIRROR_MARK = "ozon-sync: read-only mirror"  # how a backend recognises a read-only tab it made


def not_ours(title: str) -> str:
    """The refusal when a tab of a read-only mirror's name exists but was not made by ozon-sync."""
    return (f"The spreadsheet already has a tab «{title}» that ozon-sync did not make; it is left as it is. "
            f"Rename or delete that tab, or set spreadsheet.fbo_worksheet / spreadsheet.returns_worksheet "
            f"to another name")


def renamed_tab(worksheet: str, tabs: Iterable[tuple[str, Sequence[Any]]], columns: ColumnMap,
                skip: Callable[[str], bool] = lambda title: False) -> str | None:
    """When the tab «worksheet» is missing: the refusal naming the tab(s) that carry its header row (the
    key column and every column staff and ozon-sync both edit), i.e. the live tab a person renamed. Nothing
    is created or written meanwhile, so the edits and comments typed there are not stranded; None when no
    other tab looks like ours. ``tabs``: (title, header row) of the other tabs; ``skip``: archive tabs."""
    needed = {columns.key.field, *(c.field for c in columns.columns if c.owner is Owner.BOTH)}
    found = [title for title, header in tabs
             if title != worksheet and not skip(title) and needed <= set(header_index(header, columns))]
    if not found:
        return None
    names = ", ".join(f"«{t}»" for t in found)
    one = found[0]
    return (f"The tab «{worksheet}» is missing, but {names} has its header row: it was renamed. Rename "
            f"«{one}» back to «{worksheet}», or set spreadsheet.worksheet: {one} in the config. Nothing was "
            f"written or created; what is typed there is kept and synced once the names agree.")


def header_index(header: Sequence[Any], columns: ColumnMap) -> dict[str, int]:
    """field -> 0-based column index, found by header text (trimmed, any case): people reorder columns.
    With the same header twice, the first one counts."""
    idx: dict[str, int] = {}
    for col in columns.columns:
        want = col.header.strip().casefold()
        for i, value in enumerate(header):
            if value is not None and str(value).strip().casefold() == want:
                idx[col.field] = i
                break
    return idx


@dataclass(frozen=True)
class Layout:
    """What ``ensure_layout`` lays out besides the header.

    dropdowns: field -> allowed values (advisory: any value may still be typed).
    status_colours: status label text -> fill colour (hex RGB) for the status column.
    protect: Excel sheet protection / Google enforced protected ranges (off by default: it blocks sorting).
    editors: Google e-mails allowed to edit Ozon-owned ranges when protection is enforced.
    """

    dropdowns: dict[str, list[str]] = field(default_factory=dict)
    status_colours: dict[str, str] = field(default_factory=dict)
    protect: bool = False
    editors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TabContent:
    """A read-only tab, replaced whole: its title, its columns (header text, format, width), the rows
    as text by field (the engine's canonical text, typed by ``Column.typed`` when stored), and a
    notice for people (the header's note; on Google also the protected range's description)."""

    title: str
    columns: ColumnMap
    rows: tuple[dict[str, str], ...]
    notice: str = ""

    def grid(self) -> list[list[str]]:
        """Header row and data rows as text, in column order."""
        fields = [c.field for c in self.columns.columns]
        return [[c.header for c in self.columns.columns], *([r.get(f, "") for f in fields] for r in self.rows)]


@dataclass(frozen=True)
class Snapshot:
    """Rows read from the sheet. ``missing`` names mapped fields whose header was not found; ``blocked``:
    rows the backend cannot write (merged cells over a written column) -> why, in words."""

    rows: list[SheetRow]
    missing: frozenset[str] = frozenset()
    blocked: Mapping[int, str] = field(default_factory=dict)


class RowReader:
    """Builds the rows of one read: one field index for all of them, and equal texts kept once
    (a status, a warehouse or a date repeats over thousands of rows)."""

    def __init__(self, fields: Sequence[str]):
        self.index = {f: i for i, f in enumerate(fields)}
        self._texts: dict[str, str] = {}

    def values(self, texts: Iterable[str]) -> tuple[str, ...]:
        keep = self._texts.setdefault
        return tuple([keep(t, t) for t in texts])

    def row(self, n: int, values: tuple[str, ...]) -> SheetRow | None:
        """Sheet row ``n`` with these values (in the reader's field order); None when every cell is empty."""
        return SheetRow(n, index=self.index, values=values) if any(values) else None


class SheetBackend(ABC):
    """A worksheet of one row per posting. Implementations: memory, excel, google."""

    columns: ColumnMap
    name: str = "sheet"  # the kind of backend, for logs: memory, excel, google
    worksheet: str = "Заказы"  # the tab people see, named in messages
    max_cell_chars: int = 50000  # the longest text a cell holds; longer texts are cut (Excel: 32767)
    path: Path | None = None  # the file the spreadsheet is (Excel's workbook); None when it is not a local file

    @abstractmethod
    def ensure_layout(self, layout: Layout) -> None:
        """Create the sheet if missing; add missing header cells at the end; freeze the header;
        apply dropdowns, status colours, text format on text columns and the Ozon-column shade.
        Never moves, renames or clears a column, and never touches staff column widths."""

    @abstractmethod
    def read(self, fields: Sequence[str]) -> Snapshot:
        """Read the given fields of every data row that has anything in them.

        Raises SheetLayoutError if the header row or the key column is missing."""

    def read_rows(self, fields: Sequence[str], rows: Collection[int]) -> dict[int, tuple[str, ...]]:
        """The given fields of these rows (row -> texts in ``fields`` order; "" where a field is missing;
        a blank row is left out),
        for the re-read just before a write. A backend that can read a few rows cheaply does so."""
        wanted = set(rows)
        return {r.row: tuple(r.get(f) for f in fields) for r in self.read(fields).rows if r.row in wanted}

    @abstractmethod
    def write(self, writes: Sequence[CellWrite], appends: Sequence[dict[str, str]]) -> None:
        """Apply cell writes (rows from this cycle's read) and append new rows at the bottom,
        all in one batch. Cells not named are left exactly as they are."""

    @abstractmethod
    def archive_rows(self, rows: Sequence[int], period: str) -> None:
        """Move whole rows (every column, staff ones too) to the archive for ``period`` (YYYY-MM)
        and remove them from the live sheet."""

    # --- read-only tabs ------------------------------------------------------------------------

    def _tab_queue(self) -> dict[str, TabContent]:
        queue: dict[str, TabContent] | None = self.__dict__.get("_staged_tabs")
        if queue is None:
            queue = self.__dict__["_staged_tabs"] = {}
        return queue

    def stage_tab(self, tab: TabContent) -> None:
        """Queue ``tab`` to replace the tab of that title whole (created when missing, header frozen,
        protected with a warning). It is written with the next ``write`` or ``flush_tabs``; a later
        stage of the same title replaces an earlier one. A tab of that title that the backend did not
        make (no ``MIRROR_MARK``) is never overwritten: it stays staged, ``write`` still writes the
        cells, and ``flush_tabs`` raises SheetLayoutError naming it."""
        self._tab_queue()[tab.title] = tab

    def pending_tabs(self) -> list[str]:
        """Titles staged and not written yet."""
        return list(self._tab_queue())

    def discard_tabs(self) -> None:
        """Forget staged tabs (their write failed; the caller stages them again later)."""
        self._tab_queue().clear()

    def flush_tabs(self) -> None:
        """Write staged tabs that no ``write`` carried this cycle (one batch; nothing when none)."""
        if self._tab_queue():
            self.write([], [])

    def clean_up(self) -> list[str]:
        """Remove what a process killed mid-write left behind (Excel: temporary files beside the workbook);
        returns their names. Called at start, under the state's lock, so no write of ours is in flight."""
        return []

    def lock_holder(self) -> str | None:
        """Who has the spreadsheet open in a way that defers our writes (Excel lock files), or None."""
        return None

    def exists(self) -> bool:
        """False when the spreadsheet is a file that is not there yet (the first pull creates it)."""
        return self.path is None or self.path.exists()

    def conflict_copies(self) -> list[str]:
        """Names of the copies a sync client (OneDrive, Dropbox...) made beside the spreadsheet when two people
        saved at once: their edits are not in the live one. Empty for a backend without files."""
        return []

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release resources (HTTP sessions). Safe to call twice."""
