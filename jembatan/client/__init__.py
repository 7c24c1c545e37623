"""The client SDKs: how a member talks to the hub.

``HubClient`` asks for data (one applicant, a fan-out, a bulk stream) and checks every receipt;
``AdminClient`` enrols, renews and registers; ``MemberChannel`` is the mTLS channel and the
error mapping both share: a refusal by the hub is a ``QueryRefused`` (``FixRequest``,
``ObtainConsent``, ``RetryLater``, ``CallSupport``), a call that got no decision a
``HubCallFailed`` (``HubUnreachable`` when the hub was not reached). Imports the kernel only,
never the server, so an eligibility service or an agency installs the hub's dependencies
without running them.
"""

from jembatan.client.admin import AdminClient
from jembatan.client.channel import (
    CallSupport,
    FixRequest,
    HubCallFailed,
    HubUnreachable,
    MemberChannel,
    ObtainConsent,
    QueryRefused,
    RetryLater,
    refusal_of,
)
from jembatan.client.query import (
    Applicant,
    FanOutAnswer,
    HubClient,
    LegAnswer,
    QueryAnswer,
    Released,
)

__all__ = [
    "AdminClient",
    "Applicant",
    "CallSupport",
    "FanOutAnswer",
    "FixRequest",
    "HubCallFailed",
    "HubClient",
    "HubUnreachable",
    "LegAnswer",
    "MemberChannel",
    "ObtainConsent",
    "QueryAnswer",
    "QueryRefused",
    "Released",
    "RetryLater",
    "refusal_of",
]
