"""The FBS day as the engine sees it: what item data a posting's products need (marking codes
«Честный ЗНАК», GTD, weight, country...), the check of what was given, labels and carriages.

Plain frozen values, no I/O: ``sync.ozon.fbs_day.FbsDay`` makes them from Ozon's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Need(StrEnum):
    """A kind of item data Ozon asks for before a posting may be packed (``requirements``)."""

    MARK = "mandatory_mark"  # a «Честный ЗНАК» marking code per unit
    GTD = "gtd"  # customs declaration number
    RNPT = "rnpt"  # registration number of a batch of goods
    IMEI = "imei"
    WEIGHT = "weight"  # the actual weight of goods sold by weight
    COUNTRY = "country"  # country of origin
    CHANGE_COUNTRY = "change_country"
    JW_UIN = "jw_uin"  # jewellery unique number


@dataclass(frozen=True, slots=True)
class ItemNeeds:
    """One product of a posting: what Ozon needs for it and the ids of its units (exemplars)."""

    product_id: int  # the SKU
    quantity: int
    needs: frozenset[Need] = frozenset()
    exemplar_ids: tuple[int, ...] = ()
    marks: tuple[tuple[str, ...], ...] = ()  # per exemplar, the marking codes already set
    weight_min: float = 0.0
    weight_max: float = 0.0


@dataclass(frozen=True, slots=True)
class Exemplar:
    """The item data given for one unit (``set_exemplars``); fields a product does not need stay empty."""

    exemplar_id: int
    marks: tuple[str, ...] = ()
    mark_type: str = "mandatory_mark"  # or "imei", "jw_uin"
    gtd: str = ""
    gtd_absent: bool = False
    rnpt: str = ""
    rnpt_absent: bool = False
    weight: float = 0.0


@dataclass(frozen=True, slots=True)
class MarkProblem:
    """A code Ozon did not accept: the code and Ozon's reasons, in its words (its error codes)."""

    product_id: int
    mark: str
    reasons: tuple[str, ...]
    exemplar_id: int = 0


class CheckState(StrEnum):
    IN_PROGRESS = "in_progress"  # Ozon is still checking what was set
    DONE = "done"  # checked: the posting may be packed
    PROBLEMS = "problems"  # checked: something is missing or was refused


@dataclass(frozen=True, slots=True)
class ExemplarCheck:
    """The outcome of the last ``set_exemplars``: ``status`` is Ozon's word (``ship_available``...)."""

    state: CheckState
    status: str
    problems: tuple[MarkProblem, ...] = ()

    @property
    def done(self) -> bool:
        return self.state is CheckState.DONE


@dataclass(frozen=True, slots=True)
class NotReady:
    """An answer Ozon has not got yet (a label shortly after packing): ask again later."""

    message: str = ""


@dataclass(frozen=True, slots=True)
class Printed:
    """What the print command did with one batch of labels: ``ok``, and in words what happened."""

    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class LabelTask:
    task_id: int
    task_type: str = "big_label"


@dataclass(frozen=True, slots=True)
class Carriage:
    """A hand-over (отгрузка) of postings of one delivery method."""

    carriage_id: int
    status: str
    delivery_method_id: int = 0
    warehouse_id: int = 0
    departure_date: str = ""
    available_actions: frozenset[str] = frozenset()
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CarriagePosting:
    """What ``set_carriage_postings`` said of one posting (``error`` is Ozon's code, "" when added)."""

    posting_number: str
    added: bool
    error: str = ""


@dataclass(frozen=True, slots=True)
class DeliveryDay:
    """A delivery method's day: postings due, how many are packed, and its carriages (id 0: one that
    can be created)."""

    delivery_method_id: int
    name: str = ""
    warehouse_id: int = 0
    postings_count: int = 0
    packaged_count: int = 0
    ready_count: int = 0  # packed and in no carriage yet
    carriages: tuple[Carriage, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemDefaults:
    """Item data of one product (by offer id) that does not change from unit to unit, given in the config
    (``items:``): the customs declaration, the batch registration number, the country of origin, the
    weight of one unit sold by weight. ``*_absent``: the product has none (Ozon accepts that answer)."""

    gtd: str = ""
    gtd_absent: bool = False
    rnpt: str = ""
    rnpt_absent: bool = False
    country: str = ""  # ISO 3166-1 alpha-2, e.g. CN
    weight: float = 0.0  # kilograms
