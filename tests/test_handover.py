"""`ozon-sync handover`: a carriage per delivery method with the packed postings, approved, its act and
waybill saved beside the labels — through the real command line and the Ozon emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.cli import main
from sync.config import load_config
from sync.emulators.ozon import OzonEmulator
from sync.ozon import OzonClient
from sync.ozon.fbs_day import FbsDay
from tests.conftest import API_KEY, CLIENT_ID, write_config
from tests.fake_time import FakeTime


@pytest.fixture
def cfg(tmp_path: Path, emulator: OzonEmulator) -> Path:
    return write_config(tmp_path, emulator.base_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv), edges=FakeTime().edges())
    out = capsys.readouterr()
    return code, out.out + out.err


def carriage_calls(emulator: OzonEmulator) -> list[str]:
    return [w["action"] for w in emulator.write_log if w["action"].startswith("carriage")]


def method_of(emulator: OzonEmulator, number: str) -> tuple[int, str]:
    m = emulator.posting(number)["delivery_method"]
    return int(m["id"]), str(m["name"])


def test_packed_postings_are_handed_over_once_and_the_act_is_saved(cfg: Path, emulator: OzonEmulator,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    packed = [emulator.add_posting(status="awaiting_deliver") for _ in range(3)]
    not_packed = emulator.add_posting()
    code, text = run(capsys, "--config", str(cfg), "handover")
    assert code == 0, text
    method_id, name = method_of(emulator, packed[0])
    assert f"«{name}»: carriage " in text and "with 3 posting(s), formed; act and waybill:" in text
    (act,) = (tmp_path / "labels").glob("*/act-*.pdf")  # labels/ beside the workbook
    pdf = act.read_bytes()
    assert pdf.startswith(b"%PDF-") and all(n.encode() in pdf for n in packed) and not_packed.encode() not in pdf
    assert carriage_calls(emulator) == ["carriage_create", "carriage_approve"]
    code, text = run(capsys, "--config", str(cfg), "handover")  # again: nothing left, nothing made
    assert code == 0 and "Nothing to hand over" in text
    assert carriage_calls(emulator) == ["carriage_create", "carriage_approve"]


def test_a_carriage_made_but_not_approved_is_approved_not_made_again(cfg: Path, emulator: OzonEmulator,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    packed = emulator.add_posting(status="awaiting_deliver")
    method_id, _name = method_of(emulator, packed)
    with OzonClient(CLIENT_ID, API_KEY, emulator.base_url) as client:
        made = FbsDay(client).create_carriage(method_id)  # as if the command had stopped right after this
    code, text = run(capsys, "--config", str(cfg), "handover")
    assert code == 0, text
    assert f"carriage {made} with the postings it held, formed" in text
    assert carriage_calls(emulator) == ["carriage_create", "carriage_approve"]


def test_one_delivery_method_by_name_and_an_unknown_one_named_with_those_there_are(
        cfg: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    a = emulator.add_posting(status="awaiting_deliver")
    b = emulator.add_posting(status="awaiting_deliver")
    emulator.set_warehouse(b, "Склад 2", method="Курьер Ozon")
    (id_a, name_a), (id_b, name_b) = method_of(emulator, a), method_of(emulator, b)
    code, text = run(capsys, "--config", str(cfg), "handover", "--delivery-method", "нет такого")
    assert code == 1 and "Nothing to hand over for «нет такого»" in text
    assert f"«{name_a}» ({id_a})" in text and f"«{name_b}» ({id_b})" in text
    code, text = run(capsys, "--config", str(cfg), "handover", "--delivery-method", name_b.upper())
    assert code == 0, text
    assert f"«{name_b}»: carriage" in text and f"«{name_a}»" not in text
    assert carriage_calls(emulator) == ["carriage_create", "carriage_approve"]


def test_a_labels_folder_that_cannot_be_written_stops_before_anything_is_made(
        tmp_path: Path, emulator: OzonEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "blocked").write_text("a file, not a folder")
    cfg = write_config(tmp_path, emulator.base_url, extra="labels:\n  folder: blocked/labels\n")
    assert load_config(cfg).labels_folder() == tmp_path / "blocked" / "labels"
    emulator.add_posting(status="awaiting_deliver")
    code, text = run(capsys, "--config", str(cfg), "handover")
    assert code == 1 and "Labels cannot be saved in" in text and "labels.folder" in text
    assert carriage_calls(emulator) == []


def test_a_bad_date_is_named(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = run(capsys, "--config", str(cfg), "handover", "--date", "завтра")
    assert code == 2 and "--date 'завтра' is not a date" in text
