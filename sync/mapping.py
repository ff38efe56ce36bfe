"""mappings/*.yaml -> the column map (field, header, owner, format) and the status map.

Everything the engine needs to turn an Ozon posting into row text, and a typed cell back into a
request, lives here; the engine never reads YAML itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sync.errors import ConfigError
from sync.model import Action, Owner, Posting, Scheme

FORMATS = ("text", "datetime", "integer", "money", "link")
# link: the cell shows the text and links to it — a path relative to the workbook's folder (a saved label) or a
# URL. Excel gets a real hyperlink (no formula); Google Sheets and the memory backend store the text as it is.
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
PRIVATE_FIELDS = frozenset({"customer_name", "customer_phone", "customer_address"})
ACCOUNT_FIELD = "account"  # shown only when the config lists several Ozon accounts
# Staff-owned columns the engine reads as the input of a move (never written): the marking codes scanned
# for a status edit, and the box count of a multi-box posting (an optional column, «Мест»). A sheet laid out
# before they existed lacks them, which is no fault.
INPUT_FIELDS = frozenset({"marks", "boxes"})
# Columns a sheet made before them may lack: filled when there, not missed when not (`init` adds them).
LATER_FIELDS = frozenset({"label"})


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    owner: Owner
    format: str = "text"
    width: float | None = None

    def canonical(self, value: Any) -> str:
        """The text the engine compares for a value read from a cell (any backend, any type)."""
        if value.__class__ is str and self.format != "money":  # most cells: the fast path
            return value.rstrip("\r\n") if self.format == "text" else value.strip()
        if value is None:
            return ""
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, datetime):
            return value.strftime(DATETIME_FORMAT)
        if isinstance(value, date):
            # A reader may hand back a midnight datetime as a bare date (calamine does).
            return value.strftime(DATETIME_FORMAT if self.format == "datetime" else "%Y-%m-%d")
        if isinstance(value, float | int | Decimal):
            if self.format == "money":
                return f"{Decimal(str(value)):.2f}"
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return str(value)
        text = str(value)
        if self.format == "money":
            try:
                return f"{Decimal(text.replace(',', '.').replace(' ', '')):.2f}"
            except InvalidOperation:
                return text.strip()
        return text.strip() if self.format != "text" else text.rstrip("\r\n")

    def typed(self, text: str) -> Any:
        """The value to store in a cell for the engine's text: numbers and dates as such, text as text."""
        if text == "":
            return None
        try:
            if self.format == "integer":
                return int(text)
            if self.format == "money":
                return float(Decimal(text))
            if self.format == "datetime":
                return datetime.strptime(text, DATETIME_FORMAT)
        except (ValueError, InvalidOperation):
            return text
        return text


@dataclass(frozen=True)
class ColumnMap:
    columns: tuple[Column, ...]
    language: str = "ru"

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_field", {c.field: c for c in self.columns})

    @property
    def key(self) -> Column:
        return next(c for c in self.columns if c.owner is Owner.KEY)

    def get(self, field: str) -> Column | None:
        by_field: dict[str, Column] = self._by_field  # type: ignore[attr-defined]
        return by_field.get(field)

    def fields(self, *owners: Owner) -> list[str]:
        return [c.field for c in self.columns if c.owner in owners]

    @property
    def read_fields(self) -> list[str]:
        """Every mapped field that is not staff-owned, and the staff's inputs (INPUT_FIELDS): what a cycle reads."""
        return [c.field for c in self.columns if c.owner is not Owner.STAFF or c.field in INPUT_FIELDS]

    @property
    def guard_fields(self) -> list[str]:
        """The key (with the account, part of the key) and both-owned fields: what is re-read just before writing."""
        return self.fields(Owner.KEY, Owner.BOTH) + (["account"] if self.get("account") else [])

    def without(self, fields: frozenset[str]) -> ColumnMap:
        return ColumnMap(tuple(c for c in self.columns if c.field not in fields), self.language)


@dataclass(frozen=True)
class StatusLabel:
    id: str
    label: str
    match: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Move:
    to: str
    from_statuses: frozenset[str]
    action: Action
    success: tuple[tuple[str, str | None], ...]
    requires: tuple[str, ...] = ()
    schemes: frozenset[Scheme] = frozenset({Scheme.FBS, Scheme.RFBS})
    integration: frozenset[str] = frozenset()

    def applies_to(self, posting: Posting) -> bool:
        if posting.scheme not in self.schemes:
            return False
        if self.integration and posting.tpl_integration_type not in self.integration:
            return False
        return posting.status in self.from_statuses

    def reached(self, status: str, substatus: str) -> bool:
        return any(_matches(m, status, substatus) for m in self.success)


@dataclass(frozen=True)
class ReasonChoice:
    id: int
    title: str
    needs_message: bool = False

    @property
    def display(self) -> str:
        return f"{self.id} — {self.title}"


@dataclass(frozen=True)
class ParsedReason:
    id: int
    message: str = ""


def _matches(m: tuple[str, str | None], status: str, substatus: str) -> bool:
    return m[0] == status and (m[1] is None or m[1] == substatus)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("ё", "е").replace("Ё", "Е")).strip().casefold()


@dataclass(frozen=True)
class StatusMap:
    labels: tuple[StatusLabel, ...]
    moves: tuple[Move, ...]
    reasons: tuple[ReasonChoice, ...]

    def label_of(self, status: str, substatus: str = "") -> StatusLabel | None:
        for lab in self.labels:
            if any(_matches(m, status, substatus) for m in lab.match):
                return lab
        return None

    def label_for(self, posting: Posting) -> str:
        lab = self.label_of(posting.status, posting.substatus)
        return lab.label if lab else posting.status

    def parse(self, text: str) -> StatusLabel | None:
        """A typed status cell -> its label: the label in any case, or a raw Ozon status code."""
        n = _norm(text)
        if not n:
            return None
        for lab in self.labels:
            if _norm(lab.label) == n or lab.id == n:
                return lab
        for lab in self.labels:
            if any(m[0] == n and m[1] is None for m in lab.match):
                return lab
        return None

    def choices(self) -> list[str]:
        return [lab.label for lab in self.labels]

    def move_to(self, label: StatusLabel, posting: Posting) -> Move | None:
        """The move that takes this posting to ``label``, or None when no move exists from its state."""
        for move in self.moves:
            if move.to == label.id and move.applies_to(posting):
                return move
        return None

    def targets_from(self, posting: Posting) -> list[str]:
        """Labels a person may set on this posting now (per the mapping and Ozon's available_actions)."""
        out: list[str] = []
        for move in self.moves:
            if move.applies_to(posting) and posting.allows(move.action.value):
                lab = next(lab for lab in self.labels if lab.id == move.to)
                if lab.label not in out:
                    out.append(lab.label)
        return out

    def reason_choices(self) -> list[str]:
        return [r.display for r in self.reasons]

    def parse_reason(self, text: str) -> ParsedReason | None:
        """An id, a title in any case, "id — title", or "Другое: words" -> reason id and message."""
        raw = text.strip()
        if not raw:
            return None
        head, sep, tail = raw.partition(":")
        if sep:
            for r in self.reasons:
                if r.needs_message and (_norm(head) == _norm(r.title) or head.strip() == str(r.id)):
                    return ParsedReason(r.id, tail.strip())
        m = re.match(r"^\s*(\d+)(?:\.0)?\s*(?:[—–-]\s*(.*))?$", raw)
        if m:
            return ParsedReason(int(m.group(1)), "")
        for r in self.reasons:
            if _norm(r.title) == _norm(raw):
                return ParsedReason(r.id, "")
        return None

    def reason(self, reason_id: int) -> ReasonChoice | None:
        return next((r for r in self.reasons if r.id == reason_id), None)


# --- loading ---------------------------------------------------------------------------------


def _default_path(name: str) -> Path:
    return Path(str(resources.files("sync.mappings").joinpath(name)))


def _load_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what}: file {path} does not exist") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what}: {path} is not valid YAML ({exc})") from None


def default_mapping_path(language: str = "ru") -> Path:
    return _default_path("orders.en.yaml" if language == "en" else "orders.yaml")


MIRROR_TABS = ("fbo", "returns")


def load_mirror_columns(tab: str, language: str = "ru") -> ColumnMap:
    """The bundled columns of a read-only tab (``fbo`` or ``returns``) in ``ru`` or ``en``."""
    if tab not in MIRROR_TABS:
        raise ValueError(f"no read-only tab {tab!r}; one of {', '.join(MIRROR_TABS)}")
    return load_columns(_default_path(f"{tab}.en.yaml" if language == "en" else f"{tab}.yaml"))


def load_columns(path: Path | None = None) -> ColumnMap:
    """Read a column mapping; every problem is collected and raised together as a ConfigError."""
    path = path or default_mapping_path()
    data = _load_yaml(path, "mapping")
    problems: list[str] = []
    cols: list[Column] = []
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise ConfigError(f"mapping: {path} must have a list `columns`")
    seen_fields: set[str] = set()
    seen_headers: set[str] = set()
    for i, item in enumerate(data["columns"]):
        where = f"mapping.columns[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a mapping with field, header and owner")
            continue
        unknown = set(item) - {"field", "header", "owner", "format", "width"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        field, header = str(item.get("field") or ""), str(item.get("header") or "")
        if not field or not header:
            problems.append(f"{where}: needs both `field` and `header`")
            continue
        try:
            owner = Owner(str(item.get("owner", "ozon")))
        except ValueError:
            problems.append(f"{where}.owner: {item.get('owner')!r} is not one of {', '.join(Owner)}")
            continue
        fmt = str(item.get("format", "text"))
        if fmt not in FORMATS:
            problems.append(f"{where}.format: {fmt!r} is not one of {', '.join(FORMATS)}")
        if field in seen_fields or header in seen_headers:
            problems.append(f"{where}: field {field!r} or header {header!r} appears twice")
        seen_fields.add(field)
        seen_headers.add(header)
        width = item.get("width")
        cols.append(Column(field, header, owner, fmt, float(width) if width else None))
    if sum(1 for c in cols if c.owner is Owner.KEY) != 1:
        problems.append("mapping.columns: exactly one column must have owner: key")
    if problems:
        raise ConfigError(problems)
    return ColumnMap(tuple(cols), str(data.get("language", "ru")))


def _match_list(items: Any) -> tuple[tuple[str, str | None], ...]:
    out = []
    for item in items or []:
        status, _, sub = str(item).partition("/")
        out.append((status, sub or None))
    return tuple(out)


def load_statuses(path: Path | None = None, language: str = "ru") -> StatusMap:
    """Read statuses.yaml for one language (``ru`` or ``en``)."""
    path = path or _default_path("statuses.yaml")
    data = _load_yaml(path, "statuses")
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(f"statuses: {path} must be a mapping with labels, moves and cancel_reasons")
    labels = tuple(
        StatusLabel(str(lab["id"]), str(lab.get(language) or lab.get("ru")), _match_list(lab.get("match")))
        for lab in data.get("labels", [])
    )
    ids = {lab.id for lab in labels}
    moves = []
    for i, m in enumerate(data.get("moves", [])):
        try:
            action = Action(m["action"])
        except (KeyError, ValueError):
            problems.append(f"statuses.moves[{i}].action: must be one of {', '.join(Action)}")
            continue
        if m.get("to") not in ids:
            problems.append(f"statuses.moves[{i}].to: {m.get('to')!r} is not a label id ({', '.join(ids)})")
            continue
        schemes = frozenset(Scheme(s) for s in m.get("schemes", ["FBS", "rFBS"]))
        moves.append(
            Move(
                to=str(m["to"]),
                from_statuses=frozenset(str(s) for s in m.get("from", [])),
                action=action,
                success=_match_list(m.get("success")),
                requires=tuple(m.get("requires", [])),
                schemes=schemes,
                integration=frozenset(m.get("integration", [])),
            )
        )
    reasons = tuple(
        ReasonChoice(int(r["id"]), str(r.get(language) or r.get("ru")), bool(r.get("needs_message")))
        for r in data.get("cancel_reasons", [])
    )
    if problems:
        raise ConfigError(problems)
    return StatusMap(labels, tuple(moves), reasons)
