"""What the sync reads from a workbook's bytes without openpyxl: tabs, merged ranges, the last used row,
the text of a cell's note."""

from __future__ import annotations

import re
from collections.abc import Iterator

from sync.backends.xlsx.markup import attr_value, parse_attrs, parse_range
from sync.backends.xlsx.package import Package, SheetPart, local_name, open_workbook, read_xml, relationships
from sync.backends.xlsx.sheet import Sheet, norm_part, open_sheet


def sheets(data: bytes) -> list[SheetPart]:
    """The workbook's tabs in tab order (worksheets and chart sheets), with the parts that hold them."""
    return open_workbook(Package(data)).sheets


def merged_ranges(data: bytes, part: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a worksheet as (min_row, min_col, max_row, max_col), 1-based."""
    sheet = open_sheet(Package(data), norm_part(part))
    return [box for _m, box in _merge_cells(sheet)]


def _merge_cells(sheet: Sheet) -> Iterator[tuple[re.Match[bytes], tuple[int, int, int, int]]]:
    q = re.escape(sheet.g.p)
    for m in re.finditer(rb"<" + q + rb"mergeCell(?=[\s/>])([^>]*?)(?:/>|>\s*</" + q + rb"mergeCell>)", sheet.foot):
        ref = attr_value(parse_attrs(m[1]), b"ref")
        box = parse_range(ref) if ref else None
        if box is not None:
            yield m, box


def last_used_row(data: bytes, part: str) -> int:
    """The last row holding a non-empty value (at least 1); rows that only carry formatting don't count."""
    return open_sheet(Package(data), norm_part(part)).last_used()


def note_text(data: bytes, part: str, ref: str) -> str:
    """The text of the note (comment) on one cell of the tab, or "" (how a tab of ours is recognised)."""
    pkg = Package(data)
    for rel in relationships(pkg, norm_part(part)):
        if rel.type.rsplit("/", 1)[-1] != "comments" or not pkg.has(rel.target):
            continue
        for c in read_xml(pkg, rel.target).iter():
            if local_name(c.tag) == "comment" and c.get("ref") == ref:
                return "".join(t.text or "" for t in c.iter() if local_name(t.tag) == "t")
    return ""
