"""Which endpoint answers each Seller API path (all are POST), which of them write, and ``/v1/roles``,
which names them as what the key may call."""

from __future__ import annotations

from collections.abc import Callable

from sync.emulators.ozon import reads, writes
from sync.emulators.ozon.model import iso
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def roles(state: OzonState, body: Json) -> Json:
    return {"roles": [{"name": "Postings FBS", "methods": sorted(ROUTES)}], "expires_at": iso(state.key_expires_at)}


ROUTES: dict[str, Callable[[OzonState, Json], Json]] = {
    "/v4/posting/fbs/list": reads.fbs_list,
    "/v4/posting/fbs/unfulfilled/list": reads.unfulfilled,
    "/v3/posting/fbs/get": reads.fbs_get,
    "/v4/posting/fbs/ship": writes.ship,
    "/v2/posting/fbs/awaiting-delivery": writes.awaiting_delivery,
    "/v2/fbs/posting/delivering": writes.delivering,
    "/v2/fbs/posting/last-mile": writes.last_mile,
    "/v2/fbs/posting/delivered": writes.delivered,
    "/v2/fbs/posting/tracking-number/set": writes.tracking,
    "/v2/posting/fbs/cancel": writes.cancel,
    "/v2/posting/fbs/cancel-reason/list": reads.cancel_reasons,
    "/v1/roles": roles,
    "/v3/posting/fbo/list": reads.fbo_list,
    "/v2/posting/fbo/get": reads.fbo_get,
    "/v1/returns/list": reads.returns,
}
WRITE_PATHS = frozenset({"/v4/posting/fbs/ship", "/v2/posting/fbs/awaiting-delivery", "/v2/fbs/posting/delivering",
                         "/v2/fbs/posting/last-mile", "/v2/fbs/posting/delivered",
                         "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel"})
