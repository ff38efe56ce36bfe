"""Shared fixtures: the Ozon emulator on 127.0.0.1, a config file for it, and an opened app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from sync.app import App, open_app
from sync.config import Config, load_config
from sync.emulators.ozon import OzonEmulator

settings.register_profile("fast", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fast")

CLIENT_ID = "123456"
API_KEY = "test-key-0000"


def write_config(folder: Path, base_url: str, *, extra: str = "", backend: str | None = None) -> Path:
    """A config for the emulator and an Excel workbook in ``folder``; ``extra`` is appended YAML."""
    spreadsheet = backend or "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: Заказы\n"
    text = (
        f'ozon:\n  client_id: "{CLIENT_ID}"\n  api_key: "{API_KEY}"\n  base_url: "{base_url}"\n'
        f"{spreadsheet}state: state.sqlite\n"
        "sync:\n  verify_wait: 0s\n  settle_seconds: 0s\n"
        f"{extra}"
    )
    path = folder / "ozon-sync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def emulator() -> Iterator[OzonEmulator]:
    with OzonEmulator(seed=3, postings=0, client_id=CLIENT_ID, api_key=API_KEY, ship_delay=0.0) as emu:
        yield emu


@pytest.fixture
def config(tmp_path: Path, emulator: OzonEmulator) -> Config:
    return load_config(write_config(tmp_path, emulator.base_url))


@pytest.fixture
def app(config: Config) -> Iterator[App]:
    a = open_app(config)
    a.ensure_sheet()
    yield a
    a.close()
