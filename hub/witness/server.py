"""The witness process: C2SP ``tlog-witness``'s ``POST /add-checkpoint`` over HTTP.

For each log it is configured with (origin and the log's verifier key) it keeps the latest
checkpoint it cosigned (``hub.witness.state``), and cosigns a new one only if the log signed
it and a consistency proof shows it extends that one:

- 404 the origin is not a log this witness follows; 403 the log's key did not sign it;
- 400 a malformed request, or an old size beyond the checkpoint's;
- 409 the old size is not the one this witness has (the body says which, so the log can
  retry with a proof from there), or the same size with another root: a fork;
- 422 the consistency proof does not verify: a rewritten history, or a fork;
- 200 the cosignature line, once the new checkpoint is on disk.

``GET /checkpoint?origin=…`` answers the latest cosigned checkpoint (the log's note with
this witness's cosignature), so anyone can compare what witnesses were shown
(``jembatan witness check``). A refused checkpoint the log did sign is logged in full: it is
evidence (a checkpoint is hashes and sizes only, never a record).

Requests are not authenticated beyond the log's signature, as the protocol intends; the
check and the write are one step on the event loop (no await between them), so two requests
can never both pass against the same old state.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.home import write_private
from hub.witness.state import Latest, WitnessState
from jembatan.audit.checkpoint import CheckpointError, parse_verifier_key, verify_checkpoint
from jembatan.audit.merkle import ProofError, verify_consistency
from jembatan.audit.witness import (
    MAX_REQUEST_BYTES,
    SIZE_CONTENT_TYPE,
    Cosigner,
    WitnessRequestError,
    cosign,
    note_text,
    parse_add_checkpoint,
    with_signatures,
)
from jembatan.keys import key_to_pem, load_ed25519_private_pem

log = logging.getLogger(__name__)

KEY_FILE = "witness.key"
VKEY_FILE = "witness.vkey"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    text: str
    content_type: str = "text/plain"


# --- the witness's key -------------------------------------------------------------------


def default_name() -> str:
    return f"{socket.getfqdn()}/witness"


def init_key(directory: Path, name: str) -> str:
    """Make the witness's Ed25519 key in ``directory`` (refusing to replace one); its key
    string, to give to the hub's operator and to clients."""
    if (directory / KEY_FILE).exists():
        raise FileExistsError(f"{directory / KEY_FILE} already exists: a witness keeps its key")
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise ValueError(f"witness name {name!r} must be non-empty, without spaces or '+'")
    key = Ed25519PrivateKey.generate()
    write_private(directory / KEY_FILE, key_to_pem(key))
    vkey = Cosigner.of(name, key.public_key()).verifier_key()
    (directory / VKEY_FILE).write_text(vkey + "\n")
    return vkey


def load_key(directory: Path) -> tuple[str, Ed25519PrivateKey]:
    """(name, private key) of the witness in ``directory``."""
    key = load_ed25519_private_pem((directory / KEY_FILE).read_bytes())
    name = (directory / VKEY_FILE).read_text().strip().split("+", 1)[0]
    return name, key


# --- the protocol ------------------------------------------------------------------------


class Witness:
    def __init__(
        self,
        name: str,
        key: Ed25519PrivateKey,
        logs: Sequence[str],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._key = key
        # origin → the log's verifier key string (its name is the origin).
        self._logs = {parse_verifier_key(vkey)[0]: vkey for vkey in logs}
        self._state = state
        self._clock = clock

    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            old, proof, note = parse_add_checkpoint(body)
            note_text(note)
        except (WitnessRequestError, CheckpointError) as exc:
            return Answer(400, f"{exc}\n")
        origin = note.split("\n", 1)[0]
        vkey = self._logs.get(origin)
        if vkey is None:
            return Answer(404, "unknown log origin\n")
        try:
            checkpoint = verify_checkpoint(note, vkey)
        except CheckpointError as exc:
            return Answer(403, f"not signed by the log's key: {exc}\n")
        if old > checkpoint.size:
            return Answer(400, f"old size {old} is beyond the checkpoint's {checkpoint.size}\n")
        latest = self._state.get(origin)
        known = latest.size if latest else 0
        if old != known:
            return Answer(409, f"{known}\n", SIZE_CONTENT_TYPE)
        if latest is not None and checkpoint.size == latest.size:
            if checkpoint.root_hash != latest.root_hash:
                self._evidence("a second root for size it cosigned", note, latest)
                return Answer(409, f"{known}\n", SIZE_CONTENT_TYPE)
        elif latest is not None or proof:
            old_root = latest.root_hash if latest else b""
            try:
                verify_consistency(old, checkpoint.size, old_root, checkpoint.root_hash, proof)
            except ProofError as exc:
                if latest is not None:
                    self._evidence(f"no consistency ({exc})", note, latest)
                return Answer(422, f"consistency proof does not verify: {exc}\n")
        now = int(self._clock())
        line = cosign(note, self.name, self._key, now)
        text, _ = note_text(note)
        cosigned = with_signatures(text + "\n" + _log_signature(note, vkey), [line])
        # Persisted before the answer: a cosignature the witness could forget is a rollback.
        self._state.put(
            origin,
            Latest(checkpoint.size, text.split("\n")[2], cosigned, now),
        )
        return Answer(200, line)

    def latest(self, origin: str) -> Answer:
        latest = self._state.get(origin)
        if origin not in self._logs or latest is None:
            return Answer(404, "no checkpoint cosigned for this origin\n")
        return Answer(200, latest.note)

    def _evidence(self, why: str, note: str, latest: Latest) -> None:
        log.warning(
            "refused a checkpoint the log signed: %s; cosigned size %d root %s; offered:\n%s",
            why,
            latest.size,
            latest.root,
            note,
        )


def _log_signature(note: str, vkey: str) -> str:
    """The log's own signature lines of ``note`` (others' cosignatures are not kept)."""
    name = parse_verifier_key(vkey)[0]
    _, lines = note_text(note)
    return "".join(line + "\n" for line in lines if line.split(" ", 2)[1] == name)


# --- HTTP --------------------------------------------------------------------------------


def application(witness: Witness) -> web.Application:
    async def add_checkpoint(request: web.Request) -> web.Response:
        body = await request.content.read(MAX_REQUEST_BYTES + 1)
        return _respond(witness.add_checkpoint(body))

    async def checkpoint(request: web.Request) -> web.Response:
        return _respond(witness.latest(request.query.get("origin", "")))

    app = web.Application(client_max_size=MAX_REQUEST_BYTES + 1)
    app.router.add_post("/add-checkpoint", add_checkpoint)
    app.router.add_get("/checkpoint", checkpoint)
    return app


def _respond(answer: Answer) -> web.Response:
    return web.Response(status=answer.status, text=answer.text, content_type=answer.content_type)


async def serve(witness: Witness, listen: str) -> tuple[web.AppRunner, str]:
    """Serve on ``listen`` (port 0: any free one); the runner and the bound HOST:PORT."""
    runner = web.AppRunner(application(witness), access_log=None)
    await runner.setup()
    host, port = listen.rsplit(":", 1)
    await web.TCPSite(runner, host, int(port)).start()
    return runner, f"{host}:{runner.addresses[0][1]}"
