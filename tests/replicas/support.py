"""Two hub replicas on one PostgreSQL schema, a load generator that keeps every receipt,
and the checks that the log they share is one log."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from hub.dev.processes import RunningProcess
from jembatan.client import HubClient, HubUnreachable, QueryAnswer, QueryRefused
from tests.postgres import ADMIN_DSN, fresh_schema
from tests.stack import Stack, start_replica, start_stack

_SIGNER_LOCK = 74_604  # hub.store.postgres's signer lease key (first half)


@dataclass
class Replicas:
    stack: Stack
    hubs: list[RunningProcess]
    dsn: str

    def client(self, replica: int, member_id: str | None = None) -> HubClient:
        options = {} if member_id is None else {"member_id": member_id}
        return self.stack.client(address=self.hubs[replica].address, **options)  # type: ignore[arg-type]

    def signer(self) -> int | None:
        """Which replica holds the checkpoint signer lease now, if any."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT a.application_name FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s"
                " AND l.objid::bigint = (hashtext(current_schema())::bigint + 4294967296)"
                " %% 4294967296",
                (_SIGNER_LOCK,),
            ).fetchone()
        if row is None:
            return None
        pid = int(str(row[0]).rsplit("-", 1)[1])
        return next((i for i, hub in enumerate(self.hubs) if hub.process.pid == pid), None)

    def wait_for_signer(self, timeout_s: float = 20.0, *, not_: int | None = None) -> int:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            signer = self.signer()
            if signer is not None and signer != not_:
                return signer
            time.sleep(0.2)
        raise AssertionError("no replica took the checkpoint signer lease in time")

    def stop(self) -> None:
        for hub in self.hubs:
            hub.stop()
        self.stack.sim.stop()


@contextlib.contextmanager
def replicas(root: Path, count: int = 2, *, admin_dsn: str = ADMIN_DSN) -> Iterator[Replicas]:
    """``count`` hub processes (and the agencies) on one fresh PostgreSQL schema of the
    server at ``admin_dsn``."""
    with fresh_schema(admin_dsn=admin_dsn) as dsn:
        stack = start_stack(root, database_url=dsn)
        running = Replicas(stack, [stack.hub], dsn)
        try:
            for n in range(1, count):
                running.hubs.append(start_replica(stack, f"replica-{n}"))
            yield running
        finally:
            running.stop()


@dataclass
class Load:
    """What a run of queries got back: each acknowledged receipt, each refusal."""

    answers: list[QueryAnswer] = field(default_factory=list)
    # Refused by a replica, or not answered: a replica killed mid-load is unreachable.
    refused: list[tuple[int, QueryRefused | HubUnreachable]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)


async def run_load(
    clients: Sequence[HubClient],
    nik: str,
    token: str,
    *,
    count: int,
    concurrency: int = 16,
    tag: str = "load",
    load: Load | None = None,
) -> Load:
    """``count`` consented queries spread over ``clients`` in turn, ``concurrency`` at a
    time; request ids ``{tag}-{n}`` so the log can be checked for each exactly once."""
    load = load or Load()
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            replica = n % len(clients)
            request_id = f"{tag}-{n}"
            load.sent.append(request_id)
            try:
                answer = await clients[replica].query(
                    service_id="ID/GOV/BPJSTK/wages/employment",
                    subject=nik,
                    purpose="bansos-eligibility",
                    fields=("employment_status",),
                    consent=token,
                    request_id=request_id,
                )
            except (QueryRefused, HubUnreachable) as refusal:
                load.refused.append((replica, refusal))
            else:
                load.answers.append(answer)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return load


def assert_one_log(stack: Stack, answers: Sequence[QueryAnswer]) -> None:
    """The stored log is one Merkle tree that the hub's own check verifies against every
    checkpoint, and every acknowledged answer is in it, at its receipt's index, once."""
    check = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "--home",
            str(stack.home.root),
            "--database",
            str(stack.home.database_url),
            "audit",
            "check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "audit log intact" in check.stdout
    indices = [a.log_index for a in answers]
    assert len(set(indices)) == len(indices)
    with stack.registry() as store:
        size = store.tree_size()
        assert store.size() == size
        for answer in answers:
            assert store.committed_leaf(answer.log_index) == answer.leaf_hash
    request_ids = [r.request_id for r in stack.records()]
    answered = [a.request_id for a in answers]
    assert all(request_ids.count(rid) == 1 for rid in answered)
    # No hole, no index used twice: the stored indices are exactly 0..size-1.
    assert len(request_ids) == size
