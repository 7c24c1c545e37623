"""Each anomaly flag explained in plain words, in Indonesian (the default) and English.

The sentences take the flag's ``about`` and ``params`` by name, so the console's message
catalogues can carry the same sentences under the flag's code (``anomaly.<code>``) and the
command line and a verifier without the console still say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping

from jembatan.insights.anomalies import (
    CLIENT_VOLUME,
    CONSENT_OVERUSE,
    OFF_HOURS,
    OFFICER_REPEATED,
    REFUSAL_BURST,
    SUBJECT_MANY_CLIENTS,
    SUBJECT_REPEATED,
    Flag,
    Param,
)

LANGUAGES = ("id", "en")

# (title, explanation) per code and language. {about} and each parameter by name; times are
# shown by whoever formats the flag (the console in WIB), so none appear here.
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    CLIENT_VOLUME: {
        "id": (
            "Volume klien jauh di atas biasanya",
            "{about} melakukan {calls} panggilan dalam satu periode {bucket}, lebih dari"
            " {factor} kali rata-ratanya ({baseline_mean} per periode pada {baseline_buckets}"
            " periode sebelumnya). Periksa apakah ada pekerjaan massal yang sah, atau"
            " sertifikat klien yang disalahgunakan.",
        ),
        "en": (
            "Client volume far above its usual",
            "{about} made {calls} calls in one {bucket} period, more than {factor} times its own"
            " mean ({baseline_mean} per period over the {baseline_buckets} periods before)."
            " Check for a legitimate batch job, or a misused client certificate.",
        ),
    },
    REFUSAL_BURST: {
        "id": (
            "Lonjakan penolakan untuk satu klien",
            "{about} ditolak {refusals} kali dalam {within} (ambang: {min_refusals}),"
            " terbanyak karena {top_reason}. Bisa jadi salah konfigurasi, atau seseorang"
            " mencoba-coba apa yang boleh diambilnya.",
        ),
        "en": (
            "Burst of refusals for one client",
            "{about} was refused {refusals} times within {within} (threshold:"
            " {min_refusals}), mostly {top_reason}. A misconfiguration, or someone probing"
            " what they may take.",
        ),
    },
    OFF_HOURS: {
        "id": (
            "Akses di luar jam kerja",
            "{about} melakukan {calls} panggilan di luar jam kerja ({start} sampai {end}"
            " {timezone}, hari {days}, kecuali hari libur). Pastikan ada tugas yang"
            " menjelaskannya.",
        ),
        "en": (
            "Access outside office hours",
            "{about} made {calls} calls outside office hours ({start} to {end} {timezone},"
            " days {days}, public holidays excepted). Check that a duty explains them.",
        ),
    },
    SUBJECT_MANY_CLIENTS: {
        "id": (
            "Satu warga dicari oleh banyak klien",
            "Warga dengan pseudonim {about} dicari oleh {clients} klien berbeda dalam"
            " {within} (batas: {max_clients}). Periksa apakah semua klien itu punya"
            " keperluan dengan orang ini.",
        ),
        "en": (
            "One citizen looked up by many clients",
            "The citizen with pseudonym {about} was looked up by {clients} different clients"
            " within {within} (limit: {max_clients}). Check that each of them had business"
            " with this person.",
        ),
    },
    SUBJECT_REPEATED: {
        "id": (
            "Satu warga dicari berulang kali",
            "{client} mencari warga dengan pseudonim {about} sebanyak {lookups} kali dalam"
            " {within} (batas: {max_lookups}). Satu keperluan jarang membutuhkan sebanyak itu.",
        ),
        "en": (
            "One citizen looked up repeatedly",
            "{client} looked up the citizen with pseudonym {about} {lookups} times within"
            " {within} (limit: {max_lookups}). One purpose rarely needs that many.",
        ),
    },
    OFFICER_REPEATED: {
        "id": (
            "Petugas berulang kali mencari satu warga",
            "Petugas {about} mencari catatan warga dengan pseudonim {subject} sebanyak"
            " {lookups} kali dalam {within} (batas: {max_lookups}). Pastikan ada kasus yang"
            " menjelaskannya.",
        ),
        "en": (
            "An officer looking up one citizen repeatedly",
            "Officer {about} searched the log for the citizen with pseudonym {subject}"
            " {lookups} times within {within} (limit: {max_lookups}). Check that a case"
            " explains it.",
        ),
    },
    CONSENT_OVERUSE: {
        "id": (
            "Persetujuan dipakai melebihi keperluannya",
            "Persetujuan {about} (keperluan {purpose}) dipakai untuk {uses} pertukaran yang"
            " dirilis dalam {within}; keperluan itu wajarnya cukup {max_uses}. Periksa"
            " apakah persetujuan ini dipakai ulang untuk hal lain.",
        ),
        "en": (
            "A consent used more than its purpose needs",
            "Consent {about} (purpose {purpose}) was used for {uses} released exchanges"
            " within {within}; that purpose should need at most {max_uses}. Check whether"
            " it is being reused for something else.",
        ),
    },
}

_UNITS = {
    "id": (("hari", 86400), ("jam", 3600), ("menit", 60), ("detik", 1)),
    "en": (("days", 86400), ("hours", 3600), ("minutes", 60), ("seconds", 1)),
}
_ONE = {"days": "day", "hours": "hour", "minutes": "minute", "seconds": "second"}


def duration(seconds: float, language: str = "id") -> str:
    """``seconds`` in the largest whole unit: "24 jam", "10 minutes"."""
    for unit, size in _UNITS[language]:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {_ONE.get(unit, unit) if count == 1 else unit}"
    return f"{seconds:g} {_UNITS[language][-1][0]}"


def title(flag: Flag, language: str = "id") -> str:
    return MESSAGES[flag.code][_language(language)][0]


def explain(flag: Flag, language: str = "id") -> str:
    """The flag's explanation in ``language`` (``id`` or ``en``)."""
    language = _language(language)
    return MESSAGES[flag.code][language][1].format_map(_values(flag, language))


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"no explanations in {language!r}: choose from {', '.join(LANGUAGES)}")
    return language


def _values(flag: Flag, language: str) -> Mapping[str, Param]:
    values: dict[str, Param] = {"about": flag.about, **flag.params}
    for name, seconds in (("within", "within_seconds"), ("bucket", "bucket_seconds")):
        if seconds in flag.params:
            values[name] = duration(float(flag.params[seconds]), language)
    if "factor" in values:
        values["factor"] = f"{float(values['factor']):g}"
    return values
