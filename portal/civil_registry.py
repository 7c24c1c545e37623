"""Where the portal learns a citizen's family card and registered phone number: the civil
registry (Dukcapil), before any exchange through the hub.

Only the simulated registry exists (``connectors.dukcapil.family``, over the same synthetic
villages, seed and scale the agencies' simulator serves); a real deployment puts Dukcapil's
partner service behind the same one-method protocol.
"""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

from connectors.dukcapil.family import FamilyCard, family_card
from connectors.population import Population, generate

__all__ = ["CivilRegistry", "FamilyCard", "SimulatedCivilRegistry"]


class CivilRegistry(Protocol):
    def family_card(self, nik: str) -> FamilyCard | None:
        """The family card ``nik`` is on (with the phone registered to ``nik``), or None."""
        ...


class SimulatedCivilRegistry:
    """The synthetic villages' registry, generated on first use."""

    def __init__(self, seed: int = 2026, scale: float = 1.0) -> None:
        self._seed, self._scale = seed, scale

    @cached_property
    def _population(self) -> Population:
        return generate(self._seed, scale=self._scale)

    def family_card(self, nik: str) -> FamilyCard | None:
        return family_card(self._population, nik)
