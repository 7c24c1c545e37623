"""``jembatan sim``: run simulated agencies, each with its connector."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from hub.cli.common import (
    CliError,
    add_command,
    add_tracing_option,
    home,
    listen_address,
    run_async,
    split,
    start_tracing,
    until_signalled,
)

if TYPE_CHECKING:
    from connectors.sdk import UnsafeMisbehaviour

T = TypeVar("T")


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

    kinds = set(split(value))
    if not kinds or kinds - {"extra-fields", "wrong-key"}:
        raise CliError(f"misbehaviour {value!r}: expected extra-fields and/or wrong-key")
    return UnsafeMisbehaviour(extra_fields="extra-fields" in kinds, wrong_key="wrong-key" in kinds)


def cmd_sim(args: argparse.Namespace) -> None:
    from connectors.population import generate
    from connectors.simulation.faults import FaultSettings
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency
    from hub.dev.agencies import register, start_agencies

    hub_home = home(args)
    names = args.agencies or list(PILOT_AGENCIES)
    for name in names:
        simulated_agency(name)  # an unknown name fails here, before anything starts
    faults = _per_agency(args.fault, FaultSettings.parse, "fault")
    misbehaviour = _per_agency(args.misbehave, _misbehaviour, "misbehaviour")
    host, _, port = args.listen.rpartition(":")
    start_tracing(args, "jembatan-connectors")

    async def run() -> None:
        population = generate(args.seed, scale=args.scale)
        running = await start_agencies(
            hub_home,
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
                    register(hub_home, agency, advertise_host=args.advertise)
                print(f"  {agency.agency.title}: connector {agency.endpoint}, API {agency.sim.url}")
            print(
                f"jembatan sim: {len(running)} agencies over {len(population.households)} "
                f"households; first connector listening on {running[0].endpoint}"
            )
            await until_signalled()
        finally:
            for agency in running:
                await agency.stop()

    run_async(run())


def add_sim_command(commands: argparse._SubParsersAction) -> None:
    sim = add_command(
        commands,
        "sim",
        "run simulated agencies, each with its connector",
        cmd_sim,
        description="Run simulated agencies over a synthetic population: each an agency API"
        " and its connector, on consecutive ports from --listen and --sim-port (their"
        " certificates from the hub home: enrol the agencies first). Ctrl-C stops them.",
    )
    sim.add_argument(
        "agencies",
        nargs="*",
        metavar="AGENCY",
        help="agencies to run, by short name, e.g. bpjstk polri (default: all of the pilot)",
    )
    sim.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where the first connector listens, the next ones on the ports after it;"
        " port 0: any free ports",
    )
    sim.add_argument(
        "--sim-port",
        type=int,
        default=0,
        metavar="PORT",
        help="first agency API port; 0: any free ports",
    )
    sim.add_argument("--seed", type=int, default=2026, help="synthetic population seed")
    sim.add_argument(
        "--scale", type=float, default=1.0, help="population scale (1: the two villages)"
    )
    sim.add_argument(
        "--register", action="store_true", help="route their services in the hub's registry"
    )
    sim.add_argument(
        "--advertise",
        metavar="HOST",
        help="the host the hub dials the connectors at (default: the --listen host)",
    )
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="AGENCY=SPEC",
        help="inject faults into an agency's API; SPEC: latency=MS, error=P, timeout=P,"
        " malformed=P (P: a probability), extra (unasked-for fields), seed=N, comma-separated,"
        " e.g. polri=latency=50,error=0.1 (repeatable)",
    )
    sim.add_argument(
        "--misbehave",
        action="append",
        default=[],
        metavar="AGENCY=KIND",
        help="UNSAFE, simulation only: a connector that lies (extra-fields, wrong-key; repeatable)",
    )
    add_tracing_option(sim)
