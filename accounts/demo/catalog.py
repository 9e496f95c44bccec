"""What the demo sells and to whom: currencies, company names, plans, billing periods, usage
products, and the weighted draws that shape an account (status, bill cycle day, start dates).

Prices are whole micro-dollars (`MICROS` per dollar), converted to each currency with integer
arithmetic by `Currency`, so no float ever touches money.
"""

from dataclasses import dataclass
from decimal import Decimal

from accounts.demo.draws import Pick, below
from accounts.models import Account, Charge

Model = Charge.ChargeModel
Period = Charge.BillingPeriod


# --- Currencies -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Currency:
    code: str
    places: int  # ISO 4217 minor unit
    # Fixed demo rate, local units per USD as a fraction (not market data: only plausible).
    rate_num: int
    rate_den: int
    legal_forms: tuple[str, ...]

    @property
    def unit_places(self) -> int:
        # Unit prices go two places finer than the minor unit (0.0079 USD per SMS), except in
        # currencies without a minor unit, whose prices stay whole (1 JPY per SMS).
        return self.places + 2 if self.places else 0

    def amount(self, usd_micros: int, places: int) -> Decimal:
        """Convert micro-dollars to this currency at `places` decimals, half up, no float."""
        sign = -1 if usd_micros < 0 else 1
        step = 10 ** (6 - places) * self.rate_den  # micro-dollars × den per local step
        steps = (2 * abs(usd_micros) * self.rate_num + step) // (2 * step)
        if usd_micros and not steps:
            steps = 1  # a tiny price rounds up to the smallest step rather than to free
        return Decimal(sign * steps).scaleb(-places)

    def price(self, usd_micros: int) -> Decimal:
        return self.amount(usd_micros, self.places)

    def unit_price(self, usd_micros: int) -> Decimal:
        return self.amount(usd_micros, self.unit_places)

    def raised(self, price: Decimal, percent: int) -> Decimal:
        """A positive `price` raised by `percent` %, half up to the minor unit, no float."""
        steps = int(price.scaleb(self.places))  # exact: prices are whole minor units
        return Decimal((2 * steps * (100 + percent) + 100) // 200).scaleb(-self.places)


CURRENCIES = (
    Currency("USD", 2, 1, 1, ("Inc.", "LLC", "Corp.", "Co.")),
    Currency("EUR", 2, 92, 100, ("GmbH", "SA", "B.V.", "S.r.l.", "SAS", "Oy")),
    Currency("GBP", 2, 79, 100, ("Ltd", "PLC", "LLP")),
    Currency("JPY", 0, 100, 1, ("K.K.", "Co., Ltd.")),
    Currency("CAD", 2, 136, 100, ("Inc.", "Ltd.")),
    Currency("AUD", 2, 152, 100, ("Pty Ltd",)),
    Currency("CHF", 2, 88, 100, ("AG", "SA", "GmbH")),
    Currency("SEK", 2, 1050, 100, ("AB",)),
    # Three decimals: the edge for rounding to a currency's own minor unit.
    Currency("BHD", 3, 377, 1000, ("W.L.L.", "B.S.C.")),
)
CURRENCY = Pick(list(zip(CURRENCIES, (38, 20, 12, 8, 6, 5, 4, 4, 3), strict=True)))

# --- Names ----------------------------------------------------------------------------------
_BRANDS = (
    "Acme Alpine Apex Atlas Aurora Beacon Birch Blue Bright Brook Canyon Cedar Civic Clear "
    "Coastal Cobalt Copper Crescent Delta Echo Ember Evergreen Falcon Frontier Golden Granite "
    "Harbor Highland Horizon Iron Juniper Keystone Lakeside Lumen Maple Meridian Metro Nimbus "
    "Northwind Nova Oak Orion Pinnacle Pioneer Polar Prairie Quantum Redwood Riverbend "
    "Sapphire Silver Sterling Stone Summit Tidewater Union Vantage Vertex Willow Zenith"
).split()
_TRADES = (
    "Analytics Biotech Capital Cloud Consulting Data Dynamics Energy Farms Foods Freight Health "
    "Holdings Hospitality Industries Instruments Insurance Labs Learning Logistics "
    "Manufacturing Materials Media Motors Networks Outfitters Partners Pharma Retail Robotics "
    "Security Software Solutions Studios Systems Technologies Telecom Textiles Travel Ventures"
).split()
FIRST_NAMES = (
    "Aiko Alex Amara Ana Ben Carla Chen Daniel Elena Emma Fatima Felix Grace Hannah Hiro Ines "
    "Jonas Julia Karim Kenji Laura Leo Lina Lucas Maria Mateo Mia Noah Nora Olivia Omar Paul "
    "Priya Rafael Sara Sofia Tom Yara Yuki Zoe"
).split()
LAST_NAMES = (
    "Ahmed Andersson Baker Bernard Costa Dubois Eriksson Fischer Garcia Green Hansen Hughes "
    "Ito Jensen Kim Kowalski Lambert Lopez Martin Meyer Moreau Nakamura Nguyen Novak Okafor "
    "Patel Rossi Santos Schmidt Silva Singh Suzuki Tanaka Taylor Thompson Walker Weber "
    "Williams Wilson Young"
).split()
MAILBOXES = ("billing", "accounts", "ap", "finance", "invoices")


def company(rand, currency: Currency) -> tuple[str, str]:
    """A company name and its made-up mail domain (.example never resolves)."""
    form = currency.legal_forms[below(rand, len(currency.legal_forms))]
    shape = rand()
    if shape < 0.7:
        brand, trade = _BRANDS[below(rand, len(_BRANDS))], _TRADES[below(rand, len(_TRADES))]
        return f"{brand} {trade} {form}", f"{brand}-{trade}".lower()
    if shape < 0.85:
        first, second = (
            LAST_NAMES[below(rand, len(LAST_NAMES))],
            LAST_NAMES[below(rand, len(LAST_NAMES))],
        )
        trade = _TRADES[below(rand, len(_TRADES))]
        return f"{first} & {second} {trade} {form}", f"{first}{second}".lower()
    brand, trade = _BRANDS[below(rand, len(_BRANDS))], _TRADES[below(rand, len(_TRADES))]
    return f"{brand} {trade} Group {form}", f"{brand}-group".lower()


# --- Catalogue ------------------------------------------------------------------------------
MICROS = 1_000_000  # micro-dollars per dollar

# Plan: name, monthly list prices in whole USD, seat price per month in USD, seat probability.
PLAN = Pick(
    [
        (("Starter", (19, 29, 49), 0, 0.0), 30),
        (("Team", (79, 99, 149), 9, 0.5), 28),
        (("Business", (299, 499, 799), 15, 0.65), 22),
        (("Enterprise", (1499, 2499, 4999), 25, 0.75), 8),
        (("Premium support", (150, 300, 600), 0, 0.0), 7),
        (("Compliance add-on", (60, 120), 0, 0.0), 5),
    ]
)
# Billing period: label, price factor over a month as (numerator, denominator). Annual prepay
# gets two months free, as SaaS price lists usually do.
PERIOD = Pick(
    [
        ((Period.MONTH, "monthly", 1, 1), 62),
        ((Period.QUARTER, "quarterly", 3, 1), 13),
        ((Period.ANNUAL, "annual", 10, 1), 14),
        ((Period.SEMI_ANNUAL, "semi-annual", 6, 1), 5),
        ((Period.WEEK, "weekly", 12, 52), 6),
    ]
)
USAGE_PERIOD = Pick([(Period.MONTH, 85), (Period.QUARTER, 8), (Period.WEEK, 7)])


@dataclass(frozen=True)
class UsageProduct:
    name: str
    uom: str
    model: str
    # PerUnit: one (None, unit price) pair; Tiered/Volume: (up_to, unit price, flat price)
    # with prices in micro-dollars and the last up_to None.
    tiers: tuple[tuple[int | None, int, int], ...]
    places: int  # decimals of a usage quantity
    # A customer's typical quantity is 10**e steps of 10**-places, e in [low, high).
    magnitude: tuple[int, int]


USAGE = Pick(
    [
        (
            UsageProduct(
                "API requests",
                "1K requests",
                Model.TIERED,
                ((1_000, 400_000, 0), (10_000, 300_000, 0), (None, 200_000, 0)),
                3,
                (2, 7),
            ),
            30,
        ),
        (
            UsageProduct(
                "Storage",
                "GB",
                Model.VOLUME,
                ((100, 250_000, 0), (1_000, 200_000, 0), (10_000, 150_000, 0), (None, 100_000, 0)),
                3,
                (3, 8),
            ),
            22,
        ),
        (
            UsageProduct("SMS messages", "message", Model.PER_UNIT, ((None, 7_900, 0),), 0, (0, 5)),
            15,
        ),
        (
            UsageProduct(
                "Compute",
                "vCPU-hour",
                Model.TIERED,
                # The first 100 hours are a flat bundle; beyond it each hour is charged.
                ((100, 0, 25 * MICROS), (None, 45_000, 0)),
                2,
                (2, 6),
            ),
            15,
        ),
        (UsageProduct("Data transfer", "GB", Model.PER_UNIT, ((None, 90_000, 0),), 3, (3, 7)), 10),
        (
            UsageProduct(
                "Events ingested",
                "1M events",
                Model.VOLUME,
                ((50, 1_200_000, 10 * MICROS), (500, 900_000, 0), (None, 600_000, 0)),
                2,
                (1, 5),
            ),
            8,
        ),
    ]
)

SUBSCRIPTIONS = Pick([(1, 46), (2, 30), (3, 13), (4, 7), (5, 4)])
USAGE_CHARGES = Pick([(0, 55), (1, 33), (2, 12)])
# Months before as_of in which a subscription starts; "future" is a start after as_of.
START = Pick([((0, 2), 33), ((3, 6), 30), ((7, 12), 20), ((13, 35), 14), ("future", 3)])
STATUS = Pick(
    [(Account.Status.ACTIVE, 94), (Account.Status.DRAFT, 3), (Account.Status.CANCELED, 3)]
)
# Many customers bill on the 1st, some mid-month, the rest anywhere (29–31 included).
BILL_CYCLE_DAY = Pick([(1, 30), (15, 8)] + [(day, 2) for day in range(2, 32) if day != 15])
PAYMENT_TERM = Pick([(0, 8), (15, 15), (30, 55), (45, 12), (60, 10)])
