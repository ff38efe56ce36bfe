"""Google's HTTP side for the Sheets backend: gspread's HTTP client with a timeout on every call,
bounded jittered retries (sync.retry) and a request counter, and the service-account credentials.

gspread's own BackOffHTTPClient retries for ever, so ours is bounded and jittered. Reads (GET) are
retried on 429, 5xx and network errors. Writes are retried only on 429 and on a failed connect
(Google did not process them); after a 5xx or a timeout the outcome is unknown, and the next cycle
reads the sheet and sees what landed.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import google.auth.exceptions
import gspread
import requests
from google.auth.credentials import AnonymousCredentials, Credentials
from google.oauth2 import service_account
from gspread.exceptions import APIError

from sync.errors import SheetAccessError, SheetUnavailable
from sync.retry import Retrier, Retry, RetryPolicy, utc_now

log = logging.getLogger("sync.google")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive.metadata.readonly",
          "https://www.googleapis.com/auth/drive.file")  # drive.file: the label files we upload
GOOGLE_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")
RETRYABLE = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE, BACKOFF_CAP = 1.0, 30.0  # seconds; a longer Retry-After is cut to the cap too


class RetryingHTTPClient(gspread.http_client.HTTPClient):
    """gspread's HTTP client with a timeout on every call, bounded jittered retries, a request
    counter, and an optional endpoint that replaces Google's hosts (the emulator, a proxy).

    gspread builds it from the class (``Client(..., http_client=cls)``), so settings are class
    attributes: ``RetryingHTTPClient.configured(...)`` makes a subclass carrying them."""

    endpoint: str | None = None
    timeout_seconds: float = 30.0
    retrier: Retrier = Retrier(RetryPolicy(5, BACKOFF_BASE, BACKOFF_CAP, BACKOFF_CAP))

    @classmethod
    def configured(cls, *, endpoint: str | None = None, timeout: float = 30.0, retries: int = 4,
                   sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                   now: Callable[[], datetime] = utc_now) -> type[RetryingHTTPClient]:
        policy = RetryPolicy(max(0, retries) + 1, BACKOFF_BASE, BACKOFF_CAP, BACKOFF_CAP)
        return type("ConfiguredHTTPClient", (cls,), {
            "endpoint": endpoint.rstrip("/") if endpoint else None, "timeout_seconds": timeout,
            "retrier": Retrier(policy, sleep=sleep, rng=rng, now=now),
        })

    def __init__(self, auth: Credentials, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.set_timeout(self.timeout_seconds)
        self.requests = 0
        self.drive_requests = 0  # of them, to Drive (the rest: Sheets)
        self.bytes_sent = 0  # request bodies
        self.bytes_received = 0  # response bodies

    def _at(self, endpoint: str) -> str:
        """``endpoint`` at the configured host (the emulator, a proxy), when one is set."""
        if self.endpoint:
            for host in GOOGLE_HOSTS:
                if endpoint.startswith(host):
                    return self.endpoint + endpoint[len(host):]
        return endpoint

    def request_once(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        """One try and no retries: for a look the next look repeats anyway (it must not hold up the daemon)."""
        outcome = self._try_once(method, self._at(endpoint), method.upper() == "GET", *args, **kwargs)
        if isinstance(outcome, _Again):
            raise outcome.error from None
        return outcome

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        endpoint = self._at(endpoint)
        read = method.upper() == "GET"
        tries = self.retrier.policy.attempts

        def log_retry(last: Retry, delay: float, attempt: int) -> None:
            log.info("Google Sheets: %s; retrying in %.1f s (try %d of %d)", last.reason, delay, attempt, tries)

        outcome = self.retrier.run(lambda: self._try_once(method, endpoint, read, *args, **kwargs), log_retry)
        if isinstance(outcome, _Again):
            raise outcome.error from None
        assert isinstance(outcome, requests.Response)
        return outcome

    def _try_once(self, method: str, endpoint: str, read: bool, *args: Any,
                  **kwargs: Any) -> requests.Response | _Again:
        """One request: the response, a ``_Again`` that may be tried again (holding what to raise when
        the tries run out), or an error raised at once (writes whose outcome is unknown, refusals)."""
        self.requests += 1
        self.drive_requests += "/drive/" in endpoint
        try:
            response = super().request(method, endpoint, *args, **kwargs)
            self._count(response)
            return response
        except APIError as exc:
            self._count(exc.response)
            status = exc.response.status_code
            if status not in RETRYABLE or (not read and status != 429):
                raise
            return _Again(f"HTTP {status}", self.retrier.retry_after(exc.response.headers.get("retry-after")),
                           error=exc)
        except requests.ConnectionError as exc:
            # A refused or failed connect sent nothing; any other broken connection may have.
            sent = not isinstance(exc.__context__, ConnectionRefusedError) and "Connection refused" not in str(exc)
            error = SheetUnavailable(_unknown(method, endpoint, "the connection broke"))
            if not read and sent:
                raise error from None
            return _Again("no connection", error=error)
        except google.auth.exceptions.TransportError:
            return _Again("sign-in unreachable", error=SheetUnavailable(
                "Google's sign-in service could not be reached; the next cycle tries again"))
        except google.auth.exceptions.GoogleAuthError as exc:
            raise SheetAccessError(f"Google did not accept our credentials ({exc}): check spreadsheet.credentials "
                                   f"(a service-account JSON key, shared with the spreadsheet)") from None
        except requests.Timeout:
            error = SheetUnavailable(_unknown(method, endpoint, f"no answer within {self.timeout_seconds:g} s"))
            if not read:
                raise error from None
            return _Again("timeout", error=error)

    def _count(self, response: requests.Response) -> None:
        body = response.request.body if response.request is not None else None
        self.bytes_sent += len(body) if isinstance(body, bytes | str) else 0
        self.bytes_received += len(response.content)


@dataclass(frozen=True)
class _Again(Retry):
    """A try worth repeating; ``error`` is raised when the tries run out."""

    error: Exception = field(kw_only=True)


def _unknown(method: str, endpoint: str, why: str) -> str:
    if "/upload/drive/" in endpoint:
        return f"Google Drive did not answer while a file was uploaded (it may or may not have landed): {why}"
    what = "reading the sheet" if method.upper() == "GET" else "writing the sheet (it may or may not have landed)"
    return f"Google Sheets did not answer while {what}: {why}; the next cycle reads it again"


def load_credentials(credentials: str | None) -> Credentials:
    """``anonymous`` (emulators), a service-account JSON path, or $GOOGLE_APPLICATION_CREDENTIALS."""
    if credentials == "anonymous":
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    path = credentials or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        raise SheetAccessError("No Google credentials: set spreadsheet.credentials to a service-account JSON key "
                               "file, or the environment variable GOOGLE_APPLICATION_CREDENTIALS")
    try:
        creds: Credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            path, scopes=list(SCOPES))
    except (OSError, ValueError, KeyError) as exc:
        raise SheetAccessError(f"The service-account key {path} cannot be used ({exc}); download a JSON key "
                               f"from Google Cloud console → IAM → Service accounts → Keys") from None
    return creds
