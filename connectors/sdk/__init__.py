"""Connector SDK: implement ``Agency.fetch``; ``ConnectorServer`` does the rest."""

from connectors.sdk.agency import Agency, AgencyUnavailable, InvalidSubject
from connectors.sdk.server import (
    ConnectorIdentity,
    ConnectorServer,
    ConnectorSettings,
    UnsafeMisbehaviour,
)
from jembatan.catalogue import FieldSpec, FieldType, Sensitivity

__all__ = [
    "Agency",
    "AgencyUnavailable",
    "ConnectorIdentity",
    "ConnectorServer",
    "ConnectorSettings",
    "FieldSpec",
    "FieldType",
    "InvalidSubject",
    "Sensitivity",
    "UnsafeMisbehaviour",
]
