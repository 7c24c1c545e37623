"""The reference bansos eligibility service: a transparent formula over what the hub releases.

``formula`` decides one applicant from the evidence, stating every reason; ``evaluation``
compares many decisions with ground truth and with DTKS alone; ``service`` asks the hub.
"""

from examples.eligibility.evaluation import Targeting, VillageReport, evaluate, render
from examples.eligibility.formula import (
    Criteria,
    CriteriaError,
    Determination,
    Evidence,
    Reason,
    ServiceEvidence,
    decide,
    load_criteria,
)
from examples.eligibility.service import PURPOSE, SERVICES, EligibilityService

__all__ = [
    "PURPOSE",
    "SERVICES",
    "Criteria",
    "CriteriaError",
    "Determination",
    "EligibilityService",
    "Evidence",
    "Reason",
    "ServiceEvidence",
    "Targeting",
    "VillageReport",
    "decide",
    "evaluate",
    "load_criteria",
    "render",
]
