from django.contrib.auth.views import LoginView
from django.db.models import F
from django.shortcuts import render

from core.models import TaskItem
from institutions import selectors as registry
from settlement.selectors import home_summary

from .models import Role


class PortalLoginView(LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def open_tasks_for(user):
    """The user's open task list (待办事项): their agency's, their institution's, or all of them
    for an administrator and the regional agency. Nearest deadline first."""
    qs = TaskItem.objects.filter(done_at__isnull=True)
    if user.sees_all_institutions:
        # The agencies' lists; an institution's own reminders (declare by the 10th) are its own.
        qs = qs.filter(agency__isnull=False)
    elif user.role in (Role.AGENCY_STAFF, Role.AUDITOR) and user.agency_id:
        qs = qs.filter(agency_id=user.agency_id)
    elif user.role == Role.INSTITUTION_ADMIN and user.institution_id:
        qs = qs.filter(institution_id=user.institution_id)
    else:
        qs = qs.none()
    return qs.order_by(F("due_on").asc(nulls_last=True), "pk")


def home(request):
    """Each role's start page: what is waiting for them."""
    user = request.user
    tasks = open_tasks_for(user)
    ctx = {"tasks": tasks[:20], "task_count": tasks.count(), **home_summary(user)}
    if user.role == Role.INSTITUTION_ADMIN:
        ctx["institution"] = registry.institutions_for(user).first()
        ctx["filings"] = registry.filings_for(user)[:5]
        ctx["applications"] = registry.applications_for(user)[:5]
    else:
        institutions = registry.institutions_for(user)
        ctx["institution_count"] = institutions.count()
        ctx["flagged"] = institutions.filter(needs_verification=True).order_by("code")[:10]
        ctx["flagged_count"] = institutions.filter(needs_verification=True).count()
        ctx["pending_filings"] = registry.filings_for(user).filter(status="pending")[:10]
        ctx["pending_applications"] = registry.applications_for(user).exclude(status__in=["announced", "rejected"])[:10]
        ctx["by_type"] = registry.designation_counts(user)
    return render(request, "home.html", ctx)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", {"message": str(exception or "")}, status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)
