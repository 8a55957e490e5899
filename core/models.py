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
