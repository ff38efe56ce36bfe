"""What a status edit that packs a posting carries to Ozon besides the move: the marking codes typed in the
«Маркировка» cell, the box count, and the item data the config gives per offer (``items:``). Plain values in,
plain values out; no I/O.

A posting's ``needs`` (its ``requirements``) say which of its products need what. The edit goes to the
outbox only when everything is there; otherwise each missing piece is named (``Wait``) and the edit is held,
cycle after cycle, for as long as it takes to scan the codes. What is typed but not needed is said
(``Remark``) and the edit goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.engine.marks import GS, Marks, Wanted, read_cell
from sync.fbs import ItemDefaults, Need
from sync.model import Posting

# The needs given as codes in the «Маркировка» cell, one per unit, with the mark_type Ozon takes them as.
MARK_NEEDS = (Need.MARK, Need.IMEI, Need.JW_UIN)
# The needs the config gives per offer: need -> the key under items.<offer>.
CONFIG_NEEDS = {Need.GTD: "gtd", Need.RNPT: "rnpt", Need.COUNTRY: "country", Need.CHANGE_COUNTRY: "country",
                Need.WEIGHT: "weight"}


@dataclass(frozen=True, slots=True)
class Wait:
    """Something missing before the posting may be packed: a note kind (sync.engine.notes) and its values."""

    kind: str
    values: Mapping[str, object] = field(default_factory=dict)


Remark = Wait  # the same shape: a note kind and its values, said without holding the edit


@dataclass(frozen=True, slots=True)
class ItemPlan:
    params: Mapping[str, object] = field(default_factory=dict)  # added to the ship intent's params
    waits: tuple[Wait, ...] = ()
    remarks: tuple[Remark, ...] = ()


def short(code: str) -> str:
    """A code as a note quotes it: GTIN and serial (the crypto tail tells a person nothing)."""
    plain = code.split(GS)[0]
    return plain if len(plain) <= 31 else plain[:31] + "…"


def _mark_type(kinds: set[str]) -> str | None:
    return next((str(k) for k in MARK_NEEDS if k in kinds), None)


def plan_items(p: Posting, marks_cell: str, boxes_cell: str, defaults: Mapping[str, ItemDefaults]) -> ItemPlan:
    """What the ship of ``p`` carries, or what it waits for."""
    kinds: dict[int, set[str]] = {}
    for kind, sku in p.needs:
        kinds.setdefault(sku, set()).add(kind)
    waits: list[Wait] = []
    remarks: list[Remark] = []
    params: dict[str, object] = {}
    wanted = [Wanted(pr.sku, pr.quantity, pr.offer_id, pr.name) for pr in p.products
              if _mark_type(kinds.get(pr.sku, set()))]
    if wanted:
        marks = read_cell(marks_cell, wanted)
        waits += _mark_waits(marks, wanted)
        if marks.complete:
            params["marks"] = {str(sku): list(codes) for sku, codes in marks.codes.items()}
            params["mark_types"] = {str(w.sku): _mark_type(kinds[w.sku]) for w in wanted}
        if marks.repeated:
            remarks.append(Remark("marks_repeated", {"codes": ", ".join(short(c) for c in marks.repeated)}))
    elif marks_cell.strip():
        remarks.append(Remark("marks_not_needed"))
    for pr in p.products:  # in the posting's order
        needs = kinds.get(pr.sku, set())
        have = defaults.get(pr.offer_id, ItemDefaults())
        for need, name in CONFIG_NEEDS.items():
            wait = Wait("item_missing", {"what": name, "name": pr.name, "offer": pr.offer_id})
            if need in needs and not _given(have, name) and wait not in waits:  # country is asked for twice
                waits.append(wait)
    boxes = boxes_cell.strip()
    if boxes:
        if boxes.isdigit() and int(boxes) >= 1:
            if int(boxes) > 1:
                params["boxes"] = int(boxes)
        else:
            waits.append(Wait("boxes_bad", {"boxes": boxes}))
    return ItemPlan(params, tuple(waits), tuple(remarks))


def _given(have: ItemDefaults, name: str) -> bool:
    if name == "gtd":
        return bool(have.gtd or have.gtd_absent)
    if name == "rnpt":
        return bool(have.rnpt or have.rnpt_absent)
    if name == "country":
        return bool(have.country)
    return have.weight > 0


def _mark_waits(marks: Marks, wanted: list[Wanted]) -> list[Wait]:
    out: list[Wait] = []
    if marks.unknown_prefix:
        out.append(Wait("marks_prefix", {"prefix": marks.unknown_prefix[0],
                                         "offers": ", ".join(w.offer_id or str(w.sku) for w in wanted)}))
    if marks.unplaced:
        per = ", ".join(f"«{w.name}» — {w.quantity}" for w in wanted)
        out.append(Wait("marks_unplaced", {"need": sum(w.quantity for w in wanted), "given": len(marks.unplaced),
                                           "per": per, "example": wanted[0].offer_id or str(wanted[0].sku)}))
        return out
    for w in wanted:
        lack = marks.missing.get(w.sku, 0)
        if lack:
            out.append(Wait("marks_missing", {"need": w.quantity, "given": w.quantity - lack, "name": w.name,
                                              "offer": w.offer_id or str(w.sku)}))
    if marks.extra:
        out.append(Wait("marks_extra", {"count": len(marks.extra), "codes": ", ".join(short(c) for c in marks.extra),
                                        "need": sum(w.quantity for w in wanted)}))
    return out
