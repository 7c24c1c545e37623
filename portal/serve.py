"""Starting the portal: its store and secrets, its two members' channels to the hub, the
civil registry, and the web application on its address."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from jembatan.client import HubClient
from jembatan.keys import load_ed25519_private_pem, load_ed25519_public_pem
from portal.app import AccessLog, Portal, make_app
from portal.civil_registry import SimulatedCivilRegistry
from portal.keys import PortalSecrets
from portal.members import ConsentManager, EligibilityDesk, load_formula
from portal.signin import SignIn, SignInPolicy
from portal.store import open_portal_store

log = logging.getLogger("jembatan.portal")


@dataclass(frozen=True)
class MemberFiles:
    key: Path
    cert: Path


@dataclass(frozen=True)
class PortalConfig:
    hub: str
    ca_cert: Path
    log_public_key: Path
    portal: MemberFiles  # the consent manager's TLS member
    consent_key: Path  # the consent manager's Ed25519 signing key
    eligibility: MemberFiles  # the eligibility service run in-process
    state_dir: Path
    store: str  # a PostgreSQL DSN, or "" for STATE/portal.db
    seed: int = 2026
    scale: float = 1.0
    criteria: Path | None = None
    secure_cookies: bool = False
    answer_within_s: int = 0
    watch_every_s: int = 900  # how often to look for accesses to tell citizens of; 0: never
    policy: SignInPolicy = field(default_factory=SignInPolicy)


@dataclass
class RunningPortal:
    runner: web.AppRunner
    portal: Portal
    address: str

    async def stop(self) -> None:
        await self.runner.cleanup()
        for client in self.portal.clients:
            await client.close()
        self.portal.store.close()


def _client(config: PortalConfig, member: MemberFiles) -> HubClient:
    return HubClient(
        config.hub,
        key_pem=member.key.read_bytes(),
        cert_pem=member.cert.read_bytes(),
        ca_pem=config.ca_cert.read_bytes(),
        log_key=load_ed25519_public_pem(config.log_public_key.read_bytes()),
        timeout_s=10.0,
    )


async def start(config: PortalConfig, listen: str) -> RunningPortal:
    store = open_portal_store(config.store or config.state_dir / "portal.db")
    try:
        keys = PortalSecrets(config.state_dir)
        registry = SimulatedCivilRegistry(config.seed, config.scale)
        manager_client = _client(config, config.portal)
        desk_client = _client(config, config.eligibility)
        consent_key = load_ed25519_private_pem(config.consent_key.read_bytes())
        log_key = load_ed25519_public_pem(config.log_public_key.read_bytes())
        portal = Portal(
            store=store,
            keys=keys,
            signin=SignIn(store, keys, registry, config.policy),
            registry=registry,
            manager=ConsentManager(manager_client, consent_key, log_key),
            desk=EligibilityDesk(
                desk_client, load_formula(config.criteria), config.answer_within_s
            ),
            secure_cookies=config.secure_cookies,
            clients=(manager_client, desk_client),
        )
        runner = web.AppRunner(
            make_app(portal, watch_every_s=config.watch_every_s), access_log_class=AccessLog
        )
        await runner.setup()
        host, _, port = listen.rpartition(":")
        site = web.TCPSite(runner, host, int(port))
        await site.start()
    except BaseException:
        store.close()
        raise
    bound = runner.addresses[0]
    return RunningPortal(runner, portal, f"{bound[0]}:{bound[1]}")
