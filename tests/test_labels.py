"""Label files on disk and the print command: real files, real processes."""

from __future__ import annotations

import stat
from datetime import date, datetime
from pathlib import Path

import pytest

from sync.labels import LabelFolder, LabelsUnwritable, print_batch, relative_link

PDF = b"%PDF-1.4\n% a label\n%%EOF\n"
WHEN = datetime(2026, 12, 2, 14, 5, 9)


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_label_is_saved_under_its_day_private_and_whole(tmp_path: Path) -> None:
    labels = LabelFolder(tmp_path / "labels")
    path = labels.save("12345678-0001-1", PDF, WHEN)
    assert path == tmp_path / "labels" / "2026-12-02" / "12345678-0001-1.pdf"
    assert path.read_bytes() == PDF
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    again = labels.save("12345678-0001-1", PDF + b"v2", WHEN)
    assert again == path and path.read_bytes() == PDF + b"v2"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind
    assert labels.save("../x/y", PDF, WHEN).name == ".._x_y.pdf"  # a posting number never leaves the folder


def test_batches_of_one_second_get_their_own_names(tmp_path: Path) -> None:
    labels = LabelFolder(tmp_path)
    names = [labels.save_batch(PDF, WHEN).name for _ in range(3)]
    assert names == ["batch-140509.pdf", "batch-140509-2.pdf", "batch-140509-3.pdf"]


def test_labels_go_with_the_buyer_data(tmp_path: Path) -> None:
    labels = LabelFolder(tmp_path)
    old = labels.save("1", PDF, datetime(2026, 11, 20, 9, 0))
    kept = labels.save("2", PDF, datetime(2026, 11, 26, 9, 0))
    (tmp_path / "notes.txt").write_text("a person's file")
    assert labels.purge(date(2026, 12, 2), keep_days=7) == 1
    assert not old.exists() and not old.parent.exists() and kept.exists()
    assert (tmp_path / "notes.txt").exists()
    assert LabelFolder(tmp_path / "none").purge(date(2026, 12, 2), keep_days=7) == 0


def test_a_folder_that_cannot_be_written_is_named_before_anything_is_fetched(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(LabelsUnwritable) as err:
        LabelFolder(tmp_path / "file" / "labels").check()
    assert str(tmp_path / "file" / "labels") in str(err.value) and "labels.folder" in str(err.value)
    LabelFolder(tmp_path / "ok").check()  # a folder that can be made is made


def test_the_print_command_gets_the_batch(tmp_path: Path) -> None:
    batch = LabelFolder(tmp_path).save_batch(PDF, WHEN)
    out = tmp_path / "printed.pdf"
    done = print_batch(f"cp {{file}} {out}", batch)
    assert done.ok and out.read_bytes() == PDF and batch.name in done.message
    spool = tmp_path / "spool"
    spool.mkdir()
    assert print_batch(f"cp -t {spool}", batch).ok  # without {file} the batch is the last argument
    assert (spool / batch.name).read_bytes() == PDF


@pytest.mark.parametrize(("command", "words"), [
    ("sh -c 'echo paper jam >&2; exit 3'", ["failed (exit 3)", "paper jam"]),
    ("no-such-print-command {file}", ["'no-such-print-command' was not found"]),
    ("sh -c 'sleep 5' {file}", ["did not finish within 0.2 s"]),
])
def test_a_printer_that_fails_is_said_in_words_and_never_raises(tmp_path: Path, command: str,
                                                                words: list[str]) -> None:
    batch = LabelFolder(tmp_path).save_batch(PDF, WHEN)
    done = print_batch(command, batch, timeout=0.2)
    assert not done.ok and all(w in done.message for w in words), done.message


def test_a_workbook_links_its_labels_relatively(tmp_path: Path) -> None:
    label = tmp_path / "labels" / "2026-12-02" / "1.pdf"
    assert relative_link(tmp_path / "orders.xlsx", label) == "labels/2026-12-02/1.pdf"
