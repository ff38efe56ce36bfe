"""A1 notation shared by the Google backend and the Sheets emulator."""

from __future__ import annotations


def col_letters(index: int) -> str:
    """0-based column index -> letters: 0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out
