"""Malformed and oversized messages get a clear status, and the hub keeps serving."""

from __future__ import annotations

import grpc
import pytest

from jembatan.client import refusal_of
from jembatan.v1 import exchange_pb2
from tests.stack import Stack, still_serves

QUERY_METHOD = "/jembatan.v1.Exchange/Query"


async def _refused(stack: Stack, raw: bytes) -> grpc.aio.AioRpcError:
    """Send raw bytes as an Exchange/Query request; the call must fail."""
    async with stack.channel() as channel:
        call = channel.unary_unary(QUERY_METHOD)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call(raw, timeout=5)
    return error.value


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\x0f", b"\x12\x05abc", b"\xa8\x06\x01"],
    ids=["garbage", "truncated-length", "short-field", "unknown-field"],
)
async def test_undecodable_request_is_refused_and_hub_keeps_serving(
    stack: Stack, raw: bytes
) -> None:
    before = stack.log_size()
    refusal = refusal_of(await _refused(stack, raw))
    record = stack.refused_once(
        before, refusal, grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"
    )
    assert record.stage == "decode"
    await still_serves(stack)


async def test_oversized_request_is_refused_and_hub_keeps_serving(stack: Stack) -> None:
    request = exchange_pb2.QueryRequest(body=b"x" * (70 * 1024), signature="s")
    error = await _refused(stack, request.SerializeToString())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    await still_serves(stack)


async def test_unsigned_garbage_body_is_refused_before_parsing(stack: Stack) -> None:
    """Bytes nobody signed are refused as a bad signature, whatever they contain."""
    before = stack.log_size()
    request = exchange_pb2.QueryRequest(body=b"\x01\x02\x03", signature="not-a-jws")
    refusal = refusal_of(await _refused(stack, request.SerializeToString()))
    record = stack.refused_once(
        before, refusal, grpc.StatusCode.UNAUTHENTICATED, "SIGNATURE_INVALID"
    )
    assert record.stage == "authenticate"
    await still_serves(stack)
