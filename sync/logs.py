"""The log: where it goes (stderr, optionally a file) and what never gets into it (secrets, phone numbers)."""

from __future__ import annotations

import logging
import re
from pathlib import Path


class Redactor(logging.Filter):
    """Keeps secrets and phone numbers out of every log line, whoever wrote it."""

    PHONE = re.compile(r"(?<![\w-])\+?[78][\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?![\w-])")

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def clean(self, text: str) -> str:
        clean = self.PHONE.sub("[phone]", text)
        for s in self.secrets:
            clean = clean.replace(s, "***")
        return clean

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self.clean(msg)
        if clean != msg:
            record.msg, record.args = clean, ()
        return True


def setup_logging(level: str = "INFO", file: Path | None = None, secrets: list[str] | None = None) -> None:
    """Replace the root logger's handlers with stderr (and ``file``), each passing lines through a Redactor."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    redactor = Redactor(secrets or [])
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(redactor)
        root.addHandler(h)
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3", "google", "gspread"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
