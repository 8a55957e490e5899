"""Thin Celery tasks of the violation cases."""

from celery import shared_task

from .services.deadlines import flag_overdue


@shared_task(name="violations.flag_overdue")
def flag_overdue_deadlines() -> dict:
    return flag_overdue()
