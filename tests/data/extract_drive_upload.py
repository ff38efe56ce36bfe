"""Extract what the Drive upload tests check from Google's Drive v3 discovery document into
tests/data/drive_upload.json: the media-upload protocol of ``files.create``, its query parameters (with
the API-wide ones such as ``uploadType`` and ``fields``) and those of ``files.get``, its scopes, and
the File resource's top-level fields with their JSON types.

    python tests/data/extract_drive_upload.py [path/to/drive.v3.json]

Tests read the result, so they run on machines that do not have the discovery document.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "google"


def parameters(params: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: p[k] for k in ("type", "location", "enum") if k in p} for name, p in sorted(params.items())}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "drive.v3.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    methods = doc["resources"]["files"]["methods"]
    create = methods["create"]
    fields = {}
    for name, prop in sorted(doc["schemas"]["File"]["properties"].items()):
        kept = {k: prop[k] for k in ("type", "format") if k in prop}
        if "$ref" in prop:
            kept["type"] = "object"
        if prop.get("type") == "array":
            items = prop.get("items", {})
            kept["items"] = "object" if "$ref" in items else items.get("type", "any")
        fields[name] = kept
    result = {
        "source": f"{path.name} revision {doc.get('revision')}",
        "rootUrl": doc["rootUrl"],
        "files.create": {
            "httpMethod": create["httpMethod"],
            "mediaUpload": create["mediaUpload"]["protocols"],
            "scopes": create["scopes"],
            "parameters": parameters({**doc["parameters"], **create["parameters"]}),
        },
        "files.get": {"httpMethod": methods["get"]["httpMethod"], "path": methods["get"]["path"],
                      "parameters": parameters({**doc["parameters"], **methods["get"]["parameters"]})},
        "File": fields,
    }
    out = HERE / "drive_upload.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB): {len(fields)} File fields")


if __name__ == "__main__":
    main()
