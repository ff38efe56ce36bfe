"""Retrying a call to another service: one policy for every edge (Ozon, Google Sheets, alert webhooks).

A ``RetryPolicy`` says how many tries, how long to pause between them (exponential back-off, capped,
with full jitter) and how far a server's ``Retry-After`` (seconds or an HTTP date) is honoured. A
``Retrier`` runs one call under a policy with the clock, sleep and random source it is given. What is
worth another try, and what to raise when the tries run out, stays with each edge: its try returns
either the answer or a ``Retry`` saying why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")


def utc_now() -> datetime:
    """The real wall clock, timezone-aware (the default clock of every edge)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Retry:
    """A failed try that may be repeated: ``reason`` says why (for logs and the final message);
    ``retry_after`` is the pause the server asked for, in seconds."""

    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all (at least one). Before retry n (1, 2, ...) the pause is drawn from
    0..min(cap, base·2^(n-1)) (full jitter), or is that ceiling itself without jitter; a Retry-After
    makes it at least that long, cut to ``max_retry_after`` so one call stays bounded."""

    attempts: int
    base: float
    cap: float
    max_retry_after: float
    jitter: bool = True

    def __post_init__(self) -> None:
        if self.attempts < 1:
            object.__setattr__(self, "attempts", 1)

    def ceiling(self, retry: int) -> float:
        return min(self.cap, self.base * 2.0 ** (retry - 1))

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        """The pause before retry ``retry`` (1 = the second try)."""
        top = self.ceiling(retry)
        pause = rng.uniform(0, top) if self.jitter else top
        if retry_after is not None:
            pause = max(pause, min(max(retry_after, 0.0), self.max_retry_after))
        return pause


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header in seconds: a number, or an HTTP date (seconds from ``now``, never
    below 0); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN says nothing
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


class Retrier:
    """Runs calls under ``policy``, pausing with ``sleep`` for delays drawn from ``rng``; ``now`` is the
    wall clock an HTTP-date Retry-After is measured from."""

    def __init__(self, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, now: Callable[[], datetime] = utc_now) -> None:
        self.policy = policy
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.now = now

    def retry_after(self, value: str | None) -> float | None:
        """A server's ``Retry-After`` header in seconds (see ``parse_retry_after``)."""
        return parse_retry_after(value, self.now())

    def run(self, attempt: Callable[[], T | Retry],
            on_retry: Callable[[Retry, float, int], None] | None = None) -> T | Retry:
        """Call ``attempt`` until it returns something other than a ``Retry`` or the tries run out;
        returns that answer, or the last ``Retry``. ``on_retry(last, pause, try_number)`` is told
        before each pause (to log it). Whatever ``attempt`` raises goes straight through."""
        outcome = attempt()
        for retry in range(1, self.policy.attempts):
            if not isinstance(outcome, Retry):
                return outcome
            pause = self.policy.delay(retry, self.rng, outcome.retry_after)
            if on_retry is not None:
                on_retry(outcome, pause, retry + 1)
            self.sleep(pause)
            outcome = attempt()
        return outcome
