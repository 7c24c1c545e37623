"""The synthetic population of Kemiren and Lateng (Banyuwangi): truth and every agency's view.

Everything here is invented. Households (kartu keluarga) and their people are drawn from a
seed with ``random.Random`` only, each household from its own generator keyed by the seed, the
village and its index, so a household is the same whatever the scale and can be regenerated
alone. The NIKs and family-card numbers follow the real 16-digit layouts (province 35, regency
10, district, date, serial; day+40 for women) but the district codes are our own choice, not
Kemendagri's: Kemiren (kecamatan Glagah) is "10", Lateng (kecamatan Banyuwangi) is "11", and a
village scaled towards the whole regency spills into further synthetic codes (see ``nik``).
Names and employers come from small lists; any resemblance to a real person or firm is
accidental. Incomes, assets and the shares of poor and vulnerable households are plausible for
Banyuwangi, not measured.

Each household carries its ground truth (``welfare``, income, assets, the head's formal job, a
recent job loss) and ``views``: what DTKS, Dukcapil, BPJS Ketenagakerjaan, BPJS Kesehatan,
ATR/BPN, Polri and the Himbara banks each hold, with the errors real registers have.
"""

from connectors.population.model import (
    KEMIREN,
    LATENG,
    POVERTY_LINE,
    RECENT_JOB_LOSS_DAYS,
    REFERENCE_DATE,
    VILLAGES,
    VULNERABILITY_LINE,
    Assets,
    Employment,
    Gender,
    Household,
    Person,
    Relationship,
    Village,
    Welfare,
)
from connectors.population.nik import make_nik, parse_nik
from connectors.population.population import (
    BASE_HOUSEHOLDS,
    Population,
    generate,
    iter_households,
    make_household,
    unknown_nik,
)
from connectors.population.records import (
    AgencyViews,
    AtrBpnRecord,
    BankRecord,
    BpjsKesehatanRecord,
    BpjstkRecord,
    DtksRecord,
    DukcapilRecord,
    PolriRecord,
)

__all__ = [
    "BASE_HOUSEHOLDS",
    "KEMIREN",
    "LATENG",
    "POVERTY_LINE",
    "RECENT_JOB_LOSS_DAYS",
    "REFERENCE_DATE",
    "VILLAGES",
    "VULNERABILITY_LINE",
    "AgencyViews",
    "Assets",
    "AtrBpnRecord",
    "BankRecord",
    "BpjsKesehatanRecord",
    "BpjstkRecord",
    "DtksRecord",
    "DukcapilRecord",
    "Employment",
    "Gender",
    "Household",
    "Person",
    "PolriRecord",
    "Population",
    "Relationship",
    "Village",
    "Welfare",
    "generate",
    "iter_households",
    "make_household",
    "make_nik",
    "parse_nik",
    "unknown_nik",
]
