"""A client-side request rate limit, so we stay under Ozon's per-Client-Id quota.

Ozon allows 50 requests per second per Client-Id, shared with every other tool the seller runs;
we default to 20. Clients of one Client-Id must share one
``RateLimiter`` (several accounts each get their own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """A token bucket holding one token: requests are spaced at least ``1 / rps`` seconds apart.

    Thread-safe: each caller reserves the next free slot under a lock, then sleeps outside it,
    so waiting callers queue up in order instead of waking together. ``clock`` and ``sleep``
    are injected so tests run on fake time.
    """

    def __init__(
        self,
        rps: float = 20.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rps > 0:
            raise ValueError(f"rps must be a positive number of requests per second, not {rps!r}")
        self.rps = float(rps)
        self._interval = 1.0 / self.rps
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_free: float | None = None

    def acquire(self) -> None:
        """Wait until one more request may be sent."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_free is None else max(now, self._next_free)
            self._next_free = slot + self._interval
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
