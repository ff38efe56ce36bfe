"""The engine's plain values: options, what it needs from Ozon, what it keeps of a posting, its report."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sync.fbs import Exemplar, ExemplarCheck, ItemDefaults, ItemNeeds, MarkProblem, NotReady, Printed
from sync.model import Posting, Scheme, SheetRow

Key = tuple[str, str]  # (account, posting number)
ByKey = dict[Key, tuple[SheetRow, ...]]  # the rows of each posting on the sheet (more than one: duplicates)


class OzonPort(Protocol):
    """What the engine needs from Ozon (sync.ozon.OzonClient, or an in-process model in tests)."""

    def list_postings(self, since: datetime, to: datetime, *, changed_since: datetime | None = None,
                      changed_to: datetime | None = None, statuses: Sequence[str] = ()) -> Iterator[Posting]: ...
    def list_unfulfilled(self, *, changed_since: datetime | None = None,
                         statuses: Sequence[str] = ()) -> Iterator[Posting]: ...
    def get_posting(self, number: str) -> Posting: ...
    def ship(self, posting: Posting) -> None: ...
    def awaiting_delivery(self, number: str) -> None: ...
    def set_delivering(self, number: str) -> None: ...
    def set_last_mile(self, number: str) -> None: ...
    def set_delivered(self, number: str) -> None: ...
    def set_tracking_number(self, number: str, tracking: str) -> None: ...
    def cancel(self, number: str, reason_id: int, message: str = "") -> None: ...


class DayPort(Protocol):
    """What the engine needs of an account's FBS day (sync.ozon.fbs_day.FbsDay): item data before packing,
    labels after it. Every method is safe to repeat; ``set_exemplars`` replaces what was set before."""

    def item_needs(self, number: str) -> tuple[ItemNeeds, ...]: ...
    def validate_marks(self, number: str, marks_by_product: Mapping[int, Sequence[str]],
                       mark_type: str = "mandatory_mark") -> tuple[MarkProblem, ...]: ...
    def set_exemplars(self, number: str, exemplars_by_product: Mapping[int, Iterable[Exemplar]], *,
                      multi_box_qty: int = 0) -> None: ...
    def exemplar_status(self, number: str) -> ExemplarCheck: ...
    def set_country(self, number: str, product_id: int, iso: str) -> bool: ...
    def set_multibox(self, number: str, qty: int) -> None: ...
    def labels(self, numbers: Sequence[str]) -> bytes | NotReady: ...


class LabelPort(Protocol):
    """Where the labels go (sync.labels.LabelShelf): files in the labels folder, the link a row shows (a path
    relative to the workbook, or the file uploaded to Drive), and the print command."""

    def check(self) -> None: ...  # raises LabelsUnwritable when nothing could be saved
    def save(self, number: str, pdf: bytes, when: datetime) -> str: ...  # the link for the row
    def save_batch(self, pdf: bytes, when: datetime) -> str: ...  # the batch file's path
    def print_batch(self, path: str) -> Printed | None: ...  # None: no print command is set
    def purge(self, today: date, keep_days: int) -> int: ...


@dataclass(frozen=True)
class AccountOptions:
    """What differs between Ozon accounts in one sheet (the `accounts:` entries of the config)."""

    schemes: frozenset[Scheme] = frozenset({Scheme.FBS, Scheme.RFBS})
    lookback_days: int = 30
    full_every: float = 300.0


@dataclass(frozen=True)
class EngineOptions:
    account: str = "main"  # the default account: a row whose account cell is empty belongs to it
    schemes: frozenset[Scheme] = frozenset({Scheme.FBS, Scheme.RFBS})
    tz: ZoneInfo = ZoneInfo("Europe/Moscow")
    lookback_days: int = 30
    full_every: float = 300.0
    overlap: float = 120.0
    hold_minutes: float = 10.0
    ship_retries: int = 2
    settle_seconds: float = 120.0
    verify_wait: float = 0.0
    verify_poll: float = 0.5
    archive_after_days: int = 14
    customer_data: bool = False
    purge_after_days: int = 7
    buyer_fetches: int = 50  # at most this many /v3/posting/fbs/get calls per cycle for buyer data
    append_batch: int = 10_000  # at most this many rows added per cycle (a backfill takes several)
    accounts: Mapping[str, AccountOptions] = field(default_factory=dict)  # per account; else the fields above
    items: Mapping[str, ItemDefaults] = field(default_factory=dict)  # offer id -> item data given in the config
    label_wait: float = 45.0  # seconds after a verified ship before its label is first asked for
    concurrency: int = 8  # Ozon calls the outbox has in flight at once (the client's rate limiter keeps the budget)
    round_size: int = 200  # postings the outbox takes in one round (read, send, verify)
    outbox_budget: float = 25.0  # seconds after which the outbox starts no new round: the rest go next cycle

    def of_account(self, account: str) -> AccountOptions:
        got = self.accounts.get(account)
        return got if got is not None else AccountOptions(self.schemes, self.lookback_days, self.full_every)


@dataclass(frozen=True, slots=True)
class Brief:
    """What an engine keeps in memory of a posting between cycles; the posting itself is read from the
    state store when a row needs it (an edit, a change at Ozon, a row to lay out), so a daemon over
    100,000 postings holds a few numbers each, not the postings."""

    fp: int  # hash of the posting as last stored: changes when anything Ozon shows of it changes
    scheme: Scheme
    finished: bool
    owner: str  # the sheet it belongs on under operator views ("" = the main one)


@dataclass
class CycleReport:
    view: str = ""  # the operator view this report is for ("" = the main sheet)
    pulled: int = 0
    calls: int = 0
    verified: int = 0
    waiting: int = 0
    refused: int = 0
    held: int = 0
    cells_written: int = 0
    rows_added: int = 0
    rows_archived: int = 0
    rows_skipped: int = 0
    rows_waiting: int = 0  # rows to add that did not fit in this cycle's write (append_batch)
    labels: int = 0  # labels saved
    deferred: str = ""
    failed_accounts: dict[str, str] = field(default_factory=dict)  # account -> why it was skipped this cycle
    planned: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"pulled {self.pulled} postings",
            f"{self.calls} Ozon calls ({self.verified} verified, {self.waiting} waiting, {self.refused} refused)",
            f"{self.cells_written} cells written",
            f"{self.rows_added} rows added",
        ]
        if self.held:
            parts.append(f"{self.held} edits held")
        if self.labels:
            parts.append(f"{self.labels} label{'' if self.labels == 1 else 's'} saved")
        if self.rows_waiting:
            parts.append(f"{self.rows_waiting} more rows to add next cycle")
        if self.rows_archived:
            parts.append(f"{self.rows_archived} rows archived")
        if self.rows_skipped:
            parts.append(f"{self.rows_skipped} rows skipped (edited during the cycle)")
        if self.deferred:
            parts.append(f"writes deferred: {self.deferred}")
        if self.failed_accounts:
            parts.append(f"accounts not reached: {', '.join(self.failed_accounts)}")
        return (f"view «{self.view}»: " if self.view else "") + "; ".join(parts)


@dataclass
class Tally:
    """One cycle's working set: what each posting's row is to show, gathered from planning and the outbox."""

    now: datetime
    notes: dict[Key, str] = field(default_factory=dict)  # the outcome of this cycle's push, per posting
    answers: dict[Key, list[str]] = field(default_factory=dict)  # answers to edits refused or held while planning
    keep: dict[tuple[Key, str], str] = field(default_factory=dict)  # both-cells left as the sheet has them
    held: dict[tuple[Key, str], datetime | None] = field(default_factory=dict)
    pending: set[Key] = field(default_factory=set)  # rows with write-ahead values to clear once committed
    failed: dict[str, str] = field(default_factory=dict)  # accounts Ozon failed for this cycle -> the note kind
    untouched: set[Key] = field(default_factory=set)  # settled last cycle, read the same now
    blocked: set[Key] = field(default_factory=set)  # postings whose row the backend cannot write (merged cells)
    links: Mapping[Key, str] = field(default_factory=dict)  # the saved labels' links, for the label column

    def answer(self, key: Key, note: str) -> None:
        """Record the answer to one refused or held cell; a row with two such cells gets both."""
        answers = self.answers.setdefault(key, [])
        if note not in answers:
            answers.append(note)

    def busy_keys(self) -> set[Key]:
        """Postings with anything of their own this cycle: a note, an answer, a kept or held cell, a write-ahead."""
        return {*self.notes, *self.answers, *(k for k, _f in self.keep), *(k for k, _f in self.held), *self.pending}
