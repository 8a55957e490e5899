"""Every Celery beat schedule of the portal, in one place."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    # Just after midnight (Asia/Shanghai): terms that ended yesterday become expired...
    "agreements-expire-due": {"task": "agreements.expire_due", "schedule": crontab(hour=0, minute=10)},
    # ...then the task lists get the month-ahead renewal and notice reminders (D§33).
    "agreements-refresh-reminders": {"task": "agreements.refresh_reminders", "schedule": crontab(hour=0, minute=20)},
}
