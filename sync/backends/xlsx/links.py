"""Hyperlinks of a worksheet: a cell's link set, replaced or removed, as Excel stores one — a ``<hyperlink
ref="T5" r:id="rIdN"/>`` in the sheet's ``<hyperlinks>`` and an external relationship in the sheet's rels whose
Target is the link (a path relative to the workbook's folder, or a URL). A link that goes takes its relationship
with it, so rewriting a cell never piles relationships up.

Only single-cell hyperlinks are replaced: a hyperlink over a range that covers the cell is left as it is.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sync.backends.xlsx.markup import Attrs, attr_value, format_range, parse_attrs, parse_range, root_element
from sync.backends.xlsx.package import Package, rels_part
from sync.backends.xlsx.sheet import Sheet

_REL_NS = {
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main":
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    b"http://purl.oclc.org/ooxml/spreadsheetml/main": b"http://purl.oclc.org/ooxml/officeDocument/relationships",
}
_PKG_REL_NS = b"http://schemas.openxmlformats.org/package/2006/relationships"
_RELS_CONTENT_TYPE = b"application/vnd.openxmlformats-package.relationships+xml"

# What follows <hyperlinks> in a worksheet (ECMA-376 Part 1, CT_Worksheet): a new block goes before the first
# of these. Excel wraps controls and OLE objects, which come after it too, in mc:AlternateContent.
_AFTER_HYPERLINKS = frozenset({
    b"printOptions", b"pageMargins", b"pageSetup", b"headerFooter", b"rowBreaks", b"colBreaks",
    b"customProperties", b"cellWatches", b"ignoredErrors", b"smartTags", b"drawing", b"legacyDrawing",
    b"legacyDrawingHF", b"drawingHF", b"picture", b"oleObjects", b"controls", b"webPublishItems", b"tableParts",
    b"extLst", b"AlternateContent",
})
_ATTRS = rb"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*"""
_TAG = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(/?)([\w.-]+:)?([\w.-]+)(" + _ATTRS + rb")(/?)>", re.S)
_UNSAFE = re.compile(r"[\x00-\x20\"<>\\^`{|}\x7f]|%(?![0-9A-Fa-f]{2})")
_WINDOWS_PATH = re.compile(r"\A[A-Za-z]:[\\/]")
MAX_TARGET = 2079  # the longest hyperlink address Excel takes (XlsxWriter keeps to the same limit)


@dataclass(frozen=True)
class Link:
    """A cell value that shows ``text`` and links to it (see :func:`link_target`); "" empties the cell and
    removes its link."""

    text: str


def link_target(text: str) -> str:
    """The hyperlink target for a cell's text: a URL (``https://...``, ``mailto:``...) as it is; a path relative
    to the workbook's folder (``labels/2026-12-03/1-1.pdf``) with ``/`` separators; an absolute path as a
    ``file:///`` URL. Spaces and characters a URI cannot hold are percent-encoded; letters of any alphabet stay.
    "" when there is nothing to link to, or the target is longer than Excel takes (the cell keeps its text)."""
    target = _target(text)
    return target if len(target) <= MAX_TARGET else ""


def _target(text: str) -> str:
    text = text.strip()
    if _WINDOWS_PATH.match(text):
        text = "file:///" + text.replace("\\", "/")
    elif text.startswith("\\\\"):  # a Windows share: \\server\folder\file
        text = "file:" + text.replace("\\", "/")
    elif text.startswith("/"):
        text = "file://" + text
    elif not _has_scheme(text):
        text = text.replace("\\", "/")
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m[0].encode()), text)


def _has_scheme(text: str) -> bool:
    try:
        scheme = urlsplit(text).scheme
    except ValueError:
        return False
    return len(scheme) > 1  # "c:" alone is a drive letter, not a scheme


def _xml_attr(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode()


# --- the sheet's <hyperlinks> ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Element:
    span: tuple[int, int]  # in the sheet's foot
    attrs: Attrs

    @property
    def box(self) -> tuple[int, int, int, int] | None:
        ref = attr_value(self.attrs, b"ref")
        return parse_range(ref) if ref else None

    @property
    def rel_id(self) -> bytes | None:
        return next((v for n, v in self.attrs if n.endswith(b":id")), None)


def _block(sheet: Sheet) -> tuple[re.Match[bytes] | None, list[_Element]]:
    """The sheet's ``<hyperlinks>`` block (group 2: its content) and its elements."""
    q = re.escape(sheet.g.p)
    block = re.search(rb"(<" + q + rb"hyperlinks(?=[\s/>])" + _ATTRS + rb">)(.*?)</" + q + rb"hyperlinks>",
                      sheet.foot, re.S)
    if block is None:
        return None, []
    element = re.compile(rb"<" + q + rb"hyperlink(?=[\s/>])(" + _ATTRS + rb")(?:/>|>.*?</" + q + rb"hyperlink>)",
                         re.S)
    found = [_Element((block.start(2) + m.start(), block.start(2) + m.end()), parse_attrs(m[1]))
             for m in element.finditer(block[2])]
    return block, found


def _insert_at(foot: bytes) -> int:
    """Where a new ``<hyperlinks>`` goes among the worksheet's elements after ``<sheetData>``."""
    depth = 0
    for m in _TAG.finditer(foot):
        if m[3] is None:
            continue  # a comment, CDATA or processing instruction
        if m[1]:
            depth -= 1
            if depth < 0:
                return m.start()  # </worksheet>
        elif depth == 0 and m[3] in _AFTER_HYPERLINKS:
            return m.start()
        elif not m[5]:
            depth += 1
    return len(foot)


def _rel_prefix(sheet: Sheet, root: bytes) -> tuple[bytes, bytes]:
    """The relationships namespace of this worksheet, and the prefix its root declares for it (b"" if none)."""
    _p, _name, attrs, _end = root_element(root, sheet.part)
    main = attr_value(attrs, b"xmlns" + (b":" + sheet.g.p[:-1] if sheet.g.p else b"")) or b""
    ns = _REL_NS.get(main, next(iter(_REL_NS.values())))
    for n, v in attrs:
        if n.startswith(b"xmlns:") and v == ns:
            return ns, n[len(b"xmlns:"):]
    return ns, b""


def set_links(pkg: Package, sheet: Sheet, links: Mapping[tuple[int, int], str]) -> dict[str, bytes]:
    """Give each cell ((row, col) -> its text) the hyperlink to that text, or none for "": the sheet's foot is
    changed in place; the parts that change besides it (its rels, the content types) are returned."""
    if not links:
        return {}
    rels = _Rels.open(pkg, sheet.part)
    block, elements = _block(sheet)
    ns, prefix = _rel_prefix(sheet, sheet.head)
    drop: list[_Element] = []
    keep_cells: set[tuple[int, int]] = set()
    for el in elements:
        box = el.box
        if box is None or box[:2] != box[2:] or box[:2] not in links:
            continue
        rid = el.rel_id
        wanted = links[box[:2]]
        if link_target(wanted) and rid is not None and attr_value(el.attrs, b"location") is None and \
                rels.external_target(rid) == link_target(wanted):
            keep_cells.add(box[:2])  # already links there
        else:
            drop.append(el)
    added: list[bytes] = []
    for (row, col), text in sorted(links.items()):
        target = link_target(text)
        if not target or (row, col) in keep_cells:
            continue
        rid = rels.add(ns + b"/hyperlink", target)
        declare = b"" if prefix else b' xmlns:r="' + ns + b'"'
        name = (prefix or b"r") + b":id"
        added.append(sheet.g.open(b"hyperlink") + b' ref="' + format_range(row, col, row, col) + b'"' + declare
                     + b" " + name + b'="' + rid + b'"/>')
    if not drop and not added:
        return {}
    foot = sheet.foot
    gone = {el.span for el in drop}
    if block is not None:
        body = b""
        pos = block.start(2)
        for el in elements:
            body += foot[pos:el.span[0]] + (b"" if el.span in gone else foot[el.span[0]:el.span[1]])
            pos = el.span[1]
        body += foot[pos:block.end(2)] + b"".join(added)
        left = len(elements) - len(drop) + len(added)
        new_block = block[1] + body + sheet.g.close(b"hyperlinks") if left else b""  # an empty one is not allowed
        foot = foot[:block.start()] + new_block + foot[block.end():]
    else:
        at = _insert_at(foot)
        foot = foot[:at] + sheet.g.open(b"hyperlinks") + b">" + b"".join(added) + sheet.g.close(b"hyperlinks") \
            + foot[at:]
    sheet.foot = foot
    rels.drop(_unused(sheet, {rid for el in drop if (rid := el.rel_id) is not None}))
    return rels.changed(pkg)


def drop_link_rels(pkg: Package, sheet: Sheet, ids: Collection[bytes]) -> dict[str, bytes]:
    """The sheet's rels without the hyperlink relationships ``ids`` that no hyperlink of the sheet uses any more
    (hyperlinks of deleted rows); nothing when none goes."""
    unused = _unused(sheet, ids)
    if not unused:
        return {}
    rels = _Rels.open(pkg, sheet.part)
    rels.drop(unused)
    return rels.changed(pkg)


def _unused(sheet: Sheet, ids: Collection[bytes]) -> set[bytes]:
    used = {rid for el in _block(sheet)[1] if (rid := el.rel_id) is not None}
    return {rid for rid in ids if rid not in used}


# --- the sheet's relationships ------------------------------------------------------------------------------


class _Rels:
    """The sheet's rels part as bytes: hyperlink relationships added and removed, every other byte kept."""

    def __init__(self, name: str, xml: bytes | None) -> None:
        self.name = name
        self.created = xml is None
        if xml is None:
            xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="'
                   + _PKG_REL_NS + b'"></Relationships>')
        self.original = xml
        self.xml = xml
        p, _name, _attrs, _end = root_element(xml, name)
        self.p = p
        self._rel = re.compile(rb"<" + re.escape(p) + rb"Relationship(?=[\s/>])(" + _ATTRS + rb")(?:/>|>.*?</"
                               + re.escape(p) + rb"Relationship>)\s*", re.S)

    @classmethod
    def open(cls, pkg: Package, part: str) -> _Rels:
        name = rels_part(part)
        return cls(name, pkg.read(name) if pkg.has(name) else None)

    def _all(self) -> list[tuple[re.Match[bytes], Attrs]]:
        return [(m, parse_attrs(m[1])) for m in self._rel.finditer(self.xml)]

    def external_target(self, rid: bytes) -> str | None:
        for _m, a in self._all():
            if attr_value(a, b"Id") == rid and attr_value(a, b"TargetMode") == b"External":
                return html.unescape((attr_value(a, b"Target") or b"").decode())
        return None

    def add(self, kind: bytes, target: str) -> bytes:
        """A new external relationship to ``target``; its id."""
        ids = {attr_value(a, b"Id") for _m, a in self._all()}
        n = 1 + max((int(i[3:]) for i in ids if i and i.startswith(b"rId") and i[3:].isdigit()), default=0)
        while f"rId{n}".encode() in ids:
            n += 1
        rid = f"rId{n}".encode()
        el = (b"<" + self.p + b'Relationship Id="' + rid + b'" Type="' + kind + b'" Target="' + _xml_attr(target)
              + b'" TargetMode="External"/>')
        close = b"</" + self.p + b"Relationships>"
        at = self.xml.rfind(close)
        if at >= 0:
            self.xml = self.xml[:at] + el + self.xml[at:]
        else:  # an empty <Relationships/>
            m = re.search(rb"<" + re.escape(self.p) + rb"Relationships(?=[\s/>])(" + _ATTRS + rb")/>", self.xml)
            assert m is not None
            self.xml = self.xml[:m.start()] + m[0][:-2] + b">" + el + close + self.xml[m.end():]
        return rid

    def drop(self, ids: Collection[bytes]) -> None:
        """Remove the hyperlink relationships among ``ids`` (a relationship of any other kind stays)."""
        if not ids:
            return
        out, pos = b"", 0
        for m, a in self._all():
            if attr_value(a, b"Id") in ids and (attr_value(a, b"Type") or b"").endswith(b"/hyperlink"):
                out += self.xml[pos:m.start()]
                pos = m.end()
        self.xml = out + self.xml[pos:]

    def changed(self, pkg: Package) -> dict[str, bytes]:
        """The parts to write: this rels part when it changed (or is new), and the content types when they have
        no default for .rels parts yet."""
        if self.xml == self.original and not self.created:
            return {}
        out = {self.name: self.xml}
        if self.created:
            types = pkg.read("[Content_Types].xml")
            if not re.search(rb"""Extension\s*=\s*["']rels["']""", types, re.I):
                p, _n, _a, _e = root_element(types, "[Content_Types].xml")
                close = b"</" + p + b"Types>"
                at = types.rfind(close)
                if at >= 0:
                    out["[Content_Types].xml"] = (types[:at] + b"<" + p + b'Default Extension="rels" ContentType="'
                                                  + _RELS_CONTENT_TYPE + b'"/>' + types[at:])
        return out
