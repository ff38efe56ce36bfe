"""The backend contract on the in-memory sheet (the reference every other backend is held to)."""

from __future__ import annotations

import json
from pathlib import Path

from sync.backends.base import SheetBackend
from sync.backends.memory import MemoryBackend
from tests.backend_contract import ALL, COLUMNS, LAYOUT, BackendContract, H, Person, order


class MemoryPerson:
    """A person editing the in-memory grid directly."""

    def __init__(self, backend: MemoryBackend):
        self.b = backend

    def _col(self, header: str) -> int:
        return self.b.header.index(header)

    def _padded(self, r: list[str]) -> list[str]:
        return r + [""] * (len(self.b.header) - len(r))

    def header(self) -> list[str]:
        return list(self.b.header)

    def rows(self) -> list[list[str]]:
        rows = [self._padded(list(r)) for r in self.b.grid]
        while rows and not any(rows[-1]):
            rows.pop()
        return rows

    def get(self, row: int, header: str) -> str:
        return self._padded(self.b.grid[row - 2])[self._col(header)]

    def set(self, row: int, header: str, value: str) -> None:
        r = self.b.grid[row - 2]
        r.extend([""] * (len(self.b.header) - len(r)))
        r[self._col(header)] = value

    def delete_row(self, row: int) -> None:
        self.b.delete_row(row)

    def sort_by(self, header: str) -> None:
        i = self._col(header)
        self.b.grid.sort(key=lambda r: self._padded(r)[i])

    def move_column(self, header: str, index: int) -> None:
        i = self._col(header)
        self.b.header.insert(index, self.b.header.pop(i))
        for n, r in enumerate(self.b.grid):
            r = self._padded(r)
            r.insert(index, r.pop(i))
            self.b.grid[n] = r

    def delete_column(self, header: str) -> None:
        i = self._col(header)
        del self.b.header[i]
        for n, r in enumerate(self.b.grid):
            r = self._padded(r)
            del r[i]
            self.b.grid[n] = r

    def archived(self, period: str) -> list[dict[str, str]]:
        return [dict(zip(self.b.header, self._padded(r), strict=False)) for r in self.b.archive.get(period, [])]


class TestMemoryBackend(BackendContract):
    def make_backend(self, tmp_path: Path) -> SheetBackend:
        return MemoryBackend(COLUMNS)

    def person(self, backend: SheetBackend) -> Person:
        assert isinstance(backend, MemoryBackend)
        return MemoryPerson(backend)


def test_a_loaded_sheet_reads_back_as_saved_and_keeps_equal_texts_once() -> None:
    backend = MemoryBackend(COLUMNS)
    backend.ensure_layout(LAYOUT)
    backend.write([], [order(f"{n}-1-1", warehouse="Склад " + "1" * 30) for n in range(3)])
    saved = json.loads(json.dumps(backend.grid))  # a sheet written out and read back: every text a new object
    other = MemoryBackend(COLUMNS, list(backend.header))
    other.load(iter(saved))
    assert other.read(ALL) == backend.read(ALL)
    i = other.header.index(H["warehouse"])
    assert other.grid[0][i] is other.grid[2][i]
    assert saved[0][i] is not saved[2][i]
