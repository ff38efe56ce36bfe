"""Extract Ozon's push notifications from the Seller API description (the Russian one, the newer) into
tests/data/ozon_push.json: for each posting notification type and TYPE_PING, Ozon's example body and the
table of its fields (name -> type, format); and what a receiver must answer — the ping's answer fields,
``{"result": true}``, and the error object with its codes.

    python tests/data/extract_ozon_push.py [path/to/seller-api.ru.openapi.json]

The description keeps these in the Markdown of its ``push_start``, ``push_types`` and ``service_response``
tags (no JSON Schema); tests read the result, so they run on machines that do not have the description.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "ozon"
POSTING_TYPES = ("TYPE_NEW_POSTING", "TYPE_POSTING_CANCELLED", "TYPE_STATE_CHANGED", "TYPE_CUTOFF_DATE_CHANGED",
                 "TYPE_DELIVERY_DATE_CHANGED")
CODE = re.compile(r"```(?:json5?)?\n(.*?)```", re.S)


def table(markdown: str) -> dict[str, dict[str, str]]:
    """The first field table: `name` | type | format | description."""
    fields: dict[str, dict[str, str]] = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        m = re.fullmatch(r"`([a-z_]+)`", cells[0]) if len(cells) >= 3 else None
        if m:
            fields.setdefault(m.group(1), {"type": cells[1], "format": "" if cells[2] in ("—", "-") else cells[2]})
        elif fields and not line.strip():
            break
    return fields


def section_with(markdown: str, marker: str) -> str:
    """From the code block that holds ``marker`` to the end of the field table after it."""
    start = markdown.index(marker)
    start = markdown.rindex("```", 0, start)
    return markdown[start:]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "seller-api.ru.openapi.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    tags = {t["name"]: t.get("description", "") for t in doc["tags"]}
    types, start, answers = tags["push_types"], tags["push_start"], tags["service_response"]
    out: dict[str, Any] = {"source": path.name, "notifications": {}}
    for kind in POSTING_TYPES:
        part = section_with(types, f'"message_type": "{kind}"')
        example = json.loads(CODE.search(part).group(1))  # type: ignore[union-attr]
        out["notifications"][kind] = {"example": example, "fields": table(part[part.index("|"):])}
    ping = section_with(start, '"message_type": "string"')
    out["notifications"]["TYPE_PING"] = {"example": {"message_type": "TYPE_PING", "time": "2019-08-24T14:15:22Z"},
                                         "fields": table(ping[ping.index("|"):])}
    pong = section_with(start, '"version": "string"')
    errors = section_with(answers, '"error": {')
    out["answers"] = {
        "ping": table(pong[pong.index("|"):]),
        "success": json.loads(CODE.search(answers).group(1)),  # type: ignore[union-attr]
        "error": table(errors[errors.index("|"):]),
        "error_codes": sorted(set(re.findall(r"`(ERROR_[A-Z_]+)`", errors))),
    }
    target = HERE / "ozon_push.json"
    target.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}: {len(out['notifications'])} notification types")


if __name__ == "__main__":
    main()
