"""Who is calling: ``POST /token`` (the OAuth JWT-bearer grant a service account's google-auth sends
when its key's ``token_uri`` points here; the token maps to the JWT's ``iss``) and the bearer token of
each request (an issued token, or a self-signed JWT whose ``iss`` is the caller)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from sync.emulators.server import Json
from sync.emulators.sheets.errors import MISSING_AUTH, UNAUTHENTICATED, ApiError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _jwt_payload(token: str) -> Json | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def token(raw: bytes, issue: Callable[[str], str]) -> tuple[int, Any]:
    """Answer ``POST /token``; ``issue`` makes the access token for an e-mail."""
    form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != JWT_BEARER:
        return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
    payload = _jwt_payload(form.get("assertion", ""))
    email = (payload or {}).get("iss")
    if not isinstance(email, str) or "@" not in email:
        return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
    return 200, {"access_token": issue(email), "expires_in": 3600, "token_type": "Bearer"}


def caller(headers: dict[str, str], tokens: dict[str, str], allow_anonymous: bool) -> str | None:
    """The e-mail behind the Authorization header (None: anonymous), or 401."""
    auth = headers.get("authorization")
    if not auth:
        if allow_anonymous:
            return None
        raise ApiError(401, MISSING_AUTH)
    scheme, _, bearer = auth.partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        raise ApiError(401, UNAUTHENTICATED)
    if bearer in tokens:
        return tokens[bearer]
    payload = _jwt_payload(bearer)  # a self-signed JWT: the caller is its issuer
    if payload and isinstance(payload.get("iss"), str) and "@" in payload["iss"]:
        return str(payload["iss"])
    raise ApiError(401, UNAUTHENTICATED)
