"""The tests' hub stack — PKI on disk, the hub and the seven simulated agencies with their
connectors as separate processes on loopback sockets (``hub.devstack``), and helpers."""

from __future__ import annotations

import contextlib
import datetime
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypedDict, Unpack

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from connectors.bpjstk.samples import SampleNiks, sample_niks
from connectors.population import Population, generate
from consent.artefact import grant, sign_consent
from hub.dev import devstack
from hub.dev.processes import RunningProcess
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.provisioning import MemberFiles, enrol
from hub.store import open_store
from hub.store.base import HubStore
from jembatan.audit.record import AuditRecord
from jembatan.client import AdminClient, HubClient, QueryAnswer, QueryRefused
from jembatan.keys import load_ed25519_public_pem
from jembatan.v1 import consent_pb2, consent_pb2_grpc, exchange_pb2
from policies import DEFAULT_DIRECTORY

ELIGIBILITY_ID = "ID/GOV/KEMENSOS/eligibility"
# The hub operator's administrator: enrolled with the role on first use, like the auditor.
ADMINISTRATOR_ID = "ID/GOV/SPLP/administrator"
# The security officers' member (BSSN), enrolled with the auditor role on first use.
AUDITOR_ID = "ID/GOV/BSSN/auditor"
# The officers' web console's member: the auditor role to read the log, the console role to
# name the officer it acts for with each call.
CONSOLE_ID = "ID/GOV/BSSN/console"
PURPOSE = "bansos-eligibility"
EMPLOYMENT_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")
TEST_POLICIES = Path(__file__).parent / "fixtures" / "policies"
# Small enough to start in a moment, large enough to hold every sample case.
TEST_SEED, TEST_SCALE = 2026, 0.05


@dataclass
class Stack:
    """A running hub with its agency; helpers to make members, consents and clients."""

    home: HubHome
    hub: RunningProcess
    sim: RunningProcess
    consent_key: Ed25519PrivateKey
    population: Population
    people: SampleNiks
    _enrolled: dict[str, MemberFiles] = field(default_factory=dict)
    _portal: grpc.Channel | None = None

    @property
    def address(self) -> str:
        return self.hub.address

    @property
    def metrics_url(self) -> str:
        """The hub's Prometheus endpoint (the test hub serves it on a free loopback port,
        named on its startup line)."""
        match = re.search(r"metrics on (\S+:\d+)\)", self.hub.ready_line)
        assert match, self.hub.ready_line
        return f"http://{match.group(1)}/metrics"

    def member(self, member_id: str, roles: Sequence[str] = ()) -> MemberFiles:
        """Key and certificate of ``member_id``, enrolled (with ``roles``) on first use."""
        if member_id not in self._enrolled:
            directory = self.home.member_dir(member_id)
            if (directory / "cert.pem").exists():
                self._enrolled[member_id] = MemberFiles(
                    member_id, directory / "key.pem", directory / "cert.pem"
                )
            else:
                self._enrolled[member_id] = enrol(self.home, member_id, roles=roles)
        return self._enrolled[member_id]

    def channel(self, member_id: str = ELIGIBILITY_ID) -> grpc.aio.Channel:
        """A bare mTLS channel to the hub as ``member_id``, for calls below the client SDK
        (raw stubs, metadata, health, the audit service's stubs)."""
        files = self.member(member_id)
        return grpc.aio.secure_channel(
            self.address,
            grpc.ssl_channel_credentials(
                self.home.ca_cert.read_bytes(), files.key_pem, files.cert_pem
            ),
        )

    def auditor(self) -> str:
        """The security officers' member id, enrolled with the auditor role: every test
        that needs an officer goes through here, so none enrols it without the role."""
        self.member(AUDITOR_ID, roles=["auditor"])
        return AUDITOR_ID

    def console_member(self) -> str:
        """The officers' console's member id, enrolled with the auditor and console roles."""
        self.member(CONSOLE_ID, roles=["auditor", "console"])
        return CONSOLE_ID

    def admin(self, member_id: str = ADMINISTRATOR_ID) -> AdminClient:
        """An Admin API client as ``member_id`` (the administrator unless said otherwise)."""
        roles = ["administrator"] if member_id == ADMINISTRATOR_ID else []
        files = self.member(member_id, roles)
        return AdminClient(
            self.address,
            key_pem=files.key_pem,
            cert_pem=files.cert_pem,
            ca_pem=self.home.ca_cert.read_bytes(),
        )

    def client(
        self, member_id: str = ELIGIBILITY_ID, *, address: str | None = None, **options: object
    ) -> HubClient:
        """A client of the hub (or of the replica at ``address``) as ``member_id``."""
        files = self.member(member_id)
        return HubClient(
            address or self.address,
            key_pem=files.key_pem,
            cert_pem=files.cert_pem,
            ca_pem=self.home.ca_cert.read_bytes(),
            log_key=load_ed25519_public_pem(self.home.log_public_key.read_bytes()),
            **options,  # type: ignore[arg-type]
        )

    def consent(
        self,
        subject: str,
        service: str = EMPLOYMENT_SERVICE,
        fields: Sequence[str] = EMPLOYMENT_FIELDS,
        *,
        grantee: str = ELIGIBILITY_ID,
        purpose: str = PURPOSE,
        valid_for: datetime.timedelta = datetime.timedelta(days=30),
        now: datetime.datetime | None = None,
        services: Mapping[str, Sequence[str]] | None = None,
        consent_id: str | None = None,
        key: Ed25519PrivateKey | None = None,
        register: bool = True,
    ) -> tuple[str, str]:
        """(signed artefact, consent id), granted through the hub by the consent manager
        unless ``register`` is False; ``services`` covers several services at once. An
        artefact under a ``consent_id`` of the test's choosing, or signed with another
        ``key`` than the consent manager's, is one the hub should not take."""
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=subject,
            grantee=grantee,
            purpose=purpose,
            services=services or {service: fields},
            valid_for=valid_for,
            now=now,
            consent_id=consent_id,
        )
        token = sign_consent(artefact, key or self.consent_key)
        if register:
            self.register(token)
        return token, artefact.consent_id

    def register(self, artefact: str, request_id: str = "") -> consent_pb2.ConsentRecord:
        """Grant ``artefact`` as the consent manager. Blocking, so sync helpers can use it
        inside async tests: the hub is another process, the wait cannot deadlock."""
        if self._portal is None:
            files = self.member(CONSENT_MANAGER_ID)
            self._portal = grpc.secure_channel(
                self.address,
                grpc.ssl_channel_credentials(
                    self.home.ca_cert.read_bytes(), files.key_pem, files.cert_pem
                ),
            )
        stub = consent_pb2_grpc.ConsentRegistryStub(self._portal)
        record: consent_pb2.ConsentRecord = stub.Grant(
            consent_pb2.GrantRequest(request_id=request_id, artefact=artefact), timeout=10
        )
        return record

    def expired_consent(self, subject: str) -> tuple[str, str]:
        """(artefact, consent id) of a consent granted while valid, then run out: the hub
        judges expiry by the real clock and refuses to grant an expired artefact, so this
        grants one that ends a second or two from now and waits until it has."""
        started = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=58)
        granted = self.consent(subject, now=started, valid_for=datetime.timedelta(seconds=60))
        # JWT times are whole seconds: past 60 s after ``started``, whatever the rounding.
        time.sleep(max(0.0, (started + datetime.timedelta(seconds=61)).timestamp() - time.time()))
        return granted

    @contextlib.contextmanager
    def registry(self) -> Iterator[HubStore]:
        registry = open_store(self.home)
        try:
            yield registry
        finally:
            registry.close()

    def log_size(self) -> int:
        with self.registry() as registry:
            return registry.size()

    def records(self, since: int = 0) -> list[AuditRecord]:
        with self.registry() as registry:
            return [
                AuditRecord.from_json(record)
                for index, _, record in registry.entries()
                if index >= since
            ]

    def refused_once(
        self, before: int, refusal: QueryRefused, status: grpc.StatusCode, reason: str
    ) -> AuditRecord:
        """The caller was told ``refusal`` = (status, reason), and the log holds exactly one
        record since ``before``, REFUSED for that reason: that record, for further checks."""
        assert (refusal.status, refusal.reason) == (status, reason), refusal
        (record,) = self.records(before)
        assert (record.decision, record.reason) == ("REFUSED", reason)
        return record

    @contextlib.contextmanager
    def audit_broken(self) -> Iterator[None]:
        """The hub's audit inserts fail while the block runs, as on a full disk or an I/O
        error: a trigger makes SQLite abort them, and the hub process keeps running."""
        with contextlib.closing(sqlite3.connect(self.home.database)) as conn:
            conn.execute(
                "CREATE TRIGGER audit_disk_failure BEFORE INSERT ON audit_log"
                " BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"
            )
            conn.commit()
        try:
            yield
        finally:
            with contextlib.closing(sqlite3.connect(self.home.database)) as conn:
                conn.execute("DROP TRIGGER audit_disk_failure")
                conn.commit()

    def stored_bytes(self) -> bytes:
        """Every byte of the hub's database files, for leak checks."""
        return b"".join(p.read_bytes() for p in self.home.root.glob("hub.db*") if p.is_file())


def start_stack(
    root: Path,
    *,
    policies: Path | None = None,
    hub_args: Sequence[str] = (),
    sim_args: Sequence[str] = (),
    hub_stderr: IO[str] | None = None,
    database_url: str | None = None,
) -> Stack:
    """The hub and its agencies; the store in ``database_url`` (a PostgreSQL DSN) if given,
    so more replicas can join it (``start_replica``)."""
    home = devstack.prepare_home(root, database_url=database_url)
    running = devstack.start(
        home,
        seed=TEST_SEED,
        scale=TEST_SCALE,
        policies=policies or _policies_with_fixtures(root / "policies"),
        hub_args=["--metrics-listen", "127.0.0.1:0", *hub_args],
        sim_args=sim_args,
        hub_stderr=hub_stderr,
    )
    population = generate(TEST_SEED, scale=TEST_SCALE)
    return Stack(
        home,
        running.hub,
        running.agencies,
        running.consent_key,
        population,
        sample_niks(population),
    )


def start_replica(stack: Stack, name: str = "replica") -> RunningProcess:
    """Another hub process on the stack's PostgreSQL store, with the same home (keys, CA)
    and policies (the default fixtures), on a port of its own."""
    if not stack.home.database_url:
        raise ValueError("replicas share a PostgreSQL store: start_stack(database_url=...)")
    return devstack.start_hub(
        stack.home, ["--policies", str(stack.home.root / "policies")], name=name
    )


def _policies_with_fixtures(directory: Path) -> Path:
    """The shipped policies plus the tests' own rules (for rogue test agencies)."""
    directory.mkdir()
    for source in [*DEFAULT_DIRECTORY.glob("*.yaml"), *TEST_POLICIES.glob("*.yaml")]:
        shutil.copy(source, directory / source.name)
    return directory


class QueryChanges(TypedDict, total=False):
    """What a test may change of the everyday query."""

    service_id: str
    purpose: str
    legal_basis: exchange_pb2.LegalBasis | None
    request_id: str | None


def employment_body(
    client: HubClient,
    subject: str,
    consent: str = "",
    fields: Sequence[str] = EMPLOYMENT_FIELDS,
    **changes: Unpack[QueryChanges],
) -> exchange_pb2.QueryBody:
    """The everyday query's body: BPJSTK employment fields for one applicant, for bansos
    (but for ``changes``)."""
    return client.body(
        service_id=changes.get("service_id", EMPLOYMENT_SERVICE),
        subject=subject,
        purpose=changes.get("purpose", PURPOSE),
        fields=fields,
        consent=consent,
        legal_basis=changes.get("legal_basis"),
        request_id=changes.get("request_id"),
    )


async def employment_query(
    client: HubClient,
    subject: str,
    consent: str,
    fields: Sequence[str] = EMPLOYMENT_FIELDS,
    **changes: Unpack[QueryChanges],
) -> QueryAnswer:
    """The everyday query (``employment_body``), signed and sent."""
    return await client.send(
        client.sign(employment_body(client, subject, consent, fields, **changes))
    )


async def still_serves(stack: Stack) -> None:
    """After whatever a test threw at the hub, an everyday consented query is answered."""
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        answer = await employment_query(client, nik, token)
    assert answer.fields
