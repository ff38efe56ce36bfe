"""The config's sections as frozen dataclasses. Each field declares its key once, with ``key(...)``:
the check its value passes, its default, whether it is required, and what it is for."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sync.config import checks as c
from sync.config.checks import CLIENT_ID_HINT, MIN_EVERY, Place
from sync.config.walker import INVALID, Walker, join, key, rule
from sync.fbs import ItemDefaults

SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
TABS = ("worksheet", "fbo_worksheet", "returns_worksheet")


def _backend_is(name: str) -> Any:
    return lambda values, at: values.get("backend") == name


def _needs_credentials(values: Mapping[str, Any], at: Place) -> bool:
    return values.get("backend") == "google" and not at.env.get("GOOGLE_APPLICATION_CREDENTIALS")


@dataclass(frozen=True)
class PushConfig:
    listen: str | None = key(c.local_address, "host:port of the receiver of Ozon's push notifications, behind your "
                                              "HTTPS reverse proxy, e.g. 127.0.0.1:8787; none = off", default=None)
    path: str = key(c.url_path, "the path of the URL you give Ozon, e.g. /ozon", default="/ozon")


@dataclass(frozen=True)
class OzonConfig:
    client_id: str = key(c.client_id, CLIENT_ID_HINT, required=True)
    api_key: str = key(c.api_key, "the Api-Key from Ozon Seller → Settings → Seller API; "
                                  'write it as "${OZON_API_KEY}" and set that variable', required=True)
    base_url: str = key(c.url, "normally https://api-seller.ozon.ru", required=True)
    account: str = key(c.account, "a short name for the account, stored with every posting", default="main")
    schemes: tuple[str, ...] = key(c.schemes, "fbs and rfbs go into the orders tab; fbo into a read-only tab",
                                   default=("fbs", "rfbs"))
    lookback_days: int = key(c.integer(minimum=1), "on the first run, fetch postings from this many days back",
                             default=30)
    rps: float = key(c.rps, "our request budget per Client-Id (Ozon allows 50, shared with the seller's "
                            "other tools)", default=20.0)
    timeout: float = key(c.duration(minimum=0, strict=True), "seconds to wait for one answer from Ozon", default=15.0)
    full_every: float = key(c.duration(minimum=0), "seconds between full re-reads of the unfulfilled postings",
                            default=300.0)
    returns: bool = key(c.boolean, "mirror returns (FBS and FBO) into their own read-only tab", default=False)
    mirror_every: float = key(c.duration(minimum=MIN_EVERY), "seconds between refreshes of the read-only FBO / "
                                                             "returns tabs", default=600.0)
    push: PushConfig = key(section=PushConfig, factory=PushConfig)

    def __repr__(self) -> str:
        # The Api-Key must not reach a log or a traceback through repr(config).
        return (
            f"OzonConfig(client_id={self.client_id!r}, api_key='***', base_url={self.base_url!r}, "
            f"account={self.account!r}, schemes={self.schemes!r}, lookback_days={self.lookback_days!r}, "
            f"rps={self.rps!r}, timeout={self.timeout!r}, full_every={self.full_every!r}, "
            f"returns={self.returns!r}, mirror_every={self.mirror_every!r}, push={self.push!r})"
        )


@dataclass(frozen=True)
class SpreadsheetConfig:
    backend: str = key(c.choice(c.BACKENDS, lower=True), "excel or google", required=True)
    worksheet: str = key(c.text, "the tab name, e.g. Заказы", required=True)
    path: Path | None = key(c.path, "the workbook file, e.g. orders.xlsx", required=_backend_is("excel"),
                            default=None)
    spreadsheet: str | None = key(c.spreadsheet_id, "the spreadsheet key or its URL",
                                  required=_backend_is("google"), default=None)
    credentials: str | None = key(c.credentials, "the service-account JSON file (or set "
                                                 'GOOGLE_APPLICATION_CREDENTIALS), or "anonymous" for the emulator',
                                  required=_needs_credentials, default=None)
    api_endpoint: str | None = key(c.url, "Google: the Sheets API's address; default Google's", default=None)
    lock_wait: float = key(c.duration(minimum=0), "Excel: seconds a one-shot command waits for a lock file to go",
                           default=10.0)
    protect: bool = key(c.boolean, "sheet protection (blocks sorting and deleting rows)", default=False)
    editors: tuple[str, ...] = key(c.editors, "Google: who may edit the protected ranges", default=())
    archive_after_days: int = key(c.integer(minimum=1),
                                  "delivered and cancelled postings older than this move to the archive",
                                  default=14)
    timeout: float = key(c.duration(minimum=0, strict=True), "Google: seconds to wait for one answer from the "
                                                             "Sheets API", default=30.0)
    fbo_worksheet: str | None = key(c.text, "the read-only FBO tab; none = «FBO»", default=None)
    returns_worksheet: str | None = key(c.text, "the read-only returns tab; none = «Возвраты» (English mapping: "
                                                "«Returns»)", default=None)


@rule(SpreadsheetConfig)
def _spreadsheet_rules(values: dict[str, Any], at: str, w: Walker) -> None:
    tabs = {k: values[k] for k in TABS if isinstance(values[k], str)}
    for k in TABS[1:]:
        if k in tabs and any(tabs[k].casefold() == v.casefold() for o, v in tabs.items() if o != k):
            w.problem(join(at, k), f"the tab «{tabs[k]}» is already used by another key; each tab needs a name "
                                   f"of its own")
    if values["backend"] != "excel":
        return
    for k in tabs:
        if not c.excel_tab_ok(tabs[k]):
            w.problem(join(at, k), c.EXCEL_TAB_RULE)
    path = values["path"]
    if isinstance(path, Path) and path.suffix.lower() != ".xlsx":
        w.problem(join(at, "path"), f"must be an .xlsx workbook (openpyxl reads and writes only .xlsx), "
                                    f"got {path.name!r}")


@dataclass(frozen=True)
class ViewConfig:
    """An operator's own spreadsheet: the postings its filter matches, and only those."""

    name: str = key(c.text, "a short name for the view, e.g. «Софьино»", required=True)
    spreadsheet: SpreadsheetConfig = key(section=SpreadsheetConfig, required=True,
                                         help="the view's own workbook (path) or Google spreadsheet; a tab hides "
                                              "nothing from whoever has the file")
    warehouses: tuple[str, ...] = key(c.names, "Posting.warehouse names, any case", default=(), group="filter")
    delivery_methods: tuple[str, ...] = key(c.names, "Posting.delivery_method names, any case", default=(),
                                            group="filter")
    accounts: tuple[str, ...] = key(c.names, "account ids", default=(), group="filter")
    mapping: Path | None = key(c.existing_file, "its own column mapping; none = the main mapping (or `columns`)",
                               default=None)
    columns: tuple[str, ...] = key(c.names, "fields of the main mapping to show; none = all of them", default=())
    editors: tuple[str, ...] = key(c.editors, "Google: who may edit the protected ranges", default=())

    def matches(self, warehouse: str, delivery_method: str, account: str) -> bool:
        """Every criterion given must hold; within one, any name."""
        return ((not self.warehouses or fold_name(warehouse) in {fold_name(w) for w in self.warehouses})
                and (not self.delivery_methods
                     or fold_name(delivery_method) in {fold_name(d) for d in self.delivery_methods})
                and (not self.accounts or account in self.accounts))


@rule(ViewConfig)
def _view_rules(values: dict[str, Any], at: str, w: Walker) -> None:
    criteria = [values[k] for k in ("warehouses", "delivery_methods", "accounts")]
    if not any(criteria) and INVALID not in criteria:
        w.problem(join(at, "filter"), "give at least one of warehouses, delivery_methods, accounts (names as the "
                                      "Склад / Доставка / Аккаунт columns show them)")
        values["warehouses"] = INVALID
    if values["mapping"] is not None and values["columns"] is not None and INVALID not in (values["mapping"],
                                                                                          values["columns"]):
        w.problem(join(at, "columns"), "give either `mapping` (a mapping file) or `columns` (fields), not both")
    sheet = values["spreadsheet"]
    if values["editors"] and values["editors"] is not INVALID and isinstance(sheet, SpreadsheetConfig) \
            and sheet.backend == "excel":
        w.problem(join(at, "editors"), "only a Google spreadsheet has protected ranges with editors; for Excel give "
                                       "each operator only their own workbook")


def fold_name(text: str) -> str:
    """A warehouse or delivery method name as views compare it: any case, runs of spaces as one."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class SyncOptions:
    hold_minutes: float = key(c.minutes, "minutes a status waits for its cancel reason or tracking number",
                              default=10.0)
    ship_retries: int = key(c.integer(minimum=0), "how many times a failed ship is retried", default=2)
    settle_seconds: float = key(c.duration(minimum=0), "seconds before a push whose result is unknown is sent again",
                                default=120.0)
    verify_wait: float = key(c.duration(minimum=0), "seconds after a push before the posting is read again to confirm",
                             default=5.0)


@dataclass(frozen=True)
class ScheduleConfig:
    every: float = key(c.duration(minimum=MIN_EVERY), "seconds between the daemon's cycles", default=30.0)
    sheet_poll: float = key(c.duration(minimum=1.0), "seconds between looks at a Google sheet's version "
                            "(an edit is pushed at the next look)", default=5.0)


@dataclass(frozen=True)
class PrivacyConfig:
    customer_data: bool = key(c.boolean, "show buyer name, phone and address while they are needed to deliver",
                              default=False)
    purge_after_days: int = key(c.integer(minimum=0), "days the state file keeps them after the posting is finished",
                                default=7)


@dataclass(frozen=True)
class LabelsConfig:
    folder: Path | None = key(c.path, "where labels and hand-over documents are saved; none = labels/ beside the "
                                      "workbook (Excel) or beside this config file (Google)", default=None)
    print_command: str | None = key(c.text, 'run on each batch of labels, e.g. "lp -d label {file}" ({file} is the '
                                            'batch PDF); none = labels are only saved', default=None)
    first_try: float = key(c.duration(minimum=0), "seconds after a verified ship before its label is first asked "
                                                  "for (Ozon makes it some 45-60 s after packing)", default=45.0)
    drive_folder: str | None = key(c.text, "Google: the id of the Drive folder labels are uploaded to, so the "
                                           "«Этикетка» column links them; none = the column shows the file's path",
                                   default=None)


@dataclass(frozen=True)
class HandoverConfig:
    at: time | None = key(c.time_of_day, 'the daemon hands the packed postings over daily at this local time '
                                         '(`timezone`), e.g. "16:00"; none = only by hand (`ozon-sync handover`)',
                          default=None)
    delivery_methods: tuple[str, ...] = key(c.names_or_ids, "the delivery methods handed over (names, any case, or "
                                                            "ids); none = every one with packed postings",
                                            default=())


@dataclass(frozen=True)
class MetricsConfig:
    listen: str | None = key(c.local_address, "host:port for /healthz and Prometheus /metrics while the daemon "
                                              "runs, e.g. 127.0.0.1:9464; none = off", default=None)


@dataclass(frozen=True)
class LoggingConfig:
    level: str = key(c.choice(c.LOG_LEVELS, upper=True), "DEBUG, INFO, WARNING, ERROR or CRITICAL", default="INFO")
    file: Path | None = key(c.path, "also write the log to this file; none = the console only", default=None)


@dataclass(frozen=True)
class WebhookConfig:
    url: str = key(c.url, "the address alerts are POSTed to as JSON", required=True)
    timeout: float = key(c.duration(minimum=0, strict=True), "seconds to wait for an answer, per request", default=10.0)
    retries: int = key(c.integer(minimum=0), "more tries after the first, on a dropped connection, a timeout, "
                                             "429 or 5xx", default=2)
    headers: tuple[tuple[str, str], ...] = key(c.headers, 'e.g. Authorization: "Bearer ${TOKEN}"', default=())

    def __repr__(self) -> str:
        # The URL's path and the header values may hold tokens (a Slack webhook's path is one).
        return (f"WebhookConfig(url={url_origin(self.url)!r}/..., timeout={self.timeout!r}, retries={self.retries!r}, "
                f"headers={[name for name, _ in self.headers]!r})")


@dataclass(frozen=True)
class EmailConfig:
    host: str = key(c.host, "the SMTP server, e.g. smtp.yandex.ru", required=True)
    sender: str = key(c.address, "the sender address, e.g. shop@example.ru", required=True, name="from")
    to: tuple[str, ...] = key(c.addresses, "a list of addresses to send alerts to", required=True)
    port: int = key(c.port, "the SMTP port; none = the usual one for `security`", default=587)
    security: str = key(c.choice(c.ALERT_SECURITY, lower=True), "starttls, ssl or none", default="starttls")
    username: str | None = key(c.text, "the SMTP login; none when the server needs no login", default=None)
    password: str | None = key(c.secret, "the SMTP password", default=None)
    timeout: float = key(c.duration(minimum=0, strict=True), "seconds to wait for the server", default=10.0)

    def __repr__(self) -> str:
        return (f"EmailConfig(host={self.host!r}, port={self.port!r}, security={self.security!r}, "
                f"username={self.username!r}, password={'***' if self.password else None}, sender={self.sender!r}, "
                f"to={self.to!r}, timeout={self.timeout!r})")


@rule(EmailConfig)
def _email_rules(values: dict[str, Any], at: str, w: Walker) -> None:
    if values["password"] and values["password"] is not INVALID and not values["username"]:
        w.problem(join(at, "password"), f"is set but {join(at, 'username')} is not; set both or neither")
        values["password"] = INVALID
    if values["port"] is None and isinstance(values["security"], str):
        values["port"] = SMTP_PORTS[values["security"]]


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = key(c.boolean, "false turns every alert off", default=True)
    unpacked_hours: float = key(c.hours, "alert when a posting is still awaiting packaging this close to its "
                                         "deadline", default=4.0)
    key_expiry_days: int = key(c.integer(minimum=0), "alert when the Api-Key expires within this many days",
                               default=14)
    webhook: WebhookConfig | None = key(section=WebhookConfig, default=None)
    email: EmailConfig | None = key(section=EmailConfig, default=None)

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
    ozon: OzonConfig = key(section=OzonConfig)  # `ozon` is the first of `accounts`
    spreadsheet: SpreadsheetConfig = key(section=SpreadsheetConfig)
    state: Path = key(c.state_file, "the SQLite state file, e.g. .ozon-sync/state.sqlite", required=True)
    mapping: Path | None = key(c.existing_file, "the column mapping; none = the packaged default", default=None)
    statuses: Path | None = key(c.existing_file, "the statuses file; none = the packaged default", default=None)
    language: str | None = key(c.choice(c.LANGUAGES, lower=True), "ru or en; none = the mapping's language",
                               default=None)
    timezone: str = key(c.timezone, "the time zone of dates and times in the sheet and in reports",
                        default="Europe/Moscow")
    schedule: ScheduleConfig = key(section=ScheduleConfig, factory=ScheduleConfig)
    privacy: PrivacyConfig = key(section=PrivacyConfig, factory=PrivacyConfig)
    sync: SyncOptions = key(section=SyncOptions, factory=SyncOptions)
    logging: LoggingConfig = key(section=LoggingConfig, factory=LoggingConfig)
    labels: LabelsConfig = key(section=LabelsConfig, factory=LabelsConfig)
    metrics: MetricsConfig = key(section=MetricsConfig, factory=MetricsConfig)
    handover: HandoverConfig = key(section=HandoverConfig, factory=HandoverConfig)
    items: tuple[tuple[str, ItemDefaults], ...] = key(c.items, "per offer id, item data Ozon asks for before packing "
                                                      "that is the same for every unit: gtd, rnpt (or `absent`), "
                                                      "country (two letters), weight (kg)", default=())
    alerts: AlertsConfig = key(section=AlertsConfig, factory=AlertsConfig)
    source: Path | None = None  # the config file this came from
    # Every Ozon account, the first being the default one; `ozon` is that first one. A config with
    # only `ozon:` has that one account here.
    accounts: tuple[OzonConfig, ...] = key(items=OzonConfig, default=())
    views: tuple[ViewConfig, ...] = key(items=ViewConfig, default=())  # a posting goes to the first view it matches

    def __post_init__(self) -> None:
        if not self.accounts:
            object.__setattr__(self, "accounts", (self.ozon,))

    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def labels_folder(self) -> Path:
        """``labels.folder``, else labels/ beside the workbook (Excel) or beside the config file."""
        if self.labels.folder is not None:
            return self.labels.folder
        if self.spreadsheet.path is not None:
            return self.spreadsheet.path.parent / "labels"
        return (self.source.parent if self.source is not None else Path.cwd()) / "labels"

    def secrets(self) -> list[str]:
        """What must never reach a log or an alert: every Api-Key and the alert channels' secrets."""
        return [*(oz.api_key for oz in self.accounts), *self.alerts.secrets()]


# The sections a config file may hold, and which dataclass each one fills.
SECTIONS: dict[str, type] = {"ozon": OzonConfig, "spreadsheet": SpreadsheetConfig, "schedule": ScheduleConfig,
                             "privacy": PrivacyConfig, "sync": SyncOptions, "logging": LoggingConfig,
                             "labels": LabelsConfig, "metrics": MetricsConfig, "handover": HandoverConfig,
                             "alerts": AlertsConfig}
