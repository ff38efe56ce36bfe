"""Deleting rows: the rows below move up, with their formulas' ranges, merged ranges, hyperlinks, the
filter and the sheet's notes (comments, their VML boxes, threaded comments)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Collection, Sequence

from sync.backends.xlsx.cells import unshare
from sync.backends.xlsx.dependents import calc_chain, filter_name
from sync.backends.xlsx.links import drop_link_rels
from sync.backends.xlsx.markup import (
    CELL_REF,
    R_ATTR,
    attr_value,
    attrs_bytes,
    check_cell,
    format_range,
    parse_attrs,
    parse_range,
    with_attr,
)
from sync.backends.xlsx.package import Package, open_workbook, relationships
from sync.backends.xlsx.sheet import Grammar, Sheet, find_formula, norm_part, open_sheet


class _RowMap:
    """Where rows go when some are deleted."""

    def __init__(self, gone: Sequence[int]) -> None:
        self.gone = sorted(set(gone))
        self._set = set(self.gone)

    def row(self, num: int) -> int | None:
        return None if num in self._set else num - bisect.bisect_left(self.gone, num)

    def span(self, first: int, last: int) -> tuple[int, int] | None:
        a = first - bisect.bisect_left(self.gone, first)
        b = last - bisect.bisect_right(self.gone, last)
        return (a, b) if b >= a else None

    def box(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
        span = self.span(box[0], box[2])
        return (span[0], box[1], span[1], box[3]) if span else None

    def ref(self, ref: bytes) -> bytes | None:
        box = parse_range(ref)
        if box is None:
            return ref
        moved = self.box(box)
        if moved is None:
            return None
        single = b":" not in ref
        return format_range(*moved) if not (single and moved[0] != moved[2]) else ref


def _shift_refs(g: Grammar, text: bytes, moves: _RowMap) -> bytes:
    """Formula ranges (``<f ref=...>``) in ``text`` moved for the deleted rows."""
    def repl(m: re.Match[bytes]) -> bytes:
        return m[1] + (moves.ref(m[2]) or m[2])
    return g.fref.sub(repl, text)


def _shift_row(g: Grammar, chunk: bytes, new_num: int, moves: _RowMap) -> bytes:
    """A row's bytes renumbered to ``new_num`` (the row, its cells, its formulas' ranges)."""
    m = g.row.match(chunk)
    assert m is not None
    num = str(new_num).encode()
    r = R_ATTR.search(m[1])
    attrs = m[1][:r.start(1)] + num + m[1][r.end(1):] if r else b' r="' + num + b'"' + m[1]
    head = g.open(b"row") + attrs + m[2] + b">"
    body = chunk[m.end():]
    cell = g.open(b"c")
    fast = cell + b' r="'
    pieces = body.split(fast)
    odd = any(cell + ch in body for ch in (b">", b"/", b"\t", b"\n", b"\r"))
    if not odd and len(pieces) - 1 == body.count(cell + b" "):
        # Every cell starts <c r="..": renumber by plain splitting, much faster than a regex callback.
        for k in range(1, len(pieces)):
            piece = pieces[k]
            quote = piece.find(b'"')
            pieces[k] = piece[:quote].rstrip(b"0123456789") + num + piece[quote:]
        body = fast.join(pieces)
    else:
        body = g.shift.sub(lambda c: c[1] + num, body)
    if g.open(b"f") in body:
        body = _shift_refs(g, body, moves)
    return head + body


def delete_rows(data: bytes, part: str, rows: Collection[int]) -> bytes:
    """The workbook with these rows removed and the rows below moved up, with merged ranges, hyperlinks,
    the filter, formula ranges and the sheet's notes following them."""
    part = norm_part(part)
    for r in rows:
        check_cell(r, 1)
    pkg = Package(data)
    wb = open_workbook(pkg)
    sheet = open_sheet(pkg, part)
    moves = _RowMap(list(rows))
    if not moves.gone:
        return pkg.data
    g = sheet.g
    last_before = sheet.last_used(skip=moves.gone)
    # A shared formula whose first cell goes: every other cell of it gets its own formula first.
    groups = []
    for num in moves.gone:
        row = sheet.row(num)
        for col, raw in (row.cells.items() if row else ()):
            f = find_formula(g, raw)
            ref = attr_value(f.attrs, b"ref") if f else None
            box = parse_range(ref) if ref else None
            si = attr_value(f.attrs, b"si") if f else None
            if f is not None and attr_value(f.attrs, b"t") == b"shared" and box is not None and si is not None:
                groups.append((si, box, num, col, f.text))
    if groups:
        unshare(sheet, groups, skip_rows=moves.gone)
    first = bisect.bisect_left(sheet.nums, moves.gone[0])
    pieces = [_shift_refs(g, sheet.content[:sheet.starts[first]] if first < len(sheet.nums) else sheet.content,
                          moves)]
    for i in range(first, len(sheet.nums)):
        num = sheet.nums[i]
        new_num = moves.row(num)
        if new_num is None:
            continue
        row = sheet.row(num) if num in sheet.changed else None
        chunk = row.serialize() if row is not None else sheet.chunk(i)
        pieces.append(_shift_row(g, chunk, new_num, moves))
    content = b"".join(pieces)
    box = sheet.dimension()
    sheet.set_dimension(moves.box(box) if box else None)
    dropped = _shift_merges_and_links(sheet, moves)
    changed: dict[str, bytes] = drop_link_rels(pkg, sheet, dropped)
    new_filter = sheet.update_filter(moves.row(last_before) or 1, None)
    if new_filter is not None:
        changed.update(filter_name(pkg, wb, part, new_filter))
    changed.update(_shift_notes(pkg, part, moves))

    def move(r: int, c: int) -> tuple[int, int] | None:
        to = moves.row(r)
        return None if to is None else (to, c)

    more, removed = calc_chain(pkg, wb, part, move)
    changed.update(more)
    changed[part] = sheet.render(content)
    return pkg.build(changed, removed)


def _shift_merges_and_links(sheet: Sheet, moves: _RowMap) -> set[bytes]:
    """Merged ranges and hyperlinks moved up, shrunk, or dropped with the deleted rows; the relationship ids of
    the hyperlinks dropped."""
    q = re.escape(sheet.g.p)
    dropped: set[bytes] = set()
    for name, single_ok in ((b"mergeCell", False), (b"hyperlink", True)):
        block = re.search(rb"(<" + q + name + rb"s(?=[\s>])[^>]*>)(.*?)(</" + q + name + rb"s>)", sheet.foot, re.S)
        if block is None:
            continue
        element = re.compile(rb"<" + q + name + rb"(?=[\s/>])([^>]*?)(?:/>|>.*?</" + q + name + rb">)", re.S)
        kept = 0

        def repl(m: re.Match[bytes], single_ok: bool = single_ok) -> bytes:
            nonlocal kept
            a = parse_attrs(m[1])
            ref = attr_value(a, b"ref")
            box = parse_range(ref) if ref else None
            if box is None:
                kept += 1
                return m[0]
            moved = moves.box(box)
            if moved is None or (not single_ok and moved[0] == moved[2] and moved[1] == moved[3]):
                dropped.update(v for n, v in a if n.endswith(b":id"))
                return b""
            kept += 1
            new_ref = format_range(*moved)
            start, end = m.start(1) - m.start(), m.end(1) - m.start()
            return m[0][:start] + attrs_bytes(with_attr(a, b"ref", new_ref)) + m[0][end:]

        body = element.sub(repl, block[2])
        if kept:
            start_tag = block[1]
            count = re.search(rb"\scount\s*=\s*[\"'](\d+)[\"']", start_tag)
            if count is not None:
                start_tag = start_tag[:count.start(1)] + str(kept).encode() + start_tag[count.end(1):]
            new_block = start_tag + body + block[3]
        else:
            new_block = b""  # an empty <mergeCells> or <hyperlinks> is not allowed
        sheet.foot = sheet.foot[:block.start()] + new_block + sheet.foot[block.end():]
    return dropped


_VML_SHAPE = re.compile(rb"<(\w+:|)shape(?=[\s>])[^>]*>.*?</\1shape>", re.S)
_VML_NOTE = re.compile(rb"<(\w+:|)ClientData\b[^>]*ObjectType\s*=\s*[\"']Note[\"']")
_VML_ROW = re.compile(rb"(<(\w+:|)Row>\s*)(\d+)(\s*</\2Row>)")
_VML_ANCHOR = re.compile(rb"(<(\w+:|)Anchor>)([^<]*)(</\2Anchor>)")


def _shift_notes(pkg: Package, part: str, moves: _RowMap) -> dict[str, bytes]:
    """The sheet's comments, their VML boxes and threaded comments, moved for the deleted rows."""
    changed: dict[str, bytes] = {}
    for rel in relationships(pkg, part):
        if not pkg.has(rel.target):
            continue
        kind = rel.type.rsplit("/", 1)[-1]
        if kind in ("comments", "threadedComment"):
            xml = pkg.read(rel.target)
            tag = b"comment" if kind == "comments" else b"threadedComment"
            rx = re.compile(rb"<(\w+:|)" + tag + rb"(?=[\s>/])([^>]*?)(?:/>|>.*?</\1" + tag + rb">)", re.S)

            def repl(m: re.Match[bytes], tag: bytes = tag) -> bytes:
                a = parse_attrs(m[2])
                ref = attr_value(a, b"ref")
                rm = CELL_REF.fullmatch(ref) if ref else None
                if rm is None:
                    return m[0]
                to = moves.row(int(rm[2]))
                if to is None:
                    return b""
                inner = m[0][m.end(2) - m.start():]
                return b"<" + m[1] + tag + attrs_bytes(with_attr(a, b"ref", rm[1] + str(to).encode())) + inner
            changed[rel.target] = rx.sub(repl, xml)
        elif kind == "vmlDrawing":
            changed[rel.target] = _VML_SHAPE.sub(lambda m: _shift_vml_shape(m[0], moves), pkg.read(rel.target))
    return changed


def _shift_vml_shape(shape: bytes, moves: _RowMap) -> bytes:
    if _VML_NOTE.search(shape) is None:
        return shape
    row = _VML_ROW.search(shape)
    if row is None:
        return shape
    old = int(row[3])
    new = moves.row(old + 1)
    if new is None:
        return b""
    delta = (new - 1) - old
    shape = shape[:row.start(3)] + str(new - 1).encode() + shape[row.end(3):]
    anchor = _VML_ANCHOR.search(shape)
    if anchor is not None and delta:
        parts = [p.strip() for p in anchor[3].split(b",")]
        if len(parts) == 8 and all(p.lstrip(b"-").isdigit() for p in parts):
            for i in (2, 6):
                parts[i] = str(max(int(parts[i]) + delta, 0)).encode()
            shape = shape[:anchor.start(3)] + b", ".join(parts) + shape[anchor.end(3):]
    return shape
