"""Member and service identifiers, in X-Road's shape.

A member subsystem is ``INSTANCE/CLASS/MEMBER/SUBSYSTEM`` (``ID/GOV/KEMENSOS/eligibility``);
a service adds one segment (``ID/GOV/BPJSTK/wages/employment``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jembatan.subject import may_hold_nik

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_MEMBER_RE = re.compile(rf"^[A-Z0-9-]{{1,16}}/[A-Z]{{2,8}}/{_SEGMENT}/{_SEGMENT}$")
_SERVICE_RE = re.compile(rf"^[A-Z0-9-]{{1,16}}/[A-Z]{{2,8}}/{_SEGMENT}/{_SEGMENT}/{_SEGMENT}$")


class InvalidIdentifier(ValueError):
    """An identifier that is not of the X-Road shape."""


@dataclass(frozen=True, slots=True)
class MemberId:
    instance: str
    member_class: str
    member: str
    subsystem: str

    @classmethod
    def parse(cls, text: str) -> MemberId:
        if not is_member_id(text):
            raise InvalidIdentifier(f"not a member id INSTANCE/CLASS/MEMBER/SUBSYSTEM: {text!r}")
        instance, member_class, member, subsystem = text.split("/")
        return cls(instance, member_class, member, subsystem)

    def __str__(self) -> str:
        return f"{self.instance}/{self.member_class}/{self.member}/{self.subsystem}"


@dataclass(frozen=True, slots=True)
class ServiceId:
    provider: MemberId
    service: str

    @classmethod
    def parse(cls, text: str) -> ServiceId:
        if not is_service_id(text):
            raise InvalidIdentifier(
                f"not a service id INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE: {text!r}"
            )
        head, service = text.rsplit("/", 1)
        return cls(MemberId.parse(head), service)

    def __str__(self) -> str:
        return f"{self.provider}/{self.service}"


# Identifiers end up verbatim in certificates, the registry and every audit record: one of
# the right shape that could still carry a NIK (segments of digits) is no identifier.
def is_member_id(text: str) -> bool:
    return bool(_MEMBER_RE.fullmatch(text)) and not may_hold_nik(text)


def is_service_id(text: str) -> bool:
    return bool(_SERVICE_RE.fullmatch(text)) and not may_hold_nik(text)
