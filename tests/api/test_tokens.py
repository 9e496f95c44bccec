"""Tokens: made once, stored as a hash, acting as their user, refused once revoked."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from api.models import ApiToken, hash_key
from api.services import api_token_create, api_token_revoke
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/bill-runs"


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_only_the_hash_of_a_token_is_stored(operator):
    token, key = api_token_create(user=operator, name="CRM")
    stored = ApiToken.objects.values_list(flat=False).get(pk=token.pk)
    assert key not in [str(value) for value in stored]
    assert token.key_hash == hash_key(key)
    assert key.startswith(token.prefix)


def test_a_token_acts_as_its_user(operator):
    response = token_client(operator).get(RUNS)
    assert response.status_code == 200
    assert response.json()["success"] is True


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer bc_unknown", "Bearer a b", "Token whatever", "Bearer \u00e9t\u00e9"],
)
def test_no_token_or_a_bad_one_is_refused_with_401(db, header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    response = client.get(RUNS)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["reasons"][0]["code"] in {"not_authenticated", "authentication_failed"}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(operator):
    token, key = api_token_create(user=operator, name="old")
    api_token_revoke(token=token)
    response = bearer(key).get(RUNS)
    assert response.status_code == 401
    assert response.json()["reasons"][0]["message"] == "The token is unknown or revoked."


def test_an_inactive_users_token_is_refused(operator):
    _, key = api_token_create(user=operator, name="CRM")
    operator.is_active = False
    operator.save()
    assert bearer(key).get(RUNS).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(operator):
    token, key = api_token_create(user=operator, name="CRM")
    client = bearer(key)
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC), tick=False):
        client.get(RUNS)
        token.refresh_from_db()
        first = token.last_used_at
        assert first == dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 0, 30, tzinfo=dt.UTC), tick=False):
        client.get(RUNS)
        token.refresh_from_db()
        assert token.last_used_at == first
    with time_machine.travel(dt.datetime(2026, 11, 30, 12, 2, tzinfo=dt.UTC), tick=False):
        client.get(RUNS)
        token.refresh_from_db()
        assert token.last_used_at == dt.datetime(2026, 11, 30, 12, 2, tzinfo=dt.UTC)


def test_the_command_prints_a_working_token_once(operator, capsys):
    call_command("create_api_token", "operator", "--name", "Metering")
    key = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(name="Metering").key_hash == hash_key(key)
    assert bearer(key).get(RUNS).status_code == 200


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody"], "No user 'nobody'."),
        (["operator", "--name", " "], "Name the token, so you can tell it apart later."),
        (["operator", "--name", "x" * 101], "A token's name is at most 100 printable characters."),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(operator, args, message):
    with pytest.raises(CommandError, match=f"^{message}$".replace(".", r"\.")):
        call_command("create_api_token", *args)


def test_the_tokens_page_shows_a_new_key_once_and_revokes(client, operator):
    client.force_login(operator)
    response = client.post("/api-tokens/", {"name": "CRM sync"}, follow=True)
    assert response.redirect_chain == [("/api-tokens/", 302)]
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert bearer(key).get(RUNS).status_code == 200
    page = client.get("/api-tokens/").content.decode()
    assert key not in page and "CRM sync" in page
    token = ApiToken.objects.get(name="CRM sync")
    client.post(f"/api-tokens/{token.pk}/revoke/")
    assert bearer(key).get(RUNS).status_code == 401


def test_nobody_revokes_another_users_token(client, operator, viewer):
    token, key = api_token_create(user=operator, name="CRM")
    client.force_login(viewer)
    assert client.post(f"/api-tokens/{token.pk}/revoke/").status_code == 404
    assert bearer(key).get(RUNS).status_code == 200


def test_requests_beyond_the_rate_are_refused_with_retry_after(operator, monkeypatch):
    from api.throttles import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "rate", "2/min", raising=False)
    client = token_client(operator)
    assert client.get(RUNS).status_code == 200
    assert client.get(RUNS).status_code == 200
    refused = client.get(RUNS)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["reasons"][0]["code"] == "throttled"
    # Another token of the same user has its own count.
    assert token_client(operator).get(RUNS).status_code == 200
