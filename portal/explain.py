"""What the citizen reads: a field in the form the hub releases it, a reason in plain words.

The field's meaning is the agency's catalogue description and its form the policy's
treatment and detail (``< 3000000``, ``edges 0,500,1000``, ``within 90 days``), both as
the hub gives them; here they are only put into words, in the request's language.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from babel.dates import format_date

from examples.eligibility.evidence import AGENCY_NAMES
from portal.i18n import gettext as _
from portal.i18n import language, number, rupiah

__all__ = [
    "agency",
    "field_label",
    "form_of",
    "member_name",
    "question",
    "reason_text",
    "refusal_text",
    "released_as",
    "value_text",
]

_ORDER = re.compile(r"(?P<op><=|>=|<|>|=|!=) (?P<operand>\S+)")
_WITHIN = re.compile(r"within (?P<days>\d+) days")
_EDGES = re.compile(r"edges (?P<edges>[\d.,-]+)")
_BUCKET = re.compile(r"\[(?P<low>[^,]+), (?P<high>[^)]+)\)")


def N_(message: str) -> str:
    """Marks a message for the catalogue, translated later (where it is shown)."""
    return message


def agency(service_id: str) -> str:
    return AGENCY_NAMES.get(service_id, service_id)


def field_label(description: str, name: str) -> str:
    """The catalogue's description, translated where the catalogue has a translation."""
    return _(description) if description else name


def _is_date(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


def _amount(text: str, description: str) -> str:
    if "year" in description.lower() and text.isdigit():
        return text  # a year is no amount: 2022, not 2.022
    try:
        value = float(text)
    except ValueError:
        try:
            return format_date(datetime.date.fromisoformat(text), "d MMMM y", locale=language())
        except ValueError:
            return text
    whole = int(value) if value.is_integer() else value
    return rupiah(whole) if "rupiah" in description.lower() else number(whole)


def question(detail: str, description: str) -> str:
    """A predicate's question in words: "< 3000000" → "below Rp 3,000,000"."""
    if match := _WITHIN.fullmatch(detail):
        return _("in the last %(days)s days", days=match["days"])
    if match := _ORDER.fullmatch(detail):
        amount = _amount(match["operand"], description)
        if _is_date(match["operand"]):
            dates = {
                "<": _("before %(date)s", date=amount),
                "<=": _("on or before %(date)s", date=amount),
                ">": _("after %(date)s", date=amount),
                ">=": _("on or after %(date)s", date=amount),
            }
            if match["op"] in dates:
                return dates[match["op"]]
        words = {
            "<": _("below %(amount)s", amount=amount),
            "<=": _("%(amount)s or less", amount=amount),
            ">": _("more than %(amount)s", amount=amount),
            ">=": _("%(amount)s or more", amount=amount),
            "=": _("equal to %(amount)s", amount=amount),
            "!=": _("not %(amount)s", amount=amount),
        }
        return words[match["op"]]
    return detail


def form_of(treatment: str, detail: str, description: str) -> str:
    """How a field is released, for the consent screen."""
    kind = treatment.upper()
    if kind == "PREDICATE" and detail:
        return _("only yes or no: %(question)s?", question=question(detail, description))
    if kind == "BUCKETED" and (match := _EDGES.fullmatch(detail)):
        edges = ", ".join(_amount(e, description) for e in match["edges"].split(","))
        return _("only a range (limits: %(edges)s)", edges=edges)
    return released_as(treatment)


def released_as(treatment: str) -> str:
    """The form alone, where the policy's detail is not at hand (the audit log records the
    treatment of each field released, not its parameters): the citizen's data timeline."""
    kind = treatment.upper()
    if kind == "PREDICATE":
        return _("only yes or no")
    if kind == "BUCKETED":
        return _("only a range")
    if kind == "MASKED":
        return _("partly hidden (first letters only)")
    if kind == "RAW":
        return _("as recorded")
    return _("not released")


# Members the citizen meets by a name of their own; any other is named by the agency it
# serves for (from the hub's discovery), else by its organisation.
_MEMBERS = {
    "ID/GOV/KEMENSOS/eligibility": N_("Kemensos eligibility service"),
    "ID/GOV/KEMENSOS/perlinsos-portal": N_("Portal Perlinsos"),
    "ID/GOV/KEMENSOS/supervisor": N_("a Kemensos supervisor"),
    "ID/GOV/BSSN/auditor": N_("BSSN security officers"),
    "ID/GOV/BSSN/console": N_("BSSN security officers"),
}


def member_name(member_id: str, agencies: Mapping[str, str] | None = None) -> str:
    """A member as the citizen reads it: "Kemensos eligibility service", "Polri"; failing
    that its organisation, with its id ("XYZ (ID/GOV/XYZ/app)")."""
    if member_id in _MEMBERS:
        return _(_MEMBERS[member_id])
    if agencies and member_id in agencies:
        return agencies[member_id]
    parts = member_id.split("/")
    return f"{parts[2]} ({member_id})" if len(parts) >= 3 else member_id


def refusal_text(reason: str) -> str:
    """Why the hub refused an exchange, in plain words."""
    if reason == "CONSENT_REVOKED":
        return _("you had withdrawn your consent")
    if reason == "CONSENT_EXPIRED":
        return _("your consent had ended")
    if reason in ("CONSENT_MISSING", "CONSENT_INVALID", "CONSENT_UNKNOWN"):
        return _("there was no valid consent from you")
    if reason.startswith("CONSENT_") or reason == "FIELD_NOT_CONSENTED":
        return _("it asked for more than you agreed to")
    if reason in ("NO_POLICY", "FIELD_NOT_ALLOWED", "ROLE_REQUIRED"):
        return _("the rules do not allow it to see this data")
    if reason.startswith(("LEGAL_BASIS", "JUSTIFICATION", "APPROVAL")):
        return _("an emergency request without the required reason or approval")
    if reason.startswith(("CONNECTOR_", "AGENCY_")):
        return _("the office's system did not answer")
    if reason == "RATE_LIMITED":
        return _("too many requests at once")
    return _("the request did not follow the rules (%(code)s)", code=reason)


# Words agencies release as raw values.
_WORDS = {
    "active": N_("active"),
    "inactive": N_("inactive"),
    "male": N_("male"),
    "female": N_("female"),
}


def value_text(value: Any, treatment: str, detail: str, description: str) -> str:
    """A released value in words, with the question it answers where it is a predicate."""
    kind = treatment.upper()
    if kind == "PREDICATE":
        answer = _("yes") if value else _("no")
        return f"{question(detail, description)}? {answer}"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if kind == "BUCKETED" and isinstance(value, str):
        if match := _BUCKET.fullmatch(value):
            return _(
                "between %(low)s and %(high)s",
                low=_amount(match["low"], description),
                high=_amount(match["high"], description),
            )
        if match := _ORDER.fullmatch(value):
            return question(value, description)
    if isinstance(value, int | float):
        return _amount(str(value), description)
    if isinstance(value, str):
        if value in _WORDS:
            return _(_WORDS[value])
        if kind == "RAW" and _is_date(value):
            return _amount(value, description)
    return str(value)


def reason_text(code: str, service: str, thresholds: Mapping[str, Any]) -> str:
    """The formula's reason ``code`` in plain words, with the thresholds it decided by."""
    t = thresholds
    texts = {
        "deceased": lambda: _("Dukcapil records this person as deceased."),
        "moved_out": lambda: _("Dukcapil records that you have moved out of the village."),
        "identity_unverified": lambda: _(
            "Dukcapil has no record of your NIK, so your identity must be checked."
        ),
        "formal_wage": lambda: _(
            "BPJS Ketenagakerjaan: you have a formal job with a wage of %(wage)s or more a month.",
            wage=rupiah(t["wage_rp"]),
        ),
        "jkn_class_paying": lambda: _(
            "BPJS Kesehatan: you pay for class %(classes)s health insurance yourself or"
            " through an employer.",
            classes=_(" or ").join(str(c) for c in t["jkn_classes"]),
        ),
        "land_value": lambda: _(
            "ATR/BPN: you own land with a tax value (NJOP) of %(value)s or more.",
            value=rupiah(t["land_value_rp"]),
        ),
        "land_area": lambda: _(
            "ATR/BPN: you own %(area)s m² of land or more.", area=number(t["land_area_m2"])
        ),
        "car": lambda: _("Polri: a car is registered in your name."),
        "motorcycles": lambda: _(
            "Polri: %(count)s or more motorcycles are registered in your name.",
            count=t["motorcycles"],
        ),
        "new_vehicle": lambda: _(
            "Polri: a vehicle from %(year)s or later is registered in your name.",
            year=t["new_vehicle_year"],
        ),
        "bank_balance": lambda: _(
            "Himbara banks: you have savings of %(amount)s or more.",
            amount=rupiah(t["balance_rp"]),
        ),
        "average_balance": lambda: _(
            "Himbara banks: your average balance over the last 3 months is %(amount)s or more.",
            amount=rupiah(t["average_balance_rp"]),
        ),
        "recent_job_loss": lambda: _(
            "BPJS Ketenagakerjaan: you lost your job in the last %(days)s days, so your"
            " household is treated as an emergency case.",
            days=t["job_loss_days"],
        ),
        "thin_evidence": lambda: _(
            "No register shows that your household is well off, but none shows that it is in"
            " need either (you are not in DTKS and have not lost a job recently). An officer"
            " will visit to see your situation."
        ),
        "agency_unavailable": lambda: _(
            "%(agency)s did not answer. An officer will check this part.",
            agency=agency(service),
        ),
        "evidence_unreadable": lambda: _(
            "The answer from %(agency)s could not be read. An officer will check this part.",
            agency=agency(service),
        ),
        "listed_in_dtks": lambda: _(
            "You are listed in DTKS (the social welfare register). This alone decides nothing."
        ),
        "not_in_dtks": lambda: _(
            "You are not listed in DTKS (the social welfare register). This alone decides nothing."
        ),
        "dtks_unavailable": lambda: _("DTKS did not answer. This alone decides nothing."),
    }
    text = texts.get(code)
    return text() if text else code


def criterion_text(code: str, topic: str, thresholds: Mapping[str, Any]) -> str:
    """A formula rule as the statement a field officer checks at the house (true, false,
    or could not be checked), with the thresholds it decides by; the rule's own topic if
    the portal has no words for it yet."""
    t = thresholds
    texts = {
        "deceased": lambda: _("The head of the family has died."),
        "moved_out": lambda: _("The family no longer lives in this village."),
        "identity_unverified": lambda: _(
            "The identity of the head of the family (KTP, family card) could not be confirmed."
        ),
        "formal_wage": lambda: _(
            "Someone has a formal job with a wage of %(wage)s or more a month.",
            wage=rupiah(t["wage_rp"]),
        ),
        "jkn_class_paying": lambda: _(
            "The family pays for class %(classes)s health insurance itself or through an employer.",
            classes=_(" or ").join(str(c) for c in t["jkn_classes"]),
        ),
        "land_value": lambda: _(
            "The family owns land with a tax value (NJOP) of %(value)s or more.",
            value=rupiah(t["land_value_rp"]),
        ),
        "land_area": lambda: _(
            "The family owns %(area)s m² of land or more.", area=number(t["land_area_m2"])
        ),
        "car": lambda: _("The family owns a car."),
        "motorcycles": lambda: _(
            "The family owns %(count)s or more motorcycles.", count=t["motorcycles"]
        ),
        "new_vehicle": lambda: _(
            "The family owns a vehicle from %(year)s or later.", year=t["new_vehicle_year"]
        ),
        "bank_balance": lambda: _(
            "The family has savings of %(amount)s or more.", amount=rupiah(t["balance_rp"])
        ),
        "average_balance": lambda: _(
            "The family keeps %(amount)s or more in the bank on average.",
            amount=rupiah(t["average_balance_rp"]),
        ),
        "recent_job_loss": lambda: _(
            "Someone in the family lost their job in the last %(days)s days.",
            days=t["job_loss_days"],
        ),
    }
    text = texts.get(code)
    return text() if text else topic
