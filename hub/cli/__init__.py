"""``jembatan``: run and administer the hub, its simulated agencies and queries.

Every command answers ``--help``; every error is one readable line and a non-zero exit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cryptography import x509

from hub.client import HubClient, QueryRefused
from hub.errors import JembatanError
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID, HubHome
from hub.logs import FORMATS
from hub.logs import configure as configure_logs
from jembatan.v1 import consent_pb2

if TYPE_CHECKING:
    from connectors.sdk import UnsafeMisbehaviour
    from hub.admin_client import AdminClient
    from hub.audit.publisher import CheckpointPublisher
    from hub.store.base import HubStore
    from jembatan.v1 import admin_pb2
    from policies.lint import Catalogues

T = TypeVar("T")
DEFAULT_HUB = "127.0.0.1:7443"
PURPOSE = "bansos-eligibility"
AUDITOR = "ID/GOV/BSSN/auditor"
# The officers' web console: its own member, with the auditor and console roles (it names
# each officer to the hub), so an officer's own auditor certificate cannot vouch for anyone.
CONSOLE_MEMBER = "ID/GOV/BSSN/console"


class CliError(JembatanError):
    """A problem with what the user asked for, explained in one line."""


def _home(args: argparse.Namespace) -> HubHome:
    return HubHome(Path(args.home), database_url=args.database or None)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# --- pki ---------------------------------------------------------------------------------


def cmd_pki_init(args: argparse.Namespace) -> None:
    from hub.admin import init_consent_manager, init_home

    home = _home(args)
    init_home(home, dns_names=args.dns)
    init_consent_manager(home)
    print(f"hub home ready at {home.root}: CA, hub certificate ({HUB_MEMBER_ID}), log key,")
    print(f"pseudonym key, consent manager key ({CONSENT_MANAGER_ID})")


def cmd_pki_csr(args: argparse.Namespace) -> None:
    from cryptography.hazmat.primitives import serialization

    from hub.home import write_private
    from hub.pki import generate_key, key_to_pem, make_csr

    key = generate_key()
    write_private(Path(args.key_out), key_to_pem(key))
    csr = make_csr(key, args.member)
    Path(args.csr_out).write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    print(f"key {args.key_out} (keep it), CSR {args.csr_out} (send it to the hub operator)")


def cmd_pki_issue(args: argparse.Namespace) -> None:
    from hub.admin import issue
    from hub.pki import cert_to_pem

    try:
        csr = x509.load_pem_x509_csr(Path(args.csr).read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read CSR {args.csr}: {exc}") from exc
    cert = issue(_home(args), csr, args.member, valid_days=args.days, roles=args.role)
    Path(args.out).write_bytes(cert_to_pem(cert))
    print(f"issued {args.out} for {args.member}, serial {cert.serial_number:x}")


def cmd_pki_enrol(args: argparse.Namespace) -> None:
    from hub.admin import enrol

    files = enrol(_home(args), args.member, dns_names=args.dns, roles=args.role)
    print(f"enrolled {args.member}: {files.cert_path}")


def cmd_pki_revoke(args: argparse.Namespace) -> None:
    from hub.admin import revoke_certificate

    serial, *renewals = revoke_certificate(_home(args), args.certificate, args.reason)
    print(f"revoked certificate {serial}; refused from the next call on")
    for renewal in renewals:
        print(f"revoked certificate {renewal}, renewed from it")


def cmd_pki_list(args: argparse.Namespace) -> None:
    from hub.store import open_store

    registry = open_store(_home(args))
    try:
        for cert in registry.member_certificates():
            state = f"REVOKED {cert.revoked_at}" if cert.revoked else "valid"
            print(f"{cert.serial:>40}  {cert.member_id:<40} until {cert.not_after}  {state}")
    finally:
        registry.close()


# --- consent -----------------------------------------------------------------------------


def _consent_key(home: HubHome) -> object:
    from consent.artefact import load_private_key_pem

    path = home.member_dir(CONSENT_MANAGER_ID) / "consent.key"
    try:
        return load_private_key_pem(path.read_bytes())
    except OSError as exc:
        raise CliError(f"no consent manager key at {path} (run `jembatan pki init`)") from exc


def cmd_consent_request(args: argparse.Namespace) -> None:
    async def send() -> None:
        async with _client(_home(args), args.member, args.hub) as client:
            record = await client.request_consent(
                subject=args.subject,
                purpose=args.purpose,
                purpose_text=args.purpose_text,
                services={args.service: _split(args.fields)},
                valid_for_s=args.days * 86400,
                data_life_s=args.data_days * 86400,
                respond_within_s=args.respond_within,
            )
        print(f"request {record.consent_id} REQUESTED, to be answered by {record.respond_by}")

    asyncio.run(send())


def cmd_consent_grant(args: argparse.Namespace) -> None:
    from consent.artefact import grant, sign_consent

    home = _home(args)
    try:
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=args.subject,
            grantee=args.grantee,
            purpose=args.purpose,
            services={args.service: _split(args.fields)},
            valid_for=datetime.timedelta(days=args.days),
            consent_id=args.request,
        )
    except ValueError as exc:
        raise CliError(f"cannot grant: {exc}") from exc
    token = sign_consent(artefact, _consent_key(home))  # type: ignore[arg-type]

    async def send() -> None:
        async with _client(home, CONSENT_MANAGER_ID, args.hub) as portal:
            record = await portal.grant_consent(token, request_id=args.request or "")
        state = consent_pb2.ConsentState.Name(record.state)
        where = f", artefact written to {args.out}" if args.out else ""
        print(f"consent {record.consent_id} {state} until {record.expires_at}{where}")

    asyncio.run(send())
    if args.out:
        Path(args.out).write_text(token + "\n")
    else:
        print(token)


def cmd_consent_reject(args: argparse.Namespace) -> None:
    async def send() -> None:
        async with _client(_home(args), CONSENT_MANAGER_ID, args.hub) as portal:
            record = await portal.reject_consent(args.request_id, args.reason)
        print(f"request {record.consent_id} REJECTED ({record.rejection_reason})")

    asyncio.run(send())


def _subject_token(home: HubHome, nik: str) -> str:
    from consent.artefact import sign_subject_token

    try:
        return sign_subject_token(nik, _consent_key(home), issuer=CONSENT_MANAGER_ID)  # type: ignore[arg-type]
    except ValueError as exc:
        raise CliError(f"--subject: {exc}") from exc


def cmd_consent_list(args: argparse.Namespace) -> None:
    home = _home(args)
    token = _subject_token(home, args.subject)

    async def send() -> None:
        async with _client(home, CONSENT_MANAGER_ID, args.hub) as portal:
            records = await portal.citizen_consents(token)
        for r in records:
            services = r.granted or r.requested
            covers = "; ".join(f"{s.service_id}: {','.join(s.fields)}" for s in services)
            print(
                f"{r.consent_id}  {consent_pb2.ConsentState.Name(r.state):<9}  {r.grantee}"
                f"  {r.purpose}  until {r.expires_at or r.respond_by}"
                f"  uses {r.uses}{' last ' + r.last_used if r.last_used else ''}  {covers}"
            )
        if not records:
            print("no consents")

    asyncio.run(send())


def cmd_consent_receipt(args: argparse.Namespace) -> None:
    from consent.artefact import load_public_key_pem
    from consent.receipt import verify_consent_receipt

    home = _home(args)
    token = _subject_token(home, args.subject)

    async def send() -> str:
        async with _client(home, CONSENT_MANAGER_ID, args.hub) as portal:
            return await portal.consent_receipt(token, args.consent_id)

    receipt = asyncio.run(send())
    # Checked before it is handed on: a receipt the hub's key does not verify is worthless.
    document = verify_consent_receipt(
        receipt, load_public_key_pem(home.log_public_key.read_bytes())
    )
    if args.out:
        Path(args.out).write_text(receipt + "\n")
    print(json.dumps(document, indent=2, sort_keys=True))


def cmd_consent_revoke(args: argparse.Namespace) -> None:
    from consent.artefact import sign_revocation

    home = _home(args)
    revocation = sign_revocation(args.consent_id, _consent_key(home), issuer=CONSENT_MANAGER_ID)  # type: ignore[arg-type]

    async def send() -> None:
        async with _client(home, CONSENT_MANAGER_ID, args.hub) as client:
            response = await client.revoke_consent(revocation)
        print(f"consent {response.consent_id} revoked at {response.revoked_at}")

    asyncio.run(send())


# --- serve, sim, query -------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> None:
    from hub.server import Hub, HubSettings

    settings = HubSettings(
        home=_home(args),
        listen=args.listen,
        policies_dir=Path(args.policies) if args.policies else None,
        max_age_s=args.max_age,
        connector_deadline_s=args.connector_deadline,
        policy_poll_s=args.policy_poll or None,
        metrics_listen=args.metrics_listen,
    )

    async def run() -> None:
        hub = Hub(settings)
        await hub.start()
        host = settings.listen.rsplit(":", 1)[0]
        metrics = f"; metrics on {hub.metrics_address}" if hub.metrics_address else ""
        print(
            f"jembatan hub listening on {host}:{hub.port} (policy {hub.policies.version}{metrics})"
        )
        await _until_signalled()
        await hub.stop()

    asyncio.run(run())


def _per_agency(pairs: Sequence[str], parse: Callable[[str], T], what: str) -> dict[str, T]:
    """``AGENCY=VALUE`` options into a map, naming the bad one."""
    from connectors.simulation.pilot import PILOT_AGENCIES

    parsed: dict[str, T] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in PILOT_AGENCIES:
            raise CliError(
                f"{what} {pair!r}: expected AGENCY=VALUE with AGENCY one of {PILOT_AGENCIES}"
            )
        parsed[name] = parse(value)
    return parsed


def _misbehaviour(value: str) -> UnsafeMisbehaviour:
    from connectors.sdk import UnsafeMisbehaviour

    kinds = set(_split(value))
    if not kinds or kinds - {"extra-fields", "wrong-key"}:
        raise CliError(f"misbehaviour {value!r}: expected extra-fields and/or wrong-key")
    return UnsafeMisbehaviour(extra_fields="extra-fields" in kinds, wrong_key="wrong-key" in kinds)


def cmd_sim(args: argparse.Namespace) -> None:
    from connectors.population import generate
    from connectors.simulation.faults import FaultSettings
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency
    from connectors.simulation.run import register, start_agencies

    home = _home(args)
    names = args.agencies or list(PILOT_AGENCIES)
    for name in names:
        simulated_agency(name)  # an unknown name fails here, before anything starts
    faults = _per_agency(args.fault, FaultSettings.parse, "fault")
    misbehaviour = _per_agency(args.misbehave, _misbehaviour, "misbehaviour")
    host, _, port = args.listen.rpartition(":")
    if not host:
        raise CliError(f"--listen {args.listen!r}: expected HOST:PORT")

    async def run() -> None:
        population = generate(args.seed, scale=args.scale)
        running = await start_agencies(
            home,
            names,
            population,
            host=host,
            base_port=int(port),
            base_sim_port=args.sim_port,
            faults=faults,
            misbehaviour=misbehaviour,
        )
        try:
            for agency in running:
                if args.register:
                    register(home, agency, advertise_host=args.advertise)
                print(f"  {agency.agency.title}: connector {agency.endpoint}, API {agency.sim.url}")
            print(
                f"jembatan sim: {len(running)} agencies over {len(population.households)} "
                f"households; first connector listening on {running[0].endpoint}"
            )
            await _until_signalled()
        finally:
            for agency in running:
                await agency.stop()

    asyncio.run(run())


def _client(home: HubHome, member_id: str, target: str, member_dir: str | None = None) -> HubClient:
    from consent.artefact import load_public_key_pem

    directory = Path(member_dir) if member_dir else home.member_dir(member_id)
    try:
        key_pem = (directory / "key.pem").read_bytes()
        cert_pem = (directory / "cert.pem").read_bytes()
    except OSError as exc:
        raise CliError(f"no member key/certificate in {directory}") from exc
    return HubClient(
        target,
        key_pem=key_pem,
        cert_pem=cert_pem,
        ca_pem=home.ca_cert.read_bytes(),
        log_key=load_public_key_pem(home.log_public_key.read_bytes()),
    )


def cmd_query(args: argparse.Namespace) -> None:
    consent = args.consent
    if consent.startswith("@"):
        consent = Path(consent[1:]).read_text().strip()

    async def run() -> None:
        async with _client(_home(args), args.client, args.hub, args.member_dir) as client:
            answer = await client.query(
                service_id=args.service,
                subject=args.subject,
                purpose=args.purpose,
                fields=_split(args.fields),
                consent=consent,
            )
        if not answer.subject_found:
            print("the agency holds no record of this subject")
        for name, released in answer.fields.items():
            how = f"{released.treatment} {released.detail}".strip()
            print(f"{name:<20} {released.value!s:<24} ({how})")
        print(f"recorded at log index {answer.log_index}, leaf {answer.leaf_hash.hex()[:16]}…")

    asyncio.run(run())


# --- audit -------------------------------------------------------------------------------


def _publisher(home: HubHome) -> tuple[HubStore, CheckpointPublisher]:
    """The log's storage and a publisher that signs with the hub's log key (on the hub's
    machine: the key never leaves the home)."""
    import time

    from consent.artefact import load_private_key_pem
    from hub.audit.publisher import CheckpointPublisher
    from hub.store import open_store

    registry = open_store(home)
    key = load_private_key_pem(home.log_key.read_bytes())
    return registry, CheckpointPublisher(registry, key, clock=time.time)


def cmd_audit_checkpoint(args: argparse.Namespace) -> None:
    registry, publisher = _publisher(_home(args))
    try:
        _, note = publisher.latest(registry.tree_size())
    finally:
        registry.close()
    _write_or_print(args.out, note)


def cmd_audit_export(args: argparse.Namespace) -> None:
    from hub.audit.verify import export_lines

    registry, publisher = _publisher(_home(args))
    try:
        size, note = publisher.latest(registry.tree_size())
        with open(args.out, "w", encoding="utf-8") as out:
            for line in export_lines(size, registry.committed_entries(size)):
                out.write(line + "\n")
    finally:
        registry.close()
    checkpoint_out = args.checkpoint_out or args.out + ".checkpoint"
    Path(checkpoint_out).write_text(note)
    print(f"exported {size} records to {args.out}; checkpoint in {checkpoint_out}")


def _text_arg(value: str) -> str:
    return Path(value[1:]).read_text().strip() if value.startswith("@") else value


def cmd_audit_fetch(args: argparse.Namespace) -> None:
    async def run() -> int:
        lines = 0
        async with _client(_home(args), args.member, args.hub, args.member_dir) as client:
            with open(args.out, "w", encoding="utf-8") as out:
                async for line in client.export_range(args.start, args.end):
                    out.write(line + "\n")
                    lines += 1
        return lines - 1

    records = asyncio.run(run())
    print(
        f"fetched records [{args.start}, {args.end}) to {args.out}: {records} records, each "
        f"with its inclusion proof in the signed checkpoint on the first line"
    )


def cmd_audit_follow(args: argparse.Namespace) -> None:
    from jembatan.v1 import audit_pb2

    search = audit_pb2.SearchRequest(
        client_id=args.client or "",
        service_id=args.service or "",
        decision=args.decision or "",
        reason=args.reason or "",
        after_index=args.after if args.after is not None else 0,
        has_after_index=args.after is not None,
    )

    async def run() -> None:
        async with _client(_home(args), args.member, args.hub, args.member_dir) as client:
            async for entry in client.stream_records(search):
                print(f"{entry.index}\t{entry.record_json.decode()}", flush=True)

    asyncio.run(run())  # until Ctrl-C


def cmd_audit_verify(args: argparse.Namespace) -> None:
    from hub.audit.verify import (
        RANGE_FORMAT,
        export_format,
        verify_export,
        verify_range_export,
    )

    key = _text_arg(args.key)
    checkpoint = Path(args.checkpoint).read_text() if args.checkpoint else None
    with open(args.export, encoding="utf-8") as lines:
        first = next(lines, "")
        if export_format(first) == RANGE_FORMAT:
            proven = verify_range_export(
                itertools.chain([first], lines), key, checkpoint_note=checkpoint
            )
            print(
                f"✓ records [{proven.start}, {proven.end}) each proven in the checkpoint of size "
                f"{proven.checkpoint.size} (root {proven.checkpoint.root_hash.hex()[:16]}…)"
            )
            return
        if checkpoint is None:
            raise CliError("a whole-log export is verified against a --checkpoint")
        earlier = Path(args.earlier).read_text() if args.earlier else None
        verified = verify_export(
            itertools.chain([first], lines), checkpoint, key, earlier_note=earlier
        )
    consistent = (
        f"; consistent with the earlier checkpoint of {verified.consistent_with.size}"
        if verified.consistent_with
        else ""
    )
    print(
        f"✓ {verified.records} records verified against the checkpoint of size "
        f"{verified.checkpoint.size} (root {verified.checkpoint.root_hash.hex()[:16]}…){consistent}"
    )


def cmd_audit_check(args: argparse.Namespace) -> None:
    """The hub's own integrity check: the stored log against every stored checkpoint."""
    from hub.audit.verify import export_lines, verify_export

    home = _home(args)
    registry, publisher = _publisher(home)
    try:
        size, note = publisher.latest(registry.tree_size())
        verifier = home.log_verifier_key.read_text().strip()
        earlier = registry.checkpoints()
        for _, earlier_note in earlier or [(size, note)]:
            verify_export(
                export_lines(size, registry.committed_entries(size)),
                note,
                verifier,
                earlier_note=earlier_note,
            )
    finally:
        registry.close()
    print(f"✓ audit log intact: {size} records, consistent with {len(earlier)} checkpoints")


def _write_or_print(path: str | None, text: str) -> None:
    if path:
        Path(path).write_text(text)
    else:
        print(text, end="")


# --- console -----------------------------------------------------------------------------


def cmd_console(args: argparse.Namespace) -> None:
    from hub.console.app import start

    home = _home(args)
    member_dir = Path(args.member_dir) if args.member_dir else home.member_dir(args.member)

    async def run() -> None:
        console = await start(home, args.listen, args.hub, member_dir)
        print(f"jembatan console listening on {console.address} (hub {args.hub})")
        await _until_signalled()
        await console.stop()

    asyncio.run(run())


def cmd_console_add_officer(args: argparse.Namespace) -> None:
    from hub.console.officers import add_officer, officers_file

    # From a file, never the command line: arguments show in `ps` and shell history.
    password = Path(args.password_file).read_text().rstrip("\r\n")
    new = add_officer(_home(args), args.name, password)
    done = "added" if new else "password replaced"
    print(f"officer {args.name} {done} in {officers_file(_home(args))}")


def cmd_demo(args: argparse.Namespace) -> None:
    from hub.demo import run_demo

    sys.exit(asyncio.run(run_demo(keep=args.keep, scale=args.scale)))


# --- admin and member: the Admin API over gRPC ------------------------------------------


def _admin_client(args: argparse.Namespace) -> AdminClient:
    """An Admin API client with the certificate of ``--member`` (or ``--member-dir``)."""
    from hub.admin_client import AdminClient

    home = _home(args)
    directory = Path(args.member_dir) if args.member_dir else home.member_dir(args.member)
    try:
        key_pem = (directory / "key.pem").read_bytes()
        cert_pem = (directory / "cert.pem").read_bytes()
        ca_pem = Path(args.ca).read_bytes() if args.ca else home.ca_cert.read_bytes()
    except OSError as exc:
        raise CliError(f"no member key/certificate or hub CA: {exc}") from exc
    return AdminClient(args.hub, key_pem=key_pem, cert_pem=cert_pem, ca_pem=ca_pem)


def _admin_call(args: argparse.Namespace, act: Callable[[AdminClient], Awaitable[T]]) -> T:
    async def run() -> T:
        async with _admin_client(args) as client:
            return await act(client)

    return asyncio.run(run())


def _state(value: int) -> str:
    from jembatan.v1 import admin_pb2

    return admin_pb2.RequestState.Name(value).removeprefix("REQUEST_")


def _print_enrolment(e: admin_pb2.Enrolment) -> None:
    roles = ",".join(e.roles) or "-"
    why = f"  ({e.reason})" if e.reason else ""
    print(
        f"{e.request_id}  {_state(e.state):<8} {e.member_id:<40} roles {roles}"
        f"  by {e.submitter}{why}"
    )


def _print_registration(r: admin_pb2.ConnectorRegistration) -> None:
    services = ", ".join(
        f"{o.service_id}"
        + (
            f" v{r.catalogue_versions[o.service_id]}"
            if o.service_id in r.catalogue_versions
            else ""
        )
        for o in r.services
    )
    why = f"  ({r.reason})" if r.reason else ""
    print(
        f"{r.registration_id}  {_state(r.state):<8} {r.agency_id} at {r.endpoint}: {services}{why}"
    )


def cmd_admin_enrolment_list(args: argparse.Namespace) -> None:
    for enrolment in _admin_call(args, lambda c: c.enrolments(args.state)):
        _print_enrolment(enrolment)


def cmd_admin_enrolment_approve(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.approve_enrolment(args.request_id, args.days))
    print(f"approved {done.request_id}: {done.member_id}, certificate serial {done.serial}")


def cmd_admin_enrolment_reject(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.reject_enrolment(args.request_id, args.reason))
    print(f"rejected {done.request_id} ({done.member_id}): {done.reason}")


def cmd_admin_revoke(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.revoke(args.serial, args.reason))
    print(
        f"revoked certificate {done.serial} of {done.member_id}, and every certificate renewed"
        " from it; refused from the next call on"
    )


def cmd_admin_connector_list(args: argparse.Namespace) -> None:
    for registration in _admin_call(args, lambda c: c.connector_registrations(args.state)):
        _print_registration(registration)


def cmd_admin_connector_approve(args: argparse.Namespace) -> None:
    _print_registration(_admin_call(args, lambda c: c.approve_connector(args.registration_id)))


def cmd_admin_connector_reject(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.reject_connector(args.registration_id, args.reason))
    _print_registration(done)


def cmd_admin_service_enable(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.set_service_enabled(args.service, True))
    print(f"service {done.service_id} enabled")


def cmd_admin_service_disable(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.set_service_enabled(args.service, False))
    print(f"service {done.service_id} disabled: refused SERVICE_DISABLED from the next query on")


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}") from exc


def cmd_member_enrol(args: argparse.Namespace) -> None:
    csr = _read(args.csr, "CSR")
    done = _admin_call(args, lambda c: c.submit_enrolment(csr, args.subsystem, args.role))
    print(f"enrolment {done.request_id} for {done.member_id} is {_state(done.state)}")


def cmd_member_enrolment(args: argparse.Namespace) -> None:
    done = _admin_call(args, lambda c: c.enrolment(args.request_id))
    _print_enrolment(done)
    if done.certificate_pem and args.cert_out:
        Path(args.cert_out).write_bytes(done.certificate_pem)
        print(f"certificate written to {args.cert_out}")


def cmd_member_renew(args: argparse.Namespace) -> None:
    csr = _read(args.csr, "CSR")
    done = _admin_call(args, lambda c: c.renew(csr))
    Path(args.cert_out).write_bytes(done.certificate_pem)
    print(f"renewed {done.member_id}: {args.cert_out}, serial {done.serial}")


def cmd_member_register_connector(args: argparse.Namespace) -> None:
    import yaml

    from connectors.sdk.agency import FieldSpec

    try:
        document = yaml.safe_load(_read(args.catalogue, "catalogue"))
        services = {
            service_id: [FieldSpec(**spec) for spec in fields]
            for service_id, fields in document.items()
        }
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise CliError(
            f"{args.catalogue}: expected SERVICE_ID: [{{name, type, description, sensitivity}}]"
        ) from exc
    done = _admin_call(args, lambda c: c.register_connector(args.endpoint, services))
    _print_registration(done)


def cmd_member_connector(args: argparse.Namespace) -> None:
    _print_registration(_admin_call(args, lambda c: c.connector_registration(args.registration_id)))


# --- parser ------------------------------------------------------------------------------


# --- policy ------------------------------------------------------------------------------


def _policy_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.dir) if args.dir else None


def _catalogues(args: argparse.Namespace) -> tuple[Catalogues, set[str] | None, str]:
    """The catalogues (and members) to lint against: the hub registry of --home, else of the
    global home if it has one, else the pilot connectors' own catalogues."""
    import json

    from connectors.sdk.agency import FieldSpec
    from connectors.simulation.pilot import pilot_catalogues
    from hub.store import open_store

    home = HubHome(Path(args.lint_home or args.home), database_url=args.database or None)
    if home.database_url or home.database.is_file():
        registry = open_store(home)
        try:
            routes = registry.services()
            members = {
                cert.member_id for cert in registry.member_certificates() if not cert.revoked
            }
        finally:
            registry.close()
        if routes:
            catalogues = {
                route.service_id: [FieldSpec(**spec) for spec in json.loads(route.catalogue_json)]
                for route in routes
            }
            return catalogues, members, f"the registry of {home.root}"
    if args.lint_home:
        raise CliError(f"--home {args.lint_home}: no hub registry with services there")
    return pilot_catalogues(), None, "the pilot connectors' catalogues"


def cmd_policy_lint(args: argparse.Namespace) -> None:
    from policies.lint import lint

    catalogues, members, against = _catalogues(args)
    findings = lint(_policy_dir(args), catalogues, members)
    for finding in findings:
        print(finding)
    errors = sum(finding.severity == "error" for finding in findings)
    warnings = len(findings) - errors
    print(f"{errors} error(s), {warnings} warning(s), checked against {against}")
    if errors:
        sys.exit(1)


def cmd_policy_test(args: argparse.Namespace) -> None:
    from policies import DEFAULT_DIRECTORY, load_policies
    from policies.cases import load_cases, run_case

    directory = _policy_dir(args) or DEFAULT_DIRECTORY
    policies = load_policies(directory)
    results = [run_case(policies, case) for case in load_cases(directory / "tests")]
    for result in results:
        case = result.case
        if result.passed:
            print(f"PASS {case.location}: {case.name}")
        else:
            print(f"FAIL {case.location}: {case.name}")
            print(f"  expected: {result.expected}")
            print(f"  actual:   {result.actual}")
    failed = sum(not result.passed for result in results)
    print(f"{len(results) - failed} passed, {failed} failed (policy {policies.version})")
    if failed:
        sys.exit(1)


def cmd_policy_explain(args: argparse.Namespace) -> None:
    from policies import load_policies
    from policies.explain import explain

    policies = load_policies(_policy_dir(args))
    explanation = explain(policies, args.client, args.purpose, args.service, args.field)
    print(explanation.text)
    if not explanation.released:
        sys.exit(1)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jembatan", description="Secure data-exchange hub for social protection."
    )
    parser.add_argument(
        "--home",
        default=os.environ.get("JEMBATAN_HOME", "jembatan-home"),
        help="hub home directory (default: $JEMBATAN_HOME or ./jembatan-home)",
    )
    # --- storage engine (PostgreSQL replicas) ---
    database_help = (
        "PostgreSQL DSN (postgresql://…) holding the registry and audit log, shared by hub"
        " replicas (default: $JEMBATAN_DATABASE, else the home's SQLite file)"
    )
    parser.add_argument(
        "--database", default=os.environ.get("JEMBATAN_DATABASE", ""), help=database_help
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        group: argparse._SubParsersAction,
        name: str,
        func: Callable[[argparse.Namespace], None],
        help_text: str,
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    pki = commands.add_parser("pki", help="hub CA, member certificates, revocation")
    pki_commands = pki.add_subparsers(dest="pki_command", required=True, metavar="ACTION")
    init = add(pki_commands, "init", cmd_pki_init, "create a hub home: CA, hub certificate, keys")
    init.add_argument(
        "--dns",
        action="append",
        default=[],
        help="host name clients dial the hub by (beside localhost)",
    )
    csr = add(pki_commands, "csr", cmd_pki_csr, "make a member key and CSR (on the member's side)")
    csr.add_argument("--member", required=True, help="member id, e.g. ID/GOV/BPJSTK/wages")
    csr.add_argument("--key-out", required=True)
    csr.add_argument("--csr-out", required=True)
    issue = add(pki_commands, "issue", cmd_pki_issue, "sign a member's CSR into a certificate")
    issue.add_argument("--csr", required=True)
    issue.add_argument("--member", required=True)
    issue.add_argument("--out", required=True)
    issue.add_argument("--days", type=int, default=365)
    issue.add_argument(
        "--role", action="append", default=[], help="auditor, administrator, approver or console"
    )
    enrol = add(pki_commands, "enrol", cmd_pki_enrol, "key+certificate for a simulated member")
    enrol.add_argument("--member", required=True)
    enrol.add_argument(
        "--dns",
        action="append",
        default=[],
        help="a host name for the certificate to name too (a connector needs none: the hub"
        " checks its member name, whatever host it dials)",
    )
    enrol.add_argument(
        "--role", action="append", default=[], help="auditor, administrator, approver or console"
    )
    revoke = add(pki_commands, "revoke", cmd_pki_revoke, "revoke a certificate (serial or file)")
    revoke.add_argument("certificate")
    revoke.add_argument("--reason", default="unspecified")
    add(pki_commands, "list", cmd_pki_list, "list member certificates")

    consent = commands.add_parser("consent", help="consent artefacts (the consent manager's side)")
    consent_commands = consent.add_subparsers(
        dest="consent_command", required=True, metavar="ACTION"
    )
    request = add(consent_commands, "request", cmd_consent_request, "ask for a citizen's consent")
    request.add_argument("--subject", required=True, help="the citizen's NIK")
    request.add_argument("--member", default="ID/GOV/KEMENSOS/eligibility", help="the grantee")
    request.add_argument("--purpose", default=PURPOSE)
    request.add_argument("--purpose-text", required=True, help="the sentence the citizen sees")
    request.add_argument("--service", required=True)
    request.add_argument("--fields", required=True, help="comma-separated field names")
    request.add_argument("--days", type=int, default=30, help="validity asked for")
    request.add_argument("--data-days", type=int, default=90, help="data life asked for")
    request.add_argument(
        "--respond-within", type=int, default=0, help="seconds (default: the hub's limit)"
    )
    request.add_argument("--hub", default=DEFAULT_HUB)
    grant = add(
        consent_commands, "grant", cmd_consent_grant, "sign a consent artefact and grant it"
    )
    grant.add_argument("--request", help="the request id it answers (default: a direct grant)")
    grant.add_argument("--subject", required=True, help="the citizen's NIK")
    grant.add_argument("--grantee", default="ID/GOV/KEMENSOS/eligibility")
    grant.add_argument("--purpose", default=PURPOSE)
    grant.add_argument("--service", required=True)
    grant.add_argument("--fields", required=True, help="comma-separated field names")
    grant.add_argument("--days", type=int, default=30)
    grant.add_argument("--out", help="write the artefact to this file")
    grant.add_argument("--hub", default=DEFAULT_HUB)
    reject = add(consent_commands, "reject", cmd_consent_reject, "turn a consent request down")
    reject.add_argument("request_id")
    reject.add_argument("--reason", default="citizen-declined", help="a reason code")
    reject.add_argument("--hub", default=DEFAULT_HUB)
    clist = add(consent_commands, "list", cmd_consent_list, "a citizen's consents")
    clist.add_argument("--subject", required=True, help="the citizen's NIK")
    clist.add_argument("--hub", default=DEFAULT_HUB)
    receipt = add(
        consent_commands, "receipt", cmd_consent_receipt, "a citizen's signed consent receipt"
    )
    receipt.add_argument("consent_id")
    receipt.add_argument("--subject", required=True, help="the citizen's NIK")
    receipt.add_argument("--out", help="write the signed receipt (JWS) to this file")
    receipt.add_argument("--hub", default=DEFAULT_HUB)
    crevoke = add(consent_commands, "revoke", cmd_consent_revoke, "revoke a consent at the hub")
    crevoke.add_argument("consent_id")
    crevoke.add_argument("--hub", default=DEFAULT_HUB)

    audit = commands.add_parser("audit", help="the verifiable audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    checkpoint = add(
        audit_commands, "checkpoint", cmd_audit_checkpoint, "the latest signed checkpoint"
    )
    checkpoint.add_argument("--out", help="write it to this file")
    export = add(audit_commands, "export", cmd_audit_export, "export the log as JSON Lines")
    export.add_argument("--out", required=True)
    export.add_argument("--checkpoint-out", help="where to write its checkpoint")
    verify = add(
        audit_commands,
        "verify",
        cmd_audit_verify,
        "verify an export against a checkpoint, needing nothing but the hub's verifier key",
    )
    verify.add_argument("export")
    verify.add_argument(
        "--checkpoint", help="signed checkpoint file (a fetched range carries its own)"
    )
    verify.add_argument("--key", required=True, help="verifier key, or @file (hub/log.vkey)")
    verify.add_argument("--earlier", help="an earlier checkpoint that must be a prefix")
    add(audit_commands, "check", cmd_audit_check, "check the stored log against its checkpoints")
    fetch = add(
        audit_commands,
        "fetch",
        cmd_audit_fetch,
        "fetch records [START, END) from the hub with their proofs (auditor role)",
    )
    fetch.add_argument("start", type=int)
    fetch.add_argument("end", type=int)
    fetch.add_argument("--out", required=True)
    follow = add(
        audit_commands,
        "follow",
        cmd_audit_follow,
        "print records as they are logged, one per line (auditor role; Ctrl-C stops)",
    )
    follow.add_argument("--after", type=int, help="start after this index (default: all)")
    follow.add_argument("--client")
    follow.add_argument("--service")
    follow.add_argument("--decision", choices=["RELEASED", "REFUSED"])
    follow.add_argument("--reason")
    for officer_command in (fetch, follow):
        officer_command.add_argument("--hub", default=DEFAULT_HUB)
        officer_command.add_argument("--member", default=AUDITOR, help="auditor member id")
        officer_command.add_argument("--member-dir", help="its key/cert directory")

    policy = commands.add_parser("policy", help="check, test and explain the policy files")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    dir_help = "policy directory (default: the shipped policies)"
    lint_parser = add(
        policy_commands,
        "lint",
        cmd_policy_lint,
        "check policies against the services' field catalogues (exit 1 on errors)",
    )
    lint_parser.add_argument("--dir", help=dir_help)
    lint_parser.add_argument(
        "--home",
        dest="lint_home",
        help="hub home whose registry holds the catalogues (default: the global --home if it "
        "has one, else the pilot connectors' catalogues)",
    )
    test_parser = add(
        policy_commands,
        "test",
        cmd_policy_test,
        "run the policy test cases in DIR/tests/*.yaml (exit 1 on a failure)",
    )
    test_parser.add_argument("--dir", help=dir_help)
    explain_parser = add(
        policy_commands,
        "explain",
        cmd_policy_explain,
        "say why a field is or is not released (exit 1 when it is not)",
    )
    explain_parser.add_argument("--client", default="ID/GOV/KEMENSOS/eligibility")
    explain_parser.add_argument("--purpose", default=PURPOSE)
    explain_parser.add_argument("--service", required=True)
    explain_parser.add_argument("--field", required=True)
    explain_parser.add_argument("--dir", help=dir_help)

    _add_admin_commands(commands, add)

    serve = add(commands, "serve", cmd_serve, "run the hub")
    serve.add_argument("--listen", default=DEFAULT_HUB)
    serve.add_argument("--database", default=argparse.SUPPRESS, help=database_help)
    serve.add_argument("--policies", help="policy directory (default: the shipped policies)")
    serve.add_argument("--max-age", type=int, default=60, help="request freshness window, s")
    serve.add_argument("--connector-deadline", type=float, default=2.0, help="seconds")
    serve.add_argument(
        "--policy-poll",
        type=float,
        default=1.0,
        help="seconds between checks of the policy files for changes (0: reload on SIGHUP only)",
    )
    serve.add_argument(
        "--metrics-listen",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off; port 0: any)",
    )
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default="text",
        help="text (default; INFO lines with -v) or json: one JSON object per line, at INFO, "
        "with one line per exchange",
    )

    sim = add(commands, "sim", cmd_sim, "run simulated agencies, each with its connector")
    sim.add_argument(
        "agencies", nargs="*", metavar="AGENCY", help="agencies to run (default: all of the pilot)"
    )
    sim.add_argument(
        "--listen", default="127.0.0.1:0", help="HOST:PORT of the first connector (0: any)"
    )
    sim.add_argument("--sim-port", type=int, default=0, help="first agency API port (0: any)")
    sim.add_argument("--seed", type=int, default=2026, help="synthetic population seed")
    sim.add_argument("--scale", type=float, default=1.0, help="population scale (1: the villages)")
    sim.add_argument("--register", action="store_true", help="route their services in the hub")
    sim.add_argument("--advertise", help="host the hub dials (default: the listen host)")
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="AGENCY=SPEC",
        help="inject faults, e.g. polri=latency=50,error=0.1,timeout=0.05,malformed=0.02,extra",
    )
    sim.add_argument(
        "--misbehave",
        action="append",
        default=[],
        metavar="AGENCY=KIND",
        help="UNSAFE, simulation only: a connector that lies (extra-fields, wrong-key)",
    )

    query = add(commands, "query", cmd_query, "send one signed query")
    query.add_argument("--hub", default=DEFAULT_HUB)
    query.add_argument("--client", default="ID/GOV/KEMENSOS/eligibility")
    query.add_argument("--member-dir", help="client key/cert directory")
    query.add_argument("--service", required=True)
    query.add_argument("--subject", required=True)
    query.add_argument("--purpose", default=PURPOSE)
    query.add_argument("--fields", required=True)
    query.add_argument("--consent", required=True, help="artefact, or @file")

    console = add(commands, "console", cmd_console, "run the security officers' web console")
    console.add_argument("--listen", default="127.0.0.1:8080", help="HOST:PORT (0: any port)")
    console.add_argument("--hub", default=DEFAULT_HUB)
    console.add_argument(
        "--member",
        default=CONSOLE_MEMBER,
        help="the console's member id (needs the auditor and console roles)",
    )
    console.add_argument("--member-dir", help="its key/cert directory (default: under the home)")
    console_commands = console.add_subparsers(dest="console_command", metavar="ACTION")
    officer = add(
        console_commands, "add-officer", cmd_console_add_officer, "add or re-key a console login"
    )
    officer.add_argument("name")
    officer.add_argument("--password-file", required=True, help="file holding the password")

    demo = add(commands, "demo", cmd_demo, "run the whole path on loopback and show it")
    demo.add_argument("--keep", action="store_true", help="keep the demo's home directory")
    demo.add_argument(
        "--scale", type=float, default=1.0, help="population scale (1: the two villages)"
    )
    return parser


def _add_admin_commands(
    commands: argparse._SubParsersAction, add: Callable[..., argparse.ArgumentParser]
) -> None:
    """``admin`` (an administrator's acts) and ``member`` (a member's own requests), both
    over the Admin API with the caller's certificate."""

    def connection(sub: argparse.ArgumentParser, member_default: str | None) -> None:
        sub.add_argument("--hub", default=DEFAULT_HUB)
        sub.add_argument(
            "--member",
            default=member_default,
            required=member_default is None,
            help="the calling member id (its key/cert under the home)",
        )
        sub.add_argument("--member-dir", help="its key.pem/cert.pem directory instead")
        sub.add_argument("--ca", help="hub CA certificate (default: the home's)")

    states = ["pending", "approved", "rejected"]
    admin = commands.add_parser(
        "admin", help="administrator: enrolments, revocation, connectors, services (gRPC)"
    )
    groups = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    leaves: list[argparse.ArgumentParser] = []
    enrolment = groups.add_parser("enrolment", help="enrolment requests")
    acts = enrolment.add_subparsers(dest="enrolment_command", required=True, metavar="ACTION")
    listing = add(acts, "list", cmd_admin_enrolment_list, "list enrolment requests")
    listing.add_argument("--state", choices=states)
    approve = add(acts, "approve", cmd_admin_enrolment_approve, "issue the certificate")
    approve.add_argument("request_id")
    approve.add_argument("--days", type=int, default=0, help="validity (default 365)")
    reject = add(acts, "reject", cmd_admin_enrolment_reject, "reject, with a reason")
    reject.add_argument("request_id")
    reject.add_argument("--reason", required=True)
    leaves += [listing, approve, reject]
    revoke = add(groups, "revoke", cmd_admin_revoke, "revoke a certificate by serial")
    revoke.add_argument("serial")
    revoke.add_argument("--reason", default="unspecified")
    leaves.append(revoke)
    connector = groups.add_parser("connector", help="connector registrations")
    acts = connector.add_subparsers(dest="connector_command", required=True, metavar="ACTION")
    clist = add(acts, "list", cmd_admin_connector_list, "list connector registrations")
    clist.add_argument("--state", choices=states)
    capprove = add(acts, "approve", cmd_admin_connector_approve, "make its routes live")
    capprove.add_argument("registration_id")
    creject = add(acts, "reject", cmd_admin_connector_reject, "reject, with a reason")
    creject.add_argument("registration_id")
    creject.add_argument("--reason", required=True)
    leaves += [clist, capprove, creject]
    service = groups.add_parser("service", help="switch services off and on")
    acts = service.add_subparsers(dest="service_command", required=True, metavar="ACTION")
    for name, func in (
        ("disable", cmd_admin_service_disable),
        ("enable", cmd_admin_service_enable),
    ):
        sub = add(acts, name, func, f"{name} a service")
        sub.add_argument("service")
        leaves.append(sub)
    for leaf in leaves:
        connection(leaf, "ID/GOV/SPLP/administrator")

    member = commands.add_parser(
        "member", help="a member's own requests: enrolment, renewal, connectors (gRPC)"
    )
    acts = member.add_subparsers(dest="member_command", required=True, metavar="ACTION")
    enrol = add(acts, "enrol", cmd_member_enrol, "submit a CSR for a subsystem (see pki csr)")
    enrol.add_argument("--csr", required=True)
    enrol.add_argument("--subsystem", required=True, help="member id the CSR is for")
    enrol.add_argument("--role", action="append", default=[], help="a role to ask for")
    fetch = add(acts, "enrolment", cmd_member_enrolment, "an enrolment's state and certificate")
    fetch.add_argument("request_id")
    fetch.add_argument("--cert-out", help="write the certificate here once approved")
    renew = add(
        acts, "renew", cmd_member_renew, "a new certificate now: same id and roles, 365 days"
    )
    renew.add_argument("--csr", required=True)
    renew.add_argument("--cert-out", required=True)
    register = add(
        acts, "register-connector", cmd_member_register_connector, "register a connector"
    )
    register.add_argument("--endpoint", required=True, help="HOST:PORT the hub dials")
    register.add_argument(
        "--catalogue",
        required=True,
        help="YAML: SERVICE_ID: [{name, type, description, sensitivity}]",
    )
    status = add(acts, "connector", cmd_member_connector, "a connector registration's state")
    status.add_argument("registration_id")
    for leaf in (enrol, fetch, renew, register, status):
        connection(leaf, None)


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    log_format = getattr(args, "log_format", "text")
    # Asking for JSON is asking for the exchange lines a log shipper collects: INFO.
    verbose = args.verbose or log_format == "json"
    configure_logs(log_format, logging.INFO if verbose else logging.WARNING)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if isinstance(exc, QueryRefused):
            print(f"jembatan: refused: {exc}", file=sys.stderr)
            sys.exit(3)
        if isinstance(exc, (JembatanError, OSError, ValueError)):
            print(f"jembatan: {exc}", file=sys.stderr)
            sys.exit(2)
        raise
