"""The engine's vocabulary, spelled exactly as the models store it (a test keeps them equal)."""

from enum import StrEnum


class ChargeType(StrEnum):
    ONE_TIME = "OneTime"
    RECURRING = "Recurring"
    USAGE = "Usage"


class ChargeModel(StrEnum):
    FLAT_FEE = "FlatFee"
    PER_UNIT = "PerUnit"
    TIERED = "Tiered"
    VOLUME = "Volume"


class BillingPeriod(StrEnum):
    WEEK = "Week"
    MONTH = "Month"
    QUARTER = "Quarter"
    SEMI_ANNUAL = "SemiAnnual"
    ANNUAL = "Annual"


class BillingTiming(StrEnum):
    IN_ADVANCE = "InAdvance"
    IN_ARREARS = "InArrears"


class DocumentKind(StrEnum):
    INVOICE = "Invoice"
    CREDIT_MEMO = "CreditMemo"


MONTHS_PER_PERIOD = {
    BillingPeriod.MONTH: 1,
    BillingPeriod.QUARTER: 3,
    BillingPeriod.SEMI_ANNUAL: 6,
    BillingPeriod.ANNUAL: 12,
}
