"""Pages show the labels of stored values ("Post in progress", "One-time"), never the values
themselves ("PostInProgress", "OneTime"); exports, the API and the admin keep Zuora's words."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billruns.models import BillingPreviewRun, BillRunEvent, BillRunSchedule
from tests.billruns.test_schedule_pages import NOW, schedule_data
from tests.factories import BillRunFactory

pytestmark = pytest.mark.django_db


def test_the_history_names_each_status_by_its_label(logged_in):
    run = BillRunFactory(status="Completed")
    for from_status, to_status in (
        ("Completed", "PostInProgress"),
        ("PostInProgress", "Completed"),
    ):
        BillRunEvent.objects.create(
            bill_run=run,
            bill_run_number=run.number,
            from_status=from_status,
            to_status=to_status,
            at=timezone.now(),
        )
    html = logged_in.get(run.get_absolute_url(), {"tab": "history"}).content.decode()
    assert "Post in progress" in html
    assert ">PostInProgress<" not in html


def test_the_run_settings_name_its_charge_types_by_their_labels(logged_in):
    run = BillRunFactory(status="Completed", charge_types=["OneTime", "Usage"])
    html = logged_in.get(run.get_absolute_url()).content.decode()
    assert "One-time, Usage" in html and "OneTime" not in html


def test_a_preview_names_its_charge_types_by_their_labels(logged_in):
    preview = BillingPreviewRun.objects.create(
        invoice_date=dt.date(2026, 2, 1),
        target_date=dt.date(2026, 2, 1),
        charge_types=["OneTime", "Recurring"],
    )
    url = reverse("billruns:preview_detail", args=[preview.pk])
    html = logged_in.get(url).content.decode()
    assert "One-time, Recurring" in html and "OneTime" not in html


@time_machine.travel(NOW, tick=False)
def test_a_schedule_names_its_charge_types_by_their_labels(logged_in):
    logged_in.post(reverse("schedules:create"), schedule_data(charge_types=["OneTime"]))
    schedule = BillRunSchedule.objects.get()
    html = logged_in.get(schedule.get_absolute_url()).content.decode()
    assert "One-time" in html and "OneTime" not in html
