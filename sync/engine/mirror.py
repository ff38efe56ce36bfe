"""Read-only mirrors: FBO postings and returns, each in a tab of its own, replaced whole.

Neither is the seller's to change (Ozon ships FBO postings; returns move on Ozon's side), so these
tabs are not synced both ways: the staff tab's three-way merge does not apply. What is mirrored:

* FBO postings created in the last ``lookback_days`` (``/v3/posting/fbo/list``);
* returns (FBS and FBO) whose status changed in the last ``lookback_days`` (``/v1/returns/list``).

How often: Ozon's FBO list has no "changed since" filter, so each refresh reads the whole window.
A refresh therefore runs every ``every`` seconds (``ozon.mirror_every``), not every cycle. The tab
is written only when its content changed since the last write (a hash kept in the state store's
meta), and then in the cycle's own write — on Google inside the one batchUpdate, on Excel inside
the one save (``SheetBackend.stage_tab``). Whatever a person types there is overwritten by the
next write; ``ozon-sync init`` (``forget``) makes the next refresh write the tabs again.

Like the engine, this module does no I/O of its own: Ozon, the sheet and the state come in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sync.backends.base import SheetBackend, TabContent
from sync.engine.rows import local
from sync.engine.state import StateStore
from sync.errors import OzonRefused, OzonUnavailable, SheetBusy, SheetLayoutError, SheetUnavailable
from sync.mapping import ColumnMap, StatusMap
from sync.model import FboPosting, Product, ReturnItem

log = logging.getLogger("sync.mirror")

RETURN_TYPES = {
    "ru": {"Cancellation": "Отмена", "FullReturn": "Полный возврат", "PartialReturn": "Частичный возврат",
           "ClientReturn": "Возврат покупателя", "Unknown": "Неизвестно"},
    "en": {"Cancellation": "Cancellation", "FullReturn": "Full return", "PartialReturn": "Partial return",
           "ClientReturn": "Customer return", "Unknown": "Unknown"},
}
NOTICES = {
    "ru": "Только для чтения: вкладку заполняет ozon-sync из Ozon и перезаписывает целиком при каждом "
          "изменении. Правки здесь не попадут в Ozon и будут стёрты.",
    "en": "Read-only: ozon-sync fills this tab from Ozon and rewrites it whole on every change. "
          "Edits here do not reach Ozon and are overwritten.",
}


class MirrorPort(Protocol):
    """What the mirror needs from Ozon (sync.ozon.OzonClient)."""

    def list_fbo(self, since: datetime, to: datetime, *, statuses: Sequence[str] = ()) -> Iterator[FboPosting]: ...
    def list_returns(self, since: datetime, to: datetime) -> Iterator[ReturnItem]: ...


@dataclass(frozen=True)
class MirrorTab:
    """One mirrored tab: ``kind`` is ``fbo`` or ``returns``."""

    kind: str
    title: str
    columns: ColumnMap


@dataclass(frozen=True)
class MirrorOptions:
    account: str = "main"
    tz: ZoneInfo = ZoneInfo("Europe/Moscow")
    lookback_days: int = 30
    every: float = 600.0  # seconds between refreshes from Ozon


def _products(items: Sequence[Product]) -> str:
    return "; ".join(f"{x.quantity} × {x.name} ({x.offer_id})" for x in items)


def fbo_values(p: FboPosting, statuses: StatusMap, tz: ZoneInfo) -> dict[str, str]:
    """The row of an FBO posting (status labels as on the staff tab; an unknown status as its code)."""
    lab = statuses.label_of(p.status, p.substatus)
    return {
        "posting_number": p.posting_number, "order_number": p.order_number,
        "status": lab.label if lab else p.status, "warehouse": p.warehouse, "city": p.city,
        "created_at": local(p.created_at, tz), "in_process_at": local(p.in_process_at, tz),
        "products": _products(p.products), "quantity": str(p.total_quantity), "total_price": f"{p.total_price:.2f}",
        "cancel_reason": p.cancel_reason, "account": p.account,
    }


def return_values(r: ReturnItem, language: str, tz: ZoneInfo) -> dict[str, str]:
    """The row of one return."""
    items = (r.product,) if r.product is not None else ()
    schema = r.schema.upper() if r.schema.lower() in ("fbs", "fbo") else r.schema
    return {
        "return_id": str(r.id), "posting_number": r.posting_number, "order_number": r.order_number,
        "scheme": schema, "return_type": RETURN_TYPES.get(language, {}).get(r.type, r.type), "reason": r.reason,
        "products": _products(items), "quantity": str(sum(x.quantity for x in items)),
        "total_price": f"{sum(x.price * x.quantity for x in items):.2f}" if items else "",
        "status": r.status, "status_changed_at": local(r.status_changed_at, tz),
        "return_date": local(r.return_date, tz), "place": r.place, "barcode": r.barcode, "account": r.account,
    }


def content_hash(title: str, columns: ColumnMap, rows: Sequence[dict[str, str]]) -> str:
    h = hashlib.sha1(title.encode())
    fields = [c.field for c in columns.columns]
    for part in ([c.header for c in columns.columns], *([r.get(f, "") for f in fields] for r in rows)):
        h.update(b"\x1e" + "\x1f".join(part).encode())
    return h.hexdigest()


class Mirror:
    """Keeps the read-only tabs in step with Ozon. ``stage`` before the cycle's write, ``finish`` after it."""

    def __init__(self, ozon: MirrorPort, backend: SheetBackend, state: StateStore, statuses: StatusMap,
                 tabs: Sequence[MirrorTab], options: MirrorOptions | None = None):
        self.ozon = ozon
        self.backend = backend
        self.state = state
        self.statuses = statuses
        self.tabs = tuple(tabs)
        self.opt = options or MirrorOptions()
        self._staged: dict[str, tuple[MirrorTab, str, datetime, int]] = {}  # title -> (tab, hash, now, rows)
        self.written: list[str] = []  # titles written by the last finish(), for the log and tests

    def _meta(self, tab: MirrorTab, what: str) -> str:
        return f"mirror:{self.opt.account}:{tab.kind}:{what}"

    def due(self, tab: MirrorTab, now: datetime) -> bool:
        last = self.state.get_meta(self._meta(tab, "refreshed"))
        return not last or (now - datetime.fromisoformat(last)).total_seconds() >= self.opt.every

    def forget(self) -> None:
        """Make the next cycle refresh and write every tab (after ``init``: a tab may have been deleted)."""
        self.state.begin()
        try:
            for tab in self.tabs:
                self.state.set_meta(self._meta(tab, "refreshed"), "")
                self.state.set_meta(self._meta(tab, "hash"), "")
        finally:
            self.state.commit()

    def _rows(self, tab: MirrorTab, now: datetime) -> list[dict[str, str]]:
        since = now - timedelta(days=self.opt.lookback_days)
        language = tab.columns.language
        if tab.kind == "fbo":
            items = sorted(self.ozon.list_fbo(since, now), key=lambda p: (p.created_at or now, p.posting_number),
                           reverse=True)
            return [fbo_values(p, self.statuses, self.opt.tz) for p in items]
        returns = sorted(self.ozon.list_returns(since, now),
                         key=lambda r: (r.status_changed_at or now, r.id), reverse=True)
        return [return_values(r, language, self.opt.tz) for r in returns]

    def stage(self, now: datetime) -> list[str]:
        """Refresh the tabs that are due: read Ozon and stage a tab whose content changed. Returns
        problems (Ozon unreachable: that tab is tried again next cycle). Raises OzonAuthError."""
        problems: list[str] = []
        self.backend.discard_tabs()  # left over from a cycle that failed before finish(): read afresh
        self._staged = {}
        for tab in self.tabs:
            if not self.due(tab, now):
                continue
            try:
                rows = self._rows(tab, now)
            except (OzonUnavailable, OzonRefused) as exc:
                problem = f"Refreshing the «{tab.title}» tab from Ozon failed: {exc}"
                log.warning("%s", problem)
                problems.append(problem)
                continue
            h = content_hash(tab.title, tab.columns, rows)
            if h == self.state.get_meta(self._meta(tab, "hash")):
                self.state.set_meta(self._meta(tab, "refreshed"), now.isoformat())
                continue
            notice = NOTICES.get(tab.columns.language, NOTICES["en"])
            self.backend.stage_tab(TabContent(tab.title, tab.columns, tuple(rows), notice))
            self._staged[tab.title] = (tab, h, now, len(rows))
        return problems

    def finish(self, *, deferred: bool = False) -> list[str]:
        """After the cycle's write: write staged tabs it did not carry (unless its write was deferred),
        and record what landed. A tab that did not land is refreshed again next cycle."""
        problems: list[str] = []
        self.written = []
        if not self._staged:
            return problems
        try:
            if not deferred:
                self.backend.flush_tabs()
        except (SheetBusy, SheetUnavailable, SheetLayoutError) as exc:
            problems.append(f"Writing the read-only tabs failed: {exc}")
            log.warning("Writing the read-only tabs failed: %s", exc)
        pending = set(self.backend.pending_tabs())
        self.state.begin()
        try:
            for title, (tab, h, now, count) in self._staged.items():
                if title in pending:
                    continue
                self.state.set_meta(self._meta(tab, "hash"), h)
                self.state.set_meta(self._meta(tab, "refreshed"), now.isoformat())
                self.written.append(title)
                log.info("Mirrored %d %s into the «%s» tab", count,
                         "FBO postings" if tab.kind == "fbo" else "returns", title)
        finally:
            self.state.commit()
        self.backend.discard_tabs()
        self._staged = {}
        return problems
