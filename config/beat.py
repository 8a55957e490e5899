"""Every Celery beat schedule of the portal, in one place."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {
    # Just after midnight (Asia/Shanghai): terms that ended yesterday become expired...
    "agreements-expire-due": {"task": "agreements.expire_due", "schedule": crontab(hour=0, minute=10)},
    # ...then the task lists get the month-ahead renewal and notice reminders (D§33).
    "agreements-refresh-reminders": {"task": "agreements.refresh_reminders", "schedule": crontab(hour=0, minute=20)},
    # W§28: institutions declare last month by the 10th, the agency reviews by the 25th. Daily, the
    # task lists get who still has to declare, review or approve...
    "settlement-refresh-reminders": {"task": "settlement.refresh_reminders", "schedule": crontab(hour=0, minute=30)},
    # ...and the night after the review deadline the month-end batch computes last month (staff
    # then approve it for payment on the month's page).
    "settlement-month-end": {"task": "settlement.month_end", "schedule": crontab(day_of_month=26, hour=1, minute=0)},
    # Violation cases: explanations (M§35) and rectifications past their deadline onto the task lists.
    "violations-flag-overdue": {"task": "violations.flag_overdue", "schedule": crontab(hour=0, minute=40)},
}
