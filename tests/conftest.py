"""Shared fixtures: a real hub stack — PKI on disk, the hub and the simulated
BPJS Ketenagakerjaan with its connector as separate processes on loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.dev.processes import RunningProcess, start_module
from hub.provisioning import register_service
from tests.rogue_connector import (
    CATALOGUE,
    DOWN_SERVICE,
    MODES,
    ROGUE_AGENCY_ID,
    service_id,
)
from tests.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One hub stack for the session; tests make their own members and consents."""
    running = start_stack(tmp_path_factory.mktemp("hub"))
    yield running
    running.hub.stop()
    running.sim.stop()


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A hub stack of the test's own, for tests that break it (its audit log, say)."""
    running = start_stack(tmp_path / "hub")
    yield running
    running.hub.stop()
    running.sim.stop()


@pytest.fixture(scope="session")
def rogue(stack: Stack) -> Iterator[RunningProcess]:
    """The dishonest connector (tests/rogue_connector.py), its services routed in the hub,
    and a routed service whose connector is down."""
    files = stack.member(ROGUE_AGENCY_ID)
    process = start_module(
        "rogue",
        "tests.rogue_connector",
        ["--home", str(stack.home.root), "--member-dir", str(files.key_path.parent)],
    )
    for mode in MODES:
        register_service(stack.home, service_id(mode), files.cert_pem, process.address, CATALOGUE)
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    register_service(stack.home, DOWN_SERVICE, files.cert_pem, "127.0.0.1:1", CATALOGUE)
    yield process
    process.stop()
