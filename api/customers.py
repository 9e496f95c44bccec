"""`/api/v1/accounts`, `/subscriptions`, `/charges`: customers and what they are sold, with the
subscription lifecycle of DESIGN §9 as actions. New rows go through `accounts_bulk_create` (the
import's and the seed's writer, which numbers them); changes through the amendment services."""

from django.db import DEFAULT_DB_ALIAS
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts import services
from accounts.models import Account, Charge, Subscription
from api.common import ApiView, CursorPage, by_key, success
from api.errors import refusals
from api.fields import SaneDateField

KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The id or number.")


class TierSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    unit_price = serializers.DecimalField(max_digits=20, decimal_places=6, required=False)
    flat_price = serializers.DecimalField(max_digits=20, decimal_places=6, required=False)


def as_stored_tiers(tiers: list[dict] | None) -> list[dict] | None:
    """Tiers as the model stores them: decimals as strings."""
    if tiers is None:
        return None
    return [
        {key: (str(value) if value is not None else None) for key, value in tier.items()}
        for tier in tiers
    ]


class ChargeSerializer(serializers.ModelSerializer):
    chargeNumber = serializers.CharField(source="number", read_only=True)
    subscriptionNumber = serializers.CharField(source="subscription.number", read_only=True)
    accountNumber = serializers.CharField(source="account.number", read_only=True)
    chargeType = serializers.ChoiceField(source="charge_type", choices=Charge.ChargeType.choices)
    chargeModel = serializers.ChoiceField(source="charge_model", choices=Charge.ChargeModel.choices)
    tiers = TierSerializer(many=True, required=False, allow_null=True)
    billingPeriod = serializers.ChoiceField(
        source="billing_period", choices=Charge.BillingPeriod.choices, required=False
    )
    billingTiming = serializers.ChoiceField(
        source="billing_timing", choices=Charge.BillingTiming.choices, required=False
    )
    effectiveStartDate = SaneDateField(source="effective_start")
    effectiveEndDate = SaneDateField(source="effective_end", required=False, allow_null=True)
    chargedThroughDate = serializers.DateField(
        source="charged_through", read_only=True, allow_null=True
    )
    replacesChargeNumber = serializers.CharField(
        source="replaces.number", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Charge
        fields = [
            "id", "chargeNumber", "subscriptionNumber", "accountNumber", "name", "chargeType",
            "chargeModel", "price", "quantity", "tiers", "uom", "billingPeriod",
            "billingTiming", "effectiveStartDate", "effectiveEndDate", "chargedThroughDate",
            "replacesChargeNumber",
        ]  # fmt: skip
        extra_kwargs = {"price": {"required": False}, "quantity": {"required": False}}

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "tiers" in values:
            values["tiers"] = as_stored_tiers(values["tiers"])
        return values


class SubscriptionSerializer(serializers.ModelSerializer):
    subscriptionNumber = serializers.CharField(source="number", read_only=True)
    accountNumber = serializers.CharField(source="account.number", read_only=True)
    termStartDate = SaneDateField(source="term_start")
    termEndDate = SaneDateField(source="term_end", required=False, allow_null=True)
    autoRenew = serializers.BooleanField(source="auto_renew", required=False)
    renewalTerm = serializers.IntegerField(
        source="renewal_term_months", required=False, min_value=1, max_value=120,
        help_text="Months a renewal adds to the term.",
    )  # fmt: skip
    cancellationEffectiveDate = serializers.DateField(
        source="canceled_on", read_only=True, allow_null=True
    )

    class Meta:
        model = Subscription
        fields = [
            "id", "subscriptionNumber", "accountNumber", "status", "termStartDate",
            "termEndDate", "autoRenew", "renewalTerm", "cancellationEffectiveDate",
        ]  # fmt: skip
        read_only_fields = ["status"]


class SubscriptionCreateSerializer(SubscriptionSerializer):
    accountNumber = serializers.CharField(max_length=20, help_text="The account's number.")
    charges = ChargeSerializer(many=True, required=False, max_length=100)

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "charges"]

    def validate_accountNumber(self, value: str) -> Account:
        account = Account.objects.filter(number=value.upper()).first()
        if account is None:
            raise serializers.ValidationError(f"No account {value!r}.")
        return account


class AccountSerializer(serializers.ModelSerializer):
    accountNumber = serializers.CharField(source="number", read_only=True)
    billCycleDay = serializers.IntegerField(source="bill_cycle_day", min_value=1, max_value=31)
    billToName = serializers.CharField(source="bill_to_name", required=False, allow_blank=True)
    billToEmail = serializers.EmailField(source="bill_to_email", required=False, allow_blank=True)
    paymentTermDays = serializers.IntegerField(
        source="payment_term_days", required=False, min_value=0, max_value=365
    )
    createdDate = serializers.DateTimeField(source="created_at", read_only=True)
    updatedDate = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id", "accountNumber", "name", "status", "currency", "billCycleDay", "batch",
            "billToName", "billToEmail", "paymentTermDays", "createdDate", "updatedDate",
        ]  # fmt: skip


def create_valid(instance, *, exclude=()):
    """The model's own validation (its constraints included) before a bulk insert."""
    instance.full_clean(exclude=["number", *exclude], validate_unique=False)
    return instance


class AccountListView(ApiView):
    perms = {"GET": ("accounts.view_account",), "POST": ("accounts.add_account",)}
    serializer_class = AccountSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listAccounts",
        parameters=[OpenApiParameter("status", str, enum=Account.Status.values)],
        responses={200: AccountSerializer(many=True), **refusals()},
    )
    def get(self, request):
        accounts = Account.objects.order_by()
        if status := request.query_params.get("status"):
            if status not in Account.Status.values:
                raise serializers.ValidationError({"status": ["Use Draft, Active or Canceled."]})
            accounts = accounts.filter(status=status)
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(AccountSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createAccount",
        request=AccountSerializer,
        responses={201: AccountSerializer, **refusals()},
    )
    def post(self, request):
        serializer = AccountSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = create_valid(Account(**serializer.validated_data))
        services.accounts_bulk_create(
            accounts=[account], subscriptions=[], charges=[], using=DEFAULT_DB_ALIAS
        )
        return success(AccountSerializer(account).data, status=201)


class AccountDetailView(ApiView):
    perms = {"GET": ("accounts.view_account",)}

    @extend_schema(
        operation_id="getAccount",
        parameters=[KEY],
        responses={200: AccountSerializer, **refusals()},
    )
    def get(self, request, key):
        return success(AccountSerializer(by_key(Account.objects.all(), key)).data)


def subscriptions():
    return Subscription.objects.select_related("account")


def charges():
    return Charge.objects.select_related("account", "subscription", "replaces")


class SubscriptionListView(ApiView):
    perms = {
        "GET": ("accounts.view_subscription",),
        "POST": ("accounts.add_subscription", "accounts.add_charge"),
    }
    serializer_class = SubscriptionSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listSubscriptions",
        parameters=[OpenApiParameter("accountNumber", str, description="Only this account's.")],
        responses={200: SubscriptionSerializer(many=True), **refusals()},
    )
    def get(self, request):
        rows = subscriptions()
        if number := request.query_params.get("accountNumber"):
            rows = rows.filter(account__number=number.replace("\x00", ""))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createSubscription",
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionSerializer, **refusals()},
    )
    def post(self, request):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        account = values.pop("accountNumber")
        charge_values = values.pop("charges", [])
        subscription = create_valid(Subscription(account=account, **values))
        for fields in charge_values:
            services.check_charge_start(
                fields["effective_start"], term_start=subscription.term_start, of="the subscription"
            )
        new_charges = [
            create_valid(
                Charge(subscription=subscription, account=account, **fields),
                exclude=["subscription"],
            )
            for fields in charge_values
        ]
        services.accounts_bulk_create(
            accounts=[], subscriptions=[subscription], charges=new_charges, using=DEFAULT_DB_ALIAS
        )
        return success(SubscriptionSerializer(subscription).data, status=201)


class SubscriptionDetailView(ApiView):
    perms = {"GET": ("accounts.view_subscription",)}

    @extend_schema(
        operation_id="getSubscription",
        parameters=[KEY],
        responses={200: SubscriptionSerializer, **refusals()},
    )
    def get(self, request, key):
        return success(SubscriptionSerializer(by_key(subscriptions(), key)).data)


class CancelSerializer(serializers.Serializer):
    cancellationEffectiveDate = SaneDateField(help_text="The first day without service.")


class SubscriptionCancelView(ApiView):
    perms = {"PUT": ("accounts.change_subscription",)}

    @extend_schema(
        operation_id="cancelSubscription",
        parameters=[KEY],
        request=CancelSerializer,
        responses={200: SubscriptionSerializer, **refusals()},
    )
    def put(self, request, key):
        subscription = by_key(subscriptions(), key)
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cancel_subscription(
            subscription=subscription,
            cancel_date=serializer.validated_data["cancellationEffectiveDate"],
            acting_user=request.user,
        )
        return success(SubscriptionSerializer(by_key(subscriptions(), key)).data)


class SubscriptionChargesView(ApiView):
    perms = {"GET": ("accounts.view_charge",), "POST": ("accounts.add_charge",)}
    serializer_class = ChargeSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listSubscriptionCharges",
        parameters=[KEY],
        responses={200: ChargeSerializer(many=True), **refusals()},
    )
    def get(self, request, key):
        subscription = by_key(subscriptions(), key)
        page = self.paginate_queryset(charges().filter(subscription=subscription))
        return self.get_paginated_response(ChargeSerializer(page, many=True).data)

    @extend_schema(
        operation_id="addCharge",
        parameters=[KEY],
        request=ChargeSerializer,
        responses={201: ChargeSerializer, **refusals()},
        description="Adds a charge from its effectiveStartDate (an AddCharge amendment).",
    )
    def post(self, request, key):
        subscription = by_key(subscriptions(), key)
        serializer = ChargeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charge = services.add_charge(
            subscription=subscription, acting_user=request.user, **serializer.validated_data
        )
        return success(ChargeSerializer(by_key(charges(), str(charge.pk))).data, status=201)


class ChargeDetailView(ApiView):
    perms = {"GET": ("accounts.view_charge",)}

    @extend_schema(
        operation_id="getCharge", parameters=[KEY], responses={200: ChargeSerializer, **refusals()}
    )
    def get(self, request, key):
        return success(ChargeSerializer(by_key(charges(), key)).data)


class ChangeSerializer(serializers.Serializer):
    effectiveDate = SaneDateField(help_text="The first day of the new terms.")
    price = serializers.DecimalField(max_digits=20, decimal_places=6, required=False)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, required=False)
    tiers = TierSerializer(many=True, required=False)


class ChargeChangeView(ApiView):
    perms = {"PUT": ("accounts.change_charge",)}

    @extend_schema(
        operation_id="changeCharge",
        parameters=[KEY],
        request=ChangeSerializer,
        responses={200: ChargeSerializer, **refusals()},
        description="New price, quantity or tiers from effectiveDate: the charge ends the day "
        "before and its successor (answered) starts that day; the next bill run credits what "
        "was billed past the end.",
    )
    def put(self, request, key):
        charge = by_key(charges(), key)
        serializer = ChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        carrier = services.change_charge(
            charge=charge,
            effective_date=values["effectiveDate"],
            price=values.get("price"),
            quantity=values.get("quantity"),
            tiers=as_stored_tiers(values.get("tiers")),
            acting_user=request.user,
        )
        return success(ChargeSerializer(by_key(charges(), str(carrier.pk))).data)


class RemoveSerializer(serializers.Serializer):
    effectiveDate = SaneDateField(help_text="The first day without the charge.")


class ChargeRemoveView(ApiView):
    perms = {"PUT": ("accounts.change_charge",)}

    @extend_schema(
        operation_id="removeCharge",
        parameters=[KEY],
        request=RemoveSerializer,
        responses={200: ChargeSerializer, **refusals()},
    )
    def put(self, request, key):
        charge = by_key(charges(), key)
        serializer = RemoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.remove_charge(
            charge=charge,
            effective_date=serializer.validated_data["effectiveDate"],
            acting_user=request.user,
        )
        return success(ChargeSerializer(by_key(charges(), key)).data)
