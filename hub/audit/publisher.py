"""Publishes signed checkpoints of the audit log: on a schedule, and on demand.

Checkpoints are signed with the hub's note key (the log key, not the TLS key) and stored
beside the log, so officers and clients can always fetch the latest and check proofs
against it. Where several replicas share one store, the scheduled signing is done by the
one replica holding the store's signer lease (``HubStore.signer_lease``), re-tried every
interval, so another takes over when that one dies. Signing on demand (``latest``) may
happen on any replica: the key and the tree are the same, so a checkpoint of one size is
the same note whoever signs it.

The latest checkpoint is served with the cosignatures witnesses have returned for it
(``hub.witness.collector``) as extra signature lines: a verifier that knows only the hub's
key skips them, one that requires a quorum of witnesses counts them.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.store.base import CheckpointStore, Lease, SoleLease, describe_error
from hub.store.offloop import StoreCalls
from jembatan.audit.checkpoint import ORIGIN, Checkpoint, sign_checkpoint
from jembatan.audit.witness import with_signatures

log = logging.getLogger(__name__)


class CheckpointPublisher:
    def __init__(
        self,
        registry: CheckpointStore,
        key: Ed25519PrivateKey,
        *,
        clock: Callable[[], float],
        origin: str = ORIGIN,
        lease: Lease | None = None,
        on_published: Callable[[], Awaitable[None]] | None = None,
        calls: StoreCalls | None = None,
    ) -> None:
        self._registry = registry
        self._lease = lease or SoleLease()
        self._key = key
        self._clock = clock
        self._origin = origin
        # Called after each scheduled round by the lease holder: the witnesses are asked.
        self._on_published = on_published
        # Where the scheduled rounds' storage calls run (off the event loop on PostgreSQL).
        self._calls = calls or StoreCalls()

    def latest(self, min_size: int = 0) -> tuple[int, str]:
        """The latest (size, signed note), signing a new one if it is smaller than
        ``min_size`` or than the log. The note carries the witnesses' cosignatures so far."""
        latest = self._registry.latest_checkpoint()
        if latest is None or latest[0] < min_size:
            latest = self.publish()
        size, note = latest
        return size, with_signatures(note, self._registry.cosignatures(size))

    def publish(self) -> tuple[int, str]:
        """Sign the log as it stands now (a no-op if that size is already signed)."""
        size = self._registry.tree_size()
        latest = self._registry.latest_checkpoint()
        # >=: another replica may have signed a larger size meanwhile.
        if latest is not None and latest[0] >= size:
            return latest
        root = self._registry.tree_root(size)
        note = sign_checkpoint(Checkpoint(self._origin, size, root), self._key)
        signed_at = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC).isoformat()
        self._registry.add_checkpoint(size, root, note, signed_at)
        return size, note

    def _scheduled(self) -> bool:
        """One scheduled round: sign if this process holds the lease; whether it does."""
        if not self._lease.held():
            return False
        self.publish()
        return True

    async def run(self, interval_s: float) -> None:
        """Sign a checkpoint every ``interval_s`` while the log grows and this process
        holds the signer lease."""
        try:
            while True:
                await asyncio.sleep(interval_s)
                try:
                    if await self._calls(self._scheduled) and self._on_published is not None:
                        await self._on_published()
                except Exception as exc:  # the next round tries again; queries go on
                    log.error("checkpoint not published: %s", describe_error(exc))
        finally:
            # Its session may be in a worker thread's call still: closed after that.
            await self._calls(self._lease.close)
