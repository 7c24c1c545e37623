from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class RevokeRequest(_message.Message):
    __slots__ = ("revocation",)
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    revocation: str
    def __init__(self, revocation: _Optional[str] = ...) -> None: ...

class RevokeResponse(_message.Message):
    __slots__ = ("consent_id", "revoked_at")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    revoked_at: str
    def __init__(self, consent_id: _Optional[str] = ..., revoked_at: _Optional[str] = ...) -> None: ...
