"""Server-side login sessions: the cookie holds only a random token; who is logged in and
until when live here, so a logout or an expiry ends the session for good.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "jembatan_console"
IDLE_S = 15 * 60
MAX_S = 8 * 60 * 60


@dataclass
class Session:
    officer: str
    created: float
    last_seen: float


class Sessions:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def start(self, officer: str) -> str:
        """A new session (never a reused token: no session fixation) and its token."""
        self._expire()
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._sessions[token] = Session(officer, created=now, last_seen=now)
        return token

    def get(self, token: str | None) -> Session | None:
        """The live session for ``token``, its idle timer renewed; None if none or expired."""
        if not token:
            return None
        session = self._sessions.get(token)
        if session is None:
            return None
        now = self._clock()
        if now - session.last_seen > IDLE_S or now - session.created > MAX_S:
            del self._sessions[token]
            return None
        session.last_seen = now
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(token, None)

    def _expire(self) -> None:
        now = self._clock()
        for token, session in list(self._sessions.items()):
            if now - session.last_seen > IDLE_S or now - session.created > MAX_S:
                del self._sessions[token]


class LoginThrottle:
    """Failed logins counted per officer name and per client address over a window: past
    the limit, attempts are refused without checking the password at all, which caps
    guessing and keeps scrypt from being used to burn the host's CPU."""

    WINDOW_S = 15 * 60
    PER_NAME = 5
    # Higher: officers behind one office NAT share an address.
    PER_ADDRESS = 30
    _KEYS = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def allowed(self, name: str, address: str) -> bool:
        return (
            self._recent(f"name:{name}") < self.PER_NAME
            and self._recent(f"address:{address}") < self.PER_ADDRESS
        )

    def failed(self, name: str, address: str) -> list[str]:
        """Count a failed login; the limits it has just reached ("name", "address"): a
        lockout begins, which the officers' trail records once, not at every refusal."""
        now = self._clock()
        for key in (f"name:{name}", f"address:{address}"):
            self._failures.setdefault(key, []).append(now)
        while len(self._failures) > self._KEYS:  # bounded: the oldest keys go first
            del self._failures[next(iter(self._failures))]
        reached = []
        if self._recent(f"name:{name}") == self.PER_NAME:
            reached.append("name")
        if self._recent(f"address:{address}") == self.PER_ADDRESS:
            reached.append("address")
        return reached

    def succeeded(self, name: str) -> None:
        self._failures.pop(f"name:{name}", None)

    def _recent(self, key: str) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        cutoff = self._clock() - self.WINDOW_S
        times[:] = [t for t in times if t > cutoff]
        return len(times)
