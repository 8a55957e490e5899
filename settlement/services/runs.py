"""Runs of the month-end (and year-end) batches as rows a page can follow.

A button or an API call records a SettlementRun (queued) and hands its id to Celery after the
commit; the worker marks it running, calls the batch service with a progress callback, and
records the outcome. The batch's results are one transaction of their own: a failed run leaves
its error here and nothing of its results. Progress lives in the cache (Redis in production),
because the batch's own transaction is invisible to the page until it commits.
"""

from collections.abc import Callable
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError

from ..models import RunKind, RunStatus, SettlementRun

PROGRESS_TTL = 6 * 3600
# kind -> callable(period, actor, agency, progress) -> result with as_dict()/as_text(); the annual
# batch registers itself here too.
EXECUTORS: dict[str, Callable] = {}


def register(kind: str):
    def wrap(fn):
        EXECUTORS[kind] = fn
        return fn

    return wrap


def _key(run_id: int) -> str:
    return f"settlement-run:{run_id}:progress"


def run_request(*, kind: str, period: date, actor, agency=None, trigger: str = "page") -> SettlementRun:
    """Queue a run, or return the one already queued or running for the same month and scope,
    so that a second click does not start a second batch."""
    if kind not in EXECUTORS:
        raise ValueError(kind)
    if agency is None and actor is not None and not actor.sees_all_institutions:
        # A clerk's run is their agency's: two clerks asking at once get two runs, not one.
        agency = actor.agency
    with transaction.atomic():
        existing = (
            SettlementRun.objects.select_for_update()
            .filter(kind=kind, period=period, agency=agency, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            .first()
        )
        if existing is not None:
            return existing
        run = SettlementRun.objects.create(kind=kind, period=period, agency=agency, requested_by=actor, trigger=trigger)
        from ..tasks import execute_run  # noqa: PLC0415 (tasks import this module)

        transaction.on_commit(lambda: execute_run.delay(run.pk))
    return run


def run_execute(run_id: int) -> SettlementRun:
    """The worker's part: run the batch and record how it went."""
    run = SettlementRun.objects.select_related("requested_by", "agency").get(pk=run_id)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return run  # already done (a redelivered message)
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])

    def progress(done: int, total: int, label: str) -> None:
        cache.set(_key(run.pk), {"done": done, "total": total, "label": label}, PROGRESS_TTL)

    try:
        result = EXECUTORS[run.kind](period=run.period, actor=run.requested_by, agency=run.agency, progress=progress)
    except ApplicationError as exc:
        _finish(run, RunStatus.FAILED, error=exc.message)
        return run
    except Exception as exc:
        _finish(run, RunStatus.FAILED, error=f"运行出错，结果未保存：{exc.__class__.__name__}")
        raise
    _finish(run, RunStatus.SUCCEEDED, summary={**result.as_dict(), "text": result.as_text()})
    return run


def _finish(run: SettlementRun, status: str, *, error: str = "", summary: dict | None = None) -> None:
    run.status, run.finished_at, run.error = status, timezone.now(), error
    run.summary = summary or {}
    run.save(update_fields=["status", "finished_at", "error", "summary"])
    cache.delete(_key(run.pk))


def run_progress(run: SettlementRun) -> dict:
    """What the page shows while it polls: status, done/total, the agency being settled."""
    data = {"id": run.pk, "status": run.status, "status_label": run.get_status_display(), "error": run.error}
    if run.status == RunStatus.RUNNING:
        data.update(cache.get(_key(run.pk)) or {"done": 0, "total": 0, "label": ""})
    elif run.status == RunStatus.SUCCEEDED:
        data["text"] = run.summary.get("text", "")
    return data


@register(RunKind.MONTHLY)
def _monthly(*, period, actor, agency, progress):
    from .month_end import settlement_month_end_run  # noqa: PLC0415

    return settlement_month_end_run(period=period, actor=actor, agency=agency, progress=progress)


from . import year_end  # noqa: E402,F401  (registers the annual executor)
