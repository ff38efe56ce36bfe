"""Config loading: interpolation, validation with every problem at once, defaults, the example file."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.config import (
    AlertsConfig,
    Config,
    EmailConfig,
    HandoverConfig,
    LabelsConfig,
    LoggingConfig,
    OzonConfig,
    PrivacyConfig,
    ScheduleConfig,
    SpreadsheetConfig,
    SyncOptions,
    ViewConfig,
    WebhookConfig,
    _parse_duration,
    config_from_dict,
    load_config,
)
from sync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
ENV = {"OZON_CLIENT_ID": "123456", "OZON_API_KEY": "secret-key-7f3a"}

MINIMAL = """\
ozon:
  client_id: "${OZON_CLIENT_ID}"
  api_key: "${OZON_API_KEY}"
  base_url: https://api-seller.ozon.ru
spreadsheet:
  backend: excel
  path: orders.xlsx
  worksheet: Заказы
state: state/state.sqlite
"""


def write(folder: Path, text: str, name: str = "ozon-sync.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(text: str, folder: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(folder, text), env=ENV if env is None else env)
    return info.value.problems


def minimal(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ozon": {"client_id": "123456", "api_key": "k", "base_url": "https://api-seller.ozon.ru"},
        "spreadsheet": {"backend": "excel", "path": "orders.xlsx", "worksheet": "Заказы"},
        "state": "state.sqlite",
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(name), dict):
            data[name] = {**data[name], **value}
        else:
            data[name] = value
    return data


def from_dict(data: dict[str, Any], tmp_path: Path) -> Config:
    return config_from_dict(data, tmp_path, {})


def problems_of_dict(data: dict[str, Any], tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        from_dict(data, tmp_path)
    return info.value.problems


# --- defaults and paths --------------------------------------------------------------------------


def test_minimal_config_gets_every_default(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), env=ENV)
    assert cfg.ozon == OzonConfig("123456", "secret-key-7f3a", "https://api-seller.ozon.ru")
    assert cfg.ozon.account == "main" and cfg.ozon.schemes == ("fbs", "rfbs") and cfg.ozon.rps == 20.0
    assert cfg.spreadsheet == SpreadsheetConfig("excel", "Заказы", path=tmp_path.resolve() / "orders.xlsx")
    assert cfg.schedule == ScheduleConfig(every=30.0)
    assert cfg.privacy == PrivacyConfig(customer_data=False, purge_after_days=7)
    assert cfg.sync == SyncOptions(hold_minutes=10.0, ship_retries=2, settle_seconds=120.0, verify_wait=5.0)
    assert cfg.logging == LoggingConfig(level="INFO", file=None)
    assert (cfg.mapping, cfg.statuses, cfg.language, cfg.timezone) == (None, None, None, "Europe/Moscow")
    assert cfg.tz().key == "Europe/Moscow"
    assert cfg.source == (tmp_path / "ozon-sync.yaml").resolve()


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "maps").mkdir()
    write(folder / "maps", "columns: []\n", "orders.yaml")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the working directory must not matter
    write(folder, MINIMAL + "mapping: maps/orders.yaml\nlogging:\n  file: logs/sync.log\n")
    cfg = load_config(Path("../conf/ozon-sync.yaml"), env=ENV)
    base = folder.resolve()
    assert cfg.state == base / "state" / "state.sqlite"
    assert cfg.spreadsheet.path == base / "orders.xlsx"
    assert cfg.mapping == base / "maps" / "orders.yaml"
    assert cfg.logging.file == base / "logs" / "sync.log"


def test_absolute_and_home_paths_are_kept(tmp_path: Path) -> None:
    cfg = from_dict(minimal(state=str(tmp_path / "abs.sqlite")), Path("/elsewhere"))
    assert cfg.state == tmp_path / "abs.sqlite"
    cfg = from_dict(minimal(state="~/s.sqlite"), Path("/elsewhere"))
    assert cfg.state == Path.home() / "s.sqlite"


def test_every_option_can_be_set(tmp_path: Path) -> None:
    write(tmp_path, "columns: []\n", "m.yaml")
    write(tmp_path, "labels: []\n", "s.yaml")
    data = minimal(
        ozon={"account": "shop2", "schemes": ["RFBS"], "lookback_days": 90, "rps": 10, "timeout": "30s",
              "full_every": "10m"},
        spreadsheet={"lock_wait": 0, "protect": True, "editors": ["a@b.ru"], "archive_after_days": 30},
        mapping="m.yaml", statuses="s.yaml", language="EN", timezone="Asia/Yekaterinburg",
        schedule={"every": "1m"}, privacy={"customer_data": True, "purge_after_days": 0},
        sync={"hold_minutes": 5, "ship_retries": 0, "settle_seconds": "1h30m", "verify_wait": "0s"},
        logging={"level": "debug", "file": "x.log"},
    )
    cfg = from_dict(data, tmp_path)
    assert cfg.ozon.schemes == ("rfbs",) and cfg.ozon.timeout == 30.0 and cfg.ozon.full_every == 600.0
    assert cfg.ozon.rps == 10.0 and cfg.ozon.lookback_days == 90 and cfg.ozon.account == "shop2"
    assert cfg.spreadsheet.protect is True and cfg.spreadsheet.editors == ("a@b.ru",)
    assert cfg.spreadsheet.lock_wait == 0.0 and cfg.spreadsheet.archive_after_days == 30
    assert (cfg.mapping, cfg.statuses) == (tmp_path / "m.yaml", tmp_path / "s.yaml")
    assert cfg.language == "en" and cfg.tz().key == "Asia/Yekaterinburg"
    assert cfg.schedule.every == 60.0
    assert cfg.privacy == PrivacyConfig(customer_data=True, purge_after_days=0)
    assert cfg.sync == SyncOptions(hold_minutes=5.0, ship_retries=0, settle_seconds=5400.0, verify_wait=0.0)
    assert cfg.logging == LoggingConfig(level="DEBUG", file=tmp_path / "x.log")


def test_read_only_tabs_are_opt_in(tmp_path: Path) -> None:
    cfg = from_dict(minimal(), tmp_path)
    assert (cfg.ozon.returns, cfg.ozon.mirror_every) == (False, 600.0)
    assert (cfg.spreadsheet.fbo_worksheet, cfg.spreadsheet.returns_worksheet) == (None, None)
    cfg = from_dict(minimal(ozon={"schemes": ["FBS", "fbo"], "returns": "yes", "mirror_every": "1h"},
                            spreadsheet={"fbo_worksheet": "FBO склад", "returns_worksheet": "Returns"}), tmp_path)
    assert cfg.ozon.schemes == ("fbs", "fbo") and cfg.ozon.returns is True and cfg.ozon.mirror_every == 3600.0
    assert (cfg.spreadsheet.fbo_worksheet, cfg.spreadsheet.returns_worksheet) == ("FBO склад", "Returns")


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = from_dict(minimal(), tmp_path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.state = Path("x")  # type: ignore[misc]


# --- problems, all at once ------------------------------------------------------------------------


def test_every_missing_required_key_is_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of("timezone: Europe/Moscow\n", tmp_path)
    keys = [p.split(":")[0] for p in problems]
    assert keys == ["ozon.client_id", "ozon.api_key", "ozon.base_url", "spreadsheet.backend",
                    "spreadsheet.worksheet", "state"]
    assert "Ozon Seller → Settings → Seller API" in problems[0]


def test_excel_needs_a_path_and_google_needs_spreadsheet_and_credentials(tmp_path: Path) -> None:
    data = minimal()
    del data["spreadsheet"]["path"]
    assert [p.split(":")[0] for p in problems_of_dict(data, tmp_path)] == ["spreadsheet.path"]
    google = minimal(spreadsheet={"backend": "google", "worksheet": "Orders"})
    del google["spreadsheet"]["path"]
    problems = problems_of_dict(google, tmp_path)
    assert [p.split(":")[0] for p in problems] == ["spreadsheet.spreadsheet", "spreadsheet.credentials"]
    google["spreadsheet"]["spreadsheet"] = "KEY"
    from_env = config_from_dict(google, tmp_path, {"GOOGLE_APPLICATION_CREDENTIALS": "/keys/sa.json"})
    assert from_env.spreadsheet.credentials is None  # the backend reads the variable itself


def test_google_backend(tmp_path: Path) -> None:
    write(tmp_path, "{}", "sa.json")
    url = "https://docs.google.com/spreadsheets/d/1AbC-d_9/edit#gid=0"
    cfg = from_dict(minimal(spreadsheet={"backend": "Google", "spreadsheet": url, "credentials": "sa.json"}),
                    tmp_path)
    assert cfg.spreadsheet.backend == "google"
    assert cfg.spreadsheet.spreadsheet == "1AbC-d_9"
    assert cfg.spreadsheet.credentials == str(tmp_path / "sa.json")
    emu = from_dict(minimal(spreadsheet={"backend": "google", "spreadsheet": "KEY", "credentials": "anonymous",
                                         "api_endpoint": "http://127.0.0.1:8765/"}), tmp_path)
    assert (emu.spreadsheet.credentials, emu.spreadsheet.api_endpoint) == ("anonymous", "http://127.0.0.1:8765")
    missing = problems_of_dict(minimal(spreadsheet={"backend": "google", "spreadsheet": "KEY",
                                                    "credentials": "nope.json"}), tmp_path)
    assert len(missing) == 1 and missing[0].startswith("spreadsheet.credentials: file ")


def test_unknown_keys_get_a_suggestion(tmp_path: Path) -> None:
    data = minimal(ozon={"api_kye": "x"}, schedule={"evry": "30s"}, mappng="m.yaml", every="30s")
    problems = problems_of_dict(data, tmp_path)
    assert "ozon.api_kye: unknown key; did you mean ozon.api_key?" in problems
    assert "schedule.evry: unknown key; did you mean schedule.every?" in problems
    assert "mappng: unknown key; did you mean mapping?" in problems
    assert "every: unknown key here; did you mean schedule.every?" in problems
    assert len(problems) == 4


def test_unknown_key_without_a_near_match_lists_the_known_ones(tmp_path: Path) -> None:
    [problem] = problems_of_dict(minimal(privacy={"zzz": 1}), tmp_path)
    assert problem == "privacy.zzz: unknown key (known keys: customer_data, purge_after_days)"


# --- several accounts -----------------------------------------------------------------------------


def account(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"shop{i}", "client_id": f"10{i}", "api_key": f"key-{i}", "base_url": "https://api-seller.ozon.ru",
            **extra}


def test_one_ozon_section_is_the_account_main(tmp_path: Path) -> None:
    cfg = from_dict(minimal(), tmp_path)
    assert [a.account for a in cfg.accounts] == ["main"] and cfg.accounts[0] is cfg.ozon


def test_accounts_list_each_with_its_own_settings(tmp_path: Path) -> None:
    data = minimal()
    del data["ozon"]
    data["accounts"] = [account(1), account(2, schemes=["rfbs"], lookback_days=7, rps=5)]
    cfg = from_dict(data, tmp_path)
    assert [(a.account, a.client_id, a.api_key) for a in cfg.accounts] == [("shop1", "101", "key-1"),
                                                                          ("shop2", "102", "key-2")]
    assert cfg.ozon is cfg.accounts[0]  # the first one is the default account
    assert cfg.accounts[1].schemes == ("rfbs",) and cfg.accounts[1].lookback_days == 7 and cfg.accounts[1].rps == 5
    assert "key-2" not in repr(cfg)


def test_ozon_and_accounts_together_is_one_clear_problem(tmp_path: Path) -> None:
    [problem] = problems_of_dict({**minimal(), "accounts": [account(1)]}, tmp_path)
    assert problem.startswith("accounts: give either `ozon:` (one account) or `accounts:`")


def test_account_problems_are_named_with_their_path(tmp_path: Path) -> None:
    data = minimal()
    del data["ozon"]
    bad = account(2, rps=500, shedules=["fbs"], account="x")
    del bad["api_key"]
    data["accounts"] = [account(1), bad, account(1), "shop4"]
    problems = problems_of_dict(data, tmp_path)
    assert "accounts[1].api_key: is required" in " ".join(problems)
    assert any(p.startswith("accounts[1].rps: Ozon allows at most 50") for p in problems)
    assert "accounts[1].shedules: unknown key; did you mean accounts[1].schemes?" in problems
    assert "accounts[1].account: in `accounts:` the account's name is its `id`; rename the key to id" in problems
    assert "accounts[2].id: 'shop1' is already the id of accounts[0]; each account needs its own id" in problems
    assert "accounts[2].client_id: the same Client-Id as accounts[0]; list each Ozon account once" in problems
    assert any(p.startswith("accounts[3]: expected `id`, `client_id`") for p in problems)


def test_accounts_need_an_id_and_a_list(tmp_path: Path) -> None:
    data = minimal()
    del data["ozon"]
    no_id = account(1)
    del no_id["id"]
    data["accounts"] = [no_id]
    assert problems_of_dict(data, tmp_path) == ['accounts[0].id: is required (a short name shown in the sheet, '
                                                'e.g. "shop1")']
    data["accounts"] = {"shop1": account(1)}
    [problem] = problems_of_dict(data, tmp_path)
    assert problem.startswith("accounts: expected a list of accounts")
    data["accounts"] = [account(1, id="shop 1")]
    [problem] = problems_of_dict(data, tmp_path)
    assert problem.startswith("accounts[0].id: use only letters, digits, - and _")


def test_fbo_and_returns_tabs_come_from_the_first_account_only(tmp_path: Path) -> None:
    data = minimal()
    del data["ozon"]
    data["accounts"] = [account(1, schemes=["fbs", "fbo"], returns=True), account(2, schemes=["fbo"]),
                        account(3, returns=True)]
    assert problems_of_dict(data, tmp_path) == [
        "accounts[1].schemes: the read-only FBO and returns tabs are filled from the first account only; "
        "remove fbo / returns here, or list this account first",
        "accounts[2].returns: the read-only FBO and returns tabs are filled from the first account only; "
        "remove fbo / returns here, or list this account first"]


def test_missing_env_in_an_account_names_its_path(tmp_path: Path) -> None:
    data = minimal()
    del data["ozon"]
    data["accounts"] = [account(1), account(2, api_key="${SHOP2_KEY}")]
    assert problems_of_dict(data, tmp_path) == ["accounts[1].api_key: environment variable SHOP2_KEY is not set"]


# --- operator views -------------------------------------------------------------------------------


def view(name: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "filter": {"warehouses": ["Склад Софьино"]},
            "spreadsheet": {"backend": "excel", "path": path, "worksheet": "Заказы"}, **extra}


def test_views_each_with_a_filter_and_its_own_file(tmp_path: Path) -> None:
    google = {"backend": "google", "spreadsheet": "https://docs.google.com/spreadsheets/d/KEY123/edit",
              "credentials": "anonymous", "worksheet": "Заказы"}
    data = minimal(views=[
        view("Софьино", "sofyino.xlsx", columns=["status", "posting_number"]),
        {"name": "Курьеры", "filter": {"delivery_methods": "Курьер продавца", "accounts": ["main"]},
         "spreadsheet": google, "editors": ["ivan@example.com"]},
    ])
    cfg = from_dict(data, tmp_path)
    first, second = cfg.views
    assert first.spreadsheet.path == tmp_path / "sofyino.xlsx" and first.columns == ("status", "posting_number")
    assert second.spreadsheet.spreadsheet == "KEY123" and second.editors == ("ivan@example.com",)
    assert first.matches("склад  софьино", "x", "main") and not first.matches("Свой склад", "x", "main")
    assert second.matches("any", "Курьер продавца", "main") and not second.matches("any", "Курьер продавца", "b")
    assert from_dict(minimal(), tmp_path).views == ()


def test_view_problems_are_named_with_their_path(tmp_path: Path) -> None:
    data = minimal(views=[
        view("A", "orders.xlsx"),  # the main workbook
        view("A", "a.xlsx", editors=["x@y.z"], mapping="nope.yaml", filter={}),
        {"name": "B", "filter": {"accounts": ["shop9"], "warehuses": ["x"]}},
        view("C", "a.xlsx", columns=["status"], mapping="orders.xlsx"),
    ])
    (tmp_path / "orders.xlsx").write_text("x")
    problems = problems_of_dict(data, tmp_path)
    text = "\n".join(problems)
    assert "views[0].spreadsheet: is the same workbook as spreadsheet; a view needs its own file" in text
    assert "views[1].name: 'A' is already the name of views[0]" in text
    assert "views[1].filter: give at least one of warehouses, delivery_methods, accounts" in text
    assert "views[1].editors: only a Google spreadsheet has protected ranges" in text
    assert "views[1].mapping: file" in text
    assert "views[2].filter.warehuses: unknown key; did you mean views[2].filter.warehouses?" in text
    assert "views[2].filter.accounts: no account 'shop9'; the accounts are main" in text
    assert "views[2].spreadsheet: is required" in text
    assert "views[3].spreadsheet: is the same workbook as views[1].spreadsheet" in text
    assert "views[3].columns: give either `mapping` (a mapping file) or `columns` (fields), not both" in text


def test_a_views_spreadsheet_problems_name_the_views_own_key_path(tmp_path: Path) -> None:
    sheet = {"backend": "excel", "path": "v.xlsx", "worksheet": "Заказы", "fbo_worksheet": "заказы",
             "returns_worksheet": "R?", "lock_wiat": "1s"}
    problems = problems_of_dict(minimal(views=[view("A", "a.xlsx"), view("B", "v.xlsx", spreadsheet=sheet)]),
                                tmp_path)
    assert problems == [
        "views[1].spreadsheet.lock_wiat: unknown key; did you mean views[1].spreadsheet.lock_wait?",
        "views[1].spreadsheet.fbo_worksheet: the tab «заказы» is already used by another key; "
        "each tab needs a name of its own",
        "views[1].spreadsheet.returns_worksheet: an Excel tab name has at most 31 characters and none of "
        "[ ] : * ? / \\"]


def test_every_problem_is_reported_at_once_with_those_of_the_mapping_and_the_api_key(tmp_path: Path) -> None:
    from sync.mapping import default_mapping_path

    text = default_mapping_path().read_text(encoding="utf-8")
    write(tmp_path, "\n".join(line for line in text.splitlines() if "field: account," not in line), "mine.yaml")
    data = minimal(spreadsheet={"worksheet": "FBO"}, schedule={"every": "soon"}, mapping="mine.yaml",
                   views=[view("A", "a.xlsx", columns=["status", "colour"])])
    del data["ozon"]
    data["accounts"] = [account(1, schemes=["fbs", "fbo"]), account(2, api_key="key-\u043a\u0435\u0443")]
    problems = problems_of_dict(data, tmp_path)
    assert [p.split(":")[0] for p in problems] == [
        "accounts[1].api_key", "schedule.every", "mapping", "views[0].columns", "spreadsheet.fbo_worksheet"]
    assert problems[0] == ("accounts[1].api_key: holds characters an HTTP header cannot carry (non-ASCII or a line "
                           "break): copy it again from the seller cabinet (Settings → Seller API)")
    assert "кеу" not in problems[0]
    assert problems[2].startswith("mapping: with several accounts the sheet needs an account column")
    assert problems[3].startswith("views[0].columns: no field 'colour' in the mapping; choose from posting_number,")
    assert problems[4] == ("spreadsheet.fbo_worksheet: the read-only tab «FBO» would replace the orders tab "
                           "(spreadsheet.worksheet); give it another name")


def test_the_returns_tab_is_checked_under_the_mappings_language(tmp_path: Path) -> None:
    english = str(ROOT / "mappings" / "orders.en.yaml")
    assert from_dict(minimal(ozon={"returns": True}, spreadsheet={"worksheet": "Returns"}), tmp_path)
    [problem] = problems_of_dict(minimal(ozon={"returns": True}, spreadsheet={"worksheet": "Returns"},
                                         mapping=english), tmp_path)
    assert problem.startswith("spreadsheet.returns_worksheet: the read-only tab «Returns» would replace")
    assert from_dict(minimal(ozon={"returns": True}, spreadsheet={"worksheet": "Returns"}, mapping=english,
                             language="ru"), tmp_path)


def test_a_views_own_mapping_needs_the_account_column_too(tmp_path: Path) -> None:
    write(tmp_path, "\n".join(line for line in (ROOT / "mappings" / "orders.yaml").read_text(encoding="utf-8")
                               .splitlines() if "field: account," not in line), "mine.yaml")
    data = minimal(views=[view("A", "a.xlsx", mapping="mine.yaml")])
    del data["ozon"]
    data["accounts"] = [account(1), account(2)]
    [problem] = problems_of_dict(data, tmp_path)
    assert problem.startswith("views[0].mapping: with several accounts the sheet needs an account column")
    del data["accounts"]
    data["ozon"] = account(1)
    del data["ozon"]["id"]
    assert from_dict(data, tmp_path).views[0].mapping == tmp_path / "mine.yaml"  # one account: no column needed


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"schedule": {"every": "soon"}},
         "schedule.every: expected a duration like 30s, 5m or 1h, got 'soon'"),
        ({"schedule": {"every": 2}}, "schedule.every: must be at least 5s, got 2s"),
        ({"ozon": {"client_id": "abc"}},
         "ozon.client_id: must be the numeric Client-Id from Ozon Seller → Settings → Seller API"),
        ({"ozon": {"base_url": "api-seller.ozon.ru"}},
         "ozon.base_url: expected an http:// or https:// address, got 'api-seller.ozon.ru'"),
        ({"ozon": {"lookback_days": 2.5}}, "ozon.lookback_days: expected a whole number, got 2.5"),
        ({"ozon": {"lookback_days": 0}}, "ozon.lookback_days: must be at least 1, got 0"),
        ({"ozon": {"rps": 80}}, "ozon.rps: Ozon allows at most 50 requests per second per Client-Id"),
        ({"ozon": {"rps": True}}, "ozon.rps: expected a number of requests per second, got True"),
        ({"ozon": {"schemes": ["fbs", "fbx"]}}, "ozon.schemes: unknown scheme 'fbx'; choose from fbs, rfbs, fbo"),
        ({"ozon": {"returns": "maybe"}}, "ozon.returns: expected true or false, got 'maybe'"),
        ({"ozon": {"mirror_every": "1s"}}, "ozon.mirror_every: must be at least 5s, got 1s"),
        ({"spreadsheet": {"fbo_worksheet": "FBO?"}}, "spreadsheet.fbo_worksheet: an Excel tab name has at most 31"),
        ({"spreadsheet": {"returns_worksheet": "заказы"}},
         "spreadsheet.returns_worksheet: the tab «заказы» is already used by another key"),
        ({"ozon": {"timeout": 0}}, "ozon.timeout: must be more than 0s, got 0s"),
        ({"ozon": {"account": "my shop"}}, "ozon.account: use only letters, digits, - and _"),
        ({"spreadsheet": {"backend": "csv"}}, "spreadsheet.backend: expected one of excel, google, got 'csv'"),
        ({"spreadsheet": {"path": "orders.xls"}}, "spreadsheet.path: must be an .xlsx workbook"),
        ({"spreadsheet": {"worksheet": "a/b"}}, "spreadsheet.worksheet: an Excel tab name has at most 31"),
        ({"spreadsheet": {"protect": "maybe"}}, "spreadsheet.protect: expected true or false, got 'maybe'"),
        ({"spreadsheet": {"editors": ["not-an-email"]}}, "spreadsheet.editors: expected e-mail addresses"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone 'Mars/Olympus'"),
        ({"language": "de"}, "language: expected one of ru, en, got 'de'"),
        ({"logging": {"level": "loud"}}, "logging.level: expected one of DEBUG, INFO, WARNING, ERROR"),
        ({"sync": {"ship_retries": -1}}, "sync.ship_retries: must be at least 0, got -1"),
        ({"sync": {"hold_minutes": "later"}}, "sync.hold_minutes: expected a number of minutes"),
        ({"state": {"path": "x"}}, "state: expected a file path, got a mapping"),
        ({"schedule": "30s"}, "schedule: expected a mapping of keys"),
        ({"mapping": "nope.yaml"}, "mapping: file "),
    ],
)
def test_wrong_values_are_named_with_their_key(tmp_path: Path, section: dict[str, Any], expected: str) -> None:
    problems = problems_of_dict(minimal(**section), tmp_path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems


def test_problems_from_every_section_are_collected(tmp_path: Path) -> None:
    data = minimal(ozon={"client_id": "x", "rps": -1}, schedule={"every": "soon"}, timezone="Nowhere",
                   privacy={"customer_data": "perhaps"})
    keys = [p.split(":")[0] for p in problems_of_dict(data, tmp_path)]
    assert keys == ["ozon.client_id", "ozon.rps", "timezone", "schedule.every", "privacy.customer_data"]


@pytest.mark.parametrize("key", ["ключ-123", "key\n123", "key\t123"])
def test_an_api_key_that_cannot_be_an_http_header_is_refused_unechoed(tmp_path: Path, key: str) -> None:
    [problem] = problems_of_dict(minimal(ozon={"api_key": key}), tmp_path)
    assert problem.startswith("ozon.api_key: holds characters an HTTP header cannot carry")
    assert key.strip() not in problem and "123" not in problem


def test_client_id_problem_does_not_echo_the_value(tmp_path: Path) -> None:
    # A Client-Id and an Api-Key swapped by mistake must not print the key.
    [problem] = problems_of_dict(minimal(ozon={"client_id": "e3b0c442-98fc-1c14"}), tmp_path)
    assert "e3b0c442" not in problem


def test_hold_minutes_accepts_minutes_or_a_duration(tmp_path: Path) -> None:
    assert from_dict(minimal(sync={"hold_minutes": 2.5}), tmp_path).sync.hold_minutes == 2.5
    assert from_dict(minimal(sync={"hold_minutes": "90s"}), tmp_path).sync.hold_minutes == 1.5


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    problems = problems_of("- a\n- b\n", tmp_path)
    assert problems == ["config: expected keys such as `ozon:` and `spreadsheet:` at the top level, got a list"]


def test_empty_file_reports_the_required_keys(tmp_path: Path) -> None:
    assert len(problems_of("", tmp_path)) == 6


# --- files ----------------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml", env=ENV)
    assert str(tmp_path / "nope.yaml") in str(info.value)


def test_invalid_yaml_names_the_path(tmp_path: Path) -> None:
    problems = problems_of("ozon: [unclosed\n", tmp_path)
    assert len(problems) == 1 and str(tmp_path / "ozon-sync.yaml") in problems[0] and "not valid YAML" in problems[0]


def test_a_key_given_twice_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(MINIMAL.replace("  backend: excel\n", "  backend: excel\n  backend: google\n"), tmp_path)
    assert problems == [f"config: key `backend` is given twice (lines 6 and 7) in {tmp_path / 'ozon-sync.yaml'}; "
                        "remove one"]


# --- environment interpolation --------------------------------------------------------------------


def test_env_interpolation_in_any_string(tmp_path: Path) -> None:
    text = MINIMAL.replace("https://api-seller.ozon.ru", "http://${HOST}:${PORT:-8080}/")
    text += 'schedule:\n  every: "${EVERY:-45s}"\n'
    env = {**ENV, "HOST": "127.0.0.1"}
    cfg = load_config(write(tmp_path, text), env=env)
    assert cfg.ozon.base_url == "http://127.0.0.1:8080"
    assert cfg.ozon.client_id == "123456" and cfg.ozon.api_key == "secret-key-7f3a"
    assert cfg.schedule.every == 45.0


def test_default_applies_to_an_empty_variable_and_numbers_come_through_as_text(tmp_path: Path) -> None:
    data = minimal(ozon={"lookback_days": "${DAYS}"}, privacy={"customer_data": "${PII:-no}"},
                   schedule={"every": "${EVERY:-}"})
    env = {"DAYS": "60", "PII": "", "EVERY": "2m"}
    cfg = config_from_dict(data, tmp_path, env)
    assert (cfg.ozon.lookback_days, cfg.privacy.customer_data, cfg.schedule.every) == (60, False, 120.0)


def test_dollar_dollar_is_a_literal_dollar(tmp_path: Path) -> None:
    cfg = config_from_dict(minimal(ozon={"api_key": "a$$b$c"}), tmp_path, {})
    assert cfg.ozon.api_key == "a$b$c"


def test_missing_env_variables_are_named_with_their_key(tmp_path: Path) -> None:
    problems = problems_of(MINIMAL, tmp_path, env={})
    assert problems == ["ozon.client_id: environment variable OZON_CLIENT_ID is not set",
                        "ozon.api_key: environment variable OZON_API_KEY is not set"]


def test_bad_references_are_problems(tmp_path: Path) -> None:
    data = minimal(spreadsheet={"worksheet": "${NOT CLOSED"}, timezone="${1BAD}")
    problems = problems_of_dict(data, tmp_path)
    assert problems[0].startswith("spreadsheet.worksheet: a `${` is not closed")
    assert problems[1].startswith("timezone: `${1BAD}` is not a valid reference")
    assert len(problems) == 2


def test_env_in_a_list_names_the_item(tmp_path: Path) -> None:
    [problem] = problems_of_dict(minimal(ozon={"schemes": ["fbs", "${SCHEME2}"]}), tmp_path)
    assert problem == "ozon.schemes[1]: environment variable SCHEME2 is not set"


def test_load_config_reads_os_environ_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    assert load_config(write(tmp_path, MINIMAL)).ozon.client_id == "123456"


# --- secrets --------------------------------------------------------------------------------------


def test_repr_and_str_hide_the_api_key(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL), env=ENV)
    for text in (repr(cfg), str(cfg), repr(cfg.ozon), str(cfg.ozon), f"{cfg}"):
        assert "secret-key-7f3a" not in text
        assert "api_key='***'" in text
    assert cfg.ozon.api_key == "secret-key-7f3a"


# --- the example file -----------------------------------------------------------------------------


def test_example_config_is_valid(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "config.example.yaml", env=ENV)
    assert cfg.spreadsheet.backend == "excel"
    assert cfg.ozon.client_id == "123456" and cfg.ozon.api_key == "secret-key-7f3a"
    defaults = from_dict(minimal(), tmp_path)
    # The example shows the defaults: apart from paths it configures the same as a minimal file.
    assert cfg.ozon == dataclasses.replace(defaults.ozon, client_id="123456", api_key="secret-key-7f3a")
    assert (cfg.schedule, cfg.privacy, cfg.sync, cfg.logging, cfg.alerts, cfg.handover) == (
        defaults.schedule, defaults.privacy, defaults.sync, defaults.logging, defaults.alerts, defaults.handover)
    assert dataclasses.replace(cfg.spreadsheet, path=None) == dataclasses.replace(defaults.spreadsheet, path=None)


def test_example_config_mentions_every_option() -> None:
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    named = set(re.findall(r"^[#\s]*([a-z_]+):", text, flags=re.MULTILINE))
    classes = [Config, OzonConfig, SpreadsheetConfig, SyncOptions, ScheduleConfig, PrivacyConfig, LoggingConfig,
               ViewConfig, AlertsConfig, WebhookConfig, EmailConfig, LabelsConfig, HandoverConfig]
    options = {f.name for cls in classes for f in dataclasses.fields(cls)} - {"source", "sender"} | {"from"}
    assert options - named == set()


def test_example_google_block_is_valid_when_swapped_in(tmp_path: Path) -> None:
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "backend: excel")
    lines[start:start + 1] = ["  backend: google"]
    out = []
    for line in lines:
        m = re.match(r"^  # (spreadsheet|credentials|api_endpoint): (\S+)", line)
        if m:
            out.append(f"  {m.group(1)}: {'anonymous' if m.group(1) == 'credentials' else m.group(2)}")
        elif line.strip().startswith(("path: orders.xlsx", "lock_wait:")):
            continue
        else:
            out.append(line)
    cfg = load_config(write(tmp_path, "\n".join(out) + "\n"), env=ENV)
    assert cfg.spreadsheet.backend == "google" and cfg.spreadsheet.credentials == "anonymous"
    assert cfg.spreadsheet.api_endpoint == "http://127.0.0.1:8765"


# --- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "seconds"), [
    (30, 30.0), (2.5, 2.5), ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1d", 86400.0),
    ("1h30m", 5400.0), (" 10 m ", 600.0), ("1.5m", 90.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert _parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "", "5x", "m5", "-5s", True, None, [1], "1h 30", float("inf")])
def test_not_durations(text: object) -> None:
    assert _parse_duration(text) is None


@given(st.lists(st.tuples(st.integers(0, 999), st.sampled_from("smhd")), min_size=1, max_size=4))
def test_duration_is_the_sum_of_its_parts(parts: list[tuple[int, str]]) -> None:
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    assert _parse_duration("".join(f"{n}{u}" for n, u in parts)) == sum(n * unit[u] for n, u in parts)
