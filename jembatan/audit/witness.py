"""Witness cosignatures (C2SP ``tlog-cosignature``) and the witness protocol's messages
(C2SP ``tlog-witness``): the pure half, what a witness, the hub and a client all need.

A witness keeps, per log, the latest checkpoint it verified, and cosigns a new one only if
a consistency proof shows it extends that one. Its cosignature is one more signature line
on the checkpoint's signed note::

    — bssn.go.id/witness base64(key id || u64 timestamp || Ed25519 signature)

over ``"cosignature/v1\\ntime <unix seconds>\\n"`` followed by the note's text. The key id is
the first four bytes of SHA-256(name || "\\n" || 0x04 || public key): 0x04 names the
cosignature/v1 algorithm, so a witness's key string ``<name>+<hex key id>+<base64(0x04 ||
key)>`` never passes for a log's. A client that trusts k of n named witnesses accepts a
checkpoint only with k valid cosignatures on it (``verify_quorum``): a hub cannot then show
it one history and the rest of the world another without k witnesses seeing both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jembatan.audit.checkpoint import Checkpoint, CheckpointError, verify_checkpoint
from jembatan.audit.merkle import ProofError, verify_consistency

_COSIGNATURE_V1 = b"\x04"
_SIGNATURE_PREFIX = "\u2014 "
_TIMESTAMP_BYTES = 8
_SIGNATURE_BYTES = 64
# tlog-witness: a client MUST NOT send more; a witness refuses more.
MAX_PROOF_LINES = 63
# The size limit of an add-checkpoint body: 63 proof lines and a note with its signatures
# fit many times over; anything larger is not a request.
MAX_REQUEST_BYTES = 64 * 1024
SIZE_CONTENT_TYPE = "text/x.tlog.size"


class QuorumNotMet(CheckpointError):
    """Fewer than the required witnesses cosigned the checkpoint; names the missing ones."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


class WitnessRequestError(CheckpointError):
    """An add-checkpoint request that is not well formed (a witness answers 400)."""


# --- cosigner keys ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cosigner:
    """A witness as a verifier knows it: its name and its public key."""

    name: str
    key: Ed25519PublicKey
    key_id: bytes = field(repr=False)

    @classmethod
    def of(cls, name: str, key: Ed25519PublicKey) -> Cosigner:
        return cls(name, key, cosigner_key_id(name, key))

    def verifier_key(self) -> str:
        """``<name>+<hex key id>+<base64(0x04 || key)>``, the string to publish."""
        encoded = base64.b64encode(_COSIGNATURE_V1 + _raw(self.key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def cosigner_key_id(name: str, key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _COSIGNATURE_V1 + _raw(key)).digest()[:4]


def parse_cosigner_key(text: str) -> Cosigner:
    """A witness from its key string; CheckpointError if it is not a cosignature/v1 key."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CheckpointError(
            f"witness key {text.strip()[:40]!r} is not <name>+<key id>+<base64 key>"
        ) from exc
    if len(raw) != 33 or raw[:1] != _COSIGNATURE_V1:
        raise CheckpointError(f"witness key of {name!r} is not an Ed25519 cosignature/v1 key")
    cosigner = Cosigner.of(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
    if cosigner.key_id.hex() != hex_id:
        raise CheckpointError(f"witness key of {name!r}: the key id does not match")
    return cosigner


# --- cosigning and verifying cosignatures -----------------------------------------------


def note_text(note: str) -> tuple[str, list[str]]:
    """(the signed text with its final newline, the signature lines) of a signed note."""
    text, separator, signatures = note.partition("\n\n")
    if not separator or not text:
        raise CheckpointError("not a signed note: no blank line after the text")
    lines = [line for line in signatures.split("\n") if line]
    if any(not line.startswith(_SIGNATURE_PREFIX) for line in lines):
        raise CheckpointError("malformed signature line")
    return text + "\n", lines


def _message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(note: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature line (with its newline) of witness ``name`` on ``note``'s text."""
    text, _ = note_text(note)
    signature = key.sign(_message(text, timestamp))
    stamp = cosigner_key_id(name, key.public_key()) + timestamp.to_bytes(8, "big") + signature
    return f"{_SIGNATURE_PREFIX}{name} {base64.b64encode(stamp).decode()}\n"


def with_signatures(note: str, lines: Iterable[str]) -> str:
    """``note`` with the signature ``lines`` it does not carry yet appended."""
    have = set(note_text(note)[1])
    extra = [line.rstrip("\n") for line in lines if line.rstrip("\n") not in have]
    return note + "".join(line + "\n" for line in extra)


def cosignatures(note: str, cosigners: Sequence[Cosigner]) -> dict[str, int]:
    """Name → cosignature time, of the ``cosigners`` whose valid cosignature ``note`` carries.
    A line with a known name and key id whose signature does not verify is an error: it is
    a forgery or a changed note, never merely "not cosigned"."""
    text, lines = note_text(note)
    by_id = {(c.name, c.key_id): c for c in cosigners}
    found: dict[str, int] = {}
    for line in lines:
        signer, _, stamp = line[len(_SIGNATURE_PREFIX) :].rpartition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise CheckpointError("signature is not base64") from exc
        cosigner = by_id.get((signer, raw[:4]))
        if cosigner is None:
            continue  # the log's own signature, or a witness this verifier does not trust
        if len(raw) != 4 + _TIMESTAMP_BYTES + _SIGNATURE_BYTES:
            raise CheckpointError(f"cosignature by {signer} is malformed")
        timestamp = int.from_bytes(raw[4:12], "big")
        try:
            cosigner.key.verify(raw[12:], _message(text, timestamp))
        except InvalidSignature as exc:
            raise CheckpointError(f"cosignature by {signer} does not verify") from exc
        found[signer] = max(timestamp, found.get(signer, 0))
    return found


@dataclass(frozen=True, slots=True)
class Cosigned:
    """A checkpoint the log signed, and the trusted witnesses that cosigned it, with when."""

    checkpoint: Checkpoint
    cosigned_at: dict[str, int]
    missing: tuple[str, ...]


def verify_cosigned(note: str, log_verifier: str, cosigners: Sequence[Cosigner]) -> Cosigned:
    """The checkpoint signed by the log's key, and which of ``cosigners`` cosigned it."""
    checkpoint = verify_checkpoint(note, log_verifier)
    found = cosignatures(note, cosigners)
    missing = tuple(c.name for c in cosigners if c.name not in found)
    return Cosigned(checkpoint, found, missing)


def verify_quorum(
    note: str, log_verifier: str, cosigners: Sequence[Cosigner], quorum: int
) -> Cosigned:
    """The checkpoint, if the log signed it and at least ``quorum`` of ``cosigners`` cosigned
    it; QuorumNotMet naming the witnesses missing otherwise."""
    if not 0 <= quorum <= len(cosigners):
        raise CheckpointError(
            f"a quorum of {quorum} cannot be met by {len(cosigners)} named witnesses"
        )
    cosigned = verify_cosigned(note, log_verifier, cosigners)
    if len(cosigned.cosigned_at) < quorum:
        raise QuorumNotMet(
            f"checkpoint of size {cosigned.checkpoint.size} is cosigned by "
            f"{len(cosigned.cosigned_at)} of the {quorum} witnesses required; missing: "
            + ", ".join(cosigned.missing),
            cosigned.missing,
        )
    return cosigned


# --- freshness: what a dashboard shows per witness --------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessFreshness:
    name: str
    size: int | None  # of the latest checkpoint it cosigned (None: none yet)
    cosigned_at: int | None  # unix seconds of that cosignature
    stale: bool


def freshness(
    latest: Mapping[str, tuple[int, int]],
    names: Sequence[str],
    now: float,
    stale_after_s: float,
    waiting_since: Callable[[int], float | None],
) -> list[WitnessFreshness]:
    """Per named witness, from name → (size, time) of its latest cosignature: stale when a
    checkpoint larger than the one it cosigned has waited more than ``stale_after_s`` for
    its cosignature. ``waiting_since(size)`` is when the first checkpoint larger than
    ``size`` was signed (None: there is none). A quiet log makes no witness stale; a witness
    that stopped answering is, however busy the log."""
    out = []
    for name in names:
        size, at = latest.get(name, (None, None))
        since = waiting_since(size if size is not None else -1)
        stale = since is not None and now - since > stale_after_s
        out.append(WitnessFreshness(name, size, at, stale))
    return out


class WitnessWatch:
    """A client's view of its witnesses' freshness, from the checkpoints it fetches (the
    console's dashboard): feed it each checkpoint note with ``observe``; ``status`` tells,
    per witness, the latest checkpoint it cosigned and whether it is stale. ``state()``,
    given back to the constructor, keeps it across restarts as plain JSON-able data."""

    def __init__(
        self,
        log_verifier: str,
        cosigners: Sequence[Cosigner],
        stale_after_s: float,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self._verifier = log_verifier
        self._cosigners = list(cosigners)
        self._stale_after_s = stale_after_s
        state = state or {}
        self._latest: dict[str, tuple[int, int]] = {
            name: (int(v[0]), int(v[1])) for name, v in state.get("latest", {}).items()
        }
        # size → when this client first saw a checkpoint of that size
        self._seen: dict[int, float] = {int(k): float(v) for k, v in state.get("seen", {}).items()}

    def observe(self, note: str, now: float) -> Cosigned:
        """Take in a checkpoint note (verified: CheckpointError if the log did not sign it
        or a trusted witness's line does not verify)."""
        cosigned = verify_cosigned(note, self._verifier, self._cosigners)
        size = cosigned.checkpoint.size
        self._seen.setdefault(size, now)
        for name, at in cosigned.cosigned_at.items():
            if name not in self._latest or size >= self._latest[name][0]:
                self._latest[name] = (size, at)
        # Only sizes some witness has not reached matter for staleness.
        floor = min((s for s, _ in self._latest.values()), default=-1)
        if len(self._latest) == len(self._cosigners):
            self._seen = {s: t for s, t in self._seen.items() if s > floor}
        return cosigned

    def status(self, now: float) -> list[WitnessFreshness]:
        def waiting_since(size: int) -> float | None:
            after = [t for s, t in self._seen.items() if s > size]
            return min(after) if after else None

        names = [c.name for c in self._cosigners]
        return freshness(self._latest, names, now, self._stale_after_s, waiting_since)

    def state(self) -> dict[str, Any]:
        return {
            "latest": {name: list(v) for name, v in self._latest.items()},
            "seen": {str(s): t for s, t in self._seen.items()},
        }


# --- the add-checkpoint request ----------------------------------------------------------


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """``old <size>``, a base64 hash per proof line, a blank line, then the note."""
    lines = [f"old {old_size}"] + [base64.b64encode(h).decode() for h in proof]
    return ("\n".join(lines) + "\n\n" + note).encode()


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, proof, note) of a request body; WitnessRequestError if malformed."""
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError("request too large")
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise WitnessRequestError("request is not UTF-8") from exc
    head, separator, note = text.partition("\n\n")
    if not separator:
        raise WitnessRequestError("no blank line before the checkpoint")
    lines = head.split("\n")
    old = lines[0].removeprefix("old ")
    if old == lines[0] or not old.isdigit() or (old != "0" and old.startswith("0")):
        raise WitnessRequestError("the first line is not 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessRequestError(f"more than {MAX_PROOF_LINES} proof lines")
    proof = []
    for line in lines[1:]:
        try:
            h = base64.b64decode(line, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise WitnessRequestError("a proof line is not base64") from exc
        if len(h) != 32:
            raise WitnessRequestError("a proof hash is not 32 bytes")
        proof.append(h)
    return int(old), proof, note


# --- a split view -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Split:
    """Two checkpoints of one log that cannot both be true: the log showed two histories."""

    first: Checkpoint
    first_witnesses: tuple[str, ...]
    second: Checkpoint
    second_witnesses: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        def side(checkpoint: Checkpoint, names: tuple[str, ...]) -> str:
            who = ", ".join(names) or "no trusted witness"
            return f"size {checkpoint.size} root {checkpoint.root_hash.hex()[:16]}… ({who})"

        return (
            f"split view: {side(self.first, self.first_witnesses)} and "
            f"{side(self.second, self.second_witnesses)}: {self.why}"
        )


def find_splits(
    notes: Sequence[str],
    log_verifier: str,
    cosigners: Sequence[Cosigner],
    prove: Callable[[int, int], Sequence[bytes]] | None = None,
) -> tuple[list[Split], list[tuple[int, int]]]:
    """Compare cosigned checkpoints of one log, gathered from several witnesses or clients.

    Two of one size with different roots are a split, always. Two of different sizes are
    one history only if a consistency proof from the smaller to the larger verifies;
    ``prove(old, new)`` supplies one (from the log, which cannot forge it). Returns the
    splits found and the (smaller, larger) size pairs left unchecked for want of a proof.
    Each note must be signed by the log: CheckpointError otherwise.
    """
    seen: dict[tuple[int, bytes], tuple[Checkpoint, set[str]]] = {}
    for note in notes:
        cosigned = verify_cosigned(note, log_verifier, cosigners)
        point = cosigned.checkpoint
        entry = seen.setdefault((point.size, point.root_hash), (point, set()))
        entry[1].update(cosigned.cosigned_at)
    points = sorted(seen.values(), key=lambda e: (e[0].size, e[0].root_hash))
    splits: list[Split] = []
    unchecked: list[tuple[int, int]] = []
    for i, (a, a_names) in enumerate(points):
        for b, b_names in points[i + 1 :]:
            why = None
            if a.size == b.size:
                why = "one size, two roots"
            elif a.size == 0:
                continue  # the empty tree is a prefix of every tree
            elif prove is None:
                unchecked.append((a.size, b.size))
                continue
            else:
                try:
                    verify_consistency(
                        a.size, b.size, a.root_hash, b.root_hash, prove(a.size, b.size)
                    )
                except ProofError as exc:
                    why = f"the larger does not extend the smaller ({exc})"
            if why:
                splits.append(Split(a, tuple(sorted(a_names)), b, tuple(sorted(b_names)), why))
    return splits, unchecked
