"""`POST /api/v1/usage`: up to 1,000 usage records a request, each answered in order (DESIGN §10).

A record is Accepted (stored Pending), a Duplicate (its `uniqueKey` is already stored: re-sending
a batch is safe) or Rejected with its reasons; the valid records of a batch are stored even when
others are rejected, in one transaction. The records are checked by hand rather than by a DRF
serializer per record: a thousand serializers cost more than the write (this is the metering
pipeline's hot path), and the checks are the CSV import's own (`accounts.usage`).
"""

import datetime as dt
from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.imports.values import parse_date, parse_decimal
from accounts.usage import NewUsage, UsageReferences, usage_keys_stored, usage_records_store
from api.common import ApiView, ErrorReasonSerializer, success
from api.errors import refusals
from api.fields import date_window

MAX_RECORDS = 1_000
KEY_LENGTH = 255
NUMBER_LENGTH = 20
ACCEPTED, DUPLICATE, REJECTED = "Accepted", "Duplicate", "Rejected"
API_FIELDS = {
    "account_number": "accountNumber",
    "charge_number": "chargeNumber",
    "quantity": "quantity",
    "usage_date": "usageDate",
}


class UsageRecordSerializer(serializers.Serializer):
    uniqueKey = serializers.CharField(max_length=KEY_LENGTH, help_text="Your key for it.")
    accountNumber = serializers.CharField(max_length=NUMBER_LENGTH)
    chargeNumber = serializers.CharField(max_length=NUMBER_LENGTH, help_text="A Usage charge.")
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal(0))
    usageDate = serializers.DateField()


class UsageRequestSerializer(serializers.Serializer):
    data = UsageRecordSerializer(many=True, max_length=MAX_RECORDS)


class UsageResultSerializer(serializers.Serializer):
    uniqueKey = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=[ACCEPTED, DUPLICATE, REJECTED])
    reasons = ErrorReasonSerializer(many=True)


class UsageAnswerSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = UsageResultSerializer(many=True)


def _text(record: dict, field: str, limit: int, reasons: list) -> str | None:
    value = record.get(field)
    if value is None or value == "":
        reasons.append(_reason("required", field, "is required"))
        return None
    if not isinstance(value, str):
        reasons.append(_reason("invalid", field, "must be a string"))
        return None
    value = value.strip()
    if not value or len(value) > limit or not value.isprintable():
        reasons.append(_reason("invalid", field, f"must be 1 to {limit} printable characters"))
        return None
    return value


def _reason(code: str, field: str, message: str) -> dict:
    return {"code": code, "field": field, "message": f"{field} {message}"}


def _check(
    record, seen: set[str], window: tuple[dt.date, dt.date]
) -> tuple[str | None, tuple | None, list[dict]]:
    """The record's key, its parsed (account, charge, quantity, date) and its reasons."""
    if not isinstance(record, dict):
        return None, None, [{"code": "invalid", "message": "A record is a JSON object."}]
    reasons: list[dict] = []
    key = _text(record, "uniqueKey", KEY_LENGTH, reasons)
    account = _text(record, "accountNumber", NUMBER_LENGTH, reasons)
    charge = _text(record, "chargeNumber", NUMBER_LENGTH, reasons)
    quantity = record.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, str | int | float):
        reasons.append(_reason("invalid", "quantity", 'must be a number, like "12.5"'))
        quantity = None
    else:
        try:
            text = str(quantity).strip()
        except ValueError:  # an integer beyond Python's 4,300 digits for str()
            text = "too many digits"
        quantity = parse_decimal(text, negative=False)
        if isinstance(quantity, str):
            reasons.append(_reason("invalid", "quantity", f"is wrong: {quantity}"))
            quantity = None
    usage_date = record.get("usageDate")
    usage_date = parse_date(usage_date) if isinstance(usage_date, str) else "not a string"
    if isinstance(usage_date, str):
        reasons.append(_reason("invalid", "usageDate", "must be a date as YYYY-MM-DD"))
        usage_date = None
    elif not window[0] <= usage_date <= window[1]:
        reasons.append(
            _reason("invalid", "usageDate", f"Use a date from {window[0]} to {window[1]}.")
        )
        usage_date = None
    if key is not None and key in seen:
        reasons.append(_reason("duplicate_in_request", "uniqueKey", "is used twice in the request"))
    elif key is not None:
        seen.add(key)
    return key, (account, charge, quantity, usage_date), reasons


class UsageView(ApiView):
    perms = {"POST": ("accounts.add_usagerecord",)}

    @extend_schema(
        operation_id="createUsage",
        request=UsageRequestSerializer,
        responses={200: UsageAnswerSerializer, **refusals()},
        description=f"Up to {MAX_RECORDS:,} records; each is answered in order: Accepted, "
        "Duplicate (its uniqueKey is already stored) or Rejected with reasons.",
    )
    def post(self, request):
        data = request.data.get("data") if isinstance(request.data, dict) else None
        if not isinstance(data, list) or not 1 <= len(data) <= MAX_RECORDS:
            raise serializers.ValidationError(
                {"data": [f'Send {{"data": [...]}} with 1 to {MAX_RECORDS:,} records.']}
            )
        seen: set[str] = set()
        window = date_window()
        checked = [_check(record, seen, window) for record in data]
        references = UsageReferences()
        references.load(
            {values[0] for _, values, _ in checked if values and values[0]},
            {values[1] for _, values, _ in checked if values and values[1]},
        )
        results: list[dict] = []
        new: list[NewUsage] = []
        for key, values, reasons in checked:
            if values is not None and values[0] and values[1]:
                account_id, charge, refused = references.refusals(values[0], values[1], values[3])
                reasons += [
                    _reason("refused", API_FIELDS[field], message) for field, message in refused
                ]
            if not reasons:
                new.append(NewUsage(key, account_id, charge.id, values[2], values[3]))
            results.append(
                {"uniqueKey": key, "status": REJECTED if reasons else ACCEPTED, "reasons": reasons}
            )
        # A key already stored is a Duplicate whatever its record says now (its charge may have
        # ended since): re-sending must never turn stored records into rejections. Only the
        # rejected keys need the lookup; the insert tells the accepted ones apart.
        rejected = {r["uniqueKey"] for r in results if r["status"] == REJECTED and r["uniqueKey"]}
        if rejected and (stored_before := usage_keys_stored(rejected)):
            for result in results:
                if result["uniqueKey"] in stored_before:
                    result.update(status=DUPLICATE, reasons=[])
        stored = usage_records_store(records=new, source=f"API {request.user.get_username()}"[:255])
        for result in results:
            if result["status"] == ACCEPTED and result["uniqueKey"] not in stored:
                result["status"] = DUPLICATE
        counts = {status: 0 for status in (ACCEPTED, DUPLICATE, REJECTED)}
        for result in results:
            counts[result["status"]] += 1
        return success(
            {
                "accepted": counts[ACCEPTED],
                "duplicates": counts[DUPLICATE],
                "rejected": counts[REJECTED],
                "results": results,
            }
        )
