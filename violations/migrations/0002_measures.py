"""The measures of SPEC §6, each with the articles it rests on and the points it costs in that
year's assessment score by default. Data the administrator maintains afterwards."""

from decimal import Decimal

from django.db import migrations

# code/kind, label, article, default score points
MEASURES = [
    ("interview", "约谈", "医疗协议第三十七条；康复协议第二十七条；辅助器具协议第二十九条", "1"),
    ("rectification", "限期整改", "医疗协议第三十七条；康复协议第二十七条；辅助器具协议第二十九条；乌海办法第三十六条", "2"),
    ("deferral", "暂缓支付", "医疗协议第三十八条；康复协议第二十七条；辅助器具协议第二十九条", "3"),
    ("refusal", "不予支付", "医疗协议第三十八条；康复协议第二十七条；辅助器具协议第二十九条；乌海办法第三十二条、第三十四条", "3"),
    ("recovery", "追回已支付费用", "医疗协议第三十八条、第三十九条；辅助器具协议第十五条；乌海办法第三十五条", "5"),
    ("suspension", "暂停协议", "医疗协议第三十七条、第三十八条；康复协议第二十七条；辅助器具协议第二十九条；乌海办法第三十四条", "10"),
    ("termination", "解除协议", "医疗协议第三十九条；康复协议第二十七条；辅助器具协议第十五条、第二十九条；乌海办法第三十三条、第三十四条", "20"),
    ("fine", "罚款（骗取金额2倍以上5倍以下）", "辅助器具协议第十五条；乌海办法第三十五条", "10"),
    ("judicial", "移送司法机关", "医疗协议第四十条；康复协议第二十七条；辅助器具协议第二十九条", "20"),
    ("dishonest", "列入社会保险严重失信人名单", "康复协议第二十八条；辅助器具协议第三十条", "20"),
]


def forward(apps, schema_editor):
    Measure = apps.get_model("violations", "Measure")
    for position, (code, label, article, points) in enumerate(MEASURES, start=1):
        Measure.objects.update_or_create(
            code=code,
            defaults={"kind": code, "label": label, "article": article, "score_points": Decimal(points),
                      "position": position * 10, "active": True},
        )


class Migration(migrations.Migration):
    dependencies = [("violations", "0001_initial")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
