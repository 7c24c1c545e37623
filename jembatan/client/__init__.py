"""The client SDKs: how a member talks to the hub.

``HubClient`` asks for data (one applicant, a fan-out, a bulk stream) and checks every receipt;
``AdminClient`` enrols, renews and registers; ``MemberChannel`` is the mTLS channel and the
refusal mapping both share. Imports the kernel only, never the server, so an eligibility service
or an agency installs the hub's dependencies without running them.
"""

from jembatan.client.admin import AdminClient
from jembatan.client.channel import MemberChannel, QueryRefused, refusal_of
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
    "FanOutAnswer",
    "HubClient",
    "LegAnswer",
    "MemberChannel",
    "QueryAnswer",
    "QueryRefused",
    "Released",
    "refusal_of",
]
