"""Ozon's side of the FBS day: the item data of postings (exemplars, marking codes and their check),
label tasks and their files, and carriages (hand-over), with the settings tests turn (how long a
check or a label takes, rejected codes, postings that cannot be labelled)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync.emulators.ozon.data import ITEM_CATALOGUE, REQUIREMENT_KEYS
from sync.emulators.ozon.marks import DUPLICATED, mark_errors
from sync.emulators.ozon.model import Posting
from sync.emulators.server import Json

ITEM_NEEDS: dict[str, tuple[str, ...]] = {offer: needs for _, offer, needs in ITEM_CATALOGUE}
MARK_KINDS = ("mandatory_mark", "imei", "jw_uin")  # item data given as marks of that mark_type


def needs_of(p: Posting) -> dict[int, tuple[str, ...]]:
    """SKU -> the kinds of item data Ozon needs for it (only products that need some)."""
    return {i["sku"]: ITEM_NEEDS[i["offer_id"]] for i in p.products if ITEM_NEEDS.get(i["offer_id"])}


def requirements(p: Posting) -> Json:
    """A posting's ``requirements`` block: per kind, the SKUs that need it (int64 as strings, as
    Ozon's description has them)."""
    block: dict[str, list[str]] = {key: [] for key in REQUIREMENT_KEYS.values()}
    for sku, kinds in needs_of(p).items():
        for kind in kinds:
            block[REQUIREMENT_KEYS[kind]].append(str(sku))
    return block


@dataclass
class Exemplar:
    """One unit of a product in a posting, with the data the seller gave for it."""

    id: int
    sku: int
    marks: list[tuple[str, str]] = field(default_factory=list)  # (mark, mark_type)
    gtd: str = ""
    is_gtd_absent: bool = False
    rnpt: str = ""
    is_rnpt_absent: bool = False
    weight: float = 0.0
    duplicates: frozenset[str] = frozenset()  # marks found taken when they were set


@dataclass
class ItemData:
    """A posting's exemplars (one per unit, stable ids) and the check of what was last set."""

    exemplars: dict[int, Exemplar]
    checked_at: datetime | None = None  # when the last set's check ends; None: nothing set yet
    countries: dict[int, str] = field(default_factory=dict)  # SKU -> ISO code


@dataclass
class LabelTask:
    id: int
    numbers: list[str]
    ready_at: datetime
    unprinted: dict[str, str]  # posting number -> why it has no label


@dataclass
class Carriage:
    id: int
    delivery_method_id: int
    warehouse_id: int
    departure_date: str
    created_at: datetime
    postings: list[str]
    status: str = "new"
    containers_count: int = 0
    updated_at: datetime | None = None


class Day:
    """The FBS-day state of one emulator (guarded by the emulator's lock)."""

    def __init__(self, *, label_delay: float, check_delay: float) -> None:
        self.label_delay = timedelta(seconds=label_delay)
        self.check_delay = timedelta(seconds=check_delay)
        self.rejected: dict[str, str] = {}  # marking code -> the reason Ozon gives
        self.unlabelable: dict[str, str] = {}  # posting number -> the reason its label fails
        self.items: dict[str, ItemData] = {}
        self.used_marks: dict[str, str] = {}  # marking code -> the posting it was given for
        self.label_tasks: dict[int, LabelTask] = {}
        self.files: dict[str, bytes] = {}  # served under /_emulator/files/
        self.carriages: dict[int, Carriage] = {}
        self._task_seq = 70000000
        self._carriage_seq = 900000

    def items_of(self, p: Posting) -> ItemData:
        """The posting's exemplars, made on first sight: one per unit, ids stable for the posting."""
        data = self.items.get(p.number)
        if data is None:
            exemplars: dict[int, Exemplar] = {}
            for line, item in enumerate(p.products):
                for unit in range(item["quantity"]):
                    ex = Exemplar(p.order_id * 1000 + line * 100 + unit + 1, item["sku"])
                    exemplars[ex.id] = ex
            data = self.items[p.number] = ItemData(exemplars)
        return data

    def checking(self, p: Posting, now: datetime) -> bool:
        data = self.items.get(p.number)
        return data is not None and data.checked_at is not None and now < data.checked_at

    def mark_problems(self, ex: Exemplar, mark: str, mark_type: str) -> list[str]:
        """Why a code set for an exemplar did not pass (after its check)."""
        errors = mark_errors(mark, mark_type)
        if mark in ex.duplicates:
            errors.append(DUPLICATED)
        if mark in self.rejected:
            errors.append(self.rejected[mark])
        return errors

    def missing(self, p: Posting, now: datetime) -> list[str]:
        """What keeps the posting from being packed: item data not given or not passed (empty: none)."""
        needs = needs_of(p)
        if not needs:
            return []
        data = self.items_of(p)
        if self.checking(p, now):
            return ["validation_in_process"]
        missing: list[str] = []
        for ex in data.exemplars.values():
            for kind in needs.get(ex.sku, ()):
                if kind in MARK_KINDS:
                    marks = [(m, t) for m, t in ex.marks if t == kind]
                    if data.checked_at is None or not marks or any(self.mark_problems(ex, m, t) for m, t in marks):
                        missing.append(f"{ex.id}:{kind}")
                elif (kind == "gtd" and not (ex.gtd or ex.is_gtd_absent)) or (
                        kind == "rnpt" and not (ex.rnpt or ex.is_rnpt_absent)) or (
                        kind == "weight" and ex.weight <= 0) or (
                        kind in ("country", "change_country") and ex.sku not in data.countries):
                    missing.append(f"{ex.id}:{kind}")
        return missing

    def next_task_id(self) -> int:
        self._task_seq += 1
        return self._task_seq

    def next_carriage_id(self) -> int:
        self._carriage_seq += 1
        return self._carriage_seq
