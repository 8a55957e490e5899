"""The month-end settlement (SPEC §4, W§28) and its command run_monthly_settlement.

deposit = round_half_up(approved × 10%) on each institution's monthly total, payable = approved −
deposit to the fen; a run is repeatable, one at a time, all or nothing; approval freezes a month
and later corrections, recoveries and deferrals flow into later months, each paid exactly once.

The clock is pinned to 2026-11-23 (months up to October are closed; corrections registered now
reach October's settlement at the earliest).
"""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import ApplicationError, Conflict, PermissionDenied
from settlement.models import (
    BatchStatus,
    Deduction,
    DeductionKind,
    DeductionOffset,
    DeclarationLine,
    HoldRelease,
    LineStatus,
    MonthlyBatch,
    MonthlySettlement,
    ReviewOutcome,
    SettlementAdjustment,
    SettlementPolicy,
)
from settlement.services import month_end
from settlement.services.month_end import settlement_month_approve, settlement_month_end_run
from settlement.services.receivables import (
    adjustment_register,
    deduction_register,
    hold_lift,
    hold_start,
    receivables_for,
)
from settlement.services.review import line_decide, lines_approve_pending
from tests.settlement_helpers import (
    at_once,
    GUYUAN,
    YINCHUAN,
    command,
    command_refused,
    declare,
    month,
    settle,
    settlement_rows,
    travel,
)

D = Decimal
O = ReviewOutcome
OCTOBER = month("2026-10")


@pytest.fixture(autouse=True)
def today():
    with travel(2026, 11, 23):
        yield


@pytest.fixture
def staff(users):
    return users["staff_yinchuan"]


def default_rule_version():
    """The rule version of the seeded region-wide parameters (10%)."""
    return SettlementPolicy.objects.get(region_code="").rule_version


def row_of(institution, period_text):
    return MonthlySettlement.objects.get(institution=institution, period=month(period_text))


def money(row):
    return {k: row[k] for k in ("approved_amount", "deposit", "payable", "deduction_amount", "net_amount")}


# ---- the amounts -------------------------------------------------------------------------------------------


def test_the_deposit_is_rounded_half_up_on_each_institutions_monthly_total_not_line_by_line(institution):
    first, second, women = institution(YINCHUAN), institution("银川市第二人民医院"), institution("银川市妇幼保健院")
    guyuan = institution(GUYUAN)
    declare(first.code, "0.05", "0.05", "0.05")  # 0.15 → 0.015 → 0.02 (line by line 3 × 0.01 = 0.03)
    declare(second.code, *["0.05"] * 5)  # 0.25 → 0.025 → 0.03 half up (half-even 0.02; line by line 0.05)
    declare(women.code, "333.33", "333.33", "333.33")  # 999.99 → 99.999 → 100.00 (line by line 99.99)
    declare(guyuan.code, "1234.56")  # 123.456 → 123.46
    lines_approve_pending(period=OCTOBER, actor=None)

    out = command("run_monthly_settlement", "2026-10")

    rows = settlement_rows("2026-10")
    expected = {
        first.code: (3, D("0.15"), D("0.02"), D("0.13")),
        second.code: (5, D("0.25"), D("0.03"), D("0.22")),
        women.code: (3, D("999.99"), D("100.00"), D("899.99")),
        guyuan.code: (1, D("1234.56"), D("123.46"), D("1111.10")),
    }
    assert {code: (r["line_count"], r["approved_amount"], r["deposit"], r["payable"]) for code, r in rows.items()} == expected
    for r in rows.values():
        assert r["payable"] + r["deposit"] == r["approved_amount"]
        assert r["net_amount"] == r["payable"]
        assert (r["deposit_rate"], r["rule_version"], r["frozen"]) == (D("0.1000"), default_rule_version(), False)
    assert set(MonthlyBatch.objects.filter(period=OCTOBER).values_list("agency", "status")) == {
        (first.agency_id, BatchStatus.CALCULATED), (guyuan.agency_id, BatchStatus.CALCULATED)
    }
    assert "2 个经办机构，4 家协议机构" in out
    assert "审核通过 ¥2,234.95，质量保证金 ¥223.51，应拨付 ¥2,011.44" in out


def test_reduced_lines_count_with_their_approved_amount_refused_and_pending_lines_count_zero(institution, staff):
    hospital = institution(YINCHUAN)
    approved, reduced, refused, pending, held = declare(hospital.code, "100.00", "200.00", "300.00", "400.00", "500.00")
    line_decide(line=approved, outcome=O.APPROVE, actor=staff)
    line_decide(line=reduced, outcome=O.REDUCE, reason_code="out_of_catalogue", amount="150.50", actor=staff)
    line_decide(line=refused, outcome=O.REFUSE, reason_code="non_injury", actor=staff)
    line_decide(line=held, outcome=O.HOLD, reason_code="medical_accident", actor=staff)

    result = settlement_month_end_run(period=OCTOBER, actor=staff)

    row = settlement_rows("2026-10")[hospital.code]
    assert (row["line_count"], row["declared_amount"]) == (2, D("1500.00"))
    assert money(row) == {
        "approved_amount": D("250.50"), "deposit": D("25.05"), "payable": D("225.45"),
        "deduction_amount": D("0.00"), "net_amount": D("225.45"),
    }
    (batch,) = result.batches
    assert (batch.status, batch.rows, batch.approved, batch.deposit, batch.payable, batch.net) == (
        "calculated", 1, D("250.50"), D("25.05"), D("225.45"), D("225.45")
    )
    assert DeclarationLine.objects.get(pk=pending.pk).status == LineStatus.PENDING


def test_a_clerk_settles_only_their_own_agency_and_institutions_and_auditors_cannot_run(institution, users):
    declare(institution(YINCHUAN).code, "10.00")
    declare(institution(GUYUAN).code, "20.00")
    lines_approve_pending(period=OCTOBER, actor=None)
    result = settlement_month_end_run(period=OCTOBER, actor=users["staff_guyuan"])
    assert [b.agency.name for b in result.batches] == ["固原市社会保险事业管理中心"]
    assert list(settlement_rows("2026-10")) == [institution(GUYUAN).code]
    for username in ("auditor_yinchuan", "hospital_admin"):
        with pytest.raises(PermissionDenied):
            settlement_month_end_run(period=OCTOBER, actor=users[username])
    with pytest.raises(PermissionDenied) as exc:
        settlement_month_end_run(period=OCTOBER, actor=users["staff_guyuan"], agency=institution(YINCHUAN).agency)
    assert exc.value.code == "out_of_scope"


def test_each_row_uses_and_keeps_the_policy_of_its_region_and_month(institution, users):
    """The most specific region's parameters in force for the month; a frozen row keeps the rate it
    was computed with when the parameters change later."""
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(gy.code, "1000.00", period="2026-09")
    settle("2026-09", approve_as=users["staff_guyuan"])
    SettlementPolicy.objects.create(region_code="6404", valid_from=date(2026, 9, 1), deposit_rate=D("0.0500"),
                                    rule_version="固原2026-09")
    declare(gy.code, "1000.00")
    declare(yc.code, "1000.00")
    settle("2026-09")
    settle("2026-10")
    september, october = settlement_rows("2026-09")[gy.code], settlement_rows("2026-10")
    assert (september["deposit_rate"], september["deposit"], september["rule_version"]) == (D("0.1000"), D("100.00"), default_rule_version())
    assert (october[gy.code]["deposit_rate"], october[gy.code]["deposit"], october[gy.code]["rule_version"]) == (
        D("0.0500"), D("50.00"), "固原2026-09"
    )
    assert (october[yc.code]["deposit_rate"], october[yc.code]["deposit"], october[yc.code]["rule_version"]) == (
        D("0.1000"), D("100.00"), default_rule_version()
    )


# ---- repeatable, one at a time, all or nothing ------------------------------------------------------------------


def test_running_the_month_twice_changes_nothing(institution, staff):
    declare(institution(YINCHUAN).code, "100.00", "0.05")
    declare(institution(GUYUAN).code, "333.33")
    lines_approve_pending(period=OCTOBER, actor=None)
    first = settle_and_read()
    counts = (MonthlySettlement.objects.count(), MonthlyBatch.objects.count(), DeductionOffset.objects.count())
    ids = sorted(MonthlySettlement.objects.values_list("pk", flat=True))

    second = settle_and_read()
    assert second == first
    assert sorted(MonthlySettlement.objects.values_list("pk", flat=True)) == ids  # the same rows, not copies
    assert (MonthlySettlement.objects.count(), MonthlyBatch.objects.count(), DeductionOffset.objects.count()) == counts
    assert counts[0] == 2


def settle_and_read():
    command("run_monthly_settlement", "2026-10")
    return settlement_rows("2026-10")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_leave_one_consistent_set_of_rows(institution, monkeypatch):
    assert connection.vendor == "postgresql"
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(yc.code, "100.00", "233.33")
    declare(gy.code, "1234.56")
    lines_approve_pending(period=OCTOBER, actor=None)

    real = month_end._compute

    def slow(batch, *, now):  # hold the month's lock a moment, so that the other run really waits on it
        result = real(batch, now=now)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(month_end, "_compute", slow)
    results = at_once(lambda: settlement_month_end_run(period=OCTOBER, actor=None))

    assert MonthlySettlement.objects.count() == 2
    assert MonthlyBatch.objects.filter(period=OCTOBER).count() == 2
    rows = settlement_rows("2026-10")
    assert {code: money(r) for code, r in rows.items()} == {
        yc.code: {"approved_amount": D("333.33"), "deposit": D("33.33"), "payable": D("300.00"),
                  "deduction_amount": D("0.00"), "net_amount": D("300.00")},
        gy.code: {"approved_amount": D("1234.56"), "deposit": D("123.46"), "payable": D("1111.10"),
                  "deduction_amount": D("0.00"), "net_amount": D("1111.10")},
    }
    for result in results:
        assert result.totals()["net"] == D("1411.10")


def test_a_run_that_fails_half_way_leaves_nothing_of_itself_behind(institution, monkeypatch):
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(yc.code, "100.00")
    declare(gy.code, "200.00")
    lines_approve_pending(period=OCTOBER, actor=None)

    def batches():
        return list(MonthlyBatch.objects.order_by("pk").values("pk", "period", "agency", "status", "calculated_at"))

    real = month_end._compute
    calls = []

    def crash_on_second_agency(batch, *, now):
        calls.append(batch.agency.name)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return real(batch, now=now)

    monkeypatch.setattr(month_end, "_compute", crash_on_second_agency)
    before = batches()
    with pytest.raises(RuntimeError):
        settlement_month_end_run(period=OCTOBER, actor=None)
    assert calls == ["银川市社会保险事业管理中心", "固原市社会保险事业管理中心"]
    assert not MonthlySettlement.objects.exists()
    assert batches() == before

    # After a good run, a failed rerun leaves the good run's rows exactly as they were.
    monkeypatch.setattr(month_end, "_compute", real)
    settlement_month_end_run(period=OCTOBER, actor=None)
    good = list(MonthlySettlement.objects.order_by("pk").values())
    good_batches = batches()
    declare(yc.code, "50.00")
    lines_approve_pending(period=OCTOBER, actor=None)
    calls.clear()
    monkeypatch.setattr(month_end, "_compute", crash_on_second_agency)
    with pytest.raises(RuntimeError):
        settlement_month_end_run(period=OCTOBER, actor=None)
    assert list(MonthlySettlement.objects.order_by("pk").values()) == good
    assert batches() == good_batches


def test_a_month_not_yet_over_is_refused_and_nothing_is_written(institution, users):
    declare(institution(YINCHUAN).code, "10.00")
    error = command_refused("run_monthly_settlement", "2026-11")
    assert "2026年11月尚未结束" in str(error)
    with pytest.raises(ApplicationError) as exc:
        settlement_month_end_run(period=month("2026-12"), actor=users["staff_yinchuan"])
    assert exc.value.code == "month_not_closed"
    assert "的值“2026/10”无效" in str(command_refused("run_monthly_settlement", "2026/10"))
    assert not MonthlySettlement.objects.exists()
    assert not MonthlyBatch.objects.filter(period__gte=month("2026-11")).exists()


# ---- approval ------------------------------------------------------------------------------------------------


def test_approval_freezes_the_agencys_month_and_only_that(institution, staff):
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    declare(yc.code, "100.00")
    declare(gy.code, "200.00")
    settle("2026-10")

    result = settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    assert (result.status, result.net) == ("calculated", D("90.00"))
    batch = MonthlyBatch.objects.get(period=OCTOBER, agency=yc.agency)
    assert (batch.status, batch.approved_by, batch.frozen) == (BatchStatus.APPROVED, staff, True)
    assert batch.approved_at is not None
    assert row_of(yc, "2026-10").frozen is True
    assert row_of(gy, "2026-10").frozen is False
    assert MonthlyBatch.objects.get(period=OCTOBER, agency=gy.agency).status == BatchStatus.CALCULATED


def test_approval_requires_a_computed_month_a_clerk_in_scope_and_the_earlier_months_approved(institution, users):
    staff = users["staff_yinchuan"]
    yc = institution(YINCHUAN)
    declare(yc.code, "100.00", period="2026-09")
    declare(yc.code, "200.00")
    with pytest.raises(ApplicationError) as exc:
        settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    assert exc.value.code == "not_calculated"

    settle("2026-09")
    settle("2026-10")
    for username in ("auditor_yinchuan", "hospital_admin"):
        with pytest.raises(PermissionDenied):
            settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=users[username])
    with pytest.raises(PermissionDenied):
        settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=users["staff_guyuan"])
    with pytest.raises(ApplicationError) as exc:
        settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    assert exc.value.code == "earlier_month_open"
    assert "2026年9月的结算尚未审批" in exc.value.message
    assert not MonthlyBatch.objects.filter(status=BatchStatus.APPROVED).exists()
    assert not MonthlySettlement.objects.filter(frozen=True).exists()

    settlement_month_approve(period=month("2026-09"), agency=yc.agency, actor=staff)
    settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    assert set(MonthlyBatch.objects.values_list("period", "status")) == {
        (month("2026-09"), BatchStatus.APPROVED), (OCTOBER, BatchStatus.APPROVED)
    }


def test_approval_is_refused_when_the_data_no_longer_gives_the_net_the_clerk_saw(institution, staff):
    yc = institution(YINCHUAN)
    first, second = declare(yc.code, "100.00", "50.00")
    line_decide(line=first, outcome=O.APPROVE, actor=staff)
    settlement_month_end_run(period=OCTOBER, actor=staff)
    shown = row_of(yc, "2026-10").net_amount
    assert shown == D("90.00")

    line_decide(line=second, outcome=O.APPROVE, actor=staff)  # after the page was shown
    with pytest.raises(Conflict) as exc:
        settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff, expected_net=shown)
    assert exc.value.code == "stale"
    assert "135.00" in exc.value.message
    assert MonthlyBatch.objects.get(period=OCTOBER, agency=yc.agency).status == BatchStatus.CALCULATED
    assert row_of(yc, "2026-10").frozen is False
    assert row_of(yc, "2026-10").net_amount == D("90.00")

    settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff, expected_net=D("135.00"))
    row = row_of(yc, "2026-10")
    assert (row.frozen, row.approved_amount, row.net_amount) == (True, D("150.00"), D("135.00"))


# ---- later corrections ------------------------------------------------------------------------------------------


def test_a_pending_line_decided_after_its_month_was_approved_is_paid_once_in_the_next_month(institution, staff):
    yc = institution(YINCHUAN)
    on_time, late_decided = declare(yc.code, "100.00", "200.00", period="2026-08")
    line_decide(line=on_time, outcome=O.APPROVE, actor=staff)
    settlement_month_end_run(period=month("2026-08"), actor=staff)
    settlement_month_approve(period=month("2026-08"), agency=yc.agency, actor=staff)
    august = row_of(yc, "2026-08")

    decision = line_decide(line=late_decided, outcome=O.APPROVE, actor=staff)
    assert "计入以后月份的结算" in decision.message
    line = DeclarationLine.objects.get(pk=late_decided.pk)
    assert (line.status, line.carried, line.carried_into) == (LineStatus.APPROVED, True, None)
    assert (row_of(yc, "2026-08").approved_amount, row_of(yc, "2026-08").line_count) == (D("100.00"), 1)

    declare(yc.code, "1000.00", period="2026-09")
    settle("2026-09")
    september = settlement_rows("2026-09")[yc.code]
    assert (september["line_count"], september["declared_amount"], september["adjustment_amount"]) == (2, D("1000.00"), D("200.00"))
    assert money(september) == {
        "approved_amount": D("1200.00"), "deposit": D("120.00"), "payable": D("1080.00"),
        "deduction_amount": D("0.00"), "net_amount": D("1080.00"),
    }
    settlement_month_approve(period=month("2026-09"), agency=yc.agency, actor=staff)
    assert DeclarationLine.objects.get(pk=late_decided.pk).carried_into == row_of(yc, "2026-09")

    declare(yc.code, "10.00")
    settle("2026-10")
    october = settlement_rows("2026-10")[yc.code]
    assert (october["line_count"], october["adjustment_amount"], october["approved_amount"]) == (1, D("0.00"), D("10.00"))
    assert MonthlySettlement.objects.get(pk=august.pk).approved_amount == D("100.00")


def test_a_correction_of_a_frozen_month_enters_the_next_months_approved_amount(institution, staff):
    yc = institution(YINCHUAN)
    declare(yc.code, "500.00", period="2026-09")
    settle("2026-09", approve_as=staff)
    september = row_of(yc, "2026-09")

    declare(yc.code, "1000.00")
    settle("2026-10")
    with pytest.raises(ApplicationError) as exc:
        adjustment_register(corrects=row_of(yc, "2026-10"), amount="-30.00", reason="更正", actor=staff)
    assert exc.value.code == "not_frozen"

    adjustment = adjustment_register(corrects=september, amount="-30.00", reason="九月多付，扣回", actor=staff)
    assert (adjustment.effective_from, adjustment.amount, adjustment.applied_in) == (OCTOBER, D("-30.00"), None)
    settlement_month_end_run(period=OCTOBER, actor=staff)
    october = settlement_rows("2026-10")[yc.code]
    assert october["adjustment_amount"] == D("-30.00")
    assert money(october) == {
        "approved_amount": D("970.00"), "deposit": D("97.00"), "payable": D("873.00"),
        "deduction_amount": D("0.00"), "net_amount": D("873.00"),
    }
    settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    assert SettlementAdjustment.objects.get(pk=adjustment.pk).applied_in == row_of(yc, "2026-10")
    assert row_of(yc, "2026-09").approved_amount == D("500.00")  # the frozen row itself never changes


def test_a_recovery_larger_than_the_payable_is_offset_up_to_it_and_the_rest_in_the_following_months(
    institution, staff
):
    yc = institution(YINCHUAN)
    deduction = deduction_register(institution=yc, kind=DeductionKind.RECOVERY, amount="1500.00",
                                   reason="追回违规费用", actor=staff, effective_from=date(2026, 8, 1))
    declare(yc.code, "1000.00", period="2026-08")
    settle("2026-08")
    august = settlement_rows("2026-08")[yc.code]
    assert (august["payable"], august["deduction_amount"], august["carried_forward"], august["net_amount"]) == (
        D("900.00"), D("900.00"), D("600.00"), D("0.00")
    )
    settlement_month_approve(period=month("2026-08"), agency=yc.agency, actor=staff)

    declare(yc.code, "500.00", period="2026-09")
    settle("2026-09", approve_as=staff)
    september = settlement_rows("2026-09")[yc.code]
    assert (september["payable"], september["deduction_amount"], september["carried_forward"], september["net_amount"]) == (
        D("450.00"), D("450.00"), D("150.00"), D("0.00")
    )

    declare(yc.code, "1000.00")
    settle("2026-10", approve_as=staff)
    october = settlement_rows("2026-10")[yc.code]
    assert (october["payable"], october["deduction_amount"], october["carried_forward"], october["net_amount"]) == (
        D("900.00"), D("150.00"), D("0.00"), D("750.00")
    )
    assert list(DeductionOffset.objects.filter(deduction=deduction).order_by("settlement__period").values_list(
        "settlement__period", "amount")) == [
        (month("2026-08"), D("900.00")), (month("2026-09"), D("450.00")), (OCTOBER, D("150.00"))
    ]
    assert receivables_for(yc)["outstanding"] == D("0.00")
    assert Deduction.objects.get(pk=deduction.pk).amount == D("1500.00")


def test_a_deferral_holds_the_payment_and_after_it_is_lifted_the_held_amount_is_paid_once(institution, staff):
    yc = institution(YINCHUAN)
    hold = hold_start(institution=yc, reason="涉嫌违规，暂缓支付", actor=staff)
    declare(yc.code, "1000.00", period="2026-08")
    settle("2026-08", approve_as=staff)
    august = settlement_rows("2026-08")[yc.code]
    assert (august["payable"], august["held"], august["held_amount"], august["net_amount"]) == (
        D("900.00"), True, D("900.00"), D("0.00")
    )

    hold_lift(hold=hold, actor=staff, note="核查无违规")
    declare(yc.code, "500.00", period="2026-09")
    settle("2026-09")
    settle("2026-09")  # a rerun before approval releases the same amount, not twice
    september = settlement_rows("2026-09")[yc.code]
    assert (september["payable"], september["released_amount"], september["held"], september["net_amount"]) == (
        D("450.00"), D("900.00"), False, D("1350.00")
    )
    settlement_month_approve(period=month("2026-09"), agency=yc.agency, actor=staff)
    (release,) = HoldRelease.objects.all()
    assert (release.held_row, release.released_in, release.amount) == (
        row_of(yc, "2026-08"), row_of(yc, "2026-09"), D("900.00")
    )

    declare(yc.code, "100.00")
    settle("2026-10", approve_as=staff)
    october = settlement_rows("2026-10")[yc.code]
    assert (october["released_amount"], october["net_amount"]) == (D("0.00"), D("90.00"))
    assert HoldRelease.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_line_or_correction_decided_while_the_next_month_is_being_approved_is_still_paid_once(
    institution, users, monkeypatch
):
    """A late decision (or a correction) that commits while October is being approved is either in
    October's approved amount or left for a later month — never marked as paid by October
    without being counted in it."""
    assert connection.vendor == "postgresql"
    staff = users["staff_yinchuan"]
    yc = institution(YINCHUAN)
    on_time, late = declare(yc.code, "100.00", "200.00", period="2026-09")
    line_decide(line=on_time, outcome=O.APPROVE, actor=staff)
    settlement_month_end_run(period=month("2026-09"), actor=staff)
    settlement_month_approve(period=month("2026-09"), agency=yc.agency, actor=staff)
    september = row_of(yc, "2026-09")
    declare(yc.code, "1000.00")
    settle("2026-10")

    errors = []

    def meanwhile():
        try:
            line_decide(line=late, outcome=O.APPROVE, actor=staff)
            adjustment_register(corrects=september, amount="50.00", reason="九月少付，补付", actor=staff)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    other = threading.Thread(target=meanwhile)
    real = month_end._stamp

    def stamp_after_the_other_commits(*args, **kwargs):
        other.start()
        other.join(timeout=5)  # a fix may make it wait for the approval instead: then go on
        return real(*args, **kwargs)

    monkeypatch.setattr(month_end, "_stamp", stamp_after_the_other_commits)
    settlement_month_approve(period=OCTOBER, agency=yc.agency, actor=staff)
    other.join(timeout=30)
    assert not other.is_alive()
    assert errors == []

    october = row_of(yc, "2026-10")
    line = DeclarationLine.objects.get(pk=late.pk)
    adjustment = SettlementAdjustment.objects.get(corrects=september)
    counted = D("1000.00")
    if line.carried_into_id == october.pk:
        counted += D("200.00")
    else:
        assert line.carried_into_id is None
    if adjustment.applied_in_id == october.pk:
        counted += D("50.00")
    else:
        assert adjustment.applied_in_id is None
    assert october.approved_amount == counted, (
        f"October counts {october.approved_amount} but was stamped as paying {counted}"
    )
