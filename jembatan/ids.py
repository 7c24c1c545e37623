"""The identifiers of the contract and their one grammar.

A member subsystem is ``INSTANCE/CLASS/MEMBER/SUBSYSTEM`` (``ID/GOV/KEMENSOS/eligibility``),
X-Road's shape; a service adds one segment (``ID/GOV/BPJSTK/wages/employment``). Field names,
purpose codes (also reason codes of consent decisions) and client correlation ids are checked
here too, by the hub, the consent manager and the SDKs alike.

Every identifier ends up verbatim in certificates, the registry and the append-only audit log,
so one of the right shape that could still carry a NIK (sixteen digits, however spelled out)
is no identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jembatan.errors import JembatanError
from jembatan.limits import MAX_CORRELATION_ID
from jembatan.subject import may_hold_nik

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_MEMBER_RE = re.compile(rf"^[A-Z0-9-]{{1,16}}/[A-Z]{{2,8}}/{_SEGMENT}/{_SEGMENT}$")
_SERVICE_RE = re.compile(rf"^[A-Z0-9-]{{1,16}}/[A-Z]{{2,8}}/{_SEGMENT}/{_SEGMENT}/{_SEGMENT}$")
# A field of an agency's catalogue, as policies, consents and queries name it.
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# A purpose (``bansos-eligibility``), and the reason code of a consent decision.
_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# A client's correlation id (request_id, applicant_id): optional, so it may be empty.
_CORRELATION_ID = re.compile(rf"[A-Za-z0-9._:-]{{0,{MAX_CORRELATION_ID}}}")


class InvalidIdentifier(JembatanError, ValueError):
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


def is_member_id(text: str) -> bool:
    return _matches(_MEMBER_RE, text)


def is_service_id(text: str) -> bool:
    return _matches(_SERVICE_RE, text)


def is_field_name(text: object) -> bool:
    return isinstance(text, str) and _matches(_FIELD_NAME, text)


def is_code(text: object) -> bool:
    """A purpose or reason code: short, lower case, from a fixed vocabulary."""
    return isinstance(text, str) and _matches(_CODE, text)


def is_correlation_id(text: object) -> bool:
    return isinstance(text, str) and _matches(_CORRELATION_ID, text)


def _matches(grammar: re.Pattern[str], text: str) -> bool:
    return grammar.fullmatch(text) is not None and not may_hold_nik(text)
