"""``metrics.listen``: /healthz and Prometheus /metrics served while `ozon-sync run` runs — read over real HTTP
on 127.0.0.1 in the middle of a real daemon run against the Ozon emulator and an Excel workbook."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from sync.app import Edges
from sync.cli import main
from sync.config import load_config
from sync.demo import edit_workbook
from sync.emulators.ozon import OzonEmulator
from sync.engine.types import CycleReport
from sync.errors import ConfigError, OzonUnavailable
from sync.mapping import PRIVATE_FIELDS, load_columns
from sync.metrics import Metrics, MetricsServer
from tests.conftest import write_config
from tests.fake_time import FakeTime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_running_daemon_serves_its_health_and_metrics(tmp_path: Path, emulator: OzonEmulator,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    cfg = write_config(tmp_path, emulator.base_url, extra=f"metrics:\n  listen: 127.0.0.1:{port}\n")
    number = emulator.add_posting()
    assert main(["--config", str(cfg), "pull"]) == 0
    edit_workbook(tmp_path / "orders.xlsx", "Заказы", load_columns().without(PRIVATE_FIELDS),
                  {number: {"status": "Ожидает отгрузки"}})
    seen: list[tuple[int, str, str]] = []
    t = FakeTime()

    def sleep(seconds: float) -> None:  # while the daemon waits, a monitor looks (once the first cycle is done)
        if not seen:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            if health.status_code == 200:
                seen.append((health.status_code, health.text, httpx.get(f"http://127.0.0.1:{port}/metrics",
                                                                          timeout=5).text))
        t.sleep(seconds)

    assert main(["--config", str(cfg), "run", "--cycles", "2"], edges=Edges(monotonic=t.monotonic, sleep=sleep)) == 0
    (status, health, metrics), = seen
    assert status == 200 and health == "ok\n"
    assert 'ozon_sync_cycles_total{result="ok"} 1.0' in metrics
    assert 'ozon_sync_pushes_total{result="verified"} 1.0' in metrics
    assert "ozon_sync_outbox_open 0.0" in metrics and "ozon_sync_last_success_timestamp_seconds " in metrics
    with pytest.raises(httpx.ConnectError):  # stopped with the daemon
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_health_says_what_is_wrong_and_a_taken_port_names_the_key() -> None:
    now = [1000.0]
    m = Metrics(30, wall=lambda: now[0])
    server = MetricsServer(m, f"127.0.0.1:{free_port()}").start()
    try:
        url = f"http://127.0.0.1:{server.port}"
        first = httpx.get(f"{url}/healthz", timeout=5)
        assert first.status_code == 503 and first.text == "no cycle has run yet\n"
        m.failed(OzonUnavailable("Ozon answered 503 three times"))
        r = httpx.get(f"{url}/healthz", timeout=5)
        assert r.status_code == 503 and "the last cycle failed: Ozon answered 503 three times" in r.text
        assert 'ozon_sync_errors_total{side="ozon"} 1.0' in httpx.get(f"{url}/metrics", timeout=5).text
        m.observe(CycleReport(verified=2), outbox_open=3)
        now[0] += 60
        assert httpx.get(f"{url}/healthz", timeout=5).text == "ok\n"
        assert "ozon_sync_outbox_open 3.0" in httpx.get(f"{url}/metrics", timeout=5).text
        now[0] += 91
        late = httpx.get(f"{url}/healthz", timeout=5)
        assert late.status_code == 503 and late.text == "no good cycle for 151 s (schedule.every is 30 s)\n"
        assert httpx.get(f"{url}/other", timeout=5).status_code == 404
        with pytest.raises(ConfigError, match=r"metrics.listen: cannot listen on 127.0.0.1:\d+"):
            MetricsServer(m, f"127.0.0.1:{server.port}").start()
    finally:
        server.stop()


def test_a_bad_listen_address_names_the_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:1", extra="metrics:\n  listen: localhost\n")
    with pytest.raises(ConfigError, match="metrics.listen"):
        load_config(cfg)
