"""Checking bodies against the official API descriptions (extracted into tests/data/)."""

from __future__ import annotations

import copy
from typing import Any


def strict(schema: Any) -> Any:
    """A copy of a JSON Schema that forbids properties the description does not name, at every level:
    a field name we made up fails the check."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("object", ["object", "null"]) and "properties" in node:
                node.setdefault("additionalProperties", False)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    return schema
