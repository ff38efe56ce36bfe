"""Extract the request and response schemas of the Ozon methods we call and emulate from Ozon's
official OpenAPI description into tests/data/ozon_schemas.json (plain JSON Schema, $refs inlined).

    python tests/data/extract_ozon_schemas.py [seller-api.openapi.json [seller-api.ru.openapi.json]]

The methods the sync calls (``paths``) come from the English edition; the FBS-day methods (item
data, labels, hand-over: ``fbs_day_paths``) from the Russian edition, which is newer and describes
them as they are now. A body without a JSON schema (a PDF answer) has ``{}``.

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
DEFAULT_RU_SOURCE = DEFAULT_SOURCE.with_name("seller-api.ru.openapi.json")
PATHS = (
    "/v4/posting/fbs/list", "/v4/posting/fbs/unfulfilled/list", "/v3/posting/fbs/get", "/v4/posting/fbs/ship",
    "/v2/posting/fbs/awaiting-delivery", "/v2/fbs/posting/delivering", "/v2/fbs/posting/last-mile",
    "/v2/fbs/posting/delivered", "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel",
    "/v2/posting/fbs/cancel-reason/list", "/v1/roles", "/v3/posting/fbo/list", "/v2/posting/fbo/get",
    "/v1/returns/list",
)
FBS_DAY_PATHS = (
    "/v6/fbs/posting/product/exemplar/create-or-get", "/v5/fbs/posting/product/exemplar/validate",
    "/v6/fbs/posting/product/exemplar/set", "/v5/fbs/posting/product/exemplar/status",
    "/v2/posting/fbs/product/country/set", "/v2/posting/fbs/product/country/list", "/v3/posting/multiboxqty/set",
    "/v2/posting/fbs/package-label", "/v2/posting/fbs/package-label/create", "/v1/posting/fbs/package-label/get",
    "/v1/carriage/create", "/v1/carriage/set-postings", "/v1/carriage/approve", "/v1/carriage/get",
    "/v2/posting/fbs/act/get-pdf", "/v2/carriage/delivery/list",
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
    if isinstance(out.get("required"), bool):  # OpenAPI 2's "required": true on a property: not JSON Schema
        del out["required"]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def extract(spec: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """path -> operationId, request, response (200) and error schemas."""
    result: dict[str, Any] = {}
    for path in paths:
        op = spec["paths"][path]["post"]
        body = resolve(op.get("requestBody", {}), spec)
        responses = op["responses"]
        ok = resolve(responses["200"], spec)
        err = resolve(responses.get("400") or responses.get("default"), spec)
        result[path] = {
            "operationId": op.get("operationId"),
            "request": body.get("content", {}).get("application/json", {}).get("schema", {}),
            "response": ok.get("content", {}).get("application/json", {}).get("schema", {}),
            "error": (err or {}).get("content", {}).get("application/json", {}).get("schema", {}),
        }
    return result


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    ru_source = Path(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_RU_SOURCE
    spec = json.loads(source.read_text(encoding="utf-8"))
    ru_spec = json.loads(ru_source.read_text(encoding="utf-8"))
    result: dict[str, Any] = {
        "source": f"{source.name} info.version {spec['info'].get('version')}", "paths": extract(spec, PATHS),
        "fbs_day_source": f"{ru_source.name} info.version {ru_spec['info'].get('version')}",
        "fbs_day_paths": extract(ru_spec, FBS_DAY_PATHS),
    }
    out = HERE / "ozon_schemas.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB) for {len(PATHS) + len(FBS_DAY_PATHS)} methods")


if __name__ == "__main__":
    main()
