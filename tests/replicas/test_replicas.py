"""Two hub processes on one PostgreSQL store behave as one hub: a nonce used on one is a
replay on the other, a revocation through one bites on both, and the audit log they write
under concurrent load is one Merkle tree with every exchange exactly once — also when the
replica signing the checkpoints is killed mid-load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from hub.home import write_private
from hub.provisioning import issue
from jembatan.certs import make_csr
from jembatan.client import HubClient, HubUnreachable, QueryRefused
from jembatan.keys import cert_to_pem, generate_key, key_to_pem, load_cert_pem, serial_text
from jembatan.on_behalf import ON_BEHALF_OF_METADATA_KEY
from jembatan.v1 import audit_pb2, audit_pb2_grpc, exchange_pb2
from tests.replicas.support import Replicas, assert_one_log, replicas, run_load
from tests.stack import ELIGIBILITY_ID, employment_body, employment_query

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    with replicas(tmp_path_factory.mktemp("replicas")) as running:
        yield running


async def test_a_request_answered_by_one_replica_is_a_replay_on_the_other(
    pair: Replicas,
) -> None:
    nik = pair.stack.people.employed
    token, _ = pair.stack.consent(nik)
    async with pair.client(0) as a, pair.client(1) as b:
        requests = [
            a.sign(employment_body(a, nik, token, request_id=f"replay-{n}")) for n in range(24)
        ]

        async def outcome(client: HubClient, request: object) -> str:
            try:
                await client.send(request)  # type: ignore[arg-type]
            except QueryRefused as refused:
                return refused.reason
            return "RELEASED"

        before = pair.stack.log_size()
        # The same signed request to both replicas at once, for each of 24 requests.
        outcomes = await asyncio.gather(
            *(asyncio.gather(outcome(a, request), outcome(b, request)) for request in requests)
        )
    assert all(sorted(pair_outcome) == ["RELEASED", "REPLAYED"] for pair_outcome in outcomes)
    # Both are recorded (a replay is refused before its body is read: no request id).
    records = pair.stack.records(before)
    assert sorted((r.decision, r.reason) for r in records) == sorted(
        [("RELEASED", "")] * 24 + [("REFUSED", "REPLAYED")] * 24
    )


def _second_certificate(pair: Replicas, tmp: Path) -> tuple[Path, Path, str]:
    """Another certificate for the eligibility service (as a renewal gives one)."""
    key = generate_key()
    cert = issue(pair.stack.home, make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID)
    key_path, cert_path = tmp / "key.pem", tmp / "cert.pem"
    write_private(key_path, key_to_pem(key))
    cert_path.write_bytes(cert_to_pem(cert))
    return key_path, cert_path, serial_text(cert)


async def test_a_certificate_revoked_through_one_replica_is_refused_by_both(
    pair: Replicas, tmp_path: Path
) -> None:
    nik = pair.stack.people.employed
    token, _ = pair.stack.consent(nik)
    key_path, cert_path, serial = _second_certificate(pair, tmp_path)
    assert serial_text(load_cert_pem(cert_path.read_bytes())) == serial

    def client(replica: int) -> HubClient:
        return HubClient(
            pair.hubs[replica].address,
            key_pem=key_path.read_bytes(),
            cert_pem=cert_path.read_bytes(),
            ca_pem=pair.stack.home.ca_cert.read_bytes(),
            unsafe_skip_receipt_check=True,
        )

    async with client(0) as a, client(1) as b:
        for replica in (a, b):  # both serve the new certificate, and cache their registry
            assert (await employment_query(replica, nik, token)).fields
        async with pair.stack.admin() as admin:  # through replica 0
            await admin.revoke(serial, "key-compromise")
        before = pair.stack.log_size()
        for replica in (b, a):
            with pytest.raises(QueryRefused) as refused:
                await employment_query(replica, nik, token)
            # A caller that is not identified learns only that; the log says why.
            assert refused.value.status == grpc.StatusCode.UNAUTHENTICATED
            assert refused.value.reason == "UNAUTHENTICATED"
    records = pair.stack.records(before)
    assert [(r.client_certificate, r.reason) for r in records] == [(serial, "CERT_REVOKED")] * 2


async def test_concurrent_load_on_both_replicas_makes_one_log(pair: Replicas) -> None:
    nik = pair.stack.people.employed
    token, _ = pair.stack.consent(nik)
    async with pair.client(0) as a, pair.client(1) as b:
        load = await run_load([a, b], nik, token, count=300, concurrency=24, tag="one-log")
        assert load.refused == []
        assert len(load.answers) == 300
        # Checkpoints and proofs from either replica cover answers from both.
        verifier = pair.stack.home.log_verifier_key.read_text().strip()
        for client, answer in ((b, load.answers[0]), (a, load.answers[-1])):
            await client.verify_recorded(answer, verifier)
    assert_one_log(pair.stack, load.answers)


async def test_the_other_replica_signs_when_the_signer_is_killed(tmp_path: Path) -> None:
    with replicas(tmp_path / "failover") as running:
        nik = running.stack.people.employed
        token, _ = running.stack.consent(nik)
        signer = running.wait_for_signer()
        survivor = 1 - signer
        async with running.client(0) as a, running.client(1) as b:
            clients = [a, b]
            loading = asyncio.create_task(
                run_load(clients, nik, token, count=400, concurrency=16, tag="failover")
            )
            while not loading.done() and running.stack.log_size() < 150:
                await asyncio.sleep(0.05)
            running.hubs[signer].kill()  # SIGKILL: no goodbye, its session just ends
            load = await loading
        # Only the dead replica failed anyone, and only because it was gone: unreachable (or
        # cut mid-call), never a refusal.
        assert load.refused and all(
            replica == signer and isinstance(refused, HubUnreachable)
            for replica, refused in load.refused
        )
        assert running.wait_for_signer(not_=signer) == survivor
        # The survivor now signs on its own schedule (nobody asks it to).
        with running.stack.registry() as store:
            size = store.tree_size()
            deadline = time.monotonic() + 15
            while (store.latest_checkpoint() or (0, ""))[0] < size:
                assert time.monotonic() < deadline, "the survivor signed no checkpoint"
                time.sleep(0.2)
        assert_one_log(running.stack, load.answers)


async def test_an_approval_used_on_one_replica_is_refused_on_the_other(pair: Replicas) -> None:
    """Two-person approval buys one break-glass query across the whole deployment."""
    supervisor = "ID/GOV/KEMENSOS/supervisor"
    pair.stack.member(supervisor, roles=["approver"])
    nik = pair.stack.people.recently_terminated
    async with pair.client(0) as a, pair.client(1) as b, pair.client(0, supervisor) as second:
        basis = exchange_pb2.LegalBasis(
            reference="UU 24/2007 tentang Penanggulangan Bencana, Pasal 48",
            justification="Banjir di Lateng: pemohon mengungsi, tidak dapat dihubungi",
        )
        body = employment_body(
            a, nik, fields=("employment_status",), purpose="bansos-emergency", legal_basis=basis
        )
        approved = second.approve(a.sign(body))
        answer = await a.send(approved)
        again = exchange_pb2.QueryRequest(
            body=approved.body, signature=b.sign(body).signature, approval=approved.approval
        )
        with pytest.raises(QueryRefused) as refused:
            await b.send(again)
    assert answer.fields["employment_status"].value is not None
    assert refused.value.reason == "APPROVAL_INVALID"
    assert "already used" in refused.value.message


async def test_a_break_glass_record_gets_one_final_review_across_replicas(pair: Replicas) -> None:
    """Two officers reviewing one break-glass record at once, through different replicas:
    the claim in the shared store lets one verdict into the log; both replicas then list the
    record as closed with that verdict (the review JSON filters on PostgreSQL)."""
    stack = pair.stack
    supervisor = "ID/GOV/KEMENSOS/supervisor"
    stack.member(supervisor, roles=["approver"])
    before = stack.log_size()
    async with pair.client(0) as client, pair.client(0, supervisor) as second:
        basis = exchange_pb2.LegalBasis(
            reference="UU 24/2007 tentang Penanggulangan Bencana, Pasal 48",
            justification="Banjir di Lateng: pemohon mengungsi, tidak dapat dihubungi",
        )
        body = employment_body(
            client,
            stack.people.employed,
            fields=("employment_status",),
            purpose="bansos-emergency",
            legal_basis=basis,
        )
        await client.send(second.approve(client.sign(body)))
    (index,) = [before + i for i, r in enumerate(stack.records(before)) if r.break_glass]
    console = stack.member(stack.console_member())
    credentials = grpc.ssl_channel_credentials(
        stack.home.ca_cert.read_bytes(), console.key_pem, console.cert_pem
    )

    async def review(replica: int, officer: str, outcome: str) -> audit_pb2.LoggedRecord:
        async with grpc.aio.secure_channel(pair.hubs[replica].address, credentials) as channel:
            request = audit_pb2.ReviewBreakGlassRequest(
                index=index, outcome=outcome, note="Banjir tercatat BNPB; persetujuan sah."
            )
            return await audit_pb2_grpc.AuditStub(channel).ReviewBreakGlass(
                request, metadata=((ON_BEHALF_OF_METADATA_KEY, officer),)
            )

    outcomes = await asyncio.gather(
        review(0, "siti", "justified"), review(1, "budi", "unjustified"), return_exceptions=True
    )
    won = [o for o in outcomes if isinstance(o, audit_pb2.LoggedRecord)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert lost[0].code() == grpc.StatusCode.FAILED_PRECONDITION
    verdicts = [
        r.review for r in stack.records(index) if r.review and r.review.reviewed_index == index
    ]
    assert len(verdicts) == 1
    for replica in (0, 1):
        async with grpc.aio.secure_channel(pair.hubs[replica].address, credentials) as channel:
            listed = await audit_pb2_grpc.AuditStub(channel).ListBreakGlass(
                audit_pb2.ListBreakGlassRequest(state="closed"),
                metadata=((ON_BEHALF_OF_METADATA_KEY, "siti"),),
            )
        (case,) = [c for c in listed.cases if c.entry.index == index]
        assert (case.state, case.review.index) == (verdicts[0].outcome, won[0].index)
