"""Replay protection: each (issuer, nonce) is accepted once while it could still be fresh."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from hub.store.base import Nonce
from hub.store.offloop import StoreCalls
from jembatan.jws import EnvelopeClaims

_PRUNE_EVERY = 4096


class SharedNonces(Protocol):
    def claim_nonce(self, nonce: Nonce, now: int) -> bool: ...


class ReplayGuard:
    """In-memory set of live nonces, seeded from storage at start.

    Claims are atomic because the hub's event loop is single-threaded; a claimed nonce is
    made durable together with the audit record of its exchange (see the audit writer),
    so it is on disk before any answer to it leaves the hub.

    With ``shared`` (a store other hub replicas use too), a nonce new to this process is
    also claimed in the store before the query goes on, in one atomic statement, through
    ``calls`` (so off the event loop): a nonce used on one replica is then a replay on
    every other, and two claims of one nonce racing on this replica meet there too. If the
    store cannot be reached the claim raises, and the exchange fails closed.
    """

    def __init__(
        self,
        live: Iterable[Nonce] = (),
        shared: SharedNonces | None = None,
        calls: StoreCalls | None = None,
    ) -> None:
        self._expiry: dict[tuple[str, str], int] = {(n.issuer, n.value): n.expires_at for n in live}
        self._claims_since_prune = 0
        self._shared = shared
        self._calls = calls or StoreCalls()

    async def claim(self, issuer: str, nonce: str, expires_at: int, now: float) -> bool:
        key = (issuer, nonce)
        known = self._expiry.get(key)
        if known is not None and known >= now:
            return False
        if self._shared is not None and not await self._calls(
            self._shared.claim_nonce, Nonce(issuer, nonce, expires_at), int(now)
        ):
            return False
        self._expiry[key] = expires_at
        self._claims_since_prune += 1
        if self._claims_since_prune >= _PRUNE_EVERY:
            self._prune(now)
        return True

    async def claim_envelope(
        self, claims: EnvelopeClaims, keep_for_s: int, now: float
    ) -> Nonce | None:
        """Claim a verified envelope's (issuer, jti) — a request's or an approval's — until
        it can no longer be fresh (``keep_for_s`` after it was issued). Returns the nonce,
        which the exchange's audit record must make durable, or None if already used."""
        nonce = Nonce(claims.issuer, claims.nonce, claims.issued_at + keep_for_s)
        claimed = await self.claim(nonce.issuer, nonce.value, nonce.expires_at, now)
        return nonce if claimed else None

    def _prune(self, now: float) -> None:
        self._expiry = {k: exp for k, exp in self._expiry.items() if exp >= now}
        self._claims_since_prune = 0

    def __len__(self) -> int:
        return len(self._expiry)
