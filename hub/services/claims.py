"""One caller at a time decides a given thing: the order every deciding call follows.

The Admin and ConsentRegistry services keep one rule: *nothing is done unless it is
recorded, and what is recorded is what was done*. The record goes to the audit log and the
change to the registry, two writes that cannot share a transaction (the log has its own
sequencer), so a deciding call runs in this order:

1. **claim** the target (``enrolment:…``, ``consent:…``, ``certificate:…``) in the store;
   if another call holds it, this one is refused — recorded, nothing done;
2. **check** its preconditions by reading the registry (refusals recorded);
3. **act** where nothing is visible yet (a certificate is signed only here, once no
   other call can decide the same thing), and **record** the call with its answer; if the
   record cannot be made the call fails ``AUDIT_UNAVAILABLE`` and nothing is committed;
4. **commit** with the conditional write, which the claim keeps from losing a race;
5. **release** the claim, however the call ended.

The claim is not what keeps the registry consistent — the conditional writes still do
that — it is what keeps a second caller from recording a decision the first will make. A
claim whose holder died mid-call lapses after ``HOLD_S``.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from hub.services.calls import MemberCall, ServiceCalls
from hub.store.base import RegistryStore
from jembatan.errors import Refusal

# Far longer than any deciding call takes (a read, a signature, one audit append, a write);
# short enough that a crash mid-call does not block the decision for long.
HOLD_S = 60
_Response = TypeVar("_Response", bound=Message)
# What a deciding call will answer, and the conditional write that commits it (False: it
# lost, and nothing changed).
Plan = tuple[_Response, Callable[[], bool]]


class Claims:
    """Claims in ``store`` for the calls of one service, refused through ``calls``; the
    claims, plans and commits run where ``calls.store`` runs storage calls."""

    def __init__(self, store: RegistryStore, calls: ServiceCalls) -> None:
        self._store = store
        self._calls = calls

    @contextlib.asynccontextmanager
    async def hold(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        target: str,
        taken: Refusal,
    ) -> AsyncIterator[None]:
        """``target`` is this call's until the block ends; if another call holds it, the
        call is refused with ``taken`` (recorded)."""
        # Stored as a digest: a target may hold the caller's text, which is never stored.
        key = hashlib.sha256(target.encode()).hexdigest()
        token = secrets.token_hex(16)
        now = int(self._calls.now().timestamp())
        if not await self._calls.store(self._store.claim, key, token, now=now, hold_s=HOLD_S):
            await self._calls.refuse(context, call, taken)
        try:
            yield
        finally:
            await self._calls.store(self._store.release_claim, key, token)

    async def decide(
        self,
        context: grpc.aio.ServicerContext,
        call: MemberCall,
        target: str,
        plan: Callable[[], Plan[_Response]],
        *,
        taken: Refusal,
        lost: Refusal,
    ) -> _Response:
        """Claim ``target``, ``plan`` the decision (a ``Refusal`` it raises is recorded and
        sent), record the answer, commit; ``taken`` if another call holds the target,
        ``lost`` if the commit changed nothing after all (recorded too)."""
        async with self.hold(context, call, target, taken):
            try:
                # The plan reads the registry (and may sign): off the loop, as one step.
                response, commit = await self._calls.store(plan)
            except Refusal as refusal:
                await self._calls.refuse(context, call, refusal)
            await self._calls.answer(context, call, response)
            if not await self._calls.store(commit):
                await self._calls.refuse(context, call, lost)
        return response
