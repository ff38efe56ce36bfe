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
* the FBS day: postings of products that need item data (``marked=``; their ``requirements`` list the
  SKUs), exemplars and marking codes checked asynchronously (``exemplar_check_delay``; ``reject_mark``),
  ship refused with ``EXEMPLAR_INFO_NOT_FILLED_COMPLETELY`` until they passed; labels as a PDF at once or
  through a task whose file is served over HTTP, ready ``label_delay`` seconds after packing
  (``make_unlabelable`` fails a batch); carriages and their act PDF;
* a log of every write call (``write_log``; JSON lines in ``write_log_path``) that marks duplicates:
  an accepted call whose effect Ozon had already applied. ozon-sheet-sync must never cause one.

Tests and the demo change things on Ozon's side in-process (``add_posting``, ``buyer_cancel``,
``ozon_deliver``, ``set_state``, ``key_expires_at``, ``reject_mark``, ``set_label_delay``,
``set_exemplar_delay``, ``make_unlabelable``) or over HTTP under ``/_emulator/`` (see ``ozon-sync emulator``).

Modules: ``emulator`` (the class: auth, rate limit, routing a request), ``handler`` (HTTP and faults),
``state`` (Ozon's side and its in-process API), ``model`` (postings and their actions), ``data`` (fixed
tables), ``shapes`` (answers' JSON), ``reads`` and ``writes`` (the endpoints), ``day`` (the FBS day's
state), ``marks`` (what a marking code must look like), ``items``, ``labels`` and ``carriages`` (the FBS
day's endpoints), ``pdf`` (the PDFs they answer), ``routes`` (path to endpoint), ``control``
(``/_emulator/``), ``errors``, ``command`` (the CLI).
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
