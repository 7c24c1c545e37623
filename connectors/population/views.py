"""Each agency's noisy view of one household's truth.

Every register errs the way real ones do, and differently, so that combining several beats
any one of them: DTKS is stale and misses the poor, BPJS Ketenagakerjaan sees only formal work
and under-reported wages, ATR/BPN only certified land, Polri vehicles long sold, the Himbara
banks only their own accounts. Dukcapil, the identity anchor, is nearly right but late.
"""

from __future__ import annotations

import datetime
import math
import random

from connectors.population.model import (
    REFERENCE_DATE,
    Employment,
    Person,
    Village,
    Welfare,
)
from connectors.population.records import (
    AgencyViews,
    AtrBpnRecord,
    BankRecord,
    BpjsKesehatanRecord,
    BpjstkRecord,
    DtksRecord,
    DukcapilRecord,
    Membership,
    PolriRecord,
)
from connectors.population.truth import Economy, between, pick, profile

_REFERENCE_ORDINAL = REFERENCE_DATE.toordinal()
# The proxy-means test scores a household from a questionnaire, with error of about the same
# size as the spread of true incomes; it is the main source of DTKS's exclusion error.
_PMT_NOISE = 1.2
# How far a household's standing wanders per year since DTKS last looked at it.
_DRIFT_PER_YEAR = 0.12
# Born in this range: an adult of working age (18 to 60), not a dependant for PKH.
_ADULT_BORN = (
    datetime.date(REFERENCE_DATE.year - 60, 1, 1),
    datetime.date(REFERENCE_DATE.year - 18, 12, 31),
)
_MOVE_DESTINATIONS = ("Surabaya", "Denpasar", "Jember", "Sidoarjo", "Jakarta Timur")


def draw_views(
    rng: random.Random,
    village: Village,
    members: tuple[Person, ...],
    economy: Economy,
    welfare: Welfare,
) -> AgencyViews:
    dtks = _dtks(rng, members, economy)
    return AgencyViews(
        dtks=dtks,
        dukcapil=_dukcapil(rng, village, members),
        bpjstk=_bpjstk(rng, economy.employment, economy.recent_job_loss),
        bpjs_kesehatan=_bpjs_kesehatan(rng, members, economy, welfare, dtks),
        atr_bpn=_atr_bpn(rng, village, economy, welfare),
        polri=_polri(rng, economy, welfare),
        bank=_bank(rng, economy, dtks),
    )


def _dtks(rng: random.Random, members: tuple[Person, ...], economy: Economy) -> DtksRecord | None:
    if rng.random() < 0.10:  # never enumerated: new families, renters, people who were out
        return None
    last_verified = _verification_date(rng)
    head = members[0]
    if head.death_date is not None and head.death_date < last_verified and rng.random() < 0.5:
        return None  # the survey noticed the death and the family was re-registered elsewhere
    years = (REFERENCE_DATE - last_verified).days / 365
    latent = economy.latent
    employment = economy.employment
    loss = employment.termination_date if employment and economy.recent_job_loss else None
    # A survey done before the job loss still sees the wage.
    score = latent.income_then if loss is not None and last_verified < loss else latent.income_now
    drift_sd = _DRIFT_PER_YEAR * years
    # The drift since the survey and the survey's own error, as one draw.
    error_variance = drift_sd * drift_sd + _PMT_NOISE * _PMT_NOISE
    perceived = score + rng.gauss(0.0, math.sqrt(error_variance))
    spread = math.sqrt(1.0 + error_variance)
    decile = min(10, 1 + int(_normal_cdf(perceived / spread) * 10))
    in_dtks = decile <= 4  # the register targets the bottom 40 %
    return DtksRecord(
        in_dtks=in_dtks,
        decile=decile,
        last_verified=last_verified,
        household_size=_size_then(rng, members, years),
        programmes=_programmes(rng, members, decile) if in_dtks else "",
    )


def _verification_date(rng: random.Random) -> datetime.date:
    # A third re-verified recently (the DTSEN update), the rest years ago, back to the 2015 base.
    roll = rng.random()
    if roll < 0.35:
        days_ago = between(rng, 30, 730)
    elif roll < 0.7:
        days_ago = between(rng, 731, 2190)
    else:
        days_ago = between(rng, 2191, 4000)
    return datetime.date.fromordinal(_REFERENCE_ORDINAL - days_ago)


def _size_then(rng: random.Random, members: tuple[Person, ...], years: float) -> int:
    size = sum(1 for m in members if m.alive and not m.moved_out) or 1
    if years > 2 and rng.random() < 0.4:  # births, deaths and departures since the survey
        size += pick(rng, (-1, 1))
    return max(1, size)


def _programmes(rng: random.Random, members: tuple[Person, ...], decile: int) -> str:
    chosen = []
    # PKH (conditional cash) needs children, or elderly, in a very poor family.
    if decile <= 2 and _has_dependants(members) and rng.random() < 0.6:
        chosen.append("PKH")
    if decile <= 3 and rng.random() < 0.75:
        chosen.append("BPNT")
    if rng.random() < 0.9:
        chosen.append("PBI-JK")
    return ",".join(chosen)


def _has_dependants(members: tuple[Person, ...]) -> bool:
    return any(m.alive and not _ADULT_BORN[0] <= m.birth_date <= _ADULT_BORN[1] for m in members)


def _dukcapil(
    rng: random.Random, village: Village, members: tuple[Person, ...]
) -> tuple[DukcapilRecord, ...]:
    known = [(_death_recorded(rng, m), m.moved_out and rng.random() < 0.75) for m in members]
    on_card = max(1, sum(1 for dead, moved in known if not (dead or moved)))
    return tuple(
        DukcapilRecord(
            alive=not dead,
            death_date=m.death_date if dead else None,
            birth_date=m.birth_date,
            gender=m.gender,
            village=pick(rng, _MOVE_DESTINATIONS) if moved else village.name,
            family_card_members=on_card,
            moved_out=moved,
        )
        for m, (dead, moved) in zip(members, known, strict=True)
    )


def _death_recorded(rng: random.Random, person: Person) -> bool:
    if person.death_date is None:
        return False
    # Deaths reach the registry late: half of the last two months' are not in yet, and a few
    # village deaths are never reported at all.
    recent = (REFERENCE_DATE - person.death_date).days <= 60
    return rng.random() >= (0.5 if recent else 0.02)


def _bpjstk(
    rng: random.Random, employment: Employment | None, recent_loss: bool
) -> BpjstkRecord | None:
    if employment is None:
        return None  # informal all along: the agency never heard of them
    registered = 0.95 if recent_loss else 0.85 if employment.active else 0.8
    if rng.random() >= registered:
        return None  # an employer that never enrolled its workers
    wage = employment.monthly_wage
    if rng.random() < 0.25:  # employers report less than they pay, to save on contributions
        wage = int(wage * rng.uniform(0.55, 0.9) / 1000) * 1000
    return BpjstkRecord(
        employment_status="active" if employment.active else "inactive",
        employer=employment.employer,
        monthly_wage=wage,
        termination_date=employment.termination_date,
    )


def _bpjs_kesehatan(
    rng: random.Random,
    members: tuple[Person, ...],
    economy: Economy,
    welfare: Welfare,
    dtks: DtksRecord | None,
) -> tuple[BpjsKesehatanRecord | None, ...]:
    family = _jkn_membership(rng, members[0], economy, welfare, dtks)
    if family is None:
        return (None,) * len(members)
    lapsed = BpjsKesehatanRecord("inactive", family.jkn_class, family.pbi, family.segment)
    return tuple(family if m.alive else lapsed for m in members)


def _jkn_membership(
    rng: random.Random, head: Person, economy: Economy, welfare: Welfare, dtks: DtksRecord | None
) -> BpjsKesehatanRecord | None:
    employment = economy.employment
    if dtks is not None and "PBI-JK" in dtks.programmes:
        # PBI-JK follows DTKS, and so inherits its errors.
        return BpjsKesehatanRecord("active", 3, True, "PBI-APBN")
    if employment is not None and (employment.active or economy.recent_job_loss):
        # Cover continues for six months after a lay-off, so the recently laid-off still show PPU.
        return BpjsKesehatanRecord(
            "active", 1 if employment.monthly_wage >= 4_500_000 else 2, False, "PPU"
        )
    roll = rng.random()
    if welfare != "non_poor":
        if roll < 0.45:  # Banyuwangi's own universal-coverage budget picks up some of the rest
            return BpjsKesehatanRecord("active", 3, True, "PBI-APBD")
        if roll < 0.7:  # self-paying class 3, often in arrears
            status: Membership = "inactive" if rng.random() < 0.5 else "active"
            return BpjsKesehatanRecord(status, 3, False, "PBPU")
        return None
    if roll < 0.1:
        return None
    if head.birth_date.year <= REFERENCE_DATE.year - 60 and roll < 0.35:
        return BpjsKesehatanRecord("active", 1 if roll < 0.2 else 2, False, "BP")  # pensioners
    standing = economy.latent.standing
    jkn_class = 1 if standing > 1.0 else 2 if standing > 0.0 else 3
    lapsed: Membership = "inactive" if rng.random() < 0.2 else "active"
    return BpjsKesehatanRecord(lapsed, jkn_class, False, "PBPU")


def _atr_bpn(
    rng: random.Random, village: Village, economy: Economy, welfare: Welfare
) -> AtrBpnRecord | None:
    assets = economy.assets
    if assets.land_parcels == 0:
        return None
    # Certificates cost money and trips to town: the poor hold more land on letter C or girik.
    chance = 0.35 if welfare == "poor" else 0.55 if welfare == "vulnerable" else 0.8
    registered = _kept(rng, assets.land_parcels, chance)
    if registered == 0:
        return None
    share = registered / assets.land_parcels
    area = (
        assets.land_area_m2
        if share == 1
        else int(assets.land_area_m2 * share * rng.uniform(0.5, 1.2))
    )
    price = profile(village).land_price_m2 * rng.uniform(0.7, 1.4)
    return AtrBpnRecord(registered, max(area, 1), int(area * price / 1000) * 1000)


def _polri(rng: random.Random, economy: Economy, welfare: Welfare) -> PolriRecord | None:
    assets = economy.assets
    cars = _kept(rng, assets.cars, 0.95)
    # Old motorcycles of poor families often lapse unregistered (tax unpaid, bought second hand).
    keep = 0.6 if welfare == "poor" else 0.8
    motorcycles = _kept(rng, assets.motorcycles, keep)
    # Vehicles sold without a change of name stay registered to the seller.
    motorcycles += rng.random() < 0.05
    cars += rng.random() < 0.01
    if cars == 0 and motorcycles == 0:
        return None
    mean_age = max(1.5, 8.0 - 3.0 * economy.latent.standing)
    newest = max(1995, REFERENCE_DATE.year - int(rng.random() * 2 * mean_age))
    return PolriRecord(cars, motorcycles, newest)


def _bank(rng: random.Random, economy: Economy, dtks: DtksRecord | None) -> BankRecord | None:
    balance = economy.assets.bank_balance
    # Some of the banked save at private banks or the BPR, which the Himbara API does not see.
    at_himbara = balance > 0 and rng.random() < 0.75
    # BPNT and PKH are paid into a KKS account at a Himbara bank, usually nearly empty.
    kks = dtks is not None and ("BPNT" in dtks.programmes or "PKH" in dtks.programmes)
    if not at_himbara and not kks:
        return None
    total, accounts = 0, 0
    if at_himbara:
        total += balance if rng.random() < 0.7 else int(balance * rng.uniform(0.3, 0.9))
        accounts += 1 + (balance > 50_000_000) + (rng.random() < 0.2)
    if kks:
        total += between(rng, 0, 300) * 1000
        accounts += 1
    total = total // 1000 * 1000
    # After a lay-off the savings are being spent: the 3-month average sits well above today's.
    drift = rng.uniform(1.4, 2.5) if economy.recent_job_loss else rng.uniform(0.8, 1.25)
    return BankRecord(accounts, total, int(total * drift) // 1000 * 1000)


def _kept(rng: random.Random, count: int, chance: float) -> int:
    """How many of ``count`` things each survive with ``chance`` (a binomial draw)."""
    kept = 0
    for _ in range(count):
        kept += rng.random() < chance
    return kept


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
