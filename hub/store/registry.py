"""The registry's tables: member certificates and their renewal chains, service routes and
their versioned catalogues, and the enrolments and connector registrations waiting for an
administrator's decision."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hub.store.base import (
    APPROVED,
    PENDING,
    REJECTED,
    CatalogueVersion,
    ConnectorRegistration,
    Enrolment,
    MemberCertificate,
    ServiceRoute,
)
from hub.store.database import Cursor, Tables, from_row, to_row

ENROLMENT_COLUMNS = (
    "request_id, member_id, roles, csr_pem, submitter, submitted_at, state, decided_by,"
    " decided_at, reason, serial"
)
REGISTRATION_COLUMNS = (
    "registration_id, agency_id, endpoint, services, submitted_at, state, decided_by,"
    " decided_at, reason, versions"
)
_CERT_SELECT = (
    "SELECT serial, member_id, cert_pem, not_after, revoked_at, renewed_from"
    " FROM member_certificates"
)
# The serials renewed from ``?``, transitively (the serial itself included).
_RENEWAL_CHAIN = (
    "WITH RECURSIVE chain (serial) AS"
    " (SELECT serial FROM member_certificates WHERE serial = ? UNION"
    " SELECT m.serial FROM member_certificates m JOIN chain c ON m.renewed_from = c.serial)"
    " SELECT serial FROM chain"
)
_SERVICE_SELECT = "SELECT service_id, agency_id, endpoint, catalogue, enabled FROM services"


def enrolment_from_row(row: Sequence[Any]) -> Enrolment:
    return from_row(Enrolment, row, roles=lambda text: tuple(json.loads(text)), csr_pem=bytes)


def registration_from_row(row: Sequence[Any]) -> ConnectorRegistration:
    return from_row(ConnectorRegistration, row)


def cert_from_row(row: Sequence[Any]) -> MemberCertificate:
    return from_row(MemberCertificate, row, cert_pem=bytes)


def route_from_row(row: Sequence[Any]) -> ServiceRoute:
    return from_row(ServiceRoute, row, enabled=bool)


class RegistryTables(Tables):
    """Members and services (``RegistryStore``'s part of them) and their administration
    (``AdministrationStore``)."""

    def generation(self) -> int:
        """Changes whenever a certificate or a service changes, from any process."""
        return int(self._db.execute("SELECT value FROM registry_generation").fetchone()[0])

    # members
    def member_certificate(self, serial: str) -> MemberCertificate | None:
        row = self._db.execute(_CERT_SELECT + " WHERE serial = ?", (serial,)).fetchone()
        return cert_from_row(row) if row else None

    def add_member_certificate(self, cert: MemberCertificate) -> None:
        self._db.execute(
            "INSERT INTO member_certificates (serial, member_id, cert_pem, not_after,"
            " renewed_from) VALUES (?, ?, ?, ?, ?)",
            (cert.serial, cert.member_id, cert.cert_pem, cert.not_after, cert.renewed_from),
        )

    def add_renewal(self, cert: MemberCertificate) -> bool:
        # In the registry's write transaction, as revocation is: a renewal and a revocation
        # of its predecessor run one after the other, so either the renewal is in the chain
        # the revocation walks, or it sees the predecessor revoked and is not made.
        if cert.renewed_from is None:
            raise ValueError("a renewal names the certificate it renews")
        with self._db.transaction():
            predecessor = self._db.execute(
                "SELECT 1 FROM member_certificates WHERE serial = ? AND revoked_at IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM member_certificates WHERE renewed_from = ?)",
                (cert.renewed_from, cert.renewed_from),
            ).fetchone()
            if predecessor is None:
                return False
            self.add_member_certificate(cert)
            return True

    def renewal_of(self, serial: str) -> MemberCertificate | None:
        row = self._db.execute(_CERT_SELECT + " WHERE renewed_from = ?", (serial,)).fetchone()
        return cert_from_row(row) if row else None

    def revoke_certificate(self, serial: str, at: str, reason: str) -> list[str]:
        with self._db.transaction():
            cursor = self._db.execute(
                "UPDATE member_certificates SET revoked_at = ?, revocation_reason = ?"
                " WHERE serial = ? AND revoked_at IS NULL",
                (at, reason, serial),
            )
            if cursor.rowcount != 1:
                return []
            # Renewals of a revoked certificate go with it: whoever held its key may have
            # renewed onto a key of their own. Already revoked ones keep their own reason.
            renewed = [
                row[0]
                for row in self._db.execute(
                    f"SELECT serial FROM member_certificates WHERE serial IN ({_RENEWAL_CHAIN})"
                    " AND serial <> ? AND revoked_at IS NULL ORDER BY serial",
                    (serial, serial),
                )
            ]
            self._db.executemany(
                "UPDATE member_certificates SET revoked_at = ?, revocation_reason = ?"
                " WHERE serial = ?",
                [(at, reason, s) for s in renewed],
            )
            return [serial, *renewed]

    def member_certificates(self, member_id: str | None = None) -> list[MemberCertificate]:
        rows = (
            self._db.execute(_CERT_SELECT + " WHERE member_id = ? ORDER BY serial", (member_id,))
            if member_id
            else self._db.execute(_CERT_SELECT + " ORDER BY member_id, serial")
        )
        return [cert_from_row(row) for row in rows]

    # services
    def service(self, service_id: str) -> ServiceRoute | None:
        row = self._db.execute(_SERVICE_SELECT + " WHERE service_id = ?", (service_id,)).fetchone()
        return route_from_row(row) if row else None

    def put_service(self, route: ServiceRoute) -> None:
        self._db.execute(
            "INSERT INTO services (service_id, agency_id, endpoint, catalogue, enabled)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_id) DO UPDATE SET"
            " agency_id = excluded.agency_id, endpoint = excluded.endpoint,"
            " catalogue = excluded.catalogue, enabled = excluded.enabled",
            (
                route.service_id,
                route.agency_id,
                route.endpoint,
                route.catalogue_json,
                route.enabled,
            ),
        )

    def services(self) -> list[ServiceRoute]:
        return [
            route_from_row(r) for r in self._db.execute(_SERVICE_SELECT + " ORDER BY service_id")
        ]

    def set_service_enabled(self, service_id: str, enabled: bool) -> bool:
        cursor = self._db.execute(
            "UPDATE services SET enabled = ? WHERE service_id = ?", (enabled, service_id)
        )
        return cursor.rowcount == 1

    # versioned field catalogues
    def add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        """The service's catalogue version after recording ``catalogue_json``: a new one
        only if it differs from the current catalogue (re-registering the same is no change)."""
        with self._db.transaction():
            return self._add_catalogue_version(service_id, catalogue_json, at)

    def _add_catalogue_version(self, service_id: str, catalogue_json: str, at: str) -> int:
        version = self.next_catalogue_version(service_id, catalogue_json)
        self._db.execute(
            "INSERT INTO service_catalogues (service_id, version, catalogue, approved_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (service_id, version, catalogue_json, at),
        )
        return version

    def next_catalogue_version(self, service_id: str, catalogue_json: str) -> int:
        """The version ``catalogue_json`` would have: the current one if it is the same
        catalogue, else the next."""
        current = self.catalogue(service_id)
        if current is None:
            return 1
        same = json.loads(current.catalogue_json) == json.loads(catalogue_json)
        return current.version if same else current.version + 1

    def catalogue(self, service_id: str, version: int | None = None) -> CatalogueVersion | None:
        """One version of the service's catalogue; the latest when ``version`` is None."""
        query = "SELECT service_id, version, catalogue, approved_at FROM service_catalogues"
        row = (
            self._db.execute(
                query + " WHERE service_id = ? ORDER BY version DESC LIMIT 1", (service_id,)
            ).fetchone()
            if version is None
            else self._db.execute(
                query + " WHERE service_id = ? AND version = ?", (service_id, version)
            ).fetchone()
        )
        return from_row(CatalogueVersion, row, version=int) if row else None

    def current_catalogue_versions(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT service_id, MAX(version) FROM service_catalogues GROUP BY service_id"
        )
        return {service_id: int(version) for service_id, version in rows}

    # enrolments
    def add_enrolment(self, enrolment: Enrolment) -> None:
        self._db.execute(
            f"INSERT INTO enrolments ({ENROLMENT_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            to_row(enrolment, roles=lambda roles: json.dumps(list(roles))),
        )

    def enrolment(self, request_id: str) -> Enrolment | None:
        row = self._db.execute(
            f"SELECT {ENROLMENT_COLUMNS} FROM enrolments WHERE request_id = ?", (request_id,)
        ).fetchone()
        return enrolment_from_row(row) if row else None

    def enrolments(self, state: str | None = None) -> list[Enrolment]:
        rows = self._requests("enrolments", ENROLMENT_COLUMNS, "request_id", state)
        return [enrolment_from_row(row) for row in rows]

    def approve_enrolment(
        self, request_id: str, decided_by: str, at: str, cert: MemberCertificate
    ) -> bool:
        """Mark it approved and register ``cert`` together; False if no longer pending."""
        with self._db.transaction():
            if not self._decide("enrolments", "request_id", request_id, APPROVED, decided_by, at):
                return False
            self._db.execute(
                "UPDATE enrolments SET serial = ? WHERE request_id = ?", (cert.serial, request_id)
            )
            self.add_member_certificate(cert)
            return True

    def reject_enrolment(self, request_id: str, decided_by: str, at: str, reason: str) -> bool:
        return self._decide(
            "enrolments", "request_id", request_id, REJECTED, decided_by, at, reason
        )

    # connector registrations
    def add_connector_registration(self, registration: ConnectorRegistration) -> None:
        self._db.execute(
            f"INSERT INTO connector_registrations ({REGISTRATION_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            to_row(registration),
        )

    def connector_registration(self, registration_id: str) -> ConnectorRegistration | None:
        row = self._db.execute(
            f"SELECT {REGISTRATION_COLUMNS} FROM connector_registrations WHERE registration_id = ?",
            (registration_id,),
        ).fetchone()
        return registration_from_row(row) if row else None

    def connector_registrations(self, state: str | None = None) -> list[ConnectorRegistration]:
        rows = self._requests(
            "connector_registrations", REGISTRATION_COLUMNS, "registration_id", state
        )
        return [registration_from_row(row) for row in rows]

    def approve_connector_registration(
        self, registration_id: str, decided_by: str, at: str
    ) -> dict[str, int] | None:
        """Route its services and version their catalogues together; the version of each,
        or None if no longer pending. A service's enabled state survives re-registration."""
        with self._db.transaction():
            registration = self.connector_registration(registration_id)
            if registration is None or not self._decide(
                "connector_registrations",
                "registration_id",
                registration_id,
                APPROVED,
                decided_by,
                at,
            ):
                return None
            versions: dict[str, int] = {}
            for service_id, fields in json.loads(registration.services_json).items():
                catalogue_json = json.dumps(fields)
                existing = self.service(service_id)
                self.put_service(
                    ServiceRoute(
                        service_id,
                        registration.agency_id,
                        registration.endpoint,
                        catalogue_json,
                        existing.enabled if existing else True,
                    )
                )
                versions[service_id] = self._add_catalogue_version(service_id, catalogue_json, at)
            self._db.execute(
                "UPDATE connector_registrations SET versions = ? WHERE registration_id = ?",
                (json.dumps(versions), registration_id),
            )
            return versions

    def reject_connector_registration(
        self, registration_id: str, decided_by: str, at: str, reason: str
    ) -> bool:
        return self._decide(
            "connector_registrations",
            "registration_id",
            registration_id,
            REJECTED,
            decided_by,
            at,
            reason,
        )

    def _requests(self, table: str, columns: str, key: str, state: str | None) -> Cursor:
        """The enrolments or registrations in ``table`` (in ``state``, if given), in the
        order they were submitted."""
        query = f"SELECT {columns} FROM {table}"
        order = f" ORDER BY submitted_at, {key}"
        if state:
            return self._db.execute(query + " WHERE state = ?" + order, (state,))
        return self._db.execute(query + order)

    def _decide(
        self,
        table: str,
        key: str,
        value: str,
        state: str,
        decided_by: str,
        at: str,
        reason: str = "",
    ) -> bool:
        # Only a pending request changes: two administrators deciding at once cannot both win.
        cursor = self._db.execute(
            f"UPDATE {table} SET state = ?, decided_by = ?, decided_at = ?, reason = ?"
            f" WHERE {key} = ? AND state = ?",
            (state, decided_by, at, reason, value, PENDING),
        )
        return cursor.rowcount == 1
