"""Extract the schemas of the Google Sheets v4 and Drive v3 methods the Sheets emulator serves from
Google's discovery documents into tests/data/sheets_schemas.json (JSON Schema draft 4).

    python tests/data/extract_sheets_schemas.py [path/to/sheets.v4.json [path/to/drive.v3.json]]

Tests validate the emulator's request and response bodies against the result, so they run on
machines that do not have the discovery documents. Discovery schemas refer to each other by name
(``{"$ref": "ValueRange"}``); here every schema reachable from the kept ones becomes an entry of
``definitions`` and each reference a JSON pointer (``{"$ref": "#/definitions/ValueRange"}``), so the
mutually recursive shapes (CellData ↔ PivotTable, …) stay finite without cutting them. Drive's
schemas get a ``drive.`` prefix. ``"type": "any"`` becomes an unconstrained schema; descriptions,
``enumDescriptions``, ``readOnly`` and the like are dropped; ``format`` (int32, google-datetime, …)
is kept as documentation, and validators ignore formats they do not know.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "google"
SHEETS = (
    "ValueRange", "BatchGetValuesResponse", "UpdateValuesResponse", "BatchUpdateValuesRequest",
    "BatchUpdateValuesResponse", "AppendValuesResponse", "ClearValuesRequest", "ClearValuesResponse",
    "BatchClearValuesRequest", "BatchClearValuesResponse", "Spreadsheet", "BatchUpdateSpreadsheetRequest",
    "BatchUpdateSpreadsheetResponse",
)
DRIVE = ("File", "FileList")
KEEP = {"type", "format", "enum", "items", "properties", "additionalProperties", "$ref", "pattern"}
# Methods the emulator serves: discovery id -> (which document, request schema, response schema).
METHODS = {
    "sheets.spreadsheets.create": ("sheets", "Spreadsheet", "Spreadsheet"),
    "sheets.spreadsheets.get": ("sheets", None, "Spreadsheet"),
    "sheets.spreadsheets.batchUpdate": ("sheets", "BatchUpdateSpreadsheetRequest", "BatchUpdateSpreadsheetResponse"),
    "sheets.spreadsheets.values.get": ("sheets", None, "ValueRange"),
    "sheets.spreadsheets.values.batchGet": ("sheets", None, "BatchGetValuesResponse"),
    "sheets.spreadsheets.values.update": ("sheets", "ValueRange", "UpdateValuesResponse"),
    "sheets.spreadsheets.values.batchUpdate": ("sheets", "BatchUpdateValuesRequest", "BatchUpdateValuesResponse"),
    "sheets.spreadsheets.values.append": ("sheets", "ValueRange", "AppendValuesResponse"),
    "sheets.spreadsheets.values.clear": ("sheets", "ClearValuesRequest", "ClearValuesResponse"),
    "sheets.spreadsheets.values.batchClear": ("sheets", "BatchClearValuesRequest", "BatchClearValuesResponse"),
    "drive.files.get": ("drive", None, "File"),
    "drive.files.list": ("drive", None, "FileList"),
    "drive.files.create": ("drive", "File", "File"),
}


def convert(node: Any, prefix: str, found: set[str]) -> Any:
    """One discovery schema node as JSON Schema draft 4; names it refers to are added to ``found``."""
    if isinstance(node, list):
        return [convert(x, prefix, found) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in KEEP:
            continue
        if key == "$ref":
            found.add(value)
            out["$ref"] = f"#/definitions/{prefix}{value}"
        elif key == "type":
            if value != "any":
                out["type"] = value
        elif key == "properties":
            out["properties"] = {name: convert(sub, prefix, found) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = convert(value, prefix, found)
        else:
            out[key] = value
    return out


def collect(doc: dict[str, Any], roots: tuple[str, ...], prefix: str) -> dict[str, Any]:
    schemas = doc["schemas"]
    result: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if prefix + name in result:
            continue
        found: set[str] = set()
        result[prefix + name] = convert(schemas[name], prefix, found)
        todo.extend(sorted(found - {n[len(prefix):] for n in result}))
    return result


def main() -> None:
    sheets_path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "sheets.v4.json"
    drive_path = Path(sys.argv[2]) if len(sys.argv) > 2 else SHARED / "drive.v3.json"
    sheets = json.loads(sheets_path.read_text(encoding="utf-8"))
    drive = json.loads(drive_path.read_text(encoding="utf-8"))
    definitions = collect(sheets, SHEETS, "")
    definitions.update(collect(drive, DRIVE, "drive."))
    methods = {}
    for method, (doc, request, response) in METHODS.items():
        prefix = "drive." if doc == "drive" else ""
        methods[method] = {"request": f"{prefix}{request}" if request else None, "response": f"{prefix}{response}"}
    result = {
        "source": f"{sheets_path.name} revision {sheets.get('revision')}, {drive_path.name} revision "
                  f"{drive.get('revision')}",
        "methods": methods,
        "definitions": definitions,
    }
    out = HERE / "sheets_schemas.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB): {len(definitions)} schemas for {len(methods)} methods")


if __name__ == "__main__":
    main()
