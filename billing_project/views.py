from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from billruns import selectors


@require_GET
@permission_required("billruns.view_billrun", raise_exception=True)
def home(request):
    return render(request, "core/home.html", selectors.home_page())


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """For load balancers and `make demo`: the app answers and its database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok\n", content_type="text/plain")
