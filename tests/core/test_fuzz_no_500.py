"""No page answers malformed input with a 500: every page of the URLconf (the API has its own
schema fuzz in tests/api) gets garbage in its query string, and every form found on it (filters,
forms, imports, buttons) is sent garbage, NUL characters, huge values and malformed CSV files,
as a logged-in operator. The pages are discovered, not listed, so a new page is covered too.

Bounded and derandomized: a few examples per page, the same ones on every run (FUZZ_EXAMPLES=50
in the environment tries more). Every query is also checked for a NUL character in its
parameters, which PostgreSQL refuses and SQLite takes: the suite's database catches it too.
"""

import datetime as dt
import html.parser
import os
import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import UsageRecord
from api.models import WebhookDelivery, WebhookEndpoint
from api.services import api_token_create
from billruns.preview.services import create_preview
from billruns.schedules.services import create_schedule
from billruns.terms import RunTerms
from tests.factories import ChargeFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db

# Not pages an operator fills in: the API (tests/api fuzzes it against its schema), the admin
# (Django's own), logging out, and the PDF (no input, and seconds to render each time).
SKIPPED_NAMESPACES = {"api", "admin"}
SKIPPED_NAMES = {"logout", "pdf"}
# A path parameter of each converter: the objects made below have id 1; others do not exist.
PATH_VALUES = {
    "int": st.sampled_from(["1", "1", "2", "0", "99999999999999999999"]),
    "slug": st.sampled_from(["accounts", "usage", "x"]),
    "str": st.sampled_from(["1", "x"]),
}
FIELD = re.compile(r"<(\w+):(\w+)>")  # a path parameter: <converter:name>
ORDINARY_NAMES = ["q", "o", "page", "status", "kind", "format", "tab", "sort", "account", "scope"]


def discover(resolver=None, prefix="", namespace=None):
    """(route, namespace, name) of every URL pattern, routes as written ("bill-runs/<int:pk>/")."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from discover(pattern, route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            yield route.lstrip("^").rstrip("$"), namespace, pattern.name


PAGES = sorted(
    (route, f"{namespace}:{name}" if namespace else name)
    for route, namespace, name in discover()
    if namespace not in SKIPPED_NAMESPACES and name not in SKIPPED_NAMES
)


def test_the_pages_are_discovered():
    names = {name for _, name in PAGES}
    assert {"billruns:create", "accounts:import", "schedules:preview", "webhooks"} <= names
    assert len(PAGES) > 40


# --- What is sent ------------------------------------------------------------------------------
ODD_VALUES = [
    "",
    " ",
    "\x00",
    "A\x00B",
    "0",
    "-1",
    "1.5",
    "1e999",
    "NaN",
    "-Infinity",
    "9" * 5_000,
    "99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "2026-02-01",
    "23:59",
    "25:61",
    "[" * 5_000,
    '[{"up_to": null, "unit_price": "1e999999"}]',
    "Batch51",
    "Batch1",
    "A00000001",
    "BR-00000001",
    "OneTime",
    "Usage",
    "on",
    "true",
    "x" * 100_000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "=1+1",
    "\u202e\ufeffé😀",
]
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
VALUE = st.one_of(st.sampled_from(ODD_VALUES), TEXT)
VALUES = st.lists(VALUE, min_size=1, max_size=3)

CSV_HEADERS = [
    "account_number,charge_number,quantity,usage_date",
    "account_number,account_ref,account_name,currency,bill_cycle_day,subscription_ref,"
    "term_start,charge_name,charge_type,charge_model,price,effective_start,billing_period,tiers",
    "",
    "a,a,a",
]
CSV_CELL = st.one_of(st.sampled_from([*ODD_VALUES[:28], '"', '""', "\r", "\n"]), TEXT)
CSV_TEXT = st.builds(
    lambda header, rows: "\n".join([header, *(",".join(row) for row in rows)]),
    st.sampled_from(CSV_HEADERS),
    st.lists(st.lists(CSV_CELL, max_size=16), max_size=4),
)
FILE_CONTENT = st.one_of(
    CSV_TEXT.map(lambda text: text.encode("utf-8")),
    CSV_TEXT.map(lambda text: text.encode("utf-16")),
    st.binary(max_size=200),
)


class Forms(html.parser.HTMLParser):
    """The forms of a page: method, action, and each field's type and the values it offers
    (radio buttons, checkboxes, options, prefilled values)."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            method = (attrs.get("method") or "get").lower()
            self.forms.append({"method": method, "action": attrs.get("action"), "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag in ("input", "select", "textarea") and name:
            kind = attrs.get("type") or tag
            field = fields.setdefault(name, {"type": kind, "values": set()})
            if attrs.get("value"):
                field["values"].add(attrs["value"])
            self.select = name if tag == "select" else None
        elif tag == "option" and self.select and attrs.get("value"):
            fields[self.select]["values"].add(attrs["value"])


def forms_of(response) -> list[dict]:
    """The page's forms, but the navigation's Log out."""
    if "text/html" not in response.get("Content-Type", ""):
        return []
    parser = Forms()
    parser.feed(response.content.decode())
    return [form for form in parser.forms if form["action"] != reverse("logout")]


# The values most likely to break something, one of which each example sends often.
HOSTILE = ["\x00", "9" * 5_000, "99999999999999999999", "0001-01-01", "9999-12-31", "[" * 5_000]


def value_of(field: dict, theme: str):
    """The example's hostile value, garbage, or a value the page itself offers (so that, say,
    scope=account and a bad account number meet)."""
    offered = sorted(field["values"])
    choices = [st.just(theme), VALUE, *([st.sampled_from(offered)] if offered else [])]
    return st.one_of(*choices)


def fill(data, fields: dict, label: str) -> dict:
    """Some of `fields`, each with a list of values (or a file for a file field), and a few
    fields no form has."""
    theme = data.draw(st.sampled_from(HOSTILE), label=f"{label} theme")
    sent = {}
    for name, field in fields.items():
        if not data.draw(st.integers(0, 2), label=f"{label} sends {name}"):
            continue
        if field["type"] == "file":
            content = data.draw(FILE_CONTENT, label=name)
            sent[name] = SimpleUploadedFile("fuzz.csv", content, "text/csv")
        else:
            values = st.lists(value_of(field, theme), min_size=1, max_size=2)
            sent[name] = data.draw(values, label=name)
    return sent | data.draw(st.dictionaries(TEXT, VALUES, max_size=2), label=f"{label} extra")


def refuse_nul(execute, sql, params, many, context):
    """What PostgreSQL refuses ("text fields cannot contain NUL"), refused on SQLite too."""
    rows = params if many else [params]
    for row in rows or []:
        values = row.values() if isinstance(row, dict) else row or []
        assert not any(isinstance(v, str) and "\x00" in v for v in values), (sql, row)
    return execute(sql, params, many, context)


# Every field any page shows, with the values offered: what a page without a form of its own
# (an htmx fragment, a button's URL) may be sent, as the form that calls it would.
ALL_FIELDS: dict[str, dict] = {}


def all_fields(client) -> dict[str, dict]:
    if not ALL_FIELDS:
        for route, _name in PAGES:
            for form in forms_of(client.get("/" + FIELD.sub("1", route))):
                for name, field in form["fields"].items():
                    known = ALL_FIELDS.setdefault(name, {"type": field["type"], "values": set()})
                    known["values"] |= field["values"]
        ALL_FIELDS.update({name: {"type": "text", "values": set()} for name in ORDINARY_NAMES})
    return ALL_FIELDS


# --- The world the pages show: one of each object, each with id 1 ------------------------------
@pytest.fixture
def world(operator, run_now, django_capture_on_commit_callbacks):
    charge = ChargeFactory(subscription__account__number="A00000001")
    usage = ChargeFactory(
        subscription=charge.subscription,
        charge_type="Usage",
        charge_model="PerUnit",
        billing_timing="InArrears",
    )
    UsageRecordFactory(charge=usage, usage_date=dt.date(2026, 1, 10))
    run_now(target_date=dt.date(2026, 2, 1), acting_user=operator)  # BR-00000001, its invoice
    create_preview(
        terms=RunTerms(invoice_date=dt.date(2026, 2, 1), target_date=dt.date(2026, 2, 1)),
        acting_user=operator,
        enqueue=False,
    )
    create_schedule(
        acting_user=operator,
        name="Monthly",
        frequency="Monthly",
        day_of_month=1,
        run_time=dt.time(6),
        starts_on=dt.date(2026, 1, 1),
        charge_types=["Recurring"],
    )
    api_token_create(user=operator, name="Fuzz")
    endpoint = WebhookEndpoint.objects.create(
        url="https://127.0.0.1:9/hook", events=["billRun.completed"], created_by=operator
    )
    WebhookDelivery.objects.create(endpoint=endpoint, event="billRun.completed", body="{}")
    assert UsageRecord.objects.exists()


FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", 6)),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("route, name", PAGES, ids=[name for _, name in PAGES])
def test_no_page_answers_malformed_input_with_a_500(client, operator, world, route, name):
    client.force_login(operator)
    # The page's forms as it shows the objects above, found once: what is drawn must not depend
    # on what the garbage sent before changed.
    page = "/" + FIELD.sub("1", route)
    forms = forms_of(client.get(page))
    known = all_fields(client)
    query_fields = {n: f for form in forms for n, f in form["fields"].items()} or dict(known)
    query_fields |= {name: known[name] for name in ORDINARY_NAMES}

    @FUZZ
    @given(data=st.data())
    def fuzz(data):
        client.force_login(operator)  # a fuzzed form may have logged the client out
        # The page, as asked for any object, with garbage in its query string.
        path = "/" + FIELD.sub(lambda m: data.draw(PATH_VALUES[m[1]], label=m[2]), route)
        query = fill(data, {n: f for n, f in query_fields.items() if f["type"] != "file"}, "GET")
        assert client.get(path, query).status_code < 500, query

        # One of its forms, or a POST of garbage when it shows none (a button's URL).
        if forms:
            form = data.draw(st.sampled_from(forms), label="form")
            fields, method = form["fields"], form["method"]
            target = urlsplit(urljoin(page, form["action"] or page)).path
        else:
            fields, method, target = known, "post", path
        sent = fill(data, fields, method)
        send = client.post if method == "post" else client.get
        response = send(target, sent)
        assert response.status_code < 500, (method, target, sent)

    with connection.execute_wrapper(refuse_nul):
        fuzz()


@pytest.mark.parametrize(
    "route", [route for route, _ in PAGES if "<int:" in route], ids=lambda route: route
)
def test_an_id_beyond_the_columns_range_finds_nothing(logged_in, route):
    """Django knows such an id matches no row only for a primary key (`account__pk`), not for a
    foreign key column (`account_id`), where SQLite raises OverflowError."""
    count = route.count("<int:")
    for position in range(count):  # that id too large, any other 1
        ids = iter(["99999999999999999999" if n == position else "1" for n in range(count)])
        path = "/" + FIELD.sub(lambda m, ids=ids: next(ids) if m[1] == "int" else "x", route)
        assert logged_in.get(path).status_code in (204, 404, 405), path  # 204: a poll's "gone"
        assert logged_in.post(path).status_code in (204, 404, 405), path
