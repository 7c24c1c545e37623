"""The console's view of the hub's log, over gRPC as an auditor member.

Nothing the hub says about the log's integrity is taken on its word: every checkpoint is
checked against the hub's verifier key and shown consistent with the last one this console
verified — kept on disk across restarts (``hub.console.anchor``) — and a record is shown
as proven only once its own bytes hash to a leaf that an inclusion proof ties to a verified
checkpoint.

Every call made for an officer names them to the hub (``jembatan-on-behalf-of``), which
records the name with the call: the console's certificate carries the console role that lets
it vouch for its officers, and the auditor role that lets it read the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import Message

from hub.console.anchor import (
    Alarm,
    AlarmKind,
    Anchor,
    AnchorUnreadable,
    alarm_between,
    anchor_file,
)
from hub.console.witnesses import Quorum, Witnesses
from hub.home import HubHome
from hub.services.audit import AUDITOR
from jembatan.audit.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from jembatan.audit.merkle import ProofError, hash_leaf, verify_consistency, verify_inclusion
from jembatan.certs import CONSOLE, roles_of
from jembatan.client import HubCallFailed, MemberChannel, QueryRefused
from jembatan.keys import PkiError, load_cert_pem
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import audit_pb2, audit_pb2_grpc

T = TypeVar("T")
log = logging.getLogger(__name__)

_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Consistency:
    """The latest checkpoint and how it relates to the one seen before it."""

    latest: Checkpoint
    # The verified checkpoint it was proven against (the anchor), or ``latest`` itself the
    # first time this console ever looks.
    previous: Checkpoint
    # None when verified; otherwise what failed (a fork, a rewritten or truncated log).
    failure: str | None
    # The same failure, typed (a log that shrank, a fork, an anchor that does not verify).
    alarm: Alarm | None = None
    # ``latest`` as the hub signed it (the note), for exports that carry it.
    note: str = ""
    # How the latest checkpoint stands with the witnesses the console must hear from (None:
    # no quorum required).
    quorum: Quorum | None = None


@dataclass(frozen=True, slots=True)
class Inclusion:
    checkpoint: Checkpoint | None
    failure: str | None


class LogReader(MemberChannel):
    def __init__(
        self,
        home: HubHome,
        target: str,
        member_dir: Path,
        witnesses: Witnesses | None = None,
    ) -> None:
        try:
            key_pem = (member_dir / "key.pem").read_bytes()
            cert_pem = (member_dir / "cert.pem").read_bytes()
        except OSError as exc:
            raise ValueError(f"no member key/certificate in {member_dir}") from exc
        _check_roles(member_dir / "cert.pem", cert_pem)
        self._verifier = home.log_verifier_key.read_text().strip()
        super().__init__(
            target,
            key_pem=key_pem,
            cert_pem=cert_pem,
            ca_pem=home.ca_cert.read_bytes(),
            timeout_s=_TIMEOUT_S,
        )
        self._audit = audit_pb2_grpc.AuditStub(self._channel)
        # The last checkpoint verified, on disk and in memory (should the file go missing
        # while running): each later one is trusted only once it is proven an extension of
        # it, so a hub showing different officers different logs (a fork), or rolling its log
        # back across a restart of either, is caught the next time this console looks.
        self._anchor = Anchor(anchor_file(home), self._verifier)
        self._seen: Checkpoint | None = None
        # Once a checkpoint fails to extend the anchor, this process trusts no later one:
        # every page keeps saying so until an operator looks.
        self._alarm: Alarm | None = None
        self._lock = asyncio.Lock()
        # Every checkpoint fetched is shown to the witnesses' watch: their cosignatures are
        # checked, and their freshness kept for the dashboard.
        self.witnesses = witnesses

    @property
    def audit(self) -> audit_pb2_grpc.AuditStub:
        """The Audit service on the console's channel, for ``call``."""
        return self._audit

    async def call(
        self,
        method: Callable[..., Awaitable[T]],
        request: Message,
        officer: str | None = None,
    ) -> T:
        """One call of ``method`` (of ``audit``) for ``officer`` (None: the console's own,
        as its reports of officers' logins are). Raises QueryRefused or HubCallFailed."""
        return await self._call(method, request, _for(officer) if officer is not None else ())

    async def search(
        self, request: audit_pb2.SearchRequest, officer: str
    ) -> audit_pb2.SearchResponse:
        return await self._call(self._audit.Search, request, _for(officer))

    async def record(self, index: int, officer: str) -> audit_pb2.AuditEntry:
        return await self._call(
            self._audit.GetRecord, audit_pb2.GetRecordRequest(index=index), _for(officer)
        )

    async def checkpoint(self, min_size: int = 0, officer: str | None = None) -> Consistency:
        """The latest signed checkpoint (at least ``min_size``), verified, and its consistency
        with the anchor (the last one this console verified, across restarts). Raises
        CheckpointError for a bad signature. ``officer``: whom the calls are for (None: the
        console's own, at start)."""
        metadata = _for(officer) if officer is not None else ()
        async with self._lock:  # one anchor, advanced by one page at a time
            # Read before the hub is asked: another console on this home may advance the
            # anchor meanwhile, and a checkpoint fetched before its would look like a shrink.
            try:
                stored: Checkpoint | AnchorUnreadable | None = self._anchor.load()
            except AnchorUnreadable as exc:
                stored = exc
            signed = await self._call(
                self._audit.GetCheckpoint,
                audit_pb2.GetCheckpointRequest(min_size=min_size),
                metadata,
            )
            latest = verify_checkpoint(signed.note, self._verifier)
            quorum = None
            if self.witnesses is not None:
                observed = self.witnesses.observe(signed.note, time.time())
                quorum = observed if self.witnesses.quorum else None  # None: none required
            if self._alarm is None:
                previous = await self._anchored(stored, signed.note, latest, metadata)
            else:
                previous = self._alarm.anchor or latest
            alarm = self._alarm
            return Consistency(
                latest,
                previous,
                alarm.message if alarm else None,
                alarm,
                note=signed.note,
                quorum=quorum,
            )

    async def _anchored(
        self,
        stored: Checkpoint | AnchorUnreadable | None,
        note: str,
        latest: Checkpoint,
        metadata: tuple[tuple[str, str], ...],
    ) -> Checkpoint:
        """Prove ``latest`` (signed ``note``) extends the ``stored`` anchor and the last
        checkpoint this process verified (sets the alarm if not), and advance the anchor to
        it if so; the checkpoint it was proven from."""
        if isinstance(stored, AnchorUnreadable):
            self._alarm = Alarm(AlarmKind.ANCHOR_INVALID, str(stored), None)
            log.error("log integrity alarm (%s): %s", self._alarm.kind, self._alarm.message)
            return latest
        trusted = sorted({c for c in (stored, self._seen) if c is not None}, key=lambda c: c.size)
        for old in trusted:
            failure = None
            if latest.size >= old.size:
                failure = await self._consistent(old, latest, metadata)
            self._alarm = alarm_between(old, latest, failure)
            if self._alarm is not None:
                log.error("log integrity alarm (%s): %s", self._alarm.kind, self._alarm.message)
                return old
        self._seen = latest
        if stored is None or latest.size > stored.size:
            try:
                self._anchor.store(note)
            except OSError as exc:  # verified all the same; the next start re-proves less
                log.error("cannot keep the integrity anchor %s: %s", self._anchor.path, exc)
        return trusted[-1] if trusted else latest

    async def _consistent(
        self, old: Checkpoint, new: Checkpoint, metadata: tuple[tuple[str, str], ...]
    ) -> str | None:
        proof = await self._call(
            self._audit.GetConsistencyProof,
            audit_pb2.GetConsistencyProofRequest(old_size=old.size, new_size=new.size),
            metadata,
        )
        try:
            verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof.hashes)
        except ProofError as exc:
            return f"size {old.size} to {new.size}: {exc}"
        return None

    async def prove(self, index: int, record_json: bytes, officer: str) -> Inclusion:
        """Whether ``record_json``, as shown, is leaf ``index`` of a verified checkpoint."""
        try:
            checked = await self.checkpoint(min_size=index + 1, officer=officer)
        except CheckpointError as exc:
            return Inclusion(None, f"checkpoint not trusted: {exc}")
        if checked.failure:
            return Inclusion(checked.latest, f"log not consistent: {checked.failure}")
        checkpoint = checked.latest
        try:
            proof = await self._call(
                self._audit.GetInclusionProof,
                audit_pb2.GetInclusionProofRequest(index=index, tree_size=checkpoint.size),
                _for(officer),
            )
        except QueryRefused as exc:
            return Inclusion(checkpoint, f"no proof: {exc.message}")
        except HubCallFailed as exc:
            return Inclusion(checkpoint, f"no proof: {exc}")
        try:
            # The hash of the bytes on this page, not the leaf hash the hub sent along.
            verify_inclusion(
                index, checkpoint.size, hash_leaf(record_json), proof.hashes, checkpoint.root_hash
            )
        except ProofError as exc:
            return Inclusion(checkpoint, str(exc))
        return Inclusion(checkpoint, None)


def _for(officer: str) -> tuple[tuple[str, str], ...]:
    """The metadata naming the officer a call is made for."""
    return ((ON_BEHALF_OF_METADATA_KEY, officer),)


def _check_roles(path: Path, cert_pem: bytes) -> None:
    """The console's certificate must let it read the log and vouch for its officers: without
    the console role the hub would refuse every officer's call."""
    try:
        roles = roles_of(load_cert_pem(cert_pem))
    except (PkiError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable certificate: {exc}") from exc
    missing = [role for role in (AUDITOR, CONSOLE) if role not in roles]
    if missing:
        raise ValueError(
            f"the console's certificate {path} lacks the {' and '.join(missing)} role"
            f"{'s' if len(missing) > 1 else ''}: enrol its member with --role {AUDITOR} "
            f"--role {CONSOLE}"
        )
