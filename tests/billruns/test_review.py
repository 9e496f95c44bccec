"""The variance review of a run (DESIGN §11): which documents the Review tab flags, and why."""

import csv
import datetime as dt
import io
import itertools
from decimal import Decimal
from fractions import Fraction

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from billruns import tasks
from billruns.models import BillRun, BillRunChunk
from billruns.review import selectors as review
from billruns.review import services as review_services
from billruns.review.export import HEADER
from billruns.review.models import ReviewEntry, ReviewPreparation
from billruns.review.selectors import CHANGE, FIRST, MANY_LINES
from billruns.services.lifecycle import record
from invoicing.models import BillingDocument, DocumentLine
from tests.factories import AccountFactory, BillingDocumentFactory, BillRunFactory, ChargeFactory

DEC1 = dt.date(2025, 12, 1)
JAN1 = dt.date(2026, 1, 1)
FEB1 = dt.date(2026, 2, 1)
NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
def first_document_amounts(settings):
    settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS = {
        "*": Decimal("1000"),
        "JPY": Decimal("100000"),
    }


def document(account, amount: str, *, run=None, day=FEB1, kind="Invoice", status=None, **fields):
    """A document with an explicit amount; Posted unless it belongs to the reviewed run."""
    status = status or ("Draft" if run is not None and run.status != "Posted" else "Posted")
    prefix = "CM" if kind == "CreditMemo" else "INV"
    return BillingDocumentFactory(
        account=account,
        amount=Decimal(amount),
        bill_run=run,
        kind=kind,
        status=status,
        posted_at=timezone.now() if status == "Posted" else None,
        document_date=day,
        target_date=day,
        due_date=day + dt.timedelta(days=30),
        number=f"{prefix}{next(NUMBERS):08d}",
        **fields,
    )


def add_lines(doc, count: int) -> None:
    charge = ChargeFactory(subscription__account=doc.account)
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=doc,
            charge=charge,
            subscription=charge.subscription,
            charge_type=charge.charge_type,
            description=charge.name,
            service_start=FEB1 + dt.timedelta(days=day),
            service_end=FEB1 + dt.timedelta(days=day),
            amount=Decimal("1.00"),
        )
        for day in range(count)
    )


def completed_run(**fields) -> BillRun:
    return BillRunFactory(status="Completed", **fields)


def flagged(run) -> dict[str, review.ReviewRow]:
    """Account name → its row, for every flagged document of the run."""
    return {row.account.name: row for row in review.review_rows(run)}


def moved(name: str, before: str, after: str, run, *, earlier_run=None):
    account = AccountFactory(name=name)
    document(account, before, run=earlier_run, day=JAN1)
    return document(account, after, run=run)


# -- the rules ----------------------------------------------------------------------------------


def test_an_amount_up_30_percent_is_flagged_and_20_percent_is_not(db):
    earlier = BillRunFactory(status="Posted")
    run = completed_run()
    moved("Up 30", "100.00", "130.00", run, earlier_run=earlier)
    moved("Up 20", "100.00", "120.00", run, earlier_run=earlier)
    rows = flagged(run)
    assert list(rows) == ["Up 30"]
    row = rows["Up 30"]
    assert row.reasons == (CHANGE,)
    assert (row.previous_amount, row.amount, row.change_percent) == (
        Decimal("100.00"),
        Decimal("130.00"),
        Decimal("30.0"),
    )
    assert row.previous.document_date == JAN1 and row.previous.bill_run_id == earlier.pk


def test_a_threshold_of_10_percent_flags_both(logged_in, db):
    run = completed_run()
    moved("Up 30", "100.00", "130.00", run)
    moved("Up 20", "100.00", "120.00", run)
    response = logged_in.post(
        reverse("review:threshold", args=[run.pk]), {"threshold_percent": "10"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"{run.get_absolute_url()}?tab=review"
    run.refresh_from_db()
    assert run.review_threshold_percent == Decimal("10")
    assert {name: row.change_percent for name, row in flagged(run).items()} == {
        "Up 30": Decimal("30.0"),
        "Up 20": Decimal("20.0"),
    }


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("80.40", "100.50", None),  # exactly +25 %: not above the threshold
        ("100.00", "75.00", None),  # exactly -25 %
        ("80.40", "100.51", Decimal("25.0")),  # 25.01 %
        ("100.00", "70.00", Decimal("-30.0")),  # a drop counts as much as a rise
        ("0.00", "10.00", "from zero"),  # from nothing, any amount is a change
        ("0.00", "0.00", None),
    ],
)
def test_a_change_is_flagged_only_above_the_threshold(db, before, after, change):
    run = completed_run()
    moved("Account", before, after, run)
    rows = flagged(run)
    if change is None:
        assert rows == {}
    else:
        assert rows["Account"].reasons == (CHANGE,)
        assert rows["Account"].change_percent == (None if change == "from zero" else change)


def test_a_credit_memo_counts_as_a_negative_amount(db):
    run = completed_run()
    account = AccountFactory(name="Credited")
    document(account, "100.00", day=JAN1)
    document(account, "50.00", run=run, kind="CreditMemo")
    row = flagged(run)["Credited"]
    assert (row.previous_amount, row.amount, row.change_percent) == (
        Decimal("100.00"),
        Decimal("-50.00"),
        Decimal("-150.0"),
    )


def test_a_first_document_above_the_amount_is_flagged_and_one_below_it_is_not(db):
    run = completed_run()
    document(AccountFactory(name="Big start"), "1000.01", run=run)
    document(AccountFactory(name="Small start"), "1000.00", run=run)
    document(AccountFactory(name="Yen start", currency="JPY"), "150000", run=run)
    document(AccountFactory(name="Small yen start", currency="JPY"), "90000", run=run)
    rows = flagged(run)
    assert set(rows) == {"Big start", "Yen start"}
    row = rows["Big start"]
    assert row.reasons == (FIRST,)
    assert (row.previous, row.previous_amount, row.change_percent) == (None, None, None)


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ({"*": "500"}, {"Dollars", "Euros"}),
        ({"USD": "500"}, {"Dollars"}),  # no "*": other currencies are never flagged
        ({"USD": "500", "EUR": "700"}, {"Dollars"}),
        ({}, set()),
    ],
)
def test_the_first_document_amounts_come_from_the_setting(settings, db, amounts, expected):
    settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS = amounts
    run = completed_run()
    document(AccountFactory(name="Dollars"), "600.00", run=run)
    document(AccountFactory(name="Euros", currency="EUR"), "600.00", run=run)
    assert set(flagged(run)) == expected
    assert tab_counts(run)["first"] == len(expected)


def tab_counts(run) -> dict[str, int]:
    counts = review.review_page(run).counts
    return {"flagged": counts.flagged, "first": counts.first}


def test_a_currency_change_makes_a_first_document_not_a_comparison(db):
    run = completed_run()
    big = AccountFactory(name="Now in USD")
    document(big, "100.00", day=JAN1, currency="EUR")
    document(big, "1500.00", run=run, currency="USD")
    small = AccountFactory(name="Now in USD too")
    document(small, "100.00", day=JAN1, currency="EUR")
    document(small, "500.00", run=run, currency="USD")  # +400 % in numbers, but not comparable
    rows = flagged(run)
    assert list(rows) == ["Now in USD"]
    assert rows["Now in USD"].reasons == (FIRST,)
    assert rows["Now in USD"].previous is None


def test_a_canceled_previous_document_is_skipped_for_the_one_before(db):
    run = completed_run()
    account = AccountFactory(name="Rebilled")
    december = document(account, "100.00", day=DEC1)
    document(account, "130.00", day=JAN1, status="Canceled")
    document(account, "130.00", run=run)
    row = flagged(run)["Rebilled"]
    assert row.previous.pk == december.pk
    assert row.change_percent == Decimal("30.0")


def test_only_earlier_documents_of_other_runs_are_previous(db):
    run = completed_run()
    account = AccountFactory(name="Busy")
    january = document(account, "100.00", day=JAN1)
    document(account, "1.00", day=dt.date(2026, 3, 1))  # billed after the run: not previous
    document(account, "125.00", run=run)
    document(account, "900.00", run=run, kind="CreditMemo")  # the run's own: not previous
    rows = list(review.review_rows(run))
    assert [(row.document.kind, row.previous.pk) for row in rows] == [("CreditMemo", january.pk)]


def test_a_document_with_many_more_lines_than_the_runs_usual_is_flagged(db):
    run = completed_run()
    earlier = BillRunFactory(status="Posted")
    for n in range(10):
        doc = moved(f"Usual {n}", "100.00", "100.00", run, earlier_run=earlier)
        add_lines(doc, 1)
    long = moved("Long", "100.00", "100.00", run, earlier_run=earlier)
    add_lines(long, 8)
    rules = review.review_rules(run)
    # 11 documents: the median is 1 line, the 99th percentile 1 + 0.9 x 7 = 7.3.
    assert (rules.median_lines, rules.top_lines, rules.many_lines_from) == (
        Decimal("1.00"),
        Decimal("7.30"),
        8,
    )
    rows = flagged(run)
    assert list(rows) == ["Long"]
    assert (rows["Long"].reasons, rows["Long"].lines) == ((MANY_LINES,), 8)


@pytest.mark.parametrize(
    ("histogram", "median", "top", "many_from"),
    [
        ({}, None, None, None),
        ({1: 10, 8: 1}, Fraction(1), Fraction(73, 10), 8),
        ({2: 100}, Fraction(2), Fraction(2), 6),  # all alike: 3 x the median decides
        ({1: 990, 40: 10}, Fraction(1), Fraction(139, 100), 3),
        ({3: 1}, Fraction(3), Fraction(3), 9),
    ],
)
def test_many_lines_is_above_the_99th_percentile_and_3_times_the_median(
    histogram, median, top, many_from
):
    assert review.quantile(histogram, Fraction(1, 2)) == median
    assert review.quantile(histogram, Fraction(99, 100)) == top
    assert review.many_lines_from(histogram) == many_from


def test_canceled_documents_of_the_run_are_not_reviewed(db):
    run = completed_run()
    document(AccountFactory(name="Voided"), "5000.00", run=run, status="Canceled")
    assert flagged(run) == {}


# -- the tab ------------------------------------------------------------------------------------


def review_run(flagged_count: int, quiet_count: int = 2) -> BillRun:
    """A Completed run with `flagged_count` documents up 50 % and `quiet_count` unchanged."""
    run = completed_run()
    for n in range(flagged_count):
        moved(f"Flagged {n:03d}", "100.00", "150.00", run)
    for n in range(quiet_count):
        moved(f"Quiet {n:03d}", "100.00", "100.00", run)
    return run


def tab(client, run, **query):
    return client.get(run.get_absolute_url(), {"tab": "review", **query})


def test_the_tab_shows_the_counts_the_rows_and_links_to_both_documents(logged_in):
    run = review_run(2)
    first = document(AccountFactory(name="Newcomer"), "2500.00", run=run)
    response = tab(logged_in, run)
    assert response.status_code == 200
    page = response.context["review"]
    assert (page.counts.flagged, page.counts.change, page.counts.first) == (3, 2, 1)
    html = response.content.decode()
    assert "Change above threshold: 2" in html and "First document above amount: 1" in html
    row = next(r for r in page.page if r.account.name == "Flagged 000")
    assert row.document.get_absolute_url() in html and row.previous.get_absolute_url() in html
    assert first.get_absolute_url() in html and "First in USD" in html
    assert "+50.0 %" in html and "$150.00" in html and "$100.00" in html
    assert "in a currency above 1,000 of that currency (JPY 100,000)" in html
    assert 'id="review-threshold"' in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("account", ["Up", "Down", "First"]),  # account numbers, in order of creation
        ("-account", ["First", "Down", "Up"]),
        ("change", ["Down", "Up", "First"]),  # a first document has no change: last
        ("-change", ["Up", "Down", "First"]),
        ("amount", ["Down", "Up", "First"]),
        ("-previous", ["Down", "Up", "First"]),
        ("junk", ["Up", "Down", "First"]),
    ],
)
def test_the_tab_sorts_by_account_amount_change_and_previous_amount(logged_in, sort, expected):
    run = completed_run()
    moved("Up", "100.00", "140.00", run)
    moved("Down", "200.00", "100.00", run)
    document(AccountFactory(name="First"), "3000.00", run=run)
    page = tab(logged_in, run, o=sort).context["review"].page
    assert [row.account.name for row in page] == expected


def test_the_tab_costs_the_same_queries_for_3_or_120_flagged_documents(
    logged_in, django_assert_num_queries
):
    small, big = review_run(3), review_run(120, quiet_count=30)
    for run, shown in ((small, 3), (big, 50)):
        tab(logged_in, run)  # prepares the review (inline here: tasks run in sync mode)
        # The run's page (8, whatever its tab) and the review's three: the prepared review
        # (with the rules' histogram), the page, its documents.
        for sort in ("account", "-change"):
            with django_assert_num_queries(11):
                response = tab(logged_in, run, page=2 if run is big else 1, o=sort)
            assert len(response.context["review"].page) == shown


def test_a_page_past_the_end_shows_the_last_page(logged_in):
    run = review_run(60)
    page = tab(logged_in, run, page=9).context["review"].page
    assert (page.number, len(page)) == (2, 10)


def test_a_run_without_flags_says_there_is_nothing_to_review(logged_in):
    run = review_run(0)
    html = tab(logged_in, run).content.decode()
    assert "Nothing to review" in html


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        ("Completed", True),
        ("PostInProgress", True),
        ("Posted", True),
        ("Pending", False),
        ("Processing", False),
        ("Error", False),
        ("CancelInProgress", False),
        ("Canceled", False),
    ],
)
def test_the_review_tab_is_there_once_the_documents_are_final(logged_in, status, shown):
    run = BillRunFactory(status=status)
    response = tab(logged_in, run)
    assert ("review" in response.context["tabs"]) == shown
    assert response.context["tab"] == ("review" if shown else "invoices")


def test_a_viewer_sees_the_review_but_cannot_change_the_threshold(client, viewer):
    run = review_run(1)
    client.force_login(viewer)
    response = tab(client, run)
    assert response.status_code == 200 and len(response.context["review"].page) == 1
    assert 'id="review-threshold"' not in response.content.decode()
    refused = client.post(reverse("review:threshold", args=[run.pk]), {"threshold_percent": "5"})
    assert refused.status_code == 403
    run.refresh_from_db()
    assert run.review_threshold_percent == Decimal("25")


@pytest.mark.parametrize("value", ["-1", "abc", "100000", "1.234"])
def test_an_invalid_threshold_is_refused_with_a_message(logged_in, value):
    run = review_run(1)
    response = logged_in.post(
        reverse("review:threshold", args=[run.pk]), {"threshold_percent": value}, follow=True
    )
    assert any("Threshold not changed" in str(m) for m in response.context["messages"])
    run.refresh_from_db()
    assert run.review_threshold_percent == Decimal("25")


def test_changing_the_threshold_leaves_who_last_acted_on_the_run(logged_in, user):
    run = review_run(1, quiet_count=0)
    BillRun.objects.filter(pk=run.pk).update(updated_by=user)
    logged_in.post(reverse("review:threshold", args=[run.pk]), {"threshold_percent": "40"})
    run.refresh_from_db()
    # A stopped posting resumes in the name of updated_by: a threshold must not change it.
    assert (run.review_threshold_percent, run.updated_by) == (Decimal("40"), user)
    assert list(flagged(run)) == ["Flagged 000"]


# -- the export ---------------------------------------------------------------------------------


def export(client, run, export_format: str, **query):
    url = reverse("review:export", args=[run.pk])
    return client.get(url, {"format": export_format, **query})


def test_the_csv_export_has_the_tabs_rows_and_neutralises_formulas(logged_in):
    run = completed_run()
    account = AccountFactory(name='=HYPERLINK("http://example.com","Click")')
    previous = document(account, "100.00", day=JAN1)
    current = document(account, "130.00", run=run)
    for name in ("+1 cell", "-2 cell", "@SUM(A1)"):
        document(AccountFactory(name=name), "5000.00", run=run)
    response = export(logged_in, run, "csv")
    assert response["Content-Disposition"] == f'attachment; filename="{run.number}-review.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == HEADER
    records = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    record = records[account.number]
    assert record == {
        "Account Number": account.number,
        "Account Name": '\'=HYPERLINK("http://example.com","Click")',
        "Document Number": current.number,
        "Document Kind": "Invoice",
        "Document Status": "Draft",
        "Document Date": "2026-02-01",
        "Amount": "130.00",
        "Currency": "USD",
        "Previous Document Number": previous.number,
        "Previous Document Kind": "Invoice",
        "Previous Document Date": "2026-01-01",
        "Previous Amount": "100.00",
        "Change %": "30.0",
        "Lines": "0",
        "Reasons": CHANGE,
        "Document URL": f"http://testserver{current.get_absolute_url()}",
        "Previous Document URL": f"http://testserver{previous.get_absolute_url()}",
    }
    assert sorted(r["Account Name"] for r in records.values()) == [
        "'+1 cell",
        "'-2 cell",
        '\'=HYPERLINK("http://example.com","Click")',
        "'@SUM(A1)",
    ]


def test_the_xlsx_export_has_numbers_and_keeps_formulas_as_text(logged_in):
    run = completed_run()
    account = AccountFactory(name="=1+1")
    document(account, "100.00", day=JAN1)
    document(account, "50.00", run=run, kind="CreditMemo")
    response = export(logged_in, run, "xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    record = dict(zip(HEADER, rows[1], strict=True))
    assert record["Account Name"] == "=1+1"
    assert sheet.cell(row=2, column=HEADER.index("Account Name") + 1).data_type == "s"
    assert Decimal(str(record["Amount"])) == Decimal("-50.00")
    assert Decimal(str(record["Change %"])) == Decimal("-150.0")


def test_the_export_follows_the_tabs_sort_and_is_offered_on_the_tab(logged_in):
    run = completed_run()
    moved("Up", "100.00", "140.00", run)
    moved("Down", "200.00", "100.00", run)
    html = tab(logged_in, run, o="-change").content.decode()
    assert f"{reverse('review:export', args=[run.pk])}?format=csv&amp;o=-change" in html
    response = export(logged_in, run, "csv", o="-change")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == ["Up", "Down"]


def test_the_export_of_a_run_without_a_review_is_refused(logged_in):
    run = BillRunFactory(status="Processing")
    response = export(logged_in, run, "csv")
    assert response.status_code == 400


def test_the_export_reads_in_a_fixed_number_of_queries(logged_in, django_assert_num_queries):
    run = review_run(30)
    tab(logged_in, run)  # prepares the review
    # The session, the user, two of permissions, the run; the prepared review (the rules), the
    # flagged entries and one chunk of documents.
    with django_assert_num_queries(8):
        response = export(logged_in, run, "csv")
        rows = b"".join(response.streaming_content).decode().splitlines()
    assert len(rows) == 31


# -- the prepared review ------------------------------------------------------------------------


def preparation(run) -> ReviewPreparation:
    return ReviewPreparation.objects.get(bill_run=run)


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("100000.00", "125000.40", Decimal("25.0")),  # +25.0004 %: stored 25.001, flagged
        ("100000.00", "74999.60", Decimal("-25.0")),  # -25.0004 %
        ("100000.00", "125000.00", None),  # exactly 25 %: stored 25.000, not flagged
    ],
)
def test_a_change_a_hair_above_the_threshold_is_flagged(db, before, after, change):
    run = completed_run()
    moved("Account", before, after, run)
    rows = flagged(run)
    assert (rows["Account"].change_percent if rows else None) == change


def test_a_completed_run_has_its_review_prepared_as_it_completes(run_now):
    ChargeFactory(subscription__account__name="Billed")
    run = run_now()
    assert run.status == BillRun.Status.COMPLETED
    assert preparation(run).is_ready
    assert ReviewEntry.objects.filter(bill_run=run).count() == run.documents.count() == 1


def test_the_tab_says_the_review_is_being_prepared_until_it_is(logged_in, monkeypatch):
    queued = []
    monkeypatch.setattr(review_services, "async_task", lambda *task: queued.append(task))
    run = review_run(1)
    html = tab(logged_in, run).content.decode()
    assert "Preparing the review…" in html and 'id="review-rules"' not in html
    assert reverse("review:preparing", args=[run.pk]) in html
    assert queued == [("billruns.tasks.prepare_review", run.pk, 1)]
    poll = logged_in.get(reverse("review:preparing", args=[run.pk]))
    assert poll.status_code == 200 and "Preparing the review…" in poll.content.decode()
    assert export(logged_in, run, "csv").status_code == 409
    assert len(queued) == 1  # asked once, however often the tab is looked at

    assert tasks.prepare_review(run.pk, 1) == f"review of bill run {run.pk}: prepared"
    poll = logged_in.get(reverse("review:preparing", args=[run.pk]))
    assert (poll.status_code, poll["HX-Refresh"]) == (204, "true")
    page = tab(logged_in, run).context["review"]
    assert [row.account.name for row in page.page] == ["Flagged 000"]


def test_canceling_an_earlier_documents_run_prepares_the_review_again(logged_in):
    run = completed_run()
    earlier, later = BillRunFactory(status="Posted"), BillRunFactory(status="Completed")
    later.invoice_date = later.target_date = dt.date(2026, 3, 1)
    later.save()
    account = AccountFactory(name="Rebilled")
    december = document(account, "100.00", day=DEC1)
    january = document(account, "130.00", day=JAN1, run=earlier)
    document(account, "130.00", run=run)
    assert flagged(run) == {}  # unchanged since January
    # Documents written or voided by a run dated after this one change nothing here.
    record(later, from_status="Processing", to_status="Completed")
    assert flagged(run) == {} and preparation(run).attempt == 1

    # What finish_cancel does to the January run: its documents Canceled, then the History.
    BillingDocument.objects.filter(pk=january.pk).update(status="Canceled")
    record(earlier, from_status="CancelInProgress", to_status="Canceled")
    row = tab(logged_in, run).context["review"].page[0]
    assert (row.previous.pk, row.change_percent) == (december.pk, Decimal("30.0"))
    assert preparation(run).attempt == 2


def test_a_preparation_that_stopped_moving_is_asked_for_again(db, monkeypatch):
    queued = []
    monkeypatch.setattr(review_services, "async_task", lambda *task: queued.append(task))
    run = review_run(1)
    review.review_page(run)
    assert queued == [("billruns.tasks.prepare_review", run.pk, 1)]
    review.review_page(run)
    assert len(queued) == 1  # still moving: not asked again
    long_ago = timezone.now() - review_services.STUCK_AFTER - dt.timedelta(seconds=1)
    ReviewPreparation.objects.filter(bill_run=run).update(updated_at=long_ago)
    assert review.review_page(run).preparing
    assert queued[-1] == ("billruns.tasks.prepare_review", run.pk, 2)
    # The first attempt's worker, come back late, stops; the second prepares it.
    assert not review_services.prepare_review(run_id=run.pk, attempt=1)
    assert review_services.prepare_review(run_id=run.pk, attempt=2)
    assert not review_services.prepare_review(run_id=run.pk, attempt=2)  # done already
    assert [row.account.name for row in review.review_page(run).page] == ["Flagged 000"]


def test_a_run_with_chunks_is_prepared_a_batch_of_chunks_at_a_time(db, monkeypatch):
    monkeypatch.setattr(review_services, "FILL_CHUNKS", 2)
    run = completed_run()
    documents = [moved(f"Flagged {n}", "100.00", "150.00", run) for n in range(5)]
    for sequence, account in enumerate(doc.account for doc in documents):
        BillRunChunk.objects.create(
            bill_run=run, sequence=sequence, first_account_id=account.pk, last_account_id=account.pk
        )
    assert len(flagged(run)) == 5
    assert (preparation(run).chunks_done, preparation(run).chunks_total) == (3, 3)
    # A cancel of this run that stopped half way, having voided one of its documents: the
    # review is prepared again, its old entries replaced, not added to.
    BillingDocument.objects.filter(pk=documents[0].pk).update(status="Canceled")
    record(run, from_status="CancelInProgress", to_status="Completed")
    assert len(flagged(run)) == 4 and preparation(run).attempt == 2
    assert ReviewEntry.objects.filter(bill_run=run).count() == 4


def test_without_a_set_amount_a_first_document_is_compared_with_the_run_s_average(settings, db):
    """The demo's first run wrote a ¥28,058,074 invoice among ordinary ones: with no amount set
    for a currency, a first document above 5 x the run's average document in that currency is
    flagged, and a run of ordinary new accounts is not flagged whole."""
    settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS = {"EUR": Decimal("50")}
    run = completed_run(
        amounts_by_currency={
            "JPY": {"invoice": "28958074", "credit_memo": "0"},
            "EUR": {"invoice": "600.00", "credit_memo": "0"},
        }
    )
    for index in range(9):
        document(AccountFactory(name=f"Yen {index}", currency="JPY"), "100000", run=run)
    document(AccountFactory(name="Huge yen", currency="JPY"), "28058074", run=run)
    document(AccountFactory(name="Euro start", currency="EUR"), "600.00", run=run)
    rows = flagged(run)
    # JPY: 28,958,074 over 10 documents, x 5 = 14,479,037; EUR keeps its set amount.
    assert set(rows) == {"Huge yen", "Euro start"}
    rules = review.review_rules(run)
    assert rules.first_document_amounts == {"EUR": Decimal("50"), "JPY": Decimal("14479037")}
    assert rules.first_document_amounts_text == (
        "EUR 50; 5 × this run's average document in its currency (JPY 14,479,037)"
    )


def test_with_a_star_amount_nothing_is_derived(settings, db):
    settings.BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS = {"*": Decimal("1000")}
    run = completed_run(amounts_by_currency={"USD": {"invoice": "10.00", "credit_memo": "0"}})
    document(AccountFactory(name="Small"), "10.00", run=run)
    assert flagged(run) == {}
    assert review.review_rules(run).first_document_amounts_text == "1,000 of that currency"
