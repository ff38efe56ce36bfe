"""Label files uploaded to a Google Drive folder: DriveFolder (through a GoogleBackend's own HTTP client
and a real service-account sign-in) against the Sheets emulator's Drive side over HTTP — the bytes land
in the folder and come back by ``alt=media``, the link is the file's, refusals read as plain sentences,
a 429 is tried again and a 5xx is not; every request is checked against Drive's discovery document
(tests/data/drive_upload.json, tests/data/sheets_schemas.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.backends.google import GoogleBackend
from sync.backends.google_drive import DriveFolder
from sync.backends.google_http import SCOPES
from sync.emulators.sheets import SheetsEmulator
from sync.errors import ItemError, SheetAccessError, SheetUnavailable
from tests.backend_contract import COLUMNS
from tests.conftest import SA_EMAIL, key_info
from tests.people import SHEET
from tests.schemas import check_exchanges

DRIVE = json.loads((Path(__file__).parent / "data" / "drive_upload.json").read_text(encoding="utf-8"))
CREATE = DRIVE["files.create"]
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\r\n--not-a-boundary\r\n\x00\xff" * 50 + b"%%EOF\n"
JSON_TYPES = {"string": str, "boolean": bool, "integer": int, "object": dict, "array": list}


@pytest.fixture
def emu(loopback_only: list[str]) -> Iterator[SheetsEmulator]:
    """Google as the service account meets it: no anonymous callers; every body checked at the end."""
    with SheetsEmulator(allow_anonymous=False, record_exchanges=True) as e:
        yield e
        check_exchanges(e)
        check_upload_requests(e)
    assert loopback_only == []


@pytest.fixture
def backend(emu: SheetsEmulator, tmp_path: Path, service_account_key: str) -> Iterator[GoogleBackend]:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps(key_info(emu, service_account_key)), encoding="utf-8")
    sid = emu.create_spreadsheet("Заказы Ozon", [SHEET], shared_with={SA_EMAIL})
    b = GoogleBackend(sid, SHEET, COLUMNS, credentials=str(key), api_endpoint=emu.base_url, retries=2,
                      sleep=lambda s: None)
    yield b
    b.close()


def check_upload_requests(emu: SheetsEmulator) -> None:
    """Each upload went to files.create's media-upload path with parameters the method has, and its
    metadata part names File fields with their types."""
    params = CREATE["parameters"]
    for method, path, query, logged in emu.requests:
        if not path.startswith("/upload/"):
            continue
        assert method == CREATE["httpMethod"]
        assert path == CREATE["mediaUpload"]["simple"]["path"] and CREATE["mediaUpload"]["simple"]["multipart"]
        for name, values in query.items():
            assert name in params and params[name]["location"] == "query", name
            if params[name]["type"] == "boolean":
                assert values == ["true"] or values == ["false"], (name, values)
        assert query["uploadType"] == ["multipart"]
        assert set(query["fields"][0].split(",")) <= set(DRIVE["File"])
        assert isinstance(logged, dict), "the body is not multipart/related with a JSON metadata part"
        for name, value in logged.items():
            field = DRIVE["File"][name]
            assert isinstance(value, JSON_TYPES[field["type"]]), (name, value)
            if isinstance(value, list):
                assert all(isinstance(v, JSON_TYPES[field["items"]]) for v in value)


def read_back(emu: SheetsEmulator, file_id: str, **params: str) -> requests.Response:
    """A person (the service account's token) fetching the file through Drive's files.get."""
    token = emu.issue_token(SA_EMAIL)
    assert set(params) | {"supportsAllDrives"} <= set(DRIVE["files.get"]["parameters"])
    return requests.get(f"{emu.base_url}/drive/v3/{DRIVE['files.get']['path'].format(fileId=file_id)}",
                        params={"supportsAllDrives": "true", **params},
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)


def file_id_of(link: str) -> str:
    assert link.startswith("https://drive.google.com/file/d/") and link.endswith("/view"), link
    return link[len("https://drive.google.com/file/d/"):-len("/view")]


# --- uploads -------------------------------------------------------------------------------------------


def test_a_label_lands_in_the_folder_with_its_bytes_and_the_link_is_the_files(
        emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Этикетки", shared_with={SA_EMAIL})
    link = backend.drive_folder(folder).upload("12345678-0001-1.pdf", PDF)
    assert emu.folder_files(folder) == {"12345678-0001-1.pdf": PDF}
    file_id = file_id_of(link)
    media = read_back(emu, file_id, alt="media")
    assert media.status_code == 200 and media.content == PDF
    assert media.headers["content-type"] == "application/pdf"
    meta = read_back(emu, file_id, fields="id,name,mimeType,parents,size,webViewLink").json()
    assert meta == {"id": file_id, "name": "12345678-0001-1.pdf", "mimeType": "application/pdf",
                    "parents": [folder], "size": str(len(PDF)), "webViewLink": link}
    assert "https://www.googleapis.com/auth/drive.file" in SCOPES and set(SCOPES) & set(CREATE["scopes"])


def test_the_folder_may_be_given_by_its_url_and_uploads_share_the_backends_client(
        emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Этикетки", shared_with={SA_EMAIL})
    drive = DriveFolder(backend, f"https://drive.google.com/drive/folders/{folder}?usp=sharing")
    before = backend.requests
    drive.upload("a.pdf", b"%PDF-a")
    drive.upload("b.png", b"\x89PNG", mime="image/png")
    assert backend.requests - before == 2  # one request each, on the backend's own counter
    assert emu.folder_files(folder) == {"a.pdf": b"%PDF-a", "b.png": b"\x89PNG"}


def test_a_folder_not_shared_with_the_service_account_says_to_share_it(
        emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Чужая папка", shared_with={"someone@else.ru"})
    drive = backend.drive_folder(folder)
    with pytest.raises(SheetAccessError) as err:
        drive.upload("1-1-1.pdf", PDF)
    assert str(err.value) == (f"Google Drive has no folder {folder} that {SA_EMAIL} can see: check "
                              f"labels.drive_folder (the id is the part of the folder's URL after /folders/) and "
                              f"share the folder with {SA_EMAIL}")
    emu.share_folder(folder, SA_EMAIL)  # a person shares it: the next try lands
    drive.upload("1-1-1.pdf", PDF)
    assert list(emu.folder_files(folder)) == ["1-1-1.pdf"]


def test_a_folder_shared_read_only_says_to_share_it_as_an_editor(
        emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Только чтение", shared_with={"owner@shop.ru"}, readers={SA_EMAIL})
    with pytest.raises(SheetAccessError, match=f"refuses to add files to folder {folder}: share the folder with "
                                               f"{SA_EMAIL} as an editor"):
        backend.drive_folder(folder).upload("1-1-1.pdf", PDF)
    assert emu.folder_files(folder) == {}


def test_an_unknown_folder_is_named(emu: SheetsEmulator, backend: GoogleBackend) -> None:
    with pytest.raises(SheetAccessError, match="Google Drive has no folder 1NoSuchFolder that .* check "
                                               "labels.drive_folder"):
        backend.drive_folder("1NoSuchFolder").upload("1-1-1.pdf", PDF)


def test_a_my_drive_folder_says_a_shared_drive_is_needed(emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Мой диск", shared_with={SA_EMAIL}, shared_drive=False)
    with pytest.raises(SheetAccessError, match=f"folder {folder}: a service account has no storage of its own, so "
                                               "the folder must be on a shared drive"):
        backend.drive_folder(folder).upload("1-1-1.pdf", PDF)


def test_a_429_is_tried_again_and_the_file_lands_once(emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Этикетки", shared_with={SA_EMAIL})
    emu.faults.queue("drive.files.upload", "429")
    drive = backend.drive_folder(folder)
    drive.upload("1-1-1.pdf", PDF)
    uploads = [r for r in emu.requests if r[1].startswith("/upload/")]
    assert len(uploads) == 2 and len(emu.drive_files.files) == 2  # the folder and one file
    emu.faults.queue("drive.files.upload", "429", "429", "429")  # retries=2: three tries, all refused
    with pytest.raises(SheetUnavailable, match="Google Drive's quota is used up for now"):
        drive.upload("2-2-2.pdf", PDF)
    assert list(emu.folder_files(folder)) == ["1-1-1.pdf"]


def test_a_server_error_on_an_upload_is_not_repeated(emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Этикетки", shared_with={SA_EMAIL})
    drive = backend.drive_folder(folder)
    drive.upload("warm-up.pdf", b"%PDF")  # signs in first
    before = backend.requests
    emu.faults.queue("drive.files.upload", "503")
    with pytest.raises(SheetUnavailable, match="may or may not have landed"):
        drive.upload("1-1-1.pdf", PDF)
    assert backend.requests - before == 1
    emu.faults.queue("drive.files.upload", "drop")  # the connection breaks after the request went out
    with pytest.raises(SheetUnavailable, match="Google Drive did not answer while a file was uploaded"):
        drive.upload("1-1-1.pdf", PDF)
    assert backend.requests - before == 2


def test_drive_refusing_the_file_itself_is_an_item_error(emu: SheetsEmulator, backend: GoogleBackend) -> None:
    folder = emu.create_folder("Этикетки", shared_with={SA_EMAIL})
    with pytest.raises(ItemError, match="Google Drive refused the file a folder.pdf"):
        backend.drive_folder(folder).upload("a folder.pdf", b"", mime="application/vnd.google-apps.folder")


def test_a_service_that_is_down_reads_as_unavailable() -> None:
    down = GoogleBackend("key", SHEET, COLUMNS, credentials="anonymous", api_endpoint="http://127.0.0.1:9",
                         retries=1, sleep=lambda s: None)
    with pytest.raises(SheetUnavailable):
        down.drive_folder("1Folder").upload("1-1-1.pdf", PDF)


# --- the emulator's Drive side, spoken to directly --------------------------------------------------------


@pytest.fixture
def bare() -> Iterator[SheetsEmulator]:
    """The emulator spoken to by hand (bodies we make wrong on purpose); its answers are still checked."""
    with SheetsEmulator(allow_anonymous=False, record_exchanges=True) as e:
        yield e
        check_exchanges(e)


def post(emu: SheetsEmulator, path: str, body: bytes, content_type: str, **params: str) -> requests.Response:
    return requests.post(f"{emu.base_url}{path}", params=params, data=body, timeout=5,
                         headers={"Content-Type": content_type,
                                  "Authorization": f"Bearer {emu.issue_token('clerk@shop.ru')}"})


def drive_error(response: requests.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == response.status_code and error["errors"][0]["message"] == error["message"]
    return error


def test_the_emulator_refuses_an_upload_that_is_not_multipart(bare: SheetsEmulator) -> None:
    folder = bare.create_folder("Этикетки")
    answer = post(bare, "/upload/drive/v3/files", PDF, "application/pdf", uploadType="multipart")
    assert answer.status_code == 400
    assert drive_error(answer)["message"] == "Bad content type. Please use multipart."
    meta = json.dumps({"name": "x.pdf", "parents": [folder]}).encode()
    one_part = b"--b\r\nContent-Type: application/json\r\n\r\n" + meta + b"\r\n--b--\r\n"
    answer = post(bare, "/upload/drive/v3/files", one_part, "multipart/related; boundary=b", uploadType="multipart")
    assert answer.status_code == 400 and drive_error(answer)["errors"][0]["reason"] == "badRequest"
    assert bare.folder_files(folder) == {}


def test_the_emulator_makes_folders_over_http_and_hides_what_the_caller_cannot_see(bare: SheetsEmulator) -> None:
    answer = post(bare, "/drive/v3/files", json.dumps({"name": "Этикетки", "mimeType":
                  "application/vnd.google-apps.folder"}).encode(), "application/json", fields="id,mimeType")
    assert answer.status_code == 200
    folder = answer.json()["id"]
    assert answer.json() == {"id": folder, "mimeType": "application/vnd.google-apps.folder"}
    meta = json.dumps({"name": "x.pdf", "parents": [folder], "mimeType": "application/pdf"}).encode()
    body = (b"--b\r\nContent-Type: application/json\r\n\r\n" + meta + b"\r\n--b\r\nContent-Type: application/pdf"
            b"\r\n\r\n%PDF-x\r\n--b--\r\n")
    answer = post(bare, "/upload/drive/v3/files", body, "multipart/related; boundary=b", uploadType="multipart")
    assert answer.status_code == 200 and set(answer.json()) == {"kind", "id", "name", "mimeType"}
    assert bare.folder_files(folder) == {"x.pdf": b"%PDF-x"}
    stranger = requests.get(f"{bare.base_url}/drive/v3/files/{answer.json()['id']}", timeout=5,
                            headers={"Authorization": f"Bearer {bare.issue_token('other@shop.ru')}"})
    assert stranger.status_code == 404
    assert drive_error(stranger)["message"] == f"File not found: {answer.json()['id']}."


def test_the_emulator_keeps_the_media_byte_exact_even_without_part_headers(bare: SheetsEmulator) -> None:
    folder = bare.create_folder("Этикетки")
    media = b"\r\n\r\n--x\r\n\r\n\x00"  # blank lines and dashes, not the boundary (RFC 2046 forbids it)
    meta = json.dumps({"name": "x.bin", "parents": [folder]}).encode()
    body = b"--b \r\n\r\n" + meta + b"\r\n--b\r\n\r\n" + media + b"\r\n--b--"
    answer = post(bare, "/upload/drive/v3/files", body, 'multipart/related; boundary="b"', uploadType="multipart",
                  supportsAllDrives="true", fields="mimeType,size")
    assert answer.json() == {"mimeType": "application/octet-stream", "size": str(len(media))}
    assert bare.folder_files(folder) == {"x.bin": media}
