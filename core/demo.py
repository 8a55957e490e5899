"""Demo data: the three official tables of March 2026 and one user per role (load_demo)."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from auditlog.context import set_actor
from django.conf import settings
from django.db import transaction

from accounts.models import Role, User
from institutions.models import AgencyLevel, ChangeFiling, HandlingAgency, Institution
from institutions.services.agencies import REGIONAL_AGENCY_NAME
from institutions.services.filings import filing_submit
from institutions.services.registry_import import ImportReport, registry_import

DATA_DIR = Path(__file__).resolve().parent.parent / "institutions" / "data"
TABLES = [
    ("medical", "registry_medical_2026-03.csv"),
    ("rehabilitation", "registry_rehabilitation_2026-03.csv"),
    ("devices", "registry_devices_2026-03.csv"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    agency: str = ""
    institution: str = ""  # institution name


DEMO_USERS = [
    DemoUser("admin", "系统管理员", Role.ADMIN),
    DemoUser("staff_region", "自治区经办员", Role.AGENCY_STAFF, agency=REGIONAL_AGENCY_NAME),
    DemoUser("staff_yinchuan", "银川经办员", Role.AGENCY_STAFF, agency="银川市社会保险事业管理中心"),
    DemoUser("staff_guyuan", "固原经办员", Role.AGENCY_STAFF, agency="固原市社会保险事业管理中心"),
    DemoUser("auditor_yinchuan", "银川稽核员", Role.AUDITOR, agency="银川市社会保险事业管理中心"),
    DemoUser("hospital_admin", "银川一院管理员", Role.INSTITUTION_ADMIN, institution="银川市第一人民医院"),
    DemoUser("hospital_guyuan", "固原人民医院管理员", Role.INSTITUTION_ADMIN, institution="固原市人民医院"),
]


def load_registry(as_of=None) -> list[ImportReport]:
    reports = []
    for type_, filename in TABLES:
        with open(DATA_DIR / filename, "rb") as fh:
            reports.append(registry_import(fh=fh, type_=type_, name=filename, as_of=as_of or date(2026, 3, 1)))
    return reports


def ensure_regional_agency() -> HandlingAgency:
    agency, _ = HandlingAgency.objects.get_or_create(
        name=REGIONAL_AGENCY_NAME,
        defaults={"level": AgencyLevel.REGIONAL, "division_code": "640000", "phone": "0951-5061112"},
    )
    return agency


def ensure_users(password: str) -> list[tuple[DemoUser, bool]]:
    out = []
    for spec in DEMO_USERS:
        user = User.objects.filter(username=spec.username).first()
        created = user is None
        if created:
            user = User(username=spec.username, full_name=spec.full_name, role=spec.role)
            if spec.agency:
                user.agency = HandlingAgency.objects.get(name=spec.agency)
            if spec.institution:
                user.institution = Institution.objects.get(name=spec.institution)
            if spec.role == Role.ADMIN:
                user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        out.append((spec, created))
    return out


def ensure_sample_filing() -> None:
    hospital_admin = User.objects.get(username="hospital_admin")
    if ChangeFiling.objects.filter(submitted_by=hospital_admin).exists():
        return
    filing_submit(
        institution=hospital_admin.institution,
        changes={"legal_representative": "张明", "postal_code": "750001"},
        reason="法定代表人换届，补充邮政编码（演示数据）",
        actor=hospital_admin,
    )


def ensure_sample_agreements() -> None:
    """Give a few agreements a term, so the lists, reminders and documents have something to show:
    银川市第一人民医院's medical agreement runs to the end of 2028; 银川市第二人民医院's ends within
    the month (a renewal reminder)."""
    from datetime import timedelta

    from django.utils import timezone

    from agreements.models import Agreement
    from agreements.services.lifecycle import agreement_complete_term
    from agreements.services.reminders import reminders_refresh

    clerk = User.objects.get(username="staff_yinchuan")
    today = timezone.localdate()
    samples = [
        ("银川市第一人民医院", date(2026, 1, 1), date(2028, 12, 31), date(2025, 12, 20), "李华", ["王芳", "赵强"]),
        ("银川市第二人民医院", date(2024, 1, 1), today + timedelta(days=20), date(2023, 12, 25), "陈刚", ["刘洋"]),
    ]
    for name, start, end, signed, leader, managers in samples:
        agreement = Agreement.objects.filter(institution__name=name, type="medical", valid_to__isnull=True).first()
        if agreement is None:
            continue  # already completed on an earlier run
        agreement.leader_name, agreement.managers = leader, managers
        agreement.save(update_fields=["leader_name", "managers"])
        agreement_complete_term(agreement=agreement, valid_from=start, valid_to=end, signed_on=signed, actor=clerk)
    reminders_refresh(on=today)


@transaction.atomic
def load_demo(password: str | None = None):
    password = password or settings.PORTAL_DEMO_PASSWORD
    with set_actor(None):
        ensure_regional_agency()
        reports = load_registry()
        users = ensure_users(password)
        with set_actor(User.objects.get(username="hospital_admin")):
            ensure_sample_filing()
        with set_actor(User.objects.get(username="staff_yinchuan")):
            ensure_sample_agreements()
        with set_actor(User.objects.get(username="staff_region")):
            from settlement.demo import load_demo_annual, load_demo_settlement  # noqa: PLC0415

            load_demo_annual()
            load_demo_settlement()
    return reports, users, password
