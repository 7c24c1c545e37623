"""``jembatan demo``: the whole secure path on loopback, shown as a table.

Makes a throw-away PKI, starts the hub and the simulated BPJS Ketenagakerjaan with its
connector as separate processes, sends consented queries and the refused cases, and checks
that the audit log holds one record per exchange and no NIK or raw value.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from connectors.bpjstk.adapter import AGENCY_ID, EMPLOYMENT_SERVICE, WAGE_BAND_SERVICE
from connectors.bpjstk.population import generate_participants, sample_niks
from consent.artefact import (
    grant,
    load_private_key_pem,
    load_public_key_pem,
    sign_consent,
    sign_revocation,
)
from hub.admin import enrol, init_consent_manager, init_home
from hub.client import HubClient, QueryAnswer, QueryRefused
from hub.home import CONSENT_MANAGER_ID, HubHome
from hub.processes import RunningProcess, start_jembatan
from hub.store.sqlite import SqliteRegistry

ELIGIBILITY_ID = "ID/GOV/KEMENSOS/eligibility"
PURPOSE = "bansos-eligibility"
EMPLOYMENT_FIELDS = ("employment_status", "employer", "monthly_wage", "termination_date")


@dataclass
class Row:
    case: str
    service: str
    outcome: str
    detail: str


def _say(text: str) -> None:
    print(f"» {text}", flush=True)


class Demo:
    def __init__(self, home: HubHome) -> None:
        self.home = home
        self.rows: list[Row] = []
        self.exchanges = 0
        self._consent_key = load_private_key_pem(
            (home.member_dir(CONSENT_MANAGER_ID) / "consent.key").read_bytes()
        )

    def consent(self, subject: str, service: str, fields: tuple[str, ...]) -> tuple[str, str]:
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=subject,
            grantee=ELIGIBILITY_ID,
            purpose=PURPOSE,
            services={service: fields},
            valid_for=datetime.timedelta(days=30),
        )
        return sign_consent(artefact, self._consent_key), artefact.consent_id

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


async def _scenarios(demo: Demo, client: HubClient, portal: HubClient) -> None:
    people = sample_niks(generate_participants())

    async def ask(subject: str, service: str, fields: tuple[str, ...], consent: str) -> QueryAnswer:
        return await client.query(
            service_id=service, subject=subject, purpose=PURPOSE, fields=fields, consent=consent
        )

    for case, nik in (
        ("employed applicant", people.employed),
        ("recent job loss", people.recently_terminated),
        ("never registered", people.unregistered),
    ):
        token, _ = demo.consent(nik, EMPLOYMENT_SERVICE, EMPLOYMENT_FIELDS)
        await demo.run(
            case,
            EMPLOYMENT_SERVICE,
            ask(nik, EMPLOYMENT_SERVICE, EMPLOYMENT_FIELDS, token),
        )

    band, _ = demo.consent(people.employed, WAGE_BAND_SERVICE, ("monthly_wage", "termination_date"))
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
    other, _ = demo.consent(people.recently_terminated, EMPLOYMENT_SERVICE, fields)
    await demo.run(
        "consent of another person",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, other),
    )
    narrow, _ = demo.consent(people.employed, EMPLOYMENT_SERVICE, fields)
    await demo.run(
        "field outside consent",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, ("monthly_wage",), narrow),
    )
    await demo.run(
        "field not allowed by policy",
        WAGE_BAND_SERVICE,
        ask(people.employed, WAGE_BAND_SERVICE, ("termination_date",), band),
    )
    await demo.run(
        "unknown service",
        "ID/GOV/BPJSTK/wages/salary-slip",
        ask(people.employed, "ID/GOV/BPJSTK/wages/salary-slip", fields, narrow),
    )

    token, consent_id = demo.consent(people.employed, EMPLOYMENT_SERVICE, fields)
    await demo.run(
        "before revocation",
        EMPLOYMENT_SERVICE,
        ask(people.employed, EMPLOYMENT_SERVICE, fields, token),
    )
    await portal.revoke_consent(
        sign_revocation(consent_id, demo._consent_key, issuer=CONSENT_MANAGER_ID)
    )
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


def _check_audit(home: HubHome, expected: int) -> list[str]:
    """Problems with the audit log, if any: record count, raw NIKs or values in the store."""
    problems = []
    registry = SqliteRegistry(home.database)
    try:
        size = registry.size()
    finally:
        registry.close()
    if size != expected:
        problems.append(f"audit log holds {size} records for {expected} exchanges")
    stored = b"".join(p.read_bytes() for p in home.root.glob("hub.db*") if p.is_file())
    participants = generate_participants()
    for person in participants:
        if person.nik.encode() in stored:
            problems.append("a raw NIK is in the store")
            break
        if person.employment and person.employment.employer.encode() in stored:
            problems.append("a raw employer name is in the store")
            break
    return problems


async def run_demo(*, keep: bool = False) -> int:
    root = Path(tempfile.mkdtemp(prefix="jembatan-demo-"))
    home = HubHome(root)
    processes: list[RunningProcess] = []
    try:
        _say(f"throw-away PKI in {root}: hub CA, hub certificate, log and pseudonym keys")
        init_home(home)
        init_consent_manager(home)
        for member in (ELIGIBILITY_ID, AGENCY_ID, CONSENT_MANAGER_ID):
            enrol(home, member)
            _say(f"enrolled {member}")
        _say("starting simulated BPJS Ketenagakerjaan and its connector (own process)")
        processes.append(start_jembatan("sim", ["--home", str(root), "sim", "--register"]))
        _say("starting the hub (own process)")
        hub = start_jembatan("hub", ["--home", str(root), "serve", "--listen", "127.0.0.1:0"])
        processes.append(hub)
        _say(f"hub on {hub.address}; sending queries")
        log_key = load_public_key_pem(home.log_public_key.read_bytes())
        ca = home.ca_cert.read_bytes()

        def member_client(member_id: str) -> HubClient:
            directory = home.member_dir(member_id)
            return HubClient(
                hub.address,
                key_pem=(directory / "key.pem").read_bytes(),
                cert_pem=(directory / "cert.pem").read_bytes(),
                ca_pem=ca,
                log_key=log_key,
            )

        demo = Demo(home)
        async with (
            member_client(ELIGIBILITY_ID) as client,
            member_client(CONSENT_MANAGER_ID) as portal,
        ):
            await _scenarios(demo, client, portal)
        print()
        print(demo.table())
        print()
        for process in processes:
            process.stop()
        problems = _check_audit(home, demo.exchanges)
        if problems:
            for problem in problems:
                print(f"✗ {problem}")
            return 1
        print(
            f"✓ audit log: {demo.exchanges} records for {demo.exchanges} exchanges, "
            "refusals included; no NIK and no raw value in the store"
        )
        return 0
    finally:
        for process in processes:
            process.stop()
        if keep:
            print(f"home kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
