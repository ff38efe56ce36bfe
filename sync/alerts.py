"""Alerts: things a person should hear about without watching the sheet.

Three kinds, evaluated after every cycle (daemon and one-shot commands) from the state store:

* ``not_packed`` — a posting still awaiting packaging ``alerts.unpacked_hours`` before its shipment
  deadline, or past it; once per posting and deadline (a moved deadline alerts again);
* ``push_refused`` — an outbox entry (a staff edit) that ended ``failed``: the posting, what was typed
  and Ozon's reason as the row's note says it; once per entry;
* ``key_expiry`` — the Api-Key expires within ``alerts.key_expiry_days`` (``POST /v1/roles``, asked at
  most once a day), or Ozon rejects it; at most once a day.

Every alert goes to the log (WARNING) when it is raised, and is recorded in the state store with the
channels it still has to reach: a JSON webhook and/or e-mail over SMTP. A channel that fails is
logged and tried again after the next cycle, up to ``MAX_TRIES`` times; it never stops a cycle.
Nothing secret goes out: texts pass the same scrubber as the log (Api-Key, phone numbers), and
failures name only the webhook's host, never its path, headers or the SMTP password.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from sync.config import AlertsConfig, EmailConfig, WebhookConfig, url_origin
from sync.engine.state import AlertRow, StateStore
from sync.errors import OzonAuthError, SyncError
from sync.model import Action
from sync.retry import Retrier, Retry, RetryPolicy, utc_now

log = logging.getLogger("sync.alerts")

MAX_TRIES = 5  # cycles in a row a channel may fail for one alert before it is given up (and logged)
BACKOFF_BASE, BACKOFF_CAP = 0.5, 5.0  # seconds between a webhook's tries within one delivery
MAX_RETRY_AFTER = 10.0  # a longer Retry-After is cut to this: the alert is tried again after the next cycle anyway
KEY_CHECK_EVERY = timedelta(days=1)
META_KEY_CHECKED = "alerts.key_checked_at"
META_REFUSALS_SINCE = "alerts.refusals_since"


class AlertKind(StrEnum):
    NOT_PACKED = "not_packed"
    PUSH_REFUSED = "push_refused"
    KEY_EXPIRY = "key_expiry"


MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "not_packed": "Отправление {number} ещё не собрано: отгрузить до {deadline} (осталось {left})",
        "not_packed_late": "Отправление {number} не собрано, а срок отгрузки {deadline} уже прошёл",
        "refused": "Ozon не принял правку отправления {number} («{typed}»): {note}",
        "key_expires": "Api-Key Ozon (аккаунт {account}) истекает {date} — через {days} дн. Создайте новый ключ "
                       "в кабинете Ozon → Настройки → Seller API и замените ozon.api_key",
        "key_expired": "Api-Key Ozon (аккаунт {account}) истёк {date}. Создайте новый ключ в кабинете Ozon → "
                       "Настройки → Seller API и замените ozon.api_key",
        "key_rejected": "Ozon не принимает Api-Key (аккаунт {account}): {reason}",
        "hours": "{h} ч {m} мин",
        "subject_many": "ozon-sync: {count} оповещ.",
    },
    "en": {
        "not_packed": "Posting {number} is not packed yet: ship by {deadline} ({left} left)",
        "not_packed_late": "Posting {number} is not packed and its shipment deadline {deadline} has passed",
        "refused": "Ozon did not take the edit of posting {number} («{typed}»): {note}",
        "key_expires": "The Ozon Api-Key (account {account}) expires on {date}, in {days} days. Create a new key "
                       "in the Ozon cabinet → Settings → Seller API and put it in ozon.api_key",
        "key_expired": "The Ozon Api-Key (account {account}) expired on {date}. Create a new key in the Ozon "
                       "cabinet → Settings → Seller API and put it in ozon.api_key",
        "key_rejected": "Ozon rejects the Api-Key (account {account}): {reason}",
        "hours": "{h} h {m} min",
        "subject_many": "ozon-sync: {count} alerts",
    },
}


@dataclass(frozen=True)
class Alert:
    """One thing to tell people. ``text`` is a sentence in the sheet's language; ``details`` carries
    the same facts as separate fields for machines (the webhook's JSON)."""

    kind: AlertKind
    account: str
    posting: str | None
    text: str
    time: datetime
    details: dict[str, str] = field(default_factory=dict)
    id: int = 0  # the state store's id, once recorded

    def to_json(self) -> dict[str, object]:
        return {"source": "ozon-sync", "id": self.id, "kind": self.kind.value, "account": self.account,
                "posting": self.posting, "text": self.text, "time": self.time.astimezone(UTC).isoformat(),
                "details": self.details}


class Channel(Protocol):
    """Somewhere alerts go besides the log. ``deliver`` never raises: it returns the ids it delivered
    and, when something failed, the problem in words (naming nothing secret)."""

    name: str

    def deliver(self, alerts: Sequence[Alert]) -> tuple[list[int], str | None]: ...

    def close(self) -> None: ...


class WebhookChannel:
    """POSTs each alert as JSON (``Alert.to_json``; its ``text`` field suits chat webhooks too).

    A dropped connection, a timeout, 429 or 5xx is retried ``retries`` times after a short growing,
    jittered pause (longer when the receiver's Retry-After asks, up to ``MAX_RETRY_AFTER``); another
    answer is a failure at once. A retried POST may arrive twice: receivers can de-duplicate by ``id``.
    Delivery stops at the first alert that fails (the receiver is evidently down)."""

    name = "webhook"

    def __init__(self, cfg: WebhookConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = utc_now):
        self.cfg = cfg
        self.retrier = Retrier(RetryPolicy(max(0, cfg.retries) + 1, BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER),
                               sleep=sleep, rng=rng, now=clock)
        self.client = httpx.Client(timeout=cfg.timeout, transport=transport, follow_redirects=False,
                                   headers={"User-Agent": "ozon-sync", **dict(cfg.headers)})

    def deliver(self, alerts: Sequence[Alert]) -> tuple[list[int], str | None]:
        done: list[int] = []
        for alert in alerts:
            problem = self._post(alert)
            if problem is not None:
                return done, problem
            done.append(alert.id)
        return done, None

    def _post(self, alert: Alert) -> str | None:
        """None when delivered, else the problem in words."""
        where = url_origin(self.cfg.url)

        def once() -> str | Retry:  # "" delivered, a problem not worth another try, or a Retry
            try:
                answer = self.client.post(self.cfg.url, json=alert.to_json())
            except httpx.TimeoutException:
                return Retry(f"no answer from {where} within {self.cfg.timeout:g}s")
            except httpx.HTTPError as exc:
                return Retry(f"cannot reach {where} ({type(exc).__name__})")
            if answer.is_success:
                return ""
            problem = f"{where} answered HTTP {answer.status_code}"
            if answer.status_code != 429 and answer.status_code < 500:
                return problem + " (check alerts.webhook.url and alerts.webhook.headers)"
            return Retry(problem, self.retrier.retry_after(answer.headers.get("retry-after")))

        outcome = self.retrier.run(once)
        if isinstance(outcome, Retry):
            tries = self.retrier.policy.attempts
            return f"{outcome.reason} ({tries} tr{'y' if tries == 1 else 'ies'})"
        return outcome or None

    def close(self) -> None:
        self.client.close()


class EmailChannel:
    """Sends the alerts of one evaluation as one plain-text message over SMTP (starttls, ssl or none)."""

    name = "email"

    def __init__(self, cfg: EmailConfig, language: str, *, clock: Callable[[], datetime] = utc_now):
        self.cfg = cfg
        self.language = language
        self.clock = clock

    def deliver(self, alerts: Sequence[Alert]) -> tuple[list[int], str | None]:
        if not alerts:
            return [], None
        cfg = self.cfg
        msg = EmailMessage()
        msg["From"] = cfg.sender
        msg["To"] = ", ".join(cfg.to)
        if len(alerts) == 1:
            subject = f"ozon-sync: {alerts[0].text}"
            msg["Subject"] = subject if len(subject) <= 150 else subject[:149] + "…"
        else:
            msg["Subject"] = MESSAGES[self.language]["subject_many"].format(count=len(alerts))
        msg["Date"] = format_datetime(self.clock())
        msg["Message-ID"] = make_msgid("ozon-sync")
        msg.set_content("\n\n".join(f"{a.text}\n({a.kind.value}, {a.account}, {a.time.isoformat()})"
                                    for a in alerts) + "\n")
        try:
            smtp: smtplib.SMTP
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, cfg.password or "")
                smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError:
            return [], (f"the SMTP server {cfg.host}:{cfg.port} refused the login "
                        f"(check alerts.email.username and alerts.email.password)")
        except (smtplib.SMTPException, OSError) as exc:
            return [], f"sending through {cfg.host}:{cfg.port} failed ({type(exc).__name__}: {exc})"
        return [a.id for a in alerts], None

    def close(self) -> None:
        pass


class Alerter:
    """Evaluates the alerts after a cycle, records new ones, and delivers what is pending.

    ``keys`` maps each account to its Ozon client's ``key_expires_at`` (``POST /v1/roles``); ``scrub`` cleans a text of
    secrets and phone numbers (the log's Redactor). ``clock``, ``sleep``, ``rng`` and ``transport`` (the webhook's)
    are handed to the channels it builds. :meth:`run` never raises.
    """

    def __init__(self, cfg: AlertsConfig, state: StateStore, *,
                 keys: Mapping[str, Callable[[], datetime | None]], language: str, tz: ZoneInfo,
                 clock: Callable[[], datetime] = utc_now,
                 scrub: Callable[[str], str] = lambda text: text, channels: Sequence[Channel] | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 transport: httpx.BaseTransport | None = None):
        self.cfg = cfg
        self.state = state
        self.keys = dict(keys)
        self.language = language if language in MESSAGES else "ru"
        self.tz = tz
        self.clock = clock
        self.scrub = scrub
        if channels is None:
            built: list[Channel] = []
            if cfg.webhook is not None:
                built.append(WebhookChannel(cfg.webhook, transport=transport, sleep=sleep, rng=rng, clock=clock))
            if cfg.email is not None:
                built.append(EmailChannel(cfg.email, self.language, clock=clock))
            channels = built
        self.channels = list(channels)

    def close(self) -> None:
        for ch in self.channels:
            ch.close()

    def run(self) -> list[Alert]:
        """Evaluate, record and deliver; returns the alerts raised now. Problems are logged, never raised."""
        if not self.cfg.enabled:
            return []
        raised = self.evaluate()
        try:
            self.deliver()
        except Exception as exc:
            log.error("Sending alerts failed: %s: %s", type(exc).__name__, exc)
            log.debug("Traceback of the alert delivery", exc_info=exc)
        return raised

    # --- evaluation ------------------------------------------------------------------------------

    def evaluate(self) -> list[Alert]:
        """Record and log the alerts due now; each kind is checked on its own, so one failing spares the others."""
        now = self.clock()
        raised: list[Alert] = []
        for source in (self._not_packed, self._refused, self._key):
            try:
                raised += self._record(source(now))
            except Exception as exc:  # an alert problem must never stop the daemon
                log.error("Checking for alerts failed: %s: %s", type(exc).__name__, exc)
                log.debug("Traceback of the alert check", exc_info=exc)
        return raised

    def _record(self, found: list[tuple[str, Alert]]) -> list[Alert]:
        raised: list[Alert] = []
        for dedup, alert in found:
            alert_id = self.state.add_alert(kind=alert.kind.value, account=alert.account, dedup=dedup,
                                            number=alert.posting, at=alert.time, text=alert.text,
                                            details=alert.details, pending=[ch.name for ch in self.channels])
            if alert_id is None:
                continue
            log.warning("Alert: %s", alert.text)
            raised.append(Alert(alert.kind, alert.account, alert.posting, alert.text, alert.time, alert.details,
                                alert_id))
        return raised

    def _make(self, kind: AlertKind, account: str, posting: str | None, now: datetime, message: str,
              details: dict[str, str], /, **values: object) -> Alert:
        text = self.scrub(MESSAGES[self.language][message].format(**values))
        return Alert(kind, account, posting, text, now, {k: self.scrub(v) for k, v in details.items()})

    def _when(self, t: datetime) -> str:
        return t.astimezone(self.tz).strftime("%d.%m %H:%M")

    def _not_packed(self, now: datetime) -> list[tuple[str, Alert]]:
        within = timedelta(hours=self.cfg.unpacked_hours)
        shipping = {e.key for e in self.state.open_entries() if e.action == Action.SHIP}
        out: list[tuple[str, Alert]] = []
        for account, number, data in self.state.postings_with_status("awaiting_packaging"):
            raw = data.get("shipment_date")
            if not raw or (account, number) in shipping:  # a person already asked to pack it
                continue
            deadline = datetime.fromisoformat(str(raw))
            left = deadline - now
            if left > within:
                continue
            details = {"shipment_date": deadline.astimezone(UTC).isoformat()}
            if left.total_seconds() <= 0:
                alert = self._make(AlertKind.NOT_PACKED, account, number, now, "not_packed_late", details,
                                   number=number, deadline=self._when(deadline))
            else:
                minutes = int(left.total_seconds() // 60)
                span = MESSAGES[self.language]["hours"].format(h=minutes // 60, m=minutes % 60)
                alert = self._make(AlertKind.NOT_PACKED, account, number, now, "not_packed", details,
                                   number=number, deadline=self._when(deadline), left=span)
            out.append((f"{number}@{details['shipment_date']}", alert))
        return out

    def _refused(self, now: datetime) -> list[tuple[str, Alert]]:
        # Entries are stamped with their cycle's start; the first check looks back to the last cycle's
        # start, so an upgraded state file does not alert about refusals from before alerts existed.
        saved = self.state.get_meta(META_REFUSALS_SINCE)
        cycles = self.state.recent_cycles(1)
        last_start = cycles[0][0] if cycles else now
        since = datetime.fromisoformat(saved) if saved else last_start
        out: list[tuple[str, Alert]] = []
        for e in self.state.failed_entries(since):
            details = {"action": e.action, "typed": e.typed, "note": e.outcome}
            out.append((str(e.id), self._make(AlertKind.PUSH_REFUSED, e.account, e.number, now, "refused", details,
                                              number=e.number, typed=e.typed, note=e.outcome)))
        self.state.set_meta(META_REFUSALS_SINCE, max(since, last_start).isoformat())
        return out

    def _key(self, now: datetime) -> list[tuple[str, Alert]]:
        out: list[tuple[str, Alert]] = []
        for account, expires_at in self.keys.items():
            out += self._key_of(account, expires_at, now)
        return out

    def _key_of(self, account: str, expires_at: Callable[[], datetime | None],
                now: datetime) -> list[tuple[str, Alert]]:
        meta = f"{META_KEY_CHECKED}:{account}"
        checked = self.state.get_meta(meta)
        if checked and now - datetime.fromisoformat(checked) < KEY_CHECK_EVERY:
            return []
        day = now.astimezone(self.tz).date().isoformat()
        try:
            expires = expires_at()
        except OzonAuthError as exc:
            alert = self._make(AlertKind.KEY_EXPIRY, account, None, now, "key_rejected", {"reason": str(exc)},
                               account=account, reason=str(exc))
            return [(f"rejected@{day}", alert)]
        except SyncError as exc:  # Ozon is down: ask again after the next cycle
            log.warning("Could not check when the Api-Key of account %s expires: %s", account, exc)
            return []
        self.state.set_meta(meta, now.isoformat())
        if expires is None or expires - now > timedelta(days=self.cfg.key_expiry_days):
            return []
        details = {"expires_at": expires.astimezone(UTC).isoformat()}
        date = expires.astimezone(self.tz).strftime("%Y-%m-%d")
        if expires <= now:
            alert = self._make(AlertKind.KEY_EXPIRY, account, None, now, "key_expired", details,
                               account=account, date=date)
        else:
            alert = self._make(AlertKind.KEY_EXPIRY, account, None, now, "key_expires", details,
                               account=account, date=date, days=(expires - now).days)
        return [(f"expires@{day}", alert)]

    # --- delivery --------------------------------------------------------------------------------

    def deliver(self) -> None:
        """Send every pending alert to each channel it has not reached; record what arrived."""
        rows = self.state.pending_alerts()
        if not rows:
            return
        names = {ch.name for ch in self.channels}
        left = {r.id: set(r.pending) & names for r in rows}
        failed: set[int] = set()
        for ch in self.channels:
            batch = [r for r in rows if ch.name in left[r.id]]
            if not batch:
                continue
            try:
                done, problem = ch.deliver([_alert(r) for r in batch])
            except Exception as exc:  # a channel's own bug must not stop the daemon either
                done, problem = [], f"{type(exc).__name__}: {exc}"
            for i in done:
                left[i].discard(ch.name)
            if problem is not None:
                rest = [r.id for r in batch if r.id not in done]
                failed.update(rest)
                log.warning("Alert %s failed: %s; %d alert%s will be sent again after the next cycle", ch.name,
                            problem, len(rest), "" if len(rest) == 1 else "s")
        for r in rows:
            attempts = r.attempts + (1 if r.id in failed else 0)
            pending = left[r.id]
            if pending and attempts >= MAX_TRIES:
                log.error("Gave up sending alert «%s» by %s after %d tries", r.text, ", ".join(sorted(pending)),
                          attempts)
                pending = set()
            if pending != set(r.pending) or attempts != r.attempts:
                self.state.set_alert_pending(r.id, sorted(pending), attempts)


def _alert(r: AlertRow) -> Alert:
    return Alert(AlertKind(r.kind), r.account, r.number, r.text, r.at, r.details, r.id)
