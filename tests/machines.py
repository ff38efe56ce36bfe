"""Running the engine's hypothesis state machines."""

from __future__ import annotations

from typing import Any

from hypothesis import settings


def run_checked(machine: type[Any], profile: settings) -> None:
    """Run ``machine`` under ``profile``; after every run (its last step or a failure) its
    ``teardown_check`` asserts the end state before the machine's own teardown."""

    class Checked(machine):  # type: ignore[misc, valid-type]
        def teardown(self) -> None:
            try:
                self.teardown_check()
            finally:
                super().teardown()

    Checked.TestCase.settings = profile
    Checked.TestCase().runTest()
