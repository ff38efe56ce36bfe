"""The systemd unit shipped in templates/: what it promises (restart on failure, a user of its own, the
journal, a stop that lets the cycle finish, hardening), and that systemd itself finds nothing wrong with it
(`systemd-analyze verify`, where the machine has it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest


def unit() -> dict[str, list[str]]:
    text = files("sync.templates").joinpath("ozon-sync.service").read_text(encoding="utf-8")
    keys: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def test_the_unit_runs_the_daemon_as_its_own_user_restarting_on_failure() -> None:
    u = unit()
    assert u["ExecStart"][0].endswith(" run") and "--config /etc/ozon-sync/ozon-sync.yaml" in u["ExecStart"][0]
    assert u["Restart"] == ["on-failure"] and u["User"] == ["ozon-sync"]
    assert u["KillSignal"] == ["SIGTERM"] and int(u["TimeoutStopSec"][0]) >= 60  # the cycle in flight finishes
    assert u["StandardOutput"] == ["journal"] and u["UMask"] == ["0077"]
    for hardening in ("NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "RestrictAddressFamilies",
                      "SystemCallFilter", "MemoryDenyWriteExecute"):
        assert hardening in u, hardening


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not on this machine")
def test_systemd_analyze_verify_finds_nothing_wrong(tmp_path: Path) -> None:
    ozon_sync = Path(sys.executable).with_name("ozon-sync")
    assert ozon_sync.exists()
    text = files("sync.templates").joinpath("ozon-sync.service").read_text(encoding="utf-8")
    service = tmp_path / "ozon-sync.service"
    service.write_text(text.replace("/opt/ozon-sync/bin/ozon-sync", str(ozon_sync)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(service)], capture_output=True, text=True, timeout=60,
                          check=False)
    said = [line for line in (done.stdout + done.stderr).splitlines() if str(service) in line or "ozon-sync" in line]
    assert done.returncode == 0 and not said, done.stdout + done.stderr
