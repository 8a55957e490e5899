"""Every Celery beat schedule of the portal, in one place."""

BEAT_SCHEDULE: dict = {}
