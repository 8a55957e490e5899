"""Assessment scores (W§28, W§36; M§34, R§25): the annual assessment and the daily supervision
results, combined into a score from 0 to 100 made of named components, so that a deduction (from
a violation decision, issue 6) shows where the points went.

- A score's base is its assessment components (年度考核, 日常监督检查, or one imported total);
  without a base the institution has no score and the year-end run leaves it for later.
- total = Σ components, within 0–100. Base components entered by hand must add up to 0–100;
  deductions added later bring the total down to 0 at the lowest.
- Every change is kept by the audit trail; a year approved for payment cannot change.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction

from core.errors import ApplicationError, FileRejected, PermissionDenied
from core.text import squash
from institutions.models import Institution
from institutions.selectors import institutions_for

from ..models import (
    BASE_COMPONENTS,
    AnnualBatch,
    AssessmentScore,
    BatchStatus,
    ComponentKind,
    MonthlySettlement,
    ScoreComponent,
)

SCORE_COLUMNS = [("code", "机构编码"), ("year", "年度"), ("score", "考核得分")]
SCORE_OPTIONAL = [("name", "机构名称")]  # an agency sheet often carries the name; it is ignored
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


class ScoreError(ApplicationError):
    code = "invalid_score"


def parse_points(value, label: str = "考核得分", *, allow_negative: bool = False) -> Decimal:
    text = str(value if value is not None else "").strip()
    if not text:
        raise ScoreError(f"{label}不能为空。")
    try:
        points = Decimal(text)
    except InvalidOperation:
        raise ScoreError(f"{label}“{text}”不是数字。") from None
    if not points.is_finite():
        raise ScoreError(f"{label}“{text}”不是数字。")
    if points.as_tuple().exponent < -2:
        raise ScoreError(f"{label}“{text}”超过两位小数。")
    if not allow_negative and points < 0:
        raise ScoreError(f"{label}“{text}”不能为负数（应在 0 到 100 之间）。")
    if not allow_negative and points > HUNDRED:
        raise ScoreError(f"{label}“{text}”超过 100（应在 0 到 100 之间）。")
    return points.quantize(Decimal("0.01"))


def year_is_frozen(year: int, agency_id: int) -> bool:
    return AnnualBatch.objects.filter(year=year, agency_id=agency_id, status=BatchStatus.APPROVED).exists()


def year_has_deposits(year: int) -> bool:
    return MonthlySettlement.objects.filter(period__year=year).exists()


def _require_staff(actor, institution: Institution) -> None:
    if actor is None:
        return
    if not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以录入考核得分。")
    if not institutions_for(actor).filter(pk=institution.pk).exists():
        raise PermissionDenied("该机构不属于您所在经办机构的管辖范围。", code="out_of_scope")


def _lock_score(institution: Institution, year: int) -> AssessmentScore:
    if year_is_frozen(year, institution.agency_id):
        raise ApplicationError(f"{year}年度的年度结算已审批冻结，考核得分不能再修改。", code="frozen")
    AssessmentScore.objects.get_or_create(institution=institution, year=year)
    return AssessmentScore.objects.select_for_update().get(institution=institution, year=year)


def _recompute(score: AssessmentScore, actor) -> AssessmentScore:
    components = list(score.components.all())
    if any(c.kind in BASE_COMPONENTS for c in components):
        total = sum((c.points for c in components), ZERO)
        score.total = min(HUNDRED, max(ZERO, total))
    else:
        score.total = None
    score.updated_by = actor
    score.save(update_fields=["total", "updated_by", "updated_at"])
    return score


@transaction.atomic
def score_set(*, institution: Institution, year: int, components: list[dict], actor) -> AssessmentScore:
    """Replace the base (and other) components entered by hand; deductions from cases stay.

    components: [{"kind": "assessment"|"supervision"|"imported"|"other", "label": str, "points": "85.5", "note": str}]
    """
    _require_staff(actor, institution)
    if not components:
        raise ScoreError("请至少填写一项得分。")
    parsed = []
    for c in components:
        kind = c.get("kind") or ComponentKind.ASSESSMENT
        if kind not in ComponentKind.values or kind == ComponentKind.DEDUCTION:
            raise ScoreError(f"得分类型“{kind}”无效（违规扣分由违规处理决定自动计入）。")
        label = (c.get("label") or ComponentKind(kind).label).strip()
        points = parse_points(c.get("points"), label, allow_negative=kind == ComponentKind.OTHER)
        parsed.append(ScoreComponent(kind=kind, label=label[:100], points=points, note=(c.get("note") or "").strip(), created_by=actor))
    if not any(p.kind in BASE_COMPONENTS for p in parsed):
        raise ScoreError("须包含年度考核、日常监督检查或综合考核得分中的至少一项。")
    base_total = sum((p.points for p in parsed), ZERO)
    if not (ZERO <= base_total <= HUNDRED):
        raise ScoreError(f"各项得分合计 {base_total} 超出 0 到 100 的范围。")
    score = _lock_score(institution, year)
    score.components.exclude(kind=ComponentKind.DEDUCTION).delete()
    for p in parsed:
        p.score = score
    ScoreComponent.objects.bulk_create(parsed)
    return _recompute(score, actor)


@transaction.atomic
def score_add_deduction(
    *, institution: Institution, year: int, points, label: str, actor, source_label: str = "", note: str = "",
    recorder=None,
) -> AssessmentScore:
    """A violation decision's deduction (issue 6): a named negative component of that year's score.
    actor None with a `recorder`: added by a case decision, which checked who may decide."""
    _require_staff(actor, institution)
    points = parse_points(points, "扣分")
    if points <= 0:
        raise ScoreError("扣分须大于零。")
    score = _lock_score(institution, year)
    ScoreComponent.objects.create(
        score=score, kind=ComponentKind.DEDUCTION, label=label[:100], points=-points, note=note,
        source_label=source_label, created_by=recorder or actor,
    )
    return _recompute(score, recorder or actor)


@dataclass
class ScoreImportReport:
    year: int
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def as_text(self) -> str:
        lines = [
            f"{self.year}年度考核得分导入完成：共 {self.rows} 行，新增 {self.created}，更新 {self.updated}，"
            f"未变 {self.unchanged}，拒绝 {len(self.rejections)}。",
            f"rows={self.rows} created={self.created} updated={self.updated} unchanged={self.unchanged} "
            f"rejected={len(self.rejections)}",
        ]
        lines += [f"  拒绝 第{row}行：{reason}" for row, reason in self.rejections]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "year": self.year, "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": len(self.rejections),
            "rejections": [{"row": r, "reason": why} for r, why in self.rejections],
        }


@transaction.atomic
def scores_import(*, rows, year: int, actor) -> ScoreImportReport:
    """import_assessment_scores: each good row sets that institution's imported total (replacing
    the hand-entered base; deductions from cases stay); each bad row is refused with its number."""
    if not year_has_deposits(year):
        raise FileRejected(
            f"{year}年度没有预留质量保证金（没有该年度的月度结算），不能导入考核得分。", code="no_deposits"
        )
    scope = Institution.objects.all() if actor is None else institutions_for(actor)
    institutions = {i.code: i for i in scope}
    report = ScoreImportReport(year=year)
    seen: dict[str, int] = {}
    for row_no, cells in rows:
        report.rows += 1
        try:
            code = squash(cells.get("code"))
            inst = institutions.get(code)
            if inst is None:
                raise ScoreError(f"机构编码“{code}”不存在或不在您的管辖范围内" if code else "机构编码不能为空")
            row_year = squash(cells.get("year"))
            if row_year != str(year):
                raise ScoreError(f"年度“{row_year}”与 --year {year} 不符" if row_year else "年度不能为空")
            if code in seen:
                raise ScoreError(f"机构编码“{code}”在第{seen[code]}行已出现")
            points = parse_points(cells.get("score"))
            seen[code] = row_no
            existing = AssessmentScore.objects.filter(institution=inst, year=year).first()
            before = existing.total if existing else None
            base = list(existing.components.exclude(kind=ComponentKind.DEDUCTION)) if existing else []
            if before is not None and len(base) == 1 and base[0].kind == ComponentKind.IMPORTED and base[0].points == points:
                report.unchanged += 1
                continue
            with transaction.atomic():
                score_set(institution=inst, year=year, actor=actor,
                          components=[{"kind": ComponentKind.IMPORTED, "points": str(points), "label": "综合考核得分（导入）"}])
            if existing is None or before is None:
                report.created += 1
            else:
                report.updated += 1
        except ApplicationError as exc:
            report.rejections.append((row_no, exc.message.rstrip("。")))
    return report
