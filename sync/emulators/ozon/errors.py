"""Error answers as Ozon writes them: an HTTP status with an ``rpcStatus`` body
(``{"code", "message", "details"}``)."""

from __future__ import annotations

from sync.emulators.server import Json


class ApiError(Exception):
    """An error answer: HTTP status and an ``rpcStatus`` body."""

    def __init__(self, http: int, code: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.http, self.code, self.message = http, code, message
        self.headers = headers or {}

    def body(self) -> Json:
        return {"code": self.code, "message": self.message, "details": []}


def refused(message: str) -> ApiError:
    """A business refusal: 404 for a missing posting, 409 for a state conflict, 400 otherwise."""
    if message == "POSTING_NOT_FOUND":
        return ApiError(404, 5, message)
    if message in ("TRANSITION_IS_NOT_POSSIBLE", "POSTING_ALREADY_SHIPPED", "POSTING_ALREADY_CANCELLED",
                   "SHIP_NOT_AVAILABLE", "HAS_INCORRECT_STATUS"):
        return ApiError(409, 9, message)
    return ApiError(400, 3, message)

