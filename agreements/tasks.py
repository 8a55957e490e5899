"""Thin Celery tasks: each loads nothing itself and calls one service."""

from celery import shared_task

from .services.lifecycle import expire_due
from .services.reminders import reminders_refresh


@shared_task(name="agreements.expire_due")
def expire_due_agreements() -> int:
    return expire_due()


@shared_task(name="agreements.refresh_reminders")
def refresh_agreement_reminders() -> dict:
    return reminders_refresh()
