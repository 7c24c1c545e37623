"""Dukcapil as a hub agency: the connector's view of the NIK verification web service.

The service answers an unknown NIK with HTTP 200 and a ``RESPON`` text instead of a record;
the adapter turns exactly that text into "no record" and any other ``RESPON`` into a failure,
so an unexpected message is never read as "this person does not exist".
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.dukcapil.sim import NOT_FOUND, RECORD_PATH
from connectors.sdk.agency import AgencyUnavailable
from connectors.sdk.http import AgencyHttpClient, HttpAgency
from connectors.sdk.json_record import JsonRecord
from jembatan.catalogue import FieldSpec
from jembatan.values import FieldValue

AGENCY_ID = "ID/GOV/DUKCAPIL/civil-registry"
IDENTITY_SERVICE = f"{AGENCY_ID}/identity"
SERVICE_IDS = (IDENTITY_SERVICE,)

CATALOGUE: tuple[FieldSpec, ...] = (
    FieldSpec("alive", "flag", "Alive according to the civil registry", "personal"),
    FieldSpec("death_date", "date", "Registered day of death; absent while alive", "personal"),
    FieldSpec("birth_date", "date", "Registered day of birth", "personal"),
    FieldSpec("gender", "text", "Registered sex: male or female", "personal"),
    FieldSpec(
        "village",
        "text",
        "Village (kelurahan/desa) of the registered address",
        "personal",
    ),
    FieldSpec(
        "family_card_members",
        "integer",
        "Members on the person's family card (kartu keluarga)",
        "personal",
    ),
    FieldSpec(
        "moved_out",
        "flag",
        "Registered as having moved out of the family card's address",
        "personal",
    ),
)

_AGENCY = "Dukcapil"
_DATE = "%d-%m-%Y"
_GENDER = {"LAKI-LAKI": "male", "PEREMPUAN": "female"}


class DukcapilAgency(HttpAgency):
    """The Agency protocol over Dukcapil's web service at ``base_url``, as partner ``user_id``.

    ``ip_user`` is the address the service records as the end user's; behind the hub there is
    no end user at a screen, so it is the connector host's own."""

    def __init__(
        self,
        base_url: str,
        user_id: str,
        password: str,
        *,
        ip_user: str = "127.0.0.1",
        timeout_s: float = 2.0,
    ) -> None:
        super().__init__(AgencyHttpClient(_AGENCY, base_url, timeout_s=timeout_s), CATALOGUE)
        self._account = {"user_id": user_id, "password": password, "ip_user": ip_user}

    async def whole_record(self, nik: str) -> Mapping[str, FieldValue] | None:
        body = await self._http.post_json(RECORD_PATH, {"NIK": nik, **self._account})
        item = _only_item(body)
        if "RESPON" in item:
            _require_not_found(item)
            return None
        return _to_catalogue(JsonRecord(_AGENCY, item), nik)


def make_adapter(base_url: str, credentials: Mapping[str, str]) -> DukcapilAgency:
    return DukcapilAgency(base_url, credentials["user_id"], credentials["password"])


def _only_item(body: object) -> Mapping[str, object]:
    """The single object in ``content``: one NIK asked, one answer expected."""
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, list) or len(content) != 1 or not isinstance(content[0], Mapping):
        raise AgencyUnavailable(f"{_AGENCY} sent a malformed answer: not one content item")
    return content[0]


def _require_not_found(item: Mapping[str, object]) -> None:
    """A ``RESPON`` instead of a record means "no record" only when it says exactly that."""
    if item.get("RESPON") != NOT_FOUND:
        # Not quoted: a free-text message from the agency could carry anything.
        raise AgencyUnavailable(f"{_AGENCY} answered with an unexpected RESPON")


def _to_catalogue(record: JsonRecord, nik: str) -> dict[str, FieldValue]:
    record.require_subject("NIK", nik)
    alive = record.coded_flag("STATUS_HIDUP", yes="HIDUP", no="MENINGGAL")
    died = record.optional_date("TGL_MATI", format=_DATE)
    if alive and died is not None:
        raise AgencyUnavailable(f"{_AGENCY} sent a malformed record: TGL_MATI on a living person")
    values: dict[str, FieldValue] = {
        "alive": alive,
        "birth_date": record.date("TGL_LHR", format=_DATE),
        "gender": record.choice("JENIS_KLMIN", _GENDER),
        "village": record.text("KEL_NAME"),
        "family_card_members": record.integer("JML_ANGGOTA_KK", minimum=1),
        "moved_out": record.coded_flag("STATUS_PINDAH", yes="Y", no="T"),
    }
    if died is not None:  # alive, or the day is not registered: the field is absent
        values["death_date"] = died
    return values
