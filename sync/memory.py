"""Handing the memory a cycle freed back to the system."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def give_back_memory() -> None:
    """Hand the memory a cycle freed back to the system. glibc keeps freed heap pages for reuse, and
    over months of cycles that read a large sheet a daemon's resident size would creep up; a no-op
    where there is no glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
