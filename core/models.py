from django.db import models, transaction


class Sequence(models.Model):
    """A named counter for codes that must never be reused (机构编码), even after a deletion."""

    name = models.CharField(max_length=50, unique=True)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "编号序列"
        verbose_name_plural = "编号序列"

    @classmethod
    def next_value(cls, name: str) -> int:
        with transaction.atomic():
            cls.objects.get_or_create(name=name)
            # Row lock: two imports at once still hand out distinct numbers.
            seq = cls.objects.select_for_update().get(name=name)
            seq.last += 1
            seq.save(update_fields=["last"])
            return seq.last


class TaskItem(models.Model):
    """An entry on a task list (待办事项): for an agency's staff, for an institution, or both.

    Jobs that find deadlines write these with a `key` naming the fact they remind of, so a rerun
    or a catch-up after a missed day adds nothing twice, and a reminder is never lost.
    """

    key = models.CharField("唯一键", max_length=120, unique=True)
    kind = models.CharField("类型", max_length=40)
    title = models.CharField("事项", max_length=300)
    due_on = models.DateField("截止日期", null=True, blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    agency = models.ForeignKey(
        "institutions.HandlingAgency", verbose_name="经办机构", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    institution = models.ForeignKey(
        "institutions.Institution", verbose_name="协议机构", null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "待办事项"
        verbose_name_plural = "待办事项"
        ordering = ["done_at", "due_on", "pk"]

    def __str__(self):
        return self.title
