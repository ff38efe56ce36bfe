"""Which endpoint answers each Seller API path (all are POST), which of them write, and ``/v1/roles``,
which names them as what the key may call."""

from __future__ import annotations

from collections.abc import Callable

from sync.emulators.ozon import carriages, items, labels, reads, writes
from sync.emulators.ozon.model import iso
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json


def roles(state: OzonState, body: Json) -> Json:
    return {"roles": [{"name": "Postings FBS", "methods": sorted(ROUTES)}], "expires_at": iso(state.key_expires_at)}


# An endpoint answers a JSON object, or the bytes of a PDF (labels, hand-over documents).
ROUTES: dict[str, Callable[[OzonState, Json], Json | bytes]] = {
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
    "/v6/fbs/posting/product/exemplar/create-or-get": items.create_or_get,
    "/v5/fbs/posting/product/exemplar/validate": items.validate,
    "/v6/fbs/posting/product/exemplar/set": items.set_exemplars,
    "/v5/fbs/posting/product/exemplar/status": items.exemplar_status,
    "/v2/posting/fbs/product/country/list": items.country_list,
    "/v2/posting/fbs/product/country/set": items.country_set,
    "/v3/posting/multiboxqty/set": items.multibox_set,
    "/v2/posting/fbs/package-label": labels.package_label,
    "/v2/posting/fbs/package-label/create": labels.create_task,
    "/v1/posting/fbs/package-label/get": labels.get_task,
    "/v1/carriage/create": carriages.create,
    "/v1/carriage/set-postings": carriages.set_postings,
    "/v1/carriage/approve": carriages.approve,
    "/v1/carriage/get": carriages.get,
    "/v2/posting/fbs/act/get-pdf": carriages.act_pdf,
    "/v2/carriage/delivery/list": carriages.delivery_list,
}
WRITE_PATHS = frozenset({"/v4/posting/fbs/ship", "/v2/posting/fbs/awaiting-delivery", "/v2/fbs/posting/delivering",
                         "/v2/fbs/posting/last-mile", "/v2/fbs/posting/delivered",
                         "/v2/fbs/posting/tracking-number/set", "/v2/posting/fbs/cancel",
                         "/v6/fbs/posting/product/exemplar/set", "/v2/posting/fbs/product/country/set",
                         "/v3/posting/multiboxqty/set", "/v1/carriage/create", "/v1/carriage/set-postings",
                         "/v1/carriage/approve"})
