"""`ozon-sync labels`: a PDF of chosen postings' labels, through the real command line and the Ozon
emulator over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.cli import main
from sync.emulators.ozon import OzonEmulator
from tests.conftest import write_config
from tests.fake_time import FakeTime


@pytest.fixture
def cfg(tmp_path: Path, emulator: OzonEmulator) -> Path:
    emulator.set_label_delay(0)
    return write_config(tmp_path, emulator.base_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv), edges=FakeTime().edges())
    out = capsys.readouterr()
    return code, out.out + out.err


def test_labels_of_named_postings_in_one_pdf(cfg: Path, emulator: OzonEmulator, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    a, b = (emulator.add_posting(status="awaiting_deliver") for _ in range(2))
    out = tmp_path / "labels.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--postings", f"{a}, {b}", "-o", str(out))
    assert code == 0, text
    assert f"Labels of 2 posting(s) written to {out}" in text
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-") and a.encode() in pdf and b.encode() in pdf


def test_labels_of_every_posting_awaiting_shipment_at_a_warehouse(cfg: Path, emulator: OzonEmulator, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    packed = [emulator.add_posting(status="awaiting_deliver") for _ in range(23)]  # more than one call's 20
    not_yet = emulator.add_posting()
    elsewhere = emulator.add_posting(status="awaiting_deliver")
    emulator.set_warehouse(elsewhere, "Склад 9")
    assert run(capsys, "--config", str(cfg), "pull")[0] == 0
    warehouse = emulator.posting(packed[0])["delivery_method"]["warehouse"]
    out = tmp_path / "today.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--status", "awaiting_deliver", "--warehouse", warehouse,
                     "-o", str(out))
    assert code == 0, text
    pdf = out.read_bytes()
    assert all(n.encode() in pdf for n in packed) and not_yet.encode() not in pdf and elsewhere.encode() not in pdf


def test_a_posting_that_cannot_have_a_label_is_named_and_nothing_is_written(
        cfg: Path, emulator: OzonEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packed, not_packed = emulator.add_posting(status="awaiting_deliver"), emulator.add_posting()
    out = tmp_path / "labels.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--postings", f"{packed},{not_packed},404-0000-1",
                     "-o", str(out))
    assert code == 1
    assert f"{not_packed}: it is «Ожидает сборки» (awaiting_packaging); Ozon makes a label only once" in text
    assert "404-0000-1: Ozon does not know it" in text
    assert packed not in text.replace(str(out), "")
    assert not out.exists() and list(tmp_path.glob("*.pdf")) == [] and not list(tmp_path.glob(".labels*"))


def test_labels_asked_for_too_soon_after_packing_say_so(cfg: Path, emulator: OzonEmulator, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    emulator.set_label_delay(3600)
    n = emulator.add_posting(status="awaiting_deliver")
    out = tmp_path / "labels.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--postings", n, "-o", str(out))
    assert code == 1 and "Ozon has not made these labels yet" in text and not out.exists()


def test_a_posting_ozon_cannot_label_fails_the_batch_in_ozon_words(cfg: Path, emulator: OzonEmulator,
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = (emulator.add_posting(status="awaiting_deliver") for _ in range(2))
    emulator.make_unlabelable(bad, "label cannot be generated")
    out = tmp_path / "labels.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--postings", f"{good},{bad}", "-o", str(out))
    assert code == 1 and "Ozon refused the labels" in text and not out.exists()


@pytest.mark.parametrize(("argv", "words"), [
    (["--postings", "1-1-1", "-o", "labels.txt"], "labels are a PDF file; give a file name ending in .pdf"),
    (["--postings", "1-1-1", "-o", "no/such/folder/l.pdf"], "does not exist; create it"),
    (["--postings", " , ", "-o", "l.pdf"], "--postings: give posting numbers separated by commas"),
    (["--postings", "1-1-1", "--account", "other", "-o", "l.pdf"], "--account other: the config has no such account"),
])
def test_bad_flags_are_named(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                             words: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, text = run(capsys, "--config", str(cfg), "labels", *argv)
    assert code == 2 and words in text, text


def test_more_than_twenty_with_one_ozon_cannot_label_writes_nothing(cfg: Path, emulator: OzonEmulator,
                                                                   tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    numbers = [emulator.add_posting(status="awaiting_deliver") for _ in range(21)]
    emulator.make_unlabelable(numbers[7], "label cannot be generated")
    out = tmp_path / "labels.pdf"
    code, text = run(capsys, "--config", str(cfg), "labels", "--postings", ",".join(numbers), "-o", str(out))
    assert code == 1 and f"Ozon made no label for {numbers[7]} (label cannot be generated)" in text
    assert not out.exists()
