"""Fuzzing the Exchange service: over ten thousand generated malformed messages to each method.

Every message gets a precise answer — a refusal whose gRPC status is the one the contract gives
its reason, with the reason in the ``jembatan-reason`` trailer (per leg, for fan-out and bulk) —
never UNKNOWN, INTERNAL or a dropped stream; the hub stays up, and a legitimate query is still
served afterwards. Deterministic (seeded), so a failure can be replayed.

The messages come from three families: random bytes; byte-level mutations (flips, truncation,
insertion, splicing) of a correctly signed request; and well-formed protobuf carrying bad
contents (a random body, a mangled signature, a body signed by someone else, legs of random
bytes). The signed base request names no consent, so even a mutation that happens to decode
to a valid request is refused with a reason rather than released.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path

import grpc
import pytest

from jembatan.errors import REASON_METADATA_KEY, STATUS_OF_REASON
from jembatan.limits import MAX_MESSAGE_BYTES
from jembatan.v1 import exchange_pb2
from tests.stack import (
    EMPLOYMENT_FIELDS,
    EMPLOYMENT_SERVICE,
    PURPOSE,
    Stack,
    start_stack,
    still_serves,
)

MESSAGES_PER_METHOD = 10_000
CONCURRENCY = 16
SEED = 20261204
Generator = Callable[[random.Random], bytes]


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of the module's own: tens of thousands of refusals stay out of the shared log."""
    running = start_stack(Path(tmp_path_factory.mktemp("fuzz")))
    yield running
    running.hub.stop()
    running.sim.stop()


def _signed_base(stack: Stack) -> bytes:
    """A correctly signed request that names no consent (CONSENT_MISSING if ever valid)."""
    client = stack.client()
    body = client.body(
        service_id=EMPLOYMENT_SERVICE,
        subject=stack.people.employed,
        purpose=PURPOSE,
        fields=EMPLOYMENT_FIELDS,
    )
    return client.sign(body).SerializeToString()


def _random_bytes(rng: random.Random) -> bytes:
    return rng.randbytes(rng.randrange(0, 300))


def _mutator(base: bytes) -> Generator:
    def mutate(rng: random.Random) -> bytes:
        data = bytearray(base)
        for _ in range(rng.randrange(1, 6)):
            kind = rng.randrange(4)
            at = rng.randrange(len(data) + 1)
            if kind == 0 and at < len(data):
                data[at] ^= 1 << rng.randrange(8)
            elif kind == 1:
                del data[at:]
            elif kind == 2:
                data[at:at] = rng.randbytes(rng.randrange(1, 8))
            else:
                start = rng.randrange(len(base))
                data[at:at] = base[start : start + rng.randrange(1, 32)]
        mutated = bytes(data)
        return mutated if mutated != base else mutated + b"\x00"

    return mutate


def _ill_formed_contents(base: bytes) -> Generator:
    request = exchange_pb2.QueryRequest.FromString(base)

    def generate(rng: random.Random) -> bytes:
        kind = rng.randrange(4)
        if kind == 0:
            bad = exchange_pb2.QueryRequest(body=rng.randbytes(rng.randrange(0, 200)))
            bad.signature = request.signature
        elif kind == 1:
            signature = list(request.signature)
            for _ in range(rng.randrange(1, 4)):
                signature[rng.randrange(len(signature))] = rng.choice("Aa0-_.=!")
            bad = exchange_pb2.QueryRequest(body=request.body, signature="".join(signature))
        elif kind == 2:
            bad = exchange_pb2.QueryRequest(body=request.body, approval=request.signature)
        else:
            bad = exchange_pb2.QueryRequest(
                body=request.body, signature=".".join(rng.choice(["", "e30", "x"]) for _ in "abc")
            )
        return bad.SerializeToString()

    return generate


def _malformed_queries(stack: Stack, seed: int) -> Iterator[bytes]:
    base = _signed_base(stack)
    families = [_random_bytes, _mutator(base), _ill_formed_contents(base)]
    rng = random.Random(seed)
    for n in itertools.count():
        yield families[n % len(families)](rng)


def _query_messages(stack: Stack) -> list[bytes]:
    return list(itertools.islice(_malformed_queries(stack, SEED), MESSAGES_PER_METHOD))


def _fan_out_messages(stack: Stack, seed: int) -> list[bytes]:
    """Every other one a well-formed FanOutRequest whose one to three legs are malformed requests
    (the envelope passes and each leg must be refused on its own); the rest are bytes that
    are no fan-out at all."""
    queries = _malformed_queries(stack, seed)
    rng = random.Random(seed + 1)
    messages = []
    for n in range(MESSAGES_PER_METHOD):
        if n % 2:
            messages.append(next(queries))
        else:
            legs = [next(queries) for _ in range(rng.randrange(1, 4))]
            envelope = exchange_pb2.FanOutRequest(applicant_id=f"fuzz-{n}", legs=legs)
            messages.append(envelope.SerializeToString())
    return messages


def _assert_precise(status_name: str, reason: str) -> None:
    assert reason in STATUS_OF_REASON, f"no reason, or an unknown one: {reason!r}"
    assert status_name == STATUS_OF_REASON[reason], f"{reason} sent with {status_name}"
    assert status_name not in ("OK", "UNKNOWN", "INTERNAL"), f"{reason} is no precise refusal"


def _assert_refused_precisely(error: grpc.aio.AioRpcError) -> None:
    trailers = dict(error.trailing_metadata() or ())
    _assert_precise(error.code().name, str(trailers.get(REASON_METADATA_KEY, "")))


def _assert_legs_refused(response: exchange_pb2.FanOutResponse) -> None:
    assert response.legs, "an answer without outcomes"
    for leg in response.legs:
        _assert_precise(leg.status, leg.reason)


async def _unary(stack: Stack, method: str, messages: Iterable[bytes]) -> int:
    answered = 0
    pending = iter(messages)  # shared by the workers: each message is sent once
    async with stack.channel() as channel:
        call = channel.unary_unary(method)

        async def worker() -> None:
            nonlocal answered
            for raw in pending:
                try:
                    response = await call(raw, timeout=30)
                except grpc.aio.AioRpcError as error:
                    _assert_refused_precisely(error)
                else:
                    _assert_legs_refused(exchange_pb2.FanOutResponse.FromString(response))
                answered += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return answered


async def test_ten_thousand_malformed_queries_each_get_a_precise_refusal(
    fuzz_stack: Stack,
) -> None:
    messages = _query_messages(fuzz_stack)
    assert len(messages) == MESSAGES_PER_METHOD
    assert all(len(m) < MAX_MESSAGE_BYTES for m in messages)
    assert await _unary(fuzz_stack, "/jembatan.v1.Exchange/Query", messages) == len(messages)
    await still_serves(fuzz_stack)


async def test_ten_thousand_malformed_fan_outs_each_get_a_precise_refusal(
    fuzz_stack: Stack,
) -> None:
    messages = _fan_out_messages(fuzz_stack, SEED + 2)
    answered = await _unary(fuzz_stack, "/jembatan.v1.Exchange/FanOut", messages)
    assert answered == len(messages)
    await still_serves(fuzz_stack)


async def test_ten_thousand_malformed_bulk_items_each_get_a_precise_answer(
    fuzz_stack: Stack,
) -> None:
    messages = _fan_out_messages(fuzz_stack, SEED + 4)
    streams = 8
    answered = 0

    async def stream(items: list[bytes]) -> None:
        nonlocal answered
        async with fuzz_stack.channel() as channel:
            call = channel.stream_stream("/jembatan.v1.Exchange/Bulk")

            async def requests() -> AsyncIterator[bytes]:
                for raw in items:
                    yield raw

            async for raw in call(requests(), timeout=300):
                _assert_legs_refused(exchange_pb2.FanOutResponse.FromString(raw))
                answered += 1

    await asyncio.gather(*(stream(messages[n::streams]) for n in range(streams)))
    assert answered == len(messages)
    await still_serves(fuzz_stack)
