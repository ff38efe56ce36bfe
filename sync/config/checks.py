"""Value checks for config keys: each takes the raw YAML value and where it is, returns the clean
value, or raises :class:`Bad` whose message completes ``<key>: ``."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from datetime import time
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.fbs import ItemDefaults

CLIENT_ID_HINT = "the numeric Client-Id from Ozon Seller → Settings → Seller API"
OZON_RPS_LIMIT = 50.0  # Ozon's limit per Client-Id, shared with every other tool the seller runs
MIN_EVERY = 5.0
SCHEMES = ("fbs", "rfbs", "fbo")
BACKENDS = ("excel", "google")
LANGUAGES = ("ru", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ALERT_SECURITY = ("starttls", "ssl", "none")
EXCEL_SHEET_FORBIDDEN = set("[]:*?/\\")
EXCEL_TAB_MAX = 31  # characters in an Excel tab name


class Place(NamedTuple):
    """Where a value is: its key path, the config file's folder (relative paths) and the environment."""

    key: str
    base_dir: Path
    env: Mapping[str, str]


Check = Callable[[Any, Place], Any]


class Bad(Exception):
    """One value is wrong; the message completes ``<key>: ``."""


def show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def parse_duration(value: object) -> float | None:
    """Seconds from 30, 2.5, "30s", "5m", "2h", "1d" or "1h30m"; None when it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * unit[u] for n, u in parts)


def excel_tab_ok(name: str) -> bool:
    return not (EXCEL_SHEET_FORBIDDEN & set(name)) and len(name) <= EXCEL_TAB_MAX


EXCEL_TAB_RULE = "an Excel tab name has at most 31 characters and none of [ ] : * ? / \\"


# --- text ------------------------------------------------------------------------------------------


def text(raw: Any, at: Place) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise Bad(f"expected text, got {show(raw)}")
    return str(raw).strip()


def secret(raw: Any, at: Place) -> str:
    if not isinstance(raw, str):
        raise Bad("expected text in quotes")  # never echo what might be a key
    return raw.strip()


def api_key(raw: Any, at: Place) -> str:
    value = secret(raw, at)
    if not (value.isascii() and value.isprintable()):  # it is sent as an HTTP header
        raise Bad("holds characters an HTTP header cannot carry (non-ASCII or a line break): copy it again "
                  "from the seller cabinet (Settings → Seller API)")
    return value


def client_id(raw: Any, at: Place) -> str:
    # Not quoted back: a Client-Id and an Api-Key swapped by mistake would print the key.
    value = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not value.isdigit() or not value.isascii():
        raise Bad(f"must be {CLIENT_ID_HINT}")
    return value


def url(raw: Any, at: Place) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw.strip()):
        raise Bad(f"expected an http:// or https:// address, got {show(raw)}")
    return raw.strip().rstrip("/")


def account(raw: Any, at: Place) -> str:
    value = text(raw, at)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise Bad(f"use only letters, digits, - and _ (it is stored with every posting), got {value!r}")
    return value


def spreadsheet_id(raw: Any, at: Place) -> str:
    value = text(raw, at)
    m = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", value)
    if m:
        return m.group(1)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise Bad(f"expected the spreadsheet key or its URL (https://docs.google.com/spreadsheets/d/KEY/...), "
                  f"got {value!r}")
    return value


def _string_list(raw: Any) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise Bad(f"expected a list of names, got {show(raw)}")
    return [i.strip() for i in items if i.strip()]


def names(raw: Any, at: Place) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_string_list(raw)))


def names_or_ids(raw: Any, at: Place) -> tuple[str, ...]:
    """A list of names or numeric ids (delivery methods: either way, as Ozon shows them), as text."""
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
        raise Bad(f"expected a list of names or ids, got {show(raw)}")
    return tuple(dict.fromkeys(str(i).strip() for i in items if str(i).strip()))


_HH_MM = re.compile(r"(\d{1,2}):(\d{2})")


def time_of_day(raw: Any, at: Place) -> time:
    """A local time written "HH:MM"."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        # YAML reads an unquoted 16:00 as the number 960 (minutes, base 60)
        raise Bad(f'got the number {raw:g}; write the time of day in quotes as HH:MM, e.g. "16:00" (without '
                  f"quotes YAML reads 16:00 as a number)")
    value = text(raw, at)
    m = _HH_MM.fullmatch(value)
    if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise Bad(f'"{value}" is not a time of day; write it as HH:MM, e.g. "16:00"')
    return time(int(m.group(1)), int(m.group(2)))


def schemes(raw: Any, at: Place) -> tuple[str, ...]:
    items = [i.lower() for i in _string_list(raw)]
    wrong = [i for i in items if i not in SCHEMES]
    if wrong:
        raise Bad(f"unknown scheme {', '.join(map(repr, wrong))}; choose from {', '.join(SCHEMES)} "
                  f"(fbo: FBO postings, mirrored read-only into their own tab)")
    if not items:
        raise Bad(f"list at least one of {', '.join(SCHEMES)}")
    return tuple(dict.fromkeys(items))


def editors(raw: Any, at: Place) -> tuple[str, ...]:
    items = _string_list(raw)
    wrong = [i for i in items if not re.fullmatch(r"[^@\s]+@[^@\s]+", i)]
    if wrong:
        raise Bad(f"expected e-mail addresses, got {', '.join(map(repr, wrong))}")
    return tuple(items)


def address(raw: Any, at: Place) -> str:
    value = text(raw, at)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", value):
        raise Bad(f"expected an e-mail address like shop@example.ru, got {value!r}")
    return value


def addresses(raw: Any, at: Place) -> tuple[str, ...]:
    items = _string_list(raw)
    if not items:
        raise Bad("list at least one e-mail address")
    return tuple(address(i, at) for i in items)


def host(raw: Any, at: Place) -> str:
    value = text(raw, at)
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", value):
        raise Bad(f"expected a host name such as smtp.example.ru (no scheme, no port), got {value!r}")
    return value


def port(raw: Any, at: Place) -> int:
    n = integer(minimum=1)(raw, at)
    if n > 65535:
        raise Bad(f"expected a port number from 1 to 65535, got {n}")
    return n


def local_address(raw: Any, at: Place) -> str:
    """``host:port`` a local HTTP server listens on (the host a loopback address or a name for one)."""
    value = text(raw, at)
    m = re.fullmatch(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})", value)
    if not m or not 1 <= int(m.group(2)) <= 65535:
        raise Bad(f"expected host:port such as 127.0.0.1:9464, got {value!r}")
    return value


def url_path(raw: Any, at: Place) -> str:
    """The path part of a URL our HTTP server answers, such as ``/ozon``."""
    value = text(raw, at)
    if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+/?|/", value):
        raise Bad(f"expected a path such as /ozon (letters, digits, . _ ~ - between slashes), got {value!r}")
    return value


def headers(raw: Any, at: Place) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise Bad(f"expected a mapping of header names to values (like `Authorization: \"Bearer ${{TOKEN}}\"`), "
                  f"got {show(raw)}")
    out: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
            raise Bad(f"{name!r} is not a valid HTTP header name")
        if name.lower() in ("content-type", "content-length", "host"):
            raise Bad(f"header {name} is set by ozon-sync; remove it")
        if isinstance(value, bool) or not isinstance(value, str | int | float) or "\n" in str(value):
            raise Bad(f"the value of header {name} must be one line of text")  # never echo: it may be a token
        out.append((name, str(value)))
    return tuple(out)


def timezone(raw: Any, at: Place) -> str:
    value = text(raw, at)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise Bad(f"unknown time zone {value!r}; use a name like Europe/Moscow or Asia/Yekaterinburg") from None
    return value


def choice(options: tuple[str, ...], *, lower: bool = False, upper: bool = False) -> Check:
    def check(raw: Any, at: Place) -> str:
        value = raw.strip() if isinstance(raw, str) else None
        if value is not None:
            value = value.lower() if lower else value.upper() if upper else value
        if value not in options:
            raise Bad(f"expected one of {', '.join(options)}, got {show(raw)}")
        return value

    return check


# --- numbers ---------------------------------------------------------------------------------------


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):  # a value that came through ${VAR} is text
        try:
            return float(raw.strip())
        except ValueError:
            return None
    return None


def boolean(raw: Any, at: Place) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return raw.strip().lower() in ("true", "yes", "on", "1")
    raise Bad(f"expected true or false, got {show(raw)}")


def integer(*, minimum: int) -> Callable[[Any, Place], int]:
    def check(raw: Any, at: Place) -> int:
        n = _number(raw)
        if n is None or not n.is_integer():
            raise Bad(f"expected a whole number, got {show(raw)}")
        if n < minimum:
            raise Bad(f"must be at least {minimum}, got {int(n)}")
        return int(n)

    return check


def rps(raw: Any, at: Place) -> float:
    n = _number(raw)
    if n is None or not math.isfinite(n):
        raise Bad(f"expected a number of requests per second, got {show(raw)}")
    if n <= 0:
        raise Bad(f"must be more than 0, got {n:g}")
    if n > OZON_RPS_LIMIT:
        raise Bad(f"Ozon allows at most {OZON_RPS_LIMIT:g} requests per second per Client-Id, shared with the "
                  f"seller's other tools; got {n:g}")
    return n


def duration(*, minimum: float, strict: bool = False) -> Check:
    def check(raw: Any, at: Place) -> float:
        seconds = parse_duration(raw)
        if seconds is None:
            raise Bad(f"expected a duration like 30s, 5m or 1h, got {show(raw)}")
        if seconds < minimum or (strict and seconds <= minimum):
            word = "more than" if strict else "at least"
            raise Bad(f"must be {word} {minimum:g}s, got {seconds:g}s")
        return seconds

    return check


def _in_units(unit: str, seconds_each: int, example: str) -> Check:
    """A check for a count of ``unit`` s: a number, or a duration such as 90m (converted)."""

    def check(raw: Any, at: Place) -> float:
        n = _number(raw)
        if n is None:
            seconds = parse_duration(raw)
            if seconds is None:
                raise Bad(f"expected a number of {unit} or a duration like {example}, got {show(raw)}")
            n = seconds / seconds_each
        if n < 0 or not math.isfinite(n):
            raise Bad(f"must be 0 or more {unit}, got {show(raw)}")
        return n

    return check


minutes = _in_units("minutes", 60, "90s or 10m")
hours = _in_units("hours", 3600, "90m or 4h")


# --- files -----------------------------------------------------------------------------------------


def path(raw: Any, at: Place) -> Path:
    if not isinstance(raw, str):
        raise Bad(f"expected a file path, got {show(raw)}")
    p = Path(raw.strip()).expanduser()
    return p if p.is_absolute() else at.base_dir / p


def state_file(raw: Any, at: Place) -> Path:
    p = path(raw, at)
    if p.is_dir():
        raise Bad(f"{p} is a folder; name a file in it, e.g. {p / 'state.sqlite'}")
    return p


def existing_file(raw: Any, at: Place) -> Path:
    p = path(raw, at)
    if not p.is_file():
        raise Bad(f"file {p} does not exist (leave `{at.key}` out to use the bundled default)")
    return p


def credentials(raw: Any, at: Place) -> str:
    if isinstance(raw, str) and raw.strip().lower() == "anonymous":
        return "anonymous"
    p = path(raw, at)
    if not p.is_file():
        raise Bad(f"file {p} does not exist (download a service-account JSON key from Google Cloud "
                  f"console → IAM → Service accounts → Keys)")
    return str(p)


_ITEM_KEYS = ("gtd", "rnpt", "country", "weight")
_ABSENT = ("absent", "none", "нет")


def items(raw: Any, at: Place) -> tuple[tuple[str, ItemDefaults], ...]:
    """``items:`` offer id -> its item data (see sync.fbs.ItemDefaults)."""
    if not isinstance(raw, dict):
        raise Bad(f"expected offer ids, each with gtd / rnpt / country / weight (like `TSH-M: {{country: CN}}`), "
                  f"got {show(raw)}")
    out: list[tuple[str, ItemDefaults]] = []
    for offer, data in raw.items():
        if not isinstance(data, dict):
            raise Bad(f"{offer}: expected a mapping of {', '.join(_ITEM_KEYS)}, got {show(data)}")
        unknown = [k for k in data if k not in _ITEM_KEYS]
        if unknown:
            near = difflib.get_close_matches(str(unknown[0]), _ITEM_KEYS, n=1)
            raise Bad(f"{offer}: unknown key {unknown[0]!r}" + (f" (did you mean {near[0]}?)" if near else "")
                      + f"; allowed: {', '.join(_ITEM_KEYS)}")
        values: dict[str, Any] = {}
        for name in ("gtd", "rnpt"):
            if name in data:
                value = str(data[name]).strip()
                if not value:
                    raise Bad(f"{offer}.{name}: empty; write the number, or `absent` if the product has none")
                if value.lower() in _ABSENT:
                    values[f"{name}_absent"] = True
                else:
                    values[name] = value
        if "country" in data:
            iso = str(data["country"]).strip().upper()
            if not re.fullmatch(r"[A-Z]{2}", iso):
                raise Bad(f"{offer}.country: {show(data['country'])} is not a two-letter country code (like CN, RU)")
            values["country"] = iso
        if "weight" in data:
            raw_kg = data["weight"]
            kg = _number(raw_kg.replace(",", ".") if isinstance(raw_kg, str) else raw_kg)
            if kg is None or kg <= 0:
                raise Bad(f"{offer}.weight: expected the weight of one unit in kilograms (like 0.45), "
                          f"got {show(data['weight'])}")
            values["weight"] = kg
        out.append((str(offer), ItemDefaults(**values)))
    return tuple(out)
