"""The default policy parameters (W§28) and the review reasons of SPEC §4, each with its article.

Both are data an agency maintains in the admin afterwards; this only gives a new database a
working start. Re-running adds nothing (update_or_create by key)."""

from datetime import date
from decimal import Decimal

from django.db import migrations

POLICY = {
    "region_code": "",
    # From the start: a declaration of any earlier month still finds its parameters.
    "valid_from": date(2000, 1, 1),
    "declaration_due_day": 10,
    "review_due_day": 25,
    "deposit_rate": Decimal("0.1000"),
    "rule_version": "W28-默认",
    "basis": "乌海办法第二十八条：月度拨付90%，预留10%质量保证金；每月10日前申报，25日前审核",
}

# code, label, article, outcomes, categories, note_required
REASONS = [
    ("compliant", "符合工伤保险支付范围", "乌海办法第二十四条第一款", ["approve"], [], False),
    ("appraisal_cleared", "经鉴定不属于医疗事故，予以支付", "医疗协议第三十条；康复协议第二十一条", ["approve"], [], False),
    ("non_injury", "治疗非工伤病情的费用", "医疗协议第二十七条；乌海办法第二十四条第二款", ["reduce", "refuse"], [], False),
    ("out_of_catalogue", "超出工伤保险药品目录、诊疗项目目录或住院服务标准", "医疗协议第十八条、第十九条", ["reduce", "refuse"], [], False),
    ("price_breach", "违反医疗服务价格规定收费", "医疗协议第二十八条", ["reduce", "refuse"], [], False),
    ("after_discharge_notice", "达到出院标准拒不出院，通知之日起继续发生的费用", "医疗协议第十三条第（四）项；乌海办法第二十四条第二款", ["reduce", "refuse"], [], False),
    ("transfer_unapproved", "未经审核备案自行转院发生的费用", "乌海办法第二十四条第二款", ["reduce", "refuse"], [], False),
    ("medical_accident", "医疗纠纷涉及医疗事故，鉴定结论作出前暂不支付；经判定为医疗事故的不予支付", "医疗协议第三十条；康复协议第二十一条", ["hold", "refuse"], [], False),
    ("identity_mismatch", "人、卡不符（冒名就医）或证件身份不符", "医疗协议第九条；辅助器具协议第二十二条第（三）项", ["refuse"], [], False),
    ("device_unconfirmed", "未经劳动能力鉴定委员会确认自行配置或更换辅助器具", "辅助器具协议第二十二条第（一）项", ["refuse"], ["device"], False),
    ("device_beyond_limit", "辅助器具超目录或超出最高限额的部分", "辅助器具协议第二十二条第（二）项", ["reduce", "refuse"], ["device"], False),
    ("device_quality", "辅助器具产品质量不符合规定或配置不当发生的费用", "辅助器具协议第二十二条第（四）项", ["reduce", "refuse"], ["device"], False),
    ("other", "其他（须写明具体理由）", "按协议及工伤保险有关规定", ["reduce", "refuse"], [], True),
]


def forward(apps, schema_editor):
    Policy = apps.get_model("settlement", "SettlementPolicy")
    Reason = apps.get_model("settlement", "ReviewReason")
    Policy.objects.get_or_create(region_code=POLICY["region_code"], valid_from=POLICY["valid_from"], defaults=POLICY)
    for position, (code, label, article, outcomes, categories, note_required) in enumerate(REASONS, start=1):
        Reason.objects.update_or_create(
            code=code,
            defaults={"label": label, "article": article, "outcomes": outcomes, "categories": categories,
                      "note_required": note_required, "position": position * 10, "active": True},
        )


class Migration(migrations.Migration):
    dependencies = [("settlement", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
