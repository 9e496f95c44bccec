import pytest
from rest_framework.test import APIClient

from api.services import api_token_create


def token_client(user) -> APIClient:
    """A client that sends a real token of `user`, as other systems do."""
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counts live in the cache, keyed by token id: ids repeat from test to test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def operator_api(operator):
    return token_client(operator)


@pytest.fixture
def viewer_api(viewer):
    return token_client(viewer)
