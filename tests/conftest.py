"""Shared fixtures: a real hub stack — PKI on disk, the hub and the simulated
BPJS Ketenagakerjaan with its connector as separate processes on loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One hub stack for the session; tests make their own members and consents."""
    running = start_stack(tmp_path_factory.mktemp("hub"))
    yield running
    running.hub.stop()
    running.sim.stop()
