from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Account
from billruns.models import BillRun


@require_GET
def home(request):
    # Two queries whatever the data size: one grouped count, one short list.
    accounts_by_status = dict(
        Account.objects.values_list("status").annotate(n=Count("id")).order_by()
    )
    recent_runs = list(
        BillRun.objects.select_related("created_by").only(
            "number",
            "name",
            "status",
            "target_date",
            "created_at",
            "number_of_failures",
            "created_by__username",
        )[:5]
    )
    return render(
        request,
        "core/home.html",
        {
            "accounts_total": sum(accounts_by_status.values()),
            "accounts_active": accounts_by_status.get(Account.Status.ACTIVE, 0),
            "accounts_by_status": [
                (status.label, accounts_by_status.get(status.value, 0)) for status in Account.Status
            ],
            "recent_runs": recent_runs,
        },
    )


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """For load balancers and `make demo`: the app answers and its database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain")
