"""Error answers in Google's shape: ``{"error": {"code", "message", "status"}}``."""

from __future__ import annotations

from sync.emulators.server import Json

STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
          409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
NOT_FOUND = "Requested entity was not found."
NO_PERMISSION = "The caller does not have permission"
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                   "other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
MISSING_AUTH = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential. See "
                "https://developers.google.com/identity/sign-in/web/devconsole-project.")


class ApiError(Exception):
    """An error answer in Google's shape."""

    def __init__(self, http: int, message: str, status: str | None = None, extra: Json | None = None):
        super().__init__(message)
        self.http, self.message = http, message
        self.status = status or STATUS.get(http, "UNKNOWN")
        self.extra = extra or {}

    def body(self) -> Json:
        error: Json = {"code": self.http, "message": self.message, "status": self.status}
        error.update(self.extra)
        if not self.status:
            error.pop("status")
        return {"error": error}


def bad(message: str) -> ApiError:
    return ApiError(400, message)
