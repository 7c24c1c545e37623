"""Connector SDK: implement ``Agency.fetch``; ``ConnectorServer`` does the rest."""

from connectors.sdk.agency import (
    Agency,
    AgencyUnavailable,
    FieldSpec,
    FieldType,
    InvalidSubject,
    Sensitivity,
)
from connectors.sdk.server import (
    ConnectorIdentity,
    ConnectorServer,
    ConnectorSettings,
    UnsafeMisbehaviour,
)

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
