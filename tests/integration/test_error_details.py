"""What a caller learns from a refusal, through the real hub: a google.rpc.Status with its
ErrorInfo (reason, domain, stage, category, retryable) beside the jembatan-reason trailer;
the same in each fan-out leg; and, from the SDK and the CLI, a refusal of the class of its
category, never confused with a hub that could not be reached."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from hub.pki import CertificateAuthority
from jembatan.certs import make_csr
from jembatan.client import (
    Applicant,
    FixRequest,
    HubUnreachable,
    ObtainConsent,
    QueryRefused,
)
from jembatan.errors import REASON_METADATA_KEY
from jembatan.keys import cert_to_pem, generate_key, key_to_pem
from jembatan.v1 import exchange_pb2, exchange_pb2_grpc
from tests.stack import ELIGIBILITY_ID, PURPOSE, Stack

# Nothing listens on port 1 of loopback: the connection is refused at once.
CLOSED = "127.0.0.1:1"


def _rich(error: grpc.aio.AioRpcError) -> tuple[str, error_details_pb2.ErrorInfo]:
    """(message, ErrorInfo) of the google.rpc.Status in grpc-status-details-bin; from_call
    also checks that its code and message are the call's own."""
    status = rpc_status.from_call(error)
    assert status is not None, "no grpc-status-details-bin"
    (detail,) = status.details
    info = error_details_pb2.ErrorInfo()
    assert detail.Unpack(info), detail.type_url
    return status.message, info


async def test_a_refusal_carries_a_status_with_its_error_info(stack: Stack) -> None:
    nik = stack.people.employed
    async with stack.client() as client:
        request = client.sign(
            client.body(
                service_id=EMPLOYMENT_SERVICE,
                subject=nik,
                purpose=PURPOSE,
                fields=("employment_status",),
            )
        )
    async with stack.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await exchange_pb2_grpc.ExchangeStub(channel).Query(request, timeout=5)
    error = raised.value
    message, info = _rich(error)
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert message == error.details() == "no consent artefact"
    assert (info.reason, info.domain) == ("CONSENT_MISSING", "jembatan")
    assert dict(info.metadata) == {
        "stage": "consent",
        "category": "OBTAIN_CONSENT",
        "retryable": "false",
    }
    # Clients from before the Status still find the reason in its own trailer.
    assert (REASON_METADATA_KEY, "CONSENT_MISSING") in tuple(error.trailing_metadata() or ())


async def test_an_unidentified_callers_bulk_stream_says_only_unauthenticated(
    stack: Stack,
) -> None:
    """A Bulk stream is identified when it opens: an unidentified caller's ends at once, and
    its status says no more than UNAUTHENTICATED (not CERT_UNKNOWN, not the stage)."""
    key = generate_key()
    ca = CertificateAuthority.load(stack.home.ca_dir)
    cert_pem = cert_to_pem(ca.issue(make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID))  # unregistered
    credentials = grpc.ssl_channel_credentials(
        stack.home.ca_cert.read_bytes(), key_to_pem(key), cert_pem
    )
    envelope = exchange_pb2.FanOutRequest(applicant_id="a-1", legs=[b""])
    async with grpc.aio.secure_channel(stack.address, credentials) as channel:
        call = exchange_pb2_grpc.ExchangeStub(channel).Bulk(iter([envelope]), timeout=10)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            _ = [answer async for answer in call]
    error = raised.value
    message, info = _rich(error)
    assert (error.code(), message) == (grpc.StatusCode.UNAUTHENTICATED, "caller not identified")
    assert (info.reason, info.domain) == ("UNAUTHENTICATED", "jembatan")
    assert dict(info.metadata) == {"category": "CALL_SUPPORT", "retryable": "false"}


async def test_a_misspelled_field_is_unknown_field_and_an_unconsented_one_is_not(
    stack: Stack,
) -> None:
    nik = stack.people.employed
    token, _ = stack.consent(nik, fields=("employment_status",))
    async with stack.client() as client:
        with pytest.raises(QueryRefused) as misspelled:
            await client.query(
                service_id=EMPLOYMENT_SERVICE,
                subject=nik,
                purpose=PURPOSE,
                fields=("employment_status", "monthly_wages"),
                consent=token,
            )
        with pytest.raises(QueryRefused) as unconsented:
            await client.query(
                service_id=EMPLOYMENT_SERVICE,
                subject=nik,
                purpose=PURPOSE,
                fields=("employment_status", "monthly_wage"),
                consent=token,
            )
    wrong = misspelled.value
    assert isinstance(wrong, FixRequest) and not wrong.retryable
    assert (wrong.status, wrong.reason, wrong.stage, wrong.category) == (
        grpc.StatusCode.NOT_FOUND,
        "UNKNOWN_FIELD",
        "resolve",
        "FIX_REQUEST",
    )
    assert "'monthly_wages' (did you mean 'monthly_wage'?)" in wrong.message
    missing = unconsented.value
    assert isinstance(missing, ObtainConsent) and not missing.retryable
    assert (missing.reason, missing.stage, missing.category) == (
        "FIELD_NOT_CONSENTED",
        "consent",
        "OBTAIN_CONSENT",
    )


async def test_each_refused_fan_out_leg_carries_stage_and_category(stack: Stack) -> None:
    nik = stack.people.employed
    token, _ = stack.consent(nik, fields=("employment_status",))
    async with stack.client() as client:
        legs = (
            client.body(
                service_id=EMPLOYMENT_SERVICE,
                subject=nik,
                purpose=PURPOSE,
                fields=fields,
                consent=token,
            )
            for fields in (("employment_status",), ("employment_statu",), ("employer",))
        )
        applicant = Applicant("a-2", tuple(legs))
        answer = await client.fan_out(applicant)
        # The same legs signed afresh (new nonces), to read the outcomes as sent.
        request = exchange_pb2.FanOutRequest(
            applicant_id="a-2",
            legs=[client.sign(body).SerializeToString() for body in applicant.legs],
        )
        async with stack.channel() as channel:
            raw = await exchange_pb2_grpc.ExchangeStub(channel).FanOut(request, timeout=10)
    # On the wire: exactly what the RPC status's ErrorInfo would say.
    told = [(o.status, o.reason, o.stage, o.category, o.retryable) for o in raw.legs]
    assert told == [
        ("OK", "", "", "", False),
        ("NOT_FOUND", "UNKNOWN_FIELD", "resolve", "FIX_REQUEST", False),
        ("PERMISSION_DENIED", "FIELD_NOT_CONSENTED", "consent", "OBTAIN_CONSENT", False),
    ]
    # In the SDK: the classes of those categories.
    released, misspelled, unconsented = answer.legs
    assert released.refusal is None and released.answer is not None
    assert isinstance(misspelled.refusal, FixRequest)
    assert misspelled.refusal.stage == "resolve"
    assert isinstance(unconsented.refusal, ObtainConsent)
    assert unconsented.refusal.stage == "consent"


async def test_a_hub_that_cannot_be_reached_is_no_refusal(stack: Stack) -> None:
    async with stack.client(address=CLOSED, timeout_s=5) as client:
        with pytest.raises(HubUnreachable) as raised:
            await client.list_services()
    unreachable = raised.value
    assert not isinstance(unreachable, QueryRefused)
    assert unreachable.retryable
    assert unreachable.status == grpc.StatusCode.UNAVAILABLE
    assert str(unreachable).startswith(f"Cannot reach the hub at {CLOSED}: ")


def test_the_cli_says_it_cannot_reach_the_hub_not_that_it_was_refused(stack: Stack) -> None:
    stack.member(ELIGIBILITY_ID)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "--home",
            str(stack.home.root),
            "query",
            "--hub",
            CLOSED,
            "--service",
            EMPLOYMENT_SERVICE,
            "--subject",
            stack.people.employed,
            "--fields",
            "employment_status",
            "--consent",
            "e30.e30.sig",  # never looked at: the hub is not there to look
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3, result.stderr  # neither a refusal (1) nor a mistake (2)
    assert result.stderr.startswith(f"jembatan: Cannot reach the hub at {CLOSED}: ")
    assert result.stderr.count("\n") == 1
    assert "jembatan: refused" not in result.stderr
