"""What the emulator accepts as a marking code («Честный ЗНАК» DataMatrix, as a scanner sends it).

Accepted: ``01`` + 14 digits (GTIN) + ``21`` + a serial of 6 to 20 characters, then one to three
groups, each a group separator (ASCII 29) + ``91``, ``92`` or ``93`` + 1 to 88 characters. Anything
else is malformed, in particular a code whose separators a keyboard-wedge scanner dropped or typed
as another character (Ozon checks "the number and make-up of the characters" and does not publish
its rule, so the emulator is strict). IMEI and jewellery UIN codes only need to be non-empty.

Per-mark error codes are the emulator's own (Ozon does not list them): ``MARK_FORMAT_INVALID``,
``MARK_DUPLICATED`` (twice in a call, or already given for another item) and whatever reason a
rejected code was given (``MARK_NOT_IN_CIRCULATION`` unless the control API says otherwise).
"""

from __future__ import annotations

import re

GS = "\x1d"
_MARK = re.compile(r"01\d{14}21[^\x1d]{6,20}(?:\x1d9[123][^\x1d]{1,88}){1,3}")
FORMAT_INVALID = "MARK_FORMAT_INVALID"
DUPLICATED = "MARK_DUPLICATED"
NOT_IN_CIRCULATION = "MARK_NOT_IN_CIRCULATION"


def mark_errors(mark: str, mark_type: str) -> list[str]:
    """The format errors of one code of ``mark_type`` (``mandatory_mark``, ``imei``, ``jw_uin``)."""
    if mark_type == "mandatory_mark":
        return [] if _MARK.fullmatch(mark) else [FORMAT_INVALID]
    return [] if mark.strip() else [FORMAT_INVALID]
