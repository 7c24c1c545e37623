"""Officers' console passwords: scrypt hashes in ``HOME/console/officers.json`` (mode 0600).

The file is read at every login, so ``jembatan console add-officer`` takes effect without
restarting a running console.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path

from hub.home import HubHome
from jembatan.on_behalf import name_problem

# RFC 7914's interactive setting: 16 MiB and tens of milliseconds per guess. The parameters
# are stored with each hash so they can be raised later without breaking old entries.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
_MAXMEM = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 12


def officers_file(home: HubHome) -> Path:
    return home.root / "console" / "officers.json"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=_MAXMEM)


def _hash_entry(password: str) -> dict[str, object]:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P, _DKLEN)
    return {"salt": salt.hex(), "hash": digest.hex(), "n": _N, "r": _R, "p": _P}


def _read(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return data


def officer_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an officer's login name; None if it can."""
    if not _NAME.fullmatch(name):
        return "1-64 letters, digits, '.', '_' or '-'"
    # The hub records the name with every call the officer makes (hub.on_behalf): one it
    # would refuse could log in but do nothing.
    return name_problem(name)


def add_officer(home: HubHome, name: str, password: str) -> bool:
    """Store ``name``'s password hash; True if the officer is new, False if replaced."""
    problem = officer_name_problem(name)
    if problem:
        raise ValueError(f"officer name: {problem}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password shorter than {MIN_PASSWORD} characters")
    path = officers_file(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    officers = _read(path)
    new = name not in officers
    officers[name] = _hash_entry(password)
    # Written to a fresh 0600 file, then renamed over the old one: never a moment where the
    # hashes are world-readable or half written.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(officers, out, indent=1, sort_keys=True)
    os.replace(temporary, path)
    return new


# Checked against when the name is unknown, so a wrong name costs the same scrypt as a wrong
# password and timing does not tell which officers exist.
_DUMMY = {"salt": "00" * 16, "hash": "00" * _DKLEN, "n": _N, "r": _R, "p": _P}


def check_password(home: HubHome, name: str, password: str) -> bool:
    """True only if ``name`` is an officer and ``password`` is theirs."""
    known = _read(officers_file(home)).get(name)
    entry = known if isinstance(known, dict) else _DUMMY
    try:
        expected = bytes.fromhex(str(entry["hash"]))
        computed = _scrypt(
            password,
            bytes.fromhex(str(entry["salt"])),
            int(str(entry["n"])),
            int(str(entry["r"])),
            int(str(entry["p"])),
            len(expected),
        )
    except (KeyError, ValueError):
        return False
    return hmac.compare_digest(computed, expected) and known is not None
