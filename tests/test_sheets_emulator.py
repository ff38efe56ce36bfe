"""The Google Sheets emulator, driven by real gspread (and raw httpx), every body checked against
Google's own discovery documents.

gspread is pointed at the emulator through its ``http_client=`` extension point: ``EmulatorHTTPClient``
rewrites Google's base URLs to the emulator's. Every request and answer the
emulator sees is validated, at the end of each test, with the schemas extracted from the discovery
documents into tests/data/sheets_schemas.json (tests/data/extract_sheets_schemas.py), strictly: a
field name Google does not describe fails the test. JSON ``null`` in request bodies is dropped
first (gspread sends them; Google treats them as absent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import google.auth.credentials
import gspread
import httpx
import jsonschema
import pytest
from gspread.http_client import HTTPClient
from requests import Response

from sync.emulators.sheets import Faults, SheetsEmulator, parse_fields, quote_title
from tests.conftest import SA_EMAIL, key_info
from tests.fake_time import Clock
from tests.schemas import KIND_TO_METHOD, check_exchanges
from tests.schemas import SHEETS as SCHEMAS
from tests.schemas import check_sheets as check


class EmulatorHTTPClient(HTTPClient):
    """gspread's HTTP client with Google's base URLs swapped for the emulator's. Subclass it with
    ``base_url`` set (``for_emulator``); every gspread call goes through ``request``."""

    base_url: ClassVar[str] = ""
    GOOGLE_PREFIXES = ("https://sheets.googleapis.com", "https://www.googleapis.com")

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Response:
        for prefix in self.GOOGLE_PREFIXES:
            if endpoint.startswith(prefix):
                endpoint = self.base_url + endpoint[len(prefix):]
                break
        return super().request(method, endpoint, *args, **kwargs)

    @classmethod
    def for_emulator(cls, base_url: str) -> type[EmulatorHTTPClient]:
        return type("BoundEmulatorHTTPClient", (cls,), {"base_url": base_url})


def gspread_client(emu: SheetsEmulator) -> gspread.Client:
    client = gspread.Client(google.auth.credentials.AnonymousCredentials(),
                            http_client=EmulatorHTTPClient.for_emulator(emu.base_url))
    client.set_timeout((5, 10))
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(clock: Clock) -> Iterator[SheetsEmulator]:
    with SheetsEmulator(clock=clock, record_exchanges=True, reads_per_minute=1000, writes_per_minute=1000) as e:
        yield e
        check_exchanges(e)


@pytest.fixture
def gc(emu: SheetsEmulator) -> gspread.Client:
    return gspread_client(emu)


@pytest.fixture
def sid(emu: SheetsEmulator) -> str:
    return emu.create_spreadsheet("Заказы Ozon", ["Заказы", "Настройки"])


HTTP: list[httpx.Client] = []  # one client for the module: a new one per call costs an SSL context


@pytest.fixture(scope="module", autouse=True)
def http_client() -> Iterator[None]:
    with httpx.Client(timeout=5) as client:
        HTTP.append(client)
        yield
        HTTP.clear()


def api(emu: SheetsEmulator, method: str, path: str, body: Any = None, token: str | None = None,
        **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return HTTP[0].request(method, emu.base_url + path, json=body, params=params, headers=headers)


def values_path(sid: str, a1: str, suffix: str = "") -> str:
    from urllib.parse import quote
    return f"/v4/spreadsheets/{sid}/values/{quote(a1, safe='')}{suffix}"


# --- gspread end to end ---------------------------------------------------------------------------------


def test_open_by_key_and_cyrillic_worksheet(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    sh = gc.open_by_key(sid)
    assert sh.title == "Заказы Ozon"
    ws = sh.worksheet("Заказы")
    assert (ws.title, ws.id, ws.index, ws.row_count, ws.col_count) == ("Заказы", 0, 0, 1000, 26)
    assert [w.title for w in sh.worksheets()] == ["Заказы", "Настройки"]
    method, path, query, _ = emu.requests[0]
    assert (method, path, query) == ("GET", f"/v4/spreadsheets/{sid}", {"includeGridData": ["false"]})
    assert emu.request_count == 3


def test_values_read_write_with_gspread(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Заказы")
    emu.set_values(sid, "'Заказы'!A1", [["order_id", "status", "sku"], ["A-1", "new"], ["A-2", "", "X9"]])
    assert ws.get_all_values() == [["order_id", "status", "sku"], ["A-1", "new", ""], ["A-2", "", "X9"]]
    emu.reset_log()
    ws.update([["shipped"]], "B2")
    assert emu.requests[0][:3] == ("PUT", f"/v4/spreadsheets/{sid}/values/'Заказы'!B2", {"valueInputOption": ["RAW"]})
    ranges = ws.batch_get(["A1:A", "C:C"], major_dimension="COLUMNS")
    assert ranges[0].range == "'Заказы'!A1:A1000" and ranges[0] == [["order_id", "A-1", "A-2"]]
    assert ranges[1].range == "'Заказы'!C1:C1000" and ranges[1] == [["sku", "", "X9"]]
    ws.batch_update([{"range": "B3", "values": [["packed"]]}, {"range": "D1:E1", "values": [["x", "y"]]}])
    assert emu.grid(sid, "Заказы") == [["order_id", "status", "sku", "x", "y"], ["A-1", "shipped"],
                                        ["A-2", "packed", "X9"]]
    ws.append_rows([["A-3", "new", "Z1"]], value_input_option="RAW")
    assert emu.grid(sid, "Заказы")[3] == ["A-3", "new", "Z1"]
    ws.batch_clear(["D1:E1"])
    ws2 = gc.open_by_key(sid).worksheet("Настройки")
    ws2.update([[1, 2]], "A1")
    ws2.clear()
    assert emu.grid(sid, "Настройки") == []
    assert check_exchanges(emu) >= 8


def test_raw_versus_user_entered(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Заказы")
    row = ["=SUM(1)", "0012", "'0012", 12, True, "TRUE", "1,5"]
    ws.update([row], "A1", raw=True)
    ws.update([row], "A2", raw=False)
    grid = emu.grid(sid, "Заказы")
    assert grid[0] == ["=SUM(1)", "0012", "'0012", 12, True, "TRUE", "1,5"]
    assert grid[1] == ["=SUM(1)", 12, "0012", 12, True, True, "1,5"]
    assert ws.get("A1:G2", value_render_option="UNFORMATTED_VALUE") == [
        ["=SUM(1)", "0012", "'0012", 12, True, "TRUE", "1,5"], ["=SUM(1)", 12, "0012", 12, True, True, "1,5"]]
    assert ws.get("A2:F2") == [["=SUM(1)", "12", "0012", "12", "TRUE", "TRUE"]]
    data = api(emu, "GET", f"/v4/spreadsheets/{sid}", includeGridData="true", ranges="'Заказы'!A1:B2").json()
    cells = data["sheets"][0]["data"][0]["rowData"]
    assert cells[0]["values"][0]["userEnteredValue"] == {"stringValue": "=SUM(1)"}
    assert cells[1]["values"][0]["userEnteredValue"] == {"formulaValue": "=SUM(1)"}
    assert cells[1]["values"][1] == {"userEnteredValue": {"numberValue": 12}, "effectiveValue": {"numberValue": 12},
                                     "formattedValue": "12"}
    # A TEXT ("@") number format keeps what staff type as text.
    ws.format("H:H", {"numberFormat": {"type": "TEXT", "pattern": "@"}})
    ws.update([["0012"]], "H2", raw=False)
    assert emu.grid(sid, "Заказы")[1][7] == "0012"
    assert ws.get("A2", value_render_option="FORMULA") == [["=SUM(1)"]]


def test_append_grows_the_grid_and_insert_rows(emu: SheetsEmulator, gc: gspread.Client) -> None:
    sid = emu.create_spreadsheet("small", ["Лист"], rows=3, cols=3)
    ws = gc.open_by_key(sid).worksheet("Лист")
    first = ws.append_rows([["a", "", "c"]])
    assert first["updates"]["updatedRange"] == "'Лист'!A1:C1" and "tableRange" not in first
    second = ws.append_rows([["d", "e", "f", "g"], ["h"]], table_range="A1")
    assert second["updates"]["updatedRange"] == "'Лист'!A2:D3"
    third = ws.append_rows([["i"], ["j"]], insert_data_option="INSERT_ROWS")
    assert third["tableRange"] == "'Лист'!A1:D3" and third["updates"]["updatedRange"] == "'Лист'!A4:A5"
    meta = emu.sheet_meta(sid, "Лист")["properties"]["gridProperties"]
    assert (meta["rowCount"], meta["columnCount"]) == (5, 4)
    ws.insert_rows([["top"]], row=1)
    assert emu.grid(sid, "Лист")[:2] == [["top"], ["a", "", "c"]]


def test_grid_limits(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Заказы")
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.update([["x"]], "A1001")
    assert err.value.response.status_code == 400
    assert err.value.error["message"] == "Range ('Заказы'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    assert err.value.error["status"] == "INVALID_ARGUMENT"
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        ws.update([["x"] * 3], "Y5")
    ws.resize(rows=1001)
    ws.update([["x"]], "A1001")
    assert emu.grid(sid, "Заказы")[1000] == ["x"]


def test_errors_404_403_401(clock: Clock) -> None:
    with SheetsEmulator(clock=clock, record_exchanges=True) as emu:
        sid = emu.create_spreadsheet("secret", shared_with={"boss@example.com"})
        gc = gspread_client(emu)
        with pytest.raises(gspread.SpreadsheetNotFound):
            gc.open_by_key("no-such-id")
        assert api(emu, "GET", "/v4/spreadsheets/no-such-id").json() == {
            "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}
        stranger, boss = emu.issue_token("stranger@example.com"), emu.issue_token("boss@example.com")
        denied = api(emu, "GET", f"/v4/spreadsheets/{sid}", token=stranger)
        assert denied.status_code == 403
        assert denied.json()["error"] == {"code": 403, "message": "The caller does not have permission",
                                          "status": "PERMISSION_DENIED"}
        assert api(emu, "GET", f"/v4/spreadsheets/{sid}", token=boss).status_code == 200
        assert api(emu, "GET", f"/v4/spreadsheets/{sid}").status_code == 200  # anonymous allowed by default
        assert api(emu, "GET", f"/v4/spreadsheets/{sid}", token="forged").status_code == 401
        listed = api(emu, "GET", "/drive/v3/files", token=stranger).json()
        assert listed["files"] == []
        check_exchanges(emu)
    with SheetsEmulator(allow_anonymous=False) as closed:
        sid = closed.create_spreadsheet("x")
        answer = api(closed, "GET", f"/v4/spreadsheets/{sid}")
        assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_gspread_maps_403_to_permission_error(emu: SheetsEmulator) -> None:
    sid = emu.create_spreadsheet("secret", shared_with={"boss@example.com"})
    token = emu.issue_token("stranger@example.com")

    class Bearer(google.auth.credentials.Credentials):
        def refresh(self, request: Any) -> None:
            self.token = token

    creds = Bearer()
    creds.token = token
    gc = gspread.Client(creds, http_client=EmulatorHTTPClient.for_emulator(emu.base_url))
    with pytest.raises(PermissionError):
        gc.open_by_key(sid)


def test_parse_ranges_and_echo(emu: SheetsEmulator, sid: str) -> None:
    sid2 = emu.create_spreadsheet("titles", ["Sheet1", "O'Brien", "A1", "CO2 sales"])
    emu.set_values(sid2, "Sheet1!B2", [["x", "", "z"], [], ["", "w"]])

    def echo(a1: str, book: str = sid2, **params: Any) -> dict[str, Any]:
        answer = api(emu, "GET", values_path(book, a1), **params)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert echo("Sheet1") == {"range": "Sheet1!A1:Z1000", "majorDimension": "ROWS",
                              "values": [[], ["", "x", "", "z"], [], ["", "", "w"]]}
    assert echo("B2:D")["range"] == "Sheet1!B2:D1000"  # no sheet: the first one
    assert echo("'Sheet1'!A:A") == {"range": "Sheet1!A1:A1000", "majorDimension": "ROWS"}
    assert echo("Sheet1!2:3")["range"] == "Sheet1!A2:Z3"
    assert echo("sheet1!d2")["values"] == [["z"]]
    assert echo("Sheet1!D2:B2")["range"] == "Sheet1!B2:D2"
    assert echo("'O''Brien'!A1")["range"] == "'O''Brien'!A1"
    assert echo("'A1'!A1:B2")["range"] == "'A1'!A1:B2"
    assert echo("'CO2 sales'")["range"] == "'CO2 sales'!A1:Z1000"
    assert echo("'Заказы'!A1:S1000", book=sid)["range"] == "'Заказы'!A1:S1000"
    assert echo("Sheet1!B2:D4", majorDimension="COLUMNS")["values"] == [["x"], ["", "", "w"], ["z"]]
    for bad_range in ("Nope!A1", "'Sheet1'A1", "Sheet1!A0", "Sheet1!", "'unterminated"):
        answer = api(emu, "GET", values_path(sid2, bad_range))
        assert answer.status_code == 400
        assert answer.json()["error"]["message"] == f"Unable to parse range: {bad_range}"
    bad_option = api(emu, "GET", values_path(sid2, "A1"), valueRenderOption="PRETTY")
    assert bad_option.status_code == 400
    assert quote_title("Sheet1") == "Sheet1" and quote_title("Заказы") == "'Заказы'"


def test_values_batch_update_is_atomic_and_counts(emu: SheetsEmulator, sid: str) -> None:
    body = {"valueInputOption": "RAW", "data": [
        {"range": "'Заказы'!B2", "values": [["shipped"]]},
        {"range": "'Заказы'!A4:D4", "values": [["A4", "B4", "", "D4"]]},
        {"range": "'Настройки'!A1", "majorDimension": "COLUMNS", "values": [["k", "v"]]}]}
    answer = api(emu, "POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", body).json()
    assert answer["totalUpdatedCells"] == 7 and answer["totalUpdatedSheets"] == 2
    assert answer["responses"][1] == {"spreadsheetId": sid, "updatedRange": "'Заказы'!A4:D4", "updatedRows": 1,
                                      "updatedColumns": 4, "updatedCells": 4}
    assert emu.grid(sid, "Настройки") == [["k"], ["v"]]
    version = emu.revision(sid)
    broken = {"valueInputOption": "RAW", "data": [{"range": "'Заказы'!C1", "values": [["new"]]},
                                                  {"range": "'Заказы'!A1001", "values": [["x"]]}]}
    refused = api(emu, "POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", broken)
    assert refused.status_code == 400 and "exceeds grid limits" in refused.json()["error"]["message"]
    assert emu.grid(sid, "Заказы")[0] == [] and emu.revision(sid) == version
    no_option = api(emu, "PUT", values_path(sid, "A1"), {"values": [["x"]]})
    assert no_option.status_code == 400
    too_big = api(emu, "PUT", values_path(sid, "A1:B1"), {"values": [["x", "y", "z"]]}, valueInputOption="RAW")
    assert too_big.status_code == 400 and "Requested writing within range" in too_big.json()["error"]["message"]
    cleared = api(emu, "POST", f"/v4/spreadsheets/{sid}/values:batchClear", {"ranges": ["'Заказы'!A4:D4"]}).json()
    assert cleared == {"spreadsheetId": sid, "clearedRanges": ["'Заказы'!A4:D4"]}
    assert emu.grid(sid, "Заказы") == [[], ["", "shipped"]]


def test_spreadsheet_batch_update_requests(emu: SheetsEmulator, sid: str) -> None:
    bot = "bot@p.iam.gserviceaccount.com"
    requests = [
        {"addSheet": {"properties": {"title": "Архив", "gridProperties": {"rowCount": 50, "columnCount": 5}}}},
        {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                                   "fields": "gridProperties/frozenRowCount"}},
        {"setDataValidation": {"range": {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                                   {"userEnteredValue": "new"}, {"userEnteredValue": "shipped"}]},
                                   "strict": True, "showCustomUi": True}}},
        {"addConditionalFormatRule": {"index": 0, "rule": {
            "ranges": [{"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
            "booleanRule": {"condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "cancelled"}]},
                            "format": {"backgroundColor": {"red": 1, "green": 0.8, "blue": 0.8}}}}}},
        {"addConditionalFormatRule": {"index": 1, "rule": {
            "ranges": [{"sheetId": 0, "startRowIndex": 1}],
            "booleanRule": {"condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": "=$B2=\"new\""}]},
                            "format": {"textFormat": {"bold": True}}}}}},
        {"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 1}, "description": "keys",
            "warningOnly": False, "requestingUserCanEdit": False, "editors": {"users": [bot]}}}},
        {"repeatCell": {"range": {"sheetId": 0, "startColumnIndex": 0, "endColumnIndex": 1},
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT", "pattern": "@"}}},
                        "fields": "userEnteredFormat.numberFormat"}},
        {"repeatCell": {"range": {"sheetId": 0, "endRowIndex": 1},
                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True},
                                                       "backgroundColor": {"red": 0.9, "green": 0.9, "blue": 0.9}}},
                        "fields": "userEnteredFormat(textFormat,backgroundColor)"}},
        {"setBasicFilter": {"filter": {"range": {"sheetId": 0, "startRowIndex": 0, "endColumnIndex": 19}}}},
        {"updateDimensionProperties": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0,
                                                 "endIndex": 1}, "properties": {"pixelSize": 160},
                                       "fields": "pixelSize"}},
        {"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1,
                                                 "endIndex": 3}}},
        {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 500}},
        {"updateCells": {"rows": [{"values": [{"userEnteredValue": {"stringValue": "0012"}},
                                              {"userEnteredValue": {"stringValue": "new"}}]}],
                         "fields": "userEnteredValue", "start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 0}}},
    ]
    answer = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate",
                 {"requests": requests, "includeSpreadsheetInResponse": True}).json()
    assert len(answer["replies"]) == len(requests)
    added = answer["replies"][0]["addSheet"]["properties"]
    assert (added["title"], added["index"], added["sheetType"]) == ("Архив", 2, "GRID")
    assert added["gridProperties"] == {"rowCount": 50, "columnCount": 5}
    protected = answer["replies"][5]["addProtectedRange"]["protectedRange"]
    assert protected["protectedRangeId"] > 0 and protected["editors"] == {"users": [bot]}
    assert protected["range"] == {"startColumnIndex": 0, "endColumnIndex": 1} or protected["range"] == {
        "endColumnIndex": 1}
    assert answer["replies"][1:5] == [{}, {}, {}, {}]
    assert "updatedSpreadsheet" in answer

    meta = emu.sheet_meta(sid, "Заказы")
    assert meta["frozen_rows"] == 1 and meta["properties"]["gridProperties"]["rowCount"] == 1500
    assert meta["validations"][0]["range"] == "B2:B1000"
    assert meta["validations"][0]["rule"]["condition"]["type"] == "ONE_OF_LIST"
    assert [r["booleanRule"]["condition"]["type"] for r in meta["conditional_formats"]] == ["TEXT_EQ",
                                                                                            "CUSTOM_FORMULA"]
    assert meta["protected_ranges"][0]["description"] == "keys"
    assert meta["basic_filter"] == {"range": {"endColumnIndex": 19}}
    assert meta["column_widths"] == {"A": 160}
    assert {"range": "A1", "format": {"numberFormat": {"type": "TEXT", "pattern": "@"}, "textFormat": {"bold": True},
            "backgroundColor": {"red": 0.9, "green": 0.9, "blue": 0.9}}} in meta["formats"]
    assert emu.grid(sid, "Заказы") == [[], ["0012", "new"]]

    full = api(emu, "GET", f"/v4/spreadsheets/{sid}", includeGridData="true", ranges="'Заказы'!A1:C3").json()
    sheet = full["sheets"][0]
    assert [s["properties"]["title"] for s in full["sheets"]] == ["Заказы"]
    cell = sheet["data"][0]["rowData"][1]["values"][1]
    assert cell["dataValidation"]["condition"]["values"][0] == {"userEnteredValue": "new"}
    assert sheet["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert sheet["protectedRanges"][0]["requestingUserCanEdit"] is True
    assert "conditionalFormats" in sheet and "basicFilter" in sheet

    masked = api(emu, "GET", f"/v4/spreadsheets/{sid}", fields="sheets.properties(sheetId,title)").json()
    assert masked == {"sheets": [{"properties": {"sheetId": 0, "title": "Заказы"}},
                                 {"properties": {"sheetId": masked["sheets"][1]["properties"]["sheetId"],
                                                 "title": "Настройки"}},
                                 {"properties": {"sheetId": added["sheetId"], "title": "Архив"}}]}

    undo = [
        {"deleteConditionalFormatRule": {"sheetId": 0, "index": 1}},
        {"deleteProtectedRange": {"protectedRangeId": protected["protectedRangeId"]}},
        {"clearBasicFilter": {"sheetId": 0}},
        {"setDataValidation": {"range": {"sheetId": 0, "startColumnIndex": 1, "endColumnIndex": 2}}},
        {"deleteSheet": {"sheetId": added["sheetId"]}},
        {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Orders", "hidden": False},
                                   "fields": "title,hidden"}},
    ]
    answer = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": undo}).json()
    assert answer["replies"][0]["deleteConditionalFormatRule"]["rule"]["booleanRule"]["condition"]["type"] == \
        "CUSTOM_FORMULA"
    meta = emu.sheet_meta(sid, "Orders")
    assert (meta["protected_ranges"], meta["basic_filter"], meta["validations"]) == ([], None, [])
    assert len(meta["conditional_formats"]) == 1


def test_batch_update_is_all_or_nothing(emu: SheetsEmulator, sid: str) -> None:
    version = emu.revision(sid)
    requests = [{"addSheet": {"properties": {"title": "New"}}},
                {"deleteSheet": {"sheetId": 424242}}]
    answer = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": requests})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Invalid requests[1].deleteSheet: No grid with id: 424242"
    assert [s["properties"]["title"] for s in api(emu, "GET", f"/v4/spreadsheets/{sid}").json()["sheets"]] == [
        "Заказы", "Настройки"]
    assert emu.revision(sid) == version
    unknown = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"sortRangeX": {}}]})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith('Invalid JSON payload received. Unknown name "sortRangeX"')
    duplicate = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate",
                    {"requests": [{"addSheet": {"properties": {"title": "заказы"}}}]})
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["error"]["message"]
    other = emu.sheet_meta(sid, "Настройки")["properties"]["sheetId"]
    last = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate",
               {"requests": [{"updateSheetProperties": {"properties": {"sheetId": 0, "hidden": True},
                                                        "fields": "hidden"}},
                             {"updateSheetProperties": {"properties": {"sheetId": other, "hidden": True},
                                                        "fields": "hidden"}}]})
    assert last.json()["error"]["message"] == \
        "Invalid requests[1].updateSheetProperties: You can't hide all the sheets in a document."


def test_dimension_changes_shift_cells_validations_and_ranges(emu: SheetsEmulator, gc: gspread.Client,
                                                              sid: str) -> None:
    emu.set_values(sid, "'Заказы'!A1", [["id", "status"], ["A-1", "new"], ["A-2", "packed"], ["A-3", "shipped"],
                                       ["A-4", "new"]])
    requests = [
        {"setDataValidation": {"range": {"sheetId": 0, "startRowIndex": 3, "endRowIndex": 5, "startColumnIndex": 1,
                                         "endColumnIndex": 2},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "x"}]}}}},
        {"addProtectedRange": {"protectedRange": {"range": {"sheetId": 0, "startRowIndex": 3, "endRowIndex": 5}}}},
        {"addConditionalFormatRule": {"rule": {"ranges": [{"sheetId": 0, "startRowIndex": 1, "endRowIndex": 3}],
                                               "booleanRule": {"condition": {"type": "NOT_BLANK"},
                                                               "format": {"textFormat": {"bold": True}}}}}},
    ]
    api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": requests})
    ws = gc.open_by_key(sid).worksheet("Заказы")
    ws.delete_rows(2, 3)  # rows 2..3 go
    assert emu.grid(sid, "Заказы") == [["id", "status"], ["A-3", "shipped"], ["A-4", "new"]]
    meta = emu.sheet_meta(sid, "Заказы")
    assert meta["validations"] == [{"range": "B2:B3", "rule": {"condition": {"type": "ONE_OF_LIST",
                                                                             "values": [{"userEnteredValue": "x"}]}}}]
    assert meta["protected_ranges"][0]["range"] == {"startRowIndex": 1, "endRowIndex": 3}
    assert meta["conditional_formats"] == []  # its rows were deleted: the rule goes
    assert meta["properties"]["gridProperties"]["rowCount"] == 998
    api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"insertDimension": {
        "range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 2, "endIndex": 3}, "inheritFromBefore": True}}]})
    assert emu.grid(sid, "Заказы") == [["id", "status"], ["A-3", "shipped"], [], ["A-4", "new"]]
    meta = emu.sheet_meta(sid, "Заказы")
    assert meta["validations"][0]["range"] == "B2:B4"
    assert meta["protected_ranges"][0]["range"] == {"startRowIndex": 1, "endRowIndex": 4}
    api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [{"deleteDimension": {
        "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}]})
    assert emu.grid(sid, "Заказы") == [["status"], ["shipped"], [], ["new"]]


def test_update_cells_with_range_clears_uncovered(emu: SheetsEmulator, sid: str) -> None:
    emu.set_values(sid, "'Заказы'!A1", [["a", "b", "c"]])
    request = {"updateCells": {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "endColumnIndex": 3},
                               "rows": [{"values": [{"userEnteredValue": {"numberValue": 7}}]}],
                               "fields": "userEnteredValue"}}
    api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [request]})
    assert emu.grid(sid, "Заказы") == [[7]]
    append = {"appendCells": {"sheetId": 0, "fields": "userEnteredValue",
                              "rows": [{"values": [{"userEnteredValue": {"boolValue": True}},
                                                   {"userEnteredValue": {"formulaValue": "=A1*2"}}]}]}}
    api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [append]})
    assert emu.grid(sid, "Заказы") == [[7], [True, "=A1*2"]]
    too_far = {"updateCells": {"start": {"sheetId": 0, "rowIndex": 1000}, "fields": "userEnteredValue",
                               "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}]}}
    answer = api(emu, "POST", f"/v4/spreadsheets/{sid}:batchUpdate", {"requests": [too_far]})
    assert answer.status_code == 400 and "exceeds grid limits" in answer.json()["error"]["message"]


def test_quota_sliding_window(clock: Clock) -> None:
    with SheetsEmulator(clock=clock, reads_per_minute=3, writes_per_minute=2, record_exchanges=True) as emu:
        sid = emu.create_spreadsheet("q")
        for _ in range(3):
            assert api(emu, "GET", values_path(sid, "A1")).status_code == 200
        answer = api(emu, "GET", values_path(sid, "A1"))
        assert answer.status_code == 429
        assert answer.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert answer.json()["error"]["message"].startswith(
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user' of "
            "service 'sheets.googleapis.com'")
        write = api(emu, "PUT", values_path(sid, "A1"), {"values": [["x"]]}, valueInputOption="RAW")
        assert write.status_code == 200  # writes have their own bucket
        assert api(emu, "GET", f"/drive/v3/files/{sid}").status_code == 200  # Drive is not Sheets quota
        clock.tick(30)
        assert api(emu, "GET", values_path(sid, "A1")).status_code == 429
        clock.tick(31)
        assert api(emu, "GET", values_path(sid, "A1")).status_code == 200
        for value in ("y", "z"):  # the first write left the window
            assert api(emu, "PUT", values_path(sid, "A1"), {"values": [[value]]}, valueInputOption="RAW").is_success
        refused = api(emu, "PUT", values_path(sid, "A1"), {"values": [["w"]]}, valueInputOption="RAW")
        assert refused.status_code == 429 and "'Write requests'" in refused.json()["error"]["message"]
        assert emu.grid(sid, "Sheet1") == [["z"]]
        check_exchanges(emu)


def test_faults(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    emu.faults.queue("values.get", "500", "503", "429", "html")
    for code in (500, 503, 429):
        answer = api(emu, "GET", values_path(sid, "A1"))
        assert answer.status_code == code and answer.json()["error"]["code"] == code
    html = api(emu, "GET", values_path(sid, "A1"))
    assert html.status_code == 502 and html.headers["content-type"].startswith("text/html")
    assert api(emu, "GET", values_path(sid, "A1")).status_code == 200
    emu.faults.queue("values.update", "drop", "drop_applied")
    with pytest.raises(httpx.TransportError):
        api(emu, "PUT", values_path(sid, "'Заказы'!A1"), {"values": [["lost"]]}, valueInputOption="RAW")
    assert emu.grid(sid, "Заказы") == []
    with pytest.raises(httpx.TransportError):
        api(emu, "PUT", values_path(sid, "'Заказы'!A1"), {"values": [["applied"]]}, valueInputOption="RAW")
    assert emu.grid(sid, "Заказы") == [["applied"]]
    emu.faults.slow_seconds = 0.3
    emu.faults.queue("*", "slow")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(emu.base_url + values_path(sid, "A1"), timeout=0.1)
    emu.faults.queue("spreadsheets.get", "429")
    with pytest.raises(gspread.exceptions.APIError) as err:
        gc.open_by_key(sid)
    assert err.value.code == 429
    seeded = Faults(rate_500=1.0)
    assert seeded.pick("values.get", __import__("random").Random(1)) == "500"


def test_drive_version_and_modified_time(emu: SheetsEmulator, gc: gspread.Client, sid: str, clock: Clock) -> None:
    before = api(emu, "GET", f"/drive/v3/files/{sid}", fields="id,name,mimeType,modifiedTime,version",
                 supportsAllDrives="true").json()
    assert before == {"id": sid, "name": "Заказы Ozon", "mimeType": "application/vnd.google-apps.spreadsheet",
                      "modifiedTime": "2026-11-23T09:00:00.000Z", "version": before["version"]}
    sh = gc.open_by_key(sid)
    assert sh.get_lastUpdateTime() == "2026-11-23T09:00:00.000Z"
    clock.tick(5)
    sh.worksheet("Заказы").update([["x"]], "A1")
    after = api(emu, "GET", f"/drive/v3/files/{sid}", fields="version,modifiedTime").json()
    assert int(after["version"]) == int(before["version"]) + 1
    assert after["modifiedTime"] == "2026-11-23T09:00:05.000Z"
    api(emu, "GET", values_path(sid, "A1"))  # reads change nothing
    assert api(emu, "GET", f"/drive/v3/files/{sid}", fields="version").json() == {"version": after["version"]}
    emu.set_values(sid, "'Заказы'!B2", [["typed"]])  # a person's edit counts too
    assert int(emu.drive_file(sid)["version"]) == int(after["version"]) + 1
    assert api(emu, "GET", "/drive/v3/files/nope").json()["error"]["code"] == 404


def test_open_by_title_list_create_delete(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    emu.create_spreadsheet("Другая")
    assert gc.open("Заказы Ozon").id == sid
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open("Нет такой")
    names = sorted(f["name"] for f in gc.list_spreadsheet_files())
    assert names == ["Другая", "Заказы Ozon"]
    created = gc.create("Новая")
    assert created.sheet1.title == "Sheet1"
    gc.del_spreadsheet(created.id)
    assert created.id not in emu.spreadsheet_ids()
    sh = gc.open_by_key(sid)
    ws = sh.add_worksheet("Журнал", rows=10, cols=4)
    assert (ws.row_count, ws.col_count, ws.index) == (10, 4, 2)
    ws.freeze(rows=1)
    ws.set_basic_filter("A1:D10")
    ws.add_protected_range("A1:A10", editor_users_emails=["bot@example.com"], description="keys")
    ws.add_validation("B2:B10", gspread.utils.ValidationConditionType.one_of_list, ["new", "shipped"],
                      showCustomUi=True, strict=True)
    meta = emu.sheet_meta(sid, "Журнал")
    assert meta["frozen_rows"] == 1 and meta["validations"][0]["range"] == "B2:B10"
    assert meta["basic_filter"]["range"]["endRowIndex"] == 10
    assert meta["protected_ranges"][0]["editors"] == {"users": ["bot@example.com"], "groups": []}


def test_in_process_person_edits(emu: SheetsEmulator, sid: str) -> None:
    emu.set_values(sid, "'Заказы'!A1", [["id", "qty", "status"], ["c", "3", "new"], ["a", "10", "x"], ["", "", ""],
                                       ["b", "2", "'007"]])
    emu.sort_rows(sid, "Заказы", "A", start_row=2)
    assert emu.grid(sid, "Заказы") == [["id", "qty", "status"], ["a", 10, "x"], ["b", 2, "007"], ["c", 3, "new"]]
    emu.sort_rows(sid, "Заказы", 2, start_row=2, reverse=True)
    assert [row[0] for row in emu.grid(sid, "Заказы")[1:]] == ["a", "c", "b"]
    emu.delete_rows(sid, "Заказы", 2)
    assert emu.grid(sid, "Заказы")[1:] == [["c", 3, "new"], ["b", 2, "007"]]
    assert parse_fields("sheets(properties/title,data),namedRanges") == {
        "sheets": {"properties": {"title": True}, "data": True}, "namedRanges": True}


def test_one_sync_cycle_costs_few_requests(emu: SheetsEmulator, gc: gspread.Client, sid: str) -> None:
    ws = gc.open_by_key(sid).worksheet("Заказы")
    emu.set_values(sid, "'Заказы'!A1", [["id", "status"], ["A-1", "new"]])
    emu.reset_log()
    sh = ws.spreadsheet
    sh.values_batch_get(["'Заказы'!A2:A", "'Заказы'!B2:B"], params={"majorDimension": "COLUMNS"})
    sh.values_batch_update({"valueInputOption": "RAW", "data": [{"range": "'Заказы'!C2", "values": [["x"]]}]})
    assert emu.request_count <= 3
    assert [r[0] for r in emu.requests] == ["GET", "POST"]


# --- service account: the real google-auth token flow, never leaving 127.0.0.1 ------------------------------


def test_service_account_through_the_token_endpoint(emu: SheetsEmulator, service_account_key: str,
                                                    loopback_only: list[str]) -> None:
    sid = emu.create_spreadsheet("shared", ["Заказы"], shared_with={SA_EMAIL})
    private = emu.create_spreadsheet("private", shared_with={"someone@example.com"})
    gc = gspread.service_account_from_dict(key_info(emu, service_account_key),
                                           http_client=EmulatorHTTPClient.for_emulator(emu.base_url))
    gc.set_timeout((5, 10))
    ws = gc.open_by_key(sid).worksheet("Заказы")
    ws.update([["ok"]], "A1")
    assert emu.grid(sid, "Заказы") == [["ok"]]
    token_calls = [r for r in emu.requests if r[1] == "/token"]
    assert len(token_calls) == 1 and "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in \
        token_calls[0][3]
    assert list(emu.tokens.values()) == [SA_EMAIL]
    with pytest.raises(PermissionError):
        gc.open_by_key(private)
    assert loopback_only == []


def test_service_account_self_signed_jwt(emu: SheetsEmulator, service_account_key: str,
                                         loopback_only: list[str]) -> None:
    from google.oauth2 import service_account

    sid = emu.create_spreadsheet("shared", shared_with={SA_EMAIL})
    creds = service_account.Credentials.from_service_account_info(
        key_info(emu, service_account_key), scopes=["https://www.googleapis.com/auth/spreadsheets"],
        always_use_jwt_access=True)
    gc = gspread.Client(creds, http_client=EmulatorHTTPClient.for_emulator(emu.base_url))
    gc.set_timeout((5, 10))
    assert gc.open_by_key(sid).title == "shared"
    assert not [r for r in emu.requests if r[1] == "/token"] and emu.tokens == {}
    assert loopback_only == []


def test_token_endpoint_rejects_bad_grants(emu: SheetsEmulator) -> None:
    wrong = HTTP[0].post(emu.token_uri, data={"grant_type": "password", "assertion": "a.b.c"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "unsupported_grant_type"
    garbage = HTTP[0].post(emu.token_uri, data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                              "assertion": "not-a-jwt"})
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_grant"


def test_the_schema_check_is_strict() -> None:
    check("ValueRange", {"range": "Sheet1!A1", "majorDimension": "ROWS", "values": [["a", 1, True]]})
    with pytest.raises(jsonschema.ValidationError):
        check("ValueRange", {"range": "Sheet1!A1", "majorDimension": "ROWS", "rows": []})
    with pytest.raises(jsonschema.ValidationError):
        check("Spreadsheet", {"sheets": [{"properties": {"sheetId": 0, "gridProperties": {"rows": 5}}}]})
    with pytest.raises(jsonschema.ValidationError):
        check("BatchUpdateSpreadsheetRequest", {"requests": [{"sortRangeX": {}}]})
    assert set(KIND_TO_METHOD.values()) <= set(SCHEMAS["methods"])
