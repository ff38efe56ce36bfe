"""Shared fixtures: the Ozon emulator on 127.0.0.1, a config file for it, and an opened app."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from sync.app import App, open_app
from sync.config import Config, load_config
from sync.emulators.ozon import OzonEmulator
from sync.emulators.sheets import SheetsEmulator

settings.register_profile("fast", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fast")

CLIENT_ID = "123456"
API_KEY = "test-key-0000"


def write_config(folder: Path, base_url: str, *, extra: str = "", backend: str | None = None,
                 ozon_extra: str = "") -> Path:
    """A config for the emulator and an Excel workbook in ``folder``; ``extra`` is appended YAML,
    ``ozon_extra`` YAML lines inside ``ozon:`` (indented by two spaces)."""
    spreadsheet = backend or "spreadsheet:\n  backend: excel\n  path: orders.xlsx\n  worksheet: Заказы\n"
    text = (
        f'ozon:\n  client_id: "{CLIENT_ID}"\n  api_key: "{API_KEY}"\n  base_url: "{base_url}"\n{ozon_extra}'
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


# --- Google service accounts that never leave 127.0.0.1 ---------------------------------------------------

SA_EMAIL = "sync-bot@ozon-sync-test.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def service_account_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse (and record) any connection or name lookup that is not 127.0.0.1, in every thread."""
    monkeypatch.delenv("GOOGLE_SDK_EXPERIMENTAL_PYTHON_REGIONAL_ACCESS_BOUNDARY_LOOKUP_ENABLED", raising=False)
    attempts: list[str] = []
    lock = threading.Lock()
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] not in ("127.0.0.1", "localhost"):
            with lock:
                attempts.append(f"connect {address[0]}")
            raise OSError(f"test forbids connecting to {address[0]}")
        real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", None):
            with lock:
                attempts.append(f"lookup {host}")
            raise socket.gaierror(f"test forbids resolving {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def key_info(emu: SheetsEmulator, pem: str, **extra: Any) -> dict[str, Any]:
    """A service-account key file's content whose token_uri is the emulator's."""
    return {"type": "service_account", "project_id": "ozon-sync-test", "private_key_id": "k1", "private_key": pem,
            "client_email": SA_EMAIL, "client_id": "1", "token_uri": emu.token_uri, **extra}
