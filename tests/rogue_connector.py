"""A dishonest agency connector for the tests, run as its own process.

It speaks the connector contract over real mTLS with a hub-CA certificate, but misbehaves
in the way its service name says, bypassing the honest connector SDK:

- ``…/extra-fields``:  signs correctly but adds fields nobody asked for;
- ``…/bad-signature``: signs with a key that is not its certificate's;
- ``…/body-swap``:     a valid signature over another body;
- ``…/wrong-request``: a valid signature over the answer to another request;
- ``…/slow``:          answers after the hub's deadline;
- ``…/wrong-type``:    signs correctly, but sends the wage as text, which no rule fits;
- ``…/flaky``:         honest, but its agency fails for every third subject (by NIK);
- ``…/honest…``:       honest (the tests' connector registered through the Admin API);
- ``…/impersonated``:  an honest-looking answer, signed by whoever runs this process (the
                       tests run it with another agency's certificate);
- ``…/meet-a``, ``…/meet-b``: honest, but each answers only once the other's request for the
                       same subject has arrived too (within the hub's deadline): both
                       succeed only if the hub asks them at the same time.

``--mode MODE`` makes every service behave as ``MODE`` (``impersonated``: an honest-looking
answer for any service, e.g. one whose route the process took over). ``--record FILE``
appends one JSON line per call it receives, before anything else is done with it: the
method, and for a Fetch its service, request id and subject, so a test can tell what
reached this server at all.

Usage: python -m tests.rogue_connector --home HOME --member-dir DIR [--mode M] [--record F]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives.asymmetric import ec

from hub.home import HubHome
from jembatan.catalogue import FieldSpec
from jembatan.certs import member_id_of
from jembatan.jws import RESPONSE_TYPE, sign_envelope
from jembatan.keys import generate_key, load_cert_pem, load_key_pem, serial_text
from jembatan.tls import listen_mtls
from jembatan.v1 import common_pb2, connector_pb2, connector_pb2_grpc

ROGUE_AGENCY_ID = "ID/GOV/ROGUE/agency"
MODES = (
    "extra-fields",
    "bad-signature",
    "body-swap",
    "wrong-request",
    "slow",
    "flaky",
    "impersonated",
    "wrong-type",
    "meet-a",
    "meet-b",
)
# Shorter than the hub's connector deadline in the tests (2 s): an unmet leg fails visibly.
_MEETING_WAIT_S = 1.5


# What each rogue service offers, as registered with the hub.
CATALOGUE = (
    FieldSpec("employment_status", "text", "status", "personal"),
    FieldSpec("monthly_wage", "integer", "wage", "sensitive"),
)
# A registered service whose connector is never there.
DOWN_SERVICE = f"{ROGUE_AGENCY_ID}/down"


def flaky_fails(subject: str) -> bool:
    return int(subject) % 3 == 0


def service_id(mode: str) -> str:
    return f"{ROGUE_AGENCY_ID}/{mode}"


def received(record: Path) -> list[dict[str, str]]:
    """What a rogue run with ``--record record`` has received so far, one dict per call."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines()]


class _Recorder(grpc.aio.ServerInterceptor):
    """Writes down every call that reaches the server, whatever its method."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def write(self, entry: dict[str, str]) -> None:
        with self._path.open("a") as file:
            file.write(json.dumps(entry) + "\n")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        self.write({"method": handler_call_details.method})  # type: ignore[attr-defined]
        return await continuation(handler_call_details)


class RogueConnector(connector_pb2_grpc.ConnectorServicer):
    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert_pem: bytes,
        *,
        mode: str | None = None,
        recorder: _Recorder | None = None,
    ) -> None:
        cert = load_cert_pem(cert_pem)
        self._key = key
        self._agency_id = member_id_of(cert)
        self._serial = serial_text(cert)
        self._arrived: dict[tuple[str, str], asyncio.Event] = {}
        self._mode = mode
        self._recorder = recorder

    def _sign(self, body: bytes, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        return sign_envelope(
            body, key or self._key, issuer=self._agency_id, typ=RESPONSE_TYPE, key_id=self._serial
        )

    def _result(
        self, request: connector_pb2.FetchRequest, **extra: str
    ) -> connector_pb2.FetchResult:
        result = connector_pb2.FetchResult(
            request_id=request.request_id,
            service_id=request.service_id,
            agency_id=self._agency_id,
            subject_found=True,
        )
        for name in request.fields:
            result.fields[name].CopyFrom(
                common_pb2.Value(integer=1_000_000)
                if name == "monthly_wage"
                else common_pb2.Value(text="active")
            )
        for name, value in extra.items():
            result.fields[name].CopyFrom(common_pb2.Value(text=value))
        return result

    async def _meet(self, subject: str, mode: str) -> bool:
        other = "meet-b" if mode == "meet-a" else "meet-a"
        self._arrived.setdefault((subject, mode), asyncio.Event()).set()
        # No await between announcing and looking: the other side cannot miss this one.
        theirs = self._arrived.setdefault((subject, other), asyncio.Event())
        try:
            await asyncio.wait_for(theirs.wait(), _MEETING_WAIT_S)
            return True
        except TimeoutError:
            return False
        finally:
            self._arrived.pop((subject, mode), None)

    async def Fetch(
        self, request: connector_pb2.FetchRequest, context: grpc.aio.ServicerContext
    ) -> connector_pb2.FetchResponse:
        if self._recorder is not None:
            self._recorder.write(
                {
                    "method": "Fetch",
                    "service_id": request.service_id,
                    "request_id": request.request_id,
                    "subject": request.subject,
                }
            )
        mode = self._mode or request.service_id.rsplit("/", 1)[-1]
        if mode == "slow":
            await asyncio.sleep(30)
        if mode == "extra-fields":
            body = self._result(
                request, mother_maiden_name="ROGUE-SECRET-1", home_address="ROGUE-SECRET-2"
            ).SerializeToString()
            return connector_pb2.FetchResponse(body=body, signature=self._sign(body))
        if mode == "bad-signature":
            body = self._result(request).SerializeToString()
            return connector_pb2.FetchResponse(
                body=body, signature=self._sign(body, generate_key())
            )
        if mode == "body-swap":
            body = self._result(request).SerializeToString()
            other = self._result(request, note="ROGUE-SECRET-3").SerializeToString()
            return connector_pb2.FetchResponse(body=other, signature=self._sign(body))
        if mode == "wrong-type":
            result = self._result(request)
            result.fields["monthly_wage"].CopyFrom(common_pb2.Value(text="banyak sekali"))
            body = result.SerializeToString()
            return connector_pb2.FetchResponse(body=body, signature=self._sign(body))
        if mode in ("meet-a", "meet-b") and not await self._meet(request.subject, mode):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the other leg never came")
        if mode == "flaky" and flaky_fails(request.subject):
            await context.abort(grpc.StatusCode.UNAVAILABLE, "agency system unavailable")
        if mode in ("impersonated", "flaky", "meet-a", "meet-b") or mode.startswith("honest"):
            body = self._result(request).SerializeToString()
            return connector_pb2.FetchResponse(body=body, signature=self._sign(body))
        if mode == "wrong-request":
            request.request_id = "someone-else"
            body = self._result(request).SerializeToString()
            return connector_pb2.FetchResponse(body=body, signature=self._sign(body))
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such rogue mode")
        raise AssertionError("unreachable")


async def serve(
    home: HubHome, member_dir: str, mode: str | None = None, record: str | None = None
) -> None:
    directory = Path(member_dir)
    key_pem, cert_pem = (directory / "key.pem").read_bytes(), (directory / "cert.pem").read_bytes()
    key = load_key_pem(key_pem)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    recorder = _Recorder(Path(record)) if record else None
    interceptors: list[Any] = [recorder] if recorder else []
    server = grpc.aio.server(interceptors=interceptors)
    connector_pb2_grpc.add_ConnectorServicer_to_server(
        RogueConnector(key, cert_pem, mode=mode, recorder=recorder), server
    )
    port = listen_mtls(
        server, "127.0.0.1:0", key_pem=key_pem, cert_pem=cert_pem, ca_pem=home.ca_cert.read_bytes()
    )
    await server.start()
    print(f"rogue connector listening on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", required=True)
    parser.add_argument("--member-dir", required=True)
    parser.add_argument("--mode", choices=MODES, help="behave so for every service")
    parser.add_argument("--record", help="append each call received to this file (JSON lines)")
    args = parser.parse_args()
    asyncio.run(serve(HubHome(Path(args.home)), args.member_dir, args.mode, args.record))
