"""Thin Celery tasks: each takes ids, calls one service and returns what it reports."""

from celery import shared_task

from .models import RunKind
from .services.periods import add_months, month_start
from .services.reminders import reminders_refresh
from .services.runs import run_execute, run_request


@shared_task(name="settlement.execute_run")
def execute_run(run_id: int) -> str:
    return run_execute(run_id).status


@shared_task(name="settlement.month_end")
def month_end() -> int:
    """Beat: after the review deadline, compute last month for every agency (staff then approve)."""
    from django.utils import timezone

    period = add_months(month_start(timezone.localdate()), -1)
    return run_request(kind=RunKind.MONTHLY, period=period, actor=None, trigger="beat").pk


@shared_task(name="settlement.refresh_reminders")
def refresh_reminders() -> dict:
    return reminders_refresh()
