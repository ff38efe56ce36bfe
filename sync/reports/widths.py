"""How wide text is in the reports' font, Arial 10, counted as Excel counts a column's width: in widths of
a digit. LibreOffice shows Arial as Liberation Sans, whose metrics are Arial's, so a width from here holds in
both. The widths are the fonts' advance widths (in hundredths of a digit), read from Liberation Sans; a letter
not in the table counts as a wide one, and every width is rounded up a little, so text measured here fits."""

from __future__ import annotations

_LETTERS = ("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            " .,:;-()«»×=№%/+'\"!?&_[]*#@—–")
_REGULAR = (
    100, 103, 96, 66, 105, 100, 100, 120, 82, 100, 100, 79, 105, 124, 99, 100, 97, 100, 90, 82, 90, 148, 90, 103,
    94, 144, 148, 112, 129, 94, 92, 135, 97, 120, 118, 120, 97, 122, 120, 120, 166, 109, 129, 129, 105, 118, 150,
    130, 140, 129, 120, 130, 110, 114, 137, 120, 133, 120, 165, 169, 142, 159, 118, 129, 182, 130, 100, 100, 90,
    100, 100, 50, 100, 100, 40, 40, 90, 40, 150, 100, 100, 100, 100, 60, 90, 50, 100, 90, 130, 90, 90, 90, 120, 120,
    130, 130, 120, 110, 140, 130, 50, 90, 120, 100, 150, 130, 140, 120, 140, 130, 120, 110, 130, 120, 170, 120, 120,
    110, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50, 50, 50, 50, 50, 60, 60, 60, 100, 100, 105, 105, 193,
    160, 50, 105, 34, 64, 50, 100, 120, 100, 50, 50, 70, 100, 183, 180, 100,
)
_BOLD = (
    100, 111, 111, 75, 114, 100, 100, 127, 89, 111, 111, 90, 114, 133, 109, 110, 109, 110, 100, 88, 100, 157, 100,
    111, 104, 150, 152, 131, 154, 111, 99, 154, 105, 130, 129, 130, 102, 128, 120, 120, 163, 113, 129, 129, 110,
    126, 150, 130, 140, 129, 120, 130, 110, 112, 153, 120, 131, 126, 181, 183, 156, 176, 129, 128, 185, 129, 100,
    110, 100, 110, 100, 60, 110, 110, 50, 50, 100, 50, 160, 110, 110, 110, 110, 70, 100, 60, 110, 100, 140, 100,
    100, 90, 130, 130, 130, 130, 120, 110, 140, 130, 50, 100, 130, 110, 150, 130, 140, 120, 140, 130, 120, 110, 130,
    120, 170, 120, 120, 110, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 50, 50, 50, 60, 60, 60, 60, 60, 100,
    100, 105, 105, 200, 160, 50, 105, 43, 85, 60, 110, 130, 100, 60, 60, 70, 100, 175, 180, 100,
)
_WIDTH = {ch: w / 100 for ch, w in zip(_LETTERS, _REGULAR, strict=True)}
_WIDTH_BOLD = {ch: w / 100 for ch, w in zip(_LETTERS, _BOLD, strict=True)}
_OTHER = 1.4  # a letter the table does not know
_MARGIN = 1.03  # kerning, hinting and rounding at 96 dpi
PADDING = 0.8  # of a column's width, what the cell's margins take (5 px of a 7 px digit, and rounding)
WIDEST = 1.85  # the widest letter in the table, in digits (Ю, Щ, Ш, №)
HEADER_PAD = 1.5  # a column's width beyond its header's longest word: the padding, and room for rounding


def text_width(text: str, *, bold: bool = False) -> float:
    """How many digit widths ``text`` takes on one line (never much less than it does)."""
    table = _WIDTH_BOLD if bold else _WIDTH
    return sum(table.get(ch, _OTHER) for ch in text) * _MARGIN


_WORDS: dict[tuple[str, bool], float] = {}  # the same words come again and again (names, methods, statuses)


def _word_width(word: str, bold: bool) -> float:
    w = _WORDS.get((word, bold))
    if w is None:
        if len(_WORDS) > 50_000:
            _WORDS.clear()
        w = _WORDS[(word, bold)] = text_width(word, bold=bold)
    return w


def lines_needed(text: str, width: float, *, bold: bool = False) -> int:
    """How many lines ``text`` wraps onto, at spaces, in a column ``width`` digits wide (a word too long for
    the column counts the lines it is broken onto)."""
    room = width - PADDING
    if len(text) * WIDEST * _MARGIN <= room:
        return 1  # the quick answer for most cells: it fits even in the widest letters
    space = _WIDTH[" "] * _MARGIN
    lines = 0
    for paragraph in text.split("\n"):
        lines, used = lines + 1, 0.0
        for word in paragraph.split():
            w = _word_width(word, bold)
            if used and used + space + w <= room:
                used += space + w
                continue
            if used:
                lines += 1
            lines += int(w // room) if w > room else 0
            used = w % room if w > room else w
    return max(lines, 1)


def header_width(header: str) -> float:
    """The narrowest column whose bold header wraps only between words: its longest word, plus padding."""
    return max(text_width(word, bold=True) for word in header.split()) + HEADER_PAD
