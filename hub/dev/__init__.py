"""Dev tooling, apart from production code: a whole stack on loopback (``devstack``), the
process launcher the tests and benchmarks share, simulated agencies beside a hub home, and
``jembatan demo``. Nothing in ``hub`` outside this package and the CLI imports it."""
