"""sync/retry.py on its own: the pauses a policy draws, Retry-After in seconds and as an HTTP date, and the
loop every edge runs its calls through. Sleep is a recorder and chance a seeded or extreme generator, so
nothing here really waits."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from sync.retry import Retrier, Retry, RetryPolicy, parse_retry_after

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
Attempt = Callable[[], str | Retry]


class Top(random.Random):
    """Always draws the top of the range: the pauses are the policy's ceilings."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Bottom(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return a


def retrier(policy: RetryPolicy, rng: random.Random | None = None) -> tuple[Retrier, list[float]]:
    slept: list[float] = []
    return Retrier(policy, sleep=slept.append, rng=rng or random.Random(5), now=lambda: NOW), slept


def failing(times: int, answer: str = "ok", retry_after: float | None = None) -> tuple[list[int], Attempt]:
    calls: list[int] = []

    def attempt() -> str | Retry:
        calls.append(1)
        return Retry(f"failure {len(calls)}", retry_after) if len(calls) <= times else answer

    return calls, attempt


def test_the_ceilings_double_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=8, base=0.5, cap=10.0, max_retry_after=60.0)
    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_stays_under_the_ceiling_and_varies() -> None:
    policy = RetryPolicy(attempts=5, base=1.0, cap=30.0, max_retry_after=30.0)
    rng = random.Random(11)
    draws = [policy.delay(3, rng) for _ in range(200)]
    assert all(0 <= d <= 4.0 for d in draws)
    assert len(set(draws)) > 100 and min(draws) < 1.0 and max(draws) > 3.0


def test_without_jitter_the_pause_is_the_ceiling() -> None:
    policy = RetryPolicy(attempts=4, base=0.5, cap=5.0, max_retry_after=10.0, jitter=False)
    assert [policy.delay(n, Bottom()) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 5.0]


def test_retry_after_lengthens_the_pause_but_is_cut_to_its_maximum() -> None:
    policy = RetryPolicy(attempts=3, base=0.5, cap=10.0, max_retry_after=60.0)
    assert policy.delay(1, Bottom(), retry_after=3.0) == 3.0
    assert policy.delay(1, Top(), retry_after=0.1) == 0.5  # a shorter Retry-After does not shorten the back-off
    assert policy.delay(1, Bottom(), retry_after=3600.0) == 60.0
    assert policy.delay(1, Bottom(), retry_after=-5.0) == 0.0


@pytest.mark.parametrize(("header", "seconds"), [
    ("3", 3.0), (" 2.5 ", 2.5), ("0", 0.0), ("-4", 0.0),
    (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
    (format_datetime(NOW - timedelta(minutes=5), usegmt=True), 0.0),  # a date gone by: retry now
    ("Wed, 02 Dec 2026 12:00:30 GMT", 30.0),
    (None, None), ("", None), ("soon", None), ("nan", None),
])
def test_retry_after_in_seconds_or_as_an_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_the_retrier_measures_a_date_from_its_own_clock() -> None:
    later = NOW + timedelta(seconds=20)
    r = Retrier(RetryPolicy(2, 1.0, 5.0, 60.0), sleep=lambda s: None, now=lambda: later)
    assert r.retry_after(format_datetime(NOW + timedelta(seconds=50), usegmt=True)) == 30.0


def test_the_answer_after_failures_with_each_pause_recorded() -> None:
    r, slept = retrier(RetryPolicy(attempts=5, base=0.5, cap=10.0, max_retry_after=60.0), Top())
    calls, attempt = failing(3)
    told: list[tuple[str, float, int]] = []
    assert r.run(attempt, lambda last, pause, n: told.append((last.reason, pause, n))) == "ok"
    assert len(calls) == 4 and slept == [0.5, 1.0, 2.0]
    assert told == [("failure 1", 0.5, 2), ("failure 2", 1.0, 3), ("failure 3", 2.0, 4)]


def test_when_the_tries_run_out_the_last_retry_comes_back() -> None:
    r, slept = retrier(RetryPolicy(attempts=3, base=1.0, cap=30.0, max_retry_after=30.0), Top())
    calls, attempt = failing(10)
    last = r.run(attempt)
    assert isinstance(last, Retry) and last.reason == "failure 3"
    assert len(calls) == 3 and slept == [1.0, 2.0]  # no pause after the last try


def test_a_first_answer_costs_no_pause_and_one_attempt_never_pauses() -> None:
    r, slept = retrier(RetryPolicy(attempts=4, base=1.0, cap=30.0, max_retry_after=30.0))
    calls, attempt = failing(0)
    assert r.run(attempt) == "ok" and len(calls) == 1 and slept == []
    once, slept_once = retrier(RetryPolicy(attempts=0, base=1.0, cap=30.0, max_retry_after=30.0))
    calls, attempt = failing(5)
    assert isinstance(once.run(attempt), Retry) and len(calls) == 1 and slept_once == []


def test_the_servers_retry_after_sets_the_pause() -> None:
    r, slept = retrier(RetryPolicy(attempts=3, base=0.5, cap=10.0, max_retry_after=60.0), Bottom())
    _calls, attempt = failing(2, retry_after=7.0)
    assert r.run(attempt) == "ok" and slept == [7.0, 7.0]


def test_an_error_the_attempt_raises_goes_straight_through() -> None:
    r, slept = retrier(RetryPolicy(attempts=5, base=0.5, cap=10.0, max_retry_after=60.0))
    calls: list[int] = []

    def attempt() -> str | Retry:
        calls.append(1)
        if len(calls) == 2:
            raise LookupError("refused")
        return Retry("busy")

    with pytest.raises(LookupError):
        r.run(attempt)
    assert len(calls) == 2 and len(slept) == 1


def test_a_seeded_generator_gives_the_same_pauses() -> None:
    policy = RetryPolicy(attempts=6, base=0.5, cap=10.0, max_retry_after=60.0)
    runs = []
    for _ in range(2):
        r, slept = retrier(policy, random.Random(42))
        r.run(failing(10)[1])
        runs.append(slept)
    assert runs[0] == runs[1] and len(runs[0]) == 5
    assert all(0 <= s <= policy.ceiling(n) for n, s in enumerate(runs[0], start=1))
