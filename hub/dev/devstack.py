"""A whole hub on loopback: a throw-away home, the hub and the simulated agencies as
separate processes. The demo, the tests and the benchmarks all start it this way.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from consent.artefact import grant, sign_consent
from examples.eligibility.service import PURPOSE
from hub.dev.processes import RunningProcess, start_jembatan
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.provisioning import MemberFiles, enrol, init_consent_manager, init_home
from jembatan.client import HubClient
from jembatan.keys import load_ed25519_private_pem, load_ed25519_public_pem

ELIGIBILITY_ID = "ID/GOV/KEMENSOS/eligibility"
# The second official who countersigns break-glass queries (two-person approval).
SUPERVISOR_ID = "ID/GOV/KEMENSOS/supervisor"


def prepare_home(
    root: Path, agencies: Sequence[str] | None = None, *, database_url: str | None = None
) -> HubHome:
    """CA, hub keys, the consent manager, the eligibility service with its supervisor (the
    approver of break-glass queries) and the agencies; the
    registry in ``database_url`` (PostgreSQL) if given, else in the home's SQLite file."""
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency

    home = HubHome(root, database_url=database_url)
    init_home(home)
    init_consent_manager(home)
    for member_id in (ELIGIBILITY_ID, CONSENT_MANAGER_ID):
        enrol(home, member_id)
    enrol(home, SUPERVISOR_ID, roles=["approver"])
    for name in agencies or PILOT_AGENCIES:
        enrol(home, simulated_agency(name).agency_id)
    return home


def signed_consent(
    consent_key: Ed25519PrivateKey,
    subject: str,
    services: Mapping[str, Iterable[str]],
    *,
    valid_for: datetime.timedelta,
    grantee: str = ELIGIBILITY_ID,
    purpose: str = PURPOSE,
    consent_id: str | None = None,
) -> str:
    """A consent artefact the consent manager signed with ``consent_key``: ``subject``
    lets ``grantee`` have ``services``' fields for ``purpose``, for ``valid_for`` from now
    (answering the request ``consent_id``, if given)."""
    artefact = grant(
        issuer=CONSENT_MANAGER_ID,
        subject=subject,
        grantee=grantee,
        purpose=purpose,
        services=services,
        valid_for=valid_for,
        consent_id=consent_id,
    )
    return sign_consent(artefact, consent_key)


@dataclass
class DevStack:
    home: HubHome
    hub: RunningProcess
    agencies: RunningProcess

    @property
    def address(self) -> str:
        return self.hub.address

    @property
    def consent_key(self) -> Ed25519PrivateKey:
        return load_ed25519_private_pem(
            (self.home.member_dir(CONSENT_MANAGER_ID) / "consent.key").read_bytes()
        )

    def member_files(self, member_id: str) -> MemberFiles:
        directory = self.home.member_dir(member_id)
        return MemberFiles(member_id, directory / "key.pem", directory / "cert.pem")

    def client(self, member_id: str = ELIGIBILITY_ID, *, timeout_s: float = 5.0) -> HubClient:
        files = self.member_files(member_id)
        return HubClient(
            self.address,
            key_pem=files.key_pem,
            cert_pem=files.cert_pem,
            ca_pem=self.home.ca_cert.read_bytes(),
            log_key=load_ed25519_public_pem(self.home.log_public_key.read_bytes()),
            timeout_s=timeout_s,
        )

    def stop(self) -> None:
        self.hub.stop()
        self.agencies.stop()


def start(
    home: HubHome,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    policies: Path | None = None,
    hub_args: Sequence[str] = (),
    sim_args: Sequence[str] = (),
    hub_stderr: IO[str] | None = None,
) -> DevStack:
    """Start the agencies (routed in the hub's registry), then the hub."""
    agencies = start_jembatan(
        "agencies",
        [
            *home_args(home),
            "sim",
            "--register",
            "--seed",
            str(seed),
            "--scale",
            str(scale),
            *sim_args,
        ],
    )
    try:
        policy_args = ["--policies", str(policies)] if policies else []
        hub = start_hub(home, [*policy_args, *hub_args], stderr=hub_stderr)
    except BaseException:
        agencies.stop()
        raise
    return DevStack(home, hub, agencies)


def home_args(home: HubHome) -> list[str]:
    """``jembatan`` options naming the home and its store."""
    store = ["--database", home.database_url] if home.database_url else []
    return ["--home", str(home.root), *store]


def start_hub(
    home: HubHome,
    args: Sequence[str] = (),
    name: str = "hub",
    stderr: IO[str] | None = None,
) -> RunningProcess:
    """One hub process on a free loopback port; call again for another replica of a home
    whose store is a PostgreSQL database."""
    return start_jembatan(
        name, [*home_args(home), "serve", "--listen", "127.0.0.1:0", *args], stderr=stderr
    )


def start_portal(
    home: HubHome,
    hub: str,
    state: Path,
    *,
    seed: int = 2026,
    scale: float = 1.0,
    args: Sequence[str] = (),
    stderr: IO[str] | None = None,
) -> RunningProcess:
    """The citizens' portal on a free loopback port, a member of the hub at ``hub`` (the
    consent manager, with the eligibility service in-process), its state in ``state``; the
    civil registry it reads is the agencies' simulated villages (the same ``seed`` and
    ``scale``). ``-v``: its log names each step, so a reader can follow a journey."""
    return start_jembatan(
        "portal",
        [
            *home_args(home),
            "-v",
            "portal",
            "--hub",
            hub,
            "--listen",
            "127.0.0.1:0",
            "--state",
            str(state),
            "--seed",
            str(seed),
            "--scale",
            str(scale),
            *args,
        ],
        stderr=stderr,
    )
