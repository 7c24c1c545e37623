"""No Docker engine runs where the tests run, so the compose file is checked statically:
every service built here runs a real `jembatan` command, the files it builds from and mounts
exist, and the ports, names and database the parts use to find each other agree; every
service has a health check and a restart policy, the hubs' through grpc.health.v1; the CA's
private key is mounted where certificates are issued and nowhere else (the set-up script
itself is run, on SQLite, to show it); the image runs as no root, from a complete lock file,
with a .dockerignore that keeps keys and the local tree out of the build."""

from __future__ import annotations

import fnmatch
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


WITNESSES = {"witness-setup", "witness"}


def _built_here() -> dict[str, dict]:  # type: ignore[type-arg]
    """Services built from this repository (the others run a published image)."""
    return {n: s for n, s in _compose()["services"].items() if s.get("build") == "."}


def _jembatan_services() -> dict[str, dict]:  # type: ignore[type-arg]
    """The hub's own processes: built here, and not the independent witness."""
    return {n: s for n, s in _built_here().items() if n not in WITNESSES}


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def test_the_deployment_has_every_part() -> None:
    services = _compose()["services"]
    assert {
        "postgres",
        "setup",
        "agencies",
        "hub-1",
        "hub-2",
        "lb",
        "prometheus",
        "console",
        "grafana",
        "portal",
    } <= set(services)
    assert set(services) >= WITNESSES
    assert {name for name in services if name.startswith("hub-")} == {"hub-1", "hub-2"}


def test_every_service_command_is_a_real_jembatan_command() -> None:
    services = _built_here()
    assert set(services) == {"setup", "agencies", "hub-1", "hub-2", "console", "portal", *WITNESSES}
    for name, service in services.items():
        command = service["command"]
        if isinstance(command, str):  # sh -c "… jembatan … && jembatan …"
            shell, flag, script = shlex.split(command)
            assert (shell, flag) == ("sh", "-c")
            parts = [shlex.split(p) for p in re.split(r"&&|\|\||[()]", script)]
            invocations = [words[1:] for words in parts if words and words[0] == "jembatan"]
        else:
            invocations = [command]
        test = service.get("healthcheck", {}).get("test", [])
        if test[1:2] == ["jembatan"]:  # ["CMD", "jembatan", …]
            invocations.append(test[2:])
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
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"


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


def test_the_witness_is_apart_from_the_hub_and_every_replica_asks_it() -> None:
    services = _compose()["services"]
    for name in WITNESSES:
        service = services[name]
        # Its own key and state; of the hub, only what the hub publishes.
        assert not any(v.startswith("hub-home:") for v in service["volumes"]), name
        assert "JEMBATAN_DATABASE" not in service.get("environment", {}), name
        assert "witness-bssn:/witness" in service["volumes"], name
        assert service["environment"]["JEMBATAN_WITNESS_DIR"] == "/witness", name
    witness = services["witness"]["command"]
    assert witness[:2] == ["witness", "serve"]
    assert _flag(witness, "--log") == "@/published/log.vkey"
    assert "cp /home/jembatan/hub/log.vkey /published/log.vkey" in services["setup"]["command"]
    assert "/published/witness-bssn.vkey" in services["witness-setup"]["command"]
    port = _flag(witness, "--listen").rsplit(":", 1)[1]
    assert services["witness"]["expose"] == [port]
    for name in ("hub-1", "hub-2"):
        command = services[name]["command"]
        assert _flag(command, "--witness") == (
            f"http://witness:{port}=@/published/witness-bssn.vkey"
        ), name
        assert "published:/published:ro" in services[name]["volumes"], name
        assert services[name]["depends_on"]["witness-setup"] == {
            "condition": "service_completed_successfully"
        }, name


def test_the_console_serves_https_with_the_certificate_setup_makes() -> None:
    """The console's --tls-cert is the certificate of the member setup enrols for it, with
    the auditor and console roles it needs, and it dials the balancer."""
    services = _compose()["services"]
    command = services["console"]["command"]
    member = "ID/GOV/BSSN/console"
    directory = f"/home/jembatan/members/{member.replace('/', '_')}"
    assert _flag(command, "--tls-cert") == f"{directory}/cert.pem"
    assert _flag(command, "--tls-key") == f"{directory}/key.pem"
    assert _flag(command, "--hub") == "lb:7443"
    port = _flag(command, "--listen").rsplit(":", 1)[1]
    assert services["console"]["ports"] == [f"{port}:{port}"]
    setup = services["setup"]["command"]
    assert f"jembatan pki enrol --member {member} --role auditor --role console" in " ".join(
        setup.split()
    )


# --- what an operator can trust: health, restarts, where keys are, the image -------------

# Services that run until stopped; the set-up service runs once.
ONE_SHOT = {"setup", "witness-setup"}
CA_KEY_VOLUME = "ca-key"


def _volumes(service: dict) -> dict[str, str]:  # type: ignore[type-arg]
    """Source → mount point of a service's volumes."""
    return {v.split(":")[0]: v.split(":")[1] for v in service.get("volumes", [])}


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_every_service_restarts_and_reports_its_health() -> None:
    for name, service in _compose()["services"].items():
        if name in ONE_SHOT:
            # Retried a few times if it fails; never restarted once done; no health to report.
            assert re.fullmatch(r"on-failure:\d+", service["restart"]), name
            assert service["healthcheck"] == {"disable": True}, name
            continue
        assert service["restart"] == "unless-stopped", name
        check = service["healthcheck"]
        assert check["test"][0] == "CMD" and len(check["test"]) > 1, name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_the_hubs_report_health_through_the_grpc_health_service() -> None:
    services = _compose()["services"]
    hubs = {name: s for name, s in services.items() if name.startswith("hub-")}
    for name, service in hubs.items():
        test = service["healthcheck"]["test"]
        assert test[:3] == ["CMD", "jembatan", "health"], name
        args = build_parser().parse_args(test[2:])
        # The replica's own listener, over loopback (which the hub certificate names).
        port = _flag(service["command"], "--listen").rsplit(":", 1)[1]
        assert args.hub == f"127.0.0.1:{port}", name
        assert args.service == "", name  # the hub as a whole
    # The image's own HEALTHCHECK is the same probe.
    (healthcheck,) = [line for line in _dockerfile() if line.startswith("HEALTHCHECK ")]
    probe = healthcheck.split(" CMD ", 1)[1]
    assert yaml.safe_load(probe)[:2] == ["jembatan", "health"]
    build_parser().parse_args(yaml.safe_load(probe)[1:])


def test_the_balancer_health_checks_each_replica_through_grpc_health_over_mtls() -> None:
    services = _compose()["services"]
    envoy = yaml.safe_load((ROOT / "deploy" / "envoy.yaml").read_text())
    (cluster,) = envoy["static_resources"]["clusters"]
    (check,) = cluster["health_checks"]
    assert "grpc_health_check" in check and "tcp_health_check" not in check
    assert check["grpc_health_check"]["service_name"] == ""
    # gRPC health checks need HTTP/2 on the cluster (Envoy refuses the config otherwise).
    options = cluster["typed_extension_protocol_options"]
    http = options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert "http2_protocol_options" in http["explicit_http_config"]
    # The health check, and only it, speaks TLS: client traffic is passed through untouched.
    assert "transport_socket" not in cluster
    (match,) = cluster["transport_socket_matches"]
    assert match["match"] == check["transport_socket_match_criteria"]
    tls = match["transport_socket"]["typed_config"]["common_tls_context"]
    assert tls["alpn_protocols"] == ["h2"]
    files = [
        tls["tls_certificates"][0]["certificate_chain"]["filename"],
        tls["tls_certificates"][0]["private_key"]["filename"],
        tls["validation_context"]["trusted_ca"]["filename"],
    ]
    # Read from the balancer's own volume, which the set-up service fills.
    lb_mounts = _volumes(services["lb"])
    (mount,) = [m for source, m in lb_mounts.items() if source == "lb-tls"]
    setup_target = _volumes(services["setup"])["lb-tls"]
    script = services["setup"]["command"]
    for path in files:
        assert Path(path).parent == Path(mount), path
        assert Path(path).name in {"cert.pem", "key.pem", "ca.crt"}
    assert f"{setup_target}/" in script
    # The hub certificate names what the balancer checks it for.
    (san,) = tls["validation_context"]["match_typed_subject_alt_names"]
    assert f"--dns {san['matcher']['exact']}" in script
    # The container's own health check asks Envoy's admin port, which listens on loopback.
    admin = envoy["admin"]["address"]["socket_address"]
    assert admin["address"] == "127.0.0.1"
    assert f"/dev/tcp/127.0.0.1/{admin['port_value']}" in services["lb"]["healthcheck"]["test"][-1]


def test_the_ca_key_is_mounted_only_where_certificates_are_issued() -> None:
    compose = _compose()
    assert CA_KEY_VOLUME in compose["volumes"]
    holders = {name for name, s in compose["services"].items() if CA_KEY_VOLUME in _volumes(s)}
    assert holders == {"setup"}
    # Nor is it reachable another way: no service mounts the repository, a host path or the
    # Docker socket.
    for name, service in compose["services"].items():
        for source in _volumes(service):
            assert source.startswith("./deploy/") or source in compose["volumes"], (name, source)


def _run_setup(script: str, home: Path, ca: Path, lb: Path, bin_dir: Path) -> None:
    """The set-up service's script, on this machine: the container's paths mapped to
    temporary ones and `jembatan` to this checkout's, SQLite instead of PostgreSQL."""
    published = home.parent / "published"
    published.mkdir(exist_ok=True)
    mapped = (
        script.replace("/home/jembatan", str(home))
        .replace("/srv/jembatan-ca", str(ca))
        .replace("/srv/jembatan-lb", str(lb))
        .replace("/published/", f"{published}/")
    )
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "JEMBATAN_HOME": str(home),
        "PYTHONPATH": str(ROOT),
    }
    shell, flag, body = shlex.split(mapped)
    done = subprocess.run(
        [shell, flag, body], env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_set_up_leaves_the_ca_key_only_on_its_own_volume(tmp_path: Path) -> None:
    from cryptography import x509

    from hub.home import HubHome
    from hub.pki import CertificateAuthority
    from jembatan.keys import load_cert_pem, load_key_pem

    setup = _compose()["services"]["setup"]
    home, ca, lb, bin_dir = (tmp_path / n for n in ("home", "ca", "lb", "bin"))
    for directory in (home, ca, lb, bin_dir):
        directory.mkdir()
    shim = bin_dir / "jembatan"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m hub.cli "$@"\n')
    shim.chmod(0o755)
    _run_setup(setup["command"], home, ca, lb, bin_dir)

    hub_home = HubHome(home)
    # The home (every hub's and agency's volume) holds no private key of the CA: only a
    # link to the CA volume, which resolves nowhere the CA volume is not mounted.
    link = hub_home.ca_dir / "ca.key"
    assert link.is_symlink() and Path(link.readlink()) == ca / "ca.key"
    authority = CertificateAuthority.load(hub_home.ca_dir)
    ca_key_pem = (ca / "ca.key").read_bytes()
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert path.read_bytes() != ca_key_pem, path
    # The balancer's credentials: its member certificate, issued by the CA, its key, the CA
    # certificate — and they are not left in the shared home.
    assert sorted(p.name for p in lb.iterdir()) == ["ca.crt", "cert.pem", "key.pem"]
    balancer = load_cert_pem((lb / "cert.pem").read_bytes())
    assert balancer.issuer == authority.certificate.subject
    key = load_key_pem((lb / "key.pem").read_bytes())
    assert key.public_key() == balancer.public_key()
    assert not (hub_home.member_dir("ID/GOV/SPLP/balancer") / "key.pem").exists()
    names = balancer.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier)
    # The hub certificate names the balancer Envoy checks it for.
    hub_names = load_cert_pem(hub_home.hub_cert.read_bytes()).extensions
    dns = hub_names.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"lb", "hub-1", "hub-2", "127.0.0.1", "localhost"} <= set(
        dns.get_values_for_type(x509.DNSName)
    ) | {str(ip) for ip in dns.get_values_for_type(x509.IPAddress)}

    # Run again (a restart): nothing changes.
    before = {p: p.read_bytes() for p in [*home.rglob("*"), *ca.iterdir()] if p.is_file()}
    _run_setup(setup["command"], home, ca, lb, bin_dir)
    assert before == {p: p.read_bytes() for p in before}

    # Where the CA volume is mounted (the set-up service), certificates are still issued ...
    jembatan = [str(shim), "--home", str(home)]
    run = {"capture_output": True, "text": True, "timeout": 120}
    issued = subprocess.run([*jembatan, "pki", "enrol", "--member", "ID/GOV/DINSOS/x"], **run)
    assert issued.returncode == 0, issued.stderr
    # ... and where it is not (a hub's or the agencies' container), they cannot be.
    (ca / "ca.key").rename(tmp_path / "elsewhere.key")
    refused = subprocess.run([*jembatan, "pki", "enrol", "--member", "ID/GOV/DINSOS/y"], **run)
    assert refused.returncode == 2
    assert refused.stderr.startswith("jembatan: ") and refused.stderr.count("\n") == 1
    assert "ca.key" in refused.stderr


def test_the_image_runs_as_no_root_and_installs_from_the_lock() -> None:
    lines = _dockerfile()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "the image sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    (created,) = [line for line in lines if "useradd" in line]
    assert f"--uid {user}" in created
    installs = [line for line in lines if "pip install" in line]
    # The dependencies exactly as the lock pins them, hashes checked; then the project alone.
    assert len(installs) == 2
    assert "--require-hashes -r requirements.lock" in installs[0]
    assert installs[1].endswith("pip install --no-cache-dir --no-deps .")
    assert lines.index(installs[0]) < lines.index(installs[1])
    assert "COPY requirements.lock ./" in lines


def _lock() -> dict[str, tuple[str, str, list[str]]]:
    """Name → (version, marker, hashes) of each requirement in requirements.lock."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pinned = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _, hashes = line.partition(" --hash=")
        name_version, _, marker = requirement.partition(";")
        name, _, version = name_version.strip().partition("==")
        assert version, f"not pinned: {line}"
        found = re.findall(r"sha256:[0-9a-f]{64}", hashes)
        pinned[_normal(name)] = (version, marker.strip(), found)
    return pinned


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_pins_and_hashes_every_dependency_the_project_declares() -> None:
    from packaging.requirements import Requirement

    lock = _lock()
    for name, (_, _, hashes) in lock.items():
        assert hashes, f"{name} has no hash"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for text in declared:
        requirement = Requirement(text)
        name = _normal(requirement.name)
        assert name in lock, f"{text} is not in requirements.lock: run make lock"
        version = lock[name][0]
        assert requirement.specifier.contains(version), f"{text} but the lock has {version}"
    # The extras the project asks for bring their packages.
    assert {"cryptography", "psycopg-binary"} <= set(lock)


def test_the_build_context_leaves_keys_and_the_local_tree_out() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for must in (".git", ".venv", ".tools", "jembatan-home", "*.pem", "*.key", "tests"):
        assert must in ignored, must

    def excluded(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, pattern.lstrip("/").removeprefix("**/"))
            or fnmatch.fnmatch(path.split("/")[0], pattern.lstrip("/"))
            for pattern in ignored
        )

    for line in _dockerfile():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert not excluded(source), f"the Dockerfile copies {source}, which is ignored"


def test_every_file_the_packages_need_is_installed_with_them() -> None:
    """A file the code reads beside it (templates, YAML) is declared package data, so the
    image's non-editable install has it too."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = project["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(
        ["git", "ls-files", *project["tool"]["mypy"]["packages"]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in tracked:
        if path.endswith((".py", ".pyi")) or path.endswith("py.typed"):
            continue
        covered = False
        for package, patterns in package_data.items():
            base = package.replace(".", "/")
            if path.startswith(base + "/"):
                relative = path[len(base) + 1 :]
                covered |= any(
                    fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.replace("**/", ""))
                    for p in patterns
                )
        assert covered, f"{path} is not package data in pyproject.toml"
