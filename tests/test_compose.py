"""No Docker engine runs where the tests run, so the compose file is checked statically:
every service built here runs a real `jembatan` command, the files it builds from and mounts
exist, and the ports, names and database the parts use to find each other agree."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from hub.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _jembatan_services() -> dict[str, dict]:  # type: ignore[type-arg]
    """Services built from this repository (the others run a published image)."""
    return {n: s for n, s in _compose()["services"].items() if s.get("build") == "."}


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_deployment_has_every_part() -> None:
    services = _compose()["services"]
    assert {"postgres", "setup", "agencies", "hub-1", "hub-2", "lb", "prometheus", "portal"} <= set(
        services
    )
    assert {name for name in services if name.startswith("hub-")} == {"hub-1", "hub-2"}


def test_every_service_command_is_a_real_jembatan_command() -> None:
    services = _jembatan_services()
    assert set(services) == {"setup", "agencies", "hub-1", "hub-2", "portal"}
    for name, service in services.items():
        command = service["command"]
        if isinstance(command, str):  # sh -c "… jembatan … && jembatan …"
            shell, flag, script = shlex.split(command)
            assert (shell, flag) == ("sh", "-c")
            parts = [shlex.split(p) for p in re.split(r"&&|\|\||[()]", script)]
            invocations = [words[1:] for words in parts if words and words[0] == "jembatan"]
        else:
            invocations = [command]
        assert invocations, f"{name}: runs no jembatan command"
        for words in invocations:
            _parses(name, words)


def _parses(service: str, words: list[str]) -> None:
    """The words parse as a `jembatan` command line: every subcommand and flag is known."""
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:
        raise AssertionError(f"{service}: jembatan {' '.join(words)}") from exc


def test_the_image_holds_every_package_the_project_installs() -> None:
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(project["tool"]["mypy"]["packages"]) <= copied


def test_the_image_is_built_from_files_that_exist_and_every_mounted_file_exists() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    for line in dockerfile:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    for name, service in _compose()["services"].items():
        assert ("build" in service) != ("image" in service), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts missing {source}"


def test_every_jembatan_process_shares_the_home_and_the_database() -> None:
    # The variables the image's processes are configured by are ones `jembatan` reads.
    usage = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--help"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "$JEMBATAN_HOME" in usage and "$JEMBATAN_DATABASE" in usage
    services = _compose()["services"]
    postgres = services["postgres"]["environment"]
    for name, service in _jembatan_services().items():
        environment = service["environment"]
        assert environment["JEMBATAN_HOME"] == "/home/jembatan", name
        assert f"hub-home:{environment['JEMBATAN_HOME']}" in service["volumes"], name
        dsn = urlsplit(environment["JEMBATAN_DATABASE"])
        assert (dsn.scheme, dsn.hostname, dsn.port) == ("postgresql", "postgres", 5432), name
        assert (dsn.username, dsn.path) == (
            postgres["POSTGRES_USER"],
            "/" + postgres["POSTGRES_DB"],
        )


def test_ports_agree_between_replicas_balancer_and_scraper() -> None:
    services = _compose()["services"]
    envoy = yaml.safe_load((ROOT / "deploy" / "envoy.yaml").read_text())["static_resources"]
    (listener,) = envoy["listeners"]
    lb_port = listener["address"]["socket_address"]["port_value"]
    assert services["lb"]["ports"] == [f"{lb_port}:{lb_port}"]
    (cluster,) = envoy["clusters"]
    upstreams = {
        (e["endpoint"]["address"]["socket_address"]["address"],
         e["endpoint"]["address"]["socket_address"]["port_value"])
        for group in cluster["load_assignment"]["endpoints"]
        for e in group["lb_endpoints"]
    }  # fmt: skip
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {
        t
        for job in prometheus["scrape_configs"]
        for c in job["static_configs"]
        for t in c["targets"]
    }
    hubs = {name: s for name, s in services.items() if name.startswith("hub-")}
    assert upstreams == {
        (name, int(_flag(s["command"], "--listen").rsplit(":", 1)[1])) for name, s in hubs.items()
    }
    for name, service in hubs.items():
        assert "ports" not in service, f"{name}: replicas are reached through the balancer"
        metrics_port = _flag(service["command"], "--metrics-listen").rsplit(":", 1)[1]
        # Metrics stay on the compose network: exposed to the scraper, never published.
        assert service["expose"] == [metrics_port]
        assert f"{name}:{metrics_port}" in targets
    # Clients dial the balancer, which passes TLS through: the hub certificate must name it.
    setup = services["setup"]["command"]
    for name in ("lb", *hubs):
        assert f"--dns {name}" in setup, name


def test_agencies_are_dialled_by_their_member_names_not_their_host() -> None:
    services = _compose()["services"]
    sim = services["agencies"]["command"]
    # The hub dials the agencies' container by name ...
    assert _flag(sim, "--advertise") == "agencies"
    setup = services["setup"]["command"]
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency

    # ... but checks each connector's certificate for its agency's member name
    # (hub.pki.member_dns_name), so no agency certificate names the shared host: with it,
    # each of them would pass for the server at `agencies`, any agency's connector there.
    for name in PILOT_AGENCIES:
        agency_id = simulated_agency(name).agency_id
        enrolment = re.search(rf"jembatan pki enrol --member {agency_id}( [^&)]*)?", setup)
        assert enrolment, agency_id
        assert "--dns" not in enrolment.group(0), agency_id


def test_the_portal_dials_the_balancer_and_keeps_its_store_in_the_shared_database() -> None:
    services = _compose()["services"]
    portal = services["portal"]
    command = portal["command"]
    assert _flag(command, "--hub") == "lb:7443"
    store = urlsplit(_flag(command, "--store"))
    assert (store.scheme, store.hostname) == ("postgresql", "postgres")
    port = _flag(command, "--listen").rsplit(":", 1)[1]
    assert portal["ports"] == [f"{port}:{port}"]
