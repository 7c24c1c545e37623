"""The portal as a real process against the session's real hub stack, its log in a file."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.dukcapil.family import family_card
from hub.dev import devstack
from hub.dev.processes import RunningProcess
from portal.store import Sms, open_portal_store
from tests.stack import TEST_SCALE, TEST_SEED, Stack


@dataclass
class RunningPortal:
    process: RunningProcess
    url: str
    state: Path
    log: Path
    home: Path

    def outbox(self, phone: str) -> list[Sms]:
        store = open_portal_store(self.state / "portal.db")
        try:
            return store.outbox(phone)
        finally:
            store.close()

    def outbox_all(self) -> list[Sms]:
        store = open_portal_store(self.state / "portal.db")
        try:
            return store.outbox()
        finally:
            store.close()

    def code_for(self, phone: str) -> str:
        """The code in the latest SMS to ``phone``."""
        body = self.outbox(phone)[-1].body
        return body.split(": ", 1)[1][:6]

    def log_text(self) -> str:
        return self.log.read_text()

    def jembatan(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The operator's ``jembatan portal …`` on this portal's state, as a process."""
        return subprocess.run(
            [sys.executable, "-m", "hub.cli", "--home", str(self.home), "portal", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def add_staff(self, role: str, village: str, phone: str, name: str = "Siti Rahayu") -> str:
        """Provision a staff member with the operator's command; their login id."""
        added = self.jembatan(
            "staff", "add", "--state", str(self.state), "--name", name, "--role", role,
            "--village", village, "--phone", phone,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        match = re.match(r"added (ptg-[a-z2-9]{6}):", added.stdout)
        assert match, added.stdout
        return match[1]


def start_portal(stack: Stack, root: Path, *extra: str) -> RunningPortal:
    state, log = root / "state", root / "portal.log"
    process = devstack.start_portal(
        stack.home,
        stack.address,
        state,
        seed=TEST_SEED,
        scale=TEST_SCALE,
        args=extra,
        stderr=log.open("w"),
    )
    return RunningPortal(process, f"http://{process.address}", state, log, stack.home.root)


@pytest.fixture(scope="module")
def portal(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPortal]:
    running = start_portal(stack, tmp_path_factory.mktemp("portal"))
    yield running
    running.process.stop()


def citizens(stack: Stack, count: int) -> list[tuple[str, str]]:
    """(NIK, phone) of household heads the registry has a family card for."""
    found = []
    for household in stack.population.households:
        card = family_card(stack.population, household.head.nik)
        if card is not None and len(card.members) > 1:
            found.append((household.head.nik, card.phone))
        if len(found) == count:
            break
    return found
