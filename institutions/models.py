"""The registry of contracted institutions (SPEC §2, attachments 4–6)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class AgencyLevel(models.TextChoices):
    REGIONAL = "regional", "自治区级"
    CITY = "city", "地市级"
    COUNTY = "county", "县（市、区）级"


class HandlingAgency(models.Model):
    """A social-insurance handling agency (经办机构): party A of the agreements."""

    name = models.CharField("名称", max_length=100, unique=True)
    level = models.CharField("层级", max_length=10, choices=AgencyLevel.choices, default=AgencyLevel.COUNTY)
    division_code = models.CharField("行政区划代码", max_length=6, blank=True)
    phone = models.CharField("联系电话", max_length=100, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    postal_code = models.CharField("邮政编码", max_length=6, blank=True)
    legal_representative = models.CharField("法定代表人或委托代理人", max_length=50, blank=True)

    class Meta:
        verbose_name = "经办机构"
        verbose_name_plural = "经办机构"
        ordering = ["division_code", "name"]

    def __str__(self):
        return self.name

    @property
    def is_regional(self) -> bool:
        return self.level == AgencyLevel.REGIONAL


class LegalEntity(models.Model):
    """One legal entity (one USCC) can run several institutions (main hospital, branch, centre)."""

    uscc = models.CharField("统一社会信用代码", max_length=64, unique=True)
    name = models.CharField("法人单位名称", max_length=200)
    uscc_valid = models.BooleanField("代码校验通过", default=True)
    uscc_problem = models.CharField("代码问题", max_length=200, blank=True)

    class Meta:
        verbose_name = "法人单位"
        verbose_name_plural = "法人单位"
        ordering = ["uscc"]

    def __str__(self):
        return f"{self.name}（{self.uscc}）"


class Ownership(models.TextChoices):
    PUBLIC = "public", "公立"
    PRIVATE = "private", "私立"


class ProfitCategory(models.TextChoices):
    NON_PROFIT = "non_profit", "非营利性"
    FOR_PROFIT = "for_profit", "营利性"


class DesignationType(models.TextChoices):
    MEDICAL = "medical", "医疗机构"
    REHABILITATION = "rehabilitation", "康复机构"
    DEVICES = "devices", "辅助器具配置机构"


class Institution(models.Model):
    """A contracted institution at one address. Identity: its legal entity and its name."""

    code = models.CharField("机构编码", max_length=12, unique=True, editable=False)
    name = models.CharField("机构名称", max_length=200, db_index=True)
    legal_entity = models.ForeignKey(
        LegalEntity, verbose_name="法人单位", on_delete=models.PROTECT, related_name="institutions"
    )
    agency = models.ForeignKey(
        HandlingAgency, verbose_name="属地经办机构", on_delete=models.PROTECT, related_name="institutions"
    )
    city_name = models.CharField("地市名称", max_length=50, blank=True)
    division_code = models.CharField("行政区划代码", max_length=6, blank=True, db_index=True)
    address = models.CharField("地址", max_length=300, blank=True)
    postal_code = models.CharField("邮政编码", max_length=6, blank=True)
    phones = models.JSONField("联系电话", default=list, blank=True)
    grade = models.CharField("医疗等级", max_length=30, blank=True, db_index=True)
    ownership = models.CharField("医院属性", max_length=10, choices=Ownership.choices, blank=True)
    profit_category = models.CharField("经营类别", max_length=12, choices=ProfitCategory.choices, blank=True)
    legal_representative = models.CharField("法定代表人", max_length=50, blank=True)
    supervising_department = models.CharField("主管部门", max_length=100, blank=True)
    needs_verification = models.BooleanField("待核实", default=False, db_index=True)
    verification_notes = models.TextField("待核实原因", blank=True)
    # The cells as printed in the last imported table, before normalisation (SPEC §2: keep the original).
    original = models.JSONField("原始登记信息", default=dict, blank=True)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "协议机构"
        verbose_name_plural = "协议机构"
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
    ACTIVE = "active", "有效"
    REVOKED = "revoked", "已撤销"


class Designation(models.Model):
    """The institution's place in one official table (medical, rehabilitation or devices)."""

    institution = models.ForeignKey(
        Institution, verbose_name="协议机构", on_delete=models.PROTECT, related_name="designations"
    )
    type = models.CharField("类型", max_length=20, choices=DesignationType.choices)
    agency = models.ForeignKey(
        HandlingAgency, verbose_name="签约经办机构", on_delete=models.PROTECT, related_name="designations"
    )
    agency_phone = models.CharField("经办机构联系电话", max_length=100, blank=True)
    seq_no = models.PositiveIntegerField("序号", null=True, blank=True)
    as_of = models.DateField("名单日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=DesignationStatus.choices, default=DesignationStatus.ACTIVE)
    designated_on = models.DateField("认定日期", null=True, blank=True)
    # The row's normalised values as last imported: a re-import is compared against these,
    # so the same file changes nothing even where two tables disagree on a shared institution.
    source = models.JSONField("导入来源行", default=dict, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "定点资格"
        verbose_name_plural = "定点资格"
        ordering = ["type", "seq_no", "pk"]
        constraints = [models.UniqueConstraint(fields=["institution", "type"], name="designation_one_per_type")]

    def __str__(self):
        return f"{self.institution} · {self.get_type_display()}"


class FilingStatus(models.TextChoices):
    PENDING = "pending", "待审核"
    APPROVED = "approved", "已备案"
    REJECTED = "rejected", "已退回"


class ChangeFiling(models.Model):
    """变更备案 (M§4, R§4, D§5): before/after values, who filed, who approved, when."""

    FILEABLE_FIELDS = {
        "name": "机构名称",
        "legal_representative": "法定代表人",
        "address": "地址",
        "ownership": "医院属性（所有制形式）",
        "profit_category": "经营类别",
        "supervising_department": "主管部门",
        "grade": "医疗等级",
        "phones": "联系电话",
        "postal_code": "邮政编码",
    }

    institution = models.ForeignKey(
        Institution, verbose_name="协议机构", on_delete=models.PROTECT, related_name="filings"
    )
    changes = models.JSONField("变更内容")  # {field: {"before": ..., "after": ...}}
    reason = models.TextField("变更原因")
    effective_date = models.DateField("变更生效日期", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=FilingStatus.choices, default=FilingStatus.PENDING)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申报人", on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField("申报时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_note = models.TextField("审核意见", blank=True)

    class Meta:
        verbose_name = "变更备案"
        verbose_name_plural = "变更备案"
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
        """[(label, before, after)] for templates."""
        return [
            (self.FILEABLE_FIELDS.get(f, f), v.get("before"), v.get("after")) for f, v in (self.changes or {}).items()
        ]


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", "已提交"
    UNDER_REVIEW = "under_review", "资格审查中"
    APPROVED = "approved", "审查通过（待签订协议）"
    SIGNED = "signed", "已签订协议"
    ANNOUNCED = "announced", "已公布"
    REJECTED = "rejected", "未通过"


class DesignationApplication(models.Model):
    """A new designation (W§7, W§9): application, qualification review, signing, announcement."""

    type = models.CharField("申请类型", max_length=20, choices=DesignationType.choices)
    institution = models.ForeignKey(
        Institution,
        verbose_name="已登记机构",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    applicant_name = models.CharField("申请机构名称", max_length=200)
    uscc = models.CharField("统一社会信用代码", max_length=64)
    address = models.CharField("执业地址", max_length=300)
    phone = models.CharField("联系电话", max_length=100)
    contact_person = models.CharField("联系人", max_length=50)
    grade = models.CharField("医疗等级", max_length=30, blank=True)
    ownership = models.CharField("医院属性", max_length=10, choices=Ownership.choices, blank=True)
    division_code = models.CharField("行政区划代码", max_length=6)
    agency = models.ForeignKey(
        HandlingAgency, verbose_name="受理经办机构", on_delete=models.PROTECT, related_name="applications"
    )
    is_branch = models.BooleanField("分支机构（注册地址以外）", default=False, help_text="W§8：需另行申请定点资格")
    status = models.CharField(
        "状态", max_length=15, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="提交人", on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField("提交时间", auto_now_add=True)
    review_note = models.TextField("审查意见", blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审查人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField("审查时间", null=True, blank=True)
    signed_on = models.DateField("协议签订日期", null=True, blank=True)
    announced_on = models.DateField("公布日期", null=True, blank=True)

    class Meta:
        verbose_name = "定点资格申请"
        verbose_name_plural = "定点资格申请"
        ordering = ["-submitted_at", "-pk"]

    def __str__(self):
        return f"{self.applicant_name} · {self.get_type_display()}申请"


class MaterialKind(models.TextChoices):
    APPLICATION_FORM = "application_form", "定点机构申请表"
    LICENCE = "licence", "执业许可证副本复印件"
    BASIC_INSURANCE = "basic_insurance", "基本医疗保险定点资格证明"
    STAFF_ROSTER = "staff_roster", "在职人员名册及参保情况"
    MANAGEMENT = "management", "工伤保险管理机构文件及人员名单"
    OTHER = "other", "其他材料"


def material_upload_to(instance, filename):
    return f"applications/{instance.application_id}/{filename}"


class ApplicationMaterial(models.Model):
    application = models.ForeignKey(
        DesignationApplication, verbose_name="申请", on_delete=models.PROTECT, related_name="materials"
    )
    kind = models.CharField("材料类型", max_length=20, choices=MaterialKind.choices)
    file = models.FileField("文件", upload_to=material_upload_to)
    original_name = models.CharField("原文件名", max_length=200)
    size = models.PositiveIntegerField("大小（字节）")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "申请材料"
        verbose_name_plural = "申请材料"
        ordering = ["kind", "pk"]
