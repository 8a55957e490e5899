"""The registry of contracted institutions (SPEC §2, attachments 4–6)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy


class AgencyLevel(models.TextChoices):
    REGIONAL = "regional", _("自治区级")
    CITY = "city", _("地市级")
    COUNTY = "county", _("县（市、区）级")


class HandlingAgency(models.Model):
    """A social-insurance handling agency (经办机构): party A of the agreements."""

    name = models.CharField(_("名称"), max_length=100, unique=True)
    level = models.CharField(_("层级"), max_length=10, choices=AgencyLevel.choices, default=AgencyLevel.COUNTY)
    division_code = models.CharField(_("行政区划代码"), max_length=6, blank=True)
    phone = models.CharField(_("联系电话"), max_length=100, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    postal_code = models.CharField(_("邮政编码"), max_length=6, blank=True)
    legal_representative = models.CharField(_("法定代表人或委托代理人"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("经办机构")
        verbose_name_plural = pgettext_lazy("plural", "经办机构")
        ordering = ["division_code", "name"]

    def __str__(self):
        return self.name

    @property
    def is_regional(self) -> bool:
        return self.level == AgencyLevel.REGIONAL


class LegalEntity(models.Model):
    """One legal entity (one USCC) can run several institutions (main hospital, branch, centre)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=64, unique=True)
    name = models.CharField(_("法人单位名称"), max_length=200)
    uscc_valid = models.BooleanField(_("代码校验通过"), default=True)
    uscc_problem = models.CharField(_("代码问题"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("法人单位")
        verbose_name_plural = pgettext_lazy("plural", "法人单位")
        ordering = ["uscc"]

    def __str__(self):
        return f"{self.name}（{self.uscc}）"


# Ownership, ProfitCategory and DesignationType labels are the official tables' own vocabulary:
# the import parses them, the exports write them, __str__ and the API use them. They stay plain
# Chinese strings (gettext_noop only puts them in the catalogue); pages and forms translate them on
# display (ADR 0004). The same holds for MaterialKind and ChangeFiling.FILEABLE_FIELDS, which the
# services join into their (Chinese) messages.
class Ownership(models.TextChoices):
    PUBLIC = "public", gettext_noop("公立")
    PRIVATE = "private", gettext_noop("私立")


class ProfitCategory(models.TextChoices):
    NON_PROFIT = "non_profit", gettext_noop("非营利性")
    FOR_PROFIT = "for_profit", gettext_noop("营利性")


class DesignationType(models.TextChoices):
    MEDICAL = "medical", gettext_noop("医疗机构")
    REHABILITATION = "rehabilitation", gettext_noop("康复机构")
    DEVICES = "devices", gettext_noop("辅助器具配置机构")


class Institution(models.Model):
    """A contracted institution at one address. Identity: its legal entity and its name."""

    code = models.CharField(_("机构编码"), max_length=12, unique=True, editable=False)
    name = models.CharField(_("机构名称"), max_length=200, db_index=True)
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("法人单位"), on_delete=models.PROTECT, related_name="institutions"
    )
    agency = models.ForeignKey(
        HandlingAgency, verbose_name=_("属地经办机构"), on_delete=models.PROTECT, related_name="institutions"
    )
    city_name = models.CharField(_("地市名称"), max_length=50, blank=True)
    division_code = models.CharField(_("行政区划代码"), max_length=6, blank=True, db_index=True)
    address = models.CharField(_("地址"), max_length=300, blank=True)
    postal_code = models.CharField(_("邮政编码"), max_length=6, blank=True)
    phones = models.JSONField(_("联系电话"), default=list, blank=True)
    grade = models.CharField(_("医疗等级"), max_length=30, blank=True, db_index=True)
    ownership = models.CharField(_("医院属性"), max_length=10, choices=Ownership.choices, blank=True)
    profit_category = models.CharField(_("经营类别"), max_length=12, choices=ProfitCategory.choices, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    supervising_department = models.CharField(_("主管部门"), max_length=100, blank=True)
    needs_verification = models.BooleanField(_("待核实"), default=False, db_index=True)
    verification_notes = models.TextField(_("待核实原因"), blank=True)
    # The cells as printed in the last imported table, before normalisation (SPEC §2: keep the original).
    original = models.JSONField(_("原始登记信息"), default=dict, blank=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("协议机构")
        verbose_name_plural = pgettext_lazy("plural", "协议机构")
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["legal_entity", "name"], name="institution_entity_name_unique")]

    def __str__(self):
        return self.name

    @property
    def uscc(self) -> str:
        return self.legal_entity.uscc

    @property
    def phone_display(self) -> str:
        return " / ".join(self.phones)


class DesignationStatus(models.TextChoices):
    ACTIVE = "active", _("有效")
    REVOKED = "revoked", _("已撤销")


class Designation(models.Model):
    """The institution's place in one official table (medical, rehabilitation or devices)."""

    institution = models.ForeignKey(
        Institution, verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="designations"
    )
    type = models.CharField(_("类型"), max_length=20, choices=DesignationType.choices)
    agency = models.ForeignKey(
        HandlingAgency, verbose_name=_("签约经办机构"), on_delete=models.PROTECT, related_name="designations"
    )
    agency_phone = models.CharField(_("经办机构联系电话"), max_length=100, blank=True)
    seq_no = models.PositiveIntegerField(_("序号"), null=True, blank=True)
    as_of = models.DateField(_("名单日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=DesignationStatus.choices, default=DesignationStatus.ACTIVE)
    designated_on = models.DateField(_("认定日期"), null=True, blank=True)
    # The row's normalised values as last imported: a re-import is compared against these,
    # so the same file changes nothing even where two tables disagree on a shared institution.
    source = models.JSONField(_("导入来源行"), default=dict, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("定点资格")
        verbose_name_plural = pgettext_lazy("plural", "定点资格")
        ordering = ["type", "seq_no", "pk"]
        constraints = [models.UniqueConstraint(fields=["institution", "type"], name="designation_one_per_type")]

    def __str__(self):
        return f"{self.institution} · {self.get_type_display()}"


class FilingStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已备案")
    REJECTED = "rejected", _("已退回")


class ChangeFiling(models.Model):
    """变更备案 (M§4, R§4, D§5): before/after values, who filed, who approved, when."""

    FILEABLE_FIELDS = {
        "name": gettext_noop("机构名称"),
        "legal_representative": gettext_noop("法定代表人"),
        "address": gettext_noop("地址"),
        "ownership": gettext_noop("医院属性（所有制形式）"),
        "profit_category": gettext_noop("经营类别"),
        "supervising_department": gettext_noop("主管部门"),
        "grade": gettext_noop("医疗等级"),
        "phones": gettext_noop("联系电话"),
        "postal_code": gettext_noop("邮政编码"),
    }

    institution = models.ForeignKey(
        Institution, verbose_name=_("协议机构"), on_delete=models.PROTECT, related_name="filings"
    )
    changes = models.JSONField(_("变更内容"))  # {field: {"before": ..., "after": ...}}
    reason = models.TextField(_("变更原因"))
    effective_date = models.DateField(_("变更生效日期"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=FilingStatus.choices, default=FilingStatus.PENDING)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("申报人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("申报时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审核人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        verbose_name = _("变更备案")
        verbose_name_plural = pgettext_lazy("plural", "变更备案")
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="filing_decided_has_decider",
                condition=Q(status="pending") | Q(decided_by__isnull=False, decided_at__isnull=False),
            )
        ]

    def __str__(self):
        return f"{self.institution} 变更备案 #{self.pk}"

    def change_rows(self):
        """[(label, before, after)] for templates, with choice values shown by their labels."""

        def show(field, value):
            if isinstance(value, list):
                return " / ".join(value)
            choices = dict(Institution._meta.get_field(field).flatchoices) if field in ("ownership", "profit_category") else {}
            return choices.get(value, value)

        return [
            (self.FILEABLE_FIELDS.get(f, f), show(f, v.get("before")), show(f, v.get("after")))
            for f, v in (self.changes or {}).items()
        ]


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    UNDER_REVIEW = "under_review", _("资格审查中")
    APPROVED = "approved", _("审查通过（待签订协议）")
    SIGNED = "signed", _("已签订协议")
    ANNOUNCED = "announced", _("已公布")
    REJECTED = "rejected", _("未通过")


class DesignationApplication(models.Model):
    """A new designation (W§7, W§9): application, qualification review, signing, announcement."""

    type = models.CharField(_("申请类型"), max_length=20, choices=DesignationType.choices)
    institution = models.ForeignKey(
        Institution,
        verbose_name=_("已登记机构"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant_name = models.CharField(_("申请机构名称"), max_length=200)
    uscc = models.CharField(_("统一社会信用代码"), max_length=64)
    address = models.CharField(_("执业地址"), max_length=300)
    phone = models.CharField(_("联系电话"), max_length=100)
    contact_person = models.CharField(_("联系人"), max_length=50)
    grade = models.CharField(_("医疗等级"), max_length=30, blank=True)
    ownership = models.CharField(_("医院属性"), max_length=10, choices=Ownership.choices, blank=True)
    division_code = models.CharField(_("行政区划代码"), max_length=6)
    agency = models.ForeignKey(
        HandlingAgency, verbose_name=_("受理经办机构"), on_delete=models.PROTECT, related_name="applications"
    )
    is_branch = models.BooleanField(_("分支机构（注册地址以外）"), default=False, help_text=_("W§8：需另行申请定点资格"))
    status = models.CharField(
        _("状态"), max_length=15, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    review_note = models.TextField(_("审查意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("审查人"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("审查时间"), null=True, blank=True)
    signed_on = models.DateField(_("协议签订日期"), null=True, blank=True)
    announced_on = models.DateField(_("公布日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("定点资格申请")
        verbose_name_plural = pgettext_lazy("plural", "定点资格申请")
        ordering = ["-submitted_at", "-pk"]

    def __str__(self):
        return f"{self.applicant_name} · {self.get_type_display()}申请"


class MaterialKind(models.TextChoices):
    APPLICATION_FORM = "application_form", gettext_noop("定点机构申请表")
    LICENCE = "licence", gettext_noop("执业许可证副本复印件")
    BASIC_INSURANCE = "basic_insurance", gettext_noop("基本医疗保险定点资格证明")
    STAFF_ROSTER = "staff_roster", gettext_noop("在职人员名册及参保情况")
    MANAGEMENT = "management", gettext_noop("工伤保险管理机构文件及人员名单")
    OTHER = "other", gettext_noop("其他材料")


def material_upload_to(instance, filename):
    return f"applications/{instance.application_id}/{filename}"


class ApplicationMaterial(models.Model):
    application = models.ForeignKey(
        DesignationApplication, verbose_name=_("申请"), on_delete=models.PROTECT, related_name="materials"
    )
    kind = models.CharField(_("材料类型"), max_length=20, choices=MaterialKind.choices)
    file = models.FileField(_("文件"), upload_to=material_upload_to)
    original_name = models.CharField(_("原文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小（字节）"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = pgettext_lazy("plural", "申请材料")
        ordering = ["kind", "pk"]
