"""Where alerts land in tests: a tiny SMTP server and an HTTP receiver, both real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import email
import json
import socket
import socketserver
import threading
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from types import TracebackType
from typing import Any, Self

from sync.emulators.server import LoopbackServer, QuietHandler


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: tuple[str, str] | None

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


class SmtpSink:
    """Speaks enough SMTP for smtplib: EHLO/HELO, AUTH PLAIN/LOGIN (when ``login`` is set), MAIL, RCPT,
    DATA, RSET, NOOP, QUIT. Records each accepted message in ``mails``."""

    def __init__(self, login: tuple[str, str] | None = None):
        self.login = login
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 10

            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def read(self) -> str:
                return self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")

            def handle(self) -> None:
                self.reply("220 sink.test ESMTP")
                sender, rcpts, who = "", [], None
                while True:
                    line = self.read()
                    if not line and self.rfile.closed:
                        return
                    verb, _, arg = line.partition(" ")
                    verb = verb.upper()
                    if verb == "EHLO":
                        self.reply("250-sink.test")
                        if sink.login:
                            self.reply("250-AUTH PLAIN LOGIN")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 sink.test")
                    elif verb == "AUTH" and sink.login:
                        mech, _, initial = arg.partition(" ")
                        if mech.upper() == "PLAIN":
                            _, user, password = base64.b64decode(initial).decode().split("\0")
                        else:
                            self.reply("334 VXNlcm5hbWU6")
                            user = base64.b64decode(self.read()).decode()
                            self.reply("334 UGFzc3dvcmQ6")
                            password = base64.b64decode(self.read()).decode()
                        if (user, password) == sink.login:
                            who = (user, password)
                            self.reply("235 2.7.0 Authentication successful")
                        else:
                            self.reply("535 5.7.8 Authentication credentials invalid")
                    elif verb == "MAIL":
                        if sink.login and who is None:
                            self.reply("530 5.7.0 Authentication required")
                            continue
                        sender, rcpts = arg.split(":", 1)[1].strip().strip("<>").split(">")[0], []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        lines: list[bytes] = []
                        while True:
                            raw = self.rfile.readline()
                            if raw in (b".\r\n", b""):
                                break
                            lines.append(raw[1:] if raw.startswith(b"..") else raw)
                        msg = email.message_from_bytes(b"".join(lines), policy=default)
                        assert isinstance(msg, EmailMessage)
                        with sink.lock:
                            sink.mails.append(Mail(sender, list(rcpts), msg, who))
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    elif not line:
                        return
                    else:
                        self.reply("502 Command not implemented")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="smtp-sink", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _ReceiverHandler(QuietHandler):
    emu: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.read_body()
        with self.emu.lock:
            status = self.emu.answers.popleft() if self.emu.answers else 200
            self.emu.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()},
                                      json.loads(body), status))
        self.send_body(status, b'{"ok": true}' if status < 300 else b'{"error": "down"}', "application/json")


class Receiver(LoopbackServer):
    """Records every JSON POST (path, headers, body, status answered). ``answers`` holds the next HTTP
    statuses to answer (then 200)."""

    handler_class = _ReceiverHandler
    thread_name = "webhook-receiver"

    def __init__(self, *answers: int):
        super().__init__()
        self.answers: deque[int] = deque(answers)
        self.requests: list[tuple[str, dict[str, str], Any, int]] = []
        self.lock = threading.Lock()

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The bodies of the requests that were answered 2xx, in order (the delivered alerts)."""
        return [b for _, _, b, status in self.requests if status < 300]


def dead_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
