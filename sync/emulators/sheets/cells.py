"""One cell's value: what a write stores (RAW or USER_ENTERED rules) and how a read renders it."""

from __future__ import annotations

import re
from typing import Any

from sync.emulators.server import Json

_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")


def number(x: float | int) -> float | int:
    """Numbers as Google writes them in JSON: integral values without a fraction."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return x


def format_number(x: float | int, fmt: Json | None) -> str:
    """A number as displayed: General, or a simple ``0.00`` / ``#,##0`` / percent pattern."""
    number_format = (fmt or {}).get("numberFormat") or {}
    pattern = str(number_format.get("pattern") or "")
    kind = number_format.get("type")
    value = float(x)
    if kind == "PERCENT":
        value *= 100
    if pattern and re.search(r"[0#]", pattern):
        section = pattern.split(";")[0]
        decimals = len(re.sub(r"[^0#]", "", section.split(".", 1)[1])) if "." in section else 0
        text = f"{value:,.{decimals}f}" if "," in section else f"{value:.{decimals}f}"
    elif isinstance(number(value), int):
        text = str(number(value))
    else:
        text = f"{value:.15g}"
    return text + "%" if kind == "PERCENT" else text


def user_entered(value: Any, fmt: Json | None) -> Json | None:
    """What typing ``value`` into a cell stores (USER_ENTERED); ``None`` for an empty string."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": number(value)}
    text = str(value)
    if text == "":
        return None
    if ((fmt or {}).get("numberFormat") or {}).get("type") == "TEXT":
        return {"stringValue": text}
    if text.startswith("'"):
        return {"stringValue": text[1:]}
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}
    if text.strip().upper() in ("TRUE", "FALSE"):
        return {"boolValue": text.strip().upper() == "TRUE"}
    stripped = text.strip()
    percent = stripped.endswith("%")
    digits = stripped[:-1] if percent else stripped
    if any(ch.isdigit() for ch in digits) and _NUMBER.fullmatch(digits):
        parsed = float(digits.replace(",", ""))
        return {"numberValue": number(parsed / 100 if percent else parsed)}
    return {"stringValue": text}


def raw_value(value: Any) -> Json | None:
    """What a RAW write stores: strings stay text, whatever they look like."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int | float):
        return {"numberValue": number(value)}
    text = str(value)
    return {"stringValue": text} if text != "" else None


def effective(uev: Json) -> Json:
    """The computed value: formulas are not evaluated and read as their text."""
    if "formulaValue" in uev:
        return {"stringValue": uev["formulaValue"]}
    return dict(uev)


def render(cell: Json | None, option: str) -> Any:
    """A cell as a values read shows it under a ``valueRenderOption``; "" when empty."""
    uev = (cell or {}).get("userEnteredValue")
    if not uev:
        return ""
    if option == "FORMULA" and "formulaValue" in uev:
        return uev["formulaValue"]
    ev = effective(uev)
    if "numberValue" in ev:
        value = number(ev["numberValue"])
        return value if option != "FORMATTED_VALUE" else format_number(value, (cell or {}).get("userEnteredFormat"))
    if "boolValue" in ev:
        return bool(ev["boolValue"]) if option != "FORMATTED_VALUE" else ("TRUE" if ev["boolValue"] else "FALSE")
    return str(ev.get("stringValue", ""))


def plain_value(uev: Json | None) -> Any:
    """A stored value as a Python value (formulas as their text); "" when empty."""
    if not uev:
        return ""
    for key in ("formulaValue", "stringValue", "boolValue"):
        if key in uev:
            return uev[key]
    if "numberValue" in uev:
        return number(uev["numberValue"])
    return ""


def trim(matrix: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells of each row and trailing empty rows, as Google does."""
    out = []
    for row in matrix:
        end = len(row)
        while end and row[end - 1] == "":
            end -= 1
        out.append(row[:end])
    while out and not out[-1]:
        out.pop()
    return out
