"""Cell values: what a cell may hold, turned into the value a model field takes.

The parsers serve both imports; each returns the value, or the reason it is not one (a string:
tell them apart with `isinstance(value, str)`), since a bad cell is one error of its row, not an
exception. The cleaners turn one row of the accounts file into the field values of its account,
subscription and charge, with the reasons for each column that is wrong.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.db import models

from accounts.imports.reading import MISSING
from accounts.models import BATCHES, PRICE, Account, Charge, Subscription
from core.tiers import InvalidTiers, load_tiers

INTEGER_DIGITS = PRICE["max_digits"] - PRICE["decimal_places"]
DECIMAL_PLACES = PRICE["decimal_places"]
_SMALLEST_STEP = Decimal(1).scaleb(-DECIMAL_PLACES)
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


@lru_cache(maxsize=4096)
def parse_date(text: str) -> dt.date | str:
    """A date as YYYY-MM-DD, or the reason it is not one."""
    if _DATE_SHAPE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    return f"{text!r} is not a date as YYYY-MM-DD"


def parse_decimal(text: str, *, negative: bool) -> Decimal | str:
    """A Decimal that fits the PRICE columns, or the reason it does not."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return f"{text!r} is not a number (write it with a dot, like 12.5)"
    if not value.is_finite():
        return f"{text!r} is not a number (write it with a dot, like 12.5)"
    if value < 0 and not negative:
        return f"{text} is negative; it must be 0 or more"
    if value and value.adjusted() >= INTEGER_DIGITS:
        return f"{text} is too large: at most {INTEGER_DIGITS} digits before the decimal point"
    if value.as_tuple().exponent < -DECIMAL_PLACES:
        exact = value.quantize(_SMALLEST_STEP)
        if exact != value:
            return f"{text} has more than {DECIMAL_PLACES} decimals"
        value = exact  # 1.50000000 is 1.500000
    return value


def parse_whole_number(text: str, *, low: int, high: int) -> int | str:
    try:
        value = int(text)
    except ValueError:
        return f"{text!r} is not a whole number"
    if not low <= value <= high:
        return f"{value} is not between {low} and {high}"
    return value


def choice_error(text: str, choices: type[models.TextChoices], what: str) -> str | None:
    """None when `text` is a stored value of `choices`, else the reason."""
    if text in choices.values:
        return None
    values = list(choices.values)
    return f"{text!r} is not {what}: use {', '.join(values[:-1])} or {values[-1]}"


# --- Rows of the accounts file --------------------------------------------------------------------
# Model field -> CSV column, where they differ.
_ACCOUNT_COLUMN_OF = {"name": "account_name", "number": "account_number"}
_CHARGE_COLUMN_OF = {"name": "charge_name"}
_SUBSCRIPTION_COLUMN_OF: dict[str, str] = {}


def _keep(values: dict, errors: list[tuple[str, str]], column: str, parsed) -> None:
    """A parsed cell: its value goes to the field of the column's name, its reason to the errors."""
    if isinstance(parsed, str):
        errors.append((column, parsed))
    else:
        values[column] = parsed


def _full_clean(instance, errors, column_of: dict[str, str], *, exclude=()) -> None:
    """Run the model's own validation, leaving out fields already found wrong.

    Constraints are checked by the import itself: Django validates a CheckConstraint with one
    query per instance, too slow for a file.
    """
    failed = {field for field, _ in errors}
    skip = [*exclude, *(f for f, c in column_of.items() if c in failed), *failed]
    try:
        instance.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            if name in skip:
                continue  # the model's clean() runs whatever is excluded
            column = "" if name == "__all__" else column_of.get(name, name)
            errors += [(column, str(message).rstrip(".")) for message in messages]


def clean_account(get, number: str) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    values = {
        "number": number,
        "name": get("account_name"),
        "status": Account.Status.ACTIVE,
        "currency": get("currency").upper(),
        "batch": get("batch") or BATCHES[0],
        "bill_to_name": get("bill_to_name"),
        "bill_to_email": get("bill_to_email"),
        "bill_cycle_day": None,
        "payment_term_days": 30,
    }
    for column in ("account_name", "currency", "bill_cycle_day"):
        if not get(column):
            errors.append((column, MISSING))
    if get("bill_cycle_day"):
        day = parse_whole_number(get("bill_cycle_day"), low=1, high=31)
        _keep(values, errors, "bill_cycle_day", day)
    if values["batch"] not in BATCHES:
        errors.append(("batch", f"{values['batch']!r} is not a batch: use Batch1 … Batch50"))
    if get("payment_term_days"):
        days = parse_whole_number(get("payment_term_days"), low=0, high=32767)
        _keep(values, errors, "payment_term_days", days)
    instance = Account(**values)
    _full_clean(instance, errors, _ACCOUNT_COLUMN_OF)
    return _field_values(instance, values), errors


def clean_subscription(get) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    values: dict = {"status": Subscription.Status.ACTIVE, "term_start": None, "term_end": None}
    for column, required in (("term_start", True), ("term_end", False)):
        text = get(column)
        if not text:
            if required:
                errors.append((column, MISSING))
            continue
        _keep(values, errors, column, parse_date(text))
    if values["term_start"] and values["term_end"] and values["term_end"] < values["term_start"]:
        errors.append(("term_end", _constraint_message(Subscription, "subscription_term_ordered")))
    instance = Subscription(**values)
    _full_clean(instance, errors, _SUBSCRIPTION_COLUMN_OF, exclude=["account"])
    return _field_values(instance, values), errors


def clean_charge(get) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    Type, Model = Charge.ChargeType, Charge.ChargeModel
    charge_type, charge_model = get("charge_type"), get("charge_model")
    values: dict = {
        "name": get("charge_name"),
        "charge_type": charge_type,
        "charge_model": charge_model,
        "price": Decimal(0),
        "quantity": Decimal(1),
        "billing_period": get("billing_period"),
        "billing_timing": get("billing_timing")
        or (
            Charge.BillingTiming.IN_ARREARS
            if charge_type == Type.USAGE
            else Charge.BillingTiming.IN_ADVANCE
        ),
        "effective_start": None,
        "effective_end": None,
        "uom": get("uom"),
        "tiers": [],
    }
    for column in ("charge_name", "charge_type", "charge_model", "effective_start"):
        if not get(column):
            errors.append((column, MISSING))
    choices = (
        ("charge_type", Type, "a charge type"),
        ("charge_model", Model, "a charge model"),
        ("billing_period", Charge.BillingPeriod, "a billing period"),
        ("billing_timing", Charge.BillingTiming, "a billing timing"),
    )
    for column, choice, what in choices:
        text = values[column]
        if text and (reason := choice_error(text, choice, what)):
            errors.append((column, reason))
    for column, negative in (("price", True), ("quantity", True)):
        text = get(column)
        if text:
            _keep(values, errors, column, parse_decimal(text, negative=negative))
        elif column == "price" and charge_model in (Model.FLAT_FEE, Model.PER_UNIT):
            errors.append((column, f"{MISSING}: {charge_model} charges need a price"))
    for column in ("effective_start", "effective_end"):
        if get(column):
            _keep(values, errors, column, parse_date(get(column)))
    if get("tiers"):
        try:
            # Numbers stay strings ("0.10"), never floats: money is never a float.
            values["tiers"] = load_tiers(get("tiers"))
        except InvalidTiers as error:
            errors.append(("tiers", _lower_first(str(error).rstrip("."))))

    # The model's check constraints, said in its own words, on the column to fix.
    if charge_type in (Type.RECURRING, Type.USAGE) and not values["billing_period"]:
        errors.append(
            (
                "billing_period",
                _constraint_message(Charge, "charge_period_when_recurring_or_usage"),
            )
        )
    if charge_type == Type.USAGE and charge_model == Model.FLAT_FEE:
        errors.append(("charge_model", _constraint_message(Charge, "charge_usage_not_flat_fee")))
    start, end = values["effective_start"], values["effective_end"]
    if start and end and end < start:
        errors.append(("effective_end", _constraint_message(Charge, "charge_effective_ordered")))
    instance = Charge(**values)
    exclude = ["subscription", "account"]
    if any(column in {"charge_type", "charge_model"} for column, _ in errors):
        exclude.append("tiers")  # which rule applies to the tiers depends on the model
    _full_clean(instance, errors, _CHARGE_COLUMN_OF, exclude=exclude)
    return _field_values(instance, values), errors


def _lower_first(message: str) -> str:
    """A sentence as the import's reasons read: "not valid JSON (…)"."""
    return message[:1].lower() + message[1:]


def _field_values(instance, values: dict) -> dict:
    """The values after the model's cleaning (to_python), for the write."""
    return {name: getattr(instance, name) for name in values}


def _constraint_message(model, name: str) -> str:
    (constraint,) = [c for c in model._meta.constraints if c.name == name]
    return str(constraint.violation_error_message).rstrip(".")
