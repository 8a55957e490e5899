"""Service agreements (SPEC §3): the medical, rehabilitation and assistive-device agreements.

The lifecycle rules live in agreements/services/lifecycle.py; the models hold state and the
facts the rules need (term, notice, events). The database itself refuses a second live
agreement for one institution and type.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from institutions.models import DesignationType

TEMPLATE_VERSION = "2026版"


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", _("草拟")
    ACTIVE = "active", _("生效")
    SUSPENDED = "suspended", _("暂停")
    TERMINATED = "terminated", _("已解除")
    EXPIRED = "expired", _("已到期")


LIVE_STATUSES = (AgreementStatus.ACTIVE, AgreementStatus.SUSPENDED)


class TerminationKind(models.TextChoices):
    FOR_CAUSE = "for_cause", _("违约解除")
    MUTUAL = "mutual", _("协商一致解除")
    NOTICE = "notice", _("单方提前解除（提前30日通知）")
    CLOSURE = "closure", _("停业、歇业或不可抗力")


class Party(models.TextChoices):
    A = "A", _("甲方")
    B = "B", _("乙方")


class Agreement(models.Model):
    number = models.CharField(_("协议编号"), max_length=30, unique=True)
    type = models.CharField(_("协议类型"), max_length=20, choices=DesignationType.choices)
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("乙方机构"), on_delete=models.PROTECT, related_name="agreements"
    )
    agency = models.ForeignKey(
        "institutions.HandlingAgency", verbose_name=_("甲方经办机构"), on_delete=models.PROTECT, related_name="agreements"
    )
    template_version = models.CharField(_("范本版本"), max_length=20, default=TEMPLATE_VERSION)
    status = models.CharField(_("状态"), max_length=12, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)

    party_a_name = models.CharField(_("甲方名称"), max_length=200)
    party_a_representative = models.CharField(_("甲方法定代表人或委托代理人"), max_length=50, blank=True)
    party_a_address = models.CharField(_("甲方地址"), max_length=300, blank=True)
    party_a_postal_code = models.CharField(_("甲方邮政编码"), max_length=6, blank=True)
    party_a_phone = models.CharField(_("甲方联系电话"), max_length=100, blank=True)
    party_b_name = models.CharField(_("乙方名称"), max_length=200)
    party_b_representative = models.CharField(_("乙方法定代表人或委托代理人"), max_length=50, blank=True)
    party_b_address = models.CharField(_("乙方地址"), max_length=300, blank=True)
    party_b_postal_code = models.CharField(_("乙方邮政编码"), max_length=6, blank=True)
    party_b_phone = models.CharField(_("乙方联系电话"), max_length=100, blank=True)

    valid_from = models.DateField(_("有效期起"), null=True, blank=True)
    valid_to = models.DateField(_("有效期止"), null=True, blank=True)
    signed_on = models.DateField(_("签订日期"), null=True, blank=True)
    leader_name = models.CharField(_("乙方分管院领导"), max_length=50, blank=True)
    managers = models.JSONField(_("乙方专（兼）职管理人员"), default=list, blank=True)

    predecessor = models.OneToOneField(
        "self", verbose_name=_("续签自"), null=True, blank=True, on_delete=models.PROTECT, related_name="successor"
    )
    from_registry = models.BooleanField(_("由名单导入"), default=False)

    notice_by = models.CharField(_("提出解除方"), max_length=1, choices=Party.choices, blank=True)
    notice_given_on = models.DateField(_("书面通知日期"), null=True, blank=True)
    notice_effective_on = models.DateField(_("最早解除日期"), null=True, blank=True)
    notice_reason = models.TextField(_("通知理由"), blank=True)

    termination_kind = models.CharField(_("解除类型"), max_length=12, choices=TerminationKind.choices, blank=True)
    terminated_on = models.DateField(_("解除日期"), null=True, blank=True)
    termination_reason = models.TextField(_("解除理由"), blank=True)

    # Bumped on every change: a form posted from a page that shows an older revision is refused.
    revision = models.PositiveIntegerField(_("版本号"), default=1)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("服务协议")
        verbose_name_plural = _("服务协议")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "type"],
                condition=Q(status__in=["active", "suspended"]),
                name="agreement_one_live_per_institution_type",
            ),
            models.CheckConstraint(
                name="agreement_term_ordered",
                condition=Q(valid_from__isnull=True) | Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.party_b_name}"

    @property
    def term_pending(self) -> bool:
        return self.valid_from is None or self.valid_to is None

    def party(self, side: str) -> dict:
        p = f"party_{side.lower()}_"
        return {k: getattr(self, p + k) for k in ("name", "representative", "address", "postal_code", "phone")}


class AgreementAction(models.TextChoices):
    CREATE = "create", _("起草")
    SIGN = "sign", _("签订生效")
    SUSPEND = "suspend", _("暂停")
    RESUME = "resume", _("恢复")
    NOTICE = "notice", _("书面通知提前解除")
    TERMINATE = "terminate", _("解除")
    EXPIRE = "expire", _("到期")
    RENEW = "renew", _("续签")
    COMPLETE_TERM = "complete_term", _("补全期限")
    UPLOAD_SCAN = "upload_scan", _("上传签章扫描件")


class AgreementEvent(models.Model):
    """One step of the timeline: what happened, from which state to which, when, who, why."""

    agreement = models.ForeignKey(Agreement, verbose_name=_("协议"), on_delete=models.PROTECT, related_name="events")
    action = models.CharField(_("操作"), max_length=15, choices=AgreementAction.choices)
    from_status = models.CharField(_("原状态"), max_length=12, choices=AgreementStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=12, choices=AgreementStatus.choices, blank=True)
    on = models.DateField(_("日期"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("理由"), blank=True)
    at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("协议事件")
        verbose_name_plural = _("协议事件")
        ordering = ["at", "pk"]


class AgreementBar(models.Model):
    """W§34: termination for cause bars the institution from this type for two years."""

    institution = models.ForeignKey(
        "institutions.Institution", verbose_name=_("机构"), on_delete=models.PROTECT, related_name="agreement_bars"
    )
    type = models.CharField(_("协议类型"), max_length=20, choices=DesignationType.choices)
    until = models.DateField(_("限制至"))
    agreement = models.OneToOneField(Agreement, verbose_name=_("被解除的协议"), on_delete=models.PROTECT, related_name="bar")
    reason = models.TextField(_("理由"))

    class Meta:
        verbose_name = _("签约限制")
        verbose_name_plural = _("签约限制")


def scan_upload_to(instance, filename):
    return f"agreements/{instance.agreement_id}/{filename}"


class SignedScan(models.Model):
    agreement = models.ForeignKey(Agreement, verbose_name=_("协议"), on_delete=models.PROTECT, related_name="scans")
    file = models.FileField(_("文件"), upload_to=scan_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("签章扫描件")
        verbose_name_plural = _("签章扫描件")
        ordering = ["-uploaded_at"]
