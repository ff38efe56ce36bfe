"""A file a command writes with ``-o`` (a report, a labels PDF): refused before any work is done when it
could not be saved there."""

from __future__ import annotations

import os
from pathlib import Path

from sync.errors import ConfigError, FatalError


def check_output(path: Path, suffix: str, what: str) -> None:
    """``suffix``: the file's ending (``.xlsx``); ``what``: what the file is, for the message."""
    if path.suffix.lower() != suffix:
        raise ConfigError(f"-o {path}: {what}; give a file name ending in {suffix}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ConfigError(f"-o {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise ConfigError(f"-o {path}: that is a folder; give a file name ending in {suffix}")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FatalError(f"Cannot write {path}: permission denied; choose another -o path")
