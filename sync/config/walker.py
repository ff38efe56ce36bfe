"""One generic pass over a config section: each dataclass field declares its key (``key(...)``: the
check, the default, whether it is required, a help line); :class:`Walker` reads a section's mapping
by those declarations, records every problem with its full key path (an unknown key with a "did you
mean", a value its check refuses, a required key left out) and builds the dataclass when all is well.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from sync.config.checks import Bad, Check, Place, show

T = TypeVar("T")
Required = bool | Callable[[Mapping[str, Any], Place], bool]


class _Invalid:
    """Stands for a value that is wrong; its problem is already recorded."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID: Any = _Invalid()


@dataclass(frozen=True)
class Key:
    """How one dataclass field is read from the file."""

    check: Check | None = None  # turns the raw value into the field's value, or raises Bad
    help: str = ""  # what the key is; shown when a required key is missing
    required: Required = False  # or a function of the values read before it (and the place)
    name: str | None = None  # the key in the file, when it is not the field's name
    group: str | None = None  # the mapping inside the section that holds it (a view's `filter:`)
    section: type | None = None  # the value is a section of its own (a mapping with its own keys)
    items: type | None = None  # a list of such sections, read by the caller
    internal: bool = False  # not in the file at all

    def file_name(self, f: dataclasses.Field[Any]) -> str:
        return self.name or f.name


def key(check: Check | None = None, help: str = "", *, default: Any = MISSING,
        factory: Callable[[], Any] | None = None, **how: Any) -> Any:
    """A dataclass field read from the config file (see :class:`Key` for ``how``)."""
    meta = {"key": Key(check, help, **how)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def key_of(f: dataclasses.Field[Any]) -> Key:
    k = f.metadata.get("key")
    return k if isinstance(k, Key) else Key(internal=True)


def file_keys(cls: type) -> list[str]:
    """The keys a section may hold, in the order of its fields (a group by its name)."""
    return list(dict.fromkeys(key_of(f).group or key_of(f).file_name(f) for f in fields(cls) if not key_of(f).internal))


Rule = Callable[[dict[str, Any], str, "Walker"], None]
RULES: dict[type, Rule] = {}


def rule(cls: type) -> Callable[[Rule], Rule]:
    """Register a check across a section's keys, run on the values read (INVALID where one failed)."""

    def register(fn: Rule) -> Rule:
        RULES[cls] = fn
        return fn

    return register


def join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Walker:
    """Collects the problems of one config file; ``sections`` (name → dataclass) are the top-level
    sections, for the hint when a key sits in the wrong one."""

    def __init__(self, base_dir: Path, env: Mapping[str, str], sections: Mapping[str, type]):
        self.base_dir = base_dir
        self.env = env
        self.sections = dict(sections)
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{key}: {text}" if key else text)

    def place(self, key: str) -> Place:
        return Place(key, self.base_dir, self.env)

    # --- ${VAR} ------------------------------------------------------------------------------------

    def interpolate(self, value: Any, key: str) -> Any:
        """Every string's ``${VAR}`` / ``${VAR:-default}`` replaced; INVALID where one cannot be."""
        if isinstance(value, dict):
            return {k: self.interpolate(v, join(key, k)) for k, v in value.items()}
        if isinstance(value, list):
            items = [self.interpolate(v, f"{key}[{i}]") for i, v in enumerate(value)]
            return INVALID if any(i is INVALID for i in items) else items
        if isinstance(value, str) and "$" in value:
            return self._substitute(value, key)
        return value

    def _substitute(self, text: str, key: str) -> Any:
        failed = False

        def repl(m: re.Match[str]) -> str:
            nonlocal failed
            if m.group(0) == "$$":
                return "$"
            body = m.group(1)
            if body is None:
                self.problem(key, "a `${` is not closed with `}` (write `$$` for a literal $)")
                failed = True
                return ""
            name, sep, default = body.partition(":-")
            if not _NAME.fullmatch(name):
                self.problem(key, f"`${{{body}}}` is not a valid reference; use ${{NAME}} or ${{NAME:-default}}")
                failed = True
                return ""
            got = self.env.get(name)
            if sep:
                return got if got else default
            if got is None:
                self.problem(key, f"environment variable {name} is not set")
                failed = True
                return ""
            return got

        out = _REF.sub(repl, text)
        return INVALID if failed else out

    # --- keys --------------------------------------------------------------------------------------

    def unknown_keys(self, data: Mapping[Any, Any], known: list[str], prefix: str) -> None:
        for k in data:
            if str(k) in known:
                continue
            hint = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
            if hint:
                self.problem(join(prefix, k), f"unknown key; did you mean {join(prefix, hint[0])}?")
                continue
            elsewhere = [join(s, k) for s, cls in self.sections.items() if s != prefix and str(k) in file_keys(cls)]
            if elsewhere:
                self.problem(join(prefix, k), f"unknown key here; did you mean {elsewhere[0]}?")
            else:
                self.problem(join(prefix, k), f"unknown key (known keys: {', '.join(known)})")

    def mapping(self, raw: Any, at: str) -> dict[Any, Any] | None:
        """``raw`` when it is a mapping; None (reported) when it is not."""
        if isinstance(raw, dict):
            return raw
        if raw is not INVALID:
            self.problem(at, f"expected a mapping of keys (like `{at.rsplit('.', 1)[-1]}:` followed by indented "
                             f"`key: value` lines), got {show(raw)}")
        return None

    def missing(self, at: str, why: str) -> Any:
        self.problem(at, f"is required ({why})" if why else "is required")
        return INVALID

    def take(self, data: Mapping[Any, Any], name: str, at: str, check: Check, required: bool, why: str = "") -> Any:
        """One key's value: None when absent (reported when required), INVALID when wrong."""
        raw = data.get(name)
        if raw is INVALID or (isinstance(raw, dict) and any(v is INVALID for v in raw.values())):
            return INVALID  # its ${VAR} problem is already recorded
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self.missing(at, why) if required else None
        try:
            return check(raw, self.place(at))
        except Bad as bad:
            self.problem(at, str(bad))
            return INVALID

    # --- sections ----------------------------------------------------------------------------------

    def section(self, cls: Callable[..., T], raw: Any, at: str, *,
                overrides: Mapping[str, Key] | None = None) -> T | Any:
        """A section from its mapping (an absent one as an empty mapping); INVALID when it is wrong."""
        data = {} if raw is None else self.mapping(raw, at)
        if data is None:
            return INVALID
        return self.build(cls, self.values(cls, data, at, overrides=overrides))

    def values(self, cls: Any, data: Mapping[Any, Any], at: str, *,
               readers: Mapping[str, Callable[[dict[str, Any]], Any]] | None = None,
               overrides: Mapping[str, Key] | None = None) -> dict[str, Any]:
        """Each field's value read from ``data`` (None: absent, INVALID: wrong), then the section's rule.
        ``overrides`` declare fields anew; ``readers`` read the fields they name, given the values before."""
        readers = readers or {}
        declared = [(f, (overrides or {}).get(f.name) or key_of(f)) for f in fields(cls)]
        declared = [(f, k) for f, k in declared if not k.internal]
        self.unknown_keys(data, list(dict.fromkeys(k.group or k.file_name(f) for f, k in declared)), at)
        groups = {name: self._group(data.get(name), join(at, name), [k.file_name(f) for f, k in declared
                                                                     if k.group == name])
                  for name in dict.fromkeys(k.group for _, k in declared if k.group)}
        values: dict[str, Any] = {}
        for f, k in declared:
            if f.name in readers:
                values[f.name] = readers[f.name](values)
            elif k.items is None:  # a list of sections is read by the caller
                source = groups[k.group] if k.group else data
                where = join(join(at, k.group) if k.group else at, k.file_name(f))
                values[f.name] = INVALID if source is None else self._read(f, k, source, where, values)
        check_across = RULES.get(cls)
        if check_across is not None:
            check_across(values, at, self)
        return values

    def _group(self, raw: Any, at: str, known: list[str]) -> Mapping[Any, Any] | None:
        """A mapping of some of a section's keys (a view's ``filter:``); None (reported) when not a mapping."""
        data = {} if raw is None else self.mapping(raw, at)
        if data is not None:
            self.unknown_keys(data, known, at)
        return data

    def _read(self, f: dataclasses.Field[Any], k: Key, source: Mapping[Any, Any], at: str,
              before: Mapping[str, Any]) -> Any:
        raw = source.get(k.file_name(f))
        if k.section is None:
            assert k.check is not None, f"{f.name} has neither a check nor a section"
            required = k.required(before, self.place(at)) if callable(k.required) else k.required
            return self.take(source, k.file_name(f), at, k.check, required, k.help)
        if raw is None and (f.default is not MISSING or f.default_factory is not MISSING):
            return None
        if raw is None and k.required:
            return self.missing(at, k.help)
        return self.section(k.section, raw, at)

    @staticmethod
    def build(cls: Callable[..., T], values: Mapping[str, Any]) -> T | Any:
        """The dataclass from the values given (the rest default); INVALID when one of them is."""
        if any(v is INVALID for v in values.values()):
            return INVALID
        return cls(**{k: v for k, v in values.items() if v is not None})
