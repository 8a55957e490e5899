"""One place decides who may open each URL (pages and API alike).

Every named URL of the portal must appear in URL_ROLES; tests/test_url_permissions.py fails the
build when one is missing. What a role may *see* inside a page is decided by the selectors
(`institutions.selectors.institutions_for`), which turn a foreign id into a 404.
"""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import Role

PUBLIC = "public"  # no login needed
ANY = frozenset(Role.values)  # any logged-in user; data is scoped by the selectors

STAFF = frozenset({Role.AGENCY_STAFF, Role.ADMIN})
STAFF_AUDIT = frozenset({Role.AGENCY_STAFF, Role.AUDITOR, Role.ADMIN})
INSTITUTION = frozenset({Role.INSTITUTION_ADMIN})
STAFF_INSTITUTION = frozenset({Role.AGENCY_STAFF, Role.ADMIN, Role.INSTITUTION_ADMIN})
ADMIN = frozenset({Role.ADMIN})

URL_ROLES: dict[str, object] = {
    # accounts
    "login": PUBLIC,
    "logout": ANY,
    "home": ANY,
    "set_language": PUBLIC,
    "password_change": ANY,
    "password_change_done": ANY,
    # registry pages
    "institutions:list": STAFF_AUDIT,
    "institutions:detail": ANY,
    "institutions:mine": INSTITUTION,
    "institutions:import": STAFF,
    "institutions:export": STAFF_AUDIT,
    "institutions:verify": STAFF,
    "institutions:agency_list": STAFF_AUDIT,
    "institutions:filing_list": STAFF_INSTITUTION,
    "institutions:filing_create": STAFF_INSTITUTION,
    "institutions:filing_detail": STAFF_INSTITUTION,
    "institutions:filing_decide": STAFF,
    "institutions:application_list": STAFF_INSTITUTION,
    "institutions:application_create": STAFF_INSTITUTION,
    "institutions:application_detail": STAFF_INSTITUTION,
    "institutions:application_advance": STAFF,
    "institutions:application_material": STAFF_INSTITUTION,
    "institutions:material_download": STAFF_INSTITUTION,
    # audit trail
    "audit:search": STAFF_AUDIT,
    # service agreements: staff act, auditors read, an institution administrator reads and
    # downloads its own (agreements_for scopes the rows); terminations are published (M§43)
    "agreements:list": ANY,
    "agreements:detail": ANY,
    "agreements:create": STAFF,
    "agreements:act": STAFF,
    "agreements:complete_term": STAFF,
    "agreements:pdf": ANY,
    "agreements:scan_upload": STAFF,
    "agreements:scan_download": ANY,
    "agreements:public_terminations": PUBLIC,
    # declarations, review and month-end settlement (issue 4): institutions declare and read their
    # own; staff declare for theirs, review and settle; auditors read (the selectors scope the rows)
    "settlement:declaration_list": ANY,
    "settlement:declaration_new": STAFF_INSTITUTION,
    "settlement:declaration_upload": STAFF_INSTITUTION,
    "settlement:template_download": ANY,
    "settlement:declaration_detail": ANY,
    "settlement:import_list": ANY,
    "settlement:import_detail": ANY,
    "settlement:line_detail": ANY,
    "settlement:line_withdraw": INSTITUTION,
    "settlement:review": STAFF_AUDIT,
    "settlement:bulk_approve": STAFF,
    "settlement:line_decide": STAFF,
    "settlement:month_list": STAFF_AUDIT,
    "settlement:month": STAFF_AUDIT,
    "settlement:run_start": STAFF,
    "settlement:approve": STAFF,
    "settlement:month_export": STAFF_AUDIT,
    "settlement:month_summary": STAFF_AUDIT,
    "settlement:run_status": STAFF_AUDIT,
    "settlement:statement_list": ANY,
    "settlement:statement": ANY,
    "settlement:statement_pdf": ANY,
    "settlement:adjustment_new": STAFF,
    "settlement:receivables": STAFF_AUDIT,
    "settlement:deduction_new": STAFF,
    "settlement:hold_new": STAFF,
    "settlement:hold_lift": STAFF,
    # year-end (issue 5): institutions apply in January and read their score and statement
    "settlement:annual_list": STAFF_AUDIT,
    "settlement:annual_year": STAFF_AUDIT,
    "settlement:annual_run_start": STAFF,
    "settlement:annual_approve": STAFF,
    "settlement:annual_export": STAFF_AUDIT,
    "settlement:annual_summary": STAFF_AUDIT,
    "settlement:score_list": STAFF_AUDIT,
    "settlement:score_import": STAFF,
    "settlement:score_detail": ANY,
    "settlement:score_edit": STAFF,
    "settlement:annual_statement_list": ANY,
    "settlement:annual_statement": ANY,
    "settlement:annual_statement_pdf": ANY,
    "settlement:application_list": ANY,
    "settlement:application_new": STAFF_INSTITUTION,
    "settlement:application_detail": ANY,
    "settlement:application_decide": STAFF,
    "settlement:annual_material": ANY,
    # violation cases (issue 6): staff and auditors handle cases; an institution reads its own cases
    # (without the internal notes and evidence), explains and reports on its rectification
    "violations:list": ANY,
    "violations:new": STAFF_AUDIT,
    "violations:statistics": STAFF_AUDIT,
    "violations:public": PUBLIC,
    "violations:detail": ANY,
    "violations:act": STAFF_AUDIT,
    "violations:evidence_upload": STAFF_AUDIT,
    "violations:explain": INSTITUTION,
    "violations:evidence_download": ANY,
    "violations:rectification_report": INSTITUTION,
    # API
    "api:schema": ANY,
    "api:docs": ANY,
    "api:agency-list": STAFF_AUDIT,
    "api:agency-detail": STAFF_AUDIT,
    "api:institution-list": ANY,
    "api:institution-detail": ANY,
    "api:institution-history": ANY,
    "api:institution-verify": STAFF,
    "api:registry-import": STAFF,
    "api:registry-export": STAFF_AUDIT,
    "api:filing-list": STAFF_INSTITUTION,
    "api:filing-detail": STAFF_INSTITUTION,
    "api:filing-approve": STAFF,
    "api:filing-reject": STAFF,
    "api:application-list": STAFF_INSTITUTION,
    "api:application-detail": STAFF_INSTITUTION,
    "api:application-advance": STAFF,
    "api:application-materials": STAFF_INSTITUTION,
    "api:audit-list": STAFF_AUDIT,
    "api:agreement-list": ANY,  # POST (a new draft) is refused by the service unless staff
    "api:agreement-detail": ANY,
    "api:agreement-action": STAFF,
    "api:agreement-pdf": ANY,
    "api:agreement-scans": STAFF,
    "api:agreement-terminations": PUBLIC,  # the view itself is AllowAny
    "api:me": ANY,
    "api:declaration-list": ANY,
    "api:declaration-detail": ANY,
    "api:declaration-lines": STAFF_INSTITUTION,
    "api:declaration-import": STAFF_INSTITUTION,
    "api:declaration-import-detail": ANY,
    "api:line-list": ANY,
    "api:line-detail": ANY,
    "api:line-decision": STAFF,
    "api:lines-approve-pending": STAFF,
    "api:review-reasons": ANY,
    "api:settlement-list": ANY,
    "api:settlement-detail": ANY,
    "api:settlement-statement": ANY,
    "api:settlement-months": STAFF_AUDIT,
    "api:settlement-approve": STAFF,
    "api:settlement-runs": STAFF,
    "api:settlement-run-detail": STAFF_AUDIT,
    "api:settlement-export": STAFF_AUDIT,
    "api:settlement-summary": STAFF_AUDIT,
    "api:settlement-adjustments": STAFF_AUDIT,  # POST: the service refuses anyone but staff
    "api:settlement-deductions": STAFF_AUDIT,  # POST: the service refuses anyone but staff
    "api:settlement-holds": STAFF_AUDIT,  # POST: the service refuses anyone but staff
    "api:settlement-hold-lift": STAFF,
    # year-end API (issue 5), scoped like its pages: an institution applies and reads its own score
    # and statements; staff decide, score, run and approve; auditors read
    "api:annual-application-list": ANY,  # POST: the service refuses anyone but staff and institutions
    "api:annual-application-detail": ANY,
    "api:annual-application-decision": STAFF,
    "api:score-list": STAFF_AUDIT,
    "api:score-import": STAFF,
    "api:score-detail": ANY,  # PUT/POST: the service refuses anyone but staff
    "api:annual-settlement-list": ANY,
    "api:annual-settlement-detail": ANY,
    "api:annual-settlement-statement": ANY,
    "api:annual-settlement-export": STAFF_AUDIT,
    "api:annual-settlement-summary": STAFF_AUDIT,
    "api:annual-settlement-years": STAFF_AUDIT,
    "api:annual-settlement-approve": STAFF,
    "api:annual-settlement-runs": STAFF,
    "api:case-list": ANY,  # POST (open a case) is refused by the service unless staff or auditor
    "api:case-statistics": STAFF_AUDIT,
    "api:case-detail": ANY,
    "api:case-action": STAFF_AUDIT,
    "api:case-explanation": INSTITUTION,
    "api:case-evidence": STAFF_AUDIT,
    "api:rectification-report": INSTITUTION,
    "api:measure-list": ANY,
    "api:public-violations": PUBLIC,  # the view itself is AllowAny
}

# Namespaces that guard themselves: Django admin (is_staff) and the browsable API's login.
SELF_GUARDED_NAMESPACES = {"admin", "rest_framework"}


def role_of(user) -> str | None:
    if not user.is_authenticated:
        return None
    return Role.ADMIN if user.is_superuser else user.role


def allowed(view_name: str | None, user) -> bool:
    rule = URL_ROLES.get(view_name or "")
    if rule is None:
        return False  # a URL nobody listed is closed, not open
    if rule == PUBLIC:
        return True
    return role_of(user) in rule


class UrlRoleMiddleware:
    """Pages: anonymous users go to the login page, a role without the right gets 403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.namespace in SELF_GUARDED_NAMESPACES:
            return None
        if match.view_name.startswith("api:"):
            return None  # DRF authenticates (tokens too) and then asks UrlRolePermission
        if request.path.startswith((settings.STATIC_URL, settings.MEDIA_URL)):
            return None
        if URL_ROLES.get(match.view_name) == PUBLIC:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not allowed(match.view_name, request.user):
            raise PermissionDenied("您的角色无权访问此页面。")
        return None


class UrlRolePermission(BasePermission):
    message = "您的角色无权执行此操作。"

    def has_permission(self, request, view):
        match = request.resolver_match
        return bool(request.user and request.user.is_authenticated) and allowed(match and match.view_name, request.user)
