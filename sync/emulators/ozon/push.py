"""Push notifications, as Ozon sends them to the URL a seller gave it (``OzonEmulator.set_push_url``).

Bodies follow the Seller API description's examples field for field: ``TYPE_NEW_POSTING`` when a posting
is added, ``TYPE_STATE_CHANGED`` when its status moves (``TYPE_POSTING_CANCELLED`` when it is cancelled),
and any type on demand (``OzonEmulator.push``: ``TYPE_CUTOFF_DATE_CHANGED``, ``TYPE_PING``...). They are
POSTed one at a time from a thread of their own, as Ozon does, waiting at most 5 s for the answer; each
outcome is kept in ``sent`` (type, posting, HTTP status or the error, seconds taken, the answer).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from sync.emulators.ozon.model import Posting, iso

Json = dict[str, Any]
ANSWER_WAIT = 5.0  # seconds Ozon waits for the receiver's answer
# Seller API status -> the push model's (the description's table of the two models).
PUSH_STATE = {
    "acceptance_in_progress": "posting_acceptance_in_progress", "awaiting_approve": "posting_created",
    "awaiting_packaging": "posting_created", "awaiting_registration": "posting_awaiting_registration",
    "awaiting_deliver": "posting_transferring_to_delivery", "arbitration": "posting_in_arbitration",
    "client_arbitration": "posting_in_client_arbitration", "delivering": "posting_on_way_to_city",
    "driver_pickup": "posting_driver_pick_up", "delivered": "posting_delivered", "cancelled": "posting_canceled",
    "not_accepted": "posting_not_in_sort_center",
}


def new_posting(p: Posting, seller_id: int) -> Json:
    return {"message_type": "TYPE_NEW_POSTING", "posting_number": p.number,
            "products": [{"sku": i["sku"], "offer_id": i["offer_id"], "quantity": i["quantity"]} for i in p.products],
            "in_process_at": iso(p.in_process_at), "warehouse_id": p.warehouse[0],
            "shipment_date": iso(p.shipment_date), "tpl_integration_type": p.integration, "is_express": False,
            "tracking_number": p.tracking_number, "delivery_date_begin": iso(p.shipment_date),
            "delivery_date_end": iso(p.shipment_date), "seller_id": seller_id}


def state_changed(p: Posting, old_status: str, new_status: str, at: datetime, seller_id: int) -> Json:
    if new_status == "cancelled":
        return {"message_type": "TYPE_POSTING_CANCELLED", "posting_number": p.number,
                "products": [{"sku": i["sku"], "quantity": i["quantity"]} for i in p.products],
                "old_state": PUSH_STATE.get(old_status, "posting_created"), "new_state": "posting_canceled",
                "changed_state_date": iso(at),
                "reason": {"id": int(p.cancellation.get("cancel_reason_id") or 0),
                           "message": str(p.cancellation.get("cancel_reason") or "")},
                "warehouse_id": p.warehouse[0], "seller_id": seller_id}
    return {"message_type": "TYPE_STATE_CHANGED", "posting_number": p.number,
            "new_state": PUSH_STATE.get(new_status, "posting_created"), "changed_state_date": iso(at),
            "warehouse_id": p.warehouse[0], "seller_id": seller_id}


class Pusher:
    """Sends queued notifications to ``url`` in order, from a daemon thread (started by the first send).
    A notification is queued as a function that builds its body, called under ``lock`` when it is sent
    (a cancellation's reason is filled in just after its status moves)."""

    def __init__(self, lock: threading.RLock) -> None:
        self.url: str | None = None
        self.seller_id = 0
        self.sent: list[Json] = []
        self.state_lock = lock
        self._queue: queue.Queue[Callable[[], Json] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, body: Callable[[], Json]) -> None:
        if self.url is None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ozon-emulator-push", daemon=True)
                self._thread.start()
        self._queue.put(body)

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued was sent (True), or ``timeout`` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=ANSWER_WAIT + 1)
            self._thread = None

    def _run(self) -> None:
        with httpx.Client(timeout=ANSWER_WAIT) as client:
            while True:
                build = self._queue.get()
                try:
                    if build is None:
                        return
                    with self.state_lock:
                        body = build()
                    self.sent.append(self._post(client, body))
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, body: Json) -> Json:
        start = time.monotonic()
        out: Json = {"message_type": body["message_type"], "posting_number": body.get("posting_number", ""),
                     "body": body}
        try:
            r = client.post(str(self.url), json=body)
            out.update(status=r.status_code, answer=r.json() if r.content else None)
        except (httpx.HTTPError, ValueError) as exc:
            out.update(status=None, error=f"{type(exc).__name__}: {exc}")
        out["seconds"] = time.monotonic() - start
        return out
