"""The multi-view run: one cycle of the main sheet's engine, then of each view's, over one state.

Ozon is pulled once, by the first engine that gets that far; the others lay out what it brought. A
sheet that fails (its layout broken ...) is reported and the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.backends.base import Layout, SheetBackend
from sync.config import SpreadsheetConfig
from sync.engine.cycle import CycleReport, Engine
from sync.errors import SyncError
from sync.mapping import ColumnMap

log = logging.getLogger("sync")


@dataclass
class View:
    """An operator's own spreadsheet: its backend and the engine that keeps it."""

    name: str
    sheet: SpreadsheetConfig
    columns: ColumnMap
    layout: Layout
    backend: SheetBackend
    engine: Engine

    def exists(self) -> bool:
        return self.backend.exists()


@dataclass
class SheetsReport(CycleReport):
    """One cycle over the main sheet and every view: the sums, and each sheet's own summary."""

    parts: list[CycleReport] = field(default_factory=list)
    failed_sheets: list[str] = field(default_factory=list)  # sheets whose cycle raised ("" = the main one)

    def summary(self) -> str:
        return " | ".join(p.summary() for p in self.parts)


def combine(parts: list[CycleReport]) -> SheetsReport:
    out = SheetsReport(parts=parts)
    for p in parts:
        for name in ("pulled", "calls", "verified", "waiting", "refused", "held", "cells_written", "rows_added",
                     "rows_archived", "rows_skipped"):
            setattr(out, name, getattr(out, name) + getattr(p, name))
        out.planned += [f"{line} (view «{p.view}»)" if p.view else line for line in p.planned]
        out.problems += [f"View «{p.view}»: {x}" if p.view else x for x in p.problems]
        out.failed_accounts.update(p.failed_accounts)
        if p.deferred:
            out.deferred = "; ".join(filter(None, [out.deferred, f"view «{p.view}»: {p.deferred}" if p.view
                                                   else p.deferred]))
    return out


def run_sheets(main: Engine, views: list[View], *, push: bool, pull: bool, dry_run: bool,
               fetch: Mapping[str, list[str]] | None = None) -> CycleReport:
    """One cycle of ``main``, then of each view (see the module docstring). Without views, the main
    engine's own report; else a SheetsReport. Raises only when every sheet failed. ``fetch`` (pushed
    postings, by account) goes with the pull: to the first sheet that runs."""
    if not views:
        return main.run_cycle(push=push, pull=pull, dry_run=dry_run, fetch=fetch)
    parts: list[CycleReport] = []
    failures: list[tuple[str, Exception]] = []
    pulled = False
    for name, engine in [("", main)] + [(v.name, v.engine) for v in views]:
        try:
            parts.append(engine.run_cycle(push=push, pull=pull and not pulled, dry_run=dry_run,
                                          fetch=None if pulled else fetch))
            pulled = True
        except SyncError as exc:
            log.error("%s: %s", f"View «{name}»" if name else "The main sheet", exc)
            failures.append((name, exc))
    if not parts:
        raise failures[0][1]
    rep = combine(parts)
    rep.problems += [f"View «{n}»: {e}" if n else f"The main sheet: {e}" for n, e in failures]
    rep.failed_sheets = [n for n, _e in failures]
    return rep
