"""403, 404 and 500 are pages of the app, with its navigation and a way on, for anyone; the 500
page needs no database."""

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.factories import BillRunFactory, UserFactory

NAVIGATION = 'aria-label="Main navigation"'


@pytest.mark.django_db
def test_a_missing_page_is_a_404_in_the_app_s_frame_with_its_navigation(logged_in):
    response = logged_in.get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content and NAVIGATION in content
    assert reverse("billruns:list") in content  # the menu, to go on from here
    assert "Go to the home page" in content


@pytest.mark.django_db
def test_a_missing_object_is_the_same_404(logged_in):
    response = logged_in.get(reverse("billruns:detail", args=[987654]))
    assert response.status_code == 404 and "Page not found" in response.content.decode()


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_the_404_page_with_a_way_to_log_in(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "Page not found" in content and NAVIGATION in content
    assert f'href="{reverse("login")}"' in content
    assert reverse("billruns:list") not in content  # no menu before logging in


@pytest.mark.django_db
def test_a_user_without_a_role_gets_the_403_page_even_on_the_home_page(client):
    client.force_login(UserFactory(username="newcomer"))
    response = client.get(reverse("home"))
    assert response.status_code == 403
    content = response.content.decode()
    assert "You are not allowed to do this" in content and NAVIGATION in content
    assert "Your account (newcomer) does not have the role" in content
    assert "Billing Viewer or Billing Operator" in content
    assert "Log in as someone else" in content
    assert "Customer accounts" not in content  # nothing of the home page leaks


@pytest.mark.django_db
def test_a_viewer_refused_an_action_gets_the_403_page(client, viewer):
    run = BillRunFactory(status="Completed")
    client.force_login(viewer)
    response = client.post(reverse("billruns:post", args=[run.pk]))
    assert response.status_code == 403
    content = response.content.decode()
    assert "You are not allowed to do this" in content and NAVIGATION in content


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_the_expired_form_page(operator):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "operator", "password": "x"})
    assert response.status_code == 403
    content = response.content.decode()
    assert "This form has expired" in content and NAVIGATION in content
    assert "Nothing was changed" in content and f'href="{reverse("login")}"' in content


@pytest.mark.django_db
def test_a_crash_is_a_500_page_in_the_app_s_frame(operator, monkeypatch):
    def database_gone():
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("billing_project.views.selectors.home_page", database_gone)
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    response = client.get(reverse("home"))
    assert response.status_code == 500
    content = response.content.decode()
    assert "Something went wrong on our side" in content and NAVIGATION in content
    assert f'href="{reverse("home")}"' in content
    assert "server closed the connection" not in content  # no internals shown


def test_the_500_page_renders_without_a_database():
    # No django_db mark: pytest-django fails this test on any query.
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
