"""Labels after a verified ship: fetched once Ozon has made them, saved, linked in the row, printed.

Each ship the outbox verified gets a waiting label, due ``wait`` seconds later (``labels.first_try``: Ozon
makes a label some 45-60 s after packing). A due label is fetched on its own (``/v2/posting/fbs/package-label``), so one
posting Ozon cannot label is named in its row instead of failing the others; one Ozon has not made yet is
asked again later (30 s, then longer, up to 10 minutes apart). The labels saved in a cycle are fetched
again together, at most 20 a call, into that cycle's batch file, which the print command prints.

Each step is safe to repeat after a crash: files are written whole and replaced, a label is recorded
saved together with its batch, and a batch is printed once its record says it has not been (a crash
between the printer and that record prints it again: a spare label, never a missing one). A labels
folder that cannot be written, or a printer that fails, is a problem to show; the sync goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sync.engine.notes import Notes
from sync.engine.state import LabelJob, StateStore
from sync.engine.types import DayPort, Key, LabelPort
from sync.errors import FatalError, OzonAuthError, OzonRefused, OzonUnavailable, SyncError
from sync.fbs import NotReady

log = logging.getLogger("sync.labels")

RETRY, RETRY_CAP = 30.0, 600.0  # seconds before asking again for a label Ozon has not made yet, doubling
BATCH = 20  # postings per call for the batch file
LABELLED = "awaiting_deliver"  # the one status Ozon makes labels in


@dataclass
class LabelRun:
    saved: int = 0
    calls: int = 0
    notes: dict[Key, str] = field(default_factory=dict)  # labels Ozon refused, said in their rows
    problems: list[str] = field(default_factory=list)


class Labeller:
    def __init__(self, days: Mapping[str, DayPort], state: StateStore, shelf: LabelPort, notes: Notes,
                 tz: ZoneInfo, clock: Callable[[], datetime], wait: float):
        self.days, self.state, self.shelf, self.notes, self.tz, self.wait = days, state, shelf, notes, tz, wait
        self.clock = clock  # a refusal's note says when it came
        # Ships verified before labels were first kept here get none: an upgrade prints nothing old.
        since = state.get_meta("labels_since")
        if since is None:
            since = clock().isoformat()
            state.set_meta("labels_since", since)
        self.since = datetime.fromisoformat(since)

    def run(self, now: datetime, failed: Mapping[str, str],
            on_fail: Callable[[str, Exception, str], None]) -> LabelRun:
        run = LabelRun()
        now = max(now, self.clock())  # ships verified during this cycle's outbox are due by now
        self._print_waiting(run)
        self.state.add_label_jobs(self.since, self.wait)
        jobs = [j for j in self.state.due_labels(now) if j.account in self.days and j.account not in failed]
        if not jobs:
            return run
        try:
            self.shelf.check()
        except FatalError as exc:  # the folder cannot be written: nothing is fetched, the labels wait
            run.problems.append(str(exc))
            log.warning("%s", exc)
            return run
        local = now.astimezone(self.tz)
        for acc, group in groupby(sorted(jobs, key=lambda j: j.account), key=lambda j: j.account):
            try:
                self._account(acc, list(group), now, local, run)
            except (OzonUnavailable, OzonAuthError) as exc:
                on_fail(acc, exc, "Fetching labels failed")
            except FatalError as exc:  # the folder went away meanwhile: the labels not recorded wait
                run.problems.append(str(exc))
                log.warning("%s", exc)
        return run

    def _account(self, acc: str, jobs: list[LabelJob], now: datetime, local: datetime, run: LabelRun) -> None:
        day = self.days[acc]
        got: list[tuple[str, bytes]] = []
        for job in jobs:
            why = self._unlabelable(acc, job.number)
            if why:
                self._refused(acc, job.number, why, run)
                continue
            try:
                run.calls += 1
                pdf = day.labels([job.number])
            except OzonRefused as exc:
                self._refused(acc, job.number, exc.message or exc.code, run)
                continue
            if isinstance(pdf, NotReady):
                pause = min(RETRY * 2 ** job.tries, RETRY_CAP)
                self.state.label_later(acc, job.number, now + timedelta(seconds=pause), job.tries + 1)
                continue
            got.append((job.number, pdf))
        if not got:
            return
        try:
            links = [(number, self.shelf.save(number, pdf, local)) for number, pdf in got]
        except SyncError as exc:  # the folder, or Drive: nothing recorded, so they are fetched again
            problem = f"Labels were fetched but not saved: {exc}. They are fetched again next cycle"
            run.problems.append(problem)
            log.warning("%s", problem)
            return
        batches = self._batches(day, [n for n, _ in got], local, run)
        self.state.begin()
        try:
            for number, link in links:
                self.state.label_saved(acc, number, link, local.date().isoformat())
            for path, count in batches:
                self.state.add_batch(now, path, count)
        finally:
            self.state.commit()
        run.saved += len(links)
        log.info("Saved %d label%s%s", len(links), "" if len(links) == 1 else "s",
                 f" ({', '.join(path for path, _ in batches)})" if batches else "")
        self._print_waiting(run)

    def _batches(self, day: DayPort, numbers: Sequence[str], local: datetime,
                 run: LabelRun) -> list[tuple[str, int]]:
        """This cycle's labels in batch files to print (one per 20); a batch Ozon will not make is said, and
        its labels stay saved one by one."""
        out = []
        for i in range(0, len(numbers), BATCH):
            chunk = numbers[i:i + BATCH]
            run.calls += 1
            try:
                pdf = day.labels(chunk)
            except OzonRefused as exc:
                pdf = NotReady(exc.message or exc.code)
            if isinstance(pdf, NotReady):
                problem = (f"The labels of {', '.join(chunk)} are saved one by one, but Ozon did not make them in "
                           f"one file to print ({pdf.message}); print them from their rows")
                run.problems.append(problem)
                log.warning("%s", problem)
                continue
            out.append((self.shelf.save_batch(pdf, local), len(chunk)))
        return out

    def _print_waiting(self, run: LabelRun) -> None:
        """Run the print command on each batch not printed yet (this cycle's, or one a crash left)."""
        for batch in self.state.batches(unprinted=True):
            done = self.shelf.print_batch(batch.path)
            if done is None:
                self.state.batch_printed(batch.id, "off", "")
                continue
            self.state.batch_printed(batch.id, "ok" if done.ok else "failed", done.message)
            if done.ok:
                log.info("Labels: %s", done.message)
            else:
                problem = f"The labels in {batch.path} were not printed: {done.message}"
                run.problems.append(problem)
                log.warning("%s", problem)

    def _unlabelable(self, acc: str, number: str) -> str:
        """Why Ozon would make no label for the posting as last pulled ("" when it would)."""
        found = self.state.posting_data(acc, number)
        status = str(found[0].get("status", "")) if found else ""
        if found is None or status == LABELLED:
            return ""
        return f"the posting is «{status}» now; Ozon makes a label only while it awaits shipment"

    def _refused(self, acc: str, number: str, why: str, run: LabelRun) -> None:
        self.state.label_refused(acc, number, why)
        run.notes[(acc, number)] = self.notes.stamp(self.clock(), "label_refused", reason=why)
        log.warning("No label for %s: %s", number, why)
