"""`/api/v1/webhooks`: register, list, read and remove endpoints; their deliveries with every
attempt; replay a delivery (DESIGN §10). The same services as the Webhooks pages."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from api import webhooks
from api.common import ApiView, CursorPage, SuccessSerializer, by_key, success
from api.errors import refusals
from api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from billruns.events import EVENTS

ID = OpenApiParameter("key", str, OpenApiParameter.PATH, description="The id.")


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENTS)), min_length=1, max_length=len(EVENTS)
    )
    createdDate = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "secret", "createdDate"]
        read_only_fields = ["secret", "enabled"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    statusCode = serializers.IntegerField(source="status_code", allow_null=True)
    responseTimeMs = serializers.IntegerField(source="response_ms")
    responseExcerpt = serializers.CharField(source="response_excerpt")

    class Meta:
        model = WebhookAttempt
        fields = ["at", "statusCode", "responseTimeMs", "error", "responseExcerpt"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    createdDate = serializers.DateTimeField(source="created_at")
    deliveredDate = serializers.DateTimeField(source="delivered_at", allow_null=True)
    nextAttemptDate = serializers.DateTimeField(source="next_attempt_at", allow_null=True)
    replayOfId = serializers.IntegerField(source="replay_of_id", allow_null=True)
    attemptLog = WebhookAttemptSerializer(source="attempt_log", many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event", "status", "attempts", "createdDate", "deliveredDate",
            "nextAttemptDate", "replayOfId", "attemptLog",
        ]  # fmt: skip


class WebhookListView(ApiView):
    perms = {"GET": ("api.view_webhookendpoint",), "POST": ("api.add_webhookendpoint",)}
    serializer_class = WebhookEndpointSerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listWebhooks",
        responses={200: WebhookEndpointSerializer(many=True), **refusals()},
    )
    def get(self, request):
        page = self.paginate_queryset(WebhookEndpoint.objects.all())
        return self.get_paginated_response(self.redacted(request, page, many=True))

    @extend_schema(
        operation_id="createWebhook",
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointSerializer, **refusals()},
    )
    def post(self, request):
        serializer = WebhookEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_create(
            **serializer.validated_data, acting_user=request.user
        )
        return success(WebhookEndpointSerializer(endpoint).data, status=201)

    @staticmethod
    def redacted(request, endpoints, *, many=False):
        """The secret, and what may be a credential in the URL, only for those who may change
        endpoints, as on the pages."""
        data = WebhookEndpointSerializer(endpoints, many=many).data
        if not request.user.has_perm("api.change_webhookendpoint"):
            for row in data if many else [data]:
                row["secret"] = ""
                row["url"] = webhooks.display_url(row["url"])
        return data


class WebhookDetailView(ApiView):
    perms = {"GET": ("api.view_webhookendpoint",), "DELETE": ("api.delete_webhookendpoint",)}

    @extend_schema(
        operation_id="getWebhook",
        parameters=[ID],
        responses={200: WebhookEndpointSerializer, **refusals()},
    )
    def get(self, request, key):
        endpoint = by_key(WebhookEndpoint.objects.all(), key, number_field=None)
        return success(WebhookListView.redacted(request, endpoint))

    @extend_schema(
        operation_id="deleteWebhook",
        parameters=[ID],
        responses={200: SuccessSerializer, **refusals()},
    )
    def delete(self, request, key):
        by_key(WebhookEndpoint.objects.all(), key, number_field=None).delete()
        return success()


class WebhookDeliveriesView(ApiView):
    perms = {"GET": ("api.view_webhookdelivery",)}
    serializer_class = WebhookDeliverySerializer
    pagination_class = CursorPage

    @extend_schema(
        operation_id="listWebhookDeliveries",
        parameters=[ID],
        responses={200: WebhookDeliverySerializer(many=True), **refusals()},
    )
    def get(self, request, key):
        endpoint = by_key(WebhookEndpoint.objects.all(), key, number_field=None)
        deliveries = endpoint.deliveries.prefetch_related("attempt_log")
        page = self.paginate_queryset(deliveries)
        data = WebhookDeliverySerializer(page, many=True).data
        if not request.user.has_perm("api.change_webhookendpoint"):
            # What the endpoint answered, or the error met reaching it, may echo what only
            # operators should read (an internal service's page, the URL's credentials).
            for delivery in data:
                for attempt in delivery["attemptLog"]:
                    attempt["responseExcerpt"] = ""
                    if attempt["statusCode"] is None:
                        attempt["error"] = "no answer"
        return self.get_paginated_response(data)


class WebhookReplayView(ApiView):
    perms = {"POST": ("api.change_webhookendpoint",)}

    @extend_schema(
        operation_id="replayWebhookDelivery",
        parameters=[ID],
        request=None,
        responses={201: WebhookDeliverySerializer, **refusals()},
    )
    def post(self, request, key):
        delivery = by_key(
            WebhookDelivery.objects.select_related("endpoint"), key, number_field=None
        )
        again = webhooks.replay(delivery=delivery)
        return success(WebhookDeliverySerializer(again).data, status=201)
