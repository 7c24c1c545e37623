"""Claims that lapse: who is deciding what right now, and which replay nonces are spent.
Each is taken with one upsert, so two processes claiming at once cannot both win, and an
expired claim may be taken again."""

from __future__ import annotations

from collections.abc import Iterable

from hub.store.base import Nonce
from hub.store.database import Tables


class ClaimTables(Tables):
    """Decision claims and replay nonces."""

    def claim(self, target: str, token: str, *, now: int, hold_s: int) -> bool:
        # One statement, so two processes claiming at once cannot both win; a claim whose
        # holder died without letting go (a crash mid-call) lapses after ``hold_s``.
        cursor = self._db.execute(
            "INSERT INTO claims (target, token, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (target) DO UPDATE SET token = excluded.token,"
            " expires_at = excluded.expires_at WHERE claims.expires_at < ?",
            (target, token, now + hold_s, now),
        )
        return cursor.rowcount == 1

    def release_claim(self, target: str, token: str) -> None:
        self._db.execute("DELETE FROM claims WHERE target = ? AND token = ?", (target, token))

    # replay nonces
    def live_nonces(self, now: int) -> Iterable[Nonce]:
        rows = self._db.execute(
            "SELECT issuer, nonce, expires_at FROM nonces WHERE expires_at >= ?", (now,)
        )
        return [Nonce(r[0], r[1], int(r[2])) for r in rows]

    def claim_nonce(self, nonce: Nonce, now: int) -> bool:
        # One statement, so two processes claiming the same nonce at once cannot both win;
        # an expired claim (kept until pruned) may be taken again.
        cursor = self._db.execute(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT (issuer, nonce) DO UPDATE SET expires_at = excluded.expires_at"
            " WHERE nonces.expires_at < ?",
            (nonce.issuer, nonce.value, nonce.expires_at, now),
        )
        return cursor.rowcount == 1
