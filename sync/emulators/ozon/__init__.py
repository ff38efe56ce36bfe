"""A stateful emulator of the Ozon Seller API, a real HTTP server on 127.0.0.1.

It serves the FBS/rFBS methods ozon-sheet-sync calls with Ozon's rules as we know them:

* postings of FBS (``tpl_integration_type`` ``ozon``: Ozon delivers) and rFBS (``non_integrated``:
  the seller delivers and sets statuses; ``3pl_tracking``: an integrated carrier), seeded from a
  number so runs repeat;
* ``available_actions`` computed from status, substatus and scheme (``available_actions``), and
  every write gated on it, as Ozon does;
* ship is asynchronous: the posting reads as still packing (``ship_async_in_process``) for
  ``ship_delay`` seconds and then becomes ``awaiting_deliver`` — or, for a ``ship_fail_rate``
  share, falls back to ``awaiting_packaging`` with substatus ``ship_failed``;
* the rFBS setters answer 200 with per-posting errors inside the body; other refusals are
  ``rpcStatus`` bodies (``{"code", "message", "details"}``) with 400/404/409;
* auth as Ozon does it: a wrong Api-Key is HTTP 404 code 5, a non-numeric Client-Id 400 code 3;
* a rate limit per Client-Id answering 429 code 8 with ``retry-after``;
* fault injection (``Faults``): random or scripted 429, 500, dropped connections, slow answers,
  "Circle is open", and HTML instead of JSON. A write that meets a 500 or a dropped connection may
  already have been applied — as with the real service, only re-reading tells;
* FBO postings (``/v3/posting/fbo/list`` with cursor pages, ``/v2/posting/fbo/get``) and returns
  (``/v1/returns/list`` with ``last_id`` pages and its date filters), seeded from their own
  generator (``fbo=``, ``returns=``) so the FBS/rFBS seed stays the same; Ozon moves them
  (``set_fbo_state``, ``add_return``, ``set_return_status``), the seller cannot;
* a log of every write call (``write_log``; JSON lines in ``write_log_path``) that marks duplicates:
  an accepted call whose effect Ozon had already applied. ozon-sheet-sync must never cause one.

Tests and the demo change things on Ozon's side in-process (``add_posting``, ``buyer_cancel``,
``ozon_deliver``, ``set_state``, ``key_expires_at``) or over HTTP under ``/_emulator/`` (see
``ozon-sync emulator``).

Modules: ``emulator`` (the class: auth, rate limit, routing a request), ``handler`` (HTTP and faults),
``state`` (Ozon's side and its in-process API), ``model`` (postings and their actions), ``data`` (fixed
tables), ``shapes`` (answers' JSON), ``reads`` and ``writes`` (the endpoints), ``routes`` (path to
endpoint), ``control`` (``/_emulator/``), ``errors``, ``command`` (the CLI).
"""

from sync.emulators.ozon.command import add_arguments, run
from sync.emulators.ozon.data import FBS, RFBS
from sync.emulators.ozon.emulator import OzonEmulator
from sync.emulators.ozon.errors import ApiError
from sync.emulators.ozon.model import available_actions
from sync.emulators.ozon.routes import ROUTES
from sync.emulators.server import Faults, Json

__all__ = ["FBS", "RFBS", "ROUTES", "ApiError", "Faults", "Json", "OzonEmulator", "add_arguments",
           "available_actions", "run"]
