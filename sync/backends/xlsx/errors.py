"""Why a workbook cannot be patched."""

from __future__ import annotations


class PatchError(Exception):
    """The workbook cannot be patched: a damaged zip, a missing sheet or part, XML we cannot read."""
