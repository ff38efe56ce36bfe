"""Checking bodies against the official API descriptions (extracted into tests/data/)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema


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


# --- Google Sheets API (tests/data/sheets_schemas.json) ---------------------------------------------

SHEETS = json.loads((Path(__file__).parent / "data" / "sheets_schemas.json").read_text(encoding="utf-8"))
ERROR_SCHEMA = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["code", "message"], "additionalProperties": False,
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "status": {"type": "string"},
                       "details": {"type": "array"},
                       "errors": {"type": "array", "items": {"type": "object"}}}}},
}
KIND_TO_METHOD = {
    "spreadsheets.create": "sheets.spreadsheets.create", "spreadsheets.get": "sheets.spreadsheets.get",
    "spreadsheets.batchUpdate": "sheets.spreadsheets.batchUpdate", "values.get": "sheets.spreadsheets.values.get",
    "values.batchGet": "sheets.spreadsheets.values.batchGet", "values.update": "sheets.spreadsheets.values.update",
    "values.batchUpdate": "sheets.spreadsheets.values.batchUpdate",
    "values.append": "sheets.spreadsheets.values.append", "values.clear": "sheets.spreadsheets.values.clear",
    "values.batchClear": "sheets.spreadsheets.values.batchClear", "drive.files.get": "drive.files.get",
    "drive.files.list": "drive.files.list", "drive.files.create": "drive.files.create",
    "drive.files.upload": "drive.files.create",  # the same method at its media-upload path; logged: the metadata
}


STRICT_DEFINITIONS = strict(SHEETS["definitions"])


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


VALIDATORS: dict[str, jsonschema.Draft4Validator] = {}


def check_sheets(name: str, body: Any) -> None:
    """Validate ``body`` against the named discovery schema, strictly."""
    if name not in VALIDATORS:
        VALIDATORS[name] = jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}",
                                                       "definitions": STRICT_DEFINITIONS})
    VALIDATORS[name].validate(body)


def check_exchanges(emu: Any) -> int:
    """Validate every request and answer the Sheets emulator recorded; returns how many were checked."""
    checked = 0
    for kind, request, status, answer in emu.exchanges:
        if kind == "token":  # OAuth, not a Google API body
            continue
        method = SHEETS["methods"].get(KIND_TO_METHOD.get(kind, ""))
        if status >= 400:
            jsonschema.validate(answer, ERROR_SCHEMA)
            assert answer["error"]["code"] == status
            continue
        if method is None or status == 204 or not isinstance(answer, dict):  # not JSON: a file's bytes
            continue
        if method["request"] and isinstance(request, dict):
            check_sheets(method["request"], without_nulls(request))
        check_sheets(method["response"], answer)
        checked += 1
    return checked
