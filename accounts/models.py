from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENCY_STAFF = "agency_staff", _("经办人员")
    INSTITUTION_ADMIN = "institution_admin", _("机构管理员")
    AUDITOR = "auditor", _("稽核人员")
    ADMIN = "admin", _("系统管理员")


class User(AbstractUser):
    """A portal user. The role decides the pages; the binding decides the data (SPEC §1)."""

    full_name = models.CharField("姓名", max_length=50, blank=True)
    role = models.CharField("角色", max_length=20, choices=Role.choices, default=Role.AGENCY_STAFF)
    agency = models.ForeignKey(
        "institutions.HandlingAgency",
        verbose_name="所属经办机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    institution = models.ForeignKey(
        "institutions.Institution",
        verbose_name="所属协议机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    phone = models.CharField("联系电话", max_length=40, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"
        constraints = [
            # A staff member or auditor without an agency, or an institution administrator
            # without an institution, would see nothing or (worse) everything: refuse both.
            models.CheckConstraint(
                name="user_role_binding",
                condition=(
                    Q(role__in=["agency_staff", "auditor"], agency__isnull=False, institution__isnull=True)
                    | Q(role="institution_admin", institution__isnull=False, agency__isnull=True)
                    | Q(role="admin", institution__isnull=True)
                ),
            )
        ]

    def __str__(self):
        return self.full_name or self.username

    def clean(self):
        super().clean()
        if self.role in (Role.AGENCY_STAFF, Role.AUDITOR):
            if not self.agency_id:
                raise ValidationError({"agency": "经办人员和稽核人员必须绑定经办机构。"})
            if self.institution_id:
                raise ValidationError({"institution": "经办人员和稽核人员不能绑定协议机构。"})
        elif self.role == Role.INSTITUTION_ADMIN:
            if not self.institution_id:
                raise ValidationError({"institution": "机构管理员必须绑定一个协议机构。"})
            if self.agency_id:
                raise ValidationError({"agency": "机构管理员不能绑定经办机构。"})
        elif self.institution_id:
            raise ValidationError({"institution": "系统管理员不能绑定协议机构。"})

    @property
    def is_agency_staff(self) -> bool:
        return self.role == Role.AGENCY_STAFF

    @property
    def is_institution_admin(self) -> bool:
        return self.role == Role.INSTITUTION_ADMIN

    @property
    def is_auditor(self) -> bool:
        return self.role == Role.AUDITOR

    @property
    def is_portal_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def sees_all_institutions(self) -> bool:
        """Administrators, and staff or auditors of the regional (自治区) agency."""
        if self.is_portal_admin:
            return True
        return self.role in (Role.AGENCY_STAFF, Role.AUDITOR) and bool(self.agency_id) and self.agency.is_regional
