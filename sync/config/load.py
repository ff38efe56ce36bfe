"""Reading a config file: the YAML, then one validation pass over every section, then the checks
across sections (accounts, views, and the column mapping the config names); every problem found is
raised together as one ConfigError."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from sync.config import checks as c
from sync.config.checks import show
from sync.config.sections import SECTIONS, Config, OzonConfig, SpreadsheetConfig, ViewConfig
from sync.config.walker import INVALID, Key, Walker, join
from sync.errors import ConfigError
from sync.mapping import ACCOUNT_FIELD, PRIVATE_FIELDS, ColumnMap, load_columns
from sync.model import Owner


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file; ``env`` defaults to ``os.environ``.

    Raises ConfigError listing every problem (a missing file or invalid YAML is one problem naming the path).
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config: file {path} does not exist (pass --config FILE, or copy "
                          f"config.example.yaml there)") from None
    except IsADirectoryError:
        raise ConfigError(f"config: {path} is a folder, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: cannot read {path} ({exc})") from None
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(f"config: {path} is not valid YAML ({exc})") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError([f"config: {d} in {path}; remove one" for d in loader.duplicates])
    resolved = path.resolve()
    return config_from_dict(data, resolved.parent, os.environ if env is None else env, source=resolved)


class _Loader(yaml.SafeLoader):
    """SafeLoader that notes a key given twice in one mapping (plain PyYAML silently keeps the last),
    which happens when someone uncomments the Google lines and forgets the Excel ones."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key == "<<" or not isinstance(key, str | int | float | bool):
                continue
            if key in seen:
                self.duplicates.append(f"key `{key}` is given twice (lines {seen[key]} and {line})")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def config_from_dict(data: Any, base_dir: Path, env: Mapping[str, str], *, source: Path | None = None) -> Config:
    """Validate already-parsed YAML. Relative paths resolve against ``base_dir``."""
    w = Walker(Path(base_dir), env, SECTIONS)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected keys such as `ozon:` and `spreadsheet:` at the top level, "
                          f"got {show(data)}")
    cfg = _config(w, w.interpolate(data, ""), source)
    if w.problems or cfg is None:
        raise ConfigError(w.problems)
    return cfg


def _config(w: Walker, data: dict[str, Any], source: Path | None) -> Config | None:
    given = data.get("accounts")

    def ozon(values: dict[str, Any]) -> OzonConfig | None:
        """``ozon:`` (one account) or ``accounts:`` (several), kept in ``values["accounts"]``; the first
        account, or None when it is wrong."""
        read: list[Any] = []
        if given is not None and data.get("ozon") is not None:
            w.problem("accounts", "give either `ozon:` (one account) or `accounts:` (a list of accounts, "
                                  "each with an `id`), not both; move the `ozon:` keys into an entry of `accounts:`")
        elif given is not None:
            read = _accounts(w, given)
        else:
            read = [w.section(OzonConfig, data.get("ozon"), "ozon")]
        values["accounts"] = tuple(read) if read and INVALID not in read else None
        return read[0] if read and read[0] is not INVALID else None  # the later checks can use a good first one

    def views(values: dict[str, Any]) -> tuple[ViewConfig, ...]:
        sheet = values["spreadsheet"]
        return _views(w, data.get("views"), None if sheet is INVALID else sheet,
                      tuple(a.account for a in values["accounts"] or ()))

    values = w.values(Config, data, "", readers={"ozon": ozon, "views": views})
    _check_mappings(w, values, len(given) if isinstance(given, list) else 1)
    if w.problems or values["ozon"] is None:
        return None
    return Config(**{k: v for k, v in values.items() if v is not None}, source=source)


_ACCOUNT_ID = Key(c.account, 'a short name shown in the sheet, e.g. "shop1"', required=True, name="id")


def _accounts(w: Walker, raw: Any) -> list[Any]:
    """``accounts:``: a list of entries shaped like ``ozon:``, each named by a unique ``id``; each entry's
    OzonConfig, or INVALID where it is wrong."""
    if raw is INVALID:
        return []
    if not isinstance(raw, list) or not raw:
        w.problem("accounts", f"expected a list of accounts (`- id: shop1` followed by client_id, api_key, "
                              f"base_url ...), got {show(raw)}")
        return []
    out: list[Any] = []
    ids: dict[str, str] = {}
    clients: dict[str, str] = {}
    receives: dict[tuple[str, str], str] = {}  # (push.listen, push.path) -> the entry receiving there
    for i, entry in enumerate(raw):
        at = f"accounts[{i}]"
        if not isinstance(entry, dict):
            w.problem(at, f"expected `id`, `client_id`, `api_key`, `base_url` ... of one account, got {show(entry)}")
            out.append(INVALID)
            continue
        if "account" in entry:
            w.problem(join(at, "account"), "in `accounts:` the account's name is its `id`; rename the key to id")
            entry = {k: v for k, v in entry.items() if k != "account"}
        cfg = w.section(OzonConfig, entry, at, overrides={"account": _ACCOUNT_ID})
        out.append(cfg)
        if cfg is INVALID:
            continue
        if cfg.account in ids:
            w.problem(f"{at}.id", f"{cfg.account!r} is already the id of {ids[cfg.account]}; each account needs "
                                  f"its own id")
        ids.setdefault(cfg.account, at)
        if cfg.client_id in clients:
            w.problem(f"{at}.client_id", f"the same Client-Id as {clients[cfg.client_id]}; list each Ozon "
                                         f"account once")
        clients.setdefault(cfg.client_id, at)
        if cfg.push.listen:
            there = (cfg.push.listen, cfg.push.path)
            if there in receives:
                w.problem(f"{at}.push.path", f"{receives[there]} already receives Ozon's notifications on "
                                             f"{cfg.push.listen}{cfg.push.path}; give each account a path of its "
                                             f"own, e.g. /ozon/{cfg.account}")
            receives.setdefault(there, at)
        if i > 0 and ("fbo" in cfg.schemes or cfg.returns):
            w.problem(f"{at}.schemes" if "fbo" in cfg.schemes else f"{at}.returns",
                      "the read-only FBO and returns tabs are filled from the first account only; "
                      "remove fbo / returns here, or list this account first")
    return out


def _sheet_id(sheet: SpreadsheetConfig) -> str:
    """What makes two spreadsheet sections the same file."""
    return f"excel:{sheet.path.resolve()}" if sheet.path is not None else f"google:{sheet.spreadsheet}"


def _views(w: Walker, raw: Any, main: SpreadsheetConfig | None, ids: tuple[str, ...]) -> tuple[ViewConfig, ...]:
    """``views:``: each an operator's spreadsheet with a filter; checked against the main one and each other."""
    if raw is None or raw is INVALID:
        return ()
    if not isinstance(raw, list):
        w.problem("views", f"expected a list of views (`- name: ...` with filter and spreadsheet), got {show(raw)}")
        return ()
    out: list[ViewConfig] = []
    names: dict[str, str] = {}
    files: dict[str, str] = {} if main is None else {_sheet_id(main): "spreadsheet"}
    for i, entry in enumerate(raw):
        at = f"views[{i}]"
        if not isinstance(entry, dict):
            w.problem(at, f"expected `name`, `filter` and `spreadsheet` of one view, got {show(entry)}")
            continue
        values = w.values(ViewConfig, entry, at)
        name, sheet, accounts = values["name"], values["spreadsheet"], values["accounts"]
        if isinstance(name, str):
            if name in names:
                w.problem(f"{at}.name", f"{name!r} is already the name of {names[name]}; each view needs its own")
            names.setdefault(name, at)
        wrong = [a for a in accounts if a not in ids] if isinstance(accounts, tuple) else []
        if wrong:
            w.problem(f"{at}.filter.accounts", f"no account {', '.join(map(repr, wrong))}; the accounts are "
                                               f"{', '.join(ids) or 'not valid yet'}")
        if isinstance(sheet, SpreadsheetConfig):
            ident = _sheet_id(sheet)
            if ident in files:
                what = "workbook" if sheet.backend == "excel" else "spreadsheet"
                w.problem(f"{at}.spreadsheet", f"is the same {what} as {files[ident]}; a view needs its own file, "
                                               f"because whoever has a file sees every tab in it")
            files.setdefault(ident, f"{at}.spreadsheet")
        view = w.build(ViewConfig, values)
        if view is not INVALID:
            out.append(view)
    return tuple(out)


# --- the column mapping against the config ----------------------------------------------------------


def _check_mappings(w: Walker, values: dict[str, Any], accounts: int) -> None:
    """What the config asks of its column mappings: an account column when there are several accounts,
    the fields a view lists, read-only tabs that do not take the orders tab's name. Checked as far as
    the keys they depend on are right."""
    if INVALID in (values["mapping"], values["privacy"], values["language"]):
        return
    customer_data = values["privacy"] is not None and values["privacy"].customer_data
    main = _columns(w, values["mapping"], "mapping", accounts, customer_data)
    if main is None:
        return
    for i, view in enumerate(values["views"]):
        if view.mapping is not None:
            _columns(w, view.mapping, f"views[{i}].mapping", accounts, customer_data)
        unknown = [f for f in view.columns if main.get(f) is None]
        if unknown:
            w.problem(f"views[{i}].columns", f"no field {', '.join(map(repr, unknown))} in the mapping; "
                                             f"choose from {', '.join(col.field for col in main.columns)}")
    sp, first = values["spreadsheet"], values["ozon"]
    if first is None or not isinstance(sp, SpreadsheetConfig):
        return
    wanted = []
    if "fbo" in first.schemes:
        wanted.append(("spreadsheet.fbo_worksheet", sp.fbo_worksheet or "FBO"))
    if first.returns:
        english = (values["language"] or main.language) == "en"
        wanted.append(("spreadsheet.returns_worksheet", sp.returns_worksheet or ("Returns" if english else "Возвраты")))
    for key, title in wanted:
        if title.casefold() == sp.worksheet.casefold():
            w.problem(key, f"the read-only tab «{title}» would replace the orders tab (spreadsheet.worksheet); "
                           f"give it another name")


def _columns(w: Walker, path: Path | None, key: str, accounts: int, customer_data: bool) -> ColumnMap | None:
    """A mapping as the sheet will have it (no buyer columns without privacy.customer_data, no account
    column with one account); None when it cannot be read: its own problems are reported when it is
    loaded for the sheet."""
    try:
        columns = load_columns(path)
    except ConfigError:
        return None
    if not customer_data:
        columns = columns.without(PRIVATE_FIELDS)
    account = columns.get(ACCOUNT_FIELD)
    if accounts == 1:
        return columns.without(frozenset({ACCOUNT_FIELD}))
    if account is None:
        w.problem(key, f"with several accounts the sheet needs an account column; add "
                       f"`- {{field: {ACCOUNT_FIELD}, header: Аккаунт, owner: ozon, format: text}}` to "
                       f"{path or 'the mapping'} (the bundled mappings have it)")
    elif account.owner is not Owner.OZON:
        w.problem(key, f"the `{ACCOUNT_FIELD}` column must have owner: ozon (it is part of the key)")
    return columns
