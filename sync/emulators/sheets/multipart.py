"""The ``multipart/related`` body of a Drive media upload (``uploadType=multipart``): a JSON metadata
part, then the media part, read byte-exact (a PDF's bytes come back as they were sent)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sync.emulators.server import Json
from sync.emulators.sheets.errors import ApiError, bad

BAD_CONTENT_TYPE = "Bad content type. Please use multipart."


@dataclass(frozen=True)
class Upload:
    """What a multipart upload carries: the File metadata, the media and the media part's Content-Type."""

    metadata: Json
    media: bytes
    media_type: str


def _boundary(content_type: str) -> bytes:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/related":
        raise bad(BAD_CONTENT_TYPE)
    m = re.search(r'boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))', params, re.IGNORECASE)
    if not m:
        raise bad(BAD_CONTENT_TYPE)
    return (m.group(1) or m.group(2)).encode("latin-1")


def _part(chunk: bytes) -> tuple[dict[str, str], bytes]:
    """One body part: its headers (lower-case names) and its content."""
    _, eol, chunk = chunk.partition(b"\r\n")  # the rest of the delimiter's line (transport padding)
    if not eol:
        raise bad("Malformed multipart body.")
    if chunk.startswith(b"\r\n"):  # a part with no headers at all
        head, content = b"", chunk[2:]
    else:
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise bad("Malformed multipart body.")
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, content


def parse(content_type: str, raw: bytes) -> Upload:
    """The upload in ``raw``, or 400 as Drive answers a body that is not two-part multipart/related."""
    delimiter = b"\r\n--" + _boundary(content_type)
    pieces = (b"\r\n" + raw).split(delimiter)
    if len(pieces) < 2 or not pieces[-1].startswith(b"--"):
        raise bad("Malformed multipart body.")
    parts = [_part(p) for p in pieces[1:-1]]
    if len(parts) != 2:
        raise bad(f"Malformed multipart body: expected the metadata part and the media part, got {len(parts)} "
                  "part(s).")
    (meta_headers, meta_raw), (media_headers, media) = parts
    if not meta_headers.get("content-type", "application/json").lower().startswith("application/json"):
        raise bad("Malformed multipart body: the first part must be the JSON metadata.")
    try:
        metadata = json.loads(meta_raw) if meta_raw.strip() else {}
    except ValueError:
        raise bad("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(metadata, dict):
        raise ApiError(400, "Invalid JSON payload received. The metadata must be an object.")
    return Upload(metadata, media, media_headers.get("content-type", "application/octet-stream"))


def metadata_or_text(content_type: str, raw: bytes) -> object:
    """For the request log: the metadata part when the body parses, else the body as text."""
    try:
        return parse(content_type, raw).metadata
    except ApiError:
        return raw.decode("utf-8", "replace") or None
