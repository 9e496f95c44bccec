"""Pages for recurring bill runs: list, create, edit, pause, resume, delete, and a preview of
the next run dates. Calendar rules live in billruns.schedules.dates, writes and executions in
billruns.schedules.services."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from billruns.models import BillRunSchedule
from billruns.schedules import dates, selectors, services
from billruns.schedules.forms import ScheduleForm
from core.paging import paginate

PREVIEW_COUNT = 15


@require_GET
@permission_required("billruns.view_billrunschedule", raise_exception=True)
def list_view(request):
    rows = selectors.schedule_list()
    return render(request, "billruns/schedule_list.html", {"page_obj": paginate(request, rows)})


def _preview(rule: dict | None, run_time) -> list[dict]:
    """The next runs from now: today's is listed only while its run time is still ahead."""
    if rule is None:
        return []
    start = dates.first_run_day(now=timezone.localtime(), run_time=run_time)
    return dates.preview(start=start, count=PREVIEW_COUNT, **rule)


def _edit(request, schedule: BillRunSchedule | None):
    if request.method == "POST":
        form = ScheduleForm(request.POST, instance=schedule)
        if form.is_valid():
            fields = form.schedule_fields()
            try:
                if schedule is None:
                    saved = services.create_schedule(acting_user=request.user, **fields)
                else:
                    saved = services.update_schedule(
                        schedule=schedule, acting_user=request.user, **fields
                    )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                verb = "updated" if schedule else "created"
                messages.success(request, f"Schedule {saved} {verb}.")
                return redirect(saved)
    else:
        form = ScheduleForm(instance=schedule)
    return render(request, "billruns/schedule_form.html", {"form": form, "schedule": schedule})


@permission_required("billruns.add_billrunschedule", raise_exception=True)
def create_view(request):
    return _edit(request, None)


@permission_required("billruns.change_billrunschedule", raise_exception=True)
def edit_view(request, pk):
    return _edit(request, get_object_or_404(selectors.schedules(), pk=pk))


@require_GET
@permission_required("billruns.view_billrunschedule", raise_exception=True)
def preview_view(request):
    """The next run dates of the rule typed so far (htmx fragment of the schedule form)."""
    form = ScheduleForm(request.GET)
    form.is_valid()  # each field as far as it parses
    rows = _preview(form.preview_rule(), form.cleaned_data.get("run_time"))
    return render(request, "billruns/includes/schedule_preview.html", {"rows": rows})


@require_GET
@permission_required("billruns.view_billrunschedule", raise_exception=True)
def detail_view(request, pk):
    schedule = get_object_or_404(selectors.schedules(), pk=pk)
    rule = {
        **schedule.rule,
        "invoice_date_offset_days": schedule.invoice_date_offset_days,
        "target_date_offset_days": schedule.target_date_offset_days,
        "bill_cycle_day": "" if schedule.account_id else schedule.bill_cycle_day,
    }
    runs = selectors.schedule_runs(schedule=schedule)
    return render(
        request,
        "billruns/schedule_detail.html",
        {
            "schedule": schedule,
            "preview": _preview(rule, schedule.run_time) if schedule.enabled else [],
            "page_obj": paginate(request, runs),
        },
    )


def _set_enabled(request, pk, enabled: bool):
    schedule = get_object_or_404(selectors.schedules(), pk=pk)
    change = services.resume_schedule if enabled else services.pause_schedule
    if change(schedule=schedule, acting_user=request.user):
        messages.success(
            request,
            f"Schedule {schedule} resumed: it runs again from its next run date."
            if enabled
            else f"Schedule {schedule} paused: it creates no runs until it is resumed.",
        )
    else:
        messages.info(
            request, f"Schedule {schedule} is already {'active' if enabled else 'paused'}."
        )
    return redirect(schedule)


@require_POST
@permission_required("billruns.change_billrunschedule", raise_exception=True)
def pause_view(request, pk):
    return _set_enabled(request, pk, False)


@require_POST
@permission_required("billruns.change_billrunschedule", raise_exception=True)
def resume_view(request, pk):
    return _set_enabled(request, pk, True)


@require_POST
@permission_required("billruns.delete_billrunschedule", raise_exception=True)
def delete_view(request, pk):
    schedule = get_object_or_404(selectors.schedules(), pk=pk)
    name = str(schedule)
    services.delete_schedule(schedule=schedule, acting_user=request.user)
    messages.success(request, f"Schedule {name} deleted; the runs it created stay.")
    return redirect("schedules:list")
