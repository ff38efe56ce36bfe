"""The parts that repeat what a worksheet holds and must follow it: the workbook's hidden filter name and
the calculation chain (dropped, with its content type and relationship, when no entry is left)."""

from __future__ import annotations

import re
from collections.abc import Callable

from sync.backends.xlsx.markup import (
    CELL_REF,
    attr_value,
    attrs_bytes,
    col_letters,
    col_number,
    format_range,
    parse_attrs,
    parse_range,
    root_element,
    with_attr,
)
from sync.backends.xlsx.package import Package, Workbook, rels_part

_FILTER_NAME = b"_xlnm._FilterDatabase"


def filter_name(pkg: Package, wb: Workbook, part: str, box: tuple[int, int, int, int]) -> dict[str, bytes]:
    """The workbook part with the sheet's hidden filter name set to ``box`` (nothing when it has none)."""
    found = wb.sheet(part)
    if found is None:
        return {}
    index = str(found[0]).encode()
    xml = pkg.read(wb.part)
    p, _name, _attrs_, _end = root_element(xml, wb.part)
    q = re.escape(p)
    rx = re.compile(rb"(<" + q + rb"definedName(?=[\s>])([^>]*)>)(.*?)(</" + q + rb"definedName>)", re.S)
    for m in rx.finditer(xml):
        a = parse_attrs(m[2])
        if attr_value(a, b"name") != _FILTER_NAME or attr_value(a, b"localSheetId") != index:
            continue
        text = m[3]
        bang = text.rfind(b"!")
        if bang < 0 or parse_range(text[bang + 1:]) is None:
            return {}
        new = text[:bang + 1] + format_range(*box, absolute=True)
        return {wb.part: xml[:m.start(3)] + new + xml[m.end(3):]}
    return {}


def calc_chain(pkg: Package, wb: Workbook, part: str,
                move: Callable[[int, int], tuple[int, int] | None]) -> tuple[dict[str, bytes], list[str]]:
    """``xl/calcChain.xml`` with this sheet's entries moved (or dropped where ``move`` gives None):
    (changed parts, removed parts)."""
    found = wb.sheet(part)
    chain = next((r.target for r in wb.rels if r.type.endswith("/calcChain")), None)
    if found is None or chain is None or not pkg.has(chain):
        return {}, []
    sheet_id = found[1].sheet_id.encode()
    xml = pkg.read(chain)
    p, _n, _a, root_end = root_element(xml, chain)
    q = re.escape(p)
    entry = re.compile(rb"<" + q + rb"c(?=[\s/>])([^>]*?)(?:/>|>\s*</" + q + rb"c>)")
    matches = list(entry.finditer(xml, root_end))
    if not matches:
        return {}, []
    out: list[bytes] = []
    current: bytes | None = None
    written: bytes | None = None
    changed = False
    for m in matches:
        attrs = parse_attrs(m[1])
        current = attr_value(attrs, b"i") or current
        ref = attr_value(attrs, b"r")
        rm = CELL_REF.fullmatch(ref) if ref else None
        if current == sheet_id and rm is not None:
            to = move(int(rm[2]), col_number(rm[1]))
            if to is None:
                changed = True
                continue
            if to != (int(rm[2]), col_number(rm[1])):
                changed = True
                attrs = with_attr(attrs, b"r", col_letters(to[1]) + str(to[0]).encode())
        attrs = with_attr(attrs, b"i", current if current != written else None)
        written = current
        out.append(b"<" + p + b"c" + attrs_bytes([(b"r", attr_value(attrs, b"r") or b""), *[
            (n, v) for n, v in attrs if n != b"r"]]) + b"/>")
    if not changed:
        return {}, []
    if out:
        return {chain: xml[:matches[0].start()] + b"".join(out) + xml[matches[-1].end():]}, []
    return _drop_part(pkg, wb, chain), [chain]


def _drop_part(pkg: Package, wb: Workbook, name: str) -> dict[str, bytes]:
    """The content types and the workbook's relationships without the part ``name``."""
    changed: dict[str, bytes] = {}
    types = "[Content_Types].xml"
    if pkg.has(types):
        xml = pkg.read(types)
        rx = re.compile(rb"<(?:\w+:)?Override\b[^>]*?PartName\s*=\s*[\"']/?" + re.escape(name.encode()) +
                        rb"[\"'][^>]*?(?:/>|>\s*</(?:\w+:)?Override>)", re.I)
        changed[types] = rx.sub(b"", xml)
    rels_name = rels_part(wb.part)
    if pkg.has(rels_name):
        xml = pkg.read(rels_name)
        rel_ids = [r.id.encode() for r in wb.rels if r.target == name]
        for rid in rel_ids:
            rx = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*?\sId\s*=\s*[\"']" + re.escape(rid) +
                            rb"[\"'][^>]*?(?:/>|>\s*</(?:\w+:)?Relationship>)")
            xml = rx.sub(b"", xml)
        changed[rels_name] = xml
    return changed
