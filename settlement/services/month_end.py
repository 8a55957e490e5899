"""The month-end settlement (SPEC §4, W§28): per handling agency and month, one row per
institution, computed from the approved lines in the database (GROUP BY), never row by row.

    approved  = Σ approved lines of the month
              + lines approved after their own month was frozen (carried)
              + corrections (SettlementAdjustment) due from this month
    deposit   = round_half_up(approved × deposit_rate, 0.01)   on the institution's monthly total
    payable   = approved − deposit                               (so the two add up to the fen)
    shortfall = max(−payable, 0)                                 a negative month becomes a receivable
    offset    = min(payable, deductions outstanding)             recoveries and refusals, FIFO
    released  = amounts held in earlier frozen months, once no hold is active
    held      = everything due while a deferral (暂缓支付) is active
    net       = payable + shortfall − offset + released − held

Guarantees: a run is one transaction (a crash leaves nothing of it); each agency's month is
locked FOR UPDATE in a fixed order, so two runs at once queue and the second rebuilds the same
rows; a frozen (approved) month is never recomputed; rows store the rate and rule version used.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from core.errors import ApplicationError, Conflict, PermissionDenied
from core.money import quantize_money, yuan
from institutions.models import HandlingAgency, Institution

from ..models import (
    PAYING,
    BatchStatus,
    Declaration,
    Deduction,
    DeductionKind,
    DeductionOffset,
    DeclarationLine,
    HoldRelease,
    MonthlyBatch,
    MonthlySettlement,
    PaymentHold,
    SettlementAdjustment,
    SettlementPolicy,
)
from .batches import agencies_in_scope, lock_batch, require_settling_staff, save_rows_in_place
from .periods import add_months, month_label, policy_for, require_closed

ZERO = Decimal("0.00")
Progress = Callable[[int, int, str], None]


@dataclass
class BatchResult:
    agency: HandlingAgency
    status: str  # "calculated" | "frozen" (skipped: approved months are never recomputed)
    rows: int = 0
    approved: Decimal = ZERO
    deposit: Decimal = ZERO
    payable: Decimal = ZERO
    deductions: Decimal = ZERO
    net: Decimal = ZERO
    held_institutions: list[str] = field(default_factory=list)
    counted: dict[int, "_Counted"] = field(default_factory=dict, repr=False)


@dataclass
class _Counted:
    """What one institution's row counted from earlier months (approval ties exactly these to it)."""

    carried: list[int]
    corrections: list[int]
    released: list[MonthlySettlement]


@dataclass
class RunResult:
    period: date
    batches: list[BatchResult] = field(default_factory=list)

    def totals(self) -> dict[str, Decimal]:
        out = {k: ZERO for k in ("approved", "deposit", "payable", "deductions", "net")}
        for b in self.batches:
            if b.status == "calculated":
                for k in out:
                    out[k] += getattr(b, k)
        return out

    def as_dict(self) -> dict:
        return {
            "period": self.period.isoformat(),
            "totals": {k: str(v) for k, v in self.totals().items()},
            "batches": [
                {
                    "agency": b.agency.name, "status": b.status, "rows": b.rows, "approved": str(b.approved),
                    "deposit": str(b.deposit), "payable": str(b.payable), "deductions": str(b.deductions),
                    "net": str(b.net), "held": b.held_institutions,
                }
                for b in self.batches
            ],
        }

    def as_text(self) -> str:
        t = self.totals()
        calculated = [b for b in self.batches if b.status == "calculated"]
        lines = [
            f"{month_label(self.period)}月度结算完成：{len(calculated)} 个经办机构，"
            f"{sum(b.rows for b in calculated)} 家协议机构；" + _amounts(t["approved"], t["deposit"], t["payable"], t["deductions"], t["net"]) + "。",
        ]
        for b in self.batches:
            if b.status == "calculated" and not b.rows:
                continue
            if b.status == "frozen":
                lines.append(f"  {b.agency.name}：该月已审批拨付（冻结），未重算。")
            else:
                held = f"；暂缓支付：{'、'.join(b.held_institutions)}" if b.held_institutions else ""
                lines.append(f"  {b.agency.name}：{b.rows} 家，" + _amounts(b.approved, b.deposit, b.payable, b.deductions, b.net) + held)
        return "\n".join(lines)


def _amounts(approved, deposit, payable, deductions, net) -> str:
    return (
        f"审核通过 {yuan(approved)}，质量保证金 {yuan(deposit)}，应拨付 {yuan(payable)}，"
        f"抵扣 {yuan(deductions)}，实际拨付 {yuan(net)}"
    )


# ---- scope -----------------------------------------------------------------------------------------


def agencies_to_settle(*, period: date, actor=None, agency: HandlingAgency | None = None) -> list[HandlingAgency]:
    """The agencies a run covers: the one asked for, or every agency in the caller's scope that
    has anything to settle for the month (declarations, carried lines, corrections, releases)."""
    require_settling_staff(actor)
    qs = agencies_in_scope(actor, agency)
    if agency is not None:
        return qs
    agency = OuterRef("pk")
    declared = Declaration.objects.filter(institution__agency=agency, period=period)
    carried = DeclarationLine.objects.filter(
        declaration__institution__agency=agency, carried=True, carried_into__isnull=True, declaration__period__lt=period
    )
    corrections = SettlementAdjustment.objects.filter(
        institution__agency=agency, applied_in__isnull=True, effective_from__lte=period
    )
    releases = MonthlySettlement.objects.filter(
        institution__agency=agency, frozen=True, held=True, release__isnull=True, period__lt=period
    )
    batches = MonthlyBatch.objects.filter(agency=agency, period=period).exclude(status=BatchStatus.OPEN)
    active = Exists(declared) | Exists(carried) | Exists(corrections) | Exists(releases) | Exists(batches)
    return list(qs.filter(active).order_by("pk"))


# ---- the computation ------------------------------------------------------------------------------


def _money(value) -> Decimal:
    return quantize_money(value or 0)


def _lock_batch(period: date, agency: HandlingAgency) -> MonthlyBatch:
    return lock_batch(MonthlyBatch, period=period, agency=agency)


@dataclass
class _MonthInputs:
    """Everything _compute reads for one agency's month (all keyed by institution id)."""

    existing: dict[int, MonthlySettlement]  # the month's rows from an earlier run, kept by id
    current: dict[int, dict]  # the month's lines: declared, approved, n
    carried: dict[int, dict]  # lines of earlier frozen months decided since: amount, n, ids
    corrections: dict[int, dict]  # corrections of frozen months due now: amount, ids
    on_hold: set[int]
    releasable: dict[int, list[MonthlySettlement]]
    institutions: dict[int, Institution]
    outstanding: dict[int, list[Deduction]]
    policies: list[SettlementPolicy]


def _read_inputs(period: date, batches: list[MonthlyBatch]) -> dict[int, _MonthInputs]:
    """_MonthInputs per agency for the (locked) batches of a run, in one query per kind of input.

    A run used to read them agency by agency: a dozen queries times the twenty agencies cost more
    than the month's sums, and each agency's sum read most of the lines table again (its lines are
    spread over all of it). Every input is about institutions, each of which has one agency, so
    reading them for all the run's institutions at once and sharing them out is the same."""
    agency_ids = [b.agency_id for b in batches]
    institutions = {i.pk: i for i in Institution.objects.filter(agency__in=agency_ids).order_by()}
    inst_ids = list(institutions)
    out = {a: _MonthInputs({}, {}, {}, {}, set(), defaultdict(list), {}, {}, []) for a in agency_ids}

    def of(inst_id: int) -> _MonthInputs:
        return out[institutions[inst_id].agency_id]

    agency_of_batch = {b.pk: b.agency_id for b in batches}
    for row in MonthlySettlement.objects.filter(batch__in=[b.pk for b in batches]).order_by():
        out[agency_of_batch[row.batch_id]].existing[row.institution_id] = row
    paying = Q(status__in=PAYING, carried=False)
    lines = DeclarationLine.objects.filter(declaration__institution__in=inst_ids).order_by()
    for r in (
        lines.filter(declaration__period=period)
        .values("declaration__institution")
        .annotate(declared=Sum("in_scope"), approved=Sum("approved_amount", filter=paying), n=Count("pk", filter=paying))
    ):
        of(r["declaration__institution"]).current[r["declaration__institution"]] = r
    # Carried lines and corrections are few; their ids are kept so that approval ties exactly these
    # to the month, not whatever else was decided while it was being approved.
    for pk, inst_id, amount in lines.filter(
        carried=True, carried_into__isnull=True, status__in=PAYING, declaration__period__lt=period
    ).values_list("pk", "declaration__institution", "approved_amount"):
        entry = of(inst_id).carried.setdefault(inst_id, {"amount": ZERO, "n": 0, "ids": []})
        entry["amount"] += amount
        entry["n"] += 1
        entry["ids"].append(pk)
    for pk, inst_id, amount in SettlementAdjustment.objects.filter(
        institution__in=inst_ids, applied_in__isnull=True, effective_from__lte=period
    ).values_list("pk", "institution", "amount").order_by():
        entry = of(inst_id).corrections.setdefault(inst_id, {"amount": ZERO, "ids": []})
        entry["amount"] += amount
        entry["ids"].append(pk)
    on_hold = set(
        PaymentHold.objects.filter(institution__in=inst_ids, lifted_on__isnull=True).values_list("institution", flat=True)
    )
    for inst_id in on_hold:
        of(inst_id).on_hold.add(inst_id)
    for row in MonthlySettlement.objects.filter(
        institution__in=inst_ids, frozen=True, held=True, period__lt=period, release__isnull=True
    ).exclude(institution__in=on_hold):
        of(row.institution_id).releasable[row.institution_id].append(row)
    outstanding = _outstanding_deductions(inst_ids, period)
    policies = list(SettlementPolicy.objects.filter(valid_from__lte=period))
    for inputs in out.values():
        inputs.policies = policies
    for inst_id, inst in institutions.items():
        inputs = out[inst.agency_id]
        inputs.institutions[inst_id] = inst
        if inst_id in outstanding:
            inputs.outstanding[inst_id] = outstanding[inst_id]
    return out


def _compute(batch: MonthlyBatch, *, now) -> BatchResult:
    """Rebuild the rows of one unfrozen month (the batch row is locked by the caller).
    A run reads the inputs of all its months at once and hands them over on the batch."""
    period, agency = batch.period, batch.agency
    inputs = getattr(batch, "month_inputs", None) or _read_inputs(period, [batch])[agency.pk]
    # Rows are updated in place (their ids, and so the statement links, survive a re-run); the
    # offsets of an unfrozen month are rebuilt. Nothing here is frozen: the caller checked.
    existing = dict(inputs.existing)
    DeductionOffset.objects.filter(settlement__batch=batch).delete()

    current, carried, corrections = inputs.current, inputs.carried, inputs.corrections
    on_hold, releasable, outstanding = inputs.on_hold, inputs.releasable, inputs.outstanding
    policies = inputs.policies
    ids = set(current) | set(carried) | set(corrections) | set(releasable)
    institutions = inputs.institutions

    result = BatchResult(agency=agency, status="calculated")
    rows, offsets = [], []
    for inst_id in sorted(ids, key=lambda pk: institutions[pk].code):
        inst = institutions[inst_id]
        policy = policy_for(inst.division_code, period, policies)
        cur, car = current.get(inst_id, {}), carried.get(inst_id, {})
        cor = corrections.get(inst_id, {})
        adjustment = _money(car.get("amount")) + _money(cor.get("amount"))
        approved = _money(cur.get("approved")) + adjustment
        deposit = quantize_money(approved * policy.deposit_rate)
        payable = approved - deposit
        shortfall = -payable if payable < 0 else ZERO
        offset_plan, offset = _allocate(outstanding.get(inst_id, []), payable + shortfall)
        released = sum((r.held_amount for r in releasable.get(inst_id, [])), ZERO)
        due = payable + shortfall - offset + released
        held = due if inst_id in on_hold else ZERO
        remaining = sum((d.remaining for d in outstanding.get(inst_id, [])), ZERO) - offset
        row = MonthlySettlement(
            batch=batch, institution=inst, period=period,
            line_count=(cur.get("n") or 0) + (car.get("n") or 0),
            declared_amount=_money(cur.get("declared")), approved_amount=approved, adjustment_amount=adjustment,
            deposit_rate=policy.deposit_rate, deposit=deposit, payable=payable, shortfall=shortfall,
            deduction_amount=offset, carried_forward=remaining + shortfall, released_amount=released,
            held=inst_id in on_hold, held_amount=held, net_amount=due - held,
            policy=policy, rule_version=policy.rule_version, computed_at=now,
        )
        rows.append(row)
        offsets.append((row, offset_plan))
        result.counted[inst_id] = _Counted(
            carried=car.get("ids", []), corrections=cor.get("ids", []), released=releasable.get(inst_id, [])
        )
        result.rows += 1
        result.approved += approved
        result.deposit += deposit
        result.payable += payable
        result.deductions += offset
        result.net += row.net_amount
        if row.held:
            result.held_institutions.append(inst.name)
    save_rows_in_place(MonthlySettlement, rows, existing, _ROW_FIELDS)
    DeductionOffset.objects.bulk_create(
        [DeductionOffset(deduction=d, settlement=row, amount=amount) for row, plan in offsets for d, amount in plan]
    )
    batch.status = BatchStatus.CALCULATED
    batch.calculated_at = now
    batch.save(update_fields=["status", "calculated_at"])
    return result


_ROW_FIELDS = [
    "line_count", "declared_amount", "approved_amount", "adjustment_amount", "deposit_rate", "deposit", "payable",
    "shortfall", "deduction_amount", "carried_forward", "released_amount", "held", "held_amount", "net_amount",
    "policy", "rule_version", "computed_at",
]


def _outstanding_deductions(institution_ids, period: date) -> dict[int, list[Deduction]]:
    """Deductions due by this month with what frozen settlements have not yet offset, oldest first."""
    qs = (
        Deduction.objects.filter(institution__in=institution_ids, effective_from__lte=period)
        .annotate(used=Sum("offsets__amount", filter=Q(offsets__settlement__frozen=True)))
        .order_by("effective_from", "pk")
    )
    out = defaultdict(list)
    for d in qs:
        d.remaining = d.amount - (d.used or ZERO)
        if d.remaining > 0:
            out[d.institution_id].append(d)
    return out


def _allocate(deductions: list[Deduction], available: Decimal) -> tuple[list[tuple[Deduction, Decimal]], Decimal]:
    """Offset what can be offset against `available`, oldest deduction first."""
    plan, total = [], ZERO
    for d in deductions:
        if available - total <= 0:
            break
        take = min(d.remaining, available - total)
        plan.append((d, take))
        total += take
    return plan, total


# ---- services ------------------------------------------------------------------------------------------


def settlement_month_end_run(
    *, period: date, actor=None, agency: HandlingAgency | None = None, progress: Progress | None = None
) -> RunResult:
    """Compute (or recompute) the month for every agency in scope. Approved months are skipped."""
    require_closed(period)
    agencies = agencies_to_settle(period=period, actor=actor, agency=agency)
    result = RunResult(period=period)
    now = timezone.now()
    with transaction.atomic():
        # Every month is locked first, in the same order as always, so that the inputs of all of
        # them can be read at once (_read_inputs), seeing exactly what the locks protect.
        ordered = sorted(agencies, key=lambda a: a.pk)
        if progress and ordered:
            progress(0, len(agencies), ordered[0].name)  # shown while a concurrent run holds the locks
        batches = []
        for ag in ordered:
            batch = _lock_batch(period, ag)
            if batch.frozen and agency is not None:
                raise Conflict(f"{ag.name}{month_label(period)}的结算已审批拨付并冻结，不能重算。", code="frozen")
            batches.append((ag, batch))
        inputs = _read_inputs(period, [batch for ag, batch in batches if not batch.frozen])
        for done, (ag, batch) in enumerate(batches):
            if progress:
                progress(done, len(agencies), ag.name)
            if batch.frozen:
                result.batches.append(BatchResult(agency=ag, status="frozen"))
                continue
            batch.month_inputs = inputs[ag.pk]
            result.batches.append(_compute(batch, now=now))
    if progress:
        progress(len(agencies), len(agencies), "")
    return result


@transaction.atomic
def settlement_month_approve(
    *, period: date, agency: HandlingAgency, actor, expected_net: Decimal | None = None
) -> BatchResult:
    """Approve an agency's month for payment, which freezes it. The month is recomputed under the
    lock first, so what is frozen is what the data says now; a page that showed another total
    (expected_net) is refused instead of approving figures the clerk has not seen."""
    if actor is None or not (actor.is_agency_staff or actor.is_portal_admin):
        raise PermissionDenied("只有经办人员可以审批结算。")
    agencies_to_settle(period=period, actor=actor, agency=agency)  # scope check
    batch = _lock_batch(period, agency)
    if batch.frozen:
        raise Conflict(f"{month_label(period)}的结算已于{timezone.localtime(batch.approved_at):%Y-%m-%d %H:%M}审批，不能重复审批。", code="frozen")
    if batch.status != BatchStatus.CALCULATED:
        raise ApplicationError(f"{month_label(period)}尚未计算结算，请先运行月度结算。", code="not_calculated")
    earlier = (
        MonthlyBatch.objects.filter(agency=agency, period__lt=period)
        .exclude(status=BatchStatus.APPROVED)
        .order_by("period")
        .first()
    )
    if earlier is not None:
        raise ApplicationError(
            f"{month_label(earlier.period)}的结算尚未审批，须按月份顺序审批拨付。", code="earlier_month_open"
        )
    result = _compute(batch, now=timezone.now())
    if expected_net is not None and quantize_money(expected_net) != result.net:
        raise Conflict(
            f"结算结果在您查看后已变化（实际拨付合计现为 {result.net}，页面显示 {quantize_money(expected_net)}），请核对后再审批。",
            code="stale",
        )
    rows = list(MonthlySettlement.objects.filter(batch=batch).select_related("institution"))
    _stamp(result, rows, period, actor)
    MonthlySettlement.objects.filter(batch=batch).update(frozen=True)
    batch.status = BatchStatus.APPROVED
    batch.approved_by = actor
    batch.approved_at = timezone.now()
    batch.save(update_fields=["status", "approved_by", "approved_at"])
    return result


def _stamp(result: BatchResult, rows: list[MonthlySettlement], period: date, actor) -> None:
    """Tie what these rows counted from earlier months to them, so no later month pays it again —
    exactly what was counted: a line decided while the month was being approved stays open for
    the next month instead of being marked paid here without having been counted."""
    next_month = add_months(period, 1)
    for row in rows:
        counted = result.counted.get(row.institution_id)
        if counted is None:
            continue
        if counted.carried:
            DeclarationLine.objects.filter(pk__in=counted.carried, carried_into__isnull=True).update(carried_into=row)
        if counted.corrections:
            SettlementAdjustment.objects.filter(pk__in=counted.corrections, applied_in__isnull=True).update(applied_in=row)
        if counted.released:
            HoldRelease.objects.bulk_create(
                [HoldRelease(held_row=held, released_in=row, amount=held.held_amount) for held in counted.released]
            )
        if row.shortfall:
            Deduction.objects.create(
                institution_id=row.institution_id, kind=DeductionKind.NEGATIVE_BALANCE, amount=row.shortfall,
                effective_from=next_month, reason=f"{month_label(period)}结算为负数（以前月份更正），转入以后月份抵扣",
                source_label=f"{month_label(period)}月度结算", created_by=actor,
            )


def month_is_frozen(period: date, agency_id: int) -> bool:
    return MonthlyBatch.objects.filter(period=period, agency_id=agency_id, status=BatchStatus.APPROVED).exists()


def lock_months_shared(period: date, agency_ids) -> set[int]:
    """FOR SHARE on the months a review touches; returns the agencies whose month is frozen."""
    agency_ids = sorted(set(agency_ids))
    MonthlyBatch.objects.bulk_create([MonthlyBatch(period=period, agency_id=a) for a in agency_ids], ignore_conflicts=True)
    qs = MonthlyBatch.objects.filter(period=period, agency_id__in=agency_ids).order_by("pk")
    if connection.vendor == "postgresql":
        sql, params = qs.values_list("agency_id", "status").query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute(f"{sql} FOR SHARE", params)
            pairs = cur.fetchall()
    else:
        pairs = list(qs.values_list("agency_id", "status"))
    return {a for a, status in pairs if status == BatchStatus.APPROVED}
