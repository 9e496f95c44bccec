"""The guards against double billing and number reuse hold on PostgreSQL, also under concurrency."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from invoicing.models import BillingDocument, DocumentLine
from tests.factories import (
    AccountFactory,
    BillingDocumentFactory,
    DocumentLineFactory,
    number_documents,
)

pytestmark = pytest.mark.postgres


def clone_line(line: DocumentLine, document: BillingDocument) -> DocumentLine:
    return DocumentLine(
        document=document,
        charge_id=line.charge_id,
        subscription_id=line.subscription_id,
        charge_type=line.charge_type,
        description=line.description,
        service_start=line.service_start,
        service_end=line.service_end,
        amount=line.amount,
    )


@pytest.mark.django_db
def test_runs_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.mark.django_db
def test_the_same_days_of_a_line_cannot_be_credited_twice():
    line = DocumentLineFactory()
    other = BillingDocumentFactory(account=line.document.account)
    credit = clone_line(line, other)
    credit.credits, credit.amount = line, -line.amount
    DocumentLine.objects.bulk_create([credit])  # a credit may start where its line starts
    again = clone_line(line, other)
    again.credits, again.amount = line, -line.amount
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentLine.objects.bulk_create([again])
    assert DocumentLine.objects.filter(credits=line).count() == 1


@pytest.mark.django_db
def test_a_second_line_for_the_same_charge_and_service_start_is_refused():
    line = DocumentLineFactory()
    other = BillingDocumentFactory(account=line.document.account)
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentLine.objects.bulk_create([clone_line(line, other)])
    DocumentLine.objects.filter(pk=line.pk).update(canceled=True)
    DocumentLine.objects.bulk_create([clone_line(line, other)])
    assert DocumentLine.objects.filter(charge_id=line.charge_id, canceled=False).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [("bill_cycle_day", 32), ("batch", "Batch51")])
def test_bad_bill_cycle_days_and_batches_are_refused(field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountFactory(**{field: value})


def run_concurrently(*targets):
    """Run each target in its own thread and database connection; return their outcomes."""
    barrier = threading.Barrier(len(targets))
    outcomes: list[object] = [None] * len(targets)

    def runner(index, target):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = target()
        except Exception as error:  # the outcome under test may be an error
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_of_the_same_line_bill_it_once():
    line = DocumentLineFactory()
    documents = [BillingDocumentFactory(account=line.document.account) for _ in range(2)]
    DocumentLine.objects.filter(pk=line.pk).update(canceled=True)

    def write(document):
        def target():
            with transaction.atomic():
                DocumentLine.objects.bulk_create([clone_line(line, document)])
            return "written"

        return target

    outcomes = run_concurrently(write(documents[0]), write(documents[1]))
    assert sorted(map(type, outcomes), key=str) == sorted([str, IntegrityError], key=str)
    assert DocumentLine.objects.filter(charge_id=line.charge_id, canceled=False).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gapless_numbers():
    account = AccountFactory()

    def writer(count, fail=False):
        def target():
            with transaction.atomic():
                docs = [BillingDocumentFactory.build(account=account) for _ in range(count)]
                number_documents(docs)
                BillingDocument.objects.bulk_create(docs)
                if fail:
                    raise RuntimeError("crash after numbering")
            return count

        return target

    outcomes = run_concurrently(writer(50), writer(30, fail=True), writer(20), writer(40))
    assert [o for o in outcomes if not isinstance(o, int)][0].args == ("crash after numbering",)
    numbers = sorted(int(n[3:]) for n in BillingDocument.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 111))
