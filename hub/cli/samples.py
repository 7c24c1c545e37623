"""``jembatan samples``: citizens of the simulated villages a first query can ask about.

Simulator data only: the NIKs are those of the synthetic population ``jembatan sim`` serves
(same seed and scale, same people), printed on the terminal for a newcomer to copy.
"""

from __future__ import annotations

import argparse

from hub.cli.common import add_command

# Where each pilot agency keeps its register in the population (the banks' is "bank").
REGISTERS = {
    "dtks": "dtks",
    "dukcapil": "dukcapil",
    "bpjstk": "bpjstk",
    "bpjs_kesehatan": "bpjs_kesehatan",
    "atr_bpn": "atr_bpn",
    "polri": "polri",
    "himbara": "bank",
}


def cmd_samples(args: argparse.Namespace) -> None:
    from connectors.bpjstk.samples import sample_niks
    from connectors.population import generate
    from connectors.simulation.pilot import PILOT_AGENCIES, simulated_agency

    population = generate(args.seed, scale=args.scale)
    cases = sample_niks(population)
    # The BPJS Ketenagakerjaan cases first (the README's query), then heads in order.
    niks = [cases.employed, cases.recently_terminated, cases.unregistered]
    niks += [h.head.nik for h in population.households if h.head.nik not in niks]
    print(f"citizens of the simulated villages (seed {args.seed}, scale {args.scale}):")
    print(f"{'NIK':<17} {'village':<8} {'role':<6} agencies holding a record")
    for nik in niks[: args.count]:
        found = population.by_nik(nik)
        assert found is not None
        household, person = found
        held = [name for name in PILOT_AGENCIES if nik in getattr(population, REGISTERS[name])]
        role = "head" if person is household.head else "member"
        print(f"{nik:<17} {household.village.name:<8} {role:<6} {' '.join(held) or '-'}")
    print("\nthe services each agency answers (policy explain says what is released):")
    for name in PILOT_AGENCIES:
        print(f"  {name:<15} {', '.join(simulated_agency(name).services)}")


def add_samples_command(commands: argparse._SubParsersAction) -> None:
    samples = add_command(
        commands,
        "samples",
        "sample citizens of the simulated villages, with the agencies that hold each",
        cmd_samples,
        description="Sample citizens of the simulated villages (Kemiren, Lateng) and which"
        " agencies hold a record of each, for a first query that releases data; the same"
        " people `jembatan sim` serves with the same --seed and --scale.",
        home_note=False,
    )
    samples.add_argument("--seed", type=int, default=2026, help="synthetic population seed")
    samples.add_argument(
        "--scale", type=float, default=1.0, help="population scale (1: the two villages)"
    )
    samples.add_argument("--count", type=int, default=5, help="how many citizens to show")
