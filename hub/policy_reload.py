"""Hot reload of the hub's policy set: when a policy file changes, and on SIGHUP.

The directory is polled by content (the policy version is a hash of every file's name and
bytes), so an edit is seen whatever the file system's mtime granularity, and touching a file
without changing it reloads nothing. A new set replaces the old one in a single assignment;
the Authorize stage takes the set once per exchange, so a query in flight finishes under the
version it started with. A set that does not load leaves the old one in force, and its
problem is logged once (again on SIGHUP, which asks explicitly).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from policies import PolicyFileError, PolicySet
from policies.loader import policies_from_files, policy_version, read_policy_files

log = logging.getLogger(__name__)


class PolicyReloader:
    def __init__(
        self,
        directory: Path | None,
        current: Callable[[], PolicySet],
        install: Callable[[PolicySet], None],
    ) -> None:
        self._directory = directory
        self._current = current
        self._install = install
        self._hangup = asyncio.Event()
        # The files' version when last tried (or why they could not be read), and the last
        # refusal logged, so a broken file is reported once, not every second.
        self._last_tried = current().version
        self._last_logged = ""

    def hangup(self) -> None:
        """Reload now (the SIGHUP handler), even if nothing seems to have changed."""
        self._hangup.set()

    async def run(self, interval_s: float | None) -> None:
        """Check every ``interval_s`` seconds (``None``: only on SIGHUP) until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hangup.wait(), interval_s)
            forced = self._hangup.is_set()
            self._hangup.clear()
            # Off the event loop: parsing must not stall the queries being served meanwhile.
            policies = await asyncio.to_thread(self._load_if_changed, forced)
            if policies is not None:
                old = self._current().version
                self._install(policies)
                # At WARNING, the level a hub logs at without -v: what is released changed,
                # which an operator must see as surely as a refused reload.
                log.warning("policy %s in force (was %s)", policies.version, old)

    def _load_if_changed(self, forced: bool) -> PolicySet | None:
        try:
            files = read_policy_files(self._directory)
            tried = policy_version(files)
        except (PolicyFileError, OSError) as exc:
            self._refuse(str(exc), str(exc), forced)
            return None
        if tried == self._last_tried and not forced:
            return None
        self._last_tried = tried
        if tried == self._current().version:
            return None
        try:
            return policies_from_files(files)
        except ValueError as exc:  # PolicyFileError, one line naming file, line and problem
            self._refuse(tried, str(exc), forced)
            return None

    def _refuse(self, tried: str, problem: str, forced: bool) -> None:
        if tried != self._last_logged or forced:
            current = self._current().version
            log.error("policy reload refused, %s stays in force: %s", current, problem)
        self._last_tried = self._last_logged = tried
