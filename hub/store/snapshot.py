"""The registry as the pipeline reads it: certificates and services held in memory,
refreshed from storage whenever its generation changes.

One exchange costs one generation read instead of a lookup per stage, and a revocation
written by any process (the CLI, another replica) is still seen by the very next call,
because every exchange starts with ``refresh`` (``update`` from the event loop: the read
then runs where the store's calls do, ``hub.store.offloop``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Protocol

from hub.store.base import ConsentRecord, MemberCertificate, ServiceRoute
from hub.store.offloop import StoreCalls


class _Source(Protocol):
    def generation(self) -> int: ...

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]: ...

    def services(self) -> list[ServiceRoute]: ...

    def consent(self, consent_id: str) -> ConsentRecord | None: ...


@dataclass(frozen=True)
class _View:
    """One generation of the registry, replaced whole: a reader never sees half of two."""

    generation: int = -1
    certificates: dict[str, MemberCertificate] = field(default_factory=dict)
    valid_by_member: dict[str, list[MemberCertificate]] = field(default_factory=dict)
    services: dict[str, ServiceRoute] = field(default_factory=dict)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)


class RegistrySnapshot:
    def __init__(self, source: _Source, calls: StoreCalls | None = None) -> None:
        self._source = source
        self._calls = calls or StoreCalls()
        self._view = _View()
        # Refreshes may run in several worker threads at once: one reloads, the others
        # wait for it and find it done.
        self._reloading = threading.Lock()

    def refresh(self) -> None:
        generation = self._source.generation()
        if generation == self._view.generation:
            return
        with self._reloading:
            # Generations only grow: a view at least this new, loaded meanwhile, will do.
            if self._view.generation >= generation:
                return
            # Read the generation first: a change racing with the reload bumps it again,
            # so the next refresh reloads once more rather than keeping a stale view.
            certificates = self._source.member_certificates()
            valid_by_member: dict[str, list[MemberCertificate]] = {}
            for cert in certificates:
                if not cert.revoked:
                    valid_by_member.setdefault(cert.member_id, []).append(cert)
            services = {s.service_id: s for s in self._source.services()}
            self._view = _View(
                generation,
                {c.serial: c for c in certificates},
                valid_by_member,
                services,
                # Parsed once per generation, not once per query.
                {
                    s.service_id: frozenset(spec["name"] for spec in json.loads(s.catalogue_json))
                    for s in services.values()
                },
            )

    async def update(self) -> None:
        """``refresh``, from the event loop."""
        await self._calls(self.refresh)

    def member_certificate(self, serial: str) -> MemberCertificate | None:
        return self._view.certificates.get(serial)

    def valid_certificates(self, member_id: str) -> list[MemberCertificate]:
        """The member's unrevoked certificates (more than one while a renewal overlaps)."""
        return self._view.valid_by_member.get(member_id, [])

    def service(self, service_id: str) -> ServiceRoute | None:
        return self._view.services.get(service_id)

    def field_names(self, service_id: str) -> frozenset[str]:
        """The fields in the service's current catalogue (none for an unknown service)."""
        return self._view.fields.get(service_id, frozenset())

    def consent(self, consent_id: str) -> ConsentRecord | None:
        # Not cached: consents are many, and a revocation must bite on the next query.
        return self._source.consent(consent_id)

    async def read_consent(self, consent_id: str) -> ConsentRecord | None:
        """``consent``, from the event loop."""
        return await self._calls(self._source.consent, consent_id)
