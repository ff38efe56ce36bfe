"""LibreOffice headless, as staff open and save workbooks: convert files, and read what it shows.

Skips without `soffice` on a developer's machine; under CI (CI set) its absence fails the test, since
.ci/run installs it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is not installed; .ci/run installs libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed")
    return found


def convert(files: Sequence[Path], fmt: str, outdir: Path, *, profile: Path, timeout: float = 240) -> list[Path]:
    """Open each file in LibreOffice and save it as ``fmt`` (xlsx, pdf, a csv filter...) in ``outdir``;
    returns what it wrote (a csv of every tab is ``<stem>-<tab>.csv``)."""
    done = subprocess.run([soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                           "--outdir", str(outdir), *map(str, files)], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    out = sorted(outdir.iterdir()) if outdir.exists() else []
    assert out, (done.stdout, done.stderr)
    return out
