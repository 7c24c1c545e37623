"""The state of one exchange as it passes the stages; each stage fills in its part."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from consent.artefact import ConsentArtefact
from hub.store.base import Nonce, ServiceRoute
from jembatan.v1 import common_pb2, connector_pb2, exchange_pb2
from policies import Decision


@dataclass(frozen=True, slots=True)
class Peer:
    """What mTLS proved about the caller: its certificate, as PEM."""

    cert_pem: bytes | None


@dataclass(slots=True)
class Exchange:
    # The request exactly as received: it is decoded by a stage, so that even bytes that
    # are no QueryRequest get a precise refusal and an audit record.
    raw: bytes
    peer: Peer
    received_at: float
    # decode
    request: exchange_pb2.QueryRequest = field(default_factory=exchange_pb2.QueryRequest)
    # identify
    member_id: str = ""
    certificate_serial: str = ""
    member_key: ec.EllipticCurvePublicKey | None = None
    # authenticate
    body: exchange_pb2.QueryBody | None = None
    # Every nonce this exchange claimed (authenticate, approve): recorded with its audit
    # record, so each stays claimed across a restart.
    nonces: list[Nonce] = field(default_factory=list)
    # resolve
    route: ServiceRoute | None = None
    # consent (or, for break-glass, the legal basis the query names instead)
    consent: ConsentArtefact | None = None
    legal_basis: exchange_pb2.LegalBasis | None = None
    # authorize
    decision: Decision | None = None
    policy_version: str = ""
    # approve
    approved_by: str = ""
    # forward and verify
    agency_response: connector_pb2.FetchResponse | None = None
    fetched: connector_pb2.FetchResult | None = None
    dropped: list[str] = field(default_factory=list)
    # transform
    released: list[exchange_pb2.ReleasedField] = field(default_factory=list)
    _digest: str = ""

    @property
    def request_digest(self) -> str:
        """Hex SHA-256 of the request as received: its identity in the log and towards
        the agency (computed once: it is asked for at several stages)."""
        if not self._digest:
            self._digest = hashlib.sha256(self.raw).hexdigest()
        return self._digest

    def released_names(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (f.name, common_pb2.Treatment.Name(f.treatment).lower()) for f in self.released
        )
