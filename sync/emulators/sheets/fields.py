"""Field masks (``fields=a.b,c(d,e/f)``): parsed into a tree, applied to answers and to updates."""

from __future__ import annotations

import copy
import re
from typing import Any

from sync.emulators.server import Json
from sync.emulators.sheets.errors import bad

Mask = dict[str, Any]  # field-mask tree: name -> True (whole value) or a sub-mask


def parse_fields(text: str) -> Mask:
    """Parse a field mask (``a.b,c(d,e/f)``) into a tree; ``*`` stands for everything."""
    pos = 0

    def merge(node: Mask, key: str, sub: Any) -> None:
        old = node.get(key)
        if old is True or sub is True:
            node[key] = True
        elif isinstance(old, dict):
            for k, v in sub.items():
                merge(old, k, v)
        else:
            node[key] = sub

    def items() -> Mask:
        nonlocal pos
        out: Mask = {}
        while pos < len(text):
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = [p for p in re.split(r"[./]", text[start:pos].strip()) if p]
            sub: Any = True
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = items()
                pos += 1  # the ")"
            if path:
                for name in reversed(path[1:]):
                    sub = {name: sub}
                merge(out, path[0], sub)
            if pos < len(text) and text[pos] == ")":
                return out
            pos += 1  # the ","
        return out

    return items()


def required_mask(request: Json) -> Mask:
    """A batchUpdate request's ``fields`` mask; 400 when it has none."""
    fields = str(request.get("fields") or "")
    if not fields:
        raise bad("At least one field must be updated.")
    return parse_fields(fields)


def apply_mask(value: Any, mask: Any) -> Any:
    """Keep only what the mask names (lists are masked element by element)."""
    if mask is True or (isinstance(mask, dict) and "*" in mask):
        return value
    if isinstance(value, list):
        return [apply_mask(v, mask) for v in value]
    if isinstance(value, dict):
        return {k: apply_mask(v, mask[k]) for k, v in value.items() if k in mask}
    return value


def masked(value: Json, fields: str | None) -> Any:
    """``value`` cut down to a ``fields`` query parameter (all of it without one)."""
    return apply_mask(value, parse_fields(fields)) if fields else value


def masked_update(target: Json, source: Json, mask: Mask) -> None:
    """Set in ``target`` exactly the fields the mask names, from ``source`` (absent there: cleared)."""
    if "*" in mask:
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for key, sub in mask.items():
        if sub is True:
            if source.get(key) is not None:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
        else:
            child = target.get(key)
            if not isinstance(child, dict):
                child = {}
            masked_update(child, source.get(key) or {}, sub)
            if child:
                target[key] = child
            else:
                target.pop(key, None)
