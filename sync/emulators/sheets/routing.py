"""Which API method a request is (``"values.get"``, ``"drive.files.list"``, ...), with its path
arguments, and ``Call``: one request to a spreadsheet as an endpoint sees it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sync.emulators.server import Json
from sync.emulators.sheets.errors import bad
from sync.emulators.sheets.model import Book, Workbooks

READ_KINDS = frozenset({"spreadsheets.get", "values.get", "values.batchGet"})


def route(method: str, path: str) -> tuple[str, dict[str, str]]:
    """Which method kind a request is, and its path arguments."""
    if path == "/token":
        return "token", {}
    if path.rstrip("/") == "/upload/drive/v3/files":
        return ("drive.files.upload" if method == "POST" else "unknown"), {}
    if path.startswith("/drive/v3/files"):
        rest = path[len("/drive/v3/files"):].strip("/")
        if not rest:
            return ("drive.files.create" if method == "POST" else "drive.files.list"), {}
        kind = {"GET": "drive.files.get", "DELETE": "drive.files.delete"}.get(method, "unknown")
        return kind, {"id": unquote(rest)}
    if path == "/v4/spreadsheets" or path == "/v4/spreadsheets/":
        return ("spreadsheets.create" if method == "POST" else "unknown"), {}
    if not path.startswith("/v4/spreadsheets/"):
        return "unknown", {}
    rest = path[len("/v4/spreadsheets/"):]
    sid, slash, tail = rest.partition("/")
    if not slash:
        if sid.endswith(":batchUpdate"):
            return "spreadsheets.batchUpdate", {"id": unquote(sid[:-len(":batchUpdate")])}
        return ("spreadsheets.get" if method == "GET" else "unknown"), {"id": unquote(sid)}
    args = {"id": unquote(sid)}
    for suffix in ("batchGet", "batchUpdate", "batchClear"):
        if tail == f"values:{suffix}":
            return f"values.{suffix}", args
    if tail.startswith("values/"):
        rng = tail[len("values/"):]
        for suffix in ("append", "clear"):
            if rng.endswith(f":{suffix}"):
                return f"values.{suffix}", dict(args, range=unquote(rng[:-len(suffix) - 1]))
        kind = {"GET": "values.get", "PUT": "values.update"}.get(method, "unknown")
        return kind, dict(args, range=unquote(rng))
    return "unknown", {}


@dataclass
class Call:
    """A request to one spreadsheet the caller may open: its path arguments, query and JSON body."""

    book: Book
    args: dict[str, str]
    query: dict[str, list[str]]
    body: Json

    def q(self, name: str, default: str | None = None) -> str | None:
        """The query parameter's last value."""
        return self.query.get(name, [default])[-1]

    def flag(self, name: str) -> bool:
        """A boolean query parameter (only ``true`` is true)."""
        return (self.q(name) or "").strip().lower() == "true"

    def option(self, name: str, allowed: tuple[str, ...], default: str) -> str:
        """An enum query parameter, or 400 when it is none of ``allowed``."""
        value = self.q(name) or default
        if value not in allowed:
            raise bad(f"Invalid value at '{name}', \"{value}\"")
        return value


Endpoint = Callable[[Workbooks, Call], tuple[int, Any]]  # answers (HTTP status, JSON body)
Request = Callable[[Workbooks, Book, Json], Json]  # a spreadsheets.batchUpdate request: (store, book, params) -> reply
