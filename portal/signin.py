"""Signing in with a NIK and a one-time code sent to the phone the civil registry holds.

The steps are the store's rows: an anonymous session (it carries the CSRF token from the
first page), a challenge when a NIK is posted (its code goes to the SMS outbox, only its
keyed hash is kept), and, on the right code, a new session for the citizen's account (a new
token: a token seen before sign-in is never a signed-in one).

What the portal answers to a NIK posted is the same whether or not the registry knows it,
so the form cannot be used to find out who is registered; an unknown NIK simply gets no SMS.

Limits (``SignInPolicy``): a code lives ``code_ttl_s``; ``max_attempts`` wrong tries spend
it; at most ``max_codes`` codes per NIK within ``codes_window_s``; a session lives
``session_ttl_s`` from its last use. The clock is injected, so tests need not wait.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from jembatan.subject import is_nik
from portal.civil_registry import CivilRegistry
from portal.keys import PortalSecrets
from portal.store import Account, Challenge, PortalStore, Session, Sms, opaque_id

__all__ = ["CITIZEN", "CodeCheck", "SendCode", "SignIn", "SignInPolicy"]

CODE_DIGITS = 6
CITIZEN = "citizen"  # the kind of a citizen's sign-in code (``Challenge.kind``)


@dataclass(frozen=True)
class SignInPolicy:
    code_ttl_s: int = 300
    session_ttl_s: int = 900
    max_attempts: int = 5
    max_codes: int = 3
    codes_window_s: int = 900


class CodeCheck(Enum):
    OK = "ok"
    WRONG = "wrong"  # another try is allowed
    EXPIRED = "expired"  # too late, or spent: ask for a new code
    LOCKED = "locked"  # too many wrong tries: ask for a new code


class SendCode(Enum):
    SENT = "sent"  # (or, to an unknown NIK, nothing: the answer is the same)
    INVALID = "invalid"  # not a 16-digit NIK
    THROTTLED = "throttled"


@dataclass(frozen=True)
class SignedIn:
    token: str
    session: Session


class SignIn:
    def __init__(
        self,
        store: PortalStore,
        keys: PortalSecrets,
        registry: CivilRegistry,
        policy: SignInPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store, self._keys, self._registry = store, keys, registry
        self.policy = policy or SignInPolicy()
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    def keyed(self, purpose: str, value: str) -> str:
        """The keyed hash a code's login is counted under (``issue_code``'s ``login_key``)."""
        return self._keys.keyed(purpose, value)

    def _token_hash(self, token: str) -> str:
        return self._keys.keyed("session", token)

    # sessions

    def new_session(self, account_id: str | None = None, staff_id: str | None = None) -> SignedIn:
        token = secrets.token_urlsafe(32)
        now = self._now()
        # Housekeeping where sessions are made: no timer, and the tables stay small.
        self._store.forget_expired(now, now - self.policy.codes_window_s)
        session = Session(
            token_hash=self._token_hash(token),
            csrf=secrets.token_urlsafe(32),
            account_id=account_id,
            challenge_id=None,
            created_at=now,
            expires_at=now + self.policy.session_ttl_s,
            staff_id=staff_id,
        )
        self._store.add_session(session)
        return SignedIn(token, session)

    def session(self, token: str | None) -> Session | None:
        """The live session ``token`` names, its life extended by this use; else None."""
        if not token or len(token) > 128:
            return None
        now = self._now()
        found = self._store.session(self._token_hash(token), now)
        if found is not None:
            self._store.touch_session(found.token_hash, now + self.policy.session_ttl_s)
        return found

    def end(self, session: Session) -> None:
        self._store.end_session(session.token_hash)

    # the code

    def send_code(self, session: Session, nik: str) -> SendCode:
        if not is_nik(nik):
            return SendCode.INVALID
        card = self._registry.family_card(nik)
        return self.issue_code(
            session,
            kind=CITIZEN,
            login_key=self._keys.keyed("nik", nik),
            sealed=nik.encode(),
            phone=card.phone if card is not None else None,
            message="Kode masuk Portal Perlinsos: {code}. Berlaku {minutes} menit."
            " Jangan berikan kode ini kepada siapa pun, termasuk petugas.",
        )

    def issue_code(
        self,
        session: Session,
        *,
        kind: str,
        login_key: str,
        sealed: bytes,
        phone: str | None,
        message: str,
    ) -> SendCode:
        """A one-time code for ``session``, of ``kind``: its keyed hash kept, ``sealed``
        kept sealed until the right code releases it (``redeem_code``), the code texted to
        ``phone`` in ``message`` (``{code}``, ``{minutes}``; no SMS if ``phone`` is None,
        with the same answer). At most ``max_codes`` per ``login_key`` in the window.

        The one machinery for every code: a citizen's sign-in, a staff member's, a staff
        member confirming an act (and whoever builds on it next)."""
        now = self._now()
        window_start = now - self.policy.codes_window_s
        if self._store.challenges_since(login_key, window_start) >= self.policy.max_codes:
            return SendCode.THROTTLED
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        challenge_id = opaque_id()
        challenge = Challenge(
            id=challenge_id,
            nik_key=login_key,
            nik_sealed=self._keys.seal(sealed),
            code_hash=self._keys.keyed(f"code:{challenge_id}", code),
            created_at=now,
            expires_at=now + self.policy.code_ttl_s,
            attempts=0,
            used=0,
            kind=kind,
        )
        self._store.add_challenge(challenge)
        self._store.set_challenge(session.token_hash, challenge.id)
        if phone is not None:
            minutes = max(1, self.policy.code_ttl_s // 60)
            body = message.format(code=code, minutes=minutes)
            self._store.send_sms(Sms(id=opaque_id(), at_ns=time.time_ns(), phone=phone, body=body))
        return SendCode.SENT

    def redeem_code(self, session: Session, kind: str, code: str) -> tuple[CodeCheck, bytes]:
        """Check ``code`` against the session's pending code of ``kind`` and spend it: on OK,
        what it sealed. A code of another kind (a citizen's code at a staff form) is no code."""
        challenge = self._store.challenge(session.challenge_id) if session.challenge_id else None
        if challenge is None or challenge.kind != kind:
            return CodeCheck.EXPIRED, b""
        if challenge.used or self._now() >= challenge.expires_at:
            return CodeCheck.EXPIRED, b""
        # Counted before comparing, in one conditional write: parallel guesses all count.
        if not self._store.count_attempt(challenge.id, self.policy.max_attempts):
            return CodeCheck.LOCKED, b""
        expected = challenge.code_hash
        offered = self._keys.keyed(f"code:{challenge.id}", code.strip())
        if not hmac.compare_digest(expected, offered):
            return CodeCheck.WRONG, b""
        if not self._store.use_challenge(challenge.id):
            return CodeCheck.EXPIRED, b""
        return CodeCheck.OK, self._keys.open(challenge.nik_sealed)

    def pending(self, session: Session, kind: str) -> bytes | None:
        """What the session's live, unspent code of ``kind`` seals (to show what the code
        will confirm), without counting or spending anything; None if there is none."""
        challenge = self._store.challenge(session.challenge_id) if session.challenge_id else None
        if challenge is None or challenge.kind != kind or challenge.used:
            return None
        if self._now() >= challenge.expires_at:
            return None
        return self._keys.open(challenge.nik_sealed)

    def check_code(self, session: Session, code: str) -> tuple[CodeCheck, SignedIn | None]:
        """Check ``code`` against the session's challenge; on OK the anonymous session is
        ended and the citizen's new one returned."""
        check, sealed = self.redeem_code(session, CITIZEN, code)
        if check is not CodeCheck.OK:
            return check, None
        nik = sealed.decode()
        account = self._store.add_account(
            Account(opaque_id(), self._keys.keyed("nik", nik), self._keys.seal(sealed), self._now())
        )
        self.end(session)
        return CodeCheck.OK, self.new_session(account.id)

    def nik_of(self, account_id: str) -> str:
        """The NIK of an account, unsealed for a call made on the citizen's behalf."""
        account = self._store.account(account_id)
        if account is None:
            raise LookupError("no such account")
        return self._keys.open(account.nik_sealed).decode()
