"""The daemon's daily hand-over (``handover.at``): once the local time passes ``at``, each account's
packed postings are handed over (sync/handover.py), once a day.

What came of it is kept in the state store's meta table under ``handover:<account>:<YYYY-MM-DD>``, so
a restarted daemon neither repeats a hand-over nor misses one; a daemon started after ``at`` does it
at once. A hand-over that failed (Ozon refused it, or did not answer) is tried again at most every
``RETRY_EVERY`` that day, for the delivery methods not handed over yet; a carriage made but not
approved is approved then, not made again. Nothing here stops the sync: failures are logged in words.
``ozon-sync status`` shows the day's result (:func:`status_lines`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sync import handover
from sync.config import HandoverConfig
from sync.engine.state import StateStore
from sync.errors import SyncError
from sync.labels import LabelFolder
from sync.ozon.fbs_day import FbsDay

log = logging.getLogger("sync.handover")

RETRY_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class DayResult:
    """One account's hand-over of one day, as kept in meta."""

    at: datetime  # the last try
    done: bool  # nothing is left to try today
    lines: tuple[str, ...]  # a line per delivery method (or why there was nothing), of the last try
    handed: frozenset[int] = frozenset()  # delivery method ids handed over today
    tries: int = 1

    def to_json(self) -> str:
        return json.dumps({"at": self.at.isoformat(), "done": self.done, "lines": list(self.lines),
                           "handed": sorted(self.handed), "tries": self.tries}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> DayResult | None:
        try:
            data = json.loads(text)
            return cls(datetime.fromisoformat(data["at"]), bool(data["done"]), tuple(map(str, data["lines"])),
                       frozenset(int(i) for i in data["handed"]), int(data["tries"]))
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: as if not tried (a carriage made is still approved, not made again)


def meta_key(account: str, day: date) -> str:
    return f"handover:{account}:{day.isoformat()}"


def today(state: StateStore, account: str, now: datetime, tz: ZoneInfo) -> DayResult | None:
    """The account's hand-over of the local day of ``now``, if it was tried."""
    text = state.get_meta(meta_key(account, now.astimezone(tz).date()))
    return None if text is None else DayResult.from_json(text)


def is_due(cfg: HandoverConfig, now: datetime, tz: ZoneInfo, result: DayResult | None) -> bool:
    """``at`` has passed today and the day's hand-over is not done (a failed one: ``RETRY_EVERY`` after it)."""
    if cfg.at is None or now.astimezone(tz).time() < cfg.at:
        return False
    return result is None or (not result.done and now - result.at >= RETRY_EVERY)


def run_daily(state: StateStore, account: str, day: FbsDay, folder: LabelFolder, cfg: HandoverConfig,
              tz: ZoneInfo, now: datetime) -> DayResult | None:
    """Hand the account's packed postings over when it is due; what came of it (kept in meta), or None
    when it was not due. Never raises for Ozon, the folder or the network: the next cycle tries again."""
    before = today(state, account, now, tz)
    if not is_due(cfg, now, tz, before):
        return None
    handed = before.handed if before is not None else frozenset()
    try:
        folder.check()
        got = handover.hand_over_all(day, cfg.delivery_methods, None, folder, now.astimezone(tz), skip=handed)
        lines = tuple(got.lines())
        handed |= {h.method_id for h in got.handed if not h.failed}
        failed = got.failed
    except SyncError as exc:
        lines, failed = (f"The hand-over did not happen: {exc}",), True
    except OSError as exc:  # the act could not be saved (disk full, permissions)
        lines, failed = (f"The hand-over's act could not be saved: {exc}",), True
    except Exception as exc:  # never the sync's end; the traceback at DEBUG
        log.debug("Traceback of the failed hand-over of account %s", account, exc_info=exc)
        lines, failed = (f"The hand-over failed with an unexpected error: {type(exc).__name__}: {exc}",), True
    result = DayResult(now, not failed, lines, handed, (before.tries + 1) if before is not None else 1)
    state.set_meta(meta_key(account, now.astimezone(tz).date()), result.to_json())
    _log(account, result, tz)
    return result


def _log(account: str, result: DayResult, tz: ZoneInfo) -> None:
    who = f"Daily hand-over (account «{account}»)"
    if result.done:
        for line in result.lines:
            log.info("%s: %s", who, line)
        return
    again = (result.at + RETRY_EVERY).astimezone(tz)
    for line in result.lines:
        log.warning("%s: %s", who, line)
    log.warning("%s did not finish; the sync goes on and tries it again after %s", who, f"{again:%H:%M}")


def status_lines(state: StateStore, accounts: Iterable[str], cfg: HandoverConfig, tz: ZoneInfo,
                 now: datetime) -> list[str]:
    """What ``ozon-sync status`` says of today's hand-over: nothing when it is off and was not tried."""
    names = list(accounts)
    out: list[str] = []
    for account in names:
        who = f" (account «{account}»)" if len(names) > 1 else ""
        result = today(state, account, now, tz)
        if result is None:
            if cfg.at is not None:
                out.append(f"Hand-over today{who}: not yet (handover.at: {cfg.at:%H:%M})")
            continue
        when = f"{result.at.astimezone(tz):%H:%M:%S}"
        if result.done:
            head = f"done at {when}"
        else:
            retry = (result.at + RETRY_EVERY).astimezone(tz)
            head = (f"failed at {when} ({result.tries} tr{'y' if result.tries == 1 else 'ies'}); the daemon tries "
                    f"again after {retry:%H:%M}")
        out.append(f"Hand-over today{who}: {head}")
        out += [f"  {line}" for line in result.lines]
    return out
