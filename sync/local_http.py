"""The small HTTP servers the daemon runs beside its loop (``metrics.listen``, ``ozon.push``): bound to the
configured ``host:port``, answering from daemon threads, stopped with the daemon."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sync.errors import ConfigError


def serve(listen: str, handler: type[BaseHTTPRequestHandler], *, key: str, name: str) -> ThreadingHTTPServer:
    """Bind ``listen`` and serve in a thread called ``name``; a port in use is a ConfigError naming ``key``."""
    host, _, port = listen.rpartition(":")
    try:
        server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
    except OSError as exc:
        section = key.rsplit(".", 1)[0]
        raise ConfigError(f"{key}: cannot listen on {listen} ({exc.strerror or exc}); "
                          f"choose another port, or leave {section} out") from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=name, daemon=True).start()
    return server


def shut(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and release the port (nothing when ``server`` is None)."""
    if server is not None:
        server.shutdown()
        server.server_close()
