"""The «Маркировка» cell: marking codes («Честный ЗНАК») as scanners and people really type them, one
per unit, and which product of the posting each belongs to. Plain text in, plain values out; no I/O.

A DataMatrix marking code is ``01`` + GTIN (14 digits) + ``21`` + serial, then, after a group
separator (GS, ASCII 29), the crypto tail (``91…``, ``92…`` or ``93…``). What arrives in a cell:

- codes separated by line breaks, spaces, ``;`` or ``,`` — a ``;`` or ``,`` splits only where a new
  code starts after it (``01`` + 14 digits + ``21``), since a serial may hold either;
- GS as itself, or as a placeholder a scanner or a person writes instead: ``<GS>``, ``{GS}``,
  ``[GS]``, ``\\x1d``, ``\\u001d``, ``^]``, ``␝`` and ``_x001D_`` (how an .xlsx file stores a GS typed into
  a cell, should a reader hand it over undecoded) all become GS; a leading GS (FNC1) and a
  symbology prefix (``]d2``, ``]C1``, ``]Q3``) are dropped; GS dropped altogether is put back in the
  common 83-character code (13-character serial, ``91`` + 4, ``92`` + 44), where its places are known;
- a code typed with the Russian keyboard layout on (a keyboard-wedge scanner types key positions):
  a code holding Cyrillic letters is read back key by key as the Latin layout has them.

A code goes to a product of the posting by an explicit line prefix (``OF-1: code code`` — the offer id
or the SKU), else by its GTIN: codes sharing a GTIN are one product's, and the products needing codes
take the GTINs in the order they first appear (scan product by product, or write the prefix). When
fewer GTINs are typed than products need codes, which is whose cannot be told: the codes are
``unplaced`` and the person is asked for the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

GS = "\x1d"
_GS_WRITTEN = re.compile(r"<gs>|\{gs\}|\[gs\]|\\x1d|\\u001d|_x001d_|\^\]|␝", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:\]d2|\]C1|\]Q3)")
_CODE_START = r"01\d{14}21"
_SPLIT = re.compile(rf"[;,](?={_CODE_START})")
_LINE_PREFIX = re.compile(r"^\s*([^\s:]+)\s*:\s*(.*)$")
_GTIN = re.compile(r"^01(\d{14})")
# The common full code (clothes, shoes, most goods): a 13-character serial, a 4-character key (91), a
# 44-character crypto tail (92). With its separators dropped by a scanner, where they go is known.
_NO_GS_83 = re.compile(r"^(01\d{14}21.{13})(91.{4})(92.{44})$")
# Python's own split() and splitlines() take GS (and the other information separators) for white space
# and line ends: codes are split on these only.
_SPACE = re.compile(r"[ \t\u00a0\u2007\u202f]+")
_LINE = re.compile(r"\r\n|\r|\n|\u2028|\u2029")

# A keyboard-wedge scanner types key positions: with the Russian layout on, each key gives the Cyrillic
# letter (or the sign) that layout has there. Read back, position by position.
_RU = "йцукенгшщзхъфывапролджэячсмитьбю.ЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,ё\"№;:?"
_EN = "qwertyuiop[]asdfghjkl;'zxcvbnm,./QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>?`@#$^&"
_FROM_RU = str.maketrans(_RU, _EN)
_CYRILLIC = re.compile(r"[а-яёА-ЯЁ]")


def normalize(code: str) -> str:
    """One code as Ozon is given it: the Latin layout, GS as GS, no symbology prefix or leading FNC1."""
    text = code.strip(" \t\u00a0")
    if _CYRILLIC.search(text):
        text = text.translate(_FROM_RU)
    text = _GS_WRITTEN.sub(GS, text)
    text = _PREFIX.sub("", text).lstrip(GS).rstrip(GS)
    if GS not in text:
        text = _NO_GS_83.sub(lambda m: GS.join(m.groups()), text)
    return text


def split_codes(text: str) -> list[str]:
    """Every code in a piece of text, in order, normalised."""
    out = []
    for token in _SPACE.split(" ".join(_LINE.split(text))):
        for piece in _SPLIT.split(token):
            code = normalize(piece.strip(";,"))
            if code:
                out.append(code)
    return out


def gtin(code: str) -> str:
    """The GTIN a marking code carries ("" when it is not a DataMatrix code of the usual shape)."""
    m = _GTIN.match(code)
    return m.group(1) if m else ""


@dataclass(frozen=True, slots=True)
class Wanted:
    """A product of the posting that needs one marking code per unit."""

    sku: int
    quantity: int
    offer_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Marks:
    """What a «Маркировка» cell gives for a posting's products."""

    codes: Mapping[int, tuple[str, ...]] = field(default_factory=dict)  # sku -> its codes, as many as units
    missing: Mapping[int, int] = field(default_factory=dict)  # sku -> how many codes it still lacks
    extra: tuple[str, ...] = ()  # codes beyond every product's units
    repeated: tuple[str, ...] = ()  # codes typed more than once (each is used once)
    unknown_prefix: tuple[str, ...] = ()  # line prefixes naming no product of the posting
    unplaced: tuple[str, ...] = ()  # codes of several products, some of them with no code: whose is which?

    @property
    def complete(self) -> bool:
        return not (self.missing or self.extra or self.unknown_prefix or self.unplaced)


def read_cell(text: str, wanted: Sequence[Wanted]) -> Marks:
    """The cell's codes given to the products that need them (see the module docstring)."""
    by_name = {str(w.sku): w.sku for w in wanted} | {w.offer_id: w.sku for w in wanted if w.offer_id}
    explicit: dict[int, list[str]] = {}
    loose: list[str] = []
    unknown: list[str] = []
    for line in _LINE.split(text):
        m = _LINE_PREFIX.match(line)
        if m and not re.match(_CODE_START, m.group(1)):
            sku = by_name.get(m.group(1))
            if sku is None:
                unknown.append(m.group(1))
            else:
                explicit.setdefault(sku, []).extend(split_codes(m.group(2)))
            continue
        loose += split_codes(line)
    seen: set[str] = set()
    repeated: list[str] = []

    def once(codes: list[str]) -> list[str]:
        kept = []
        for c in codes:
            if c in seen:
                repeated.append(c)
            else:
                seen.add(c)
                kept.append(c)
        return kept

    given = {sku: once(codes) for sku, codes in explicit.items()}
    loose = once(loose)
    open_products = [w for w in wanted if w.sku not in given]
    groups: dict[str, list[str]] = {}
    for c in loose:
        groups.setdefault(gtin(c), []).append(c)
    extra: list[str] = []
    unplaced: list[str] = []
    ordered = list(groups.values())
    if len(open_products) == 1:  # one product to give codes to: every loose code is its
        given[open_products[0].sku] = loose
    elif len(ordered) < len(open_products):  # some product has none: which GTIN is whose cannot be told
        unplaced = loose
    else:
        for w, group in zip(open_products, ordered, strict=False):
            given[w.sku] = group
        for group in ordered[len(open_products):]:
            extra += group
    codes: dict[int, tuple[str, ...]] = {}
    missing: dict[int, int] = {}
    for w in wanted:
        mine = given.get(w.sku, [])
        codes[w.sku] = tuple(mine[: w.quantity])
        extra += mine[w.quantity:]
        if len(mine) < w.quantity:
            missing[w.sku] = w.quantity - len(mine)
    return Marks(codes, missing, tuple(extra), tuple(repeated), tuple(unknown), tuple(unplaced))
