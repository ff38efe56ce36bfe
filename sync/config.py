"""The config file: YAML with ``${VAR}`` interpolation, validated into frozen dataclasses.

Reading goes in two passes. First every string value has its ``${VAR}`` / ``${VAR:-default}``
references replaced from the environment (``$$`` is a literal ``$``). Then each section is checked
key by key; every problem is collected with its key path (``ozon.client_id: ...``) and they are
raised together as one :class:`~sync.errors.ConfigError`, so a person fixes the file in one go.

Only the stable-contract keys are required (``ozon.client_id``, ``ozon.api_key``, ``ozon.base_url``,
``spreadsheet.backend``, ``spreadsheet.worksheet``, ``spreadsheet.path`` for Excel, ``state``);
everything else has the default shown in the dataclasses below and in config.example.yaml.
Relative paths resolve against the folder of the config file. Durations are seconds when given
as numbers, or strings such as ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from sync.errors import ConfigError

T = TypeVar("T")

CLIENT_ID_HINT = "the numeric Client-Id from Ozon Seller → Settings → Seller API"
OZON_RPS_LIMIT = 50.0  # Ozon's limit per Client-Id, shared with every other tool the seller runs
MIN_EVERY = 5.0
SCHEMES = ("fbs", "rfbs", "fbo")
BACKENDS = ("excel", "google")
LANGUAGES = ("ru", "en")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
EXCEL_SHEET_FORBIDDEN = set("[]:*?/\\")

# Keys kept for features that are designed but not built; accepting them silently would make
# people believe they work.
RESERVED: dict[str, str] = {}
ALERT_SECURITY = ("starttls", "ssl", "none")
SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass(frozen=True)
class OzonConfig:
    client_id: str
    api_key: str
    base_url: str
    account: str = "main"  # id carried in state keys
    schemes: tuple[str, ...] = ("fbs", "rfbs")
    lookback_days: int = 30
    rps: float = 20.0  # our request budget per Client-Id (Ozon allows 50 shared with the seller's other tools)
    timeout: float = 15.0
    full_every: float = 300.0  # seconds between full scans of the unfulfilled list
    returns: bool = False  # mirror returns (FBS and FBO) into their own read-only tab
    mirror_every: float = 600.0  # seconds between refreshes of the read-only FBO / returns tabs

    def __repr__(self) -> str:
        # The Api-Key must not reach a log or a traceback through repr(config).
        return (
            f"OzonConfig(client_id={self.client_id!r}, api_key='***', base_url={self.base_url!r}, "
            f"account={self.account!r}, schemes={self.schemes!r}, lookback_days={self.lookback_days!r}, "
            f"rps={self.rps!r}, timeout={self.timeout!r}, full_every={self.full_every!r}, "
            f"returns={self.returns!r}, mirror_every={self.mirror_every!r})"
        )


@dataclass(frozen=True)
class SpreadsheetConfig:
    backend: str  # "excel" | "google"
    worksheet: str
    path: Path | None = None  # excel
    spreadsheet: str | None = None  # google: key or URL
    credentials: str | None = None  # google: service-account JSON path, or "anonymous"
    api_endpoint: str | None = None  # google: default Google's
    lock_wait: float = 10.0  # excel: seconds a one-shot command waits for a lock file to go
    protect: bool = False  # sheet protection (blocks sorting and deleting rows)
    editors: tuple[str, ...] = ()
    archive_after_days: int = 14
    timeout: float = 30.0  # google: seconds to wait for one answer from the Sheets API
    fbo_worksheet: str | None = None  # read-only FBO tab; None = «FBO»
    returns_worksheet: str | None = None  # read-only returns tab; None = «Возвраты» (English mapping: «Returns»)


@dataclass(frozen=True)
class ViewConfig:
    """An operator's own spreadsheet: the postings its filter matches, and only those (DESIGN §7)."""

    name: str
    spreadsheet: SpreadsheetConfig
    warehouses: tuple[str, ...] = ()  # Posting.warehouse names, any case
    delivery_methods: tuple[str, ...] = ()  # Posting.delivery_method names, any case
    accounts: tuple[str, ...] = ()  # account ids
    mapping: Path | None = None  # its own column mapping; None = the main mapping (or `columns`)
    columns: tuple[str, ...] = ()  # fields of the main mapping to show; () = all of them
    editors: tuple[str, ...] = ()  # Google: who may edit the protected ranges

    def matches(self, warehouse: str, delivery_method: str, account: str) -> bool:
        """Every criterion given must hold; within one, any name."""
        return ((not self.warehouses or fold_name(warehouse) in {fold_name(w) for w in self.warehouses})
                and (not self.delivery_methods
                     or fold_name(delivery_method) in {fold_name(d) for d in self.delivery_methods})
                and (not self.accounts or account in self.accounts))


def fold_name(text: str) -> str:
    """A warehouse or delivery method name as views compare it: any case, runs of spaces as one."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class SyncOptions:
    hold_minutes: float = 10.0
    ship_retries: int = 2
    settle_seconds: float = 120.0
    verify_wait: float = 5.0


@dataclass(frozen=True)
class ScheduleConfig:
    every: float = 30.0


@dataclass(frozen=True)
class PrivacyConfig:
    customer_data: bool = False
    purge_after_days: int = 7


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"
    file: Path | None = None


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    timeout: float = 10.0
    retries: int = 2  # more tries after the first, on a dropped connection, a timeout, 429 or 5xx
    headers: tuple[tuple[str, str], ...] = ()  # e.g. (("Authorization", "Bearer ..."),)

    def __repr__(self) -> str:
        # The URL's path and the header values may hold tokens (a Slack webhook's path is one).
        return (f"WebhookConfig(url={url_origin(self.url)!r}/..., timeout={self.timeout!r}, retries={self.retries!r}, "
                f"headers={[name for name, _ in self.headers]!r})")


@dataclass(frozen=True)
class EmailConfig:
    host: str
    sender: str  # `from:` in the file
    to: tuple[str, ...]
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    def __repr__(self) -> str:
        return (f"EmailConfig(host={self.host!r}, port={self.port!r}, security={self.security!r}, "
                f"username={self.username!r}, password={'***' if self.password else None}, sender={self.sender!r}, "
                f"to={self.to!r}, timeout={self.timeout!r})")


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = True
    unpacked_hours: float = 4.0  # alert when a posting is still awaiting packaging this close to its deadline
    key_expiry_days: int = 14  # alert when the Api-Key expires within this many days
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None

    def secrets(self) -> list[str]:
        """Values that must never reach a log: header values, the SMTP password, the webhook URL's path."""
        out: list[str] = []
        if self.webhook is not None:
            for _, value in self.webhook.headers:
                out += dict.fromkeys([value, value.split()[-1]] if value.strip() else [])  # "Bearer TOKEN": TOKEN too
            path = self.webhook.url[len(url_origin(self.webhook.url)):]
            if len(path) > 1:
                out.append(path)
        if self.email is not None and self.email.password:
            out.append(self.email.password)
        return out


def url_origin(url: str) -> str:
    m = re.match(r"[a-z]+://[^/?#]+", url)
    return m.group(0) if m else url


@dataclass(frozen=True)
class Config:
    ozon: OzonConfig
    spreadsheet: SpreadsheetConfig
    state: Path
    mapping: Path | None = None  # None = the packaged default mapping
    statuses: Path | None = None  # None = the packaged default statuses
    language: str | None = None  # "ru" / "en"; None = the mapping's language
    timezone: str = "Europe/Moscow"
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    sync: SyncOptions = field(default_factory=SyncOptions)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    source: Path | None = None  # the config file this came from
    # Every Ozon account, the first being the default one; `ozon` is that first one. A config with
    # only `ozon:` has that one account here.
    accounts: tuple[OzonConfig, ...] = ()
    views: tuple[ViewConfig, ...] = ()  # operators' spreadsheets; a posting goes to the first view it matches

    def __post_init__(self) -> None:
        if not self.accounts:
            object.__setattr__(self, "accounts", (self.ozon,))

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """What must never reach a log or an alert: every Api-Key and the alert channels' secrets."""
        return [*(oz.api_key for oz in self.accounts), *self.alerts.secrets()]


# The sections a config file may hold, and which dataclass each one fills.
SECTIONS: dict[str, type] = {
    "ozon": OzonConfig,
    "spreadsheet": SpreadsheetConfig,
    "schedule": ScheduleConfig,
    "privacy": PrivacyConfig,
    "sync": SyncOptions,
    "logging": LoggingConfig,
    "alerts": AlertsConfig,
}
TOP_LEVEL_KEYS = ("ozon", "accounts", "spreadsheet", "views", "state", "mapping", "statuses", "language", "timezone",
                  "schedule", "privacy", "sync", "logging", "alerts")
WEBHOOK_KEYS = ("url", "timeout", "retries", "headers")
EMAIL_KEYS = ("host", "port", "security", "username", "password", "from", "to", "timeout")


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
    v = _Validator(Path(base_dir), env)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected keys such as `ozon:` and `spreadsheet:` at the top level, "
                          f"got {_show(data)}")
    data = v.interpolate(data, "")
    cfg = v.config(data, source)
    if v.problems or cfg is None:
        raise ConfigError(v.problems)
    return cfg


# ---------------------------------------------------------------------------------------------
# Interpolation

_REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Invalid:
    """Stands for a value whose interpolation failed; its problem is already recorded."""

    def __repr__(self) -> str:
        return "<invalid>"


INVALID: _Invalid = _Invalid()


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def _parse_duration(value: object) -> float | None:
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


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds:g}s"


class _Validator:
    def __init__(self, base_dir: Path, env: Mapping[str, str]):
        self.base_dir = base_dir
        self.env = env
        self.problems: list[str] = []

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{key}: {text}" if key else text)

    # --- interpolation ---------------------------------------------------------------------

    def interpolate(self, value: Any, key: str) -> Any:
        if isinstance(value, dict):
            return {k: self.interpolate(v, _join(key, k)) for k, v in value.items()}
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

    # --- building blocks -------------------------------------------------------------------

    def section(self, data: dict[str, Any], name: str) -> dict[str, Any] | None:
        """The mapping under ``name`` with unknown keys reported; None when it is absent or not a mapping."""
        raw = data.get(name)
        if raw is None or raw is INVALID:
            return None
        if not isinstance(raw, dict):
            self.problem(name, f"expected a mapping of keys (like `{name}:` followed by indented "
                               f"`key: value` lines), got {_show(raw)}")
            return None
        self.unknown_keys(raw, [f.name for f in fields(SECTIONS[name])], name)
        return raw

    def unknown_keys(self, data: dict[str, Any], known: list[str], prefix: str) -> None:
        for k in data:
            if str(k) in known:
                continue
            path = _join(prefix, k)
            if not prefix and str(k) in RESERVED:
                self.problem(path, f"is not supported yet ({RESERVED[str(k)]}); remove it")
                continue
            hint = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
            if hint:
                self.problem(path, f"unknown key; did you mean {_join(prefix, hint[0])}?")
                continue
            elsewhere = [_join(s, str(k)) for s, cls in SECTIONS.items()
                         if s != prefix and str(k) in {f.name for f in fields(cls)}]
            if elsewhere:
                self.problem(path, f"unknown key here; did you mean {elsewhere[0]}?")
            else:
                self.problem(path, f"unknown key (known keys: {', '.join(known)})")

    def take(self, data: dict[str, Any] | None, name: str, prefix: str, check: Callable[[Any, str], T],
             *, required: str | None = None) -> T | _Invalid | None:
        """Check one key. None means absent (reported when ``required`` says why it is needed)."""
        key = _join(prefix, name)
        raw = None if data is None else data.get(name)
        if isinstance(raw, _Invalid):
            return raw
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required is not None:
                self.problem(key, f"is required ({required})")
                return INVALID
            return None
        try:
            return check(raw, key)
        except _Bad as bad:
            self.problem(key, str(bad))
            return INVALID

    # --- the file --------------------------------------------------------------------------

    def config(self, data: dict[str, Any], source: Path | None) -> Config | None:
        self.unknown_keys(data, list(TOP_LEVEL_KEYS), "")
        accounts: tuple[OzonConfig, ...] | None = None
        if data.get("accounts") is not None and data.get("ozon") is not None:
            self.problem("accounts", "give either `ozon:` (one account) or `accounts:` (a list of accounts, "
                                     "each with an `id`), not both; move the `ozon:` keys into an entry of `accounts:`")
            ozon = None
        elif data.get("accounts") is not None:
            accounts = self.accounts(data["accounts"])
            ozon = accounts[0] if accounts else None
        else:
            ozon = self.ozon(self.section(data, "ozon"))
        sheet = self.spreadsheet(self.section(data, "spreadsheet"))
        state = self.take(data, "state", "", self.path, required="the SQLite state file, e.g. .ozon-sync/state.sqlite")
        if isinstance(state, Path) and state.is_dir():
            self.problem("state", f"{state} is a folder; name a file in it, e.g. {state / 'state.sqlite'}")
        mapping = self.take(data, "mapping", "", self.existing_file)
        statuses = self.take(data, "statuses", "", self.existing_file)
        language = self.take(data, "language", "", _choice(LANGUAGES, lower=True))
        timezone = self.take(data, "timezone", "", _timezone)
        schedule = self.fill(ScheduleConfig, self.section(data, "schedule"), "schedule",
                             every=lambda s: self.take(s, "every", "schedule", _duration(minimum=MIN_EVERY)))
        privacy = self.fill(PrivacyConfig, self.section(data, "privacy"), "privacy",
                            customer_data=lambda s: self.take(s, "customer_data", "privacy", _boolean),
                            purge_after_days=lambda s: self.take(s, "purge_after_days", "privacy",
                                                                 _integer(minimum=0)))
        sync = self.fill(SyncOptions, self.section(data, "sync"), "sync",
                         hold_minutes=lambda s: self.take(s, "hold_minutes", "sync", _minutes),
                         ship_retries=lambda s: self.take(s, "ship_retries", "sync", _integer(minimum=0)),
                         settle_seconds=lambda s: self.take(s, "settle_seconds", "sync", _duration(minimum=0)),
                         verify_wait=lambda s: self.take(s, "verify_wait", "sync", _duration(minimum=0)))
        logs = self.fill(LoggingConfig, self.section(data, "logging"), "logging",
                         level=lambda s: self.take(s, "level", "logging", _choice(LOG_LEVELS, upper=True)),
                         file=lambda s: self.take(s, "file", "logging", self.path))
        views = self.views(data.get("views"), sheet, accounts or ((ozon,) if ozon else ()))
        alerts = self.alerts(self.section(data, "alerts"))
        if self.problems or ozon is None or sheet is None or not isinstance(state, Path):
            return None
        given: dict[str, Any] = {"mapping": mapping, "statuses": statuses, "language": language,
                                 "timezone": timezone}
        return Config(ozon=ozon, spreadsheet=sheet, state=state, schedule=schedule or ScheduleConfig(),
                      privacy=privacy or PrivacyConfig(), sync=sync or SyncOptions(),
                      logging=logs or LoggingConfig(), alerts=alerts or AlertsConfig(), source=source,
                      accounts=accounts or (ozon,), views=views,
                      **{k: v for k, v in given.items() if v is not None})

    def fill(self, cls: Callable[..., T], data: dict[str, Any] | None, name: str,
             **checks: Callable[[dict[str, Any] | None], object]) -> T | None:
        values = {k: check(data) for k, check in checks.items()}
        if any(v is INVALID for v in values.values()):
            return None
        return cls(**{k: v for k, v in values.items() if v is not None})

    def accounts(self, raw: Any) -> tuple[OzonConfig, ...] | None:
        """``accounts:``: a list of entries shaped like ``ozon:`` plus a unique ``id``."""
        if raw is INVALID:
            return None
        if not isinstance(raw, list) or not raw:
            self.problem("accounts", f"expected a list of accounts (`- id: shop1` followed by client_id, api_key, "
                                     f"base_url ...), got {_show(raw)}")
            return None
        out: list[OzonConfig] = []
        ids: dict[str, str] = {}
        clients: dict[str, str] = {}
        ok = True
        known = ["id", *(f.name for f in fields(OzonConfig) if f.name != "account")]
        for i, entry in enumerate(raw):
            p = f"accounts[{i}]"
            if not isinstance(entry, dict):
                self.problem(p, f"expected `id`, `client_id`, `api_key`, `base_url` ... of one account, "
                                f"got {_show(entry)}")
                ok = False
                continue
            for k in entry:
                if str(k) == "account":
                    self.problem(_join(p, k), "in `accounts:` the account's name is its `id`; rename the key to id")
                elif str(k) not in known:
                    hint = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
                    self.problem(_join(p, k), f"unknown key; did you mean {_join(p, hint[0])}?" if hint
                                 else f"unknown key (known keys: {', '.join(known)})")
            acc = self.take(entry, "id", p, _account, required='a short name shown in the sheet, e.g. "shop1"')
            cfg = self.ozon(entry, p)
            if isinstance(acc, str):
                if acc in ids:
                    self.problem(f"{p}.id", f"{acc!r} is already the id of {ids[acc]}; each account needs its own id")
                    ok = False
                ids.setdefault(acc, p)
            if cfg is None or not isinstance(acc, str):
                ok = False
                continue
            if cfg.client_id in clients:
                self.problem(f"{p}.client_id", f"the same Client-Id as {clients[cfg.client_id]}; list each Ozon "
                                               f"account once")
                ok = False
            clients.setdefault(cfg.client_id, p)
            if i > 0 and ("fbo" in cfg.schemes or cfg.returns):
                self.problem(f"{p}.schemes" if "fbo" in cfg.schemes else f"{p}.returns",
                             "the read-only FBO and returns tabs are filled from the first account only; "
                             "remove fbo / returns here, or list this account first")
                ok = False
            out.append(dataclasses.replace(cfg, account=acc))
        return tuple(out) if ok else None

    def ozon(self, data: dict[str, Any] | None, p: str = "ozon") -> OzonConfig | None:
        values: dict[str, Any] = {
            "client_id": self.take(data, "client_id", p, _client_id, required=CLIENT_ID_HINT),
            "api_key": self.take(data, "api_key", p, _secret,
                                 required="the Api-Key from Ozon Seller → Settings → Seller API; "
                                          'write it as "${OZON_API_KEY}" and set that variable'),
            "base_url": self.take(data, "base_url", p, _url, required="normally https://api-seller.ozon.ru"),
            "account": self.take(data, "account", p, _account) if p == "ozon" else None,
            "schemes": self.take(data, "schemes", p, _schemes),
            "lookback_days": self.take(data, "lookback_days", p, _integer(minimum=1)),
            "rps": self.take(data, "rps", p, _rps),
            "timeout": self.take(data, "timeout", p, _duration(minimum=0, strict=True)),
            "full_every": self.take(data, "full_every", p, _duration(minimum=0)),
            "returns": self.take(data, "returns", p, _boolean),
            "mirror_every": self.take(data, "mirror_every", p, _duration(minimum=MIN_EVERY)),
        }
        if any(v is INVALID for v in values.values()):
            return None
        return OzonConfig(**{k: v for k, v in values.items() if v is not None})

    def views(self, raw: Any, main: SpreadsheetConfig | None,
              accounts: tuple[OzonConfig, ...]) -> tuple[ViewConfig, ...]:
        """``views:``: each an operator's spreadsheet with a filter; checked against the main one and each other."""
        if raw is None or raw is INVALID:
            return ()
        if not isinstance(raw, list):
            self.problem("views", f"expected a list of views (`- name: ...` with filter and spreadsheet), "
                                  f"got {_show(raw)}")
            return ()
        out: list[ViewConfig] = []
        names: dict[str, str] = {}
        files: dict[str, str] = {}
        if main is not None:
            files[_sheet_id(main)] = "spreadsheet"
        ids = [a.account for a in accounts]
        for i, entry in enumerate(raw):
            p = f"views[{i}]"
            if not isinstance(entry, dict):
                self.problem(p, f"expected `name`, `filter` and `spreadsheet` of one view, got {_show(entry)}")
                continue
            self.unknown_keys(entry, ["name", "filter", "spreadsheet", "mapping", "columns", "editors"], p)
            name = self.take(entry, "name", p, _text, required="a short name for the view, e.g. «Софьино»")
            if isinstance(name, str):
                if name in names:
                    self.problem(f"{p}.name", f"{name!r} is already the name of {names[name]}; each view needs its own")
                names.setdefault(name, p)
            flt = entry.get("filter")
            criteria: dict[str, Any] = {}
            if isinstance(flt, dict):
                self.unknown_keys(flt, ["warehouses", "delivery_methods", "accounts"], f"{p}.filter")
                for k in ("warehouses", "delivery_methods", "accounts"):
                    criteria[k] = self.take(flt, k, f"{p}.filter", _names)
            if not any(isinstance(v, tuple) and v for v in criteria.values()) \
                    and not any(isinstance(v, _Invalid) for v in criteria.values()):
                self.problem(f"{p}.filter", "give at least one of warehouses, delivery_methods, accounts (names as "
                                            "the Склад / Доставка / Аккаунт columns show them)")
            accs = criteria.get("accounts")
            wrong = [a for a in accs if a not in ids] if isinstance(accs, tuple) else []
            if wrong:
                self.problem(f"{p}.filter.accounts", f"no account {', '.join(map(repr, wrong))}; the accounts are "
                                                     f"{', '.join(ids) or 'not valid yet'}")
                criteria["accounts"] = INVALID
            sheet = None
            if not isinstance(entry.get("spreadsheet"), dict):
                self.problem(f"{p}.spreadsheet", "is required: the view's own workbook (path) or Google spreadsheet; "
                                                 "a tab hides nothing from whoever has the file")
            else:
                self.unknown_keys(entry["spreadsheet"], [f.name for f in fields(SpreadsheetConfig)], f"{p}.spreadsheet")
                sheet = self.spreadsheet(entry["spreadsheet"], f"{p}.spreadsheet")
            if sheet is not None:
                ident = _sheet_id(sheet)
                if ident in files:
                    what = "workbook" if sheet.backend == "excel" else "spreadsheet"
                    self.problem(f"{p}.spreadsheet", f"is the same {what} as {files[ident]}; a view needs its own "
                                                     f"file, because whoever has a file sees every tab in it")
                files.setdefault(ident, f"{p}.spreadsheet")
            mapping = self.take(entry, "mapping", p, self.existing_file)
            columns = self.take(entry, "columns", p, _names)
            if mapping is not None and columns is not None and not isinstance(mapping, _Invalid) \
                    and not isinstance(columns, _Invalid):
                self.problem(f"{p}.columns", "give either `mapping` (a mapping file) or `columns` (fields), not both")
            editors = self.take(entry, "editors", p, _editors)
            if isinstance(editors, tuple) and editors and sheet is not None and sheet.backend == "excel":
                self.problem(f"{p}.editors", "only a Google spreadsheet has protected ranges with editors; for Excel "
                                             "give each operator only their own workbook")
            values = [name, sheet, mapping, columns, editors, *criteria.values()]
            if any(isinstance(v, _Invalid) for v in values) or not isinstance(name, str) or sheet is None \
                    or not any(criteria.values()):
                continue
            out.append(ViewConfig(
                name=name, spreadsheet=sheet, warehouses=criteria.get("warehouses") or (),
                delivery_methods=criteria.get("delivery_methods") or (), accounts=criteria.get("accounts") or (),
                mapping=mapping if isinstance(mapping, Path) else None,
                columns=columns if isinstance(columns, tuple) else (),
                editors=editors if isinstance(editors, tuple) else (),
            ))
        return tuple(out)

    def spreadsheet(self, data: dict[str, Any] | None, p: str = "spreadsheet") -> SpreadsheetConfig | None:
        backend = self.take(data, "backend", p, _choice(BACKENDS, lower=True), required="excel or google")
        values: dict[str, Any] = {
            "backend": backend,
            "worksheet": self.take(data, "worksheet", p, _text, required="the tab name, e.g. Заказы"),
            "path": self.take(data, "path", p, self.path,
                              required="the workbook file, e.g. orders.xlsx" if backend == "excel" else None),
            "spreadsheet": self.take(data, "spreadsheet", p, _spreadsheet_id,
                                     required="the spreadsheet key or its URL" if backend == "google" else None),
            "credentials": self.take(data, "credentials", p, self.credentials,
                                     required='the service-account JSON file (or set GOOGLE_APPLICATION_CREDENTIALS), '
                                              'or "anonymous" for the emulator'
                                     if backend == "google" and not self.env.get("GOOGLE_APPLICATION_CREDENTIALS")
                                     else None),
            "api_endpoint": self.take(data, "api_endpoint", p, _url),
            "lock_wait": self.take(data, "lock_wait", p, _duration(minimum=0)),
            "protect": self.take(data, "protect", p, _boolean),
            "editors": self.take(data, "editors", p, _editors),
            "archive_after_days": self.take(data, "archive_after_days", p, _integer(minimum=1)),
            "timeout": self.take(data, "timeout", p, _duration(minimum=0, strict=True)),
            "fbo_worksheet": self.take(data, "fbo_worksheet", p, _text),
            "returns_worksheet": self.take(data, "returns_worksheet", p, _text),
        }
        tabs = {k: values[k] for k in ("worksheet", "fbo_worksheet", "returns_worksheet") if isinstance(values[k], str)}
        for k in ("fbo_worksheet", "returns_worksheet"):
            if k in tabs and any(tabs[k].casefold() == v.casefold() for o, v in tabs.items() if o != k):
                self.problem(f"spreadsheet.{k}", f"the tab «{tabs[k]}» is already used by another key; "
                                                 f"each tab needs a name of its own")
        if backend == "excel":
            for k in ("fbo_worksheet", "returns_worksheet"):
                if k in tabs and (EXCEL_SHEET_FORBIDDEN & set(tabs[k]) or len(tabs[k]) > 31):
                    self.problem(f"spreadsheet.{k}", "an Excel tab name has at most 31 characters and "
                                                     "none of [ ] : * ? / \\")
            path, worksheet = values["path"], values["worksheet"]
            if isinstance(path, Path) and path.suffix.lower() != ".xlsx":
                self.problem(f"{p}.path", f"must be an .xlsx workbook (openpyxl reads and writes only "
                                                 f".xlsx), got {path.name!r}")
            if isinstance(worksheet, str):
                bad = sorted(EXCEL_SHEET_FORBIDDEN & set(worksheet))
                if bad or len(worksheet) > 31:
                    self.problem(f"{p}.worksheet", "an Excel tab name has at most 31 characters and "
                                                          "none of [ ] : * ? / \\")
        if any(v is INVALID for v in values.values()) or backend is None:
            return None
        return SpreadsheetConfig(**{k: v for k, v in values.items() if v is not None})

    def alerts(self, data: dict[str, Any] | None) -> AlertsConfig | None:
        p = "alerts"
        values: dict[str, Any] = {
            "enabled": self.take(data, "enabled", p, _boolean),
            "unpacked_hours": self.take(data, "unpacked_hours", p, _hours),
            "key_expiry_days": self.take(data, "key_expiry_days", p, _integer(minimum=0)),
            "webhook": self.webhook(self.subsection(data, "webhook", p, WEBHOOK_KEYS)),
            "email": self.email(self.subsection(data, "email", p, EMAIL_KEYS)),
        }
        if any(v is INVALID for v in values.values()):
            return None
        return AlertsConfig(**{k: v for k, v in values.items() if v is not None})

    def subsection(self, data: dict[str, Any] | None, name: str, prefix: str,
                   known: tuple[str, ...]) -> dict[str, Any] | _Invalid | None:
        """A mapping inside a section, with unknown keys reported; INVALID when it is not a mapping."""
        raw = None if data is None else data.get(name)
        if raw is None or raw is INVALID:
            return raw
        key = _join(prefix, name)
        if not isinstance(raw, dict):
            self.problem(key, f"expected a mapping of keys (indented `key: value` lines), got {_show(raw)}")
            return INVALID
        for k in raw:
            if str(k) not in known:
                hint = difflib.get_close_matches(str(k), known, n=1, cutoff=0.6)
                more = f"did you mean {key}.{hint[0]}?" if hint else f"known keys: {', '.join(known)}"
                self.problem(_join(key, k), f"unknown key ({more})")
        return raw

    def webhook(self, data: dict[str, Any] | _Invalid | None) -> WebhookConfig | _Invalid | None:
        if data is None or isinstance(data, _Invalid):
            return data
        p = "alerts.webhook"
        headers = data.get("headers")
        if isinstance(headers, dict) and any(v is INVALID for v in headers.values()):
            data = {**data, "headers": INVALID}  # its ${VAR} problem is already recorded
        values: dict[str, Any] = {
            "url": self.take(data, "url", p, _url, required="the address alerts are POSTed to as JSON"),
            "timeout": self.take(data, "timeout", p, _duration(minimum=0, strict=True)),
            "retries": self.take(data, "retries", p, _integer(minimum=0)),
            "headers": self.take(data, "headers", p, _headers),
        }
        if any(v is INVALID for v in values.values()):
            return INVALID
        return WebhookConfig(**{k: v for k, v in values.items() if v is not None})

    def email(self, data: dict[str, Any] | _Invalid | None) -> EmailConfig | _Invalid | None:
        if data is None or isinstance(data, _Invalid):
            return data
        p = "alerts.email"
        security = self.take(data, "security", p, _choice(ALERT_SECURITY, lower=True))
        values: dict[str, Any] = {
            "host": self.take(data, "host", p, _host, required="the SMTP server, e.g. smtp.yandex.ru"),
            "port": self.take(data, "port", p, _port),
            "security": security,
            "username": self.take(data, "username", p, _text),
            "password": self.take(data, "password", p, _secret),
            "sender": self.take(data, "from", p, _address, required="the sender address, e.g. shop@example.ru"),
            "to": self.take(data, "to", p, _addresses, required="a list of addresses to send alerts to"),
            "timeout": self.take(data, "timeout", p, _duration(minimum=0, strict=True)),
        }
        if values["password"] and not values["username"]:
            self.problem("alerts.email.password", "is set but alerts.email.username is not; set both or neither")
            return INVALID
        if any(v is INVALID for v in values.values()):
            return INVALID
        if values["port"] is None and isinstance(security, str):
            values["port"] = SMTP_PORTS[security]
        return EmailConfig(**{k: v for k, v in values.items() if v is not None})

    # --- checks that need the config folder ------------------------------------------------

    def path(self, raw: Any, key: str) -> Path:
        if not isinstance(raw, str):
            raise _Bad(f"expected a file path, got {_show(raw)}")
        p = Path(raw.strip()).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def existing_file(self, raw: Any, key: str) -> Path:
        p = self.path(raw, key)
        if not p.is_file():
            raise _Bad(f"file {p} does not exist (leave `{key}` out to use the bundled default)")
        return p

    def credentials(self, raw: Any, key: str) -> str:
        if isinstance(raw, str) and raw.strip().lower() == "anonymous":
            return "anonymous"
        p = self.path(raw, key)
        if not p.is_file():
            raise _Bad(f"file {p} does not exist (download a service-account JSON key from Google Cloud "
                       f"console → IAM → Service accounts → Keys)")
        return str(p)


class _Bad(Exception):
    """One value is wrong; the message completes ``<key>: ``."""


def _text(raw: Any, key: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _Bad(f"expected text, got {_show(raw)}")
    return str(raw).strip()


def _secret(raw: Any, key: str) -> str:
    if not isinstance(raw, str):
        raise _Bad("expected text in quotes")  # never echo what might be a key
    return raw.strip()


def _client_id(raw: Any, key: str) -> str:
    # Not quoted back: a Client-Id and an Api-Key swapped by mistake would print the key.
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not text.isdigit() or not text.isascii():
        raise _Bad(f"must be {CLIENT_ID_HINT}")
    return text


def _url(raw: Any, key: str) -> str:
    if not isinstance(raw, str) or not re.fullmatch(r"https?://[^\s/]+(/\S*)?", raw.strip()):
        raise _Bad(f"expected an http:// or https:// address, got {_show(raw)}")
    return raw.strip().rstrip("/")


def _account(raw: Any, key: str) -> str:
    text = _text(raw, key)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise _Bad(f"use only letters, digits, - and _ (it is stored with every posting), got {text!r}")
    return text


def _spreadsheet_id(raw: Any, key: str) -> str:
    text = _text(raw, key)
    m = re.search(r"/spreadsheets/d/([A-Za-z0-9_-]+)", text)
    if m:
        return m.group(1)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise _Bad(f"expected the spreadsheet key or its URL (https://docs.google.com/spreadsheets/d/KEY/...), "
                   f"got {text!r}")
    return text


def _string_list(raw: Any, key: str) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise _Bad(f"expected a list of names, got {_show(raw)}")
    return [i.strip() for i in items if i.strip()]


def _names(raw: Any, key: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_string_list(raw, key)))


def _sheet_id(sheet: SpreadsheetConfig) -> str:
    """What makes two spreadsheet sections the same file."""
    return f"excel:{sheet.path.resolve()}" if sheet.path is not None else f"google:{sheet.spreadsheet}"


def _schemes(raw: Any, key: str) -> tuple[str, ...]:
    items = [i.lower() for i in _string_list(raw, key)]
    wrong = [i for i in items if i not in SCHEMES]
    if wrong:
        raise _Bad(f"unknown scheme {', '.join(map(repr, wrong))}; choose from {', '.join(SCHEMES)} "
                   f"(fbo: FBO postings, mirrored read-only into their own tab)")
    if not items:
        raise _Bad(f"list at least one of {', '.join(SCHEMES)}")
    return tuple(dict.fromkeys(items))


def _editors(raw: Any, key: str) -> tuple[str, ...]:
    items = _string_list(raw, key)
    wrong = [i for i in items if not re.fullmatch(r"[^@\s]+@[^@\s]+", i)]
    if wrong:
        raise _Bad(f"expected e-mail addresses, got {', '.join(map(repr, wrong))}")
    return tuple(items)


def _address(raw: Any, key: str) -> str:
    text = _text(raw, key)
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", text):
        raise _Bad(f"expected an e-mail address like shop@example.ru, got {text!r}")
    return text


def _addresses(raw: Any, key: str) -> tuple[str, ...]:
    items = _string_list(raw, key)
    if not items:
        raise _Bad("list at least one e-mail address")
    return tuple(_address(i, key) for i in items)


def _host(raw: Any, key: str) -> str:
    text = _text(raw, key)
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", text):
        raise _Bad(f"expected a host name such as smtp.example.ru (no scheme, no port), got {text!r}")
    return text


def _port(raw: Any, key: str) -> int:
    n = _integer(minimum=1)(raw, key)
    if n > 65535:
        raise _Bad(f"expected a port number from 1 to 65535, got {n}")
    return n


def _headers(raw: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise _Bad(f"expected a mapping of header names to values (like `Authorization: \"Bearer ${{TOKEN}}\"`), "
                   f"got {_show(raw)}")
    out: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name):
            raise _Bad(f"{name!r} is not a valid HTTP header name")
        if name.lower() in ("content-type", "content-length", "host"):
            raise _Bad(f"header {name} is set by ozon-sync; remove it")
        if isinstance(value, bool) or not isinstance(value, str | int | float) or "\n" in str(value):
            raise _Bad(f"the value of header {name} must be one line of text")  # never echo: it may be a token
        out.append((name, str(value)))
    return tuple(out)


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


def _integer(*, minimum: int) -> Callable[[Any, str], int]:
    def check(raw: Any, key: str) -> int:
        n = _number(raw)
        if n is None or not n.is_integer():
            raise _Bad(f"expected a whole number, got {_show(raw)}")
        if n < minimum:
            raise _Bad(f"must be at least {minimum}, got {int(n)}")
        return int(n)

    return check


def _rps(raw: Any, key: str) -> float:
    n = _number(raw)
    if n is None or not math.isfinite(n):
        raise _Bad(f"expected a number of requests per second, got {_show(raw)}")
    if n <= 0:
        raise _Bad(f"must be more than 0, got {n:g}")
    if n > OZON_RPS_LIMIT:
        raise _Bad(f"Ozon allows at most {OZON_RPS_LIMIT:g} requests per second per Client-Id, shared with the "
                   f"seller's other tools; got {n:g}")
    return n


def _duration(*, minimum: float, strict: bool = False) -> Callable[[Any, str], float]:
    def check(raw: Any, key: str) -> float:
        seconds = _parse_duration(raw)
        if seconds is None:
            raise _Bad(f"expected a duration like 30s, 5m or 1h, got {_show(raw)}")
        if seconds < minimum or (strict and seconds <= minimum):
            word = "more than" if strict else "at least"
            raise _Bad(f"must be {word} {_fmt_seconds(minimum)}, got {_fmt_seconds(seconds)}")
        return seconds

    return check


def _in_units(unit: str, seconds_each: int, example: str) -> Callable[[Any, str], float]:
    """A checker for a count of ``unit`` s: a number, or a duration such as 90m (converted)."""

    def check(raw: Any, key: str) -> float:
        n = _number(raw)
        if n is None:
            seconds = _parse_duration(raw)
            if seconds is None:
                raise _Bad(f"expected a number of {unit} or a duration like {example}, got {_show(raw)}")
            n = seconds / seconds_each
        if n < 0 or not math.isfinite(n):
            raise _Bad(f"must be 0 or more {unit}, got {_show(raw)}")
        return n

    return check


_minutes = _in_units("minutes", 60, "90s or 10m")
_hours = _in_units("hours", 3600, "90m or 4h")


def _boolean(raw: Any, key: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return raw.strip().lower() in ("true", "yes", "on", "1")
    raise _Bad(f"expected true or false, got {_show(raw)}")


def _choice(options: tuple[str, ...], *, lower: bool = False, upper: bool = False) -> Callable[[Any, str], str]:
    def check(raw: Any, key: str) -> str:
        text = raw.strip() if isinstance(raw, str) else None
        if text is not None:
            text = text.lower() if lower else text.upper() if upper else text
        if text not in options:
            raise _Bad(f"expected one of {', '.join(options)}, got {_show(raw)}")
        return text

    return check


def _timezone(raw: Any, key: str) -> str:
    text = _text(raw, key)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(f"unknown time zone {text!r}; use a name like Europe/Moscow or Asia/Yekaterinburg") from None
    return text
