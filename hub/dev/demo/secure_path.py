"""Part one of the demo: the secure path, one query at a time, released and refused.

Consented queries to BPJS Ketenagakerjaan, then the refused cases (no consent, another
person's consent, a field outside consent or policy, an unknown service, a revoked
consent, a replay), then an emergency query resting on the disaster law instead of consent
(refused with one official, released with a second one's approval), shown as a table of
what was released and what was refused and why.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from connectors.bpjstk.samples import SampleNiks
from consent.artefact import sign_revocation
from examples.eligibility.service import PURPOSE
from hub.dev.devstack import signed_consent
from hub.home import CONSENT_MANAGER_ID
from jembatan.client import HubClient, QueryAnswer, QueryRefused
from jembatan.v1 import exchange_pb2
from policies import load_policies

EMERGENCY = "bansos-emergency"
EMPLOYMENT_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")


@dataclass
class Row:
    case: str
    service: str
    outcome: str
    detail: str


class SecurePath:
    """The cases of part one and the table of their outcomes."""

    def __init__(self, consent_key: Ed25519PrivateKey) -> None:
        self.rows: list[Row] = []
        self.exchanges = 0
        self.consent_calls = 0  # each recorded in the audit log too
        self._consent_key = consent_key

    async def consent(
        self,
        client: HubClient,
        portal: HubClient,
        subject: str,
        service: str,
        fields: tuple[str, ...],
    ) -> tuple[str, str]:
        """The whole lifecycle's first half: the eligibility service requests consent, the
        portal (once the citizen agrees) signs an artefact answering it and grants it."""
        requested = await client.request_consent(
            subject=subject,
            purpose=PURPOSE,
            purpose_text="Verifikasi kelayakan bansos",
            services={service: fields},
            valid_for_s=30 * 86400,
            data_life_s=90 * 86400,
        )
        token = signed_consent(
            self._consent_key,
            subject,
            {service: fields},
            valid_for=datetime.timedelta(days=30),
            consent_id=requested.consent_id,
        )
        await portal.grant_consent(token, request_id=requested.consent_id)
        self.consent_calls += 2
        return token, requested.consent_id

    async def run(
        self, case: str, service: str, call: Awaitable[QueryAnswer]
    ) -> QueryAnswer | None:
        self.exchanges += 1
        short_service = service.rsplit("/", 1)[-1]
        try:
            answer = await call
        except QueryRefused as refusal:
            self.rows.append(
                Row(case, short_service, "REFUSED", f"{refusal.status.name} {refusal.reason}")
            )
            return None
        if not answer.subject_found:
            detail = "no record at the agency"
        else:
            detail = ", ".join(
                f"{name}={released.value}"
                + (f" [{released.treatment}]" if released.treatment != "raw" else "")
                for name, released in answer.fields.items()
            )
        self.rows.append(Row(case, short_service, f"RELEASED #{answer.log_index}", detail))
        return answer

    async def revoke(self, portal: HubClient, consent_id: str) -> None:
        """The portal's signed withdrawal of a consent it granted."""
        await portal.revoke_consent(
            sign_revocation(consent_id, self._consent_key, issuer=CONSENT_MANAGER_ID)
        )
        self.consent_calls += 1

    def table(self) -> str:
        widths = [
            max(len(getattr(r, c)) for r in self.rows) for c in ("case", "service", "outcome")
        ]
        header = ("case", "service", "outcome")
        lines = [
            "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
            + "  released / reason",
            "  ".join("-" * w for w in widths) + "  " + "-" * 18,
        ]
        for r in self.rows:
            cells = (r.case, r.service, r.outcome)
            lines.append(
                "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "  " + r.detail
            )
        return "\n".join(lines)


async def run_secure_path(
    demo: SecurePath,
    client: HubClient,
    portal: HubClient,
    supervisor: HubClient,
    people: SampleNiks,
) -> None:
    async def ask(subject: str, service: str, fields: tuple[str, ...], consent: str) -> QueryAnswer:
        return await client.query(
            service_id=service, subject=subject, purpose=PURPOSE, fields=fields, consent=consent
        )

    def emergency(fields: tuple[str, ...]) -> exchange_pb2.QueryBody:
        """Break-glass: the shipped policy lets this purpose rest on the disaster law, with
        a justification for the officers who review it and a second official's approval."""
        rule = load_policies().decide(client.client_id, EMERGENCY, EMPLOYMENT_SERVICE, fields)
        return client.body(
            service_id=EMPLOYMENT_SERVICE,
            subject=people.recently_terminated,
            purpose=EMERGENCY,
            fields=fields,
            legal_basis=exchange_pb2.LegalBasis(
                reference=rule.legal_reference or "",
                justification="Banjir bandang di Kemiren: pemohon mengungsi, belum dapat dihubungi",
            ),
        )

    for case, nik in (
        ("employed applicant", people.employed),
        ("recent job loss", people.recently_terminated),
        ("never registered", people.unregistered),
    ):
        token, _ = await demo.consent(client, portal, nik, EMPLOYMENT_SERVICE, EMPLOYMENT_FIELDS)
        await demo.run(
            case,
            EMPLOYMENT_SERVICE,
            ask(nik, EMPLOYMENT_SERVICE, EMPLOYMENT_FIELDS, token),
        )

    band, _ = await demo.consent(
        client, portal, people.employed, WAGE_BAND_SERVICE, ("monthly_wage",)
    )
    await demo.run(
        "wage as a band",
        WAGE_BAND_SERVICE,
        ask(people.employed, WAGE_BAND_SERVICE, ("monthly_wage",), band),
    )

    fields = ("employment_status",)
    await demo.run(
        "no consent",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, ""),
    )
    other, _ = await demo.consent(
        client, portal, people.recently_terminated, EMPLOYMENT_SERVICE, fields
    )
    await demo.run(
        "consent of another person",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, other),
    )
    narrow, _ = await demo.consent(client, portal, people.employed, EMPLOYMENT_SERVICE, fields)
    await demo.run(
        "field outside consent",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, ("monthly_wage",), narrow),
    )
    # Even the disaster law releases no employer: a rule releases only what it lists.
    await demo.run(
        "field not allowed by policy",
        EMPLOYMENT_SERVICE,
        client.send(client.sign(emergency(("employment_status", "employer")))),
    )
    await demo.run(
        "unknown service",
        "ID/GOV/BPJSTK/wages/salary-slip",
        ask(people.employed, "ID/GOV/BPJSTK/wages/salary-slip", fields, narrow),
    )

    token, consent_id = await demo.consent(
        client, portal, people.employed, EMPLOYMENT_SERVICE, fields
    )
    await demo.run(
        "before revocation",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, token),
    )
    await demo.revoke(portal, consent_id)
    await demo.run(
        "after revocation",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, token),
    )

    signed = client.sign(
        client.body(
            service_id=EMPLOYMENT_SERVICE,
            subject=people.employed,
            purpose=PURPOSE,
            fields=fields,
            consent=narrow,
        )
    )
    await demo.run("signed request", EMPLOYMENT_SERVICE, client.send(signed))
    await demo.run("same request replayed", EMPLOYMENT_SERVICE, client.send(signed))

    body = emergency(("employment_status", "termination_date"))
    await demo.run("emergency, one official", EMPLOYMENT_SERVICE, client.send(client.sign(body)))
    await demo.run(
        "emergency, two officials",
        EMPLOYMENT_SERVICE,
        client.send(supervisor.approve(client.sign(body))),
    )
