"""Time the Review tab of run 4 for every sort, on page 1 and page 600, and the Invoices tab, in
`manage.py shell` on a database from populate_*.py; prints each request's wall time and its
queries' times (the run page's, then the review's three)."""

import time

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

settings.ALLOWED_HOSTS = ["*"]
u, _ = User.objects.get_or_create(
    username="bench", defaults={"is_superuser": True, "is_staff": True}
)
u.is_superuser = True
u.save()
c = Client()
c.force_login(u)

cases = [
    {"tab": "review", "o": o, "page": p}
    for o in (
        "account",
        "-account",
        "amount",
        "-amount",
        "change",
        "-change",
        "previous",
        "-previous",
    )
    for p in (1, 600)
]
cases.append({"tab": "invoices"})
for q in cases:
    with CaptureQueriesContext(connection) as ctx:
        t = time.time()
        r = c.get("/bill-runs/4/", q)
        wall = time.time() - t
    times = [float(x["time"]) for x in ctx.captured_queries]
    print(
        q,
        r.status_code,
        f"{wall:.2f}s",
        len(ctx),
        "run page:",
        f"{sum(times[:-3]):.2f}s",
        "review:",
        [f"{x:.3f}" for x in times[-3:]],
        "page",
        r.context["review"].page.number if r.context and "review" in r.context else "",
    )
