"""The registry as the pipeline reads it: certificates and services held in memory,
refreshed from storage whenever its generation changes.

One exchange costs one generation read instead of a lookup per stage, and a revocation
written by any process (the CLI, another replica) is still seen by the very next call,
because every exchange starts with ``refresh``.
"""

from __future__ import annotations

import json
from typing import Protocol

from hub.store.base import ConsentRecord, MemberCertificate, ServiceRoute


class _Source(Protocol):
    def generation(self) -> int: ...

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]: ...

    def services(self) -> list[ServiceRoute]: ...

    def consent(self, consent_id: str) -> ConsentRecord | None: ...


class RegistrySnapshot:
    def __init__(self, source: _Source) -> None:
        self._source = source
        self._generation = -1
        self._certificates: dict[str, MemberCertificate] = {}
        self._services: dict[str, ServiceRoute] = {}
        self._fields: dict[str, frozenset[str]] = {}
        self._valid_by_member: dict[str, list[MemberCertificate]] = {}

    def refresh(self) -> None:
        generation = self._source.generation()
        if generation != self._generation:
            # Read the generation first: a change racing with the reload bumps it again,
            # so the next refresh reloads once more rather than keeping a stale view.
            certificates = self._source.member_certificates()
            self._certificates = {c.serial: c for c in certificates}
            self._valid_by_member = {}
            for cert in certificates:
                if not cert.revoked:
                    self._valid_by_member.setdefault(cert.member_id, []).append(cert)
            self._services = {s.service_id: s for s in self._source.services()}
            # Parsed once per generation, not once per query.
            self._fields = {
                s.service_id: frozenset(spec["name"] for spec in json.loads(s.catalogue_json))
                for s in self._services.values()
            }
            self._generation = generation

    def member_certificate(self, serial: str) -> MemberCertificate | None:
        return self._certificates.get(serial)

    def valid_certificates(self, member_id: str) -> list[MemberCertificate]:
        """The member's unrevoked certificates (more than one while a renewal overlaps)."""
        return self._valid_by_member.get(member_id, [])

    def service(self, service_id: str) -> ServiceRoute | None:
        return self._services.get(service_id)

    def field_names(self, service_id: str) -> frozenset[str]:
        """The fields in the service's current catalogue (none for an unknown service)."""
        return self._fields.get(service_id, frozenset())

    def consent(self, consent_id: str) -> ConsentRecord | None:
        # Not cached: consents are many, and a revocation must bite on the next query.
        return self._source.consent(consent_id)
