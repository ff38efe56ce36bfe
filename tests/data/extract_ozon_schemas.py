"""Extract the request and response schemas of the Ozon methods we call and emulate from Ozon's
official OpenAPI description into tests/data/ozon_schemas.json (plain JSON Schema, $refs inlined).

    python tests/data/extract_ozon_schemas.py [path/to/seller-api.openapi.json]

Tests validate the emulator's and the client's bodies against the result, so they run on machines
that do not have the OpenAPI file. Descriptions and examples are dropped; OpenAPI's ``nullable``
becomes a JSON Schema type union.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "ozon" / "seller-api.openapi.json"
PATHS = (
    "/v4/posting/fbs/list", "/v4/posting/fbs/unfulfilled/list", "/v3/posting/fbs/get", "/v4/posting/fbs/ship",
    "/v2/posting/fbs/awaiting-delivery", "/v2/fbs/posting/delivering", "/v2/fbs/posting/last-mile",
    "/v2/fbs/posting/delivered", "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel",
    "/v2/posting/fbs/cancel-reason/list", "/v1/roles", "/v3/posting/fbo/list", "/v2/posting/fbo/get",
    "/v1/returns/list",
)
# "pattern" goes too: Ozon writes a human hint there (" YYYY-MM-DDThh:mm:ssZ"), not a regular expression.
DROP = {"description", "example", "examples", "title", "x-tagGroups", "externalDocs", "deprecated", "xml", "pattern"}


def resolve(node: Any, spec: dict[str, Any], stack: tuple[str, ...] = (), names: bool = False) -> Any:
    """Inline $refs and drop documentation keywords (``names``: the keys are property names, kept)."""
    if isinstance(node, list):
        return [resolve(x, spec, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: resolve(v, spec, stack) for k, v in node.items()}
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:  # a recursive schema: stop with "anything"
            return {}
        target: Any = spec
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        return resolve(target, spec, (*stack, ref))
    out = {k: resolve(v, spec, stack, names=k == "properties") for k, v in node.items() if k not in DROP}
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    spec = json.loads(source.read_text(encoding="utf-8"))
    result: dict[str, Any] = {"source": f"{source.name} info.version {spec['info'].get('version')}", "paths": {}}
    for path in PATHS:
        op = spec["paths"][path]["post"]
        body = resolve(op.get("requestBody", {}), spec)
        responses = op["responses"]
        ok = resolve(responses["200"], spec)
        err = resolve(responses.get("400") or responses.get("default"), spec)
        result["paths"][path] = {
            "operationId": op.get("operationId"),
            "request": body.get("content", {}).get("application/json", {}).get("schema", {}),
            "response": ok.get("content", {}).get("application/json", {}).get("schema", {}),
            "error": (err or {}).get("content", {}).get("application/json", {}).get("schema", {}),
        }
    out = HERE / "ozon_schemas.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB) for {len(PATHS)} methods")


if __name__ == "__main__":
    main()
