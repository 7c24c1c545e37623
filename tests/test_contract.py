"""The committed generated code matches the .proto files (regenerate with `make proto`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from grpc_tools import protoc

from jembatan.audit.record import AuditRecord
from jembatan.errors import (
    ADVICE,
    CATEGORY_OF_REASON,
    IDENTIFY_REASONS,
    RETRY_LATER,
    RETRYABLE,
    STATUS_OF_REASON,
    Refusal,
)
from jembatan.v1 import audit_pb2, common_pb2

REPO = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO / "proto"


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("jembatan/v1/*.proto"))
    assert protos, "no .proto files found"
    status = protoc.main(
        [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            *protos,
        ]
    )
    assert status == 0
    generated = sorted(tmp_path.glob("jembatan/v1/*.py*"))
    assert generated
    stale = [
        p.name
        for p in generated
        if (REPO / "jembatan" / "v1" / p.name).read_bytes() != p.read_bytes()
    ]
    assert stale == [], f"stale generated code, run `make proto`: {stale}"
    committed = {p.name for p in (REPO / "jembatan" / "v1").glob("*_pb2*.py*")}
    assert committed == {p.name for p in generated}, "generated files without a .proto"


def test_the_status_table_names_exactly_the_contracts_reasons() -> None:
    reasons = set(common_pb2.Reason.keys()) - {"REASON_UNSPECIFIED"}
    assert set(STATUS_OF_REASON) == reasons


def test_every_reason_has_a_category_of_the_contract() -> None:
    reasons = set(common_pb2.Reason.keys()) - {"REASON_UNSPECIFIED"}
    categories = set(common_pb2.Category.keys()) - {"CATEGORY_UNSPECIFIED"}
    assert set(CATEGORY_OF_REASON) == reasons
    assert set(CATEGORY_OF_REASON.values()) == categories == set(ADVICE)
    # Only waiting helps with a retryable refusal: retrying anything else repeats it.
    assert {RETRY_LATER} == RETRYABLE


def test_every_reason_has_a_status_and_unidentified_callers_learn_nothing() -> None:
    for name in common_pb2.Reason.keys():  # noqa: SIM118 (a proto enum, not a dict)
        if name == "REASON_UNSPECIFIED":
            continue
        refusal = Refusal(name, "detail", stage="consent")
        told = refusal.public()
        if name in IDENTIFY_REASONS:
            assert (told.status.name, told.reason, told.stage) == (
                "UNAUTHENTICATED",
                "UNAUTHENTICATED",
                "",
            )
            assert "detail" not in told.detail
        else:
            assert told is refusal


def test_audit_record_message_mirrors_the_hashed_record() -> None:
    proto_fields = {f.name for f in audit_pb2.AuditRecord.DESCRIPTOR.fields}
    assert proto_fields == {f.name for f in dataclasses.fields(AuditRecord)}
