"""The year-end deposit settlement (SPEC §5, W§28, W§26) at service and command level, and the
annual application (W§28: in January of the next year, with both documents).

released = round_half_up(deposit_total × score / 100, 0.01), forfeited = deposit_total − released,
deposit_total = Σ the year's monthly deposits; an institution without a score is named and left for
a later run; a run is repeatable and one at a time; approval needs the year's months approved and
freezes the year against every path (services, commands, SQL); bad input changes nothing.

The clock is pinned to 2026-11-23: 2025 is over, 2026 is not.
"""

import time
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from core.errors import ApplicationError, Conflict, PermissionDenied
from settlement.models import (
    AnnualApplication,
    AnnualApplicationStatus,
    AnnualBatch,
    AnnualMaterial,
    AnnualSettlement,
    AssessmentScore,
    BatchStatus,
    ScoreComponent,
)
from settlement.services import year_end
from settlement.services.annual_applications import annual_application_decide, annual_application_submit
from settlement.services.scores import score_add_deduction, score_set, scores_import
from settlement.services.year_end import settlement_annual_approve, settlement_annual_run
from tests.settlement_helpers import (
    at_once,
    GUYUAN,
    SHANGHAI,
    YINCHUAN,
    annual_documents,
    annual_rows,
    approve_month,
    command,
    command_refused,
    declare,
    give_score,
    import_rows,
    pdf_upload,
    row,
    score_csv,
    settle,
    travel,
    write_file,
)

D = Decimal
YEAR = 2025
YINCHUAN_2 = "银川市第二人民医院"
WOMEN = "银川市妇幼保健院"
MONTHS = ("2025-03", "2025-05", "2025-07")
MONEY = ("deposit_total", "score", "released", "forfeited")


@pytest.fixture(autouse=True)
def today():
    with travel(2026, 11, 23):
        yield


def _at(year, mon, day, hour, minute=0):
    return time_machine.travel(datetime(year, mon, day, hour, minute, tzinfo=SHANGHAI), tick=False)


def _deposits(institution, *, approve_as=None):
    """2025's deposits, months settled (and approved for 银川's agency when approve_as is given):

    银川一院  333.33 (March) + 9000.00 (July) → 33.33 + 900.00 = 933.33
    银川二院  500.00 (May) → 50.00
    固原医院  1000.05 (May) → 100.01
    """
    yc, yc2, gy = institution(YINCHUAN), institution(YINCHUAN_2), institution(GUYUAN)
    declare(yc.code, "333.33", period="2025-03")
    declare(yc.code, "9000.00", period="2025-07")
    declare(yc2.code, "500.00", period="2025-05")
    declare(gy.code, "1000.05", period="2025-05")
    for m in MONTHS:
        settle(m, approve_as=approve_as)
    return SimpleNamespace(yc=yc, yc2=yc2, gy=gy)


def _money(rows):
    return {code: {k: r[k] for k in MONEY} for code, r in rows.items()}


def _values(model, pk):
    return model.objects.filter(pk=pk).values().get()


# ---- the formula ----------------------------------------------------------------------------------


def test_released_is_deposit_total_times_score_over_100_rounded_half_up_and_released_plus_forfeited_is_the_total(
    institution,
):
    y = _deposits(institution)
    women = institution(WOMEN)
    declare(women.code, "200.00", period="2025-05")
    settle("2025-05")
    score_set(institution=y.yc, year=YEAR, actor=None, components=[
        {"kind": "assessment", "points": "70"}, {"kind": "supervision", "points": "15.5"},
    ])
    give_score(y.yc2, "33.33")  # 50.00 × 33.33 / 100 = 16.665 → 16.67 (half up; half-even would give 16.66)
    give_score(women, "0")
    give_score(y.gy, "100")

    settlement_annual_run(year=YEAR)

    rows = _money(annual_rows(YEAR))
    assert rows == {
        y.yc.code: {"deposit_total": D("933.33"), "score": D("85.50"), "released": D("798.00"), "forfeited": D("135.33")},
        y.yc2.code: {"deposit_total": D("50.00"), "score": D("33.33"), "released": D("16.67"), "forfeited": D("33.33")},
        women.code: {"deposit_total": D("20.00"), "score": D("0.00"), "released": D("0.00"), "forfeited": D("20.00")},
        y.gy.code: {"deposit_total": D("100.01"), "score": D("100.00"), "released": D("100.01"), "forfeited": D("0.00")},
    }
    for r in rows.values():
        assert all(isinstance(v, Decimal) for v in r.values())
        want = (r["deposit_total"] * r["score"] / 100).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        assert r["released"] == want
        assert r["released"] + r["forfeited"] == r["deposit_total"]
    used = AnnualSettlement.objects.get(institution=y.yc, year=YEAR).score_components
    assert [(c["kind"], c["points"]) for c in used] == [("assessment", "70.00"), ("supervision", "15.50")]


def test_deposit_total_is_the_sum_of_the_years_monthly_deposits_across_months(institution):
    """Each month's deposit is rounded on its own (333.35 → 33.34, 100.05 → 10.01), and the year adds
    the rounded deposits: 33.34 + 900.00 + 10.01 = 943.35, not 10% of the year's 9433.40 (943.34).
    Months of 2024 and 2026 are not 2025's."""
    yc = institution(YINCHUAN)
    for period, amount in [("2024-12", "70.00"), ("2025-03", "333.35"), ("2025-07", "9000.00"), ("2025-12", "100.05"),
                           ("2026-01", "80.00")]:
        declare(yc.code, amount, period=period)
        settle(period)
    give_score(yc, "100")

    settlement_annual_run(year=YEAR)

    settled = AnnualSettlement.objects.get(institution=yc, year=YEAR)
    assert settled.monthly_deposits == {"2025-03": "33.34", "2025-07": "900.00", "2025-12": "10.01"}
    assert settled.deposit_total == D("943.35") == sum(D(v) for v in settled.monthly_deposits.values())
    assert (settled.released, settled.forfeited) == (D("943.35"), D("0.00"))
    assert AnnualSettlement.objects.count() == 1


# ---- missing scores, re-runs, concurrency ---------------------------------------------------------------


def test_an_institution_without_a_score_is_named_and_not_settled_and_a_later_run_settles_it_keeping_the_others(
    institution,
):
    y = _deposits(institution)
    give_score(y.yc, "85.5")
    give_score(y.gy, "100")

    out = command("run_annual_settlement", "2025")
    assert "2025年度质量保证金结算完成：2 家协议机构" in out
    assert f"未录入考核得分、本次未结算（录入后再次运行即可）：{y.yc2.code} {YINCHUAN_2}" in out
    before = annual_rows(YEAR)
    assert set(before) == {y.yc.code, y.gy.code}
    assert not AnnualSettlement.objects.filter(institution=y.yc2).exists()

    # A score with only a deduction is still no score.
    score_add_deduction(institution=y.yc2, year=YEAR, points="5", label="超标准收费扣分", actor=None)
    assert "未录入考核得分" in command("run_annual_settlement", "2025")
    assert not AnnualSettlement.objects.filter(institution=y.yc2).exists()

    give_score(y.yc2, "60")  # 60 − 5 = 55: 50.00 × 55% = 27.50
    out = command("run_annual_settlement", "2025")
    assert "3 家协议机构" in out and "未录入考核得分" not in out
    after = annual_rows(YEAR)
    assert _money({k: after[k] for k in (y.yc2.code,)}) == {
        y.yc2.code: {"deposit_total": D("50.00"), "score": D("55.00"), "released": D("27.50"), "forfeited": D("22.50")}
    }
    for code in (y.yc.code, y.gy.code):
        assert after[code] == before[code]  # same id, same amounts


def test_running_the_year_again_changes_nothing(institution):
    y = _deposits(institution)
    for inst, points in ((y.yc, "85.5"), (y.yc2, "33.33"), (y.gy, "100")):
        give_score(inst, points)
    first = settlement_annual_run(year=YEAR)
    rows, batches = annual_rows(YEAR), list(AnnualBatch.objects.order_by("pk").values("pk", "agency", "status"))

    second = settlement_annual_run(year=YEAR)
    command("run_annual_settlement", "2025")

    assert annual_rows(YEAR) == rows
    assert list(AnnualBatch.objects.order_by("pk").values("pk", "agency", "status")) == batches
    assert AnnualSettlement.objects.count() == 3
    assert first.totals() == second.totals() == {
        "deposit_total": D("1083.34"), "released": D("914.68"), "forfeited": D("168.66")
    }


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_leave_one_consistent_set_of_rows(institution, monkeypatch):
    assert connection.vendor == "postgresql"
    y = _deposits(institution)
    for inst, points in ((y.yc, "85.5"), (y.yc2, "33.33"), (y.gy, "100")):
        give_score(inst, points)

    real = year_end._compute

    def slow(batch, *, now):  # hold the year's lock a moment, so that the other run really waits on it
        result = real(batch, now=now)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(year_end, "_compute", slow)
    results = at_once(lambda: settlement_annual_run(year=YEAR))

    assert AnnualBatch.objects.filter(year=YEAR).count() == 2  # one per agency
    assert AnnualSettlement.objects.count() == 3
    assert _money(annual_rows(YEAR)) == {
        y.yc.code: {"deposit_total": D("933.33"), "score": D("85.50"), "released": D("798.00"), "forfeited": D("135.33")},
        y.yc2.code: {"deposit_total": D("50.00"), "score": D("33.33"), "released": D("16.67"), "forfeited": D("33.33")},
        y.gy.code: {"deposit_total": D("100.01"), "score": D("100.00"), "released": D("100.01"), "forfeited": D("0.00")},
    }
    for result in results:
        assert result.totals()["released"] == D("914.68")


# ---- approval and the frozen year ---------------------------------------------------------------------


def test_approval_needs_every_month_of_the_year_approved_and_every_institution_scored_then_freezes(institution, users):
    staff = users["staff_yinchuan"]
    y = _deposits(institution)  # months computed, not approved
    give_score(y.yc, "85.5")
    give_score(y.gy, "100")
    with pytest.raises(ApplicationError) as exc:
        settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    assert exc.value.code == "not_calculated"  # not run yet

    settlement_annual_run(year=YEAR)
    with pytest.raises(ApplicationError) as exc:
        settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    assert exc.value.code == "months_open"
    assert "2025-03" in exc.value.message and "2025-05" in exc.value.message and "2025-07" in exc.value.message

    for m in MONTHS:
        approve_month(m, staff)
    with pytest.raises(ApplicationError) as exc:
        settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    assert exc.value.code == "missing_scores" and YINCHUAN_2 in exc.value.message
    for who in ("auditor_yinchuan", "hospital_admin", "staff_guyuan"):
        with pytest.raises(PermissionDenied):
            settlement_annual_approve(year=YEAR, agency=staff.agency, actor=users[who])
    assert not AnnualSettlement.objects.filter(frozen=True).exists()
    assert not AnnualBatch.objects.filter(status=BatchStatus.APPROVED).exists()

    give_score(y.yc2, "33.33")
    result = settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    assert (result.rows, result.released) == (2, D("814.67"))  # recomputed under the lock: 银川二院 is in

    batch = AnnualBatch.objects.get(year=YEAR, agency=staff.agency)
    assert (batch.status, batch.approved_by) == (BatchStatus.APPROVED, staff) and batch.approved_at
    assert set(AnnualSettlement.objects.filter(batch=batch).values_list("frozen", flat=True)) == {True}
    assert AnnualSettlement.objects.filter(batch=batch).count() == 2
    assert AnnualBatch.objects.get(year=YEAR, agency=y.gy.agency).status == BatchStatus.CALCULATED  # 固原's stays open
    assert not AnnualSettlement.objects.get(institution=y.gy).frozen

    with pytest.raises(Conflict) as exc:
        settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    assert exc.value.code == "frozen"


@pytest.fixture
def frozen_year(institution, users):
    """2025 with 银川's months and year approved (frozen); 固原's year computed, not approved."""
    staff = users["staff_yinchuan"]
    y = _deposits(institution, approve_as=staff)
    score_set(institution=y.yc, year=YEAR, actor=None, components=[
        {"kind": "assessment", "points": "70"}, {"kind": "supervision", "points": "15.5"},
    ])
    give_score(y.yc2, "33.33")
    give_score(y.gy, "100")
    settlement_annual_run(year=YEAR)
    settlement_annual_approve(year=YEAR, agency=staff.agency, actor=staff)
    y.staff = staff
    y.row = AnnualSettlement.objects.get(institution=y.yc, year=YEAR)
    y.batch = y.row.batch
    y.score = AssessmentScore.objects.get(institution=y.yc, year=YEAR)
    y.component = y.score.components.first()
    assert y.row.frozen and y.batch.frozen
    return y


def test_after_approval_a_rerun_for_the_agency_is_refused_and_the_command_reports_it_frozen(frozen_year):
    y = frozen_year
    before = annual_rows(YEAR)
    with pytest.raises(Conflict) as exc:
        settlement_annual_run(year=YEAR, actor=y.staff, agency=y.staff.agency)
    assert exc.value.code == "frozen" and "已审批并冻结，不能重算" in exc.value.message

    out = command("run_annual_settlement", "2025")
    assert "银川市社会保险事业管理中心：该年度已审批（冻结），未重算。" in out
    assert "2025年度质量保证金结算完成：1 家协议机构" in out  # 固原's, computed again
    after = annual_rows(YEAR)
    assert after == before
    assert AnnualSettlement.objects.get(pk=y.row.pk).computed_at == y.row.computed_at  # not even touched
    assert AnnualSettlement.objects.get(institution=y.gy).computed_at > y.row.computed_at


def test_after_approval_the_institutions_score_for_that_year_cannot_be_set_or_imported(frozen_year):
    y = frozen_year
    before = (_values(AssessmentScore, y.score.pk), list(y.score.components.values()))
    with pytest.raises(ApplicationError) as exc:
        score_set(institution=y.yc, year=YEAR, actor=y.staff, components=[{"kind": "assessment", "points": "99"}])
    assert exc.value.code == "frozen"
    with pytest.raises(ApplicationError) as exc:
        score_add_deduction(institution=y.yc, year=YEAR, points="3", label="扣分", actor=y.staff)
    assert exc.value.code == "frozen"

    report = scores_import(year=YEAR, actor=None, rows=[
        (2, {"code": y.yc.code, "year": "2025", "score": "99"}),
        (3, {"code": y.gy.code, "year": "2025", "score": "90"}),  # 固原's year is not approved
    ])
    assert report.rejections == [(2, "2025年度的年度结算已审批冻结，考核得分不能再修改")]
    assert (report.updated, report.created) == (1, 0)
    assert (_values(AssessmentScore, y.score.pk), list(y.score.components.values())) == before
    assert AssessmentScore.objects.get(institution=y.gy, year=YEAR).total == D("90.00")
    # Another year of the same institution is not frozen.
    assert give_score(y.yc, "77", year=2024).total == D("77.00")


def _refused_by_the_database(sql, params):
    with pytest.raises(IntegrityError) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    assert "frozen" in str(exc.value)


def test_sql_written_by_hand_cannot_change_or_delete_the_frozen_row_batch_score_or_components(frozen_year):
    y = frozen_year
    before = (_values(AnnualSettlement, y.row.pk), _values(AnnualBatch, y.batch.pk), _values(AssessmentScore, y.score.pk),
              list(ScoreComponent.objects.filter(score=y.score).order_by("pk").values()))

    _refused_by_the_database("UPDATE settlement_annualsettlement SET frozen = false WHERE id = %s", [y.row.pk])
    _refused_by_the_database("UPDATE settlement_annualsettlement SET released = deposit_total, forfeited = 0 "
                             "WHERE id = %s", [y.row.pk])
    _refused_by_the_database("DELETE FROM settlement_annualsettlement WHERE id = %s", [y.row.pk])
    _refused_by_the_database("UPDATE settlement_annualbatch SET status = 'calculated' WHERE id = %s", [y.batch.pk])
    _refused_by_the_database("DELETE FROM settlement_annualbatch WHERE id = %s", [y.batch.pk])
    _refused_by_the_database("UPDATE settlement_assessmentscore SET total = 100 WHERE id = %s", [y.score.pk])
    _refused_by_the_database("DELETE FROM settlement_assessmentscore WHERE id = %s", [y.score.pk])
    _refused_by_the_database("UPDATE settlement_scorecomponent SET points = 99 WHERE id = %s", [y.component.pk])
    _refused_by_the_database("DELETE FROM settlement_scorecomponent WHERE id = %s", [y.component.pk])
    _refused_by_the_database(
        "INSERT INTO settlement_scorecomponent (score_id, kind, label, points, note, source_label, created_at) "
        "VALUES (%s, 'other', '加分', 10, '', '', now())", [y.score.pk]
    )
    with pytest.raises(IntegrityError), transaction.atomic():  # the ORM is no way round either
        AnnualSettlement.objects.filter(pk=y.row.pk).update(released=y.row.deposit_total, forfeited=0)

    assert (_values(AnnualSettlement, y.row.pk), _values(AnnualBatch, y.batch.pk), _values(AssessmentScore, y.score.pk),
            list(ScoreComponent.objects.filter(score=y.score).order_by("pk").values())) == before

    # What is not frozen stays writable: 固原's row and score.
    gy_score = AssessmentScore.objects.get(institution=y.gy, year=YEAR)
    with connection.cursor() as cur:
        cur.execute("UPDATE settlement_annualsettlement SET computed_at = computed_at WHERE institution_id = %s", [y.gy.pk])
        cur.execute("UPDATE settlement_assessmentscore SET total = total WHERE id = %s", [gy_score.pk])


# ---- bad input changes nothing ----------------------------------------------------------------------------


def test_import_assessment_scores_refuses_each_bad_row_with_its_number_and_keeps_the_stored_scores(
    institution, tmp_path
):
    y = _deposits(institution)
    give_score(y.yc, "80")
    before = (_values(AssessmentScore, AssessmentScore.objects.get(institution=y.yc).pk),
              list(ScoreComponent.objects.filter(score__institution=y.yc).values()))
    path = write_file(tmp_path, score_csv([
        [y.yc.code, "2025", "101"],
        [y.yc.code, "2025", "-1"],
        [y.yc.code, "2025", "85.555"],
        [y.yc.code, "2025", "abc"],
        ["JG999999", "2025", "90"],
        [y.yc.code, "2024", "90"],
        [y.gy.code, "2025", "95.5"],  # a good row is imported all the same
    ]), name="scores.csv")

    out = command("import_assessment_scores", path, "--year", "2025")

    assert "rows=7 created=1 updated=0 unchanged=0 rejected=6" in out
    for line in [
        "拒绝 第2行：考核得分“101”超过 100（应在 0 到 100 之间）",
        "拒绝 第3行：考核得分“-1”不能为负数（应在 0 到 100 之间）",
        "拒绝 第4行：考核得分“85.555”超过两位小数",
        "拒绝 第5行：考核得分“abc”不是数字",
        "拒绝 第6行：机构编码“JG999999”不存在或不在您的管辖范围内",
        "拒绝 第7行：年度“2024”与 --year 2025 不符",
    ]:
        assert line in out, out
    assert (_values(AssessmentScore, AssessmentScore.objects.get(institution=y.yc).pk),
            list(ScoreComponent.objects.filter(score__institution=y.yc).values())) == before
    assert AssessmentScore.objects.get(institution=y.gy, year=YEAR).total == D("95.50")
    assert AssessmentScore.objects.count() == 2


def test_import_assessment_scores_for_a_year_without_deposits_or_an_invalid_year_is_refused_whole(
    institution, tmp_path
):
    yc = institution(YINCHUAN)
    declare(yc.code, "100.00", period="2025-03")  # 2025 has deposits, 2024 none
    settle("2025-03")
    path = write_file(tmp_path, score_csv([[yc.code, "2024", "90"]]), name="scores.csv")

    exc = command_refused("import_assessment_scores", path, "--year", "2024")
    assert "2024年度没有预留质量保证金" in str(exc) and "不能导入考核得分" in str(exc)
    exc = command_refused("import_assessment_scores", path, "--year", "25")
    assert "年度“25”无效，应为四位年份" in str(exc)
    assert not AssessmentScore.objects.exists()


def test_run_annual_settlement_refuses_a_year_without_deposits_a_year_not_over_and_an_invalid_year(institution):
    yc = institution(YINCHUAN)
    declare(yc.code, "100.00", period="2025-03")  # 2025 has deposits, 2024 none
    settle("2025-03")
    give_score(yc, "90")

    exc = command_refused("run_annual_settlement", "2024")
    assert "2024年度没有预留质量保证金" in str(exc)
    exc = command_refused("run_annual_settlement", "2026")
    assert "2026年度尚未结束，次年1月起才能办理年度结算" in str(exc)
    exc = command_refused("run_annual_settlement", "25")
    assert "年度“25”无效，应为四位年份" in str(exc)
    assert not AnnualBatch.objects.exists()
    assert not AnnualSettlement.objects.exists()


# ---- W§26: a stay over the new year ------------------------------------------------------------------------


def test_a_stay_over_the_new_year_is_refused_for_december_and_counts_in_the_year_of_its_discharge(institution):
    yc = institution(YINCHUAN)
    stay = {"card": "640102199001019999", "name": "跨年住院", "category": "住院", "visit": "2024-12-20",
            "discharge": "2025-01-05", "total": "1000.00"}
    report = import_rows([row(yc.code, period="2024-12", **stay)])
    assert (report.batch.accepted, report.batch.rejected) == (0, 1)
    assert "出院日期晚于结算月份2024年12月" in report.rejections[0][1]

    declare(yc.code, "200.00", period="2024-12")  # an outpatient visit of December 2024
    report = import_rows([row(yc.code, period="2025-01", **stay)])
    assert (report.batch.accepted, report.batch.rejected) == (1, 0)
    settle("2024-12")
    settle("2025-01")
    give_score(yc, "100", year=2024)
    give_score(yc, "100", year=2025)
    settlement_annual_run(year=2024)
    settlement_annual_run(year=2025)

    in_2024 = AnnualSettlement.objects.get(institution=yc, year=2024)
    in_2025 = AnnualSettlement.objects.get(institution=yc, year=2025)
    assert (in_2024.deposit_total, in_2024.monthly_deposits) == (D("20.00"), {"2024-12": "20.00"})
    assert (in_2025.deposit_total, in_2025.monthly_deposits) == (D("100.00"), {"2025-01": "100.00"})


# ---- the annual application (W§28) ---------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_an_institution_admin_may_apply_only_from_1_january_to_31_january_of_the_next_year(institution, users, media):
    admin, yc = users["hospital_admin"], institution(YINCHUAN)
    with _at(2025, 12, 31, 23, 55), pytest.raises(ApplicationError) as exc:
        annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=admin)
    assert exc.value.code == "not_open" and "2026年1月1日" in exc.value.message
    with _at(2026, 2, 1, 0, 5), pytest.raises(ApplicationError) as exc:
        annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=admin)
    assert exc.value.code == "deadline_passed" and "2026年1月31日" in exc.value.message
    assert not AnnualApplication.objects.exists() and not AnnualMaterial.objects.exists()

    with _at(2026, 1, 31, 23, 55):  # the last day is still in
        application = annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=admin)
    assert (application.status, application.late) == (AnnualApplicationStatus.SUBMITTED, False)
    assert sorted(application.materials.values_list("kind", flat=True)) == ["cost_report", "declaration_form"]
    with _at(2026, 1, 15, 10), pytest.raises(PermissionDenied):  # never for another institution
        annual_application_submit(institution=institution(GUYUAN), year=YEAR, materials=annual_documents(), actor=admin)


def test_staff_may_file_after_january_for_an_institution_in_scope_and_the_application_is_marked_late(
    institution, users, media
):
    yc = institution(YINCHUAN)
    with pytest.raises(PermissionDenied):
        annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=users["staff_guyuan"])
    application = annual_application_submit(
        institution=yc, year=YEAR, materials=annual_documents(), actor=users["staff_yinchuan"], note="机构逾期，经办代交"
    )
    assert (application.late, application.status, application.submitted_by) == (
        True, AnnualApplicationStatus.SUBMITTED, users["staff_yinchuan"]
    )
    assert application.materials.count() == 2


def test_both_documents_are_required(institution, users, media):
    admin, yc = users["hospital_admin"], institution(YINCHUAN)
    with _at(2026, 1, 15, 10):
        with pytest.raises(ApplicationError) as exc:
            annual_application_submit(institution=yc, year=YEAR, materials={}, actor=admin)
        assert exc.value.code == "materials_missing"
        assert "结算申报表" in exc.value.message and "费用情况分析报告" in exc.value.message
        with pytest.raises(ApplicationError) as exc:
            annual_application_submit(institution=yc, year=YEAR, actor=admin,
                                      materials={"declaration_form": pdf_upload("结算申报表.pdf")})
        assert exc.value.code == "materials_missing"
        assert "费用情况分析报告" in exc.value.message and "结算申报表" not in exc.value.message
    assert not AnnualApplication.objects.exists() and not AnnualMaterial.objects.exists()


def test_a_returned_application_is_completed_without_uploading_again_what_is_on_file(institution, users, media):
    admin, staff, yc = users["hospital_admin"], users["staff_yinchuan"], institution(YINCHUAN)
    with _at(2026, 1, 10, 9):
        application = annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=admin)
    with _at(2026, 1, 12, 9):
        with pytest.raises(ApplicationError) as exc:
            annual_application_decide(application=application, accept=False, note=" ", actor=staff)
        assert exc.value.code == "note_required"
        with pytest.raises(PermissionDenied):
            annual_application_decide(application=application, accept=True, note="", actor=admin)
        returned = annual_application_decide(application=application, accept=False, note="请补充费用明细说明", actor=staff)
    assert (returned.status, returned.review_note) == (AnnualApplicationStatus.RETURNED, "请补充费用明细说明")

    with _at(2026, 1, 20, 9):
        again = annual_application_submit(institution=yc, year=YEAR, actor=admin, note="已补充",
                                          materials={"other": pdf_upload("费用明细说明.pdf")})
    assert (again.pk, again.status, again.late) == (application.pk, AnnualApplicationStatus.SUBMITTED, False)
    assert sorted(again.materials.values_list("kind", flat=True)) == ["cost_report", "declaration_form", "other"]

    accepted = annual_application_decide(application=again, accept=True, note="", actor=staff)
    assert accepted.status == AnnualApplicationStatus.ACCEPTED
    with _at(2026, 1, 25, 9), pytest.raises(ApplicationError) as exc:
        annual_application_submit(institution=yc, year=YEAR, materials=annual_documents(), actor=admin)
    assert exc.value.code == "already_accepted"
