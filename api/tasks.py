"""django-q2 entry points of the API app: ids in, one service call."""

from api import webhooks


def deliver_webhook(delivery_id: int) -> str:
    delivery = webhooks.deliver(delivery_id)
    if delivery is None:
        return f"webhook delivery {delivery_id}: nothing to do"
    return f"webhook delivery {delivery_id}: {delivery.status} after {delivery.attempts} attempts"


def retry_webhooks() -> str:
    return f"{webhooks.retry_due()} webhook deliveries queued again"
