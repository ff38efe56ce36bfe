"""What Ozon's answers say, in the words the client needs: the business code in a refusal, the access
problem behind a refused key (and what a person should do), a setter's per-posting errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Business codes Ozon puts in ``message``, sometimes inside a longer sentence.
KNOWN_CODES = (
    "POSTING_ALREADY_SHIPPED",
    "POSTING_ALREADY_CANCELLED",
    "POSTING_NOT_FOUND",
    "TRANSITION_IS_NOT_POSSIBLE",
    "HAS_INCORRECT_TPL_INTEGRATION_TYPE",
    "HAS_INCORRECT_STATUS",
    "HAS_INCORRECT_PRODUCT_QUANTITY",
    "HAS_INCORRECT_CANCEL_REASON",
    "UNKNOWN_PRODUCT_DEFINED",
    "UNKNOW_PRODUCT",
    "EXEMPLAR_INFO_ALREADY_DEFINED",
    "EXEMPLAR_INFO_NOT_FILLED_COMPLETELY",
    "MANDATORY_MARK_REDUNDANT",
    "INCORRECT_OVH_FOR_POSTING",
    "SHIP_NOT_AVAILABLE",
    "SHIP_FBP_POSTINGS_IS_FORBIDDEN",
    "PERIOD_IS_TOO_LONG",
    "POSTING_NUMBERS_IS_INCORRECT_FOR_COMPANY",
    "INVALID_ARGUMENT",
)

# Ozon's access messages, lower-cased substring -> what a person should do ({key}: where
# this account's keys are in the config).
ACCESS_PROBLEMS = (
    ("invalid api-key", "Ozon rejected the Api-Key: check {key}.api_key"),
    ("client-id header value", "Ozon rejected the Client-Id: {key}.client_id must be the seller's numeric Client-Id"),
    (
        "api-key is deactivated",
        "Ozon says the Api-Key is deactivated: generate a new key in the seller cabinet "
        "(Settings → Seller API) and put it in {key}.api_key",
    ),
    (
        "missing a required role",
        "The Api-Key lacks the access role for {path}: give the key the needed role in the seller cabinet "
        "(Settings → Seller API) or put a key that has it in {key}.api_key",
    ),
    (
        "restricted to specific ip",
        "The Api-Key only works from certain IP addresses and this machine is not one of them: allow its "
        "address for the key in the seller cabinet, or put an unrestricted key in {key}.api_key",
    ),
    (
        "offer not signed",
        "Ozon refuses API calls until the seller accepts the current offer in the seller cabinet",
    ),
)



def business_code(message: str) -> str:
    """The first known business code in Ozon's ``message`` ("" when none)."""
    upper = message.upper()
    return next((c for c in KNOWN_CODES if c in upper), "")


def access_problem(path: str, status: int, code: object, lowered: str, key: str) -> str | None:
    """What to do about an answer that refuses our access (None when it does not); ``lowered`` is Ozon's
    message in lower case, ``key`` where this account's keys are in the config."""
    for needle, text in ACCESS_PROBLEMS:
        if needle in lowered:
            return text.format(path=path, key=key)
    # Ozon answers a wrong key with 404 code 5; a posting it cannot find names itself instead.
    if status == 404 and str(code) == "5" and (not lowered or "api-key" in lowered or "api key" in lowered):
        return ACCESS_PROBLEMS[0][1].format(key=key)
    return None


def unwrap(data: dict[str, Any]) -> dict[str, Any]:
    """The answer inside a ``result`` wrapper, or the answer itself when it has none."""
    result = data.get("result")
    return result if isinstance(result, dict) else data


def posting_of(body: Mapping[str, Any]) -> str:
    """The one posting a request body is about ("" when none or several), for OzonRefused."""
    number = body.get("posting_number")
    if isinstance(number, list):
        return str(number[0]) if len(number) == 1 else ""
    if isinstance(number, str):
        return number
    tracking = body.get("tracking_numbers")
    if isinstance(tracking, list) and len(tracking) == 1 and isinstance(tracking[0], Mapping):
        return str(tracking[0].get("posting_number", ""))
    return ""


def error_codes(error: object) -> list[str]:
    """``error`` of a per-posting result: "", [], null, a code, or a list of codes."""
    if isinstance(error, str):
        return [error.strip()] if error.strip() else []
    if isinstance(error, list):
        return [str(e).strip() for e in error if e is not None and str(e).strip()]
    if isinstance(error, Mapping):
        text = str(error.get("code") or error.get("message") or "").strip()
        return [text] if text else []
    return []
