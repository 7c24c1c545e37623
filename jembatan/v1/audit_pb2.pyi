from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReviewBreakGlassRequest(_message.Message):
    __slots__ = ("index", "outcome", "note")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    index: int
    outcome: str
    note: str
    def __init__(self, index: _Optional[int] = ..., outcome: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class LoggedRecord(_message.Message):
    __slots__ = ("index", "leaf_hash")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf_hash: bytes
    def __init__(self, index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ...) -> None: ...

class ListBreakGlassRequest(_message.Message):
    __slots__ = ("state", "after_index", "has_after_index", "limit")
    STATE_FIELD_NUMBER: _ClassVar[int]
    AFTER_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_AFTER_INDEX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    state: str
    after_index: int
    has_after_index: bool
    limit: int
    def __init__(self, state: _Optional[str] = ..., after_index: _Optional[int] = ..., has_after_index: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class BreakGlassCase(_message.Message):
    __slots__ = ("entry", "state", "review", "reviews", "waiting_s")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    WAITING_S_FIELD_NUMBER: _ClassVar[int]
    entry: AuditEntry
    state: str
    review: AuditEntry
    reviews: int
    waiting_s: int
    def __init__(self, entry: _Optional[_Union[AuditEntry, _Mapping]] = ..., state: _Optional[str] = ..., review: _Optional[_Union[AuditEntry, _Mapping]] = ..., reviews: _Optional[int] = ..., waiting_s: _Optional[int] = ...) -> None: ...

class BreakGlassList(_message.Message):
    __slots__ = ("cases", "more")
    CASES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[BreakGlassCase]
    more: bool
    def __init__(self, cases: _Optional[_Iterable[_Union[BreakGlassCase, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class OfficerEventRequest(_message.Message):
    __slots__ = ("event", "officer", "address", "note")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    event: str
    officer: str
    address: str
    note: str
    def __init__(self, event: _Optional[str] = ..., officer: _Optional[str] = ..., address: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class CitizenAccessesRequest(_message.Message):
    __slots__ = ("subject_token",)
    SUBJECT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    subject_token: str
    def __init__(self, subject_token: _Optional[str] = ...) -> None: ...

class CitizenAccess(_message.Message):
    __slots__ = ("time", "client_id", "service_id", "purpose", "decision", "reason", "fields_released", "log_index", "on_behalf_of")
    TIME_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FIELDS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    time: str
    client_id: str
    service_id: str
    purpose: str
    decision: str
    reason: str
    fields_released: _containers.RepeatedCompositeFieldContainer[ReleasedFieldRecord]
    log_index: int
    on_behalf_of: str
    def __init__(self, time: _Optional[str] = ..., client_id: _Optional[str] = ..., service_id: _Optional[str] = ..., purpose: _Optional[str] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ..., fields_released: _Optional[_Iterable[_Union[ReleasedFieldRecord, _Mapping]]] = ..., log_index: _Optional[int] = ..., on_behalf_of: _Optional[str] = ...) -> None: ...

class CitizenAccessList(_message.Message):
    __slots__ = ("accesses",)
    ACCESSES_FIELD_NUMBER: _ClassVar[int]
    accesses: _containers.RepeatedCompositeFieldContainer[CitizenAccess]
    def __init__(self, accesses: _Optional[_Iterable[_Union[CitizenAccess, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("time_from", "time_to", "client_id", "service_id", "purpose", "decision", "reason", "subject", "break_glass", "on_behalf_of", "kind", "officer", "officer_event", "reviewed_index", "after_index", "has_after_index", "limit", "newest_first", "before_index", "has_before_index", "subject_pseudonym", "consent_id", "request_digest")
    TIME_FROM_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BREAK_GLASS_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    OFFICER_EVENT_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_INDEX_FIELD_NUMBER: _ClassVar[int]
    AFTER_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_AFTER_INDEX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NEWEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    BEFORE_INDEX_FIELD_NUMBER: _ClassVar[int]
    HAS_BEFORE_INDEX_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    time_from: str
    time_to: str
    client_id: str
    service_id: str
    purpose: str
    decision: str
    reason: str
    subject: str
    break_glass: bool
    on_behalf_of: str
    kind: str
    officer: str
    officer_event: str
    reviewed_index: int
    after_index: int
    has_after_index: bool
    limit: int
    newest_first: bool
    before_index: int
    has_before_index: bool
    subject_pseudonym: str
    consent_id: str
    request_digest: str
    def __init__(self, time_from: _Optional[str] = ..., time_to: _Optional[str] = ..., client_id: _Optional[str] = ..., service_id: _Optional[str] = ..., purpose: _Optional[str] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ..., subject: _Optional[str] = ..., break_glass: _Optional[bool] = ..., on_behalf_of: _Optional[str] = ..., kind: _Optional[str] = ..., officer: _Optional[str] = ..., officer_event: _Optional[str] = ..., reviewed_index: _Optional[int] = ..., after_index: _Optional[int] = ..., has_after_index: _Optional[bool] = ..., limit: _Optional[int] = ..., newest_first: _Optional[bool] = ..., before_index: _Optional[int] = ..., has_before_index: _Optional[bool] = ..., subject_pseudonym: _Optional[str] = ..., consent_id: _Optional[str] = ..., request_digest: _Optional[str] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("entries", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class StreamRecordsRequest(_message.Message):
    __slots__ = ("filter",)
    FILTER_FIELD_NUMBER: _ClassVar[int]
    filter: SearchRequest
    def __init__(self, filter: _Optional[_Union[SearchRequest, _Mapping]] = ...) -> None: ...

class ExportRangeRequest(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class ExportLine(_message.Message):
    __slots__ = ("line",)
    LINE_FIELD_NUMBER: _ClassVar[int]
    line: str
    def __init__(self, line: _Optional[str] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class GetCheckpointRequest(_message.Message):
    __slots__ = ("min_size",)
    MIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    min_size: int
    def __init__(self, min_size: _Optional[int] = ...) -> None: ...

class SignedCheckpoint(_message.Message):
    __slots__ = ("note", "size")
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    note: str
    size: int
    def __init__(self, note: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class GetInclusionProofRequest(_message.Message):
    __slots__ = ("index", "tree_size")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    index: int
    tree_size: int
    def __init__(self, index: _Optional[int] = ..., tree_size: _Optional[int] = ...) -> None: ...

class InclusionProof(_message.Message):
    __slots__ = ("index", "tree_size", "leaf_hash", "hashes")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    index: int
    tree_size: int
    leaf_hash: bytes
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, index: _Optional[int] = ..., tree_size: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class GetConsistencyProofRequest(_message.Message):
    __slots__ = ("old_size", "new_size")
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    old_size: int
    new_size: int
    def __init__(self, old_size: _Optional[int] = ..., new_size: _Optional[int] = ...) -> None: ...

class ConsistencyProof(_message.Message):
    __slots__ = ("old_size", "new_size", "hashes")
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    old_size: int
    new_size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, old_size: _Optional[int] = ..., new_size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ReleasedFieldRecord(_message.Message):
    __slots__ = ("name", "treatment")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TREATMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    treatment: str
    def __init__(self, name: _Optional[str] = ..., treatment: _Optional[str] = ...) -> None: ...

class AuditRecord(_message.Message):
    __slots__ = ("time", "request_id", "client_id", "service_id", "purpose", "consent_id", "subject", "fields_requested", "fields_released", "fields_dropped", "decision", "reason", "stage", "policy_version", "request_digest", "response_digest", "status", "version", "client_certificate", "break_glass", "legal_basis", "legal_reference", "justification", "approved_by", "on_behalf_of", "count", "review", "officer_event")
    TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_RELEASED_FIELD_NUMBER: _ClassVar[int]
    FIELDS_DROPPED_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    BREAK_GLASS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    JUSTIFICATION_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    ON_BEHALF_OF_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    OFFICER_EVENT_FIELD_NUMBER: _ClassVar[int]
    time: str
    request_id: str
    client_id: str
    service_id: str
    purpose: str
    consent_id: str
    subject: str
    fields_requested: _containers.RepeatedScalarFieldContainer[str]
    fields_released: _containers.RepeatedCompositeFieldContainer[ReleasedFieldRecord]
    fields_dropped: _containers.RepeatedScalarFieldContainer[str]
    decision: str
    reason: str
    stage: str
    policy_version: str
    request_digest: str
    response_digest: str
    status: str
    version: int
    client_certificate: str
    break_glass: bool
    legal_basis: str
    legal_reference: str
    justification: str
    approved_by: str
    on_behalf_of: str
    count: int
    review: BreakGlassReview
    officer_event: OfficerEvent
    def __init__(self, time: _Optional[str] = ..., request_id: _Optional[str] = ..., client_id: _Optional[str] = ..., service_id: _Optional[str] = ..., purpose: _Optional[str] = ..., consent_id: _Optional[str] = ..., subject: _Optional[str] = ..., fields_requested: _Optional[_Iterable[str]] = ..., fields_released: _Optional[_Iterable[_Union[ReleasedFieldRecord, _Mapping]]] = ..., fields_dropped: _Optional[_Iterable[str]] = ..., decision: _Optional[str] = ..., reason: _Optional[str] = ..., stage: _Optional[str] = ..., policy_version: _Optional[str] = ..., request_digest: _Optional[str] = ..., response_digest: _Optional[str] = ..., status: _Optional[str] = ..., version: _Optional[int] = ..., client_certificate: _Optional[str] = ..., break_glass: _Optional[bool] = ..., legal_basis: _Optional[str] = ..., legal_reference: _Optional[str] = ..., justification: _Optional[str] = ..., approved_by: _Optional[str] = ..., on_behalf_of: _Optional[str] = ..., count: _Optional[int] = ..., review: _Optional[_Union[BreakGlassReview, _Mapping]] = ..., officer_event: _Optional[_Union[OfficerEvent, _Mapping]] = ...) -> None: ...

class BreakGlassReview(_message.Message):
    __slots__ = ("reviewed_index", "outcome", "note")
    REVIEWED_INDEX_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    reviewed_index: int
    outcome: str
    note: str
    def __init__(self, reviewed_index: _Optional[int] = ..., outcome: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class OfficerEvent(_message.Message):
    __slots__ = ("event", "officer", "address", "note")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    event: str
    officer: str
    address: str
    note: str
    def __init__(self, event: _Optional[str] = ..., officer: _Optional[str] = ..., address: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("index", "leaf_hash", "record_json")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    RECORD_JSON_FIELD_NUMBER: _ClassVar[int]
    index: int
    leaf_hash: bytes
    record_json: bytes
    def __init__(self, index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., record_json: _Optional[bytes] = ...) -> None: ...
