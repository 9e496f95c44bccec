"""The transition table: the one list of which statuses each action starts from. Services refuse
from it and pages offer buttons from it, so the two can never disagree."""

import pytest

from billruns.models import BillRun, BillRunEvent
from billruns.services.lifecycle import TRANSITIONS, Action, can, move, refuse
from tests.factories import BillRunFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", [status.value for status in BillRun.Status])
def test_can_answers_from_the_table(action, status):
    run = BillRun(status=status)
    assert can(run, action) == (status in TRANSITIONS[action].sources)


def test_a_refusal_names_the_statuses_the_table_allows():
    run = BillRunFactory(status=BillRun.Status.PROCESSING)
    assert str(refuse(run, Action.CANCEL)) == (
        f"{run.number} is Processing: only Pending, Completed, Error or Cancel in progress runs can be canceled."
    )


def test_a_move_writes_the_history_row_and_a_second_move_does_nothing(user):
    run = BillRunFactory(status=BillRun.Status.COMPLETED)
    assert move(run, Action.POST, actor=user, message="by hand")
    assert not move(run, Action.POST, actor=user)
    run.refresh_from_db()
    assert run.status == BillRun.Status.POST_IN_PROGRESS
    assert list(BillRunEvent.objects.values_list("from_status", "to_status", "message")) == [
        ("Completed", "PostInProgress", "by hand")
    ]


def test_a_move_with_several_sources_records_the_one_it_left(user):
    run = BillRunFactory(status=BillRun.Status.ERROR)
    assert move(run, Action.CANCEL, actor=user)
    assert BillRunEvent.objects.get().from_status == "Error"


def test_a_user_without_the_permission_cannot_ask(user, operator):
    run = BillRun(status=BillRun.Status.COMPLETED)
    assert can(run, Action.POST, user=operator)
    assert not can(run, Action.POST, user=user)
