"""``jembatan policy``: check, test and explain the release-policy files (offline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    ELIGIBILITY,
    PURPOSE,
    CliError,
    add_actions,
    add_command,
    database,
)
from hub.home import HubHome

if TYPE_CHECKING:
    from policies.lint import Catalogues


def _policy_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.dir) if args.dir else None


def _catalogues(
    args: argparse.Namespace, lint_home: str | None = None
) -> tuple[Catalogues, set[str] | None, str]:
    """The catalogues (and members) to lint against: the hub registry of --home, else of the
    global home if it has one, else the pilot connectors' own catalogues."""
    import json

    from connectors.sdk.agency import FieldSpec
    from connectors.simulation.pilot import pilot_catalogues
    from hub.store import open_store

    home = HubHome(Path(lint_home or args.home), database_url=database(args))
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
    if lint_home:
        raise CliError(f"--home {lint_home}: no hub registry with services there")
    return pilot_catalogues(), None, "the pilot connectors' catalogues"


def catalogues_for(args: argparse.Namespace) -> Catalogues:
    """The field catalogues of the services the hub home routes, else the pilot's."""
    return _catalogues(args)[0]


def cmd_policy_lint(args: argparse.Namespace) -> None:
    from policies.lint import lint

    catalogues, members, against = _catalogues(args, args.lint_home)
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
    # No rule for it at all: a typo, or a service no hub routes? Say which.
    ruled = {rule.service for rule in policies.rules()}
    if args.service not in ruled and args.service not in catalogues_for(args):
        print(
            f"not released: unknown service {args.service}: no policy rule and no service"
            " catalogue names it"
        )
        sys.exit(1)
    explanation = explain(policies, args.client, args.purpose, args.service, args.field)
    print(explanation.text)
    if not explanation.released:
        sys.exit(1)


# --- parser ------------------------------------------------------------------------------


def _policy_directory() -> argparse.ArgumentParser:
    """A parent parser: the policy directory every action reads."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--dir",
        metavar="DIR",
        help="the policy directory (default: the shipped policies)",
    )
    return parent


def add_policy_commands(commands: argparse._SubParsersAction) -> None:
    policy = add_command(
        commands,
        "policy",
        "check, test and explain the policy files",
        description="Check, test and explain the release-policy files, without a running hub.",
        home_note=False,
    )
    actions = add_actions(policy, "policy_command")

    lint = add_command(
        actions,
        "lint",
        "check policies against the services' field catalogues (exit 1 on errors)",
        cmd_policy_lint,
        parents=[_policy_directory()],
        description="Check policies against the services' field catalogues: one line per"
        " finding, FILE:LINE: error|warning: problem (exit 1 on errors).",
        home_note=False,
    )
    lint.add_argument(
        "--home",
        dest="lint_home",
        metavar="DIR",
        help="hub home whose registry holds the catalogues (default: the global --home if it "
        "has one, else the pilot connectors' catalogues)",
    )

    add_command(
        actions,
        "test",
        "run the policy test cases in DIR/tests/*.yaml (exit 1 on a failure)",
        cmd_policy_test,
        parents=[_policy_directory()],
        home_note=False,
    )

    explain = add_command(
        actions,
        "explain",
        "say why a field is or is not released (exit 1 when it is not)",
        cmd_policy_explain,
        parents=[_policy_directory()],
        description="Say why a field is or is not released to a client for a purpose, naming"
        " the rules (exit 1 when it is not).",
        home_note=False,
    )
    explain.add_argument(
        "--client", default=ELIGIBILITY, metavar="MEMBER_ID", help="the member asking"
    )
    explain.add_argument("--purpose", default=PURPOSE, help="the purpose code it asks for")
    explain.add_argument(
        "--service",
        required=True,
        metavar="SERVICE_ID",
        help="the service, e.g. ID/GOV/BPJSTK/wages/employment",
    )
    explain.add_argument("--field", required=True, help="the field name")
