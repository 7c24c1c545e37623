"""Decode alone: the bytes are a QueryRequest with nothing the contract does not know."""

from __future__ import annotations

from hub.pipeline.stages import Decode
from tests.pipeline.fakes import (
    exchange,
    query_body,
    refusal,
    signed_request,
    with_unknown_field,
)


async def test_a_query_request_is_decoded() -> None:
    request = signed_request(query_body())
    x = exchange(request.SerializeToString())
    await Decode()(x)
    assert x.request == request


async def test_bytes_that_are_no_query_request_are_malformed() -> None:
    # A truncated length-delimited field: no protobuf message at all.
    x = exchange(b"\x0a\x05ab")
    assert await refusal(Decode(), x) == "MALFORMED_REQUEST"


async def test_a_request_with_an_unknown_field_is_malformed() -> None:
    raw = with_unknown_field(signed_request(query_body()).SerializeToString())
    x = exchange(raw)
    assert await refusal(Decode(), x) == "MALFORMED_REQUEST"
