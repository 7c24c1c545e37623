"""build_stages: the stages in the documented order, each given what it needs."""

from __future__ import annotations

import re

from hub.pipeline import stages as stages_module
from hub.pipeline.exchange import Exchange, Peer
from hub.pipeline.replay import ReplayGuard
from hub.pipeline.stages import CertificateCache, Identify, Stage, build_stages
from jembatan.values import from_wire
from tests.pipeline.fakes import (
    AGENCY,
    CLIENT,
    CLOCK_SKEW_S,
    FIELDS,
    MAX_AGE_S,
    NOW,
    ConsentManager,
    FakeConnectors,
    FakeRegistry,
    agency_response,
    consent_record,
    employment_route,
    fetch_result,
    policy_set,
    query_body,
    signed_request,
)

ORDER = [
    "identify",
    "decode",
    "authenticate",
    "resolve",
    "consent",
    "authorize",
    "approve",
    "forward",
    "verify",
    "transform",
]
PORTAL = ConsentManager()
DEADLINE_S = 1.5


def _build(
    registry: FakeRegistry, connectors: FakeConnectors, observed: list[str]
) -> tuple[Identify, tuple[Stage, ...]]:
    snapshot = registry.snapshot()
    certificates = CertificateCache()
    identify = Identify(snapshot, certificates)
    return identify, build_stages(
        identify=identify,
        registry=snapshot,
        certificates=certificates,
        replay=ReplayGuard(),
        consents=PORTAL.verifier(),
        policies=policy_set,
        connectors=connectors,  # stands in for the ConnectorPool: its one method, faked
        max_age_s=MAX_AGE_S,
        clock_skew_s=CLOCK_SKEW_S,
        connector_deadline_s=DEADLINE_S,
        observe_connector=lambda agency, seconds, failure: observed.append(failure or "ok"),
    )


def test_the_stages_come_in_the_documented_order() -> None:
    identify, built = _build(FakeRegistry(), FakeConnectors(), [])
    assert [stage.name for stage in built] == ORDER
    # The hub's own identify (it serves the other calls too), not a second one.
    assert built[0] is identify
    doc = stages_module.__doc__ or ""
    documented = re.search(r"Order \([^)]*\):\s*([a-z,\s]+)\.", doc)
    assert documented is not None
    assert [name.strip() for name in documented.group(1).split(",")] == ORDER


CONSENT_ID = "6a1f1d4c-94b2-4c6e-9a59-1b8d1e0c2f10"


async def test_the_built_stages_release_a_consented_query_end_to_end() -> None:
    token = PORTAL.artefact(consent_id=CONSENT_ID)
    registry = (
        FakeRegistry()
        .add(CLIENT.record())
        .add(AGENCY.record())
        .route(employment_route())
        .put_consent(consent_record(token, CONSENT_ID))
    )
    # Valid for the whole freshness window: only a request stage given the max age (not
    # the skew) lets it in, so the two are not mixed up.
    request = signed_request(query_body(consent=token), at=NOW - 30, ttl_s=MAX_AGE_S)
    x = Exchange(request.SerializeToString(), Peer(CLIENT.cert_pem), NOW)
    # The connector's clock ahead of the hub's by the whole skew: verify is given it too.
    connectors = FakeConnectors(
        answer=lambda fetch: agency_response(
            fetch_result(x, {"employment_status": "active"}), at=NOW + CLOCK_SKEW_S
        )
    )
    observed: list[str] = []
    _, built = _build(registry, connectors, observed)
    for stage in built:
        await stage(x)
    assert [(f.name, from_wire(f.value)) for f in x.released] == [("employment_status", "active")]
    assert x.consent is not None and x.consent.consent_id == CONSENT_ID
    assert x.decision is not None and list(x.decision.releases) == list(FIELDS)
    assert [fetch.deadline_s for fetch in connectors.fetches] == [DEADLINE_S]
    assert observed == ["ok"]
