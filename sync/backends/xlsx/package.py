"""The workbook as a zip of parts: reading them, writing a new zip that copies unchanged members as their
original bytes, relationships between parts, and the workbook part's tabs."""

from __future__ import annotations

import io
import posixpath
import struct
import time
import zipfile
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import unquote
from xml.etree import ElementTree

from sync.backends.xlsx.errors import PatchError

DEFLATE_LEVEL = 3  # the patched part only: about twice as fast as zlib's default, a sixth larger


@dataclass(frozen=True)
class SheetPart:
    """One tab of the workbook and the zip part that holds it."""

    title: str
    part: str
    sheet_id: str
    state: str


# --- the zip -------------------------------------------------------------------------------------------

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_U32 = 0xFFFFFFFF


def _strip_zip64(extra: bytes) -> bytes:
    """The extra field without its ZIP64 block (sizes are written in the headers themselves)."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i:i + 4])
        if tag != 0x0001:
            out += extra[i:i + 4 + size]
        i += 4 + size
    return out


class Package:
    """The workbook's zip: parts read on demand, and a new zip with some parts replaced or removed."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
            raise PatchError(f"The workbook is not a readable .xlsx/.xlsm file (its zip structure is damaged: {exc})") \
                from None
        self.infos = self._zip.infolist()
        self._by_name = {info.filename: info for info in self.infos}
        self._read: dict[str, bytes] = {}

    def has(self, name: str) -> bool:
        return name in self._by_name

    def read(self, name: str) -> bytes:
        if name in self._read:
            return self._read[name]
        info = self._by_name.get(name)
        if info is None:
            raise PatchError(f"The workbook has no part {name}")
        try:
            data = self._zip.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError,
                struct.error) as exc:
            raise PatchError(f"The part {name} of the workbook is damaged and cannot be read ({exc})") from None
        self._read[name] = data
        return data

    def build(self, changed: Mapping[str, bytes], removed: Collection[str] = ()) -> bytes:
        """A new zip: members in the same order, ``changed`` ones deflated anew, the others copied raw; a
        ``changed`` name the workbook has no member of yet is added at the end."""
        added = [name for name in changed if not self.has(name)]
        changed = {name: body for name, body in changed.items() if name in added or self.read(name) != body}
        removed = [name for name in removed if self.has(name)]
        if not changed and not removed:
            return self.data
        pieces: list[bytes] = []
        central: list[bytes] = []
        offset = 0
        for info in [*self.infos, *(self._new_info(name) for name in added)]:
            if info.filename in removed:
                continue
            if info.flag_bits & 0x1:
                raise PatchError(f"The part {info.filename} of the workbook is encrypted; it cannot be rewritten")
            if info.filename in changed:
                body = changed[info.filename]
                packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
                raw = packer.compress(body) + packer.flush()
                crc, size, method = zlib.crc32(body), len(body), zipfile.ZIP_DEFLATED
                flags = info.flag_bits & 0x800
                version = max(info.extract_version, 20)
            else:
                raw = self._raw(info)
                crc, size, method = info.CRC, info.file_size, info.compress_type
                flags = info.flag_bits & ~0x8  # the sizes are in the local header: no data descriptor
                version = info.extract_version
            name = self._name_bytes(info)
            extra = _strip_zip64(info.extra)
            if len(raw) >= _U32 or size >= _U32 or offset >= _U32:
                raise PatchError("The workbook is too large to be rewritten (over 4 GB)")
            y, mo, d, h, mi, s = info.date_time
            dosdate = max(y - 1980, 0) << 9 | mo << 5 | d
            dostime = h << 11 | mi << 5 | s // 2
            pieces.append(_LOCAL.pack(b"PK\x03\x04", version, info.reserved, flags, method, dostime, dosdate,
                                      crc, len(raw), size, len(name), len(extra)))
            pieces += [name, extra, raw]
            central.append(_CENTRAL.pack(b"PK\x01\x02", info.create_version, info.create_system, version,
                                         info.reserved, flags, method, dostime, dosdate, crc, len(raw), size,
                                         len(name), len(extra), len(info.comment), 0, info.internal_attr,
                                         info.external_attr, offset))
            central += [name, extra, info.comment]
            offset += _LOCAL.size + len(name) + len(extra) + len(raw)
        directory = b"".join(central)
        count = sum(1 for info in self.infos if info.filename not in removed) + len(added)
        if count > 0xFFFF or offset + len(directory) >= _U32:
            raise PatchError("The workbook has too many parts or is too large to be rewritten")
        comment = self._zip.comment
        end = _END.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), offset, len(comment))
        return b"".join([*pieces, directory, end, comment])

    @staticmethod
    def _new_info(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, time.localtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 0
        if not name.isascii():
            info.flag_bits |= 0x800
        return info

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        """The member's compressed bytes as stored."""
        at = info.header_offset
        head = self.data[at:at + _LOCAL.size]
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise PatchError(f"The part {info.filename} of the workbook is damaged (no local header)")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = at + _LOCAL.size + name_len + extra_len
        raw = self.data[start:start + info.compress_size]
        if len(raw) != info.compress_size:
            raise PatchError(f"The part {info.filename} of the workbook is damaged (truncated)")
        return raw

    @staticmethod
    def _name_bytes(info: zipfile.ZipInfo) -> bytes:
        if info.flag_bits & 0x800:
            return info.orig_filename.encode("utf-8")
        try:
            return info.orig_filename.encode("cp437")
        except UnicodeEncodeError:
            return info.orig_filename.encode("utf-8")


# --- the workbook part --------------------------------------------------------------------------------


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_xml(pkg: Package, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(pkg.read(name))
    except ElementTree.ParseError as exc:
        raise PatchError(f"The part {name} of the workbook is not readable XML ({exc})") from None


def rels_part(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


@dataclass(frozen=True)
class Rel:
    id: str
    type: str
    target: str  # a part name, resolved against the source part


def relationships(pkg: Package, part: str) -> list[Rel]:
    """The relationships of a part (an empty list when it has no rels part)."""
    name = rels_part(part)
    if not pkg.has(name):
        return []
    out = []
    for el in read_xml(pkg, name):
        if local_name(el.tag) != "Relationship" or el.get("TargetMode") == "External":
            continue
        target = unquote(el.get("Target", ""))
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(part), target))
        out.append(Rel(el.get("Id", ""), el.get("Type", ""), resolved))
    return out


@dataclass(frozen=True)
class Workbook:
    part: str
    sheets: list[SheetPart]
    date1904: bool
    rels: list[Rel]

    def sheet(self, part: str) -> tuple[int, SheetPart] | None:
        for i, s in enumerate(self.sheets):
            if s.part == part:
                return i, s
        return None


def open_workbook(pkg: Package) -> Workbook:
    part = "xl/workbook.xml"
    for rel in relationships(pkg, ""):
        if rel.type.endswith("/officeDocument"):
            part = rel.target
            break
    root = read_xml(pkg, part)
    rels = relationships(pkg, part)
    by_id = {r.id: r.target for r in rels}
    date1904 = False
    sheets: list[SheetPart] = []
    for el in root:
        name = local_name(el.tag)
        if name == "workbookPr":
            date1904 = el.get("date1904", "").strip().lower() in ("1", "true")
        elif name == "sheets":
            for tab in el:
                if local_name(tab.tag) != "sheet":
                    continue
                rid = next((v for k, v in tab.attrib.items() if k.startswith("{") and local_name(k) == "id"), None)
                target = by_id.get(rid or "")
                if target is None:
                    raise PatchError(f"The tab «{tab.get('name', '')}» in {part} points at no part of the workbook")
                sheets.append(SheetPart(tab.get("name", ""), target, tab.get("sheetId", ""),
                                        tab.get("state", "visible")))
    return Workbook(part, sheets, date1904, rels)
