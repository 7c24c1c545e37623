"""What an operator runs the hub by, through a real hub process: Prometheus metrics on
their own port, the standard gRPC health service and reflection on the mTLS port, and
JSON logs with one line per exchange and no personal data — nothing but JSON, gRPC core's
own lines included, and one line and a count for every handshake refused at TLS."""

from __future__ import annotations

import asyncio
import datetime
import importlib.metadata
import json
import platform
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from prometheus_client.parser import text_string_to_metric_families

from connectors.bpjstk.adapter import EMPLOYMENT_SERVICE
from hub.home import HUB_MEMBER_ID
from hub.pki import CertificateAuthority
from hub.server import SERVICE_NAMES
from jembatan.certs import make_csr
from jembatan.client import QueryRefused
from jembatan.keys import cert_to_pem, generate_key, key_to_pem
from jembatan.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    audit_pb2,
    audit_pb2_grpc,
    consent_pb2,
    consent_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
)
from tests.promql import ROOT, dashboard_queries, metric_names
from tests.stack import ELIGIBILITY_ID, Stack, employment_query, start_stack

BPJSTK_AGENCY = "ID/GOV/BPJSTK/wages"
NO_SUCH_SERVICE = f"{BPJSTK_AGENCY}/no-such-service"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, Path]]:
    """A hub of its own (exact counts; its audit store is broken on purpose), logging
    JSON to a file the tests read."""
    root = tmp_path_factory.mktemp("ops")
    log_path = root / "hub.log"
    with log_path.open("w") as log_file:
        running = start_stack(root / "hub", hub_args=["--log-format", "json"], hub_stderr=log_file)
        yield running, log_path
        running.hub.stop()
        running.sim.stop()


PROMTOOL = Path(__file__).resolve().parents[2] / ".tools" / "promtool"


def _exposition(stack: Stack) -> str:
    with urllib.request.urlopen(stack.metrics_url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return str(response.read().decode())


def _scrape(stack: Stack) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(_exposition(stack))
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _exchanges(samples: Samples, client: str, service: str, decision: str, reason: str) -> float:
    return _value(
        samples,
        "jembatan_exchanges_total",
        client=client,
        service=service,
        decision=decision,
        reason=reason,
    )


async def _workload(stack: Stack, released: int, no_consent: int, unknown: int) -> None:
    """Released queries, refusals for lack of consent, refusals for an unknown service."""
    people = [stack.people.employed, stack.people.recently_terminated]
    async with stack.client() as client:
        for n in range(released):
            nik = people[n % 2]
            token, _ = stack.consent(nik)
            await employment_query(client, nik, token)
        for n in range(no_consent):
            with pytest.raises(QueryRefused, match="CONSENT_MISSING"):
                await employment_query(client, people[n % 2], "")
        for _ in range(unknown):
            with pytest.raises(QueryRefused, match="UNKNOWN_SERVICE"):
                await employment_query(
                    client, people[0], "", ("employment_status",), service_id=NO_SUCH_SERVICE
                )


async def test_metrics_count_a_known_workload_exactly(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    before = _scrape(stack)
    await _workload(stack, released=3, no_consent=2, unknown=1)
    after = _scrape(stack)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    def exchanges(service: str, decision: str, reason: str) -> float:
        return _exchanges(after, ELIGIBILITY_ID, service, decision, reason) - _exchanges(
            before, ELIGIBILITY_ID, service, decision, reason
        )

    assert exchanges(EMPLOYMENT_SERVICE, "RELEASED", "") == 3
    assert exchanges(EMPLOYMENT_SERVICE, "REFUSED", "CONSENT_MISSING") == 2
    # An unknown service is no label value (it is whatever the caller sent): "".
    assert exchanges("", "REFUSED", "UNKNOWN_SERVICE") == 1
    # Every stage a query reached was timed: all six were identified, three reached the
    # agency, and all six were appended to the audit log.
    count = "jembatan_stage_duration_seconds_count"
    assert delta(count, stage="identify") == 6
    assert delta(count, stage="resolve") == 6
    assert delta(count, stage="consent") == 5
    assert delta(count, stage="forward") == 3
    assert delta(count, stage="transform") == 3
    assert delta(count, stage="audit") == 6
    assert delta("jembatan_stage_duration_seconds_sum", stage="forward") > 0
    assert delta("jembatan_connector_request_duration_seconds_count", connector=BPJSTK_AGENCY) == 3
    assert _value(after, "jembatan_connector_up", connector=BPJSTK_AGENCY) == 1
    assert _value(after, "jembatan_audit_log_entries") == stack.log_size()
    assert _value(after, "jembatan_audit_sequencer_up") == 1
    # Members' and the hub's own certificates are a year from expiry, not past it.
    for member in (ELIGIBILITY_ID, BPJSTK_AGENCY, HUB_MEMBER_ID):
        assert _value(after, "jembatan_certificate_expiry_seconds", member=member) > 86400 * 300


def _calls(samples: Samples, service: str, method: str, code: str) -> float:
    return _value(samples, "jembatan_grpc_calls_total", service=service, method=method, code=code)


async def test_calls_to_every_service_are_counted_by_method_and_status(
    ops: tuple[Stack, Path],
) -> None:
    stack, _ = ops
    before = _scrape(stack)
    async with stack.channel() as channel:  # the eligibility service: no role
        await registry_pb2_grpc.RegistryStub(channel).ListServices(
            registry_pb2.ListServicesRequest()
        )
        await audit_pb2_grpc.AuditStub(channel).GetCheckpoint(audit_pb2.GetCheckpointRequest())
        # Refused: listing enrolments needs the administrator role, the consent manager's
        # calls the consent manager.
        for call, request in (
            (admin_pb2_grpc.AdminStub(channel).ListEnrolments, admin_pb2.ListRequest()),
            (
                consent_pb2_grpc.ConsentRegistryStub(channel).ListMine,
                consent_pb2.CitizenConsentsRequest(),
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call(request)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # An unknown method of a known service, and an unknown service: no label for either.
        for method in ("/jembatan.v1.Audit/NoSuchMethod", "/no.such.Service/Call"):
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await channel.unary_unary(method)(b"")
            assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
    await _workload(stack, released=1, no_consent=1, unknown=0)
    after = _scrape(stack)

    def delta(service: str, method: str, code: str) -> float:
        return _calls(after, service, method, code) - _calls(before, service, method, code)

    assert delta("jembatan.v1.Registry", "ListServices", "OK") == 1
    assert delta("jembatan.v1.Audit", "GetCheckpoint", "OK") == 1
    assert delta("jembatan.v1.Admin", "ListEnrolments", "PERMISSION_DENIED") == 1
    assert delta("jembatan.v1.ConsentRegistry", "ListMine", "PERMISSION_DENIED") == 1
    assert delta("jembatan.v1.Exchange", "Query", "OK") == 1
    assert delta("jembatan.v1.Exchange", "Query", "PERMISSION_DENIED") == 1
    # The released query's consent, granted by the portal (stack.consent).
    assert delta("jembatan.v1.ConsentRegistry", "Grant", "OK") == 1
    # Nothing else moved: in particular no label for a method the hub does not serve.
    moved = {
        dict(labels)["method"]
        for (name, labels), value in after.items()
        if name == "jembatan_grpc_calls_total" and value != before.get((name, labels), 0.0)
    }
    assert moved == {
        "ListServices",
        "GetCheckpoint",
        "ListEnrolments",
        "ListMine",
        "Query",
        "Grant",
    }
    assert not {"NoSuchMethod", "Call"} & {
        dict(labels)["method"] for name, labels in after if name == "jembatan_grpc_calls_total"
    }


def test_build_info_names_the_running_version(ops: tuple[Stack, Path]) -> None:
    families = {f.name: f for f in text_string_to_metric_families(_exposition(ops[0]))}
    (sample,) = families["jembatan_build_info"].samples
    assert sample.value == 1
    assert sample.labels["version"] == importlib.metadata.version("jembatan")
    assert sample.labels["python"] == platform.python_version()
    # The tests run from a git checkout: the hub names its commit.
    head = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert sample.labels["commit"] == head


async def test_every_metric_the_alerts_and_the_dashboard_read_is_exposed(
    ops: tuple[Stack, Path],
) -> None:
    stack, _ = ops
    await _workload(stack, released=1, no_consent=1, unknown=1)
    families = list(text_string_to_metric_families(_exposition(stack)))
    samples = {sample.name for family in families for sample in family.samples}
    # A labelled metric no call has touched yet is declared (HELP, TYPE) with no sample.
    declared = {
        family.name + suffix
        for family in families
        for suffix in {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
        }.get(family.type, ("",))
    }
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())["groups"]
    read = {
        name
        for expression in [r["expr"] for g in rules for r in g["rules"]] + dashboard_queries()
        for name in metric_names(expression)
    }
    assert len(read) > 20
    assert read - samples - declared == set()


_NAME = re.compile(r"[a-z][a-z0-9_]*")
# Base units only: seconds and bytes, never their multiples.
_NOT_BASE_UNITS = re.compile(r"_(milli|micro|nano)?(ms|us|ns|minutes|hours|days|kb|mb|gb)(_|$)")
_TIME_WORDS = ("duration", "latency", "age", "expiry", "lag", "time")


def test_every_metric_follows_the_naming_rules(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    families = list(text_string_to_metric_families(_exposition(stack)))
    assert families
    for family in families:
        name = family.name
        assert _NAME.fullmatch(name), name
        # Ours carry the prefix; the process collector's are the standard process_*.
        assert name.startswith(("jembatan_", "process_")), name
        assert not _NOT_BASE_UNITS.search(name), name
        words = name.split("_")
        if any(word in _TIME_WORDS for word in words):
            assert name.endswith(("_seconds", "_seconds_total")), name
        assert family.documentation, f"{name} has no HELP"
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith("_total"), sample.name
            if family.type != "counter":
                assert not sample.name.endswith("_total"), sample.name
            # Bounded labels only: nothing per subject or per request.
            assert not {"subject", "nik", "request_id", "request_digest"} & set(sample.labels)
            assert not any(re.search(r"\d{16}", v) for v in sample.labels.values())


def test_promtool_finds_nothing_to_say_about_the_exposition(ops: tuple[Stack, Path]) -> None:
    # Failing, not skipping: `make test` puts promtool there (Makefile).
    assert PROMTOOL.exists(), f"{PROMTOOL} missing: run make .tools/promtool"
    checked = subprocess.run(
        [str(PROMTOOL), "check", "metrics"],
        input=_exposition(ops[0]),
        capture_output=True,
        text=True,
        timeout=60,
    )
    # promtool prints its complaints (lint problems) and exits non-zero on any.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_the_metrics_port_serves_metrics_only(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    root = stack.metrics_url.removesuffix("metrics")
    for path in ("", "audit", "debug"):
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(root + path, timeout=10)
        assert missing.value.code == 404


QUOTED_FIELD = "zz_quoted_in_the_refusal"


async def test_exchange_log_lines_are_json_and_carry_no_personal_data(
    ops: tuple[Stack, Path],
) -> None:
    stack, log_path = ops
    nik = stack.people.recently_terminated
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        fields = ("employment_status", "employer", "monthly_wage")
        answer = await employment_query(client, nik, token, fields, request_id="ops-released-1")
        with pytest.raises(QueryRefused):
            await employment_query(
                client, nik, "", ("employment_status",), request_id="ops-refused-1"
            )
        # A refusal whose message quotes what the caller sent (the field it asked for).
        with pytest.raises(QueryRefused) as quoted:
            await employment_query(client, nik, token, (QUOTED_FIELD,), request_id="ops-refused-2")
    assert QUOTED_FIELD in quoted.value.message
    lines = await _log_lines(log_path, want={"ops-released-1", "ops-refused-1", "ops-refused-2"})
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    by_id = {line.get("request_id"): line for line in lines if line["logger"] == "hub.exchanges"}
    released, refused = by_id["ops-released-1"], by_id["ops-refused-1"]
    assert released["decision"] == "RELEASED" and released["reason"] == ""
    assert released["stage"] == "release" and released["log_index"] == answer.log_index
    assert refused["decision"] == "REFUSED" and refused["reason"] == "CONSENT_MISSING"
    assert refused["stage"] == "consent" and isinstance(refused["log_index"], int)
    for line in (released, refused):
        assert line["level"] == "INFO"
        assert line["client"] == ELIGIBILITY_ID and line["service"] == EMPLOYMENT_SERVICE
        assert re.fullmatch(r"[0-9a-f]{64}", line["request_digest"])
        assert line["duration_seconds"] >= 0
    # Whatever else the hub logged so far: no NIK, no value from the agency's record or
    # the answer, no consent token.
    text = log_path.read_text()
    record = stack.population.bpjstk[nik]
    secrets = [
        *stack.population.bpjstk,  # every NIK the agency knows
        record.employer,
        str(record.monthly_wage),
        str(answer.fields["employer"].value),  # the masked form too
        token,
        token.split(".")[-1],
        QUOTED_FIELD,  # only ever in a refusal message
    ]
    for secret in secrets:
        assert secret not in text, "a NIK, value, token or refusal message reached the log"


async def _log_lines(path: Path, want: set[str]) -> list[dict[str, object]]:
    """The log's lines, parsed, once the lines of the ``want`` request ids are written
    (the hub writes each after answering)."""
    for _ in range(100):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line]
        if want <= {line.get("request_id") for line in lines}:
            return lines
        await asyncio.sleep(0.1)
    raise AssertionError(f"no log lines for {want}")


async def _statuses(stack: Stack) -> dict[str, str]:
    # As an ordinary member: health and reflection need no role.
    async with stack.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        statuses = {}
        for service in ("", *SERVICE_NAMES):
            response = await health.Check(health_pb2.HealthCheckRequest(service=service))
            statuses[service] = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return statuses


# --- TLS: handshakes refused before any call ------------------------------------------------


def _handshake(stack: Stack, directory: Path, key: bytes | None, cert: bytes | None) -> None:
    """One TLS handshake with the hub, as a client that trusts the hub CA and shows
    ``cert`` (or none); then wait for the hub's verdict (under TLS 1.3 the client is done
    before the hub has judged its certificate)."""
    context = ssl.create_default_context(cafile=str(stack.home.ca_cert))
    context.check_hostname = False
    context.set_alpn_protocols(["h2"])
    if key is not None and cert is not None:
        (directory / "key.pem").write_bytes(key)
        (directory / "cert.pem").write_bytes(cert)
        context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    host, port = stack.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                answer = tls.recv(1)  # the hub's alert, or the end of the connection
        except (ssl.SSLError, ConnectionError):
            return
    assert answer == b"", "the hub accepted the handshake"


def _plain_http(stack: Stack) -> None:
    host, port = stack.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: hub\r\n\r\n")
        raw.recv(100)


def _member(ca: CertificateAuthority, **issue: object) -> tuple[bytes, bytes]:
    key = generate_key()
    cert = ca.issue(make_csr(key, ELIGIBILITY_ID), ELIGIBILITY_ID, **issue)  # type: ignore[arg-type]
    return key_to_pem(key), cert_to_pem(cert)


def _json_lines(path: Path) -> list[dict[str, object]]:
    """Every line of the hub's log, each of which must be one JSON object."""
    lines = []
    for text in path.read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line in the hub's log: {text!r}") from None
    return lines


async def test_handshakes_refused_at_tls_are_counted_and_logged_by_cause(
    ops: tuple[Stack, Path], tmp_path: Path
) -> None:
    stack, log_path = ops
    rogue_ca = CertificateAuthority.create(common_name="Rogue CA")
    hub_ca = CertificateAuthority.load(stack.home.ca_dir)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    cases = {
        "no_certificate": (None, None),
        "unknown_ca": _member(rogue_ca),
        "expired": _member(hub_ca, valid_days=1, now=long_ago),
    }
    failures = "jembatan_tls_handshake_failures_total"
    before = _scrape(stack)
    for key, cert in cases.values():
        _handshake(stack, tmp_path, key, cert)
    _plain_http(stack)  # not TLS at all
    expected = {cause: 1.0 for cause in [*cases, "not_tls"]}
    for _ in range(100):  # gRPC core's line is read back by a thread of the hub's own
        after = _scrape(stack)
        counted = {
            cause: _value(after, failures, cause=cause) - _value(before, failures, cause=cause)
            for cause in expected
        }
        if counted == expected:
            break
        await asyncio.sleep(0.1)
    assert counted == expected
    refused = [line for line in _json_lines(log_path) if line["logger"] == "hub.tls"]
    assert [line["cause"] for line in refused[-4:]] == list(expected)
    for line in refused[-4:]:
        assert (line["level"], line["message"]) == ("WARNING", "tls handshake refused")
        assert isinstance(line["detail"], str) and line["detail"]
    # No gRPC core text line reached the log around them: only the JSON of each.
    assert "ssl_transport_security" not in log_path.read_text()


async def _until_health(stack: Stack, wanted: str) -> dict[str, str]:
    for _ in range(100):
        statuses = await _statuses(stack)
        if set(statuses.values()) == {wanted}:
            return statuses
        await asyncio.sleep(0.1)
    raise AssertionError(f"health never became {wanted}: {statuses}")


def _health_cli(stack: Stack, *args: str) -> tuple[int, str, str]:
    """`jembatan health` against the test hub: (exit status, stdout, stderr)."""
    home = str(stack.home.root)
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--home", home, "health", "--hub", stack.address, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout, done.stderr


def test_the_health_command_asks_the_standard_health_service(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    # As the hub itself (its own certificate, as in the hub's container), and as a member.
    assert _health_cli(stack) == (0, "SERVING\n", "")
    assert _health_cli(stack, "--member", ELIGIBILITY_ID, "--service", "jembatan.v1.Audit") == (
        0,
        "SERVING\n",
        "",
    )
    code, out, err = _health_cli(stack, "--service", "jembatan.v1.NoSuchService")
    assert (code, out) == (2, "")
    assert err == (
        f"jembatan: the hub at {stack.address} serves no service 'jembatan.v1.NoSuchService'\n"
    )
    # Nothing listening: unreachable, in one line.
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    code, out, err = _health_cli(stack, "--hub", f"127.0.0.1:{port}", "--timeout", "2")
    assert (code, out) == (3, "")
    assert err.startswith(f"jembatan: Cannot reach the hub at 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


async def test_health_reports_serving_for_every_service(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    statuses = await _statuses(stack)
    assert set(statuses) == {
        "",
        "jembatan.v1.Exchange",
        "jembatan.v1.Audit",
        "jembatan.v1.Registry",
        "jembatan.v1.Admin",
        "jembatan.v1.ConsentRegistry",
    }
    assert set(statuses.values()) == {"SERVING"}
    async with stack.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="jembatan.v1.NoSuchService")
            )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_hub_services(ops: tuple[Stack, Path]) -> None:
    stack, _ = ops
    files = stack.member(ELIGIBILITY_ID)
    credentials = grpc.ssl_channel_credentials(
        stack.home.ca_cert.read_bytes(), files.key_pem, files.cert_pem
    )
    with grpc.secure_channel(stack.address, credentials) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        exchange = database.FindFileContainingSymbol("jembatan.v1.Exchange")
    assert set(SERVICE_NAMES) <= services
    assert "grpc.health.v1.Health" in services
    assert "Exchange" in {service.name for service in exchange.service}


async def test_a_down_connector_shows_in_its_health_metrics(ops: tuple[Stack, Path]) -> None:
    """Next to last: it stops the agencies."""
    stack, _ = ops
    await _workload(stack, released=1, no_consent=0, unknown=0)
    before = _scrape(stack)
    assert _value(before, "jembatan_connector_up", connector=BPJSTK_AGENCY) == 1
    stack.sim.stop()  # the agencies go away; the hub stays up
    nik = stack.people.employed
    token, _ = stack.consent(nik)
    async with stack.client() as client:
        with pytest.raises(QueryRefused) as refused:
            await employment_query(client, nik, token)
    assert refused.value.reason == "CONNECTOR_UNAVAILABLE"
    after = _scrape(stack)
    errors = "jembatan_connector_errors_total"
    labels = {"connector": BPJSTK_AGENCY, "reason": "CONNECTOR_UNAVAILABLE"}
    assert _value(after, errors, **labels) - _value(before, errors, **labels) == 1
    assert _value(after, "jembatan_connector_up", connector=BPJSTK_AGENCY) == 0
    args = (ELIGIBILITY_ID, EMPLOYMENT_SERVICE, "REFUSED", "CONNECTOR_UNAVAILABLE")
    assert _exchanges(after, *args) - _exchanges(before, *args) == 1


async def test_health_is_not_serving_while_the_audit_store_fails(ops: tuple[Stack, Path]) -> None:
    """Last in the module: it breaks the hub's audit store (a real SQLite failure), then
    mends it; the hub notices both by itself, with no query needed."""
    stack, log_path = ops
    with sqlite3.connect(stack.home.database) as conn:
        conn.execute(
            "CREATE TRIGGER audit_disk_failure BEFORE INSERT ON audit_log"
            " BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"
        )
    try:
        await _until_health(stack, "NOT_SERVING")
        # The compose file's health check says so too, in a word and its exit status.
        assert _health_cli(stack) == (1, "NOT_SERVING\n", "")
        samples = _scrape(stack)
        assert _value(samples, "jembatan_audit_sequencer_up") == 0
        # Still up and failing closed; the refusal is counted though it could not be logged.
        async with stack.client() as client:
            with pytest.raises(QueryRefused) as refused:
                await employment_query(client, stack.people.employed, "")
        assert refused.value.reason == "AUDIT_UNAVAILABLE"
        args = (ELIGIBILITY_ID, EMPLOYMENT_SERVICE, "REFUSED", "AUDIT_UNAVAILABLE")
        assert _exchanges(_scrape(stack), *args) - _exchanges(samples, *args) == 1
    finally:
        with sqlite3.connect(stack.home.database) as conn:
            conn.execute("DROP TRIGGER audit_disk_failure")
    await _until_health(stack, "SERVING")
    assert _health_cli(stack) == (0, "SERVING\n", "")
    # Whatever the module put the hub through (refused handshakes, a connector gone, a
    # broken store), its log stayed one JSON object a line.
    assert _json_lines(log_path)
