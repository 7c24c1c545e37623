"""The civil registry's family cards (kartu keluarga) and the phone numbers it holds.

What the Perlinsos portal asks of Dukcapil before any exchange through the hub: who is on
the citizen's family card, and the phone number registered to the NIK (SIM cards in
Indonesia are registered against a NIK and a family-card number), where the one-time
sign-in code goes. In the pilot this is Dukcapil's partner service to Kemensos; here it
is read from the same synthetic villages the Dukcapil simulator serves (``Population``
with the same seed and scale), as the registry has them: members it records as dead or
moved away are not on the card any more.

Phone numbers are derived from the NIK with a hash, not drawn from the villages' random
generators, so adding them changed no household. They start ``0812-0`` followed by seven
digits, a range no real Telkomsel number of the pilot uses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from connectors.population import Population
from connectors.population.model import Relationship

__all__ = ["CardMember", "FamilyCard", "family_card", "registered_phone"]


@dataclass(frozen=True, slots=True)
class CardMember:
    nik: str
    name: str
    relationship: Relationship
    birth_year: int

    def __repr__(self) -> str:
        # The NIK stays out of logs and tracebacks that print a member.
        return f"CardMember(name={self.name!r}, relationship={self.relationship!r})"


@dataclass(frozen=True, slots=True)
class FamilyCard:
    """One family card as the registry holds it: the head first."""

    kk_number: str
    village: str
    members: tuple[CardMember, ...]
    phone: str  # the number registered to the NIK that was asked about

    def __repr__(self) -> str:
        return f"FamilyCard(village={self.village!r}, members={len(self.members)})"


def registered_phone(nik: str) -> str:
    """The phone number the registry holds for ``nik`` (synthetic, see the module)."""
    digest = hashlib.sha256(b"jembatan-sim-phone:" + nik.encode()).digest()
    return "08120" + str(int.from_bytes(digest[:8], "big") % 10**7).zfill(7)


def family_card(population: Population, nik: str) -> FamilyCard | None:
    """The family card ``nik`` is on, as Dukcapil records it; None for an unknown NIK, or
    one the registry has recorded as dead or moved away."""
    found = population.by_nik(nik)
    if found is None:
        return None
    household, _person = found
    registry = population.dukcapil
    record = registry.get(nik)
    if record is None or not record.alive or record.moved_out:
        return None
    members = tuple(
        CardMember(p.nik, p.name, p.relationship, p.birth_date.year)
        for p in household.members
        if (r := registry.get(p.nik)) is not None and r.alive and not r.moved_out
    )
    return FamilyCard(household.kk_number, household.village.name, members, registered_phone(nik))
