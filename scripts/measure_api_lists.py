"""How long a page of 100 takes from the API's list endpoints on the configured database
(docs/benchmarks.md, "A page of 100 bill runs at a million accounts").

    DATABASE_URL=postgres://… DJANGO_DEBUG=0 DJANGO_SECRET_KEY=x DJANGO_ALLOWED_HOSTS=testserver \\
        DJANGO_HTTPS=0 .venv/bin/python scripts/measure_api_lists.py

In process (Django's test client), a Billing Viewer's token made for the purpose and revoked
afterwards; median of 20 requests after a warm-up, then of 10 requests for the next page.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_project.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import Account  # noqa: E402
from api.services import api_token_create, api_token_revoke  # noqa: E402
from billruns.models import BillRun  # noqa: E402
from invoicing.models import BillingDocument  # noqa: E402

PATHS = ["/api/v1/bill-runs", "/api/v1/invoices", "/api/v1/accounts"]


def median_ms(client, url, times) -> tuple[float, dict]:
    spent, body = [], {}
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(url)
        spent.append(time.perf_counter() - started)
        if response.status_code != 200:
            sys.exit(f"{url}: {response.status_code} {response.content[:200]!r}")
        body = response.json()
    return statistics.median(spent) * 1000, body


def main() -> None:
    user, _ = get_user_model().objects.get_or_create(username="bench-lists")
    user.groups.add(Group.objects.get(name="Billing Viewer"))
    token, key = api_token_create(user=user, name="measure_api_lists")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    print(
        f"{Account.objects.count():,} accounts, {BillRun.objects.count():,} bill runs, "
        f"{BillingDocument.objects.count():,} documents"
    )
    try:
        for path in PATHS:
            url = f"{path}?pageSize=100"
            client.get(url)  # warm-up (and the token's first use)
            first, body = median_ms(client, url, 20)
            following = median_ms(client, body["nextPage"], 10)[0] if body["nextPage"] else 0
            print(
                f"{path}: {len(body['data'])} rows; first page {first:.1f} ms, "
                f"next page {following:.1f} ms (medians)"
            )
    finally:
        api_token_revoke(token=token)


if __name__ == "__main__":
    main()
