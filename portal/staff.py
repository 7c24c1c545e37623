"""Staff accounts: PKH companions (``pendamping``), village staff (``perangkat_desa``) and
Kemensos/Dinsos social-service officers (``dinsos``), each bound to a village (a Dinsos
officer may be bound to both: ``all``).

An operator provisions them (``jembatan portal staff add``); there is no self-service
sign-up. A staff member signs in at ``/petugas/masuk`` with their login id and a one-time code
sent by (simulated) SMS to the phone the operator registered, through the same code
machinery as the citizens' sign-in (``SignIn.issue_code``/``redeem_code``: keyed hashes,
attempts counted, at most ``max_codes`` per login in the window). A staff session is a
session with ``staff_id`` set and no citizen account: citizen pages refuse it, staff pages
refuse a citizen's.

Confirming an act (a ground check's outcome) takes a fresh code to the staff member's phone
(``send_confirmation``/``redeem_confirmation``): the code's challenge seals what it
confirms, so the form the code was sent for is the form that is signed.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from portal.signin import CodeCheck, SendCode, SignedIn, SignIn
from portal.store import PortalStore, Session, StaffMember

__all__ = [
    "CONFIRM",
    "ROLES",
    "STAFF",
    "VILLAGES",
    "StaffError",
    "add_staff",
    "check_staff_code",
    "may_see",
    "new_login_id",
    "normal_phone",
    "pending_confirmation",
    "redeem_confirmation",
    "send_confirmation",
    "send_staff_code",
]

ROLES = ("pendamping", "perangkat_desa", "dinsos")
VILLAGES = ("kemiren", "lateng")
ALL_VILLAGES = "all"
STAFF = "staff"  # the kind of a staff sign-in code
CONFIRM = "confirm"  # the kind of a staff member's confirmation code

# No 0/o, 1/l/i: read aloud over a phone, or typed from a note, without mistakes.
_LOGIN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_LOGIN = re.compile(r"ptg-[a-z2-9]{6}")
_PHONE = re.compile(r"(?:\+62|62|0)(8\d{7,11})")


class StaffError(ValueError):
    """What the operator asked for cannot be: the message says why, in one line."""


def new_login_id() -> str:
    return "ptg-" + "".join(secrets.choice(_LOGIN_ALPHABET) for _ in range(6))


def normal_login_id(text: str) -> str:
    """A login id as typed (any case, spaces) in its stored form; "" if it cannot be one."""
    login = "".join(text.split()).lower()
    return login if _LOGIN.fullmatch(login) else ""


def normal_phone(text: str) -> str:
    """An Indonesian mobile number (08…, 628…, +628…) in the registry's form, 08…."""
    digits = re.sub(r"[\s-]", "", text)
    match = _PHONE.fullmatch(digits)
    if match is None:
        raise StaffError(f"not an Indonesian mobile number (08…): {text!r}")
    return "0" + match[1]


def village_of(name: str) -> str:
    """A village as staff and cases name it: "Kemiren" → "kemiren"."""
    return name.strip().lower()


def may_see(member: StaffMember, village: str) -> bool:
    """Whether ``member`` may see the cases of ``village``."""
    return member.village in (ALL_VILLAGES, village_of(village))


def add_staff(store: PortalStore, *, name: str, role: str, village: str, phone: str) -> StaffMember:
    """Provision a staff member; raises StaffError (nothing added) on a bad value."""
    name = " ".join(name.split())
    if not name or len(name) > 80 or not name.isprintable():
        raise StaffError("a name of 1 to 80 printable characters is needed")
    if role not in ROLES:
        raise StaffError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    village = village_of(village)
    if village == ALL_VILLAGES and role != "dinsos":
        raise StaffError(f"only a dinsos officer may be bound to all villages, not a {role}")
    if village not in (*VILLAGES, ALL_VILLAGES):
        raise StaffError(f"unknown village {village!r}: one of {', '.join(VILLAGES)} (or all)")
    member = StaffMember(
        new_login_id(), name, role, village, normal_phone(phone), int(time.time()), 1
    )
    store.add_staff(member)
    return member


# --- signing in, and confirming -----------------------------------------------------------


def send_staff_code(signin: SignIn, store: PortalStore, session: Session, login: str) -> SendCode:
    """A sign-in code to the phone of staff ``login``. Answered the same whether or not
    the login exists (an unknown or disabled one simply gets no SMS)."""
    login = normal_login_id(login)
    if not login:
        return SendCode.INVALID
    member = store.staff_member(login)
    phone = member.phone if member is not None and member.active else None
    return signin.issue_code(
        session,
        kind=STAFF,
        login_key=signin.keyed("staff", login),
        sealed=login.encode(),
        phone=phone,
        message="Kode masuk petugas Portal Perlinsos: {code}. Berlaku {minutes} menit."
        " Jangan berikan kode ini kepada siapa pun.",
    )


def check_staff_code(
    signin: SignIn, store: PortalStore, session: Session, code: str
) -> tuple[CodeCheck, SignedIn | None]:
    """On the right code, the anonymous session is ended and the staff member's returned."""
    check, sealed = signin.redeem_code(session, STAFF, code)
    if check is not CodeCheck.OK:
        return check, None
    member = store.staff_member(sealed.decode())
    if member is None or not member.active:  # disabled between the code and its use
        return CodeCheck.EXPIRED, None
    signin.end(session)
    return CodeCheck.OK, signin.new_session(staff_id=member.id)


def send_confirmation(
    signin: SignIn, session: Session, member: StaffMember, what: dict[str, Any]
) -> SendCode:
    """A fresh code to ``member``'s phone to confirm ``what`` (kept sealed with the code)."""
    return signin.issue_code(
        session,
        kind=CONFIRM,
        login_key=signin.keyed("confirm", member.id),
        sealed=json.dumps({"staff_id": member.id, **what}, sort_keys=True).encode(),
        phone=member.phone,
        message="Kode konfirmasi petugas Portal Perlinsos: {code}. Berlaku {minutes} menit."
        " Masukkan hanya jika Anda sendiri yang mengisi hasil kunjungan.",
    )


def pending_confirmation(
    signin: SignIn, session: Session, member: StaffMember
) -> dict[str, Any] | None:
    """What the session's pending confirmation code would confirm (``member``'s own only),
    shown beside the code field: what the officer signs is what they read."""
    sealed = signin.pending(session, CONFIRM)
    if sealed is None:
        return None
    what: dict[str, Any] = json.loads(sealed)
    if what.pop("staff_id", None) != member.id:
        return None
    return what


def redeem_confirmation(
    signin: SignIn, session: Session, member: StaffMember, code: str
) -> tuple[CodeCheck, dict[str, Any]]:
    """On the right code, what it was sent to confirm (only ``member``'s own)."""
    check, sealed = signin.redeem_code(session, CONFIRM, code)
    if check is not CodeCheck.OK:
        return check, {}
    what: dict[str, Any] = json.loads(sealed)
    if what.pop("staff_id", None) != member.id:
        return CodeCheck.EXPIRED, {}
    return CodeCheck.OK, what
