"""The label endpoints: a PDF at once for up to 20 postings (one bad posting fails them all; not
ready until the label delay after packing), or a task whose file is fetched over HTTP when done."""

from __future__ import annotations

from datetime import datetime

from sync.emulators.ozon.day import LabelTask
from sync.emulators.ozon.errors import ApiError, refused
from sync.emulators.ozon.model import Posting
from sync.emulators.ozon.pdf import pdf
from sync.emulators.ozon.state import OzonState
from sync.emulators.server import Json

NOT_READY = "The next postings aren't ready"
MAX_POSTINGS = 20


def _numbers(body: Json, most: int | None = MAX_POSTINGS) -> list[str]:
    """The call's postings: at least one, and at most ``most`` (the label task's document sets no limit)."""
    numbers = body.get("posting_number")
    if not isinstance(numbers, list) or not numbers or (most is not None and len(numbers) > most):
        raise ApiError(400, 3, f"INVALID_ARGUMENT: posting_number must hold 1 to {most} postings" if most else
                       "INVALID_ARGUMENT: posting_number must hold at least one posting")
    return [str(n) for n in numbers]


def ready_at(state: OzonState, p: Posting) -> datetime:
    """When the posting's label can be printed: the label delay after it reached awaiting_deliver."""
    return p.changed_at + state.day.label_delay


def _labelled(state: OzonState, numbers: list[str]) -> list[Posting]:
    """The postings, each awaiting delivery and labelable, or the refusal of the whole call."""
    postings = [state.find(n) for n in numbers]
    for p in postings:
        if p.status != "awaiting_deliver":
            raise refused("HAS_INCORRECT_STATUS")
        if p.number in state.day.unlabelable:
            raise ApiError(400, 3, f"LABEL_NOT_AVAILABLE: {p.number}: {state.day.unlabelable[p.number]}")
    return postings


def label_pdf(postings: list[Posting]) -> bytes:
    """One page per posting: its number, order number and products."""
    return pdf([["OZON FBS", p.number, f"order {p.number.rsplit('-', 1)[0]}",
                 *(f"{i['offer_id']} x {i['quantity']}" for i in p.products)] for p in postings])


def package_label(state: OzonState, body: Json) -> bytes:
    """``/v2/posting/fbs/package-label``: the PDF itself, or 400 "The next postings aren't ready"."""
    postings = _labelled(state, _numbers(body))
    now = state.clock()
    waiting = [p.number for p in postings if now < ready_at(state, p)]
    if waiting:
        raise ApiError(400, 3, f"{NOT_READY}: {', '.join(waiting)}")
    return label_pdf(postings)


def create_task(state: OzonState, body: Json) -> Json:
    """``/v2/posting/fbs/package-label/create``: a task for the big label; postings that cannot be
    labelled are left out of its file (``unprinted_postings``) instead of failing the call."""
    numbers = _numbers(body, most=None)
    postings = [state.find(n) for n in numbers]
    if any(p.status != "awaiting_deliver" for p in postings):
        raise refused("HAS_INCORRECT_STATUS")
    task = LabelTask(state.day.next_task_id(), numbers, max(ready_at(state, p) for p in postings),
                     {n: state.day.unlabelable[n] for n in numbers if n in state.day.unlabelable})
    state.day.label_tasks[task.id] = task
    return {"result": {"tasks": [{"task_id": task.id, "task_type": "big_label"}]}}


def get_task(state: OzonState, body: Json) -> Json:
    """``/v1/posting/fbs/package-label/get``: ``in_progress`` until every label is ready, then
    ``completed`` with a ``file_url`` (or ``error`` when no posting could be labelled)."""
    task = state.day.label_tasks.get(int(body.get("task_id") or 0))
    if task is None:
        raise ApiError(404, 5, "TASK_NOT_FOUND")
    unprinted = [{"posting_number": n, "msg": msg} for n, msg in task.unprinted.items()]
    result: Json = {"status": "in_progress", "file_url": "", "error": "", "printed_postings_count": 0,
                    "unprinted_postings": [], "unprinted_postings_count": 0}
    if state.clock() >= task.ready_at:
        printed = [state.postings[n] for n in task.numbers if n not in task.unprinted]
        result.update(unprinted_postings=unprinted, unprinted_postings_count=len(unprinted),
                      printed_postings_count=len(printed))
        if printed:
            name = f"label-{task.id}.pdf"
            state.day.files.setdefault(name, label_pdf(printed))
            result.update(status="completed", file_url=state.file_url(name))
        else:
            result.update(status="error", error="NO_POSTINGS_PRINTED")
    return {"result": result}
