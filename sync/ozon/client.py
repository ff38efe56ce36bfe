"""The Ozon Seller API client: the few FBS/rFBS methods the sync needs (and the FBO and returns
lists of the read-only tabs), over an injected transport.

Every call goes through ``OzonClient._request``, the one place that sorts Ozon's answers into
what the caller does about them (sync/errors.py):

    200 with a JSON object          the answer (``result`` wrapper or not; callers unwrap)
    Invalid Api-Key / bad Client-Id /
    deactivated key / role / IP     OzonAuthError, naming the config key to fix
    "Circle is open"                OzonUnavailable at once; the path stays blocked for 3 minutes
    429 / request rate limit        retried (reads and writes: Ozon did not process it), honouring
                                    ``retry-after``; OzonUnavailable when the tries run out
    5xx, timeouts, network errors,
    200 that is not JSON            reads: retried with full-jitter exponential backoff, then
                                    OzonUnavailable. Writes: OzonUnavailable at once, because the
                                    outcome is unknown and the engine verifies by re-reading; only
                                    a failed connect (nothing was sent) is retried
    other 4xx                       OzonRefused(code, message, posting): Ozon said no to this posting

Ozon quirks handled here: a wrong key is HTTP 404 code 5, not 401; the
rFBS status setters report per-posting failures inside a 200 body with ``error`` as "", [],
null, a string or a list; list windows may not exceed a year; cursors are opaque.
Nothing here logs headers, the Api-Key or response bodies (they hold buyers' phones).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx

from sync.errors import FatalError, OzonAuthError, OzonRefused, OzonUnavailable
from sync.model import CancelReason, FboPosting, Posting, ReturnItem
from sync.ozon.answers import access_problem, business_code, error_codes, posting_of, unwrap
from sync.ozon.limiter import RateLimiter
from sync.ozon.parse import parse_cancel_reasons, parse_fbo_posting, parse_posting, parse_return, to_datetime
from sync.retry import Retrier, Retry, RetryPolicy, utc_now

log = logging.getLogger("sync.ozon")

DEFAULT_BASE_URL = "https://api-seller.ozon.ru"
PAGE_SIZE = 100
RETURNS_PAGE_SIZE = 500  # /v1/returns/list allows up to 500
T = TypeVar("T")
MAX_WINDOW = timedelta(days=364)  # Ozon: "the period shouldn't be longer than one year"
CIRCLE_OPEN_BLOCK = 180.0  # seconds; Ozon: the method "recovers in a few minutes"
BACKOFF_BASE = 0.5
BACKOFF_CAP = 10.0
MAX_RETRY_AFTER = 60.0  # a longer retry-after is cut to this, so one call stays bounded
# Requests spaced exactly 1/rps apart reach Ozon bunched (the network, threads waking late), so a window of
# Ozon's second can count more than rps of them: the client's own limiter keeps 10% below ozon.rps.
RATE_HEADROOM = 0.9

@dataclass(frozen=True)
class _Retry(Retry):
    """A failed try that may be repeated; whether Ozon's answer was not JSON, or its rate limit."""

    not_json: bool = False
    rate_limited: bool = False


class OzonClient:
    """The Ozon Seller API for one account (one Client-Id + Api-Key).

    ``transport``, ``clock`` (monotonic seconds), ``now`` (the wall clock), ``sleep`` and ``rng`` are
    injected so tests run against ``httpx.MockTransport`` or a local emulator on fake time. ``requests`` counts the HTTP
    requests sent (benchmarks read it). Clients that share a Client-Id should share ``limiter``.
    """

    def __init__(
        self,
        client_id: str,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        account: str = "main",
        config_key: str = "ozon",
        rps: float = 20.0,
        limiter: RateLimiter | None = None,
        timeout: float = 15.0,
        max_retries: int = 4,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        client_id, api_key = str(client_id).strip(), api_key.strip()
        self.account = account
        self.config_key = config_key  # where this account's keys are in the config: "ozon" or "accounts[N]"
        self.requests = 0
        self.max_retries = max(0, max_retries)
        self.timeout = timeout
        self._api_key = api_key
        self._clock = clock
        self._now = now
        self._retrier = Retrier(RetryPolicy(self.max_retries + 1, BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER),
                                sleep=sleep, rng=rng, now=now)
        self._limiter = limiter or RateLimiter(rps * RATE_HEADROOM, clock=clock, sleep=sleep)
        self._blocked_until: dict[str, float] = {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Client-Id": client_id, "Api-Key": api_key, "Content-Type": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._files = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)  # no keys sent

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()
        self._files.close()

    def __enter__(self) -> OzonClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------------

    def list_postings(
        self,
        since: datetime,
        to: datetime,
        *,
        changed_since: datetime | None = None,
        changed_to: datetime | None = None,
        statuses: Sequence[str] = (),
    ) -> Iterator[Posting]:
        """FBS/rFBS postings processed between ``since`` and ``to``: ``POST /v4/posting/fbs/list``.

        The range is split into windows of at most 364 days (Ozon refuses longer periods), each
        read in cursor pages of 100. With ``changed_since`` only postings whose status changed
        since then (up to ``changed_to``, default now + 1 day) come back, via
        ``filter.last_changed_status_date``. A posting seen in two windows is yielded once;
        one that cannot be parsed is skipped with a warning.

        Raises OzonAuthError, OzonUnavailable (also when Ozon hands back a cursor it already
        gave, which would loop forever), FatalError (method removed), OzonRefused (Ozon rejected
        the filter).
        """
        base_filter: dict[str, Any] = {}
        if statuses:
            base_filter["statuses"] = list(statuses)
        if changed_since is not None:
            base_filter["last_changed_status_date"] = {
                "from": format_time(changed_since),
                "to": format_time(changed_to or self._far_now()),
            }
        seen: set[str] = set()
        for start, end in split_windows(since, to):
            flt = {"since": format_time(start), "to": format_time(end), **base_filter}
            for posting in self._pages("/v4/posting/fbs/list", flt, parse=parse_posting):
                if posting.posting_number not in seen:
                    seen.add(posting.posting_number)
                    yield posting

    def list_unfulfilled(
        self, *, changed_since: datetime | None = None, statuses: Sequence[str] = ()
    ) -> Iterator[Posting]:
        """Open FBS/rFBS postings: ``POST /v4/posting/fbs/unfulfilled/list``, cursor pages of 100.

        With ``changed_since`` only those whose status changed since then
        (``filter.last_changed_status_date``). Raises as ``list_postings``.
        """
        flt: dict[str, Any] = {}
        if statuses:
            flt["statuses"] = list(statuses)
        if changed_since is not None:
            flt["last_changed_status_date"] = {"from": format_time(changed_since), "to": format_time(self._far_now())}
        yield from self._pages("/v4/posting/fbs/unfulfilled/list", flt, parse=parse_posting)

    def get_posting(self, number: str) -> Posting:
        """One posting with its customer data when Ozon gives it: ``POST /v3/posting/fbs/get``.

        Raises OzonRefused (e.g. POSTING_NOT_FOUND), OzonAuthError, OzonUnavailable (also when
        the answer holds no posting).
        """
        path = "/v3/posting/fbs/get"
        body = {
            "posting_number": number,
            "with": {
                "analytics_data": False,
                "barcodes": False,
                "financial_data": False,
                "legal_info": False,
                "product_exemplars": False,
                "related_postings": False,
                "translit": False,
            },
        }
        data = unwrap(self._request(path, body, idempotent=True))
        posting = parse_posting(data, self.account)
        if posting is None:
            raise OzonUnavailable(f"Ozon's answer on {path} for posting {number} holds no posting")
        return posting

    def list_fbo(self, since: datetime, to: datetime, *, statuses: Sequence[str] = ()) -> Iterator[FboPosting]:
        """FBO postings created between ``since`` and ``to``: ``POST /v3/posting/fbo/list``.

        Windows of at most 364 days, cursor pages of 100, with ``analytics_data`` (warehouse, city).
        Ozon has no "changed since" filter for FBO, so the caller decides how often to ask.
        Raises as ``list_postings``.
        """
        seen: set[str] = set()
        for start, end in split_windows(since, to):
            flt: dict[str, Any] = {"since": format_time(start), "to": format_time(end)}
            if statuses:
                flt["statuses"] = list(statuses)
            extra = {"with": {"analytics_data": True, "financial_data": False, "legal_info": False}}
            for posting in self._pages("/v3/posting/fbo/list", flt, parse=parse_fbo_posting, extra=extra):
                if posting.posting_number not in seen:
                    seen.add(posting.posting_number)
                    yield posting

    def get_fbo(self, number: str) -> FboPosting:
        """One FBO posting: ``POST /v2/posting/fbo/get``. Raises as ``get_posting``."""
        path = "/v2/posting/fbo/get"
        body = {"posting_number": number, "translit": False,
                "with": {"analytics_data": True, "financial_data": False, "legal_info": False}}
        posting = parse_fbo_posting(unwrap(self._request(path, body, idempotent=True)), self.account)
        if posting is None:
            raise OzonUnavailable(f"Ozon's answer on {path} for posting {number} holds no posting")
        return posting

    def list_returns(self, since: datetime, to: datetime) -> Iterator[ReturnItem]:
        """FBS and FBO returns whose status changed between ``since`` and ``to``: ``POST /v1/returns/list``
        filtered by ``visual_status_change_moment``, pages of 500 continued by ``last_id``.

        Raises as ``list_postings`` (OzonUnavailable also when a page does not move ``last_id`` on).
        """
        path = "/v1/returns/list"
        flt = {"visual_status_change_moment": {"time_from": format_time(since), "time_to": format_time(to)}}
        last_id, page = 0, 0
        while True:
            page += 1
            body = {"limit": RETURNS_PAGE_SIZE, "last_id": last_id, "filter": flt}
            data = unwrap(self._request(path, body, idempotent=True))
            items = data.get("returns")
            biggest = last_id
            for index, raw in enumerate(items if isinstance(items, list) else []):
                item = parse_return(raw, self.account)
                if item is None:
                    log.warning("Skipped return %d on page %d of %s: it has no id", index + 1, page, path)
                    continue
                biggest = max(biggest, item.id)
                yield item
            if not data.get("has_next"):
                return
            if biggest <= last_id:
                raise OzonUnavailable(
                    f"Ozon said more returns follow on {path} but page {page} did not move last_id on; "
                    "the scan stopped to avoid looping and is tried again next cycle"
                )
            last_id = biggest

    def cancel_reasons(self) -> list[CancelReason]:
        """Seller cancel reasons available for cancelling: ``POST /v2/posting/fbs/cancel-reason/list``.

        Raises OzonAuthError, OzonUnavailable.
        """
        data = self._request("/v2/posting/fbs/cancel-reason/list", {}, idempotent=True)
        items = data.get("result")
        return parse_cancel_reasons(items if isinstance(items, list) else [])

    def key_expires_at(self) -> datetime | None:
        """When the Api-Key expires (None if Ozon does not say): ``POST /v1/roles``.

        Raises OzonAuthError, OzonUnavailable.
        """
        data = unwrap(self._request("/v1/roles", {}, idempotent=True))
        return to_datetime(data.get("expires_at"))

    # -- writes --------------------------------------------------------------------------------

    def ship(self, posting: Posting) -> None:
        """Pack a posting as one package with all its products: ``POST /v4/posting/fbs/ship``.

        ``product_id`` is the SKU, as Ozon requires. A 200 does not mean packed: Ozon packs
        asynchronously and may end in substatus ``ship_failed``, so the caller re-reads.
        Raises OzonRefused (POSTING_ALREADY_SHIPPED, TRANSITION_IS_NOT_POSSIBLE, ...),
        OzonAuthError, OzonUnavailable (including a 5xx or timeout: the outcome is unknown).
        """
        quantities: dict[int, int] = {}
        for product in posting.products:
            quantities[product.sku] = quantities.get(product.sku, 0) + product.quantity
        if not quantities:
            raise OzonRefused("NO_PRODUCTS", "the posting lists no products to pack", posting.posting_number)
        body = {
            "posting_number": posting.posting_number,
            "packages": [{"products": [{"product_id": sku, "quantity": qty} for sku, qty in quantities.items()]}],
            "with": {"additional_data": False},
        }
        self._request("/v4/posting/fbs/ship", body, idempotent=False)

    def awaiting_delivery(self, number: str) -> None:
        """Move a disputed posting back to awaiting_deliver: ``POST /v2/posting/fbs/awaiting-delivery``.

        Raises OzonRefused (also code REFUSED for ``{"result": false}``), OzonAuthError, OzonUnavailable.
        """
        self._expect_true("/v2/posting/fbs/awaiting-delivery", {"posting_number": [number]}, number)

    def set_delivering(self, number: str) -> None:
        """rFBS: mark a posting as handed to delivery: ``POST /v2/fbs/posting/delivering``.

        Raises OzonRefused (Ozon's per-posting error, e.g. TRANSITION_IS_NOT_POSSIBLE),
        OzonAuthError, OzonUnavailable.
        """
        self._move("/v2/fbs/posting/delivering", {"posting_number": [number]}, number)

    def set_last_mile(self, number: str) -> None:
        """rFBS: mark the courier as on the way: ``POST /v2/fbs/posting/last-mile``. Raises as ``set_delivering``."""
        self._move("/v2/fbs/posting/last-mile", {"posting_number": [number]}, number)

    def set_delivered(self, number: str) -> None:
        """rFBS: mark a posting as delivered: ``POST /v2/fbs/posting/delivered``. Raises as ``set_delivering``."""
        self._move("/v2/fbs/posting/delivered", {"posting_number": [number]}, number)

    def set_tracking_number(self, number: str, tracking: str) -> None:
        """rFBS: store a tracking number: ``POST /v2/fbs/posting/tracking-number/set``.

        Raises as ``set_delivering``.
        """
        body = {"tracking_numbers": [{"posting_number": number, "tracking_number": tracking}]}
        self._move("/v2/fbs/posting/tracking-number/set", body, number)

    def cancel(self, number: str, reason_id: int, message: str = "") -> None:
        """Cancel a posting with a seller reason: ``POST /v2/posting/fbs/cancel``.

        Reason 402 ("other") needs ``message``. Raises OzonRefused (HAS_INCORRECT_CANCEL_REASON,
        POSTING_ALREADY_CANCELLED, REFUSED for ``{"result": false}``...), OzonAuthError, OzonUnavailable.
        """
        body = {"posting_number": number, "cancel_reason_id": int(reason_id), "cancel_reason_message": message}
        self._expect_true("/v2/posting/fbs/cancel", body, number)

    # -- helpers -------------------------------------------------------------------------------

    def call(self, path: str, body: Mapping[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """One call through this client's rate limit, retries and sorting of answers (see the module
        docstring), for the FBS-day methods (sync/ozon/fbs_day.py). A PDF answer reads as
        ``{"content_type": "application/pdf", "file_content": <bytes>}``."""
        return self._request(path, body, idempotent=idempotent)

    def download(self, url: str) -> httpx.Response:
        """GET a file Ozon made (a label task's PDF) over this client's transport, without the account's keys."""
        return self._files.get(url)

    def _pages(self, path: str, flt: Mapping[str, Any], *,
               parse: Callable[[object, str], T | None], extra: Mapping[str, Any] | None = None) -> Iterator[T]:
        cursor = ""
        seen_cursors: set[str] = set()
        page = 0
        while True:
            page += 1
            body = {"cursor": cursor, "limit": PAGE_SIZE, "sort_dir": "ASC", "filter": dict(flt), **(extra or {})}
            data = unwrap(self._request(path, body, idempotent=True))
            items = data.get("postings")
            for index, item in enumerate(items if isinstance(items, list) else []):
                posting = parse(item, self.account)
                if posting is None:
                    log.warning("Skipped posting %d on page %d of %s: it has no posting_number", index + 1, page, path)
                    continue
                yield posting
            if not data.get("has_next"):
                return
            next_cursor = data.get("cursor")
            cursor = next_cursor if isinstance(next_cursor, str) else ""
            if not cursor or cursor in seen_cursors:
                raise OzonUnavailable(
                    f"Ozon handed back a page cursor it had already given on {path} (page {page}); "
                    "the scan stopped to avoid looping and is tried again next cycle"
                )
            seen_cursors.add(cursor)

    def _expect_true(self, path: str, body: Mapping[str, Any], number: str) -> None:
        data = self._request(path, body, idempotent=False)
        if data.get("result") is False:
            raise OzonRefused("REFUSED", f"Ozon answered {path} with result false", number)

    def _move(self, path: str, body: Mapping[str, Any], number: str) -> None:
        """A setter that answers ``{"result": [{posting_number, result, error}]}``: check our posting."""
        result = self._request(path, body, idempotent=False).get("result")
        if result is True:
            return
        if result is False:
            raise OzonRefused("REFUSED", f"Ozon answered {path} with result false", number)
        items = [r for r in result if isinstance(r, Mapping)] if isinstance(result, list) else []
        ours = [r for r in items if str(r.get("posting_number", "")) == number]
        if not ours and len(items) == 1 and not items[0].get("posting_number"):
            ours = items
        if not ours:
            raise OzonRefused("REFUSED", f"Ozon's answer on {path} does not mention the posting", number)
        item = ours[0]
        codes = error_codes(item.get("error"))
        if item.get("result") is True:
            return
        if codes:
            raise OzonRefused(codes[0], self._scrub(", ".join(codes)), number)
        raise OzonRefused("REFUSED", f"Ozon did not apply {path} and gave no reason", number)

    def _request(self, path: str, body: Mapping[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """Send one call, retrying what may be retried, and sort the answer (see the module docstring).
        A message that names a config key names this account's (``accounts[1].api_key``)."""
        blocked = self._blocked_until.get(path)
        if blocked is not None:
            left = blocked - self._clock()
            if left > 0:
                raise OzonUnavailable(
                    f'Ozon has blocked {path} for a few minutes ("Circle is open": too many requests); '
                    f"not calling it for another {left:.0f} s"
                )
            del self._blocked_until[path]
        posting = posting_of(body)
        tries = self._retrier.policy.attempts

        def log_retry(last: Retry, delay: float, attempt: int) -> None:
            log.info("Retrying %s in %.1f s (try %d of %d) after %s", path, delay, attempt, tries, last.reason)

        last = self._retrier.run(lambda: self._try_once(path, body, idempotent=idempotent, posting=posting),
                                 log_retry)
        if not isinstance(last, Retry):
            return last
        assert isinstance(last, _Retry)  # the only kind _try_once gives
        if last.not_json:
            raise OzonUnavailable(
                f"Ozon answered with something that is not JSON (HTML page?) on {path} ({last.reason}), "
                f"{tries} tries; check {self.config_key}.base_url if this persists"
            )
        if last.rate_limited:
            raise OzonUnavailable(f"Ozon kept answering {path} with its rate limit after {tries} tries ({last.reason})")
        raise OzonUnavailable(f"Ozon did not answer {path} after {tries} tries ({last.reason})")

    def _try_once(
        self, path: str, body: Mapping[str, Any], *, idempotent: bool, posting: str
    ) -> dict[str, Any] | _Retry:
        self._limiter.acquire()
        started = self._clock()
        self.requests += 1
        try:
            response = self._http.post(path, json=dict(body))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing reached Ozon, so even a write may be repeated.
            log.debug("POST %s -> no connection (%s) in %.0f ms", path, type(exc).__name__, self._ms(started))
            return _Retry(f"could not connect: {type(exc).__name__}")
        except httpx.TimeoutException as exc:
            log.debug("POST %s -> timeout (%s) in %.0f ms", path, type(exc).__name__, self._ms(started))
            if idempotent:
                return _Retry(f"no answer within {self.timeout:g} s")
            raise OzonUnavailable(_unknown_outcome(path, f"no answer within {self.timeout:g} s")) from None
        except httpx.TransportError as exc:
            log.debug("POST %s -> %s in %.0f ms", path, type(exc).__name__, self._ms(started))
            if idempotent:
                return _Retry(f"network error: {type(exc).__name__}")
            raise OzonUnavailable(_unknown_outcome(path, f"network error: {type(exc).__name__}")) from None
        log.debug("POST %s -> %d in %.0f ms", path, response.status_code, self._ms(started))
        return self._sort(path, response, idempotent=idempotent, posting=posting)

    def _sort(self, path: str, response: httpx.Response, *, idempotent: bool, posting: str) -> dict[str, Any] | _Retry:
        status = response.status_code
        if status == 200 and response.headers.get("content-type", "").startswith("application/pdf"):
            return {"content_type": "application/pdf", "file_content": response.content}
        try:
            data: Any = response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
            data = None
        if data is None and not response.content.strip() and status == 200 and not idempotent:
            data = {}  # an empty 200 to a write: accepted; the engine verifies by re-reading anyway
        if isinstance(data, list):
            data = {"result": data}
        if not isinstance(data, dict):
            if status == 429:
                return _Retry(f"HTTP {status}", retry_after=self._asked_wait(response), rate_limited=True)
            reason = f"HTTP {status}"
            if status == 200 or status >= 500:
                if idempotent:
                    return _Retry(reason, not_json=True)
                raise OzonUnavailable(
                    f"Ozon answered with something that is not JSON (HTML page?) on {path} ({reason}); "
                    "whether the change was made is unknown, the next cycle checks by re-reading the posting"
                )
            raise OzonUnavailable(
                f"Ozon answered with something that is not JSON (HTML page?) on {path} ({reason}); "
                f"check {self.config_key}.base_url"
            )

        message = self._scrub(str(data.get("message") or "").strip())
        lowered = message.lower()
        if "circle is open" in lowered:
            self._blocked_until[path] = self._clock() + CIRCLE_OPEN_BLOCK
            log.warning("Ozon blocked %s for a few minutes (Circle is open); pausing calls to it", path)
            raise OzonUnavailable(
                f'Ozon has blocked {path} for a few minutes ("Circle is open": too many requests); '
                f"not calling it for {CIRCLE_OPEN_BLOCK / 60:.0f} minutes"
            )
        if status != 200:
            problem = access_problem(path, status, data.get("code"), lowered, self.config_key)
            if problem is not None:
                raise OzonAuthError(problem)
            if "method is not allowed" in lowered:
                raise FatalError(
                    f'Ozon no longer serves {path} ("method is not allowed"): this version of ozon-sync '
                    "uses a retired Ozon method and needs an update"
                )
        if status == 429 or "request rate limit" in lowered:
            return _Retry(f"HTTP {status} {message}".strip(), retry_after=self._asked_wait(response), rate_limited=True)
        if status >= 500:
            reason = f"HTTP {status} {message}".strip()
            if idempotent:
                return _Retry(reason)
            raise OzonUnavailable(_unknown_outcome(path, reason))
        if status == 200:
            return data
        if status in (401, 403):
            raise OzonAuthError(
                f"Ozon denied access to {path} (HTTP {status}{': ' + message if message else ''}): "
                f"check {self.config_key}.client_id, {self.config_key}.api_key and the key's roles in the seller "
                "cabinet"
            )
        if 400 <= status < 500:
            code = business_code(message) or message or f"HTTP {status}"
            raise OzonRefused(code, message or f"HTTP {status}", posting)
        raise OzonUnavailable(
            f"Ozon answered {path} with HTTP {status}, which this client does not expect; "
            f"check {self.config_key}.base_url"
        )

    def _asked_wait(self, response: httpx.Response) -> float | None:
        return self._retrier.retry_after(response.headers.get("retry-after"))

    def _far_now(self) -> datetime:
        # Ozon requires both ends of last_changed_status_date; a day ahead tolerates clock skew.
        return self._now() + timedelta(days=1)

    def _ms(self, started: float) -> float:
        return (self._clock() - started) * 1000

    def _scrub(self, text: str) -> str:
        """Ozon's words go into our messages; make sure the key never does."""
        return text.replace(self._api_key, "***") if self._api_key else text


def split_windows(since: datetime, to: datetime, size: timedelta = MAX_WINDOW) -> list[tuple[datetime, datetime]]:
    """``since..to`` as consecutive windows no longer than ``size``; empty when ``to <= since``."""
    since, to = _aware(since), _aware(to)
    windows = []
    start = since
    while start < to:
        end = min(start + size, to)
        windows.append((start, end))
        start = end
    return windows


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with ``Z``, as Ozon expects; milliseconds only when there are any."""
    value = _aware(value).astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _unknown_outcome(path: str, reason: str) -> str:
    return (
        f"Ozon did not answer {path} usefully ({reason}); whether the change was made is unknown, "
        "the next cycle checks by re-reading the posting"
    )
