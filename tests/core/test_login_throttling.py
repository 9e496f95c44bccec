"""Login throttling (django-axes): five wrong passwords for one username from one address lock
that pair out for 15 minutes, the login page says so, and an administrator unlocks it."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from billing_project.login import client_ip
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


def log_in(client, password, username="operator", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def fail(client, times, username="operator", **extra):
    return [log_in(client, "wrong", username, **extra).status_code for _ in range(times)]


def test_four_wrong_passwords_still_let_the_right_one_in(client, operator):
    assert fail(client, 4) == [200] * 4
    response = log_in(client, "operator-pass")
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_the_fifth_wrong_password_locks_the_login_and_the_page_says_why(client, operator):
    response = log_in(client, "wrong")
    assert "Please enter a correct username and password" in response.content.decode()
    fail(client, 3)
    response = log_in(client, "wrong")
    assert response.status_code == 429
    content = response.content.decode()
    assert "Too many failed logins." in content
    assert "locked for 15 minutes" in content and "An administrator can unlock it" in content
    assert 'name="username"' in content and 'value="operator"' in content  # still a login form

    # Now even the right password is refused, and nobody is logged in.
    response = log_in(client, "operator-pass")
    assert response.status_code == 429 and "Too many failed logins." in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_the_lock_is_for_one_username_from_one_address(client, operator, viewer):
    fail(client, 5)
    assert log_in(client, "viewer-pass", username="viewer").status_code == 302
    client.logout()
    other_address = log_in(client, "operator-pass", REMOTE_ADDR="203.0.113.9")
    assert other_address.status_code == 302


def test_the_lock_ends_after_fifteen_minutes(client, operator):
    fail(client, 5)
    later = timezone.now() + dt.timedelta(minutes=16)
    with time_machine.travel(later, tick=False):
        assert log_in(client, "operator-pass").status_code == 302


def test_a_good_login_forgets_the_failures(client, operator):
    fail(client, 4)
    assert log_in(client, "operator-pass").status_code == 302
    client.logout()
    fail(client, 4)
    assert log_in(client, "operator-pass").status_code == 302


def test_an_administrator_unlocks_a_locked_login(client, operator, admin_client):
    fail(client, 5)
    assert log_in(client, "operator-pass").status_code == 429
    changelist = reverse("admin:axes_accessattempt_changelist")
    listing = admin_client.get(changelist, {"locked_out": "yes"}).content.decode()
    assert "operator" in listing and "Locked Out" in listing

    attempt = AccessAttempt.objects.get(username="operator")
    response = admin_client.post(
        changelist,
        {"action": "unlock", "_selected_action": [attempt.pk]},
        follow=True,
    )
    assert "Unlocked 1: operator from 127.0.0.1 can log in again." in response.content.decode()
    assert log_in(client, "operator-pass").status_code == 302


def test_a_locked_login_leaves_api_tokens_and_sessions_working(client, operator):
    api = token_client(operator)
    session = type(client)()
    session.force_login(operator)
    fail(client, 5)
    assert api.get("/api/v1/bill-runs").status_code == 200
    assert session.get("/api/v1/bill-runs").status_code == 200
    assert session.get(reverse("home")).status_code == 200


@pytest.mark.parametrize(
    "proxies, forwarded, expected",
    [
        (0, "198.51.100.7", "10.0.0.2"),  # no proxy: a client cannot choose its address
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote is ignored
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.1", "198.51.100.7"),
        (2, "", "10.0.0.2"),
    ],
)
def test_the_address_counted_is_the_one_the_trusted_proxy_saw(proxies, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(BILLCYCLE_TRUSTED_PROXIES=proxies):
        assert client_ip(request) == expected
