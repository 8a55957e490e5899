"""An approved month is frozen (SPEC §4): nothing changes it by any path — the services, the
commands, the Django admin, or SQL written by hand (the triggers of migration 0003)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from core.errors import Conflict
from settlement.models import (
    BatchStatus,
    DeclarationImport,
    DeclarationLine,
    ImportRejection,
    ImportSource,
    LineStatus,
    MonthlyBatch,
    MonthlySettlement,
    ReviewOutcome,
)
from settlement.services.month_end import settlement_month_approve, settlement_month_end_run
from settlement.services.review import line_decide
from tests.settlement_helpers import (
    GUYUAN,
    YINCHUAN,
    command,
    csv_bytes,
    declare,
    import_rows,
    lines_of,
    month,
    settle,
    write_file,
)

OCTOBER = month("2026-10")


def _values(model, pk):
    return model.objects.filter(pk=pk).values().get()


@pytest.fixture
def frozen(institution, users):
    """October approved for payment by 银川's agency (two approved lines and one refused); 固原's
    October computed but not approved."""
    staff = users["staff_yinchuan"]
    yc, gy = institution(YINCHUAN), institution(GUYUAN)
    approved, other, refused = declare(yc.code, "100.00", "250.00", "40.00")
    line_decide(line=refused, outcome=ReviewOutcome.REFUSE, reason_code="non_injury", actor=staff)
    (open_line,) = declare(gy.code, "300.00")
    settle("2026-10", approve_as=staff)
    row = MonthlySettlement.objects.get(institution=yc, period=OCTOBER)
    assert (row.frozen, row.approved_amount, row.net_amount) == (True, Decimal("350.00"), Decimal("315.00"))
    return SimpleNamespace(
        staff=staff, yc=yc, gy=gy, row=row, batch=row.batch, line=DeclarationLine.objects.get(pk=approved.pk),
        refused=DeclarationLine.objects.get(pk=refused.pk),
        open_row=MonthlySettlement.objects.get(institution=gy, period=OCTOBER), open_line=open_line,
    )


def test_the_service_refuses_to_rerun_a_frozen_agency_month(frozen):
    before = (_values(MonthlySettlement, frozen.row.pk), _values(MonthlyBatch, frozen.batch.pk))
    with pytest.raises(Conflict) as exc:
        settlement_month_end_run(period=OCTOBER, actor=frozen.staff, agency=frozen.yc.agency)
    assert exc.value.code == "frozen"
    assert "已审批拨付并冻结，不能重算" in exc.value.message
    with pytest.raises(Conflict) as exc:
        settlement_month_approve(period=OCTOBER, agency=frozen.yc.agency, actor=frozen.staff)
    assert exc.value.code == "frozen"
    assert (_values(MonthlySettlement, frozen.row.pk), _values(MonthlyBatch, frozen.batch.pk)) == before


def test_the_command_reports_a_frozen_month_and_recomputes_only_the_others(frozen):
    before = _values(MonthlySettlement, frozen.row.pk)
    out = command("run_monthly_settlement", "2026-10")
    assert "银川市社会保险事业管理中心：该月已审批拨付（冻结），未重算。" in out
    assert "1 个经办机构，1 家协议机构" in out
    assert _values(MonthlySettlement, frozen.row.pk) == before
    assert MonthlySettlement.objects.filter(institution=frozen.yc).count() == 1
    # 固原's open month was computed again, to the same amounts.
    recomputed = MonthlySettlement.objects.get(institution=frozen.gy, period=OCTOBER)
    assert recomputed.computed_at > frozen.open_row.computed_at
    assert recomputed.net_amount == frozen.open_row.net_amount == Decimal("270.00")


def test_a_decided_line_of_a_frozen_month_cannot_be_decided_again(frozen):
    for line, outcome, kwargs in [
        (frozen.line, ReviewOutcome.REFUSE, {"reason_code": "non_injury"}),
        (frozen.line, ReviewOutcome.REDUCE, {"reason_code": "price_breach", "amount": "50.00"}),
        (frozen.refused, ReviewOutcome.APPROVE, {}),
    ]:
        before = _values(DeclarationLine, line.pk)
        with pytest.raises(Conflict) as exc:
            line_decide(line=line, outcome=outcome, actor=frozen.staff, **kwargs)
        assert exc.value.code == "frozen"
        assert "不能更改" in exc.value.message and "结算调整" in exc.value.message
        assert _values(DeclarationLine, line.pk) == before
    assert DeclarationLine.objects.get(pk=frozen.line.pk).status == LineStatus.APPROVED


def test_an_import_of_a_row_for_the_frozen_month_is_refused_with_its_row_number(frozen, tmp_path, users):
    rows = lines_of(frozen.gy.code, "60.00") + lines_of(frozen.yc.code, "70.00") + lines_of(frozen.yc.code, "5.00", period="2026-09")
    out = command("import_declarations", write_file(tmp_path, csv_bytes(rows)))
    assert "rows=3 accepted=2 duplicates=0 rejected=1" in out
    assert "拒绝 第3行：2026年10月的结算已审批拨付并冻结，不能再申报该月费用" in out
    (rejection,) = ImportRejection.objects.filter(batch=DeclarationImport.objects.order_by("-pk").first())
    assert (rejection.row_no, rejection.cells) == (3, rows[1])
    assert not DeclarationLine.objects.filter(in_scope=Decimal("70.00")).exists()

    # The same through the clerks' upload.
    report = import_rows(lines_of(frozen.yc.code, "80.00"), actor=frozen.staff, source=ImportSource.UPLOAD)
    assert (report.batch.accepted, report.batch.rejected) == (0, 1)
    assert "已审批拨付并冻结" in report.rejections[0][1]
    assert DeclarationLine.objects.filter(declaration__institution=frozen.yc, declaration__period=OCTOBER).count() == 3


@pytest.mark.parametrize("model", ["monthlysettlement", "declarationline"])
def test_the_admin_refuses_to_change_or_delete_a_frozen_row_even_for_a_superuser(frozen, client_for, model):
    obj = frozen.row if model == "monthlysettlement" else frozen.line
    Model = type(obj)
    before = _values(Model, obj.pk)
    client = client_for("admin")

    change = reverse(f"admin:settlement_{model}_change", args=[obj.pk])
    page = client.get(change)
    assert page.status_code in (200, 403)
    assert b'name="_save"' not in page.content  # at most a read-only view
    payload = {"approved_amount": "1.00", "net_amount": "1.00", "status": "refused", "frozen": ""}
    assert client.post(change, payload).status_code == 403

    delete = reverse(f"admin:settlement_{model}_delete", args=[obj.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse(f"admin:settlement_{model}_changelist")
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert response.status_code in (200, 302, 403)
    assert _values(Model, obj.pk) == before


def _refused_by_the_database(sql, params):
    with pytest.raises(IntegrityError) as exc, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql, params)
    assert "frozen" in str(exc.value)


def test_sql_written_by_hand_cannot_change_or_delete_a_frozen_row_batch_or_line(frozen):
    row, batch, line = frozen.row, frozen.batch, frozen.line
    before = (_values(MonthlySettlement, row.pk), _values(MonthlyBatch, batch.pk), _values(DeclarationLine, line.pk),
              _values(DeclarationLine, frozen.refused.pk))

    _refused_by_the_database("UPDATE settlement_monthlysettlement SET frozen = false WHERE id = %s", [row.pk])
    _refused_by_the_database("UPDATE settlement_monthlysettlement SET line_count = line_count + 1 WHERE id = %s", [row.pk])
    _refused_by_the_database("DELETE FROM settlement_monthlysettlement WHERE id = %s", [row.pk])
    _refused_by_the_database("UPDATE settlement_monthlybatch SET status = 'calculated' WHERE id = %s", [batch.pk])
    _refused_by_the_database("DELETE FROM settlement_monthlybatch WHERE id = %s", [batch.pk])
    _refused_by_the_database("UPDATE settlement_declarationline SET review_note = 'x' WHERE id = %s", [line.pk])
    _refused_by_the_database("UPDATE settlement_declarationline SET status = 'pending', approved_amount = NULL, "
                             "reason_id = NULL WHERE id = %s", [frozen.refused.pk])
    _refused_by_the_database("DELETE FROM settlement_declarationline WHERE id = %s", [line.pk])
    # The ORM is no way round either.
    with pytest.raises(IntegrityError), transaction.atomic():
        MonthlySettlement.objects.filter(pk=row.pk).update(net_amount=0, payable=0, deposit=row.approved_amount)

    assert (_values(MonthlySettlement, row.pk), _values(MonthlyBatch, batch.pk), _values(DeclarationLine, line.pk),
            _values(DeclarationLine, frozen.refused.pk)) == before
    assert MonthlyBatch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED

    # What is not frozen stays writable: 固原's computed row and its line.
    with connection.cursor() as cur:
        cur.execute("UPDATE settlement_monthlysettlement SET line_count = line_count WHERE id = %s", [frozen.open_row.pk])
        cur.execute("UPDATE settlement_declarationline SET review_note = 'ok' WHERE id = %s", [frozen.open_line.pk])
    assert DeclarationLine.objects.get(pk=frozen.open_line.pk).review_note == "ok"
