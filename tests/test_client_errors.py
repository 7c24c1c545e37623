"""How the SDK reads an ended call (``jembatan.client.channel.error_of``) when the hub is not
the one this SDK was built with: the end-to-end cases run through the real hub in
tests/integration/test_error_details.py."""

from __future__ import annotations

import grpc
from google.protobuf.any_pb2 import Any
from google.rpc import error_details_pb2, status_pb2
from grpc.aio import Metadata

from jembatan.client import CallSupport, HubCallFailed, HubUnreachable, ObtainConsent, RetryLater
from jembatan.client.channel import error_of

HUB = "hub.example:7443"


def _ended(
    code: grpc.StatusCode, details: str, *trailing: tuple[str, str | bytes]
) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, Metadata(), Metadata(*trailing), details)


def _status_bin(code: grpc.StatusCode, message: str, info: error_details_pb2.ErrorInfo) -> bytes:
    packed = Any()
    packed.Pack(info)
    status = status_pb2.Status(code=code.value[0], message=message, details=[packed])
    return status.SerializeToString()


def test_a_hub_from_before_the_status_is_read_by_its_trailer() -> None:
    error = _ended(
        grpc.StatusCode.UNAVAILABLE, "log down", ("jembatan-reason", "AUDIT_UNAVAILABLE")
    )
    refusal = error_of(error, HUB)
    assert isinstance(refusal, RetryLater) and refusal.retryable
    assert (refusal.reason, refusal.stage, refusal.message) == (
        "AUDIT_UNAVAILABLE",
        "",
        "log down",
    )


def test_a_reason_this_sdk_does_not_know_takes_the_hub_s_category_or_needs_a_person() -> None:
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    told = error_details_pb2.ErrorInfo(
        reason="SOMETHING_NEW",
        domain="jembatan",
        metadata={"stage": "admit", "category": "RETRY_LATER", "retryable": "true"},
    )
    newer = error_of(
        _ended(code, "busy", ("grpc-status-details-bin", _status_bin(code, "busy", told))), HUB
    )
    assert isinstance(newer, RetryLater) and newer.stage == "admit"
    untold = error_of(_ended(code, "busy", ("jembatan-reason", "SOMETHING_NEW")), HUB)
    assert isinstance(untold, CallSupport) and not untold.retryable


def test_another_domain_s_error_info_is_not_taken_for_the_hub_s() -> None:
    code = grpc.StatusCode.PERMISSION_DENIED
    foreign = error_details_pb2.ErrorInfo(reason="CONSENT_MISSING", domain="proxy.example")
    error = _ended(
        code,
        "no",
        ("grpc-status-details-bin", _status_bin(code, "no", foreign)),
        ("jembatan-reason", "CONSENT_MISSING"),
    )
    refusal = error_of(error, HUB)
    assert isinstance(refusal, ObtainConsent) and refusal.reason == "CONSENT_MISSING"


def test_a_status_without_a_reason_is_no_refusal() -> None:
    unreachable = error_of(_ended(grpc.StatusCode.UNAVAILABLE, "connection refused"), HUB)
    assert isinstance(unreachable, HubUnreachable) and unreachable.retryable
    assert str(unreachable) == f"Cannot reach the hub at {HUB}: connection refused"
    late = error_of(_ended(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded"), HUB)
    assert isinstance(late, HubUnreachable)
    other = error_of(_ended(grpc.StatusCode.UNIMPLEMENTED, "no such method"), HUB)
    assert type(other) is HubCallFailed and not other.retryable
