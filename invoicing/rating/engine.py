"""Rate one account: its charges and pending usage up to a target date, into one document draft.

Pure and deterministic: plain dataclasses in, plain dataclasses out, no clock, no database. The
bill run fills the inputs from the database in bulk and writes the result in one transaction.

Nothing is billed after a charge's last billable day (its end, the subscription's term end, the
day before its cancellation). A recurring charge already billed past that day is credited back
instead of billed: one credit line per billed line, and its cursor moves back (DESIGN §5).
"""

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from core.money import is_known_currency, round_amount, round_share
from core.tiers import InvalidTiers, Tier, parse_stored_tiers, parse_tiers
from invoicing.rating.periods import Period, PeriodGrid
from invoicing.rating.pricing import amount_for, volume_tier
from invoicing.rating.terms import (
    BillingPeriod,
    BillingTiming,
    ChargeModel,
    ChargeType,
    DocumentKind,
)

MAX_LINES_PER_DOCUMENT = 20_000
DESCRIPTION_LENGTH = 255  # DocumentLine.description: the engine never writes a longer one
ONE_DAY = timedelta(days=1)
UNIT_PRICE_PLACES = Decimal("0.000001")  # DocumentLine.unit_price has 6 decimals


class RatingError(Exception):
    """An account that cannot be rated. `code` is stable; the message is for an operator."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        charge_id: int | None = None,
        subscription_id: int | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.charge_id = charge_id
        self.subscription_id = subscription_id


@dataclass(frozen=True)
class BilledLine:
    """A charge line billed after the charge's last billable day: what credit back credits.

    Credit lines always credit a line's last days (from `credited_from` to its end), because a
    charge only ever ends earlier than what it billed.
    """

    id: int
    service_start: date
    service_end: date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # as billed, in the charge's own sign (a credit memo's line turned back)
    # The amounts of the non-canceled credit lines crediting it: the opposite sign, or 0.
    credited: Decimal = Decimal(0)
    # The first day those credit lines cover (None: none). Only needed once a charge re-billed
    # days it had credited (its end moved later again): a second credit then skips them.
    credited_from: date | None = None


@dataclass(frozen=True)
class ChargeInput:
    id: int
    number: str
    subscription_id: int
    name: str
    charge_type: str
    charge_model: str
    price: Decimal
    quantity: Decimal
    # The stored JSON, as text (the bill run reads it so) or decoded; parsed and validated when
    # the charge is rated.
    tiers: object
    billing_period: str
    billing_timing: str
    effective_start: date
    effective_end: date | None = None
    charged_through: date | None = None
    term_end: date | None = None  # the subscription's, after any renewal; None: evergreen
    canceled_on: date | None = None  # the subscription's first day without service
    # When charged_through is after the last billable day: the non-canceled charge lines that
    # end after it, to credit back. Empty otherwise (and nothing is credited without them).
    billed_lines: tuple[BilledLine, ...] = ()

    @property
    def last_billable_day(self) -> date | None:
        """The earliest of effective_end, term_end and the day before canceled_on (None: open).

        Nothing is billed after it, whatever the charge's own dates say.
        """
        last = self.effective_end
        if self.term_end is not None and (last is None or self.term_end < last):
            last = self.term_end
        if self.canceled_on is not None:
            served = self.canceled_on - ONE_DAY
            if last is None or served < last:
                last = served
        return last


class UsageInput(NamedTuple):
    """A pending usage record (a named tuple: a chunk reads thousands)."""

    id: int
    charge_id: int
    quantity: Decimal
    usage_date: date


@dataclass(frozen=True)
class AccountInput:
    id: int
    currency: str
    bill_cycle_day: int
    charges: Sequence[ChargeInput]
    usage: Sequence[UsageInput] = ()  # the account's Pending usage records


class LineDraft(NamedTuple):
    """A line to write. A named tuple, not a dataclass: a run makes millions of them, and a
    tuple is made several times faster (positionally, in this field order, on the hot path)."""

    charge_id: int
    subscription_id: int
    charge_type: str
    description: str  # at most DESCRIPTION_LENGTH characters
    service_start: date
    service_end: date
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal  # rounded to the currency's minor unit; signed as on the document
    usage_ids: tuple[int, ...] = ()  # the usage records this line bills
    credits: int | None = None  # a credit line: the id of the billed line it credits


@dataclass(frozen=True)
class DocumentDraft:
    kind: DocumentKind
    currency: str
    amount: Decimal  # never negative: a credit memo carries its lines with their signs turned
    lines: tuple[LineDraft, ...]


@dataclass(frozen=True)
class AccountRating:
    account_id: int
    document: DocumentDraft | None  # None when nothing is due
    # The new billing cursor of every charge that billed or credited something. None: the charge
    # was credited back to before its start, so nothing of it remains billed ("never billed").
    charged_through: dict[int, date | None] = field(default_factory=dict)
    # Pending usage left alone because its period was already billed (Zuora ignores it too).
    late_usage_ids: tuple[int, ...] = ()

    @property
    def usage_line_index(self) -> dict[int, int]:
        """Usage record id → index of the line (in document.lines) that bills it."""
        if self.document is None:
            return {}
        return {
            usage_id: index
            for index, line in enumerate(self.document.lines)
            for usage_id in line.usage_ids
        }


def rate_account(
    account: AccountInput, *, target_date: date, charge_types: Collection[str]
) -> AccountRating:
    """Bill everything due up to `target_date` for the included charge types, or raise."""
    if not is_known_currency(account.currency):
        raise RatingError(
            "currency_unknown",
            f"The account's currency {account.currency!r} is not an ISO 4217 code.",
        )
    if not 1 <= account.bill_cycle_day <= 31:
        raise RatingError(
            "invalid_bill_cycle_day",
            f"The bill cycle day {account.bill_cycle_day} is not between 1 and 31.",
        )
    usage_by_charge: dict[int, list[UsageInput]] = defaultdict(list)
    for record in account.usage:
        usage_by_charge[record.charge_id].append(record)

    rater = _AccountRater(account=account, target_date=target_date)
    for charge in sorted(account.charges, key=lambda c: (c.subscription_id, c.id)):
        if charge.charge_type not in charge_types:
            continue
        try:
            rater.rate(charge, usage_by_charge.get(charge.id, ()))
        except InvalidTiers as error:
            raise RatingError(
                "invalid_tiers",
                f"Charge {charge.number} has invalid tiers: {error}",
                charge_id=charge.id,
                subscription_id=charge.subscription_id,
            ) from None
    return AccountRating(
        account_id=account.id,
        document=make_document(rater.lines, account.currency) if rater.lines else None,
        charged_through=rater.charged_through,
        late_usage_ids=tuple(sorted(rater.late_usage_ids)),
    )


def make_document(lines: Sequence[LineDraft], currency: str) -> DocumentDraft:
    """One document per account: an invoice when the total is ≥ 0, else a credit memo."""
    total = sum((line.amount for line in lines), Decimal(0))
    if total >= 0:
        return DocumentDraft(DocumentKind.INVOICE, currency, total, tuple(lines))
    turned = tuple(
        line._replace(amount=-line.amount, unit_price=-line.unit_price) for line in lines
    )
    return DocumentDraft(DocumentKind.CREDIT_MEMO, currency, -total, turned)


class _AccountRater:
    def __init__(self, *, account: AccountInput, target_date: date):
        self.account = account
        self.target_date = target_date
        self.lines: list[LineDraft] = []
        self.charged_through: dict[int, date | None] = {}
        self.late_usage_ids: list[int] = []

    def rate(self, charge: ChargeInput, usage: Sequence[UsageInput]) -> None:
        last = charge.last_billable_day
        if charge.charge_type == ChargeType.ONE_TIME:
            self._rate_one_time(charge, last)
        elif charge.charge_type == ChargeType.RECURRING:
            through = charge.charged_through
            if last is not None and through is not None and through > last:
                self._credit_back(charge, last, through)  # billing resumes from the next run
            else:
                self._rate_recurring(charge, last)
        elif charge.charge_type == ChargeType.USAGE:
            self._rate_usage(charge, usage, last)
        else:
            raise self._error(
                charge, "invalid_charge", f"unknown charge type {charge.charge_type!r}"
            )

    # -- helpers ----------------------------------------------------------------------------

    def _error(self, charge: ChargeInput, code: str, detail: str) -> RatingError:
        return RatingError(
            code,
            f"Charge {charge.number}: {detail}.",
            charge_id=charge.id,
            subscription_id=charge.subscription_id,
        )

    def _tiers(self, charge: ChargeInput) -> tuple[Tier, ...]:
        if charge.charge_model in (ChargeModel.TIERED, ChargeModel.VOLUME):
            if isinstance(charge.tiers, str):
                return parse_stored_tiers(charge.tiers)
            return parse_tiers(charge.tiers)
        return ()

    def _model(self, charge: ChargeInput) -> ChargeModel:
        try:
            return ChargeModel(charge.charge_model)
        except ValueError:
            raise self._error(
                charge, "invalid_charge", f"unknown charge model {charge.charge_model!r}"
            ) from None

    def _grid(self, charge: ChargeInput) -> PeriodGrid:
        try:
            period = BillingPeriod(charge.billing_period)
        except ValueError:
            raise self._error(
                charge, "invalid_charge", f"unknown billing period {charge.billing_period!r}"
            ) from None
        return PeriodGrid.for_charge(
            billing_period=period,
            bill_cycle_day=self.account.bill_cycle_day,
            effective_start=charge.effective_start,
        )

    def _resume(self, charge: ChargeInput) -> date:
        """Where billing resumes: the day after the cursor, or the start when never billed."""
        if charge.charged_through is None:
            return charge.effective_start
        return max(charge.effective_start, charge.charged_through + ONE_DAY)

    def _add(self, charge: ChargeInput, line: LineDraft) -> None:
        if len(self.lines) >= MAX_LINES_PER_DOCUMENT:
            raise self._too_many_lines(charge)
        self.lines.append(line)
        self.charged_through[charge.id] = line.service_end

    def _too_many_lines(self, charge: ChargeInput) -> RatingError:
        return RatingError(
            "too_many_lines",
            f"The account has more than {MAX_LINES_PER_DOCUMENT:,} lines to bill; a "
            "document holds at most that many. Bill it with an earlier target date first.",
            charge_id=charge.id,
            subscription_id=charge.subscription_id,
        )

    def _unit_price(self, charge: ChargeInput, model: ChargeModel, tiers, quantity) -> Decimal:
        if model in (ChargeModel.FLAT_FEE, ChargeModel.PER_UNIT):
            return charge.price
        if model == ChargeModel.VOLUME:
            return volume_tier(tiers, quantity).unit_price
        if quantity == 0:
            return Decimal(0)
        # Graduated tiers have no single price: show the average, so quantity × price ≈ amount.
        total = amount_for(model=model, price=charge.price, quantity=quantity, tiers=tiers)
        return (total / quantity).quantize(UNIT_PRICE_PLACES)

    def _line(
        self,
        charge: ChargeInput,
        *,
        piece: Period,
        amount: Decimal,  # already rounded (self._round)
        quantity: Decimal,
        unit_price: Decimal,
        description: str,
        usage_ids: tuple[int, ...] = (),
    ) -> LineDraft:
        return LineDraft(
            charge_id=charge.id,
            subscription_id=charge.subscription_id,
            charge_type=charge.charge_type,
            description=description[:DESCRIPTION_LENGTH],
            service_start=piece.start,
            service_end=piece.end,
            quantity=quantity,
            unit_price=unit_price,
            amount=amount,
            usage_ids=usage_ids,
        )

    def _round(self, value: Decimal) -> Decimal:
        return round_amount(value, self.account.currency)

    def _round_share(self, value: Decimal, share: Fraction) -> Decimal:
        """`value` × `share` (days of a period), rounded."""
        return round_share(value, share.numerator, share.denominator, self.account.currency)

    # -- charge types -----------------------------------------------------------------------

    def _rate_one_time(self, charge: ChargeInput, last: date | None) -> None:
        if charge.charged_through is not None or charge.effective_start > self.target_date:
            return
        if last is not None and charge.effective_start > last:
            return  # ended, canceled or out of term before it was due: it never bills
        model = self._model(charge)
        tiers = self._tiers(charge)
        quantity = Decimal(1) if model == ChargeModel.FLAT_FEE else charge.quantity
        amount = amount_for(model=model, price=charge.price, quantity=charge.quantity, tiers=tiers)
        day = Period(charge.effective_start, charge.effective_start)
        self._add(
            charge,
            self._line(
                charge,
                piece=day,
                amount=self._round(amount),
                quantity=quantity,
                unit_price=self._unit_price(charge, model, tiers, charge.quantity),
                description=charge.name,
            ),
        )

    def _rate_recurring(self, charge: ChargeInput, end: date | None) -> None:
        model = self._model(charge)
        tiers = self._tiers(charge)
        grid = self._grid(charge)
        in_advance = charge.billing_timing != BillingTiming.IN_ARREARS
        since = self._resume(charge)
        if end is not None and since > end:
            return
        full_amount = amount_for(
            model=model, price=charge.price, quantity=charge.quantity, tiers=tiers
        )
        full_rounded = self._round(full_amount)  # most lines are whole periods
        quantity = Decimal(1) if model == ChargeModel.FLAT_FEE else charge.quantity
        unit_price = self._unit_price(charge, model, tiers, charge.quantity)
        # The bill run's hot path: lines are built positionally and added here, the cursor set
        # once, a period's days only counted when it is cut.
        lines = self.lines
        target_date = self.target_date
        charge_id, subscription_id = charge.id, charge.subscription_id
        charge_type, name = charge.charge_type, charge.name
        currency = self.account.currency
        billed_through = None
        for period_start, period_end in grid.periods_from(since):
            start = since if period_start < since else period_start
            stop = end if end is not None and end < period_end else period_end
            # In advance: a period is due once it has started; in arrears, once it has ended.
            if (start if in_advance else stop) > target_date:
                break
            if start == period_start and stop == period_end:
                amount, description = full_rounded, name
            else:
                days, period_days = (stop - start).days + 1, (period_end - period_start).days + 1
                amount = round_share(full_amount, days, period_days, currency)
                description = f"{name} (prorated {days}/{period_days} days)"[:DESCRIPTION_LENGTH]
            if len(lines) >= MAX_LINES_PER_DOCUMENT:
                raise self._too_many_lines(charge)
            lines.append(
                LineDraft(
                    charge_id, subscription_id, charge_type, description, start, stop,
                    quantity, unit_price, amount,
                )
            )  # fmt: skip
            billed_through = stop
            if end is not None and stop >= end:
                break
        if billed_through is not None:
            self.charged_through[charge.id] = billed_through

    def _credit_back(self, charge: ChargeInput, last: date, through: date) -> None:
        """Credit what was billed after the last billable day; the cursor moves back to it.

        Waits for a run whose target date reaches the first credited day (DESIGN §5), so a
        cancellation dated in the future is credited when it takes effect.
        """
        first_credited = last + ONE_DAY
        if first_credited > self.target_date:
            return
        grid = self._grid(charge)
        model = self._model(charge)
        full_amount = amount_for(
            model=model, price=charge.price, quantity=charge.quantity, tiers=self._tiers(charge)
        )
        for billed in sorted(charge.billed_lines, key=lambda b: (b.service_start, b.id)):
            # The line's days still billed (not credited before, not past the cursor) that
            # lie after the last billable day.
            end = min(billed.service_end, through)
            if billed.credited_from is not None:
                end = min(end, billed.credited_from - ONE_DAY)
            days = Period(max(billed.service_start, first_credited), end)
            if days.start <= days.end:
                line = self._credit_line(charge, billed, days, full_amount, grid)
                if line is not None:
                    if len(self.lines) >= MAX_LINES_PER_DOCUMENT:
                        raise self._too_many_lines(charge)
                    self.lines.append(line)
        self.charged_through[charge.id] = last if last >= charge.effective_start else None

    def _credit_line(
        self,
        charge: ChargeInput,
        billed: BilledLine,
        days: Period,
        full_amount: Decimal,
        grid: PeriodGrid,
    ) -> LineDraft | None:
        """The credit of `days` of a billed line: prorated like billing, capped by its rest."""
        left = billed.amount + billed.credited
        left = max(left, Decimal(0)) if billed.amount > 0 else min(left, Decimal(0))
        if left == 0:
            return None  # nothing left to credit
        # A billed line lies in one period of the grid; summing per period keeps a line from
        # elsewhere (spanning periods) right too.
        pieces = list(grid.pieces(days))
        share = sum((Fraction(piece.days, period.days) for piece, period in pieces), Fraction(0))
        shares = " + ".join(f"{piece.days}/{period.days}" for piece, period in pieces)
        low, high = sorted((Decimal(0), -left))
        amount = min(max(self._round_share(-full_amount, share), low), high)
        return LineDraft(
            charge_id=charge.id,
            subscription_id=charge.subscription_id,
            charge_type=charge.charge_type,
            description=(
                f"Credit: {charge.name}, {days.start.isoformat()} – {days.end.isoformat()}, "
                f"{shares} days"
            )[:DESCRIPTION_LENGTH],
            service_start=days.start,
            service_end=days.end,
            quantity=billed.quantity,
            unit_price=billed.unit_price,
            amount=amount,
            credits=billed.id,
        )

    def _rate_usage(
        self, charge: ChargeInput, usage: Sequence[UsageInput], end: date | None
    ) -> None:
        """Usage is billed in arrears: the pending records of each ended period, summed."""
        if not usage:
            return
        model = self._model(charge)
        if model == ChargeModel.FLAT_FEE:
            raise self._error(charge, "invalid_charge", "a usage charge cannot be a flat fee")
        tiers = self._tiers(charge)
        grid = self._grid(charge)
        since = self._resume(charge)
        by_period: dict[int, list[UsageInput]] = defaultdict(list)
        period_of: dict[date, int] = {}  # usage dates repeat: find each one's period once
        for record in usage:
            if record.usage_date < charge.effective_start or (
                end is not None and record.usage_date > end
            ):
                raise self._error(
                    charge,
                    "usage_outside_charge",
                    f"usage dated {record.usage_date.isoformat()} falls outside the charge's "
                    f"billable dates ({_span(charge.effective_start, end)})",
                )
            if record.quantity < 0:
                raise self._error(
                    charge, "invalid_usage", f"usage record {record.id} has a negative quantity"
                )
            if record.usage_date < since:
                self.late_usage_ids.append(record.id)
                continue
            k = period_of.get(record.usage_date)
            if k is None:
                k = period_of[record.usage_date] = grid.index_of(record.usage_date)
            by_period[k].append(record)
        for k in sorted(by_period):
            period = grid.period(k)
            piece = Period(
                # From where billing resumes: a period cut by an earlier end (since extended)
                # was billed up to the cursor, and its first day must not be billed again.
                max(period.start, since),
                period.end if end is None else min(period.end, end),
            )
            if piece.end > self.target_date:
                break  # this period (and every later one) has not ended yet
            records = sorted(by_period[k], key=lambda r: (r.usage_date, r.id))
            quantity = sum((r.quantity for r in records), Decimal(0))
            self._add(
                charge,
                self._line(
                    charge,
                    piece=piece,
                    amount=self._round(
                        amount_for(model=model, price=charge.price, quantity=quantity, tiers=tiers)
                    ),
                    quantity=quantity,
                    unit_price=self._unit_price(charge, model, tiers, quantity),
                    description=charge.name,
                    usage_ids=tuple(r.id for r in records),
                ),
            )


def _span(start: date, last: date | None) -> str:
    if last is None:
        return f"from {start.isoformat()}"
    return f"{start.isoformat()} to {last.isoformat()}"
