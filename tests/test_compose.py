"""No Docker engine runs where the tests run, so the compose file is checked statically:
every service runs a real `jembatan` command, and the files it builds from exist."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _help_ok(args: list[str]) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", *args, "--help"], capture_output=True, timeout=60
    )
    return result.returncode == 0


def test_every_service_command_is_a_real_jembatan_command() -> None:
    services = _compose()["services"]
    assert {"setup", "hub", "agencies"} <= set(services)
    for name, service in services.items():
        command = service["command"]
        if isinstance(command, str):  # sh -c "… jembatan … && jembatan …"
            shell, flag, script = shlex.split(command)
            assert (shell, flag) == ("sh", "-c")
            parts = [shlex.split(p) for p in re.split(r"&&|\|\||[()]", script)]
            invocations = [words for words in parts if words and words[0] == "jembatan"]
            assert invocations, f"{name}: runs no jembatan command"
            for words in invocations:
                subcommand = [w for w in words[1:3] if not w.startswith("-")]
                assert _help_ok(subcommand), f"{name}: {' '.join(words)}"
        else:
            assert _help_ok(command[:1]), f"{name}: {command}"
            # Every flag it passes must be one the command knows.
            result = subprocess.run(
                [sys.executable, "-m", "hub.cli", command[0], "--help"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            for flag in (w for w in command if w.startswith("--")):
                assert flag in result.stdout, f"{name}: unknown flag {flag}"


def test_the_image_is_built_from_files_that_exist() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    for line in dockerfile:
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    for service in _compose()["services"].values():
        assert service["build"] == "."


def test_hub_port_and_advertised_connector_route_agree() -> None:
    services = _compose()["services"]
    hub_listen = services["hub"]["command"][services["hub"]["command"].index("--listen") + 1]
    port = hub_listen.rsplit(":", 1)[1]
    assert services["hub"]["ports"] == [f"{port}:{port}"]
    # Metrics stay on the compose network: exposed to a scraper there, never published.
    hub = services["hub"]["command"]
    metrics_port = hub[hub.index("--metrics-listen") + 1].rsplit(":", 1)[1]
    assert services["hub"]["expose"] == [metrics_port]
    sim = services["agencies"]["command"]
    # The hub dials the agencies' container by name: the name is in their certificates.
    assert sim[sim.index("--advertise") + 1] == "agencies"
    setup = services["setup"]["command"]
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency

    for name in PILOT_AGENCIES:
        agency_id = simulated_agency(name).agency_id
        assert f"--member {agency_id} --dns agencies" in setup, agency_id
