"""Declared lines into the database: files, the entry form, the API and import_declarations all
come through `declarations_import`.

How a submission is stored (one transaction; a crash leaves nothing of it):
1. Everything the checks need is loaded first (the caller's institutions, the policy
   parameters, the frozen months), so the rows stream without a query each.
2. Good rows stream into a temporary staging table — PostgreSQL COPY, or batched inserts on
   the embedded SQLite — and refused rows into a spooled file, so memory stays flat.
3. Set-based: the months touched are locked (FOR SHARE on their MonthlyBatch rows, which
   approval locks FOR UPDATE, so no line slips into a month being frozen), declarations are
   created, and the lines are inserted with ON CONFLICT (fingerprint) DO NOTHING: a row sent
   again, in this file or an earlier one, adds nothing.
"""

import json
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from core.errors import PermissionDenied
from core.text import chinese_date
from institutions.models import Institution
from institutions.selectors import institutions_for

from ..models import (
    BatchStatus,
    Category,
    Declaration,
    DeclarationImport,
    DeclarationLine,
    ImportRejection,
    ImportSource,
    MonthlyBatch,
    SettlementPolicy,
)
from .declaration_files import EXTRA
from .declaration_rows import KEYS, RowChecker, RowError, Target
from .periods import deadlines_for, is_closed, month_label, policy_for

REPORT_REJECTIONS = 200  # how many refused rows a report carries inline; all are stored
_CHUNK = 2000
_NULL = "\\N"  # NULL in COPY text format


@dataclass
class ImportReport:
    batch: DeclarationImport
    rejections: list[tuple[int, str]] = field(default_factory=list)  # the first REPORT_REJECTIONS
    deadline_refusals: int = 0

    @property
    def refused_for_deadline(self) -> bool:
        """Every row was refused because the declaration period is over (the page says so on top)."""
        return self.batch.rows > 0 and self.deadline_refusals == self.batch.rows

    def as_text(self) -> str:
        b = self.batch
        lines = [
            f"申报导入完成：共 {b.rows} 行，新增 {b.accepted}，重复未计 {b.duplicates}，拒绝 {b.rejected}"
            + ("（含逾期申报）" if b.late else "") + "。",
            f"rows={b.rows} accepted={b.accepted} duplicates={b.duplicates} rejected={b.rejected}",
        ]
        for row_no, reason in self.rejections:
            lines.append(f"  拒绝 第{row_no}行：{reason}")
        if b.rejected > len(self.rejections):
            lines.append(f"  ……另有 {b.rejected - len(self.rejections)} 行被拒绝，完整清单见申报批次 #{b.pk}。")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        b = self.batch
        return {
            "batch": b.pk, "rows": b.rows, "accepted": b.accepted, "duplicates": b.duplicates,
            "rejected": b.rejected, "late": b.late,
            "rejections": [{"row": r, "reason": reason} for r, reason in self.rejections],
        }


# ---- who may declare what ------------------------------------------------------------------------


def _targets(actor, institution: Institution | None) -> dict[str, Target]:
    if actor is None:  # the command line: the agency's own tool, every institution
        qs = Institution.objects.all()
    else:
        if actor.role == Role.AUDITOR:
            raise PermissionDenied("稽核人员不能提交申报。")
        qs = institutions_for(actor)
    if institution is not None:
        qs = qs.filter(pk=institution.pk)
    return {
        code: Target(pk, division or "", agency_id)
        for code, pk, division, agency_id in qs.values_list("code", "pk", "division_code", "agency_id")
    }


class _MonthRule:
    """Whether an institution may still declare a month, and whether it is late (逾期)."""

    def __init__(self, *, enforce_deadline: bool, today: date):
        self.enforce_deadline = enforce_deadline
        self.today = today
        self.policies = list(SettlementPolicy.objects.all())
        self.frozen = set(
            MonthlyBatch.objects.filter(status=BatchStatus.APPROVED).values_list("period", "agency_id")
        )
        self.deadline_refusals = 0

    def __call__(self, target: Target, period: date) -> tuple[str, bool]:
        if not is_closed(period, self.today):
            return f"结算月份{month_label(period)}尚未结束，次月才能申报", False
        if (period, target.agency_id) in self.frozen:
            return frozen_message(period), False
        try:
            policy = policy_for(target.division_code, period, self.policies)
        except Exception as exc:  # no policy parameters for that month
            return getattr(exc, "message", str(exc)), False
        due = deadlines_for(target.division_code, period, policy).declaration_due
        if self.today <= due:
            return "", False
        if self.enforce_deadline:
            return deadline_message(period, due), False
        return "", True


def frozen_message(period: date) -> str:
    return f"{month_label(period)}的结算已审批拨付并冻结，不能再申报该月费用；更正请由经办机构在以后月份登记调整"


def deadline_message(period: date, due: date) -> str:
    return (
        f"{month_label(period)}费用的申报已于{chinese_date(due)}截止（乌海办法第二十八条：每月10日前申报上月费用），"
        "逾期申报请联系经办机构"
    )


# ---- staging ----------------------------------------------------------------------------------------

_STAGE_COLUMNS = (
    "row_no", "institution_id", "agency_id", "period", "fingerprint", "card_no", "name", "category",
    "visit_date", "discharge_date", "total", "in_scope", "self_paid", "non_injury", "late",
)
_STAGE_TYPES = (
    "integer", "bigint", "bigint", "date", "{uuid}", "varchar(30)", "varchar(50)", "varchar(15)",
    "date", "date", "numeric(14,2)", "numeric(14,2)", "numeric(14,2)", "numeric(14,2)", "boolean",
)


class _Stage:
    """A temporary table the good rows stream into: COPY on PostgreSQL, executemany elsewhere.

    On PostgreSQL the rows are written as COPY text lines built here and sent in chunks of about
    1 MB: psycopg's write_row adapts each of the 15 values on its own and costs several times
    more per row than one f-string. A row whose text cells would need COPY escaping (a backslash
    or a control character) goes through write_row instead, after what is buffered."""

    _FLUSH_AT = 4096  # rows per write() (~0.5 MB of text)

    def __init__(self):
        self.name = f"decl_stage_{uuid.uuid4().hex[:12]}"
        self.pg = connection.vendor == "postgresql"
        uuid_type = "uuid" if self.pg else "char(32)"
        cols = ", ".join(f"{c} {t.format(uuid=uuid_type)}" for c, t in zip(_STAGE_COLUMNS, _STAGE_TYPES))
        self.cursor = connection.cursor()
        self.cursor.execute(f"CREATE TEMPORARY TABLE {self.name} ({cols})")
        self._copy_cm = None
        self._copy = None
        self._buffer: list = []
        self._prefixes: dict[tuple[Target, date], str] = {}
        self.count = 0

    def __enter__(self):
        if self.pg:
            raw = self.cursor.cursor  # the psycopg cursor under Django's wrapper
            self._copy_cm = raw.copy(f"COPY {self.name} ({', '.join(_STAGE_COLUMNS)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()
        return self

    def add(self, row, late: bool) -> None:
        self.count += 1
        if self._copy is not None:
            self._add_copy(row, late)
            return
        t = row.target
        self._buffer.append((
            row.row_no, t.institution_id, t.agency_id, row.period, row.fingerprint_hex,
            row.card_no, row.name, row.category, row.visit_date, row.discharge_date, *row.amounts, late,
        ))
        if len(self._buffer) >= _CHUNK:
            self._flush()

    def _add_copy(self, row, late: bool) -> None:
        card_no, name = row.card_no, row.name
        if "\\" in card_no or "\\" in name or not (card_no.isprintable() and name.isprintable()):
            self._flush_copy()
            t = row.target
            self._copy.write_row((
                row.row_no, t.institution_id, t.agency_id, row.period, row.fingerprint_hex, card_no, name,
                row.category, row.visit_date, row.discharge_date, *row.amounts, late,
            ))
            return
        key = (row.target, row.period)
        prefix = self._prefixes.get(key)
        if prefix is None:  # institution, agency and month: the same for many rows
            t = row.target
            prefix = self._prefixes[key] = f"{t.institution_id}\t{t.agency_id}\t{row.period.isoformat()}\t"
        total, in_scope, self_paid, non_injury = row.amounts
        self._buffer.append(
            f"{row.row_no}\t{prefix}{row.fingerprint_hex}\t{card_no}\t{name}\t{row.category}\t{row.visit_iso}\t"
            f"{row.discharge_iso or _NULL}\t{total}\t{in_scope}\t{self_paid}\t{non_injury}\t{'t' if late else 'f'}\n"
        )
        if len(self._buffer) >= self._FLUSH_AT:
            self._flush_copy()

    def _flush_copy(self) -> None:
        if self._buffer:
            self._copy.write("".join(self._buffer))
            self._buffer = []

    def _flush(self) -> None:
        if self._buffer:
            marks = ", ".join(["%s"] * len(_STAGE_COLUMNS))
            self.cursor.executemany(f"INSERT INTO {self.name} VALUES ({marks})", self._buffer)
            self._buffer = []

    def __exit__(self, exc_type, exc, tb):
        if self._copy_cm is not None:
            if exc_type is None:
                self._flush_copy()
            self._copy_cm.__exit__(exc_type, exc, tb)
        elif exc_type is None:
            self._flush()
        return False

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        self.close()

    def close(self) -> None:
        self.cursor.close()


class _Spool:
    """Refused rows, spooled to disk past a few MB, then stored in chunks."""

    def __init__(self):
        self.file = tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024, mode="w+", encoding="utf-8")
        self.count = 0
        self.first: list[tuple[int, str]] = []

    def add(self, row_no: int, reason: str, cells: dict) -> None:
        self.count += 1
        if len(self.first) < REPORT_REJECTIONS:
            self.first.append((row_no, reason))
        self.file.write(json.dumps([row_no, reason, cells], ensure_ascii=False, default=str) + "\n")

    def store(self, batch: DeclarationImport) -> None:
        self.file.seek(0)
        chunk = []
        for text in self.file:
            row_no, reason, cells = json.loads(text)
            chunk.append(ImportRejection(batch=batch, row_no=row_no, reason=reason, cells=cells))
            if len(chunk) >= _CHUNK:
                ImportRejection.objects.bulk_create(chunk)
                chunk = []
        ImportRejection.objects.bulk_create(chunk)
        self.file.close()


def _cells_list(cells: dict) -> list:
    return [cells.get(k, "") for k in KEYS] + list(cells.get(EXTRA, []))


# ---- the import ---------------------------------------------------------------------------------


@transaction.atomic
def declarations_import(
    *,
    rows: Iterable[tuple[int, dict]],
    source: str,
    actor,
    institution: Institution | None = None,
    file_name: str = "",
    sha256: str = "",
    period: date | None = None,
) -> ImportReport:
    """Store the good rows, keep the refused ones with their row number and reason.

    actor None is the command line (every institution; late months accepted and marked 逾期).
    An institution administrator declares for its own institution, and only until the deadline;
    agency staff declare for the institutions of their agency and may accept a late declaration.
    `institution` narrows a submission to one institution (a staff member's upload for it);
    `period` (import_declarations --month) fills a blank 结算月份 and refuses any other month.
    """
    if source not in ImportSource.values:
        raise ValueError(source)
    today = timezone.localdate()
    enforce_deadline = actor is not None and actor.role == Role.INSTITUTION_ADMIN
    targets = _targets(actor, institution)
    month_rule = _MonthRule(enforce_deadline=enforce_deadline, today=today)
    checker = RowChecker(resolve=targets.get, month_rule=month_rule, forced_period=period)
    batch = DeclarationImport.objects.create(
        source=source, file_name=file_name[:255], sha256=sha256, submitted_by=actor,
        institution=institution or (actor.institution if enforce_deadline else None),
    )
    spool = _Spool()
    stage = _Stage()
    deadline_refusals = 0
    try:
        with stage:
            for row_no, cells in rows:
                try:
                    if cells.get(EXTRA):
                        raise RowError("本行的单元格多于表头的列：" + "、".join(map(str, cells[EXTRA])))
                    good, late = checker.check(row_no, cells)
                except RowError as exc:
                    reason = str(exc)
                    if "申报已于" in reason:
                        deadline_refusals += 1
                    spool.add(row_no, reason, _cells_list(cells))
                    continue
                stage.add(good, late)
        raced = _lock_months(stage)
        for row_no, reason, cells in raced:
            spool.add(row_no, reason, cells)
        inserted = _insert_lines(stage, batch)
    except BaseException:
        # A file refused half-way (bad bytes on line 90,000) aborts the COPY and, on PostgreSQL,
        # the transaction: no statement may run now, and none is needed — the rollback that
        # follows removes the staging table with everything else of this submission.
        stage.close()
        raise
    stage.drop()
    spool.store(batch)
    batch.rows = stage.count + spool.count - len(raced)
    batch.accepted = inserted
    batch.duplicates = stage.count - len(raced) - inserted
    batch.rejected = spool.count
    batch.late = DeclarationLine.objects.filter(batch=batch, late=True).exists()
    batch.save(update_fields=["rows", "accepted", "duplicates", "rejected", "late"])
    if batch.late:
        Declaration.objects.filter(lines__batch=batch, lines__late=True, late=False).update(late=True)
    return ImportReport(batch=batch, rejections=spool.first, deadline_refusals=deadline_refusals)


def _lock_months(stage: _Stage) -> list[tuple[int, str, list]]:
    """Lock the months touched, FOR SHARE: imports and reviews do not block each other, only the
    approval of the same month (FOR UPDATE). Rows for a month approved meanwhile are refused."""
    cur = stage.cursor
    batches = MonthlyBatch._meta.db_table
    on_conflict_where = "" if stage.pg else "WHERE true"
    cur.execute(
        f"""INSERT INTO {batches} (period, agency_id, status)
            SELECT DISTINCT period, agency_id, %s FROM {stage.name} {on_conflict_where}
            ON CONFLICT (period, agency_id) DO NOTHING""",
        [BatchStatus.OPEN],
    )
    lock = "ORDER BY b.id FOR SHARE OF b" if stage.pg else ""
    cur.execute(
        f"""SELECT b.period, b.agency_id, b.status FROM {batches} b
            WHERE EXISTS (SELECT 1 FROM {stage.name} s WHERE s.period = b.period AND s.agency_id = b.agency_id) {lock}"""
    )
    frozen = [(p, a) for p, a, status in cur.fetchall() if status == BatchStatus.APPROVED]
    refused = []
    for period, agency_id in frozen:
        message = frozen_message(period if isinstance(period, date) else date.fromisoformat(period))
        # The refused rows keep their cells, as every refused row does (nothing sent is lost).
        cur.execute(
            f"""SELECT s.row_no, i.code, s.period, s.card_no, s.name, s.category, s.visit_date, s.discharge_date,
                       s.total, s.in_scope, s.self_paid, s.non_injury
                FROM {stage.name} s JOIN {Institution._meta.db_table} i ON i.id = s.institution_id
                WHERE s.period = %s AND s.agency_id = %s""",
            [period, agency_id],
        )
        for row_no, *cells in cur.fetchall():
            refused.append((row_no, message, _staged_cells(cells)))
        cur.execute(f"DELETE FROM {stage.name} WHERE period = %s AND agency_id = %s", [period, agency_id])
    return refused


def _staged_cells(cells: list) -> list[str]:
    """A staged row back as the cells of the file (month as YYYY-MM, category by its label)."""
    code, period, card_no, name, category, visit, discharge, *amounts = cells
    period = period if isinstance(period, date) else date.fromisoformat(str(period))
    return [
        code, f"{period:%Y-%m}", card_no, name, Category(category).label, str(visit), str(discharge or ""),
        *(f"{Decimal(str(a)).quantize(Decimal('0.01'))}" for a in amounts),
    ]


def _insert_lines(stage: _Stage, batch: DeclarationImport) -> int:
    cur = stage.cursor
    decl = Declaration._meta.db_table
    lines = DeclarationLine._meta.db_table
    now = timezone.now()
    on_conflict_where = "" if stage.pg else "WHERE true"  # SQLite needs a WHERE before ON CONFLICT
    cur.execute(
        f"""INSERT INTO {decl} (institution_id, period, late, created_at)
            SELECT DISTINCT institution_id, period, false, %s FROM {stage.name} {on_conflict_where}
            ON CONFLICT (institution_id, period) DO NOTHING""",
        [now],
    )
    cur.execute(
        f"""INSERT INTO {lines} (declaration_id, batch_id, source_row, fingerprint, card_no, name, category,
                visit_date, discharge_date, total, in_scope, self_paid, non_injury, late, status, review_note,
                carried, created_at)
            SELECT d.id, %s, s.row_no, s.fingerprint, s.card_no, s.name, s.category, s.visit_date,
                s.discharge_date, s.total, s.in_scope, s.self_paid, s.non_injury, s.late, 'pending', '', false, %s
            FROM {stage.name} s JOIN {decl} d ON d.institution_id = s.institution_id AND d.period = s.period
            {on_conflict_where} ORDER BY s.row_no
            ON CONFLICT (fingerprint) DO NOTHING""",
        [batch.pk, now],
    )
    inserted = cur.rowcount
    if stage.pg and inserted > 10_000:
        # A big import changes what the planner should expect of a month (a few declarations,
        # very many lines): fresh statistics now spare the next run a disk sort (docs/performance.md).
        cur.execute(f"ANALYZE {decl}")
    return inserted
