"""`ozon-sync labels`: one PDF with the labels of chosen postings, to print by hand.

The postings are named (``--postings A,B``) or chosen from the state store by Ozon status
(``--status awaiting_deliver``, optionally ``--warehouse W``). Each is read fresh from Ozon first: one
that cannot have a label (not packed, finished, unknown) is named with the reason and no file is
written. Up to 20 postings take one call; more take Ozon's label task, waited for up to ``wait``
seconds. The file is written whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sync import output
from sync.config import fold_name
from sync.engine.state import StateStore
from sync.errors import ConfigError, OzonRefused
from sync.fbs import NotReady
from sync.labels import write_whole
from sync.mapping import StatusMap
from sync.model import posting_from_dict
from sync.ozon import OzonClient
from sync.ozon.fbs_day import MAX_LABELS, FbsDay

LABELLED = "awaiting_deliver"  # the one status Ozon makes labels in
POLL = 2.0  # seconds between looks at a label task
WAIT = 60.0  # seconds a label task is waited for


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of it: the file written, or why not (one line per posting that held it up)."""

    written: Path | None
    problems: tuple[str, ...] = ()


def check_output(path: Path) -> None:
    output.check_output(path, ".pdf", "labels are a PDF file")


def parse_numbers(text: str) -> list[str]:
    numbers = list(dict.fromkeys(n.strip() for n in text.replace(";", ",").split(",") if n.strip()))
    if not numbers:
        raise ConfigError("--postings: give posting numbers separated by commas, e.g. 12345678-0001-1,12345678-0002-1")
    return numbers


def from_state(state: StateStore, status: str, warehouse: str | None, account: str) -> list[str]:
    """The postings of ``account`` the state store last saw in ``status`` (and at ``warehouse``), in order."""
    want = None if warehouse is None else fold_name(warehouse)
    return sorted(number for acc, number, data in state.postings_with_status(status)
                  if acc == account and (want is None or fold_name(posting_from_dict(data).warehouse) == want))


def make_labels(client: OzonClient, day: FbsDay, numbers: Sequence[str], statuses: StatusMap, output: Path, *,
                wait: float, sleep: Callable[[float], None]) -> Outcome:
    """Check each posting at Ozon, then fetch the labels and write ``output`` (nothing when one is held up)."""
    problems = []
    for number in numbers:
        try:
            p = client.get_posting(number)
        except OzonRefused as exc:
            problems.append(f"{number}: Ozon does not know it ({exc.code or exc.message})")
            continue
        if p.status != LABELLED:
            problems.append(f"{number}: it is «{statuses.label_for(p)}» ({p.status}); Ozon makes a label only "
                            f"once it is packed and awaits shipment ({LABELLED})")
    if problems:
        return Outcome(None, tuple(problems))
    try:
        pdf = day.labels(numbers) if len(numbers) <= MAX_LABELS else _by_task(day, numbers, wait, sleep)
    except OzonRefused as exc:
        return Outcome(None, (f"Ozon refused the labels: {exc.message or exc.code}",))
    if isinstance(pdf, NotReady):
        return Outcome(None, ("Ozon has not made these labels yet (it needs about 45-60 s after packing); "
                              "try again in a minute",))
    return Outcome(write_whole(output, pdf))


def _by_task(day: FbsDay, numbers: Sequence[str], wait: float, sleep: Callable[[float], None]) -> bytes | NotReady:
    task = day.label_task(numbers)
    waited = 0.0
    while True:
        got = day.label_file(task)
        if not isinstance(got, NotReady) or waited >= wait:
            return got
        sleep(POLL)
        waited += POLL
