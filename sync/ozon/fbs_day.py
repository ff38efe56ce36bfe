"""The Ozon side of the FBS day: item data (marking codes «Честный ЗНАК», GTD, weight, country, box
count), labels and hand-over (carriages and their documents), over an ``OzonClient``.

Every call goes through ``OzonClient.call``: its rate limit, retries and sorting of answers. A
refusal raises OzonRefused with Ozon's code and words; an answer Ozon does not have yet (a label
shortly after packing, a label task still running) is the value ``NotReady``. Answers are the plain
values of sync/fbs.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from sync.errors import OzonRefused, OzonUnavailable
from sync.fbs import (
    Carriage,
    CarriagePosting,
    CheckState,
    DeliveryDay,
    Exemplar,
    ExemplarCheck,
    ItemNeeds,
    LabelTask,
    MarkProblem,
    Need,
    NotReady,
)
from sync.ozon.client import OzonClient, format_time
from sync.ozon.parse import to_datetime, to_int, to_text

MAX_LABELS = 20  # postings per label call
NOT_READY = "aren't ready"  # Ozon: "The next postings aren't ready"
_CODE = re.compile(r"[A-Z][A-Z0-9_]{2,}(?=:|$)")
# create-or-get's flags, by the kind of data they ask for
_NEED_FLAGS = {"is_mandatory_mark_needed": Need.MARK, "is_gtd_needed": Need.GTD, "is_rnpt_needed": Need.RNPT,
               "has_imei": Need.IMEI, "is_weight_needed": Need.WEIGHT, "is_jw_uin_needed": Need.JW_UIN}


def _list(value: object) -> list[Any]:
    return [x for x in value if isinstance(x, Mapping)] if isinstance(value, list) else []


def _texts(value: object) -> tuple[str, ...]:
    return tuple(to_text(x) for x in value if to_text(x)) if isinstance(value, list) else ()


class FbsDay:
    """The FBS-day methods of one Ozon account. ``fetch`` downloads a file Ozon links to (a label
    task's PDF); by default a plain GET without the account's keys."""

    def __init__(self, client: OzonClient, *, fetch: Callable[[str], bytes] | None = None) -> None:
        self._client = client
        self._fetch = fetch or self._download

    # -- item data --------------------------------------------------------------------------------

    def item_needs(self, number: str) -> tuple[ItemNeeds, ...]:
        """Per product of the posting: what Ozon needs, its exemplar ids and the codes already set
        (``/v6/fbs/posting/product/exemplar/create-or-get``)."""
        data = self._call("/v6/fbs/posting/product/exemplar/create-or-get", {"posting_number": number}, True)
        out = []
        for product in _list(data.get("products")):
            exemplars = _list(product.get("exemplars"))
            out.append(ItemNeeds(
                product_id=to_int(product.get("product_id")), quantity=to_int(product.get("quantity")),
                needs=frozenset(need for flag, need in _NEED_FLAGS.items() if product.get(flag) is True),
                exemplar_ids=tuple(to_int(e.get("exemplar_id")) for e in exemplars),
                marks=tuple(tuple(to_text(m.get("mark")) for m in _list(e.get("marks"))) for e in exemplars),
                weight_min=float(product.get("weight_min") or 0), weight_max=float(product.get("weight_max") or 0),
            ))
        return tuple(out)

    def validate_marks(self, number: str, marks_by_product: Mapping[int, Sequence[str]],
                       mark_type: str = "mandatory_mark") -> tuple[MarkProblem, ...]:
        """Check codes without saving them (one code per unit of each product): the ones Ozon would
        refuse, with its reasons; empty when all pass (``/v5/fbs/posting/product/exemplar/validate``)."""
        body = {"posting_number": number, "products": [
            {"product_id": product_id, "exemplars": [{"marks": [{"mark": m, "mark_type": mark_type}]} for m in marks]}
            for product_id, marks in marks_by_product.items()]}
        data = self._call("/v5/fbs/posting/product/exemplar/validate", body, True)
        problems = []
        for product in _list(data.get("products")):
            product_id = to_int(product.get("product_id"))
            if to_text(product.get("error")):
                problems.append(MarkProblem(product_id, "", (to_text(product.get("error")),)))
            for exemplar in _list(product.get("exemplars")):
                problems += [MarkProblem(product_id, to_text(m.get("mark")), _texts(m.get("errors")) or ("INVALID",))
                             for m in _list(exemplar.get("marks")) if m.get("valid") is not True]
        return tuple(problems)

    def set_exemplars(self, number: str, exemplars_by_product: Mapping[int, Iterable[Exemplar]], *,
                      multi_box_qty: int = 0) -> None:
        """Save the item data of every unit (always the full set): Ozon starts checking it; see
        ``exemplar_status`` (``/v6/fbs/posting/product/exemplar/set``)."""
        body: dict[str, Any] = {"posting_number": number, "products": [
            {"product_id": product_id, "exemplars": [_exemplar_body(e) for e in exemplars]}
            for product_id, exemplars in exemplars_by_product.items()]}
        if multi_box_qty:
            body["multi_box_qty"] = multi_box_qty
        self._call("/v6/fbs/posting/product/exemplar/set", body, False)

    def exemplar_status(self, number: str) -> ExemplarCheck:
        """The check of the saved item data (``/v5/fbs/posting/product/exemplar/status``)."""
        data = self._call("/v5/fbs/posting/product/exemplar/status", {"posting_number": number}, True)
        status = to_text(data.get("status"))
        problems, busy = [], status == "validation_in_process"
        for product in _list(data.get("products")):
            product_id = to_int(product.get("product_id"))
            for ex in _list(product.get("exemplars")):
                ex_id = to_int(ex.get("exemplar_id"))
                for m in _list(ex.get("marks")):
                    busy = busy or to_text(m.get("check_status")) == "processing"
                    if to_text(m.get("check_status")) == "failed" or _texts(m.get("error_codes")):
                        problems.append(MarkProblem(product_id, to_text(m.get("mark")),
                                                    _texts(m.get("error_codes")) or ("failed",), ex_id))
                codes = sum((_texts(ex.get(f"{kind}_error_codes")) for kind in ("gtd", "rnpt", "weight")), ())
                if codes:
                    problems.append(MarkProblem(product_id, "", codes, ex_id))
        if busy:
            return ExemplarCheck(CheckState.IN_PROGRESS, status)
        state = CheckState.DONE if status == "ship_available" and not problems else CheckState.PROBLEMS
        return ExemplarCheck(state, status, tuple(problems))

    def set_country(self, number: str, product_id: int, iso: str) -> bool:
        """Set a product's country of origin; whether Ozon now wants its GTD
        (``/v2/posting/fbs/product/country/set``)."""
        body = {"posting_number": number, "product_id": product_id, "country_iso_code": iso}
        return self._call("/v2/posting/fbs/product/country/set", body, False).get("is_gtd_needed") is True

    def countries(self, name_search: str = "") -> tuple[tuple[str, str], ...]:
        """(name, ISO code) of the countries Ozon knows (``/v2/posting/fbs/product/country/list``)."""
        data = self._call("/v2/posting/fbs/product/country/list", {"name_search": name_search}, True)
        return tuple((to_text(c.get("name")), to_text(c.get("country_iso_code"))) for c in _list(data.get("result")))

    def set_multibox(self, number: str, qty: int) -> None:
        """How many boxes a multi-box posting goes in (``/v3/posting/multiboxqty/set``)."""
        data = self._call("/v3/posting/multiboxqty/set", {"posting_number": number, "multi_box_qty": qty}, False)
        result = data.get("result")
        if isinstance(result, Mapping) and result.get("result") is False:
            raise OzonRefused("REFUSED", "Ozon answered /v3/posting/multiboxqty/set with result false", number)

    # -- labels -----------------------------------------------------------------------------------

    def labels(self, numbers: Sequence[str]) -> bytes | NotReady:
        """The label PDF of up to 20 postings awaiting delivery; ``NotReady`` shortly after packing.
        One posting Ozon cannot label fails the call for all (``/v2/posting/fbs/package-label``)."""
        if not 1 <= len(numbers) <= MAX_LABELS:
            raise ValueError(f"labels are asked for 1 to {MAX_LABELS} postings at a time, not {len(numbers)}")
        try:
            data = self._call("/v2/posting/fbs/package-label", {"posting_number": list(numbers)}, True)
        except OzonRefused as err:
            if NOT_READY in err.message:
                return NotReady(err.message)
            raise
        return self._pdf(data, "/v2/posting/fbs/package-label")

    def label_task(self, numbers: Sequence[str]) -> LabelTask:
        """Start making the labels of postings awaiting delivery (``/v2/posting/fbs/package-label/create``);
        the big label's task when Ozon makes several."""
        data = self._call("/v2/posting/fbs/package-label/create", {"posting_number": list(numbers)}, False)
        result = data.get("result")
        tasks = _list(result.get("tasks")) if isinstance(result, Mapping) else []
        if not tasks:
            raise OzonUnavailable("Ozon answered /v2/posting/fbs/package-label/create without a task")
        task = next((t for t in tasks if to_text(t.get("task_type")) == "big_label"), tasks[0])
        return LabelTask(to_int(task.get("task_id")), to_text(task.get("task_type")))

    def label_file(self, task: LabelTask | int) -> bytes | NotReady:
        """The task's PDF once made, else ``NotReady`` (``/v1/posting/fbs/package-label/get``). Raises
        OzonRefused when the task failed, or when Ozon left some of its postings out of the file (named)."""
        task_id = task.task_id if isinstance(task, LabelTask) else task
        data = self._call("/v1/posting/fbs/package-label/get", {"task_id": task_id}, True)
        found = data.get("result")
        result: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        status = to_text(result.get("status"))
        if status in ("pending", "in_progress"):
            return NotReady(status)
        url = to_text(result.get("file_url"))
        if status != "completed" or not url:
            error = to_text(result.get("error")) or "LABEL_TASK_FAILED"
            raise OzonRefused(error, f"Ozon could not make the labels of task {task_id}: {error}")
        left_out = [f"{to_text(u.get('posting_number'))} ({to_text(u.get('msg')) or 'no reason given'})"
                    for u in _list(result.get("unprinted_postings"))]
        if left_out:  # a file without some of the labels asked for is not handed on as if it were whole
            raise OzonRefused("UNPRINTED_POSTINGS", f"Ozon made no label for {', '.join(left_out)}")
        return self._fetch(url)

    # -- hand-over --------------------------------------------------------------------------------

    def ready_for_carriage(self, delivery_method_id: int) -> DeliveryDay | None:
        """The delivery method's day: postings due and packed, its carriages (``/v2/carriage/delivery/list``);
        None when it has nothing to hand over."""
        return next((d for d in self._delivery_days({"delivery_method_id": delivery_method_id})
                     if d.delivery_method_id == delivery_method_id), None)

    def delivery_days(self) -> tuple[DeliveryDay, ...]:
        """Every delivery method with packed postings today (``/v2/carriage/delivery/list``)."""
        return self._delivery_days({})

    def _delivery_days(self, filter_: Mapping[str, Any]) -> tuple[DeliveryDay, ...]:
        body = {"limit": 100, "filter": dict(filter_)}
        out = []
        for m in _list(self._call("/v2/carriage/delivery/list", body, True).get("methods")):
            method_id = to_int(m.get("delivery_method_id"))
            carriages = tuple(Carriage(to_int(c.get("id")), to_text(c.get("status")), method_id,
                                       available_actions=frozenset(_texts(c.get("available_actions"))))
                              for c in _list(m.get("carriages")))
            out.append(DeliveryDay(method_id, to_text(m.get("delivery_method_name")), to_int(m.get("warehouse_id")),
                                   to_int(m.get("mandatory_postings_count")), to_int(m.get("mandatory_packaged_count")),
                                   to_int(m.get("carriage_postings_count")), carriages))
        return tuple(out)

    def create_carriage(self, delivery_method_id: int, departure_date: datetime | None = None) -> int:
        """A new carriage with every posting packed for the method; its id (``/v1/carriage/create``)."""
        body: dict[str, Any] = {"delivery_method_id": delivery_method_id}
        if departure_date is not None:
            body["departure_date"] = format_time(departure_date)
        carriage_id = to_int(self._call("/v1/carriage/create", body, False).get("carriage_id"))
        if not carriage_id:
            raise OzonUnavailable("Ozon answered /v1/carriage/create without a carriage_id")
        return carriage_id

    def set_carriage_postings(self, carriage_id: int, numbers: Sequence[str]) -> tuple[CarriagePosting, ...]:
        """Replace the carriage's postings; what Ozon said of each (``/v1/carriage/set-postings``)."""
        body = {"carriage_id": carriage_id, "posting_numbers": list(numbers)}
        data = self._call("/v1/carriage/set-postings", body, False)
        return tuple(CarriagePosting(to_text(r.get("posting_number")), r.get("result") is True,
                                     to_text(r.get("error"))) for r in _list(data.get("result")))

    def approve_carriage(self, carriage_id: int, containers_count: int = 0) -> None:
        """Confirm the carriage; its documents can then be printed (``/v1/carriage/approve``)."""
        body: dict[str, Any] = {"carriage_id": carriage_id}
        if containers_count:
            body["containers_count"] = containers_count
        self._call("/v1/carriage/approve", body, False)

    def carriage(self, carriage_id: int) -> Carriage:
        """``/v1/carriage/get``."""
        data = self._call("/v1/carriage/get", {"carriage_id": carriage_id}, True)
        return Carriage(to_int(data.get("carriage_id")) or carriage_id, to_text(data.get("status")),
                        to_int(data.get("delivery_method_id")), to_int(data.get("warehouse_id")),
                        to_text(data.get("departure_date")), frozenset(_texts(data.get("available_actions"))),
                        to_datetime(data.get("created_at")))

    def act_pdf(self, carriage_id: int) -> bytes:
        """The shipping list and waybill of an approved carriage (``/v2/posting/fbs/act/get-pdf``)."""
        return self._pdf(self._call("/v2/posting/fbs/act/get-pdf", {"id": carriage_id}, True),
                         "/v2/posting/fbs/act/get-pdf")

    # -- helpers ----------------------------------------------------------------------------------

    def _call(self, path: str, body: Mapping[str, Any], idempotent: bool) -> dict[str, Any]:
        """``OzonClient.call``; a refusal whose code is the whole message gets the code it starts with."""
        try:
            return self._client.call(path, body, idempotent=idempotent)
        except OzonRefused as err:
            found = _CODE.match(err.message)
            if err.code == err.message and found:
                raise OzonRefused(found.group(0), err.message, err.posting_number) from None
            raise

    @staticmethod
    def _pdf(data: Mapping[str, Any], path: str) -> bytes:
        content = data.get("file_content")
        if not isinstance(content, bytes):
            raise OzonUnavailable(f"Ozon answered {path} without a PDF")
        return content

    def _download(self, url: str) -> bytes:
        try:
            response = self._client.download(url)
        except httpx.HTTPError as exc:
            raise OzonUnavailable(f"could not download Ozon's file ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise OzonUnavailable(f"Ozon's file could not be downloaded (HTTP {response.status_code})")
        return response.content


def _exemplar_body(e: Exemplar) -> dict[str, Any]:
    body: dict[str, Any] = {"exemplar_id": e.exemplar_id,
                            "marks": [{"mark": m, "mark_type": e.mark_type} for m in e.marks]}
    if e.gtd or e.gtd_absent:
        body.update(gtd=e.gtd, is_gtd_absent=e.gtd_absent)
    if e.rnpt or e.rnpt_absent:
        body.update(rnpt=e.rnpt, is_rnpt_absent=e.rnpt_absent)
    if e.weight:
        body["weight"] = e.weight
    return body
