"""The steps before a ship that carries item data, run by the outbox: country of origin and box count, then
``create-or-get`` -> ``validate`` -> ``set`` (asynchronous) -> ``status``. Each step is safe to repeat (Ozon
takes the full set again and replaces what it had), and how far an entry went is committed (``ItemStep``), so
after a crash the entry picks up where it was and the ship itself still goes exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sync.engine.itemplan import MARK_NEEDS
from sync.engine.state import OutboxEntry, StateStore
from sync.engine.types import DayPort
from sync.fbs import CheckState, Exemplar, ItemDefaults, ItemNeeds, MarkProblem, Need
from sync.model import Action, Posting


class ItemStep(StrEnum):
    """How far the item data of a ship entry went (the outbox's ``step`` column)."""

    NONE = ""  # nothing given to Ozon yet
    SET = "set"  # given; Ozon is checking it
    CHECKED = "checked"  # Ozon accepted everything: the ship may go
    REJECTED = "rejected"  # Ozon refused some of it: answered, the status cell stays as typed


@dataclass(frozen=True, slots=True)
class Ready:
    pass


@dataclass(frozen=True, slots=True)
class Checking:
    pass


@dataclass(frozen=True, slots=True)
class Refused:
    problems: tuple[MarkProblem, ...]


ItemOutcome = Ready | Checking | Refused


class ItemSteps:
    def __init__(self, days: Mapping[str, DayPort], defaults: Mapping[str, ItemDefaults], state: StateStore):
        self.days = days
        self.defaults = defaults
        self.state = state

    def due(self, entry: OutboxEntry, p: Posting) -> bool:
        """Whether the entry has item steps still to run before its ship."""
        return (entry.action == Action.SHIP and entry.account in self.days and entry.step != ItemStep.CHECKED
                and bool(p.needs or entry.params.get("marks") or entry.params.get("boxes")))

    def advance(self, entry: OutboxEntry, p: Posting, now: datetime) -> ItemOutcome:
        day = self.days[entry.account]
        if entry.step != ItemStep.SET:
            given = self._give(day, entry, p)
            if isinstance(given, Refused):
                return given
            if not given:
                return self._checked(entry, now)  # no unit data to give (a country, a box count): nothing to check
            self.state.move(entry.id, entry.state, now, step=ItemStep.SET)
        check = day.exemplar_status(entry.number)
        if check.state is CheckState.IN_PROGRESS:
            return Checking()
        if check.state is CheckState.PROBLEMS:
            return Refused(check.problems or (MarkProblem(0, "", (check.status,)),))
        return self._checked(entry, now)

    def _checked(self, entry: OutboxEntry, now: datetime) -> Ready:
        self.state.move(entry.id, entry.state, now, step=ItemStep.CHECKED)
        return Ready()

    def _give(self, day: DayPort, entry: OutboxEntry, p: Posting) -> Refused | bool:
        """Country and boxes, then the codes checked (validate) and every unit's data saved (set): whether
        anything was set (then Ozon checks it)."""
        offers = {pr.sku: pr.offer_id for pr in p.products}
        for kind, sku in sorted(p.needs):
            if kind in (Need.COUNTRY, Need.CHANGE_COUNTRY):
                day.set_country(entry.number, sku, self._defaults(offers, sku).country)
        boxes = int(str(entry.params.get("boxes") or 0))
        if boxes > 1:
            day.set_multibox(entry.number, boxes)
        needs = [n for n in day.item_needs(entry.number) if n.needs]
        if not needs:
            return False
        marks = {int(sku): list(codes) for sku, codes in _mapping(entry.params.get("marks")).items()}
        types = {int(sku): str(t) for sku, t in _mapping(entry.params.get("mark_types")).items()}
        by_type: dict[str, dict[int, Sequence[str]]] = {}
        for sku, codes in marks.items():
            by_type.setdefault(types.get(sku, Need.MARK), {})[sku] = codes
        problems = tuple(pr for mark_type, group in by_type.items()
                         for pr in day.validate_marks(entry.number, group, mark_type))
        if problems:
            return Refused(problems)
        exemplars = {n.product_id: self._exemplars(n, marks.get(n.product_id, []), types.get(n.product_id, ""),
                                                   self._defaults(offers, n.product_id)) for n in needs}
        day.set_exemplars(entry.number, exemplars)
        return True

    def _defaults(self, offers: Mapping[int, str], sku: int) -> ItemDefaults:
        return self.defaults.get(offers.get(sku, ""), ItemDefaults())

    @staticmethod
    def _exemplars(n: ItemNeeds, codes: Sequence[str], mark_type: str, d: ItemDefaults) -> list[Exemplar]:
        marked = any(k in n.needs for k in MARK_NEEDS)
        return [Exemplar(
            ex_id, marks=(codes[i],) if marked and i < len(codes) else (), mark_type=mark_type or Need.MARK,
            gtd=d.gtd if Need.GTD in n.needs else "", gtd_absent=d.gtd_absent and Need.GTD in n.needs,
            rnpt=d.rnpt if Need.RNPT in n.needs else "", rnpt_absent=d.rnpt_absent and Need.RNPT in n.needs,
            weight=d.weight if Need.WEIGHT in n.needs else 0.0,
        ) for i, ex_id in enumerate(n.exemplar_ids)]


def _mapping(value: object) -> Mapping[str, list[str]]:
    return value if isinstance(value, dict) else {}
